/* cmd_npy.c -- `ferry npy show|copy`: inspect and normalise the .npy tensors runners exchange */
#include "cli/command.h"
#include "model/npy.h"
#include "util/common.h"
#include "util/json.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_MAX_TEXT 10
#define S_DEFAULT_MAX_JSON 1000

static void s_help(void)
{
    printf("usage: ferry npy show [--json] [--max N|all] FILE...\n"
           "       ferry npy copy IN.npy OUT.npy [IN.npy OUT.npy ...]\n"
           "\n"
           "show   print each file's dtype, shape and first values (default 10; 1000 with --json)\n"
           "copy   read each IN (any .npy version, byte order or Fortran order ferry accepts)\n"
           "       and write its OUT as a C-order little-endian .npy (what runners produce)\n"
           "\n"
           "dtypes: bool, int8-64, uint8-64, float16/32/64, strings ('<U', '|S').\n"
           "Exit codes: 0 ok, 2 usage error, 3 a file is missing or malformed, 4 cannot write.\n");
}

static void s_json_value(ferry_json_t *j, const ferry_npy_t *a, uint64_t i)
{
    const unsigned char *p = (const unsigned char *)a->data + i * ferry_npy_itemsize(a->dtype);
    switch (a->dtype) {
    case FERRY_NPY_STRING: ferry_json_str(j, a->strings[i]); break;
    case FERRY_NPY_BOOL: ferry_json_bool(j, *p != 0); break;
    case FERRY_NPY_INT64: { int64_t v; memcpy(&v, p, 8); ferry_json_int(j, v); break; }
    case FERRY_NPY_UINT64: { uint64_t v; memcpy(&v, p, 8); ferry_json_uint(j, v); break; }
    case FERRY_NPY_INT8: case FERRY_NPY_UINT8: case FERRY_NPY_INT16: case FERRY_NPY_UINT16:
    case FERRY_NPY_INT32: case FERRY_NPY_UINT32:
        ferry_json_int(j, (int64_t)ferry_npy_get_double(a, i));
        break;
    default: ferry_json_double(j, ferry_npy_get_double(a, i)); break;
    }
}

static int s_show(int argc, char **argv)
{
    bool is_json = false;
    int64_t max = -1; /* -1: the default; 0: all */
    int first_file = 0;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--json")) {
            is_json = true;
        } else if (!strcmp(argv[i], "--max")) {
            if (i + 1 >= argc)
                return ferry_cli_usage_error("npy", "--max needs a number or 'all'");
            char *end;
            const char *v = argv[++i];
            max = !strcmp(v, "all") ? 0 : strtoll(v, &end, 10);
            if (strcmp(v, "all") && (*end || max <= 0))
                return ferry_cli_usage_error("npy", "--max: expected a positive number or 'all', got '%s'", v);
        } else if (argv[i][0] == '-' && argv[i][1]) {
            return ferry_cli_usage_error("npy", "unknown option '%s'", argv[i]);
        } else if (!first_file) {
            first_file = i;
        }
    }
    if (!first_file)
        return ferry_cli_usage_error("npy", "show needs at least one FILE");
    if (max < 0)
        max = is_json ? S_DEFAULT_MAX_JSON : S_DEFAULT_MAX_TEXT;
    int rc = FERRY_EXIT_OK;
    ferry_buf_t out = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &out, false);
    if (is_json)
        ferry_json_arr_begin(&j);
    for (int i = first_file; i < argc; i++) {
        if (argv[i][0] == '-' && argv[i][1]) {
            if (!strcmp(argv[i], "--max"))
                i++;
            continue;
        }
        ferry_err_t err;
        ferry_npy_t *a = ferry_npy_read(argv[i], &err);
        if (!a) {
            fprintf(stderr, "ferry npy: %s\n", err.msg);
            rc = FERRY_EXIT_INPUT;
            continue;
        }
        uint64_t shown = max == 0 || (uint64_t)max > a->count ? a->count : (uint64_t)max;
        if (is_json) {
            ferry_json_obj_begin(&j);
            ferry_json_key(&j, "file");
            ferry_json_str(&j, argv[i]);
            ferry_json_key(&j, "dtype");
            ferry_json_str(&j, ferry_npy_dtype_name(a->dtype));
            ferry_json_key(&j, "shape");
            ferry_json_arr_begin(&j);
            for (size_t d = 0; d < a->ndim; d++)
                ferry_json_uint(&j, a->shape[d]);
            ferry_json_arr_end(&j);
            ferry_json_key(&j, "count");
            ferry_json_uint(&j, a->count);
            ferry_json_key(&j, "values");
            ferry_json_arr_begin(&j);
            for (uint64_t k = 0; k < shown; k++)
                s_json_value(&j, a, k);
            ferry_json_arr_end(&j);
            ferry_json_key(&j, "is_truncated");
            ferry_json_bool(&j, shown < a->count);
            ferry_json_obj_end(&j);
        } else {
            printf("%s: %s (", argv[i], ferry_npy_dtype_name(a->dtype));
            for (size_t d = 0; d < a->ndim; d++)
                printf(d ? ", %" PRIu64 : "%" PRIu64, a->shape[d]);
            printf(a->ndim == 1 ? ",)" : ")");
            printf(", %" PRIu64 " elements:", a->count);
            for (uint64_t k = 0; k < shown; k++) {
                if (a->dtype == FERRY_NPY_STRING)
                    printf(" \"%s\"", a->strings[k]);
                else
                    printf(" %.9g", ferry_npy_get_double(a, k));
            }
            printf("%s\n", shown < a->count ? " ..." : "");
        }
        ferry_npy_destroy(&a);
    }
    if (is_json) {
        ferry_json_arr_end(&j);
        printf("%s\n", out.data);
    }
    ferry_buf_free(&out);
    return rc;
}

static int s_copy(int argc, char **argv)
{
    if (argc < 4 || (argc - 2) % 2)
        return ferry_cli_usage_error("npy", "copy needs pairs of IN.npy OUT.npy");
    int rc = FERRY_EXIT_OK;
    for (int i = 2; i + 1 < argc; i += 2) { /* pairs: one process for many files */
        ferry_err_t err;
        ferry_npy_t *a = ferry_npy_read(argv[i], &err);
        if (!a) {
            fprintf(stderr, "ferry npy: %s\n", err.msg);
            rc = rc == FERRY_EXIT_OK ? FERRY_EXIT_INPUT : rc;
            continue;
        }
        if (ferry_npy_write(argv[i + 1], a, &err) < 0) {
            fprintf(stderr, "ferry npy: %s\n", err.msg);
            rc = FERRY_EXIT_RUNTIME;
        }
        ferry_npy_destroy(&a);
    }
    return rc;
}

static int s_run(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        s_help();
        return FERRY_EXIT_OK;
    }
    if (argc < 2)
        return ferry_cli_usage_error("npy", "expected 'show' or 'copy'");
    if (!strcmp(argv[1], "show"))
        return s_show(argc, argv);
    if (!strcmp(argv[1], "copy"))
        return s_copy(argc, argv);
    return ferry_cli_usage_error("npy", "unknown subcommand '%s' (expected show or copy)", argv[1]);
}

FERRY_COMMAND(npy, "npy", 70, "inspect or normalise .npy tensor files (show, copy)", s_run)
