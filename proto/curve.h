/* curve.h -- CURVE keys (`ferry keygen`) and ZAP authentication of workers by public key
 *
 * Keys are Z85 text (40 characters + NUL). A key pair on disk is two files:
 *   BASE.key  (mode 0600)  the secret and public keys of one identity
 *   BASE.pub  (mode 0644)  the public key alone, to give to peers / allow-lists
 * Both are text, `#` comments allowed, one `key = value` per line:
 *   # ferry CURVE key pair
 *   public-key = <40 Z85 characters>
 *   secret-key = <40 Z85 characters>        (BASE.key only)
 * An allow-list file holds one Z85 public key per line; blank lines and `#` comments
 * (whole line, or after the key and a blank) are ignored. A BASE.pub file is itself a
 * valid allow-list (its `public-key = ` prefix is accepted), so allow-lists can be built
 * with `cat` of the workers' .pub files. Z85 keys contain '#' but never start with it,
 * so a line starting with '#' is always a comment.
 *
 * Order of teardown: close the server sockets, then ferry_zap_destroy (once the handler
 * is gone libzmq admits every CURVE client again), then zmq_ctx_term (the handler owns
 * sockets of that context). 
 *
 * Security note: libzmq 4.3 admits every CURVE client when no ZAP handler is bound in
 * the context, so create the ferry_zap_t BEFORE the server socket binds. Where libzmq
 * offers the draft option ZMQ_ZAP_ENFORCE_DOMAIN (Debian's does), ferry_curve_server
 * sets it and a missing handler means nobody gets in (ferry_curve_fails_closed()). */
#ifndef FERRY_CURVE_H
#define FERRY_CURVE_H

#include "util/common.h"

#include <stdint.h>

#define FERRY_KEY_Z85_LEN 40          /* characters of a Z85 CURVE key */
#define FERRY_KEY_FILE_MAX 4096       /* bytes read from a key file */
#define FERRY_ALLOW_LIST_MAX (16u * 1024 * 1024) /* bytes read from an allow-list */
#define FERRY_ZAP_DOMAIN "ferry"      /* ZMQ_ZAP_DOMAIN ferry_curve_server sets */

/* A fresh key pair. Returns 0 or -errno (e.g. -ENOTSUP without CURVE support). */
int ferry_keys_generate(char pub[41], char sec[41]);

/* Generate a pair and write base.key (0600) and base.pub. Refuses (-EEXIST) when either
 * file exists, unless is_forced. Returns 0 or negative with err filled. */
int ferry_keys_write_ex(const char *base, bool is_forced, ferry_err_t *err);
/* ferry_keys_write_ex(base, false, err) */
int ferry_keys_write(const char *base, ferry_err_t *err);

/* Read a key file (BASE.key or BASE.pub). pub gets the public key; sec (may be NULL)
 * the secret key, which must then be present. A .key file whose public key does not
 * match its secret key is refused. Returns 0 or negative with err filled. */
int ferry_keys_load(const char *path, char pub[41], char sec[41] /*NULL ok*/, ferry_err_t *err);

/* True when s is exactly a 40-character Z85 key. */
bool ferry_key_is_z85(const char *s);

typedef struct ferry_zap ferry_zap_t;

/* Start the ZAP handler of zmq_ctx: a thread owning a REP socket bound to
 * inproc://zeromq.zap.01. Returns once the socket is bound (handshake), or NULL with
 * err filled (an unreadable or malformed allow-list: the message names the line; the
 * endpoint already taken). Requests for the CURVE mechanism are allowed when the client
 * key is on the list (status 200), otherwise denied (400) and logged with the key;
 * other mechanisms (NULL, PLAIN) are denied. Malformed requests get status 500.
 * An allowed client's reply carries its Z85 key as user id: the server reads it with
 * zmq_msg_gets(msg, "User-Id") to know which worker key sent a message. */
ferry_zap_t *ferry_zap_new(void *zmq_ctx, const char *allow_list_path, ferry_err_t *err);
/* Number of requests denied so far (thread-safe). */
uint64_t ferry_zap_denied(ferry_zap_t *self);
/* Number of keys on the allow-list (thread-safe). */
size_t ferry_zap_allowed_count(ferry_zap_t *self);
/* Re-read the allow-list file (e.g. on SIGHUP) and swap it in; connections already
 * admitted stay. On a malformed file the old list stays in force and err says why.
 * Call from the thread that created the handler. Returns 0 or negative. */
int ferry_zap_reload(ferry_zap_t *self, ferry_err_t *err);
/* Stop the thread (terminate message), join it, free; *self_p = NULL; safe twice. */
void ferry_zap_destroy(ferry_zap_t **self_p);

/* Make sock a CURVE server with secret key sec (sets ZMQ_ZAP_DOMAIN, and where libzmq
 * has it ZMQ_ZAP_ENFORCE_DOMAIN, so that with no ZAP handler clients are refused rather
 * than all admitted). Call before bind. Returns 0 or -errno. */
int ferry_curve_server(void *sock, const char sec[41]);
/* True when this libzmq enforces ZAP (ZMQ_ZAP_ENFORCE_DOMAIN): a CURVE server without a
 * handler then refuses everyone. False: the ordering rules above are essential. */
bool ferry_curve_fails_closed(void);
/* Make sock a CURVE client of a server with public key server_pub. Call before connect. */
int ferry_curve_client(void *sock, const char server_pub[41], const char pub[41], const char sec[41]);

#endif
