/* cfuser/exec.h - running fusions: tensors, the executor cache, a run.
 *
 * A cf_cache shares (retains) one fusion and holds one compiled plan per
 * input signature (dtypes, ranks, which axes have size 1, contiguity, device).
 * It may be used from many threads at once: its plan table is locked.
 *
 * One execution is three steps, so that the caller can allocate outputs in
 * its own framework between them and drop its interpreter lock for the last:
 *   cf_run_prepare   check inputs, find or build the plan, infer shapes
 *   cf_run_set_output  (for each output) give storage of the shape announced
 *   cf_run_execute   compute; touches no caller state but the tensors
 *   cf_run_free
 */
#ifndef CFUSER_EXEC_H
#define CFUSER_EXEC_H

#include <stdbool.h>
#include <stdint.h>

#include "cfuser/dtype.h"
#include "cfuser/fusion.h"
#include "cfuser/status.h"

#ifdef __cplusplus
extern "C" {
#endif

#define CF_DEVICE_CPU (-1) /* cf_tensor.device: -1 CPU, k >= 0 CUDA device k */

/* A strided view of memory the caller owns. Strides are in elements. */
typedef struct cf_tensor {
    void *data;
    cf_dtype dtype;
    int ndim;
    int device;
    int64_t shape[CF_MAX_DIMS];
    int64_t strides[CF_MAX_DIMS];
} cf_tensor;

/* One argument of execute: a tensor or a scalar (for symbolic scalars). */
typedef struct cf_arg {
    bool is_tensor;
    cf_tensor tensor;
    cf_scalar scalar;
} cf_arg;

typedef struct cf_cache cf_cache;
typedef struct cf_run cf_run;

typedef struct cf_exec_options {
    int nthreads;        /* <= 0: all cores                                */
    int device;          /* requested device or CF_DEVICE_CPU; -2: infer   */
    void *stream;        /* CUDA stream for device runs (NULL: default)    */
} cf_exec_options;

cf_status cf_cache_new(cf_fusion *f, cf_cache **out); /* retains f         */
void cf_cache_free(cf_cache *c);
cf_fusion *cf_cache_fusion(const cf_cache *c);        /* borrowed          */
int cf_cache_num_plans(cf_cache *c);
/* Plans of earlier versions of the fusion still used by runs in flight
 * (each is freed when its last run ends). */
int cf_cache_num_retired(cf_cache *c);

/* Check args against the fusion's inputs (count, kind, dtype, rank, the
 * sizes of broadcast and fixed axes, shapes that must agree), find or build
 * the plan, and infer every output's shape. Errors name the argument. */
cf_status cf_run_prepare(cf_cache *c, int nargs, const cf_arg *args,
                         const cf_exec_options *opt, cf_run **out);
int cf_run_num_outputs(const cf_run *r);
/* Shape, dtype and device of output i; data is NULL until set. */
const cf_tensor *cf_run_output(const cf_run *r, int i);
/* Output i's alias (cf_fusion_alias_output) as the fusion had it when the
 * run's plan was built: the input position the caller copies output i into
 * after cf_run_execute, or -1 (cf_run_prepare has checked that the shapes
 * agree); *visible (when not NULL) whether output i is returned to the user;
 * *same_as (when not NULL) the input position when output i is an input of
 * the fusion itself (add_output(t0)) or a value another output entry writes
 * into an input, else -1: nvFuser returns that input rather than a copy,
 * and so does the binding. */
int cf_run_output_alias(const cf_run *r, int i, bool *visible, int *same_as);
/* Storage for output i (strides in elements, NULL for contiguous). It must
 * not overlap an input or another output. */
cf_status cf_run_set_output(cf_run *r, int i, void *data,
                            const int64_t *strides);
/* The strides (in elements) output i should have: dense, in the memory
 * order torch would give the same computation (cf_fusion_alloc_order), so
 * a caller that allocates shape-many elements and passes these strides to
 * cf_run_set_output returns outputs laid out as torch's. Size-1 axes count
 * as 1. Errors: i out of range. */
cf_status cf_run_output_strides(const cf_run *r, int i, int64_t *strides);
/* The code of a prepared run, as text (source.c), in a string the caller
 * frees with cf_free: CF_SOURCE_CUDA the CUDA C the CUDA backend generates
 * for its shapes and strides, for CUDA device `device`'s architecture, or
 * for a default sm_90 device when device < 0 or no GPU is present (code
 * generation needs no GPU); intrinsic adds the fixed prelude (types and
 * helpers) every module starts with. CF_SOURCE_PROGRAM the lowered program
 * the CPU engine runs (its loops are compiled into libcfuser, nothing is
 * generated per fusion). It gives the outputs storage of their layout at a
 * fake address, so run the run no more afterwards: free it. Errors:
 * CF_ERR_UNSUPPORTED for CUDA code from a build without the backend. */
typedef enum cf_source_kind { CF_SOURCE_CUDA = 0, CF_SOURCE_PROGRAM = 1 } cf_source_kind;
cf_status cf_run_source(cf_run *r, cf_source_kind kind, int device,
                        bool intrinsic, char **text);
/* Compute. Must not be called before every output has storage. */
cf_status cf_run_execute(cf_run *r);
void cf_run_free(cf_run *r);

/* Size in bytes of a contiguous tensor of this shape and dtype; sets an
 * overflow error when it does not fit in int64. */
cf_status cf_tensor_nbytes(cf_dtype dtype, int ndim, const int64_t *shape,
                           int64_t *out);

#ifdef __cplusplus
}
#endif
#endif
