/* cuda/segment.c - split a program into kernels.
 *
 * One pass in program order. Each instruction joins the kernel being built
 * when the loop nests agree: a pointwise kernel takes any instruction whose
 * classes nest with its domain; a reduction kernel takes reductions over the
 * same classes and pointwise work inside its domain (work after a reduction
 * becomes a later phase of the same kernel, which is what keeps softmax or
 * layernorm in one pass). Otherwise a new kernel starts, and values crossing
 * kernels get storage (marked `mat`).
 *
 * When the unification puts one class on two axes of a value (a view that
 * transposes and then meets its source), the pass is redone in solo mode:
 * one instruction per kernel, every view of a computed value read back from
 * storage, which cannot tie classes across positions.
 */
#include <string.h>

#include "cuda/segment.h"
#include "cfuser/alloc.h"
#include "cfuser/status.h"
#include "move.h"

int cf_seg_find(cf_segs *s, int c)
{
    while (s->uf[c] != c) {
        s->uf[c] = s->uf[s->uf[c]];
        c = s->uf[c];
    }
    return c;
}

static void unite(cf_segs *s, int a, int b)
{
    a = cf_seg_find(s, a);
    b = cf_seg_find(s, b);
    if (a != b)
        s->uf[b] = a;
}

static int new_class(cf_segs *s, int64_t size)
{
    if (s->ncls >= CF_SEG_MAX_CLASSES)
        return -1;
    int c = s->ncls++;
    s->uf[c] = c;
    s->csize[c] = size;
    return c;
}

uint64_t cf_seg_mask(cf_segs *s, int slot)
{
    uint64_t m = 0;
    for (int d = 0; d < s->p->slots[slot].ndim; d++)
        if (s->cls[slot][d] >= 0)
            m |= 1ULL << cf_seg_find(s, s->cls[slot][d]);
    return m;
}

static bool is_scalar_slot(const cf_segs *s, int slot)
{
    int r = s->p->slots[slot].role;
    return r == CF_SLOT_CONST || r == CF_SLOT_SCALAR;
}

void cf_seg_storage_strides(const cf_segs *s, int slot, int64_t *st)
{
    int nd = s->p->slots[slot].ndim;
    if (s->p->slots[slot].role == CF_SLOT_OUTPUT ||
        s->p->slots[slot].role == CF_SLOT_INPUT) {
        for (int d = 0; d < nd; d++)
            st[d] = s->v[slot].strides[d];
        return;
    }
    int64_t acc = 1;
    for (int d = nd - 1; d >= 0; d--) {
        st[d] = acc;
        acc *= s->v[slot].shape[d] > 0 ? s->v[slot].shape[d] : 1;
    }
}

/* Fresh classes for a value read from storage. */
static cf_status fresh(cf_segs *s, int slot)
{
    for (int d = 0; d < s->p->slots[slot].ndim; d++) {
        int64_t n = s->v[slot].shape[d];
        s->cls[slot][d] = -1;
        if (n != 1) {
            int c = new_class(s, n);
            if (c < 0)
                return cf_error_set(CF_ERR_UNSUPPORTED, "cuda",
                                    "program has more than %d distinct "
                                    "axes", CF_SEG_MAX_CLASSES);
            s->cls[slot][d] = (int8_t)c;
        }
    }
    return CF_OK;
}

cf_seg *cf_seg_open(cf_segs *s)
{
    if (s->nsegs == s->segcap) {
        int cap = s->segcap ? 2 * s->segcap : 8;
        cf_seg *n = cf_realloc(s->segs, (size_t)cap * sizeof *n);
        if (!n)
            return NULL;
        s->segs = n;
        s->segcap = cap;
    }
    cf_seg *g = &s->segs[s->nsegs++];
    memset(g, 0, sizeof *g);
    g->ref = -1;
    g->copy_slot = -1;
    g->scatter = -1;
    return g;
}

static cf_status seg_add(cf_seg *g, int instr)
{
    if (g->ninstrs == g->cap) {
        int cap = g->cap ? 2 * g->cap : 8;
        int *n = cf_realloc(g->instrs, (size_t)cap * sizeof *n);
        if (!n)
            return cf_error_nomem("cuda");
        g->instrs = n;
        g->cap = cap;
    }
    g->instrs[g->ninstrs++] = instr;
    return CF_OK;
}

/* Slot x, read by an instruction of segment `cur`: does that read need the
 * storage of a value computed in `cur` itself (a race)? Marks values
 * computed in earlier segments for storage. */
static bool reads_own_store(cf_segs *s, int x, int cur)
{
    if (is_scalar_slot(s, x))
        return false;
    if (s->gview[x]) {
        int b = s->gbase[x];
        return s->p->slots[b].role != CF_SLOT_INPUT && s->pseg[s->root[b]] == cur;
    }
    int r = s->root[x];
    if (s->pseg[r] >= 0 && s->pseg[r] != cur)
        s->mat[x] = 1;
    return false;
}

/* Nodes of the tree that recomputes x inside a movement read (an input
 * read from storage counts one), or more than `budget` (then stop). */
static int recompute_size(const cf_segs *s, int x, int budget)
{
    const cf_program *p = s->p;
    int i = s->prod[x], n = 1;
    if (is_scalar_slot(s, x))
        return 0;
    if (s->gview[x] || p->slots[x].role != CF_SLOT_TEMP || i < 0)
        return 1;
    cf_opcode op = p->instrs[i].op;
    bool pw = cf_op_is_pointwise(op) && op != CF_OP_SEGMENT_SET && !(cf_op_flags(op) & CF_OPF_RANDOM);
    if (!pw && !cf_move_op(op))
        return 1;
    for (int k = 0; k < p->instrs[i].nin && n <= budget; k++)
        n += recompute_size(s, p->instrs[i].in[k], budget - n);
    return n;
}

int cf_seg_recompute(const cf_segs *s, int x)
{
    const cf_program *p = s->p;
    int i = s->prod[x];
    if (is_scalar_slot(s, x) || s->gview[x] || p->slots[x].role != CF_SLOT_TEMP || i < 0)
        return -1;
    cf_opcode op = p->instrs[i].op;
    if (!cf_move_op(op) && !(cf_op_is_pointwise(op) && op != CF_OP_SEGMENT_SET && !(cf_op_flags(op) & CF_OPF_RANDOM)))
        return -1;
    return recompute_size(s, x, CF_SEG_RECOMPUTE_MAX) <= CF_SEG_RECOMPUTE_MAX ? i : -1;
}

/* The storage a movement instruction of segment `cur` reads, through the
 * movement instructions it folds in: marked for storage; true when some of
 * it is computed in `cur` itself (a race). */
static bool move_reads(cf_segs *s, int x, int cur)
{
    int i;
    if (is_scalar_slot(s, x))
        return false;
    if ((i = cf_seg_recompute(s, x)) >= 0) {
        const cf_prog_instr *in = &s->p->instrs[i];
        bool race = false;
        for (int k = 0; k < in->nin; k++)
            race |= move_reads(s, in->in[k], cur);
        return race;
    }
    if (s->gview[x])
        return cur >= 0 && reads_own_store(s, x, cur);
    s->mat[x] = 1;
    return cur >= 0 && s->pseg[s->root[x]] == cur;
}

/* The storage a movement read of x needs (its recomputed tree's leaves). */
static void need_leaves(const cf_segs *s, uint8_t *need, int x)
{
    int i = cf_seg_recompute(s, x);
    if (i < 0) {
        need[x] = 1;
        return;
    }
    for (int k = 0; k < s->p->instrs[i].nin; k++)
        if (!is_scalar_slot(s, s->p->instrs[i].in[k]))
            need_leaves(s, need, s->p->instrs[i].in[k]);
}

/* Instructions some kernel must run: those computing an output or a value
 * that an instruction run reads, other than by a movement read that
 * recomputes it. Only programs with movement have any other. */
static cf_status mark_live(cf_segs *s)
{
    const cf_program *p = s->p;
    bool any = false;
    for (int i = 0; i < p->ninstrs && !any; i++)
        any = cf_move_op(p->instrs[i].op);
    if (!any)
        return CF_OK;
    uint8_t *need = cf_calloc((size_t)s->ns + 1, 1);
    s->live = cf_calloc((size_t)p->ninstrs + 1, 1);
    if (!need || !s->live) {
        cf_free(need);
        return cf_error_nomem("cuda");
    }
    for (int x = 0; x < s->ns; x++)
        need[x] = p->slots[x].role == CF_SLOT_OUTPUT;
    for (int i = p->ninstrs - 1; i >= 0; i--) {
        const cf_prog_instr *in = &p->instrs[i];
        for (int k = 0; k < in->nout; k++)
            s->live[i] |= need[in->out[k]];
        if (!s->live[i])
            continue;
        for (int k = 0; k < in->nin; k++) {
            int x = in->in[k];
            if (is_scalar_slot(s, x))
                continue;
            if (cf_move_op(in->op))
                need_leaves(s, need, x);
            else
                need[x] = 1;
        }
    }
    cf_free(need);
    return CF_OK;
}

static bool view_is_monotonic(const cf_segs *s, const cf_prog_instr *in)
{
    int out = in->out[0], src = in->in[0];
    int last = -1;
    for (int d = 0; d < s->p->slots[out].ndim; d++) {
        int m = in->map[d];
        if (m < 0)
            continue;
        if (s->v[out].shape[d] != s->v[src].shape[m])
            continue; /* expanded from size 1: constant along d */
        if (s->cls[src][m] < 0)
            continue;
        if (m <= last)
            return false;
        last = m;
    }
    return true;
}

static cf_status do_view(cf_segs *s, const cf_prog_instr *in, int cur)
{
    int out = in->out[0], src = in->in[0];
    int nd = s->p->slots[out].ndim;
    /* A view of a scan's output (a kernel of its own) reads its storage. */
    bool scan_src = s->prod[src] >= 0 && cf_op_kind_of(s->p->instrs[s->prod[src]].op) == CF_KIND_SCAN;
    if (!s->gview[src] && (s->solo || scan_src || !view_is_monotonic(s, in))) {
        /* Read the computed source back from its storage. */
        s->mat[src] = 1;
        s->gview[src] = 0;
        s->gbase[out] = src;
        int64_t st[CF_MAX_DIMS];
        cf_seg_storage_strides(s, src, st);
        for (int d = 0; d < nd; d++) {
            int m = in->map[d];
            s->gst[out][d] = (m >= 0 && s->v[out].shape[d] ==
                                            s->v[src].shape[m]) ? st[m] : 0;
        }
        s->gview[out] = 1;
        s->root[out] = out;
        (void)cur;
        return fresh(s, out);
    }
    if (s->gview[src]) {
        s->gview[out] = 1;
        s->gbase[out] = s->gbase[src];
        for (int d = 0; d < nd; d++) {
            int m = in->map[d];
            s->gst[out][d] = (m >= 0 && s->v[out].shape[d] ==
                                            s->v[src].shape[m])
                                 ? s->gst[src][m] : 0;
        }
        s->root[out] = out;
        return fresh(s, out);
    }
    /* An alias of a computed value: same registers, axes re-lined; an
     * expanded axis gets a class of its own (constant along it). */
    s->root[out] = s->root[src];
    for (int d = 0; d < nd; d++) {
        int m = in->map[d];
        s->cls[out][d] = -1;
        if (m >= 0 && s->v[out].shape[d] == s->v[src].shape[m])
            s->cls[out][d] = s->cls[src][m];
        if (s->cls[out][d] < 0 && s->v[out].shape[d] != 1) {
            int c = new_class(s, s->v[out].shape[d]);
            if (c < 0)
                return fresh(s, out);
            s->cls[out][d] = (int8_t)c;
        }
    }
    return CF_OK;
}

/* Classes of a computed (non-view) instruction's outputs. */
static cf_status assign_classes(cf_segs *s, const cf_prog_instr *in)
{
    int o = in->out[0];
    int nd = s->p->slots[o].ndim;
    if (in->op == CF_OP_COPY || in->op == CF_OP_IOTA ||
        in->op == CF_OP_FULL || in->op == CF_OP_SCATTER || cf_move_op(in->op))
        return fresh(s, o);
    if (cf_op_kind_of(in->op) == CF_KIND_SCAN) {
        /* its own kernel: outputs are read back from storage */
        for (int k = 0; k < in->nout; k++) {
            cf_status st = fresh(s, in->out[k]);
            if (st)
                return st;
            s->prod[in->out[k]] = (int)(in - s->p->instrs);
        }
        return CF_OK;
    }
    if (cf_op_is_reduction(in->op)) {
        int x = in->in[0];
        for (int k = 0; k < in->nout; k++)
            for (int d = 0; d < nd; d++)
                s->cls[in->out[k]][d] =
                    (in->axes >> d) & 1 ? -1 : s->cls[x][d];
        return CF_OK;
    }
    /* Pointwise: line up axis d of every tensor input of full rank (a
     * GATHER: its index; the source is read from storage anywhere). */
    for (int d = 0; d < nd; d++) {
        int c = -1;
        for (int k = in->op == CF_OP_GATHER ? 1 : 0; k < in->nin; k++) {
            int x = in->in[k];
            if (s->p->slots[x].ndim != nd)
                continue;
            int cx = s->cls[x][d];
            if (cx < 0)
                continue;
            if (c < 0)
                c = cx;
            else
                unite(s, c, cx);
        }
        if (c < 0 && s->v[o].shape[d] != 1) {
            c = new_class(s, s->v[o].shape[d]);
            if (c < 0)
                return cf_error_set(CF_ERR_UNSUPPORTED, "cuda",
                                    "program has more than %d distinct "
                                    "axes", CF_SEG_MAX_CLASSES);
        }
        s->cls[o][d] = (int8_t)c;
    }
    return CF_OK;
}

/* Does instruction i fit the open segment g? */
static bool fits(cf_segs *s, cf_seg *g, const cf_prog_instr *in)
{
    if (g->copy_slot >= 0 || g->scatter >= 0)
        return false;
    if (g->ninstrs == 0)
        return true;
    if (s->solo)
        return false;
    /* refresh the masks: classes may have merged since */
    uint64_t dom = 0, red = 0;
    for (int k = 0; k < g->ninstrs; k++) {
        const cf_prog_instr *j = &s->p->instrs[g->instrs[k]];
        if (cf_op_is_reduction(j->op)) {
            uint64_t xm = cf_seg_mask(s, j->in[0]);
            uint64_t om = cf_seg_mask(s, j->out[0]);
            dom |= xm;
            red |= xm & ~om;
        } else {
            dom |= cf_seg_mask(s, j->out[0]);
        }
    }
    bool has_red = red != 0 || g->has_red;
    if (cf_op_is_reduction(in->op) && g->has_gather)
        return false;
    if (cf_op_is_reduction(in->op)) {
        uint64_t xm = cf_seg_mask(s, in->in[0]);
        uint64_t r = xm & ~cf_seg_mask(s, in->out[0]);
        if (r == 0) /* a reduction over size-1 axes: pointwise */
            return has_red ? (xm & ~dom) == 0
                           : ((xm & ~dom) == 0 || (dom & ~xm) == 0);
        if (!has_red)
            return (dom & ~xm) == 0;
        return r == red && (xm & ~dom) == 0;
    }
    uint64_t om = cf_seg_mask(s, in->out[0]);
    /* a copy or a movement reads its sources from storage by its own
     * index arithmetic, not along the kernel's loops; a gather its source */
    for (int k = in->op == CF_OP_GATHER ? 1 : 0; k < in->nin && in->op != CF_OP_COPY && !cf_move_op(in->op); k++)
        if (!is_scalar_slot(s, in->in[k]))
            om |= cf_seg_mask(s, in->in[k]);
    /* A GATHER runs in pointwise kernels only (cuda/indexing.c). */
    if (in->op == CF_OP_GATHER && has_red)
        return false;
    if (cf_op_is_reduction(in->op) && g->has_gather)
        return false;
    if (has_red)
        return (om & ~dom) == 0;
    return (om & ~dom) == 0 || (dom & ~om) == 0;
}

static bool has_conflict(cf_segs *s)
{
    for (int x = 0; x < s->ns; x++) {
        uint64_t seen = 0;
        for (int d = 0; d < s->p->slots[x].ndim; d++) {
            if (s->cls[x][d] < 0)
                continue;
            uint64_t b = 1ULL << cf_seg_find(s, s->cls[x][d]);
            if (seen & b)
                return true;
            seen |= b;
        }
    }
    return false;
}

static void finish_masks(cf_segs *s)
{
    for (int gi = 0; gi < s->nsegs; gi++) {
        cf_seg *g = &s->segs[gi];
        g->dom = g->red = 0;
        g->has_red = false;
        int best = -1, bestn = -1;
        for (int k = 0; k < g->ninstrs; k++) {
            const cf_prog_instr *j = &s->p->instrs[g->instrs[k]];
            uint64_t om = cf_seg_mask(s, j->out[0]);
            if (cf_op_is_reduction(j->op)) {
                uint64_t xm = cf_seg_mask(s, j->in[0]);
                if (xm & ~om) {
                    if (!g->has_red)
                        best = j->in[0], bestn = 1000;
                    g->has_red = true;
                    g->red |= xm & ~om;
                }
                om = xm;
                g->dom |= xm;
            }
            g->dom |= om;
            int n = __builtin_popcountll(om);
            if (!g->has_red && n > bestn) {
                bestn = n;
                best = cf_op_is_reduction(j->op) ? j->in[0] : j->out[0];
            }
        }
        if (g->copy_slot >= 0) {
            best = g->copy_slot;
            g->dom = cf_seg_mask(s, best);
        }
        g->ref = best;
    }
}

static cf_status alloc_state(cf_segs *s)
{
    int ns = s->ns;
    s->cls = cf_calloc((size_t)ns, sizeof *s->cls);
    s->root = cf_calloc((size_t)ns, sizeof *s->root);
    s->pseg = cf_calloc((size_t)ns, sizeof *s->pseg);
    s->prod = cf_calloc((size_t)ns, sizeof *s->prod);
    s->gview = cf_calloc((size_t)ns, sizeof *s->gview);
    s->gbase = cf_calloc((size_t)ns, sizeof *s->gbase);
    s->gst = cf_calloc((size_t)ns, sizeof *s->gst);
    s->mat = cf_calloc((size_t)ns, sizeof *s->mat);
    if (!s->cls || !s->root || !s->pseg || !s->prod || !s->gview ||
        !s->gbase || !s->gst || !s->mat)
        return cf_error_nomem("cuda");
    return CF_OK;
}

void cf_seg_free(cf_segs *s)
{
    for (int i = 0; i < s->nsegs; i++)
        cf_free(s->segs[i].instrs);
    cf_free(s->segs);
    cf_free(s->cls);
    cf_free(s->root);
    cf_free(s->pseg);
    cf_free(s->prod);
    cf_free(s->gview);
    cf_free(s->gbase);
    cf_free(s->gst);
    cf_free(s->mat);
    cf_free(s->live);
    memset(s, 0, sizeof *s);
}

static cf_status build_pass(cf_segs *s)
{
    const cf_program *p = s->p;
    cf_status st;
    for (int x = 0; x < s->ns; x++) {
        s->root[x] = x;
        s->pseg[x] = -1;
        s->prod[x] = -1;
        s->gbase[x] = x;
        if (p->slots[x].role == CF_SLOT_INPUT) {
            s->gview[x] = 1;
            for (int d = 0; d < p->slots[x].ndim; d++)
                s->gst[x][d] = s->v[x].strides[d];
            if ((st = fresh(s, x)))
                return st;
        } else {
            for (int d = 0; d < CF_MAX_DIMS; d++)
                s->cls[x][d] = -1;
        }
        if (p->slots[x].role == CF_SLOT_OUTPUT)
            s->mat[x] = 1;
    }
    /* Classes first, over the whole program, so that every decision below
     * sees the final unification. */
    for (int i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *in = &p->instrs[i];
        st = in->op == CF_OP_VIEW ? do_view(s, in, -1) : assign_classes(s, in);
        if (st)
            return st;
        if ((in->op == CF_OP_COPY || in->op == CF_OP_GATHER) && !s->gview[in->in[0]])
            s->mat[in->in[0]] = 1;
        for (int k = 0; in->op != CF_OP_VIEW && k < in->nout; k++)
            s->prod[in->out[k]] = i;
        for (int k = 0; cf_move_op(in->op) && k < in->nin; k++)
            (void)move_reads(s, in->in[k], -1); /* read in place from storage */
    }
    if ((st = mark_live(s)))
        return st;
    cf_seg *g = NULL;
    for (int i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *in = &p->instrs[i];
        int cur = s->nsegs - 1;
        if (in->op == CF_OP_VIEW || (s->live && !s->live[i]))
            continue; /* a view, or recomputed by the movement reads of it */
        bool race = false;
        if (in->op == CF_OP_SCATTER) {
            /* two kernels of its own: the copy of arg, then the writes */
            if ((st = cf_seg_add_scatter(s, i)))
                return st;
            g = NULL;
            continue;
        }
        for (int k = 0; k < in->nin; k++) {
            int x = in->in[k];
            if (cf_move_op(in->op)) {
                race |= move_reads(s, x, cur);
            } else if ((in->op == CF_OP_COPY || (in->op == CF_OP_GATHER && k == 0)) && !s->gview[x]) {
                /* COPY reads its source from storage */
                s->mat[x] = 1;
                if (s->pseg[s->root[x]] == cur)
                    race = true;
            } else if (reads_own_store(s, x, cur)) {
                race = true;
            }
        }
        bool own = (cf_op_flags(in->op) & CF_OPF_OWN_SEGMENT) != 0;
        if (!g || race || own || !fits(s, g, in)) {
            if (!(g = cf_seg_open(s)))
                return cf_error_nomem("cuda");
            cur = s->nsegs - 1;
            /* values of the segment just closed now cross a boundary */
            for (int k = 0; k < in->nin; k++)
                (void)reads_own_store(s, in->in[k], cur);
        }
        if ((st = seg_add(g, i)))
            return st;
        if (in->op == CF_OP_GATHER)
            g->has_gather = true;
        for (int k = 0; k < in->nout; k++) {
            s->prod[in->out[k]] = i;
            s->pseg[in->out[k]] = cur;
            if (own) /* its readers are in later kernels: store it */
                s->mat[in->out[k]] = 1;
        }
        if (own)
            g = NULL; /* nothing joins it */
    }
    /* Outputs that only view an input (or another global) get a copy. */
    for (int o = 0; o < s->ns; o++) {
        if (p->slots[o].role != CF_SLOT_OUTPUT || !s->gview[o])
            continue;
        if (!(g = cf_seg_open(s)))
            return cf_error_nomem("cuda");
        g->copy_slot = o;
    }
    return CF_OK;
}

cf_status cf_seg_build(cf_segs *s, const cf_program *p,
                       const cf_slot_value *v, bool solo)
{
    memset(s, 0, sizeof *s);
    s->p = p;
    s->v = v;
    s->ns = p->nslots;
    s->solo = solo;
    cf_status st = alloc_state(s);
    if (st == CF_OK)
        st = build_pass(s);
    if (st == CF_OK && has_conflict(s)) {
        if (solo)
            st = cf_error_set(CF_ERR_UNSUPPORTED, "cuda",
                              "cannot line up the axes of this program");
        else {
            cf_seg_free(s);
            return cf_seg_build(s, p, v, true);
        }
    }
    if (st) {
        cf_seg_free(s);
        return st;
    }
    finish_masks(s);
    return CF_OK;
}
