#!/usr/bin/env bash
# Capture benchmark: vsockdump (our extcap) against dumpcap and tcpdump on
# the same vsockmon link in the VM lab (one boot), same traffic, each
# capturer alone in turn. Per workload and capturer: frames captured vs
# frames the link delivered, kernel drops the capturer reports, its CPU time.
#
# Usage: bench/capture.sh          (as root; boots tests/vm/run-guest.sh)
# Knobs: BENCH_SECONDS (3: length of each workload), BENCH_REPS (2: every
#   workload x capturer this many times, summed), BENCH_BUILD
#   (.cache/build-bench), BENCH_CACHE (.cache/bench).
# Writes bench/results/capture.json; exit status non-zero if it could not measure.
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
seconds=${BENCH_SECONDS:-3}
reps=${BENCH_REPS:-2}
build=${BENCH_BUILD:-$repo/.cache/build-bench}
cache=${BENCH_CACHE:-$repo/.cache/bench}
results=$repo/bench/results/capture.json

fail() {
	echo "bench/capture: FAILED: $*" >&2
	exit 1
}

main() {
	[ "$(id -u)" -eq 0 ] || fail "run as root (QEMU lab)"
	mkdir -p "$cache" "$repo/bench/results"
	echo "== building vsockdump, vsock-traffic and kmod in $build" >&2
	cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build" -j2 --target vsockdump vsock-traffic kmod >/dev/null ||
		fail "build failed"
	[ -f "$build/kmod/vsockmon.ko" ] || fail "no $build/kmod/vsockmon.ko"
	cc -O2 -Wall -Wextra -Werror -pthread -o "$cache/vsock-flood" "$repo/bench/vsock-flood.c"

	local lab
	lab=$(mktemp -d /tmp/vsockmon-bench-capture.XXXXXX)
	echo "== VM lab run, results in $lab" >&2
	"$repo/tests/vm/run-guest.sh" --module "$build/kmod/vsockmon.ko" --mem 3072 \
		--timeout 900 --results "$lab" \
		"$repo/bench/capture-guest.sh" "$build" "$cache" "$seconds" "$reps" >"$lab/host.log" 2>&1 ||
		fail "lab run failed ($?): $(tail -15 "$lab/host.log")"
	[ -s "$lab/capture/runs.jsonl" ] || fail "no measurements in $lab/capture/runs.jsonl"
	python3 "$repo/bench/summarize-capture.py" "$lab/capture/runs.jsonl" "$results" "$seconds"
	rm -rf "$lab"
}

main "$@"
