/* ops.c - one C entry per op, gathered in the submodule cfuser._C.ops.
 * Every function's self is the _C module (its state holds the types).
 * Argument names, the entries of elementwise ops and reductions, the
 * docstrings and the method table are generated from the op registry
 * (core/ops/ops.toml): ops_args.h here, ops_defs.inc at the end. */
#include "module.h"
#include "ops_args.h"
#include "ops_movement.h"
#include "ops_indexing.h"
#include "ops_scan.h"

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
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_cast];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    cf_dtype dt;
    cf_fusion_mark m;
    if (cfb_parse("cast", args, nargs, kwnames, CFB_ARGS(cast), p) < 0 || tensor_arg(st, "cast", p[0], &fo, &in) < 0 ||
        cfb_dtype(st, p[1], "cast", "dtype", &dt) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, cf_op_cast(fo->f, in, dt, &out), &out);
}

typedef cf_status (*copy_fn)(cf_fusion *, cf_id, cf_id *);

/* set and segment_set (which take set's arguments) */
static PyObject *copy_op(PyObject *mod, const char *fname, copy_fn fn, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_set];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    cf_fusion_mark m;
    if (cfb_parse(fname, args, nargs, kwnames, CFB_ARGS(set), p) < 0 || tensor_arg(st, fname, p[0], &fo, &in) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, fn(fo->f, in, &out), &out);
}

static PyObject *op_set(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return copy_op(m, "set", cf_op_set, a, n, k); }
static PyObject *op_segment_set(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return copy_op(m, "segment_set", cf_op_segment_set, a, n, k); }

/* dims-like int lists */
static int int_list(cfb_state *st, PyObject *o, const char *fname, const char *argname, int64_t *buf, int *n)
{
    int64_t *heap = NULL;
    Py_ssize_t k = cfb_as_int64_array(o, fname, argname, buf, CF_MAX_DIMS, CF_MAX_DIMS, &heap);
    if (k == -2) {
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s() argument '%s' has more than %d entries; at most %d dims are supported", fname, argname, CF_MAX_DIMS, CF_MAX_DIMS);
        return -1;
    }
    if (k < 0)
        return -1;
    cfb_int64_array_free(buf, heap); /* limit == cap: never on the heap */
    *n = (int)k;
    return 0;
}

static PyObject *reduction(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    const char *fname = cf_op_name(op);
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_sum]; /* every impl = "reduction" op takes sum's arguments */
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    int64_t dims[CF_MAX_DIMS];
    int nd, keep = 0;
    cf_dtype dt = CF_DTYPE_NULL;
    cf_fusion_mark m;
    if (cfb_parse(fname, args, nargs, kwnames, CFB_ARGS(sum), p) < 0 || tensor_arg(st, fname, p[0], &fo, &in) < 0 ||
        int_list(st, p[1], fname, "dims", dims, &nd) < 0)
        return NULL;
    if (p[2] && (keep = PyObject_IsTrue(p[2])) < 0)
        return NULL;
    if (p[3] && p[3] != Py_None && cfb_dtype(st, p[3], fname, "dtype", &dt) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, cf_op_reduce(fo->f, op, in, nd, dims, keep, dt, &out), &out);
}

static PyObject *variance(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    int with_mean = op == CF_OP_VAR_MEAN;
    const char *fname = cf_op_name(op);
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_var]; /* var_mean takes var's arguments */
    FusionObject *fo;
    cf_id in, out = CF_NO_ID, mean = CF_NO_ID;
    int64_t dims[CF_MAX_DIMS];
    long long corr = 1;
    int nd, keep = 0;
    cf_fusion_mark m;
    cf_status s;
    if (cfb_parse(fname, args, nargs, kwnames, CFB_ARGS(var), p) < 0 || tensor_arg(st, fname, p[0], &fo, &in) < 0 ||
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

static PyObject *op_broadcast_in_dim(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_broadcast_in_dim];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID, shape[CF_MAX_DIMS];
    int64_t bd[CF_MAX_DIMS];
    int ns, nb;
    cf_fusion_mark m;
    if (cfb_parse("broadcast_in_dim", args, nargs, kwnames, CFB_ARGS(broadcast_in_dim), p) < 0 ||
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
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_broadcast], *seq;
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    bool flags[CF_MAX_DIMS];
    Py_ssize_t n, i;
    cf_fusion_mark m;
    if (cfb_parse("broadcast", args, nargs, kwnames, CFB_ARGS(broadcast), p) < 0 || tensor_arg(st, "broadcast", p[0], &fo, &in) < 0)
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

/* names: arg and the size list's name (expand's, reshape's CFB_NAMES) */
static PyObject *sized_op(PyObject *mod, const char *fname, const char *const *names, sized_fn fn, PyObject *const *args,
                          Py_ssize_t nargs, PyObject *kwnames)
{
    const char *argname = names[1];
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

static PyObject *op_expand(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return sized_op(m, "expand", CFB_NAMES_expand, cf_op_expand, a, n, k); }
static PyObject *op_reshape(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return sized_op(m, "reshape", CFB_NAMES_reshape, cf_op_reshape, a, n, k); }

typedef cf_status (*dims_fn)(cf_fusion *, cf_id, int, const int64_t *, cf_id *);

static PyObject *dims_op(PyObject *mod, const char *fname, dims_fn fn, PyObject *const *args, Py_ssize_t nargs,
                         PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_permute]; /* squeeze takes permute's arguments */
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    int64_t dims[CF_MAX_DIMS];
    int nd;
    cf_fusion_mark m;
    if (cfb_parse(fname, args, nargs, kwnames, CFB_ARGS(permute), p) < 0 || tensor_arg(st, fname, p[0], &fo, &in) < 0 ||
        int_list(st, p[1], fname, "dims", dims, &nd) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, fn(fo->f, in, nd, dims, &out), &out);
}

static PyObject *op_permute(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return dims_op(m, "permute", cf_op_permute, a, n, k); }
static PyObject *op_squeeze(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k) { return dims_op(m, "squeeze", cf_op_squeeze, a, n, k); }

static PyObject *op_stride_order(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_stride_order];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    int64_t order[CF_MAX_DIMS];
    int nd;
    cf_fusion_mark m;
    if (cfb_parse("stride_order", args, nargs, kwnames, CFB_ARGS(stride_order), p) < 0 ||
        tensor_arg(st, "stride_order", p[0], &fo, &in) < 0 || int_list(st, p[1], "stride_order", "stride_order", order, &nd) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return finish(st, fo, &m, cf_op_stride_order(fo->f, in, nd, order, &out), &out);
}

static PyObject *op_full(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_full];
    FusionObject *fo;
    cf_id shape[CF_MAX_DIMS], fill, out = CF_NO_ID;
    cf_dtype dt;
    int ns;
    cf_fusion_mark m;
    if (cfb_parse("full", args, nargs, kwnames, CFB_ARGS(full), p) < 0 || cfb_dtype(st, p[2], "full", "dtype", &dt) < 0 ||
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
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_iota];
    FusionObject *fo;
    cf_id len, start = CF_NO_ID, step = CF_NO_ID, out = CF_NO_ID;
    cf_dtype dt = CF_DTYPE_INT;
    cf_fusion_mark m;
    if (cfb_parse("iota", args, nargs, kwnames, CFB_ARGS(iota), p) < 0 || cfb_find_fusion(st, "iota", p, 3, &fo) < 0)
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

static PyObject *op_triu(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_triu];
    FusionObject *fo;
    cf_id in, diag, out = CF_NO_ID;
    cf_fusion_mark m;
    if (cfb_parse("triu", args, nargs, kwnames, CFB_ARGS(triu), p) < 0 || tensor_arg(st, "triu", p[0], &fo, &in) < 0)
        return NULL;
    if (p[1] && (PyFloat_Check(p[1]) || PyBool_Check(p[1])))
        return PyErr_Format(PyExc_TypeError, "triu() argument 'diagonal' must be an int or an integer Scalar, not '%.100s'", Py_TYPE(p[1])->tp_name);
    m = cf_fusion_mark_take(fo->f);
    if (!p[1]) {
        cf_scalar zero;
        cf_status s;
        zero.dtype = CF_DTYPE_INT;
        zero.v.i = 0;
        if ((s = cf_fusion_constant(fo->f, &zero, &diag)))
            return finish(st, fo, &m, s, &diag);
    } else if (cfb_operand(st, "triu", "diagonal", fo, p[1], 1, &diag) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return finish(st, fo, &m, cf_op_triu(fo->f, in, diag, &out), &out);
}

/* size and shape: the extents (Scalars) of a tensor's non-reduction axes,
 * as TensorView.shape() gives them; no node is added. */
static int tensor_only(cfb_state *st, const char *fname, PyObject *o, FusionObject **fo, cf_id *id)
{
    if (tensor_arg(st, fname, o, fo, id) < 0)
        return -1;
    if (cf_val_kind_of((*fo)->f, *id) != CF_VAL_TENSOR) {
        PyErr_Format(PyExc_TypeError, "%s() argument 'arg' must be a TensorView, not a Scalar", fname);
        return -1;
    }
    return 0;
}

/* The extent of the k-th non-reduction axis of tv. */
static cf_id extent_of(const cf_fusion *f, cf_id tv, int k)
{
    int n = cf_tensor_ndim(f, tv), i;
    for (i = 0; i < n; i++) {
        cf_id a = cf_tensor_axis(f, tv, i);
        if (cf_iterdomain_type(f, a) != CF_ITER_REDUCTION && k-- == 0)
            return cf_iterdomain_extent(f, a);
    }
    return CF_NO_ID;
}

static PyObject *op_size(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_size];
    FusionObject *fo;
    cf_id in;
    long long dim;
    int n;
    if (cfb_parse("size", args, nargs, kwnames, CFB_ARGS(size), p) < 0 || tensor_only(st, "size", p[0], &fo, &in) < 0)
        return NULL;
    if (!PyLong_Check(p[1]) || PyBool_Check(p[1]))
        return PyErr_Format(PyExc_TypeError, "size() argument 'dim' must be int, not '%.100s'", Py_TYPE(p[1])->tp_name);
    if ((dim = PyLong_AsLongLong(p[1])) == -1 && PyErr_Occurred())
        return NULL;
    n = cf_tensor_ndim_noreduction(fo->f, in);
    if (dim < -n || dim >= n)
        return cfb_raise_fmt(st, CF_ERR_INDEX, "size(): dim %lld is out of range for a tensor of %d dims", dim, n);
    return cfb_wrap_val(st, fo, extent_of(fo->f, in, (int)(dim < 0 ? dim + n : dim)));
}

static PyObject *op_shape(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_shape], *list;
    FusionObject *fo;
    cf_id in;
    int n, k;
    if (cfb_parse("shape", args, nargs, kwnames, CFB_ARGS(shape), p) < 0 || tensor_only(st, "shape", p[0], &fo, &in) < 0)
        return NULL;
    n = cf_tensor_ndim_noreduction(fo->f, in);
    if (!(list = PyList_New(n)))
        return NULL;
    for (k = 0; k < n; k++) {
        PyObject *w = cfb_wrap_val(st, fo, extent_of(fo->f, in, k));
        if (!w) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, k, w);
    }
    return list;
}

int cfb_op_tensor_arg(cfb_state *st, const char *fname, PyObject *o, FusionObject **fo, cf_id *id)
{
    return tensor_arg(st, fname, o, fo, id);
}

int cfb_op_int_list(cfb_state *st, PyObject *o, const char *fname, const char *argname, int64_t *buf, int *n)
{
    return int_list(st, o, fname, argname, buf, n);
}

/* The generated entries (elementwise ops, reductions) and the method table
 * with every op's docstring and text signature. */
#include "ops_defs.inc"

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
    if (cfb_init_ir_dump(m, cfb_op_print_specs) < 0)
        goto fail_ops;
    if (PyModule_AddObject(m, "ops", ops) < 0) {
        Py_DECREF(ops);
        return -1;
    }
    return 0;
fail:
    Py_XDECREF(name);
fail_ops:
    Py_DECREF(ops);
    return -1;
}
