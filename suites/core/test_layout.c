/* test_layout.c - core's C API for output layout (cf_fusion_alloc_order,
 * cf_run_output_strides, cf_op_stride_order), sizes computed by scalar
 * arithmetic, and the code text of a run (cf_run_source). */
#include <criterion/criterion.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "cfuser/cfuser.h"

static cf_arg arg3(float *data, int64_t a, int64_t b, int64_t c, const int64_t *strides)
{
    cf_arg x;
    memset(&x, 0, sizeof x);
    x.is_tensor = true;
    x.tensor.data = data;
    x.tensor.dtype = CF_DTYPE_FLOAT;
    x.tensor.ndim = 3;
    x.tensor.device = CF_DEVICE_CPU;
    x.tensor.shape[0] = a;
    x.tensor.shape[1] = b;
    x.tensor.shape[2] = c;
    memcpy(x.tensor.strides, strides, 3 * sizeof *strides);
    return x;
}

Test(layout, orders_follow_inputs_permute_and_stride_order)
{
    int64_t shape[3] = {-1, -1, -1}, so[3] = {0, 2, 1}, perm[3] = {2, 0, 1}, mine[3] = {2, 1, 0};
    cf_fusion *f = cf_fusion_new();
    cf_id a, b, neg, p, s, r, in[2];
    int8_t ord[CF_MAX_DIMS];
    int n;
    cr_assert_eq(cf_define_tensor(f, 3, shape, NULL, CF_DTYPE_FLOAT, so, &a), CF_OK);
    cr_assert_eq(cf_define_tensor(f, 3, shape, NULL, CF_DTYPE_FLOAT, NULL, &b), CF_OK);
    in[0] = a;
    in[1] = b;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_ADD, 2, in, &neg), CF_OK);
    cr_assert_eq(cf_op_permute(f, neg, 3, perm, &p), CF_OK);
    cr_assert_eq(cf_op_stride_order(f, b, 3, mine, &s), CF_OK);
    cr_assert_eq(cf_op_reduce(f, CF_OP_SUM, a, 1, (int64_t[]){1}, false, CF_DTYPE_NULL, &r), CF_OK);
    /* stride_order {0, 2, 1}: axis 1 outermost, then 2, then 0 */
    cr_assert_eq(cf_fusion_alloc_order(f, a, ord, &n), CF_OK);
    cr_assert(n == 3 && ord[0] == 1 && ord[1] == 2 && ord[2] == 0);
    cr_assert_eq(cf_fusion_alloc_order(f, neg, ord, &n), CF_OK); /* the first operand decides */
    cr_assert(ord[0] == 1 && ord[1] == 2 && ord[2] == 0);
    cr_assert_eq(cf_fusion_alloc_order(f, p, ord, &n), CF_OK); /* out d = in perm[d] */
    cr_assert(ord[0] == 2 && ord[1] == 0 && ord[2] == 1, "%d %d %d", ord[0], ord[1], ord[2]);
    cr_assert_eq(cf_fusion_alloc_order(f, s, ord, &n), CF_OK); /* {2, 1, 0}: row major */
    cr_assert(ord[0] == 0 && ord[1] == 1 && ord[2] == 2);
    cr_assert_eq(cf_fusion_alloc_order(f, r, ord, &n), CF_OK); /* reductions: row major */
    cr_assert(n == 2 && ord[0] == 0 && ord[1] == 1);
    cr_assert_eq(cf_fusion_alloc_order(f, 9999, ord, &n), CF_ERR_VALUE);
    cf_fusion_release(f);
}

Test(layout, stride_order_rejects_bad_orders_and_adds_nothing)
{
    int64_t shape[2] = {-1, -1}, dup[2] = {0, 0}, big[2] = {0, 2};
    cf_fusion *f = cf_fusion_new();
    cf_id a, out;
    int nv;
    cr_assert_eq(cf_define_tensor(f, 2, shape, NULL, CF_DTYPE_FLOAT, NULL, &a), CF_OK);
    nv = cf_fusion_num_vals(f);
    cr_assert_eq(cf_op_stride_order(f, a, 2, dup, &out), CF_ERR_VALUE);
    cr_assert_eq(cf_op_stride_order(f, a, 2, big, &out), CF_ERR_INDEX);
    cr_assert_eq(cf_op_stride_order(f, a, 1, dup, &out), CF_ERR_VALUE);
    cr_assert_eq(cf_fusion_num_vals(f), nv);
    cf_fusion_release(f);
}

Test(layout, a_run_gives_permuted_strides_and_writes_through_them)
{
    int64_t shape[3] = {-1, -1, -1}, perm[3] = {2, 0, 1}, st[3] = {12, 4, 1}, got[CF_MAX_DIMS];
    float x[24], out[24];
    cf_fusion *f = cf_fusion_new();
    cf_id a, p, m;
    cf_cache *c;
    cf_run *r;
    cf_arg in;
    int i, j, k;
    for (i = 0; i < 24; i++)
        x[i] = (float)i;
    cr_assert_eq(cf_define_tensor(f, 3, shape, NULL, CF_DTYPE_FLOAT, NULL, &a), CF_OK);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_NEG, 1, &a, &m), CF_OK);
    cr_assert_eq(cf_op_permute(f, m, 3, perm, &p), CF_OK);
    cr_assert_eq(cf_fusion_add_output(f, p), CF_OK);
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    in = arg3(x, 2, 3, 4, st);
    cr_assert_eq(cf_run_prepare(c, 1, &in, NULL, &r), CF_OK);
    cr_assert_eq(cf_run_output_strides(r, 0, got), CF_OK);
    /* result (4, 2, 3) is a view of a row-major (2, 3, 4): strides (1, 12, 4) */
    cr_assert(got[0] == 1 && got[1] == 12 && got[2] == 4, "%lld %lld %lld", (long long)got[0], (long long)got[1], (long long)got[2]);
    cr_assert_eq(cf_run_output_strides(r, 1, got), CF_ERR_INDEX);
    cf_run_output_strides(r, 0, got);
    cr_assert_eq(cf_run_set_output(r, 0, out, got), CF_OK);
    cr_assert_eq(cf_run_execute(r), CF_OK);
    cf_run_free(r);
    for (i = 0; i < 2; i++)
        for (j = 0; j < 3; j++)
            for (k = 0; k < 4; k++)
                cr_assert_eq(out[i * 12 + j * 4 + k], -x[i * 12 + j * 4 + k]); /* same memory order */
    cf_cache_free(c);
    cf_fusion_release(f);
}

Test(layout, sizes_from_scalar_arithmetic_bind_at_run_time)
{
    int64_t shape[3] = {-1, -1, -1}, st[3] = {12, 4, 1};
    float x[24], out[64];
    cf_fusion *f = cf_fusion_new();
    cf_id a, n, two, sz[2], fill, full, in[2];
    cf_scalar s2 = {.dtype = CF_DTYPE_INT, .v.i = 2}, half = {.dtype = CF_DTYPE_DOUBLE, .v.f = 0.5};
    cf_cache *c;
    cf_run *r;
    cf_arg arg;
    cr_assert_eq(cf_define_tensor(f, 3, shape, NULL, CF_DTYPE_FLOAT, NULL, &a), CF_OK);
    cr_assert_eq(cf_fusion_constant(f, &s2, &two), CF_OK);
    in[0] = cf_iterdomain_extent(f, cf_tensor_axis(f, a, 0));
    in[1] = two;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_MUL, 2, in, &n), CF_OK);  /* 2 * size(0) */
    sz[0] = n;
    sz[1] = cf_iterdomain_extent(f, cf_tensor_axis(f, a, 2));
    cr_assert_eq(cf_fusion_constant(f, &half, &fill), CF_OK);
    cr_assert_eq(cf_op_full(f, 2, sz, fill, CF_DTYPE_FLOAT, &full), CF_OK);
    cr_assert_eq(cf_fusion_add_output(f, full), CF_OK);
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    arg = arg3(x, 2, 3, 4, st);
    cr_assert_eq(cf_run_prepare(c, 1, &arg, NULL, &r), CF_OK);
    cr_assert(cf_run_output(r, 0)->shape[0] == 4 && cf_run_output(r, 0)->shape[1] == 4);
    cr_assert_eq(cf_run_set_output(r, 0, out, NULL), CF_OK);
    cr_assert_eq(cf_run_execute(r), CF_OK);
    cr_assert_eq(out[15], 0.5f);
    cf_run_free(r);
    cf_cache_free(c);
    cf_fusion_release(f);
}

Test(layout, run_source_lists_the_program_and_the_cuda_code)
{
    int64_t shape[3] = {-1, -1, -1}, st[3] = {12, 4, 1};
    float x[24];
    cf_fusion *f = cf_fusion_new();
    cf_id a, m;
    cf_cache *c;
    cf_run *r;
    cf_arg arg;
    char *text = NULL;
    cf_status s;
    cr_assert_eq(cf_define_tensor(f, 3, shape, NULL, CF_DTYPE_FLOAT, NULL, &a), CF_OK);
    cr_assert_eq(cf_op_pointwise(f, CF_OP_SIN, 1, &a, &m), CF_OK);
    cr_assert_eq(cf_fusion_add_output(f, m), CF_OK);
    cr_assert_eq(cf_cache_new(f, &c), CF_OK);
    arg = arg3(x, 2, 3, 4, st);
    cr_assert_eq(cf_run_prepare(c, 1, &arg, NULL, &r), CF_OK);
    cr_assert_eq(cf_run_source(r, CF_SOURCE_PROGRAM, -1, false, &text), CF_OK);
    cr_assert(strstr(text, "= sin(s0)") != NULL, "%s", text);
    cf_free(text);
    s = cf_run_source(r, CF_SOURCE_CUDA, -1, false, &text);
    cr_assert(s == CF_OK || s == CF_ERR_UNSUPPORTED);
    if (s == CF_OK) {
        cr_assert(strstr(text, "__global__") != NULL);
        cf_free(text);
    }
    cr_assert_eq(cf_run_source(r, (cf_source_kind)7, -1, false, &text), CF_ERR_VALUE);
    cf_run_free(r);
    cf_cache_free(c);
    cf_fusion_release(f);
}
