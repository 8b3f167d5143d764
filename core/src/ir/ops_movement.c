/* ops_movement.c - slice, pad, cat and select.
 *
 * Each op works along one dim per node, so that a node's operands fit its
 * four inputs: a slice or pad of several dims is a chain of one-dim nodes
 * (which the executors fold back into one index computation), a cat of
 * more than four tensors a chain of cats. Node layout (attrs.ints):
 *   SLICE  in: tensor, start, end     ints: dim, step, manual_normalization
 *   PAD    in: tensor, lo, hi, value  ints: dim
 *   CAT    in: 2..4 tensors           ints: dim
 *   SELECT in: tensor, index          ints: dim
 * A result extent known when defining is a constant; otherwise a new
 * symbolic scalar that execute computes (program.h). */
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"
#include "move.h"



static cf_status need_int(const cf_fusion *f, const char *op, const char *arg, int item, cf_id v)
{
    if (!cf_fusion_has_val(f, v) || f->vals[v].kind != CF_VAL_SCALAR || !cf_dtype_is_integer(f->vals[v].dtype)) {
        if (item >= 0)
            return cf_error_set(CF_ERR_TYPE, op, "%s(): argument '%s': item %d must be an integer or an integer Scalar of this fusion", op, arg, item);
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument '%s' must be an integer or an integer Scalar of this fusion", op, arg);
    }
    return CF_OK;
}

/* The extent of a new axis: the constant when known, else a symbolic Int
 * that lowering binds to the instruction computing it. */
static cf_status new_extent(cf_fusion *f, bool known, int64_t v, cf_id *axis)
{
    cf_id ext;
    cf_status st = known ? cf_ir_new_int(f, v, &ext) : cf_ir_new_scalar(f, CF_DTYPE_INT, NULL, &ext);
    if (st)
        return st;
    return cf_ir_new_iter(f, ext, CF_ITER_ITERATION, axis);
}

/* Copy of an axis (the result's own iterdomain, same extent and type). */
static cf_status same_axis(cf_fusion *f, cf_id a, cf_id *axis)
{
    return cf_ir_new_iter(f, f->iters[a].extent, (cf_iter_type)f->iters[a].type, axis);
}

/* One node of op along dim d: the result has arg's axes but axis d, which
 * gets `ext_axis`. Takes ownership of nothing; rolls back nothing (the
 * caller does). */
static cf_status one_node(cf_fusion *f, cf_opcode op, int nin, const cf_id *in, int r, const cf_id *ax, int d,
                          cf_id ext_axis, int nints, const int64_t *ints, cf_id *out)
{
    cf_id axes[CF_MAX_DIMS];
    cf_expr_attrs attrs;
    int64_t *copy;
    cf_status st;
    for (int k = 0; k < r; k++) {
        if (k == d)
            axes[k] = ext_axis;
        else if ((st = same_axis(f, ax[k], &axes[k])))
            return st;
    }
    if ((st = cf_ir_new_tensor(f, f->vals[in[0]].dtype, r, axes, out)))
        return st;
    copy = cf_malloc(sizeof(int64_t) * (size_t)nints);
    if (!copy)
        return cf_error_nomem(cf_op_name(op));
    memcpy(copy, ints, sizeof(int64_t) * (size_t)nints);
    memset(&attrs, 0, sizeof attrs);
    attrs.ints = copy;
    attrs.nints = nints;
    return cf_ir_new_expr(f, op, nin, in, 1, out, &attrs, NULL);
}

cf_status cf_op_slice(cf_fusion *f, cf_id arg, int nstart, const cf_id *starts, int nend, const cf_id *ends,
                      int nsteps, const int64_t *steps, bool manual, cf_id *out)
{
    const char *op = "slice";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], cur;
    cf_status st;
    int r, d, nodes = 0;
    if ((st = cf_ir_need_tensor(f, arg, op)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (nstart != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'start_indices' has %d entries but the input has %d dims", op, nstart, r);
    if (nend != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'end_indices' has %d entries but the input has %d dims", op, nend, r);
    if (steps && nsteps != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'strides' has %d entries but the input has %d dims", op, nsteps, r);
    for (d = 0; d < r; d++) {
        int64_t s, e, n;
        if ((st = need_int(f, op, "start_indices", d, starts[d])) || (st = need_int(f, op, "end_indices", d, ends[d])))
            return st;
        if (steps && steps[d] <= 0)
            return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'strides': item %d is %lld; strides must be > 0", op, d, (long long)steps[d]);
        if (manual && cf_ir_const_int(f, starts[d], &s) && s < 0)
            return cf_error_set(CF_ERR_VALUE, op, "%s(): manual_normalization: start_indices[%d] is %lld; it must be >= 0", op, d, (long long)s);
        if (manual && cf_ir_const_int(f, starts[d], &s) && cf_ir_const_int(f, ends[d], &e) && e < s)
            return cf_error_set(CF_ERR_VALUE, op, "%s(): manual_normalization: end_indices[%d] (%lld) is before start_indices[%d] (%lld)", op, d, (long long)e, d, (long long)s);
        if (manual && cf_ir_const_int(f, ends[d], &e) && cf_ir_const_int(f, f->iters[ax[d]].extent, &n) && e > n)
            return cf_error_set(CF_ERR_VALUE, op, "%s(): manual_normalization: end_indices[%d] is %lld, past the dim's size %lld", op, d, (long long)e, (long long)n);
    }
    cur = arg;
    for (d = 0; d < r; d++) {
        int64_t s = 0, e = 0, n = 0, step = steps ? steps[d] : 1, first, len;
        cf_id in[3], axis, cax[CF_MAX_DIMS];
        int64_t ints[3];
        bool sk = cf_ir_const_int(f, starts[d], &s), ek = cf_ir_const_int(f, ends[d], &e);
        bool nk = cf_ir_const_int(f, f->iters[ax[d]].extent, &n);
        /* a dim taken whole needs no node */
        if (step == 1 && sk && s == 0 && (ends[d] == f->iters[ax[d]].extent || (ek && nk && e >= n)))
            continue;
        len = sk && ek && nk ? cf_move_slice_len(s, e, step, n, &first) : -1;
        cf_ir_noreduction_axes(f, cur, cax);
        if ((st = new_extent(f, len >= 0, len, &axis)))
            goto fail;
        in[0] = cur;
        in[1] = starts[d];
        in[2] = ends[d];
        ints[0] = d;
        ints[1] = step;
        ints[2] = manual;
        if ((st = one_node(f, CF_OP_SLICE, 3, in, r, cax, d, axis, 3, ints, &cur)))
            goto fail;
        nodes++;
    }
    if (!nodes)
        return cf_op_set(f, arg, out);
    *out = cur;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_pad(cf_fusion *f, cf_id arg, int n, const cf_id *widths, cf_id value, cf_id *out)
{
    const char *op = "pad";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], cur;
    cf_dtype dt;
    cf_status st;
    int r, k, nodes = 0;
    if ((st = cf_ir_need_tensor(f, arg, op)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    dt = f->vals[arg].dtype;
    if (n % 2 != 0 || n / 2 > r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'pad_widths' has %d entries; expected an even count of at most %d (two per dim of the input)", op, n, 2 * r);
    for (k = 0; k < n; k++)
        if ((st = need_int(f, op, "pad_widths", k, widths[k])))
            return st;
    if (value == CF_NO_ID) {
        cf_scalar z;
        memset(&z, 0, sizeof z);
        z.dtype = dt;
        if ((st = cf_ir_new_scalar(f, dt, &z, &value)))
            return st;
    } else if (!cf_fusion_has_val(f, value) || f->vals[value].kind != CF_VAL_SCALAR) {
        st = cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'value' must be a number or a Scalar", op);
        goto fail;
    } else if (cf_dtype_is_float(f->vals[value].dtype) && !cf_dtype_is_float(dt)) {
        st = cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'value' is a DataType.%s value but the input is DataType.%s; a floating-point fill needs a floating-point input", op, cf_dtype_pyname(f->vals[value].dtype), cf_dtype_pyname(dt));
        goto fail;
    }
    /* a size that known widths make negative is an error now */
    for (k = 0; k < n / 2; k++) {
        int d = r - 1 - k;
        int64_t lo, hi, e;
        if (cf_ir_const_int(f, widths[2 * k], &lo) && cf_ir_const_int(f, widths[2 * k + 1], &hi) &&
            cf_ir_const_int(f, f->iters[ax[d]].extent, &e) && e + lo + hi < 0) {
            st = cf_error_set(CF_ERR_VALUE, op, "%s(): pad widths (%lld, %lld) make dim %d of size %lld negative", op, (long long)lo, (long long)hi, d, (long long)e);
            goto fail;
        }
    }
    cur = arg;
    for (k = n / 2 - 1; k >= 0; k--) {
        int d = r - 1 - k;
        int64_t lo, hi, e, ints[1];
        bool lk = cf_ir_const_int(f, widths[2 * k], &lo), hk = cf_ir_const_int(f, widths[2 * k + 1], &hi);
        bool ek = cf_ir_const_int(f, f->iters[ax[d]].extent, &e);
        cf_id in[4], axis, cax[CF_MAX_DIMS];
        if (lk && hk && lo == 0 && hi == 0)
            continue;
        cf_ir_noreduction_axes(f, cur, cax);
        if ((st = new_extent(f, lk && hk && ek, lk && hk && ek ? e + lo + hi : 0, &axis)))
            goto fail;
        in[0] = cur;
        in[1] = widths[2 * k];
        in[2] = widths[2 * k + 1];
        in[3] = value;
        ints[0] = d;
        if ((st = one_node(f, CF_OP_PAD, 4, in, r, cax, d, axis, 1, ints, &cur)))
            goto fail;
        nodes++;
    }
    if (!nodes) {
        if ((st = cf_op_set(f, arg, out)))
            goto fail;
        return CF_OK;
    }
    *out = cur;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_cat(cf_fusion *f, int n, const cf_id *tensors, int64_t dim, bool manual_padding, cf_id *out)
{
    const char *op = "cat";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax0[CF_MAX_DIMS], cur;
    cf_dtype dt;
    cf_status st;
    int r, i, d;
    if (n < 1)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'tensors' is empty; expected at least one tensor", op);
    for (i = 0; i < n; i++)
        if (!cf_fusion_has_val(f, tensors[i]) || f->vals[tensors[i]].kind != CF_VAL_TENSOR)
            return cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'tensors': item %d must be a TensorView of this fusion", op, i);
    if (manual_padding)
        return cf_error_set(CF_ERR_UNSUPPORTED, op, "%s(): manual_padding=True is not supported yet; pass the unpadded tensors", op);
    dt = f->vals[tensors[0]].dtype;
    r = cf_ir_noreduction_axes(f, tensors[0], ax0);
    if (dim < -r || dim >= r || r == 0)
        return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'dim' is %lld; expected a dim in %d..%d", op, (long long)dim, -r, r - 1);
    d = (int)(dim < 0 ? dim + r : dim);
    for (i = 1; i < n; i++) {
        cf_id ax[CF_MAX_DIMS];
        int ri = cf_ir_noreduction_axes(f, tensors[i], ax);
        if (f->vals[tensors[i]].dtype != dt)
            return cf_error_set(CF_ERR_TYPE, op, "%s(): tensors have different dtypes (item 0 is DataType.%s, item %d DataType.%s); cast them to one dtype first", op, cf_dtype_pyname(dt), i, cf_dtype_pyname(f->vals[tensors[i]].dtype));
        if (ri != r)
            return cf_error_set(CF_ERR_VALUE, op, "%s(): tensors have different ranks (item 0 has %d dims, item %d has %d)", op, r, i, ri);
        for (int k = 0; k < r; k++) {
            int64_t a, b;
            if (k != d && cf_ir_const_int(f, f->iters[ax0[k]].extent, &a) && cf_ir_const_int(f, f->iters[ax[k]].extent, &b) && a != b)
                return cf_error_set(CF_ERR_VALUE, op, "%s(): sizes must match except in dim %d: item 0 has size %lld at dim %d, item %d has %lld", op, d, (long long)a, k, i, (long long)b);
        }
    }
    if (n == 1)
        return cf_op_set(f, tensors[0], out);
    cur = CF_NO_ID;
    for (i = 0; i < n;) {
        cf_id in[4], axis, cax[CF_MAX_DIMS];
        int64_t total = 0, ints[1];
        bool known = true;
        int k = 0;
        if (cur != CF_NO_ID)
            in[k++] = cur;
        while (k < 4 && i < n)
            in[k++] = tensors[i++];
        for (int j = 0; j < k; j++) {
            cf_id ax[CF_MAX_DIMS];
            int64_t e;
            cf_ir_noreduction_axes(f, in[j], ax);
            if (cf_ir_const_int(f, f->iters[ax[d]].extent, &e))
                total += e;
            else
                known = false;
        }
        /* take the other dims from an operand where they are not broadcast */
        cf_ir_noreduction_axes(f, in[0], cax);
        for (int j = 1; j < k; j++) {
            cf_id ax[CF_MAX_DIMS];
            cf_ir_noreduction_axes(f, in[j], ax);
            for (int q = 0; q < r; q++)
                if (f->iters[cax[q]].type == CF_ITER_BROADCAST && f->iters[ax[q]].type != CF_ITER_BROADCAST)
                    cax[q] = ax[q];
        }
        if ((st = new_extent(f, known, total, &axis)))
            goto fail;
        ints[0] = d;
        if ((st = one_node(f, CF_OP_CAT, k, in, r, cax, d, axis, 1, ints, &cur)))
            goto fail;
    }
    *out = cur;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

cf_status cf_op_select(cf_fusion *f, cf_id arg, cf_id index, int64_t dim, cf_id *out)
{
    const char *op = "select";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS], in[2];
    cf_expr_attrs attrs;
    int64_t *ints, idx, n;
    cf_status st;
    int r, d, k = 0;
    if ((st = cf_ir_need_tensor(f, arg, op)) || (st = need_int(f, op, "index", -1, index)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (dim < -r || dim >= r || r == 0)
        return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'dim' is %lld; expected a dim in %d..%d", op, (long long)dim, -r, r - 1);
    d = (int)(dim < 0 ? dim + r : dim);
    if (cf_ir_const_int(f, index, &idx) && cf_ir_const_int(f, f->iters[ax[d]].extent, &n) && (idx < -n || idx >= n))
        return cf_error_set(CF_ERR_INDEX, op, "%s(): index %lld is out of range for dim %d of size %lld", op, (long long)idx, d, (long long)n);
    for (int q = 0; q < r; q++)
        if (q != d && (st = same_axis(f, ax[q], &axes[k++])))
            goto fail;
    if ((st = cf_ir_new_tensor(f, f->vals[arg].dtype, r - 1, axes, out)))
        goto fail;
    ints = cf_malloc(sizeof(int64_t));
    if (!ints) {
        st = cf_error_nomem(op);
        goto fail;
    }
    ints[0] = d;
    memset(&attrs, 0, sizeof attrs);
    attrs.ints = ints;
    attrs.nints = 1;
    in[0] = arg;
    in[1] = index;
    if ((st = cf_ir_new_expr(f, CF_OP_SELECT, 2, in, 1, out, &attrs, NULL)))
        goto fail;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}
