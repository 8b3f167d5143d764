/* Reductions of the CPU executor: every op over every axes mask of rank-3
 * tensors (inner, outer, middle, all, none), long rows split over threads,
 * column sums, zero-element reductions, NaN, integer wrap-around. */
#include <criterion/criterion.h>
#include <math.h>

#include "cfuser/ops.h"
#include "test_cpu_util.h"

/* Reference over a contiguous rank-3 tensor in double. */
static void ref_reduce(cf_opcode op, int64_t corr, const int64_t *sh, uint32_t axes,
                       const double *x, double *out, double *mean_out)
{
    int64_t osh[3];
    for (int d = 0; d < 3; d++) osh[d] = (axes & (1u << d)) ? 1 : sh[d];
    int64_t on = tp_numel(3, osh);
    for (int64_t o = 0; o < on; o++) {
        int64_t o0 = o / (osh[1] * osh[2]), o1 = (o / osh[2]) % osh[1], o2 = o % osh[2];
        double acc = op == CF_OP_PROD ? 1 : op == CF_OP_MAX ? -INFINITY : op == CF_OP_MIN ? INFINITY : 0;
        double sum = 0, sq = 0;
        int64_t cnt = 0;
        for (int pass = 0; pass < 2; pass++)
            for (int64_t i = 0; i < sh[0]; i++)
                for (int64_t j = 0; j < sh[1]; j++)
                    for (int64_t k = 0; k < sh[2]; k++) {
                        if ((!(axes & 1) && i != o0) || (!(axes & 2) && j != o1) ||
                            (!(axes & 4) && k != o2))
                            continue;
                        double v = x[(i * sh[1] + j) * sh[2] + k];
                        if (pass == 0) {
                            cnt++;
                            sum += v;
                            if (op == CF_OP_PROD) acc *= v;
                            else if (op == CF_OP_MAX) acc = (isnan(v) || v > acc) ? v : acc;
                            else if (op == CF_OP_MIN) acc = (isnan(v) || v < acc) ? v : acc;
                        } else {
                            double m = sum / (double)cnt;
                            sq += (v - m) * (v - m);
                        }
                        if (isnan(acc) && (op == CF_OP_MAX || op == CF_OP_MIN))
                            acc = NAN;
                    }
        if (op == CF_OP_SUM) acc = sum;
        if (op == CF_OP_VAR || op == CF_OP_VAR_MEAN) {
            int64_t dv = cnt - corr;
            acc = sq / (double)(dv > 0 ? dv : 0);
            if (mean_out) mean_out[o] = sum / (double)cnt;
        }
        out[o] = acc;
    }
}

static void check_reduce(cf_opcode op, cf_dtype dt, const int64_t *sh, uint32_t axes,
                         int64_t corr, int nthreads)
{
    tprog t;
    int64_t osh[3];
    uint64_t seed = 31 + axes + (uint64_t)op * 7;
    for (int d = 0; d < 3; d++) osh[d] = (axes & (1u << d)) ? 1 : sh[d];
    int64_t n = tp_numel(3, sh), on = tp_numel(3, osh);
    cf_dtype cdt = cf_dtype_compute(dt);
    tp_init(&t);
    int a = tp_in(&t, dt, 3, sh);
    int o = tp_out(&t, dt, 3, osh);
    int m = op == CF_OP_VAR_MEAN ? tp_out(&t, dt, 3, osh) : -1;
    cf_prog_instr *ins = tp_reduce(&t, op, cdt, a, axes, o);
    ins->correction = corr;
    if (m >= 0) {
        ins->nout = 2;
        ins->out[1] = m;
    }
    double *x = malloc(sizeof(double) * (size_t)(n + 1));
    double *want = malloc(sizeof(double) * (size_t)(on + 1));
    double *wmean = malloc(sizeof(double) * (size_t)(on + 1));
    for (int64_t i = 0; i < n; i++) {
        double v = op == CF_OP_PROD ? tp_uniform(&seed, 0.6, 1.5) : tp_uniform(&seed, -3, 3);
        if (!cf_dtype_is_float(dt))
            v = (double)((int64_t)(tp_rand(&seed) % 11) - 5);
        tp_set(dt, t.vals[a].data, i, v);
        x[i] = tp_get(dt, t.vals[a].data, i);
    }
    ref_reduce(op, corr, sh, axes, x, want, wmean);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, nthreads), CF_OK);
    double tol = cf_dtype_is_float(dt) ? tp_tol(dt) * 8 : 0;
    for (int64_t i = 0; i < on; i++) {
        double got = tp_get(dt, t.vals[o].data, i);
        double w = want[i], tmp[1];
        if (!cf_dtype_is_float(dt) && isinf(w)) /* integer max/min of nothing: the limits */
            w = dt == CF_DTYPE_INT32 ? (w > 0 ? INT32_MAX : INT32_MIN)
                                     : (w > 0 ? (double)INT64_MAX : (double)INT64_MIN);
        if (!isnan(w) && !isinf(w)) {
            tp_set(dt, tmp, 0, w);
            w = tp_get(dt, tmp, 0);
        }
        cr_assert(tp_close(got, w, tol, tol), "%s %s axes %u shape %lldx%lldx%lld [%lld]: got %.9g want %.9g",
                  cf_op_name(op) ? cf_op_name(op) : "var", cf_dtype_pyname(dt), axes,
                  (long long)sh[0], (long long)sh[1], (long long)sh[2], (long long)i, got, w);
        if (m >= 0)
            cr_assert(tp_close(tp_get(dt, t.vals[m].data, i), wmean[i], tol, tol), "mean");
    }
    free(x);
    free(want);
    free(wmean);
    tp_free(&t);
}

Test(cpu_reduce, every_op_every_mask_float)
{
    static const int64_t shapes[][3] = {{5, 6, 7}, {1, 9, 1}, {3, 1, 17}, {2, 3, 1}};
    static const cf_opcode ops[] = {CF_OP_SUM, CF_OP_PROD, CF_OP_MAX, CF_OP_MIN, CF_OP_VAR,
                                    CF_OP_VAR_MEAN};
    for (size_t s = 0; s < 4; s++)
        for (size_t o = 0; o < 6; o++)
            for (uint32_t axes = 0; axes < 8; axes++)
                check_reduce(ops[o], CF_DTYPE_FLOAT, shapes[s], axes, 1, 1);
}

Test(cpu_reduce, dtypes_and_corrections)
{
    static const int64_t sh[3] = {4, 33, 65};
    static const cf_dtype dts[] = {CF_DTYPE_DOUBLE, CF_DTYPE_HALF, CF_DTYPE_BFLOAT16,
                                   CF_DTYPE_INT, CF_DTYPE_INT32};
    for (size_t d = 0; d < 5; d++)
        for (uint32_t axes = 1; axes < 8; axes++) {
            check_reduce(CF_OP_SUM, dts[d], sh, axes, 0, 2);
            check_reduce(CF_OP_MAX, dts[d], sh, axes, 0, 2);
            check_reduce(CF_OP_MIN, dts[d], sh, axes, 0, 2);
        }
    for (int64_t corr = 0; corr <= 70; corr += 5) {
        check_reduce(CF_OP_VAR, CF_DTYPE_DOUBLE, sh, 4, corr, 1);
        check_reduce(CF_OP_VAR_MEAN, CF_DTYPE_FLOAT, sh, 5, corr, 2);
    }
}

Test(cpu_reduce, long_rows_columns_and_threads)
{
    static const int64_t longrow[3] = {1, 3, 100003};   /* beyond the fused row length */
    static const int64_t column[3] = {1, 3001, 67};     /* outer reduction */
    static const int64_t one[3] = {1, 1, 70001};        /* everything to one value */
    for (int nt = 1; nt <= 4; nt += 3) {
        check_reduce(CF_OP_SUM, CF_DTYPE_FLOAT, longrow, 4, 0, nt);
        check_reduce(CF_OP_VAR_MEAN, CF_DTYPE_FLOAT, longrow, 4, 1, nt);
        check_reduce(CF_OP_MAX, CF_DTYPE_DOUBLE, longrow, 4, 0, nt);
        check_reduce(CF_OP_SUM, CF_DTYPE_FLOAT, column, 2, 0, nt);
        check_reduce(CF_OP_VAR_MEAN, CF_DTYPE_DOUBLE, column, 2, 1, nt);
        check_reduce(CF_OP_MIN, CF_DTYPE_INT, column, 2, 0, nt);
        check_reduce(CF_OP_SUM, CF_DTYPE_DOUBLE, one, 7, 0, nt);
        check_reduce(CF_OP_VAR, CF_DTYPE_FLOAT, one, 7, 1, nt);
    }
}

Test(cpu_reduce, zero_elements)
{
    static const int64_t empty_red[3] = {3, 0, 4};
    static const int64_t empty_out[3] = {0, 5, 4};
    check_reduce(CF_OP_SUM, CF_DTYPE_FLOAT, empty_red, 2, 0, 1);
    check_reduce(CF_OP_PROD, CF_DTYPE_FLOAT, empty_red, 6, 0, 1);
    check_reduce(CF_OP_MAX, CF_DTYPE_FLOAT, empty_red, 2, 0, 1);
    check_reduce(CF_OP_MIN, CF_DTYPE_DOUBLE, empty_red, 7, 0, 1);
    check_reduce(CF_OP_VAR_MEAN, CF_DTYPE_FLOAT, empty_red, 2, 1, 1);
    check_reduce(CF_OP_SUM, CF_DTYPE_FLOAT, empty_out, 2, 0, 1);
    check_reduce(CF_OP_MAX, CF_DTYPE_INT, empty_red, 2, 0, 1);

    /* Integer limits for max/min of nothing, per storage type. */
    tprog t;
    int64_t sh[1] = {0}, osh[1] = {1};
    tp_init(&t);
    int a = tp_in(&t, CF_DTYPE_INT32, 1, sh);
    int o1 = tp_out(&t, CF_DTYPE_INT32, 1, osh), o2 = tp_out(&t, CF_DTYPE_INT32, 1, osh);
    tp_reduce(&t, CF_OP_MAX, CF_DTYPE_INT32, a, 1, o1);
    tp_reduce(&t, CF_OP_MIN, CF_DTYPE_INT32, a, 1, o2);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    cr_assert_eq(((int32_t *)t.vals[o1].data)[0], INT32_MIN);
    cr_assert_eq(((int32_t *)t.vals[o2].data)[0], INT32_MAX);
    tp_free(&t);
}

Test(cpu_reduce, nan_and_int_wrap)
{
    tprog t;
    int64_t sh[2] = {3, 40}, osh[2] = {3, 1};
    tp_init(&t);
    int a = tp_in(&t, CF_DTYPE_FLOAT, 2, sh);
    int mx = tp_out(&t, CF_DTYPE_FLOAT, 2, osh), mn = tp_out(&t, CF_DTYPE_FLOAT, 2, osh);
    int sm = tp_out(&t, CF_DTYPE_FLOAT, 2, osh);
    tp_reduce(&t, CF_OP_MAX, CF_DTYPE_FLOAT, a, 2, mx);
    tp_reduce(&t, CF_OP_MIN, CF_DTYPE_FLOAT, a, 2, mn);
    tp_reduce(&t, CF_OP_SUM, CF_DTYPE_FLOAT, a, 2, sm);
    float *x = t.vals[a].data;
    for (int i = 0; i < 120; i++) x[i] = (float)(i % 7) - 3.0f;
    x[17] = NAN;          /* row 0 */
    x[40 + 39] = INFINITY; /* row 1 */
    x[80] = -INFINITY;     /* row 2 */
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    float *fmx = t.vals[mx].data, *fmn = t.vals[mn].data, *fsm = t.vals[sm].data;
    cr_assert(isnan(fmx[0]) && isnan(fmn[0]) && isnan(fsm[0]));
    cr_assert(fmx[1] == INFINITY && fmn[1] == -3.0f && fsm[1] == INFINITY);
    cr_assert(fmx[2] == 3.0f && fmn[2] == -INFINITY && fsm[2] == -INFINITY);
    tp_free(&t);

    /* int32 sums wrap like torch's int32 arithmetic. */
    int64_t ish[1] = {4}, ios[1] = {1};
    tp_init(&t);
    a = tp_in(&t, CF_DTYPE_INT32, 1, ish);
    int o = tp_out(&t, CF_DTYPE_INT32, 1, ios), p = tp_out(&t, CF_DTYPE_INT, 1, ios);
    tp_reduce(&t, CF_OP_SUM, CF_DTYPE_INT, a, 1, o);
    tp_reduce(&t, CF_OP_PROD, CF_DTYPE_INT, a, 1, p);
    int32_t *xi = t.vals[a].data;
    xi[0] = INT32_MAX;
    xi[1] = INT32_MAX;
    xi[2] = 5;
    xi[3] = -2;
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    cr_assert_eq(((int32_t *)t.vals[o].data)[0], (int32_t)(uint32_t)(2u * 2147483647u + 3u));
    cr_assert_eq(((int64_t *)t.vals[p].data)[0], (int64_t)((uint64_t)2147483647 * 2147483647u * (uint64_t)-10));
    tp_free(&t);
}

/* Column sums read in place: rows split into parts, strips wider and
 * narrower than whole rows, groups of rows shorter than a group, inputs
 * not aligned to a cache line; values against double, any number of
 * threads bit for bit the same. */
static void check_col_sum(cf_dtype dt, const int64_t *sh, uint32_t axes, int shift)
{
    tprog t;
    int64_t osh[3];
    uint64_t seed = 77 + (uint64_t)sh[1];
    size_t es = cf_dtype_size(dt);
    for (int d = 0; d < 3; d++) osh[d] = (axes & (1u << d)) ? 1 : sh[d];
    int64_t n = tp_numel(3, sh), on = tp_numel(3, osh);
    tp_init(&t);
    int a = tp_in(&t, dt, 3, sh), o = tp_out(&t, dt, 3, osh);
    tp_reduce(&t, CF_OP_SUM, dt, a, axes, o);
    /* The storage has slack for one element of shift. */
    free(t.owned[a]);
    t.owned[a] = calloc(1, (size_t)n * es + 64);
    t.vals[a].data = (char *)t.owned[a] + shift * (int)es;
    double *x = malloc(sizeof(double) * (size_t)n), *want = malloc(sizeof(double) * (size_t)on);
    double *mag = malloc(sizeof(double) * (size_t)on);
    for (int64_t i = 0; i < n; i++) {
        tp_set(dt, t.vals[a].data, i, tp_uniform(&seed, -3, 5));
        x[i] = tp_get(dt, t.vals[a].data, i);
    }
    ref_reduce(CF_OP_SUM, 0, sh, axes, x, want, NULL);
    for (int64_t i = 0; i < n; i++) x[i] = fabs(x[i]);
    ref_reduce(CF_OP_SUM, 0, sh, axes, x, mag, NULL);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    void *single = malloc((size_t)on * es);
    memcpy(single, t.vals[o].data, (size_t)on * es);
    for (int nt = 2; nt <= 5; nt += 3) {
        memset(t.vals[o].data, 0, (size_t)on * es);
        cr_assert_eq(cf_cpu_execute(&t.p, t.vals, nt), CF_OK);
        cr_assert_eq(memcmp(single, t.vals[o].data, (size_t)on * es), 0,
                     "%lldx%lldx%lld: %d threads change the sums", (long long)sh[0],
                     (long long)sh[1], (long long)sh[2], nt);
    }
    for (int64_t i = 0; i < on; i++) {
        /* Rounding of the sum itself plus a few ulps of the magnitudes. */
        double tol = dt == CF_DTYPE_FLOAT ? 6e-8 * (fabs(want[i]) + 8 * mag[i])
                                          : 1e-13 * (fabs(want[i]) + mag[i]);
        double got = tp_get(dt, t.vals[o].data, i);
        cr_assert(fabs(got - want[i]) <= tol, "%s %lldx%lldx%lld axes %u shift %d [%lld]: %.9g vs %.9g",
                  cf_dtype_pyname(dt), (long long)sh[0], (long long)sh[1], (long long)sh[2],
                  axes, shift, (long long)i, got, want[i]);
    }
    free(single);
    free(x);
    free(want);
    free(mag);
    tp_free(&t);
}

Test(cpu_reduce, column_sums_in_place)
{
    static const int64_t shapes[][3] = {
        {1, 1, 17},    {1, 31, 16},   {1, 33, 4099}, {1, 1000, 33}, {1, 5000, 300},
        {3, 700, 45},  {1, 2, 9000},  {1, 8193, 16}, {2, 257, 1023},
    };
    static const cf_dtype dts[] = {CF_DTYPE_FLOAT, CF_DTYPE_DOUBLE};
    for (size_t d = 0; d < 2; d++)
        for (size_t s = 0; s < sizeof shapes / sizeof shapes[0]; s++)
            for (int shift = 0; shift <= 1; shift++)
                check_col_sum(dts[d], shapes[s], 2, shift);
    /* Outer and middle axes reduced together. */
    static const int64_t both[3] = {6, 300, 40};
    check_col_sum(CF_DTYPE_FLOAT, both, 3, 1);
}

/* max/min over rows whose NaN sits in the vector part, the tail, or
 * nowhere, for every row length around the vector widths. */
Test(cpu_reduce, max_min_nan_positions)
{
    static const cf_dtype dts[] = {CF_DTYPE_FLOAT, CF_DTYPE_DOUBLE};
    for (size_t d = 0; d < 2; d++)
        for (int64_t len = 1; len <= 70; len += 3)
            for (int64_t at = -1; at < len; at += (len > 9 ? len / 4 : 1)) {
                tprog t;
                int64_t sh[2] = {2, len}, osh[2] = {2, 1};
                uint64_t seed = (uint64_t)(len * 100 + at + 7);
                tp_init(&t);
                int a = tp_in(&t, dts[d], 2, sh);
                int mx = tp_out(&t, dts[d], 2, osh), mn = tp_out(&t, dts[d], 2, osh);
                tp_reduce(&t, CF_OP_MAX, dts[d], a, 2, mx);
                tp_reduce(&t, CF_OP_MIN, dts[d], a, 2, mn);
                double hi = -INFINITY, lo = INFINITY;
                for (int64_t i = 0; i < 2 * len; i++) {
                    double v = tp_uniform(&seed, -100, 100);
                    tp_set(dts[d], t.vals[a].data, i, v);
                    v = tp_get(dts[d], t.vals[a].data, i);
                    if (i >= len) {
                        hi = v > hi ? v : hi;
                        lo = v < lo ? v : lo;
                    }
                }
                if (at >= 0)
                    tp_set(dts[d], t.vals[a].data, at, NAN);
                cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
                double m0 = tp_get(dts[d], t.vals[mx].data, 0), n0 = tp_get(dts[d], t.vals[mn].data, 0);
                if (at >= 0)
                    cr_assert(isnan(m0) && isnan(n0), "len %lld nan at %lld", (long long)len, (long long)at);
                else
                    cr_assert(!isnan(m0) && !isnan(n0));
                cr_assert_eq(tp_get(dts[d], t.vals[mx].data, 1), hi, "len %lld", (long long)len);
                cr_assert_eq(tp_get(dts[d], t.vals[mn].data, 1), lo, "len %lld", (long long)len);
                tp_free(&t);
            }
}
