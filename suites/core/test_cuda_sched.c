/* test_cuda_sched.c - the reduction schedule heuristic (cuda/sched_reduce.c)
 * with an H100's properties: a pure function, so it runs on any machine;
 * then the schedules code generation picks for layouts (plans are built
 * on the host: no NVRTC, no device). */
#include <criterion/criterion.h>
#include <string.h>

#include "test_cpu_util.h"
#include "cuda/cuda_host.h"
#include "cuda/sched_reduce.h"

static cf_cuda_device_info h100(void)
{
    cf_cuda_device_info d;
    memset(&d, 0, sizeof d);
    strcpy(d.name, "NVIDIA H100 80GB HBM3");
    d.cc_major = 9;
    d.sm_count = 132;
    d.max_threads_per_sm = 2048;
    d.max_smem_per_block = 227 * 1024;
    d.l2_bytes = 50 * 1024 * 1024;
    return d;
}

static cf_rs_sched pick(cf_rs_problem p)
{
    cf_cuda_device_info d = h100();
    cf_rs_sched s;
    if (!p.persist_max)
        p.persist_max = 96;
    cf_rs_choose(&p, &d, &s);
    cr_assert(s.TX >= 1 && s.TY >= 1 && s.TX * s.TY <= 1024, "block %dx%d", s.TX, s.TY);
    cr_assert(s.why[0] != '\0');
    return s;
}

/* sum over dim 0 of 16384 x 4096 bf16: 128 column blocks would leave the
 * machine idle; the reduced range splits over enough blocks for a wave. */
Test(cuda_sched, tall_outer_sum_splits_over_blocks)
{
    cf_rs_sched s = pick((cf_rs_problem){.outer = true, .nrow = 4096, .nred = 16384, .nfull = 1,
                                         .elem_bytes = 2});
    cr_assert_eq(s.kind, CF_RS_OUTER_GRID, "%s", s.why);
    cr_assert_eq(s.TX, 32); /* a warp reads 32 consecutive outputs */
    cr_assert_gt(s.splits, 1);
    cr_assert_geq(s.blocks * s.splits * s.TX * s.TY, 132 * 2048 / 2, "%lld x %d blocks",
                  (long long)s.blocks, s.splits);
    cr_assert(strstr(s.why, "splits"), "%s", s.why);
}

/* Enough outputs for the machine: no scratch round trip. */
Test(cuda_sched, wide_outer_sum_stays_in_one_block)
{
    cf_rs_sched s = pick((cf_rs_problem){.outer = true, .nrow = 1 << 20, .nred = 64, .nfull = 1,
                                         .elem_bytes = 4});
    cr_assert_eq(s.kind, CF_RS_OUTER_BLOCK, "%s", s.why);
    cr_assert_eq(s.splits, 1);
}

/* A split needs enough work per thread: 3 x 4097 sum over dim 0 splits a
 * little, 3 x 100 not at all. */
Test(cuda_sched, split_needs_work_per_thread)
{
    cf_rs_sched s = pick((cf_rs_problem){.outer = true, .nrow = 3, .nred = 100, .nfull = 1});
    cr_assert_eq(s.splits, 1, "%s", s.why);
    s = pick((cf_rs_problem){.outer = true, .nrow = 3, .nred = 4097, .nfull = 1});
    cr_assert_gt(s.splits, 1, "%s", s.why);
    cr_assert_leq((int64_t)s.splits * s.TY * 8, 4097);
}

/* softmax over dim 0 (a later phase reads the reduced domain): no split,
 * but fewer outputs a block, down to a 32-byte sector of bf16, for more
 * blocks. */
Test(cuda_sched, outer_normalization_narrows_blocks)
{
    cf_rs_sched s = pick((cf_rs_problem){.outer = true, .nrow = 4096, .nred = 16384, .nfull = 1,
                                         .elem_bytes = 2, .later_full = true});
    cr_assert_eq(s.kind, CF_RS_OUTER_BLOCK, "%s", s.why);
    cr_assert_eq(s.splits, 1);
    cr_assert_eq(s.TX, 16);
    cr_assert_geq(s.blocks, 256);
    cr_assert(strstr(s.why, "no grid split"), "%s", s.why);
    /* float: 8 outputs make a sector */
    s = pick((cf_rs_problem){.outer = true, .nrow = 128, .nred = 100352, .nfull = 1,
                             .elem_bytes = 4, .later_full = true});
    cr_assert_eq(s.TX, 8, "%s", s.why);
}

/* Rows of 4096 bf16 stay as they were measured (128 threads x 4 vectors). */
Test(cuda_sched, row_of_4096_is_persistent)
{
    cf_rs_sched s = pick((cf_rs_problem){.nrow = 16384, .nred = 4096, .vec = 8, .nfull = 1});
    cr_assert_eq(s.kind, CF_RS_ROW_PERSIST, "%s", s.why);
    cr_assert_eq(s.TX, 128);
    cr_assert_eq(s.items, 4);
    cr_assert_eq(s.TY, 1);
}

/* 18432 bf16: 512 threads x 5 vectors, not 1024 x 3. */
Test(cuda_sched, wide_row_keeps_512_threads)
{
    cf_rs_sched s = pick((cf_rs_problem){.nrow = 2048, .nred = 18432, .vec = 8, .nfull = 1});
    cr_assert_eq(s.kind, CF_RS_ROW_PERSIST, "%s", s.why);
    cr_assert_eq(s.TX, 512);
    cr_assert_eq(s.items, 5);
    /* two reduced-domain loads (layernorm with a residual) no longer fit */
    s = pick((cf_rs_problem){.nrow = 2048, .nred = 18432 * 2, .vec = 8, .nfull = 2});
    cr_assert_eq(s.kind, CF_RS_ROW_STREAM, "%s", s.why);
}

/* batch statistics of NCHW (128 channels of 802816): a row each is 128
 * blocks; the rows split over blocks when nothing later reads them. */
Test(cuda_sched, few_long_rows_split)
{
    cf_rs_sched s = pick((cf_rs_problem){.nrow = 128, .nred = 802816, .vec = 8, .nfull = 1});
    cr_assert_eq(s.kind, CF_RS_ROW_STREAM);
    cr_assert_gt(s.splits, 1, "%s", s.why);
    s = pick((cf_rs_problem){.nrow = 128, .nred = 802816, .vec = 8, .nfull = 1, .later_full = true});
    cr_assert_eq(s.splits, 1, "%s", s.why);
}

/* The quick tier does not unroll. */
Test(cuda_sched, quick_tier_does_not_unroll)
{
    cf_rs_sched s = pick((cf_rs_problem){.outer = true, .nrow = 4096, .nred = 16384, .quick = true});
    cr_assert_eq(s.unroll, 1);
    s = pick((cf_rs_problem){.outer = true, .nrow = 4096, .nred = 16384});
    cr_assert_gt(s.unroll, 1);
}

/* A device without properties filled in is taken as an H100. */
Test(cuda_sched, missing_properties_default)
{
    cf_rs_problem p = {.outer = true, .nrow = 4096, .nred = 16384, .persist_max = 96};
    cf_rs_sched a, b;
    cf_cuda_device_info d = h100(), z;
    memset(&z, 0, sizeof z);
    cf_rs_choose(&p, &d, &a);
    cf_rs_choose(&p, &z, &b);
    cr_assert_eq(a.splits, b.splits);
    cr_assert_str_eq(cf_rs_kind_name(a.kind), "outer-grid");
}

/* batchnorm of 128 x 128 x 28 x 28 channels-last: 8 blocks fused, so the
 * statistics split off; a small layernorm keeps its one launch; a
 * normalization with blocks for every SM stays fused. */
Test(cuda_sched, normalization_split_off_only_when_large_and_idle)
{
    cf_cuda_device_info d = h100();
    cf_rs_problem bn = {.outer = true, .nrow = 128, .nred = 100352, .nfull = 1, .elem_bytes = 2,
                        .later_full = true, .persist_max = 96};
    cf_rs_sched s;
    cf_rs_choose(&bn, &d, &s);
    cr_assert_lt(s.blocks, 132);
    cr_assert(cf_rs_split_normalization(&bn, &s, &d));
    cf_rs_problem ln = {.nrow = 16, .nred = 768, .vec = 8, .nfull = 1, .later_full = true,
                        .persist_max = 96};
    cf_rs_choose(&ln, &d, &s);
    cr_assert(!cf_rs_split_normalization(&ln, &s, &d));
    cf_rs_problem big = {.nrow = 16384, .nred = 4096, .vec = 8, .nfull = 1, .later_full = true,
                         .persist_max = 96};
    cf_rs_choose(&big, &d, &s);
    cr_assert(!cf_rs_split_normalization(&big, &s, &d));
    bn.later_full = false; /* a plain reduction has nothing to split off */
    cf_rs_choose(&bn, &d, &s);
    cr_assert(!cf_rs_split_normalization(&bn, &s, &d));
}

/* --- the choice as code generation makes it (no NVRTC, no device) ------- */

static cf_cuda_plan *plan_of(tprog *t)
{
    cf_cuda_device_info d = h100();
    cf_cuda_plan *plan = NULL;
    cr_assert_eq(cf_cuda_plan_build(&t->p, t->vals, &d, &plan), CF_OK, "%s", cf_error_last()->message);
    return plan;
}

static void set_order(tprog *t, int s, const int *order)
{
    int64_t st = 1;
    for (int k = t->slots[s].ndim - 1; k >= 0; k--) {
        t->vals[s].strides[order[k]] = st;
        st *= t->vals[s].shape[order[k]];
    }
}

/* var_mean over N, H, W then the normalization, bf16 in, float compute. */
static void batchnorm(tprog *t, const int *order)
{
    int64_t sh[4] = {128, 128, 28, 28}, rsh[4] = {1, 128, 1, 1};
    cf_dtype F = CF_DTYPE_FLOAT, B = CF_DTYPE_BFLOAT16;
    int x = tp_in(t, B, 4, sh);
    set_order(t, x, order);
    int xf = tp_tmp(t, F, 4, sh), var = tp_tmp(t, F, 4, rsh), mean = tp_tmp(t, F, 4, rsh);
    int d = tp_tmp(t, F, 4, sh), y = tp_tmp(t, F, 4, sh), o = tp_out(t, B, 4, sh);
    set_order(t, o, order);
    tp_op1(t, CF_OP_CAST, F, x, xf);
    cf_prog_instr *vm = tp_reduce(t, CF_OP_VAR_MEAN, F, xf, 0xd, var);
    vm->nout = 2;
    vm->out[1] = mean;
    tp_op2(t, CF_OP_SUB, F, xf, mean, d);
    tp_op2(t, CF_OP_MUL, F, d, var, y);
    tp_op1(t, CF_OP_CAST, B, y, o);
}

Test(cuda_sched, channels_last_batchnorm_is_outer_statistics_then_apply)
{
    static const int nhwc[4] = {0, 2, 3, 1}, nchw[4] = {0, 1, 2, 3};
    tprog t;
    tp_init(&t);
    batchnorm(&t, nhwc);
    cf_cuda_plan *plan = plan_of(&t);
    cr_assert_eq(plan->nkernels, 2);
    cr_assert(strstr(plan->source, "cfk0: outer-grid"), "%.400s", strstr(plan->source, "/* cfk0"));
    cr_assert(strstr(plan->source, "statistics only"));
    cr_assert(strstr(plan->source, "cfk0a: apply"));
    cr_assert_gt(plan->kernels[0].grid[1], 1);
    cr_assert_geq(plan->kernels[1].grid[0], 132);
    cf_cuda_plan_free(plan);
    tp_free(&t);
    tp_init(&t);
    batchnorm(&t, nchw);
    plan = plan_of(&t);
    cr_assert_eq(plan->nkernels, 2);
    cr_assert(strstr(plan->source, "cfk0: row-stream"), "%.400s", strstr(plan->source, "/* cfk0"));
    cf_cuda_plan_free(plan);
    tp_free(&t);
}

Test(cuda_sched, sum_over_dim0_splits_and_transposed_rows_become_outer)
{
    tprog t;
    tp_init(&t);
    int64_t sh[2] = {16384, 4096}, osh[2] = {1, 4096};
    int x = tp_in(&t, CF_DTYPE_BFLOAT16, 2, sh), o = tp_out(&t, CF_DTYPE_BFLOAT16, 2, osh);
    tp_reduce(&t, CF_OP_SUM, CF_DTYPE_FLOAT, x, 1, o);
    cf_cuda_plan *plan = plan_of(&t);
    cr_assert_eq(plan->nkernels, 1);
    cr_assert(strstr(plan->source, "cfk0: outer-grid 32x8 splits="), "%.300s", strstr(plan->source, "/* cfk0"));
    cr_assert_gt(plan->kernels[0].grid[1], 1);
    cf_cuda_plan_free(plan);
    tp_free(&t);
    /* a row sum of a transposed matrix reads along its columns */
    tp_init(&t);
    int64_t sh2[2] = {4096, 1024}, rsh[2] = {4096, 1};
    static const int tr[2] = {1, 0};
    x = tp_in(&t, CF_DTYPE_FLOAT, 2, sh2);
    set_order(&t, x, tr);
    o = tp_out(&t, CF_DTYPE_FLOAT, 2, rsh);
    tp_reduce(&t, CF_OP_SUM, CF_DTYPE_FLOAT, x, 2, o);
    plan = plan_of(&t);
    cr_assert(strstr(plan->source, "cfk0: outer-"), "%.300s", strstr(plan->source, "/* cfk0"));
    cf_cuda_plan_free(plan);
    tp_free(&t);
}

Test(cuda_sched, small_normalization_stays_one_kernel)
{
    tprog t;
    tp_init(&t);
    int64_t sh[2] = {16, 768}, rsh[2] = {16, 1};
    int x = tp_in(&t, CF_DTYPE_FLOAT, 2, sh), m = tp_tmp(&t, CF_DTYPE_FLOAT, 2, rsh);
    int o = tp_out(&t, CF_DTYPE_FLOAT, 2, sh);
    tp_reduce(&t, CF_OP_MAX, CF_DTYPE_FLOAT, x, 2, m);
    tp_op2(&t, CF_OP_SUB, CF_DTYPE_FLOAT, x, m, o);
    cf_cuda_plan *plan = plan_of(&t);
    cr_assert_eq(plan->nkernels, 1);
    cr_assert(strstr(plan->source, "cfk0: row-persist"), "%.300s", strstr(plan->source, "/* cfk0"));
    cf_cuda_plan_free(plan);
    tp_free(&t);
}
