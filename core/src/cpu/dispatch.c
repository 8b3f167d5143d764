/* cpu/dispatch.c - picks the kernel table for the running CPU. */
#include "cpu/cpu.h"

const cf_kernels *cf_cpu_kernels(void)
{
#ifdef CF_CPU_HAVE_AVX2
    /* Reads the CPU model the runtime filled in at start-up: a few loads,
     * no state of ours, so every call may ask. */
    if (__builtin_cpu_supports("avx512f") && __builtin_cpu_supports("avx512dq") &&
        __builtin_cpu_supports("avx512vl") && __builtin_cpu_supports("avx512bw"))
        return &cf_kernels_avx512;
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"))
        return &cf_kernels_avx2;
#endif
    return &cf_kernels_generic;
}
