/* test_cuda_movement.c - how the CUDA executor plans slice, pad and cat
 * (host side, no device): kernels and stored temporaries of a rotary
 * embedding, a pad of pointwise work, a chain of movements, and a movement
 * beside unrelated work. */
#include <criterion/criterion.h>
#include <string.h>

#include "test_cpu_util.h"
#include "cfuser/ops.h"
#include "cuda/cuda_host.h"

static cf_prog_instr *op_move(tprog *t, cf_opcode op, int nin, const int *in, int dim, int out)
{
    cf_prog_instr *ins = tp_op(t, op, t->slots[in[0]].dtype, nin, in, out);
    ins->dim = (int8_t)dim;
    ins->step = 1;
    return ins;
}

/* Kernels of t's plan; *temps: temporaries stored between them. */
static int plan_of(tprog *t, int *temps)
{
    cf_cuda_device_info info;
    memset(&info, 0, sizeof info);
    info.sm_count = 132;
    info.cc_major = 9;
    cf_cuda_plan *plan = NULL;
    cr_assert_eq(cf_cuda_plan_build(&t->p, t->vals, &info, &plan), CF_OK, "%s", cf_error_last()->message);
    int n = plan->nkernels;
    *temps = 0;
    for (int b = 0; b < plan->nbuffers; b++) *temps += plan->buffers[b].temp;
    cf_cuda_plan_free(plan);
    return n;
}

Test(cuda_movement, rope_is_one_kernel)
{
    tprog t;
    tp_init(&t);
    cf_dtype H = CF_DTYPE_HALF, F = CF_DTYPE_FLOAT;
    int64_t sh[3] = {2, 9, 64}, hs[3] = {2, 9, 32};
    int x = tp_in(&t, H, 3, sh), cs = tp_in(&t, H, 3, sh), sn = tp_in(&t, H, 3, sh);
    int z = tp_consti(&t, CF_DTYPE_INT, 0), half = tp_consti(&t, CF_DTYPE_INT, 32), full = tp_consti(&t, CF_DTYPE_INT, 64);
    int xf = tp_tmp(&t, F, 3, sh), x1 = tp_tmp(&t, F, 3, hs), x2 = tp_tmp(&t, F, 3, hs), n2 = tp_tmp(&t, F, 3, hs);
    int rot = tp_tmp(&t, F, 3, sh), a = tp_tmp(&t, F, 3, sh), b = tp_tmp(&t, F, 3, sh), o = tp_out(&t, H, 3, sh);
    tp_op1(&t, CF_OP_CAST, F, x, xf);
    int s1[3] = {xf, z, half}, s2[3] = {xf, half, full};
    op_move(&t, CF_OP_SLICE, 3, s1, 2, x1)->manual = 1;
    op_move(&t, CF_OP_SLICE, 3, s2, 2, x2)->manual = 1;
    tp_op1(&t, CF_OP_NEG, F, x2, n2);
    int parts[2] = {n2, x1};
    op_move(&t, CF_OP_CAT, 2, parts, 2, rot);
    tp_op2(&t, CF_OP_MUL, F, xf, cs, a);
    tp_op2(&t, CF_OP_MUL, F, rot, sn, b);
    tp_op2(&t, CF_OP_ADD, F, a, b, o);
    int temps;
    cr_assert_eq(plan_of(&t, &temps), 1, "the cast, slices, neg and cat are recomputed inside one kernel");
    cr_assert_eq(temps, 0);
    tp_free(&t);
}

Test(cuda_movement, chain_and_pointwise_source_fold)
{
    tprog t;
    tp_init(&t);
    cf_dtype F = CF_DTYPE_FLOAT;
    int64_t as[2] = {4, 5}, bs[2] = {4, 3}, cs[2] = {4, 8}, ps[2] = {6, 8}, ss[2] = {3, 8};
    int a = tp_in(&t, F, 2, as), b = tp_in(&t, F, 2, bs);
    int e = tp_tmp(&t, F, 2, as), c = tp_tmp(&t, F, 2, cs), p = tp_tmp(&t, F, 2, ps), s = tp_tmp(&t, F, 2, ss);
    int o = tp_out(&t, F, 2, ss);
    int one = tp_consti(&t, CF_DTYPE_INT, 1), fv = tp_constf(&t, F, 0.0), big = tp_consti(&t, CF_DTYPE_INT, 99);
    tp_op1(&t, CF_OP_EXP, F, a, e);
    int ci[2] = {e, b}, pi[4] = {c, one, one, fv}, si[3] = {p, one, big};
    op_move(&t, CF_OP_CAT, 2, ci, 1, c);
    op_move(&t, CF_OP_PAD, 4, pi, 0, p);
    op_move(&t, CF_OP_SLICE, 3, si, 0, s)->step = 2;
    tp_op2(&t, CF_OP_MUL, F, s, fv, o);
    int temps;
    cr_assert_eq(plan_of(&t, &temps), 1);
    cr_assert_eq(temps, 0);
    tp_free(&t);
}

/* A reduction's result is not recomputed: it is stored and the pad reads
 * it in a later kernel. */
Test(cuda_movement, reduction_source_is_stored)
{
    tprog t;
    tp_init(&t);
    cf_dtype F = CF_DTYPE_FLOAT;
    int64_t sh[2] = {33, 65}, rs[2] = {33, 1}, ps[2] = {33, 3};
    int x = tp_in(&t, F, 2, sh), r = tp_tmp(&t, F, 2, rs), p = tp_tmp(&t, F, 2, ps), o = tp_out(&t, F, 2, ps);
    int one = tp_consti(&t, CF_DTYPE_INT, 1), fv = tp_constf(&t, F, 0.0);
    tp_reduce(&t, CF_OP_SUM, F, x, 2, r);
    int pi[4] = {r, one, one, fv};
    op_move(&t, CF_OP_PAD, 4, pi, 1, p);
    tp_op1(&t, CF_OP_NEG, F, p, o);
    int temps;
    cr_assert_eq(plan_of(&t, &temps), 2);
    cr_assert_eq(temps, 1);
    tp_free(&t);
}

/* exp(x) and a slice of x as two outputs: two loops, never one loop over
 * the product of their shapes. */
Test(cuda_movement, unrelated_work_is_not_crossed)
{
    tprog t;
    tp_init(&t);
    cf_dtype F = CF_DTYPE_FLOAT;
    int64_t sh[1] = {1 << 20}, ss[1] = {1 << 19};
    int x = tp_in(&t, F, 1, sh), e = tp_out(&t, F, 1, sh), s = tp_tmp(&t, F, 1, ss), o = tp_out(&t, F, 1, ss);
    int z = tp_consti(&t, CF_DTYPE_INT, 0), h = tp_consti(&t, CF_DTYPE_INT, 1 << 19);
    tp_op1(&t, CF_OP_EXP, F, x, e);
    int si[3] = {x, z, h};
    op_move(&t, CF_OP_SLICE, 3, si, 0, s);
    tp_op1(&t, CF_OP_NEG, F, s, o);
    int temps;
    /* one kernel would loop over the product of the two shapes */
    cr_assert_eq(plan_of(&t, &temps), 2);
    cr_assert_eq(temps, 0);
    tp_free(&t);
}
