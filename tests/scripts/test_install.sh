#!/bin/sh
# test_install.sh: `make install` into a temporary DESTDIR (this build: FL_OUT, FL_MODE, FL_CC
# from `make test`), then what a user of the installed library does: pkg-config --cflags
# --libs faultline builds tests/install/sim3.c (a 3-node Raft in the simulator through the
# public API) and examples/embed_raft.c against the shared library, and runs them; the
# shared library exports only fl_ names under its soname; `make uninstall` removes it all.
# Skipped, saying so, without pkg-config. About 5 s.
set -u
out=${FL_OUT:-build}
mode=${FL_MODE:-release}
cc=${FL_CC:-cc}
san=${FL_SANITIZE:-}
passed=0
failed=0
ok() { echo "ok   $1"; passed=$((passed + 1)); }
bad() { echo "FAIL $1"; failed=$((failed + 1)); }
check() { if eval "$2"; then ok "$1"; else bad "$1"; fi; }
if ! command -v pkg-config >/dev/null 2>&1; then
    echo "skipped: pkg-config is not installed (apt-get install pkg-config)"
    echo "0 passed, 0 failed"
    exit 0
fi
tmp=$(mktemp -d /tmp/fl-test-install-XXXXXX)
trap 'rm -rf "$tmp"' EXIT
root=$tmp/root
mk() { env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL make -s --no-print-directory MODE="$mode" CC="$cc" \
    PREFIX=/usr/local DESTDIR="$root" "$@"; }
check "make install" 'mk install >"$tmp/install.log" 2>&1 || { cat "$tmp/install.log"; false; }'
lib=$root/usr/local/lib
check "installed files" 'test -x "$root/usr/local/bin/faultline" && test -f "$lib/libfaultline.a" &&
    test -L "$lib/libfaultline.so" && test -L "$lib/libfaultline.so.0" &&
    test -f "$root/usr/local/include/faultline/raft.h" && test -f "$lib/pkgconfig/faultline.pc" &&
    test -f "$root/usr/local/share/man/man1/faultline.1"'
check "soname libfaultline.so.0" 'readelf -d "$lib/libfaultline.so" | grep -q "SONAME.*\[libfaultline\.so\.0\]"'
nm -D --defined-only "$lib/libfaultline.so" | awk '{ print $3 }' >"$tmp/syms"
check "exports fl_raft_step" 'grep -qx fl_raft_step "$tmp/syms"'
check "exports only fl_ names, no fl__" '! grep -v "^fl_[^_]" "$tmp/syms"'
export PKG_CONFIG_PATH="$lib/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$root"
flags=$(pkg-config --cflags --libs faultline 2>"$tmp/pc.err")
check "pkg-config --cflags --libs faultline" 'test -n "$flags" || { cat "$tmp/pc.err"; false; }'
# shellcheck disable=SC2086
check "sim3 builds against the installed library" \
    '$cc $san -o "$tmp/sim3" tests/install/sim3.c $flags 2>"$tmp/cc.err" || { cat "$tmp/cc.err"; false; }'
check "sim3 runs (3-node Raft in the simulator, shared library)" \
    'LD_LIBRARY_PATH="$lib" "$tmp/sim3" >"$tmp/sim3.out" 2>&1 && grep -q "checks held" "$tmp/sim3.out" || { cat "$tmp/sim3.out"; false; }'
check "sim3 uses the shared library" 'LD_LIBRARY_PATH="$lib" ldd "$tmp/sim3" | grep -q "libfaultline.so.0 => $lib"'
# shellcheck disable=SC2086
check "examples/embed_raft.c builds against it and runs" \
    '$cc $san -o "$tmp/embed" examples/embed_raft.c $flags && mkdir "$tmp/ex" &&
     LD_LIBRARY_PATH="$lib" "$tmp/embed" "$tmp/ex" >"$tmp/embed.out" 2>&1 || { cat "$tmp/embed.out"; false; }'
check "the man page reads" 'man -l "$root/usr/local/share/man/man1/faultline.1" >/dev/null 2>&1 || ! command -v man >/dev/null'
check "make uninstall removes it all" 'mk uninstall >/dev/null 2>&1 && test -z "$(find "$root" -type f -o -type l)"'
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
