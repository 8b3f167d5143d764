/* active.c - the per-thread stack of active fusions (DESIGN.md, lifetime).
 *
 * Each thread that enters a FusionGuard gets one ActiveStack, owned by the
 * thread's state dict (so it dies with the thread) under a key that is this
 * module instance's ActiveStack type. Entries hold strong references to
 * their fusions: a guard that is dropped, cleared or re-initialised can
 * never leave a dangling active fusion. Each entry carries a token that
 * only its guard knows, so an exit out of order or on another thread is
 * an error, never a silent change of what is active.
 *
 * The hot path (every op asks for the active fusion) reads a pointer from
 * thread-specific storage and checks that it belongs to the current thread
 * state; a miss falls back to the thread dict. */
#include "module.h"

typedef struct active_entry {
    PyObject *fusion;
    uint64_t token;
    int abandoned;   /* its guard died while entered below the top */
} active_entry;

struct ActiveStack {
    PyObject_HEAD
    PyThreadState *tstate;
    Py_ssize_t n, cap;
    active_entry *e;
    uint64_t next_token;
};

/* The stack of the current thread; NULL without error when it has none
 * and create is 0. A borrowed reference (the thread dict owns it). */
static ActiveStack *thread_stack(cfb_state *st, int create)
{
    PyObject *d = PyThreadState_GetDict(), *key = (PyObject *)st->ActiveStack;
    ActiveStack *s;
    if (!d) {
        if (create)
            PyErr_SetString(PyExc_RuntimeError, "cfuser: this thread has no Python thread state");
        return NULL;
    }
    s = (ActiveStack *)PyDict_GetItemWithError(d, key);
    if (!s && !PyErr_Occurred() && create) {
        s = PyObject_GC_New(ActiveStack, st->ActiveStack);
        if (!s)
            return NULL;
        s->tstate = PyThreadState_Get();
        s->n = s->cap = 0;
        s->e = NULL;
        s->next_token = 1;
        PyObject_GC_Track(s);
        if (PyDict_SetItem(d, key, (PyObject *)s) < 0) {
            Py_DECREF(s);
            return NULL;
        }
        Py_DECREF(s); /* the dict keeps it */
    }
    if (s && PyThread_tss_set(&st->active, s) != 0) {
        PyErr_SetString(PyExc_RuntimeError, "cfuser: cannot set thread-local storage");
        return NULL;
    }
    return s;
}

FusionObject *cfb_active_fusion(cfb_state *st)
{
    ActiveStack *s = PyThread_tss_get(&st->active);
    if (!s || s->tstate != PyThreadState_Get()) {
        PyObject *et, *ev, *tb;
        PyErr_Fetch(&et, &ev, &tb);
        s = thread_stack(st, 0);
        PyErr_Clear();
        PyErr_Restore(et, ev, tb);
    }
    return s && s->n ? (FusionObject *)s->e[s->n - 1].fusion : NULL;
}

int cfb_active_push(cfb_state *st, FusionObject *fo, ActiveStack **stack, uint64_t *token)
{
    ActiveStack *s = thread_stack(st, 1);
    if (!s)
        return -1;
    if (s->n == s->cap) {
        Py_ssize_t cap = s->cap ? s->cap * 2 : 8;
        active_entry *e = PyMem_Realloc(s->e, sizeof(active_entry) * (size_t)cap);
        if (!e) {
            PyErr_NoMemory();
            return -1;
        }
        s->e = e;
        s->cap = cap;
    }
    s->e[s->n].fusion = Py_NewRef((PyObject *)fo);
    s->e[s->n].token = *token = s->next_token++;
    s->e[s->n].abandoned = 0;
    s->n++;
    *stack = (ActiveStack *)Py_NewRef((PyObject *)s);
    return 0;
}

/* Pop the top entry, then every abandoned one it uncovers. */
static void pop_top(ActiveStack *s)
{
    do {
        PyObject *f = s->e[--s->n].fusion;
        Py_DECREF(f);
    } while (s->n && s->e[s->n - 1].abandoned);
}

static Py_ssize_t find(const ActiveStack *s, uint64_t token)
{
    Py_ssize_t i;
    for (i = s->n - 1; i >= 0; i--)
        if (s->e[i].token == token)
            return i;
    return -1;
}

int cfb_active_pop(cfb_state *st, ActiveStack *stack, uint64_t token, const char *who)
{
    ActiveStack *s = PyThread_tss_get(&st->active);
    Py_ssize_t i;
    if (!s || s->tstate != PyThreadState_Get())
        s = thread_stack(st, 0);
    if (s != stack) {
        if (!PyErr_Occurred())
            cfb_raise_fmt(st, CF_ERR_VALUE, "%s.__exit__(): entered on another thread; a guard must exit on the thread that entered it", who);
        return -1;
    }
    i = find(s, token);
    if (i < 0) {
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s.__exit__(): not active on this thread", who);
        return -1;
    }
    if (i != s->n - 1) {
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s.__exit__(): out of order; %zd guard(s) entered after this one are still active and must exit first", who, s->n - 1 - i);
        return -1;
    }
    pop_top(s);
    return 0;
}

void cfb_active_abandon(ActiveStack *s, uint64_t token)
{
    Py_ssize_t i = find(s, token);
    if (i < 0)
        return;
    if (i == s->n - 1)
        pop_top(s);
    else
        s->e[i].abandoned = 1;
}

Py_ssize_t cfb_active_depth(cfb_state *st)
{
    ActiveStack *s = thread_stack(st, 0);
    PyErr_Clear();
    return s ? s->n : 0;
}

/* --- the type ------------------------------------------------------------- */
static int stack_traverse(ActiveStack *s, visitproc visit, void *arg)
{
    Py_ssize_t i;
    Py_VISIT(Py_TYPE(s));
    for (i = 0; i < s->n; i++)
        Py_VISIT(s->e[i].fusion);
    return 0;
}

static int stack_clear(ActiveStack *s)
{
    while (s->n > 0) {
        PyObject *f = s->e[--s->n].fusion;
        Py_DECREF(f);
    }
    return 0;
}

static void stack_dealloc(ActiveStack *s)
{
    PyTypeObject *tp = Py_TYPE(s);
    cfb_state *st = PyType_GetModuleState(tp);
    PyObject_GC_UnTrack(s);
    if (st && st->active_ok && PyThread_tss_get(&st->active) == s)
        PyThread_tss_set(&st->active, NULL);
    stack_clear(s);
    PyMem_Free(s->e);
    tp->tp_free((PyObject *)s);
    Py_DECREF(tp);
}

static PyObject *stack_repr(ActiveStack *s)
{
    return PyUnicode_FromFormat("<cfuser active-fusion stack of depth %zd>", s->n);
}

static PyType_Slot stack_slots[] = {
    {Py_tp_doc, "This thread's stack of active fusions (internal)."},
    {Py_tp_dealloc, stack_dealloc},
    {Py_tp_traverse, stack_traverse},
    {Py_tp_clear, stack_clear},
    {Py_tp_repr, stack_repr},
    {0, NULL},
};

PyType_Spec cfb_active_stack_spec = {"cfuser._ActiveStack", sizeof(ActiveStack), 0,
                                     Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_DISALLOW_INSTANTIATION,
                                     stack_slots};
