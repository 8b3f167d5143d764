/* cpu/plancache.c - plans kept per program, keyed by the call's shapes.
 *
 * A plan depends on the program, the shapes of its slots, the strides of
 * its inputs and outputs and the thread count; never on data pointers or
 * scalar values (cf_cpu_plan_bind supplies those). The program owns a small
 * cache of finished plans: a call whose signature matches copies the used
 * part of the plan's arrays into its own buffer under the cache's lock and
 * rebinds them, so
 * concurrent calls on one program never share mutable state.
 */
#include <pthread.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "cpu/engine.h"

#define CACHE_WAYS 4
/* Signatures longer than this (huge programs) are planned every call. */
#define SIG_MAX 512

typedef struct plan_entry {
    int64_t *sig;          /* siglen words, then the plan's arrays (64-aligned) */
    size_t siglen;
    char *arrays;
    int nsegs, nsteps;
    size_t scratch_max, temps_size;
} plan_entry;

typedef struct plan_cache {
    pthread_mutex_t mu;
    int nwins;          /* cf_win_count(p), counted once per program */
    int n, next;
    plan_entry e[CACHE_WAYS];
} plan_cache;

static void cache_free(void *vc)
{
    plan_cache *c = vc;
    if (!c)
        return;
    for (int i = 0; i < c->n; i++) cf_free_aligned(c->e[i].sig);
    pthread_mutex_destroy(&c->mu);
    cf_free(c);
}

/* The program's cache, made on first use; NULL when out of memory. */
static plan_cache *cache_of(const cf_program *cp)
{
    /* The cache is the one part of a program that changes after lowering:
     * installed once, atomically, then only read through its lock. */
    cf_program *p = (cf_program *)cp;
    plan_cache *c = __atomic_load_n((plan_cache **)&p->cpu_cache, __ATOMIC_ACQUIRE);
    plan_cache *expected = NULL;
    if (c)
        return c;
    c = cf_calloc(1, sizeof *c);
    if (!c)
        return NULL;
    c->nwins = cf_win_count(p);
    if (pthread_mutex_init(&c->mu, NULL) != 0) {
        cf_free(c);
        return NULL;
    }
    /* The hook is set before the cache is published, so whoever sees the
     * cache sees how to free it. */
    p->cpu_cache_free = cache_free;
    if (!__atomic_compare_exchange_n((plan_cache **)&p->cpu_cache, &expected, c, 0,
                                     __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE)) {
        cache_free(c);
        return expected;
    }
    return c;
}

/* The call's signature in sig[]; its length, or 0 when it does not fit. */
static size_t signature(const cf_cpu_plan *pl, int64_t *sig)
{
    const cf_program *p = pl->p;
    size_t n = 0;
    sig[n++] = pl->nthreads;
    sig[n++] = p->nslots;
    sig[n++] = p->ninstrs;
    for (int s = 0; s < p->nslots; s++) {
        const cf_prog_slot *sl = &p->slots[s];
        int nd = sl->ndim, io = sl->role == CF_SLOT_INPUT || sl->role == CF_SLOT_OUTPUT;
        if (nd > CF_MAX_DIMS || n + 1 + 2 * (size_t)nd > SIG_MAX)
            return 0;
        sig[n++] = (int64_t)sl->dtype | (int64_t)sl->role << 8 | (int64_t)nd << 16;
        memcpy(sig + n, pl->vals[s].shape, (size_t)nd * sizeof(int64_t));
        n += (size_t)nd;
        if (io) {
            memcpy(sig + n, pl->vals[s].strides, (size_t)nd * sizeof(int64_t));
            n += (size_t)nd;
        }
    }
    return n;
}

static size_t sig_bytes(size_t siglen) { return (siglen * sizeof(int64_t) + 63) & ~(size_t)63; }

/* The parts of a cached plan a call uses: every slot, instruction and
 * window, but only the segments and steps the plan made (a step is over a
 * kilobyte; the arrays have room for one per instruction). */
static void copy_used(cf_cpu_plan *pl, const plan_entry *e)
{
    const cf_program *p = pl->p;
    cf_cpu_plan src = *pl;
    cf_cpu_plan_place(&src, e->arrays);
    memcpy(pl->si, src.si, (size_t)p->nslots * sizeof *pl->si);
    memcpy(pl->segs, src.segs, (size_t)e->nsegs * sizeof *pl->segs);
    memcpy(pl->steps, src.steps, (size_t)e->nsteps * sizeof *pl->steps);
    memcpy(pl->seg_of, src.seg_of, (size_t)p->ninstrs * sizeof *pl->seg_of);
    if (pl->nwins)
        memcpy(pl->wins, src.wins, (size_t)pl->nwins * sizeof *pl->wins);
}

static int lookup(plan_cache *c, cf_cpu_plan *pl, const int64_t *sig, size_t siglen)
{
    int hit = 0;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < c->n; i++) {
        const plan_entry *e = &c->e[i];
        if (e->siglen != siglen || memcmp(e->sig, sig, siglen * sizeof(int64_t)) != 0)
            continue;
        copy_used(pl, e);
        pl->nsegs = e->nsegs;
        pl->nsteps = e->nsteps;
        pl->scratch_max = e->scratch_max;
        pl->temps_size = e->temps_size;
        hit = 1;
        break;
    }
    pthread_mutex_unlock(&c->mu);
    return hit;
}

static void insert(plan_cache *c, const cf_cpu_plan *pl, const int64_t *sig, size_t siglen)
{
    size_t bytes = cf_cpu_plan_bytes(pl);
    plan_entry e;
    e.sig = cf_malloc_aligned(sig_bytes(siglen) + bytes);
    if (!e.sig)
        return; /* not cached: the next call plans again */
    memcpy(e.sig, sig, siglen * sizeof(int64_t));
    e.siglen = siglen;
    e.arrays = (char *)e.sig + sig_bytes(siglen);
    memcpy(e.arrays, pl->si, bytes);
    e.nsegs = pl->nsegs;
    e.nsteps = pl->nsteps;
    e.scratch_max = pl->scratch_max;
    e.temps_size = pl->temps_size;
    pthread_mutex_lock(&c->mu);
    for (int i = 0; i < c->n; i++) {
        if (c->e[i].siglen == siglen && memcmp(c->e[i].sig, sig, siglen * sizeof(int64_t)) == 0) {
            /* Another thread got there first. */
            pthread_mutex_unlock(&c->mu);
            cf_free_aligned(e.sig);
            return;
        }
    }
    if (c->n < CACHE_WAYS) {
        c->e[c->n++] = e;
    } else {
        cf_free_aligned(c->e[c->next].sig);
        c->e[c->next] = e;
        c->next = (c->next + 1) % CACHE_WAYS;
    }
    pthread_mutex_unlock(&c->mu);
}

cf_status cf_cpu_plan_get(cf_cpu_plan *pl)
{
    int64_t sig[SIG_MAX];
    size_t siglen = signature(pl, sig);
    plan_cache *c = siglen ? cache_of(pl->p) : NULL;
    cf_status rc;
    if (c) {
        pl->nwins = c->nwins;
        rc = cf_cpu_plan_alloc(pl);
        if (rc != CF_OK)
            return rc;
        if (lookup(c, pl, sig, siglen)) {
            rc = cf_cpu_check_data(pl);
            return rc == CF_OK ? cf_cpu_plan_bind(pl) : rc;
        }
        cf_cpu_plan_release(pl);
        pl->local_used = 0;
    }
    rc = cf_cpu_plan_build(pl);
    if (rc == CF_OK && c)
        insert(c, pl, sig, siglen);
    return rc;
}
