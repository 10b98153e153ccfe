/* fuzz_engine.c -- libFuzzer target: model bytes -> ONNX protobuf -> ferry_engine_new ->
 * run on tiny generated inputs. Every path must return an error or a result: no crash,
 * no sanitizer report, no hang. Built with -DFERRY_FUZZING, which lowers the tensor size
 * limit (model/tensor.h) so hostile shapes are refused instead of exhausting memory. */
#include "model/engine.h"
#include "model/tensor.h"

#include <stdint.h>
#include <string.h>

#define S_MAX_MODEL_BYTES (1u << 20)
#define S_MAX_INPUT_ELEMS 4096
#define S_UNKNOWN_DIM 2

static void s_fill(ferry_tensor_t *t, const uint8_t *data, size_t size)
{
    size_t es = ferry_dtype_size(t->dtype);
    if (t->dtype == FERRY_DT_STRING) {
        for (int64_t i = 0; i < t->count; i++) {
            char s[2] = {(char)('a' + (size ? data[(size_t)i % size] % 4 : 0)), 0};
            ferry_tensor_set_string(t, i, s, 1);
        }
        return;
    }
    uint8_t *p = t->data;
    for (size_t i = 0; i < (size_t)t->count * es; i++)
        p[i] = size ? data[(i * 7) % size] : 0;
    if (t->dtype == FERRY_DT_BOOL)
        for (int64_t i = 0; i < t->count; i++)
            p[i] &= 1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > S_MAX_MODEL_BYTES)
        return 0;
    Onnx__ModelProto *model = onnx__model_proto__unpack(NULL, size, data);
    if (!model)
        return 0;
    ferry_err_t err;
    ferry_engine_t *e = ferry_engine_new(model, NULL, &err);
    if (e) {
        bool is_ok = true;
        const Onnx__GraphProto *g = model->graph;
        for (int i = 0; i < ferry_engine_input_count(e) && is_ok; i++) {
            const char *name = ferry_engine_input_name(e, i);
            int32_t dt = ferry_engine_input_dtype(e, i);
            int64_t dims[FERRY_TENSOR_MAX_DIMS];
            int ndim = 1;
            dims[0] = S_UNKNOWN_DIM;
            for (size_t k = 0; k < g->n_input; k++) { /* declared shape, unknowns -> 2 */
                const Onnx__ValueInfoProto *vi = g->input[k];
                if (!vi || !vi->name || strcmp(vi->name, name) || !vi->type ||
                    vi->type->value_case != ONNX__TYPE_PROTO__VALUE_TENSOR_TYPE || !vi->type->tensor_type ||
                    !vi->type->tensor_type->shape || vi->type->tensor_type->shape->n_dim > FERRY_TENSOR_MAX_DIMS)
                    continue;
                const Onnx__TensorShapeProto *sh = vi->type->tensor_type->shape;
                ndim = (int)sh->n_dim;
                for (int d = 0; d < ndim; d++) {
                    const Onnx__TensorShapeProto__Dimension *dd = sh->dim[d];
                    dims[d] = dd && dd->value_case == ONNX__TENSOR_SHAPE_PROTO__DIMENSION__VALUE_DIM_VALUE &&
                                      dd->dim_value >= 0 && dd->dim_value <= S_MAX_INPUT_ELEMS
                                  ? dd->dim_value
                                  : S_UNKNOWN_DIM;
                }
            }
            int64_t count = 1;
            for (int d = 0; d < ndim && count <= S_MAX_INPUT_ELEMS; d++)
                count *= dims[d];
            ferry_tensor_t *t = ferry_engine_input_tensor(e, i);
            if (count > S_MAX_INPUT_ELEMS ||
                ferry_tensor_reshape(t, dt == FERRY_DT_UNDEFINED ? FERRY_DT_FLOAT : dt, ndim, dims, &err) < 0) {
                is_ok = false;
                break;
            }
            s_fill(t, data, size);
        }
        if (is_ok) {
            ferry_engine_run(e, &err);
            ferry_engine_run(e, &err); /* second run: buffer reuse paths */
        }
        ferry_engine_destroy(&e);
    }
    onnx__model_proto__free_unpacked(model, NULL);
    return 0;
}
