/* failsweep.c - fail the n-th allocation of a call, for n = 1, 2, ... */
#include "internal.h"

#include <string.h>

/* After each failure point the interpreter must still work: allocate,
 * import, format. */
static const char g_check[] =
    "_l = [str(i) for i in range(100)]\n"
    "assert ''.join(_l).startswith('0123')\n"
    "import gc; gc.collect()\n";

int cfh_fail_sweep(const char *name, cfh_sweep *s)
{
    uint64_t max_n = s->max_n ? s->max_n : 100000;
    PyObject *f = cfh__lookup(name);
    if (f == NULL)
        return -1;
    memset(&s->points, 0, sizeof *s - offsetof(cfh_sweep, points));

    /* a clean call first: it must succeed, and says how long a sweep is */
    cfh_fail_arm(UINT64_MAX);
    PyObject *r = PyObject_CallNoArgs(f);
    s->allocs = cfh_fail_count();
    cfh_fail_disarm();
    if (r == NULL) {
        Py_DECREF(f);
        return cfh__fail_py(name);
    }
    Py_DECREF(r);

    for (uint64_t n = 1; n <= max_n; n++) {
        cfh_fail_arm(n);
        r = PyObject_CallNoArgs(f);
        int fired = cfh_fail_fired();
        cfh_fail_disarm();
        s->points++;
        if (r != NULL) {
            Py_DECREF(r);
            s->successes++;
        } else if (PyErr_ExceptionMatches(PyExc_MemoryError)) {
            s->memory_errors++;
            PyErr_Clear();
        } else {
            s->other_errors++;
            if (PyErr_ExceptionMatches(PyExc_SystemError))
                s->system_errors++;
            if (s->first_other[0] == '\0') {
                cfh__fail_py("");
                snprintf(s->first_other, sizeof s->first_other,
                         "at n=%llu: %s", (unsigned long long)n, cfh_error());
            } else {
                PyErr_Clear();
            }
        }
        if (r == NULL && !fired) {
            Py_DECREF(f);
            return cfh__fail("%s raised at n=%llu without an injected failure",
                             name, (unsigned long long)n);
        }
        if (cfh__collect() < 0 || cfh_run(g_check) < 0) {
            Py_DECREF(f);
            return cfh__fail("interpreter broken after failure point %llu of "
                             "%s:\n%s", (unsigned long long)n, name, cfh_error());
        }
        if (!fired)
            break; /* the call no longer reaches the n-th allocation */
    }
    Py_DECREF(f);
    return 0;
}
