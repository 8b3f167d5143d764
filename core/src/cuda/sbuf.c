/* cuda/sbuf.c - a growable string for generated source. */
#include <stdio.h>
#include <string.h>

#include "cuda/sbuf.h"
#include "cfuser/alloc.h"

void cf_sb_printf(cf_sbuf *b, const char *fmt, ...)
{
    if (b->oom)
        return;
    for (;;) {
        va_list ap;
        va_start(ap, fmt);
        size_t room = b->cap - b->len;
        int n = vsnprintf(b->s ? b->s + b->len : NULL, b->s ? room : 0, fmt,
                          ap);
        va_end(ap);
        if (n < 0) {
            b->oom = true;
            return;
        }
        if (b->s && (size_t)n < room) {
            b->len += (size_t)n;
            return;
        }
        size_t cap = b->cap ? b->cap : 4096;
        while (cap - b->len <= (size_t)n)
            cap *= 2;
        char *s = cf_realloc(b->s, cap);
        if (!s) {
            b->oom = true;
            return;
        }
        b->s = s;
        b->cap = cap;
    }
}

void cf_sb_free(cf_sbuf *b)
{
    cf_free(b->s);
    memset(b, 0, sizeof *b);
}
