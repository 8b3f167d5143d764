/* cuda/movement.c - a SLICE, PAD or CAT result as index arithmetic in the
 * kernel that uses it: the element's coordinates from its row-major index,
 * then a slice reads its source at first + i * step along the dim, a pad
 * reads `0 <= i - lo < n ? source[i - lo] : fill`, and a cat picks the
 * source whose range holds i. A source that is itself a movement or a
 * small pointwise result is recomputed at the moved coordinates (the same
 * arithmetic one level down: a rotary embedding's neg of a slice inside its
 * cat stays in one kernel, as in nvFuser); the others come from storage (an
 * input, or a value an earlier kernel stored), as the segmenter arranges
 * (cf_seg_recompute).
 * Bounds that are scalars of the fusion are parameter words, so new values
 * reuse the compiled kernel. Normalisation follows move.h. */
#include <stdio.h>
#include <string.h>

#include "cuda/codegen.h"
#include "cuda/movement.h"
#include "move.h"

#define E(...) cf_sb_printf(b, __VA_ARGS__)

typedef char coord_t[CF_MAX_DIMS][48];

static void value_at(cf_sbuf *b, const cf_cg_move_ctx *c, int x, coord_t q, int depth, const char *dst);

/* dst = storage of source x at coordinates q. */
static void load_from(cf_sbuf *b, const cf_cg_move_ctx *c, int x, coord_t q, const char *dst)
{
    int64_t st[CF_MAX_DIMS];
    int w = c->storage(c->G, x, st);
    cf_dtype t = c->p->slots[x].dtype;
    char s[64], e[160], conv[240];
    E("{I so=0;");
    for (int d = 0; d < c->p->slots[x].ndim; d++) {
        if (st[d] == 0 || c->v[x].shape[d] == 1)
            continue;
        c->ival(c->G, s, sizeof s, st[d]);
        E("so+=(%s)*%s;", q[d], s);
    }
    snprintf(e, sizeof e, "((const %s*)p.w[%d])[so]", cf_cg_stty(t), w < 0 ? 0 : w);
    cf_cg_load_conv(conv, sizeof conv, t, e);
    E("%s=%s;}", dst, conv);
}

/* dst = output of movement instruction ins at coordinates q. */
static void move_at(cf_sbuf *b, const cf_cg_move_ctx *c, const cf_prog_instr *ins, coord_t q, int depth,
                    const char *dst)
{
    int x = ins->in[0], dim = ins->dim, o = ins->out[0];
    char s[64], v[200];
    coord_t sq;
    memcpy(sq, q, sizeof sq);
    c->ival(c->G, s, sizeof s, c->v[x].shape[dim]);
    E("{const I n%d=%s;", depth, s);
    if (ins->op == CF_OP_SLICE) {
        char step[64];
        c->vexpr(c->G, ins->in[1], v, sizeof v);
        E("I f%d=(I)(%s);", depth, v);
        if (ins->manual == 0)
            E("f%d=f%d<0?(f%d+n%d<0?(I)0:f%d+n%d):(f%d>n%d?n%d:f%d);", depth, depth, depth, depth, depth, depth,
              depth, depth, depth, depth);
        else if (ins->manual == 2)
            E("f%d=f%d<0?f%d+n%d:f%d;", depth, depth, depth, depth, depth);
        c->ival(c->G, step, sizeof step, ins->step);
        E("const I j%d=f%d+(%s)*%s;", depth, depth, q[dim], step);
        snprintf(sq[dim], sizeof sq[dim], "j%d", depth);
        value_at(b, c, x, sq, depth + 1, dst);
    } else if (ins->op == CF_OP_PAD) {
        char fill[200], conv[260];
        c->vexpr(c->G, ins->in[1], v, sizeof v);
        E("const I i%d=(%s)-(I)(%s);", depth, q[dim], v);
        snprintf(sq[dim], sizeof sq[dim], "i%d", depth);
        c->vexpr(c->G, ins->in[3], fill, sizeof fill);
        cf_cg_to_slot(conv, sizeof conv, c->p->slots[o].dtype, fill);
        E("if(i%d>=0&&i%d<n%d)", depth, depth, depth);
        value_at(b, c, x, sq, depth + 1, dst);
        E("else %s=%s;", dst, conv);
    } else { /* CAT */
        E("(void)n%d;I i%d=%s;", depth, depth, q[dim]);
        snprintf(sq[dim], sizeof sq[dim], "i%d", depth);
        for (int j = 0; j < ins->nin; j++) {
            if (j + 1 < ins->nin) {
                c->ival(c->G, s, sizeof s, c->v[ins->in[j]].shape[dim]);
                E("if(i%d<%s)", depth, s);
                value_at(b, c, ins->in[j], sq, depth + 1, dst);
                E("else{i%d-=%s;", depth, s);
            } else {
                value_at(b, c, ins->in[j], sq, depth + 1, dst);
            }
        }
        for (int j = 0; j + 1 < ins->nin; j++) E("}");
    }
    E("}");
}

/* dst = pointwise instruction ins recomputed at coordinates q, its tensor
 * operands read (recomputed or loaded) there, broadcast along their size-1
 * axes. The conversions are codegen.c's emit_instr's. */
static void pointwise_at(cf_sbuf *b, const cf_cg_move_ctx *c, const cf_prog_instr *ins, coord_t q, int depth,
                         const char *dst)
{
    const cf_program *p = c->p;
    int o = ins->out[0];
    cf_dtype ot = p->slots[o].dtype, ct = ins->cdtype;
    char args[4][200], conv[4][240], ex[1400], fin[1500];
    const char *ap[4];
    E("{");
    for (int k = 0; k < ins->nin; k++) {
        int y = ins->in[k];
        if (p->slots[y].role == CF_SLOT_CONST || p->slots[y].role == CF_SLOT_SCALAR) {
            c->vexpr(c->G, y, args[k], sizeof args[k]);
        } else {
            coord_t yq;
            for (int d = 0; d < p->slots[y].ndim; d++)
                snprintf(yq[d], sizeof yq[d], "%s", c->v[y].shape[d] == 1 && c->v[o].shape[d] != 1 ? "0" : q[d]);
            snprintf(args[k], sizeof args[k], "a%d_%d", depth, k);
            E("%s %s;", cf_cg_regty(p->slots[y].dtype), args[k]);
            value_at(b, c, y, yq, depth + 1, args[k]);
        }
        if ((ins->op == CF_OP_WHERE && k == 0) || ins->op == CF_OP_CAST || ins->op == CF_OP_SET)
            snprintf(conv[k], sizeof conv[k], "%.199s", args[k]);
        else
            snprintf(conv[k], sizeof conv[k], "((%s)%.199s)",
                     cf_cg_regty(ct == CF_DTYPE_HALF || ct == CF_DTYPE_BFLOAT16 ? CF_DTYPE_FLOAT : ct), args[k]);
        ap[k] = conv[k];
    }
    if (ins->op == CF_OP_CAST || ins->op == CF_OP_SET) {
        cf_cg_to_slot(fin, sizeof fin, ot, ap[0]);
        E("%s=%s;}", dst, fin);
    } else if (cf_cg_op_text(ex, sizeof ex, ins->op, ct, ap) == 0) {
        cf_cg_to_slot(fin, sizeof fin, ot, ex);
        E("%s=%s;}", dst, fin);
    } else { /* fails the compile, naming the op */
        E("cfuser_op_%s_not_supported_on_cuda();}", cf_op_name(ins->op) ? cf_op_name(ins->op) : "unknown");
    }
}

static void value_at(cf_sbuf *b, const cf_cg_move_ctx *c, int x, coord_t q, int depth, const char *dst)
{
    int i = c->recompute(c->G, x);
    if (i < 0)
        load_from(b, c, x, q, dst);
    else if (cf_move_op(c->p->instrs[i].op))
        move_at(b, c, &c->p->instrs[i], q, depth, dst);
    else
        pointwise_at(b, c, &c->p->instrs[i], q, depth, dst);
}

void cf_cg_move_load(cf_sbuf *b, const cf_cg_move_ctx *c, const cf_prog_instr *ins, const char *off,
                     const char *dst)
{
    int o = ins->out[0], r = c->p->slots[o].ndim;
    char s[64];
    coord_t q;
    E(" {I t=%s;", off);
    for (int d = r - 1; d >= 0; d--) {
        snprintf(q[d], sizeof q[d], "q%d", d);
        if (d > 0) {
            c->ival(c->G, s, sizeof s, c->v[o].shape[d]);
            E(" const I q%d=t%%%s; t/=%s;", d, s, s);
        } else {
            E(" const I q%d=t;", d);
        }
    }
    move_at(b, c, ins, q, 0, dst);
    E("}\n");
}
