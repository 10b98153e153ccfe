/* cmd_run.c -- `ferry run PLAN`: coordinator plus N local workers (threads over inproc://) */
#include "cli/command.h"
#include "coordinator/coordinator.h"
#include "util/common.h"
#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"
#include "worker/runtimes.h"
#include "worker/worker.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#define S_MAX_WORKERS 256
#define S_TTY_PROGRESS_MS 200    /* refresh of the live line on a terminal */
#define S_PLAIN_PROGRESS_MS 2000 /* one plain line this often otherwise */

static void s_help(void)
{
    printf("usage: ferry run PLAN [--workers N] [--slots N] [--prefetch N] [--state DIR]\n"
           "\n"
           "Run PLAN on this machine: a coordinator and N workers in one process (workers\n"
           "are threads talking over inproc://; tasks other than echo still run in child\n"
           "processes). Shows a live progress line (done/total, rate, ETA) on a terminal,\n"
           "plain progress lines otherwise.\n"
           "\n"
           "  --workers N   local workers (default: number of cores, at most %d)\n"
           "  --slots N     child processes per worker (default 1)\n"
           "  --prefetch N  tasks each worker holds beyond the running ones (default 16)\n"
           "  --state DIR   journal directory (default: a new /tmp/ferry-run-XXXXXX);\n"
           "                running again on the same DIR resumes the plan\n"
           "\n"
           "A group that none of the local workers can serve (e.g. `requires: {gpu: true}`\n"
           "on a machine without a GPU) fails at once, naming the unmet requirement.\n"
           "\n"
           "Exit codes: 0 every task succeeded, 1 some task failed, 2 usage, 3 bad plan,\n"
           "4 journal or socket failure, 130 interrupted.\n",
           S_MAX_WORKERS);
}

typedef struct {
    ferry_worker_t *worker;
    pthread_t thread;
    bool is_started;
    int exit_code;
} s_thread_t;

static void *s_worker_main(void *arg)
{
    s_thread_t *t = arg;
    t->exit_code = ferry_worker_run(t->worker);
    return NULL;
}

typedef struct {
    bool is_tty;
    size_t line_len;
} s_progress_t;

static void s_on_progress(void *ud, const ferry_coord_progress_t *p)
{
    s_progress_t *pr = ud;
    double rate = p->elapsed_s > 0 ? (double)p->done_this_run / p->elapsed_s : 0;
    uint64_t left = p->total - p->done - p->failed;
    char eta[32] = "-";
    if (rate > 0 && left)
        snprintf(eta, sizeof eta, "%.0fs", (double)left / rate);
    else if (!left)
        snprintf(eta, sizeof eta, "0s");
    char line[256];
    int n = snprintf(line, sizeof line, "%llu/%llu done, %llu failed, %llu running, %.0f tasks/s, ETA %s, %zu workers",
                     (unsigned long long)p->done, (unsigned long long)p->total, (unsigned long long)p->failed,
                     (unsigned long long)p->running, rate, eta, p->workers);
    if (pr->is_tty) {
        fprintf(stderr, "\r%s%*s", line, (int)(pr->line_len > (size_t)n ? pr->line_len - (size_t)n : 0), "");
        pr->line_len = (size_t)n;
        if (p->is_final)
            fputc('\n', stderr);
    } else {
        fprintf(stderr, "progress: %s\n", line);
    }
    fflush(stderr);
}

static int s_run(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    const char *plan_path = NULL, *state = NULL;
    int n_workers = 0, slots = 1, prefetch = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        bool has_value = i + 1 < argc;
        if (!strcmp(a, "--workers") && has_value) {
            if (ferry_cli_parse_int(argv[++i], 1, S_MAX_WORKERS, &n_workers))
                return ferry_cli_usage_error("run", "--workers: expected 1..%d, got '%s'", S_MAX_WORKERS, argv[i]);
        } else if (!strcmp(a, "--slots") && has_value) {
            if (ferry_cli_parse_int(argv[++i], 1, FERRY_WORKER_MAX_SLOTS, &slots))
                return ferry_cli_usage_error("run", "--slots: expected 1..%d, got '%s'", FERRY_WORKER_MAX_SLOTS,
                                             argv[i]);
        } else if (!strcmp(a, "--prefetch") && has_value) {
            if (ferry_cli_parse_int(argv[++i], 0, 65536, &prefetch))
                return ferry_cli_usage_error("run", "--prefetch: expected 0..65536, got '%s'", argv[i]);
            if (prefetch == 0)
                prefetch = -1;
        } else if (!strcmp(a, "--state") && has_value) {
            state = argv[++i];
        } else if (a[0] == '-') {
            return ferry_cli_usage_error("run", "unknown option or missing value: '%s'", a);
        } else if (!plan_path) {
            plan_path = a;
        } else {
            return ferry_cli_usage_error("run", "unexpected argument '%s'", a);
        }
    }
    if (!plan_path)
        return ferry_cli_usage_error("run", "PLAN is required");
    if (n_workers == 0) {
        long cores = sysconf(_SC_NPROCESSORS_ONLN);
        n_workers = (int)FERRY_MAX(1, FERRY_MIN(cores, (long)S_MAX_WORKERS));
    }
    if (!getenv("FERRY_LOG"))
        ferry_log_set_level(FERRY_LOG_WARN); /* the progress line says what matters */
    ferry_log_set_role("run");
    ferry_err_t err = {{0}};
    ferry_plan_t *plan;
    char *text;
    size_t len;
    if (ferry_coordinator_load_plan(plan_path, &plan, &text, &len, &err)) {
        fprintf(stderr, "ferry run: %s\n", err.msg);
        return FERRY_EXIT_INPUT;
    }
    char tmp_state[64] = "";
    if (!state) {
        const char *tmpdir = getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
        snprintf(tmp_state, sizeof tmp_state, "%.40s/ferry-run-XXXXXX", tmpdir);
        if (!mkdtemp(tmp_state)) {
            fprintf(stderr, "ferry run: cannot create a state directory in %s: %s\n", tmpdir, strerror(errno));
            ferry_plan_destroy(&plan);
            free(text);
            return FERRY_EXIT_RUNTIME;
        }
        state = tmp_state;
    }
    /* runtimes are detected (about a second) only when some group requires one */
    ferry_runtime_t *found = NULL;
    size_t n_found = 0;
    for (size_t g = 0; g < plan->n_groups; g++)
        if (plan->groups[g].req.n_runtimes) {
            ferry_runtimes_detect(NULL, &found, &n_found);
            break;
        }
    const char **rt_names = ferry_calloc(n_found ? n_found : 1, sizeof *rt_names);
    for (size_t i = 0; i < n_found; i++)
        rt_names[i] = found[i].name;
    void *ctx = zmq_ctx_new();
    char endpoint[64];
    snprintf(endpoint, sizeof endpoint, "inproc://ferry-run-%d", (int)getpid());
    s_progress_t progress = {.is_tty = isatty(STDERR_FILENO)};
    ferry_coord_opts_t copts = {.plan = plan, .plan_text = text, .plan_len = len, .state_dir = state,
                                .bind = endpoint, .zmq_ctx = ctx, .handle_signals = true,
                                .local_workers = (size_t)n_workers,
                                .progress_ms = progress.is_tty ? S_TTY_PROGRESS_MS : S_PLAIN_PROGRESS_MS,
                                .on_progress = s_on_progress, .progress_ud = &progress};
    int rc = FERRY_EXIT_RUNTIME;
    s_thread_t *threads = ferry_calloc((size_t)n_workers, sizeof *threads);
    ferry_coordinator_t *c = ferry_coordinator_new(&copts, &err);
    if (!c) {
        fprintf(stderr, "ferry run: %s\n", err.msg);
        rc = strstr(err.msg, "belongs to plan") ? FERRY_EXIT_INPUT : FERRY_EXIT_RUNTIME;
        goto out;
    }
    for (int i = 0; i < n_workers; i++) {
        char name[96];
        snprintf(name, sizeof name, "run-%d-worker-%d", (int)getpid(), i + 1);
        ferry_worker_opts_t wopts = {.endpoint = endpoint, .zmq_ctx = ctx, .slots = slots, .prefetch = prefetch,
                                     .name = name, .runtimes = rt_names, .n_runtimes = n_found};
        threads[i].worker = ferry_worker_new(&wopts, &err);
        if (!threads[i].worker) {
            fprintf(stderr, "ferry run: worker %d: %s\n", i + 1, err.msg);
            goto out;
        }
        if (pthread_create(&threads[i].thread, NULL, s_worker_main, &threads[i]) != 0) {
            fprintf(stderr, "ferry run: cannot start worker thread %d\n", i + 1);
            goto out;
        }
        threads[i].is_started = true;
    }
    rc = ferry_coordinator_run(c);
out:
    for (int i = 0; i < n_workers; i++)
        if (threads[i].is_started) {
            ferry_worker_stop(threads[i].worker);
            pthread_join(threads[i].thread, NULL);
        }
    for (int i = 0; i < n_workers; i++)
        ferry_worker_destroy(&threads[i].worker);
    free(threads);
    ferry_coordinator_t *done = c;
    if (done) {
        printf("ferry run: %s: exit %d; journal in %s (ferry status --state %s)\n", plan_path, rc, state, state);
        ferry_coordinator_destroy(&c);
    }
    zmq_ctx_term(ctx);
    free(rt_names);
    ferry_runtimes_free(found, n_found);
    ferry_plan_destroy(&plan);
    free(text);
    return rc;
}

FERRY_COMMAND(run, "run", 10, "run a plan here: coordinator plus local workers, with live progress", s_run)
