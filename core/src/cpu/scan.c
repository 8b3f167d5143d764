/* cpu/scan.c - the CPU engine's scans, sorts and welford (SEG_SCAN).
 *
 * Each runs as a segment of its own over strided memory; the work is split
 * over threads along the dims that are not scanned, sorted or reduced.
 *   scans   rows along the scanned axis, or, when the axes inside it are
 *           wide (a scan over an outer axis), blocks of those inner axes
 *           carried down the scanned axis as a vector of accumulators (the
 *           memory order). Dense rows of Float, Double or Int are read and
 *           written in place, four rows at a time (independent chains);
 *           others go through a block buffer. Floating values accumulate
 *           in double, integers in wrapping int64 (Int32 wraps on store),
 *           Bool as or / and; cummax/cummin propagate NaN as torch does.
 *           The compute type is the instruction's (a widening cast folded
 *           into the scan leaves narrower input storage).
 *   sorts   each row gathered as keys and sorted by a stable merge sort of
 *           its indices; NaN is the largest value (torch's order).
 *   welford each output's elements in blocks: a block's mean and squared
 *           deviations exactly (two passes over L1-resident values), then
 *           merged into the running (n, mean, M2) with Chan's formula; few
 *           outputs with many elements split them over threads and merge
 *           the parts the same way.
 */
#include <math.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "cpu/engine.h"

#define BLK CF_CPU_BLOCK

typedef struct scan_ctx {
    cf_opcode op;
    int flt;                 /* accumulate in double (else int64)          */
    cf_dtype adt;            /* CF_DTYPE_DOUBLE or CF_DTYPE_INT            */
    int desc;                /* sorts: largest first                       */
    int direct;              /* rows dense, native dtypes: read in place   */
    cf_acc init;
    cf_ndview in, out[3];
    int64_t len;             /* elements per row (scanned/sorted axis)     */
    int64_t inner;           /* column scans: elements inside the axis     */
    int64_t k;               /* topk: values kept per row                  */
    int64_t rcount;          /* welford: elements per output               */
    int nparts;              /* welford: parts per output                  */
    double *parts;           /* welford: (n, mean, M2) per item            */
    char *scratch;
    size_t per_thread;
} scan_ctx;

/* --- scans --------------------------------------------------------------- */

static cf_acc identity(cf_opcode op, int flt)
{
    cf_acc a;
    if (flt) {
        a.d = op == CF_OP_CUMPROD ? 1.0 : op == CF_OP_CUMMAX ? -INFINITY : op == CF_OP_CUMMIN ? INFINITY : 0.0;
        return a;
    }
    a.i = op == CF_OP_CUMPROD ? 1 : op == CF_OP_CUMMAX ? INT64_MIN : op == CF_OP_CUMMIN ? INT64_MAX : 0;
    return a;
}

/* acc = op(acc, x[i]) and x[i] = acc, along n values. */
static void scan_f64(cf_opcode op, double *x, int64_t n, double *acc)
{
    double a = *acc;
    switch (op) {
    case CF_OP_CUMSUM:
        for (int64_t i = 0; i < n; i++) x[i] = a += x[i];
        break;
    case CF_OP_CUMPROD:
        for (int64_t i = 0; i < n; i++) x[i] = a *= x[i];
        break;
    case CF_OP_CUMMAX:
        for (int64_t i = 0; i < n; i++) x[i] = a = (a != a || a >= x[i]) ? a : x[i];
        break;
    default:
        for (int64_t i = 0; i < n; i++) x[i] = a = (a != a || a <= x[i]) ? a : x[i];
        break;
    }
    *acc = a;
}

static void scan_i64(cf_opcode op, int64_t *x, int64_t n, int64_t *acc)
{
    uint64_t a = (uint64_t)*acc;
    switch (op) {
    case CF_OP_CUMSUM:
        for (int64_t i = 0; i < n; i++) x[i] = (int64_t)(a += (uint64_t)x[i]);
        break;
    case CF_OP_CUMPROD:
        for (int64_t i = 0; i < n; i++) x[i] = (int64_t)(a *= (uint64_t)x[i]);
        break;
    case CF_OP_CUMMAX:
        for (int64_t i = 0; i < n; i++) x[i] = (int64_t)(a = (int64_t)a >= x[i] ? a : (uint64_t)x[i]);
        break;
    default:
        for (int64_t i = 0; i < n; i++) x[i] = (int64_t)(a = (int64_t)a <= x[i] ? a : (uint64_t)x[i]);
        break;
    }
    *acc = (int64_t)a;
}

/* acc[i] = op(acc[i], x[i]) for a column block. */
static void comb_f64(cf_opcode op, double *acc, const double *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        double v = x[i];
        scan_f64(op, &v, 1, &acc[i]);
    }
}

static void comb_i64(cf_opcode op, int64_t *acc, const int64_t *x, int64_t n)
{
    for (int64_t i = 0; i < n; i++) {
        int64_t v = x[i];
        scan_i64(op, &v, 1, &acc[i]);
    }
}

/* Rows of n elements read and written in place (native dtypes, dense
 * rows), R rows at once: R independent chains of dependent adds keep the
 * core busy where one would wait on each add's latency, and each row still
 * adds in order (torch's results). Float accumulates in double, as torch
 * does on the CPU. */
#define SCAN_LOOP(R, T, A, F, STEP)                                           \
    do {                                                                      \
        const T *x_[R];                                                       \
        T *y_[R];                                                             \
        A a_[R];                                                              \
        for (int k = 0; k < R; k++) {                                         \
            x_[k] = xp[k];                                                    \
            y_[k] = yp[k];                                                    \
            a_[k] = (A)acc[k].F;                                              \
        }                                                                     \
        for (int64_t i = 0; i < n; i++)                                       \
            for (int k = 0; k < R; k++) {                                     \
                A v_ = (A)x_[k][i];                                           \
                STEP;                                                         \
                y_[k][i] = (T)a_[k];                                          \
            }                                                                 \
        for (int k = 0; k < R; k++)                                           \
            acc[k].F = (__typeof__(acc[k].F))a_[k];                           \
    } while (0)

#define FMAXS(a, v) a = (a != a || a >= v) ? a : v
#define FMINS(a, v) a = (a != a || a <= v) ? a : v

#define DEF_DIRECT(NAME, R)                                                                        \
    static void NAME(cf_opcode op, cf_dtype t, const void *const *xp, void *const *yp, int64_t n,  \
                     cf_acc *acc)                                                                  \
    {                                                                                              \
        if (t == CF_DTYPE_INT) {                                                                   \
            switch (op) {                                                                          \
            case CF_OP_CUMSUM: SCAN_LOOP(R, int64_t, uint64_t, i, a_[k] += v_); break;             \
            case CF_OP_CUMPROD: SCAN_LOOP(R, int64_t, uint64_t, i, a_[k] *= v_); break;            \
            case CF_OP_CUMMAX: SCAN_LOOP(R, int64_t, int64_t, i, a_[k] = a_[k] >= v_ ? a_[k] : v_); break; \
            default: SCAN_LOOP(R, int64_t, int64_t, i, a_[k] = a_[k] <= v_ ? a_[k] : v_); break;   \
            }                                                                                      \
        } else if (t == CF_DTYPE_FLOAT) {                                                          \
            switch (op) {                                                                          \
            case CF_OP_CUMSUM: SCAN_LOOP(R, float, double, d, a_[k] += v_); break;                 \
            case CF_OP_CUMPROD: SCAN_LOOP(R, float, double, d, a_[k] *= v_); break;                \
            case CF_OP_CUMMAX: SCAN_LOOP(R, float, double, d, FMAXS(a_[k], v_)); break;            \
            default: SCAN_LOOP(R, float, double, d, FMINS(a_[k], v_)); break;                      \
            }                                                                                      \
        } else {                                                                                   \
            switch (op) {                                                                          \
            case CF_OP_CUMSUM: SCAN_LOOP(R, double, double, d, a_[k] += v_); break;                \
            case CF_OP_CUMPROD: SCAN_LOOP(R, double, double, d, a_[k] *= v_); break;               \
            case CF_OP_CUMMAX: SCAN_LOOP(R, double, double, d, FMAXS(a_[k], v_)); break;           \
            default: SCAN_LOOP(R, double, double, d, FMINS(a_[k], v_)); break;                     \
            }                                                                                      \
        }                                                                                          \
    }

DEF_DIRECT(scan_direct1, 1)
DEF_DIRECT(scan_direct4, 4)

/* Does every row of v (rows of len elements, row-major) lie in one dense
 * run of its innermost axis? */
static int rows_dense(const cf_ndview *v, int64_t len)
{
    return v->ndim > 0 && v->strides[v->ndim - 1] == 1 && v->shape[v->ndim - 1] % len == 0;
}

static void scan_rows(void *vc, int tid, int64_t b, int64_t e)
{
    const scan_ctx *c = vc;
    void *buf = c->scratch + (size_t)tid * c->per_thread;
    if (c->direct) {
        for (int64_t r = b; r < e;) {
            const void *xp[4];
            void *yp[4];
            cf_acc acc[4];
            int R = e - r >= 4 ? 4 : 1;
            for (int k = 0; k < R; k++) {
                xp[k] = cf_nd_addr(&c->in, (r + k) * c->len);
                yp[k] = cf_nd_addr(&c->out[0], (r + k) * c->len);
                acc[k] = c->init;
            }
            if (R == 4)
                scan_direct4(c->op, c->in.dtype, xp, yp, c->len, acc);
            else
                scan_direct1(c->op, c->in.dtype, xp, yp, c->len, acc);
            r += R;
        }
        return;
    }
    for (int64_t r = b; r < e; r++) {
        cf_acc acc = c->init;
        for (int64_t off = 0; off < c->len; off += BLK) {
            int64_t n = c->len - off < BLK ? c->len - off : BLK, at = r * c->len + off;
            cf_nd_gather(&c->in, at, n, c->adt, buf);
            if (c->flt)
                scan_f64(c->op, (double *)buf, n, &acc.d);
            else
                scan_i64(c->op, (int64_t *)buf, n, &acc.i);
            cf_nd_scatter(&c->out[0], at, n, c->adt, buf);
        }
    }
}

/* Items are (outer index, block of the inner axes). */
static void scan_cols(void *vc, int tid, int64_t b, int64_t e)
{
    const scan_ctx *c = vc;
    void *acc = c->scratch + (size_t)tid * c->per_thread, *x = c->scratch + (size_t)tid * c->per_thread + BLK * 8;
    int64_t nb = (c->inner + BLK - 1) / BLK;
    for (int64_t it = b; it < e; it++) {
        int64_t o = it / nb, i0 = (it % nb) * BLK;
        int64_t n = c->inner - i0 < BLK ? c->inner - i0 : BLK;
        for (int64_t i = 0; i < n; i++)
            ((cf_acc *)acc)[i] = c->init;
        for (int64_t l = 0; l < c->len; l++) {
            int64_t at = (o * c->len + l) * c->inner + i0;
            cf_nd_gather(&c->in, at, n, c->adt, x);
            if (c->flt)
                comb_f64(c->op, (double *)acc, (const double *)x, n);
            else
                comb_i64(c->op, (int64_t *)acc, (const int64_t *)x, n);
            cf_nd_scatter(&c->out[0], at, n, c->adt, acc);
        }
    }
}

/* --- sorts --------------------------------------------------------------- */

/* Does key a come strictly before key b? NaN is the largest value. */
static inline int before_f(double a, double b, int desc)
{
    int an = a != a, bn = b != b;
    if (an || bn)
        return desc ? an && !bn : !an && bn;
    return desc ? a > b : a < b;
}

static inline int before_i(int64_t a, int64_t b, int desc) { return desc ? a > b : a < b; }

/* Stable bottom-up merge sort of the indices idx[0..n) by their keys. */
static void sort_idx(const scan_ctx *c, const void *keys, int64_t *idx, int64_t *tmp, int64_t n)
{
    const double *kf = keys;
    const int64_t *ki = keys;
    int64_t *src = idx, *dst = tmp;
    for (int64_t w = 1; w < n; w *= 2) {
        for (int64_t lo = 0; lo < n; lo += 2 * w) {
            int64_t mid = lo + w < n ? lo + w : n, hi = lo + 2 * w < n ? lo + 2 * w : n;
            int64_t i = lo, j = mid, o = lo;
            while (i < mid && j < hi) {
                int rb = c->flt ? before_f(kf[src[j]], kf[src[i]], c->desc) : before_i(ki[src[j]], ki[src[i]], c->desc);
                dst[o++] = rb ? src[j++] : src[i++];
            }
            while (i < mid)
                dst[o++] = src[i++];
            while (j < hi)
                dst[o++] = src[j++];
        }
        int64_t *t = src;
        src = dst;
        dst = t;
    }
    if (src != idx)
        memcpy(idx, src, (size_t)n * sizeof *idx);
}

static void sort_rows(void *vc, int tid, int64_t b, int64_t e)
{
    const scan_ctx *c = vc;
    char *base = c->scratch + (size_t)tid * c->per_thread;
    int64_t L = c->len;
    char *keys = base;
    int64_t *idx = (int64_t *)(base + (size_t)L * 8), *tmp = idx + L;
    for (int64_t r = b; r < e; r++) {
        cf_nd_gather(&c->in, r * L, L, c->adt, keys);
        for (int64_t i = 0; i < L; i++)
            idx[i] = i;
        sort_idx(c, keys, idx, tmp, L);
        if (c->op == CF_OP_ARGSORT) {
            cf_nd_scatter(&c->out[0], r * L, L, CF_DTYPE_INT, idx);
            continue;
        }
        /* topk: the first k keys in order (tmp holds them), then indices */
        for (int64_t j = 0; j < c->k; j++)
            memcpy(&tmp[j], keys + (size_t)idx[j] * 8, 8); /* 8-byte keys either way */
        cf_nd_scatter(&c->out[0], r * c->k, c->k, c->adt, tmp);
        cf_nd_scatter(&c->out[1], r * c->k, c->k, CF_DTYPE_INT, idx);
    }
}

/* --- welford ------------------------------------------------------------- */

typedef struct wstate {
    double n, mean, m2;
} wstate;

/* Chan's merge of b into a. */
static void wmerge(wstate *a, const wstate *b)
{
    double n, d;
    if (b->n == 0)
        return;
    if (a->n == 0) {
        *a = *b;
        return;
    }
    n = a->n + b->n;
    d = b->mean - a->mean;
    a->mean += d * (b->n / n);
    a->m2 += b->m2 + d * d * (a->n * (b->n / n));
    a->n = n;
}

/* One block's (n, mean, M2) from n values: the mean, then the squared
 * deviations from it, each with eight partial sums (no chain of dependent
 * adds; vectorised). */
#define WBLOCK(T)                                                             \
    static void wblock_##T(const T *x, int64_t n, wstate *bw)                 \
    {                                                                         \
        double acc[8] = {0}, sq[8] = {0}, s = 0, q = 0, mean;                 \
        int64_t i = 0;                                                        \
        for (; i + 8 <= n; i += 8)                                            \
            for (int j = 0; j < 8; j++)                                       \
                acc[j] += (double)x[i + j];                                   \
        for (; i < n; i++)                                                    \
            acc[i & 7] += (double)x[i];                                       \
        for (int j = 0; j < 8; j++)                                           \
            s += acc[j];                                                      \
        mean = s / (double)n;                                                 \
        for (i = 0; i + 8 <= n; i += 8)                                       \
            for (int j = 0; j < 8; j++) {                                     \
                double d = (double)x[i + j] - mean;                           \
                sq[j] += d * d;                                               \
            }                                                                 \
        for (; i < n; i++) {                                                  \
            double d = (double)x[i] - mean;                                   \
            sq[i & 7] += d * d;                                               \
        }                                                                     \
        for (int j = 0; j < 8; j++)                                           \
            q += sq[j];                                                       \
        bw->n = (double)n;                                                    \
        bw->mean = mean;                                                      \
        bw->m2 = q;                                                           \
    }
WBLOCK(float)
WBLOCK(double)

/* Elements [lo, hi) of output o into w, block by block: read in place
 * when the output's elements are one dense run of Float or Double, else
 * gathered into buf as double. */
static void wel_range(const scan_ctx *c, double *buf, int64_t o, int64_t lo, int64_t hi, wstate *w)
{
    const char *row = c->direct ? cf_nd_addr(&c->in, o * c->rcount) : NULL;
    w->n = w->mean = w->m2 = 0;
    for (int64_t at = lo; at < hi; at += BLK) {
        int64_t n = hi - at < BLK ? hi - at : BLK;
        wstate bw;
        if (row && c->in.dtype == CF_DTYPE_FLOAT) {
            wblock_float((const float *)(const void *)row + at, n, &bw);
        } else if (row) {
            wblock_double((const double *)(const void *)row + at, n, &bw);
        } else {
            cf_nd_gather(&c->in, o * c->rcount + at, n, CF_DTYPE_DOUBLE, buf);
            wblock_double(buf, n, &bw);
        }
        wmerge(w, &bw);
    }
}

static void wel_write(const scan_ctx *c, int64_t o0, int64_t n, const wstate *w, void *tmp)
{
    double *f = tmp;
    int64_t *cnt = tmp;
    for (int64_t i = 0; i < n; i++)
        f[i] = w[i].n > 0 ? w[i].mean : NAN;
    cf_nd_scatter(&c->out[0], o0, n, CF_DTYPE_DOUBLE, f);
    for (int64_t i = 0; i < n; i++)
        f[i] = w[i].m2;
    cf_nd_scatter(&c->out[1], o0, n, CF_DTYPE_DOUBLE, f);
    for (int64_t i = 0; i < n; i++)
        cnt[i] = (int64_t)w[i].n;
    cf_nd_scatter(&c->out[2], o0, n, CF_DTYPE_INT, cnt);
}

#define WGROUP 256

/* One part per output: outputs [b, e), written in groups. */
static void wel_outputs(void *vc, int tid, int64_t b, int64_t e)
{
    const scan_ctx *c = vc;
    char *base = c->scratch + (size_t)tid * c->per_thread;
    double *buf = (void *)base;
    wstate *ws = (void *)(base + BLK * 8);
    void *tmp = base + BLK * 8 + WGROUP * sizeof(wstate);
    for (int64_t o0 = b; o0 < e; o0 += WGROUP) {
        int64_t n = e - o0 < WGROUP ? e - o0 : WGROUP;
        for (int64_t i = 0; i < n; i++)
            wel_range(c, buf, o0 + i, 0, c->rcount, &ws[i]);
        wel_write(c, o0, n, ws, tmp);
    }
}

/* Several parts per output: each item one part, kept for the merge. */
static void wel_parts(void *vc, int tid, int64_t b, int64_t e)
{
    const scan_ctx *c = vc;
    double *buf = (void *)(c->scratch + (size_t)tid * c->per_thread);
    for (int64_t it = b; it < e; it++) {
        int64_t o = it / c->nparts, j = it % c->nparts;
        int64_t lo = c->rcount * j / c->nparts, hi = c->rcount * (j + 1) / c->nparts;
        wel_range(c, buf, o, lo, hi, (wstate *)&c->parts[3 * it]);
    }
}

/* --- the segment --------------------------------------------------------- */

/* The view of slot s with axis order perm (n axes). */
static void perm_view(const cf_cpu_plan *pl, int s, int n, const int *perm, cf_ndview *v)
{
    int64_t sh[CF_MAX_DIMS], st[CF_MAX_DIMS];
    for (int d = 0; d < n; d++) {
        sh[d] = pl->vals[s].shape[perm[d]];
        st[d] = sh[d] == 1 ? 0 : pl->si[s].strides[perm[d]];
    }
    cf_ndview_make(v, pl->si[s].data, pl->p->slots[s].dtype, n, sh, st);
}

static cf_status run_welford(const cf_cpu_plan *pl, const cf_prog_instr *ins, const cf_seg *sg, scan_ctx *c)
{
    int s = ins->in[0], nd = pl->p->slots[s].ndim, perm[CF_MAX_DIMS], n = 0, nt;
    int64_t kcount = 1, items;
    cf_status rc = CF_OK;
    for (int d = 0; d < nd; d++)
        if (!(ins->axes & (1u << d)))
            perm[n++] = d;
    for (int d = 0; d < nd; d++)
        if (ins->axes & (1u << d))
            perm[n++] = d;
    c->rcount = 1;
    for (int d = 0; d < nd; d++) {
        if (ins->axes & (1u << d))
            c->rcount *= pl->vals[s].shape[d];
        else
            kcount *= pl->vals[s].shape[d];
    }
    perm_view(pl, s, nd, perm, &c->in);
    for (int j = 0; j < 3; j++)
        perm_view(pl, ins->out[j], nd, perm, &c->out[j]);
    if (kcount == 0)
        return CF_OK;
    c->direct = (c->in.dtype == CF_DTYPE_FLOAT || c->in.dtype == CF_DTYPE_DOUBLE) && c->rcount > 0 &&
                rows_dense(&c->in, c->rcount);
    nt = cf_cpu_pick_threads(sg->nthreads, kcount * (c->rcount / BLK + 1), kcount * c->rcount);
    c->nparts = 1;
    if (kcount < nt && c->rcount >= 2 * BLK) {
        c->nparts = (int)((nt + kcount - 1) / kcount);
        if (c->nparts > c->rcount / BLK)
            c->nparts = (int)(c->rcount / BLK);
    }
    items = kcount * c->nparts;
    if (nt > items)
        nt = (int)items;
    c->per_thread = BLK * 8 + WGROUP * (sizeof(wstate) + 8);
    c->scratch = cf_malloc_aligned(c->per_thread * (size_t)(nt > 0 ? nt : 1));
    if (c->nparts > 1)
        c->parts = cf_malloc(sizeof(double) * 3 * (size_t)items);
    if (!c->scratch || (c->nparts > 1 && !c->parts)) {
        rc = cf_error_nomem("cpu_execute");
        goto done;
    }
    if (c->nparts == 1) {
        cf_parallel(nt, kcount, wel_outputs, c);
    } else {
        wstate *ws = (void *)(c->scratch + BLK * 8);
        cf_parallel(nt, items, wel_parts, c);
        for (int64_t o0 = 0; o0 < kcount; o0 += WGROUP) {
            int64_t m = kcount - o0 < WGROUP ? kcount - o0 : WGROUP;
            for (int64_t i = 0; i < m; i++) {
                ws[i] = *(wstate *)&c->parts[3 * (o0 + i) * c->nparts];
                for (int j = 1; j < c->nparts; j++)
                    wmerge(&ws[i], (wstate *)&c->parts[3 * ((o0 + i) * c->nparts + j)]);
            }
            wel_write(c, o0, m, ws, c->scratch + BLK * 8 + WGROUP * sizeof(wstate));
        }
    }
done:
    cf_free(c->parts);
    cf_free_aligned(c->scratch);
    return rc;
}

static cf_acc init_of(const cf_cpu_plan *pl, const cf_prog_instr *ins, const scan_ctx *c, cf_dtype t)
{
    cf_acc a;
    const cf_scalar *s;
    if (ins->nin < 2)
        return identity(c->op, c->flt);
    s = &pl->vals[ins->in[1]].scalar;
    if (c->flt) {
        a.d = cf_dtype_is_float(s->dtype) ? s->v.f : cf_dtype_is_bool(s->dtype) ? (double)s->v.b : (double)s->v.i;
        return a;
    }
    a.i = cf_dtype_is_bool(s->dtype) ? s->v.b : cf_dtype_is_float(s->dtype) ? (int64_t)s->v.f : s->v.i;
    if (t == CF_DTYPE_INT32)
        a.i = (int32_t)(uint32_t)(uint64_t)a.i;
    else if (t == CF_DTYPE_BOOL)
        a.i = a.i != 0;
    return a;
}

cf_status cf_cpu_run_scan(const cf_cpu_plan *pl, const cf_seg *sg)
{
    const cf_prog_instr *ins = &pl->p->instrs[sg->first_instr];
    const cf_program *p = pl->p;
    int s = ins->in[0], nd = p->slots[s].ndim, ax, perm[CF_MAX_DIMS], n = 0, nt;
    cf_dtype t = p->slots[s].dtype;
    /* scans compute in cdtype (the input may be narrower: a cast folded
     * into the scan); sorts compare the input's values */
    int is_scan = ins->op == CF_OP_CUMSUM || ins->op == CF_OP_CUMPROD || ins->op == CF_OP_CUMMIN ||
                  ins->op == CF_OP_CUMMAX;
    cf_dtype ct = is_scan && ins->cdtype != CF_DTYPE_NULL ? ins->cdtype : t;
    int64_t rows = 1, items;
    scan_ctx c;
    cf_status rc = CF_OK;
    memset(&c, 0, sizeof c);
    c.op = ins->op;
    c.flt = cf_dtype_is_float(ct);
    c.adt = c.flt ? CF_DTYPE_DOUBLE : CF_DTYPE_INT;
    if (ins->op == CF_OP_WELFORD)
        return run_welford(pl, ins, sg, &c);
    if (ct == CF_DTYPE_BOOL) /* Bool: sum is or, product is and */
        c.op = c.op == CF_OP_CUMSUM ? CF_OP_CUMMAX : c.op == CF_OP_CUMPROD ? CF_OP_CUMMIN : c.op;
    c.desc = (ins->correction & CF_SORT_DESCENDING) != 0;
    ax = __builtin_ctz(ins->axes);
    c.len = pl->vals[s].shape[ax];
    for (int d = 0; d < nd; d++)
        if (d != ax) {
            perm[n++] = d;
            rows *= pl->vals[s].shape[d];
        }
    perm[n++] = ax;
    if (rows == 0 || c.len == 0)
        return CF_OK;
    if (ins->op == CF_OP_ARGSORT || ins->op == CF_OP_TOPK) {
        perm_view(pl, s, nd, perm, &c.in);
        for (int j = 0; j < ins->nout; j++)
            perm_view(pl, ins->out[j], nd, perm, &c.out[j]);
        if (ins->op == CF_OP_TOPK)
            c.k = pl->vals[ins->out[0]].shape[ax];
        nt = cf_cpu_pick_threads(sg->nthreads, rows, rows * c.len * 8);
        c.per_thread = (size_t)c.len * 24;
        c.scratch = cf_malloc_aligned(c.per_thread * (size_t)nt);
        if (!c.scratch)
            return cf_error_nomem("cpu_execute");
        cf_parallel(nt, rows, sort_rows, &c);
        cf_free_aligned(c.scratch);
        return CF_OK;
    }
    c.init = init_of(pl, ins, &c, ct);
    /* Scanned axis with wide axes inside it: carry a vector of sums down
     * the axis (memory order). */
    c.inner = 1;
    for (int d = ax + 1; d < nd; d++)
        c.inner *= pl->vals[s].shape[d];
    if (c.inner >= 16) {
        int64_t sh[CF_MAX_DIMS], st[CF_MAX_DIMS], outer = rows / c.inner;
        for (int d = 0; d < nd; d++) {
            sh[d] = pl->vals[s].shape[d];
            st[d] = sh[d] == 1 ? 0 : pl->si[s].strides[d];
        }
        cf_ndview_make(&c.in, pl->si[s].data, t, nd, sh, st);
        for (int d = 0; d < nd; d++)
            st[d] = sh[d] == 1 ? 0 : pl->si[ins->out[0]].strides[d];
        cf_ndview_make(&c.out[0], pl->si[ins->out[0]].data, p->slots[ins->out[0]].dtype, nd, sh, st);
        items = outer * ((c.inner + BLK - 1) / BLK);
        nt = cf_cpu_pick_threads(sg->nthreads, items, rows * c.len);
        c.per_thread = 2 * BLK * 8;
        c.scratch = cf_malloc_aligned(c.per_thread * (size_t)nt);
        if (!c.scratch)
            return cf_error_nomem("cpu_execute");
        cf_parallel(nt, items, scan_cols, &c);
    } else {
        perm_view(pl, s, nd, perm, &c.in);
        perm_view(pl, ins->out[0], nd, perm, &c.out[0]);
        c.direct = cf_dtype_is_native(t) && ct == t && c.out[0].dtype == t && c.op == ins->op && rows_dense(&c.in, c.len) &&
                   rows_dense(&c.out[0], c.len);
        nt = cf_cpu_pick_threads(sg->nthreads, rows, rows * c.len);
        c.per_thread = BLK * 8;
        c.scratch = cf_malloc_aligned(c.per_thread * (size_t)nt);
        if (!c.scratch)
            return cf_error_nomem("cpu_execute");
        cf_parallel(nt, rows, scan_rows, &c);
    }
    cf_free_aligned(c.scratch);
    return rc;
}
