/* cpu/plan.c - from a program and its bound slots to segments and steps.
 *
 * Four passes: resolve views (every slot gets the slot owning its storage
 * and strides relative to it), cut the instructions into segments, decide
 * which temporaries need memory, then lay out each segment's steps and
 * per-thread scratch. The program stays read-only so calls on one program
 * may run at once; the finished plan depends only on shapes and strides, so
 * plancache.c keeps it for later calls, which only rebind memory.
 */
#include <string.h>
#include <sys/mman.h>

#include "cfuser/alloc.h"
#include "cpu/engine.h"

#define ALIGN64(x) (((x) + 63) & ~(size_t)63)

static const int64_t *shape_of(const cf_cpu_plan *pl, int s) { return pl->vals[s].shape; }
static int ndim_of(const cf_cpu_plan *pl, int s) { return pl->p->slots[s].ndim; }
static cf_dtype dtype_of(const cf_cpu_plan *pl, int s) { return pl->p->slots[s].dtype; }
static int role_of(const cf_cpu_plan *pl, int s) { return pl->p->slots[s].role; }

static int is_scalar_slot(const cf_cpu_plan *pl, int s)
{
    int r = role_of(pl, s);
    return r == CF_SLOT_CONST || r == CF_SLOT_SCALAR;
}

static int64_t numel(int nd, const int64_t *sh)
{
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= sh[d];
    return n;
}

static void contig(int nd, const int64_t *sh, int64_t *st)
{
    int64_t s = 1;
    for (int d = nd - 1; d >= 0; d--) {
        st[d] = s;
        s *= sh[d] > 0 ? sh[d] : 1;
    }
}

static int same_shape(int nd, const int64_t *a, const int64_t *b)
{
    for (int d = 0; d < nd; d++)
        if (a[d] != b[d])
            return 0;
    return 1;
}

/* The row shape of a domain: axes from k on set to 1. */
static void row_shape(const cf_seg *sg, int64_t *out)
{
    for (int d = 0; d < sg->ndim; d++) out[d] = d < sg->rowk ? sg->shape[d] : 1;
}

/* Strides of slot s as read over an index space of rank nd: 0 along its
 * size-1 (broadcast) axes; rank-0 slots broadcast everywhere. */
static void use_strides(const cf_cpu_plan *pl, int s, int nd, int64_t *us)
{
    const int64_t *sh = shape_of(pl, s);
    if (ndim_of(pl, s) != nd) {
        for (int d = 0; d < nd; d++) us[d] = 0;
        return;
    }
    for (int d = 0; d < nd; d++) us[d] = sh[d] == 1 ? 0 : pl->si[s].strides[d];
}

/* First axis of the row when `axes` reduces only innermost axes (axes of
 * size 1 do not count); -1 otherwise. */
static int suffix_k(int nd, const int64_t *sh, uint32_t axes)
{
    int last_kept = -1, first_red = nd;
    for (int d = 0; d < nd; d++) {
        if (sh[d] == 1)
            continue;
        if (axes & (1u << d)) {
            if (first_red == nd)
                first_red = d;
        } else {
            last_kept = d;
        }
    }
    if (first_red < last_kept)
        return -1;
    return last_kept + 1;
}

/* May slot s be read by an instruction of segment `cur` with index space
 * `osh` (row: one value per row)? Temporaries of the segment itself must be
 * read exactly as they are laid out in scratch. */
static int use_ok(const cf_cpu_plan *pl, int cur, const cf_seg *sg, int s, int row)
{
    int b, nd = sg->ndim;
    int64_t us[CF_MAX_DIMS], cs[CF_MAX_DIMS], rs[CF_MAX_DIMS];
    const int64_t *osh;
    if (is_scalar_slot(pl, s))
        return 1;
    if (cf_win_virtual(pl, s))
        return cf_win_use_ok(pl, cur, s);
    b = pl->si[s].base;
    if (!pl->si[b].temp || pl->si[b].seg != cur)
        return 1;
    if (ndim_of(pl, s) != nd || ndim_of(pl, b) != nd)
        return 0;
    row_shape(sg, rs);
    osh = row ? rs : sg->shape;
    use_strides(pl, s, nd, us);
    if (same_shape(nd, shape_of(pl, b), sg->shape) && (!row || sg->kind != SEG_ROW)) {
        contig(nd, sg->shape, cs);
    } else if (sg->kind == SEG_ROW && same_shape(nd, shape_of(pl, b), rs)) {
        contig(nd, rs, cs);
        for (int d = sg->rowk; d < nd; d++) cs[d] = 0;
    } else {
        return 0;
    }
    for (int d = 0; d < nd; d++)
        if (osh[d] > 1 && us[d] != cs[d])
            return 0;
    return 1;
}

cf_status cf_cpu_check_data(const cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    for (int s = 0; s < p->nslots; s++)
        if ((p->slots[s].role == CF_SLOT_INPUT || p->slots[s].role == CF_SLOT_OUTPUT) &&
            pl->vals[s].data == NULL && p->slots[s].ndim <= CF_MAX_DIMS &&
            numel(p->slots[s].ndim, pl->vals[s].shape) > 0)
            return cf_error_set(CF_ERR_RUNTIME, "cpu_execute",
                                "slot %d (an %s) has no data", s,
                                p->slots[s].role == CF_SLOT_INPUT ? "input" : "output");
    return CF_OK;
}

static cf_status check_program(const cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    for (int s = 0; s < p->nslots; s++)
        if (p->slots[s].ndim > CF_MAX_DIMS || !cf_dtype_is_supported(p->slots[s].dtype))
            return cf_error_set(CF_ERR_RUNTIME, "cpu_execute",
                                "slot %d has rank %d or dtype %d the CPU cannot run",
                                s, p->slots[s].ndim, (int)p->slots[s].dtype);
    for (int i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *ins = &p->instrs[i];
        if (ins->nin < 0 || ins->nin > 4 || ins->nout < 1 || ins->nout > 3 ||
            ins->op <= CF_OP_NONE || ins->op >= CF_OP_COUNT)
            return cf_error_set(CF_ERR_RUNTIME, "cpu_execute",
                                "instruction %d is malformed", i);
        for (int j = 0; j < ins->nin; j++)
            if (ins->in[j] < 0 || ins->in[j] >= p->nslots)
                return cf_error_set(CF_ERR_RUNTIME, "cpu_execute",
                                    "instruction %d reads slot %d of %d", i,
                                    (int)ins->in[j], p->nslots);
        for (int j = 0; j < ins->nout; j++)
            if (ins->out[j] < 0 || ins->out[j] >= p->nslots)
                return cf_error_set(CF_ERR_RUNTIME, "cpu_execute",
                                    "instruction %d writes slot %d of %d", i,
                                    (int)ins->out[j], p->nslots);
    }
    return CF_OK;
}

/* Pass 1: storage owner and strides of every slot. */
static void resolve_views(cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    for (int s = 0; s < p->nslots; s++) {
        cf_slotinfo *si = &pl->si[s];
        int role = p->slots[s].role;
        si->base = s;
        si->seg = -1;
        si->temp = role == CF_SLOT_TEMP;
        if (role == CF_SLOT_INPUT || role == CF_SLOT_OUTPUT) {
            memcpy(si->strides, pl->vals[s].strides, sizeof si->strides);
            si->data = pl->vals[s].data;
        } else {
            contig(p->slots[s].ndim, pl->vals[s].shape, si->strides);
        }
    }
    for (int i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *ins = &p->instrs[i];
        int s = ins->in[0], t = ins->out[0];
        if (ins->op != CF_OP_VIEW || role_of(pl, t) != CF_SLOT_TEMP)
            continue;
        pl->si[t].base = pl->si[s].base;
        pl->si[t].temp = 0;
        for (int d = 0; d < ndim_of(pl, t); d++) {
            int m = ins->map[d];
            int ok = m >= 0 && m < ndim_of(pl, s) && shape_of(pl, s)[m] != 1;
            pl->si[t].strides[d] = ok ? pl->si[s].strides[m] : 0;
        }
    }
}

static cf_seg *new_seg(cf_cpu_plan *pl, int kind, int i, int nd, const int64_t *sh)
{
    cf_seg *sg = &pl->segs[pl->nsegs++];
    memset(sg, 0, sizeof *sg);
    sg->kind = kind;
    sg->first_instr = sg->last_instr = i;
    sg->ndim = nd;
    memcpy(sg->shape, sh, (size_t)nd * sizeof(int64_t));
    sg->rowk = nd;
    return sg;
}

static int pw_joins(const cf_cpu_plan *pl, int cur, const cf_prog_instr *ins)
{
    const cf_seg *sg = &pl->segs[cur];
    int t = ins->out[0], row = 0, nd = sg->ndim;
    int64_t rs[CF_MAX_DIMS];
    if (ndim_of(pl, t) != nd)
        return 0;
    /* A GATHER reads its source anywhere: never a value of this segment. */
    if (ins->op == CF_OP_GATHER && pl->si[pl->si[ins->in[0]].base].seg == cur)
        return 0;
    if (!same_shape(nd, shape_of(pl, t), sg->shape)) {
        if (ins->op == CF_OP_GATHER)
            return 0;
        if (sg->kind != SEG_ROW)
            return 0;
        row_shape(sg, rs);
        if (!same_shape(nd, shape_of(pl, t), rs))
            return 0;
        row = 1;
    }
    for (int j = 0; j < ins->nin; j++)
        if (!use_ok(pl, cur, sg, ins->in[j], row))
            return 0;
    return 1;
}

static int64_t row_len(int nd, const int64_t *sh, int k)
{
    int64_t l = 1;
    for (int d = k; d < nd; d++) l *= sh[d];
    return l;
}

/* Pass 2: segments. */
static void cut_segments(cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    int cur = -1;
    for (int i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *ins = &p->instrs[i];
        int t = ins->out[0], s = ins->in[0];
        cf_seg *sg;
        pl->seg_of[i] = -1;
        if (pl->si[t].win && pl->wins[pl->si[t].win - 1].instr == i) {
            if (cf_win_virtual(pl, t))
                continue; /* read in place by its consumers */
            sg = new_seg(pl, SEG_MOVE, i, ndim_of(pl, t), shape_of(pl, t));
            cur = -1;
        } else if (ins->op == CF_OP_VIEW && role_of(pl, t) == CF_SLOT_TEMP)
            continue;
        else if (ins->op == CF_OP_VIEW || ins->op == CF_OP_COPY || ins->op == CF_OP_IOTA ||
                 ins->op == CF_OP_SCATTER) {
            sg = new_seg(pl, ins->op == CF_OP_IOTA ? SEG_IOTA : ins->op == CF_OP_SCATTER ? SEG_SCATTER : SEG_COPY,
                         i, ndim_of(pl, t), shape_of(pl, t));
            cur = -1;
        } else if (cf_op_kind_of(ins->op) == CF_KIND_SCAN) {
            sg = new_seg(pl, SEG_SCAN, i, ndim_of(pl, s), shape_of(pl, s));
            cur = -1;
        } else if (cf_op_is_reduction(ins->op)) {
            int nd = ndim_of(pl, s);
            int k = suffix_k(nd, shape_of(pl, s), ins->axes);
            /* A row of length 0 has nothing to fuse over: the generic
             * reduction writes the identity, then the rest runs on it. */
            int64_t rl = k >= 0 ? row_len(nd, shape_of(pl, s), k) : 0;
            int fits = k >= 0 && rl > 0 && rl <= CF_CPU_ROW_MAX;
            cf_seg *c = cur >= 0 ? &pl->segs[cur] : NULL;
            if (fits && c && c->ndim == nd && same_shape(nd, c->shape, shape_of(pl, s)) &&
                (c->kind == SEG_PW || c->rowk == k)) {
                int saved = c->rowk, kind = c->kind;
                c->kind = SEG_ROW;
                c->rowk = k;
                if (use_ok(pl, cur, c, s, 0)) {
                    sg = c;
                } else {
                    c->kind = kind;
                    c->rowk = saved;
                    sg = NULL;
                }
            } else {
                sg = NULL;
            }
            if (!sg) {
                sg = new_seg(pl, fits ? SEG_ROW : SEG_REDUCE, i, nd, shape_of(pl, s));
                if (fits)
                    sg->rowk = k;
            }
            cur = fits ? (int)(sg - pl->segs) : -1;
        } else {
            if (cur >= 0 && pw_joins(pl, cur, ins)) {
                sg = &pl->segs[cur];
            } else {
                sg = new_seg(pl, SEG_PW, i, ndim_of(pl, t), shape_of(pl, t));
                cur = (int)(sg - pl->segs);
            }
        }
        sg->last_instr = i;
        pl->seg_of[i] = (int)(sg - pl->segs);
        for (int j = 0; j < ins->nout; j++) pl->si[ins->out[j]].seg = pl->seg_of[i];
    }
}

/* Pass 3: temporaries read outside the segment computing them get memory. */
static cf_status materialise(cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    size_t total = 0;
    for (int i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *ins = &p->instrs[i];
        if (pl->seg_of[i] < 0)
            continue;
        for (int j = 0; j < ins->nin; j++) {
            int s = ins->in[j], b;
            if (is_scalar_slot(pl, s))
                continue;
            if (cf_win_virtual(pl, s)) {
                cf_status rc = cf_win_need_sources(pl, s, pl->seg_of[i]);
                if (rc != CF_OK)
                    return rc;
                continue;
            }
            b = pl->si[s].base;
            if (!pl->si[b].temp)
                continue;
            if (pl->si[b].seg < 0 || pl->si[b].seg > pl->seg_of[i])
                return cf_error_set(CF_ERR_RUNTIME, "cpu_execute",
                                    "instruction %d reads temporary slot %d before it is computed",
                                    i, b);
            if (pl->si[b].seg != pl->seg_of[i])
                pl->si[b].mat = 1;
        }
    }
    /* Unfused segments write memory, never scratch. */
    for (int i = 0; i < p->ninstrs; i++) {
        int g = pl->seg_of[i];
        if (g < 0 || pl->segs[g].kind == SEG_PW || pl->segs[g].kind == SEG_ROW)
            continue;
        for (int j = 0; j < p->instrs[i].nout; j++)
            if (pl->si[p->instrs[i].out[j]].temp)
                pl->si[p->instrs[i].out[j]].mat = 1;
    }
    for (int s = 0; s < p->nslots; s++) {
        if (!pl->si[s].mat)
            continue;
        int64_t n = numel(ndim_of(pl, s), shape_of(pl, s));
        size_t sz = cf_dtype_size(dtype_of(pl, s));
        if (n < 0 || (uint64_t)n > (SIZE_MAX / 2) / sz)
            return cf_error_set(CF_ERR_OVERFLOW, "cpu_execute",
                                "temporary slot %d is too large", s);
        total += ALIGN64((size_t)n * sz);
        if (total > SIZE_MAX / 2)
            return cf_error_set(CF_ERR_OVERFLOW, "cpu_execute", "temporaries are too large");
    }
    pl->temps_size = total;
    total = 0;
    for (int s = 0; s < p->nslots; s++) {
        if (!pl->si[s].mat)
            continue;
        pl->si[s].moff = total;
        total += ALIGN64((size_t)numel(ndim_of(pl, s), shape_of(pl, s)) * cf_dtype_size(dtype_of(pl, s)));
    }
    return CF_OK;
}

/* Do values held as `held` need converting to be read as `want`? */
static int needs_cvt(cf_dtype held, cf_dtype want)
{
    if (held == want)
        return 0;
    if (want == CF_DTYPE_FLOAT)
        return !(held == CF_DTYPE_HALF || held == CF_DTYPE_BFLOAT16);
    if (want == CF_DTYPE_INT)
        return !(held == CF_DTYPE_INT32 || held == CF_DTYPE_BOOL);
    if (want == CF_DTYPE_INT32)
        return held != CF_DTYPE_BOOL;
    return 1;
}

static int is_virtual(const cf_cpu_plan *pl, int b) { return pl->si[b].temp && !pl->si[b].mat; }

static void make_in(const cf_cpu_plan *pl, cf_opnd *o, int s, cf_dtype cdt, int nd,
                    const int64_t *osh)
{
    int64_t us[CF_MAX_DIMS];
    int b;
    memset(o, 0, sizeof *o);
    o->slot = s;
    if (is_scalar_slot(pl, s)) {
        o->kind = OPND_SCALAR;
        o->sc = pl->vals[s].scalar;
        return;
    }
    b = pl->si[s].base;
    o->dtype = dtype_of(pl, s);
    if (cf_win_virtual(pl, s)) {
        o->kind = OPND_WIN;
        o->win = (int16_t)(pl->si[s].win - 1);
        o->v.ndim = nd;
        memcpy(o->v.shape, osh, (size_t)nd * sizeof(int64_t));
        return;
    }
    if (is_virtual(pl, b)) {
        o->kind = pl->si[b].vrow ? OPND_VROW : OPND_VFULL;
        o->off = pl->si[b].off;
        o->need_cvt = (uint8_t)needs_cvt(o->dtype, cdt);
        return;
    }
    o->kind = OPND_MEM;
    use_strides(pl, s, nd, us);
    cf_ndview_make(&o->v, pl->si[b].data, o->dtype, nd, osh, us);
    o->in_place = cf_ndview_dense(&o->v) && o->dtype == cdt && cf_dtype_is_native(cdt);
    o->run_ok = o->v.ndim > 0 && o->v.strides[o->v.ndim - 1] == 1 && o->dtype == cdt &&
                cf_dtype_is_native(cdt);
}

static void make_out(const cf_cpu_plan *pl, cf_opnd *o, int t, cf_dtype rdt)
{
    memset(o, 0, sizeof *o);
    o->slot = t;
    o->dtype = dtype_of(pl, t);
    if (is_virtual(pl, t)) {
        o->kind = pl->si[t].vrow ? OPND_VROW : OPND_VFULL;
        o->off = pl->si[t].off;
        return;
    }
    o->kind = OPND_MEM;
    cf_ndview_make(&o->v, pl->si[t].data, o->dtype, ndim_of(pl, t), shape_of(pl, t),
                   pl->si[t].strides);
    o->in_place = cf_ndview_dense(&o->v) && o->dtype == rdt && cf_dtype_is_native(rdt);
}

static cf_status check_kernel(const cf_cpu_plan *pl, const cf_step *st)
{
    const void *none[4] = {0};
    cf_opcode op = st->op;
    if (op == CF_OP_CAST || op == CF_OP_SET || op == CF_OP_FULL || op == CF_OP_GATHER ||
        cf_op_is_reduction(op))
        return CF_OK;
    if (!cf_op_is_pointwise(op))
        return cf_error_set(CF_ERR_RUNTIME, "cpu_execute", "op %d cannot run in a loop", (int)op);
    /* A zero-length call touches nothing and tells whether the op exists for
     * the type. */
    if (pl->k->pw[cf_rep_of(st->cdt)](op, 0, NULL, none) != CF_OK)
        return cf_error_set(CF_ERR_TYPE, cf_op_name(op) ? cf_op_name(op) : "cpu_execute",
                            "%s is not defined for %s values",
                            cf_op_name(op) ? cf_op_name(op) : "op",
                            cf_dtype_pyname(st->cdt) ? cf_dtype_pyname(st->cdt) : "these");
    return CF_OK;
}

/* Does step b (full or row-wise) read slot s exactly where step a writes
 * slot t, element for element? */
static int same_place(const cf_cpu_plan *pl, const cf_seg *sg, const cf_step *a, int t,
                      const cf_step *b, int s)
{
    int64_t us[CF_MAX_DIMS];
    int nd = sg->ndim;
    if ((b->row && !a->row) || ndim_of(pl, t) != nd || ndim_of(pl, s) != nd)
        return 0;
    use_strides(pl, s, nd, us);
    for (int d = 0; d < nd; d++) {
        if (sg->shape[d] <= 1 || (b->row && d >= sg->rowk))
            continue;
        /* A row's value is written when the phase reaches the row, before
         * any piece of it: reading it anywhere along the row is safe. */
        if (a->row && d >= sg->rowk ? us[d] != 0 : us[d] != pl->si[t].strides[d])
            return 0;
    }
    return 1;
}

/* Cut a ROW segment's steps into phases. A step starts a new phase when it
 * reads the result of a reduction of the current phase (known only once
 * the phase has been through the whole row), or reads memory that a step
 * of the phase writes anywhere but at the elements it reads (a view of an
 * output that was just written): within a phase, piece p of every step
 * runs before piece p + 1 of any. */
static void mark_phases(cf_cpu_plan *pl, cf_seg *sg)
{
    cf_step *steps = pl->steps + sg->first_step;
    int first = 0;
    for (int i = 0; i < sg->nsteps; i++) {
        cf_step *st = &steps[i];
        int brk = 0;
        st->brk = i == 0;
        for (int j = 0; j < st->nin && !brk; j++) {
            int s = st->ins->in[j], b;
            if (is_scalar_slot(pl, s))
                continue;
            b = pl->si[s].base;
            for (int w = first; w < i && !brk; w++) {
                const cf_step *ws = &steps[w];
                for (int q = 0; q < ws->nout; q++) {
                    int t = ws->ins->out[q];
                    if (t != b)
                        continue;
                    if (cf_op_is_reduction(ws->op))
                        brk = 1;
                    else if (!is_virtual(pl, t) && !same_place(pl, sg, ws, t, st, s))
                        brk = 1;
                }
            }
        }
        if (brk) {
            st->brk = 1;
            first = i;
        }
    }
    /* A phase that only reduces (and computes row values) reads each row
     * once whatever the piece length: one call per row costs less. */
    for (int i = 0, head = 0; i < sg->nsteps; i++) {
        const cf_step *st = &steps[i];
        if (st->brk)
            head = i;
        if (st->row || st->whole)
            continue;
        if (!st->red || st->in[0].boff)
            steps[head].pieces = 1;
    }
    /* A virtual full-row value read only by piecewise steps of its own
     * phase needs one piece of room, which stays in L1. */
    for (int i = 0, ph = 0; i < sg->nsteps; i++) {
        const cf_opnd *o = &steps[i].out[0];
        int ok = 1;
        ph += i > 0 && steps[i].brk;
        if (steps[i].red || steps[i].row || o->kind != OPND_VFULL)
            continue;
        for (int r = i + 1, rph = ph; r < sg->nsteps && ok; r++) {
            rph += steps[r].brk;
            for (int j = 0; j < steps[r].nin; j++)
                if (steps[r].in[j].kind == OPND_VFULL && steps[r].in[j].off == o->off &&
                    (rph != ph || steps[r].whole))
                    ok = 0;
        }
        if (!ok)
            continue;
        steps[i].out[0].piece = 1;
        for (int r = i + 1; r < sg->nsteps; r++)
            for (int j = 0; j < steps[r].nin; j++)
                if (steps[r].in[j].kind == OPND_VFULL && steps[r].in[j].off == o->off)
                    steps[r].in[j].piece = 1;
    }
}

/* Pass 4: steps and scratch of the fused segments. */
static cf_status lay_out(cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    pl->nsteps = 0;
    pl->scratch_max = 0;
    for (int g = 0; g < pl->nsegs; g++) {
        cf_seg *sg = &pl->segs[g];
        int nd = sg->ndim;
        int64_t rs[CF_MAX_DIMS];
        size_t off, csz;
        int64_t work;
        if (sg->kind != SEG_PW && sg->kind != SEG_ROW) {
            sg->nthreads = pl->nthreads;
            continue;
        }
        row_shape(sg, rs);
        if (sg->kind == SEG_PW) {
            sg->numel = numel(nd, sg->shape);
            sg->len = sg->numel < CF_CPU_BLOCK ? sg->numel : CF_CPU_BLOCK;
            sg->nitems = sg->len > 0 ? (sg->numel + sg->len - 1) / sg->len : 0;
        } else {
            sg->len = row_len(nd, sg->shape, sg->rowk);
            sg->nitems = numel(nd, rs);
            sg->numel = sg->len * sg->nitems;
        }
        sg->chunk = sg->kind == SEG_ROW && sg->len > CF_CPU_ROW_CHUNK ? CF_CPU_ROW_CHUNK : sg->len;
        sg->gsz = ALIGN64((size_t)(sg->len > 0 ? sg->len : 1) * 8);
        csz = ALIGN64((size_t)(sg->chunk > 0 ? sg->chunk : 1) * 8);
        off = 5 * sg->gsz;
        /* Scratch places for the segment's virtual temporaries. */
        for (int i = sg->first_instr; i <= sg->last_instr; i++) {
            const cf_prog_instr *ins = &p->instrs[i];
            if (pl->seg_of[i] != g)
                continue;
            for (int j = 0; j < ins->nout; j++) {
                int t = ins->out[j];
                if (!is_virtual(pl, t))
                    continue;
                pl->si[t].vrow = sg->kind == SEG_ROW && (cf_op_is_reduction(ins->op) ||
                                                         !same_shape(nd, shape_of(pl, t), sg->shape));
                pl->si[t].off = off;
                off += pl->si[t].vrow ? 64 : sg->gsz;
            }
        }
        sg->scratch = off;
        sg->first_step = pl->nsteps;
        for (int i = sg->first_instr; i <= sg->last_instr; i++) {
            const cf_prog_instr *ins = &p->instrs[i];
            cf_step *st;
            int red = cf_op_is_reduction(ins->op);
            const int64_t *ish;
            cf_status rc;
            if (pl->seg_of[i] != g)
                continue;
            st = &pl->steps[pl->nsteps++];
            memset(st, 0, sizeof *st);
            st->ins = ins;
            st->op = ins->op;
            st->cdt = ins->cdtype;
            if (st->op == CF_OP_BITWISE_NOT && st->cdt == CF_DTYPE_BOOL)
                st->op = CF_OP_LOGICAL_NOT;
            /* kernels are a CUDA matter: on the CPU segment_set is set */
            if (st->op == CF_OP_SEGMENT_SET)
                st->op = CF_OP_SET;
            /* the int64 loops see Int32 values sign-extended: a logical
             * shift needs the 32-bit width */
            if (st->op == CF_OP_LOGICAL_RIGHT_SHIFT && st->cdt == CF_DTYPE_INT32)
                st->op = CF_OP_LOGICAL_RIGHT_SHIFT32;
            st->nin = ins->nin;
            st->nout = ins->nout;
            st->row = !red && sg->kind == SEG_ROW && !same_shape(nd, shape_of(pl, ins->out[0]), sg->shape);
            st->rdt = cf_op_category_of(st->op) == CF_CAT_PRED && !red && st->op != CF_OP_CAST &&
                              st->op != CF_OP_SET && st->op != CF_OP_FULL
                          ? CF_DTYPE_BOOL
                          : st->cdt;
            ish = st->row ? rs : sg->shape;
            st->red = (uint8_t)red;
            st->whole = red && (st->op == CF_OP_VAR || st->op == CF_OP_VAR_MEAN);
            for (int j = 0; j < ins->nin; j++) {
                make_in(pl, &st->in[j], ins->in[j], st->cdt, nd, ish);
                if (st->in[j].kind == OPND_SCALAR) {
                    /* A block of the constant, filled once per thread. */
                    st->in[j].off = sg->scratch;
                    sg->scratch += st->whole ? sg->gsz : csz;
                } else if (st->in[j].kind == OPND_VROW && !st->row && !st->whole) {
                    /* A piece of the row's value, filled once per row. */
                    st->in[j].boff = sg->scratch;
                    sg->scratch += csz;
                }
            }
            if (ins->op == CF_OP_GATHER) {
                make_in(pl, &st->in[1], ins->in[1], CF_DTYPE_INT, nd, ish);
                cf_cpu_gather_step(pl, st, nd, ish);
                if (!sg->badoff) {
                    sg->badoff = sg->scratch;
                    sg->scratch += 64;
                }
            }
            for (int j = 0; j < ins->nout; j++) make_out(pl, &st->out[j], ins->out[j], st->rdt);
            if (!red && !st->row && st->nin == 2 && cf_rep_of(st->cdt) != CF_REP_I64 &&
                (st->op == CF_OP_ADD || st->op == CF_OP_SUB || st->op == CF_OP_MUL ||
                 st->op == CF_OP_DIV || st->op == CF_OP_TRUEDIV)) {
                int u0 = st->in[0].kind == OPND_SCALAR || st->in[0].kind == OPND_VROW;
                int u1 = st->in[1].kind == OPND_SCALAR || st->in[1].kind == OPND_VROW;
                if (u0 != u1)
                    st->uni = (uint8_t)(u0 ? 1 : 2);
            }
            rc = check_kernel(pl, st);
            if (rc != CF_OK)
                return rc;
        }
        sg->nsteps = pl->nsteps - sg->first_step;
        if (sg->kind == SEG_ROW) {
            mark_phases(pl, sg);
            sg->accoff = sg->scratch;
            sg->scratch += ALIGN64((size_t)sg->nsteps * sizeof(cf_acc));
        }
        work = sg->numel * (sg->nsteps > 0 ? sg->nsteps : 1);
        sg->nthreads = cf_cpu_pick_threads(pl->nthreads, sg->nitems, work);
        if (sg->scratch * (size_t)sg->nthreads > pl->scratch_max)
            pl->scratch_max = sg->scratch * (size_t)sg->nthreads;
    }
    return CF_OK;
}

/* Large temporaries are fresh pages every call (the allocator maps them):
 * asking for huge pages cuts the page faults of their first touch, which
 * cost an outer normalization (softmax over dim 0) a third of its time. */
static void advise_huge(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
    const uintptr_t huge = (uintptr_t)2 << 20;
    uintptr_t lo = ((uintptr_t)p + huge - 1) & ~(huge - 1), hi = ((uintptr_t)p + n) & ~(huge - 1);
    if (n >= 4 * huge && hi > lo)
        (void)madvise((void *)lo, hi - lo, MADV_HUGEPAGE);
#else
    (void)p;
    (void)n;
#endif
}

/* Give the plan this call's memory: temporaries, and the data pointers and
 * scalars of every slot and operand. Everything else in a plan depends only
 * on shapes and strides, so a cached plan is rebound by this alone. */
cf_status cf_cpu_plan_bind(cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    pl->temps = NULL;
    if (pl->temps_size > 0) {
        pl->temps = cf_malloc_aligned(pl->temps_size);
        if (!pl->temps)
            return cf_error_nomem("cpu_execute");
        advise_huge(pl->temps, pl->temps_size);
    }
    for (int s = 0; s < p->nslots; s++) {
        int role = p->slots[s].role;
        if (role == CF_SLOT_INPUT || role == CF_SLOT_OUTPUT)
            pl->si[s].data = pl->vals[s].data;
        else if (pl->si[s].mat)
            pl->si[s].data = (char *)pl->temps + pl->si[s].moff;
        else
            pl->si[s].data = NULL;
    }
    /* Views read the memory of their base. */
    for (int s = 0; s < p->nslots; s++)
        if (pl->si[s].base != s)
            pl->si[s].data = pl->si[pl->si[s].base].data;
    cf_win_bind(pl);
    for (int i = 0; i < pl->nsteps; i++) {
        cf_step *st = &pl->steps[i];
        for (int j = 0; j < st->nin + st->nout; j++) {
            cf_opnd *o = j < st->nin ? &st->in[j] : &st->out[j - st->nin];
            if (o->kind == OPND_SCALAR)
                o->sc = pl->vals[o->slot].scalar;
            else if (o->kind == OPND_WIN)
                o->v.data = (char *)&pl->wins[o->win];
            else if (o->kind == OPND_MEM)
                o->v.data = pl->si[o->slot].data;
        }
    }
    return CF_OK;
}

size_t cf_cpu_plan_bytes(const cf_cpu_plan *pl)
{
    const cf_program *p = pl->p;
    size_t n_si = (size_t)p->nslots * sizeof(cf_slotinfo);
    size_t n_seg = (size_t)p->ninstrs * sizeof(cf_seg);
    size_t n_step = (size_t)p->ninstrs * sizeof(cf_step);
    size_t n_of = (size_t)p->ninstrs * sizeof(int);
    size_t n_win = (size_t)pl->nwins * sizeof(cf_window);
    return ALIGN64(n_si) + ALIGN64(n_seg) + ALIGN64(n_step) + ALIGN64(n_of) + ALIGN64(n_win) + 64;
}

void cf_cpu_plan_place(cf_cpu_plan *pl, char *mem)
{
    const cf_program *p = pl->p;
    size_t n_si = ALIGN64((size_t)p->nslots * sizeof(cf_slotinfo));
    size_t n_seg = ALIGN64((size_t)p->ninstrs * sizeof(cf_seg));
    size_t n_step = ALIGN64((size_t)p->ninstrs * sizeof(cf_step));
    pl->si = (cf_slotinfo *)mem;
    pl->segs = (cf_seg *)(mem + n_si);
    pl->steps = (cf_step *)(mem + n_si + n_seg);
    size_t n_of = ALIGN64((size_t)p->ninstrs * sizeof(int));
    pl->seg_of = (int *)(mem + n_si + n_seg + n_step);
    pl->wins = pl->nwins ? (cf_window *)(mem + n_si + n_seg + n_step + n_of) : NULL;
}

cf_status cf_cpu_plan_alloc(cf_cpu_plan *pl)
{
    size_t total = cf_cpu_plan_bytes(pl);
    char *mem;
    if (pl->local && total <= pl->local_cap) {
        /* Small programs plan in the caller's stack buffer: no allocation
         * on the fast path of small calls. */
        mem = pl->local;
        pl->local_used = total;
    } else {
        mem = cf_malloc(total);
        if (!mem)
            return cf_error_nomem("cpu_execute");
    }
    cf_cpu_plan_place(pl, mem);
    return CF_OK;
}

cf_status cf_cpu_plan_build(cf_cpu_plan *pl)
{
    cf_status rc = check_program(pl);
    if (rc == CF_OK) {
        pl->nwins = cf_win_count(pl->p);
        rc = cf_cpu_check_data(pl);
    }
    if (rc != CF_OK)
        return rc;
    rc = cf_cpu_plan_alloc(pl);
    if (rc != CF_OK)
        return rc;
    memset(pl->si, 0, cf_cpu_plan_bytes(pl));
    resolve_views(pl);
    cf_win_plan(pl);
    cut_segments(pl);
    rc = materialise(pl);
    if (rc != CF_OK)
        return rc;
    rc = lay_out(pl);
    if (rc != CF_OK)
        return rc;
    return cf_cpu_plan_bind(pl);
}

void cf_cpu_plan_release(cf_cpu_plan *pl)
{
    cf_free_aligned(pl->temps);
    if (pl->si && (char *)pl->si != pl->local)
        cf_free(pl->si);
    pl->temps = NULL;
    pl->si = NULL;
}
