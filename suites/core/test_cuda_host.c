#define _GNU_SOURCE
/* test_cuda_host.c - the CUDA executor's host side: library loading, kernel
 * cache keys and disk entries, and code generation for every op and dtype.
 * Runs everywhere; what needs NVRTC or a device is skipped with the reason
 * when that is missing. */
#include <criterion/criterion.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "test_cpu_util.h"
#include "cfuser/cuda.h"
#include "cfuser/ops.h"
#include "cuda/cuda_host.h"

static bool nvrtc_ok(char *why, size_t cap)
{
    const cf_nvrtc_api *rtc;
    if (cf_nvrtc_load(&rtc) == CF_OK)
        return true;
    snprintf(why, cap, "%s", cf_error_last()->message);
    return false;
}

Test(cuda_loader, missing_driver_is_a_clear_device_error)
{
    char why[480] = "";
    cf_status st = cf_cuda_available(why, sizeof why);
    if (st == CF_OK) {
        cr_assert_gt(cf_cuda_device_count(), 0);
        return;
    }
    cr_assert_eq(st, CF_ERR_DEVICE);
    cr_assert_eq(cf_error_last()->kind, CF_ERR_DEVICE);
    /* the message names the files tried */
    cr_assert(strstr(why, "libcuda.so.1") || strstr(why, "libnvrtc.so") ||
                  strstr(why, "device"), "message: %s", why);
    /* and asking again gives the same answer without reloading */
    char again[480] = "";
    cr_assert_eq(cf_cuda_available(again, sizeof again), st);
    cr_assert_str_eq(why, again);
}

/* CFUSER_NVRTC_LIBRARY is tried before the usual names (each test runs in
 * its own process, so the library is not loaded yet). */
Test(cuda_loader, nvrtc_library_named_by_the_environment_comes_first)
{
    const char *bogus = "/nonexistent/cfuser-test/libnvrtc.so.13";
    setenv("CFUSER_NVRTC_LIBRARY", bogus, 1);
    const cf_nvrtc_api *rtc;
    if (cf_nvrtc_load(&rtc) == CF_OK) {
        cr_assert_geq(rtc->major, 12); /* found under a usual name after it */
        return;
    }
    const char *msg = cf_error_last()->message;
    cr_assert(strstr(msg, "could not open /nonexistent/cfuser-test/libnvrtc.so.13, libnvrtc.so.13"),
              "message: %s", msg);
}

Test(cuda_loader, execute_without_driver_fails_cleanly)
{
    char why[480];
    if (cf_cuda_available(why, sizeof why) == CF_OK)
        cr_skip_test("a CUDA device is present; covered by the GPU suite");
    tprog t;
    tp_init(&t);
    int64_t sh[1] = {4};
    int a = tp_in(&t, CF_DTYPE_FLOAT, 1, sh), o = tp_out(&t, CF_DTYPE_FLOAT, 1, sh);
    tp_op1(&t, CF_OP_NEG, CF_DTYPE_FLOAT, a, o);
    cr_assert_eq(cf_cuda_execute(&t.p, t.vals, 0, NULL), CF_ERR_DEVICE);
    cr_assert_eq(cf_cuda_device_count(), 0);
    void *p = NULL;
    cr_assert_eq(cf_cuda_malloc(0, 16, &p), CF_ERR_DEVICE);
    tp_free(&t);
}

Test(cuda_kcache, key_is_stable_and_covers_every_input)
{
    uint64_t k = cf_kcache_key("kernel", "--opt", 90, 13, 0);
    cr_assert_eq(k, cf_kcache_key("kernel", "--opt", 90, 13, 0));
    /* the same value in every process and on every machine */
    cr_assert_eq(cf_fnv1a(CF_FNV_OFFSET, "a", 1), 0xaf63dc4c8601ec8cULL);
    cr_assert_neq(k, cf_kcache_key("kernel ", "--opt", 90, 13, 0));
    cr_assert_neq(k, cf_kcache_key("kernel", "--opt2", 90, 13, 0));
    cr_assert_neq(k, cf_kcache_key("kernel", "--opt", 89, 13, 0));
    cr_assert_neq(k, cf_kcache_key("kernel", "--opt", 90, 12, 0));
    cr_assert_neq(k, cf_kcache_key("kernel", "--opt", 90, 13, 1));
}

static char tmpdir[256];

static void use_tmp_cache(void)
{
    snprintf(tmpdir, sizeof tmpdir, "/tmp/cfuser_kc_%ld", (long)getpid());
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_assert_eq(system(cmd), 0);
    setenv("XDG_CACHE_HOME", tmpdir, 1);
    unsetenv("CFUSER_DISABLE_KERNEL_CACHE");
}

static void drop_tmp_cache(void)
{
    char cmd[300];
    snprintf(cmd, sizeof cmd, "rm -rf %s", tmpdir);
    cr_assert_eq(system(cmd), 0);
}

Test(cuda_kcache, disk_entry_round_trip_and_mode, .init = use_tmp_cache,
     .fini = drop_tmp_cache)
{
    char dir[4096];
    cr_assert(cf_kcache_dir(dir, sizeof dir));
    struct stat st;
    cr_assert_eq(stat(dir, &st), 0);
    cr_assert_eq(st.st_mode & 0777, 0700);
    unsigned char data[300];
    for (int i = 0; i < 300; i++)
        data[i] = (unsigned char)(i * 7);
    cr_assert_eq(cf_kcache_disk_store(dir, 42, data, sizeof data), CF_OK);
    void *got = NULL;
    size_t n = 0;
    cr_assert(cf_kcache_disk_load(dir, 42, &got, &n));
    cr_assert_eq(n, sizeof data);
    cr_assert_eq(memcmp(got, data, n), 0);
    cf_free(got);
    cr_assert_not(cf_kcache_disk_load(dir, 43, &got, &n), "absent entry");
    /* no temporary left behind */
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "ls %s | grep -q tmp", dir);
    cr_assert_neq(system(cmd), 0);
}

static void corrupt(const char *dir, uint64_t key, long off, int byte,
                    long truncate_to)
{
    char path[4200];
    snprintf(path, sizeof path, "%s/%016llx.cubin", dir, (unsigned long long)key);
    FILE *f = fopen(path, "r+b");
    cr_assert_not_null(f);
    if (byte >= 0) {
        fseek(f, off, SEEK_SET);
        fputc(byte, f);
    }
    fclose(f);
    if (truncate_to >= 0)
        cr_assert_eq(truncate(path, truncate_to), 0);
}

Test(cuda_kcache, corrupt_or_foreign_entries_are_rejected,
     .init = use_tmp_cache, .fini = drop_tmp_cache)
{
    char dir[4096];
    cr_assert(cf_kcache_dir(dir, sizeof dir));
    unsigned char data[64];
    memset(data, 0x5a, sizeof data);
    void *got = NULL;
    size_t n = 0;
    /* a flipped payload byte: hash mismatch */
    cr_assert_eq(cf_kcache_disk_store(dir, 1, data, sizeof data), CF_OK);
    corrupt(dir, 1, 40 + 10, 0x00, -1);
    cr_assert_not(cf_kcache_disk_load(dir, 1, &got, &n));
    /* a bad magic */
    cr_assert_eq(cf_kcache_disk_store(dir, 2, data, sizeof data), CF_OK);
    corrupt(dir, 2, 0, 'X', -1);
    cr_assert_not(cf_kcache_disk_load(dir, 2, &got, &n));
    /* a truncated file: size mismatch */
    cr_assert_eq(cf_kcache_disk_store(dir, 3, data, sizeof data), CF_OK);
    corrupt(dir, 3, 0, -1, 50);
    cr_assert_not(cf_kcache_disk_load(dir, 3, &got, &n));
    /* an entry filed under another key: foreign */
    cr_assert_eq(cf_kcache_disk_store(dir, 4, data, sizeof data), CF_OK);
    char a[4200], b[4200];
    snprintf(a, sizeof a, "%s/%016llx.cubin", dir, 4ULL);
    snprintf(b, sizeof b, "%s/%016llx.cubin", dir, 5ULL);
    cr_assert_eq(rename(a, b), 0);
    cr_assert_not(cf_kcache_disk_load(dir, 5, &got, &n));
    /* an empty file */
    FILE *f = fopen(a, "wb");
    fclose(f);
    cr_assert_not(cf_kcache_disk_load(dir, 4, &got, &n));
}

Test(cuda_kcache, disabled_by_environment, .init = use_tmp_cache,
     .fini = drop_tmp_cache)
{
    char dir[4096];
    setenv("CFUSER_DISABLE_KERNEL_CACHE", "1", 1);
    cr_assert_not(cf_kcache_dir(dir, sizeof dir));
    setenv("CFUSER_DISABLE_KERNEL_CACHE", "0", 1);
    cr_assert(cf_kcache_dir(dir, sizeof dir));
    unsetenv("CFUSER_DISABLE_KERNEL_CACHE");
    /* a cache directory others can write is not trusted */
    cr_assert_eq(chmod(dir, 0777), 0);
    cr_assert_not(cf_kcache_dir(dir, sizeof dir));
}

static const cf_dtype dtypes[] = {CF_DTYPE_FLOAT, CF_DTYPE_HALF,
                                  CF_DTYPE_BFLOAT16, CF_DTYPE_DOUBLE,
                                  CF_DTYPE_INT32, CF_DTYPE_INT, CF_DTYPE_BOOL};

/* One program per (arity, dtype) holding every op valid for it, plus all
 * reductions; the plan must build, and compile where NVRTC is present. */
static int build_all(bool compile)
{
    cf_cuda_device_info info;
    memset(&info, 0, sizeof info);
    info.sm_count = 132;
    info.cc_major = 9;
    int built = 0;
    for (int di = 0; di < 7; di++) {
        for (int ar = 1; ar <= 3; ar++) {
            tprog t;
            tp_init(&t);
            cf_dtype dt = dtypes[di];
            int64_t sh[2] = {5, 33}, bsh[2] = {1, 33};
            int in[4];
            for (int k = 0; k < 4; k++)
                in[k] = tp_in(&t, dt, 2, k ? bsh : sh);
            int pred = tp_in(&t, CF_DTYPE_BOOL, 2, sh);
            cf_opcode ops[64];
            int nops = 0;
            if (ar == 1) {
#define U(name, E, cat) ops[nops++] = CF_OP_##E;
                CF_UNARY_OPS(U)
#undef U
            } else if (ar == 2) {
#define B(name, E, cat) ops[nops++] = CF_OP_##E;
                CF_BINARY_OPS(B)
#undef B
            } else {
                cf_opcode t3[] = {CF_OP_WHERE, CF_OP_CLAMP, CF_OP_LERP,
                                  CF_OP_ADDCMUL, CF_OP_THRESHOLD, CF_OP_CAST};
                memcpy(ops, t3, sizeof t3);
                nops = 6;
            }
            for (int i = 0; i < nops && t.p.nslots + 2 < TP_MAX; i++) {
                cf_opcode op = ops[i];
                int n = op == CF_OP_ADDCMUL ? 4 : op == CF_OP_CAST ? 1
                        : ar == 3 ? 3 : ar;
                cf_dtype dts[4] = {dt, dt, dt, dt};
                bool ist[4] = {true, true, true, true};
                int args[4] = {in[0], in[1], in[2], in[3]};
                if (op == CF_OP_WHERE) {
                    dts[0] = CF_DTYPE_BOOL;
                    args[0] = pred;
                }
                cf_dtype out = CF_DTYPE_HALF;
                if (op != CF_OP_CAST &&
                    cf_op_result_dtype(op, n, dts, ist, &out) != CF_OK) {
                    cf_error_clear();
                    continue;
                }
                int o = tp_out(&t, out, 2, sh);
                tp_op(&t, op, cf_op_category_of(op) == CF_CAT_PRED
                                  ? cf_dtype_compute(dt) : cf_dtype_compute(out),
                      n, args, o);
            }
            if (ar == 1 && dt != CF_DTYPE_BOOL) {
                int64_t rsh[2] = {5, 1};
                cf_opcode r[] = {CF_OP_SUM, CF_OP_PROD, CF_OP_MAX, CF_OP_MIN,
                                 CF_OP_VAR};
                for (int i = 0; i < 5 && t.p.nslots + 2 < TP_MAX; i++) {
                    if (r[i] == CF_OP_VAR && !cf_dtype_is_float(dt))
                        continue;
                    int o = tp_out(&t, dt, 2, rsh);
                    tp_reduce(&t, r[i], cf_dtype_compute(dt), in[0], 2, o)
                        ->correction = 1;
                }
            }
            cf_cuda_plan *plan = NULL;
            cf_status st = cf_cuda_plan_build(&t.p, t.vals, &info, &plan);
            cr_assert_eq(st, CF_OK, "dtype %s arity %d: %s",
                         cf_dtype_pyname(dt), ar, cf_error_last()->message);
            cr_assert_gt(plan->nkernels, 0);
            cr_assert_not_null(strstr(plan->source, "__global__"));
            if (compile) {
                void *cubin = NULL;
                size_t size = 0;
                st = cf_nvrtc_compile(plan->source, "t.cu", 90, &cubin, &size);
                cr_assert_eq(st, CF_OK, "%s", cf_error_last()->message);
                cr_assert_gt(size, 0);
                cf_free(cubin);
            }
            cf_cuda_plan_free(plan);
            tp_free(&t);
            built++;
        }
    }
    return built;
}

Test(cuda_codegen, source_for_every_op_and_dtype)
{
    cr_assert_eq(build_all(false), 21);
}

Test(cuda_codegen, source_compiles_with_nvrtc)
{
    char why[480];
    if (!nvrtc_ok(why, sizeof why))
        cr_skip_test("%s", why);
    cr_assert_eq(build_all(true), 21);
}

Test(cuda_codegen, nvrtc_failure_carries_log_and_source_path)
{
    char why[480];
    if (!nvrtc_ok(why, sizeof why))
        cr_skip_test("%s", why);
    setenv("CFUSER_CUDA_DUMP_DIR", "/tmp", 1);
    void *cubin = NULL;
    size_t size = 0;
    cf_status st = cf_nvrtc_compile("this is not CUDA;", "bad.cu", 90, &cubin,
                                    &size);
    cr_assert_eq(st, CF_ERR_RUNTIME);
    const char *m = cf_error_last()->message;
    cr_assert_not_null(strstr(m, "source: /tmp/cfuser_kernel_"), "%s", m);
    cr_assert_not_null(strstr(m, "log:"), "%s", m);
}

Test(cuda_codegen, segmentation_and_unsupported_shapes)
{
    cf_cuda_device_info info;
    memset(&info, 0, sizeof info);
    info.sm_count = 132;
    info.cc_major = 9;
    tprog t;
    tp_init(&t);
    cf_dtype F = CF_DTYPE_FLOAT;
    int64_t sh[2] = {37, 129}, csh[2] = {1, 129}, rsh[2] = {37, 1};
    int x = tp_in(&t, F, 2, sh);
    int cs = tp_tmp(&t, F, 2, csh), y = tp_tmp(&t, F, 2, sh);
    int rs = tp_out(&t, F, 2, rsh);
    tp_reduce(&t, CF_OP_SUM, F, x, 1, cs);
    tp_op2(&t, CF_OP_SUB, F, x, cs, y);
    tp_reduce(&t, CF_OP_SUM, F, y, 2, rs);
    cf_cuda_plan *plan = NULL;
    cr_assert_eq(cf_cuda_plan_build(&t.p, t.vals, &info, &plan), CF_OK);
    /* column sum, then the row reduction that reads it back */
    cr_assert_eq(plan->nkernels, 2);
    int temps = 0;
    for (int b = 0; b < plan->nbuffers; b++)
        temps += plan->buffers[b].temp;
    cr_assert_eq(temps, 1);
    cf_cuda_plan_free(plan);
    tp_free(&t);
}

/* exp(x) -> segment_set -> neg: one kernel each side of the segment_set and
 * one for it (the registry's own_segment), its output stored; without it,
 * one kernel. The source compiles where NVRTC is present. */
static int kernels_of_chain(cf_opcode mid, int *temps, char **source)
{
    cf_cuda_device_info info;
    memset(&info, 0, sizeof info);
    info.sm_count = 132;
    info.cc_major = 9;
    tprog t;
    tp_init(&t);
    int64_t sh[2] = {7, 33};
    int x = tp_in(&t, CF_DTYPE_FLOAT, 2, sh), a = tp_tmp(&t, CF_DTYPE_FLOAT, 2, sh);
    int b = tp_tmp(&t, CF_DTYPE_FLOAT, 2, sh), y = tp_out(&t, CF_DTYPE_FLOAT, 2, sh);
    tp_op1(&t, CF_OP_EXP, CF_DTYPE_FLOAT, x, a);
    tp_op1(&t, mid, CF_DTYPE_FLOAT, a, b);
    tp_op1(&t, CF_OP_NEG, CF_DTYPE_FLOAT, b, y);
    cf_cuda_plan *plan = NULL;
    cr_assert_eq(cf_cuda_plan_build(&t.p, t.vals, &info, &plan), CF_OK, "%s", cf_error_last()->message);
    int n = plan->nkernels;
    *temps = 0;
    for (int k = 0; k < plan->nbuffers; k++)
        *temps += plan->buffers[k].temp;
    *source = strdup(plan->source);
    cf_cuda_plan_free(plan);
    tp_free(&t);
    return n;
}

Test(cuda_codegen, segment_set_runs_in_a_kernel_of_its_own)
{
    int temps = 0;
    char *src = NULL;
    cr_assert_eq(kernels_of_chain(CF_OP_SET, &temps, &src), 1);
    cr_assert_eq(temps, 0);
    free(src);
    cr_assert_eq(kernels_of_chain(CF_OP_SEGMENT_SET, &temps, &src), 3);
    cr_assert_eq(temps, 2); /* its input and its output cross kernels */
    char why[480];
    if (nvrtc_ok(why, sizeof why)) {
        void *cubin = NULL;
        size_t size = 0;
        cr_assert_eq(cf_nvrtc_compile(src, "seg.cu", 90, &cubin, &size), CF_OK, "%s", cf_error_last()->message);
        cf_free(cubin);
    }
    free(src);
}

Test(cuda_device, device_tests_need_a_gpu)
{
    char why[480];
    if (cf_cuda_available(why, sizeof why) != CF_OK)
        cr_skip_test("no CUDA driver: %s", why);
    cf_cuda_device_info info;
    cr_assert_eq(cf_cuda_device_info_get(0, &info), CF_OK);
    cr_assert_gt(info.sm_count, 0);
    cr_assert_gt(info.cc_major, 0);
}
