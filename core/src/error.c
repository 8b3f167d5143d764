/* error.c - the thread-local error record (status.h). */
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "cfuser/status.h"

static _Thread_local cf_error tls_error;

cf_status cf_error_set(cf_status kind, const char *op, const char *fmt, ...)
{
    va_list ap;
    tls_error.kind = kind;
    snprintf(tls_error.op, sizeof tls_error.op, "%s", op ? op : "");
    va_start(ap, fmt);
    vsnprintf(tls_error.message, sizeof tls_error.message, fmt, ap);
    va_end(ap);
    return kind;
}

cf_status cf_error_nomem(const char *op)
{
    return cf_error_set(CF_ERR_NOMEM, op, "%s: out of memory", op ? op : "cfuser");
}

const cf_error *cf_error_last(void) { return &tls_error; }

void cf_error_clear(void) { memset(&tls_error, 0, sizeof tls_error); }

const char *cf_status_name(cf_status s)
{
    switch (s) {
    case CF_OK: return "ok";
    case CF_ERR_VALUE: return "value error";
    case CF_ERR_TYPE: return "type error";
    case CF_ERR_INDEX: return "index error";
    case CF_ERR_NOMEM: return "out of memory";
    case CF_ERR_UNSUPPORTED: return "unsupported";
    case CF_ERR_RUNTIME: return "runtime error";
    case CF_ERR_OVERFLOW: return "overflow";
    case CF_ERR_DEVICE: return "device error";
    }
    return "unknown error";
}
