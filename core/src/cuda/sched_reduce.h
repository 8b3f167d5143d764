/* cuda/sched_reduce.h - which schedule a reduction kernel gets, and why.
 *
 * A pure function of the problem's shape and layout (after the kernel's
 * domain is put in memory order and merged, see codegen.c) and of the
 * device's properties: no driver, no NVRTC, so the choice is unit-tested on
 * any machine (suites/core/test_cuda_sched.c, with an H100's properties).
 *
 * The reasoning follows nvFuser's reduction and normalization schedulers
 * (fill the machine first, then coalesce, then keep data on chip):
 *  inner (the memory-innermost axis is reduced)
 *    row-persist  TX threads per row, each keeping `items` vectors of V in
 *                 registers across the phases (softmax, layernorm read
 *                 their input once). TX grows with the row up to 512, then
 *                 items grow (up to 16), so wide rows (18432 bf16: 512 x 5)
 *                 keep a block of 512 threads and many blocks per SM.
 *    row-stream   the row does not fit: each phase streams it again.
 *  outer (the memory-innermost axis is kept)
 *    outer-block  a thread per output along the contiguous kept axis (a
 *                 warp reads consecutive elements of one input row), TY
 *                 threads of the block splitting the reduced range,
 *                 combined in shared memory. Fewer outputs per block when
 *                 that gives the SMs more blocks (softmax over dim 0).
 *    outer-grid   a single-phase reduction whose outputs give too few
 *                 blocks: the reduced range is also split over `splits`
 *                 blocks (grid y); each writes its partial result to a
 *                 scratch buffer and the last block of a column group (a
 *                 semaphore counter per group) combines them and finishes.
 *                 A reduction followed by work over the reduced domain
 *                 (a normalization) cannot split this way.
 * Welford states (var, var_mean; a welford op) combine like any other
 * accumulator in every schedule: the partials are (n, mean, M2).
 */
#ifndef CFUSER_CUDA_SCHED_REDUCE_H
#define CFUSER_CUDA_SCHED_REDUCE_H

#include <stdbool.h>
#include <stdint.h>

#include "cfuser/cuda.h"

typedef enum cf_rs_kind {
    CF_RS_ROW_PERSIST,
    CF_RS_ROW_STREAM,
    CF_RS_OUTER_BLOCK,
    CF_RS_OUTER_GRID
} cf_rs_kind;

typedef struct cf_rs_problem {
    bool outer;          /* the memory-innermost axis is kept            */
    int64_t nrow;        /* outputs (kept elements)                       */
    int64_t nred;        /* reduced elements per output                   */
    int vec;             /* inner: vector width possible along the row    */
    int nfull;           /* loads over the reduced domain                 */
    int elem_bytes;      /* widest element those loads read               */
    bool later_full;     /* a phase after the first reads or writes the
                            reduced domain (a normalization)              */
    int persist_max;     /* values a thread may keep across phases        */
    bool quick;          /* the quick tier: no unrolling                  */
} cf_rs_problem;

typedef struct cf_rs_sched {
    cf_rs_kind kind;
    int V;               /* elements per thread access (inner)           */
    int TX, TY;          /* block: TX along the row / outputs, TY other   */
    int items;           /* row-persist: vectors each thread keeps        */
    int splits;          /* outer-grid: blocks along the reduced range    */
    int unroll;          /* steps of the reduced loop unrolled            */
    int64_t blocks;      /* blocks along the outputs                      */
    char why[320];       /* the reason, for the kernel's header comment   */
} cf_rs_sched;

/* Choose the schedule of p on a device of info (sm_count and
 * max_threads_per_sm are read; zeros stand for an H100's 132 and 2048). */
void cf_rs_choose(const cf_rs_problem *p, const cf_cuda_device_info *info,
                  cf_rs_sched *out);

/* Should a normalization (p->later_full) whose fused schedule is s split
 * into a statistics kernel and a pointwise apply kernel? When the fused
 * kernel's blocks leave SMs idle and the data is large enough (at least
 * 2M elements) for a second pass over it to cost less than the idle SMs;
 * small problems keep one launch. */
bool cf_rs_split_normalization(const cf_rs_problem *p, const cf_rs_sched *s,
                               const cf_cuda_device_info *info);

/* "row-persist", "row-stream", "outer-block", "outer-grid". */
const char *cf_rs_kind_name(cf_rs_kind k);

#endif
