/* dlpack.c - tensors in and out through DLPack.
 *
 * Import, fastest first:
 *   1. the type publishes DLPack's C exchange API (torch >= 2.10): borrow a
 *      DLTensor view with one C call and keep a reference to the object;
 *   2. obj.__dlpack__(max_version=(1, 0)): a versioned capsule we consume
 *      ("dltensor_versioned" -> "used_dltensor_versioned") and whose
 *      deleter we call exactly once on release;
 *   3. a producer without max_version: the legacy capsule ("dltensor").
 * Outputs are created by the caller's framework: torch through the exchange
 * API's allocator (torch.empty without it), numpy through numpy.empty.
 *
 * numpy and torch are never imported here for inputs: their types are
 * picked up from sys.modules once a tensor shows that they are loaded.
 */
#include "convert.h"

#include <stdbool.h>
#include <string.h>

#include "dlpack_abi.h"

/* --- errors -------------------------------------------------------------- */

static PyObject *error_type(const cfb_dlpack_state *st, cf_status kind)
{
    if ((size_t)kind < sizeof st->error_types / sizeof st->error_types[0] &&
        st->error_types[kind])
        return st->error_types[kind];
    switch (kind) {
    case CF_ERR_TYPE: return PyExc_TypeError;
    case CF_ERR_INDEX: return PyExc_IndexError;
    case CF_ERR_NOMEM: return PyExc_MemoryError;
    case CF_ERR_OVERFLOW: return PyExc_OverflowError;
    case CF_ERR_UNSUPPORTED: return PyExc_NotImplementedError;
    case CF_ERR_RUNTIME:
    case CF_ERR_DEVICE: return PyExc_RuntimeError;
    default: return PyExc_ValueError;
    }
}

static void set_error(const cfb_dlpack_state *st, cf_status kind,
                      const char *fmt, ...)
{
    va_list va;

    va_start(va, fmt);
    PyErr_FormatV(error_type(st, kind), fmt, va);
    va_end(va);
}

static PyObject *take_exception(void)
{
#if PY_VERSION_HEX >= 0x030C0000
    return PyErr_GetRaisedException();
#else
    PyObject *type, *value, *tb;

    PyErr_Fetch(&type, &value, &tb);
    if (!type)
        return NULL;
    PyErr_NormalizeException(&type, &value, &tb);
    if (tb && value)
        PyException_SetTraceback(value, tb);
    Py_XDECREF(type);
    Py_XDECREF(tb);
    return value;
#endif
}

static void restore_exception(PyObject *exc)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyErr_SetRaisedException(exc);
#else
    if (exc)
        PyErr_Restore(Py_NewRef((PyObject *)Py_TYPE(exc)), exc,
                      PyException_GetTraceback(exc));
#endif
}

/* Raise a cfuser error whose __cause__ is the exception now set (the
 * producer's). The message ends with the cause's type and text. */
static void chain_error(const cfb_dlpack_state *st, cf_status kind,
                        const char *fmt, ...)
{
    PyObject *cause = take_exception(), *msg = NULL, *exc = NULL;
    va_list va;

    va_start(va, fmt);
    msg = PyUnicode_FromFormatV(fmt, va);
    va_end(va);
    if (!msg)
        goto fail;
    if (cause) {
        PyObject *full = PyUnicode_FromFormat("%U (%s: %S)", msg,
                                              Py_TYPE(cause)->tp_name, cause);
        if (!full) {
            PyErr_Clear();
        } else {
            Py_SETREF(msg, full);
        }
    }
    exc = PyObject_CallOneArg(error_type(st, kind), msg);
    if (!exc)
        goto fail;
    if (cause)
        PyException_SetCause(exc, Py_NewRef(cause));
    PyErr_SetObject((PyObject *)Py_TYPE(exc), exc);
    Py_DECREF(exc);
    Py_DECREF(msg);
    Py_XDECREF(cause);
    return;
fail:
    Py_XDECREF(msg);
    if (cause) {
        PyErr_Clear();
        restore_exception(cause);
    }
}

/* --- state ----------------------------------------------------------------- */

int cfb_dlpack_state_init(PyObject *module, cfb_dlpack_state *st)
{
    (void)module;
    st->str_dlpack = PyUnicode_InternFromString("__dlpack__");
    st->str_dlpack_device = PyUnicode_InternFromString("__dlpack_device__");
    st->str_c_exchange_api =
        PyUnicode_InternFromString("__dlpack_c_exchange_api__");
    st->str_cpu = PyUnicode_InternFromString("cpu");
    st->str_is_neg = PyUnicode_InternFromString("is_neg");
    st->str_resolve_neg = PyUnicode_InternFromString("resolve_neg");
    st->kwnames_max_version = Py_BuildValue("(s)", "max_version");
    st->max_version = Py_BuildValue("(ii)", (int)DL_MAJOR_VERSION, 0);
    st->kwnames_dtype_device = Py_BuildValue("(ss)", "dtype", "device");
    if (!st->str_dlpack || !st->str_dlpack_device || !st->str_c_exchange_api ||
        !st->str_cpu || !st->str_is_neg || !st->str_resolve_neg || !st->kwnames_max_version || !st->max_version ||
        !st->kwnames_dtype_device)
        return -1;
    return 0;
}

#define CFB_STATE_OBJECTS(X)                                                  \
    X(torch_tensor_type) X(torch_api_capsule) X(numpy_ndarray_type)           \
    X(numpy_from_dlpack) X(torch_from_dlpack) X(str_dlpack)                   \
    X(str_dlpack_device) X(exporter_type) X(str_c_exchange_api)               \
    X(kwnames_max_version) X(max_version) X(kwnames_dtype_device) X(str_cpu)  \
    X(numpy_empty) X(torch_empty) X(str_is_neg) X(str_resolve_neg)

int cfb_dlpack_state_traverse(cfb_dlpack_state *st, visitproc visit, void *arg)
{
    size_t i;

#define CFB_VISIT(f) Py_VISIT(st->f);
    CFB_STATE_OBJECTS(CFB_VISIT)
#undef CFB_VISIT
    for (i = 0; i < sizeof st->error_types / sizeof st->error_types[0]; i++)
        Py_VISIT(st->error_types[i]);
    for (i = 0; i < CF_DTYPE_COUNT; i++) {
        Py_VISIT(st->numpy_dtypes[i]);
        Py_VISIT(st->torch_dtypes[i]);
    }
    return 0;
}

void cfb_dlpack_state_clear(cfb_dlpack_state *st)
{
    size_t i;

#define CFB_CLEAR(f) Py_CLEAR(st->f);
    CFB_STATE_OBJECTS(CFB_CLEAR)
#undef CFB_CLEAR
    for (i = 0; i < sizeof st->error_types / sizeof st->error_types[0]; i++)
        Py_CLEAR(st->error_types[i]);
    for (i = 0; i < CF_DTYPE_COUNT; i++) {
        Py_CLEAR(st->numpy_dtypes[i]);
        Py_CLEAR(st->torch_dtypes[i]);
    }
    st->torch_api = NULL;
}

/* --- framework discovery ---------------------------------------------------- */

/* sys.modules[name] (borrowed) or NULL without an exception. */
static PyObject *loaded_module(const char *name)
{
    PyObject *modules = PySys_GetObject("modules");
    PyObject *m;

    if (!modules || !PyDict_Check(modules))
        return NULL;
    m = PyDict_GetItemString(modules, name);
    return m && PyModule_Check(m) ? m : NULL;
}

/* The usable exchange API in an attribute value, or NULL: the capsule name
 * must match and some API in the chain must be 1.x with x >= 3. */
static const dl_exchange_api *exchange_api_from(PyObject *capsule)
{
    const dl_exchange_api_header *h;

    if (!capsule || !PyCapsule_IsValid(capsule, DL_CAPSULE_EXCHANGE_API))
        return NULL;
    h = PyCapsule_GetPointer(capsule, DL_CAPSULE_EXCHANGE_API);
    for (; h; h = h->prev_api) {
        if (h->version.major == DL_MAJOR_VERSION &&
            h->version.minor >= DL_EXCHANGE_API_MIN_MINOR)
            return (const dl_exchange_api *)h;
    }
    return NULL;
}

/* type(obj).__dlpack_c_exchange_api__ as a new reference, or NULL (absent,
 * no exception). -1 on a real error. */
static int lookup_exchange_capsule(cfb_dlpack_state *st, PyTypeObject *type,
                                   PyObject **capsule)
{
    *capsule = PyObject_GetAttr((PyObject *)type, st->str_c_exchange_api);
    if (*capsule)
        return 0;
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
        return -1;
    PyErr_Clear();
    return 0;
}

/* Fill the torch/numpy caches once their modules are in sys.modules. */
static int discover_frameworks(cfb_dlpack_state *st)
{
    PyObject *m;

    if (!st->torch_tensor_type && (m = loaded_module("torch")) != NULL) {
        PyObject *t = PyObject_GetAttrString(m, "Tensor");
        PyObject *cap = NULL;

        if (!t) {
            /* torch is still importing: look again next time. */
            PyErr_Clear();
        } else if (!PyType_Check(t)) {
            Py_DECREF(t);
        } else {
            if (lookup_exchange_capsule(st, (PyTypeObject *)t, &cap) < 0) {
                Py_DECREF(t);
                return -1;
            }
            st->torch_api = exchange_api_from(cap);
            if (st->torch_api)
                st->torch_api_capsule = cap;
            else
                Py_XDECREF(cap);
            st->torch_tensor_type = t;
        }
    }
    if (!st->numpy_ndarray_type && (m = loaded_module("numpy")) != NULL) {
        PyObject *t = PyObject_GetAttrString(m, "ndarray");

        if (!t)
            PyErr_Clear();
        else if (!PyType_Check(t))
            Py_DECREF(t);
        else
            st->numpy_ndarray_type = t;
    }
    return 0;
}

/* --- DLTensor -> cf_tensor ------------------------------------------------ */

static const char *device_type_name(int32_t t)
{
    switch (t) {
    case DL_CPU: return "cpu";
    case DL_CUDA: return "cuda";
    case DL_CUDA_HOST: return "cuda_host";
    case 4: return "opencl";
    case 7: return "vulkan";
    case 8: return "metal";
    case 10: return "rocm";
    case 11: return "rocm_host";
    case DL_CUDA_MANAGED: return "cuda_managed";
    case 14: return "oneapi";
    default: return "unknown";
    }
}

/* cf_tensor.device for a DLDevice; 0 ok, -1 error set. */
static int map_device(cfb_dlpack_state *st, dl_device d, const char *fname,
                      Py_ssize_t argpos, int *out)
{
    switch (d.device_type) {
    case DL_CPU:
    case DL_CUDA_HOST:
        *out = CF_DEVICE_CPU;
        return 0;
    case DL_CUDA:
    case DL_CUDA_MANAGED:
        if (d.device_id < 0) {
            set_error(st, CF_ERR_VALUE,
                      "%s() input %zd: malformed DLPack tensor: CUDA device "
                      "id %d",
                      fname, argpos, (int)d.device_id);
            return -1;
        }
        *out = d.device_id;
        return 0;
    default:
        set_error(st, CF_ERR_UNSUPPORTED,
                  "%s() input %zd: tensors on device type %d (%s) are not "
                  "supported; cfuser takes CPU and CUDA tensors",
                  fname, argpos, (int)d.device_type,
                  device_type_name(d.device_type));
        return -1;
    }
}

static void dtype_name(dl_dtype t, char *buf, size_t size)
{
    static const char *const fixed[] = {
        [DL_FLOAT8_E3M4] = "float8_e3m4",
        [DL_FLOAT8_E4M3] = "float8_e4m3",
        [DL_FLOAT8_E4M3B11FNUZ] = "float8_e4m3b11fnuz",
        [DL_FLOAT8_E4M3FN] = "float8_e4m3fn",
        [DL_FLOAT8_E4M3FNUZ] = "float8_e4m3fnuz",
        [DL_FLOAT8_E5M2] = "float8_e5m2",
        [DL_FLOAT8_E5M2FNUZ] = "float8_e5m2fnuz",
        [DL_FLOAT8_E8M0FNU] = "float8_e8m0fnu",
        [DL_FLOAT6_E2M3FN] = "float6_e2m3fn",
        [DL_FLOAT6_E3M2FN] = "float6_e3m2fn",
        [DL_FLOAT4_E2M1FN] = "float4_e2m1fn",
    };
    const char *base;
    int n;

    switch (t.code) {
    case DL_INT: base = "int"; break;
    case DL_UINT: base = "uint"; break;
    case DL_FLOAT: base = "float"; break;
    case DL_BFLOAT: base = "bfloat"; break;
    case DL_COMPLEX: base = "complex"; break;
    case DL_OPAQUE_HANDLE: base = "opaque"; break;
    case DL_BOOL: base = "bool"; break;
    default: base = NULL;
    }
    if (base)
        n = PyOS_snprintf(buf, size, "%s%u", base, (unsigned)t.bits);
    else if (t.code < sizeof fixed / sizeof fixed[0] && fixed[t.code])
        n = PyOS_snprintf(buf, size, "%s", fixed[t.code]);
    else
        n = PyOS_snprintf(buf, size, "code %u with %u bits", (unsigned)t.code,
                          (unsigned)t.bits);
    if (t.lanes != 1 && n > 0 && (size_t)n < size)
        PyOS_snprintf(buf + n, size - (size_t)n, " x%u lanes",
                      (unsigned)t.lanes);
}

static int map_dtype(dl_dtype t, cf_dtype *out)
{
    if (t.lanes != 1)
        return -1;
    switch (t.code) {
    case DL_FLOAT:
        if (t.bits == 16) *out = CF_DTYPE_HALF;
        else if (t.bits == 32) *out = CF_DTYPE_FLOAT;
        else if (t.bits == 64) *out = CF_DTYPE_DOUBLE;
        else return -1;
        return 0;
    case DL_BFLOAT:
        if (t.bits != 16) return -1;
        *out = CF_DTYPE_BFLOAT16;
        return 0;
    case DL_INT:
        if (t.bits == 32) *out = CF_DTYPE_INT32;
        else if (t.bits == 64) *out = CF_DTYPE_INT;
        else return -1;
        return 0;
    case DL_BOOL:
        if (t.bits != 8) return -1;
        *out = CF_DTYPE_BOOL;
        return 0;
    default:
        return -1;
    }
}

static size_t dtype_size(cf_dtype t)
{
    switch (t) {
    case CF_DTYPE_DOUBLE:
    case CF_DTYPE_INT: return 8;
    case CF_DTYPE_FLOAT:
    case CF_DTYPE_INT32: return 4;
    case CF_DTYPE_HALF:
    case CF_DTYPE_BFLOAT16: return 2;
    default: return 1;
    }
}

/* Validate a DLTensor and describe it as a cf_tensor. */
static int fill_tensor(cfb_dlpack_state *st, const dl_tensor *t,
                       const char *fname, Py_ssize_t argpos, cf_tensor *out)
{
    int64_t numel = 1, span = 0, bytes;
    size_t itemsize;
    uintptr_t addr;
    char name[64];
    int i;

    if (t->ndim < 0 || (t->ndim > 0 && !t->shape)) {
        set_error(st, CF_ERR_VALUE,
                  "%s() input %zd: malformed DLPack tensor: ndim %d with "
                  "%s shape",
                  fname, argpos, (int)t->ndim, t->shape ? "a" : "a NULL");
        return -1;
    }
    if (t->ndim > CF_MAX_DIMS) {
        set_error(st, CF_ERR_VALUE,
                  "%s() input %zd: tensor of rank %d; cfuser supports rank 0 "
                  "to %d",
                  fname, argpos, (int)t->ndim, CF_MAX_DIMS);
        return -1;
    }
    if (map_dtype(t->dtype, &out->dtype) < 0) {
        dtype_name(t->dtype, name, sizeof name);
        set_error(st, CF_ERR_TYPE,
                  "%s() input %zd: unsupported dtype %s; supported: float16, "
                  "bfloat16, float32, float64, int32, int64, bool",
                  fname, argpos, name);
        return -1;
    }
    if (map_device(st, t->device, fname, argpos, &out->device) < 0)
        return -1;
    itemsize = dtype_size(out->dtype);
    out->ndim = t->ndim;
    for (i = 0; i < t->ndim; i++) {
        if (t->shape[i] < 0) {
            set_error(st, CF_ERR_VALUE,
                      "%s() input %zd: malformed DLPack tensor: size %lld "
                      "in dim %d",
                      fname, argpos, (long long)t->shape[i], i);
            return -1;
        }
        out->shape[i] = t->shape[i];
        if (numel != 0 && __builtin_mul_overflow(numel, t->shape[i], &numel))
            goto overflow;
        if (t->shape[i] == 0)
            numel = 0;
    }
    if (t->strides) {
        for (i = 0; i < t->ndim; i++)
            out->strides[i] = t->strides[i];
    } else {
        int64_t s = 1;
        for (i = t->ndim - 1; i >= 0; i--) {
            out->strides[i] = s;
            if (t->shape[i] > 1 && __builtin_mul_overflow(s, t->shape[i], &s))
                s = INT64_MAX; /* only reached when numel is 0 */
        }
    }
    /* Every element's byte offset must be representable. */
    if (numel > 0) {
        for (i = 0; i < t->ndim; i++) {
            int64_t reach, st_abs;
            if (out->strides[i] == INT64_MIN)
                goto overflow;
            st_abs = out->strides[i] < 0 ? -out->strides[i] : out->strides[i];
            if (__builtin_mul_overflow(t->shape[i] - 1, st_abs, &reach) ||
                __builtin_add_overflow(span, reach, &span))
                goto overflow;
        }
        if (__builtin_mul_overflow(span + 1, (int64_t)itemsize, &bytes))
            goto overflow;
        if (!t->data) {
            set_error(st, CF_ERR_VALUE,
                      "%s() input %zd: malformed DLPack tensor: NULL data "
                      "for %lld elements",
                      fname, argpos, (long long)numel);
            return -1;
        }
    }
    addr = (uintptr_t)t->data;
    if (t->byte_offset > (uint64_t)(UINTPTR_MAX - addr)) {
        set_error(st, CF_ERR_VALUE,
                  "%s() input %zd: malformed DLPack tensor: byte_offset %llu "
                  "overflows the data pointer",
                  fname, argpos, (unsigned long long)t->byte_offset);
        return -1;
    }
    addr += (uintptr_t)t->byte_offset;
    if (addr % itemsize != 0) {
        dtype_name(t->dtype, name, sizeof name);
        set_error(st, CF_ERR_VALUE,
                  "%s() input %zd: data at %p (byte_offset %llu) is not "
                  "aligned for %s",
                  fname, argpos, (void *)addr,
                  (unsigned long long)t->byte_offset, name);
        return -1;
    }
    out->data = (void *)addr;
    return 0;
overflow:
    set_error(st, CF_ERR_OVERFLOW,
              "%s() input %zd: the tensor's shape and strides address more "
              "bytes than int64 can hold",
              fname, argpos);
    return -1;
}

/* --- import ---------------------------------------------------------------- */

void cfb_hold_release(cfb_hold *hold)
{
    PyObject *exc;
    void *managed = hold->managed;
    PyObject *owner = hold->owner;

    if (!managed && !owner)
        return;
    hold->managed = NULL;
    hold->owner = NULL;
    /* A deleter may run Python code: keep a pending exception intact. */
    exc = take_exception();
    if (managed) {
        /* Producers' deleters take the lock with PyGILState_Ensure (numpy's
         * does). In a subinterpreter that call finds this thread's state of
         * the main interpreter and waits forever for the lock this thread
         * holds, so there the deleter runs with the lock released. */
        int sub = PyThreadState_GetInterpreter(PyThreadState_Get()) != PyInterpreterState_Main();
        PyThreadState *ts = sub ? PyEval_SaveThread() : NULL;
        if (hold->versioned) {
            dl_managed_tensor_versioned *m = managed;
            if (m->deleter)
                m->deleter(m);
        } else {
            dl_managed_tensor *m = managed;
            if (m->deleter)
                m->deleter(m);
        }
        if (ts)
            PyEval_RestoreThread(ts);
    }
    Py_XDECREF(owner);
    if (exc) {
        restore_exception(exc);
    }
}

/* Borrow through the exchange API. */
static int import_borrowed(cfb_dlpack_state *st, const dl_exchange_api *api,
                           PyObject *obj, const char *fname,
                           Py_ssize_t argpos, cf_tensor *out, cfb_hold *hold)
{
    dl_tensor t;

    memset(&t, 0, sizeof t);
    if (api->dltensor_from_py_object_no_sync(obj, &t) != 0) {
        if (!PyErr_Occurred())
            PyErr_SetString(PyExc_RuntimeError, "no exception was set");
        chain_error(st, CF_ERR_VALUE,
                    "%s() input %zd: '%.200s' could not export the tensor "
                    "through DLPack",
                    fname, argpos, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (fill_tensor(st, &t, fname, argpos, out) < 0)
        return -1;
    hold->owner = Py_NewRef(obj);
    return 0;
}

/* Parse __dlpack_device__() when the object has it. 1 = got it, 0 = absent. */
static int query_device(cfb_dlpack_state *st, PyObject *obj,
                        const char *fname, Py_ssize_t argpos, dl_device *dev)
{
    PyObject *args[1] = {obj};
    PyObject *r;
    long type, id;

    r = PyObject_VectorcallMethod(st->str_dlpack_device, args,
                                  1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
    if (!r) {
        if (PyErr_ExceptionMatches(PyExc_AttributeError)) {
            PyErr_Clear();
            return 0;
        }
        chain_error(st, CF_ERR_VALUE,
                    "%s() input %zd: __dlpack_device__() of '%.200s' failed",
                    fname, argpos, Py_TYPE(obj)->tp_name);
        return -1;
    }
    if (!PyTuple_Check(r) || PyTuple_GET_SIZE(r) != 2)
        goto bad;
    type = PyLong_AsLong(PyTuple_GET_ITEM(r, 0));
    if (type == -1 && PyErr_Occurred())
        goto bad;
    id = PyLong_AsLong(PyTuple_GET_ITEM(r, 1));
    if (id == -1 && PyErr_Occurred())
        goto bad;
    if (type < INT32_MIN || type > INT32_MAX || id < INT32_MIN ||
        id > INT32_MAX)
        goto bad;
    Py_DECREF(r);
    dev->device_type = (int32_t)type;
    dev->device_id = (int32_t)id;
    return 1;
bad:
    PyErr_Clear();
    Py_DECREF(r);
    set_error(st, CF_ERR_VALUE,
              "%s() input %zd: __dlpack_device__() of '%.200s' must return "
              "a tuple (device_type, device_id) of two ints",
              fname, argpos, Py_TYPE(obj)->tp_name);
    return -1;
}

/* obj.__dlpack__(max_version=(1, 0)), or obj.__dlpack__() for producers
 * that predate max_version (they raise TypeError for the keyword). */
static PyObject *call_dlpack(cfb_dlpack_state *st, PyObject *obj,
                             const char *fname, Py_ssize_t argpos)
{
    PyObject *args[2] = {obj, st->max_version};
    PyObject *cap;

    cap = PyObject_VectorcallMethod(st->str_dlpack, args,
                                    1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                    st->kwnames_max_version);
    if (!cap && PyErr_ExceptionMatches(PyExc_TypeError)) {
        PyErr_Clear();
        cap = PyObject_VectorcallMethod(st->str_dlpack, args,
                                        1 | PY_VECTORCALL_ARGUMENTS_OFFSET,
                                        NULL);
    }
    if (cap)
        return cap;
    if (PyErr_ExceptionMatches(PyExc_MemoryError))
        return NULL; /* out of memory is not the producer's fault */
    if (PyErr_ExceptionMatches(PyExc_AttributeError) &&
        !PyObject_HasAttr(obj, st->str_dlpack)) {
        PyErr_Clear();
        set_error(st, CF_ERR_TYPE,
                  "%s() input %zd: expected a tensor (an object with "
                  "__dlpack__, such as a torch.Tensor or numpy.ndarray), "
                  "got '%.200s'",
                  fname, argpos, Py_TYPE(obj)->tp_name);
        return NULL;
    }
    chain_error(st, CF_ERR_VALUE,
                "%s() input %zd: __dlpack__() of '%.200s' failed", fname,
                argpos, Py_TYPE(obj)->tp_name);
    return NULL;
}

/* Take ownership of the capsule's tensor; *t points into it. */
static int consume_capsule(cfb_dlpack_state *st, PyObject *cap,
                           PyObject *obj, const char *fname,
                           Py_ssize_t argpos, cfb_hold *hold,
                           const dl_tensor **t)
{
    if (PyCapsule_IsValid(cap, DL_CAPSULE_VERSIONED)) {
        dl_managed_tensor_versioned *m =
            PyCapsule_GetPointer(cap, DL_CAPSULE_VERSIONED);
        if (PyCapsule_SetName(cap, DL_CAPSULE_VERSIONED_USED) < 0)
            return -1;
        hold->managed = m;
        hold->versioned = 1;
        if (m->version.major != DL_MAJOR_VERSION) {
            set_error(st, CF_ERR_VALUE,
                      "%s() input %zd: '%.200s' exported DLPack %u.%u; "
                      "cfuser reads major version %u",
                      fname, argpos, Py_TYPE(obj)->tp_name,
                      (unsigned)m->version.major, (unsigned)m->version.minor,
                      DL_MAJOR_VERSION);
            return -1;
        }
        *t = &m->dl_tensor;
        return 0;
    }
    if (PyCapsule_IsValid(cap, DL_CAPSULE_LEGACY)) {
        dl_managed_tensor *m = PyCapsule_GetPointer(cap, DL_CAPSULE_LEGACY);
        if (PyCapsule_SetName(cap, DL_CAPSULE_LEGACY_USED) < 0)
            return -1;
        hold->managed = m;
        hold->versioned = 0;
        *t = &m->dl_tensor;
        return 0;
    }
    if (PyCapsule_CheckExact(cap)) {
        const char *name = PyCapsule_GetName(cap);
        set_error(st, CF_ERR_VALUE,
                  "%s() input %zd: __dlpack__() of '%.200s' returned a "
                  "capsule named '%.100s'; expected 'dltensor_versioned' or "
                  "'dltensor' (a capsule can be consumed only once)",
                  fname, argpos, Py_TYPE(obj)->tp_name,
                  name ? name : "(null)");
    } else {
        set_error(st, CF_ERR_VALUE,
                  "%s() input %zd: __dlpack__() of '%.200s' returned "
                  "'%.200s', not a DLPack capsule",
                  fname, argpos, Py_TYPE(obj)->tp_name,
                  Py_TYPE(cap)->tp_name);
    }
    return -1;
}

static int import_capsule(cfb_dlpack_state *st, PyObject *obj,
                          const char *fname, Py_ssize_t argpos,
                          bool ask_device, cf_tensor *out, cfb_hold *hold)
{
    dl_device dev = {0, 0};
    const dl_tensor *t = NULL;
    PyObject *cap;
    int have_dev = 0, rc;

    if (ask_device) {
        int dummy;
        have_dev = query_device(st, obj, fname, argpos, &dev);
        if (have_dev < 0)
            return -1;
        if (have_dev && map_device(st, dev, fname, argpos, &dummy) < 0)
            return -1;
    }
    cap = call_dlpack(st, obj, fname, argpos);
    if (!cap)
        return -1;
    rc = consume_capsule(st, cap, obj, fname, argpos, hold, &t);
    Py_DECREF(cap);
    if (rc < 0)
        goto fail;
    if (fill_tensor(st, t, fname, argpos, out) < 0)
        goto fail;
    if (have_dev && (t->device.device_type != dev.device_type ||
                     t->device.device_id != dev.device_id)) {
        set_error(st, CF_ERR_VALUE,
                  "%s() input %zd: '%.200s' reports device (%d, %d) in "
                  "__dlpack_device__() but exported a tensor on (%d, %d)",
                  fname, argpos, Py_TYPE(obj)->tp_name,
                  (int)dev.device_type, (int)dev.device_id,
                  (int)t->device.device_type, (int)t->device.device_id);
        goto fail;
    }
    return 0;
fail:
    cfb_hold_release(hold);
    return -1;
}

int cfb_import_tensor(cfb_dlpack_state *st, PyObject *obj, const char *fname,
                      Py_ssize_t argpos, cf_tensor *out, cfb_hold *hold,
                      cfb_framework *fw)
{
    PyTypeObject *type = Py_TYPE(obj);
    const dl_exchange_api *api = NULL;
    PyObject *cap = NULL;
    int rc;

    hold->managed = NULL;
    hold->versioned = 0;
    hold->owner = NULL;
    *fw = CFB_FW_NONE;
    if (!fname)
        fname = "?";

    if ((PyObject *)type == st->torch_tensor_type) {
        *fw = CFB_FW_TORCH;
        api = st->torch_api;
        goto dispatch;
    }
    if ((PyObject *)type == st->numpy_ndarray_type) {
        *fw = CFB_FW_NUMPY;
        return import_capsule(st, obj, fname, argpos, false, out, hold);
    }
    if ((!st->torch_tensor_type || !st->numpy_ndarray_type) &&
        discover_frameworks(st) < 0)
        return -1;
    if (st->torch_tensor_type &&
        PyObject_TypeCheck(obj, (PyTypeObject *)st->torch_tensor_type))
        *fw = CFB_FW_TORCH;
    else if (st->numpy_ndarray_type &&
             PyObject_TypeCheck(obj, (PyTypeObject *)st->numpy_ndarray_type))
        *fw = CFB_FW_NUMPY;
    else
        *fw = CFB_FW_OTHER;
    if (*fw == CFB_FW_TORCH && (PyObject *)type == st->torch_tensor_type) {
        api = st->torch_api;
    } else {
        /* A subclass, or another framework: its type's own attribute. */
        if (lookup_exchange_capsule(st, type, &cap) < 0)
            return -1;
        api = cap == st->torch_api_capsule && cap ? st->torch_api
                                                 : exchange_api_from(cap);
        Py_XDECREF(cap);
    }
dispatch:
    if (*fw == CFB_FW_TORCH) {
        /* torch's lazily negated views (t.conj().imag, torch._neg_view)
         * export their memory without the negation, through either DLPack
         * path: read them as torch would, resolved. (The conjugate bit is
         * only on complex tensors, which no path here accepts.) */
        PyObject *neg = PyObject_VectorcallMethod(st->str_is_neg, &obj, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
        int is_neg = neg ? PyObject_IsTrue(neg) : -1;
        Py_XDECREF(neg);
        if (is_neg < 0)
            return -1;
        if (is_neg) {
            PyObject *resolved = PyObject_VectorcallMethod(st->str_resolve_neg, &obj, 1 | PY_VECTORCALL_ARGUMENTS_OFFSET, NULL);
            if (!resolved)
                return -1;
            /* the hold keeps what the import needs of it */
            rc = api && api->dltensor_from_py_object_no_sync
                     ? import_borrowed(st, api, resolved, fname, argpos, out, hold)
                     : import_capsule(st, resolved, fname, argpos, false, out, hold);
            Py_DECREF(resolved);
            return rc;
        }
    }
    if (api && api->dltensor_from_py_object_no_sync)
        return import_borrowed(st, api, obj, fname, argpos, out, hold);
    rc = import_capsule(st, obj, fname, argpos, *fw == CFB_FW_OTHER, out,
                        hold);
    return rc;
}

/* --- outputs --------------------------------------------------------------- */

static PyObject *shape_tuple(const cf_tensor *spec)
{
    PyObject *t = PyTuple_New(spec->ndim);
    int i;

    if (!t)
        return NULL;
    for (i = 0; i < spec->ndim; i++) {
        PyObject *v = PyLong_FromLongLong(spec->shape[i]);
        if (!v) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, v);
    }
    return t;
}

static const dl_dtype dl_dtypes[CF_DTYPE_COUNT] = {
    [CF_DTYPE_DOUBLE] = {DL_FLOAT, 64, 1},  [CF_DTYPE_FLOAT] = {DL_FLOAT, 32, 1},
    [CF_DTYPE_HALF] = {DL_FLOAT, 16, 1},    [CF_DTYPE_BFLOAT16] = {DL_BFLOAT, 16, 1},
    [CF_DTYPE_INT] = {DL_INT, 64, 1},       [CF_DTYPE_INT32] = {DL_INT, 32, 1},
    [CF_DTYPE_BOOL] = {DL_BOOL, 8, 1},
};

static int check_spec(cfb_dlpack_state *st, const cf_tensor *spec)
{
    int64_t n = (int64_t)dtype_size(spec->dtype);
    int i;

    if ((unsigned)spec->dtype >= CF_DTYPE_COUNT ||
        !dl_dtypes[spec->dtype].bits) {
        set_error(st, CF_ERR_UNSUPPORTED,
                  "output: dtype %d is not supported yet", (int)spec->dtype);
        return -1;
    }
    if (spec->ndim < 0 || spec->ndim > CF_MAX_DIMS) {
        set_error(st, CF_ERR_VALUE, "output: rank %d; cfuser supports 0 to %d",
                  spec->ndim, CF_MAX_DIMS);
        return -1;
    }
    for (i = 0; i < spec->ndim; i++) {
        if (spec->shape[i] < 0) {
            set_error(st, CF_ERR_VALUE, "output: size %lld in dim %d",
                      (long long)spec->shape[i], i);
            return -1;
        }
        if (n != 0 && __builtin_mul_overflow(n, spec->shape[i], &n)) {
            set_error(st, CF_ERR_OVERFLOW,
                      "output: %d-d shape whose byte size overflows int64",
                      spec->ndim);
            return -1;
        }
    }
    return 0;
}

static const char *const numpy_dtype_names[CF_DTYPE_COUNT] = {
    [CF_DTYPE_DOUBLE] = "float64", [CF_DTYPE_FLOAT] = "float32",
    [CF_DTYPE_HALF] = "float16",   [CF_DTYPE_INT] = "int64",
    [CF_DTYPE_INT32] = "int32",    [CF_DTYPE_BOOL] = "bool",
};

static const char *const torch_dtype_names[CF_DTYPE_COUNT] = {
    [CF_DTYPE_DOUBLE] = "float64", [CF_DTYPE_FLOAT] = "float32",
    [CF_DTYPE_HALF] = "float16",   [CF_DTYPE_BFLOAT16] = "bfloat16",
    [CF_DTYPE_INT] = "int64",      [CF_DTYPE_INT32] = "int32",
    [CF_DTYPE_BOOL] = "bool",
};


static PyObject *framework_module(const char *name)
{
    PyObject *m = loaded_module(name);
    return m ? Py_NewRef(m) : PyImport_ImportModule(name);
}

/* What an allocator handed back must be exactly the tensor asked for:
 * numpy.empty and torch.empty are looked up as attributes, so a patched one
 * can return anything. -1 with an error naming what differs. */
static int check_allocated(cfb_dlpack_state *st, const cf_tensor *spec, const char *who, int ndim,
                           const int64_t *shape, const int64_t *strides, size_t itemsize, int device,
                           int writable)
{
    int64_t expect = (int64_t)dtype_size(spec->dtype);
    int i;
    if (!writable || ndim != spec->ndim || itemsize != dtype_size(spec->dtype) || device != spec->device)
        goto bad;
    for (i = spec->ndim - 1; i >= 0; i--) {
        if (shape[i] != spec->shape[i] || (spec->shape[i] > 1 && strides[i] != expect))
            goto bad;
        expect *= spec->shape[i];
    }
    return 0;
bad:
    set_error(st, CF_ERR_RUNTIME,
              "output: %s returned an array that is not a writable, contiguous "
              "%d-d tensor of the requested shape and dtype (was it replaced?)",
              who, spec->ndim);
    return -1;
}

static PyObject *numpy_output(cfb_dlpack_state *st, const cf_tensor *spec,
                              void **data)
{
    PyObject *args[2] = {NULL, NULL};
    PyObject *arr = NULL;
    Py_buffer view;

    if (spec->device != CF_DEVICE_CPU) {
        set_error(st, CF_ERR_DEVICE,
                  "output on cuda:%d: numpy arrays live in CPU memory; pass "
                  "torch tensors to get CUDA outputs",
                  spec->device);
        return NULL;
    }
    if (!numpy_dtype_names[spec->dtype]) {
        set_error(st, CF_ERR_UNSUPPORTED,
                  "output of dtype %s: numpy has no such type; pass torch "
                  "tensors to get it",
                  torch_dtype_names[spec->dtype]);
        return NULL;
    }
    if (!st->numpy_empty || !st->numpy_dtypes[spec->dtype]) {
        PyObject *np = framework_module("numpy");
        if (!np)
            return NULL;
        if (!st->numpy_empty)
            st->numpy_empty = PyObject_GetAttrString(np, "empty");
        if (st->numpy_empty && !st->numpy_dtypes[spec->dtype]) {
            PyObject *dt = PyObject_GetAttrString(np, "dtype");
            if (dt) {
                st->numpy_dtypes[spec->dtype] = PyObject_CallFunction(
                    dt, "s", numpy_dtype_names[spec->dtype]);
                Py_DECREF(dt);
            }
        }
        Py_DECREF(np);
        if (!st->numpy_empty || !st->numpy_dtypes[spec->dtype])
            return NULL;
    }
    args[0] = shape_tuple(spec);
    if (!args[0])
        return NULL;
    args[1] = st->numpy_dtypes[spec->dtype];
    arr = PyObject_Vectorcall(st->numpy_empty, args, 2, NULL);
    Py_DECREF(args[0]);
    if (!arr)
        return NULL;
    if (PyObject_GetBuffer(arr, &view, PyBUF_RECORDS_RO) < 0)
        goto fail;
    {
        int64_t shp[CF_MAX_DIMS], str[CF_MAX_DIMS];
        int i, ok = view.ndim >= 0 && view.ndim <= CF_MAX_DIMS;
        for (i = 0; ok && i < view.ndim; i++) {
            shp[i] = view.shape[i];
            str[i] = view.strides[i];
        }
        if (!ok || check_allocated(st, spec, "numpy.empty", view.ndim, shp, str, (size_t)view.itemsize,
                                   CF_DEVICE_CPU, !view.readonly) < 0) {
            if (!ok)
                check_allocated(st, spec, "numpy.empty", -1, NULL, NULL, 0, CF_DEVICE_CPU, 0);
            PyBuffer_Release(&view);
            goto fail;
        }
    }
    *data = view.buf;
    PyBuffer_Release(&view);
    return arr;
fail:
    Py_DECREF(arr);
    return NULL;
}

/* SetError of the exchange API's allocator. */
static void allocator_error(void *ctx, const char *kind, const char *message)
{
    cfb_dlpack_state *st = ctx;
    cf_status k = kind && strcmp(kind, "MemoryError") == 0 ? CF_ERR_NOMEM
                                                          : CF_ERR_RUNTIME;
    set_error(st, k, "output: torch could not allocate it (%s: %s)",
              kind ? kind : "Error", message ? message : "");
}

static PyObject *torch_output_api(cfb_dlpack_state *st,
                                  const dl_exchange_api *api,
                                  const cf_tensor *spec, void **data)
{
    dl_managed_tensor_versioned *m = NULL;
    int64_t shape[CF_MAX_DIMS];
    void *obj = NULL;
    dl_tensor proto;

    memcpy(shape, spec->shape, (size_t)spec->ndim * sizeof shape[0]);
    memset(&proto, 0, sizeof proto);
    proto.device.device_type = spec->device >= 0 ? DL_CUDA : DL_CPU;
    proto.device.device_id = spec->device >= 0 ? spec->device : 0;
    proto.ndim = spec->ndim;
    proto.dtype = dl_dtypes[spec->dtype];
    proto.shape = shape;
    if (api->managed_tensor_allocator(&proto, &m, st, allocator_error) != 0 ||
        !m) {
        if (!PyErr_Occurred())
            set_error(st, CF_ERR_RUNTIME,
                      "output: torch's allocator failed without a reason");
        return NULL;
    }
    *data = (char *)m->dl_tensor.data + m->dl_tensor.byte_offset;
    /* Ownership of m passes to torch, even when the call fails. */
    if (api->managed_tensor_to_py_object_no_sync(m, &obj) != 0 || !obj) {
        if (!PyErr_Occurred())
            set_error(st, CF_ERR_RUNTIME,
                      "output: torch could not wrap the allocated tensor");
        return NULL;
    }
    return obj;
}

static PyObject *torch_output_empty(cfb_dlpack_state *st,
                                    const cf_tensor *spec, void **data)
{
    PyObject *args[3] = {NULL, NULL, NULL};
    PyObject *t = NULL, *dev = NULL, *ptr = NULL;

    if (!st->torch_empty || !st->torch_dtypes[spec->dtype]) {
        PyObject *torch = framework_module("torch");
        if (!torch)
            return NULL;
        if (!st->torch_empty)
            st->torch_empty = PyObject_GetAttrString(torch, "empty");
        if (st->torch_empty && !st->torch_dtypes[spec->dtype])
            st->torch_dtypes[spec->dtype] = PyObject_GetAttrString(
                torch, torch_dtype_names[spec->dtype]);
        Py_DECREF(torch);
        if (!st->torch_empty || !st->torch_dtypes[spec->dtype])
            return NULL;
    }
    if (spec->device >= 0) {
        dev = PyUnicode_FromFormat("cuda:%d", spec->device);
        if (!dev)
            return NULL;
    } else {
        dev = Py_NewRef(st->str_cpu);
    }
    args[0] = shape_tuple(spec);
    if (!args[0])
        goto fail;
    args[1] = st->torch_dtypes[spec->dtype];
    args[2] = dev;
    t = PyObject_Vectorcall(st->torch_empty, args, 1,
                            st->kwnames_dtype_device);
    if (!t)
        goto fail;
    {
        /* Read back through DLPack what torch.empty returned (it may be
         * patched): shape, strides, dtype and device must be the spec's. */
        cf_tensor got;
        cfb_hold hold = {0};
        cfb_framework fw;
        int64_t bstrides[CF_MAX_DIMS];
        int i, rc;
        if (cfb_import_tensor(st, t, "execute", -1, &got, &hold, &fw) < 0)
            goto fail;
        for (i = 0; i < got.ndim && i < CF_MAX_DIMS; i++)
            bstrides[i] = got.strides[i] * (int64_t)dtype_size(got.dtype);
        rc = got.dtype != spec->dtype
                 ? check_allocated(st, spec, "torch.empty", -1, NULL, NULL, 0, spec->device, 0)
                 : check_allocated(st, spec, "torch.empty", got.ndim, got.shape, bstrides, dtype_size(got.dtype),
                                   got.device, 1);
        *data = got.data;
        cfb_hold_release(&hold);
        if (rc < 0)
            goto fail;
    }
    Py_DECREF(args[0]);
    Py_DECREF(dev);
    return t;
fail:
    Py_XDECREF(ptr);
    Py_XDECREF(t);
    Py_XDECREF(args[0]);
    Py_DECREF(dev);
    return NULL;
}

PyObject *cfb_alloc_output(cfb_dlpack_state *st, cfb_framework fw,
                           const cf_tensor *spec, void **data)
{
    *data = NULL;
    if (check_spec(st, spec) < 0)
        return NULL;
    if (fw == CFB_FW_NUMPY || (fw != CFB_FW_TORCH && spec->device < 0))
        return numpy_output(st, spec, data);
    if (!st->torch_tensor_type) {
        PyObject *torch = framework_module("torch");
        if (!torch)
            return NULL;
        Py_DECREF(torch);
        if (discover_frameworks(st) < 0)
            return NULL;
    }
    if (st->torch_api)
        return torch_output_api(st, st->torch_api, spec, data);
    return torch_output_empty(st, spec, data);
}

/* One C call (0.1 us per call measured on the GPU machine with torch 2.11,
 * through cfuser._C._testing.current_stream). */
int cfb_current_stream(cfb_dlpack_state *st, int device, void **stream)
{
    const dl_exchange_api *api = (const dl_exchange_api *)st->torch_api;
    *stream = NULL;
    if (!api || !api->current_work_stream)
        return 0;
    if (api->current_work_stream(DL_CUDA, device, stream) != 0) {
        if (!PyErr_Occurred())
            set_error(st, CF_ERR_DEVICE, "execute(): torch could not report the current CUDA stream of device %d", device);
        return -1;
    }
    return 0;
}
