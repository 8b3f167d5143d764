/* cuda/cuda_host.h - the parts of the CUDA executor that need no driver
 * types: NVRTC, the kernel cache's keys and disk entries, and plans (code
 * generation). Tests on machines without the toolkit include only this. */
#ifndef CFUSER_CUDA_HOST_H
#define CFUSER_CUDA_HOST_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "cfuser/cuda.h"
#include "cfuser/program.h"

/* --- NVRTC table (declared here: the toolkit's nvrtc.h is optional) ------ */
typedef int cf_nvrtc_result; /* nvrtcResult; 0 is NVRTC_SUCCESS */
typedef struct cf_nvrtc_prog_s *cf_nvrtc_prog;

typedef struct cf_nvrtc_api {
    cf_nvrtc_result (*nvrtcVersion)(int *major, int *minor);
    const char *(*nvrtcGetErrorString)(cf_nvrtc_result r);
    cf_nvrtc_result (*nvrtcCreateProgram)(cf_nvrtc_prog *prog,
                                          const char *src, const char *name,
                                          int nheaders, const char *const *h,
                                          const char *const *hnames);
    cf_nvrtc_result (*nvrtcDestroyProgram)(cf_nvrtc_prog *prog);
    cf_nvrtc_result (*nvrtcCompileProgram)(cf_nvrtc_prog prog, int nopt,
                                           const char *const *opts);
    cf_nvrtc_result (*nvrtcGetProgramLogSize)(cf_nvrtc_prog prog,
                                              size_t *size);
    cf_nvrtc_result (*nvrtcGetProgramLog)(cf_nvrtc_prog prog, char *log);
    cf_nvrtc_result (*nvrtcGetCUBINSize)(cf_nvrtc_prog prog, size_t *size);
    cf_nvrtc_result (*nvrtcGetCUBIN)(cf_nvrtc_prog prog, char *cubin);
    int major, minor; /* its version */
} cf_nvrtc_api;

/* Load NVRTC once (CF_ERR_DEVICE naming the files tried when missing). */
cf_status cf_nvrtc_load(const cf_nvrtc_api **out);

/* --- statistics (stats.c) ------------------------------------------------ */
typedef enum cf_cuda_stat {
    CF_STAT_NVRTC_OPEN_NS, CF_STAT_PLANS_BUILT, CF_STAT_PLAN_BUILD_NS,
    CF_STAT_COMPILES, CF_STAT_COMPILE_NS, CF_STAT_DISK_HITS,
    CF_STAT_MODULE_LOADS, CF_STAT_MODULE_LOAD_NS, CF_STAT_QUICK_PLANS,
    CF_STAT_TIER_SWAPS, CF_STAT_TIER_FAILURES, CF_STAT_COUNT
} cf_cuda_stat;

/* Monotonic clock in nanoseconds. */
uint64_t cf_cuda_now_ns(void);
/* Add v to one counter (atomic). */
void cf_cuda_stat_add(cf_cuda_stat which, uint64_t v);

/* --- hashing (kcache.c) -------------------------------------------------- */
#define CF_FNV_OFFSET 0xcbf29ce484222325ULL
uint64_t cf_fnv1a(uint64_t h, const void *data, size_t n);

/* --- NVRTC (nvrtc.c) ----------------------------------------------------- */
/* Compile src (named name) for sm_<arch>; *cubin from cf_malloc. On failure
 * CF_ERR_RUNTIME whose message holds the start of the log and the path the
 * source was written to. */
cf_status cf_nvrtc_compile(const char *src, const char *name, int arch,
                           void **cubin, size_t *size);
/* The same for a tier: quick adds options that trade kernel speed for
 * compile time. */
cf_status cf_nvrtc_compile_tier(const char *src, const char *name, int arch,
                                bool quick, void **cubin, size_t *size);
/* The options a tier's compile passes (for the cache key). */
const char *cf_nvrtc_options_text(bool quick);

/* --- kernel cache (kcache.c) --------------------------------------------- */
/* Key of the machine code of src: hash of source, options, arch, NVRTC. */
uint64_t cf_kcache_key(const char *src, const char *options, int arch,
                       int nvrtc_major, int nvrtc_minor);
/* The disk cache directory (created with mode 0700), or false when the disk
 * cache is off or unusable. */
bool cf_kcache_dir(char *buf, size_t cap);
/* Read entry key from dir: true and a cf_malloc'd payload when the entry is
 * whole and ours; false for a missing, corrupt or foreign entry. */
bool cf_kcache_disk_load(const char *dir, uint64_t key, void **data,
                         size_t *size);
/* Write the entry atomically (temporary file, then rename). */
cf_status cf_kcache_disk_store(const char *dir, uint64_t key,
                               const void *data, size_t size);
/* --- code generation (codegen.c) ----------------------------------------- */
/* One word of a kernel's parameter block, filled at launch. */
typedef enum cf_pword_kind {
    CF_PW_CONST = 0, /* the value in the plan                             */
    CF_PW_PTR = 1,   /* data pointer of buffer `ref`                      */
    CF_PW_SCALAR = 2 /* scalar slot `ref`, as double or int64 per dtype    */
} cf_pword_kind;

typedef struct cf_pword {
    uint8_t kind;
    int32_t ref;
    int64_t value;
} cf_pword;

typedef struct cf_kernel_launch {
    char name[32];
    unsigned grid[3], block[3];
    unsigned smem;
    int nwords;
    cf_pword *words;
} cf_kernel_launch;

/* A buffer the plan reads or writes: a slot's own storage, or a temporary
 * the executor allocates (stream-ordered) for the run. */
typedef struct cf_plan_buffer {
    int32_t slot;      /* slot whose data it is (-1: scratch)              */
    bool temp;         /* allocate per run                                */
    int64_t bytes;     /* for temps                                       */
    int64_t zero_bytes;/* scratch: leading bytes cleared before each run  */
} cf_plan_buffer;

typedef struct cf_cuda_plan {
    char *source;              /* every kernel of the plan, one module     */
    bool quick;                /* the quick tier: compiled for latency     */
    int nkernels;
    cf_kernel_launch *kernels;
    int nbuffers;
    cf_plan_buffer *buffers;
    int index_flag;            /* buffer (16 bytes: instruction + 1 and
                                  value of an index out of range), zeroed
                                  before the kernels and read after; -1
                                  when nothing is indexed                */
    void *module;              /* CUmodule                                 */
    void **funcs;              /* CUfunction per kernel                    */
} cf_cuda_plan;

/* Build the plan (source, launches, temporaries) of p for these slot values
 * (shapes, strides, alignment of the data pointers) on a device of info. */
cf_status cf_cuda_plan_build(const cf_program *p, const cf_slot_value *vals,
                             const cf_cuda_device_info *info,
                             cf_cuda_plan **out);
/* The same with the tier chosen: quick = kernels that compile fast (no
 * unrolling across vectors; compiled with cf_nvrtc_quick_options), used
 * while the full plan compiles in the background (launch.c). */
cf_status cf_cuda_plan_build_tier(const cf_program *p, const cf_slot_value *vals,
                                  const cf_cuda_device_info *info, bool quick,
                                  cf_cuda_plan **out);
void cf_cuda_plan_free(cf_cuda_plan *plan);
/* The error of a run whose index-check flag (cf_cuda_plan.index_flag)
 * holds {instruction + 1, value} (cuda/indexing.c). */
cf_status cf_cuda_index_error(const cf_program *p, const cf_slot_value *vals,
                              const int64_t *flag);

/* The fixed text every generated module starts with. */
extern const char cf_cuda_prelude[];

#endif
