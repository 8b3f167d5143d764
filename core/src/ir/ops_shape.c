/* ops_shape.c - broadcast_in_dim, broadcast, expand, reshape, permute,
 * squeeze, full and iota. Sizes are integer scalar values of the fusion. */
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"


static cf_status check_sizes(const cf_fusion *f, const char *op, const char *arg, int n, const cf_id *shape)
{
    int i;
    if (n < 0 || n > CF_MAX_DIMS)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument '%s' has %d entries; expected at most %d", op, arg, n, CF_MAX_DIMS);
    for (i = 0; i < n; i++) {
        cf_scalar s;
        if (!cf_fusion_has_val(f, shape[i]) || f->vals[shape[i]].kind != CF_VAL_SCALAR ||
            !cf_dtype_is_integer(f->vals[shape[i]].dtype))
            return cf_error_set(CF_ERR_TYPE, op, "%s(): argument '%s': item %d must be an integer or an integer Scalar of this fusion", op, arg, i);
        if (cf_val_constant(f, shape[i], &s) && s.v.i < -1)
            return cf_error_set(CF_ERR_VALUE, op, "%s(): argument '%s': item %d is %lld; sizes must be >= 0 (or -1 to keep)", op, arg, i, (long long)s.v.i);
    }
    return CF_OK;
}

static bool const_val(const cf_fusion *f, cf_id v, int64_t *out)
{
    cf_scalar s;
    if (!cf_val_constant(f, v, &s))
        return false;
    *out = s.v.i;
    return true;
}

static cf_status ints_attr(const char *op, int n, const int64_t *vals, cf_expr_attrs *a)
{
    int64_t *ints = cf_malloc(sizeof(int64_t) * (size_t)(n ? n : 1));
    if (!ints)
        return cf_error_nomem(op);
    if (n)
        memcpy(ints, vals, sizeof(int64_t) * (size_t)n);
    a->ints = ints;
    a->nints = n;
    return CF_OK;
}

/* The common tail: make the tensor and the expression, or roll back. */
static cf_status finish(cf_fusion *f, cf_ir_mark *m, cf_opcode op, int nin, const cf_id *in, cf_dtype dtype,
                        int ndim, const cf_id *axes, cf_expr_attrs *attrs, cf_id *out)
{
    cf_status st = cf_ir_new_tensor(f, dtype, ndim, axes, out);
    if (!st)
        st = cf_ir_new_expr(f, op, nin, in, 1, out, attrs, NULL);
    else if (attrs)
        cf_free((void *)attrs->ints);
    if (st)
        cf_ir_rollback(f, m);
    return st;
}

/* An axis of the given extent: broadcast when the extent is the constant 1. */
static cf_status sized_axis(cf_fusion *f, cf_id extent, cf_id *axis)
{
    int64_t c;
    bool one = const_val(f, extent, &c) && c == 1;
    return cf_ir_new_iter(f, extent, one ? CF_ITER_BROADCAST : CF_ITER_ITERATION, axis);
}

/* The result axis for input axis `a` asked to have size `want` (an integer
 * scalar; the constant -1 keeps the input's size), as torch's expand:
 * a broadcast axis may take any size; an axis of known size must be asked
 * for that size (or 1 -> anything); a symbolic axis takes the asked size,
 * and execute checks that the input's size there is that size or 1 (a
 * size-1 axis is then read with stride 0). Shared by broadcast_in_dim and
 * expand. */
static cf_status target_axis(cf_fusion *f, const char *op, cf_id a, int in_dim, cf_id want_id, int d, cf_id *axis)
{
    int64_t want, have;
    bool wk = const_val(f, want_id, &want), hk = const_val(f, f->iters[a].extent, &have);
    if (wk && want == -1)
        return cf_ir_new_iter(f, f->iters[a].extent, (cf_iter_type)f->iters[a].type, axis);
    if (f->iters[a].type == CF_ITER_BROADCAST) {
        if (wk && want == 1)
            return cf_ir_new_iter(f, f->iters[a].extent, CF_ITER_BROADCAST, axis);
        return cf_ir_new_iter(f, want_id, CF_ITER_ITERATION, axis);
    }
    if (wk && hk && have != want && have != 1)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): input dim %d has size %lld and is not a broadcast dim; 'shape' asks for %lld at dim %d", op, in_dim, (long long)have, (long long)want, d);
    if (wk && hk && have == want)
        return cf_ir_new_iter(f, f->iters[a].extent, CF_ITER_ITERATION, axis);
    return cf_ir_new_iter(f, want_id, CF_ITER_ITERATION, axis);
}

cf_status cf_op_broadcast_in_dim(cf_fusion *f, cf_id arg, int ndim, const cf_id *shape, int nbdims,
                                 const int64_t *bdims, cf_id *out)
{
    const char *op = "broadcast_in_dim";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS];
    cf_expr_attrs attrs;
    cf_status st;
    int r, d, k = 0;
    if ((st = cf_ir_need_tensor(f, arg, op)) || (st = check_sizes(f, op, "shape", ndim, shape)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (nbdims != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'broadcast_dims' has %d entries but the input has %d dims", op, nbdims, r);
    if (ndim < r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'shape' has %d dims, fewer than the input's %d", op, ndim, r);
    for (k = 0; k < nbdims; k++) {
        if (bdims[k] < 0 || bdims[k] >= ndim)
            return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'broadcast_dims': item %d is %lld; expected a dim in 0..%d", op, k, (long long)bdims[k], ndim - 1);
        if (k > 0 && bdims[k] <= bdims[k - 1])
            return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'broadcast_dims' must be increasing dims in 0..%d; item %d is %lld", op, ndim - 1, k, (long long)bdims[k]);
    }
    for (d = 0, k = 0; d < ndim; d++) {
        if (k < nbdims && bdims[k] == d) {
            st = target_axis(f, op, ax[k], k, shape[d], d, &axes[d]);
            k++;
        } else {
            int64_t c;
            if (const_val(f, shape[d], &c) && c == -1)
                st = cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'shape': new dim %d cannot be -1", op, d);
            else
                st = sized_axis(f, shape[d], &axes[d]);
        }
        if (st)
            goto fail;
    }
    memset(&attrs, 0, sizeof attrs);
    if ((st = ints_attr(op, nbdims, bdims, &attrs)))
        goto fail;
    return finish(f, &m, CF_OP_BROADCAST_IN_DIM, 1, &arg, f->vals[arg].dtype, ndim, axes, &attrs, out);
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_broadcast(cf_fusion *f, cf_id arg, int n, const bool *flags, cf_id *out)
{
    const char *op = "broadcast";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS], one = CF_NO_ID;
    int64_t iflags[CF_MAX_DIMS];
    cf_expr_attrs attrs;
    cf_status st;
    int r, d, k = 0, nfalse = 0;
    if ((st = cf_ir_need_tensor(f, arg, op)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (n < 0 || n > CF_MAX_DIMS)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'is_broadcast_dim' has %d entries; expected at most %d", op, n, CF_MAX_DIMS);
    for (d = 0; d < n; d++)
        nfalse += !flags[d];
    if (nfalse != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'is_broadcast_dim' has %d False entries but the input has %d dims", op, nfalse, r);
    for (d = 0; d < n; d++) {
        iflags[d] = flags[d];
        if (flags[d]) {
            if (one == CF_NO_ID) {
                cf_scalar s;
                s.dtype = CF_DTYPE_INT;
                s.v.i = 1;
                if ((st = cf_ir_new_scalar(f, CF_DTYPE_INT, &s, &one)))
                    goto fail;
            }
            st = cf_ir_new_iter(f, one, CF_ITER_BROADCAST, &axes[d]);
        } else {
            cf_id a = ax[k++];
            st = cf_ir_new_iter(f, f->iters[a].extent, (cf_iter_type)f->iters[a].type, &axes[d]);
        }
        if (st)
            goto fail;
    }
    memset(&attrs, 0, sizeof attrs);
    if ((st = ints_attr(op, n, iflags, &attrs)))
        goto fail;
    return finish(f, &m, CF_OP_BROADCAST, 1, &arg, f->vals[arg].dtype, n, axes, &attrs, out);
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_expand(cf_fusion *f, cf_id arg, int ndim, const cf_id *shape, cf_id *out)
{
    const char *op = "expand";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS];
    cf_status st;
    int r, d;
    if ((st = cf_ir_need_tensor(f, arg, op)) || (st = check_sizes(f, op, "shape", ndim, shape)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (ndim != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'shape' has %d dims but the input has %d", op, ndim, r);
    for (d = 0; d < r; d++)
        if ((st = target_axis(f, op, ax[d], d, shape[d], d, &axes[d])))
            goto fail;
    return finish(f, &m, CF_OP_EXPAND, 1, &arg, f->vals[arg].dtype, ndim, axes, NULL, out);
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_reshape(cf_fusion *f, cf_id arg, int ndim, const cf_id *shape, cf_id *out)
{
    const char *op = "reshape";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS];
    int64_t infer = -1, known_out = 1, known_in = 1;
    bool out_known = true, in_known = true;
    cf_expr_attrs attrs;
    cf_status st;
    int r, d;
    if ((st = cf_ir_need_tensor(f, arg, op)) || (st = check_sizes(f, op, "new_shape", ndim, shape)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    for (d = 0; d < r; d++) {
        int64_t c;
        if (const_val(f, f->iters[ax[d]].extent, &c))
            known_in *= c;
        else
            in_known = false;
    }
    for (d = 0; d < ndim; d++) {
        int64_t c;
        if (const_val(f, shape[d], &c)) {
            if (c == -1) {
                if (infer >= 0)
                    return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'new_shape' may contain -1 only once", op);
                infer = d;
            } else {
                known_out *= c;
            }
        } else {
            out_known = false;
        }
    }
    if (in_known && out_known && infer < 0 && known_in != known_out)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): cannot reshape a tensor of %lld elements to a shape of %lld elements", op, (long long)known_in, (long long)known_out);
    if (in_known && out_known && infer >= 0 && (known_out == 0 || known_in % known_out != 0))
        return cf_error_set(CF_ERR_VALUE, op, "%s(): cannot infer the -1 size: %lld elements do not divide into %lld", op, (long long)known_in, (long long)known_out);
    for (d = 0; d < ndim; d++) {
        if (d == infer) {
            cf_id ext;
            if ((st = cf_ir_new_scalar(f, CF_DTYPE_INT, NULL, &ext)) ||
                (st = cf_ir_new_iter(f, ext, CF_ITER_ITERATION, &axes[d])))
                goto fail;
        } else if ((st = sized_axis(f, shape[d], &axes[d]))) {
            goto fail;
        }
    }
    memset(&attrs, 0, sizeof attrs);
    if ((st = ints_attr(op, 1, &infer, &attrs)))
        goto fail;
    return finish(f, &m, CF_OP_RESHAPE, 1, &arg, f->vals[arg].dtype, ndim, axes, &attrs, out);
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_permute(cf_fusion *f, cf_id arg, int n, const int64_t *dims, cf_id *out)
{
    const char *op = "permute";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS];
    int64_t perm[CF_MAX_DIMS];
    uint32_t seen = 0;
    cf_expr_attrs attrs;
    cf_status st;
    int r, d;
    if ((st = cf_ir_need_tensor(f, arg, op)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (n != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'dims' has %d entries but the input has %d dims", op, n, r);
    for (d = 0; d < n; d++) {
        int64_t p = dims[d] < 0 ? dims[d] + r : dims[d];
        if (p < 0 || p >= r)
            return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'dims': item %d (%lld) is out of range for %d dims", op, d, (long long)dims[d], r);
        if (seen & (1u << p))
            return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'dims' is not a permutation: %lld repeats", op, (long long)p);
        seen |= 1u << p;
        perm[d] = p;
    }
    for (d = 0; d < n; d++) {
        cf_id a = ax[perm[d]];
        if ((st = cf_ir_new_iter(f, f->iters[a].extent, (cf_iter_type)f->iters[a].type, &axes[d])))
            goto fail;
    }
    memset(&attrs, 0, sizeof attrs);
    if ((st = ints_attr(op, n, perm, &attrs)))
        goto fail;
    return finish(f, &m, CF_OP_PERMUTE, 1, &arg, f->vals[arg].dtype, n, axes, &attrs, out);
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_squeeze(cf_fusion *f, cf_id arg, int n, const int64_t *dims, cf_id *out)
{
    const char *op = "squeeze";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS];
    int64_t sq[CF_MAX_DIMS];
    uint32_t mask;
    cf_expr_attrs attrs;
    cf_status st;
    int r, d, k = 0;
    if ((st = cf_ir_need_tensor(f, arg, op)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if ((st = cf_ir_dims_mask(op, "dims", r, n, dims, &mask)))
        return st;
    for (d = 0; d < r; d++) {
        int64_t c;
        if (!(mask & (1u << d))) {
            if ((st = cf_ir_new_iter(f, f->iters[ax[d]].extent, (cf_iter_type)f->iters[ax[d]].type, &axes[k++])))
                goto fail;
            continue;
        }
        if (f->iters[ax[d]].type != CF_ITER_BROADCAST && const_val(f, f->iters[ax[d]].extent, &c) && c != 1) {
            st = cf_error_set(CF_ERR_VALUE, op, "%s(): dim %d has size %lld; only dims of size 1 can be squeezed", op, d, (long long)c);
            goto fail;
        }
    }
    for (d = 0; d < r; d++)
        sq[d] = (mask >> d) & 1;
    memset(&attrs, 0, sizeof attrs);
    if ((st = ints_attr(op, r, sq, &attrs)))
        goto fail;
    return finish(f, &m, CF_OP_SQUEEZE, 1, &arg, f->vals[arg].dtype, k, axes, &attrs, out);
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_full(cf_fusion *f, int ndim, const cf_id *shape, cf_id fill, cf_dtype dtype, cf_id *out)
{
    const char *op = "full";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id axes[CF_MAX_DIMS];
    cf_expr_attrs attrs;
    cf_status st;
    int d;
    if ((st = check_sizes(f, op, "shape", ndim, shape)))
        return st;
    for (d = 0; d < ndim; d++) {
        int64_t c;
        if (const_val(f, shape[d], &c) && c < 0)
            return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'shape': item %d is %lld; expected a size >= 0", op, d, (long long)c);
    }
    if (!cf_fusion_has_val(f, fill) || f->vals[fill].kind != CF_VAL_SCALAR)
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'fill_value' must be a number or a Scalar", op);
    if ((int)dtype < 0 || dtype >= CF_DTYPE_COUNT || !cf_dtype_is_supported(dtype))
        return cf_error_set(CF_ERR_UNSUPPORTED, op, "%s(): argument 'dtype' DataType.%s is not supported yet", op, cf_dtype_pyname(dtype) ? cf_dtype_pyname(dtype) : "?");
    for (d = 0; d < ndim; d++)
        if ((st = sized_axis(f, shape[d], &axes[d])))
            goto fail;
    memset(&attrs, 0, sizeof attrs);
    attrs.dtype = dtype;
    return finish(f, &m, CF_OP_FULL, 1, &fill, dtype, ndim, axes, &attrs, out);
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_iota(cf_fusion *f, cf_id length, cf_id start, cf_id step, cf_dtype dtype, cf_id *out)
{
    const char *op = "iota";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id axis, in[3];
    cf_expr_attrs attrs;
    cf_status st;
    int i;
    if ((st = check_sizes(f, op, "length", 1, &length)))
        return st;
    if (dtype != CF_DTYPE_INT && dtype != CF_DTYPE_INT32 && dtype != CF_DTYPE_FLOAT && dtype != CF_DTYPE_DOUBLE)
        return cf_error_set(CF_ERR_UNSUPPORTED, op, "%s(): argument 'dtype' must be Int, Int32, Float or Double", op);
    in[0] = length;
    in[1] = start;
    in[2] = step;
    for (i = 1; i < 3; i++) {
        if (in[i] == CF_NO_ID) {
            cf_scalar s;
            s.dtype = CF_DTYPE_INT;
            s.v.i = i == 1 ? 0 : 1;
            if ((st = cf_ir_new_scalar(f, CF_DTYPE_INT, &s, &in[i])))
                goto fail;
        } else if (!cf_fusion_has_val(f, in[i]) || f->vals[in[i]].kind != CF_VAL_SCALAR) {
            st = cf_error_set(CF_ERR_TYPE, op, "%s(): argument '%s' must be a number or a Scalar", op, i == 1 ? "start" : "step");
            goto fail;
        }
    }
    if ((st = cf_ir_new_iter(f, length, CF_ITER_ITERATION, &axis)))
        goto fail;
    memset(&attrs, 0, sizeof attrs);
    attrs.dtype = dtype;
    return finish(f, &m, CF_OP_IOTA, 3, in, dtype, 1, &axis, &attrs, out);
fail:
    cf_ir_rollback(f, &m);
    return st;
}
