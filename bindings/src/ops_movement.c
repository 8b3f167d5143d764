/* ops_movement.c - the Python entries of slice, pad, cat and select
 * (argument names from the op registry: ops_args.h). */
#include "module.h"
#include "ops_args.h"
#include "ops_movement.h"

/* Pad widths: two per dim. */
#define MOVE_MAX_WIDTHS (2 * CF_MAX_DIMS)

static PyObject *finish(cfb_state *st, FusionObject *fo, const cf_fusion_mark *m, cf_status s, const cf_id *out)
{
    if (s) {
        cfb_rollback(fo, m);
        return cfb_raise(st, s);
    }
    return cfb_wrap_val(st, fo, *out);
}

/* A TensorView of the active fusion (argument argname, item k or -1). */
static int tensor_of(cfb_state *st, const char *fname, const char *argname, Py_ssize_t k, PyObject *o,
                     FusionObject **fo, cf_id *id)
{
    FusionObject *f = NULL;
    int ok = cfb_is_val(st, o);
    if (ok && !(f = cfb_node_fusion((NodeObject *)o)))
        return -1;
    if (!ok || cf_val_kind_of(f->f, ((NodeObject *)o)->id) != CF_VAL_TENSOR) {
        if (k < 0)
            cfb_type_error(st, fname, argname, "a TensorView", o);
        else
            PyErr_Format(PyExc_TypeError, "%s() argument '%s': item %zd must be a TensorView, not '%.100s'", fname,
                         argname, k, Py_TYPE(o)->tp_name);
        return -1;
    }
    if (!cfb_active_fusion(st)) {
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): no active fusion: argument '%s' belongs to a fusion that is not being "
                      "defined (its 'with' block has closed); reopen it with 'with fd:' or a FusionGuard", fname, argname);
        return -1;
    }
    if (cfb_active_fusion(st) != f || (*fo && *fo != f)) {
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): argument '%s' belongs to a different fusion than the active one", fname, argname);
        return -1;
    }
    *fo = f;
    *id = ((NodeObject *)o)->id;
    return 0;
}

/* A Python int argument (not bool). */
static int int_arg(const char *fname, const char *argname, PyObject *o, int64_t *out)
{
    int overflow = 0;
    PyObject *idx;
    if (PyBool_Check(o) || !PyIndex_Check(o)) {
        PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be int, not '%.100s'", fname, argname, Py_TYPE(o)->tp_name);
        return -1;
    }
    if (!(idx = PyNumber_Index(o)))
        return -1;
    *out = PyLong_AsLongLongAndOverflow(idx, &overflow);
    Py_DECREF(idx);
    if (overflow) {
        PyErr_Format(PyExc_OverflowError, "%s() argument '%s' does not fit in int64", fname, argname);
        return -1;
    }
    return *out == -1 && PyErr_Occurred() ? -1 : 0;
}


PyObject *op_slice(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_slice];
    FusionObject *fo = NULL;
    cf_id in, out = CF_NO_ID, starts[CF_MAX_DIMS], ends[CF_MAX_DIMS];
    int64_t steps[CF_MAX_DIMS];
    int ns, ne, nst = 0, manual = 0;
    cf_fusion_mark m;
    if (cfb_parse("slice", args, nargs, kwnames, CFB_ARGS(slice), p) < 0 ||
        tensor_of(st, "slice", "arg", -1, p[0], &fo, &in) < 0)
        return NULL;
    if (p[3] && p[3] != Py_None && cfb_op_int_list(st, p[3], "slice", "strides", steps, &nst) < 0)
        return NULL;
    if (p[4] && (manual = PyObject_IsTrue(p[4])) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (cfb_int_operand_list(st, "slice", "start_indices", fo, p[1], CF_MAX_DIMS, starts, &ns) < 0 ||
        cfb_int_operand_list(st, "slice", "end_indices", fo, p[2], CF_MAX_DIMS, ends, &ne) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return finish(st, fo, &m,
                  cf_op_slice(fo->f, in, ns, starts, ne, ends, nst, p[3] && p[3] != Py_None ? steps : NULL, manual != 0, &out),
                  &out);
}

PyObject *op_pad(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_pad];
    FusionObject *fo = NULL;
    cf_id in, out = CF_NO_ID, widths[MOVE_MAX_WIDTHS], value = CF_NO_ID;
    int n;
    cf_fusion_mark m;
    if (cfb_parse("pad", args, nargs, kwnames, CFB_ARGS(pad), p) < 0 || tensor_of(st, "pad", "arg", -1, p[0], &fo, &in) < 0)
        return NULL;
    m = cf_fusion_mark_take(fo->f);
    if (cfb_int_operand_list(st, "pad", "pad_widths", fo, p[1], MOVE_MAX_WIDTHS, widths, &n) < 0 ||
        (p[2] && p[2] != Py_None && cfb_operand(st, "pad", "value", fo, p[2], 1, &value) < 0)) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return finish(st, fo, &m, cf_op_pad(fo->f, in, n, widths, value, &out), &out);
}

PyObject *op_cat(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_cat], *seq;
    FusionObject *fo = NULL;
    cf_id out = CF_NO_ID, stack[16], *ids = stack;
    int64_t dim = 0;
    int manual = 0;
    Py_ssize_t n, i;
    cf_fusion_mark m;
    PyObject *res = NULL;
    if (cfb_parse("cat", args, nargs, kwnames, CFB_ARGS(cat), p) < 0 || (p[1] && int_arg("cat", "dim", p[1], &dim) < 0) ||
        (p[2] && (manual = PyObject_IsTrue(p[2])) < 0))
        return NULL;
    if (cfb_is_val(st, p[0]) || !(seq = PySequence_Tuple(p[0]))) {
        if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_TypeError))
            return NULL;
        PyErr_Clear();
        return PyErr_Format(PyExc_TypeError, "cat() argument 'tensors' must be a sequence of TensorViews, not '%.100s'",
                            Py_TYPE(p[0])->tp_name);
    }
    n = PyTuple_GET_SIZE(seq);
    if (n == 0) {
        Py_DECREF(seq);
        return cfb_raise_fmt(st, CF_ERR_VALUE, "cat(): argument 'tensors' is empty; expected at least one tensor");
    }
    if (n > INT32_MAX / 2) {
        Py_DECREF(seq);
        return cfb_raise_fmt(st, CF_ERR_VALUE, "cat(): argument 'tensors' has %zd entries; too many", n);
    }
    if (n > (Py_ssize_t)(sizeof stack / sizeof stack[0]) && !(ids = PyMem_Malloc(sizeof(cf_id) * (size_t)n))) {
        Py_DECREF(seq);
        return PyErr_NoMemory();
    }
    for (i = 0; i < n; i++)
        if (tensor_of(st, "cat", "tensors", i, PyTuple_GET_ITEM(seq, i), &fo, &ids[i]) < 0)
            goto done;
    m = cf_fusion_mark_take(fo->f);
    res = finish(st, fo, &m, cf_op_cat(fo->f, (int)n, ids, dim, manual != 0, &out), &out);
done:
    if (ids != stack)
        PyMem_Free(ids);
    Py_DECREF(seq);
    return res;
}

PyObject *op_select(PyObject *mod, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    cfb_state *st = cfb_state_of_module(mod);
    PyObject *p[CFB_NARGS_select];
    FusionObject *fo = NULL;
    cf_id in, index, out = CF_NO_ID;
    int64_t dim;
    cf_fusion_mark m;
    if (cfb_parse("select", args, nargs, kwnames, CFB_ARGS(select), p) < 0 ||
        tensor_of(st, "select", "arg", -1, p[0], &fo, &in) < 0 || int_arg("select", "dim", p[2], &dim) < 0)
        return NULL;
    if (PyFloat_Check(p[1]) || PyBool_Check(p[1]))
        return PyErr_Format(PyExc_TypeError, "select() argument 'index' must be an int or an integer Scalar, not '%.100s'",
                            Py_TYPE(p[1])->tp_name);
    m = cf_fusion_mark_take(fo->f);
    if (cfb_operand(st, "select", "index", fo, p[1], 1, &index) < 0) {
        cfb_rollback(fo, &m);
        return NULL;
    }
    return finish(st, fo, &m, cf_op_select(fo->f, in, index, dim, &out), &out);
}
