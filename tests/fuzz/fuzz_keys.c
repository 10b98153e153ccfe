/* fuzz_keys.c -- libFuzzer target: any bytes as a key file or an allow-list must load or
 * be refused with a message, never crash or leak (files are hostile input too) */
#include "proto/curve.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>
#include <zmq.h>

static void *s_ctx;

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    int fd = memfd_create("fuzz-key", MFD_CLOEXEC);
    if (fd < 0 || write(fd, data, size) != (ssize_t)size) {
        if (fd >= 0)
            close(fd);
        return 0;
    }
    char path[64];
    snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
    ferry_err_t err;
    char pub[41], sec[41];
    if (ferry_keys_load(path, pub, sec, &err) == 0 && (!ferry_key_is_z85(pub) || !ferry_key_is_z85(sec)))
        __builtin_trap(); /* a loaded key pair is always well-formed */
    if (ferry_keys_load(path, pub, NULL, &err) == 0 && !ferry_key_is_z85(pub))
        __builtin_trap();
    if (!s_ctx)
        s_ctx = zmq_ctx_new();
    ferry_zap_t *zap = ferry_zap_new(s_ctx, path, &err);
    ferry_zap_destroy(&zap);
    close(fd);
    return 0;
}
