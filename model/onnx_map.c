/* onnx_map.c -- string -> long hash map (FNV-1a, linear probing) */
#include "model/onnx_map.h"
#include "util/mem.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define S_INITIAL_CAP 64

static uint64_t s_hash(const char *s)
{
    uint64_t h = 1469598103934665603ull;
    for (; *s; s++)
        h = (h ^ (uint8_t)*s) * 1099511628211ull;
    return h;
}

void ferry_onnx_map_free(ferry_onnx_map_t *m)
{
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

static long *s_slot(const ferry_onnx_map_t *m, const char *key, bool *found)
{
    size_t mask = m->cap - 1, i = (size_t)s_hash(key) & mask;
    while (m->keys[i]) {
        if (!strcmp(m->keys[i], key)) {
            *found = true;
            return &m->values[i];
        }
        i = (i + 1) & mask;
    }
    *found = false;
    return &m->values[i];
}

long *ferry_onnx_map_get(const ferry_onnx_map_t *m, const char *key)
{
    if (!m->cap)
        return NULL;
    bool found;
    long *v = s_slot(m, key, &found);
    return found ? v : NULL;
}

bool ferry_onnx_map_put(ferry_onnx_map_t *m, const char *key, long value)
{
    if (2 * (m->count + 1) > m->cap) {
        ferry_onnx_map_t big = {.cap = m->cap ? 2 * m->cap : S_INITIAL_CAP};
        big.keys = ferry_calloc(big.cap, sizeof *big.keys);
        big.values = ferry_calloc(big.cap, sizeof *big.values);
        for (size_t i = 0; i < m->cap; i++)
            if (m->keys[i])
                ferry_onnx_map_put(&big, m->keys[i], m->values[i]);
        ferry_onnx_map_free(m);
        *m = big;
    }
    bool found;
    long *v = s_slot(m, key, &found);
    if (found)
        return false;
    m->keys[v - m->values] = key;
    *v = value;
    m->count++;
    return true;
}
