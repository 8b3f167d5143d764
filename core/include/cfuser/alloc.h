/* cfuser/alloc.h - core's allocator, with a hook for fault injection.
 *
 * All heap memory of libcfuser goes through these functions. A test harness
 * may install its own allocator (cf_set_allocator) to fail the N-th
 * allocation; core must then report CF_ERR_NOMEM and leak nothing.
 */
#ifndef CFUSER_ALLOC_H
#define CFUSER_ALLOC_H

#include <stddef.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef struct cf_allocator {
    void *ctx;
    void *(*malloc)(void *ctx, size_t size);
    void *(*realloc)(void *ctx, void *ptr, size_t size);
    void (*free)(void *ctx, void *ptr);
} cf_allocator;

/* Replace the allocator (NULL restores the default, the C library's).
 * Not thread safe: call before any other core function is in use. */
void cf_set_allocator(const cf_allocator *a);

void *cf_malloc(size_t size);
void *cf_calloc(size_t n, size_t size); /* zeroed; NULL on overflow */
void *cf_realloc(void *ptr, size_t size);
void cf_free(void *ptr);

/* Large data buffers (tensor storage), 64-byte aligned; also hooked. */
void *cf_malloc_aligned(size_t size);
void cf_free_aligned(void *ptr);

#ifdef __cplusplus
}
#endif
#endif
