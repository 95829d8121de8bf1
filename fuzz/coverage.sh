#!/usr/bin/env bash
# Line and branch coverage of the plugin and the filter compiler reached by
# the fuzzers' corpora (after fuzz/run.sh), measured with llvm-cov.
#
#   fuzz/coverage.sh [WORK_DIR]     (default .cache/fuzz, run.sh's)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
work=${1:-$root/.cache/fuzz}
build=$root/.cache/build-fuzz-cov
clang_bin=$(command -v clang || command -v clang-14)
llvm_bin=$(dirname "$(readlink -f "$clang_bin")")

if [ ! -f "$build/CMakeCache.txt" ]; then
	CC=$clang_bin cmake -S "$root/fuzz" -B "$build" -DFUZZ_COVERAGE=ON >/dev/null
fi
cmake --build "$build" -j2 --target fuzz_dissector fuzz_dissector_seq fuzz_filter >/dev/null

for target in fuzz_dissector fuzz_dissector_seq fuzz_filter; do
	folders=()
	for folder in "$work/corpus/$target" "$work/seeds/${target#fuzz_}"; do
		[ -d "$folder" ] && folders+=("$folder")
	done
	[ "$target" = fuzz_dissector_seq ] && [ -d "$work/seeds/seq" ] && folders+=("$work/seeds/seq")
	rm -f "$build/$target.profraw"
	LLVM_PROFILE_FILE="$build/$target.profraw" "$build/$target" -runs=0 "${folders[@]}" >/dev/null 2>&1
	"$llvm_bin/llvm-profdata" merge -o "$build/$target.profdata" "$build/$target.profraw"
	echo "== $target (corpus: ${folders[*]})"
	"$llvm_bin/llvm-cov" report "$build/$target" -instr-profile="$build/$target.profdata" \
		"$root/dissector" "$root/extcap/filter.c" | grep -v '^-*$'
done
