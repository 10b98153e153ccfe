#!/usr/bin/env bash
# test_probe.sh -- `ferry probe` on this machine: valid JSON, cores == nproc, memory ==
# /proc/meminfo MemTotal, arch == uname -m; text output and usage errors.
set -euo pipefail
: "${FERRY_BIN:?FERRY_BIN must point at the ferry binary}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT

"$FERRY_BIN" probe --json >"$tmp/probe.json"
/usr/bin/python3 -m json.tool "$tmp/probe.json" >/dev/null
/usr/bin/python3 - "$tmp/probe.json" <<'PY'
import json, os, platform, sys
p = json.load(open(sys.argv[1]))
nproc = len(os.sched_getaffinity(0))
mem = next(int(l.split()[1]) * 1024 for l in open("/proc/meminfo") if l.startswith("MemTotal:"))
assert p["cores"] == nproc, f"cores {p['cores']} != nproc {nproc}"
assert p["memory_bytes"] == mem, f"memory {p['memory_bytes']} != MemTotal {mem}"
assert p["arch"] == platform.machine(), (p["arch"], platform.machine())
assert p["kernel"] == platform.release(), (p["kernel"], platform.release())
assert isinstance(p["isa"], list) and all(isinstance(f, str) for f in p["isa"])
assert isinstance(p["gpus"], list)
names = [r["name"] for r in p["runtimes"]]
assert all(r["name"] in ("ort-node", "ort-python", "ort-python-cuda") and r["program"] for r in p["runtimes"]), p["runtimes"]
repo = os.getcwd()  # tests run from the repository root; ferry finds runners/ from its binary
installed = os.path.exists(os.path.join(repo, "runners/ort-node/node_modules/onnxruntime-node/package.json"))
import shutil
if installed and shutil.which("node"):
    assert "ort-node" in names, (names, repo)
flags = next((l.split(":", 1)[1].split() for l in open("/proc/cpuinfo") if l.startswith(("flags", "Features"))), [])
if "avx2" in flags:
    assert "avx2" in p["isa"]
if "sse4_2" in flags:
    assert "sse4.2" in p["isa"] and "sse4_2" not in p["isa"]
print(f"summary: probe: {p['arch']}, {p['cores']} cores, {p['memory_bytes'] >> 20} MiB, "
      f"{len(p['isa'])} ISA flags, {len(p['gpus'])} GPUs, runtimes {names}")
PY
[ "$(nproc)" = "$(/usr/bin/python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["cores"])' "$tmp/probe.json")" ]

"$FERRY_BIN" probe --no-runtimes --json | /usr/bin/python3 -c 'import json,sys; assert "runtimes" not in json.load(sys.stdin)'
"$FERRY_BIN" probe >"$tmp/probe.txt"
grep -q "^cores: *$(nproc)\$" "$tmp/probe.txt"
grep -q '^arch: ' "$tmp/probe.txt"
"$FERRY_BIN" probe --help | grep -q 'usage: ferry probe'
set +e
"$FERRY_BIN" probe --bogus 2>"$tmp/err"; rc=$?
set -e
[ $rc -eq 2 ] || { echo "expected exit 2 for a bad argument, got $rc"; exit 1; }
grep -q "unknown argument '--bogus'" "$tmp/err"
echo "probe ok"
