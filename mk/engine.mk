# engine.mk -- the engine's oracle test (tests/oracle/test_engine_ort.py) and benchmark
# (bench/bench_engine.c) run ONNX Runtime through onnxruntime-node, pinned and installed
# by deps-runners into runners/ort-node/node_modules; nothing else to install here.
deps: deps-engine
.PHONY: deps-engine
deps-engine: deps-runners
	@echo "engine: ONNX Runtime (oracle and benchmark) comes from runners/ort-node"
