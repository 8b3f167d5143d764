/* sanitizer.c - leak checks the test body can assert on.
 *
 * Criterion ignores a worker's exit status once the test has reported, so
 * a leak found at exit would pass silently: tests call cfh_leak_check()
 * themselves while the interpreter is still alive (its own memory is then
 * reachable) and assert that it found nothing.
 */
#include "internal.h"

/* valgrind's client requests, where its headers are installed (ci/setup.sh
 * installs them; a machine without them cannot be running under it). */
#if defined(__has_include)
#if __has_include(<valgrind/memcheck.h>)
#define CFH_HAVE_VALGRIND 1
#endif
#endif
#ifdef CFH_HAVE_VALGRIND
#include <valgrind/memcheck.h>
#include <valgrind/valgrind.h>
#else
#define RUNNING_ON_VALGRIND 0
#endif

/* Weak: present only when the LeakSanitizer runtime is linked in. */
extern int __lsan_do_recoverable_leak_check(void) __attribute__((weak));

#if defined(__SANITIZE_ADDRESS__)
#define CFH_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define CFH_ASAN 1
#endif
#endif

int cfh_instrumented(void)
{
#ifdef CFH_ASAN
    return 1;
#else
    return RUNNING_ON_VALGRIND ? 2 : 0;
#endif
}

int cfh_leak_check(void)
{
    if (__lsan_do_recoverable_leak_check != NULL)
        return __lsan_do_recoverable_leak_check() ? 1 : 0;
#ifdef CFH_HAVE_VALGRIND
    if (RUNNING_ON_VALGRIND) {
        /* Only blocks lost since the previous check count: libpython's
         * start-up is not this test's leak. */
        static unsigned long seen_leaked;
        unsigned long leaked = 0, dubious = 0, reachable = 0, suppressed = 0;
        VALGRIND_DO_ADDED_LEAK_CHECK;
        VALGRIND_COUNT_LEAK_BLOCKS(leaked, dubious, reachable, suppressed);
        (void)dubious; (void)reachable; (void)suppressed;
        int grew = leaked > seen_leaked;
        seen_leaked = leaked;
        return grew ? (int)(leaked) : 0;
    }
#endif
    return 0;
}
