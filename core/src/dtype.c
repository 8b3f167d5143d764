/* dtype.c - data type facts and half/bfloat16 conversions (dtype.h). */
#include <string.h>

#include "cfuser/dtype.h"

bool cf_dtype_is_supported(cf_dtype t) { return t >= CF_DTYPE_DOUBLE && t <= CF_DTYPE_BOOL; }

bool cf_dtype_is_float(cf_dtype t)
{
    return t == CF_DTYPE_DOUBLE || t == CF_DTYPE_FLOAT || t == CF_DTYPE_HALF || t == CF_DTYPE_BFLOAT16;
}

bool cf_dtype_is_integer(cf_dtype t) { return t == CF_DTYPE_INT || t == CF_DTYPE_INT32; }

bool cf_dtype_is_bool(cf_dtype t) { return t == CF_DTYPE_BOOL; }

size_t cf_dtype_size(cf_dtype t)
{
    switch (t) {
    case CF_DTYPE_DOUBLE: case CF_DTYPE_INT: case CF_DTYPE_COMPLEX_FLOAT: return 8;
    case CF_DTYPE_FLOAT: case CF_DTYPE_INT32: return 4;
    case CF_DTYPE_HALF: case CF_DTYPE_BFLOAT16: return 2;
    case CF_DTYPE_BOOL: case CF_DTYPE_FLOAT8_E4M3FN: case CF_DTYPE_FLOAT8_E5M2: return 1;
    case CF_DTYPE_COMPLEX_DOUBLE: return 16;
    default: return 0;
    }
}

static const char *const names[CF_DTYPE_COUNT] = {
    "double", "float", "__half", "__bfloat", "int64_t", "int", "bool",
    "std::complex<float>", "std::complex<double>", "__e4m3", "__e5m2", "null"};
static const char *const pynames[CF_DTYPE_COUNT] = {
    "Double", "Float", "Half", "BFloat16", "Int", "Int32", "Bool",
    "ComplexFloat", "ComplexDouble", "Float8_e4m3fn", "Float8_e5m2", "Null"};

const char *cf_dtype_name(cf_dtype t)
{
    return (t >= 0 && t < CF_DTYPE_COUNT) ? names[t] : NULL;
}

const char *cf_dtype_pyname(cf_dtype t)
{
    return (t >= 0 && t < CF_DTYPE_COUNT) ? pynames[t] : NULL;
}

cf_dtype cf_dtype_compute(cf_dtype t)
{
    return (t == CF_DTYPE_HALF || t == CF_DTYPE_BFLOAT16) ? CF_DTYPE_FLOAT : t;
}

static uint32_t f2u(float f) { uint32_t u; memcpy(&u, &f, 4); return u; }
static float u2f(uint32_t u) { float f; memcpy(&f, &u, 4); return f; }

float cf_half_to_float(uint16_t h)
{
    uint32_t sign = (uint32_t)(h & 0x8000) << 16, exp = (h >> 10) & 0x1f, man = h & 0x3ff;
    if (exp == 0x1f)
        return u2f(sign | 0x7f800000u | (man << 13));
    if (exp == 0) {
        /* zero or subnormal: value = man * 2^-24 */
        float v = (float)man * 5.9604644775390625e-8f;
        return sign ? -v : v;
    }
    return u2f(sign | ((exp + 112) << 23) | (man << 13));
}

uint16_t cf_float_to_half(float f)
{
    uint32_t u = f2u(f), sign = (u >> 16) & 0x8000, abs = u & 0x7fffffffu;
    if (abs >= 0x7f800000u) /* inf or nan */
        return (uint16_t)(sign | 0x7c00 | (abs > 0x7f800000u ? 0x200 | ((abs >> 13) & 0x3ff) : 0));
    if (abs >= 0x477ff000u) /* rounds to >= 65520: overflow to inf */
        return (uint16_t)(sign | 0x7c00);
    if (abs < 0x38800000u) { /* below the smallest normal: subnormal or zero */
        float a = u2f(abs) * 16777216.0f; /* scale by 2^24, round to nearest even */
        uint32_t m = (uint32_t)a;
        float r = a - (float)m;
        if (r > 0.5f || (r == 0.5f && (m & 1)))
            m++;
        return (uint16_t)(sign | m);
    }
    {
        uint32_t mant = abs & 0x7fffff, exp = (abs >> 23) - 112;
        uint32_t h = (exp << 10) | (mant >> 13), rem = mant & 0x1fff;
        if (rem > 0x1000 || (rem == 0x1000 && (h & 1)))
            h++;
        return (uint16_t)(sign | h);
    }
}

float cf_bf16_to_float(uint16_t h) { return u2f((uint32_t)h << 16); }

uint16_t cf_float_to_bf16(float f)
{
    uint32_t u = f2u(f);
    if ((u & 0x7fffffffu) > 0x7f800000u) /* nan: keep it quiet */
        return (uint16_t)((u >> 16) | 0x40);
    u += 0x7fff + ((u >> 16) & 1);
    return (uint16_t)(u >> 16);
}
