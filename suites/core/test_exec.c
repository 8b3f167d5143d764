/* test_exec.c - core's C API for running fusions: the executor cache,
 * shape binding with its argument checks, outputs, and signatures. */
#include <criterion/criterion.h>
#include <math.h>
#include <string.h>

#include "cfuser/cfuser.h"

static cf_arg vec_arg(float *data, int64_t n)
{
    cf_arg a;
    memset(&a, 0, sizeof a);
    a.is_tensor = true;
    a.tensor.data = data;
    a.tensor.dtype = CF_DTYPE_FLOAT;
    a.tensor.ndim = 1;
    a.tensor.device = CF_DEVICE_CPU;
    a.tensor.shape[0] = n;
    a.tensor.strides[0] = 1;
    return a;
}

/* out = tanh(a * b + 1) with a, b symbolic 1-D Float tensors */
static cf_fusion *chain(void)
{
    int64_t shape[1] = {-1};
    cf_fusion *f = cf_fusion_new();
    cf_scalar one = {.dtype = CF_DTYPE_DOUBLE, .v.f = 1.0};
    cf_id a, b, c, t1, t2, t3, in[2];
    cr_assert_not_null(f);
    cr_assert_eq(cf_define_tensor(f, 1, shape, NULL, CF_DTYPE_FLOAT, NULL, &a), CF_OK);
    cr_assert_eq(cf_define_tensor(f, 1, shape, NULL, CF_DTYPE_FLOAT, NULL, &b), CF_OK);
    cr_assert_eq(cf_fusion_constant(f, &one, &c), CF_OK);
    in[0] = a; in[1] = b;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_MUL, 2, in, &t1), CF_OK);
    in[0] = t1; in[1] = c;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_ADD, 2, in, &t2), CF_OK);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_TANH, 1, &t2, &t3), CF_OK);
    cr_assert_eq(cf_fusion_add_output(f, t3), CF_OK);
    return f;
}

static cf_status run(cf_cache *c, int nargs, cf_arg *args, float *out, int64_t n)
{
    cf_run *r;
    cf_status st = cf_run_prepare(c, nargs, args, NULL, &r);
    if (st)
        return st;
    cr_assert_eq(cf_run_num_outputs(r), 1);
    cr_assert_eq(cf_run_output(r, 0)->shape[0], n);
    cr_assert_eq(cf_run_set_output(r, 0, out, NULL), CF_OK);
    st = cf_run_execute(r);
    cf_run_free(r);
    return st;
}

Test(exec, runs_a_chain_and_counts_signatures)
{
    cf_fusion *f = chain();
    cf_cache *c;
    float a[1000], b[1000], out[1000];
    cf_arg args[2];
    int i;
    for (i = 0; i < 1000; i++) {
        a[i] = (float)(i % 17) * 0.1f - 0.8f;
        b[i] = (float)(i % 5) * 0.3f - 0.6f;
    }
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    cf_fusion_release(f); /* the cache keeps it */
    args[0] = vec_arg(a, 1000);
    args[1] = vec_arg(b, 1000);
    cr_assert_eq(run(c, 2, args, out, 1000), CF_OK, "%s", cf_error_last()->message);
    for (i = 0; i < 1000; i++)
        cr_assert_float_eq(out[i], tanhf(a[i] * b[i] + 1.0f), 1e-6f, "at %d", i);
    cr_assert_eq(cf_cache_num_plans(c), 1);
    args[0].tensor.strides[0] = 2; /* a strided view: a new signature */
    args[0].tensor.shape[0] = 500;
    args[1].tensor.shape[0] = 500;
    cr_assert_eq(run(c, 2, args, out, 500), CF_OK);
    for (i = 0; i < 500; i++)
        cr_assert_float_eq(out[i], tanhf(a[2 * i] * b[i] + 1.0f), 1e-6f, "at %d", i);
    cr_assert_eq(cf_cache_num_plans(c), 2);
    cf_cache_free(c);
}

Test(exec, bad_arguments_are_named)
{
    cf_fusion *f = chain();
    cf_cache *c;
    float a[8] = {0}, out[8];
    cf_arg args[2];
    cf_run *r;
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    args[0] = vec_arg(a, 8);
    args[1] = vec_arg(a, 7);
    cr_assert_eq(cf_run_prepare(c, 1, args, NULL, &r), CF_ERR_VALUE);
    cr_assert(strstr(cf_error_last()->message, "2 inputs"), "%s", cf_error_last()->message);
    cr_assert_eq(run(c, 2, args, out, 8), CF_ERR_VALUE, "sizes 8 and 7 do not broadcast");
    cr_assert(strstr(cf_error_last()->message, "size 7"), "%s", cf_error_last()->message);
    args[1] = vec_arg(a, 8);
    args[1].tensor.dtype = CF_DTYPE_DOUBLE;
    cr_assert_eq(cf_run_prepare(c, 2, args, NULL, &r), CF_ERR_TYPE);
    cr_assert(strstr(cf_error_last()->message, "input 1"), "%s", cf_error_last()->message);
    args[1] = vec_arg(a, 8);
    args[1].tensor.ndim = 2;
    args[1].tensor.shape[1] = 1;
    cr_assert_eq(cf_run_prepare(c, 2, args, NULL, &r), CF_ERR_VALUE);
    cr_assert_eq(cf_cache_num_plans(c), 0, "failed calls add no kernel");
    cf_cache_free(c);
    cf_fusion_release(f);
}

Test(exec, empty_fusion_and_byte_overflow)
{
    cf_fusion *f = cf_fusion_new();
    cf_cache *c;
    cf_run *r;
    int64_t shape[2] = {INT64_MAX / 4, 4}, n;
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    cr_assert_eq(cf_run_prepare(c, 0, NULL, NULL, &r), CF_ERR_VALUE);
    cr_assert(strstr(cf_error_last()->message, "Fusion is empty"));
    cr_assert_eq(cf_tensor_nbytes(CF_DTYPE_FLOAT, 2, shape, &n), CF_ERR_OVERFLOW);
    cf_cache_free(c);
    cf_fusion_release(f);
}

Test(exec, a_changed_fusion_is_lowered_again)
{
    cf_fusion *f = chain();
    cf_cache *c;
    float a[4] = {1, 2, 3, 4}, out[4];
    cf_arg args[2] = {vec_arg(a, 4), vec_arg(a, 4)};
    cf_id y, in[2];
    int i;
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    cr_assert_eq(run(c, 2, args, out, 4), CF_OK);
    in[0] = cf_fusion_input(f, 0);
    in[1] = cf_fusion_input(f, 1);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_SUB, 2, in, &y), CF_OK);
    cr_assert_eq(cf_fusion_add_output(f, y), CF_OK);
    {
        cf_run *r;
        float o2[4];
        cr_assert_eq(cf_run_prepare(c, 2, args, NULL, &r), CF_OK);
        cr_assert_eq(cf_run_num_outputs(r), 2);
        cr_assert_eq(cf_run_set_output(r, 0, out, NULL), CF_OK);
        cr_assert_eq(cf_run_set_output(r, 1, o2, NULL), CF_OK);
        cr_assert_eq(cf_run_execute(r), CF_OK);
        cf_run_free(r);
        for (i = 0; i < 4; i++)
            cr_assert_float_eq(o2[i], 0.0f, 0.0f);
    }
    cf_cache_free(c);
    cf_fusion_release(f);
}

/* cf_fusion_alias_output: the marks a run reports, the checks at definition
 * and at prepare, the output order, and the fingerprint. */
Test(exec, aliased_outputs_are_reported_to_the_caller)
{
    cf_fusion *f = chain(), *g = chain();
    cf_id a = cf_fusion_input(f, 0), b = cf_fusion_input(f, 1), t3 = cf_fusion_output(f, 0), neg;
    cf_cache *c;
    cf_run *r;
    float x[4] = {1, 2, 3, 4}, y[4] = {1, 1, 1, 1}, o0[4], o1[4], o2[4];
    cf_arg args[2] = {vec_arg(x, 4), vec_arg(y, 4)};
    bool vis;
    int same;
    uint64_t h1, h2;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_NEG, 1, &a, &neg), CF_OK);
    /* errors: not an input, an input twice, an output twice */
    cr_assert_eq(cf_fusion_alias_output(f, neg, t3), CF_ERR_VALUE);
    cr_assert_eq(cf_fusion_alias_output(f, neg, a), CF_OK);
    cr_assert_eq(cf_fusion_alias_output(f, t3, a), CF_ERR_VALUE);
    cr_assert_eq(cf_fusion_alias_output(f, neg, b), CF_ERR_VALUE);
    cr_assert_eq(cf_fusion_num_outputs(f), 2);
    cr_assert_eq(cf_fusion_output_alias(f, 1, &vis), 0);
    cr_assert(!vis);
    cr_assert_eq(cf_fusion_output_alias(f, 0, &vis), -1);
    cr_assert(vis);
    cr_assert_eq(cf_fusion_output_alias(f, 7, &vis), -1);
    /* the same structure without the alias is a different fusion */
    cr_assert_eq(cf_op_pointwise(g, CF_OP_NEG, 1, &a, &neg), CF_OK);
    cr_assert_eq(cf_fusion_add_output(g, neg), CF_OK);
    cr_assert_eq(cf_fusion_hash(f, &h1), CF_OK);
    cr_assert_eq(cf_fusion_hash(g, &h2), CF_OK);
    cr_assert_neq(h1, h2);
    /* made visible: it moves to the end, keeps its alias */
    cr_assert_eq(cf_fusion_add_output(f, neg), CF_OK);
    cr_assert_eq(cf_fusion_output(f, 1), neg);
    cr_assert_eq(cf_fusion_output_alias(f, 1, &vis), 0);
    cr_assert(vis);
    /* once more: a second entry, returned again */
    cr_assert_eq(cf_fusion_add_output(f, neg), CF_OK);
    cr_assert_eq(cf_fusion_num_outputs(f), 3);
    cr_assert_eq(cf_fusion_output_alias(f, 2, &vis), -1);
    cr_assert(vis);
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    cr_assert_eq(cf_run_prepare(c, 2, args, NULL, &r), CF_OK);
    cr_assert_eq(cf_run_output_alias(r, 1, &vis, &same), 0);
    cr_assert(vis);
    cr_assert_eq(same, -1);
    cr_assert_eq(cf_run_output_alias(r, 0, NULL, &same), -1);
    /* the second entry of neg returns the input neg is written into */
    cr_assert_eq(cf_run_output_alias(r, 2, &vis, &same), -1);
    cr_assert(vis);
    cr_assert_eq(same, 0);
    cr_assert_eq(cf_run_set_output(r, 0, o0, NULL), CF_OK);
    cr_assert_eq(cf_run_set_output(r, 1, o1, NULL), CF_OK);
    cr_assert_eq(cf_run_set_output(r, 2, o2, NULL), CF_OK);
    cr_assert_eq(cf_run_execute(r), CF_OK);
    cr_assert_float_eq(o1[2], -3.0f, 0);
    cr_assert_float_eq(o2[2], -3.0f, 0);
    cr_assert_float_eq(x[2], 3.0f, 0); /* the core writes no input */
    cf_run_free(r);
    cf_cache_free(c);
    cf_fusion_release(f);
    cf_fusion_release(g);
}

Test(exec, an_alias_of_another_shape_is_refused_at_prepare)
{
    int64_t shape[2] = {-1, -1}, bshape[2] = {-1, 1};
    cf_fusion *f = cf_fusion_new();
    cf_id a, b, in[2], sum, t;
    cf_cache *c;
    cf_run *r = NULL;
    float x[6] = {0}, y[2] = {0};
    cf_arg args[2];
    cr_assert_eq(cf_define_tensor(f, 2, shape, NULL, CF_DTYPE_FLOAT, NULL, &a), CF_OK);
    cr_assert_eq(cf_define_tensor(f, 2, bshape, NULL, CF_DTYPE_FLOAT, NULL, &b), CF_OK);
    in[0] = a; in[1] = b;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_ADD, 2, in, &sum), CF_OK);
    cr_assert_eq(cf_fusion_alias_output(f, sum, b), CF_OK);
    /* a scalar or a value of another dtype cannot be the target */
    cr_assert_eq(cf_op_cast(f, sum, CF_DTYPE_DOUBLE, &t), CF_OK);
    cr_assert_eq(cf_fusion_alias_output(f, t, a), CF_ERR_VALUE);
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    memset(args, 0, sizeof args);
    args[0] = vec_arg(x, 3);
    args[0].tensor.ndim = 2; args[0].tensor.shape[1] = 2; args[0].tensor.strides[0] = 2; args[0].tensor.strides[1] = 1;
    args[1] = vec_arg(y, 3);
    args[1].tensor.ndim = 2; args[1].tensor.shape[0] = 3; args[1].tensor.shape[1] = 1; args[1].tensor.strides[0] = 1; args[1].tensor.strides[1] = 1;
    cr_assert_eq(cf_run_prepare(c, 2, args, NULL, &r), CF_ERR_VALUE);
    cr_assert_null(r);
    cr_assert(strstr(cf_error_last()->message, "shape differs") != NULL, "%s", cf_error_last()->message);
    cf_cache_free(c);
    cf_fusion_release(f);
}
