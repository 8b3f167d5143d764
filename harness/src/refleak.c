/* refleak.c - the leak loop of regrtest -R, on live blocks, references
 * and file descriptors. */
#include "internal.h"

#include <dirent.h>
#include <string.h>
#include <time.h>

long cfh_open_fds(void)
{
    DIR *d = opendir("/proc/self/fd");
    if (d == NULL)
        return -1;
    long n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL)
        if (e->d_name[0] != '.')
            n++;
    closedir(d);
    return n - 1; /* the directory's own descriptor */
}

int cfh__collect(void)
{
    /* the method cache holds types; clear it as regrtest does */
    PyType_ClearCache();
    for (int i = 0; i < 3; i++) {
        PyObject *gc = PyImport_ImportModule("gc");
        PyObject *r = gc ? PyObject_CallMethod(gc, "collect", "") : NULL;
        Py_XDECREF(gc);
        if (r == NULL)
            return cfh__fail_py("gc.collect");
        Py_DECREF(r);
    }
    return 0;
}

/* getattr(o, name, None) that tells a missing attribute (0, *out NULL)
 * from a failing lookup (-1); PyObject_GetOptionalAttr is 3.13's. */
static int optional_attr(PyObject *o, const char *name, PyObject **out)
{
    *out = PyObject_GetAttrString(o, name);
    if (*out != NULL)
        return 1;
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
        return -1;
    PyErr_Clear();
    return 0;
}

/* sys.gettotalrefcount() where the interpreter has it (debug builds). */
static int total_refs(long long *out)
{
    PyObject *f = PySys_GetObject("gettotalrefcount"); /* borrowed */
    if (f == NULL)
        return 0;
    PyObject *r = PyObject_CallNoArgs(f);
    if (r == NULL) {
        PyErr_Clear();
        return 0;
    }
    *out = PyLong_AsLongLong(r);
    Py_DECREF(r);
    return 1;
}

static int all_positive(const long long *d, int n)
{
    if (n == 0)
        return 0;
    for (int i = 0; i < n; i++)
        if (d[i] <= 0)
            return 0;
    return 1;
}

int cfh_refleak_run(const char *name, cfh_refleak *r)
{
    struct timespec t0, t1;
    long long prev_blocks = 0, prev_refs = 0, refs = 0;
    long prev_fds = 0;
    if (r->warmups < 1) r->warmups = 1;
    if (r->repeats < 1) r->repeats = 1;
    if (r->repeats > CFH_REFLEAK_MAX) r->repeats = CFH_REFLEAK_MAX;
    PyObject *f = cfh__lookup(name);
    if (f == NULL)
        return -1;
    int foreign = 0;
    PyObject *mark = NULL;
    if (optional_attr(f, "foreign_refcounts", &mark) < 0
        || (mark != NULL && (foreign = PyObject_IsTrue(mark)) < 0)) {
        Py_XDECREF(mark);
        Py_DECREF(f);
        return cfh__fail_py("foreign_refcounts");
    }
    Py_XDECREF(mark);
    clock_gettime(CLOCK_MONOTONIC, &t0);
    for (int i = 0; i < r->warmups + r->repeats; i++) {
        PyObject *res = PyObject_CallNoArgs(f);
        if (res == NULL) {
            Py_DECREF(f);
            return cfh__fail_py(name);
        }
        Py_DECREF(res);
        if (cfh__collect() < 0) {
            Py_DECREF(f);
            return -1;
        }
        long long blocks = cfh_live_blocks();
        long fds = cfh_open_fds();
        r->has_refs = total_refs(&refs);
        if (i >= r->warmups) {
            int k = i - r->warmups;
            r->blocks[k] = blocks - prev_blocks;
            r->fds[k] = fds - prev_fds;
            r->refs[k] = r->has_refs ? refs - prev_refs : 0;
        }
        prev_blocks = blocks;
        prev_fds = fds;
        prev_refs = refs;
    }
    Py_DECREF(f);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    r->seconds = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) * 1e-9;
    r->leaked_blocks = all_positive(r->blocks, r->repeats);
    r->leaked_fds = all_positive(r->fds, r->repeats);
    r->refs_judged = r->has_refs && !foreign;
    r->leaked_refs = r->refs_judged && all_positive(r->refs, r->repeats);
    return 0;
}

int cfh_refleak_leaked(const cfh_refleak *r)
{
    return r->leaked_blocks || r->leaked_fds || r->leaked_refs;
}

static size_t put_deltas(char *buf, size_t cap, const char *label,
                         const long long *d, int n)
{
    size_t len = (size_t)snprintf(buf, cap, " %s [", label);
    for (int i = 0; i < n && len < cap; i++)
        len += (size_t)snprintf(buf + len, cap - len, "%s%lld", i ? ", " : "", d[i]);
    if (len < cap)
        len += (size_t)snprintf(buf + len, cap - len, "]");
    return len < cap ? len : cap - 1;
}

const char *cfh_refleak_describe(const cfh_refleak *r)
{
    static char buf[2048];
    size_t len = (size_t)snprintf(buf, sizeof buf, "%s: %d warm-ups, %d runs, %.2f s;",
                                  cfh_refleak_leaked(r) ? "LEAK" : "clean",
                                  r->warmups, r->repeats, r->seconds);
    len += put_deltas(buf + len, sizeof buf - len, "blocks", r->blocks, r->repeats);
    len += put_deltas(buf + len, sizeof buf - len, "fds", r->fds, r->repeats);
    if (r->has_refs)
        put_deltas(buf + len, sizeof buf - len, r->refs_judged ? "refs" : "refs (not judged: foreign_refcounts)",
                   r->refs, r->repeats);
    return buf;
}
