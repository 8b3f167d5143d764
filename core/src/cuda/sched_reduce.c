/* cuda/sched_reduce.c - the reduction schedule heuristic (sched_reduce.h). */
#include <stdio.h>

#include "cuda/sched_reduce.h"

/* Threads of one block; the outer schedules use 256 (512 where fewer
 * outputs per block leave room along the reduced range). */
#define OUTER_THREADS 256
#define OUTER_THREADS_NORM 512
/* A split of the reduced range is worth a scratch round trip only when each
 * thread of it still takes this many steps. */
#define MIN_STEPS_PER_THREAD 8
#define MAX_SPLITS 65535

static int next_pow2(int64_t x)
{
    int r = 1;
    while (r < x && r < (1 << 20))
        r *= 2;
    return r;
}

const char *cf_rs_kind_name(cf_rs_kind k)
{
    switch (k) {
    case CF_RS_ROW_PERSIST: return "row-persist";
    case CF_RS_ROW_STREAM: return "row-stream";
    case CF_RS_OUTER_BLOCK: return "outer-block";
    default: return "outer-grid";
    }
}

/* Blocks of `threads` that fill every SM at full occupancy: one wave. */
static int64_t wave(const cf_cuda_device_info *info, int threads)
{
    int sms = info && info->sm_count > 0 ? info->sm_count : 132;
    int tps = info && info->max_threads_per_sm > 0 ? info->max_threads_per_sm : 2048;
    int per = tps / threads;
    return (int64_t)sms * (per > 0 ? per : 1);
}

static int sms_of(const cf_cuda_device_info *info)
{
    return info && info->sm_count > 0 ? info->sm_count : 132;
}

/* Split the reduced range over blocks when the outputs alone leave the
 * machine mostly idle and each thread keeps enough work. */
static int grid_splits(const cf_rs_problem *p, const cf_cuda_device_info *info, int64_t blocks,
                       int threads, int64_t per_step)
{
    if (p->later_full || p->nred <= 0)
        return 1;
    int64_t target = wave(info, threads);
    if (blocks * 2 > target)
        return 1;
    int64_t by_work = p->nred / (per_step * MIN_STEPS_PER_THREAD);
    int64_t s = (target + blocks - 1) / blocks;
    if (s > by_work)
        s = by_work;
    if (s > MAX_SPLITS)
        s = MAX_SPLITS;
    return s >= 2 ? (int)s : 1;
}

static void choose_row(const cf_rs_problem *p, const cf_cuda_device_info *info, cf_rs_sched *o)
{
    int V = p->vec > 0 ? p->vec : 1;
    int64_t nvec = p->nred / V;
    int nfull = p->nfull > 0 ? p->nfull : 1;
    /* About four vectors a thread, as many threads as that takes up to 512;
     * past 512 threads the vectors per thread grow instead: a block of 1024
     * leaves two per SM and its block-wide reductions stall them both. */
    int tx = next_pow2((nvec + 3) / 4);
    if (tx > 512)
        tx = 512;
    int items = (int)((nvec + tx - 1) / tx);
    bool persist = items >= 1 && items <= 16 && (int64_t)items * V * nfull <= p->persist_max;
    o->V = V;
    if (persist) {
        o->kind = CF_RS_ROW_PERSIST;
        o->items = items;
        snprintf(o->why, sizeof o->why,
                 "row of %lld: %d threads keep %d vector(s) of %d each (%d values, limit %d)",
                 (long long)p->nred, tx, items, V, items * V * nfull, p->persist_max);
    } else {
        tx = nvec >= 4096 ? 512 : next_pow2(nvec);
        if (tx < 32)
            tx = 32;
        if (tx > 512)
            tx = 512;
        o->kind = CF_RS_ROW_STREAM;
        o->items = 0;
        snprintf(o->why, sizeof o->why,
                 "row of %lld does not stay in registers (%lld values a thread at 512 threads, "
                 "limit %d): each phase streams it",
                 (long long)p->nred, (long long)((nvec + 511) / 512) * V * nfull, p->persist_max);
    }
    o->TX = tx;
    o->TY = tx >= 128 ? 1 : 128 / tx;
    int ny = next_pow2(p->nrow);
    if (o->TY > ny)
        o->TY = ny;
    o->blocks = (p->nrow + o->TY - 1) / o->TY;
    o->unroll = 1;
    if (o->kind == CF_RS_ROW_STREAM) {
        int s = grid_splits(p, info, o->blocks, o->TX * o->TY, (int64_t)o->TX * V);
        if (s > 1) {
            o->splits = s;
            size_t n = 0;
            while (o->why[n])
                n++;
            snprintf(o->why + n, sizeof o->why - n, "; %lld row(s) fill few SMs: %d blocks a row",
                     (long long)p->nrow, s);
        }
    }
}

static void choose_outer(const cf_rs_problem *p, const cf_cuda_device_info *info, cf_rs_sched *o)
{
    o->V = 1;
    o->items = 0;
    int tx = p->nrow >= 32 ? 32 : next_pow2(p->nrow);
    int threads = OUTER_THREADS;
    int64_t blocks = (p->nrow + tx - 1) / tx;
    int sms = sms_of(info);
    const char *narrow = "";
    if (p->later_full) {
        /* A normalization keeps its outputs in one block: fewer outputs a
         * block (down to one 32-byte sector of a row) give more blocks. */
        int eb = p->elem_bytes > 0 ? p->elem_bytes : 4;
        int minx = 32 / eb > 1 ? 32 / eb : 1;
        threads = OUTER_THREADS_NORM;
        while (blocks < 2 * (int64_t)sms && tx > minx) {
            tx /= 2;
            blocks = (p->nrow + tx - 1) / tx;
            narrow = ", narrowed for more blocks";
        }
    }
    int ty = next_pow2(p->nred);
    int cap = threads / tx;
    if (cap > 1024 / tx)
        cap = 1024 / tx;
    if (cap < 1)
        cap = 1;
    o->TX = tx;
    o->TY = ty < cap ? ty : cap;
    o->blocks = blocks;
    o->unroll = p->quick ? 1 : 4;
    int s = grid_splits(p, info, blocks, o->TX * o->TY, o->TY);
    if (s > 1) {
        o->kind = CF_RS_OUTER_GRID;
        o->splits = s;
        snprintf(o->why, sizeof o->why,
                 "%lld outputs along the contiguous axis give %lld block(s) of %dx%d for %d SMs: "
                 "the reduced range of %lld splits over %d blocks, combined by the last",
                 (long long)p->nrow, (long long)blocks, o->TX, o->TY, sms, (long long)p->nred, s);
    } else {
        o->kind = CF_RS_OUTER_BLOCK;
        snprintf(o->why, sizeof o->why,
                 "%lld outputs along the contiguous axis, %d a block%s; %d threads split the "
                 "reduced range of %lld%s",
                 (long long)p->nrow, o->TX, narrow, o->TY, (long long)p->nred,
                 p->later_full ? " (a later phase reads the reduced domain: no grid split)" : "");
    }
}

void cf_rs_choose(const cf_rs_problem *p, const cf_cuda_device_info *info, cf_rs_sched *out)
{
    *out = (cf_rs_sched){.splits = 1, .unroll = 1};
    if (p->outer)
        choose_outer(p, info, out);
    else
        choose_row(p, info, out);
}

bool cf_rs_split_normalization(const cf_rs_problem *p, const cf_rs_sched *s,
                               const cf_cuda_device_info *info)
{
    const int64_t min_elems = (int64_t)1 << 21;
    return p->later_full && s->blocks < sms_of(info) && p->nrow > 0 &&
           p->nred >= min_elems / p->nrow;
}
