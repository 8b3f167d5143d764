/* cpu/reduce.c - reductions over any axes of a strided tensor.
 *
 * The input's axes are reordered as (kept..., reduced...). Two schedules:
 *   column  the innermost kept axis is dense: blocks of it are accumulated
 *           element-wise over every reduced index (rows added into a vector
 *           accumulator, the memory order of a column sum);
 *   row     otherwise: each output reduces its reduced elements in blocks;
 *           a few outputs with many elements each split them over threads
 *           and combine the partial results.
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
