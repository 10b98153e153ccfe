/* curve.c -- CURVE key files and the ZAP handler that admits workers by public key
 *
 * The ZAP handler is a thread owning a REP socket at inproc://zeromq.zap.01 (RFC 27),
 * started and stopped with a handshake over a PAIR pipe like CZMQ's zactor: the
 * constructor returns once the socket is bound, destroy sends "$TERM" and joins. ZAP
 * requests are validated as hostile input even though libzmq writes them: a bug or a
 * second party in the same context must not crash or fool the handler. */
#include "proto/curve.h"

#include "util/file.h"
#include "util/log.h"
#include "util/mem.h"

#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_ZAP_ENDPOINT "inproc://zeromq.zap.01"
#define S_ZAP_VERSION "1.0"
#define S_KEY_BYTES 32
#define S_ZAP_MAX_FRAMES 16       /* frames read from one request; the rest are drained */
#define S_ZAP_MAX_FRAME 256       /* bytes of a frame we keep (request ids, addresses) */
#define S_ZAP_LOG_PER_SECOND 10   /* denials logged per second; the rest are counted */
#define S_TERM "$TERM"
#define S_RELOAD "$RELOAD" /* + a frame holding an s_key_list_t */

static const char s_z85_alphabet[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ.-:+=^!/*?&<>()[]{}@%$#";

bool ferry_key_is_z85(const char *s)
{
    if (!s)
        return false;
    size_t n = strnlen(s, FERRY_KEY_Z85_LEN + 1);
    if (n != FERRY_KEY_Z85_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!strchr(s_z85_alphabet, s[i]) || s[i] == '\0')
            return false;
    uint8_t raw[S_KEY_BYTES];
    return zmq_z85_decode(raw, s) != NULL;
}

/* ---- key pairs and key files ----------------------------------------------------------- */

int ferry_keys_generate(char pub[41], char sec[41])
{
    if (!zmq_has("curve"))
        return -ENOTSUP;
    if (zmq_curve_keypair(pub, sec) != 0)
        return -errno;
    return 0;
}

/* Write text to path with mode: through a temporary file, then link (no overwrite) or
 * rename (overwrite), so a crash never leaves a torn key file. */
static int s_write_file(const char *path, const char *text, mode_t mode, bool is_forced)
{
    char *tmp = ferry_asprintf("%s.tmp.%ld", path, (long)getpid());
    int rc = 0;
    unlink(tmp);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, mode);
    if (fd < 0) {
        rc = -errno;
        free(tmp);
        return rc;
    }
    size_t len = strlen(text), done = 0;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0) {
            rc = -errno;
            break;
        }
        done += (size_t)w;
    }
    if (rc == 0 && fchmod(fd, mode) < 0) /* the umask may have narrowed it; never widened */
        rc = -errno;
    if (rc == 0 && fsync(fd) < 0)
        rc = -errno;
    close(fd);
    if (rc == 0) {
        if (is_forced)
            rc = rename(tmp, path) < 0 ? -errno : 0;
        else
            rc = link(tmp, path) < 0 ? -errno : 0;
    }
    unlink(tmp);
    free(tmp);
    return rc;
}

int ferry_keys_write_ex(const char *base, bool is_forced, ferry_err_t *err)
{
    char pub[41], sec[41];
    char *key_path = ferry_asprintf("%s.key", base);
    char *pub_path = ferry_asprintf("%s.pub", base);
    char *key_text = NULL, *pub_text = NULL;
    int rc = 0;
    if (!is_forced) {
        const char *paths[] = {key_path, pub_path};
        for (size_t i = 0; i < FERRY_ARRAY_LEN(paths); i++) {
            if (access(paths[i], F_OK) == 0) {
                rc = ferry_err(err, "%s: already exists; not overwriting it (use --force to replace the key pair)",
                               paths[i]);
                rc = -EEXIST;
                goto out;
            }
        }
    }
    rc = ferry_keys_generate(pub, sec);
    if (rc < 0) {
        ferry_err(err, "cannot generate a CURVE key pair: %s (is libzmq built with CURVE?)", strerror(-rc));
        goto out;
    }
    key_text = ferry_asprintf("# ferry CURVE key pair: keep this file secret (mode 0600).\n"
                              "# Give %s.pub (the public key) to the peers that must trust it.\n"
                              "public-key = %s\n"
                              "secret-key = %s\n",
                              base, pub, sec);
    pub_text = ferry_asprintf("# ferry CURVE public key; a line of an allow-list (ferry coordinator --allow)\n"
                              "public-key = %s\n",
                              pub);
    rc = s_write_file(key_path, key_text, 0600, is_forced);
    if (rc < 0) {
        ferry_err(err, "%s: cannot write the key file: %s", key_path, strerror(-rc));
        goto out;
    }
    rc = s_write_file(pub_path, pub_text, 0644, is_forced);
    if (rc < 0) {
        ferry_err(err, "%s: cannot write the public key file: %s", pub_path, strerror(-rc));
        unlink(key_path); /* no half pair */
        goto out;
    }
out:
    explicit_bzero(sec, sizeof sec);
    if (key_text) {
        explicit_bzero(key_text, strlen(key_text));
        free(key_text);
    }
    free(pub_text);
    free(key_path);
    free(pub_path);
    return rc;
}

int ferry_keys_write(const char *base, ferry_err_t *err)
{
    return ferry_keys_write_ex(base, false, err);
}

/* One line of a key file or allow-list: "[public-key|secret-key =] KEY [# comment]",
 * a blank line, or a comment. Z85 uses '#' inside keys, but never as the first
 * character of a 32-byte key (the first digit of each 5-character group encodes at most
 * 2^32 / 85^4 < 83), so a line starting with '#' is always a comment.
 * Returns 1 with name ("public-key", "secret-key" or "" for a bare key) and key filled,
 * 0 for a blank or comment line, -1 for anything else. */
static int s_parse_key_line(const char *line, size_t len, char name[16], char key[41])
{
    while (len && isspace((unsigned char)*line))
        line++, len--;
    while (len && isspace((unsigned char)line[len - 1]))
        len--;
    name[0] = '\0';
    key[0] = '\0';
    if (len == 0)
        return 0;
    if (line[0] == '#')
        return 0;
    const char *t = line;
    size_t n = len;
    static const char *const names[] = {"public-key", "secret-key"};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(names); i++) {
        size_t nl = strlen(names[i]);
        if (n > nl && !strncmp(t, names[i], nl) && (isspace((unsigned char)t[nl]) || t[nl] == '=')) {
            t += nl, n -= nl;
            while (n && isspace((unsigned char)*t))
                t++, n--;
            if (!n || *t != '=')
                return -1;
            t++, n--;
            while (n && isspace((unsigned char)*t))
                t++, n--;
            memcpy(name, names[i], nl + 1);
            break;
        }
    }
    size_t token = 0;
    while (token < n && !isspace((unsigned char)t[token]))
        token++;
    size_t rest = token;
    while (rest < n && isspace((unsigned char)t[rest]))
        rest++;
    bool is_rest_ok = rest == n || t[rest] == '#';
    if (token == FERRY_KEY_Z85_LEN && is_rest_ok) {
        memcpy(key, t, FERRY_KEY_Z85_LEN);
        key[FERRY_KEY_Z85_LEN] = '\0';
        if (ferry_key_is_z85(key))
            return 1;
        key[0] = '\0';
    }
    return -1;
}

/* Quote a short excerpt of a bad line for a message (never the whole secret). */
static void s_excerpt(char *out, size_t size, const char *s, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && i < 20 && o + 5 < size; i++) {
        unsigned char c = (unsigned char)s[i];
        o += (size_t)snprintf(out + o, size - o, c < 0x20 || c >= 0x7f ? "\\x%02x" : "%c", c);
    }
    if (len > 20 && o + 4 < size)
        o += (size_t)snprintf(out + o, size - o, "...");
    out[o] = '\0';
}

int ferry_keys_load(const char *path, char pub[41], char sec[41], ferry_err_t *err)
{
    char *data = NULL;
    size_t len = 0;
    char got_pub[41] = "", got_sec[41] = "";
    int rc = ferry_file_read(path, FERRY_KEY_FILE_MAX, &data, &len);
    if (rc < 0) {
        ferry_err(err, "%s: cannot read the key file: %s", path, rc == -EFBIG ? "too large" : strerror(-rc));
        return rc;
    }
    size_t pos = 0, line_no = 0;
    rc = 0;
    while (pos < len && rc == 0) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl ? (size_t)(nl - line) : len - pos;
        pos += line_len + 1;
        line_no++;
        char name[16], key[41];
        int kind = s_parse_key_line(line, line_len, name, key);
        char *target = !strcmp(name, "secret-key") ? got_sec : got_pub;
        if (kind == 0)
            continue;
        if (kind < 0) {
            /* no excerpt: the line may hold part of a secret key */
            rc = ferry_err(err, "%s:%zu: expected \"public-key = KEY\" or \"secret-key = KEY\" with a 40-character "
                                "Z85 key",
                           path, line_no);
        } else if (*target) {
            rc = ferry_err(err, "%s:%zu: %s given twice", path, line_no, *name ? name : "public-key");
        } else {
            memcpy(target, key, 41);
        }
        explicit_bzero(key, sizeof key);
    }
    if (data) {
        explicit_bzero(data, len);
        free(data);
    }
    if (rc < 0) {
        rc = -EINVAL;
        goto out;
    }
    if (*got_sec) {
        char derived[41];
        if (zmq_curve_public(derived, got_sec) != 0) {
            rc = -EINVAL;
            ferry_err(err, "%s: cannot derive the public key from the secret key", path);
            goto out;
        }
        if (*got_pub && strcmp(derived, got_pub)) {
            rc = -EINVAL;
            ferry_err(err, "%s: public-key does not belong to secret-key (a mixed-up key file?)", path);
            goto out;
        }
        memcpy(got_pub, derived, sizeof derived);
    }
    if (!*got_pub) {
        rc = -EINVAL;
        ferry_err(err, "%s: no key found (expected a \"public-key = KEY\" line)", path);
        goto out;
    }
    if (sec && !*got_sec) {
        rc = -EINVAL;
        ferry_err(err, "%s: no secret-key in this file (is it a .pub file? use the .key file)", path);
        goto out;
    }
    if (sec) {
        struct stat st;
        if (stat(path, &st) == 0 && (st.st_mode & 077))
            ferry_warn("%s: secret key file is readable by others (mode %03o); chmod 600 it", path,
                       (unsigned)(st.st_mode & 0777));
        memcpy(sec, got_sec, 41);
    }
    memcpy(pub, got_pub, 41);
out:
    explicit_bzero(got_sec, sizeof got_sec);
    return rc;
}

/* ---- allow-list ------------------------------------------------------------------------ */

typedef struct {
    uint8_t key[S_KEY_BYTES];
} s_key_t;

static int s_key_cmp(const void *a, const void *b)
{
    return memcmp(a, b, S_KEY_BYTES);
}

/* Parse an allow-list into a sorted array of binary keys. */
static int s_load_allow_list(const char *path, s_key_t **keys_out, size_t *n_out, ferry_err_t *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = ferry_file_read(path, FERRY_ALLOW_LIST_MAX, &data, &len);
    if (rc < 0) {
        ferry_err(err, "%s: cannot read the allow-list: %s", path, rc == -EFBIG ? "too large" : strerror(-rc));
        return rc;
    }
    s_key_t *keys = NULL;
    size_t n_keys = 0, cap = 0, pos = 0, line_no = 0;
    while (pos < len) {
        const char *line = data + pos;
        const char *nl = memchr(line, '\n', len - pos);
        size_t line_len = nl ? (size_t)(nl - line) : len - pos;
        pos += line_len + 1;
        line_no++;
        char name[16], z85[41];
        int kind = s_parse_key_line(line, line_len, name, z85);
        if (kind == 0)
            continue;
        if (kind > 0 && !strcmp(name, "secret-key")) {
            rc = ferry_err(err, "%s:%zu: this is a secret key; an allow-list holds public keys (the .pub file)", path,
                           line_no);
            goto fail;
        }
        if (kind < 0) {
            char ex[100];
            s_excerpt(ex, sizeof ex, line, line_len);
            rc = ferry_err(err, "%s:%zu: expected a 40-character Z85 public key, got \"%s\" (%zu characters)", path,
                           line_no, ex, line_len);
            goto fail;
        }
        if (n_keys == cap) {
            cap = cap ? cap * 2 : 16;
            keys = ferry_reallocarray(keys, cap, sizeof *keys);
        }
        zmq_z85_decode(keys[n_keys++].key, z85);
    }
    if (n_keys)
        qsort(keys, n_keys, sizeof *keys, s_key_cmp);
    free(data);
    *keys_out = keys;
    *n_out = n_keys;
    return 0;
fail:
    free(keys);
    free(data);
    return -EINVAL;
}

/* ---- the ZAP handler thread -------------------------------------------------------------- */

struct ferry_zap {
    void *ctx;
    void *pipe;           /* our end of the PAIR pipe to the thread */
    void *thread_pipe;    /* the thread's end; created here, used only by the thread once it runs */
    char pipe_endpoint[64];
    pthread_t thread;
    bool is_running;
    s_key_t *keys;        /* sorted; once the thread runs, only the thread touches them */
    size_t n_keys;
    atomic_size_t allowed; /* n_keys, for other threads */
    char *allow_list_path;
    atomic_uint_least64_t denied;
    int start_error;      /* errno of a failed start, set by the thread */
    /* log rate limit (thread only) */
    time_t log_second;
    int logged_this_second;
    uint64_t log_suppressed;
};

typedef struct {
    s_key_t *keys;
    size_t n;
} s_key_list_t;

typedef struct {
    size_t n;
    size_t len[S_ZAP_MAX_FRAMES];
    char data[S_ZAP_MAX_FRAMES][S_ZAP_MAX_FRAME];
    bool is_truncated;    /* a frame longer than S_ZAP_MAX_FRAME or too many frames */
} s_request_t;

/* Receive one whole multipart message, keeping what fits, draining the rest. */
static int s_recv_request(void *sock, s_request_t *req)
{
    req->n = 0;
    req->is_truncated = false;
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        if (zmq_msg_recv(&msg, sock, 0) < 0) {
            int e = errno;
            zmq_msg_close(&msg);
            return -e;
        }
        size_t size = zmq_msg_size(&msg);
        if (req->n < S_ZAP_MAX_FRAMES && size <= S_ZAP_MAX_FRAME) {
            memcpy(req->data[req->n], zmq_msg_data(&msg), size);
            req->len[req->n++] = size;
        } else {
            req->is_truncated = true;
        }
        bool has_more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        if (!has_more)
            return 0;
    }
}

static bool s_frame_is(const s_request_t *req, size_t i, const char *s)
{
    return i < req->n && req->len[i] == strlen(s) && !memcmp(req->data[i], s, req->len[i]);
}

static void s_send_reply(void *sock, const s_request_t *req, const char *status, const char *text,
                         const char *user_id)
{
    /* version, request id (echoed), status code, status text, user id, metadata */
    const void *id = req->n > 1 ? req->data[1] : "";
    size_t id_len = req->n > 1 ? req->len[1] : 0;
    zmq_send(sock, S_ZAP_VERSION, strlen(S_ZAP_VERSION), ZMQ_SNDMORE);
    zmq_send(sock, id, id_len, ZMQ_SNDMORE);
    zmq_send(sock, status, strlen(status), ZMQ_SNDMORE);
    zmq_send(sock, text, strlen(text), ZMQ_SNDMORE);
    zmq_send(sock, user_id, strlen(user_id), ZMQ_SNDMORE);
    zmq_send(sock, "", 0, 0);
}

/* Copy a frame as printable text for the log. */
static void s_frame_text(const s_request_t *req, size_t i, char *out, size_t size)
{
    size_t o = 0;
    for (size_t k = 0; i < req->n && k < req->len[i] && o + 5 < size; k++) {
        unsigned char c = (unsigned char)req->data[i][k];
        o += (size_t)snprintf(out + o, size - o, c < 0x20 || c >= 0x7f ? "\\x%02x" : "%c", c);
    }
    out[o] = '\0';
}

static void s_log_denied(ferry_zap_t *self, const char *msg)
{
    time_t now = time(NULL);
    if (now != self->log_second) {
        if (self->log_suppressed)
            ferry_warn("zap: %llu more denials not logged", (unsigned long long)self->log_suppressed);
        self->log_second = now;
        self->logged_this_second = 0;
        self->log_suppressed = 0;
    }
    if (self->logged_this_second++ < S_ZAP_LOG_PER_SECOND)
        ferry_warn("zap: %s", msg);
    else
        self->log_suppressed++;
}

/* Frames of a request (RFC 27): version, request id, domain, address, routing id,
 * mechanism, credentials... For CURVE: one credential, the 32-byte client public key. */
static void s_handle_request(ferry_zap_t *self, void *sock, const s_request_t *req)
{
    enum { F_VERSION, F_REQUEST_ID, F_DOMAIN, F_ADDRESS, F_ROUTING_ID, F_MECHANISM, F_CREDENTIALS };
    char address[S_ZAP_MAX_FRAME * 4 + 1];
    s_frame_text(req, F_ADDRESS, address, sizeof address);
    if (req->is_truncated || req->n < F_CREDENTIALS || !s_frame_is(req, F_VERSION, S_ZAP_VERSION)) {
        atomic_fetch_add(&self->denied, 1);
        s_log_denied(self, "malformed request denied");
        s_send_reply(sock, req, "500", "malformed ZAP request", "");
        return;
    }
    if (!s_frame_is(req, F_MECHANISM, "CURVE")) {
        char mech[S_ZAP_MAX_FRAME * 4 + 1];
        s_frame_text(req, F_MECHANISM, mech, sizeof mech);
        char msg[sizeof mech + sizeof address + 64];
        snprintf(msg, sizeof msg, "denied %s client from %s: only CURVE clients are admitted", mech, address);
        atomic_fetch_add(&self->denied, 1);
        s_log_denied(self, msg);
        s_send_reply(sock, req, "400", "CURVE required", "");
        return;
    }
    if (req->n != F_CREDENTIALS + 1 || req->len[F_CREDENTIALS] != S_KEY_BYTES) {
        char msg[sizeof address + 64];
        snprintf(msg, sizeof msg, "malformed CURVE credentials from %s denied", address);
        atomic_fetch_add(&self->denied, 1);
        s_log_denied(self, msg);
        s_send_reply(sock, req, "500", "malformed CURVE credentials", "");
        return;
    }
    char z85[41];
    zmq_z85_encode(z85, (const uint8_t *)req->data[F_CREDENTIALS], S_KEY_BYTES);
    if (self->n_keys && bsearch(req->data[F_CREDENTIALS], self->keys, self->n_keys, sizeof *self->keys, s_key_cmp)) {
        /* The user id is the client's key: the server reads it as the message property
         * "User-Id", binding a worker's identity to its key. */
        s_send_reply(sock, req, "200", "OK", z85);
        return;
    }
    char msg[sizeof address + 128];
    snprintf(msg, sizeof msg, "denied CURVE client key %s from %s: not on the allow-list", z85, address);
    atomic_fetch_add(&self->denied, 1);
    s_log_denied(self, msg);
    s_send_reply(sock, req, "400", "key not on the allow-list", "");
}

/* The main thread's side of the pipe: blocking calls a signal may interrupt (EINTR: nothing
 * happened, try again). The handler thread runs with every signal blocked. */
static int s_pipe_send(void *pipe, const void *data, size_t len, int flags)
{
    int rc;
    while ((rc = zmq_send(pipe, data, len, flags)) < 0 && zmq_errno() == EINTR)
        ;
    return rc;
}

static int s_pipe_recv(void *pipe, void *buf, size_t len)
{
    int rc;
    while ((rc = zmq_recv(pipe, buf, len, 0)) < 0 && zmq_errno() == EINTR)
        ;
    return rc;
}

static void *s_zap_thread(void *arg)
{
    ferry_zap_t *self = arg;
    int linger = 0;
    void *pipe = self->thread_pipe; /* handed over by the constructor */
    void *rep = zmq_socket(self->ctx, ZMQ_REP);
    if (!rep || zmq_setsockopt(rep, ZMQ_LINGER, &linger, sizeof linger) < 0 || zmq_bind(rep, S_ZAP_ENDPOINT) < 0) {
        self->start_error = errno;
        zmq_send(pipe, "ERR", 3, 0);
        if (rep)
            zmq_close(rep);
        return NULL;
    }
    zmq_send(pipe, "OK", 2, 0);
    zmq_pollitem_t items[] = {{pipe, 0, ZMQ_POLLIN, 0}, {rep, 0, ZMQ_POLLIN, 0}};
    s_request_t *req = ferry_malloc(sizeof *req);
    for (;;) {
        if (zmq_poll(items, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            break; /* ETERM: the context is going away */
        }
        if (items[0].revents & ZMQ_POLLIN) {
            char cmd[16];
            int n = zmq_recv(pipe, cmd, sizeof cmd, 0);
            if (n < 0 || (n == (int)strlen(S_TERM) && !memcmp(cmd, S_TERM, (size_t)n)))
                break;
            if (n == (int)strlen(S_RELOAD) && !memcmp(cmd, S_RELOAD, (size_t)n)) {
                /* the new list arrives by pointer: same process, handed over, never shared */
                s_key_list_t list;
                if (zmq_recv(pipe, &list, sizeof list, 0) == (int)sizeof list) {
                    free(self->keys);
                    self->keys = list.keys;
                    self->n_keys = list.n;
                    atomic_store(&self->allowed, list.n);
                }
                zmq_send(pipe, "OK", 2, 0);
            }
        }
        if (items[1].revents & ZMQ_POLLIN) {
            if (s_recv_request(rep, req) < 0)
                break;
            s_handle_request(self, rep, req);
        }
    }
    free(req);
    zmq_close(rep);
    return NULL;
}

ferry_zap_t *ferry_zap_new(void *zmq_ctx, const char *allow_list_path, ferry_err_t *err)
{
    static atomic_uint s_instance;
    ferry_zap_t *self = ferry_calloc(1, sizeof *self);
    int linger = 0;
    self->ctx = zmq_ctx;
    atomic_init(&self->denied, 0);
    if (!zmq_ctx) {
        ferry_err(err, "ZAP handler: no ZeroMQ context");
        goto fail;
    }
    if (!allow_list_path) {
        ferry_err(err, "ZAP handler: no allow-list given (a file of worker public keys)");
        goto fail;
    }
    if (s_load_allow_list(allow_list_path, &self->keys, &self->n_keys, err) < 0)
        goto fail;
    atomic_init(&self->allowed, self->n_keys);
    self->allow_list_path = ferry_strdup(allow_list_path);
    if (self->n_keys == 0)
        ferry_warn("%s: the allow-list is empty: every worker will be denied", allow_list_path);
    snprintf(self->pipe_endpoint, sizeof self->pipe_endpoint, "inproc://ferry-zap-pipe-%d-%u", (int)getpid(),
             atomic_fetch_add(&s_instance, 1));
    self->pipe = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!self->pipe || zmq_bind(self->pipe, self->pipe_endpoint) < 0) {
        ferry_err(err, "ZAP handler: cannot create its pipe: %s", zmq_strerror(errno));
        goto fail;
    }
    zmq_setsockopt(self->pipe, ZMQ_LINGER, &linger, sizeof linger);
    /* Both ends are made here so a failure is reported, not waited for; pthread_create is
     * the full memory barrier ZeroMQ asks for when a socket moves to another thread. */
    self->thread_pipe = zmq_socket(zmq_ctx, ZMQ_PAIR);
    if (!self->thread_pipe || zmq_connect(self->thread_pipe, self->pipe_endpoint) < 0) {
        ferry_err(err, "ZAP handler: cannot connect its pipe: %s", zmq_strerror(errno));
        goto fail;
    }
    zmq_setsockopt(self->thread_pipe, ZMQ_LINGER, &linger, sizeof linger);
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old); /* inherited: no signal interrupts the handler */
    int prc = pthread_create(&self->thread, NULL, s_zap_thread, self);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (prc != 0) {
        ferry_err(err, "ZAP handler: cannot start its thread");
        goto fail;
    }
    self->is_running = true;
    /* Handshake: the thread answers once bound (or not). */
    char reply[8];
    int n = s_pipe_recv(self->pipe, reply, sizeof reply);
    if (n != 2 || memcmp(reply, "OK", 2)) {
        pthread_join(self->thread, NULL);
        self->is_running = false;
        ferry_err(err, "ZAP handler: cannot bind %s: %s%s", S_ZAP_ENDPOINT, zmq_strerror(self->start_error),
                  self->start_error == EADDRINUSE ? " (another ZAP handler already runs in this context)" : "");
        goto fail;
    }
    return self;
fail:
    ferry_zap_destroy(&self);
    return NULL;
}

uint64_t ferry_zap_denied(ferry_zap_t *self)
{
    return self ? atomic_load(&self->denied) : 0;
}

size_t ferry_zap_allowed_count(ferry_zap_t *self)
{
    return self ? atomic_load(&self->allowed) : 0;
}

int ferry_zap_reload(ferry_zap_t *self, ferry_err_t *err)
{
    if (!self || !self->is_running)
        return ferry_err(err, "ZAP handler: not running"), -EINVAL;
    s_key_list_t list = {NULL, 0};
    int rc = s_load_allow_list(self->allow_list_path, &list.keys, &list.n, err);
    if (rc < 0)
        return rc; /* the old list stays in force */
    char reply[8];
    if (s_pipe_send(self->pipe, S_RELOAD, strlen(S_RELOAD), ZMQ_SNDMORE) < 0 ||
        s_pipe_send(self->pipe, &list, sizeof list, 0) < 0) {
        free(list.keys); /* never handed over: ours to free */
        return ferry_err(err, "ZAP handler: cannot hand over the new allow-list: %s", zmq_strerror(errno)), -EIO;
    }
    /* Handed over: from here the thread owns the list (if it never answers, the context
     * is terminating and the list is leaked rather than freed twice). */
    if (s_pipe_recv(self->pipe, reply, sizeof reply) != 2)
        return ferry_err(err, "ZAP handler: no answer to the reload: %s", zmq_strerror(errno)), -EIO;
    if (list.n == 0)
        ferry_warn("%s: the allow-list is empty: every worker will be denied", self->allow_list_path);
    return 0;
}

void ferry_zap_destroy(ferry_zap_t **self_p)
{
    if (!self_p || !*self_p)
        return;
    ferry_zap_t *self = *self_p;
    if (self->is_running) {
        s_pipe_send(self->pipe, S_TERM, strlen(S_TERM), 0);
        pthread_join(self->thread, NULL);
    }
    if (self->pipe)
        zmq_close(self->pipe);
    if (self->thread_pipe) /* the thread has been joined (or never ran): ours again */
        zmq_close(self->thread_pipe);
    free(self->keys);
    free(self->allow_list_path);
    free(self);
    *self_p = NULL;
}

/* ---- socket options ---------------------------------------------------------------------- */

/* ZMQ_ZAP_ENFORCE_DOMAIN is a draft option of libzmq 4.3 (Debian's build has it): with it,
 * a server whose context has no ZAP handler refuses clients instead of admitting all. */
#ifndef ZMQ_ZAP_ENFORCE_DOMAIN
#define ZMQ_ZAP_ENFORCE_DOMAIN 93
#endif

int ferry_curve_server(void *sock, const char sec[41])
{
    int is_server = 1, is_enforced = 1;
    if (!ferry_key_is_z85(sec))
        return -EINVAL;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVER, &is_server, sizeof is_server) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, FERRY_KEY_Z85_LEN + 1) < 0 ||
        zmq_setsockopt(sock, ZMQ_ZAP_DOMAIN, FERRY_ZAP_DOMAIN, strlen(FERRY_ZAP_DOMAIN)) < 0)
        return -errno;
    /* Fail closed where the library allows it; elsewhere the ordering rules of curve.h
     * (handler before bind, destroyed after the sockets) are the only protection. */
    if (zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &is_enforced, sizeof is_enforced) < 0 && errno != EINVAL)
        return -errno;
    return 0;
}

bool ferry_curve_fails_closed(void)
{
    void *ctx = zmq_ctx_new();
    void *sock = ctx ? zmq_socket(ctx, ZMQ_ROUTER) : NULL;
    int one = 1;
    bool is_supported = sock && zmq_setsockopt(sock, ZMQ_ZAP_ENFORCE_DOMAIN, &one, sizeof one) == 0;
    if (sock)
        zmq_close(sock);
    if (ctx)
        zmq_ctx_term(ctx);
    return is_supported;
}

int ferry_curve_client(void *sock, const char server_pub[41], const char pub[41], const char sec[41])
{
    if (!ferry_key_is_z85(server_pub) || !ferry_key_is_z85(pub) || !ferry_key_is_z85(sec))
        return -EINVAL;
    if (zmq_setsockopt(sock, ZMQ_CURVE_SERVERKEY, server_pub, FERRY_KEY_Z85_LEN + 1) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_PUBLICKEY, pub, FERRY_KEY_Z85_LEN + 1) < 0 ||
        zmq_setsockopt(sock, ZMQ_CURVE_SECRETKEY, sec, FERRY_KEY_Z85_LEN + 1) < 0)
        return -errno;
    return 0;
}
