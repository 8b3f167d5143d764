/* cpu/threads.c - splitting work over threads (OpenMP). */
#include <omp.h>

#include "cpu/cpu.h"

int cf_cpu_max_threads(void)
{
    int n = omp_get_max_threads();
    return n > 0 ? n : 1;
}

int cf_cpu_pick_threads(int nthreads, int64_t nitems, int64_t work)
{
    int nt = nthreads > 0 ? nthreads : cf_cpu_max_threads();
    if (work < CF_CPU_PAR_MIN_WORK || nitems < 2)
        return 1;
    if ((int64_t)nt > nitems)
        nt = (int)nitems;
    return nt;
}

void cf_parallel(int nt, int64_t nitems, cf_task_fn fn, void *ctx)
{
    if (nitems <= 0)
        return;
    if (nt <= 1) {
        fn(ctx, 0, 0, nitems);
        return;
    }
#pragma omp parallel num_threads(nt)
    {
        /* The team may be smaller than asked for (nested or limited):
         * split by the threads that actually run. */
        int64_t t = omp_get_thread_num(), k = omp_get_num_threads();
        int64_t b = nitems * t / k, e = nitems * (t + 1) / k;
        if (b < e)
            fn(ctx, (int)t, b, e);
    }
}
