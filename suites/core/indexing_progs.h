/* indexing_progs.h - the programs of the indexing plan suites
 * (test_cpu_indexing.c, test_cuda_indexing.c): GATHER and SCATTER beside
 * pointwise work, built by hand. */
#ifndef CFUSER_INDEXING_PROGS_H
#define CFUSER_INDEXING_PROGS_H

#include "test_cpu_util.h"

/* exp(index_select(x, i, 0)); x an input. Slots: *g the gather's value. */
static inline void prog_select_exp(tprog *t, int *g, int *x, int *i)
{
    int64_t sh[2] = {64, 33}, ish[1] = {17}, vsh[2] = {17, 1}, osh[2] = {17, 33};
    *x = tp_in(t, CF_DTYPE_FLOAT, 2, sh);
    *i = tp_in(t, CF_DTYPE_INT, 1, ish);
    int v = tp_tmp(t, CF_DTYPE_INT, 2, vsh);
    int8_t map[2] = {0, -1};
    t->slots[v].bcast_mask = 2;
    tp_view(t, *i, v, map);
    *g = tp_tmp(t, CF_DTYPE_FLOAT, 2, osh);
    int o = tp_out(t, CF_DTYPE_FLOAT, 2, osh), in[2] = {*x, v};
    cf_prog_instr *ins = tp_op(t, CF_OP_GATHER, CF_DTYPE_FLOAT, 2, in, *g);
    ins->map[0] = -1;
    ins->map[1] = 1;
    ins->correction = 0;
    tp_op1(t, CF_OP_EXP, CF_DTYPE_FLOAT, *g, o);
}

/* take_along_axis(x + y, i, 1) * 2: the source is computed first. */
static inline void prog_add_take_mul(tprog *t, int *a, int *g)
{
    int64_t sh[2] = {40, 50}, ish[2] = {40, 7};
    int x = tp_in(t, CF_DTYPE_FLOAT, 2, sh), y = tp_in(t, CF_DTYPE_FLOAT, 2, sh);
    int i = tp_in(t, CF_DTYPE_INT32, 2, ish);
    *a = tp_tmp(t, CF_DTYPE_FLOAT, 2, sh);
    *g = tp_tmp(t, CF_DTYPE_FLOAT, 2, ish);
    int two = tp_constf(t, CF_DTYPE_FLOAT, 2.0), o = tp_out(t, CF_DTYPE_FLOAT, 2, ish);
    tp_op2(t, CF_OP_ADD, CF_DTYPE_FLOAT, x, y, *a);
    int in[2] = {*a, i};
    cf_prog_instr *ins = tp_op(t, CF_OP_GATHER, CF_DTYPE_FLOAT, 2, in, *g);
    ins->map[0] = 0;
    ins->map[1] = -1;
    ins->correction = 1;
    tp_op2(t, CF_OP_MUL, CF_DTYPE_FLOAT, *g, two, o);
}

/* abs(scatter(-x, i, 1.5, 0)). */
static inline void prog_neg_scatter_abs(tprog *t, int *sc)
{
    int64_t sh[2] = {9, 5}, ish[2] = {3, 5};
    int x = tp_in(t, CF_DTYPE_FLOAT, 2, sh), i = tp_in(t, CF_DTYPE_INT, 2, ish);
    int a = tp_tmp(t, CF_DTYPE_FLOAT, 2, sh), s = tp_constf(t, CF_DTYPE_FLOAT, 1.5);
    *sc = tp_tmp(t, CF_DTYPE_FLOAT, 2, sh);
    int o = tp_out(t, CF_DTYPE_FLOAT, 2, sh), in[3] = {a, i, s};
    tp_op1(t, CF_OP_NEG, CF_DTYPE_FLOAT, x, a);
    tp_op(t, CF_OP_SCATTER, CF_DTYPE_FLOAT, 3, in, *sc)->correction = 0;
    tp_op1(t, CF_OP_ABS, CF_DTYPE_FLOAT, *sc, o);
}

#endif
