/* cuda/movement.c - a SLICE, PAD or CAT result as index arithmetic in the
 * kernel that uses it: the element's coordinates from its row-major index,
 * then a slice reads its source at first + i * step along the dim, a pad
 * reads `0 <= i - lo < n ? source[i - lo] : fill`, and a cat picks the
 * source whose range holds i. Sources come from storage (an input, or a
 * value an earlier kernel stored), as the segmenter arranges; bounds that
 * are scalars of the fusion are parameter words, so new values reuse the
 * compiled kernel. Normalisation follows move.h. */
#include <stdio.h>
#include <string.h>

#include "cuda/codegen.h"
#include "cuda/movement.h"

#define E(...) cf_sb_printf(b, __VA_ARGS__)

/* dst = source x at coordinates q (q<dim> replaced by `along`). */
static void load_from(cf_sbuf *b, const cf_cg_move_ctx *c, int x, int r, int dim, const char *along,
                      const char *dst)
{
    int64_t st[CF_MAX_DIMS];
    int w = c->storage(c->G, x, st);
    cf_dtype t = c->p->slots[x].dtype;
    char s[64], e[160], conv[240];
    E("{I so=0;");
    for (int d = 0; d < r; d++) {
        if (st[d] == 0 || c->v[x].shape[d] == 1)
            continue;
        c->ival(c->G, s, sizeof s, st[d]);
        if (d == dim)
            E("so+=(%s)*%s;", along, s);
        else
            E("so+=q%d*%s;", d, s);
    }
    snprintf(e, sizeof e, "((const %s*)p.w[%d])[so]", cf_cg_stty(t), w < 0 ? 0 : w);
    cf_cg_load_conv(conv, sizeof conv, t, e);
    E("%s=%s;}", dst, conv);
}

void cf_cg_move_load(cf_sbuf *b, const cf_cg_move_ctx *c, const cf_prog_instr *ins, const char *off,
                     const char *dst)
{
    int o = ins->out[0], x = ins->in[0], r = c->p->slots[o].ndim, dim = ins->dim;
    char s[64], v[200];
    E(" {I t=%s;", off);
    for (int d = r - 1; d >= 0; d--) {
        if (d > 0) {
            c->ival(c->G, s, sizeof s, c->v[o].shape[d]);
            E(" const I q%d=t%%%s; t/=%s;", d, s, s);
        } else {
            E(" const I q%d=t;", d);
        }
    }
    if (r == 0) /* a select of a 1-d tensor keeps its dim here (size 1) */
        E(" (void)t;");
    c->ival(c->G, s, sizeof s, c->v[x].shape[dim]);
    E(" const I n=%s;", s);
    if (ins->op == CF_OP_SLICE) {
        char step[64];
        c->vexpr(c->G, ins->in[1], v, sizeof v);
        E(" I f=(I)(%s);", v);
        if (ins->manual == 0)
            E(" f=f<0?(f+n<0?(I)0:f+n):(f>n?n:f);");
        else if (ins->manual == 2)
            E(" f=f<0?f+n:f;");
        else
            E(" (void)n;");
        c->ival(c->G, step, sizeof step, ins->step);
        snprintf(v, sizeof v, "f+q%d*%s", dim, step);
        load_from(b, c, x, r, dim, v, dst);
    } else if (ins->op == CF_OP_PAD) {
        char fill[200], conv[260];
        c->vexpr(c->G, ins->in[1], v, sizeof v);
        E(" const I i=q%d-(I)(%s);", dim, v);
        c->vexpr(c->G, ins->in[3], fill, sizeof fill);
        cf_cg_to_slot(conv, sizeof conv, c->p->slots[o].dtype, fill);
        E(" if(i>=0&&i<n)");
        load_from(b, c, x, r, dim, "i", dst);
        E(" else %s=%s;", dst, conv);
    } else { /* CAT */
        E(" (void)n; I i=q%d;", dim);
        for (int j = 0; j < ins->nin; j++) {
            if (j + 1 < ins->nin) {
                c->ival(c->G, s, sizeof s, c->v[ins->in[j]].shape[dim]);
                E(" if(i<%s)", s);
                load_from(b, c, ins->in[j], r, dim, "i", dst);
                E(" else{i-=%s;", s);
            } else {
                load_from(b, c, ins->in[j], r, dim, "i", dst);
            }
        }
        for (int j = 0; j + 1 < ins->nin; j++) E("}");
    }
    E("}\n");
}
