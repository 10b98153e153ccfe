"""convert_cases.py -- hand-written PMML cases for the converter's three-way proof.

Each case: (name, pmml text, CSV header, CSV rows, refusal) -- refusal is None for a model
that must convert and agree, or the text the refusal message must contain. Rows hit the
split thresholds exactly, leave cells missing and use categories the model never saw.
"""

HEAD = '<?xml version="1.0"?>\n<PMML xmlns="http://www.dmg.org/PMML-4_4" version="4.4"><Header/>'
DD = ('<DataDictionary>'
      '<DataField name="a" optype="continuous" dataType="double"/>'
      '<DataField name="b" optype="continuous" dataType="double"/>'
      '<DataField name="c" optype="categorical" dataType="string">'
      '<Value value="x"/><Value value="y"/><Value value="z"/></DataField>'
      '<DataField name="y" optype="continuous" dataType="double"/>'
      '<DataField name="k" optype="categorical" dataType="string"><Value value="p"/><Value value="q"/>'
      '<Value value="r"/></DataField>'
      '</DataDictionary>')
MS_REG = ('<MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="c" %s/>'
          '<MiningField name="y" usageType="target"/></MiningSchema>')
MS_CLS = ('<MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="c" %s/>'
          '<MiningField name="k" usageType="target"/></MiningSchema>')
HEADER = ["a", "b", "c"]


def rows():
    """a, b on and around the thresholds used below (1.5, -0.5, 2.0, 3.0), missing cells,
    and c over its categories, an unseen one and missing"""
    out = []
    avals = ["1.5", "1.4999999999999998", "1.5000000000000002", "-0.5", "2.0", "3.0", "", "0", "10", "-7.25"]
    bvals = ["-0.5", "2.0", "", "0.75", "3.0", "-0.50000000000000011"]
    cvals = ["x", "y", "z", "w", ""]
    i = 0
    for a in avals:
        for b in bvals:
            out.append([a, b, cvals[i % len(cvals)]])
            i += 1
    return out


def tree_reg(strategy, extra_attr="", inner=None):
    inner = inner or (
        '<Node id="L" score="1.25"><SimplePredicate field="a" operator="lessOrEqual" value="1.5"/>'
        '<Node id="LL" score="-3"><SimplePredicate field="c" operator="equal" value="x"/></Node>'
        '<Node id="LR" score="7.5"><SimpleSetPredicate field="c" booleanOperator="isIn">'
        '<Array type="string">y z</Array></SimpleSetPredicate></Node></Node>'
        '<Node id="R" score="2.5"><SimplePredicate field="a" operator="greaterThan" value="1.5"/>'
        '<Node id="RL" score="11"><SimplePredicate field="b" operator="lessThan" value="-0.5"/></Node>'
        '<Node id="RR" score="13"><SimplePredicate field="b" operator="greaterOrEqual" value="-0.5"/></Node></Node>')
    return (HEAD + DD + '<TreeModel functionName="regression" missingValueStrategy="%s" %s>' % (strategy, extra_attr)
            + MS_REG % 'invalidValueTreatment="asIs"' + '<Node id="root" score="0.5"><True/>' + inner
            + '</Node></TreeModel></PMML>')


def cases():
    out = []
    r = rows()
    for strategy in ("none", "lastPrediction", "nullPrediction"):
        for ntc in ("returnNullPrediction", "returnLastPrediction"):
            out.append(("tree regression missingValueStrategy=%s noTrueChildStrategy=%s" % (strategy, ntc),
                        tree_reg(strategy, 'noTrueChildStrategy="%s"' % ntc), HEADER, r, None))
    out.append(("tree regression defaultChild", tree_reg("defaultChild").replace(
        '<Node id="root" score="0.5">', '<Node id="root" score="0.5" defaultChild="R">').replace(
        '<Node id="L" score="1.25">', '<Node id="L" score="1.25" defaultChild="LR">').replace(
        '<Node id="R" score="2.5">', '<Node id="R" score="2.5" defaultChild="RL">'), HEADER, r, None))
    # notEqual and isNotIn, isMissing / isNotMissing predicates
    inner = ('<Node id="M" score="4"><SimplePredicate field="b" operator="isMissing"/></Node>'
             '<Node id="N" score="5"><SimplePredicate field="c" operator="notEqual" value="x"/>'
             '<Node id="N1" score="6"><SimpleSetPredicate field="c" booleanOperator="isNotIn">'
             '<Array type="string">y</Array></SimpleSetPredicate></Node>'
             '<Node id="N2" score="8"><True/></Node></Node>'
             '<Node id="O" score="9"><SimplePredicate field="a" operator="equal" value="3"/></Node>')
    for strategy in ("none", "lastPrediction"):
        out.append(("tree notEqual/isNotIn/isMissing, missingValueStrategy=%s" % strategy,
                    tree_reg(strategy, 'noTrueChildStrategy="returnLastPrediction"', inner), HEADER, r, None))
    # classification tree with distributions, unseen category returnInvalid (default)
    cls = (HEAD + DD + '<TreeModel functionName="classification" noTrueChildStrategy="returnLastPrediction">'
           + MS_CLS % '' +
           '<Output><OutputField name="pred" feature="predictedValue" dataType="string" optype="categorical"/>'
           '<OutputField name="p_q" feature="probability" value="q" dataType="double" optype="continuous"/>'
           '<OutputField name="p_best" feature="probability" dataType="double" optype="continuous"/></Output>'
           '<Node score="p"><True/><ScoreDistribution value="p" recordCount="5"/>'
           '<ScoreDistribution value="q" recordCount="3"/><ScoreDistribution value="r" recordCount="2"/>'
           '<Node score="q"><SimplePredicate field="a" operator="lessOrEqual" value="2"/>'
           '<ScoreDistribution value="p" recordCount="1"/><ScoreDistribution value="q" recordCount="6"/>'
           '<ScoreDistribution value="r" recordCount="3"/></Node>'
           '<Node score="r"><SimplePredicate field="c" operator="equal" value="z"/>'
           '<ScoreDistribution value="p" recordCount="1"/><ScoreDistribution value="q" recordCount="1"/>'
           '<ScoreDistribution value="r" recordCount="8"/></Node></Node></TreeModel></PMML>')
    out.append(("tree classification, unseen category -> invalid row", cls, HEADER, r, None))
    # transformations: NormContinuous (outliers asIs / asExtremeValues), Discretize, MapValues, NormDiscrete
    trans = (HEAD + DD + '<TransformationDictionary>'
             '<DerivedField name="na" optype="continuous" dataType="double"><NormContinuous field="a">'
             '<LinearNorm orig="-1" norm="0"/><LinearNorm orig="1.5" norm="0.5"/><LinearNorm orig="3" norm="1"/>'
             '</NormContinuous></DerivedField>'
             '<DerivedField name="nb" optype="continuous" dataType="double"><NormContinuous field="b" '
             'outliers="asExtremeValues" mapMissingTo="0.25"><LinearNorm orig="-0.5" norm="-1"/>'
             '<LinearNorm orig="2" norm="1"/></NormContinuous></DerivedField>'
             '<DerivedField name="da" optype="categorical" dataType="string"><Discretize field="a" '
             'defaultValue="mid" mapMissingTo="none"><DiscretizeBin binValue="low"><Interval closure="openClosed" '
             'rightMargin="1.5"/></DiscretizeBin><DiscretizeBin binValue="high"><Interval closure="closedOpen" '
             'leftMargin="3"/></DiscretizeBin></Discretize></DerivedField>'
             '<DerivedField name="mc" optype="continuous" dataType="double"><MapValues outputColumn="out" '
             'defaultValue="-1" mapMissingTo="-9"><FieldColumnPair field="c" column="in"/><InlineTable>'
             '<row><in>x</in><out>10</out></row><row><in>y</in><out>20</out></row></InlineTable></MapValues>'
             '</DerivedField>'
             '<DerivedField name="s" optype="continuous" dataType="double"><Apply function="+">'
             '<Apply function="*"><FieldRef field="a"/><FieldRef field="b"/></Apply>'
             '<Apply function="/"><FieldRef field="b"/><Constant>3</Constant></Apply></Apply></DerivedField>'
             '</TransformationDictionary>'
             '<RegressionModel functionName="regression">' + MS_REG % 'invalidValueTreatment="asIs"' +
             '<RegressionTable intercept="0.125"><NumericPredictor name="na" coefficient="2"/>'
             '<NumericPredictor name="nb" coefficient="-3"/><NumericPredictor name="mc" coefficient="0.5"/>'
             '<NumericPredictor name="s" coefficient="0.1"/>'
             '<CategoricalPredictor name="da" value="low" coefficient="100"/>'
             '<CategoricalPredictor name="da" value="high" coefficient="1000"/>'
             '</RegressionTable></RegressionModel></PMML>')
    out.append(("regression over NormContinuous/Discretize/MapValues/Apply", trans, HEADER, r, None))
    # missing value replacement + outliers on the mining fields, Targets rescale
    mv = (HEAD + DD + '<RegressionModel functionName="regression">'
          '<MiningSchema><MiningField name="a" missingValueReplacement="0.5" outliers="asExtremeValues" '
          'lowValue="-1" highValue="2"/><MiningField name="b" outliers="asMissingValues" lowValue="-0.5" '
          'highValue="2.5" missingValueReplacement="1"/><MiningField name="y" usageType="target"/></MiningSchema>'
          '<Targets><Target field="y" rescaleFactor="2" rescaleConstant="-1" min="-3" max="30"/></Targets>'
          '<RegressionTable intercept="1"><NumericPredictor name="a" coefficient="3"/>'
          '<NumericPredictor name="b" coefficient="-2" exponent="2"/></RegressionTable></RegressionModel></PMML>')
    out.append(("regression with replacement, outliers, Targets", mv, HEADER, r, None))
    # weighted average and majority vote of trees
    seg = ('<Segment weight="%s"><True/><TreeModel functionName="%s" noTrueChildStrategy="returnLastPrediction">'
           '<MiningSchema><MiningField name="a"/><MiningField name="b"/><MiningField name="%s" usageType="target"/>'
           '</MiningSchema><Node score="%s"><True/><Node score="%s"><SimplePredicate field="%s" '
           'operator="lessOrEqual" value="%s"/></Node></Node></TreeModel></Segment>')
    wavg = (HEAD + DD + '<MiningModel functionName="regression">' + MS_REG % 'invalidValueTreatment="asIs"' +
            '<Segmentation multipleModelMethod="weightedAverage">' +
            seg % ("0.5", "regression", "y", "1", "2", "a", "1.5") +
            seg % ("1.5", "regression", "y", "10", "-4", "b", "2") +
            seg % ("2", "regression", "y", "0.3", "0.7", "a", "3") + '</Segmentation></MiningModel></PMML>')
    out.append(("MiningModel weightedAverage of trees", wavg, HEADER, r, None))
    vote = (HEAD + DD + '<MiningModel functionName="classification">' + MS_CLS % 'invalidValueTreatment="asIs"' +
            '<Segmentation multipleModelMethod="majorityVote">' +
            seg % ("1", "classification", "k", "p", "q", "a", "1.5") +
            seg % ("1", "classification", "k", "r", "q", "b", "2") +
            seg % ("1", "classification", "k", "p", "r", "a", "3") +
            seg % ("1", "classification", "k", "q", "r", "b", "-0.5") + '</Segmentation></MiningModel></PMML>')
    out.append(("MiningModel majorityVote of trees (ties)", vote, HEADER, r, None))
    # GeneralRegressionModel: multinomial logistic with a factor, a covariate and an interaction
    glm = (HEAD + DD + '<GeneralRegressionModel modelType="multinomialLogistic" functionName="classification">'
           + MS_CLS % 'invalidValueTreatment="asIs"' +
           '<Output><OutputField name="pp" feature="probability" value="p"/><OutputField name="pq" '
           'feature="probability" value="q"/><OutputField name="pr" feature="probability" value="r"/></Output>'
           '<ParameterList><Parameter name="p0"/><Parameter name="p1"/><Parameter name="p2"/><Parameter name="p3"/>'
           '</ParameterList><FactorList><Predictor name="c"/></FactorList><CovariateList><Predictor name="a"/>'
           '<Predictor name="b"/></CovariateList><PPMatrix><PPCell value="1" predictorName="a" parameterName="p1"/>'
           '<PPCell value="y" predictorName="c" parameterName="p2"/><PPCell value="1" predictorName="a" '
           'parameterName="p3"/><PPCell value="2" predictorName="b" parameterName="p3"/></PPMatrix>'
           '<ParamMatrix><PCell targetCategory="p" parameterName="p0" beta="0.3"/>'
           '<PCell targetCategory="p" parameterName="p1" beta="-1.25"/>'
           '<PCell targetCategory="p" parameterName="p2" beta="2"/><PCell targetCategory="p" parameterName="p3" '
           'beta="0.125"/><PCell targetCategory="q" parameterName="p0" beta="-0.5"/>'
           '<PCell targetCategory="q" parameterName="p1" beta="0.75"/><PCell targetCategory="q" parameterName="p3" '
           'beta="-0.0625"/></ParamMatrix></GeneralRegressionModel></PMML>')
    out.append(("GeneralRegressionModel multinomialLogistic", glm, HEADER, r, None))
    glm_log = (HEAD + DD + '<GeneralRegressionModel modelType="generalizedLinear" functionName="regression" '
               'linkFunction="log">' + MS_REG % 'invalidValueTreatment="asIs"' +
               '<ParameterList><Parameter name="p0"/><Parameter name="p1"/><Parameter name="p2"/></ParameterList>'
               '<FactorList><Predictor name="c"/></FactorList><CovariateList><Predictor name="a"/></CovariateList>'
               '<PPMatrix><PPCell value="1" predictorName="a" parameterName="p1"/>'
               '<PPCell value="z" predictorName="c" parameterName="p2"/></PPMatrix><ParamMatrix>'
               '<PCell parameterName="p0" beta="0.1"/><PCell parameterName="p1" beta="0.2"/>'
               '<PCell parameterName="p2" beta="-0.7"/></ParamMatrix></GeneralRegressionModel></PMML>')
    out.append(("GeneralRegressionModel generalizedLinear, log link", glm_log, HEADER, r, None))
    # SupportVectorMachineModel one-vs-rest (the smallest decision value wins, maxWins: the
    # largest; machines r and q are identical, so the first listed wins their ties), and
    # one-vs-one with maxWins
    vecs = ('<VectorDictionary numberOfVectors="4"><VectorFields><FieldRef field="a"/><FieldRef field="b"/>'
            '</VectorFields><VectorInstance id="v0"><Array type="real" n="2">0 0</Array></VectorInstance>'
            '<VectorInstance id="v1"><Array type="real" n="2">1.5 -0.5</Array></VectorInstance>'
            '<VectorInstance id="v2"><Array type="real" n="2">-2 2</Array></VectorInstance>'
            '<VectorInstance id="v3"><Array type="real" n="2">3 0.75</Array></VectorInstance></VectorDictionary>')

    def machine(target, coefs, intercept, alt=None):
        attrs = 'targetCategory="%s"' % target + (' alternateTargetCategory="%s"' % alt if alt else '')
        return ('<SupportVectorMachine %s><SupportVectors>' % attrs
                + ''.join('<SupportVector vectorId="v%d"/>' % i for i in range(len(coefs)))
                + '</SupportVectors><Coefficients absoluteValue="%s">' % intercept
                + ''.join('<Coefficient value="%s"/>' % c for c in coefs) + '</Coefficients></SupportVectorMachine>')

    def svm(method, kernel, machines, extra=""):
        return (HEAD + DD + '<SupportVectorMachineModel functionName="classification" classificationMethod="%s" %s>'
                % (method, extra) + MS_CLS % 'invalidValueTreatment="asIs"' +
                '<Output><OutputField name="pred" feature="predictedValue" dataType="string" optype="categorical"/>'
                '<OutputField name="p_q" feature="probability" value="q" dataType="double" optype="continuous"/>'
                '</Output>' + kernel + vecs + "".join(machines) + '</SupportVectorMachineModel></PMML>')
    ovr = [machine("r", ["-0.3", "0.2", "0", "1"], "-0.2"), machine("p", ["0.5", "-1", "0.25", "0"], "0.1"),
           machine("q", ["-0.3", "0.2", "0", "1"], "-0.2")]
    out.append(("SVM one-vs-rest rbf (smallest wins, ties to the first machine)",
                svm("OneAgainstAll", '<RadialBasisKernelType gamma="0.5"/>', ovr), HEADER, r, None))
    out.append(("SVM one-vs-rest polynomial, maxWins (largest wins)",
                svm("OneAgainstAll", '<PolynomialKernelType gamma="0.25" coef0="1" degree="2"/>', ovr,
                    'maxWins="true"'), HEADER, r, None))
    out.append(("SVM one-vs-rest linear, binary (two machines)",
                svm("OneAgainstAll", '<LinearKernelType/>', ovr[1:]), HEADER, r, None))
    ovo = [machine("p", ["0.5", "-1", "0.25", "0"], "0.1", "q"), machine("p", ["-0.3", "0.2", "0", "1"], "-0.2", "r"),
           machine("q", ["1", "0.5", "-0.75", "0.1"], "0", "r")]
    out.append(("SVM one-vs-one sigmoid, maxWins (f > threshold votes the target)",
                svm("OneAgainstOne", '<SigmoidKernelType gamma="0.3" coef0="0.1"/>', ovo, 'maxWins="true"'),
                HEADER, r, None))
    mixed = [ovr[0], ovo[0]]
    out.append(("refuse an SVM mixing one-vs-one and one-vs-rest machines",
                svm("OneAgainstAll", '<LinearKernelType/>', mixed), HEADER, r, "mixing one-vs-one and one-vs-rest"))
    # probit / cauchit / negbin links and normalizations: the normal CDF and atan built from
    # double core operators (a in [-7.25, 10] drives eta over [-21, 31]: both tails)
    for link in ("probit", "cauchit", "negbin"):
        glm = glm_log.replace('linkFunction="log"', 'linkFunction="%s" distParameter="0.75"' % link).replace(
            'beta="0.2"', 'beta="3"')
        out.append(("GeneralRegressionModel generalizedLinear, %s link" % link, glm, HEADER, r, None))
    for norm in ("probit", "cauchit"):
        reg = (HEAD + DD + '<RegressionModel functionName="regression" normalizationMethod="%s">' % norm +
               MS_REG % '' + '<RegressionTable intercept="1"><NumericPredictor name="a" coefficient="3"/>'
               '<NumericPredictor name="b" coefficient="-0.5"/></RegressionTable></RegressionModel></PMML>')
        out.append(("RegressionModel normalizationMethod=%s (regression)" % norm, reg, HEADER, r, None))
        cls2 = (HEAD + DD.replace('<Value value="r"/>', '') +
                '<RegressionModel functionName="classification" normalizationMethod="%s">' % norm +
                MS_CLS % 'invalidValueTreatment="asIs"' +
                '<RegressionTable intercept="-0.5" targetCategory="p"><NumericPredictor name="a" coefficient="1.25"/>'
                '<CategoricalPredictor name="c" value="y" coefficient="2"/></RegressionTable>'
                '<RegressionTable intercept="0" targetCategory="q"/></RegressionModel></PMML>')
        out.append(("RegressionModel normalizationMethod=%s (binary classification)" % norm, cls2, HEADER, r, None))
    # the two functions swept: y = a over [-40, 40] (both tails, the series / continued
    # fraction switch at |a| = 2 sqrt 2, atan's reductions at |a| = 1 and tan(pi/8))
    sweep = [[repr(v), "0", "x"] for v in sorted(set([round(-40 + 0.0625 * i, 4) for i in range(1281)] +
                                                     [2 * 2 ** 0.5, -2 * 2 ** 0.5, 0.41421356237309503,
                                                      -0.41421356237309503, 1.0000000000000002, 0.9999999999999999,
                                                      1e-300, -1e-300, 1e300, -1e300]))]
    for norm in ("probit", "cauchit"):
        reg = (HEAD + DD + '<RegressionModel functionName="regression" normalizationMethod="%s">' % norm +
               MS_REG % '' + '<RegressionTable intercept="0"><NumericPredictor name="a" coefficient="1"/>'
               '</RegressionTable></RegressionModel></PMML>')
        out.append(("%s swept over [-40, 40] (%d values)" % (norm, len(sweep)), reg, HEADER, sweep, None))
    # Scorecard: per characteristic the first attribute holding, compound predicates of every
    # operator; characteristic "cc" matches nothing for c = x or missing: the row fails
    card = (HEAD + DD + '<Scorecard functionName="regression" useReasonCodes="false" initialScore="12.5">' +
            MS_REG % 'invalidValueTreatment="asIs"' + '<Characteristics>'
            '<Characteristic name="ca"><Attribute partialScore="-3"><SimplePredicate field="a" '
            'operator="lessOrEqual" value="1.5"/></Attribute><Attribute partialScore="7.25"><SimplePredicate '
            'field="a" operator="greaterThan" value="1.5"/></Attribute><Attribute partialScore="0.5">'
            '<SimplePredicate field="a" operator="isMissing"/></Attribute></Characteristic>'
            '<Characteristic name="cb"><Attribute partialScore="1"><CompoundPredicate booleanOperator="and">'
            '<SimplePredicate field="b" operator="greaterOrEqual" value="-0.5"/><SimplePredicate field="c" '
            'operator="notEqual" value="x"/></CompoundPredicate></Attribute><Attribute partialScore="2">'
            '<CompoundPredicate booleanOperator="surrogate"><SimplePredicate field="b" operator="lessThan" value="2"/>'
            '<SimpleSetPredicate field="c" booleanOperator="isIn"><Array type="string">y z</Array>'
            '</SimpleSetPredicate><False/></CompoundPredicate></Attribute><Attribute partialScore="4">'
            '<CompoundPredicate booleanOperator="xor"><SimplePredicate field="a" operator="lessThan" value="0"/>'
            '<SimplePredicate field="b" operator="isMissing"/></CompoundPredicate></Attribute>'
            '<Attribute partialScore="8"><CompoundPredicate booleanOperator="or"><SimplePredicate field="a" '
            'operator="equal" value="10"/><SimplePredicate field="b" operator="notEqual" value="0.75"/>'
            '</CompoundPredicate></Attribute><Attribute partialScore="16"><True/></Attribute></Characteristic>'
            '<Characteristic name="cc"><Attribute partialScore="100"><SimpleSetPredicate field="c" '
            'booleanOperator="isNotIn"><Array type="string">x</Array></SimpleSetPredicate></Attribute>'
            '</Characteristic></Characteristics></Scorecard></PMML>')
    out.append(("Scorecard (and/or/xor/surrogate attributes, rows matching no attribute)", card, HEADER, r, None))
    # RuleSetModel firstHit: a compound rule, score distributions, the default
    rules = ('<RuleSelectionMethod criterion="firstHit"/>'
             '<SimpleRule score="p"><CompoundPredicate booleanOperator="and"><SimplePredicate field="a" '
             'operator="lessOrEqual" value="1.5"/><SimplePredicate field="b" operator="greaterThan" value="-0.5"/>'
             '</CompoundPredicate><ScoreDistribution value="p" recordCount="6"/><ScoreDistribution value="q" '
             'recordCount="3"/><ScoreDistribution value="r" recordCount="1"/></SimpleRule>'
             '<CompoundRule><SimplePredicate field="c" operator="equal" value="y"/>'
             '<SimpleRule score="q"><SimplePredicate field="a" operator="greaterThan" value="0"/></SimpleRule>'
             '<SimpleRule score="p"><True/></SimpleRule></CompoundRule>'
             '<SimpleRule score="r"><CompoundPredicate booleanOperator="or"><SimplePredicate field="b" '
             'operator="isMissing"/><SimplePredicate field="a" operator="equal" value="3"/></CompoundPredicate>'
             '</SimpleRule>')
    ruleset = (HEAD + DD + '<RuleSetModel functionName="classification">' + MS_CLS % 'invalidValueTreatment="asIs"'
               + '<Output><OutputField name="pred" feature="predictedValue" dataType="string" optype="categorical"/>'
               '<OutputField name="p_p" feature="probability" value="p" dataType="double" optype="continuous"/>'
               '<OutputField name="p_r" feature="probability" value="r" dataType="double" optype="continuous"/>'
               '</Output><RuleSet defaultScore="r" defaultConfidence="0.25">%s</RuleSet></RuleSetModel></PMML>')
    out.append(("RuleSetModel firstHit with a default", ruleset % rules, HEADER, r, None))
    out.append(("RuleSetModel firstHit without a default (no prediction)",
                ruleset.replace(' defaultScore="r" defaultConfidence="0.25"', '') % rules, HEADER, r, None))
    out.append(("refuse RuleSetModel weightedSum", ruleset % rules.replace("firstHit", "weightedSum"), HEADER, r,
                "criterion weightedSum"))
    # refusals: constructs without a faithful ONNX form must be named
    simplemax = (HEAD + DD + '<RegressionModel functionName="classification" normalizationMethod="simplemax">' +
                 MS_CLS % '' + '<RegressionTable intercept="1" targetCategory="p"><NumericPredictor name="a" '
                 'coefficient="3"/></RegressionTable><RegressionTable intercept="2" targetCategory="q"/>'
                 '<RegressionTable intercept="0.5" targetCategory="r"/></RegressionModel></PMML>')
    out.append(("refuse simplemax normalization (three classes)", simplemax, HEADER, r,
                "normalizationMethod other than softmax"))
    # CompoundPredicates: or (KNIME's "x <= t or x is missing"), and, surrogate, under three strategies
    comp = ('<Node id="A" score="3"><CompoundPredicate booleanOperator="or">'
            '<SimplePredicate field="a" operator="lessOrEqual" value="1.5"/>'
            '<SimplePredicate field="b" operator="isMissing"/></CompoundPredicate>'
            '<Node id="A1" score="4"><CompoundPredicate booleanOperator="and">'
            '<SimplePredicate field="b" operator="greaterThan" value="-0.5"/>'
            '<SimplePredicate field="c" operator="notEqual" value="x"/></CompoundPredicate></Node>'
            '<Node id="A2" score="5"><CompoundPredicate booleanOperator="surrogate">'
            '<SimplePredicate field="b" operator="lessThan" value="2"/>'
            '<SimplePredicate field="a" operator="greaterOrEqual" value="-0.5"/><False/></CompoundPredicate></Node>'
            '</Node><Node id="B" score="6"><CompoundPredicate booleanOperator="or">'
            '<SimplePredicate field="a" operator="greaterThan" value="1.5"/>'
            '<SimpleSetPredicate field="c" booleanOperator="isNotIn"><Array type="string">x y</Array>'
            '</SimpleSetPredicate></CompoundPredicate></Node>')
    for strategy in ("none", "lastPrediction", "nullPrediction"):
        out.append(("tree with CompoundPredicate or/and/surrogate, missingValueStrategy=%s" % strategy,
                    tree_reg(strategy, 'noTrueChildStrategy="returnLastPrediction"', comp), HEADER, r, None))
    out.append(("tree with CompoundPredicate, defaultChild", tree_reg("defaultChild", "", comp).replace(
        '<Node id="root" score="0.5">', '<Node id="root" score="0.5" defaultChild="B">').replace(
        '<Node id="A" score="3">', '<Node id="A" score="3" defaultChild="A2">'), HEADER, r, None))
    xor = tree_reg("none", "", '<Node score="1"><CompoundPredicate booleanOperator="xor">'
                   '<SimplePredicate field="a" operator="lessThan" value="1"/>'
                   '<SimplePredicate field="b" operator="lessThan" value="1"/></CompoundPredicate></Node>')
    out.append(("refuse CompoundPredicate xor in a tree", xor, HEADER, r, "CompoundPredicate xor"))
    median = wavg.replace("weightedAverage", "median")
    out.append(("refuse median segmentation", median, HEADER, r, "multipleModelMethod"))
    nb = (HEAD + DD + '<NaiveBayesModel functionName="classification" threshold="0">' + MS_CLS % '' +
          '<BayesInputs><BayesInput fieldName="a"><TargetValueStats><TargetValueStat value="p">'
          '<GaussianDistribution mean="0" variance="1"/></TargetValueStat><TargetValueStat value="q">'
          '<GaussianDistribution mean="1" variance="1"/></TargetValueStat><TargetValueStat value="r">'
          '<GaussianDistribution mean="2" variance="1"/></TargetValueStat></TargetValueStats></BayesInput>'
          '</BayesInputs><BayesOutput fieldName="k"><TargetValueCounts><TargetValueCount value="p" count="1"/>'
          '<TargetValueCount value="q" count="1"/><TargetValueCount value="r" count="1"/></TargetValueCounts>'
          '</BayesOutput></NaiveBayesModel></PMML>')
    out.append(("NaiveBayesModel Gaussian", nb, HEADER, r, None))
    # Gaussian and discrete inputs, a threshold, a zero count, a category without PairCounts
    nb2 = (HEAD + DD + '<NaiveBayesModel functionName="classification" threshold="0.001">' +
           MS_CLS % 'invalidValueTreatment="asIs"' +
           '<Output><OutputField name="pred" feature="predictedValue" dataType="string" optype="categorical"/>'
           '<OutputField name="p_q" feature="probability" value="q" dataType="double" optype="continuous"/>'
           '</Output><BayesInputs><BayesInput fieldName="a"><TargetValueStats>'
           '<TargetValueStat value="p"><GaussianDistribution mean="0.5" variance="2"/></TargetValueStat>'
           '<TargetValueStat value="q"><GaussianDistribution mean="1.5" variance="0.25"/></TargetValueStat>'
           '<TargetValueStat value="r"><GaussianDistribution mean="-3" variance="9"/></TargetValueStat>'
           '</TargetValueStats></BayesInput><BayesInput fieldName="b"><TargetValueStats>'
           '<TargetValueStat value="p"><GaussianDistribution mean="0" variance="1"/></TargetValueStat>'
           '<TargetValueStat value="q"><GaussianDistribution mean="2" variance="0.5"/></TargetValueStat>'
           '<TargetValueStat value="r"><GaussianDistribution mean="0.75" variance="1e-3"/></TargetValueStat>'
           '</TargetValueStats></BayesInput><BayesInput fieldName="c">'
           '<PairCounts value="x"><TargetValueCounts><TargetValueCount value="p" count="10"/>'
           '<TargetValueCount value="q" count="0"/><TargetValueCount value="r" count="3"/></TargetValueCounts>'
           '</PairCounts><PairCounts value="y"><TargetValueCounts><TargetValueCount value="p" count="2"/>'
           '<TargetValueCount value="q" count="7"/><TargetValueCount value="r" count="3"/></TargetValueCounts>'
           '</PairCounts></BayesInput></BayesInputs><BayesOutput fieldName="k"><TargetValueCounts>'
           '<TargetValueCount value="p" count="12"/><TargetValueCount value="q" count="7"/>'
           '<TargetValueCount value="r" count="6"/></TargetValueCounts></BayesOutput></NaiveBayesModel></PMML>')
    out.append(("NaiveBayesModel Gaussian + discrete, threshold, zero count, category without PairCounts",
                nb2, HEADER, r, None))
    return out
