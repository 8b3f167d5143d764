/* print.c - nvFuser's textual form of values, expressions and fusions. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"

/* A growable string; on allocation failure it keeps a flag and stops. */
typedef struct sbuf { char *p; size_t n, cap; bool fail; } sbuf;

static void sb_printf(sbuf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void sb_printf(sbuf *b, const char *fmt, ...)
{
    va_list ap;
    int need;
    if (b->fail)
        return;
    va_start(ap, fmt);
    need = vsnprintf(b->p ? b->p + b->n : NULL, b->p ? b->cap - b->n : 0, fmt, ap);
    va_end(ap);
    if (need < 0) { b->fail = true; return; }
    if (b->n + (size_t)need + 1 > b->cap) {
        size_t ncap = (b->cap ? b->cap : 256);
        char *q;
        while (ncap < b->n + (size_t)need + 1)
            ncap *= 2;
        q = cf_realloc(b->p, ncap);
        if (!q) { b->fail = true; return; }
        b->p = q;
        b->cap = ncap;
        va_start(ap, fmt);
        vsnprintf(b->p + b->n, b->cap - b->n, fmt, ap);
        va_end(ap);
    }
    b->n += (size_t)need;
}

static char scalar_letter(cf_dtype t)
{
    switch (t) {
    case CF_DTYPE_DOUBLE: return 'd';
    case CF_DTYPE_FLOAT: case CF_DTYPE_HALF: case CF_DTYPE_BFLOAT16: return 'f';
    case CF_DTYPE_BOOL: return 'b';
    default: return 'i';
    }
}

static void put_scalar_value(sbuf *b, const cf_scalar *s)
{
    if (cf_dtype_is_float(s->dtype)) {
        char tmp[40];
        snprintf(tmp, sizeof tmp, "%.17g", s->v.f);
        if (!strpbrk(tmp, ".eninf"))
            strcat(tmp, ".0");
        sb_printf(b, "%s(%s)", cf_dtype_name(s->dtype), tmp);
    } else if (cf_dtype_is_bool(s->dtype)) {
        sb_printf(b, "%s", s->v.b ? "true" : "false");
    } else {
        sb_printf(b, "%" PRId64, s->v.i);
    }
}

static void put_val_name_as(sbuf *b, const cf_fusion *f, cf_id v, bool show_const)
{
    const cf_val_node *n = &f->vals[v];
    if (n->kind == CF_VAL_TENSOR)
        sb_printf(b, "T%d", (int)n->name);
    else if (!show_const)
        sb_printf(b, "%c%d", scalar_letter(n->dtype), (int)n->name);
    else if (n->is_const && cf_dtype_is_integer(n->dtype))
        sb_printf(b, "%" PRId64, n->value.v.i);
    else if (n->is_const)
        put_scalar_value(b, &n->value);
    else
        sb_printf(b, "%c%d", scalar_letter(n->dtype), (int)n->name);
}

static void put_val_name(sbuf *b, const cf_fusion *f, cf_id v) { put_val_name_as(b, f, v, true); }

static void put_iter(sbuf *b, const cf_fusion *f, cf_id i)
{
    const cf_iter_node *it = &f->iters[i];
    static const char kinds[] = {'i', 'b', 'r'};
    sb_printf(b, "%cS%d{", kinds[it->type], (int)it->name);
    put_val_name(b, f, it->extent);
    sb_printf(b, "}");
}

static void put_val(sbuf *b, const cf_fusion *f, cf_id v)
{
    const cf_val_node *n = &f->vals[v];
    int i;
    if (n->kind != CF_VAL_TENSOR) {
        put_val_name(b, f, v);
        return;
    }
    sb_printf(b, "T%d_%c_%s[", (int)n->name,
              (cf_fusion_is_input(f, v) || cf_fusion_is_output(f, v)) ? 'g' : 'l', cf_dtype_name(n->dtype));
    for (i = 0; i < n->ndim; i++) {
        if (i)
            sb_printf(b, ", ");
        put_iter(b, f, n->axes[i]);
    }
    sb_printf(b, "]");
}

static void put_ints(sbuf *b, const cf_expr_attrs *a, bool as_bool)
{
    int i;
    sb_printf(b, "{");
    for (i = 0; i < a->nints; i++) {
        if (as_bool)
            sb_printf(b, "%s%s", i ? ", " : "", a->ints[i] ? "true" : "false");
        else
            sb_printf(b, "%s%" PRId64, i ? ", " : "", a->ints[i]);
    }
    sb_printf(b, "}");
}

static void put_expr(sbuf *b, const cf_fusion *f, cf_id e)
{
    const cf_expr_node *x = &f->exprs[e];
    const char *name = cf_op_name(x->op), *op = cf_op_infix(x->op);
    int i;
    for (i = 0; i < x->nout; i++) {
        if (i)
            sb_printf(b, ",\n");
        put_val(b, f, x->out[i]);
    }
    sb_printf(b, "\n   = ");
    if (op && x->nin == 2) {
        put_val(b, f, x->in[0]);
        sb_printf(b, "\n   %s ", op);
        put_val(b, f, x->in[1]);
        sb_printf(b, ";\n");
        return;
    }
    if (x->op == CF_OP_CAST)
        sb_printf(b, "(%s)(", cf_dtype_name(x->attrs.dtype));
    else
        sb_printf(b, "%s(", name);
    for (i = 0; i < x->nin; i++) {
        sb_printf(b, "%s", i ? ",\n     " : " ");
        put_val(b, f, x->in[i]);
    }
    if (cf_op_is_reduction(x->op)) {
        sb_printf(b, ", dims = ");
        put_ints(b, &x->attrs, false);
        if (x->op == CF_OP_VAR || x->op == CF_OP_VAR_MEAN)
            sb_printf(b, ", correction = %" PRId64, x->attrs.correction);
    } else if (x->op == CF_OP_BROADCAST) {
        sb_printf(b, ", flags = ");
        put_ints(b, &x->attrs, true);
    } else if (x->op == CF_OP_BROADCAST_IN_DIM) {
        sb_printf(b, ", broadcast_dims = ");
        put_ints(b, &x->attrs, false);
    } else if (x->op == CF_OP_PERMUTE) {
        sb_printf(b, ", dims = ");
        put_ints(b, &x->attrs, false);
    } else if (x->op == CF_OP_SQUEEZE) {
        sb_printf(b, ", flags = ");
        put_ints(b, &x->attrs, true);
    } else if (cf_op_flags(x->op) & CF_OPF_INDEXING) {
        sb_printf(b, ", dim = %" PRId64, x->attrs.ints[0]);
    } else if (cf_op_kind_of(x->op) == CF_KIND_SCAN) {
        sb_printf(b, x->op == CF_OP_WELFORD ? ", dims = " : ", attrs = ");
        put_ints(b, &x->attrs, false);
    } else if (x->op == CF_OP_FULL || x->op == CF_OP_IOTA) {
        sb_printf(b, ", dtype = %s", cf_dtype_name(x->attrs.dtype));
    }
    sb_printf(b, " );\n");
}

/* Copy a finished buffer into (buf, cap); return the needed length. */
static size_t emit(sbuf *b, char *buf, size_t cap)
{
    size_t n = b->fail ? 0 : b->n;
    if (cap) {
        size_t k = n < cap - 1 ? n : cap - 1;
        if (k)
            memcpy(buf, b->p, k);
        buf[k] = 0;
    }
    cf_free(b->p);
    return n;
}

size_t cf_val_to_string(const cf_fusion *f, cf_id v, char *buf, size_t cap)
{
    sbuf b = {0};
    if (cf_fusion_has_val(f, v))
        put_val(&b, f, v);
    return emit(&b, buf, cap);
}

size_t cf_val_name(const cf_fusion *f, cf_id v, char *buf, size_t cap)
{
    sbuf b = {0};
    if (cf_fusion_has_val(f, v))
        put_val_name_as(&b, f, v, false);
    return emit(&b, buf, cap);
}

size_t cf_expr_to_string(const cf_fusion *f, cf_id e, char *buf, size_t cap)
{
    sbuf b = {0};
    if (cf_fusion_has_expr(f, e))
        put_expr(&b, f, e);
    if (!b.fail && b.n && b.p[b.n - 1] == '\n')
        b.p[--b.n] = 0;
    return emit(&b, buf, cap);
}

size_t cf_iterdomain_to_string(const cf_fusion *f, cf_id i, char *buf, size_t cap)
{
    sbuf b = {0};
    if (cf_fusion_has_iterdomain(f, i))
        put_iter(&b, f, i);
    return emit(&b, buf, cap);
}

cf_status cf_fusion_print_math(const cf_fusion *f, char **text)
{
    sbuf b = {0};
    int i;
    sb_printf(&b, "Inputs:\n");
    for (i = 0; i < f->ninputs; i++) {
        sb_printf(&b, "  ");
        put_val(&b, f, f->inputs[i]);
        if (f->vals[f->inputs[i]].kind == CF_VAL_SCALAR)
            sb_printf(&b, " (%s)", cf_dtype_name(f->vals[f->inputs[i]].dtype));
        sb_printf(&b, "\n");
    }
    sb_printf(&b, "Outputs:\n");
    for (i = 0; i < f->noutputs; i++) {
        sb_printf(&b, "  ");
        put_val(&b, f, f->outputs[i]);
        if (f->omarks[i].alias_input >= 0) {
            sb_printf(&b, " (written into ");
            put_val(&b, f, f->inputs[f->omarks[i].alias_input]);
            sb_printf(&b, f->omarks[i].visible ? ")" : ", not returned)");
        }
        sb_printf(&b, "\n");
    }
    sb_printf(&b, "\n%%kernel_math {\n");
    for (i = 0; i < f->nexprs; i++)
        put_expr(&b, f, i);
    sb_printf(&b, "} // %%kernel_math\n");
    if (b.fail || !b.p) {
        cf_free(b.p);
        return cf_error_nomem("print_math");
    }
    *text = b.p;
    return CF_OK;
}
