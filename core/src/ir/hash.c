/* hash.c - structural identity of a fusion: a canonical list of 64-bit words
 * (every node's kind, dtype, shape facts, operands and attributes, and the
 * input and output lists), hashed with FNV-1a or compared word by word.
 *
 * Ids are dense in creation order, so two fusions built by the same
 * definition give the same words whatever their address or the names
 * (T0, T1...) printed for them; derived data (use lists, names) is left out. */
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"

typedef struct words {
    uint64_t *w;
    size_t n, cap;
    bool failed;
} words;

static void put(words *b, uint64_t x)
{
    if (b->failed)
        return;
    if (b->n == b->cap) {
        size_t ncap = b->cap ? b->cap * 2 : 256;
        uint64_t *q = cf_realloc(b->w, ncap * sizeof *q);
        if (!q) {
            b->failed = true;
            return;
        }
        b->w = q;
        b->cap = ncap;
    }
    b->w[b->n++] = x;
}

static void put_scalar(words *b, const cf_scalar *s)
{
    uint64_t bits = 0;
    put(b, (uint64_t)s->dtype);
    if (cf_dtype_is_float(s->dtype))
        memcpy(&bits, &s->v.f, sizeof bits); /* bits: -0.0 and NaNs stay apart */
    else if (cf_dtype_is_bool(s->dtype))
        bits = s->v.b;
    else
        bits = (uint64_t)s->v.i;
    put(b, bits);
}

static void put_val(words *b, const cf_val_node *v)
{
    int d;
    put(b, ((uint64_t)v->kind << 32) | (uint32_t)v->dtype);
    put(b, (uint64_t)(int64_t)v->def);
    if (v->kind == CF_VAL_TENSOR) {
        put(b, ((uint64_t)(uint8_t)v->ndim << 8) | v->has_stride_order);
        for (d = 0; d < v->ndim; d++) {
            put(b, (uint64_t)(int64_t)v->axes[d]);
            put(b, ((uint64_t)(uint8_t)v->contig[d] << 8) | (uint8_t)(v->has_stride_order ? v->stride_order[d] : 0));
        }
    } else {
        put(b, v->is_const);
        if (v->is_const)
            put_scalar(b, &v->value);
    }
}

static void put_expr(words *b, const cf_expr_node *e)
{
    int i;
    put(b, ((uint64_t)(uint32_t)e->op << 16) | ((uint64_t)(uint8_t)e->nin << 8) | (uint8_t)e->nout);
    for (i = 0; i < e->nin; i++)
        put(b, (uint64_t)(int64_t)e->in[i]);
    for (i = 0; i < e->nout; i++)
        put(b, (uint64_t)(int64_t)e->out[i]);
    put(b, ((uint64_t)(uint32_t)e->attrs.dtype << 8) | e->attrs.keepdim);
    put(b, (uint64_t)e->attrs.correction);
    put(b, (uint64_t)(int64_t)e->attrs.nints);
    for (i = 0; i < e->attrs.nints; i++)
        put(b, (uint64_t)e->attrs.ints[i]);
}

/* The words of f; CF_ERR_NOMEM if they did not fit in memory. */
static cf_status fingerprint(const cf_fusion *f, words *b, const char *op)
{
    int i;
    memset(b, 0, sizeof *b);
    put(b, (uint64_t)f->nvals);
    put(b, (uint64_t)f->niters);
    put(b, (uint64_t)f->nexprs);
    for (i = 0; i < f->nvals; i++)
        put_val(b, &f->vals[i]);
    for (i = 0; i < f->niters; i++)
        put(b, ((uint64_t)(uint32_t)f->iters[i].extent << 8) | f->iters[i].type);
    for (i = 0; i < f->nexprs; i++)
        put_expr(b, &f->exprs[i]);
    put(b, (uint64_t)f->ninputs);
    for (i = 0; i < f->ninputs; i++)
        put(b, (uint64_t)(int64_t)f->inputs[i]);
    put(b, (uint64_t)f->noutputs);
    for (i = 0; i < f->noutputs; i++)
        put(b, (uint64_t)(int64_t)f->outputs[i]);
    if (b->failed) {
        cf_free(b->w);
        b->w = NULL;
        return cf_error_nomem(op);
    }
    return CF_OK;
}

cf_status cf_fusion_hash(const cf_fusion *f, uint64_t *out)
{
    words b;
    size_t i;
    uint64_t h = 0xcbf29ce484222325u; /* FNV-1a, 64 bits, a byte at a time */
    cf_status st = fingerprint(f, &b, "fusion_hash");
    if (st)
        return st;
    for (i = 0; i < b.n; i++) {
        int k;
        for (k = 0; k < 8; k++) {
            h ^= (b.w[i] >> (8 * k)) & 0xffu;
            h *= 0x100000001b3u;
        }
    }
    cf_free(b.w);
    *out = h;
    return CF_OK;
}

cf_status cf_fusion_equal(const cf_fusion *a, const cf_fusion *b, bool *out)
{
    words wa, wb;
    cf_status st;
    if (a == b) {
        *out = true;
        return CF_OK;
    }
    if ((st = fingerprint(a, &wa, "fusion_equal")))
        return st;
    if ((st = fingerprint(b, &wb, "fusion_equal"))) {
        cf_free(wa.w);
        return st;
    }
    *out = wa.n == wb.n && memcmp(wa.w, wb.w, wa.n * sizeof *wa.w) == 0;
    cf_free(wa.w);
    cf_free(wb.w);
    return CF_OK;
}
