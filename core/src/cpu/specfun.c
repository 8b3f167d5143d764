/* cpu/specfun.c - special functions that libm and SLEEF lack: the inverse
 * error functions, in double (float callers round the result).
 *
 * A start within 2e-3 (relative) from Winitzki's closed form, then Halley
 * steps on erf or erfc: for g(x) = erf(x) - y (or erfc(x) - c),
 * g'' = -2x g', so a step is x -= g / (g' + x g); each step triples the
 * correct digits, three reach double precision. Where |y| > 1/2 the
 * iteration runs on erfc against c = 1 - |y|, which is exact (Sterbenz),
 * so values near +-1 keep their digits.
 */
#include <math.h>

#include "cpu/cpu.h"

#define TWO_OVER_SQRT_PI 1.12837916709551257390

/* Winitzki's approximation of erfinv from log(1 - y^2) (given, so that
 * the caller can form it without cancellation). */
static double start(double log1my2)
{
    const double a = 0.147, t = 2.0 / (M_PI * a) + 0.5 * log1my2;
    return sqrt(sqrt(t * t - log1my2 / a) - t);
}

/* x > 0 with erfc(x) == c, for 0 < c <= 1/2. */
static double erfcinv_tail(double c)
{
    double x = start(log(c * (2.0 - c)));
    for (int k = 0; k < 3; k++) {
        double g = erfc(x) - c, d = -TWO_OVER_SQRT_PI * exp(-x * x);
        x -= g / (d + x * g);
    }
    return x;
}

/* x with erf(x) == y, for |y| <= 1/2. */
static double erfinv_center(double y)
{
    double x = copysign(start(log1p(-y * y)), y);
    for (int k = 0; k < 3; k++) {
        double g = erf(x) - y, d = TWO_OVER_SQRT_PI * exp(-x * x);
        x -= g / (d + x * g);
    }
    return x;
}

double cf_erfinv(double y)
{
    double ay = fabs(y);
    if (!(ay <= 1.0))
        return NAN;
    if (ay == 1.0)
        return copysign(INFINITY, y);
    if (ay <= 0.5)
        return erfinv_center(y);
    return copysign(erfcinv_tail(1.0 - ay), y);
}

double cf_erfcinv(double c)
{
    if (!(c >= 0.0 && c <= 2.0))
        return NAN;
    if (c == 0.0)
        return INFINITY;
    if (c == 2.0)
        return -INFINITY;
    if (c <= 0.5)
        return erfcinv_tail(c);
    if (c >= 1.5)
        return -erfcinv_tail(2.0 - c);
    return erfinv_center(1.0 - c);
}
