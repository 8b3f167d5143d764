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

PyObject *cfb_cache_last_source(CacheObject *c, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"kind", "intrinsic_code"};
    cfb_state *st = cfb_state_of_obj((PyObject *)c);
    PyObject *p[2];
    const char *kind;
    cf_source_kind k;
    cf_exec_options opt;
    cf_run *run = NULL;
    char *text = NULL;
    int intrinsic = 0;
    cf_status s;
    PyObject *res;
    int device, i;
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
    memset(&opt, 0, sizeof opt);
    opt.nthreads = 1;
    opt.device = c->last_device;
    device = c->last_device;
    for (i = 0; device == -2 && i < c->nlast; i++) /* the inputs' device, as execute infers it */
        if (c->last_args[i].is_tensor)
            device = c->last_args[i].tensor.device;
    if ((s = cf_run_prepare(c->cache, c->nlast, c->last_args, &opt, &run)))
        return cfb_raise(st, s);
    Py_BEGIN_ALLOW_THREADS
    s = cf_run_source(run, k, device >= 0 ? device : -1, intrinsic != 0, &text);
    Py_END_ALLOW_THREADS
    cf_run_free(run);
    if (s)
        return cfb_raise(st, s);
    res = PyUnicode_FromString(text);
    cf_free(text);
    return res;
}
