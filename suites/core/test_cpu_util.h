/* test_cpu_util.h - building cf_programs by hand for the CPU executor
 * suites, with storage helpers and a deterministic random source. */
#ifndef CFUSER_TEST_CPU_UTIL_H
#define CFUSER_TEST_CPU_UTIL_H

#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "cfuser/dtype.h"
#include "cfuser/program.h"

#define TP_MAX 64

typedef struct tprog {
    cf_program p;
    cf_prog_slot slots[TP_MAX];
    cf_prog_instr instrs[TP_MAX];
    cf_slot_value vals[TP_MAX];
    void *owned[TP_MAX];
    int32_t ins[TP_MAX], outs[TP_MAX];
} tprog;

static inline void tp_init(tprog *t)
{
    memset(t, 0, sizeof *t);
    t->p.slots = t->slots;
    t->p.instrs = t->instrs;
    t->p.inputs = t->ins;
    t->p.outputs = t->outs;
}

static inline void tp_free(tprog *t)
{
    if (t->p.cpu_cache_free)
        t->p.cpu_cache_free(t->p.cpu_cache);
    t->p.cpu_cache = NULL;
    t->p.cpu_cache_free = NULL;
    for (int i = 0; i < TP_MAX; i++) free(t->owned[i]);
}

static inline int64_t tp_numel(int nd, const int64_t *sh)
{
    int64_t n = 1;
    for (int d = 0; d < nd; d++) n *= sh[d];
    return n;
}

/* A tensor slot; INPUT and OUTPUT slots get contiguous zeroed storage. */
static inline int tp_tensor(tprog *t, int role, cf_dtype dt, int nd, const int64_t *sh)
{
    int s = t->p.nslots++;
    cf_prog_slot *sl = &t->slots[s];
    cf_slot_value *v = &t->vals[s];
    sl->dtype = dt;
    sl->ndim = (uint8_t)nd;
    sl->role = (uint8_t)role;
    sl->io_index = -1;
    int64_t st = 1;
    for (int d = nd - 1; d >= 0; d--) {
        v->shape[d] = sh[d];
        v->strides[d] = st;
        st *= sh[d] > 0 ? sh[d] : 1;
    }
    if (role == CF_SLOT_INPUT || role == CF_SLOT_OUTPUT) {
        size_t bytes = (size_t)tp_numel(nd, sh) * cf_dtype_size(dt) + 16;
        t->owned[s] = calloc(1, bytes);
        v->data = t->owned[s];
        if (role == CF_SLOT_INPUT) {
            sl->io_index = t->p.ninputs;
            t->ins[t->p.ninputs++] = s;
        } else {
            sl->io_index = t->p.noutputs;
            t->outs[t->p.noutputs++] = s;
        }
    }
    return s;
}

static inline int tp_in(tprog *t, cf_dtype dt, int nd, const int64_t *sh)
{
    return tp_tensor(t, CF_SLOT_INPUT, dt, nd, sh);
}
static inline int tp_out(tprog *t, cf_dtype dt, int nd, const int64_t *sh)
{
    return tp_tensor(t, CF_SLOT_OUTPUT, dt, nd, sh);
}
static inline int tp_tmp(tprog *t, cf_dtype dt, int nd, const int64_t *sh)
{
    return tp_tensor(t, CF_SLOT_TEMP, dt, nd, sh);
}

static inline int tp_constf(tprog *t, cf_dtype dt, double v)
{
    int s = tp_tensor(t, CF_SLOT_CONST, dt, 0, NULL);
    t->slots[s].value.dtype = dt;
    t->slots[s].value.v.f = v;
    t->vals[s].scalar = t->slots[s].value;
    return s;
}

static inline int tp_consti(tprog *t, cf_dtype dt, int64_t v)
{
    int s = tp_tensor(t, CF_SLOT_CONST, dt, 0, NULL);
    t->slots[s].value.dtype = dt;
    if (dt == CF_DTYPE_BOOL)
        t->slots[s].value.v.b = v != 0;
    else
        t->slots[s].value.v.i = v;
    t->vals[s].scalar = t->slots[s].value;
    return s;
}

static inline cf_prog_instr *tp_op(tprog *t, cf_opcode op, cf_dtype cdt, int nin,
                                   const int *in, int out)
{
    cf_prog_instr *ins = &t->instrs[t->p.ninstrs++];
    memset(ins, 0, sizeof *ins);
    ins->op = op;
    ins->cdtype = cdt;
    ins->nin = (int8_t)nin;
    ins->nout = 1;
    for (int j = 0; j < nin; j++) ins->in[j] = in[j];
    ins->out[0] = out;
    return ins;
}

static inline cf_prog_instr *tp_op1(tprog *t, cf_opcode op, cf_dtype cdt, int a, int out)
{
    int in[1] = {a};
    return tp_op(t, op, cdt, 1, in, out);
}
static inline cf_prog_instr *tp_op2(tprog *t, cf_opcode op, cf_dtype cdt, int a, int b, int out)
{
    int in[2] = {a, b};
    return tp_op(t, op, cdt, 2, in, out);
}

static inline cf_prog_instr *tp_reduce(tprog *t, cf_opcode op, cf_dtype cdt, int a,
                                       uint32_t axes, int out)
{
    cf_prog_instr *ins = tp_op1(t, op, cdt, a, out);
    ins->axes = axes;
    return ins;
}

static inline cf_prog_instr *tp_view(tprog *t, int a, int out, const int8_t *map)
{
    cf_prog_instr *ins = tp_op1(t, CF_OP_VIEW, t->slots[a].dtype, a, out);
    for (int d = 0; d < t->slots[out].ndim; d++) ins->map[d] = map[d];
    return ins;
}

/* Deterministic xorshift random numbers. */
static inline uint64_t tp_rand(uint64_t *s)
{
    *s ^= *s << 13;
    *s ^= *s >> 7;
    *s ^= *s << 17;
    return *s;
}
static inline double tp_uniform(uint64_t *s, double lo, double hi)
{
    return lo + (hi - lo) * (double)(tp_rand(s) >> 11) * (1.0 / 9007199254740992.0);
}

/* Element i of storage (dtype) as double / written from double. */
static inline double tp_get(cf_dtype dt, const void *p, int64_t i)
{
    switch (dt) {
    case CF_DTYPE_DOUBLE: return ((const double *)p)[i];
    case CF_DTYPE_FLOAT: return ((const float *)p)[i];
    case CF_DTYPE_HALF: return cf_half_to_float(((const uint16_t *)p)[i]);
    case CF_DTYPE_BFLOAT16: return cf_bf16_to_float(((const uint16_t *)p)[i]);
    case CF_DTYPE_INT: return (double)((const int64_t *)p)[i];
    case CF_DTYPE_INT32: return ((const int32_t *)p)[i];
    default: return ((const uint8_t *)p)[i];
    }
}

static inline int64_t tp_geti(cf_dtype dt, const void *p, int64_t i)
{
    switch (dt) {
    case CF_DTYPE_INT: return ((const int64_t *)p)[i];
    case CF_DTYPE_INT32: return ((const int32_t *)p)[i];
    case CF_DTYPE_BOOL: return ((const uint8_t *)p)[i];
    default: return (int64_t)tp_get(dt, p, i);
    }
}

static inline void tp_set(cf_dtype dt, void *p, int64_t i, double v)
{
    switch (dt) {
    case CF_DTYPE_DOUBLE: ((double *)p)[i] = v; break;
    case CF_DTYPE_FLOAT: ((float *)p)[i] = (float)v; break;
    case CF_DTYPE_HALF: ((uint16_t *)p)[i] = cf_float_to_half((float)v); break;
    case CF_DTYPE_BFLOAT16: ((uint16_t *)p)[i] = cf_float_to_bf16((float)v); break;
    case CF_DTYPE_INT: ((int64_t *)p)[i] = (int64_t)v; break;
    case CF_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    default: ((uint8_t *)p)[i] = v != 0; break;
    }
}

static inline void tp_seti(cf_dtype dt, void *p, int64_t i, int64_t v)
{
    switch (dt) {
    case CF_DTYPE_INT: ((int64_t *)p)[i] = v; break;
    case CF_DTYPE_INT32: ((int32_t *)p)[i] = (int32_t)v; break;
    case CF_DTYPE_BOOL: ((uint8_t *)p)[i] = v != 0; break;
    default: tp_set(dt, p, i, (double)v); break;
    }
}

/* Relative tolerance of a dtype's storage. */
static inline double tp_tol(cf_dtype dt)
{
    switch (dt) {
    case CF_DTYPE_DOUBLE: return 1e-12;
    case CF_DTYPE_FLOAT: return 4e-6;
    case CF_DTYPE_HALF: return 2e-3;
    case CF_DTYPE_BFLOAT16: return 1.6e-2;
    default: return 0;
    }
}

/* Same value within tolerance, NaN matching NaN and infinities exact. */
static inline int tp_close(double got, double want, double rtol, double atol)
{
    if (isnan(want))
        return isnan(got);
    if (isinf(want))
        return got == want;
    return fabs(got - want) <= atol + rtol * fabs(want);
}

#endif
