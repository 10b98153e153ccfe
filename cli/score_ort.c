/* score_ort.c -- a converted model run by an ONNX Runtime runner process, tensors as .npy in a private temp dir
 *
 * One runner process per `ferry score` call: Node.js or Python start-up costs a few hundred
 * milliseconds, so all rows go in one run. The child gets /dev/null for stdin, pipes for
 * stdout and stderr (drained as they come: stdout is discarded, of stderr only the tail is
 * kept, so a chatty runner cannot grow our memory), its own process group (killed as a
 * whole at the deadline, on SIGINT/SIGTERM and once it exits, so nothing it started
 * outlives it), default SIGPIPE and an empty signal mask. */
#include "cli/score_ort.h"

#include "util/file.h"
#include "util/mem.h"
#include "worker/capture.h"
#include "worker/runtimes.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

#define S_POLL_MS 100           /* poll slice: how soon an exit or a signal is noticed */
#define S_EXIT_GRACE_MS 1000    /* after the runner exits, wait this long for its pipes to close */
#define S_READ_CHUNK 65536
#define S_LAST_LINE_MAX 400     /* characters of the runner's last stderr line in the error */
#define S_RMTREE_FDS 16

typedef struct {
    const char *name;  /* "ort-node", "ort-python" */
    char *interpreter; /* resolved node / python */
    char *script;      /* runner.js / runner.py */
    char *node_path;   /* NODE_PATH for ort-node, else NULL */
} s_runner_t;

static volatile sig_atomic_t s_stop_signal;

static void s_on_signal(int sig)
{
    s_stop_signal = sig;
}

int ferry_ort_runner_parse(const char *name, ferry_ort_runner_t *out)
{
    if (!strcmp(name, "ort"))
        *out = FERRY_ORT_AUTO;
    else if (!strcmp(name, "ort-node"))
        *out = FERRY_ORT_NODE;
    else if (!strcmp(name, "ort-python"))
        *out = FERRY_ORT_PYTHON;
    else
        return -1;
    return 0;
}

static void s_runner_clear(s_runner_t *r)
{
    free(r->interpreter);
    free(r->script);
    free(r->node_path);
    memset(r, 0, sizeof *r);
}

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool s_is_readable_file(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 && S_ISREG(st.st_mode) && access(path, R_OK) == 0;
}

/* An executable named prog: itself when it holds a '/', else the first on PATH. NULL if none. */
static char *s_which(const char *prog)
{
    if (strchr(prog, '/'))
        return access(prog, X_OK) == 0 ? ferry_strdup(prog) : NULL;
    const char *path = getenv("PATH");
    if (!path || !*path)
        path = "/usr/local/bin:/usr/bin:/bin";
    while (*path) {
        const char *colon = strchr(path, ':');
        size_t len = colon ? (size_t)(colon - path) : strlen(path);
        char *cand = len ? ferry_asprintf("%.*s/%s", (int)len, path, prog) : ferry_asprintf("./%s", prog);
        struct stat st;
        if (stat(cand, &st) == 0 && S_ISREG(st.st_mode) && access(cand, X_OK) == 0)
            return cand;
        free(cand);
        path += len + (colon != NULL);
    }
    return NULL;
}

/* ort-node can run here: runner.js, node on PATH, onnxruntime-node installed. 0, or -1 with why. */
static int s_find_node(const char *dir, s_runner_t *r, ferry_err_t *why)
{
    r->name = "ort-node";
    r->script = ferry_asprintf("%s/ort-node/runner.js", dir);
    if (!s_is_readable_file(r->script))
        return ferry_err(why, "runner missing: %s not found (set FERRY_RUNNERS_DIR to the runners/ folder)",
                         r->script);
    if (!(r->interpreter = s_which("node")))
        return ferry_err(why, "node missing: no 'node' on PATH (the ort-node runner needs Node.js)");
    r->node_path = ferry_asprintf("%s/ort-node/node_modules", dir);
    char *package = ferry_asprintf("%s/onnxruntime-node/package.json", r->node_path);
    bool is_installed = s_is_readable_file(package);
    free(package);
    if (!is_installed)
        return ferry_err(why, "onnxruntime-node is not installed in %s (run 'make deps')", r->node_path);
    return 0;
}

/* ort-python can run here: runner.py and the python; with check_import, it imports onnxruntime. */
static int s_find_python(const char *dir, bool check_import, s_runner_t *r, ferry_err_t *why)
{
    r->name = "ort-python";
    r->script = ferry_asprintf("%s/ort-python/runner.py", dir);
    if (!s_is_readable_file(r->script))
        return ferry_err(why, "runner missing: %s not found (set FERRY_RUNNERS_DIR to the runners/ folder)",
                         r->script);
    const char *python = getenv("FERRY_ORT_PYTHON");
    if (!python || !*python)
        python = "python3";
    if (!(r->interpreter = s_which(python)))
        return ferry_err(why, "python missing: '%s' not found (set FERRY_ORT_PYTHON)", python);
    if (check_import) {
        char *argv[] = {r->interpreter, "-c", "import onnxruntime", NULL};
        char *out = NULL;
        size_t len = 0;
        int rc = ferry_capture_run(argv, FERRY_ORT_DETECT_TIMEOUT_MS, 4096, &out, &len);
        free(out);
        if (rc < 0)
            return ferry_err(why, "%s cannot import onnxruntime", r->interpreter);
    }
    return 0;
}

static int s_choose(const ferry_ort_opts_t *opts, s_runner_t *r, ferry_err_t *err)
{
    char *dir = ferry_runners_dir();
    ferry_err_t why_node = {{0}}, why_python = {{0}};
    int rc = -1;
    if (opts->runner == FERRY_ORT_NODE) {
        if ((rc = s_find_node(dir, r, &why_node)) < 0)
            ferry_err(err, "--runtime ort-node: %s", why_node.msg);
    } else if (opts->runner == FERRY_ORT_PYTHON) {
        if ((rc = s_find_python(dir, false, r, &why_python)) < 0)
            ferry_err(err, "--runtime ort-python: %s", why_python.msg);
    } else {
        /* the npm package ships no CUDA libraries: for cuda, python is the likelier runner */
        bool is_cuda = opts->provider && !strncasecmp(opts->provider, "cuda", 4);
        for (int pass = 0; pass < 2 && rc < 0; pass++) {
            s_runner_clear(r);
            if ((pass == 0) != is_cuda)
                rc = s_find_node(dir, r, &why_node);
            else
                rc = s_find_python(dir, true, r, &why_python);
        }
        if (rc < 0)
            ferry_err(err, "--runtime ort: no ONNX Runtime runner can run here (ort-node: %s; ort-python: %s)",
                      why_node.msg, why_python.msg);
    }
    free(dir);
    return rc;
}

static int s_rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)ftw;
    if (flag == FTW_DP)
        rmdir(path);
    else
        unlink(path);
    return 0;
}

/* Remove dir and whatever the runner left in it (its subfolders too); links are not followed. */
static void s_rmtree(const char *dir)
{
    nftw(dir, s_rm_entry, S_RMTREE_FDS, FTW_DEPTH | FTW_PHYS);
}

/* Keep the last FERRY_ORT_STDERR_TAIL bytes in tail (it holds up to twice that between
 * trims; users of the tail take its last FERRY_ORT_STDERR_TAIL bytes). */
static void s_tail_append(ferry_buf_t *tail, const char *data, size_t len)
{
    if (len >= FERRY_ORT_STDERR_TAIL) {
        ferry_buf_reset(tail);
        ferry_buf_append(tail, data + len - FERRY_ORT_STDERR_TAIL, FERRY_ORT_STDERR_TAIL);
        return;
    }
    if (tail->len + len > 2 * FERRY_ORT_STDERR_TAIL) {
        size_t keep = FERRY_ORT_STDERR_TAIL - len;
        memmove(tail->data, tail->data + tail->len - keep, keep);
        tail->len = keep;
    }
    ferry_buf_append(tail, data, len);
}

/* The environment for the child: ours, with NODE_PATH replaced when node_path is set and
 * TMPDIR set to our private directory, so what the runtime leaves there goes with it. */
static char **s_child_env(const char *node_path, const char *tmpdir)
{
    size_t n = 0;
    while (environ[n])
        n++;
    char **env = ferry_calloc(n + 3, sizeof(char *));
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if ((!node_path || strncmp(environ[i], "NODE_PATH=", 10)) && strncmp(environ[i], "TMPDIR=", 7))
            env[k++] = ferry_strdup(environ[i]);
    env[k++] = ferry_asprintf("TMPDIR=%s", tmpdir);
    if (node_path)
        env[k++] = ferry_asprintf("NODE_PATH=%s", node_path);
    env[k] = NULL;
    return env;
}

static void s_free_strv(char **v)
{
    for (size_t i = 0; v && v[i]; i++)
        free(v[i]);
    free(v);
}

typedef struct {
    int status;        /* waitpid status when it exited */
    bool has_exited;
    bool is_timed_out;
    int stop_signal;   /* SIGINT/SIGTERM that stopped us, or 0 */
} s_outcome_t;

/* Spawn argv (argv[0] a path) and wait for it within timeout_ms, draining its output. */
static int s_spawn_wait(char *const argv[], char *const envp[], int64_t timeout_ms, ferry_buf_t *tail,
                        s_outcome_t *oc, ferry_err_t *err)
{
    int out_pipe[2] = {-1, -1}, err_pipe[2] = {-1, -1};
    memset(oc, 0, sizeof *oc);
    if (pipe2(out_pipe, O_CLOEXEC) < 0 || pipe2(err_pipe, O_CLOEXEC) < 0) {
        int e = errno;
        if (out_pipe[0] >= 0) {
            close(out_pipe[0]);
            close(out_pipe[1]);
        }
        return ferry_err(err, "cannot create a pipe for the runner: %s", strerror(e));
    }
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, out_pipe[1], STDOUT_FILENO);
    posix_spawn_file_actions_adddup2(&actions, err_pipe[1], STDERR_FILENO);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t no_signals, default_signals;
    sigemptyset(&no_signals);
    sigemptyset(&default_signals);
    sigaddset(&default_signals, SIGPIPE);
    sigaddset(&default_signals, SIGINT);
    sigaddset(&default_signals, SIGTERM);
    posix_spawnattr_setsigmask(&attr, &no_signals);
    posix_spawnattr_setsigdefault(&attr, &default_signals);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    pid_t pid = -1;
    int rc = posix_spawn(&pid, argv[0], &actions, &attr, argv, envp);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(out_pipe[1]);
    close(err_pipe[1]);
    if (rc != 0) {
        close(out_pipe[0]);
        close(err_pipe[0]);
        return ferry_err(err, "cannot start %s: %s", argv[0], strerror(rc));
    }
    struct pollfd fds[2] = {{.fd = out_pipe[0], .events = POLLIN}, {.fd = err_pipe[0], .events = POLLIN}};
    int64_t deadline = s_now_ms() + timeout_ms, exited_at = 0;
    char *chunk = ferry_malloc(S_READ_CHUNK);
    for (;;) {
        if (s_stop_signal) {
            oc->stop_signal = s_stop_signal;
            break;
        }
        int64_t now = s_now_ms();
        if (!oc->has_exited && now >= deadline) {
            oc->is_timed_out = true;
            break;
        }
        if (fds[0].fd < 0 && fds[1].fd < 0 && oc->has_exited)
            break;
        if (oc->has_exited && now - exited_at >= S_EXIT_GRACE_MS)
            break; /* its pipes are held open by something it started: killed below */
        int n = poll(fds, 2, S_POLL_MS);
        if (n < 0 && errno != EINTR) {
            oc->is_timed_out = true; /* cannot wait on it any more: treat as a hang */
            break;
        }
        for (int k = 0; k < 2 && n > 0; k++) {
            if (fds[k].fd < 0 || !(fds[k].revents & (POLLIN | POLLHUP | POLLERR)))
                continue;
            ssize_t r = read(fds[k].fd, chunk, S_READ_CHUNK);
            if (r < 0 && (errno == EINTR || errno == EAGAIN))
                continue;
            if (r <= 0) {
                close(fds[k].fd);
                fds[k].fd = -1;
            } else if (k == 1 && tail) {
                s_tail_append(tail, chunk, (size_t)r);
            } /* stdout: discarded (the interface keeps it empty) */
        }
        if (!oc->has_exited) {
            /* WNOWAIT: the pid stays ours (a zombie) until the group is killed below */
            siginfo_t info = {0};
            if (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOHANG | WNOWAIT) == 0 && info.si_pid == pid) {
                oc->has_exited = true;
                exited_at = s_now_ms();
            }
        }
    }
    free(chunk);
    kill(-pid, SIGKILL); /* the runner's whole group: it, or what it left behind */
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    oc->status = status;
    for (int k = 0; k < 2; k++)
        if (fds[k].fd >= 0)
            close(fds[k].fd);
    return 0;
}

/* Read output file path: a regular file (not a link, FIFO or device), bounded, a valid .npy. */
static ferry_npy_t *s_read_output(const char *runner, const char *path, ferry_err_t *err)
{
    int fd = open(path, O_RDONLY | O_NOFOLLOW | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0) {
        ferry_err(err, "%s: %s: the runner exited 0 but wrote no such output: %s", runner, path, strerror(errno));
        return NULL;
    }
    struct stat st;
    ferry_npy_t *a = NULL;
    char *data = NULL;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
        ferry_err(err, "%s: %s: the runner's output is not a regular file", runner, path);
        goto out;
    }
    if ((uint64_t)st.st_size > FERRY_ORT_MAX_OUTPUT_BYTES) {
        ferry_err(err, "%s: %s: the runner's output has %lld bytes, more than the %zu allowed", runner, path,
                  (long long)st.st_size, FERRY_ORT_MAX_OUTPUT_BYTES);
        goto out;
    }
    size_t len = (size_t)st.st_size, got = 0;
    data = ferry_malloc(len + 1);
    while (got < len) {
        ssize_t r = read(fd, data + got, len - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            ferry_err(err, "%s: %s: cannot read the runner's output: %s", runner, path, r < 0 ? strerror(errno)
                                                                                           : "file shrank");
            goto out;
        }
        got += (size_t)r;
    }
    ferry_err_t perr;
    if (!(a = ferry_npy_parse(path, data, len, &perr)))
        ferry_err(err, "%s: malformed output: %s", runner, perr.msg);
out:
    free(data);
    close(fd);
    return a;
}

/* The last non-empty line of the runner's stderr, at most S_LAST_LINE_MAX characters, printable. */
static void s_last_line(const ferry_buf_t *tail, char *out, size_t size)
{
    size_t end = tail->len;
    while (end && (tail->data[end - 1] == '\n' || tail->data[end - 1] == '\r' || tail->data[end - 1] == ' '))
        end--;
    size_t start = end;
    while (start && tail->data[start - 1] != '\n')
        start--;
    if (end - start > S_LAST_LINE_MAX)
        start = end - S_LAST_LINE_MAX;
    size_t k = 0;
    for (size_t i = start; i < end && k + 1 < size; i++) {
        unsigned char c = (unsigned char)tail->data[i];
        out[k++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    out[k] = '\0';
}

int ferry_ort_run(const ferry_ort_opts_t *opts, const char *model_path, size_t n_in, const char *const *names,
                  const ferry_npy_t *const *inputs, size_t n_out, const size_t *want, ferry_npy_t **outs,
                  ferry_buf_t *tail, ferry_err_t *err)
{
    s_runner_t runner = {0};
    char **argv = NULL, **envp = NULL;
    char *outdir = NULL;
    ferry_buf_t stderr_tail = FERRY_BUF_INIT;
    int exit_code = FERRY_EXIT_RUNTIME;
    for (size_t j = 0; j < n_out; j++)
        outs[j] = NULL;
    if (s_choose(opts, &runner, err) < 0) {
        s_runner_clear(&runner);
        return FERRY_EXIT_RUNTIME;
    }
    /* from here to the removal of the directory, SIGINT/SIGTERM only set a flag */
    struct sigaction on_stop = {0}, old_int, old_term;
    on_stop.sa_handler = s_on_signal; /* no SA_RESTART: poll returns at once */
    sigemptyset(&on_stop.sa_mask);
    s_stop_signal = 0;
    sigaction(SIGINT, &on_stop, &old_int);
    sigaction(SIGTERM, &on_stop, &old_term);
    const char *tmp = getenv("TMPDIR");
    char *dir = ferry_asprintf("%s/ferry-ort-XXXXXX", tmp && *tmp ? tmp : "/tmp");
    if (!mkdtemp(dir)) {
        ferry_err(err, "cannot create a temporary directory %s: %s", dir, strerror(errno));
        free(dir);
        s_runner_clear(&runner);
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        return FERRY_EXIT_RUNTIME;
    }
    /* interpreter, script, model, 2 per input, --out DIR, --provider P, NULL */
    argv = ferry_calloc(2 * n_in + 10, sizeof(char *));
    size_t argc = 0;
    argv[argc++] = ferry_strdup(runner.interpreter);
    argv[argc++] = ferry_strdup(runner.script);
    argv[argc++] = model_path[0] == '-' ? ferry_asprintf("./%s", model_path) : ferry_strdup(model_path);
    for (size_t k = 0; k < n_in; k++) {
        char *file = ferry_asprintf("%s/in_%zu.npy", dir, k);
        ferry_err_t werr;
        if (ferry_npy_write(file, inputs[k], &werr) < 0) {
            ferry_err(err, "%s", werr.msg);
            free(file);
            goto out;
        }
        argv[argc++] = ferry_strdup("--input");
        argv[argc++] = ferry_asprintf("%s=%s", names[k], file);
        free(file);
    }
    outdir = ferry_asprintf("%s/out", dir);
    argv[argc++] = ferry_strdup("--out");
    argv[argc++] = ferry_strdup(outdir);
    if (opts->provider) {
        argv[argc++] = ferry_strdup("--provider");
        argv[argc++] = ferry_strdup(opts->provider);
    }
    envp = s_child_env(runner.node_path, dir);
    int timeout_s = opts->timeout_s > 0 ? opts->timeout_s : FERRY_ORT_TIMEOUT_S_DEFAULT;
    s_outcome_t oc = {0};
    if (s_stop_signal) { /* before the runner started: nothing to kill */
        oc.stop_signal = s_stop_signal;
    } else if (s_spawn_wait(argv, envp, (int64_t)timeout_s * 1000, &stderr_tail, &oc, err) < 0) {
        goto out;
    }
    char last[S_LAST_LINE_MAX + 1];
    s_last_line(&stderr_tail, last, sizeof last);
    if (oc.stop_signal) {
        ferry_err(err, "%s: stopped by signal %d before the runner finished", runner.name, oc.stop_signal);
        exit_code = FERRY_EXIT_INTERRUPTED;
        goto out;
    }
    if (oc.is_timed_out) {
        ferry_err(err, "%s: the runner did not finish within %d s (killed; --runner-timeout sets the deadline)",
                  runner.name, timeout_s);
        goto fail_tail;
    }
    if (WIFSIGNALED(oc.status)) {
        ferry_err(err, "%s: the runner was killed by signal %d%s%s", runner.name, WTERMSIG(oc.status),
                  *last ? ": " : "", last);
        goto fail_tail;
    }
    int status = WIFEXITED(oc.status) ? WEXITSTATUS(oc.status) : -1;
    if (status != 0) {
        ferry_err(err, "%s: the runner failed (exit %d): %s", runner.name, status,
                  *last ? last : "(no message on its stderr)");
        if (status == FERRY_EXIT_INPUT)
            exit_code = FERRY_EXIT_INPUT; /* the runner's 3: the model or an input is invalid */
        goto fail_tail;
    }
    char *result = ferry_asprintf("%s/result.json", outdir);
    struct stat st;
    bool has_result = lstat(result, &st) == 0 && S_ISREG(st.st_mode);
    free(result);
    if (!has_result) {
        ferry_err(err, "%s: the runner exited 0 without writing result.json (an incomplete run)", runner.name);
        goto fail_tail;
    }
    for (size_t j = 0; j < n_out; j++) {
        char *file = ferry_asprintf("%s/output_%zu.npy", outdir, want[j]);
        outs[j] = s_read_output(runner.name, file, err);
        free(file);
        if (!outs[j]) {
            for (size_t i = 0; i < j; i++)
                ferry_npy_destroy(&outs[i]);
            goto out;
        }
    }
    exit_code = 0;
    goto out;
fail_tail:
    if (tail && stderr_tail.len) {
        size_t n = FERRY_MIN(stderr_tail.len, (size_t)FERRY_ORT_STDERR_TAIL);
        ferry_buf_append(tail, stderr_tail.data + stderr_tail.len - n, n);
    }
out:
    s_rmtree(dir);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    free(dir);
    free(outdir);
    s_free_strv(argv);
    s_free_strv(envp);
    ferry_buf_free(&stderr_tail);
    s_runner_clear(&runner);
    return exit_code;
}
