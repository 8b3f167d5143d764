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
    size_t n;
} words;

/* Words are stored without checks: fingerprint() sizes the block first. */
#define PUT(b, x) ((b)->w[(b)->n++] = (uint64_t)(x))

static uint64_t scalar_bits(const cf_scalar *s)
{
    uint64_t bits = 0;
    if (cf_dtype_is_float(s->dtype))
        memcpy(&bits, &s->v.f, sizeof bits); /* bits: -0.0 and NaNs stay apart */
    else if (cf_dtype_is_bool(s->dtype))
        bits = s->v.b;
    else
        bits = (uint64_t)s->v.i;
    return bits;
}

static void put_val(words *b, const cf_val_node *v)
{
    int d;
    PUT(b, ((uint64_t)v->kind << 32) | (uint32_t)v->dtype);
    PUT(b, (int64_t)v->def);
    if (v->kind == CF_VAL_TENSOR) {
        PUT(b, ((uint64_t)v->cpu_scalar << 16) | ((uint64_t)(uint8_t)v->ndim << 8) | v->has_stride_order);
        for (d = 0; d < v->ndim; d++) {
            PUT(b, (int64_t)v->axes[d]);
            PUT(b, ((uint64_t)(uint8_t)v->contig[d] << 8) | (uint8_t)(v->has_stride_order ? v->stride_order[d] : 0));
        }
    } else {
        PUT(b, v->is_const);
        PUT(b, v->is_const ? (uint64_t)v->value.dtype : 0);
        PUT(b, v->is_const ? scalar_bits(&v->value) : 0);
    }
}

static void put_expr(words *b, const cf_expr_node *e)
{
    int i;
    PUT(b, ((uint64_t)(uint32_t)e->op << 16) | ((uint64_t)(uint8_t)e->nin << 8) | (uint8_t)e->nout);
    for (i = 0; i < e->nin; i++)
        PUT(b, (int64_t)e->in[i]);
    for (i = 0; i < e->nout; i++)
        PUT(b, (int64_t)e->out[i]);
    PUT(b, ((uint64_t)(uint32_t)e->attrs.dtype << 8) | e->attrs.keepdim);
    PUT(b, e->attrs.correction);
    PUT(b, (int64_t)e->attrs.nints);
    for (i = 0; i < e->attrs.nints; i++)
        PUT(b, e->attrs.ints[i]);
}

/* The words of f in one block (an upper bound is counted first). */
static cf_status fingerprint(const cf_fusion *f, words *b, const char *op)
{
    size_t cap = 5 + (size_t)f->nvals * (3 + 2 * CF_MAX_DIMS) + (size_t)f->niters + (size_t)f->ninputs +
                 3 * (size_t)f->noutputs;
    int i;
    for (i = 0; i < f->nexprs; i++)
        cap += 4 + (size_t)f->exprs[i].nin + (size_t)f->exprs[i].nout + (size_t)f->exprs[i].attrs.nints;
    b->n = 0;
    if (!(b->w = cf_malloc(cap * sizeof *b->w)))
        return cf_error_nomem(op);
    PUT(b, f->nvals);
    PUT(b, f->niters);
    PUT(b, f->nexprs);
    for (i = 0; i < f->nvals; i++)
        put_val(b, &f->vals[i]);
    for (i = 0; i < f->niters; i++)
        PUT(b, ((uint64_t)(uint32_t)f->iters[i].extent << 8) | f->iters[i].type);
    for (i = 0; i < f->nexprs; i++)
        put_expr(b, &f->exprs[i]);
    PUT(b, f->ninputs);
    for (i = 0; i < f->ninputs; i++)
        PUT(b, (int64_t)f->inputs[i]);
    PUT(b, f->noutputs);
    for (i = 0; i < f->noutputs; i++) {
        PUT(b, (int64_t)f->outputs[i]);
        PUT(b, (int64_t)f->omarks[i].alias_input);
        PUT(b, (int64_t)f->omarks[i].visible);
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
