/* cmd_probe.c -- `ferry probe [--json]`: print what hardware this machine offers workers */
#include "cli/command.h"
#include "util/common.h"
#include "util/json.h"
#include "worker/probe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_GIB (1024.0 * 1024.0 * 1024.0)

static void s_help(void)
{
    printf("usage: ferry probe [--json]\n"
           "\n"
           "Print the hardware a worker on this machine advertises: architecture, CPU\n"
           "model, ISA flags (sse4.2, avx2, avx512f, neon, sve...), usable cores, memory,\n"
           "GPUs (from nvidia-smi, or /proc/driver/nvidia when nvidia-smi is absent) and OS.\n"
           "\n"
           "  --json    one JSON object: arch, cpu_model, isa[], cores, memory_bytes,\n"
           "            gpus[] {name, memory_bytes, driver, compute_cap, bus_id}, os, kernel\n"
           "\n"
           "Exit codes: 0 ok, 2 usage error, 4 nothing could be read from /proc.\n");
}

static const char *s_or(const char *s, const char *fallback)
{
    return s ? s : fallback;
}

static void s_print_text(const ferry_probe_t *p)
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
}

static int s_run(int argc, char **argv)
{
    bool is_json = false;
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            is_json = true;
        else
            return ferry_cli_usage_error("probe", "unknown argument '%s'", argv[i]);
    }
    ferry_probe_t probe;
    if (ferry_probe_run(&probe, NULL) < 0) {
        fprintf(stderr, "ferry probe: cannot read /proc/cpuinfo or /proc/meminfo\n");
        ferry_probe_free(&probe);
        return FERRY_EXIT_RUNTIME;
    }
    if (is_json) {
        ferry_buf_t out = FERRY_BUF_INIT;
        ferry_json_t j;
        ferry_json_init(&j, &out, true);
        ferry_probe_to_json(&probe, &j);
        printf("%s\n", out.data);
        ferry_buf_free(&out);
    } else {
        s_print_text(&probe);
    }
    ferry_probe_free(&probe);
    return fflush(stdout) == 0 ? FERRY_EXIT_OK : FERRY_EXIT_RUNTIME;
}

FERRY_COMMAND(probe, "probe", 40, "print this machine's hardware as workers advertise it", s_run)
