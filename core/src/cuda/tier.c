/* cuda/tier.c - tiered compilation: the full plan of a new fusion compiles
 * on a background thread while its quick plan runs.
 *
 * The first execute of a new fusion waits only for the quick tier (kernels
 * without unrolling across vectors, compiled with NVRTC's fast-compile
 * option: about a third less compile time, the same results). Its full plan
 * goes to one worker thread, in order of arrival; when the full module is
 * loaded, launch.c swaps it into the plan cache, and later executes launch
 * the full kernels. Both tiers are stored in the disk cache, and a full
 * module found there is used at once, with no quick tier.
 *
 * At exit the worker finishes the compile in hand (so the disk cache gets
 * it) and drops the rest. CFUSER_CUDA_TIERED=0 compiles the full plan on
 * the caller's thread instead.
 */
#include <errno.h>
#include <math.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cuda/cuda_internal.h"
#include "cfuser/alloc.h"
#include "cfuser/status.h"

typedef struct tier_job {
    struct tier_job *next;
    int ordinal;
    cf_cuda_plan *full;
    void *slot;
    cf_tier_install install;
} tier_job;

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t wake = PTHREAD_COND_INITIALIZER;  /* a job, or exit */
static pthread_cond_t idle = PTHREAD_COND_INITIALIZER;  /* a job finished */
static tier_job *head, *tail;
static bool started, stopping, busy;

static pthread_once_t env_once = PTHREAD_ONCE_INIT;
static bool disabled;

static void env_read(void)
{
    const char *s = getenv("CFUSER_CUDA_TIERED");
    disabled = s && strcmp(s, "0") == 0;
}

bool cf_tier_enabled(void)
{
    pthread_once(&env_once, env_read);
    return !disabled;
}

static void run_job(tier_job *j)
{
    const cf_cu_device *d;
    CUmodule m = NULL;
    cf_status st = cf_cu_device_enter(j->ordinal, &d);
    if (st == CF_OK)
        st = cf_kcache_module_tier(d, j->full->source, false, true, &m);
    if (st == CF_OK && m) {
        j->full->module = m;
        st = j->install(j->slot, j->full);
    }
    if (st != CF_OK || !m) {
        /* the quick plan stays; the failure is counted, not raised: no
         * caller is waiting for this compile */
        cf_cuda_stat_add(CF_STAT_TIER_FAILURES, 1);
        cf_cuda_plan_free(j->full);
        cf_error_clear();
    } else {
        cf_cuda_stat_add(CF_STAT_TIER_SWAPS, 1);
    }
}

static void *worker(void *unused)
{
    (void)unused;
    pthread_mutex_lock(&lock);
    for (;;) {
        while (!head && !stopping)
            pthread_cond_wait(&wake, &lock);
        if (stopping)
            break;
        tier_job *j = head;
        head = j->next;
        if (!head)
            tail = NULL;
        busy = true;
        pthread_mutex_unlock(&lock);
        run_job(j);
        cf_free(j);
        pthread_mutex_lock(&lock);
        busy = false;
        pthread_cond_broadcast(&idle);
    }
    pthread_cond_broadcast(&idle);
    pthread_mutex_unlock(&lock);
    return NULL;
}

/* At exit: let the compile in hand finish, drop the queue. */
static void stop_at_exit(void)
{
    pthread_mutex_lock(&lock);
    stopping = true;
    pthread_cond_broadcast(&wake);
    while (busy)
        pthread_cond_wait(&idle, &lock);
    while (head) {
        tier_job *j = head;
        head = j->next;
        cf_cuda_plan_free(j->full);
        cf_free(j);
    }
    tail = NULL;
    pthread_mutex_unlock(&lock);
}

/* fork: the child has no worker (and CUDA does not survive a fork); it
 * starts afresh rather than queue jobs nobody runs. */
static void fork_prepare(void) { pthread_mutex_lock(&lock); }
static void fork_parent(void) { pthread_mutex_unlock(&lock); }
static void fork_child(void)
{
    head = tail = NULL; /* the parent's jobs: not ours to free or run */
    started = busy = false;
    pthread_mutex_unlock(&lock);
}

cf_status cf_tier_enqueue(int ordinal, cf_cuda_plan *full, void *slot, cf_tier_install install)
{
    tier_job *j = cf_calloc(1, sizeof *j);
    if (!j)
        return cf_error_nomem("cuda");
    j->ordinal = ordinal;
    j->full = full;
    j->slot = slot;
    j->install = install;
    pthread_mutex_lock(&lock);
    if (stopping) {
        pthread_mutex_unlock(&lock);
        cf_free(j);
        return cf_error_set(CF_ERR_RUNTIME, "cuda", "the process is exiting");
    }
    if (!started) {
        pthread_t t;
        pthread_attr_t attr;
        int rc = pthread_attr_init(&attr);
        if (rc == 0) {
            pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
            rc = pthread_create(&t, &attr, worker, NULL);
            pthread_attr_destroy(&attr);
        }
        if (rc != 0) {
            pthread_mutex_unlock(&lock);
            cf_free(j);
            return cf_error_set(CF_ERR_RUNTIME, "cuda", "cannot start the background compiler thread");
        }
        started = true;
        static bool hooks;
        if (!hooks) {
            hooks = true;
            atexit(stop_at_exit);
            pthread_atfork(fork_prepare, fork_parent, fork_child);
        }
    }
    if (tail)
        tail->next = j;
    else
        head = j;
    tail = j;
    pthread_cond_signal(&wake);
    pthread_mutex_unlock(&lock);
    return CF_OK;
}

int cf_cuda_background_pending(void)
{
    int n = 0;
    pthread_mutex_lock(&lock);
    if (!stopping) {
        for (tier_job *j = head; j; j = j->next)
            n++;
        n += busy ? 1 : 0;
    }
    pthread_mutex_unlock(&lock);
    return n;
}

int cf_cuda_wait_background_for(double timeout_s)
{
    if (timeout_s < 0) {
        cf_cuda_wait_background();
        return 1;
    }
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    double whole = floor(timeout_s);
    until.tv_sec += (time_t)whole;
    until.tv_nsec += (long)((timeout_s - whole) * 1e9);
    if (until.tv_nsec >= 1000000000L) {
        until.tv_sec++;
        until.tv_nsec -= 1000000000L;
    }
    int done;
    pthread_mutex_lock(&lock);
    while ((head || busy) && !stopping)
        if (pthread_cond_timedwait(&idle, &lock, &until) == ETIMEDOUT)
            break;
    done = !((head || busy) && !stopping);
    pthread_mutex_unlock(&lock);
    return done;
}

void cf_cuda_wait_background(void)
{
    pthread_mutex_lock(&lock);
    while ((head || busy) && !stopping)
        pthread_cond_wait(&idle, &lock);
    pthread_mutex_unlock(&lock);
}
