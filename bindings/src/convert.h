/* convert.h - turning Python objects into core's types and back.
 *
 * seqconv.c: the one sequence-to-int64 routine every API uses.
 * dlpack.c:  tensors in (any __dlpack__ producer; torch through DLPack 1.3's
 *            C exchange API when the type offers it) and outputs out, in the
 *            caller's framework, zero-copy.
 * Both only convert: no compiler logic here.
 */
#ifndef CFUSER_BINDINGS_CONVERT_H
#define CFUSER_BINDINGS_CONVERT_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cfuser/exec.h"

/* --- sequences ----------------------------------------------------------- */
/* Convert obj (list, tuple, range, torch.Size, numpy array, generator, any
 * iterable of objects with __index__) to int64. fname/argname name the
 * function and argument in errors, e.g. ("define_tensor", "shape").
 * The result goes to buf when it holds at most cap items, else to a new
 * PyMem_Malloc block stored in *out (the caller frees it with
 * cfb_int64_array_free(buf, *out)). Returns the item count, or -1 with:
 *   TypeError     not iterable / item k is not an integer (names k and type)
 *   OverflowError item k does not fit in int64
 *   MemoryError
 * or -2, with no exception set, when obj has more than limit items (the
 * most the caller accepts; PY_SSIZE_T_MAX for any): known from its length
 * before any item is read (list, tuple, range, buffer), or once limit + 1
 * items of an iterator were read, so an endless one ends and a huge range
 * allocates nothing. The caller raises its own error then.
 * A length hint, when present, sizes the allocation once (up to limit). */
Py_ssize_t cfb_as_int64_array(PyObject *obj, const char *fname,
                              const char *argname, int64_t *buf,
                              Py_ssize_t cap, Py_ssize_t limit, int64_t **out);
void cfb_int64_array_free(int64_t *buf, int64_t *out);

/* --- tensors ------------------------------------------------------------- */
typedef enum cfb_framework {
    CFB_FW_NONE = 0,  /* not a tensor                         */
    CFB_FW_NUMPY = 1,
    CFB_FW_TORCH = 2,
    CFB_FW_OTHER = 3  /* any other __dlpack__ producer         */
} cfb_framework;

/* Per-module cache of what conversion looks up once: torch's exchange API,
 * numpy's from_dlpack, interned names. Lives in the module state. */
typedef struct cfb_dlpack_state {
    PyObject *torch_tensor_type;   /* torch.Tensor once torch is imported */
    const void *torch_api;         /* DLPackExchangeAPI*, or NULL         */
    PyObject *torch_api_capsule;   /* keeps torch_api alive               */
    PyObject *numpy_ndarray_type;  /* numpy.ndarray once numpy is imported*/
    PyObject *numpy_from_dlpack;   /* numpy.from_dlpack                   */
    PyObject *torch_from_dlpack;   /* torch.from_dlpack (fallback)        */
    PyObject *str_dlpack;          /* "__dlpack__"                        */
    PyObject *str_dlpack_device;   /* "__dlpack_device__"                 */
    PyObject *exporter_type;       /* the heap type that exports outputs  */
    PyObject *error_types[9];      /* cfuser.Error subclasses by cf_status*/
    /* Call arguments built once and caches filled on first use. */
    PyObject *str_c_exchange_api;  /* "__dlpack_c_exchange_api__"         */
    PyObject *kwnames_max_version; /* ("max_version",)                    */
    PyObject *max_version;         /* (1, 0)                              */
    PyObject *kwnames_dtype_device;/* ("dtype", "device")                 */
    PyObject *str_cpu;             /* "cpu"                               */
    PyObject *str_is_neg;          /* "is_neg"                            */
    PyObject *str_resolve_neg;     /* "resolve_neg"                       */
    PyObject *numpy_empty;         /* numpy.empty                         */
    PyObject *torch_empty;         /* torch.empty (when torch_api is NULL)*/
    PyObject *numpy_dtypes[CF_DTYPE_COUNT];  /* numpy.dtype per cf_dtype */
    PyObject *torch_dtypes[CF_DTYPE_COUNT];  /* torch.dtype per cf_dtype */
} cfb_dlpack_state;

int cfb_dlpack_state_init(PyObject *module, cfb_dlpack_state *st);
int cfb_dlpack_state_traverse(cfb_dlpack_state *st, visitproc visit, void *arg);
void cfb_dlpack_state_clear(cfb_dlpack_state *st);

/* What keeps an imported tensor's memory valid until the call ends.
 * Release exactly once with cfb_hold_release (safe on a zeroed hold). */
typedef struct cfb_hold {
    void *managed;       /* DLManagedTensor(Versioned)* we must delete     */
    int versioned;       /* which deleter signature                        */
    PyObject *owner;     /* a Python reference held, or NULL               */
} cfb_hold;

/* Import obj (argument number argpos of fname, 0-based) as a tensor view.
 * Errors (Python exceptions, messages naming fname and argpos):
 *   TypeError (cfuser.InvalidTypeError) not a tensor / unsupported dtype
 *   ValueError (cfuser.InvalidArgumentError) bad capsule, rank > 8, ...
 *   a producer's exception is chained as __cause__.
 * Sets *fw to the framework it came from. */
int cfb_import_tensor(cfb_dlpack_state *st, PyObject *obj, const char *fname,
                      Py_ssize_t argpos, cf_tensor *out, cfb_hold *hold,
                      cfb_framework *fw);
void cfb_hold_release(cfb_hold *hold);

/* The stream work for CUDA device `device` should run on: torch's current
 * stream when torch's exchange API is loaded, else NULL (the legacy default
 * stream). Returns -1 with an exception on failure. */
int cfb_current_stream(cfb_dlpack_state *st, int device, void **stream);

/* Allocate an output of spec's dtype/shape/device in framework fw
 * (contiguous). Returns the new Python tensor and sets *data to its
 * storage; NULL with an exception on failure. */
PyObject *cfb_alloc_output(cfb_dlpack_state *st, cfb_framework fw,
                           const cf_tensor *spec, void **data);

#endif
