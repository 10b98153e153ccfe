/* cmd_compare.c -- `ferry compare REF CAND DATA.csv`: do two models predict the same thing?
 *
 * Both models (PMML or converted ONNX) score the same CSV through `ferry score` in child
 * processes (a crash of one model costs the comparison, never this process), then the
 * two outputs are compared column by column, by name. */
#include "cli/command.h"
#include "cli/score_ort.h"
#include "model/dataset.h"
#include "util/file.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

/* Defaults. Converted models compute in double like the PMML evaluator; what differs is
 * only the order of a few summations (MatMul, ReduceSum), worth a few ulps: 1e-9 leaves
 * six orders of magnitude of margin yet catches any float32 rounding (~1e-7) or a flipped
 * split (an O(1) jump). Probabilities live in [0, 1], so the absolute term dominates them;
 * regression values of any scale are held by the relative term. Labels and empty cells
 * (no prediction, invalid row) must match exactly. */
#define S_ATOL_DEFAULT 1e-9
#define S_RTOL_DEFAULT 1e-9
#define S_MAX_SHOWN 10 /* violating rows listed per column */
#define S_MAX_ERR_BYTES (64u << 10) /* scorer messages shown on failure */

static const char s_help[] =
    "usage: ferry compare REF CAND DATA.csv [--atol A] [--rtol R] [--ref-runtime RT] [--cand-runtime RT]\n"
    "\n"
    "Score DATA.csv with the reference and the candidate model (each a PMML document or an\n"
    "ONNX model converted by `ferry convert`, run by `ferry score`) and compare the outputs\n"
    "column by column, matched by name. Per column: the maximum absolute and relative error,\n"
    "the rows violating |ref - cand| <= atol + rtol * |ref|, and for label columns (text)\n"
    "the agreement. A row one model scores and the other leaves empty is a violation.\n"
    "\n"
    "Tolerances: --atol 1e-9 and --rtol 1e-9 by default. Converted models compute in double\n"
    "as PMML does; only summation order differs (a few ulps), so 1e-9 has a wide margin yet\n"
    "catches float32 rounding (~1e-7) and flipped splits. Probabilities are in [0, 1] and held\n"
    "by atol; regression values of any scale by rtol. Labels compare exactly (100%).\n"
    "\n"
    "--ref-runtime / --cand-runtime RT: the runtime scoring that model when it is ONNX, as\n"
    "`ferry score --runtime RT`: engine (default), ort, ort-node or ort-python (ONNX Runtime\n"
    "through a runner process), e.g. PMML against the converted model on ONNX Runtime:\n"
    "  ferry compare m.pmml m.onnx data.csv --cand-runtime ort\n"
    "\n"
    "exit: 0 the models agree, 1 a violation (or different columns / row counts), 2 usage,\n"
    "3 a model or the CSV cannot be read, 4 a scorer could not be run\n";

/* Run `ferry score MODEL DATA -o OUT [--runtime R]` (its stderr to errpath); returns its exit status or -1. */
static int s_score(const char *model, const char *data, const char *out, const char *runtime, const char *errpath)
{
    pid_t pid = fork();
    if (pid < 0)
        return -1;
    if (pid == 0) {
        int fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
        if (fd >= 0)
            dup2(fd, 2);
        char *argv[] = {"ferry", "score", (char *)model, (char *)data, "-o", (char *)out,
                        runtime ? "--runtime" : NULL, (char *)runtime, NULL};
        execv("/proc/self/exe", argv);
        _exit(127);
    }
    int st;
    while (waitpid(pid, &st, 0) < 0)
        if (errno != EINTR)
            return -1;
    return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

typedef struct {
    size_t n_cols, n_rows;
    char **head;
    char **cells; /* n_rows x n_cols */
} s_table_t;

static void s_table_free(s_table_t *t)
{
    for (size_t i = 0; i < t->n_cols; i++)
        free(t->head[i]);
    for (size_t i = 0; i < t->n_rows * t->n_cols; i++)
        free(t->cells[i]);
    free(t->head);
    free(t->cells);
    memset(t, 0, sizeof *t);
}

static int s_read(const char *path, s_table_t *t, ferry_err_t *err)
{
    ferry_csv_t *csv = ferry_csv_open(path, err);
    if (!csv)
        return -1;
    int r = ferry_csv_next(csv, err);
    if (r <= 0) {
        ferry_csv_destroy(&csv);
        return r < 0 ? -1 : ferry_err(err, "%s: empty output", path);
    }
    t->n_cols = ferry_csv_ncells(csv);
    t->head = ferry_calloc(t->n_cols, sizeof(char *));
    for (size_t i = 0; i < t->n_cols; i++)
        t->head[i] = ferry_strdup(ferry_csv_cell(csv, i, NULL));
    size_t cap = 0;
    /* the CSV reader skips blank lines, so a one-column output row with an empty cell is
     * read back by line: count rows by the scorer's line numbers instead */
    size_t last_line = ferry_csv_line(csv);
    while ((r = ferry_csv_next(csv, err)) == 1) {
        size_t line = ferry_csv_line(csv);
        while (last_line + 1 < line) { /* skipped blank lines: rows of empty cells */
            if (t->n_rows == cap) {
                cap = cap ? cap * 2 : 1024;
                t->cells = ferry_reallocarray(t->cells, cap * t->n_cols, sizeof(char *));
            }
            for (size_t i = 0; i < t->n_cols; i++)
                t->cells[t->n_rows * t->n_cols + i] = ferry_strdup("");
            t->n_rows++;
            last_line++;
        }
        last_line = line;
        if (ferry_csv_ncells(csv) != t->n_cols) {
            ferry_csv_destroy(&csv);
            return ferry_err(err, "%s:%zu: expected %zu cells", path, line, t->n_cols);
        }
        if (t->n_rows == cap) {
            cap = cap ? cap * 2 : 1024;
            t->cells = ferry_reallocarray(t->cells, cap * t->n_cols, sizeof(char *));
        }
        for (size_t i = 0; i < t->n_cols; i++)
            t->cells[t->n_rows * t->n_cols + i] = ferry_strdup(ferry_csv_cell(csv, i, NULL));
        t->n_rows++;
    }
    ferry_csv_destroy(&csv);
    return r < 0 ? -1 : 0;
}

static bool s_number(const char *s, double *d)
{
    if (!*s)
        return false;
    char *end;
    *d = strtod(s, &end);
    return !*end;
}

static int s_compare(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        fputs(s_help, stdout);
        return FERRY_EXIT_OK;
    }
    const char *pos[3] = {0};
    int npos = 0;
    double atol = S_ATOL_DEFAULT, rtol = S_RTOL_DEFAULT;
    const char *runtime[2] = {NULL, NULL};
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--ref-runtime") || !strcmp(argv[i], "--cand-runtime")) {
            ferry_ort_runner_t kind;
            if (i + 1 >= argc || (strcmp(argv[i + 1], "engine") && ferry_ort_runner_parse(argv[i + 1], &kind) < 0))
                return ferry_cli_usage_error("compare", "%s needs engine, ort, ort-node or ort-python", argv[i]);
            runtime[!strcmp(argv[i], "--cand-runtime")] = argv[i + 1];
            i++;
        } else if (!strcmp(argv[i], "--atol") || !strcmp(argv[i], "--rtol")) {
            if (i + 1 >= argc)
                return ferry_cli_usage_error("compare", "%s needs a value", argv[i]);
            char *end;
            double v = strtod(argv[i + 1], &end);
            if (*end || end == argv[i + 1] || !(v >= 0) || !isfinite(v))
                return ferry_cli_usage_error("compare", "%s needs a non-negative number, not '%s'", argv[i],
                                             argv[i + 1]);
            *(!strcmp(argv[i], "--atol") ? &atol : &rtol) = v;
            i++;
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ferry_cli_usage_error("compare", "unknown option '%s'", argv[i]);
        } else if (npos < 3) {
            pos[npos++] = argv[i];
        } else {
            return ferry_cli_usage_error("compare", "unexpected argument '%s'", argv[i]);
        }
    }
    if (npos != 3)
        return ferry_cli_usage_error("compare", "needs REF CAND DATA.csv");
    char dir[] = "/tmp/ferry-compare-XXXXXX";
    if (!mkdtemp(dir)) {
        fprintf(stderr, "ferry compare: cannot create a temporary directory: %s\n", strerror(errno));
        return FERRY_EXIT_RUNTIME;
    }
    char *out[2] = {ferry_asprintf("%s/ref.csv", dir), ferry_asprintf("%s/cand.csv", dir)};
    char *errs[2] = {ferry_asprintf("%s/ref.err", dir), ferry_asprintf("%s/cand.err", dir)};
    s_table_t tab[2] = {{0}};
    int exit_code = FERRY_EXIT_INPUT;
    for (int k = 0; k < 2; k++) {
        int rc = s_score(pos[k], pos[2], out[k], runtime[k], errs[k]);
        if (rc < 0 || rc > 1) {
            char *msg = NULL;
            size_t mlen = 0;
            if (ferry_file_read(errs[k], S_MAX_ERR_BYTES, &msg, &mlen) == 0 && mlen)
                fwrite(msg, 1, mlen, stderr);
            free(msg);
            fprintf(stderr, "ferry compare: scoring %s with %s failed (exit %d)\n", pos[2], pos[k], rc);
            exit_code = rc == FERRY_EXIT_INPUT || rc == FERRY_EXIT_USAGE ? FERRY_EXIT_INPUT : FERRY_EXIT_RUNTIME;
            goto out;
        }
        ferry_err_t err;
        if (s_read(out[k], &tab[k], &err) < 0) {
            fprintf(stderr, "ferry compare: %s\n", err.msg);
            exit_code = FERRY_EXIT_RUNTIME;
            goto out;
        }
    }
    s_table_t *R = &tab[0], *C = &tab[1];
    bool is_bad = false;
    printf("reference: %s%s%s%s\ncandidate: %s%s%s%s\ndata:      %s (%zu rows)\n"
           "tolerance: |ref - cand| <= %g + %g * |ref|\n\n",
           pos[0], runtime[0] ? " (runtime " : "", runtime[0] ? runtime[0] : "", runtime[0] ? ")" : "", pos[1],
           runtime[1] ? " (runtime " : "", runtime[1] ? runtime[1] : "", runtime[1] ? ")" : "", pos[2], R->n_rows,
           atol, rtol);
    if (R->n_rows != C->n_rows) {
        printf("row count differs: reference %zu, candidate %zu\n", R->n_rows, C->n_rows);
        is_bad = true;
    }
    size_t rows = FERRY_MIN(R->n_rows, C->n_rows);
    printf("%-28s %-7s %12s %12s %10s\n", "column", "kind", "max_abs", "max_rel", "violations");
    for (size_t c = 0; c < R->n_cols; c++) {
        long cc = -1;
        for (size_t k = 0; k < C->n_cols; k++)
            if (!strcmp(R->head[c], C->head[k]))
                cc = (long)k;
        if (cc < 0) {
            printf("%-28s missing from the candidate\n", R->head[c]);
            is_bad = true;
            continue;
        }
        bool is_label = false;
        for (size_t r = 0; r < rows && !is_label; r++) {
            double d;
            const char *a = R->cells[r * R->n_cols + c];
            is_label = *a && !s_number(a, &d);
        }
        double max_abs = 0, max_rel = 0;
        size_t bad = 0, agree = 0, shown = 0;
        char *list = NULL;
        size_t list_len = 0;
        FILE *lf = open_memstream(&list, &list_len);
        for (size_t r = 0; r < rows; r++) {
            const char *a = R->cells[r * R->n_cols + c], *b = C->cells[r * C->n_cols + (size_t)cc];
            bool ok;
            double x, y;
            if (is_label || !*a || !*b) {
                ok = !strcmp(a, b);
            } else if (s_number(a, &x) && s_number(b, &y)) {
                double diff = fabs(x - y), rel = diff / FERRY_MAX(fabs(x), 1e-300);
                if (isnan(diff))
                    diff = rel = INFINITY;
                max_abs = FERRY_MAX(max_abs, diff);
                max_rel = x == y ? max_rel : FERRY_MAX(max_rel, rel);
                ok = diff <= atol + rtol * fabs(x);
            } else {
                ok = !strcmp(a, b);
            }
            agree += ok;
            if (!ok) {
                bad++;
                if (lf && shown++ < S_MAX_SHOWN)
                    fprintf(lf, "    row %zu: reference \"%s\", candidate \"%s\"\n", r + 1, a, b);
            }
        }
        if (lf)
            fclose(lf);
        if (is_label)
            printf("%-28s %-7s %12s %12s %10zu   agreement %.2f%% (%zu/%zu)\n", R->head[c], "label", "-", "-", bad,
                   rows ? 100.0 * (double)agree / (double)rows : 100.0, agree, rows);
        else
            printf("%-28s %-7s %12.3g %12.3g %10zu\n", R->head[c], "number", max_abs, max_rel, bad);
        if (bad && list)
            fputs(list, stdout);
        free(list);
        is_bad |= bad > 0;
    }
    for (size_t k = 0; k < C->n_cols; k++) {
        bool found = false;
        for (size_t c = 0; c < R->n_cols && !found; c++)
            found = !strcmp(R->head[c], C->head[k]);
        if (!found) {
            printf("%-28s only in the candidate\n", C->head[k]);
            is_bad = true;
        }
    }
    printf("\n%s\n", is_bad ? "result: DIFFERENT (tolerance violated)" : "result: AGREE");
    exit_code = is_bad ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
out:
    for (int k = 0; k < 2; k++) {
        unlink(out[k]);
        unlink(errs[k]);
        free(out[k]);
        free(errs[k]);
        s_table_free(&tab[k]);
    }
    rmdir(dir);
    return exit_code;
}

FERRY_COMMAND(compare, "compare", 43, "run two models on the same CSV and compare outputs (ferry compare REF CAND DATA.csv)",
              s_compare)
