/* json.h -- a small streaming JSON writer (reports, --json outputs, manifests)
 *
 * Usage: ferry_json_t j; ferry_json_init(&j, &buf, pretty);
 *        ferry_json_obj_begin(&j); ferry_json_key(&j, "n"); ferry_json_int(&j, 3); ...
 * Commas and indentation are handled by the writer. Strings are escaped per RFC 8259;
 * invalid UTF-8 bytes are written as \u00XX so the output is always valid JSON.
 * Non-finite doubles are written as null (JSON has no NaN). */
#ifndef FERRY_JSON_H
#define FERRY_JSON_H

#include "util/buf.h"

#include <stdbool.h>
#include <stdint.h>

#define FERRY_JSON_MAX_DEPTH 64

typedef struct {
    ferry_buf_t *out;
    bool pretty;
    int depth;
    bool need_comma[FERRY_JSON_MAX_DEPTH];
    bool after_key;
} ferry_json_t;

void ferry_json_init(ferry_json_t *j, ferry_buf_t *out, bool pretty);
void ferry_json_obj_begin(ferry_json_t *j);
void ferry_json_obj_end(ferry_json_t *j);
void ferry_json_arr_begin(ferry_json_t *j);
void ferry_json_arr_end(ferry_json_t *j);
void ferry_json_key(ferry_json_t *j, const char *key);
void ferry_json_str(ferry_json_t *j, const char *s);
void ferry_json_strn(ferry_json_t *j, const char *s, size_t len);
void ferry_json_int(ferry_json_t *j, int64_t v);
void ferry_json_uint(ferry_json_t *j, uint64_t v);
/* shortest representation that round-trips (%.17g fallback) */
void ferry_json_double(ferry_json_t *j, double v);
void ferry_json_bool(ferry_json_t *j, bool v);
void ferry_json_null(ferry_json_t *j);
/* Escape s into out as a JSON string literal, quotes included. */
void ferry_json_escape(ferry_buf_t *out, const char *s, size_t len);

#endif
