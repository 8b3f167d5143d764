/* cfuser/status.h - status codes and the thread-local error record.
 *
 * Every fallible core function returns a cf_status. CF_OK is zero; any other
 * value is an error kind, and the failing function has filled this thread's
 * error record (kind, op name, message) before returning it. The record stays
 * until the next error on this thread or cf_error_clear().
 */
#ifndef CFUSER_STATUS_H
#define CFUSER_STATUS_H

#ifdef __cplusplus
extern "C" {
#endif

typedef enum cf_status {
    CF_OK = 0,
    CF_ERR_VALUE = 1,       /* bad argument value (ValueError)              */
    CF_ERR_TYPE = 2,        /* wrong kind of value or dtype (TypeError)     */
    CF_ERR_INDEX = 3,       /* index or dim out of range (IndexError)       */
    CF_ERR_NOMEM = 4,       /* allocation failed (MemoryError)              */
    CF_ERR_UNSUPPORTED = 5, /* valid request not supported yet              */
    CF_ERR_RUNTIME = 6,     /* failure while compiling or running           */
    CF_ERR_OVERFLOW = 7,    /* size arithmetic overflowed (OverflowError)   */
    CF_ERR_DEVICE = 8       /* device missing or device call failed         */
} cf_status;

/* The error record of the calling thread. op and message are never NULL. */
typedef struct cf_error {
    cf_status kind;
    char op[48];       /* function or op that failed, e.g. "add"          */
    char message[464]; /* what was expected and what was given            */
} cf_error;

/* Fill this thread's record and return kind (printf-style message). */
cf_status cf_error_set(cf_status kind, const char *op, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;

/* Record an allocation failure in op and return CF_ERR_NOMEM. */
cf_status cf_error_nomem(const char *op);

/* This thread's last error (kind CF_OK when none). */
const cf_error *cf_error_last(void);

/* Forget this thread's last error. */
void cf_error_clear(void);

/* Short name of a status, e.g. "value error". */
const char *cf_status_name(cf_status s);

#ifdef __cplusplus
}
#endif
#endif
