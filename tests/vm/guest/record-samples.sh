#!/bin/bash
# Guest half of scripts/record-samples.sh: one tcpdump capture on vsockmon0
# per vsock-traffic scenario, written to OUTDIR/<scenario>.pcap plus
# OUTDIR/<scenario>.manifest.jsonl.
# Usage: record-samples.sh VSOCK_TRAFFIC_BINARY OUTDIR SCENARIO...
set -euo pipefail

# shellcheck source=capture-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/capture-lib.sh"

traffic=$1
outdir=$2
shift 2

record() {
	local scenario=$1
	local manifest=$outdir/$scenario.manifest.jsonl
	rm -f "$manifest"
	capture_start vsockmon0 "/tmp/$scenario.pcap"
	# Five connections are enough to show the pattern and keep the file small.
	"$traffic" --manifest "$manifest" --count 5 "$scenario"
	capture_stop
	cp "/tmp/$scenario.pcap" "$outdir/$scenario.pcap"
	echo "record-samples: $scenario: $(stat -c %s "$outdir/$scenario.pcap") bytes"
}

main() {
	local scenario
	mkdir -p "$outdir"
	vsockmon_link_up vsockmon0
	for scenario in "$@"; do
		record "$scenario"
	done
}

main "$@"
