/* cpu/kern_simd.h - the body of one x86 SIMD kernel table: SLEEF
 * declarations, vector loops and the instantiation of kern_float.h and
 * kern_int.h, for the ISA that the including file describes:
 *   CF_ISA(x)             x with the ISA's suffix (x##_avx2)
 *   CF_SIMD_PS, _PD       vector types; CF_SIMD_WF, _WD their widths
 *   CF_SIMD_LDPS, _STPS, _LDPD, _STPD, _SQRTPS, _SQRTPD   intrinsics
 *   CF_SLEEF_F(f, acc), CF_SLEEF_D(f, acc)               SLEEF names
 * The includer also sets the target pragmas around the inclusion, and
 * defines the table after it with CF_SIMD_KERNEL_TABLE. */

/* SLEEF's entry points for this ISA. sleef.h declares them only when the
 * whole translation unit targets the ISA, so the template names the ones
 * it uses. */
#define CF_SLEEF_DECL(f, acc)                         \
    CF_SIMD_PS CF_SLEEF_F(f, acc)(CF_SIMD_PS);        \
    CF_SIMD_PD CF_SLEEF_D(f, acc)(CF_SIMD_PD);
#define CF_SLEEF_DECL2(f, acc)                              \
    CF_SIMD_PS CF_SLEEF_F(f, acc)(CF_SIMD_PS, CF_SIMD_PS);  \
    CF_SIMD_PD CF_SLEEF_D(f, acc)(CF_SIMD_PD, CF_SIMD_PD);
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
#define KF(x) CF_ISA(x##_f32)
#define VUN(f, acc, o, a, n) \
    VLOOP(CF_SIMD_PS, float, CF_SIMD_WF, CF_SIMD_LDPS, CF_SIMD_STPS, CF_SLEEF_F(f, acc), o, a, n)
#define VBIN(f, acc, o, a, b, n) \
    VLOOP2(CF_SIMD_PS, float, CF_SIMD_WF, CF_SIMD_LDPS, CF_SIMD_STPS, CF_SLEEF_F(f, acc), o, a, b, n)
#define VSQRT(o, a, n) VLOOP(CF_SIMD_PS, float, CF_SIMD_WF, CF_SIMD_LDPS, CF_SIMD_STPS, CF_SIMD_SQRTPS, o, a, n)
#include "cpu/kern_float.h"
#undef T
#undef KF
#undef VUN
#undef VBIN
#undef VSQRT

#define T double
#define KF(x) CF_ISA(x##_f64)
#define VUN(f, acc, o, a, n) \
    VLOOP(CF_SIMD_PD, double, CF_SIMD_WD, CF_SIMD_LDPD, CF_SIMD_STPD, CF_SLEEF_D(f, acc), o, a, n)
#define VBIN(f, acc, o, a, b, n) \
    VLOOP2(CF_SIMD_PD, double, CF_SIMD_WD, CF_SIMD_LDPD, CF_SIMD_STPD, CF_SLEEF_D(f, acc), o, a, b, n)
#define VSQRT(o, a, n) VLOOP(CF_SIMD_PD, double, CF_SIMD_WD, CF_SIMD_LDPD, CF_SIMD_STPD, CF_SIMD_SQRTPD, o, a, n)
#include "cpu/kern_float.h"
#undef T
#undef KF
#undef VUN
#undef VBIN
#undef VSQRT

#define KI(x) CF_ISA(x##_i64)
#include "cpu/kern_int.h"
#undef KI

/* The table's initializer; used after the target pragmas are popped. */
#define CF_SIMD_KERNEL_TABLE                                                      \
    {                                                                             \
        .pw = {CF_ISA(pw_f64), CF_ISA(pw_f32), CF_ISA(pw_i64)},                   \
        .pws = {CF_ISA(pws_f64), CF_ISA(pws_f32), CF_ISA(pws_i64)},               \
        .rowred = {CF_ISA(rowred_f64), CF_ISA(rowred_f32), CF_ISA(rowred_i64)},   \
        .rowsq = {CF_ISA(rowsq_f64), CF_ISA(rowsq_f32), CF_ISA(rowsq_i64)},       \
        .colred = {CF_ISA(colred_f64), CF_ISA(colred_f32), CF_ISA(colred_i64)},   \
        .colsum = {CF_ISA(colsum_f64), CF_ISA(colsum_f32), CF_ISA(colsum_i64)},   \
        .colsq = {CF_ISA(colsq_f64), CF_ISA(colsq_f32), CF_ISA(colsq_i64)},       \
    }
