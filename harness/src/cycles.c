/* cycles.c - a module's lifecycle across interpreters: n rounds of
 * Py_InitializeFromConfig, running a piece of code (import the module,
 * build something with it), and Py_FinalizeEx, in one process.
 *
 * After the code of each round, while the interpreter is up, it reads the
 * live pymalloc blocks (sys.getallocatedblocks()) and, in a debug
 * interpreter, the total reference count (sys.gettotalrefcount()); after
 * each Py_FinalizeEx the process's resident set (/proc/self/statm). Leaks
 * across rounds show as growth of these at the same point of each round,
 * and are judged against the same loop running other code (the caller runs
 * both). The result is one JSON object on stdout.
 */
#include "internal.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#ifndef CFH_PYTHON_HOME
#define CFH_PYTHON_HOME ""
#endif
#ifndef CFH_PYTHON_EXECUTABLE
#define CFH_PYTHON_EXECUTABLE ""
#endif

typedef struct sample {
    long long blocks, refs, rss_kib;
} sample;

static long long rss_kib(void)
{
    long long pages_total = 0, pages_rss = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    if (f == NULL)
        return -1;
    if (fscanf(f, "%lld %lld", &pages_total, &pages_rss) != 2)
        pages_rss = -1;
    fclose(f);
    return pages_rss < 0 ? -1 : pages_rss * (sysconf(_SC_PAGESIZE) / 1024);
}

static long long sys_call(const char *name)
{
    PyObject *fn = PySys_GetObject(name); /* borrowed */
    if (fn == NULL)
        return -1;
    PyObject *r = PyObject_CallNoArgs(fn);
    long long v = r ? PyLong_AsLongLong(r) : -1;
    Py_XDECREF(r);
    PyErr_Clear();
    return v;
}

static int up(void)
{
    PyConfig cfg;
    PyStatus st;
    PyConfig_InitIsolatedConfig(&cfg);
    if (CFH_PYTHON_HOME[0] != '\0') {
        st = PyConfig_SetBytesString(&cfg, &cfg.home, CFH_PYTHON_HOME);
        if (PyStatus_Exception(st)) goto fail;
    }
    if (CFH_PYTHON_EXECUTABLE[0] != '\0') {
        st = PyConfig_SetBytesString(&cfg, &cfg.executable, CFH_PYTHON_EXECUTABLE);
        if (PyStatus_Exception(st)) goto fail;
    }
    st = Py_InitializeFromConfig(&cfg);
    if (PyStatus_Exception(st)) goto fail;
    PyConfig_Clear(&cfg);
    return 0;
fail:
    PyConfig_Clear(&cfg);
    fprintf(stderr, "cycles: Py_InitializeFromConfig: %s\n", st.err_msg ? st.err_msg : "failed");
    return -1;
}

/* One round; the sample is taken before finalising. Returns 0, or -1 with
 * the reason printed (the code raised, or finalising failed). */
static int round_of(const char *code, int i, sample *s)
{
    if (up() < 0)
        return -1;
    if (PyRun_SimpleString(code) != 0) {
        fprintf(stderr, "cycles: round %d: the code raised (traceback above)\n", i);
        Py_FinalizeEx();
        return -1;
    }
    s->blocks = sys_call("getallocatedblocks");
    s->refs = sys_call("gettotalrefcount");
    if (Py_FinalizeEx() < 0) {
        fprintf(stderr, "cycles: round %d: Py_FinalizeEx failed\n", i);
        return -1;
    }
    s->rss_kib = rss_kib();
    return 0;
}

static void print_series(const char *name, const sample *s, int n, size_t off)
{
    printf("\"%s\": [", name);
    for (int i = 0; i < n; i++)
        printf("%s%lld", i ? ", " : "", *(const long long *)((const char *)&s[i] + off));
    printf("]");
}

/* cfharness cycles N CODE: n rounds, a sample every max(1, n / 20) rounds
 * (and the last). Exit status 0 when every round ran. */
int cfh_cycles_main(int n, const char *code)
{
    enum { MAX_SAMPLES = 64 };
    sample samples[MAX_SAMPLES];
    int at[MAX_SAMPLES], k = 0, done = 0, every = n / 20 > 0 ? n / 20 : 1;
    struct timespec t0, t1;
    PyPreConfig pre;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.utf8_mode = 1;
    PyStatus st = Py_PreInitialize(&pre);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "cycles: Py_PreInitialize: %s\n", st.err_msg ? st.err_msg : "failed");
        return 1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 1; i <= n; i++) {
        sample s;
        if (round_of(code, i, &s) < 0)
            break;
        done = i;
        if ((i == 1 || i % every == 0 || i == n) && k < MAX_SAMPLES) {
            samples[k] = s;
            at[k++] = i;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    printf("{\"cycles\": %d, \"completed\": %d, \"seconds\": %.3f, \"at\": [", n, done,
           (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9);
    for (int i = 0; i < k; i++)
        printf("%s%d", i ? ", " : "", at[i]);
    printf("], ");
    print_series("blocks", samples, k, offsetof(sample, blocks));
    printf(", ");
    print_series("refs", samples, k, offsetof(sample, refs));
    printf(", ");
    print_series("rss_kib", samples, k, offsetof(sample, rss_kib));
    printf("}\n");
    fflush(stdout);
    return done == n ? 0 : 1;
}
