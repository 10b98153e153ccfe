/* fuzz_onnx.c -- libFuzzer target for the ONNX layer: load (wire-format validation,
 * protobuf-c decode) + check + inspect + save + opset conversion of hostile bytes, and the
 * fast inspect + check reader (model/onnx_fast.h) differentially: its JSON must equal the
 * protobuf-c path's, and where it hands over, the loader's message must be the one given. */
#include "model/onnx.h"
#include "model/onnx_check.h"
#include "model/onnx_convert.h"
#include "model/onnx_fast.h"
#include "model/onnx_inspect.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* inspect + check as one JSON document (consumes s and p) */
static void s_doc(ferry_onnx_summary_t *s, ferry_onnx_problems_t *p, ferry_buf_t *out)
{
    ferry_json_t j;
    ferry_json_init(&j, out, false);
    ferry_json_obj_begin(&j);
    ferry_onnx_summary_json_members(s, &j);
    ferry_json_key(&j, "check");
    ferry_onnx_problems_json(p, &j);
    ferry_json_obj_end(&j);
    ferry_buf_putc(out, '\0');
    ferry_onnx_summary_free(s);
    ferry_onnx_problems_free(p);
}

/* The fast reader's answer; is_parallel: its node parse and check forced onto the parallel
 * path (from one node on, 2 to 5 threads by the input's size, so chunk edges move). */
static void s_fast(const uint8_t *data, size_t size, bool is_parallel, ferry_buf_t *fast, bool *used_fast)
{
    ferry_onnx_summary_t s;
    ferry_onnx_problems_t p;
    ferry_err_t err;
    char threads[2] = {(char)('2' + size % 4), '\0'};
    if (is_parallel) {
        setenv("FERRY_ONNX_PARALLEL_MIN", "1", 1);
        setenv("FERRY_ONNX_THREADS", threads, 1);
    }
    if (ferry_onnx_analyze_buffer(data, size, NULL, "fuzz", true, &s, &p, used_fast, &err) < 0)
        ferry_buf_printf(fast, "error: %s", err.msg);
    else
        s_doc(&s, &p, fast);
    unsetenv("FERRY_ONNX_PARALLEL_MIN");
    unsetenv("FERRY_ONNX_THREADS");
}

static void s_differential(const uint8_t *data, size_t size)
{
    ferry_onnx_summary_t s;
    ferry_onnx_problems_t p;
    ferry_err_t err;
    ferry_buf_t fast = FERRY_BUF_INIT, par = FERRY_BUF_INIT, tree = FERRY_BUF_INIT;
    bool used_fast = false, used_fast_par = false;
    s_fast(data, size, false, &fast, &used_fast);
    s_fast(data, size, true, &par, &used_fast_par);
    ferry_onnx_t *m;
    if (ferry_onnx_load_buffer_readonly(data, size, NULL, "fuzz", &m, &err) < 0) {
        ferry_buf_printf(&tree, "error: %s", err.msg);
    } else {
        ferry_onnx_summarize(m, true, &s);
        ferry_onnx_check(m, &p);
        ferry_onnx_destroy(&m);
        s_doc(&s, &p, &tree);
    }
    if (strcmp(fast.data, tree.data) != 0) {
        fprintf(stderr, "fast reader (%s) and protobuf-c path disagree:\n  fast: %s\n  tree: %s\n",
                used_fast ? "answered" : "handed over", fast.data, tree.data);
        abort();
    }
    if (strcmp(par.data, tree.data) != 0 || used_fast_par != used_fast) {
        fprintf(stderr, "fast reader with the parallel check (%s) and protobuf-c path disagree:\n  fast: %s\n"
                "  tree: %s\n", used_fast_par ? "answered" : "handed over", par.data, tree.data);
        abort();
    }
    ferry_buf_free(&fast);
    ferry_buf_free(&par);
    ferry_buf_free(&tree);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    s_differential(data, size);
    ferry_onnx_t *m = NULL;
    ferry_err_t err;
    /* read-only mode (arena decode), as `ferry inspect --check` uses it */
    if (ferry_onnx_load_buffer_readonly(data, size, NULL, "fuzz", &m, &err) == 0) {
        ferry_onnx_problems_t rp;
        ferry_onnx_check(m, &rp);
        ferry_onnx_problems_free(&rp);
        ferry_onnx_summary_t rs;
        ferry_onnx_summarize(m, false, &rs);
        ferry_onnx_summary_free(&rs);
        ferry_onnx_destroy(&m);
    }
    if (ferry_onnx_load_buffer(data, size, NULL, "fuzz", &m, &err) < 0)
        return 0;
    ferry_onnx_problems_t p;
    ferry_onnx_check(m, &p);
    ferry_onnx_problems_free(&p);
    ferry_onnx_summary_t s;
    ferry_onnx_summarize(m, false, &s);
    ferry_buf_t out = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &out, false);
    ferry_onnx_summary_json(&s, &j);
    ferry_onnx_summary_free(&s);
    ferry_buf_reset(&out);
    ferry_onnx_pack(&ferry_onnx_proto(m)->base, &out);
    ferry_buf_free(&out);
    /* the target opset comes from the input, so both directions are explored */
    ferry_onnx_convert_report_t r;
    int target = FERRY_ONNX_OPSET_MIN + (int)(size % (size_t)(ferry_onnx_opset_max() - FERRY_ONNX_OPSET_MIN + 1));
    if (ferry_onnx_convert_opset(m, target, &r, &err) == 0) {
        ferry_onnx_pack(&ferry_onnx_proto(m)->base, &out);
        ferry_buf_free(&out);
    }
    ferry_onnx_destroy(&m);
    return 0;
}
