/* out_layout.c - outputs laid out in memory as torch lays out the same
 * computation (the strides come from core: cf_run_output_strides).
 *
 * A row-major output is allocated as before. Otherwise the storage is
 * allocated in memory order (the shape permuted outermost first) and the
 * caller gets the view that puts the axes back in logical order: torch's
 * Tensor.permute, numpy's ndarray.transpose; both share the storage. */
#include "module.h"

PyObject *cfb_alloc_laid_out(cfb_state *st, cfb_framework fw, cf_run *run, int i, void **data,
                             int64_t *strides)
{
    const cf_tensor *spec = cf_run_output(run, i);
    cf_tensor mem;
    int order[CF_MAX_DIMS], pos[CF_MAX_DIMS];
    int d, k, row_major = 1;
    int64_t expect = 1;
    PyObject *storage, *perm, *view;
    cf_status s = cf_run_output_strides(run, i, strides);
    if (s)
        return cfb_raise(st, s);
    for (d = spec->ndim - 1; d >= 0; d--) {
        if (spec->shape[d] > 1 && strides[d] != expect)
            row_major = 0;
        expect *= spec->shape[d] > 1 ? spec->shape[d] : 1;
    }
    if (row_major)
        return cfb_alloc_output(&st->dl, fw, spec, data);
    /* axes by decreasing stride (ties keep their logical order): memory order */
    for (d = 0; d < spec->ndim; d++)
        order[d] = d;
    for (d = 1; d < spec->ndim; d++)
        for (k = d; k > 0 && strides[order[k - 1]] < strides[order[k]]; k--) {
            int t = order[k];
            order[k] = order[k - 1];
            order[k - 1] = t;
        }
    mem = *spec;
    for (k = 0; k < spec->ndim; k++) {
        mem.shape[k] = spec->shape[order[k]];
        pos[order[k]] = k;
    }
    if (!(storage = cfb_alloc_output(&st->dl, fw, &mem, data)))
        return NULL;
    if (!(perm = PyTuple_New(spec->ndim))) {
        Py_DECREF(storage);
        return NULL;
    }
    for (d = 0; d < spec->ndim; d++) {
        PyObject *x = PyLong_FromLong(pos[d]);
        if (!x) {
            Py_DECREF(perm);
            Py_DECREF(storage);
            return NULL;
        }
        PyTuple_SET_ITEM(perm, d, x);
    }
    /* cfb_alloc_output makes numpy arrays for numpy and other CPU producers */
    view = PyObject_CallMethod(storage, (fw == CFB_FW_NUMPY || (fw != CFB_FW_TORCH && spec->device < 0)) ? "transpose" : "permute", "O", perm);
    Py_DECREF(perm);
    Py_DECREF(storage);
    return view;
}
