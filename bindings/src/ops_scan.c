/* ops_scan.c - Python entries of cumsum, cumprod, cummin, cummax, argsort,
 * topk and welford (argument names and docstrings come from the registry;
 * ops_defs.inc calls these). */
#include "ops_args.h"
#include "ops_scan.h"

/* An int argument (not a bool); -1 with TypeError otherwise. */
static int int_arg(PyObject *o, const char *fname, const char *argname, long long *out)
{
    if (!PyLong_Check(o) || PyBool_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be int, not '%.100s'", fname, argname, Py_TYPE(o)->tp_name);
        return -1;
    }
    *out = PyLong_AsLongLong(o);
    if (*out == -1 && PyErr_Occurred())
        return -1;
    return 0;
}

static int bool_arg(PyObject *o, int *out)
{
    *out = 0;
    if (!o)
        return 0;
    return (*out = PyObject_IsTrue(o)) < 0 ? -1 : 0;
}

/* A tuple of n new wrappers of ids, or NULL. */
static PyObject *wrap_tuple(cfb_state *st, FusionObject *fo, int n, const cf_id *ids)
{
    PyObject *t = PyTuple_New(n);
    if (!t)
        return NULL;
    for (int i = 0; i < n; i++) {
        PyObject *w = cfb_wrap_val(st, fo, ids[i]);
        if (!w) {
            Py_DECREF(t);
            return NULL;
        }
        PyTuple_SET_ITEM(t, i, w);
    }
    return t;
}

/* Roll back and raise on error, else wrap the n outputs (one: the value,
 * more: a tuple). */
static PyObject *done(cfb_state *st, FusionObject *fo, const cf_fusion_mark *m, cf_status s, int n,
                      const cf_id *ids)
{
    if (s) {
        cfb_rollback(fo, m);
        return cfb_raise(st, s);
    }
    return n == 1 ? cfb_wrap_val(st, fo, ids[0]) : wrap_tuple(st, fo, n, ids);
}

PyObject *cfb_scan_op(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    const char *fname = cf_op_name(op);
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_cumsum]; /* every scan takes cumsum's arguments */
    FusionObject *fo;
    cf_id in, init = CF_NO_ID, out = CF_NO_ID;
    long long dim;
    cf_fusion_mark m;
    if (cfb_parse(fname, args, nargs, kwnames, CFB_ARGS(cumsum), p) < 0 ||
        cfb_op_tensor_arg(st, fname, p[0], &fo, &in) < 0 || int_arg(p[1], fname, "dim", &dim) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (p[2] && p[2] != Py_None && cfb_operand(st, fname, "init", fo, p[2], 1, &init) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return done(st, fo, &m, cf_op_scan(fo->f, op, in, dim, init, &out), 1, &out);
}

PyObject *cfb_argsort(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_argsort];
    FusionObject *fo;
    cf_id in, out = CF_NO_ID;
    long long dim;
    int desc, stable;
    cf_fusion_mark m;
    (void)op;
    if (cfb_parse("argsort", args, nargs, kwnames, CFB_ARGS(argsort), p) < 0 ||
        cfb_op_tensor_arg(st, "argsort", p[0], &fo, &in) < 0 || int_arg(p[1], "argsort", "dim", &dim) < 0 ||
        bool_arg(p[2], &desc) < 0 || bool_arg(p[3], &stable) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return done(st, fo, &m, cf_op_argsort(fo->f, in, dim, desc, stable, &out), 1, &out);
}

PyObject *cfb_topk(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_topk];
    FusionObject *fo;
    cf_id in, k, outs[2] = {CF_NO_ID, CF_NO_ID};
    long long dim = -1;
    int largest = 1, sorted;
    cf_fusion_mark m;
    (void)op;
    if (cfb_parse("topk", args, nargs, kwnames, CFB_ARGS(topk), p) < 0 ||
        cfb_op_tensor_arg(st, "topk", p[0], &fo, &in) < 0 || (p[2] && int_arg(p[2], "topk", "dim", &dim) < 0) ||
        (p[3] && bool_arg(p[3], &largest) < 0) || bool_arg(p[4], &sorted) < 0)
        return NULL;
    if (PyFloat_Check(p[1]) || PyBool_Check(p[1]))
        return PyErr_Format(PyExc_TypeError, "topk() argument 'k' must be an int or an integer Scalar, not '%.100s'", Py_TYPE(p[1])->tp_name);
    m = cf_fusion_mark_take(fo->f);
    if (cfb_operand(st, "topk", "k", fo, p[1], 1, &k) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return done(st, fo, &m, cf_op_topk(fo->f, in, k, dim, largest, sorted, &outs[0], &outs[1]), 2, outs);
}

PyObject *cfb_welford(PyObject *mod, cf_opcode op, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_welford];
    FusionObject *fo;
    cf_id in, outs[3] = {CF_NO_ID, CF_NO_ID, CF_NO_ID};
    int64_t dims[CF_MAX_DIMS];
    int nd;
    cf_fusion_mark m;
    (void)op;
    if (cfb_parse("welford", args, nargs, kwnames, CFB_ARGS(welford), p) < 0 ||
        cfb_op_tensor_arg(st, "welford", p[0], &fo, &in) < 0 || cfb_op_int_list(st, p[1], "welford", "dims", dims, &nd) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    return done(st, fo, &m, cf_op_welford(fo->f, in, nd, dims, &outs[0], &outs[1], &outs[2]), 3, outs);
}
