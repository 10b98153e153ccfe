/* json.c -- streaming JSON writer */
#include "util/json.h"

#include <assert.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void ferry_json_init(ferry_json_t *j, ferry_buf_t *out, bool pretty)
{
    memset(j, 0, sizeof *j);
    j->out = out;
    j->pretty = pretty;
}

static void s_newline(ferry_json_t *j)
{
    if (!j->pretty)
        return;
    ferry_buf_putc(j->out, '\n');
    for (int i = 0; i < j->depth; i++)
        ferry_buf_puts(j->out, "  ");
}

/* Called before every value or key: emits the separating comma and indentation. */
static void s_before_value(ferry_json_t *j)
{
    if (j->after_key) {
        j->after_key = false;
        return;
    }
    if (j->depth > 0) {
        if (j->need_comma[j->depth])
            ferry_buf_putc(j->out, ',');
        j->need_comma[j->depth] = true;
        s_newline(j);
    }
}

static void s_open(ferry_json_t *j, char c)
{
    s_before_value(j);
    ferry_buf_putc(j->out, c);
    assert(j->depth + 1 < FERRY_JSON_MAX_DEPTH);
    j->depth++;
    j->need_comma[j->depth] = false;
}

static void s_close(ferry_json_t *j, char c)
{
    assert(j->depth > 0);
    bool had = j->need_comma[j->depth];
    j->depth--;
    if (had)
        s_newline(j);
    ferry_buf_putc(j->out, c);
}

void ferry_json_obj_begin(ferry_json_t *j) { s_open(j, '{'); }
void ferry_json_obj_end(ferry_json_t *j) { s_close(j, '}'); }
void ferry_json_arr_begin(ferry_json_t *j) { s_open(j, '['); }
void ferry_json_arr_end(ferry_json_t *j) { s_close(j, ']'); }

void ferry_json_key(ferry_json_t *j, const char *key)
{
    s_before_value(j);
    ferry_json_escape(j->out, key, strlen(key));
    ferry_buf_puts(j->out, j->pretty ? ": " : ":");
    j->after_key = true;
}

/* Length of the valid UTF-8 sequence at s (1..4), or 0 if invalid. */
static size_t s_utf8_len(const unsigned char *s, size_t avail)
{
    unsigned char c = s[0];
    size_t n;
    uint32_t cp;
    if (c < 0x80)
        return 1;
    else if ((c & 0xE0) == 0xC0)
        n = 2, cp = c & 0x1F;
    else if ((c & 0xF0) == 0xE0)
        n = 3, cp = c & 0x0F;
    else if ((c & 0xF8) == 0xF0)
        n = 4, cp = c & 0x07;
    else
        return 0;
    if (n > avail)
        return 0;
    for (size_t i = 1; i < n; i++) {
        if ((s[i] & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3F);
    }
    static const uint32_t min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void ferry_json_escape(ferry_buf_t *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    ferry_buf_reserve(out, len + 2);
    ferry_buf_putc(out, '"');
    size_t i = 0;
    while (i < len) {
        unsigned char c = p[i];
        if (c == '"' || c == '\\') {
            ferry_buf_putc(out, '\\');
            ferry_buf_putc(out, (char)c);
            i++;
        } else if (c < 0x20) {
            switch (c) {
            case '\n': ferry_buf_puts(out, "\\n"); break;
            case '\r': ferry_buf_puts(out, "\\r"); break;
            case '\t': ferry_buf_puts(out, "\\t"); break;
            default: ferry_buf_printf(out, "\\u%04x", c); break;
            }
            i++;
        } else if (c < 0x80) {
            ferry_buf_putc(out, (char)c);
            i++;
        } else {
            size_t n = s_utf8_len(p + i, len - i);
            if (n == 0) {
                ferry_buf_printf(out, "\\u%04x", c);
                i++;
            } else {
                ferry_buf_append(out, p + i, n);
                i += n;
            }
        }
    }
    ferry_buf_putc(out, '"');
}

void ferry_json_str(ferry_json_t *j, const char *s)
{
    if (!s) {
        ferry_json_null(j);
        return;
    }
    ferry_json_strn(j, s, strlen(s));
}

void ferry_json_strn(ferry_json_t *j, const char *s, size_t len)
{
    s_before_value(j);
    ferry_json_escape(j->out, s, len);
}

void ferry_json_int(ferry_json_t *j, int64_t v)
{
    s_before_value(j);
    ferry_buf_printf(j->out, "%" PRId64, v);
}

void ferry_json_uint(ferry_json_t *j, uint64_t v)
{
    s_before_value(j);
    ferry_buf_printf(j->out, "%" PRIu64, v);
}

void ferry_json_double(ferry_json_t *j, double v)
{
    s_before_value(j);
    if (!isfinite(v)) {
        ferry_buf_puts(j->out, "null");
        return;
    }
    char tmp[32];
    for (int prec = 15; prec <= 17; prec++) {
        snprintf(tmp, sizeof tmp, "%.*g", prec, v);
        if (strtod(tmp, NULL) == v)
            break;
    }
    ferry_buf_puts(j->out, tmp);
}

void ferry_json_bool(ferry_json_t *j, bool v)
{
    s_before_value(j);
    ferry_buf_puts(j->out, v ? "true" : "false");
}

void ferry_json_null(ferry_json_t *j)
{
    s_before_value(j);
    ferry_buf_puts(j->out, "null");
}
