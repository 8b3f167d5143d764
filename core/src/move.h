/* move.h - the geometry of SLICE, PAD and CAT instructions (program.h) for
 * bound slot values, shared by binding and both executors so that they
 * agree on every index. */
#ifndef CFUSER_MOVE_H
#define CFUSER_MOVE_H

#include "cfuser/program.h"

static inline bool cf_move_op(cf_opcode op)
{
    return op == CF_OP_SLICE || op == CF_OP_PAD || op == CF_OP_CAT;
}

static inline int64_t cf_move_int(const cf_scalar *s)
{
    if (cf_dtype_is_float(s->dtype))
        return (int64_t)s->v.f;
    if (cf_dtype_is_bool(s->dtype))
        return s->v.b;
    return s->v.i;
}

/* Python's normalisation of [start, end) with a positive step over a dim
 * of n elements: the first index taken (in *first) and the count. */
static inline int64_t cf_move_slice_len(int64_t start, int64_t end, int64_t step, int64_t n, int64_t *first)
{
    if (start < 0)
        start = start + n < 0 ? 0 : start + n;
    if (start > n)
        start = n;
    if (end < 0)
        end = end + n < 0 ? 0 : end + n;
    if (end > n)
        end = n;
    *first = start;
    return end <= start ? 0 : (end - start + step - 1) / step;
}

/* The input index that output index 0 along `dim` reads, minus nothing:
 * SLICE: its first element; PAD: -lo (output i reads input i - lo); CAT:
 * 0 (each input k starts at cf_move_cat_offset). */
static inline int64_t cf_move_first(const cf_prog_instr *ins, const cf_slot_value *vals)
{
    int64_t n = vals[ins->in[0]].shape[ins->dim], first = 0;
    if (ins->op == CF_OP_PAD)
        return -cf_move_int(&vals[ins->in[1]].scalar);
    if (ins->op != CF_OP_SLICE)
        return 0;
    if (ins->manual == 2) {
        int64_t i = cf_move_int(&vals[ins->in[1]].scalar);
        return i < 0 ? i + n : i;
    }
    if (ins->manual == 1)
        return cf_move_int(&vals[ins->in[1]].scalar);
    (void)cf_move_slice_len(cf_move_int(&vals[ins->in[1]].scalar), cf_move_int(&vals[ins->in[2]].scalar),
                            ins->step, n, &first);
    return first;
}

/* Where input k of a CAT starts along `dim`. */
static inline int64_t cf_move_cat_offset(const cf_prog_instr *ins, const cf_slot_value *vals, int k)
{
    int64_t off = 0;
    for (int j = 0; j < k; j++) off += vals[ins->in[j]].shape[ins->dim];
    return off;
}

#endif
