/* SLICE, PAD and CAT in the CPU executor, on hand-built programs: windows
 * folded into their consumers, one written straight to an output, and a
 * cached plan rebound to new scalar bounds with the same shapes. */
#include <criterion/criterion.h>

#include "cfuser/ops.h"
#include "cfuser/status.h"
#include "test_cpu_util.h"

static void ramp(tprog *t, int s)
{
    int64_t n = tp_numel(t->slots[s].ndim, t->vals[s].shape);
    for (int64_t i = 0; i < n; i++) tp_set(t->slots[s].dtype, t->vals[s].data, i, (double)i);
}

static cf_prog_instr *op_move(tprog *t, cf_opcode op, int nin, const int *in, int dim, int out)
{
    cf_prog_instr *ins = tp_op(t, op, t->slots[in[0]].dtype, nin, in, out);
    ins->dim = (int8_t)dim;
    ins->step = 1;
    return ins;
}

Test(cpu_movement, pad_written_straight_to_an_output)
{
    tprog t;
    tp_init(&t);
    int64_t sh[2] = {3, 4}, ps[2] = {3, 7};
    int x = tp_in(&t, CF_DTYPE_FLOAT, 2, sh), o = tp_out(&t, CF_DTYPE_FLOAT, 2, ps);
    int lo = tp_consti(&t, CF_DTYPE_INT, 2), hi = tp_consti(&t, CF_DTYPE_INT, 1);
    int fv = tp_constf(&t, CF_DTYPE_FLOAT, -1.0);
    ramp(&t, x);
    int in[4] = {x, lo, hi, fv};
    op_move(&t, CF_OP_PAD, 4, in, 1, o);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    for (int r = 0; r < 3; r++)
        for (int c = 0; c < 7; c++) {
            double want = c >= 2 && c < 6 ? (double)(r * 4 + c - 2) : -1.0;
            cr_assert_eq(tp_get(CF_DTYPE_FLOAT, t.vals[o].data, r * 7 + c), want, "[%d, %d]", r, c);
        }
    tp_free(&t);
}

/* out = 2 * slice(pad(cat(a, b), lo 1), start 1, step 2) along dim 0: one
 * window over a and b, read by the multiply. */
Test(cpu_movement, chain_folds_into_one_window)
{
    tprog t;
    tp_init(&t);
    int64_t as[1] = {5}, bs[1] = {4}, cs[1] = {9}, ps[1] = {10}, ss[1] = {5};
    int a = tp_in(&t, CF_DTYPE_INT, 1, as), b = tp_in(&t, CF_DTYPE_INT, 1, bs);
    int c = tp_tmp(&t, CF_DTYPE_INT, 1, cs), p = tp_tmp(&t, CF_DTYPE_INT, 1, ps);
    int s = tp_tmp(&t, CF_DTYPE_INT, 1, ss), o = tp_out(&t, CF_DTYPE_INT, 1, ss);
    int one = tp_consti(&t, CF_DTYPE_INT, 1), zero = tp_consti(&t, CF_DTYPE_INT, 0);
    int big = tp_consti(&t, CF_DTYPE_INT, 100), two = tp_consti(&t, CF_DTYPE_INT, 2);
    ramp(&t, a);
    ramp(&t, b);
    int ci[2] = {a, b}, pi[4] = {c, one, zero, zero}, si[3] = {p, one, big};
    op_move(&t, CF_OP_CAT, 2, ci, 0, c);
    op_move(&t, CF_OP_PAD, 4, pi, 0, p);
    op_move(&t, CF_OP_SLICE, 3, si, 0, s)->step = 2;
    tp_op2(&t, CF_OP_MUL, CF_DTYPE_INT, s, two, o);
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
    /* pad(cat) = [0, 0 1 2 3 4, 0 1 2 3]; from 1 step 2: 0 2 4 1 3 */
    static const int64_t want[5] = {0, 4, 8, 2, 6};
    for (int i = 0; i < 5; i++) cr_assert_eq(tp_geti(CF_DTYPE_INT, t.vals[o].data, i), want[i], "[%d]", i);
    tp_free(&t);
}

/* The plan is cached by shapes; a symbolic start that changes with the
 * shapes unchanged must move the window. */
Test(cpu_movement, cached_plan_takes_new_bounds)
{
    tprog t;
    tp_init(&t);
    int64_t xs[1] = {10}, ss[1] = {3};
    int x = tp_in(&t, CF_DTYPE_DOUBLE, 1, xs), s = tp_tmp(&t, CF_DTYPE_DOUBLE, 1, ss);
    int o = tp_out(&t, CF_DTYPE_DOUBLE, 1, ss);
    int st = tp_consti(&t, CF_DTYPE_INT, 0), end = tp_consti(&t, CF_DTYPE_INT, 100);
    t.slots[st].role = CF_SLOT_SCALAR;
    ramp(&t, x);
    int in[3] = {x, st, end};
    op_move(&t, CF_OP_SLICE, 3, in, 0, s)->manual = 0;
    tp_op1(&t, CF_OP_NEG, CF_DTYPE_DOUBLE, s, o);
    for (int64_t start = 0; start < 8; start += 3) {
        t.vals[st].scalar.v.i = start;
        cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK);
        for (int i = 0; i < 3; i++)
            cr_assert_eq(tp_get(CF_DTYPE_DOUBLE, t.vals[o].data, i), -(double)(start + i), "start %lld [%d]",
                         (long long)start, i);
    }
    tp_free(&t);
}
