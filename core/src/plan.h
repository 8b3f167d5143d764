/* plan.h - a lowered program plus what binding needs to give it shapes. */
#ifndef CFUSER_PLAN_H
#define CFUSER_PLAN_H

#include "cfuser/exec.h"
#include "cfuser/program.h"

/* Where a symbolic size or scalar comes from at run time. */
typedef enum cf_sym_kind {
    CF_SYM_CONST = 0,       /* value known when lowering                  */
    CF_SYM_INPUT_DIM = 1,   /* size of axis `axis` of input `input`       */
    CF_SYM_SCALAR_ARG = 2,  /* the scalar argument `input`                */
    CF_SYM_RESHAPE = 3,     /* inferred -1 of reshape instruction `instr` */
    CF_SYM_UNKNOWN = 4,     /* computed by scalar ops: not a usable size  */
    CF_SYM_EXPR = 5,        /* op of syms `input` and `axis` (symexpr.h)  */
    CF_SYM_MOVE = 6         /* extent along `dim` of SLICE/PAD/CAT `instr` */
} cf_sym_kind;

typedef struct cf_sym {
    uint8_t kind;
    uint16_t op;            /* CF_SYM_EXPR: the opcode                    */
    int32_t input, axis, instr;
    cf_scalar value;
} cf_sym;

typedef struct cf_plan {
    cf_program *prog;
    int nsyms;
    cf_sym *syms;
    int32_t *slot_sym;        /* nslots * CF_MAX_DIMS: sym of each dim, -1 none */
    int32_t *slot_val_sym;    /* nslots: sym giving a SCALAR slot's value   */
    int32_t *input_sym;       /* per fusion input: scalar args' sym, or -1  */
    uint32_t *out_squeeze;    /* per output: axes of its slot the user
                                 does not see (reductions without keepdim) */
    struct { int8_t ord[CF_MAX_DIMS]; int n; } *out_order; /* per output: its memory
                                 order (cf_fusion_alloc_order), user-visible axes */
    struct cf_plan_alias { int32_t input, same_as; bool visible; } *out_alias;
                              /* per output: the input position it is
                                 written into (-1 none), the input position
                                 it is itself (-1 none), whether the user
                                 sees it                                   */
    int nruns;                /* runs using it (under the cache's lock)     */
} cf_plan;

/* Shape of the output of movement instruction i (bind_move.c): computes
 * its CF_SYM_MOVE extent into symv, checks its operands, fills vals. */
cf_status cf_bind_move(const cf_plan *p, int i, int64_t *symv, cf_slot_value *vals);

cf_status cf_plan_build(const cf_fusion *f, cf_plan **out);

/* A run's program and slot values (exec.c; for source.c). */
const cf_program *cf_run_program(const cf_run *r);
const cf_slot_value *cf_run_slot_values(const cf_run *r);
void cf_plan_free(cf_plan *p);

/* Give every slot its shape for these arguments, check them, and point
 * input slots at the arguments' memory. vals has prog->nslots entries. */
cf_status cf_plan_bind(const cf_plan *p, int nargs, const cf_arg *args,
                       cf_slot_value *vals);

/* Shape checks of GATHER and SCATTER instructions (bind_indexing.c). */
cf_status cf_bind_check_indexing(const cf_program *p, const cf_prog_instr *ins,
                                 const cf_slot_value *vals);

#endif
