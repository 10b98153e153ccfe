"""test_engine_ort.py -- proves ferry's engine on the ai.onnx.ml operators (which have almost
no ONNX node tests) against ONNX Runtime 1.30 (onnxruntime-node, one node process for all
cases) and, where a model comes from scikit-learn, against scikit-learn itself.

Every case: build a model with onnx.helper, write random inputs (with exact split
thresholds and missing values where they matter), run `ferry eval --json`, run ONNX
Runtime, compare every output: labels and integers exactly, floats within
|a-b| <= atol + rtol*|b| (rtol 1e-4, atol 1e-5: ONNX Runtime accumulates tree and linear
scores in float32, ferry in float64). Cases where ferry must refuse (ambiguous
semantics) check exit code 3 and a message naming the operator.

Prints `summary: cases=N ort_compared=N sklearn_compared=N refused_as_expected=N`.
Env: FERRY_BIN (the binary), FERRY_ORT_NODE_MODULES (default runners/ort-node/node_modules).
"""
import json
import os
import subprocess
import sys
import tempfile

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import engine_models as em  # noqa: E402

ROOT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
FERRY = os.environ.get("FERRY_BIN", os.path.join(ROOT, "build", "ferry"))
NODE_MODULES = os.environ.get("FERRY_ORT_NODE_MODULES", os.path.join(ROOT, "runners", "ort-node", "node_modules"))
RTOL, ATOL = 1e-4, 1e-5
ML = em.ML
tvi = em.tvi
rng = np.random.default_rng(1234)
failures = []


def fail(msg):
    failures.append(msg)
    print("FAIL", msg)


def ort_type(a):
    return {np.float32: "float32", np.float64: "float64", np.int64: "int64", np.int32: "int32",
            np.bool_: "bool", np.uint8: "uint8"}.get(a.dtype.type, "string")


class Case:
    def __init__(self, name, model, inputs, sk=None, ort=True, refuse=None, fetch=None, tol=(RTOL, ATOL)):
        self.name, self.model, self.inputs = name, model, inputs
        self.sk = sk          # {output name: expected array} from scikit-learn / numpy
        self.ort = ort        # compare with ONNX Runtime
        self.refuse = refuse  # substring ferry's error must contain (ferry must exit 3)
        self.fetch = fetch    # outputs to compare with ORT (default: all tensor outputs)
        self.tol = tol


def compare(case, what, name, got, want):
    got = np.asarray(got)
    want = np.asarray(want)
    if got.shape != want.shape:
        if got.size == want.size and got.size > 0:
            got = got.reshape(want.shape)
        else:
            return fail(f"{case.name}: {name} vs {what}: shape {got.shape} != {want.shape}")
    if want.dtype.kind in "fc":
        g, w = got.astype(np.float64), want.astype(np.float64)
        both_nan = np.isnan(g) & np.isnan(w)
        bad = ~both_nan & ~(np.abs(g - w) <= case.tol[1] + case.tol[0] * np.abs(w))
        if bad.any():
            i = int(np.argmax(bad.ravel()))
            fail(f"{case.name}: {name} vs {what}: {int(bad.sum())} elements differ, first #{i}: "
                 f"{g.ravel()[i]!r} vs {w.ravel()[i]!r}")
    else:
        g = got.astype(str) if want.dtype.kind in "US" else got
        if not np.array_equal(g, want):
            i = int(np.argmax((np.asarray(g) != want).ravel()))
            fail(f"{case.name}: {name} vs {what}: differ at #{i}: {np.asarray(g).ravel()[i]!r} vs {want.ravel()[i]!r}")


def ferry_outputs(doc):
    out = {}
    for o in doc["outputs"]:
        data = o["data"]
        if o.get("kind") == "seq_map":
            out[o["name"]] = {"keys": o["keys"], "values": np.array(data, dtype=np.float32).reshape(o["shape"])}
            continue
        dt = {"float": np.float32, "double": np.float64, "int64": np.int64, "int32": np.int32, "bool": np.bool_,
              "string": object}.get(o["dtype"], np.float64)
        if dt in (np.float32, np.float64):
            data = [float("nan") if v == "NaN" else float(v) if isinstance(v, str) else v for v in data]
        arr = np.array(data, dtype=dt).reshape(o["shape"]) if dt is not object else \
            np.array(data, dtype=object).reshape(o["shape"]).astype(str)
        out[o["name"]] = arr
    return out


def tensor_outputs(model):
    return [o.name for o in model.graph.output if o.type.WhichOneof("value") == "tensor_type"]


def build_cases():
    from sklearn.ensemble import (GradientBoostingClassifier, GradientBoostingRegressor, RandomForestClassifier,
                                  RandomForestRegressor)
    from sklearn.linear_model import LinearRegression, LogisticRegression
    from sklearn.neural_network import MLPRegressor
    from sklearn.svm import SVC, SVR
    (X, y), (Xb, yb), (Xr, yr) = em.fixed_data()
    cases = []
    Xt = rng.normal(size=(61, 20)).astype(np.float32) * 2  # 61: not a multiple of the 8-row tree lanes

    # linear models ---------------------------------------------------------------------------
    lr = LogisticRegression(max_iter=500).fit(X, y)
    m = em.logistic_regression(lr, 20)
    cases.append(Case("linear_classifier_softmax", m, {"X": Xt},
                      sk={"label": lr.predict(Xt), "probabilities": lr.predict_proba(Xt)}))
    lrb = LogisticRegression(max_iter=500).fit(Xb, yb)
    m = em.logistic_regression(lrb, 20, string_labels=True)
    cases.append(Case("linear_classifier_binary_logistic_strings", m, {"X": Xt},
                      sk={"label": np.array([f"c{v}" for v in lrb.predict(Xt)]), "probabilities": lrb.predict_proba(Xt)}))
    lin = LinearRegression().fit(Xr, np.stack([yr, yr * 0.5 + 1], axis=1))
    node = helper.make_node("LinearRegressor", ["X"], ["Y"], domain=ML, coefficients=lin.coef_.ravel().tolist(),
                            intercepts=lin.intercept_.tolist(), targets=2)
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 20])], [tvi("Y", TensorProto.FLOAT, [None, 2])])
    cases.append(Case("linear_regressor_2targets", m, {"X": Xt}, sk={"Y": lin.predict(Xt)}))
    node = helper.make_node("LinearRegressor", ["X"], ["Y"], domain=ML, coefficients=[1.0, 2.0], intercepts=[0.5],
                            post_transform="LOGISTIC")
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 2])], [tvi("Y", TensorProto.FLOAT, [None, 1])])
    cases.append(Case("refuse_linear_regressor_single_logistic", m, {"X": Xt[:, :2]}, ort=False,
                      refuse="post_transform on a single score column"))

    # trees -----------------------------------------------------------------------------------
    rf = RandomForestClassifier(n_estimators=30, max_depth=8, random_state=0).fit(X, y)
    m = em.random_forest_classifier(rf, 20, zipmap=True)
    # rows whose features sit exactly on split thresholds (as float32)
    thr = rf.estimators_[0].tree_
    Xe = Xt.copy()
    for r in range(16):
        i = r % thr.node_count
        if thr.children_left[i] != -1:
            Xe[r, thr.feature[i]] = np.float32(thr.threshold[i])
    cases.append(Case("tree_classifier_multiclass_zipmap", m, {"X": Xe},
                      sk={"label": rf.predict(Xt[16:]), "probabilities": rf.predict_proba(Xt[16:])}))
    cases[-1].sk_rows = slice(16, None)
    rfr = RandomForestRegressor(n_estimators=20, max_depth=6, random_state=0).fit(Xr, yr)
    n = len(rfr.estimators_)
    a, w = em._tree_nodes(rfr.estimators_, lambda t, tr, i: [(0, tr.value[i][0][0])])
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=1, aggregate_function="AVERAGE",
                            target_treeids=w["treeids"], target_nodeids=w["nodeids"], target_ids=w["ids"],
                            target_weights=w["weights"], **a)
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 20])], [tvi("Y", TensorProto.FLOAT, [None, 1])])
    cases.append(Case("tree_regressor_average", m, {"X": Xt}, sk={"Y": rfr.predict(Xt).reshape(-1, 1)}))
    for agg in ("MIN", "MAX"):
        node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=1, aggregate_function=agg,
                                target_treeids=w["treeids"], target_nodeids=w["nodeids"], target_ids=w["ids"],
                                target_weights=w["weights"], base_values=[1.5], **a)
        m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 20])], [tvi("Y", TensorProto.FLOAT, [None, 1])])
        preds = np.stack([e.predict(Xt) for e in rfr.estimators_])
        ref = (preds.min(axis=0) if agg == "MIN" else preds.max(axis=0)) + 1.5
        cases.append(Case(f"tree_regressor_{agg.lower()}", m, {"X": Xt}, sk={"Y": ref.reshape(-1, 1)}))
    gb = GradientBoostingRegressor(n_estimators=60, max_depth=3, random_state=0).fit(Xr, yr)
    cases.append(Case("tree_regressor_gbm_sum", em.gradient_boosting_regressor(gb, 20), {"X": Xt},
                      sk={"variable": gb.predict(Xt).reshape(-1, 1)}, tol=(1e-4, 1e-3)))
    gbc = GradientBoostingClassifier(n_estimators=40, max_depth=3, random_state=0).fit(Xb, yb)
    m = em.gradient_boosting_binary(gbc, 20, class_id=0)
    cases.append(Case("tree_classifier_binary_logistic", m, {"X": Xt},
                      sk={"label": gbc.predict(Xt), "probabilities": gbc.predict_proba(Xt)}))
    # weights on class id 1 with one base value: ONNX Runtime adds the base value to the
    # other column and returns garbage probabilities -- ferry refuses instead of guessing
    m = em.gradient_boosting_binary(gbc, 20, class_id=1)
    cases.append(Case("refuse_tree_classifier_binary_class1_base", m, {"X": Xt}, ort=False,
                      refuse="binary TreeEnsembleClassifier"))
    # v5 TreeEnsemble, float and double (double: compare exactly what PMML would compute)
    md = em.gradient_boosting_regressor(gb, 20, double=True)
    cases.append(Case("tree_ensemble_v5_double", md, {"X": Xt.astype(np.float64)},
                      sk={"variable": gb.predict(Xt).reshape(-1, 1)}, tol=(1e-9, 1e-9)))
    lr_ = gb.learning_rate
    mf = em.tree_ensemble_v5([e[0] for e in gb.estimators_], lambda t, tr, i: [(0, lr_ * tr.value[i][0][0])], 20, 1,
                             np.float32, base=float(gb.init_.constant_.ravel()[0]))
    cases.append(Case("tree_ensemble_v5_float", mf, {"X": Xt}, tol=(1e-4, 1e-3)))
    # hand-made tree: every comparison mode, missing values tracking true
    modes = ["BRANCH_LT", "BRANCH_GTE", "BRANCH_GT", "BRANCH_EQ", "BRANCH_NEQ", "BRANCH_LEQ"]
    nodes_attr = dict(nodes_treeids=[], nodes_nodeids=[], nodes_featureids=[], nodes_modes=[], nodes_values=[],
                      nodes_truenodeids=[], nodes_falsenodeids=[], nodes_missing_value_tracks_true=[])
    tw = dict(target_treeids=[], target_nodeids=[], target_ids=[], target_weights=[])
    for t, mode in enumerate(modes):
        for nid, (md_, f, v, tr_, fa_, miss) in enumerate([(mode, t % 3, 0.5, 1, 2, t % 2), ("LEAF", 0, 0, 0, 0, 0),
                                                           ("LEAF", 0, 0, 0, 0, 0)]):
            nodes_attr["nodes_treeids"].append(t)
            nodes_attr["nodes_nodeids"].append(nid)
            nodes_attr["nodes_featureids"].append(f)
            nodes_attr["nodes_modes"].append(md_)
            nodes_attr["nodes_values"].append(v)
            nodes_attr["nodes_truenodeids"].append(tr_)
            nodes_attr["nodes_falsenodeids"].append(fa_)
            nodes_attr["nodes_missing_value_tracks_true"].append(miss)
        for nid, wt in ((1, 10.0 ** t), (2, -(10.0 ** t) / 2)):
            for target in (0, 1):
                tw["target_treeids"].append(t)
                tw["target_nodeids"].append(nid)
                tw["target_ids"].append(target)
                tw["target_weights"].append(wt * (1 + target))
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["Y"], domain=ML, n_targets=2, **nodes_attr, **tw)
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 3])], [tvi("Y", TensorProto.FLOAT, [None, 2])])
    Xm = rng.choice(np.array([0.25, 0.5, 0.75, np.nan], dtype=np.float32), size=(40, 3))
    cases.append(Case("tree_regressor_all_modes_missing", m, {"X": Xm}))

    # hand-made ai.onnx.ml-5 TreeEnsemble: set membership, missing values, two targets
    def v5_model(agg, post):
        node = helper.make_node(
            "TreeEnsemble", ["X"], ["Y"], domain=ML, n_targets=2, aggregate_function=agg, post_transform=post,
            nodes_featureids=[0, 1, 1], nodes_truenodeids=[0, 1, 3], nodes_falsenodeids=[1, 2, 4],
            nodes_trueleafs=[1, 1, 1], nodes_falseleafs=[0, 1, 1], nodes_missing_value_tracks_true=[0, 1, 0],
            leaf_targetids=[0, 1, 0, 1, 0], tree_roots=[0, 2],
            nodes_splits=numpy_helper.from_array(np.array([0.0, 0.5, 0.25], dtype=np.float32)),
            nodes_modes=numpy_helper.from_array(np.array([6, 1, 0], dtype=np.uint8)),
            membership_values=numpy_helper.from_array(np.array([1, 3, 5, np.nan], dtype=np.float32)),
            leaf_weights=numpy_helper.from_array(np.array([1.0, 2.0, -1.5, 0.5, 0.25], dtype=np.float32)))
        return em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 2])], [tvi("Y", TensorProto.FLOAT, [None, 2])],
                             ml_opset=5, core_opset=19)

    def v5_reference(X, agg, post):
        out = np.zeros((len(X), 2))
        for r, (a, b) in enumerate(X.astype(np.float64)):
            t0 = (0, 1.0) if a in (1.0, 3.0, 5.0) else ((1, 2.0) if (b < 0.5 or np.isnan(b)) else (0, -1.5))
            t1 = (1, 0.5) if b <= 0.25 else (0, 0.25)
            for k, w in (t0, t1):
                out[r, k] += w / (2 if agg == 0 else 1)
        if post == 1:
            e = np.exp(out - out.max(axis=1, keepdims=True))
            out = e / e.sum(axis=1, keepdims=True)
        return out

    Xv = np.stack([rng.choice(np.array([0, 1, 2, 3, 5, 6, np.nan]), 48),
                   rng.choice(np.array([0.25, 0.5, 0.75, np.nan]), 48)], axis=1).astype(np.float32)
    for agg in (1, 0):
        cases.append(Case(f"tree_ensemble_v5_member_missing_agg{agg}", v5_model(agg, 0), {"X": Xv},
                          sk={"Y": v5_reference(Xv, agg, 0)}))
    for agg in (2, 3):  # MIN / MAX: compared with ONNX Runtime only
        cases.append(Case(f"tree_ensemble_v5_member_missing_agg{agg}", v5_model(agg, 0), {"X": Xv}))
    # ONNX numbers post_transform 1 = SOFTMAX, 2 = LOGISTIC; ONNX Runtime 1.30 reads 1 as
    # LOGISTIC (its internal order). No answer satisfies both: ferry refuses.
    for post in (1, 2):
        cases.append(Case(f"refuse_tree_ensemble_v5_post{post}", v5_model(1, post), {"X": Xv}, ort=False,
                          refuse="post_transform"))

    # SVMs --------------------------------------------------------------------------------------
    Xs, ys = X[:200, :6], y[:200]
    Xst = Xt[:, :6]
    for kernel in ("rbf", "linear", "poly", "sigmoid"):
        svr = SVR(kernel=kernel, gamma=0.1, coef0=0.5, degree=3, C=1.0).fit(Xs, yr[:200] / 100)
        kp = [0.1, 0.5, 3.0]
        node = helper.make_node("SVMRegressor", ["X"], ["Y"], domain=ML, kernel_type=kernel.upper(), kernel_params=kp,
                                support_vectors=svr.support_vectors_.ravel().tolist(),
                                coefficients=svr.dual_coef_.ravel().tolist(), rho=[float(svr.intercept_[0])],
                                n_supports=len(svr.support_))
        m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 6])], [tvi("Y", TensorProto.FLOAT, [None, 1])])
        cases.append(Case(f"svm_regressor_{kernel}", m, {"X": Xst}, sk={"Y": svr.predict(Xst).reshape(-1, 1)},
                          tol=(1e-4, 1e-4)))
    for prob in (False, True):
        svc = SVC(kernel="rbf", gamma=0.2, probability=prob, random_state=0).fit(Xs, ys)
        nc = len(svc.classes_)
        kw = dict(prob_a=svc.probA_.tolist(), prob_b=svc.probB_.tolist()) if prob else {}
        node = helper.make_node("SVMClassifier", ["X"], ["label", "scores"], domain=ML, kernel_type="RBF",
                                kernel_params=[0.2, 0.0, 3.0], support_vectors=svc.support_vectors_.ravel().tolist(),
                                vectors_per_class=svc.n_support_.tolist(), coefficients=svc.dual_coef_.ravel().tolist(),
                                rho=svc.intercept_.tolist(), classlabels_ints=[int(c) for c in svc.classes_], **kw)
        ncols = nc if prob else nc * (nc - 1) // 2
        m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 6])],
                          [tvi("label", TensorProto.INT64, [None]), tvi("scores", TensorProto.FLOAT, [None, ncols])])
        sk = {"label": svc.predict(Xst)} if not prob else None
        cases.append(Case(f"svm_classifier_rbf{'_prob' if prob else ''}", m, {"X": Xst}, sk=sk, tol=(1e-3, 1e-4)))
    svb = SVC(kernel="linear", random_state=0).fit(Xb[:200, :6], yb[:200])
    # scikit-learn negates libsvm's binary decision function: undo it for the libsvm convention
    node = helper.make_node("SVMClassifier", ["X"], ["label", "scores"], domain=ML, kernel_type="LINEAR",
                            kernel_params=[0.0, 0.0, 1.0], support_vectors=svb.support_vectors_.ravel().tolist(),
                            vectors_per_class=svb.n_support_.tolist(), coefficients=(-svb.dual_coef_).ravel().tolist(),
                            rho=(-svb.intercept_).tolist(), classlabels_ints=[0, 1])
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 6])],
                      [tvi("label", TensorProto.INT64, [None]), tvi("scores", TensorProto.FLOAT, [None, 2])])
    dfun = svb.decision_function(Xst)
    cases.append(Case("svm_classifier_binary_linear", m, {"X": Xst},
                      sk={"label": svb.predict(Xst), "scores": np.stack([dfun, -dfun], axis=1)}, tol=(1e-3, 1e-4)))

    # preprocessing ------------------------------------------------------------------------------
    def one(op, x, out_type, out_shape, name=None, inputs=None, **attrs):
        node = helper.make_node(op, ["X"] if inputs is None else [i[0] for i in inputs], ["Y"], domain=ML, **attrs)
        ins = [tvi("X", x[1], x[2])] if inputs is None else [tvi(*i) for i in inputs]
        return em.make_model([node], ins, [tvi("Y", out_type, out_shape)])

    Xp = rng.normal(size=(12, 4)).astype(np.float32)
    cases.append(Case("scaler", one("Scaler", ("X", TensorProto.FLOAT, [None, 4]), TensorProto.FLOAT, [None, 4],
                                    offset=[0.5, -1, 2, 0], scale=[2.0, 0.5, 1, 3]), {"X": Xp},
                      sk={"Y": (Xp - np.array([0.5, -1, 2, 0])) * np.array([2.0, 0.5, 1, 3])}))
    for norm in ("MAX", "L1", "L2"):
        Xn = np.abs(Xp) + 0.1
        ref = Xn / (Xn.max(1, keepdims=True) if norm == "MAX" else np.abs(Xn).sum(1, keepdims=True) if norm == "L1"
                    else np.sqrt((Xn ** 2).sum(1, keepdims=True)))
        cases.append(Case(f"normalizer_{norm.lower()}", one("Normalizer", ("X", TensorProto.FLOAT, [None, 4]),
                                                          TensorProto.FLOAT, [None, 4], norm=norm), {"X": Xn},
                          sk={"Y": ref}))
    Xi = Xp.copy()
    Xi[::3, 1] = np.nan
    Xi[1::4, 2] = np.nan
    ref = np.where(np.isnan(Xi), np.array([1, 2, 3, 4], dtype=np.float32), Xi)
    cases.append(Case("imputer_float", one("Imputer", ("X", TensorProto.FLOAT, [None, 4]), TensorProto.FLOAT, [None, 4],
                                           imputed_value_floats=[1.0, 2.0, 3.0, 4.0], replaced_value_float=float("nan")),
                      {"X": Xi}, sk={"Y": ref}))
    Xii = rng.integers(-2, 3, size=(10, 3)).astype(np.int64)
    cases.append(Case("imputer_int64", one("Imputer", ("X", TensorProto.INT64, [None, 3]), TensorProto.INT64, [None, 3],
                                           imputed_value_int64s=[7], replaced_value_int64=0), {"X": Xii},
                      sk={"Y": np.where(Xii == 0, 7, Xii)}))
    cases.append(Case("binarizer", one("Binarizer", ("X", TensorProto.FLOAT, [None, 4]), TensorProto.FLOAT, [None, 4],
                                       threshold=0.25), {"X": Xp}, sk={"Y": (Xp > 0.25).astype(np.float32)}))
    cats = np.array([3, 1, 4, 5, 9], dtype=np.int64)
    Xc = rng.choice(np.array([1, 3, 4, 5, 9, 2, 6]), size=(6, 2)).astype(np.int64)
    ref = (Xc[..., None] == cats).astype(np.float32)
    cases.append(Case("one_hot_encoder_ints", one("OneHotEncoder", ("X", TensorProto.INT64, [None, 2]),
                                                  TensorProto.FLOAT, [None, 2, 5], cats_int64s=cats.tolist(), zeros=1),
                      {"X": Xc}, sk={"Y": ref}))
    scats = ["red", "green", "blue"]
    Xsc = np.array([["red"], ["blue"], ["pink"], ["green"]], dtype=object)
    cases.append(Case("one_hot_encoder_strings", one("OneHotEncoder", ("X", TensorProto.STRING, [None, 1]),
                                                     TensorProto.FLOAT, [None, 1, 3], cats_strings=scats, zeros=1),
                      {"X": Xsc}, sk={"Y": (Xsc[..., None] == np.array(scats)).astype(np.float32)}))
    words = np.array(["a", "b", "zz", "c", "a", ""], dtype=object)
    cases.append(Case("label_encoder_string_to_int", one("LabelEncoder", ("X", TensorProto.STRING, [None]),
                                                         TensorProto.INT64, [None], keys_strings=["a", "b", "c"],
                                                         values_int64s=[10, 20, 30], default_int64=-7),
                      {"X": words}, sk={"Y": np.array([10, 20, -7, 30, 10, -7])}))
    ints = np.array([1, 2, 5, 3], dtype=np.int64)
    cases.append(Case("label_encoder_int_to_string", one("LabelEncoder", ("X", TensorProto.INT64, [None]),
                                                         TensorProto.STRING, [None], keys_int64s=[1, 2, 3],
                                                         values_strings=["x", "y", "z"], default_string="?"),
                      {"X": ints}, sk={"Y": np.array(["x", "y", "?", "z"])}))
    fl = np.array([0.5, 1.5, 2.0, -1.0], dtype=np.float32)
    cases.append(Case("label_encoder_float_to_float", one("LabelEncoder", ("X", TensorProto.FLOAT, [None]),
                                                          TensorProto.FLOAT, [None], keys_floats=[0.5, 2.0],
                                                          values_floats=[5.0, 20.0], default_float=-1.0),
                      {"X": fl}, sk={"Y": np.array([5.0, -1.0, 20.0, -1.0], dtype=np.float32)}))
    cases.append(Case("category_mapper_s2i", one("CategoryMapper", ("X", TensorProto.STRING, [None]),
                                                 TensorProto.INT64, [None], cats_strings=["a", "b", "c"],
                                                 cats_int64s=[1, 2, 3], default_int64=99),
                      {"X": words}, sk={"Y": np.array([1, 2, 99, 3, 1, 99])}))
    cases.append(Case("category_mapper_i2s", one("CategoryMapper", ("X", TensorProto.INT64, [None]),
                                                 TensorProto.STRING, [None], cats_strings=["a", "b", "c"],
                                                 cats_int64s=[1, 2, 3], default_string="none"),
                      {"X": ints}, sk={"Y": np.array(["a", "b", "none", "c"])}))
    idx = np.array([3, 0, 3], dtype=np.int64)
    node = helper.make_node("ArrayFeatureExtractor", ["X", "I"], ["Y"], domain=ML)
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 4]), tvi("I", TensorProto.INT64, [3])],
                      [tvi("Y", TensorProto.FLOAT, [None, 3])])
    cases.append(Case("array_feature_extractor", m, {"X": Xp, "I": idx}, sk={"Y": Xp[:, idx]}))
    A = rng.normal(size=(5, 2)).astype(np.float32)
    B = rng.integers(0, 9, size=(5, 3)).astype(np.int64)
    node = helper.make_node("FeatureVectorizer", ["A", "B"], ["Y"], domain=ML, inputdimensions=[2, 3])
    m = em.make_model([node], [tvi("A", TensorProto.FLOAT, [None, 2]), tvi("B", TensorProto.INT64, [None, 3])],
                      [tvi("Y", TensorProto.FLOAT, [None, 5])])
    # ONNX Runtime insists on one input type; ferry takes mixed types as the spec allows
    cases.append(Case("feature_vectorizer_mixed_types", m, {"A": A, "B": B}, ort=False,
                      sk={"Y": np.hstack([A, B.astype(np.float32)])}))
    node = helper.make_node("FeatureVectorizer", ["A", "B"], ["Y"], domain=ML, inputdimensions=[2, 4])
    m = em.make_model([node], [tvi("A", TensorProto.FLOAT, [None, 2]), tvi("B", TensorProto.FLOAT, [None, 3])],
                      [tvi("Y", TensorProto.FLOAT, [None, 6])])
    Bf = B.astype(np.float32)
    cases.append(Case("feature_vectorizer_padded", m, {"A": A, "B": Bf},
                      sk={"Y": np.hstack([A, Bf, np.zeros((5, 1), np.float32)])}))

    # more shapes and signs, compared with ONNX Runtime (semantics of negative inputs etc.)
    Xneg = rng.normal(size=(10, 4)).astype(np.float32)
    Xneg[0] = [-1, -2, -3, -4]
    Xneg[1] = 0
    for norm in ("MAX", "L1", "L2"):
        cases.append(Case(f"normalizer_{norm.lower()}_signed", one("Normalizer", ("X", TensorProto.FLOAT, [None, 4]),
                                                                 TensorProto.FLOAT, [None, 4], norm=norm), {"X": Xneg}))
    Xint = rng.integers(-5, 5, size=(6, 4)).astype(np.int64)
    cases.append(Case("scaler_int64_broadcast", one("Scaler", ("X", TensorProto.INT64, [None, 4]), TensorProto.FLOAT,
                                                    [None, 4], offset=[1.5], scale=[0.5]), {"X": Xint},
                      sk={"Y": (Xint - 1.5) * 0.5}))
    X3 = rng.normal(size=(2, 3, 4)).astype(np.float32)
    node = helper.make_node("ArrayFeatureExtractor", ["X", "I"], ["Y"], domain=ML)
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [2, 3, 4]), tvi("I", TensorProto.INT64, [2])],
                      [tvi("Y", TensorProto.FLOAT, [2, 3, 2])])
    cases.append(Case("array_feature_extractor_3d", m, {"X": X3, "I": np.array([1, 3], dtype=np.int64)},
                      sk={"Y": X3[..., [1, 3]]}))
    node = helper.make_node("LinearRegressor", ["X"], ["Y"], domain=ML, coefficients=[0.5, -1.0, 2.0, 0.25],
                            targets=2)
    m = em.make_model([node], [tvi("X", TensorProto.DOUBLE, [None, 2])], [tvi("Y", TensorProto.FLOAT, [None, 2])])
    Xd = rng.normal(size=(5, 2))
    cases.append(Case("linear_regressor_double_no_intercepts", m, {"X": Xd}, ort=False,  # ORT: float input only
                      sk={"Y": Xd @ np.array([[0.5, -1.0], [2.0, 0.25]]).T}))
    # SVMClassifier in linear mode (no support vectors: one coefficient row per class)
    coef = rng.normal(size=(3, 4))
    node = helper.make_node("SVMClassifier", ["X"], ["label", "scores"], domain=ML, kernel_type="LINEAR",
                            kernel_params=[0.0, 0.0, 1.0], coefficients=coef.ravel().tolist(), rho=[0.3],
                            classlabels_strings=["a", "b", "c"])
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 4])],
                      [tvi("label", TensorProto.STRING, [None]), tvi("scores", TensorProto.FLOAT, [None, 3])])
    sc = Xp.astype(np.float64) @ coef.T + 0.3
    cases.append(Case("svm_classifier_linear_mode", m, {"X": Xp},
                      sk={"label": np.array(["a", "b", "c"])[sc.argmax(1)], "scores": sc}, tol=(1e-4, 1e-4)))
    node = helper.make_node("OneHotEncoder", ["X"], ["Y"], domain=ML, cats_int64s=[1, 2], zeros=0)
    m = em.make_model([node], [tvi("X", TensorProto.INT64, [None])], [tvi("Y", TensorProto.FLOAT, [None, 2])])
    cases.append(Case("one_hot_encoder_unknown_category_fails", m, {"X": np.array([1, 7], dtype=np.int64)}, ort=False,
                      refuse="not a known category"))

    # a small MLP through the core operators
    mlp = MLPRegressor(hidden_layer_sizes=(16, 8), max_iter=30, random_state=0).fit(Xr, yr / 100)
    cases.append(Case("mlp_matmul_add_relu", em.mlp_regressor(mlp, 20), {"X": Xt},
                      sk={"variable": mlp.predict(Xt).reshape(-1, 1)}, tol=(1e-4, 1e-4)))

    # refusals: ambiguous or unsupported constructs must be refused, never answered
    node = helper.make_node("DictVectorizer", ["X"], ["Y"], domain=ML, int64_vocabulary=[1, 2])
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None])], [tvi("Y", TensorProto.FLOAT, [None, 2])])
    cases.append(Case("refuse_unsupported_operator", m, {"X": Xp[:, 0]}, ort=False,
                      refuse="operator DictVectorizer of domain 'ai.onnx.ml'"))
    node = helper.make_node("LinearClassifier", ["X"], ["label", "p"], domain=ML, coefficients=[1.0, 2.0],
                            intercepts=[0.5], classlabels_ints=[0, 1], post_transform="LOGISTIC")
    m = em.make_model([node], [tvi("X", TensorProto.FLOAT, [None, 2])],
                      [tvi("label", TensorProto.INT64, [None]), tvi("p", TensorProto.FLOAT, [None, 2])])
    cases.append(Case("refuse_linear_classifier_single_row", m, {"X": Xp[:, :2]}, ort=False,
                      refuse="one coefficient row and one intercept per class"))
    return cases


def main():
    if not os.path.exists(FERRY):
        print(f"FAIL: {FERRY} not built")
        return 1
    have_ort = os.path.isdir(os.path.join(NODE_MODULES, "onnxruntime-node"))
    cases = build_cases()
    tmp = tempfile.mkdtemp(prefix="ferry-engine-ort-")
    ort_cases, ferry_res = [], {}
    refused = 0
    for c in cases:
        d = os.path.join(tmp, c.name)
        os.makedirs(d)
        path = os.path.join(d, "model.onnx")
        onnx.save(c.model, path)
        args = [FERRY, "eval", path, "--json"]
        specs = []
        for k, (name, arr) in enumerate(c.inputs.items()):
            arr = np.asarray(arr)
            pb = os.path.join(d, f"input_{k}.pb")
            t = numpy_helper.from_array(arr if arr.dtype != object else arr.astype(object), name=name)
            with open(pb, "wb") as f:
                f.write(t.SerializeToString())
            args += ["--input", f"{name}={pb}"]
            spec = {"name": name, "type": ort_type(arr), "shape": list(arr.shape)}
            if spec["type"] == "string":
                spec["strings"] = [str(s) for s in arr.ravel()]
            else:
                spec["file"] = os.path.join(d, f"input_{k}.bin")
                np.ascontiguousarray(arr).tofile(spec["file"])
            specs.append(spec)
        p = subprocess.run(args, capture_output=True, text=True, timeout=120)
        if c.refuse:
            if p.returncode != 3 or c.refuse not in p.stderr:
                fail(f"{c.name}: ferry should refuse with '{c.refuse}', got exit {p.returncode}: {p.stderr.strip()}")
            else:
                refused += 1
            continue
        if p.returncode != 0:
            fail(f"{c.name}: ferry eval exit {p.returncode}: {p.stderr.strip()}")
            continue
        ferry_res[c.name] = ferry_outputs(json.loads(p.stdout))
        if c.ort:
            ort_cases.append({"name": c.name, "model": path, "inputs": specs,
                              "fetches": c.fetch or tensor_outputs(c.model)})
    ort_res = {}
    if ort_cases and have_ort:
        cases_json = os.path.join(tmp, "cases.json")
        res_json = os.path.join(tmp, "results.json")
        with open(cases_json, "w") as f:
            json.dump(ort_cases, f)
        env = dict(os.environ, NODE_PATH=NODE_MODULES)
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "engine_ort_run.js")
        p = subprocess.run(["node", script, cases_json, res_json], capture_output=True, text=True, env=env,
                           timeout=300)
        if p.returncode != 0:
            fail(f"onnxruntime-node run failed: {p.stderr.strip()[:2000]}")
        else:
            with open(res_json) as f:
                ort_res = json.load(f)
    elif ort_cases:
        fail(f"onnxruntime-node is not installed in {NODE_MODULES} (make deps)")
    n_ort = n_sk = 0
    for c in cases:
        if c.name not in ferry_res:
            continue
        got = ferry_res[c.name]
        if c.ort and c.name in ort_res:
            r = ort_res[c.name]
            if "error" in r:
                fail(f"{c.name}: ONNX Runtime failed: {r['error']}")
            else:
                for name, o in r.items():
                    want = np.array(o["data"]).reshape(o["dims"])
                    if o["type"] == "string":
                        want = want.astype(str)
                    compare(c, "onnxruntime", name, got[name], want)
                n_ort += 1
        if c.sk:
            rows = getattr(c, "sk_rows", slice(None))
            for name, want in c.sk.items():
                g = got[name]
                if isinstance(g, dict):
                    g = g["values"]
                compare(c, "scikit-learn/numpy", name, np.asarray(g)[rows], np.asarray(want))
            n_sk += 1
        zips = [v for v in got.values() if isinstance(v, dict)]
        for z in zips:  # ZipMap: keys are the labels, values the probability columns
            if "probabilities" in got:
                compare(c, "ZipMap columns", "zip", z["values"], got["probabilities"])
    print(f"summary: cases={len(cases)} ort_compared={n_ort} sklearn_compared={n_sk} refused_as_expected={refused} "
          f"failures={len(failures)}")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
