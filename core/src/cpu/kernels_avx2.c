/* cpu/kernels_avx2.c - the kernel table for x86-64 CPUs with AVX2 and FMA:
 * the portable loops compiled for this ISA, with SLEEF's vectorised (1.0 ulp)
 * transcendentals. Chosen at run time by cf_cpu_kernels(). */
#include "cpu/cpu.h"

#ifdef CF_CPU_HAVE_AVX2
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <tgmath.h>

#define CF_ISA(x) x##_avx2
#define CF_SIMD_PS __m256
#define CF_SIMD_PD __m256d
#define CF_SIMD_WF 8
#define CF_SIMD_WD 4
#define CF_SIMD_LDPS _mm256_loadu_ps
#define CF_SIMD_STPS _mm256_storeu_ps
#define CF_SIMD_LDPD _mm256_loadu_pd
#define CF_SIMD_STPD _mm256_storeu_pd
#define CF_SIMD_SQRTPS _mm256_sqrt_ps
#define CF_SIMD_SQRTPD _mm256_sqrt_pd
#define CF_SLEEF_F(f, acc) Sleef_##f##f8_##acc##avx2
#define CF_SLEEF_D(f, acc) Sleef_##f##d4_##acc##avx2

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

#include "cpu/kern_simd.h"

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

const cf_kernels cf_kernels_avx2 = CF_SIMD_KERNEL_TABLE;
#endif
