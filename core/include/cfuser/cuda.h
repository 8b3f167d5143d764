/* cfuser/cuda.h - the CUDA executor: run-time compiled fused kernels.
 *
 * The driver (libcuda.so.1) and NVRTC (libnvrtc.so.13, .so.12 or .so) are
 * opened with dlopen on first use; libcfuser has no link-time dependency on
 * either, so it loads and runs its CPU path on machines without a GPU. Every
 * function here that needs a missing library returns CF_ERR_DEVICE with a
 * message that names the files it tried.
 *
 * cf_cuda_execute runs a lowered program (program.h) with device pointers:
 * it splits the program into kernels (pointwise, inner/outer reductions,
 * persistent normalisations), generates CUDA C for each, compiles it with
 * NVRTC for the device's exact architecture, caches the machine code in
 * memory and on disk, and launches the kernels asynchronously on the caller's
 * stream.
 *
 * Tiered compilation: the first execute of a new fusion compiles a quick
 * tier (no unrolling across vectors, NVRTC's fast-compile option) and runs
 * it, while one background thread compiles the full kernels and swaps them
 * in; results are the same. A full module in the disk cache is used at once.
 * For a few hundred milliseconds after a fusion's first execute its calls
 * therefore run the slower quick kernels: cf_cuda_background_pending says
 * whether any full plan is still to come and cf_cuda_wait_background_for
 * waits for them (benchmarks must, before timing).
 *
 * Environment:
 *   CFUSER_DISABLE_KERNEL_CACHE=1   no on-disk kernel cache
 *   XDG_CACHE_HOME                  disk cache under $XDG_CACHE_HOME/cfuser
 *                                   (default ~/.cache/cfuser, mode 0700)
 *   CFUSER_CUDA_DUMP_DIR            where generated sources are written when
 *                                   NVRTC fails (default: the system's
 *                                   temporary directory)
 *   CFUSER_NVRTC_LIBRARY            NVRTC to open before the usual places:
 *                                   the toolkit's (libnvrtc.so.13, .so.12,
 *                                   .so on the loader's path, then
 *                                   $CUDA_HOME/lib64 and /usr/local/cuda),
 *                                   then cf_cuda_set_nvrtc_candidates' files
 *   CFUSER_CUDA_TIERED=0            compile the full kernels on the caller's
 *                                   thread (no quick tier)
 *   CFUSER_CUDA_TUNE                schedule knobs, "name=value,..." (see
 *                                   cuda/codegen.c; part of the source)
 *   CFUSER_NVRTC_OPTIONS            extra NVRTC options, space-separated (at
 *                                   most 8; read once; part of the cache key)
 */
#ifndef CFUSER_CUDA_H
#define CFUSER_CUDA_H

#include <stddef.h>
#include <stdint.h>

#include "cfuser/program.h"
#include "cfuser/status.h"

#ifdef __cplusplus
extern "C" {
#endif

/* CF_OK when the driver and NVRTC load and at least one device exists;
 * otherwise CF_ERR_DEVICE, with the reason copied into why (when why is
 * not NULL and cap > 0) and in the error record. Thread safe; the libraries
 * are loaded once per process. */
cf_status cf_cuda_available(char *why, size_t cap);

/* Files to try for NVRTC after the toolkit's: the Python bindings pass the
 * nvidia-cuda-nvrtc wheel's, which lies on no loader path. Copied; a call
 * replaces the list; no effect once NVRTC was looked for. CF_ERR_VALUE for
 * a NULL or empty path, CF_ERR_NOMEM. */
cf_status cf_cuda_set_nvrtc_candidates(const char *const *paths, size_t count);

/* Open NVRTC (not the driver: this works on a machine without a GPU) and
 * give its version and the file it was opened from (path may be NULL).
 * CF_ERR_DEVICE with the places it looked when no NVRTC opens. */
cf_status cf_cuda_nvrtc_info(int *major, int *minor, char *path, size_t cap);

/* Number of CUDA devices (0 when the driver is missing). */
int cf_cuda_device_count(void);

/* What a device is. */
typedef struct cf_cuda_device_info {
    char name[128];
    int ordinal;
    int cc_major, cc_minor;      /* compute capability, e.g. 9.0           */
    int sm_count;                /* multiprocessors                        */
    int max_threads_per_sm;
    int max_smem_per_block;      /* opt-in limit, bytes                    */
    int l2_bytes;
    size_t total_mem;            /* bytes                                  */
    int driver_version;          /* e.g. 13000                             */
    int nvrtc_major, nvrtc_minor;
} cf_cuda_device_info;

cf_status cf_cuda_device_info_get(int device, cf_cuda_device_info *out);

/* Run p on CUDA device `device`. The slot contract is cf_cpu_execute's
 * (program.h), except that the data of INPUT and OUTPUT slots are device
 * pointers of that device. Work is queued on `stream` (a CUstream; NULL is
 * the legacy default stream) and this returns without waiting for it, unless
 * a failure must be reported. Intermediates the program needs are allocated
 * stream-ordered on the same stream. Safe to call from many threads. */
cf_status cf_cuda_execute(const cf_program *p, cf_slot_value *vals,
                          int device, void *stream);

/* Device memory helpers (used by tests and benchmarks). Pointers are device
 * pointers of the current device set by the last call naming `device`. */
cf_status cf_cuda_malloc(int device, size_t bytes, void **out);
cf_status cf_cuda_free(int device, void *ptr);
cf_status cf_cuda_memcpy_htod(int device, void *dst, const void *src,
                              size_t bytes);
cf_status cf_cuda_memcpy_dtoh(int device, void *dst, const void *src,
                              size_t bytes);
cf_status cf_cuda_memcpy_dtod(int device, void *dst, const void *src,
                              size_t bytes, void *stream);
/* Wait for all work queued on the device (stream NULL) or on one stream. */
cf_status cf_cuda_synchronize(int device, void *stream);

/* Where the CUDA executor's one-time costs went, since the process started
 * (counters only grow; times in nanoseconds of the wall clock). */
typedef struct cf_cuda_stats {
    uint64_t nvrtc_open_ns;   /* opening NVRTC (once)                      */
    uint64_t plans_built;     /* plan-cache misses: kernels generated      */
    uint64_t plan_build_ns;
    uint64_t compiles;        /* NVRTC compilations                        */
    uint64_t compile_ns;
    uint64_t disk_hits;       /* modules whose machine code came from disk */
    uint64_t module_loads;    /* cuModuleLoadData calls                    */
    uint64_t module_load_ns;
    uint64_t quick_plans;     /* new fusions started on the quick tier     */
    uint64_t tier_swaps;      /* full plans installed by the background    */
    uint64_t tier_failures;   /* full plans that failed (quick one stays)  */
} cf_cuda_stats;

void cf_cuda_stats_get(cf_cuda_stats *out);

/* Wait until the background compiler has no full plan left to install
 * (tiered compilation, above). For benchmarks and tests that must time or
 * check the full kernels; execute itself never needs it. */
void cf_cuda_wait_background(void);

/* Full plans the background compiler has yet to install (queued or being
 * compiled). 0 means every fusion executed so far runs its full kernels:
 * a benchmark that times a new fusion should see 0 first. */
int cf_cuda_background_pending(void);

/* Wait at most timeout_s seconds (a negative value: no limit) until
 * cf_cuda_background_pending() is 0; returns 1 when it is, 0 on time-out.
 * Thread safe; returns at once when nothing was ever queued. */
int cf_cuda_wait_background_for(double timeout_s);

#ifdef __cplusplus
}
#endif
#endif
