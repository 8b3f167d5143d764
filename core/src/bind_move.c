/* bind_move.c - shapes of SLICE, PAD and CAT outputs for the bound
 * arguments, with the checks that only run-time values allow. */
#include <inttypes.h>

#include "move.h"
#include "plan.h"

/* A scalar operand whose value is a size computed earlier in this bind. */
static void refresh(const cf_plan *pl, const int64_t *symv, cf_slot_value *vals, int32_t s)
{
    const cf_prog_slot *sl = &pl->prog->slots[s];
    if (sl->role == CF_SLOT_SCALAR && sl->io_index < 0 && pl->slot_val_sym[s] >= 0) {
        vals[s].scalar.dtype = CF_DTYPE_INT;
        vals[s].scalar.v.i = symv[pl->slot_val_sym[s]];
    }
}

static cf_status slice_len(const cf_prog_instr *ins, const cf_slot_value *vals, int64_t n, int64_t *len)
{
    int64_t s = cf_move_int(&vals[ins->in[1]].scalar), e, first;
    int d = ins->dim;
    if (ins->manual == 2) {
        if (s < -n || s >= n)
            return cf_error_set(CF_ERR_INDEX, "select", "execute(): select: index %" PRId64 " is out of range for dim %d of size %" PRId64, s, d, n);
        *len = 1;
        return CF_OK;
    }
    e = cf_move_int(&vals[ins->in[2]].scalar);
    if (ins->manual == 1) {
        if (s < 0 || e < s || e > n)
            return cf_error_set(CF_ERR_VALUE, "slice", "execute(): slice with manual_normalization: bounds [%" PRId64 ", %" PRId64 ") of dim %d are not within 0 <= start <= end <= %" PRId64, s, e, d, n);
        *len = (e - s + ins->step - 1) / ins->step;
        return CF_OK;
    }
    *len = cf_move_slice_len(s, e, ins->step, n, &first);
    return CF_OK;
}

cf_status cf_bind_move(const cf_plan *pl, int i, int64_t *symv, cf_slot_value *vals)
{
    const cf_program *p = pl->prog;
    const cf_prog_instr *ins = &p->instrs[i];
    int32_t t = ins->out[0];
    int d = ins->dim, r = p->slots[t].ndim, k;
    const int64_t *ish = vals[ins->in[0]].shape;
    int64_t len = 0, nb;
    int32_t sym;
    cf_status st;
    if (ins->op != CF_OP_CAT)
        for (k = 1; k < ins->nin; k++) refresh(pl, symv, vals, ins->in[k]);
    switch (ins->op) {
    case CF_OP_SLICE:
        if ((st = slice_len(ins, vals, ish[d], &len)))
            return st;
        break;
    case CF_OP_PAD: {
        int64_t lo = cf_move_int(&vals[ins->in[1]].scalar), hi = cf_move_int(&vals[ins->in[2]].scalar);
        len = ish[d] + lo + hi;
        if (len < 0)
            return cf_error_set(CF_ERR_VALUE, "pad", "execute(): pad widths (%" PRId64 ", %" PRId64 ") make dim %d of size %" PRId64 " negative", lo, hi, d, ish[d]);
        break;
    }
    default: /* CAT */
        for (int j = 0; j < ins->nin; j++) {
            const int64_t *sh = vals[ins->in[j]].shape;
            for (k = 0; k < r; k++)
                if (k != d && sh[k] != ish[k])
                    return cf_error_set(CF_ERR_VALUE, "cat", "execute(): cat: sizes must match except in dim %d: an input has size %" PRId64 " at dim %d, another %" PRId64, d, ish[k], k, sh[k]);
            len += sh[d];
        }
        break;
    }
    sym = pl->slot_sym[t * CF_MAX_DIMS + d];
    if (pl->syms[sym].kind == CF_SYM_MOVE && pl->syms[sym].instr == i)
        symv[sym] = len;
    else if (symv[sym] != len)
        return cf_error_set(CF_ERR_VALUE, "execute", "execute(): %s gives size %" PRId64 " at dim %d where the fusion expects %" PRId64, cf_op_name(ins->op), len, d, symv[sym]);
    for (k = 0; k < r; k++) vals[t].shape[k] = k == d ? len : ish[k];
    return cf_tensor_nbytes(p->slots[t].dtype, r, vals[t].shape, &nb);
}
