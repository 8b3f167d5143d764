/* cuda/device.c - devices, their primary contexts, and memory helpers.
 *
 * cfuser shares each device's primary context with every other user of the
 * driver in the process (torch does the same), so pointers and streams pass
 * between them freely.
 */
#include <pthread.h>
#include <stdio.h>
#include <string.h>

#include "cuda/cuda_internal.h"
#include "cfuser/status.h"

#define CF_MAX_DEVICES 64

static pthread_mutex_t dev_lock = PTHREAD_MUTEX_INITIALIZER;
static cf_cu_device devices[CF_MAX_DEVICES];
static bool dev_ready[CF_MAX_DEVICES];

static int attr(const cf_cu_api *cu, CUdevice d, CUdevice_attribute a)
{
    int v = 0;
    if (cu->cuDeviceGetAttribute(&v, a, d) != CUDA_SUCCESS)
        return 0;
    return v;
}

static cf_status device_init(const cf_cu_api *cu, int ordinal,
                             cf_cu_device *d)
{
    cf_status st;
    memset(d, 0, sizeof *d);
    d->ordinal = ordinal;
    if ((st = cf_cu_check(cu->cuDeviceGet(&d->dev, ordinal), "cuda",
                          "cuDeviceGet")))
        return st;
    if ((st = cf_cu_check(cu->cuDevicePrimaryCtxRetain(&d->ctx, d->dev),
                          "cuda", "cuDevicePrimaryCtxRetain")))
        return st;
    cf_cuda_device_info *in = &d->info;
    in->ordinal = ordinal;
    if (cu->cuDeviceGetName(in->name, (int)sizeof in->name, d->dev) !=
        CUDA_SUCCESS)
        snprintf(in->name, sizeof in->name, "CUDA device %d", ordinal);
    in->cc_major = attr(cu, d->dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MAJOR);
    in->cc_minor = attr(cu, d->dev, CU_DEVICE_ATTRIBUTE_COMPUTE_CAPABILITY_MINOR);
    in->sm_count = attr(cu, d->dev, CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT);
    in->max_threads_per_sm =
        attr(cu, d->dev, CU_DEVICE_ATTRIBUTE_MAX_THREADS_PER_MULTIPROCESSOR);
    in->max_smem_per_block =
        attr(cu, d->dev, CU_DEVICE_ATTRIBUTE_MAX_SHARED_MEMORY_PER_BLOCK_OPTIN);
    in->l2_bytes = attr(cu, d->dev, CU_DEVICE_ATTRIBUTE_L2_CACHE_SIZE);
    d->max_blocks_per_sm =
        attr(cu, d->dev, CU_DEVICE_ATTRIBUTE_MAX_BLOCKS_PER_MULTIPROCESSOR);
    d->mempool = attr(cu, d->dev, CU_DEVICE_ATTRIBUTE_MEMORY_POOLS_SUPPORTED);
    size_t mem = 0;
    if (cu->cuDeviceTotalMem_v2(&mem, d->dev) == CUDA_SUCCESS)
        in->total_mem = mem;
    cu->cuDriverGetVersion(&in->driver_version);
    const cf_nvrtc_api *rtc;
    if (cf_nvrtc_load(&rtc) == CF_OK) {
        in->nvrtc_major = rtc->major;
        in->nvrtc_minor = rtc->minor;
    } else {
        cf_error_clear();
    }
    d->arch = in->cc_major * 10 + in->cc_minor;
    if (in->sm_count <= 0)
        in->sm_count = 1;
    if (d->max_blocks_per_sm <= 0)
        d->max_blocks_per_sm = 16;
    return CF_OK;
}

cf_status cf_cu_device_enter(int ordinal, const cf_cu_device **out)
{
    const cf_cu_api *cu;
    cf_status st = cf_cu_load(&cu);
    if (st)
        return st;
    if (ordinal < 0 || ordinal >= CF_MAX_DEVICES)
        return cf_error_set(CF_ERR_DEVICE, "cuda",
                            "device %d: expected an ordinal in [0, %d)",
                            ordinal, CF_MAX_DEVICES);
    /* Fast path: published with the lock's release, read under it. */
    pthread_mutex_lock(&dev_lock);
    if (!dev_ready[ordinal]) {
        int n = 0;
        if (cu->cuDeviceGetCount(&n) != CUDA_SUCCESS || ordinal >= n) {
            pthread_mutex_unlock(&dev_lock);
            return cf_error_set(CF_ERR_DEVICE, "cuda",
                                "device %d does not exist (%d CUDA devices)",
                                ordinal, n);
        }
        st = device_init(cu, ordinal, &devices[ordinal]);
        if (st) {
            pthread_mutex_unlock(&dev_lock);
            return st;
        }
        dev_ready[ordinal] = true;
    }
    cf_cu_device *d = &devices[ordinal];
    pthread_mutex_unlock(&dev_lock);
    CUcontext cur = NULL;
    if (cu->cuCtxGetCurrent(&cur) != CUDA_SUCCESS || cur != d->ctx) {
        st = cf_cu_check(cu->cuCtxSetCurrent(d->ctx), "cuda",
                         "cuCtxSetCurrent");
        if (st)
            return st;
    }
    *out = d;
    return CF_OK;
}

cf_status cf_cuda_device_info_get(int device, cf_cuda_device_info *out)
{
    const cf_cu_device *d;
    cf_status st = cf_cu_device_enter(device, &d);
    if (st)
        return st;
    *out = d->info;
    return CF_OK;
}

/* Make device current and return the driver's function table. */
static cf_status enter_api(int device, const cf_cu_api **cu)
{
    const cf_cu_device *d;
    cf_status st = cf_cu_device_enter(device, &d);
    return st ? st : cf_cu_load(cu);
}

cf_status cf_cuda_malloc(int device, size_t bytes, void **out)
{
    const cf_cu_api *cu;
    cf_status st = enter_api(device, &cu);
    if (st)
        return st;
    CUdeviceptr p = 0;
    st = cf_cu_check(cu->cuMemAlloc_v2(&p, bytes ? bytes : 1),
                     "cuda_malloc", "cuMemAlloc");
    if (st)
        return st;
    *out = (void *)(uintptr_t)p;
    return CF_OK;
}

cf_status cf_cuda_free(int device, void *ptr)
{
    const cf_cu_api *cu;
    cf_status st = enter_api(device, &cu);
    if (st)
        return st;
    if (!ptr)
        return CF_OK;
    return cf_cu_check(cu->cuMemFree_v2((CUdeviceptr)(uintptr_t)ptr),
                       "cuda_free", "cuMemFree");
}

cf_status cf_cuda_memcpy_htod(int device, void *dst, const void *src,
                              size_t bytes)
{
    const cf_cu_api *cu;
    cf_status st = enter_api(device, &cu);
    if (st)
        return st;
    return cf_cu_check(
        cu->cuMemcpyHtoD_v2((CUdeviceptr)(uintptr_t)dst, src, bytes),
        "cuda_memcpy_htod", "cuMemcpyHtoD");
}

cf_status cf_cuda_memcpy_dtoh(int device, void *dst, const void *src,
                              size_t bytes)
{
    const cf_cu_api *cu;
    cf_status st = enter_api(device, &cu);
    if (st)
        return st;
    return cf_cu_check(
        cu->cuMemcpyDtoH_v2(dst, (CUdeviceptr)(uintptr_t)src, bytes),
        "cuda_memcpy_dtoh", "cuMemcpyDtoH");
}

cf_status cf_cuda_memcpy_dtod(int device, void *dst, const void *src,
                              size_t bytes, void *stream)
{
    const cf_cu_api *cu;
    cf_status st = enter_api(device, &cu);
    if (st)
        return st;
    return cf_cu_check(cu->cuMemcpyDtoDAsync_v2((CUdeviceptr)(uintptr_t)dst,
                                                (CUdeviceptr)(uintptr_t)src,
                                                bytes, (CUstream)stream),
                       "cuda_memcpy_dtod", "cuMemcpyDtoDAsync");
}

cf_status cf_cuda_synchronize(int device, void *stream)
{
    const cf_cu_api *cu;
    cf_status st = enter_api(device, &cu);
    if (st)
        return st;
    if (stream)
        return cf_cu_check(cu->cuStreamSynchronize((CUstream)stream),
                           "cuda_synchronize", "cuStreamSynchronize");
    return cf_cu_check(cu->cuCtxSynchronize(), "cuda_synchronize",
                       "cuCtxSynchronize");
}
