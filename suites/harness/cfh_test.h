/* cfh_test.h - what every harness suite shares: run one Python function
 * of a snippet file in a fresh interpreter, then leak-check and finalise.
 */
#ifndef CFH_TEST_H
#define CFH_TEST_H

#include <criterion/criterion.h>
#include <stdio.h>

#include "cfh/harness.h"

/* Deadlines as set on the reference host: the watchdog multiplies them by
 * the host's time factor (CFUSER_HARNESS_TIME_FACTOR, measured at the start
 * of the run by sanitizers/calibrate.py), so a slower host gets longer ones. */
#define CFH_CASE_DEADLINE 300.0
/* Backstop for Criterion itself (a constant: Criterion reads it before any
 * code runs); the scaled watchdog fires first, up to a host factor of 6. */
#define CFH_SUITE_TIMEOUT 3600.0

/* Stop the watchdog; a case that ran past its deadline fails, saying by how
 * much and what the host's calibration was. */
static inline void cfh_test_deadline_met(void)
{
    double over = cfh_watchdog_stop();
    cr_assert(over <= 0.0, "%s", cfh_watchdog_report());
}

static inline void cfh_test_init(void)
{
    cr_assert_eq(cfh_init(), 0, "cfh_init: %s", cfh_error());
}

static inline void cfh_test_fini(void)
{
    cr_assert_eq(cfh_leak_check(), 0, "LeakSanitizer/valgrind found leaks (report above)");
    cr_assert_eq(cfh_fini(), 0, "%s", cfh_error());
}

/* Load file, call fn(); fn raises AssertionError (or anything) to fail. */
static inline void cfh_case(const char *file, const char *fn)
{
    char what[256];
    snprintf(what, sizeof what, "%s:%s", file, fn);
    cfh_test_init();
    cr_assert_eq(cfh_load(file), 0, "%s", cfh_error());
    cr_assert_eq(cfh_watchdog_start(what, CFH_CASE_DEADLINE), 0, "%s", cfh_error());
    int rc = cfh_call(fn);
    cfh_test_deadline_met();
    cr_assert_eq(rc, 0, "%s", cfh_error());
    cfh_test_fini();
}

/* Load file, run fn under the refleak loop and require it clean. */
static inline void cfh_refleak_case(const char *file, const char *fn, int warmups,
                                    int repeats)
{
    cfh_refleak r = {0};
    r.warmups = warmups;
    r.repeats = repeats;
    char what[256];
    snprintf(what, sizeof what, "refleak %s:%s", file, fn);
    cfh_test_init();
    cr_assert_eq(cfh_load(file), 0, "%s", cfh_error());
    cr_assert_eq(cfh_watchdog_start(what, CFH_CASE_DEADLINE), 0, "%s", cfh_error());
    int rc = cfh_refleak_run(fn, &r);
    cfh_test_deadline_met();
    cr_assert_eq(rc, 0, "%s", cfh_error());
    fprintf(stderr, "refleak %s:%s %s\n", file, fn, cfh_refleak_describe(&r));
    cr_assert(!cfh_refleak_leaked(&r), "%s: %s", fn, cfh_refleak_describe(&r));
    cfh_test_fini();
}

/* Same, with its own deadline: a hang fails with "deadlock". */
static inline void cfh_watched_case(const char *file, const char *fn, double seconds)
{
    char what[256];
    snprintf(what, sizeof what, "%s:%s", file, fn);
    cfh_test_init();
    cr_assert_eq(cfh_load(file), 0, "%s", cfh_error());
    cr_assert_eq(cfh_watchdog_start(what, seconds), 0, "%s", cfh_error());
    int rc = cfh_call(fn);
    cfh_test_deadline_met();
    cr_assert_eq(rc, 0, "%s", cfh_error());
    cfh_test_fini();
}

#define CFH_CASE(suite, file, name, ...) \
    Test(suite, name, ##__VA_ARGS__) { cfh_case(file, #name); }

#endif
