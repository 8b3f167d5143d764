/* bind.c - giving a plan's slots their run-time shapes, with the checks
 * that turn bad arguments into clear errors before anything runs. */
#include <inttypes.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "move.h"
#include "plan.h"
#include "symexpr.h"

#define SYM_STACK 64

cf_status cf_tensor_nbytes(cf_dtype dtype, int ndim, const int64_t *shape, int64_t *out)
{
    int64_t n = (int64_t)cf_dtype_size(dtype);
    int d;
    for (d = 0; d < ndim; d++) {
        if (shape[d] < 0)
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): negative size %" PRId64 " at dim %d", shape[d], d);
        if (shape[d] && n > INT64_MAX / shape[d])
            return cf_error_set(CF_ERR_OVERFLOW, "execute", "execute(): a tensor of this shape would need more than 2^63 bytes (dim %d of size %" PRId64 ")", d, shape[d]);
        n *= shape[d];
    }
    *out = n;
    return CF_OK;
}

static int64_t numel(const int64_t *shape, int ndim)
{
    int64_t n = 1;
    int d;
    for (d = 0; d < ndim; d++)
        n *= shape[d];
    return n;
}

static int64_t scalar_as_int(const cf_scalar *s)
{
    if (cf_dtype_is_float(s->dtype))
        return (int64_t)s->v.f;
    if (cf_dtype_is_bool(s->dtype))
        return s->v.b;
    return s->v.i;
}

static cf_scalar convert(const cf_scalar *s, cf_dtype to)
{
    cf_scalar r;
    r.dtype = to;
    if (cf_dtype_is_float(to))
        r.v.f = cf_dtype_is_float(s->dtype) ? s->v.f : (double)scalar_as_int(s);
    else if (cf_dtype_is_bool(to))
        r.v.b = cf_dtype_is_float(s->dtype) ? s->v.f != 0 : scalar_as_int(s) != 0;
    else
        r.v.i = scalar_as_int(s);
    return r;
}

static cf_status check_inputs(const cf_plan *pl, int nargs, const cf_arg *args, cf_slot_value *vals,
                              int64_t *symv)
{
    const cf_program *p = pl->prog;
    int i, d, device = -3;
    if (nargs != p->ninputs)
        return cf_error_set(CF_ERR_VALUE, "execute", "execute(): the fusion has %d inputs but %d were given", p->ninputs, nargs);
    for (i = 0; i < p->ninputs; i++) {
        int32_t s = p->inputs[i];
        const cf_prog_slot *sl = &p->slots[s];
        const cf_arg *a = &args[i];
        if (sl->role == CF_SLOT_SCALAR) {
            if (a->is_tensor)
                return cf_error_set(CF_ERR_TYPE, "execute", "execute(): input %d must be a scalar (DataType.%s), got a tensor", i, cf_dtype_pyname(sl->dtype));
            if (cf_dtype_is_float(a->scalar.dtype) && !cf_dtype_is_float(sl->dtype))
                return cf_error_set(CF_ERR_TYPE, "execute", "execute(): input %d is a float but the fusion defines it as DataType.%s", i, cf_dtype_pyname(sl->dtype));
            if (sl->dtype == CF_DTYPE_INT32 && !cf_dtype_is_float(a->scalar.dtype) &&
                (scalar_as_int(&a->scalar) < INT32_MIN || scalar_as_int(&a->scalar) > INT32_MAX))
                return cf_error_set(CF_ERR_OVERFLOW, "execute", "execute(): input %d is %" PRId64 ", outside the range of DataType.Int32 the fusion defines it as", i, scalar_as_int(&a->scalar));
            vals[s].scalar = convert(&a->scalar, sl->dtype);
            symv[pl->input_sym[i]] = scalar_as_int(&a->scalar);
            continue;
        }
        if (!a->is_tensor)
            return cf_error_set(CF_ERR_TYPE, "execute", "execute(): input %d must be a tensor of %d dims (DataType.%s), got a scalar", i, sl->ndim, cf_dtype_pyname(sl->dtype));
        if (a->tensor.dtype != sl->dtype)
            return cf_error_set(CF_ERR_TYPE, "execute", "execute(): input %d has dtype %s but the fusion defines it as DataType.%s", i, cf_dtype_pyname(a->tensor.dtype) ? cf_dtype_pyname(a->tensor.dtype) : "?", cf_dtype_pyname(sl->dtype));
        if (a->tensor.ndim != sl->ndim)
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): input %d has %d dims but the fusion defines it with %d", i, a->tensor.ndim, sl->ndim);
        /* a 0-dim CPU tensor joins inputs on any device (nvFuser's CPU
         * scalars); the run's device is that of the others */
        vals[s].on_host = sl->ndim == 0 && a->tensor.device < 0;
        if (vals[s].on_host) {
            vals[s].data = a->tensor.data;
            continue;
        }
        if (device != -3 && a->tensor.device != device)
            return cf_error_set(CF_ERR_DEVICE, "execute", "execute(): inputs are on different devices (input %d is on %s%d, an earlier one on %s%d)", i, a->tensor.device < 0 ? "cpu" : "cuda:", a->tensor.device < 0 ? 0 : a->tensor.device, device < 0 ? "cpu" : "cuda:", device < 0 ? 0 : device);
        device = a->tensor.device;
        for (d = 0; d < sl->ndim; d++) {
            int64_t size = a->tensor.shape[d];
            int32_t sym = pl->slot_sym[s * CF_MAX_DIMS + d];
            const cf_sym *sy = &pl->syms[sym];
            if (size < 0)
                return cf_error_set(CF_ERR_VALUE, "execute", "execute(): input %d has a negative size at dim %d", i, d);
            if (sy->kind == CF_SYM_CONST && sy->value.v.i != size) {
                if (sl->bcast_mask & (1u << d))
                    return cf_error_set(CF_ERR_VALUE, "execute", "execute(): input %d has size %" PRId64 " at dim %d, which the fusion defines as a broadcast dim (size 1)", i, size, d);
                return cf_error_set(CF_ERR_VALUE, "execute", "execute(): input %d has size %" PRId64 " at dim %d but the fusion fixes it to %" PRId64, i, size, d, sy->value.v.i);
            }
            if (sy->kind == CF_SYM_INPUT_DIM && sy->input == i && sy->axis == d)
                symv[sym] = size;
            vals[s].shape[d] = size;
            vals[s].strides[d] = a->tensor.strides[d];
        }
        vals[s].data = a->tensor.data;
    }
    return CF_OK;
}

static cf_status check_pointwise(const cf_program *p, const cf_prog_instr *ins, const cf_slot_value *vals)
{
    const cf_prog_slot *o = &p->slots[ins->out[0]];
    const cf_slot_value *ov = &vals[ins->out[0]];
    int k, d;
    for (k = 0; k < ins->nin; k++) {
        const cf_prog_slot *s = &p->slots[ins->in[k]];
        const cf_slot_value *sv = &vals[ins->in[k]];
        if (s->ndim == 0)
            continue;
        for (d = 0; d < o->ndim; d++) {
            if (sv->shape[d] == ov->shape[d])
                continue;
            if (sv->shape[d] == 1 && (s->bcast_mask & (1u << d)))
                continue;
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): %s: operand %d has size %" PRId64 " at dim %d but the result has size %" PRId64 "; only broadcast dims (defined with size 1) expand", cf_op_name(ins->op), k, sv->shape[d], d, ov->shape[d]);
        }
    }
    return CF_OK;
}

static cf_status check_view(const cf_program *p, const cf_prog_instr *ins, const cf_slot_value *vals)
{
    const cf_prog_slot *in = &p->slots[ins->in[0]], *o = &p->slots[ins->out[0]];
    const cf_slot_value *iv = &vals[ins->in[0]], *ov = &vals[ins->out[0]];
    uint32_t used = 0;
    int d;
    for (d = 0; d < o->ndim; d++) {
        int k = (int)ins->map[d]; /* -1: a new axis */
        if (k < 0)
            continue;
        used |= 1u << k;
        /* A size-1 input axis expands to any size (read with stride 0),
         * as in torch's expand, whether or not it was defined as broadcast. */
        if (iv->shape[k] != ov->shape[d] && iv->shape[k] != 1)
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): a broadcast or expand needs size %" PRId64 " at dim %d but the input has %" PRId64 " there (only size-1 dims expand)", ov->shape[d], d, iv->shape[k]);
    }
    for (d = 0; d < in->ndim; d++)
        if (!(used & (1u << d)) && iv->shape[d] != 1)
            return cf_error_set(CF_ERR_VALUE, "execute", "execute(): squeeze of dim %d, which has size %" PRId64 " (only size-1 dims can be squeezed)", d, iv->shape[d]);
    return CF_OK;
}

/* topk's k (its outputs' extent along the dim) against the input's size. */
static cf_status check_topk(const cf_program *p, const cf_prog_instr *ins, const cf_slot_value *vals)
{
    int d = __builtin_ctz(ins->axes);
    int64_t k = vals[ins->out[0]].shape[d], n = vals[ins->in[0]].shape[d];
    (void)p;
    if (k < 0 || k > n)
        return cf_error_set(CF_ERR_VALUE, "topk", "execute(): topk: k is %" PRId64 " but dim %d has %" PRId64 " elements (expected 0 <= k <= %" PRId64 ")", k, d, n, n);
    return CF_OK;
}

static void fill_shape(const cf_plan *pl, int32_t s, const int64_t *symv, cf_slot_value *vals)
{
    int d;
    for (d = 0; d < pl->prog->slots[s].ndim; d++)
        vals[s].shape[d] = symv[pl->slot_sym[s * CF_MAX_DIMS + d]];
}

static cf_status bind_instrs(const cf_plan *pl, int64_t *symv, cf_slot_value *vals)
{
    const cf_program *p = pl->prog;
    int i, k, d;
    cf_status st;
    for (i = 0; i < p->ninstrs; i++) {
        const cf_prog_instr *ins = &p->instrs[i];
        if (ins->op == CF_OP_COPY) {
            const cf_prog_slot *o = &p->slots[ins->out[0]];
            int64_t in_n = numel(vals[ins->in[0]].shape, p->slots[ins->in[0]].ndim), known = 1;
            int32_t inferred = -1;
            for (d = 0; d < o->ndim; d++) {
                int32_t sym = pl->slot_sym[ins->out[0] * CF_MAX_DIMS + d];
                if (pl->syms[sym].kind == CF_SYM_RESHAPE && pl->syms[sym].instr == i)
                    inferred = sym;
                else
                    known *= symv[sym];
            }
            if (inferred >= 0) {
                if (known == 0 || in_n % known)
                    return cf_error_set(CF_ERR_VALUE, "execute", "execute(): reshape: cannot infer the -1 size: %" PRId64 " elements do not divide into %" PRId64, in_n, known);
                symv[inferred] = in_n / known;
                known = in_n;
            }
            fill_shape(pl, ins->out[0], symv, vals);
            if (known != in_n)
                return cf_error_set(CF_ERR_VALUE, "execute", "execute(): reshape: cannot reshape a tensor of %" PRId64 " elements to a shape of %" PRId64 " elements", in_n, known);
            continue;
        }
        if (cf_move_op(ins->op)) {
            if ((st = cf_bind_move(pl, i, symv, vals)))
                return st;
            continue;
        }
        for (k = 0; k < ins->nout; k++)
            fill_shape(pl, ins->out[k], symv, vals);
        if (cf_op_is_pointwise(ins->op))
            st = check_pointwise(p, ins, vals);
        else if (ins->op == CF_OP_VIEW)
            st = check_view(p, ins, vals);
        else if (ins->op == CF_OP_GATHER || ins->op == CF_OP_SCATTER)
            st = cf_bind_check_indexing(p, ins, vals);
        else if (ins->op == CF_OP_TOPK)
            st = check_topk(p, ins, vals);
        else
            st = CF_OK;
        if (st)
            return st;
        for (k = 0; k < ins->nout; k++) {
            int64_t nb;
            const cf_prog_slot *o = &p->slots[ins->out[k]];
            if ((st = cf_tensor_nbytes(o->dtype, o->ndim, vals[ins->out[k]].shape, &nb)))
                return st;
        }
    }
    return CF_OK;
}

cf_status cf_plan_bind(const cf_plan *pl, int nargs, const cf_arg *args,
                       cf_slot_value *vals)
{
    const cf_program *p = pl->prog;
    int64_t stack[SYM_STACK], *symv = stack;
    cf_status st;
    int s;
    if (pl->nsyms > SYM_STACK) {
        symv = cf_malloc(sizeof(int64_t) * (size_t)pl->nsyms);
        if (!symv)
            return cf_error_nomem("execute");
    }
    for (s = 0; s < pl->nsyms; s++)
        symv[s] = pl->syms[s].kind == CF_SYM_CONST ? scalar_as_int(&pl->syms[s].value) : 0;
    memset(vals, 0, sizeof(cf_slot_value) * (size_t)p->nslots);
    if ((st = check_inputs(pl, nargs, args, vals, symv)) || (st = cf_sym_eval_all(pl, symv)))
        goto done;
    for (s = 0; s < p->nslots; s++) {
        const cf_prog_slot *sl = &p->slots[s];
        if (sl->role == CF_SLOT_CONST)
            vals[s].scalar = sl->value;
        else if (sl->role == CF_SLOT_SCALAR && sl->io_index < 0)
            vals[s].scalar = convert(&(cf_scalar){.dtype = CF_DTYPE_INT, .v.i = symv[pl->slot_val_sym[s]]}, sl->dtype);
        else if (sl->role == CF_SLOT_SCALAR)
            vals[s].scalar = convert(&args[sl->io_index].scalar, sl->dtype);
    }
    st = bind_instrs(pl, symv, vals);
    /* sizes that movement instructions computed, used as scalars */
    for (s = 0; s < p->nslots && !st; s++)
        if (p->slots[s].role == CF_SLOT_SCALAR && p->slots[s].io_index < 0)
            vals[s].scalar = convert(&(cf_scalar){.dtype = CF_DTYPE_INT, .v.i = symv[pl->slot_val_sym[s]]}, p->slots[s].dtype);
done:
    if (symv != stack)
        cf_free(symv);
    return st;
}
