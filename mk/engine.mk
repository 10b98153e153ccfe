# engine.mk -- the engine's oracle test (tests/oracle/test_engine_ort.py) and benchmark
# (bench/bench_engine.c) run ONNX Runtime through onnxruntime-node, pinned and installed
# by deps-runners into runners/ort-node/node_modules; nothing else to install here.
deps-extra: deps-engine
.PHONY: deps-engine
deps-engine: deps-runners
	@echo "engine: ONNX Runtime (oracle and benchmark) comes from runners/ort-node"

# GCC's -O2 vectoriser uses the "very-cheap" cost model: it skips every loop whose trip
# count is not a known multiple of the vector width, i.e. all of the engine's elementwise
# kernels. The engine's objects use the "dynamic" model (runtime alias/trip checks).
ifeq ($(findstring clang,$(CC)),)
$(BUILD)/obj/model/engine%.o: CFLAGS_ALL += -fvect-cost-model=dynamic
endif

# The GEMM test's reference loop must round every product and sum like the engine does
# (model/ objects are built with -ffp-contract=off, see convert.mk): no FMA contraction.
$(BUILD)/tests/test_engine_gemm: CFLAGS_ALL += -ffp-contract=off
