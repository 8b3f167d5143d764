/* watchdog.c - a deadline for code that may hang.
 *
 * A plain pthread waits on a condition variable until the deadline. If the
 * code under test has not stopped the watchdog by then, it names the case
 * as a deadlock, raises SIGUSR2 in its own thread (faulthandler, registered
 * by cfh_init, dumps the traceback of every Python thread without needing
 * the GIL) and _exits, so a hang can never stall CI.
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
static struct timespec g_deadline;
static char g_what[256];
static double g_seconds;

static void *watch(void *arg)
{
    (void)arg;
    int expired = 0;
    pthread_mutex_lock(&g_mu);
    while (!g_stop && !expired)
        expired = pthread_cond_timedwait(&g_cv, &g_mu, &g_deadline) == ETIMEDOUT;
    pthread_mutex_unlock(&g_mu);
    if (!expired || g_stop)
        return NULL;
    char msg[512];
    int n = snprintf(msg, sizeof msg,
                     "\ndeadlock: %s did not finish within %.1f s; "
                     "Python threads:\n", g_what, g_seconds);
    if (n > 0 && write(2, msg, (size_t)n) < 0)
        _exit(CFH_EXIT_DEADLOCK);
    raise(SIGUSR2);
    _exit(CFH_EXIT_DEADLOCK);
}

int cfh_watchdog_start(const char *what, double seconds)
{
    pthread_condattr_t ca;
    cfh_watchdog_stop();
    snprintf(g_what, sizeof g_what, "%s", what);
    g_seconds = seconds;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&g_cv, &ca);
    pthread_condattr_destroy(&ca);
    clock_gettime(CLOCK_MONOTONIC, &g_deadline);
    g_deadline.tv_sec += (time_t)seconds;
    g_deadline.tv_nsec += (long)((seconds - (double)(time_t)seconds) * 1e9);
    if (g_deadline.tv_nsec >= 1000000000L) {
        g_deadline.tv_sec++;
        g_deadline.tv_nsec -= 1000000000L;
    }
    g_stop = 0;
    int rc = pthread_create(&g_thread, NULL, watch, NULL);
    if (rc != 0)
        return cfh__fail("watchdog: pthread_create: %s", strerror(rc));
    g_running = 1;
    return 0;
}

void cfh_watchdog_stop(void)
{
    if (!g_running)
        return;
    pthread_mutex_lock(&g_mu);
    g_stop = 1;
    pthread_cond_signal(&g_cv);
    pthread_mutex_unlock(&g_mu);
    pthread_join(g_thread, NULL);
    pthread_cond_destroy(&g_cv);
    g_running = 0;
}
