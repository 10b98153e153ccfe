/* cmd_eval.c -- `ferry eval`: run an ONNX model on tensor files with ferry's engine */
#include "cli/command.h"
#include "model/engine.h"
#include "model/tensor.h"
#include "util/buf.h"
#include "util/common.h"
#include "util/file.h"
#include "util/json.h"
#include "util/mem.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_EVAL_MAX_MODEL_BYTES ((size_t)1 << 30)  /* 1 GiB: larger models need external data */
#define S_EVAL_MAX_TENSOR_BYTES ((size_t)1 << 30)
#define S_EVAL_MAX_INPUTS 256

static void s_help(FILE *out)
{
    fprintf(out,
            "usage: ferry eval MODEL.onnx --input [NAME=]FILE.pb ... [-o DIR] [--json] [--ops]\n"
            "\n"
            "Runs MODEL.onnx on the given input tensors with ferry's reference CPU engine.\n"
            "\n"
            "  -i, --input [NAME=]FILE  an input tensor as a serialized ONNX TensorProto (.pb, the\n"
            "                           format of ONNX's test_data_set files). Without NAME= the\n"
            "                           files are matched to the model's inputs in order.\n"
            "  -o, --output-dir DIR     write each output as DIR/<output name>.pb (TensorProto);\n"
            "                           sequence-of-map outputs (ZipMap) are written as .json\n"
            "      --json               print every output as JSON on stdout:\n"
            "                           {\"outputs\": [{\"name\", \"dtype\", \"shape\", \"data\"} ...]};\n"
            "                           ZipMap outputs add \"kind\": \"seq_map\" and \"keys\"\n"
            "      --ops                list the operators the engine implements and exit\n"
            "\n"
            "Exit codes: 0 ok, 2 usage, 3 invalid model or input files (including operators\n"
            "the engine does not implement: the message names them), 4 runtime failure.\n");
}

static void s_json_tensor(ferry_json_t *j, const char *name, const ferry_tensor_t *t)
{
    ferry_json_obj_begin(j);
    ferry_json_key(j, "name");
    ferry_json_str(j, name);
    ferry_json_key(j, "dtype");
    ferry_json_str(j, ferry_dtype_name(t->dtype));
    if (t->kind == FERRY_VALUE_SEQ_MAP) {
        ferry_json_key(j, "kind");
        ferry_json_str(j, "seq_map");
        ferry_json_key(j, "keys");
        ferry_json_arr_begin(j);
        for (int64_t i = 0; t->map_keys && i < t->map_keys->count; i++) {
            if (t->map_keys->dtype == FERRY_DT_STRING)
                ferry_json_str(j, ((char *const *)t->map_keys->data)[i]);
            else
                ferry_json_int(j, ferry_tensor_get_i64(t->map_keys, i));
        }
        ferry_json_arr_end(j);
    }
    ferry_json_key(j, "shape");
    ferry_json_arr_begin(j);
    for (int d = 0; d < t->ndim; d++)
        ferry_json_int(j, t->dims[d]);
    ferry_json_arr_end(j);
    ferry_json_key(j, "data");
    ferry_json_arr_begin(j);
    for (int64_t i = 0; i < t->count; i++) {
        switch (t->dtype) {
        case FERRY_DT_STRING: {
            const char *s = ((char *const *)t->data)[i];
            ferry_json_str(j, s ? s : "");
            break;
        }
        case FERRY_DT_FLOAT: case FERRY_DT_DOUBLE: case FERRY_DT_FLOAT16: {
            double v = ferry_tensor_get_f64(t, i);
            if (v != v) /* JSON has no NaN: strings keep the value visible */
                ferry_json_str(j, "NaN");
            else if (v > 1.7976931348623157e308 || v < -1.7976931348623157e308)
                ferry_json_str(j, v > 0 ? "Infinity" : "-Infinity");
            else
                ferry_json_double(j, v);
            break;
        }
        case FERRY_DT_BOOL: ferry_json_bool(j, ((const uint8_t *)t->data)[i] != 0); break;
        case FERRY_DT_UINT64: ferry_json_uint(j, ((const uint64_t *)t->data)[i]); break;
        default: ferry_json_int(j, ferry_tensor_get_i64(t, i)); break;
        }
    }
    ferry_json_arr_end(j);
    ferry_json_obj_end(j);
}

static bool s_safe_file_name(const char *name)
{
    if (!*name || !strcmp(name, ".") || !strcmp(name, ".."))
        return false;
    for (const char *p = name; *p; p++)
        if (*p == '/' || *p == '\\' || (unsigned char)*p < 0x20)
            return false;
    return true;
}

static int s_eval_run(int argc, char **argv)
{
    const char *model_path = NULL, *out_dir = NULL;
    const char *inputs[S_EVAL_MAX_INPUTS];
    int n_inputs = 0;
    bool want_json = false;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "-i") || !strcmp(a, "--input")) {
            if (++i >= argc)
                return ferry_cli_usage_error("eval", "%s needs a value", a);
            if (n_inputs == S_EVAL_MAX_INPUTS)
                return ferry_cli_usage_error("eval", "more than %d inputs", S_EVAL_MAX_INPUTS);
            inputs[n_inputs++] = argv[i];
        } else if (!strcmp(a, "-o") || !strcmp(a, "--output-dir")) {
            if (++i >= argc)
                return ferry_cli_usage_error("eval", "%s needs a value", a);
            out_dir = argv[i];
        } else if (!strcmp(a, "--json")) {
            want_json = true;
        } else if (!strcmp(a, "--ops")) {
            char *ops = ferry_engine_op_list();
            fputs(ops, stdout);
            free(ops);
            return FERRY_EXIT_OK;
        } else if (a[0] == '-' && a[1]) {
            return ferry_cli_usage_error("eval", "unknown option '%s'", a);
        } else if (!model_path) {
            model_path = a;
        } else {
            return ferry_cli_usage_error("eval", "unexpected argument '%s'", a);
        }
    }
    if (!model_path)
        return ferry_cli_usage_error("eval", "a model file is required");
    if (!out_dir && !want_json)
        want_json = true;

    int rc = FERRY_EXIT_INPUT;
    char *bytes = NULL;
    size_t len = 0;
    Onnx__ModelProto *model = NULL;
    ferry_engine_t *engine = NULL;
    ferry_tensor_t *t = ferry_tensor_new();
    ferry_err_t err = {{0}};
    ferry_buf_t out = FERRY_BUF_INIT;
    int frc = ferry_file_read(model_path, S_EVAL_MAX_MODEL_BYTES, &bytes, &len);
    if (frc < 0) {
        fprintf(stderr, "ferry eval: %s: %s\n", model_path,
                frc == -EFBIG ? "model larger than 1 GiB (external data is not supported)" : strerror(-frc));
        goto done;
    }
    model = onnx__model_proto__unpack(NULL, len, (const uint8_t *)bytes);
    if (!model) {
        fprintf(stderr, "ferry eval: %s: not a valid ONNX model (protobuf parse failed)\n", model_path);
        goto done;
    }
    int code = 0;
    engine = ferry_engine_new(model, &code, &err);
    if (!engine) {
        fprintf(stderr, "ferry eval: %s: %s\n", model_path, err.msg);
        goto done;
    }
    for (int k = 0; k < n_inputs; k++) {
        const char *spec = inputs[k], *eq = strchr(spec, '='), *path = eq ? eq + 1 : spec;
        char *name = eq ? ferry_strndup(spec, (size_t)(eq - spec)) : NULL;
        if (!name) {
            const char *declared = ferry_engine_input_name(engine, k);
            if (!declared) {
                fprintf(stderr, "ferry eval: input file %d (%s) has no matching model input (the model has %d)\n",
                        k + 1, path, ferry_engine_input_count(engine));
                goto done;
            }
            name = ferry_strdup(declared);
        }
        size_t plen = strlen(path);
        if (plen >= 4 && !strcmp(path + plen - 4, ".npy")) {
            fprintf(stderr, "ferry eval: %s: .npy input is not supported yet; give a TensorProto .pb file\n", path);
            free(name);
            goto done;
        }
        char *data = NULL;
        size_t dlen = 0;
        frc = ferry_file_read(path, S_EVAL_MAX_TENSOR_BYTES, &data, &dlen);
        if (frc < 0) {
            fprintf(stderr, "ferry eval: %s: %s\n", path, strerror(-frc));
            free(name);
            goto done;
        }
        int prc = ferry_tensor_from_pb_bytes(t, (const uint8_t *)data, dlen, path, &err);
        free(data);
        if (prc < 0 || ferry_engine_set_input(engine, name, t, &err) < 0) {
            fprintf(stderr, "ferry eval: %s\n", err.msg);
            free(name);
            goto done;
        }
        free(name);
    }
    if (ferry_engine_run(engine, &err) < 0) {
        fprintf(stderr, "ferry eval: %s: %s\n", model_path, err.msg);
        goto done;
    }
    if (out_dir) {
        int mrc = ferry_mkdirs(out_dir);
        if (mrc < 0) {
            fprintf(stderr, "ferry eval: %s: %s\n", out_dir, strerror(-mrc));
            rc = FERRY_EXIT_RUNTIME;
            goto done;
        }
    }
    ferry_json_t j;
    ferry_json_init(&j, &out, false);
    ferry_json_obj_begin(&j);
    ferry_json_key(&j, "outputs");
    ferry_json_arr_begin(&j);
    for (int k = 0; k < ferry_engine_output_count(engine); k++) {
        const char *name = ferry_engine_output_name(engine, k);
        const ferry_tensor_t *o = ferry_engine_output(engine, k);
        if (want_json)
            s_json_tensor(&j, name, o);
        if (!out_dir)
            continue;
        if (!s_safe_file_name(name)) {
            fprintf(stderr, "ferry eval: output name '%s' cannot be used as a file name\n", name);
            goto done;
        }
        uint8_t *pb = NULL;
        size_t pblen = 0;
        char *path;
        int wrc;
        if (o->kind == FERRY_VALUE_SEQ_MAP) {
            ferry_buf_t one = FERRY_BUF_INIT;
            ferry_json_t j1;
            ferry_json_init(&j1, &one, true);
            s_json_tensor(&j1, name, o);
            path = ferry_asprintf("%s/%s.json", out_dir, name);
            wrc = ferry_file_write_atomic(path, one.data, one.len);
            ferry_buf_free(&one);
        } else {
            if (ferry_tensor_to_pb_bytes(o, name, &pb, &pblen, &err) < 0) {
                fprintf(stderr, "ferry eval: %s\n", err.msg);
                goto done;
            }
            path = ferry_asprintf("%s/%s.pb", out_dir, name);
            wrc = ferry_file_write_atomic(path, pb, pblen);
            free(pb);
        }
        if (wrc < 0) {
            fprintf(stderr, "ferry eval: %s: %s\n", path, strerror(-wrc));
            free(path);
            rc = FERRY_EXIT_RUNTIME;
            goto done;
        }
        free(path);
    }
    ferry_json_arr_end(&j);
    ferry_json_obj_end(&j);
    if (want_json)
        printf("%s\n", out.data);
    rc = FERRY_EXIT_OK;
done:
    ferry_buf_free(&out);
    ferry_tensor_destroy(&t);
    ferry_engine_destroy(&engine);
    if (model)
        onnx__model_proto__free_unpacked(model, NULL);
    free(bytes);
    return rc;
}

static int s_eval_main(int argc, char **argv)
{
    if (ferry_cli_wants_help(argc, argv)) {
        s_help(stdout);
        return FERRY_EXIT_OK;
    }
    return s_eval_run(argc, argv);
}

FERRY_COMMAND(eval, "eval", 60, "run an ONNX model on tensor files with ferry's engine", s_eval_main)
