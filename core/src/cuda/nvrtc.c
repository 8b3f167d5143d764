/* cuda/nvrtc.c - compile generated CUDA C to machine code with NVRTC.
 *
 * Kernels are compiled straight to a cubin for the device's exact
 * architecture (sm_XY), so the driver loads them without a PTX JIT step.
 * The generated source includes no header, which keeps a compile short.
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "cfuser/alloc.h"
#include "cfuser/status.h"

#define OPT_STD "--std=c++17"
#define OPT_MISC "--device-as-default-execution-space"
#define OPT_MIN "--minimal"
/* The quick tier: NVVM and ptxas skip their costliest optimisations (a
 * third less compile time for the same numerics; see launch.c). */
#define OPT_QUICK "--Ofast-compile=min"
#define MAX_EXTRA 8

/* The fixed options plus CFUSER_NVRTC_OPTIONS (space-separated, read once:
 * for trying compiler options without a rebuild; they enter the cache key). */
static pthread_once_t opt_once = PTHREAD_ONCE_INIT;
static char opt_extra_buf[512];
static const char *opt_extra[MAX_EXTRA];
static int opt_nextra;
static char opt_text[2][640];

static void options_once(void)
{
    const char *env = getenv("CFUSER_NVRTC_OPTIONS");
    snprintf(opt_extra_buf, sizeof opt_extra_buf, "%s", env ? env : "");
    for (char *save = NULL, *tok = strtok_r(opt_extra_buf, " \t", &save);
         tok && opt_nextra < MAX_EXTRA; tok = strtok_r(NULL, " \t", &save))
        opt_extra[opt_nextra++] = tok;
    for (int q = 0; q < 2; q++)
        snprintf(opt_text[q], sizeof opt_text[q], "%s %s %s --gpu-architecture=sm_<arch>%s%s%s",
                 OPT_STD, OPT_MISC, OPT_MIN, q ? " " OPT_QUICK : "", env && *env ? " " : "",
                 env ? env : "");
}

const char *cf_nvrtc_options_text(bool quick)
{
    pthread_once(&opt_once, options_once);
    return opt_text[quick];
}

/* Write the source where a user can read it; the path goes in the error. */
static void dump_source(const char *src, char *path, size_t cap)
{
    const char *dir = getenv("CFUSER_CUDA_DUMP_DIR");
    if (!dir || !*dir)
        dir = getenv("TMPDIR");
    if (!dir || !*dir)
        dir = "/tmp";
    uint64_t h = cf_fnv1a(CF_FNV_OFFSET, src, strlen(src));
    snprintf(path, cap, "%s/cfuser_kernel_%016llx.cu", dir,
             (unsigned long long)h);
    FILE *f = fopen(path, "w");
    if (!f) {
        snprintf(path, cap, "(not written: %s not writable)", dir);
        return;
    }
    fputs(src, f);
    if (fclose(f) != 0)
        snprintf(path, cap, "(not written: %s full)", dir);
}

cf_status cf_nvrtc_compile(const char *src, const char *name, int arch,
                           void **cubin, size_t *size)
{
    return cf_nvrtc_compile_tier(src, name, arch, false, cubin, size);
}

cf_status cf_nvrtc_compile_tier(const char *src, const char *name, int arch,
                                bool quick, void **cubin, size_t *size)
{
    const cf_nvrtc_api *rtc;
    cf_status st = cf_nvrtc_load(&rtc);
    if (st)
        return st;
    char archopt[48];
    snprintf(archopt, sizeof archopt, "--gpu-architecture=sm_%d", arch);
    const char *opts[5 + MAX_EXTRA] = {OPT_STD, OPT_MISC, OPT_MIN, archopt};
    int nopt = 4;
    pthread_once(&opt_once, options_once);
    if (quick)
        opts[nopt++] = OPT_QUICK;
    for (int i = 0; i < opt_nextra; i++)
        opts[nopt++] = opt_extra[i];
    cf_nvrtc_prog prog = NULL;
    char *log = NULL;
    cf_nvrtc_result r =
        rtc->nvrtcCreateProgram(&prog, src, name, 0, NULL, NULL);
    if (r != 0)
        return cf_error_set(CF_ERR_RUNTIME, "nvrtc",
                            "nvrtcCreateProgram failed: %s",
                            rtc->nvrtcGetErrorString(r));
    r = rtc->nvrtcCompileProgram(prog, nopt, opts);
    if (r != 0) {
        size_t n = 0;
        char path[4200];
        if (rtc->nvrtcGetProgramLogSize(prog, &n) == 0 && n > 0)
            log = cf_malloc(n + 1);
        if (log && rtc->nvrtcGetProgramLog(prog, log) == 0)
            log[n] = '\0';
        else if (log)
            log[0] = '\0';
        dump_source(src, path, sizeof path);
        st = cf_error_set(CF_ERR_RUNTIME, "nvrtc",
                          "compiling generated kernels for sm_%d failed "
                          "(%s); source: %s; log: %.300s",
                          arch, rtc->nvrtcGetErrorString(r), path,
                          log ? log : "(no log)");
        goto done;
    }
    size_t n = 0;
    if ((r = rtc->nvrtcGetCUBINSize(prog, &n)) != 0 || n == 0) {
        st = cf_error_set(CF_ERR_RUNTIME, "nvrtc",
                          "nvrtcGetCUBINSize failed: %s",
                          rtc->nvrtcGetErrorString(r));
        goto done;
    }
    char *bin = cf_malloc(n);
    if (!bin) {
        st = cf_error_nomem("nvrtc");
        goto done;
    }
    if ((r = rtc->nvrtcGetCUBIN(prog, bin)) != 0) {
        cf_free(bin);
        st = cf_error_set(CF_ERR_RUNTIME, "nvrtc", "nvrtcGetCUBIN failed: %s",
                          rtc->nvrtcGetErrorString(r));
        goto done;
    }
    *cubin = bin;
    *size = n;
    st = CF_OK;
done:
    cf_free(log);
    rtc->nvrtcDestroyProgram(&prog);
    return st;
}
