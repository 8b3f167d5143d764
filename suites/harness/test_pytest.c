/* The module's own pytest files (suites/python/test_*.py), each run by
 * pytest.main inside the embedded, instrumented interpreter. */
#include "cfh_test.h"

#include <criterion/parameterized.h>
#include <glob.h>
#include <string.h>

TestSuite(pytest, .timeout = CFH_SUITE_TIMEOUT);

static void run_pytest_file(const char *path)
{
    int code = -1;
    cfh_test_init();
    cr_assert_eq(cfh_pytest(path, "-p no:randomly", &code), 0, "%s", cfh_error());
    cr_assert_eq(code, 0, "pytest %s exited with %d (output above)", path, code);
    cfh_test_fini();
}

/* One parameter per file: the list is taken when Criterion enumerates. */
ParameterizedTestParameters(pytest, file)
{
    static char paths[64][512];
    static const char *ptrs[64];
    glob_t g;
    size_t n = 0;
    if (glob(CFH_PYTHON_SUITES "/test_*.py", 0, NULL, &g) == 0) {
        for (size_t i = 0; i < g.gl_pathc && n < 64; i++, n++) {
            snprintf(paths[n], sizeof paths[n], "%s", g.gl_pathv[i]);
            ptrs[n] = paths[n];
        }
        globfree(&g);
    }
    return cr_make_param_array(const char *, ptrs, n);
}

ParameterizedTest(const char **path, pytest, file)
{
    fprintf(stderr, "pytest %s\n", *path);
    run_pytest_file(*path);
}
