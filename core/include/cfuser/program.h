/* cfuser/program.h - the lowered form that executors run.
 *
 * Lowering turns a fusion into a cf_program: a straight-line list of
 * instructions over numbered slots. Shapes are concrete only at run time:
 * binding fills one cf_slot_value per slot (shape for every slot; data and
 * strides for inputs and outputs; the scalar for scalar slots). Executors
 * (cpu/, cuda/) receive the program and the bound slots and decide how to
 * fuse, tile and parallelise; they allocate what TEMP slots need themselves.
 *
 * Rules the lowering guarantees, so executors need not check them:
 * - Pointwise instructions (cf_op_is_pointwise: unary, binary, ternary,
 *   CAST, SET): every tensor input has the output's rank, and each of its
 *   axes has the output's size or size 1 (broadcast). Inputs of rank 0 are
 *   scalars (a CONST/SCALAR slot, or a rank-0 tensor) broadcast everywhere.
 *   The op computes in `cdtype` (Float for Half/BFloat16 data); inputs are
 *   converted to cdtype on load, the result to the output slot's dtype on
 *   store. PRED ops (comparisons, isnan...) compare in cdtype and store Bool.
 * - VIEW: out axis d reads input axis map[d], or is a new broadcast axis when
 *   map[d] == -1. An input axis of size 1 may be expanded (stride 0). Input
 *   axes not named in map have size 1. No data moves.
 * - COPY: the output (contiguous) holds the input's elements in row-major
 *   order; shapes may differ (reshape) with the same element count.
 * - Reductions (SUM, PROD, MAX, MIN, VAR, VAR_MEAN): `axes` is a bit mask of
 *   the input axes reduced; outputs have the input's rank with those axes of
 *   size 1 (keepdim form; a following VIEW drops them). The accumulation type
 *   is cdtype (Float for Half/BFloat16, Double for Double, Int for integers).
 *   VAR divides by (n - correction), giving inf/nan like torch when that is
 *   <= 0; VAR_MEAN has two outputs: out[0] var, out[1] mean.
 *   Reducing zero elements gives the identity (0, 1, -inf/+inf or the
 *   integer limits for max/min; torch errors there, cfuser is defined).
 * - Scans (CUMSUM, CUMPROD, CUMMIN, CUMMAX): out has the input's shape and
 *   dtype; `axes` has the scanned axis; in[1], when nin == 2, is the scalar
 *   the scan starts from (else the op's identity). Floating values
 *   accumulate in Float or Double, integers wrap, Bool sums as or and
 *   multiplies as and; MIN/MAX propagate NaN.
 * - ARGSORT: out (Int) holds the input's indices along the axis in `axes`
 *   in sorted order; TOPK: out[0] the first out[0]-extent values of that
 *   order, out[1] their Int indices. Sorts are stable, NaN is the largest
 *   value; `correction` holds CF_SORT_DESCENDING.
 * - WELFORD: like a reduction over `axes` (keepdim outputs): out[0] mean,
 *   out[1] sum of squared deviations, out[2] the count (Int); cdtype is the
 *   accumulation type.
 * - FULL: in[0] is the fill scalar. IOTA: 1-D; in[0] start, in[1] step.
 * - SLICE, PAD, CAT move data along axis `dim`; the output has the input's
 *   rank and, off `dim`, its sizes (cf_move_* in move.h computes the rest):
 *   SLICE: out[.., i, ..] = in[.., first + i * step, ..] where first is the
 *   Int in[1] normalised like Python's slice bounds (with in[2], the end);
 *   manual == 1: the bounds are used as given and must satisfy 0 <= start
 *   <= end <= size; manual == 2 (select): nin == 2, one element at index
 *   in[1] (negative from the end), which must be in range.
 *   PAD: out[.., i, ..] = in[.., i - lo, ..] where that is inside the
 *   input, else the scalar in[3]; lo and hi are the Ints in[1] and in[2]
 *   (negative crops). CAT: in[0..nin) placed one after the other along
 *   `dim` (2 to 4 inputs, equal sizes off `dim`).
 * - GATHER (the lowered index_select, gather, take_along_axis and
 *   embedding_fwd): out[c] = in[0][s(c)] over the output's index space,
 *   where s(c) has, for each out axis d with map[d] >= 0, coordinate c[d]
 *   at source axis map[d] (0 along a source axis of size 1), and
 *   in[1][c] (an Int or Int32 tensor of the output's rank, broadcast
 *   axes of size 1) at source axis `correction`. A value of in[1] outside
 *   [0, size of that axis) fails the run with CF_ERR_INDEX. axes == 1:
 *   source axes may be longer than the output's (torch.gather); else they
 *   have the output's size or size 1. cdtype is the source's compute type.
 * - SCATTER: out = a copy of in[0]; then for every element c of in[1]
 *   (same rank), out[c with c[dim] = in[1][c]] = in[2][c] (in[2] a tensor
 *   of out's dtype, at least in[1]'s size along every axis, or a scalar),
 *   dim = `correction`. Out-of-range values fail with CF_ERR_INDEX; with
 *   repeated positions one of the values wins. Never fused.
 * - Integer DIV/MOD/REMAINDER/FMOD by zero give 0 (defined, no trap);
 *   integer overflow wraps (two's complement), as on torch.
 */
#ifndef CFUSER_PROGRAM_H
#define CFUSER_PROGRAM_H

#include <stdbool.h>
#include <stdint.h>

#include "cfuser/dtype.h"
#include "cfuser/fusion.h"
#include "cfuser/ops.h"
#include "cfuser/status.h"

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cf_slot_role {
    CF_SLOT_INPUT = 0,   /* a tensor the caller gives                      */
    CF_SLOT_OUTPUT = 1,  /* a tensor the caller receives                   */
    CF_SLOT_TEMP = 2,    /* an intermediate tensor                         */
    CF_SLOT_CONST = 3,   /* a constant scalar (value in the program)       */
    CF_SLOT_SCALAR = 4   /* a symbolic scalar input (value bound per call) */
} cf_slot_role;

typedef struct cf_prog_slot {
    cf_dtype dtype;      /* storage type                                   */
    uint8_t ndim;        /* 0 for scalars                                  */
    uint8_t role;        /* cf_slot_role                                   */
    uint32_t bcast_mask; /* axes that are broadcast (size 1) by definition */
    int io_index;        /* position among inputs/outputs, else -1         */
    cf_scalar value;     /* CF_SLOT_CONST                                  */
} cf_prog_slot;

/* Flags of ARGSORT and TOPK instructions (cf_prog_instr.correction). */
#define CF_SORT_DESCENDING 1 /* largest first (topk's largest)             */

typedef struct cf_prog_instr {
    cf_opcode op;
    cf_dtype cdtype;     /* compute type; CAST: the target type            */
    int8_t nin, nout;
    int32_t in[4];
    int32_t out[3];
    uint32_t axes;       /* reductions, WELFORD: reduced input axes; scans,
                            sorts: the one axis scanned or sorted          */
    int64_t correction;  /* VAR, VAR_MEAN; ARGSORT, TOPK: CF_SORT_* flags  */
    int8_t map[CF_MAX_DIMS]; /* VIEW                                       */
    int8_t dim;          /* SLICE, PAD, CAT: the axis moved along          */
    uint8_t manual;      /* SLICE: 0 normalise, 1 as given, 2 select       */
    int64_t step;        /* SLICE: the stride (> 0)                        */
} cf_prog_instr;

typedef struct cf_program {
    int nslots;
    cf_prog_slot *slots;
    int ninstrs;
    cf_prog_instr *instrs;
    int ninputs;          /* fusion inputs, in order: slot ids             */
    int32_t *inputs;
    int noutputs;         /* fusion outputs, in order: slot ids            */
    int32_t *outputs;
    /* The CPU executor's plans for the shapes it has run (set on the first
     * cf_cpu_execute, with the function that frees it; NULL until then).
     * Programs not made by cf_program_lower release it the same way. */
    void *cpu_cache;
    void (*cpu_cache_free)(void *cache);
} cf_program;

/* One slot's run-time value. Strides are in elements. */
typedef struct cf_slot_value {
    void *data;
    int64_t shape[CF_MAX_DIMS];
    int64_t strides[CF_MAX_DIMS];
    cf_scalar scalar;     /* CONST and SCALAR slots                        */
    bool on_host;         /* a 0-dim input tensor in CPU memory in a CUDA
                             run (nvFuser's is_cpu scalars): cf_cuda_execute
                             copies its element to the device first       */
} cf_slot_value;

/* Lower fusion f (with the given dtypes/ranks of its inputs already checked
 * against its definition) into a new program. */
cf_status cf_program_lower(const cf_fusion *f, cf_program **out);
void cf_program_free(cf_program *p);
/* Human-readable listing, for debugging and test failure messages; free
 * with cf_free. */
char *cf_program_dump(const cf_program *p);

/* Run p on the CPU. vals has p->nslots entries: shapes of all slots, data
 * and strides of INPUT and OUTPUT slots, scalars of CONST/SCALAR slots.
 * Outputs do not overlap inputs. nthreads <= 0 picks the machine's count.
 * Safe to call from many threads at once on the same program. */
cf_status cf_cpu_execute(const cf_program *p, cf_slot_value *vals,
                         int nthreads);

#ifdef __cplusplus
}
#endif
#endif
