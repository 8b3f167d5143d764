/* cpu/kern_float.h - pointwise and reduction loops of a floating type.
 *
 * A template: the including file defines
 *   T                 float or double
 *   KF(name)          the function name for this type and instruction set
 *   VUN(f, acc, o, a, n)      o[i] = f(a[i])       (vectorised where it can)
 *   VBIN(f, acc, o, a, b, n)  o[i] = f(a[i], b[i])
 *   VSQRT(o, a, n)            o[i] = sqrt(a[i])
 * and includes <tgmath.h>, so that exp, fabs, ... resolve to T's version.
 * Every loop is a plain counted loop over independent elements so the
 * compiler vectorises it for the instruction set of the including file.
 */

#define L(expr)                          \
    for (int64_t i = 0; i < n; i++) {    \
        expr;                            \
    }

/* SLEEF's vector versions of these overflow to inf where the true result is
 * still finite (float asinh/acosh past ~1.8e19, log1p near FLT_MAX, sinh/cosh
 * past 88.7): those elements are recomputed with the C library. */
#define VUN_FINITE(f, acc, o, a, n)                 \
    VUN(f, acc, o, a, n);                           \
    L(if (!isfinite(o[i]) && isfinite(a[i])) o[i] = f(a[i]))

/* NaN-propagating maximum/minimum with torch's choice on ties (the first). */
#define FMAX(x, y) (((x) != (x) || (x) >= (y)) ? (x) : (y))
#define FMIN(x, y) (((x) != (x) || (x) <= (y)) ? (x) : (y))

/* tanh of n elements (the registry names it for tanh). */
static void KF(tanh_loop)(int64_t n, T *o, const T *a)
{
    if (sizeof(T) == sizeof(float)) {
        /* float: (1 - e) / (1 + e) with e = exp(-2|x|) where that has
         * no cancellation (|x| >= 0.55), the odd Taylor series through
         * x^19 below it (truncation < 1e-9 relative); ~2 ulp overall
         * and several times faster than a correctly rounded tanh. */
        L(o[i] = (T)-2 * fabs(a[i]))
        VUN(exp, u10, o, o, n);
        for (int64_t i = 0; i < n; i++) {
            T x = a[i], ax = fabs(x), z = x * x, e = o[i];
            T big = ((T)1 - e) / ((T)1 + e);
            T q = (T)(-443861162.0 / 1856156927625.0);
            q = q * z + (T)(6404582.0 / 10854718875.0);
            q = q * z + (T)(-929569.0 / 638512875.0);
            q = q * z + (T)(21844.0 / 6081075.0);
            q = q * z + (T)(-1382.0 / 155925.0);
            q = q * z + (T)(62.0 / 2835.0);
            q = q * z + (T)(-17.0 / 315.0);
            q = q * z + (T)(2.0 / 15.0);
            q = q * z + (T)(-1.0 / 3.0);
            T small = ax + ax * (z * q);
            o[i] = copysign(ax < (T)0.55 ? small : big, x);
        }
    } else {
        VUN(tanh, u10, o, a, n);
    }
}

/* lgamma without the global signgam that lgamma() writes (threads share it). */
static inline T KF(lgam)(T x)
{
    int sg;
    if (sizeof(T) == sizeof(float))
        return (T)lgammaf_r((float)x, &sg);
    return (T)lgamma_r((double)x, &sg);
}

/* The loops are the registry's "cpu" text (core/ops/ops.toml). */
static cf_status KF(pw)(cf_opcode op, int64_t n, void *out, const void *const *in)
{
    T *o = out;
    int64_t *p = out;
    const T *a = in[0], *b = in[1], *c = in[2], *d = in[3];
    (void)p;
    (void)b;
    (void)c;
    (void)d;
    switch (op) {
#include "cpu_float.inc"
    default: return CF_ERR_TYPE;
    }
    return CF_OK;
}

static cf_status KF(pws)(cf_opcode op, int64_t n, void *out, const void *av, const void *sv,
                         int s_first)
{
    T *o = out;
    const T *a = av, c = *(const T *)sv;
    switch (op) {
    case CF_OP_ADD:
        if (s_first) {
            L(o[i] = c + a[i])
        } else {
            L(o[i] = a[i] + c)
        }
        break;
    case CF_OP_SUB:
        if (s_first) {
            L(o[i] = c - a[i])
        } else {
            L(o[i] = a[i] - c)
        }
        break;
    case CF_OP_MUL:
        if (s_first) {
            L(o[i] = c * a[i])
        } else {
            L(o[i] = a[i] * c)
        }
        break;
    case CF_OP_DIV:
    case CF_OP_TRUEDIV:
        if (s_first) {
            L(o[i] = c / a[i])
        } else {
            L(o[i] = a[i] / c)
        }
        break;
    default: return CF_ERR_TYPE;
    }
    return CF_OK;
}

static void KF(rowred)(cf_opcode op, int64_t n, const void *xv, cf_acc *acc)
{
    const T *x = xv;
    int64_t i = 0;
    if (op == CF_OP_SUM) {
        /* 128 bytes of lanes of T (two 64-byte vector chains) over
         * pieces of 1024 elements, each piece's total added in double:
         * vectorises without widening every element and keeps the error
         * of a piece, not of the whole row. */
        enum { SW = 128 / sizeof(T) };
        double total = 0;
        while (i < n) {
            int64_t end = n - i > 1024 ? i + 1024 : n;
            T s[SW] = {0};
            for (; i + SW <= end; i += SW)
                for (int j = 0; j < SW; j++) s[j] += x[i + j];
            for (; i < end; i++) s[0] += x[i];
            for (int w = SW / 2; w > 0; w /= 2)
                for (int j = 0; j < w; j++) s[j] += s[j + w];
            total += (double)s[0];
        }
        acc->d += total;
    } else if (op == CF_OP_PROD) {
        double s[4] = {1, 1, 1, 1};
        for (; i + 4 <= n; i += 4)
            for (int j = 0; j < 4; j++) s[j] *= (double)x[i + j];
        for (; i < n; i++) s[0] *= (double)x[i];
        acc->d *= (s[0] * s[1]) * (s[2] * s[3]);
    } else {
        /* 64-byte vectors of running maxima (minima) and a mask of the
         * lanes that saw a NaN: compares and masks in GCC/clang vector
         * types, since a NaN-propagating running max is a chain the
         * compiler will not vectorise. */
        typedef T vec_t __attribute__((vector_size(64)));
        typedef __typeof__(_Generic((T)0, float: (int32_t)0, default: (int64_t)0)) lane_t;
        typedef lane_t mask_t __attribute__((vector_size(64)));
        enum { VW = 64 / sizeof(T) };
        T m = (T)acc->d;
        vec_t lm = (vec_t){0} + m, lm2 = lm;
        mask_t nm = {0}, sel, sel2;
        /* Two chains of compare-and-blend, so that loads, not the latency
         * of one chain, set the pace. */
        if (op == CF_OP_MAX) {
            for (; i + 2 * VW <= n; i += 2 * VW) {
                vec_t v, v2;
                memcpy(&v, x + i, sizeof v);
                memcpy(&v2, x + i + VW, sizeof v2);
                sel = v > lm;
                sel2 = v2 > lm2;
                lm = (vec_t)((sel & (mask_t)v) | (~sel & (mask_t)lm));
                lm2 = (vec_t)((sel2 & (mask_t)v2) | (~sel2 & (mask_t)lm2));
                nm |= (v != v) | (v2 != v2);
            }
        } else {
            for (; i + 2 * VW <= n; i += 2 * VW) {
                vec_t v, v2;
                memcpy(&v, x + i, sizeof v);
                memcpy(&v2, x + i + VW, sizeof v2);
                sel = v < lm;
                sel2 = v2 < lm2;
                lm = (vec_t)((sel & (mask_t)v) | (~sel & (mask_t)lm));
                lm2 = (vec_t)((sel2 & (mask_t)v2) | (~sel2 & (mask_t)lm2));
                nm |= (v != v) | (v2 != v2);
            }
        }
        {
            /* Fold the lanes by halves (vector blends), then one NaN test
             * over the mask's words. */
            T a[VW], b[VW];
            uint64_t w[8], any = 0;
            memcpy(a, &lm, sizeof a);
            memcpy(b, &lm2, sizeof b);
            if (op == CF_OP_MAX) {
                for (int j = 0; j < VW; j++) a[j] = b[j] > a[j] ? b[j] : a[j];
                for (int h = VW / 2; h > 0; h /= 2)
                    for (int j = 0; j < h; j++) a[j] = a[j + h] > a[j] ? a[j + h] : a[j];
            } else {
                for (int j = 0; j < VW; j++) a[j] = b[j] < a[j] ? b[j] : a[j];
                for (int h = VW / 2; h > 0; h /= 2)
                    for (int j = 0; j < h; j++) a[j] = a[j + h] < a[j] ? a[j + h] : a[j];
            }
            /* Lanes start at m, so a NaN m stays in every lane. */
            m = a[0];
            memcpy(w, &nm, sizeof w);
            for (int j = 0; j < 8; j++) any |= w[j];
            if (any)
                /* The first NaN of the vector part, as a scalar loop
                 * would return it. */
                for (int64_t k = 0; k < i; k++)
                    if (x[k] != x[k]) {
                        m = x[k];
                        break;
                    }
        }
        for (; i < n; i++) m = op == CF_OP_MAX ? FMAX(x[i], m) : FMIN(x[i], m);
        acc->d = (double)m;
    }
}

static void KF(rowsq)(int64_t n, const void *xv, double mean, double *acc)
{
    const T *x = xv;
    double s[8] = {0};
    int64_t i = 0;
    for (; i + 8 <= n; i += 8)
        for (int j = 0; j < 8; j++) {
            double dv = (double)x[i + j] - mean;
            s[j] += dv * dv;
        }
    for (; i < n; i++) {
        double dv = (double)x[i] - mean;
        s[0] += dv * dv;
    }
    *acc += ((s[0] + s[1]) + (s[2] + s[3])) + ((s[4] + s[5]) + (s[6] + s[7]));
}

static void KF(colred)(cf_opcode op, int64_t n, const void *xv, cf_acc *accv)
{
    const T *x = xv;
    double *acc = &accv->d;
    /* acc points at an array of unions holding doubles: stride 1 double. */
    switch (op) {
    case CF_OP_SUM: L(acc[i] += (double)x[i]) break;
    case CF_OP_PROD: L(acc[i] *= (double)x[i]) break;
    case CF_OP_MAX: L(acc[i] = FMAX((double)x[i], acc[i])) break;
    default: L(acc[i] = FMIN((double)x[i], acc[i])) break;
    }
}

/* Elements of x before its first 64-byte boundary (at most n). */
static inline int64_t KF(peel)(const T *x, int64_t n)
{
    int64_t p = (int64_t)(((64 - ((uintptr_t)x & 63)) & 63) / sizeof(T));
    return p < n ? p : n;
}

static void KF(colsum)(int64_t n, const void *const *rows, int g, void *tmp, double *acc)
{
    T *f = tmp;
    const T *x = rows[0];
    /* Each row's vector loads start at a cache-line boundary: from
     * memory, loads that straddle two lines cost a quarter of the
     * bandwidth. */
    int64_t p = KF(peel)(x, n);
    for (int64_t i = 0; i < p; i++) f[i] = x[i];
    for (int64_t i = p; i < n; i++) f[i] = x[i];
    for (int r = 1; r < g; r++) {
        x = rows[r];
        p = KF(peel)(x, n);
        for (int64_t i = 0; i < p; i++) f[i] += x[i];
        for (int64_t i = p; i < n; i++) f[i] += x[i];
    }
    L(acc[i] += (double)f[i])
}

static void KF(colsq)(int64_t n, const void *xv, const double *mean, double *acc)
{
    const T *x = xv;
    L({
        double dv = (double)x[i] - mean[i];
        acc[i] += dv * dv;
    })
}

#undef L
#undef FMAX
#undef FMIN
