/* fuzz_proto.c -- libFuzzer target: arbitrary bytes as a (header, body) message pair.
 * The first byte picks the command; the rest is the body. Decoded messages are
 * re-encoded and decoded again, which must succeed and agree on the command. */
#include "proto/proto.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 1)
        return 0;
    uint8_t hdr[FERRY_PROTO_HEADER_LEN] = {FERRY_PROTO_SIG0, FERRY_PROTO_SIG1, FERRY_PROTO_VERSION, data[0] & 0x0f};
    ferry_msg_t m;
    ferry_err_t err;
    if (ferry_msg_decode(hdr, sizeof hdr, data + 1, size - 1, &m, &err) == 0) {
        ferry_buf_t body = FERRY_BUF_INIT;
        if (ferry_msg_encode(&m, &body) == 0) {
            ferry_msg_t again;
            if (ferry_msg_decode(hdr, sizeof hdr, body.data, body.len, &again, &err) != 0 || again.cmd != m.cmd)
                abort();
            ferry_msg_clear(&again);
        }
        ferry_buf_free(&body);
    }
    ferry_msg_clear(&m);
    /* the header path with arbitrary bytes too */
    if (size >= FERRY_PROTO_HEADER_LEN) {
        ferry_msg_decode(data, FERRY_PROTO_HEADER_LEN, data + FERRY_PROTO_HEADER_LEN, size - FERRY_PROTO_HEADER_LEN,
                         &m, &err);
        ferry_msg_clear(&m);
    }
    return 0;
}
