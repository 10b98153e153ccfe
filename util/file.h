/* file.h -- whole-file reads, read-only mappings and crash-safe (atomic) writes */
#ifndef FERRY_FILE_H
#define FERRY_FILE_H

#include "util/common.h"

#include <stddef.h>

/* Read a whole file into a fresh NUL-terminated buffer (caller frees *data).
 * Refuses files larger than max_size. Returns 0 or -errno (-EFBIG when too large). */
int ferry_file_read(const char *path, size_t max_size, char **data, size_t *len);

/* A read-only mapping of a whole file. Empty files map to data == NULL, len == 0. */
typedef struct {
    const unsigned char *data;
    size_t len;
} ferry_map_t;
int ferry_file_map(const char *path, ferry_map_t *map);
void ferry_file_unmap(ferry_map_t *map);

/* Write data to path atomically: write a temporary file in the same directory,
 * fsync it, rename over path, fsync the directory. A crash leaves either the old or
 * the new file, never a torn one. Returns 0 or -errno. */
int ferry_file_write_atomic(const char *path, const void *data, size_t len);

/* mkdir -p with mode 0755. Returns 0 or -errno. */
int ferry_mkdirs(const char *path);

#endif
