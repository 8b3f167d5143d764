/* ops_reduce.c - sum, prod, max, min, var and var_mean. */
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"

/* Normalise dims against rank r into a bit mask; errors name the op. */
cf_status cf_ir_dims_mask(const char *op, const char *arg, int r, int n, const int64_t *dims, uint32_t *mask)
{
    int i;
    *mask = 0;
    for (i = 0; i < n; i++) {
        int64_t d = dims[i] < 0 ? dims[i] + r : dims[i];
        if (d < 0 || d >= r)
            return cf_error_set(CF_ERR_INDEX, op, "%s(): argument '%s': dim %lld is out of range for a tensor of %d dims (expected %d..%d)", op, arg, (long long)dims[i], r, -r, r - 1);
        if (*mask & (1u << d))
            return cf_error_set(CF_ERR_VALUE, op, "%s(): argument '%s': dim %lld appears more than once", op, arg, (long long)d);
        *mask |= 1u << d;
    }
    return CF_OK;
}


static cf_status dims_attr(uint32_t mask, int r, cf_expr_attrs *a)
{
    int64_t *ints = cf_malloc(sizeof(int64_t) * (size_t)(r ? r : 1));
    int d, n = 0;
    if (!ints)
        return cf_error_nomem("reduction");
    for (d = 0; d < r; d++)
        if (mask & (1u << d))
            ints[n++] = d;
    a->ints = ints;
    a->nints = n;
    return CF_OK;
}

/* Output tensor of a reduction over mask: reduced axes become rS. */
static cf_status reduced_tensor(cf_fusion *f, cf_id arg, uint32_t mask, cf_dtype dtype, cf_id *out)
{
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS];
    int r = cf_ir_noreduction_axes(f, arg, ax), d;
    cf_status st;
    for (d = 0; d < r; d++) {
        cf_iter_type t = (mask & (1u << d)) ? CF_ITER_REDUCTION : (cf_iter_type)f->iters[ax[d]].type;
        if ((st = cf_ir_new_iter(f, f->iters[ax[d]].extent, t, &axes[d])))
            return st;
    }
    return cf_ir_new_tensor(f, dtype, r, axes, out);
}

/* keepdim: nvFuser re-inserts reduced axes with a broadcast. */
static cf_status keepdim_broadcast(cf_fusion *f, cf_id red, uint32_t mask, int r, cf_id *out)
{
    bool flags[CF_MAX_DIMS];
    int d;
    for (d = 0; d < r; d++)
        flags[d] = (mask & (1u << d)) != 0;
    return cf_op_broadcast(f, red, r, flags, out);
}

static cf_status reduce_common(cf_fusion *f, cf_opcode op, cf_id arg, int ndims, const int64_t *dims,
                               bool keepdim, cf_dtype out_dtype, cf_dtype cdtype, int64_t correction,
                               cf_id *out0, cf_id *out1)
{
    const char *name = cf_op_name(op);
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_expr_attrs attrs;
    cf_id outs[2];
    uint32_t mask;
    int r, nout = op == CF_OP_VAR_MEAN ? 2 : 1, k;
    cf_status st;
    if ((st = cf_ir_need_tensor(f, arg, name)))
        return st;
    r = cf_tensor_ndim_noreduction(f, arg);
    if ((st = cf_ir_dims_mask(name, "dims", r, ndims, dims, &mask)))
        return st;
    memset(&attrs, 0, sizeof attrs);
    attrs.dtype = cdtype;
    attrs.keepdim = keepdim;
    attrs.correction = correction;
    for (k = 0; k < nout; k++)
        if ((st = reduced_tensor(f, arg, mask, out_dtype, &outs[k])))
            goto fail;
    if ((st = dims_attr(mask, r, &attrs)))
        goto fail;
    if ((st = cf_ir_new_expr(f, op, 1, &arg, nout, outs, &attrs, NULL)))
        goto fail;
    for (k = 0; k < nout; k++) {
        cf_id *dst = k == 0 ? out0 : out1;
        if (keepdim) {
            if ((st = keepdim_broadcast(f, outs[k], mask, r, dst)))
                goto fail;
        } else {
            *dst = outs[k];
        }
    }
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_reduce(cf_fusion *f, cf_opcode op, cf_id arg, int ndims, const int64_t *dims, bool keepdim,
                       cf_dtype dtype, cf_id *out)
{
    const char *name = cf_op_name(op);
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_dtype in_t, out_t;
    cf_status st;
    /* sum, prod, max, min: the registry's reductions but var and var_mean */
    if (!cf_op_is_reduction(op) || op == CF_OP_VAR || op == CF_OP_VAR_MEAN)
        return cf_error_set(CF_ERR_VALUE, "reduction", "op %d is not a reduction", (int)op);
    if ((st = cf_ir_need_tensor(f, arg, name)))
        return st;
    if (dtype != CF_DTYPE_NULL) {
        if ((int)dtype < 0 || dtype >= CF_DTYPE_COUNT || !cf_dtype_is_supported(dtype))
            return cf_error_set(CF_ERR_UNSUPPORTED, name, "%s(): argument 'dtype' DataType.%s is not supported yet", name, cf_dtype_pyname(dtype) ? cf_dtype_pyname(dtype) : "?");
        if (dtype != f->vals[arg].dtype && (st = cf_op_cast(f, arg, dtype, &arg)))
            return st;
    }
    in_t = f->vals[arg].dtype;
    out_t = in_t;
    if ((op == CF_OP_SUM || op == CF_OP_PROD) && !cf_dtype_is_float(in_t) && dtype == CF_DTYPE_NULL)
        out_t = CF_DTYPE_INT; /* torch sums integers and bools to int64 */
    st = reduce_common(f, op, arg, ndims, dims, keepdim, out_t,
                       cf_dtype_is_float(out_t) ? cf_dtype_compute(out_t) : out_t, 0, out, NULL);
    if (st)
        cf_ir_rollback(f, &m);
    return st;
}

static cf_dtype var_dtype(cf_dtype t) { return cf_dtype_is_float(t) ? t : CF_DTYPE_FLOAT; }

/* var and var_mean: floating results (ints give Float), accumulation in
 * Float or Double. */
static cf_status variance(cf_fusion *f, cf_opcode op, cf_id arg, int ndims, const int64_t *dims,
                          int64_t correction, bool keepdim, cf_id *out0, cf_id *out1)
{
    const char *name = cf_op_name(op);
    cf_status st;
    cf_dtype t;
    if ((st = cf_ir_need_tensor(f, arg, name)))
        return st;
    if (correction < 0)
        return cf_error_set(CF_ERR_VALUE, name, "%s(): argument 'correction' must be >= 0, got %lld", name, (long long)correction);
    t = var_dtype(f->vals[arg].dtype);
    return reduce_common(f, op, arg, ndims, dims, keepdim, t, t == CF_DTYPE_DOUBLE ? CF_DTYPE_DOUBLE : CF_DTYPE_FLOAT,
                         correction, out0, out1);
}

cf_status cf_op_var(cf_fusion *f, cf_id arg, int ndims, const int64_t *dims, int64_t correction, bool keepdim,
                    cf_id *out)
{
    return variance(f, CF_OP_VAR, arg, ndims, dims, correction, keepdim, out, NULL);
}

cf_status cf_op_var_mean(cf_fusion *f, cf_id arg, int ndims, const int64_t *dims, int64_t correction,
                         bool keepdim, cf_id *var_out, cf_id *mean_out)
{
    return variance(f, CF_OP_VAR_MEAN, arg, ndims, dims, correction, keepdim, var_out, mean_out);
}
