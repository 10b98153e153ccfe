/* cmd_probe.c -- `ferry probe [--json]`: print what hardware this machine offers workers */
#include "cli/command.h"
#include "util/common.h"
#include "util/json.h"
#include "worker/probe.h"
#include "worker/runtimes.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_GIB (1024.0 * 1024.0 * 1024.0)

static void s_help(void)
{
    printf("usage: ferry probe [--json] [--no-runtimes]\n"
           "\n"
           "Print the hardware a worker on this machine advertises: architecture, CPU\n"
           "model, ISA flags (sse4.2, avx2, avx512f, neon, sve...), usable cores, memory,\n"
           "GPUs (from nvidia-smi, or /proc/driver/nvidia when nvidia-smi is absent), OS,\n"
           "and the runners it can run (ort-node, ort-python, ort-python-cuda; names as in a\n"
           "plan's requires: {runtimes: [...]}).\n"
           "\n"
           "  --json          one JSON object: arch, cpu_model, isa[], cores, memory_bytes,\n"
           "                  gpus[] {name, memory_bytes, driver, compute_cap, bus_id}, os, kernel,\n"
           "                  runtimes[] {name, version, program}\n"
           "  --no-runtimes   skip runner detection (it starts node and python3)\n"
           "\n"
           "Environment: FERRY_RUNNERS_DIR (default: the runners/ folder next to ferry),\n"
           "FERRY_ORT_PYTHON (the python for ort-python; default python3).\n"
           "\n"
           "Exit codes: 0 ok, 2 usage error, 4 nothing could be read from /proc.\n");
}

static const char *s_or(const char *s, const char *fallback)
{
    return s ? s : fallback;
}

static void s_print_text(const ferry_probe_t *p, const ferry_runtime_t *rt, size_t n_rt, bool has_runtimes)
{
    printf("arch:    %s\n", s_or(p->arch, "unknown"));
    printf("cpu:     %s\n", s_or(p->cpu_model, "unknown"));
    printf("isa:    ");
    for (size_t i = 0; i < p->n_isa; i++)
        printf(" %s", p->isa[i]);
    printf("%s\n", p->n_isa ? "" : " (none detected)");
    printf("cores:   %d\n", p->cores);
    printf("memory:  %.1f GiB (%llu bytes)\n", (double)p->memory_bytes / S_GIB, (unsigned long long)p->memory_bytes);
    if (p->n_gpus == 0)
        printf("gpus:    none\n");
    for (size_t i = 0; i < p->n_gpus; i++) {
        const ferry_gpu_t *g = &p->gpus[i];
        printf("gpu %zu:   %s, %.1f GiB, driver %s, compute capability %s, bus %s\n", i, g->name,
               (double)g->memory_bytes / S_GIB, s_or(g->driver, "unknown"), s_or(g->compute_cap, "unknown"),
               s_or(g->bus_id, "unknown"));
    }
    printf("os:      %s\n", s_or(p->os, "unknown"));
    printf("kernel:  %s\n", s_or(p->kernel, "unknown"));
    if (!has_runtimes)
        return;
    printf("runtimes:");
    for (size_t i = 0; i < n_rt; i++)
        printf(" %s %s", rt[i].name, s_or(rt[i].version, ""));
    printf("%s\n", n_rt ? "" : " none");
}

static int s_run(int argc, char **argv)
{
    bool is_json = false, has_runtimes = true;
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            is_json = true;
        else if (!strcmp(argv[i], "--no-runtimes"))
            has_runtimes = false;
        else
            return ferry_cli_usage_error("probe", "unknown argument '%s'", argv[i]);
    }
    ferry_probe_t probe;
    if (ferry_probe_run(&probe, NULL) < 0) {
        fprintf(stderr, "ferry probe: cannot read /proc/cpuinfo or /proc/meminfo\n");
        ferry_probe_free(&probe);
        return FERRY_EXIT_RUNTIME;
    }
    ferry_runtime_t *rt = NULL;
    size_t n_rt = 0;
    if (has_runtimes)
        ferry_runtimes_detect(NULL, &rt, &n_rt);
    if (is_json) {
        ferry_buf_t out = FERRY_BUF_INIT;
        ferry_json_t j;
        ferry_json_init(&j, &out, true);
        ferry_json_obj_begin(&j);
        ferry_probe_json_fields(&probe, &j);
        if (has_runtimes) {
            ferry_json_key(&j, "runtimes");
            ferry_runtimes_to_json(rt, n_rt, &j);
        }
        ferry_json_obj_end(&j);
        printf("%s\n", out.data);
        ferry_buf_free(&out);
    } else {
        s_print_text(&probe, rt, n_rt, has_runtimes);
    }
    ferry_runtimes_free(rt, n_rt);
    ferry_probe_free(&probe);
    return fflush(stdout) == 0 ? FERRY_EXIT_OK : FERRY_EXIT_RUNTIME;
}

FERRY_COMMAND(probe, "probe", 40, "print this machine's hardware as workers advertise it", s_run)
