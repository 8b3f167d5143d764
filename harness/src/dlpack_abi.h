/* dlpack_abi.h - the DLPack 1.x structures the crafted producers fill,
 * laid out as the DLPack ABI defines them (written from the specification;
 * only what the harness needs). */
#ifndef CFH_DLPACK_ABI_H
#define CFH_DLPACK_ABI_H

#include <stdint.h>

enum { CFH_DL_CPU = 1, CFH_DL_CUDA = 2 };
enum { CFH_DL_INT = 0, CFH_DL_UINT = 1, CFH_DL_FLOAT = 2, CFH_DL_BFLOAT = 4,
       CFH_DL_BOOL = 6 };
#define CFH_DL_FLAG_READ_ONLY 1ULL

typedef struct cfh_dl_version { uint32_t major, minor; } cfh_dl_version;
typedef struct cfh_dl_device { int32_t device_type, device_id; } cfh_dl_device;
typedef struct cfh_dl_dtype { uint8_t code, bits; uint16_t lanes; } cfh_dl_dtype;

typedef struct cfh_dl_tensor {
    void *data;
    cfh_dl_device device;
    int32_t ndim;
    cfh_dl_dtype dtype;
    int64_t *shape;
    int64_t *strides;   /* NULL: compact row-major */
    uint64_t byte_offset;
} cfh_dl_tensor;

typedef struct cfh_dl_managed {            /* DLManagedTensor, "dltensor" */
    cfh_dl_tensor dl_tensor;
    void *manager_ctx;
    void (*deleter)(struct cfh_dl_managed *self);
} cfh_dl_managed;

typedef struct cfh_dl_managed_v {  /* DLManagedTensorVersioned, 1.x */
    cfh_dl_version version;
    void *manager_ctx;
    void (*deleter)(struct cfh_dl_managed_v *self);
    uint64_t flags;
    cfh_dl_tensor dl_tensor;
} cfh_dl_managed_v;

#endif
