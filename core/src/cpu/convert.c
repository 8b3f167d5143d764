/* cpu/convert.c - storage formats to and from the in-register
 * representations, and strided n-d gathers and scatters.
 *
 * Loops are generated per (source, destination) pair so that each one is a
 * branch-free loop the compiler can vectorise; the conversions themselves are
 * written with integer bit operations (no table, no library call).
 */
#include <stdint.h>
#include <string.h>

#include "cpu/cpu.h"

static inline uint32_t f2u(float f)
{
    uint32_t u;
    memcpy(&u, &f, 4);
    return u;
}

static inline float u2f(uint32_t u)
{
    float f;
    memcpy(&f, &u, 4);
    return f;
}

static inline float h2f(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000u) << 16;
    uint32_t em = h & 0x7fffu;
    /* Exponent and mantissa moved into float position, then rescaled by
     * 2^112: exact for normals and subnormals alike. */
    float mag = u2f(em << 13) * 0x1p112f;
    uint32_t bits = em >= 0x7c00u ? ((em << 13) | 0x7f800000u) : f2u(mag);
    return u2f(bits | sign);
}

static inline uint16_t f2h(float f)
{
    uint32_t x = f2u(f);
    uint32_t sign = (x >> 16) & 0x8000u;
    uint32_t r;
    x &= 0x7fffffffu;
    if (x >= 0x47800000u) {
        r = x > 0x7f800000u ? 0x7e00u : 0x7c00u;
    } else if (x < 0x38800000u) {
        /* Adding 0.5 aligns the value so that float rounding happens at
         * 2^-24, the spacing of half subnormals (round to nearest even). */
        r = f2u(u2f(x) + 0.5f) - 0x3f000000u;
    } else {
        /* Rebias the exponent by -112 and round to nearest even on the 13
         * dropped mantissa bits. */
        r = (x + 0xc8000fffu + ((x >> 13) & 1u)) >> 13;
    }
    return (uint16_t)(r | sign);
}

static inline float bf2f(uint16_t h) { return u2f((uint32_t)h << 16); }

static inline uint16_t f2bf(float f)
{
    uint32_t x = f2u(f);
    if ((x & 0x7fffffffu) > 0x7f800000u)
        return (uint16_t)((x >> 16) | 0x40u);
    return (uint16_t)((x + 0x7fffu + ((x >> 16) & 1u)) >> 16);
}

static inline float round_half(float v) { return h2f(f2h(v)); }
static inline float round_bf16(float v) { return bf2f(f2bf(v)); }

/* Float to integer the way x86 conversions (and so torch and numpy) do it:
 * NaN and out-of-range values give the minimum of the type. */
static inline int64_t f64_to_i64(double v)
{
    return (v >= -9223372036854775808.0 && v < 9223372036854775808.0) ? (int64_t)v
                                                                       : INT64_MIN;
}

static inline int64_t f64_to_i32(double v)
{
    return (v > -2147483649.0 && v < 2147483648.0) ? (int64_t)(int32_t)v : INT32_MIN;
}

static inline int64_t f32_to_i64(float v) { return f64_to_i64((double)v); }
static inline int64_t f32_to_i32(float v) { return f64_to_i32((double)v); }
static inline int64_t i64_id(int64_t v) { return v; }

/* Two's complement wrap to 32 bits; the narrowing conversion is defined by
 * gcc and clang as modular. */
static inline int64_t i64_to_i32(int64_t v) { return (int64_t)(int32_t)(uint32_t)(uint64_t)v; }

#define TO_I64(x) _Generic((x), double: f64_to_i64, float: f32_to_i64, default: i64_id)(x)
#define TO_I32(x) _Generic((x), double: f64_to_i32, float: f32_to_i32, default: i64_to_i32)(x)

/* One loop per destination; SRC(i) reads source element i. */
#define CVT_TO_DST(SRC)                                                     \
    switch (dst) {                                                          \
    case CF_DTYPE_DOUBLE:                                                   \
        for (int64_t i = 0; i < n; i++) ((double *)out)[i] = (double)SRC(i); \
        break;                                                              \
    case CF_DTYPE_FLOAT:                                                    \
        for (int64_t i = 0; i < n; i++) ((float *)out)[i] = (float)SRC(i);  \
        break;                                                              \
    case CF_DTYPE_HALF:                                                     \
        for (int64_t i = 0; i < n; i++)                                     \
            ((float *)out)[i] = round_half((float)SRC(i));                  \
        break;                                                              \
    case CF_DTYPE_BFLOAT16:                                                 \
        for (int64_t i = 0; i < n; i++)                                     \
            ((float *)out)[i] = round_bf16((float)SRC(i));                  \
        break;                                                              \
    case CF_DTYPE_INT:                                                      \
        for (int64_t i = 0; i < n; i++) ((int64_t *)out)[i] = TO_I64(SRC(i)); \
        break;                                                              \
    case CF_DTYPE_INT32:                                                    \
        for (int64_t i = 0; i < n; i++) ((int64_t *)out)[i] = TO_I32(SRC(i)); \
        break;                                                              \
    default:                                                                \
        for (int64_t i = 0; i < n; i++) ((int64_t *)out)[i] = SRC(i) != 0;  \
        break;                                                              \
    }

void cf_cvt_load(cf_dtype src, const void *p, int64_t stride, int64_t n,
                 cf_dtype dst, void *out)
{
    if (n <= 0)
        return;
    if (src == dst && cf_dtype_is_native(src) && stride == 1) {
        if (p != out)
            memmove(out, p, (size_t)n * cf_dtype_size(src));
        return;
    }
    switch (src) {
    case CF_DTYPE_DOUBLE: {
        const double *s = p;
#define S(i) s[(i) * stride]
        CVT_TO_DST(S)
#undef S
        break;
    }
    case CF_DTYPE_FLOAT: {
        const float *s = p;
#define S(i) s[(i) * stride]
        CVT_TO_DST(S)
#undef S
        break;
    }
    case CF_DTYPE_HALF: {
        const uint16_t *s = p;
#define S(i) h2f(s[(i) * stride])
        CVT_TO_DST(S)
#undef S
        break;
    }
    case CF_DTYPE_BFLOAT16: {
        const uint16_t *s = p;
#define S(i) bf2f(s[(i) * stride])
        CVT_TO_DST(S)
#undef S
        break;
    }
    case CF_DTYPE_INT: {
        const int64_t *s = p;
#define S(i) s[(i) * stride]
        CVT_TO_DST(S)
#undef S
        break;
    }
    case CF_DTYPE_INT32: {
        const int32_t *s = p;
#define S(i) ((int64_t)s[(i) * stride])
        CVT_TO_DST(S)
#undef S
        break;
    }
    default: {
        const uint8_t *s = p;
#define S(i) ((int64_t)(s[(i) * stride] != 0))
        CVT_TO_DST(S)
#undef S
        break;
    }
    }
}

#define STORE_FROM(SRC)                                                       \
    switch (dst) {                                                            \
    case CF_DTYPE_DOUBLE:                                                     \
        for (int64_t i = 0; i < n; i++) ((double *)p)[i * stride] = (double)SRC[i]; \
        break;                                                                \
    case CF_DTYPE_FLOAT:                                                      \
        for (int64_t i = 0; i < n; i++) ((float *)p)[i * stride] = (float)SRC[i]; \
        break;                                                                \
    case CF_DTYPE_HALF:                                                       \
        for (int64_t i = 0; i < n; i++)                                       \
            ((uint16_t *)p)[i * stride] = f2h((float)SRC[i]);                 \
        break;                                                                \
    case CF_DTYPE_BFLOAT16:                                                   \
        for (int64_t i = 0; i < n; i++)                                       \
            ((uint16_t *)p)[i * stride] = f2bf((float)SRC[i]);                \
        break;                                                                \
    case CF_DTYPE_INT:                                                        \
        for (int64_t i = 0; i < n; i++) ((int64_t *)p)[i * stride] = TO_I64(SRC[i]); \
        break;                                                                \
    case CF_DTYPE_INT32:                                                      \
        for (int64_t i = 0; i < n; i++)                                       \
            ((int32_t *)p)[i * stride] = (int32_t)TO_I32(SRC[i]);             \
        break;                                                                \
    default:                                                                  \
        for (int64_t i = 0; i < n; i++) ((uint8_t *)p)[i * stride] = SRC[i] != 0; \
        break;                                                                \
    }

void cf_cvt_store(cf_dtype src, const void *in, int64_t n, cf_dtype dst,
                  void *p, int64_t stride)
{
    if (n <= 0)
        return;
    switch (cf_rep_of(src)) {
    case CF_REP_F64: {
        const double *s = in;
        STORE_FROM(s)
        break;
    }
    case CF_REP_F32: {
        const float *s = in;
        STORE_FROM(s)
        break;
    }
    default: {
        const int64_t *s = in;
        STORE_FROM(s)
        break;
    }
    }
}

static cf_dtype native_of(cf_rep r)
{
    return r == CF_REP_F64 ? CF_DTYPE_DOUBLE : r == CF_REP_F32 ? CF_DTYPE_FLOAT : CF_DTYPE_INT;
}

void cf_cvt_rep(cf_dtype src, const void *in, int64_t n, cf_dtype dst, void *out)
{
    cf_cvt_load(native_of(cf_rep_of(src)), in, 1, n, dst, out);
}

void cf_normalize(cf_dtype t, void *buf, int64_t n)
{
    if (t == CF_DTYPE_INT32 || t == CF_DTYPE_BOOL || t == CF_DTYPE_HALF ||
        t == CF_DTYPE_BFLOAT16)
        cf_cvt_load(native_of(cf_rep_of(t)), buf, 1, n, t, buf);
}

void cf_fill_scalar(const cf_scalar *s, cf_dtype dst, int64_t n, void *out)
{
    if (n <= 0)
        return;
    if (cf_dtype_is_float(s->dtype)) {
        double v = s->v.f;
        cf_cvt_load(CF_DTYPE_DOUBLE, &v, 1, 1, dst, out);
    } else if (s->dtype == CF_DTYPE_BOOL) {
        uint8_t v = s->v.b ? 1 : 0;
        cf_cvt_load(CF_DTYPE_BOOL, &v, 1, 1, dst, out);
    } else {
        int64_t v = s->v.i;
        cf_cvt_load(CF_DTYPE_INT, &v, 1, 1, dst, out);
    }
    cf_splat(out, cf_rep_size(cf_rep_of(dst)), n);
}

void cf_splat(void *buf, int rsz, int64_t n)
{
    if (rsz == 4) {
        float *f = buf, v = f[0];
        for (int64_t i = 1; i < n; i++) f[i] = v;
    } else {
        int64_t *w = buf, v = w[0];
        for (int64_t i = 1; i < n; i++) w[i] = v;
    }
}

void cf_ndview_make(cf_ndview *v, void *data, cf_dtype dtype, int ndim,
                    const int64_t *shape, const int64_t *strides)
{
    int nd = 0;
    v->data = data;
    v->dtype = dtype;
    for (int d = 0; d < ndim; d++) {
        if (shape[d] == 0) {
            /* Empty: nothing is ever read; keep a single empty axis. */
            v->ndim = 1;
            v->shape[0] = 0;
            v->strides[0] = 1;
            return;
        }
        if (shape[d] == 1)
            continue;
        if (nd > 0 && v->strides[nd - 1] == strides[d] * shape[d]) {
            v->shape[nd - 1] *= shape[d];
            v->strides[nd - 1] = strides[d];
            continue;
        }
        v->shape[nd] = shape[d];
        v->strides[nd] = strides[d];
        nd++;
    }
    v->ndim = nd;
}

char *cf_nd_addr(const cf_ndview *v, int64_t lin)
{
    int64_t off = 0;
    for (int d = v->ndim - 1; d >= 0; d--) {
        off += (lin % v->shape[d]) * v->strides[d];
        lin /= v->shape[d];
    }
    return v->data + off * (int64_t)cf_dtype_size(v->dtype);
}

int cf_ndview_dense(const cf_ndview *v)
{
    return v->ndim == 0 || (v->ndim == 1 && v->strides[0] == 1);
}

/* Walk elements [start, start + n) of v as runs along the innermost axis,
 * calling the body with the run's address (in elements) and length. */
#define ND_WALK(v, start, n, BODY)                                            \
    do {                                                                      \
        int nd_ = (v)->ndim;                                                  \
        int64_t idx_[CF_MAX_DIMS], rem_ = (start);                            \
        int64_t done_ = 0;                                                    \
        for (int d_ = nd_ - 1; d_ >= 0; d_--) {                               \
            idx_[d_] = rem_ % (v)->shape[d_];                                 \
            rem_ /= (v)->shape[d_];                                           \
        }                                                                     \
        while (done_ < (n)) {                                                 \
            int64_t off_ = 0;                                                 \
            for (int d_ = 0; d_ < nd_; d_++) off_ += idx_[d_] * (v)->strides[d_]; \
            int64_t run_ = (v)->shape[nd_ - 1] - idx_[nd_ - 1];               \
            if (run_ > (n) - done_)                                           \
                run_ = (n) - done_;                                           \
            int64_t step_ = (v)->strides[nd_ - 1];                            \
            BODY;                                                             \
            done_ += run_;                                                    \
            idx_[nd_ - 1] += run_;                                            \
            for (int d_ = nd_ - 1; d_ > 0 && idx_[d_] >= (v)->shape[d_]; d_--) { \
                idx_[d_] = 0;                                                 \
                idx_[d_ - 1]++;                                               \
            }                                                                 \
        }                                                                     \
    } while (0)

void cf_nd_gather(const cf_ndview *v, int64_t start, int64_t n, cf_dtype dst,
                  void *out)
{
    size_t esz = cf_dtype_size(v->dtype);
    int rsz = cf_rep_size(cf_rep_of(dst));
    if (n <= 0)
        return;
    if (v->ndim == 0) {
        cf_cvt_load(v->dtype, v->data, 0, n, dst, out);
        return;
    }
    ND_WALK(v, start, n,
            cf_cvt_load(v->dtype, v->data + off_ * (int64_t)esz, step_, run_, dst,
                        (char *)out + done_ * rsz));
}

void cf_nd_scatter(const cf_ndview *v, int64_t start, int64_t n, cf_dtype src,
                   const void *in)
{
    size_t esz = cf_dtype_size(v->dtype);
    int rsz = cf_rep_size(cf_rep_of(src));
    if (n <= 0)
        return;
    if (v->ndim == 0) {
        /* One element: the last value written wins (n is 1 in practice). */
        cf_cvt_store(src, (const char *)in + (n - 1) * rsz, 1, v->dtype, v->data, 1);
        return;
    }
    ND_WALK(v, start, n,
            cf_cvt_store(src, (const char *)in + done_ * rsz, run_, v->dtype,
                         v->data + off_ * (int64_t)esz, step_));
}
