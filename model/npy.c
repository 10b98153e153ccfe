/* npy.c -- read and write NumPy .npy files, refusing anything malformed or unsafe
 *
 * Format (numpy's NEP 1 / numpy.lib.format): "\x93NUMPY", major, minor, header length
 * (u16 LE for 1.0; u32 LE for 2.0 and 3.0), then a Python dict literal such as
 * {'descr': '<f4', 'fortran_order': False, 'shape': (3, 4), } padded with spaces and a
 * newline, then the raw data. We parse that literal with a strict little parser rather
 * than anything resembling evaluation. */
#include "model/npy.h"

#include "util/file.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "npy.c assumes a little-endian host (x86_64, aarch64)"
#endif

#define S_MAGIC "\x93NUMPY"
#define S_MAGIC_LEN 6
#define S_ALIGN 64 /* numpy aligns the data start to 64 bytes */
#define S_V1_MAX_HEADER 65535u

static const char s_empty[] = "";

static const struct {
    const char *name;
    size_t itemsize;
    char kind; /* numpy kind: b i u f */
} s_types[FERRY_NPY_DTYPE_COUNT] = {
    [FERRY_NPY_BOOL] = {"bool", 1, 'b'},       [FERRY_NPY_INT8] = {"int8", 1, 'i'},
    [FERRY_NPY_UINT8] = {"uint8", 1, 'u'},     [FERRY_NPY_INT16] = {"int16", 2, 'i'},
    [FERRY_NPY_UINT16] = {"uint16", 2, 'u'},   [FERRY_NPY_INT32] = {"int32", 4, 'i'},
    [FERRY_NPY_UINT32] = {"uint32", 4, 'u'},   [FERRY_NPY_INT64] = {"int64", 8, 'i'},
    [FERRY_NPY_UINT64] = {"uint64", 8, 'u'},   [FERRY_NPY_FLOAT16] = {"float16", 2, 'f'},
    [FERRY_NPY_FLOAT32] = {"float32", 4, 'f'}, [FERRY_NPY_FLOAT64] = {"float64", 8, 'f'},
    [FERRY_NPY_STRING] = {"string", 0, 'U'},
};

size_t ferry_npy_itemsize(ferry_npy_dtype_t dtype)
{
    return (unsigned)dtype < FERRY_NPY_DTYPE_COUNT ? s_types[dtype].itemsize : 0;
}

const char *ferry_npy_dtype_name(ferry_npy_dtype_t dtype)
{
    return (unsigned)dtype < FERRY_NPY_DTYPE_COUNT ? s_types[dtype].name : "unknown";
}

int ferry_npy_dtype_from_name(const char *name)
{
    for (int i = 0; i < FERRY_NPY_DTYPE_COUNT; i++)
        if (name && !strcmp(name, s_types[i].name))
            return i;
    return -1;
}

/* ---- construction ---------------------------------------------------------------------- */

/* count = product of shape; false on overflow or a data size over the limit. */
static bool s_count(size_t ndim, const uint64_t *shape, size_t itemsize, uint64_t *count)
{
    uint64_t n = 1;
    for (size_t i = 0; i < ndim; i++) {
        if (shape[i] && n > UINT64_MAX / shape[i])
            return false;
        n *= shape[i];
    }
    if (itemsize && n > FERRY_NPY_MAX_BYTES / itemsize)
        return false;
    *count = n;
    return true;
}

/* The array shell; numeric data zero-filled only when is_zeroed (the reader overwrites
 * every byte, and zeroing 1 GiB first would double its memory traffic). */
static ferry_npy_t *s_new(ferry_npy_dtype_t dtype, size_t ndim, const uint64_t *shape, bool is_zeroed)
{
    uint64_t count;
    if ((unsigned)dtype >= FERRY_NPY_DTYPE_COUNT || ndim > FERRY_NPY_MAX_DIMS ||
        !s_count(ndim, shape, dtype == FERRY_NPY_STRING ? sizeof(char *) : s_types[dtype].itemsize, &count))
        return NULL;
    ferry_npy_t *a = ferry_calloc(1, sizeof *a);
    a->dtype = dtype;
    a->ndim = ndim;
    for (size_t i = 0; i < ndim; i++)
        a->shape[i] = shape[i];
    a->count = count;
    if (dtype == FERRY_NPY_STRING) {
        a->strings = ferry_calloc(count ? count : 1, sizeof *a->strings);
        for (uint64_t i = 0; i < count; i++)
            a->strings[i] = (char *)s_empty;
        a->data = a->strings;
    } else {
        a->data = is_zeroed ? ferry_calloc(count ? count : 1, s_types[dtype].itemsize)
                            : ferry_malloc(count ? count * s_types[dtype].itemsize : 1);
    }
    return a;
}

ferry_npy_t *ferry_npy_new(ferry_npy_dtype_t dtype, size_t ndim, const uint64_t *shape)
{
    return s_new(dtype, ndim, shape, true);
}

static bool s_in_pool(const ferry_npy_t *a, const char *s)
{
    return a->pool_ && (uintptr_t)s >= (uintptr_t)a->pool_ && (uintptr_t)s < (uintptr_t)a->pool_ + a->pool_len_;
}

static void s_free_string(ferry_npy_t *a, char *s)
{
    if (s && s != s_empty && !s_in_pool(a, s))
        free(s);
}

void ferry_npy_destroy(ferry_npy_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_npy_t *a = *self_p;
    if (a->dtype == FERRY_NPY_STRING) {
        for (uint64_t i = 0; i < a->count; i++)
            s_free_string(a, a->strings[i]);
        free(a->strings);
        free(a->pool_);
    } else {
        free(a->data);
    }
    free(a);
    *self_p = NULL;
}

/* ---- UTF-8 ------------------------------------------------------------------------------ */

/* Decode one code point at s[0..len); returns its byte length or 0 when invalid
 * (overlong forms, surrogates and values over U+10FFFF are invalid). */
static size_t s_utf8_decode(const unsigned char *s, size_t len, uint32_t *cp)
{
    if (len == 0)
        return 0;
    if (s[0] < 0x80) {
        *cp = s[0];
        return 1;
    }
    size_t n;
    uint32_t min, c;
    if ((s[0] & 0xe0) == 0xc0) {
        n = 2, min = 0x80, c = s[0] & 0x1f;
    } else if ((s[0] & 0xf0) == 0xe0) {
        n = 3, min = 0x800, c = s[0] & 0x0f;
    } else if ((s[0] & 0xf8) == 0xf0) {
        n = 4, min = 0x10000, c = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len < n)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        c = (c << 6) | (s[i] & 0x3f);
    }
    if (c < min || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return n;
}

static size_t s_utf8_encode(uint32_t c, char *out)
{
    if (c < 0x80) {
        out[0] = (char)c;
        return 1;
    }
    if (c < 0x800) {
        out[0] = (char)(0xc0 | (c >> 6));
        out[1] = (char)(0x80 | (c & 0x3f));
        return 2;
    }
    if (c < 0x10000) {
        out[0] = (char)(0xe0 | (c >> 12));
        out[1] = (char)(0x80 | ((c >> 6) & 0x3f));
        out[2] = (char)(0x80 | (c & 0x3f));
        return 3;
    }
    out[0] = (char)(0xf0 | (c >> 18));
    out[1] = (char)(0x80 | ((c >> 12) & 0x3f));
    out[2] = (char)(0x80 | ((c >> 6) & 0x3f));
    out[3] = (char)(0x80 | (c & 0x3f));
    return 4;
}

/* Code points in a valid UTF-8 string, or -1 when it is not valid UTF-8. */
static int64_t s_utf8_length(const char *s)
{
    size_t len = strlen(s), pos = 0;
    int64_t n = 0;
    while (pos < len) {
        uint32_t cp;
        size_t k = s_utf8_decode((const unsigned char *)s + pos, len - pos, &cp);
        if (!k)
            return -1;
        pos += k;
        n++;
    }
    return n;
}

int ferry_npy_set_string(ferry_npy_t *a, uint64_t i, const char *s)
{
    if (!a || a->dtype != FERRY_NPY_STRING || i >= a->count || !s || s_utf8_length(s) < 0)
        return -EINVAL;
    s_free_string(a, a->strings[i]);
    a->strings[i] = ferry_strdup(s);
    return 0;
}

/* ---- header parsing ---------------------------------------------------------------------- */

typedef struct {
    const char *p, *end;
    const char *name;
    ferry_err_t *err;
} s_lexer_t;

static void s_skip_ws(s_lexer_t *lx)
{
    while (lx->p < lx->end && (*lx->p == ' ' || *lx->p == '\t' || *lx->p == '\n' || *lx->p == '\r'))
        lx->p++;
}

static int s_fail(s_lexer_t *lx, const char *what)
{
    return ferry_err(lx->err, "%s: malformed .npy header: %s", lx->name, what);
}

/* A quoted string without escapes into out (size bytes). */
static int s_parse_str(s_lexer_t *lx, char *out, size_t size)
{
    s_skip_ws(lx);
    if (lx->p >= lx->end || (*lx->p != '\'' && *lx->p != '"'))
        return s_fail(lx, "expected a quoted string");
    char quote = *lx->p++;
    size_t n = 0;
    while (lx->p < lx->end && *lx->p != quote) {
        if (*lx->p == '\\' || (unsigned char)*lx->p < 0x20 || n + 1 >= size)
            return s_fail(lx, "unexpected text in a string");
        out[n++] = *lx->p++;
    }
    if (lx->p >= lx->end)
        return s_fail(lx, "unterminated string");
    lx->p++;
    out[n] = '\0';
    return 0;
}

static bool s_accept(s_lexer_t *lx, char c)
{
    s_skip_ws(lx);
    if (lx->p < lx->end && *lx->p == c) {
        lx->p++;
        return true;
    }
    return false;
}

typedef struct {
    char descr[32];
    bool is_fortran;
    size_t ndim;
    uint64_t shape[FERRY_NPY_MAX_DIMS];
} s_header_t;

static int s_parse_shape(s_lexer_t *lx, s_header_t *h)
{
    if (!s_accept(lx, '('))
        return s_fail(lx, "shape: expected a tuple such as (3, 4)");
    h->ndim = 0;
    if (s_accept(lx, ')'))
        return 0;
    for (;;) {
        s_skip_ws(lx);
        if (lx->p >= lx->end || !isdigit((unsigned char)*lx->p))
            return s_fail(lx, "shape: expected a non-negative integer");
        uint64_t v = 0;
        while (lx->p < lx->end && isdigit((unsigned char)*lx->p)) {
            if (v > (UINT64_MAX - 9) / 10)
                return s_fail(lx, "shape: dimension too large");
            v = v * 10 + (uint64_t)(*lx->p++ - '0');
        }
        s_skip_ws(lx);
        if (lx->p < lx->end && *lx->p == 'L') /* Python 2 longs, seen in old files */
            lx->p++;
        if (h->ndim >= FERRY_NPY_MAX_DIMS)
            return s_fail(lx, "shape: more than 32 dimensions");
        h->shape[h->ndim++] = v;
        bool has_comma = s_accept(lx, ',');
        if (s_accept(lx, ')')) {
            if (h->ndim == 1 && !has_comma)
                return s_fail(lx, "shape: a one-element tuple needs a trailing comma");
            return 0;
        }
        if (!has_comma)
            return s_fail(lx, "shape: expected ',' or ')'");
    }
}

static int s_parse_header(s_lexer_t *lx, s_header_t *h)
{
    bool has_descr = false, has_fortran = false, has_shape = false;
    if (!s_accept(lx, '{'))
        return s_fail(lx, "expected '{'");
    for (;;) {
        if (s_accept(lx, '}'))
            break;
        char key[32];
        if (s_parse_str(lx, key, sizeof key) < 0)
            return -1;
        if (!s_accept(lx, ':'))
            return s_fail(lx, "expected ':' after a key");
        if (!strcmp(key, "descr")) {
            if (has_descr)
                return s_fail(lx, "duplicate key 'descr'");
            has_descr = true;
            s_skip_ws(lx);
            if (lx->p < lx->end && *lx->p == '[')
                return ferry_err(lx->err, "%s: structured dtypes (records) are not supported", lx->name);
            if (s_parse_str(lx, h->descr, sizeof h->descr) < 0)
                return -1;
        } else if (!strcmp(key, "fortran_order")) {
            if (has_fortran)
                return s_fail(lx, "duplicate key 'fortran_order'");
            has_fortran = true;
            s_skip_ws(lx);
            size_t left = (size_t)(lx->end - lx->p);
            if (left >= 4 && !memcmp(lx->p, "True", 4)) {
                h->is_fortran = true;
                lx->p += 4;
            } else if (left >= 5 && !memcmp(lx->p, "False", 5)) {
                h->is_fortran = false;
                lx->p += 5;
            } else {
                return s_fail(lx, "fortran_order: expected True or False");
            }
        } else if (!strcmp(key, "shape")) {
            if (has_shape)
                return s_fail(lx, "duplicate key 'shape'");
            has_shape = true;
            if (s_parse_shape(lx, h) < 0)
                return -1;
        } else {
            return ferry_err(lx->err, "%s: malformed .npy header: unknown key '%s'", lx->name, key);
        }
        if (s_accept(lx, ','))
            continue;
        if (s_accept(lx, '}'))
            break;
        return s_fail(lx, "expected ',' or '}'");
    }
    s_skip_ws(lx);
    if (lx->p != lx->end)
        return s_fail(lx, "text after the closing '}'");
    if (!has_descr || !has_fortran || !has_shape)
        return s_fail(lx, "needs the keys 'descr', 'fortran_order' and 'shape'");
    return 0;
}

/* '<f4' -> dtype, element size in the file, byte swap needed, string kind ('U','S',0). */
static int s_parse_descr(const char *name, const char *descr, ferry_npy_dtype_t *dtype, size_t *file_itemsize,
                         bool *is_swapped, char *string_kind, ferry_err_t *err)
{
    char order = descr[0];
    if (order != '<' && order != '>' && order != '|' && order != '=')
        goto unsupported;
    char kind = descr[1];
    const char *digits = descr + 2;
    if (!*digits || strlen(digits) > 8)
        goto unsupported;
    for (const char *d = digits; *d; d++)
        if (!isdigit((unsigned char)*d))
            goto unsupported;
    unsigned long size = strtoul(digits, NULL, 10);
    *is_swapped = order == '>';
    *string_kind = 0;
    if (kind == 'U' || kind == 'S') {
        if (size == 0 || size > FERRY_NPY_MAX_STRING_WIDTH)
            return ferry_err(err, "%s: string width %lu out of range (1 to %u)", name, size,
                             FERRY_NPY_MAX_STRING_WIDTH);
        *dtype = FERRY_NPY_STRING;
        *string_kind = kind;
        *file_itemsize = kind == 'U' ? size * 4 : size;
        return 0;
    }
    for (int t = 0; t < FERRY_NPY_STRING; t++) {
        if (s_types[t].kind == kind && s_types[t].itemsize == size) {
            *dtype = (ferry_npy_dtype_t)t;
            *file_itemsize = size;
            if (size == 1)
                *is_swapped = false;
            return 0;
        }
    }
unsupported:
    return ferry_err(err,
                     "%s: dtype '%s' is not supported (ferry reads bool, int8-64, uint8-64, float16/32/64 and "
                     "'<U'/'|S' strings; object arrays are refused)",
                     name, descr);
}

/* Reverse the bytes of each unit-sized element in place; the common sizes use the
 * compiler's byte-swap instructions (about 10x faster than the generic loop). */
static void s_byteswap(unsigned char *p, uint64_t units, size_t unit)
{
    if (unit == 2) {
        for (uint64_t i = 0; i < units; i++, p += 2) {
            uint16_t v;
            memcpy(&v, p, 2);
            v = __builtin_bswap16(v);
            memcpy(p, &v, 2);
        }
    } else if (unit == 4) {
        for (uint64_t i = 0; i < units; i++, p += 4) {
            uint32_t v;
            memcpy(&v, p, 4);
            v = __builtin_bswap32(v);
            memcpy(p, &v, 4);
        }
    } else if (unit == 8) {
        for (uint64_t i = 0; i < units; i++, p += 8) {
            uint64_t v;
            memcpy(&v, p, 8);
            v = __builtin_bswap64(v);
            memcpy(p, &v, 8);
        }
    } else {
        for (uint64_t i = 0; i < units; i++, p += unit)
            for (size_t a = 0, b = unit - 1; a < b; a++, b--) {
                unsigned char t = p[a];
                p[a] = p[b];
                p[b] = t;
            }
    }
}

/* Copy a Fortran-order image into C order (elements of size bytes). O(count). */
static void s_fortran_to_c(const unsigned char *src, unsigned char *dst, size_t ndim, const uint64_t *shape,
                           uint64_t count, size_t size)
{
    uint64_t f_stride[FERRY_NPY_MAX_DIMS], index[FERRY_NPY_MAX_DIMS] = {0};
    uint64_t offset = 0;
    for (size_t k = 0; k < ndim; k++)
        f_stride[k] = k ? f_stride[k - 1] * shape[k - 1] : 1;
    for (uint64_t i = 0; i < count; i++) {
        /* constant sizes let the compiler inline the copy */
        switch (size) {
        case 1: dst[i] = src[offset]; break;
        case 2: memcpy(dst + i * 2, src + offset * 2, 2); break;
        case 4: memcpy(dst + i * 4, src + offset * 4, 4); break;
        case 8: memcpy(dst + i * 8, src + offset * 8, 8); break;
        default: memcpy(dst + i * size, src + offset * size, size); break;
        }
        for (size_t k = ndim; k-- > 0;) { /* next C-order index: the last dimension first */
            if (++index[k] < shape[k]) {
                offset += f_stride[k];
                break;
            }
            offset -= f_stride[k] * (shape[k] - 1);
            index[k] = 0;
        }
    }
}

/* Fixed-width strings (already C order and native order) into UTF-8 strings in one pool. */
static int s_decode_strings(const char *name, ferry_npy_t *a, const unsigned char *raw, size_t width, char kind,
                            ferry_err_t *err)
{
    /* UTF-8 needs at most 4 bytes per code point (U) and we keep S bytes as they are. */
    size_t per = kind == 'U' ? width * 4 : width;
    a->pool_len_ = a->count * (per + 1);
    a->pool_ = ferry_malloc(a->pool_len_ ? a->pool_len_ : 1);
    char *out = a->pool_;
    for (uint64_t i = 0; i < a->count; i++) {
        const unsigned char *e = raw + i * (kind == 'U' ? width * 4 : width);
        size_t n = width; /* characters before the trailing NUL padding */
        if (kind == 'U') {
            while (n > 0 && !memcmp(e + (n - 1) * 4, "\0\0\0\0", 4))
                n--;
        } else {
            while (n > 0 && e[n - 1] == 0)
                n--;
        }
        a->strings[i] = out;
        for (size_t c = 0; c < n; c++) {
            uint32_t cp;
            if (kind == 'U') {
                memcpy(&cp, e + c * 4, 4);
                if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
                    return ferry_err(err, "%s: string element %" PRIu64 " holds an invalid character (U+%04" PRIX32
                                          ")",
                                     name, i, cp);
                out += s_utf8_encode(cp, out);
            } else {
                if (e[c] == 0)
                    return ferry_err(err, "%s: string element %" PRIu64 " holds a NUL byte", name, i);
                *out++ = (char)e[c];
            }
        }
        *out++ = '\0';
        if (kind == 'S' && s_utf8_length(a->strings[i]) < 0)
            return ferry_err(err, "%s: bytes element %" PRIu64 " is not UTF-8 text", name, i);
    }
    return 0;
}

ferry_npy_t *ferry_npy_parse(const char *name, const void *bytes, size_t len, ferry_err_t *err)
{
    const unsigned char *b = bytes;
    ferry_npy_t *a = NULL;
    unsigned char *tmp = NULL;
    if (!name)
        name = "<npy>";
    if (!b || len < S_MAGIC_LEN + 4 || memcmp(b, S_MAGIC, S_MAGIC_LEN)) {
        ferry_err(err, "%s: not a .npy file (no \\x93NUMPY magic)", name);
        return NULL;
    }
    unsigned major = b[6], minor = b[7];
    size_t header_len, header_start;
    if (major == 1) {
        header_len = (size_t)b[8] | (size_t)b[9] << 8;
        header_start = 10;
    } else if (major == 2 || major == 3) {
        if (len < 12) {
            ferry_err(err, "%s: truncated .npy preamble", name);
            return NULL;
        }
        header_len = (size_t)b[8] | (size_t)b[9] << 8 | (size_t)b[10] << 16 | (size_t)b[11] << 24;
        header_start = 12;
    } else {
        ferry_err(err, "%s: .npy format version %u.%u is not supported (1.0, 2.0, 3.0 are)", name, major, minor);
        return NULL;
    }
    if (header_len > FERRY_NPY_MAX_HEADER) {
        ferry_err(err, "%s: .npy header too large (%zu bytes; at most %u)", name, header_len, FERRY_NPY_MAX_HEADER);
        return NULL;
    }
    if (len - header_start < header_len) {
        ferry_err(err, "%s: truncated .npy header (%zu of %zu bytes)", name, len - header_start, header_len);
        return NULL;
    }
    s_header_t h = {0};
    s_lexer_t lx = {(const char *)b + header_start, (const char *)b + header_start + header_len, name, err};
    if (s_parse_header(&lx, &h) < 0)
        return NULL;
    ferry_npy_dtype_t dtype = FERRY_NPY_BOOL;
    size_t file_itemsize = 0;
    bool is_swapped = false;
    char string_kind = 0;
    if (s_parse_descr(name, h.descr, &dtype, &file_itemsize, &is_swapped, &string_kind, err) < 0)
        return NULL;
    uint64_t count;
    if (!s_count(h.ndim, h.shape, file_itemsize, &count)) {
        ferry_err(err, "%s: array too large (more than %llu bytes)", name, (unsigned long long)FERRY_NPY_MAX_BYTES);
        return NULL;
    }
    uint64_t data_len = count * file_itemsize;
    size_t data_start = header_start + header_len;
    if ((uint64_t)(len - data_start) != data_len) {
        ferry_err(err, "%s: data is %zu bytes; shape and dtype '%s' need %" PRIu64 " (%s)", name, len - data_start,
                  h.descr, data_len, (uint64_t)(len - data_start) < data_len ? "truncated file" : "trailing bytes");
        return NULL;
    }
    a = s_new(dtype, h.ndim, h.shape, false);
    if (!a) {
        ferry_err(err, "%s: array too large", name);
        return NULL;
    }
    const unsigned char *src = b + data_start;
    unsigned char *dst = dtype == FERRY_NPY_STRING ? (tmp = ferry_malloc(data_len ? data_len : 1)) : a->data;
    if (h.is_fortran && h.ndim > 1)
        s_fortran_to_c(src, dst, h.ndim, h.shape, count, file_itemsize);
    else if (data_len)
        memcpy(dst, src, data_len);
    if (is_swapped)
        s_byteswap(dst, string_kind == 'U' ? data_len / 4 : count, string_kind == 'U' ? 4 : file_itemsize);
    if (dtype == FERRY_NPY_BOOL) {
        for (uint64_t i = 0; i < count; i++)
            if (dst[i] > 1) {
                ferry_err(err, "%s: bool element %" PRIu64 " is %u (expected 0 or 1)", name, i, dst[i]);
                goto fail;
            }
    }
    if (dtype == FERRY_NPY_STRING) {
        size_t width = string_kind == 'U' ? file_itemsize / 4 : file_itemsize;
        if (s_decode_strings(name, a, dst, width, string_kind, err) < 0)
            goto fail;
    }
    free(tmp);
    return a;
fail:
    free(tmp);
    ferry_npy_destroy(&a);
    return NULL;
}

ferry_npy_t *ferry_npy_read(const char *path, ferry_err_t *err)
{
    ferry_map_t map;
    int rc = ferry_file_map(path, &map);
    if (rc < 0) {
        ferry_err(err, "%s: cannot read: %s", path, strerror(-rc));
        return NULL;
    }
    ferry_npy_t *a = ferry_npy_parse(path, map.data, map.len, err);
    ferry_file_unmap(&map);
    return a;
}

/* ---- writing ------------------------------------------------------------------------------ */

int ferry_npy_encode(const ferry_npy_t *a, ferry_buf_t *out, ferry_err_t *err)
{
    if (!a || (unsigned)a->dtype >= FERRY_NPY_DTYPE_COUNT || a->ndim > FERRY_NPY_MAX_DIMS)
        return ferry_err(err, "npy: invalid array"), -EINVAL;
    uint64_t count;
    if (!s_count(a->ndim, a->shape, ferry_npy_itemsize(a->dtype), &count) || count != a->count)
        return ferry_err(err, "npy: shape does not match the element count"), -EINVAL;
    char descr[32];
    size_t width = 1; /* '<U0' is not a useful dtype: at least one character */
    if (a->dtype == FERRY_NPY_STRING) {
        for (uint64_t i = 0; i < count; i++) {
            int64_t n = a->strings[i] ? s_utf8_length(a->strings[i]) : -1;
            if (n < 0)
                return ferry_err(err, "npy: string element %" PRIu64 " is not valid UTF-8", i), -EINVAL;
            if ((uint64_t)n > width)
                width = (size_t)n;
        }
        if (width > FERRY_NPY_MAX_STRING_WIDTH)
            return ferry_err(err, "npy: a string is longer than %u characters", FERRY_NPY_MAX_STRING_WIDTH), -EINVAL;
        snprintf(descr, sizeof descr, "<U%zu", width);
    } else {
        size_t size = s_types[a->dtype].itemsize;
        snprintf(descr, sizeof descr, "%c%c%zu", size == 1 ? '|' : '<', s_types[a->dtype].kind, size);
    }
    ferry_buf_t header = FERRY_BUF_INIT;
    ferry_buf_printf(&header, "{'descr': '%s', 'fortran_order': False, 'shape': (", descr);
    for (size_t i = 0; i < a->ndim; i++)
        ferry_buf_printf(&header, i ? ", %" PRIu64 : "%" PRIu64, a->shape[i]);
    ferry_buf_puts(&header, a->ndim == 1 ? ",), }" : "), }");
    /* pad with spaces so the data starts on a 64-byte boundary; end with '\n' */
    /* format 1.0 unless the padded header overflows its 16-bit length (then 2.0) */
    size_t v1_padded = (10 + header.len + 1 + S_ALIGN - 1) / S_ALIGN * S_ALIGN - 10;
    size_t preamble = v1_padded > S_V1_MAX_HEADER ? 12 : 10;
    while ((preamble + header.len + 1) % S_ALIGN)
        ferry_buf_putc(&header, ' ');
    ferry_buf_putc(&header, '\n');
    ferry_buf_append(out, S_MAGIC, S_MAGIC_LEN);
    unsigned char version[2] = {preamble == 10 ? 1 : 2, 0};
    ferry_buf_append(out, version, 2);
    unsigned char hl[4] = {(unsigned char)header.len, (unsigned char)(header.len >> 8),
                           (unsigned char)(header.len >> 16), (unsigned char)(header.len >> 24)};
    ferry_buf_append(out, hl, preamble - 8);
    ferry_buf_append(out, header.data, header.len);
    ferry_buf_free(&header);
    if (a->dtype != FERRY_NPY_STRING) {
        if (count)
            ferry_buf_append(out, a->data, count * s_types[a->dtype].itemsize);
        return 0;
    }
    ferry_buf_reserve(out, count * width * 4);
    for (uint64_t i = 0; i < count; i++) {
        const unsigned char *s = (const unsigned char *)a->strings[i];
        size_t len = strlen(a->strings[i]), pos = 0, n = 0;
        while (pos < len) {
            uint32_t cp = 0;
            pos += s_utf8_decode(s + pos, len - pos, &cp);
            ferry_buf_append(out, &cp, 4);
            n++;
        }
        static const uint32_t zero = 0;
        for (; n < width; n++)
            ferry_buf_append(out, &zero, 4);
    }
    return 0;
}

int ferry_npy_write(const char *path, const ferry_npy_t *a, ferry_err_t *err)
{
    ferry_buf_t out = FERRY_BUF_INIT;
    int rc = ferry_npy_encode(a, &out, err);
    if (rc == 0) {
        rc = ferry_file_write_atomic(path, out.data, out.len);
        if (rc < 0)
            ferry_err(err, "%s: cannot write: %s", path, strerror(-rc));
    }
    ferry_buf_free(&out);
    return rc;
}

/* IEEE 754 half to double. */
static double s_half_to_double(uint16_t h)
{
    int exponent = (h >> 10) & 0x1f;
    int mantissa = h & 0x3ff;
    double v;
    if (exponent == 0)
        v = ldexp(mantissa, -24);
    else if (exponent == 31)
        v = mantissa ? NAN : INFINITY;
    else
        v = ldexp(mantissa | 0x400, exponent - 25);
    return (h & 0x8000) ? -v : v;
}

double ferry_npy_get_double(const ferry_npy_t *a, uint64_t i)
{
    if (!a || i >= a->count)
        return NAN;
    const unsigned char *p = (const unsigned char *)a->data + i * ferry_npy_itemsize(a->dtype);
    switch (a->dtype) {
    case FERRY_NPY_BOOL: return *p ? 1.0 : 0.0;
    case FERRY_NPY_INT8: return *(const int8_t *)p;
    case FERRY_NPY_UINT8: return *p;
    case FERRY_NPY_INT16: { int16_t v; memcpy(&v, p, 2); return v; }
    case FERRY_NPY_UINT16: { uint16_t v; memcpy(&v, p, 2); return v; }
    case FERRY_NPY_INT32: { int32_t v; memcpy(&v, p, 4); return v; }
    case FERRY_NPY_UINT32: { uint32_t v; memcpy(&v, p, 4); return v; }
    case FERRY_NPY_INT64: { int64_t v; memcpy(&v, p, 8); return (double)v; }
    case FERRY_NPY_UINT64: { uint64_t v; memcpy(&v, p, 8); return (double)v; }
    case FERRY_NPY_FLOAT16: { uint16_t v; memcpy(&v, p, 2); return s_half_to_double(v); }
    case FERRY_NPY_FLOAT32: { float v; memcpy(&v, p, 4); return v; }
    case FERRY_NPY_FLOAT64: { double v; memcpy(&v, p, 8); return v; }
    default: return NAN;
    }
}
