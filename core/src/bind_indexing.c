/* bind_indexing.c - the run-time shape checks of GATHER and SCATTER
 * (program.h), called by bind.c once the instruction's shapes are known.
 * Index values are checked by the executors as they read them. */
#include <inttypes.h>

#include "plan.h"

static cf_status check_gather(const cf_program *p, const cf_prog_instr *ins, const cf_slot_value *vals)
{
    const cf_prog_slot *src = &p->slots[ins->in[0]], *ix = &p->slots[ins->in[1]], *o = &p->slots[ins->out[0]];
    const int64_t *ss = vals[ins->in[0]].shape, *is = vals[ins->in[1]].shape, *os = vals[ins->out[0]].shape;
    for (int d = 0; d < o->ndim; d++) {
        int k = ins->map[d];
        if (is[d] != os[d] && !(is[d] == 1 && (ix->bcast_mask >> d) & 1))
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): the index has size %" PRId64 " at dim %d but the result has %" PRId64, is[d], d, os[d]);
        if (k < 0 || k >= src->ndim || ss[k] == os[d])
            continue;
        if (ins->axes == 1 && ss[k] >= os[d])
            continue; /* torch.gather: the index may be shorter */
        if (ins->axes != 1 && ss[k] == 1 && (src->bcast_mask >> k) & 1)
            continue;
        if (ins->axes == 1)
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): gather: the index has size %" PRId64 " at dim %d, larger than the input's %" PRId64, os[d], d, ss[k]);
        return cf_error_set(CF_ERR_VALUE, "execute", "execute(): the input has size %" PRId64 " at dim %d but the index (and the result) %" PRId64, ss[k], k, os[d]);
    }
    return CF_OK;
}

static cf_status check_scatter(const cf_program *p, const cf_prog_instr *ins, const cf_slot_value *vals)
{
    const cf_prog_slot *ix = &p->slots[ins->in[1]], *src = &p->slots[ins->in[2]];
    const int64_t *as = vals[ins->in[0]].shape, *is = vals[ins->in[1]].shape, *ss = vals[ins->in[2]].shape;
    for (int d = 0; d < ix->ndim; d++) {
        if (d != ins->correction && is[d] > as[d])
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): scatter: the index has size %" PRId64 " at dim %d, larger than the input's %" PRId64, is[d], d, as[d]);
        if (src->ndim == ix->ndim && is[d] > ss[d])
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): scatter: the index has size %" PRId64 " at dim %d, larger than src's %" PRId64, is[d], d, ss[d]);
    }
    return CF_OK;
}

cf_status cf_bind_check_indexing(const cf_program *p, const cf_prog_instr *ins, const cf_slot_value *vals)
{
    if (ins->op == CF_OP_GATHER)
        return check_gather(p, ins, vals);
    if (ins->op == CF_OP_SCATTER)
        return check_scatter(p, ins, vals);
    return CF_OK;
}
