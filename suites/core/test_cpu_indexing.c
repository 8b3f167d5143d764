/* test_cpu_indexing.c - where the CPU planner puts GATHER and SCATTER:
 * a gather is a step of the segment that consumes it (its value never
 * reaches memory), its source is in memory, a scatter is a segment of its
 * own; and an index out of range fails the run with CF_ERR_INDEX. */
#include <criterion/criterion.h>

#include "indexing_progs.h"
#include "cpu/engine.h"

static void plan(tprog *t, cf_cpu_plan *pl)
{
    memset(pl, 0, sizeof *pl);
    pl->p = &t->p;
    pl->vals = t->vals;
    pl->k = cf_cpu_kernels();
    pl->nthreads = 1;
    cr_assert_eq(cf_cpu_plan_build(pl), CF_OK, "%s", cf_error_last()->message);
}

Test(cpu_indexing, a_gather_of_an_input_runs_in_its_consumers_segment)
{
    tprog t;
    cf_cpu_plan pl;
    int g, x, i;
    tp_init(&t);
    prog_select_exp(&t, &g, &x, &i);
    for (int64_t k = 0; k < 64 * 33; k++)
        tp_set(CF_DTYPE_FLOAT, t.vals[x].data, k, (double)k / 100.0);
    for (int64_t k = 0; k < 17; k++)
        tp_seti(CF_DTYPE_INT, t.vals[i].data, k, (k * 37) % 64);
    plan(&t, &pl);
    cr_assert_eq(pl.nsegs, 1);
    cr_assert_eq(pl.segs[0].kind, SEG_PW);
    cr_assert_eq(pl.si[g].mat, 0, "the gathered values stay in scratch");
    cf_cpu_plan_release(&pl);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 2), CF_OK);
    int o = t.p.outputs[0];
    for (int64_t r = 0; r < 17; r++)
        for (int64_t c = 0; c < 33; c++) {
            double want = exp((double)((r * 37) % 64 * 33 + c) / 100.0);
            cr_assert_float_eq(tp_get(CF_DTYPE_FLOAT, t.vals[o].data, r * 33 + c), want, want * 1e-5);
        }
    tp_free(&t);
}

Test(cpu_indexing, a_computed_source_is_stored_and_the_gather_joins_the_next_segment)
{
    tprog t;
    cf_cpu_plan pl;
    int a, g;
    tp_init(&t);
    prog_add_take_mul(&t, &a, &g);
    plan(&t, &pl);
    cr_assert_eq(pl.nsegs, 2);
    cr_assert_eq(pl.si[a].mat, 1, "the source is read anywhere: it needs memory");
    cr_assert_eq(pl.si[g].mat, 0);
    cr_assert_eq(pl.seg_of[1], pl.seg_of[2], "gather and mul share a segment");
    cr_assert_neq(pl.seg_of[0], pl.seg_of[1]);
    cf_cpu_plan_release(&pl);
    tp_free(&t);
}

Test(cpu_indexing, a_scatter_is_a_segment_of_its_own)
{
    tprog t;
    cf_cpu_plan pl;
    int sc;
    tp_init(&t);
    prog_neg_scatter_abs(&t, &sc);
    for (int64_t k = 0; k < 15; k++)
        tp_seti(CF_DTYPE_INT, t.vals[1].data, k, k / 5 * 3); /* rows 0, 3, 6 */
    plan(&t, &pl);
    cr_assert_eq(pl.nsegs, 3);
    cr_assert_eq(pl.segs[0].kind, SEG_PW);
    cr_assert_eq(pl.segs[1].kind, SEG_SCATTER);
    cr_assert_eq(pl.segs[2].kind, SEG_PW);
    cr_assert_eq(pl.si[sc].mat, 1);
    cf_cpu_plan_release(&pl);
    for (int64_t k = 0; k < 45; k++)
        tp_set(CF_DTYPE_FLOAT, t.vals[0].data, k, (double)k);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    int o = t.p.outputs[0];
    for (int64_t k = 0; k < 45; k++) {
        double want = (k / 5) % 3 == 0 ? 1.5 : (double)k;
        cr_assert_float_eq(tp_get(CF_DTYPE_FLOAT, t.vals[o].data, k), want, 1e-6, "element %lld", (long long)k);
    }
    tp_free(&t);
}

Test(cpu_indexing, an_index_out_of_range_fails_the_run_on_any_thread)
{
    for (int bad = 0; bad < 2; bad++) {
        tprog t;
        int g, x, i;
        tp_init(&t);
        prog_select_exp(&t, &g, &x, &i);
        for (int64_t k = 0; k < 17; k++)
            tp_seti(CF_DTYPE_INT, t.vals[i].data, k, k);
        tp_seti(CF_DTYPE_INT, t.vals[i].data, 16, bad ? -3 : 64);
        cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 2), CF_ERR_INDEX);
        cr_assert(strstr(cf_error_last()->message, bad ? "index -3 is out of bounds" : "index 64 is out of bounds"),
                  "%s", cf_error_last()->message);
        tp_seti(CF_DTYPE_INT, t.vals[i].data, 16, 63);
        cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 2), CF_OK, "the cached plan runs good indices");
        tp_free(&t);
    }
}
