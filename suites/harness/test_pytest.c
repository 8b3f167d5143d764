/* The module's own pytest files (suites/python/test_*.py), each run by
 * pytest.main inside the embedded, instrumented interpreter. */
#define _GNU_SOURCE
#include "cfh_test.h"

#include <criterion/parameterized.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

TestSuite(pytest, .timeout = CFH_SUITE_TIMEOUT);

/* One file's deadline on the reference host (scaled by the host factor),
 * unless the file names its own in a line "# harness deadline: SECONDS"
 * among its first lines (files whose long property budgets, under
 * sanitizers, need more: the deadline follows the work they declare). */
#define CFH_PYTEST_FILE_DEADLINE 300.0

static double file_deadline(const char *path)
{
    char line[256];
    double s = CFH_PYTEST_FILE_DEADLINE;
    FILE *f = fopen(path, "r");
    if (f == NULL)
        return s;
    for (int i = 0; i < 40 && fgets(line, sizeof line, f); i++) {
        double v;
        if (sscanf(line, "# harness deadline: %lf", &v) == 1 && v > 0) {
            s = v;
            break;
        }
    }
    fclose(f);
    return s;
}

static double mono_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void run_pytest_file(const char *path)
{
    int code = -1;
    const char *base = strrchr(path, '/');
    cfh_test_init();
    cr_assert_eq(cfh_watchdog_start(path, file_deadline(path)), 0, "%s", cfh_error());
    double t0 = mono_s();
    int rc = cfh_pytest(path, "-p no:randomly", &code);
    cfh_test_deadline_met();
    /* the progress line sanitizers/run-suites.sh shows as each file ends */
    fprintf(stderr, "pytest %s: exit %d (%.1f s)\n", base ? base + 1 : path, code, mono_s() - t0);
    cr_assert_eq(rc, 0, "%s", cfh_error());
    cr_assert_eq(code, 0, "pytest %s exited with %d (output above)", path, code);
    cfh_test_fini();
}

/* One parameter per file, the path held by value: Criterion copies the
 * parameter array into each worker, but not memory a pointer refers to
 * (that would have to come from cr_malloc). */
struct pyfile {
    char path[512];
};

ParameterizedTestParameters(pytest, file)
{
    static struct pyfile files[64];
    glob_t g;
    size_t n = 0;
    if (glob(CFH_PYTHON_SUITES "/test_*.py", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && n < 64; i++, n++)
            snprintf(files[n].path, sizeof files[n].path, "%s", g.gl_pathv[i]);
        globfree(&g);
    }
    return cr_make_param_array(struct pyfile, files, n);
}

ParameterizedTest(struct pyfile *f, pytest, file)
{
    fprintf(stderr, "pytest %s\n", f->path);
    run_pytest_file(f->path);
}

/* A file's own deadline line is read; without one, the default holds. */
Test(pytest, a_file_names_its_own_deadline)
{
    char path[] = "/tmp/cfh_deadline_XXXXXX";
    int fd = mkstemp(path);
    cr_assert(fd >= 0);
    FILE *f = fdopen(fd, "w");
    fputs("\"\"\"doc\"\"\"\n# harness deadline: 600  (why)\nimport os\n", f);
    fclose(f);
    cr_assert_float_eq(file_deadline(path), 600.0, 1e-9);
    f = fopen(path, "w");
    fputs("import os\n", f);
    fclose(f);
    cr_assert_float_eq(file_deadline(path), CFH_PYTEST_FILE_DEADLINE, 1e-9);
    unlink(path);
}
