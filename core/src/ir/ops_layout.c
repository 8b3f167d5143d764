/* ops_layout.c - memory layout of tensors: the stride_order op and the
 * allocation order of every tensor of a fusion (how execute lays out its
 * outputs).
 *
 * An allocation order lists a tensor's non-reduction axes from the
 * outermost (largest stride) to the innermost. Inputs take theirs from
 * define_tensor's stride_order (row major without one); each op passes its
 * input's order on the way torch lays out the same computation:
 * elementwise ops follow their operand with the most non-broadcast axes
 * (the first on a tie, as torch's TensorIterator lets the first operand
 * decide), permute permutes it (torch returns a view), squeeze drops axes,
 * broadcasts put new axes outermost, stride_order sets it, and the rest
 * (reductions, which torch allocates row major, reshape, full, iota, ops
 * that make new shapes) are row major. */
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"

cf_status cf_op_stride_order(cf_fusion *f, cf_id arg, int n, const int64_t *order, cf_id *out)
{
    const char *op = "stride_order";
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id ax[CF_MAX_DIMS], axes[CF_MAX_DIMS];
    uint32_t seen = 0;
    cf_expr_attrs attrs;
    int64_t *ints;
    cf_status st;
    int r, d;
    if ((st = cf_ir_need_tensor(f, arg, op)))
        return st;
    r = cf_ir_noreduction_axes(f, arg, ax);
    if (n != r)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'stride_order' has %d entries but the input has %d dims", op, n, r);
    for (d = 0; d < n; d++) {
        if (order[d] < 0 || order[d] >= r)
            return cf_error_set(CF_ERR_INDEX, op, "%s(): argument 'stride_order': item %d (%lld) is out of range for %d dims", op, d, (long long)order[d], r);
        if (seen & (1u << order[d]))
            return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'stride_order' is not a permutation: %lld repeats", op, (long long)order[d]);
        seen |= 1u << order[d];
    }
    for (d = 0; d < r; d++)
        if ((st = cf_ir_new_iter(f, f->iters[ax[d]].extent, (cf_iter_type)f->iters[ax[d]].type, &axes[d])))
            goto fail;
    if (!(ints = cf_malloc(sizeof(int64_t) * (size_t)(n ? n : 1)))) {
        st = cf_error_nomem(op);
        goto fail;
    }
    if (n)
        memcpy(ints, order, sizeof(int64_t) * (size_t)n);
    memset(&attrs, 0, sizeof attrs);
    attrs.dtype = cf_dtype_compute(f->vals[arg].dtype); /* as set's */
    attrs.ints = ints;
    attrs.nints = n;
    if ((st = cf_ir_new_tensor(f, f->vals[arg].dtype, r, axes, out))) {
        cf_free(ints);
        goto fail;
    }
    if ((st = cf_ir_new_expr(f, CF_OP_STRIDE_ORDER, 1, &arg, 1, out, &attrs, NULL)))
        goto fail;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    return st;
}

/* --- allocation orders --------------------------------------------------- */

typedef struct layout { int8_t n; int8_t ord[CF_MAX_DIMS]; } layout;

static void row_major(layout *l, int n)
{
    int d;
    l->n = (int8_t)n;
    for (d = 0; d < n; d++)
        l->ord[d] = (int8_t)d;
}

/* nvFuser's stride_order (rank of each axis' stride, n-1 outermost) to an
 * order; false when it is not a permutation. */
static bool from_stride_order(layout *l, int n, const int64_t *so)
{
    int d;
    uint32_t seen = 0;
    l->n = (int8_t)n;
    for (d = 0; d < n; d++) {
        if (so[d] < 0 || so[d] >= n || (seen & (1u << so[d])))
            return false;
        seen |= 1u << so[d];
        l->ord[n - 1 - so[d]] = (int8_t)d;
    }
    return true;
}

/* Keep the axes with keep[axis] set, renumbered in their order. */
static void keep_axes(layout *out, const layout *in, const bool *keep)
{
    int8_t newidx[CF_MAX_DIMS];
    int d, k = 0;
    memset(newidx, -1, sizeof newidx);
    for (d = 0; d < in->n; d++)
        newidx[d] = keep[d] ? (int8_t)k++ : -1;
    out->n = 0;
    for (d = 0; d < in->n; d++)
        if (newidx[in->ord[d]] >= 0)
            out->ord[out->n++] = newidx[in->ord[d]];
}

/* Result axes where = -1 are new (outermost, in order); the others are
 * input axis from[d]. */
static void map_axes(layout *out, const layout *in, int n, const int8_t *from)
{
    int8_t to[CF_MAX_DIMS];
    int d;
    out->n = 0;
    for (d = 0; d < n; d++)
        if (from[d] < 0)
            out->ord[out->n++] = (int8_t)d;
    for (d = 0; d < in->n; d++)
        to[d] = -1;
    for (d = 0; d < n; d++)
        if (from[d] >= 0 && from[d] < in->n)
            to[from[d]] = (int8_t)d;
    for (d = 0; d < in->n; d++)
        if (to[in->ord[d]] >= 0)
            out->ord[out->n++] = to[in->ord[d]];
    if (out->n != n)
        row_major(out, n);
}

static int nonbroadcast(const cf_fusion *f, cf_id tv)
{
    cf_id ax[CF_MAX_DIMS];
    int r = cf_ir_noreduction_axes(f, tv, ax), d, k = 0;
    for (d = 0; d < r; d++)
        k += f->iters[ax[d]].type != CF_ITER_BROADCAST;
    return k;
}

static void expr_layout(const cf_fusion *f, const cf_expr_node *x, layout *lay, int r_out, layout *out)
{
    cf_op_kind kind = cf_op_kind_of(x->op);
    const layout *in = x->nin > 0 && f->vals[x->in[0]].kind == CF_VAL_TENSOR ? &lay[x->in[0]] : NULL;
    int8_t from[CF_MAX_DIMS];
    bool keep[CF_MAX_DIMS];
    int d, k = 0, best = -1, best_nb = -1;
    row_major(out, r_out);
    if (kind == CF_KIND_UNARY || kind == CF_KIND_BINARY || kind == CF_KIND_TERNARY || kind == CF_KIND_CONVERT) {
        for (d = 0; d < x->nin; d++) {
            int nb;
            if (f->vals[x->in[d]].kind != CF_VAL_TENSOR || lay[x->in[d]].n != r_out)
                continue;
            nb = nonbroadcast(f, x->in[d]);
            if (nb > best_nb) {
                best_nb = nb;
                best = d;
            }
        }
        if (best >= 0)
            *out = lay[x->in[best]];
        return;
    }
    if (!in)
        return;
    if (kind == CF_KIND_REDUCTION) /* torch allocates reduction results row major */
        return;
    switch (x->op) {
    case CF_OP_PERMUTE:
        for (d = 0; d < r_out && d < x->attrs.nints; d++)
            from[d] = (int8_t)x->attrs.ints[d];
        map_axes(out, in, r_out, from);
        break;
    case CF_OP_BROADCAST:
        for (d = 0; d < r_out && d < x->attrs.nints; d++)
            from[d] = x->attrs.ints[d] ? -1 : (int8_t)k++;
        map_axes(out, in, r_out, from);
        break;
    case CF_OP_BROADCAST_IN_DIM:
        for (d = 0; d < r_out; d++)
            from[d] = (k < x->attrs.nints && x->attrs.ints[k] == d) ? (int8_t)k++ : -1;
        map_axes(out, in, r_out, from);
        break;
    case CF_OP_SQUEEZE:
        for (d = 0; d < in->n && d < x->attrs.nints; d++)
            keep[d] = !x->attrs.ints[d];
        if (x->attrs.nints == in->n)
            keep_axes(out, in, keep);
        break;
    case CF_OP_EXPAND:
        if (in->n == r_out)
            *out = *in;
        break;
    case CF_OP_STRIDE_ORDER:
        if (!from_stride_order(out, r_out, x->attrs.ints))
            row_major(out, r_out);
        break;
    default:
        break;
    }
}

cf_status cf_fusion_alloc_order(const cf_fusion *f, cf_id val, int8_t *order, int *n)
{
    layout *lay;
    int e, i;
    if (!cf_fusion_has_val(f, val) || f->vals[val].kind != CF_VAL_TENSOR)
        return cf_error_set(CF_ERR_VALUE, "alloc_order", "alloc_order(): value %d is not a tensor of this fusion", (int)val);
    if (!(lay = cf_calloc((size_t)f->nvals, sizeof *lay)))
        return cf_error_nomem("alloc_order");
    for (i = 0; i <= val; i++) {
        const cf_val_node *v = &f->vals[i];
        if (v->kind != CF_VAL_TENSOR)
            continue;
        row_major(&lay[i], cf_ir_noreduction_axes(f, i, NULL));
        if (v->def == CF_NO_ID && v->has_stride_order) {
            int64_t so[CF_MAX_DIMS];
            int d;
            for (d = 0; d < v->ndim; d++)
                so[d] = v->stride_order[d];
            if (!from_stride_order(&lay[i], v->ndim, so))
                row_major(&lay[i], v->ndim);
        }
    }
    /* ids are in creation order, so operands come first */
    for (e = 0; e < f->nexprs; e++) {
        const cf_expr_node *x = &f->exprs[e];
        for (i = 0; i < x->nout; i++) {
            cf_id o = x->out[i];
            if (o > val || f->vals[o].kind != CF_VAL_TENSOR)
                continue;
            expr_layout(f, x, lay, cf_ir_noreduction_axes(f, o, NULL), &lay[o]);
        }
    }
    *n = lay[val].n;
    memcpy(order, lay[val].ord, (size_t)lay[val].n);
    cf_free(lay);
    return CF_OK;
}
