/* cuda/sbuf.h - a growable string for generated source. */
#ifndef CFUSER_CUDA_SBUF_H
#define CFUSER_CUDA_SBUF_H

#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>

typedef struct cf_sbuf {
    char *s;
    size_t len, cap;
    bool oom; /* an append failed; the text is incomplete */
} cf_sbuf;

void cf_sb_printf(cf_sbuf *b, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
void cf_sb_free(cf_sbuf *b);

#endif
