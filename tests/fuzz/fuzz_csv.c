/* fuzz_csv.c -- libFuzzer target: read any bytes as CSV records; errors, never crashes */
#include "model/dataset.h"

#include <stddef.h>
#include <stdint.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ferry_csv_t *c = ferry_csv_open_mem((const char *)data, size, "fuzz.csv", 1);
    ferry_err_t err;
    size_t total = 0;
    while (ferry_csv_next(c, &err) == 1) {
        for (size_t i = 0; i < ferry_csv_ncells(c); i++) {
            size_t len;
            const char *cell = ferry_csv_cell(c, i, &len);
            total += len + (size_t)ferry_csv_is_missing(cell, len);
        }
    }
    ferry_csv_destroy(&c);
    return total == (size_t)-1;
}
