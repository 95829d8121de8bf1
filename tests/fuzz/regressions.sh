#!/usr/bin/env bash
# Replay, under ASan and UBSan, every input the fuzzers know:
#   1. every frame of every sample capture, alone (fuzz_dissector) and in
#      runs of consecutive frames (fuzz_dissector_seq), and the seed filters
#      (fuzz_filter): the seed corpus must never crash;
#   2. every reproducer in samples/crafted-fuzz/ (see its README.md):
#        *.pcap, *.pcapng  through tshark -2 -V with the ASan plugin and
#                          through both dissector targets,
#        *.filter          one filter string, through fuzz_filter.
# Fails if any of them crashes or reports.
#
#   tests/fuzz/regressions.sh FUZZ_BUILD_DIR CRAFTED_FUZZ_DIR
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: regressions.sh FUZZ_BUILD_DIR CRAFTED_FUZZ_DIR}
crafted=${2:?usage: regressions.sh FUZZ_BUILD_DIR CRAFTED_FUZZ_DIR}

work=$(mktemp -d /tmp/vsockmon-fuzz-regress.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
failures=0

# Run a libFuzzer binary once over files (no fuzzing: -runs=0 executes each).
replay() {
	local target=$1 what=$2
	shift 2
	local log="$work/$target.$what.log"
	if ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=64 UBSAN_OPTIONS=print_stacktrace=1 \
		"$build/$target" -runs=0 -artifact_prefix="$work/" "$@" >"$log" 2>&1; then
		echo "ok: $target over $what ($(grep -c '^Running: \|INITED' "$log" || true) file(s) or folder(s))"
	else
		failures=$((failures + 1))
		echo "FAIL: $target over $what" >&2
		grep -E 'ERROR|SUMMARY|runtime error|Running:|^fuzz_|^filter: |^accepted' "$log" | cut -c1-300 | tail -15 >&2
	fi
}

mapfile -t samples < <(find "$root/samples" \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
python3 "$root/fuzz/make-corpus.py" "$work/seeds" "${samples[@]}" >/dev/null
replay fuzz_dissector seed-frames "$work/seeds/dissector"
replay fuzz_dissector_seq seed-sequences "$work/seeds/seq"
replay fuzz_filter seed-filters "$work/seeds/filter"

mapfile -t repro_captures < <(find "$crafted" \( -name '*.pcap' -o -name '*.pcapng' \) 2>/dev/null | sort)
mapfile -t repro_filters < <(find "$crafted" -name '*.filter' 2>/dev/null | sort)

if [ "${#repro_captures[@]}" -gt 0 ]; then
	python3 "$root/fuzz/make-corpus.py" "$work/repro" "${repro_captures[@]}" >/dev/null
	replay fuzz_dissector reproducer-frames "$work/repro/dissector"
	replay fuzz_dissector_seq reproducer-sequences "$work/repro/seq"
	for capture in "${repro_captures[@]}"; do
		cp "$capture" "$work/"
		chmod 644 "$work/$(basename "$capture")"
		rc=0
		"$root/fuzz/asan-tshark.sh" "$build/plugin-asan/vsockmon.so" \
			-r "$work/$(basename "$capture")" -2 -V >/dev/null 2>"$work/tshark.err" || rc=$?
		if [ "$rc" -ne 0 ] || [ -s "$work/tshark.err" ]; then
			failures=$((failures + 1))
			echo "FAIL: tshark -2 -V with the ASan plugin on $capture (exit $rc)" >&2
			grep -E 'ERROR|SUMMARY|runtime error|[Bb]ug|^ *#[0-9]+ .* in ' "$work/tshark.err" | head -15 >&2 || head -5 "$work/tshark.err" >&2
		else
			echo "ok: tshark -2 -V on $(basename "$capture")"
		fi
	done
fi
# one at a time: a replay stops at its first crash
for filter_file in "${repro_filters[@]}"; do
	replay fuzz_filter "$(basename "$filter_file")" "$filter_file"
done

echo "regressions: ${#repro_captures[@]} capture(s), ${#repro_filters[@]} filter(s) in $crafted; $failures failure(s)"
[ "$failures" -eq 0 ]
