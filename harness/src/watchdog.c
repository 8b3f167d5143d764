/* watchdog.c - a deadline for code that may hang.
 *
 * A plain pthread waits on a condition variable. The deadline given is the
 * one set on the reference host; it is multiplied by the host's time factor
 * (timefactor.c). When it passes, the watchdog says so on stderr and gives
 * the code as long again: code that finishes in that grace was slow, not
 * hung, and cfh_watchdog_stop() returns how far over it ran (the caller
 * fails the case with cfh_watchdog_report()). Code still running at twice
 * the deadline is called a deadlock: SIGUSR2 in the watchdog's own thread
 * (faulthandler, registered by cfh_init, dumps the traceback of every Python
 * thread without needing the GIL), then _exit, so a hang never stalls CI.
 *
 * Time counts as the watched code's own: the seconds the process's threads
 * spent runnable but waiting for a CPU (the run-queue delay the kernel keeps
 * in /proc/self/task/TID/schedstat, summed over every thread, sampled at
 * least once a second so that threads that end are counted) are left out,
 * so other work that comes to the host mid-run, after the calibration, does
 * not turn into a failed deadline: neither the watched thread's own waits
 * nor those of the threads it waits for (OpenMP and torch workers at a
 * barrier, a sanitizer's helper). At most nine tenths of the clock is left
 * out, so a deadline is still reached under any load. Time spent blocked (a
 * lock, a sleep, a child process) still counts, so a deadlock is still one.
 * Where schedstat cannot be read, the clock alone counts.
 */
#include "internal.h"

#include <dirent.h>
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static pthread_t g_thread;
static int g_running, g_stop;
static struct timespec g_start;
static char g_what[256];
static char g_report[1024];
static double g_base, g_seconds, g_factor;
/* Run-queue delay of the process since the start: per thread the delay
 * last seen, and the sum of what each thread added since the start. */
#define CFH_WATCH_MAX_TASKS 1024
static struct { long tid; double last; } g_tasks[CFH_WATCH_MAX_TASKS];
static int g_ntasks;
static double g_waited;
static pthread_mutex_t g_sample_mu = PTHREAD_MUTEX_INITIALIZER;

static struct timespec add_seconds(struct timespec t, double seconds)
{
    t.tv_sec += (time_t)seconds;
    t.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (t.tv_nsec >= 1000000000L) {
        t.tv_sec++;
        t.tv_nsec -= 1000000000L;
    }
    return t;
}

static double since(struct timespec t0)
{
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    return (double)(now.tv_sec - t0.tv_sec) + (double)(now.tv_nsec - t0.tv_nsec) * 1e-9;
}

/* A thread's run-queue delay so far in seconds, or -1 when unknown. */
static double task_delay(long tid)
{
    char path[64];
    unsigned long long cpu_ns = 0, delay_ns = 0;
    snprintf(path, sizeof path, "/proc/self/task/%ld/schedstat", tid);
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return -1.0;
    int n = fscanf(f, "%llu %llu", &cpu_ns, &delay_ns);
    fclose(f);
    return n == 2 ? (double)delay_ns * 1e-9 : -1.0;
}

/* Add what every thread of the process waited since the last sample; at
 * the start (baseline) only remember where each thread stands. A thread
 * first seen after the start waited all of its delay within the window. */
static void sample(int baseline)
{
    DIR *d = opendir("/proc/self/task");
    struct dirent *e;
    if (d == NULL)
        return;
    pthread_mutex_lock(&g_sample_mu);
    if (baseline) {
        g_ntasks = 0;
        g_waited = 0.0;
    }
    while ((e = readdir(d)) != NULL) {
        if (e->d_name[0] < '0' || e->d_name[0] > '9')
            continue;
        long tid = strtol(e->d_name, NULL, 10);
        double now = task_delay(tid);
        int k;
        if (now < 0)
            continue;
        for (k = 0; k < g_ntasks && g_tasks[k].tid != tid; k++)
            ;
        if (k == g_ntasks) {
            if (g_ntasks == CFH_WATCH_MAX_TASKS)
                continue;
            g_tasks[g_ntasks].tid = tid;
            g_tasks[g_ntasks++].last = baseline ? now : 0.0;
        }
        if (now > g_tasks[k].last)
            g_waited += now - g_tasks[k].last;
        g_tasks[k].last = now;
    }
    pthread_mutex_unlock(&g_sample_mu);
    closedir(d);
}

/* Seconds the process's threads waited for a CPU since the start, at most
 * nine tenths of the clock. */
static double waited(void)
{
    double w, limit = 0.9 * since(g_start);
    sample(0);
    pthread_mutex_lock(&g_sample_mu);
    w = g_waited;
    pthread_mutex_unlock(&g_sample_mu);
    return w < limit ? w : limit;
}

/* Wait until the watched code's own time (the clock less its run-queue
 * delay) reaches limit seconds, or a stop; 1 when the limit was reached. */
static int wait_own_time(double limit)
{
    for (;;) {
        double own = since(g_start) - waited();
        if (own >= limit)
            return 1;
        struct timespec now, until;
        clock_gettime(CLOCK_MONOTONIC, &now);
        /* wake at least once a second: threads that end take their
         * schedstat with them */
        until = add_seconds(now, limit - own < 1.0 ? limit - own : 1.0);
        int expired = 0;
        while (!g_stop && !expired)
            expired = pthread_cond_timedwait(&g_cv, &g_mu, &until) == ETIMEDOUT;
        if (g_stop)
            return 0;
    }
}

/* "deadline D s (B s on the reference host x host factor F; calibration: C)" */
static int describe_deadline(char *buf, size_t n)
{
    const char *cal = cfh_calibration();
    return snprintf(buf, n, "deadline %.1f s (%.1f s on the reference host x host factor %.2f%s%s)",
                    g_seconds, g_base, g_factor, *cal ? "; calibration: " : "", cal);
}

static void say(const char *msg, int n)
{
    if (n > 0 && write(2, msg, (size_t)n) < 0)
        _exit(CFH_EXIT_DEADLOCK);
}

static void *watch(void *arg)
{
    (void)arg;
    char dl[512], msg[1024];
    int expired;
    pthread_mutex_lock(&g_mu);
    expired = wait_own_time(g_seconds);
    if (expired) {
        describe_deadline(dl, sizeof dl);
        say(msg, snprintf(msg, sizeof msg,
                          "\nwatchdog: %s passed its %s after %.1f s on the clock (%.1f s of it "
                          "waiting for a CPU); waiting as long again before calling it a "
                          "deadlock\n", g_what, dl, since(g_start), waited()));
        expired = wait_own_time(2.0 * g_seconds);
    }
    pthread_mutex_unlock(&g_mu);
    if (!expired || g_stop)
        return NULL;
    describe_deadline(dl, sizeof dl);
    say(msg, snprintf(msg, sizeof msg,
                      "\ndeadlock: %s did not finish within %.1f s (%.1f s of it waiting for a "
                      "CPU), 100%% over its %s; Python threads:\n",
                      g_what, since(g_start), waited(), dl));
    raise(SIGUSR2);
    _exit(CFH_EXIT_DEADLOCK);
}

int cfh_watchdog_start(const char *what, double seconds)
{
    pthread_condattr_t ca;
    cfh_watchdog_stop();
    if (!(seconds > 0))
        return cfh__fail("watchdog: the deadline of %s must be > 0 s, not %g", what, seconds);
    snprintf(g_what, sizeof g_what, "%s", what);
    g_report[0] = '\0';
    g_base = seconds;
    g_factor = cfh_time_factor();
    g_seconds = seconds * g_factor;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &ca);
    pthread_condattr_destroy(&ca);
    sample(1);
    clock_gettime(CLOCK_MONOTONIC, &g_start);
    g_stop = 0;
    int rc = pthread_create(&g_thread, NULL, watch, NULL);
    if (rc != 0)
        return cfh__fail("watchdog: pthread_create: %s", strerror(rc));
    g_running = 1;
    return 0;
}

double cfh_watchdog_stop(void)
{
    if (!g_running)
        return 0.0;
    double took = since(g_start), queued;
    pthread_mutex_lock(&g_mu);
    g_stop = 1;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    pthread_join(g_thread, NULL);
    queued = waited();
    pthread_cond_destroy(&g_cv);
    g_running = 0;
    double over = took - queued - g_seconds;
    if (over <= 0) {
        g_report[0] = '\0';
        return 0.0;
    }
    char dl[512];
    describe_deadline(dl, sizeof dl);
    snprintf(g_report, sizeof g_report,
             "%s took %.1f s (%.1f s of it waiting for a CPU): %.1f s (%.0f%%) over its %s", g_what,
             took, queued, over, 100.0 * over / g_seconds, dl);
    return over;
}

const char *cfh_watchdog_report(void)
{
    return g_report;
}
