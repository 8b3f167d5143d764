/* Fused schedules and program structure of the CPU executor: pointwise
 * chains, softmax and layer norm rows, views (broadcast, transpose),
 * strided inputs, temporaries read outside their segment, COPY, FULL, IOTA,
 * empty and rank-0 tensors, threads, concurrent calls, allocation failures. */
#include <criterion/criterion.h>
#include <math.h>
#include <pthread.h>

#include "cfuser/alloc.h"
#include "cfuser/ops.h"
#include "cfuser/status.h"
#include "test_cpu_util.h"

static void fill(tprog *t, int s, uint64_t seed, double lo, double hi)
{
    int64_t n = tp_numel(t->slots[s].ndim, t->vals[s].shape);
    for (int64_t i = 0; i < n; i++) tp_set(t->slots[s].dtype, t->vals[s].data, i, tp_uniform(&seed, lo, hi));
}

/* relu(tanh(a*b+1)*0.5+a) */
static void build_chain(tprog *t, int64_t n, cf_dtype dt)
{
    int64_t sh[1] = {n};
    cf_dtype c = cf_dtype_compute(dt);
    tp_init(t);
    int a = tp_in(t, dt, 1, sh), b = tp_in(t, dt, 1, sh);
    int one = tp_constf(t, CF_DTYPE_DOUBLE, 1.0), half = tp_constf(t, CF_DTYPE_DOUBLE, 0.5);
    int t1 = tp_tmp(t, dt, 1, sh), t2 = tp_tmp(t, dt, 1, sh), t3 = tp_tmp(t, dt, 1, sh);
    int t4 = tp_tmp(t, dt, 1, sh), t5 = tp_tmp(t, dt, 1, sh), o = tp_out(t, dt, 1, sh);
    tp_op2(t, CF_OP_MUL, c, a, b, t1);
    tp_op2(t, CF_OP_ADD, c, t1, one, t2);
    tp_op1(t, CF_OP_TANH, c, t2, t3);
    tp_op2(t, CF_OP_MUL, c, t3, half, t4);
    tp_op2(t, CF_OP_ADD, c, t4, a, t5);
    tp_op1(t, CF_OP_RELU, c, t5, o);
    fill(t, a, 1, -2, 2);
    fill(t, b, 2, -2, 2);
}

Test(cpu_fused, pointwise_chain_sizes_dtypes_threads)
{
    static const int64_t sizes[] = {0, 1, 7, 1023, 1024, 1025, 4097, 100003};
    static const cf_dtype dts[] = {CF_DTYPE_FLOAT, CF_DTYPE_DOUBLE, CF_DTYPE_HALF, CF_DTYPE_BFLOAT16};
    for (size_t d = 0; d < 4; d++)
        for (size_t s = 0; s < sizeof sizes / sizeof sizes[0]; s++) {
            tprog t;
            int64_t n = sizes[s];
            build_chain(&t, n, dts[d]);
            int o = t.outs[0];
            cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
            void *single = malloc((size_t)n * 8 + 8);
            memcpy(single, t.vals[o].data, (size_t)n * cf_dtype_size(dts[d]));
            memset(t.vals[o].data, 0, (size_t)n * cf_dtype_size(dts[d]));
            cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 4), CF_OK);
            cr_assert_eq(memcmp(single, t.vals[o].data, (size_t)n * cf_dtype_size(dts[d])), 0,
                         "threads change results");
            for (int64_t i = 0; i < n; i++) {
                double a = tp_get(dts[d], t.vals[t.ins[0]].data, i);
                double b = tp_get(dts[d], t.vals[t.ins[1]].data, i);
                double r = tanh(a * b + 1) * 0.5 + a;
                r = r < 0 ? 0 : r;
                /* Half/BFloat16 round after every op, like the reference
                 * within a few of their ulps. */
                double tol = tp_tol(dts[d]) * 4;
                cr_assert(tp_close(tp_get(dts[d], t.vals[o].data, i), r, tol, tol),
                          "%s n=%lld i=%lld", cf_dtype_pyname(dts[d]), (long long)n, (long long)i);
            }
            free(single);
            tp_free(&t);
        }
}

/* softmax over the last axis, with the reduction results dropped and
 * re-broadcast through views, as the lowering emits them. */
static void build_softmax(tprog *t, int64_t m, int64_t n)
{
    int64_t sh[2] = {m, n}, rs[2] = {m, 1}, v1[1] = {m};
    int8_t drop[1] = {0}, bc[2] = {0, -1};
    cf_dtype f = CF_DTYPE_FLOAT;
    tp_init(t);
    int x = tp_in(t, f, 2, sh);
    int mx = tp_tmp(t, f, 2, rs), mxv = tp_tmp(t, f, 1, v1), mxb = tp_tmp(t, f, 2, sh);
    int d = tp_tmp(t, f, 2, sh), e = tp_tmp(t, f, 2, sh);
    int s = tp_tmp(t, f, 2, rs), sv = tp_tmp(t, f, 1, v1), sb = tp_tmp(t, f, 2, sh);
    int o = tp_out(t, f, 2, sh);
    tp_reduce(t, CF_OP_MAX, f, x, 2, mx);
    tp_view(t, mx, mxv, drop);
    tp_view(t, mxv, mxb, bc);
    tp_op2(t, CF_OP_SUB, f, x, mxb, d);
    tp_op1(t, CF_OP_EXP, f, d, e);
    tp_reduce(t, CF_OP_SUM, f, e, 2, s);
    tp_view(t, s, sv, drop);
    tp_view(t, sv, sb, bc);
    tp_op2(t, CF_OP_DIV, f, e, sb, o);
    fill(t, x, 3, -6, 6);
}

static void check_softmax(tprog *t, int64_t m, int64_t n)
{
    const float *x = t->vals[t->ins[0]].data, *y = t->vals[t->outs[0]].data;
    for (int64_t r = 0; r < m; r++) {
        double mx = -INFINITY, s = 0;
        for (int64_t j = 0; j < n; j++) mx = fmax(mx, x[r * n + j]);
        for (int64_t j = 0; j < n; j++) s += exp(x[r * n + j] - mx);
        for (int64_t j = 0; j < n; j++)
            cr_assert(tp_close(y[r * n + j], exp(x[r * n + j] - mx) / s, 1e-5, 1e-7),
                      "softmax %lldx%lld [%lld,%lld]", (long long)m, (long long)n,
                      (long long)r, (long long)j);
    }
}

Test(cpu_fused, softmax_rows)
{
    static const int64_t shapes[][2] = {{1, 1}, {3, 7}, {64, 1025}, {5, 40000}, {257, 33}};
    for (size_t i = 0; i < 5; i++) {
        tprog t;
        build_softmax(&t, shapes[i][0], shapes[i][1]);
        for (int nt = 1; nt <= 3; nt++) {
            cr_assert_eq(cf_cpu_execute(&t.p, t.vals, nt), CF_OK);
            check_softmax(&t, shapes[i][0], shapes[i][1]);
        }
        tp_free(&t);
    }
}

/* Rows shorter than, equal to and longer than a piece of a phase, with
 * threads 1 and many giving the same bits. */
Test(cpu_fused, softmax_rows_around_the_piece_length)
{
    static const int64_t shapes[][2] = {{4, 1023}, {3, 1024}, {5, 1025}, {2, 3000}, {7, 4097},
                                        {2, 32768}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++) {
        tprog t;
        int64_t m = shapes[i][0], n = shapes[i][1];
        build_softmax(&t, m, n);
        size_t bytes = (size_t)(m * n) * sizeof(float);
        float *one = malloc(bytes);
        cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
        check_softmax(&t, m, n);
        memcpy(one, t.vals[t.outs[0]].data, bytes);
        cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 3), CF_OK);
        cr_assert_eq(memcmp(one, t.vals[t.outs[0]].data, bytes), 0, "threads change softmax");
        free(one);
        tp_free(&t);
    }
}

/* One row program with every kind of phase content: constants on the left
 * of sub and div, a full-row output read again by a reduction of the same
 * phase, var_mean over a value of its own phase, row-wise steps, and a
 * division of a row value by a full-row output. */
static void check_phases(int64_t m, int64_t n, int nt)
{
    int64_t sh[2] = {m, n}, rs[2] = {m, 1};
    cf_dtype f = CF_DTYPE_FLOAT;
    tprog t;
    tp_init(&t);
    int x = tp_in(&t, f, 2, sh);
    int two = tp_constf(&t, CF_DTYPE_DOUBLE, 2.0), q = tp_constf(&t, CF_DTYPE_DOUBLE, 0.25);
    int eps = tp_constf(&t, CF_DTYPE_DOUBLE, 1e-5);
    int y = tp_tmp(&t, f, 2, sh), yq = tp_tmp(&t, f, 2, sh), e = tp_out(&t, f, 2, sh);
    int s = tp_out(&t, f, 2, rs), var = tp_tmp(&t, f, 2, rs), mean = tp_tmp(&t, f, 2, rs);
    int ve = tp_tmp(&t, f, 2, rs), rstd = tp_tmp(&t, f, 2, rs);
    int z = tp_out(&t, f, 2, sh), yc = tp_tmp(&t, f, 2, sh), w = tp_out(&t, f, 2, sh);
    tp_op2(&t, CF_OP_SUB, f, two, x, y);
    tp_op2(&t, CF_OP_MUL, f, y, q, yq);
    tp_op1(&t, CF_OP_EXP, f, yq, e);
    tp_reduce(&t, CF_OP_SUM, f, e, 2, s);
    cf_prog_instr *vm = tp_reduce(&t, CF_OP_VAR_MEAN, f, y, 2, var);
    vm->nout = 2;
    vm->out[1] = mean;
    tp_op2(&t, CF_OP_DIV, f, s, e, z);
    tp_op2(&t, CF_OP_ADD, f, var, eps, ve);
    tp_op1(&t, CF_OP_RSQRT, f, ve, rstd);
    tp_op2(&t, CF_OP_SUB, f, y, mean, yc);
    tp_op2(&t, CF_OP_MUL, f, yc, rstd, w);
    fill(&t, x, 9, -4, 4);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, nt), CF_OK);
    const float *xv = t.vals[x].data;
    for (int64_t r = 0; r < m; r++) {
        double se = 0, sy = 0, sq = 0;
        for (int64_t j = 0; j < n; j++) {
            double yy = 2.0 - xv[r * n + j];
            se += exp(yy * 0.25);
            sy += yy;
        }
        double mu = sy / (double)n;
        for (int64_t j = 0; j < n; j++) {
            double dv = 2.0 - xv[r * n + j] - mu;
            sq += dv * dv;
        }
        double rsd = 1 / sqrt(sq / (double)n + 1e-5);
        cr_assert(tp_close(((float *)t.vals[s].data)[r], se, 1e-5, 1e-6), "sum row %lld", (long long)r);
        for (int64_t j = 0; j < n; j++) {
            double yy = 2.0 - xv[r * n + j], ee = exp(yy * 0.25);
            cr_assert(tp_close(((float *)t.vals[e].data)[r * n + j], ee, 1e-6, 1e-7));
            cr_assert(tp_close(((float *)t.vals[z].data)[r * n + j], se / ee, 1e-5, 1e-6));
            cr_assert(tp_close(((float *)t.vals[w].data)[r * n + j], (yy - mu) * rsd, 1e-4, 1e-5),
                      "%lldx%lld [%lld,%lld] nt %d", (long long)m, (long long)n, (long long)r,
                      (long long)j, nt);
        }
    }
    tp_free(&t);
}

Test(cpu_fused, row_phases_every_kind_of_step)
{
    static const int64_t shapes[][2] = {{3, 7}, {5, 1024}, {4, 1500}, {3, 2049}};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (int nt = 1; nt <= 3; nt += 2) check_phases(shapes[i][0], shapes[i][1], nt);
}

Test(cpu_fused, layer_norm_with_keepdim_outputs)
{
    int64_t m = 37, n = 301, sh[2] = {m, n}, rs[2] = {m, 1}, ws[2] = {1, n};
    cf_dtype f = CF_DTYPE_FLOAT;
    tprog t;
    tp_init(&t);
    int x = tp_in(&t, CF_DTYPE_HALF, 2, sh), w = tp_in(&t, f, 2, ws), b = tp_in(&t, f, 2, ws);
    int eps = tp_constf(&t, CF_DTYPE_DOUBLE, 1e-5);
    int var = tp_tmp(&t, f, 2, rs), mean = tp_out(&t, f, 2, rs);
    int xc = tp_tmp(&t, f, 2, sh), ve = tp_tmp(&t, f, 2, rs), rstd = tp_out(&t, f, 2, rs);
    int xn = tp_tmp(&t, f, 2, sh), xw = tp_tmp(&t, f, 2, sh), o = tp_out(&t, CF_DTYPE_HALF, 2, sh);
    cf_prog_instr *vm = tp_reduce(&t, CF_OP_VAR_MEAN, f, x, 2, var);
    vm->nout = 2;
    vm->out[1] = mean;
    tp_op2(&t, CF_OP_SUB, f, x, mean, xc);
    tp_op2(&t, CF_OP_ADD, f, var, eps, ve);
    tp_op1(&t, CF_OP_RSQRT, f, ve, rstd);
    tp_op2(&t, CF_OP_MUL, f, xc, rstd, xn);
    tp_op2(&t, CF_OP_MUL, f, xn, w, xw);
    tp_op2(&t, CF_OP_ADD, f, xw, b, o);
    fill(&t, x, 4, -3, 5);
    fill(&t, w, 5, 0.5, 1.5);
    fill(&t, b, 6, -1, 1);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 2), CF_OK);
    for (int64_t r = 0; r < m; r++) {
        double s = 0, sq = 0;
        for (int64_t j = 0; j < n; j++) s += tp_get(CF_DTYPE_HALF, t.vals[x].data, r * n + j);
        double mu = s / (double)n;
        for (int64_t j = 0; j < n; j++) {
            double dv = tp_get(CF_DTYPE_HALF, t.vals[x].data, r * n + j) - mu;
            sq += dv * dv;
        }
        double rs_ = 1 / sqrt(sq / (double)n + 1e-5);
        cr_assert(tp_close(((float *)t.vals[mean].data)[r], mu, 1e-5, 1e-6));
        cr_assert(tp_close(((float *)t.vals[rstd].data)[r], rs_, 1e-5, 1e-6));
        for (int64_t j = 0; j < n; j++) {
            double v = (tp_get(CF_DTYPE_HALF, t.vals[x].data, r * n + j) - mu) * rs_ *
                           ((float *)t.vals[w].data)[j] + ((float *)t.vals[b].data)[j];
            cr_assert(tp_close(tp_get(CF_DTYPE_HALF, t.vals[o].data, r * n + j), v, 2e-3, 2e-3));
        }
    }
    tp_free(&t);
}

/* out = a + transpose(b) + t where t = a * 2 is also read transposed: the
 * transposed read of a temporary forces it into memory. */
Test(cpu_fused, transposed_views_and_materialised_temps)
{
    int64_t n = 45, sh[2] = {n, n};
    int8_t tr[2] = {1, 0};
    cf_dtype f = CF_DTYPE_DOUBLE;
    tprog t;
    tp_init(&t);
    int a = tp_in(&t, f, 2, sh), b = tp_in(&t, f, 2, sh);
    int two = tp_constf(&t, f, 2.0);
    int bt = tp_tmp(&t, f, 2, sh), s1 = tp_tmp(&t, f, 2, sh), tt = tp_tmp(&t, f, 2, sh);
    int ttt = tp_tmp(&t, f, 2, sh), o = tp_out(&t, f, 2, sh);
    tp_view(&t, b, bt, tr);
    tp_op2(&t, CF_OP_MUL, f, a, two, tt);
    tp_op2(&t, CF_OP_ADD, f, a, bt, s1);
    tp_view(&t, tt, ttt, tr);
    tp_op2(&t, CF_OP_ADD, f, s1, ttt, o);
    fill(&t, a, 7, -1, 1);
    fill(&t, b, 8, -1, 1);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    const double *A = t.vals[a].data, *B = t.vals[b].data, *O = t.vals[o].data;
    for (int64_t i = 0; i < n; i++)
        for (int64_t j = 0; j < n; j++)
            cr_assert(tp_close(O[i * n + j], A[i * n + j] + B[j * n + i] + 2 * A[j * n + i], 1e-12, 1e-12));
    tp_free(&t);
}

Test(cpu_fused, strided_inputs_outputs_and_copy)
{
    int64_t sh[2] = {19, 23}, rs[2] = {23, 19}, flat[1] = {19 * 23};
    int8_t tr[2] = {1, 0};
    tprog t;
    tp_init(&t);
    /* a: every other element of a larger buffer, rows 50 apart. */
    int a = tp_in(&t, CF_DTYPE_FLOAT, 2, sh);
    free(t.owned[a]);
    t.owned[a] = calloc(19 * 50, sizeof(float));
    t.vals[a].data = t.owned[a];
    t.vals[a].strides[0] = 50;
    t.vals[a].strides[1] = 2;
    int at = tp_tmp(&t, CF_DTYPE_FLOAT, 2, rs);
    int o = tp_out(&t, CF_DTYPE_DOUBLE, 2, rs), c = tp_out(&t, CF_DTYPE_FLOAT, 1, flat);
    /* The output is written column-major. */
    t.vals[o].strides[0] = 1;
    t.vals[o].strides[1] = 23;
    tp_view(&t, a, at, tr);
    tp_op1(&t, CF_OP_CAST, CF_DTYPE_DOUBLE, at, o);
    tp_op1(&t, CF_OP_COPY, CF_DTYPE_FLOAT, at, c);
    float *A = t.vals[a].data;
    for (int i = 0; i < 19 * 50; i++) A[i] = (float)i * 0.5f;
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 2), CF_OK);
    const double *O = t.vals[o].data;
    const float *C = t.vals[c].data;
    for (int64_t i = 0; i < 23; i++)
        for (int64_t j = 0; j < 19; j++) {
            double want = A[j * 50 + i * 2];
            cr_assert_eq(O[i + j * 23], want);
            cr_assert_eq(C[i * 19 + j], (float)want);
        }
    tp_free(&t);
}

Test(cpu_fused, full_iota_rank0_and_empty)
{
    int64_t sh[2] = {3, 5}, n8[1] = {8}, empty[2] = {0, 4};
    tprog t;
    tp_init(&t);
    int fv = tp_constf(&t, CF_DTYPE_DOUBLE, 2.5);
    int full = tp_out(&t, CF_DTYPE_HALF, 2, sh);
    int st = tp_consti(&t, CF_DTYPE_INT, -3), sp = tp_consti(&t, CF_DTYPE_INT, 4);
    int io = tp_out(&t, CF_DTYPE_INT32, 1, n8);
    int fst = tp_constf(&t, CF_DTYPE_DOUBLE, 0.5), fsp = tp_constf(&t, CF_DTYPE_DOUBLE, -0.25);
    int fio = tp_out(&t, CF_DTYPE_FLOAT, 1, n8);
    int r0 = tp_in(&t, CF_DTYPE_INT, 0, NULL), r0o = tp_out(&t, CF_DTYPE_INT, 2, sh);
    int e = tp_in(&t, CF_DTYPE_FLOAT, 2, empty), eo = tp_out(&t, CF_DTYPE_FLOAT, 2, empty);
    tp_op1(&t, CF_OP_FULL, CF_DTYPE_HALF, fv, full);
    tp_op2(&t, CF_OP_IOTA, CF_DTYPE_INT32, st, sp, io);
    tp_op2(&t, CF_OP_IOTA, CF_DTYPE_FLOAT, fst, fsp, fio);
    tp_op2(&t, CF_OP_MUL, CF_DTYPE_INT, r0, sp, r0o);
    tp_op1(&t, CF_OP_EXP, CF_DTYPE_FLOAT, e, eo);
    *(int64_t *)t.vals[r0].data = -7;
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    for (int i = 0; i < 15; i++) {
        cr_assert_eq(tp_get(CF_DTYPE_HALF, t.vals[full].data, i), 2.5);
        cr_assert_eq(((int64_t *)t.vals[r0o].data)[i], -28);
    }
    for (int i = 0; i < 8; i++) {
        cr_assert_eq(((int32_t *)t.vals[io].data)[i], -3 + 4 * i);
        cr_assert_eq(((float *)t.vals[fio].data)[i], 0.5f - 0.25f * (float)i);
    }
    tp_free(&t);
}

/* Many threads run one program at once, each with its own tensors. */
typedef struct job {
    const cf_program *p;
    tprog *t;
    int rc;
} job;

static void *run_job(void *arg)
{
    job *j = arg;
    for (int k = 0; k < 20 && j->rc == CF_OK; k++) j->rc = cf_cpu_execute(j->p, j->t->vals, 2);
    return NULL;
}

Test(cpu_fused, concurrent_calls_on_one_program)
{
    enum { NJ = 4 };
    static tprog ts[NJ];
    pthread_t th[NJ];
    job jobs[NJ];
    for (int i = 0; i < NJ; i++) {
        build_softmax(&ts[i], 67, 515);
        fill(&ts[i], ts[i].ins[0], 100 + (uint64_t)i, -5, 5);
        jobs[i] = (job){&ts[0].p, &ts[i], CF_OK};
    }
    for (int i = 0; i < NJ; i++) cr_assert_eq(pthread_create(&th[i], NULL, run_job, &jobs[i]), 0);
    for (int i = 0; i < NJ; i++) pthread_join(th[i], NULL);
    for (int i = 0; i < NJ; i++) {
        cr_assert_eq(jobs[i].rc, CF_OK);
        check_softmax(&ts[i], 67, 515);
        tp_free(&ts[i]);
    }
}

/* Fail the k-th allocation for every k: CF_ERR_NOMEM, nothing leaked. */
typedef struct faulty {
    int fail_at, count;
    long live;
} faulty;

static void *f_malloc(void *ctx, size_t n)
{
    faulty *f = ctx;
    if (f->count++ == f->fail_at)
        return NULL;
    void *p = malloc(n);
    if (p)
        f->live++;
    return p;
}
static void *f_realloc(void *ctx, void *p, size_t n)
{
    faulty *f = ctx;
    if (f->count++ == f->fail_at)
        return NULL;
    void *q = realloc(p, n);
    if (!p && q)
        f->live++;
    return q;
}
static void f_free(void *ctx, void *p)
{
    faulty *f = ctx;
    if (p)
        f->live--;
    free(p);
}

Test(cpu_fused, allocation_failures)
{
    tprog t;
    int64_t sh[2] = {40, 30}, rs[2] = {40, 1}, cs[2] = {1, 30};
    int8_t tr[2] = {1, 0};
    int64_t tsh[2] = {30, 40};
    tp_init(&t);
    /* A program that needs temporaries in memory and scratch of several
     * kinds: a transposed temp, a column reduction and a fused row. */
    int x = tp_in(&t, CF_DTYPE_FLOAT, 2, sh);
    int y = tp_tmp(&t, CF_DTYPE_FLOAT, 2, sh), yt = tp_tmp(&t, CF_DTYPE_FLOAT, 2, tsh);
    int o1 = tp_out(&t, CF_DTYPE_FLOAT, 2, tsh), o2 = tp_out(&t, CF_DTYPE_FLOAT, 2, cs);
    int o3 = tp_out(&t, CF_DTYPE_FLOAT, 2, rs);
    tp_op1(&t, CF_OP_EXP, CF_DTYPE_FLOAT, x, y);
    tp_view(&t, y, yt, tr);
    tp_op1(&t, CF_OP_NEG, CF_DTYPE_FLOAT, yt, o1);
    tp_reduce(&t, CF_OP_SUM, CF_DTYPE_FLOAT, y, 1, o2);
    tp_reduce(&t, CF_OP_MAX, CF_DTYPE_FLOAT, y, 2, o3);
    fill(&t, x, 9, -1, 1);
    int ok = 0;
    for (int k = 0; k < 50 && !ok; k++) {
        faulty f = {k, 0, 0};
        cf_allocator al = {&f, f_malloc, f_realloc, f_free};
        cf_set_allocator(&al);
        cf_status rc = cf_cpu_execute(&t.p, t.vals, 2);
        cf_set_allocator(NULL);
        cr_assert_eq(f.live, 0, "leak with allocation %d failing", k);
        if (rc == CF_OK) {
            ok = 1;
        } else {
            cr_assert_eq(rc, CF_ERR_NOMEM);
            cr_assert_eq(cf_error_last()->kind, CF_ERR_NOMEM);
        }
    }
    cr_assert(ok);
    const float *X = t.vals[x].data;
    for (int i = 0; i < 30; i++) {
        double s = 0;
        for (int r = 0; r < 40; r++) s += exp(X[r * 30 + i]);
        cr_assert(tp_close(((float *)t.vals[o2].data)[i], s, 1e-5, 1e-6));
        cr_assert(tp_close(((float *)t.vals[o1].data)[i * 40 + 3], -exp(X[3 * 30 + i]), 1e-6, 1e-7));
    }
    tp_free(&t);
}
