/* cfuser/dtype.h - data types, their sizes and nvFuser's type promotion. */
#ifndef CFUSER_DTYPE_H
#define CFUSER_DTYPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* The order is part of the ABI (the Python DataType enum uses these values).
 * Types after CF_BOOL are named so that users get a clear "not supported yet"
 * error instead of an unknown name. */
typedef enum cf_dtype {
    CF_DTYPE_DOUBLE = 0,
    CF_DTYPE_FLOAT = 1,
    CF_DTYPE_HALF = 2,
    CF_DTYPE_BFLOAT16 = 3,
    CF_DTYPE_INT = 4,   /* int64 */
    CF_DTYPE_INT32 = 5,
    CF_DTYPE_BOOL = 6,
    CF_DTYPE_COMPLEX_FLOAT = 7,
    CF_DTYPE_COMPLEX_DOUBLE = 8,
    CF_DTYPE_FLOAT8_E4M3FN = 9,
    CF_DTYPE_FLOAT8_E5M2 = 10,
    CF_DTYPE_NULL = 11,
    CF_DTYPE_COUNT = 12
} cf_dtype;

/* A scalar value; which member holds it follows the dtype's category. */
typedef struct cf_scalar {
    cf_dtype dtype;
    union {
        double f;  /* floating dtypes */
        int64_t i; /* integer dtypes  */
        bool b;    /* CF_DTYPE_BOOL   */
    } v;
} cf_scalar;

bool cf_dtype_is_supported(cf_dtype t);
bool cf_dtype_is_float(cf_dtype t);   /* Double, Float, Half, BFloat16   */
bool cf_dtype_is_integer(cf_dtype t); /* Int, Int32                      */
bool cf_dtype_is_bool(cf_dtype t);
size_t cf_dtype_size(cf_dtype t);     /* bytes of one element; 0 if none */
/* nvFuser's names: "float", "double", "__half", "__bfloat", "int64_t",
 * "int", "bool" (used in print_math); NULL for an invalid value. */
const char *cf_dtype_name(cf_dtype t);
/* The Python enum member names: "Float", "Double", ... */
const char *cf_dtype_pyname(cf_dtype t);
/* Type the CPU computes in: Float for Half/BFloat16, else the type itself. */
cf_dtype cf_dtype_compute(cf_dtype t);

/* Conversions between storage formats (round to nearest even). */
float cf_half_to_float(uint16_t h);
uint16_t cf_float_to_half(float f);
float cf_bf16_to_float(uint16_t h);
uint16_t cf_float_to_bf16(float f);

#ifdef __cplusplus
}
#endif
#endif
