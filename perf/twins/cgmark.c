/* cgmark.c - callgrind client requests for the instruction-count benchmarks.
 *
 * perf/callgrind_driver.py brackets each measured loop with zero() and
 * dump(name), so one valgrind run yields one dump per call shape and the
 * interpreter's start-up never enters a figure. Outside valgrind the
 * requests are a few no-op instructions.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>
#include <valgrind/callgrind.h>

static PyObject *
cgmark_zero(PyObject *module, PyObject *unused)
{
    CALLGRIND_ZERO_STATS;
    Py_RETURN_NONE;
}

static PyObject *
cgmark_dump(PyObject *module, PyObject *name)
{
    const char *s = PyUnicode_AsUTF8(name);
    if (s == NULL)
        return NULL;
    CALLGRIND_DUMP_STATS_AT(s);
    Py_RETURN_NONE;
}

static PyObject *
cgmark_on_valgrind(PyObject *module, PyObject *unused)
{
    return PyBool_FromLong(RUNNING_ON_VALGRIND);
}

static PyMethodDef cgmark_methods[] = {
    {"zero", cgmark_zero, METH_NOARGS,
     "zero($module, /)\n--\n\nReset callgrind's counters."},
    {"dump", cgmark_dump, METH_O,
     "dump($module, name, /)\n--\n\nWrite callgrind's counters since zero() as a dump named name."},
    {"on_valgrind", cgmark_on_valgrind, METH_NOARGS,
     "on_valgrind($module, /)\n--\n\nTrue when running under valgrind."},
    {NULL, NULL, 0, NULL},
};

static PyModuleDef_Slot cgmark_slots[] = {
    {0, NULL},
};

static struct PyModuleDef cgmark_module = {
    PyModuleDef_HEAD_INIT,
    .m_name = "_cgmark",
    .m_doc = "Callgrind markers for cfuser's instruction-count benchmarks.",
    .m_size = 0,
    .m_methods = cgmark_methods,
    .m_slots = cgmark_slots,
};

PyMODINIT_FUNC
PyInit__cgmark(void)
{
    return PyModuleDef_Init(&cgmark_module);
}
