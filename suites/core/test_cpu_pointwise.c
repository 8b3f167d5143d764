/* Pointwise ops of the CPU executor against double-precision references:
 * every unary, binary and ternary op on every dtype it is defined for,
 * with NaN, infinities, signed zeros and integer edge cases. */
#include <criterion/criterion.h>
#include <math.h>

#include "cfuser/ops.h"
#include "cpu/cpu.h"
#include "test_cpu_util.h"

static const cf_dtype FLOATS[] = {CF_DTYPE_DOUBLE, CF_DTYPE_FLOAT, CF_DTYPE_HALF,
                                  CF_DTYPE_BFLOAT16};
static const cf_dtype INTS[] = {CF_DTYPE_INT, CF_DTYPE_INT32, CF_DTYPE_BOOL};
#define N 1037 /* not a multiple of the block */

/* erfinv by bisection on erf: slow and plainly right. */
static double ref_erfinv(double y)
{
    double lo = -30, hi = 30;
    if (!(fabs(y) <= 1))
        return NAN;
    if (fabs(y) == 1)
        return copysign(INFINITY, y);
    for (int k = 0; k < 200 && lo < hi; k++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi)
            break;
        if (erf(mid) < y)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

/* erfcinv by bisection on erfc (decreasing). */
static double ref_erfcinv(double c)
{
    double lo = -30, hi = 30;
    if (!(c >= 0 && c <= 2))
        return NAN;
    if (c == 0)
        return INFINITY;
    if (c == 2)
        return -INFINITY;
    for (int k = 0; k < 200; k++) {
        double mid = 0.5 * (lo + hi);
        if (mid == lo || mid == hi)
            break;
        if (erfc(mid) > c)
            lo = mid;
        else
            hi = mid;
    }
    return 0.5 * (lo + hi);
}

static double ref_unary(cf_opcode op, double x)
{
    switch (op) {
    case CF_OP_ABS: return fabs(x);
    case CF_OP_NEG: return -x;
    case CF_OP_EXP: return exp(x);
    case CF_OP_EXP2: return exp2(x);
    case CF_OP_EXPM1: return expm1(x);
    case CF_OP_LOG: return log(x);
    case CF_OP_LOG2: return log2(x);
    case CF_OP_LOG10: return log10(x);
    case CF_OP_LOG1P: return log1p(x);
    case CF_OP_SQRT: return sqrt(x);
    case CF_OP_RSQRT: return 1.0 / sqrt(x);
    case CF_OP_RECIPROCAL: return 1.0 / x;
    case CF_OP_SIN: return sin(x);
    case CF_OP_COS: return cos(x);
    case CF_OP_TAN: return tan(x);
    case CF_OP_TANH: return tanh(x);
    case CF_OP_SINH: return sinh(x);
    case CF_OP_COSH: return cosh(x);
    case CF_OP_ASIN: return asin(x);
    case CF_OP_ACOS: return acos(x);
    case CF_OP_ATAN: return atan(x);
    case CF_OP_ASINH: return asinh(x);
    case CF_OP_ACOSH: return acosh(x);
    case CF_OP_ATANH: return atanh(x);
    case CF_OP_SIGMOID: return 1.0 / (1.0 + exp(-x));
    case CF_OP_RELU: return x < 0 ? 0.0 : x;
    case CF_OP_SILU: return x / (1.0 + exp(-x));
    case CF_OP_ERF: return erf(x);
    case CF_OP_ERFC: return erfc(x);
    case CF_OP_CEIL: return ceil(x);
    case CF_OP_FLOOR: return floor(x);
    case CF_OP_ROUND: return nearbyint(x);
    case CF_OP_TRUNC: return trunc(x);
    case CF_OP_SIGN: return (double)((x > 0) - (x < 0));
    case CF_OP_SIGNBIT: return signbit(x) != 0;
    case CF_OP_ISFINITE: return isfinite(x) != 0;
    case CF_OP_ISINF: return isinf(x) != 0;
    case CF_OP_ISNAN: return isnan(x) != 0;
    case CF_OP_LOGICAL_NOT: return x == 0;
    case CF_OP_FRAC: return x - trunc(x);
    case CF_OP_LGAMMA: return lgamma(x);
    case CF_OP_ERFINV: return ref_erfinv(x);
    case CF_OP_ERFCINV: return ref_erfcinv(x);
    case CF_OP_ISNEGINF: return isinf(x) && x < 0;
    case CF_OP_ISPOSINF: return isinf(x) && x > 0;
    case CF_OP_ISREAL: return 1;
    default: return NAN;
    }
}

static void domain(cf_opcode op, double *lo, double *hi)
{
    *lo = -5;
    *hi = 5;
    switch (op) {
    case CF_OP_LOG: case CF_OP_LOG2: case CF_OP_LOG10: case CF_OP_SQRT: case CF_OP_RSQRT:
        *lo = 0.01; *hi = 10; break;
    case CF_OP_LOG1P: *lo = -0.9; *hi = 10; break;
    case CF_OP_ACOSH: *lo = 1; *hi = 10; break;
    case CF_OP_ASIN: case CF_OP_ACOS: case CF_OP_ATANH: *lo = -0.99; *hi = 0.99; break;
    case CF_OP_TAN: *lo = -1.5; *hi = 1.5; break;
    case CF_OP_EXP: case CF_OP_EXP2: case CF_OP_EXPM1: case CF_OP_SINH: case CF_OP_COSH:
        *lo = -10; *hi = 10; break;
    case CF_OP_ERFINV: *lo = -1; *hi = 1; break;
    case CF_OP_ERFCINV: *lo = 0; *hi = 2; break;
    case CF_OP_LGAMMA: *lo = -6; *hi = 30; break;
    default: break;
    }
}

static int is_pred(cf_opcode op) { return cf_op_category_of(op) == CF_CAT_PRED; }

static const double SPECIALS[] = {NAN, INFINITY, -INFINITY, -0.0, 0.0, 0.5, 1.5, 2.5, -0.5, -2.5};
#define NSPEC (sizeof SPECIALS / sizeof SPECIALS[0])

static void run_unary_float(cf_opcode op, cf_dtype dt)
{
    tprog t;
    int64_t sh[1] = {N};
    cf_dtype odt = is_pred(op) ? CF_DTYPE_BOOL : dt;
    uint64_t seed = 0x9e3779b97f4a7c15ull ^ (uint64_t)op;
    double lo, hi;
    tp_init(&t);
    int a = tp_in(&t, dt, 1, sh), o = tp_out(&t, odt, 1, sh);
    tp_op1(&t, op, cf_dtype_compute(dt), a, o);
    domain(op, &lo, &hi);
    for (int64_t i = 0; i < N; i++)
        tp_set(dt, t.vals[a].data, i, i < (int64_t)NSPEC ? SPECIALS[i] : tp_uniform(&seed, lo, hi));
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK, "%s", cf_op_name(op));
    for (int64_t i = 0; i < N; i++) {
        double x = tp_get(dt, t.vals[a].data, i);
        double want = ref_unary(op, x), got = tp_get(odt, t.vals[o].data, i);
        if (!is_pred(op)) {
            void *tmp = calloc(1, 8);
            tp_set(odt, tmp, 0, want);
            want = isnan(want) ? want : tp_get(odt, tmp, 0);
            free(tmp);
        }
        double tol = tp_tol(odt);
        cr_assert(tp_close(got, want, tol, tol), "%s %s x=%.9g got %.9g want %.9g",
                  cf_op_name(op), cf_dtype_pyname(dt), x, got, want);
    }
    tp_free(&t);
}

Test(cpu_pointwise, unary_float_all_ops)
{
#define X(name, E, cat) if (CF_OP_##E != CF_OP_BITWISE_NOT) for (int d = 0; d < 4; d++) run_unary_float(CF_OP_##E, FLOATS[d]);
    CF_UNARY_OPS(X)
#undef X
}

static int64_t wrapw(int64_t v, cf_dtype dt)
{
    if (dt == CF_DTYPE_INT32)
        return (int32_t)(uint32_t)(uint64_t)v;
    if (dt == CF_DTYPE_BOOL)
        return v != 0;
    return v;
}

static int64_t ref_unary_int(cf_opcode op, int64_t x, cf_dtype dt)
{
    switch (op) {
    case CF_OP_ABS: return wrapw(x < 0 ? (int64_t)(0u - (uint64_t)x) : x, dt);
    case CF_OP_NEG: return wrapw((int64_t)(0u - (uint64_t)x), dt);
    case CF_OP_RELU: return x < 0 ? 0 : x;
    case CF_OP_CEIL: case CF_OP_FLOOR: case CF_OP_ROUND: case CF_OP_TRUNC: return x;
    case CF_OP_SIGN: return (x > 0) - (x < 0);
    case CF_OP_SIGNBIT: return x < 0;
    case CF_OP_ISFINITE: return 1;
    case CF_OP_ISINF: case CF_OP_ISNAN: case CF_OP_ISNEGINF: case CF_OP_ISPOSINF: return 0;
    case CF_OP_ISREAL: return 1;
    case CF_OP_LOGICAL_NOT: return x == 0;
    case CF_OP_BITWISE_NOT: return dt == CF_DTYPE_BOOL ? !x : wrapw(~x, dt);
    default: return 0;
    }
}

static int64_t rand_int(uint64_t *seed, cf_dtype dt, int64_t i)
{
    static const int64_t edge[] = {0, 1, -1, INT64_MIN, INT64_MAX, INT32_MIN, INT32_MAX, 2, -2, 63, 64, 31, 32};
    uint64_t r = tp_rand(seed);
    int64_t v;
    if (i < (int64_t)(sizeof edge / sizeof edge[0]))
        v = edge[i];
    else if (r % 3 == 0)
        v = (int64_t)(tp_rand(seed) % 21) - 10;
    else
        v = (int64_t)tp_rand(seed);
    return wrapw(v, dt);
}

static void run_unary_int(cf_opcode op, cf_dtype dt)
{
    tprog t;
    int64_t sh[1] = {N};
    cf_dtype odt = is_pred(op) ? CF_DTYPE_BOOL : dt;
    uint64_t seed = 12345 + (uint64_t)op;
    tp_init(&t);
    int a = tp_in(&t, dt, 1, sh), o = tp_out(&t, odt, 1, sh);
    tp_op1(&t, op, dt, a, o);
    for (int64_t i = 0; i < N; i++) tp_seti(dt, t.vals[a].data, i, rand_int(&seed, dt, i));
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK, "%s", cf_op_name(op));
    for (int64_t i = 0; i < N; i++) {
        int64_t x = tp_geti(dt, t.vals[a].data, i);
        int64_t want = wrapw(ref_unary_int(op, x, dt), odt), got = tp_geti(odt, t.vals[o].data, i);
        cr_assert_eq(got, want, "%s %s x=%lld got %lld want %lld", cf_op_name(op),
                     cf_dtype_pyname(dt), (long long)x, (long long)got, (long long)want);
    }
    tp_free(&t);
}

Test(cpu_pointwise, unary_int_ops)
{
    static const cf_opcode ops[] = {CF_OP_ABS, CF_OP_NEG, CF_OP_RELU, CF_OP_CEIL, CF_OP_FLOOR,
                                    CF_OP_ROUND, CF_OP_TRUNC, CF_OP_SIGN, CF_OP_SIGNBIT,
                                    CF_OP_ISFINITE, CF_OP_ISINF, CF_OP_ISNAN,
                                    CF_OP_LOGICAL_NOT, CF_OP_BITWISE_NOT, CF_OP_ISNEGINF,
                                    CF_OP_ISPOSINF, CF_OP_ISREAL};
    for (size_t i = 0; i < sizeof ops / sizeof ops[0]; i++)
        for (int d = 0; d < 3; d++)
            if (!(INTS[d] == CF_DTYPE_BOOL && ops[i] == CF_OP_NEG))
                run_unary_int(ops[i], INTS[d]);
}

static double ref_binary(cf_opcode op, double a, double b)
{
    switch (op) {
    case CF_OP_ADD: return a + b;
    case CF_OP_SUB: return a - b;
    case CF_OP_MUL: return a * b;
    case CF_OP_DIV: case CF_OP_TRUEDIV: return a / b;
    case CF_OP_MOD: case CF_OP_FMOD: return fmod(a, b);
    case CF_OP_REMAINDER: {
        double m = fmod(a, b);
        return (m != 0 && ((b < 0) != (m < 0))) ? m + b : m;
    }
    case CF_OP_POW: return pow(a, b);
    case CF_OP_ATAN2: return atan2(a, b);
    case CF_OP_MAXIMUM: return (isnan(a) || isnan(b)) ? NAN : a > b ? a : b;
    case CF_OP_MINIMUM: return (isnan(a) || isnan(b)) ? NAN : a < b ? a : b;
    case CF_OP_EQ: return a == b;
    case CF_OP_NE: return a != b;
    case CF_OP_LT: return a < b;
    case CF_OP_LE: return a <= b;
    case CF_OP_GT: return a > b;
    case CF_OP_GE: return a >= b;
    case CF_OP_LOGICAL_AND: return a != 0 && b != 0;
    case CF_OP_LOGICAL_OR: return a != 0 || b != 0;
    default: return NAN;
    }
}

static void run_binary_float(cf_opcode op, cf_dtype dt, int bcast)
{
    tprog t;
    int64_t sh[2] = {7, 151}, bsh[2] = {1, 151};
    cf_dtype odt = is_pred(op) ? CF_DTYPE_BOOL : dt;
    uint64_t seed = 777 + (uint64_t)op * 31 + (uint64_t)bcast;
    int64_t n = tp_numel(2, sh);
    tp_init(&t);
    int a = tp_in(&t, dt, 2, sh), b = tp_in(&t, dt, 2, bcast ? bsh : sh), o = tp_out(&t, odt, 2, sh);
    tp_op2(&t, op, cf_dtype_compute(dt), a, b, o);
    for (int64_t i = 0; i < n; i++) {
        double x = tp_uniform(&seed, -5, 5), y = tp_uniform(&seed, -5, 5);
        if (op == CF_OP_POW) {
            x = tp_uniform(&seed, 0.1, 3);
            y = tp_uniform(&seed, -3, 3);
        }
        if (i < 10 * 10 && i % 3 == 0) {
            x = SPECIALS[i % NSPEC];
            y = SPECIALS[(i / NSPEC) % NSPEC];
        }
        tp_set(dt, t.vals[a].data, i, x);
        if (!bcast || i < 151)
            tp_set(dt, t.vals[b].data, i, y);
    }
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK, "%s", cf_op_name(op));
    for (int64_t i = 0; i < n; i++) {
        double x = tp_get(dt, t.vals[a].data, i);
        double y = tp_get(dt, t.vals[b].data, bcast ? i % 151 : i);
        double want = ref_binary(op, x, y), got = tp_get(odt, t.vals[o].data, i);
        if (op == CF_OP_NEXTAFTER)
            want = dt == CF_DTYPE_FLOAT ? (double)nextafterf((float)x, (float)y) : nextafter(x, y);
        double tol = tp_tol(odt);
        if (!is_pred(op) && !isnan(want)) {
            double tmp[1];
            tp_set(odt, tmp, 0, want);
            want = tp_get(odt, tmp, 0);
        }
        if (op == CF_OP_NEXTAFTER) /* exact: one step of the storage type */
            tol = 0;
        cr_assert(tp_close(got, want, tol, tol), "%s %s x=%.9g y=%.9g got %.9g want %.9g",
                  cf_op_name(op), cf_dtype_pyname(dt), x, y, got, want);
    }
    tp_free(&t);
}

Test(cpu_pointwise, binary_float_all_ops)
{
#define X(name, E, cat)                                                        \
    if (cat != CF_CAT_INTBOOL && cat != CF_CAT_INTONLY)                        \
        for (int d = 0; d < (cat == CF_CAT_FLOATONLY ? 2 : 4); d++)            \
            for (int bc = 0; bc < 2; bc++) run_binary_float(CF_OP_##E, FLOATS[d], bc);
#define SAME CF_CAT_SAME
#define FLOAT CF_CAT_FLOAT
#define PRED CF_CAT_PRED
#define INTBOOL CF_CAT_INTBOOL
#define INTONLY CF_CAT_INTONLY
#define FLOATONLY CF_CAT_FLOATONLY
    CF_BINARY_OPS(X)
#undef X
}

static int64_t ref_binary_int(cf_opcode op, int64_t a, int64_t b, cf_dtype dt)
{
    int w = dt == CF_DTYPE_INT32 ? 32 : 64;
    uint64_t ua = (uint64_t)a, ub = (uint64_t)b;
    switch (op) {
    case CF_OP_ADD: return wrapw((int64_t)(ua + ub), dt);
    case CF_OP_SUB: return wrapw((int64_t)(ua - ub), dt);
    case CF_OP_MUL: return wrapw((int64_t)(ua * ub), dt);
    case CF_OP_DIV:
        if (b == 0) return 0;
        if (b == -1) return wrapw((int64_t)(0u - ua), dt);
        return a / b;
    case CF_OP_MOD: case CF_OP_FMOD: return (b == 0 || b == -1) ? 0 : a % b;
    case CF_OP_REMAINDER: {
        int64_t m = (b == 0 || b == -1) ? 0 : a % b;
        return (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
    }
    case CF_OP_POW: {
        if (b < 0) return a == 1 ? 1 : a == -1 ? ((b & 1) ? -1 : 1) : 0;
        uint64_t r = 1;
        for (int64_t k = 0; k < b; k++) r *= ua;
        return wrapw((int64_t)r, dt);
    }
    case CF_OP_MAXIMUM: return a > b ? a : b;
    case CF_OP_MINIMUM: return a < b ? a : b;
    case CF_OP_EQ: return a == b;
    case CF_OP_NE: return a != b;
    case CF_OP_LT: return a < b;
    case CF_OP_LE: return a <= b;
    case CF_OP_GT: return a > b;
    case CF_OP_GE: return a >= b;
    case CF_OP_LOGICAL_AND: return a && b;
    case CF_OP_LOGICAL_OR: return a || b;
    case CF_OP_BITWISE_AND: return a & b;
    case CF_OP_BITWISE_OR: return a | b;
    case CF_OP_BITWISE_XOR: return a ^ b;
    case CF_OP_BITWISE_LEFT_SHIFT: return (b < 0 || b >= w) ? 0 : wrapw((int64_t)(ua << b), dt);
    case CF_OP_BITWISE_RIGHT_SHIFT: return (b < 0 || b >= w) ? (a < 0 ? -1 : 0) : a >> b;
    case CF_OP_LOGICAL_RIGHT_SHIFT:
        if (b < 0 || b >= w)
            return 0;
        return wrapw((int64_t)((w == 32 ? (uint64_t)(uint32_t)ua : ua) >> b), dt);
    case CF_OP_GCD: {
        uint64_t u = a < 0 ? 0u - ua : ua, v = b < 0 ? 0u - ub : ub;
        while (v) {
            uint64_t r = u % v;
            u = v;
            v = r;
        }
        return wrapw((int64_t)u, dt);
    }
    default: return 0;
    }
}

static void run_binary_int(cf_opcode op, cf_dtype dt)
{
    tprog t;
    int64_t sh[1] = {N};
    cf_dtype odt = is_pred(op) ? CF_DTYPE_BOOL : dt;
    uint64_t seed = 4242 + (uint64_t)op;
    tp_init(&t);
    int a = tp_in(&t, dt, 1, sh), b = tp_in(&t, dt, 1, sh), o = tp_out(&t, odt, 1, sh);
    tp_op2(&t, op, dt, a, b, o);
    for (int64_t i = 0; i < N; i++) {
        int64_t x = rand_int(&seed, dt, i % 200), y = rand_int(&seed, dt, (i * 7) % 300);
        if (op == CF_OP_POW)
            y = (int64_t)(tp_rand(&seed) % 24) - 3;
        if (op == CF_OP_BITWISE_LEFT_SHIFT || op == CF_OP_BITWISE_RIGHT_SHIFT ||
            op == CF_OP_LOGICAL_RIGHT_SHIFT)
            y = (int64_t)(tp_rand(&seed) % 80) - 8;
        tp_seti(dt, t.vals[a].data, i, x);
        tp_seti(dt, t.vals[b].data, i, wrapw(y, dt));
    }
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK, "%s", cf_op_name(op));
    for (int64_t i = 0; i < N; i++) {
        int64_t x = tp_geti(dt, t.vals[a].data, i), y = tp_geti(dt, t.vals[b].data, i);
        int64_t want = wrapw(ref_binary_int(op, x, y, dt), odt);
        int64_t got = tp_geti(odt, t.vals[o].data, i);
        cr_assert_eq(got, want, "%s %s %lld, %lld: got %lld want %lld", cf_op_name(op),
                     cf_dtype_pyname(dt), (long long)x, (long long)y, (long long)got,
                     (long long)want);
    }
    tp_free(&t);
}

Test(cpu_pointwise, binary_int_all_ops)
{
#define X(name, E, cat)                                                 \
    if (cat != CF_CAT_FLOAT && cat != CF_CAT_FLOATONLY)                 \
        for (int d = 0; d < 2; d++) run_binary_int(CF_OP_##E, INTS[d]);
    CF_BINARY_OPS(X)
#undef X
    static const cf_opcode bool_ops[] = {CF_OP_LOGICAL_AND, CF_OP_LOGICAL_OR, CF_OP_BITWISE_AND,
                                         CF_OP_BITWISE_OR, CF_OP_BITWISE_XOR, CF_OP_EQ,
                                         CF_OP_NE, CF_OP_LT, CF_OP_MAXIMUM, CF_OP_MINIMUM,
                                         CF_OP_ADD, CF_OP_MUL};
    for (size_t i = 0; i < sizeof bool_ops / sizeof bool_ops[0]; i++)
        run_binary_int(bool_ops[i], CF_DTYPE_BOOL);
}

static double ref_ternary(cf_opcode op, double a, double b, double c, double d)
{
    switch (op) {
    case CF_OP_WHERE: return a != 0 ? b : c;
    case CF_OP_CLAMP: {
        double lo = (isnan(a) || isnan(b)) ? NAN : a > b ? a : b;
        return (isnan(lo) || isnan(c)) ? NAN : lo < c ? lo : c;
    }
    case CF_OP_LERP: return c < 0.5 ? a + c * (b - a) : b - (b - a) * (1 - c);
    case CF_OP_ADDCMUL: return a + d * b * c;
    case CF_OP_THRESHOLD: return a <= b ? c : a;
    default: return NAN;
    }
}

static void run_ternary(cf_opcode op, cf_dtype dt)
{
    tprog t;
    int64_t sh[2] = {13, 97}, row[2] = {13, 1};
    int nin = op == CF_OP_ADDCMUL ? 4 : 3;
    uint64_t seed = 99 + (uint64_t)op;
    int in[4], o;
    int isf = cf_dtype_is_float(dt);
    int64_t n = tp_numel(2, sh);
    tp_init(&t);
    /* The first operand full, the second broadcast along rows, the third a
     * constant scalar (where: a full Bool predicate first). */
    in[0] = tp_in(&t, op == CF_OP_WHERE ? CF_DTYPE_BOOL : dt, 2, sh);
    in[1] = tp_in(&t, dt, 2, row);
    in[2] = isf ? tp_constf(&t, dt, op == CF_OP_LERP ? 0.25 : 1.5) : tp_consti(&t, dt, 3);
    if (nin == 4) {
        in[2] = tp_in(&t, dt, 2, sh);
        in[3] = isf ? tp_constf(&t, dt, -0.5) : tp_consti(&t, dt, -2);
    }
    o = tp_out(&t, dt, 2, sh);
    tp_op(&t, op, cf_dtype_compute(dt), nin, in, o);
    for (int64_t i = 0; i < n; i++) {
        if (op == CF_OP_WHERE)
            tp_seti(CF_DTYPE_BOOL, t.vals[in[0]].data, i, (int64_t)(tp_rand(&seed) & 1));
        else if (isf)
            tp_set(dt, t.vals[in[0]].data, i, i == 5 ? NAN : tp_uniform(&seed, -4, 4));
        else
            tp_seti(dt, t.vals[in[0]].data, i, (int64_t)(tp_rand(&seed) % 9) - 4);
        if (nin == 4)
            tp_set(dt, t.vals[in[2]].data, i, isf ? tp_uniform(&seed, -4, 4) : (double)(i % 7));
        if (i < 13)
            tp_set(dt, t.vals[in[1]].data, i, isf ? tp_uniform(&seed, -2, 2) : (double)(i % 5) - 2);
    }
    cr_assert_eq(cf_cpu_execute(&t.p, t.vals, 1), CF_OK, "%s", cf_op_name(op));
    for (int64_t i = 0; i < n; i++) {
        double a = tp_get(op == CF_OP_WHERE ? CF_DTYPE_BOOL : dt, t.vals[in[0]].data, i);
        double b = tp_get(dt, t.vals[in[1]].data, i / 97);
        double c = nin == 4 ? tp_get(dt, t.vals[in[2]].data, i)
                            : (isf ? t.vals[in[2]].scalar.v.f : (double)t.vals[in[2]].scalar.v.i);
        double d = nin == 4 ? (isf ? t.vals[in[3]].scalar.v.f : (double)t.vals[in[3]].scalar.v.i) : 0;
        double want = ref_ternary(op, a, b, c, d), got = tp_get(dt, t.vals[o].data, i);
        double tmp[1], tol = tp_tol(dt);
        if (!isnan(want)) {
            tp_set(dt, tmp, 0, want);
            want = tp_get(dt, tmp, 0);
        }
        cr_assert(tp_close(got, want, tol * 4, tol * 4), "%s %s %g %g %g: got %.9g want %.9g",
                  cf_op_name(op), cf_dtype_pyname(dt), a, b, c, got, want);
    }
    tp_free(&t);
}

Test(cpu_pointwise, ternary_all_ops)
{
    static const cf_dtype all[] = {CF_DTYPE_DOUBLE, CF_DTYPE_FLOAT, CF_DTYPE_HALF,
                                   CF_DTYPE_BFLOAT16, CF_DTYPE_INT, CF_DTYPE_INT32};
#define X(name, E, cat)                                                   \
    for (int d = 0; d < 6; d++)                                           \
        if (CF_OP_##E != CF_OP_LERP || cf_dtype_is_float(all[d]))         \
            run_ternary(CF_OP_##E, all[d]);
    CF_TERNARY_OPS(X)
#undef X
}

/* The portable table and the one this CPU runs agree on every op. */
Test(cpu_pointwise, kernel_tables_agree)
{
#ifdef CF_CPU_HAVE_AVX2
    float a[203], b[203], c[203], d[203], o1[203], o2[203];
    int64_t *p1 = (int64_t *)calloc(203, 8), *p2 = (int64_t *)calloc(203, 8);
    uint64_t seed = 5;
    const void *in[4] = {a, b, c, d};
    for (int i = 0; i < 203; i++) {
        a[i] = (float)tp_uniform(&seed, 0.05, 0.95);
        b[i] = (float)tp_uniform(&seed, 0.1, 3);
        c[i] = (float)tp_uniform(&seed, -1, 1);
        d[i] = (float)tp_uniform(&seed, -1, 1);
    }
    for (int op = CF_OP_NONE + 1; op < CF_OP_COUNT; op++) {
        if (!cf_op_is_pointwise((cf_opcode)op))
            continue;
        int pred = is_pred((cf_opcode)op);
        cf_status s1 = cf_kernels_generic.pw[CF_REP_F32]((cf_opcode)op, 203, pred ? (void *)p1 : o1, in);
        const cf_kernels *fast = cf_cpu_kernels();
        if (fast == &cf_kernels_generic)
            fast = &cf_kernels_avx2;
        cf_status s2 = fast->pw[CF_REP_F32]((cf_opcode)op, 203, pred ? (void *)p2 : o2, in);
        cr_assert_eq(s1, s2);
        if (s1 != CF_OK)
            continue;
        for (int i = 0; i < 203; i++) {
            if (pred)
                cr_assert_eq(p1[i], p2[i], "%s", cf_op_name((cf_opcode)op));
            else
                cr_assert(tp_close(o1[i], o2[i], 1e-6, 1e-7), "%s: %g vs %g",
                          cf_op_name((cf_opcode)op), o1[i], o2[i]);
        }
    }
    free(p1);
    free(p2);
#else
    cr_assert_not_null(cf_cpu_kernels());
#endif
}

/* float tanh is computed by formula, not by a library call: bound its error
 * in ulps over a dense sweep, tiny values and both branch sides. */
Test(cpu_pointwise, tanh_float_accuracy)
{
    enum { M = 200003 };
    float *x = malloc(M * sizeof(float)), *y = malloc(M * sizeof(float));
    const void *in[4] = {x, NULL, NULL, NULL};
    for (int i = 0; i < M; i++) x[i] = -10.0f + 20.0f * (float)i / (float)M;
    x[0] = 1e-30f;
    x[1] = -3e-8f;
    x[2] = 0.5499999f;
    x[3] = 0.55f;
    x[4] = 9.5f;
    const cf_kernels *tabs[2] = {&cf_kernels_generic, cf_cpu_kernels()};
    for (int k = 0; k < 2; k++) {
        cr_assert_eq(tabs[k]->pw[CF_REP_F32](CF_OP_TANH, M, y, in), CF_OK);
        for (int i = 0; i < M; i++) {
            double want = tanh((double)x[i]);
            double ulp = ldexp(1.0, ilogb((float)want) - 23);
            cr_assert(fabs(y[i] - want) <= 3 * ulp, "tanh(%.9g) = %.9g, want %.9g", x[i], y[i], want);
        }
    }
    free(x);
    free(y);
}
