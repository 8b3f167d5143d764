/* cpu/kern_int.h - pointwise and reduction loops over int64 values.
 *
 * A template: the including file defines KI(name). Arithmetic that may
 * overflow goes through uint64_t, where wrapping is defined; division and
 * shifts check their operands so that nothing traps or is undefined:
 * x / 0 == x % 0 == 0, INT64_MIN / -1 == INT64_MIN, shifts by a negative
 * count or >= 64 give 0 (left) or the sign fill (right).
 */

#define L(expr)                          \
    for (int64_t i = 0; i < n; i++) {    \
        expr;                            \
    }

static inline int64_t KI(wrap)(uint64_t v) { return (int64_t)v; }
static inline int64_t KI(neg)(int64_t a) { return KI(wrap)(0u - (uint64_t)a); }

static inline int64_t KI(div)(int64_t a, int64_t b)
{
    if (b == 0)
        return 0;
    if (b == -1)
        return KI(neg)(a);
    return a / b;
}

static inline int64_t KI(mod)(int64_t a, int64_t b)
{
    return (b == 0 || b == -1) ? 0 : a % b;
}

static inline int64_t KI(pow)(int64_t a, int64_t b)
{
    uint64_t r = 1, base = (uint64_t)a;
    if (b < 0)
        return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
    while (b > 0) {
        if (b & 1)
            r *= base;
        base *= base;
        b >>= 1;
    }
    return KI(wrap)(r);
}

/* gcd(|a|, |b|) by Stein's binary method in uint64 (|INT64_MIN| fits). */
static inline int64_t KI(gcd)(int64_t a, int64_t b)
{
    uint64_t u = a < 0 ? 0u - (uint64_t)a : (uint64_t)a, v = b < 0 ? 0u - (uint64_t)b : (uint64_t)b;
    int shift;
    if (u == 0 || v == 0)
        return KI(wrap)(u | v);
    shift = __builtin_ctzll(u | v);
    u >>= __builtin_ctzll(u);
    do {
        uint64_t t;
        v >>= __builtin_ctzll(v);
        if (u > v) {
            t = u;
            u = v;
            v = t;
        }
        v -= u;
    } while (v != 0);
    return KI(wrap)(u << shift);
}

/* The loops are the registry's "cpu_int" text (core/ops/ops.toml). */
static cf_status KI(pw)(cf_opcode op, int64_t n, void *out, const void *const *in)
{
    int64_t *o = out;
    const int64_t *a = in[0], *b = in[1], *c = in[2], *d = in[3];
    (void)b;
    (void)c;
    (void)d;
    switch (op) {
#include "cpu_int.inc"
    default: return CF_ERR_TYPE;
    }
    return CF_OK;
}

static void KI(rowred)(cf_opcode op, int64_t n, const void *xv, cf_acc *acc)
{
    const int64_t *x = xv;
    uint64_t u = (uint64_t)acc->i;
    int64_t m = acc->i;
    switch (op) {
    case CF_OP_SUM: L(u += (uint64_t)x[i]) acc->i = KI(wrap)(u); break;
    case CF_OP_PROD: L(u *= (uint64_t)x[i]) acc->i = KI(wrap)(u); break;
    case CF_OP_MAX: L(m = x[i] > m ? x[i] : m) acc->i = m; break;
    default: L(m = x[i] < m ? x[i] : m) acc->i = m; break;
    }
}

static void KI(rowsq)(int64_t n, const void *xv, double mean, double *acc)
{
    const int64_t *x = xv;
    double s = 0;
    L({
        double dv = (double)x[i] - mean;
        s += dv * dv;
    })
    *acc += s;
}

static void KI(colred)(cf_opcode op, int64_t n, const void *xv, cf_acc *accv)
{
    const int64_t *x = xv;
    int64_t *acc = &accv->i;
    switch (op) {
    case CF_OP_SUM: L(acc[i] = KI(wrap)((uint64_t)acc[i] + (uint64_t)x[i])) break;
    case CF_OP_PROD: L(acc[i] = KI(wrap)((uint64_t)acc[i] * (uint64_t)x[i])) break;
    case CF_OP_MAX: L(acc[i] = x[i] > acc[i] ? x[i] : acc[i]) break;
    default: L(acc[i] = x[i] < acc[i] ? x[i] : acc[i]) break;
    }
}

static void KI(colsq)(int64_t n, const void *xv, const double *mean, double *acc)
{
    const int64_t *x = xv;
    L({
        double dv = (double)x[i] - mean[i];
        acc[i] += dv * dv;
    })
}

/* Integer column sums go through colred (wrapping int64). */
static void KI(colsum)(int64_t n, const void *const *rows, int g, void *tmp, double *acc)
{
    (void)n;
    (void)rows;
    (void)g;
    (void)tmp;
    (void)acc;
}

/* The int64 loops have no scalar-operand forms: callers splat. */
static cf_status KI(pws)(cf_opcode op, int64_t n, void *out, const void *a, const void *s,
                         int s_first)
{
    (void)op;
    (void)n;
    (void)out;
    (void)a;
    (void)s;
    (void)s_first;
    return CF_ERR_TYPE;
}

#undef L
