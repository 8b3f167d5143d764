/* fusion.c - creating a fusion and its nodes, and reading them back. */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "ir.h"

/* Grow a dynamic array to hold one more element. */
static int grow(void **arr, int *cap, int n, size_t elem)
{
    void *p;
    int ncap;
    if (n < *cap)
        return 0;
    ncap = *cap ? *cap * 2 : 8;
    p = cf_realloc(*arr, (size_t)ncap * elem);
    if (!p)
        return -1;
    *arr = p;
    *cap = ncap;
    return 0;
}

/* The node arrays of the last fusion released on this thread, kept for the
 * next fusion made on it: a program that defines large fusions one after
 * another otherwise hands the arrays back to the C library, which returns
 * the pages to the system, and faults fresh pages in again for the next
 * fusion (that doubled the cost of an op there). At most SPARE_MAX bytes
 * are kept; a thread's are freed when it exits. */

#define SPARE_MAX ((size_t)32 << 20)

typedef struct spare_arrays {
    cf_val_node *vals;
    cf_expr_node *exprs;
    cf_iter_node *iters;
    int capvals, capexprs, capiters;
} spare_arrays;

static _Thread_local spare_arrays *spare;
static pthread_key_t spare_key;
static pthread_once_t spare_once = PTHREAD_ONCE_INIT;
static int spare_key_ok;

static void spare_free(void *p)
{
    spare_arrays *s = p;
    if (!s)
        return;
    cf_free(s->vals);
    cf_free(s->exprs);
    cf_free(s->iters);
    cf_free(s);
}

static void spare_init(void) { spare_key_ok = pthread_key_create(&spare_key, spare_free) == 0; }

/* Keep f's arrays for reuse; false when they are to be freed instead. */
static bool spare_keep(cf_fusion *f)
{
    size_t bytes = (size_t)f->capvals * sizeof(cf_val_node) + (size_t)f->capexprs * sizeof(cf_expr_node) +
                   (size_t)f->capiters * sizeof(cf_iter_node);
    pthread_once(&spare_once, spare_init);
    if (!spare_key_ok || bytes > SPARE_MAX || bytes < 65536)
        return false;
    if (!spare) {
        spare = cf_calloc(1, sizeof *spare);
        if (!spare || pthread_setspecific(spare_key, spare) != 0) {
            cf_free(spare);
            spare = NULL;
            return false;
        }
    }
    if ((size_t)spare->capvals >= (size_t)f->capvals)
        return false; /* keep the larger set */
    cf_free(spare->vals);
    cf_free(spare->exprs);
    cf_free(spare->iters);
    spare->vals = f->vals;
    spare->exprs = f->exprs;
    spare->iters = f->iters;
    spare->capvals = f->capvals;
    spare->capexprs = f->capexprs;
    spare->capiters = f->capiters;
    return true;
}

static void spare_take(cf_fusion *f)
{
    if (!spare || !spare->vals)
        return;
    f->vals = spare->vals;
    f->exprs = spare->exprs;
    f->iters = spare->iters;
    f->capvals = spare->capvals;
    f->capexprs = spare->capexprs;
    f->capiters = spare->capiters;
    memset(spare, 0, sizeof *spare);
}

cf_fusion *cf_fusion_new(void)
{
    cf_fusion *f = cf_calloc(1, sizeof *f);
    if (!f) {
        cf_error_nomem("Fusion");
        return NULL;
    }
    atomic_init(&f->refs, 1);
    spare_take(f);
    return f;
}

void cf_fusion_retain(cf_fusion *f) { atomic_fetch_add(&f->refs, 1); }

void cf_fusion_release(cf_fusion *f)
{
    int i;
    if (!f || atomic_fetch_sub(&f->refs, 1) != 1)
        return;
    for (i = 0; i < f->nvals; i++)
        cf_free(f->vals[i].uses);
    for (i = 0; i < f->nexprs; i++)
        cf_free((void *)f->exprs[i].attrs.ints);
    if (!spare_keep(f)) {
        cf_free(f->vals);
        cf_free(f->exprs);
        cf_free(f->iters);
    }
    cf_free(f->inputs);
    cf_free(f->outputs);
    cf_free(f->omarks);
    cf_free(f);
}

uint64_t cf_fusion_version(const cf_fusion *f) { return f->version; }
int cf_fusion_num_vals(const cf_fusion *f) { return f->nvals; }
int cf_fusion_num_exprs(const cf_fusion *f) { return f->nexprs; }
int cf_fusion_num_iterdomains(const cf_fusion *f) { return f->niters; }
int cf_fusion_num_inputs(const cf_fusion *f) { return f->ninputs; }
int cf_fusion_num_outputs(const cf_fusion *f) { return f->noutputs; }

cf_id cf_fusion_input(const cf_fusion *f, int i)
{
    return (i >= 0 && i < f->ninputs) ? f->inputs[i] : CF_NO_ID;
}

cf_id cf_fusion_output(const cf_fusion *f, int i)
{
    return (i >= 0 && i < f->noutputs) ? f->outputs[i] : CF_NO_ID;
}

bool cf_fusion_has_val(const cf_fusion *f, cf_id v) { return v >= 0 && v < f->nvals; }
bool cf_fusion_has_expr(const cf_fusion *f, cf_id e) { return e >= 0 && e < f->nexprs; }
bool cf_fusion_has_iterdomain(const cf_fusion *f, cf_id i) { return i >= 0 && i < f->niters; }

static bool in_list(const cf_id *list, int n, cf_id v)
{
    int i;
    for (i = 0; i < n; i++)
        if (list[i] == v)
            return true;
    return false;
}

bool cf_fusion_is_input(const cf_fusion *f, cf_id v) { return in_list(f->inputs, f->ninputs, v); }
bool cf_fusion_is_output(const cf_fusion *f, cf_id v) { return in_list(f->outputs, f->noutputs, v); }

cf_status cf_fusion_add_input(cf_fusion *f, cf_id v)
{
    if (!cf_fusion_has_val(f, v))
        return cf_error_set(CF_ERR_VALUE, "add_input", "add_input(): value %d is not part of this fusion", (int)v);
    if (cf_fusion_is_input(f, v))
        return cf_error_set(CF_ERR_VALUE, "add_input", "add_input(): the value is already an input of the fusion");
    if (f->vals[v].def != CF_NO_ID)
        return cf_error_set(CF_ERR_VALUE, "add_input", "add_input(): the value is computed by an expression; only values without a definition can be inputs");
    if (f->vals[v].kind == CF_VAL_SCALAR && f->vals[v].is_const)
        return cf_error_set(CF_ERR_VALUE, "add_input", "add_input(): a constant scalar cannot be an input");
    if (grow((void **)&f->inputs, &f->capinputs, f->ninputs, sizeof(cf_id)))
        return cf_error_nomem("add_input");
    f->inputs[f->ninputs++] = v;
    f->version++;
    return CF_OK;
}

/* Append v as output entry with this mark (both arrays grow together). */
static cf_status push_output(cf_fusion *f, cf_id v, int alias_input, bool visible, const char *op)
{
    if (grow((void **)&f->outputs, &f->capoutputs, f->noutputs, sizeof(cf_id)) ||
        grow((void **)&f->omarks, &f->capomarks, f->noutputs, sizeof *f->omarks))
        return cf_error_nomem(op);
    f->outputs[f->noutputs] = v;
    f->omarks[f->noutputs].alias_input = alias_input;
    f->omarks[f->noutputs].visible = visible;
    f->noutputs++;
    f->version++;
    return CF_OK;
}

static int output_index(const cf_fusion *f, cf_id v)
{
    int i;
    for (i = 0; i < f->noutputs; i++)
        if (f->outputs[i] == v)
            return i;
    return -1;
}

/* Why v cannot be an output of f, or NULL. */
static cf_status check_output_val(cf_fusion *f, cf_id v, const char *op)
{
    if (!cf_fusion_has_val(f, v))
        return cf_error_set(CF_ERR_VALUE, op, "%s(): value %d is not part of this fusion", op, (int)v);
    if (f->vals[v].kind == CF_VAL_SCALAR && f->vals[v].is_const)
        return cf_error_set(CF_ERR_VALUE, op, "%s(): a constant scalar cannot be an output; expected a TensorView", op);
    if (f->vals[v].kind == CF_VAL_SCALAR)
        return cf_error_set(CF_ERR_UNSUPPORTED, op, "%s(): scalar outputs are not supported yet; expected a TensorView", op);
    return CF_OK;
}

cf_status cf_fusion_add_output(cf_fusion *f, cf_id v)
{
    cf_status st = check_output_val(f, v, "add_output");
    int i;
    if (st)
        return st;
    i = output_index(f, v);
    if (i >= 0 && f->omarks[i].visible)
        i = -1; /* returned once more (nvFuser allows it): a new entry */
    if (i >= 0) {
        /* aliased so far only: it becomes visible, returned after the
         * outputs added before this call */
        int alias = f->omarks[i].alias_input;
        memmove(&f->outputs[i], &f->outputs[i + 1], sizeof(cf_id) * (size_t)(f->noutputs - i - 1));
        memmove(&f->omarks[i], &f->omarks[i + 1], sizeof *f->omarks * (size_t)(f->noutputs - i - 1));
        f->noutputs--;
        return push_output(f, v, alias, true, "add_output");
    }
    return push_output(f, v, -1, true, "add_output");
}

cf_status cf_fusion_alias_output(cf_fusion *f, cf_id v, cf_id input)
{
    cf_status st = check_output_val(f, v, "add_output");
    int i, pos;
    if (st)
        return st;
    for (pos = 0; pos < f->ninputs && f->inputs[pos] != input; pos++)
        ;
    if (pos == f->ninputs)
        return cf_error_set(CF_ERR_VALUE, "add_output", "add_output(): 'alias_input' must be an input of the fusion (a tensor made by define_tensor)");
    if (f->vals[input].kind != CF_VAL_TENSOR)
        return cf_error_set(CF_ERR_VALUE, "add_output", "add_output(): 'alias_input' must be a TensorView, not a Scalar");
    if (f->vals[v].dtype != f->vals[input].dtype || cf_tensor_ndim_noreduction(f, v) != cf_tensor_ndim_noreduction(f, input))
        return cf_error_set(CF_ERR_VALUE, "add_output",
                            "add_output(): the output (%s, %d dims) cannot be written into 'alias_input' (%s, %d dims): the dtype and the number of dims must agree",
                            cf_dtype_name(f->vals[v].dtype), cf_tensor_ndim_noreduction(f, v), cf_dtype_name(f->vals[input].dtype), cf_tensor_ndim_noreduction(f, input));
    for (i = 0; i < f->noutputs; i++)
        if (f->omarks[i].alias_input == pos)
            return cf_error_set(CF_ERR_VALUE, "add_output", "add_output(): input %d is already written by another output; an input can be the alias of one output only", pos);
    i = output_index(f, v);
    if (i >= 0 && f->omarks[i].alias_input >= 0)
        return cf_error_set(CF_ERR_VALUE, "add_output", "add_output(): the value is already written into input %d; an output can alias one input only", f->omarks[i].alias_input);
    if (i >= 0) {
        f->omarks[i].alias_input = pos;
        f->version++;
        return CF_OK;
    }
    return push_output(f, v, pos, false, "add_output");
}

int cf_fusion_output_alias(const cf_fusion *f, int i, bool *visible)
{
    if (i < 0 || i >= f->noutputs) {
        if (visible)
            *visible = false;
        return -1;
    }
    if (visible)
        *visible = f->omarks[i].visible;
    return f->omarks[i].alias_input;
}

/* --- node construction ---------------------------------------------------- */
cf_ir_mark cf_ir_mark_take(const cf_fusion *f)
{
    cf_ir_mark m = {f->nvals, f->nexprs, f->niters, f->tv_count, f->scalar_count, f->iter_count};
    return m;
}

void cf_ir_rollback(cf_fusion *f, const cf_ir_mark *m)
{
    int i;
    for (i = m->nvals; i < f->nvals; i++)
        cf_free(f->vals[i].uses);
    for (i = m->nexprs; i < f->nexprs; i++)
        cf_free((void *)f->exprs[i].attrs.ints);
    /* drop uses that point at removed exprs (they are always the last ones) */
    for (i = 0; i < m->nvals; i++) {
        cf_val_node *v = &f->vals[i];
        while (v->nuses > 0 && v->uses[v->nuses - 1] >= m->nexprs)
            v->nuses--;
    }
    f->nvals = m->nvals;
    f->nexprs = m->nexprs;
    f->niters = m->niters;
    f->tv_count = m->tv;
    f->scalar_count = m->sc;
    f->iter_count = m->it;
}

static cf_status new_val(cf_fusion *f, cf_val_node **out, cf_id *id)
{
    if (f->nvals >= INT32_MAX - 1)
        return cf_error_set(CF_ERR_OVERFLOW, "Fusion", "too many values in one fusion");
    if (grow((void **)&f->vals, &f->capvals, f->nvals, sizeof(cf_val_node)))
        return cf_error_nomem("Fusion");
    *id = f->nvals;
    *out = &f->vals[f->nvals++];
    memset(*out, 0, sizeof **out);
    (*out)->def = CF_NO_ID;
    f->version++;
    return CF_OK;
}

cf_status cf_ir_new_tensor(cf_fusion *f, cf_dtype dtype, int ndim, const cf_id *axes, cf_id *out)
{
    cf_val_node *v = NULL;
    cf_status st = new_val(f, &v, out);
    int i;
    if (st)
        return st;
    v->kind = CF_VAL_TENSOR;
    v->dtype = dtype;
    v->name = f->tv_count++;
    v->ndim = (int8_t)ndim;
    for (i = 0; i < ndim; i++) {
        v->axes[i] = axes[i];
        v->contig[i] = f->iters[axes[i]].type == CF_ITER_BROADCAST ? -1 : 1;
    }
    return CF_OK;
}

cf_status cf_ir_new_scalar(cf_fusion *f, cf_dtype dtype, const cf_scalar *value, cf_id *out)
{
    cf_val_node *v = NULL;
    cf_status st = new_val(f, &v, out);
    if (st)
        return st;
    v->kind = CF_VAL_SCALAR;
    v->dtype = dtype;
    v->name = f->scalar_count++;
    if (value) {
        v->is_const = true;
        v->value = *value;
        v->value.dtype = dtype;
    }
    return CF_OK;
}

cf_status cf_ir_new_iter(cf_fusion *f, cf_id extent, cf_iter_type type, cf_id *out)
{
    cf_iter_node *it;
    if (grow((void **)&f->iters, &f->capiters, f->niters, sizeof(cf_iter_node)))
        return cf_error_nomem("Fusion");
    *out = f->niters;
    it = &f->iters[f->niters++];
    it->extent = extent;
    it->type = (uint8_t)type;
    it->name = f->iter_count++;
    return CF_OK;
}

static cf_status add_use(cf_fusion *f, cf_id v, cf_id e)
{
    cf_val_node *n = &f->vals[v];
    if (n->nuses > 0 && n->uses[n->nuses - 1] == e)
        return CF_OK; /* the same value twice in one expr counts once */
    if (grow((void **)&n->uses, &n->capuses, n->nuses, sizeof(cf_id)))
        return cf_error_nomem("Fusion");
    n->uses[n->nuses++] = e;
    return CF_OK;
}

cf_status cf_ir_new_expr(cf_fusion *f, cf_opcode op, int nin, const cf_id *in, int nout,
                         const cf_id *out, const cf_expr_attrs *attrs, cf_id *expr)
{
    cf_expr_node *e;
    cf_id id;
    int i;
    if (grow((void **)&f->exprs, &f->capexprs, f->nexprs, sizeof(cf_expr_node))) {
        if (attrs)
            cf_free((void *)attrs->ints);
        return cf_error_nomem(cf_op_name(op));
    }
    id = f->nexprs;
    e = &f->exprs[f->nexprs++];
    memset(e, 0, sizeof *e);
    e->op = op;
    e->nin = (int8_t)nin;
    e->nout = (int8_t)nout;
    for (i = 0; i < nin; i++)
        e->in[i] = in[i];
    for (i = 0; i < nout; i++) {
        e->out[i] = out[i];
        f->vals[out[i]].def = id;
    }
    if (attrs)
        e->attrs = *attrs;
    else
        e->attrs.dtype = CF_DTYPE_NULL;
    for (i = 0; i < nin; i++)
        if (add_use(f, in[i], id))
            return cf_error_nomem(cf_op_name(op)); /* caller rolls back */
    f->version++;
    if (expr)
        *expr = id;
    return CF_OK;
}

/* --- definitions ---------------------------------------------------------- */
cf_status cf_ir_new_int(cf_fusion *f, int64_t v, cf_id *out)
{
    cf_scalar s;
    s.dtype = CF_DTYPE_INT;
    s.v.i = v;
    return cf_ir_new_scalar(f, CF_DTYPE_INT, &s, out);
}

bool cf_ir_const_int(const cf_fusion *f, cf_id v, int64_t *out)
{
    cf_scalar s;
    if (!cf_val_constant(f, v, &s) || !(cf_dtype_is_integer(s.dtype) || cf_dtype_is_bool(s.dtype)))
        return false;
    *out = cf_dtype_is_bool(s.dtype) ? (int64_t)s.v.b : s.v.i;
    return true;
}

static cf_status check_dtype(cf_dtype dtype, const char *fn)
{
    if ((int)dtype < 0 || dtype >= CF_DTYPE_COUNT)
        return cf_error_set(CF_ERR_VALUE, fn, "%s(): invalid dtype value %d", fn, (int)dtype);
    if (!cf_dtype_is_supported(dtype))
        return cf_error_set(CF_ERR_UNSUPPORTED, fn, "%s(): dtype DataType.%s is not supported yet (supported: Float, Double, Half, BFloat16, Int, Int32, Bool)", fn, cf_dtype_pyname(dtype));
    return CF_OK;
}

cf_status cf_define_tensor(cf_fusion *f, int ndim, const int64_t *shape, const int8_t *contiguity,
                           cf_dtype dtype, const int64_t *stride_order, cf_id *out)
{
    cf_ir_mark m = cf_ir_mark_take(f);
    cf_id axes[CF_MAX_DIMS];
    cf_status st;
    int i;
    if ((st = check_dtype(dtype, "define_tensor")))
        return st;
    if (ndim < 0 || ndim > CF_MAX_DIMS)
        return cf_error_set(CF_ERR_VALUE, "define_tensor", "define_tensor(): argument 'shape' has %d dims; expected at most %d", ndim, CF_MAX_DIMS);
    for (i = 0; i < ndim; i++)
        if (shape[i] < -1)
            return cf_error_set(CF_ERR_VALUE, "define_tensor", "define_tensor(): argument 'shape': item %d is %lld; expected -1 (symbolic), 1 (broadcast) or a size >= 0", i, (long long)shape[i]);
    if (stride_order) {
        bool seen[CF_MAX_DIMS] = {false};
        for (i = 0; i < ndim; i++) {
            int64_t o = stride_order[i];
            if (o < 0 || o >= ndim || seen[o])
                return cf_error_set(CF_ERR_VALUE, "define_tensor", "define_tensor(): argument 'stride_order' must be a permutation of 0..%d; item %d is %lld", ndim - 1, i, (long long)o);
            seen[o] = true;
        }
    }
    for (i = 0; i < ndim; i++) {
        cf_id ext;
        bool bcast = shape[i] == 1;
        if (shape[i] == -1)
            st = cf_ir_new_scalar(f, CF_DTYPE_INT, NULL, &ext);
        else
            st = cf_ir_new_int(f, shape[i], &ext);
        if (!st)
            st = cf_ir_new_iter(f, ext, bcast ? CF_ITER_BROADCAST : CF_ITER_ITERATION, &axes[i]);
        if (st)
            goto fail;
    }
    if ((st = cf_ir_new_tensor(f, dtype, ndim, axes, out)))
        goto fail;
    {
        cf_val_node *v = &f->vals[*out];
        for (i = 0; i < ndim; i++) {
            if (v->contig[i] == -1)
                continue;
            v->contig[i] = contiguity ? contiguity[i] : 1;
        }
        if (stride_order) {
            v->has_stride_order = true;
            for (i = 0; i < ndim; i++)
                v->stride_order[i] = (int8_t)stride_order[i];
        }
    }
    if ((st = cf_fusion_add_input(f, *out)))
        goto fail;
    return CF_OK;
fail:
    cf_ir_rollback(f, &m);
    if (f->ninputs > 0 && f->inputs[f->ninputs - 1] >= f->nvals)
        f->ninputs--;
    return st;
}

static cf_status convert_scalar(cf_dtype dtype, const cf_scalar *in, cf_scalar *out)
{
    double d = 0;
    int64_t i = 0;
    bool isfloat = cf_dtype_is_float(in->dtype);
    if (isfloat)
        d = in->v.f;
    else if (cf_dtype_is_bool(in->dtype))
        i = in->v.b;
    else
        i = in->v.i;
    out->dtype = dtype;
    if (cf_dtype_is_float(dtype))
        out->v.f = isfloat ? d : (double)i;
    else if (cf_dtype_is_bool(dtype))
        out->v.b = isfloat ? d != 0 : i != 0;
    else {
        if (isfloat && !(d >= -9223372036854775808.0 && d < 9223372036854775808.0))
            return cf_error_set(CF_ERR_VALUE, "define_scalar", "define_scalar(): value %g does not fit in DataType.%s", d, cf_dtype_pyname(dtype));
        out->v.i = isfloat ? (int64_t)d : i;
        if (dtype == CF_DTYPE_INT32)
            out->v.i = (int32_t)(uint32_t)(uint64_t)out->v.i;
    }
    return CF_OK;
}

cf_status cf_define_scalar(cf_fusion *f, cf_dtype dtype, const cf_scalar *value, cf_id *out)
{
    cf_status st;
    cf_scalar conv;
    if ((st = check_dtype(dtype, "define_scalar")))
        return st;
    if (value) {
        if ((st = convert_scalar(dtype, value, &conv)))
            return st;
        return cf_ir_new_scalar(f, dtype, &conv, out);
    }
    {
        cf_ir_mark m = cf_ir_mark_take(f);
        if ((st = cf_ir_new_scalar(f, dtype, NULL, out)))
            return st;
        if ((st = cf_fusion_add_input(f, *out)))
            cf_ir_rollback(f, &m);
        return st;
    }
}

cf_status cf_fusion_constant(cf_fusion *f, const cf_scalar *value, cf_id *out)
{
    return cf_ir_new_scalar(f, value->dtype, value, out);
}

cf_status cf_ir_need_tensor(const cf_fusion *f, cf_id v, const char *op)
{
    if (!cf_fusion_has_val(f, v))
        return cf_error_set(CF_ERR_VALUE, op, "%s(): argument 'arg' is not a value of this fusion", op);
    if (f->vals[v].kind != CF_VAL_TENSOR)
        return cf_error_set(CF_ERR_TYPE, op, "%s(): argument 'arg' must be a TensorView, got a Scalar", op);
    return CF_OK;
}

/* --- reading --------------------------------------------------------------- */
cf_val_kind cf_val_kind_of(const cf_fusion *f, cf_id v) { return (cf_val_kind)f->vals[v].kind; }
cf_dtype cf_val_dtype(const cf_fusion *f, cf_id v) { return f->vals[v].dtype; }
cf_id cf_val_definition(const cf_fusion *f, cf_id v) { return f->vals[v].def; }
int cf_val_num_uses(const cf_fusion *f, cf_id v) { return f->vals[v].nuses; }

cf_id cf_val_use(const cf_fusion *f, cf_id v, int i)
{
    return (i >= 0 && i < f->vals[v].nuses) ? f->vals[v].uses[i] : CF_NO_ID;
}

bool cf_val_is_symbolic(const cf_fusion *f, cf_id v)
{
    return f->vals[v].kind == CF_VAL_TENSOR || !f->vals[v].is_const;
}

bool cf_val_constant(const cf_fusion *f, cf_id v, cf_scalar *out)
{
    const cf_val_node *n = &f->vals[v];
    if (n->kind != CF_VAL_SCALAR || !n->is_const)
        return false;
    if (out)
        *out = n->value;
    return true;
}

int cf_tensor_ndim(const cf_fusion *f, cf_id tv) { return f->vals[tv].ndim; }

int cf_ir_noreduction_axes(const cf_fusion *f, cf_id tv, cf_id *axes)
{
    const cf_val_node *v = &f->vals[tv];
    int i, n = 0;
    for (i = 0; i < v->ndim; i++)
        if (f->iters[v->axes[i]].type != CF_ITER_REDUCTION) {
            if (axes)
                axes[n] = v->axes[i];
            n++;
        }
    return n;
}

int cf_tensor_ndim_noreduction(const cf_fusion *f, cf_id tv) { return cf_ir_noreduction_axes(f, tv, NULL); }

cf_id cf_tensor_axis(const cf_fusion *f, cf_id tv, int i)
{
    const cf_val_node *v = &f->vals[tv];
    return (i >= 0 && i < v->ndim) ? v->axes[i] : CF_NO_ID;
}

int cf_tensor_contiguity(const cf_fusion *f, cf_id tv, int i) { return f->vals[tv].contig[i]; }

bool cf_tensor_stride_order(const cf_fusion *f, cf_id tv, int64_t *order)
{
    const cf_val_node *v = &f->vals[tv];
    int i;
    if (!v->has_stride_order)
        return false;
    for (i = 0; i < v->ndim; i++)
        order[i] = v->stride_order[i];
    return true;
}

cf_status cf_tensor_set_cpu_scalar(cf_fusion *f, cf_id tv)
{
    if (!cf_fusion_has_val(f, tv) || f->vals[tv].kind != CF_VAL_TENSOR || !cf_fusion_is_input(f, tv))
        return cf_error_set(CF_ERR_VALUE, "define_tensor", "define_tensor(): is_cpu=True needs a tensor input of the fusion");
    if (f->vals[tv].ndim != 0)
        return cf_error_set(CF_ERR_VALUE, "define_tensor", "define_tensor(): is_cpu=True is for 0-dim tensors (shape=[]); CPU non-scalar tensors are not supported next to CUDA ones (a fusion of CPU tensors needs no is_cpu)");
    f->vals[tv].cpu_scalar = true;
    f->version++;
    return CF_OK;
}

bool cf_tensor_is_cpu_scalar(const cf_fusion *f, cf_id tv)
{
    return cf_fusion_has_val(f, tv) && f->vals[tv].kind == CF_VAL_TENSOR && f->vals[tv].cpu_scalar;
}

cf_id cf_iterdomain_extent(const cf_fusion *f, cf_id id) { return f->iters[id].extent; }
cf_iter_type cf_iterdomain_type(const cf_fusion *f, cf_id id) { return (cf_iter_type)f->iters[id].type; }

cf_opcode cf_expr_op(const cf_fusion *f, cf_id e) { return f->exprs[e].op; }
int cf_expr_num_inputs(const cf_fusion *f, cf_id e) { return f->exprs[e].nin; }
int cf_expr_num_outputs(const cf_fusion *f, cf_id e) { return f->exprs[e].nout; }

cf_id cf_expr_input(const cf_fusion *f, cf_id e, int i)
{
    return (i >= 0 && i < f->exprs[e].nin) ? f->exprs[e].in[i] : CF_NO_ID;
}

cf_id cf_expr_output(const cf_fusion *f, cf_id e, int i)
{
    return (i >= 0 && i < f->exprs[e].nout) ? f->exprs[e].out[i] : CF_NO_ID;
}

void cf_expr_get_attrs(const cf_fusion *f, cf_id e, cf_expr_attrs *out) { *out = f->exprs[e].attrs; }

cf_fusion_mark cf_fusion_mark_take(const cf_fusion *f)
{
    cf_fusion_mark m = {f->nvals, f->nexprs, f->niters, f->tv_count, f->scalar_count, f->iter_count};
    return m;
}

void cf_fusion_rollback(cf_fusion *f, const cf_fusion_mark *pm)
{
    cf_ir_mark m = {pm->nvals, pm->nexprs, pm->niters, pm->c0, pm->c1, pm->c2};
    int i, k;
    if (pm->nvals > f->nvals || pm->nexprs > f->nexprs || pm->niters > f->niters)
        return;
    /* Inputs and outputs marked since (by code that ran while the op was
     * being built) go with the values they name. */
    for (i = 0, k = 0; i < f->ninputs; i++)
        if (f->inputs[i] < pm->nvals)
            f->inputs[k++] = f->inputs[i];
    f->ninputs = k;
    for (i = 0, k = 0; i < f->noutputs; i++)
        if (f->outputs[i] < pm->nvals && (f->omarks[i].alias_input < 0 || f->omarks[i].alias_input < f->ninputs)) {
            f->omarks[k] = f->omarks[i];
            f->outputs[k++] = f->outputs[i];
        }
    f->noutputs = k;
    cf_ir_rollback(f, &m);
    f->version++;
}
