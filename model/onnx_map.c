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
    free(m->hashes);
    free(m->keys);
    free(m->values);
    memset(m, 0, sizeof *m);
}

/* Slots compare the stored hash before the string: most probes then skip strcmp. */
static long *s_slot(const ferry_onnx_map_t *m, const char *key, uint64_t h, bool *found)
{
    size_t mask = m->cap - 1, i = (size_t)h & mask;
    while (m->keys[i]) {
        if (m->hashes[i] == h && !strcmp(m->keys[i], key)) {
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
    long *v = s_slot(m, key, s_hash(key), &found);
    return found ? v : NULL;
}

static void s_grow(ferry_onnx_map_t *m, size_t cap)
{
    ferry_onnx_map_t big = {.cap = cap};
    big.keys = ferry_calloc(big.cap, sizeof *big.keys);
    big.values = ferry_calloc(big.cap, sizeof *big.values);
    big.hashes = ferry_calloc(big.cap, sizeof *big.hashes);
    for (size_t i = 0; i < m->cap; i++)
        if (m->keys[i]) {
            bool found;
            long *v = s_slot(&big, m->keys[i], m->hashes[i], &found);
            size_t idx = (size_t)(v - big.values);
            big.keys[idx] = m->keys[i];
            big.hashes[idx] = m->hashes[i];
            *v = m->values[i];
            big.count++;
        }
    ferry_onnx_map_free(m);
    *m = big;
}

void ferry_onnx_map_reserve(ferry_onnx_map_t *m, size_t count)
{
    size_t cap = m->cap ? m->cap : S_INITIAL_CAP;
    while (2 * count > cap)
        cap *= 2;
    if (cap > m->cap)
        s_grow(m, cap);
}

bool ferry_onnx_map_put(ferry_onnx_map_t *m, const char *key, long value)
{
    if (2 * (m->count + 1) > m->cap)
        s_grow(m, m->cap ? 2 * m->cap : S_INITIAL_CAP);
    bool found;
    uint64_t h = s_hash(key);
    long *v = s_slot(m, key, h, &found);
    if (found)
        return false;
    size_t idx = (size_t)(v - m->values);
    m->keys[idx] = key;
    m->hashes[idx] = h;
    *v = value;
    m->count++;
    return true;
}
