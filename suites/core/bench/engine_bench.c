/* engine_bench.c - throughput of the CPU executor on the shapes.
 * Build by hand against a build tree (see engine_bench.sh); prints seconds
 * per call, best of several runs. */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <time.h>

#include "cpu/engine.h"
#include "../test_cpu_util.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static double best(tprog *t, int nthreads, int reps)
{
    double b = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        if (cf_cpu_execute(&t->p, t->vals, nthreads) != CF_OK) {
            fprintf(stderr, "execute failed\n");
            return -1;
        }
        double dt = now() - t0;
        b = dt < b ? dt : b;
    }
    return b;
}

static void fill(tprog *t, int s, uint64_t seed)
{
    int64_t n = tp_numel(t->slots[s].ndim, t->vals[s].shape);
    float *x = t->vals[s].data;
    for (int64_t i = 0; i < n; i++) x[i] = (float)tp_uniform(&seed, -2, 2);
}

static void segments(const char *what, tprog *t)
{
    cf_cpu_plan pl;
    memset(&pl, 0, sizeof pl);
    pl.p = &t->p;
    pl.vals = t->vals;
    pl.k = cf_cpu_kernels();
    pl.nthreads = 2;
    if (cf_cpu_plan_build(&pl) == CF_OK) {
        printf("# %s: %d segment(s):", what, pl.nsegs);
        for (int g = 0; g < pl.nsegs; g++)
            printf(" %s", (const char *[]){"PW", "ROW", "REDUCE", "COPY", "IOTA"}[pl.segs[g].kind]);
        printf("\n");
    }
    cf_cpu_plan_release(&pl);
}

int main(int argc, char **argv)
{
    int nt = argc > 1 ? atoi(argv[1]) : 2;
    const char *only = argc > 2 ? argv[2] : "";
    int64_t n = 16 << 20, sh[1] = {n}, m2[2] = {4096, 4096}, r2[2] = {4096, 1}, v1[1] = {4096};
    cf_dtype f = CF_DTYPE_FLOAT;
    tprog t;

    /* relu(tanh(a*b+1)*0.5+a) */
    tp_init(&t);
    int a = tp_in(&t, f, 1, sh), b = tp_in(&t, f, 1, sh);
    int one = tp_constf(&t, CF_DTYPE_DOUBLE, 1.0), half = tp_constf(&t, CF_DTYPE_DOUBLE, 0.5);
    int t1 = tp_tmp(&t, f, 1, sh), t2 = tp_tmp(&t, f, 1, sh), t3 = tp_tmp(&t, f, 1, sh);
    int t4 = tp_tmp(&t, f, 1, sh), t5 = tp_tmp(&t, f, 1, sh), o = tp_out(&t, f, 1, sh);
    tp_op2(&t, CF_OP_MUL, f, a, b, t1);
    tp_op2(&t, CF_OP_ADD, f, t1, one, t2);
    tp_op1(&t, CF_OP_TANH, f, t2, t3);
    tp_op2(&t, CF_OP_MUL, f, t3, half, t4);
    tp_op2(&t, CF_OP_ADD, f, t4, a, t5);
    tp_op1(&t, CF_OP_RELU, f, t5, o);
    fill(&t, a, 1);
    fill(&t, b, 2);
    segments("chain", &t);
    if (!*only || strstr("chain_16M", only))
        printf("chain_16M %.6f\n", best(&t, nt, 7));
    tp_free(&t);

    tp_init(&t);
    a = tp_in(&t, f, 2, m2);
    o = tp_out(&t, f, 2, r2);
    tp_reduce(&t, CF_OP_SUM, f, a, 2, o);
    fill(&t, a, 3);
    segments("rowsum", &t);
    if (!*only || strstr("rowsum_4096", only))
        printf("rowsum_4096 %.6f\n", best(&t, nt, 7));
    tp_free(&t);

    tp_init(&t);
    a = tp_in(&t, f, 2, m2);
    int c1[2] = {1, 4096};
    int64_t cs[2] = {1, 4096};
    o = tp_out(&t, f, 2, cs);
    (void)c1;
    tp_reduce(&t, CF_OP_SUM, f, a, 1, o);
    fill(&t, a, 3);
    segments("colsum", &t);
    if (!*only || strstr("colsum_4096", only))
        printf("colsum_4096 %.6f\n", best(&t, nt, 7));
    tp_free(&t);

    {
        int8_t drop[1] = {0}, bc[2] = {0, -1};
        tp_init(&t);
        int x = tp_in(&t, f, 2, m2);
        int mx = tp_tmp(&t, f, 2, r2), mxv = tp_tmp(&t, f, 1, v1), mxb = tp_tmp(&t, f, 2, m2);
        int d = tp_tmp(&t, f, 2, m2), e = tp_tmp(&t, f, 2, m2);
        int s = tp_tmp(&t, f, 2, r2), sv = tp_tmp(&t, f, 1, v1), sb = tp_tmp(&t, f, 2, m2);
        int y = tp_out(&t, f, 2, m2);
        tp_reduce(&t, CF_OP_MAX, f, x, 2, mx);
        tp_view(&t, mx, mxv, drop);
        tp_view(&t, mxv, mxb, bc);
        tp_op2(&t, CF_OP_SUB, f, x, mxb, d);
        tp_op1(&t, CF_OP_EXP, f, d, e);
        tp_reduce(&t, CF_OP_SUM, f, e, 2, s);
        tp_view(&t, s, sv, drop);
        tp_view(&t, sv, sb, bc);
        tp_op2(&t, CF_OP_DIV, f, e, sb, y);
        fill(&t, x, 4);
        segments("softmax", &t);
        if (!*only || strstr("softmax_4096", only))
            printf("softmax_4096 %.6f\n", best(&t, nt, 7));
        tp_free(&t);
    }

    {
        int64_t k1[1] = {1000};
        tp_init(&t);
        a = tp_in(&t, f, 1, k1);
        b = tp_in(&t, f, 1, k1);
        o = tp_out(&t, f, 1, k1);
        tp_op2(&t, CF_OP_ADD, f, a, b, o);
        fill(&t, a, 5);
        fill(&t, b, 6);
        int iters = 200000;
        double t0 = now();
        for (int i = 0; i < iters; i++) cf_cpu_execute(&t.p, t.vals, nt);
        printf("add_1k_per_call %.9f\n", (now() - t0) / iters);
        tp_free(&t);
    }
    return 0;
}
