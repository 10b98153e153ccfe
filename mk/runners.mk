# runners.mk -- ONNX Runtime for Node.js (npm onnxruntime-node, pinned in
# runners/ort-node/package.json). --ignore-scripts: the package ships its native
# libonnxruntime; its install script would only try to download CUDA extras.
deps-extra: deps-runners
.PHONY: deps-runners
deps-runners:
	@# node and npm: Debian's packages unless the machine already has them (e.g. from
	@# another vendor's nodejs package, which conflicts with Debian's npm).
	@command -v npm >/dev/null && command -v node >/dev/null || { sudo=; [ "$$(id -u)" -ne 0 ] && sudo=sudo; \
	    $$sudo apt-get update -q && DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -q nodejs npm; }
	@if [ -f runners/ort-node/node_modules/onnxruntime-node/package.json ]; then \
	    echo "onnxruntime-node present"; \
	else cd runners/ort-node && npm install --ignore-scripts --no-package-lock --no-audit --no-fund --loglevel=error; fi
