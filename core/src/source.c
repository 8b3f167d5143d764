/* source.c - the code a run executes, as text: the CUDA C the CUDA backend
 * generates for it (code generation needs no GPU: without one it targets a
 * default device, sm_90 with 132 multiprocessors) or the program the CPU
 * engine runs (its loops are compiled into libcfuser; nothing is generated
 * per fusion, so the listing of the lowered program is its code). */
#include <string.h>

#include "cfuser/alloc.h"
#include "cfuser/cuda.h"
#include "cfuser/exec.h"
#include "plan.h"
#ifdef CFUSER_WITH_CUDA
#include "cuda/cuda_host.h"
#endif

/* Outputs get storage of their own layout at a fake address (256-byte
 * aligned, never read): code generation looks at strides and alignment. */
static cf_status place_outputs(cf_run *r)
{
    int i;
    for (i = 0; i < cf_run_num_outputs(r); i++) {
        int64_t strides[CF_MAX_DIMS];
        cf_status st = cf_run_output_strides(r, i, strides);
        if (!st)
            st = cf_run_set_output(r, i, (void *)(uintptr_t)(0x100000u * (unsigned)(i + 1)), strides);
        if (st)
            return st;
    }
    return CF_OK;
}

static char *copy_text(const char *s)
{
    size_t n = strlen(s);
    char *t = cf_malloc(n + 1);
    if (t)
        memcpy(t, s, n + 1);
    return t;
}

#ifdef CFUSER_WITH_CUDA
static cf_status cuda_source(const cf_run *r, int device, bool intrinsic, char **text)
{
    cf_cuda_device_info info;
    cf_cuda_plan *plan = NULL;
    const char *s;
    cf_status st;
    memset(&info, 0, sizeof info);
    if (device >= 0 && cf_cuda_device_count() > device) {
        if ((st = cf_cuda_device_info_get(device, &info)))
            return st;
    } else {
        info.cc_major = 9;
        info.sm_count = 132;
        info.max_threads_per_sm = 2048;
        info.max_smem_per_block = 227 * 1024;
        info.l2_bytes = 50 * 1024 * 1024;
    }
    if ((st = cf_cuda_plan_build(cf_run_program(r), cf_run_slot_values(r), &info, &plan)))
        return st;
    s = plan->source;
    if (!intrinsic && strncmp(s, cf_cuda_prelude, strlen(cf_cuda_prelude)) == 0)
        s += strlen(cf_cuda_prelude);
    *text = copy_text(s);
    cf_cuda_plan_free(plan);
    return *text ? CF_OK : cf_error_nomem("cuda_source");
}
#endif

cf_status cf_run_source(cf_run *r, cf_source_kind kind, int device, bool intrinsic, char **text)
{
    cf_status st = place_outputs(r);
    *text = NULL;
    if (st)
        return st;
    if (kind == CF_SOURCE_PROGRAM) {
        *text = cf_program_dump(cf_run_program(r));
        return *text ? CF_OK : cf_error_nomem("program_dump");
    }
    if (kind != CF_SOURCE_CUDA)
        return cf_error_set(CF_ERR_VALUE, "source", "source(): unknown kind %d", (int)kind);
#ifdef CFUSER_WITH_CUDA
    return cuda_source(r, device, intrinsic, text);
#else
    (void)device;
    (void)intrinsic;
    return cf_error_set(CF_ERR_UNSUPPORTED, "cuda_source", "cuda_code(): this build of cfuser has no CUDA backend (build with -DCFUSER_CUDA=ON) and cannot generate CUDA code");
#endif
}
