/* _brokenfuser.c - a deliberately wrong binding of nvFuser's direct API,
 * for the conformance kit's own tests: every check must be seen failing.
 *
 * What it gets wrong, on purpose (each is a row of the kit):
 *   - node wrappers hold a bare pointer into their fusion's memory and no
 *     reference to it; a fusion's memory is made inaccessible when its owner
 *     dies, so a node used after that is a certain SIGSEGV (keep-alive);
 *   - fd.fusion hands out a borrowing Fusion wrapper (keep-alive of fusion);
 *   - no __repr__ on any type (repr);
 *   - execute spins for 100 ms holding the interpreter lock (GIL);
 *   - every error is a bare RuntimeError with a C++-style source location
 *     (exceptions, tensor caster);
 *   - ops are METH_VARARGS without names or text signatures (signatures,
 *     keyword arguments);
 *   - sequences are converted element by element through their text, with
 *     allocations per element (sequence conversion cost);
 *   - DataType is a plain class with a __members__ dict, not an enum;
 *   - each module init leaks a list, and a subinterpreter import is refused.
 * Nothing else should copy any of this.
 */
#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>

#define ARENA_BYTES (1 << 20)
#define MAX_DIMS 8
#define MAX_EDGES 8

enum kind { K_TENSOR, K_SCALAR, K_EXPR, K_ITER, K_DOMAIN };

typedef struct node {
    int kind, id, ndim, nin, nout, nuses;
    struct node *in[MAX_EDGES], *out[MAX_EDGES], *uses[MAX_EDGES];
    struct node *def, *domain, *extent, *axes[MAX_DIMS];
    char text[48];
} node;

typedef struct fusion_data {
    char *arena;
    size_t used;
    int next_id, nin, nout;
    node *inputs[64], *outputs[64];
} fusion_data;

static fusion_data *g_current; /* the active fusion: a bare global */
static PyObject *g_leak;       /* overwritten by every init, never freed */

static PyObject *raise_cxx(const char *what, const char *file, int line)
{
    PyErr_Format(PyExc_RuntimeError, "%s\nException raised from %s:%d (most recent call first):\n"
                 "frame #0: c10::Error::Error() + 0x7a\nframe #1: nvfuser::python::bind() + 0x33",
                 what, file, line);
    return NULL;
}

static node *new_node(fusion_data *f, int kind)
{
    if (f == NULL || f->used + sizeof(node) > ARENA_BYTES)
        return NULL;
    node *n = (node *)(f->arena + f->used);
    f->used += sizeof(node);
    memset(n, 0, sizeof *n);
    n->kind = kind;
    n->id = f->next_id++;
    return n;
}

/* --- wrapper types ---------------------------------------------------------- */

typedef struct {
    PyObject_HEAD
    node *n; /* borrowed: no reference to the fusion that owns it */
} NodeObject;

static PyTypeObject Statement_Type, Val_Type, Expr_Type, IterDomain_Type, TensorDomain_Type,
    TensorView_Type;

static PyObject *wrap(node *n)
{
    if (n == NULL)
        Py_RETURN_NONE;
    PyTypeObject *tp = n->kind == K_TENSOR ? &TensorView_Type : n->kind == K_EXPR ? &Expr_Type
                     : n->kind == K_ITER ? &IterDomain_Type : n->kind == K_DOMAIN ? &TensorDomain_Type
                     : &Val_Type;
    NodeObject *o = PyObject_New(NodeObject, tp);
    if (o != NULL)
        o->n = n;
    return (PyObject *)o;
}

static PyObject *node_str(PyObject *self)
{
    return PyUnicode_FromString(((NodeObject *)self)->n->text);
}

static PyObject *val_definition(PyObject *self, PyObject *args)
{
    return wrap(((NodeObject *)self)->n->def);
}

static PyObject *val_uses(PyObject *self, PyObject *args)
{
    node *n = ((NodeObject *)self)->n;
    PyObject *l = PyList_New(n->nuses);
    for (int i = 0; l != NULL && i < n->nuses; i++)
        PyList_SET_ITEM(l, i, wrap(n->uses[i]));
    return l;
}

static PyObject *expr_edge(PyObject *self, PyObject *args, int out)
{
    int i;
    node *n = ((NodeObject *)self)->n;
    if (!PyArg_ParseTuple(args, "i", &i))
        return NULL;
    if (i < 0 || i >= (out ? n->nout : n->nin))
        return raise_cxx("index out of range", "ir/base_nodes.cpp", 212);
    return wrap(out ? n->out[i] : n->in[i]);
}

static PyObject *expr_input(PyObject *self, PyObject *args) { return expr_edge(self, args, 0); }
static PyObject *expr_output(PyObject *self, PyObject *args) { return expr_edge(self, args, 1); }

static PyObject *iter_extent(PyObject *self, PyObject *args)
{
    return wrap(((NodeObject *)self)->n->extent);
}

static PyObject *tv_domain(PyObject *self, PyObject *args)
{
    return wrap(((NodeObject *)self)->n->domain);
}

static PyObject *tv_axis(PyObject *self, PyObject *args)
{
    int i;
    node *n = ((NodeObject *)self)->n;
    if (!PyArg_ParseTuple(args, "i", &i))
        return NULL;
    if (i < 0 || i >= n->ndim)
        return raise_cxx("Tried to access out of boundary index", "ir/nodes.cpp", 1024);
    return wrap(n->axes[i]);
}

static PyMethodDef val_methods[] = {
    {"definition", val_definition, METH_NOARGS, NULL},
    {"uses", val_uses, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyMethodDef expr_methods[] = {
    {"input", expr_input, METH_VARARGS, NULL},
    {"output", expr_output, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyMethodDef iter_methods[] = {
    {"extent", iter_extent, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyMethodDef tv_methods[] = {
    {"domain", tv_domain, METH_NOARGS, NULL},
    {"axis", tv_axis, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

#define NODE_TYPE(var, name, base, methods)                                           \
    static PyTypeObject var = {                                                        \
        PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_brokenfuser." name,                 \
        .tp_basicsize = sizeof(NodeObject), .tp_flags = Py_TPFLAGS_DEFAULT | Py_TPFLAGS_BASETYPE, \
        .tp_str = node_str, .tp_methods = methods, .tp_base = base,                     \
    }

NODE_TYPE(Statement_Type, "Statement", NULL, NULL);
NODE_TYPE(Val_Type, "Val", &Statement_Type, val_methods);
NODE_TYPE(Expr_Type, "Expr", &Statement_Type, expr_methods);
NODE_TYPE(IterDomain_Type, "IterDomain", &Val_Type, iter_methods);
NODE_TYPE(TensorDomain_Type, "TensorDomain", &Val_Type, NULL);
NODE_TYPE(TensorView_Type, "TensorView", &Val_Type, tv_methods);

/* --- fusions: an owner, and a borrowing view ----------------------------------- */

typedef struct {
    PyObject_HEAD
    fusion_data *d;
} FusionObject;

static PyTypeObject Fusion_Type, Owner_Type;

static void owner_dealloc(PyObject *self)
{
    fusion_data *d = ((FusionObject *)self)->d;
    if (d != NULL) {
        if (g_current == d)
            g_current = NULL;
        /* "freed": every later access faults */
        mprotect(d->arena, ARENA_BYTES, PROT_NONE);
        PyMem_Free(d);
    }
    Py_TYPE(self)->tp_free(self);
}

static PyObject *owner_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    FusionObject *o = (FusionObject *)tp->tp_alloc(tp, 0);
    if (o == NULL)
        return NULL;
    o->d = PyMem_Calloc(1, sizeof(fusion_data));
    void *a = mmap(NULL, ARENA_BYTES, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (o->d == NULL || a == MAP_FAILED) {
        Py_DECREF(o);
        return PyErr_NoMemory();
    }
    o->d->arena = a;
    return (PyObject *)o;
}

static PyObject *borrow(fusion_data *d)
{
    FusionObject *o = PyObject_New(FusionObject, &Fusion_Type);
    if (o != NULL)
        o->d = d;
    return (PyObject *)o;
}

static PyObject *owner_fusion(PyObject *self, PyObject *args)
{
    return borrow(((FusionObject *)self)->d);
}

static PyObject *owner_activate(PyObject *self, PyObject *args)
{
    g_current = ((FusionObject *)self)->d;
    Py_RETURN_NONE;
}

static PyObject *node_list(node **ns, int n)
{
    PyObject *l = PyList_New(n);
    for (int i = 0; l != NULL && i < n; i++)
        PyList_SET_ITEM(l, i, wrap(ns[i]));
    return l;
}

static PyObject *fusion_inputs(PyObject *self, PyObject *args)
{
    fusion_data *d = ((FusionObject *)self)->d;
    return node_list(d->inputs, d->nin);
}

static PyObject *fusion_outputs(PyObject *self, PyObject *args)
{
    fusion_data *d = ((FusionObject *)self)->d;
    return node_list(d->outputs, d->nout);
}

static PyObject *fusion_add(PyObject *self, PyObject *args, int out)
{
    PyObject *v;
    fusion_data *d = ((FusionObject *)self)->d;
    if (!PyArg_ParseTuple(args, "O", &v))
        return NULL;
    if (!PyObject_TypeCheck(v, &Val_Type) || (out ? d->nout : d->nin) >= 64)
        return raise_cxx("expected a Val", "fusion.cpp", 310);
    if (out)
        d->outputs[d->nout++] = ((NodeObject *)v)->n;
    else
        d->inputs[d->nin++] = ((NodeObject *)v)->n;
    Py_RETURN_NONE;
}

static PyObject *fusion_add_input(PyObject *self, PyObject *args) { return fusion_add(self, args, 0); }
static PyObject *fusion_add_output(PyObject *self, PyObject *args) { return fusion_add(self, args, 1); }

static PyMethodDef fusion_methods[] = {
    {"inputs", fusion_inputs, METH_NOARGS, NULL},
    {"outputs", fusion_outputs, METH_NOARGS, NULL},
    {"add_input", fusion_add_input, METH_VARARGS, NULL},
    {"add_output", fusion_add_output, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};
static PyMethodDef owner_methods[] = {
    {"fusion", owner_fusion, METH_NOARGS, NULL},
    {"activate", owner_activate, METH_NOARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Fusion_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_brokenfuser.Fusion",
    .tp_basicsize = sizeof(FusionObject), .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_methods = fusion_methods,
};
static PyTypeObject Owner_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_brokenfuser.FusionOwner",
    .tp_basicsize = sizeof(FusionObject), .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = owner_new, .tp_dealloc = owner_dealloc, .tp_methods = owner_methods,
};

/* --- definitions ----------------------------------------------------------------- */

/* Each item through its text, with an allocation per element. */
static Py_ssize_t slow_ints(PyObject *seq, long long *out, Py_ssize_t cap)
{
    Py_ssize_t n = PySequence_Size(seq);
    if (n < 0)
        return -1;
    for (Py_ssize_t i = 0; i < n; i++) {
        PyObject *it = PySequence_GetItem(seq, i), *s = it ? PyObject_Repr(it) : NULL;
        PyObject *scratch = PyList_New(2048); /* 16 KiB zeroed and freed per element */
        PyObject *num = s ? PyLong_FromUnicodeObject(s, 10) : NULL;
        long long v = num ? PyLong_AsLongLong(num) : -1;
        Py_XDECREF(scratch);
        Py_XDECREF(num);
        Py_XDECREF(s);
        Py_XDECREF(it);
        if (PyErr_Occurred())
            return -1;
        if (i < cap)
            out[i] = v;
    }
    return n;
}

static node *make_tensor(fusion_data *f, int ndim)
{
    node *t = new_node(f, K_TENSOR), *dom = new_node(f, K_DOMAIN);
    if (t == NULL || dom == NULL)
        return NULL;
    t->ndim = ndim;
    t->domain = dom;
    snprintf(t->text, sizeof t->text, "T%d_g[%d dims]", t->id, ndim);
    snprintf(dom->text, sizeof dom->text, "[%d dims]", ndim);
    for (int d = 0; d < ndim; d++) {
        node *ax = new_node(f, K_ITER), *ext = new_node(f, K_SCALAR);
        if (ax == NULL || ext == NULL)
            return NULL;
        snprintf(ext->text, sizeof ext->text, "i%d", ext->id);
        snprintf(ax->text, sizeof ax->text, "iS%d{i%d}", ax->id, ext->id);
        ax->extent = ext;
        t->axes[d] = ax;
    }
    return t;
}

static PyObject *define_tensor(PyObject *mod, PyObject *args, PyObject *kw)
{
    static char *names[] = {"shape", "contiguity", "dtype", "is_cpu", "stride_order", "sizes", "strides", NULL};
    PyObject *shape = NULL, *contig = NULL, *dtype = NULL, *is_cpu = NULL, *order = NULL, *sizes = NULL,
             *strides = NULL;
    long long dims[MAX_DIMS], st[MAX_DIMS];
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OOOOOOO", names, &shape, &contig, &dtype, &is_cpu, &order,
                                     &sizes, &strides))
        return NULL;
    if (sizes != NULL) {
        Py_ssize_t n = slow_ints(sizes, dims, MAX_DIMS), k = strides ? slow_ints(strides, st, MAX_DIMS) : n;
        if (n < 0 || k < 0)
            return NULL;
        if (n != k)
            return raise_cxx("The number of sizes does not match the number of strides.", "ir.cpp", 77);
        shape = sizes;
    }
    if (shape == NULL)
        return raise_cxx("shape is required", "ir.cpp", 80);
    Py_ssize_t n = slow_ints(shape, dims, MAX_DIMS);
    if (n < 0)
        return NULL;
    if (n > MAX_DIMS)
        return raise_cxx("too many dims", "ir.cpp", 84);
    for (Py_ssize_t d = 0; d < n; d++)
        if (dims[d] < -1)
            return raise_cxx("The value -1 is the only negative size allowed", "ir.cpp", 88);
    node *t = make_tensor(g_current, (int)n);
    if (t == NULL)
        return raise_cxx("no active fusion", "fusion_guard.cpp", 21);
    return wrap(t);
}

static PyObject *define_scalar(PyObject *mod, PyObject *args, PyObject *kw)
{
    static char *names[] = {"value", "dtype", NULL};
    PyObject *value = NULL, *dtype = NULL;
    if (!PyArg_ParseTupleAndKeywords(args, kw, "|OO", names, &value, &dtype))
        return NULL;
    node *s = new_node(g_current, K_SCALAR);
    if (s == NULL)
        return raise_cxx("no active fusion", "fusion_guard.cpp", 21);
    snprintf(s->text, sizeof s->text, "d%d", s->id);
    return wrap(s);
}

/* --- ops: positional only, every failure a RuntimeError ------------------------------ */

static PyObject *pointwise(PyObject *args, const char *name, int arity)
{
    node *ins[3], *tensor = NULL;
    if (PyTuple_GET_SIZE(args) != arity)
        return raise_cxx("wrong number of operands", "ops.cpp", 40);
    for (int i = 0; i < arity; i++) {
        PyObject *a = PyTuple_GET_ITEM(args, i);
        if (!PyObject_TypeCheck(a, &Val_Type))
            return raise_cxx("unsupported operand", "ops.cpp", 44);
        ins[i] = ((NodeObject *)a)->n;
        if (ins[i]->kind == K_TENSOR && tensor == NULL)
            tensor = ins[i];
    }
    node *e = new_node(g_current, K_EXPR);
    node *out = tensor ? make_tensor(g_current, tensor->ndim) : new_node(g_current, K_SCALAR);
    if (e == NULL || out == NULL)
        return raise_cxx("no active fusion", "fusion_guard.cpp", 21);
    snprintf(e->text, sizeof e->text, "%s(%d operands)", name, arity);
    if (out->kind == K_SCALAR)
        snprintf(out->text, sizeof out->text, "d%d", out->id);
    e->nin = arity;
    for (int i = 0; i < arity; i++) {
        e->in[i] = ins[i];
        if (ins[i]->nuses < MAX_EDGES)
            ins[i]->uses[ins[i]->nuses++] = e;
    }
    e->out[0] = out;
    e->nout = 1;
    out->def = e;
    return wrap(out);
}

#define UNARY(name) static PyObject *op_##name(PyObject *m, PyObject *a) { return pointwise(a, #name, 1); }
#define BINARY(name) static PyObject *op_##name(PyObject *m, PyObject *a) { return pointwise(a, #name, 2); }
UNARY(neg) UNARY(abs) UNARY(exp) UNARY(sin) UNARY(tanh)
BINARY(add) BINARY(sub) BINARY(mul)

static PyMethodDef ops_methods[] = {
    {"neg", op_neg, METH_VARARGS, NULL}, {"abs", op_abs, METH_VARARGS, NULL},
    {"exp", op_exp, METH_VARARGS, NULL}, {"sin", op_sin, METH_VARARGS, NULL},
    {"tanh", op_tanh, METH_VARARGS, NULL}, {"add", op_add, METH_VARARGS, NULL},
    {"sub", op_sub, METH_VARARGS, NULL}, {"mul", op_mul, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

/* --- the executor cache: the lock held while it "runs" ---------------------------------- */

typedef struct {
    PyObject_HEAD
    fusion_data *d; /* borrowed */
} FecObject;

static PyObject *fec_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    PyObject *f;
    if (!PyArg_ParseTuple(args, "O!", &Fusion_Type, &f))
        return NULL;
    FecObject *o = (FecObject *)tp->tp_alloc(tp, 0);
    if (o != NULL)
        o->d = ((FusionObject *)f)->d;
    return (PyObject *)o;
}

static PyObject *fec_fusion(PyObject *self, PyObject *args)
{
    return borrow(((FecObject *)self)->d);
}

static PyObject *fec_execute(PyObject *self, PyObject *args)
{
    PyObject *inputs;
    fusion_data *d = ((FecObject *)self)->d;
    struct timespec t0, t;
    if (!PyArg_ParseTuple(args, "O", &inputs))
        return NULL;
    if (!PyList_Check(inputs) || PyList_GET_SIZE(inputs) != d->nin)
        return raise_cxx("Wrong number of inputs", "fusion_executor.cpp", 142);
    for (Py_ssize_t i = 0; i < d->nin; i++) {
        PyObject *x = PyList_GET_ITEM(inputs, i);
        if (!PyObject_HasAttrString(x, "__dlpack__"))
            return raise_cxx("Unsupported input", "tensor_caster.h", 31);
        PyObject *dt = PyObject_GetAttrString(x, "dtype"), *text = dt ? PyObject_Str(dt) : NULL;
        const char *s = text ? PyUnicode_AsUTF8(text) : NULL;
        int ok = s && strstr(s, "float32") != NULL;
        PyObject *shape = ok ? PyObject_GetAttrString(x, "shape") : NULL;
        ok = ok && shape && PyObject_Length(shape) == d->inputs[i]->ndim;
        Py_XDECREF(shape);
        Py_XDECREF(text);
        Py_XDECREF(dt);
        PyErr_Clear();
        if (!ok)
            return raise_cxx("Unsupported input", "tensor_caster.h", 35);
    }
    clock_gettime(CLOCK_MONOTONIC, &t0);
    do /* "compiling", with the interpreter lock held */
        clock_gettime(CLOCK_MONOTONIC, &t);
    while ((t.tv_sec - t0.tv_sec) * 1000000000L + (t.tv_nsec - t0.tv_nsec) < 100000000L);
    PyObject *outs = PyList_New(d->nout);
    for (int i = 0; outs != NULL && i < d->nout; i++) {
        PyObject *x = PyList_GET_ITEM(inputs, 0);
        Py_INCREF(x);
        PyList_SET_ITEM(outs, i, x);
    }
    return outs;
}

static PyMethodDef fec_methods[] = {
    {"fusion", fec_fusion, METH_NOARGS, NULL},
    {"execute", fec_execute, METH_VARARGS, NULL},
    {NULL, NULL, 0, NULL},
};

static PyTypeObject Fec_Type = {
    PyVarObject_HEAD_INIT(NULL, 0).tp_name = "_brokenfuser.FusionExecutorCache",
    .tp_basicsize = sizeof(FecObject), .tp_flags = Py_TPFLAGS_DEFAULT,
    .tp_new = fec_new, .tp_methods = fec_methods,
};

/* --- module ---------------------------------------------------------------------------- */

static PyMethodDef module_methods[] = {
    {"define_tensor", (PyCFunction)(void (*)(void))define_tensor, METH_VARARGS | METH_KEYWORDS, NULL},
    {"define_scalar", (PyCFunction)(void (*)(void))define_scalar, METH_VARARGS | METH_KEYWORDS, NULL},
    {NULL, NULL, 0, NULL},
};

static struct PyModuleDef ops_def = {PyModuleDef_HEAD_INIT, "_brokenfuser.ops", NULL, -1, ops_methods,
                                     NULL, NULL, NULL, NULL};
static struct PyModuleDef module_def = {PyModuleDef_HEAD_INIT, "_brokenfuser", NULL, -1, module_methods,
                                        NULL, NULL, NULL, NULL};

PyMODINIT_FUNC PyInit__brokenfuser(void);
PyMODINIT_FUNC PyInit__brokenfuser(void)
{
    static const char *dtypes[] = {"Float", "Double", "Int", "Bool", NULL};
    if (PyInterpreterState_Get() != PyInterpreterState_Main()) {
        PyErr_SetString(PyExc_ImportError, "_brokenfuser cannot be imported in a subinterpreter");
        return NULL;
    }
    g_leak = PyList_New(1000); /* the previous round's list is never freed */
    PyTypeObject *types[] = {&Statement_Type, &Val_Type, &Expr_Type, &IterDomain_Type, &TensorDomain_Type,
                             &TensorView_Type, &Fusion_Type, &Owner_Type, &Fec_Type, NULL};
    PyObject *m = PyModule_Create(&module_def), *ops = m ? PyModule_Create(&ops_def) : NULL;
    if (ops == NULL || PyModule_AddObject(m, "ops", ops) < 0)
        goto fail;
    for (int i = 0; types[i]; i++) {
        if (PyType_Ready(types[i]) < 0)
            goto fail;
        Py_INCREF(types[i]);
        if (PyModule_AddObject(m, strrchr(types[i]->tp_name, '.') + 1, (PyObject *)types[i]) < 0)
            goto fail;
    }
    /* DataType: a class with int attributes and a __members__ dict */
    PyObject *ns = PyDict_New(), *members = PyDict_New();
    for (int i = 0; ns && members && dtypes[i]; i++) {
        PyObject *v = PyLong_FromLong(i);
        if (v == NULL || PyDict_SetItemString(ns, dtypes[i], v) < 0 || PyDict_SetItemString(members, dtypes[i], v) < 0) {
            Py_XDECREF(v);
            goto fail;
        }
        Py_DECREF(v);
    }
    if (ns == NULL || members == NULL || PyDict_SetItemString(ns, "__members__", members) < 0)
        goto fail;
    Py_DECREF(members);
    PyObject *dt = PyObject_CallFunction((PyObject *)&PyType_Type, "s(O)O", "DataType", &PyBaseObject_Type, ns);
    Py_DECREF(ns);
    if (dt == NULL || PyModule_AddObject(m, "DataType", dt) < 0)
        goto fail;
    return m;
fail:
    Py_XDECREF(m);
    return NULL;
}
