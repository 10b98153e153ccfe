/* pmml.h -- PMML 3.0-4.4 documents compiled into a compact, inspectable evaluation structure
 *
 * ferry_pmml_load() parses a PMML document with libxml2 (no network, no external
 * entities, bounded depth) and compiles it once: every field reference is resolved to
 * a slot index, trees are flattened into node arrays with contiguous children,
 * coefficients are dense arrays, strings are interned to integer symbols. Evaluation
 * (ferry_pmml_eval_row / ferry_pmml_eval_batch) never touches the XML tree.
 *
 * Everything below is public so the PMML->ONNX converter can walk a compiled model:
 * ferry_pmml_t holds the field table (slots), the expression pool, the predicate pool
 * and the models (the top-level one is models[0]; segments of a MiningModel are other
 * entries of the same array, referenced by index). Indexes are int32_t, -1 = none.
 *
 * Value semantics: a value is missing, a number (every numeric dataType, booleans as
 * 0/1) or a string. Strings known to the model carry their symbol (sym >= 0), so
 * categorical comparisons are integer compares.
 */
#ifndef FERRY_PMML_H
#define FERRY_PMML_H

#include "util/common.h"

#include <stddef.h>
#include <stdint.h>

/* Limits on what a document may ask of us (hostile-input bounds). */
#define FERRY_PMML_MAX_FILE (1u << 30)     /* 1 GiB document */
#define FERRY_PMML_MAX_DEPTH 2000          /* XML nesting we walk recursively */
#define FERRY_PMML_MAX_CALL_DEPTH 64       /* nested DefineFunction calls */
#define FERRY_PMML_MAX_ARRAY 50000000      /* entries of one Array / matrix */

typedef enum { FERRY_PMML_MISSING = 0, FERRY_PMML_NUM = 1, FERRY_PMML_STR = 2 } ferry_pmml_kind_t;

typedef struct {
    uint8_t kind;    /* ferry_pmml_kind_t */
    int32_t sym;     /* STR: interned symbol or -1 when the string is not known to the model */
    double num;      /* NUM */
    const char *str; /* STR: NUL-terminated, owned by the model or the evaluation context */
} ferry_pmml_value_t;

typedef enum {
    FERRY_PMML_DT_STRING = 0, FERRY_PMML_DT_INTEGER, FERRY_PMML_DT_FLOAT, FERRY_PMML_DT_DOUBLE,
    FERRY_PMML_DT_BOOLEAN, FERRY_PMML_DT_OTHER /* dates/times: read as numbers */
} ferry_pmml_datatype_t;

typedef enum { FERRY_PMML_OP_CONTINUOUS = 0, FERRY_PMML_OP_CATEGORICAL, FERRY_PMML_OP_ORDINAL } ferry_pmml_optype_t;

/* ---- fields ---------------------------------------------------------------------------- */
typedef enum {
    FERRY_PMML_FIELD_DATA = 0,  /* DataDictionary: bound from input */
    FERRY_PMML_FIELD_DERIVED,   /* DerivedField: expr evaluated lazily, memoised per row */
    FERRY_PMML_FIELD_MINING,    /* a model's view of src after its MiningField treatments */
    FERRY_PMML_FIELD_OUTPUT,    /* OutputField of a segment (visible to later segments) */
    FERRY_PMML_FIELD_PARAM      /* DefineFunction parameter */
} ferry_pmml_field_origin_t;

typedef enum { FERRY_PMML_VALID = 0, FERRY_PMML_INVALID = 1, FERRY_PMML_AS_MISSING = 2 } ferry_pmml_validity_t;

typedef struct {
    double left, right; /* -inf / +inf when absent */
    bool is_left_open, is_right_open;
} ferry_pmml_interval_t;

/* invalidValueTreatment / outliers / missingValueTreatment of a MiningField */
enum { FERRY_PMML_INVALID_RETURN = 0, FERRY_PMML_INVALID_ASIS, FERRY_PMML_INVALID_ASMISSING, FERRY_PMML_INVALID_ASVALUE };
enum { FERRY_PMML_OUTLIER_ASIS = 0, FERRY_PMML_OUTLIER_ASMISSING, FERRY_PMML_OUTLIER_ASEXTREME };

typedef struct {
    char *name;
    uint8_t origin;   /* ferry_pmml_field_origin_t */
    uint8_t datatype; /* ferry_pmml_datatype_t */
    uint8_t optype;   /* ferry_pmml_optype_t */
    /* DATA: validity from DataDictionary */
    int32_t n_intervals;
    ferry_pmml_interval_t *intervals;
    int32_t n_values;          /* Value elements */
    ferry_pmml_value_t *values; /* already typed (NUM for numeric dataTypes) */
    uint8_t *value_property;    /* ferry_pmml_validity_t per value */
    bool has_valid_values;      /* any Value with property valid: others are invalid */
    /* DERIVED */
    int32_t expr;
    /* MINING (prepared view of src) */
    int32_t src;
    uint8_t invalid_treatment, outliers, is_missing_replacement_set, is_invalid_replacement_set;
    double low_value, high_value; bool has_low, has_high;
    ferry_pmml_value_t missing_replacement, invalid_replacement;
} ferry_pmml_field_t;

/* ---- expressions (TransformationDictionary, LocalTransformations, Output) ---------------- */
typedef enum {
    FERRY_PMML_EX_CONST = 0, FERRY_PMML_EX_FIELDREF, FERRY_PMML_EX_NORMCONT, FERRY_PMML_EX_NORMDISC,
    FERRY_PMML_EX_DISCRETIZE, FERRY_PMML_EX_MAPVALUES, FERRY_PMML_EX_APPLY, FERRY_PMML_EX_CALL
} ferry_pmml_expr_kind_t;

/* Built-in functions of PMML 4.4 section "Built-in functions" */
typedef enum {
    FERRY_PMML_FN_ADD = 0, FERRY_PMML_FN_SUB, FERRY_PMML_FN_MUL, FERRY_PMML_FN_DIV,
    FERRY_PMML_FN_MIN, FERRY_PMML_FN_MAX, FERRY_PMML_FN_SUM, FERRY_PMML_FN_AVG, FERRY_PMML_FN_MEDIAN,
    FERRY_PMML_FN_PRODUCT, FERRY_PMML_FN_LOG10, FERRY_PMML_FN_LN, FERRY_PMML_FN_SQRT, FERRY_PMML_FN_ABS,
    FERRY_PMML_FN_EXP, FERRY_PMML_FN_POW, FERRY_PMML_FN_THRESHOLD, FERRY_PMML_FN_FLOOR, FERRY_PMML_FN_CEIL,
    FERRY_PMML_FN_ROUND, FERRY_PMML_FN_MODULO, FERRY_PMML_FN_ISMISSING, FERRY_PMML_FN_ISNOTMISSING,
    FERRY_PMML_FN_ISVALID, FERRY_PMML_FN_ISNOTVALID,
    FERRY_PMML_FN_EQUAL, FERRY_PMML_FN_NOTEQUAL, FERRY_PMML_FN_LT, FERRY_PMML_FN_LE, FERRY_PMML_FN_GT,
    FERRY_PMML_FN_GE, FERRY_PMML_FN_AND, FERRY_PMML_FN_OR, FERRY_PMML_FN_NOT, FERRY_PMML_FN_ISIN,
    FERRY_PMML_FN_ISNOTIN, FERRY_PMML_FN_IF, FERRY_PMML_FN_UPPERCASE, FERRY_PMML_FN_LOWERCASE,
    FERRY_PMML_FN_STRLEN, FERRY_PMML_FN_SUBSTRING, FERRY_PMML_FN_TRIMBLANKS, FERRY_PMML_FN_CONCAT,
    FERRY_PMML_FN_REPLACE, FERRY_PMML_FN_MATCHES, FERRY_PMML_FN_FORMATNUMBER,
    FERRY_PMML_FN_EXPM1, FERRY_PMML_FN_LN1P, FERRY_PMML_FN_LOGISTIC, FERRY_PMML_FN_ATAN,
    FERRY_PMML_FN_SIN, FERRY_PMML_FN_COS, FERRY_PMML_FN_TAN, FERRY_PMML_FN_ASIN, FERRY_PMML_FN_ACOS,
    FERRY_PMML_FN_SINH, FERRY_PMML_FN_COSH, FERRY_PMML_FN_TANH, FERRY_PMML_FN_HYPOT,
    FERRY_PMML_FN_RINT, FERRY_PMML_FN_STDNORM_CDF, FERRY_PMML_FN_STDNORM_PDF, FERRY_PMML_FN_STDNORM_IDF,
    FERRY_PMML_FN_ERF, FERRY_PMML_FN_NORM_CDF, FERRY_PMML_FN_NORM_PDF, FERRY_PMML_FN_NORM_IDF,
    FERRY_PMML_FN_COUNT
} ferry_pmml_fn_t;

typedef struct {
    uint8_t kind;     /* ferry_pmml_expr_kind_t */
    uint8_t datatype; /* declared result type (CONST, DerivedField) */
    int32_t field;    /* FIELDREF, NORMCONT, NORMDISC, DISCRETIZE: slot */
    ferry_pmml_value_t value;          /* CONST */
    ferry_pmml_value_t map_missing_to; /* kind MISSING when absent */
    ferry_pmml_value_t default_value;  /* kind MISSING when absent */
    /* NORMCONT: n points (orig[i], norm[i]); outliers mode */
    int32_t n, off;   /* NORMCONT: points in num_pool (orig at off, norm at off+n);
                         DISCRETIZE: bins (interval at interval_pool[off+i], bin value at value_pool[off+i]);
                         MAPVALUES: rows x (ncols inputs + 1 output) values in value_pool;
                         APPLY/CALL: argument expr indexes in int_pool */
    int32_t ncols;     /* MAPVALUES: input columns; fields in int_pool[aux .. aux+ncols) */
    int32_t aux;
    uint8_t outliers;  /* NORMCONT */
    uint8_t invalid_as_missing; /* APPLY invalidValueTreatment */
    int32_t fn;        /* APPLY: ferry_pmml_fn_t; CALL: DefineFunction index */
    ferry_pmml_value_t disc_value; /* NORMDISC: the category tested */
} ferry_pmml_expr_t;

typedef struct {
    char *name;
    int32_t n_params;
    int32_t *param_slots; /* PARAM fields */
    int32_t body;         /* expression */
} ferry_pmml_function_t;

/* ---- predicates (TreeModel, Segment, RuleSet) ---------------------------------------- */
typedef enum {
    FERRY_PMML_PR_TRUE = 0, FERRY_PMML_PR_FALSE, FERRY_PMML_PR_SIMPLE, FERRY_PMML_PR_SET,
    FERRY_PMML_PR_COMPOUND
} ferry_pmml_pred_kind_t;
typedef enum {
    FERRY_PMML_CMP_EQ = 0, FERRY_PMML_CMP_NE, FERRY_PMML_CMP_LT, FERRY_PMML_CMP_LE, FERRY_PMML_CMP_GT,
    FERRY_PMML_CMP_GE, FERRY_PMML_CMP_ISMISSING, FERRY_PMML_CMP_ISNOTMISSING
} ferry_pmml_cmp_t;
typedef enum { FERRY_PMML_BOOL_AND = 0, FERRY_PMML_BOOL_OR, FERRY_PMML_BOOL_XOR, FERRY_PMML_BOOL_SURROGATE } ferry_pmml_boolop_t;

typedef struct {
    uint8_t kind;  /* ferry_pmml_pred_kind_t */
    uint8_t op;    /* SIMPLE: ferry_pmml_cmp_t; SET: 0 isIn, 1 isNotIn; COMPOUND: ferry_pmml_boolop_t */
    int32_t field; /* SIMPLE/SET slot */
    ferry_pmml_value_t value; /* SIMPLE operand, typed like the field */
    int32_t n, off; /* SET: values in value_pool; COMPOUND: child predicates in int_pool */
} ferry_pmml_pred_t;

/* ---- models ---------------------------------------------------------------------------- */
typedef enum {
    FERRY_PMML_TREE = 0, FERRY_PMML_MINING, FERRY_PMML_REGRESSION, FERRY_PMML_GENREG, FERRY_PMML_NN,
    FERRY_PMML_SVM, FERRY_PMML_NAIVEBAYES, FERRY_PMML_CLUSTERING, FERRY_PMML_SCORECARD, FERRY_PMML_RULESET,
    FERRY_PMML_ASSOCIATION, FERRY_PMML_MODEL_TYPE_COUNT
} ferry_pmml_model_type_t;
typedef enum {
    FERRY_PMML_FN_REGRESSION = 0, FERRY_PMML_FN_CLASSIFICATION, FERRY_PMML_FN_CLUSTERING, FERRY_PMML_FN_ASSOCIATION
} ferry_pmml_function_name_t;

/* TreeModel: nodes[0] is the root; children of a node are nodes[first_child .. +n_children). */
enum { FERRY_PMML_MVS_NONE = 0, FERRY_PMML_MVS_LAST, FERRY_PMML_MVS_NULL, FERRY_PMML_MVS_DEFAULT };
typedef struct {
    int32_t pred;
    int32_t first_child, n_children;
    int32_t default_child;   /* node index or -1 */
    int32_t id_sym;          /* node id or -1 */
    bool has_score;
    int32_t score_class;     /* classification: class index */
    double score;            /* regression (and numeric class labels) */
    int32_t dist_off;        /* classification: probabilities at num_pool[dist_off .. +n_classes), -1 none */
} ferry_pmml_node_t;
/* Fast form of a tree whose predicates are all True/False or numeric comparisons of
 * DataDictionary fields with constants (the common case): one compact record per node,
 * same indexes as nodes[]. Built after compilation; NULL when the tree does not qualify.
 * A row with a missing value on its path is evaluated by the general walker instead. */
typedef struct {
    int32_t field;           /* DATA slot, -1 for True/False */
    uint8_t kind;            /* FERRY_PMML_PR_TRUE/FALSE/SIMPLE */
    uint8_t op;              /* ferry_pmml_cmp_t (EQ..GE) */
    bool is_pair;            /* two children with complementary predicates: the split below */
    int32_t first_child, n_children;
    double threshold;
    /* is_pair: the first child's test; true -> first_child, false -> first_child + 1 */
    int32_t split_field;
    uint8_t split_op;
    double split_threshold;
} ferry_pmml_fastnode_t;

/* Compact form of a fast tree that is a plain binary tree (root True, every inner node
 * split by one comparison and its complement): 16 bytes a node, children adjacent.
 * Comparisons are normalised so the walk is branch-free: lessOrEqual and greaterThan
 * become (a <= t), lessThan and greaterOrEqual (a < t), flip selects the side. */
typedef struct {
    double threshold; /* leaves: the node's score (NaN when it has none) */
    int32_t field;  /* DATA slot */
    uint8_t is_lt;  /* the test is a < threshold (else a <= threshold) ... */
    uint8_t flip;   /* ... and the row goes to left + (test ^ flip) */
    int16_t is_leaf;
    int32_t left;
    int32_t pad;
} ferry_pmml_binnode_t;

typedef struct {
    int32_t n_nodes;
    ferry_pmml_node_t *nodes;
    ferry_pmml_fastnode_t *fast;
    ferry_pmml_binnode_t *bin;
    uint8_t missing_value_strategy; /* FERRY_PMML_MVS_* */
    bool is_no_true_child_last;     /* noTrueChildStrategy returnLastPrediction */
    double missing_value_penalty;
} ferry_pmml_tree_t;

enum {
    FERRY_PMML_SEG_AVERAGE = 0, FERRY_PMML_SEG_WAVERAGE, FERRY_PMML_SEG_MEDIAN, FERRY_PMML_SEG_WMEDIAN,
    FERRY_PMML_SEG_SUM, FERRY_PMML_SEG_WSUM, FERRY_PMML_SEG_VOTE, FERRY_PMML_SEG_WVOTE, FERRY_PMML_SEG_MAX,
    FERRY_PMML_SEG_SELECTFIRST, FERRY_PMML_SEG_SELECTALL, FERRY_PMML_SEG_CHAIN
};
typedef struct {
    int32_t pred;
    int32_t model;  /* index into ferry_pmml_t.models */
    double weight;
    int32_t id_sym;
    int32_t class_map_off;  /* int_pool: segment class index -> this model's class index */
} ferry_pmml_segment_t;
typedef struct {
    uint8_t method;
    int32_t n_segments;
    ferry_pmml_segment_t *segments;
} ferry_pmml_mining_t;

/* RegressionModel: one table per class (classification) or one (regression).
 * Term k of table t: coef * prod over its factors. Numeric predictors are dense:
 * num_field[i], num_exp[i], num_coef[i]. */
enum {
    FERRY_PMML_NORM_NONE = 0, FERRY_PMML_NORM_SOFTMAX, FERRY_PMML_NORM_LOGIT, FERRY_PMML_NORM_EXP,
    FERRY_PMML_NORM_PROBIT, FERRY_PMML_NORM_CLOGLOG, FERRY_PMML_NORM_LOGLOG, FERRY_PMML_NORM_CAUCHIT,
    FERRY_PMML_NORM_SIMPLEMAX
};
typedef struct {
    double intercept;
    int32_t class_idx;
    int32_t n_num;
    int32_t *num_field; double *num_exp; double *num_coef;
    int32_t n_cat;
    int32_t *cat_field; ferry_pmml_value_t *cat_value; double *cat_coef;
    int32_t n_terms;     /* PredictorTerm: factors in int_pool[term_off[k] .. +term_n[k]) */
    int32_t *term_off, *term_n; double *term_coef;
} ferry_pmml_regtable_t;
typedef struct {
    uint8_t normalization;
    int32_t n_tables;
    ferry_pmml_regtable_t *tables;
} ferry_pmml_regression_t;

/* GeneralRegressionModel: parameters p; design value x_p = prod over PPCells of the
 * parameter (factor: field == value ? 1 : 0; covariate: field^exponent); beta[class][p]. */
enum { FERRY_PMML_GR_REGRESSION = 0, FERRY_PMML_GR_GLM, FERRY_PMML_GR_MULTINOMIAL, FERRY_PMML_GR_ORDINAL, FERRY_PMML_GR_COX };
enum {
    FERRY_PMML_LINK_IDENTITY = 0, FERRY_PMML_LINK_LOGIT, FERRY_PMML_LINK_PROBIT, FERRY_PMML_LINK_CLOGLOG,
    FERRY_PMML_LINK_LOGLOG, FERRY_PMML_LINK_LOG, FERRY_PMML_LINK_POWER, FERRY_PMML_LINK_CAUCHIT,
    FERRY_PMML_LINK_ODDSPOWER, FERRY_PMML_LINK_NEGBIN, FERRY_PMML_LINK_LOGC
};
typedef struct {
    int32_t field; bool is_factor; ferry_pmml_value_t value; double exponent;
} ferry_pmml_ppcell_t;
typedef struct {
    uint8_t kind;          /* FERRY_PMML_GR_* */
    uint8_t link;
    double link_power, offset_value, trials_value, distr_param;
    int32_t offset_field, trials_field;
    int32_t n_params;
    int32_t *cell_off, *cell_n;      /* PPCells per parameter */
    ferry_pmml_ppcell_t *cells;
    int32_t n_rows;                  /* beta rows: one per class (multinomial) or 1 */
    int32_t *row_class;              /* class index per row (-1 regression) */
    double *beta;                    /* n_rows x n_params */
    int32_t ref_class;               /* multinomial reference class (logit 0) */
    /* CoxRegression: cumulative hazard H0(t) * exp(sum beta_p (x_p - ref_p)), H0 from the
     * baseline stratum of strata_field (or the single unnamed stratum) */
    double *ref_point;               /* per parameter */
    int32_t end_time_field, strata_field;
    int32_t n_strata;
    ferry_pmml_value_t *strata_value;
    double *strata_max_time;
    int32_t *strata_off, *strata_n;  /* cells in cell_time / cell_hazard */
    double *cell_time, *cell_hazard;
} ferry_pmml_genreg_t;

/* NeuralNetwork: neurons 0..n_inputs-1 are the inputs, then every Neuron in document
 * order. Connections are CSR: neuron k reads con_from/con_w[con_off[k] .. +con_n[k]);
 * dense_from[k] >= 0 when those sources are the consecutive neurons dense_from.. (the
 * common fully connected case, evaluated as a plain dot product). */
enum {
    FERRY_PMML_ACT_THRESHOLD = 0, FERRY_PMML_ACT_LOGISTIC, FERRY_PMML_ACT_TANH, FERRY_PMML_ACT_IDENTITY,
    FERRY_PMML_ACT_EXPONENTIAL, FERRY_PMML_ACT_RECIPROCAL, FERRY_PMML_ACT_SQUARE, FERRY_PMML_ACT_GAUSS,
    FERRY_PMML_ACT_SINE, FERRY_PMML_ACT_COSINE, FERRY_PMML_ACT_ELLIOTT, FERRY_PMML_ACT_ARCTAN,
    FERRY_PMML_ACT_RECTIFIER, FERRY_PMML_ACT_RADIALBASIS
};
typedef struct {
    int32_t first_neuron, n_neurons;
    uint8_t activation, normalization; /* normalization: FERRY_PMML_NORM_NONE/SOFTMAX/SIMPLEMAX */
    double threshold, altitude, width;
    /* fully connected layer (every neuron reads the same dense_n consecutive neurons from
     * dense_from): its weights transposed at wt[wt_off + j * n_neurons + q]; wt_off -1 otherwise */
    int32_t dense_from, dense_n, wt_off;
} ferry_pmml_layer_t;
typedef struct {
    int32_t n_inputs;
    int32_t *input_expr;     /* DerivedField expression per input neuron */
    int32_t n_layers;
    ferry_pmml_layer_t *layers;
    int32_t n_neurons;
    double *bias, *width, *altitude; /* per neuron (NaN width/altitude: use the layer's) */
    int32_t *con_off, *con_n, *dense_from;
    int32_t *con_from; double *con_w;
    double *wt;              /* transposed weights of fully connected layers */
    int32_t n_outputs;
    int32_t *output_neuron;
    int32_t *output_expr;    /* the NeuralOutput DerivedField expression */
    int32_t *output_class;   /* classification: class of this output (NormDiscrete), else -1 */
} ferry_pmml_nn_t;

/* SupportVectorMachineModel: dense support vectors over inputs (VectorFields). */
enum { FERRY_PMML_KERNEL_LINEAR = 0, FERRY_PMML_KERNEL_POLY, FERRY_PMML_KERNEL_RBF, FERRY_PMML_KERNEL_SIGMOID };
typedef struct {
    int32_t class_idx, alt_class_idx;
    int32_t n_sv;
    int32_t *sv;       /* vector indexes */
    double *coef;
    double intercept, threshold;
} ferry_pmml_svm_machine_t;
typedef struct {
    uint8_t kernel;
    double gamma, coef0, degree;
    bool is_ovo;              /* classificationMethod OneAgainstOne */
    bool is_max_wins;
    double threshold;
    int32_t n_inputs;
    int32_t *input_expr;      /* expression per vector field (FieldRef or CategoricalPredictor-like) */
    int32_t n_vectors;
    double *vectors;          /* n_vectors x n_inputs */
    int32_t n_machines;
    ferry_pmml_svm_machine_t *machines;
} ferry_pmml_svm_t;

/* NaiveBayesModel */
typedef struct {
    int32_t field;
    bool is_gaussian;        /* TargetValueStats with GaussianDistribution */
    double *mean, *var;      /* per class */
    int32_t n_values;        /* discrete: counts[v * n_classes + c] */
    ferry_pmml_value_t *values;
    double *counts;
    int32_t derived_expr;    /* DerivedField discretisation inside BayesInput, or -1 */
} ferry_pmml_bayes_input_t;
typedef struct {
    double threshold;
    double *class_counts;    /* BayesOutput */
    int32_t n_inputs;
    ferry_pmml_bayes_input_t *inputs;
} ferry_pmml_naivebayes_t;

/* ClusteringModel (center-based) */
enum { FERRY_PMML_DIST_EUCLIDEAN = 0, FERRY_PMML_DIST_SQEUCLIDEAN, FERRY_PMML_DIST_CITYBLOCK, FERRY_PMML_DIST_CHEBYCHEV, FERRY_PMML_DIST_MINKOWSKI };
typedef struct {
    uint8_t measure;
    double minkowski_p;
    int32_t n_fields;
    int32_t *field_expr;     /* expression per ClusteringField */
    double *field_weight;
    int32_t n_clusters;
    double *centers;         /* n_clusters x n_fields */
    int32_t *cluster_id_sym; /* id or name or 1-based index */
} ferry_pmml_clustering_t;

/* Scorecard */
typedef struct {
    int32_t pred; double partial_score; int32_t reason_sym;
} ferry_pmml_attribute_t;
typedef struct {
    int32_t n_attributes, attr_off; int32_t reason_sym; double baseline;
} ferry_pmml_characteristic_t;
typedef struct {
    double initial_score; bool use_reason_codes; bool is_points_above;
    int32_t n_chars; ferry_pmml_characteristic_t *chars;
    ferry_pmml_attribute_t *attrs;
} ferry_pmml_scorecard_t;

/* RuleSetModel: flattened SimpleRules (CompoundRule predicates are ANDed) */
enum { FERRY_PMML_RULE_FIRSTHIT = 0, FERRY_PMML_RULE_WEIGHTEDSUM, FERRY_PMML_RULE_WEIGHTEDMAX };
typedef struct {
    int32_t n_preds, pred_off; /* predicates in int_pool, all must be true */
    int32_t class_idx; int32_t id_sym; double weight, confidence;
    int32_t dist_off;          /* probabilities, -1 none */
} ferry_pmml_rule_t;
typedef struct {
    uint8_t criterion;
    int32_t n_rules; ferry_pmml_rule_t *rules;
    int32_t default_class; double default_confidence;
} ferry_pmml_ruleset_t;

/* AssociationModel: the input is a basket of items (rows grouped by the group field) */
typedef struct {
    int32_t antecedent, consequent; /* itemset indexes */
    double support, confidence, lift;
    int32_t id_sym;                 /* id attribute, or the 1-based rule number */
} ferry_pmml_assoc_rule_t;
typedef struct {
    int32_t group_field, item_field;  /* DATA slots (usageType group / active) */
    int32_t n_items;
    int32_t *item_sym;                /* Item value */
    int32_t n_itemsets;
    int32_t *set_off, *set_n;         /* items of an itemset: set_items[set_off[i] .. +set_n[i]) */
    int32_t *set_items;
    int32_t n_rules;
    ferry_pmml_assoc_rule_t *rules;
} ferry_pmml_association_t;
enum { FERRY_PMML_RULE_RECOMMENDATION = 0, FERRY_PMML_RULE_EXCLUSIVE, FERRY_PMML_RULE_ASSOCIATION };
enum { FERRY_PMML_RULEF_ID = 0, FERRY_PMML_RULEF_SUPPORT, FERRY_PMML_RULEF_CONFIDENCE, FERRY_PMML_RULEF_LIFT,
       FERRY_PMML_RULEF_ANTECEDENT, FERRY_PMML_RULEF_CONSEQUENT };

/* Output features */
typedef enum {
    FERRY_PMML_OUT_PREDICTED = 0, FERRY_PMML_OUT_DISPLAY, FERRY_PMML_OUT_PROBABILITY,
    FERRY_PMML_OUT_TRANSFORMED, FERRY_PMML_OUT_ENTITY, FERRY_PMML_OUT_AFFINITY, FERRY_PMML_OUT_CONFIDENCE,
    FERRY_PMML_OUT_REASON, FERRY_PMML_OUT_RULEVALUE, FERRY_PMML_OUT_RESIDUAL
} ferry_pmml_feature_t;
typedef struct {
    char *name;
    int32_t slot;          /* OUTPUT field holding the value */
    uint8_t feature;       /* ferry_pmml_feature_t */
    uint8_t datatype;
    int32_t class_idx;     /* PROBABILITY/AFFINITY with value=: class index (-1 = predicted) */
    ferry_pmml_value_t value;
    int32_t rank;          /* REASON */
    int32_t expr;          /* TRANSFORMED */
    uint8_t rule_feature, rule_algorithm, rank_basis; /* RULEVALUE: FERRY_PMML_RULEF_*, FERRY_PMML_RULE_*,
                                                         basis as FERRY_PMML_RULEF_SUPPORT/CONFIDENCE/LIFT */
    bool is_final;
} ferry_pmml_output_t;

typedef struct {
    double factor, constant, min, max; bool has_min, has_max;
    uint8_t cast; /* 0 none, 1 round, 2 ceiling, 3 floor */
    double default_value; bool has_default;
    double *prior;  /* per class or NULL */
    int32_t n_display, *display; /* TargetValue displayValue symbol per class (-1 none) */
} ferry_pmml_target_t;

typedef struct ferry_pmml_model {
    uint8_t type;            /* ferry_pmml_model_type_t */
    uint8_t function;        /* ferry_pmml_function_name_t */
    bool is_float;           /* mathContext="float" */
    char *name;
    int line;                /* of the model element, for messages */
    int32_t target;          /* slot of the target field (its MINING view), -1 none */
    int32_t target_data;     /* DataDictionary slot of the target, -1 none */
    int32_t n_classes;       /* classification/clustering: class labels */
    int32_t *class_sym;
    double *class_num;       /* class label as number (NaN when not numeric) */
    int32_t n_mining, *mining; /* MINING slots prepared at model entry */
    int32_t n_checks, *checks; /* DATA slots whose invalid values make the row fail (returnInvalid) */
    int32_t n_outputs; ferry_pmml_output_t *outputs;
    ferry_pmml_target_t tgt;
    union {
        ferry_pmml_tree_t tree;
        ferry_pmml_mining_t mining_model;
        ferry_pmml_regression_t regression;
        ferry_pmml_genreg_t genreg;
        ferry_pmml_nn_t nn;
        ferry_pmml_svm_t svm;
        ferry_pmml_naivebayes_t bayes;
        ferry_pmml_clustering_t clustering;
        ferry_pmml_scorecard_t scorecard;
        ferry_pmml_ruleset_t ruleset;
        ferry_pmml_association_t association;
    } u;
} ferry_pmml_model_t;

/* One result column of ferry score: the target, then final Output fields (or, with no
 * Output, probability(<class>) for each class). */
typedef struct {
    char *name;
    int32_t output;   /* index into models[0].outputs, -1 = the target */
    int32_t class_idx;/* probability(<class>) column without Output, else -1 */
} ferry_pmml_column_t;

typedef struct ferry_pmml {
    char *version;
    int32_t n_fields, n_data_fields; ferry_pmml_field_t *fields; /* DataDictionary slots first */
    int32_t n_exprs; ferry_pmml_expr_t *exprs;
    int32_t n_preds; ferry_pmml_pred_t *preds;
    int32_t n_functions; ferry_pmml_function_t *functions;
    int32_t n_models; ferry_pmml_model_t *models; /* models[0] is the top-level model */
    int32_t n_columns; ferry_pmml_column_t *columns;
    /* pools */
    int32_t n_syms; char **syms;                   /* interned strings */
    int32_t n_num_pool; double *num_pool;
    int32_t n_int_pool; int32_t *int_pool;
    int32_t n_value_pool; ferry_pmml_value_t *value_pool;
    int32_t n_interval_pool; ferry_pmml_interval_t *interval_pool;
    /* symbol hash (open addressing) */
    int32_t sym_cap; int32_t *sym_hash;
} ferry_pmml_t;

/* Parse and compile a PMML document from memory / a file. NULL on failure with err
 * naming the file (name is used in messages), the element and its line. */
ferry_pmml_t *ferry_pmml_load_mem(const char *data, size_t len, const char *name, ferry_err_t *err);
ferry_pmml_t *ferry_pmml_load(const char *path, ferry_err_t *err);
void ferry_pmml_destroy(ferry_pmml_t **self_p);

const char *ferry_pmml_model_type_name(int type);
/* Symbol of a string known to the model, or -1. */
int32_t ferry_pmml_sym_find(const ferry_pmml_t *pmml, const char *s, size_t len);
/* Slot of a DataDictionary field by name, or -1. */
int32_t ferry_pmml_data_field(const ferry_pmml_t *pmml, const char *name);

/* ---- evaluation ------------------------------------------------------------------------ */
/* An evaluation context: per-row scratch (slot values, memo flags, per-model predictions).
 * One per thread; a context is never shared between threads. */
typedef struct ferry_pmml_ctx ferry_pmml_ctx_t;
ferry_pmml_ctx_t *ferry_pmml_ctx_new(const ferry_pmml_t *pmml);
void ferry_pmml_ctx_destroy(ferry_pmml_ctx_t **self_p);

/* Set input field `slot` (a DataDictionary slot) for the next row. Strings are copied
 * into the context (valid until the next ferry_pmml_ctx_clear). A string for a numeric
 * field is parsed; a non-number makes the value invalid (handled per MiningField). */
void ferry_pmml_ctx_clear(ferry_pmml_ctx_t *ctx);
void ferry_pmml_ctx_set_num(ferry_pmml_ctx_t *ctx, int32_t slot, double v);
void ferry_pmml_ctx_set_missing(ferry_pmml_ctx_t *ctx, int32_t slot);
/* Returns 0, or -1 when a numeric field got text that is not a number. */
int ferry_pmml_ctx_set_str(ferry_pmml_ctx_t *ctx, int32_t slot, const char *s, size_t len);

/* AssociationModel input: add one item to the row's basket (unknown items are ignored). */
void ferry_pmml_ctx_add_item(ferry_pmml_ctx_t *ctx, const char *s, size_t len);

/* Evaluate the row set in ctx. On success fills out[0..n_columns) (strings borrowed from
 * the model or ctx until the next clear) and returns 0. Returns -1 when the row cannot
 * be scored (invalid value with returnInvalid, unsupported case); err says why. A model
 * that gives no prediction (e.g. nullPrediction) returns 0 with MISSING values. */
int ferry_pmml_eval_row(ferry_pmml_ctx_t *ctx, ferry_pmml_value_t *out, ferry_err_t *err);

/* Batch evaluation over columnar inputs: cols[i] / is_missing[i] for data slot
 * input_slots[i] (numeric fields only; is_missing may be NULL). out_values is
 * n_rows x n_columns row-major doubles (NaN for missing or string results; string
 * results go to out_syms when non-NULL as n_rows x n_columns symbols, else ignored);
 * row_ok[r] = 0 when row r failed. Uses specialised kernels where the model allows
 * (plain numeric RegressionModel, numeric-split tree ensembles), else the row evaluator. */
int ferry_pmml_eval_batch(ferry_pmml_ctx_t *ctx, int32_t n_inputs, const int32_t *input_slots,
                          const double *const *cols, const uint8_t *const *is_missing, size_t n_rows,
                          double *out_values, int32_t *out_syms, uint8_t *row_ok);

/* True when every result column of the model is a number or a string known to the
 * model (a symbol), so ferry_pmml_eval_batch can carry it: no transformedValue output,
 * no number cast to text. */
bool ferry_pmml_is_batchable(const ferry_pmml_t *pmml);

#endif
