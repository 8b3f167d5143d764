/* dlpack_abi.h - the DLPack 1.x ABI as cfuser consumes and produces it.
 *
 * Written from the DLPack specification (major version 1, through 1.3 and
 * its C exchange API), with cfuser's own names: the layout, not the names,
 * is the contract. Static assertions pin the layout on every build.
 */
#ifndef CFUSER_BINDINGS_DLPACK_ABI_H
#define CFUSER_BINDINGS_DLPACK_ABI_H

#include <stddef.h>
#include <stdint.h>

/* Device types (DLDeviceType). */
enum {
    DL_CPU = 1,
    DL_CUDA = 2,
    DL_CUDA_HOST = 3,   /* pinned host memory: a CPU pointer            */
    DL_CUDA_MANAGED = 13
};

/* Type codes (DLDataTypeCode). */
enum {
    DL_INT = 0,
    DL_UINT = 1,
    DL_FLOAT = 2,
    DL_OPAQUE_HANDLE = 3,
    DL_BFLOAT = 4,
    DL_COMPLEX = 5,
    DL_BOOL = 6,
    DL_FLOAT8_E3M4 = 7,
    DL_FLOAT8_E4M3 = 8,
    DL_FLOAT8_E4M3B11FNUZ = 9,
    DL_FLOAT8_E4M3FN = 10,
    DL_FLOAT8_E4M3FNUZ = 11,
    DL_FLOAT8_E5M2 = 12,
    DL_FLOAT8_E5M2FNUZ = 13,
    DL_FLOAT8_E8M0FNU = 14,
    DL_FLOAT6_E2M3FN = 15,
    DL_FLOAT6_E3M2FN = 16,
    DL_FLOAT4_E2M1FN = 17
};

/* DLManagedTensorVersioned.flags */
#define DL_FLAG_READ_ONLY ((uint64_t)1 << 0)
#define DL_FLAG_IS_COPIED ((uint64_t)1 << 1)

/* Capsule names of the Python-level protocol. */
#define DL_CAPSULE_VERSIONED "dltensor_versioned"
#define DL_CAPSULE_VERSIONED_USED "used_dltensor_versioned"
#define DL_CAPSULE_LEGACY "dltensor"
#define DL_CAPSULE_LEGACY_USED "used_dltensor"
#define DL_CAPSULE_EXCHANGE_API "dlpack_exchange_api"

#define DL_MAJOR_VERSION 1u

typedef struct dl_version {
    uint32_t major;
    uint32_t minor;
} dl_version;

typedef struct dl_device {
    int32_t device_type; /* an enum of int size in the C definition */
    int32_t device_id;
} dl_device;

typedef struct dl_dtype {
    uint8_t code;
    uint8_t bits;
    uint16_t lanes;
} dl_dtype;

typedef struct dl_tensor {
    void *data;
    dl_device device;
    int32_t ndim;
    dl_dtype dtype;
    int64_t *shape;
    int64_t *strides;    /* in elements; NULL means row-major contiguous */
    uint64_t byte_offset;
} dl_tensor;

typedef struct dl_managed_tensor {
    dl_tensor dl_tensor;
    void *manager_ctx;
    void (*deleter)(struct dl_managed_tensor *self);
} dl_managed_tensor;

typedef struct dl_managed_tensor_versioned {
    dl_version version;
    void *manager_ctx;
    void (*deleter)(struct dl_managed_tensor_versioned *self);
    uint64_t flags;
    dl_tensor dl_tensor;
} dl_managed_tensor_versioned;

/* The C exchange API a framework publishes as the type attribute
 * __dlpack_c_exchange_api__ (a capsule named "dlpack_exchange_api").
 * Every function returns 0 on success and -1 with a Python exception set;
 * all need the GIL. */
typedef struct dl_exchange_api_header {
    dl_version version;
    struct dl_exchange_api_header *prev_api;
} dl_exchange_api_header;

typedef struct dl_exchange_api {
    dl_exchange_api_header header;
    /* New tensor in the framework's allocator; only prototype's dtype,
     * ndim, shape and device are read. On failure calls set_error. */
    int (*managed_tensor_allocator)(dl_tensor *prototype,
                                    dl_managed_tensor_versioned **out,
                                    void *error_ctx,
                                    void (*set_error)(void *error_ctx,
                                                      const char *kind,
                                                      const char *message));
    /* An owning export of a Python tensor of the API's type. */
    int (*managed_tensor_from_py_object_no_sync)(
        void *py_object, dl_managed_tensor_versioned **out);
    /* Wrap an owning tensor (ownership is taken) as a Python tensor. */
    int (*managed_tensor_to_py_object_no_sync)(
        dl_managed_tensor_versioned *tensor, void **out_py_object);
    /* A borrowed view; shape and strides valid until control returns to
     * the producer, data as long as the object lives. May be NULL. */
    int (*dltensor_from_py_object_no_sync)(void *py_object, dl_tensor *out);
    int (*current_work_stream)(int32_t device_type, int32_t device_id,
                               void **out_current_stream);
} dl_exchange_api;

/* The exchange API struct with these members first appeared in 1.3. */
#define DL_EXCHANGE_API_MIN_MINOR 3u

#if defined(__x86_64__) || defined(__aarch64__)
_Static_assert(sizeof(dl_device) == 8, "DLDevice layout");
_Static_assert(sizeof(dl_dtype) == 4, "DLDataType layout");
_Static_assert(offsetof(dl_tensor, device) == 8, "DLTensor layout");
_Static_assert(offsetof(dl_tensor, ndim) == 16, "DLTensor layout");
_Static_assert(offsetof(dl_tensor, dtype) == 20, "DLTensor layout");
_Static_assert(offsetof(dl_tensor, shape) == 24, "DLTensor layout");
_Static_assert(offsetof(dl_tensor, strides) == 32, "DLTensor layout");
_Static_assert(offsetof(dl_tensor, byte_offset) == 40, "DLTensor layout");
_Static_assert(sizeof(dl_tensor) == 48, "DLTensor layout");
_Static_assert(offsetof(dl_managed_tensor, deleter) == 56, "DLManagedTensor");
_Static_assert(offsetof(dl_managed_tensor_versioned, flags) == 24,
               "DLManagedTensorVersioned layout");
_Static_assert(offsetof(dl_managed_tensor_versioned, dl_tensor) == 32,
               "DLManagedTensorVersioned layout");
_Static_assert(offsetof(dl_exchange_api, managed_tensor_allocator) == 16,
               "DLPackExchangeAPI layout");
_Static_assert(offsetof(dl_exchange_api, current_work_stream) == 48,
               "DLPackExchangeAPI layout");
#endif

#endif
