#!/usr/bin/env bash
# Build the libFuzzer targets and run each for a while.
#
#   fuzz/run.sh [SECONDS] [TARGET...]     (default: 600 s each, all targets)
#
# TARGET: fuzz_dissector, fuzz_dissector_seq, fuzz_filter.
# env FUZZ_BUILD_DIR   the fuzz build (default .cache/build-fuzz)
#     FUZZ_WORK_DIR    corpora and crash artifacts (default .cache/fuzz)
#     FUZZ_RUNS=N      also stop after N inputs (the CI's bounded runs)
#     FUZZ_SEED=N      libFuzzer's -seed (reproducible mutation order)
#     FUZZ_FRESH=1     start from the seed corpus only (forget earlier runs' corpus)
#     FUZZ_NO_BUILD=1  use FUZZ_BUILD_DIR as it is
#
# Seeds (fuzz/make-corpus.py) come from every capture under samples/; a
# target's working corpus in FUZZ_WORK_DIR/corpus/TARGET grows across runs.
# Exit status: 0 when no target crashed; 1 otherwise, with the artifacts
# (crash-*, leak-*, timeout-*, oom-*) under FUZZ_WORK_DIR/artifacts/TARGET/.
# Reproduce one: BUILD/TARGET ARTIFACT.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-600}
shift || true
targets=("$@")
[ "${#targets[@]}" -gt 0 ] || targets=(fuzz_dissector fuzz_dissector_seq fuzz_filter)
build=${FUZZ_BUILD_DIR:-$root/.cache/build-fuzz}
work=${FUZZ_WORK_DIR:-$root/.cache/fuzz}

# FUZZ_NO_BUILD=1: the binaries are already built (the ctest fixture did it)
[ "${FUZZ_NO_BUILD:-0}" = 1 ] || "$root/fuzz/build.sh" "$build"

seeds="$work/seeds"
rm -rf "$seeds"
mapfile -t captures < <(find "$root/samples" -name '*.pcap' -o -name '*.pcapng' | sort)
python3 "$root/fuzz/make-corpus.py" "$seeds" "${captures[@]}"

# Per target: seed folder, then libFuzzer options.
target_seeds() {
	case $1 in
	fuzz_dissector) echo "$seeds/dissector" ;;
	fuzz_dissector_seq) echo "$seeds/seq" ;;
	fuzz_filter) echo "$seeds/filter" ;;
	*) echo "run.sh: unknown target $1" >&2; exit 2 ;;
	esac
}

target_options() {
	case $1 in
	# one 64 KiB SEQPACKET fragment plus both headers fits
	fuzz_dissector) echo "-max_len=70000" ;;
	fuzz_dissector_seq) echo "-max_len=32768" ;;
	fuzz_filter) echo "-max_len=4096 -dict=$root/fuzz/fuzz_filter.dict" ;;
	esac
}

# libwireshark keeps per-session memory (reachable, but not ours to free),
# so leak checking is for the filter compiler only; a smaller quarantine
# keeps the dissector runs within the RSS limit.
target_asan_options() {
	case $1 in
	fuzz_filter) echo "detect_leaks=1" ;;
	*) echo "detect_leaks=0:quarantine_size_mb=64" ;;
	esac
}

status=0
for target in "${targets[@]}"; do
	corpus="$work/corpus/$target"
	artifacts="$work/artifacts/$target"
	[ "${FUZZ_FRESH:-0}" = 1 ] && rm -rf "$corpus"
	mkdir -p "$corpus" "$artifacts"
	log="$work/$target.log"
	read -r -a options <<<"$(target_options "$target")"
	[ -z "${FUZZ_RUNS:-}" ] || options+=("-runs=$FUZZ_RUNS")
	[ -z "${FUZZ_SEED:-}" ] || options+=("-seed=$FUZZ_SEED")

	echo "run.sh: $target for ${seconds}s (log $log)"
	start=$(date +%s)
	rc=0
	ASAN_OPTIONS="$(target_asan_options "$target"):abort_on_error=0" \
	UBSAN_OPTIONS=print_stacktrace=1 \
		"$build/$target" "${options[@]}" -max_total_time="$seconds" -timeout=25 \
		-rss_limit_mb=2560 -print_final_stats=1 -artifact_prefix="$artifacts/" \
		"$corpus" "$(target_seeds "$target")" >"$log" 2>&1 || rc=$?
	elapsed=$(( $(date +%s) - start ))

	runs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
	speed=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log")
	cov=$(grep -E '^#[0-9]+' "$log" | tail -1 | sed -n 's/.* cov: \([0-9]*\) ft: \([0-9]*\) corp: \([^ ]*\).*/cov \1, features \2, corpus \3/p')
	echo "run.sh: $target: ${runs:-?} inputs in ${elapsed}s (${speed:-?}/s), ${cov:-no stats}, exit $rc"
	if [ "$rc" -ne 0 ]; then
		status=1
		echo "run.sh: $target FAILED; artifacts:" >&2
		ls -1 "$artifacts" >&2
		grep -E 'ERROR|SUMMARY|runtime error|^fuzz_|^filter: |^accepted' "$log" | cut -c1-400 | head -20 >&2 || true
	fi
done
exit "$status"
