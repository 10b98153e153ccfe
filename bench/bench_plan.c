/* bench_plan.c -- plan parsing against libyaml's own event scan of the same text (baseline)
 *
 * ferry_plan_parse = libyaml events + a bounded tree + validation; the baseline is the
 * event loop alone, the least any YAML-based reader must pay. The ratio is the cost of
 * our checks. Plan: 10,000 groups (the maximum) with requirements. Medians of 7 runs. */
#include "coordinator/plan.h"
#include "util/buf.h"

#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <yaml.h>

#define S_RUNS 7

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static size_t s_scan_events(const char *text, size_t len)
{
    yaml_parser_t parser;
    yaml_event_t event;
    size_t n = 0;
    yaml_parser_initialize(&parser);
    yaml_parser_set_input_string(&parser, (const unsigned char *)text, len);
    for (;;) {
        if (!yaml_parser_parse(&parser, &event))
            break;
        bool is_end = event.type == YAML_STREAM_END_EVENT;
        yaml_event_delete(&event);
        n++;
        if (is_end)
            break;
    }
    yaml_parser_delete(&parser);
    return n;
}

int main(void)
{
    ferry_buf_t plan = FERRY_BUF_INIT;
    ferry_buf_puts(&plan, "name: bench\nsettings: {lease_ms: 5000, heartbeat_ms: 500}\ndiagnostics:\n");
    for (int i = 0; i < FERRY_PLAN_MAX_GROUPS; i++)
        ferry_buf_printf(&plan,
                         "  - kind: sleep\n    name: g%d\n    ms: %d\n    count: %d\n"
                         "    requires: {arch: x86_64, isa: [avx2, avx512f], gpu: false, tags: [rack-%d], "
                         "runtimes: [ort-node]}\n",
                         i, i % 1000, 1 + i % 50, i % 8);
    double ours[S_RUNS], base[S_RUNS];
    size_t events = 0;
    for (int r = 0; r < S_RUNS; r++) {
        double t0 = s_now();
        events = s_scan_events(plan.data, plan.len);
        base[r] = s_now() - t0;
        ferry_err_t err;
        t0 = s_now();
        ferry_plan_t *p = ferry_plan_parse("bench.yaml", plan.data, plan.len, &err);
        ours[r] = s_now() - t0;
        if (!p || p->n_groups != FERRY_PLAN_MAX_GROUPS) {
            fprintf(stderr, "bench_plan: %s\n", p ? "wrong group count" : err.msg);
            return 1;
        }
        ferry_plan_destroy(&p);
    }
    qsort(ours, S_RUNS, sizeof *ours, s_cmp);
    qsort(base, S_RUNS, sizeof *base, s_cmp);
    printf("plan with %d groups (%zu KiB, %zu YAML events): ferry_plan_parse %.1f ms, libyaml event scan "
           "%.1f ms, ratio %.2fx\n",
           FERRY_PLAN_MAX_GROUPS, plan.len / 1024, events, ours[S_RUNS / 2] * 1e3, base[S_RUNS / 2] * 1e3,
           ours[S_RUNS / 2] / base[S_RUNS / 2]);
    ferry_buf_free(&plan);
    return 0;
}
