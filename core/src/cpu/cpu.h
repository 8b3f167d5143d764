/* cpu/cpu.h - private interfaces of the CPU executor.
 *
 * Values live in one of three in-register representations while a program
 * runs: double (Double), float (Float, Half, BFloat16) and int64 (Int, Int32,
 * Bool). Int32 and Bool values held as int64 are kept normalised (wrapped to
 * 32 bits, or 0/1) whenever they pass through a slot, so the int64 kernels
 * serve all three integer-like types. Storage formats are converted on load
 * and store only.
 */
#ifndef CFUSER_CPU_H
#define CFUSER_CPU_H

#include <stdint.h>

#include "cfuser/dtype.h"
#include "cfuser/fusion.h"
#include "cfuser/ops.h"
#include "cfuser/program.h"
#include "cfuser/status.h"

/* Elements per block of a pointwise chain: a block's temporaries of all
 * instructions stay in L1/L2 while the chain runs over it. */
#define CF_CPU_BLOCK 1024
/* Below this much work (elements x instructions) one thread does it all:
 * starting a team costs more than it saves. */
#define CF_CPU_PAR_MIN_WORK (1 << 16)
/* Stack bytes a call uses for its plan and scratch before going to the
 * heap. */
#define CF_CPU_LOCAL_BYTES (48 * 1024)

typedef enum cf_rep { CF_REP_F64 = 0, CF_REP_F32 = 1, CF_REP_I64 = 2 } cf_rep;

static inline cf_rep cf_rep_of(cf_dtype t)
{
    switch (t) {
    case CF_DTYPE_DOUBLE: return CF_REP_F64;
    case CF_DTYPE_FLOAT: case CF_DTYPE_HALF: case CF_DTYPE_BFLOAT16: return CF_REP_F32;
    default: return CF_REP_I64;
    }
}

static inline int cf_rep_size(cf_rep r) { return r == CF_REP_F32 ? 4 : 8; }

/* True when the storage format of t is its representation (no conversion). */
static inline int cf_dtype_is_native(cf_dtype t)
{
    return t == CF_DTYPE_DOUBLE || t == CF_DTYPE_FLOAT || t == CF_DTYPE_INT;
}

/* A strided view over a row-major index space, dims collapsed where the
 * layout allows. shape/strides in elements; ndim 0 means one element. */
typedef struct cf_ndview {
    char *data;
    cf_dtype dtype;
    int ndim;
    int64_t shape[CF_MAX_DIMS];
    int64_t strides[CF_MAX_DIMS];
} cf_ndview;

/* --- convert.c ------------------------------------------------------------ */
/* Storage of dtype src (n elements, stride in elements) to the
 * representation of dst, with dst's conversion rules (float to int: trunc,
 * NaN or out of range gives the type's minimum; to Bool: != 0). */
void cf_cvt_load(cf_dtype src, const void *p, int64_t stride, int64_t n,
                 cf_dtype dst, void *out);
/* Representation of src (n elements) to storage of dst with a stride. */
void cf_cvt_store(cf_dtype src, const void *in, int64_t n, cf_dtype dst,
                  void *p, int64_t stride);
/* Representation of src to representation of dst (may be in place when the
 * representations have the same size). */
void cf_cvt_rep(cf_dtype src, const void *in, int64_t n, cf_dtype dst, void *out);
/* Normalise values computed for a slot of dtype t in place: Int32 wraps,
 * Bool becomes 0/1, Half/BFloat16 round to their precision. */
void cf_normalize(cf_dtype t, void *buf, int64_t n);
/* Fill n elements of dst's representation with a scalar converted to dst. */
void cf_fill_scalar(const cf_scalar *s, cf_dtype dst, int64_t n, void *out);

/* Inverse error functions (specfun.c): NaN outside the domain, +-inf at
 * its ends. */
double cf_erfinv(double y);
double cf_erfcinv(double c);
/* Copy element 0 of buf (rsz bytes each) to elements 1..n-1. */
void cf_splat(void *buf, int rsz, int64_t n);

/* Elements [start, start + n) of v in row-major order, to dst's rep. */
void cf_nd_gather(const cf_ndview *v, int64_t start, int64_t n, cf_dtype dst,
                  void *out);
/* Write n values (rep of src) to elements [start, start + n) of v. */
void cf_nd_scatter(const cf_ndview *v, int64_t start, int64_t n, cf_dtype src,
                   const void *in);
/* Build a collapsed view of (data, dtype, ndim, shape, strides): size-1 axes
 * dropped, adjacent axes merged where contiguous with each other. */
void cf_ndview_make(cf_ndview *v, void *data, cf_dtype dtype, int ndim,
                    const int64_t *shape, const int64_t *strides);
/* Address of element lin (row-major) of v. */
char *cf_nd_addr(const cf_ndview *v, int64_t lin);
/* True when v covers its index space as one dense run (stride 1). */
int cf_ndview_dense(const cf_ndview *v);

/* --- kernels_*.c ---------------------------------------------------------- */
/* Accumulators of reductions: double for floating types, int64 otherwise. */
typedef union cf_acc {
    double d;
    int64_t i;
} cf_acc;

typedef struct cf_kernels {
    /* out[i] = op(in[0][i], ...) for i < n; inputs in the representation of
     * cdtype, out in the representation of the result (int64 for PRED ops).
     * Returns CF_OK or CF_ERR_TYPE for an op undefined on this type. */
    cf_status (*pw[3])(cf_opcode op, int64_t n, void *out, const void *const *in);
    /* out[i] = op(a[i], *s) (s_first == 0) or op(*s, a[i]) for a binary
     * op with one operand the same for all i, as pw would compute it with
     * *s splat over a block. Returns CF_ERR_TYPE for an op it does not
     * cover (the caller splats and uses pw). */
    cf_status (*pws[3])(cf_opcode op, int64_t n, void *out, const void *a, const void *s,
                        int s_first);
    /* Combine n values into *acc (SUM, PROD, MAX, MIN). */
    void (*rowred[3])(cf_opcode op, int64_t n, const void *x, cf_acc *acc);
    /* Sum of (x - mean)^2 over n values, added to *acc. */
    void (*rowsq[3])(int64_t n, const void *x, double mean, double *acc);
    /* acc[i] = combine(acc[i], x[i]) for i < n. */
    void (*colred[3])(cf_opcode op, int64_t n, const void *x, cf_acc *acc);
    /* acc[i] += sum over r < g of rows[r][i], for i < n: the rows added
     * in order in the value type (in tmp, n values), then once in double.
     * Rows are read whole, one after the other. */
    void (*colsum[3])(int64_t n, const void *const *rows, int g, void *tmp, double *acc);
    /* acc[i] += (x[i] - mean[i])^2. */
    void (*colsq[3])(int64_t n, const void *x, const double *mean, double *acc);
} cf_kernels;

extern const cf_kernels cf_kernels_generic;
#if defined(__x86_64__) || defined(__i386__)
#define CF_CPU_HAVE_AVX2 1
extern const cf_kernels cf_kernels_avx2;
extern const cf_kernels cf_kernels_avx512;
#endif
/* The best table the running CPU supports (no state: checked per call). */
const cf_kernels *cf_cpu_kernels(void);

/* --- threads.c ------------------------------------------------------------ */
typedef void (*cf_task_fn)(void *ctx, int tid, int64_t begin, int64_t end);
/* Run fn over [0, nitems) split into nt contiguous ranges, one per thread
 * (tid < nt). nt <= 1 runs on the caller's thread. */
void cf_parallel(int nt, int64_t nitems, cf_task_fn fn, void *ctx);
int cf_cpu_max_threads(void);
/* Threads worth using for `work` units spread over `nitems` items. */
int cf_cpu_pick_threads(int nthreads, int64_t nitems, int64_t work);

/* --- reduce.c ------------------------------------------------------------- */
/* Identity of a reduction for an output of dtype t, as an accumulator. */
cf_acc cf_red_identity(cf_opcode op, cf_dtype cdt, cf_dtype odt);
/* Combine two partial accumulators. */
cf_acc cf_red_combine(cf_opcode op, cf_rep r, cf_acc a, cf_acc b);
/* An accumulator as a value in the representation r. */
void cf_acc_to_rep(cf_acc a, cf_rep r, void *out);
/* A reduction that no fused schedule covers: any axes, any strides. */
typedef struct cf_red_args {
    const cf_kernels *k;
    cf_opcode op;
    cf_dtype cdt;
    int64_t correction;
    char *data;              /* the input */
    cf_dtype dtype;
    int ndim;
    int64_t shape[CF_MAX_DIMS];
    int64_t strides[CF_MAX_DIMS];
    uint32_t axes;
    int nout;
    cf_ndview out[2];        /* over the keepdim output shape */
    int nthreads;
} cf_red_args;
cf_status cf_reduce_generic(const cf_red_args *a);
/* The same for inputs whose innermost reduced axes are dense runs with
 * kept axes outside them and reduced ones outside those (NCHW over N, H,
 * W), reading the runs in memory order (reduce_runs.c); *handled = 0 and
 * CF_OK when the input is not of that kind. */
cf_status cf_reduce_runs(const cf_red_args *a, int *handled);
/* var = sq / max(0, n - correction) */
double cf_var_finish(double sq, int64_t n, int64_t correction);

/* --- shapeops.c ----------------------------------------------------------- */
/* dst (row-major over its shape) = src (row-major over its shape), same
 * element count, converting dtypes. */
cf_status cf_copy_nd(const cf_ndview *src, const cf_ndview *dst, int64_t numel,
                     int nthreads);
cf_status cf_iota(const cf_ndview *dst, int64_t n, const cf_scalar *start,
                  const cf_scalar *step, int nthreads);

#endif
