# onnx.mk -- the ONNX layer's extra dependencies.
# GNU time measures peak RSS in bench/bench_onnx.py. The ONNX Runtime used by
# tests/oracle/test_onnx_ort.py is the one mk/runners.mk installs (runners/ort-node,
# onnxruntime-node 1.30.0, --ignore-scripts); deps-onnx checks that its native binding loads.
DEB_PACKAGES += time nodejs npm
deps: deps-onnx
.PHONY: deps-onnx
deps-onnx: deps-runners
	@NODE_PATH=runners/ort-node/node_modules node -e \
	    "const o = require('onnxruntime-node'); if (!o.InferenceSession) process.exit(1)" \
	    && echo "onnxruntime-node native binding loads" \
	    || { echo "onnxruntime-node does not load: tests/oracle/test_onnx_ort.py will fail"; exit 1; }
