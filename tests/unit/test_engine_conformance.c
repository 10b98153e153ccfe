/* test_engine_conformance.c -- runs every ONNX backend node test (Debian's libonnx-testdata)
 * whose operators ferry's engine supports, on all of its data sets, against the expected
 * outputs shipped with the test data (the oracle: ONNX's reference implementation).
 *
 * A case is "unsupported" only when ferry_engine_new() refuses the model with
 * FERRY_ENGINE_EUNSUPPORTED (an error naming the operator or feature); every other case
 * must load, run and match: any mismatch or any other error fails the test.
 * Tolerance as the ONNX backend tests: rtol 1e-3, atol 1e-7 for floating point; exact
 * for integers, bools and strings.
 *
 * env: FERRY_ONNX_NODE_DATA (default /usr/include/onnx/backend/test/data/node),
 *      FERRY_CONFORMANCE_FILTER=substr (case names), FERRY_CONFORMANCE_VERBOSE=1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include "model/engine.h"
#include "model/tensor.h"
#include "util/file.h"
#include "util/mem.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_DEFAULT_DIR "/usr/include/onnx/backend/test/data/node"
#define S_MAX_MODEL_BYTES (64u << 20)
#define S_MAX_TENSOR_BYTES (256u << 20)
#define S_RTOL 1e-3
#define S_ATOL 1e-7
#define S_MAX_REASONS 256

typedef struct {
    char *reason;
    int count;
} s_reason_t;

static s_reason_t s_reasons[S_MAX_REASONS];
static int s_n_reasons;

static void s_count_reason(const char *msg)
{
    /* reduce "node 'x': operator Foo of domain 'd' (opset N) is not supported..." to "Foo (d)" */
    char key[200];
    const char *op = strstr(msg, "operator ");
    if (op) {
        op += strlen("operator ");
        const char *dom = strstr(op, "domain '");
        size_t oplen = strcspn(op, " ");
        if (dom) {
            dom += strlen("domain '");
            snprintf(key, sizeof(key), "%.*s(%.*s)", (int)oplen, op, (int)strcspn(dom, "'"), dom);
        } else {
            snprintf(key, sizeof(key), "%.*s", (int)oplen, op);
        }
    } else {
        const char *colon = strstr(msg, "): ");
        snprintf(key, sizeof(key), "%.120s", colon ? colon + 3 : msg);
    }
    for (int i = 0; i < s_n_reasons; i++)
        if (!strcmp(s_reasons[i].reason, key)) {
            s_reasons[i].count++;
            return;
        }
    if (s_n_reasons < S_MAX_REASONS) {
        s_reasons[s_n_reasons].reason = ferry_strdup(key);
        s_reasons[s_n_reasons++].count = 1;
    }
}

static int s_load_tensor(const char *path, ferry_tensor_t *t, ferry_err_t *err)
{
    char *data = NULL;
    size_t len = 0;
    int rc = ferry_file_read(path, S_MAX_TENSOR_BYTES, &data, &len);
    if (rc < 0)
        return ferry_err(err, "%s: cannot read (%s)", path, strerror(-rc));
    rc = ferry_tensor_from_pb_bytes(t, (const uint8_t *)data, len, path, err);
    free(data);
    return rc;
}

/* 0 when equal within tolerance; else -1 with a description in err */
static int s_compare(const ferry_tensor_t *got, const ferry_tensor_t *want, ferry_err_t *err)
{
    char gs[200], ws[200];
    if (got->kind != FERRY_VALUE_TENSOR)
        return ferry_err(err, "output is not a tensor");
    if (got->dtype != want->dtype)
        return ferry_err(err, "type %s, expected %s", ferry_dtype_name(got->dtype), ferry_dtype_name(want->dtype));
    bool same_shape = got->ndim == want->ndim;
    for (int i = 0; same_shape && i < got->ndim; i++)
        same_shape = got->dims[i] == want->dims[i];
    if (!same_shape)
        return ferry_err(err, "shape %s, expected %s", ferry_tensor_shape_str(got, gs, sizeof(gs)),
                         ferry_tensor_shape_str(want, ws, sizeof(ws)));
    for (int64_t i = 0; i < want->count; i++) {
        if (want->dtype == FERRY_DT_STRING) {
            const char *a = ((char *const *)got->data)[i], *b = ((char *const *)want->data)[i];
            if (strcmp(a ? a : "", b ? b : ""))
                return ferry_err(err, "element %lld: '%.60s', expected '%.60s'", (long long)i, a ? a : "",
                                 b ? b : "");
        } else if (want->dtype == FERRY_DT_FLOAT || want->dtype == FERRY_DT_DOUBLE ||
                   want->dtype == FERRY_DT_FLOAT16 || want->dtype == FERRY_DT_BFLOAT16) {
            double a = ferry_tensor_get_f64(got, i), b = ferry_tensor_get_f64(want, i);
            if (isnan(a) && isnan(b))
                continue;
            if (isinf(a) || isinf(b)) {
                if (a != b)
                    return ferry_err(err, "element %lld: %.9g, expected %.9g", (long long)i, a, b);
                continue;
            }
            if (!(fabs(a - b) <= S_ATOL + S_RTOL * fabs(b)))
                return ferry_err(err, "element %lld: %.9g, expected %.9g", (long long)i, a, b);
        } else if (want->dtype == FERRY_DT_UINT64) {
            uint64_t a = ((const uint64_t *)got->data)[i], b = ((const uint64_t *)want->data)[i];
            if (a != b)
                return ferry_err(err, "element %lld: %llu, expected %llu", (long long)i, (unsigned long long)a,
                                 (unsigned long long)b);
        } else {
            int64_t a = ferry_tensor_get_i64(got, i), b = ferry_tensor_get_i64(want, i);
            if (a != b)
                return ferry_err(err, "element %lld: %lld, expected %lld", (long long)i, (long long)a, (long long)b);
        }
    }
    return 0;
}

typedef enum { S_PASS, S_FAIL, S_UNSUPPORTED } s_outcome_t;

static s_outcome_t s_run_case(const char *dir, const char *name, ferry_err_t *err)
{
    char path[4096];
    snprintf(path, sizeof(path), "%s/%s/model.onnx", dir, name);
    char *bytes = NULL;
    size_t len = 0;
    int rc = ferry_file_read(path, S_MAX_MODEL_BYTES, &bytes, &len);
    if (rc < 0) {
        ferry_err(err, "%s: cannot read", path);
        return S_FAIL;
    }
    Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, len, (const uint8_t *)bytes);
    free(bytes);
    if (!model) {
        ferry_err(err, "%s: not a valid ONNX model", path);
        return S_FAIL;
    }
    int code = 0;
    s_outcome_t outcome = S_PASS;
    ferry_engine_t *engine = ferry_engine_new(model, &code, err);
    ferry_tensor_t *in = ferry_tensor_new(), *want = ferry_tensor_new();
    if (!engine) {
        outcome = code == FERRY_ENGINE_EUNSUPPORTED ? S_UNSUPPORTED : S_FAIL;
        goto done;
    }
    int n_sets = 0;
    for (int set = 0;; set++) {
        snprintf(path, sizeof(path), "%s/%s/test_data_set_%d", dir, name, set);
        DIR *d = opendir(path);
        if (!d)
            break;
        closedir(d);
        n_sets++;
        const Onnx__GraphProto *g = model->graph;
        for (size_t k = 0; k < g->n_input; k++) {
            snprintf(path, sizeof(path), "%s/%s/test_data_set_%d/input_%zu.pb", dir, name, set, k);
            FILE *f = fopen(path, "rb");
            if (!f)
                continue;
            fclose(f);
            if (s_load_tensor(path, in, err) < 0) {
                outcome = S_FAIL;
                goto done;
            }
            /* onnx 1.12's test data stores bfloat16 tensors with data_type uint16 (same bits) */
            int idx = ferry_engine_input_index(engine, g->input[k]->name);
            if (in->dtype == FERRY_DT_UINT16 && ferry_engine_input_dtype(engine, idx) == FERRY_DT_BFLOAT16)
                in->dtype = FERRY_DT_BFLOAT16;
            if (ferry_engine_set_input(engine, g->input[k]->name, in, err) < 0) {
                outcome = S_FAIL;
                goto done;
            }
        }
        ferry_err_t rerr;
        rc = ferry_engine_run(engine, &rerr);
        if (rc < 0) {
            ferry_err(err, "data set %d: %s", set, rerr.msg);
            outcome = S_FAIL;
            goto done;
        }
        for (int k = 0; k < ferry_engine_output_count(engine); k++) {
            snprintf(path, sizeof(path), "%s/%s/test_data_set_%d/output_%d.pb", dir, name, set, k);
            if (s_load_tensor(path, want, err) < 0) {
                outcome = S_FAIL;
                goto done;
            }
            ferry_err_t cerr;
            if (want->dtype == FERRY_DT_UINT16 && ferry_engine_output(engine, k)->dtype == FERRY_DT_BFLOAT16)
                want->dtype = FERRY_DT_BFLOAT16; /* same onnx 1.12 quirk as for inputs */
            if (s_compare(ferry_engine_output(engine, k), want, &cerr) < 0) {
                ferry_err(err, "data set %d, output %d (%s): %s", set, k, ferry_engine_output_name(engine, k),
                          cerr.msg);
                outcome = S_FAIL;
                goto done;
            }
        }
    }
    if (n_sets == 0) {
        ferry_err(err, "no test_data_set_* directory");
        outcome = S_FAIL;
    }
done:
    ferry_tensor_destroy(&in);
    ferry_tensor_destroy(&want);
    ferry_engine_destroy(&engine);
    onnx__model_proto__free_unpacked(model, NULL);
    return outcome;
}

static int s_cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

static int s_cmp_reasons(const void *a, const void *b)
{
    const s_reason_t *x = a, *y = b;
    return y->count != x->count ? y->count - x->count : strcmp(x->reason, y->reason);
}

static void test_node_conformance(void **state)
{
    (void)state;
    const char *dir = getenv("FERRY_ONNX_NODE_DATA");
    if (!dir)
        dir = S_DEFAULT_DIR;
    const char *filter = getenv("FERRY_CONFORMANCE_FILTER");
    bool is_verbose = getenv("FERRY_CONFORMANCE_VERBOSE") != NULL;
    DIR *d = opendir(dir);
    if (!d) {
        fail_msg("cannot open %s: install libonnx-testdata (make deps)", dir);
        return;
    }
    char **names = NULL;
    size_t n_names = 0;
    struct dirent *de;
    while ((de = readdir(d))) {
        if (strncmp(de->d_name, "test_", 5))
            continue;
        if (filter && !strstr(de->d_name, filter))
            continue;
        names = ferry_reallocarray(names, n_names + 1, sizeof(char *));
        names[n_names++] = ferry_strdup(de->d_name);
    }
    closedir(d);
    qsort(names, n_names, sizeof(char *), s_cmp_names);
    int supported = 0, passed = 0, unsupported = 0;
    for (size_t i = 0; i < n_names; i++) {
        ferry_err_t err = {{0}};
        s_outcome_t o = s_run_case(dir, names[i], &err);
        if (o == S_UNSUPPORTED) {
            unsupported++;
            s_count_reason(err.msg);
            if (is_verbose)
                printf("unsupported %s: %s\n", names[i], err.msg);
        } else {
            supported++;
            if (o == S_PASS) {
                passed++;
                if (is_verbose)
                    printf("pass %s\n", names[i]);
            } else {
                printf("FAIL %s: %s\n", names[i], err.msg);
            }
        }
        free(names[i]);
    }
    free(names);
    qsort(s_reasons, (size_t)s_n_reasons, sizeof(s_reason_t), s_cmp_reasons);
    printf("unsupported cases by operator or feature:\n");
    for (int i = 0; i < s_n_reasons; i++) {
        printf("  %4d  %s\n", s_reasons[i].count, s_reasons[i].reason);
        free(s_reasons[i].reason);
    }
    printf("summary: supported=%d passed=%d unsupported=%d (of %zu node tests)\n", supported, passed, unsupported,
           n_names);
    fflush(stdout);
    assert_true(supported > 0 || filter);
    assert_int_equal(passed, supported);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_node_conformance),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
