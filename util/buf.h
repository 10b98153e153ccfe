/* buf.h -- a growable byte buffer (the one string builder of the project) */
#ifndef FERRY_BUF_H
#define FERRY_BUF_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    char *data; /* always NUL-terminated when len > 0 or after any append */
    size_t len;
    size_t cap;
} ferry_buf_t;

#define FERRY_BUF_INIT {NULL, 0, 0}

void ferry_buf_reserve(ferry_buf_t *b, size_t extra);
void ferry_buf_append(ferry_buf_t *b, const void *data, size_t len);
void ferry_buf_puts(ferry_buf_t *b, const char *s);
void ferry_buf_putc(ferry_buf_t *b, char c);
void ferry_buf_printf(ferry_buf_t *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void ferry_buf_reset(ferry_buf_t *b); /* len = 0, keeps memory */
void ferry_buf_free(ferry_buf_t *b);
/* Hand the bytes to the caller (NUL-terminated, never NULL); b becomes empty. */
char *ferry_buf_steal(ferry_buf_t *b);

#endif
