/* cuda/cuda_internal.h - shared pieces of the CUDA executor.
 *
 * The driver API types and prototypes come from the toolkit's cuda.h; the
 * functions themselves are reached only through the table that loader.c
 * fills with dlsym, so libcfuser never links against libcuda or NVRTC.
 */
#ifndef CFUSER_CUDA_INTERNAL_H
#define CFUSER_CUDA_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <cuda.h>

#include "cfuser/cuda.h"
#include "cfuser/program.h"
#include "cuda/cuda_host.h"

/* --- driver API table (loader.c) ----------------------------------------- */
#define CF_CU_FN(X)                                                           \
    X(cuInit, "cuInit")                                                       \
    X(cuDriverGetVersion, "cuDriverGetVersion")                               \
    X(cuGetErrorName, "cuGetErrorName")                                       \
    X(cuGetErrorString, "cuGetErrorString")                                   \
    X(cuDeviceGetCount, "cuDeviceGetCount")                                   \
    X(cuDeviceGet, "cuDeviceGet")                                             \
    X(cuDeviceGetName, "cuDeviceGetName")                                     \
    X(cuDeviceGetAttribute, "cuDeviceGetAttribute")                           \
    X(cuDeviceTotalMem_v2, "cuDeviceTotalMem_v2")                             \
    X(cuDevicePrimaryCtxRetain, "cuDevicePrimaryCtxRetain")                   \
    X(cuCtxSetCurrent, "cuCtxSetCurrent")                                     \
    X(cuCtxGetCurrent, "cuCtxGetCurrent")                                     \
    X(cuCtxSynchronize, "cuCtxSynchronize")                                   \
    X(cuModuleLoadData, "cuModuleLoadData")                                   \
    X(cuModuleGetFunction, "cuModuleGetFunction")                             \
    X(cuFuncSetAttribute, "cuFuncSetAttribute")                               \
    X(cuOccupancyMaxActiveBlocksPerMultiprocessor,                            \
      "cuOccupancyMaxActiveBlocksPerMultiprocessor")                          \
    X(cuLaunchKernel, "cuLaunchKernel")                                       \
    X(cuMemAlloc_v2, "cuMemAlloc_v2")                                         \
    X(cuMemFree_v2, "cuMemFree_v2")                                           \
    X(cuMemAllocAsync, "cuMemAllocAsync")                                     \
    X(cuMemFreeAsync, "cuMemFreeAsync")                                       \
    X(cuMemsetD8Async, "cuMemsetD8Async")                                     \
    X(cuMemcpyHtoD_v2, "cuMemcpyHtoD_v2")                                     \
    X(cuMemcpyHtoDAsync_v2, "cuMemcpyHtoDAsync_v2")                           \
    X(cuMemcpyDtoH_v2, "cuMemcpyDtoH_v2")                                     \
    X(cuMemcpyDtoDAsync_v2, "cuMemcpyDtoDAsync_v2")                           \
    X(cuStreamSynchronize, "cuStreamSynchronize")

typedef struct cf_cu_api {
#define CF_CU_FIELD(fn, sym) __typeof__(&fn) fn;
    CF_CU_FN(CF_CU_FIELD)
#undef CF_CU_FIELD
} cf_cu_api;

/* Load the driver (and cuInit it) once. On failure the error record says
 * which files were tried and why they failed. */
cf_status cf_cu_load(const cf_cu_api **out);

/* Turn a driver result into CF_OK or a CF_ERR_DEVICE (CF_ERR_NOMEM for
 * out-of-memory) naming the call. */
cf_status cf_cu_check(CUresult r, const char *op, const char *call);

/* --- devices (device.c) -------------------------------------------------- */
typedef struct cf_cu_device {
    int ordinal;
    CUdevice dev;
    CUcontext ctx;            /* the primary context, retained            */
    int arch;                 /* e.g. 90                                  */
    int max_blocks_per_sm;
    bool mempool;             /* cuMemAllocAsync is supported             */
    cf_cuda_device_info info;
} cf_cu_device;

/* The device with this ordinal, its primary context made current on the
 * calling thread. */
cf_status cf_cu_device_enter(int ordinal, const cf_cu_device **out);

/* The module of src on device d for a tier (its compile options): from
 * memory, disk, or compiled now; it lives as long as the process. With
 * compile false only memory and disk are asked, and *out is NULL (CF_OK)
 * when neither has it. */
cf_status cf_kcache_module_tier(const cf_cu_device *d, const char *src, bool quick,
                                bool compile, CUmodule *out);

/* --- tiered compilation (tier.c) ----------------------------------------- */
/* Whether new fusions start on the quick tier (CFUSER_CUDA_TIERED != 0). */
bool cf_tier_enabled(void);
/* Called on the worker once full's module is loaded: install it (take
 * ownership of full) or fail (the worker frees it). */
typedef cf_status (*cf_tier_install)(void *slot, cf_cuda_plan *full);
/* Compile full's source on the worker, then install(slot, full). Owns full
 * only on success. */
cf_status cf_tier_enqueue(int ordinal, cf_cuda_plan *full, void *slot, cf_tier_install install);

#endif
