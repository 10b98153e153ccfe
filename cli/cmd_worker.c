/* cmd_worker.c -- `ferry worker --connect EP`: run tasks for a coordinator */
#include "cli/command.h"
#include "proto/curve.h"
#include "util/common.h"
#include "util/log.h"
#include "util/mem.h"
#include "worker/runtimes.h"
#include "worker/worker.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_TAGS 256

static void s_help(void)
{
    printf("usage: ferry worker --connect ENDPOINT [--slots N] [--prefetch N] [--tag T]...\n"
           "                    [--runtime R]... [--name NAME] [--keys BASE --server-key FILE]\n"
           "                    [--stay] [--no-runtimes]\n"
           "\n"
           "Connect to a coordinator, advertise this machine (ferry probe), tags and runtimes,\n"
           "and run the tasks it sends: echo in this process, everything else in a child\n"
           "process (`ferry exec`) with the plan's deadline and memory limit. A crash,\n"
           "timeout, non-zero exit or garbage output of a child fails that attempt only.\n"
           "\n"
           "  --slots N         child processes at once (default: number of cores)\n"
           "  --prefetch N      tasks held beyond the running ones (default 16; credit)\n"
           "  --tag T           a tag tasks may require (repeatable)\n"
           "  --runtime R       a runtime tasks may require (repeatable); the runtimes\n"
           "                    found here (ort-node, ort-python, ort-python-cuda: see\n"
           "                    ferry probe) are advertised too\n"
           "  --no-runtimes     skip runtime detection (about a second at start)\n"
           "  --name NAME       stable worker name (default host:pid:random)\n"
           "  --keys BASE       CURVE: this worker's key pair BASE.key (ferry keygen)\n"
           "  --server-key FILE CURVE: the coordinator's public key (its BASE.pub)\n"
           "  --stay            keep reconnecting after the coordinator says BYE\n"
           "\n"
           "Exit codes: 0 the coordinator finished (BYE), 2 usage, 3 bad key file,\n"
           "4 runtime failure, 130 SIGINT/SIGTERM.\n");
}

static int s_run(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    ferry_worker_opts_t opts = {.handle_signals = true};
    const char *tags[S_MAX_TAGS], *runtimes[S_MAX_TAGS];
    const char *keys = NULL, *server_key = NULL;
    bool is_detecting = true;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--stay")) {
            opts.stay_after_bye = true;
            continue;
        }
        if (!strcmp(a, "--no-runtimes")) {
            is_detecting = false;
            continue;
        }
        if (i + 1 >= argc)
            return ferry_cli_usage_error("worker", "unknown option or missing value: '%s'", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--connect"))
            opts.endpoint = v;
        else if (!strcmp(a, "--slots")) {
            if (ferry_cli_parse_int(v, 1, FERRY_WORKER_MAX_SLOTS, &opts.slots))
                return ferry_cli_usage_error("worker", "--slots: expected 1..%d, got '%s'", FERRY_WORKER_MAX_SLOTS, v);
        } else if (!strcmp(a, "--prefetch")) {
            if (ferry_cli_parse_int(v, 0, 65536, &opts.prefetch))
                return ferry_cli_usage_error("worker", "--prefetch: expected 0..65536, got '%s'", v);
            if (opts.prefetch == 0)
                opts.prefetch = -1;
        } else if (!strcmp(a, "--tag") && opts.n_tags < S_MAX_TAGS)
            tags[opts.n_tags++] = v;
        else if (!strcmp(a, "--runtime") && opts.n_runtimes < S_MAX_TAGS)
            runtimes[opts.n_runtimes++] = v;
        else if (!strcmp(a, "--name"))
            opts.name = v;
        else if (!strcmp(a, "--keys"))
            keys = v;
        else if (!strcmp(a, "--server-key"))
            server_key = v;
        else
            return ferry_cli_usage_error("worker", "unknown option '%s'", a);
    }
    if (!opts.endpoint)
        return ferry_cli_usage_error("worker", "--connect ENDPOINT is required");
    if (!!keys != !!server_key)
        return ferry_cli_usage_error("worker", "--keys and --server-key go together");
    ferry_runtime_t *found = NULL;
    size_t n_found = 0;
    if (is_detecting)
        ferry_runtimes_detect(NULL, &found, &n_found);
    for (size_t i = 0; i < n_found && opts.n_runtimes < S_MAX_TAGS; i++)
        runtimes[opts.n_runtimes++] = found[i].name;
    opts.tags = tags;
    opts.runtimes = runtimes;
    ferry_log_set_role("worker");
    ferry_err_t err = {{0}};
    char pub[41], sec[41], spub[41];
    if (keys) {
        char *path = strstr(keys, ".key") ? ferry_strdup(keys) : ferry_asprintf("%s.key", keys);
        int rc = ferry_keys_load(path, pub, sec, &err);
        free(path);
        if (rc == 0)
            rc = ferry_keys_load(server_key, spub, NULL, &err);
        if (rc) {
            fprintf(stderr, "ferry worker: %s\n", err.msg);
            ferry_runtimes_free(found, n_found);
            return FERRY_EXIT_INPUT;
        }
        opts.public_key = pub;
        opts.secret_key = sec;
        opts.server_key = spub;
    }
    ferry_worker_t *w = ferry_worker_new(&opts, &err);
    int rc = FERRY_EXIT_RUNTIME;
    if (!w)
        fprintf(stderr, "ferry worker: %s\n", err.msg);
    else
        rc = ferry_worker_run(w);
    ferry_worker_destroy(&w);
    ferry_runtimes_free(found, n_found);
    return rc;
}

FERRY_COMMAND(worker, "worker", 21, "run tasks for a coordinator (--connect ENDPOINT)", s_run)
