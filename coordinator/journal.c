/* journal.c -- SQLite (WAL) journal of plan, tasks, attempts, workers and events */
#include "coordinator/journal.h"
#include "proto/proto.h"
#include "util/file.h"
#include "util/json.h"
#include "util/log.h"
#include "util/mem.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

enum {
    S_ST_FETCH,
    S_ST_LEASE_INSERT,
    S_ST_LEASE_MANY,
    S_ST_FINISH_ATTEMPT,
    S_ST_FINISH_TASK,
    S_ST_EVENT,
    S_ST_BEGIN,
    S_ST_COMMIT,
    S_ST_COUNT
};

static const char *s_sql[S_ST_COUNT] = {
    [S_ST_FETCH] = "SELECT id, attempts FROM tasks WHERE id > ?1 AND id < ?2 AND state = 0 ORDER BY id LIMIT ?3",
    [S_ST_LEASE_INSERT] = "INSERT INTO attempts(id, task, worker, started_ms) VALUES (?1, ?2, ?3, ?4)",
    [S_ST_LEASE_MANY] = NULL, /* S_LEASE_ROWS rows of the above: built by s_lease_many_sql */
    [S_ST_FINISH_ATTEMPT] = "UPDATE attempts SET ended_ms = ?3, outcome = ?4, exit_code = ?5, signal = ?6, "
                            "elapsed_ms = ?7, reason = ?8, stderr = ?9, output = ?10 "
                            "WHERE id = ?1 AND task = ?2 AND outcome IS NULL",
    [S_ST_FINISH_TASK] = "UPDATE tasks SET state = ?2, attempts = ?3 WHERE id = ?1",
    [S_ST_EVENT] = "INSERT INTO events(ts_ms, kind, task, attempt, worker, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
    /* prepared once: a run commits once per loop turn, and sqlite3_exec would parse these each time */
    [S_ST_BEGIN] = "BEGIN IMMEDIATE",
    [S_ST_COMMIT] = "COMMIT",
};

/* WAL checkpoints run on a thread of their own with its own connection, so the loop
 * thread never copies pages into the database file nor waits for its fsync: the writer's
 * commit hook wakes the thread once the WAL holds S_CKPT_PAGES pages. */
#define S_CKPT_PAGES 1000     /* SQLite's own autocheckpoint default */
#define S_CKPT_MAX_PAGES 4000 /* past this the writer checkpoints itself: see s_on_wal_commit */
#define S_CKPT_CACHE_KIB 1024 /* page cache of the checkpoint connection */

typedef struct {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t wake;
    sqlite3 *db;
    bool is_started, is_due, is_stopping;
    int woken_at_pages; /* WAL size at the last wake (the writing thread only) */
} s_checkpointer_t;

/* Leases of a loop turn are inserted this many rows per statement: one statement costs
 * about 0.7 of the per-row cost of single-row inserts (step, reset and halt once). */
#define S_LEASE_ROWS 32

struct ferry_journal {
    uint64_t next_attempt; /* the id the next attempt gets; 0: read max(id) first */
    sqlite3 *db;
    char *path;
    bool is_read_only;
    bool in_txn;
    sqlite3_stmt *st[S_ST_COUNT];
    s_checkpointer_t ckpt;
};

static const char *s_schema =
    "CREATE TABLE IF NOT EXISTS meta(key TEXT PRIMARY KEY, value) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS plan(id INTEGER PRIMARY KEY CHECK (id = 1), path TEXT, sha256 TEXT, text TEXT,"
    "  created_ms INTEGER);"
    "CREATE TABLE IF NOT EXISTS groups(idx INTEGER PRIMARY KEY, name TEXT NOT NULL, kind INTEGER NOT NULL,"
    "  sleep_ms INTEGER NOT NULL, count INTEGER NOT NULL, first_task INTEGER NOT NULL);"
    /* state: 0 pending (or leased or done in the current run: rows are settled from the
     * attempts at start and end, see journal.h), 1 leased when the coordinator last started,
     * 2 done, 3 failed, 4 waiting to retry; attempts: closed attempts */
    "CREATE TABLE IF NOT EXISTS tasks(id INTEGER PRIMARY KEY, grp INTEGER NOT NULL,"
    "  state INTEGER NOT NULL DEFAULT 0, attempts INTEGER NOT NULL DEFAULT 0);"
    /* outcome NULL = open (the lease is in flight); else ferry_outcome_t */
    "CREATE TABLE IF NOT EXISTS attempts(id INTEGER PRIMARY KEY, task INTEGER NOT NULL, worker INTEGER,"
    "  started_ms INTEGER, ended_ms INTEGER, outcome INTEGER, exit_code INTEGER, signal INTEGER,"
    "  elapsed_ms INTEGER, reason TEXT, stderr TEXT, output TEXT);"
    "CREATE TABLE IF NOT EXISTS workers(id INTEGER PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
    "  first_seen_ms INTEGER, last_seen_ms INTEGER, state TEXT, caps TEXT);"
    "CREATE TABLE IF NOT EXISTS events(id INTEGER PRIMARY KEY, ts_ms INTEGER, kind TEXT NOT NULL,"
    "  task INTEGER, attempt INTEGER, worker INTEGER, detail TEXT);"
    "CREATE VIEW IF NOT EXISTS leases AS SELECT id AS attempt, task, worker, started_ms FROM attempts"
    "  WHERE outcome IS NULL;"
    "CREATE VIEW IF NOT EXISTS results AS SELECT task, id AS attempt, worker, output, ended_ms FROM attempts"
    "  WHERE outcome = 0;";

static int s_fail(ferry_journal_t *j, const char *what)
{
    ferry_error("journal %s: %s: %s", j->path, what, sqlite3_errmsg(j->db));
    return -EIO;
}

static int s_exec(ferry_journal_t *j, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(j->db, sql, NULL, NULL, &msg) != SQLITE_OK) {
        ferry_error("journal %s: %s: %s", j->path, sql, msg ? msg : "?");
        sqlite3_free(msg);
        return -EIO;
    }
    return 0;
}

/* "INSERT INTO attempts(id, task, worker, started_ms) VALUES (?,?,?,?), ..." with
 * S_LEASE_ROWS rows; built once. */
static const char *s_lease_many_sql(void)
{
    static char sql[64 + S_LEASE_ROWS * 10];
    if (!sql[0]) {
        int len = snprintf(sql, sizeof sql, "INSERT INTO attempts(id, task, worker, started_ms) VALUES (?,?,?,?)");
        for (int r = 1; r < S_LEASE_ROWS; r++)
            len += snprintf(sql + len, sizeof sql - (size_t)len, ",(?,?,?,?)");
    }
    return sql;
}

/* The schema version in meta; 0 for a new journal (or one without meta). */
static int s_schema_version(ferry_journal_t *j)
{
    sqlite3_stmt *st = NULL;
    int version = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT value FROM meta WHERE key = 'schema'", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        version = sqlite3_column_int(st, 0);
    sqlite3_finalize(st);
    return version;
}

static sqlite3_stmt *s_st(ferry_journal_t *j, int which)
{
    sqlite3_stmt *st = j->st[which];
    sqlite3_reset(st);
    sqlite3_clear_bindings(st);
    return st;
}

/* The same for a statement whose every parameter the caller binds on each use (no
 * clearing: the hot path's lease and finish statements). */
static sqlite3_stmt *s_st_all_bound(ferry_journal_t *j, int which)
{
    sqlite3_stmt *st = j->st[which];
    sqlite3_reset(st);
    return st;
}

/* Step a prepared statement that returns no rows: 0, or -EIO (logged, naming what). */
static int s_step_done(ferry_journal_t *j, int which, const char *what)
{
    sqlite3_stmt *st = j->st[which];
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : s_fail(j, what);
}

static void *s_checkpoint_main(void *arg)
{
    s_checkpointer_t *k = arg;
    pthread_setname_np(pthread_self(), "ferry-ckpt");
    pthread_mutex_lock(&k->lock);
    for (;;) {
        while (!k->is_due && !k->is_stopping)
            pthread_cond_wait(&k->wake, &k->lock);
        if (k->is_stopping)
            break;
        k->is_due = false;
        pthread_mutex_unlock(&k->lock);
        /* PASSIVE: copies what no reader still needs, never blocks the writer; a busy or
         * partial checkpoint is finished by a later one */
        int rc = sqlite3_wal_checkpoint_v2(k->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            ferry_warn("journal checkpoint: %s", sqlite3_errmsg(k->db));
        pthread_mutex_lock(&k->lock);
    }
    pthread_mutex_unlock(&k->lock);
    return NULL;
}

/* Commit hook of the writer connection (the journal writer thread): wakes the checkpointer, O(1).
 * Once per S_CKPT_PAGES new pages, not per commit: each pass costs an fsync.
 * The WAL only starts over when a writer begins after a checkpoint that caught up with
 * every frame, which a checkpointer racing a busy writer rarely does; so past
 * S_CKPT_MAX_PAGES the writer itself checkpoints (little is left to copy), bounding the
 * WAL file at about that many pages. */
static int s_on_wal_commit(void *arg, sqlite3 *db, const char *name, int n_pages)
{
    s_checkpointer_t *k = arg;
    if (n_pages >= S_CKPT_MAX_PAGES) {
        sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
        return SQLITE_OK;
    }
    if (n_pages < k->woken_at_pages) /* the WAL started over */
        k->woken_at_pages = 0;
    if (n_pages - k->woken_at_pages >= S_CKPT_PAGES) {
        k->woken_at_pages = n_pages;
        pthread_mutex_lock(&k->lock);
        k->is_due = true;
        pthread_cond_signal(&k->wake);
        pthread_mutex_unlock(&k->lock);
    }
    return SQLITE_OK;
}

/* Open the checkpoint connection and start its thread; on failure the writer keeps
 * SQLite's own (synchronous) autocheckpoint. */
static void s_checkpointer_start(ferry_journal_t *j)
{
    s_checkpointer_t *k = &j->ckpt;
    if (sqlite3_open_v2(j->path, &k->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        ferry_warn("journal %s: no checkpoint connection (%s); checkpointing on the writing thread", j->path,
                   k->db ? sqlite3_errmsg(k->db) : "out of memory");
        sqlite3_close(k->db);
        k->db = NULL;
        return;
    }
    sqlite3_busy_timeout(k->db, FERRY_JOURNAL_BUSY_MS);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", S_CKPT_CACHE_KIB);
    sqlite3_exec(k->db, sql, NULL, NULL, NULL);
    pthread_mutex_init(&k->lock, NULL);
    pthread_cond_init(&k->wake, NULL);
    if (pthread_create(&k->thread, NULL, s_checkpoint_main, k) != 0) {
        ferry_warn("journal %s: no checkpoint thread; checkpointing on the writing thread", j->path);
        pthread_mutex_destroy(&k->lock);
        pthread_cond_destroy(&k->wake);
        sqlite3_close(k->db);
        k->db = NULL;
        return;
    }
    k->is_started = true;
    sqlite3_wal_autocheckpoint(j->db, 0);
    sqlite3_wal_hook(j->db, s_on_wal_commit, k);
}

/* Stop and join the thread and close its connection (the writer's close, last, folds
 * the WAL into the database). */
static void s_checkpointer_stop(ferry_journal_t *j)
{
    s_checkpointer_t *k = &j->ckpt;
    if (!k->is_started)
        return;
    pthread_mutex_lock(&k->lock);
    k->is_stopping = true;
    pthread_cond_signal(&k->wake);
    pthread_mutex_unlock(&k->lock);
    pthread_join(k->thread, NULL);
    pthread_mutex_destroy(&k->lock);
    pthread_cond_destroy(&k->wake);
    sqlite3_close(k->db);
    k->db = NULL;
    k->is_started = false;
    if (j->db)
        sqlite3_wal_hook(j->db, NULL, NULL);
}

ferry_journal_t *ferry_journal_open(const char *dir, bool read_only, ferry_err_t *err)
{
    /* No global allocation statistics: they take a mutex on every SQLite malloc. Only
     * possible before SQLite initialises; later calls fail harmlessly. */
    static bool is_configured;
    if (!is_configured) {
        is_configured = true;
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    }
    ferry_journal_t *j = ferry_calloc(1, sizeof *j);
    j->is_read_only = read_only;
    if (!read_only) {
        int rc = ferry_mkdirs(dir);
        if (rc) {
            ferry_err(err, "%s: cannot create state directory: %s", dir, strerror(-rc));
            goto fail;
        }
    }
    j->path = ferry_asprintf("%s/%s", dir, FERRY_JOURNAL_FILE);
    struct stat sb;
    if (read_only && stat(j->path, &sb) != 0) {
        ferry_err(err, "%s: no journal here (%s): %s", dir, FERRY_JOURNAL_FILE, strerror(errno));
        goto fail;
    }
    int flags = read_only ? SQLITE_OPEN_READONLY : (SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE);
    if (sqlite3_open_v2(j->path, &j->db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        ferry_err(err, "%s: cannot open journal: %s", j->path, j->db ? sqlite3_errmsg(j->db) : "out of memory");
        goto fail;
    }
    sqlite3_busy_timeout(j->db, FERRY_JOURNAL_BUSY_MS);
    if (!read_only) {
        const char *sync = getenv("FERRY_JOURNAL_SYNC");
        bool is_full = sync && !strcmp(sync, "full");
        if (s_exec(j, "PRAGMA journal_mode=WAL") ||
            s_exec(j, is_full ? "PRAGMA synchronous=FULL" : "PRAGMA synchronous=NORMAL") ||
            ferry_journal_set_cache_kib(j, FERRY_JOURNAL_CACHE_KIB) || s_exec(j, s_schema)) {
            ferry_err(err, "%s: not a usable ferry journal: %s", j->path, sqlite3_errmsg(j->db));
            goto fail;
        }
        int version = s_schema_version(j);
        if (version > FERRY_JOURNAL_SCHEMA_VERSION) {
            ferry_err(err, "%s: journal schema %d is newer than this ferry's (%d)", j->path, version,
                      FERRY_JOURNAL_SCHEMA_VERSION);
            goto fail;
        }
        /* 1 -> 2: a leased task's row no longer counts its open attempt (see the schema) */
        if (version == 1 && (s_exec(j, "BEGIN IMMEDIATE") ||
                             s_exec(j, "UPDATE tasks SET attempts = attempts - 1 WHERE state = 1 AND attempts > 0") ||
                             s_exec(j, "UPDATE meta SET value = 2 WHERE key = 'schema'") || s_exec(j, "COMMIT"))) {
            s_exec(j, "ROLLBACK");
            ferry_err(err, "%s: cannot upgrade the journal from schema 1 to 2", j->path);
            goto fail;
        }
        char set_version[64];
        snprintf(set_version, sizeof set_version, "INSERT OR REPLACE INTO meta VALUES ('schema', %d)",
                 FERRY_JOURNAL_SCHEMA_VERSION);
        if (version == 0 && s_exec(j, set_version)) {
            ferry_err(err, "%s: cannot write the schema version", j->path);
            goto fail;
        }
        for (int i = 0; i < S_ST_COUNT; i++) {
            const char *sql = i == S_ST_LEASE_MANY ? s_lease_many_sql() : s_sql[i];
            if (sqlite3_prepare_v3(j->db, sql, -1, SQLITE_PREPARE_PERSISTENT, &j->st[i], NULL) != SQLITE_OK) {
                ferry_err(err, "%s: preparing '%.80s': %s", j->path, sql, sqlite3_errmsg(j->db));
                goto fail;
            }
        }
        s_checkpointer_start(j);
    } else {
        sqlite3_stmt *st = NULL;
        int rc = sqlite3_prepare_v2(j->db, "SELECT count(*) FROM tasks", -1, &st, NULL);
        sqlite3_finalize(st);
        if (rc != SQLITE_OK) {
            ferry_err(err, "%s: not a ferry journal: %s", j->path, sqlite3_errmsg(j->db));
            goto fail;
        }
        int version = s_schema_version(j); /* 1 reads the same through the attempts */
        if (version > FERRY_JOURNAL_SCHEMA_VERSION) {
            ferry_err(err, "%s: journal schema %d is newer than this ferry's (%d)", j->path, version,
                      FERRY_JOURNAL_SCHEMA_VERSION);
            goto fail;
        }
    }
    return j;
fail:
    ferry_journal_destroy(&j);
    return NULL;
}

void ferry_journal_destroy(ferry_journal_t **j_p)
{
    ferry_journal_t *j = j_p ? *j_p : NULL;
    if (!j)
        return;
    if (j->in_txn)
        ferry_journal_commit(j);
    s_checkpointer_stop(j);
    for (int i = 0; i < S_ST_COUNT; i++)
        sqlite3_finalize(j->st[i]);
    if (j->db)
        sqlite3_close(j->db);
    free(j->path);
    free(j);
    *j_p = NULL;
}

int ferry_journal_set_cache_kib(ferry_journal_t *j, int kib)
{
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA cache_size=-%d", kib);
    return s_exec(j, sql);
}

int ferry_journal_begin(ferry_journal_t *j)
{
    if (j->in_txn)
        return 0;
    if (j->st[S_ST_BEGIN] ? s_step_done(j, S_ST_BEGIN, "BEGIN IMMEDIATE") : s_exec(j, "BEGIN IMMEDIATE"))
        return -EIO;
    j->in_txn = true;
    return 0;
}

int ferry_journal_rollback(ferry_journal_t *j)
{
    if (!j->in_txn)
        return 0;
    j->in_txn = false;
    j->next_attempt = 0; /* ids handed out in the transaction may come again */
    /* SQLite may have rolled back already (disk full, I/O error): no error then */
    if (sqlite3_get_autocommit(j->db))
        return 0;
    return s_exec(j, "ROLLBACK");
}

int ferry_journal_commit(ferry_journal_t *j)
{
    if (!j->in_txn)
        return 0;
    j->in_txn = false;
    if (j->st[S_ST_COMMIT] ? s_step_done(j, S_ST_COMMIT, "COMMIT") : s_exec(j, "COMMIT")) {
        if (!sqlite3_get_autocommit(j->db)) /* SQLite may have rolled back already */
            s_exec(j, "ROLLBACK");
        return -EIO;
    }
    return 0;
}

/* Task rows from their attempts: DONE for a successful attempt (counted in attempts),
 * and with is_marking_open LEASED for an open one. O(attempts): one pass each. */
static int s_settle(ferry_journal_t *j, bool is_marking_open)
{
    if (s_exec(j, "UPDATE tasks SET state = 2, attempts = attempts + 1 FROM "
                  "(SELECT task FROM attempts WHERE outcome = 0) AS r WHERE tasks.id = r.task AND tasks.state IN (0, 1, 4)"))
        return -EIO;
    if (is_marking_open && s_exec(j, "UPDATE tasks SET state = 1 FROM (SELECT task FROM attempts WHERE outcome IS NULL) "
                                     "AS o WHERE tasks.id = o.task AND tasks.state = 0"))
        return -EIO;
    return 0;
}

int ferry_journal_settle(ferry_journal_t *j)
{
    bool is_own_txn = !j->in_txn;
    if (is_own_txn && ferry_journal_begin(j))
        return -EIO;
    int rc = s_settle(j, false);
    if (is_own_txn && ferry_journal_commit(j))
        rc = -EIO;
    return rc;
}

int ferry_journal_setup(ferry_journal_t *j, const char *plan_path, const char *plan_sha256, const char *plan_text,
                        const ferry_journal_group_t *groups, size_t n_groups, bool *is_resumed, ferry_err_t *err)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    *is_resumed = false;
    if (sqlite3_prepare_v2(j->db, "SELECT path, sha256 FROM plan WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
        return ferry_err(err, "%s: %s", j->path, sqlite3_errmsg(j->db)), -EIO;
    if (sqlite3_step(st) == SQLITE_ROW) {
        const char *old_path = (const char *)sqlite3_column_text(st, 0);
        const char *old_sha = (const char *)sqlite3_column_text(st, 1);
        if (!old_sha || strcmp(old_sha, plan_sha256)) {
            ferry_err(err,
                      "%s: this state directory belongs to plan %s (sha256 %.12s...), not %s (sha256 %.12s...); "
                      "use a fresh --state directory for a different plan",
                      j->path, old_path ? old_path : "?", old_sha ? old_sha : "?", plan_path, plan_sha256);
            sqlite3_finalize(st);
            return -EINVAL;
        }
        sqlite3_finalize(st);
        *is_resumed = true;
        /* Retries that were waiting out a backoff when the last coordinator stopped become
         * pending; then the task rows are settled: tasks with a successful attempt DONE,
         * tasks with an attempt still open LEASED, so fetching pending tasks skips both
         * (neither leases nor successes of a run write the task row). */
        if (s_exec(j, "BEGIN IMMEDIATE"))
            return -EIO;
        if (s_exec(j, "UPDATE tasks SET state = 0 WHERE state IN (1, 4)") || s_settle(j, true) ||
            s_exec(j, "COMMIT")) {
            s_exec(j, "ROLLBACK");
            return ferry_err(err, "%s: cannot settle the task rows with their attempts", j->path), -EIO;
        }
        return 0;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (ferry_journal_begin(j))
        return ferry_err(err, "%s: cannot start a transaction", j->path), -EIO;
    sqlite3_stmt *ins_plan = NULL, *ins_group = NULL, *ins_task = NULL;
    if (sqlite3_prepare_v2(j->db, "INSERT INTO plan(id, path, sha256, text, created_ms) VALUES (1, ?, ?, ?, "
                                  "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER))",
                           -1, &ins_plan, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db, "INSERT INTO groups VALUES (?, ?, ?, ?, ?, ?)", -1, &ins_group, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db, "INSERT INTO tasks(id, grp) VALUES (?, ?)", -1, &ins_task, NULL) != SQLITE_OK)
        goto fail;
    sqlite3_bind_text(ins_plan, 1, plan_path, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_plan, 2, plan_sha256, -1, SQLITE_STATIC);
    sqlite3_bind_text(ins_plan, 3, plan_text, -1, SQLITE_STATIC);
    if (sqlite3_step(ins_plan) != SQLITE_DONE)
        goto fail;
    uint64_t next = 1;
    for (size_t g = 0; g < n_groups; g++) {
        sqlite3_reset(ins_group);
        sqlite3_bind_int64(ins_group, 1, (int64_t)g);
        sqlite3_bind_text(ins_group, 2, groups[g].name, -1, SQLITE_STATIC);
        sqlite3_bind_int(ins_group, 3, groups[g].kind);
        sqlite3_bind_int64(ins_group, 4, groups[g].sleep_ms);
        sqlite3_bind_int64(ins_group, 5, (int64_t)groups[g].count);
        sqlite3_bind_int64(ins_group, 6, (int64_t)next);
        if (sqlite3_step(ins_group) != SQLITE_DONE)
            goto fail;
        for (uint64_t i = 0; i < groups[g].count; i++, next++) {
            sqlite3_reset(ins_task);
            sqlite3_bind_int64(ins_task, 1, (int64_t)next);
            sqlite3_bind_int64(ins_task, 2, (int64_t)g);
            if (sqlite3_step(ins_task) != SQLITE_DONE)
                goto fail;
        }
    }
    sqlite3_finalize(ins_plan);
    sqlite3_finalize(ins_group);
    sqlite3_finalize(ins_task);
    if (ferry_journal_commit(j))
        return ferry_err(err, "%s: cannot commit the expanded plan", j->path), -EIO;
    return 0;
fail:
    ferry_err(err, "%s: expanding the plan: %s", j->path, sqlite3_errmsg(j->db));
    sqlite3_finalize(ins_plan);
    sqlite3_finalize(ins_group);
    sqlite3_finalize(ins_task);
    s_exec(j, "ROLLBACK");
    j->in_txn = false;
    return rc;
}

int ferry_journal_groups(ferry_journal_t *j, ferry_journal_group_row_t **groups, size_t *n)
{
    sqlite3_stmt *st = NULL;
    *groups = NULL;
    *n = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT name, kind, sleep_ms, count, first_task FROM groups ORDER BY idx", -1, &st,
                           NULL) != SQLITE_OK)
        return s_fail(j, "reading groups");
    size_t cap = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
        if (*n == cap) {
            cap = cap ? cap * 2 : 8;
            *groups = ferry_reallocarray(*groups, cap, sizeof **groups);
        }
        ferry_journal_group_row_t *g = &(*groups)[(*n)++];
        const char *name = (const char *)sqlite3_column_text(st, 0);
        g->name = ferry_strdup(name ? name : "?");
        g->kind = sqlite3_column_int(st, 1);
        g->sleep_ms = sqlite3_column_int64(st, 2);
        g->count = (uint64_t)sqlite3_column_int64(st, 3);
        g->first_task = (uint64_t)sqlite3_column_int64(st, 4);
    }
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : s_fail(j, "reading groups");
}

void ferry_journal_groups_free(ferry_journal_group_row_t *groups, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(groups[i].name);
    free(groups);
}

int ferry_journal_fetch_pending(ferry_journal_t *j, uint64_t after_id, uint64_t end_id, uint64_t *ids,
                                uint32_t *attempts, size_t max, size_t *n)
{
    if (!j->st[S_ST_FETCH] && /* a read-only connection prepares it on first use */
        sqlite3_prepare_v3(j->db, s_sql[S_ST_FETCH], -1, SQLITE_PREPARE_PERSISTENT, &j->st[S_ST_FETCH], NULL) !=
            SQLITE_OK)
        return s_fail(j, "preparing the pending-task query");
    sqlite3_stmt *st = s_st(j, S_ST_FETCH);
    sqlite3_bind_int64(st, 1, (int64_t)after_id);
    sqlite3_bind_int64(st, 2, (int64_t)end_id);
    sqlite3_bind_int64(st, 3, (int64_t)max);
    *n = 0;
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW && *n < max) {
        ids[*n] = (uint64_t)sqlite3_column_int64(st, 0);
        if (attempts)
            attempts[*n] = (uint32_t)sqlite3_column_int(st, 1);
        (*n)++;
    }
    sqlite3_reset(st);
    return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : s_fail(j, "fetching pending tasks");
}

int ferry_journal_worker(ferry_journal_t *j, const char *name, const char *caps_json, int64_t now_ms,
                         int64_t *worker_id)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO workers(name, first_seen_ms, last_seen_ms, state, caps) "
                           "VALUES (?1, ?2, ?2, 'connected', ?3) ON CONFLICT(name) DO UPDATE SET "
                           "last_seen_ms = ?2, state = 'connected', caps = ?3 RETURNING id",
                           -1, &st, NULL) != SQLITE_OK)
        return s_fail(j, "recording a worker");
    sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 2, now_ms);
    sqlite3_bind_text(st, 3, caps_json, -1, SQLITE_STATIC);
    int rc = sqlite3_step(st);
    if (rc == SQLITE_ROW)
        *worker_id = sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return rc == SQLITE_ROW ? 0 : s_fail(j, "recording a worker");
}

int ferry_journal_worker_gone(ferry_journal_t *j, int64_t worker_id, bool is_lost, int64_t now_ms)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db, "UPDATE workers SET state = ?2, last_seen_ms = ?3 WHERE id = ?1", -1, &st, NULL) !=
        SQLITE_OK)
        return s_fail(j, "updating a worker");
    sqlite3_bind_int64(st, 1, worker_id);
    sqlite3_bind_text(st, 2, is_lost ? "lost" : "gone", -1, SQLITE_STATIC);
    sqlite3_bind_int64(st, 3, now_ms);
    int rc = sqlite3_step(st);
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : s_fail(j, "updating a worker");
}

int ferry_journal_next_attempt(ferry_journal_t *j, uint64_t *next)
{
    sqlite3_stmt *st = NULL;
    *next = 0;
    if (sqlite3_prepare_v2(j->db, "SELECT ifnull(max(id), 0) + 1 FROM attempts", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        *next = (uint64_t)sqlite3_column_int64(st, 0);
    sqlite3_finalize(st);
    return *next ? 0 : s_fail(j, "reading the last attempt id");
}

int ferry_journal_lease_ids(ferry_journal_t *j, size_t n, const uint64_t *attempt_ids, const uint64_t *task_ids,
                            const int64_t *worker_ids, const int64_t *started_ms)
{
    for (size_t i = 0; i < n;) {
        size_t k = n - i >= S_LEASE_ROWS ? S_LEASE_ROWS : 1;
        sqlite3_stmt *st = s_st_all_bound(j, k > 1 ? S_ST_LEASE_MANY : S_ST_LEASE_INSERT);
        for (size_t r = 0; r < k; r++) {
            int p = (int)(4 * r);
            sqlite3_bind_int64(st, p + 1, (int64_t)attempt_ids[i + r]);
            sqlite3_bind_int64(st, p + 2, (int64_t)task_ids[i + r]);
            sqlite3_bind_int64(st, p + 3, worker_ids[i + r]);
            sqlite3_bind_int64(st, p + 4, started_ms[i + r]);
        }
        int rc = sqlite3_step(st);
        sqlite3_reset(st);
        if (rc != SQLITE_DONE)
            return s_fail(j, "opening attempts");
        i += k;
    }
    return 0;
}

int ferry_journal_lease_many(ferry_journal_t *j, const uint64_t *task_ids, const int64_t *worker_ids, size_t n,
                             int64_t now_ms, uint64_t *attempt_ids)
{
    if (!j->next_attempt && ferry_journal_next_attempt(j, &j->next_attempt))
        return -EIO; /* ids are given, not left to SQLite, so a batch knows its own */
    int64_t *started = ferry_calloc(n ? n : 1, sizeof *started);
    for (size_t i = 0; i < n; i++) {
        attempt_ids[i] = j->next_attempt + i;
        started[i] = now_ms;
    }
    int rc = ferry_journal_lease_ids(j, n, attempt_ids, task_ids, worker_ids, started);
    free(started);
    if (rc) {
        j->next_attempt = 0; /* read again: the transaction may be rolled back */
        return rc;
    }
    j->next_attempt += n;
    return 0;
}

int ferry_journal_lease(ferry_journal_t *j, uint64_t task_id, int64_t worker_id, int64_t now_ms, uint64_t *attempt_id)
{
    return ferry_journal_lease_many(j, &task_id, &worker_id, 1, now_ms, attempt_id);
}

static void s_bind_text_max(sqlite3_stmt *st, int idx, const char *s, size_t max, bool keep_tail)
{
    if (!s) {
        sqlite3_bind_null(st, idx);
        return;
    }
    size_t n = strlen(s);
    if (n > max) {
        if (keep_tail)
            s += n - max;
        n = max;
    }
    /* STATIC: every caller's string outlives the step (no copy per bind); the statement
     * is rebound before it runs again */
    sqlite3_bind_text(st, idx, s, (int)n, SQLITE_STATIC);
}

int ferry_journal_finish(ferry_journal_t *j, uint64_t attempt_id, uint64_t task_id, const ferry_journal_outcome_t *o,
                         ferry_task_state_t task_state, int attempt_no, int64_t now_ms)
{
    sqlite3_stmt *st = s_st_all_bound(j, S_ST_FINISH_ATTEMPT);
    sqlite3_bind_int64(st, 1, (int64_t)attempt_id);
    sqlite3_bind_int64(st, 2, (int64_t)task_id);
    sqlite3_bind_int64(st, 3, now_ms);
    sqlite3_bind_int(st, 4, o->outcome);
    sqlite3_bind_int(st, 5, o->exit_code);
    sqlite3_bind_int(st, 6, o->signal);
    sqlite3_bind_int64(st, 7, o->elapsed_ms);
    s_bind_text_max(st, 8, o->reason, FERRY_PROTO_MAX_STR, false);
    s_bind_text_max(st, 9, o->stderr_tail, FERRY_JOURNAL_MAX_STDERR, true);
    s_bind_text_max(st, 10, o->output, FERRY_JOURNAL_MAX_OUTPUT, false);
    if (sqlite3_step(st) != SQLITE_DONE) {
        sqlite3_reset(st);
        return s_fail(j, "closing an attempt");
    }
    sqlite3_reset(st);
    if (sqlite3_changes(j->db) != 1)
        return 1;
    if (task_state == FERRY_TASK_DONE) /* the attempt says it; the row is settled later */
        return 0;
    st = s_st(j, S_ST_FINISH_TASK);
    sqlite3_bind_int64(st, 1, (int64_t)task_id);
    sqlite3_bind_int(st, 2, task_state);
    sqlite3_bind_int(st, 3, attempt_no);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : s_fail(j, "updating a task");
}

int ferry_journal_fail_unrun(ferry_journal_t *j, uint64_t first_task, uint64_t end_task, const char *reason,
                             int64_t now_ms, uint64_t *n_failed)
{
    *n_failed = 0;
    sqlite3_stmt *ins = NULL, *upd = NULL;
    int rc = -EIO;
    if (sqlite3_prepare_v2(j->db,
                           "INSERT INTO attempts(task, worker, started_ms, ended_ms, outcome, reason) "
                           "SELECT id, NULL, ?3, ?3, ?4, ?5 FROM tasks WHERE id >= ?1 AND id < ?2 AND state IN (0, 4)",
                           -1, &ins, NULL) != SQLITE_OK ||
        sqlite3_prepare_v2(j->db,
                           "UPDATE tasks SET state = 3, attempts = attempts + 1 "
                           "WHERE id >= ?1 AND id < ?2 AND state IN (0, 4)",
                           -1, &upd, NULL) != SQLITE_OK)
        goto out;
    sqlite3_bind_int64(ins, 1, (int64_t)first_task);
    sqlite3_bind_int64(ins, 2, (int64_t)end_task);
    sqlite3_bind_int64(ins, 3, now_ms);
    sqlite3_bind_int(ins, 4, FERRY_OUTCOME_ERROR);
    s_bind_text_max(ins, 5, reason, FERRY_PROTO_MAX_STR, false);
    if (sqlite3_step(ins) != SQLITE_DONE)
        goto out;
    sqlite3_bind_int64(upd, 1, (int64_t)first_task);
    sqlite3_bind_int64(upd, 2, (int64_t)end_task);
    if (sqlite3_step(upd) != SQLITE_DONE)
        goto out;
    *n_failed = (uint64_t)sqlite3_changes(j->db);
    rc = 0;
out:
    j->next_attempt = 0; /* SQLite chose the ids of those attempts */
    if (rc)
        s_fail(j, "failing tasks no worker can run");
    sqlite3_finalize(ins);
    sqlite3_finalize(upd);
    return rc;
}

int ferry_journal_event(ferry_journal_t *j, int64_t now_ms, const char *kind, uint64_t task, uint64_t attempt,
                        int64_t worker, const char *detail)
{
    sqlite3_stmt *st = s_st(j, S_ST_EVENT);
    sqlite3_bind_int64(st, 1, now_ms);
    sqlite3_bind_text(st, 2, kind, -1, SQLITE_STATIC);
    if (task)
        sqlite3_bind_int64(st, 3, (int64_t)task);
    if (attempt)
        sqlite3_bind_int64(st, 4, (int64_t)attempt);
    if (worker)
        sqlite3_bind_int64(st, 5, worker);
    s_bind_text_max(st, 6, detail, FERRY_PROTO_MAX_STR, false);
    int rc = sqlite3_step(st);
    sqlite3_reset(st);
    return rc == SQLITE_DONE ? 0 : s_fail(j, "recording an event");
}

int ferry_journal_open_attempts(ferry_journal_t *j, ferry_journal_open_fn fn, void *ud)
{
    sqlite3_stmt *st = NULL;
    if (sqlite3_prepare_v2(j->db,
                           "SELECT a.id, a.task, a.worker, t.attempts + 1 FROM attempts a JOIN tasks t ON t.id = a.task "
                           "WHERE a.outcome IS NULL ORDER BY a.id",
                           -1, &st, NULL) != SQLITE_OK)
        return s_fail(j, "reading open attempts");
    int rc;
    while ((rc = sqlite3_step(st)) == SQLITE_ROW)
        fn(ud, (uint64_t)sqlite3_column_int64(st, 0), (uint64_t)sqlite3_column_int64(st, 1),
           sqlite3_column_int64(st, 2), sqlite3_column_int(st, 3));
    sqlite3_finalize(st);
    return rc == SQLITE_DONE ? 0 : s_fail(j, "reading open attempts");
}

/* ---- counts: derived from the attempts ------------------------------------------------ */
/* Per group: its row and its counts. */
typedef struct {
    ferry_journal_group_row_t row;
    int64_t pending, running, done, failed, attempts;
} s_group_stats_t;

/* The group holding task, by binary search over first_task (groups are stored in task
 * order); NULL for a task outside every group. */
static s_group_stats_t *s_group_of(s_group_stats_t *g, size_t n, uint64_t task)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (task < g[mid].row.first_task)
            hi = mid;
        else if (task >= g[mid].row.first_task + g[mid].row.count)
            lo = mid + 1;
        else
            return &g[mid];
    }
    return NULL;
}

static void s_group_stats_free(s_group_stats_t *g, size_t n)
{
    for (size_t i = 0; i < n; i++)
        free(g[i].row.name);
    free(g);
}

/* Counts per group, from the attempts (done: a successful attempt; running: an open one;
 * attempts: all) and the task rows (failed), since a run writes neither leases nor
 * successes to the task rows. The caller holds a read transaction for a consistent view.
 * O(attempts x log groups + tasks). *out is the caller's (s_group_stats_free). */
static int s_group_stats(ferry_journal_t *j, s_group_stats_t **out, size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    ferry_journal_group_row_t *rows;
    size_t n;
    if (ferry_journal_groups(j, &rows, &n))
        return -EIO;
    s_group_stats_t *g = ferry_calloc(n ? n : 1, sizeof *g);
    for (size_t i = 0; i < n; i++)
        g[i].row = rows[i];
    free(rows); /* the names now belong to g */
    sqlite3_stmt *st = NULL;
    int step = SQLITE_ERROR;
    if (sqlite3_prepare_v2(j->db, "SELECT task, outcome FROM attempts", -1, &st, NULL) != SQLITE_OK)
        goto fail;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        s_group_stats_t *gs = s_group_of(g, n, (uint64_t)sqlite3_column_int64(st, 0));
        if (!gs)
            continue;
        gs->attempts++;
        if (sqlite3_column_type(st, 1) == SQLITE_NULL)
            gs->running++;
        else if (sqlite3_column_int(st, 1) == FERRY_OUTCOME_OK)
            gs->done++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (step != SQLITE_DONE)
        goto fail;
    if (sqlite3_prepare_v2(j->db, "SELECT id FROM tasks WHERE state = 3", -1, &st, NULL) != SQLITE_OK)
        goto fail;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        s_group_stats_t *gs = s_group_of(g, n, (uint64_t)sqlite3_column_int64(st, 0));
        if (gs)
            gs->failed++;
    }
    sqlite3_finalize(st);
    st = NULL;
    if (step != SQLITE_DONE)
        goto fail;
    for (size_t i = 0; i < n; i++) {
        int64_t left = (int64_t)g[i].row.count - g[i].done - g[i].failed - g[i].running;
        g[i].pending = left > 0 ? left : 0;
    }
    *out = g;
    *n_out = n;
    return 0;
fail:
    sqlite3_finalize(st);
    s_group_stats_free(g, n);
    return s_fail(j, "counting tasks");
}

/* The six status columns of a group (or the totals): total, pending, running, done, failed,
 * attempts. */
static void s_stats_columns(const s_group_stats_t *gs, int64_t v[6])
{
    v[0] = (int64_t)gs->row.count;
    v[1] = gs->pending;
    v[2] = gs->running;
    v[3] = gs->done;
    v[4] = gs->failed;
    v[5] = gs->attempts;
}

int ferry_journal_counts(ferry_journal_t *j, ferry_journal_counts_t *c)
{
    memset(c, 0, sizeof *c);
    s_group_stats_t *g;
    size_t n;
    bool is_own_txn = !j->in_txn;
    if (is_own_txn && sqlite3_exec(j->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return s_fail(j, "counting tasks");
    int rc = s_group_stats(j, &g, &n);
    if (is_own_txn)
        sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
    if (rc)
        return rc;
    for (size_t i = 0; i < n; i++) {
        c->total += g[i].row.count;
        c->pending += (uint64_t)g[i].pending;
        c->leased += (uint64_t)g[i].running;
        c->done += (uint64_t)g[i].done;
        c->failed += (uint64_t)g[i].failed;
    }
    s_group_stats_free(g, n);
    return 0;
}

int ferry_journal_print_status(ferry_journal_t *j, FILE *out)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    if (sqlite3_exec(j->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK) /* one consistent snapshot */
        return s_fail(j, "reading status");
    if (sqlite3_prepare_v2(j->db, "SELECT path FROM plan WHERE id = 1", -1, &st, NULL) == SQLITE_OK &&
        sqlite3_step(st) == SQLITE_ROW)
        fprintf(out, "plan: %s\n", (const char *)sqlite3_column_text(st, 0));
    sqlite3_finalize(st);
    s_group_stats_t *g;
    size_t ng;
    if (s_group_stats(j, &g, &ng))
        goto out;
    fprintf(out, "%-24s %10s %10s %10s %10s %10s %10s\n", "group", "total", "pending", "running", "done", "failed",
            "attempts");
    int64_t tot[6] = {0};
    for (size_t i = 0; i < ng; i++) {
        fprintf(out, "%-24.24s", g[i].row.name);
        int64_t v[6];
        s_stats_columns(&g[i], v);
        for (int c = 0; c < 6; c++) {
            tot[c] += v[c];
            fprintf(out, " %10lld", (long long)v[c]);
        }
        fputc('\n', out);
    }
    s_group_stats_free(g, ng);
    st = NULL;
    fprintf(out, "%-24s", "TOTAL");
    for (int c = 0; c < 6; c++)
        fprintf(out, " %10lld", (long long)tot[c]);
    fputc('\n', out);
    if (sqlite3_prepare_v2(j->db, "SELECT state, count(*) FROM workers GROUP BY state ORDER BY state", -1, &st,
                           NULL) == SQLITE_OK) {
        fprintf(out, "workers:");
        int nw = 0;
        while (sqlite3_step(st) == SQLITE_ROW) {
            fprintf(out, " %lld %s", (long long)sqlite3_column_int64(st, 1), (const char *)sqlite3_column_text(st, 0));
            nw++;
        }
        fprintf(out, nw ? "\n" : " none yet\n");
    }
    sqlite3_finalize(st);
    if (sqlite3_prepare_v2(j->db,
                           "SELECT t.id, g.name, t.id - g.first_task, a.outcome, a.reason FROM tasks t "
                           "JOIN groups g ON g.idx = t.grp JOIN attempts a ON a.task = t.id "
                           "WHERE t.state = 3 AND a.id = (SELECT max(id) FROM attempts WHERE task = t.id) "
                           "ORDER BY t.id LIMIT 10",
                           -1, &st, NULL) == SQLITE_OK) {
        bool is_first = true;
        while (sqlite3_step(st) == SQLITE_ROW) {
            if (is_first)
                fprintf(out, "failed tasks (first 10; last attempt):\n");
            is_first = false;
            fprintf(out, "  %s-%lld: %s: %s\n", (const char *)sqlite3_column_text(st, 1),
                    (long long)sqlite3_column_int64(st, 2), ferry_outcome_name(sqlite3_column_int(st, 3)),
                    sqlite3_column_text(st, 4) ? (const char *)sqlite3_column_text(st, 4) : "");
        }
    }
    sqlite3_finalize(st);
    rc = 0;
out:
    sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
    return rc ? s_fail(j, "reading status") : 0;
}

/* ---- status as JSON ------------------------------------------------------------------ */
#define S_JSON_FLUSH_BYTES (64u * 1024) /* stream the document out in pieces this big */

static void s_json_flush(ferry_buf_t *b, FILE *out, bool is_forced)
{
    if (b->len && (is_forced || b->len >= S_JSON_FLUSH_BYTES)) {
        fwrite(b->data, 1, b->len, out);
        ferry_buf_reset(b);
    }
}

static void s_json_text_col(ferry_json_t *js, sqlite3_stmt *st, int col)
{
    const char *v = (const char *)sqlite3_column_text(st, col);
    if (v)
        ferry_json_strn(js, v, (size_t)sqlite3_column_bytes(st, col));
    else
        ferry_json_null(js);
}

static void s_json_counts(ferry_json_t *js, const int64_t v[6])
{
    static const char *keys[] = {"total", "pending", "running", "done", "failed", "attempts"};
    for (int k = 0; k < 6; k++) {
        ferry_json_key(js, keys[k]);
        ferry_json_int(js, v[k]);
    }
}

int ferry_journal_print_status_json(ferry_journal_t *j, FILE *out)
{
    sqlite3_stmt *st = NULL;
    int rc = -EIO;
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_json_t js;
    ferry_json_init(&js, &b, false);
    if (sqlite3_exec(j->db, "BEGIN", NULL, NULL, NULL) != SQLITE_OK)
        return s_fail(j, "reading status");
    ferry_json_obj_begin(&js);
    ferry_json_key(&js, "schema");
    ferry_json_int(&js, FERRY_JOURNAL_STATUS_SCHEMA);
    ferry_json_key(&js, "plan");
    if (sqlite3_prepare_v2(j->db, "SELECT path, sha256 FROM plan WHERE id = 1", -1, &st, NULL) != SQLITE_OK)
        goto out;
    if (sqlite3_step(st) == SQLITE_ROW) {
        ferry_json_obj_begin(&js);
        ferry_json_key(&js, "path");
        s_json_text_col(&js, st, 0);
        ferry_json_key(&js, "sha256");
        s_json_text_col(&js, st, 1);
        ferry_json_obj_end(&js);
    } else {
        ferry_json_null(&js);
    }
    sqlite3_finalize(st);
    st = NULL;
    /* totals, then groups (see s_group_stats) */
    s_group_stats_t *g;
    size_t ng;
    if (s_group_stats(j, &g, &ng))
        goto out;
    int64_t tot[6] = {0}, v[6];
    for (size_t i = 0; i < ng; i++) {
        s_stats_columns(&g[i], v);
        for (int k = 0; k < 6; k++)
            tot[k] += v[k];
    }
    ferry_json_key(&js, "totals");
    ferry_json_obj_begin(&js);
    s_json_counts(&js, tot);
    ferry_json_obj_end(&js);
    ferry_json_key(&js, "groups");
    ferry_json_arr_begin(&js);
    for (size_t i = 0; i < ng; i++) {
        ferry_json_obj_begin(&js);
        ferry_json_key(&js, "name");
        ferry_json_str(&js, g[i].row.name);
        ferry_json_key(&js, "kind");
        ferry_json_str(&js, ferry_task_kind_name(g[i].row.kind));
        s_stats_columns(&g[i], v);
        s_json_counts(&js, v);
        ferry_json_obj_end(&js);
        s_json_flush(&b, out, false);
    }
    ferry_json_arr_end(&js);
    s_group_stats_free(g, ng);
    int step;
    /* workers, with the attempts each ran */
    if (sqlite3_prepare_v2(j->db,
                           "SELECT w.name, w.state, w.first_seen_ms, w.last_seen_ms, "
                           "(SELECT count(*) FROM attempts a WHERE a.worker = w.id), "
                           "(SELECT count(*) FROM attempts a WHERE a.worker = w.id AND a.outcome = 0) "
                           "FROM workers w ORDER BY w.id",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    ferry_json_key(&js, "workers");
    ferry_json_arr_begin(&js);
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        ferry_json_obj_begin(&js);
        ferry_json_key(&js, "name");
        s_json_text_col(&js, st, 0);
        ferry_json_key(&js, "state");
        s_json_text_col(&js, st, 1);
        ferry_json_key(&js, "first_seen_ms");
        ferry_json_int(&js, sqlite3_column_int64(st, 2));
        ferry_json_key(&js, "last_seen_ms");
        ferry_json_int(&js, sqlite3_column_int64(st, 3));
        ferry_json_key(&js, "attempts");
        ferry_json_int(&js, sqlite3_column_int64(st, 4));
        ferry_json_key(&js, "done");
        ferry_json_int(&js, sqlite3_column_int64(st, 5));
        ferry_json_obj_end(&js);
        s_json_flush(&b, out, false);
    }
    ferry_json_arr_end(&js);
    sqlite3_finalize(st);
    st = NULL;
    if (step != SQLITE_DONE)
        goto out;
    /* failed tasks, each with every attempt: one pass over the attempts (no index on
     * attempts.task), rows of one task consecutive */
    if (sqlite3_prepare_v2(j->db,
                           "SELECT t.id, g.name, t.id - g.first_task, a.id, w.name, a.outcome, a.exit_code, "
                           "a.signal, a.elapsed_ms, a.started_ms, a.ended_ms, a.reason, a.stderr "
                           "FROM tasks t JOIN groups g ON g.idx = t.grp JOIN attempts a ON a.task = t.id "
                           "LEFT JOIN workers w ON w.id = a.worker WHERE t.state = 3 ORDER BY t.id, a.id",
                           -1, &st, NULL) != SQLITE_OK)
        goto out;
    ferry_json_key(&js, "failed_tasks");
    ferry_json_arr_begin(&js);
    int64_t current = 0;
    while ((step = sqlite3_step(st)) == SQLITE_ROW) {
        int64_t task = sqlite3_column_int64(st, 0);
        if (task != current) {
            if (current) {
                ferry_json_arr_end(&js);
                ferry_json_obj_end(&js);
                s_json_flush(&b, out, false);
            }
            current = task;
            ferry_json_obj_begin(&js);
            ferry_json_key(&js, "id");
            const char *gname = (const char *)sqlite3_column_text(st, 1);
            char *id = ferry_asprintf("%s-%lld", gname ? gname : "?", (long long)sqlite3_column_int64(st, 2));
            ferry_json_str(&js, id);
            free(id);
            ferry_json_key(&js, "task");
            ferry_json_int(&js, task);
            ferry_json_key(&js, "attempts");
            ferry_json_arr_begin(&js);
        }
        ferry_json_obj_begin(&js);
        ferry_json_key(&js, "attempt");
        ferry_json_int(&js, sqlite3_column_int64(st, 3));
        ferry_json_key(&js, "worker");
        s_json_text_col(&js, st, 4);
        ferry_json_key(&js, "outcome");
        if (sqlite3_column_type(st, 5) == SQLITE_NULL)
            ferry_json_str(&js, "running");
        else
            ferry_json_str(&js, ferry_outcome_name(sqlite3_column_int(st, 5)));
        static const char *nums[] = {"exit_code", "signal", "elapsed_ms", "started_ms", "ended_ms"};
        for (int k = 0; k < 5; k++) {
            ferry_json_key(&js, nums[k]);
            if (sqlite3_column_type(st, 6 + k) == SQLITE_NULL)
                ferry_json_null(&js);
            else
                ferry_json_int(&js, sqlite3_column_int64(st, 6 + k));
        }
        ferry_json_key(&js, "reason");
        s_json_text_col(&js, st, 11);
        ferry_json_key(&js, "stderr");
        s_json_text_col(&js, st, 12);
        ferry_json_obj_end(&js);
    }
    if (current) {
        ferry_json_arr_end(&js);
        ferry_json_obj_end(&js);
    }
    ferry_json_arr_end(&js);
    if (step != SQLITE_DONE)
        goto out;
    ferry_json_obj_end(&js);
    ferry_buf_append(&b, "\n", 1);
    s_json_flush(&b, out, true);
    rc = 0;
out:
    sqlite3_finalize(st);
    sqlite3_exec(j->db, "COMMIT", NULL, NULL, NULL);
    ferry_buf_free(&b);
    return rc ? s_fail(j, "reading status") : 0;
}
