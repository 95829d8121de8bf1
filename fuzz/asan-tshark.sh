#!/usr/bin/env bash
# tshark as an unprivileged user (tests/lib/tshark-user.sh) with a plugin
# built with -fsanitize=address,undefined (fuzz/build.sh's plugin-asan).
#
#   fuzz/asan-tshark.sh PLUGIN_SO [tshark args...]
#
# tshark itself has no ASan runtime, so it must be preloaded: clang's
# shared runtime (the plugin is linked with -shared-libasan). tshark-user.sh
# clears the environment but keeps PATH, so a "tshark" wrapper first in PATH
# sets LD_PRELOAD, the sanitizer options (abort on the first report; no
# leak check: tshark and libwireshark keep memory until exit by design) and
# WIRESHARK_ABORT_ON_DISSECTOR_BUG=1 (a failed DISSECTOR_ASSERT aborts
# instead of becoming an expert note).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
plugin=$(realpath "${1:?usage: asan-tshark.sh PLUGIN_SO [tshark args...]}")
shift

clang_bin=$(command -v clang || command -v clang-14)
asan_rt=$("$clang_bin" -print-file-name=libclang_rt.asan-x86_64.so)
[ -f "$asan_rt" ] || { echo "asan-tshark.sh: no ASan runtime ($asan_rt)" >&2; exit 2; }
tshark_bin=$(command -v tshark)

wrapper=$(mktemp -d /tmp/vsockmon-asan-tshark.XXXXXX)
trap 'rm -rf "$wrapper"' EXIT
cat >"$wrapper/tshark" <<WRAPPER
#!/bin/sh
export LD_PRELOAD=$asan_rt
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:halt_on_error=1:quarantine_size_mb=64
export UBSAN_OPTIONS=abort_on_error=1:halt_on_error=1:print_stacktrace=1
export WIRESHARK_ABORT_ON_DISSECTOR_BUG=1
exec $tshark_bin "\$@"
WRAPPER
chmod 755 "$wrapper" "$wrapper/tshark"
PATH="$wrapper:$PATH" "$root/tests/lib/tshark-user.sh" "$plugin" "$@"
