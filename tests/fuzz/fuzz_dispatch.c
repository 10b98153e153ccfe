/* fuzz_dispatch.c -- libFuzzer target: arbitrary messages into a live coordinator's dispatch
 *
 * One coordinator (journal in a temporary directory, ROUTER on inproc://) lives for the
 * whole fuzzing session, so state accumulates like in production: registered workers,
 * leases, results, stale results, errors. Input layout: byte 0 picks one of 8 peer
 * identities, bytes 1..4 are the header (the signature is forced valid half the time),
 * the rest is the body. */
#include "coordinator/coordinator.h"
#include "util/log.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static ferry_coordinator_t *s_coord;
static ferry_plan_t *s_plan;

static const char s_yaml[] = "name: fuzz\n"
                             "settings: {max_attempts: 3, heartbeat_ms: 1000, lease_ms: 30000}\n"
                             "diagnostics:\n"
                             "  - {kind: echo, count: 100000}\n"
                             "  - {kind: sleep, ms: 5, count: 1000, requires: {tags: [t1], arch: x86_64}}\n"
                             "  - {kind: crash, count: 10, requires: {gpu: true}}\n";

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
    ferry_log_set_level(FERRY_LOG_ERROR);
    char dir[] = "/tmp/ferry-fuzz-dispatch-XXXXXX";
    if (!mkdtemp(dir))
        abort();
    ferry_err_t err;
    s_plan = ferry_plan_parse("fuzz.yaml", s_yaml, sizeof s_yaml - 1, &err);
    if (!s_plan) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    char ep[64];
    snprintf(ep, sizeof ep, "inproc://fuzz-dispatch-%d", (int)getpid());
    ferry_coord_opts_t opts = {.plan = s_plan, .plan_text = s_yaml, .plan_len = sizeof s_yaml - 1,
                               .state_dir = dir, .bind = ep};
    s_coord = ferry_coordinator_new(&opts, &err);
    if (!s_coord) {
        fprintf(stderr, "%s\n", err.msg);
        abort();
    }
    return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 5)
        return 0;
    uint8_t identity[5] = {0, 'p', 'e', 'e', (uint8_t)('0' + (data[0] & 7))};
    uint8_t hdr[4];
    memcpy(hdr, data + 1, 4);
    if (data[0] & 0x80) {
        hdr[0] = 'F';
        hdr[1] = 'Y';
        hdr[2] = 1;
    }
    ferry_coordinator_feed(s_coord, identity, sizeof identity, hdr, 4, data + 5, size - 5);
    return 0;
}
