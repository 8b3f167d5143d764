/* testing.c - cfuser._C._testing: test-only entry points into the shared
 * conversion routines (not part of the public API). */
#include "module.h"

#include "cfuser/alloc.h"
#include "dlpack_abi.h"
#ifdef CFUSER_WITH_CUDA
#include "cfuser/cuda.h"
#endif

static PyObject *t_as_int64_list(PyObject *mod, PyObject *obj)
{
    int64_t buf[16], *heap = NULL;
    Py_ssize_t n = cfb_as_int64_array(obj, "define_tensor", "shape", buf, 16, PY_SSIZE_T_MAX, &heap), i;
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

/* The DLPack exchange APIs obj's type publishes, as (major, minor) pairs
 * newest first (None when it publishes none), and whether execute() uses
 * the one torch's type publishes. */
static PyObject *t_exchange_api(PyObject *mod, PyObject *type)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *cap, *versions;
    const dl_exchange_api_header *h;
    if (!PyType_Check(type))
        return PyErr_Format(PyExc_TypeError, "exchange_api() argument must be a type");
    cap = PyObject_GetAttr(type, st->dl.str_c_exchange_api);
    if (!cap) {
        if (!PyErr_ExceptionMatches(PyExc_AttributeError))
            return NULL;
        PyErr_Clear();
        return Py_BuildValue("(OO)", Py_None, st->dl.torch_api ? Py_True : Py_False);
    }
    if (!PyCapsule_IsValid(cap, DL_CAPSULE_EXCHANGE_API)) {
        Py_DECREF(cap);
        return PyErr_Format(PyExc_ValueError, "exchange_api(): the attribute is not a '%s' capsule",
                            DL_CAPSULE_EXCHANGE_API);
    }
    versions = PyList_New(0);
    for (h = PyCapsule_GetPointer(cap, DL_CAPSULE_EXCHANGE_API); versions && h; h = h->prev_api) {
        PyObject *v = Py_BuildValue("(II)", h->version.major, h->version.minor);
        if (!v || PyList_Append(versions, v) < 0)
            Py_CLEAR(versions);
        Py_XDECREF(v);
    }
    Py_DECREF(cap);
    if (!versions)
        return NULL;
    return Py_BuildValue("(NO)", versions, st->dl.torch_api ? Py_True : Py_False);
}

/* The stream execute() would use on CUDA device `device` (torch's current
 * stream), as an int handle. */
static PyObject *t_current_stream(PyObject *mod, PyObject *arg)
{
    cfb_state *st = cfb_state_of_module(mod);
    void *stream = NULL;
    long device = PyLong_AsLong(arg);
    if (device == -1 && PyErr_Occurred())
        return NULL;
    if (device < 0 || device > INT16_MAX)
        return PyErr_Format(PyExc_ValueError, "current_stream(): bad device %ld", device);
    if (cfb_current_stream(&st->dl, (int)device, &stream) < 0)
        return NULL;
    return PyLong_FromVoidPtr(stream);
}

/* Wait (without the GIL) until the background compiler has installed every
 * full plan; no-op without the CUDA backend. */
static PyObject *t_cuda_wait_background(PyObject *mod, PyObject *unused)
{
#ifdef CFUSER_WITH_CUDA
    Py_BEGIN_ALLOW_THREADS
    cf_cuda_wait_background();
    Py_END_ALLOW_THREADS
#endif
    Py_RETURN_NONE;
}

/* The CUDA executor's counters (cfuser/cuda.h), or None in a build
 * without the CUDA backend. */
static PyObject *t_cuda_stats(PyObject *mod, PyObject *unused)
{
#ifdef CFUSER_WITH_CUDA
    cf_cuda_stats s;
    cf_cuda_stats_get(&s);
    return Py_BuildValue("{sKsKsKsKsKsKsKsKsKsKsK}", "nvrtc_open_ns", (unsigned long long)s.nvrtc_open_ns,
                         "plans_built", (unsigned long long)s.plans_built,
                         "plan_build_ns", (unsigned long long)s.plan_build_ns,
                         "compiles", (unsigned long long)s.compiles,
                         "compile_ns", (unsigned long long)s.compile_ns,
                         "disk_hits", (unsigned long long)s.disk_hits,
                         "module_loads", (unsigned long long)s.module_loads,
                         "module_load_ns", (unsigned long long)s.module_load_ns,
                         "quick_plans", (unsigned long long)s.quick_plans,
                         "tier_swaps", (unsigned long long)s.tier_swaps,
                         "tier_failures", (unsigned long long)s.tier_failures);
#else
    Py_RETURN_NONE;
#endif
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
    int i, device = CF_DEVICE_CPU;
    if (!PyArg_ParseTuple(args, "ssO|i:alloc_output", &fwname, &dtname, &shape, &device))
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
    n = cfb_as_int64_array(shape, "alloc_output", "shape", buf, CF_MAX_DIMS, CF_MAX_DIMS, &heap);
    if (n == -2)
        return PyErr_Format(PyExc_ValueError, "alloc_output(): too many dims");
    if (n < 0)
        return NULL;
    cfb_int64_array_free(buf, heap);
    spec.ndim = (int)n;
    spec.device = device;
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
     "alloc_output(framework, dtype, shape, device=-1, /)\n--\n\nAllocate an output tensor as execute() does "
     "(device -1: the CPU, k: CUDA device k)."},
    {"current_stream", (PyCFunction)t_current_stream, METH_O,
     "current_stream(device, /)\n--\n\nThe CUDA stream execute() would use on that device (torch's current "
     "stream), as an int."},
    {"cuda_wait_background", (PyCFunction)t_cuda_wait_background, METH_NOARGS,
     "cuda_wait_background($module, /)\n--\n\nWait until every new fusion's full kernels replaced its quick ones."},
    {"cuda_stats", (PyCFunction)t_cuda_stats, METH_NOARGS,
     "cuda_stats($module, /)\n--\n\nThe CUDA executor's counters of one-time costs (a dict), None without CUDA."},
    {"exchange_api", (PyCFunction)t_exchange_api, METH_O,
     "exchange_api(type, /)\n--\n\n(versions, in_use): the DLPack exchange APIs type publishes, newest first "
     "(None if none), and whether execute() uses torch's."},
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
