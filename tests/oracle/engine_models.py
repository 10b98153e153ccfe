"""engine_models.py -- builds ONNX models (ai.onnx.ml and small dense nets) for the engine's
oracle test and benchmark, from fitted scikit-learn estimators or by hand.

Written for Debian's Python (onnx 1.12, scikit-learn 1.2, numpy 1.24). onnx 1.12 does not
know ai.onnx.ml opset 5 (TreeEnsemble): those nodes are written with make_node and the
opset import set by hand; the checker is not run on them.
"""
import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

ML = "ai.onnx.ml"
IR_VERSION = 8


def make_model(nodes, inputs, outputs, ml_opset=3, core_opset=15, initializers=()):
    graph = helper.make_graph(nodes, "g", inputs, outputs, initializer=list(initializers))
    opsets = [helper.make_opsetid("", core_opset), helper.make_opsetid(ML, ml_opset)]
    model = helper.make_model(graph, opset_imports=opsets, producer_name="ferry-tests")
    model.ir_version = IR_VERSION
    return model


def tvi(name, elem, shape):
    return helper.make_tensor_value_info(name, elem, shape)


# ---- trees ------------------------------------------------------------------------------


def _tree_nodes(trees, leaf_weights):
    """Flatten sklearn trees into the TreeEnsemble{Regressor,Classifier} node tuples.
    leaf_weights(tree_index, tree, node) -> list of (target_or_class_id, weight)."""
    a = dict(nodes_treeids=[], nodes_nodeids=[], nodes_featureids=[], nodes_modes=[],
             nodes_values=[], nodes_truenodeids=[], nodes_falsenodeids=[])
    w = dict(treeids=[], nodeids=[], ids=[], weights=[])
    for t, tree in enumerate(trees):
        tr = tree.tree_
        for i in range(tr.node_count):
            leaf = tr.children_left[i] == -1
            a["nodes_treeids"].append(t)
            a["nodes_nodeids"].append(i)
            a["nodes_featureids"].append(0 if leaf else int(tr.feature[i]))
            a["nodes_modes"].append("LEAF" if leaf else "BRANCH_LEQ")
            a["nodes_values"].append(0.0 if leaf else float(tr.threshold[i]))
            a["nodes_truenodeids"].append(0 if leaf else int(tr.children_left[i]))
            a["nodes_falsenodeids"].append(0 if leaf else int(tr.children_right[i]))
            if leaf:
                for k, val in leaf_weights(t, tr, i):
                    w["treeids"].append(t)
                    w["nodeids"].append(i)
                    w["ids"].append(k)
                    w["weights"].append(float(val))
    return a, w


def _seq_map_type(key_type):
    """seq(map(key_type, float)) -- onnx 1.12 has no make_map_type_proto."""
    t = onnx.TypeProto()
    m = t.sequence_type.elem_type.map_type
    m.key_type = key_type
    m.value_type.tensor_type.elem_type = TensorProto.FLOAT
    return t


def random_forest_classifier(rf, n_features, zipmap=False):
    """RandomForestClassifier -> TreeEnsembleClassifier (probabilities averaged)."""
    n = len(rf.estimators_)

    def lw(t, tr, i):
        v = tr.value[i][0]
        v = v / v.sum()
        return [(k, v[k] / n) for k in range(len(v))]

    a, w = _tree_nodes(rf.estimators_, lw)
    labels = [int(c) for c in rf.classes_]
    node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "probabilities"], domain=ML,
                            classlabels_int64s=labels, class_treeids=w["treeids"], class_nodeids=w["nodeids"],
                            class_ids=w["ids"], class_weights=w["weights"], post_transform="NONE", **a)
    nodes = [node]
    outputs = [tvi("label", TensorProto.INT64, [None]), tvi("probabilities", TensorProto.FLOAT, [None, len(labels)])]
    if zipmap:
        nodes.append(helper.make_node("ZipMap", ["probabilities"], ["zip"], domain=ML, classlabels_int64s=labels))
        outputs.append(helper.make_value_info("zip", _seq_map_type(TensorProto.INT64)))
    return make_model(nodes, [tvi("X", TensorProto.FLOAT, [None, n_features])], outputs)


def gradient_boosting_regressor(gb, n_features, double=False):
    """GradientBoostingRegressor -> TreeEnsembleRegressor (or ai.onnx.ml-5 TreeEnsemble)."""
    lr = gb.learning_rate
    trees = [e[0] for e in gb.estimators_]
    base = float(gb.init_.constant_.ravel()[0]) if hasattr(gb.init_, "constant_") else 0.0
    if double:
        return tree_ensemble_v5(trees, lambda t, tr, i: [(0, lr * tr.value[i][0][0])], n_features, 1,
                                np.float64, base=base)
    a, w = _tree_nodes(trees, lambda t, tr, i: [(0, lr * tr.value[i][0][0])])
    node = helper.make_node("TreeEnsembleRegressor", ["X"], ["variable"], domain=ML, n_targets=1,
                            target_treeids=w["treeids"], target_nodeids=w["nodeids"], target_ids=w["ids"],
                            target_weights=w["weights"], base_values=[base], aggregate_function="SUM", **a)
    return make_model([node], [tvi("X", TensorProto.FLOAT, [None, n_features])],
                      [tvi("variable", TensorProto.FLOAT, [None, 1])])


def tree_ensemble_v5(trees, leaf_weights, n_features, n_targets, dtype, base=0.0, aggregate=1, post=0):
    """sklearn trees -> ai.onnx.ml opset 5 TreeEnsemble (+ Add for the base value)."""
    elem = TensorProto.DOUBLE if dtype == np.float64 else TensorProto.FLOAT
    nf, splits, modes, tids, fids, tl, fl, roots = [], [], [], [], [], [], [], []
    ltarget, lweight = [], []
    for tree in trees:
        tr = tree.tree_
        # interior nodes and leaves get their own index spaces
        node_index, leaf_index = {}, {}
        for i in range(tr.node_count):
            if tr.children_left[i] == -1:
                leaf_index[i] = len(ltarget)
                for k, val in leaf_weights(None, tr, i):
                    ltarget.append(k)
                    lweight.append(val)
            else:
                node_index[i] = len(nf)
                nf.append(int(tr.feature[i]))
                splits.append(tr.threshold[i])
                modes.append(0)
                tids.append(None)
                fids.append(None)
                tl.append(None)
                fl.append(None)
        if tr.node_count == 1:  # a single-leaf tree: a node whose both children are that leaf
            node_index[0] = len(nf)
            nf.append(0), splits.append(0.0), modes.append(0)
            tids.append(leaf_index[0]), fids.append(leaf_index[0]), tl.append(1), fl.append(1)
            roots.append(node_index[0])
            continue
        for i, j in node_index.items():
            for side, child in ((0, tr.children_left[i]), (1, tr.children_right[i])):
                is_leaf = tr.children_left[child] == -1
                idx = leaf_index[child] if is_leaf else node_index[child]
                if side == 0:
                    tids[j], tl[j] = idx, int(is_leaf)
                else:
                    fids[j], fl[j] = idx, int(is_leaf)
        roots.append(node_index[0])
    node = helper.make_node(
        "TreeEnsemble", ["X"], ["raw"], domain=ML,
        nodes_featureids=nf, nodes_truenodeids=tids, nodes_falsenodeids=fids,
        nodes_trueleafs=tl, nodes_falseleafs=fl, leaf_targetids=ltarget, tree_roots=roots,
        n_targets=n_targets, aggregate_function=aggregate, post_transform=post,
        nodes_splits=numpy_helper.from_array(np.array(splits, dtype=dtype)),
        nodes_modes=numpy_helper.from_array(np.array(modes, dtype=np.uint8)),
        leaf_weights=numpy_helper.from_array(np.array(lweight, dtype=dtype)))
    base_t = numpy_helper.from_array(np.array([base], dtype=dtype), name="base")
    add = helper.make_node("Add", ["raw", "base"], ["variable"])
    return make_model([node, add], [tvi("X", elem, [None, n_features])], [tvi("variable", elem, [None, n_targets])],
                      ml_opset=5, core_opset=19, initializers=[base_t])


def gradient_boosting_binary(gb, n_features, class_id=1):
    """Binary GradientBoostingClassifier -> TreeEnsembleClassifier with the one-score-column
    convention (weights on a single class id, post_transform LOGISTIC)."""
    lr = gb.learning_rate
    trees = [e[0] for e in gb.estimators_]
    base = float(gb.init_.predict_proba(np.zeros((1, n_features)))[0, 1])
    base = float(np.log(base / (1 - base)))
    a, w = _tree_nodes(trees, lambda t, tr, i: [(class_id, lr * tr.value[i][0][0])])
    node = helper.make_node("TreeEnsembleClassifier", ["X"], ["label", "probabilities"], domain=ML,
                            classlabels_int64s=[0, 1], class_treeids=w["treeids"], class_nodeids=w["nodeids"],
                            class_ids=w["ids"], class_weights=w["weights"], base_values=[base],
                            post_transform="LOGISTIC", **a)
    return make_model([node], [tvi("X", TensorProto.FLOAT, [None, n_features])],
                      [tvi("label", TensorProto.INT64, [None]), tvi("probabilities", TensorProto.FLOAT, [None, 2])])


# ---- linear models and nets ---------------------------------------------------------------


def logistic_regression(lr, n_features, string_labels=False):
    coef = lr.coef_
    inter = lr.intercept_
    if coef.shape[0] == 1:  # binary: two rows (-w, w) so every class has its score column
        coef = np.vstack([-coef, coef])
        inter = np.array([-inter[0], inter[0]])
    post = "LOGISTIC" if len(lr.classes_) == 2 else "SOFTMAX"
    kw = dict(classlabels_strings=[f"c{c}" for c in lr.classes_]) if string_labels else \
        dict(classlabels_ints=[int(c) for c in lr.classes_])
    node = helper.make_node("LinearClassifier", ["X"], ["label", "probabilities"], domain=ML,
                            coefficients=[float(v) for v in coef.ravel()],
                            intercepts=[float(v) for v in inter], post_transform=post, **kw)
    lt = TensorProto.STRING if string_labels else TensorProto.INT64
    return make_model([node], [tvi("X", TensorProto.FLOAT, [None, n_features])],
                      [tvi("label", lt, [None]), tvi("probabilities", TensorProto.FLOAT, [None, coef.shape[0]])])


def mlp_regressor(mlp, n_features):
    """MLPRegressor (relu) -> MatMul/Add/Relu chain."""
    nodes, inits = [], []
    cur = "X"
    for k, (w, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        inits.append(numpy_helper.from_array(w.astype(np.float32), name=f"W{k}"))
        inits.append(numpy_helper.from_array(b.astype(np.float32), name=f"B{k}"))
        nodes.append(helper.make_node("MatMul", [cur, f"W{k}"], [f"mm{k}"]))
        last = k == len(mlp.coefs_) - 1
        out = "variable" if last else f"z{k}"
        nodes.append(helper.make_node("Add", [f"mm{k}", f"B{k}"], [out]))
        if not last:
            nodes.append(helper.make_node("Relu", [out], [f"a{k}"]))
            cur = f"a{k}"
    return make_model(nodes, [tvi("X", TensorProto.FLOAT, [None, n_features])],
                      [tvi("variable", TensorProto.FLOAT, [None, mlp.coefs_[-1].shape[1]])], initializers=inits)


def fixed_data(seed=0):
    """The small datasets the tests and benchmarks train on."""
    from sklearn.datasets import make_classification, make_regression
    X, y = make_classification(n_samples=600, n_features=20, n_informative=10, n_classes=3, random_state=seed)
    Xb, yb = make_classification(n_samples=600, n_features=20, n_informative=8, n_classes=2, random_state=seed + 1)
    Xr, yr = make_regression(n_samples=600, n_features=20, noise=5.0, random_state=seed + 2)
    return (X.astype(np.float32), y), (Xb.astype(np.float32), yb), (Xr.astype(np.float32), yr)


def benchmark_models():
    """The four models of the engine benchmark (name, model, input name, n_features)."""
    from sklearn.ensemble import GradientBoostingRegressor, RandomForestClassifier
    from sklearn.linear_model import LogisticRegression
    from sklearn.neural_network import MLPRegressor
    (X, y), (Xb, yb), (Xr, yr) = fixed_data()
    lr = LogisticRegression(max_iter=500).fit(X, y)
    rf = RandomForestClassifier(n_estimators=100, max_depth=10, random_state=0).fit(X, y)
    gb = GradientBoostingRegressor(n_estimators=300, max_depth=4, random_state=0).fit(Xr, yr)
    mlp = MLPRegressor(hidden_layer_sizes=(64, 64), max_iter=50, random_state=0).fit(Xr, yr)
    return [
        ("logreg", logistic_regression(lr, 20)),
        ("rf100", random_forest_classifier(rf, 20)),
        ("gbr300", gradient_boosting_regressor(gb, 20)),
        ("mlp", mlp_regressor(mlp, 20)),
    ]
