/* dataset.h -- streaming CSV reader (RFC 4180) for scoring data and test inputs
 *
 * Records are read one at a time from a read-only mapping (files of any size stream
 * through the page cache). Cells are returned NUL-terminated and unquoted. Everything
 * in the file is hostile: sizes are bounded, quoting errors are reported with the line
 * and column where they happen, nothing is asserted on.
 */
#ifndef FERRY_DATASET_H
#define FERRY_DATASET_H

#include "util/buf.h"
#include "util/common.h"

#include <stdbool.h>
#include <stddef.h>

#define FERRY_CSV_MAX_CELL (1u << 20)     /* bytes in one cell */
#define FERRY_CSV_MAX_COLUMNS 100000      /* cells in one record */

typedef struct ferry_csv ferry_csv_t;

/* Open a CSV file (mapped read-only). NULL with err on failure. */
ferry_csv_t *ferry_csv_open(const char *path, ferry_err_t *err);
/* Read from memory the caller keeps alive; name is used in messages; first_line is the
 * line number of data[0] (1 for a whole file). */
ferry_csv_t *ferry_csv_open_mem(const char *data, size_t len, const char *name, size_t first_line);
void ferry_csv_destroy(ferry_csv_t **self_p);

/* Read the next record. Returns 1 when a record was read, 0 at the end, -1 on malformed
 * input (err names file, line and column; the reader cannot continue). Blank lines are
 * skipped. */
int ferry_csv_next(ferry_csv_t *csv, ferry_err_t *err);
size_t ferry_csv_ncells(const ferry_csv_t *csv);
/* Cell i of the current record (NUL-terminated, valid until the next call); len may be NULL. */
const char *ferry_csv_cell(const ferry_csv_t *csv, size_t i, size_t *len);
/* Line where the current record starts (1-based). */
size_t ferry_csv_line(const ferry_csv_t *csv);
const char *ferry_csv_name(const ferry_csv_t *csv);
/* The whole input (mapping or memory) and its length, for splitting work. */
const char *ferry_csv_data(const ferry_csv_t *csv, size_t *len);
/* Byte offset where the next record starts. */
size_t ferry_csv_offset(const ferry_csv_t *csv);

/* Parse a whole cell as a double, exactly like strtod (same acceptance, same correctly
 * rounded value), ignoring surrounding blanks. Plain decimals of up to 15 significant
 * digits take a fast exact path (Clinger: one IEEE multiply or divide by an exact power
 * of ten); anything else goes to strtod. Returns false when the cell is not a number. */
bool ferry_parse_double(const char *s, size_t len, double *out);

/* The missing-value convention of ferry score: empty, "NA" or "N/A". */
bool ferry_csv_is_missing(const char *cell, size_t len);

/* CSV output cells, the one format every scorer writes (PMML and ONNX outputs compare
 * as text too): integral values as "%.1f", others as the shortest of %.15g, %.16g and
 * %.17g that reads back to the same double. */
void ferry_csv_put_double(ferry_buf_t *out, double d);
/* A text cell, quoted per RFC 4180 when it holds a comma, quote or line break. */
void ferry_csv_put_str(ferry_buf_t *out, const char *s);

#endif
