/* program_dump.c - a lowered program as text (cf_program_dump): its slots
 * and its instructions, as the executors receive them. */
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "cfuser/program.h"

typedef struct text { char *p; size_t n, cap; bool fail; } text;

static void put(text *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void put(text *t, const char *fmt, ...)
{
    va_list ap;
    int need;
    if (t->fail)
        return;
    va_start(ap, fmt);
    need = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (need < 0) {
        t->fail = true;
        return;
    }
    if (t->n + (size_t)need + 1 > t->cap) {
        size_t cap = t->cap ? t->cap : 512;
        char *q;
        while (cap < t->n + (size_t)need + 1)
            cap *= 2;
        if (!(q = cf_realloc(t->p, cap))) {
            t->fail = true;
            return;
        }
        t->p = q;
        t->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(t->p + t->n, t->cap - t->n, fmt, ap);
    va_end(ap);
    t->n += (size_t)need;
}

static const char *role_name(int role)
{
    static const char *const names[] = {"input", "output", "temp", "const", "scalar"};
    return role >= 0 && role < 5 ? names[role] : "?";
}

static void put_slot(text *t, const cf_program *p, int s)
{
    const cf_prog_slot *sl = &p->slots[s];
    put(t, "  s%d: %s %s", s, role_name(sl->role), cf_dtype_name(sl->dtype) ? cf_dtype_name(sl->dtype) : "?");
    if (sl->ndim)
        put(t, " rank %d", sl->ndim);
    if (sl->bcast_mask)
        put(t, " broadcast 0x%x", (unsigned)sl->bcast_mask);
    if (sl->io_index >= 0)
        put(t, " #%d", sl->io_index);
    if (sl->role == CF_SLOT_CONST) {
        if (cf_dtype_is_float(sl->value.dtype))
            put(t, " = %.17g", sl->value.v.f);
        else if (cf_dtype_is_bool(sl->value.dtype))
            put(t, " = %s", sl->value.v.b ? "true" : "false");
        else
            put(t, " = %" PRId64, sl->value.v.i);
    }
    put(t, "\n");
}

static void put_instr(text *t, const cf_prog_instr *in)
{
    int i;
    put(t, "  ");
    for (i = 0; i < in->nout; i++)
        put(t, "%ss%d", i ? ", " : "", (int)in->out[i]);
    put(t, " = %s(", cf_op_name(in->op) ? cf_op_name(in->op) : "?");
    for (i = 0; i < in->nin; i++)
        put(t, "%ss%d", i ? ", " : "", (int)in->in[i]);
    put(t, ") in %s", cf_dtype_name(in->cdtype) ? cf_dtype_name(in->cdtype) : "?");
    if (in->axes)
        put(t, " axes 0x%x", (unsigned)in->axes);
    if (in->op == CF_OP_VAR || in->op == CF_OP_VAR_MEAN)
        put(t, " correction %" PRId64, in->correction);
    if (in->op == CF_OP_VIEW) {
        put(t, " map [");
        for (i = 0; i < CF_MAX_DIMS; i++)
            put(t, "%s%d", i ? ", " : "", (int)in->map[i]);
        put(t, "]");
    }
    put(t, "\n");
}

char *cf_program_dump(const cf_program *p)
{
    text t = {0};
    int i;
    put(&t, "program: %d slots, %d instructions, inputs", p->nslots, p->ninstrs);
    for (i = 0; i < p->ninputs; i++)
        put(&t, " s%d", (int)p->inputs[i]);
    put(&t, ", outputs");
    for (i = 0; i < p->noutputs; i++)
        put(&t, " s%d", (int)p->outputs[i]);
    put(&t, "\nslots:\n");
    for (i = 0; i < p->nslots; i++)
        put_slot(&t, p, i);
    put(&t, "instructions:\n");
    for (i = 0; i < p->ninstrs; i++)
        put_instr(&t, &p->instrs[i]);
    if (t.fail) {
        cf_free(t.p);
        return NULL;
    }
    return t.p;
}
