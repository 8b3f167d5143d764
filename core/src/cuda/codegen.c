/* cuda/codegen.c - CUDA C for each segment of a program.
 *
 * Three schedules:
 *  pointwise  a flat, grid-stride loop over the iteration domain (adjacent
 *             axes that every access walks contiguously are merged), V
 *             elements per thread with 16-byte vector loads and stores for
 *             the accesses that are contiguous and aligned, one load per
 *             vector for broadcast ones, and element loads otherwise.
 *  row        reductions over the innermost axes: TX threads per row, TY
 *             rows per block; phases separated by reductions; when the row
 *             fits, its loads stay in registers across phases (persistent:
 *             softmax, layernorm, rmsnorm read their input once), otherwise
 *             each phase streams it again. Warp shuffles, then shared memory.
 *  column     reductions over outer axes: a thread per output (TX), TY
 *             threads splitting the reduced range, combined in shared memory.
 * A reduction kernel's dims follow its main input's memory order (kept
 * dims, then reduced dims), so "outer" means the contiguous axis is kept,
 * whatever the logical order; sched_reduce.c chooses the block shape, the
 * split of the reduced range over blocks (partials in a scratch buffer,
 * combined by the last block of a group) and whether a normalization with
 * too few outputs for the SMs splits into a statistics kernel and a
 * pointwise apply kernel (gen_apply). Each kernel's header comment says
 * which schedule it got and why.
 * Accumulation is in cdtype (float for half/bfloat16 data); var/var_mean
 * use Welford's update and Chan's combination.
 *
 * Sizes and strides are kernel parameters (one block of 64-bit words), so a
 * new shape with the same layout pattern reuses the compiled module; strides
 * of 0 and 1 are built into the source, since they decide the access mode.
 */
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/codegen.h"
#include "cuda/scan.h"
#include "cuda/movement.h"
#include "cuda/sbuf.h"
#include "cuda/sched_reduce.h"
#include "cuda/segment.h"
#include "cfuser/alloc.h"
#include "cfuser/dtype.h"
#include "cfuser/status.h"
#include "move.h"

#define MAXD 16
#define MAXACC 64
#define MAXW 400

enum { K_LOAD, K_STORE, K_IOTA, K_RESHAPE, K_GATHER, K_FLAG };
enum { M_VEC, M_BCAST, M_GATHER };

typedef struct acc {
    int kind, slot, buf, instr;
    cf_dtype dt;
    int64_t st[MAXD];
    int mode;
    bool full;
    bool cached;  /* persistent: kept in registers across phases */
    int uses;     /* phases that read it */
    int rnd;
    int64_t rsh[CF_MAX_DIMS], rst[CF_MAX_DIMS];
} acc_t;

typedef struct gen {
    cf_segs *S;
    const cf_program *p;
    const cf_slot_value *v;
    const cf_cuda_device_info *dev;
    cf_sbuf *b;
    int *bufidx;
    /* the segment being generated */
    int gi;
    cf_seg *g;
    int nd, nout;                 /* dims; the first nout are outer       */
    int64_t dsz[MAXD];
    int dcls[MAXD];
    acc_t a[MAXACC];
    int na;
    int *lacc;                    /* slot -> load access, -1              */
    int *lvl;
    uint8_t *full;
    uint8_t *need;
    cf_pword w[MAXW];
    int nw;
    int V, TX, TY, ITEMS;
    bool persist, col, big;
    bool quick;                   /* the quick tier (cf_cuda_plan_build_tier) */
    uint8_t loaded[MAXACC];
    const char *jx;               /* element suffix of load arrays        */
    int flagbuf;                  /* buffer of the index-check flag, -1   */
    cf_rs_sched sched;            /* reduction schedule (sched_reduce.c)  */
    int64_t key[MAXD];            /* memory-order key of each domain dim  */
    cf_cuda_plan *plan;           /* for scratch buffers                  */
    int scratch;                  /* outer-grid: scratch buffer, -1 none  */
    int64_t cnt_bytes;            /* its counters, then the partials      */
    int pid;                      /* id of the kernel's parameter struct  */
    bool stats_only;              /* split normalization: statistics only */
    bool apply;                   /* split normalization: the apply kernel */
    int nrv;                      /* statistics handed to the apply kernel */
    int rv_slot[MAXACC], rv_buf[MAXACC];
    int a_nout;                   /* the statistics kernel's outer classes */
    int a_outer_cls[MAXD];
    int64_t a_outer_sz[MAXD];
    int npart;                    /* reductions with partials             */
    int part_instr[MAXACC];
    int64_t part_off[MAXACC];     /* their byte offsets in the scratch    */
} gen_t;

static cf_status too_big(void)
{
    return cf_error_set(CF_ERR_UNSUPPORTED, "cuda",
                        "fusion too large for one CUDA kernel (more than "
                        "%d accesses or %d axes)", MAXACC, MAXD);
}

static int word(gen_t *G, int kind, int ref, int64_t value)
{
    for (int i = 0; i < G->nw; i++)
        if (G->w[i].kind == kind && G->w[i].ref == ref &&
            G->w[i].value == value)
            return i;
    if (G->nw >= MAXW)
        return -1;
    G->w[G->nw] = (cf_pword){(uint8_t)kind, ref, value};
    return G->nw++;
}

/* For cuda/indexing.c (codegen.h). */
int cf_cg_word(gen_t *G, int kind, int ref, int64_t value) { return word(G, kind, ref, value); }
cf_sbuf *cf_cg_sb(gen_t *G) { return G->b; }
cf_segs *cf_cg_segs(gen_t *G) { return G->S; }
int cf_cg_buf(gen_t *G, int slot) { return G->bufidx[slot]; }
int cf_cg_flag_buf(gen_t *G) { return G->flagbuf; }

/* "(I)p.w[k]" for a run-time integer; literals for 0 and 1. */
static void ival(gen_t *G, char *o, size_t cap, int64_t x)
{
    if (x == 0 || x == 1) {
        snprintf(o, cap, "%d", (int)x);
        return;
    }
    int k = word(G, CF_PW_CONST, -1, x);
    snprintf(o, cap, "((I)p.w[%d])", k < 0 ? 0 : k);
}

static bool is_scalar_slot(const cf_program *p, int s)
{
    return p->slots[s].role == CF_SLOT_CONST ||
           p->slots[s].role == CF_SLOT_SCALAR;
}

static double scalar_as_double(cf_scalar x)
{
    if (cf_dtype_is_float(x.dtype))
        return x.v.f;
    if (cf_dtype_is_bool(x.dtype))
        return x.v.b ? 1.0 : 0.0;
    return (double)x.v.i;
}

static int64_t scalar_as_int(cf_scalar x)
{
    if (cf_dtype_is_float(x.dtype))
        return (int64_t)x.v.f;
    if (cf_dtype_is_bool(x.dtype))
        return x.v.b;
    return x.v.i;
}

/* Literal of a CONST slot in its register type. */
static void const_text(char *o, size_t cap, cf_dtype t, cf_scalar x)
{
    if (t == CF_DTYPE_DOUBLE) {
        double d = scalar_as_double(x);
        uint64_t u;
        memcpy(&u, &d, 8);
        snprintf(o, cap, "__longlong_as_double(0x%llxLL)",
                 (unsigned long long)u);
    } else if (cf_dtype_is_float(t)) {
        float f = (float)scalar_as_double(x);
        if (t == CF_DTYPE_HALF)
            f = cf_half_to_float(cf_float_to_half(f));
        else if (t == CF_DTYPE_BFLOAT16)
            f = cf_bf16_to_float(cf_float_to_bf16(f));
        uint32_t u;
        memcpy(&u, &f, 4);
        snprintf(o, cap, "__int_as_float(0x%x)", (unsigned)u);
    } else if (t == CF_DTYPE_BOOL) {
        snprintf(o, cap, "%s", scalar_as_int(x) ? "true" : "false");
    } else if (t == CF_DTYPE_INT32) {
        snprintf(o, cap, "((int)0x%xu)", (unsigned)(int32_t)scalar_as_int(x));
    } else {
        snprintf(o, cap, "((i64)0x%llxULL)",
                 (unsigned long long)scalar_as_int(x));
    }
}

/* A cache of half/bfloat16 vector loads (a persistent row's, or the
 * pointwise loop's vectors in flight) keeps the loaded vectors themselves,
 * two values a register, and converts at each use. Where ptxas keeps them
 * packed that halves the registers of a float copy; in the wide-row
 * normalisations it converted early anyway (same register count). */
static bool raw_cache(const acc_t *a)
{
    return a->cached && a->mode == M_VEC &&
           (a->dt == CF_DTYPE_HALF || a->dt == CF_DTYPE_BFLOAT16);
}

/* Expression of slot x's value at the current element. */
static void vexpr(gen_t *G, int x, char *o, size_t cap)
{
    const cf_program *p = G->p;
    cf_dtype t = p->slots[x].dtype;
    if (p->slots[x].role == CF_SLOT_CONST) {
        const_text(o, cap, t, p->slots[x].value);
        return;
    }
    if (p->slots[x].role == CF_SLOT_SCALAR) {
        int k = word(G, CF_PW_SCALAR, x, 0);
        if (cf_dtype_is_float(t)) {
            char e[64];
            snprintf(e, sizeof e, "__longlong_as_double(p.w[%d])", k);
            cf_cg_to_slot(o, cap, t, e);
        } else if (t == CF_DTYPE_BOOL) {
            snprintf(o, cap, "(p.w[%d]!=0)", k);
        } else {
            snprintf(o, cap, "((%s)p.w[%d])", cf_cg_regty(t), k);
        }
        return;
    }
    int ai = G->lacc[x];
    if (ai >= 0) {
        acc_t *a = &G->a[ai];
        if (a->kind == K_IOTA) {
            snprintf(o, cap, "v%d", x);
        } else if (!a->full && G->g->has_red && !G->apply) {
            snprintf(o, cap, "L%d", ai);
        } else if (a->mode == M_BCAST) {
            snprintf(o, cap, "L%d%s", ai, a->cached ? "[k][0]" : "[0]");
        } else if (raw_cache(a)) {
            char e[32];
            snprintf(e, sizeof e, "L%d[k].v[j]", ai);
            cf_cg_load_conv(o, cap, a->dt, e);
        } else {
            snprintf(o, cap, "L%d%s", ai, a->cached ? "[k][j]" : "[j]");
        }
        return;
    }
    snprintf(o, cap, "v%d", G->S->root[x]);
}

/* --- accesses ------------------------------------------------------------ */
static int dim_of_class(gen_t *G, int c)
{
    for (int i = 0; i < G->nd; i++)
        if (G->dcls[i] == c)
            return i;
    return -1;
}

static cf_status set_strides(gen_t *G, acc_t *a, int slot, const int64_t *st)
{
    for (int d = 0; d < G->p->slots[slot].ndim; d++) {
        int c = G->S->cls[slot][d];
        if (c < 0)
            continue;
        int i = dim_of_class(G, cf_seg_find(G->S, c));
        if (i < 0)
            return cf_error_set(CF_ERR_RUNTIME, "cuda",
                                "internal: an axis of slot %d is outside "
                                "its kernel's domain", slot);
        a->st[i] += st[d];
    }
    return CF_OK;
}

static cf_status add_load(gen_t *G, int x)
{
    if (is_scalar_slot(G->p, x) || G->lacc[x] >= 0)
        return CF_OK;
    if (!G->S->gview[x] && G->S->pseg[G->S->root[x]] == G->gi)
        return CF_OK; /* computed here */
    if (G->na >= MAXACC)
        return too_big();
    acc_t *a = &G->a[G->na];
    memset(a, 0, sizeof *a);
    a->kind = K_LOAD;
    a->slot = x;
    a->instr = -1;
    a->dt = G->p->slots[x].dtype;
    int64_t st[CF_MAX_DIMS];
    int base = x;
    if (G->S->gview[x]) {
        base = G->S->gbase[x];
        memcpy(st, G->S->gst[x], sizeof st);
    } else {
        cf_seg_storage_strides(G->S, x, st);
    }
    a->buf = G->bufidx[base];
    cf_status s = set_strides(G, a, x, st);
    if (s)
        return s;
    G->lacc[x] = G->na++;
    return CF_OK;
}

static cf_status add_special(gen_t *G, int instr)
{
    const cf_prog_instr *in = &G->p->instrs[instr];
    int o = in->out[0];
    if (G->na >= MAXACC)
        return too_big();
    acc_t *a = &G->a[G->na];
    memset(a, 0, sizeof *a);
    a->slot = o;
    a->instr = instr;
    a->buf = -1;
    a->dt = G->p->slots[o].dtype;
    int64_t st[CF_MAX_DIMS];
    int nd = G->p->slots[o].ndim;
    int64_t acc = 1;
    for (int d = nd - 1; d >= 0; d--) {
        st[d] = acc;
        acc *= G->v[o].shape[d] > 0 ? G->v[o].shape[d] : 1;
    }
    if (in->op == CF_OP_IOTA) {
        a->kind = K_IOTA;
    } else if (cf_move_op(in->op)) {
        /* read in place like a reshape: its sources from storage */
        a->kind = K_RESHAPE;
        a->buf = -1;
        for (int j = 0; j < (in->op == CF_OP_CAT ? in->nin : 1); j++) {
            int x = in->in[j], base = G->S->gview[x] ? G->S->gbase[x] : x;
            int64_t span = 0, xs[CF_MAX_DIMS];
            if (G->S->gview[x])
                memcpy(xs, G->S->gst[x], sizeof xs);
            else
                cf_seg_storage_strides(G->S, x, xs);
            for (int d = 0; d < G->p->slots[x].ndim; d++)
                span += (G->v[x].shape[d] > 0 ? G->v[x].shape[d] - 1 : 0) * (xs[d] < 0 ? -xs[d] : xs[d]);
            (void)base;
            if (span >= (a->rnd ? a->rsh[0] * a->rst[0] : 0)) {
                a->rnd = 1;
                a->rsh[0] = span + 1;
                a->rst[0] = 1;
            }
        }
    } else {
        int x = in->in[0];
        a->kind = K_RESHAPE;
        a->dt = G->p->slots[x].dtype;
        int base = G->S->gview[x] ? G->S->gbase[x] : x;
        a->buf = G->bufidx[base];
        a->rnd = G->p->slots[x].ndim;
        for (int d = 0; d < a->rnd; d++)
            a->rsh[d] = G->v[x].shape[d];
        if (G->S->gview[x])
            memcpy(a->rst, G->S->gst[x], sizeof a->rst);
        else
            cf_seg_storage_strides(G->S, x, a->rst);
    }
    cf_status s = set_strides(G, a, o, st);
    if (s)
        return s;
    G->lacc[o] = G->na++;
    return CF_OK;
}

/* GATHER instruction `instr`: its source read at a base offset (strides
 * of the result's axes) plus index * the indexed axis's stride; rnd/rsh/rst
 * hold that axis, and one K_FLAG access the index-check flag. */
static cf_status add_gather(gen_t *G, int instr)
{
    const cf_prog_instr *in = &G->p->instrs[instr];
    cf_segs *S = G->S;
    int o = in->out[0], x = in->in[0], nd = G->p->slots[o].ndim;
    int64_t sst[CF_MAX_DIMS], st[CF_MAX_DIMS];
    if (G->na + 2 > MAXACC)
        return too_big();
    bool flag = false;
    for (int k = 0; k < G->na; k++)
        flag |= G->a[k].kind == K_FLAG;
    if (!flag) {
        acc_t *f = &G->a[G->na++];
        memset(f, 0, sizeof *f);
        f->kind = K_FLAG;
        f->slot = -1;
        f->instr = -1;
        f->dt = CF_DTYPE_INT;
        f->buf = G->flagbuf;
    }
    acc_t *a = &G->a[G->na];
    memset(a, 0, sizeof *a);
    a->kind = K_GATHER;
    a->slot = o;
    a->instr = instr;
    a->dt = G->p->slots[x].dtype;
    a->buf = G->bufidx[S->gview[x] ? S->gbase[x] : x];
    if (S->gview[x])
        memcpy(sst, S->gst[x], sizeof sst);
    else
        cf_seg_storage_strides(S, x, sst);
    for (int d = 0; d < nd; d++) {
        int m = in->map[d];
        st[d] = m >= 0 && G->v[x].shape[m] != 1 ? sst[m] : 0;
    }
    a->rnd = 1;
    a->rsh[0] = G->v[x].shape[in->correction];
    a->rst[0] = sst[in->correction];
    cf_status s = set_strides(G, a, o, st);
    if (s)
        return s;
    G->na++;
    return CF_OK;
}

static cf_status emit_gather(gen_t *G, int i)
{
    int k = -1, f = -1, in = G->nd - 1;
    for (int q = 0; q < G->na; q++) {
        if (G->a[q].kind == K_GATHER && G->a[q].instr == i)
            k = q;
        if (G->a[q].kind == K_FLAG)
            f = q;
    }
    if (k < 0 || f < 0 || G->g->has_red)
        return cf_error_set(CF_ERR_RUNTIME, "cuda", "internal: a gather outside a pointwise kernel");
    const cf_prog_instr *ins = &G->p->instrs[i];
    char idx[200], s[64], off[160], ext[64], dst[64];
    vexpr(G, ins->in[1], idx, sizeof idx);
    ival(G, s, sizeof s, in >= 0 ? G->a[k].st[in] : 0);
    snprintf(off, sizeof off, "o%d+(I)j*%s", k, s);
    ival(G, ext, sizeof ext, G->a[k].rsh[0]);
    ival(G, dst, sizeof dst, G->a[k].rst[0]);
    cf_cg_gather_text(G->b, ins->out[0], i, G->a[k].dt, idx, ext, off, dst, k, f);
    return CF_OK;
}

static cf_status add_store(gen_t *G, int x)
{
    if (G->na >= MAXACC)
        return too_big();
    acc_t *a = &G->a[G->na];
    memset(a, 0, sizeof *a);
    a->kind = K_STORE;
    a->slot = x;
    a->instr = -1;
    a->dt = G->p->slots[x].dtype;
    a->buf = G->bufidx[x];
    int64_t st[CF_MAX_DIMS];
    cf_seg_storage_strides(G->S, x, st);
    cf_status s = set_strides(G, a, x, st);
    if (s)
        return s;
    G->na++;
    return CF_OK;
}

/* --- domain -------------------------------------------------------------- */
static cf_status build_domain(gen_t *G)
{
    cf_segs *S = G->S;
    cf_seg *g = G->g;
    int ref = g->ref;
    G->nd = 0;
    int outer[MAXD], inner[MAXD], no = 0, ni = 0;
    if (ref >= 0) {
        for (int d = 0; d < G->p->slots[ref].ndim; d++) {
            int c = S->cls[ref][d];
            if (c < 0)
                continue;
            c = cf_seg_find(S, c);
            if (no + ni >= MAXD)
                return too_big();
            if (g->has_red && ((g->red >> c) & 1))
                inner[ni++] = c;
            else
                outer[no++] = c;
        }
    }
    for (int i = 0; i < no; i++)
        G->dcls[G->nd++] = outer[i];
    for (int i = 0; i < ni; i++)
        G->dcls[G->nd++] = inner[i];
    G->nout = no;
    for (int i = 0; i < G->nd; i++)
        G->dsz[i] = S->csize[G->dcls[i]];
    return CF_OK;
}

/* Merge adjacent dims of one group that every access walks as one. */
static void collapse(gen_t *G)
{
    for (int i = G->nd - 2; i >= 0; i--) {
        if (i + 1 == G->nout)
            continue; /* never across outer/inner */
        bool ok = true;
        for (int k = 0; k < G->na && ok; k++)
            ok = G->a[k].st[i] == G->a[k].st[i + 1] * G->dsz[i + 1];
        if (!ok)
            continue;
        G->dsz[i] *= G->dsz[i + 1];
        for (int k = 0; k < G->na; k++)
            G->a[k].st[i] = G->a[k].st[i + 1];
        for (int j = i + 1; j + 1 < G->nd; j++) {
            G->dsz[j] = G->dsz[j + 1];
            G->dcls[j] = G->dcls[j + 1];
            for (int k = 0; k < G->na; k++)
                G->a[k].st[j] = G->a[k].st[j + 1];
        }
        G->nd--;
        if (i < G->nout)
            G->nout--;
    }
}

/* Sort dims [lo, hi) by key, outermost (largest) first; stable. */
static void sort_group(gen_t *G, int lo, int hi)
{
    for (int i = lo + 1; i < hi; i++)
        for (int j = i; j > lo && G->key[j - 1] < G->key[j]; j--) {
            int64_t t = G->key[j];
            G->key[j] = G->key[j - 1];
            G->key[j - 1] = t;
            t = G->dsz[j];
            G->dsz[j] = G->dsz[j - 1];
            G->dsz[j - 1] = t;
            int c = G->dcls[j];
            G->dcls[j] = G->dcls[j - 1];
            G->dcls[j - 1] = c;
            for (int k = 0; k < G->na; k++) {
                t = G->a[k].st[j];
                G->a[k].st[j] = G->a[k].st[j - 1];
                G->a[k].st[j - 1] = t;
            }
        }
}

static int64_t iabs64(int64_t x) { return x < 0 ? -x : x; }

/* Put the kept dims, and the reduced dims, of a reduction kernel in the
 * memory order of its main input (the load with the most strided axes, a
 * store when nothing is loaded), so that the innermost dim of the kernel
 * is the one memory is contiguous along whatever the logical order: a
 * channels-last tensor reduced over N, H, W becomes an outer reduction
 * along C, a transposed one a reduction along its columns. Returns false
 * when no access gives an order (the logical order stays). */
static bool order_domain(gen_t *G)
{
    int best = -1, bestn = -1;
    for (int pass = 0; pass < 2 && best < 0; pass++)
        for (int k = 0; k < G->na; k++) {
            if (G->a[k].kind != (pass == 0 ? K_LOAD : K_STORE))
                continue;
            int n = 0;
            for (int i = 0; i < G->nd; i++)
                n += G->a[k].st[i] != 0;
            if (n > bestn) {
                bestn = n;
                best = k;
            }
        }
    if (best < 0 || bestn <= 0)
        return false;
    for (int i = 0; i < G->nd; i++) {
        int64_t k = iabs64(G->a[best].st[i]);
        for (int q = 0; q < G->na && k == 0; q++)
            k = iabs64(G->a[q].st[i]);
        G->key[i] = k == 0 ? INT64_MAX : k; /* constant for all: outermost */
    }
    sort_group(G, 0, G->nout);
    sort_group(G, G->nout, G->nd);
    return true;
}

static int64_t prod(const int64_t *x, int n)
{
    int64_t r = 1;
    for (int i = 0; i < n; i++)
        r *= x[i];
    return r;
}

static bool need_64bit(gen_t *G)
{
    const int64_t lim = (int64_t)1 << 30;
    if (prod(G->dsz, G->nd) >= lim)
        return true;
    for (int k = 0; k < G->na; k++) {
        int64_t m = 0;
        for (int i = 0; i < G->nd; i++)
            m += (G->dsz[i] > 0 ? G->dsz[i] - 1 : 0) *
                 (G->a[k].st[i] < 0 ? -G->a[k].st[i] : G->a[k].st[i]);
        for (int d = 0; d < G->a[k].rnd; d++)
            m += (G->a[k].rsh[d] > 0 ? G->a[k].rsh[d] - 1 : 0) *
                 G->a[k].rst[d];
        if (m >= lim)
            return true;
    }
    return false;
}

static size_t esize(cf_dtype t)
{
    return cf_dtype_size(t);
}

/* Choose V and each access's mode along the innermost dim `in`. */
static void choose_vec(gen_t *G, int in, bool allow)
{
    size_t emax = 0;
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (in >= 0 && (a->kind == K_LOAD || a->kind == K_STORE) && a->st[in] == 1 &&
            esize(a->dt) > emax)
            emax = esize(a->dt);
    }
    int V = 1;
    if (allow && in >= 0 && emax > 0) {
        V = (int)(16 / emax);
        if (V > 8)
            V = 8;
        while (V > 1 && G->dsz[in] % V != 0)
            V /= 2;
    }
    G->V = V;
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        a->mode = M_GATHER;
        if (in < 0)
            continue;
        if (a->kind != K_LOAD && a->kind != K_STORE)
            continue;
        if (a->st[in] == 0) {
            a->mode = M_BCAST;
            continue;
        }
        if (a->st[in] != 1 || V == 1)
            continue;
        bool ok = true;
        int slot = a->slot;
        int base = a->kind == K_LOAD && G->S->gview[slot] ? G->S->gbase[slot]
                                                           : slot;
        const cf_program *p = G->p;
        if (p->slots[base].role == CF_SLOT_INPUT ||
            p->slots[base].role == CF_SLOT_OUTPUT)
            ok = ((uintptr_t)G->v[base].data % ((uintptr_t)V * esize(a->dt))) == 0;
        for (int i = 0; i < G->nd && ok; i++)
            if (i != in && a->st[i] % V != 0)
                ok = false;
        if (ok)
            a->mode = M_VEC;
    }
}

/* --- emission helpers ---------------------------------------------------- */
#define E(...) cf_sb_printf(G->b, __VA_ARGS__)

static void emit_buffers(gen_t *G)
{
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (a->buf < 0)
            continue;
        int w = word(G, CF_PW_PTR, a->buf, 0);
        const char *ty = cf_cg_stty(a->dt);
        const char *c = a->kind == K_STORE || a->kind == K_FLAG ? "" : "const ";
        E(" %s%s*__restrict__ B%d=(%s%s*)p.w[%d];\n", c, ty, k, c, ty, w);
    }
}

/* offset of access k from coordinates c<first..last-1> into `name` */
static void emit_offset(gen_t *G, int k, int first, int last,
                        const char *name, const char *base)
{
    char s[64];
    E(" I %s=%s", name, base);
    for (int i = first; i < last; i++) {
        int64_t st = G->a[k].st[i];
        if (st == 0)
            continue;
        ival(G, s, sizeof s, st);
        if (st == 1)
            E("+c%d", i);
        else
            E("+c%d*%s", i, s);
    }
    E(";\n");
}

/* unravel index expression `idx` into c<first..last-1> */
static void emit_unravel(gen_t *G, const char *idx, int first, int last)
{
    char s[64];
    if (last - first == 1) {
        E(" const I c%d=%s;\n", first, idx);
        return;
    }
    E(" I t_%d=%s;\n", first, idx);
    for (int i = last - 1; i > first; i--) {
        ival(G, s, sizeof s, G->dsz[i]);
        E(" const I c%d=t_%d%%%s; t_%d/=%s;\n", i, first, s, first, s);
    }
    E(" const I c%d=t_%d;\n", first, first);
}

/* What cuda/movement.c borrows from the generator. */
static void move_ival(void *G, char *o, size_t cap, int64_t x) { ival(G, o, cap, x); }
static void move_vexpr(void *G, int slot, char *o, size_t cap) { vexpr(G, slot, o, cap); }
static int move_storage(void *vg, int x, int64_t *st)
{
    gen_t *G = vg;
    int base = G->S->gview[x] ? G->S->gbase[x] : x;
    if (G->S->gview[x])
        memcpy(st, G->S->gst[x], sizeof(int64_t) * CF_MAX_DIMS);
    else
        cf_seg_storage_strides(G->S, x, st);
    return word(G, CF_PW_PTR, G->bufidx[base], 0);
}

static int move_recompute(void *vg, int x) { return cf_seg_recompute(((gen_t *)vg)->S, x); }

/* element load of access k at offset expression off into dst */
static void emit_elem_load(gen_t *G, int k, const char *off, const char *dst)
{
    acc_t *a = &G->a[k];
    char e[128], c[192];
    if (a->kind == K_RESHAPE && cf_move_op(G->p->instrs[a->instr].op)) {
        cf_cg_move_ctx mc = {G, G->p, G->v, move_ival, move_vexpr, move_storage, move_recompute};
        cf_cg_move_load(G->b, &mc, &G->p->instrs[a->instr], off, dst);
        return;
    }
    if (a->kind == K_RESHAPE) {
        char s[64];
        E(" {I t=%s; I so=0;", off);
        for (int d = a->rnd - 1; d >= 0; d--) {
            if (d > 0) {
                ival(G, s, sizeof s, a->rsh[d]);
                char st[64];
                ival(G, st, sizeof st, a->rst[d]);
                E(" so+=(t%%%s)*%s; t/=%s;", s, st, s);
            } else {
                ival(G, s, sizeof s, a->rst[d]);
                E(" so+=t*%s;", s);
            }
        }
        snprintf(e, sizeof e, "B%d[so]", k);
        cf_cg_load_conv(c, sizeof c, a->dt, e);
        E(" %s=%s;}\n", dst, c);
        return;
    }
    snprintf(e, sizeof e, "B%d[%s]", k, off);
    cf_cg_load_conv(c, sizeof c, a->dt, e);
    E(" %s=%s;\n", dst, c);
}

/* --- instructions -------------------------------------------------------- */
static bool nontrivial_red(gen_t *G, const cf_prog_instr *in)
{
    if (!cf_op_is_reduction(in->op))
        return false;
    return (cf_seg_mask(G->S, in->in[0]) & ~cf_seg_mask(G->S, in->out[0])) !=
           0;
}

static cf_status emit_instr(gen_t *G, int i)
{
    const cf_prog_instr *in = &G->p->instrs[i];
    int o = in->out[0];
    cf_dtype ot = G->p->slots[o].dtype;
    char args[4][200], conv[4][240], ex[1400], fin[1500];
    const char *ap[4];
    if (in->op == CF_OP_IOTA) {
        /* v<o> defined by the access code (offset-based) */
        return CF_OK;
    }
    if (in->op == CF_OP_GATHER)
        return emit_gather(G, i);
    for (int k = 0; k < in->nin; k++) {
        vexpr(G, in->in[k], args[k], sizeof args[k]);
        cf_dtype ct = in->cdtype;
        if (in->op == CF_OP_WHERE && k == 0)
            snprintf(conv[k], sizeof conv[k], "%.199s", args[k]);
        else if (in->op == CF_OP_CAST || in->op == CF_OP_SET ||
                 in->op == CF_OP_SEGMENT_SET || in->op == CF_OP_FULL ||
                 in->op == CF_OP_COPY)
            snprintf(conv[k], sizeof conv[k], "%.199s", args[k]);
        else
            snprintf(conv[k], sizeof conv[k], "((%s)%.199s)",
                     cf_cg_regty(ct == CF_DTYPE_HALF ||
                                         ct == CF_DTYPE_BFLOAT16
                                     ? CF_DTYPE_FLOAT : ct),
                     args[k]);
        ap[k] = conv[k];
    }
    if (in->op == CF_OP_COPY || cf_move_op(in->op)) {
        vexpr(G, o, args[0], sizeof args[0]);
        cf_cg_to_slot(fin, sizeof fin, ot, args[0]);
        E(" const %s v%d=%s;\n", cf_cg_regty(ot), o, fin);
        return CF_OK;
    }
    if (in->op == CF_OP_FULL) {
        cf_cg_to_slot(fin, sizeof fin, ot, ap[0]);
        E(" const %s v%d=%s;\n", cf_cg_regty(ot), o, fin);
        return CF_OK;
    }
    if (cf_op_is_reduction(in->op)) {
        /* over size-1 axes only: the reduction of one element */
        if (in->op == CF_OP_VAR || in->op == CF_OP_VAR_MEAN) {
            char z[300];
            snprintf(z, sizeof z, "((%s)0/((%s)1-(%s)%lld>0?(%s)1-(%s)%lld:"
                     "(%s)0))", cf_cg_regty(in->cdtype),
                     cf_cg_regty(in->cdtype), cf_cg_regty(in->cdtype),
                     (long long)in->correction, cf_cg_regty(in->cdtype),
                     cf_cg_regty(in->cdtype), (long long)in->correction,
                     cf_cg_regty(in->cdtype));
            cf_cg_to_slot(fin, sizeof fin, ot, z);
            E(" const %s v%d=%s;\n", cf_cg_regty(ot), o, fin);
            if (in->op == CF_OP_VAR_MEAN) {
                int o2 = in->out[1];
                cf_dtype t2 = G->p->slots[o2].dtype;
                cf_cg_to_slot(fin, sizeof fin, t2, ap[0]);
                E(" const %s v%d=%s;\n", cf_cg_regty(t2), o2, fin);
            }
            return CF_OK;
        }
        cf_cg_to_slot(fin, sizeof fin, ot, ap[0]);
        E(" const %s v%d=%s;\n", cf_cg_regty(ot), o, fin);
        return CF_OK;
    }
    if (cf_cg_op_text(ex, sizeof ex, in->op, in->cdtype, ap) != 0)
        return cf_error_set(CF_ERR_UNSUPPORTED, "cuda",
                            "op %s is not supported by the CUDA executor",
                            cf_op_name(in->op) ? cf_op_name(in->op) : "?");
    cf_cg_to_slot(fin, sizeof fin, ot, ex);
    E(" const %s v%d=%s;\n", cf_cg_regty(ot), o, fin);
    return CF_OK;
}

/* IOTA values: start + index * step, index from the access's offset. */
static void emit_iota(gen_t *G, int k, const char *off)
{
    acc_t *a = &G->a[k];
    const cf_prog_instr *in = &G->p->instrs[a->instr];
    char s0[200], s1[200], e[600], fin[700];
    const char *T = cf_cg_regty(in->cdtype == CF_DTYPE_HALF ||
                                        in->cdtype == CF_DTYPE_BFLOAT16
                                    ? CF_DTYPE_FLOAT : in->cdtype);
    vexpr(G, in->in[0], s0, sizeof s0);
    vexpr(G, in->in[1], s1, sizeof s1);
    snprintf(e, sizeof e, "((%s)%s+(%s)(%s)*(%s)%s)", T, s0, T, off, T, s1);
    cf_cg_to_slot(fin, sizeof fin, a->dt, e);
    E(" const %s v%d=%s;\n", cf_cg_regty(a->dt), a->slot, fin);
}

static const char *red_functor(cf_opcode op)
{
    switch (op) {
    case CF_OP_SUM: return "Sum";
    case CF_OP_PROD: return "Prod";
    case CF_OP_MAX: return "Max";
    case CF_OP_MIN: return "Min";
    default: return "Wel";
    }
}

static void red_identity(char *o, size_t cap, cf_opcode op, cf_dtype t)
{
    bool f = cf_dtype_is_float(t) && t != CF_DTYPE_HALF &&
             t != CF_DTYPE_BFLOAT16;
    bool d = t == CF_DTYPE_DOUBLE;
    const char *T = cf_cg_regty(t);
    switch (op) {
    case CF_OP_SUM: snprintf(o, cap, "(%s)0", T); return;
    case CF_OP_PROD: snprintf(o, cap, "(%s)1", T); return;
    case CF_OP_MAX: case CF_OP_MIN: {
        bool mx = op == CF_OP_MAX;
        if (f)
            snprintf(o, cap, "%s%s", mx ? "-" : "",
                     d ? "__longlong_as_double(0x7ff0000000000000LL)"
                       : "__int_as_float(0x7f800000)");
        else if (t == CF_DTYPE_BOOL)
            snprintf(o, cap, "%s", mx ? "false" : "true");
        else if (t == CF_DTYPE_INT32)
            snprintf(o, cap, "(int)0x%xu", mx ? 0x80000000u : 0x7fffffffu);
        else
            snprintf(o, cap, "(i64)0x%llxULL",
                     mx ? 0x8000000000000000ULL : 0x7fffffffffffffffULL);
        return;
    }
    default: snprintf(o, cap, "Sh<%s>{(%s)0,(%s)0,(%s)0,(%s)0}", T, T, T, T, T);
    }
}

/* --- pointwise kernel ---------------------------------------------------- */
static void launch_dims(cf_kernel_launch *L, unsigned gx, unsigned bx,
                        unsigned by)
{
    L->grid[0] = gx ? gx : 1;
    L->grid[1] = L->grid[2] = 1;
    L->block[0] = bx;
    L->block[1] = by;
    L->block[2] = 1;
}

static cf_status emit_values(gen_t *G, bool only_needed, int phase)
{
    for (int k = 0; k < G->g->ninstrs; k++) {
        int i = G->g->instrs[k];
        const cf_prog_instr *in = &G->p->instrs[i];
        if ((only_needed || G->apply) && !G->need[i])
            continue;
        if (!only_needed && !G->apply && G->g->has_red) {
            /* row-level instructions of this phase */
            if (G->full[in->out[0]] || nontrivial_red(G, in))
                continue;
            if (G->lvl[in->out[0]] != phase)
                continue;
        }
        cf_status s = emit_instr(G, i);
        if (s)
            return s;
    }
    return CF_OK;
}

/* Does slot x (stored by this segment) get its value here? */
static bool stored_here(gen_t *G, int x)
{
    cf_segs *S = G->S;
    if (G->g->copy_slot >= 0)
        return x == G->g->copy_slot;
    return S->mat[x] && !S->gview[x] && !is_scalar_slot(G->p, x) &&
           S->pseg[S->root[x]] == G->gi;
}

/* Schedule knobs, for tuning on a device: CFUSER_CUDA_TUNE holds
 * "name=value" pairs separated by commas, read once. The values enter the
 * generated source, so kernels of other settings never mix in the caches.
 *   pw_unroll      vectors each thread loads before computing (pointwise)
 *   persist_max    values a thread may keep across a row's phases
 *   row_minblocks  minimum resident blocks asked of row kernels (0: none)
 *   row_unroll     unrolling of the loop over a row that does not stay in
 *                  registers (loads of several steps in flight) */
typedef struct tune {
    int pw_unroll, persist_max, row_minblocks, row_unroll;
} tune_t;

static pthread_once_t tune_once = PTHREAD_ONCE_INIT;
static tune_t tune; /* the defaults are set by tune_read (no .data) */

static void tune_read(void)
{
    tune = (tune_t){.pw_unroll = 4, .persist_max = 96, .row_minblocks = 0, .row_unroll = 1};
    const char *env = getenv("CFUSER_CUDA_TUNE");
    char buf[256];
    snprintf(buf, sizeof buf, "%s", env ? env : "");
    for (char *save = NULL, *kv = strtok_r(buf, ",", &save); kv; kv = strtok_r(NULL, ",", &save)) {
        char *eq = strchr(kv, '=');
        if (!eq)
            continue;
        *eq = '\0';
        int v = atoi(eq + 1);
        if (!strcmp(kv, "pw_unroll") && v >= 1 && v <= 8)
            tune.pw_unroll = v;
        else if (!strcmp(kv, "persist_max") && v >= 0)
            tune.persist_max = v;
        else if (!strcmp(kv, "row_minblocks") && v >= 0 && v <= 32)
            tune.row_minblocks = v;
        else if (!strcmp(kv, "row_unroll") && v >= 1 && v <= 16)
            tune.row_unroll = v;
    }
}

static const tune_t *tuning(void)
{
    pthread_once(&tune_once, tune_read);
    return &tune;
}

/* Pointwise: coordinates and offsets of the vector at index `vi`. */
static void emit_pw_index(gen_t *G)
{
    char on[16];
    E(" const I i0=vi*%d;\n", G->V);
    if (G->nd > 0)
        emit_unravel(G, "i0", 0, G->nd);
    for (int k = 0; k < G->na; k++) {
        snprintf(on, sizeof on, "o%d", k);
        emit_offset(G, k, 0, G->nd, on, "0");
    }
}

/* Pointwise loads into L<k><jpre>: jpre "" declares one vector's arrays
 * here; "[k]" fills slot k of arrays declared by emit_pw_decls. */
static void emit_pw_loads(gen_t *G, const char *jpre)
{
    int in = G->nd - 1, V = G->V;
    char s[64];
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (a->kind == K_STORE || a->kind == K_IOTA || a->kind == K_GATHER || a->kind == K_FLAG)
            continue;
        const char *rt = cf_cg_regty(a->dt);
        char dst[32], off[96];
        if (a->mode == M_BCAST) {
            snprintf(dst, sizeof dst, "L%d%s[0]", k, jpre);
            snprintf(off, sizeof off, "o%d", k);
            if (!*jpre)
                E(" %s L%d[1];", rt, k);
            emit_elem_load(G, k, off, dst);
            continue;
        }
        if (!*jpre)
            E(" %s L%d[%d];\n", rt, k, V);
        if (raw_cache(a)) {
            E(" L%d[k]=*(const V<%s,%d>*)(B%d+o%d);\n", k, cf_cg_stty(a->dt), V, k, k);
        } else if (a->mode == M_VEC) {
            char c[128];
            cf_cg_load_conv(c, sizeof c, a->dt, "x.v[j]");
            E(" {const V<%s,%d> x=*(const V<%s,%d>*)(B%d+o%d);\n #pragma "
              "unroll\n for(int j=0;j<%d;j++){L%d%s[j]=%s;}}\n",
              cf_cg_stty(a->dt), V, cf_cg_stty(a->dt), V, k, k, V, k, jpre, c);
        } else {
            ival(G, s, sizeof s, in >= 0 ? a->st[in] : 0);
            E(" #pragma unroll\n for(int j=0;j<%d;j++){", V);
            snprintf(off, sizeof off, "o%d+(I)j*%s", k, s);
            snprintf(dst, sizeof dst, "L%d%s[j]", k, jpre);
            emit_elem_load(G, k, off, dst);
            E(" }\n");
        }
    }
}

/* Arrays holding U vectors of every load (slot k per vector). */
static void emit_pw_decls(gen_t *G, int U)
{
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (a->kind == K_STORE || a->kind == K_IOTA || a->kind == K_GATHER || a->kind == K_FLAG)
            continue;
        if (raw_cache(a))
            E(" V<%s,%d> L%d[%d];\n", cf_cg_stty(a->dt), G->V, k, U);
        else
            E(" %s L%d[%d][%d];\n", cf_cg_regty(a->dt), k, U, a->mode == M_BCAST ? 1 : G->V);
    }
}

/* Pointwise values and stores of the vector whose loads are in place. */
static cf_status emit_pw_compute(gen_t *G)
{
    int in = G->nd - 1, V = G->V;
    char s[64];
    for (int k = 0; k < G->na; k++)
        if (G->a[k].kind == K_STORE)
            E(" %s S%d[%d];\n", cf_cg_stty(G->a[k].dt), k, V);
    E(" #pragma unroll\n for(int j=0;j<%d;j++){\n", V);
    for (int k = 0; k < G->na; k++) {
        if (G->a[k].kind != K_IOTA)
            continue;
        char off[96];
        ival(G, s, sizeof s, in >= 0 ? G->a[k].st[in] : 0);
        snprintf(off, sizeof off, "(o%d+(I)j*%s)", k, s);
        emit_iota(G, k, off);
    }
    cf_status st = emit_values(G, false, 0);
    if (st)
        return st;
    for (int k = 0; k < G->na; k++) {
        if (G->a[k].kind != K_STORE)
            continue;
        char vx[200], c[260];
        vexpr(G, G->a[k].slot, vx, sizeof vx);
        cf_cg_store_conv(c, sizeof c, G->a[k].dt, vx);
        E(" S%d[j]=%s;\n", k, c);
    }
    E(" }\n");
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (a->kind != K_STORE)
            continue;
        E(" if(1");
        for (int i = 0; i < G->nd; i++)
            if (a->st[i] == 0 && i != in)
                E("&&c%d==0", i);
        E("){");
        if (a->mode == M_VEC) {
            E("V<%s,%d> y;\n #pragma unroll\n for(int j=0;j<%d;j++)"
              "y.v[j]=S%d[j];*(V<%s,%d>*)(B%d+o%d)=y;",
              cf_cg_stty(a->dt), V, V, k, cf_cg_stty(a->dt), V, k, k);
        } else if (a->mode == M_BCAST) {
            E("if(c%d==0)B%d[o%d]=S%d[0];", in, k, k, k);
        } else {
            ival(G, s, sizeof s, in >= 0 ? a->st[in] : 0);
            E("\n #pragma unroll\n for(int j=0;j<%d;j++)B%d[o%d+(I)j*%s]="
              "S%d[j];", V, k, k, s, k);
        }
        E("}\n");
    }
    return CF_OK;
}

static void set_pw_cached(gen_t *G, bool on)
{
    for (int k = 0; k < G->na; k++)
        G->a[k].cached = on && (G->a[k].kind == K_LOAD || G->a[k].kind == K_RESHAPE);
}

/* A grid-stride loop over vectors. With U > 1 each step of a thread takes
 * U vectors a block apart and issues the loads of all U before the first
 * value is computed (bytes in flight, not threads, bound a streaming
 * kernel; the compiler does not move loads across the stores of an
 * earlier vector by itself). Guards, not a second copy of the body, keep
 * the last step in range: compile time grows with the code. */
static cf_status gen_pointwise(gen_t *G, cf_kernel_launch *L)
{
    const int TPB = 256;
    choose_vec(G, G->nd - 1, true);
    int V = G->V;
    int64_t total = prod(G->dsz, G->nd);
    int64_t nv = total / V;
    int U = G->quick ? 1 : tuning()->pw_unroll;
    char s[64];
    cf_status st;
    G->jx = "[j]";
    E("extern \"C\" __global__ void __launch_bounds__(%d) %s(const P%d "
      "p){\n typedef %s I;\n",
      TPB, L->name, G->pid, G->big ? "long long" : "int");
    emit_buffers(G);
    ival(G, s, sizeof s, nv);
    E(" const I nv=%s;\n", s);
    E(" for(I vb=(I)blockIdx.x*%d+threadIdx.x;vb<nv;vb+=(I)gridDim.x*%d){\n", TPB * U, TPB * U);
    if (U > 1) {
        set_pw_cached(G, true);
        emit_pw_decls(G, U);
        E(" #pragma unroll\n for(int k=0;k<%d;k++){const I vi=vb+k*%d;if(vi<nv){\n", U, TPB);
        emit_pw_index(G);
        emit_pw_loads(G, "[k]");
        E(" }}\n #pragma unroll\n for(int k=0;k<%d;k++){const I vi=vb+k*%d;if(vi<nv){\n", U, TPB);
        emit_pw_index(G);
        st = emit_pw_compute(G);
        set_pw_cached(G, false);
        if (st)
            return st;
        E(" }}\n");
    } else {
        E(" const I vi=vb;\n");
        emit_pw_index(G);
        emit_pw_loads(G, "");
        if ((st = emit_pw_compute(G)))
            return st;
    }
    E(" }\n}\n");
    int64_t blocks = (nv + (int64_t)TPB * U - 1) / ((int64_t)TPB * U);
    int64_t cap = (int64_t)G->dev->sm_count * (2048 / TPB) * 2;
    if (blocks > cap)
        blocks = cap;
    launch_dims(L, (unsigned)blocks, TPB, 1);
    L->smem = 0;
    return CF_OK;
}

/* --- row and column reduction kernels ------------------------------------ */
static int in_level(gen_t *G, int x)
{
    if (is_scalar_slot(G->p, x) || G->lacc[x] >= 0)
        return 0;
    return G->lvl[G->S->root[x]];
}

static bool in_full(gen_t *G, int x)
{
    if (is_scalar_slot(G->p, x))
        return false;
    if (G->lacc[x] >= 0)
        return G->a[G->lacc[x]].full;
    return G->full[G->S->root[x]];
}

/* Levels: a value after k reductions is available from phase k. */
static int compute_levels(gen_t *G)
{
    int maxl = 0;
    for (int k = 0; k < G->g->ninstrs; k++) {
        const cf_prog_instr *in = &G->p->instrs[G->g->instrs[k]];
        int l = 0;
        bool f = false;
        for (int j = 0; j < in->nin; j++) {
            int li = in_level(G, in->in[j]);
            if (li > l)
                l = li;
            f |= in_full(G, in->in[j]);
        }
        bool red = nontrivial_red(G, in);
        if (red && l > maxl)
            maxl = l;
        for (int j = 0; j < in->nout; j++) {
            int o = in->out[j];
            G->lvl[o] = l + (red ? 1 : 0);
            if (in->op == CF_OP_IOTA || in->op == CF_OP_COPY || cf_move_op(in->op))
                G->full[o] = G->a[G->lacc[o]].full;
            else
                G->full[o] = red ? 0 : (f || (cf_seg_mask(G->S, o) &
                                              G->g->red) != 0);
            if (G->lvl[o] > maxl)
                maxl = G->lvl[o];
        }
    }
    return maxl;
}

static void mark_need(gen_t *G, int x)
{
    if (is_scalar_slot(G->p, x) || G->lacc[x] >= 0)
        return;
    int r = G->S->root[x];
    if (!G->full[r] || G->S->prod[r] < 0)
        return;
    G->need[G->S->prod[r]] = 1;
}

/* Is load access k read by the work of this phase? */
static bool load_used(gen_t *G, int k)
{
    int slot = G->a[k].slot;
    for (int j = 0; j < G->g->ninstrs; j++) {
        int i = G->g->instrs[j];
        const cf_prog_instr *in = &G->p->instrs[i];
        bool red_here = nontrivial_red(G, in) && G->need[G->p->ninstrs + i];
        if (!G->need[i] && !red_here)
            continue;
        for (int q = 0; q < in->nin; q++)
            if (in->in[q] == slot || (G->lacc[in->in[q]] == k))
                return true;
    }
    for (int q = 0; q < G->na; q++)
        if (G->a[q].kind == K_STORE && G->a[q].full &&
            G->need[G->p->ninstrs * 2 + q] && G->lacc[G->a[q].slot] == k)
            return true;
    return false;
}

/* Reductions whose accumulator is a Welford state (count, mean, M2):
 * var and var_mean; a welford op joins here. */
static bool is_welford(cf_opcode op)
{
    return op == CF_OP_VAR || op == CF_OP_VAR_MEAN;
}

static void emit_reduce_update(gen_t *G, int i)
{
    const cf_prog_instr *in = &G->p->instrs[i];
    char x[200];
    vexpr(G, in->in[0], x, sizeof x);
    const char *T = cf_cg_regty(in->cdtype);
    if (is_welford(in->op))
        E(" if(ev)wpush(a%d,(%s)%s);\n", i, T, x);
    else
        E(" if(ev)a%d=%s()(a%d,(%s)%s);\n", i, red_functor(in->op), i, T, x);
}


/* Combine the threads of a row (or column) group: a<i> (w<i> for Welford
 * states) holds the group's result in every thread. */
static void emit_reduce_combine(gen_t *G, int i)
{
    const cf_prog_instr *in = &G->p->instrs[i];
    const char *T = cf_cg_regty(in->cdtype);
    const char *how = G->col ? "colred" : "rowred";
    if (is_welford(in->op))
        E(" Wf<%s> w%d=%s<%d,%d>(wfin(a%d),Wel(),sm);\n", T, i, how, G->TX, G->TY, i);
    else
        E(" a%d=%s<%d,%d>(a%d,%s(),sm);\n", i, how, G->TX, G->TY, i, red_functor(in->op));
}

/* The value(s) of reduction i from its combined state. */
static void emit_reduce_value(gen_t *G, int i)
{
    const cf_prog_instr *in = &G->p->instrs[i];
    const char *T = cf_cg_regty(in->cdtype);
    char e[200], fin[300];
    cf_dtype t0 = G->p->slots[in->out[0]].dtype;
    if (is_welford(in->op)) {
        snprintf(e, sizeof e, "wvar(w%d,(%s)%lld)", i, T, (long long)in->correction);
        cf_cg_to_slot(fin, sizeof fin, t0, e);
        E(" const %s v%d=%s;\n", cf_cg_regty(t0), in->out[0], fin);
        if (in->op == CF_OP_VAR_MEAN) {
            cf_dtype t1 = G->p->slots[in->out[1]].dtype;
            snprintf(e, sizeof e, "wmean(w%d)", i);
            cf_cg_to_slot(fin, sizeof fin, t1, e);
            E(" const %s v%d=%s;\n", cf_cg_regty(t1), in->out[1], fin);
        }
        return;
    }
    snprintf(e, sizeof e, "a%d", i);
    cf_cg_to_slot(fin, sizeof fin, t0, e);
    E(" const %s v%d=%s;\n", cf_cg_regty(t0), in->out[0], fin);
}

/* Bytes of one partial state of reduction i in the scratch buffer. */
static int64_t partial_bytes(const cf_prog_instr *in)
{
    int64_t t = (int64_t)cf_dtype_size(in->cdtype);
    if (in->cdtype == CF_DTYPE_HALF || in->cdtype == CF_DTYPE_BFLOAT16)
        t = 4; /* accumulated in float */
    return is_welford(in->op) ? 3 * t : t;
}

/* outer-grid / split rows: every block of a group stores the partial
 * states of its part of the reduced range; the last block to arrive (a
 * counter per group in the scratch buffer) folds them and goes on with the
 * later phases, the others leave. The counters are zero at the start of
 * each run (launch.c clears them) and the last block puts its back. */
static void emit_grid_combine(gen_t *G, const int *red, int nred)
{
    char s[64];
    int tdim = G->col ? G->TY : G->TX;
    int w = word(G, CF_PW_PTR, G->scratch, 0);
    ival(G, s, sizeof s, G->sched.blocks);
    E(" unsigned char*const SCR=(unsigned char*)p.w[%d];\n", w);
    for (int q = 0; q < nred; q++) {
        int i = red[q];
        const cf_prog_instr *in = &G->p->instrs[i];
        const char *T = cf_cg_regty(in->cdtype);
        int64_t off = -1;
        for (int k = 0; k < G->npart; k++)
            if (G->part_instr[k] == i)
                off = G->part_off[k];
        char o[64];
        ival(G, o, sizeof o, off);
        if (is_welford(in->op))
            E(" Wf<%s>*PP%d=(Wf<%s>*)(SCR+%s);if(rv&&tx==0)PP%d[(I)blockIdx.y*nrow+row]=w%d;\n",
              T, i, T, o, i, i);
        else
            E(" %s*PP%d=(%s*)(SCR+%s);if(rv&&tx==0)PP%d[(I)blockIdx.y*nrow+row]=a%d;\n", T, i, T, o,
              i, i);
    }
    E(" __shared__ int last_;\n __threadfence();__syncthreads();\n"
      " if(threadIdx.x==0&&threadIdx.y==0){unsigned*C=(unsigned*)SCR;"
      "const unsigned t=atomicAdd(&C[blockIdx.x],1u);last_=t==gridDim.y-1;"
      "if(last_)C[blockIdx.x]=0u;}\n"
      " __syncthreads();if(!last_)return;__threadfence();\n");
    for (int q = 0; q < nred; q++) {
        int i = red[q];
        const cf_prog_instr *in = &G->p->instrs[i];
        const char *T = cf_cg_regty(in->cdtype);
        const char *how = G->col ? "colred" : "rowred";
        if (is_welford(in->op)) {
            E(" {Wf<%s> u;u.n=u.m=u.q=(%s)0;if(rv)for(int s=tx;s<(int)gridDim.y;s+=%d)"
              "u=wcomb(u,ldv(&PP%d[(I)s*nrow+row]));w%d=%s<%d,%d>(u,Wel(),sm);}\n",
              T, T, tdim, i, i, how, G->TX, G->TY);
        } else {
            char id[200];
            red_identity(id, sizeof id, in->op, in->cdtype);
            E(" {%s u=%s;if(rv)for(int s=tx;s<(int)gridDim.y;s+=%d)u=%s()(u,ldv(&PP%d[(I)s*nrow+row]));"
              "a%d=%s<%d,%d>(u,%s(),sm);}\n",
              T, id, tdim, red_functor(in->op), i, i, how, G->TX, G->TY, red_functor(in->op));
        }
    }
}

static bool compute_need(gen_t *G, int ph);

/* Can this segment's normalization split into a statistics kernel and an
 * apply kernel? Not with iota or copy accesses (they have no pointwise
 * form here). */
static bool split_ok(gen_t *G)
{
    if (G->g->copy_slot >= 0)
        return false;
    for (int k = 0; k < G->g->ninstrs; k++) {
        cf_opcode op = G->p->instrs[G->g->instrs[k]].op;
        if (op == CF_OP_IOTA || op == CF_OP_COPY)
            return false;
    }
    return true;
}

/* A buffer of the plan allocated per run. */
static int plan_temp(gen_t *G, int64_t bytes, int64_t zero_bytes)
{
    cf_plan_buffer *b = &G->plan->buffers[G->plan->nbuffers];
    memset(b, 0, sizeof *b);
    b->slot = -1;
    b->temp = true;
    b->bytes = bytes > 16 ? bytes : 16;
    b->zero_bytes = zero_bytes;
    return G->plan->nbuffers++;
}

/* Statistics kernel: a buffer per output of each first-phase reduction,
 * one value per row in the output's dtype (the value the fused kernel
 * would have used), for the apply kernel. */
static cf_status plan_stats(gen_t *G, int64_t nrow)
{
    const cf_program *p = G->p;
    int ni = p->ninstrs;
    compute_need(G, 0);
    G->nrv = 0;
    for (int j = 0; j < G->g->ninstrs; j++) {
        int i = G->g->instrs[j];
        if (!G->need[ni + i])
            continue;
        for (int q = 0; q < p->instrs[i].nout; q++) {
            int o = p->instrs[i].out[q];
            if (G->nrv >= MAXACC)
                return too_big();
            G->rv_slot[G->nrv] = o;
            G->rv_buf[G->nrv++] = plan_temp(G, nrow * (int64_t)cf_dtype_size(p->slots[o].dtype), 0);
        }
    }
    return CF_OK;
}

/* The scratch buffer of a split reduction: counters (one per block along
 * the outputs), then the partial states of each reduction of the first
 * phase, [splits][nrow] each. */
static cf_status plan_scratch(gen_t *G, int64_t nrow)
{
    const cf_program *p = G->p;
    int ni = p->ninstrs;
    compute_need(G, 0);
    int64_t at = (G->sched.blocks * 4 + 255) / 256 * 256;
    G->cnt_bytes = at;
    G->npart = 0;
    for (int j = 0; j < G->g->ninstrs; j++) {
        int i = G->g->instrs[j];
        if (!G->need[ni + i])
            continue;
        if (G->npart >= MAXACC)
            return too_big();
        G->part_instr[G->npart] = i;
        G->part_off[G->npart++] = at;
        at += (partial_bytes(&p->instrs[i]) * G->sched.splits * nrow + 255) / 256 * 256;
    }
    G->scratch = plan_temp(G, at, G->cnt_bytes);
    return CF_OK;
}

static void emit_full_load(gen_t *G, int k, const char *jpre)
{
    acc_t *a = &G->a[k];
    char s[64], dst[48], off[96];
    int V = G->V, in = G->nd - 1;
    E(" if(ev){\n");
    if (raw_cache(a)) {
        E(" L%d[k]=*(const V<%s,%d>*)(B%d+q%d);\n", k, cf_cg_stty(a->dt), V, k, k);
    } else if (a->mode == M_VEC) {
        E(" const V<%s,%d> x=*(const V<%s,%d>*)(B%d+q%d);\n #pragma unroll\n"
          " for(int j=0;j<%d;j++)", cf_cg_stty(a->dt), V, cf_cg_stty(a->dt),
          V, k, k, V);
        char c[128];
        cf_cg_load_conv(c, sizeof c, a->dt, "x.v[j]");
        E("L%d%s[j]=%s;\n", k, jpre, c);
    } else if (a->mode == M_BCAST) {
        snprintf(dst, sizeof dst, "L%d%s[0]", k, jpre);
        snprintf(off, sizeof off, "q%d", k);
        emit_elem_load(G, k, off, dst);
    } else {
        ival(G, s, sizeof s, a->st[in]);
        E(" #pragma unroll\n for(int j=0;j<%d;j++){", V);
        snprintf(dst, sizeof dst, "L%d%s[j]", k, jpre);
        snprintf(off, sizeof off, "q%d+(I)j*%s", k, s);
        emit_elem_load(G, k, off, dst);
        E(" }\n");
    }
    E(" }\n");
}

static void emit_full_store(gen_t *G, int k)
{
    acc_t *a = &G->a[k];
    char s[64];
    int V = G->V, in = G->nd - 1;
    E(" if(ev");
    for (int i = 0; i < G->nd - 1; i++)
        if (a->st[i] == 0)
            E("&&c%d==0", i);
    E("){");
    if (a->mode == M_VEC) {
        E("V<%s,%d> y;\n #pragma unroll\n for(int j=0;j<%d;j++)y.v[j]=S%d[j];"
          "*(V<%s,%d>*)(B%d+q%d)=y;", cf_cg_stty(a->dt), V, V, k,
          cf_cg_stty(a->dt), V, k, k);
    } else if (a->mode == M_BCAST) {
        E("if(c%d==0)B%d[q%d]=S%d[0];", in, k, k, k);
    } else {
        ival(G, s, sizeof s, a->st[in]);
        E("\n #pragma unroll\n for(int j=0;j<%d;j++)B%d[q%d+(I)j*%s]=S%d[j];",
          V, k, k, s, k);
    }
    E("}\n");
}

/* Mark what the item loop of phase ph computes; false when nothing. */
static bool compute_need(gen_t *G, int ph)
{
    const cf_program *p = G->p;
    cf_seg *g = G->g;
    int ni = p->ninstrs;
    memset(G->need, 0, 2 * (size_t)ni + (size_t)G->na);
    bool any = false;
    for (int j = g->ninstrs - 1; j >= 0; j--) {
        int i = g->instrs[j];
        const cf_prog_instr *in = &p->instrs[i];
        if (nontrivial_red(G, in) && in_level(G, in->in[0]) == ph) {
            G->need[ni + i] = 1;
            any = true;
            mark_need(G, in->in[0]);
        }
    }
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (a->kind == K_STORE && a->full && in_level(G, a->slot) == ph) {
            G->need[2 * ni + k] = 1;
            any = true;
            mark_need(G, a->slot);
        }
    }
    for (int j = g->ninstrs - 1; j >= 0; j--) {
        int i = g->instrs[j];
        if (!G->need[i])
            continue;
        const cf_prog_instr *in = &p->instrs[i];
        for (int q = 0; q < in->nin; q++)
            mark_need(G, in->in[q]);
    }
    return any;
}

static cf_status emit_phase(gen_t *G, int ph)
{
    const cf_program *p = G->p;
    cf_seg *g = G->g;
    int ni = p->ninstrs;
    cf_status st = emit_values(G, false, ph);
    if (st)
        return st;
    /* row-level stores */
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (a->kind != K_STORE || a->full)
            continue;
        if (in_level(G, a->slot) != ph && g->copy_slot < 0)
            continue;
        char vx[200], c[260];
        vexpr(G, a->slot, vx, sizeof vx);
        cf_cg_store_conv(c, sizeof c, a->dt, vx);
        E(" if(rv&&tx==0");
        for (int i = 0; i < G->nout; i++)
            if (a->st[i] == 0)
                E("&&c%d==0", i);
        E(")B%d[r%d]=%s;\n", k, k, c);
    }
    if (G->stats_only && ph > 0)
        return CF_OK; /* the apply kernel does the rest */
    bool any = compute_need(G, ph);
    if (!any)
        return CF_OK;
    for (int j = 0; j < g->ninstrs; j++) {
        int i = g->instrs[j];
        if (!G->need[ni + i])
            continue;
        char id[200];
        red_identity(id, sizeof id, p->instrs[i].op, p->instrs[i].cdtype);
        if (is_welford(p->instrs[i].op))
            E(" Sh<%s> a%d=%s;\n", cf_cg_regty(p->instrs[i].cdtype), i, id);
        else
            E(" %s a%d=%s;\n", cf_cg_regty(p->instrs[i].cdtype), i, id);
    }
    int V = G->V;
    if (G->persist) {
        E(" #pragma unroll\n for(int k=0;k<%d;k++){\n const I e=((I)k*%d+tx)*%d;"
          "\n const bool ev=rv&&e<nin;\n", G->ITEMS, G->TX, V);
        G->jx = "[k][j]";
    } else if (G->col) {
        if (G->sched.unroll > 1)
            E(" #pragma unroll %d\n", G->sched.unroll);
        E(" for(I e=e0+(I)tx;rv&&e<e1;e+=%d){\n const bool ev=true;\n", G->TY);
        G->jx = "[j]";
    } else {
        if (tuning()->row_unroll > 1)
            E(" #pragma unroll %d\n", tuning()->row_unroll);
        E(" for(I e=e0+(I)tx*%d;rv&&e<e1;e+=(I)%d){\n const bool ev=true;\n", V,
          G->TX * V);
        G->jx = "[j]";
    }
    emit_unravel(G, "e", G->nout, G->nd);
    char on[16], rn[16];
    for (int k = 0; k < G->na; k++) {
        if (!G->a[k].full)
            continue;
        snprintf(on, sizeof on, "q%d", k);
        snprintf(rn, sizeof rn, "r%d", k);
        emit_offset(G, k, G->nout, G->nd, on, rn);
    }
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (!a->full || (a->kind != K_LOAD && a->kind != K_RESHAPE))
            continue;
        if (!load_used(G, k))
            continue;
        if (a->cached) {
            if (G->loaded[k])
                continue;
            G->loaded[k] = 1;
            emit_full_load(G, k, "[k]");
        } else {
            E(" %s L%d[%d]={};\n", cf_cg_regty(a->dt), k,
              a->mode == M_BCAST ? 1 : V);
            emit_full_load(G, k, "");
        }
    }
    for (int k = 0; k < G->na; k++)
        if (G->a[k].kind == K_STORE && G->need[2 * ni + k])
            E(" %s S%d[%d];\n", cf_cg_stty(G->a[k].dt), k, V);
    E(" #pragma unroll\n for(int j=0;j<%d;j++){\n", V);
    char s[64];
    for (int k = 0; k < G->na; k++) {
        if (G->a[k].kind != K_IOTA || !G->a[k].full)
            continue;
        char off[96];
        ival(G, s, sizeof s, G->a[k].st[G->nd - 1]);
        snprintf(off, sizeof off, "(q%d+(I)j*%s)", k, s);
        emit_iota(G, k, off);
    }
    if ((st = emit_values(G, true, ph)))
        return st;
    for (int j = 0; j < g->ninstrs; j++)
        if (G->need[ni + g->instrs[j]])
            emit_reduce_update(G, g->instrs[j]);
    for (int k = 0; k < G->na; k++) {
        if (G->a[k].kind != K_STORE || !G->need[2 * ni + k])
            continue;
        char vx[200], c[260];
        vexpr(G, G->a[k].slot, vx, sizeof vx);
        cf_cg_store_conv(c, sizeof c, G->a[k].dt, vx);
        E(" S%d[j]=%s;\n", k, c);
    }
    E(" }\n");
    for (int k = 0; k < G->na; k++)
        if (G->a[k].kind == K_STORE && G->need[2 * ni + k])
            emit_full_store(G, k);
    E(" }\n");
    int red[MAXACC], nred = 0;
    for (int j = 0; j < g->ninstrs; j++)
        if (G->need[ni + g->instrs[j]]) {
            emit_reduce_combine(G, g->instrs[j]);
            if (nred < MAXACC)
                red[nred++] = g->instrs[j];
        }
    if (G->sched.splits > 1 && ph == 0)
        emit_grid_combine(G, red, nred);
    for (int q = 0; q < nred; q++)
        emit_reduce_value(G, red[q]);
    if (G->stats_only && ph == 0)
        for (int q = 0; q < G->nrv; q++) {
            int o = G->rv_slot[q];
            cf_dtype t = G->p->slots[o].dtype;
            char vx[32], c[96];
            snprintf(vx, sizeof vx, "v%d", o);
            cf_cg_store_conv(c, sizeof c, t, vx);
            E(" if(rv&&tx==0)((%s*)p.w[%d])[row]=%s;\n", cf_cg_stty(t),
              word(G, CF_PW_PTR, G->rv_buf[q], 0), c);
        }
    return CF_OK;
}

static cf_status gen_reduce(gen_t *G, cf_kernel_launch *L)
{
    cf_status st;
    int64_t nrow = prod(G->dsz, G->nout);
    int64_t nin = prod(G->dsz + G->nout, G->nd - G->nout);
    int nfull = 0;
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        a->full = false;
        for (int i = G->nout; i < G->nd; i++)
            a->full |= a->st[i] != 0;
        if (a->kind == K_LOAD && a->full)
            nfull++;
    }
    if (G->col)
        choose_vec(G, -1, false);
    else
        choose_vec(G, G->nd - 1, true);
    int maxl = compute_levels(G);
    cf_rs_problem pr = {.outer = G->col, .nrow = nrow, .nred = nin, .vec = G->V,
                        .nfull = nfull, .elem_bytes = 0, .later_full = false,
                        .persist_max = tuning()->persist_max, .quick = G->quick};
    for (int k = 0; k < G->na; k++)
        if (G->a[k].kind == K_LOAD && G->a[k].full && (int)esize(G->a[k].dt) > pr.elem_bytes)
            pr.elem_bytes = (int)esize(G->a[k].dt);
    for (int ph = 1; ph <= maxl && !pr.later_full; ph++)
        pr.later_full = compute_need(G, ph);
    cf_rs_choose(&pr, G->dev, &G->sched);
    G->stats_only = false;
    if (maxl == 1 && split_ok(G) && cf_rs_split_normalization(&pr, &G->sched, G->dev)) {
        /* A normalization whose outputs leave SMs idle: statistics here
         * (split over blocks), the normalization in a pointwise kernel. */
        int64_t fused_blocks = G->sched.blocks;
        G->stats_only = true;
        pr.later_full = false;
        cf_rs_choose(&pr, G->dev, &G->sched);
        size_t n = strlen(G->sched.why);
        snprintf(G->sched.why + n, sizeof G->sched.why - n,
                 "; statistics only (fused: %lld block(s)), the apply kernel follows",
                 (long long)fused_blocks);
        if ((st = plan_stats(G, nrow)))
            return st;
    }
    G->persist = G->sched.kind == CF_RS_ROW_PERSIST;
    G->TX = G->sched.TX;
    G->TY = G->sched.TY;
    G->ITEMS = G->sched.items;
    if (G->sched.splits > 1 && (st = plan_scratch(G, nrow)))
        return st;
    int smb = G->col ? G->TX * G->TY * 24
                     : G->TY * (G->TX > 32 ? G->TX / 32 : 1) * 24;
    if (smb < 16)
        smb = 16;
    char s[64];
    char minb[16] = "";
    if (tuning()->row_minblocks > 0 && !G->col)
        snprintf(minb, sizeof minb, ",%d", tuning()->row_minblocks);
    E("/* %s: %s %dx%d", L->name, cf_rs_kind_name(G->sched.kind), G->TX, G->TY);
    if (G->persist)
        E(" items=%d", G->ITEMS);
    if (G->sched.splits > 1)
        E(" splits=%d", G->sched.splits);
    E(" V=%d; %s */\n", G->V, G->sched.why);
    E("extern \"C\" __global__ void __launch_bounds__(%d%s) %s(const P%d p){\n"
      " typedef %s I;\n __shared__ alignas(16) unsigned char sm[%d];\n",
      G->TX * G->TY, minb, L->name, G->pid, G->big ? "long long" : "int", smb);
    emit_buffers(G);
    ival(G, s, sizeof s, nrow);
    E(" const I nrow=%s;", s);
    ival(G, s, sizeof s, nin);
    E(" const I nin=%s;(void)nin;\n", s);
    if (G->sched.splits > 1) {
        /* this block's part of the reduced range: a multiple of V long */
        int64_t step = G->col ? 1 : G->V;
        int64_t chunk = (nin + G->sched.splits - 1) / G->sched.splits;
        chunk = (chunk + step - 1) / step * step;
        ival(G, s, sizeof s, chunk);
        E(" const I e0=(I)blockIdx.y*%s;const I e1=e0+%s<nin?e0+%s:nin;\n", s, s, s);
    } else {
        E(" const I e0=0;const I e1=nin;(void)e0;(void)e1;\n");
    }
    if (G->col)
        E(" const I row=(I)blockIdx.x*%d+threadIdx.x;const int tx=threadIdx.y;"
          "\n", G->TX);
    else
        E(" const I row=(I)blockIdx.x*%d+threadIdx.y;const int tx=threadIdx.x;"
          "\n", G->TY);
    E(" const bool rv=row<nrow;\n");
    if (G->nout > 0)
        emit_unravel(G, "row", 0, G->nout);
    char on[16];
    for (int k = 0; k < G->na; k++) {
        snprintf(on, sizeof on, "r%d", k);
        emit_offset(G, k, 0, G->nout, on, "0");
    }
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        if (a->full)
            continue;
        if (a->kind == K_LOAD || a->kind == K_RESHAPE) {
            char dst[16], off[16];
            snprintf(dst, sizeof dst, "L%d", k);
            snprintf(off, sizeof off, "r%d", k);
            E(" %s L%d=0; if(rv)", cf_cg_regty(a->dt), k);
            emit_elem_load(G, k, off, dst);
        } else if (a->kind == K_IOTA) {
            char off[16];
            snprintf(off, sizeof off, "r%d", k);
            emit_iota(G, k, off);
        }
    }
    memset(G->loaded, 0, sizeof G->loaded);
    for (int ph = 0; ph <= maxl; ph++)
        if (compute_need(G, ph))
            for (int k = 0; k < G->na; k++)
                if (G->a[k].full && load_used(G, k))
                    G->a[k].uses++;
    for (int k = 0; k < G->na; k++) {
        acc_t *a = &G->a[k];
        a->cached = G->persist && a->uses > 1 &&
                    (a->kind == K_LOAD || a->kind == K_RESHAPE);
        if (raw_cache(a))
            E(" V<%s,%d> L%d[%d]={};\n", cf_cg_stty(a->dt), G->V, k, G->ITEMS);
        else if (a->cached)
            E(" %s L%d[%d][%d]={};\n", cf_cg_regty(a->dt), k, G->ITEMS,
              a->mode == M_BCAST ? 1 : G->V);
    }
    for (int ph = 0; ph <= maxl; ph++) {
        st = emit_phase(G, ph);
        if (st)
            return st;
    }
    E("}\n");
    int64_t blocks = G->col ? (nrow + G->TX - 1) / G->TX
                            : (nrow + G->TY - 1) / G->TY;
    if (blocks > 0x7fffffff)
        return cf_error_set(CF_ERR_UNSUPPORTED, "cuda",
                            "too many rows (%lld) for one launch",
                            (long long)nrow);
    launch_dims(L, (unsigned)blocks, (unsigned)(G->col ? G->TX : G->TX),
                (unsigned)G->TY);
    L->grid[1] = (unsigned)(G->sched.splits > 1 ? G->sched.splits : 1);
    L->smem = 0;
    return CF_OK;
}

/* --- the plan ------------------------------------------------------------ */
void cf_cuda_plan_free(cf_cuda_plan *plan)
{
    if (!plan)
        return;
    for (int i = 0; i < plan->nkernels; i++)
        cf_free(plan->kernels[i].words);
    cf_free(plan->kernels);
    cf_free(plan->buffers);
    cf_free(plan->source);
    cf_free(plan->funcs);
    cf_free(plan);
}

static cf_status gen_segment(gen_t *G, cf_kernel_launch *L, cf_sbuf *body,
                             bool *skip)
{
    cf_status st;
    if (cf_cg_is_scan(G->p, G->g))
        return cf_cg_scan(G->S, G->bufidx, G->gi, L, body, skip);
    G->na = 0;
    G->nw = 0;
    G->persist = false;
    G->scratch = -1;
    G->npart = 0;
    memset(&G->sched, 0, sizeof G->sched);
    G->sched.splits = 1;
    G->sched.unroll = 1;
    G->V = 1;
    for (int x = 0; x < G->S->ns; x++)
        G->lacc[x] = -1;
    if ((st = build_domain(G)))
        return st;
    cf_seg *g = G->g;
    if (g->scatter >= 0) {
        *skip = false;
        cf_sbuf *saved = G->b;
        G->b = body;
        st = cf_cg_gen_scatter(G, L, g, skip);
        G->b = saved;
        if (st || *skip)
            return st;
        goto words;
    }
    if (g->copy_slot >= 0) {
        if ((st = add_load(G, g->copy_slot)) || (st = add_store(G, g->copy_slot)))
            return st;
    } else {
        for (int k = 0; k < g->ninstrs; k++) {
            const cf_prog_instr *in = &G->p->instrs[g->instrs[k]];
            if (in->op == CF_OP_IOTA || in->op == CF_OP_COPY || cf_move_op(in->op)) {
                if ((st = add_special(G, g->instrs[k])))
                    return st;
                continue;
            }
            if (in->op == CF_OP_GATHER) {
                if ((st = add_load(G, in->in[1])) || (st = add_gather(G, g->instrs[k])))
                    return st;
                continue;
            }
            for (int q = 0; q < in->nin; q++)
                if ((st = add_load(G, in->in[q])))
                    return st;
        }
        for (int x = 0; x < G->S->ns; x++)
            if (stored_here(G, x) && (st = add_store(G, x)))
                return st;
    }
    /* COL (an outer reduction) when the memory-innermost dim is kept;
     * without an access that orders the domain, when the innermost axis of
     * the reference is not reduced */
    G->col = false;
    if (g->has_red && order_domain(G)) {
        G->col = G->nout > 0 &&
                 (G->nd == G->nout || G->key[G->nout - 1] < G->key[G->nd - 1]);
    } else if (g->has_red && g->ref >= 0) {
        int last = -1;
        for (int d = 0; d < G->p->slots[g->ref].ndim; d++)
            if (G->S->cls[g->ref][d] >= 0)
                last = cf_seg_find(G->S, G->S->cls[g->ref][d]);
        G->col = last >= 0 && !((g->red >> last) & 1);
    }
    G->a_nout = G->nout;
    for (int i = 0; i < G->nout; i++) {
        G->a_outer_cls[i] = G->dcls[i];
        G->a_outer_sz[i] = G->dsz[i];
    }
    collapse(G);
    G->big = need_64bit(G);
    int64_t total = prod(G->dsz, G->nd);
    int64_t nrow = prod(G->dsz, G->nout);
    *skip = g->has_red ? nrow == 0 : total == 0;
    if (*skip)
        return CF_OK;
    cf_sbuf *saved = G->b;
    G->b = body;
    st = g->has_red ? gen_reduce(G, L) : gen_pointwise(G, L);
    G->b = saved;
    if (st)
        return st;
words:
    if (G->nw >= MAXW)
        return too_big();
    L->nwords = G->nw;
    L->words = cf_malloc((size_t)(G->nw > 0 ? G->nw : 1) * sizeof *L->words);
    if (!L->words)
        return cf_error_nomem("cuda");
    memcpy(L->words, G->w, (size_t)G->nw * sizeof *L->words);
    return CF_OK;
}

/* The apply kernel of a split normalization: a pointwise kernel over the
 * whole domain, in memory order, that recomputes the segment's pointwise
 * values the later phases need and reads the statistics the statistics
 * kernel stored (one value per row, broadcast along the reduced axes). */
static void apply_mark(gen_t *G, int i)
{
    const cf_prog_instr *in = &G->p->instrs[i];
    if (G->need[i] || nontrivial_red(G, in))
        return; /* statistics come from their buffers */
    G->need[i] = 1;
    for (int q = 0; q < in->nin; q++) {
        int x = in->in[q];
        if (is_scalar_slot(G->p, x) || G->S->gview[x])
            continue;
        int r = G->S->root[x];
        if (G->S->pseg[r] == G->gi && G->S->prod[r] >= 0)
            apply_mark(G, G->S->prod[r]);
    }
}

static cf_status add_stat_load(gen_t *G, int slot, int buf)
{
    if (G->lacc[slot] >= 0)
        return CF_OK;
    if (G->na >= MAXACC)
        return too_big();
    acc_t *a = &G->a[G->na];
    memset(a, 0, sizeof *a);
    a->kind = K_LOAD;
    a->slot = slot;
    a->instr = -1;
    a->dt = G->p->slots[slot].dtype;
    a->buf = buf;
    /* the row index of the statistics kernel: its outer classes, in its
     * order, row-major */
    for (int i = 0; i < G->nd; i++) {
        int c = cf_seg_find(G->S, G->dcls[i]);
        int64_t st = 1;
        bool found = false;
        for (int j = G->a_nout - 1; j >= 0 && !found; j--) {
            if (cf_seg_find(G->S, G->a_outer_cls[j]) == c)
                found = true;
            else
                st *= G->a_outer_sz[j];
        }
        a->st[i] = found ? st : 0;
    }
    G->lacc[slot] = G->na++;
    return CF_OK;
}

static cf_status gen_apply(gen_t *G, cf_kernel_launch *L, cf_sbuf *body, int stats_kernel)
{
    cf_status st;
    const cf_program *p = G->p;
    cf_seg *g = G->g;
    /* what the statistics kernel left out: its stores over the reduced
     * domain after the reductions (read off its accesses, still in G->a) */
    int stores[MAXACC], nst = 0;
    for (int k = 0; k < G->na; k++)
        if (G->a[k].kind == K_STORE && G->a[k].full && in_level(G, G->a[k].slot) >= 1)
            stores[nst++] = G->a[k].slot;
    G->apply = true;
    G->stats_only = false;
    G->na = 0;
    G->nw = 0;
    G->V = 1;
    G->persist = false;
    for (int x = 0; x < G->S->ns; x++)
        G->lacc[x] = -1;
    memset(G->need, 0, 2 * (size_t)p->ninstrs + MAXACC);
    if ((st = build_domain(G)))
        return st;
    for (int k = 0; k < nst; k++) {
        int r = G->S->root[stores[k]];
        if (G->S->prod[r] >= 0)
            apply_mark(G, G->S->prod[r]);
    }
    for (int k = 0; k < g->ninstrs; k++) {
        int i = g->instrs[k];
        if (!G->need[i])
            continue;
        const cf_prog_instr *in = &p->instrs[i];
        for (int q = 0; q < in->nin; q++) {
            int x = in->in[q];
            int rv = -1;
            for (int j = 0; j < G->nrv; j++)
                if (!is_scalar_slot(p, x) && !G->S->gview[x] && G->S->root[x] == G->rv_slot[j])
                    rv = j;
            if (rv >= 0)
                st = add_stat_load(G, G->rv_slot[rv], G->rv_buf[rv]);
            else
                st = add_load(G, x);
            if (st)
                return st;
            if (rv >= 0 && x != G->rv_slot[rv])
                G->lacc[x] = G->lacc[G->rv_slot[rv]]; /* a view of a statistic */
        }
    }
    for (int k = 0; k < nst; k++) {
        int x = stores[k];
        for (int j = 0; j < G->nrv; j++)
            if (G->S->root[x] == G->rv_slot[j]) { /* a statistic, expanded */
                if ((st = add_stat_load(G, G->rv_slot[j], G->rv_buf[j])))
                    return st;
                G->lacc[x] = G->lacc[G->rv_slot[j]];
            }
        if ((st = add_store(G, x)))
            return st;
    }
    /* the whole domain in memory order, one group */
    if (order_domain(G))
        sort_group(G, 0, G->nd);
    G->nout = G->nd;
    collapse(G);
    G->big = need_64bit(G);
    cf_sbuf *saved = G->b;
    G->b = body;
    E("/* %s: apply of cfk%d's statistics, pointwise over %lld elements in memory order */\n",
      L->name, stats_kernel, (long long)prod(G->dsz, G->nd));
    st = gen_pointwise(G, L);
    G->b = saved;
    G->apply = false;
    if (st)
        return st;
    if (G->nw >= MAXW)
        return too_big();
    L->nwords = G->nw;
    L->words = cf_malloc((size_t)(G->nw > 0 ? G->nw : 1) * sizeof *L->words);
    if (!L->words)
        return cf_error_nomem("cuda");
    memcpy(L->words, G->w, (size_t)G->nw * sizeof *L->words);
    return CF_OK;
}

static cf_status plan_buffers(cf_segs *S, cf_cuda_plan *plan, int *bufidx)
{
    const cf_program *p = S->p;
    /* a slot's storage each; per kernel a scratch buffer and the buffers of
     * a split normalization's statistics; the index-check flag */
    plan->buffers = cf_calloc((size_t)S->ns + (size_t)S->nsegs * (MAXACC + 1) + 2,
                              sizeof *plan->buffers);
    if (!plan->buffers)
        return cf_error_nomem("cuda");
    for (int x = 0; x < S->ns; x++) {
        bufidx[x] = -1;
        int role = p->slots[x].role;
        bool io = role == CF_SLOT_INPUT || role == CF_SLOT_OUTPUT;
        bool temp = role == CF_SLOT_TEMP && S->mat[x] && !S->gview[x];
        if (!io && !temp)
            continue;
        cf_plan_buffer *b = &plan->buffers[plan->nbuffers];
        b->slot = x;
        b->temp = temp;
        if (temp) {
            int64_t n = 1;
            for (int d = 0; d < p->slots[x].ndim; d++)
                n *= S->v[x].shape[d];
            b->bytes = n * (int64_t)cf_dtype_size(p->slots[x].dtype);
            if (b->bytes <= 0)
                b->bytes = 16;
        }
        bufidx[x] = plan->nbuffers++;
    }
    plan->index_flag = -1;
    if (cf_cg_checks_index(p)) {
        /* the index-check flag: zeroed before the kernels, read after */
        cf_plan_buffer *b = &plan->buffers[plan->nbuffers];
        b->slot = -1;
        b->temp = true;
        b->bytes = 16;
        plan->index_flag = plan->nbuffers++;
    }
    return CF_OK;
}

cf_status cf_cuda_plan_build(const cf_program *p, const cf_slot_value *vals,
                             const cf_cuda_device_info *info,
                             cf_cuda_plan **out)
{
    return cf_cuda_plan_build_tier(p, vals, info, false, out);
}

cf_status cf_cuda_plan_build_tier(const cf_program *p, const cf_slot_value *vals,
                                  const cf_cuda_device_info *info, bool quick,
                                  cf_cuda_plan **out)
{
    cf_segs S;
    cf_status st = cf_seg_build(&S, p, vals, false);
    if (st)
        return st;
    gen_t *G = cf_calloc(1, sizeof *G);
    cf_cuda_plan *plan = cf_calloc(1, sizeof *plan);
    int *bufidx = cf_calloc((size_t)S.ns + 1, sizeof *bufidx);
    int *lacc = cf_calloc((size_t)S.ns + 1, sizeof *lacc);
    int *lvl = cf_calloc((size_t)S.ns + 1, sizeof *lvl);
    uint8_t *full = cf_calloc((size_t)S.ns + 1, 1);
    uint8_t *need = cf_calloc(2 * (size_t)p->ninstrs + MAXACC + 1, 1);
    cf_sbuf src = {0}, body = {0};
    if (!G || !plan || !bufidx || !lacc || !lvl || !full || !need) {
        st = cf_error_nomem("cuda");
        goto fail;
    }
    /* a kernel per segment, two for a split normalization */
    plan->kernels = cf_calloc((size_t)(S.nsegs > 0 ? 2 * S.nsegs : 1),
                              sizeof *plan->kernels);
    if (!plan->kernels) {
        st = cf_error_nomem("cuda");
        goto fail;
    }
    if ((st = plan_buffers(&S, plan, bufidx)))
        goto fail;
    G->S = &S;
    G->p = p;
    G->v = vals;
    G->dev = info;
    G->bufidx = bufidx;
    G->flagbuf = plan->index_flag;
    G->lacc = lacc;
    G->lvl = lvl;
    G->full = full;
    G->need = need;
    G->quick = quick;
    G->plan = plan;
    G->b = &src;
    cf_sb_printf(&src, "%s", cf_cuda_prelude);
    for (int gi = 0; gi < S.nsegs; gi++) {
        cf_kernel_launch *L = &plan->kernels[plan->nkernels];
        memset(L, 0, sizeof *L);
        snprintf(L->name, sizeof L->name, "cfk%d", gi);
        G->gi = gi;
        G->pid = gi;
        G->g = &S.segs[gi];
        G->stats_only = false;
        G->apply = false;
        G->nrv = 0;
        bool skip = false;
        body.len = 0;
        if (body.s)
            body.s[0] = '\0';
        if ((st = gen_segment(G, L, &body, &skip)))
            goto fail;
        if (skip)
            continue;
        cf_sb_printf(&src, "struct P%d{i64 w[%d];};\n%s", gi,
                     L->nwords > 0 ? L->nwords : 1, body.s ? body.s : "");
        plan->nkernels++;
        if (G->stats_only) {
            cf_kernel_launch *L2 = &plan->kernels[plan->nkernels];
            memset(L2, 0, sizeof *L2);
            snprintf(L2->name, sizeof L2->name, "cfk%da", gi);
            G->pid = S.nsegs + gi;
            body.len = 0;
            if (body.s)
                body.s[0] = '\0';
            if ((st = gen_apply(G, L2, &body, gi)))
                goto fail;
            cf_sb_printf(&src, "struct P%d{i64 w[%d];};\n%s", G->pid,
                         L2->nwords > 0 ? L2->nwords : 1, body.s ? body.s : "");
            plan->nkernels++;
        }
    }
    if (src.oom || body.oom) {
        st = cf_error_nomem("cuda");
        goto fail;
    }
    plan->source = src.s;
    plan->quick = quick;
    src.s = NULL;
    *out = plan;
    plan = NULL;
    st = CF_OK;
fail:
    cf_sb_free(&src);
    cf_sb_free(&body);
    cf_cuda_plan_free(plan);
    cf_free(G);
    cf_free(bufidx);
    cf_free(lacc);
    cf_free(lvl);
    cf_free(full);
    cf_free(need);
    cf_seg_free(&S);
    return st;
}
