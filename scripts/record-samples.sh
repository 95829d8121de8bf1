#!/usr/bin/env bash
# Record the real captures in samples/real: boot the VM lab once with Debian's
# vsockmon module, capture each vsock-traffic scenario on vsockmon0 with
# tcpdump (pcap, LINKTYPE 271), and check each capture against its manifest.
# Usage: scripts/record-samples.sh [--traffic BIN] [--out DIR] [SCENARIO...]
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
traffic=$repo/build/tests/traffic/vsock-traffic
out=$repo/samples/real
scenarios=(http seqpacket refused credit-stall half-close many-short ttrpc)

while [ $# -gt 0 ]; do
	case "$1" in
	--traffic) traffic=$2; shift 2 ;;
	--out) out=$2; shift 2 ;;
	-h | --help) sed -n '2,5s/^# \{0,1\}//p' "$0"; exit 0 ;;
	-*) echo "record-samples: unknown option $1" >&2; exit 2 ;;
	*) break ;;
	esac
done
[ $# -gt 0 ] && scenarios=("$@")

if [ ! -x "$traffic" ]; then
	echo "record-samples: building vsock-traffic" >&2
	cmake -S "$repo" -B "$repo/build" >/dev/null
	cmake --build "$repo/build" --target vsock-traffic -j2 >/dev/null
fi

work=$(mktemp -d /tmp/vsockmon-record.XXXXXX)
trap 'rm -rf "$work"' EXIT
# The results share is visible in the guest wherever the build tree lives.
cp "$traffic" "$work/vsock-traffic"

"$repo/tests/vm/run-guest.sh" --module distro --timeout 300 --results "$work" \
	"$repo/tests/vm/guest/record-samples.sh" /run/lab/results/vsock-traffic \
	/run/lab/results/samples "${scenarios[@]}"

mkdir -p "$out"
for s in "${scenarios[@]}"; do
	python3 "$repo/tests/vm/check_capture.py" --tshark --expect "$s" \
		"$work/samples/$s.pcap" "$work/samples/$s.manifest.jsonl"
	cp "$work/samples/$s.pcap" "$work/samples/$s.manifest.jsonl" "$out/"
done
echo "record-samples: wrote ${#scenarios[@]} captures to $out"
