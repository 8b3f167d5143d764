/* cfuser/ops.h - op codes and the functions that add ops to a fusion.
 *
 * Every function appends one expression (and its output values) to the
 * fusion f and returns the new output's id through *out. Operands are value
 * ids of f (tensors or scalars). On error nothing is added to f.
 * Type promotion follows nvFuser (and PyTorch): bool < integer < floating;
 * a scalar operand raises the result's category but not its width within
 * the tensors' category; Half/BFloat16 mixed with each other give Float.
 */
#ifndef CFUSER_OPS_H
#define CFUSER_OPS_H

#include <stdbool.h>
#include <stdint.h>

#include "cfuser/dtype.h"
#include "cfuser/fusion.h"
#include "cfuser/op_table.h"
#include "cfuser/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The opcodes, in the order of the op registry (core/ops/ops.toml, from
 * which cfuser/op_table.h is generated at build time). */
typedef enum cf_opcode {
    CF_OP_NONE = 0,
#define CF_X(name, E) CF_OP_##E,
    CF_OPCODES(CF_X)
#undef CF_X
    CF_OP_COUNT
} cf_opcode;

/* Result-type rules (the registry's "rule"). */
typedef enum cf_op_category {
    CF_CAT_SAME,
    CF_CAT_FLOAT,
    CF_CAT_PRED,
    CF_CAT_INTBOOL,
    CF_CAT_INTONLY,
    CF_CAT_FLOATONLY, /* Float or Double operands only */
    CF_CAT_OTHER
} cf_op_category;

/* Kinds of op (the registry's sections). */
typedef enum cf_op_kind {
    CF_KIND_NONE,
    CF_KIND_UNARY,
    CF_KIND_BINARY,
    CF_KIND_TERNARY,   /* includes addcmul (4 operands) */
    CF_KIND_REDUCTION,
    CF_KIND_CONVERT,   /* cast, set */
    CF_KIND_SHAPE,
    CF_KIND_CREATION,
    CF_KIND_SCAN,      /* scans, sorts, welford: a segment of their own */
    CF_KIND_PROGRAM    /* program-only ops (see program.h); never in a fusion's IR */
} cf_op_kind;

/* Flags of an op (cf_op_flags). */
enum {
    CF_OPF_ELEMENTWISE = 1 << 0,
    CF_OPF_REDUCTION = 1 << 1,
    CF_OPF_SHAPE = 1 << 2,
    CF_OPF_INDEXING = 1 << 3,
    CF_OPF_OWN_SEGMENT = 1 << 4, /* always a segment of its own (matmul) */
    CF_OPF_RANDOM = 1 << 5,
    CF_OPF_INTERNAL = 1 << 6,
    CF_OPF_PYTHON = 1 << 7       /* has an entry in cfuser.ops */
};

/* Lookups into the registry; out-of-range opcodes give NULL, 0 or OTHER. */
const char *cf_op_name(cf_opcode op);          /* "add"; NULL if invalid  */
cf_op_category cf_op_category_of(cf_opcode op);
cf_op_kind cf_op_kind_of(cf_opcode op);
int cf_op_arity(cf_opcode op);                 /* elementwise: operand count; else 0 */
unsigned cf_op_flags(cf_opcode op);
const char *cf_op_infix(cf_opcode op);         /* print_math's "+"; NULL if none */
int cf_op_is_unary(cf_opcode op);
int cf_op_is_binary(cf_opcode op);
int cf_op_is_ternary(cf_opcode op);             /* includes addcmul (4)   */
int cf_op_is_reduction(cf_opcode op);           /* sum..min, var, var_mean */
int cf_op_is_pointwise(cf_opcode op);           /* elementwise, cast, set */

/* Result dtype of op applied to operands of these dtypes, with is_tensor[i]
 * telling tensors from scalars. Sets the error record on a type error. */
cf_status cf_op_result_dtype(cf_opcode op, int n, const cf_dtype *dt,
                             const bool *is_tensor, cf_dtype *out);

/* Elementwise ops: op is a unary, binary or ternary opcode; n is its arity
 * (addcmul: 4). Operands may mix tensors and scalars; tensors must have the
 * same rank, with equal or broadcast axes. */
cf_status cf_op_pointwise(cf_fusion *f, cf_opcode op, int n, const cf_id *in,
                          cf_id *out);
cf_status cf_op_cast(cf_fusion *f, cf_id arg, cf_dtype dtype, cf_id *out);
cf_status cf_op_set(cf_fusion *f, cf_id arg, cf_id *out);
/* set in a CUDA kernel of its own (CF_OP_SEGMENT_SET). */
cf_status cf_op_segment_set(cf_fusion *f, cf_id arg, cf_id *out);

/* Reductions. dims may be negative (counted from the end) and must be
 * distinct; ndims == 0 reduces nothing... except for sum/prod/max/min where
 * nvFuser reduces nothing too. dtype CF_DTYPE_NULL keeps the default. */
cf_status cf_op_reduce(cf_fusion *f, cf_opcode op, cf_id arg, int ndims,
                       const int64_t *dims, bool keepdim, cf_dtype dtype,
                       cf_id *out);
cf_status cf_op_var(cf_fusion *f, cf_id arg, int ndims, const int64_t *dims,
                    int64_t correction, bool keepdim, cf_id *out);
cf_status cf_op_var_mean(cf_fusion *f, cf_id arg, int ndims,
                         const int64_t *dims, int64_t correction, bool keepdim,
                         cf_id *var_out, cf_id *mean_out);

/* Shape ops. Sizes are given as value ids of integer scalars (constants or
 * symbolic), so that x.shape() can be passed on. */
cf_status cf_op_broadcast_in_dim(cf_fusion *f, cf_id arg, int ndim,
                                 const cf_id *shape, int nbdims,
                                 const int64_t *broadcast_dims, cf_id *out);
cf_status cf_op_broadcast(cf_fusion *f, cf_id arg, int n,
                          const bool *is_broadcast_dim, cf_id *out);
cf_status cf_op_expand(cf_fusion *f, cf_id arg, int ndim, const cf_id *shape,
                       cf_id *out);
cf_status cf_op_reshape(cf_fusion *f, cf_id arg, int ndim,
                        const cf_id *new_shape, cf_id *out);
cf_status cf_op_permute(cf_fusion *f, cf_id arg, int n, const int64_t *dims,
                        cf_id *out);
cf_status cf_op_squeeze(cf_fusion *f, cf_id arg, int n, const int64_t *dims,
                        cf_id *out);
/* arg's values in the memory order stride_order gives (nvFuser's meaning:
 * stride_order[i] is the rank of axis i's stride, n-1 the outermost); the
 * result is laid out so when it is an output (ops_layout.c). */
cf_status cf_op_stride_order(cf_fusion *f, cf_id arg, int n,
                             const int64_t *stride_order, cf_id *out);
/* Data-movement ops (ops_movement.c), nvFuser's slice, pad, cat and select.
 * slice: starts/ends are integer scalar ids, one per dim; steps (NULL: all
 * 1) must be > 0. Bounds are normalised like Python's (negative from the
 * end, clamped) unless manual, where execute checks 0 <= start <= end <=
 * size instead. pad: n widths (before, after) pairs, last dim first, as
 * torch.nn.functional.pad; negative widths crop; value CF_NO_ID pads with
 * 0. cat: n >= 1 tensors of one dtype and rank, equal except along dim.
 * select: index (an integer scalar id, negative from the end) along dim;
 * execute raises CF_ERR_INDEX when it is out of range. */
cf_status cf_op_slice(cf_fusion *f, cf_id arg, int nstart, const cf_id *starts,
                      int nend, const cf_id *ends, int nsteps,
                      const int64_t *steps, bool manual, cf_id *out);
cf_status cf_op_pad(cf_fusion *f, cf_id arg, int n, const cf_id *widths,
                    cf_id value, cf_id *out);
cf_status cf_op_cat(cf_fusion *f, int n, const cf_id *tensors, int64_t dim,
                    bool manual_padding, cf_id *out);
cf_status cf_op_select(cf_fusion *f, cf_id arg, cf_id index, int64_t dim,
                       cf_id *out);
cf_status cf_op_full(cf_fusion *f, int ndim, const cf_id *shape,
                     cf_id fill_value, cf_dtype dtype, cf_id *out);
cf_status cf_op_iota(cf_fusion *f, cf_id length, cf_id start, cf_id step,
                     cf_dtype dtype, cf_id *out);

/* Indexing ops (ops_indexing.c). Index tensors hold Int or Int32 values;
 * dim may be negative (counted from the end). A value outside
 * [0, arg.size(dim)) makes the run fail with CF_ERR_INDEX (negative values
 * too, as in torch). index_select: index is 1-D (or 0-D, keeping dim with
 * size 1). gather: index has arg's rank and no larger sizes off dim; the
 * result has index's shape. take_along_axis: index matches arg off dim
 * (broadcast dims of either side expand). scatter: a copy of arg with src
 * (a tensor of arg's rank and dtype, or a scalar) written where index says
 * along dim; in a segment of its own. embedding_fwd: rows of weight (2-D) at
 * input's values, shape input + [embedding_dim]; padding_idx (CF_NO_ID for
 * none) does not change the forward result; max_norm (CF_NO_ID: none)
 * scales rows whose norm_type-norm (CF_NO_ID: 2) exceeds it to that norm,
 * as torch does (weight itself is not changed). */
cf_status cf_op_index_select(cf_fusion *f, cf_id arg, cf_id index, int64_t dim,
                             cf_id *out);
cf_status cf_op_gather(cf_fusion *f, cf_id arg, cf_id index, int64_t dim,
                       cf_id *out);
cf_status cf_op_take_along_axis(cf_fusion *f, cf_id arg, cf_id index,
                                int64_t dim, cf_id *out);
cf_status cf_op_scatter(cf_fusion *f, cf_id arg, cf_id index, cf_id src,
                        int64_t dim, cf_id *out);
cf_status cf_op_embedding_fwd(cf_fusion *f, cf_id input, cf_id weight,
                              cf_id padding_idx, cf_id max_norm,
                              cf_id norm_type, cf_id *out);
/* Scans, sorts and welford (ir/ops_scan.c). dim may be negative (counted
 * from the end). Each runs as a segment of its own (CF_OPF_OWN_SEGMENT).
 * cf_op_scan: op is CUMSUM, CUMPROD, CUMMIN or CUMMAX; init is a scalar
 * value of f (converted to arg's dtype; a floating init of an integer or
 * Bool tensor is a type error) or CF_NO_ID for the op's identity. The
 * result has arg's shape and dtype (nvFuser does not promote: Half stays
 * Half, Int32 wraps in 32 bits, Bool sums as a logical or). A scan along a
 * broadcast dim without init is set(arg), as in nvFuser. */
cf_status cf_op_scan(cf_fusion *f, cf_opcode op, cf_id arg, int64_t dim,
                     cf_id init, cf_id *out);
/* Int indices that sort arg along dim (stable; NaN sorts as the largest
 * value). A 0-dim arg gives a 0-dim Int zero. */
cf_status cf_op_argsort(cf_fusion *f, cf_id arg, int64_t dim, bool descending,
                        bool stable, cf_id *out);
/* The k (an Int or Int32 scalar value) largest or smallest values along
 * dim and their Int indices, in order; 0 <= k <= the dim's size is
 * checked when k is a constant and again when the fusion runs. */
cf_status cf_op_topk(cf_fusion *f, cf_id arg, cf_id k, int64_t dim,
                     bool largest, bool sorted, cf_id *values,
                     cf_id *indices);
/* Welford over dims (at least one): mean, sum of squared deviations
 * (var_sum) and count n (Int). Floating args keep their dtype; integer and
 * Bool args give Float results. */
cf_status cf_op_welford(cf_fusion *f, cf_id arg, int ndims,
                        const int64_t *dims, cf_id *avg, cf_id *var_sum,
                        cf_id *n);

/* Composite ops (ops_composite.c): built from the ops above. */
/* arg (2+ dims) where column - row >= diagonal (an integer scalar) over
 * its last two dims, else 0. */
cf_status cf_op_triu(cf_fusion *f, cf_id arg, cf_id diagonal, cf_id *out);

#ifdef __cplusplus
}
#endif
#endif
