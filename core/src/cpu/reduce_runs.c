/* cpu/reduce_runs.c - reductions over several axes whose innermost reduced
 * axes are dense runs with kept axes outside them and reduced axes outside
 * those again: NCHW images reduced over N, H, W (batch statistics), or
 * (G, C/G, H, W) groups. Each run (an image plane) belongs to one output.
 *
 * The per-output row schedule of reduce.c visits an output's runs one after
 * another, a plane stride apart: short runs far apart, which the hardware
 * prefetcher follows badly. Here the runs are visited in memory order, the
 * order numpy's reduction reads them: the run index space is cut into
 * parts by shape alone (so any thread count adds the same partial sums in
 * the same order), each part accumulates into its own array of per-output
 * states, and the parts are combined in order at the end. VAR takes a
 * second pass over the runs with the means.
 */
#include <math.h>
#include <string.h>

#include "cfuser/alloc.h"
#include "cpu/cpu.h"

#define RUNS_MIN_LEN 64          /* a shorter run costs more in calls than it reads */
#define RUNS_MAX_OUTPUTS 65536   /* per-part state arrays stay in cache */
#define RUNS_MAX_PARTS 16
#define RUNS_PER_PART 64

typedef struct runs_ctx {
    const cf_red_args *a;
    cf_rep r;
    int nd;                       /* dims of the run index space, memory order */
    int64_t sh[CF_MAX_DIMS];
    int64_t st[CF_MAX_DIMS];      /* element strides of the input               */
    int64_t kst[CF_MAX_DIMS];     /* strides of the output index (0: reduced)   */
    int64_t run, nruns, kcount, rcount;
    int64_t nparts;
    cf_acc *acc;                  /* [nparts][kcount]                           */
    double *sq;                   /* [nparts][kcount], VAR's second pass        */
    const double *mean;           /* [kcount], VAR's second pass                */
    cf_opcode op;
    int pass;
} runs_ctx;

static void runs_task(void *vctx, int tid, int64_t begin, int64_t end)
{
    const runs_ctx *c = vctx;
    const cf_red_args *a = c->a;
    size_t es = cf_dtype_size(a->dtype);
    (void)tid;
    for (int64_t p = begin; p < end; p++) {
        int64_t r0 = c->nruns * p / c->nparts, r1 = c->nruns * (p + 1) / c->nparts;
        cf_acc *acc = c->acc + p * c->kcount;
        double *sq = c->sq ? c->sq + p * c->kcount : NULL;
        for (int64_t r = r0; r < r1; r++) {
            int64_t rest = r, off = 0, k = 0;
            for (int d = c->nd - 1; d >= 0; d--) {
                int64_t i = rest % c->sh[d];
                rest /= c->sh[d];
                off += i * c->st[d];
                k += i * c->kst[d];
            }
            const char *x = a->data + off * (int64_t)es;
            if (c->pass == 0)
                a->k->rowred[c->r](c->op, c->run, x, &acc[k]);
            else
                a->k->rowsq[c->r](c->run, x, c->mean[k], &sq[k]);
        }
    }
}

/* Store n values (double) of output j. */
static void store_doubles(const cf_red_args *a, int j, const double *v, int64_t n, void *buf)
{
    cf_cvt_load(CF_DTYPE_DOUBLE, v, 1, n, a->cdt, buf);
    cf_nd_scatter(&a->out[j], 0, n, a->cdt, buf);
}

/* Can the runs schedule take a? Fills c's index space when it can. */
static int runs_plan(const cf_red_args *a, runs_ctx *c)
{
    int dims[CF_MAX_DIMS], n = 0;
    if (a->dtype != a->cdt || !cf_dtype_is_native(a->dtype))
        return 0;
    for (int d = 0; d < a->ndim; d++)
        if (a->shape[d] != 1)
            dims[n++] = d;
    /* memory order: largest stride first */
    for (int i = 1; i < n; i++)
        for (int j = i; j > 0 && a->strides[dims[j - 1]] < a->strides[dims[j]]; j--) {
            int t = dims[j];
            dims[j] = dims[j - 1];
            dims[j - 1] = t;
        }
    int64_t run = 1;
    while (n > 0 && (a->axes >> dims[n - 1] & 1) && a->strides[dims[n - 1]] == run)
        run *= a->shape[dims[--n]];
    if (run < RUNS_MIN_LEN || n == 0)
        return 0;
    /* a reduced axis outside a kept one: otherwise an output's runs are
     * adjacent and the row schedule already reads in memory order */
    int seen_red = 0, interleaved = 0;
    for (int i = 0; i < n; i++) {
        if (a->axes >> dims[i] & 1)
            seen_red = 1;
        else if (seen_red)
            interleaved = 1;
    }
    if (!interleaved)
        return 0;
    memset(c, 0, sizeof *c);
    c->a = a;
    c->r = cf_rep_of(a->cdt);
    c->run = run;
    c->nd = n;
    c->nruns = 1;
    c->kcount = 1;
    for (int d = a->ndim - 1; d >= 0; d--) {
        if (a->axes >> d & 1)
            continue;
        for (int i = 0; i < n; i++)
            if (dims[i] == d)
                c->kst[i] = c->kcount;
        c->kcount *= a->shape[d];
    }
    for (int i = 0; i < n; i++) {
        c->sh[i] = a->shape[dims[i]];
        c->st[i] = a->strides[dims[i]];
        c->nruns *= c->sh[i];
    }
    if (c->kcount > RUNS_MAX_OUTPUTS || c->kcount == 0)
        return 0;
    c->rcount = c->nruns / c->kcount * run;
    c->nparts = c->nruns / RUNS_PER_PART;
    c->nparts = c->nparts < 1 ? 1 : c->nparts > RUNS_MAX_PARTS ? RUNS_MAX_PARTS : c->nparts;
    return 1;
}

cf_status cf_reduce_runs(const cf_red_args *a, int *handled)
{
    runs_ctx c;
    *handled = 0;
    if (!runs_plan(a, &c))
        return CF_OK;
    int is_var = a->op == CF_OP_VAR || a->op == CF_OP_VAR_MEAN;
    size_t n = (size_t)(c.nparts * c.kcount);
    /* the states, then VAR's squares and means, then a conversion buffer */
    size_t bytes = n * sizeof(cf_acc) + (is_var ? (n + 2 * (size_t)c.kcount) * sizeof(double) : 0) +
                   (size_t)c.kcount * 8;
    char *mem = cf_malloc_aligned(bytes);
    if (!mem)
        return cf_error_nomem("cpu_execute");
    c.acc = (cf_acc *)mem;
    double *means = NULL, *buf2 = NULL;
    void *buf = mem + n * sizeof(cf_acc);
    if (is_var) {
        c.sq = (double *)buf;
        means = c.sq + n;
        buf2 = means + c.kcount;
        buf = buf2 + c.kcount;
    }
    c.op = is_var ? CF_OP_SUM : a->op;
    cf_acc id = cf_red_identity(c.op, a->cdt, a->out[0].dtype);
    for (size_t i = 0; i < n; i++) c.acc[i] = id;
    int nt = cf_cpu_pick_threads(a->nthreads, c.nparts, c.nruns * c.run);
    cf_parallel(nt, c.nparts, runs_task, &c);
    for (int64_t p = 1; p < c.nparts; p++)
        for (int64_t k = 0; k < c.kcount; k++)
            c.acc[k] = cf_red_combine(c.op, c.r, c.acc[k], c.acc[p * c.kcount + k]);
    if (!is_var) {
        /* In place: element k of the rep is no larger than acc[k]. */
        for (int64_t k = 0; k < c.kcount; k++)
            cf_acc_to_rep(c.acc[k], c.r, (char *)c.acc + k * (int64_t)cf_rep_size(c.r));
        cf_nd_scatter(&a->out[0], 0, c.kcount, a->cdt, c.acc);
        cf_free_aligned(mem);
        return (*handled = 1, CF_OK);
    }
    for (int64_t k = 0; k < c.kcount; k++)
        means[k] = (c.r == CF_REP_I64 ? (double)c.acc[k].i : c.acc[k].d) / (double)c.rcount;
    memset(c.sq, 0, n * sizeof(double));
    c.mean = means;
    c.pass = 1;
    cf_parallel(nt, c.nparts, runs_task, &c);
    for (int64_t k = 0; k < c.kcount; k++) {
        double s = 0;
        for (int64_t p = 0; p < c.nparts; p++) s += c.sq[p * c.kcount + k];
        buf2[k] = cf_var_finish(s, c.rcount, a->correction);
    }
    store_doubles(a, 0, buf2, c.kcount, buf);
    if (a->nout > 1)
        store_doubles(a, 1, means, c.kcount, buf);
    cf_free_aligned(mem);
    *handled = 1;
    return CF_OK;
}
