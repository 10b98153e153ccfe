/* test_convert.c -- unit tests for model/convert (PMML -> ONNX) and model/manifest: converted
 * graphs run in the engine give the values computed here by hand (exact thresholds, missing
 * values, unseen categories), refusals name the construct, hostile manifests are rejected.
 * The three-way proof against the PMML evaluator and ONNX Runtime is
 * tests/oracle/test_convert_sklearn.py. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/convert.h"
#include "model/engine.h"
#include "model/manifest.h"
#include "model/onnx.h"
#include "model/pmml.h"
#include "util/buf.h"
#include "util/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_HEAD "<?xml version=\"1.0\"?><PMML xmlns=\"http://www.dmg.org/PMML-4_4\" version=\"4.4\"><Header/>"

typedef struct {
    ferry_buf_t bytes;
    ferry_onnx_t *onnx;
    ferry_engine_t *engine;
    ferry_manifest_t *man;
    char *manifest;
} s_conv_t;

/* Convert PMML text; returns the converter's code, and on success a running engine. */
static int s_convert(const char *pmml_text, s_conv_t *c, ferry_err_t *err)
{
    memset(c, 0, sizeof *c);
    ferry_pmml_t *p = ferry_pmml_load_mem(pmml_text, strlen(pmml_text), "t.pmml", err);
    assert_non_null(p);
    int rc = ferry_convert_pmml(p, "t.pmml", NULL, &c->bytes, &c->manifest, err);
    ferry_pmml_destroy(&p);
    if (rc)
        return rc;
    assert_int_equal(ferry_onnx_load_buffer(c->bytes.data, c->bytes.len, NULL, "t.onnx", &c->onnx, err), 0);
    int code = 0;
    c->engine = ferry_engine_new(ferry_onnx_proto(c->onnx), &code, err);
    if (!c->engine)
        fail_msg("engine refused the converted model: %s", err->msg);
    c->man = ferry_manifest_parse(c->manifest, strlen(c->manifest), "t.manifest.json", err);
    if (!c->man)
        fail_msg("manifest does not parse: %s", err->msg);
    return 0;
}

static void s_free(s_conv_t *c)
{
    ferry_manifest_destroy(&c->man);
    ferry_engine_destroy(&c->engine);
    ferry_onnx_destroy(&c->onnx);
    ferry_buf_free(&c->bytes);
    free(c->manifest);
}

static void s_set_doubles(s_conv_t *c, const char *name, const double *v, int64_t n)
{
    ferry_tensor_t t;
    ferry_tensor_init(&t);
    ferry_err_t err;
    int64_t dims[] = {n, 1};
    assert_int_equal(ferry_tensor_reshape(&t, FERRY_DT_DOUBLE, 2, dims, &err), 0);
    memcpy(t.data, v, sizeof(double) * (size_t)n);
    if (ferry_engine_set_input(c->engine, name, &t, &err) < 0)
        fail_msg("%s", err.msg);
    ferry_tensor_clear(&t);
}

static void s_set_strings(s_conv_t *c, const char *name, const char *const *v, int64_t n)
{
    ferry_tensor_t t;
    ferry_tensor_init(&t);
    ferry_err_t err;
    int64_t dims[] = {n, 1};
    assert_int_equal(ferry_tensor_reshape(&t, FERRY_DT_STRING, 2, dims, &err), 0);
    for (int64_t i = 0; i < n; i++)
        ferry_tensor_set_string(&t, i, v[i], strlen(v[i]));
    if (ferry_engine_set_input(c->engine, name, &t, &err) < 0)
        fail_msg("%s", err.msg);
    ferry_tensor_clear(&t);
}

static const ferry_tensor_t *s_output(s_conv_t *c, const char *name)
{
    for (int i = 0; i < ferry_engine_output_count(c->engine); i++)
        if (!strcmp(ferry_engine_output_name(c->engine, i), name))
            return ferry_engine_output(c->engine, i);
    fail_msg("no output %s", name);
    return NULL;
}

static void s_run(s_conv_t *c)
{
    ferry_err_t err;
    if (ferry_engine_run(c->engine, &err) < 0)
        fail_msg("%s", err.msg);
}

/* bit-exact equality, NaN equal to NaN */
#define S_ASSERT_SAME(got, want)                                                                        \
    do {                                                                                                \
        double g_ = (got), w_ = (want);                                                                 \
        if (!((isnan(g_) && isnan(w_)) || g_ == w_))                                                    \
            fail_msg("%s: got %.17g, want %.17g", #got, g_, w_);                                        \
    } while (0)

static void test_regression_exact(void **state)
{
    (void)state;
    const char *pmml = S_HEAD
        "<DataDictionary><DataField name=\"x\" optype=\"continuous\" dataType=\"double\"/>"
        "<DataField name=\"z\" optype=\"continuous\" dataType=\"double\"/>"
        "<DataField name=\"y\" optype=\"continuous\" dataType=\"double\"/></DataDictionary>"
        "<RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/>"
        "<MiningField name=\"z\" missingValueReplacement=\"2\"/><MiningField name=\"y\" usageType=\"target\"/>"
        "</MiningSchema><RegressionTable intercept=\"0.1\"><NumericPredictor name=\"x\" coefficient=\"0.7\"/>"
        "<NumericPredictor name=\"z\" coefficient=\"-3\" exponent=\"2\"/></RegressionTable></RegressionModel></PMML>";
    s_conv_t c;
    ferry_err_t err;
    assert_int_equal(s_convert(pmml, &c, &err), 0);
    double x[] = {1.0 / 3, NAN, 5e300, -2};
    double z[] = {0.5, 1, NAN, 3};
    s_set_doubles(&c, "x", x, 4);
    s_set_doubles(&c, "z", z, 4);
    s_run(&c);
    const ferry_tensor_t *v = s_output(&c, "value");
    assert_int_equal(v->count, 4);
    /* the evaluator's order: ((0 + 0.1) + 0.7 * x) + (-3) * pow(z, 2), z missing -> 2 */
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 0), ((0 + 0.1) + 0.7 * x[0]) + -3 * pow(0.5, 2));
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 1), NAN);
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 2), ((0 + 0.1) + 0.7 * x[2]) + -3 * pow(2, 2));
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 3), ((0 + 0.1) + 0.7 * x[3]) + -3 * pow(3, 2));
    assert_int_equal(c.man->n_inputs, 2);
    assert_string_equal(c.man->inputs[0].name, "x");
    assert_false(c.man->inputs[0].is_string);
    assert_int_equal(c.man->n_columns, 1);
    assert_string_equal(c.man->columns[0].name, "y");
    assert_string_equal(c.man->columns[0].tensor, "value");
    s_free(&c);
}

/* A split exactly on its threshold, one ulp either side, missing values under
 * defaultChild, categorical sets and an unseen category with returnInvalid. */
static void test_tree_thresholds_and_missing(void **state)
{
    (void)state;
    const char *pmml = S_HEAD
        "<DataDictionary><DataField name=\"x\" optype=\"continuous\" dataType=\"double\"/>"
        "<DataField name=\"c\" optype=\"categorical\" dataType=\"string\"><Value value=\"u\"/><Value value=\"v\"/>"
        "<Value value=\"w\"/></DataField>"
        "<DataField name=\"y\" optype=\"continuous\" dataType=\"double\"/></DataDictionary>"
        "<TreeModel functionName=\"regression\" missingValueStrategy=\"defaultChild\"><MiningSchema>"
        "<MiningField name=\"x\"/><MiningField name=\"c\"/><MiningField name=\"y\" usageType=\"target\"/>"
        "</MiningSchema><Node score=\"0\" defaultChild=\"R\"><True/>"
        "<Node id=\"L\" score=\"1\"><SimplePredicate field=\"x\" operator=\"lessOrEqual\" value=\"0.1\"/>"
        "<Node score=\"10\"><SimpleSetPredicate field=\"c\" booleanOperator=\"isIn\"><Array type=\"string\">u w"
        "</Array></SimpleSetPredicate></Node><Node score=\"20\"><True/></Node></Node>"
        "<Node id=\"R\" score=\"2\"><SimplePredicate field=\"x\" operator=\"greaterThan\" value=\"0.1\"/></Node>"
        "</Node></TreeModel></PMML>";
    s_conv_t c;
    ferry_err_t err;
    assert_int_equal(s_convert(pmml, &c, &err), 0);
    double t = 0.1; /* the double PMML reads from "0.1"; float32 would round it to 0.100000001 */
    double x[] = {t, nextafter(t, 1), nextafter(t, 0), NAN, (double)(float)0.1, t, -1};
    const char *cs[] = {"u", "u", "u", "u", "v", "", "zz"};
    s_set_doubles(&c, "x", x, 7);
    s_set_strings(&c, "c", cs, 7);
    s_run(&c);
    const ferry_tensor_t *v = s_output(&c, "value"), *ok = s_output(&c, "row_valid");
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 0), 10); /* on the threshold: lessOrEqual */
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 1), 2);  /* one ulp above */
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 2), 10); /* one ulp below */
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 3), 2);  /* missing: defaultChild R */
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 4), 2);  /* (float)0.1 > 0.1 in double */
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 5), 1);  /* missing category: unknown at L, which has no
                                                      defaultChild: L's own score */
    assert_true(ferry_tensor_get_i64(ok, 0) && ferry_tensor_get_i64(ok, 5));
    assert_false(ferry_tensor_get_i64(ok, 6)); /* "zz" is not a valid value of c: returnInvalid */
    S_ASSERT_SAME(ferry_tensor_get_f64(v, 6), NAN);
    s_free(&c);
}

static void s_expect_refusal(const char *pmml, const char *want)
{
    s_conv_t c;
    ferry_err_t err = {{0}};
    int rc = s_convert(pmml, &c, &err);
    assert_int_equal(rc, FERRY_CONVERT_EUNSUPPORTED);
    if (!strstr(err.msg, want))
        fail_msg("refusal \"%s\" does not name \"%s\"", err.msg, want);
    assert_non_null(strstr(err.msg, "has no faithful ONNX form"));
    assert_int_equal(c.bytes.len, 0);
    s_free(&c);
}

static void test_refusals(void **state)
{
    (void)state;
    const char *dd = "<DataDictionary><DataField name=\"x\" optype=\"continuous\" dataType=\"double\"/>"
                     "<DataField name=\"y\" optype=\"continuous\" dataType=\"double\"/></DataDictionary>";
    char buf[4096];
    snprintf(buf, sizeof buf,
             S_HEAD "%s<RegressionModel functionName=\"regression\" normalizationMethod=\"simplemax\"><MiningSchema>"
                    "<MiningField name=\"x\"/><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
                    "<RegressionTable intercept=\"1\"><NumericPredictor name=\"x\" coefficient=\"2\"/>"
                    "</RegressionTable></RegressionModel></PMML>",
             dd);
    s_expect_refusal(buf, "normalizationMethod simplemax");
    snprintf(buf, sizeof buf,
             S_HEAD "%s<TreeModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/>"
                    "<MiningField name=\"y\" usageType=\"target\"/></MiningSchema><Node score=\"1\"><True/>"
                    "<Node score=\"2\"><CompoundPredicate booleanOperator=\"xor\"><SimplePredicate field=\"x\" "
                    "operator=\"lessThan\" value=\"1\"/><True/></CompoundPredicate></Node></Node></TreeModel></PMML>",
             dd);
    s_expect_refusal(buf, "CompoundPredicate xor");
    snprintf(buf, sizeof buf,
             S_HEAD "%s<TransformationDictionary><DerivedField name=\"d\" optype=\"continuous\" dataType=\"double\">"
                    "<Apply function=\"sin\"><FieldRef field=\"x\"/></Apply></DerivedField></TransformationDictionary>"
                    "<RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/>"
                    "<MiningField name=\"y\" usageType=\"target\"/></MiningSchema><RegressionTable intercept=\"1\">"
                    "<NumericPredictor name=\"d\" coefficient=\"2\"/></RegressionTable></RegressionModel></PMML>",
             dd);
    s_expect_refusal(buf, "Apply function");
}

static void test_opset_range(void **state)
{
    (void)state;
    const char *pmml = S_HEAD
        "<DataDictionary><DataField name=\"x\" optype=\"continuous\" dataType=\"double\"/>"
        "<DataField name=\"y\" optype=\"continuous\" dataType=\"double\"/></DataDictionary>"
        "<RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/>"
        "<MiningField name=\"y\" usageType=\"target\"/></MiningSchema><RegressionTable intercept=\"1\"/>"
        "</RegressionModel></PMML>";
    ferry_err_t err;
    ferry_pmml_t *p = ferry_pmml_load_mem(pmml, strlen(pmml), "t.pmml", &err);
    assert_non_null(p);
    ferry_buf_t out = FERRY_BUF_INIT;
    char *man = NULL;
    ferry_convert_opts_t o = {.opset = 9};
    assert_int_equal(ferry_convert_pmml(p, "t.pmml", &o, &out, &man, &err), FERRY_CONVERT_EUNSUPPORTED);
    assert_non_null(strstr(err.msg, "opset"));
    assert_null(man);
    /* an intercept-only model still takes its MiningSchema field (it is validated) */
    o.opset = FERRY_CONVERT_OPSET_MIN;
    assert_int_equal(ferry_convert_pmml(p, "t.pmml", &o, &out, &man, &err), 0);
    assert_non_null(strstr(man, "\"name\": \"x\""));
    free(man);
    ferry_buf_free(&out);
    ferry_pmml_destroy(&p);
    char *mp = ferry_convert_manifest_path("dir/model.onnx");
    assert_string_equal(mp, "dir/model.manifest.json");
    free(mp);
    mp = ferry_convert_manifest_path("model");
    assert_string_equal(mp, "model.manifest.json");
    free(mp);
}

static void s_manifest_bad(const char *json, const char *want)
{
    ferry_err_t err = {{0}};
    ferry_manifest_t *m = ferry_manifest_parse(json, strlen(json), "m.json", &err);
    if (m) {
        ferry_manifest_destroy(&m);
        fail_msg("manifest %s was accepted", json);
    }
    if (!strstr(err.msg, want))
        fail_msg("error \"%s\" does not say \"%s\"", err.msg, want);
}

static void test_manifest_hostile(void **state)
{
    (void)state;
    const char *good = "{\"format\":\"ferry-signature-manifest\",\"inputs\":[{\"name\":\"a\\u00e9\",\"tensor\":\"a\","
                       "\"dtype\":\"string\"}],\"outputs\":[{\"tensor\":\"row_valid\"}],\"columns\":[{\"name\":\"p\","
                       "\"tensor\":\"probabilities\",\"index\":2,\"format\":\"number\"}],\"extra\":[1,2.5e3,true,null]}";
    ferry_err_t err;
    ferry_manifest_t *m = ferry_manifest_parse(good, strlen(good), "m.json", &err);
    assert_non_null(m);
    assert_string_equal(m->inputs[0].name, "a\xc3\xa9");
    assert_true(m->inputs[0].is_string);
    assert_int_equal(m->columns[0].index, 2);
    assert_true(m->has_row_valid);
    ferry_manifest_destroy(&m);
    ferry_manifest_destroy(&m); /* safe twice */
    s_manifest_bad("{\"format\":\"other\",\"inputs\":[],\"columns\":[]}", "format");
    s_manifest_bad("{\"format\":\"ferry-signature-manifest\",\"inputs\":{},\"columns\":[]}", "arrays");
    s_manifest_bad("{\"format\":\"ferry-signature-manifest\",\"inputs\":[],\"columns\":[{\"name\":\"p\","
                   "\"tensor\":\"t\",\"index\":-1,\"format\":\"number\"}]}",
                   "index");
    s_manifest_bad("{\"format\":\"ferry-signature-manifest\",\"inputs\":[{\"name\":\"a\",\"tensor\":\"a\","
                   "\"dtype\":\"float16\"}],\"columns\":[]}",
                   "dtype");
    s_manifest_bad("{\"format\":\"ferry-signature-manifest\"", "expected");
    s_manifest_bad("{\"a\":\"\\ud800\\x\"}", "escape");
    s_manifest_bad("{\"a\":\"\\u0000\"}", "NUL");
    s_manifest_bad("[1, 2,]", "value");
    s_manifest_bad("{} trailing", "end of the manifest");
    char deep[200];
    memset(deep, '[', sizeof deep - 1);
    deep[sizeof deep - 1] = 0;
    s_manifest_bad(deep, "nesting");
    /* every truncation of the good manifest is refused without a crash */
    for (size_t n = 0; n < strlen(good); n++) {
        m = ferry_manifest_parse(good, n, "m.json", &err);
        assert_null(m);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_regression_exact),
        cmocka_unit_test(test_tree_thresholds_and_missing),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_opset_range),
        cmocka_unit_test(test_manifest_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
