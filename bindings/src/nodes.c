/* nodes.c - wrappers of IR nodes: Val, TensorView, Scalar, Expr, IterDomain,
 * TensorDomain. Each holds a strong, GC-visible reference to its Fusion and
 * is cached in it (one wrapper per node while it lives). */
#include "module.h"

static PyObject **cache_slot(FusionObject *fo, int kind, cf_id id, int grow)
{
    PyObject ***arr;
    int *cap;
    switch (kind) {
    case CFB_VAL: arr = &fo->vals; cap = &fo->capvals; break;
    case CFB_EXPR: arr = &fo->exprs; cap = &fo->capexprs; break;
    case CFB_ITER: arr = &fo->iters; cap = &fo->capiters; break;
    default: arr = &fo->doms; cap = &fo->capdoms; break;
    }
    if (id >= *cap) {
        int ncap = *cap ? *cap : 16;
        PyObject **q;
        if (!grow)
            return NULL;
        while (ncap <= id)
            ncap *= 2;
        q = PyMem_Realloc(*arr, sizeof(PyObject *) * (size_t)ncap);
        if (!q) {
            PyErr_NoMemory();
            return NULL;
        }
        memset(q + *cap, 0, sizeof(PyObject *) * (size_t)(ncap - *cap));
        *arr = q;
        *cap = ncap;
    }
    return &(*arr)[id];
}

static PyObject *wrap(PyTypeObject *tp, FusionObject *fo, int kind, cf_id id)
{
    PyObject **slot = cache_slot(fo, kind, id, 1);
    NodeObject *n;
    if (!slot)
        return NULL;
    if (*slot)
        return Py_NewRef(*slot);
    n = PyObject_GC_New(NodeObject, tp);
    if (!n)
        return NULL;
    n->fusion = (FusionObject *)Py_NewRef((PyObject *)fo);
    n->id = id;
    n->kind = kind;
    *slot = (PyObject *)n;
    PyObject_GC_Track(n);
    return (PyObject *)n;
}

PyObject *cfb_wrap_val(cfb_state *st, FusionObject *fo, cf_id id)
{
    PyTypeObject *tp = cf_val_kind_of(fo->f, id) == CF_VAL_TENSOR ? st->TensorView : st->Scalar;
    return wrap(tp, fo, CFB_VAL, id);
}

PyObject *cfb_wrap_expr(cfb_state *st, FusionObject *fo, cf_id id) { return wrap(st->Expr, fo, CFB_EXPR, id); }
PyObject *cfb_wrap_iter(cfb_state *st, FusionObject *fo, cf_id id) { return wrap(st->IterDomain, fo, CFB_ITER, id); }
PyObject *cfb_wrap_dom(cfb_state *st, FusionObject *fo, cf_id tv) { return wrap(st->TensorDomain, fo, CFB_DOM, tv); }

int cfb_is_val(cfb_state *st, PyObject *o) { return PyObject_TypeCheck(o, st->Val); }

FusionObject *cfb_node_fusion(NodeObject *n)
{
    if (n->fusion)
        return n->fusion;
    if (n->id == CF_NO_ID) {
        cfb_state *st = cfb_state_of_obj((PyObject *)n);
        if (st)
            cfb_raise_fmt(st, CF_ERR_VALUE, "this node no longer exists: it was made while another op was being built, and that op failed and was rolled back");
    } else {
        PyErr_SetString(PyExc_RuntimeError, "cfuser: this node's Fusion was cleared by the garbage collector");
    }
    return NULL;
}

/* Wrappers of nodes from `first` on leave the cache and become dead. */
static void kill_from(FusionObject *fo, PyObject **arr, int cap, int first)
{
    int i;
    for (i = first < 0 ? 0 : first; i < cap; i++) {
        NodeObject *n = (NodeObject *)arr[i];
        if (!n)
            continue;
        arr[i] = NULL;
        n->id = CF_NO_ID;
        Py_CLEAR(n->fusion);
    }
    (void)fo;
}

void cfb_rollback(FusionObject *fo, const cf_fusion_mark *m)
{
    Py_INCREF(fo);
    cf_fusion_rollback(fo->f, m);
    kill_from(fo, fo->vals, fo->capvals, m->nvals);
    kill_from(fo, fo->exprs, fo->capexprs, m->nexprs);
    kill_from(fo, fo->iters, fo->capiters, m->niters);
    kill_from(fo, fo->doms, fo->capdoms, m->nvals);
    Py_DECREF(fo);
}

/* Drop this wrapper from its fusion's cache, then the reference. */
static void forget(NodeObject *n)
{
    if (n->fusion) {
        PyObject **slot = cache_slot(n->fusion, n->kind, n->id, 0);
        if (slot && *slot == (PyObject *)n)
            *slot = NULL;
    }
}

static int node_traverse(NodeObject *n, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(n));
    Py_VISIT(n->fusion);
    return 0;
}

static int node_clear(NodeObject *n)
{
    forget(n);
    Py_CLEAR(n->fusion);
    return 0;
}

static void node_dealloc(NodeObject *n)
{
    PyTypeObject *tp = Py_TYPE(n);
    PyObject_GC_UnTrack(n);
    node_clear(n);
    tp->tp_free((PyObject *)n);
    Py_DECREF(tp);
}

/* --- text ------------------------------------------------------------------ */
static PyObject *node_text(NodeObject *n, int repr)
{
    char buf[512], *big = NULL;
    size_t need;
    PyObject *res;
    const char *tname = Py_TYPE(n)->tp_name;
    const char *dot = strrchr(tname, '.');
    cf_fusion *f;
    if (!n->fusion) {
        const char *why = n->id == CF_NO_ID ? "removed by a rolled-back op" : "fusion cleared";
        return PyUnicode_FromFormat(repr ? "<cfuser.%s (%s)>" : "%s (%s)", dot ? dot + 1 : tname, why);
    }
    f = n->fusion->f;
    switch (n->kind) {
    case CFB_VAL: need = cf_val_to_string(f, n->id, buf, sizeof buf); break;
    case CFB_EXPR: need = cf_expr_to_string(f, n->id, buf, sizeof buf); break;
    case CFB_ITER: need = cf_iterdomain_to_string(f, n->id, buf, sizeof buf); break;
    default: need = cf_val_to_string(f, n->id, buf, sizeof buf); break;
    }
    if (need >= sizeof buf) {
        big = PyMem_Malloc(need + 1);
        if (!big)
            return PyErr_NoMemory();
        switch (n->kind) {
        case CFB_VAL: case CFB_DOM: cf_val_to_string(f, n->id, big, need + 1); break;
        case CFB_EXPR: cf_expr_to_string(f, n->id, big, need + 1); break;
        default: cf_iterdomain_to_string(f, n->id, big, need + 1); break;
        }
    }
    if (n->kind == CFB_DOM) {
        /* a domain prints its axes: the part in brackets */
        const char *s = big ? big : buf, *lb = strchr(s, '[');
        res = repr ? PyUnicode_FromFormat("<cfuser.TensorDomain %s>", lb ? lb : s) : PyUnicode_FromString(lb ? lb : s);
    } else if (!repr) {
        res = PyUnicode_FromString(big ? big : buf);
    } else if (n->kind == CFB_VAL && cf_val_kind_of(f, n->id) == CF_VAL_SCALAR) {
        char nm[64];
        cf_scalar c;
        cf_val_name(f, n->id, nm, sizeof nm);
        if (!cf_val_constant(f, n->id, &c))
            res = PyUnicode_FromFormat("<cfuser.Scalar %s>", nm);
        else if (cf_dtype_is_float(c.dtype)) {
            char num[40];
            PyOS_snprintf(num, sizeof num, "%.17g", c.v.f);
            res = PyUnicode_FromFormat("<cfuser.Scalar %s = %s>", nm, num);
        } else if (cf_dtype_is_bool(c.dtype))
            res = PyUnicode_FromFormat("<cfuser.Scalar %s = %s>", nm, c.v.b ? "True" : "False");
        else
            res = PyUnicode_FromFormat("<cfuser.Scalar %s = %lld>", nm, (long long)c.v.i);
    } else {
        res = PyUnicode_FromFormat("<cfuser.%s %s>", dot ? dot + 1 : tname, big ? big : buf);
    }
    PyMem_Free(big);
    return res;
}

static PyObject *node_repr(NodeObject *n) { return node_text(n, 1); }
static PyObject *node_str(NodeObject *n) { return node_text(n, 0); }

#define FUSION_OR_RAISE(n)           \
    FusionObject *fo = cfb_node_fusion((NodeObject *)(n)); \
    if (!fo)                         \
        return NULL;                 \
    cfb_state *st = cfb_state_of_obj((PyObject *)(n)); \
    if (!st)                         \
        return NULL;

static PyObject *int_arg(cfb_state *st, PyObject *const *args, Py_ssize_t nargs, const char *fname, long *out)
{
    int overflow = 0;
    if (nargs != 1) {
        PyErr_Format(PyExc_TypeError, "%s() takes exactly one argument (%zd given)", fname, nargs);
        return NULL;
    }
    if (!PyLong_Check(args[0])) {
        PyErr_Format(PyExc_TypeError, "%s() argument 'index' must be int, not '%.100s'", fname, Py_TYPE(args[0])->tp_name);
        return NULL;
    }
    *out = PyLong_AsLongAndOverflow(args[0], &overflow);
    if (overflow) {
        cfb_raise_fmt(st, CF_ERR_INDEX, "%s(): index %R is out of range", fname, args[0]);
        return NULL;
    }
    if (*out == -1 && PyErr_Occurred())
        return NULL;
    return Py_None;
}

/* --- Val ---------------------------------------------------------------------- */
static PyObject *val_definition(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    cf_id d = cf_val_definition(fo->f, self->id);
    if (d == CF_NO_ID)
        Py_RETURN_NONE;
    return cfb_wrap_expr(st, fo, d);
}

static PyObject *val_uses(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    int n = cf_val_num_uses(fo->f, self->id), i;
    PyObject *list = PyList_New(n);
    if (!list)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *e = cfb_wrap_expr(st, fo, cf_val_use(fo->f, self->id, i));
        if (!e) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, e);
    }
    return list;
}

static PyObject *val_is_symbolic(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    (void)st;
    return PyBool_FromLong(cf_val_is_symbolic(fo->f, self->id));
}

static PyObject *val_is_tensor(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    (void)st;
    return PyBool_FromLong(cf_val_kind_of(fo->f, self->id) == CF_VAL_TENSOR);
}

static PyObject *val_dtype(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    return cfb_dtype_obj(st, cf_val_dtype(fo->f, self->id));
}

static PyObject *val_fusion(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    (void)st;
    return Py_NewRef((PyObject *)fo);
}

static PyMethodDef val_methods[] = {
    {"definition", (PyCFunction)val_definition, METH_NOARGS,
     "definition($self, /)\n--\n\nThe Expr that computes this value, or None for inputs and constants."},
    {"uses", (PyCFunction)val_uses, METH_NOARGS, "uses($self, /)\n--\n\nThe Exprs that read this value, in order."},
    {"is_symbolic", (PyCFunction)val_is_symbolic, METH_NOARGS,
     "is_symbolic($self, /)\n--\n\nTrue unless the value is a constant scalar."},
    {"is_tensor", (PyCFunction)val_is_tensor, METH_NOARGS, "is_tensor($self, /)\n--\n\nTrue for a TensorView."},
    {"dtype", (PyCFunction)val_dtype, METH_NOARGS, "dtype($self, /)\n--\n\nThe value's DataType."},
    {"fusion", (PyCFunction)val_fusion, METH_NOARGS, "fusion($self, /)\n--\n\nThe Fusion that owns this value."},
    {NULL, NULL, 0, NULL},
};

/* --- TensorView ------------------------------------------------------------------ */
/* The axes of tensor tv as IterDomains, or (extents) their sizes as
 * Scalars with the reduction axes left out, as nvFuser's shape() does. */
static PyObject *axes_list(cfb_state *st, FusionObject *fo, cf_id tv, int extents)
{
    int n = cf_tensor_ndim(fo->f, tv), i;
    PyObject *list = PyList_New(0);
    if (!list)
        return NULL;
    for (i = 0; i < n; i++) {
        cf_id a = cf_tensor_axis(fo->f, tv, i);
        PyObject *w;
        if (extents && cf_iterdomain_type(fo->f, a) == CF_ITER_REDUCTION)
            continue;
        w = extents ? cfb_wrap_val(st, fo, cf_iterdomain_extent(fo->f, a)) : cfb_wrap_iter(st, fo, a);
        if (!w || PyList_Append(list, w) < 0) {
            Py_XDECREF(w);
            Py_DECREF(list);
            return NULL;
        }
        Py_DECREF(w);
    }
    return list;
}

static PyObject *tv_domain(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    return cfb_wrap_dom(st, fo, self->id);
}

static PyObject *tv_logical_domain(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    return axes_list(st, fo, self->id, 0);
}

static PyObject *tv_axis(NodeObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long i;
    FUSION_OR_RAISE(self);
    int n = cf_tensor_ndim(fo->f, self->id);
    if (!int_arg(st, args, nargs, "axis", &i))
        return NULL;
    if (i < -n || i >= n)
        return cfb_raise_fmt(st, CF_ERR_INDEX, "axis(): index %ld is out of range for a tensor of %d dims", i, n);
    if (i < 0)
        i += n;
    return cfb_wrap_iter(st, fo, cf_tensor_axis(fo->f, self->id, (int)i));
}

static PyObject *tv_shape(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    return axes_list(st, fo, self->id, 1);
}

/* size(i): the extent of the i-th axis counted as shape() counts them
 * (reduction axes left out), negative from the end. */
static PyObject *tv_size(NodeObject *self, PyObject *const *args, Py_ssize_t nargs)
{
    long i;
    int n, k, a;
    FUSION_OR_RAISE(self);
    n = cf_tensor_ndim_noreduction(fo->f, self->id);
    if (!int_arg(st, args, nargs, "size", &i))
        return NULL;
    if (i < -n || i >= n)
        return cfb_raise_fmt(st, CF_ERR_INDEX, "size(): index %ld is out of range for a tensor of %d dims", i, n);
    if (i < 0)
        i += n;
    for (a = 0, k = -1; a < cf_tensor_ndim(fo->f, self->id); a++) {
        cf_id ax = cf_tensor_axis(fo->f, self->id, a);
        if (cf_iterdomain_type(fo->f, ax) != CF_ITER_REDUCTION && ++k == i)
            return cfb_wrap_val(st, fo, cf_iterdomain_extent(fo->f, ax));
    }
    return cfb_raise_fmt(st, CF_ERR_INDEX, "size(): index %ld is out of range", i);
}

static PyObject *tv_ndim(NodeObject *self, void *closure)
{
    FusionObject *fo = cfb_node_fusion(self);
    if (!fo)
        return NULL;
    return PyLong_FromLong(cf_tensor_ndim_noreduction(fo->f, self->id));
}

static PyMethodDef tv_methods[] = {
    {"domain", (PyCFunction)tv_domain, METH_NOARGS, "domain($self, /)\n--\n\nThe TensorDomain of this tensor."},
    {"logical_domain", (PyCFunction)tv_logical_domain, METH_NOARGS,
     "logical_domain($self, /)\n--\n\nThe IterDomains of the logical domain (reduction axes included)."},
    {"root_domain", (PyCFunction)tv_logical_domain, METH_NOARGS,
     "root_domain($self, /)\n--\n\nThe IterDomains of the root domain (the logical domain: cfuser has no rfactor)."},
    {"allocation_domain", (PyCFunction)tv_logical_domain, METH_NOARGS,
     "allocation_domain($self, /)\n--\n\nThe IterDomains in allocation order (the logical order)."},
    {"axis", (PyCFunction)(void (*)(void))tv_axis, METH_FASTCALL,
     "axis($self, index, /)\n--\n\nThe IterDomain at index (negative counts from the end)."},
    {"shape", (PyCFunction)tv_shape, METH_NOARGS,
     "shape($self, /)\n--\n\nThe extents (Scalars) of the non-reduction axes; pass them to shape arguments."},
    {"size", (PyCFunction)(void (*)(void))tv_size, METH_FASTCALL,
     "size($self, index, /)\n--\n\nThe extent (a Scalar) of the index-th non-reduction axis, as shape()[index]; "
     "usable in ops and shape arguments."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef tv_getset[] = {
    {"ndim", (getter)tv_ndim, NULL, "Number of dims, reduction axes excluded.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* --- Scalar ------------------------------------------------------------------------ */
static PyObject *scalar_value(NodeObject *self, PyObject *unused)
{
    cf_scalar s;
    FUSION_OR_RAISE(self);
    (void)st;
    if (!cf_val_constant(fo->f, self->id, &s))
        Py_RETURN_NONE;
    if (cf_dtype_is_float(s.dtype))
        return PyFloat_FromDouble(s.v.f);
    if (cf_dtype_is_bool(s.dtype))
        return PyBool_FromLong(s.v.b);
    return PyLong_FromLongLong(s.v.i);
}

static PyMethodDef scalar_methods[] = {
    {"value", (PyCFunction)scalar_value, METH_NOARGS,
     "value($self, /)\n--\n\nThe constant's value, or None for a symbolic scalar."},
    {NULL, NULL, 0, NULL},
};

/* --- Expr ---------------------------------------------------------------------------- */
static PyObject *expr_io(NodeObject *self, PyObject *const *args, Py_ssize_t nargs, int output)
{
    long i;
    FUSION_OR_RAISE(self);
    int n = output ? cf_expr_num_outputs(fo->f, self->id) : cf_expr_num_inputs(fo->f, self->id);
    if (!int_arg(st, args, nargs, output ? "output" : "input", &i))
        return NULL;
    if (i < -n || i >= n)
        return cfb_raise_fmt(st, CF_ERR_INDEX, "%s(): index %ld is out of range for an expression with %d %ss",
                             output ? "output" : "input", i, n, output ? "output" : "input");
    if (i < 0)
        i += n;
    return cfb_wrap_val(st, fo, output ? cf_expr_output(fo->f, self->id, (int)i) : cf_expr_input(fo->f, self->id, (int)i));
}

static PyObject *expr_input(NodeObject *self, PyObject *const *a, Py_ssize_t n) { return expr_io(self, a, n, 0); }
static PyObject *expr_output(NodeObject *self, PyObject *const *a, Py_ssize_t n) { return expr_io(self, a, n, 1); }

static PyObject *expr_list(NodeObject *self, int output)
{
    FUSION_OR_RAISE(self);
    int n = output ? cf_expr_num_outputs(fo->f, self->id) : cf_expr_num_inputs(fo->f, self->id), i;
    PyObject *list = PyList_New(n);
    if (!list)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *w = cfb_wrap_val(st, fo, output ? cf_expr_output(fo->f, self->id, i) : cf_expr_input(fo->f, self->id, i));
        if (!w) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, w);
    }
    return list;
}

static PyObject *expr_inputs(NodeObject *self, PyObject *unused) { return expr_list(self, 0); }
static PyObject *expr_outputs(NodeObject *self, PyObject *unused) { return expr_list(self, 1); }

static PyObject *expr_num(NodeObject *self, int output)
{
    FusionObject *fo = cfb_node_fusion(self);
    if (!fo)
        return NULL;
    return PyLong_FromLong(output ? cf_expr_num_outputs(fo->f, self->id) : cf_expr_num_inputs(fo->f, self->id));
}

static PyObject *expr_num_inputs(NodeObject *self, PyObject *unused) { return expr_num(self, 0); }
static PyObject *expr_num_outputs(NodeObject *self, PyObject *unused) { return expr_num(self, 1); }

static PyObject *expr_op_name(NodeObject *self, PyObject *unused)
{
    FusionObject *fo = cfb_node_fusion(self);
    if (!fo)
        return NULL;
    return PyUnicode_FromString(cf_op_name(cf_expr_op(fo->f, self->id)));
}

static PyMethodDef expr_methods[] = {
    {"input", (PyCFunction)(void (*)(void))expr_input, METH_FASTCALL, "input($self, index, /)\n--\n\nThe index-th input value."},
    {"output", (PyCFunction)(void (*)(void))expr_output, METH_FASTCALL, "output($self, index, /)\n--\n\nThe index-th output value."},
    {"inputs", (PyCFunction)expr_inputs, METH_NOARGS, "inputs($self, /)\n--\n\nAll input values."},
    {"outputs", (PyCFunction)expr_outputs, METH_NOARGS, "outputs($self, /)\n--\n\nAll output values."},
    {"num_inputs", (PyCFunction)expr_num_inputs, METH_NOARGS, "num_inputs($self, /)\n--\n\nNumber of inputs."},
    {"num_outputs", (PyCFunction)expr_num_outputs, METH_NOARGS, "num_outputs($self, /)\n--\n\nNumber of outputs."},
    {"op_name", (PyCFunction)expr_op_name, METH_NOARGS, "op_name($self, /)\n--\n\nThe op's name, e.g. 'add'."},
    {NULL, NULL, 0, NULL},
};

/* --- IterDomain ------------------------------------------------------------------------ */
static PyObject *iter_extent(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    return cfb_wrap_val(st, fo, cf_iterdomain_extent(fo->f, self->id));
}

static PyObject *iter_is(NodeObject *self, cf_iter_type t)
{
    FusionObject *fo = cfb_node_fusion(self);
    if (!fo)
        return NULL;
    return PyBool_FromLong(cf_iterdomain_type(fo->f, self->id) == t);
}

static PyObject *iter_is_reduction(NodeObject *self, PyObject *unused) { return iter_is(self, CF_ITER_REDUCTION); }
static PyObject *iter_is_broadcast(NodeObject *self, PyObject *unused) { return iter_is(self, CF_ITER_BROADCAST); }

static PyMethodDef iter_methods[] = {
    {"extent", (PyCFunction)iter_extent, METH_NOARGS, "extent($self, /)\n--\n\nThe axis' size (a Scalar)."},
    {"is_reduction", (PyCFunction)iter_is_reduction, METH_NOARGS, "is_reduction($self, /)\n--\n\nTrue for a reduction axis."},
    {"is_broadcast", (PyCFunction)iter_is_broadcast, METH_NOARGS, "is_broadcast($self, /)\n--\n\nTrue for a broadcast axis."},
    {NULL, NULL, 0, NULL},
};

/* --- TensorDomain ------------------------------------------------------------------------ */
static PyObject *dom_logical(NodeObject *self, PyObject *unused)
{
    FUSION_OR_RAISE(self);
    return axes_list(st, fo, self->id, 0);
}

static PyObject *dom_ndim(NodeObject *self, void *closure)
{
    FusionObject *fo = cfb_node_fusion(self);
    if (!fo)
        return NULL;
    return PyLong_FromLong(cf_tensor_ndim(fo->f, self->id));
}

static PyMethodDef dom_methods[] = {
    {"logical", (PyCFunction)dom_logical, METH_NOARGS, "logical($self, /)\n--\n\nThe IterDomains of the logical domain."},
    {NULL, NULL, 0, NULL},
};

static PyGetSetDef dom_getset[] = {
    {"ndim", (getter)dom_ndim, NULL, "Number of axes, reduction axes included.", NULL},
    {NULL, NULL, NULL, NULL, NULL},
};

/* --- type specs --------------------------------------------------------------------------- */
#define NODE_SLOTS(doc, methods)                                                                 \
    {Py_tp_doc, (void *)(doc)}, {Py_tp_methods, (methods)}, {Py_tp_repr, (void *)node_repr},     \
        {Py_tp_str, (void *)node_str}, {Py_tp_traverse, (void *)node_traverse},                  \
        {Py_tp_clear, (void *)node_clear}, {Py_tp_dealloc, (void *)node_dealloc}

static PyType_Slot val_slots[] = {NODE_SLOTS("A value of a fusion: a tensor or a scalar.", val_methods), {0, NULL}};
static PyType_Slot tv_slots[] = {NODE_SLOTS("A tensor value of a fusion.", tv_methods), {Py_tp_getset, tv_getset}, {0, NULL}};
static PyType_Slot scalar_slots[] = {NODE_SLOTS("A scalar value of a fusion: a constant or symbolic.", scalar_methods), {0, NULL}};
static PyType_Slot expr_slots[] = {NODE_SLOTS("An expression: an op applied to values.", expr_methods), {0, NULL}};
static PyType_Slot iter_slots[] = {NODE_SLOTS("One axis of a tensor's domain.", iter_methods), {0, NULL}};
static PyType_Slot dom_slots[] = {NODE_SLOTS("The axes of a tensor.", dom_methods), {Py_tp_getset, dom_getset}, {0, NULL}};

#define NODE_FLAGS (Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_IMMUTABLETYPE | Py_TPFLAGS_DISALLOW_INSTANTIATION)
PyType_Spec cfb_val_spec = {"cfuser.Val", sizeof(NodeObject), 0, NODE_FLAGS | Py_TPFLAGS_BASETYPE, val_slots};
PyType_Spec cfb_tensorview_spec = {"cfuser.TensorView", sizeof(NodeObject), 0, NODE_FLAGS, tv_slots};
PyType_Spec cfb_scalar_spec = {"cfuser.Scalar", sizeof(NodeObject), 0, NODE_FLAGS, scalar_slots};
PyType_Spec cfb_expr_spec = {"cfuser.Expr", sizeof(NodeObject), 0, NODE_FLAGS, expr_slots};
PyType_Spec cfb_iterdomain_spec = {"cfuser.IterDomain", sizeof(NodeObject), 0, NODE_FLAGS, iter_slots};
PyType_Spec cfb_tensordomain_spec = {"cfuser.TensorDomain", sizeof(NodeObject), 0, NODE_FLAGS, dom_slots};
