/* bench_dispatch.c -- dispatch throughput, isolation cost and coordinator memory
 *
 * 1. echo tasks end to end (ferry coordinator + N `ferry worker` processes on loopback
 *    TCP, journal on) against a raw ZeroMQ DEALER/ROUTER request/reply loop with the same
 *    concurrency (N clients x the workers' credit in flight), measured in the same run,
 *    N = 1 and 4; medians of FERRY_BENCH_REPS (3) runs each; with the CPU time per task:
 *    the coordinator's loop thread, its journal writer thread and the whole process since
 *    it listened (from its log), and the workers' (their rusage, start-up included). On a
 *    2-CPU machine every process shares the same CPUs, so the total sets the ratio.
 * 2. `sleep 0` tasks through child processes (`ferry exec`) against spawning the same
 *    children directly with the same parallelism.
 * 3. coordinator peak RSS and journal bytes per task for a large plan (200,000 tasks;
 *    FERRY_BENCH_FULL=1: 1,000,000).
 * Needs FERRY_BIN (set by bench/run.sh); FERRY_BENCH_DISPATCH_ONLY=1 runs part 1 only. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <sqlite3.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define S_TASKS 100000
#define S_PREFETCH 63 /* worker credit = 1 slot + 63 prefetched */
#define S_CREDIT (S_PREFETCH + 1)
#define S_ISO_TASKS 200
#define S_RUN_LIMIT_S 240 /* one ferry run */
#define S_BODY_LEN 64 /* about the size of an encoded TASK */

extern char **environ;
static const char *s_ferry;
static char s_tmp[64];

static double s_now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int s_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static double s_median(double *v, int n)
{
    qsort(v, (size_t)n, sizeof *v, s_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* A loopback port below the kernel's ephemeral range (32768-60999 by default: a port there
 * may be the local end of a connection, and the coordinator's bind would fail) that this
 * process can bind now. */
static int s_port(void)
{
    int port = 0;
    for (int tries = 0; tries < 50; tries++) {
        port = 20000 + (int)(((unsigned)getpid() * 7919u + (unsigned)rand()) % 12000u);
        int fd = socket(AF_INET, SOCK_STREAM, 0);
        if (fd < 0)
            break;
        struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                                .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
        int rc = bind(fd, (struct sockaddr *)&a, sizeof a);
        close(fd);
        if (rc == 0)
            break;
    }
    return port;
}

/* ---- raw ZeroMQ baseline ----------------------------------------------------------- */
typedef struct {
    void *ctx;
    char endpoint[64];
    long count;
} s_raw_client_t;

static void *s_raw_server(void *arg)
{
    void **args = arg;
    void *router = args[0];
    long total = *(long *)args[1];
    zmq_msg_t parts[3];
    for (long done = 0; done < total;) {
        int n = 0;
        do {
            zmq_msg_init(&parts[n]);
            if (zmq_msg_recv(&parts[n], router, 0) < 0)
                return NULL;
            n++;
        } while (n < 3 && zmq_msg_more(&parts[n - 1]));
        for (int i = 0; i < n; i++)
            zmq_msg_send(&parts[i], router, i + 1 < n ? ZMQ_SNDMORE : 0);
        done++;
    }
    return NULL;
}

static void *s_raw_client(void *arg)
{
    s_raw_client_t *c = arg;
    void *d = zmq_socket(c->ctx, ZMQ_DEALER);
    int hwm = 0;
    zmq_setsockopt(d, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(d, ZMQ_RCVHWM, &hwm, sizeof hwm);
    zmq_connect(d, c->endpoint);
    char hdr[4] = {'F', 'Y', 1, 3}, body[S_BODY_LEN] = {0}, buf[256];
    long sent = 0, got = 0;
    for (; sent < c->count && sent < S_CREDIT; sent++) {
        zmq_send(d, hdr, 4, ZMQ_SNDMORE);
        zmq_send(d, body, sizeof body, 0);
    }
    while (got < c->count) {
        zmq_recv(d, buf, sizeof buf, 0);
        zmq_recv(d, buf, sizeof buf, 0);
        got++;
        if (sent < c->count) {
            zmq_send(d, hdr, 4, ZMQ_SNDMORE);
            zmq_send(d, body, sizeof body, 0);
            sent++;
        }
    }
    int zero = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(d);
    return NULL;
}

static double s_raw_rate(int clients, long total)
{
    void *ctx = zmq_ctx_new();
    void *router = zmq_socket(ctx, ZMQ_ROUTER);
    int hwm = 0;
    zmq_setsockopt(router, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    char ep[64];
    for (;;) {
        snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", s_port());
        if (zmq_bind(router, ep) == 0)
            break;
    }
    long per = total / clients;
    long served = per * clients;
    void *args[2] = {router, &served};
    pthread_t server, th[16];
    s_raw_client_t cl[16];
    double t0 = s_now();
    pthread_create(&server, NULL, s_raw_server, args);
    for (int i = 0; i < clients; i++) {
        cl[i] = (s_raw_client_t){.ctx = ctx, .count = per};
        snprintf(cl[i].endpoint, sizeof cl[i].endpoint, "%s", ep);
        pthread_create(&th[i], NULL, s_raw_client, &cl[i]);
    }
    for (int i = 0; i < clients; i++)
        pthread_join(th[i], NULL);
    pthread_join(server, NULL);
    double secs = s_now() - t0;
    int zero = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(router);
    zmq_ctx_term(ctx);
    return (double)served / secs;
}

/* ---- ferry runs ---------------------------------------------------------------------- */
static pid_t s_spawn(char *const argv[], const char *log)
{
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    posix_spawn_file_actions_addopen(&fa, 2, log, O_WRONLY | O_CREAT | O_APPEND, 0644);
    pid_t pid;
    int rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    return rc == 0 ? pid : -1;
}

typedef struct {
    double rate;       /* tasks/s from the first lease to the last result (journal times) */
    double wall_s;     /* coordinator start to exit, including plan expansion */
    long maxrss_kb;    /* coordinator peak RSS */
    double journal_bytes;
    long done;
    int exit_code;
    double loop_cpu_s, writer_cpu_s; /* from the coordinator's last log line; -1: not logged */
    double coord_cpu_s;              /* the whole coordinator since listening; -1: not logged */
    double workers_cpu_s;            /* the worker processes' user + system time */
} s_ferry_run_t;

/* "CPU since listening: loop thread X s, journal writer Y s" from the coordinator's log
 * (a ferry without the journal writer thread logs no such line). */
static void s_read_cpu(const char *log, s_ferry_run_t *out)
{
    out->loop_cpu_s = out->writer_cpu_s = out->coord_cpu_s = -1;
    FILE *f = fopen(log, "r");
    if (!f)
        return;
    char line[512];
    while (fgets(line, sizeof line, f)) {
        const char *p = strstr(line, "CPU since listening: loop thread ");
        double loop_s, writer_s, proc_s;
        int n = p ? sscanf(p, "CPU since listening: loop thread %lf s, journal writer %lf s, whole process %lf s",
                           &loop_s, &writer_s, &proc_s)
                  : 0;
        if (n >= 2) {
            out->loop_cpu_s = loop_s;
            out->writer_cpu_s = writer_s;
        }
        if (n == 3)
            out->coord_cpu_s = proc_s;
    }
    fclose(f);
}

static int s_run_ferry(const char *plan_yaml, int workers, int slots, int prefetch, s_ferry_run_t *out)
{
    static int seq;
    char dir[128], plan[160], state[160], log[160], ep[64], db[200], slots_s[16], prefetch_s[16];
    snprintf(dir, sizeof dir, "%s/run%d", s_tmp, seq++);
    mkdir(dir, 0755);
    snprintf(plan, sizeof plan, "%s/plan.yaml", dir);
    snprintf(state, sizeof state, "%s/state", dir);
    snprintf(log, sizeof log, "%s/log.txt", dir);
    snprintf(db, sizeof db, "%s/state.db", state);
    snprintf(ep, sizeof ep, "tcp://127.0.0.1:%d", s_port());
    snprintf(slots_s, sizeof slots_s, "%d", slots);
    snprintf(prefetch_s, sizeof prefetch_s, "%d", prefetch);
    FILE *f = fopen(plan, "w");
    if (!f)
        return -1;
    fputs(plan_yaml, f);
    fclose(f);
    memset(out, 0, sizeof *out);
    double t0 = s_now();
    char *cargv[] = {(char *)s_ferry, "coordinator", plan, "--state", state, "--bind", ep, NULL};
    pid_t cpid = s_spawn(cargv, log);
    pid_t wpids[16];
    for (int i = 0; i < workers; i++) {
        char *wargv[] = {(char *)s_ferry, "worker", "--connect", ep, "--slots", slots_s, "--prefetch", prefetch_s,
                         "--no-runtimes", NULL};
        wpids[i] = s_spawn(wargv, log);
    }
    int status = 0;
    struct rusage ru;
    /* a run that does not finish within S_RUN_LIMIT_S is killed and reported */
    for (;;) {
        pid_t got = wait4(cpid, &status, WNOHANG, &ru);
        if (got == cpid || got < 0)
            break;
        if (s_now() - t0 > S_RUN_LIMIT_S) {
            fprintf(stderr, "bench_dispatch: run %s did not finish in %d s; killed\n", dir, S_RUN_LIMIT_S);
            kill(cpid, SIGKILL);
        }
        struct timespec ts = {0, 20 * 1000 * 1000};
        nanosleep(&ts, NULL);
    }
    out->wall_s = s_now() - t0;
    out->maxrss_kb = ru.ru_maxrss;
    out->exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    s_read_cpu(log, out);
    if (out->exit_code != 0) { /* say why: the last lines of the coordinator's and workers' log */
        char cmd[256];
        snprintf(cmd, sizeof cmd, "tail -n 5 '%s' | sed 's/^/    log: /'", log);
        fflush(stdout);
        if (system(cmd) != 0)
            fprintf(stderr, "bench_dispatch: cannot show %s\n", log);
    }
    for (int i = 0; i < workers; i++) {
        kill(wpids[i], SIGTERM); /* a worker exits by itself on the coordinator's BYE */
        struct rusage wru;
        if (wait4(wpids[i], NULL, 0, &wru) == wpids[i])
            out->workers_cpu_s += (double)(wru.ru_utime.tv_sec + wru.ru_stime.tv_sec) +
                                  (double)(wru.ru_utime.tv_usec + wru.ru_stime.tv_usec) / 1e6;
    }
    sqlite3 *sdb;
    if (sqlite3_open_v2(db, &sdb, SQLITE_OPEN_READONLY, NULL) == SQLITE_OK) {
        sqlite3_stmt *st;
        if (sqlite3_prepare_v2(sdb, "SELECT min(started_ms), max(ended_ms), count(*) FROM attempts WHERE outcome = 0",
                               -1, &st, NULL) == SQLITE_OK &&
            sqlite3_step(st) == SQLITE_ROW) {
            double span = (double)(sqlite3_column_int64(st, 1) - sqlite3_column_int64(st, 0)) / 1000.0;
            out->done = sqlite3_column_int64(st, 2);
            out->rate = span > 0 ? (double)out->done / span : 0;
        }
        sqlite3_finalize(st);
        sqlite3_close(sdb);
    }
    /* checkpoint folded the WAL at close; count the database file and any WAL left */
    struct stat sb;
    char wal[220];
    snprintf(wal, sizeof wal, "%s-wal", db);
    if (stat(db, &sb) == 0)
        out->journal_bytes = (double)sb.st_size;
    if (stat(wal, &sb) == 0)
        out->journal_bytes += (double)sb.st_size;
    return out->exit_code;
}

/* spawn `ferry exec --kind sleep --ms 0` n times, parallel at a time */
static double s_direct_exec_rate(int n, int parallel)
{
    char *argv[] = {(char *)s_ferry, "exec", "--kind", "sleep", "--ms", "0", "--memory-mb", "4096", "--task", "x", NULL};
    double t0 = s_now();
    int running = 0, started = 0;
    while (started < n || running > 0) {
        while (running < parallel && started < n) {
            pid_t pid = s_spawn(argv, "/dev/null");
            if (pid > 0)
                running++;
            started++;
        }
        if (wait(NULL) > 0)
            running--;
    }
    return (double)n / (s_now() - t0);
}

int main(void)
{
    s_ferry = getenv("FERRY_BIN");
    if (!s_ferry) {
        fprintf(stderr, "bench_dispatch: set FERRY_BIN to the ferry binary\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    srand((unsigned)time(NULL) ^ (unsigned)getpid());
    snprintf(s_tmp, sizeof s_tmp, "/tmp/ferry-bench-XXXXXX");
    if (!mkdtemp(s_tmp))
        return 4;
    int reps = getenv("FERRY_BENCH_REPS") ? atoi(getenv("FERRY_BENCH_REPS")) : 3;
    if (reps < 1 || reps > 15)
        reps = 3;
    int rc = 0;
    char plan[512];

    printf("dispatch: %d echo tasks, loopback TCP, journal on (SQLite WAL, group commit on the journal writer "
           "thread);\n"
           "  ferry: coordinator + N `ferry worker` processes (1 slot + %d prefetched = %d in flight each);\n"
           "  tasks/s from the first lease to the last result (journal times)\n"
           "baseline: raw ZeroMQ, one ROUTER thread echoing N DEALER threads, each keeping %d requests\n"
           "  in flight, one 2-frame message per request and per reply (no batching); medians of %d\n",
           S_TASKS, S_PREFETCH, S_CREDIT, S_CREDIT, reps);
    snprintf(plan, sizeof plan, "name: bench\ndiagnostics:\n  - {kind: echo, count: %d}\n", S_TASKS);
    int configs[] = {1, 4};
    for (int ci = 0; ci < 2; ci++) {
        int workers = configs[ci];
        double raw[15], fer[15], wall[15], loop_us[15], writer_us[15], coord_us[15], workers_us[15], total_us[15];
        int n_cpu = 0, n_proc = 0;
        for (int r = 0; r < reps; r++) {
            raw[r] = s_raw_rate(workers, S_TASKS);
            s_ferry_run_t fr;
            if (s_run_ferry(plan, workers, 1, S_PREFETCH, &fr) != 0 || fr.done != S_TASKS) {
                printf("  ferry run failed: exit %d, %ld done\n", fr.exit_code, fr.done);
                rc = 1;
            }
            fer[r] = fr.rate;
            wall[r] = fr.wall_s;
            if (fr.loop_cpu_s >= 0) {
                loop_us[n_cpu] = fr.loop_cpu_s * 1e6 / S_TASKS;
                writer_us[n_cpu++] = fr.writer_cpu_s * 1e6 / S_TASKS;
            }
            if (fr.coord_cpu_s >= 0) {
                coord_us[n_proc] = fr.coord_cpu_s * 1e6 / S_TASKS;
                workers_us[n_proc] = fr.workers_cpu_s * 1e6 / S_TASKS;
                total_us[n_proc++] = (fr.coord_cpu_s + fr.workers_cpu_s) * 1e6 / S_TASKS;
            }
        }
        double mr = s_median(raw, reps), mf = s_median(fer, reps), mw = s_median(wall, reps);
        printf("  %d worker%s: ferry %8.0f tasks/s   raw zmq %8.0f round trips/s   ratio %.2f   "
               "(wall incl. startup %.2fs)%s%s\n",
               workers, workers > 1 ? "s" : " ", mf, mr, mf / mr, mw, mf >= 20000 ? "" : "   BELOW 20,000/s",
               mf / mr >= 0.25 ? "" : "   BELOW 1/4 OF RAW");
        if (n_cpu)
            printf("             coordinator CPU per task: loop thread %.2f us, journal writer thread %.2f us "
                   "(medians of %d)\n",
                   s_median(loop_us, n_cpu), s_median(writer_us, n_cpu), n_cpu);
        if (n_proc)
            printf("             CPU per task, all threads: coordinator %.2f us, workers %.2f us, total %.2f us "
                   "(medians of %d)\n",
                   s_median(coord_us, n_proc), s_median(workers_us, n_proc), s_median(total_us, n_proc), n_proc);
    }
    if (getenv("FERRY_BENCH_DISPATCH_ONLY")) /* the dispatch figures alone */
        return rc;

    printf("\nisolation: %d `sleep 0` tasks through child processes (1 worker, %ld slots)\n", S_ISO_TASKS,
           sysconf(_SC_NPROCESSORS_ONLN));
    snprintf(plan, sizeof plan, "name: iso\ndiagnostics:\n  - {kind: sleep, ms: 0, count: %d}\n", S_ISO_TASKS);
    {
        int slots = (int)sysconf(_SC_NPROCESSORS_ONLN);
        double fer[15], direct[15];
        for (int r = 0; r < reps; r++) {
            direct[r] = s_direct_exec_rate(S_ISO_TASKS, slots);
            s_ferry_run_t fr;
            if (s_run_ferry(plan, 1, slots, slots, &fr) != 0 || fr.done != S_ISO_TASKS)
                rc = 1;
            fer[r] = fr.rate;
        }
        double mf = s_median(fer, reps), md = s_median(direct, reps);
        printf("  ferry %6.0f tasks/s   spawning `ferry exec` directly %6.0f/s   ratio %.2f\n", mf, md, mf / md);
    }

    long big = getenv("FERRY_BENCH_FULL") ? 1000000 : 200000;
    printf("\nmemory: %ld echo tasks in the journal, 4 workers%s\n", big,
           big < 1000000 ? " (FERRY_BENCH_FULL=1 for 1,000,000)" : "");
    snprintf(plan, sizeof plan, "name: big\ndiagnostics:\n  - {kind: echo, count: %ld}\n", big);
    {
        s_ferry_run_t fr;
        if (s_run_ferry(plan, 4, 1, S_PREFETCH, &fr) != 0 || fr.done != big)
            rc = 1;
        printf("  coordinator peak RSS %.1f MB (limit 300)   journal %.0f bytes/task (limit 1024)   "
               "%.0f tasks/s   wall %.1fs\n",
               (double)fr.maxrss_kb / 1024.0, fr.journal_bytes / (double)big, fr.rate, fr.wall_s);
        if (fr.maxrss_kb / 1024 >= 300 || fr.journal_bytes / (double)big >= 1024)
            printf("  ABOVE LIMIT\n");
    }
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", s_tmp);
    if (system(cmd) != 0)
        fprintf(stderr, "could not remove %s\n", s_tmp);
    return rc;
}
