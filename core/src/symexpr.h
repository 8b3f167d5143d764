/* symexpr.h - sizes computed by scalar arithmetic (symexpr.c; core only).
 * A CF_SYM_EXPR sym is op applied to syms `input` and `axis` (-1 for a
 * unary op); `instr` is 1 when a tensor size depends on it. */
#ifndef CFUSER_SYMEXPR_H
#define CFUSER_SYMEXPR_H

#include <stdbool.h>

#include "plan.h"

/* Whether lowering can make an expression of op with nin operands a sym. */
bool cf_sym_op_supported(cf_opcode op, int nin);
/* op on int64 operands, with the integer kernels' arithmetic. */
int64_t cf_sym_eval(cf_opcode op, int64_t a, int64_t b);
/* Evaluate every CF_SYM_EXPR sym of pl into symv (its operands already
 * bound); an error when a size comes out negative. */
cf_status cf_sym_eval_all(const cf_plan *pl, int64_t *symv);

#endif
