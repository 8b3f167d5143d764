/* cpu/shapeops.c - COPY (reshape of a strided tensor, or a view given its
 * own memory) and IOTA. */
#include <string.h>

#include "cpu/cpu.h"

typedef struct copy_ctx {
    const cf_ndview *src, *dst;
    int64_t numel;
} copy_ctx;

static void copy_task(void *vctx, int tid, int64_t begin, int64_t end)
{
    const copy_ctx *c = vctx;
    int64_t buf[CF_CPU_BLOCK];
    size_t esz = cf_dtype_size(c->dst->dtype);
    int dense = cf_ndview_dense(c->src) && cf_ndview_dense(c->dst) &&
                c->src->dtype == c->dst->dtype;
    for (int64_t it = begin; it < end; it++) {
        int64_t s = it * CF_CPU_BLOCK;
        int64_t n = c->numel - s < CF_CPU_BLOCK ? c->numel - s : CF_CPU_BLOCK;
        if (dense) {
            memcpy(c->dst->data + s * (int64_t)esz, c->src->data + s * (int64_t)esz,
                   (size_t)n * esz);
            continue;
        }
        cf_nd_gather(c->src, s, n, c->dst->dtype, buf);
        cf_nd_scatter(c->dst, s, n, c->dst->dtype, buf);
    }
}

cf_status cf_copy_nd(const cf_ndview *src, const cf_ndview *dst, int64_t numel,
                     int nthreads)
{
    copy_ctx c = {src, dst, numel};
    int64_t items = (numel + CF_CPU_BLOCK - 1) / CF_CPU_BLOCK;
    cf_parallel(cf_cpu_pick_threads(nthreads, items, numel), items, copy_task, &c);
    return CF_OK;
}

typedef struct iota_ctx {
    const cf_ndview *dst;
    int64_t n;
    int is_float;
    double fstart, fstep;
    uint64_t istart, istep;
} iota_ctx;

static void iota_task(void *vctx, int tid, int64_t begin, int64_t end)
{
    const iota_ctx *c = vctx;
    union {
        double d[CF_CPU_BLOCK];
        int64_t i[CF_CPU_BLOCK];
    } buf;
    for (int64_t it = begin; it < end; it++) {
        int64_t s = it * CF_CPU_BLOCK;
        int64_t n = c->n - s < CF_CPU_BLOCK ? c->n - s : CF_CPU_BLOCK;
        if (c->is_float) {
            for (int64_t j = 0; j < n; j++) buf.d[j] = c->fstart + (double)(s + j) * c->fstep;
            cf_nd_scatter(c->dst, s, n, CF_DTYPE_DOUBLE, buf.d);
        } else {
            /* Integer iota wraps like every other integer arithmetic. */
            for (int64_t j = 0; j < n; j++)
                buf.i[j] = (int64_t)(c->istart + (uint64_t)(s + j) * c->istep);
            cf_nd_scatter(c->dst, s, n, CF_DTYPE_INT, buf.i);
        }
    }
}

static double scalar_double(const cf_scalar *s)
{
    if (cf_dtype_is_float(s->dtype))
        return s->v.f;
    return s->dtype == CF_DTYPE_BOOL ? (double)s->v.b : (double)s->v.i;
}

static int64_t scalar_int(const cf_scalar *s)
{
    int64_t v;
    double d;
    if (!cf_dtype_is_float(s->dtype))
        return s->dtype == CF_DTYPE_BOOL ? (int64_t)s->v.b : s->v.i;
    d = s->v.f;
    cf_cvt_load(CF_DTYPE_DOUBLE, &d, 1, 1, CF_DTYPE_INT, &v);
    return v;
}

cf_status cf_iota(const cf_ndview *dst, int64_t n, const cf_scalar *start,
                  const cf_scalar *step, int nthreads)
{
    iota_ctx c;
    int64_t items = (n + CF_CPU_BLOCK - 1) / CF_CPU_BLOCK;
    memset(&c, 0, sizeof c);
    c.dst = dst;
    c.n = n;
    c.is_float = cf_dtype_is_float(dst->dtype);
    c.fstart = scalar_double(start);
    c.fstep = scalar_double(step);
    c.istart = (uint64_t)scalar_int(start);
    c.istep = (uint64_t)scalar_int(step);
    cf_parallel(cf_cpu_pick_threads(nthreads, items, n), items, iota_task, &c);
    return CF_OK;
}
