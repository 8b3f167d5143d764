/* ir.h - private layout of a fusion's nodes (core only). */
#ifndef CFUSER_IR_PRIVATE_H
#define CFUSER_IR_PRIVATE_H

#include <stdatomic.h>

#include "cfuser/fusion.h"
#include "cfuser/ops.h"

typedef struct cf_val_node {
    uint8_t kind;             /* cf_val_kind                               */
    cf_dtype dtype;
    int32_t name;             /* T<name> or the scalar's number            */
    cf_id def;                /* defining expr or CF_NO_ID                 */
    int32_t nuses, capuses;
    cf_id *uses;
    /* tensors */
    int8_t ndim;
    cf_id axes[CF_MAX_DIMS];
    int8_t contig[CF_MAX_DIMS];
    bool has_stride_order;
    bool cpu_scalar;          /* an input given as a 0-dim CPU tensor      */
    int8_t stride_order[CF_MAX_DIMS]; /* small: nodes are many */
    /* scalars */
    bool is_const;
    cf_scalar value;
} cf_val_node;

typedef struct cf_iter_node {
    cf_id extent;             /* integer scalar value                      */
    uint8_t type;             /* cf_iter_type                              */
    int32_t name;
} cf_iter_node;

typedef struct cf_expr_node {
    cf_opcode op;
    int8_t nin, nout;
    cf_id in[4];
    cf_id out[3];             /* welford has three outputs                */
    cf_expr_attrs attrs;      /* attrs.ints owned (cf_malloc)              */
} cf_expr_node;

struct cf_fusion {
    atomic_long refs;
    uint64_t version;
    int nvals, capvals;
    cf_val_node *vals;
    int nexprs, capexprs;
    cf_expr_node *exprs;
    int niters, capiters;
    cf_iter_node *iters;
    int ninputs, capinputs;
    cf_id *inputs;
    int noutputs, capoutputs;
    cf_id *outputs;
    /* parallel to outputs: the input position output i is written into
     * (cf_fusion_alias_output) or -1; whether it is returned to the user */
    int capomarks;
    struct cf_output_mark { int alias_input; bool visible; } *omarks;
    int32_t tv_count, scalar_count, iter_count;
};

/* Builders used by ops.c; each checks allocation and sets the error. */
cf_status cf_ir_new_tensor(cf_fusion *f, cf_dtype dtype, int ndim,
                           const cf_id *axes, cf_id *out);
cf_status cf_ir_new_scalar(cf_fusion *f, cf_dtype dtype, const cf_scalar *value,
                           cf_id *out);
cf_status cf_ir_new_iter(cf_fusion *f, cf_id extent, cf_iter_type type,
                         cf_id *out);
/* A new Int constant v. */
cf_status cf_ir_new_int(cf_fusion *f, int64_t v, cf_id *out);
/* Whether v is an integer (Int, Int32) or Bool constant; its value in *out. */
bool cf_ir_const_int(const cf_fusion *f, cf_id v, int64_t *out);
/* Append an expr; takes ownership of attrs->ints (a cf_malloc block). */
cf_status cf_ir_new_expr(cf_fusion *f, cf_opcode op, int nin, const cf_id *in,
                         int nout, const cf_id *out, const cf_expr_attrs *attrs,
                         cf_id *expr);
/* Roll the fusion back to sizes taken before a failed op. */
typedef struct cf_ir_mark { int nvals, nexprs, niters; int32_t tv, sc, it; } cf_ir_mark;
cf_ir_mark cf_ir_mark_take(const cf_fusion *f);
void cf_ir_rollback(cf_fusion *f, const cf_ir_mark *m);

/* CF_OK when v is a tensor of f, else an error naming op's 'arg'. */
cf_status cf_ir_need_tensor(const cf_fusion *f, cf_id v, const char *op);

/* Axes of a tensor without reduction axes; returns their count. */
/* Compute type of a pointwise op (promote.c). */
/* The type the operands meet in (torch.result_type), before the op's
 * category turns it into the result type. */
/* An operand's tier in torch.result_type (promote.c): tensors with dims
 * decide over 0-dim tensors, which decide over scalars, unless a lower tier
 * is of a higher category. */
typedef enum cf_operand_tier { CF_TIER_TENSOR = 0, CF_TIER_ZERO_DIM = 1, CF_TIER_SCALAR = 2 } cf_operand_tier;
cf_dtype cf_ir_common_dtype(cf_opcode op, int n, const cf_dtype *dt, const cf_operand_tier *tier);
cf_dtype cf_ir_compute_dtype(cf_opcode op, int n, const cf_dtype *dt,
                             const cf_operand_tier *tier, cf_dtype result);
/* cf_op_result_dtype with tiers. */
cf_status cf_ir_result_dtype(cf_opcode op, int n, const cf_dtype *dt,
                             const cf_operand_tier *tier, cf_dtype *out);
/* The same from the operands' common type (cf_ir_common_dtype), when the
 * caller has it already: the op's category decides (Float for float ops,
 * Bool for predicates, errors for operands the op does not take). */
cf_status cf_ir_result_of_common(cf_opcode op, cf_dtype common, cf_dtype *out);

/* dims (negative allowed) to a bit mask over rank r (ops_reduce.c). */
cf_status cf_ir_dims_mask(const char *op, const char *arg, int r, int n,
                         const int64_t *dims, uint32_t *mask);

int cf_ir_noreduction_axes(const cf_fusion *f, cf_id tv, cf_id *axes);
static inline cf_val_node *cf_ir_val(const cf_fusion *f, cf_id v) { return &f->vals[v]; }
static inline cf_iter_node *cf_ir_iter(const cf_fusion *f, cf_id i) { return &f->iters[i]; }

#endif
