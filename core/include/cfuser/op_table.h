/* cfuser/op_table.h - the list of ops, as X-macros.
 *
 * One line per op. Core, the executors and the bindings expand these lists,
 * so adding an op starts here (see README.md, "Adding an op").
 *
 * X(name, ENUM, category)
 *   name      the Python and print_math name
 *   ENUM      suffix of its cf_opcode (CF_OP_<ENUM>)
 *   category  result-type rule (cf_op_category):
 *     SAME      result has the promoted input type
 *     FLOAT     ints and bools promote to Float, result floating
 *     PRED      result Bool
 *     INTBOOL   integer or bool inputs only, result the promoted type
 *     INTONLY   integer inputs only
 */
#ifndef CFUSER_OP_TABLE_H
#define CFUSER_OP_TABLE_H

/* unary: f(x) */
#define CF_UNARY_OPS(X)                 \
    X(abs, ABS, SAME)                   \
    X(neg, NEG, SAME)                   \
    X(exp, EXP, FLOAT)                  \
    X(exp2, EXP2, FLOAT)                \
    X(expm1, EXPM1, FLOAT)              \
    X(log, LOG, FLOAT)                  \
    X(log2, LOG2, FLOAT)                \
    X(log10, LOG10, FLOAT)              \
    X(log1p, LOG1P, FLOAT)              \
    X(sqrt, SQRT, FLOAT)                \
    X(rsqrt, RSQRT, FLOAT)              \
    X(reciprocal, RECIPROCAL, FLOAT)    \
    X(sin, SIN, FLOAT)                  \
    X(cos, COS, FLOAT)                  \
    X(tan, TAN, FLOAT)                  \
    X(tanh, TANH, FLOAT)                \
    X(sinh, SINH, FLOAT)                \
    X(cosh, COSH, FLOAT)                \
    X(asin, ASIN, FLOAT)                \
    X(acos, ACOS, FLOAT)                \
    X(atan, ATAN, FLOAT)                \
    X(asinh, ASINH, FLOAT)              \
    X(acosh, ACOSH, FLOAT)              \
    X(atanh, ATANH, FLOAT)              \
    X(sigmoid, SIGMOID, FLOAT)          \
    X(relu, RELU, SAME)                 \
    X(silu, SILU, FLOAT)                \
    X(erf, ERF, FLOAT)                  \
    X(erfc, ERFC, FLOAT)                \
    X(ceil, CEIL, SAME)                 \
    X(floor, FLOOR, SAME)               \
    X(round, ROUND, SAME)               \
    X(trunc, TRUNC, SAME)               \
    X(sign, SIGN, SAME)                 \
    X(signbit, SIGNBIT, PRED)           \
    X(isfinite, ISFINITE, PRED)         \
    X(isinf, ISINF, PRED)               \
    X(isnan, ISNAN, PRED)               \
    X(logical_not, LOGICAL_NOT, PRED)   \
    X(bitwise_not, BITWISE_NOT, INTBOOL) \
    X(frac, FRAC, FLOAT)

/* binary: f(lhs, rhs) */
#define CF_BINARY_OPS(X)                               \
    X(add, ADD, SAME)                                  \
    X(sub, SUB, SAME)                                  \
    X(mul, MUL, SAME)                                  \
    X(div, DIV, SAME)                                  \
    X(truediv, TRUEDIV, FLOAT)                         \
    X(mod, MOD, SAME)                                  \
    X(remainder, REMAINDER, SAME)                      \
    X(fmod, FMOD, SAME)                                \
    X(pow, POW, SAME)                                  \
    X(atan2, ATAN2, FLOAT)                             \
    X(maximum, MAXIMUM, SAME)                          \
    X(minimum, MINIMUM, SAME)                          \
    X(eq, EQ, PRED)                                    \
    X(ne, NE, PRED)                                    \
    X(lt, LT, PRED)                                    \
    X(le, LE, PRED)                                    \
    X(gt, GT, PRED)                                    \
    X(ge, GE, PRED)                                    \
    X(logical_and, LOGICAL_AND, PRED)                  \
    X(logical_or, LOGICAL_OR, PRED)                    \
    X(bitwise_and, BITWISE_AND, INTBOOL)               \
    X(bitwise_or, BITWISE_OR, INTBOOL)                 \
    X(bitwise_xor, BITWISE_XOR, INTBOOL)               \
    X(bitwise_left_shift, BITWISE_LEFT_SHIFT, INTONLY) \
    X(bitwise_right_shift, BITWISE_RIGHT_SHIFT, INTONLY)

/* ternary and others with descriptive argument names; the arity is fixed.
 * where(pred, x, y)            pred ? x : y        (result: promoted x, y)
 * clamp(x, min, max)           min(max(x, min), max)
 * lerp(start, end, weight)     start + weight * (end - start)
 * addcmul(x, tensor1, tensor2, value)  x + value * tensor1 * tensor2
 * threshold(x, threshold, value)       x > threshold ? x : value        */
#define CF_TERNARY_OPS(X)        \
    X(where, WHERE, SAME)        \
    X(clamp, CLAMP, SAME)        \
    X(lerp, LERP, FLOAT)         \
    X(addcmul, ADDCMUL, SAME)    \
    X(threshold, THRESHOLD, SAME)

/* reductions over dims: sum/prod/max/min(arg, dims, keepdim, dtype) */
#define CF_REDUCTION_OPS(X) \
    X(sum, SUM, SAME)       \
    X(prod, PROD, SAME)     \
    X(max, MAX, SAME)       \
    X(min, MIN, SAME)

#endif
