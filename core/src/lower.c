/* lower.c - fusion IR to a cf_program plus binding tables (plan.h).
 *
 * One slot per live value. Views (broadcasts, permutes, squeezes) become
 * VIEW instructions; a reduction writes a keepdim-shaped slot that a VIEW
 * squeezes; an output that would only be a view of another slot gets a SET
 * so that every output is written by a computing instruction.
 */
#include <string.h>

#include "cfuser/alloc.h"
#include "ir/ir.h"
#include "plan.h"
#include "symexpr.h"

typedef struct lower_ctx {
    const cf_fusion *f;
    cf_plan *plan;
    cf_program *p;
    int capslots, capinstrs, capsyms;
    int32_t *val_slot;   /* IR value -> slot, -1 */
    int32_t *val_sym;    /* IR scalar value -> sym, -1 */
    bool *live;          /* per expr */
    int32_t one_sym;
} lower_ctx;

static int grow(void **arr, int *cap, int n, size_t elem)
{
    void *q;
    int ncap;
    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 16;
    q = cf_realloc(*arr, (size_t)ncap * elem);
    if (!q)
        return -1;
    *arr = q;
    *cap = ncap;
    return 0;
}

static cf_status new_sym(lower_ctx *c, cf_sym_kind kind, int32_t *out)
{
    cf_plan *pl = c->plan;
    if (grow((void **)&pl->syms, &c->capsyms, pl->nsyms, sizeof(cf_sym)))
        return cf_error_nomem("execute");
    memset(&pl->syms[pl->nsyms], 0, sizeof(cf_sym));
    pl->syms[pl->nsyms].kind = (uint8_t)kind;
    *out = pl->nsyms++;
    return CF_OK;
}

/* An integer scalar made by an op symexpr.c evaluates, on integer scalars. */
static bool is_int_expr(const cf_fusion *f, cf_id v)
{
    cf_id e = cf_val_definition(f, v);
    int i, n;
    if (e == CF_NO_ID || cf_val_kind_of(f, v) != CF_VAL_SCALAR || !cf_dtype_is_integer(cf_val_dtype(f, v)))
        return false;
    n = cf_expr_num_inputs(f, e);
    if (!cf_sym_op_supported(cf_expr_op(f, e), n))
        return false;
    for (i = 0; i < n; i++) {
        cf_id in = cf_expr_input(f, e, i);
        if (cf_val_kind_of(f, in) != CF_VAL_SCALAR || !cf_dtype_is_integer(cf_val_dtype(f, in)))
            return false;
    }
    return true;
}

/* The sym of an integer scalar value used as a size or operand. */
static cf_status sym_of(lower_ctx *c, cf_id v, int32_t *out)
{
    cf_scalar s;
    cf_status st;
    if (c->val_sym[v] >= 0) {
        *out = c->val_sym[v];
        return CF_OK;
    }
    if (cf_val_constant(c->f, v, &s)) {
        if ((st = new_sym(c, CF_SYM_CONST, out)))
            return st;
        c->plan->syms[*out].value = s;
    } else if (is_int_expr(c->f, v)) { /* scalar arithmetic on sizes */
        cf_id e = cf_val_definition(c->f, v);
        int32_t a, b = -1;
        if ((st = sym_of(c, cf_expr_input(c->f, e, 0), &a)) ||
            (cf_expr_num_inputs(c->f, e) > 1 && (st = sym_of(c, cf_expr_input(c->f, e, 1), &b))) ||
            (st = new_sym(c, CF_SYM_EXPR, out)))
            return st;
        c->plan->syms[*out].op = (uint16_t)cf_expr_op(c->f, e);
        c->plan->syms[*out].input = a;
        c->plan->syms[*out].axis = b;
    } else if ((st = new_sym(c, CF_SYM_UNKNOWN, out))) {
        return st;
    }
    c->val_sym[v] = *out;
    return CF_OK;
}

static cf_status new_slot(lower_ctx *c, cf_dtype dtype, int ndim, cf_slot_role role, int32_t *out)
{
    cf_program *p = c->p;
    int cap = c->capslots, d;
    if (grow((void **)&p->slots, &c->capslots, p->nslots, sizeof(cf_prog_slot)))
        return cf_error_nomem("execute");
    if (c->capslots != cap) {
        int32_t *a = cf_realloc(c->plan->slot_sym, sizeof(int32_t) * CF_MAX_DIMS * (size_t)c->capslots);
        int32_t *b;
        if (!a)
            return cf_error_nomem("execute");
        c->plan->slot_sym = a;
        b = cf_realloc(c->plan->slot_val_sym, sizeof(int32_t) * (size_t)c->capslots);
        if (!b)
            return cf_error_nomem("execute");
        c->plan->slot_val_sym = b;
    }
    memset(&p->slots[p->nslots], 0, sizeof(cf_prog_slot));
    p->slots[p->nslots].dtype = dtype;
    p->slots[p->nslots].ndim = (uint8_t)ndim;
    p->slots[p->nslots].role = (uint8_t)role;
    p->slots[p->nslots].io_index = -1;
    for (d = 0; d < CF_MAX_DIMS; d++)
        c->plan->slot_sym[p->nslots * CF_MAX_DIMS + d] = -1;
    c->plan->slot_val_sym[p->nslots] = -1;
    *out = p->nslots++;
    return CF_OK;
}

/* A tensor slot shaped like IR tensor v (reduction axes dropped). */
static cf_status tensor_slot(lower_ctx *c, cf_id v, cf_slot_role role, int32_t *out)
{
    const cf_fusion *f = c->f;
    cf_id axes[CF_MAX_DIMS];
    int r = cf_ir_noreduction_axes(f, v, axes), d;
    cf_status st;
    if ((st = new_slot(c, cf_val_dtype(f, v), r, role, out)))
        return st;
    for (d = 0; d < r; d++) {
        int32_t s;
        if ((st = sym_of(c, f->iters[axes[d]].extent, &s)))
            return st;
        c->plan->slot_sym[*out * CF_MAX_DIMS + d] = s;
        if (f->iters[axes[d]].type == CF_ITER_BROADCAST)
            c->p->slots[*out].bcast_mask |= 1u << d;
    }
    return CF_OK;
}

/* The slot that holds IR value v as an operand (scalars made on demand). */
static cf_status operand_slot(lower_ctx *c, cf_id v, int32_t *out)
{
    const cf_fusion *f = c->f;
    cf_scalar s;
    cf_status st;
    int32_t sym;
    if (c->val_slot[v] >= 0) {
        *out = c->val_slot[v];
        return CF_OK;
    }
    if (cf_val_kind_of(f, v) == CF_VAL_TENSOR)
        return cf_error_set(CF_ERR_RUNTIME, "execute", "internal: tensor T%d used before it is computed", (int)f->vals[v].name);
    if (cf_val_constant(f, v, &s)) {
        if ((st = new_slot(c, cf_val_dtype(f, v), 0, CF_SLOT_CONST, out)))
            return st;
        c->p->slots[*out].value = s;
    } else {
        if ((st = sym_of(c, v, &sym)) || (st = new_slot(c, cf_val_dtype(f, v), 0, CF_SLOT_SCALAR, out)))
            return st;
        if (c->plan->syms[sym].kind == CF_SYM_UNKNOWN)
            return cf_error_set(CF_ERR_RUNTIME, "execute", "internal: scalar operand without a source");
        c->plan->slot_val_sym[*out] = sym;
    }
    c->val_slot[v] = *out;
    return CF_OK;
}

static cf_status emit(lower_ctx *c, const cf_prog_instr *ins)
{
    cf_program *p = c->p;
    if (grow((void **)&p->instrs, &c->capinstrs, p->ninstrs, sizeof(cf_prog_instr)))
        return cf_error_nomem("execute");
    p->instrs[p->ninstrs++] = *ins;
    return CF_OK;
}

static void instr_init(cf_prog_instr *ins, cf_opcode op, cf_dtype cdtype)
{
    int d;
    memset(ins, 0, sizeof *ins);
    ins->op = op;
    ins->cdtype = cdtype;
    for (d = 0; d < CF_MAX_DIMS; d++)
        ins->map[d] = -1;
}

static bool is_output(const cf_fusion *f, cf_id v) { return cf_fusion_is_output(f, v); }

/* The slot for the value an expr defines: OUTPUT when it is a fusion output
 * that this instruction computes, else TEMP. */
static cf_status result_slot(lower_ctx *c, cf_id v, bool computes, int32_t *out)
{
    const cf_fusion *f = c->f;
    bool outp = computes && is_output(f, v);
    cf_status st;
    if (cf_val_kind_of(f, v) == CF_VAL_SCALAR)
        st = new_slot(c, cf_val_dtype(f, v), 0, CF_SLOT_TEMP, out);
    else
        st = tensor_slot(c, v, outp ? CF_SLOT_OUTPUT : CF_SLOT_TEMP, out);
    if (!st)
        c->val_slot[v] = *out;
    return st;
}

static cf_status lower_reduction(lower_ctx *c, cf_id e)
{
    const cf_fusion *f = c->f;
    const cf_expr_node *x = &f->exprs[e];
    cf_prog_instr ins, view;
    int32_t in, keep[3];
    uint32_t mask = 0;
    int r, k, d, j;
    cf_status st;
    if ((st = operand_slot(c, x->in[0], &in)))
        return st;
    r = c->p->slots[in].ndim;
    for (k = 0; k < x->attrs.nints; k++)
        mask |= 1u << x->attrs.ints[k];
    instr_init(&ins, x->op, x->attrs.dtype);
    ins.nin = 1;
    ins.in[0] = in;
    ins.nout = (int8_t)x->nout;
    ins.axes = mask;
    ins.correction = x->attrs.correction;
    for (k = 0; k < x->nout; k++) {
        cf_id v = x->out[k];
        bool outp = is_output(f, v);
        if ((st = new_slot(c, cf_val_dtype(f, v), r, outp ? CF_SLOT_OUTPUT : CF_SLOT_TEMP, &keep[k])))
            return st;
        for (d = 0; d < r; d++) {
            int32_t s = (mask & (1u << d)) ? c->one_sym : c->plan->slot_sym[in * CF_MAX_DIMS + d];
            c->plan->slot_sym[keep[k] * CF_MAX_DIMS + d] = s;
        }
        c->p->slots[keep[k]].bcast_mask = mask | c->p->slots[in].bcast_mask;
        ins.out[k] = keep[k];
    }
    if ((st = emit(c, &ins)))
        return st;
    for (k = 0; k < x->nout; k++) {
        int32_t vs;
        if ((st = tensor_slot(c, x->out[k], CF_SLOT_TEMP, &vs)))
            return st;
        c->val_slot[x->out[k]] = vs;
        instr_init(&view, CF_OP_VIEW, CF_DTYPE_NULL);
        view.nin = 1;
        view.in[0] = keep[k];
        view.nout = 1;
        view.out[0] = vs;
        for (d = 0, j = 0; d < r; d++)
            if (!(mask & (1u << d)))
                view.map[j++] = (int8_t)d;
        if ((st = emit(c, &view)))
            return st;
        if (c->p->slots[keep[k]].role == CF_SLOT_OUTPUT)
            c->p->slots[keep[k]].io_index = -2 - (int)x->out[k]; /* resolved in finish_outputs */
    }
    return CF_OK;
}

/* VIEW map for the view-like ops. */
static void view_map(const cf_fusion *f, const cf_expr_node *x, int in_rank, int out_rank, int8_t *map)
{
    int d, k = 0;
    if (out_rank > CF_MAX_DIMS || in_rank > CF_MAX_DIMS)
        return;
    switch (x->op) {
    case CF_OP_BROADCAST_IN_DIM:
        for (d = 0; d < out_rank; d++)
            map[d] = (k < x->attrs.nints && x->attrs.ints[k] == d) ? (int8_t)k++ : -1;
        break;
    case CF_OP_BROADCAST:
        for (d = 0; d < out_rank; d++)
            map[d] = x->attrs.ints[d] ? -1 : (int8_t)k++;
        break;
    case CF_OP_PERMUTE:
        for (d = 0; d < out_rank; d++)
            map[d] = (int8_t)x->attrs.ints[d];
        break;
    case CF_OP_SQUEEZE:
        for (d = 0; d < in_rank; d++)
            if (!x->attrs.ints[d])
                map[k++] = (int8_t)d;
        break;
    default: /* EXPAND */
        for (d = 0; d < out_rank; d++)
            map[d] = (int8_t)d;
        break;
    }
    (void)f;
}

/* SLICE, PAD, CAT (and SELECT, a one-element SLICE then a VIEW dropping
 * its dim): the output's extent along the dim, when not a constant, is a
 * sym that binding computes from the instruction. Outputs are TEMP, so an
 * output of the fusion gets its SET (finish_outputs) and the executors may
 * read the result in place of storing it. */
static cf_status lower_movement(lower_ctx *c, const cf_expr_node *x, cf_prog_instr *ins, int32_t *out)
{
    const cf_fusion *f = c->f;
    cf_id axes[CF_MAX_DIMS];
    int d = (int)x->attrs.ints[0], r;
    cf_status st;
    /* bounds and fills are read when binding, before anything computes */
    for (int k = 1; x->op != CF_OP_CAT && k < ins->nin; k++)
        if (c->p->slots[ins->in[k]].role == CF_SLOT_TEMP)
            return cf_error_set(CF_ERR_UNSUPPORTED, cf_op_name(x->op), "execute(): %s: a bound, index or fill computed by scalar arithmetic is not supported yet; pass a number, a scalar input or a tensor's extent", cf_op_name(x->op));
    ins->dim = (int8_t)d;
    if (x->op == CF_OP_SLICE) {
        ins->step = x->attrs.ints[1];
        ins->manual = (uint8_t)x->attrs.ints[2];
    }
    if (x->op == CF_OP_SELECT) {
        int32_t in = ins->in[0], mid;
        cf_prog_instr view;
        r = c->p->slots[in].ndim;
        if ((st = new_slot(c, c->p->slots[in].dtype, r, CF_SLOT_TEMP, &mid)))
            return st;
        for (int k = 0; k < r; k++)
            c->plan->slot_sym[mid * CF_MAX_DIMS + k] = k == d ? c->one_sym : c->plan->slot_sym[in * CF_MAX_DIMS + k];
        c->p->slots[mid].bcast_mask = c->p->slots[in].bcast_mask & ~(1u << d);
        ins->op = CF_OP_SLICE;
        ins->manual = 2;
        ins->step = 1;
        ins->nout = 1;
        ins->out[0] = mid;
        if ((st = emit(c, ins)) || (st = result_slot(c, x->out[0], false, out)))
            return st;
        instr_init(ins, CF_OP_VIEW, CF_DTYPE_NULL);
        view = *ins;
        view.nin = 1;
        view.in[0] = mid;
        for (int k = 0, j = 0; k < r; k++)
            if (k != d)
                view.map[j++] = (int8_t)k;
        *ins = view;
        return CF_OK;
    }
    r = cf_ir_noreduction_axes(f, x->out[0], axes);
    if (d < r) {
        cf_id ext = f->iters[axes[d]].extent;
        int32_t sym;
        if (cf_val_is_symbolic(f, ext) && c->val_sym[ext] < 0) {
            if ((st = new_sym(c, CF_SYM_MOVE, &sym)))
                return st;
            c->plan->syms[sym].instr = c->p->ninstrs;
            c->plan->syms[sym].axis = d;
            c->val_sym[ext] = sym;
        }
    }
    return result_slot(c, x->out[0], false, out);
}

/* The indexing reads: one GATHER over the result's shape (program.h), the
 * index viewed at the result's rank first. */
static cf_status lower_gather(lower_ctx *c, cf_id e)
{
    const cf_fusion *f = c->f;
    const cf_expr_node *x = &f->exprs[e];
    bool emb = x->op == CF_OP_EMBEDDING_FWD;
    int64_t dim = x->attrs.ints[0];
    int32_t src, idx, out, v;
    int8_t vmap[CF_MAX_DIMS];
    cf_prog_instr ins, view;
    cf_status st;
    int r, ri, d;
    if ((st = operand_slot(c, x->in[emb ? 1 : 0], &src)) || (st = operand_slot(c, x->in[emb ? 0 : 1], &idx)) ||
        (st = result_slot(c, x->out[0], true, &out)))
        return st;
    r = c->p->slots[out].ndim;
    ri = c->p->slots[idx].ndim;
    instr_init(&ins, CF_OP_GATHER, cf_dtype_compute(c->p->slots[src].dtype));
    for (d = 0; d < r; d++) {
        ins.map[d] = (int8_t)(emb ? (d == r - 1 ? 1 : -1) : (d == dim ? -1 : d));
        vmap[d] = (int8_t)(emb ? (d < r - 1 ? d : -1) : x->op == CF_OP_INDEX_SELECT ? (d == dim && ri == 1 ? 0 : -1) : d);
    }
    ins.correction = dim;
    ins.axes = x->op == CF_OP_GATHER;
    if (ri != r || x->op == CF_OP_INDEX_SELECT) {
        if ((st = new_slot(c, c->p->slots[idx].dtype, r, CF_SLOT_TEMP, &v)))
            return st;
        instr_init(&view, CF_OP_VIEW, CF_DTYPE_NULL);
        for (d = 0; d < r; d++) {
            bool bc = vmap[d] < 0 || (c->p->slots[idx].bcast_mask >> vmap[d]) & 1;
            c->plan->slot_sym[v * CF_MAX_DIMS + d] = vmap[d] < 0 ? c->one_sym : c->plan->slot_sym[idx * CF_MAX_DIMS + vmap[d]];
            c->p->slots[v].bcast_mask |= (uint32_t)bc << d;
            view.map[d] = vmap[d];
        }
        view.nin = 1;
        view.in[0] = idx;
        view.nout = 1;
        view.out[0] = v;
        if ((st = emit(c, &view)))
            return st;
        idx = v;
    }
    ins.nin = 2;
    ins.in[0] = src;
    ins.in[1] = idx;
    ins.nout = 1;
    ins.out[0] = out;
    return emit(c, &ins);
}

static bool is_scan_op(cf_opcode op)
{
    return op == CF_OP_CUMSUM || op == CF_OP_CUMPROD || op == CF_OP_CUMMIN || op == CF_OP_CUMMAX;
}

/* The expr that is v's only use, when v is not an output; else NULL. */
static const cf_expr_node *only_use(const cf_fusion *f, cf_id v)
{
    if (is_output(f, v) || cf_val_num_uses(f, v) != 1)
        return NULL;
    return &f->exprs[cf_val_use(f, v, 0)];
}

/* A cast feeding only a scan, exact (widening), runs inside the scan: the
 * scan loads the narrower values and computes in its own type (what
 * nvFuser's scan kernel does with its pointwise producer). */
static bool cast_folds_into_scan(const cf_fusion *f, const cf_expr_node *x)
{
    const cf_expr_node *u = only_use(f, x->out[0]);
    cf_dtype from = cf_val_dtype(f, x->in[0]), to = cf_val_dtype(f, x->out[0]);
    if (!u || !is_scan_op(u->op) || u->in[0] != x->out[0] || cf_val_kind_of(f, x->in[0]) != CF_VAL_TENSOR)
        return false;
    if (to == CF_DTYPE_FLOAT)
        return from == CF_DTYPE_HALF || from == CF_DTYPE_BFLOAT16;
    if (to == CF_DTYPE_DOUBLE)
        return from == CF_DTYPE_HALF || from == CF_DTYPE_BFLOAT16 || from == CF_DTYPE_FLOAT;
    if (to == CF_DTYPE_INT)
        return from == CF_DTYPE_INT32 || from == CF_DTYPE_BOOL;
    return to == CF_DTYPE_INT32 && from == CF_DTYPE_BOOL;
}

/* A Float scan whose only use casts it to Half or BFloat16 stores the
 * narrow values itself (the same rounding as the cast): that cast. */
static const cf_expr_node *scan_store_cast(const cf_fusion *f, const cf_expr_node *x)
{
    const cf_expr_node *u = only_use(f, x->out[0]);
    cf_dtype to;
    if (!u || u->op != CF_OP_CAST || cf_val_dtype(f, x->out[0]) != CF_DTYPE_FLOAT)
        return NULL;
    to = cf_val_dtype(f, u->out[0]);
    return to == CF_DTYPE_HALF || to == CF_DTYPE_BFLOAT16 ? u : NULL;
}

/* Scans and sorts: `axes` holds the dim, `correction` the sort order; every
 * output is computed (topk has two). */
static cf_status lower_scan(lower_ctx *c, const cf_expr_node *x, cf_prog_instr *ins)
{
    const cf_expr_node *cast = is_scan_op(x->op) ? scan_store_cast(c->f, x) : NULL;
    cf_status st;
    int k;
    ins->axes = 1u << x->attrs.ints[0];
    if ((x->op == CF_OP_ARGSORT || x->op == CF_OP_TOPK) && x->attrs.ints[1])
        ins->correction = CF_SORT_DESCENDING;
    ins->nout = (int8_t)x->nout;
    if (cast) {
        if ((st = result_slot(c, cast->out[0], true, &ins->out[0])))
            return st;
        c->val_slot[x->out[0]] = ins->out[0];
        c->live[cast - c->f->exprs] = false; /* done here */
        return emit(c, ins);
    }
    for (k = 0; k < x->nout; k++)
        if ((st = result_slot(c, x->out[k], true, &ins->out[k])))
            return st;
    return emit(c, ins);
}

static cf_status lower_expr(lower_ctx *c, cf_id e)
{
    const cf_fusion *f = c->f;
    const cf_expr_node *x = &f->exprs[e];
    cf_prog_instr ins;
    int32_t out;
    cf_status st;
    int i;
    if (cf_op_is_reduction(x->op) || x->op == CF_OP_WELFORD)
        return lower_reduction(c, e);
    if ((cf_op_flags(x->op) & CF_OPF_INDEXING) && x->op != CF_OP_SCATTER)
        return lower_gather(c, e);
    if (x->op == CF_OP_CAST && cast_folds_into_scan(f, x)) /* the scan reads x's input */
        return operand_slot(c, x->in[0], &c->val_slot[x->out[0]]);
    /* stride_order only sets the layout of an output (ops_layout.c): a copy */
    instr_init(&ins, x->op == CF_OP_STRIDE_ORDER ? CF_OP_SET : x->op, x->attrs.dtype);
    ins.nin = x->nin;
    for (i = 0; i < x->nin; i++)
        if ((st = operand_slot(c, x->in[i], &ins.in[i])))
            return st;
    switch (x->op) {
    case CF_OP_BROADCAST_IN_DIM: case CF_OP_BROADCAST: case CF_OP_PERMUTE: case CF_OP_SQUEEZE:
    case CF_OP_EXPAND:
        if ((st = result_slot(c, x->out[0], false, &out)))
            return st;
        ins.op = CF_OP_VIEW;
        view_map(f, x, c->p->slots[ins.in[0]].ndim, c->p->slots[out].ndim, ins.map);
        break;
    case CF_OP_SLICE: case CF_OP_PAD: case CF_OP_CAT: case CF_OP_SELECT:
        if ((st = lower_movement(c, x, &ins, &out)))
            return st;
        break;
    case CF_OP_RESHAPE:
        if ((st = result_slot(c, x->out[0], true, &out)))
            return st;
        ins.op = CF_OP_COPY;
        if (x->attrs.ints[0] >= 0) {
            int32_t s = c->plan->slot_sym[out * CF_MAX_DIMS + x->attrs.ints[0]];
            c->plan->syms[s].kind = CF_SYM_RESHAPE;
            c->plan->syms[s].instr = c->p->ninstrs;
        }
        break;
    case CF_OP_CUMSUM: case CF_OP_CUMPROD: case CF_OP_CUMMIN: case CF_OP_CUMMAX: case CF_OP_ARGSORT:
    case CF_OP_TOPK:
        return lower_scan(c, x, &ins);
    case CF_OP_FULL:
    case CF_OP_IOTA:
        if ((st = result_slot(c, x->out[0], true, &out)))
            return st;
        if (x->op == CF_OP_IOTA) { /* the length is a size, not an operand */
            ins.in[0] = ins.in[1];
            ins.in[1] = ins.in[2];
            ins.nin = 2;
        }
        ins.cdtype = x->attrs.dtype;
        break;
    case CF_OP_SCATTER:
        if ((st = result_slot(c, x->out[0], true, &out)))
            return st;
        ins.correction = x->attrs.ints[0];
        ins.cdtype = cf_val_dtype(f, x->out[0]);
        break;
    default:
        if ((st = result_slot(c, x->out[0], true, &out)))
            return st;
        break;
    }
    ins.nout = 1;
    ins.out[0] = out;
    return emit(c, &ins);
}

/* Every fusion output gets an OUTPUT slot written by a computing instr. */
static cf_status finish_outputs(lower_ctx *c)
{
    const cf_fusion *f = c->f;
    cf_program *p = c->p;
    cf_plan *pl = c->plan;
    int i, s;
    p->noutputs = cf_fusion_num_outputs(f);
    p->outputs = cf_calloc((size_t)p->noutputs + 1, sizeof(int32_t));
    pl->out_squeeze = cf_calloc((size_t)p->noutputs + 1, sizeof(uint32_t));
    pl->out_order = cf_calloc((size_t)p->noutputs + 1, sizeof *pl->out_order);
    pl->out_alias = cf_calloc((size_t)p->noutputs + 1, sizeof *pl->out_alias);
    if (!p->outputs || !pl->out_squeeze || !pl->out_order || !pl->out_alias)
        return cf_error_nomem("execute");
    for (i = 0; i < p->noutputs; i++) {
        cf_id v = cf_fusion_output(f, i);
        pl->out_alias[i].input = cf_fusion_output_alias(f, i, &pl->out_alias[i].visible);
        pl->out_alias[i].same_as = -1;
        for (s = 0; s < cf_fusion_num_inputs(f); s++)
            if (cf_fusion_input(f, s) == v)
                pl->out_alias[i].same_as = s;
        /* v returned again after it was written into an input: that input */
        for (s = 0; s < p->noutputs; s++)
            if (s != i && cf_fusion_output(f, s) == v && cf_fusion_output_alias(f, s, NULL) >= 0 &&
                pl->out_alias[i].input < 0)
                pl->out_alias[i].same_as = cf_fusion_output_alias(f, s, NULL);
        int32_t slot = -1;
        cf_status st;
        /* a reduction that writes this output directly */
        for (s = 0; s < p->nslots; s++)
            if (p->slots[s].role == CF_SLOT_OUTPUT && p->slots[s].io_index == -2 - (int)v) {
                slot = s;
                pl->out_squeeze[i] = 0;
                {
                    int k;
                    for (k = 0; k < p->ninstrs; k++) {
                        const cf_prog_instr *ri = &p->instrs[k];
                        if (cf_op_is_reduction(ri->op) || ri->op == CF_OP_WELFORD) {
                            int j;
                            for (j = 0; j < ri->nout; j++)
                                if (ri->out[j] == s)
                                    pl->out_squeeze[i] = ri->axes;
                        }
                    }
                }
                break;
            }
        if (slot < 0 && c->val_slot[v] >= 0 && p->slots[c->val_slot[v]].role == CF_SLOT_OUTPUT &&
            p->slots[c->val_slot[v]].io_index == -1)
            slot = c->val_slot[v];
        if (slot < 0) { /* an input or a view: copy it out */
            cf_prog_instr ins;
            int32_t src;
            if ((st = operand_slot(c, v, &src)) || (st = tensor_slot(c, v, CF_SLOT_OUTPUT, &slot)))
                return st;
            instr_init(&ins, CF_OP_SET, cf_dtype_compute(cf_val_dtype(f, v)));
            ins.nin = 1;
            ins.in[0] = src;
            ins.nout = 1;
            ins.out[0] = slot;
            if ((st = emit(c, &ins)))
                return st;
        }
        p->slots[slot].io_index = i;
        p->outputs[i] = slot;
        if (cf_val_kind_of(f, v) == CF_VAL_TENSOR &&
            (st = cf_fusion_alloc_order(f, v, pl->out_order[i].ord, &pl->out_order[i].n)))
            return st;
    }
    return CF_OK;
}

static cf_status lower_inputs(lower_ctx *c)
{
    const cf_fusion *f = c->f;
    cf_program *p = c->p;
    cf_plan *pl = c->plan;
    int i, d;
    cf_status st;
    p->ninputs = cf_fusion_num_inputs(f);
    p->inputs = cf_calloc((size_t)p->ninputs + 1, sizeof(int32_t));
    pl->input_sym = cf_calloc((size_t)p->ninputs + 1, sizeof(int32_t));
    if (!p->inputs || !pl->input_sym)
        return cf_error_nomem("execute");
    for (i = 0; i < p->ninputs; i++) {
        cf_id v = cf_fusion_input(f, i);
        int32_t slot, sym;
        pl->input_sym[i] = -1;
        if (cf_val_kind_of(f, v) == CF_VAL_SCALAR) {
            if ((st = new_sym(c, CF_SYM_SCALAR_ARG, &sym)))
                return st;
            pl->syms[sym].input = i;
            c->val_sym[v] = sym;
            pl->input_sym[i] = sym;
            if ((st = new_slot(c, cf_val_dtype(f, v), 0, CF_SLOT_SCALAR, &slot)))
                return st;
            pl->slot_val_sym[slot] = sym;
        } else {
            cf_id axes[CF_MAX_DIMS];
            int r = cf_ir_noreduction_axes(f, v, axes);
            for (d = 0; d < r; d++) {
                cf_id ext = f->iters[axes[d]].extent;
                if (cf_val_is_symbolic(f, ext) && c->val_sym[ext] < 0) {
                    if ((st = new_sym(c, CF_SYM_INPUT_DIM, &sym)))
                        return st;
                    pl->syms[sym].input = i;
                    pl->syms[sym].axis = d;
                    c->val_sym[ext] = sym;
                }
            }
            if ((st = tensor_slot(c, v, CF_SLOT_INPUT, &slot)))
                return st;
        }
        p->slots[slot].io_index = i;
        p->inputs[i] = slot;
        c->val_slot[v] = slot;
    }
    return CF_OK;
}

static void mark_live(lower_ctx *c)
{
    const cf_fusion *f = c->f;
    int i, e, k;
    for (i = 0; i < cf_fusion_num_outputs(f); i++) {
        cf_id d = cf_val_definition(f, cf_fusion_output(f, i));
        if (d >= 0)
            c->live[d] = true;
    }
    for (e = f->nexprs - 1; e >= 0; e--) {
        if (!c->live[e])
            continue;
        for (k = 0; k < f->exprs[e].nin; k++) {
            cf_id d = cf_val_definition(f, f->exprs[e].in[k]);
            if (d >= 0)
                c->live[d] = true;
        }
    }
}

void cf_plan_free(cf_plan *pl)
{
    if (!pl)
        return;
    cf_program_free(pl->prog);
    cf_free(pl->syms);
    cf_free(pl->slot_sym);
    cf_free(pl->slot_val_sym);
    cf_free(pl->input_sym);
    cf_free(pl->out_squeeze);
    cf_free(pl->out_order);
    cf_free(pl->out_alias);
    cf_free(pl);
}

void cf_program_free(cf_program *p)
{
    if (!p)
        return;
    if (p->cpu_cache_free)
        p->cpu_cache_free(p->cpu_cache);
    cf_free(p->slots);
    cf_free(p->instrs);
    cf_free(p->inputs);
    cf_free(p->outputs);
    cf_free(p);
}

/* Binding evaluates expression syms before reshape infers its sizes. */
static bool expr_on_reshape(const cf_plan *pl, int32_t s)
{
    const cf_sym *sy = &pl->syms[s];
    if (sy->kind == CF_SYM_RESHAPE || sy->kind == CF_SYM_UNKNOWN)
        return true;
    if (sy->kind != CF_SYM_EXPR)
        return false;
    return expr_on_reshape(pl, sy->input) || (sy->axis >= 0 && expr_on_reshape(pl, sy->axis));
}

/* Expression syms that are sizes are checked >= 0 when bound; they must
 * not wait for reshape's inferred sizes or rest on non-integer values. */
static cf_status mark_size_exprs(cf_plan *pl)
{
    const cf_program *p = pl->prog;
    int s, k;
    for (s = 0; s < pl->nsyms; s++) {
        if (pl->syms[s].kind != CF_SYM_EXPR)
            continue;
        for (k = 0; k < p->nslots * CF_MAX_DIMS; k++)
            if (pl->slot_sym[k] == s && (k % CF_MAX_DIMS) < p->slots[k / CF_MAX_DIMS].ndim)
                pl->syms[s].instr = 1;
        if (pl->syms[s].instr && expr_on_reshape(pl, s))
            return cf_error_set(CF_ERR_UNSUPPORTED, "execute", "execute(): a size computed by scalar arithmetic from a size reshape infers (-1) or from a non-integer value is not supported yet");
    }
    return CF_OK;
}

cf_status cf_plan_build(const cf_fusion *f, cf_plan **out)
{
    lower_ctx c;
    cf_status st = CF_OK;
    int e;
    size_t nv = (size_t)f->nvals + 1;
    memset(&c, 0, sizeof c);
    c.f = f;
    if (cf_fusion_num_outputs(f) == 0)
        return cf_error_set(CF_ERR_VALUE, "execute", "execute(): Fusion is empty! It has no outputs; call add_output() first");
    c.plan = cf_calloc(1, sizeof(cf_plan));
    c.p = cf_calloc(1, sizeof(cf_program));
    c.val_slot = cf_malloc(nv * sizeof(int32_t));
    c.val_sym = cf_malloc(nv * sizeof(int32_t));
    c.live = cf_calloc((size_t)f->nexprs + 1, sizeof(bool));
    if (!c.plan || !c.p || !c.val_slot || !c.val_sym || !c.live) {
        st = cf_error_nomem("execute");
        goto done;
    }
    c.plan->prog = c.p;
    memset(c.val_slot, 0xff, nv * sizeof(int32_t));
    memset(c.val_sym, 0xff, nv * sizeof(int32_t));
    if ((st = new_sym(&c, CF_SYM_CONST, &c.one_sym)))
        goto done;
    c.plan->syms[c.one_sym].value.dtype = CF_DTYPE_INT;
    c.plan->syms[c.one_sym].value.v.i = 1;
    mark_live(&c);
    if ((st = lower_inputs(&c)))
        goto done;
    for (e = 0; e < f->nexprs && !st; e++)
        if (c.live[e])
            st = lower_expr(&c, e);
    if (!st)
        st = finish_outputs(&c);
    if (!st) {
        int s;
        st = mark_size_exprs(c.plan);
        for (s = 0; s < c.plan->nsyms && !st; s++)
            if (c.plan->syms[s].kind == CF_SYM_UNKNOWN) {
                /* only a problem when a slot's size depends on it */
                int k;
                for (k = 0; k < c.p->nslots * CF_MAX_DIMS; k++)
                    if (c.plan->slot_sym[k] == s && (k % CF_MAX_DIMS) < c.p->slots[k / CF_MAX_DIMS].ndim) {
                        st = cf_error_set(CF_ERR_UNSUPPORTED, "execute", "execute(): a tensor size computed by scalar arithmetic on values other than integer sizes and scalar inputs is not supported yet");
                        break;
                    }
                if (st)
                    break;
            }
    }
done:
    cf_free(c.val_slot);
    cf_free(c.val_sym);
    cf_free(c.live);
    if (st) {
        if (c.plan) {
            c.plan->prog = c.p; /* not yet linked when a later allocation failed */
            cf_plan_free(c.plan);
        } else {
            cf_program_free(c.p);
        }
        return st;
    }
    *out = c.plan;
    return CF_OK;
}

cf_status cf_program_lower(const cf_fusion *f, cf_program **out)
{
    cf_plan *pl;
    cf_status st = cf_plan_build(f, &pl);
    if (st)
        return st;
    *out = pl->prog;
    pl->prog = NULL;
    cf_plan_free(pl);
    return CF_OK;
}
