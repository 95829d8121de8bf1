#!/usr/bin/env bash
# Configure and build the fuzz targets and the ASan plugin with clang.
#   fuzz/build.sh [BUILD_DIR]        (default .cache/build-fuzz)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/.cache/build-fuzz}

clang_bin=$(command -v clang || command -v clang-14 || true)
if [ -z "$clang_bin" ]; then
	echo "fuzz/build.sh: clang not found (scripts/install-deps.sh installs clang-14)" >&2
	exit 2
fi
mkdir -p "$build"
log="$build/build.log"
if { [ -f "$build/CMakeCache.txt" ] ||
	CC=$clang_bin cmake -S "$root/fuzz" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo; } >"$log" 2>&1 &&
	cmake --build "$build" -j2 >>"$log" 2>&1; then
	exit 0
fi
cat "$log" >&2
echo "fuzz/build.sh: build failed (log $log)" >&2
exit 1
