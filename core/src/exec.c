/* exec.c - the executor cache and one run (exec.h). */
#include <pthread.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "ir/ir.h"
#include "plan.h"
#ifdef CFUSER_WITH_CUDA
#include "cfuser/cuda.h"
#endif

/* What distinguishes one compiled kernel from another for the same fusion. */
typedef struct sig_input {
    int8_t is_tensor, ndim, dtype;
    int16_t device;
    uint8_t contiguous;
    uint32_t size1_mask;    /* axes of size 1 */
} sig_input;

typedef struct retired { cf_plan *plan; struct retired *next; } retired;

typedef struct cache_entry {
    sig_input *sig;
    int nsig;
} cache_entry;

struct cf_cache {
    cf_fusion *fusion;
    pthread_mutex_t lock;
    uint64_t version;       /* fusion version the plan was built from */
    cf_plan *plan;
    struct retired *retired; /* older plans: runs in flight may use them */
    int nentries, capentries;
    cache_entry *entries;
};

struct cf_run {
    cf_cache *cache;
    cf_plan *plan;          /* retained by the cache for the run's life */
    bool counted;           /* plan->nruns counts this run              */
    cf_slot_value *vals;
    cf_tensor *outputs;
    int device;
    cf_exec_options opt;
};

cf_status cf_cache_new(cf_fusion *f, cf_cache **out)
{
    cf_cache *c = cf_calloc(1, sizeof *c);
    if (!c)
        return cf_error_nomem("FusionExecutorCache");
    if (pthread_mutex_init(&c->lock, NULL)) {
        cf_free(c);
        return cf_error_set(CF_ERR_RUNTIME, "FusionExecutorCache", "FusionExecutorCache(): cannot create a lock");
    }
    cf_fusion_retain(f);
    c->fusion = f;
    *out = c;
    return CF_OK;
}

static void clear_entries(cf_cache *c)
{
    int i;
    for (i = 0; i < c->nentries; i++)
        cf_free(c->entries[i].sig);
    c->nentries = 0;
}


void cf_cache_free(cf_cache *c)
{
    if (!c)
        return;
    clear_entries(c);
    cf_free(c->entries);
    cf_plan_free(c->plan);
    while (c->retired) {
        retired *n = c->retired->next;
        cf_plan_free(c->retired->plan);
        cf_free(c->retired);
        c->retired = n;
    }
    pthread_mutex_destroy(&c->lock);
    cf_fusion_release(c->fusion);
    cf_free(c);
}

cf_fusion *cf_cache_fusion(const cf_cache *c) { return c->fusion; }

int cf_cache_num_plans(cf_cache *c)
{
    int n;
    pthread_mutex_lock(&c->lock);
    n = c->nentries;
    pthread_mutex_unlock(&c->lock);
    return n;
}

static bool is_contiguous(const cf_tensor *t)
{
    int64_t expect = 1;
    int d;
    for (d = t->ndim - 1; d >= 0; d--) {
        if (t->shape[d] != 1 && t->strides[d] != expect)
            return false;
        expect *= t->shape[d];
    }
    return true;
}

static void make_sig(int nargs, const cf_arg *args, sig_input *sig)
{
    int i, d;
    for (i = 0; i < nargs; i++) {
        memset(&sig[i], 0, sizeof sig[i]);
        sig[i].is_tensor = args[i].is_tensor;
        if (!args[i].is_tensor) {
            sig[i].dtype = (int8_t)args[i].scalar.dtype;
            continue;
        }
        sig[i].ndim = (int8_t)args[i].tensor.ndim;
        sig[i].dtype = (int8_t)args[i].tensor.dtype;
        sig[i].device = (int16_t)args[i].tensor.device;
        sig[i].contiguous = is_contiguous(&args[i].tensor);
        for (d = 0; d < args[i].tensor.ndim; d++)
            if (args[i].tensor.shape[d] == 1)
                sig[i].size1_mask |= 1u << d;
    }
}

/* Under the lock: a run is done with p; a retired plan no run uses is freed. */
static void release_plan(cf_cache *c, cf_plan *p)
{
    retired **pp;
    if (--p->nruns > 0 || p == c->plan)
        return;
    for (pp = &c->retired; *pp; pp = &(*pp)->next)
        if ((*pp)->plan == p) {
            retired *n = *pp;
            *pp = n->next;
            cf_plan_free(p);
            cf_free(n);
            return;
        }
}

int cf_cache_num_retired(cf_cache *c)
{
    int n = 0;
    retired *r;
    pthread_mutex_lock(&c->lock);
    for (r = c->retired; r; r = r->next)
        n++;
    pthread_mutex_unlock(&c->lock);
    return n;
}

/* Under the lock: the plan for the fusion as it is now. A fusion changed
 * after the cache was made is lowered again; the old plan is retired, not
 * freed, since a run in flight on another thread may still use it. */
static cf_status current_plan(cf_cache *c, cf_plan **plan)
{
    cf_status st;
    if (!c->plan || c->version != cf_fusion_version(c->fusion)) {
        cf_plan *np;
        if ((st = cf_plan_build(c->fusion, &np)))
            return st;
        if (c->plan && c->plan->nruns == 0) {
            cf_plan_free(c->plan);
        } else if (c->plan) {
            retired *old = cf_malloc(sizeof *old);
            if (!old) {
                cf_plan_free(np);
                return cf_error_nomem("execute");
            }
            old->plan = c->plan;
            old->next = c->retired;
            c->retired = old;
        }
        c->plan = np;
        c->version = cf_fusion_version(c->fusion);
        clear_entries(c);
    }
    *plan = c->plan;
    return CF_OK;
}

static cf_status remember(cf_cache *c, int nargs, const sig_input *sig)
{
    cache_entry *e;
    int i;
    for (i = 0; i < c->nentries; i++)
        if (c->entries[i].nsig == nargs && !memcmp(c->entries[i].sig, sig, sizeof(sig_input) * (size_t)nargs))
            return CF_OK;
    if (c->nentries == c->capentries) {
        int ncap = c->capentries ? c->capentries * 2 : 4;
        cache_entry *q = cf_realloc(c->entries, sizeof(cache_entry) * (size_t)ncap);
        if (!q)
            return cf_error_nomem("execute");
        c->entries = q;
        c->capentries = ncap;
    }
    e = &c->entries[c->nentries];
    e->sig = cf_malloc(sizeof(sig_input) * (size_t)(nargs ? nargs : 1));
    if (!e->sig)
        return cf_error_nomem("execute");
    if (nargs)
        memcpy(e->sig, sig, sizeof(sig_input) * (size_t)nargs);
    e->nsig = nargs;
    c->nentries++;
    return CF_OK;
}

void cf_run_free(cf_run *r)
{
    if (r && r->counted) {
        pthread_mutex_lock(&r->cache->lock);
        release_plan(r->cache, r->plan);
        pthread_mutex_unlock(&r->cache->lock);
    }
    cf_free(r);
}

static void output_spec(cf_run *r, int i)
{
    const cf_program *p = r->plan->prog;
    int32_t s = p->outputs[i];
    cf_tensor *t = &r->outputs[i];
    uint32_t sq = r->plan->out_squeeze[i];
    int d, k = 0;
    memset(t, 0, sizeof *t);
    t->dtype = p->slots[s].dtype;
    t->device = r->device;
    for (d = 0; d < p->slots[s].ndim; d++)
        if (!(sq & (1u << d)))
            t->shape[k++] = r->vals[s].shape[d];
    t->ndim = k;
}

/* An output written into an input must have the input's shape. */
static cf_status check_aliases(const cf_run *r, int nargs, const cf_arg *args)
{
    int i, d;
    for (i = 0; i < r->plan->prog->noutputs; i++) {
        int k = r->plan->out_alias[i].input;
        const cf_tensor *o = &r->outputs[i], *t;
        bool same;
        if (k < 0 || k >= nargs || !args[k].is_tensor)
            continue;
        t = &args[k].tensor;
        same = o->ndim == t->ndim;
        for (d = 0; same && d < o->ndim; d++)
            same = o->shape[d] == t->shape[d];
        if (!same)
            return cf_error_set(CF_ERR_VALUE, "execute",
                                "execute(): output %d is written into input %d (add_output(..., alias_input)), but its shape differs from the input's: the shapes must be equal", i, k);
    }
    return CF_OK;
}

cf_status cf_run_prepare(cf_cache *c, int nargs, const cf_arg *args, const cf_exec_options *opt, cf_run **out)
{
    sig_input stack[16], *sig = stack;
    cf_run *r = NULL;
    cf_plan *plan = NULL;
    cf_status st;
    int i;
    if (nargs < 0)
        return cf_error_set(CF_ERR_VALUE, "execute", "execute(): negative input count");
    if (nargs > 16 && !(sig = cf_malloc(sizeof(sig_input) * (size_t)nargs)))
        return cf_error_nomem("execute");
    make_sig(nargs, args, sig);
    pthread_mutex_lock(&c->lock);
    st = current_plan(c, &plan);
    if (st)
        goto fail_locked;
    /* one block: the run, its slot values and its output descriptions */
    r = cf_malloc(sizeof *r + sizeof(cf_slot_value) * (size_t)plan->prog->nslots +
                  sizeof(cf_tensor) * (size_t)(plan->prog->noutputs + 1));
    if (!r) {
        st = cf_error_nomem("execute");
        goto fail_locked;
    }
    memset(r, 0, sizeof *r);
    r->cache = c;
    r->plan = plan;
    r->vals = (cf_slot_value *)(r + 1);
    r->outputs = (cf_tensor *)(r->vals + plan->prog->nslots);
    if ((st = cf_plan_bind(plan, nargs, args, r->vals)))
        goto fail_locked;
    if ((st = remember(c, nargs, sig)))
        goto fail_locked;
    plan->nruns++;
    r->counted = true;
    pthread_mutex_unlock(&c->lock);
    if (sig != stack)
        cf_free(sig);
    /* the device of the tensors, leaving out 0-dim CPU tensors (nvFuser's
     * CPU scalars), which join a run on any device */
    r->device = CF_DEVICE_CPU;
    bool placed = false;
    for (i = 0; i < nargs && !placed; i++)
        if (args[i].is_tensor && !(args[i].tensor.ndim == 0 && args[i].tensor.device < 0)) {
            r->device = args[i].tensor.device;
            placed = true;
        }
    if (opt) {
        r->opt = *opt;
        if (opt->device != -2 && opt->device != r->device && placed) {
            int have = r->device;
            cf_run_free(r);
            return cf_error_set(CF_ERR_DEVICE, "execute", "execute(): inputs are on %s but device=%s%d was requested", have < 0 ? "the cpu" : "a CUDA device", opt->device < 0 ? "cpu" : "cuda:", opt->device < 0 ? 0 : opt->device);
        }
        if (opt->device != -2 && !placed)
            r->device = opt->device;
    }
    /* Work on a CUDA device: say now, before outputs are allocated there,
     * when this process cannot run it (checked until it first succeeds). */
    if (r->device >= 0) {
        int dev = r->device;
#ifdef CFUSER_WITH_CUDA
        static _Atomic int cuda_ok;
        char why[256];
        if (!cuda_ok && cf_cuda_available(why, sizeof why) == CF_OK)
            cuda_ok = 1;
        if (!cuda_ok) {
            cf_run_free(r);
            return cf_error_set(CF_ERR_DEVICE, "execute", "execute(): the inputs are on CUDA device %d, but CUDA is not available: %s", dev, why);
        }
#else
        cf_run_free(r);
        return cf_error_set(CF_ERR_DEVICE, "execute", "execute(): the inputs are on CUDA device %d, but this build of cfuser has no CUDA backend (build with -DCFUSER_WITH_CUDA=ON)", dev);
#endif
    }
    for (i = 0; i < plan->prog->noutputs; i++)
        output_spec(r, i);
    if ((st = check_aliases(r, nargs, args))) {
        cf_run_free(r);
        return st;
    }
    *out = r;
    return CF_OK;
fail_locked:
    pthread_mutex_unlock(&c->lock);
    if (sig != stack)
        cf_free(sig);
    cf_run_free(r);
    return st;
}

int cf_run_num_outputs(const cf_run *r) { return r->plan->prog->noutputs; }
int cf_run_output_alias(const cf_run *r, int i, bool *visible, int *same_as)
{
    bool in = i >= 0 && i < r->plan->prog->noutputs;
    if (visible)
        *visible = in && r->plan->out_alias[i].visible;
    if (same_as)
        *same_as = in ? r->plan->out_alias[i].same_as : -1;
    return in ? r->plan->out_alias[i].input : -1;
}
const cf_program *cf_run_program(const cf_run *r) { return r->plan->prog; }
const cf_slot_value *cf_run_slot_values(const cf_run *r) { return r->vals; }

const cf_tensor *cf_run_output(const cf_run *r, int i)
{
    return (i >= 0 && i < r->plan->prog->noutputs) ? &r->outputs[i] : NULL;
}

cf_status cf_run_set_output(cf_run *r, int i, void *data, const int64_t *strides)
{
    const cf_program *p = r->plan->prog;
    int32_t s;
    uint32_t sq;
    int d, k = 0;
    int64_t expect = 1;
    if (i < 0 || i >= p->noutputs)
        return cf_error_set(CF_ERR_INDEX, "execute", "output %d is out of range", i);
    s = p->outputs[i];
    sq = r->plan->out_squeeze[i];
    r->outputs[i].data = data;
    r->vals[s].data = data;
    /* user-visible strides for the kept axes; reduced axes have size 1 */
    for (d = p->slots[s].ndim - 1, k = r->outputs[i].ndim - 1; d >= 0; d--) {
        if (sq & (1u << d)) {
            r->vals[s].strides[d] = expect;
            continue;
        }
        r->vals[s].strides[d] = strides ? strides[k] : expect;
        r->outputs[i].strides[k] = r->vals[s].strides[d];
        expect *= r->vals[s].shape[d];
        k--;
    }
    return CF_OK;
}

cf_status cf_run_output_strides(const cf_run *r, int i, int64_t *strides)
{
    const cf_tensor *t = cf_run_output(r, i);
    int64_t expect = 1;
    int k;
    if (!t)
        return cf_error_set(CF_ERR_INDEX, "execute", "output %d is out of range", i);
    if (r->plan->out_order[i].n != t->ndim) { /* a scalar, or axes the order does not name */
        for (k = t->ndim - 1; k >= 0; k--) {
            strides[k] = expect;
            expect *= t->shape[k] > 1 ? t->shape[k] : 1;
        }
        return CF_OK;
    }
    for (k = t->ndim - 1; k >= 0; k--) {
        int d = r->plan->out_order[i].ord[k];
        strides[d] = expect;
        expect *= t->shape[d] > 1 ? t->shape[d] : 1;
    }
    return CF_OK;
}

cf_status cf_run_execute(cf_run *r)
{
    const cf_program *p = r->plan->prog;
    int i;
    for (i = 0; i < p->noutputs; i++)
        if (!r->vals[p->outputs[i]].data) {
            int64_t nb;
            cf_status st = cf_tensor_nbytes(r->outputs[i].dtype, r->outputs[i].ndim, r->outputs[i].shape, &nb);
            if (st)
                return st;
            if (nb > 0)
                return cf_error_set(CF_ERR_VALUE, "execute", "execute(): output %d has no storage", i);
        }
    if (r->device >= 0) {
#ifdef CFUSER_WITH_CUDA
        return cf_cuda_execute(p, r->vals, r->device, r->opt.stream);
#else
        return cf_error_set(CF_ERR_DEVICE, "execute", "execute(): inputs are on CUDA device %d but this build of cfuser has no CUDA backend", r->device);
#endif
    }
    return cf_cpu_execute(p, r->vals, r->opt.nthreads);
}
