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

typedef enum cf_opcode {
    CF_OP_NONE = 0,
#define CF_X(name, E, cat) CF_OP_##E,
    CF_UNARY_OPS(CF_X) CF_BINARY_OPS(CF_X) CF_TERNARY_OPS(CF_X)
        CF_REDUCTION_OPS(CF_X)
#undef CF_X
    CF_OP_VAR,             /* var(arg, dims, correction, keepdim)          */
    CF_OP_VAR_MEAN,        /* two outputs: var, mean                       */
    CF_OP_CAST,            /* cast(arg, dtype)                             */
    CF_OP_SET,             /* set(arg): a copy                             */
    CF_OP_BROADCAST_IN_DIM,
    CF_OP_BROADCAST,
    CF_OP_EXPAND,
    CF_OP_RESHAPE,
    CF_OP_PERMUTE,
    CF_OP_SQUEEZE,
    CF_OP_FULL,
    CF_OP_IOTA,
    /* program-only ops (see program.h); never in a fusion's IR */
    CF_OP_VIEW,            /* strided alias of its input                   */
    CF_OP_COPY,            /* contiguous copy (reshape of a non-view)      */
    CF_OP_COUNT
} cf_opcode;

typedef enum cf_op_category {
    CF_CAT_SAME,
    CF_CAT_FLOAT,
    CF_CAT_PRED,
    CF_CAT_INTBOOL,
    CF_CAT_INTONLY,
    CF_CAT_OTHER
} cf_op_category;

const char *cf_op_name(cf_opcode op);          /* "add"; NULL if invalid  */
cf_op_category cf_op_category_of(cf_opcode op);
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
cf_status cf_op_full(cf_fusion *f, int ndim, const cf_id *shape,
                     cf_id fill_value, cf_dtype dtype, cf_id *out);
cf_status cf_op_iota(cf_fusion *f, cf_id length, cf_id start, cf_id step,
                     cf_dtype dtype, cf_id *out);

#ifdef __cplusplus
}
#endif
#endif
