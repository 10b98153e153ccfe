/* onnx_map.h -- a string -> long hash map with borrowed keys, for the ONNX layer's
 * name tables (checker scopes, operator histograms). Open addressing, load <= 1/2. */
#ifndef FERRY_ONNX_MAP_H
#define FERRY_ONNX_MAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

typedef struct {
    const char **keys; /* borrowed: must outlive the map */
    long *values;
    uint64_t *hashes;
    size_t cap, count;
} ferry_onnx_map_t;

#define FERRY_ONNX_MAP_INIT {0}

/* The value stored for key, or NULL. O(1) expected. */
long *ferry_onnx_map_get(const ferry_onnx_map_t *m, const char *key);
/* Insert key -> value; returns false (keeping the old value) when key was present. */
bool ferry_onnx_map_put(ferry_onnx_map_t *m, const char *key, long value);
void ferry_onnx_map_free(ferry_onnx_map_t *m);
/* Make room for count keys without rehashing. */
void ferry_onnx_map_reserve(ferry_onnx_map_t *m, size_t count);

#endif
