/* gpu_indexing.h - gpu_test's cases of the indexing instructions (GATHER
 * fused into pointwise kernels, SCATTER in kernels of its own), included
 * by gpu_test.c: each against the CPU executor on the same data, every
 * value dtype, Int and Int32 indices, odd sizes, a strided source; then an
 * index out of range, which must fail the run with CF_ERR_INDEX. */

/* Index values in [0, ext). */
static void fill_index(tprog *t, int s, int64_t ext)
{
    int64_t n = storage_elems(t, s);
    for (int64_t i = 0; i < n; i++)
        tp_seti(t->slots[s].dtype, t->vals[s].data, i, ext > 0 ? (int64_t)(tp_rand(&rng) % (uint64_t)ext) : 0);
}

/* A view of index slot x (rank 1) at rank 2: axis `at` is x's, the other
 * a broadcast axis of size 1. */
static int index_view(tprog *t, int x, int at)
{
    int64_t n = t->vals[x].shape[0], sh[2] = {at == 0 ? n : 1, at == 1 ? n : 1};
    int v = tp_tmp(t, t->slots[x].dtype, 2, sh);
    int8_t map[2] = {(int8_t)(at == 0 ? 0 : -1), (int8_t)(at == 1 ? 0 : -1)};
    t->slots[v].bcast_mask = 1u << (1 - at);
    tp_view(t, x, v, map);
    return v;
}

static cf_prog_instr *gather_instr(tprog *t, int src, int idx, int out, int m0, int m1, int dim, int le)
{
    int in[2] = {src, idx};
    cf_prog_instr *g = tp_op(t, CF_OP_GATHER, cf_dtype_compute(t->slots[src].dtype), 2, in, out);
    g->map[0] = (int8_t)m0;
    g->map[1] = (int8_t)m1;
    g->correction = dim;
    g->axes = (uint32_t)le;
    return g;
}

/* (x + y) computed in one kernel, index_select of it along dim and
 * * 2 after it in the next; the index Int or Int32. */
static void index_select_case(cf_dtype dt, cf_dtype it, int64_t r, int64_t c, int64_t k, int dim, bool strided)
{
    tprog t;
    tp_init(&t);
    int64_t sh[2] = {r, c}, ksh[1] = {k}, osh[2] = {dim == 0 ? k : r, dim == 0 ? c : k};
    int x = tp_in(&t, dt, 2, sh), y = tp_in(&t, dt, 2, sh), i = tp_in(&t, it, 1, ksh);
    fill(&t, x, -3, 3);
    fill(&t, y, -3, 3);
    fill_index(&t, i, sh[dim]);
    if (strided && r > 1)
        transpose_layout(&t, x);
    cf_dtype cdt = cf_dtype_compute(dt);
    int a = tp_tmp(&t, dt, 2, sh), g = tp_tmp(&t, dt, 2, osh), o = tp_out(&t, dt, 2, osh), o2 = tp_out(&t, dt, 2, osh);
    int two = dt == CF_DTYPE_BOOL ? tp_consti(&t, CF_DTYPE_BOOL, 1) : cf_dtype_is_integer(dt) ? tp_consti(&t, dt, 2)
                                                                                                : tp_constf(&t, dt, 2.0);
    tp_op2(&t, dt == CF_DTYPE_BOOL ? CF_OP_LOGICAL_OR : CF_OP_ADD, cdt, x, y, a);
    int v = index_view(&t, i, dim);
    gather_instr(&t, a, v, g, dim == 0 ? -1 : 0, dim == 0 ? 1 : -1, dim, 0);
    tp_op2(&t, dt == CF_DTYPE_BOOL ? CF_OP_LOGICAL_AND : CF_OP_MUL, cdt, g, two, o);
    tp_op1(&t, CF_OP_SET, cdt, g, o2);
    outname[o] = "index_select * 2";
    outname[o2] = "index_select";
    char name[128];
    snprintf(name, sizeof name, "index_select %s[%s] %lldx%lld k%lld dim%d%s", cf_dtype_pyname(dt), cf_dtype_pyname(it),
             (long long)r, (long long)c, (long long)k, dim, strided ? " strided" : "");
    run_case(&t, name, 1);
    tp_free(&t);
}

/* embedding_fwd: rows of w at i, then a cast to Float and a square. */
static void embedding_case(cf_dtype dt, cf_dtype it, int64_t n, int64_t rows, int64_t h)
{
    tprog t;
    tp_init(&t);
    int64_t nsh[1] = {n}, wsh[2] = {rows, h}, osh[2] = {n, h};
    int i = tp_in(&t, it, 1, nsh), w = tp_in(&t, dt, 2, wsh);
    fill_index(&t, i, rows);
    fill(&t, w, -2, 2);
    int g = tp_out(&t, dt, 2, osh), f = tp_tmp(&t, CF_DTYPE_FLOAT, 2, osh), o = tp_out(&t, CF_DTYPE_FLOAT, 2, osh);
    int v = index_view(&t, i, 0);
    gather_instr(&t, w, v, g, -1, 1, 0, 0);
    tp_op1(&t, CF_OP_CAST, CF_DTYPE_FLOAT, g, f);
    tp_op2(&t, CF_OP_MUL, CF_DTYPE_FLOAT, f, f, o);
    outname[g] = "embedding";
    outname[o] = "embedding^2";
    char name[128];
    snprintf(name, sizeof name, "embedding_fwd %s[%s] n%lld %lldx%lld", cf_dtype_pyname(dt), cf_dtype_pyname(it),
             (long long)n, (long long)rows, (long long)h);
    run_case(&t, name, 1);
    tp_free(&t);
}

/* gather (le: the index shorter than the source off dim) or
 * take_along_axis along dim, then neg. */
static void gather_case(cf_dtype dt, cf_dtype it, int64_t r, int64_t c, int64_t ir, int64_t ic, int dim, bool le)
{
    tprog t;
    tp_init(&t);
    int64_t sh[2] = {r, c}, ish[2] = {ir, ic};
    int x = tp_in(&t, dt, 2, sh), i = tp_in(&t, it, 2, ish);
    fill(&t, x, -3, 3);
    fill_index(&t, i, sh[dim]);
    int g = tp_out(&t, dt, 2, ish), o = tp_out(&t, dt, 2, ish);
    gather_instr(&t, x, i, g, dim == 0 ? -1 : 0, dim == 0 ? 1 : -1, dim, le);
    tp_op1(&t, dt == CF_DTYPE_BOOL ? CF_OP_LOGICAL_NOT : CF_OP_NEG, cf_dtype_compute(dt), g, o);
    outname[g] = le ? "gather" : "take_along_axis";
    char name[128];
    snprintf(name, sizeof name, "%s %s[%s] %lldx%lld idx %lldx%lld dim%d", le ? "gather" : "take_along_axis",
             cf_dtype_pyname(dt), cf_dtype_pyname(it), (long long)r, (long long)c, (long long)ir, (long long)ic, dim);
    run_case(&t, name, 1);
    tp_free(&t);
}

/* scatter along dim 0 at distinct rows per column (a shuffled column of
 * positions), src a tensor or a constant; abs after it. */
static void scatter_case(cf_dtype dt, cf_dtype it, int64_t r, int64_t c, int64_t k, bool scalar_src)
{
    tprog t;
    tp_init(&t);
    int64_t sh[2] = {r, c}, ish[2] = {k, c};
    int x = tp_in(&t, dt, 2, sh), i = tp_in(&t, it, 2, ish);
    int s = scalar_src ? (cf_dtype_is_float(dt) ? tp_constf(&t, dt, -1.5) : tp_consti(&t, dt, 1)) : tp_in(&t, dt, 2, ish);
    fill(&t, x, -3, 3);
    if (!scalar_src)
        fill(&t, s, -3, 3);
    int64_t *perm = malloc(sizeof(int64_t) * (size_t)r);
    for (int64_t col = 0; col < c; col++) {
        for (int64_t q = 0; q < r; q++)
            perm[q] = q;
        for (int64_t q = r - 1; q > 0; q--) {
            int64_t z = (int64_t)(tp_rand(&rng) % (uint64_t)(q + 1)), tmp = perm[q];
            perm[q] = perm[z];
            perm[z] = tmp;
        }
        for (int64_t q = 0; q < k; q++)
            tp_seti(it, t.vals[i].data, q * c + col, perm[q]);
    }
    free(perm);
    int sc = tp_out(&t, dt, 2, sh), o = tp_out(&t, dt, 2, sh);
    int in[3] = {x, i, s};
    cf_prog_instr *ins = tp_op(&t, CF_OP_SCATTER, dt, 3, in, sc);
    ins->correction = 0;
    tp_op1(&t, CF_OP_ABS, cf_dtype_compute(dt), sc, o);
    outname[sc] = "scatter";
    outname[o] = "abs(scatter)";
    char name[128];
    snprintf(name, sizeof name, "scatter %s[%s] %lldx%lld k%lld%s", cf_dtype_pyname(dt), cf_dtype_pyname(it), (long long)r,
             (long long)c, (long long)k, scalar_src ? " scalar src" : "");
    run_case(&t, name, 1);
    tp_free(&t);
}

/* An index out of range must fail the run with CF_ERR_INDEX, on the CPU
 * and on the device, and the next good run must pass. */
static void out_of_range_case(bool scatter, int64_t bad)
{
    tprog t;
    tp_init(&t);
    int64_t sh[2] = {33, 7}, ksh[1] = {5}, ish[2] = {2, 7}, osh[2] = {5, 7};
    int x = tp_in(&t, CF_DTYPE_FLOAT, 2, sh), o;
    int i = tp_in(&t, CF_DTYPE_INT, scatter ? 2 : 1, scatter ? ish : ksh);
    fill(&t, x, -1, 1);
    fill_index(&t, i, scatter ? 1 : 33);
    if (scatter) {
        o = tp_out(&t, CF_DTYPE_FLOAT, 2, sh);
        int in[3] = {x, i, tp_constf(&t, CF_DTYPE_FLOAT, 2.0)};
        tp_op(&t, CF_OP_SCATTER, CF_DTYPE_FLOAT, 3, in, o)->correction = 0;
        for (int q = 0; q < 7; q++) /* distinct rows 0 and 1 in every column */
            tp_seti(CF_DTYPE_INT, t.vals[i].data, 7 + q, 1);
    } else {
        o = tp_out(&t, CF_DTYPE_FLOAT, 2, osh);
        gather_instr(&t, x, index_view(&t, i, 0), o, -1, 1, 0, 0);
    }
    char name[96];
    snprintf(name, sizeof name, "%s index %lld out of range", scatter ? "scatter" : "index_select", (long long)bad);
    run_case(&t, name, 1); /* the good indices first (compile-only: just this) */
    if (compile_only || (filter && !strstr(name, filter))) {
        tp_free(&t);
        return;
    }
    checks++;
    tp_seti(CF_DTYPE_INT, t.vals[i].data, 3, bad);
    cf_status cpu = cf_cpu_execute(&t.p, t.vals, 1);
    cf_error_clear();
    cf_slot_value dv[TP_MAX];
    memcpy(dv, t.vals, sizeof dv);
    void *dptr[TP_MAX] = {0};
    for (int s = 0; s < t.p.nslots; s++) {
        int role = t.slots[s].role;
        if (role != CF_SLOT_INPUT && role != CF_SLOT_OUTPUT)
            continue;
        size_t bytes = (size_t)storage_elems(&t, s) * cf_dtype_size(t.slots[s].dtype);
        CK(cf_cuda_malloc(0, bytes + 16, &dptr[s]));
        if (role == CF_SLOT_INPUT)
            CK(cf_cuda_memcpy_htod(0, dptr[s], t.vals[s].data, bytes));
        dv[s].data = dptr[s];
    }
    cf_status gpu = cf_cuda_execute(&t.p, dv, 0, NULL);
    char msg[480];
    snprintf(msg, sizeof msg, "%.400s", gpu == CF_OK ? "" : cf_error_last()->message);
    if (gpu == CF_OK)
        gpu = cf_cuda_synchronize(0, NULL);
    char want[48];
    snprintf(want, sizeof want, "index %lld is out of bounds", (long long)bad);
    if (cpu != CF_ERR_INDEX || gpu != CF_ERR_INDEX || !strstr(msg, want)) {
        failures++;
        printf("FAIL %-44s cpu status %d, gpu status %d: %s\n", name, (int)cpu, (int)gpu, msg);
    }
    for (int s = 0; s < t.p.nslots; s++)
        if (dptr[s])
            cf_cuda_free(0, dptr[s]);
    tp_free(&t);
}

static void indexing_cases(void)
{
    /* every dtype and index dtype on two shapes; more shapes (size 1, a
     * strided source, long index) on Float and BFloat16 */
    static const int64_t shapes[][3] = {{7, 5, 9}, {257, 129, 255}, {1, 1, 1}, {33, 1023, 17}, {1025, 3, 2049}};
    static const cf_dtype its[] = {CF_DTYPE_INT, CF_DTYPE_INT32};
    for (int d = 0; d < NDT; d++)
        for (int q = 0; q < 2; q++) {
            cf_dtype dt = all_dtypes[d], it = its[q];
            bool more = dt == CF_DTYPE_FLOAT || dt == CF_DTYPE_BFLOAT16;
            for (size_t s = 0; s < (more ? 5u : 2u); s++) {
                int64_t r = shapes[s][0], c = shapes[s][1], k = shapes[s][2];
                index_select_case(dt, it, r, c, k, 0, false);
                index_select_case(dt, it, r, c, k, 1, s == 3);
                gather_case(dt, it, r, c, r > 1 ? r - 1 : 1, c, 0, true);
                gather_case(dt, it, r, c, k, c, 0, false);
                scatter_case(dt, it, r, c, r / 2 > 0 ? r / 2 : 1, false);
            }
            embedding_case(dt, it, 7, 33, 65);
            if (more)
                embedding_case(dt, it, 4097, 1000, 128);
            scatter_case(dt, it, 65, 9, 31, true);
        }
    out_of_range_case(false, 33);
    out_of_range_case(false, -1);
    out_of_range_case(true, 33);
    out_of_range_case(true, -7);
}
