/* cpu/kernels_avx512.c - the kernel table for x86-64 CPUs with AVX-512
 * (F, DQ, VL, BW): the portable loops compiled for AVX-512, with SLEEF's
 * 16-wide (1.0 ulp) transcendentals. Chosen at run time by
 * cf_cpu_kernels(). */
#include "cpu/cpu.h"

#ifdef CF_CPU_HAVE_AVX2
#include <immintrin.h>
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <tgmath.h>

#if defined(__clang__)
#pragma clang attribute push(__attribute__((target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma"))), apply_to = function)
#elif defined(__GNUC__)
#pragma GCC push_options
#pragma GCC target("avx512f,avx512dq,avx512vl,avx512bw,avx2,fma")
#endif

/* SLEEF's AVX2 entry points. sleef.h declares them only when the whole
 * translation unit targets AVX-512, so this file names the ones it uses. */
#define CF_SLEEF_DECL(f, acc)                         \
    __m512 Sleef_##f##f16_##acc##avx512f(__m512);         \
    __m512d Sleef_##f##d8_##acc##avx512f(__m512d);
#define CF_SLEEF_DECL2(f, acc)                              \
    __m512 Sleef_##f##f16_##acc##avx512f(__m512, __m512);       \
    __m512d Sleef_##f##d8_##acc##avx512f(__m512d, __m512d);
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
#define KF(x) x##_f32_avx512
#define VUN(f, acc, o, a, n) \
    VLOOP(__m512, float, 16, _mm512_loadu_ps, _mm512_storeu_ps, Sleef_##f##f16_##acc##avx512f, o, a, n)
#define VBIN(f, acc, o, a, b, n) \
    VLOOP2(__m512, float, 16, _mm512_loadu_ps, _mm512_storeu_ps, Sleef_##f##f16_##acc##avx512f, o, a, b, n)
#define VSQRT(o, a, n) VLOOP(__m512, float, 16, _mm512_loadu_ps, _mm512_storeu_ps, _mm512_sqrt_ps, o, a, n)
#include "cpu/kern_float.h"
#undef T
#undef KF
#undef VUN
#undef VBIN
#undef VSQRT

#define T double
#define KF(x) x##_f64_avx512
#define VUN(f, acc, o, a, n) \
    VLOOP(__m512d, double, 8, _mm512_loadu_pd, _mm512_storeu_pd, Sleef_##f##d8_##acc##avx512f, o, a, n)
#define VBIN(f, acc, o, a, b, n) \
    VLOOP2(__m512d, double, 8, _mm512_loadu_pd, _mm512_storeu_pd, Sleef_##f##d8_##acc##avx512f, o, a, b, n)
#define VSQRT(o, a, n) VLOOP(__m512d, double, 8, _mm512_loadu_pd, _mm512_storeu_pd, _mm512_sqrt_pd, o, a, n)
#include "cpu/kern_float.h"
#undef T
#undef KF
#undef VUN
#undef VBIN
#undef VSQRT

#define KI(x) x##_i64_avx512
#include "cpu/kern_int.h"
#undef KI

#if defined(__clang__)
#pragma clang attribute pop
#elif defined(__GNUC__)
#pragma GCC pop_options
#endif

const cf_kernels cf_kernels_avx512 = {
    .pw = {pw_f64_avx512, pw_f32_avx512, pw_i64_avx512},
    .pws = {pws_f64_avx512, pws_f32_avx512, pws_i64_avx512},
    .rowred = {rowred_f64_avx512, rowred_f32_avx512, rowred_i64_avx512},
    .rowsq = {rowsq_f64_avx512, rowsq_f32_avx512, rowsq_i64_avx512},
    .colred = {colred_f64_avx512, colred_f32_avx512, colred_i64_avx512},
    .colsum = {colsum_f64_avx512, colsum_f32_avx512, colsum_i64_avx512},
    .colsq = {colsq_f64_avx512, colsq_f32_avx512, colsq_i64_avx512},
};
#endif
