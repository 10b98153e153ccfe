"""pmml_writer.py -- writes fitted scikit-learn models as PMML 4.4 (test oracle support).

Written for the tests: the PMML a model becomes is built here from the fitted
attributes, independently of ferry, so `ferry score` can be compared with sklearn's own
predictions. Supported: LinearRegression, LogisticRegression (binary, multinomial),
DecisionTree*, RandomForest*, GradientBoosting* (regression, binary classification),
MLP*, SVC/SVR, GaussianNB, KMeans; preprocessing: StandardScaler (Apply), mean
imputation (missingValueReplacement), one-hot categorical inputs (CategoricalPredictor).
"""
from xml.sax.saxutils import quoteattr

import numpy as np


def r(x):
    """A double written so that it reads back exactly."""
    return repr(float(x))


class Doc:
    def __init__(self):
        self.parts = []

    def add(self, s):
        self.parts.append(s)

    def text(self):
        return "\n".join(self.parts)


def header(doc, fields, target, classes, categorical=None):
    """fields: numeric input names; categorical: {name: [values]}; classes None for regression."""
    categorical = categorical or {}
    doc.add('<?xml version="1.0" encoding="UTF-8"?>')
    doc.add('<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4">')
    doc.add('<Header><Application name="ferry-tests"/></Header>')
    n = len(fields) + len(categorical) + (1 if target else 0)
    doc.add('<DataDictionary numberOfFields="%d">' % n)
    for f in fields:
        doc.add('<DataField name=%s optype="continuous" dataType="double"/>' % quoteattr(f))
    for f, vals in categorical.items():
        doc.add('<DataField name=%s optype="categorical" dataType="string">' % quoteattr(f))
        for v in vals:
            doc.add('<Value value=%s/>' % quoteattr(str(v)))
        doc.add('</DataField>')
    if target:
        if classes is None:
            doc.add('<DataField name=%s optype="continuous" dataType="double"/>' % quoteattr(target))
        else:
            doc.add('<DataField name=%s optype="categorical" dataType="string">' % quoteattr(target))
            for c in classes:
                doc.add('<Value value=%s/>' % quoteattr(str(c)))
            doc.add('</DataField>')
    doc.add('</DataDictionary>')


def mining_schema(doc, fields, target, replacements=None, categorical=()):
    replacements = replacements or {}
    doc.add('<MiningSchema>')
    for f in list(fields) + list(categorical):
        extra = ''
        if f in replacements:
            extra = ' missingValueReplacement=%s' % quoteattr(r(replacements[f]))
        doc.add('<MiningField name=%s%s/>' % (quoteattr(f), extra))
    if target:
        doc.add('<MiningField name=%s usageType="target"/>' % quoteattr(target))
    doc.add('</MiningSchema>')


def output(doc, classes, target=None, extra=()):
    doc.add('<Output>')
    if classes is not None:
        doc.add('<OutputField name="predicted" optype="categorical" dataType="string" feature="predictedValue"/>')
        for c in classes:
            doc.add('<OutputField name=%s optype="continuous" dataType="double" feature="probability" value=%s/>'
                    % (quoteattr("probability(%s)" % c), quoteattr(str(c))))
    for e in extra:
        doc.add(e)
    doc.add('</Output>')


def scaler_transformations(doc, fields, scaler, names):
    """StandardScaler as DerivedFields: (x - mean) / scale, the same two operations sklearn does."""
    doc.add('<LocalTransformations>')
    for f, m, s, n in zip(fields, scaler.mean_, scaler.scale_, names):
        doc.add('<DerivedField name=%s optype="continuous" dataType="double">' % quoteattr(n))
        doc.add('<Apply function="/"><Apply function="-"><FieldRef field=%s/><Constant dataType="double">%s</Constant>'
                '</Apply><Constant dataType="double">%s</Constant></Apply>' % (quoteattr(f), r(m), r(s)))
        doc.add('</DerivedField>')
    doc.add('</LocalTransformations>')


# ---- models ---------------------------------------------------------------------------
def tree_nodes(doc, tree, names, classes, scale=1.0, node=0, pred='<True/>', is_reg=False):
    t = tree.tree_
    left, right = t.children_left[node], t.children_right[node]
    value = t.value[node]
    if is_reg:
        score = value[0][0] * scale if scale != 1.0 else value[0][0]
        doc.add('<Node id="%d" score=%s>' % (node, quoteattr(r(score))))
        doc.add(pred)
    else:
        counts = value[0]
        doc.add('<Node id="%d" score=%s recordCount=%s>' % (node, quoteattr(str(classes[int(np.argmax(counts))])),
                                                             quoteattr(r(counts.sum()))))
        doc.add(pred)
        for c, cnt in zip(classes, counts):
            doc.add('<ScoreDistribution value=%s recordCount=%s/>' % (quoteattr(str(c)), quoteattr(r(cnt))))
    if left != -1:
        f = names[t.feature[node]]
        thr = r(t.threshold[node])
        tree_nodes(doc, tree, names, classes, scale, left,
                   '<SimplePredicate field=%s operator="lessOrEqual" value="%s"/>' % (quoteattr(f), thr), is_reg)
        tree_nodes(doc, tree, names, classes, scale, right,
                   '<SimplePredicate field=%s operator="greaterThan" value="%s"/>' % (quoteattr(f), thr), is_reg)
    doc.add('</Node>')


def tree_model(doc, tree, fields, target, classes, is_reg, scale=1.0, outputs=True):
    fn = "regression" if is_reg else "classification"
    doc.add('<TreeModel functionName="%s" splitCharacteristic="binarySplit" noTrueChildStrategy="returnLastPrediction">' % fn)
    mining_schema(doc, fields, target)
    if outputs and not is_reg:
        output(doc, classes)
    tree_nodes(doc, tree, fields, classes, scale, is_reg=is_reg)
    doc.add('</TreeModel>')


def write_tree(tree, fields, target, classes=None):
    is_reg = classes is None
    doc = Doc()
    header(doc, fields, target, classes)
    tree_model(doc, tree, fields, target, classes, is_reg)
    doc.add('</PMML>')
    return doc.text()


def write_forest(forest, fields, target, classes=None):
    is_reg = classes is None
    doc = Doc()
    header(doc, fields, target, classes)
    doc.add('<MiningModel functionName="%s">' % ("regression" if is_reg else "classification"))
    mining_schema(doc, fields, target)
    if not is_reg:
        output(doc, classes)
    doc.add('<Segmentation multipleModelMethod="average">')
    for i, est in enumerate(forest.estimators_):
        doc.add('<Segment id="%d"><True/>' % (i + 1))
        tree_model(doc, est, fields, target, classes, is_reg, outputs=False)
        doc.add('</Segment>')
    doc.add('</Segmentation></MiningModel></PMML>')
    return doc.text()


def _gb_sum(doc, gb, fields, target_name, output_name=None):
    """MiningModel(sum): a root-only tree holding the initial prediction, then lr * tree."""
    doc.add('<MiningModel functionName="regression">')
    mining_schema(doc, fields, target_name)
    if output_name:
        doc.add('<Output><OutputField name=%s optype="continuous" dataType="double" feature="predictedValue"/></Output>'
                % quoteattr(output_name))
    doc.add('<Segmentation multipleModelMethod="sum">')
    init = gb._raw_predict_init(np.zeros((1, len(fields)), dtype=np.float32))[0][0]
    doc.add('<Segment id="init"><True/><TreeModel functionName="regression">')
    mining_schema(doc, fields, None)
    doc.add('<Node score=%s><True/></Node></TreeModel></Segment>' % quoteattr(r(init)))
    for i, est in enumerate(gb.estimators_[:, 0]):
        doc.add('<Segment id="%d"><True/>' % (i + 1))
        doc.add('<TreeModel functionName="regression" splitCharacteristic="binarySplit">')
        mining_schema(doc, fields, None)
        tree_nodes(doc, est, fields, None, gb.learning_rate, is_reg=True)
        doc.add('</TreeModel></Segment>')
    doc.add('</Segmentation></MiningModel>')


def write_gb(gb, fields, target, classes=None):
    doc = Doc()
    header(doc, fields, target, classes)
    if classes is None:
        _gb_sum(doc, gb, fields, target)
        doc.add('</PMML>')
        return doc.text()
    # binary classification: modelChain of the raw score and a logit RegressionModel
    doc.add('<MiningModel functionName="classification">')
    mining_schema(doc, fields, target)
    output(doc, classes)
    doc.add('<Segmentation multipleModelMethod="modelChain">')
    doc.add('<Segment id="raw"><True/>')
    _gb_sum(doc, gb, fields, None, output_name="raw_score")
    doc.add('</Segment><Segment id="link"><True/>')
    doc.add('<RegressionModel functionName="classification" normalizationMethod="logit">')
    doc.add('<MiningSchema><MiningField name="raw_score"/><MiningField name=%s usageType="target"/></MiningSchema>'
            % quoteattr(target))
    doc.add('<RegressionTable intercept="0" targetCategory=%s><NumericPredictor name="raw_score" coefficient="1"/>'
            '</RegressionTable>' % quoteattr(str(classes[1])))
    doc.add('<RegressionTable intercept="0" targetCategory=%s/>' % quoteattr(str(classes[0])))
    doc.add('</RegressionModel></Segment></Segmentation></MiningModel></PMML>')
    return doc.text()


def write_linear(model, fields, target, classes=None, scaler=None, imputer=None, onehot=None):
    """LinearRegression / LogisticRegression, optionally behind StandardScaler and a mean
    SimpleImputer (numeric), plus one-hot encoded string inputs: onehot = (name, categories,
    first coefficient column index)."""
    doc = Doc()
    cat = {onehot[0]: list(onehot[1])} if onehot else {}
    header(doc, fields, target, classes, cat)
    is_reg = classes is None
    coef = np.atleast_2d(model.coef_)
    intercept = np.atleast_1d(model.intercept_)
    if is_reg:
        norm = "none"
    elif len(classes) == 2:
        norm = "logit"
    else:
        norm = "softmax"
    doc.add('<RegressionModel functionName="%s" normalizationMethod="%s">' % ("regression" if is_reg else "classification", norm))
    repl = dict(zip(fields, imputer.statistics_)) if imputer is not None else {}
    mining_schema(doc, fields, target, repl, categorical=cat.keys())
    if not is_reg:
        output(doc, classes)
    names = list(fields)
    if scaler is not None:
        names = ["scaled_" + f for f in fields]
        scaler_transformations(doc, fields, scaler, names)

    def table(k, cls):
        attr = '' if cls is None else ' targetCategory=%s' % quoteattr(str(cls))
        doc.add('<RegressionTable intercept=%s%s>' % (quoteattr(r(intercept[k])), attr))
        for j, n in enumerate(names):
            doc.add('<NumericPredictor name=%s coefficient=%s/>' % (quoteattr(n), quoteattr(r(coef[k][j]))))
        if onehot:
            for i, v in enumerate(onehot[1]):
                doc.add('<CategoricalPredictor name=%s value=%s coefficient=%s/>'
                        % (quoteattr(onehot[0]), quoteattr(str(v)), quoteattr(r(coef[k][onehot[2] + i]))))
        doc.add('</RegressionTable>')

    if is_reg:
        table(0, None)
    elif len(classes) == 2:
        table(0, classes[1])
        doc.add('<RegressionTable intercept="0" targetCategory=%s/>' % quoteattr(str(classes[0])))
    else:
        for k, c in enumerate(classes):
            table(k, c)
    doc.add('</RegressionModel></PMML>')
    return doc.text()


ACT = {"relu": "rectifier", "tanh": "tanh", "logistic": "logistic", "identity": "identity"}


def write_mlp(mlp, fields, target, classes=None, scaler=None):
    doc = Doc()
    header(doc, fields, target, classes)
    is_reg = classes is None
    doc.add('<NeuralNetwork functionName="%s" activationFunction="%s">'
            % ("regression" if is_reg else "classification", ACT[mlp.activation]))
    mining_schema(doc, fields, target)
    if not is_reg:
        output(doc, classes)
    names = list(fields)
    if scaler is not None:
        names = ["scaled_" + f for f in fields]
        scaler_transformations(doc, fields, scaler, names)
    doc.add('<NeuralInputs>')
    for i, n in enumerate(names):
        doc.add('<NeuralInput id="in%d"><DerivedField optype="continuous" dataType="double"><FieldRef field=%s/>'
                '</DerivedField></NeuralInput>' % (i, quoteattr(n)))
    doc.add('</NeuralInputs>')
    prev = ["in%d" % i for i in range(len(names))]
    nl = len(mlp.coefs_)
    for li, (W, b) in enumerate(zip(mlp.coefs_, mlp.intercepts_)):
        last = li == nl - 1
        if not last:
            act, norm = ACT[mlp.activation], "none"
        elif mlp.out_activation_ == "softmax":
            act, norm = "identity", "softmax"
        else:
            act, norm = ACT[mlp.out_activation_], "none"
        doc.add('<NeuralLayer activationFunction="%s" normalizationMethod="%s">' % (act, norm))
        ids = []
        for k in range(W.shape[1]):
            nid = "l%dn%d" % (li, k)
            ids.append(nid)
            doc.add('<Neuron id="%s" bias=%s>' % (nid, quoteattr(r(b[k]))))
            for j, src in enumerate(prev):
                doc.add('<Con from="%s" weight=%s/>' % (src, quoteattr(r(W[j][k]))))
            doc.add('</Neuron>')
        doc.add('</NeuralLayer>')
        prev = ids
    outs = []
    if not is_reg and len(classes) == 2:
        # one logistic unit gives p(class 1); an identity layer adds p(class 0) = 1 - p
        doc.add('<NeuralLayer activationFunction="identity">')
        doc.add('<Neuron id="p0" bias="1"><Con from="%s" weight="-1"/></Neuron>' % prev[0])
        doc.add('<Neuron id="p1" bias="0"><Con from="%s" weight="1"/></Neuron>' % prev[0])
        doc.add('</NeuralLayer>')
        outs = [("p0", classes[0]), ("p1", classes[1])]
    elif not is_reg:
        outs = list(zip(prev, classes))
    doc.add('<NeuralOutputs>')
    if is_reg:
        doc.add('<NeuralOutput outputNeuron="%s"><DerivedField optype="continuous" dataType="double">'
                '<FieldRef field=%s/></DerivedField></NeuralOutput>' % (prev[0], quoteattr(target)))
    else:
        for nid, c in outs:
            doc.add('<NeuralOutput outputNeuron="%s"><DerivedField optype="categorical" dataType="string">'
                    '<NormDiscrete field=%s value=%s/></DerivedField></NeuralOutput>' % (nid, quoteattr(target), quoteattr(str(c))))
    doc.add('</NeuralOutputs></NeuralNetwork></PMML>')
    return doc.text()


def _kernel(svm):
    g = svm._gamma
    if svm.kernel == "rbf":
        return '<RadialBasisKernelType gamma=%s/>' % quoteattr(r(g))
    if svm.kernel == "poly":
        return '<PolynomialKernelType gamma=%s coef0=%s degree=%s/>' % (quoteattr(r(g)), quoteattr(r(svm.coef0)),
                                                                        quoteattr(r(svm.degree)))
    if svm.kernel == "sigmoid":
        return '<SigmoidKernelType gamma=%s coef0=%s/>' % (quoteattr(r(g)), quoteattr(r(svm.coef0)))
    return '<LinearKernelType/>'


def write_svm(svm, fields, target, classes=None):
    doc = Doc()
    header(doc, fields, target, classes)
    is_reg = classes is None
    extra = '' if is_reg else ' classificationMethod="OneAgainstOne"'
    doc.add('<SupportVectorMachineModel functionName="%s"%s>' % ("regression" if is_reg else "classification", extra))
    mining_schema(doc, fields, target)
    if not is_reg:
        doc.add('<Output><OutputField name="predicted" optype="categorical" dataType="string" feature="predictedValue"/></Output>')
    doc.add(_kernel(svm))
    sv = svm.support_vectors_
    doc.add('<VectorDictionary numberOfVectors="%d"><VectorFields>' % len(sv))
    for f in fields:
        doc.add('<FieldRef field=%s/>' % quoteattr(f))
    doc.add('</VectorFields>')
    for i, v in enumerate(sv):
        doc.add('<VectorInstance id="%d"><Array type="real" n="%d">%s</Array></VectorInstance>'
                % (i, len(v), " ".join(r(x) for x in v)))
    doc.add('</VectorDictionary>')
    if is_reg:
        doc.add('<SupportVectorMachine><SupportVectors>')
        for i in range(len(sv)):
            doc.add('<SupportVector vectorId="%d"/>' % i)
        doc.add('</SupportVectors><Coefficients absoluteValue=%s>' % quoteattr(r(svm.intercept_[0])))
        for c in svm.dual_coef_[0]:
            doc.add('<Coefficient value=%s/>' % quoteattr(r(c)))
        doc.add('</Coefficients></SupportVectorMachine>')
    else:
        # libsvm one-vs-one: machine (i, j) votes i when its decision value is > 0. PMML picks
        # targetCategory when f < threshold (0), so f is written as the negated decision value.
        starts = np.concatenate([[0], np.cumsum(svm.n_support_)])
        k = 0
        for i in range(len(classes)):
            for j in range(i + 1, len(classes)):
                idx_i = range(starts[i], starts[i + 1])
                idx_j = range(starts[j], starts[j + 1])
                doc.add('<SupportVectorMachine targetCategory=%s alternateTargetCategory=%s><SupportVectors>'
                        % (quoteattr(str(classes[i])), quoteattr(str(classes[j]))))
                for v in list(idx_i) + list(idx_j):
                    doc.add('<SupportVector vectorId="%d"/>' % v)
                doc.add('</SupportVectors><Coefficients absoluteValue=%s>' % quoteattr(r(-svm.intercept_[k])))
                for v in idx_i:
                    doc.add('<Coefficient value=%s/>' % quoteattr(r(-svm.dual_coef_[j - 1][v])))
                for v in idx_j:
                    doc.add('<Coefficient value=%s/>' % quoteattr(r(-svm.dual_coef_[i][v])))
                doc.add('</Coefficients></SupportVectorMachine>')
                k += 1
    doc.add('</SupportVectorMachineModel></PMML>')
    return doc.text()


def write_svm_ovr(ovr, fields, target, classes, max_wins=False):
    """sklearn OneVsRestClassifier of binary SVCs as a one-vs-rest SupportVectorMachineModel.
    Estimator k's decision value d_k (> 0: class k) is the machine's f with maxWins, else
    -d_k (PMML's default: the smallest f wins); sklearn takes the first argmax, PMML the
    first machine on a tie."""
    doc = Doc()
    header(doc, fields, target, classes)
    doc.add('<SupportVectorMachineModel functionName="classification" classificationMethod="OneAgainstAll"%s>'
            % (' maxWins="true"' if max_wins else ''))
    mining_schema(doc, fields, target)
    doc.add('<Output><OutputField name="predicted" optype="categorical" dataType="string" feature="predictedValue"/>'
            '</Output>')
    doc.add(_kernel(ovr.estimators_[0]))
    sign = 1.0 if max_wins else -1.0
    total = sum(len(e.support_vectors_) for e in ovr.estimators_)
    doc.add('<VectorDictionary numberOfVectors="%d"><VectorFields>' % total)
    for f in fields:
        doc.add('<FieldRef field=%s/>' % quoteattr(f))
    doc.add('</VectorFields>')
    for k, est in enumerate(ovr.estimators_):
        for i, v in enumerate(est.support_vectors_):
            doc.add('<VectorInstance id="%d_%d"><Array type="real" n="%d">%s</Array></VectorInstance>'
                    % (k, i, len(v), " ".join(r(x) for x in v)))
    doc.add('</VectorDictionary>')
    for k, est in enumerate(ovr.estimators_):
        doc.add('<SupportVectorMachine targetCategory=%s><SupportVectors>' % quoteattr(str(classes[k])))
        for i in range(len(est.support_vectors_)):
            doc.add('<SupportVector vectorId="%d_%d"/>' % (k, i))
        doc.add('</SupportVectors><Coefficients absoluteValue=%s>' % quoteattr(r(sign * est.intercept_[0])))
        for c in est.dual_coef_[0]:
            doc.add('<Coefficient value=%s/>' % quoteattr(r(sign * c)))
        doc.add('</Coefficients></SupportVectorMachine>')
    doc.add('</SupportVectorMachineModel></PMML>')
    return doc.text()


def write_gaussian_nb(nb, fields, target, classes):
    doc = Doc()
    header(doc, fields, target, classes)
    doc.add('<NaiveBayesModel functionName="classification" threshold="0">')
    mining_schema(doc, fields, target)
    output(doc, classes)
    doc.add('<BayesInputs>')
    for j, f in enumerate(fields):
        doc.add('<BayesInput fieldName=%s><TargetValueStats>' % quoteattr(f))
        for k, c in enumerate(classes):
            doc.add('<TargetValueStat value=%s><GaussianDistribution mean=%s variance=%s/></TargetValueStat>'
                    % (quoteattr(str(c)), quoteattr(r(nb.theta_[k][j])), quoteattr(r(nb.var_[k][j]))))
        doc.add('</TargetValueStats></BayesInput>')
    doc.add('</BayesInputs><BayesOutput fieldName=%s><TargetValueCounts>' % quoteattr(target))
    for k, c in enumerate(classes):
        doc.add('<TargetValueCount value=%s count=%s/>' % (quoteattr(str(c)), quoteattr(r(nb.class_count_[k]))))
    doc.add('</TargetValueCounts></BayesOutput></NaiveBayesModel></PMML>')
    return doc.text()


def write_kmeans(km, fields):
    doc = Doc()
    header(doc, fields, None, None)
    doc.add('<ClusteringModel functionName="clustering" modelClass="centerBased" numberOfClusters="%d">'
            % len(km.cluster_centers_))
    mining_schema(doc, fields, None)
    doc.add('<Output><OutputField name="cluster" optype="categorical" dataType="string" feature="predictedValue"/>'
            '<OutputField name="distance" optype="continuous" dataType="double" feature="clusterAffinity"/></Output>')
    doc.add('<ComparisonMeasure kind="distance"><squaredEuclidean/></ComparisonMeasure>')
    for f in fields:
        doc.add('<ClusteringField field=%s/>' % quoteattr(f))
    for i, c in enumerate(km.cluster_centers_):
        doc.add('<Cluster id="%d"><Array type="real" n="%d">%s</Array></Cluster>' % (i, len(c), " ".join(r(x) for x in c)))
    doc.add('</ClusteringModel></PMML>')
    return doc.text()
