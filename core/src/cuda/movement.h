/* cuda/movement.h - CUDA C for reading a SLICE, PAD or CAT result in place
 * (movement.c), called by codegen.c. */
#ifndef CFUSER_CUDA_MOVEMENT_H
#define CFUSER_CUDA_MOVEMENT_H

#include "cuda/cuda_internal.h"
#include "cuda/sbuf.h"

/* What the generator lends: run-time integers and scalar values as text,
 * and the storage (parameter word of its pointer, element strides) that a
 * source slot is read from. */
typedef struct cf_cg_move_ctx {
    void *G;
    const cf_program *p;
    const cf_slot_value *v;
    void (*ival)(void *G, char *o, size_t cap, int64_t x);
    void (*vexpr)(void *G, int slot, char *o, size_t cap);
    int (*storage)(void *G, int slot, int64_t *strides);
    /* the instruction recomputed for source slot x, or -1 (storage) */
    int (*recompute)(void *G, int slot);
} cf_cg_move_ctx;

/* Statements setting `dst` (a register of the output's dtype) to element
 * `off` (row-major over the output's shape) of movement instruction ins:
 * `in box ? source[...] : fill`, the source picked by index range for a
 * CAT. The sources are read from storage. */
void cf_cg_move_load(cf_sbuf *b, const cf_cg_move_ctx *c, const cf_prog_instr *ins, const char *off,
                     const char *dst);

#endif
