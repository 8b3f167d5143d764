/* ops.c - one C entry per op, gathered in the submodule cfuser._C.ops.
 * Every function's self is the _C module (its state holds the types). */
#include "module.h"

/* Finish an op: roll back on error, else wrap the new value. */
/* out is read through a pointer: the op call that fills it is an argument
 * of the same call, and C leaves the order of argument evaluation open. */
static PyObject *finish(cfb_state *st, FusionObject *fo, const cf_fusion_mark *m, cf_status s, const cf_id *out)
{
    if (s) {
        cfb_rollback(fo, m);
        return cfb_raise(st, s);
    }
    return cfb_wrap_val(st, fo, *out);
}

static const char *const unary_names[] = {"x"};
static const char *const binary_names[] = {"lhs", "rhs"};
static const char *const where_names[] = {"pred", "x", "y"};
static const char *const clamp_names[] = {"x", "min", "max"};
static const char *const lerp_names[] = {"start", "end", "weight"};
static const char *const addcmul_names[] = {"x", "tensor1", "tensor2", "value"};
static const char *const threshold_names[] = {"x", "threshold", "value"};

static PyObject *pointwise(PyObject *mod, cf_opcode op, const char *const *names, int n, PyObject *const *args,
                           Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    const char *fname = cf_op_name(op);
    PyObject *parsed[4];
    PyObject *const *ops = args;
    FusionObject *fo;
    cf_fusion_mark m;
    cf_id in[4], out = CF_NO_ID;
    int i;
    if (kwnames || nargs != n) {
        if (cfb_parse(fname, args, nargs, kwnames, names, n, n, n, parsed) < 0)
            return NULL;
        ops = parsed;
    }
    if (cfb_find_fusion(st, fname, ops, n, &fo) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    for (i = 0; i < n; i++)
        if (cfb_operand(st, fname, names[i], fo, ops[i], n > 1, &in[i]) < 0) {
            cfb_rollback(fo, &m);
            return NULL;
        }
    return finish(st, fo, &m, cf_op_pointwise(fo->f, op, n, in, &out), &out);
}

#define CFB_UNARY(name, E, cat)                                                                          \
    static PyObject *op_##name(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k)               \
    {                                                                                                    \
        return pointwise(m, CF_OP_##E, unary_names, 1, a, n, k);                                         \
    }
#define CFB_BINARY(name, E, cat)                                                                         \
    static PyObject *op_##name(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k)               \
    {                                                                                                    \
        return pointwise(m, CF_OP_##E, binary_names, 2, a, n, k);                                        \
    }
CF_UNARY_OPS(CFB_UNARY)
CF_BINARY_OPS(CFB_BINARY)
#undef CFB_UNARY
#undef CFB_BINARY

static PyObject *op_where(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return pointwise(m, CF_OP_WHERE, where_names, 3, a, n, k); }
static PyObject *op_clamp(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return pointwise(m, CF_OP_CLAMP, clamp_names, 3, a, n, k); }
static PyObject *op_lerp(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return pointwise(m, CF_OP_LERP, lerp_names, 3, a, n, k); }
static PyObject *op_addcmul(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return pointwise(m, CF_OP_ADDCMUL, addcmul_names, 4, a, n, k); }
static PyObject *op_threshold(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return pointwise(m, CF_OP_THRESHOLD, threshold_names, 3, a, n, k); }

/* The tensor argument of a non-elementwise op. */
static int tensor_arg(cfb_state *st, const char *fname, PyObject *o, FusionObject **fo, cf_id *id)
{
    if (!cfb_is_val(st, o)) {
        cfb_type_error(st, fname, "arg", "a TensorView", o);
        return -1;
    }
    if (!(*fo = cfb_node_fusion((NodeObject *)o)))
        return -1;
    if (!cfb_active_fusion(st)) { /* a node of a closed definition: no silent dangling op */
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): no active fusion: argument 'arg' belongs to a fusion that is not being "
                      "defined (its 'with' block has closed); reopen it with 'with fd:' or a FusionGuard", fname);
        return -1;
    }
    if (cfb_active_fusion(st) != *fo) {
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): argument 'arg' belongs to a different fusion than the active one", fname);
        return -1;
    }
    *id = ((NodeObject *)o)->id;
    return 0;
}

static PyObject *op_cast(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"arg", "dtype"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[2];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    cf_dtype dt;
    cf_fusion_mark m;
    if (cfb_parse("cast", args, nargs, kwnames, names, 2, 2, 2, p) < 0 || tensor_arg(st, "cast", p[0], &fo, &in) < 0 ||
        cfb_dtype(st, p[1], "cast", "dtype", &dt) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, cf_op_cast(fo->f, in, dt, &out), &out);
}

static PyObject *op_set(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"arg"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[1];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    cf_fusion_mark m;
    if (cfb_parse("set", args, nargs, kwnames, names, 1, 1, 1, p) < 0 || tensor_arg(st, "set", p[0], &fo, &in) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, cf_op_set(fo->f, in, &out), &out);
}

/* dims-like int lists */
static int int_list(cfb_state *st, PyObject *o, const char *fname, const char *argname, int64_t *buf, int *n)
{
    int64_t *heap = NULL;
    Py_ssize_t k = cfb_as_int64_array(o, fname, argname, buf, CF_MAX_DIMS, &heap);
    if (k < 0)
        return -1;
    if (heap) {
        cfb_int64_array_free(buf, heap);
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s() argument '%s' has %zd entries; at most %d dims are supported", fname, argname, k, CF_MAX_DIMS);
        return -1;
    }
    *n = (int)k;
    return 0;
}

static PyObject *reduction(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"arg", "dims", "keepdim", "dtype"};
    const char *fname = cf_op_name(op);
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[4];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    int64_t dims[CF_MAX_DIMS];
    int nd, keep = 0;
    cf_dtype dt = CF_DTYPE_NULL;
    cf_fusion_mark m;
    if (cfb_parse(fname, args, nargs, kwnames, names, 4, 4, 2, p) < 0 || tensor_arg(st, fname, p[0], &fo, &in) < 0 ||
        int_list(st, p[1], fname, "dims", dims, &nd) < 0)
        return NULL;
    if (p[2] && (keep = PyObject_IsTrue(p[2])) < 0)
        return NULL;
    if (p[3] && p[3] != Py_None && cfb_dtype(st, p[3], fname, "dtype", &dt) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, cf_op_reduce(fo->f, op, in, nd, dims, keep, dt, &out), &out);
}

static PyObject *op_sum(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return reduction(m, CF_OP_SUM, a, n, k); }
static PyObject *op_prod(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return reduction(m, CF_OP_PROD, a, n, k); }
static PyObject *op_max(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return reduction(m, CF_OP_MAX, a, n, k); }
static PyObject *op_min(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return reduction(m, CF_OP_MIN, a, n, k); }

static PyObject *variance(PyObject *mod, int with_mean, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"arg", "dims", "correction", "keepdim"};
    const char *fname = with_mean ? "var_mean" : "var";
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[4];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID, mean = CF_NO_ID;
    int64_t dims[CF_MAX_DIMS];
    long long corr = 1;
    int nd, keep = 0;
    cf_fusion_mark m;
    cf_status s;
    if (cfb_parse(fname, args, nargs, kwnames, names, 4, 4, 2, p) < 0 || tensor_arg(st, fname, p[0], &fo, &in) < 0 ||
        int_list(st, p[1], fname, "dims", dims, &nd) < 0)
        return NULL;
    if (p[2]) {
        if (!PyLong_Check(p[2]) || PyBool_Check(p[2]))
            return PyErr_Format(PyExc_TypeError, "%s() argument 'correction' must be int, not '%.100s'", fname, Py_TYPE(p[2])->tp_name);
        int overflow = 0;
        corr = PyLong_AsLongLongAndOverflow(p[2], &overflow);
        if (overflow)
            return PyErr_Format(PyExc_OverflowError, "%s() argument 'correction' is %R, outside the int64 range", fname, p[2]);
        if (corr == -1 && PyErr_Occurred())
            return NULL;
    }
    if (p[3] && (keep = PyObject_IsTrue(p[3])) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (!with_mean)
        return finish(st, fo, &m, cf_op_var(fo->f, in, nd, dims, corr, keep, &out), &out);
    s = cf_op_var_mean(fo->f, in, nd, dims, corr, keep, &out, &mean);
    if (s) {
        cfb_rollback(fo, &m);
        return cfb_raise(st, s);
    }
    {
        PyObject *v = cfb_wrap_val(st, fo, out), *mu = v ? cfb_wrap_val(st, fo, mean) : NULL, *t;
        if (!mu) {
            Py_XDECREF(v);
            return NULL;
        }
        t = PyTuple_Pack(2, v, mu);
        Py_DECREF(v);
        Py_DECREF(mu);
        return t;
    }
}

static PyObject *op_var(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return variance(m, 0, a, n, k); }
static PyObject *op_var_mean(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return variance(m, 1, a, n, k); }

static PyObject *op_broadcast_in_dim(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"arg", "shape", "broadcast_dims"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[3];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID, shape[CF_MAX_DIMS];
    int64_t bd[CF_MAX_DIMS];
    int ns, nb;
    cf_fusion_mark m;
    if (cfb_parse("broadcast_in_dim", args, nargs, kwnames, names, 3, 3, 3, p) < 0 ||
        tensor_arg(st, "broadcast_in_dim", p[0], &fo, &in) < 0 ||
        int_list(st, p[2], "broadcast_in_dim", "broadcast_dims", bd, &nb) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (cfb_size_list(st, "broadcast_in_dim", "shape", fo, p[1], shape, &ns) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return finish(st, fo, &m, cf_op_broadcast_in_dim(fo->f, in, ns, shape, nb, bd, &out), &out);
}

static PyObject *op_broadcast(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"arg", "is_broadcast_dim"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[2], *seq;
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    bool flags[CF_MAX_DIMS];
    Py_ssize_t n, i;
    cf_fusion_mark m;
    if (cfb_parse("broadcast", args, nargs, kwnames, names, 2, 2, 2, p) < 0 || tensor_arg(st, "broadcast", p[0], &fo, &in) < 0)
        return NULL;
    /* A snapshot: an item's __bool__ may change the caller's list. */
    if (!(seq = PySequence_Tuple(p[1]))) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "broadcast() argument 'is_broadcast_dim' must be a sequence of bools, not '%.100s'", Py_TYPE(p[1])->tp_name);
        }
        return NULL;
    }
    n = PyTuple_GET_SIZE(seq);
    if (n > CF_MAX_DIMS) {
        Py_DECREF(seq);
        return cfb_raise_fmt(st, CF_ERR_VALUE, "broadcast(): argument 'is_broadcast_dim' has %zd entries; at most %d dims are supported", n, CF_MAX_DIMS);
    }
    for (i = 0; i < n; i++) {
        PyObject *b = PyTuple_GET_ITEM(seq, i);
        /* numpy's bool scalars count as bools too */
        if (!PyBool_Check(b) && strncmp(Py_TYPE(b)->tp_name, "numpy.bool", 10) != 0) {
            Py_DECREF(seq);
            return PyErr_Format(PyExc_TypeError, "broadcast() argument 'is_broadcast_dim': item %zd must be a bool, not '%.100s'", i, Py_TYPE(b)->tp_name);
        }
        {
            int t = PyObject_IsTrue(b);
            if (t < 0) {
                Py_DECREF(seq);
                return NULL;
            }
            flags[i] = t != 0;
        }
    }
    Py_DECREF(seq);
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, cf_op_broadcast(fo->f, in, (int)n, flags, &out), &out);
}

typedef cf_status (*sized_fn)(cf_fusion *, cf_id, int, const cf_id *, cf_id *);

static PyObject *sized_op(PyObject *mod, const char *fname, const char *argname, sized_fn fn, PyObject *const *args,
                          Py_ssize_t nargs, PyObject *kwnames)
{
    const char *names[] = {"arg", argname};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[2];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID, shape[CF_MAX_DIMS];
    int ns;
    cf_fusion_mark m;
    if (cfb_parse(fname, args, nargs, kwnames, names, 2, 2, 2, p) < 0 || tensor_arg(st, fname, p[0], &fo, &in) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (cfb_size_list(st, fname, argname, fo, p[1], shape, &ns) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return finish(st, fo, &m, fn(fo->f, in, ns, shape, &out), &out);
}

static PyObject *op_expand(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return sized_op(m, "expand", "shape", cf_op_expand, a, n, k); }
static PyObject *op_reshape(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return sized_op(m, "reshape", "new_shape", cf_op_reshape, a, n, k); }

typedef cf_status (*dims_fn)(cf_fusion *, cf_id, int, const int64_t *, cf_id *);

static PyObject *dims_op(PyObject *mod, const char *fname, dims_fn fn, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    static const char *const names[] = {"arg", "dims"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[2];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    int64_t dims[CF_MAX_DIMS];
    int nd;
    cf_fusion_mark m;
    if (cfb_parse(fname, args, nargs, kwnames, names, 2, 2, 2, p) < 0 || tensor_arg(st, fname, p[0], &fo, &in) < 0 ||
        int_list(st, p[1], fname, "dims", dims, &nd) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, fn(fo->f, in, nd, dims, &out), &out);
}

static PyObject *op_permute(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return dims_op(m, "permute", cf_op_permute, a, n, k); }
static PyObject *op_squeeze(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return dims_op(m, "squeeze", cf_op_squeeze, a, n, k); }

static PyObject *op_full(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"shape", "fill_value", "dtype"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[3];
    FusionObject *fo;
    cf_id shape[CF_MAX_DIMS], fill, out = CF_NO_ID;
    cf_dtype dt;
    int ns;
    cf_fusion_mark m;
    if (cfb_parse("full", args, nargs, kwnames, names, 3, 3, 3, p) < 0 || cfb_dtype(st, p[2], "full", "dtype", &dt) < 0 ||
        cfb_find_fusion(st, "full", p, 2, &fo) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (cfb_size_list(st, "full", "shape", fo, p[0], shape, &ns) < 0 ||
        cfb_operand(st, "full", "fill_value", fo, p[1], 1, &fill) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return finish(st, fo, &m, cf_op_full(fo->f, ns, shape, fill, dt, &out), &out);
}

static PyObject *op_iota(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"length", "start", "step", "dtype"};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[4];
    FusionObject *fo;
    cf_id len, start = CF_NO_ID, step = CF_NO_ID, out = CF_NO_ID;
    cf_dtype dt = CF_DTYPE_INT;
    cf_fusion_mark m;
    if (cfb_parse("iota", args, nargs, kwnames, names, 4, 4, 1, p) < 0 || cfb_find_fusion(st, "iota", p, 3, &fo) < 0)
        return NULL;
    if (p[3] && p[3] != Py_None && cfb_dtype(st, p[3], "iota", "dtype", &dt) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (cfb_operand(st, "iota", "length", fo, p[0], 1, &len) < 0 ||
        (p[1] && p[1] != Py_None && cfb_operand(st, "iota", "start", fo, p[1], 1, &start) < 0) ||
        (p[2] && p[2] != Py_None && cfb_operand(st, "iota", "step", fo, p[2], 1, &step) < 0)) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return finish(st, fo, &m, cf_op_iota(fo->f, len, start, step, dt, &out), &out);
}

/* --- docstrings and the table --------------------------------------------------- */
#define DOC_UNARY(name)                                                                                    \
    #name "(x)\n--\n\nElementwise " #name " (nvFuser's " #name ").\n\nParameters\n----------\n"          \
          "x : TensorView or Scalar\n    The operand.\n\nReturns\n-------\nTensorView or Scalar\n"          \
          "    A new value of the fusion; its dtype follows nvFuser's type promotion.\n"
#define DOC_BINARY(name)                                                                                   \
    #name "(lhs, rhs)\n--\n\nElementwise " #name " (nvFuser's " #name ").\n\nParameters\n----------\n"   \
          "lhs : TensorView, Scalar or number\n    The left operand.\n"                                        \
          "rhs : TensorView, Scalar or number\n    The right operand.\n\nReturns\n-------\n"                  \
          "TensorView or Scalar\n    A new value; the dtype follows nvFuser's type promotion.\n"
#define FASTKW (METH_FASTCALL | METH_KEYWORDS)
#define CFB_DEF_UNARY(name, E, cat) {#name, (PyCFunction)(void (*)(void))op_##name, FASTKW, DOC_UNARY(name)},
#define CFB_DEF_BINARY(name, E, cat) {#name, (PyCFunction)(void (*)(void))op_##name, FASTKW, DOC_BINARY(name)},
#define DEF(name, doc) {#name, (PyCFunction)(void (*)(void))op_##name, FASTKW, doc},
#define RED_DOC(name, what)                                                                                 \
    #name "(arg, dims, keepdim=False, dtype=None)\n--\n\n" what " over dims.\n\nParameters\n----------\n"   \
          "arg : TensorView\n    The input.\ndims : sequence of int\n    Dims to reduce (negative counts from the end).\n" \
          "keepdim : bool\n    Keep reduced dims as broadcast dims of size 1.\n"                                \
          "dtype : DataType, optional\n    Cast the input to this type first.\n\nReturns\n-------\nTensorView\n"

static PyMethodDef op_defs[] = {
    CF_UNARY_OPS(CFB_DEF_UNARY)
    CF_BINARY_OPS(CFB_DEF_BINARY)
    DEF(where, "where(pred, x, y)\n--\n\nElementwise select: x where pred is true, else y.\n\nParameters\n----------\n"
               "pred : TensorView or Scalar\n    The condition.\nx : TensorView, Scalar or number\n    Taken where pred is true.\n"
               "y : TensorView, Scalar or number\n    Taken elsewhere.\n\nReturns\n-------\nTensorView or Scalar\n")
    DEF(clamp, "clamp(x, min, max)\n--\n\nElementwise min(max(x, min), max).\n\nParameters\n----------\n"
               "x : TensorView or Scalar\n    The operand.\nmin : TensorView, Scalar or number\n    Lower bound.\n"
               "max : TensorView, Scalar or number\n    Upper bound.\n\nReturns\n-------\nTensorView or Scalar\n")
    DEF(lerp, "lerp(start, end, weight)\n--\n\nElementwise start + weight * (end - start).\n\nParameters\n----------\n"
              "start : TensorView, Scalar or number\n    Start.\nend : TensorView, Scalar or number\n    End.\n"
              "weight : TensorView, Scalar or number\n    Weight.\n\nReturns\n-------\nTensorView or Scalar\n")
    DEF(addcmul, "addcmul(x, tensor1, tensor2, value)\n--\n\nElementwise x + value * tensor1 * tensor2.\n\nParameters\n----------\n"
                 "x : TensorView, Scalar or number\n    Addend.\ntensor1 : TensorView, Scalar or number\n    First factor.\n"
                 "tensor2 : TensorView, Scalar or number\n    Second factor.\nvalue : TensorView, Scalar or number\n    Scale.\n\n"
                 "Returns\n-------\nTensorView or Scalar\n")
    DEF(threshold, "threshold(x, threshold, value)\n--\n\nElementwise x if x > threshold else value.\n\nParameters\n----------\n"
                   "x : TensorView or Scalar\n    The operand.\nthreshold : TensorView, Scalar or number\n    The threshold.\n"
                   "value : TensorView, Scalar or number\n    The replacement.\n\nReturns\n-------\nTensorView or Scalar\n")
    DEF(cast, "cast(arg, dtype)\n--\n\nConvert to another dtype.\n\nParameters\n----------\narg : TensorView\n    The input.\n"
              "dtype : DataType\n    The target type.\n\nReturns\n-------\nTensorView\n")
    DEF(set, "set(arg)\n--\n\nA copy of arg.\n\nParameters\n----------\narg : TensorView\n    The input.\n\nReturns\n-------\nTensorView\n")
    DEF(sum, RED_DOC(sum, "Sum"))
    DEF(prod, RED_DOC(prod, "Product"))
    DEF(max, RED_DOC(max, "Maximum"))
    DEF(min, RED_DOC(min, "Minimum"))
    DEF(var, "var(arg, dims, correction=1, keepdim=False)\n--\n\nVariance over dims.\n\nParameters\n----------\n"
             "arg : TensorView\n    The input.\ndims : sequence of int\n    Dims to reduce.\ncorrection : int\n    Divide by n - correction.\n"
             "keepdim : bool\n    Keep reduced dims.\n\nReturns\n-------\nTensorView\n")
    DEF(var_mean, "var_mean(arg, dims, correction=1, keepdim=False)\n--\n\nVariance and mean over dims.\n\nParameters\n----------\n"
                  "arg : TensorView\n    The input.\ndims : sequence of int\n    Dims to reduce.\ncorrection : int\n    Divide by n - correction.\n"
                  "keepdim : bool\n    Keep reduced dims.\n\nReturns\n-------\ntuple of TensorView\n    (var, mean)\n")
    DEF(broadcast_in_dim, "broadcast_in_dim(arg, shape, broadcast_dims)\n--\n\nPlace arg's dims at broadcast_dims of shape.\n\n"
                          "Parameters\n----------\narg : TensorView\n    The input.\nshape : sequence of int or Scalar\n    The result's shape.\n"
                          "broadcast_dims : sequence of int\n    Where each input dim goes.\n\nReturns\n-------\nTensorView\n")
    DEF(broadcast, "broadcast(arg, is_broadcast_dim)\n--\n\nInsert broadcast dims where is_broadcast_dim is True.\n\nParameters\n----------\n"
                   "arg : TensorView\n    The input.\nis_broadcast_dim : sequence of bool\n    One entry per result dim.\n\nReturns\n-------\nTensorView\n")
    DEF(expand, "expand(arg, shape)\n--\n\nExpand broadcast dims to shape (-1 keeps a dim).\n\nParameters\n----------\n"
                "arg : TensorView\n    The input.\nshape : sequence of int or Scalar\n    The result's shape.\n\nReturns\n-------\nTensorView\n")
    DEF(reshape, "reshape(arg, new_shape)\n--\n\nThe same elements in a new shape (one -1 is inferred).\n\nParameters\n----------\n"
                 "arg : TensorView\n    The input.\nnew_shape : sequence of int or Scalar\n    The result's shape.\n\nReturns\n-------\nTensorView\n")
    DEF(permute, "permute(arg, dims)\n--\n\nReorder dims.\n\nParameters\n----------\narg : TensorView\n    The input.\n"
                 "dims : sequence of int\n    Result dim i is input dim dims[i].\n\nReturns\n-------\nTensorView\n")
    DEF(squeeze, "squeeze(arg, dims)\n--\n\nRemove size-1 dims.\n\nParameters\n----------\narg : TensorView\n    The input.\n"
                 "dims : sequence of int\n    Dims to remove.\n\nReturns\n-------\nTensorView\n")
    DEF(full, "full(shape, fill_value, dtype)\n--\n\nA tensor filled with one value.\n\nParameters\n----------\n"
              "shape : sequence of int or Scalar\n    The shape.\nfill_value : Scalar or number\n    The value.\n"
              "dtype : DataType\n    The dtype.\n\nReturns\n-------\nTensorView\n")
    DEF(iota, "iota(length, start=None, step=None, dtype=None)\n--\n\nstart, start + step, ... (length values).\n\n"
              "Parameters\n----------\nlength : int or Scalar\n    Number of values.\nstart : number or Scalar, optional\n    First value (0).\n"
              "step : number or Scalar, optional\n    Increment (1).\ndtype : DataType, optional\n    Int, Int32, Float or Double; None means DataType.Int.\n\nReturns\n-------\nTensorView\n")
    {NULL, NULL, 0, NULL},
};

int cfb_init_ops(PyObject *m, cfb_state *st)
{
    PyObject *ops = PyModule_New("cfuser._C.ops"), *name = NULL;
    PyMethodDef *d;
    (void)st;
    if (!ops)
        return -1;
    if (PyModule_AddStringConstant(ops, "__doc__", "The ops of a fusion (nvFuser's names); also reached as fd.ops.") < 0)
        goto fail;
    name = PyUnicode_FromString("cfuser.ops");
    if (!name)
        goto fail;
    for (d = op_defs; d->ml_name; d++) {
        PyObject *fn = PyCMethod_New(d, m, name, NULL);
        if (!fn || PyModule_AddObject(ops, d->ml_name, fn) < 0) {
            Py_XDECREF(fn);
            goto fail;
        }
    }
    Py_DECREF(name);
    if (PyModule_AddObject(m, "ops", ops) < 0) {
        Py_DECREF(ops);
        return -1;
    }
    return 0;
fail:
    Py_XDECREF(name);
    Py_DECREF(ops);
    return -1;
}
