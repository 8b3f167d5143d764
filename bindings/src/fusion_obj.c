/* fusion_obj.c - the Fusion and FusionGuard types, define_tensor and
 * define_scalar, and the creation of every type of the module. */
#include "module.h"
#include <structmember.h>

/* --- Fusion ---------------------------------------------------------------- */
static PyObject *fusion_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    FusionObject *fo;
    if ((args && PyTuple_GET_SIZE(args)) || (kw && PyDict_GET_SIZE(kw))) {
        PyErr_SetString(PyExc_TypeError, "Fusion() takes no arguments");
        return NULL;
    }
    fo = (FusionObject *)tp->tp_alloc(tp, 0);
    if (!fo)
        return NULL;
    fo->f = cf_fusion_new();
    if (!fo->f) {
        Py_DECREF(fo);
        return PyErr_NoMemory();
    }
    return (PyObject *)fo;
}

static int fusion_traverse(FusionObject *fo, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(fo));
    return 0;
}

static void fusion_dealloc(FusionObject *fo)
{
    PyTypeObject *tp = Py_TYPE(fo);
    PyObject_GC_UnTrack(fo);
    if (fo->weakreflist)
        PyObject_ClearWeakRefs((PyObject *)fo);
    cf_fusion_release(fo->f);
    PyMem_Free(fo->vals);
    PyMem_Free(fo->exprs);
    PyMem_Free(fo->iters);
    PyMem_Free(fo->doms);
    tp->tp_free((PyObject *)fo);
    Py_DECREF(tp);
}

static PyObject *fusion_val_list(FusionObject *fo, int which)
{
    cfb_state *st = cfb_state_of_obj((PyObject *)fo);
    int n, i;
    PyObject *list;
    if (!st)
        return NULL;
    n = which == 0 ? cf_fusion_num_inputs(fo->f) : which == 1 ? cf_fusion_num_outputs(fo->f)
        : which == 2 ? cf_fusion_num_vals(fo->f) : cf_fusion_num_exprs(fo->f);
    list = PyList_New(n);
    if (!list)
        return NULL;
    for (i = 0; i < n; i++) {
        PyObject *w = which == 0 ? cfb_wrap_val(st, fo, cf_fusion_input(fo->f, i))
                    : which == 1 ? cfb_wrap_val(st, fo, cf_fusion_output(fo->f, i))
                    : which == 2 ? cfb_wrap_val(st, fo, i) : cfb_wrap_expr(st, fo, i);
        if (!w) {
            Py_DECREF(list);
            return NULL;
        }
        PyList_SET_ITEM(list, i, w);
    }
    return list;
}

static PyObject *fusion_inputs(FusionObject *fo, PyObject *u) { return fusion_val_list(fo, 0); }
static PyObject *fusion_outputs(FusionObject *fo, PyObject *u) { return fusion_val_list(fo, 1); }
static PyObject *fusion_vals(FusionObject *fo, PyObject *u) { return fusion_val_list(fo, 2); }
static PyObject *fusion_exprs(FusionObject *fo, PyObject *u) { return fusion_val_list(fo, 3); }

static PyObject *fusion_mark(FusionObject *fo, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames, int output)
{
    static const char *const names[] = {"val", "alias_input"};
    const char *fname = output ? "add_output" : "add_input";
    cfb_state *st = cfb_state_of_obj((PyObject *)fo);
    PyObject *p[2] = {NULL, NULL};
    cf_status s;
    int i;
    if (!st || cfb_parse(fname, args, nargs, kwnames, names, output ? 2 : 1, output ? 2 : 1, 1, p) < 0)
        return NULL;
    if (p[1] == Py_None)
        p[1] = NULL;
    for (i = 0; i < 2; i++) {
        if (!p[i])
            continue;
        if (!cfb_is_val(st, p[i]))
            return cfb_type_error(st, fname, names[i], i ? "a TensorView (an input of the fusion) or None" : "a TensorView or Scalar", p[i]);
        if (((NodeObject *)p[i])->fusion != fo)
            return cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): argument '%s' belongs to a different fusion", fname, names[i]);
    }
    if (!output)
        s = cf_fusion_add_input(fo->f, ((NodeObject *)p[0])->id);
    else if (p[1])
        s = cf_fusion_alias_output(fo->f, ((NodeObject *)p[0])->id, ((NodeObject *)p[1])->id);
    else
        s = cf_fusion_add_output(fo->f, ((NodeObject *)p[0])->id);
    if (s)
        return cfb_raise(st, s);
    Py_RETURN_NONE;
}

static PyObject *fusion_add_input(FusionObject *fo, PyObject *const *a, Py_ssize_t n, PyObject *k) { return fusion_mark(fo, a, n, k, 0); }
static PyObject *fusion_add_output(FusionObject *fo, PyObject *const *a, Py_ssize_t n, PyObject *k) { return fusion_mark(fo, a, n, k, 1); }

static PyObject *fusion_print_math(FusionObject *fo, PyObject *u)
{
    char *text;
    PyObject *res;
    cf_status s = cf_fusion_print_math(fo->f, &text);
    if (s) {
        cfb_state *st = cfb_state_of_obj((PyObject *)fo);
        return st ? cfb_raise(st, s) : NULL;
    }
    res = PyUnicode_FromString(text);
    cf_free(text);
    return res;
}

static PyObject *fusion_structural_hash(FusionObject *fo, PyObject *u)
{
    uint64_t h;
    cf_status s = cf_fusion_hash(fo->f, &h);
    if (s) {
        cfb_state *st = cfb_state_of_obj((PyObject *)fo);
        return st ? cfb_raise(st, s) : NULL;
    }
    return PyLong_FromUnsignedLongLong(h);
}

static PyObject *fusion_structurally_equal(FusionObject *fo, PyObject *other)
{
    cfb_state *st = cfb_state_of_obj((PyObject *)fo);
    bool eq;
    cf_status s;
    if (!st)
        return NULL;
    if (!PyObject_TypeCheck(other, st->Fusion))
        return cfb_type_error(st, "structurally_equal", "other", "a cfuser.Fusion", other);
    if ((s = cf_fusion_equal(fo->f, ((FusionObject *)other)->f, &eq)))
        return cfb_raise(st, s);
    return PyBool_FromLong(eq);
}

static PyObject *fusion_str(FusionObject *fo) { return fusion_print_math(fo, NULL); }

static PyObject *fusion_repr(FusionObject *fo)
{
    int ni = cf_fusion_num_inputs(fo->f), no = cf_fusion_num_outputs(fo->f);
    return PyUnicode_FromFormat("<cfuser.Fusion with %d input%s, %d output%s>", ni, ni == 1 ? "" : "s", no,
                                no == 1 ? "" : "s");
}

static PyMethodDef fusion_methods[] = {
    {"inputs", (PyCFunction)fusion_inputs, METH_NOARGS, "inputs($self, /)\n--\n\nThe fusion's inputs, in order."},
    {"outputs", (PyCFunction)fusion_outputs, METH_NOARGS, "outputs($self, /)\n--\n\nThe fusion's outputs, in order."},
    {"vals", (PyCFunction)fusion_vals, METH_NOARGS, "vals($self, /)\n--\n\nEvery value of the fusion, in creation order."},
    {"exprs", (PyCFunction)fusion_exprs, METH_NOARGS, "exprs($self, /)\n--\n\nEvery expression, in creation (topological) order."},
    {"add_input", (PyCFunction)(void (*)(void))fusion_add_input, METH_FASTCALL | METH_KEYWORDS,
     "add_input($self, val)\n--\n\nMark a value without a definition as an input."},
    {"add_output", (PyCFunction)(void (*)(void))fusion_add_output, METH_FASTCALL | METH_KEYWORDS,
     "add_output($self, val, alias_input=None)\n--\n\nMark a tensor as an output (once). With alias_input (an input tensor of the\n"
     "fusion, same dtype and shape), val is written into that input at the end of\n"
     "every execute (an in-place update) and is not returned unless also added\n"
     "without alias_input; an output that aliases an input returns that input."},
    {"structural_hash", (PyCFunction)fusion_structural_hash, METH_NOARGS,
     "structural_hash($self, /)\n--\n\nA 64-bit hash of the fusion's structure (nodes, ops, attributes, inputs and "
     "outputs; not names or identity): equal for structurally equal fusions."},
    {"structurally_equal", (PyCFunction)fusion_structurally_equal, METH_O,
     "structurally_equal($self, other, /)\n--\n\nTrue when other holds the same nodes in the same order, with the "
     "same ops, attributes, constants, inputs and outputs."},
    {"print_math", (PyCFunction)fusion_print_math, METH_NOARGS,
     "print_math($self, /)\n--\n\nThe fusion in nvFuser's textual form."},
    {NULL, NULL, 0, NULL},
};

static PyMemberDef fusion_members[] = {
    {"__weaklistoffset__", T_PYSSIZET, offsetof(FusionObject, weakreflist), READONLY, NULL},
    {NULL, 0, 0, 0, NULL},
};

static PyType_Slot fusion_slots[] = {
    {Py_tp_doc, "Fusion()\n--\n\nA fusion: the IR of values and expressions that executes as one unit."},
    {Py_tp_new, fusion_new},
    {Py_tp_dealloc, fusion_dealloc},
    {Py_tp_traverse, fusion_traverse},
    {Py_tp_methods, fusion_methods},
    {Py_tp_members, fusion_members},
    {Py_tp_repr, fusion_repr},
    {Py_tp_str, fusion_str},
    {0, NULL},
};

PyType_Spec cfb_fusion_spec = {"cfuser.Fusion", sizeof(FusionObject), 0,
                               Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE, fusion_slots};

/* --- FusionGuard ---------------------------------------------------------------- */
typedef struct GuardObject {
    PyObject_HEAD
    PyObject *fusion;
    ActiveStack *stack;  /* while entered: the thread's stack holding it */
    uint64_t token;      /* while entered: its entry in that stack       */
} GuardObject;

static int guard_init(GuardObject *g, PyObject *args, PyObject *kw)
{
    static char *names[] = {"fusion", NULL};
    PyObject *f;
    cfb_state *st = cfb_state_of_obj((PyObject *)g);
    if (!st || !PyArg_ParseTupleAndKeywords(args, kw, "O:FusionGuard", names, &f))
        return -1;
    if (!PyObject_TypeCheck(f, st->Fusion)) {
        cfb_type_error(st, "FusionGuard", "fusion", "a cfuser.Fusion", f);
        return -1;
    }
    if (g->stack) {
        cfb_raise_fmt(st, CF_ERR_VALUE, "FusionGuard.__init__(): the guard is entered; exit it before giving it another fusion");
        return -1;
    }
    Py_XSETREF(g->fusion, Py_NewRef(f));
    return 0;
}

static PyObject *guard_enter(GuardObject *g, PyObject *u)
{
    cfb_state *st = cfb_state_of_obj((PyObject *)g);
    if (!st)
        return NULL;
    if (!g->fusion)
        return PyErr_Format(PyExc_TypeError, "FusionGuard was not initialised with a fusion");
    if (g->stack)
        return cfb_raise_fmt(st, CF_ERR_VALUE, "FusionGuard.__enter__(): already entered; a guard can be active once at a time");
    if (cfb_active_push(st, (FusionObject *)g->fusion, &g->stack, &g->token) < 0)
        return NULL;
    return Py_NewRef(g->fusion);
}

static PyObject *guard_exit(GuardObject *g, PyObject *args)
{
    cfb_state *st = cfb_state_of_obj((PyObject *)g);
    if (!st)
        return NULL;
    if (g->stack) {
        if (cfb_active_pop(st, g->stack, g->token, "FusionGuard") < 0)
            return NULL;
        Py_CLEAR(g->stack);
    }
    Py_RETURN_FALSE;
}

static int guard_traverse(GuardObject *g, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(g));
    Py_VISIT(g->fusion);
    Py_VISIT(g->stack);
    return 0;
}

/* A guard dropped while entered (its __exit__ never ran) ends its entry:
 * at once when it is the innermost, else once the ones above it end. */
static int guard_clear(GuardObject *g)
{
    if (g->stack) {
        ActiveStack *s = g->stack;
        g->stack = NULL;
        cfb_active_abandon(s, g->token);
        Py_DECREF(s);
    }
    Py_CLEAR(g->fusion);
    return 0;
}

static void guard_dealloc(GuardObject *g)
{
    PyTypeObject *tp = Py_TYPE(g);
    PyObject_GC_UnTrack(g);
    guard_clear(g);
    tp->tp_free((PyObject *)g);
    Py_DECREF(tp);
}

static PyObject *guard_repr(GuardObject *g)
{
    return PyUnicode_FromFormat("<cfuser.FusionGuard %s>", g->stack ? "active" : "inactive");
}

static PyMethodDef guard_methods[] = {
    {"__enter__", (PyCFunction)guard_enter, METH_NOARGS, "__enter__($self, /)\n--\n\nMake the fusion active in this thread."},
    {"__exit__", (PyCFunction)guard_exit, METH_VARARGS, "__exit__($self, *exc_info)\n--\n\nRestore the previously active fusion."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot guard_slots[] = {
    {Py_tp_doc, "FusionGuard(fusion)\n--\n\nContext manager that makes fusion the active one in this thread."},
    {Py_tp_new, PyType_GenericNew},
    {Py_tp_init, guard_init},
    {Py_tp_dealloc, guard_dealloc},
    {Py_tp_traverse, guard_traverse},
    {Py_tp_clear, guard_clear},
    {Py_tp_methods, guard_methods},
    {Py_tp_repr, guard_repr},
    {0, NULL},
};

PyType_Spec cfb_guard_spec = {"cfuser.FusionGuard", sizeof(GuardObject), 0,
                              Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC, guard_slots};

/* --- types ------------------------------------------------------------------------ */
static PyTypeObject *add_type(PyObject *m, PyType_Spec *spec, PyObject *base)
{
    PyTypeObject *tp = (PyTypeObject *)PyType_FromModuleAndSpec(m, spec, base);
    if (!tp)
        return NULL;
    if (PyModule_AddType(m, tp) < 0) {
        Py_DECREF(tp);
        return NULL;
    }
    return tp;
}

int cfb_init_types(PyObject *m, cfb_state *st)
{
    st->ActiveStack = (PyTypeObject *)PyType_FromModuleAndSpec(m, &cfb_active_stack_spec, NULL);
    if (!st->ActiveStack)
        return -1;
    if (!(st->Fusion = add_type(m, &cfb_fusion_spec, NULL)) || !(st->FusionGuard = add_type(m, &cfb_guard_spec, NULL)) ||
        !(st->Val = add_type(m, &cfb_val_spec, NULL)) ||
        !(st->TensorView = add_type(m, &cfb_tensorview_spec, (PyObject *)st->Val)) ||
        !(st->Scalar = add_type(m, &cfb_scalar_spec, (PyObject *)st->Val)) ||
        !(st->Expr = add_type(m, &cfb_expr_spec, NULL)) || !(st->IterDomain = add_type(m, &cfb_iterdomain_spec, NULL)) ||
        !(st->TensorDomain = add_type(m, &cfb_tensordomain_spec, NULL)) ||
        !(st->FusionExecutorCache = add_type(m, &cfb_cache_spec, NULL)))
        return -1;
    return 0;
}
