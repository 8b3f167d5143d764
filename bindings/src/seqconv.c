/* seqconv.c - the one routine that turns a Python sequence into int64s.
 *
 * Shapes, dims, permutations and strides all come through here, so that
 * every API accepts the same inputs and reports the same errors:
 *   list/tuple (torch.Size is a tuple)  items read in place
 *   range                               arithmetic, no item objects
 *   1-D buffers of integers (numpy)     read straight from memory
 *   anything else iterable              iterated, sized by its length hint
 * Items are Python ints or objects with __index__ (numpy integers, 0-d
 * integer tensors). bool is rejected although it is an int subclass: a
 * shape of True is almost always a bug, and most shape APIs refuse it.
 */
#include "convert.h"

#include <stdbool.h>
#include <string.h>

/* The output: the caller's buffer while it suffices, then one heap block. */
typedef struct int64_sink {
    int64_t *data;
    Py_ssize_t len;
    Py_ssize_t cap;
    int64_t *stack;      /* the caller's buffer                 */
    Py_ssize_t stack_cap;
    int64_t *heap;       /* PyMem block once stack is too small */
    Py_ssize_t limit;    /* the most items the caller accepts      */
    Py_ssize_t room;     /* min(cap, limit): a push below it only stores */
    bool over;           /* the object has more: stopped, no error */
    const char *fname, *argname;  /* for the MemoryError's message */
} int64_sink;

static void sink_init(int64_sink *s, int64_t *buf, Py_ssize_t cap, Py_ssize_t limit, const char *fname,
                      const char *argname)
{
    s->limit = limit;
    s->over = false;
    s->fname = fname;
    s->argname = argname;
    s->data = buf;
    s->len = 0;
    s->cap = buf ? (cap > 0 ? cap : 0) : 0;
    s->stack = buf;
    s->stack_cap = s->cap;
    s->heap = NULL;
    s->room = s->cap < limit ? s->cap : limit;
}

/* Make room for at least n items in total. */
static int sink_reserve(int64_sink *s, Py_ssize_t n)
{
    int64_t *p;

    if (n <= s->cap)
        return 0;
    if (n > s->limit) { /* more than the caller takes: nothing to allocate */
        s->over = true;
        return -1;
    }
    if ((size_t)n > (size_t)PY_SSIZE_T_MAX / sizeof(int64_t)) {
        PyErr_Format(PyExc_MemoryError, "%s() argument '%s': %zd items do not fit in memory", s->fname, s->argname, n);
        return -1;
    }
    p = PyMem_Realloc(s->heap, (size_t)n * sizeof(int64_t));
    if (!p) {
        PyErr_Format(PyExc_MemoryError, "%s() argument '%s': %zd items do not fit in memory", s->fname, s->argname, n);
        return -1;
    }
    if (!s->heap && s->len > 0)
        memcpy(p, s->stack, (size_t)s->len * sizeof(int64_t));
    s->heap = p;
    s->data = p;
    s->cap = n;
    s->room = n < s->limit ? n : s->limit;
    return 0;
}

static int sink_push_slow(int64_sink *s, int64_t v)
{
    if (s->len == s->limit) {
        s->over = true;
        return -1;
    }
    if (s->len == s->cap) {
        Py_ssize_t grow = s->cap < 8 ? 8 : s->cap / 2;
        Py_ssize_t want = s->cap > s->limit - grow ? s->limit : s->cap + grow;
        if (sink_reserve(s, want) < 0)
            return -1;
    }
    s->data[s->len++] = v;
    return 0;
}

/* One compare on the common path: below room there is space and the
 * caller's limit is not reached. */
static inline int sink_push(int64_sink *s, int64_t v)
{
    if (s->len < s->room) {
        s->data[s->len++] = v;
        return 0;
    }
    return sink_push_slow(s, v);
}

/* Hand the result over as convert.h promises: in buf when it fits. */
static Py_ssize_t sink_finish(int64_sink *s, int64_t **out)
{
    if (s->heap && s->len <= s->stack_cap) {
        if (s->len > 0)
            memcpy(s->stack, s->heap, (size_t)s->len * sizeof(int64_t));
        PyMem_Free(s->heap);
        s->heap = NULL;
    }
    *out = s->heap;
    return s->len;
}

static void sink_discard(int64_sink *s)
{
    PyMem_Free(s->heap);
    s->heap = NULL;
}

static const char *name_or(const char *s, const char *dflt)
{
    return s ? s : dflt;
}

static void item_type_error(const char *fname, const char *argname,
                            Py_ssize_t k, PyObject *item)
{
    if (PyBool_Check(item))
        PyErr_Format(PyExc_TypeError,
                     "%s() argument '%s': item %zd must be an integer, not "
                     "'bool' (bools are not accepted as sizes or indices)",
                     fname, argname, k);
    else
        PyErr_Format(PyExc_TypeError,
                     "%s() argument '%s': item %zd must be an integer, not "
                     "'%.200s'",
                     fname, argname, k, Py_TYPE(item)->tp_name);
}

static void reraise_as_item_error(const char *fname, const char *argname,
                                  Py_ssize_t k, PyObject *item)
{
#if PY_VERSION_HEX >= 0x030C0000
    PyObject *cause = PyErr_GetRaisedException(), *exc;

    item_type_error(fname, argname, k, item);
    exc = PyErr_GetRaisedException();
    PyException_SetCause(exc, cause);
    PyErr_SetRaisedException(exc);
#else
    PyObject *t, *v, *tb, *t2, *v2, *tb2;

    PyErr_Fetch(&t, &v, &tb);
    PyErr_NormalizeException(&t, &v, &tb);
    if (tb && v)
        PyException_SetTraceback(v, tb);
    Py_XDECREF(t);
    Py_XDECREF(tb);
    item_type_error(fname, argname, k, item);
    PyErr_Fetch(&t2, &v2, &tb2);
    PyErr_NormalizeException(&t2, &v2, &tb2);
    if (v2 && v)
        PyException_SetCause(v2, v);
    else
        Py_XDECREF(v);
    PyErr_Restore(t2, v2, tb2);
#endif
}

static void item_overflow_error(const char *fname, const char *argname,
                                Py_ssize_t k)
{
    PyErr_Format(PyExc_OverflowError,
                 "%s() argument '%s': item %zd is outside the int64 range",
                 fname, argname, k);
}

/* Convert one item (borrowed). Python code may run (__index__). */
static int item_to_int64(PyObject *item, const char *fname,
                         const char *argname, Py_ssize_t k, int64_t *v)
{
    int overflow;
    long long x;

    if (PyLong_Check(item)) {
        if (PyBool_Check(item)) {
            item_type_error(fname, argname, k, item);
            return -1;
        }
        x = PyLong_AsLongLongAndOverflow(item, &overflow);
    } else {
        PyObject *idx;
        PyNumberMethods *nb = Py_TYPE(item)->tp_as_number;

        if (!nb || !nb->nb_index) {
            item_type_error(fname, argname, k, item);
            return -1;
        }
        idx = PyNumber_Index(item);
        if (!idx) {
            /* An __index__ that refuses (a 2-d array's rows): our message,
             * with its own error as the cause. */
            if (PyErr_ExceptionMatches(PyExc_TypeError))
                reraise_as_item_error(fname, argname, k, item);
            return -1;
        }
        x = PyLong_AsLongLongAndOverflow(idx, &overflow);
        Py_DECREF(idx);
    }
    if (overflow) {
        item_overflow_error(fname, argname, k);
        return -1;
    }
    if (x == -1 && PyErr_Occurred())
        return -1;
    *v = (int64_t)x;
    return 0;
}

/* list or tuple (and subclasses such as torch.Size). The list is re-read
 * every step because an __index__ may mutate it. */
static int convert_list_or_tuple(PyObject *obj, const char *fname,
                                 const char *argname, int64_sink *s)
{
    bool is_list = PyList_Check(obj);
    Py_ssize_t n = is_list ? PyList_GET_SIZE(obj) : PyTuple_GET_SIZE(obj);
    Py_ssize_t k;

    if (sink_reserve(s, n) < 0)
        return -1;
    for (k = 0;; k++) {
        PyObject *item;
        int64_t v;
        int rc;

        if (is_list) {
            if (k >= PyList_GET_SIZE(obj))
                break;
            item = PyList_GET_ITEM(obj, k);
        } else {
            if (k >= n)
                break;
            item = PyTuple_GET_ITEM(obj, k);
        }
        if (PyLong_CheckExact(item)) {
            int overflow;
            long long x = PyLong_AsLongLongAndOverflow(item, &overflow);
            if (overflow) {
                item_overflow_error(fname, argname, k);
                return -1;
            }
            v = (int64_t)x;
        } else {
            Py_INCREF(item);
            rc = item_to_int64(item, fname, argname, k, &v);
            Py_DECREF(item);
            if (rc < 0)
                return -1;
        }
        if (sink_push(s, v) < 0)
            return -1;
    }
    return 0;
}

/* range: 1 = done, 0 = bounds beyond int64 (let the iterator path report
 * the exact item), -1 = error. */
static int convert_range(PyObject *obj, const char *fname,
                         const char *argname, int64_sink *s)
{
    PyObject *start_o = NULL, *step_o = NULL;
    long long start, step;
    int ov1 = 0, ov2 = 0, ret = -1;
    Py_ssize_t n, k;
    int64_t v;

    n = PyObject_Size(obj);
    if (n < 0)
        goto done;
    start_o = PyObject_GetAttrString(obj, "start");
    if (!start_o)
        goto done;
    step_o = PyObject_GetAttrString(obj, "step");
    if (!step_o)
        goto done;
    start = PyLong_AsLongLongAndOverflow(start_o, &ov1);
    step = PyLong_AsLongLongAndOverflow(step_o, &ov2);
    if (PyErr_Occurred())
        goto done;
    if (ov1 || ov2) {
        ret = 0;
        goto done;
    }
    if (sink_reserve(s, n) < 0)
        goto done;
    v = (int64_t)start;
    for (k = 0; k < n; k++) {
        s->data[s->len++] = v;
        if (k + 1 < n && __builtin_add_overflow(v, (int64_t)step, &v)) {
            item_overflow_error(fname, argname, k + 1);
            goto done;
        }
    }
    ret = 1;
done:
    Py_XDECREF(start_o);
    Py_XDECREF(step_o);
    return ret;
}

/* Item size of an integer buffer format (its code in *code), or 0 when the
 * format is anything else. A '<' (little-endian hosts) or '=' prefix selects
 * struct's standard sizes (l is 4 bytes there); none or '@' the native ones. */
static int buffer_format_size(const char *fmt, char *code)
{
    int standard = 0;
    if (!fmt)
        fmt = "B";
    if (*fmt == '@') {
        fmt++;
    } else if (*fmt == '=' ||
#if PY_LITTLE_ENDIAN
               *fmt == '<'
#else
               *fmt == '>'
#endif
    ) {
        standard = 1;
        fmt++;
    }
    if (fmt[0] == '\0' || fmt[1] != '\0')
        return 0;
    *code = fmt[0];
    switch (fmt[0]) {
    case 'b': case 'B': return 1;
    case 'h': case 'H': return standard ? 2 : (int)sizeof(short);
    case 'i': case 'I': return standard ? 4 : (int)sizeof(int);
    case 'l': case 'L': return standard ? 4 : (int)sizeof(long);
    case 'q': case 'Q': return 8;
    case 'n': case 'N': return standard ? 0 : (int)sizeof(Py_ssize_t);
    default: return 0;
    }
}

/* 1-D buffer of integers (numpy int arrays, array.array, bytes).
 * 1 = done, 0 = not such a buffer (use iteration), -1 = error. */
static int convert_buffer(PyObject *obj, const char *fname,
                          const char *argname, int64_sink *s)
{
    Py_buffer view;
    char code = 0;
    int size, ret = -1;
    Py_ssize_t n, k, stride;
    const char *p;

    if (PyObject_GetBuffer(obj, &view, PyBUF_RECORDS_RO) < 0) {
        PyErr_Clear();
        return 0;
    }
    size = buffer_format_size(view.format, &code);
    if (view.ndim != 1 || size == 0 || size != view.itemsize) {
        ret = 0;
        goto done;
    }
    n = view.shape[0];
    stride = view.strides ? view.strides[0] : view.itemsize;
    if (sink_reserve(s, n) < 0)
        goto done;
    p = view.buf;
    for (k = 0; k < n; k++, p += stride) {
        int64_t v;
        /* decode by width and signedness: in standard-size formats the
         * code's C type can be wider than the item */
        int is_signed = code >= 'a' && code <= 'z';
        if (size == 1) {
            v = is_signed ? (int64_t)*(const int8_t *)p : (int64_t)*(const uint8_t *)p;
        } else if (size == 2) {
            int16_t x;
            uint16_t y;
            if (is_signed) { memcpy(&x, p, 2); v = x; } else { memcpy(&y, p, 2); v = y; }
        } else if (size == 4) {
            int32_t x;
            uint32_t y;
            if (is_signed) { memcpy(&x, p, 4); v = x; } else { memcpy(&y, p, 4); v = y; }
        } else {
            uint64_t x;
            memcpy(&x, p, 8);
            if (!is_signed && x > (uint64_t)INT64_MAX) {
                item_overflow_error(fname, argname, k);
                goto done;
            }
            memcpy(&v, &x, 8);
        }
        s->data[s->len++] = v;
    }
    ret = 1;
done:
    PyBuffer_Release(&view);
    return ret;
}

static int convert_iterable(PyObject *obj, const char *fname,
                            const char *argname, int64_sink *s)
{
    PyObject *it, *item;
    Py_ssize_t hint, k = 0;
    int ret = -1;

    it = PyObject_GetIter(obj);
    if (!it) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError,
                         "%s() argument '%s' must be a sequence of integers, "
                         "not '%.200s'",
                         fname, argname, Py_TYPE(obj)->tp_name);
        }
        return -1;
    }
    hint = PyObject_LengthHint(obj, 0);
    /* a hint is no promise: room for at most limit items, then push decides */
    if (hint < 0 || sink_reserve(s, hint < s->limit ? hint : s->limit) < 0)
        goto done;
    while ((item = PyIter_Next(it)) != NULL) {
        int64_t v;
        int rc = item_to_int64(item, fname, argname, k, &v);
        Py_DECREF(item);
        if (rc < 0 || sink_push(s, v) < 0)
            goto done;
        k++;
    }
    if (!PyErr_Occurred())
        ret = 0;
done:
    Py_DECREF(it);
    return ret;
}

Py_ssize_t cfb_as_int64_array(PyObject *obj, const char *fname,
                              const char *argname, int64_t *buf,
                              Py_ssize_t cap, Py_ssize_t limit, int64_t **out)
{
    int64_sink s;
    int rc;

    fname = name_or(fname, "?");
    argname = name_or(argname, "?");
    *out = NULL;
    sink_init(&s, buf, cap, limit < 0 ? 0 : limit, fname, argname);

    if (PyList_Check(obj) || PyTuple_Check(obj)) {
        rc = convert_list_or_tuple(obj, fname, argname, &s);
    } else if (PyRange_Check(obj)) {
        rc = convert_range(obj, fname, argname, &s);
        if (rc == 0) {
            s.len = 0;
            rc = convert_iterable(obj, fname, argname, &s);
        } else if (rc > 0) {
            rc = 0;
        }
    } else {
        rc = 0;
        if (PyObject_CheckBuffer(obj) && !PyUnicode_Check(obj))
            rc = convert_buffer(obj, fname, argname, &s);
        if (rc == 0)
            rc = convert_iterable(obj, fname, argname, &s);
        else if (rc > 0)
            rc = 0;
    }
    if (rc < 0) {
        sink_discard(&s);
        if (s.over && !PyErr_Occurred())
            return -2;
        return -1;
    }
    return sink_finish(&s, out);
}

void cfb_int64_array_free(int64_t *buf, int64_t *out)
{
    if (out && out != buf)
        PyMem_Free(out);
}
