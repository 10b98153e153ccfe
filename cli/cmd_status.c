/* cmd_status.c -- `ferry status --state DIR`: the progress table, read-only (works during a run) */
#include "cli/command.h"
#include "coordinator/journal.h"
#include "util/common.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>

static void s_help(void)
{
    printf("usage: ferry status --state DIR [--json]\n"
           "\n"
           "Print the progress of the plan whose journal is in DIR: tasks per group and\n"
           "state (pending, running, done, failed), attempts, workers, and the first failed\n"
           "tasks with the reason of their last attempt. Opens the journal read-only, so it\n"
           "works while the coordinator runs.\n"
           "\n"
           "  --json   one JSON document instead (schema 1, coordinator/STATUS.md): plan,\n"
           "           totals, groups, workers, and every failed task with every attempt\n"
           "           (worker, outcome, exit code, signal, reason, stderr tail)\n"
           "\n"
           "Exit codes: 0 every task done, 1 some task failed or not finished yet,\n"
           "3 DIR holds no ferry journal, 4 the journal could not be read.\n");
}

static int s_run(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    const char *state = NULL;
    bool is_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--state") && i + 1 < argc)
            state = argv[++i];
        else if (!strcmp(argv[i], "--json"))
            is_json = true;
        else
            return ferry_cli_usage_error("status", "unexpected argument '%s'", argv[i]);
    }
    if (!state)
        return ferry_cli_usage_error("status", "--state DIR is required");
    ferry_err_t err = {{0}};
    ferry_journal_t *j = ferry_journal_open(state, true, &err);
    if (!j) {
        fprintf(stderr, "ferry status: %s\n", err.msg);
        return FERRY_EXIT_INPUT;
    }
    int rc = is_json ? ferry_journal_print_status_json(j, stdout) : ferry_journal_print_status(j, stdout);
    ferry_journal_counts_t c = {0};
    if (rc == 0)
        rc = ferry_journal_counts(j, &c);
    ferry_journal_destroy(&j);
    if (rc)
        return FERRY_EXIT_RUNTIME;
    return c.done == c.total ? FERRY_EXIT_OK : FERRY_EXIT_FAIL;
}

FERRY_COMMAND(status, "status", 31, "show the progress of a plan from its state directory", s_run)
