/* cpu/engine.h - the execution plan of one cf_cpu_execute call.
 *
 * Planning splits the program into segments:
 *   PW     a chain of pointwise instructions over one shape, run block by
 *          block (CF_CPU_BLOCK elements) with the chain's temporaries in
 *          per-thread scratch;
 *   ROW    pointwise instructions and reductions that reduce the innermost
 *          axes of one shape, run row by row: values before a reduction,
 *          the reduction, and values after it that use the row's result
 *          (softmax, layer norm) all stay in per-thread row buffers. The
 *          steps of a row are cut into phases, each starting at a step
 *          that needs a reduction result of the phase before; a phase is
 *          one pass over the row in pieces of CF_CPU_ROW_CHUNK, its
 *          reductions accumulating as the pieces are produced (softmax:
 *          max | exp(x - max) and its sum | division);
 *   REDUCE a reduction that fits neither (outer, middle or long axes);
 *   COPY, IOTA  data movement;
 *   SCAN   a scan, sort or welford (scan.c), alone.
 * A temporary lives only in scratch ("virtual") unless some later segment,
 * or a use that is not a plain elementwise read, needs it: then it is
 * materialised in a buffer of its own (contiguous, in its storage dtype).
 */
#ifndef CFUSER_CPU_ENGINE_H
#define CFUSER_CPU_ENGINE_H

#include <stddef.h>
#include <stdint.h>

#include "cpu/cpu.h"

/* Rows longer than this do not fit a ROW segment's buffers. */
#define CF_CPU_ROW_MAX (1 << 15)
/* A ROW segment runs a phase of its steps over a row piece by piece: every
 * step of the phase over one piece of this many elements before the next
 * piece, so values flow from step to step through L1. A multiple of the
 * 1024-element pieces of the float row sum, so a sum of a row adds the
 * same partial sums whether it is fused or not. */
#define CF_CPU_ROW_CHUNK 1024

enum { SEG_PW, SEG_ROW, SEG_REDUCE, SEG_COPY, SEG_IOTA, SEG_SCATTER, SEG_SCAN, SEG_MOVE };
enum { OPND_SCALAR, OPND_MEM, OPND_VFULL, OPND_VROW, OPND_WIN };

/* The most memory pieces one window reads (movement.c). */
#define CF_WIN_PIECES 8

/* A run of memory that a window reads: output index c (over the window's
 * axes) inside the box lo <= c < hi reads element off + sum c[d] *
 * strides[d] of the slot's storage. */
typedef struct cf_piece {
    int32_t slot;      /* read through its storage base                 */
    cf_dtype dtype;
    char *data;        /* bound: the base's data                        */
    int64_t off;
    int64_t strides[CF_MAX_DIMS];
    int64_t lo[CF_MAX_DIMS], hi[CF_MAX_DIMS];
} cf_piece;

/* The value of a SLICE, PAD or CAT (or a VIEW of one) as index arithmetic
 * over memory: the pieces (disjoint), and the fill where none covers an
 * index. Read in place by the pointwise steps that use it (OPND_WIN), or,
 * when something else reads it (mat), computed into memory by a SEG_MOVE
 * segment. Structure (instr, mat, inherit, np, piece slots, fill) is
 * planned once per shape; geometry is bound per call (scalar bounds may
 * change while shapes do not). */
typedef struct cf_window {
    int32_t instr;
    cf_dtype dtype;    /* the slot's (and every piece's) storage dtype  */
    uint8_t mat;
    uint8_t inherit[4];/* input j's own window is folded in             */
    int nd, np;
    int32_t fill;      /* scalar slot, -1: the pieces cover every index  */
    cf_scalar fillv;
    int64_t shape[CF_MAX_DIMS];
    cf_piece p[CF_WIN_PIECES];
} cf_window;

typedef struct cf_opnd {
    uint8_t kind;
    uint8_t in_place;  /* MEM: dense, stored exactly as computed       */
    uint8_t need_cvt;  /* VFULL/VROW: held in another type than wanted */
    uint8_t run_ok;    /* MEM: innermost axis dense, stored as computed:
                          a block inside one run is read in place     */
    uint8_t piece;     /* VFULL of a ROW segment read only in the phase
                          that computes it: one piece is kept, at the
                          start of its buffer, not the whole row       */
    int32_t slot;      /* the program slot read or written             */
    cf_dtype dtype;    /* the slot's storage dtype                     */
    size_t off;        /* VFULL/VROW: byte offset in thread scratch    */
    size_t boff;       /* VROW read by a full step: offset of a chunk of
                          the row's value, filled once per row        */
    cf_scalar sc;      /* SCALAR                                       */
    int16_t win;       /* WIN: the window (v.data points at it when
                          bound; v.ndim/v.shape: the index space)     */
    cf_ndview v;       /* MEM: over the step's index space             */
} cf_opnd;

typedef struct cf_step {
    const cf_prog_instr *ins;
    cf_opcode op;      /* the op run (bitwise_not on Bool: logical_not) */
    int row;           /* ROW segment: index space is one value per row */
    uint8_t brk;       /* ROW segment: a new phase starts here: the step
                          reads a reduction of the phase before        */
    uint8_t red;       /* a reduction                                  */
    uint8_t pieces;    /* first step of a ROW phase: the phase computes
                          full-row values, so it runs piece by piece;
                          0: reductions only, one call over the row   */
    uint8_t uni;       /* 1 + the input that is one value for the whole
                          step (a constant, a row's value) of a binary
                          float op with a scalar-operand loop; 0: none */
    uint8_t whole;     /* ROW segment reduction that needs the whole row
                          (var): run when its phase has been through
                          the row; others accumulate piece by piece    */
    int nin, nout;
    cf_dtype cdt;      /* compute dtype                                */
    cf_dtype rdt;      /* dtype whose representation the result has    */
    cf_opnd in[4];
    cf_opnd out[2];
    /* GATHER (indexing.c): in[0] is the source over the step's index
     * space with stride 0 along the indexed axis, in[1] the index (Int);
     * the value read is at in[0]'s element + index * gstride, index in
     * [0, gext). grow: the index is one value along each run of in[0]'s
     * innermost axis (a row of embedding_fwd or index_select). */
    int64_t gstride, gext;
    uint8_t grow;
} cf_step;

typedef struct cf_seg {
    int kind;
    int first_instr, last_instr;
    int ndim;                       /* the domain                   */
    int64_t shape[CF_MAX_DIMS];
    int rowk;                       /* ROW: first axis of the row   */
    int64_t nitems;                 /* blocks (PW) or rows (ROW)    */
    int64_t len;                    /* elements per item: block or row length */
    int64_t numel;                  /* PW: elements of the domain   */
    int64_t chunk;                  /* ROW: elements per piece of a row */
    size_t accoff;                  /* ROW: scratch of the accumulators,
                                       one cf_acc per step          */
    int first_step, nsteps;
    size_t gsz;                     /* bytes of one block buffer    */
    size_t scratch;                 /* bytes per thread             */
    size_t badoff;                  /* GATHER steps: a thread's record
                                       of an index out of range (two
                                       int64: count, value); 0 none */
    int nthreads;
} cf_seg;

typedef struct cf_slotinfo {
    int base;          /* slot that owns the storage (views resolved) */
    int seg;           /* segment that computes it; -1 if none        */
    uint8_t temp;      /* a TEMP base that is not given memory yet    */
    uint8_t mat;       /* gets a buffer of its own                    */
    uint8_t vrow;      /* virtual, one value per row of a ROW segment */
    int16_t win;       /* 1 + its window (movement.c), 0: none        */
    size_t off;        /* virtual: byte offset in thread scratch      */
    size_t moff;       /* materialised: byte offset in the temporaries */
    char *data;
    int64_t strides[CF_MAX_DIMS];
} cf_slotinfo;

typedef struct cf_cpu_plan {
    const cf_program *p;
    cf_slot_value *vals;
    const cf_kernels *k;
    int nthreads;
    cf_slotinfo *si;
    int *seg_of;       /* per instruction, -1 for views             */
    cf_seg *segs;
    int nsegs;
    cf_step *steps;
    int nsteps;
    cf_window *wins;   /* windows, nwins of them                    */
    int nwins;         /* cf_win_count(p): set by cf_cpu_plan_build,
                          or from the program's plan cache          */
    void *temps;       /* materialised temporaries (one block)      */
    size_t temps_size;
    char *local;       /* caller's buffer for small calls (or NULL) */
    size_t local_cap;
    size_t local_used;
    size_t scratch_max;/* bytes for all threads of the largest segment */
} cf_cpu_plan;

/* Plan a call from scratch (allocating the plan's arrays, then binding). */
cf_status cf_cpu_plan_build(cf_cpu_plan *pl);
/* Bytes of a plan's arrays for its program (pl->p, pl->nwins set);
 * pointing pl's arrays into mem (laid out as cf_cpu_plan_build does);
 * getting them from the caller's local buffer or the heap. */
size_t cf_cpu_plan_bytes(const cf_cpu_plan *pl);
void cf_cpu_plan_place(cf_cpu_plan *pl, char *mem);
cf_status cf_cpu_plan_alloc(cf_cpu_plan *pl);
/* Allocate the temporaries and point slots and operands at this call's
 * data and scalars. */
cf_status cf_cpu_plan_bind(cf_cpu_plan *pl);
/* Inputs and outputs with elements have data. */
cf_status cf_cpu_check_data(const cf_cpu_plan *pl);
void cf_cpu_plan_release(cf_cpu_plan *pl);
/* A plan from the program's cache, or built and added to it. */
cf_status cf_cpu_plan_get(cf_cpu_plan *pl);
/* Run one fused segment (PW or ROW) with the given scratch; fails only
 * when a GATHER step met an index out of range. */
cf_status cf_cpu_seg_run(const cf_cpu_plan *pl, const cf_seg *sg, char *scratch);

/* --- indexing.c ------------------------------------------------------------ */
/* Lay out the GATHER step st over index space (nd, osh). */
void cf_cpu_gather_step(const cf_cpu_plan *pl, cf_step *st, int nd, const int64_t *osh);
/* Elements [start, start + n) of a GATHER step into out (representation
 * of st->cdt), index values ix (NULL: st->grow and the index in memory,
 * read once per run from st->in[1]); raw: a block buffer. An index out of
 * range reads nothing (the element is 0) and is counted in bad[0], its
 * value kept in bad[1]. */
void cf_cpu_gather_block(const cf_step *st, int64_t start, int64_t n, const int64_t *ix, void *raw,
                         void *out, int64_t *bad);
/* The error of a GATHER step that met index value v. */
cf_status cf_cpu_gather_error(const cf_step *st, int64_t v);
/* A SCATTER segment. */
cf_status cf_cpu_run_scatter(const cf_cpu_plan *pl, const cf_seg *sg);

/* Run a SEG_SCAN segment (scan.c). */
cf_status cf_cpu_run_scan(const cf_cpu_plan *pl, const cf_seg *sg);
/* --- movement.c: SLICE, PAD and CAT read in place ------------------------ */
/* Windows a plan of p may need (0 for programs without movement). */
int cf_win_count(const cf_program *p);
/* After views are resolved: which slots are windows, which windows fold
 * into their consumers' windows and which need memory. */
void cf_win_plan(cf_cpu_plan *pl);
/* Is slot s a window read in place (no memory of its own)? */
int cf_win_virtual(const cf_cpu_plan *pl, int s);
/* May a step of segment cur read window slot s (its memory is final)? */
int cf_win_use_ok(const cf_cpu_plan *pl, int cur, int s);
/* The memory a window slot reads gets a buffer (read by segment g). */
cf_status cf_win_need_sources(cf_cpu_plan *pl, int s, int g);
/* Per call: every window's geometry from the bound shapes and scalars. */
void cf_win_bind(cf_cpu_plan *pl);
/* Elements [start, start + n) (row-major over the index space nd, ish,
 * which the window broadcasts to) in the representation of cdt. */
void cf_win_gather(const cf_window *w, int nd, const int64_t *ish, int64_t start, int64_t n, cf_dtype cdt,
                   void *out);
/* A SEG_MOVE segment: the window computed into its slot's memory. */
cf_status cf_win_run(const cf_cpu_plan *pl, const cf_seg *sg);

#endif
