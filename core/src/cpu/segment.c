/* cpu/segment.c - running a fused segment block by block or row by row.
 *
 * A thread's scratch holds five block buffers (four gathered inputs and one
 * output staging area) followed by the segment's virtual temporaries. An
 * input that is dense and already in the compute type is read in place; an
 * output that is dense and in its storage type is written in place.
 *
 * A ROW segment runs each phase of its steps (see engine.h) over a row in
 * pieces: `pos` is the piece's first element within the row, and a virtual
 * temporary of the full row keeps each piece at its place in the row
 * buffer, so a later phase (or a reduction that needs the whole row) finds
 * the row complete.
 */
#include <string.h>

#include "cpu/engine.h"

typedef struct seg_ctx {
    const cf_cpu_plan *pl;
    const cf_seg *sg;
    char *scratch;
} seg_ctx;

/* Element pos of a virtual value's place in scratch. */
static char *slot_at(const cf_opnd *o, char *scr, int64_t pos)
{
    if (o->piece)
        return scr + o->off;
    return scr + o->off + (size_t)pos * (size_t)cf_rep_size(cf_rep_of(o->dtype));
}

static const void *load(const cf_opnd *o, cf_dtype cdt, char *scr, void *gbuf,
                        int64_t start, int64_t pos, int64_t n)
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
    case OPND_WIN:
        cf_win_gather((const cf_window *)(const void *)o->v.data, o->v.ndim, o->v.shape, start, n, cdt, gbuf);
        return gbuf;
    case OPND_VFULL: {
        const char *at = slot_at(o, scr, pos);
        if (!o->need_cvt)
            return at;
        cf_cvt_rep(o->dtype, at, n, cdt, gbuf);
        return gbuf;
    }
    default:
        if (n <= 0)
            return gbuf;
        if (o->boff) {
            /* The row's value, splat over a piece when the row's phase
             * starts and read by every piece after it. */
            char *b = scr + o->boff;
            if (pos == 0) {
                cf_cvt_rep(o->dtype, scr + o->off, 1, cdt, b);
                cf_splat(b, cf_rep_size(cf_rep_of(cdt)), n);
            }
            return b;
        }
        cf_cvt_rep(o->dtype, scr + o->off, 1, cdt, gbuf);
        cf_splat(gbuf, cf_rep_size(cf_rep_of(cdt)), n);
        return gbuf;
    }
}

/* Where the result of a step goes before (possibly) being stored. */
static void *out_place(const cf_opnd *o, cf_dtype rdt, char *scr, void *obuf, int64_t start,
                       int64_t pos)
{
    if (o->kind == OPND_VFULL || o->kind == OPND_VROW)
        return cf_rep_of(o->dtype) == cf_rep_of(rdt) ? slot_at(o, scr, pos) : obuf;
    if (o->in_place)
        return o->v.data + start * (int64_t)cf_dtype_size(o->dtype);
    return obuf;
}

/* Finish a result computed at dst (representation of rdt). */
static void out_finish(const cf_opnd *o, cf_dtype rdt, char *scr, void *dst, int64_t start,
                       int64_t pos, int64_t n)
{
    if (o->kind == OPND_VFULL || o->kind == OPND_VROW) {
        void *slot = slot_at(o, scr, pos);
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

/* A GATHER step: the index block in the second block buffer, the source
 * elements staged in the first (indexing.c). */
static void run_gather(const cf_step *st, const cf_seg *sg, char *scr, int64_t start, int64_t pos,
                       int64_t n)
{
    /* One index per run (grow) read from memory: no index block at all. */
    const int64_t *ix = st->grow && st->in[1].kind == OPND_MEM
                            ? NULL
                            : load(&st->in[1], CF_DTYPE_INT, scr, scr + sg->gsz, start, pos, n);
    void *dst = out_place(&st->out[0], st->rdt, scr, scr + 4 * sg->gsz, start, pos);
    cf_cpu_gather_block(st, start, n, ix, scr, dst, (int64_t *)(scr + sg->badoff));
    out_finish(&st->out[0], st->rdt, scr, dst, start, pos, n);
}

/* Elements [start, start + n) of the step's index space, which are
 * elements [pos, pos + n) of the current item's buffers. */
static void run_pw(const cf_kernels *k, const cf_step *st, const cf_seg *sg, char *scr,
                   int64_t start, int64_t pos, int64_t n)
{
    const void *in[4] = {0};
    void *obuf = scr + 4 * sg->gsz, *dst;
    if (st->op == CF_OP_GATHER) {
        run_gather(st, sg, scr, start, pos, n);
        return;
    }
    if (st->uni) {
        /* One operand is one value: the scalar-operand loop reads it from
         * a register instead of a splat block. */
        int u = st->uni - 1;
        const cf_opnd *uo = &st->in[u];
        int64_t val;
        const void *sv = scr + uo->off;
        if (uo->kind == OPND_VROW) {
            cf_cvt_rep(uo->dtype, scr + uo->off, 1, st->cdt, &val);
            sv = &val;
        }
        in[0] = load(&st->in[1 - u], st->cdt, scr, scr, start, pos, n);
        dst = out_place(&st->out[0], st->rdt, scr, obuf, start, pos);
        if (k->pws[cf_rep_of(st->cdt)](st->op, n, dst, in[0], sv, u == 0) == CF_OK) {
            out_finish(&st->out[0], st->rdt, scr, dst, start, pos, n);
            return;
        }
    }
    for (int j = 0; j < st->nin; j++)
        in[j] = load(&st->in[j], st->cdt, scr, scr + (size_t)j * sg->gsz, start, pos, n);
    dst = out_place(&st->out[0], st->rdt, scr, obuf, start, pos);
    if (st->op == CF_OP_CAST || st->op == CF_OP_SET || st->op == CF_OP_FULL) {
        if (dst != in[0])
            memcpy(dst, in[0], (size_t)n * (size_t)cf_rep_size(cf_rep_of(st->cdt)));
    } else {
        /* Checked when planning: the op exists for this type. */
        (void)k->pw[cf_rep_of(st->cdt)](st->op, n, dst, in);
    }
    out_finish(&st->out[0], st->rdt, scr, dst, start, pos, n);
}

static void store_value(const cf_opnd *o, cf_dtype cdt, char *scr, const void *val, int64_t row)
{
    if (o->kind == OPND_MEM)
        cf_nd_scatter(&o->v, row, 1, cdt, val);
    else
        cf_cvt_rep(cdt, val, 1, o->dtype, scr + o->off);
}

/* A reduction that needs the whole row at once (var, var_mean). */
static void run_red(const cf_kernels *k, const cf_step *st, const cf_seg *sg, char *scr,
                    int64_t row)
{
    int64_t len = sg->len;
    cf_rep r = cf_rep_of(st->cdt);
    const void *x = load(&st->in[0], st->cdt, scr, scr, row * len, 0, len);
    int64_t val[2];
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
}

/* Ask for elements [at, at + n) of the dense inputs that steps [0, e)
 * read in place, into L2: the next row's, while a later phase of this row
 * computes from cache and leaves the memory idle. */
static void prefetch_inputs(const cf_step *steps, int e, int64_t at, int64_t n)
{
    for (int s = 0; s < e; s++)
        for (int j = 0; j < steps[s].nin; j++) {
            const cf_opnd *o = &steps[s].in[j];
            if (o->kind != OPND_MEM || !o->in_place || steps[s].row)
                continue;
            size_t es = cf_dtype_size(o->dtype);
            const char *p = o->v.data + at * (int64_t)es, *end = p + n * (int64_t)es;
            for (; p < end; p += 64) __builtin_prefetch(p, 0, 2);
        }
}

/* Ask for elements [at, at + n) of the dense outputs that steps [b, e)
 * write in place, for writing: this row's, which a later phase stores. */
static void prefetch_outputs(const cf_step *steps, int b, int e, int64_t at, int64_t n)
{
    for (int s = b; s < e; s++) {
        const cf_opnd *o = &steps[s].out[0];
        if (o->kind != OPND_MEM || !o->in_place || steps[s].row || steps[s].red)
            continue;
        size_t es = cf_dtype_size(o->dtype);
        const char *p = o->v.data + at * (int64_t)es, *end = p + n * (int64_t)es;
        for (; p < end; p += 64) __builtin_prefetch(p, 1, 2);
    }
}

/* One phase of a ROW segment's steps, steps [s0, s1), over row `row`;
 * pf > 0: prefetch the next row's inputs of steps [0, pf) and this row's
 * outputs of the phases after this one. */
static void run_phase(const cf_kernels *k, const cf_step *steps, int s0, int s1,
                      const cf_seg *sg, char *scr, int64_t row, int pf)
{
    cf_acc *acc = (cf_acc *)(scr + sg->accoff);
    int64_t len = sg->len, pos = 0, chunk = steps[s0].pieces ? sg->chunk : len;
    for (int s = s0; s < s1; s++)
        if (steps[s].red && !steps[s].whole)
            acc[s] = cf_red_identity(steps[s].op, steps[s].cdt, steps[s].out[0].dtype);
    /* Once even for an empty row, so that its row-wise steps run. */
    do {
        int64_t n = len - pos < chunk ? len - pos : chunk;
        if (pf > 0) {
            if (row + 1 < sg->nitems)
                prefetch_inputs(steps, pf, (row + 1) * len + pos, n);
            prefetch_outputs(steps, s1, sg->nsteps, row * len + pos, n);
        }
        for (int s = s0; s < s1; s++) {
            const cf_step *st = &steps[s];
            if (st->row) {
                if (pos == 0)
                    run_pw(k, st, sg, scr, row, 0, 1);
            } else if (!st->red) {
                run_pw(k, st, sg, scr, row * len + pos, pos, n);
            } else if (!st->whole && n > 0) {
                const void *x = load(&st->in[0], st->cdt, scr, scr, row * len + pos, pos, n);
                k->rowred[cf_rep_of(st->cdt)](st->op, n, x, &acc[s]);
            }
        }
        pos += n;
    } while (pos < len);
    for (int s = s0; s < s1; s++) {
        const cf_step *st = &steps[s];
        int64_t val;
        if (!st->red)
            continue;
        if (st->whole) {
            run_red(k, st, sg, scr, row);
            continue;
        }
        cf_acc_to_rep(acc[s], cf_rep_of(st->cdt), &val);
        store_value(&st->out[0], st->cdt, scr, &val, row);
    }
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
                cf_fill_scalar(&steps[s].in[j].sc, steps[s].cdt,
                               sg->kind == SEG_ROW && !steps[s].whole ? sg->chunk : sg->len,
                               scr + steps[s].in[j].off);
    for (int64_t it = begin; it < end; it++) {
        if (sg->kind == SEG_PW) {
            int64_t start = it * sg->len;
            int64_t n = sg->numel - start < sg->len ? sg->numel - start : sg->len;
            for (int s = 0; s < sg->nsteps; s++) run_pw(k, &steps[s], sg, scr, start, 0, n);
            continue;
        }
        for (int s0 = 0, s1, e0 = 0; s0 < sg->nsteps; s0 = s1) {
            for (s1 = s0 + 1; s1 < sg->nsteps && !steps[s1].brk; s1++)
                ;
            /* The second phase fetches what the first will read next. */
            run_phase(k, steps, s0, s1, sg, scr, it, s0 > 0 && s0 == e0 ? e0 : 0);
            if (s0 == 0)
                e0 = s1;
        }
    }
}

cf_status cf_cpu_seg_run(const cf_cpu_plan *pl, const cf_seg *sg, char *scratch)
{
    seg_ctx c = {pl, sg, scratch};
    int nt = sg->nthreads > 1 ? sg->nthreads : 1;
    /* Each thread keeps its own record of an index out of range: set
     * before the run (a thread may run several ranges), read once after. */
    for (int t = 0; sg->badoff && t < nt; t++)
        memset(scratch + (size_t)t * sg->scratch + sg->badoff, 0, 2 * sizeof(int64_t));
    cf_parallel(sg->nthreads, sg->nitems, seg_task, &c);
    if (!sg->badoff)
        return CF_OK;
    for (int t = 0; t < nt; t++) {
        const int64_t *bad = (const int64_t *)(scratch + (size_t)t * sg->scratch + sg->badoff);
        if (bad[0] == 0)
            continue;
        for (int s = 0; s < sg->nsteps; s++)
            if (pl->steps[sg->first_step + s].op == CF_OP_GATHER)
                return cf_cpu_gather_error(&pl->steps[sg->first_step + s], bad[1]);
    }
    return CF_OK;
}
