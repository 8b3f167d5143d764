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
 */
#include "internal.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static pthread_mutex_t g_mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_cv;
static pthread_t g_thread;
static int g_running, g_stop;
static struct timespec g_start, g_deadline, g_hard;
static char g_what[256];
static char g_report[1024];
static double g_base, g_seconds, g_factor;

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
    int expired = 0;
    pthread_mutex_lock(&g_mu);
    while (!g_stop && !expired)
        expired = pthread_cond_timedwait(&g_cv, &g_mu, &g_deadline) == ETIMEDOUT;
    if (!g_stop) {
        describe_deadline(dl, sizeof dl);
        say(msg, snprintf(msg, sizeof msg,
                          "\nwatchdog: %s passed its %s; waiting as long again before "
                          "calling it a deadlock\n", g_what, dl));
        expired = 0;
        while (!g_stop && !expired)
            expired = pthread_cond_timedwait(&g_cv, &g_mu, &g_hard) == ETIMEDOUT;
    }
    pthread_mutex_unlock(&g_mu);
    if (!expired || g_stop)
        return NULL;
    describe_deadline(dl, sizeof dl);
    say(msg, snprintf(msg, sizeof msg,
                      "\ndeadlock: %s did not finish within %.1f s, 100%% over its %s; "
                      "Python threads:\n", g_what, since(g_start), dl));
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
    clock_gettime(CLOCK_MONOTONIC, &g_start);
    g_deadline = add_seconds(g_start, g_seconds);
    g_hard = add_seconds(g_start, 2.0 * g_seconds);
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
    double took = since(g_start);
    pthread_mutex_lock(&g_mu);
    g_stop = 1;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    pthread_join(g_thread, NULL);
    pthread_cond_destroy(&g_cv);
    g_running = 0;
    double over = took - g_seconds;
    if (over <= 0) {
        g_report[0] = '\0';
        return 0.0;
    }
    char dl[512];
    describe_deadline(dl, sizeof dl);
    snprintf(g_report, sizeof g_report, "%s took %.1f s: %.1f s (%.0f%%) over its %s", g_what,
             took, over, 100.0 * over / g_seconds, dl);
    return over;
}

const char *cfh_watchdog_report(void)
{
    return g_report;
}
