/* cuda/launch.c - cf_cuda_execute: find the plan, fill parameters, launch.
 *
 * Plans are cached per (device, program contents, shapes, strides and the
 * 16-byte alignment of every data pointer): a repeated call costs one hash of
 * that signature, one table probe under a mutex and the launches. The plan's
 * module comes from the kernel cache (kcache.c), which compiles only sources
 * it has not seen. A new plan starts on the quick tier while its full
 * kernels compile in the background (tier.c); of two threads that build
 * one plan at once the first to publish wins. Temporaries are allocated and
 * freed stream-ordered on the caller's stream, so nothing here waits for
 * the device.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "cfuser/alloc.h"
#include "cfuser/dtype.h"
#include "cfuser/status.h"

typedef struct pc_entry {
    struct pc_entry *next;
    uint64_t hash;
    size_t keylen;
    unsigned char *key;
    cf_cuda_plan *plan;
} pc_entry;

#define PC_BUCKETS 512
static pthread_mutex_t pc_lock = PTHREAD_MUTEX_INITIALIZER;
static pc_entry *pc_table[PC_BUCKETS];

typedef struct keybuf {
    unsigned char *b;
    size_t len, cap;
    unsigned char local[2048];
} keybuf;

static bool kb_put(keybuf *k, const void *data, size_t n)
{
    if (k->len + n > k->cap) {
        size_t cap = k->cap * 2;
        while (cap < k->len + n)
            cap *= 2;
        unsigned char *nb = k->b == k->local ? cf_malloc(cap)
                                             : cf_realloc(k->b, cap);
        if (!nb)
            return false;
        if (k->b == k->local)
            memcpy(nb, k->local, k->len);
        k->b = nb;
        k->cap = cap;
    }
    memcpy(k->b + k->len, data, n);
    k->len += n;
    return true;
}

/* Field by field, so that padding never enters the key. */
static bool build_key(keybuf *k, const cf_program *p,
                      const cf_slot_value *v, int device)
{
    int32_t head[4] = {device, p->nslots, p->ninstrs, p->noutputs};
    bool ok = kb_put(k, head, sizeof head);
    for (int s = 0; ok && s < p->nslots; s++) {
        const cf_prog_slot *sl = &p->slots[s];
        int64_t f[6] = {sl->dtype, sl->ndim, sl->role, sl->bcast_mask,
                        sl->io_index, sl->value.dtype};
        ok = kb_put(k, f, sizeof f);
        if (ok && sl->role == CF_SLOT_CONST) {
            int64_t bits = 0;
            if (cf_dtype_is_float(sl->value.dtype))
                memcpy(&bits, &sl->value.v.f, 8);
            else if (cf_dtype_is_bool(sl->value.dtype))
                bits = sl->value.v.b;
            else
                bits = sl->value.v.i;
            ok = kb_put(k, &bits, 8);
        }
        if (ok && sl->ndim > 0)
            ok = kb_put(k, v[s].shape, (size_t)sl->ndim * 8);
        if (ok && sl->ndim > 0 &&
            (sl->role == CF_SLOT_INPUT || sl->role == CF_SLOT_OUTPUT)) {
            int64_t al = (int64_t)((uintptr_t)v[s].data & 15);
            ok = kb_put(k, v[s].strides, (size_t)sl->ndim * 8) &&
                 kb_put(k, &al, 8);
        }
    }
    for (int i = 0; ok && i < p->ninstrs; i++) {
        const cf_prog_instr *in = &p->instrs[i];
        int64_t f[12] = {in->op, in->cdtype, in->nin, in->nout, in->in[0],
                         in->in[1], in->in[2], in->in[3], in->out[0],
                         in->out[1], in->axes, in->correction};
        int64_t mv[3] = {in->dim, in->manual, in->step};
        ok = kb_put(k, f, sizeof f) &&
             ((in->op != CF_OP_VIEW && in->op != CF_OP_GATHER) || kb_put(k, in->map, sizeof in->map)) &&
             kb_put(k, mv, sizeof mv);
    }
    return ok;
}

static pc_entry *pc_find(uint64_t h, const keybuf *k)
{
    for (pc_entry *e = pc_table[h % PC_BUCKETS]; e; e = e->next)
        if (e->hash == h && e->keylen == k->len &&
            memcmp(e->key, k->b, k->len) == 0)
            return e;
    return NULL;
}

static cf_status get_functions(const cf_cu_api *cu, cf_cuda_plan *plan)
{
    plan->funcs = cf_calloc((size_t)(plan->nkernels > 0 ? plan->nkernels : 1),
                            sizeof *plan->funcs);
    if (!plan->funcs)
        return cf_error_nomem("cuda");
    for (int i = 0; i < plan->nkernels; i++) {
        cf_status st = cf_cu_check(
            cu->cuModuleGetFunction((CUfunction *)&plan->funcs[i], (CUmodule)plan->module,
                                    plan->kernels[i].name),
            "cuda", "cuModuleGetFunction");
        if (st)
            return st;
    }
    return CF_OK;
}

/* The plan key is a few KB and hashed on every launch: hash it a word at
 * a time (a byte-wise FNV-1a here cost microseconds per call). */
static uint64_t key_hash(const unsigned char *b, size_t n)
{
    uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;
    size_t i;
    for (i = 0; i + 8 <= n; i += 8) {
        memcpy(&w, b + i, 8);
        h = (h ^ w) * 0xff51afd7ed558ccdULL;
        h ^= h >> 29;
    }
    for (; i < n; i++)
        h = (h ^ b[i]) * 0x100000001b3ULL;
    h ^= h >> 33;
    return h * 0xc4ceb9fe1a85ec53ULL;
}

/* Plans replaced by the background compiler: a thread that read one from
 * the table before the swap may still launch it, so they are kept. */
typedef struct retired_plan {
    struct retired_plan *next;
    cf_cuda_plan *plan;
} retired_plan;
static retired_plan *retired;

/* The worker's install (tier.c), on its own thread: the full plan takes
 * the quick one's place in the table. */
static cf_status install_full(void *slot, cf_cuda_plan *full)
{
    pc_entry *e = slot;
    const cf_cu_api *cu;
    retired_plan *r = cf_malloc(sizeof *r);
    cf_status st = r ? cf_cu_load(&cu) : cf_error_nomem("cuda");
    if (st || (st = get_functions(cu, full))) {
        cf_free(r);
        return st;
    }
    pthread_mutex_lock(&pc_lock);
    r->plan = e->plan;
    r->next = retired;
    retired = r;
    e->plan = full;
    pthread_mutex_unlock(&pc_lock);
    return CF_OK;
}

/* A new plan with its module. Tiered: the full plan when its module is in
 * memory or on disk, else the quick plan (compiled now) and *background =
 * the full plan, for the worker. */
static cf_status new_plan(const cf_cu_device *d, const cf_cu_api *cu, const cf_program *p,
                          const cf_slot_value *vals, cf_cuda_plan **out, cf_cuda_plan **background)
{
    cf_cuda_plan *full = NULL, *quick = NULL;
    CUmodule m = NULL;
    bool tiered = cf_tier_enabled();
    *background = NULL;
    uint64_t t0 = cf_cuda_now_ns();
    cf_status st = cf_cuda_plan_build_tier(p, vals, &d->info, false, &full);
    cf_cuda_stat_add(CF_STAT_PLANS_BUILT, 1);
    cf_cuda_stat_add(CF_STAT_PLAN_BUILD_NS, cf_cuda_now_ns() - t0);
    if (st)
        return st;
    if (full->nkernels == 0) {
        *out = full;
        return CF_OK;
    }
    if ((st = cf_kcache_module_tier(d, full->source, false, !tiered, &m)))
        goto fail;
    if (m) {
        full->module = m;
        if ((st = get_functions(cu, full)))
            goto fail;
        *out = full;
        return CF_OK;
    }
    if ((st = cf_cuda_plan_build_tier(p, vals, &d->info, true, &quick)) ||
        (st = cf_kcache_module_tier(d, quick->source, true, true, &m)))
        goto fail;
    quick->module = m;
    if ((st = get_functions(cu, quick)))
        goto fail;
    cf_cuda_stat_add(CF_STAT_QUICK_PLANS, 1);
    *out = quick;
    *background = full;
    return CF_OK;
fail:
    cf_cuda_plan_free(quick);
    cf_cuda_plan_free(full);
    return st;
}

static cf_status get_plan(const cf_cu_device *d, const cf_program *p,
                          const cf_slot_value *vals, cf_cuda_plan **out)
{
    keybuf k;
    k.b = k.local;
    k.len = 0;
    k.cap = sizeof k.local;
    cf_status st = CF_OK;
    if (!build_key(&k, p, vals, d->ordinal)) {
        st = cf_error_nomem("cuda");
        goto done;
    }
    uint64_t h = key_hash(k.b, k.len);
    pthread_mutex_lock(&pc_lock);
    pc_entry *found = pc_find(h, &k);
    cf_cuda_plan *plan = found ? found->plan : NULL;
    pthread_mutex_unlock(&pc_lock);
    if (plan) {
        *out = plan;
        goto done;
    }
    const cf_cu_api *cu;
    cf_cuda_plan *background = NULL;
    if ((st = cf_cu_load(&cu)) || (st = new_plan(d, cu, p, vals, &plan, &background)))
        goto done;
    pc_entry *e = cf_calloc(1, sizeof *e);
    unsigned char *key = e ? cf_malloc(k.len) : NULL;
    if (!key) {
        cf_free(e);
        cf_cuda_plan_free(plan);
        cf_cuda_plan_free(background);
        st = cf_error_nomem("cuda");
        goto done;
    }
    memcpy(key, k.b, k.len);
    e->hash = h;
    e->keylen = k.len;
    e->key = key;
    e->plan = plan;
    pthread_mutex_lock(&pc_lock);
    pc_entry *other = pc_find(h, &k);
    if (other) {
        /* another thread built it first: keep theirs */
        cf_cuda_plan *theirs = other->plan;
        pthread_mutex_unlock(&pc_lock);
        cf_free(key);
        cf_free(e);
        cf_cuda_plan_free(plan);
        cf_cuda_plan_free(background);
        *out = theirs;
        goto done;
    }
    /* entries live as long as the process: a plan in use must stay */
    e->next = pc_table[h % PC_BUCKETS];
    pc_table[h % PC_BUCKETS] = e;
    pthread_mutex_unlock(&pc_lock);
    *out = plan;
    if (background && cf_tier_enqueue(d->ordinal, background, e, install_full)) {
        cf_cuda_plan_free(background); /* the quick plan stays */
        cf_error_clear();
    }
done:
    if (k.b != k.local)
        cf_free(k.b);
    return st;
}

static int64_t scalar_word(const cf_program *p, const cf_slot_value *vals,
                           int slot)
{
    cf_scalar x = vals[slot].scalar;
    cf_dtype t = p->slots[slot].dtype;
    if (cf_dtype_is_float(t)) {
        double d = cf_dtype_is_float(x.dtype) ? x.v.f
                   : cf_dtype_is_bool(x.dtype) ? (double)x.v.b
                                               : (double)x.v.i;
        int64_t w;
        memcpy(&w, &d, 8);
        return w;
    }
    if (cf_dtype_is_float(x.dtype))
        return (int64_t)x.v.f;
    if (cf_dtype_is_bool(x.dtype))
        return x.v.b;
    return x.v.i;
}

#define CF_LAUNCH_MAX_BUFS 256

cf_status cf_cuda_execute(const cf_program *p, cf_slot_value *vals,
                          int device, void *stream)
{
    const cf_cu_device *d;
    const cf_cu_api *cu;
    cf_status st = cf_cu_device_enter(device, &d);
    if (st || (st = cf_cu_load(&cu)))
        return st;
    cf_cuda_plan *plan = NULL;
    if ((st = get_plan(d, p, vals, &plan)))
        return st;
    if (plan->nbuffers > CF_LAUNCH_MAX_BUFS)
        return cf_error_set(CF_ERR_UNSUPPORTED, "cuda",
                            "program has %d buffers (at most %d)",
                            plan->nbuffers, CF_LAUNCH_MAX_BUFS);
    CUstream s = (CUstream)stream;
    CUdeviceptr ptr[CF_LAUNCH_MAX_BUFS], host_copy[CF_LAUNCH_MAX_BUFS];
    int nalloc = 0, ncopies = 0;
    for (int b = 0; b < plan->nbuffers; b++) {
        const cf_plan_buffer *pb = &plan->buffers[b];
        ptr[b] = pb->slot >= 0 ? (CUdeviceptr)(uintptr_t)vals[pb->slot].data : 0;
        if (!pb->temp && pb->slot >= 0 && vals[pb->slot].on_host) {
            /* a CPU scalar tensor: its element goes to the device on the
             * run's stream (staged at once: the caller may reuse it) */
            size_t bytes = cf_dtype_size(p->slots[pb->slot].dtype);
            CUresult r = d->mempool ? cu->cuMemAllocAsync(&host_copy[ncopies], 16, s)
                                    : cu->cuMemAlloc_v2(&host_copy[ncopies], 16);
            if ((st = cf_cu_check(r, "cuda", "allocating a CPU scalar's copy")))
                goto out;
            ptr[b] = host_copy[ncopies++];
            if ((st = cf_cu_check(cu->cuMemcpyHtoDAsync_v2(ptr[b], vals[pb->slot].data, bytes, s), "cuda",
                                  "copying a CPU scalar to the device")))
                goto out;
            continue;
        }
        if (!pb->temp)
            continue;
        CUresult r = d->mempool
            ? cu->cuMemAllocAsync(&ptr[b], (size_t)pb->bytes, s)
            : cu->cuMemAlloc_v2(&ptr[b], (size_t)pb->bytes);
        if ((st = cf_cu_check(r, "cuda", "allocating an intermediate")))
            goto out;
        nalloc = b + 1;
        /* a split reduction's counters start at zero */
        if (pb->zero_bytes > 0 &&
            (st = cf_cu_check(cu->cuMemsetD8Async(ptr[b], 0, (size_t)pb->zero_bytes, s), "cuda",
                              "clearing a reduction's counters")))
            goto out;
    }
    if (plan->index_flag >= 0 &&
        (st = cf_cu_check(cu->cuMemsetD8Async(ptr[plan->index_flag], 0, 16, s), "cuda", "cuMemsetD8Async")))
        goto out;
    for (int i = 0; i < plan->nkernels; i++) {
        const cf_kernel_launch *L = &plan->kernels[i];
        int64_t words[512];
        for (int w = 0; w < L->nwords && w < 512; w++) {
            const cf_pword *pw = &L->words[w];
            if (pw->kind == CF_PW_PTR)
                words[w] = (int64_t)ptr[pw->ref];
            else if (pw->kind == CF_PW_SCALAR)
                words[w] = scalar_word(p, vals, pw->ref);
            else
                words[w] = pw->value;
        }
        void *args[1] = {words};
        st = cf_cu_check(cu->cuLaunchKernel((CUfunction)plan->funcs[i], L->grid[0],
                                            L->grid[1], L->grid[2],
                                            L->block[0], L->block[1],
                                            L->block[2], L->smem, s, args,
                                            NULL),
                         "cuda", "cuLaunchKernel");
        if (st)
            break;
    }
    if (st == CF_OK && plan->index_flag >= 0) {
        /* An index out of range left its mark: read once, after the
         * kernels (the one wait that checked indexing costs). */
        int64_t flag[2] = {0, 0};
        st = cf_cu_check(cu->cuStreamSynchronize(s), "cuda", "cuStreamSynchronize");
        if (st == CF_OK)
            st = cf_cu_check(cu->cuMemcpyDtoH_v2(flag, ptr[plan->index_flag], sizeof flag), "cuda", "cuMemcpyDtoH");
        if (st == CF_OK && flag[0] != 0)
            st = cf_cuda_index_error(p, vals, flag);
    }
out:
    for (int k = 0; k < ncopies; k++) {
        if (d->mempool)
            cu->cuMemFreeAsync(host_copy[k], s);
        else {
            cu->cuStreamSynchronize(s);
            cu->cuMemFree_v2(host_copy[k]);
        }
    }
    for (int b = 0; b < nalloc; b++) {
        if (!plan->buffers[b].temp || ptr[b] == 0 ||
            (plan->buffers[b].slot >= 0 &&
             ptr[b] == (CUdeviceptr)(uintptr_t)vals[plan->buffers[b].slot].data))
            continue;
        if (d->mempool)
            cu->cuMemFreeAsync(ptr[b], s);
        else {
            cu->cuStreamSynchronize(s);
            cu->cuMemFree_v2(ptr[b]);
        }
    }
    return st;
}
