/* ops_indexing.c - the entries of index_select, gather, take_along_axis,
 * scatter and embedding_fwd (listed in the method table ops.c generates
 * from the op registry; declared in ops_indexing.h). */
#include "module.h"
#include "ops_args.h"
#include "ops_indexing.h"

/* A TensorView argument (a Scalar or a number is a TypeError here; the
 * core checks dtypes and ranks). */
static int tensor_in(cfb_state *st, const char *fname, const char *argname, FusionObject *fo, PyObject *o, cf_id *id)
{
    if (!cfb_is_val(st, o)) {
        cfb_type_error(st, fname, argname, "a TensorView", o);
        return -1;
    }
    if (cfb_operand(st, fname, argname, fo, o, 0, id) < 0)
        return -1;
    if (cf_val_kind_of(fo->f, *id) != CF_VAL_TENSOR) {
        PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be a TensorView, not a Scalar", fname, argname);
        return -1;
    }
    return 0;
}

static int dim_in(const char *fname, PyObject *o, int64_t *dim)
{
    long long v;
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s() argument 'dim' must be int, not '%.100s'", fname, Py_TYPE(o)->tp_name);
        return -1;
    }
    if ((v = PyLong_AsLongLong(o)) == -1 && PyErr_Occurred())
        return -1;
    *dim = v;
    return 0;
}

static PyObject *done(cfb_state *st, FusionObject *fo, const cf_fusion_mark *m, cf_status s, const cf_id *out)
{
    if (s) {
        cfb_rollback(fo, m);
        return cfb_raise(st, s);
    }
    return cfb_wrap_val(st, fo, *out);
}

typedef cf_status (*gather_fn)(cf_fusion *, cf_id, cf_id, int64_t, cf_id *);

/* index_select, gather and take_along_axis: (arg, index, dim) */
static PyObject *gather_op(PyObject *mod, const char *fname, gather_fn fn, PyObject *const *args, Py_ssize_t nargs,
                           PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_gather];
    FusionObject *fo;
    cf_id arg, index, out = CF_NO_ID;
    int64_t dim;
    cf_fusion_mark m;
    if (cfb_parse(fname, args, nargs, kwnames, CFB_ARGS(gather), p) < 0 || cfb_find_fusion(st, fname, p, 2, &fo) < 0 ||
        tensor_in(st, fname, "arg", fo, p[0], &arg) < 0 || tensor_in(st, fname, "index", fo, p[1], &index) < 0 ||
        dim_in(fname, p[2], &dim) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return done(st, fo, &m, fn(fo->f, arg, index, dim, &out), &out);
}

PyObject *op_index_select(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k)
{
    return gather_op(m, "index_select", cf_op_index_select, a, n, k);
}

PyObject *op_gather(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k)
{
    return gather_op(m, "gather", cf_op_gather, a, n, k);
}

PyObject *op_take_along_axis(PyObject *m, PyObject *const *a, Py_ssize_t n, PyObject *k)
{
    return gather_op(m, "take_along_axis", cf_op_take_along_axis, a, n, k);
}

PyObject *op_scatter(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_scatter];
    FusionObject *fo;
    cf_id arg, index, src, out = CF_NO_ID;
    int64_t dim;
    cf_fusion_mark m;
    if (cfb_parse("scatter", args, nargs, kwnames, CFB_ARGS(scatter), p) < 0 || cfb_find_fusion(st, "scatter", p, 3, &fo) < 0 ||
        tensor_in(st, "scatter", "arg", fo, p[0], &arg) < 0 || tensor_in(st, "scatter", "index", fo, p[1], &index) < 0 ||
        dim_in("scatter", p[3], &dim) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (cfb_operand(st, "scatter", "src", fo, p[2], 1, &src) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return done(st, fo, &m, cf_op_scatter(fo->f, arg, index, src, dim, &out), &out);
}

/* An optional scalar argument of embedding_fwd: None, a Scalar or a
 * number of the kinds allowed. */
static int opt_scalar(cfb_state *st, FusionObject *fo, PyObject *o, const char *argname, int kinds, cf_id *out)
{
    *out = CF_NO_ID;
    if (!o || o == Py_None)
        return 0;
    if (!cfb_is_val(st, o)) {
        int ok = PyBool_Check(o) ? (kinds & 4) : PyLong_Check(o) ? (kinds & 1) : PyFloat_Check(o) ? (kinds & 2) : 0;
        if (!ok) {
            cfb_type_error(st, "embedding_fwd", argname, kinds == 4 ? "a bool, a Scalar or None" : kinds == 1 ? "an int, a Scalar or None"
                                                                                                              : "a float, a Scalar or None", o);
            return -1;
        }
    }
    if (cfb_operand(st, "embedding_fwd", argname, fo, o, 1, out) < 0)
        return -1;
    if (cf_val_kind_of(fo->f, *out) != CF_VAL_SCALAR) {
        PyErr_Format(PyExc_TypeError, "embedding_fwd() argument '%s' must be a Scalar, not a TensorView", argname);
        return -1;
    }
    return 0;
}

PyObject *op_embedding_fwd(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"padding_idx", "max_norm", "norm_type", "scale_grad_by_freq", "sparse"};
    static const int kinds[] = {1, 3, 3, 4, 4};
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_embedding_fwd];
    FusionObject *fo;
    cf_id input, weight, opt[5], out = CF_NO_ID;
    cf_fusion_mark m;
    if (cfb_parse("embedding_fwd", args, nargs, kwnames, CFB_ARGS(embedding_fwd), p) < 0 ||
        cfb_find_fusion(st, "embedding_fwd", p, 2, &fo) < 0 || tensor_in(st, "embedding_fwd", "input", fo, p[0], &input) < 0 ||
        tensor_in(st, "embedding_fwd", "weight", fo, p[1], &weight) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    for (int i = 0; i < 5; i++)
        if (opt_scalar(st, fo, p[2 + i], names[i], kinds[i], &opt[i]) < 0) {
            cfb_rollback(fo, &m);
            return NULL;
        }
    return done(st, fo, &m, cf_op_embedding_fwd(fo->f, input, weight, opt[0], opt[1], opt[2], &out), &out);
}
