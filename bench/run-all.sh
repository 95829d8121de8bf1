#!/usr/bin/env bash
# Run every benchmark in turn: the dissector (host), capture and kernel (VM
# lab). Each prints its table and writes bench/results/<name>.json.
# Exit status: non-zero if any of them could not measure (all still run).
set -uo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
failed=()
for bench in dissector capture kernel; do
	echo "######## bench/$bench.sh ($(date +%T))"
	"$here/$bench.sh" || failed+=("$bench")
done
if [ "${#failed[@]}" -gt 0 ]; then
	echo "run-all: could not measure: ${failed[*]}" >&2
	exit 1
fi
echo "run-all: all benchmarks measured; results in $here/results/"
