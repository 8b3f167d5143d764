/* ops_scan.c - cumsum, cumprod, cummin, cummax, argsort, topk, welford.
 *
 * Attributes live in attrs.ints (so that hashing, equality and printing
 * see them): scans [dim], argsort [dim, descending, stable], topk
 * [dim, largest, sorted], welford the reduced dims. A scan's init and
 * topk's k are inputs of the expression (in[1]).
 */
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"

static cf_status wrap_dim(const char *op, int64_t dim, int r, int *out)
{
    int64_t d = dim < 0 ? dim + r : dim;
    if (d < 0 || d >= r)
        return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'dim': dim %lld is out of range for a tensor of %d dims (expected %d..%d)", op, (long long)dim, r, -r, r - 1);
    *out = (int)d;
    return CF_OK;
}

static cf_status ints_attr(const char *op, int n, const int64_t *v, cf_expr_attrs *a)
{
    int64_t *ints = cf_malloc(sizeof(int64_t) * (size_t)(n > 0 ? n : 1));
    if (!ints)
        return cf_error_nomem(op);
    memcpy(ints, v, sizeof(int64_t) * (size_t)n);
    memset(a, 0, sizeof *a);
    a->dtype = CF_DTYPE_NULL;
    a->ints = ints;
    a->nints = n;
    return CF_OK;
}

/* A tensor with arg's axes (fresh iterdomains of the same extents and
 * types), extent `ext` at dim `dim` when ext is not CF_NO_ID. */
static cf_status like_tensor(cf_fusion *f, cf_id arg, cf_dtype dtype, int dim, cf_id ext, cf_id *out)
{
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS];
    int r = cf_ir_noreduction_axes(f, arg, ax), d;
    cf_status st;
    for (d = 0; d < r; d++) {
        cf_id e = d == dim && ext != CF_NO_ID ? ext : f->iters[ax[d]].extent;
        cf_iter_type t = d == dim && ext != CF_NO_ID ? CF_ITER_ITERATION : (cf_iter_type)f->iters[ax[d]].type;
        if ((st = cf_ir_new_iter(f, e, t, &axes[d])))
            return st;
    }
    return cf_ir_new_tensor(f, dtype, r, axes, out);
}

static cf_status need_scalar(cf_fusion *f, cf_id v, const char *op, const char *arg)
{
    if (!cf_fusion_has_val(f, v))
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument '%s' is not a value of this fusion", op, arg);
    if (f->vals[v].kind != CF_VAL_SCALAR)
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument '%s' must be a Scalar, got a TensorView", op, arg);
    return CF_OK;
}

cf_status cf_op_scan(cf_fusion *f, cf_opcode op, cf_id arg, int64_t dim, cf_id init, cf_id *out)
{
    const char *name = cf_op_name(op);
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], in[2], res;
    cf_expr_attrs attrs;
    cf_dtype t;
    int r, d = 0;
    int64_t dv;
    cf_status st;
    if (op != CF_OP_CUMSUM && op != CF_OP_CUMPROD && op != CF_OP_CUMMIN && op != CF_OP_CUMMAX)
        return cf_error_set(CF_ERR_VALUE, "scan", "op %d is not a scan", (int)op);
    if ((st = cf_ir_need_tensor(f, arg, name)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (r == 0)
        return cf_error_set(CF_ERR_INDEX, name, "%s(): argument 'arg' is a 0-dim tensor; a scan needs a dim", name);
    if ((st = wrap_dim(name, dim, r, &d)))
        return st;
    t = f->vals[arg].dtype;
    if (init != CF_NO_ID) {
        if ((st = need_scalar(f, init, name, "init")))
            return st;
        if (cf_dtype_is_float(f->vals[init].dtype) && !cf_dtype_is_float(t))
            return cf_error_set(CF_ERR_TYPE, name, "%s(): argument 'init' is DataType.%s but arg is DataType.%s; an integer or Bool scan needs an integer or Bool init", name, cf_dtype_pyname(f->vals[init].dtype), cf_dtype_pyname(t));
    }
    /* nvFuser: a scan along a broadcast dim is a copy (init assumed the
     * identity) */
    if (f->iters[ax[d]].type == CF_ITER_BROADCAST && init == CF_NO_ID)
        return cf_op_set(f, arg, out);
    dv = d;
    if ((st = like_tensor(f, arg, t, -1, CF_NO_ID, &res)) || (st = ints_attr(name, 1, &dv, &attrs)))
        goto fail;
    attrs.dtype = cf_dtype_is_float(t) ? cf_dtype_compute(t) : t;
    in[0] = arg;
    in[1] = init;
    if ((st = cf_ir_new_expr(f, op, init == CF_NO_ID ? 1 : 2, in, 1, &res, &attrs, NULL)))
        goto fail;
    *out = res;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

/* A 0-dim Int zero (argsort and topk of a 0-dim tensor, as in nvFuser). */
static cf_status zero_index(cf_fusion *f, cf_id *out)
{
    cf_scalar z;
    cf_id c;
    cf_status st;
    z.dtype = CF_DTYPE_INT;
    z.v.i = 0;
    if ((st = cf_fusion_constant(f, &z, &c)))
        return st;
    return cf_op_full(f, 0, NULL, c, CF_DTYPE_INT, out);
}

cf_status cf_op_argsort(cf_fusion *f, cf_id arg, int64_t dim, bool descending, bool stable, cf_id *out)
{
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], res;
    cf_expr_attrs attrs;
    int64_t a[3];
    int r, d = 0;
    cf_status st;
    if ((st = cf_ir_need_tensor(f, arg, "argsort")))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (r == 0) {
        if (dim != 0 && dim != -1)
            return cf_error_set(CF_ERR_INDEX, "argsort", "argsort(): argument 'dim': dim %lld is out of range for a 0-dim tensor (expected 0 or -1)", (long long)dim);
        st = zero_index(f, out);
        if (st)
            cf_ir_rollback(f, &m);
        return st;
    }
    if ((st = wrap_dim("argsort", dim, r, &d)))
        return st;
    a[0] = d;
    a[1] = descending;
    a[2] = stable;
    if ((st = like_tensor(f, arg, CF_DTYPE_INT, -1, CF_NO_ID, &res)) || (st = ints_attr("argsort", 3, a, &attrs)))
        goto fail;
    if ((st = cf_ir_new_expr(f, CF_OP_ARGSORT, 1, &arg, 1, &res, &attrs, NULL)))
        goto fail;
    *out = res;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_topk(cf_fusion *f, cf_id arg, cf_id k, int64_t dim, bool largest, bool sorted, cf_id *values,
                     cf_id *indices)
{
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], outs[2], in[2];
    cf_expr_attrs attrs;
    cf_scalar kc, ec;
    int64_t a[3];
    int r, d = 0;
    cf_dtype kt;
    cf_status st;
    if ((st = cf_ir_need_tensor(f, arg, "topk")) || (st = need_scalar(f, k, "topk", "k")))
        return st;
    kt = f->vals[k].dtype;
    if (kt != CF_DTYPE_INT && kt != CF_DTYPE_INT32)
        return cf_error_set(CF_ERR_TYPE, "topk", "topk(): argument 'k' must be an integer (DataType.Int or Int32), got DataType.%s", cf_dtype_pyname(kt) ? cf_dtype_pyname(kt) : "?");
    if (cf_val_constant(f, k, &kc) && kc.v.i < 0)
        return cf_error_set(CF_ERR_VALUE, "topk", "topk(): argument 'k' is %lld; it must be >= 0", (long long)kc.v.i);
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (r == 0) {
        if (dim != 0 && dim != -1)
            return cf_error_set(CF_ERR_INDEX, "topk", "topk(): argument 'dim': dim %lld is out of range for a 0-dim tensor (expected 0 or -1)", (long long)dim);
        if (cf_val_constant(f, k, &kc) && kc.v.i != 1)
            return cf_error_set(CF_ERR_VALUE, "topk", "topk(): argument 'k' is %lld but a 0-dim tensor has one element (k must be 1)", (long long)kc.v.i);
        if ((st = cf_op_set(f, arg, values)) || (st = zero_index(f, indices)))
            cf_ir_rollback(f, &m);
        return st;
    }
    if ((st = wrap_dim("topk", dim, r, &d)))
        return st;
    if (cf_val_constant(f, k, &kc) && cf_val_constant(f, f->iters[ax[d]].extent, &ec) && kc.v.i > ec.v.i)
        return cf_error_set(CF_ERR_VALUE, "topk", "topk(): argument 'k' is %lld but dim %d has only %lld elements", (long long)kc.v.i, d, (long long)ec.v.i);
    a[0] = d;
    a[1] = largest;
    a[2] = sorted;
    if ((st = like_tensor(f, arg, f->vals[arg].dtype, d, k, &outs[0])) ||
        (st = like_tensor(f, arg, CF_DTYPE_INT, d, k, &outs[1])) || (st = ints_attr("topk", 3, a, &attrs)))
        goto fail;
    in[0] = arg;
    in[1] = k;
    if ((st = cf_ir_new_expr(f, CF_OP_TOPK, 2, in, 2, outs, &attrs, NULL)))
        goto fail;
    *values = outs[0];
    *indices = outs[1];
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_welford(cf_fusion *f, cf_id arg, int ndims, const int64_t *dims, cf_id *avg, cf_id *var_sum, cf_id *n)
{
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS], outs[3];
    cf_expr_attrs attrs;
    int64_t red[CF_MAX_DIMS];
    uint32_t mask;
    int r, d, k, nr = 0;
    cf_dtype t;
    cf_status st;
    if ((st = cf_ir_need_tensor(f, arg, "welford")))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (r == 0)
        return cf_error_set(CF_ERR_VALUE, "welford", "welford(): argument 'arg' is a 0-dim tensor; there is nothing to reduce");
    if (ndims == 0)
        return cf_error_set(CF_ERR_VALUE, "welford", "welford(): argument 'dims' is empty; give at least one dim to reduce");
    if ((st = cf_ir_dims_mask("welford", "dims", r, ndims, dims, &mask)))
        return st;
    for (d = 0; d < r; d++)
        if (mask & (1u << d))
            red[nr++] = d;
    t = cf_dtype_is_float(f->vals[arg].dtype) ? f->vals[arg].dtype : CF_DTYPE_FLOAT;
    for (k = 0; k < 3; k++) {
        for (d = 0; d < r; d++) {
            cf_iter_type it = (mask & (1u << d)) ? CF_ITER_REDUCTION : (cf_iter_type)f->iters[ax[d]].type;
            if ((st = cf_ir_new_iter(f, f->iters[ax[d]].extent, it, &axes[d])))
                goto fail;
        }
        if ((st = cf_ir_new_tensor(f, k == 2 ? CF_DTYPE_INT : t, r, axes, &outs[k])))
            goto fail;
    }
    if ((st = ints_attr("welford", nr, red, &attrs)))
        goto fail;
    attrs.dtype = t == CF_DTYPE_DOUBLE ? CF_DTYPE_DOUBLE : CF_DTYPE_FLOAT;
    if ((st = cf_ir_new_expr(f, CF_OP_WELFORD, 1, &arg, 3, outs, &attrs, NULL)))
        goto fail;
    *avg = outs[0];
    *var_sum = outs[1];
    *n = outs[2];
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}
