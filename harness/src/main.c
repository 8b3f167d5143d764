/* main.c - cfharness: the harness from the command line (for valgrind and
 * for running one snippet or pytest file by hand).
 *
 *   cfharness run FILE                 run a Python file
 *   cfharness call FILE FUNC...        load FILE, call each FUNC() (PASS/FAIL
 *                                      lines; CFUSER_HARNESS_DEADLINE: watchdog,
 *                                      scaled by CFUSER_HARNESS_TIME_FACTOR)
 *   cfharness pytest FILE [ARGS]       pytest.main embedded; its exit code
 *                                      (CFUSER_HARNESS_DEADLINE: watchdog)
 *   cfharness refleak FILE FUNC [W R]  the refleak loop on FUNC
 *   cfharness sweep FILE FUNC          allocation-failure sweep over FUNC
 *   cfharness cycles N CODE            N rounds of initialise, run CODE,
 *                                      finalise; growth as JSON (cycles.c)
 *
 * Every command ends with a leak check and a checked Py_FinalizeEx.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cfh/harness.h"

static int usage(void)
{
    fprintf(stderr, "usage: cfharness run FILE | call FILE FUNC... | pytest FILE [ARGS] |"
                    " refleak FILE FUNC [WARMUPS REPEATS] | sweep FILE FUNC | cycles N CODE\n");
    return 2;
}

static int dispatch(int argc, char **argv)
{
    const char *cmd = argv[1], *file = argv[2];
    if (strcmp(cmd, "run") == 0)
        return cfh_run_file(file) == 0 ? 0 : 1;
    if (strcmp(cmd, "pytest") == 0) {
        /* CFUSER_HARNESS_DEADLINE=seconds: the file under the watchdog */
        const char *dl = getenv("CFUSER_HARNESS_DEADLINE");
        int code = -1;
        if (dl && cfh_watchdog_start(file, atof(dl)) < 0)
            return 1;
        int rc = cfh_pytest(file, argc > 3 ? argv[3] : "", &code);
        if (cfh_watchdog_stop() > 0.0) {
            fprintf(stderr, "cfharness: %s\n", cfh_watchdog_report());
            return 1;
        }
        return rc < 0 ? 1 : code;
    }
    if (argc < 4)
        return usage();
    if (cfh_load(file) < 0)
        return 1;
    if (strcmp(cmd, "call") == 0) {
        /* CFUSER_HARNESS_DEADLINE=seconds: each call under the watchdog */
        const char *dl = getenv("CFUSER_HARNESS_DEADLINE");
        int failed = 0;
        for (int i = 3; i < argc; i++) {
            if (dl && cfh_watchdog_start(argv[i], atof(dl)) < 0)
                return 1;
            int rc = cfh_call(argv[i]);
            int late = cfh_watchdog_stop() > 0.0;
            printf("%s %s\n", rc == 0 && !late ? "PASS" : "FAIL", argv[i]);
            if (rc < 0)
                fprintf(stderr, "cfharness: %s\n", cfh_error());
            if (late)
                fprintf(stderr, "cfharness: %s\n", cfh_watchdog_report());
            failed += rc < 0 || late;
        }
        return failed ? 1 : 0;
    }
    if (strcmp(cmd, "refleak") == 0) {
        cfh_refleak r = {0};
        r.warmups = argc > 4 ? atoi(argv[4]) : 3;
        r.repeats = argc > 5 ? atoi(argv[5]) : 6;
        if (cfh_refleak_run(argv[3], &r) < 0)
            return 1;
        printf("refleak %s: %s\n", argv[3], cfh_refleak_describe(&r));
        return cfh_refleak_leaked(&r) ? 1 : 0;
    }
    if (strcmp(cmd, "sweep") == 0) {
        cfh_sweep s = {0};
        if (cfh_fail_sweep(argv[3], &s) < 0)
            return 1;
        printf("sweep %s: %llu points over %llu allocations: %llu MemoryError, "
               "%llu other errors, %llu recovered\n", argv[3],
               (unsigned long long)s.points, (unsigned long long)s.allocs,
               (unsigned long long)s.memory_errors, (unsigned long long)s.other_errors,
               (unsigned long long)s.successes);
        if (s.first_other[0])
            printf("first other error %s\n", s.first_other);
        return 0;
    }
    return usage();
}

int main(int argc, char **argv)
{
    if (argc < 3)
        return usage();
    if (strcmp(argv[1], "cycles") == 0) /* its own interpreters, one after another */
        return argc == 4 ? cfh_cycles_main(atoi(argv[2]), argv[3]) : usage();
    cfh_options o = {0};
    const char *py_argv[2] = {argv[0], argv[2]};
    o.argc = 2;
    o.argv = py_argv;
    if (cfh_init_with(&o) < 0) {
        fprintf(stderr, "cfharness: %s\n", cfh_error());
        return 1;
    }
    int rc = dispatch(argc, argv);
    if (rc != 0 && strcmp(cfh_error(), "no error") != 0)
        fprintf(stderr, "cfharness: %s\n", cfh_error());
    if (cfh_leak_check() != 0) {
        fprintf(stderr, "cfharness: leaks found (see the sanitizer report)\n");
        rc = rc ? rc : 1;
    }
    if (cfh_fini() < 0) {
        fprintf(stderr, "cfharness: %s\n", cfh_error());
        rc = rc ? rc : 1;
    }
    return rc;
}
