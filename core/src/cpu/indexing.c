/* cpu/indexing.c - GATHER steps inside fused segments, and SCATTER
 * segments (program.h gives their meaning).
 *
 * A GATHER step is one more step of a PW or ROW segment: its index block
 * is loaded like any operand, then each element reads the source at its
 * base place plus index * stride. Index checks cost a compare and a
 * never-taken branch per element (per row of embedding_fwd and
 * index_select): a value out of range reads nothing and is recorded in the
 * thread's scratch, and the segment fails once it has run (segment.c). */
#include <inttypes.h>
#include <string.h>

#include "cpu/engine.h"

void cf_cpu_gather_step(const cf_cpu_plan *pl, cf_step *st, int nd, const int64_t *osh)
{
    const cf_prog_instr *ins = st->ins;
    const cf_program *p = pl->p;
    int s = ins->in[0], sd = p->slots[s].ndim, last = -1;
    const int64_t *ssh = pl->vals[s].shape, *sst = pl->si[s].strides;
    int64_t bs[CF_MAX_DIMS] = {0};
    cf_opnd *o = &st->in[0];
    memset(o, 0, sizeof *o);
    o->kind = OPND_MEM;
    o->slot = s;
    o->dtype = p->slots[s].dtype;
    for (int d = 0; d < nd; d++) {
        int k = ins->map[d];
        bs[d] = k >= 0 && k < sd && ssh[k] != 1 ? sst[k] : 0;
        if (osh[d] > 1)
            last = d;
    }
    cf_ndview_make(&o->v, pl->si[s].data, o->dtype, nd, osh, bs);
    st->gstride = sst[ins->correction];
    st->gext = ssh[ins->correction];
    /* The index is one value along each run of the source view when its
     * stride is 0 along the innermost axis and no other axis merged into
     * the view's innermost one. */
    st->grow = 0;
    if (last >= 0 && o->v.ndim > 0 && o->v.shape[o->v.ndim - 1] == osh[last]) {
        int x = ins->in[1];
        st->grow = pl->vals[x].shape[last] == 1 || pl->si[x].strides[last] == 0;
    }
}

/* Copy the element at src + x * gs (x checked) for each element of a run. */
#define GATHER_RUN(T)                                                                   \
    do {                                                                                \
        const T *sp = (const T *)src;                                                   \
        T *dp = (T *)dst;                                                               \
        if (grow) {                                                                     \
            int64_t x = ix[0];                                                          \
            if ((uint64_t)x >= ext) {                                                   \
                bad[0]++, bad[1] = x;                                                   \
                for (int64_t i = 0; i < run; i++) dp[i] = 0;                            \
            } else if (step == 1) {                                                     \
                memcpy(dp, sp + x * gs, (size_t)run * sizeof(T));                       \
            } else {                                                                    \
                for (int64_t i = 0; i < run; i++) dp[i] = sp[x * gs + i * step];        \
            }                                                                           \
        } else {                                                                        \
            for (int64_t i = 0; i < run; i++) {                                         \
                int64_t x = ix[i];                                                      \
                if ((uint64_t)x >= ext) {                                               \
                    bad[0]++, bad[1] = x;                                               \
                    dp[i] = 0;                                                          \
                    continue;                                                           \
                }                                                                       \
                dp[i] = sp[x * gs + i * step];                                          \
            }                                                                           \
        }                                                                               \
    } while (0)

static void gather_run(size_t es, const char *src, int64_t step, int64_t gs, uint64_t ext, int grow,
                       const int64_t *ix, int64_t run, char *dst, int64_t *bad)
{
    switch (es) {
    case 1: GATHER_RUN(uint8_t); break;
    case 2: GATHER_RUN(uint16_t); break;
    case 4: GATHER_RUN(uint32_t); break;
    default: GATHER_RUN(uint64_t); break;
    }
}

void cf_cpu_gather_block(const cf_step *st, int64_t start, int64_t n, const int64_t *ix, void *raw,
                         void *out, int64_t *bad)
{
    const cf_ndview *v = &st->in[0].v;
    size_t es = cf_dtype_size(v->dtype);
    /* The values land in out directly when the storage is the
     * representation (Float, Double, Int); else staged in raw. */
    int direct = v->dtype == st->cdt && cf_dtype_is_native(st->cdt);
    char *dst = direct ? out : raw;
    int nd = v->ndim;
    int64_t c[CF_MAX_DIMS], rem = start, done = 0;
    if (n <= 0)
        return;
    if (nd == 0) { /* all size 1: never grow, so ix is given */
        gather_run(es, v->data, 0, st->gstride, (uint64_t)st->gext, 0, ix, n, dst, bad);
    } else {
        for (int d = nd - 1; d >= 0; d--) {
            c[d] = rem % v->shape[d];
            rem /= v->shape[d];
        }
        while (done < n) {
            int64_t off = 0, run = v->shape[nd - 1] - c[nd - 1], one;
            const int64_t *x = ix + done;
            for (int d = 0; d < nd; d++) off += c[d] * v->strides[d];
            if (run > n - done)
                run = n - done;
            if (!ix) {
                /* the run's one index, read where it is stored */
                const cf_ndview *iv = &st->in[1].v;
                const char *p = cf_nd_addr(iv, start + done);
                if (iv->dtype == CF_DTYPE_INT32) {
                    int32_t y;
                    memcpy(&y, p, 4);
                    one = y;
                } else {
                    memcpy(&one, p, 8);
                }
                x = &one;
            }
            gather_run(es, v->data + off * (int64_t)es, v->strides[nd - 1], st->gstride, (uint64_t)st->gext,
                       st->grow, x, run, dst + done * (int64_t)es, bad);
            done += run;
            c[nd - 1] += run;
            for (int d = nd - 1; d > 0 && c[d] >= v->shape[d]; d--) {
                c[d] = 0;
                c[d - 1]++;
            }
        }
    }
    if (!direct)
        cf_cvt_load(v->dtype, raw, 1, n, st->cdt, out);
}

cf_status cf_cpu_gather_error(const cf_step *st, int64_t v)
{
    return cf_error_set(CF_ERR_INDEX, "execute", "execute(): index %" PRId64 " is out of bounds for dim %d with size %" PRId64
                        " (index values must lie in [0, %" PRId64 "))", v, (int)st->ins->correction, st->gext, st->gext);
}

static int64_t read_index(const char *p, cf_dtype t)
{
    if (t == CF_DTYPE_INT32) {
        int32_t x;
        memcpy(&x, p, 4);
        return x;
    }
    int64_t x;
    memcpy(&x, p, 8);
    return x;
}

cf_status cf_cpu_run_scatter(const cf_cpu_plan *pl, const cf_seg *sg)
{
    const cf_program *p = pl->p;
    const cf_prog_instr *ins = &p->instrs[sg->first_instr];
    int a = ins->in[0], ix = ins->in[1], s = ins->in[2], t = ins->out[0], dim = (int)ins->correction;
    int r = p->slots[ix].ndim, stensor = p->slots[s].ndim == r && p->slots[s].role != CF_SLOT_CONST &&
                                         p->slots[s].role != CF_SLOT_SCALAR;
    cf_dtype dt = p->slots[t].dtype, it = p->slots[ix].dtype;
    size_t es = cf_dtype_size(dt), ies = cf_dtype_size(it);
    const int64_t *ish = pl->vals[ix].shape, *ist = pl->si[ix].strides, *tst = pl->si[t].strides;
    const int64_t *sst = pl->si[s].strides;
    int64_t n = 1, ext = pl->vals[t].shape[dim], c[CF_MAX_DIMS] = {0};
    char one[8];
    cf_ndview from, to;
    cf_status rc;
    cf_ndview_make(&from, pl->si[a].data, p->slots[a].dtype, p->slots[a].ndim, pl->vals[a].shape, pl->si[a].strides);
    cf_ndview_make(&to, pl->si[t].data, dt, p->slots[t].ndim, pl->vals[t].shape, tst);
    for (int d = 0; d < p->slots[t].ndim; d++) n *= pl->vals[t].shape[d];
    if ((rc = cf_copy_nd(&from, &to, n, sg->nthreads)) != CF_OK)
        return rc;
    if (!stensor) {
        int64_t rep;
        cf_fill_scalar(&pl->vals[s].scalar, dt, 1, &rep);
        cf_cvt_store(dt, &rep, 1, dt, one, 1);
    }
    n = 1;
    for (int d = 0; d < r; d++) n *= ish[d];
    /* In order, one thread: the last value written to a place wins, as
     * on torch's CPU. */
    for (int64_t e = 0; e < n; e++) {
        int64_t io = 0, to_off = 0, so = 0, x;
        for (int d = 0; d < r; d++) {
            io += c[d] * ist[d];
            so += c[d] * sst[d];
            if (d != dim)
                to_off += c[d] * tst[d];
        }
        x = read_index(pl->si[ix].data + io * (int64_t)ies, it);
        if (x < 0 || x >= ext)
            return cf_error_set(CF_ERR_INDEX, "execute", "execute(): scatter: index %" PRId64 " is out of bounds for dim %d with size %" PRId64
                                " (index values must lie in [0, %" PRId64 "))", x, dim, ext, ext);
        to_off += x * tst[dim];
        memcpy(pl->si[t].data + to_off * (int64_t)es, stensor ? pl->si[s].data + so * (int64_t)es : one, es);
        for (int d = r - 1; d >= 0 && ++c[d] >= ish[d]; d--)
            c[d] = 0;
    }
    return CF_OK;
}
