#!/usr/bin/env bash
# The order oracle over whole captures: each capture becomes one
# fuzz_dissector_seq input (fuzz/make-corpus.py, whole/), which dissects its
# frames in order, again in order with `visited` set (the reference), then
# backwards and in a shuffled order, and aborts when a frame shows anything
# else on a later pass than on the reference one (fuzz/README.md, "Order
# oracle"). Each capture runs alone in a fresh epan session, as if opened in
# Wireshark.
#
#   tests/fuzz/order-oracle.sh FUZZ_BUILD_DIR CAPTURE_DIR...
#
# Fails when a capture shows an order-dependent item, or when the views the
# oracle compared lack what our layers always show in these samples (an
# oracle comparing empty views would pass anything).
set -euo pipefail

root=$(cd "$(dirname "$0")/../.." && pwd)
build=${1:?usage: order-oracle.sh FUZZ_BUILD_DIR CAPTURE_DIR...}
shift
[ "$#" -gt 0 ] || { echo "usage: order-oracle.sh FUZZ_BUILD_DIR CAPTURE_DIR..." >&2; exit 2; }

work=$(mktemp -d /tmp/vsockmon-order-oracle.XXXXXX)
trap 'rm -rf "$work"' EXIT

mapfile -t captures < <(find "$@" -maxdepth 1 \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
[ "${#captures[@]}" -gt 0 ] || { echo "order-oracle: no captures in $*" >&2; exit 2; }
python3 "$root/fuzz/make-corpus.py" "$work/corpus" "${captures[@]}" >/dev/null

failures=0
for input in "$work"/corpus/whole/*.seq; do
	name=$(basename "$input" .seq)
	log="$work/$name.log"
	# FUZZ_ORDER_DUMP: the reference views go to the log, for the check below.
	# libFuzzer's -detect_leaks=0: else it runs an input twice when mallocs
	# and frees differ (the session keeps memory), for a leak check ASan's
	# detect_leaks=0 turns off anyway.
	if FUZZ_ORDER_DUMP=1 FUZZ_SESSION_INPUTS=1 \
		ASAN_OPTIONS=detect_leaks=0:quarantine_size_mb=64 UBSAN_OPTIONS=print_stacktrace=1 \
		"$build/fuzz_dissector_seq" -runs=0 -detect_leaks=0 "$input" >"$log" 2>&1; then
		echo "ok: $name ($(grep -c '^=== frame' "$log") frames)"
	else
		failures=$((failures + 1))
		echo "FAIL: $name" >&2
		# the report: frame, pass order, both views (capped for the ctest log)
		sed -n '/ORDER BUG\|ERROR\|runtime error/,$p' "$log" | head -200 >&2
	fi
done

# What our layers show in these samples; missing means the oracle saw nothing.
for expected in '^vsockmon: ' '^virtio_vsock: ' '^ *ttrpc: ' 'virtio_vsock.analysis' \
	'_ws.expert' 'reassembled_in' '^Info: .'; do
	if ! grep -q -- "$expected" "$work"/*.log; then
		failures=$((failures + 1))
		echo "FAIL: no view line matches '$expected': the oracle compared less than it should" >&2
	fi
done

echo "order-oracle: ${#captures[@]} capture(s); $failures failure(s)"
[ "$failures" -eq 0 ]
