#!/usr/bin/env bash
# Lab self-test, one guest boot: the lab environment is what run-guest.sh
# promises, Debian's vsockmon link can be created, tcpdump on it captures every
# vsock-traffic scenario, and the capture agrees with the generator's manifest.
# Usage: tests/vm/lab-selftest.sh VSOCK_TRAFFIC_BINARY [RESULTS_DIR]
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
traffic=${1:?usage: lab-selftest.sh VSOCK_TRAFFIC_BINARY [RESULTS_DIR]}
results=${2:-$(mktemp -d /tmp/vsockmon-selftest.XXXXXX)}
[ -x "$traffic" ] || { echo "lab-selftest: $traffic missing; build target vsock-traffic first" >&2; exit 1; }

mkdir -p "$results"
# The results share is visible in the guest wherever the build tree lives.
cp "$traffic" "$results/vsock-traffic"

start=$SECONDS
"$here/run-guest.sh" --module distro --timeout 240 --results "$results" \
	"$here/guest/lab-selftest.sh" /run/lab/results/vsock-traffic
echo "lab-selftest: guest part took $((SECONDS - start)) s"

python3 "$here/check_capture.py" --header "$repo/include/vsockmon_wire.h" --tshark \
	--expect http,seqpacket,refused,credit-stall,half-close,many-short,ttrpc,flood \
	"$results/selftest.pcap" "$results/selftest.manifest.jsonl"
