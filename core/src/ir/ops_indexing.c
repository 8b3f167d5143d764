/* ops_indexing.c - index_select, gather, take_along_axis, scatter and
 * embedding_fwd: ops that read (or write) a tensor at positions another
 * tensor holds. Every expression keeps its dim in attrs.ints[0]; the index
 * values are checked when the fusion runs (lower.c, the executors). */
#include <math.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"

static cf_status need_tensor(const cf_fusion *f, cf_id v, const char *op, const char *arg)
{
    if (!cf_fusion_has_val(f, v))
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument '%s' is not a value of this fusion", op, arg);
    if (f->vals[v].kind != CF_VAL_TENSOR)
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument '%s' must be a TensorView, got a Scalar", op, arg);
    return CF_OK;
}

/* An index tensor holds Int or Int32 values (torch uses int64). */
static cf_status need_index(const cf_fusion *f, cf_id v, const char *op, const char *arg)
{
    cf_status st = need_tensor(f, v, op, arg);
    cf_dtype t;
    if (st)
        return st;
    t = f->vals[v].dtype;
    if (t != CF_DTYPE_INT && t != CF_DTYPE_INT32)
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument '%s' must hold Int or Int32 positions, got DataType.%s", op,
                            arg, cf_dtype_pyname(t) ? cf_dtype_pyname(t) : "?");
    return CF_OK;
}

/* dim (negative counts from the end) as a dim of a tensor of rank r. */
static cf_status wrap_dim(const char *op, int64_t dim, int r, int64_t *out)
{
    if (r == 0)
        return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'arg' is 0-D; there is no dim to index", op);
    if (dim < -r || dim >= r)
        return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'dim' is %lld; expected a dim in [%d, %d] for a tensor of %d dims",
                            op, (long long)dim, -r, r - 1, r);
    *out = dim < 0 ? dim + r : dim;
    return CF_OK;
}


/* A new axis like axis a (same extent and type). */
static cf_status copy_axis(cf_fusion *f, cf_id a, cf_id *out)
{
    return cf_ir_new_iter(f, f->iters[a].extent, (cf_iter_type)f->iters[a].type, out);
}

/* The tensor and its expression; rolls back to m on failure. */
static cf_status finish(cf_fusion *f, const cf_ir_mark *m, cf_opcode op, int nin, const cf_id *in, cf_dtype dtype,
                        int ndim, const cf_id *axes, int64_t dim, cf_id *out)
{
    cf_expr_attrs attrs;
    int64_t *ints = cf_malloc(sizeof(int64_t));
    cf_status st;
    if (!ints) {
        cf_ir_rollback(f, m);
        return cf_error_nomem(cf_op_name(op));
    }
    ints[0] = dim;
    memset(&attrs, 0, sizeof attrs);
    attrs.nints = 1;
    attrs.ints = ints;
    st = cf_ir_new_tensor(f, dtype, ndim, axes, out);
    if (!st)
        st = cf_ir_new_expr(f, op, nin, in, 1, out, &attrs, NULL);
    else
        cf_free(ints);
    if (st)
        cf_ir_rollback(f, m);
    return st;
}

cf_status cf_op_index_select(cf_fusion *f, cf_id arg, cf_id index, int64_t dim, cf_id *out)
{
    const char *op = "index_select";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], ix[CF_MAX_DIMS], axes[CF_MAX_DIMS], in[2] = {arg, index};
    cf_status st;
    int r, ri, d;
    if ((st = need_tensor(f, arg, op, "arg")) || (st = need_index(f, index, op, "index")))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    ri = cf_ir_noreduction_axes(f, index, ix);
    if ((st = wrap_dim(op, dim, r, &dim)))
        return st;
    if (ri > 1)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'index' must be a 1-D or 0-D tensor, got %d dims", op, ri);
    for (d = 0; d < r; d++) {
        if (d != dim) {
            st = copy_axis(f, ax[d], &axes[d]);
        } else if (ri == 1) {
            st = copy_axis(f, ix[0], &axes[d]);
        } else {
            /* a 0-D index selects one slice and keeps dim (size 1) */
            cf_scalar one = {.dtype = CF_DTYPE_INT, .v.i = 1};
            cf_id e;
            if (!(st = cf_ir_new_scalar(f, CF_DTYPE_INT, &one, &e)))
                st = cf_ir_new_iter(f, e, CF_ITER_BROADCAST, &axes[d]);
        }
        if (st) {
            cf_ir_rollback(f, &m);
            return st;
        }
    }
    return finish(f, &m, CF_OP_INDEX_SELECT, 2, in, f->vals[arg].dtype, r, axes, dim, out);
}

/* gather (le: index no larger than arg off dim) and take_along_axis (equal
 * sizes off dim, broadcast dims expanding on either side). */
static cf_status gather_like(cf_fusion *f, cf_opcode opc, cf_id arg, cf_id index, int64_t dim, cf_id *out)
{
    const char *op = cf_op_name(opc);
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], ix[CF_MAX_DIMS], axes[CF_MAX_DIMS], in[2] = {arg, index};
    cf_status st;
    int r, ri, d;
    bool take = opc == CF_OP_TAKE_ALONG_AXIS;
    if ((st = need_tensor(f, arg, op, "arg")) || (st = need_index(f, index, op, "index")))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    ri = cf_ir_noreduction_axes(f, index, ix);
    if (ri != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): arguments 'arg' and 'index' must have the same number of dims, got %d and %d",
                            op, r, ri);
    if ((st = wrap_dim(op, dim, r, &dim)))
        return st;
    for (d = 0; d < r; d++) {
        int64_t a, b;
        bool ka = cf_ir_const_int(f, f->iters[ax[d]].extent, &a), kb = cf_ir_const_int(f, f->iters[ix[d]].extent, &b);
        bool abc = f->iters[ax[d]].type == CF_ITER_BROADCAST, ibc = f->iters[ix[d]].type == CF_ITER_BROADCAST;
        if (d != dim && ka && kb) {
            if (!take && b > a)
                return cf_error_set(CF_ERR_VALUE, op, "%s(): 'index' has size %lld at dim %d, larger than arg's %lld", op,
                                    (long long)b, d, (long long)a);
            if (take && a != b && !abc && !ibc)
                return cf_error_set(CF_ERR_VALUE, op, "%s(): 'arg' and 'index' have sizes %lld and %lld at dim %d; they must match "
                                    "off dim %lld (or one be a broadcast dim)", op, (long long)a, (long long)b, d, (long long)dim);
        }
        /* the result's axis: the index's, but where take_along_axis keeps
         * arg's (nvFuser's rule: index's only where arg's is a broadcast
         * the index does not share) */
        if (take && d != dim && !(abc && !ibc))
            st = copy_axis(f, ax[d], &axes[d]);
        else
            st = copy_axis(f, ix[d], &axes[d]);
        if (st) {
            cf_ir_rollback(f, &m);
            return st;
        }
    }
    return finish(f, &m, opc, 2, in, f->vals[arg].dtype, r, axes, dim, out);
}

cf_status cf_op_gather(cf_fusion *f, cf_id arg, cf_id index, int64_t dim, cf_id *out)
{
    return gather_like(f, CF_OP_GATHER, arg, index, dim, out);
}

cf_status cf_op_take_along_axis(cf_fusion *f, cf_id arg, cf_id index, int64_t dim, cf_id *out)
{
    return gather_like(f, CF_OP_TAKE_ALONG_AXIS, arg, index, dim, out);
}

cf_status cf_op_scatter(cf_fusion *f, cf_id arg, cf_id index, cf_id src, int64_t dim, cf_id *out)
{
    const char *op = "scatter";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], ix[CF_MAX_DIMS], sx[CF_MAX_DIMS], axes[CF_MAX_DIMS], in[3] = {arg, index, src};
    cf_status st;
    int r, ri, d;
    bool src_tensor;
    if ((st = need_tensor(f, arg, op, "arg")) || (st = need_index(f, index, op, "index")))
        return st;
    if (!cf_fusion_has_val(f, src))
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'src' is not a value of this fusion", op);
    src_tensor = f->vals[src].kind == CF_VAL_TENSOR;
    r = cf_ir_noreduction_axes(f, arg, ax);
    ri = cf_ir_noreduction_axes(f, index, ix);
    if (ri != r || (src_tensor && cf_ir_noreduction_axes(f, src, sx) != r))
        return cf_error_set(CF_ERR_VALUE, op, "%s(): arguments 'arg', 'index' and 'src' must have the same number of dims, got %d, %d and %d",
                            op, r, ri, src_tensor ? cf_ir_noreduction_axes(f, src, NULL) : 0);
    if ((st = wrap_dim(op, dim, r, &dim)))
        return st;
    if (src_tensor && f->vals[src].dtype != f->vals[arg].dtype)
        return cf_error_set(CF_ERR_TYPE, op, "%s(): 'src' has DataType.%s but 'arg' has DataType.%s; they must match", op,
                            cf_dtype_pyname(f->vals[src].dtype), cf_dtype_pyname(f->vals[arg].dtype));
    for (d = 0; d < r; d++) {
        int64_t a, b, c;
        if (cf_ir_const_int(f, f->iters[ix[d]].extent, &b)) {
            if (d != dim && cf_ir_const_int(f, f->iters[ax[d]].extent, &a) && b > a)
                return cf_error_set(CF_ERR_VALUE, op, "%s(): 'index' has size %lld at dim %d, larger than arg's %lld", op,
                                    (long long)b, d, (long long)a);
            if (src_tensor && cf_ir_const_int(f, f->iters[sx[d]].extent, &c) && b > c)
                return cf_error_set(CF_ERR_VALUE, op, "%s(): 'index' has size %lld at dim %d, larger than src's %lld", op,
                                    (long long)b, d, (long long)c);
        }
        if ((st = copy_axis(f, ax[d], &axes[d]))) {
            cf_ir_rollback(f, &m);
            return st;
        }
    }
    return finish(f, &m, CF_OP_SCATTER, 3, in, f->vals[arg].dtype, r, axes, dim, out);
}

static cf_status pw(cf_fusion *f, cf_opcode op, cf_id a, cf_id b, cf_id *out)
{
    cf_id in[2] = {a, b};
    return cf_op_pointwise(f, op, cf_op_arity(op), in, out);
}

static cf_status number(cf_fusion *f, double v, cf_id *out)
{
    cf_scalar s = {.dtype = CF_DTYPE_DOUBLE, .v.f = v};
    return cf_ir_new_scalar(f, CF_DTYPE_DOUBLE, &s, out);
}

/* max_norm (torch.nn.functional.embedding): a row of the result whose
 * norm_type-norm exceeds max_norm is scaled by max_norm / (norm + 1e-7), as
 * torch renormalises the looked-up rows of weight before reading them.
 * Built from other ops, in Float (Double for Double rows), on the gathered
 * rows: the result is torch's, and weight is left as it is (torch changes
 * it in place). */
static cf_status renorm_rows(cf_fusion *f, cf_id e, cf_id max_norm, cf_id norm_type, cf_id *out)
{
    cf_dtype t = f->vals[e].dtype, ct = t == CF_DTYPE_DOUBLE ? CF_DTYPE_DOUBLE : CF_DTYPE_FLOAT;
    int64_t last = cf_ir_noreduction_axes(f, e, NULL) - 1;
    cf_scalar p = {.dtype = CF_DTYPE_DOUBLE, .v.f = 2.0};
    bool known = norm_type == CF_NO_ID || cf_val_constant(f, norm_type, &p);
    double pv = cf_dtype_is_float(p.dtype) ? p.v.f : (double)p.v.i;
    cf_id x, a, s, n, big, eps, d, q, one, scale, y;
    cf_status st;
    if (!cf_dtype_is_float(t))
        return cf_error_set(CF_ERR_TYPE, "embedding_fwd", "embedding_fwd(): max_norm needs floating-point rows; 'weight' has DataType.%s",
                            cf_dtype_pyname(t));
    if ((st = cf_op_cast(f, e, ct, &x)))
        return st;
    if (known && pv == 2.0) { /* sqrt(sum(x * x)) */
        if ((st = pw(f, CF_OP_MUL, x, x, &a)) || (st = cf_op_reduce(f, CF_OP_SUM, a, 1, &last, true, CF_DTYPE_NULL, &s)) ||
            (st = cf_op_pointwise(f, CF_OP_SQRT, 1, &s, &n)))
            return st;
    } else if (known && (pv == 1.0 || isinf(pv))) { /* sum or max of |x| */
        if ((st = cf_op_pointwise(f, CF_OP_ABS, 1, &x, &a)) ||
            (st = cf_op_reduce(f, pv == 1.0 ? CF_OP_SUM : CF_OP_MAX, a, 1, &last, true, CF_DTYPE_NULL, &n)))
            return st;
    } else { /* exp(log(sum(|x| ** p)) / p) */
        cf_id pp = norm_type, lg;
        if (pp == CF_NO_ID && (st = number(f, pv, &pp)))
            return st;
        if ((st = cf_op_pointwise(f, CF_OP_ABS, 1, &x, &a)) || (st = pw(f, CF_OP_POW, a, pp, &a)) ||
            (st = cf_op_reduce(f, CF_OP_SUM, a, 1, &last, true, CF_DTYPE_NULL, &s)) ||
            (st = cf_op_pointwise(f, CF_OP_LOG, 1, &s, &lg)) || (st = pw(f, CF_OP_DIV, lg, pp, &lg)) ||
            (st = cf_op_pointwise(f, CF_OP_EXP, 1, &lg, &n)))
            return st;
    }
    if ((st = pw(f, CF_OP_GT, n, max_norm, &big)) || (st = number(f, 1e-7, &eps)) || (st = pw(f, CF_OP_ADD, n, eps, &d)) ||
        (st = pw(f, CF_OP_DIV, max_norm, d, &q)) || (st = number(f, 1.0, &one)))
        return st;
    cf_id w[3] = {big, q, one};
    if ((st = cf_op_pointwise(f, CF_OP_WHERE, 3, w, &scale)) || (st = pw(f, CF_OP_MUL, x, scale, &y)))
        return st;
    return cf_op_cast(f, y, t, out);
}

cf_status cf_op_embedding_fwd(cf_fusion *f, cf_id input, cf_id weight, cf_id padding_idx, cf_id max_norm,
                              cf_id norm_type, cf_id *out)
{
    const char *op = "embedding_fwd";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ix[CF_MAX_DIMS], wx[CF_MAX_DIMS], axes[CF_MAX_DIMS], in[2] = {input, weight};
    cf_status st;
    int ri, d;
    int64_t pad, rows;
    if ((st = need_index(f, input, op, "input")) || (st = need_tensor(f, weight, op, "weight")))
        return st;
    ri = cf_ir_noreduction_axes(f, input, ix);
    if (cf_ir_noreduction_axes(f, weight, wx) != 2)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'weight' must be 2-D (num_embeddings, embedding_dim), got %d dims", op,
                            cf_ir_noreduction_axes(f, weight, NULL));
    if (ri + 1 > CF_MAX_DIMS)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'input' has %d dims; the result would have more than %d", op, ri,
                            CF_MAX_DIMS);
    if (max_norm != CF_NO_ID && (!cf_fusion_has_val(f, max_norm) || f->vals[max_norm].kind != CF_VAL_SCALAR ||
                                 cf_dtype_is_bool(f->vals[max_norm].dtype)))
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'max_norm' must be a number or a numeric Scalar", op);
    if (norm_type != CF_NO_ID && (!cf_fusion_has_val(f, norm_type) || f->vals[norm_type].kind != CF_VAL_SCALAR ||
                                  cf_dtype_is_bool(f->vals[norm_type].dtype)))
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'norm_type' must be a number or a numeric Scalar", op);
    if (padding_idx != CF_NO_ID) {
        if (!cf_fusion_has_val(f, padding_idx) || f->vals[padding_idx].kind != CF_VAL_SCALAR ||
            !cf_dtype_is_integer(f->vals[padding_idx].dtype))
            return cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'padding_idx' must be an int or an integer Scalar", op);
        if (cf_ir_const_int(f, padding_idx, &pad) && cf_ir_const_int(f, f->iters[wx[0]].extent, &rows) && (pad < -rows || pad >= rows))
            return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'padding_idx' is %lld; expected a row in [%lld, %lld)", op,
                                (long long)pad, (long long)-rows, (long long)rows);
    }
    for (d = 0; d <= ri; d++)
        if ((st = copy_axis(f, d < ri ? ix[d] : wx[1], &axes[d]))) {
            cf_ir_rollback(f, &m);
            return st;
        }
    if (max_norm == CF_NO_ID)
        return finish(f, &m, CF_OP_EMBEDDING_FWD, 2, in, f->vals[weight].dtype, ri + 1, axes, 0, out);
    cf_id e;
    if ((st = finish(f, &m, CF_OP_EMBEDDING_FWD, 2, in, f->vals[weight].dtype, ri + 1, axes, 0, &e)) ||
        (st = renorm_rows(f, e, max_norm, norm_type, out)))
        cf_ir_rollback(f, &m);
    return st;
}
