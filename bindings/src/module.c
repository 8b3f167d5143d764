/* module.c - the cfuser._C module: multi-phase init (PEP 489), module state
 * (PEP 630), the error hierarchy and the DataType enum. */
#include <stdarg.h>

#include "module.h"

static struct PyModuleDef cfb_moduledef;

cfb_state *cfb_state_of_module(PyObject *m) { return (cfb_state *)PyModule_GetState(m); }

cfb_state *cfb_state_of_type(PyTypeObject *tp)
{
    PyObject *m = PyType_GetModuleByDef(tp, &cfb_moduledef);
    return m ? (cfb_state *)PyModule_GetState(m) : NULL;
}

cfb_state *cfb_state_of_obj(PyObject *o) { return cfb_state_of_type(Py_TYPE(o)); }

/* --- errors ---------------------------------------------------------------- */
PyObject *cfb_raise(cfb_state *st, cf_status s)
{
    const cf_error *e = cf_error_last();
    PyObject *tp = (s > 0 && (int)s < CFB_ERR_COUNT && st->errors[s]) ? st->errors[s] : st->Error;
    PyErr_SetString(tp, e->message[0] ? e->message : cf_status_name(s));
    return NULL;
}

PyObject *cfb_raise_fmt(cfb_state *st, cf_status s, const char *fmt, ...)
{
    PyObject *tp = (s > 0 && (int)s < CFB_ERR_COUNT && st->errors[s]) ? st->errors[s] : st->Error;
    va_list ap;
    va_start(ap, fmt);
    PyErr_FormatV(tp, fmt, ap);
    va_end(ap);
    return NULL;
}

static int add_error(PyObject *m, cfb_state *st, cf_status s, const char *name, PyObject *builtin,
                     const char *doc)
{
    char qual[96];
    PyObject *bases, *cls;
    snprintf(qual, sizeof qual, "cfuser.%s", name);
    bases = builtin ? PyTuple_Pack(2, st->Error, builtin) : PyTuple_Pack(1, st->Error);
    if (!bases)
        return -1;
    cls = PyErr_NewExceptionWithDoc(qual, doc, bases, NULL);
    Py_DECREF(bases);
    if (!cls)
        return -1;
    if (PyModule_AddObjectRef(m, name, cls) < 0) {
        Py_DECREF(cls);
        return -1;
    }
    st->errors[s] = cls;
    return 0;
}

int cfb_init_errors(PyObject *m, cfb_state *st)
{
    st->Error = PyErr_NewExceptionWithDoc("cfuser.Error",
        "Base of every error cfuser raises; also a RuntimeError.", PyExc_RuntimeError, NULL);
    if (!st->Error || PyModule_AddObjectRef(m, "Error", st->Error) < 0)
        return -1;
    if (add_error(m, st, CF_ERR_VALUE, "InvalidArgumentError", PyExc_ValueError, "An argument has a bad value (also a ValueError).") ||
        add_error(m, st, CF_ERR_TYPE, "InvalidTypeError", PyExc_TypeError, "An argument has the wrong kind or dtype (also a TypeError).") ||
        add_error(m, st, CF_ERR_INDEX, "OutOfRangeError", PyExc_IndexError, "A dim or index is out of range (also an IndexError).") ||
        add_error(m, st, CF_ERR_NOMEM, "OutOfMemoryError", PyExc_MemoryError, "An allocation failed (also a MemoryError).") ||
        add_error(m, st, CF_ERR_OVERFLOW, "SizeOverflowError", PyExc_OverflowError, "A size computation overflowed (also an OverflowError).") ||
        add_error(m, st, CF_ERR_UNSUPPORTED, "UnsupportedError", NULL, "A valid request that cfuser does not support yet.") ||
        add_error(m, st, CF_ERR_DEVICE, "DeviceError", NULL, "A device is missing or a device call failed.") ||
        add_error(m, st, CF_ERR_RUNTIME, "ExecutionError", NULL, "Compiling or running a fusion failed."))
        return -1;
    {
        int i;
        for (i = 0; i < CFB_ERR_COUNT; i++)
            st->dl.error_types[i] = Py_XNewRef(st->errors[i]);
    }
    return 0;
}

/* --- DataType ----------------------------------------------------------------- */
int cfb_init_enums(PyObject *m, cfb_state *st)
{
    PyObject *enum_mod = NULL, *members = NULL, *cls = NULL, *kw = NULL;
    int i, rc = -1;
    enum_mod = PyImport_ImportModule("enum");
    members = PyList_New(0);
    if (!enum_mod || !members)
        goto done;
    for (i = 0; i < CF_DTYPE_COUNT; i++) {
        PyObject *pair = Py_BuildValue("(si)", cf_dtype_pyname((cf_dtype)i), i);
        if (!pair || PyList_Append(members, pair) < 0) {
            Py_XDECREF(pair);
            goto done;
        }
        Py_DECREF(pair);
    }
    kw = Py_BuildValue("{s:s}", "module", "cfuser");
    if (!kw)
        goto done;
    {
        PyObject *enum_cls = PyObject_GetAttrString(enum_mod, "Enum"), *args;
        if (!enum_cls)
            goto done;
        args = Py_BuildValue("(sO)", "DataType", members);
        cls = args ? PyObject_Call(enum_cls, args, kw) : NULL;
        Py_XDECREF(args);
        Py_DECREF(enum_cls);
    }
    if (!cls)
        goto done;
    {
        PyObject *doc = PyUnicode_FromString(
            "Element types of tensors and scalars (nvFuser's names). Float, Double, Half, "
            "BFloat16, Int (int64), Int32 and Bool are supported; the others are named so that "
            "using them gives a clear 'not supported yet' error.");
        if (!doc || PyObject_SetAttrString(cls, "__doc__", doc) < 0)
            PyErr_Clear();
        Py_XDECREF(doc);
    }
    for (i = 0; i < CF_DTYPE_COUNT; i++) {
        st->dtype_members[i] = PyObject_GetAttrString(cls, cf_dtype_pyname((cf_dtype)i));
        if (!st->dtype_members[i])
            goto done;
    }
    st->DataType = Py_NewRef(cls);
    if (PyModule_AddObjectRef(m, "DataType", cls) < 0)
        goto done;
    rc = 0;
done:
    Py_XDECREF(enum_mod);
    Py_XDECREF(members);
    Py_XDECREF(cls);
    Py_XDECREF(kw);
    return rc;
}

int cfb_dtype(cfb_state *st, PyObject *o, const char *fname, const char *argname, cf_dtype *out)
{
    int i;
    for (i = 0; i < CF_DTYPE_COUNT; i++)
        if (o == st->dtype_members[i]) {
            *out = (cf_dtype)i;
            return 0;
        }
    PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be a cfuser.DataType, not '%.100s'", fname, argname,
                 Py_TYPE(o)->tp_name);
    return -1;
}

PyObject *cfb_dtype_obj(cfb_state *st, cf_dtype t)
{
    if ((int)t < 0 || t >= CF_DTYPE_COUNT)
        Py_RETURN_NONE;
    return Py_NewRef(st->dtype_members[t]);
}

/* --- the module -------------------------------------------------------------- */
static int cfb_exec(PyObject *m)
{
    cfb_state *st = cfb_state_of_module(m);
    if (PyThread_tss_create(&st->active) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "cfuser: cannot create thread-local storage");
        return -1;
    }
    st->active_ok = 1;
    if (PyModule_AddStringConstant(m, "__version__", CFUSER_VERSION) < 0)
        return -1;
    if (cfb_init_errors(m, st) || cfb_init_enums(m, st) || cfb_init_types(m, st) ||
        cfb_dlpack_state_init(m, &st->dl) || cfb_init_ops(m, st) || cfb_init_testing(m, st) ||
        cfb_init_nvrtc_paths(m))
        return -1;
    return 0;
}

static int cfb_traverse(PyObject *m, visitproc visit, void *arg)
{
    cfb_state *st = cfb_state_of_module(m);
    int i;
    Py_VISIT(st->ActiveStack);
    Py_VISIT(st->Fusion);
    Py_VISIT(st->FusionGuard);
    Py_VISIT(st->Val);
    Py_VISIT(st->TensorView);
    Py_VISIT(st->Scalar);
    Py_VISIT(st->Expr);
    Py_VISIT(st->IterDomain);
    Py_VISIT(st->TensorDomain);
    Py_VISIT(st->FusionExecutorCache);
    Py_VISIT(st->Error);
    Py_VISIT(st->DataType);
    for (i = 0; i < CFB_ERR_COUNT; i++)
        Py_VISIT(st->errors[i]);
    for (i = 0; i < CF_DTYPE_COUNT; i++)
        Py_VISIT(st->dtype_members[i]);
    return cfb_dlpack_state_traverse(&st->dl, visit, arg);
}

static int cfb_clear(PyObject *m)
{
    cfb_state *st = cfb_state_of_module(m);
    int i;
    Py_CLEAR(st->ActiveStack);
    Py_CLEAR(st->Fusion);
    Py_CLEAR(st->FusionGuard);
    Py_CLEAR(st->Val);
    Py_CLEAR(st->TensorView);
    Py_CLEAR(st->Scalar);
    Py_CLEAR(st->Expr);
    Py_CLEAR(st->IterDomain);
    Py_CLEAR(st->TensorDomain);
    Py_CLEAR(st->FusionExecutorCache);
    Py_CLEAR(st->Error);
    Py_CLEAR(st->DataType);
    for (i = 0; i < CFB_ERR_COUNT; i++)
        Py_CLEAR(st->errors[i]);
    for (i = 0; i < CF_DTYPE_COUNT; i++)
        Py_CLEAR(st->dtype_members[i]);
    cfb_dlpack_state_clear(&st->dl);
    return 0;
}

static void cfb_free(void *m)
{
    cfb_state *st = cfb_state_of_module((PyObject *)m);
    cfb_clear((PyObject *)m);
    if (st->active_ok) {
        PyThread_tss_delete(&st->active);
        st->active_ok = 0;
    }
}

static PyModuleDef_Slot cfb_slots[] = {
    {Py_mod_exec, cfb_exec},
#ifdef Py_mod_multiple_interpreters
    /* Subinterpreters that share the main interpreter's lock: every state
     * is per module (suites/conformance's subinterpreter row runs a fusion
     * in one). Not a lock per interpreter: core's CUDA context, kernel
     * cache and engine threads are per process. */
    {Py_mod_multiple_interpreters, Py_MOD_MULTIPLE_INTERPRETERS_SUPPORTED},
#endif
    {0, NULL},
};

static struct PyModuleDef cfb_moduledef = {
    PyModuleDef_HEAD_INIT,
    .m_name = "cfuser._C",
    .m_doc = "cfuser's C extension: the fusion IR, ops and executors (use the cfuser package).",
    .m_size = sizeof(cfb_state),
    .m_methods = cfb_module_functions,
    .m_slots = cfb_slots,
    .m_traverse = cfb_traverse,
    .m_clear = cfb_clear,
    .m_free = cfb_free,
};

PyMODINIT_FUNC PyInit__C(void);
PyMODINIT_FUNC PyInit__C(void) { return PyModuleDef_Init(&cfb_moduledef); }
