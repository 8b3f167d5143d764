/* alloc.c - core's allocator and its fault-injection hook (alloc.h). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfuser/alloc.h"

static void *default_malloc(void *ctx, size_t n) { (void)ctx; return malloc(n ? n : 1); }
static void *default_realloc(void *ctx, void *p, size_t n) { (void)ctx; return realloc(p, n ? n : 1); }
static void default_free(void *ctx, void *p) { (void)ctx; free(p); }

static const cf_allocator default_allocator = {NULL, default_malloc, default_realloc, default_free};
/* Set once by a harness before use; read-only afterwards (see alloc.h). */
static cf_allocator current = {NULL, default_malloc, default_realloc, default_free};

void cf_set_allocator(const cf_allocator *a) { current = a ? *a : default_allocator; }

void *cf_malloc(size_t size) { return current.malloc(current.ctx, size); }

void *cf_calloc(size_t n, size_t size)
{
    void *p;
    if (size && n > SIZE_MAX / size)
        return NULL;
    p = cf_malloc(n * size);
    if (p)
        memset(p, 0, n * size);
    return p;
}

void *cf_realloc(void *ptr, size_t size) { return current.realloc(current.ctx, ptr, size); }

void cf_free(void *ptr)
{
    if (ptr)
        current.free(current.ctx, ptr);
}

/* Aligned blocks are carved from an over-allocation through the hook, with
 * the original pointer stored just below the aligned one. */
#define CF_ALIGN 64

void *cf_malloc_aligned(size_t size)
{
    uintptr_t raw, aligned;
    if (size > SIZE_MAX - CF_ALIGN - sizeof(void *))
        return NULL;
    raw = (uintptr_t)cf_malloc(size + CF_ALIGN + sizeof(void *));
    if (!raw)
        return NULL;
    aligned = (raw + sizeof(void *) + CF_ALIGN - 1) & ~(uintptr_t)(CF_ALIGN - 1);
    memcpy((void *)(aligned - sizeof(void *)), &raw, sizeof raw);
    return (void *)aligned;
}

void cf_free_aligned(void *ptr)
{
    uintptr_t raw;
    if (!ptr)
        return;
    memcpy(&raw, (char *)ptr - sizeof(void *), sizeof raw);
    cf_free((void *)raw);
}
