/* cpu/threads.c - splitting work over threads.
 *
 * On Linux a small pool of persistent helpers shares each job with the
 * calling thread. Items are claimed in chunks from an atomic counter, and
 * the caller claims too, so a job never waits for a helper that has not
 * started: on a busy machine (more runnable threads than cores) a helper
 * that the scheduler has not run yet simply finds no work left, where a
 * fork-join team with a fixed split would stall the call for a whole time
 * slice. The caller waits only for chunks that helpers have claimed.
 * Helpers spin briefly for the next job, then sleep on a futex.
 * One job runs in the pool at a time; a call that finds it busy (another
 * thread's call, or a nested one) runs its items alone.
 */
#include <omp.h>

#include "cpu/cpu.h"

#if defined(__linux__)
#include <limits.h>
#include <linux/futex.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <sys/syscall.h>
#include <unistd.h>

#define POOL_MAX 64
/* Pause-loop iterations a helper polls for the next job before sleeping
 * (tens of microseconds): back-to-back segments of one call find it awake. */
#define SPIN_POLLS 4000

typedef struct pool {
    atomic_uint gen;            /* bumped when a job is published       */
    atomic_int sleepers;        /* helpers asleep on gen                */
    atomic_int busy;            /* a job is in the pool                 */
    atomic_int open;            /* the current job accepts helpers      */
    atomic_int active;          /* helpers inside the current job       */
    atomic_int next_tid;
    atomic_llong next;          /* first unclaimed item                 */
    cf_task_fn fn;
    void *ctx;
    int64_t nitems, chunk;
    int nt;
    int nhelpers;
} pool;

static pool g_pool;
static pthread_once_t g_once = PTHREAD_ONCE_INIT;

static void cpu_relax(void)
{
#if defined(__x86_64__) || defined(__i386__)
    __builtin_ia32_pause();
#endif
}

static void futex_wait(atomic_uint *a, unsigned v)
{
    syscall(SYS_futex, (unsigned *)a, FUTEX_WAIT_PRIVATE, v, NULL, NULL, 0);
}

static void futex_wake_all(atomic_uint *a)
{
    syscall(SYS_futex, (unsigned *)a, FUTEX_WAKE_PRIVATE, INT_MAX, NULL, NULL, 0);
}

static void claim_loop(pool *p, int tid)
{
    for (;;) {
        int64_t b = atomic_fetch_add(&p->next, p->chunk);
        if (b >= p->nitems)
            return;
        int64_t e = b + p->chunk < p->nitems ? b + p->chunk : p->nitems;
        p->fn(p->ctx, tid, b, e);
    }
}

static void *helper_main(void *arg)
{
    pool *p = arg;
    unsigned seen = atomic_load(&p->gen);
    for (;;) {
        unsigned g;
        int spins = 0;
        while ((g = atomic_load(&p->gen)) == seen) {
            if (++spins < SPIN_POLLS) {
                cpu_relax();
                continue;
            }
            atomic_fetch_add(&p->sleepers, 1);
            futex_wait(&p->gen, seen);
            atomic_fetch_sub(&p->sleepers, 1);
            spins = 0;
        }
        seen = g;
        /* Registered before looking: the caller closes the job, then waits
         * for active to drain, so a helper that gets in is waited for and
         * one that is too late touches nothing. */
        atomic_fetch_add(&p->active, 1);
        if (atomic_load(&p->open)) {
            int tid = atomic_fetch_add(&p->next_tid, 1);
            if (tid < p->nt)
                claim_loop(p, tid);
        }
        atomic_fetch_sub(&p->active, 1);
    }
    return NULL;
}

static void pool_start(void)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int want = omp_get_max_threads();
    pthread_attr_t at;
    if (ncpu > 0 && want > ncpu)
        want = (int)ncpu;
    if (want > POOL_MAX)
        want = POOL_MAX;
    if (pthread_attr_init(&at) != 0)
        return;
    pthread_attr_setdetachstate(&at, PTHREAD_CREATE_DETACHED);
    pthread_attr_setstacksize(&at, 256 * 1024);
    for (int i = 0; i + 1 < want; i++) {
        pthread_t th;
        if (pthread_create(&th, &at, helper_main, &g_pool) != 0)
            break;
        g_pool.nhelpers++;
    }
    pthread_attr_destroy(&at);
}

void cf_parallel(int nt, int64_t nitems, cf_task_fn fn, void *ctx)
{
    pool *p = &g_pool;
    int expected = 0;
    if (nitems <= 0)
        return;
    if (nt > 1)
        pthread_once(&g_once, pool_start);
    if (nt <= 1 || p->nhelpers == 0 || !atomic_compare_exchange_strong(&p->busy, &expected, 1)) {
        fn(ctx, 0, 0, nitems);
        return;
    }
    if (nt > p->nhelpers + 1)
        nt = p->nhelpers + 1;
    p->fn = fn;
    p->ctx = ctx;
    p->nitems = nitems;
    p->nt = nt;
    /* Several chunks per thread, so a thread that runs late or slow
     * leaves its share to the others. */
    p->chunk = nitems / ((int64_t)nt * 8);
    if (p->chunk < 1)
        p->chunk = 1;
    atomic_store(&p->next, 0);
    atomic_store(&p->next_tid, 1);
    atomic_store(&p->open, 1);
    atomic_fetch_add(&p->gen, 1);
    if (atomic_load(&p->sleepers) > 0)
        futex_wake_all(&p->gen);
    claim_loop(p, 0);
    atomic_store(&p->open, 0);
    for (int spins = 0; atomic_load(&p->active) > 0; spins++) {
        if (spins < 1000)
            cpu_relax();
        else
            sched_yield();
    }
    atomic_store(&p->busy, 0);
}

#else /* not Linux: an OpenMP team with the same dynamic claiming */

void cf_parallel(int nt, int64_t nitems, cf_task_fn fn, void *ctx)
{
    if (nitems <= 0)
        return;
    if (nt <= 1) {
        fn(ctx, 0, 0, nitems);
        return;
    }
    int64_t chunk = nitems / ((int64_t)nt * 8);
    if (chunk < 1)
        chunk = 1;
#pragma omp parallel for num_threads(nt) schedule(dynamic, 1)
    for (int64_t c = 0; c < (nitems + chunk - 1) / chunk; c++) {
        int64_t b = c * chunk, e = b + chunk < nitems ? b + chunk : nitems;
        fn(ctx, omp_get_thread_num(), b, e);
    }
}
#endif

int cf_cpu_max_threads(void)
{
    int n = omp_get_max_threads();
    return n > 0 ? n : 1;
}

int cf_cpu_pick_threads(int nthreads, int64_t nitems, int64_t work)
{
    int nt = nthreads > 0 ? nthreads : cf_cpu_max_threads();
    if (work < CF_CPU_PAR_MIN_WORK || nitems < 2)
        return 1;
    if ((int64_t)nt > nitems)
        nt = (int)nitems;
    return nt;
}
