/* test_pmml.c -- unit tests for model/pmml*: hand-written PMML with expected values
 * worked out here, for what scikit-learn cannot produce (missing-value strategies,
 * segmentation methods, normalisations, built-in functions, MiningSchema treatments),
 * plus hostile documents. Section numbers refer to the PMML 4.4 specification. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include "model/pmml.h"
#include "util/buf.h"
#include "util/mem.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define S_MAX_OUT 32

/* assertions that print both values */
#define S_NEAR(actual, expected)                                                                        \
    do {                                                                                                \
        double a_ = (actual), e_ = (expected);                                                          \
        if (!(fabs(a_ - e_) <= 1e-12 * fmax(1.0, fabs(e_))))                                             \
            fail_msg("%s:%d: got %.17g, expected %.17g", __FILE__, __LINE__, a_, e_);                   \
    } while (0)

typedef struct {
    int rc;
    ferry_pmml_value_t v[S_MAX_OUT];
    int32_t n;
    ferry_err_t err;
} s_result_t;

static const char *s_head =
    "<PMML xmlns=\"http://www.dmg.org/PMML-4_4\" version=\"4.4\"><Header/>"
    "<DataDictionary>"
    "<DataField name=\"x\" optype=\"continuous\" dataType=\"double\"/>"
    "<DataField name=\"z\" optype=\"continuous\" dataType=\"double\"/>"
    "<DataField name=\"c\" optype=\"categorical\" dataType=\"string\"><Value value=\"a\"/><Value value=\"b\"/><Value value=\"q\"/></DataField>"
    "<DataField name=\"y\" optype=\"continuous\" dataType=\"double\"/>"
    "<DataField name=\"k\" optype=\"categorical\" dataType=\"string\"><Value value=\"no\"/><Value value=\"yes\"/></DataField>"
    "</DataDictionary>";

static ferry_pmml_t *s_load(const char *model, ferry_err_t *err)
{
    char *doc = ferry_asprintf("%s%s</PMML>", s_head, model);
    ferry_pmml_t *p = ferry_pmml_load_mem(doc, strlen(doc), "test.pmml", err);
    free(doc);
    return p;
}

static ferry_pmml_t *s_must_load(const char *model)
{
    ferry_err_t err = {{0}};
    ferry_pmml_t *p = s_load(model, &err);
    if (!p)
        fail_msg("load failed: %s", err.msg);
    return p;
}

/* inputs: "x=1.5 c=a" (a field left out is missing) */
static s_result_t s_eval(ferry_pmml_t *p, const char *inputs)
{
    s_result_t r = {0};
    ferry_pmml_ctx_t *ctx = ferry_pmml_ctx_new(p);
    ferry_pmml_ctx_clear(ctx);
    char *copy = ferry_strdup(inputs);
    for (char *tok = strtok(copy, " "); tok; tok = strtok(NULL, " ")) {
        char *eq = strchr(tok, '=');
        assert_non_null(eq);
        *eq = '\0';
        int32_t slot = ferry_pmml_data_field(p, tok);
        assert_true(slot >= 0);
        ferry_pmml_ctx_set_str(ctx, slot, eq + 1, strlen(eq + 1));
    }
    free(copy);
    r.n = p->n_columns;
    r.rc = ferry_pmml_eval_row(ctx, r.v, &r.err);
    /* keep strings valid after the context is gone: they are model symbols here */
    for (int32_t i = 0; i < r.n; i++)
        if (r.v[i].kind == FERRY_PMML_STR && r.v[i].sym < 0)
            r.v[i].str = "(transient)";
    ferry_pmml_ctx_destroy(&ctx);
    return r;
}

static int32_t s_col(const ferry_pmml_t *p, const char *name)
{
    for (int32_t i = 0; i < p->n_columns; i++)
        if (!strcmp(p->columns[i].name, name))
            return i;
    fail_msg("no column %s", name);
    return -1;
}

static double s_num(ferry_pmml_t *p, const char *inputs, const char *col)
{
    s_result_t r = s_eval(p, inputs);
    if (r.rc != 0)
        fail_msg("evaluation failed for '%s': %s", inputs, r.err.msg);
    ferry_pmml_value_t v = r.v[s_col(p, col)];
    if (v.kind != FERRY_PMML_NUM)
        fail_msg("'%s' column %s: not a number (kind %d)", inputs, col, v.kind);
    return v.num;
}

static bool s_is_missing(ferry_pmml_t *p, const char *inputs, const char *col)
{
    s_result_t r = s_eval(p, inputs);
    assert_int_equal(r.rc, 0);
    return r.v[s_col(p, col)].kind == FERRY_PMML_MISSING;
}

static void s_str_eq(ferry_pmml_t *p, const char *inputs, const char *col, const char *expected)
{
    s_result_t r = s_eval(p, inputs);
    if (r.rc != 0)
        fail_msg("evaluation failed for '%s': %s", inputs, r.err.msg);
    ferry_pmml_value_t v = r.v[s_col(p, col)];
    if (v.kind != FERRY_PMML_STR || strcmp(v.str, expected))
        fail_msg("'%s' column %s: got %s, expected %s", inputs, col, v.kind == FERRY_PMML_STR ? v.str : "(not text)",
                 expected);
}

/* ---- TreeModel (section "TreeModel": missingValueStrategy, noTrueChildStrategy) -------------- */
static const char *s_tree_fmt =
    "<TreeModel functionName=\"regression\" missingValueStrategy=\"%s\" noTrueChildStrategy=\"%s\">"
    "<MiningSchema><MiningField name=\"x\"/><MiningField name=\"z\"/><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
    "<Node id=\"root\" score=\"1\" defaultChild=\"R\"><True/>"
    "  <Node id=\"L\" score=\"2\"><SimplePredicate field=\"x\" operator=\"lessThan\" value=\"0\"/>"
    "    <Node id=\"LL\" score=\"3\"><SimplePredicate field=\"z\" operator=\"lessOrEqual\" value=\"5\"/></Node>"
    "  </Node>"
    "  <Node id=\"R\" score=\"4\"><SimplePredicate field=\"x\" operator=\"greaterThan\" value=\"10\"/></Node>"
    "</Node></TreeModel>";

static ferry_pmml_t *s_tree(const char *mvs, const char *ntc)
{
    char *m = ferry_asprintf(s_tree_fmt, mvs, ntc);
    ferry_pmml_t *p = s_must_load(m);
    free(m);
    return p;
}

static void test_tree_missing_value_strategies(void **state)
{
    /* none: comparisons with a missing value are FALSE; x missing -> no child true ->
     * noTrueChildStrategy returnLastPrediction gives the root's 1 */
    ferry_pmml_t *p = s_tree("none", "returnLastPrediction");
    S_NEAR(s_num(p, "z=1", "y"), 1);
    S_NEAR(s_num(p, "x=-1 z=1", "y"), 3);
    S_NEAR(s_num(p, "x=-1 z=9", "y"), 2);      /* L has no true child: last prediction */
    S_NEAR(s_num(p, "x=-1", "y"), 2);          /* z missing under "none": FALSE -> L */
    S_NEAR(s_num(p, "x=11", "y"), 4);
    ferry_pmml_destroy(&p);
    /* returnNullPrediction: no true child -> no prediction */
    p = s_tree("none", "returnNullPrediction");
    assert_true(s_is_missing(p, "x=5", "y"));
    assert_true(s_is_missing(p, "x=-1 z=9", "y"));
    S_NEAR(s_num(p, "x=-1 z=1", "y"), 3);
    ferry_pmml_destroy(&p);
    /* lastPrediction: a predicate on a missing value stops at the current node */
    p = s_tree("lastPrediction", "returnNullPrediction");
    S_NEAR(s_num(p, "z=1", "y"), 1);
    S_NEAR(s_num(p, "x=-1", "y"), 2);
    ferry_pmml_destroy(&p);
    /* nullPrediction: a predicate on a missing value gives no prediction */
    p = s_tree("nullPrediction", "returnLastPrediction");
    assert_true(s_is_missing(p, "z=1", "y"));
    assert_true(s_is_missing(p, "x=-1", "y"));
    S_NEAR(s_num(p, "x=-1 z=0", "y"), 3);
    ferry_pmml_destroy(&p);
    /* defaultChild: x missing at the root follows defaultChild R (score 4); L has no
     * defaultChild, so a missing z there ends at L (2) */
    p = s_tree("defaultChild", "returnNullPrediction");
    S_NEAR(s_num(p, "z=1", "y"), 4);
    S_NEAR(s_num(p, "x=-1", "y"), 2);
    ferry_pmml_destroy(&p);
}

static void test_tree_predicates_and_distribution(void **state)
{
    /* multiway split with SimpleSetPredicate, surrogate, ScoreDistribution probabilities */
    ferry_pmml_t *p = s_must_load(
        "<TreeModel functionName=\"classification\" missingValueStrategy=\"none\" noTrueChildStrategy=\"returnLastPrediction\">"
        "<MiningSchema><MiningField name=\"x\"/><MiningField name=\"z\"/><MiningField name=\"c\"/><MiningField name=\"k\" usageType=\"target\"/></MiningSchema>"
        "<Output><OutputField name=\"p_yes\" feature=\"probability\" value=\"yes\"/><OutputField name=\"node\" feature=\"entityId\"/></Output>"
        "<Node id=\"0\" score=\"no\"><True/>"
        "<ScoreDistribution value=\"no\" recordCount=\"6\"/><ScoreDistribution value=\"yes\" recordCount=\"4\"/>"
        "<Node id=\"1\" score=\"yes\"><SimpleSetPredicate field=\"c\" booleanOperator=\"isIn\"><Array type=\"string\">a \"q\"</Array></SimpleSetPredicate>"
        "<ScoreDistribution value=\"no\" recordCount=\"1\"/><ScoreDistribution value=\"yes\" recordCount=\"3\"/></Node>"
        "<Node id=\"2\" score=\"no\"><CompoundPredicate booleanOperator=\"surrogate\">"
        "<SimplePredicate field=\"x\" operator=\"greaterOrEqual\" value=\"2\"/><SimplePredicate field=\"z\" operator=\"equal\" value=\"7\"/><False/></CompoundPredicate>"
        "<ScoreDistribution value=\"no\" recordCount=\"5\"/><ScoreDistribution value=\"yes\" recordCount=\"0\"/></Node>"
        "<Node id=\"3\" score=\"yes\"><CompoundPredicate booleanOperator=\"and\"><True/><SimplePredicate field=\"x\" operator=\"notEqual\" value=\"1\"/></CompoundPredicate></Node>"
        "</Node></TreeModel>");
    s_str_eq(p, "c=q", "k", "yes");
    S_NEAR(s_num(p, "c=q", "p_yes"), 0.75); /* 3 / (1 + 3) */
    s_str_eq(p, "c=q", "node", "1");
    s_str_eq(p, "c=b x=3", "k", "no");
    S_NEAR(s_num(p, "c=b x=3", "p_yes"), 0);
    /* surrogate: x missing -> second predicate z == 7 decides */
    s_str_eq(p, "c=b z=7", "node", "2");
    /* x missing, z != 7: surrogate FALSE; node 3: (True and x != 1) is UNKNOWN -> FALSE
     * under "none"; no child true -> the root (6/10 no) */
    s_str_eq(p, "c=b z=1", "node", "0");
    S_NEAR(s_num(p, "c=b z=1", "p_yes"), 0.4);
    s_str_eq(p, "c=b x=0", "node", "3");
    ferry_pmml_destroy(&p);
}

/* ---- MiningModel (section "Segmentation": multipleModelMethod) ---------------------------------- */
static const char *s_const_tree = "<Segment weight=\"%g\">%s<TreeModel functionName=\"regression\"><MiningSchema>"
                                  "<MiningField name=\"x\"/></MiningSchema><Node score=\"%g\"><True/></Node></TreeModel></Segment>";

static ferry_pmml_t *s_ensemble(const char *method)
{
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_buf_printf(&b, "<MiningModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/>"
                         "<MiningField name=\"y\" usageType=\"target\"/></MiningSchema><Segmentation multipleModelMethod=\"%s\">",
                     method);
    /* values 1, 2, 10 with weights 1, 2, 1; the third only when x > 0 */
    ferry_buf_printf(&b, s_const_tree, 1.0, "<True/>", 1.0);
    ferry_buf_printf(&b, s_const_tree, 2.0, "<True/>", 2.0);
    ferry_buf_printf(&b, s_const_tree, 1.0, "<SimplePredicate field=\"x\" operator=\"greaterThan\" value=\"0\"/>", 10.0);
    ferry_buf_puts(&b, "</Segmentation></MiningModel>");
    ferry_pmml_t *p = s_must_load(b.data);
    ferry_buf_free(&b);
    return p;
}

static void test_segmentation_regression_methods(void **state)
{
    static const struct {
        const char *method;
        double all, two; /* x=1: segments 1,2,10; x=-1: segments 1,2 */
    } cases[] = {
        {"average", 13.0 / 3, 1.5},
        {"weightedAverage", (1 + 4 + 10) / 4.0, (1 + 4) / 3.0},
        {"median", 2, 1.5},
        {"weightedMedian", 2, 2}, /* cumulative weight reaches half at value 2 */
        {"sum", 13, 3},
        {"weightedSum", 15, 5},
        {"max", 10, 2},
        {"selectFirst", 1, 1},
        {"modelChain", 10, 2}, /* the last segment whose predicate is true */
    };
    for (size_t i = 0; i < FERRY_ARRAY_LEN(cases); i++) {
        ferry_pmml_t *p = s_ensemble(cases[i].method);
        S_NEAR(s_num(p, "x=1", "y"), cases[i].all);
        S_NEAR(s_num(p, "x=-1", "y"), cases[i].two);
        ferry_pmml_destroy(&p);
    }
}

static void test_segmentation_votes_and_chain_outputs(void **state)
{
    /* majorityVote / weightedMajorityVote: probability = vote share */
    const char *seg = "<Segment weight=\"%d\"><True/><TreeModel functionName=\"classification\"><MiningSchema>"
                      "<MiningField name=\"x\"/><MiningField name=\"k\" usageType=\"target\"/></MiningSchema>"
                      "<Node score=\"%s\"><True/></Node></TreeModel></Segment>";
    for (int weighted = 0; weighted < 2; weighted++) {
        ferry_buf_t b = FERRY_BUF_INIT;
        ferry_buf_printf(&b, "<MiningModel functionName=\"classification\"><MiningSchema><MiningField name=\"x\"/>"
                             "<MiningField name=\"k\" usageType=\"target\"/></MiningSchema>"
                             "<Output><OutputField name=\"p_yes\" feature=\"probability\" value=\"yes\"/></Output>"
                             "<Segmentation multipleModelMethod=\"%s\">",
                         weighted ? "weightedMajorityVote" : "majorityVote");
        ferry_buf_printf(&b, seg, 1, "yes");
        ferry_buf_printf(&b, seg, 1, "yes");
        ferry_buf_printf(&b, seg, 5, "no");
        ferry_buf_puts(&b, "</Segmentation></MiningModel>");
        ferry_pmml_t *p = s_must_load(b.data);
        ferry_buf_free(&b);
        /* votes yes 2 : no 1 -> yes, 2/3; weighted yes 2 : no 5 -> no, 2/7 */
        s_str_eq(p, "x=0", "k", weighted ? "no" : "yes");
        S_NEAR(s_num(p, "x=0", "p_yes"), weighted ? 2.0 / 7 : 2.0 / 3);
        ferry_pmml_destroy(&p);
    }
    /* modelChain: the first segment's output feeds the second (section "Model chain") */
    ferry_pmml_t *p = s_must_load(
        "<MiningModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
        "<Segmentation multipleModelMethod=\"modelChain\">"
        "<Segment><True/><RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/></MiningSchema>"
        "<Output><OutputField name=\"twice\" feature=\"predictedValue\"/></Output>"
        "<RegressionTable intercept=\"0\"><NumericPredictor name=\"x\" coefficient=\"2\"/></RegressionTable></RegressionModel></Segment>"
        "<Segment><True/><RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"twice\"/></MiningSchema>"
        "<RegressionTable intercept=\"1\"><NumericPredictor name=\"twice\" exponent=\"2\" coefficient=\"1\"/></RegressionTable></RegressionModel></Segment>"
        "</Segmentation></MiningModel>");
    S_NEAR(s_num(p, "x=3", "y"), 37); /* (2*3)^2 + 1 */
    assert_true(s_is_missing(p, "z=1", "y"));
    ferry_pmml_destroy(&p);
}

/* ---- RegressionModel normalisations (section "RegressionModel") ------------------------------ */
static void test_regression_normalizations(void **state)
{
    double y = 0.3; /* intercept 0.1 + 0.1 * x with x = 2 */
    static const char *names[] = {"none", "logit", "exp", "probit", "cloglog", "loglog", "cauchit"};
    double expected[] = {y, 1 / (1 + exp(-y)), exp(y), 0.5 * erfc(-y / sqrt(2)), 1 - exp(-exp(y)), exp(-exp(-y)),
                         0.5 + atan(y) / M_PI};
    for (size_t i = 0; i < FERRY_ARRAY_LEN(names); i++) {
        char *m = ferry_asprintf("<RegressionModel functionName=\"regression\" normalizationMethod=\"%s\"><MiningSchema>"
                                 "<MiningField name=\"x\"/><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
                                 "<RegressionTable intercept=\"0.1\"><NumericPredictor name=\"x\" coefficient=\"0.1\"/></RegressionTable>"
                                 "</RegressionModel>",
                                 names[i]);
        ferry_pmml_t *p = s_must_load(m);
        free(m);
        S_NEAR(s_num(p, "x=2", "y"), expected[i]);
        assert_true(s_is_missing(p, "z=2", "y")); /* a missing predictor: no prediction */
        ferry_pmml_destroy(&p);
    }
    /* classification: softmax over three tables, simplemax, binary logit */
    const char *cls = "<RegressionModel functionName=\"classification\" normalizationMethod=\"%s\"><MiningSchema>"
                      "<MiningField name=\"x\"/><MiningField name=\"c\" usageType=\"target\"/></MiningSchema>"
                      "<Output><OutputField name=\"pa\" feature=\"probability\" value=\"a\"/>"
                      "<OutputField name=\"pb\" feature=\"probability\" value=\"b\"/></Output>"
                      "<RegressionTable intercept=\"1\" targetCategory=\"a\"/>"
                      "<RegressionTable intercept=\"0\" targetCategory=\"b\"><NumericPredictor name=\"x\" coefficient=\"1\"/></RegressionTable>"
                      "%s</RegressionModel>";
    char *m = ferry_asprintf(cls, "softmax", "<RegressionTable intercept=\"3\" targetCategory=\"q\"/>");
    ferry_pmml_t *p = s_must_load(m);
    free(m);
    double d = exp(1) + exp(2) + exp(3); /* x = 2 */
    S_NEAR(s_num(p, "x=2", "pa"), exp(1) / d);
    S_NEAR(s_num(p, "x=2", "pb"), exp(2) / d);
    s_str_eq(p, "x=2", "c", "q");
    ferry_pmml_destroy(&p);
    m = ferry_asprintf(cls, "simplemax", "<RegressionTable intercept=\"3\" targetCategory=\"q\"/>");
    p = s_must_load(m);
    free(m);
    S_NEAR(s_num(p, "x=2", "pa"), 1.0 / 6);
    ferry_pmml_destroy(&p);
    m = ferry_asprintf(cls, "logit", "");
    p = s_must_load(m);
    free(m);
    S_NEAR(s_num(p, "x=2", "pa"), 1 / (1 + exp(-1.0))); /* binary: p(b) = 1 - p(a) */
    S_NEAR(s_num(p, "x=2", "pb"), 1 - 1 / (1 + exp(-1.0)));
    ferry_pmml_destroy(&p);
}

/* ---- transformations and built-in functions (sections "Transformations", "Functions") ------- */
static ferry_pmml_t *s_expr_model(const char *expr, const char *dtype)
{
    char *m = ferry_asprintf("<RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/>"
                             "<MiningField name=\"z\"/><MiningField name=\"c\"/><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
                             "<Output><OutputField name=\"out\" dataType=\"%s\" feature=\"transformedValue\">%s</OutputField></Output>"
                             "<RegressionTable intercept=\"0\"/></RegressionModel>",
                             dtype, expr);
    ferry_pmml_t *p = s_must_load(m);
    free(m);
    return p;
}

static double s_expr_num(const char *expr, const char *inputs)
{
    ferry_pmml_t *p = s_expr_model(expr, "double");
    double v = s_num(p, inputs, "out");
    ferry_pmml_destroy(&p);
    return v;
}

#define S_APPLY2(fn, a, b) "<Apply function=\"" fn "\">" a b "</Apply>"
#define S_X "<FieldRef field=\"x\"/>"
#define S_Z "<FieldRef field=\"z\"/>"
#define S_C(v) "<Constant>" v "</Constant>"

static void test_builtin_functions(void **state)
{
    /* arithmetic, math (section "Built-in functions") with x = 2.5, z = -4 */
    const char *in = "x=2.5 z=-4";
    S_NEAR(s_expr_num(S_APPLY2("+", S_X, S_Z), in), -1.5);
    S_NEAR(s_expr_num(S_APPLY2("-", S_X, S_Z), in), 6.5);
    S_NEAR(s_expr_num(S_APPLY2("*", S_X, S_Z), in), -10);
    S_NEAR(s_expr_num(S_APPLY2("/", S_X, S_Z), in), -0.625);
    S_NEAR(s_expr_num(S_APPLY2("pow", S_X, S_C("2")), in), 6.25);
    S_NEAR(s_expr_num(S_APPLY2("modulo", S_Z, S_C("3")), in), 2); /* -4 - 3 * floor(-4/3) */
    S_NEAR(s_expr_num(S_APPLY2("threshold", S_X, S_C("2")), in), 1);
    S_NEAR(s_expr_num("<Apply function=\"min\">" S_X S_Z S_C("7") "</Apply>", in), -4);
    S_NEAR(s_expr_num("<Apply function=\"max\">" S_X S_Z S_C("7") "</Apply>", in), 7);
    S_NEAR(s_expr_num("<Apply function=\"sum\">" S_X S_Z S_C("7") "</Apply>", in), 5.5);
    S_NEAR(s_expr_num("<Apply function=\"avg\">" S_X S_Z S_C("7") "</Apply>", in), 5.5 / 3);
    S_NEAR(s_expr_num("<Apply function=\"median\">" S_X S_Z S_C("7") "</Apply>", in), 2.5);
    S_NEAR(s_expr_num("<Apply function=\"product\">" S_X S_Z "</Apply>", in), -10);
    S_NEAR(s_expr_num("<Apply function=\"abs\">" S_Z "</Apply>", in), 4);
    S_NEAR(s_expr_num("<Apply function=\"exp\">" S_X "</Apply>", in), exp(2.5));
    S_NEAR(s_expr_num("<Apply function=\"ln\">" S_X "</Apply>", in), log(2.5));
    S_NEAR(s_expr_num("<Apply function=\"log10\">" S_X "</Apply>", in), log10(2.5));
    S_NEAR(s_expr_num("<Apply function=\"sqrt\">" S_X "</Apply>", in), sqrt(2.5));
    S_NEAR(s_expr_num("<Apply function=\"floor\">" S_X "</Apply>", in), 2);
    S_NEAR(s_expr_num("<Apply function=\"ceil\">" S_X "</Apply>", in), 3);
    S_NEAR(s_expr_num("<Apply function=\"round\">" S_X "</Apply>", in), 3);
    S_NEAR(s_expr_num("<Apply function=\"round\">" S_C("-2.5") "</Apply>", in), -2); /* floor(x + 0.5) */
    S_NEAR(s_expr_num("<Apply function=\"rint\">" S_X "</Apply>", in), 2);          /* half to even */
    S_NEAR(s_expr_num("<Apply function=\"expm1\">" S_C("1e-10") "</Apply>", in), expm1(1e-10));
    S_NEAR(s_expr_num("<Apply function=\"ln1p\">" S_C("1e-10") "</Apply>", in), log1p(1e-10));
    S_NEAR(s_expr_num("<Apply function=\"stdNormalCDF\">" S_C("1.5") "</Apply>", in), 0.93319279873114191);
    S_NEAR(s_expr_num("<Apply function=\"stdNormalIDF\">" S_C("0.93319279873114191") "</Apply>", in), 1.5);
    S_NEAR(s_expr_num("<Apply function=\"stdNormalPDF\">" S_C("0") "</Apply>", in), 1 / sqrt(2 * M_PI));
    S_NEAR(s_expr_num("<Apply function=\"erf\">" S_C("0.5") "</Apply>", in), erf(0.5));
    S_NEAR(s_expr_num("<Apply function=\"tanh\">" S_X "</Apply>", in), tanh(2.5));
    S_NEAR(s_expr_num(S_APPLY2("hypot", S_C("3"), S_C("4")), in), 5);
    /* comparison and boolean functions give 1/0 */
    S_NEAR(s_expr_num(S_APPLY2("greaterThan", S_X, S_Z), in), 1);
    S_NEAR(s_expr_num(S_APPLY2("lessOrEqual", S_X, S_Z), in), 0);
    S_NEAR(s_expr_num(S_APPLY2("equal", S_X, S_C("2.5")), in), 1);
    S_NEAR(s_expr_num(S_APPLY2("notEqual", S_X, S_C("2.5")), in), 0);
    S_NEAR(s_expr_num("<Apply function=\"and\">" S_APPLY2("greaterThan", S_X, S_Z) S_C("0") "</Apply>", in), 0);
    S_NEAR(s_expr_num("<Apply function=\"or\">" S_APPLY2("greaterThan", S_X, S_Z) S_C("0") "</Apply>", in), 1);
    S_NEAR(s_expr_num("<Apply function=\"not\">" S_C("0") "</Apply>", in), 1);
    S_NEAR(s_expr_num("<Apply function=\"isIn\">" S_X S_C("1") S_C("2.5") "</Apply>", in), 1);
    S_NEAR(s_expr_num("<Apply function=\"isNotIn\">" S_X S_C("1") S_C("2.5") "</Apply>", in), 0);
    S_NEAR(s_expr_num("<Apply function=\"if\">" S_APPLY2("lessThan", S_X, S_Z) S_C("10") S_C("20") "</Apply>", in), 20);
    S_NEAR(s_expr_num("<Apply function=\"isMissing\">" S_Z "</Apply>", "x=1"), 1);
    S_NEAR(s_expr_num("<Apply function=\"isNotMissing\">" S_Z "</Apply>", "x=1"), 0);
    /* mapMissingTo / defaultValue of Apply */
    S_NEAR(s_expr_num("<Apply function=\"+\" mapMissingTo=\"-1\">" S_X S_Z "</Apply>", "x=1"), -1);
    /* string functions (their text is checked in test_string_function_values) */
    S_NEAR(s_expr_num("<Apply function=\"stringLength\"><Constant dataType=\"string\">hello</Constant></Apply>", in), 5);
    S_NEAR(s_expr_num("<Apply function=\"matches\"><Constant dataType=\"string\">ab12</Constant><Constant dataType=\"string\">[0-9]+$</Constant></Apply>", in), 1);
}

static void test_string_function_values(void **state)
{
    /* check the text itself through a string-valued DerivedField compared in a tree */
    ferry_pmml_t *p = s_must_load(
        "<TreeModel functionName=\"regression\" noTrueChildStrategy=\"returnLastPrediction\"><MiningSchema><MiningField name=\"c\"/>"
        "<MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
        "<LocalTransformations><DerivedField name=\"s\" optype=\"categorical\" dataType=\"string\">"
        "<Apply function=\"concat\"><Apply function=\"uppercase\"><FieldRef field=\"c\"/></Apply><Constant dataType=\"string\">-</Constant>"
        "<Apply function=\"substring\"><Constant dataType=\"string\">abcdef</Constant><Constant>2</Constant><Constant>3</Constant></Apply>"
        "<Apply function=\"replace\"><Constant dataType=\"string\">a1b22</Constant><Constant dataType=\"string\">[0-9]+</Constant><Constant dataType=\"string\">#</Constant></Apply>"
        "<Apply function=\"formatNumber\"><Constant>3.14159</Constant><Constant dataType=\"string\">%.2f</Constant></Apply>"
        "</Apply></DerivedField></LocalTransformations>"
        "<Node score=\"0\"><True/><Node score=\"1\"><SimplePredicate field=\"s\" operator=\"equal\" value=\"A-bcda#b#3.14\"/></Node></Node></TreeModel>");
    S_NEAR(s_num(p, "c=a", "y"), 1);
    S_NEAR(s_num(p, "c=b", "y"), 0);
    ferry_pmml_destroy(&p);
}

static void test_transformations(void **state)
{
    /* NormContinuous: piecewise linear, outliers asExtremeValues, mapMissingTo */
    const char *nc = "<NormContinuous field=\"x\" outliers=\"asExtremeValues\" mapMissingTo=\"-9\"><LinearNorm orig=\"0\" norm=\"0\"/>"
                     "<LinearNorm orig=\"10\" norm=\"1\"/><LinearNorm orig=\"20\" norm=\"3\"/></NormContinuous>";
    S_NEAR(s_expr_num(nc, "x=5"), 0.5);
    S_NEAR(s_expr_num(nc, "x=15"), 2);
    S_NEAR(s_expr_num(nc, "x=25"), 3);
    S_NEAR(s_expr_num(nc, "z=1"), -9);
    const char *nca = "<NormContinuous field=\"x\"><LinearNorm orig=\"0\" norm=\"0\"/><LinearNorm orig=\"10\" norm=\"1\"/></NormContinuous>";
    S_NEAR(s_expr_num(nca, "x=-10"), -1); /* asIs extrapolates */
    S_NEAR(s_expr_num("<NormDiscrete field=\"c\" value=\"b\"/>", "c=b"), 1);
    S_NEAR(s_expr_num("<NormDiscrete field=\"c\" value=\"b\"/>", "c=a"), 0);
    const char *disc = "<Discretize field=\"x\" defaultValue=\"-1\" mapMissingTo=\"-2\" dataType=\"double\">"
                       "<DiscretizeBin binValue=\"1\"><Interval closure=\"openClosed\" rightMargin=\"0\"/></DiscretizeBin>"
                       "<DiscretizeBin binValue=\"2\"><Interval closure=\"openOpen\" leftMargin=\"0\" rightMargin=\"5\"/></DiscretizeBin></Discretize>";
    S_NEAR(s_expr_num(disc, "x=0"), 1);
    S_NEAR(s_expr_num(disc, "x=4.9"), 2);
    S_NEAR(s_expr_num(disc, "x=5"), -1);
    S_NEAR(s_expr_num(disc, "z=5"), -2);
    const char *mv = "<MapValues outputColumn=\"out\" defaultValue=\"0\" dataType=\"double\"><FieldColumnPair field=\"c\" column=\"in\"/>"
                     "<InlineTable><row><in>a</in><out>10</out></row><row><in>b</in><out>20</out></row></InlineTable></MapValues>";
    S_NEAR(s_expr_num(mv, "c=b"), 20);
    S_NEAR(s_expr_num(mv, "c=q"), 0);
}

static void test_define_function(void **state)
{
    ferry_err_t err = {{0}};
    char *doc = ferry_asprintf(
        "%s<TransformationDictionary><DefineFunction name=\"affine\" optype=\"continuous\" dataType=\"double\">"
        "<ParameterField name=\"v\"/><ParameterField name=\"k\"/>"
        "<Apply function=\"+\"><Apply function=\"*\"><FieldRef field=\"v\"/><FieldRef field=\"k\"/></Apply><Constant>1</Constant></Apply>"
        "</DefineFunction><DerivedField name=\"d\" optype=\"continuous\" dataType=\"double\">"
        "<Apply function=\"affine\"><FieldRef field=\"x\"/><Constant>3</Constant></Apply></DerivedField></TransformationDictionary>"
        "<RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
        "<RegressionTable intercept=\"0\"><NumericPredictor name=\"d\" coefficient=\"2\"/></RegressionTable></RegressionModel></PMML>",
        s_head);
    ferry_pmml_t *p = ferry_pmml_load_mem(doc, strlen(doc), "f.pmml", &err);
    free(doc);
    assert_non_null(p);
    S_NEAR(s_num(p, "x=2", "y"), 14); /* 2 * (2 * 3 + 1) */
    ferry_pmml_destroy(&p);
}

/* ---- MiningSchema and DataDictionary (sections "MiningSchema", "DataDictionary") ------------ */
static void test_mining_schema_treatments(void **state)
{
    const char *fmt = "<RegressionModel functionName=\"regression\"><MiningSchema>"
                      "<MiningField name=\"x\" %s/><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
                      "<Targets><Target field=\"y\" rescaleFactor=\"2\" rescaleConstant=\"1\" %s/></Targets>"
                      "<RegressionTable intercept=\"0\"><NumericPredictor name=\"x\" coefficient=\"1\"/></RegressionTable></RegressionModel>";
    char *m = ferry_asprintf(fmt, "missingValueReplacement=\"4\" outliers=\"asExtremeValues\" lowValue=\"-1\" highValue=\"10\"", "");
    ferry_pmml_t *p = s_must_load(m);
    free(m);
    S_NEAR(s_num(p, "z=1", "y"), 9);    /* replaced by 4, then 2 * 4 + 1 */
    S_NEAR(s_num(p, "x=50", "y"), 21);  /* clamped to 10 */
    S_NEAR(s_num(p, "x=-7", "y"), -1);  /* clamped to -1 */
    ferry_pmml_destroy(&p);
    m = ferry_asprintf(fmt, "outliers=\"asMissingValues\" highValue=\"10\"", "castInteger=\"round\" max=\"5\"");
    p = s_must_load(m);
    free(m);
    assert_true(s_is_missing(p, "x=11", "y"));
    S_NEAR(s_num(p, "x=1.3", "y"), 4); /* 2 * 1.3 + 1 = 3.6 -> round 4 */
    S_NEAR(s_num(p, "x=9", "y"), 5);   /* max */
    ferry_pmml_destroy(&p);
}

static void test_invalid_values(void **state)
{
    ferry_err_t err = {{0}};
    const char *fmt = "%s<DataDictionary><DataField name=\"x\" optype=\"continuous\" dataType=\"double\">"
                      "<Interval closure=\"closedClosed\" leftMargin=\"0\" rightMargin=\"1\"/><Value value=\"-999\" property=\"missing\"/></DataField>"
                      "<DataField name=\"y\" optype=\"continuous\" dataType=\"double\"/></DataDictionary>"
                      "<RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\" %s/>"
                      "<MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
                      "<RegressionTable intercept=\"1\"><NumericPredictor name=\"x\" coefficient=\"1\"/></RegressionTable></RegressionModel></PMML>";
    const char *head = "<PMML xmlns=\"http://www.dmg.org/PMML-4_3\" version=\"4.3\"><Header/>";
    /* returnInvalid (default): the row fails with a message naming the field */
    char *doc = ferry_asprintf(fmt, head, "");
    ferry_pmml_t *p = ferry_pmml_load_mem(doc, strlen(doc), "v.pmml", &err);
    free(doc);
    assert_non_null(p);
    s_result_t r = s_eval(p, "x=2");
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err.msg, "\"x\""));
    S_NEAR(s_num(p, "x=0.5", "y"), 1.5);
    assert_true(s_is_missing(p, "x=-999", "y")); /* a declared missing value */
    ferry_pmml_destroy(&p);
    /* asIs keeps the value, asMissing drops it, asValue replaces it */
    doc = ferry_asprintf(fmt, head, "invalidValueTreatment=\"asIs\"");
    p = ferry_pmml_load_mem(doc, strlen(doc), "v.pmml", &err);
    free(doc);
    S_NEAR(s_num(p, "x=2", "y"), 3);
    ferry_pmml_destroy(&p);
    doc = ferry_asprintf(fmt, head, "invalidValueTreatment=\"asMissing\"");
    p = ferry_pmml_load_mem(doc, strlen(doc), "v.pmml", &err);
    free(doc);
    assert_true(s_is_missing(p, "x=2", "y"));
    ferry_pmml_destroy(&p);
    doc = ferry_asprintf(fmt, head, "invalidValueTreatment=\"asValue\" invalidValueReplacement=\"0.25\"");
    p = ferry_pmml_load_mem(doc, strlen(doc), "v.pmml", &err);
    free(doc);
    S_NEAR(s_num(p, "x=2", "y"), 1.25);
    ferry_pmml_destroy(&p);
}

/* ---- hostile and unsupported documents ------------------------------------------------------- */
static void test_rejects_hostile_documents(void **state)
{
    ferry_err_t err = {{0}};
    const char *bad[] = {
        "",
        "not xml",
        "<PMML><DataDictionary/>",
        "<?xml version=\"1.0\"?><!DOCTYPE PMML [<!ENTITY e SYSTEM \"file:///etc/passwd\">]><PMML version=\"4.4\">&e;</PMML>",
        "<?xml version=\"1.0\"?><!DOCTYPE x [<!ENTITY a \"aaaaaaaaaa\"><!ENTITY b \"&a;&a;&a;&a;&a;&a;&a;&a;&a;&a;\">]><PMML>&b;</PMML>",
        "<Other/>",
        "<PMML xmlns=\"http://example.com/x\"><DataDictionary/></PMML>",
    };
    for (size_t i = 0; i < FERRY_ARRAY_LEN(bad); i++) {
        err.msg[0] = '\0';
        ferry_pmml_t *p = ferry_pmml_load_mem(bad[i], strlen(bad[i]), "bad.pmml", &err);
        assert_null(p);
        assert_true(err.msg[0] != '\0');
        assert_non_null(strstr(err.msg, "bad.pmml"));
    }
    /* an unsupported element is named with its line and the model type */
    ferry_pmml_t *p = s_load("\n<TreeModel functionName=\"regression\"><MiningSchema/>\n<Bogus/><Node score=\"1\"><True/></Node></TreeModel>", &err);
    assert_null(p);
    assert_non_null(strstr(err.msg, "<Bogus>"));
    assert_non_null(strstr(err.msg, "TreeModel"));
    assert_non_null(strstr(err.msg, ":3:")); /* the line of <Bogus/> */
    p = s_load("<AssociationModel functionName=\"associationRules\"/>", &err);
    assert_null(p);
    assert_non_null(strstr(err.msg, "AssociationModel"));
    /* Extension elements are ignored */
    p = s_load("<TreeModel functionName=\"regression\"><Extension><Anything/></Extension><MiningSchema><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
               "<Node score=\"7\"><True/><Extension/></Node></TreeModel>", &err);
    assert_non_null(p);
    S_NEAR(s_num(p, "x=1", "y"), 7);
    ferry_pmml_destroy(&p);
    /* deep nesting is bounded, not a stack overflow */
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_buf_puts(&b, "<RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/></MiningSchema>"
                       "<LocalTransformations><DerivedField name=\"d\" dataType=\"double\" optype=\"continuous\">");
    for (int i = 0; i < 5000; i++)
        ferry_buf_puts(&b, "<Apply function=\"abs\">");
    ferry_buf_puts(&b, "<FieldRef field=\"x\"/>");
    for (int i = 0; i < 5000; i++)
        ferry_buf_puts(&b, "</Apply>");
    ferry_buf_puts(&b, "</DerivedField></LocalTransformations><RegressionTable intercept=\"0\"/></RegressionModel>");
    p = s_load(b.data, &err);
    ferry_buf_free(&b);
    assert_null(p);
    ferry_pmml_destroy(&p); /* safe on NULL, twice */
    /* a chain of 20000 derived fields compiles, and evaluation stops at a bounded depth */
    ferry_buf_t c = FERRY_BUF_INIT;
    ferry_buf_puts(&c, "<RegressionModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/>"
                       "<MiningField name=\"y\" usageType=\"target\"/></MiningSchema><LocalTransformations>"
                       "<DerivedField name=\"d0\" dataType=\"double\" optype=\"continuous\"><FieldRef field=\"x\"/></DerivedField>");
    for (int i = 1; i < 20000; i++)
        ferry_buf_printf(&c, "<DerivedField name=\"d%d\" dataType=\"double\" optype=\"continuous\"><FieldRef field=\"d%d\"/></DerivedField>",
                         i, i - 1);
    ferry_buf_puts(&c, "</LocalTransformations><RegressionTable intercept=\"0\"><NumericPredictor name=\"d19999\" coefficient=\"1\"/>"
                       "</RegressionTable></RegressionModel>");
    p = s_load(c.data, &err);
    ferry_buf_free(&c);
    assert_non_null(p);
    s_result_t r = s_eval(p, "x=1");
    assert_int_equal(r.rc, -1);
    assert_non_null(strstr(r.err.msg, "nested deeper"));
    ferry_pmml_destroy(&p);
    /* the deepest tree accepted (Nodes at depths 0..FERRY_PMML_MAX_DEPTH): a class named only in
     * the deepest Nodes' ScoreDistributions is a class of the model before any distribution is
     * sized (the scan once stopped a level short: the first leaf's entry was written past its
     * distribution, into the next leaf's) */
    ferry_buf_t t = FERRY_BUF_INIT;
    ferry_buf_puts(&t, "<TreeModel functionName=\"classification\"><MiningSchema><MiningField name=\"x\"/>"
                       "<MiningField name=\"k\" usageType=\"target\"/></MiningSchema>"
                       "<Output><OutputField name=\"p_deep\" feature=\"probability\" value=\"deep\"/></Output>");
    for (int i = 0; i < FERRY_PMML_MAX_DEPTH; i++)
        ferry_buf_puts(&t, "<Node score=\"no\"><True/>");
    ferry_buf_puts(&t, "<Node score=\"no\"><True/><ScoreDistribution value=\"no\" recordCount=\"1\"/>"
                       "<ScoreDistribution value=\"deep\" recordCount=\"3\"/></Node>"
                       "<Node score=\"no\"><True/><ScoreDistribution value=\"no\" recordCount=\"1\"/>"
                       "<ScoreDistribution value=\"deep\" recordCount=\"0\"/></Node>");
    for (int i = 0; i < FERRY_PMML_MAX_DEPTH; i++)
        ferry_buf_puts(&t, "</Node>");
    ferry_buf_puts(&t, "</TreeModel>");
    p = s_load(t.data, &err);
    ferry_buf_free(&t);
    if (!p)
        fail_msg("deepest tree refused: %s", err.msg);
    s_str_eq(p, "x=1", "k", "no");
    S_NEAR(s_num(p, "x=1", "p_deep"), 0.75);
    ferry_pmml_destroy(&p);
    /* a probability OutputField of something that is not a class is refused by name (it was
     * added as a class after the model's per-class arrays had been sized) */
    p = s_load("<NaiveBayesModel functionName=\"classification\" threshold=\"0.001\"><MiningSchema><MiningField name=\"c\"/>"
               "<MiningField name=\"k\" usageType=\"target\"/></MiningSchema>"
               "<Output><OutputField name=\"p_q\" feature=\"probability\" value=\"Q\"/></Output>"
               "<BayesInputs><BayesInput fieldName=\"c\"><PairCounts value=\"a\"><TargetValueCounts>"
               "<TargetValueCount value=\"no\" count=\"1\"/><TargetValueCount value=\"yes\" count=\"2\"/></TargetValueCounts>"
               "</PairCounts></BayesInput></BayesInputs><BayesOutput fieldName=\"k\"><TargetValueCounts>"
               "<TargetValueCount value=\"no\" count=\"3\"/><TargetValueCount value=\"yes\" count=\"4\"/></TargetValueCounts>"
               "</BayesOutput></NaiveBayesModel>", &err);
    assert_null(p);
    assert_non_null(strstr(err.msg, "\"Q\" is not a class"));
    /* one level deeper is refused by name */
    ferry_buf_t t2 = FERRY_BUF_INIT;
    ferry_buf_puts(&t2, "<TreeModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/></MiningSchema>");
    for (int i = 0; i < FERRY_PMML_MAX_DEPTH + 2; i++)
        ferry_buf_puts(&t2, "<Node score=\"1\"><True/>");
    for (int i = 0; i < FERRY_PMML_MAX_DEPTH + 2; i++)
        ferry_buf_puts(&t2, "</Node>");
    ferry_buf_puts(&t2, "</TreeModel>");
    p = s_load(t2.data, &err);
    ferry_buf_free(&t2);
    assert_null(p);
    assert_non_null(strstr(err.msg, "deeper than"));
}

/* ---- Scorecard (section "Scorecard": partial scores, reason codes pointsBelow) ----------------- */
static void test_scorecard_reason_codes(void **state)
{
    ferry_pmml_t *p = s_must_load(
        "<Scorecard functionName=\"regression\" initialScore=\"100\" useReasonCodes=\"true\" reasonCodeAlgorithm=\"pointsBelow\" baselineMethod=\"other\">"
        "<MiningSchema><MiningField name=\"x\"/><MiningField name=\"c\"/><MiningField name=\"y\" usageType=\"target\"/></MiningSchema>"
        "<Output><OutputField name=\"score\" feature=\"predictedValue\"/><OutputField name=\"r1\" feature=\"reasonCode\" rank=\"1\"/>"
        "<OutputField name=\"r2\" feature=\"reasonCode\" rank=\"2\"/></Output>"
        "<Characteristics>"
        "<Characteristic name=\"cx\" reasonCode=\"RX\" baselineScore=\"20\">"
        "<Attribute partialScore=\"5\"><SimplePredicate field=\"x\" operator=\"lessThan\" value=\"0\"/></Attribute>"
        "<Attribute partialScore=\"25\"><True/></Attribute></Characteristic>"
        "<Characteristic name=\"cc\" reasonCode=\"RC\" baselineScore=\"10\">"
        "<Attribute partialScore=\"0\" reasonCode=\"RA\"><SimplePredicate field=\"c\" operator=\"equal\" value=\"a\"/></Attribute>"
        "<Attribute partialScore=\"12\"><True/></Attribute></Characteristic>"
        "</Characteristics></Scorecard>");
    /* x=-1 (5, below its baseline by 15), c=a (0, below by 10 with code RA): 100 + 5 + 0 */
    S_NEAR(s_num(p, "x=-1 c=a", "score"), 105);
    s_str_eq(p, "x=-1 c=a", "r1", "RX");
    s_str_eq(p, "x=-1 c=a", "r2", "RA");
    /* x=3 (25: 5 above), c=b (12: 2 above): the ranking puts RC (-2) before RX (-5) */
    S_NEAR(s_num(p, "x=3 c=b", "score"), 137);
    s_str_eq(p, "x=3 c=b", "r1", "RC");
    s_str_eq(p, "x=3 c=b", "r2", "RX");
    ferry_pmml_destroy(&p);
}

/* ---- AssociationModel (section "Association Rules": ruleValue, exclusiveRecommendation) -------- */
static void test_association_rules(void **state)
{
    ferry_err_t err = {{0}};
    const char *doc =
        "<PMML xmlns=\"http://www.dmg.org/PMML-4_4\" version=\"4.4\"><Header/><DataDictionary>"
        "<DataField name=\"t\" optype=\"categorical\" dataType=\"string\"/><DataField name=\"item\" optype=\"categorical\" dataType=\"string\"/>"
        "</DataDictionary><AssociationModel functionName=\"associationRules\" numberOfTransactions=\"10\" minimumSupport=\"0.1\" minimumConfidence=\"0.1\">"
        "<MiningSchema><MiningField name=\"t\" usageType=\"group\"/><MiningField name=\"item\"/></MiningSchema>"
        "<Output><OutputField name=\"rec\" feature=\"ruleValue\" ruleFeature=\"ruleId\" algorithm=\"exclusiveRecommendation\" rank=\"1\" rankBasis=\"confidence\"/>"
        "<OutputField name=\"rec2\" feature=\"ruleValue\" ruleFeature=\"confidence\" algorithm=\"exclusiveRecommendation\" rank=\"2\" rankBasis=\"confidence\"/>"
        "<OutputField name=\"both\" feature=\"ruleValue\" ruleFeature=\"ruleId\" algorithm=\"ruleAssociation\" rankBasis=\"support\"/></Output>"
        "<Item id=\"1\" value=\"bread\"/><Item id=\"2\" value=\"milk\"/><Item id=\"3\" value=\"jam\"/>"
        "<Itemset id=\"A\"><ItemRef itemRef=\"1\"/></Itemset><Itemset id=\"B\"><ItemRef itemRef=\"2\"/></Itemset>"
        "<Itemset id=\"C\"><ItemRef itemRef=\"3\"/></Itemset><Itemset id=\"AB\"><ItemRef itemRef=\"1\"/><ItemRef itemRef=\"2\"/></Itemset>"
        "<AssociationRule id=\"r1\" antecedent=\"A\" consequent=\"B\" support=\"0.4\" confidence=\"0.6\"/>"
        "<AssociationRule id=\"r2\" antecedent=\"A\" consequent=\"C\" support=\"0.2\" confidence=\"0.8\"/>"
        "<AssociationRule id=\"r3\" antecedent=\"AB\" consequent=\"C\" support=\"0.1\" confidence=\"0.9\"/>"
        "</AssociationModel></PMML>";
    ferry_pmml_t *p = ferry_pmml_load_mem(doc, strlen(doc), "a.pmml", &err);
    if (!p)
        fail_msg("%s", err.msg);
    ferry_pmml_ctx_t *ctx = ferry_pmml_ctx_new(p);
    ferry_pmml_value_t v[8];
    /* basket {bread}: r1 and r2 recommend an absent item; by confidence r2 (0.8) then r1 (0.6);
     * no rule has both sides in the basket */
    ferry_pmml_ctx_clear(ctx);
    ferry_pmml_ctx_add_item(ctx, "bread", 5);
    assert_int_equal(ferry_pmml_eval_row(ctx, v, &err), 0);
    assert_string_equal(v[s_col(p, "rec")].str, "r2");
    S_NEAR(v[s_col(p, "rec2")].num, 0.6);
    assert_int_equal(v[s_col(p, "both")].kind, FERRY_PMML_MISSING);
    /* basket {bread, milk}: r1's consequent is present (not exclusive); r3 (0.9) then r2 */
    ferry_pmml_ctx_clear(ctx);
    ferry_pmml_ctx_add_item(ctx, "bread", 5);
    ferry_pmml_ctx_add_item(ctx, "milk", 4);
    ferry_pmml_ctx_add_item(ctx, "unknown", 7);
    assert_int_equal(ferry_pmml_eval_row(ctx, v, &err), 0);
    assert_string_equal(v[s_col(p, "rec")].str, "r3");
    S_NEAR(v[s_col(p, "rec2")].num, 0.8);
    assert_string_equal(v[s_col(p, "both")].str, "r1");
    /* empty basket: nothing fires */
    ferry_pmml_ctx_clear(ctx);
    assert_int_equal(ferry_pmml_eval_row(ctx, v, &err), 0);
    assert_int_equal(v[s_col(p, "rec")].kind, FERRY_PMML_MISSING);
    ferry_pmml_ctx_destroy(&ctx);
    ferry_pmml_destroy(&p);
}

/* ---- batch API == row evaluator ------------------------------------------------------------------ */
static void test_batch_matches_rows(void **state)
{
    /* a forest of binary trees averaged (precomputed tree-major in batches), with missing
     * values that must fall back to the row evaluator's lastPrediction */
    ferry_buf_t b = FERRY_BUF_INIT;
    ferry_buf_puts(&b, "<MiningModel functionName=\"regression\"><MiningSchema><MiningField name=\"x\"/><MiningField name=\"z\"/>"
                       "<MiningField name=\"y\" usageType=\"target\"/></MiningSchema><Segmentation multipleModelMethod=\"average\">");
    for (int t = 0; t < 7; t++)
        ferry_buf_printf(&b,
                         "<Segment><True/><TreeModel functionName=\"regression\" missingValueStrategy=\"lastPrediction\">"
                         "<MiningSchema><MiningField name=\"x\"/><MiningField name=\"z\"/></MiningSchema>"
                         "<Node score=\"%d\"><True/><Node score=\"%g\"><SimplePredicate field=\"x\" operator=\"lessOrEqual\" value=\"%g\"/>"
                         "<Node score=\"0.1\"><SimplePredicate field=\"z\" operator=\"lessThan\" value=\"0\"/></Node>"
                         "<Node score=\"0.7\"><SimplePredicate field=\"z\" operator=\"greaterOrEqual\" value=\"0\"/></Node></Node>"
                         "<Node score=\"%g\"><SimplePredicate field=\"x\" operator=\"greaterThan\" value=\"%g\"/></Node></Node></TreeModel></Segment>",
                         t, t * 0.5, t * 0.3 - 1, t * 1.25 + 0.1, t * 0.3 - 1);
    ferry_buf_puts(&b, "</Segmentation></MiningModel>");
    ferry_pmml_t *p = s_must_load(b.data);
    ferry_buf_free(&b);
    enum { N = 300 };
    double xs[N], zs[N];
    uint8_t mx[N], mz[N];
    for (int i = 0; i < N; i++) {
        xs[i] = (i % 23) * 0.15 - 1.5;
        zs[i] = (i % 7) - 3.0;
        mx[i] = i % 31 == 0;
        mz[i] = i % 11 == 0;
    }
    int32_t slots[2] = {ferry_pmml_data_field(p, "x"), ferry_pmml_data_field(p, "z")};
    const double *cols[2] = {xs, zs};
    const uint8_t *miss[2] = {mx, mz};
    double out[N];
    uint8_t ok[N];
    ferry_pmml_ctx_t *ctx = ferry_pmml_ctx_new(p);
    assert_int_equal(ferry_pmml_eval_batch(ctx, 2, slots, cols, miss, N, out, NULL, ok), 0);
    for (int i = 0; i < N; i++) {
        ferry_pmml_value_t v[1];
        ferry_err_t err;
        ferry_pmml_ctx_clear(ctx);
        if (mx[i])
            ferry_pmml_ctx_set_missing(ctx, slots[0]);
        else
            ferry_pmml_ctx_set_num(ctx, slots[0], xs[i]);
        if (mz[i])
            ferry_pmml_ctx_set_missing(ctx, slots[1]);
        else
            ferry_pmml_ctx_set_num(ctx, slots[1], zs[i]);
        assert_int_equal(ferry_pmml_eval_row(ctx, v, &err), 0);
        assert_int_equal(v[0].kind, FERRY_PMML_NUM);
        if (memcmp(&v[0].num, &out[i], sizeof(double)))
            fail_msg("row %d: batch %.17g, row evaluator %.17g", i, out[i], v[0].num);
    }
    ferry_pmml_ctx_destroy(&ctx);
    ferry_pmml_ctx_destroy(&ctx);
    ferry_pmml_destroy(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tree_missing_value_strategies),
        cmocka_unit_test(test_tree_predicates_and_distribution),
        cmocka_unit_test(test_segmentation_regression_methods),
        cmocka_unit_test(test_segmentation_votes_and_chain_outputs),
        cmocka_unit_test(test_regression_normalizations),
        cmocka_unit_test(test_builtin_functions),
        cmocka_unit_test(test_string_function_values),
        cmocka_unit_test(test_transformations),
        cmocka_unit_test(test_define_function),
        cmocka_unit_test(test_mining_schema_treatments),
        cmocka_unit_test(test_invalid_values),
        cmocka_unit_test(test_rejects_hostile_documents),
        cmocka_unit_test(test_scorecard_reason_codes),
        cmocka_unit_test(test_association_rules),
        cmocka_unit_test(test_batch_matches_rows),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
