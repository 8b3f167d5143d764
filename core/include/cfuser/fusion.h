/* cfuser/fusion.h - the fusion IR: values, expressions and iteration domains.
 *
 * A cf_fusion owns every node. Nodes are named by ids (cf_id), dense per kind
 * (values, expressions, iteration domains) and stable for the fusion's life;
 * nodes are never removed. A fusion is reference counted so that executor
 * caches can share it; it is not thread safe for mutation, but concurrent
 * readers are fine while nobody mutates it.
 *
 * Values are tensors (TensorView) or scalars. A tensor's logical domain is a
 * list of iteration domains; reduction outputs keep their reduced axes in the
 * domain, marked CF_ITER_REDUCTION (as nvFuser prints them: rS3{i1}).
 */
#ifndef CFUSER_FUSION_H
#define CFUSER_FUSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfuser/dtype.h"
#include "cfuser/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CF_MAX_DIMS 8 /* the highest tensor rank cfuser accepts */

typedef int32_t cf_id;
#define CF_NO_ID ((cf_id)-1)

typedef struct cf_fusion cf_fusion;
typedef enum cf_opcode cf_opcode;

typedef enum cf_val_kind { CF_VAL_TENSOR = 0, CF_VAL_SCALAR = 1 } cf_val_kind;

typedef enum cf_iter_type {
    CF_ITER_ITERATION = 0,
    CF_ITER_BROADCAST = 1,
    CF_ITER_REDUCTION = 2
} cf_iter_type;

/* --- the fusion ---------------------------------------------------------- */
cf_fusion *cf_fusion_new(void);          /* NULL (and error set) on no memory */
void cf_fusion_retain(cf_fusion *f);
void cf_fusion_release(cf_fusion *f);    /* frees at zero; NULL is fine    */
/* Bumped by every change; executors use it to notice a changed fusion. */
uint64_t cf_fusion_version(const cf_fusion *f);

int cf_fusion_num_vals(const cf_fusion *f);
int cf_fusion_num_exprs(const cf_fusion *f);
int cf_fusion_num_iterdomains(const cf_fusion *f);

/* Structural identity (ir/hash.c): two fusions are equal when they hold the
 * same nodes in the same creation order (kinds, dtypes, shapes, contiguity,
 * stride orders, constants by bit pattern, ops with their attributes and
 * operands) and the same input and output lists; addresses and printed names
 * do not count. The hash is a function of exactly what equality compares, so
 * equal fusions hash alike (an executor cache keyed by the hash checks
 * equality on a match). Errors: CF_ERR_NOMEM. */
cf_status cf_fusion_hash(const cf_fusion *f, uint64_t *out);
cf_status cf_fusion_equal(const cf_fusion *a, const cf_fusion *b, bool *out);

int cf_fusion_num_inputs(const cf_fusion *f);
int cf_fusion_num_outputs(const cf_fusion *f);
cf_id cf_fusion_input(const cf_fusion *f, int i);  /* CF_NO_ID if out of range */
cf_id cf_fusion_output(const cf_fusion *f, int i);
/* Mark a value as input/output. An output may be added more than once (it
 * is returned once per call, as nvFuser's). Errors: not a value of f, an
 * input already marked, an input that has a definition, a constant scalar
 * as output. */
cf_status cf_fusion_add_input(cf_fusion *f, cf_id val);
cf_status cf_fusion_add_output(cf_fusion *f, cf_id val);
/* nvFuser's add_output(val, alias_input): at the end of every run, input
 * tensor `input` holds val's values (an in-place update, e.g. running
 * statistics). val becomes an output entry that is computed like any other
 * (the caller gives it storage of its own, cf_run_set_output) and copied
 * into the input's storage by the caller once the run is done (the core
 * never writes an input); the entry is hidden (not returned to the user)
 * unless val is also added with cf_fusion_add_output, before or after. A
 * hidden entry that cf_fusion_add_output later makes visible moves to the
 * end, so visible outputs keep the order of their add_output calls.
 * Errors: val not a tensor of f; input not a tensor input of f; dtypes or
 * ranks that differ (shapes are checked by cf_run_prepare); val already
 * aliased; input already the alias of another output. */
cf_status cf_fusion_alias_output(cf_fusion *f, cf_id val, cf_id input);
/* Output entry i's alias: the input position it is written into, or -1;
 * *visible (when not NULL): whether it is returned to the user. */
int cf_fusion_output_alias(const cf_fusion *f, int i, bool *visible);
bool cf_fusion_is_input(const cf_fusion *f, cf_id val);
bool cf_fusion_is_output(const cf_fusion *f, cf_id val);

/* A checkpoint of the fusion's node counts. Rolling back to it removes
 * every node added since (bindings use it so that a failed call leaves the
 * fusion as it was, including constants made for Python numbers). */
typedef struct cf_fusion_mark { int nvals, nexprs, niters; int32_t c0, c1, c2; } cf_fusion_mark;
cf_fusion_mark cf_fusion_mark_take(const cf_fusion *f);
/* Remove every node made since m was taken, and the input and output marks
 * of removed values. */
void cf_fusion_rollback(cf_fusion *f, const cf_fusion_mark *m);

/* nvFuser's textual form ("Inputs: ... %kernel_math { ... }"). Returns a
 * string from cf_malloc that the caller frees with cf_free. */
cf_status cf_fusion_print_math(const cf_fusion *f, char **text);
/* Text of one node, e.g. "T0_g_float[iS0{i0}, iS1{i1}]", "d3", "iS0{i0}",
 * or an expression "T2 = add(T0, T1)". Writes at most cap bytes (always
 * NUL-terminated); returns the length it needed. */
size_t cf_val_to_string(const cf_fusion *f, cf_id val, char *buf, size_t cap);
size_t cf_expr_to_string(const cf_fusion *f, cf_id expr, char *buf, size_t cap);
size_t cf_iterdomain_to_string(const cf_fusion *f, cf_id id, char *buf,
                               size_t cap);

/* --- definitions --------------------------------------------------------- */
/* A tensor input. shape[i] is -1 (symbolic), 1 (broadcast) or a fixed size
 * >= 0. contiguity may be NULL (all contiguous) or give per axis 1, 0 or -1
 * (none, for broadcast axes). stride_order may be NULL or a permutation of
 * 0..ndim-1 (nvFuser's meaning: stride_order[i] is the rank of axis i's
 * stride, ndim-1 the outermost). The tensor is also added as an input. */
cf_status cf_define_tensor(cf_fusion *f, int ndim, const int64_t *shape,
                           const int8_t *contiguity, cf_dtype dtype,
                           const int64_t *stride_order, cf_id *out);
/* A scalar: a constant when value is non-NULL (it is converted to dtype),
 * else a symbolic input (also added as an input). */
cf_status cf_define_scalar(cf_fusion *f, cf_dtype dtype, const cf_scalar *value,
                           cf_id *out);
/* A constant scalar without marking anything (used for Python numbers). */
cf_status cf_fusion_constant(cf_fusion *f, const cf_scalar *value, cf_id *out);

/* --- values -------------------------------------------------------------- */
bool cf_fusion_has_val(const cf_fusion *f, cf_id val);
cf_val_kind cf_val_kind_of(const cf_fusion *f, cf_id val);
cf_dtype cf_val_dtype(const cf_fusion *f, cf_id val);
cf_id cf_val_definition(const cf_fusion *f, cf_id val); /* expr or CF_NO_ID */
int cf_val_num_uses(const cf_fusion *f, cf_id val);
cf_id cf_val_use(const cf_fusion *f, cf_id val, int i); /* exprs, in order */
/* True for a symbolic scalar or any tensor; false for a constant. */
bool cf_val_is_symbolic(const cf_fusion *f, cf_id val);
/* The constant's value; false when the value is symbolic or a tensor. */
bool cf_val_constant(const cf_fusion *f, cf_id val, cf_scalar *out);
/* nvFuser's name: T3, i2, d5, b1, f0 ... (constants too, not their value) */
size_t cf_val_name(const cf_fusion *f, cf_id val, char *buf, size_t cap);

/* tensors: the logical domain includes reduction axes */
int cf_tensor_ndim(const cf_fusion *f, cf_id tv);          /* all axes     */
int cf_tensor_ndim_noreduction(const cf_fusion *f, cf_id tv);
cf_id cf_tensor_axis(const cf_fusion *f, cf_id tv, int i); /* iterdomain id */
/* per-axis contiguity of an input (1, 0, or -1 for none) */
int cf_tensor_contiguity(const cf_fusion *f, cf_id tv, int i);
/* stride order of an input; false when none was given */
bool cf_tensor_stride_order(const cf_fusion *f, cf_id tv, int64_t *order);
/* nvFuser's define_tensor(is_cpu=True): mark a 0-dim tensor input as one
 * given as a CPU scalar tensor next to CUDA tensors (kept, hashed and
 * printed; at run time any 0-dim CPU tensor may join CUDA inputs, its value
 * copied to the device on the run's stream). Errors: not a 0-dim tensor
 * input of f ("CPU non-scalar tensor is not supported"). */
cf_status cf_tensor_set_cpu_scalar(cf_fusion *f, cf_id tv);
bool cf_tensor_is_cpu_scalar(const cf_fusion *f, cf_id tv);
/* The memory order execute gives tensor tv (ir/ops_layout.c): its
 * non-reduction axes from the outermost to the innermost, *n of them, as
 * torch lays out the same computation (inputs by their stride_order,
 * elementwise ops after their fullest operand, permute permuted, the
 * stride_order op as given; row major otherwise). Errors: not a tensor of
 * f, no memory. */
cf_status cf_fusion_alloc_order(const cf_fusion *f, cf_id tv, int8_t *order,
                                int *n);

/* iteration domains */
bool cf_fusion_has_iterdomain(const cf_fusion *f, cf_id id);
cf_id cf_iterdomain_extent(const cf_fusion *f, cf_id id); /* integer scalar */
cf_iter_type cf_iterdomain_type(const cf_fusion *f, cf_id id);

/* --- expressions --------------------------------------------------------- */
/* Attributes of an expression, as set by the op that made it. */
typedef struct cf_expr_attrs {
    cf_dtype dtype;         /* cast, full, iota, reduction dtype           */
    bool keepdim;           /* reductions                                  */
    int64_t correction;     /* var, var_mean                               */
    int nints;              /* dims, broadcast_dims, permutation...        */
    const int64_t *ints;    /* owned by the fusion                         */
} cf_expr_attrs;

bool cf_fusion_has_expr(const cf_fusion *f, cf_id expr);
cf_opcode cf_expr_op(const cf_fusion *f, cf_id expr);
int cf_expr_num_inputs(const cf_fusion *f, cf_id expr);
int cf_expr_num_outputs(const cf_fusion *f, cf_id expr);
cf_id cf_expr_input(const cf_fusion *f, cf_id expr, int i);
cf_id cf_expr_output(const cf_fusion *f, cf_id expr, int i);
void cf_expr_get_attrs(const cf_fusion *f, cf_id expr, cf_expr_attrs *out);

#ifdef __cplusplus
}
#endif
#endif
