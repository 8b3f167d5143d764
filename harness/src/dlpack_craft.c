/* dlpack_craft.c - _cfharness.DLProducer: an object whose __dlpack__
 * returns a capsule crafted in C, well-formed or broken in one chosen way,
 * with a deleter that counts its calls.
 *
 * Crafted tensors stay registered until dlpack_reset(), so a deleter called
 * twice is counted instead of freeing twice, and one never called shows up
 * in dlpack_stats().
 */
#include "internal.h"

#include <stdlib.h>
#include <string.h>

#include "dlpack_abi.h"
#include "structmember.h"

#define MAX_CRAFTED 8192

typedef struct crafted {
    union {
        cfh_dl_managed legacy;
        cfh_dl_managed_v versioned;
    } m;
    int is_versioned;
    int deleter_calls;
    int64_t shape[8], strides[8];
    unsigned char *data;
} crafted;

static crafted *g_made[MAX_CRAFTED];
static size_t g_nmade;

static void count_delete(crafted *c)
{
    if (c->deleter_calls++ == 0) {
        free(c->data);
        c->data = NULL;
    }
}

static void deleter_legacy(cfh_dl_managed *self) { count_delete(self->manager_ctx); }
static void deleter_versioned(cfh_dl_managed_v *self) { count_delete(self->manager_ctx); }

/* The producer's capsule destructor (DLPack protocol): a capsule still
 * named "dltensor"/"dltensor_versioned" was never consumed, so the
 * producer deletes it; a consumer renames it to "used_..." and then owns
 * the deleter call. */
static void capsule_destructor(PyObject *cap)
{
    if (PyCapsule_IsValid(cap, "dltensor")) {
        cfh_dl_managed *m = PyCapsule_GetPointer(cap, "dltensor");
        m->deleter(m);
    } else if (PyCapsule_IsValid(cap, "dltensor_versioned")) {
        cfh_dl_managed_v *m = PyCapsule_GetPointer(cap, "dltensor_versioned");
        m->deleter(m);
    } else if (PyCapsule_IsValid(cap, "dltensor_wrong")) {
        cfh_dl_managed *m = PyCapsule_GetPointer(cap, "dltensor_wrong");
        m->deleter(m); /* nobody may consume a wrongly named capsule */
    } else if (PyCapsule_IsValid(cap, "dltensor_versioned_wrong")) {
        cfh_dl_managed_v *m = PyCapsule_GetPointer(cap, "dltensor_versioned_wrong");
        m->deleter(m);
    }
    /* No PyErr_Clear here: a destructor runs while the consumer's own
     * exception may be pending, and IsValid/GetPointer cannot fail. */
}

typedef struct {
    PyObject_HEAD
    PyObject *kind;      /* str: which defect                           */
    Py_ssize_t n;        /* elements of the 1-D float32 tensor           */
    int versioned;       /* -1: as the consumer asks, 0: legacy, 1: v1   */
    int code, bits;      /* dtype of a well-formed tensor                */
    Py_ssize_t calls;    /* __dlpack__ calls                             */
    PyObject *last_max_version;
} Producer;

static int kind_is(Producer *p, const char *k)
{
    return PyUnicode_CompareWithASCIIString(p->kind, k) == 0;
}

static crafted *craft(Producer *p, int versioned)
{
    if (g_nmade >= MAX_CRAFTED) {
        PyErr_SetString(PyExc_RuntimeError,
                        "_cfharness: too many crafted tensors; call dlpack_reset()");
        return NULL;
    }
    crafted *c = calloc(1, sizeof *c);
    size_t elem = (size_t)(p->bits / 8 ? p->bits / 8 : 1);
    size_t n = (size_t)p->n;
    if (c == NULL || (c->data = calloc(n ? n : 1, elem + 8)) == NULL) {
        free(c);
        PyErr_NoMemory();
        return NULL;
    }
    /* values 0, 1, 2, ... in the declared dtype, so results can be checked */
    for (size_t i = 0; i < n; i++) {
        if (p->code == CFH_DL_FLOAT && p->bits == 32) ((float *)c->data)[i] = (float)i;
        else if (p->code == CFH_DL_FLOAT && p->bits == 64) ((double *)c->data)[i] = (double)i;
        else if (p->code == CFH_DL_INT && p->bits == 64) ((int64_t *)c->data)[i] = (int64_t)i;
        else if (p->code == CFH_DL_INT && p->bits == 32) ((int32_t *)c->data)[i] = (int32_t)i;
    }
    c->is_versioned = versioned;
    cfh_dl_tensor t = {0};
    t.data = c->data;
    t.device.device_type = CFH_DL_CPU;
    t.ndim = 1;
    t.dtype.code = (uint8_t)p->code;
    t.dtype.bits = (uint8_t)p->bits;
    t.dtype.lanes = 1;
    c->shape[0] = p->n;
    c->strides[0] = 1;
    t.shape = c->shape;
    t.strides = NULL;

    if (kind_is(p, "ok_strided")) t.strides = c->strides;
    else if (kind_is(p, "null_data")) t.data = NULL;
    else if (kind_is(p, "null_shape")) t.shape = NULL;
    else if (kind_is(p, "ndim0")) t.ndim = 0;
    else if (kind_is(p, "ndim_huge")) t.ndim = 1 << 20;
    else if (kind_is(p, "ndim_negative")) t.ndim = -1;
    else if (kind_is(p, "negative_shape")) c->shape[0] = -3;
    else if (kind_is(p, "shape_overflow")) {
        t.ndim = 2;
        c->shape[0] = c->shape[1] = (int64_t)1 << 40;
    } else if (kind_is(p, "stride_overflow")) {
        t.strides = c->strides;
        c->strides[0] = INT64_MAX / 2;
    } else if (kind_is(p, "dtype_code")) t.dtype.code = 42;
    else if (kind_is(p, "dtype_bits")) t.dtype.bits = 24;
    else if (kind_is(p, "dtype_lanes")) t.dtype.lanes = 4;
    else if (kind_is(p, "device_cuda") || kind_is(p, "device_mismatch"))
        t.device.device_type = CFH_DL_CUDA;
    else if (kind_is(p, "device_unknown")) t.device.device_type = 1234;
    else if (kind_is(p, "misaligned")) t.byte_offset = 1;

    if (versioned) {
        cfh_dl_managed_v *m = &c->m.versioned;
        m->version.major = kind_is(p, "version_major") ? 99 : 1;
        m->version.minor = 0;
        m->manager_ctx = c;
        m->deleter = deleter_versioned;
        m->flags = kind_is(p, "readonly") ? CFH_DL_FLAG_READ_ONLY : 0;
        m->dl_tensor = t;
    } else {
        cfh_dl_managed *m = &c->m.legacy;
        m->manager_ctx = c;
        m->deleter = deleter_legacy;
        m->dl_tensor = t;
    }
    g_made[g_nmade++] = c;
    return c;
}

static PyObject *producer_dlpack(Producer *p, PyObject *const *args,
                                 Py_ssize_t nargs, PyObject *kwnames)
{
    PyObject *max_version = Py_None;
    if (nargs != 0) {
        PyErr_SetString(PyExc_TypeError, "__dlpack__() takes keyword arguments only");
        return NULL;
    }
    for (Py_ssize_t i = 0; kwnames && i < PyTuple_GET_SIZE(kwnames); i++)
        if (PyUnicode_CompareWithASCIIString(PyTuple_GET_ITEM(kwnames, i),
                                             "max_version") == 0)
            max_version = args[i];
    p->calls++;
    Py_INCREF(max_version);
    Py_XSETREF(p->last_max_version, max_version);

    if (kind_is(p, "raises")) {
        PyErr_SetString(PyExc_ValueError, "crafted producer failure");
        return NULL;
    }
    if (kind_is(p, "not_capsule"))
        return PyLong_FromLong(42);

    int versioned = p->versioned;
    if (versioned < 0) {
        versioned = 0;
        if (PyTuple_Check(max_version) && PyTuple_GET_SIZE(max_version) >= 1) {
            long major = PyLong_AsLong(PyTuple_GET_ITEM(max_version, 0));
            if (major == -1 && PyErr_Occurred())
                return NULL;
            versioned = major >= 1;
        }
    }
    if (kind_is(p, "version_major") || kind_is(p, "readonly"))
        versioned = 1;
    crafted *c = craft(p, versioned);
    if (c == NULL)
        return NULL;
    const char *name = versioned ? "dltensor_versioned" : "dltensor";
    if (kind_is(p, "wrong_name"))
        name = versioned ? "dltensor_versioned_wrong" : "dltensor_wrong";
    PyObject *cap = PyCapsule_New(&c->m, name, capsule_destructor);
    if (cap == NULL) {
        count_delete(c);
        return NULL;
    }
    return cap;
}

static PyObject *producer_device(Producer *p, PyObject *unused)
{
    if (kind_is(p, "device_raises")) {
        PyErr_SetString(PyExc_RuntimeError, "crafted __dlpack_device__ failure");
        return NULL;
    }
    if (kind_is(p, "device_bad_return"))
        return PyUnicode_FromString("cpu");
    if (kind_is(p, "device_cuda"))
        return Py_BuildValue("(ii)", CFH_DL_CUDA, 0);
    if (kind_is(p, "device_unknown"))
        return Py_BuildValue("(ii)", 1234, 0);
    return Py_BuildValue("(ii)", CFH_DL_CPU, 0);
}

static int producer_init(Producer *p, PyObject *args, PyObject *kw)
{
    static char *kwlist[] = {"kind", "n", "versioned", "code", "bits", NULL};
    PyObject *kind, *versioned = Py_None;
    Py_ssize_t n = 4;
    int code = CFH_DL_FLOAT, bits = 32;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "U|nOii:DLProducer", kwlist,
                                     &kind, &n, &versioned, &code, &bits))
        return -1;
    if (n < 0 || n > (Py_ssize_t)1 << 28) {
        PyErr_SetString(PyExc_ValueError, "DLProducer: n out of range");
        return -1;
    }
    if (bits != 8 && bits != 16 && bits != 32 && bits != 64) {
        PyErr_SetString(PyExc_ValueError, "DLProducer: bits must be 8, 16, 32 or 64");
        return -1;
    }
    Py_INCREF(kind);
    Py_XSETREF(p->kind, kind);
    p->n = n;
    p->versioned = versioned == Py_None ? -1 : PyObject_IsTrue(versioned);
    p->code = code;
    p->bits = bits;
    return p->versioned == -1 && versioned != Py_None ? -1 : 0;
}

static PyObject *producer_repr(Producer *p)
{
    return PyUnicode_FromFormat("<DLProducer %R n=%zd>", p->kind, p->n);
}

static int producer_traverse(Producer *p, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(p));
    Py_VISIT(p->last_max_version);
    return 0;
}

static int producer_clear(Producer *p)
{
    Py_CLEAR(p->last_max_version);
    return 0;
}

static void producer_dealloc(Producer *p)
{
    PyTypeObject *tp = Py_TYPE(p);
    PyObject_GC_UnTrack(p);
    producer_clear(p);
    Py_CLEAR(p->kind);
    tp->tp_free(p);
    Py_DECREF(tp);
}

static PyMethodDef producer_methods[] = {
    {"__dlpack__", (PyCFunction)(void (*)(void))producer_dlpack,
     METH_FASTCALL | METH_KEYWORDS,
     "__dlpack__($self, /, *, stream=None, max_version=None, dl_device=None, copy=None)\n--\n\n"},
    {"__dlpack_device__", (PyCFunction)producer_device, METH_NOARGS,
     "__dlpack_device__($self, /)\n--\n\n"},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef producer_members[] = {
    {"calls", T_PYSSIZET, offsetof(Producer, calls), READONLY, "__dlpack__ calls"},
    {"last_max_version", T_OBJECT, offsetof(Producer, last_max_version), READONLY,
     "max_version of the last __dlpack__ call"},
    {"kind", T_OBJECT, offsetof(Producer, kind), READONLY, "the defect"},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot producer_slots[] = {
    {Py_tp_init, producer_init},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_repr, producer_repr},
    {Py_tp_traverse, producer_traverse},
    {Py_tp_clear, producer_clear},
    {Py_tp_dealloc, producer_dealloc},
    {Py_tp_methods, producer_methods},
    {Py_tp_members, producer_members},
    {Py_tp_doc, "DLProducer(kind, n=4, versioned=None, code=2, bits=32)\n--\n\n"
                "An object whose __dlpack__ returns a capsule crafted with one defect."},
    {0, NULL},
};

static PyType_Spec producer_spec = {
    "_cfharness.DLProducer", sizeof(Producer), 0,
    Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, producer_slots,
};

/* dlpack_stats() -> dict(made, deleted_once, deleted_more, not_deleted) */
static PyObject *m_stats(PyObject *self, PyObject *unused)
{
    size_t once = 0, more = 0, never = 0;
    for (size_t i = 0; i < g_nmade; i++) {
        int k = g_made[i]->deleter_calls;
        if (k == 0) never++;
        else if (k == 1) once++;
        else more++;
    }
    return Py_BuildValue("{s:n,s:n,s:n,s:n}", "made", (Py_ssize_t)g_nmade,
                         "deleted_once", (Py_ssize_t)once, "deleted_more",
                         (Py_ssize_t)more, "not_deleted", (Py_ssize_t)never);
}

/* Forget crafted tensors whose deleter ran; the others stay registered
 * (they are still owned by someone). */
static PyObject *m_reset(PyObject *self, PyObject *unused)
{
    size_t keep = 0;
    for (size_t i = 0; i < g_nmade; i++) {
        if (g_made[i]->deleter_calls > 0)
            free(g_made[i]);
        else
            g_made[keep++] = g_made[i];
    }
    g_nmade = keep;
    Py_RETURN_NONE;
}

static PyMethodDef dl_methods[] = {
    {"dlpack_stats", m_stats, METH_NOARGS,
     "dlpack_stats($module, /)\n--\n\nDeleter counts of the crafted tensors."},
    {"dlpack_reset", m_reset, METH_NOARGS,
     "dlpack_reset($module, /)\n--\n\nForget crafted tensors already deleted."},
    {NULL, NULL, 0, NULL},
};

int cfh__dlpack_add(PyObject *module)
{
    PyObject *tp = PyType_FromModuleAndSpec(module, &producer_spec, NULL);
    if (tp == NULL)
        return -1;
    if (PyModule_AddObject(module, "DLProducer", tp) < 0) {
        Py_DECREF(tp);
        return -1;
    }
    return PyModule_AddFunctions(module, dl_methods);
}
