/* test_fusion_hash.c - cf_fusion_hash and cf_fusion_equal: the structural
 * identity that executor caches key on. */
#include <criterion/criterion.h>

#include "cfuser/cfuser.h"

/* x * scale, summed over dim; the output marked. */
static cf_fusion *build(double scale, int64_t dim, cf_dtype t)
{
    cf_fusion *f = cf_fusion_new();
    int64_t shape[2] = {-1, -1};
    cf_scalar s = {.dtype = CF_DTYPE_DOUBLE, .v.f = scale};
    cf_id x, c, in[2], y, r;
    cr_assert_not_null(f);
    cr_assert_eq(cf_define_tensor(f, 2, shape, NULL, t, NULL, &x), CF_OK);
    cr_assert_eq(cf_fusion_constant(f, &s, &c), CF_OK);
    in[0] = x;
    in[1] = c;
    cr_assert_eq(cf_op_pointwise(f, CF_OP_MUL, 2, in, &y), CF_OK);
    cr_assert_eq(cf_op_reduce(f, CF_OP_SUM, y, 1, &dim, false, CF_DTYPE_NULL, &r), CF_OK);
    cr_assert_eq(cf_fusion_add_output(f, r), CF_OK);
    return f;
}

static bool same(cf_fusion *a, cf_fusion *b)
{
    bool eq = false;
    uint64_t ha, hb;
    cr_assert_eq(cf_fusion_equal(a, b, &eq), CF_OK);
    cr_assert_eq(cf_fusion_hash(a, &ha), CF_OK);
    cr_assert_eq(cf_fusion_hash(b, &hb), CF_OK);
    if (eq)
        cr_assert_eq(ha, hb, "equal fusions must hash alike");
    else
        cr_expect_neq(ha, hb);
    return eq;
}

Test(fusion_hash, equal_definitions_are_equal)
{
    cf_fusion *a = build(2.0, 1, CF_DTYPE_FLOAT), *b = build(2.0, 1, CF_DTYPE_FLOAT);
    cr_assert(same(a, b));
    cr_assert(same(a, a));
    cf_fusion_release(a);
    cf_fusion_release(b);
}

Test(fusion_hash, constants_dims_and_dtypes_count)
{
    cf_fusion *a = build(2.0, 1, CF_DTYPE_FLOAT);
    cf_fusion *others[4] = {build(3.0, 1, CF_DTYPE_FLOAT), build(2.0, 0, CF_DTYPE_FLOAT),
                            build(2.0, 1, CF_DTYPE_DOUBLE), build(-0.0, 1, CF_DTYPE_FLOAT)};
    int i;
    for (i = 0; i < 4; i++) {
        cr_assert_not(same(a, others[i]), "variant %d", i);
        cf_fusion_release(others[i]);
    }
    cf_fusion_release(a);
}

Test(fusion_hash, zero_and_negative_zero_differ)
{
    cf_fusion *a = build(0.0, 1, CF_DTYPE_FLOAT), *b = build(-0.0, 1, CF_DTYPE_FLOAT);
    cr_assert_not(same(a, b));
    cf_fusion_release(a);
    cf_fusion_release(b);
}

Test(fusion_hash, a_new_output_breaks_equality)
{
    cf_fusion *a = build(2.0, 1, CF_DTYPE_FLOAT), *b = build(2.0, 1, CF_DTYPE_FLOAT);
    cf_id neg, x = cf_fusion_input(b, 0);
    cr_assert_eq(cf_op_pointwise(b, CF_OP_NEG, 1, &x, &neg), CF_OK);
    /* every node counts, used or not: a miss, never a wrong hit */
    cr_assert_not(same(a, b));
    cr_assert_eq(cf_fusion_add_output(b, neg), CF_OK);
    cr_assert_not(same(a, b));
    cf_fusion_release(a);
    cf_fusion_release(b);
}

Test(fusion_hash, empty_fusions_are_equal)
{
    cf_fusion *a = cf_fusion_new(), *b = cf_fusion_new();
    cr_assert(same(a, b));
    cf_fusion_release(a);
    cf_fusion_release(b);
}
