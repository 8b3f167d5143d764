/* cpu/kernels_generic.c - the portable kernel table: plain C loops, libm
 * for transcendentals. Used where the CPU lacks AVX2/FMA. */
#include <math.h>
#include <stdint.h>
#include <string.h>
#include <tgmath.h>

#include "cpu/cpu.h"

#define VUN(f, acc, o, a, n)                 \
    for (int64_t i_ = 0; i_ < (n); i_++) {   \
        (o)[i_] = f((a)[i_]);                \
    }
#define VBIN(f, acc, o, a, b, n)             \
    for (int64_t i_ = 0; i_ < (n); i_++) {   \
        (o)[i_] = f((a)[i_], (b)[i_]);       \
    }
#define VSQRT(o, a, n) VUN(sqrt, u05, o, a, n)

#define T float
#define KF(x) x##_f32_generic
#include "cpu/kern_float.h"
#undef T
#undef KF

#define T double
#define KF(x) x##_f64_generic
#include "cpu/kern_float.h"
#undef T
#undef KF

#define KI(x) x##_i64_generic
#include "cpu/kern_int.h"
#undef KI

const cf_kernels cf_kernels_generic = {
    .pw = {pw_f64_generic, pw_f32_generic, pw_i64_generic},
    .pws = {pws_f64_generic, pws_f32_generic, pws_i64_generic},
    .rowred = {rowred_f64_generic, rowred_f32_generic, rowred_i64_generic},
    .rowsq = {rowsq_f64_generic, rowsq_f32_generic, rowsq_i64_generic},
    .colred = {colred_f64_generic, colred_f32_generic, colred_i64_generic},
    .colsum = {colsum_f64_generic, colsum_f32_generic, colsum_i64_generic},
    .colsq = {colsq_f64_generic, colsq_f32_generic, colsq_i64_generic},
};
