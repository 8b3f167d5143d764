/* test_cuda_indexing.c - the CUDA plans of GATHER and SCATTER (no device
 * needed): a gather is read in the kernel of its consumer, its source
 * stored by an earlier kernel; a scatter is a copy kernel and a write
 * kernel; a plan that indexes has the index-check flag. */
#include <criterion/criterion.h>

#include "indexing_progs.h"
#include "cfuser/cuda.h"
#include "cuda/cuda_host.h"

static cf_cuda_plan *build(tprog *t)
{
    cf_cuda_device_info info;
    cf_cuda_plan *plan = NULL;
    memset(&info, 0, sizeof info);
    info.sm_count = 132;
    info.cc_major = 9;
    cr_assert_eq(cf_cuda_plan_build(&t->p, t->vals, &info, &plan), CF_OK, "%s", cf_error_last()->message);
    return plan;
}

Test(cuda_indexing, a_gather_of_an_input_is_one_kernel_with_its_consumer)
{
    tprog t;
    int g, x, i;
    tp_init(&t);
    prog_select_exp(&t, &g, &x, &i);
    cf_cuda_plan *plan = build(&t);
    cr_assert_eq(plan->nkernels, 1);
    cr_assert_geq(plan->index_flag, 0);
    cr_assert_eq(plan->buffers[plan->index_flag].slot, -1);
    cr_assert(plan->buffers[plan->index_flag].temp);
    cr_assert(strstr(plan->source, "gk"), "the index check is in the kernel");
    cf_cuda_plan_free(plan);
    tp_free(&t);
}

Test(cuda_indexing, a_computed_source_is_stored_by_the_kernel_before)
{
    tprog t;
    int a, g;
    tp_init(&t);
    prog_add_take_mul(&t, &a, &g);
    cf_cuda_plan *plan = build(&t);
    cr_assert_eq(plan->nkernels, 2);
    bool stored = false;
    for (int b = 0; b < plan->nbuffers; b++)
        stored |= plan->buffers[b].slot == a && plan->buffers[b].temp;
    cr_assert(stored, "x + y gets a buffer");
    for (int b = 0; b < plan->nbuffers; b++)
        cr_assert_neq(plan->buffers[b].slot, g, "the gathered values stay in registers");
    cf_cuda_plan_free(plan);
    tp_free(&t);
}

Test(cuda_indexing, a_scatter_is_a_copy_kernel_and_a_write_kernel)
{
    tprog t;
    int sc;
    tp_init(&t);
    prog_neg_scatter_abs(&t, &sc);
    cf_cuda_plan *plan = build(&t);
    cr_assert_eq(plan->nkernels, 4, "neg, copy, writes, abs");
    cr_assert_geq(plan->index_flag, 0);
    cf_cuda_plan_free(plan);
    tp_free(&t);
}

Test(cuda_indexing, a_plan_without_indexing_has_no_flag)
{
    tprog t;
    int64_t sh[1] = {100};
    tp_init(&t);
    int x = tp_in(&t, CF_DTYPE_FLOAT, 1, sh), o = tp_out(&t, CF_DTYPE_FLOAT, 1, sh);
    tp_op1(&t, CF_OP_EXP, CF_DTYPE_FLOAT, x, o);
    cf_cuda_plan *plan = build(&t);
    cr_assert_eq(plan->index_flag, -1);
    cf_cuda_plan_free(plan);
    tp_free(&t);
}
