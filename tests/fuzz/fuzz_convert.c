/* fuzz_convert.c -- libFuzzer target for the convert area's decoders of outside input:
 * bytes as a PMML document must load-and-convert or fail cleanly, and whatever converts must
 * be a model ferry's own ONNX loader and engine accept, with a manifest its reader parses.
 * A first byte of '{' fuzzes the manifest reader directly. */
#include "model/convert.h"
#include "model/engine.h"
#include "model/manifest.h"
#include "model/onnx.h"
#include "model/pmml.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ferry_err_t err;
    if (size && data[0] == '{') {
        ferry_manifest_t *m = ferry_manifest_parse((const char *)data, size, "fuzz.json", &err);
        ferry_manifest_destroy(&m);
        return 0;
    }
    ferry_pmml_t *p = ferry_pmml_load_mem((const char *)data, size, "fuzz.pmml", &err);
    if (!p)
        return 0;
    ferry_buf_t onnx = FERRY_BUF_INIT;
    char *manifest = NULL;
    if (ferry_convert_pmml(p, "fuzz.pmml", NULL, &onnx, &manifest, &err) == 0) {
        ferry_onnx_t *model = NULL;
        if (ferry_onnx_load_buffer(onnx.data, onnx.len, NULL, "fuzz.onnx", &model, &err) != 0)
            __builtin_trap(); /* what we write, we can read */
        ferry_manifest_t *m = ferry_manifest_parse(manifest, strlen(manifest), "fuzz.json", &err);
        if (!m)
            __builtin_trap();
        int code = 0;
        ferry_engine_t *e = ferry_engine_new(ferry_onnx_proto(model), &code, &err);
        if (!e && code == FERRY_ENGINE_EINVALID)
            __builtin_trap(); /* the converter emitted a malformed graph */
        ferry_engine_destroy(&e);
        ferry_manifest_destroy(&m);
        ferry_onnx_destroy(&model);
    }
    free(manifest);
    ferry_buf_free(&onnx);
    ferry_pmml_destroy(&p);
    return 0;
}
