/* nvrtc_paths.c - _C._set_nvrtc_candidates and _C._nvrtc_info: the package
 * (cfuser/_nvrtc.py) hands libcfuser the files of the nvidia-cuda-nvrtc
 * wheel, which lie on no loader path; libcfuser tries them after the
 * toolkit. Private: the package calls the first at import. */
#include "module.h"

#ifdef CFUSER_WITH_CUDA
#include <limits.h>

#include "cfuser/cuda.h"
#endif

static PyObject *set_nvrtc_candidates(PyObject *mod, PyObject *arg)
{
    PyObject *seq = PySequence_Tuple(arg); /* a snapshot: str() cannot run code */
    const char **paths = NULL;
    Py_ssize_t n, i;
    PyObject *res = NULL;
    if (!seq) {
        if (PyErr_ExceptionMatches(PyExc_TypeError)) {
            PyErr_Clear();
            PyErr_Format(PyExc_TypeError, "_set_nvrtc_candidates() argument 'paths' must be a sequence of str, not '%.100s'",
                         Py_TYPE(arg)->tp_name);
        }
        return NULL;
    }
    n = PyTuple_GET_SIZE(seq);
    paths = PyMem_Calloc((size_t)n + 1, sizeof *paths);
    if (!paths) {
        PyErr_NoMemory();
        goto done;
    }
    for (i = 0; i < n; i++) {
        PyObject *item = PyTuple_GET_ITEM(seq, i);
        if (!PyUnicode_Check(item)) {
            PyErr_Format(PyExc_TypeError, "_set_nvrtc_candidates() argument 'paths' item %zd must be str, not '%.100s'",
                         i, Py_TYPE(item)->tp_name);
            goto done;
        }
        paths[i] = PyUnicode_AsUTF8(item);
        if (!paths[i])
            goto done;
        if (!paths[i][0]) {
            PyErr_Format(PyExc_ValueError, "_set_nvrtc_candidates() argument 'paths' item %zd is empty", i);
            goto done;
        }
    }
#ifdef CFUSER_WITH_CUDA
    if (cf_cuda_set_nvrtc_candidates(paths, (size_t)n) != CF_OK) {
        cfb_raise(cfb_state_of_module(mod), cf_error_last()->kind);
        goto done;
    }
#endif
    res = Py_NewRef(Py_None);
done:
    PyMem_Free(paths);
    Py_DECREF(seq);
    return res;
}

static PyObject *nvrtc_info(PyObject *mod, PyObject *unused)
{
#ifdef CFUSER_WITH_CUDA
    int major = 0, minor = 0;
    char path[PATH_MAX] = "";
    cf_status st;
    Py_BEGIN_ALLOW_THREADS
    st = cf_cuda_nvrtc_info(&major, &minor, path, sizeof path);
    Py_END_ALLOW_THREADS
    if (st != CF_OK)
        return cfb_raise(cfb_state_of_module(mod), st);
    return Py_BuildValue("(iis)", major, minor, path);
#else
    return cfb_raise_fmt(cfb_state_of_module(mod), CF_ERR_DEVICE, "cfuser was built without the CUDA backend");
#endif
}

static PyMethodDef nvrtc_functions[] = {
    {"_set_nvrtc_candidates", set_nvrtc_candidates, METH_O,
     "_set_nvrtc_candidates(paths, /)\n--\n\n"
     "Files to try for NVRTC after the toolkit's (cfuser calls this at import)."},
    {"_nvrtc_info", nvrtc_info, METH_NOARGS,
     "_nvrtc_info()\n--\n\n"
     "Open NVRTC (no GPU needed) and return (major, minor, path); DeviceError lists where it looked."},
    {NULL, NULL, 0, NULL},
};

int cfb_init_nvrtc_paths(PyObject *m) { return PyModule_AddFunctions(m, nvrtc_functions); }
