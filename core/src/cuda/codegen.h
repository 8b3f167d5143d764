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

#endif
