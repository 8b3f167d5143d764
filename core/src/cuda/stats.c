/* cuda/stats.c - counters of the CUDA executor's one-time costs (cuda.h's
 * cf_cuda_stats): where the first execute of a new fusion spends its time. */
#include <stdatomic.h>
#include <time.h>

#include "cuda/cuda_host.h"

static _Atomic uint64_t counters[CF_STAT_COUNT];

uint64_t cf_cuda_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

void cf_cuda_stat_add(cf_cuda_stat which, uint64_t v)
{
    atomic_fetch_add_explicit(&counters[which], v, memory_order_relaxed);
}

void cf_cuda_stats_get(cf_cuda_stats *out)
{
#define GET(i) atomic_load_explicit(&counters[i], memory_order_relaxed)
    out->nvrtc_open_ns = GET(CF_STAT_NVRTC_OPEN_NS);
    out->plans_built = GET(CF_STAT_PLANS_BUILT);
    out->plan_build_ns = GET(CF_STAT_PLAN_BUILD_NS);
    out->compiles = GET(CF_STAT_COMPILES);
    out->compile_ns = GET(CF_STAT_COMPILE_NS);
    out->disk_hits = GET(CF_STAT_DISK_HITS);
    out->module_loads = GET(CF_STAT_MODULE_LOADS);
    out->module_load_ns = GET(CF_STAT_MODULE_LOAD_NS);
    out->quick_plans = GET(CF_STAT_QUICK_PLANS);
    out->tier_swaps = GET(CF_STAT_TIER_SWAPS);
    out->tier_failures = GET(CF_STAT_TIER_FAILURES);
#undef GET
}
