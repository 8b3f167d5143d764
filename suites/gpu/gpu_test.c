/* gpu_test.c - the CUDA executor on a real device, without Criterion.
 *
 *   gpu_test            every op and dtype against the CPU executor on fresh
 *                       random data: odd sizes (1, 7, 2^k +- 1), broadcast
 *                       and strided inputs, reductions inner/outer/full,
 *                       persistent and streaming normalisations, every
 *                       reduction schedule in both memory layouts
 *   gpu_test --bench    bandwidth of the fused kernels beside a device copy
 *   gpu_test --probe    time of the first execute of a fixed fusion (run it
 *                       twice with one cache directory: compile, then a
 *                       disk-cache hit in a fresh process)
 *   gpu_test --compile-only [--only TEXT]
 *                       generate and compile every case's kernels for sm_90
 *                       with NVRTC; needs no device (CI runs it); with
 *                       --only, the cases whose name holds TEXT
 *   gpu_test --dump N [ROWS COLS]
 *                       print the generated source of case N (no device;
 *                       softmax and layernorm take their shape; 7/8
 *                       batchnorm NCHW/NHWC, 9 softmax over dim 0, 10 sum
 *                       over dim 0); each reduction kernel's header comment
 *                       names its schedule and why
 * Exit status 0 only when every check passed.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../core/test_cpu_util.h"
#include "cuda/cuda_internal.h"
#include "cfuser/cuda.h"
#include "cfuser/ops.h"
#include "cfuser/program.h"
#include "cfuser/status.h"

static int failures, checks;
static const char *outname[TP_MAX]; /* what each output slot checks */
static uint64_t rng = 0x9E3779B97F4A7C15ULL;
static const char *filter;

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

#define CK(call)                                                              \
    do {                                                                      \
        cf_status st_ = (call);                                               \
        if (st_ != CF_OK) {                                                   \
            fprintf(stderr, "%s:%d: %s: %s\n", __FILE__, __LINE__, #call,     \
                    cf_error_last()->message);                                \
            exit(2);                                                          \
        }                                                                     \
    } while (0)

static int64_t storage_elems(const tprog *t, int s)
{
    int64_t m = 0;
    for (int d = 0; d < t->slots[s].ndim; d++)
        if (t->vals[s].shape[d] > 0)
            m += (t->vals[s].shape[d] - 1) * t->vals[s].strides[d];
    return m + 1;
}

static void fill(tprog *t, int s, double lo, double hi)
{
    cf_dtype dt = t->slots[s].dtype;
    int64_t n = storage_elems(t, s);
    for (int64_t i = 0; i < n; i++) {
        if (dt == CF_DTYPE_BOOL)
            tp_seti(dt, t->vals[s].data, i, (int64_t)(tp_rand(&rng) & 1));
        else if (cf_dtype_is_integer(dt))
            tp_seti(dt, t->vals[s].data, i,
                    (int64_t)floor(tp_uniform(&rng, lo, hi)));
        else
            tp_set(dt, t->vals[s].data, i, tp_uniform(&rng, lo, hi));
    }
}

/* Give input s a transposed layout (2-D: strides {1, rows}). */
static void transpose_layout(tprog *t, int s)
{
    cf_slot_value *v = &t->vals[s];
    v->strides[0] = 1;
    v->strides[1] = v->shape[0];
}

/* Run on the CPU (reference) and on the GPU; compare every output. */
/* --compile-only: generate and compile each case's kernels for sm_90 with
 * NVRTC, both tiers, no device (CI does this); each distinct source
 * compiled once. */
static bool compile_only;
static uint64_t compiled[2048];
static int ncompiled;

static void compile_case(tprog *t, const char *name)
{
    cf_cuda_device_info info;
    memset(&info, 0, sizeof info);
    info.sm_count = 132;
    info.cc_major = 9;
    for (int quick = 0; quick < 2; quick++) {
        cf_cuda_plan *plan = NULL;
        cf_status st = cf_cuda_plan_build_tier(&t->p, t->vals, &info, quick, &plan);
        if (st == CF_OK && plan->nkernels > 0) {
            uint64_t h = cf_fnv1a(CF_FNV_OFFSET + (uint64_t)quick, plan->source, strlen(plan->source));
            bool seen = false;
            for (int i = 0; i < ncompiled && !seen; i++)
                seen = compiled[i] == h;
            if (!seen) {
                void *cubin = NULL;
                size_t size = 0;
                st = cf_nvrtc_compile_tier(plan->source, "gpu_test.cu", 90, quick, &cubin, &size);
                cf_free(cubin);
                if (st == CF_OK && ncompiled < 2048)
                    compiled[ncompiled++] = h;
            }
        }
        if (st != CF_OK) {
            failures++;
            printf("FAIL %-44s %s tier: %s\n", name, quick ? "quick" : "full", cf_error_last()->message);
        }
        cf_cuda_plan_free(plan);
    }
}

/* Poison an output buffer so that every element must be written. */
static void poison(void *dptr, size_t bytes)
{
    void *junk = malloc(bytes);
    memset(junk, 0xff, bytes);
    CK(cf_cuda_memcpy_htod(0, dptr, junk, bytes));
    free(junk);
}

/* Execute on the device and compare every output with the CPU's; false
 * (counted and printed) on a mismatch or error. */
static bool check_once(tprog *t, cf_slot_value *dv, void **dptr, const char *name, const char *tier,
                       double tol_scale)
{
    cf_program *p = &t->p;
    for (int k = 0; k < p->noutputs; k++) {
        int s = p->outputs[k];
        poison(dptr[s], (size_t)storage_elems(t, s) * cf_dtype_size(t->slots[s].dtype) + 16);
    }
    cf_status st = cf_cuda_execute(p, dv, 0, NULL);
    if (st == CF_OK)
        st = cf_cuda_synchronize(0, NULL);
    if (st != CF_OK) {
        failures++;
        printf("FAIL %-44s execute (%s): %s\n", name, tier, cf_error_last()->message);
        return false;
    }
    bool ok_all = true;
    for (int k = 0; k < p->noutputs; k++) {
        int s = p->outputs[k];
        cf_dtype dt = t->slots[s].dtype;
        int64_t n = storage_elems(t, s);
        size_t bytes = (size_t)n * cf_dtype_size(dt);
        void *got = malloc(bytes);
        CK(cf_cuda_memcpy_dtoh(0, got, dptr[s], bytes));
        double rtol = tp_tol(dt) * tol_scale, atol = rtol;
        if (dt == CF_DTYPE_FLOAT)
            atol = 1e-5 * tol_scale;
        int bad = 0;
        int64_t first = -1;
        for (int64_t i = 0; i < n; i++) {
            bool ok;
            if (cf_dtype_is_float(dt))
                ok = tp_close(tp_get(dt, got, i),
                              tp_get(dt, t->vals[s].data, i), rtol, atol);
            else
                ok = tp_geti(dt, got, i) == tp_geti(dt, t->vals[s].data, i);
            if (!ok && bad++ == 0)
                first = i;
        }
        if (bad) {
            failures++;
            ok_all = false;
            printf("FAIL %-44s %s (%s): %d/%lld wrong, first [%lld] gpu %.9g "
                   "cpu %.9g\n", name, outname[s] ? outname[s] : "out", tier, bad, (long long)n,
                   (long long)first, tp_get(dt, got, first), tp_get(dt, t->vals[s].data, first));
        }
        free(got);
    }
    return ok_all;
}

/* The first execute runs the quick tier of a new plan (unless tiering is
 * off); after the background compiler is done, the full kernels run. Both
 * must match the CPU. */
static void run_case(tprog *t, const char *name, double tol_scale)
{
    if (filter && !strstr(name, filter))
        return;
    checks++;
    if (compile_only) {
        compile_case(t, name);
        return;
    }
    cf_program *p = &t->p;
    cf_slot_value dv[TP_MAX];
    memcpy(dv, t->vals, sizeof dv);
    CK(cf_cpu_execute(p, t->vals, 1));
    void *dptr[TP_MAX] = {0};
    for (int s = 0; s < p->nslots; s++) {
        int role = t->slots[s].role;
        if (role != CF_SLOT_INPUT && role != CF_SLOT_OUTPUT)
            continue;
        size_t bytes = (size_t)storage_elems(t, s) *
                       cf_dtype_size(t->slots[s].dtype);
        CK(cf_cuda_malloc(0, bytes + 16, &dptr[s]));
        if (role == CF_SLOT_INPUT)
            CK(cf_cuda_memcpy_htod(0, dptr[s], t->vals[s].data, bytes));
        dv[s].data = dptr[s];
    }
    if (check_once(t, dv, dptr, name, "first execute", tol_scale)) {
        cf_cuda_wait_background();
        check_once(t, dv, dptr, name, "after the background compile", tol_scale);
    }
    for (int s = 0; s < p->nslots; s++)
        if (dptr[s])
            cf_cuda_free(0, dptr[s]);
    memset(outname, 0, sizeof outname);
}

static const cf_dtype all_dtypes[] = {CF_DTYPE_FLOAT, CF_DTYPE_HALF,
                                      CF_DTYPE_BFLOAT16, CF_DTYPE_DOUBLE,
                                      CF_DTYPE_INT32, CF_DTYPE_INT,
                                      CF_DTYPE_BOOL};
#define NDT ((int)(sizeof all_dtypes / sizeof all_dtypes[0]))

static cf_dtype compute_of(cf_dtype t)
{
    return cf_dtype_compute(t);
}

/* Every op of one arity over inputs of dtype dt, one output each, in one
 * program (one compile); rhs inputs broadcast along axis 0 when bcast. */
static void pointwise_group(int arity, cf_dtype dt, int64_t rows,
                            int64_t cols, bool bcast, bool strided)
{
    static cf_opcode ops[64];
    int nops = 0;
    if (arity == 1) {
#define U(name, E, cat) ops[nops++] = CF_OP_##E;
        CF_UNARY_OPS(U)
#undef U
    } else if (arity == 2) {
#define B(name, E, cat) ops[nops++] = CF_OP_##E;
        CF_BINARY_OPS(B)
#undef B
    } else {
#define T3(name, E, cat) ops[nops++] = CF_OP_##E;
        CF_TERNARY_OPS(T3)
#undef T3
    }
    tprog t;
    tp_init(&t);
    memset(outname, 0, sizeof outname);
    int64_t sh[2] = {rows, cols}, bsh[2] = {1, cols};
    int in[4], pred = -1;
    int nin = arity == 3 ? 4 : arity;
    for (int k = 0; k < nin; k++) {
        in[k] = tp_in(&t, dt, 2, (k > 0 && bcast) ? bsh : sh);
        fill(&t, in[k], -4, 4);
    }
    if (arity == 2 && cf_dtype_is_integer(dt))
        fill(&t, in[1], 0, 70); /* shift counts, divisors with zeros */
    if (arity == 3) {
        pred = tp_in(&t, CF_DTYPE_BOOL, 2, sh);
        fill(&t, pred, 0, 1);
    }
    if (strided && rows > 1)
        transpose_layout(&t, in[0]);
    for (int i = 0; i < nops; i++) {
        cf_opcode op = ops[i];
        int n = cf_op_arity(op);
        cf_dtype dts[4] = {dt, dt, dt, dt};
        bool ist[4] = {true, true, true, true};
        int args[4] = {in[0], in[1], n > 2 ? in[2] : -1, n > 3 ? in[3] : -1};
        if (op == CF_OP_WHERE) {
            dts[0] = CF_DTYPE_BOOL;
            args[0] = pred;
        }
        cf_dtype out;
        if (cf_op_result_dtype(op, n, dts, ist, &out) != CF_OK) {
            cf_error_clear();
            continue;
        }
        if (t.p.nslots + 1 >= TP_MAX) {
            /* every op of the registry must be tested: grow TP_MAX */
            fprintf(stderr, "FAIL %d-ary ops: more ops than TP_MAX slots\n", arity);
            exit(1);
        }
        int o = tp_out(&t, out, 2, sh);
        outname[o] = cf_op_name(op);
        cf_dtype cdt = cf_op_category_of(op) == CF_CAT_PRED ? compute_of(dt)
                                                             : compute_of(out);
        tp_op(&t, op, cdt, n, args, o);
    }
    char name[96];
    snprintf(name, sizeof name, "%s-ary ops %s %lldx%lld%s%s",
             arity == 1 ? "1" : arity == 2 ? "2" : "3", cf_dtype_pyname(dt),
             (long long)rows, (long long)cols, bcast ? " bcast" : "",
             strided ? " strided" : "");
    run_case(&t, name, 4);
    tp_free(&t);
}

/* Casts from one dtype to every dtype, one program. */
static void cast_group(cf_dtype from, int64_t n)
{
    tprog t;
    tp_init(&t);
    memset(outname, 0, sizeof outname);
    int64_t sh[1] = {n};
    int a = tp_in(&t, from, 1, sh);
    fill(&t, a, -100, 100);
    for (int k = 0; k < NDT; k++) {
        cf_dtype to = all_dtypes[k];
        int o = tp_out(&t, to, 1, sh);
        outname[o] = cf_dtype_pyname(to);
        tp_op1(&t, CF_OP_CAST, to, a, o);
    }
    char name[96];
    snprintf(name, sizeof name, "cast %s->all %lld", cf_dtype_pyname(from),
             (long long)n);
    run_case(&t, name, 1);
    tp_free(&t);
}

/* sum, prod, max, min, var and var_mean of one input over `axes`. */
static void reduce_group(cf_dtype dt, int nd, const int64_t *sh, uint32_t axes)
{
    tprog t;
    tp_init(&t);
    memset(outname, 0, sizeof outname);
    int a = tp_in(&t, dt, nd, sh);
    fill(&t, a, -3, 3);
    int64_t osh[CF_MAX_DIMS], red = 1;
    for (int d = 0; d < nd; d++) {
        osh[d] = (axes >> d) & 1 ? 1 : sh[d];
        if ((axes >> d) & 1)
            red *= sh[d];
    }
    cf_dtype cdt = compute_of(dt);
    static const cf_opcode ops[] = {CF_OP_SUM, CF_OP_PROD, CF_OP_MAX,
                                    CF_OP_MIN, CF_OP_VAR, CF_OP_VAR_MEAN};
    for (int i = 0; i < 6; i++) {
        cf_opcode op = ops[i];
        if (op == CF_OP_PROD && red > 24)
            continue; /* keep products finite */
        if (cf_dtype_is_integer(dt) && (op == CF_OP_VAR || op == CF_OP_VAR_MEAN))
            continue;
        int o = tp_out(&t, dt, nd, osh);
        outname[o] = op == CF_OP_VAR ? "var" : op == CF_OP_VAR_MEAN
                     ? "var_mean.var" : cf_op_name(op);
        cf_prog_instr *in = tp_reduce(&t, op, cdt, a, axes, o);
        in->correction = 1;
        if (op == CF_OP_VAR_MEAN) {
            int o1 = tp_out(&t, dt, nd, osh);
            outname[o1] = "var_mean.mean";
            in->nout = 2;
            in->out[1] = o1;
        }
    }
    char name[96];
    int n = snprintf(name, sizeof name, "reductions %s [", cf_dtype_pyname(dt));
    for (int d = 0; d < nd; d++)
        n += snprintf(name + n, sizeof name - (size_t)n, "%s%lld", d ? "x" : "",
                      (long long)sh[d]);
    snprintf(name + n, sizeof name - (size_t)n, "] axes %#x", axes);
    run_case(&t, name, 8);
    tp_free(&t);
}

/* softmax over the last axis: x - max, exp, / sum; float compute. */
static void build_softmax(tprog *t, cf_dtype dt, int64_t r, int64_t c)
{
    int64_t sh[2] = {r, c}, rsh[2] = {r, 1};
    cf_dtype F = compute_of(dt);
    int x = tp_in(t, dt, 2, sh);
    fill(t, x, -4, 4);
    int xf = tp_tmp(t, F, 2, sh), m = tp_tmp(t, F, 2, rsh);
    int d = tp_tmp(t, F, 2, sh), e = tp_tmp(t, F, 2, sh);
    int s = tp_tmp(t, F, 2, rsh), q = tp_tmp(t, F, 2, sh);
    int o = tp_out(t, dt, 2, sh);
    tp_op1(t, CF_OP_CAST, F, x, xf);
    tp_reduce(t, CF_OP_MAX, F, xf, 2, m);
    tp_op2(t, CF_OP_SUB, F, xf, m, d);
    tp_op1(t, CF_OP_EXP, F, d, e);
    tp_reduce(t, CF_OP_SUM, F, e, 2, s);
    tp_op2(t, CF_OP_DIV, F, e, s, q);
    tp_op1(t, CF_OP_CAST, dt, q, o);
}

/* layernorm: var_mean over the last axis, (x-mean)*rsqrt(var+eps)*w+b. */
static void build_layernorm(tprog *t, cf_dtype dt, int64_t r, int64_t c)
{
    int64_t sh[2] = {r, c}, rsh[2] = {r, 1}, wsh[2] = {1, c};
    cf_dtype F = compute_of(dt);
    int x = tp_in(t, dt, 2, sh), w = tp_in(t, dt, 2, wsh),
        b = tp_in(t, dt, 2, wsh);
    fill(t, x, -4, 4);
    fill(t, w, 0.5, 1.5);
    fill(t, b, -1, 1);
    int xf = tp_tmp(t, F, 2, sh), var = tp_tmp(t, F, 2, rsh),
        mean = tp_tmp(t, F, 2, rsh);
    int eps = tp_constf(t, F, 1e-5);
    int ve = tp_tmp(t, F, 2, rsh), rs = tp_tmp(t, F, 2, rsh);
    int d = tp_tmp(t, F, 2, sh), n = tp_tmp(t, F, 2, sh);
    int wf = tp_tmp(t, F, 2, wsh), bf = tp_tmp(t, F, 2, wsh);
    int y = tp_tmp(t, F, 2, sh), z = tp_tmp(t, F, 2, sh);
    int o = tp_out(t, dt, 2, sh);
    tp_op1(t, CF_OP_CAST, F, x, xf);
    cf_prog_instr *vm = tp_reduce(t, CF_OP_VAR_MEAN, F, xf, 2, var);
    vm->nout = 2;
    vm->out[1] = mean;
    vm->correction = 0;
    tp_op2(t, CF_OP_ADD, F, var, eps, ve);
    tp_op1(t, CF_OP_RSQRT, F, ve, rs);
    tp_op2(t, CF_OP_SUB, F, xf, mean, d);
    tp_op2(t, CF_OP_MUL, F, d, rs, n);
    tp_op1(t, CF_OP_CAST, F, w, wf);
    tp_op1(t, CF_OP_CAST, F, b, bf);
    tp_op2(t, CF_OP_MUL, F, n, wf, y);
    tp_op2(t, CF_OP_ADD, F, y, bf, z);
    tp_op1(t, CF_OP_CAST, dt, z, o);
}

/* rmsnorm: x * rsqrt(mean(x^2) + eps) * w. */
static void build_rmsnorm(tprog *t, cf_dtype dt, int64_t r, int64_t c)
{
    int64_t sh[2] = {r, c}, rsh[2] = {r, 1}, wsh[2] = {1, c};
    cf_dtype F = compute_of(dt);
    int x = tp_in(t, dt, 2, sh), w = tp_in(t, dt, 2, wsh);
    fill(t, x, -4, 4);
    fill(t, w, 0.5, 1.5);
    int xf = tp_tmp(t, F, 2, sh), sq = tp_tmp(t, F, 2, sh),
        ss = tp_tmp(t, F, 2, rsh), ms = tp_tmp(t, F, 2, rsh);
    int inv = tp_constf(t, F, 1.0 / (double)c), eps = tp_constf(t, F, 1e-6);
    int me = tp_tmp(t, F, 2, rsh), rs = tp_tmp(t, F, 2, rsh);
    int n = tp_tmp(t, F, 2, sh), wf = tp_tmp(t, F, 2, wsh),
        y = tp_tmp(t, F, 2, sh);
    int o = tp_out(t, dt, 2, sh);
    tp_op1(t, CF_OP_CAST, F, x, xf);
    tp_op2(t, CF_OP_MUL, F, xf, xf, sq);
    tp_reduce(t, CF_OP_SUM, F, sq, 2, ss);
    tp_op2(t, CF_OP_MUL, F, ss, inv, ms);
    tp_op2(t, CF_OP_ADD, F, ms, eps, me);
    tp_op1(t, CF_OP_RSQRT, F, me, rs);
    tp_op2(t, CF_OP_MUL, F, xf, rs, n);
    tp_op1(t, CF_OP_CAST, F, w, wf);
    tp_op2(t, CF_OP_MUL, F, n, wf, y);
    tp_op1(t, CF_OP_CAST, dt, y, o);
}

/* row sum: sum over the last axis, viewed without the kept axis. */
static void build_rowsum(tprog *t, cf_dtype dt, int64_t r, int64_t c)
{
    int64_t sh[2] = {r, c}, rsh[2] = {r, 1}, osh[1] = {r};
    int x = tp_in(t, dt, 2, sh);
    fill(t, x, -4, 4);
    int s = tp_tmp(t, dt, 2, rsh), o = tp_out(t, dt, 1, osh);
    tp_reduce(t, CF_OP_SUM, CF_DTYPE_FLOAT, x, 2, s);
    int8_t map[1] = {0};
    tp_view(t, s, o, map);
}

/* The 6-op chain of the benchmarks: ((x+y)*0.5 relu - x)^2 + 1. */
static void build_chain(tprog *t, cf_dtype dt, int64_t n)
{
    int64_t sh[1] = {n};
    cf_dtype F = compute_of(dt);
    int x = tp_in(t, dt, 1, sh), y = tp_in(t, dt, 1, sh);
    fill(t, x, -2, 2);
    fill(t, y, -2, 2);
    int h = tp_constf(t, F, 0.5), one = tp_constf(t, F, 1.0);
    int a = tp_tmp(t, dt, 1, sh), b = tp_tmp(t, dt, 1, sh),
        c = tp_tmp(t, dt, 1, sh), d = tp_tmp(t, dt, 1, sh),
        e = tp_tmp(t, dt, 1, sh), o = tp_out(t, dt, 1, sh);
    tp_op2(t, CF_OP_ADD, F, x, y, a);
    tp_op2(t, CF_OP_MUL, F, a, h, b);
    tp_op1(t, CF_OP_RELU, F, b, c);
    tp_op2(t, CF_OP_SUB, F, c, x, d);
    tp_op2(t, CF_OP_MUL, F, d, d, e);
    tp_op2(t, CF_OP_ADD, F, e, one, o);
}

static void fusion_cases(void)
{
    static const int64_t shapes[][2] = {{1, 1}, {7, 7}, {33, 1023},
                                        {5, 1025}, {64, 4096}, {3, 20001},
                                        {2, 65537}, {129, 31}};
    static const cf_dtype dts[] = {CF_DTYPE_FLOAT, CF_DTYPE_BFLOAT16,
                                   CF_DTYPE_HALF};
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0]; i++)
        for (size_t k = 0; k < 3; k++) {
            int64_t r = shapes[i][0], c = shapes[i][1];
            char name[96];
            tprog t;
            tp_init(&t);
            build_softmax(&t, dts[k], r, c);
            snprintf(name, sizeof name, "softmax %s %lldx%lld",
                     cf_dtype_pyname(dts[k]), (long long)r, (long long)c);
            run_case(&t, name, 2);
            tp_free(&t);
            tp_init(&t);
            build_layernorm(&t, dts[k], r, c);
            snprintf(name, sizeof name, "layernorm %s %lldx%lld",
                     cf_dtype_pyname(dts[k]), (long long)r, (long long)c);
            run_case(&t, name, 4);
            tp_free(&t);
            tp_init(&t);
            build_rmsnorm(&t, dts[k], r, c);
            snprintf(name, sizeof name, "rmsnorm %s %lldx%lld",
                     cf_dtype_pyname(dts[k]), (long long)r, (long long)c);
            run_case(&t, name, 2);
            tp_free(&t);
            tp_init(&t);
            build_rowsum(&t, dts[k], r, c);
            snprintf(name, sizeof name, "rowsum %s %lldx%lld",
                     cf_dtype_pyname(dts[k]), (long long)r, (long long)c);
            run_case(&t, name, 8);
            tp_free(&t);
        }
    static const int64_t ns[] = {1, 7, 255, 257, 4097, 1000003};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++)
        for (size_t k = 0; k < 3; k++) {
            tprog t;
            tp_init(&t);
            build_chain(&t, dts[k], ns[i]);
            char name[96];
            snprintf(name, sizeof name, "chain %s %lld",
                     cf_dtype_pyname(dts[k]), (long long)ns[i]);
            run_case(&t, name, 2);
            tp_free(&t);
        }
}

/* Shapes that need several kernels or special accesses. */
static void structure_cases(void)
{
    cf_dtype F = CF_DTYPE_FLOAT;
    {   /* column sum then normalise rows by it: two reduction classes */
        tprog t;
        tp_init(&t);
        int64_t sh[2] = {37, 129}, csh[2] = {1, 129}, rsh[2] = {37, 1};
        int x = tp_in(&t, F, 2, sh);
        fill(&t, x, -2, 2);
        int cs = tp_tmp(&t, F, 2, csh), y = tp_tmp(&t, F, 2, sh);
        int rs = tp_out(&t, F, 2, rsh), o = tp_out(&t, F, 2, sh);
        tp_reduce(&t, CF_OP_SUM, F, x, 1, cs);
        tp_op2(&t, CF_OP_SUB, F, x, cs, y);
        tp_reduce(&t, CF_OP_SUM, F, y, 2, rs);
        tp_op2(&t, CF_OP_MUL, F, y, y, o);
        run_case(&t, "colsum->rowsum segmented 37x129", 8);
        tp_free(&t);
    }
    {   /* reshape (COPY) of a transposed input, then add */
        tprog t;
        tp_init(&t);
        int64_t sh[2] = {6, 35}, rsh[2] = {35, 6};
        int x = tp_in(&t, F, 2, sh), y = tp_in(&t, F, 2, rsh);
        fill(&t, x, -2, 2);
        fill(&t, y, -2, 2);
        transpose_layout(&t, x);
        int c = tp_tmp(&t, F, 2, rsh), o = tp_out(&t, F, 2, rsh);
        tp_op1(&t, CF_OP_COPY, F, x, c);
        tp_op2(&t, CF_OP_ADD, F, c, y, o);
        run_case(&t, "copy(reshape) strided 6x35->35x6", 1);
        tp_free(&t);
    }
    {   /* transposed view of a computed value meets its source */
        tprog t;
        tp_init(&t);
        int64_t sh[2] = {33, 33};
        int x = tp_in(&t, F, 2, sh);
        fill(&t, x, -2, 2);
        int e = tp_tmp(&t, F, 2, sh), et = tp_tmp(&t, F, 2, sh),
            o = tp_out(&t, F, 2, sh);
        tp_op1(&t, CF_OP_EXP, F, x, e);
        int8_t map[2] = {1, 0};
        tp_view(&t, e, et, map);
        tp_op2(&t, CF_OP_ADD, F, e, et, o);
        run_case(&t, "exp(x)+exp(x).T 33x33", 2);
        tp_free(&t);
    }
    {   /* iota and full */
        tprog t;
        tp_init(&t);
        int64_t sh[1] = {1025};
        int st = tp_consti(&t, CF_DTYPE_INT, 3), sp = tp_consti(&t, CF_DTYPE_INT, 2);
        int io = tp_tmp(&t, CF_DTYPE_INT, 1, sh);
        int fv = tp_constf(&t, F, 2.5);
        int fl = tp_tmp(&t, F, 1, sh);
        int o = tp_out(&t, F, 1, sh);
        int in2[2] = {st, sp};
        tp_op(&t, CF_OP_IOTA, CF_DTYPE_INT, 2, in2, io);
        tp_op1(&t, CF_OP_FULL, F, fv, fl);
        tp_op2(&t, CF_OP_MUL, F, io, fl, o);
        run_case(&t, "iota*full 1025", 1);
        tp_free(&t);
    }
    {   /* outer broadcast: [R,1] * [1,C] */
        tprog t;
        tp_init(&t);
        int64_t a[2] = {513, 1}, b[2] = {1, 257}, sh[2] = {513, 257};
        int x = tp_in(&t, CF_DTYPE_BFLOAT16, 2, a), y = tp_in(&t, CF_DTYPE_BFLOAT16, 2, b);
        fill(&t, x, -2, 2);
        fill(&t, y, -2, 2);
        int o = tp_out(&t, CF_DTYPE_BFLOAT16, 2, sh);
        tp_op2(&t, CF_OP_MUL, F, x, y, o);
        run_case(&t, "outer product bf16 513x257", 1);
        tp_free(&t);
    }
    {   /* triu(x, -1) as the registry's composite builds it: iota rows and
         * columns, broadcast, col - row >= diagonal, where */
        tprog t;
        tp_init(&t);
        int64_t sh[2] = {33, 65}, rs[1] = {33}, cs[1] = {65}, rb[2] = {33, 1}, cb[2] = {1, 65};
        int x = tp_in(&t, CF_DTYPE_HALF, 2, sh);
        fill(&t, x, -2, 2);
        int z = tp_consti(&t, CF_DTYPE_INT, 0), one = tp_consti(&t, CF_DTYPE_INT, 1);
        int dg = tp_consti(&t, CF_DTYPE_INT, -1), zh = tp_constf(&t, CF_DTYPE_HALF, 0);
        int r = tp_tmp(&t, CF_DTYPE_INT, 1, rs), c = tp_tmp(&t, CF_DTYPE_INT, 1, cs);
        int r2 = tp_tmp(&t, CF_DTYPE_INT, 2, rb), c2 = tp_tmp(&t, CF_DTYPE_INT, 2, cb);
        int d = tp_tmp(&t, CF_DTYPE_INT, 2, sh), m = tp_tmp(&t, CF_DTYPE_BOOL, 2, sh);
        int o = tp_out(&t, CF_DTYPE_HALF, 2, sh);
        int io[2] = {z, one};
        tp_op(&t, CF_OP_IOTA, CF_DTYPE_INT, 2, io, r);
        tp_op(&t, CF_OP_IOTA, CF_DTYPE_INT, 2, io, c);
        int8_t mr[2] = {0, -1}, mc[2] = {-1, 0};
        tp_view(&t, r, r2, mr);
        tp_view(&t, c, c2, mc);
        tp_op2(&t, CF_OP_SUB, CF_DTYPE_INT, c2, r2, d);
        tp_op2(&t, CF_OP_GE, CF_DTYPE_INT, d, dg, m);
        int w[3] = {m, x, zh};
        tp_op(&t, CF_OP_WHERE, CF_DTYPE_FLOAT, 3, w, o);
        run_case(&t, "triu(x, -1) half 33x65", 1);
        tp_free(&t);
    }
    {   /* exp -> segment_set -> neg: three kernels */
        tprog t;
        tp_init(&t);
        int64_t sh[2] = {7, 1025};
        int x = tp_in(&t, F, 2, sh);
        fill(&t, x, -2, 2);
        int a = tp_tmp(&t, F, 2, sh), b = tp_tmp(&t, F, 2, sh), o = tp_out(&t, F, 2, sh);
        tp_op1(&t, CF_OP_EXP, F, x, a);
        tp_op1(&t, CF_OP_SEGMENT_SET, F, a, b);
        tp_op1(&t, CF_OP_NEG, F, b, o);
        run_case(&t, "neg(segment_set(exp(x))) 7x1025", 1);
        tp_free(&t);
    }
}

/* --- slice, pad, cat, select: read in place by the kernels using them --- */
static cf_prog_instr *mv_slice(tprog *t, int x, int dim, int start, int end, int64_t step, int manual, int out)
{
    int in[3] = {x, start, end};
    cf_prog_instr *ins = tp_op(t, CF_OP_SLICE, t->slots[x].dtype, manual == 2 ? 2 : 3, in, out);
    ins->dim = (int8_t)dim;
    ins->step = step;
    ins->manual = (uint8_t)manual;
    return ins;
}

static void mv_pad(tprog *t, int x, int dim, int lo, int hi, int fill, int out)
{
    int in[4] = {x, lo, hi, fill};
    tp_op(t, CF_OP_PAD, t->slots[x].dtype, 4, in, out)->dim = (int8_t)dim;
}

static void mv_cat(tprog *t, int n, const int *xs, int dim, int out)
{
    tp_op(t, CF_OP_CAT, t->slots[xs[0]].dtype, n, xs, out)->dim = (int8_t)dim;
}

static void movement_cases(void)
{
    static const cf_dtype dts[] = {CF_DTYPE_FLOAT, CF_DTYPE_HALF, CF_DTYPE_BFLOAT16, CF_DTYPE_DOUBLE,
                                   CF_DTYPE_INT, CF_DTYPE_INT32, CF_DTYPE_BOOL};
    char name[96];
    for (size_t di = 0; di < sizeof dts / sizeof dts[0]; di++) {
        cf_dtype dt = dts[di], ct = compute_of(dt);
        {   /* x[1:6:2, -30:] * x[1:6:2, -30:] (negative start, a symbolic one) */
            tprog t;
            tp_init(&t);
            int64_t sh[2] = {7, 33}, s1[2] = {3, 33}, s2[2] = {3, 30};
            int x = tp_in(&t, dt, 2, sh);
            fill(&t, x, -2, 2);
            int a = tp_tmp(&t, dt, 2, s1), b = tp_tmp(&t, dt, 2, s2), o = tp_out(&t, dt, 2, s2);
            int st = tp_consti(&t, CF_DTYPE_INT, -30), big = tp_consti(&t, CF_DTYPE_INT, 1000);
            int one = tp_consti(&t, CF_DTYPE_INT, 1), six = tp_consti(&t, CF_DTYPE_INT, 6);
            t.slots[one].role = CF_SLOT_SCALAR; /* a bound given per call */
            mv_slice(&t, x, 0, one, six, 2, 0, a);
            mv_slice(&t, a, 1, st, big, 1, 0, b);
            tp_op2(&t, CF_OP_MUL, ct, b, b, o);
            snprintf(name, sizeof name, "slice*slice %s 7x33", cf_dtype_pyname(dt));
            run_case(&t, name, 1);
            tp_free(&t);
        }
        {   /* pad(exp(x) or x, (2, -1), fill) + x-shaped slice: two kernels */
            tprog t;
            tp_init(&t);
            int64_t sh[2] = {5, 1025}, ps[2] = {5, 1026};
            int x = tp_in(&t, dt, 2, sh);
            fill(&t, x, -2, 2);
            int e = tp_tmp(&t, dt, 2, sh), pd = tp_tmp(&t, dt, 2, ps), o = tp_out(&t, dt, 2, ps);
            int lo = tp_consti(&t, CF_DTYPE_INT, 2), hi = tp_consti(&t, CF_DTYPE_INT, -1);
            int fv = cf_dtype_is_float(dt) ? tp_constf(&t, dt, 0.5) : tp_consti(&t, dt, 1);
            tp_op1(&t, cf_dtype_is_float(dt) ? CF_OP_EXP : CF_OP_ABS, ct, x, e);
            mv_pad(&t, e, 1, lo, hi, fv, pd);
            tp_op2(&t, dt == CF_DTYPE_BOOL ? CF_OP_LOGICAL_OR : CF_OP_ADD, ct, pd, fv, o);
            snprintf(name, sizeof name, "pad(f(x))+c %s 5x1025", cf_dtype_pyname(dt));
            run_case(&t, name, 1);
            tp_free(&t);
        }
        {   /* cat of three along dim 1 (sizes 5, 1, 7), then neg-or-not */
            tprog t;
            tp_init(&t);
            int64_t a[2] = {9, 5}, b[2] = {9, 1}, c[2] = {9, 7}, os[2] = {9, 13};
            int xs[3] = {tp_in(&t, dt, 2, a), tp_in(&t, dt, 2, b), tp_in(&t, dt, 2, c)};
            for (int k = 0; k < 3; k++) fill(&t, xs[k], -2, 2);
            transpose_layout(&t, xs[2]);
            int ct3 = tp_tmp(&t, dt, 2, os), o = tp_out(&t, dt, 2, os);
            mv_cat(&t, 3, xs, 1, ct3);
            tp_op1(&t, dt == CF_DTYPE_BOOL ? CF_OP_LOGICAL_NOT : CF_OP_NEG, ct, ct3, o);
            snprintf(name, sizeof name, "neg(cat dim1 5|1|7) %s", cf_dtype_pyname(dt));
            run_case(&t, name, 1);
            tp_free(&t);
        }
    }
    cf_dtype F = CF_DTYPE_FLOAT, H = CF_DTYPE_HALF;
    {   /* rotary embedding: cat(-x[..., 32:], x[..., :32]) * sin + x * cos */
        tprog t;
        tp_init(&t);
        int64_t sh[3] = {2, 9, 64}, hs[3] = {2, 9, 32};
        int x = tp_in(&t, H, 3, sh), cs = tp_in(&t, H, 3, sh), sn = tp_in(&t, H, 3, sh);
        fill(&t, x, -2, 2);
        fill(&t, cs, -1, 1);
        fill(&t, sn, -1, 1);
        int z = tp_consti(&t, CF_DTYPE_INT, 0), half = tp_consti(&t, CF_DTYPE_INT, 32);
        int full = tp_consti(&t, CF_DTYPE_INT, 64);
        int x1 = tp_tmp(&t, H, 3, hs), x2 = tp_tmp(&t, H, 3, hs), n2 = tp_tmp(&t, H, 3, hs);
        int rot = tp_tmp(&t, H, 3, sh), a = tp_tmp(&t, H, 3, sh), b = tp_tmp(&t, H, 3, sh);
        int o = tp_out(&t, H, 3, sh);
        mv_slice(&t, x, 2, z, half, 1, 1, x1);
        mv_slice(&t, x, 2, half, full, 1, 1, x2);
        tp_op1(&t, CF_OP_NEG, F, x2, n2);
        int parts[2] = {n2, x1};
        mv_cat(&t, 2, parts, 2, rot);
        tp_op2(&t, CF_OP_MUL, F, x, cs, a);
        tp_op2(&t, CF_OP_MUL, F, rot, sn, b);
        tp_op2(&t, CF_OP_ADD, F, a, b, o);
        run_case(&t, "rope slice+cat half 2x9x64", 2);
        tp_free(&t);
    }
    {   /* row sum of a pad, and select(x, -2, dim 0) of a 2-d input */
        tprog t;
        tp_init(&t);
        int64_t sh[2] = {33, 1023}, ps[2] = {33, 1030}, rs[2] = {33, 1}, one[2] = {1, 1023}, sel[1] = {1023};
        int x = tp_in(&t, F, 2, sh);
        fill(&t, x, -2, 2);
        int lo = tp_consti(&t, CF_DTYPE_INT, 3), hi = tp_consti(&t, CF_DTYPE_INT, 4);
        int fv = tp_constf(&t, F, 1.0), idx = tp_consti(&t, CF_DTYPE_INT, -2);
        int pd = tp_tmp(&t, F, 2, ps), r = tp_out(&t, F, 2, rs);
        int s1 = tp_tmp(&t, F, 2, one), s0 = tp_tmp(&t, F, 1, sel), o = tp_out(&t, F, 1, sel);
        mv_pad(&t, x, 1, lo, hi, fv, pd);
        tp_reduce(&t, CF_OP_SUM, F, pd, 2, r);
        mv_slice(&t, x, 0, idx, idx, 1, 2, s1);
        int8_t map[1] = {1};
        tp_view(&t, s1, s0, map);
        tp_op1(&t, CF_OP_EXP, F, s0, o);
        run_case(&t, "rowsum(pad) + exp(select) 33x1023", 4);
        tp_free(&t);
    }
}

static void op_cases(void)
{
    static const int64_t sizes[][2] = {{1, 7}, {17, 257}};
    for (int di = 0; di < NDT; di++) {
        cf_dtype dt = all_dtypes[di];
        for (int si = 0; si < 2; si++)
            for (int ar = 1; ar <= 3; ar++)
                pointwise_group(ar, dt, sizes[si][0], sizes[si][1], si == 1,
                                si == 1);
        cast_group(dt, 1027);
    }
    pointwise_group(1, CF_DTYPE_FLOAT, 1, 1, false, false);
    pointwise_group(2, CF_DTYPE_BFLOAT16, 3, 1023, true, false);
}

static void reduction_cases(void)
{
    static const cf_dtype dts[] = {CF_DTYPE_FLOAT, CF_DTYPE_BFLOAT16,
                                   CF_DTYPE_HALF, CF_DTYPE_DOUBLE,
                                   CF_DTYPE_INT, CF_DTYPE_INT32};
    static const int64_t s2[][2] = {{1, 1}, {7, 7}, {1, 4097}, {4097, 3},
                                    {33, 1023}, {255, 257}};
    for (size_t di = 0; di < 6; di++) {
        for (size_t si = 0; si < 6; si++)
            for (uint32_t ax = 1; ax <= 3; ax++)
                reduce_group(dts[di], 2, s2[si], ax);
        int64_t s3[3] = {9, 65, 17};
        reduce_group(dts[di], 3, s3, 5);
        reduce_group(dts[di], 3, s3, 2);
    }
}

/* --- layouts: outer, multi-axis and split reductions, normalizations ----- */

/* Give slot s the memory order `order` (outermost dim first): strides of a
 * contiguous tensor whose dims are laid out in that order (NHWC of an
 * N,C,H,W tensor is {0, 2, 3, 1}). Call before filling it. */
static void set_layout(tprog *t, int s, const int *order)
{
    cf_slot_value *v = &t->vals[s];
    int64_t st = 1;
    for (int k = t->slots[s].ndim - 1; k >= 0; k--) {
        int d = order[k];
        v->strides[d] = st;
        st *= v->shape[d] > 0 ? v->shape[d] : 1;
    }
}

static const cf_dtype float_dtypes[] = {CF_DTYPE_FLOAT, CF_DTYPE_BFLOAT16, CF_DTYPE_HALF,
                                        CF_DTYPE_DOUBLE};

static const char *layout_name(const int *order, int nd)
{
    for (int d = 0; d < nd; d++)
        if (order[d] != d)
            return "permuted";
    return "contiguous";
}

/* sum, max, min, var, var_mean of one input in memory order `order`. */
static void reduce_layout_group(cf_dtype dt, int nd, const int64_t *sh, uint32_t axes,
                                const int *order)
{
    tprog t;
    tp_init(&t);
    memset(outname, 0, sizeof outname);
    int a = tp_in(&t, dt, nd, sh);
    set_layout(&t, a, order);
    fill(&t, a, -3, 3);
    int64_t osh[CF_MAX_DIMS];
    for (int d = 0; d < nd; d++)
        osh[d] = (axes >> d) & 1 ? 1 : sh[d];
    static const cf_opcode ops[] = {CF_OP_SUM, CF_OP_MAX, CF_OP_MIN, CF_OP_VAR, CF_OP_VAR_MEAN};
    for (int i = 0; i < 5; i++) {
        int o = tp_out(&t, dt, nd, osh);
        outname[o] = ops[i] == CF_OP_VAR ? "var" : ops[i] == CF_OP_VAR_MEAN ? "var_mean.var"
                                                                          : cf_op_name(ops[i]);
        cf_prog_instr *in = tp_reduce(&t, ops[i], compute_of(dt), a, axes, o);
        in->correction = 1;
        if (ops[i] == CF_OP_VAR_MEAN) {
            int o1 = tp_out(&t, dt, nd, osh);
            outname[o1] = "var_mean.mean";
            in->nout = 2;
            in->out[1] = o1;
        }
    }
    char name[128];
    int n = snprintf(name, sizeof name, "reduce %s %s [", layout_name(order, nd), cf_dtype_pyname(dt));
    for (int d = 0; d < nd; d++)
        n += snprintf(name + n, sizeof name - (size_t)n, "%s%lld", d ? "x" : "", (long long)sh[d]);
    snprintf(name + n, sizeof name - (size_t)n, "] axes %#x", axes);
    run_case(&t, name, 8);
    tp_free(&t);
}

/* Normalization over `axes` of x (memory order `order`, the output's too):
 * var_mean, (x - mean) * rsqrt(var + eps), times w and plus b broadcast
 * along the axes `wdims` keeps (batchnorm: C; none: no affine). Outputs y,
 * mean and var. Float compute. */
static void build_norm(tprog *t, cf_dtype dt, int nd, const int64_t *sh, uint32_t axes,
                       const int *order, uint32_t wdims)
{
    cf_dtype F = compute_of(dt);
    int64_t rsh[CF_MAX_DIMS], wsh[CF_MAX_DIMS];
    for (int d = 0; d < nd; d++) {
        rsh[d] = (axes >> d) & 1 ? 1 : sh[d];
        wsh[d] = (wdims >> d) & 1 ? sh[d] : 1;
    }
    int x = tp_in(t, dt, nd, sh);
    set_layout(t, x, order);
    fill(t, x, -4, 4);
    int xf = tp_tmp(t, F, nd, sh), var = tp_out(t, F, nd, rsh), mean = tp_out(t, F, nd, rsh);
    outname[var] = "var";
    outname[mean] = "mean";
    int eps = tp_constf(t, F, 1e-5);
    int ve = tp_tmp(t, F, nd, rsh), rs = tp_tmp(t, F, nd, rsh);
    int d = tp_tmp(t, F, nd, sh), nrm = tp_tmp(t, F, nd, sh);
    int o = tp_out(t, dt, nd, sh);
    set_layout(t, o, order);
    outname[o] = "y";
    tp_op1(t, CF_OP_CAST, F, x, xf);
    cf_prog_instr *vm = tp_reduce(t, CF_OP_VAR_MEAN, F, xf, axes, var);
    vm->nout = 2;
    vm->out[1] = mean;
    vm->correction = 0;
    tp_op2(t, CF_OP_ADD, F, var, eps, ve);
    tp_op1(t, CF_OP_RSQRT, F, ve, rs);
    tp_op2(t, CF_OP_SUB, F, xf, mean, d);
    tp_op2(t, CF_OP_MUL, F, d, rs, nrm);
    if (!wdims) {
        tp_op1(t, CF_OP_CAST, dt, nrm, o);
        return;
    }
    int w = tp_in(t, dt, nd, wsh), b = tp_in(t, dt, nd, wsh);
    fill(t, w, 0.5, 1.5);
    fill(t, b, -1, 1);
    int wf = tp_tmp(t, F, nd, wsh), bf = tp_tmp(t, F, nd, wsh);
    int y = tp_tmp(t, F, nd, sh), z = tp_tmp(t, F, nd, sh);
    tp_op1(t, CF_OP_CAST, F, w, wf);
    tp_op1(t, CF_OP_CAST, F, b, bf);
    tp_op2(t, CF_OP_MUL, F, nrm, wf, y);
    tp_op2(t, CF_OP_ADD, F, y, bf, z);
    tp_op1(t, CF_OP_CAST, dt, z, o);
}

/* softmax over axis 0 of an r x c matrix (an outer normalization). */
static void build_softmax_dim0(tprog *t, cf_dtype dt, int64_t r, int64_t c)
{
    int64_t sh[2] = {r, c}, csh[2] = {1, c};
    cf_dtype F = compute_of(dt);
    int x = tp_in(t, dt, 2, sh);
    fill(t, x, -4, 4);
    int xf = tp_tmp(t, F, 2, sh), m = tp_tmp(t, F, 2, csh);
    int d = tp_tmp(t, F, 2, sh), e = tp_tmp(t, F, 2, sh);
    int s = tp_tmp(t, F, 2, csh), q = tp_tmp(t, F, 2, sh);
    int o = tp_out(t, dt, 2, sh);
    tp_op1(t, CF_OP_CAST, F, x, xf);
    tp_reduce(t, CF_OP_MAX, F, xf, 1, m);
    tp_op2(t, CF_OP_SUB, F, xf, m, d);
    tp_op1(t, CF_OP_EXP, F, d, e);
    tp_reduce(t, CF_OP_SUM, F, e, 1, s);
    tp_op2(t, CF_OP_DIV, F, e, s, q);
    tp_op1(t, CF_OP_CAST, dt, q, o);
}

static void norm_case(const char *what, cf_dtype dt, int nd, const int64_t *sh, uint32_t axes,
                      const int *order, uint32_t wdims)
{
    tprog t;
    tp_init(&t);
    memset(outname, 0, sizeof outname);
    build_norm(&t, dt, nd, sh, axes, order, wdims);
    char name[128];
    int n = snprintf(name, sizeof name, "%s %s %s [", what, layout_name(order, nd),
                     cf_dtype_pyname(dt));
    for (int d = 0; d < nd; d++)
        n += snprintf(name + n, sizeof name - (size_t)n, "%s%lld", d ? "x" : "", (long long)sh[d]);
    snprintf(name + n, sizeof name - (size_t)n, "]");
    run_case(&t, name, 8);
    tp_free(&t);
}

/* Each reduction schedule of sched_reduce.c in both layouts, odd sizes,
 * every float dtype: outer-block, outer-grid (tall matrices, channels-last
 * batch statistics), row-stream split over blocks (few long rows), wide
 * persistent rows, reductions over non-adjacent axes (batchnorm in NCHW
 * and NHWC, groupnorm, instancenorm) and normalizations along dim 0. */
static void layout_cases(void)
{
    static const int id2[2] = {0, 1}, tr2[2] = {1, 0};
    static const int nchw[4] = {0, 1, 2, 3}, nhwc[4] = {0, 2, 3, 1};
    static const int id5[5] = {0, 1, 2, 3, 4}, cl5[5] = {0, 3, 4, 1, 2};
    for (size_t di = 0; di < sizeof float_dtypes / sizeof float_dtypes[0]; di++) {
        cf_dtype dt = float_dtypes[di];
        static const int64_t tall[][2] = {{16385, 33}, {4099, 257}, {1, 1}, {3, 200003}};
        for (size_t i = 0; i < 4; i++) {
            reduce_layout_group(dt, 2, tall[i], 1, id2); /* outer */
            reduce_layout_group(dt, 2, tall[i], 2, id2); /* inner */
            reduce_layout_group(dt, 2, tall[i], 2, tr2); /* inner of a transposed one */
        }
        /* the last is large enough (2.2M elements) for the statistics to
         * split off into their own kernel (sched_reduce.c) */
        static const int64_t bn[][4] = {{7, 33, 5, 9}, {64, 3, 17, 17}, {2, 129, 1, 7},
                                        {16, 64, 45, 47}};
        for (size_t i = 0; i < 4; i++) {
            reduce_layout_group(dt, 4, bn[i], 0xd, nchw);
            reduce_layout_group(dt, 4, bn[i], 0xd, nhwc);
            norm_case("batchnorm", dt, 4, bn[i], 0xd, nchw, 0x2);
            norm_case("batchnorm", dt, 4, bn[i], 0xd, nhwc, 0x2);
            norm_case("instancenorm", dt, 4, bn[i], 0xc, nchw, 0);
            norm_case("instancenorm", dt, 4, bn[i], 0xc, nhwc, 0);
        }
        static const int64_t gn[5] = {3, 4, 5, 7, 9};
        norm_case("groupnorm", dt, 5, gn, 0x1c, id5, 0);
        norm_case("groupnorm", dt, 5, gn, 0x1c, cl5, 0);
        static const int64_t sm0[][2] = {{1, 1}, {7, 7}, {4097, 33}, {1025, 257}, {33, 4099}};
        for (size_t i = 0; i < 5; i++) {
            tprog t;
            tp_init(&t);
            memset(outname, 0, sizeof outname);
            build_softmax_dim0(&t, dt, sm0[i][0], sm0[i][1]);
            char name[96];
            snprintf(name, sizeof name, "softmax dim0 %s %lldx%lld", cf_dtype_pyname(dt),
                     (long long)sm0[i][0], (long long)sm0[i][1]);
            run_case(&t, name, 2);
            tp_free(&t);
        }
        static const int64_t wide[][2] = {{5, 18432}, {3, 24577}};
        for (size_t i = 0; i < 2; i++) {
            tprog t;
            char name[96];
            tp_init(&t);
            build_softmax(&t, dt, wide[i][0], wide[i][1]);
            snprintf(name, sizeof name, "softmax wide %s %lldx%lld", cf_dtype_pyname(dt),
                     (long long)wide[i][0], (long long)wide[i][1]);
            run_case(&t, name, 2);
            tp_free(&t);
            tp_init(&t);
            build_layernorm(&t, dt, wide[i][0], wide[i][1]);
            snprintf(name, sizeof name, "layernorm wide %s %lldx%lld", cf_dtype_pyname(dt),
                     (long long)wide[i][0], (long long)wide[i][1]);
            run_case(&t, name, 4);
            tp_free(&t);
        }
    }
}

/* Device copies of t's inputs and outputs (inputs filled from the host);
 * returns their bytes. */
static double to_device(tprog *t, cf_slot_value *dv)
{
    double bytes = 0;
    memcpy(dv, t->vals, sizeof(cf_slot_value) * TP_MAX);
    for (int s = 0; s < t->p.nslots; s++) {
        int role = t->slots[s].role;
        if (role != CF_SLOT_INPUT && role != CF_SLOT_OUTPUT)
            continue;
        size_t nb = (size_t)storage_elems(t, s) * cf_dtype_size(t->slots[s].dtype);
        CK(cf_cuda_malloc(0, nb, &dv[s].data));
        if (role == CF_SLOT_INPUT)
            CK(cf_cuda_memcpy_htod(0, dv[s].data, t->vals[s].data, nb));
        bytes += (double)nb;
    }
    CK(cf_cuda_synchronize(0, NULL));
    return bytes;
}

static void free_device(tprog *t, cf_slot_value *dv)
{
    for (int s = 0; s < t->p.nslots; s++)
        if (t->slots[s].role == CF_SLOT_INPUT || t->slots[s].role == CF_SLOT_OUTPUT)
            cf_cuda_free(0, dv[s].data);
}

/* --- benchmarks ---------------------------------------------------------- */
typedef struct bench_row {
    char name[48];
    double gbs, copy;
} bench_row;

static double time_exec(tprog *t, cf_slot_value *dv, int iters)
{
    CK(cf_cuda_execute(&t->p, dv, 0, NULL));
    CK(cf_cuda_synchronize(0, NULL));
    cf_cuda_wait_background(); /* time the full kernels, not the quick tier */
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int i = 0; i < iters; i++)
            CK(cf_cuda_execute(&t->p, dv, 0, NULL));
        CK(cf_cuda_synchronize(0, NULL));
        double dt = (now_s() - t0) / iters;
        if (dt < best)
            best = dt;
    }
    return best;
}

static double copy_gbs(size_t bytes)
{
    void *a, *b;
    CK(cf_cuda_malloc(0, bytes, &a));
    CK(cf_cuda_malloc(0, bytes, &b));
    CK(cf_cuda_memcpy_dtod(0, b, a, bytes, NULL));
    CK(cf_cuda_synchronize(0, NULL));
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int i = 0; i < 20; i++)
            CK(cf_cuda_memcpy_dtod(0, b, a, bytes, NULL));
        CK(cf_cuda_synchronize(0, NULL));
        double dt = (now_s() - t0) / 20;
        if (dt < best)
            best = dt;
    }
    cf_cuda_free(0, a);
    cf_cuda_free(0, b);
    return 2.0 * (double)bytes / best / 1e9;
}

static void bench_one(bench_row *row, tprog *t, const char *name)
{
    cf_slot_value dv[TP_MAX];
    double bytes = to_device(t, dv);
    double sec = time_exec(t, dv, 20);
    snprintf(row->name, sizeof row->name, "%s", name);
    row->gbs = bytes / sec / 1e9;
    row->copy = copy_gbs((size_t)(bytes / 2));
    free_device(t, dv);
}

static int bench(void)
{
    bench_row rows[16];
    int n = 0;
    tprog t;
    int64_t N = 64LL << 20;
    tp_init(&t); build_chain(&t, CF_DTYPE_FLOAT, N);
    bench_one(&rows[n++], &t, "chain6 fp32 64M"); tp_free(&t);
    tp_init(&t); build_chain(&t, CF_DTYPE_BFLOAT16, N);
    bench_one(&rows[n++], &t, "chain6 bf16 64M"); tp_free(&t);
    static const int64_t sh[2][2] = {{16384, 4096}, {4096, 16384}};
    for (int i = 0; i < 2; i++) {
        char nm[48];
        int64_t r = sh[i][0], c = sh[i][1];
        tp_init(&t); build_softmax(&t, CF_DTYPE_BFLOAT16, r, c);
        snprintf(nm, sizeof nm, "softmax bf16 %lldx%lld", (long long)r, (long long)c);
        bench_one(&rows[n++], &t, nm); tp_free(&t);
        tp_init(&t); build_layernorm(&t, CF_DTYPE_BFLOAT16, r, c);
        snprintf(nm, sizeof nm, "layernorm bf16 %lldx%lld", (long long)r, (long long)c);
        bench_one(&rows[n++], &t, nm); tp_free(&t);
        tp_init(&t); build_rmsnorm(&t, CF_DTYPE_BFLOAT16, r, c);
        snprintf(nm, sizeof nm, "rmsnorm bf16 %lldx%lld", (long long)r, (long long)c);
        bench_one(&rows[n++], &t, nm); tp_free(&t);
        tp_init(&t); build_rowsum(&t, CF_DTYPE_BFLOAT16, r, c);
        snprintf(nm, sizeof nm, "rowsum bf16 %lldx%lld", (long long)r, (long long)c);
        bench_one(&rows[n++], &t, nm); tp_free(&t);
    }
    cf_cuda_device_info info;
    CK(cf_cuda_device_info_get(0, &info));
    printf("\ndevice: %s, %d SMs, sm_%d%d, driver %d, NVRTC %d.%d\n", info.name,
           info.sm_count, info.cc_major, info.cc_minor, info.driver_version,
           info.nvrtc_major, info.nvrtc_minor);
    printf("%-28s %10s %10s %7s\n", "fusion", "cfuser", "copy", "ratio");
    for (int i = 0; i < n; i++)
        printf("%-28s %10.0f %10.0f %6.1f%%\n", rows[i].name, rows[i].gbs,
               rows[i].copy, 100.0 * rows[i].gbs / rows[i].copy);
    return 0;
}

/* Host time of n back-to-back calls of execute, per call (best of 5). */
static double host_us(tprog *t, cf_slot_value *dv, int n)
{
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        double t0 = now_s();
        for (int i = 0; i < n; i++)
            CK(cf_cuda_execute(&t->p, dv, 0, NULL));
        double dt = (now_s() - t0) / n;
        CK(cf_cuda_synchronize(0, NULL));
        best = dt < best ? dt : best;
    }
    return best * 1e6;
}

/* Where the first execute of a new fusion spends its time, and what a
 * cached execute costs beside a bare cuLaunchKernel. Run it in a fresh
 * process (first with an empty disk cache, then again: a disk-cache hit). */
static int probe(void)
{
    const cf_cu_api *cu;
    const cf_nvrtc_api *rtc;
    double t0 = now_s();
    CK(cf_nvrtc_load(&rtc));
    double t_rtc = now_s() - t0;
    cf_cuda_device_info info;
    t0 = now_s();
    CK(cf_cuda_device_info_get(0, &info));
    CK(cf_cu_load(&cu));
    double t_dev = now_s() - t0;

    tprog t;
    tp_init(&t);
    build_chain(&t, CF_DTYPE_FLOAT, 1024);
    cf_slot_value dv[TP_MAX];
    to_device(&t, dv);
    t0 = now_s();
    CK(cf_cuda_execute(&t.p, dv, 0, NULL));
    double t1 = now_s();
    CK(cf_cuda_synchronize(0, NULL));
    double t2 = now_s();
    cf_cuda_wait_background();
    double t3 = now_s();
    printf("first execute of a new fusion %.2f ms to launch, %.2f ms done, full kernels in after "
           "%.2f ms (NVRTC load %.2f ms and device set-up %.2f ms before it)\n",
           (t1 - t0) * 1e3, (t2 - t0) * 1e3, (t3 - t0) * 1e3, t_rtc * 1e3, t_dev * 1e3);

    /* the same source compiled again (NVRTC warm), and its module load */
    cf_cuda_plan *plan;
    CK(cf_cuda_plan_build(&t.p, dv, &info, &plan));
    void *cubin;
    size_t size;
    t0 = now_s();
    CK(cf_nvrtc_compile(plan->source, "probe.cu", info.cc_major * 10 + info.cc_minor, &cubin, &size));
    double t_comp = now_s() - t0;
    CUmodule m;
    t0 = now_s();
    CK(cf_cu_check(cu->cuModuleLoadData(&m, cubin), "probe", "cuModuleLoadData"));
    double t_mod = now_s() - t0;
    printf("same source again: NVRTC %.2f ms (%zu bytes of cubin), cuModuleLoadData %.2f ms\n",
           t_comp * 1e3, size, t_mod * 1e3);

    /* cached execute against the bare launch of an empty kernel */
    void *nopbin;
    CK(cf_nvrtc_compile("extern \"C\" __global__ void nop(const long long *p){}\n", "nop.cu",
                        info.cc_major * 10 + info.cc_minor, &nopbin, &size));
    CUmodule nm;
    CUfunction nop;
    CK(cf_cu_check(cu->cuModuleLoadData(&nm, nopbin), "probe", "cuModuleLoadData"));
    CK(cf_cu_check(cu->cuModuleGetFunction(&nop, nm, "nop"), "probe", "cuModuleGetFunction"));
    long long word = 0;
    void *args[1] = {&word};
    double best = 1e30;
    for (int rep = 0; rep < 5; rep++) {
        t0 = now_s();
        for (int i = 0; i < 2000; i++)
            CK(cf_cu_check(cu->cuLaunchKernel(nop, 1, 1, 1, 32, 1, 1, 0, NULL, args, NULL), "probe",
                           "cuLaunchKernel"));
        double dt = (now_s() - t0) / 2000;
        CK(cf_cuda_synchronize(0, NULL));
        best = dt < best ? dt : best;
    }
    printf("host time per call: cached execute of the 1k chain %.2f us, bare cuLaunchKernel %.2f us\n",
           host_us(&t, dv, 2000), best * 1e6);
    cf_free(cubin);
    cf_free(nopbin);
    cf_cuda_plan_free(plan);
    free_device(&t, dv);
    tp_free(&t);
    return 0;
}

#include "gpu_indexing.h"

static int dump(int which, int64_t rows, int64_t cols)
{
    tprog t;
    tp_init(&t);
    switch (which) {
    case 0: build_chain(&t, CF_DTYPE_BFLOAT16, 1 << 20); break;
    case 1: build_softmax(&t, CF_DTYPE_BFLOAT16, rows, cols); break;
    case 2: build_layernorm(&t, CF_DTYPE_BFLOAT16, rows, cols); break;
    case 3: build_rmsnorm(&t, CF_DTYPE_FLOAT, 3, 20001); break;
    case 4: build_rowsum(&t, CF_DTYPE_HALF, 4097, 3); break;
    case 7: case 8: { /* batchnorm, bf16 (32, C=ROWS, COLS/32, 32), NCHW / NHWC */
        static const int nchw[4] = {0, 1, 2, 3}, nhwc[4] = {0, 2, 3, 1};
        int64_t sh[4] = {32, rows, cols / 32 > 0 ? cols / 32 : 1, 32};
        build_norm(&t, CF_DTYPE_BFLOAT16, 4, sh, 0xd, which == 7 ? nchw : nhwc, 0x2);
        break;
    }
    case 9: build_softmax_dim0(&t, CF_DTYPE_BFLOAT16, rows, cols); break;
    case 10: { /* sum over dim 0, bf16 */
        int64_t sh[2] = {rows, cols}, osh[2] = {1, cols};
        int x = tp_in(&t, CF_DTYPE_BFLOAT16, 2, sh), o = tp_out(&t, CF_DTYPE_BFLOAT16, 2, osh);
        tp_reduce(&t, CF_OP_SUM, CF_DTYPE_FLOAT, x, 1, o);
        break;
    }
    case 6: { /* perf/gpu_bench.py's compile probe: sin((x + c) * 1.5) */
        int64_t sh[1] = {4096};
        int x = tp_in(&t, CF_DTYPE_FLOAT, 1, sh), c = tp_constf(&t, CF_DTYPE_FLOAT, 0.25),
            h = tp_constf(&t, CF_DTYPE_FLOAT, 1.5), a = tp_tmp(&t, CF_DTYPE_FLOAT, 1, sh),
            b = tp_tmp(&t, CF_DTYPE_FLOAT, 1, sh), o = tp_out(&t, CF_DTYPE_FLOAT, 1, sh);
        tp_op2(&t, CF_OP_ADD, CF_DTYPE_FLOAT, x, c, a);
        tp_op2(&t, CF_OP_MUL, CF_DTYPE_FLOAT, a, h, b);
        tp_op1(&t, CF_OP_SIN, CF_DTYPE_FLOAT, b, o);
        break;
    }
    default: {
        int64_t sh[2] = {4097, 3}, osh[2] = {1, 3};
        int x = tp_in(&t, CF_DTYPE_FLOAT, 2, sh);
        int o0 = tp_out(&t, CF_DTYPE_FLOAT, 2, osh), o1 = tp_out(&t, CF_DTYPE_FLOAT, 2, osh);
        cf_prog_instr *in = tp_reduce(&t, CF_OP_VAR_MEAN, CF_DTYPE_FLOAT, x, 1, o0);
        in->nout = 2;
        in->out[1] = o1;
    }
    }
    cf_cuda_device_info info;
    memset(&info, 0, sizeof info);
    info.sm_count = 132;
    info.cc_major = 9;
    cf_cuda_plan *plan;
    CK(cf_cuda_plan_build(&t.p, t.vals, &info, &plan));
    fputs(plan->source, stdout);
    for (int i = 0; i < plan->nkernels; i++)
        fprintf(stderr, "kernel %s grid %u block %ux%u words %d\n",
                plan->kernels[i].name, plan->kernels[i].grid[0],
                plan->kernels[i].block[0], plan->kernels[i].block[1],
                plan->kernels[i].nwords);
    cf_cuda_plan_free(plan);
    tp_free(&t);
    return 0;
}

#include "scan_cases.inc"

int main(int argc, char **argv)
{
    if (argc > 2 && strcmp(argv[1], "--dump") == 0)
        return dump(atoi(argv[2]), argc > 4 ? atoll(argv[3]) : 64, argc > 4 ? atoll(argv[4]) : 4096);
    char why[400];
    compile_only = argc > 1 && strcmp(argv[1], "--compile-only") == 0;
    if (compile_only) {
        const cf_nvrtc_api *rtc;
        if (cf_nvrtc_load(&rtc) != CF_OK) {
            printf("SKIP gpu_test --compile-only: %s\n", cf_error_last()->message);
            return 77;
        }
    } else if (cf_cuda_available(why, sizeof why) != CF_OK) {
        printf("SKIP gpu_test: %s\n", why);
        return 77;
    }
    if (argc > 1 && strcmp(argv[1], "--bench") == 0)
        return bench();
    if (argc > 1 && strcmp(argv[1], "--probe") == 0)
        return probe();
    if (argc > 2 && strcmp(argv[1], "--only") == 0)
        filter = argv[2];
    else if (argc > 3 && compile_only && strcmp(argv[2], "--only") == 0)
        filter = argv[3];
    double t0 = now_s();
    op_cases();
    reduction_cases();
    fusion_cases();
    structure_cases();
    movement_cases();
    indexing_cases();
    layout_cases();
    scan_cases();
    printf("gpu_test%s: %d cases, %d failed (%.1f s)\n", compile_only ? " --compile-only" : "",
           checks, failures, now_s() - t0);
    if (compile_only)
        printf("%d distinct sources compiled for sm_90\n", ncompiled);
    return failures ? 1 : 0;
}
