/* cuda/codegen.h - private interfaces of the CUDA C generator. */
#ifndef CFUSER_CUDA_CODEGEN_H
#define CFUSER_CUDA_CODEGEN_H

#include "cuda/cuda_internal.h"

/* Register type of values of dtype t ("float" for Half/BFloat16). */
const char *cf_cg_regty(cf_dtype t);
/* Storage type of one element ("u16" for Half/BFloat16). */
const char *cf_cg_stty(cf_dtype t);
void cf_cg_load_conv(char *out, size_t cap, cf_dtype t, const char *e);
void cf_cg_store_conv(char *out, size_t cap, cf_dtype t, const char *e);
void cf_cg_to_slot(char *out, size_t cap, cf_dtype t, const char *e);
/* Expression of op over the argument expressions a (already of type t);
 * -1 when op is not pointwise. */
int cf_cg_op_text(char *out, size_t cap, cf_opcode op, cf_dtype t,
                  const char *const *a);

/* --- the indexing ops (cuda/indexing.c) and what they use of codegen.c -- */
#include "cuda/sbuf.h"
#include "cuda/segment.h"

typedef struct gen gen_t;
/* A word of the kernel's parameter block (cf_pword_kind), its index. */
int cf_cg_word(gen_t *G, int kind, int ref, int64_t value);
cf_sbuf *cf_cg_sb(gen_t *G);
cf_segs *cf_cg_segs(gen_t *G);
int cf_cg_buf(gen_t *G, int slot);      /* a slot's buffer, -1 none        */
int cf_cg_flag_buf(gen_t *G);           /* the index-check flag's buffer   */

/* Does p hold GATHER or SCATTER (and so need the index-check flag)? */
bool cf_cg_checks_index(const cf_program *p);
/* The value v<o> of GATHER instruction `instr` at element j: the index
 * expression idx checked against ext (a failure stores instr + 1 and the
 * value in the flag, buffer access fk, and reads nothing), the source
 * (access bk, storage of dtype t) read at off + index * dstride. */
void cf_cg_gather_text(cf_sbuf *b, int o, int instr, cf_dtype t, const char *idx, const char *ext,
                       const char *off, const char *dstride, int bk, int fk);
/* The kernel of a SCATTER segment (its part 0 or 1); *skip when it has
 * nothing to do. */
cf_status cf_cg_gen_scatter(gen_t *G, cf_kernel_launch *L, const cf_seg *g, bool *skip);

#endif
