/* cuda/ops_text.c - CUDA C expressions for each op and dtype.
 *
 * The semantics are program.h's: computation in cdtype; integer division,
 * modulo and shifts defined for every operand (see the prelude's helpers);
 * NaN propagating maximum/minimum like torch.
 */
#include <stdio.h>
#include <string.h>

#include "cuda/codegen.h"

const char *cf_cg_regty(cf_dtype t)
{
    switch (t) {
    case CF_DTYPE_DOUBLE: return "double";
    case CF_DTYPE_FLOAT: case CF_DTYPE_HALF: case CF_DTYPE_BFLOAT16:
        return "float";
    case CF_DTYPE_INT: return "i64";
    case CF_DTYPE_INT32: return "int";
    case CF_DTYPE_BOOL: return "bool";
    default: return NULL;
    }
}

const char *cf_cg_stty(cf_dtype t)
{
    switch (t) {
    case CF_DTYPE_DOUBLE: return "double";
    case CF_DTYPE_FLOAT: return "float";
    case CF_DTYPE_HALF: case CF_DTYPE_BFLOAT16: return "u16";
    case CF_DTYPE_INT: return "i64";
    case CF_DTYPE_INT32: return "int";
    case CF_DTYPE_BOOL: return "bool";
    default: return NULL;
    }
}

/* Storage element -> register value. */
void cf_cg_load_conv(char *out, size_t cap, cf_dtype t, const char *e)
{
    if (t == CF_DTYPE_HALF)
        snprintf(out, cap, "h2f(%s)", e);
    else if (t == CF_DTYPE_BFLOAT16)
        snprintf(out, cap, "b2f(%s)", e);
    else
        snprintf(out, cap, "%s", e);
}

/* Register value -> storage element. */
void cf_cg_store_conv(char *out, size_t cap, cf_dtype t, const char *e)
{
    if (t == CF_DTYPE_HALF)
        snprintf(out, cap, "f2h(%s)", e);
    else if (t == CF_DTYPE_BFLOAT16)
        snprintf(out, cap, "f2b(%s)", e);
    else
        snprintf(out, cap, "(%s)(%s)", cf_cg_stty(t), e);
}

/* A value of type cdtype (or Bool) -> register value of a slot of dtype t,
 * rounded to t's precision. */
void cf_cg_to_slot(char *out, size_t cap, cf_dtype t, const char *e)
{
    if (t == CF_DTYPE_HALF)
        snprintf(out, cap, "rh((float)(%s))", e);
    else if (t == CF_DTYPE_BFLOAT16)
        snprintf(out, cap, "rb((float)(%s))", e);
    else
        snprintf(out, cap, "(%s)(%s)", cf_cg_regty(t), e);
}

/* The registry's "cuda", "cuda_int" and "cuda_bool" text
 * (core/ops/ops.toml) as templates in the blob cg_text, found at
 * cg_off[op][Float/Double, Int, Bool] - 1 (0: none), with $0..$3 for the
 * operands, $T for the register type and $f for the float suffix of library
 * functions ("f" for Float, "" for Double). */
#include "cuda_text.inc"

/* op's expression for computing in t; -1 where the op has none for t, or
 * the text does not fit. */
int cf_cg_op_text(char *o, size_t cap, cf_opcode op, cf_dtype t,
                  const char *const *a)
{
    if (t == CF_DTYPE_HALF || t == CF_DTYPE_BFLOAT16)
        t = CF_DTYPE_FLOAT;
    const char *T = cf_cg_regty(t), *sfx = t == CF_DTYPE_DOUBLE ? "" : "f";
    int col = (t == CF_DTYPE_FLOAT || t == CF_DTYPE_DOUBLE) ? 0 : t == CF_DTYPE_BOOL ? 2 : 1;
    unsigned off = (unsigned)op < (unsigned)CF_OP_COUNT ? cg_off[op][col] : 0;
    const char *s = off ? cg_text + off - 1 : NULL;
    size_t k = 0;
    if (!s || !T || cap == 0)
        return -1;
    for (; *s; s++) {
        const char *piece = NULL;
        size_t len;
        if (*s == '$') {
            s++;
            piece = *s == 'T' ? T : *s == 'f' ? sfx : a[*s - '0'];
        }
        len = piece ? strlen(piece) : 1;
        if (k + len >= cap)
            return -1;
        if (piece)
            memcpy(o + k, piece, len);
        else
            o[k] = *s;
        k += len;
    }
    o[k] = '\0';
    return 0;
}
