/* fuzz_onnx.c -- libFuzzer target for the ONNX layer: load (wire-format validation,
 * protobuf-c decode) + check + inspect + save + opset conversion of hostile bytes. */
#include "model/onnx.h"
#include "model/onnx_check.h"
#include "model/onnx_convert.h"
#include "model/onnx_inspect.h"
#include "util/buf.h"

#include <stdint.h>
#include <stdlib.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
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
