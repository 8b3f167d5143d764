/* cpu/kernels_avx2.c - the kernel table for x86-64 CPUs with AVX2 and FMA:
 * the same loops as the portable table compiled for AVX2, with SLEEF's
 * vectorised (1.0 ulp) transcendentals. Chosen at run time by
 * cf_cpu_kernels(). */
#include "cpu/cpu.h"

#ifdef CF_CPU_HAVE_AVX2
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <tgmath.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx2,fma")
#endif

/* SLEEF's AVX2 entry points. sleef.h declares them only when the whole
 * translation unit targets AVX, so this file names the ones it uses. */
#define CF_SLEEF_DECL(f, acc)                         \
    __m256 Sleef_##f##f8_##acc##avx2(__m256);         \
    __m256d Sleef_##f##d4_##acc##avx2(__m256d);
#define CF_SLEEF_DECL2(f, acc)                              \
    __m256 Sleef_##f##f8_##acc##avx2(__m256, __m256);       \
    __m256d Sleef_##f##d4_##acc##avx2(__m256d, __m256d);
CF_SLEEF_DECL(exp, u10)
CF_SLEEF_DECL(exp2, u10)
CF_SLEEF_DECL(expm1, u10)
CF_SLEEF_DECL(log, u10)
CF_SLEEF_DECL(log2, u10)
CF_SLEEF_DECL(log10, u10)
CF_SLEEF_DECL(log1p, u10)
CF_SLEEF_DECL(sin, u10)
CF_SLEEF_DECL(cos, u10)
CF_SLEEF_DECL(tan, u10)
CF_SLEEF_DECL(tanh, u10)
CF_SLEEF_DECL(sinh, u10)
CF_SLEEF_DECL(cosh, u10)
CF_SLEEF_DECL(asin, u10)
CF_SLEEF_DECL(acos, u10)
CF_SLEEF_DECL(atan, u10)
CF_SLEEF_DECL(asinh, u10)
CF_SLEEF_DECL(acosh, u10)
CF_SLEEF_DECL(atanh, u10)
CF_SLEEF_DECL(erf, u10)
CF_SLEEF_DECL(erfc, u15)
CF_SLEEF_DECL2(pow, u10)
CF_SLEEF_DECL2(atan2, u10)

/* Apply a vector function to n elements; the tail goes through a padded
 * copy so every element sees the same (vector) implementation. */
#define VLOOP(VT, ET, W, LD, STO, fn, o, a, n)                       \
    do {                                                             \
        int64_t i_ = 0;                                              \
        for (; i_ + W <= (n); i_ += W) STO((o) + i_, fn(LD((a) + i_))); \
        if (i_ < (n)) {                                              \
            ET t_[W] = {0};                                          \
            size_t r_ = (size_t)((n) - i_) * sizeof(ET);             \
            memcpy(t_, (a) + i_, r_);                                \
            STO(t_, fn(LD(t_)));                                     \
            memcpy((o) + i_, t_, r_);                                \
        }                                                            \
    } while (0)
#define VLOOP2(VT, ET, W, LD, STO, fn, o, a, b, n)                   \
    do {                                                             \
        int64_t i_ = 0;                                              \
        for (; i_ + W <= (n); i_ += W)                               \
            STO((o) + i_, fn(LD((a) + i_), LD((b) + i_)));           \
        if (i_ < (n)) {                                              \
            ET t_[W] = {0}, u_[W] = {0};                             \
            size_t r_ = (size_t)((n) - i_) * sizeof(ET);             \
            memcpy(t_, (a) + i_, r_);                                \
            memcpy(u_, (b) + i_, r_);                                \
            STO(t_, fn(LD(t_), LD(u_)));                             \
            memcpy((o) + i_, t_, r_);                                \
        }                                                            \
    } while (0)

#define T float
#define KF(x) x##_f32_avx2
#define VUN(f, acc, o, a, n) \
    VLOOP(__m256, float, 8, _mm256_loadu_ps, _mm256_storeu_ps, Sleef_##f##f8_##acc##avx2, o, a, n)
#define VBIN(f, acc, o, a, b, n) \
    VLOOP2(__m256, float, 8, _mm256_loadu_ps, _mm256_storeu_ps, Sleef_##f##f8_##acc##avx2, o, a, b, n)
#define VSQRT(o, a, n) VLOOP(__m256, float, 8, _mm256_loadu_ps, _mm256_storeu_ps, _mm256_sqrt_ps, o, a, n)
#include "cpu/kern_float.h"
#undef T
#undef KF
#undef VUN
#undef VBIN
#undef VSQRT

#define T double
#define KF(x) x##_f64_avx2
#define VUN(f, acc, o, a, n) \
    VLOOP(__m256d, double, 4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_##f##d4_##acc##avx2, o, a, n)
#define VBIN(f, acc, o, a, b, n) \
    VLOOP2(__m256d, double, 4, _mm256_loadu_pd, _mm256_storeu_pd, Sleef_##f##d4_##acc##avx2, o, a, b, n)
#define VSQRT(o, a, n) VLOOP(__m256d, double, 4, _mm256_loadu_pd, _mm256_storeu_pd, _mm256_sqrt_pd, o, a, n)
#include "cpu/kern_float.h"
#undef T
#undef KF
#undef VUN
#undef VBIN
#undef VSQRT

#define KI(x) x##_i64_avx2
#include "cpu/kern_int.h"
#undef KI

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

const cf_kernels cf_kernels_avx2 = {
    .pw = {pw_f64_avx2, pw_f32_avx2, pw_i64_avx2},
    .pws = {pws_f64_avx2, pws_f32_avx2, pws_i64_avx2},
    .rowred = {rowred_f64_avx2, rowred_f32_avx2, rowred_i64_avx2},
    .rowsq = {rowsq_f64_avx2, rowsq_f32_avx2, rowsq_i64_avx2},
    .colred = {colred_f64_avx2, colred_f32_avx2, colred_i64_avx2},
    .colsum = {colsum_f64_avx2, colsum_f32_avx2, colsum_i64_avx2},
    .colsq = {colsq_f64_avx2, colsq_f32_avx2, colsq_i64_avx2},
};
#endif
