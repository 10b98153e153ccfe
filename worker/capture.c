/* capture.c -- run a helper program (nvidia-smi, node, python3) with a deadline and a bounded stdout
 *
 * posix_spawnp rather than fork: the worker is multi-threaded, and spawn is both safe
 * there and cheap. The child gets /dev/null for stdin and stderr, its own process group
 * (so a hung child's own children die with it), default SIGPIPE, and an empty signal
 * mask. */
#include "worker/capture.h"

#include "util/buf.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

extern char **environ;

/* Poll interval while waiting for a child that closed its stdout to be reaped. */
#define S_REAP_POLL_MS 5

static int64_t s_now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int ferry_capture_run(char *const argv[], int timeout_ms, size_t max, char **out, size_t *out_len)
{
    int pipefd[2];
    int rc;
    pid_t pid = -1;
    ferry_buf_t buf = FERRY_BUF_INIT;
    posix_spawn_file_actions_t actions;
    posix_spawnattr_t attr;
    bool is_killed = false;

    if (pipe2(pipefd, O_CLOEXEC) < 0)
        return -errno;
    posix_spawn_file_actions_init(&actions);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_addopen(&actions, STDIN_FILENO, "/dev/null", O_RDONLY, 0);
    posix_spawn_file_actions_adddup2(&actions, pipefd[1], STDOUT_FILENO);
    posix_spawn_file_actions_addopen(&actions, STDERR_FILENO, "/dev/null", O_WRONLY, 0);
    posix_spawnattr_setpgroup(&attr, 0);
    sigset_t no_signals, default_signals;
    sigemptyset(&no_signals);
    sigemptyset(&default_signals);
    sigaddset(&default_signals, SIGPIPE);
    posix_spawnattr_setsigmask(&attr, &no_signals);
    posix_spawnattr_setsigdefault(&attr, &default_signals);
    posix_spawnattr_setflags(&attr, POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);
    rc = posix_spawnp(&pid, argv[0], &actions, &attr, argv, environ);
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    close(pipefd[1]);
    if (rc != 0) {
        close(pipefd[0]);
        return -rc;
    }

    int64_t deadline = s_now_ms() + timeout_ms;
    rc = 0;
    for (;;) {
        int64_t left = deadline - s_now_ms();
        if (left <= 0) {
            rc = -ETIMEDOUT;
            break;
        }
        struct pollfd pfd = {.fd = pipefd[0], .events = POLLIN};
        int n = poll(&pfd, 1, (int)left);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            break;
        }
        if (n == 0)
            continue;
        char chunk[4096];
        ssize_t r = read(pipefd[0], chunk, sizeof chunk);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            break; /* EOF (or error): the child closed its stdout */
        if (buf.len + (size_t)r > max) {
            rc = -EFBIG;
            break;
        }
        ferry_buf_append(&buf, chunk, (size_t)r);
    }
    close(pipefd[0]);
    if (rc < 0) {
        kill(-pid, SIGKILL);
        is_killed = true;
    }
    /* Reap it; a child that closed stdout but lingers gets until the deadline. */
    int status = 0;
    for (;;) {
        pid_t w = waitpid(pid, &status, WNOHANG);
        if (w == pid || (w < 0 && errno != EINTR))
            break;
        if (w == 0 && !is_killed && s_now_ms() >= deadline) {
            kill(-pid, SIGKILL);
            is_killed = true;
            rc = -ETIMEDOUT;
        }
        if (w == 0 && is_killed) {
            waitpid(pid, &status, 0);
            break;
        }
        struct timespec pause_ts = {0, S_REAP_POLL_MS * 1000000L};
        nanosleep(&pause_ts, NULL);
    }
    if (rc == 0 && !(WIFEXITED(status) && WEXITSTATUS(status) == 0))
        rc = -ECHILD;
    if (rc < 0) {
        ferry_buf_free(&buf);
        return rc;
    }
    *out_len = buf.len;
    *out = ferry_buf_steal(&buf);
    return 0;
}

