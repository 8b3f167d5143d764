/* The harness checks itself on plain Python: it must see a leak it is
 * shown, fail an allocation it is told to, and stop a deadlock. */
#define _GNU_SOURCE
#include "cfh_test.h"

#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

TestSuite(selftest, .timeout = CFH_SUITE_TIMEOUT);

CFH_CASE(selftest, "selftest.py", isolated_and_path)
CFH_CASE(selftest, "selftest.py", failing_call_raises_memoryerror)
CFH_CASE(selftest, "selftest.py", producer_deleter_once)
CFH_CASE(selftest, "selftest.py", producer_rejected_by_numpy)

Test(selftest, refleak_sees_object_leak)
{
    cfh_refleak r = {.warmups = 2, .repeats = 4};
    cfh_test_init();
    cr_assert_eq(cfh_load("selftest.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_refleak_run("leaks_one_object", &r), 0, "%s", cfh_error());
    cr_assert(r.leaked_blocks, "%s", cfh_refleak_describe(&r));
    cr_assert(!r.leaked_fds, "%s", cfh_refleak_describe(&r));
    cfh_test_fini();
}

/* A reference taken and never released allocates nothing: only a debug
 * interpreter's sys.gettotalrefcount() sees it (make sanitize builds one). */
Test(selftest, refleak_sees_reference_leak)
{
    cfh_refleak r = {.warmups = 2, .repeats = 4};
    cfh_test_init();
    cr_assert_eq(cfh_load("selftest.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_refleak_run("leaks_one_reference", &r), 0, "%s", cfh_error());
    cr_assert(!r.leaked_blocks && !r.leaked_fds, "%s", cfh_refleak_describe(&r));
    if (!r.has_refs) {
        cfh_test_fini();
        cr_skip_test("reference counts need a debug interpreter (sys.gettotalrefcount); "
                     "make sanitize runs this suite on python3.11-dbg");
    }
    cr_assert(r.leaked_refs, "%s", cfh_refleak_describe(&r));
    for (int i = 0; i < r.repeats; i++)
        cr_assert_eq(r.refs[i], 1, "%s", cfh_refleak_describe(&r));
    cfh_test_fini();
}

Test(selftest, refleak_sees_fd_leak)
{
    cfh_refleak r = {.warmups = 2, .repeats = 4};
    cfh_test_init();
    cr_assert_eq(cfh_load("selftest.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_refleak_run("leaks_one_fd", &r), 0, "%s", cfh_error());
    cr_assert(r.leaked_fds, "%s", cfh_refleak_describe(&r));
    cr_assert_eq(cfh_run("import __main__\n"), 0, "%s", cfh_error());
    cfh_test_fini();
}

Test(selftest, refleak_clean_code_is_clean)
{
    cfh_refleak_case("selftest.py", "clean_work", 3, 6);
}

Test(selftest, error_text_has_chained_cause)
{
    cfh_test_init();
    cr_assert_eq(cfh_load("selftest.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_call("raises_chained"), -1);
    cr_assert(strstr(cfh_error(), "KeyError: 'inner cause'") != NULL, "%s", cfh_error());
    cr_assert(strstr(cfh_error(), "ValueError: outer") != NULL, "%s", cfh_error());
    cr_assert_eq(cfh_call("returns_false"), -1);
    cr_assert(strstr(cfh_error(), "returned False") != NULL, "%s", cfh_error());
    cfh_test_fini();
}

Test(selftest, sweep_pure_python)
{
    cfh_sweep s = {0};
    cfh_test_init();
    cr_assert_eq(cfh_load("selftest.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_fail_sweep("allocating_work", &s), 0, "%s", cfh_error());
    fprintf(stderr, "sweep allocating_work: %llu points, %llu allocations, "
            "%llu MemoryError, %llu other\n", (unsigned long long)s.points,
            (unsigned long long)s.allocs, (unsigned long long)s.memory_errors,
            (unsigned long long)s.other_errors);
    cr_assert_gt(s.points, 10);
    cr_assert_eq(s.points, s.allocs + 1, "points %llu allocs %llu",
                 (unsigned long long)s.points, (unsigned long long)s.allocs);
    cr_assert_eq(s.other_errors, 0, "%s", s.first_other);
    cfh_test_fini();
}

Test(selftest, watchdog_lets_finished_code_pass)
{
    cfh_watched_case("selftest.py", "finishes_in_time", 30.0);
}

/* The watchdog must end a real deadlock with its own exit status. */
Test(selftest, watchdog_ends_deadlock, .exit_code = CFH_EXIT_DEADLOCK)
{
    cfh_test_init();
    cr_assert_eq(cfh_load("selftest.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_watchdog_start("selftest.py:deadlock", 1.0), 0, "%s", cfh_error());
    cfh_call("deadlock");
    cr_assert_fail("the deadlock returned");
}

/* A deadline follows the host: 0.5 s set on the reference host is 2 s on a
 * host 4x slower, so a 1 s call passes there. */
Test(selftest, watchdog_deadline_follows_host_factor)
{
    setenv("CFUSER_HARNESS_TIME_FACTOR", "4", 1);
    cr_assert_float_eq(cfh_deadline(0.5), 2.0, 1e-12);
    cfh_test_init();
    cr_assert_eq(cfh_load("selftest.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_watchdog_start("selftest.py:sleeps_one_second", 0.5), 0, "%s", cfh_error());
    cr_assert_eq(cfh_call("sleeps_one_second"), 0, "%s", cfh_error());
    double over = cfh_watchdog_stop();
    cr_assert_eq(over, 0.0, "%s", cfh_watchdog_report());
    cfh_test_fini();
}

/* Slow but not hung: past the deadline, inside the grace; the stop says by
 * how much, and the report names the deadline, the factor and the
 * calibration it came from. */
Test(selftest, watchdog_reports_overrun_and_calibration)
{
    setenv("CFUSER_HARNESS_TIME_FACTOR", "1", 1);
    setenv("CFUSER_HARNESS_CALIBRATION", "loop 0.50 s here, 0.50 s on the reference host", 1);
    cfh_test_init();
    cr_assert_eq(cfh_load("selftest.py"), 0, "%s", cfh_error());
    cr_assert_eq(cfh_watchdog_start("slow", 1.0), 0, "%s", cfh_error());
    cr_assert_eq(cfh_call("sleeps_one_and_a_half_seconds"), 0, "%s", cfh_error());
    double over = cfh_watchdog_stop();
    const char *r = cfh_watchdog_report();
    cr_assert(over > 0.4 && over < 1.0, "over %.3f s: %s", over, r);
    cr_assert(strstr(r, "slow took 1.") == r, "%s", r);
    cr_assert(strstr(r, "over its deadline 1.0 s (1.0 s on the reference host x host factor 1.00; "
                        "calibration: loop 0.50 s here, 0.50 s on the reference host)") != NULL,
              "%s", r);
    cfh_test_fini();
}

static double clock_s(clockid_t c)
{
    struct timespec t;
    clock_gettime(c, &t);
    return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* Load that comes to the host mid-run is not the code's slowness: with three
 * busy processes on the same CPU, 0.3 s of work takes about four times as
 * long on the clock, and a 0.6 s deadline still holds, because the seconds
 * spent waiting for the CPU are not counted. A sleep (blocked, not waiting
 * for a CPU) still counts: the case above. */
/* Three busy processes on this process's CPU (all of its threads pinned
 * there); 0 when the kernel keeps no schedstat (the test is skipped). */
static int contend(pid_t busy[3])
{
    FILE *f = fopen("/proc/self/schedstat", "r");
    if (f == NULL)
        return 0;
    fclose(f);
    setenv("CFUSER_HARNESS_TIME_FACTOR", "1", 1);
    cpu_set_t one;
    CPU_ZERO(&one);
    CPU_SET(sched_getcpu(), &one);
    cr_assert_eq(sched_setaffinity(0, sizeof one, &one), 0);
    for (int i = 0; i < 3; i++) {
        busy[i] = fork();
        cr_assert(busy[i] >= 0);
        if (busy[i] == 0) {
            prctl(PR_SET_PDEATHSIG, SIGKILL); /* never outlive the test */
            for (volatile unsigned long x = 0;; x++) {
            }
        }
    }
    return 1;
}

static void uncontend(pid_t busy[3])
{
    for (int i = 0; i < 3; i++) {
        kill(busy[i], SIGKILL);
        waitpid(busy[i], NULL, 0);
    }
}

static void *spin_03(void *arg)
{
    double c0 = clock_s(CLOCK_THREAD_CPUTIME_ID);
    (void)arg;
    while (clock_s(CLOCK_THREAD_CPUTIME_ID) - c0 < 0.3) {
    }
    return NULL;
}

Test(selftest, watchdog_leaves_out_waiting_for_a_cpu)
{
    pid_t busy[3];
    if (!contend(busy))
        cr_skip_test("this kernel keeps no schedstat");
    double t0 = clock_s(CLOCK_MONOTONIC);
    cr_assert_eq(cfh_watchdog_start("contended", 0.6), 0, "%s", cfh_error());
    spin_03(NULL);
    double over = cfh_watchdog_stop(), wall = clock_s(CLOCK_MONOTONIC) - t0;
    uncontend(busy);
    cr_assert(wall > 0.6, "no contention: 0.3 s of work took %.2f s on the clock", wall);
    cr_assert_eq(over, 0.0, "%s (clock %.2f s)", cfh_watchdog_report(), wall);
}

/* The watched thread waits, blocked, for a worker that waits for a CPU (an
 * OpenMP barrier, a join): the worker's waits are left out too. */
Test(selftest, watchdog_leaves_out_the_waits_of_threads_it_waits_for)
{
    pid_t busy[3];
    pthread_t worker;
    /* valgrind runs one thread at a time: a thread that waits for its lock
     * is blocked, not queued for a CPU, so the join counts as the watched
     * thread's own time there (as make sanitize leaves threading to ASan) */
    if (cfh_instrumented() == 2)
        cr_skip_test("under valgrind threads wait for its lock, not for a CPU");
    if (!contend(busy))
        cr_skip_test("this kernel keeps no schedstat");
    double t0 = clock_s(CLOCK_MONOTONIC);
    cr_assert_eq(cfh_watchdog_start("joined", 0.6), 0, "%s", cfh_error());
    cr_assert_eq(pthread_create(&worker, NULL, spin_03, NULL), 0);
    pthread_join(worker, NULL); /* the worker has ended before the stop */
    double over = cfh_watchdog_stop(), wall = clock_s(CLOCK_MONOTONIC) - t0;
    uncontend(busy);
    cr_assert(wall > 0.6, "no contention: 0.3 s of work took %.2f s on the clock", wall);
    cr_assert_eq(over, 0.0, "%s (clock %.2f s)", cfh_watchdog_report(), wall);
}

/* A factor that is not a number >= 1 is ignored (with a line on stderr). */
Test(selftest, time_factor_rejects_bad_values)
{
    const char *bad[] = {"abc", "0.5", "-2", "nan", "inf", "2x", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("CFUSER_HARNESS_TIME_FACTOR", bad[i], 1);
        cr_assert_eq(cfh_time_factor(), 1.0, "factor from '%s'", bad[i]);
    }
    setenv("CFUSER_HARNESS_TIME_FACTOR", "2.5", 1);
    cr_assert_eq(cfh_time_factor(), 2.5);
    cr_assert_eq(cfh_watchdog_start("zero", 0.0), -1);
    cr_assert(strstr(cfh_error(), "must be > 0 s") != NULL, "%s", cfh_error());
}
