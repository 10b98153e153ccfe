/* fuzz_npy.c -- libFuzzer target: any bytes as a .npy file must parse or fail cleanly,
 * and whatever parses must encode and parse back to the same values */
#include "model/npy.h"

#include <stdint.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    ferry_err_t err;
    ferry_npy_t *a = ferry_npy_parse("fuzz.npy", data, size, &err);
    if (!a)
        return 0;
    ferry_buf_t out = FERRY_BUF_INIT;
    if (ferry_npy_encode(a, &out, &err) != 0)
        __builtin_trap(); /* what we read, we can write */
    ferry_npy_t *b = ferry_npy_parse("again.npy", out.data, out.len, &err);
    if (!b || b->count != a->count || b->dtype != a->dtype)
        __builtin_trap();
    if (a->dtype == FERRY_NPY_STRING) {
        for (uint64_t i = 0; i < a->count; i++)
            if (strcmp(a->strings[i], b->strings[i]))
                __builtin_trap();
    } else if (a->count && memcmp(a->data, b->data, a->count * ferry_npy_itemsize(a->dtype))) {
        __builtin_trap();
    }
    ferry_npy_destroy(&b);
    ferry_npy_destroy(&a);
    ferry_buf_free(&out);
    return 0;
}
