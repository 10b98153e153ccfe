/* fuzz_probe.c -- libFuzzer target: nvidia-smi CSV/XML, /proc/driver/nvidia information
 * and /proc/cpuinfo text from a hostile or broken machine must parse or be skipped */
#include "worker/probe.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *text = (const char *)data;
    ferry_gpu_t *gpus = NULL;
    size_t n = 0;
    ferry_probe_parse_nvsmi_csv(text, size, &gpus, &n);
    ferry_probe_parse_nvsmi_xml(text, size, &gpus, &n);
    ferry_probe_parse_nvidia_information(text, size, "1.0", &gpus, &n);
    ferry_probe_t p = {.gpus = gpus, .n_gpus = n, .arch = strdup(size && data[0] & 1 ? "aarch64" : "x86_64")};
    ferry_probe_parse_cpuinfo(text, size, &p);
    ferry_buf_t out = FERRY_BUF_INIT;
    ferry_json_t j;
    ferry_json_init(&j, &out, false);
    ferry_probe_to_json(&p, &j);
    ferry_buf_free(&out);
    ferry_probe_free(&p);
    return 0;
}
