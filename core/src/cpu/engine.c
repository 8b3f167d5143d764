/* cpu/engine.c - cf_cpu_execute: plan the call, run its segments in order,
 * release everything on every path. */
#include <string.h>

#include "cfuser/alloc.h"
#include "cpu/engine.h"

static cf_status run_reduce(const cf_cpu_plan *pl, const cf_seg *sg)
{
    const cf_prog_instr *ins = &pl->p->instrs[sg->first_instr];
    const cf_program *p = pl->p;
    int s = ins->in[0];
    cf_red_args a;
    memset(&a, 0, sizeof a);
    a.k = pl->k;
    a.op = ins->op;
    a.cdt = ins->cdtype;
    a.correction = ins->correction;
    a.data = pl->si[s].data;
    a.dtype = p->slots[s].dtype;
    a.ndim = p->slots[s].ndim;
    memcpy(a.shape, pl->vals[s].shape, sizeof a.shape);
    memcpy(a.strides, pl->si[s].strides, sizeof a.strides);
    a.axes = ins->axes;
    a.nout = ins->nout;
    for (int j = 0; j < ins->nout; j++) {
        int t = ins->out[j];
        cf_ndview_make(&a.out[j], pl->si[t].data, p->slots[t].dtype, p->slots[t].ndim,
                       pl->vals[t].shape, pl->si[t].strides);
    }
    a.nthreads = sg->nthreads;
    return cf_reduce_generic(&a);
}

static int64_t numel_of(const cf_cpu_plan *pl, int s)
{
    int64_t n = 1;
    for (int d = 0; d < pl->p->slots[s].ndim; d++) n *= pl->vals[s].shape[d];
    return n;
}

static cf_status run_copy(const cf_cpu_plan *pl, const cf_seg *sg)
{
    const cf_prog_instr *ins = &pl->p->instrs[sg->first_instr];
    const cf_program *p = pl->p;
    int s = ins->in[0], t = ins->out[0];
    cf_ndview src, dst;
    int64_t st[CF_MAX_DIMS];
    cf_ndview_make(&dst, pl->si[t].data, p->slots[t].dtype, p->slots[t].ndim,
                   pl->vals[t].shape, pl->si[t].strides);
    if (ins->op == CF_OP_VIEW) {
        /* A view that the program wants in memory of its own. */
        for (int d = 0; d < p->slots[t].ndim; d++) {
            int m = ins->map[d];
            int ok = m >= 0 && m < p->slots[s].ndim && pl->vals[s].shape[m] != 1;
            st[d] = ok ? pl->si[s].strides[m] : 0;
        }
        cf_ndview_make(&src, pl->si[s].data, p->slots[s].dtype, p->slots[t].ndim,
                       pl->vals[t].shape, st);
    } else {
        cf_ndview_make(&src, pl->si[s].data, p->slots[s].dtype, p->slots[s].ndim,
                       pl->vals[s].shape, pl->si[s].strides);
    }
    return cf_copy_nd(&src, &dst, numel_of(pl, t), sg->nthreads);
}

static cf_status run_iota(const cf_cpu_plan *pl, const cf_seg *sg)
{
    const cf_prog_instr *ins = &pl->p->instrs[sg->first_instr];
    const cf_program *p = pl->p;
    int t = ins->out[0];
    cf_ndview dst;
    if (ins->nin < 2)
        return cf_error_set(CF_ERR_RUNTIME, "iota", "iota needs start and step");
    cf_ndview_make(&dst, pl->si[t].data, p->slots[t].dtype, p->slots[t].ndim,
                   pl->vals[t].shape, pl->si[t].strides);
    return cf_iota(&dst, numel_of(pl, t), &pl->vals[ins->in[0]].scalar,
                   &pl->vals[ins->in[1]].scalar, sg->nthreads);
}

cf_status cf_cpu_execute(const cf_program *p, cf_slot_value *vals, int nthreads)
{
    cf_cpu_plan pl;
    /* Plan and scratch of small calls live here (no heap traffic). */
    _Alignas(64) char local[CF_CPU_LOCAL_BYTES];
    char *scratch = NULL;
    int scratch_on_heap = 0;
    cf_status rc;
    if (!p || !vals)
        return cf_error_set(CF_ERR_VALUE, "cpu_execute", "program and slot values are required");
    memset(&pl, 0, sizeof pl);
    pl.p = p;
    pl.vals = vals;
    pl.k = cf_cpu_kernels();
    pl.nthreads = nthreads > 0 ? nthreads : cf_cpu_max_threads();
    pl.local = local;
    pl.local_cap = sizeof local;
    rc = cf_cpu_plan_get(&pl);
    if (rc != CF_OK)
        goto done;
    if (pl.scratch_max > 0 && pl.scratch_max <= sizeof local - pl.local_used) {
        scratch = local + pl.local_used;
    } else if (pl.scratch_max > 0) {
        scratch = cf_malloc_aligned(pl.scratch_max);
        scratch_on_heap = 1;
        if (!scratch) {
            rc = cf_error_nomem("cpu_execute");
            goto done;
        }
    }
    for (int g = 0; g < pl.nsegs && rc == CF_OK; g++) {
        const cf_seg *sg = &pl.segs[g];
        switch (sg->kind) {
        case SEG_PW:
        case SEG_ROW: rc = cf_cpu_seg_run(&pl, sg, scratch); break;
        case SEG_SCATTER: rc = cf_cpu_run_scatter(&pl, sg); break;
        case SEG_REDUCE: rc = run_reduce(&pl, sg); break;
        case SEG_COPY: rc = run_copy(&pl, sg); break;
        case SEG_SCAN: rc = cf_cpu_run_scan(&pl, sg); break;
        case SEG_MOVE: rc = cf_win_run(&pl, sg); break;
        default: rc = run_iota(&pl, sg); break;
        }
    }
done:
    if (scratch_on_heap)
        cf_free_aligned(scratch);
    cf_cpu_plan_release(&pl);
    return rc;
}
