# convert.mk -- build settings of the convert area (PMML -> ONNX, score on ONNX, compare).
#
# Exactness: the converter promises that a converted model computes what the PMML
# evaluator computes, bit for bit where the operations are the same. GCC contracts
# a*b+c into one FMA instruction (-ffp-contract=fast is its default for gnu11) wherever
# the target has FMA: the engine's target_clones("avx512f") kernels then round once
# where the evaluator (baseline x86-64, no FMA) rounds twice, and a real-world network's
# outputs drift by ~1e-15 (pmml-knime NeuralNetworkIris fails its 1e-15 PMMLEquivalence).
# Both evaluators live in model/, so their objects are compiled without contraction.
$(BUILD)/obj/model/%.o: CFLAGS_ALL += -ffp-contract=off
