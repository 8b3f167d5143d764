/* cycles.c - a module's lifecycle across interpreters: n rounds of
 * Py_InitializeFromConfig, running a piece of code (import the module,
 * build something with it), and Py_FinalizeEx, in one process.
 *
 * After the code of each round, while the interpreter is up, it reads the
 * live pymalloc blocks (sys.getallocatedblocks()) and, in a debug
 * interpreter, the total reference count (sys.gettotalrefcount()); after
 * each Py_FinalizeEx the process's resident set (/proc/self/statm). The
 * package dir is on sys.path as after cfh_init. Leaks
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
    st = cfh__isolated_config(&cfg);
    if (PyStatus_Exception(st)) goto fail;
    st = Py_InitializeFromConfig(&cfg);
    if (PyStatus_Exception(st)) goto fail;
    PyConfig_Clear(&cfg);
    if (cfh__prepend_path(cfh__default_pythonpath()) < 0) { /* the package, as cfh_init has it */
        fprintf(stderr, "cycles: %s\n", cfh_error());
        Py_FinalizeEx();
        return -1;
    }
    return 0;
fail:
    PyConfig_Clear(&cfg);
    fprintf(stderr, "cycles: Py_InitializeFromConfig: %s\n", st.err_msg ? st.err_msg : "failed");
    return -1;
}

/* One round; blocks and refs are read before finalising, RSS after. Returns
 * 0, or -1 with the reason printed (the code raised, or finalising failed). */
static int round_of(const char *code, int i, long long *blocks, long long *refs, long long *rss)
{
    if (up() < 0)
        return -1;
    if (PyRun_SimpleString(code) != 0) {
        fprintf(stderr, "cycles: round %d: the code raised (traceback above)\n", i);
        Py_FinalizeEx();
        return -1;
    }
    *blocks = sys_call("getallocatedblocks");
    *refs = sys_call("gettotalrefcount");
    if (Py_FinalizeEx() < 0) {
        fprintf(stderr, "cycles: round %d: Py_FinalizeEx failed\n", i);
        return -1;
    }
    *rss = rss_kib();
    return 0;
}

/* Least-squares slope of ys over the sampled rounds after the first tenth;
 * 0 when fewer than three samples qualify or a value is missing. */
static double slope(const cfh_cycles_result *r, const long long *ys)
{
    double sx = 0, sy = 0, sxx = 0, sxy = 0;
    int m = 0, skip = r->cycles / 10 > 1 ? r->cycles / 10 : 1;
    for (int i = 0; i < r->samples; i++) {
        if (r->at[i] <= skip || ys[i] < 0)
            continue;
        double x = r->at[i], y = (double)ys[i];
        sx += x; sy += y; sxx += x * x; sxy += x * y;
        m++;
    }
    double den = m * sxx - sx * sx;
    return m >= 3 && den > 0 ? (m * sxy - sx * sy) / den : 0.0;
}

int cfh_cycles(int n, const char *code, cfh_cycles_result *r)
{
    int every = n / 20 > 0 ? n / 20 : 1;
    struct timespec t0, t1;
    PyPreConfig pre;
    memset(r, 0, sizeof *r);
    r->cycles = n;
    PyPreConfig_InitIsolatedConfig(&pre);
    pre.utf8_mode = 1;
    PyStatus st = Py_PreInitialize(&pre);
    if (PyStatus_Exception(st)) {
        fprintf(stderr, "cycles: Py_PreInitialize: %s\n", st.err_msg ? st.err_msg : "failed");
        return -1;
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 1; i <= n; i++) {
        long long blocks, refs, rss;
        if (round_of(code, i, &blocks, &refs, &rss) < 0)
            break;
        r->completed = i;
        if ((i == 1 || i % every == 0 || i == n) && r->samples < CFH_CYCLES_SAMPLES) {
            int k = r->samples++;
            r->at[k] = i;
            r->blocks[k] = blocks;
            r->refs[k] = refs;
            r->rss_kib[k] = rss;
        }
    }
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    r->blocks_per_round = slope(r, r->blocks);
    r->refs_per_round = slope(r, r->refs);
    r->rss_kib_per_round = slope(r, r->rss_kib);
    return r->completed == n ? 0 : -1;
}

static void print_series(const char *name, const long long *v, int n)
{
    printf(", \"%s\": [", name);
    for (int i = 0; i < n; i++)
        printf("%s%lld", i ? ", " : "", v[i]);
    printf("]");
}

/* cfharness cycles N CODE */
int cfh_cycles_main(int n, const char *code)
{
    static cfh_cycles_result r;
    int rc = cfh_cycles(n, code, &r);
    printf("{\"cycles\": %d, \"completed\": %d, \"seconds\": %.3f, \"at\": [", r.cycles, r.completed, r.seconds);
    for (int i = 0; i < r.samples; i++)
        printf("%s%d", i ? ", " : "", r.at[i]);
    printf("]");
    print_series("blocks", r.blocks, r.samples);
    print_series("refs", r.refs, r.samples);
    print_series("rss_kib", r.rss_kib, r.samples);
    printf(", \"per_round\": {\"blocks\": %.3f, \"refs\": %.3f, \"rss_kib\": %.3f}}\n",
           r.blocks_per_round, r.refs_per_round, r.rss_kib_per_round);
    fflush(stdout);
    return rc == 0 ? 0 : 1;
}
