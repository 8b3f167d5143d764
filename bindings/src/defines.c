/* defines.c - define_tensor and define_scalar on the active fusion. */
#include "module.h"

static int bool_list(PyObject *err, PyObject *o, int n, int8_t *out)
{
    PyObject *seq;
    Py_ssize_t k, i;
    if (o == Py_True || o == Py_False || o == Py_None) {
        for (i = 0; i < n; i++)
            out[i] = o == Py_False ? 0 : 1;
        return 0;
    }
    if (!(seq = PySequence_Tuple(o))) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "define_tensor() argument 'contiguity' must be a bool or a sequence of bool/None, not '%.100s'", Py_TYPE(o)->tp_name);
        }
        return -1;
    }
    k = PyTuple_GET_SIZE(seq);
    if (k != n) {
        Py_DECREF(seq);
        PyErr_Format(err, "define_tensor() argument 'contiguity' has %zd entries but 'shape' has %d", k, n);
        return -1;
    }
    for (i = 0; i < k; i++) {
        PyObject *b = PyTuple_GET_ITEM(seq, i);
        if (b != Py_True && b != Py_False && b != Py_None) {
            Py_DECREF(seq);
            PyErr_Format(PyExc_TypeError, "define_tensor() argument 'contiguity': item %zd must be a bool or None, not '%.100s'", i, Py_TYPE(b)->tp_name);
            return -1;
        }
        out[i] = b == Py_True ? 1 : b == Py_False ? 0 : -1;
    }
    Py_DECREF(seq);
    return 0;
}

static int dims_list(cfb_state *st, PyObject *o, const char *argname, int64_t *buf, int *n)
{
    return cfb_op_int_list(st, o, "define_tensor", argname, buf, n);
}

static PyObject *define_tensor(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"shape", "contiguity", "dtype", "is_cpu", "stride_order", "sizes", "strides"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[7];
    FusionObject *fo;
    int64_t shape[CF_MAX_DIMS], order[CF_MAX_DIMS], strides[CF_MAX_DIMS];
    int8_t contig[CF_MAX_DIMS];
    int n = 0, no = 0, nst = 0, d, have_order = 0;
    cf_dtype dt = CF_DTYPE_FLOAT;
    cf_id out;
    cf_status s;
    if (cfb_parse("define_tensor", args, nargs, kwnames, names, 7, 5, 0, p) < 0)
        return NULL;
    if (!(fo = cfb_active_fusion(st)))
        return cfb_raise_fmt(st, CF_ERR_VALUE, "define_tensor(): no active fusion; call it inside 'with FusionDefinition() as fd:' or a FusionGuard");
    if (p[2] && p[2] != Py_None && cfb_dtype(st, p[2], "define_tensor", "dtype", &dt) < 0)
        return NULL;
    if (p[5] && p[5] != Py_None) { /* sizes=/strides= form: concrete sizes, contiguity from strides */
        if (p[0] && p[0] != Py_None)
            return PyErr_Format(PyExc_TypeError, "define_tensor() takes 'shape' or 'sizes', not both");
        if (dims_list(st, p[5], "sizes", shape, &n) < 0)
            return NULL;
        if (p[6] == Py_None)
            p[6] = NULL;
        if (p[6] && dims_list(st, p[6], "strides", strides, &nst) < 0)
            return NULL;
        if (p[6] && nst != n)
            return cfb_raise_fmt(st, CF_ERR_VALUE, "define_tensor(): 'strides' has %d entries but 'sizes' has %d", nst, n);
        for (d = 0; d < n; d++)
            if (shape[d] < 0)
                return cfb_raise_fmt(st, CF_ERR_VALUE, "define_tensor(): argument 'sizes': item %d is %lld; expected a size >= 0", d, (long long)shape[d]);
        for (d = n - 1; d >= 0; d--) {
            int64_t expect = 1;
            int k;
            for (k = d + 1; k < n; k++)
                expect *= shape[k];
            contig[d] = shape[d] == 1 ? -1 : (!p[6] || strides[d] == expect);
        }
    } else {
        if (!p[0] || p[0] == Py_None)
            return PyErr_Format(PyExc_TypeError, "define_tensor() missing required argument 'shape' (pos 1) (or give 'sizes')");
        if (p[6] && p[6] != Py_None)
            return PyErr_Format(PyExc_TypeError, "define_tensor() argument 'strides' needs 'sizes' (the sizes= and strides= form)");
        if (dims_list(st, p[0], "shape", shape, &n) < 0)
            return NULL;
        if (bool_list(st->errors[CF_ERR_VALUE], p[1] ? p[1] : Py_True, n, contig) < 0)
            return NULL;
        if (p[4] && p[4] != Py_None) {
            if (dims_list(st, p[4], "stride_order", order, &no) < 0)
                return NULL;
            if (no && no != n)
                return cfb_raise_fmt(st, CF_ERR_VALUE, "define_tensor(): 'stride_order' has %d entries but 'shape' has %d", no, n);
            have_order = no > 0;
        }
    }
    if (p[3] && p[3] != Py_True && p[3] != Py_False && p[3] != Py_None)
        return PyErr_Format(PyExc_TypeError, "define_tensor() argument 'is_cpu' must be bool, not '%.100s'", Py_TYPE(p[3])->tp_name);
    if (p[3] == Py_True && n != 0)
        return cfb_raise_fmt(st, CF_ERR_VALUE, "define_tensor(): is_cpu=True is for 0-dim tensors (shape=[]); CPU non-scalar tensors are not supported next to CUDA ones (a fusion of CPU tensors needs no is_cpu)");
    s = cf_define_tensor(fo->f, n, shape, contig, dt, have_order ? order : NULL, &out);
    if (!s && p[3] == Py_True)
        s = cf_tensor_set_cpu_scalar(fo->f, out);
    if (s)
        return cfb_raise(st, s);
    return cfb_wrap_val(st, fo, out);
}

static PyObject *define_scalar(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"value", "dtype"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[2];
    FusionObject *fo;
    cf_dtype dt = CF_DTYPE_DOUBLE;
    cf_scalar v;
    cf_id out;
    cf_status s;
    int has = 0;
    if (cfb_parse("define_scalar", args, nargs, kwnames, names, 2, 2, 0, p) < 0)
        return NULL;
    if (!(fo = cfb_active_fusion(st)))
        return cfb_raise_fmt(st, CF_ERR_VALUE, "define_scalar(): no active fusion; call it inside 'with FusionDefinition() as fd:' or a FusionGuard");
    if (p[0] && p[0] != Py_None) {
        has = 1;
        if (PyBool_Check(p[0])) {
            v.dtype = dt = CF_DTYPE_BOOL;
            v.v.b = p[0] == Py_True;
        } else if (PyLong_Check(p[0])) {
            int overflow = 0;
            v.dtype = dt = CF_DTYPE_INT;
            v.v.i = PyLong_AsLongLongAndOverflow(p[0], &overflow);
            if (overflow)
                return PyErr_Format(PyExc_OverflowError, "define_scalar() argument 'value' does not fit in int64");
        } else if (PyFloat_Check(p[0])) {
            v.dtype = dt = CF_DTYPE_DOUBLE;
            v.v.f = PyFloat_AS_DOUBLE(p[0]);
        } else {
            return PyErr_Format(PyExc_TypeError, "define_scalar() argument 'value' must be a bool, int, float or None, not '%.100s'", Py_TYPE(p[0])->tp_name);
        }
    }
    if (p[1] && p[1] != Py_None && cfb_dtype(st, p[1], "define_scalar", "dtype", &dt) < 0)
        return NULL;
    s = cf_define_scalar(fo->f, dt, has ? &v : NULL, &out);
    if (s)
        return cfb_raise(st, s);
    return cfb_wrap_val(st, fo, out);
}

static PyObject *active_fusion(PyObject *mod, PyObject *unused)
{
    FusionObject *fo = cfb_active_fusion(cfb_state_of_module(mod));
    if (!fo)
        Py_RETURN_NONE;
    return Py_NewRef((PyObject *)fo);
}

PyMethodDef cfb_module_functions[] = {
    {"define_tensor", (PyCFunction)(void (*)(void))define_tensor, METH_FASTCALL | METH_KEYWORDS,
     "define_tensor(shape=None, contiguity=None, dtype=None, is_cpu=False, stride_order=None, sizes=None, strides=None)\n--\n\n"
     "Define a tensor input of the active fusion.\n\nParameters\n----------\nshape : sequence of int\n"
     "    -1 for a symbolic size, 1 for a broadcast dim, n >= 0 for a fixed size.\ncontiguity : bool or sequence of bool/None\n"
     "    Per-dim contiguity (a hint).\ndtype : DataType, optional\n    Element type; None means DataType.Float.\nis_cpu : bool\n    A 0-dim tensor given as a CPU scalar tensor next to CUDA tensors (kept and printed; any 0-dim CPU tensor may join CUDA inputs).\n"
     "stride_order : sequence of int\n    Order of the strides (nvFuser's meaning).\nsizes, strides : sequence of int\n"
     "    Alternative form: concrete sizes and strides.\n\nReturns\n-------\nTensorView\n"},
    {"define_scalar", (PyCFunction)(void (*)(void))define_scalar, METH_FASTCALL | METH_KEYWORDS,
     "define_scalar(value=None, dtype=None)\n--\n\nDefine a scalar: a constant, or a symbolic input when value is None.\n\n"
     "Parameters\n----------\nvalue : bool, int, float or None\n    The constant, or None for an input given to execute.\n"
     "dtype : DataType, optional\n    The scalar's type (from the value, Double when both are None).\n\nReturns\n-------\nScalar\n"},
    {"active_fusion", (PyCFunction)active_fusion, METH_NOARGS,
     "active_fusion()\n--\n\nThe Fusion active in this thread, or None."},
    {NULL, NULL, 0, NULL},
};
