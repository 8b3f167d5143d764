/* ir_dump.c - a fusion's IR as plain tuples, for the Python printer
 * (cfuser/_printer.py writes a fusion back as nvFuser's Python definition).
 *
 * _C._ir_dump(fusion) -> (vals, exprs, inputs, outputs, output_aliases),
 * ids being indexes:
 *   vals[v]  = (is_tensor, dtype, name, definition (expr id or -1),
 *               constant value or None, axes ((extent id, iter type), ...),
 *               contiguity (1, 0, -1 per axis), stride order or None,
 *               is_cpu)
 *   exprs[e] = (op name, input ids, output ids, attr dtype or None, keepdim,
 *               correction, ints)
 *   output_aliases[i] = (id of the input output i is written into or -1,
 *               whether output i is returned)
 * _C._op_print_specs: the registry's JSON of where each argument is found
 * (core/ops/opgen.py, gen_print_specs). */
#include "module.h"

#include "cfuser/alloc.h"

static PyObject *ids_tuple(int n, cf_id (*get)(const cf_fusion *, cf_id, int), const cf_fusion *f, cf_id of)
{
    PyObject *t = PyTuple_New(n);
    int i;
    for (i = 0; t && i < n; i++) {
        PyObject *x = PyLong_FromLong((long)get(f, of, i));
        if (!x) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

static PyObject *const_value(const cf_fusion *f, cf_id v)
{
    cf_scalar s;
    if (!cf_val_constant(f, v, &s))
        Py_RETURN_NONE;
    if (cf_dtype_is_float(s.dtype))
        return PyFloat_FromDouble(s.v.f);
    if (cf_dtype_is_bool(s.dtype))
        return PyBool_FromLong(s.v.b);
    return PyLong_FromLongLong((long long)s.v.i);
}

static int name_number(const cf_fusion *f, cf_id v)
{
    char buf[32];
    cf_val_name(f, v, buf, sizeof buf);
    return atoi(buf + 1); /* "T3", "i12": a letter, then the number */
}

static PyObject *tensor_facts(const cf_fusion *f, cf_id v, PyObject **contig, PyObject **order)
{
    int n = cf_tensor_ndim(f, v), d;
    int64_t so[CF_MAX_DIMS];
    PyObject *axes = PyTuple_New(n);
    *contig = PyTuple_New(n);
    *order = NULL;
    if (!axes || !*contig)
        goto fail;
    for (d = 0; d < n; d++) {
        cf_id ax = cf_tensor_axis(f, v, d);
        PyObject *a = Py_BuildValue("(ii)", (int)cf_iterdomain_extent(f, ax), (int)cf_iterdomain_type(f, ax));
        PyObject *c = PyLong_FromLong(cf_tensor_contiguity(f, v, d));
        if (!a || !c) {
            Py_XDECREF(a);
            Py_XDECREF(c);
            goto fail;
        }
        PyTuple_SET_ITEM(axes, d, a);
        PyTuple_SET_ITEM(*contig, d, c);
    }
    if (!cf_tensor_stride_order(f, v, so)) {
        *order = Py_NewRef(Py_None);
        return axes;
    }
    if (!(*order = PyTuple_New(n)))
        goto fail;
    for (d = 0; d < n; d++) {
        PyObject *x = PyLong_FromLongLong((long long)so[d]);
        if (!x)
            goto fail;
        PyTuple_SET_ITEM(*order, d, x);
    }
    return axes;
fail:
    Py_XDECREF(axes);
    Py_CLEAR(*contig);
    Py_CLEAR(*order);
    return NULL;
}

static PyObject *dump_val(cfb_state *st, const cf_fusion *f, cf_id v)
{
    PyObject *value = NULL, *axes = NULL, *contig = NULL, *order = NULL, *res = NULL;
    int tensor = cf_val_kind_of(f, v) == CF_VAL_TENSOR;
    if (!(value = const_value(f, v)))
        return NULL;
    if (tensor) {
        if (!(axes = tensor_facts(f, v, &contig, &order)))
            goto done;
    } else {
        axes = PyTuple_New(0);
        contig = PyTuple_New(0);
        order = Py_NewRef(Py_None);
        if (!axes || !contig)
            goto done;
    }
    {
        PyObject *dt = cfb_dtype_obj(st, cf_val_dtype(f, v));
        if (dt)
            res = Py_BuildValue("(NNiiNNNNN)", PyBool_FromLong(tensor), dt, name_number(f, v),
                                (int)cf_val_definition(f, v), value, axes, contig, order,
                                PyBool_FromLong(tensor && cf_tensor_is_cpu_scalar(f, v)));
        value = axes = contig = order = NULL; /* stolen by "N" (or freed on failure) */
    }
done:
    Py_XDECREF(value);
    Py_XDECREF(axes);
    Py_XDECREF(contig);
    Py_XDECREF(order);
    return res;
}

static PyObject *dump_expr(cfb_state *st, const cf_fusion *f, cf_id e)
{
    cf_expr_attrs a;
    PyObject *ins, *outs, *ints, *dt;
    int i;
    cf_expr_get_attrs(f, e, &a);
    ins = ids_tuple(cf_expr_num_inputs(f, e), cf_expr_input, f, e);
    outs = ids_tuple(cf_expr_num_outputs(f, e), cf_expr_output, f, e);
    ints = PyTuple_New(a.nints > 0 ? a.nints : 0);
    dt = a.dtype == CF_DTYPE_NULL ? Py_NewRef(Py_None) : cfb_dtype_obj(st, a.dtype);
    for (i = 0; ints && i < a.nints; i++) {
        PyObject *x = PyLong_FromLongLong((long long)a.ints[i]);
        if (!x) {
            Py_CLEAR(ints);
            break;
        }
        PyTuple_SET_ITEM(ints, i, x);
    }
    if (!ins || !outs || !ints || !dt) {
        Py_XDECREF(ins);
        Py_XDECREF(outs);
        Py_XDECREF(ints);
        Py_XDECREF(dt);
        return NULL;
    }
    return Py_BuildValue("(sNNNNLN)", cf_op_name(cf_expr_op(f, e)), ins, outs, dt, PyBool_FromLong(a.keepdim),
                         (long long)a.correction, ints);
}

static PyObject *list_of(cfb_state *st, const cf_fusion *f, int n, PyObject *(*one)(cfb_state *, const cf_fusion *, cf_id))
{
    PyObject *t = PyTuple_New(n);
    int i;
    for (i = 0; t && i < n; i++) {
        PyObject *x = one(st, f, (cf_id)i);
        if (!x) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

static cf_id fusion_input_at(const cf_fusion *f, cf_id unused, int i) { (void)unused; return cf_fusion_input(f, i); }
static cf_id fusion_output_at(const cf_fusion *f, cf_id unused, int i) { (void)unused; return cf_fusion_output(f, i); }

static PyObject *output_aliases(const cf_fusion *f)
{
    int i, n = cf_fusion_num_outputs(f);
    PyObject *t = PyTuple_New(n);
    for (i = 0; t && i < n; i++) {
        bool visible;
        int k = cf_fusion_output_alias(f, i, &visible);
        PyObject *x = Py_BuildValue("(lO)", (long)(k >= 0 ? cf_fusion_input(f, k) : -1), visible ? Py_True : Py_False);
        if (!x) {
            Py_CLEAR(t);
            break;
        }
        PyTuple_SET_ITEM(t, i, x);
    }
    return t;
}

static PyObject *ir_dump(PyObject *m, PyObject *arg)
{
    cfb_state *st = cfb_state_of_module(m);
    const cf_fusion *f;
    PyObject *vals, *exprs, *ins, *outs, *aliases;
    if (!PyObject_TypeCheck(arg, st->Fusion))
        return cfb_type_error(st, "_ir_dump", "fusion", "Fusion", arg);
    f = ((FusionObject *)arg)->f;
    /* nothing below calls back into Python, so the fusion cannot change */
    vals = list_of(st, f, cf_fusion_num_vals(f), dump_val);
    exprs = list_of(st, f, cf_fusion_num_exprs(f), dump_expr);
    ins = ids_tuple(cf_fusion_num_inputs(f), fusion_input_at, f, CF_NO_ID);
    outs = ids_tuple(cf_fusion_num_outputs(f), fusion_output_at, f, CF_NO_ID);
    aliases = output_aliases(f);
    if (!vals || !exprs || !ins || !outs || !aliases) {
        Py_XDECREF(vals);
        Py_XDECREF(exprs);
        Py_XDECREF(ins);
        Py_XDECREF(outs);
        Py_XDECREF(aliases);
        return NULL;
    }
    return Py_BuildValue("(NNNNN)", vals, exprs, ins, outs, aliases);
}

static PyMethodDef ir_dump_defs[] = {
    {"_ir_dump", (PyCFunction)ir_dump, METH_O,
     "_ir_dump($module, fusion, /)\n--\n\nThe fusion's nodes as tuples (private: cfuser's printer reads them)."},
    {NULL, NULL, 0, NULL},
};

int cfb_init_ir_dump(PyObject *m, const char *print_specs)
{
    if (PyModule_AddFunctions(m, ir_dump_defs) < 0)
        return -1;
    return PyModule_AddStringConstant(m, "_op_print_specs", print_specs);
}
