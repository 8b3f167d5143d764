/* ops_composite.c - ops built from other ops of the fusion. Their nodes are
 * the other ops' (print_math shows those); the executors fuse them like any
 * other chain, so no executor knows these ops by name. */
#include "ir.h"

static cf_status int_constant(cf_fusion *f, int64_t v, cf_id *out)
{
    cf_scalar s;
    s.dtype = CF_DTYPE_INT;
    s.v.i = v;
    return cf_ir_new_scalar(f, CF_DTYPE_INT, &s, out);
}

/* An index tensor of rank nd that counts along axis d (extent ext), of
 * size 1 elsewhere: iota broadcast into place. */
static cf_status index_along(cf_fusion *f, int nd, int d, cf_id ext, cf_id one, cf_id *out)
{
    cf_id idx, shape[CF_MAX_DIMS];
    int64_t bd = d;
    cf_status st;
    if ((st = cf_op_iota(f, ext, CF_NO_ID, CF_NO_ID, CF_DTYPE_INT, &idx)))
        return st;
    for (int k = 0; k < nd; k++)
        shape[k] = k == d ? ext : one;
    return cf_op_broadcast_in_dim(f, idx, nd, shape, 1, &bd, out);
}

/* triu: arg where (column - row) >= diagonal over its last two dims, else 0
 * (torch.triu; nvFuser's triu). */
cf_status cf_op_triu(cf_fusion *f, cf_id arg, cf_id diagonal, cf_id *out)
{
    const char *op = "triu";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id axes[CF_MAX_DIMS], one, rows, cols, diff, mask, zero, in[3];
    cf_scalar z;
    cf_status st;
    int nd;
    if ((st = cf_ir_need_tensor(f, arg, op)))
        return st;
    nd = cf_ir_noreduction_axes(f, arg, axes);
    if (nd < 2)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'input' must have at least 2 dims, got %d", op, nd);
    if (!cf_fusion_has_val(f, diagonal) || f->vals[diagonal].kind != CF_VAL_SCALAR ||
        !cf_dtype_is_integer(f->vals[diagonal].dtype))
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'diagonal' must be an integer", op);
    z.dtype = f->vals[arg].dtype;
    if (z.dtype == CF_DTYPE_BOOL)
        z.v.b = false;
    else if (cf_dtype_is_float(z.dtype))
        z.v.f = 0;
    else
        z.v.i = 0;
    if ((st = int_constant(f, 1, &one)) ||
        (st = index_along(f, nd, nd - 2, cf_iterdomain_extent(f, axes[nd - 2]), one, &rows)) ||
        (st = index_along(f, nd, nd - 1, cf_iterdomain_extent(f, axes[nd - 1]), one, &cols)))
        goto fail;
    in[0] = cols;
    in[1] = rows;
    if ((st = cf_op_pointwise(f, CF_OP_SUB, 2, in, &diff)))
        goto fail;
    in[0] = diff;
    in[1] = diagonal;
    if ((st = cf_op_pointwise(f, CF_OP_GE, 2, in, &mask)) ||
        (st = cf_ir_new_scalar(f, z.dtype, &z, &zero)))
        goto fail;
    in[0] = mask;
    in[1] = arg;
    in[2] = zero;
    if ((st = cf_op_pointwise(f, CF_OP_WHERE, 3, in, out)))
        goto fail;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}
