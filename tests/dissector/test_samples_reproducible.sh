#!/usr/bin/env bash
# The committed crafted captures are exactly what craft-samples writes.
# Usage: test_samples_reproducible.sh CRAFT_SAMPLES_BINARY SAMPLES_DIR
set -euo pipefail
craft=$1
committed=$2/crafted
fresh=$(mktemp -d)
trap 'rm -rf "$fresh"' EXIT

"$craft" "$fresh" >/dev/null
status=0
for pcap in "$fresh"/*.pcap; do
	name=$(basename "$pcap")
	if ! cmp -s "$pcap" "$committed/$name"; then
		echo "FAIL: samples/crafted/$name differs from what craft-samples writes;" \
			"run: cmake --build build --target crafted-samples" >&2
		status=1
	fi
done
for pcap in "$committed"/*.pcap; do
	[ -e "$fresh/$(basename "$pcap")" ] || { echo "FAIL: $pcap is not written by craft-samples" >&2; status=1; }
done
[ "$status" -eq 0 ] && echo "crafted samples reproducible: $(ls "$fresh" | wc -l) captures"
exit "$status"
