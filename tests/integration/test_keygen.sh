#!/usr/bin/env bash
# test_keygen.sh -- `ferry keygen`: files, modes, format, refusing to overwrite, --force
set -euo pipefail
: "${FERRY_BIN:?FERRY_BIN must point at the ferry binary}"
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
expect_rc() { # rc cmd...
    local want=$1; shift
    set +e; "$@" >"$tmp/out" 2>"$tmp/err"; local rc=$?; set -e
    [ "$rc" -eq "$want" ] || { echo "expected exit $want, got $rc: $*"; cat "$tmp/out" "$tmp/err"; exit 1; }
}

"$FERRY_BIN" keygen -o "$tmp/coord" >"$tmp/out"
[ "$(stat -c %a "$tmp/coord.key")" = 600 ]
[ "$(stat -c %a "$tmp/coord.pub")" = 644 ]
pub=$(sed -n 's/^public-key = //p' "$tmp/coord.pub")
[ ${#pub} -eq 40 ]
grep -qxF "public key: $pub" "$tmp/out" || { echo "public key not printed"; cat "$tmp/out"; exit 1; }
grep -qxF "public-key = $pub" "$tmp/coord.key"
grep -q '^secret-key = .\{40\}$' "$tmp/coord.key"
! grep -q secret "$tmp/coord.pub"
# the pair is consistent: derive the public key from the secret with libzmq itself
sec=$(sed -n 's/^secret-key = //p' "$tmp/coord.key")
/usr/bin/python3 - "$sec" "$pub" <<'PY'
import ctypes, ctypes.util, sys
zmq = ctypes.CDLL(ctypes.util.find_library("zmq") or "libzmq.so.5")
out = ctypes.create_string_buffer(41)
assert zmq.zmq_curve_public(out, sys.argv[1].encode()) == 0
assert out.value.decode() == sys.argv[2], (out.value, sys.argv[2])
PY

before=$(cat "$tmp/coord.key")
expect_rc 3 "$FERRY_BIN" keygen -o "$tmp/coord"
grep -q 'already exists' "$tmp/err"
[ "$(cat "$tmp/coord.key")" = "$before" ]
expect_rc 0 "$FERRY_BIN" keygen -o "$tmp/coord" --force
[ "$(cat "$tmp/coord.key")" != "$before" ]
[ "$(stat -c %a "$tmp/coord.key")" = 600 ]

(cd "$tmp" && "$FERRY_BIN" keygen >/dev/null && [ -f ferry.key ] && [ -f ferry.pub ])
expect_rc 0 "$FERRY_BIN" keygen --help
grep -q 'usage: ferry keygen' "$tmp/out"
expect_rc 2 "$FERRY_BIN" keygen -o
expect_rc 2 "$FERRY_BIN" keygen --bogus
expect_rc 4 "$FERRY_BIN" keygen -o "$tmp/no/such/dir/k"
grep -q 'cannot write' "$tmp/err"
echo "keygen ok"
