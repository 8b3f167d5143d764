/* cpu/movement.c - SLICE, PAD and CAT as windows over memory.
 *
 * A movement instruction does not copy: its result is a window (engine.h),
 * a list of memory pieces, each a box of the result's index space read at
 * an offset and strides, plus a fill for indices no piece covers. A slice
 * moves a piece's offset and scales its strides, a pad shifts it and adds
 * the fill, a cat puts its inputs' pieces side by side, and a view of a
 * window permutes or broadcasts its axes; so a chain of them folds into one
 * window. Pointwise steps read a window block by block like any strided
 * operand (cf_win_gather: `in box ? piece[i - offset] : fill`), so the
 * work before the movement is stored once and the work after it runs fused
 * over the result. A window that something else reads (a reduction, a
 * reshape), or one that cannot fold into its consumer's window (too many
 * pieces, two different fills), is computed into memory by a SEG_MOVE
 * segment of its own.
 */
#include <string.h>

#include "cfuser/alloc.h"
#include "cpu/engine.h"
#include "move.h"

#define BOX_ALL (INT64_MAX / 4)

int cf_win_count(const cf_program *p)
{
    int n = 0, views = 0;
    for (int i = 0; i < p->ninstrs; i++) {
        if (cf_move_op(p->instrs[i].op))
            n++;
        else if (p->instrs[i].op == CF_OP_VIEW)
            views++;
    }
    return n ? n + views : 0;
}

static cf_window *win_of(const cf_cpu_plan *pl, int s)
{
    return pl->si[s].win ? &pl->wins[pl->si[s].win - 1] : NULL;
}

int cf_win_virtual(const cf_cpu_plan *pl, int s)
{
    const cf_window *w = win_of(pl, s);
    return w && !w->mat;
}

static int tensor_inputs(const cf_prog_instr *ins) { return ins->op == CF_OP_CAT ? ins->nin : 1; }

static int is_scalar(const cf_cpu_plan *pl, int s)
{
    int r = pl->p->slots[s].role;
    return r == CF_SLOT_CONST || r == CF_SLOT_SCALAR;
}

void cf_win_plan(cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    int nw = 0;
    if (!pl->nwins)
        return;
    for (int i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *ins = &p->instrs[i];
        int t = ins->out[0], nt;
        cf_window *w;
        if (!cf_move_op(ins->op) && !(ins->op == CF_OP_VIEW && cf_win_virtual(pl, ins->in[0]))) {
            /* anything but a pointwise step reads memory */
            if (!cf_op_is_pointwise(ins->op))
                for (int j = 0; j < ins->nin; j++)
                    if (!is_scalar(pl, ins->in[j]) && cf_win_virtual(pl, ins->in[j]))
                        win_of(pl, ins->in[j])->mat = 1;
            continue;
        }
        w = &pl->wins[nw++];
        memset(w, 0, sizeof *w);
        w->instr = i;
        w->dtype = p->slots[t].dtype;
        w->fill = ins->op == CF_OP_PAD ? ins->in[3] : -1;
        nt = tensor_inputs(ins);
        for (int j = 0; j < nt; j++) {
            int s = ins->in[j], rest = nt - j - 1;
            cf_window *in = cf_win_virtual(pl, s) ? win_of(pl, s) : NULL;
            if (in && w->np + in->np + rest <= CF_WIN_PIECES &&
                (in->fill < 0 || w->fill < 0 || in->fill == w->fill)) {
                if (in->fill >= 0)
                    w->fill = in->fill;
                w->inherit[j] = 1;
                for (int k = 0; k < in->np; k++) w->p[w->np++] = in->p[k];
                continue;
            }
            if (in)
                in->mat = 1;
            w->p[w->np].slot = s;
            w->p[w->np].dtype = p->slots[s].dtype;
            w->np++;
        }
        pl->si[t].win = (int16_t)nw;
        if (p->slots[t].role != CF_SLOT_TEMP) { /* an output: computed into it */
            w->mat = 1;
            continue;
        }
        pl->si[t].base = t;
        pl->si[t].temp = 1;
        /* in memory (when it is computed there) it is contiguous */
        int64_t st = 1;
        for (int d = p->slots[t].ndim - 1; d >= 0; d--) {
            pl->si[t].strides[d] = st;
            st *= pl->vals[t].shape[d] > 0 ? pl->vals[t].shape[d] : 1;
        }
    }
}

int cf_win_use_ok(const cf_cpu_plan *pl, int cur, int s)
{
    const cf_window *w = win_of(pl, s);
    for (int k = 0; k < w->np; k++)
        if (pl->si[pl->si[w->p[k].slot].base].seg == cur)
            return 0;
    return 1;
}

cf_status cf_win_need_sources(cf_cpu_plan *pl, int s, int g)
{
    const cf_window *w = win_of(pl, s);
    for (int k = 0; k < w->np; k++) {
        int b = pl->si[w->p[k].slot].base;
        if (!pl->si[b].temp)
            continue;
        if (pl->si[b].seg < 0 || pl->si[b].seg >= g)
            return cf_error_set(CF_ERR_RUNTIME, "cpu_execute", "a window reads temporary slot %d before it is computed", b);
        pl->si[b].mat = 1;
    }
    return CF_OK;
}

/* ceil(a / k) for k > 0 */
static int64_t cdiv(int64_t a, int64_t k) { return a >= 0 ? (a + k - 1) / k : -((-a) / k); }

static void clip(cf_piece *q, int d, int64_t n)
{
    if (q->lo[d] < 0)
        q->lo[d] = 0;
    if (q->hi[d] > n)
        q->hi[d] = n;
    if (q->hi[d] < q->lo[d])
        q->hi[d] = q->lo[d];
}

/* Piece q (over input slot s's index space) moved to the index space of
 * instruction ins's output t; 0 when it covers nothing there. */
static int move_piece(const cf_cpu_plan *pl, const cf_prog_instr *ins, int j, cf_piece *q)
{
    const cf_slot_value *vals = pl->vals;
    int s = ins->in[j], t = ins->out[0], d = ins->dim;
    int rt = pl->p->slots[t].ndim, rs = pl->p->slots[s].ndim;
    const int64_t *osh = vals[t].shape;
    if (ins->op == CF_OP_VIEW) {
        cf_piece v = *q;
        uint32_t used = 0;
        for (int a = 0; a < rt; a++) {
            int m = ins->map[a];
            if (m < 0) {
                v.strides[a] = 0, v.lo[a] = 0, v.hi[a] = BOX_ALL;
                continue;
            }
            used |= 1u << m;
            if (vals[s].shape[m] == 1 && osh[a] != 1) { /* expanded */
                int in = q->lo[m] <= 0 && 0 < q->hi[m];
                v.strides[a] = 0, v.lo[a] = 0, v.hi[a] = in ? BOX_ALL : 0;
            } else {
                v.strides[a] = q->strides[m], v.lo[a] = q->lo[m], v.hi[a] = q->hi[m];
            }
        }
        for (int m = 0; m < rs; m++) /* dropped axes (size 1) read index 0 */
            if (!(used & (1u << m)) && !(q->lo[m] <= 0 && 0 < q->hi[m]))
                return 0;
        *q = v;
    } else if (ins->op == CF_OP_SLICE) {
        int64_t f = cf_move_first(ins, vals), k = ins->step;
        q->off += f * q->strides[d];
        q->strides[d] *= k;
        q->lo[d] = cdiv(q->lo[d] - f, k);
        q->hi[d] = cdiv(q->hi[d] - f, k);
    } else {
        /* PAD: output i reads input i - lo; CAT: input j starts at its offset */
        int64_t sh = ins->op == CF_OP_PAD ? -cf_move_first(ins, vals) : cf_move_cat_offset(ins, vals, j);
        q->off -= sh * q->strides[d];
        q->lo[d] += sh;
        q->hi[d] += sh;
    }
    for (int a = 0; a < rt; a++) {
        clip(q, a, osh[a]);
        if (q->hi[a] <= q->lo[a])
            return 0;
    }
    return 1;
}

void cf_win_bind(cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    if (!pl->wins)
        return;
    for (int i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *ins = &p->instrs[i];
        int t = ins->out[0], nt = tensor_inputs(ins), np = 0;
        cf_window *w = win_of(pl, t);
        cf_piece ps[CF_WIN_PIECES];
        if (!w || w->instr != i)
            continue;
        for (int j = 0; j < nt; j++) {
            int s = ins->in[j];
            if (w->inherit[j]) {
                const cf_window *in = win_of(pl, s);
                for (int k = 0; k < in->np; k++) {
                    ps[np] = in->p[k];
                    np += move_piece(pl, ins, j, &ps[np]);
                }
                continue;
            }
            cf_piece *q = &ps[np];
            memset(q, 0, sizeof *q);
            q->slot = s;
            q->dtype = p->slots[s].dtype;
            q->data = pl->si[s].data;
            for (int d = 0; d < p->slots[s].ndim; d++) {
                q->strides[d] = pl->si[s].strides[d];
                q->hi[d] = pl->vals[s].shape[d];
            }
            np += move_piece(pl, ins, j, q);
        }
        memcpy(w->p, ps, sizeof(cf_piece) * (size_t)np);
        w->np = np;
        w->nd = p->slots[t].ndim;
        memcpy(w->shape, pl->vals[t].shape, sizeof w->shape);
        if (w->fill >= 0)
            w->fillv = pl->vals[w->fill].scalar;
    }
}

/* Elements [c0, c0 + len) along the last axis at outer coordinates wc
 * (fillbuf: one fill value in cdt's representation, or NULL). */
static void gather_run(const cf_window *w, const int64_t *wc, int64_t c0, int64_t len, cf_dtype cdt,
                       const void *fillv, char *o)
{
    int L = w->nd - 1, rsz = cf_rep_size(cf_rep_of(cdt));
    int64_t covered = 0;
    size_t esz = cf_dtype_size(w->dtype);
    for (int pass = 0; pass < 2; pass++) {
        for (int k = 0; k < w->np; k++) {
            const cf_piece *q = &w->p[k];
            int64_t a, b, at = q->off;
            int d;
            for (d = 0; d < L; d++) {
                if (wc[d] < q->lo[d] || wc[d] >= q->hi[d])
                    break;
                at += wc[d] * q->strides[d];
            }
            if (d < L)
                continue;
            a = c0 > q->lo[L] ? c0 : q->lo[L];
            b = c0 + len < q->hi[L] ? c0 + len : q->hi[L];
            if (a >= b)
                continue;
            if (pass == 0)
                covered += b - a;
            else
                cf_cvt_load(q->dtype, q->data + (at + a * q->strides[L]) * (int64_t)esz, q->strides[L], b - a, cdt,
                            o + (a - c0) * rsz);
        }
        if (pass == 0 && covered < len) {
            if (fillv) {
                memcpy(o, fillv, (size_t)rsz);
                cf_splat(o, rsz, len);
            } else {
                memset(o, 0, (size_t)(len * rsz));
            }
        }
    }
}

void cf_win_gather(const cf_window *w, int nd, const int64_t *ish, int64_t start, int64_t n, cf_dtype cdt, void *out)
{
    int rsz = cf_rep_size(cf_rep_of(cdt)), L = nd - 1;
    int64_t fbuf[2], c[CF_MAX_DIMS], wc[CF_MAX_DIMS];
    const void *fillv = NULL;
    char *o = out;
    if (n <= 0)
        return;
    if (w->fill >= 0) {
        int64_t held[2];
        cf_fill_scalar(&w->fillv, w->dtype, 1, held);
        cf_cvt_rep(w->dtype, held, 1, cdt, fbuf);
        fillv = fbuf;
    }
    if (w->nd == 0 || nd == 0 || w->nd != nd) { /* one value for every index */
        int64_t none[CF_MAX_DIMS] = {0};
        cf_window one = *w;
        one.nd = 1; /* a run of one element along a dummy axis */
        for (int k = 0; k < one.np; k++) one.p[k].lo[0] = 0, one.p[k].hi[0] = 1, one.p[k].strides[0] = 0;
        gather_run(&one, none, 0, 1, cdt, fillv, o);
        cf_splat(o, rsz, n);
        return;
    }
    for (int d = nd - 1; d >= 0; d--) {
        c[d] = ish[d] > 0 ? start % ish[d] : 0;
        start = ish[d] > 0 ? start / ish[d] : 0;
    }
    while (n > 0) {
        int64_t len = ish[L] - c[L] < n ? ish[L] - c[L] : n;
        for (int d = 0; d < L; d++) wc[d] = w->shape[d] == 1 ? 0 : c[d];
        if (w->shape[L] == 1 && ish[L] != 1) {
            gather_run(w, wc, 0, 1, cdt, fillv, o);
            cf_splat(o, rsz, len);
        } else {
            gather_run(w, wc, c[L], len, cdt, fillv, o);
        }
        o += len * rsz;
        n -= len;
        c[L] += len;
        for (int d = L; d > 0 && c[d] >= ish[d]; d--) {
            c[d] = 0;
            c[d - 1]++;
        }
    }
}

typedef struct move_ctx {
    const cf_window *w;
    cf_ndview dst;
    int64_t numel;
} move_ctx;

static void move_task(void *vctx, int tid, int64_t begin, int64_t end)
{
    const move_ctx *c = vctx;
    int64_t buf[CF_CPU_BLOCK];
    (void)tid;
    for (int64_t it = begin; it < end; it++) {
        int64_t s = it * CF_CPU_BLOCK;
        int64_t n = c->numel - s < CF_CPU_BLOCK ? c->numel - s : CF_CPU_BLOCK;
        cf_win_gather(c->w, c->w->nd, c->w->shape, s, n, c->w->dtype, buf);
        cf_nd_scatter(&c->dst, s, n, c->w->dtype, buf);
    }
}

cf_status cf_win_run(const cf_cpu_plan *pl, const cf_seg *sg)
{
    const cf_prog_instr *ins = &pl->p->instrs[sg->first_instr];
    int t = ins->out[0];
    move_ctx c;
    int64_t items;
    c.w = win_of(pl, t);
    c.numel = 1;
    for (int d = 0; d < c.w->nd; d++) c.numel *= c.w->shape[d];
    cf_ndview_make(&c.dst, pl->si[t].data, c.w->dtype, c.w->nd, c.w->shape, pl->si[t].strides);
    items = (c.numel + CF_CPU_BLOCK - 1) / CF_CPU_BLOCK;
    cf_parallel(cf_cpu_pick_threads(sg->nthreads, items, c.numel), items, move_task, &c);
    return CF_OK;
}
