/* rogue_client.c -- test helper: a hostile ZeroMQ client that sends N malformed or abusive
 * messages to a ferry coordinator (built and run by test_core_rogue.sh).
 *
 * usage: rogue_client ENDPOINT COUNT SEED
 * Message kinds (round robin with random content): random single frames, random bodies
 * under a valid header, unknown versions and commands, msgpack with lying lengths, too
 * many frames, oversized bodies, deep nesting, forged RESULTs for random attempts,
 * commands before HELLO, coordinator-only commands, hostile HELLOs, and a few valid
 * HELLOs that take tasks and then go silent. It never reads replies. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

static uint32_t s_rand(uint64_t *state)
{
    *state = *state * 6364136223846793005ull + 1442695040888963407ull;
    return (uint32_t)(*state >> 33);
}

static void s_send(void *s, const void *a, size_t an, const void *b, size_t bn)
{
    zmq_send(s, a, an, b ? ZMQ_SNDMORE | ZMQ_DONTWAIT : ZMQ_DONTWAIT);
    if (b)
        zmq_send(s, b, bn, ZMQ_DONTWAIT);
}

int main(int argc, char **argv)
{
    if (argc != 4) {
        fprintf(stderr, "usage: rogue_client ENDPOINT COUNT SEED\n");
        return 2;
    }
    long count = atol(argv[2]);
    uint64_t st = (uint64_t)atoll(argv[3]) | 1;
    void *ctx = zmq_ctx_new();
    void *s = zmq_socket(ctx, ZMQ_DEALER);
    int zero = 0, hwm = 1000000;
    zmq_setsockopt(s, ZMQ_LINGER, &zero, sizeof zero);
    zmq_setsockopt(s, ZMQ_SNDHWM, &hwm, sizeof hwm);
    if (zmq_connect(s, argv[1]) != 0) {
        fprintf(stderr, "connect: %s\n", zmq_strerror(zmq_errno()));
        return 1;
    }
    static uint8_t big[300 * 1024];
    uint8_t buf[4096], hdr[4] = {'F', 'Y', 1, 0};
    long sent = 0;
    for (long i = 0; i < count; i++) {
        size_t n = s_rand(&st) % 512;
        for (size_t k = 0; k < sizeof buf; k++)
            buf[k] = (uint8_t)s_rand(&st);
        switch (i % 14) {
        case 0: /* one random frame */
            s_send(s, buf, n, NULL, 0);
            break;
        case 1: /* valid header, random body */
            hdr[3] = (uint8_t)(1 + s_rand(&st) % 12);
            s_send(s, hdr, 4, buf, n);
            break;
        case 2: { /* unknown version */
            uint8_t h[4] = {'F', 'Y', (uint8_t)(2 + s_rand(&st) % 200), 2};
            s_send(s, h, 4, "\x80", 1);
            break;
        }
        case 3: { /* unknown command */
            uint8_t h[4] = {'F', 'Y', 1, (uint8_t)(13 + s_rand(&st) % 200)};
            s_send(s, h, 4, "\x80", 1);
            break;
        }
        case 4: { /* a map claiming 2^32-1 pairs / an array claiming 2^32-1 items */
            hdr[3] = 2;
            uint8_t b[] = {(uint8_t)(i & 1 ? 0xdf : 0xdd), 0xff, 0xff, 0xff, 0xff, 0xc0};
            s_send(s, hdr, 4, b, sizeof b);
            break;
        }
        case 5: /* too many frames */
            zmq_send(s, hdr, 4, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(s, "\x80", 1, ZMQ_SNDMORE | ZMQ_DONTWAIT);
            zmq_send(s, buf, n, ZMQ_DONTWAIT);
            break;
        case 6: /* oversized body (the socket's max message size drops the connection) */
            if (i % 140 == 6) {
                hdr[3] = 4;
                s_send(s, hdr, 4, big, sizeof big);
            } else {
                s_send(s, buf, 2, buf, n);
            }
            break;
        case 7: { /* deep nesting */
            hdr[3] = 4;
            memset(buf, 0x91, 200);
            buf[200] = 0xc0;
            s_send(s, hdr, 4, buf, 201);
            break;
        }
        case 8: { /* forged RESULT for a random attempt: {attempt: x, task: y, outcome: 0} */
            hdr[3] = 6;
            uint8_t b[64];
            size_t k = 0;
            b[k++] = 0x83;
            b[k++] = 0xa7; memcpy(b + k, "attempt", 7); k += 7;
            b[k++] = 0xce; for (int q = 0; q < 4; q++) b[k++] = (uint8_t)s_rand(&st);
            b[k++] = 0xa4; memcpy(b + k, "task", 4); k += 4;
            b[k++] = 0xcd; b[k++] = (uint8_t)s_rand(&st); b[k++] = (uint8_t)(1 + s_rand(&st) % 250);
            b[k++] = 0xa7; memcpy(b + k, "outcome", 7); k += 7;
            b[k++] = 0x00;
            s_send(s, hdr, 4, b, k);
            break;
        }
        case 9: { /* READY before HELLO */
            hdr[3] = 2;
            uint8_t b[] = {0x81, 0xa6, 'c', 'r', 'e', 'd', 'i', 't', 0x10};
            s_send(s, hdr, 4, b, sizeof b);
            break;
        }
        case 10: { /* commands only a coordinator sends */
            hdr[3] = (uint8_t)(i & 1 ? 3 : 7);
            s_send(s, hdr, 4, "\x80", 1);
            break;
        }
        case 11: { /* HELLO with a 2000-byte name / an over-limit credit */
            hdr[3] = 1;
            size_t k = 0;
            buf[k++] = 0x82;
            buf[k++] = 0xa4; memcpy(buf + k, "name", 4); k += 4;
            buf[k++] = 0xda; buf[k++] = 0x07; buf[k++] = 0xd0;
            memset(buf + k, 'x', 2000); k += 2000;
            buf[k++] = 0xa6; memcpy(buf + k, "credit", 6); k += 6;
            buf[k++] = 0xce; buf[k++] = 0x7f; buf[k++] = 0xff; buf[k++] = 0xff; buf[k++] = 0xff;
            s_send(s, hdr, 4, buf, k);
            break;
        }
        case 12: { /* rarely: a valid HELLO with credit 3, then silence (tasks must be re-leased) */
            if (i % 2800 != 12)
                break;
            hdr[3] = 1;
            char name[32];
            int nl = snprintf(name, sizeof name, "rogue-%ld", i);
            size_t k = 0;
            buf[k++] = 0x82;
            buf[k++] = 0xa4; memcpy(buf + k, "name", 4); k += 4;
            buf[k++] = (uint8_t)(0xa0 | nl); memcpy(buf + k, name, (size_t)nl); k += (size_t)nl;
            buf[k++] = 0xa6; memcpy(buf + k, "credit", 6); k += 6;
            buf[k++] = 0x03;
            s_send(s, hdr, 4, buf, k);
            break;
        }
        default: /* empty frames */
            s_send(s, "", 0, "", 0);
            break;
        }
        sent++;
        if (i % 500 == 0) {
            struct timespec ts = {0, 2 * 1000 * 1000}; /* a steady stream, not one burst */
            nanosleep(&ts, NULL);
        }
    }
    struct timespec ts = {0, 300 * 1000 * 1000}; /* let the last frames leave */
    nanosleep(&ts, NULL);
    zmq_close(s);
    zmq_ctx_term(ctx);
    printf("rogue: sent %ld hostile messages\n", sent);
    return 0;
}
