/* cpu/reduce.c - reductions over any axes of a strided tensor.
 *
 * The input's axes are reordered as (kept..., reduced...). Two schedules:
 *   column  the innermost kept axis is dense: blocks of it are accumulated
 *           element-wise over every reduced index (rows added into a vector
 *           accumulator, the memory order of a column sum);
 *   row     otherwise: each output reduces its reduced elements in blocks;
 *           a few outputs with many elements each split them over threads
 *           and combine the partial results. Where the innermost reduced
 *           axes are dense (the H, W of NCHW images reduced over N, H, W)
 *           and no conversion is needed, the blocks are those dense runs,
 *           read where they lie.
 * Floating values accumulate in double, integers in wrapping int64. VAR
 * takes two passes (mean, then squared deviations).
 */
#include <math.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "cpu/cpu.h"

#define BLK CF_CPU_BLOCK

cf_acc cf_red_identity(cf_opcode op, cf_dtype cdt, cf_dtype odt)
{
    cf_acc a;
    if (cf_rep_of(cdt) != CF_REP_I64) {
        a.d = op == CF_OP_PROD ? 1.0 : op == CF_OP_MAX ? -INFINITY : op == CF_OP_MIN ? INFINITY : 0.0;
        return a;
    }
    switch (op) {
    case CF_OP_PROD: a.i = 1; break;
    case CF_OP_MAX:
        a.i = odt == CF_DTYPE_BOOL ? 0 : odt == CF_DTYPE_INT32 ? INT32_MIN : INT64_MIN;
        break;
    case CF_OP_MIN:
        a.i = odt == CF_DTYPE_BOOL ? 1 : odt == CF_DTYPE_INT32 ? INT32_MAX : INT64_MAX;
        break;
    default: a.i = 0; break;
    }
    return a;
}

cf_acc cf_red_combine(cf_opcode op, cf_rep r, cf_acc a, cf_acc b)
{
    if (r == CF_REP_I64) {
        uint64_t x = (uint64_t)a.i, y = (uint64_t)b.i;
        switch (op) {
        case CF_OP_PROD: a.i = (int64_t)(x * y); break;
        case CF_OP_MAX: a.i = a.i >= b.i ? a.i : b.i; break;
        case CF_OP_MIN: a.i = a.i <= b.i ? a.i : b.i; break;
        default: a.i = (int64_t)(x + y); break;
        }
        return a;
    }
    switch (op) {
    case CF_OP_PROD: a.d *= b.d; break;
    case CF_OP_MAX: a.d = (a.d != a.d || a.d >= b.d) ? a.d : b.d; break;
    case CF_OP_MIN: a.d = (a.d != a.d || a.d <= b.d) ? a.d : b.d; break;
    default: a.d += b.d; break;
    }
    return a;
}

void cf_acc_to_rep(cf_acc a, cf_rep r, void *out)
{
    if (r == CF_REP_F64)
        *(double *)out = a.d;
    else if (r == CF_REP_F32)
        *(float *)out = (float)a.d;
    else
        *(int64_t *)out = a.i;
}

double cf_var_finish(double sq, int64_t n, int64_t correction)
{
    int64_t div = n - correction;
    /* torch clamps the divisor at 0: inf or nan, never a negative var. */
    return sq / (double)(div > 0 ? div : 0);
}

static double acc_as_double(cf_acc a, cf_rep r) { return r == CF_REP_I64 ? (double)a.i : a.d; }

typedef struct red_ctx {
    const cf_red_args *a;
    cf_rep r;
    int is_var;
    cf_ndview in;          /* reordered, over (kept..., reduced...) or (kept'..., reduced..., last) */
    int64_t kcount, rcount;
    int64_t ncol;          /* column mode: length of the innermost kept axis; 0 in row mode */
    int64_t nparts;        /* row mode: threads per output */
    cf_acc *parts;         /* row mode with nparts > 1: kcount * nparts partials */
    double *means;         /* row mode with nparts > 1: per output */
    int pass;              /* row mode with nparts > 1: 0 sums, 1 squares */
    int col_in_place;      /* column mode: rows are read where they are */
    int64_t run;           /* row mode: elements of a dense run read in place; 0: gather */
    char *scratch;
    size_t per_thread;
} red_ctx;

static void store(const red_ctx *c, int j, int64_t at, const void *vals, int64_t n)
{
    cf_nd_scatter(&c->a->out[j], at, n, c->a->cdt, vals);
}

static void store_double(const red_ctx *c, int j, int64_t at, double v)
{
    int64_t tmp;
    cf_cvt_load(CF_DTYPE_DOUBLE, &v, 1, 1, c->a->cdt, &tmp);
    store(c, j, at, &tmp, 1);
}

/* Reduce elements [lo, hi) of output k's reduced range. */
static cf_acc row_range(const red_ctx *c, char *buf, int64_t k, int64_t lo, int64_t hi,
                        cf_opcode op, double mean, double *sq)
{
    const cf_red_args *a = c->a;
    cf_acc acc = cf_red_identity(op, a->cdt, a->out[0].dtype);
    if (c->run > 0) {
        for (int64_t s = lo; s < hi;) {
            int64_t n = c->run - s % c->run;
            if (n > hi - s)
                n = hi - s;
            const void *x = cf_nd_addr(&c->in, k * c->rcount + s);
            if (sq)
                a->k->rowsq[c->r](n, x, mean, sq);
            else
                a->k->rowred[c->r](op, n, x, &acc);
            s += n;
        }
        return acc;
    }
    for (int64_t s = lo; s < hi; s += BLK) {
        int64_t n = hi - s < BLK ? hi - s : BLK;
        cf_nd_gather(&c->in, k * c->rcount + s, n, a->cdt, buf);
        if (sq)
            a->k->rowsq[c->r](n, buf, mean, sq);
        else
            a->k->rowred[c->r](op, n, buf, &acc);
    }
    return acc;
}

static void row_task(void *vctx, int tid, int64_t begin, int64_t end)
{
    const red_ctx *c = vctx;
    const cf_red_args *a = c->a;
    char *buf = c->scratch + (size_t)tid * c->per_thread;
    for (int64_t it = begin; it < end; it++) {
        int64_t k = it / c->nparts, p = it % c->nparts;
        int64_t lo = c->rcount * p / c->nparts, hi = c->rcount * (p + 1) / c->nparts;
        if (c->nparts > 1) {
            if (c->pass == 0) {
                c->parts[it] = row_range(c, buf, k, lo, hi, c->is_var ? CF_OP_SUM : a->op, 0, NULL);
            } else {
                double sq = 0;
                row_range(c, buf, k, lo, hi, CF_OP_SUM, c->means[k], &sq);
                c->parts[it].d = sq;
            }
            continue;
        }
        if (!c->is_var) {
            int64_t v;
            cf_acc acc = row_range(c, buf, k, lo, hi, a->op, 0, NULL);
            cf_acc_to_rep(acc, c->r, &v);
            store(c, 0, k, &v, 1);
        } else {
            double sq = 0, mean;
            cf_acc sum = row_range(c, buf, k, lo, hi, CF_OP_SUM, 0, NULL);
            mean = acc_as_double(sum, c->r) / (double)c->rcount;
            row_range(c, buf, k, lo, hi, CF_OP_SUM, mean, &sq);
            store_double(c, 0, k, cf_var_finish(sq, c->rcount, a->correction));
            if (a->nout > 1)
                store_double(c, 1, k, mean);
        }
    }
}

static void col_task(void *vctx, int tid, int64_t begin, int64_t end)
{
    const red_ctx *c = vctx;
    const cf_red_args *a = c->a;
    char *buf = c->scratch + (size_t)tid * c->per_thread;
    cf_acc *acc = (cf_acc *)(buf + BLK * 8);
    double *mean = (double *)(buf + 2 * BLK * 8);
    int64_t nchunks = (c->ncol + BLK - 1) / BLK;
    cf_opcode op = c->is_var ? CF_OP_SUM : a->op;
    for (int64_t it = begin; it < end; it++) {
        int64_t ko = it / nchunks, c0 = (it % nchunks) * BLK;
        int64_t n = c->ncol - c0 < BLK ? c->ncol - c0 : BLK;
        cf_acc id = cf_red_identity(op, a->cdt, a->out[0].dtype);
        for (int64_t i = 0; i < n; i++) acc[i] = id;
        for (int64_t ri = 0; ri < c->rcount; ri++) {
            int64_t at = (ko * c->rcount + ri) * c->ncol + c0;
            const void *x = buf;
            if (c->col_in_place)
                x = cf_nd_addr(&c->in, at);
            else
                cf_nd_gather(&c->in, at, n, a->cdt, buf);
            a->k->colred[c->r](op, n, x, acc);
        }
        if (!c->is_var) {
            /* In place: element i of the rep is no larger than acc[i]. */
            for (int64_t i = 0; i < n; i++) cf_acc_to_rep(acc[i], c->r, buf + i * cf_rep_size(c->r));
            store(c, 0, ko * c->ncol + c0, buf, n);
            continue;
        }
        for (int64_t i = 0; i < n; i++) {
            mean[i] = acc_as_double(acc[i], c->r) / (double)c->rcount;
            acc[i].d = 0;
        }
        for (int64_t ri = 0; ri < c->rcount; ri++) {
            cf_nd_gather(&c->in, (ko * c->rcount + ri) * c->ncol + c0, n, a->cdt, buf);
            a->k->colsq[c->r](n, buf, mean, &acc[0].d);
        }
        for (int64_t i = 0; i < n; i++) acc[i].d = cf_var_finish(acc[i].d, c->rcount, a->correction);
        cf_cvt_load(CF_DTYPE_DOUBLE, acc, 1, n, a->cdt, buf);
        store(c, 0, ko * c->ncol + c0, buf, n);
        if (a->nout > 1) {
            cf_cvt_load(CF_DTYPE_DOUBLE, mean, 1, n, a->cdt, buf);
            store(c, 1, ko * c->ncol + c0, buf, n);
        }
    }
}

/* Column sums (and maxima, minima) of float values read in place: rows split into parts (by
 * shape alone, so any number of threads adds the same partial sums), each
 * part adding groups of CSUM_GROUP rows in the value type and the groups in
 * double, over strips as wide as whole rows where it can, so that a thread
 * reads its rows in memory order; the parts' sums are added in order at
 * the end. */
#define CSUM_PART_ROWS 256
#define CSUM_MAX_PARTS 16
#define CSUM_MAX_WIDTH 4096
#define CSUM_MIN_WIDTH 256
#define CSUM_GROUP 32        /* rows added in the value type, then in double */

typedef struct csum_ctx {
    const red_ctx *c;
    int64_t outer, nparts, rpp, nstrips, width;
    double *parts;     /* nparts > 1: [outer][nparts][ncol] partial sums */
    char *scratch;
    size_t per_thread;
} csum_ctx;

/* Store n sums (double) of output columns from `at` on. */
static void csum_store(const red_ctx *c, double *acc, int64_t at, int64_t n)
{
    if (c->r == CF_REP_F32) {
        /* In place: element i as float lies below acc[i]. */
        float *f = (float *)acc;
        for (int64_t i = 0; i < n; i++) f[i] = (float)acc[i];
    }
    store(c, 0, at, acc, n);
}

/* Where the running sums of a group go: half a page away from the rows'
 * addresses modulo 4 KiB, so that their stores never look like they alias
 * the loads of the rows (a 4K-aliasing stall on every vector). */
static void *csum_tmp(char *own, size_t per_thread, const void *row)
{
    char *base = own + (per_thread - 4096) / 2;
    uintptr_t want = ((uintptr_t)row + 2048) & 4095, have = (uintptr_t)base & 4095;
    return base + ((want - have) & 4095);
}

/* acc = max(x, acc) / min(x, acc) element-wise in the value type (exact),
 * NaN-propagating with x first on ties, as the kernels' colred, over the g
 * rows in order; four rows a pass so that acc is loaded and stored once per
 * four rows. Loops the compiler vectorises (branches outside them). */
#define CMX(x, y) (((x) != (x) || (x) >= (y)) ? (x) : (y))
#define CMN(x, y) (((x) != (x) || (x) <= (y)) ? (x) : (y))
#define COLMAX_FN(name, T)                                                                     \
    static void name(int64_t n, const void *const *rows, int g, T *restrict acc, int mx)                \
    {                                                                                          \
        int j = 0;                                                                             \
        for (; j + 4 <= g; j += 4) {                                                           \
            const T *restrict x0 = rows[j], *restrict x1 = rows[j + 1];                         \
            const T *restrict x2 = rows[j + 2], *restrict x3 = rows[j + 3];                   \
            if (mx)                                                                            \
                for (int64_t i = 0; i < n; i++) {                                             \
                    T v = CMX(x0[i], acc[i]);                                                   \
                    v = CMX(x1[i], v);                                                          \
                    v = CMX(x2[i], v);                                                          \
                    acc[i] = CMX(x3[i], v);                                                     \
                }                                                                              \
            else                                                                               \
                for (int64_t i = 0; i < n; i++) {                                             \
                    T v = CMN(x0[i], acc[i]);                                                   \
                    v = CMN(x1[i], v);                                                          \
                    v = CMN(x2[i], v);                                                          \
                    acc[i] = CMN(x3[i], v);                                                     \
                }                                                                              \
        }                                                                                      \
        for (; j < g; j++) {                                                                   \
            const T *restrict x = rows[j];                                                     \
            if (mx)                                                                            \
                for (int64_t i = 0; i < n; i++) acc[i] = CMX(x[i], acc[i]);                    \
            else                                                                               \
                for (int64_t i = 0; i < n; i++) acc[i] = CMN(x[i], acc[i]);                    \
        }                                                                                      \
    }
COLMAX_FN(colmax_f32, float)
COLMAX_FN(colmax_f64, double)

static void csum_task(void *vctx, int tid, int64_t begin, int64_t end)
{
    const csum_ctx *s = vctx;
    const red_ctx *c = s->c;
    const cf_red_args *a = c->a;
    for (int64_t it = begin; it < end; it++) {
        int64_t p = it % s->nparts, rest = it / s->nparts;
        int64_t ko = rest / s->nstrips, c0 = (rest % s->nstrips) * s->width;
        int64_t n = c->ncol - c0 < s->width ? c->ncol - c0 : s->width;
        int64_t r0 = p * s->rpp, r1 = r0 + s->rpp < c->rcount ? r0 + s->rpp : c->rcount;
        char *own = s->scratch + (size_t)tid * s->per_thread;
        double *acc = s->nparts > 1 ? s->parts + (ko * s->nparts + p) * c->ncol + c0 : (double *)own;
        const void *rows[CSUM_GROUP];
        if (n <= 0)
            continue;
        if (a->op == CF_OP_SUM) {
            memset(acc, 0, (size_t)n * sizeof(double));
        } else {
            double id = cf_red_identity(a->op, a->cdt, a->out[0].dtype).d;
            for (int64_t i = 0; i < n; i++) acc[i] = id;
        }
        for (int64_t r = r0; r < r1; r += CSUM_GROUP) {
            int g = r1 - r < CSUM_GROUP ? (int)(r1 - r) : CSUM_GROUP;
            for (int j = 0; j < g; j++)
                rows[j] = cf_nd_addr(&c->in, (ko * c->rcount + r + j) * c->ncol + c0);
            if (a->op == CF_OP_SUM) {
                a->k->colsum[c->r](n, rows, g, csum_tmp(own, s->per_thread, rows[0]), acc);
            } else if (c->r == CF_REP_F64) {
                colmax_f64(n, rows, g, acc, a->op == CF_OP_MAX);
            } else {
                /* max/min of floats: exact in float, kept in the thread's
                 * value-type strip and widened once at the end */
                float *f = (float *)(void *)(own + (s->per_thread - 4096) / 2);
                if (r == r0)
                    for (int64_t i = 0; i < n; i++) f[i] = (float)acc[i];
                colmax_f32(n, rows, g, f, a->op == CF_OP_MAX);
                if (r + g >= r1)
                    for (int64_t i = 0; i < n; i++) acc[i] = (double)f[i];
            }
        }
        if (s->nparts == 1)
            csum_store(c, acc, ko * c->ncol + c0, n);
    }
}

static cf_status col_sum(const red_ctx *c)
{
    const cf_red_args *a = c->a;
    csum_ctx s;
    int64_t items, work = c->kcount * c->rcount;
    size_t bytes;
    int nt;
    memset(&s, 0, sizeof s);
    s.c = c;
    s.outer = c->kcount / c->ncol;
    s.nparts = c->rcount / CSUM_PART_ROWS;
    s.nparts = s.nparts < 1 ? 1 : s.nparts > CSUM_MAX_PARTS ? CSUM_MAX_PARTS : s.nparts;
    s.rpp = ((c->rcount + s.nparts - 1) / s.nparts + CSUM_GROUP - 1) / CSUM_GROUP * CSUM_GROUP;
    s.nparts = (c->rcount + s.rpp - 1) / s.rpp;
    s.nstrips = (c->ncol + CSUM_MAX_WIDTH - 1) / CSUM_MAX_WIDTH;
    nt = cf_cpu_pick_threads(a->nthreads, s.outer * s.nparts * ((c->ncol + 255) / 256), work);
    /* Narrower strips only where the threads would lack work: the width
     * changes no value. */
    while (s.outer * s.nparts * s.nstrips < 4 * (int64_t)nt &&
           c->ncol / (s.nstrips * 2) >= CSUM_MIN_WIDTH)
        s.nstrips *= 2;
    s.width = ((c->ncol + s.nstrips - 1) / s.nstrips + 15) / 16 * 16;
    s.nstrips = (c->ncol + s.width - 1) / s.width;
    items = s.outer * s.nstrips * s.nparts;
    if (nt > items)
        nt = (int)items;
    /* A strip of double sums, then one of the value type. */
    s.per_thread = 2 * (((size_t)(s.width > BLK ? s.width : BLK) * sizeof(double) + 63) & ~(size_t)63) +
                   4096;
    bytes = s.per_thread * (size_t)(nt > 0 ? nt : 1);
    if (s.nparts > 1)
        bytes += (size_t)(s.outer * s.nparts * c->ncol) * sizeof(double);
    s.scratch = cf_malloc_aligned(bytes);
    if (!s.scratch)
        return cf_error_nomem("cpu_execute");
    if (s.nparts > 1)
        s.parts = (double *)(s.scratch + s.per_thread * (size_t)(nt > 0 ? nt : 1));
    cf_parallel(nt, items, csum_task, &s);
    if (s.nparts > 1) {
        double *buf = (double *)s.scratch;
        for (int64_t ko = 0; ko < s.outer; ko++)
            for (int64_t c0 = 0; c0 < c->ncol; c0 += BLK) {
                int64_t n = c->ncol - c0 < BLK ? c->ncol - c0 : BLK;
                const double *q = s.parts + ko * s.nparts * c->ncol + c0;
                for (int64_t i = 0; i < n; i++) buf[i] = q[i];
                for (int64_t p = 1; p < s.nparts; p++)
                    for (int64_t i = 0; i < n; i++) {
                        cf_acc x = {.d = q[p * c->ncol + i]}, y = {.d = buf[i]};
                        /* the later part first, as the rows within a part */
                        buf[i] = c->a->op == CF_OP_SUM ? buf[i] + x.d : cf_red_combine(c->a->op, c->r, x, y).d;
                    }
                csum_store(c, buf, ko * c->ncol + c0, n);
            }
    }
    cf_free_aligned(s.scratch);
    return CF_OK;
}

/* Outputs of a reduction over nothing: identity, or nan for VAR. */
static void fill_empty(const red_ctx *c)
{
    const cf_red_args *a = c->a;
    for (int64_t k = 0; k < c->kcount; k++) {
        if (c->is_var) {
            store_double(c, 0, k, cf_var_finish(0.0, 0, a->correction));
            if (a->nout > 1)
                store_double(c, 1, k, NAN);
        } else {
            int64_t v;
            cf_acc_to_rep(cf_red_identity(a->op, a->cdt, a->out[0].dtype), c->r, &v);
            store(c, 0, k, &v, 1);
        }
    }
}

cf_status cf_reduce_generic(const cf_red_args *a)
{
    red_ctx c;
    int kept[CF_MAX_DIMS], red[CF_MAX_DIMS], nk = 0, nr = 0, nt;
    int64_t sh[CF_MAX_DIMS], st[CF_MAX_DIMS], items, work;
    size_t bytes;
    memset(&c, 0, sizeof c);
    c.a = a;
    c.r = cf_rep_of(a->cdt);
    c.is_var = a->op == CF_OP_VAR || a->op == CF_OP_VAR_MEAN;
    c.kcount = c.rcount = 1;
    for (int d = 0; d < a->ndim; d++) {
        if (a->shape[d] == 1)
            continue;
        if (a->axes & (1u << d)) {
            red[nr++] = d;
            c.rcount *= a->shape[d];
        } else {
            kept[nk++] = d;
            c.kcount *= a->shape[d];
        }
    }
    if (c.kcount == 0)
        return CF_OK;
    if (c.rcount == 0) {
        fill_empty(&c);
        return CF_OK;
    }
    {
        int handled;
        cf_status rst = cf_reduce_runs(a, &handled);
        if (rst || handled)
            return rst;
    }
    /* Column schedule when the innermost kept axis is dense and wide. */
    if (nk > 0 && nr > 0 && a->strides[kept[nk - 1]] == 1 && a->shape[kept[nk - 1]] >= 16 &&
        kept[nk - 1] > red[nr - 1]) {
        int n = 0, last = kept[nk - 1];
        for (int i = 0; i < nk - 1; i++, n++) {
            sh[n] = a->shape[kept[i]];
            st[n] = a->strides[kept[i]];
        }
        for (int i = 0; i < nr; i++, n++) {
            sh[n] = a->shape[red[i]];
            st[n] = a->strides[red[i]];
        }
        sh[n] = a->shape[last];
        st[n++] = 1;
        cf_ndview_make(&c.in, a->data, a->dtype, n, sh, st);
        c.ncol = a->shape[last];
        /* The innermost (collapsed) axis holds whole rows of `last`, so a
         * block of a row never straddles it. */
        c.col_in_place = a->dtype == a->cdt && cf_dtype_is_native(a->dtype) &&
                         c.in.ndim > 0 && c.in.strides[c.in.ndim - 1] == 1 &&
                         c.in.shape[c.in.ndim - 1] % c.ncol == 0;
        if (c.col_in_place && !c.is_var && c.r != CF_REP_I64 &&
            (a->op == CF_OP_SUM || a->op == CF_OP_MAX || a->op == CF_OP_MIN))
            return col_sum(&c);
        items = (c.kcount / c.ncol) * ((c.ncol + BLK - 1) / BLK);
    } else {
        int n = 0;
        for (int i = 0; i < nk; i++, n++) {
            sh[n] = a->shape[kept[i]];
            st[n] = a->strides[kept[i]];
        }
        for (int i = 0; i < nr; i++, n++) {
            sh[n] = a->shape[red[i]];
            st[n] = a->strides[red[i]];
        }
        cf_ndview_make(&c.in, a->data, a->dtype, n, sh, st);
        c.nparts = 1;
        items = c.kcount;
        /* Dense runs of the innermost reduced axes, read in place when the
         * values need no conversion and each run is long enough to pay for
         * a call. */
        if (a->dtype == a->cdt && cf_dtype_is_native(a->dtype)) {
            int64_t run = 1;
            for (int i = nr - 1; i >= 0 && a->strides[red[i]] == run; i--)
                run *= a->shape[red[i]];
            if (run >= 64)
                c.run = run;
        }
    }
    work = c.kcount * c.rcount;
    nt = cf_cpu_pick_threads(a->nthreads, c.ncol ? items : c.kcount * c.rcount / BLK + 1, work);
    if (!c.ncol && c.kcount < nt) {
        c.nparts = nt;
        items = c.kcount * nt;
    } else if (nt > items) {
        nt = (int)items;
    }
    c.per_thread = (size_t)(c.ncol ? 3 : 1) * BLK * 8;
    bytes = c.per_thread * (size_t)nt;
    if (c.nparts > 1)
        bytes += (size_t)items * sizeof(cf_acc) + (size_t)c.kcount * sizeof(double);
    c.scratch = cf_malloc_aligned(bytes);
    if (!c.scratch)
        return cf_error_nomem("cpu_execute");
    if (c.ncol) {
        cf_parallel(nt, items, col_task, &c);
    } else if (c.nparts == 1) {
        cf_parallel(nt, items, row_task, &c);
    } else {
        c.parts = (cf_acc *)(c.scratch + c.per_thread * (size_t)nt);
        c.means = (double *)(c.parts + items);
        cf_parallel(nt, items, row_task, &c);
        for (int64_t k = 0; k < c.kcount; k++) {
            cf_acc acc = c.parts[k * c.nparts];
            for (int64_t p = 1; p < c.nparts; p++)
                acc = cf_red_combine(c.is_var ? CF_OP_SUM : a->op, c.r, acc, c.parts[k * c.nparts + p]);
            if (!c.is_var) {
                int64_t v;
                cf_acc_to_rep(acc, c.r, &v);
                store(&c, 0, k, &v, 1);
            } else {
                c.means[k] = acc_as_double(acc, c.r) / (double)c.rcount;
            }
        }
        if (c.is_var) {
            c.pass = 1;
            cf_parallel(nt, items, row_task, &c);
            for (int64_t k = 0; k < c.kcount; k++) {
                double sq = 0;
                for (int64_t p = 0; p < c.nparts; p++) sq += c.parts[k * c.nparts + p].d;
                store_double(&c, 0, k, cf_var_finish(sq, c.rcount, a->correction));
                if (a->nout > 1)
                    store_double(&c, 1, k, c.means[k]);
            }
        }
    }
    cf_free_aligned(c.scratch);
    return CF_OK;
}
