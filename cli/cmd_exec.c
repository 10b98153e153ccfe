/* cmd_exec.c -- `ferry exec` (internal): the child process that runs one task for a worker
 *
 * Contract with the worker (worker/exec.h): on success print exactly one line
 * "FERRY-RESULT 1 ok <output>" to stdout and exit 0; anything else is a failure. The
 * child limits its own address space (RLIMIT_AS), writes no core dumps, and dies with
 * its parent (PR_SET_PDEATHSIG). */
#include "cli/command.h"
#include "proto/proto.h"
#include "util/common.h"
#include "worker/exec.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#if defined(__SANITIZE_ADDRESS__)
#define S_IS_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define S_IS_ASAN 1
#endif
#endif

static void s_help(void)
{
    printf("usage: ferry exec --kind echo|sleep|fail|crash [--ms N] [--memory-mb N] [--task ID]\n"
           "\n"
           "Internal: the child process a worker starts for one task. Prints\n"
           "'" FERRY_EXEC_RESULT_PREFIX " <output>' and exits 0 on success.\n"
           "  sleep  sleeps N ms;  fail  exits 1 with a message on stderr;\n"
           "  crash  dies by SIGSEGV;  echo  prints its task id.\n");
}

static int s_run(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    const char *kind = NULL, *task = "?";
    int64_t ms = 0, memory_mb = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (i + 1 >= argc)
            return ferry_cli_usage_error("exec", "%s needs a value", a);
        const char *v = argv[++i];
        if (!strcmp(a, "--kind"))
            kind = v;
        else if (!strcmp(a, "--task"))
            task = v;
        else if (!strcmp(a, "--ms")) {
            if (ferry_cli_parse_i64(v, 0, INT64_MAX, &ms))
                return ferry_cli_usage_error("exec", "--ms: expected milliseconds, got '%s'", v);
        } else if (!strcmp(a, "--memory-mb")) {
            if (ferry_cli_parse_i64(v, 0, INT64_MAX, &memory_mb))
                return ferry_cli_usage_error("exec", "--memory-mb: expected MiB, got '%s'", v);
        } else
            return ferry_cli_usage_error("exec", "unknown option '%s'", a);
    }
    if (!kind)
        return ferry_cli_usage_error("exec", "--kind is required");
    pid_t parent = getppid();
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        return FERRY_EXIT_RUNTIME; /* the worker died before we armed the signal */
    struct rlimit no_core = {0, 0};
    setrlimit(RLIMIT_CORE, &no_core);
#ifndef S_IS_ASAN /* ASan reserves terabytes of address space: an RLIMIT_AS would kill it */
    if (memory_mb > 0 && (uint64_t)memory_mb < (UINT64_MAX >> 20)) {
        struct rlimit as = {(rlim_t)memory_mb << 20, (rlim_t)memory_mb << 20};
        setrlimit(RLIMIT_AS, &as);
    }
#endif
    if (!strcmp(kind, "echo")) {
        printf(FERRY_EXEC_RESULT_PREFIX " %s\n", task);
    } else if (!strcmp(kind, "sleep")) {
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
        while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
            ;
        printf(FERRY_EXEC_RESULT_PREFIX " slept %lld ms\n", (long long)ms);
    } else if (!strcmp(kind, "fail")) {
        fprintf(stderr, "task %s: diagnostic failure (kind fail), exiting with status 1\n", task);
        return FERRY_EXIT_FAIL;
    } else if (!strcmp(kind, "crash")) {
        fprintf(stderr, "task %s: diagnostic crash (kind crash): raising SIGSEGV\n", task);
        fflush(stderr);
        signal(SIGSEGV, SIG_DFL); /* past any sanitizer's handler */
        raise(SIGSEGV);
        abort();
    } else {
        return ferry_cli_usage_error("exec", "--kind: unknown kind '%s'", kind);
    }
    return fflush(stdout) == 0 ? FERRY_EXIT_OK : FERRY_EXIT_RUNTIME;
}

FERRY_COMMAND_INTERNAL(exec, "exec", "run one task in a child process (used by workers)", s_run)
