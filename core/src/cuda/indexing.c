/* cuda/indexing.c - GATHER inside pointwise kernels, SCATTER as two
 * kernels of its own, and the index-check flag (program.h gives their
 * meaning).
 *
 * A GATHER's value is read where it is used: the index value (loaded or
 * computed in the kernel like any value) is compared once with the extent
 * of the indexed axis, and the source is read at the element's base
 * offset plus index * stride. A value out of range reads nothing and
 * writes the instruction and the value to a 16-byte flag the executor
 * zeroes before the kernels and reads once after them (launch.c): with
 * valid indices the check costs a compare and a predicated store that
 * never happens.
 *
 * SCATTER: kernel 0 copies arg to the result, kernel 1 walks the index's
 * elements and writes src (a tensor or one value) where they say. With
 * repeated positions one of the values wins, as on torch's CUDA.
 */
#include <stdio.h>
#include <string.h>

#include "cuda/codegen.h"
#include "cfuser/alloc.h"
#include "cfuser/dtype.h"
#include "cfuser/status.h"

#define TPB 256

bool cf_cg_checks_index(const cf_program *p)
{
    for (int i = 0; i < p->ninstrs; i++)
        if (p->instrs[i].op == CF_OP_GATHER || p->instrs[i].op == CF_OP_SCATTER)
            return true;
    return false;
}

void cf_cg_gather_text(cf_sbuf *b, int o, int instr, cf_dtype t, const char *idx, const char *ext,
                       const char *off, const char *dstride, int bk, int fk)
{
    char e[400], c[480];
    const char *rt = cf_cg_regty(t);
    cf_sb_printf(b, " const i64 gx%d=(i64)(%s);\n const bool gk%d=(unsigned long long)gx%d<(unsigned long long)%s;\n", o,
                 idx, o, o, ext);
    cf_sb_printf(b, " if(!gk%d){B%d[0]=%d;B%d[1]=gx%d;}\n", o, fk, instr + 1, fk, o);
    snprintf(e, sizeof e, "B%d[%s+(I)gx%d*%s]", bk, off, o, dstride);
    cf_cg_load_conv(c, sizeof c, t, e);
    cf_sb_printf(b, " const %s v%d=gk%d?(%s)%s:(%s)0;\n", rt, o, o, rt, c, rt);
}

static bool is_scalar_slot(const cf_program *p, int s)
{
    return p->slots[s].role == CF_SLOT_CONST || p->slots[s].role == CF_SLOT_SCALAR;
}

cf_status cf_seg_add_scatter(cf_segs *s, int i)
{
    const cf_prog_instr *in = &s->p->instrs[i];
    for (int k = 0; k < in->nin; k++) {
        int x = in->in[k];
        if (!is_scalar_slot(s->p, x) && !s->gview[x])
            s->mat[x] = 1; /* read from storage */
    }
    s->mat[in->out[0]] = 1;
    for (int part = 0; part < 2; part++) {
        cf_seg *g = cf_seg_open(s);
        if (!g)
            return cf_error_nomem("cuda");
        g->scatter = i;
        g->scatter_part = part;
    }
    s->prod[in->out[0]] = i;
    s->pseg[in->out[0]] = s->nsegs - 1;
    return CF_OK;
}

/* The buffer and storage strides a kernel reads slot x through. */
static int storage_of(gen_t *G, int x, int64_t *st)
{
    cf_segs *S = cf_cg_segs(G);
    if (S->gview[x]) {
        memcpy(st, S->gst[x], sizeof(int64_t) * CF_MAX_DIMS);
        return cf_cg_buf(G, S->gbase[x]);
    }
    cf_seg_storage_strides(S, x, st);
    return cf_cg_buf(G, x);
}

/* " (I)p.w[k]" of a run-time integer. */
static void wv(gen_t *G, char *o, size_t cap, int64_t v)
{
    snprintf(o, cap, "((I)p.w[%d])", cf_cg_word(G, CF_PW_CONST, -1, v));
}

/* The value of scalar slot x as a register value of dtype t. */
static void scalar_value(gen_t *G, const cf_program *p, int x, cf_dtype t, char *o, size_t cap)
{
    cf_dtype st = p->slots[x].dtype;
    int k;
    char e[96];
    if (p->slots[x].role == CF_SLOT_CONST) {
        cf_scalar v = p->slots[x].value;
        int64_t w;
        if (cf_dtype_is_float(st)) {
            double d = cf_dtype_is_float(v.dtype) ? v.v.f : cf_dtype_is_bool(v.dtype) ? (double)v.v.b : (double)v.v.i;
            memcpy(&w, &d, 8);
        } else {
            w = cf_dtype_is_float(v.dtype) ? (int64_t)v.v.f : cf_dtype_is_bool(v.dtype) ? v.v.b : v.v.i;
        }
        k = cf_cg_word(G, CF_PW_CONST, -1, w);
    } else {
        k = cf_cg_word(G, CF_PW_SCALAR, x, 0);
    }
    if (cf_dtype_is_float(st))
        snprintf(e, sizeof e, "__longlong_as_double(p.w[%d])", k);
    else
        snprintf(e, sizeof e, "p.w[%d]", k);
    if (t == CF_DTYPE_BOOL)
        snprintf(o, cap, "(%s!=0)", e);
    else
        cf_cg_to_slot(o, cap, t, e);
}

cf_status cf_cg_gen_scatter(gen_t *G, cf_kernel_launch *L, const cf_seg *g, bool *skip)
{
    cf_segs *S = cf_cg_segs(G);
    const cf_program *p = S->p;
    const cf_slot_value *v = S->v;
    const cf_prog_instr *in = &p->instrs[g->scatter];
    int a = in->in[0], x = in->in[1], src = in->in[2], o = in->out[0], dim = (int)in->correction;
    int part = g->scatter_part, walk = part == 0 ? o : x, r = p->slots[walk].ndim;
    cf_dtype t = p->slots[o].dtype;
    int64_t ast[CF_MAX_DIMS] = {0}, ost[CF_MAX_DIMS] = {0}, ist[CF_MAX_DIMS] = {0}, sst[CF_MAX_DIMS] = {0}, n = 1;
    cf_sbuf *b = cf_cg_sb(G);
    char w[64], w2[64], val[200];
    for (int d = 0; d < r; d++) n *= v[walk].shape[d];
    *skip = n == 0;
    if (*skip)
        return CF_OK;
    int ob = storage_of(G, o, ost);
    cf_sb_printf(b, "extern \"C\" __global__ void __launch_bounds__(%d) %s(const P%s p){\n typedef long long I;\n", TPB,
                 L->name, L->name + 3);
    cf_sb_printf(b, " %s*__restrict__ O=(%s*)p.w[%d];\n", cf_cg_stty(t), cf_cg_stty(t), cf_cg_word(G, CF_PW_PTR, ob, 0));
    if (part == 0) {
        int ab = storage_of(G, a, ast);
        cf_sb_printf(b, " const %s*__restrict__ A=(const %s*)p.w[%d];\n", cf_cg_stty(t), cf_cg_stty(t),
                     cf_cg_word(G, CF_PW_PTR, ab, 0));
    } else {
        int xb = storage_of(G, x, ist);
        const char *xt = cf_cg_stty(p->slots[x].dtype);
        cf_sb_printf(b, " const %s*__restrict__ X=(const %s*)p.w[%d];\n i64*__restrict__ F=(i64*)p.w[%d];\n", xt, xt,
                     cf_cg_word(G, CF_PW_PTR, xb, 0), cf_cg_word(G, CF_PW_PTR, cf_cg_flag_buf(G), 0));
        if (!is_scalar_slot(p, src)) {
            int sb = storage_of(G, src, sst);
            cf_sb_printf(b, " const %s*__restrict__ S=(const %s*)p.w[%d];\n", cf_cg_stty(t), cf_cg_stty(t),
                         cf_cg_word(G, CF_PW_PTR, sb, 0));
        }
    }
    wv(G, w, sizeof w, n);
    cf_sb_printf(b, " for(I i=(I)blockIdx.x*%d+threadIdx.x;i<%s;i+=(I)gridDim.x*%d){\n I t=i,ao=0,oo=0,io=0,so=0;\n", TPB,
                 w, TPB);
    for (int d = r - 1; d >= 0; d--) {
        wv(G, w, sizeof w, v[walk].shape[d]);
        cf_sb_printf(b, " {const I c=t%%%s; t/=%s;", w, w);
        if (part == 0) {
            wv(G, w2, sizeof w2, v[a].shape[d] == 1 ? 0 : ast[d]);
            cf_sb_printf(b, " ao+=c*%s;", w2);
        } else {
            wv(G, w2, sizeof w2, ist[d]);
            cf_sb_printf(b, " io+=c*%s;", w2);
            if (!is_scalar_slot(p, src)) {
                wv(G, w2, sizeof w2, sst[d]);
                cf_sb_printf(b, " so+=c*%s;", w2);
            }
        }
        if (part == 0 || d != dim) {
            wv(G, w2, sizeof w2, ost[d]);
            cf_sb_printf(b, " oo+=c*%s;", w2);
        }
        cf_sb_printf(b, "}\n");
    }
    if (part == 0) {
        cf_sb_printf(b, " O[oo]=A[ao];\n");
    } else {
        if (is_scalar_slot(p, src)) {
            char rv[200];
            scalar_value(G, p, src, t, rv, sizeof rv);
            cf_cg_store_conv(val, sizeof val, t, rv);
        } else {
            snprintf(val, sizeof val, "S[so]");
        }
        wv(G, w, sizeof w, v[o].shape[dim]);
        wv(G, w2, sizeof w2, ost[dim]);
        cf_sb_printf(b, " const i64 x=(i64)X[io];\n if((unsigned long long)x>=(unsigned long long)%s){F[0]=%d;F[1]=x;}\n"
                        " else O[oo+(I)x*%s]=%s;\n", w, g->scatter + 1, w2, val);
    }
    cf_sb_printf(b, " }\n}\n");
    int64_t blocks = (n + TPB - 1) / TPB;
    if (blocks > (1 << 20))
        blocks = 1 << 20;
    L->grid[0] = (unsigned)blocks;
    L->grid[1] = L->grid[2] = 1;
    L->block[0] = TPB;
    L->block[1] = L->block[2] = 1;
    L->smem = 0;
    return CF_OK;
}

cf_status cf_cuda_index_error(const cf_program *p, const cf_slot_value *vals, const int64_t *flag)
{
    int64_t i = flag[0] - 1;
    if (i < 0 || i >= p->ninstrs)
        return cf_error_set(CF_ERR_INDEX, "execute", "execute(): an index is out of bounds (value %lld)", (long long)flag[1]);
    const cf_prog_instr *in = &p->instrs[i];
    int dim = (int)in->correction;
    int64_t size = in->op == CF_OP_SCATTER ? vals[in->out[0]].shape[dim] : vals[in->in[0]].shape[dim];
    return cf_error_set(CF_ERR_INDEX, "execute",
                        "execute(): %sindex %lld is out of bounds for dim %d with size %lld (index values must lie in [0, %lld))",
                        in->op == CF_OP_SCATTER ? "scatter: " : "", (long long)flag[1], dim, (long long)size, (long long)size);
}
