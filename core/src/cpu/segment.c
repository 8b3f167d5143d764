/* cpu/segment.c - running a fused segment block by block or row by row.
 *
 * A thread's scratch holds five block buffers (four gathered inputs and one
 * output staging area) followed by the segment's virtual temporaries. An
 * input that is dense and already in the compute type is read in place; an
 * output that is dense and in its storage type is written in place.
 */
#include <string.h>

#include "cpu/engine.h"

typedef struct seg_ctx {
    const cf_cpu_plan *pl;
    const cf_seg *sg;
    char *scratch;
} seg_ctx;

static const void *load(const cf_opnd *o, cf_dtype cdt, char *scr, void *gbuf,
                        int64_t start, int64_t n)
{
    switch (o->kind) {
    case OPND_SCALAR:
        /* Filled once per thread when the segment starts. */
        return scr + o->off;
    case OPND_MEM:
        if (o->in_place)
            return o->v.data + start * (int64_t)cf_dtype_size(o->dtype);
        if (o->run_ok) {
            /* A broadcast or strided operand whose block lies inside one
             * dense run of its innermost axis (a bias row): no copy. */
            int64_t w = o->v.shape[o->v.ndim - 1];
            if (start % w + n <= w)
                return cf_nd_addr(&o->v, start);
        }
        cf_nd_gather(&o->v, start, n, cdt, gbuf);
        return gbuf;
    case OPND_VFULL:
        if (!o->need_cvt)
            return scr + o->off;
        cf_cvt_rep(o->dtype, scr + o->off, n, cdt, gbuf);
        return gbuf;
    default:
        if (n <= 0)
            return gbuf;
        cf_cvt_rep(o->dtype, scr + o->off, 1, cdt, gbuf);
        cf_splat(gbuf, cf_rep_size(cf_rep_of(cdt)), n);
        return gbuf;
    }
}

/* Where the result of a step goes before (possibly) being stored. */
static void *out_place(const cf_opnd *o, cf_dtype rdt, char *scr, void *obuf, int64_t start)
{
    if (o->kind == OPND_VFULL || o->kind == OPND_VROW)
        return cf_rep_of(o->dtype) == cf_rep_of(rdt) ? scr + o->off : obuf;
    if (o->in_place)
        return o->v.data + start * (int64_t)cf_dtype_size(o->dtype);
    return obuf;
}

/* Finish a result computed at dst (representation of rdt). */
static void out_finish(const cf_opnd *o, cf_dtype rdt, char *scr, void *dst, int64_t start,
                       int64_t n)
{
    if (o->kind == OPND_VFULL || o->kind == OPND_VROW) {
        void *slot = scr + o->off;
        /* Int32 results wrap, Bool ones become 0/1, Half ones round:
         * exactly what storing and reloading the slot would give. */
        if (dst != slot)
            cf_cvt_rep(rdt, dst, n, o->dtype, slot);
        else
            cf_normalize(o->dtype, slot, n);
        return;
    }
    if (!o->in_place)
        cf_nd_scatter(&o->v, start, n, rdt, dst);
}

static void run_pw(const cf_kernels *k, const cf_step *st, const cf_seg *sg, char *scr,
                   int64_t start, int64_t n)
{
    const void *in[4] = {0};
    void *obuf = scr + 4 * sg->gsz, *dst;
    for (int j = 0; j < st->nin; j++)
        in[j] = load(&st->in[j], st->cdt, scr, scr + (size_t)j * sg->gsz, start, n);
    dst = out_place(&st->out[0], st->rdt, scr, obuf, start);
    if (st->op == CF_OP_CAST || st->op == CF_OP_SET || st->op == CF_OP_FULL) {
        if (dst != in[0])
            memcpy(dst, in[0], (size_t)n * (size_t)cf_rep_size(cf_rep_of(st->cdt)));
    } else {
        /* Checked when planning: the op exists for this type. */
        (void)k->pw[cf_rep_of(st->cdt)](st->op, n, dst, in);
    }
    out_finish(&st->out[0], st->rdt, scr, dst, start, n);
}

static void store_value(const cf_opnd *o, cf_dtype cdt, char *scr, const void *val, int64_t row)
{
    if (o->kind == OPND_MEM)
        cf_nd_scatter(&o->v, row, 1, cdt, val);
    else
        cf_cvt_rep(cdt, val, 1, o->dtype, scr + o->off);
}

static void run_red(const cf_kernels *k, const cf_step *st, const cf_seg *sg, char *scr,
                    int64_t row)
{
    int64_t len = sg->len;
    cf_rep r = cf_rep_of(st->cdt);
    const void *x = load(&st->in[0], st->cdt, scr, scr, row * len, len);
    int64_t val[2];
    if (st->op == CF_OP_VAR || st->op == CF_OP_VAR_MEAN) {
        cf_acc sum = cf_red_identity(CF_OP_SUM, st->cdt, st->cdt);
        double mean, sq = 0, var;
        if (len > 0)
            k->rowred[r](CF_OP_SUM, len, x, &sum);
        mean = (r == CF_REP_I64 ? (double)sum.i : sum.d) / (double)len;
        if (len > 0)
            k->rowsq[r](len, x, mean, &sq);
        var = cf_var_finish(sq, len, st->ins->correction);
        cf_cvt_load(CF_DTYPE_DOUBLE, &var, 1, 1, st->cdt, &val[0]);
        store_value(&st->out[0], st->cdt, scr, &val[0], row);
        if (st->nout > 1) {
            cf_cvt_load(CF_DTYPE_DOUBLE, &mean, 1, 1, st->cdt, &val[1]);
            store_value(&st->out[1], st->cdt, scr, &val[1], row);
        }
        return;
    }
    cf_acc acc = cf_red_identity(st->op, st->cdt, st->out[0].dtype);
    if (len > 0)
        k->rowred[r](st->op, len, x, &acc);
    cf_acc_to_rep(acc, r, &val[0]);
    store_value(&st->out[0], st->cdt, scr, &val[0], row);
}

static void seg_task(void *vctx, int tid, int64_t begin, int64_t end)
{
    const seg_ctx *c = vctx;
    const cf_seg *sg = c->sg;
    const cf_kernels *k = c->pl->k;
    const cf_step *steps = c->pl->steps + sg->first_step;
    char *scr = c->scratch + (size_t)tid * sg->scratch;
    for (int s = 0; s < sg->nsteps; s++)
        for (int j = 0; j < steps[s].nin; j++)
            if (steps[s].in[j].kind == OPND_SCALAR)
                cf_fill_scalar(&steps[s].in[j].sc, steps[s].cdt, sg->len, scr + steps[s].in[j].off);
    for (int64_t it = begin; it < end; it++) {
        if (sg->kind == SEG_PW) {
            int64_t start = it * sg->len;
            int64_t n = sg->numel - start < sg->len ? sg->numel - start : sg->len;
            for (int s = 0; s < sg->nsteps; s++) run_pw(k, &steps[s], sg, scr, start, n);
            continue;
        }
        for (int s = 0; s < sg->nsteps; s++) {
            const cf_step *st = &steps[s];
            if (cf_op_is_reduction(st->op))
                run_red(k, st, sg, scr, it);
            else if (st->row)
                run_pw(k, st, sg, scr, it, 1);
            else
                run_pw(k, st, sg, scr, it * sg->len, sg->len);
        }
    }
}

void cf_cpu_seg_run(const cf_cpu_plan *pl, const cf_seg *sg, char *scratch)
{
    seg_ctx c = {pl, sg, scratch};
    cf_parallel(sg->nthreads, sg->nitems, seg_task, &c);
}
