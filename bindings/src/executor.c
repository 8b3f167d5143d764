/* executor.c - FusionExecutorCache: execute with tensors in and out through
 * DLPack, the interpreter lock released while the kernels run. */
#include "module.h"

#ifdef CFUSER_WITH_CUDA
#include "cfuser/cuda.h"
#endif

static PyObject *cache_new(PyTypeObject *tp, PyObject *args, PyObject *kw)
{
    static char *names[] = {"fusion", "auto_schedule", NULL};
    cfb_state *st = cfb_state_of_type(tp);
    PyObject *fusion, *auto_schedule = NULL;
    CacheObject *c;
    cf_status s;
    if (!st || !PyArg_ParseTupleAndKeywords(args, kw, "O|O:FusionExecutorCache", names, &fusion, &auto_schedule))
        return NULL;
    if (auto_schedule && !PyBool_Check(auto_schedule))
        return PyErr_Format(PyExc_TypeError, "FusionExecutorCache() argument 'auto_schedule' must be bool, not '%.100s'", Py_TYPE(auto_schedule)->tp_name);
    if (auto_schedule == Py_False) {
        cfb_raise_fmt(st, CF_ERR_UNSUPPORTED, "FusionExecutorCache(): auto_schedule=False (manual scheduling) is not supported yet");
        return NULL;
    }
    if (!PyObject_TypeCheck(fusion, st->Fusion))
        return cfb_type_error(st, "FusionExecutorCache", "fusion", "a cfuser.Fusion", fusion);
    c = (CacheObject *)tp->tp_alloc(tp, 0);
    if (!c)
        return NULL;
    c->nlast = -1;
    if ((s = cf_cache_new(((FusionObject *)fusion)->f, &c->cache))) {
        Py_DECREF(c);
        return cfb_raise(st, s);
    }
    c->fusion = Py_NewRef(fusion);
    return (PyObject *)c;
}

static int cache_traverse(CacheObject *c, visitproc visit, void *arg)
{
    Py_VISIT(Py_TYPE(c));
    Py_VISIT(c->fusion);
    return 0;
}

static int cache_clear(CacheObject *c)
{
    Py_CLEAR(c->fusion);
    return 0;
}

static void cache_dealloc(CacheObject *c)
{
    PyTypeObject *tp = Py_TYPE(c);
    PyObject_GC_UnTrack(c);
    cache_clear(c);
    cf_cache_free(c->cache);
    cfb_cache_forget(c);
    tp->tp_free((PyObject *)c);
    Py_DECREF(tp);
}

static PyObject *cache_fusion(CacheObject *c, PyObject *u)
{
    if (!c->fusion)
        return PyErr_Format(PyExc_RuntimeError, "FusionExecutorCache: the fusion was cleared by the garbage collector");
    return Py_NewRef(c->fusion);
}

static PyObject *cache_num_kernels(CacheObject *c, PyObject *u) { return PyLong_FromLong(cf_cache_num_plans(c->cache)); }

static PyObject *cache_repr(CacheObject *c)
{
    int n = cf_cache_num_plans(c->cache), r = cf_cache_num_retired(c->cache);
    if (r)
        return PyUnicode_FromFormat("<cfuser.FusionExecutorCache: %d compiled kernel%s, %d older plan%s in use by runs>",
                                    n, n == 1 ? "" : "s", r, r == 1 ? "" : "s");
    return PyUnicode_FromFormat("<cfuser.FusionExecutorCache: %d compiled kernel%s>", n, n == 1 ? "" : "s");
}

/* 1 when o has __dlpack__, 0 when it has not, -1 with the exception of the
 * lookup (a MemoryError must not read as "no attribute"). */
static int has_dlpack(cfb_state *st, PyObject *o)
{
    PyObject *attr = PyObject_GetAttr(o, st->dl.str_dlpack);
    if (attr) {
        Py_DECREF(attr);
        return 1;
    }
    if (!PyErr_ExceptionMatches(PyExc_AttributeError))
        return -1;
    PyErr_Clear();
    return 0;
}

/* Convert one execute() input: a tensor (DLPack) or a Python number. */
int cfb_convert_input(cfb_state *st, PyObject *o, Py_ssize_t i, cf_arg *a, cfb_hold *hold, cfb_framework *fw)
{
    int has;
    a->is_tensor = false;
    if (PyBool_Check(o)) {
        a->scalar.dtype = CF_DTYPE_BOOL;
        a->scalar.v.b = o == Py_True;
        return 0;
    }
    if (PyLong_Check(o)) {
        int overflow = 0;
        a->scalar.dtype = CF_DTYPE_INT;
        a->scalar.v.i = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (overflow) {
            PyErr_Format(PyExc_OverflowError, "execute(): input %zd does not fit in int64", i);
            return -1;
        }
        return 0;
    }
    if (PyFloat_Check(o)) {
        a->scalar.dtype = CF_DTYPE_DOUBLE;
        a->scalar.v.f = PyFloat_AS_DOUBLE(o);
        return 0;
    }
    /* the common tensor types skip the attribute look-up below */
    if ((PyObject *)Py_TYPE(o) == st->dl.numpy_ndarray_type || (PyObject *)Py_TYPE(o) == st->dl.torch_tensor_type) {
        a->is_tensor = true;
        return cfb_import_tensor(&st->dl, o, "execute", i, &a->tensor, hold, fw);
    }
    if ((has = has_dlpack(st, o)) < 0)
        return -1;
    if (!has) {
        /* numpy scalars and other number types */
        if (PyIndex_Check(o)) {
            PyObject *idx = PyNumber_Index(o);
            int overflow = 0;
            if (!idx)
                return -1;
            a->scalar.dtype = CF_DTYPE_INT;
            a->scalar.v.i = PyLong_AsLongLongAndOverflow(idx, &overflow);
            Py_DECREF(idx);
            if (overflow) {
                PyErr_Format(PyExc_OverflowError, "execute(): input %zd does not fit in int64", i);
                return -1;
            }
            return 0;
        }
        if (Py_TYPE(o)->tp_as_number && Py_TYPE(o)->tp_as_number->nb_float) {
            double d = PyFloat_AsDouble(o);
            if (d == -1.0 && PyErr_Occurred())
                return -1;
            a->scalar.dtype = CF_DTYPE_DOUBLE;
            a->scalar.v.f = d;
            return 0;
        }
    }
    a->is_tensor = true;
    return cfb_import_tensor(&st->dl, o, "execute", i, &a->tensor, hold, fw);
}

/* device=: None (the inputs' device), an index k >= 0 (CUDA device k),
 * 'cpu', 'cuda' or 'cuda:k'. */
static int parse_device(cfb_state *st, PyObject *o, int *device)
{
    *device = -2;
    if (!o || o == Py_None)
        return 0;
    if (PyLong_Check(o) && !PyBool_Check(o)) {
        int overflow = 0;
        long long d = PyLong_AsLongLongAndOverflow(o, &overflow);
        if (d == -1 && PyErr_Occurred())
            return -1;
        if (overflow) {
            PyErr_Format(PyExc_OverflowError, "execute(): argument 'device' %R does not fit in a device index", o);
            return -1;
        }
        if (d < 0 || d > INT16_MAX) {
            cfb_raise_fmt(st, CF_ERR_VALUE, "execute(): argument 'device' must be a device index >= 0, got %R", o);
            return -1;
        }
        *device = (int)d;
        return 0;
    }
    if (PyUnicode_Check(o)) {
        const char *s = PyUnicode_AsUTF8(o), *q;
        if (!s)
            return -1;
        if (!strcmp(s, "cpu")) {
            *device = CF_DEVICE_CPU;
            return 0;
        }
        if (!strcmp(s, "cuda")) {
            *device = 0;
            return 0;
        }
        if (!strncmp(s, "cuda:", 5) && s[5]) {
            long k = 0;
            for (q = s + 5; *q >= '0' && *q <= '9' && k <= INT16_MAX; q++)
                k = k * 10 + (*q - '0');
            if (!*q && k <= INT16_MAX) {
                *device = (int)k;
                return 0;
            }
        }
        cfb_raise_fmt(st, CF_ERR_VALUE, "execute(): argument 'device' must be 'cpu', 'cuda' or 'cuda:<index>', not %R", o);
        return -1;
    }
    PyErr_Format(PyExc_TypeError, "execute() argument 'device' must be None, an int or a str, not '%.100s'", Py_TYPE(o)->tp_name);
    return -1;
}

/* stream=: None, a CUstream handle as an int, or an object with a
 * cuda_stream attribute (torch.cuda.Stream). */
static int parse_stream(PyObject *o, void **stream)
{
    PyObject *h = NULL;
    unsigned long long v;
    if (!o || o == Py_None)
        return 0;
    if (PyLong_Check(o) && !PyBool_Check(o))
        h = Py_NewRef(o);
    else if (!(h = PyObject_GetAttrString(o, "cuda_stream")) || !PyLong_Check(h)) {
        Py_XDECREF(h);
        PyErr_Clear();
        PyErr_Format(PyExc_TypeError, "execute() argument 'stream' must be None, an int handle or a torch.cuda.Stream, not '%.100s'",
                     Py_TYPE(o)->tp_name);
        return -1;
    }
    v = PyLong_AsUnsignedLongLong(h);
    Py_DECREF(h);
    if (v == (unsigned long long)-1 && PyErr_Occurred())
        return -1;
    *stream = (void *)(uintptr_t)v;
    return 0;
}

#define STACK_ARGS 8

/* nvFuser's aliases, after a run: each output written into an input
 * (add_output(out, alias_input)) is copied there with the input's own
 * item assignment (torch's copy_ on its current stream, numpy's copyto),
 * hidden outputs leave the list, and a visible output that aliases an
 * input, or is one, is that input object. *outs is replaced when any of
 * this applies. */
static int resolve_aliases(cfb_state *st, cf_run *run, PyObject *inputs, PyObject **outs, int device, void *explicit_stream)
{
    Py_ssize_t i, n = PyList_GET_SIZE(*outs);
    int any = 0;
    PyObject *res;
    for (i = 0; i < n && !any; i++) {
        bool vis;
        int same, k = cf_run_output_alias(run, (int)i, &vis, &same);
        any = k >= 0 || same >= 0 || !vis;
    }
    if (!any)
        return 0;
#ifdef CFUSER_WITH_CUDA
    /* the copies go on the framework's current stream: the run's own one
     * must be done first */
    if (device >= 0 && explicit_stream) {
        cf_status s;
        Py_BEGIN_ALLOW_THREADS
        s = cf_cuda_synchronize(device, explicit_stream);
        Py_END_ALLOW_THREADS
        if (s) {
            cfb_raise(st, s);
            return -1;
        }
    }
#else
    (void)st;
    (void)device;
    (void)explicit_stream;
#endif
    for (i = 0; i < n; i++) {
        int k = cf_run_output_alias(run, (int)i, NULL, NULL);
        if (k >= 0 && PyObject_SetItem(PyTuple_GET_ITEM(inputs, k), Py_Ellipsis, PyList_GET_ITEM(*outs, i)) < 0)
            return -1;
    }
    if (!(res = PyList_New(0)))
        return -1;
    for (i = 0; i < n; i++) {
        bool vis;
        int same, k = cf_run_output_alias(run, (int)i, &vis, &same);
        PyObject *o = k >= 0 ? PyTuple_GET_ITEM(inputs, k) : same >= 0 ? PyTuple_GET_ITEM(inputs, same) : PyList_GET_ITEM(*outs, i);
        if (vis && PyList_Append(res, o) < 0) {
            Py_DECREF(res);
            return -1;
        }
    }
    Py_SETREF(*outs, res);
    return 0;
}

static PyObject *cache_execute(CacheObject *c, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames)
{
    static const char *const names[] = {"inputs", "device", "_enable_options", "_disable_options", "stream"};
    cfb_state *st = cfb_state_of_obj((PyObject *)c);
    PyObject *p[5], *seq = NULL, *outs = NULL;
    cf_arg stack_args[STACK_ARGS], *cargs = stack_args;
    cfb_hold stack_holds[STACK_ARGS], *holds = stack_holds;
    cfb_framework fw = CFB_FW_NONE;
    cf_exec_options opt = {0, -2, NULL};
    cf_run *run = NULL;
    Py_ssize_t n = 0, i;
    cf_status s;
    int nout;
    if (!st || cfb_parse("execute", args, nargs, kwnames, names, 5, 1, 1, p) < 0 || parse_device(st, p[1], &opt.device) < 0 ||
        parse_stream(p[4], &opt.stream) < 0)
        return NULL;
    for (i = 2; i < 4; i++) {
        Py_ssize_t k;
        if (!p[i])
            continue;
        if (!PyList_Check(p[i]) && !PyTuple_Check(p[i]))
            return PyErr_Format(PyExc_TypeError, "execute() argument '%s' must be a list of option names, not '%.100s'",
                                names[i], Py_TYPE(p[i])->tp_name);
        for (k = 0; k < PySequence_Fast_GET_SIZE(p[i]); k++)
            if (!PyUnicode_Check(PySequence_Fast_GET_ITEM(p[i], k)))
                return PyErr_Format(PyExc_TypeError, "execute() argument '%s': item %zd must be a str, not '%.100s'",
                                    names[i], k, Py_TYPE(PySequence_Fast_GET_ITEM(p[i], k))->tp_name);
    }
    /* A snapshot: converting an input can run Python code (__index__,
     * __dlpack__) that changes the caller's list. A lone tensor is refused
     * rather than iterated as rows. */
    if (PyTuple_Check(p[0]) || PyList_Check(p[0]))
        seq = PySequence_Tuple(p[0]);
    else if ((PySequence_Check(p[0]) || Py_TYPE(p[0])->tp_iter) && !PyObject_CheckBuffer(p[0]) && !has_dlpack(st, p[0]) && !PyErr_Occurred() &&
             !PyUnicode_Check(p[0]) && !PyBytes_Check(p[0]))
        seq = PySequence_Tuple(p[0]);
    else if (!PyErr_Occurred())
        PyErr_Format(PyExc_TypeError, "execute() argument 'inputs' must be a list or tuple of tensors and numbers, not '%.100s'%s",
                     Py_TYPE(p[0])->tp_name, PyObject_CheckBuffer(p[0]) || has_dlpack(st, p[0]) == 1 ? " (wrap a single tensor in a list: execute([t]))" : "");
    if (!seq)
        return NULL;
    n = PyTuple_GET_SIZE(seq);
    if (n > STACK_ARGS) {
        cargs = PyMem_Malloc(sizeof(cf_arg) * (size_t)n);
        holds = PyMem_Calloc((size_t)n, sizeof(cfb_hold));
        if (!cargs || !holds) {
            PyErr_NoMemory();
            goto done;
        }
    } else {
        memset(stack_holds, 0, sizeof stack_holds);
    }
    for (i = 0; i < n; i++) {
        cfb_framework f1 = CFB_FW_NONE;
        if (cfb_convert_input(st, PyTuple_GET_ITEM(seq, i), i, &cargs[i], &holds[i], &f1) < 0) {
            n = i + 1; /* release what was taken so far */
            goto done;
        }
        if (f1 == CFB_FW_TORCH || (f1 != CFB_FW_NONE && fw == CFB_FW_NONE))
            fw = f1 == CFB_FW_TORCH || fw != CFB_FW_TORCH ? f1 : fw;
    }
    if (!p[4] || p[4] == Py_None) {
        /* CUDA work goes on the framework's current stream, so that a torch
         * op queued after this call sees the results without a sync */
        for (i = 0; i < n; i++)
            if (cargs[i].is_tensor && !(cargs[i].tensor.ndim == 0 && cargs[i].tensor.device < 0)) {
                if (cargs[i].tensor.device >= 0 && cfb_current_stream(&st->dl, cargs[i].tensor.device, &opt.stream) < 0)
                    goto done;
                break;
            }
    }
    if ((s = cf_run_prepare(c->cache, (int)n, cargs, &opt, &run))) {
        cfb_raise(st, s);
        goto done;
    }
    cfb_cache_remember(c, cargs, (int)n, opt.device);
    nout = cf_run_num_outputs(run);
    if (!(outs = PyList_New(nout)))
        goto done;
    for (i = 0; i < nout; i++) {
        void *data = NULL;
        int64_t strides[CF_MAX_DIMS];
        PyObject *t = cfb_alloc_laid_out(st, fw != CFB_FW_NONE ? fw : opt.device >= 0 ? CFB_FW_TORCH : CFB_FW_NUMPY, run, (int)i, &data, strides);
        if (!t) {
            Py_CLEAR(outs);
            goto done;
        }
        PyList_SET_ITEM(outs, i, t);
        if ((s = cf_run_set_output(run, (int)i, data, strides))) {
            Py_CLEAR(outs);
            cfb_raise(st, s);
            goto done;
        }
    }
    Py_BEGIN_ALLOW_THREADS
    s = cf_run_execute(run);
    Py_END_ALLOW_THREADS
    if (s) {
        Py_CLEAR(outs);
        cfb_raise(st, s);
    } else if (resolve_aliases(st, run, seq, &outs, opt.device, p[4] && p[4] != Py_None ? opt.stream : NULL) < 0) {
        Py_CLEAR(outs);
    }
done:
    cf_run_free(run);
    for (i = 0; i < n; i++)
        if (holds)
            cfb_hold_release(&holds[i]);
    if (cargs != stack_args)
        PyMem_Free(cargs);
    if (holds != stack_holds)
        PyMem_Free(holds);
    Py_XDECREF(seq);
    return outs;
}

static PyMethodDef cache_methods[] = {
    {"execute", (PyCFunction)(void (*)(void))cache_execute, METH_FASTCALL | METH_KEYWORDS,
     "execute($self, inputs, *, device=None, _enable_options=(), _disable_options=(), stream=None)\n--\n\n"
     "Run the fusion on inputs (tensors through DLPack, numbers for symbolic scalars).\n\n"
     "Parameters\n----------\ninputs : list\n    Tensors (torch, numpy or any DLPack producer) and numbers, in input order.\n"
     "device : int or str, optional\n    Where to run; by default the inputs' device.\n"
     "_enable_options, _disable_options : list of str\n    nvFuser's debug options; accepted for compatibility "
     "and checked to be lists of str, cfuser has none of them.\n"
     "stream : int or torch.cuda.Stream, optional\n    CUDA stream for device inputs; by default torch's current stream.\n\n"
     "Returns\n-------\nlist\n    The outputs, in the framework of the inputs (torch if any input is torch, else numpy).\n\n"
     "Notes\n-----\nOn a CUDA device the first execute of a new fusion (or input signature) compiles quick kernels "
     "(no unrolling, NVRTC's fast-compile option) and runs them, while a background thread compiles the full "
     "kernels and swaps them in, typically a few hundred milliseconds later; results are the same. A full module "
     "in the disk cache is used at once. Calls in between run the quick tier, which can be markedly slower: "
     "time a fusion only after wait_for_kernels() returns True (or kernels_final() is True). "
     "CFUSER_CUDA_TIERED=0 compiles the full kernels before the first call returns. On the CPU there is one tier.\n"},
    {"kernels_final", (PyCFunction)cfb_cache_kernels_final, METH_NOARGS,
     "kernels_final($self, /)\n--\n\nTrue when no full CUDA kernels are still compiling in the background, so every "
     "fusion executed so far (this one included) runs its final kernels; always True on the CPU."},
    {"wait_for_kernels", (PyCFunction)(void (*)(void))cfb_cache_wait_for_kernels, METH_FASTCALL | METH_KEYWORDS,
     "wait_for_kernels($self, /, timeout=None)\n--\n\nWait (without the GIL) until the background compiler has "
     "installed every pending full CUDA kernel, this fusion's included; at most timeout seconds when given. "
     "Returns True when they are all in (at once on the CPU), False on time-out."},
    {"fusion", (PyCFunction)cache_fusion, METH_NOARGS, "fusion($self, /)\n--\n\nThe Fusion this cache executes."},
    {"get_cuda_kernel", (PyCFunction)(void (*)(void))cfb_cache_get_cuda_kernel, METH_FASTCALL | METH_KEYWORDS,
     "get_cuda_kernel($self, inputs, intrinsic_code=False, device=0)\n--\n\n"
     "The CUDA C of the kernels for inputs (nvFuser's name), generated without running them and without a GPU "
     "(then for a default sm_90 device); device picks the GPU whose architecture the code is for.\n"},
    {"_last_source", (PyCFunction)(void (*)(void))cfb_cache_last_source, METH_FASTCALL | METH_KEYWORDS,
     "_last_source($self, kind, intrinsic_code=False)\n--\n\nThe code of the last execute: kind 'cuda' or 'program' (private; "
     "FusionDefinition.last_cuda_code and last_cpu_code call it)."},
    {"num_kernels", (PyCFunction)cache_num_kernels, METH_NOARGS,
     "num_kernels($self, /)\n--\n\nHow many compiled kernels (input signatures) the cache holds."},
    {NULL, NULL, 0, NULL},
};

static PyType_Slot cache_slots[] = {
    {Py_tp_doc, "FusionExecutorCache(fusion, auto_schedule=True)\n--\n\nCompiles and runs a fusion, one kernel per input signature.\n\n"
     "cfuser always schedules automatically; auto_schedule=False raises UnsupportedError."},
    {Py_tp_new, cache_new},
    {Py_tp_dealloc, cache_dealloc},
    {Py_tp_traverse, cache_traverse},
    {Py_tp_clear, cache_clear},
    {Py_tp_methods, cache_methods},
    {Py_tp_repr, cache_repr},
    {0, NULL},
};

PyType_Spec cfb_cache_spec = {"cfuser.FusionExecutorCache", sizeof(CacheObject), 0,
                              Py_TPFLAGS_DEFAULT | Py_TPFLAGS_HAVE_GC | Py_TPFLAGS_BASETYPE, cache_slots};
