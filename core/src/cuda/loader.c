/* cuda/loader.c - open the CUDA driver and NVRTC at run time.
 *
 * Each library is opened once per process (pthread_once). The outcome,
 * success or the reason for failure, is kept so that every later request
 * gets the same answer without touching the file system again.
 */
#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "cfuser/status.h"

static pthread_once_t cu_once = PTHREAD_ONCE_INIT;
static cf_cu_api cu_api;
static cf_status cu_status;
static char cu_why[400];

static pthread_once_t rtc_once = PTHREAD_ONCE_INIT;
static cf_nvrtc_api rtc_api;
static cf_status rtc_status;
static char rtc_why[1400];

/* Append "name (reason)" to a list of tried files. */
static void note_tried(char *buf, size_t cap, const char *name)
{
    size_t n = strlen(buf);
    if (n + 4 >= cap)
        return;
    int w = snprintf(buf + n, cap - n, "%s%s", n ? ", " : "", name);
    if (w < 0 || (size_t)w >= cap - n)
        memcpy(buf + cap - 4, "...", 4); /* cut: say so */
}

static void *open_first(const char *const *names, int count, char *tried,
                        size_t cap)
{
    for (int i = 0; i < count; i++) {
        void *h = dlopen(names[i], RTLD_NOW | RTLD_LOCAL);
        if (h)
            return h;
        note_tried(tried, cap, names[i]);
    }
    return NULL;
}

static void cu_load_once(void)
{
    static const char *const names[] = {"libcuda.so.1", "libcuda.so"};
    char tried[240] = "";
    void *h = open_first(names, 2, tried, sizeof tried);
    if (!h) {
        snprintf(cu_why, sizeof cu_why,
                 "no CUDA driver: could not open %s", tried);
        cu_status = CF_ERR_DEVICE;
        return;
    }
#define CF_CU_SYM(fn, sym)                                                    \
    cu_api.fn = (__typeof__(cu_api.fn))dlsym(h, sym);                         \
    if (!cu_api.fn) {                                                         \
        snprintf(cu_why, sizeof cu_why,                                       \
                 "CUDA driver too old: libcuda has no %s", sym);              \
        cu_status = CF_ERR_DEVICE;                                            \
        return;                                                               \
    }
    CF_CU_FN(CF_CU_SYM)
#undef CF_CU_SYM
    CUresult r = cu_api.cuInit(0);
    if (r != CUDA_SUCCESS) {
        const char *name = NULL;
        if (cu_api.cuGetErrorName(r, &name) != CUDA_SUCCESS || !name)
            name = "unknown error";
        snprintf(cu_why, sizeof cu_why,
                 "CUDA driver present but cuInit failed: %s (%d)", name,
                 (int)r);
        cu_status = CF_ERR_DEVICE;
        return;
    }
    cu_status = CF_OK;
}

cf_status cf_cu_load(const cf_cu_api **out)
{
    pthread_once(&cu_once, cu_load_once);
    if (cu_status != CF_OK)
        return cf_error_set(cu_status, "cuda", "%s", cu_why);
    *out = &cu_api;
    return CF_OK;
}

/* NVRTC opens libnvrtc-builtins.so.<major>.<minor> by name at its first
 * compile. A library opened from a directory on no loader path (a pip
 * wheel's) would not find it there: open the one beside it first, so the
 * name resolves to the loaded object. Absent, NVRTC reports it itself. */
static void open_builtins_beside(void)
{
    Dl_info info;
    if (!dladdr((void *)rtc_api.nvrtcVersion, &info) || !info.dli_fname)
        return;
    const char *slash = strrchr(info.dli_fname, '/');
    if (!slash)
        return;
    char path[1024];
    int n = snprintf(path, sizeof path, "%.*s/libnvrtc-builtins.so.%d.%d",
                     (int)(slash - info.dli_fname), info.dli_fname,
                     rtc_api.major, rtc_api.minor);
    if (n > 0 && (size_t)n < sizeof path)
        (void)dlopen(path, RTLD_NOW | RTLD_LOCAL); /* kept for the process */
}

/* NVRTC files to try after the toolkit's, set by the embedding (the Python
 * bindings pass the nvidia-cuda-nvrtc wheel's). Guarded by cand_lock; read
 * once, by rtc_load_once. */
static pthread_mutex_t cand_lock = PTHREAD_MUTEX_INITIALIZER;
static char **cand_paths;
static size_t cand_count;

static void free_paths(char **paths, size_t count)
{
    for (size_t i = 0; i < count; i++)
        free(paths[i]);
    free(paths);
}

cf_status cf_cuda_set_nvrtc_candidates(const char *const *paths, size_t count)
{
    char **copy = NULL;
    if (count > 0 && !paths)
        return cf_error_set(CF_ERR_VALUE, "cuda", "NVRTC candidates: NULL list of %zu paths", count);
    if (count > 0) {
        copy = calloc(count, sizeof *copy);
        if (!copy)
            return cf_error_set(CF_ERR_NOMEM, "cuda", "NVRTC candidates: out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        if (!paths[i] || !*paths[i]) {
            free_paths(copy, count);
            return cf_error_set(CF_ERR_VALUE, "cuda", "NVRTC candidates: path %zu is empty", i);
        }
        copy[i] = strdup(paths[i]);
        if (!copy[i]) {
            free_paths(copy, count);
            return cf_error_set(CF_ERR_NOMEM, "cuda", "NVRTC candidates: out of memory");
        }
    }
    pthread_mutex_lock(&cand_lock);
    char **old = cand_paths;
    size_t old_count = cand_count;
    cand_paths = copy;
    cand_count = count;
    pthread_mutex_unlock(&cand_lock);
    free_paths(old, old_count);
    return CF_OK;
}

/* Where NVRTC is looked for, in order: CFUSER_NVRTC_LIBRARY (an explicit
 * choice), the toolkit (its sonames on the loader's path, $CUDA_HOME or
 * $CUDA_PATH, /usr/local/cuda), then the embedding's candidates. */
static void rtc_load_once(void)
{
    enum { FIXED = 9, PATH_CAP = 512 };
    char paths[4][PATH_CAP];
    const char **names = NULL;
    int n = 0, np = 0;
    pthread_mutex_lock(&cand_lock);
    names = malloc((FIXED + cand_count) * sizeof *names);
    if (!names) {
        pthread_mutex_unlock(&cand_lock);
        snprintf(rtc_why, sizeof rtc_why, "no NVRTC: out of memory");
        rtc_status = CF_ERR_NOMEM;
        return;
    }
    const char *lib = getenv("CFUSER_NVRTC_LIBRARY");
    if (lib && *lib)
        names[n++] = lib;
    names[n++] = "libnvrtc.so.13";
    names[n++] = "libnvrtc.so.12";
    names[n++] = "libnvrtc.so";
    const char *home = getenv("CUDA_HOME");
    if (!home || !*home)
        home = getenv("CUDA_PATH");
    if (home && *home) {
        snprintf(paths[np++], PATH_CAP, "%s/lib64/libnvrtc.so.13", home);
        snprintf(paths[np++], PATH_CAP, "%s/lib64/libnvrtc.so.12", home);
    }
    snprintf(paths[np++], PATH_CAP, "/usr/local/cuda/lib64/libnvrtc.so.13");
    snprintf(paths[np++], PATH_CAP, "/usr/local/cuda/lib64/libnvrtc.so.12");
    for (int i = 0; i < np; i++)
        names[n++] = paths[i];
    for (size_t i = 0; i < cand_count; i++)
        names[n++] = cand_paths[i];

    char tried[1024] = "";
    void *h = open_first(names, n, tried, sizeof tried);
    int had_candidates = cand_count > 0;
    pthread_mutex_unlock(&cand_lock);
    free(names);
    if (!h) {
        /* The remedy first: the error record keeps the first 463 bytes. */
        snprintf(rtc_why, sizeof rtc_why,
                 "no NVRTC (install the CUDA toolkit or `pip install "
                 "nvidia-cuda-nvrtc`, or set CFUSER_NVRTC_LIBRARY); could not "
                 "open %s%s", tried,
                 had_candidates ? "" : "; no nvidia-cuda-nvrtc wheel found");
        rtc_status = CF_ERR_DEVICE;
        return;
    }
#define RTC_SYM(field)                                                        \
    rtc_api.field = (__typeof__(rtc_api.field))dlsym(h, #field);              \
    if (!rtc_api.field) {                                                     \
        snprintf(rtc_why, sizeof rtc_why, "NVRTC library has no %s",          \
                 #field);                                                     \
        rtc_status = CF_ERR_DEVICE;                                           \
        return;                                                               \
    }
    RTC_SYM(nvrtcVersion)
    RTC_SYM(nvrtcGetErrorString)
    RTC_SYM(nvrtcCreateProgram)
    RTC_SYM(nvrtcDestroyProgram)
    RTC_SYM(nvrtcCompileProgram)
    RTC_SYM(nvrtcGetProgramLogSize)
    RTC_SYM(nvrtcGetProgramLog)
    RTC_SYM(nvrtcGetCUBINSize)
    RTC_SYM(nvrtcGetCUBIN)
#undef RTC_SYM
    if (rtc_api.nvrtcVersion(&rtc_api.major, &rtc_api.minor) != 0) {
        snprintf(rtc_why, sizeof rtc_why, "nvrtcVersion failed");
        rtc_status = CF_ERR_DEVICE;
        return;
    }
    open_builtins_beside();
    rtc_status = CF_OK;
}

static void rtc_load_timed(void)
{
    uint64_t t0 = cf_cuda_now_ns();
    rtc_load_once();
    cf_cuda_stat_add(CF_STAT_NVRTC_OPEN_NS, cf_cuda_now_ns() - t0);
}

cf_status cf_nvrtc_load(const cf_nvrtc_api **out)
{
    pthread_once(&rtc_once, rtc_load_timed);
    if (rtc_status != CF_OK)
        return cf_error_set(rtc_status, "cuda", "%s", rtc_why);
    *out = &rtc_api;
    return CF_OK;
}

cf_status cf_cuda_nvrtc_info(int *major, int *minor, char *path, size_t cap)
{
    const cf_nvrtc_api *rtc;
    cf_status st = cf_nvrtc_load(&rtc);
    if (st != CF_OK)
        return st;
    if (major)
        *major = rtc->major;
    if (minor)
        *minor = rtc->minor;
    if (path && cap > 0) {
        Dl_info info;
        const char *file = dladdr((void *)rtc->nvrtcVersion, &info) && info.dli_fname ? info.dli_fname : "";
        snprintf(path, cap, "%s", file);
    }
    return CF_OK;
}

cf_status cf_cu_check(CUresult r, const char *op, const char *call)
{
    if (r == CUDA_SUCCESS)
        return CF_OK;
    const char *name = NULL, *desc = NULL;
    if (cu_api.cuGetErrorName == NULL ||
        cu_api.cuGetErrorName(r, &name) != CUDA_SUCCESS || !name)
        name = "unknown error";
    if (cu_api.cuGetErrorString == NULL ||
        cu_api.cuGetErrorString(r, &desc) != CUDA_SUCCESS || !desc)
        desc = "";
    if (r == CUDA_ERROR_OUT_OF_MEMORY)
        return cf_error_set(CF_ERR_NOMEM, op, "%s: out of device memory",
                            call);
    return cf_error_set(CF_ERR_DEVICE, op, "%s failed: %s (%d) %s", call,
                        name, (int)r, desc);
}

cf_status cf_cuda_available(char *why, size_t cap)
{
    const cf_cu_api *cu;
    const cf_nvrtc_api *rtc;
    cf_status st = cf_cu_load(&cu);
    if (st == CF_OK)
        st = cf_nvrtc_load(&rtc);
    if (st == CF_OK) {
        int n = 0;
        CUresult r = cu->cuDeviceGetCount(&n);
        if (r != CUDA_SUCCESS)
            st = cf_cu_check(r, "cuda", "cuDeviceGetCount");
        else if (n == 0)
            st = cf_error_set(CF_ERR_DEVICE, "cuda",
                              "CUDA driver loaded but it sees no device");
    }
    if (st != CF_OK && why && cap > 0)
        snprintf(why, cap, "%s", cf_error_last()->message);
    return st;
}

int cf_cuda_device_count(void)
{
    const cf_cu_api *cu;
    int n = 0;
    if (cf_cu_load(&cu) != CF_OK) {
        cf_error_clear();
        return 0;
    }
    if (cu->cuDeviceGetCount(&n) != CUDA_SUCCESS)
        return 0;
    return n;
}
