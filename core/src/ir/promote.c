/* promote.c - kind tests and nvFuser's type promotion. */
#include <string.h>

#include "ir.h"

/* Kind tests read the registry's kinds and flags (ops_registry.c). */
int cf_op_is_unary(cf_opcode op) { return cf_op_kind_of(op) == CF_KIND_UNARY; }
int cf_op_is_binary(cf_opcode op) { return cf_op_kind_of(op) == CF_KIND_BINARY; }
int cf_op_is_ternary(cf_opcode op) { return cf_op_kind_of(op) == CF_KIND_TERNARY; }
int cf_op_is_reduction(cf_opcode op) { return (cf_op_flags(op) & CF_OPF_REDUCTION) != 0; }
int cf_op_is_pointwise(cf_opcode op) { return (cf_op_flags(op) & CF_OPF_ELEMENTWISE) != 0; }

static int category(cf_dtype t) { return cf_dtype_is_float(t) ? 2 : cf_dtype_is_integer(t) ? 1 : 0; }

/* The wider of two types of one category. */
static cf_dtype wider(cf_dtype a, cf_dtype b)
{
    if (a == b)
        return a;
    if (category(a) == 2) {
        if (a == CF_DTYPE_DOUBLE || b == CF_DTYPE_DOUBLE)
            return CF_DTYPE_DOUBLE;
        return CF_DTYPE_FLOAT; /* Float with anything, or Half with BFloat16 */
    }
    if (category(a) == 1)
        return (a == CF_DTYPE_INT || b == CF_DTYPE_INT) ? CF_DTYPE_INT : CF_DTYPE_INT32;
    return CF_DTYPE_BOOL;
}

static cf_dtype join(cf_dtype acc, bool have, cf_dtype t)
{
    if (!have || category(t) > category(acc))
        return t;
    if (category(t) < category(acc))
        return acc;
    return wider(acc, t);
}

/* torch's combineCategories: the higher tier decides unless the lower one
 * is of a higher category (a float under integers, anything under Bool). */
static cf_dtype combine(cf_dtype higher, bool hh, cf_dtype lower, bool hl)
{
    if (!hh || !hl)
        return hh ? higher : lower;
    if (category(higher) == 2)
        return higher;
    if (higher == CF_DTYPE_BOOL || category(lower) == 2)
        return join(higher, true, lower);
    return higher;
}

/* torch.result_type, tier by tier: tensors with dims, then 0-dim tensors,
 * then scalars (a float scalar counts as Float, an integer one as Int);
 * scalars alone keep their own types. */
static cf_dtype promote(int n, const cf_dtype *dt, const cf_operand_tier *tier)
{
    cf_dtype acc[3] = {CF_DTYPE_NULL, CF_DTYPE_NULL, CF_DTYPE_NULL};
    bool has[3] = {false, false, false};
    int i;
    /* operands of one type give that type in every tier (the common call) */
    for (i = 1; i < n && dt[i] == dt[0]; i++)
        ;
    if (n > 0 && i == n)
        return dt[0];
    for (i = 0; i < n; i++) {
        acc[tier[i]] = join(acc[tier[i]], has[tier[i]], dt[i]);
        has[tier[i]] = true;
    }
    if (!has[CF_TIER_TENSOR] && !has[CF_TIER_ZERO_DIM])
        return acc[CF_TIER_SCALAR];
    if (has[CF_TIER_SCALAR])
        acc[CF_TIER_SCALAR] = category(acc[CF_TIER_SCALAR]) == 2 ? CF_DTYPE_FLOAT
                              : category(acc[CF_TIER_SCALAR]) == 1 ? CF_DTYPE_INT : CF_DTYPE_BOOL;
    return combine(acc[CF_TIER_TENSOR], has[CF_TIER_TENSOR],
                   combine(acc[CF_TIER_ZERO_DIM], has[CF_TIER_ZERO_DIM], acc[CF_TIER_SCALAR], has[CF_TIER_SCALAR]),
                   has[CF_TIER_ZERO_DIM] || has[CF_TIER_SCALAR]);
}

cf_dtype cf_ir_common_dtype(cf_opcode op, int n, const cf_dtype *dt, const cf_operand_tier *tier)
{
    int skip = op == CF_OP_WHERE ? 1 : 0;
    return promote(n - skip, dt + skip, tier + skip);
}

cf_status cf_op_result_dtype(cf_opcode op, int n, const cf_dtype *dt, const bool *is_tensor, cf_dtype *out)
{
    cf_operand_tier tier[8];
    int i;
    if (n < 0 || n > 8)
        return cf_error_set(CF_ERR_VALUE, "result_dtype", "result_dtype(): %d operands (at most 8)", n);
    for (i = 0; i < n; i++)
        tier[i] = is_tensor[i] ? CF_TIER_TENSOR : CF_TIER_SCALAR;
    return cf_ir_result_dtype(op, n, dt, tier, out);
}

cf_status cf_ir_result_dtype(cf_opcode op, int n, const cf_dtype *dt, const cf_operand_tier *tier, cf_dtype *out)
{
    return cf_ir_result_of_common(op, cf_ir_common_dtype(op, n, dt, tier), out);
}

cf_status cf_ir_result_of_common(cf_opcode op, cf_dtype p, cf_dtype *out)
{
    const char *name = cf_op_name(op);
    switch (cf_op_category_of(op)) {
    case CF_CAT_FLOAT:
        *out = cf_dtype_is_float(p) ? p : CF_DTYPE_FLOAT;
        return CF_OK;
    case CF_CAT_PRED:
        *out = CF_DTYPE_BOOL;
        return CF_OK;
    case CF_CAT_INTBOOL:
        if (cf_dtype_is_float(p))
            return cf_error_set(CF_ERR_TYPE, name, "%s(): expected integer or boolean operands, got DataType.%s", name, cf_dtype_pyname(p));
        *out = p;
        return CF_OK;
    case CF_CAT_FLOATONLY:
        /* the op steps through the storage type's values: computing a
         * Half or BFloat16 in Float would step by Float's */
        if (p != CF_DTYPE_FLOAT && p != CF_DTYPE_DOUBLE)
            return cf_error_set(CF_ERR_TYPE, name, "%s(): expected Float or Double operands, got DataType.%s", name, cf_dtype_pyname(p));
        *out = p;
        return CF_OK;
    case CF_CAT_INTONLY:
        if (!cf_dtype_is_integer(p))
            return cf_error_set(CF_ERR_TYPE, name, "%s(): expected integer operands, got DataType.%s", name, cf_dtype_pyname(p));
        *out = p;
        return CF_OK;
    default:
        break;
    }
    if (p == CF_DTYPE_BOOL) {
        switch (op) {
        case CF_OP_NEG:
        case CF_OP_SUB:
            return cf_error_set(CF_ERR_TYPE, name, "%s(): not defined for DataType.Bool operands; use logical_not / logical_xor style ops or cast first", name);
        case CF_OP_DIV: case CF_OP_MOD: case CF_OP_REMAINDER: case CF_OP_FMOD: case CF_OP_POW:
        case CF_OP_ADDCMUL: case CF_OP_LERP:
            p = CF_DTYPE_INT;
            break;
        default:
            break;
        }
    }
    *out = p;
    return CF_OK;
}

/* The type an op computes in, given its operands' promoted type. */
cf_dtype cf_ir_compute_dtype(cf_opcode op, int n, const cf_dtype *dt, const cf_operand_tier *tier, cf_dtype result)
{
    if (cf_op_category_of(op) == CF_CAT_PRED) {
        cf_dtype p = promote(n, dt, tier);
        return cf_dtype_compute(p);
    }
    return cf_dtype_compute(result);
}
