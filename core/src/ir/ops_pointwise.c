/* ops_pointwise.c - elementwise ops, cast and set. */
#include <string.h>

#include "ir.h"

static cf_status check_val(const cf_fusion *f, cf_id v, const char *op, int pos)
{
    if (!cf_fusion_has_val(f, v))
        return cf_error_set(CF_ERR_VALUE, op, "%s(): operand %d is not a value of this fusion", op, pos);
    return CF_OK;
}

static bool const_extent(const cf_fusion *f, cf_id iter, int64_t *out)
{
    cf_scalar s;
    if (!cf_val_constant(f, f->iters[iter].extent, &s))
        return false;
    *out = s.v.i;
    return true;
}

/* Output axes of an elementwise op over tensors tv[0..nt) of rank r: an axis
 * is broadcast only if it is broadcast in every operand. */
static cf_status pointwise_axes(cf_fusion *f, const char *op, int nt, const cf_id *tv, const int *pos,
                                int r, cf_id *axes)
{
    cf_id ax[4][CF_MAX_DIMS];
    int d, k;
    cf_status st;
    for (k = 0; k < nt; k++)
        cf_ir_noreduction_axes(f, tv[k], ax[k]);
    for (d = 0; d < r; d++) {
        int pick = -1;
        int64_t size = 0, other;
        for (k = 0; k < nt; k++) {
            if (f->iters[ax[k][d]].type == CF_ITER_BROADCAST)
                continue;
            if (pick < 0) {
                pick = k;
                if (!const_extent(f, ax[k][d], &size))
                    size = -1;
            } else if (size >= 0 && const_extent(f, ax[k][d], &other) && other != size) {
                return cf_error_set(CF_ERR_VALUE, op, "%s(): shapes do not broadcast: operand %d has size %lld at axis %d but operand %d has size %lld", op, pos[k], (long long)other, d, pos[pick], (long long)size);
            }
        }
        if (pick < 0)
            st = cf_ir_new_iter(f, f->iters[ax[0][d]].extent, CF_ITER_BROADCAST, &axes[d]);
        else
            st = cf_ir_new_iter(f, f->iters[ax[pick][d]].extent, CF_ITER_ITERATION, &axes[d]);
        if (st)
            return st;
    }
    return CF_OK;
}

/* Shared by every elementwise op: checks, output value, expression. */
static cf_status make_pointwise(cf_fusion *f, cf_opcode op, int n, const cf_id *in, cf_dtype result,
                                cf_dtype cdtype, cf_id *out)
{
    const char *name = cf_op_name(op);
    cf_id tv[4], axes[CF_MAX_DIMS];
    int pos[4], nt = 0, r = -1, i;
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_expr_attrs attrs;
    cf_status st;
    bool zero_dim = false;
    for (i = 0; i < n; i++) {
        if (f->vals[in[i]].kind != CF_VAL_TENSOR)
            continue;
        int ri = cf_tensor_ndim_noreduction(f, in[i]);
        /* a 0-dim tensor meets tensors of any rank, as a scalar does
         * (nvFuser's CPU scalar tensors: add(t0d, t2d)) */
        if (ri == 0) {
            zero_dim = true;
            continue;
        }
        if (r >= 0 && ri != r)
            return cf_error_set(CF_ERR_VALUE, name, "%s(): operands have different ranks: operand %d has %d dims, operand %d has %d; use broadcast_in_dim to align them", name, pos[0], r, i, ri);
        r = ri;
        pos[nt] = i;
        tv[nt++] = in[i];
    }
    memset(&attrs, 0, sizeof attrs);
    attrs.dtype = cdtype;
    if (nt == 0 && zero_dim) {
        if ((st = cf_ir_new_tensor(f, result, 0, axes, out)))
            goto fail;
    } else if (nt == 0) {
        if ((st = cf_ir_new_scalar(f, result, NULL, out)))
            goto fail;
    } else {
        if ((st = pointwise_axes(f, name, nt, tv, pos, r, axes)))
            goto fail;
        if ((st = cf_ir_new_tensor(f, result, r, axes, out)))
            goto fail;
    }
    if ((st = cf_ir_new_expr(f, op, n, in, 1, out, &attrs, NULL)))
        goto fail;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_pointwise(cf_fusion *f, cf_opcode op, int n, const cf_id *in, cf_id *out)
{
    const char *name = cf_op_name(op);
    cf_dtype dt[4], result, common;
    bool is_tensor[4];
    cf_operand_tier tier[4];
    cf_id use[4];
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_status st;
    int i;
    if (!name || !cf_op_arity(op) || op == CF_OP_CAST || cf_op_kind_of(op) == CF_KIND_PROGRAM)
        return cf_error_set(CF_ERR_VALUE, "pointwise", "op %d is not an elementwise op", (int)op);
    if (n != cf_op_arity(op))
        return cf_error_set(CF_ERR_VALUE, name, "%s(): expected %d operands, got %d", name, cf_op_arity(op), n);
    for (i = 0; i < n; i++) {
        if ((st = check_val(f, in[i], name, i)))
            return st;
        dt[i] = f->vals[in[i]].dtype;
        is_tensor[i] = f->vals[in[i]].kind == CF_VAL_TENSOR;
        tier[i] = !is_tensor[i] ? CF_TIER_SCALAR : cf_tensor_ndim_noreduction(f, in[i]) == 0 ? CF_TIER_ZERO_DIM : CF_TIER_TENSOR;
        use[i] = in[i];
    }
    common = cf_ir_common_dtype(op, n, dt, tier);
    if ((st = cf_ir_result_of_common(op, common, &result)))
        return st;
    /* As in torch, a scalar meets Half or BFloat16 tensors in their type:
     * x != 0.001 compares with 0.001 rounded to half, not with the double. */
    if (common == CF_DTYPE_HALF || common == CF_DTYPE_BFLOAT16)
        for (i = op == CF_OP_WHERE ? 1 : 0; i < n; i++) {
            if (is_tensor[i] || dt[i] == common)
                continue;
            if ((st = make_pointwise(f, CF_OP_CAST, 1, &in[i], common, common, &use[i]))) {
                cf_ir_rollback(f, &m);
                return st;
            }
            dt[i] = common;
        }
    st = make_pointwise(f, op, n, use, result, cf_ir_compute_dtype(op, n, dt, tier, result), out);
    if (st)
        cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_cast(cf_fusion *f, cf_id arg, cf_dtype dtype, cf_id *out)
{
    cf_status st;
    if ((st = check_val(f, arg, "cast", 0)))
        return st;
    if ((int)dtype < 0 || dtype >= CF_DTYPE_COUNT)
        return cf_error_set(CF_ERR_VALUE, "cast", "cast(): invalid dtype value %d", (int)dtype);
    if (!cf_dtype_is_supported(dtype))
        return cf_error_set(CF_ERR_UNSUPPORTED, "cast", "cast(): argument 'dtype' DataType.%s is not supported yet", cf_dtype_pyname(dtype));
    return make_pointwise(f, CF_OP_CAST, 1, &arg, dtype, dtype, out);
}

static cf_status copy_op(cf_fusion *f, cf_opcode op, cf_id arg, cf_id *out)
{
    cf_status st;
    cf_dtype t;
    if ((st = check_val(f, arg, cf_op_name(op), 0)))
        return st;
    t = f->vals[arg].dtype;
    return make_pointwise(f, op, 1, &arg, t, cf_dtype_compute(t), out);
}

cf_status cf_op_set(cf_fusion *f, cf_id arg, cf_id *out) { return copy_op(f, CF_OP_SET, arg, out); }
cf_status cf_op_segment_set(cf_fusion *f, cf_id arg, cf_id *out) { return copy_op(f, CF_OP_SEGMENT_SET, arg, out); }
