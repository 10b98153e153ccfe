#!/usr/bin/env bash
# test_startup.sh -- build/ferry maps neither libzmq nor libxml2 (nor their trees) at
# start-up (util/dl_libs.c loads them on first use), and still uses both when asked.
set -u
FERRY=${FERRY_BIN:-$PWD/build/ferry}
WORK=$(mktemp -d /tmp/ferry-startup-it.XXXXXX)
trap 'rm -rf "$WORK"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
ok() { echo "ok: $*"; }

needed=$(readelf -d "$FERRY" | grep NEEDED) || fail "readelf -d $FERRY"
echo "$needed" | grep -q 'libc\.so' || fail "readelf shows no NEEDED entries: $needed"
for lib in libzmq libxml2; do
    echo "$needed" | grep -q "$lib" && fail "$FERRY still links $lib: $needed"
done
deps=$(ldd "$FERRY") || fail "ldd $FERRY"
tree="libzmq libxml2 libicu libstdc++ libkrb5 libgssapi libsodium libpgm libnorm"
# A sanitizer build (make SAN=1) links libasan/libubsan, which need libstdc++ themselves.
echo "$needed" | grep -q 'libasan\|libubsan' && tree=${tree/libstdc++/}
for lib in $tree; do
    echo "$deps" | grep -q "$lib" && fail "$FERRY maps $lib at start-up: $deps"
done
ok "no libzmq/libxml2/ICU/libstdc++/krb5 among the start-up libraries"

# The libraries load when used: a process that only prints its version never maps them,
# one that makes keys (libzmq) does. LD_DEBUG=files names every object the loader opens.
LD_DEBUG=files "$FERRY" --version >"$WORK/v.out" 2>"$WORK/v.dbg" || fail "ferry --version: $(cat "$WORK/v.dbg")"
grep -q 'libzmq\|libxml2' "$WORK/v.dbg" && fail "ferry --version loaded libzmq/libxml2"
grep -q '^ferry ' "$WORK/v.out" || fail "ferry --version printed: $(cat "$WORK/v.out")"
LD_DEBUG=files "$FERRY" keygen -o "$WORK/k" >"$WORK/k.out" 2>"$WORK/k.dbg" \
    || fail "ferry keygen: $(grep -v '^ *[0-9]*:' "$WORK/k.dbg")"
grep -q 'file=libzmq.so.5 \[0\];  dynamically loaded' "$WORK/k.dbg" \
    || fail "ferry keygen did not dlopen libzmq.so.5: $(grep libzmq "$WORK/k.dbg" | head -3)"
ok "libzmq is dlopen()ed on first use (keygen), not at start-up (--version)"
