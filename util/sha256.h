/* sha256.h -- SHA-256 (FIPS 180-4) for content hashes of models and artifacts */
#ifndef FERRY_SHA256_H
#define FERRY_SHA256_H

#include <stddef.h>
#include <stdint.h>

typedef struct {
    uint32_t state[8];
    uint64_t total_len;
    uint8_t block[64];
    size_t block_len;
} ferry_sha256_t;

void ferry_sha256_init(ferry_sha256_t *ctx);
void ferry_sha256_update(ferry_sha256_t *ctx, const void *data, size_t len);
void ferry_sha256_final(ferry_sha256_t *ctx, uint8_t digest[32]);
/* One-shot: hex (65 bytes incl. NUL) of data. */
void ferry_sha256_hex(const void *data, size_t len, char hex[65]);
void ferry_sha256_to_hex(const uint8_t digest[32], char hex[65]);
/* Hash a whole file, streaming. Returns 0 or -errno. */
int ferry_sha256_file(const char *path, char hex[65]);

#endif
