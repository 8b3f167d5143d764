/* source_obj.c - the code of a FusionExecutorCache's last execution.
 *
 * execute remembers its arguments (a copy of the cf_arg array: shapes,
 * strides, dtypes and addresses, whose data is never read here) under the
 * GIL; _last_source prepares a run of the same signature and asks core for
 * its code (cf_run_source): the CUDA C the CUDA backend generates for it,
 * or the program the CPU engine runs. */
#include "module.h"

#include "cfuser/alloc.h"

void cfb_cache_remember(CacheObject *c, const cf_arg *args, int n, int device)
{
    if (n != c->nlast) {
        cf_arg *a = PyMem_Realloc(c->last_args, sizeof *a * (size_t)(n > 0 ? n : 1));
        if (!a) { /* keep nothing rather than fail the execute */
            cfb_cache_forget(c);
            return;
        }
        c->last_args = a;
    }
    if (n > 0)
        memcpy(c->last_args, args, sizeof *args * (size_t)n);
    c->nlast = n;
    c->last_device = device;
}

void cfb_cache_forget(CacheObject *c)
{
    PyMem_Free(c->last_args);
    c->last_args = NULL;
    c->nlast = -1;
}

static PyObject *source_of(cfb_state *st, CacheObject *c, int n, const cf_arg *args, int device, int code_device,
                           cf_source_kind k, bool intrinsic);

PyObject *cfb_cache_last_source(CacheObject *c, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"kind", "intrinsic_code"};
    cfb_state *st = cfb_state_of_obj((PyObject *)c);
    PyObject *p[2];
    const char *kind;
    cf_source_kind k;
    int intrinsic = 0;
    if (!st || cfb_parse("_last_source", args, nargs, kwnames, names, 2, 2, 1, p) < 0)
        return NULL;
    if (!PyUnicode_Check(p[0]))
        return cfb_type_error(st, "_last_source", "kind", "str", p[0]);
    if (!(kind = PyUnicode_AsUTF8(p[0])))
        return NULL;
    if (strcmp(kind, "cuda") == 0)
        k = CF_SOURCE_CUDA;
    else if (strcmp(kind, "program") == 0)
        k = CF_SOURCE_PROGRAM;
    else
        return cfb_raise_fmt(st, CF_ERR_VALUE, "_last_source(): kind must be 'cuda' or 'program', not '%s'", kind);
    if (p[1] && (intrinsic = PyObject_IsTrue(p[1])) < 0)
        return NULL;
    if (c->nlast < 0)
        return cfb_raise_fmt(st, CF_ERR_VALUE, "there is no last execution: call execute() first");
    return source_of(st, c, c->nlast, c->last_args, c->last_device, -1, k, intrinsic != 0);
}

/* The code of a run of c on args (device as execute takes it, -2: the
 * inputs'), for the architecture of the run's CUDA device, else of
 * code_device when that GPU exists, else the default target. */
static PyObject *source_of(cfb_state *st, CacheObject *c, int n, const cf_arg *args, int device, int code_device,
                           cf_source_kind k, bool intrinsic)
{
    cf_exec_options opt;
    cf_run *run = NULL;
    char *text = NULL;
    cf_status s;
    PyObject *res;
    int i, target = device;
    memset(&opt, 0, sizeof opt);
    opt.nthreads = 1;
    opt.device = device;
    for (i = 0; target == -2 && i < n; i++) /* the inputs' device, as execute infers it */
        if (args[i].is_tensor)
            target = args[i].tensor.device;
    if ((s = cf_run_prepare(c->cache, n, args, &opt, &run)))
        return cfb_raise(st, s);
    Py_BEGIN_ALLOW_THREADS
    s = cf_run_source(run, k, target >= 0 ? target : code_device, intrinsic, &text);
    Py_END_ALLOW_THREADS
    cf_run_free(run);
    if (s)
        return cfb_raise(st, s);
    res = PyUnicode_FromString(text);
    cf_free(text);
    return res;
}

PyObject *cfb_cache_get_cuda_kernel(CacheObject *c, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"inputs", "intrinsic_code", "device"};
    cfb_state *st = cfb_state_of_obj((PyObject *)c);
    PyObject *p[3], *seq = NULL, *res = NULL;
    cf_arg *cargs = NULL;
    cfb_hold *holds = NULL;
    Py_ssize_t n = 0, i;
    int intrinsic = 0, device = 0;
    if (!st || cfb_parse("get_cuda_kernel", args, nargs, kwnames, names, 3, 3, 1, p) < 0)
        return NULL;
    if (p[1] && (intrinsic = PyObject_IsTrue(p[1])) < 0)
        return NULL;
    if (p[2] && p[2] != Py_None) {
        long d = PyLong_AsLong(p[2]);
        if (d == -1 && PyErr_Occurred())
            return NULL;
        if (d < 0 || d > 1023)
            return cfb_raise_fmt(st, CF_ERR_VALUE, "get_cuda_kernel(): argument 'device' must be a CUDA device index >= 0, got %ld", d);
        device = (int)d;
    }
    if (!PyList_Check(p[0]) && !PyTuple_Check(p[0]))
        return PyErr_Format(PyExc_TypeError, "get_cuda_kernel() argument 'inputs' must be a list or tuple of tensors and numbers, not '%.100s'", Py_TYPE(p[0])->tp_name);
    if (!(seq = PySequence_Tuple(p[0])))
        return NULL;
    n = PyTuple_GET_SIZE(seq);
    cargs = PyMem_Calloc((size_t)(n ? n : 1), sizeof *cargs);
    holds = PyMem_Calloc((size_t)(n ? n : 1), sizeof *holds);
    if (!cargs || !holds) {
        PyErr_NoMemory();
        goto done;
    }
    for (i = 0; i < n; i++) {
        cfb_framework fw = CFB_FW_NONE;
        if (cfb_convert_input(st, PyTuple_GET_ITEM(seq, i), i, &cargs[i], &holds[i], &fw) < 0)
            goto done;
    }
    res = source_of(st, c, (int)n, cargs, -2, device, CF_SOURCE_CUDA, intrinsic != 0);
done:
    for (i = 0; holds && i < n; i++)
        cfb_hold_release(&holds[i]);
    PyMem_Free(cargs);
    PyMem_Free(holds);
    Py_DECREF(seq);
    return res;
}
