/* command.h -- the subcommand registry of the `ferry` binary (git-style CLI)
 *
 * Each command lives in its own cli/cmd_*.c and registers itself with FERRY_COMMAND,
 * so adding a command never touches a shared table. */
#ifndef FERRY_COMMAND_H
#define FERRY_COMMAND_H

#include <stdbool.h>
#include <stdint.h>

typedef struct ferry_command {
    const char *name;
    const char *summary;  /* one line for `ferry --help` */
    int order;            /* position in `ferry --help` (ascending) */
    bool is_internal;     /* hidden from `ferry --help` (e.g. exec) */
    /* argv[0] is the command name; returns a process exit code (FERRY_EXIT_*) */
    int (*run)(int argc, char **argv);
    struct ferry_command *next;
} ferry_command_t;

void ferry_command_register(ferry_command_t *cmd);
const ferry_command_t *ferry_command_find(const char *name);
const ferry_command_t *ferry_command_first(void); /* sorted by order */

#define FERRY_COMMAND(ident, cmd_name, cmd_order, cmd_summary, cmd_run)                                   \
    static ferry_command_t s_command_##ident = {.name = cmd_name, .summary = cmd_summary,                 \
                                                .order = cmd_order, .run = cmd_run};                      \
    __attribute__((constructor)) static void s_command_register_##ident(void)                            \
    {                                                                                                     \
        ferry_command_register(&s_command_##ident);                                                      \
    }

#define FERRY_COMMAND_INTERNAL(ident, cmd_name, cmd_summary, cmd_run)                                     \
    static ferry_command_t s_command_##ident = {.name = cmd_name, .summary = cmd_summary,                 \
                                                .order = 1000, .is_internal = true, .run = cmd_run};      \
    __attribute__((constructor)) static void s_command_register_##ident(void)                            \
    {                                                                                                     \
        ferry_command_register(&s_command_##ident);                                                      \
    }

/* True when argv holds -h or --help (before any "--"). */
bool ferry_cli_wants_help(int argc, char **argv);
/* Parse a whole decimal integer in [min, max]. 0 on success, -1 (out untouched) when s is
 * empty, has trailing characters, overflows or is out of range. */
int ferry_cli_parse_i64(const char *s, int64_t min, int64_t max, int64_t *out);
int ferry_cli_parse_int(const char *s, int min, int max, int *out);
/* Print "ferry CMD: message" plus a hint to stderr and return FERRY_EXIT_USAGE. */
int ferry_cli_usage_error(const char *cmd, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#endif
