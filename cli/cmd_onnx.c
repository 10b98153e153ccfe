/* cmd_onnx.c -- `ferry inspect`, `ferry check` and `ferry convert`: the ONNX layer's commands */
#include "cli/command.h"
#include "model/convert.h"
#include "model/onnx.h"
#include "model/onnx_check.h"
#include "model/onnx_convert.h"
#include "model/onnx_fast.h"
#include "model/onnx_inspect.h"
#include "util/buf.h"
#include "util/json.h"
#include "util/mem.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

/* Bytes looked at to tell PMML (XML) from ONNX (protobuf). */
#define S_SNIFF_BYTES 256

/* convert edits the tree: the mutable loader (inspect and check use model/onnx_fast.h). */
static int s_load(const char *cmd, const char *path, ferry_onnx_t **model)
{
    ferry_err_t err;
    int rc = ferry_onnx_load_file(path, model, &err);
    if (rc < 0) {
        fprintf(stderr, "ferry %s: %s\n", cmd, err.msg);
        return FERRY_EXIT_INPUT;
    }
    return FERRY_EXIT_OK;
}

static void s_print(ferry_buf_t *b)
{
    if (b->len)
        fwrite(b->data, 1, b->len, stdout);
    ferry_buf_free(b);
}

/* ---- inspect ------------------------------------------------------------------------- */

static int s_inspect(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        printf("usage: ferry inspect MODEL.onnx [--json] [--check]\n"
               "\n"
               "Summarise an ONNX model: IR version, producer, opset imports, operator\n"
               "histogram, inputs and outputs (element type, shape with symbolic dims),\n"
               "initializers (count, bytes, parameters), external data files, subgraphs,\n"
               "functions and the sha256 of the file. --json prints the stable JSON document\n"
               "described in model/onnx_inspect.h. --check also runs `ferry check` on the\n"
               "same load (JSON: a \"check\" member) and exits 1 when it finds problems.\n"
               "\n"
               "Exit codes: 0 ok, 1 --check found problems, 2 usage, 3 the model cannot be read.\n");
        return FERRY_EXIT_OK;
    }
    const char *path = NULL;
    bool as_json = false, with_check = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else if (!strcmp(argv[i], "--check"))
            with_check = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return ferry_cli_usage_error("inspect", "unknown option '%s'", argv[i]);
        else if (path)
            return ferry_cli_usage_error("inspect", "one model at a time ('%s' and '%s')", path, argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return ferry_cli_usage_error("inspect", "missing MODEL");
    /* one pass over the file for the summary and the check (model/onnx_fast.h) */
    ferry_onnx_summary_t s;
    ferry_onnx_problems_t p = {0};
    ferry_err_t err;
    if (ferry_onnx_analyze_file(path, true, &s, with_check ? &p : NULL, NULL, &err) < 0) {
        fprintf(stderr, "ferry inspect: %s\n", err.msg);
        return FERRY_EXIT_INPUT;
    }
    size_t n_problems = with_check ? p.total : 0;
    ferry_buf_t out = FERRY_BUF_INIT;
    if (as_json) {
        ferry_json_t j;
        ferry_json_init(&j, &out, true);
        ferry_json_obj_begin(&j);
        ferry_onnx_summary_json_members(&s, &j);
        if (with_check) {
            ferry_json_key(&j, "check");
            ferry_onnx_problems_json(&p, &j);
        }
        ferry_json_obj_end(&j);
        ferry_buf_putc(&out, '\n');
    } else {
        ferry_onnx_summary_text(&s, &out);
        if (with_check) {
            for (size_t i = 0; i < p.count; i++) {
                char *line = ferry_onnx_problem_format(&p.items[i]);
                ferry_buf_printf(&out, "problem:     %s\n", line);
                free(line);
            }
            ferry_buf_printf(&out, "check:       %s (%zu problems)\n", n_problems ? "INVALID" : "valid", n_problems);
        }
    }
    s_print(&out);
    ferry_onnx_problems_free(&p);
    ferry_onnx_summary_free(&s);
    return n_problems ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
}

/* ---- check ----------------------------------------------------------------------------- */

static int s_check(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        printf("usage: ferry check MODEL.onnx [--json]\n"
               "\n"
               "Structural check in the spirit of onnx.checker: IR version and opset imports,\n"
               "every operator known at its imported opset version (table generated from the\n"
               "ONNX spec), nodes topologically sorted, every input defined exactly once before\n"
               "use, graph outputs produced, attribute names and types as declared, initializer\n"
               "sizes consistent with dims and type. Each problem names the graph, the node\n"
               "index, name and operator.\n"
               "\n"
               "Exit codes: 0 valid, 1 problems found, 2 usage, 3 the model cannot be read.\n");
        return FERRY_EXIT_OK;
    }
    const char *path = NULL;
    bool as_json = false;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--json"))
            as_json = true;
        else if (argv[i][0] == '-' && argv[i][1])
            return ferry_cli_usage_error("check", "unknown option '%s'", argv[i]);
        else if (path)
            return ferry_cli_usage_error("check", "one model at a time ('%s' and '%s')", path, argv[i]);
        else
            path = argv[i];
    }
    if (!path)
        return ferry_cli_usage_error("check", "missing MODEL");
    ferry_onnx_problems_t p;
    ferry_err_t err;
    if (ferry_onnx_analyze_file(path, false, NULL, &p, NULL, &err) < 0) {
        fprintf(stderr, "ferry check: %s\n", err.msg);
        return FERRY_EXIT_INPUT;
    }
    size_t n = p.total;
    ferry_buf_t out = FERRY_BUF_INIT;
    if (as_json) {
        ferry_json_t j;
        ferry_json_init(&j, &out, true);
        ferry_onnx_problems_json(&p, &j);
        ferry_buf_putc(&out, '\n');
    } else {
        for (size_t i = 0; i < p.count; i++) {
            char *line = ferry_onnx_problem_format(&p.items[i]);
            ferry_buf_printf(&out, "%s: %s\n", path, line);
            free(line);
        }
        if (p.total > p.count)
            ferry_buf_printf(&out, "%s: ... and %zu more problems\n", path, p.total - p.count);
        if (n == 0)
            ferry_buf_printf(&out, "%s: valid (%zu nodes checked%s)\n", path, p.nodes_checked,
                             p.unverified_nodes ? ", custom-domain nodes not verified" : "");
        else
            ferry_buf_printf(&out, "%s: %zu problem%s\n", path, n, n == 1 ? "" : "s");
    }
    s_print(&out);
    ferry_onnx_problems_free(&p);
    return n ? FERRY_EXIT_FAIL : FERRY_EXIT_OK;
}

/* ---- convert ----------------------------------------------------------------------------- */

typedef enum { S_FORMAT_ONNX, S_FORMAT_PMML, S_FORMAT_UNREADABLE } s_format_t;

/* PMML is XML: a .pmml name, or a first non-blank byte '<' (after an optional BOM). */
static s_format_t s_sniff(const char *path)
{
    size_t n = strlen(path);
    if (n >= 5 && !strcasecmp(path + n - 5, ".pmml"))
        return S_FORMAT_PMML;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return S_FORMAT_UNREADABLE;
    unsigned char head[S_SNIFF_BYTES];
    ssize_t got = read(fd, head, sizeof head);
    close(fd);
    if (got < 0)
        return S_FORMAT_UNREADABLE;
    ssize_t i = 0;
    if (got >= 3 && head[0] == 0xef && head[1] == 0xbb && head[2] == 0xbf)
        i = 3;
    while (i < got && (head[i] == ' ' || head[i] == '\t' || head[i] == '\r' || head[i] == '\n'))
        i++;
    return i < got && head[i] == '<' ? S_FORMAT_PMML : S_FORMAT_ONNX;
}

static int s_convert(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        printf("usage: ferry convert IN -o OUT.onnx [--opset N]\n"
               "\n"
               "Convert a model. The input's format decides what happens:\n"
               "  ONNX input: convert the default-domain opset to N (upward from 7 to %d,\n"
               "    downward where the semantics allow; otherwise the operator and the reason\n"
               "    are reported). Operators of other domains (ai.onnx.ml, ...) are carried over\n"
               "    with their own opset import. Without --opset the model is re-encoded as is.\n"
               "  PMML input: convert to ONNX (default opset %d, ai.onnx.ml 5), computing in double,\n"
               "    and write the signature manifest beside OUT (OUT without .onnx + .manifest.json,\n"
               "    also embedded in the model's metadata_props as \"ferry.manifest\"). A construct\n"
               "    without a faithful ONNX form is refused (exit 1) with the construct named.\n"
               "\n"
               "Exit codes: 0 converted, 1 a node cannot be converted to that opset,\n"
               "            2 usage, 3 invalid or unsupported input, 4 the output cannot be written.\n",
               ferry_onnx_opset_max(), FERRY_CONVERT_OPSET_DEFAULT);
        return FERRY_EXIT_OK;
    }
    const char *in = NULL, *out = NULL;
    long opset = 0;
    for (int i = 1; i < argc; i++) {
        if ((!strcmp(argv[i], "-o") || !strcmp(argv[i], "--output")) && i + 1 < argc) {
            out = argv[++i];
        } else if (!strcmp(argv[i], "--opset") && i + 1 < argc) {
            char *end;
            errno = 0;
            opset = strtol(argv[++i], &end, 10);
            if (errno || *end || end == argv[i] || opset <= 0)
                return ferry_cli_usage_error("convert", "--opset needs a positive integer, not '%s'", argv[i]);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ferry_cli_usage_error("convert", "unknown option or missing value: '%s'", argv[i]);
        } else if (in) {
            return ferry_cli_usage_error("convert", "one input at a time ('%s' and '%s')", in, argv[i]);
        } else {
            in = argv[i];
        }
    }
    if (!in)
        return ferry_cli_usage_error("convert", "missing IN");
    if (!out)
        return ferry_cli_usage_error("convert", "missing -o OUT");
    switch (s_sniff(in)) {
    case S_FORMAT_UNREADABLE:
        fprintf(stderr, "ferry convert: %s: %s\n", in, strerror(errno));
        return FERRY_EXIT_INPUT;
    case S_FORMAT_PMML:
    {
        ferry_err_t cerr;
        ferry_convert_opts_t copts = {.opset = (int)opset};
        int crc = ferry_convert_file(in, out, &copts, &cerr);
        if (crc < 0)
            fprintf(stderr, "ferry convert: %s\n", cerr.msg);
        return crc == 0 ? FERRY_EXIT_OK : crc == FERRY_CONVERT_EINVALID ? FERRY_EXIT_INPUT : FERRY_EXIT_FAIL;
    }
    case S_FORMAT_ONNX:
        break;
    }
    ferry_onnx_t *model;
    int rc = s_load("convert", in, &model);
    if (rc)
        return rc;
    ferry_err_t err;
    if (opset) {
        ferry_onnx_convert_report_t report;
        int crc = opset > INT32_MAX ? -ERANGE : ferry_onnx_convert_opset(model, (int)opset, &report, &err);
        if (crc < 0) {
            if (opset > INT32_MAX)
                ferry_err(&err, "target opset %ld is out of range", opset);
            fprintf(stderr, "ferry convert: %s: %s\n", in, err.msg);
            ferry_onnx_destroy(&model);
            return crc == -ERANGE ? FERRY_EXIT_USAGE : crc == -EINVAL ? FERRY_EXIT_INPUT : FERRY_EXIT_FAIL;
        }
        fprintf(stderr, "ferry convert: %s: opset %d -> %d, %zu nodes rewritten, %zu added\n", in, report.from_opset,
                report.to_opset, report.nodes_rewritten, report.nodes_added);
    }
    if (ferry_onnx_save(model, out, &err) < 0) {
        fprintf(stderr, "ferry convert: %s\n", err.msg);
        ferry_onnx_destroy(&model);
        return FERRY_EXIT_RUNTIME;
    }
    ferry_onnx_destroy(&model);
    return FERRY_EXIT_OK;
}

FERRY_COMMAND(inspect, "inspect", 40, "summarise a model (opsets, operators, inputs, sizes, sha256)", s_inspect)
FERRY_COMMAND(check, "check", 41, "check a model's structure (operators, order, attributes, sizes)", s_check)
FERRY_COMMAND(convert, "convert", 42, "convert a model (ONNX opset up/down; PMML -> ONNX)", s_convert)
