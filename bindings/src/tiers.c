/* tiers.c - FusionExecutorCache.kernels_final() and wait_for_kernels():
 * whether the full kernels of tiered CUDA compilation are in (cfuser/cuda.h).
 * On the CPU, and in a build without the CUDA backend, kernels are always
 * final. */
#include "module.h"

#ifdef CFUSER_WITH_CUDA
#include "cfuser/cuda.h"
#endif

PyObject *cfb_cache_kernels_final(PyObject *self, PyObject *unused)
{
    (void)self;
    (void)unused;
#ifdef CFUSER_WITH_CUDA
    int pending;
    Py_BEGIN_ALLOW_THREADS
    pending = cf_cuda_background_pending();
    Py_END_ALLOW_THREADS
    return PyBool_FromLong(pending == 0);
#else
    Py_RETURN_TRUE;
#endif
}

PyObject *cfb_cache_wait_for_kernels(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames)
{
    static const char *const names[] = {"timeout"};
    PyObject *p[1];
    double timeout = -1.0;
    (void)self;
    if (cfb_parse("wait_for_kernels", args, nargs, kwnames, names, 1, 1, 0, p) < 0)
        return NULL;
    if (p[0] && p[0] != Py_None) {
        if (!PyFloat_Check(p[0]) && !PyLong_Check(p[0]))
            return PyErr_Format(PyExc_TypeError,
                                "wait_for_kernels() argument 'timeout' must be None or a number of "
                                "seconds, not '%.100s'", Py_TYPE(p[0])->tp_name);
        timeout = PyFloat_AsDouble(p[0]);
        if (timeout == -1.0 && PyErr_Occurred())
            return NULL;
        if (!(timeout >= 0.0))
            return PyErr_Format(PyExc_ValueError,
                                "wait_for_kernels() argument 'timeout' must be >= 0 seconds, got %R", p[0]);
    }
#ifdef CFUSER_WITH_CUDA
    int done;
    Py_BEGIN_ALLOW_THREADS
    done = cf_cuda_wait_background_for(timeout);
    Py_END_ALLOW_THREADS
    return PyBool_FromLong(done);
#else
    Py_RETURN_TRUE;
#endif
}
