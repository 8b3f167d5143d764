/* pymod.c - _cfharness, the harness seen from Python.
 *
 * Built into the embedding executable (PyImport_AppendInittab), so test
 * snippets can arm the failing allocator around one call, read the live
 * block counter, get core's allocator hook as a capsule, and build crafted
 * DLPack producers (dlpack_craft.c).
 */
#include "internal.h"

static PyObject *m_fail_arm(PyObject *self, PyObject *arg)
{
    unsigned long long n = PyLong_AsUnsignedLongLong(arg);
    if (n == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    cfh_fail_arm(n);
    Py_RETURN_NONE;
}

static PyObject *m_fail_disarm(PyObject *self, PyObject *unused)
{
    cfh_fail_disarm();
    Py_RETURN_NONE;
}

/* call_failing(n, f, *args): f(*args) with the n-th allocation inside the
 * call failing; returns (fired, result) or raises what f raised (with the
 * allocator disarmed before Python sees the exception). */
static PyObject *m_call_failing(PyObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    if (nargs < 2) {
        PyErr_SetString(PyExc_TypeError, "call_failing(n, f, *args)");
        return NULL;
    }
    unsigned long long n = PyLong_AsUnsignedLongLong(args[0]);
    if (n == (unsigned long long)-1 && PyErr_Occurred())
        return NULL;
    PyObject *tuple = PyTuple_New(nargs - 2);
    if (tuple == NULL)
        return NULL;
    for (Py_ssize_t i = 2; i < nargs; i++) {
        Py_INCREF(args[i]);
        PyTuple_SET_ITEM(tuple, i - 2, args[i]);
    }
    cfh_fail_arm(n);
    PyObject *r = PyObject_Call(args[1], tuple, NULL);
    cfh_fail_disarm();
    Py_DECREF(tuple);
    if (r == NULL)
        return NULL;
    return Py_BuildValue("(NN)", PyBool_FromLong(cfh_fail_fired()), r);
}

static PyObject *m_fail_count(PyObject *self, PyObject *unused)
{
    return PyLong_FromUnsignedLongLong(cfh_fail_count());
}

static PyObject *m_fail_fired(PyObject *self, PyObject *unused)
{
    return PyBool_FromLong(cfh_fail_fired());
}

static PyObject *m_live_blocks(PyObject *self, PyObject *unused)
{
    return PyLong_FromLongLong(cfh_live_blocks());
}

static PyObject *m_open_fds(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(cfh_open_fds());
}

static PyObject *m_scale(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(cfh__scale());
}

static PyObject *m_instrumented(PyObject *self, PyObject *unused)
{
    return PyLong_FromLong(cfh_instrumented());
}

/* leak_ref(obj): one reference to obj that is never released, allocating
 * nothing: only sys.gettotalrefcount() (a debug interpreter) can see it. */
static PyObject *m_leak_ref(PyObject *self, PyObject *obj)
{
    Py_INCREF(obj);
    Py_RETURN_NONE;
}

static PyObject *m_core_allocator(PyObject *self, PyObject *unused)
{
    return PyCapsule_New((void *)cfh_core_allocator(), "cfuser.cf_allocator", NULL);
}

static PyMethodDef methods[] = {
    {"fail_arm", m_fail_arm, METH_O,
     "fail_arm($module, n, /)\n--\n\nThe n-th allocation from now fails (0: never)."},
    {"fail_disarm", m_fail_disarm, METH_NOARGS, "fail_disarm($module, /)\n--\n\n"},
    {"call_failing", (PyCFunction)(void (*)(void))m_call_failing, METH_FASTCALL,
     "call_failing(n, f, *args)\n--\n\nf(*args) with its n-th allocation failing; "
     "returns (fired, result)."},
    {"fail_count", m_fail_count, METH_NOARGS,
     "fail_count($module, /)\n--\n\nAllocations since the last arm."},
    {"fail_fired", m_fail_fired, METH_NOARGS, "fail_fired($module, /)\n--\n\n"},
    {"live_blocks", m_live_blocks, METH_NOARGS,
     "live_blocks($module, /)\n--\n\nLive blocks of every domain and core's hook."},
    {"open_fds", m_open_fds, METH_NOARGS, "open_fds($module, /)\n--\n\n"},
    {"scale", m_scale, METH_NOARGS,
     "scale($module, /)\n--\n\nIteration multiplier (CFUSER_HARNESS_SCALE)."},
    {"instrumented", m_instrumented, METH_NOARGS,
     "instrumented($module, /)\n--\n\n1 under ASan, 2 under valgrind, else 0."},
    {"leak_ref", m_leak_ref, METH_O,
     "leak_ref($module, obj, /)\n--\n\nTake a reference to obj and never release it (refleak self-test)."},
    {"core_allocator", m_core_allocator, METH_NOARGS,
     "core_allocator($module, /)\n--\n\nCapsule 'cfuser.cf_allocator' with core's hook."},
    {NULL, NULL, 0, NULL},
};

static int exec_module(PyObject *m)
{
    if (PyModule_AddIntConstant(m, "DEADLOCK_EXIT", CFH_EXIT_DEADLOCK) < 0)
        return -1;
    return cfh__dlpack_add(m);
}

static PyModuleDef_Slot slots[] = {
    {Py_mod_exec, exec_module},
    {0, NULL},
};

static struct PyModuleDef moddef = {
    PyModuleDef_HEAD_INIT, "_cfharness",
    "The embedding harness: failing allocator, counters, DLPack producers.",
    0, methods, slots, NULL, NULL, NULL,
};

PyObject *cfh__pymod_init(void) { return PyModuleDef_Init(&moddef); }
