/* fuzz_convert.c - a coverage-guided fuzzer (libFuzzer) of the binding
 * layer's converters, through the module's public entry points:
 *
 *   tensor    a DLPack capsule crafted from the input (legacy or versioned,
 *             any device, dtype, rank, shape, strides, offset, flags, and a
 *             __dlpack_device__ that may disagree) -> _testing.import_tensor
 *   sequence  a list, tuple, range, buffer, generator or nested mix of ints,
 *             big ints, bools, floats, None, strings and __index__ objects
 *             -> _testing.as_int64_list, checked against a Python reference
 *             (same values, or an error where the reference has one)
 *   scalar    an int, big int, float, bool or __index__/__float__ object as
 *             the scalar input of a fusion (Int, Int32, Double, Bool)
 *
 * The module and libcfuser are built with -fsanitize=fuzzer-no-link (and
 * ASan+UBSan), so libFuzzer sees their branches. A disagreement with the
 * reference aborts, which libFuzzer reports with the input that caused it.
 * Built with -DCFUSER_BUILD_FUZZ=ON (clang); run by `make sanitize`.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "../src/dlpack_abi.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static PyObject *g_one_tensor, *g_one_seq, *g_one_scalar;

/* The Python side: the producer type, the reference conversion and the
 * fusions the scalars go into. Errors a bad input may raise are caught;
 * anything else propagates and aborts the run. */
static const char PRELUDE[] =
    "import operator, cfuser\n"
    "from cfuser import _C\n"
    "T = _C._testing\n"
    "CLEAN = (cfuser.Error, TypeError, ValueError, OverflowError, IndexError, BufferError, MemoryError)\n"
    "class Producer:\n"
    "    __slots__ = ('cap', 'dev')\n"
    "    def __dlpack__(self, *a, **k):\n"
    "        return self.cap\n"
    "    def __dlpack_device__(self):\n"
    "        return self.dev\n"
    "class Idx:\n"
    "    def __init__(self, v): self.v = v\n"
    "    def __index__(self): return self.v\n"
    "    def __float__(self): return float(self.v)\n"
    "class Refuses:\n"
    "    def __index__(self): raise ValueError('refuses')\n"
    "def one_tensor(cap, dev):\n"
    "    p = Producer(); p.cap = cap; p.dev = dev\n"
    "    try:\n"
    "        T.import_tensor(p)\n"
    "    except CLEAN:\n"
    "        pass\n"
    "def reference(obj):\n"
    "    out = []\n"
    "    for x in obj:\n"
    "        if isinstance(x, bool):\n"
    "            raise TypeError('bool')\n"
    "        v = operator.index(x)\n"
    "        if not -2**63 <= v < 2**63:\n"
    "            raise OverflowError(v)\n"
    "        out.append(v)\n"
    "    return out\n"
    "def one_seq(obj, again):\n"
    "    try:\n"
    "        want = reference(again)\n"
    "    except (TypeError, OverflowError, ValueError) as e:\n"
    "        want = e\n"
    "    try:\n"
    "        got = T.as_int64_list(obj)\n"
    "    except CLEAN as e:\n"
    "        if not isinstance(want, BaseException) and not isinstance(e, MemoryError):\n"
    "            raise AssertionError(f'cfuser refused {again!r}: {e!r}; reference {want!r}')\n"
    "        return\n"
    "    if isinstance(want, BaseException):\n"
    "        raise AssertionError(f'cfuser accepted {again!r} as {got!r}; reference raised {want!r}')\n"
    "    if got != want:\n"
    "        raise AssertionError(f'{again!r}: cfuser {got!r}, reference {want!r}')\n"
    "FECS = []\n"
    "for dt in (cfuser.DataType.Int, cfuser.DataType.Int32, cfuser.DataType.Double, cfuser.DataType.Bool):\n"
    "    with cfuser.FusionDefinition() as fd:\n"
    "        s = fd.define_scalar(dtype=dt)\n"
    "        fd.add_output(fd.ops.full([2], s, dtype=dt))\n"
    "    FECS.append(cfuser.FusionExecutorCache(fd.fusion))\n"
    "def one_scalar(k, obj):\n"
    "    try:\n"
    "        FECS[k % len(FECS)].execute([obj])\n"
    "    except CLEAN:\n"
    "        pass\n";

/* --- reading the input ----------------------------------------------------- */
typedef struct reader { const uint8_t *p; size_t n; } reader;

static uint64_t take(reader *r, int bytes)
{
    uint64_t v = 0;
    for (int i = 0; i < bytes; i++) {
        v = (v << 8) | (r->n ? *r->p : 0);
        if (r->n) {
            r->p++;
            r->n--;
        }
    }
    return v;
}

/* --- crafted tensors --------------------------------------------------------- */
typedef struct crafted {
    union { cfh_dl_managed legacy; cfh_dl_managed_v versioned; } m;
    int64_t shape[16], strides[16];
    unsigned char *data;
} crafted;

static void free_crafted(crafted *c)
{
    free(c->data);
    free(c);
}
static void delete_legacy(cfh_dl_managed *m) { free_crafted(m->manager_ctx); }
static void delete_versioned(cfh_dl_managed_v *m) { free_crafted(m->manager_ctx); }

/* An unconsumed capsule deletes its tensor (the DLPack convention). */
static void capsule_destructor(PyObject *cap)
{
    void *p;
    if (PyCapsule_IsValid(cap, "dltensor") && (p = PyCapsule_GetPointer(cap, "dltensor")))
        ((cfh_dl_managed *)p)->deleter(p);
    else if (PyCapsule_IsValid(cap, "dltensor_versioned") && (p = PyCapsule_GetPointer(cap, "dltensor_versioned")))
        ((cfh_dl_managed_v *)p)->deleter(p);
    PyErr_Clear();
}

static int fuzz_tensor(reader *r)
{
    crafted *c = calloc(1, sizeof *c);
    cfh_dl_tensor *t;
    int versioned = (int)take(r, 1) & 1;
    size_t nbytes = (size_t)take(r, 2) % 4097;
    PyObject *cap, *dev, *res;
    if (!c)
        return 0;
    c->data = malloc(nbytes ? nbytes : 1);
    t = versioned ? &c->m.versioned.dl_tensor : &c->m.legacy.dl_tensor;
    t->data = c->data;
    t->device.device_type = (int32_t)(take(r, 1) % 4 == 0 ? take(r, 4) : 1);
    t->device.device_id = (int32_t)(take(r, 1) % 8 == 0 ? take(r, 4) : 0);
    t->ndim = (int32_t)(take(r, 1) % 20) - 2;  /* -2 .. 17: out of range both ways */
    t->dtype.code = (uint8_t)(take(r, 1) % 8);
    t->dtype.bits = (uint8_t)take(r, 1);
    t->dtype.lanes = (uint16_t)(take(r, 1) % 5 == 0 ? take(r, 2) : 1);
    for (int d = 0; d < 16; d++) {
        int mode = (int)take(r, 1) % 8;
        c->shape[d] = mode == 0 ? (int64_t)take(r, 8) : (int64_t)(take(r, 1) % 9) - (mode == 1);
        c->strides[d] = mode == 2 ? (int64_t)take(r, 8) : (int64_t)(take(r, 1) % 33) - 8;
    }
    t->shape = take(r, 1) % 16 == 0 ? NULL : c->shape;
    t->strides = take(r, 1) % 3 == 0 ? NULL : c->strides;
    t->byte_offset = take(r, 1) % 6 == 0 ? take(r, 8) : take(r, 1);
    if (versioned) {
        c->m.versioned.version.major = (uint32_t)(take(r, 1) % 4);
        c->m.versioned.version.minor = (uint32_t)take(r, 1);
        c->m.versioned.flags = take(r, 1);
        c->m.versioned.manager_ctx = c;
        c->m.versioned.deleter = delete_versioned;
    } else {
        c->m.legacy.manager_ctx = c;
        c->m.legacy.deleter = delete_legacy;
    }
    cap = PyCapsule_New(&c->m, versioned ? "dltensor_versioned" : "dltensor", capsule_destructor);
    if (!cap) {
        free_crafted(c);
        return -1;
    }
    dev = take(r, 1) % 5 == 0 ? Py_BuildValue("(ii)", (int)take(r, 1) % 4, (int)take(r, 1) % 3)
                              : Py_BuildValue("(ii)", t->device.device_type, t->device.device_id);
    res = dev ? PyObject_CallFunctionObjArgs(g_one_tensor, cap, dev, NULL) : NULL;
    Py_DECREF(cap);
    Py_XDECREF(dev);
    if (!res)
        return -1;
    Py_DECREF(res);
    return 0;
}

/* --- sequences and scalars ------------------------------------------------------- */
static PyObject *g_ns;

static PyObject *item(reader *r, int depth)
{
    switch (take(r, 1) % 12) {
    case 0: case 1: case 2: return PyLong_FromLongLong((long long)(int8_t)take(r, 1));
    case 3: return PyLong_FromLongLong((long long)take(r, 8));
    case 4: { /* beyond int64 */
        PyObject *a = PyLong_FromUnsignedLongLong(take(r, 8)), *s = PyLong_FromLong((long)(take(r, 1) % 70));
        PyObject *b = a && s ? PyNumber_Lshift(a, s) : NULL;
        Py_XDECREF(a);
        Py_XDECREF(s);
        return b;
    }
    case 5: return PyBool_FromLong((long)(take(r, 1) & 1));
    case 6: return PyFloat_FromDouble((double)(int8_t)take(r, 1) / 4.0);
    case 7: return Py_NewRef(Py_None);
    case 8: return PyUnicode_FromString("3");
    case 9: {
        PyObject *cls = PyDict_GetItemString(g_ns, "Idx");
        return cls ? PyObject_CallFunction(cls, "L", (long long)(int16_t)take(r, 2)) : NULL;
    }
    case 10: {
        PyObject *cls = PyDict_GetItemString(g_ns, "Refuses");
        return cls ? PyObject_CallNoArgs(cls) : NULL;
    }
    default:
        if (depth > 1)
            return PyLong_FromLong(1);
        {
            PyObject *l = PyList_New(0);
            int n = (int)take(r, 1) % 4;
            for (int i = 0; l && i < n; i++) {
                PyObject *x = item(r, depth + 1);
                if (!x || PyList_Append(l, x) < 0)
                    Py_CLEAR(l);
                Py_XDECREF(x);
            }
            return l;
        }
    }
}

static int fuzz_sequence(reader *r)
{
    int kind = (int)take(r, 1) % 6, n = (int)take(r, 1) % 24;
    PyObject *list = PyList_New(0), *obj = NULL, *again = NULL, *res;
    for (int i = 0; list && i < n; i++) {
        PyObject *x = item(r, 0);
        if (!x || PyList_Append(list, x) < 0)
            Py_CLEAR(list);
        Py_XDECREF(x);
    }
    if (!list)
        return -1;
    switch (kind) {
    case 0: obj = Py_NewRef(list); break;
    case 1: obj = PyList_AsTuple(list); break;
    case 2: obj = PyObject_CallFunction((PyObject *)&PyRange_Type, "LLL", (long long)(int16_t)take(r, 2),
                                        (long long)(int16_t)take(r, 2), (long long)((int8_t)take(r, 1) | 1));
        break;
    case 3: { /* an integer buffer of any format */
        static const char *const fmts[] = {"b", "B", "h", "H", "i", "I", "q", "Q", "l", "d"};
        const char *fmt = fmts[take(r, 1) % 10];
        PyObject *raw = PyBytes_FromStringAndSize((const char *)r->p, (Py_ssize_t)(r->n / 8 * 8));
        PyObject *mv = raw ? PyMemoryView_FromObject(raw) : NULL;
        obj = mv ? PyObject_CallMethod(mv, "cast", "s", fmt) : NULL;
        Py_XDECREF(raw);
        Py_XDECREF(mv);
        r->n = 0;
        break;
    }
    case 4: obj = PyObject_GetIter(list); break; /* an iterator: read once */
    default: obj = PyBytes_FromStringAndSize((const char *)r->p, (Py_ssize_t)(r->n % 32)); break;
    }
    if (!obj) {
        Py_DECREF(list);
        PyErr_Clear();
        return 0;
    }
    /* the reference reads its own copy (an iterator is used up by one read) */
    again = kind == 4 ? Py_NewRef(list) : Py_NewRef(obj);
    res = PyObject_CallFunctionObjArgs(g_one_seq, obj, again, NULL);
    Py_DECREF(obj);
    Py_DECREF(again);
    Py_DECREF(list);
    if (!res)
        return -1;
    Py_DECREF(res);
    return 0;
}

static int fuzz_scalar(reader *r)
{
    int k = (int)take(r, 1);
    PyObject *x = item(r, 2), *res;
    if (!x) {
        PyErr_Clear();
        return 0;
    }
    res = PyObject_CallFunction(g_one_scalar, "iO", k, x);
    Py_DECREF(x);
    if (!res)
        return -1;
    Py_DECREF(res);
    return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    PyObject *main_mod;
    (void)argc;
    (void)argv;
#ifdef CFUSER_FUZZ_PYTHONPATH
    setenv("PYTHONPATH", CFUSER_FUZZ_PYTHONPATH, 0);
#endif
    Py_InitializeEx(0);
    main_mod = PyImport_AddModule("__main__");
    g_ns = main_mod ? PyModule_GetDict(main_mod) : NULL;
    if (!g_ns || PyRun_String(PRELUDE, Py_file_input, g_ns, g_ns) == NULL) {
        PyErr_Print();
        abort();
    }
    g_one_tensor = PyDict_GetItemString(g_ns, "one_tensor");
    g_one_seq = PyDict_GetItemString(g_ns, "one_seq");
    g_one_scalar = PyDict_GetItemString(g_ns, "one_scalar");
    if (!g_one_tensor || !g_one_seq || !g_one_scalar)
        abort();
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    reader r = {data, size};
    int rc;
    if (size < 1)
        return 0;
    switch (take(&r, 1) % 3) {
    case 0: rc = fuzz_tensor(&r); break;
    case 1: rc = fuzz_sequence(&r); break;
    default: rc = fuzz_scalar(&r); break;
    }
    if (rc < 0) {
        /* an exception that is not a clean refusal, or a disagreement */
        PyErr_Print();
        abort();
    }
    return 0;
}
