/* cmd_coordinator.c -- `ferry coordinator PLAN --state DIR --bind EP`: serve a plan to workers */
#include "cli/command.h"
#include "coordinator/coordinator.h"
#include "proto/curve.h"
#include "util/common.h"
#include "util/log.h"
#include "util/mem.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static void s_help(void)
{
    printf("usage: ferry coordinator PLAN --state DIR --bind ENDPOINT\n"
           "                         [--keys BASE --allow FILE | --insecure]\n"
           "\n"
           "Serve the tasks of PLAN to workers over ZeroMQ and record every attempt and\n"
           "result in the journal DIR/state.db (SQLite). Restarting on the same DIR resumes:\n"
           "finished tasks stay finished, in-flight ones are re-leased. Stops when every task\n"
           "is done or failed; SIGINT/SIGTERM stop leasing and wait up to 5 s for results.\n"
           "\n"
           "  --state DIR       journal directory (created if missing)\n"
           "  --bind ENDPOINT   e.g. tcp://0.0.0.0:5555, tcp://127.0.0.1:5555\n"
           "  --keys BASE       CURVE: this coordinator's key pair BASE.key (ferry keygen)\n"
           "  --allow FILE      CURVE: public keys of the workers allowed in, one per line\n"
           "                    (SIGHUP re-reads it; a malformed file keeps the old list)\n"
           "  --insecure        allow a non-loopback bind without CURVE (not recommended)\n"
           "\n"
           "CURVE is required when ENDPOINT is not loopback, unless --insecure.\n"
           "Exit codes: 0 every task succeeded, 1 some task failed, 2 usage, 3 bad plan or\n"
           "keys, 4 journal or socket failure, 130 stopped by a signal first.\n");
}

static int s_run(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    const char *plan_path = NULL, *state = NULL, *bind = NULL, *keys = NULL, *allow = NULL;
    bool is_insecure = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--state") && has_value)
            state = argv[++i];
        else if (!strcmp(a, "--bind") && has_value)
            bind = argv[++i];
        else if (!strcmp(a, "--keys") && has_value)
            keys = argv[++i];
        else if (!strcmp(a, "--allow") && has_value)
            allow = argv[++i];
        else if (!strcmp(a, "--insecure"))
            is_insecure = true;
        else if (a[0] == '-')
            return ferry_cli_usage_error("coordinator", "unknown option or missing value: '%s'", a);
        else if (!plan_path)
            plan_path = a;
        else
            return ferry_cli_usage_error("coordinator", "unexpected argument '%s'", a);
    }
    if (!plan_path || !state || !bind)
        return ferry_cli_usage_error("coordinator", "PLAN, --state DIR and --bind ENDPOINT are required");
    if (!!keys != !!allow)
        return ferry_cli_usage_error("coordinator", "--keys and --allow go together");
    if (!keys && !is_insecure && !ferry_endpoint_is_local(bind))
        return ferry_cli_usage_error("coordinator",
                                     "%s is not a loopback endpoint: CURVE is required (--keys BASE --allow FILE), "
                                     "or pass --insecure to run without encryption and authentication",
                                     bind);
    ferry_log_set_role("coordinator");
    ferry_err_t err = {{0}};
    char pub[41], sec[41];
    if (keys) {
        char *path = strstr(keys, ".key") ? ferry_strdup(keys) : ferry_asprintf("%s.key", keys);
        int rc = ferry_keys_load(path, pub, sec, &err);
        free(path);
        if (rc) {
            fprintf(stderr, "ferry coordinator: %s\n", err.msg);
            return FERRY_EXIT_INPUT;
        }
    }
    ferry_plan_t *plan;
    char *text;
    size_t len;
    if (ferry_coordinator_load_plan(plan_path, &plan, &text, &len, &err)) {
        fprintf(stderr, "ferry coordinator: %s\n", err.msg);
        return FERRY_EXIT_INPUT;
    }
    ferry_coord_opts_t opts = {.plan = plan, .plan_text = text, .plan_len = len, .state_dir = state, .bind = bind,
                               .secret_key = keys ? sec : NULL, .allow_list = allow, .handle_signals = true};
    ferry_coordinator_t *c = ferry_coordinator_new(&opts, &err);
    int rc;
    if (!c) {
        fprintf(stderr, "ferry coordinator: %s\n", err.msg);
        rc = strstr(err.msg, "belongs to plan") || strstr(err.msg, "allow") ? FERRY_EXIT_INPUT : FERRY_EXIT_RUNTIME;
    } else {
        rc = ferry_coordinator_run(c);
        ferry_coordinator_destroy(&c);
    }
    ferry_plan_destroy(&plan);
    free(text);
    return rc;
}

FERRY_COMMAND(coordinator, "coordinator", 20, "serve a plan's tasks to workers (journal in --state)", s_run)
