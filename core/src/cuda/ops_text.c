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

static bool is_f(cf_dtype t)
{
    return t == CF_DTYPE_FLOAT || t == CF_DTYPE_DOUBLE;
}

/* float or double library function */
#define FN(f) (t == CF_DTYPE_DOUBLE ? f : f "f")

int cf_cg_op_text(char *o, size_t cap, cf_opcode op, cf_dtype t,
                  const char *const *a)
{
    const char *T = cf_cg_regty(t == CF_DTYPE_HALF || t == CF_DTYPE_BFLOAT16
                                    ? CF_DTYPE_FLOAT : t);
    if (t == CF_DTYPE_HALF || t == CF_DTYPE_BFLOAT16)
        t = CF_DTYPE_FLOAT;
    bool f = is_f(t), b = t == CF_DTYPE_BOOL;
    switch (op) {
    case CF_OP_ABS:
        if (f) snprintf(o, cap, "%s(%s)", FN("fabs"), a[0]);
        else if (b) snprintf(o, cap, "%s", a[0]);
        else snprintf(o, cap, "(%s<0?(%s)(0-%s):%s)", a[0], T, a[0], a[0]);
        return 0;
    case CF_OP_NEG:
        if (b) snprintf(o, cap, "%s", a[0]);
        else if (f) snprintf(o, cap, "(-%s)", a[0]);
        else snprintf(o, cap, "(%s)(0ULL-(unsigned long long)%s)", T, a[0]);
        return 0;
#define UF(E, name)                                                           \
    case CF_OP_##E:                                                           \
        snprintf(o, cap, "%s(%s)", FN(name), a[0]);                           \
        return 0;
    UF(EXP, "exp") UF(EXP2, "exp2") UF(EXPM1, "expm1") UF(LOG, "log")
    UF(LOG2, "log2") UF(LOG10, "log10") UF(LOG1P, "log1p") UF(SQRT, "sqrt")
    UF(RSQRT, "rsqrt") UF(SIN, "sin") UF(COS, "cos") UF(TAN, "tan")
    UF(TANH, "tanh") UF(SINH, "sinh") UF(COSH, "cosh") UF(ASIN, "asin")
    UF(ACOS, "acos") UF(ATAN, "atan") UF(ASINH, "asinh") UF(ACOSH, "acosh")
    UF(ATANH, "atanh") UF(ERF, "erf") UF(ERFC, "erfc")
#undef UF
    case CF_OP_RECIPROCAL:
        snprintf(o, cap, "((%s)1/%s)", T, a[0]);
        return 0;
    case CF_OP_SIGMOID:
        snprintf(o, cap, "((%s)1/((%s)1+%s(-%s)))", T, T, FN("exp"), a[0]);
        return 0;
    case CF_OP_SILU:
        snprintf(o, cap, "(%s/((%s)1+%s(-%s)))", a[0], T, FN("exp"), a[0]);
        return 0;
    case CF_OP_RELU:
        if (f) snprintf(o, cap, "(%s>0?%s:(%s!=%s?%s:(%s)0))", a[0], a[0],
                        a[0], a[0], a[0], T);
        else snprintf(o, cap, "(%s>0?%s:(%s)0)", a[0], a[0], T);
        return 0;
    case CF_OP_CEIL: case CF_OP_FLOOR: case CF_OP_ROUND: case CF_OP_TRUNC: {
        const char *fn = op == CF_OP_CEIL ? "ceil" : op == CF_OP_FLOOR
            ? "floor" : op == CF_OP_ROUND ? "rint" : "trunc";
        if (f) snprintf(o, cap, "%s%s(%s)", fn,
                        t == CF_DTYPE_DOUBLE ? "" : "f", a[0]);
        else snprintf(o, cap, "%s", a[0]);
        return 0;
    }
    case CF_OP_SIGN:
        if (f) snprintf(o, cap, "(%s>0?(%s)1:(%s<0?(%s)-1:%s))", a[0], T,
                        a[0], T, a[0]);
        else if (b) snprintf(o, cap, "%s", a[0]);
        else snprintf(o, cap, "(%s)((%s>0)-(%s<0))", T, a[0], a[0]);
        return 0;
    case CF_OP_SIGNBIT:
        if (f) snprintf(o, cap, "(bool)signbit(%s)", a[0]);
        else snprintf(o, cap, "(%s<0)", a[0]);
        return 0;
    case CF_OP_ISFINITE:
        snprintf(o, cap, f ? "(bool)isfinite(%s)" : "((void)%s,true)", a[0]);
        return 0;
    case CF_OP_ISINF:
        snprintf(o, cap, f ? "(bool)isinf(%s)" : "((void)%s,false)", a[0]);
        return 0;
    case CF_OP_ISNAN:
        snprintf(o, cap, "(%s!=%s)", a[0], a[0]);
        return 0;
    case CF_OP_LOGICAL_NOT:
        snprintf(o, cap, "(!%s)", a[0]);
        return 0;
    case CF_OP_BITWISE_NOT:
        snprintf(o, cap, b ? "(!%s)" : "(~%s)", a[0]);
        return 0;
    case CF_OP_FRAC:
        snprintf(o, cap, "(%s-%s(%s))", a[0], FN("trunc"), a[0]);
        return 0;
    case CF_OP_ADD:
        snprintf(o, cap, b ? "(%s||%s)" : "(%s+%s)", a[0], a[1]);
        return 0;
    case CF_OP_SUB:
        snprintf(o, cap, b ? "(%s!=%s)" : "(%s-%s)", a[0], a[1]);
        return 0;
    case CF_OP_MUL:
        snprintf(o, cap, b ? "(%s&&%s)" : "(%s*%s)", a[0], a[1]);
        return 0;
    case CF_OP_DIV:
        if (f || b) snprintf(o, cap, "(%s/%s)", a[0], a[1]);
        else snprintf(o, cap, "idiv<%s>(%s,%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_TRUEDIV:
        snprintf(o, cap, "(%s/%s)", a[0], a[1]);
        return 0;
    case CF_OP_MOD: case CF_OP_FMOD:
        if (f) snprintf(o, cap, "%s(%s,%s)", FN("fmod"), a[0], a[1]);
        else snprintf(o, cap, "imod<%s>(%s,%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_REMAINDER:
        if (f) snprintf(o, cap, "frem(%s,%s)", a[0], a[1]);
        else snprintf(o, cap, "irem<%s>(%s,%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_POW:
        if (f) snprintf(o, cap, "%s(%s,%s)", FN("pow"), a[0], a[1]);
        else if (b) snprintf(o, cap, "(%s||!%s)", a[0], a[1]);
        else snprintf(o, cap, "ipow<%s>(%s,%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_ATAN2:
        snprintf(o, cap, "%s(%s,%s)", FN("atan2"), a[0], a[1]);
        return 0;
    case CF_OP_MAXIMUM:
        snprintf(o, cap, "fmx<%s>(%s,%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_MINIMUM:
        snprintf(o, cap, "fmn<%s>(%s,%s)", T, a[0], a[1]);
        return 0;
#define CMP(E, s)                                                             \
    case CF_OP_##E:                                                           \
        snprintf(o, cap, "(%s" s "%s)", a[0], a[1]);                          \
        return 0;
    CMP(EQ, "==") CMP(NE, "!=") CMP(LT, "<") CMP(LE, "<=") CMP(GT, ">")
    CMP(GE, ">=")
#undef CMP
    case CF_OP_LOGICAL_AND:
        snprintf(o, cap, "((bool)%s&&(bool)%s)", a[0], a[1]);
        return 0;
    case CF_OP_LOGICAL_OR:
        snprintf(o, cap, "((bool)%s||(bool)%s)", a[0], a[1]);
        return 0;
    case CF_OP_BITWISE_AND:
        snprintf(o, cap, "(%s)(%s&%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_BITWISE_OR:
        snprintf(o, cap, "(%s)(%s|%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_BITWISE_XOR:
        snprintf(o, cap, "(%s)(%s^%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_BITWISE_LEFT_SHIFT:
        snprintf(o, cap, "ishl<%s>(%s,%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_BITWISE_RIGHT_SHIFT:
        snprintf(o, cap, "ishr<%s>(%s,%s)", T, a[0], a[1]);
        return 0;
    case CF_OP_WHERE:
        snprintf(o, cap, "((bool)%s?%s:%s)", a[0], a[1], a[2]);
        return 0;
    case CF_OP_CLAMP:
        snprintf(o, cap, "clmp<%s>(%s,%s,%s)", T, a[0], a[1], a[2]);
        return 0;
    case CF_OP_LERP:
        snprintf(o, cap, "(%s+%s*(%s-%s))", a[0], a[2], a[1], a[0]);
        return 0;
    case CF_OP_ADDCMUL:
        snprintf(o, cap, "(%s+%s*%s*%s)", a[0], a[3], a[1], a[2]);
        return 0;
    case CF_OP_THRESHOLD:
        snprintf(o, cap, "(%s>%s?%s:%s)", a[0], a[1], a[0], a[2]);
        return 0;
    case CF_OP_SET: case CF_OP_CAST:
        snprintf(o, cap, "%s", a[0]);
        return 0;
    default:
        return -1;
    }
}
