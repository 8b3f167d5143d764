/* test_ir.c - core's C API for building fusions: definitions, ops, type
 * promotion, the textual form, error records and rollback on failure. */
#include <criterion/criterion.h>
#include <pthread.h>
#include <string.h>

#include "cfuser/cfuser.h"

static cf_fusion *f;

static void setup(void) { f = cf_fusion_new(); cr_assert_not_null(f); }
static void teardown(void) { cf_fusion_release(f); }

TestSuite(ir, .init = setup, .fini = teardown);

static cf_id tensor(int ndim, const int64_t *shape, cf_dtype t)
{
    cf_id id;
    cr_assert_eq(cf_define_tensor(f, ndim, shape, NULL, t, NULL, &id), CF_OK, "%s", cf_error_last()->message);
    return id;
}

static cf_id constant_f(double v)
{
    cf_scalar s = {.dtype = CF_DTYPE_DOUBLE, .v.f = v};
    cf_id id;
    cr_assert_eq(cf_fusion_constant(f, &s, &id), CF_OK);
    return id;
}

Test(ir, define_tensor_makes_symbolic_broadcast_and_fixed_axes)
{
    int64_t shape[3] = {-1, 1, 5};
    cf_id t = tensor(3, shape, CF_DTYPE_FLOAT);
    char buf[256];
    cr_assert_eq(cf_val_kind_of(f, t), CF_VAL_TENSOR);
    cr_assert_eq(cf_tensor_ndim(f, t), 3);
    cr_assert_eq(cf_iterdomain_type(f, cf_tensor_axis(f, t, 0)), CF_ITER_ITERATION);
    cr_assert_eq(cf_iterdomain_type(f, cf_tensor_axis(f, t, 1)), CF_ITER_BROADCAST);
    cr_assert(cf_val_is_symbolic(f, cf_iterdomain_extent(f, cf_tensor_axis(f, t, 0))));
    cr_assert_not(cf_val_is_symbolic(f, cf_iterdomain_extent(f, cf_tensor_axis(f, t, 2))));
    cr_assert(cf_fusion_is_input(f, t));
    cf_val_to_string(f, t, buf, sizeof buf);
    cr_assert_str_eq(buf, "T0_g_float[iS0{i0}, bS1{1}, iS2{5}]");
}

Test(ir, pointwise_promotion_follows_nvfuser)
{
    int64_t shape[1] = {-1};
    cf_id a = tensor(1, shape, CF_DTYPE_HALF), b = tensor(1, shape, CF_DTYPE_BFLOAT16);
    cf_id i = tensor(1, shape, CF_DTYPE_INT32), out, in[2];
    in[0] = a; in[1] = b;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_ADD, 2, in, &out), CF_OK);
    cr_assert_eq(cf_val_dtype(f, out), CF_DTYPE_FLOAT, "Half + BFloat16 is Float");
    in[0] = i; in[1] = constant_f(0.5);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_MUL, 2, in, &out), CF_OK);
    cr_assert_eq(cf_val_dtype(f, out), CF_DTYPE_FLOAT, "Int32 tensor * double scalar is Float");
    in[0] = a; in[1] = constant_f(2.0);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_MUL, 2, in, &out), CF_OK);
    cr_assert_eq(cf_val_dtype(f, out), CF_DTYPE_HALF, "a scalar does not widen a tensor");
    in[0] = i;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_EXP, 1, in, &out), CF_OK);
    cr_assert_eq(cf_val_dtype(f, out), CF_DTYPE_FLOAT, "exp of an int is Float");
    in[0] = a; in[1] = b;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_LT, 2, in, &out), CF_OK);
    cr_assert_eq(cf_val_dtype(f, out), CF_DTYPE_BOOL);
}

Test(ir, type_errors_leave_the_fusion_unchanged)
{
    int64_t shape[1] = {-1};
    cf_id a = tensor(1, shape, CF_DTYPE_FLOAT), out, in[2] = {a, a};
    int nv = cf_fusion_num_vals(f), ne = cf_fusion_num_exprs(f), ni = cf_fusion_num_iterdomains(f);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_BITWISE_AND, 2, in, &out), CF_ERR_TYPE);
    cr_assert(strstr(cf_error_last()->message, "bitwise_and"), "%s", cf_error_last()->message);
    cr_assert_eq(cf_error_last()->kind, CF_ERR_TYPE);
    cr_assert_eq(cf_fusion_num_vals(f), nv);
    cr_assert_eq(cf_fusion_num_exprs(f), ne);
    cr_assert_eq(cf_fusion_num_iterdomains(f), ni);
}

Test(ir, rank_and_static_size_mismatches_are_value_errors)
{
    int64_t s1[1] = {-1}, s2[2] = {-1, -1}, s3[1] = {3}, s4[1] = {4};
    cf_id in[2], out;
    in[0] = tensor(1, s1, CF_DTYPE_FLOAT);
    in[1] = tensor(2, s2, CF_DTYPE_FLOAT);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_ADD, 2, in, &out), CF_ERR_VALUE);
    cr_assert(strstr(cf_error_last()->message, "ranks"));
    in[0] = tensor(1, s3, CF_DTYPE_FLOAT);
    in[1] = tensor(1, s4, CF_DTYPE_FLOAT);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_ADD, 2, in, &out), CF_ERR_VALUE);
    cr_assert(strstr(cf_error_last()->message, "broadcast"));
}

Test(ir, reductions_keep_reduced_axes_and_check_dims)
{
    int64_t shape[2] = {-1, -1}, dims[1] = {-1}, bad[1] = {2}, dup[2] = {0, -2};
    cf_id x = tensor(2, shape, CF_DTYPE_FLOAT), s, v, m;
    cr_assert_eq(cf_op_reduce(f, CF_OP_SUM, x, 1, dims, false, CF_DTYPE_NULL, &s), CF_OK);
    cr_assert_eq(cf_tensor_ndim(f, s), 2);
    cr_assert_eq(cf_tensor_ndim_noreduction(f, s), 1);
    cr_assert_eq(cf_iterdomain_type(f, cf_tensor_axis(f, s, 1)), CF_ITER_REDUCTION);
    cr_assert_eq(cf_op_reduce(f, CF_OP_SUM, x, 1, bad, false, CF_DTYPE_NULL, &s), CF_ERR_INDEX);
    cr_assert_eq(cf_op_reduce(f, CF_OP_MAX, x, 2, dup, false, CF_DTYPE_NULL, &s), CF_ERR_VALUE);
    cr_assert_eq(cf_op_var_mean(f, x, 1, dims, 1, true, &v, &m), CF_OK);
    cr_assert_eq(cf_tensor_ndim_noreduction(f, v), 2, "keepdim re-inserts the axis as a broadcast");
    cr_assert_eq(cf_op_var(f, x, 1, dims, -1, false, &v), CF_ERR_VALUE);
}

Test(ir, shape_ops_check_their_arguments)
{
    int64_t shape[2] = {2, 3}, perm_bad[2] = {0, 0}, perm[2] = {1, 0};
    cf_scalar six = {.dtype = CF_DTYPE_INT, .v.i = 6}, five = {.dtype = CF_DTYPE_INT, .v.i = 5};
    cf_id x = tensor(2, shape, CF_DTYPE_FLOAT), s6, s5, out;
    cr_assert_eq(cf_fusion_constant(f, &six, &s6), CF_OK);
    cr_assert_eq(cf_fusion_constant(f, &five, &s5), CF_OK);
    cr_assert_eq(cf_op_reshape(f, x, 1, &s6, &out), CF_OK);
    cr_assert_eq(cf_op_reshape(f, x, 1, &s5, &out), CF_ERR_VALUE);
    cr_assert(strstr(cf_error_last()->message, "6 elements"), "%s", cf_error_last()->message);
    cr_assert_eq(cf_op_permute(f, x, 2, perm_bad, &out), CF_ERR_VALUE);
    cr_assert_eq(cf_op_permute(f, x, 2, perm, &out), CF_OK);
    cr_assert_eq(cf_iterdomain_extent(f, cf_tensor_axis(f, out, 0)),
                 cf_iterdomain_extent(f, cf_tensor_axis(f, x, 1)));
}

Test(ir, outputs_are_checked_and_printed)
{
    int64_t shape[1] = {-1};
    cf_id x = tensor(1, shape, CF_DTYPE_FLOAT), y, in[2];
    char *text;
    in[0] = x; in[1] = constant_f(0.5);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_MUL, 2, in, &y), CF_OK);
    cr_assert_eq(cf_fusion_add_output(f, y), CF_OK);
    cr_assert_eq(cf_fusion_add_output(f, y), CF_OK, "an output added twice is returned twice (nvFuser)");
    cr_assert_eq(cf_fusion_num_outputs(f), 2);
    cr_assert_eq(cf_fusion_add_output(f, in[1]), CF_ERR_VALUE, "a constant is no output");
    cr_assert_eq(cf_fusion_print_math(f, &text), CF_OK);
    cr_assert(strstr(text, "T0_g_float[iS0{i0}]"), "%s", text);
    cr_assert(strstr(text, "%kernel_math {"), "%s", text);
    cr_assert(strstr(text, "double(0.5)"), "%s", text);
    cf_free(text);
}

Test(ir, unsupported_dtypes_say_so)
{
    int64_t shape[1] = {-1};
    cf_id id;
    cr_assert_eq(cf_define_tensor(f, 1, shape, NULL, CF_DTYPE_COMPLEX_FLOAT, NULL, &id), CF_ERR_UNSUPPORTED);
    cr_assert(strstr(cf_error_last()->message, "not supported yet"));
    cr_assert_eq(cf_fusion_num_vals(f), 0);
}

/* Node arrays of a released fusion are reused by the next one on the same
 * thread: the new fusion must start empty and behave as a fresh one. */
static void *build_big(void *arg)
{
    int64_t shape[1] = {-1};
    int round, k;
    (void)arg;
    for (round = 0; round < 3; round++) {
        cf_fusion *g = cf_fusion_new();
        cf_id a, b, in[2];
        char buf[128];
        cr_assert_not_null(g);
        cr_assert_eq(cf_fusion_num_vals(g), 0);
        cr_assert_eq(cf_fusion_num_exprs(g), 0);
        cr_assert_eq(cf_define_tensor(g, 1, shape, NULL, CF_DTYPE_FLOAT, NULL, &a), CF_OK);
        cf_val_to_string(g, a, buf, sizeof buf);
        cr_assert_str_eq(buf, "T0_g_float[iS0{i0}]");
        for (k = 0; k < 5000; k++) {
            in[0] = a; in[1] = a;
            cr_assert_eq(cf_op_pointwise(g, CF_OP_ADD, 2, in, &b), CF_OK);
            a = b;
        }
        cr_assert_eq(cf_fusion_num_exprs(g), 5000);
        cr_assert_eq(cf_val_definition(g, cf_fusion_input(g, 0)), CF_NO_ID);
        cf_fusion_release(g);
    }
    return NULL;
}

Test(ir, released_arrays_are_reused_cleanly_across_threads)
{
    pthread_t t[3];
    int i;
    build_big(NULL);
    for (i = 0; i < 3; i++)
        cr_assert_eq(pthread_create(&t[i], NULL, build_big, NULL), 0);
    for (i = 0; i < 3; i++)
        pthread_join(t[i], NULL);
}
