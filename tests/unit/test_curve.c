/* test_curve.c -- unit tests for proto/curve: key files, allow-lists, and ZAP over real
 * ZeroMQ sockets on tcp://127.0.0.1 (allowed key talks; unlisted key and plain client
 * never get a message through) plus hostile ZAP requests */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "proto/curve.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_ARRIVE_MS 5000 /* generous: loaded CI machines */
#define S_SILENCE_MS 800 /* how long a refused message must stay away */

static char s_dir[64];

static char *s_path(const char *name)
{
    return ferry_asprintf("%s/%s", s_dir, name);
}

static char *s_write(const char *name, const char *text)
{
    char *path = s_path(name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
    return path;
}

static char *s_slurp(const char *path)
{
    FILE *f = fopen(path, "r");
    if (!f)
        return NULL;
    char *buf = ferry_calloc(1, 4096);
    size_t n = fread(buf, 1, 4095, f);
    buf[n] = '\0';
    fclose(f);
    return buf;
}

static void test_generate_and_z85(void **state)
{
    char pub[41], sec[41], derived[41];
    assert_int_equal(ferry_keys_generate(pub, sec), 0);
    assert_true(ferry_key_is_z85(pub));
    assert_true(ferry_key_is_z85(sec));
    assert_int_equal(zmq_curve_public(derived, sec), 0);
    assert_string_equal(derived, pub);
    assert_false(ferry_key_is_z85(NULL));
    assert_false(ferry_key_is_z85(""));
    assert_false(ferry_key_is_z85("short"));
    char bad[42];
    memcpy(bad, pub, 41);
    bad[5] = ' ';
    assert_false(ferry_key_is_z85(bad));
    memcpy(bad, pub, 41);
    bad[40] = 'x';
    bad[41] = '\0';
    assert_false(ferry_key_is_z85(bad)); /* 41 characters */
}

static void test_write_and_load_key_files(void **state)
{
    char *base = s_path("node");
    char *key_path = s_path("node.key"), *pub_path = s_path("node.pub");
    ferry_err_t err;
    assert_int_equal(ferry_keys_write(base, &err), 0);
    struct stat st;
    assert_int_equal(stat(key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(stat(pub_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0644);

    char pub[41], sec[41], pub2[41], derived[41];
    assert_int_equal(ferry_keys_load(key_path, pub, sec, &err), 0);
    assert_int_equal(zmq_curve_public(derived, sec), 0);
    assert_string_equal(derived, pub);
    assert_int_equal(ferry_keys_load(pub_path, pub2, NULL, &err), 0);
    assert_string_equal(pub, pub2);
    /* a .pub file has no secret */
    assert_int_equal(ferry_keys_load(pub_path, pub2, sec, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "no secret-key"));

    /* no overwrite without force: both files stay as they were */
    char *before = s_slurp(key_path);
    assert_int_equal(ferry_keys_write(base, &err), -EEXIST);
    assert_non_null(strstr(err.msg, "already exists"));
    char *after = s_slurp(key_path);
    assert_string_equal(before, after);
    free(after);
    unlink(key_path); /* only the .pub left: still refused */
    assert_int_equal(ferry_keys_write(base, &err), -EEXIST);
    assert_int_equal(ferry_keys_write_ex(base, true, &err), 0);
    after = s_slurp(key_path);
    assert_string_not_equal(before, after);
    assert_int_equal(stat(key_path, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
    free(before);
    free(after);
    unlink(key_path);
    unlink(pub_path);
    free(base);
    free(key_path);
    free(pub_path);
}

static void test_key_file_errors(void **state)
{
    char pub[41], sec[41], other_pub[41], other_sec[41];
    assert_int_equal(ferry_keys_generate(pub, sec), 0);
    assert_int_equal(ferry_keys_generate(other_pub, other_sec), 0);
    ferry_err_t err;
    char got[41];

    char *text = ferry_asprintf("public-key = %s\nsecret-key = %s\n", other_pub, sec);
    char *path = s_write("mixed.key", text);
    assert_int_equal(ferry_keys_load(path, got, got, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "does not belong"));
    free(text);
    free(path);

    path = s_write("bad.key", "# comment\n\npublic-key = tooshort\n");
    assert_int_equal(ferry_keys_load(path, got, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "bad.key:3:"));
    free(path);

    text = ferry_asprintf("public-key = %s\npublic-key = %s\n", pub, pub);
    path = s_write("twice.pub", text);
    assert_int_equal(ferry_keys_load(path, got, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "twice.pub:2: public-key given twice"));
    free(text);
    free(path);

    path = s_write("empty.pub", "# nothing\n");
    assert_int_equal(ferry_keys_load(path, got, NULL, &err), -EINVAL);
    assert_non_null(strstr(err.msg, "no key found"));
    free(path);

    /* a secret key alone yields its public key */
    text = ferry_asprintf("secret-key=%s   # trailing comment\n", sec);
    path = s_write("sec-only.key", text);
    assert_int_equal(ferry_keys_load(path, got, NULL, &err), 0);
    assert_string_equal(got, pub);
    free(text);
    free(path);

    assert_true(ferry_keys_load("/nonexistent/x.key", got, NULL, &err) < 0);
    assert_non_null(strstr(err.msg, "/nonexistent/x.key: cannot read"));
}

static void *s_socket(void *ctx, int type)
{
    void *sock = zmq_socket(ctx, type);
    assert_non_null(sock);
    int linger = 0;
    zmq_setsockopt(sock, ZMQ_LINGER, &linger, sizeof linger);
    return sock;
}

/* Wait for one message on sock (timeout_ms); returns its frames count or 0. */
static int s_recv_within(void *sock, int timeout_ms, char *last_frame, size_t size, char *user_id)
{
    zmq_pollitem_t item = {sock, 0, ZMQ_POLLIN, 0};
    if (zmq_poll(&item, 1, timeout_ms) <= 0)
        return 0;
    int frames = 0;
    for (;;) {
        zmq_msg_t msg;
        zmq_msg_init(&msg);
        assert_true(zmq_msg_recv(&msg, sock, 0) >= 0);
        frames++;
        size_t n = FERRY_MIN(zmq_msg_size(&msg), size - 1);
        memcpy(last_frame, zmq_msg_data(&msg), n);
        last_frame[n] = '\0';
        if (user_id) {
            const char *uid = zmq_msg_gets(&msg, "User-Id");
            snprintf(user_id, 64, "%s", uid ? uid : "");
        }
        bool has_more = zmq_msg_more(&msg);
        zmq_msg_close(&msg);
        if (!has_more)
            return frames;
    }
}

static void s_wait_denied(ferry_zap_t *zap, uint64_t at_least)
{
    for (int i = 0; i < S_ARRIVE_MS / 10 && ferry_zap_denied(zap) < at_least; i++)
        usleep(10000);
}

static void test_zap_over_tcp(void **state)
{
    char server_pub[41], server_sec[41], a_pub[41], a_sec[41], b_pub[41], b_sec[41];
    assert_int_equal(ferry_keys_generate(server_pub, server_sec), 0);
    assert_int_equal(ferry_keys_generate(a_pub, a_sec), 0);
    assert_int_equal(ferry_keys_generate(b_pub, b_sec), 0);
    char *allow_text = ferry_asprintf("# workers allowed\n\n  %s   # worker a\n", a_pub);
    char *allow = s_write("allow.txt", allow_text);

    void *ctx = zmq_ctx_new();
    ferry_err_t err;
    ferry_zap_t *zap = ferry_zap_new(ctx, allow, &err); /* before the server binds */
    if (!zap)
        fail_msg("%s", err.msg);
    assert_int_equal(ferry_zap_allowed_count(zap), 1);
    void *server = s_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(ferry_curve_server(server, server_sec), 0);
    assert_int_equal(zmq_bind(server, "tcp://127.0.0.1:*"), 0);
    char endpoint[256];
    size_t endpoint_len = sizeof endpoint;
    assert_int_equal(zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_len), 0);

    /* the allowed client exchanges a message both ways */
    void *a = s_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ferry_curve_client(a, server_pub, a_pub, a_sec), 0);
    assert_int_equal(zmq_connect(a, endpoint), 0);
    assert_int_equal(zmq_send(a, "hello from a", 12, 0), 12);
    char frame[256], user_id[64];
    assert_int_equal(s_recv_within(server, S_ARRIVE_MS, frame, sizeof frame, user_id), 2);
    assert_string_equal(frame, "hello from a");
    assert_string_equal(user_id, a_pub); /* ZAP's user id: the client's key */
    assert_int_equal(ferry_zap_denied(zap), 0);

    /* the unlisted client: its message never arrives; the denial is counted */
    void *b = s_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ferry_curve_client(b, server_pub, b_pub, b_sec), 0);
    assert_int_equal(zmq_connect(b, endpoint), 0);
    zmq_send(b, "hello from b", 12, ZMQ_DONTWAIT);
    s_wait_denied(zap, 1);
    assert_true(ferry_zap_denied(zap) >= 1);
    assert_int_equal(s_recv_within(server, S_SILENCE_MS, frame, sizeof frame, NULL), 0);

    /* a plain client (no CURVE at all) gets nothing through either */
    void *plain = s_socket(ctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(plain, endpoint), 0);
    zmq_send(plain, "hello plain", 11, ZMQ_DONTWAIT);
    assert_int_equal(s_recv_within(server, S_SILENCE_MS, frame, sizeof frame, NULL), 0);

    /* a client with the wrong server key cannot even handshake */
    void *wrong = s_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ferry_curve_client(wrong, b_pub, a_pub, a_sec), 0);
    assert_int_equal(zmq_connect(wrong, endpoint), 0);
    zmq_send(wrong, "hello wrong", 11, ZMQ_DONTWAIT);
    assert_int_equal(s_recv_within(server, S_SILENCE_MS, frame, sizeof frame, NULL), 0);

    /* a is still served after all that: the handler kept working */
    assert_int_equal(zmq_send(a, "again", 5, 0), 5);
    assert_int_equal(s_recv_within(server, S_ARRIVE_MS, frame, sizeof frame, NULL), 2);
    assert_string_equal(frame, "again");
    /* and the server can answer a */
    char routing_id[256];
    size_t rid_len = 0;
    {
        assert_int_equal(zmq_send(a, "ping", 4, 0), 4);
        zmq_pollitem_t item = {server, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&item, 1, S_ARRIVE_MS), 1);
        int n = zmq_recv(server, routing_id, sizeof routing_id, 0);
        assert_true(n > 0);
        rid_len = (size_t)n;
        assert_int_equal(zmq_recv(server, frame, sizeof frame, 0), 4);
    }
    assert_int_equal(zmq_send(server, routing_id, rid_len, ZMQ_SNDMORE), (int)rid_len);
    assert_int_equal(zmq_send(server, "pong", 4, 0), 4);
    assert_int_equal(s_recv_within(a, S_ARRIVE_MS, frame, sizeof frame, NULL), 1);
    assert_string_equal(frame, "pong");

    zmq_close(a);
    zmq_close(b);
    zmq_close(plain);
    zmq_close(wrong);
    zmq_close(server);
    ferry_zap_destroy(&zap);
    assert_null(zap);
    ferry_zap_destroy(&zap); /* safe twice */
    assert_int_equal(zmq_ctx_term(ctx), 0);
    free(allow_text);
    free(allow);
}

/* The control experiment: with no ZAP handler and libzmq's defaults (no enforcement),
 * any CURVE client gets in. It shows the silence checks above can fail, and why
 * ferry_zap_new must come first where enforcement is unavailable. */
static void test_without_zap_any_key_gets_in(void **state)
{
    char server_pub[41], server_sec[41], b_pub[41], b_sec[41];
    assert_int_equal(ferry_keys_generate(server_pub, server_sec), 0);
    assert_int_equal(ferry_keys_generate(b_pub, b_sec), 0);
    void *ctx = zmq_ctx_new();
    void *server = s_socket(ctx, ZMQ_ROUTER);
    int one = 1; /* set by hand: ferry_curve_server would also enforce ZAP */
    assert_int_equal(zmq_setsockopt(server, ZMQ_CURVE_SERVER, &one, sizeof one), 0);
    assert_int_equal(zmq_setsockopt(server, ZMQ_CURVE_SECRETKEY, server_sec, 41), 0);
    assert_int_equal(zmq_bind(server, "tcp://127.0.0.1:*"), 0);
    char endpoint[256];
    size_t endpoint_len = sizeof endpoint;
    assert_int_equal(zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_len), 0);
    void *b = s_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ferry_curve_client(b, server_pub, b_pub, b_sec), 0);
    assert_int_equal(zmq_connect(b, endpoint), 0);
    zmq_send(b, "unchecked", 9, 0);
    char frame[64];
    assert_int_equal(s_recv_within(server, S_ARRIVE_MS, frame, sizeof frame, NULL), 2);
    assert_string_equal(frame, "unchecked");
    zmq_close(b);
    zmq_close(server);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

/* ferry_curve_server fails closed where libzmq can: no handler yet, or a handler already
 * destroyed, means nobody gets in. */
static void test_fails_closed_without_handler(void **state)
{
    if (!ferry_curve_fails_closed()) {
        printf("skipped: this libzmq lacks ZMQ_ZAP_ENFORCE_DOMAIN; ordering is the only protection\n");
        skip();
    }
    char server_pub[41], server_sec[41], a_pub[41], a_sec[41];
    assert_int_equal(ferry_keys_generate(server_pub, server_sec), 0);
    assert_int_equal(ferry_keys_generate(a_pub, a_sec), 0);
    char *allow_text = ferry_asprintf("%s\n", a_pub);
    char *allow = s_write("allow3.txt", allow_text);
    void *ctx = zmq_ctx_new();
    char frame[64];
    for (int round = 0; round < 2; round++) {
        ferry_zap_t *zap = NULL;
        ferry_err_t err;
        if (round == 1) { /* a handler that existed at bind time, then went away */
            zap = ferry_zap_new(ctx, allow, &err);
            assert_non_null(zap);
        }
        void *server = s_socket(ctx, ZMQ_ROUTER);
        assert_int_equal(ferry_curve_server(server, server_sec), 0);
        assert_int_equal(zmq_bind(server, "tcp://127.0.0.1:*"), 0);
        char endpoint[256];
        size_t endpoint_len = sizeof endpoint;
        assert_int_equal(zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_len), 0);
        ferry_zap_destroy(&zap);
        void *a = s_socket(ctx, ZMQ_DEALER); /* even a listed key */
        assert_int_equal(ferry_curve_client(a, server_pub, a_pub, a_sec), 0);
        assert_int_equal(zmq_connect(a, endpoint), 0);
        zmq_send(a, "in?", 3, ZMQ_DONTWAIT);
        assert_int_equal(s_recv_within(server, S_SILENCE_MS, frame, sizeof frame, NULL), 0);
        zmq_close(a);
        zmq_close(server);
    }
    assert_int_equal(zmq_ctx_term(ctx), 0);
    free(allow_text);
    free(allow);
}

/* Reload: a key added to the file is admitted after ferry_zap_reload, a removed one is
 * denied, and a malformed file leaves the old list in force. */
static void test_zap_reload(void **state)
{
    char server_pub[41], server_sec[41], a_pub[41], a_sec[41], b_pub[41], b_sec[41];
    assert_int_equal(ferry_keys_generate(server_pub, server_sec), 0);
    assert_int_equal(ferry_keys_generate(a_pub, a_sec), 0);
    assert_int_equal(ferry_keys_generate(b_pub, b_sec), 0);
    char *text = ferry_asprintf("%s\n", a_pub);
    char *allow = s_write("reload.txt", text);
    free(text);
    void *ctx = zmq_ctx_new();
    ferry_err_t err;
    ferry_zap_t *zap = ferry_zap_new(ctx, allow, &err);
    assert_non_null(zap);
    void *server = s_socket(ctx, ZMQ_ROUTER);
    assert_int_equal(ferry_curve_server(server, server_sec), 0);
    assert_int_equal(zmq_bind(server, "tcp://127.0.0.1:*"), 0);
    char endpoint[256], frame[64];
    size_t endpoint_len = sizeof endpoint;
    assert_int_equal(zmq_getsockopt(server, ZMQ_LAST_ENDPOINT, endpoint, &endpoint_len), 0);

    void *b = s_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ferry_curve_client(b, server_pub, b_pub, b_sec), 0);
    assert_int_equal(zmq_connect(b, endpoint), 0);
    zmq_send(b, "b1", 2, ZMQ_DONTWAIT);
    s_wait_denied(zap, 1);
    assert_int_equal(s_recv_within(server, S_SILENCE_MS, frame, sizeof frame, NULL), 0);
    zmq_close(b);

    /* b added, a removed */
    free(s_write("reload.txt", "# rotated\n"));
    text = ferry_asprintf("%s\n", b_pub);
    free(s_write("reload.txt", text));
    free(text);
    assert_int_equal(ferry_zap_reload(zap, &err), 0);
    assert_int_equal(ferry_zap_allowed_count(zap), 1);
    b = s_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ferry_curve_client(b, server_pub, b_pub, b_sec), 0);
    assert_int_equal(zmq_connect(b, endpoint), 0);
    zmq_send(b, "b2", 2, 0);
    assert_int_equal(s_recv_within(server, S_ARRIVE_MS, frame, sizeof frame, NULL), 2);
    assert_string_equal(frame, "b2");
    uint64_t denied = ferry_zap_denied(zap);
    void *a = s_socket(ctx, ZMQ_DEALER);
    assert_int_equal(ferry_curve_client(a, server_pub, a_pub, a_sec), 0);
    assert_int_equal(zmq_connect(a, endpoint), 0);
    zmq_send(a, "a1", 2, ZMQ_DONTWAIT);
    s_wait_denied(zap, denied + 1);
    assert_int_equal(s_recv_within(server, S_SILENCE_MS, frame, sizeof frame, NULL), 0);

    /* a broken file: refused with its line, the list in force is kept */
    free(s_write("reload.txt", "not a key\n"));
    assert_true(ferry_zap_reload(zap, &err) < 0);
    assert_non_null(strstr(err.msg, "reload.txt:1:"));
    assert_int_equal(ferry_zap_allowed_count(zap), 1);
    zmq_send(b, "b3", 2, 0);
    assert_int_equal(s_recv_within(server, S_ARRIVE_MS, frame, sizeof frame, NULL), 2);
    assert_string_equal(frame, "b3");

    zmq_close(a);
    zmq_close(b);
    zmq_close(server);
    ferry_zap_destroy(&zap);
    assert_true(ferry_zap_reload(zap, &err) < 0); /* NULL handler */
    assert_int_equal(zmq_ctx_term(ctx), 0);
    free(allow);
}

/* Send a raw ZAP request; returns the status code frame ("200", "400", "500"). */
static void s_zap_call(void *req, const char *const *frames, const size_t *lens, size_t n, char status[8],
                       char user_id[64])
{
    for (size_t i = 0; i < n; i++)
        assert_true(zmq_send(req, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
    char buf[256];
    int frame = 0;
    status[0] = user_id[0] = '\0';
    for (;;) {
        zmq_pollitem_t item = {req, 0, ZMQ_POLLIN, 0};
        assert_int_equal(zmq_poll(&item, 1, S_ARRIVE_MS), 1);
        int r = zmq_recv(req, buf, sizeof buf - 1, 0);
        assert_true(r >= 0);
        buf[FERRY_MIN((size_t)r, sizeof buf - 1)] = '\0';
        if (frame == 2 && strlen(buf) < 8)
            memcpy(status, buf, strlen(buf) + 1);
        if (frame == 4 && strlen(buf) < 64)
            memcpy(user_id, buf, strlen(buf) + 1);
        frame++;
        int more;
        size_t more_size = sizeof more;
        zmq_getsockopt(req, ZMQ_RCVMORE, &more, &more_size);
        if (!more)
            break;
    }
    assert_int_equal(frame, 6);
}

static void test_zap_hostile_requests(void **state)
{
    char a_pub[41], a_sec[41], b_pub[41], b_sec[41];
    assert_int_equal(ferry_keys_generate(a_pub, a_sec), 0);
    assert_int_equal(ferry_keys_generate(b_pub, b_sec), 0);
    char *allow_text = ferry_asprintf("public-key = %s\n", a_pub); /* a .pub file as allow-list */
    char *allow = s_write("allow2.txt", allow_text);
    void *ctx = zmq_ctx_new();
    ferry_err_t err;
    ferry_zap_t *zap = ferry_zap_new(ctx, allow, &err);
    if (!zap)
        fail_msg("%s", err.msg);
    /* a second handler in the same context cannot bind */
    ferry_zap_t *second = ferry_zap_new(ctx, allow, &err);
    assert_null(second);
    assert_non_null(strstr(err.msg, "another ZAP handler"));

    void *req = s_socket(ctx, ZMQ_REQ);
    assert_int_equal(zmq_connect(req, "inproc://zeromq.zap.01"), 0);
    uint8_t a_raw[32], b_raw[32];
    zmq_z85_decode(a_raw, a_pub);
    zmq_z85_decode(b_raw, b_pub);
    char status[8], user_id[64];

    const char *ok[] = {"1.0", "id-1", "ferry", "1.2.3.4", "", "CURVE", (const char *)a_raw};
    size_t ok_len[] = {3, 4, 5, 7, 0, 5, 32};
    s_zap_call(req, ok, ok_len, 7, status, user_id);
    assert_string_equal(status, "200");
    assert_string_equal(user_id, a_pub);

    const char *unknown[] = {"1.0", "id-2", "ferry", "1.2.3.4", "", "CURVE", (const char *)b_raw};
    s_zap_call(req, unknown, ok_len, 7, status, user_id);
    assert_string_equal(status, "400");
    assert_string_equal(user_id, "");

    const char *one[] = {"x"};
    size_t one_len[] = {1};
    s_zap_call(req, one, one_len, 1, status, user_id);
    assert_string_equal(status, "500");

    const char *version[] = {"2.0", "id-3", "ferry", "1.2.3.4", "", "CURVE", (const char *)a_raw};
    s_zap_call(req, version, ok_len, 7, status, user_id);
    assert_string_equal(status, "500");

    const char *plain[] = {"1.0", "id-4", "ferry", "a", "", "PLAIN", "user", "pass"};
    size_t plain_len[] = {3, 4, 5, 1, 0, 5, 4, 4};
    s_zap_call(req, plain, plain_len, 8, status, user_id);
    assert_string_equal(status, "400");

    const char *null_mech[] = {"1.0", "id-5", "ferry", "a", "", "NULL"};
    size_t null_len[] = {3, 4, 5, 1, 0, 4};
    s_zap_call(req, null_mech, null_len, 6, status, user_id);
    assert_string_equal(status, "400");

    const char *short_key[] = {"1.0", "id-6", "ferry", "a", "", "CURVE", (const char *)a_raw};
    size_t short_len[] = {3, 4, 5, 1, 0, 5, 31};
    s_zap_call(req, short_key, short_len, 7, status, user_id);
    assert_string_equal(status, "500");

    char big[2000];
    memset(big, 'z', sizeof big);
    const char *oversize[] = {"1.0", big, "ferry", "a", "", "CURVE", (const char *)a_raw};
    size_t oversize_len[] = {3, sizeof big, 5, 1, 0, 5, 32};
    s_zap_call(req, oversize, oversize_len, 7, status, user_id);
    assert_string_equal(status, "500");

    const char *many[20];
    size_t many_len[20];
    for (int i = 0; i < 20; i++) {
        many[i] = i ? "x" : "1.0";
        many_len[i] = i ? 1 : 3;
    }
    s_zap_call(req, many, many_len, 20, status, user_id);
    assert_string_equal(status, "500");

    /* still serving after the abuse */
    s_zap_call(req, ok, ok_len, 7, status, user_id);
    assert_string_equal(status, "200");
    assert_int_equal(ferry_zap_denied(zap), 8);

    zmq_close(req);
    ferry_zap_destroy(&zap);
    assert_int_equal(zmq_ctx_term(ctx), 0);
    free(allow_text);
    free(allow);
}

static void test_allow_list_errors(void **state)
{
    char pub[41], sec[41];
    assert_int_equal(ferry_keys_generate(pub, sec), 0);
    void *ctx = zmq_ctx_new();
    ferry_err_t err;

    char *text = ferry_asprintf("# ok\n%s\nnot-a-key\n", pub);
    char *path = s_write("bad-allow.txt", text);
    assert_null(ferry_zap_new(ctx, path, &err));
    assert_non_null(strstr(err.msg, "bad-allow.txt:3: expected a 40-character Z85 public key, got \"not-a-key\""));
    free(text);
    free(path);

    text = ferry_asprintf("secret-key = %s\n", sec);
    path = s_write("secret-allow.txt", text);
    assert_null(ferry_zap_new(ctx, path, &err));
    assert_non_null(strstr(err.msg, "secret-allow.txt:1: this is a secret key"));
    free(text);
    free(path);

    text = ferry_asprintf("%s trailing-garbage\n", pub);
    path = s_write("garbage-allow.txt", text);
    assert_null(ferry_zap_new(ctx, path, &err));
    assert_non_null(strstr(err.msg, "garbage-allow.txt:1:"));
    free(text);
    free(path);

    assert_null(ferry_zap_new(ctx, "/nonexistent/allow.txt", &err));
    assert_non_null(strstr(err.msg, "/nonexistent/allow.txt: cannot read the allow-list"));
    assert_null(ferry_zap_new(ctx, NULL, &err));
    assert_null(ferry_zap_new(NULL, "x", &err));

    /* Z85 contains '#' (never first): a key with '#' inside is a key; "#KEY" and "# KEY"
     * are comments, as is a key after a '#' */
    char hash_pub[41] = "", hash_sec[41];
    for (int i = 0; i < 2000 && !strchr(hash_pub, '#'); i++)
        assert_int_equal(ferry_keys_generate(hash_pub, hash_sec), 0);
    assert_non_null(strchr(hash_pub, '#'));
    text = ferry_asprintf("%s # worker with a hash\n#%s\n# %s\n", hash_pub, pub, pub);
    path = s_write("hash-allow.txt", text);
    ferry_zap_t *zap = ferry_zap_new(ctx, path, &err);
    if (!zap)
        fail_msg("%s", err.msg);
    assert_int_equal(ferry_zap_allowed_count(zap), 1);
    ferry_zap_destroy(&zap);
    free(text);
    free(path);
    /* no 32-byte key encodes to a Z85 string starting with '#' or '$' */
    for (int i = 0; i < 2000; i++) {
        assert_int_equal(ferry_keys_generate(hash_pub, hash_sec), 0);
        assert_true(hash_pub[0] != '#' && hash_pub[0] != '$');
    }

    /* an empty allow-list is legal (everyone denied) */
    path = s_write("empty-allow.txt", "# nobody yet\n");
    zap = ferry_zap_new(ctx, path, &err);
    assert_non_null(zap);
    assert_int_equal(ferry_zap_allowed_count(zap), 0);
    ferry_zap_destroy(&zap);
    free(path);
    assert_int_equal(zmq_ctx_term(ctx), 0);
}

static void test_socket_option_errors(void **state)
{
    void *ctx = zmq_ctx_new();
    void *sock = s_socket(ctx, ZMQ_DEALER);
    char pub[41], sec[41];
    assert_int_equal(ferry_keys_generate(pub, sec), 0);
    char bad[41] = "not a key";
    assert_int_equal(ferry_curve_server(sock, bad), -EINVAL);
    assert_int_equal(ferry_curve_client(sock, bad, pub, sec), -EINVAL);
    assert_int_equal(ferry_curve_client(sock, pub, pub, sec), 0);
    zmq_close(sock);
    zmq_ctx_term(ctx);
}

static int s_setup(void **state)
{
    snprintf(s_dir, sizeof s_dir, "/tmp/ferry-curve-XXXXXX");
    return mkdtemp(s_dir) ? 0 : -1;
}

static int s_teardown(void **state)
{
    char *cmd = ferry_asprintf("rm -rf '%s'", s_dir);
    int rc = system(cmd);
    free(cmd);
    return rc;
}

int main(void)
{
    if (!zmq_has("curve")) {
        printf("skipped: libzmq without CURVE support\n");
        return 0;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_generate_and_z85),
        cmocka_unit_test(test_write_and_load_key_files),
        cmocka_unit_test(test_key_file_errors),
        cmocka_unit_test(test_zap_over_tcp),
        cmocka_unit_test(test_without_zap_any_key_gets_in),
        cmocka_unit_test(test_fails_closed_without_handler),
        cmocka_unit_test(test_zap_reload),
        cmocka_unit_test(test_zap_hostile_requests),
        cmocka_unit_test(test_allow_list_errors),
        cmocka_unit_test(test_socket_option_errors),
    };
    return cmocka_run_group_tests(tests, s_setup, s_teardown);
}
