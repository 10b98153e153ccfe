/* dataset.c -- streaming CSV reader: RFC 4180 quoting, bounded, with precise errors */
#include "model/dataset.h"
#include "util/file.h"
#include "util/mem.h"

#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct ferry_csv {
    char *name;
    ferry_map_t map;       /* when opened from a file */
    bool is_mapped;
    const char *data;
    size_t len, pos;
    size_t line;           /* line of data[pos] */
    size_t record_line;
    char *buf;             /* cells of the current record, NUL separated */
    size_t buf_len, buf_cap;
    size_t *cells;         /* offsets into buf */
    size_t *cell_lens;
    size_t ncells, cells_cap;
};

ferry_csv_t *ferry_csv_open_mem(const char *data, size_t len, const char *name, size_t first_line)
{
    ferry_csv_t *c = ferry_calloc(1, sizeof *c);
    c->name = ferry_strdup(name ? name : "<memory>");
    c->data = data;
    c->len = len;
    c->line = first_line ? first_line : 1;
    return c;
}

ferry_csv_t *ferry_csv_open(const char *path, ferry_err_t *err)
{
    ferry_map_t map;
    int rc = ferry_file_map(path, &map);
    if (rc < 0) {
        ferry_err(err, "%s: cannot read: %s", path, strerror(-rc));
        return NULL;
    }
    ferry_csv_t *c = ferry_csv_open_mem((const char *)map.data, map.len, path, 1);
    c->map = map;
    c->is_mapped = true;
    /* skip a UTF-8 byte order mark */
    if (c->len >= 3 && !memcmp(c->data, "\xEF\xBB\xBF", 3))
        c->pos = 3;
    return c;
}

void ferry_csv_destroy(ferry_csv_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_csv_t *c = *self_p;
    if (c->is_mapped)
        ferry_file_unmap(&c->map);
    free(c->name);
    free(c->buf);
    free(c->cells);
    free(c->cell_lens);
    free(c);
    *self_p = NULL;
}

static void s_put(ferry_csv_t *c, const char *s, size_t n)
{
    if (c->buf_len + n + 1 > c->buf_cap) {
        size_t cap = c->buf_cap ? c->buf_cap : 256;
        while (c->buf_len + n + 1 > cap)
            cap *= 2;
        c->buf = ferry_realloc(c->buf, cap);
        c->buf_cap = cap;
    }
    memcpy(c->buf + c->buf_len, s, n);
    c->buf_len += n;
}

static int s_end_cell(ferry_csv_t *c, size_t start, ferry_err_t *err)
{
    if (c->ncells >= FERRY_CSV_MAX_COLUMNS)
        return ferry_err(err, "%s:%zu: more than %d columns", c->name, c->record_line, FERRY_CSV_MAX_COLUMNS);
    if (c->ncells == c->cells_cap) {
        c->cells_cap = c->cells_cap ? c->cells_cap * 2 : 16;
        c->cells = ferry_reallocarray(c->cells, c->cells_cap, sizeof(size_t));
        c->cell_lens = ferry_reallocarray(c->cell_lens, c->cells_cap, sizeof(size_t));
    }
    c->cells[c->ncells] = start;
    c->cell_lens[c->ncells] = c->buf_len - start;
    c->ncells++;
    s_put(c, "", 0);
    c->buf[c->buf_len++] = '\0';
    return 0;
}

int ferry_csv_next(ferry_csv_t *c, ferry_err_t *err)
{
    const char *d = c->data;
    size_t n = c->len;
    /* skip blank lines */
    while (c->pos < n && (d[c->pos] == '\n' || d[c->pos] == '\r')) {
        if (d[c->pos] == '\n')
            c->line++;
        c->pos++;
    }
    if (c->pos >= n)
        return 0;
    c->ncells = 0;
    c->buf_len = 0;
    c->record_line = c->line;
    size_t pos = c->pos;
    for (;;) {
        size_t start = c->buf_len;
        size_t col = c->ncells + 1;
        if (pos < n && d[pos] == '"') {
            size_t quote_line = c->line;
            pos++;
            for (;;) {
                const char *q = memchr(d + pos, '"', n - pos);
                if (!q)
                    return ferry_err(err, "%s:%zu: column %zu: unterminated quoted field", c->name, quote_line, col);
                size_t chunk = (size_t)(q - (d + pos));
                for (size_t i = 0; i < chunk; i++)
                    c->line += d[pos + i] == '\n';
                s_put(c, d + pos, chunk);
                pos += chunk + 1;
                if (pos < n && d[pos] == '"') {
                    s_put(c, "\"", 1);
                    pos++;
                    continue;
                }
                break;
            }
            if (c->buf_len - start > FERRY_CSV_MAX_CELL)
                return ferry_err(err, "%s:%zu: column %zu: cell longer than %u bytes", c->name, c->line, col, FERRY_CSV_MAX_CELL);
            if (pos < n && d[pos] != ',' && d[pos] != '\n' && d[pos] != '\r')
                return ferry_err(err, "%s:%zu: column %zu: unexpected character after closing quote", c->name, c->line, col);
        } else {
            size_t s = pos;
            while (pos < n && d[pos] != ',' && d[pos] != '\n' && d[pos] != '\r') {
                if (d[pos] == '"')
                    return ferry_err(err, "%s:%zu: column %zu: quote inside an unquoted field", c->name, c->line, col);
                pos++;
            }
            if (pos - s > FERRY_CSV_MAX_CELL)
                return ferry_err(err, "%s:%zu: column %zu: cell longer than %u bytes", c->name, c->line, col, FERRY_CSV_MAX_CELL);
            s_put(c, d + s, pos - s);
        }
        if (s_end_cell(c, start, err) < 0)
            return -1;
        if (pos < n && d[pos] == ',') {
            pos++;
            continue;
        }
        /* end of record */
        if (pos < n && d[pos] == '\r')
            pos++;
        if (pos < n && d[pos] == '\n') {
            pos++;
            c->line++;
        }
        break;
    }
    c->pos = pos;
    return 1;
}

size_t ferry_csv_ncells(const ferry_csv_t *c)
{
    return c->ncells;
}

const char *ferry_csv_cell(const ferry_csv_t *c, size_t i, size_t *len)
{
    if (i >= c->ncells) {
        if (len)
            *len = 0;
        return "";
    }
    if (len)
        *len = c->cell_lens[i];
    return c->buf + c->cells[i];
}

size_t ferry_csv_line(const ferry_csv_t *c)
{
    return c->record_line;
}

const char *ferry_csv_name(const ferry_csv_t *c)
{
    return c->name;
}

const char *ferry_csv_data(const ferry_csv_t *c, size_t *len)
{
    *len = c->len;
    return c->data;
}

size_t ferry_csv_offset(const ferry_csv_t *c)
{
    return c->pos;
}

bool ferry_csv_is_missing(const char *s, size_t len)
{
    return len == 0 || (len == 2 && s[0] == 'N' && s[1] == 'A') || (len == 3 && !memcmp(s, "N/A", 3));
}

#define S_MAX_NUMBER_TEXT 400 /* longer cells are not numbers we accept */

bool ferry_parse_double(const char *s, size_t len, double *out)
{
    static const double pow10[] = {1e0,  1e1,  1e2,  1e3,  1e4,  1e5,  1e6,  1e7,  1e8,  1e9,  1e10, 1e11,
                                   1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22};
    while (len && (*s == ' ' || *s == '\t'))
        s++, len--;
    while (len && (s[len - 1] == ' ' || s[len - 1] == '\t' || s[len - 1] == '\r' || s[len - 1] == '\n'))
        len--;
    if (!len || len > S_MAX_NUMBER_TEXT)
        return false;
    /* fast path: [+-]digits[.digits][(e|E)[+-]digits] with at most 15 significant digits */
    size_t i = 0;
    bool is_negative = false;
    if (s[i] == '+' || s[i] == '-')
        is_negative = s[i++] == '-';
    uint64_t mant = 0;
    int digits = 0, frac = 0, exp10 = 0;
    bool any = false, is_fast = true;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        any = true;
        if (mant || s[i] != '0')
            digits++;
        mant = mant * 10 + (uint64_t)(s[i] - '0');
        if (digits > 15) {
            is_fast = false;
            break;
        }
    }
    if (is_fast && i < len && s[i] == '.') {
        for (i++; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
            any = true;
            if (mant || s[i] != '0')
                digits++;
            mant = mant * 10 + (uint64_t)(s[i] - '0');
            frac++;
            if (digits > 15) {
                is_fast = false;
                break;
            }
        }
    }
    if (is_fast && any && i < len && (s[i] == 'e' || s[i] == 'E')) {
        size_t k = i + 1;
        bool is_eneg = false;
        if (k < len && (s[k] == '+' || s[k] == '-'))
            is_eneg = s[k++] == '-';
        int e = 0;
        size_t start = k;
        for (; k < len && s[k] >= '0' && s[k] <= '9' && e < 10000; k++)
            e = e * 10 + (s[k] - '0');
        if (k == start)
            is_fast = false;
        exp10 = is_eneg ? -e : e;
        i = k;
    }
    if (is_fast && any && i == len) {
        int e = exp10 - frac;
        if (e >= -22 && e <= 22) {
            double v = (double)mant; /* exact: mant < 10^15 < 2^53 */
            v = e >= 0 ? v * pow10[e] : v / pow10[-e];
            *out = is_negative ? -v : v;
            return true;
        }
    }
    char buf[S_MAX_NUMBER_TEXT + 1];
    memcpy(buf, s, len);
    buf[len] = '\0';
    char *end;
    double v = strtod(buf, &end);
    if (end == buf || *end)
        return false;
    *out = v;
    return true;
}

void ferry_csv_put_double(ferry_buf_t *out, double d)
{
    char tmp[40];
    int n;
    if (d == floor(d) && fabs(d) < 1e15) {
        n = snprintf(tmp, sizeof tmp, "%.1f", d);
    } else {
        double back;
        n = snprintf(tmp, sizeof tmp, "%.15g", d);
        if (!ferry_parse_double(tmp, (size_t)n, &back) || back != d) {
            n = snprintf(tmp, sizeof tmp, "%.16g", d);
            if (!ferry_parse_double(tmp, (size_t)n, &back) || back != d)
                n = snprintf(tmp, sizeof tmp, "%.17g", d);
        }
    }
    ferry_buf_append(out, tmp, (size_t)n);
}

void ferry_csv_put_str(ferry_buf_t *out, const char *s)
{
    if (!strpbrk(s, ",\"\r\n")) {
        ferry_buf_puts(out, s);
        return;
    }
    ferry_buf_putc(out, '"');
    for (; *s; s++) {
        if (*s == '"')
            ferry_buf_putc(out, '"');
        ferry_buf_putc(out, *s);
    }
    ferry_buf_putc(out, '"');
}
