/* main.c -- entry point of the `ferry` binary: global options and subcommand dispatch */
#include "cli/command.h"
#include "util/common.h"

#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static ferry_command_t *s_commands;

void ferry_command_register(ferry_command_t *cmd)
{
    ferry_command_t **pp = &s_commands;
    while (*pp && (*pp)->order <= cmd->order)
        pp = &(*pp)->next;
    cmd->next = *pp;
    *pp = cmd;
}

const ferry_command_t *ferry_command_find(const char *name)
{
    for (const ferry_command_t *c = s_commands; c; c = c->next)
        if (!strcmp(c->name, name))
            return c;
    return NULL;
}

const ferry_command_t *ferry_command_first(void)
{
    return s_commands;
}

bool ferry_cli_wants_help(int argc, char **argv)
{
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--"))
            return false;
        if (!strcmp(argv[i], "-h") || !strcmp(argv[i], "--help"))
            return true;
    }
    return false;
}

int ferry_cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || v < min || v > max)
        return -1;
    *out = v;
    return 0;
}

int ferry_cli_parse_int(const char *s, int min, int max, int *out)
{
    int64_t v;
    if (ferry_cli_parse_i64(s, min, max, &v) < 0)
        return -1;
    *out = (int)v;
    return 0;
}

int ferry_cli_usage_error(const char *cmd, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "ferry %s: ", cmd);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fprintf(stderr, "\nSee 'ferry %s --help'.\n", cmd);
    return FERRY_EXIT_USAGE;
}

static void s_usage(FILE *out)
{
    fprintf(out,
            "usage: ferry [--version] [--help] <command> [<args>]\n"
            "\n"
            "ferry migrates fleets of machine-learning models between formats, opsets and\n"
            "hardware, and proves every migrated model still predicts what the old one did.\n"
            "\n"
            "Commands:\n");
    for (const ferry_command_t *c = s_commands; c; c = c->next)
        if (!c->is_internal)
            fprintf(out, "  %-12s %s\n", c->name, c->summary);
    fprintf(out,
            "\n"
            "Run 'ferry <command> --help' for a command's options.\n"
            "\n"
            "Exit codes:\n"
            "  0    success: everything asked for succeeded\n"
            "  1    the work ran and a result is negative (a task failed, a check found\n"
            "       problems, a comparison exceeded its tolerance)\n"
            "  2    usage error (bad command line)\n"
            "  3    invalid input: a plan, model, data or key file is missing or malformed\n"
            "  4    runtime failure: socket, disk, journal or resource error\n"
            "  130  interrupted by SIGINT/SIGTERM before the work finished\n");
}

int main(int argc, char **argv)
{
    /* A peer closing a pipe must never kill us; writes report EPIPE instead. */
    signal(SIGPIPE, SIG_IGN);
    if (argc < 2) {
        s_usage(stderr);
        return FERRY_EXIT_USAGE;
    }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) {
        if (argc > 2 && strcmp(name, "help") == 0) {
            const ferry_command_t *c = ferry_command_find(argv[2]);
            if (c) {
                char *hargv[] = {(char *)c->name, "--help", NULL};
                return c->run(2, hargv);
            }
        }
        s_usage(stdout);
        return FERRY_EXIT_OK;
    }
    if (!strcmp(name, "--version") || !strcmp(name, "version")) {
        printf("ferry %s\n", FERRY_VERSION);
        return FERRY_EXIT_OK;
    }
    const ferry_command_t *c = ferry_command_find(name);
    if (!c) {
        fprintf(stderr, "ferry: '%s' is not a ferry command. See 'ferry --help'.\n", name);
        return FERRY_EXIT_USAGE;
    }
    return c->run(argc - 1, argv + 1);
}
