/* cuda/scan.c - kernels of the scans, sorts and welford (one instruction,
 * a segment of its own: CF_OPF_OWN_SEGMENT).
 *
 *  scan     one block per row of the scanned axis (a grid-stride loop over
 *           rows); the row goes through in tiles of 256 threads x 4
 *           consecutive elements: each thread scans its four, the block
 *           scans the thread totals (warp shuffles, then the warp totals in
 *           shared memory) and the carry of the tiles before is applied.
 *           Accumulation in Float (Half, BFloat16, Float), Double, or
 *           wrapping int64; Bool sums as or, multiplies as and; cummax and
 *           cummin propagate NaN.
 *  sort     argsort and topk: a row in shared memory padded to a power of
 *           two (short rows several to a block) and sorted by a bitonic
 *           network on (key, index) pairs. Ordering ties by index makes the network's
 *           result the stable order (NaN is the largest key, as in torch).
 *           Rows longer than CF_CG_SORT_MAX elements are refused.
 *  welford  one block per output: each thread sums its elements shifted
 *           by its first one (no division per element), turns that into
 *           (n, mean, M2), and the block merges the threads' states with
 *           Chan's formula in a tree in shared memory.
 * Short rows, and scans or welford over an outer axis with many rows, take
 * a thread per row instead (consecutive threads on consecutive inner
 * elements: coalesced).
 * Sizes and strides are parameter words: a new shape with the same rank
 * and dtypes reuses the module.
 */
#include <stdio.h>
#include <string.h>

#include "cuda/codegen.h"
#include "cuda/scan.h"
#include "cuda/sbuf.h"
#include "cfuser/alloc.h"

#define MAXWORDS 128
#define SCAN_T 256
#define SCAN_ITEMS 4
#define WEL_T 256

typedef struct sgen {
    const cf_segs *S;
    const cf_program *p;
    const cf_slot_value *v;
    const int *bufidx;
    cf_sbuf *b;
    cf_pword w[MAXWORDS];
    int nw;
} sgen;

#define E(...) cf_sb_printf(g->b, __VA_ARGS__)

static int word(sgen *g, int kind, int ref, int64_t value)
{
    for (int i = 0; i < g->nw; i++)
        if (g->w[i].kind == kind && g->w[i].ref == ref && g->w[i].value == value)
            return i;
    if (g->nw >= MAXWORDS)
        return 0; /* checked by the caller through nw */
    g->w[g->nw] = (cf_pword){(uint8_t)kind, ref, value};
    return g->nw++;
}

/* A fresh word for a size or stride (never merged: its position in the
 * source is what matters, and equal values stay separate slots so that a
 * later shape with other values reuses the module). */
static int size_word(sgen *g, int64_t value)
{
    if (g->nw >= MAXWORDS)
        return 0;
    g->w[g->nw] = (cf_pword){CF_PW_CONST, -1, value};
    return g->nw++;
}

bool cf_cg_is_scan(const cf_program *p, const cf_seg *seg)
{
    return seg->copy_slot < 0 && seg->ninstrs == 1 &&
           cf_op_kind_of(p->instrs[seg->instrs[0]].op) == CF_KIND_SCAN;
}

/* Base buffer and strides of a slot as stored (input views read through
 * their base). */
static int storage_of(const sgen *g, int x, int64_t *st)
{
    if (g->S->gview[x]) {
        memcpy(st, g->S->gst[x], sizeof(int64_t) * CF_MAX_DIMS);
        return g->bufidx[g->S->gbase[x]];
    }
    cf_seg_storage_strides(g->S, x, st);
    return g->bufidx[x];
}

/* The compute type of values of dtype t. */
static const char *ctype(cf_dtype t)
{
    if (t == CF_DTYPE_DOUBLE)
        return "double";
    if (cf_dtype_is_float(t))
        return "float";
    return "i64";
}

static void load_expr(char *o, size_t cap, cf_dtype t, const char *e)
{
    if (cf_dtype_is_float(t)) {
        char c[120];
        cf_cg_load_conv(c, sizeof c, t, e);
        snprintf(o, cap, "(%s)%s", ctype(t), c);
    } else {
        snprintf(o, cap, "(i64)(%s)", e);
    }
}

static void store_expr(char *o, size_t cap, cf_dtype t, const char *e)
{
    if (t == CF_DTYPE_BOOL) {
        snprintf(o, cap, "(bool)((%s)!=0)", e);
        return;
    }
    cf_cg_store_conv(o, cap, t, e);
}

/* Declare pointer P<name> to buffer buf of element type of dtype t. */
static void emit_ptr(sgen *g, const char *name, int buf, cf_dtype t, bool out)
{
    int k = word(g, CF_PW_PTR, buf, 0);
    const char *ty = cf_cg_stty(t);
    E(" %s%s*__restrict__ %s=(%s%s*)p.w[%d];\n", out ? "" : "const ", ty, name, out ? "" : "const ", ty, k);
}

/* "o<name>": the offset of coordinates c<d> (dims in `dims`) with strides. */
static void emit_offset(sgen *g, const char *name, int n, const int *dims, const int64_t *st)
{
    E(" i64 %s=0", name);
    for (int i = 0; i < n; i++)
        if (st[dims[i]] != 0)
            E("+c%d*p.w[%d]", dims[i], size_word(g, st[dims[i]]));
    E(";\n");
}

/* Unravel `idx` over dims (runtime sizes) into c<d>. */
static void emit_unravel(sgen *g, const char *idx, int n, const int *dims, const int64_t *shape)
{
    E(" i64 u_=%s;\n", idx);
    for (int i = n - 1; i >= 0; i--) {
        int w = size_word(g, shape[dims[i]]);
        E(" const i64 c%d=u_%%p.w[%d]; u_/=p.w[%d];\n", dims[i], w, w);
    }
}

/* --- scans --------------------------------------------------------------- */

static void scan_op_text(char *o, size_t cap, cf_opcode op, cf_dtype t)
{
    bool flt = cf_dtype_is_float(t);
    if (t == CF_DTYPE_BOOL) /* or, and */
        op = op == CF_OP_CUMSUM ? CF_OP_CUMMAX : op == CF_OP_CUMPROD ? CF_OP_CUMMIN : op;
    switch (op) {
    case CF_OP_CUMSUM:
        snprintf(o, cap, flt ? "a+b" : "(i64)((unsigned long long)a+(unsigned long long)b)");
        break;
    case CF_OP_CUMPROD:
        snprintf(o, cap, flt ? "a*b" : "(i64)((unsigned long long)a*(unsigned long long)b)");
        break;
    case CF_OP_CUMMAX:
        snprintf(o, cap, flt ? "(a!=a||a>=b)?a:b" : "a>=b?a:b");
        break;
    default:
        snprintf(o, cap, flt ? "(a!=a||a<=b)?a:b" : "a<=b?a:b");
        break;
    }
}

static void scan_identity(char *o, size_t cap, cf_opcode op, cf_dtype t)
{
    bool flt = cf_dtype_is_float(t);
    if (t == CF_DTYPE_BOOL)
        op = op == CF_OP_CUMSUM ? CF_OP_CUMMAX : op == CF_OP_CUMPROD ? CF_OP_CUMMIN : op;
    if (op == CF_OP_CUMSUM)
        snprintf(o, cap, "0");
    else if (op == CF_OP_CUMPROD)
        snprintf(o, cap, "1");
    else if (op == CF_OP_CUMMAX)
        snprintf(o, cap, t == CF_DTYPE_BOOL ? "0" : flt ? "-__int_as_float(0x7f800000)" : "(i64)0x8000000000000000ULL");
    else
        snprintf(o, cap, t == CF_DTYPE_BOOL ? "1" : flt ? "__int_as_float(0x7f800000)" : "(i64)0x7fffffffffffffffLL");
}

/* The scan's start value (the init operand, or the identity), in the
 * compute type of t. */
static void scan_init(sgen *g, const cf_prog_instr *in, cf_dtype t, char *o, size_t cap)
{
    char e[96];
    if (in->nin < 2) {
        scan_identity(o, cap, in->op, t);
        return;
    }
    int x = in->in[1];
    const cf_prog_slot *sl = &g->p->slots[x];
    if (sl->role == CF_SLOT_CONST) {
        cf_scalar s = sl->value;
        double d = cf_dtype_is_float(s.dtype) ? s.v.f : cf_dtype_is_bool(s.dtype) ? (double)s.v.b : (double)s.v.i;
        int64_t i = cf_dtype_is_float(s.dtype) ? (int64_t)s.v.f : cf_dtype_is_bool(s.dtype) ? s.v.b : s.v.i;
        uint64_t u;
        memcpy(&u, &d, 8);
        if (cf_dtype_is_float(t))
            snprintf(e, sizeof e, "__longlong_as_double(0x%llxLL)", (unsigned long long)u);
        else
            snprintf(e, sizeof e, "(i64)0x%llxULL", (unsigned long long)i);
    } else {
        int k = word(g, CF_PW_SCALAR, x, 0);
        if (cf_dtype_is_float(sl->dtype))
            snprintf(e, sizeof e, "__longlong_as_double(p.w[%d])", k);
        else
            snprintf(e, sizeof e, "p.w[%d]", k);
    }
    if (cf_dtype_is_float(t))
        snprintf(o, cap, "(%s)(%s)", ctype(t), e);
    else if (t == CF_DTYPE_INT32)
        snprintf(o, cap, "(i64)(int)(%s)", e);
    else if (t == CF_DTYPE_BOOL)
        snprintf(o, cap, "(i64)((%s)!=0)", e);
    else
        snprintf(o, cap, "(i64)(%s)", e);
}

static cf_status gen_scan_threads(sgen *g, const cf_prog_instr *in, const char *kname, int gi, cf_kernel_launch *L,
                                 const char *T, const char *init, cf_dtype xt, cf_dtype ot, int xb, int ob,
                                 const int64_t *xst, const int64_t *ost, const int *od, int no, int64_t rows, int ax)
{
    char ld[200], sv[96];
    int x = in->in[0];
    E("extern \"C\" __global__ void __launch_bounds__(%d) %s(const P%d p){\n", SCAN_T, kname, gi);
    emit_ptr(g, "X", xb, xt, false);
    emit_ptr(g, "Y", ob, ot, true);
    int wr = size_word(g, rows), wl = size_word(g, g->v[x].shape[ax]);
    int wxs = size_word(g, xst[ax]), wos = size_word(g, ost[ax]);
    E(" const i64 R=p.w[%d],L=p.w[%d],xs=p.w[%d],ys=p.w[%d];\n", wr, wl, wxs, wos);
    E(" for(i64 r=(i64)blockIdx.x*%d+threadIdx.x;r<R;r+=(i64)gridDim.x*%d){\n", SCAN_T, SCAN_T);
    emit_unravel(g, "r", no, od, g->v[x].shape);
    emit_offset(g, "xo", no, od, xst);
    emit_offset(g, "yo", no, od, ost);
    load_expr(ld, sizeof ld, xt, "X[xo+i*xs]");
    store_expr(sv, sizeof sv, ot, "acc");
    E("  %s acc=%s;\n  for(i64 i=0;i<L;i++){acc=sop%d(acc,(%s)%s);Y[yo+i*ys]=%s;}\n }\n}\n", T, init, gi, T, ld, sv);
    int64_t blocks = (rows + SCAN_T - 1) / SCAN_T, cap = 16 * 132;
    L->grid[0] = (unsigned)(blocks < cap ? blocks : cap);
    L->block[0] = SCAN_T;
    return CF_OK;
}

static cf_status gen_scan(sgen *g, const cf_prog_instr *in, const char *kname, int gi, cf_kernel_launch *L)
{
    int x = in->in[0], o = in->out[0], nd = g->p->slots[x].ndim, ax = __builtin_ctz(in->axes);
    int od[CF_MAX_DIMS], no = 0;
    int64_t xst[CF_MAX_DIMS], ost[CF_MAX_DIMS], rows = 1;
    /* computes in cdtype; the input may be narrower (a folded cast) */
    cf_dtype xt = g->p->slots[x].dtype, ot = g->p->slots[o].dtype;
    cf_dtype t = in->cdtype != CF_DTYPE_NULL ? in->cdtype : xt;
    const char *T = ctype(t);
    char op[128], init[160], ident[96], ld[200], sv[96];
    int xb = storage_of(g, x, xst), ob = storage_of(g, o, ost);
    for (int d = 0; d < nd; d++)
        if (d != ax) {
            od[no++] = d;
            rows *= g->v[x].shape[d];
        }
    scan_op_text(op, sizeof op, in->op, t);
    scan_identity(ident, sizeof ident, in->op, t);
    scan_init(g, in, t, init, sizeof init);
    E("__device__ __forceinline__ %s sop%d(%s a,%s b){return %s;}\n", T, gi, T, T, op);
    int64_t len = g->v[x].shape[ax];
    /* A thread per row, down the axis: short rows, or an axis that is not
     * the contiguous one (a scan over an outer axis: consecutive threads
     * read consecutive inner elements) with rows enough for the device. */
    if (len <= 16 || (xst[ax] != 1 && rows >= 2048))
        return gen_scan_threads(g, in, kname, gi, L, T, init, xt, ot, xb, ob, xst, ost, od, no, rows, ax);
    /* A block per row; few long rows take wider blocks and more elements a
     * thread (fewer tiles, so fewer block-wide steps on each row). */
    int NT = SCAN_T, IT = SCAN_ITEMS;
    if (rows < 2 * 132 && len > 8 * SCAN_T * SCAN_ITEMS) {
        NT = 1024;
        IT = 8;
    }
    E("extern \"C\" __global__ void __launch_bounds__(%d) %s(const P%d p){\n", NT, kname, gi);
    emit_ptr(g, "X", xb, xt, false);
    emit_ptr(g, "Y", ob, ot, true);
    int wr = size_word(g, rows), wl = size_word(g, g->v[x].shape[ax]);
    int wxs = size_word(g, xst[ax]), wos = size_word(g, ost[ax]);
    E(" const i64 R=p.w[%d],L=p.w[%d],xs=p.w[%d],ys=p.w[%d];\n", wr, wl, wxs, wos);
    E(" __shared__ %s sm[%d];\n const int tid=threadIdx.x,lane=tid&31,wp=tid>>5;\n", T, NT / 32 + 1);
    E(" for(i64 r=blockIdx.x;r<R;r+=gridDim.x){\n");
    emit_unravel(g, "r", no, od, g->v[x].shape);
    emit_offset(g, "xo", no, od, xst);
    emit_offset(g, "yo", no, od, ost);
    E("  %s carry=%s;\n", T, init);
    E("  for(i64 t0=0;t0<L;t0+=%d){\n", NT * IT);
    E("   %s v[%d];%s tot=%s;\n", T, IT, T, ident);
    load_expr(ld, sizeof ld, xt, "X[xo+i*xs]");
    E("   #pragma unroll\n   for(int j=0;j<%d;j++){i64 i=t0+(i64)tid*%d+j;v[j]=i<L?(%s)%s:(%s)(%s);tot=sop%d(tot,v[j]);}\n",
      IT, IT, T, ld, T, ident, gi);
    /* inclusive scan of the thread totals within the warp */
    E("   %s inc=tot;\n   #pragma unroll\n   for(int o=1;o<32;o<<=1){%s u=__shfl_up_sync(0xffffffffu,inc,o);if(lane>=o)inc=sop%d(u,inc);}\n",
      T, T, gi);
    E("   if(lane==31)sm[wp]=inc;\n   __syncthreads();\n");
    E("   if(wp==0){%s w=lane<%d?sm[lane]:(%s)(%s);\n    #pragma unroll\n    for(int o=1;o<32;o<<=1){%s u=__shfl_up_sync(0xffffffffu,w,o);if(lane>=o)w=sop%d(u,w);}\n    if(lane<%d)sm[lane]=w;}\n   __syncthreads();\n",
      T, NT / 32, T, ident, T, gi, NT / 32);
    E("   %s ex=__shfl_up_sync(0xffffffffu,inc,1);if(lane==0)ex=(%s)(%s);\n", T, T, ident);
    E("   %s acc=sop%d(carry,wp>0?sop%d(sm[wp-1],ex):ex);\n", T, gi, gi);
    store_expr(sv, sizeof sv, ot, "acc");
    E("   #pragma unroll\n   for(int j=0;j<%d;j++){i64 i=t0+(i64)tid*%d+j;acc=sop%d(acc,v[j]);if(i<L)Y[yo+i*ys]=%s;}\n",
      IT, IT, gi, sv);
    E("   carry=sop%d(carry,sm[%d]);\n   __syncthreads();\n  }\n }\n}\n", gi, NT / 32 - 1);
    int64_t cap = 32 * 132;
    L->grid[0] = (unsigned)(rows < cap ? rows : cap);
    L->block[0] = NT;
    return CF_OK;
}

/* --- sorts --------------------------------------------------------------- */

static int next_pow2(int64_t x)
{
    int n = 1;
    while (n < x)
        n <<= 1;
    return n;
}

static cf_status gen_sort(sgen *g, const cf_prog_instr *in, const char *kname, int gi, cf_kernel_launch *L)
{
    int x = in->in[0], nd = g->p->slots[x].ndim, ax = __builtin_ctz(in->axes);
    int od[CF_MAX_DIMS], no = 0, nout = in->nout;
    int64_t xst[CF_MAX_DIMS], st0[CF_MAX_DIMS], st1[CF_MAX_DIMS], rows = 1, len = g->v[x].shape[ax];
    cf_dtype t = g->p->slots[x].dtype;
    const char *K = ctype(t);
    bool desc = (in->correction & CF_SORT_DESCENDING) != 0, flt = cf_dtype_is_float(t);
    char ld[200], sv[96];
    if (len > CF_CG_SORT_MAX)
        return cf_error_set(CF_ERR_UNSUPPORTED, cf_op_name(in->op),
                            "%s(): the CUDA executor sorts rows of at most %d elements; dim %d has %lld "
                            "(run this fusion on CPU tensors)", cf_op_name(in->op), CF_CG_SORT_MAX, ax, (long long)len);
    /* PT threads per row (a pair each per step of the network), RPB rows
     * a block: short rows share a block (their keys fill shared memory
     * side by side) */
    int N = next_pow2(len > 1 ? len : 2), PT = N / 2 < 1024 ? N / 2 : 1024;
    int RPB = 1024 / PT < CF_CG_SORT_MAX / N ? 1024 / PT : CF_CG_SORT_MAX / N;
    if (RPB < 1)
        RPB = 1;
    int xb = storage_of(g, x, xst), b0 = storage_of(g, in->out[0], st0), b1 = -1;
    if (nout > 1)
        b1 = storage_of(g, in->out[1], st1);
    for (int d = 0; d < nd; d++)
        if (d != ax) {
            od[no++] = d;
            rows *= g->v[x].shape[d];
        }
    /* before(a, b): key a strictly first; NaN is the largest key */
    E("__device__ __forceinline__ bool sbf%d(%s a,%s b){", gi, K, K);
    if (flt)
        E("bool an=a!=a,bn=b!=b;if(an||bn)return %s;", desc ? "an&&!bn" : "!an&&bn");
    E("return %s;}\n", desc ? "a>b" : "a<b");
    E("extern \"C\" __global__ void __launch_bounds__(1024) %s(const P%d p){\n", kname, gi);
    emit_ptr(g, "X", xb, t, false);
    if (in->op == CF_OP_ARGSORT) {
        emit_ptr(g, "I", b0, CF_DTYPE_INT, true);
    } else {
        emit_ptr(g, "Y", b0, g->p->slots[in->out[0]].dtype, true);
        emit_ptr(g, "I", b1, CF_DTYPE_INT, true);
    }
    int wr = size_word(g, rows), wl = size_word(g, len), wxs = size_word(g, xst[ax]);
    int wk = size_word(g, nout > 1 ? g->v[in->out[0]].shape[ax] : len);
    int ws0 = size_word(g, st0[ax]), ws1 = size_word(g, nout > 1 ? st1[ax] : 0);
    int wN = size_word(g, N), wpt = size_word(g, PT), wrpb = size_word(g, RPB);
    E(" const i64 R=p.w[%d],L=p.w[%d],xs=p.w[%d],K=p.w[%d],s0=p.w[%d],s1=p.w[%d];\n"
      " const int N=(int)p.w[%d],TH=(int)p.w[%d],RPB=(int)p.w[%d];\n",
      wr, wl, wxs, wk, ws0, ws1, wN, wpt, wrpb);
    /* keys of the RPB rows, then their indices, in dynamic shared memory */
    E(" (void)s1;\n extern __shared__ unsigned char smraw[];\n const int sb=threadIdx.x/TH,tid=threadIdx.x%%TH;\n"
      " %s*sk=(%s*)smraw+sb*N;\n int*si=(int*)((%s*)smraw+RPB*N)+sb*N;\n", K, K, K);
    E(" for(i64 rb=(i64)blockIdx.x*RPB;rb<R;rb+=(i64)gridDim.x*RPB){\n  const i64 r=rb+sb;const bool act=r<R;\n");
    emit_unravel(g, "r", no, od, g->v[x].shape);
    emit_offset(g, "xo", no, od, xst);
    emit_offset(g, "o0", no, od, st0);
    if (nout > 1)
        emit_offset(g, "o1", no, od, st1);
    load_expr(ld, sizeof ld, t, "X[xo+i*xs]");
    /* every thread takes part in every step (rows past R sort padding) */
    E("  for(int i=tid;i<N;i+=TH){sk[i]=act&&i<L?%s:(%s)0;si[i]=i;}\n  __syncthreads();\n", ld, K);
    /* a (key, index) pair is less than another in the order wanted: the
     * padding (index >= L) last, ties by index */
    E("  for(int k=2;k<=N;k<<=1){\n   for(int j=k>>1;j>0;j>>=1){\n");
    E("    for(int i=tid;i<N;i+=TH){int l=i^j;if(l>i){\n");
    E("     int ia=si[i],ib=si[l];%s ka=sk[i],kb=sk[l];\n", K);
    E("     bool pa=ia>=L,pb=ib>=L;\n");
    E("     bool lt=pa!=pb?pa:(pa?ib<ia:(sbf%d(kb,ka)||(!sbf%d(ka,kb)&&ib<ia)));\n", gi, gi);
    /* lt: element l comes before element i; swap when that contradicts the
     * direction of this subsequence */
    E("     bool up=(i&k)==0;if(lt==up){sk[i]=kb;sk[l]=ka;si[i]=ib;si[l]=ia;}}}\n");
    E("    __syncthreads();\n   }\n  }\n");
    if (in->op == CF_OP_ARGSORT) {
        E("  if(act)for(int i=tid;i<L;i+=TH)I[o0+i*s0]=(i64)si[i];\n");
    } else {
        store_expr(sv, sizeof sv, g->p->slots[in->out[0]].dtype, "sk[i]");
        E("  if(act)for(int i=tid;i<K;i+=TH){Y[o0+i*s0]=%s;I[o1+i*s1]=(i64)si[i];}\n", sv);
    }
    E("  __syncthreads();\n }\n}\n");
    int64_t blocks = (rows + RPB - 1) / RPB, cap = 16 * 132;
    L->grid[0] = (unsigned)(blocks < cap ? blocks : cap);
    L->block[0] = (unsigned)(PT * RPB);
    L->smem = (unsigned)((size_t)RPB * (size_t)N * (strcmp(K, "float") == 0 ? 8 : 12));
    return CF_OK;
}

/* --- welford ------------------------------------------------------------- */

static cf_status gen_welford(sgen *g, const cf_prog_instr *in, const char *kname, int gi, cf_kernel_launch *L)
{
    int x = in->in[0], nd = g->p->slots[x].ndim;
    int kd[CF_MAX_DIMS] = {0}, rd[CF_MAX_DIMS] = {0}, nk = 0, nr = 0;
    int64_t xst[CF_MAX_DIMS], ost[3][CF_MAX_DIMS], nout = 1, R = 1;
    cf_dtype t = g->p->slots[x].dtype, at = g->p->slots[in->out[0]].dtype;
    const char *T = in->cdtype == CF_DTYPE_DOUBLE ? "double" : "float";
    char ld[200], s0[96], s1[96];
    int xb = storage_of(g, x, xst), ob[3];
    for (int j = 0; j < 3; j++)
        ob[j] = storage_of(g, in->out[j], ost[j]);
    for (int d = 0; d < nd; d++) {
        if ((in->axes >> d) & 1) {
            rd[nr++] = d;
            R *= g->v[x].shape[d];
        } else {
            kd[nk++] = d;
            nout *= g->v[x].shape[d];
        }
    }
    /* A thread per output, down its elements: few elements each, or
     * reduced axes that are not the contiguous one (a reduction over an
     * outer axis: consecutive threads read consecutive inner elements)
     * with outputs enough for the device. Otherwise a block per output. */
    bool thr = R <= 16 || (nr > 0 && xst[rd[nr - 1]] != 1 && nout >= 2048);
    E("extern \"C\" __global__ void __launch_bounds__(%d) %s(const P%d p){\n typedef %s T;\n", WEL_T, kname, gi, T);
    emit_ptr(g, "X", xb, t, false);
    emit_ptr(g, "A", ob[0], at, true);
    emit_ptr(g, "V", ob[1], g->p->slots[in->out[1]].dtype, true);
    emit_ptr(g, "C", ob[2], CF_DTYPE_INT, true);
    int wn = size_word(g, nout), wr = size_word(g, R);
    E(" const i64 NO=p.w[%d],R=p.w[%d];\n const int tid=threadIdx.x;\n", wn, wr);
    if (thr)
        E(" for(i64 o=(i64)blockIdx.x*%d+tid;o<NO;o+=(i64)gridDim.x*%d){\n  i64 xo,ao,vo,co;\n  {\n", WEL_T, WEL_T);
    else
        E(" __shared__ T sn[%d],sm[%d],sq[%d];\n for(i64 o=blockIdx.x;o<NO;o+=gridDim.x){\n  i64 xo,ao,vo,co;\n  {\n",
          WEL_T, WEL_T, WEL_T);
    emit_unravel(g, "o", nk, kd, g->v[x].shape);
    emit_offset(g, "xo_", nk, kd, xst);
    emit_offset(g, "ao_", nk, kd, ost[0]);
    emit_offset(g, "vo_", nk, kd, ost[1]);
    emit_offset(g, "co_", nk, kd, ost[2]);
    E("  xo=xo_;ao=ao_;vo=vo_;co=co_;\n  }\n");
    /* per thread: sums of x - k, k its first value */
    if (thr)
        E("  T k=0,n=0,s1=0,s2=0;\n  for(i64 r=0;r<R;r++){\n");
    else
        E("  T k=0,n=0,s1=0,s2=0;\n  for(i64 r=tid;r<R;r+=%d){\n", WEL_T);
    if (nr == 1 && xst[rd[0]] == 1) {
        E("   const i64 ro=r;\n");
    } else {
        emit_unravel(g, "r", nr, rd, g->v[x].shape);
        emit_offset(g, "ro", nr, rd, xst);
    }
    load_expr(ld, sizeof ld, t, "X[xo+ro]");
    E("   T v=(T)(%s);if(n==(T)0)k=v;T d=v-k;n+=(T)1;s1+=d;s2+=d*d;\n  }\n", ld);
    E("  T mean=n>(T)0?k+s1/n:(T)0,q=n>(T)0?s2-s1*(s1/n):(T)0;if(q<(T)0)q=(T)0;\n");
    if (thr) {
        store_expr(s0, sizeof s0, at, "R>0?mean:(T)__longlong_as_double(0x7ff8000000000000LL)");
        store_expr(s1, sizeof s1, g->p->slots[in->out[1]].dtype, "q");
        E("  A[ao]=%s;V[vo]=%s;C[co]=R;\n }\n}\n", s0, s1);
        int64_t blocks = (nout + WEL_T - 1) / WEL_T, cap = 16 * 132;
        L->grid[0] = (unsigned)(blocks < cap ? blocks : cap);
        L->block[0] = WEL_T;
        return CF_OK;
    }
    E("  sn[tid]=n;sm[tid]=mean;sq[tid]=q;\n  __syncthreads();\n");
    E("  for(int s=%d;s>0;s>>=1){if(tid<s){T na=sn[tid],nb=sn[tid+s];if(nb>(T)0){if(na==(T)0){sn[tid]=nb;sm[tid]=sm[tid+s];sq[tid]=sq[tid+s];}else{T nn=na+nb,d=sm[tid+s]-sm[tid],f=nb/nn;sm[tid]+=d*f;sq[tid]+=sq[tid+s]+d*d*na*f;sn[tid]=nn;}}}__syncthreads();}\n",
      WEL_T / 2);
    store_expr(s0, sizeof s0, at, "R>0?sm[0]:(T)__longlong_as_double(0x7ff8000000000000LL)");
    store_expr(s1, sizeof s1, g->p->slots[in->out[1]].dtype, "sq[0]");
    /* the count is R: a float count is exact only up to 2^24 */
    E("  if(tid==0){A[ao]=%s;V[vo]=%s;C[co]=R;}\n  __syncthreads();\n }\n}\n", s0, s1);
    int64_t cap = 8 * 132;
    L->grid[0] = (unsigned)(nout < cap ? nout : cap);
    L->block[0] = WEL_T;
    return CF_OK;
}

cf_status cf_cg_scan(const cf_segs *S, const int *bufidx, int gi, cf_kernel_launch *L, cf_sbuf *body, bool *skip)
{
    const cf_prog_instr *in = &S->p->instrs[S->segs[gi].instrs[0]];
    sgen g;
    cf_status st;
    int64_t n = 1;
    memset(&g, 0, sizeof g);
    g.S = S;
    g.p = S->p;
    g.v = S->v;
    g.bufidx = bufidx;
    g.b = body;
    for (int d = 0; d < g.p->slots[in->in[0]].ndim; d++)
        n *= g.v[in->in[0]].shape[d];
    /* nothing to compute (welford over zero elements still writes) */
    *skip = in->op == CF_OP_WELFORD ? false : n == 0;
    if (in->op == CF_OP_WELFORD) {
        int64_t no = 1;
        for (int d = 0; d < g.p->slots[in->out[0]].ndim; d++)
            no *= g.v[in->out[0]].shape[d];
        *skip = no == 0;
    }
    if (*skip)
        return CF_OK;
    L->grid[1] = L->grid[2] = 1;
    L->block[1] = L->block[2] = 1;
    L->smem = 0;
    if (in->op == CF_OP_WELFORD)
        st = gen_welford(&g, in, L->name, gi, L);
    else if (in->op == CF_OP_ARGSORT || in->op == CF_OP_TOPK)
        st = gen_sort(&g, in, L->name, gi, L);
    else
        st = gen_scan(&g, in, L->name, gi, L);
    if (st)
        return st;
    if (g.nw >= MAXWORDS)
        return cf_error_set(CF_ERR_UNSUPPORTED, "cuda", "%s(): too many parameters for one kernel", cf_op_name(in->op));
    L->nwords = g.nw;
    L->words = cf_malloc((size_t)(g.nw > 0 ? g.nw : 1) * sizeof *L->words);
    if (!L->words)
        return cf_error_nomem("cuda");
    memcpy(L->words, g.w, (size_t)g.nw * sizeof *L->words);
    return CF_OK;
}
