/* buf.c -- growable byte buffer with amortised O(1) appends */
#include "util/buf.h"
#include "util/mem.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ferry_buf_reserve(ferry_buf_t *b, size_t extra)
{
    size_t need = b->len + extra + 1;
    if (need <= b->cap)
        return;
    size_t cap = b->cap ? b->cap : 64;
    while (cap < need)
        cap *= 2;
    b->data = ferry_realloc(b->data, cap);
    b->cap = cap;
}

void ferry_buf_append(ferry_buf_t *b, const void *data, size_t len)
{
    ferry_buf_reserve(b, len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
}

void ferry_buf_puts(ferry_buf_t *b, const char *s)
{
    ferry_buf_append(b, s, strlen(s));
}

void ferry_buf_putc(ferry_buf_t *b, char c)
{
    ferry_buf_append(b, &c, 1);
}

void ferry_buf_printf(ferry_buf_t *b, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    char small[256];
    int n = vsnprintf(small, sizeof small, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    if ((size_t)n < sizeof small) {
        ferry_buf_append(b, small, (size_t)n);
        return;
    }
    ferry_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

void ferry_buf_reset(ferry_buf_t *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void ferry_buf_free(ferry_buf_t *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

char *ferry_buf_steal(ferry_buf_t *b)
{
    if (!b->data)
        ferry_buf_reserve(b, 0), b->data[0] = '\0';
    char *p = b->data;
    b->data = NULL;
    b->len = b->cap = 0;
    return p;
}
