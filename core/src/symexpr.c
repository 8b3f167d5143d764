/* symexpr.c - sizes computed by scalar arithmetic (fd.ops.mul(t.size(0), 2)
 * as a shape argument): lowering turns the integer scalar expressions a
 * size depends on into CF_SYM_EXPR syms, and binding evaluates them once
 * per execute, after the inputs gave their sizes and scalars.
 *
 * Arithmetic is that of the integer kernels: wrapping add, sub and mul,
 * truncating div and C remainder with x / 0 == 0 and x % 0 == 0, Python's
 * remainder, max/min, abs, neg, and casts between integer types. */
#include "plan.h"
#include "symexpr.h"

bool cf_sym_op_supported(cf_opcode op, int nin)
{
    switch (op) {
    case CF_OP_ADD: case CF_OP_SUB: case CF_OP_MUL: case CF_OP_DIV: case CF_OP_MOD:
    case CF_OP_FMOD: case CF_OP_REMAINDER: case CF_OP_MAXIMUM: case CF_OP_MINIMUM:
        return nin == 2;
    case CF_OP_ABS: case CF_OP_NEG: case CF_OP_CAST: case CF_OP_SET:
        return nin == 1;
    default:
        return false;
    }
}

static int64_t wrap(uint64_t v) { return (int64_t)v; }

int64_t cf_sym_eval(cf_opcode op, int64_t a, int64_t b)
{
    switch (op) {
    case CF_OP_ADD: return wrap((uint64_t)a + (uint64_t)b);
    case CF_OP_SUB: return wrap((uint64_t)a - (uint64_t)b);
    case CF_OP_MUL: return wrap((uint64_t)a * (uint64_t)b);
    case CF_OP_DIV: return b == 0 || (a == INT64_MIN && b == -1) ? (b == 0 ? 0 : a) : a / b;
    case CF_OP_MOD: case CF_OP_FMOD: return b == 0 || b == -1 ? 0 : a % b;
    case CF_OP_REMAINDER: {
        int64_t m = b == 0 || b == -1 ? 0 : a % b;
        return (m != 0 && ((m < 0) != (b < 0))) ? m + b : m;
    }
    case CF_OP_MAXIMUM: return a >= b ? a : b;
    case CF_OP_MINIMUM: return a <= b ? a : b;
    case CF_OP_ABS: return a < 0 ? wrap(0u - (uint64_t)a) : a;
    case CF_OP_NEG: return wrap(0u - (uint64_t)a);
    default: return a; /* cast, set */
    }
}

cf_status cf_sym_eval_all(const cf_plan *pl, int64_t *symv)
{
    int s;
    /* operands are made before the syms that use them: one pass in order */
    for (s = 0; s < pl->nsyms; s++) {
        const cf_sym *sy = &pl->syms[s];
        if (sy->kind != CF_SYM_EXPR)
            continue;
        symv[s] = cf_sym_eval((cf_opcode)sy->op, symv[sy->input], sy->axis >= 0 ? symv[sy->axis] : 0);
        if (sy->instr && symv[s] < 0)
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): a size computed by scalar arithmetic is %lld; sizes must be >= 0", (long long)symv[s]);
    }
    return CF_OK;
}
