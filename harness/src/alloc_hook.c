/* alloc_hook.c - a counting, failing allocator over every Python domain
 * and core's hook.
 *
 * Installed once after initialisation, wrapping whatever allocator the
 * interpreter runs on (as tracemalloc does), so blocks allocated before it
 * are freed correctly through it. It keeps two counters: the number of live
 * blocks (the refleak loop's measure; unlike sys.getallocatedblocks it also
 * works under PYTHONMALLOC=malloc) and the allocations since cfh_fail_arm,
 * whose n-th one fails once. The RAW domain is called without the GIL, so
 * the counters are atomic.
 */
#include "internal.h"

#include <stdatomic.h>
#include <stdlib.h>

#include "cfuser/alloc.h"

static PyMemAllocatorEx g_inner[3];
static int g_installed;
static atomic_llong g_live;
static atomic_ullong g_count;
static atomic_ullong g_fail_at; /* 0: disarmed */
static atomic_int g_fired;

static int fail_now(void)
{
    unsigned long long at = atomic_load_explicit(&g_fail_at, memory_order_relaxed);
    unsigned long long n = atomic_fetch_add_explicit(&g_count, 1, memory_order_relaxed) + 1;
    if (at != 0 && n == at) {
        atomic_store(&g_fired, 1);
        return 1;
    }
    return 0;
}

static void *w_malloc(void *ctx, size_t size)
{
    PyMemAllocatorEx *in = ctx;
    if (fail_now())
        return NULL;
    void *p = in->malloc(in->ctx, size);
    if (p != NULL)
        atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

static void *w_calloc(void *ctx, size_t n, size_t size)
{
    PyMemAllocatorEx *in = ctx;
    if (fail_now())
        return NULL;
    void *p = in->calloc(in->ctx, n, size);
    if (p != NULL)
        atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

static void *w_realloc(void *ctx, void *ptr, size_t size)
{
    PyMemAllocatorEx *in = ctx;
    if (fail_now())
        return NULL; /* the old block stays valid, as realloc promises */
    void *p = in->realloc(in->ctx, ptr, size);
    if (p != NULL && ptr == NULL)
        atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

static void w_free(void *ctx, void *ptr)
{
    PyMemAllocatorEx *in = ctx;
    if (ptr != NULL)
        atomic_fetch_sub_explicit(&g_live, 1, memory_order_relaxed);
    in->free(in->ctx, ptr);
}

int cfh__alloc_install(void)
{
    static const PyMemAllocatorDomain doms[3] = {
        PYMEM_DOMAIN_RAW, PYMEM_DOMAIN_MEM, PYMEM_DOMAIN_OBJ};
    if (g_installed)
        return 0;
    for (int i = 0; i < 3; i++) {
        PyMemAllocatorEx w = {&g_inner[i], w_malloc, w_calloc, w_realloc, w_free};
        PyMem_GetAllocator(doms[i], &g_inner[i]);
        PyMem_SetAllocator(doms[i], &w);
    }
    g_installed = 1;
    return 0;
}

/* core's hook: the C library's allocator, counted the same way. */
static void *c_malloc(void *ctx, size_t size)
{
    (void)ctx;
    if (fail_now())
        return NULL;
    void *p = malloc(size ? size : 1);
    if (p != NULL)
        atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

static void *c_realloc(void *ctx, void *ptr, size_t size)
{
    (void)ctx;
    if (fail_now())
        return NULL;
    void *p = realloc(ptr, size ? size : 1);
    if (p != NULL && ptr == NULL)
        atomic_fetch_add_explicit(&g_live, 1, memory_order_relaxed);
    return p;
}

static void c_free(void *ctx, void *ptr)
{
    (void)ctx;
    if (ptr != NULL)
        atomic_fetch_sub_explicit(&g_live, 1, memory_order_relaxed);
    free(ptr);
}

static const cf_allocator g_core = {NULL, c_malloc, c_realloc, c_free};

const void *cfh_core_allocator(void) { return &g_core; }

void cfh_fail_arm(uint64_t n)
{
    atomic_store(&g_fail_at, 0);
    atomic_store(&g_fired, 0);
    atomic_store(&g_count, 0);
    atomic_store(&g_fail_at, n);
}

void cfh_fail_disarm(void) { atomic_store(&g_fail_at, 0); }
uint64_t cfh_fail_count(void) { return atomic_load(&g_count); }
int cfh_fail_fired(void) { return atomic_load(&g_fired); }
long long cfh_live_blocks(void) { return atomic_load(&g_live); }
