/* cuda/kcache.c - the kernel cache: loaded modules in memory, machine code
 * on disk.
 *
 * Memory: one table of modules per process, keyed by device and the full
 * source text (the hash picks the bucket; the text is compared, so a hash
 * collision can never hand back the wrong kernel).
 *
 * Disk: $XDG_CACHE_HOME/cfuser (default ~/.cache/cfuser), mode 0700. Entry
 * <key>.cubin, key = FNV-1a 64 of source, options, architecture and NVRTC
 * version. An entry holds a header (magic, format version, key, payload size,
 * payload hash) and the cubin; anything that does not match in full is
 * ignored and recompiled. Writes go to a temporary file renamed into place,
 * so readers see an old entry, a new one, or none.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cuda/cuda_internal.h"
#include "cfuser/alloc.h"
#include "cfuser/status.h"

#define KC_MAGIC "CFUSERKC"
#define KC_FORMAT 1u

typedef struct kc_header {
    char magic[8];
    uint32_t format;
    uint32_t reserved;
    uint64_t key;
    uint64_t size;
    uint64_t hash;
} kc_header;

uint64_t cf_fnv1a(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    for (size_t i = 0; i < n; i++) {
        h ^= p[i];
        h *= 1099511628211ULL;
    }
    return h;
}

uint64_t cf_kcache_key(const char *src, const char *options, int arch,
                       int nvrtc_major, int nvrtc_minor)
{
    int meta[4] = {arch, nvrtc_major, nvrtc_minor, (int)KC_FORMAT};
    uint64_t h = cf_fnv1a(CF_FNV_OFFSET, src, strlen(src) + 1);
    h = cf_fnv1a(h, options, strlen(options) + 1);
    return cf_fnv1a(h, meta, sizeof meta);
}

static int mkdir_0700(const char *path)
{
    if (mkdir(path, 0700) == 0 || errno == EEXIST)
        return 0;
    return -1;
}

bool cf_kcache_dir(char *buf, size_t cap)
{
    const char *off = getenv("CFUSER_DISABLE_KERNEL_CACHE");
    if (off && *off && strcmp(off, "0") != 0)
        return false;
    const char *xdg = getenv("XDG_CACHE_HOME");
    int n;
    if (xdg && xdg[0] == '/') {
        if (mkdir_0700(xdg))
            return false;
        n = snprintf(buf, cap, "%s/cfuser", xdg);
    } else {
        const char *home = getenv("HOME");
        if (!home || home[0] != '/')
            return false;
        char base[4096];
        if (snprintf(base, sizeof base, "%s/.cache", home) >=
            (int)sizeof base)
            return false;
        if (mkdir_0700(base))
            return false;
        n = snprintf(buf, cap, "%s/cfuser", base);
    }
    if (n < 0 || (size_t)n >= cap)
        return false;
    if (mkdir(buf, 0700) != 0 && errno != EEXIST)
        return false;
    /* Only a directory of ours that nobody else can write is trusted. */
    struct stat stt;
    if (stat(buf, &stt) != 0 || !S_ISDIR(stt.st_mode) ||
        stt.st_uid != geteuid() || (stt.st_mode & 022))
        return false;
    return true;
}

static void entry_path(char *buf, size_t cap, const char *dir, uint64_t key)
{
    snprintf(buf, cap, "%s/%016llx.cubin", dir, (unsigned long long)key);
}

bool cf_kcache_disk_load(const char *dir, uint64_t key, void **data,
                         size_t *size)
{
    char path[4200];
    entry_path(path, sizeof path, dir, key);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = false;
    void *buf = NULL;
    kc_header h;
    struct stat stt;
    if (fstat(fd, &stt) != 0 || stt.st_size < (off_t)sizeof h)
        goto done;
    if (read(fd, &h, sizeof h) != (ssize_t)sizeof h)
        goto done;
    if (memcmp(h.magic, KC_MAGIC, 8) != 0 || h.format != KC_FORMAT ||
        h.key != key || h.size == 0 ||
        h.size != (uint64_t)stt.st_size - sizeof h || h.size > (1u << 30))
        goto done;
    buf = cf_malloc((size_t)h.size);
    if (!buf)
        goto done;
    size_t got = 0;
    while (got < h.size) {
        ssize_t r = read(fd, (char *)buf + got, (size_t)h.size - got);
        if (r <= 0)
            goto done;
        got += (size_t)r;
    }
    if (cf_fnv1a(CF_FNV_OFFSET, buf, got) != h.hash)
        goto done;
    ok = true;
    *data = buf;
    *size = got;
    buf = NULL;
done:
    cf_free(buf);
    close(fd);
    return ok;
}

cf_status cf_kcache_disk_store(const char *dir, uint64_t key,
                               const void *data, size_t size)
{
    char path[4200], tmp[4300];
    entry_path(path, sizeof path, dir, key);
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld.%lx", path, (long)getpid(),
             (unsigned long)pthread_self());
    kc_header h;
    memcpy(h.magic, KC_MAGIC, 8);
    h.format = KC_FORMAT;
    h.reserved = 0;
    h.key = key;
    h.size = size;
    h.hash = cf_fnv1a(CF_FNV_OFFSET, data, size);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
    if (fd < 0)
        return cf_error_set(CF_ERR_RUNTIME, "kernel_cache",
                            "cannot create %s: %s", tmp, strerror(errno));
    bool ok = write(fd, &h, sizeof h) == (ssize_t)sizeof h;
    size_t put = 0;
    while (ok && put < size) {
        ssize_t w = write(fd, (const char *)data + put, size - put);
        if (w <= 0)
            ok = false;
        else
            put += (size_t)w;
    }
    if (close(fd) != 0)
        ok = false;
    if (!ok || rename(tmp, path) != 0) {
        int e = errno;
        unlink(tmp);
        return cf_error_set(CF_ERR_RUNTIME, "kernel_cache",
                            "cannot write %s: %s", path, strerror(e));
    }
    return CF_OK;
}

/* --- in-memory modules --------------------------------------------------- */
typedef struct kc_entry {
    struct kc_entry *next;
    uint64_t hash;
    int ordinal;
    bool quick;        /* compiled with the quick tier's options          */
    bool building;     /* a thread is getting it; wait on kc_cond         */
    CUmodule module;
    char *source;
} kc_entry;

#define KC_BUCKETS 256
static pthread_mutex_t kc_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t kc_cond = PTHREAD_COND_INITIALIZER;
static kc_entry *kc_table[KC_BUCKETS];

static kc_entry *kc_find(uint64_t h, int ordinal, bool quick, const char *src)
{
    for (kc_entry *e = kc_table[h % KC_BUCKETS]; e; e = e->next)
        if (e->hash == h && e->ordinal == ordinal && e->quick == quick &&
            strcmp(e->source, src) == 0)
            return e;
    return NULL;
}

static void kc_unlink(kc_entry *dead)
{
    for (kc_entry **pp = &kc_table[dead->hash % KC_BUCKETS]; *pp; pp = &(*pp)->next)
        if (*pp == dead) {
            *pp = dead->next;
            return;
        }
}

static cf_status load_cubin(const cf_cu_api *cu, const void *cubin,
                            CUmodule *out)
{
    uint64_t t0 = cf_cuda_now_ns();
    cf_status st = cf_cu_check(cu->cuModuleLoadData(out, cubin), "cuda",
                               "cuModuleLoadData");
    cf_cuda_stat_add(CF_STAT_MODULE_LOADS, 1);
    cf_cuda_stat_add(CF_STAT_MODULE_LOAD_NS, cf_cuda_now_ns() - t0);
    return st;
}

/* Get the machine code (disk, or NVRTC when `compile`) and load it; *out
 * stays NULL when it is not on disk and compile is false. */
static cf_status kc_build(const cf_cu_device *d, const char *src, bool quick,
                          bool compile, CUmodule *out)
{
    const cf_cu_api *cu;
    const cf_nvrtc_api *rtc;
    cf_status st = cf_cu_load(&cu);
    if (st || (st = cf_nvrtc_load(&rtc)))
        return st;
    char dir[4096];
    bool disk = cf_kcache_dir(dir, sizeof dir);
    uint64_t key = cf_kcache_key(src, cf_nvrtc_options_text(quick), d->arch,
                                 rtc->major, rtc->minor);
    void *cubin = NULL;
    size_t size = 0;
    *out = NULL;
    if (disk && cf_kcache_disk_load(dir, key, &cubin, &size)) {
        st = load_cubin(cu, cubin, out);
        cf_free(cubin);
        if (st == CF_OK) {
            cf_cuda_stat_add(CF_STAT_DISK_HITS, 1);
            return CF_OK;
        }
        *out = NULL;
        cf_error_clear(); /* a stale entry: compile it afresh */
    }
    if (!compile)
        return CF_OK;
    uint64_t t0 = cf_cuda_now_ns();
    st = cf_nvrtc_compile_tier(src, "cfuser_kernels.cu", d->arch, quick, &cubin, &size);
    cf_cuda_stat_add(CF_STAT_COMPILES, 1);
    cf_cuda_stat_add(CF_STAT_COMPILE_NS, cf_cuda_now_ns() - t0);
    if (st)
        return st;
    st = load_cubin(cu, cubin, out);
    if (st == CF_OK && disk && cf_kcache_disk_store(dir, key, cubin, size))
        cf_error_clear(); /* a cache we cannot write is no failure */
    cf_free(cubin);
    return st;
}

/* One thread gets a given module; others asking for it wait, and threads
 * asking for other modules go on (no compile runs under the lock). */
cf_status cf_kcache_module_tier(const cf_cu_device *d, const char *src, bool quick,
                                bool compile, CUmodule *out)
{
    uint64_t h = cf_fnv1a(CF_FNV_OFFSET, src, strlen(src));
    kc_entry *e;
    *out = NULL;
    pthread_mutex_lock(&kc_lock);
    while ((e = kc_find(h, d->ordinal, quick, src)) && e->building)
        pthread_cond_wait(&kc_cond, &kc_lock);
    if (e) {
        pthread_mutex_unlock(&kc_lock);
        *out = e->module;
        return CF_OK;
    }
    size_t len = strlen(src);
    e = cf_calloc(1, sizeof *e);
    char *copy = e ? cf_malloc(len + 1) : NULL;
    if (!copy) {
        pthread_mutex_unlock(&kc_lock);
        cf_free(e);
        return cf_error_nomem("kernel_cache");
    }
    memcpy(copy, src, len + 1);
    e->hash = h;
    e->ordinal = d->ordinal;
    e->quick = quick;
    e->building = true;
    e->source = copy;
    e->next = kc_table[h % KC_BUCKETS];
    kc_table[h % KC_BUCKETS] = e;
    pthread_mutex_unlock(&kc_lock);

    CUmodule m = NULL;
    cf_status st = kc_build(d, src, quick, compile, &m);

    pthread_mutex_lock(&kc_lock);
    if (st == CF_OK && m) {
        e->module = m;
        e->building = false;
    } else {
        kc_unlink(e);
        cf_free(e->source);
        cf_free(e);
    }
    pthread_cond_broadcast(&kc_cond);
    pthread_mutex_unlock(&kc_lock);
    *out = m;
    return st;
}
