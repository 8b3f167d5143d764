/* module.h - the _C extension's module state, object layouts and helpers.
 * Only CPython glue lives in bindings/src: it converts, calls core's C API
 * and maps errors (see DESIGN.md). */
#ifndef CFUSER_BINDINGS_MODULE_H
#define CFUSER_BINDINGS_MODULE_H

#define PY_SSIZE_T_CLEAN
#include <Python.h>

#include "cfuser/cfuser.h"
#include "convert.h"

enum { CFB_ERR_COUNT = 9 };

typedef struct ActiveStack ActiveStack;

typedef struct cfb_state {
    PyTypeObject *ActiveStack;            /* this thread's active fusions    */
    PyTypeObject *Fusion, *FusionGuard, *Val, *TensorView, *Scalar, *Expr, *IterDomain,
        *TensorDomain, *FusionExecutorCache;
    PyObject *Error;                      /* cfuser.Error                   */
    PyObject *errors[CFB_ERR_COUNT];      /* by cf_status                   */
    PyObject *DataType;                   /* the enum class                 */
    PyObject *dtype_members[CF_DTYPE_COUNT];
    Py_tss_t active;                      /* cache: this thread's ActiveStack */
    int active_ok;
    cfb_dlpack_state dl;
} cfb_state;

/* A Fusion: owns the core fusion; wrappers are cached by id (borrowed
 * pointers, cleared by each wrapper when it dies). */
typedef struct FusionObject {
    PyObject_HEAD
    cf_fusion *f;
    PyObject **vals, **exprs, **iters, **doms;  /* wrapper caches          */
    int capvals, capexprs, capiters, capdoms;
    PyObject *weakreflist;
} FusionObject;

/* Every IR node wrapper: a strong reference to its Fusion and an id. */
typedef enum cfb_node_kind { CFB_VAL = 0, CFB_EXPR = 1, CFB_ITER = 2, CFB_DOM = 3 } cfb_node_kind;

typedef struct NodeObject {
    PyObject_HEAD
    FusionObject *fusion;  /* NULL only after tp_clear broke a cycle       */
    cf_id id;
    int kind;              /* cfb_node_kind                                */
} NodeObject;

typedef struct CacheObject {
    PyObject_HEAD
    cf_cache *cache;
    PyObject *fusion;      /* the Python Fusion it executes               */
    cf_arg *last_args;     /* the last execute's arguments (shapes, strides,
                              dtypes; their data is not read), for the code
                              of the last execution (source_obj.c)        */
    int nlast;             /* -1 before the first execute                 */
    int last_device;
} CacheObject;

cfb_state *cfb_state_of_module(PyObject *m);
cfb_state *cfb_state_of_type(PyTypeObject *tp);
cfb_state *cfb_state_of_obj(PyObject *o);

/* Raise the Python exception for core's last error (returns NULL). */
PyObject *cfb_raise(cfb_state *st, cf_status s);
/* Raise a cfuser error of kind s with a formatted message. */
PyObject *cfb_raise_fmt(cfb_state *st, cf_status s, const char *fmt, ...);

/* From ops.c, for every op entry: the tensor argument 'arg' of a
 * non-elementwise op (checks that it is a value of the active fusion), and
 * a dims-like int list of at most CF_MAX_DIMS entries into buf (a longer
 * one, even endless, is an InvalidArgumentError naming fname and argname). */
int cfb_op_tensor_arg(cfb_state *st, const char *fname, PyObject *o, FusionObject **fo, cf_id *id);
int cfb_op_int_list(cfb_state *st, PyObject *o, const char *fname, const char *argname, int64_t *buf, int *n);

/* FusionExecutorCache.kernels_final / wait_for_kernels (tiers.c). */
PyObject *cfb_cache_kernels_final(PyObject *self, PyObject *unused);
PyObject *cfb_cache_wait_for_kernels(PyObject *self, PyObject *const *args, Py_ssize_t nargs,
                                     PyObject *kwnames);

/* Argument parsing for METH_FASTCALL|METH_KEYWORDS: fills out[0..nnames)
 * (NULL for absent optional ones). names[i] are the parameter names; the
 * first npos may be given by position; the first nreq are required. */
int cfb_parse(const char *fname, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames,
              const char *const *names, int nnames, int npos, int nreq, PyObject **out);

/* DataType member or int -> cf_dtype (-1 with TypeError naming argname). */
int cfb_dtype(cfb_state *st, PyObject *o, const char *fname, const char *argname, cf_dtype *out);
PyObject *cfb_dtype_obj(cfb_state *st, cf_dtype t);

/* Wrappers (one per node, cached). New references. */
PyObject *cfb_wrap_val(cfb_state *st, FusionObject *fo, cf_id id);
PyObject *cfb_wrap_expr(cfb_state *st, FusionObject *fo, cf_id id);
PyObject *cfb_wrap_iter(cfb_state *st, FusionObject *fo, cf_id id);
PyObject *cfb_wrap_dom(cfb_state *st, FusionObject *fo, cf_id tv);
int cfb_is_val(cfb_state *st, PyObject *o);
/* Roll fo back to m: core's nodes, and the Python side too (wrappers of
 * removed nodes leave the cache and raise when used). */
void cfb_rollback(FusionObject *fo, const cf_fusion_mark *m);
/* The node's fusion, or NULL with an error if it was cleared or removed. */
FusionObject *cfb_node_fusion(NodeObject *n);

/* active.c: the per-thread stack of active fusions (strong references).
 * cfb_active_fusion: this thread's innermost active fusion (borrowed) or
 *   NULL (no error set).
 * cfb_active_push: make fo active; *stack (new reference) and *token
 *   identify the entry for cfb_active_pop / cfb_active_abandon.
 * cfb_active_pop: end the entry; an error (naming `who`) when called on
 *   another thread or while entries made after it are still active.
 * cfb_active_abandon: its guard died while entered: drop the entry now if
 *   it is the innermost, else when the ones above it end. */
FusionObject *cfb_active_fusion(cfb_state *st);
int cfb_active_push(cfb_state *st, FusionObject *fo, ActiveStack **stack, uint64_t *token);
int cfb_active_pop(cfb_state *st, ActiveStack *stack, uint64_t token, const char *who);
void cfb_active_abandon(ActiveStack *stack, uint64_t token);

/* Ops: turn an operand (Val or Python number) into a value id of fo.
 * *fo is found from the Val operands or the active fusion. */
int cfb_find_fusion(cfb_state *st, const char *fname, PyObject *const *ops, int n, FusionObject **fo);
int cfb_operand(cfb_state *st, const char *fname, const char *argname, FusionObject *fo, PyObject *o,
                int allow_number, cf_id *out);
/* A list of at most cap ints or integer Scalars as value ids (a longer
 * one, even an endless iterator, is an InvalidArgumentError; a snapshot is
 * read, since an item's __index__ may change the caller's list). */
int cfb_int_operand_list(cfb_state *st, const char *fname, const char *argname, FusionObject *fo, PyObject *o,
                         int cap, cf_id *out, int *n);
/* The same for a list of sizes (cap CF_MAX_DIMS). */
int cfb_size_list(cfb_state *st, const char *fname, const char *argname, FusionObject *fo, PyObject *o,
                  cf_id *out, int *n);

/* TypeError "<fname>() argument '<argname>' must be <expected>, not '<type>'";
 * an object of this module's own types made by another instance of the
 * module (a subinterpreter, a second import) is named as such. Returns NULL. */
PyObject *cfb_type_error(cfb_state *st, const char *fname, const char *argname, const char *expected, PyObject *got);

int cfb_init_types(PyObject *m, cfb_state *st);
int cfb_init_ops(PyObject *m, cfb_state *st);
/* out_layout.c: storage for output i of run, laid out by cf_run_output_strides
 * (filled in strides); the framework's tensor, a permuted view when the
 * layout is not row major. */
PyObject *cfb_alloc_laid_out(cfb_state *st, cfb_framework fw, cf_run *run, int i, void **data,
                             int64_t *strides);
/* source_obj.c: remember an execute's arguments (under the GIL), forget
 * them, and FusionExecutorCache._last_source(kind, intrinsic_code=False). */
void cfb_cache_remember(CacheObject *c, const cf_arg *args, int n, int device);
void cfb_cache_forget(CacheObject *c);
PyObject *cfb_cache_last_source(CacheObject *c, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
/* FusionExecutorCache.get_cuda_kernel(inputs, intrinsic_code=False, device=0). */
PyObject *cfb_cache_get_cuda_kernel(CacheObject *c, PyObject *const *args, Py_ssize_t nargs, PyObject *kwnames);
/* executor.c: one execute() input (tensor or number) as a cf_arg; release
 * hold with cfb_hold_release. */
int cfb_convert_input(cfb_state *st, PyObject *o, Py_ssize_t i, cf_arg *a, cfb_hold *hold, cfb_framework *fw);
/* ir_dump.c: _C._ir_dump and _C._op_print_specs (called by cfb_init_ops). */
int cfb_init_ir_dump(PyObject *m, const char *print_specs);
int cfb_init_testing(PyObject *m, cfb_state *st);
int cfb_init_nvrtc_paths(PyObject *m);
int cfb_init_errors(PyObject *m, cfb_state *st);
int cfb_init_enums(PyObject *m, cfb_state *st);

extern PyType_Spec cfb_active_stack_spec, cfb_fusion_spec, cfb_guard_spec, cfb_val_spec, cfb_tensorview_spec, cfb_scalar_spec,
    cfb_expr_spec, cfb_iterdomain_spec, cfb_tensordomain_spec, cfb_cache_spec;
extern PyMethodDef cfb_module_functions[];

#endif
