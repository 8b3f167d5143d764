/* args.c - argument parsing and operand conversion shared by every entry. */
#include <string.h>

#include "module.h"

int cfb_parse(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
              const char *const *names, int nnames, int npos, int nreq, PyObject **out)
{
    Py_ssize_t i, nkw;
    int k;
    if (nargs > npos) {
        PyErr_Format(PyExc_TypeError, "%s() takes at most %d positional argument%s (%zd given)", fname, npos,
                     npos == 1 ? "" : "s", nargs);
        return -1;
    }
    for (k = 0; k < nnames; k++)
        out[k] = k < nargs ? args[k] : NULL;
    nkw = kwnames ? PyTuple_GET_SIZE(kwnames) : 0;
    for (i = 0; i < nkw; i++) {
        PyObject *key = PyTuple_GET_ITEM(kwnames, i);
        const char *s = PyUnicode_AsUTF8(key);
        if (!s)
            return -1;
        for (k = 0; k < nnames; k++)
            if (!strcmp(s, names[k]))
                break;
        if (k == nnames) {
            PyErr_Format(PyExc_TypeError, "%s() got an unexpected keyword argument '%s'", fname, s);
            return -1;
        }
        if (out[k]) {
            PyErr_Format(PyExc_TypeError, "%s() got multiple values for argument '%s'", fname, s);
            return -1;
        }
        out[k] = args[nargs + i];
    }
    for (k = 0; k < nreq; k++)
        if (!out[k]) {
            PyErr_Format(PyExc_TypeError, "%s() missing required argument '%s' (pos %d)", fname, names[k], k + 1);
            return -1;
        }
    return 0;
}


PyObject *cfb_type_error(cfb_state *st, const char *fname, const char *argname, const char *expected, PyObject *got)
{
    PyTypeObject *tp = Py_TYPE(got);
    const char *name = tp->tp_name;
    int foreign = 0;
    if (strncmp(name, "cfuser.", 7) == 0 && PyType_HasFeature(tp, Py_TPFLAGS_HEAPTYPE)) {
        void *other = PyType_GetModuleState(tp);
        if (!other)
            PyErr_Clear();
        foreign = other && other != (void *)st;
    }
    PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be %s, not '%.100s'%s", fname, argname, expected, name,
                 foreign ? " from another instance of the cfuser._C module (objects cannot cross module instances or "
                           "interpreters)"
                         : "");
    return NULL;
}

int cfb_find_fusion(cfb_state *st, const char *fname, PyObject *const *ops, int n, FusionObject **fo)
{
    int i;
    *fo = NULL;
    for (i = 0; i < n; i++) {
        NodeObject *v;
        if (!ops[i] || !cfb_is_val(st, ops[i]))
            continue;
        v = (NodeObject *)ops[i];
        if (!cfb_node_fusion(v))
            return -1;
        if (*fo && *fo != v->fusion) {
            cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): operands belong to different fusions; every operand must come from the same Fusion", fname);
            return -1;
        }
        *fo = v->fusion;
    }
    if (*fo) {
        FusionObject *active = cfb_active_fusion(st);
        if (!active) {
            cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): no active fusion: the operands' fusion is not being defined (its 'with' block "
                          "has closed); reopen it with 'with fd:' or a FusionGuard", fname);
            return -1;
        }
        if (active != *fo) {
            cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): the operands belong to a different fusion than the active one", fname);
            return -1;
        }
    }
    if (!*fo)
        *fo = cfb_active_fusion(st);
    if (!*fo) {
        cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): no active fusion; call it inside 'with FusionDefinition() as fd:' or a FusionGuard", fname);
        return -1;
    }
    return 0;
}

int cfb_operand(cfb_state *st, const char *fname, const char *argname, FusionObject *fo, PyObject *o,
                int allow_number, cf_id *out)
{
    cf_scalar s;
    cf_status rc;
    if (cfb_is_val(st, o)) {
        NodeObject *v = (NodeObject *)o;
        if (v->fusion != fo) {
            cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): argument '%s' belongs to a different fusion", fname, argname);
            return -1;
        }
        *out = v->id;
        return 0;
    }
    if (allow_number) {
        if (PyBool_Check(o)) {
            s.dtype = CF_DTYPE_BOOL;
            s.v.b = o == Py_True;
        } else if (PyLong_Check(o)) {
            int overflow = 0;
            s.dtype = CF_DTYPE_INT;
            s.v.i = PyLong_AsLongLongAndOverflow(o, &overflow);
            if (overflow) {
                PyErr_Format(PyExc_OverflowError, "%s() argument '%s': integer does not fit in int64", fname, argname);
                return -1;
            }
        } else if (PyFloat_Check(o)) {
            s.dtype = CF_DTYPE_DOUBLE;
            s.v.f = PyFloat_AS_DOUBLE(o);
        } else {
            goto bad;
        }
        if ((rc = cf_fusion_constant(fo->f, &s, out))) {
            cfb_raise(st, rc);
            return -1;
        }
        return 0;
    }
bad:
    cfb_type_error(st, fname, argname, allow_number ? "a TensorView or Scalar or a Python number" : "a TensorView or Scalar", o);
    return -1;
}

/* A snapshot of a list argument as a tuple of at most cap items (an item's
 * __index__ may change the caller's list): a sized object is refused by its
 * length before anything is copied, an iterator is read no further than
 * cap + 1 items, so neither range(10**12) nor an endless iterator runs on. */
static PyObject *bounded_tuple(cfb_state *st, const char *fname, const char *argname, PyObject *o, int cap)
{
    PyObject *it, *seq, *item;
    Py_ssize_t len, k = 0;
    if (cfb_is_val(st, o) || PyUnicode_Check(o) || PyBytes_Check(o) || !(it = PyObject_GetIter(o))) {
        if (PyErr_Occurred() && !PyErr_ExceptionMatches(PyExc_TypeError))
            return NULL;
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "%s() argument '%s' must be a sequence of ints or Scalars, not '%.100s'", fname,
                     argname, Py_TYPE(o)->tp_name);
        return NULL;
    }
    len = PyObject_HasAttrString(o, "__len__") ? PyObject_Length(o) : -1;
    if (len < 0)
        PyErr_Clear(); /* no length (or an overflowing one): count while reading */
    if (len > cap || !(seq = PyTuple_New(cap + 1))) {
        Py_DECREF(it);
        if (len > cap)
            cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): argument '%s' has more than %d entries; at most %d are supported",
                          fname, argname, cap, cap);
        return NULL;
    }
    while (k <= cap && (item = PyIter_Next(it)) != NULL)
        PyTuple_SET_ITEM(seq, k++, item);
    Py_DECREF(it);
    if (PyErr_Occurred() || k > cap) {
        if (!PyErr_Occurred())
            cfb_raise_fmt(st, CF_ERR_VALUE, "%s(): argument '%s' has more than %d entries; at most %d are supported",
                          fname, argname, cap, cap);
        Py_DECREF(seq);
        return NULL;
    }
    if (_PyTuple_Resize(&seq, k) < 0)
        return NULL;
    return seq;
}

int cfb_int_operand_list(cfb_state *st, const char *fname, const char *argname, FusionObject *fo, PyObject *o,
                         int cap, cf_id *out, int *n)
{
    PyObject *seq = bounded_tuple(st, fname, argname, o, cap);
    Py_ssize_t i, len;
    if (!seq)
        return -1;
    len = PyTuple_GET_SIZE(seq);
    for (i = 0; i < len; i++) {
        PyObject *item = PyTuple_GET_ITEM(seq, i);
        cf_scalar s;
        cf_status rc;
        if (cfb_is_val(st, item)) {
            if (cfb_operand(st, fname, argname, fo, item, 0, &out[i]) < 0)
                goto fail;
            continue;
        }
        if (PyBool_Check(item) || !PyIndex_Check(item)) {
            PyErr_Format(PyExc_TypeError, "%s() argument '%s': item %zd must be an integer or Scalar, not '%.100s'", fname,
                         argname, i, Py_TYPE(item)->tp_name);
            goto fail;
        }
        {
            PyObject *idx = PyNumber_Index(item);
            int overflow = 0;
            if (!idx)
                goto fail;
            s.v.i = PyLong_AsLongLongAndOverflow(idx, &overflow);
            Py_DECREF(idx);
            if (overflow) {
                PyErr_Format(PyExc_OverflowError, "%s() argument '%s': item %zd does not fit in int64", fname, argname, i);
                goto fail;
            }
            if (s.v.i == -1 && PyErr_Occurred())
                goto fail;
        }
        s.dtype = CF_DTYPE_INT;
        if ((rc = cf_fusion_constant(fo->f, &s, &out[i]))) {
            cfb_raise(st, rc);
            goto fail;
        }
    }
    *n = (int)len;
    Py_DECREF(seq);
    return 0;
fail:
    Py_DECREF(seq);
    return -1;
}

int cfb_size_list(cfb_state *st, const char *fname, const char *argname, FusionObject *fo, PyObject *o,
                  cf_id *out, int *n)
{
    return cfb_int_operand_list(st, fname, argname, fo, o, CF_MAX_DIMS, out, n);
}
