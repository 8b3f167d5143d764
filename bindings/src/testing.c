/* testing.c - cfuser._C._testing: test-only entry points into the shared
 * conversion routines (not part of the public API). */
#include "module.h"

#include "cfuser/alloc.h"

static PyObject *t_as_int64_list(PyObject *mod, PyObject *obj)
{
    int64_t buf[16], *heap = NULL;
    Py_ssize_t n = cfb_as_int64_array(obj, "define_tensor", "shape", buf, 16, &heap), i;
    const int64_t *src;
    PyObject *list;
    if (n < 0)
        return NULL;
    src = heap ? heap : buf;
    list = PyList_New(n);
    for (i = 0; list && i < n; i++) {
        PyObject *v = PyLong_FromLongLong(src[i]);
        if (!v) {
            Py_CLEAR(list);
            break;
        }
        PyList_SET_ITEM(list, i, v);
    }
    cfb_int64_array_free(buf, heap);
    return list;
}

static PyObject *shape_tuple(const int64_t *v, int n)
{
    PyObject *t = PyTuple_New(n);
    int i;
    for (i = 0; t && i < n; i++) {
        PyObject *x = PyLong_FromLongLong(v[i]);
        if (!x) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

static PyObject *t_import_tensor(PyObject *mod, PyObject *obj)
{
    cfb_state *st = cfb_state_of_module(mod);
    cf_tensor t;
    cfb_hold hold;
    cfb_framework fw;
    PyObject *shape, *strides, *res = NULL;
    memset(&hold, 0, sizeof hold);
    if (cfb_import_tensor(&st->dl, obj, "execute", 0, &t, &hold, &fw) < 0)
        return NULL;
    shape = shape_tuple(t.shape, t.ndim);
    strides = shape_tuple(t.strides, t.ndim);
    if (shape && strides)
        res = Py_BuildValue("(sOOiK)", cf_dtype_pyname(t.dtype), shape, strides, t.device,
                            (unsigned long long)(uintptr_t)t.data);
    Py_XDECREF(shape);
    Py_XDECREF(strides);
    cfb_hold_release(&hold);
    return res;
}

static PyObject *t_alloc_output(PyObject *mod, PyObject *args)
{
    cfb_state *st = cfb_state_of_module(mod);
    const char *fwname, *dtname;
    PyObject *shape;
    cf_tensor spec;
    cfb_framework fw;
    int64_t buf[CF_MAX_DIMS], *heap = NULL;
    Py_ssize_t n;
    void *data;
    int i;
    if (!PyArg_ParseTuple(args, "ssO:alloc_output", &fwname, &dtname, &shape))
        return NULL;
    fw = !strcmp(fwname, "numpy") ? CFB_FW_NUMPY : !strcmp(fwname, "torch") ? CFB_FW_TORCH
         : !strcmp(fwname, "other") ? CFB_FW_OTHER : CFB_FW_NONE;
    if (fw == CFB_FW_NONE)
        return PyErr_Format(PyExc_ValueError, "alloc_output(): unknown framework '%s'", fwname);
    memset(&spec, 0, sizeof spec);
    spec.dtype = CF_DTYPE_NULL;
    for (i = 0; i < CF_DTYPE_COUNT; i++)
        if (!strcmp(cf_dtype_pyname((cf_dtype)i), dtname))
            spec.dtype = (cf_dtype)i;
    if (spec.dtype == CF_DTYPE_NULL)
        return PyErr_Format(PyExc_ValueError, "alloc_output(): unknown dtype '%s'", dtname);
    n = cfb_as_int64_array(shape, "alloc_output", "shape", buf, CF_MAX_DIMS, &heap);
    if (n < 0)
        return NULL;
    if (heap) {
        cfb_int64_array_free(buf, heap);
        return PyErr_Format(PyExc_ValueError, "alloc_output(): too many dims");
    }
    spec.ndim = (int)n;
    spec.device = CF_DEVICE_CPU;
    memcpy(spec.shape, buf, sizeof(int64_t) * (size_t)n);
    return cfb_alloc_output(&st->dl, fw, &spec, &data);
}

/* Install core's allocator from a capsule named "cfuser.cf_allocator"
 * holding a cf_allocator* (core copies the struct), or restore the default
 * with None. Core's contract: only while no other core call is in flight. */
static PyObject *t_set_core_allocator(PyObject *mod, PyObject *obj)
{
    const cf_allocator *a;
    (void)mod;
    if (obj == Py_None) {
        cf_set_allocator(NULL);
        Py_RETURN_NONE;
    }
    if (!PyCapsule_CheckExact(obj))
        return PyErr_Format(PyExc_TypeError, "set_core_allocator() argument must be a capsule "
                            "'cfuser.cf_allocator' or None, not '%.100s'", Py_TYPE(obj)->tp_name);
    if (!PyCapsule_IsValid(obj, "cfuser.cf_allocator")) {
        const char *name = PyCapsule_GetName(obj);
        PyErr_Clear();
        return PyErr_Format(PyExc_ValueError, "set_core_allocator() expected a capsule named "
                            "'cfuser.cf_allocator', got '%.100s'", name ? name : "(null)");
    }
    a = (const cf_allocator *)PyCapsule_GetPointer(obj, "cfuser.cf_allocator");
    if (!a)
        return NULL;
    if (!a->malloc || !a->realloc || !a->free)
        return PyErr_Format(PyExc_ValueError, "set_core_allocator(): the cf_allocator lacks "
                            "malloc, realloc or free");
    cf_set_allocator(a);
    Py_RETURN_NONE;
}

static PyMethodDef testing_defs[] = {
    {"as_int64_list", (PyCFunction)t_as_int64_list, METH_O,
     "as_int64_list(obj, /)\n--\n\nConvert obj through the shared sequence routine (as define_tensor's 'shape')."},
    {"import_tensor", (PyCFunction)t_import_tensor, METH_O,
     "import_tensor(obj, /)\n--\n\nImport obj through DLPack: (dtype, shape, strides, device, data_ptr)."},
    {"alloc_output", (PyCFunction)t_alloc_output, METH_VARARGS,
     "alloc_output(framework, dtype, shape, /)\n--\n\nAllocate an output tensor as execute() does."},
    {"set_core_allocator", (PyCFunction)t_set_core_allocator, METH_O,
     "set_core_allocator(capsule, /)\n--\n\nInstall core's allocator from a capsule 'cfuser.cf_allocator' "
     "(a cf_allocator*); None restores the default."},
    {NULL, NULL, 0, NULL},
};

int cfb_init_testing(PyObject *m, cfb_state *st)
{
    PyObject *t = PyModule_New("cfuser._C._testing"), *name = PyUnicode_FromString("cfuser._C._testing");
    PyMethodDef *d;
    (void)st;
    if (!t || !name)
        goto fail;
    for (d = testing_defs; d->ml_name; d++) {
        PyObject *fn = PyCMethod_New(d, m, name, NULL);
        if (!fn || PyModule_AddObject(t, d->ml_name, fn) < 0) {
            Py_XDECREF(fn);
            goto fail;
        }
    }
    Py_DECREF(name);
    if (PyModule_AddObject(m, "_testing", t) < 0) {
        Py_DECREF(t);
        return -1;
    }
    return 0;
fail:
    Py_XDECREF(t);
    Py_XDECREF(name);
    return -1;
}
