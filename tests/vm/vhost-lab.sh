#!/usr/bin/env bash
# lab_vhost: the kernel's host transport in the VM lab. One guest boot loads
# vhost_vsock, plays the guest from user space (tests/traffic/vhost-peer) and
# captures both directions on a vsockmon link (tests/vm/guest/vhost.sh); then,
# on the host, check_vhost.py checks what each side received and what the
# plugin makes of the capture.
# Usage: [VSOCKMON_LAB_KVER=6.12] vhost-lab.sh MODULE VHOST_PEER PLUGIN RESULTS_DIR [VSOCKDUMP]
#   MODULE: distro or the path of our vsockmon.ko (run-guest.sh --module).
#   VSOCKDUMP: the vsockdump binary; default: the one built beside VHOST_PEER
#   (BUILD/extcap/vsockdump for BUILD/tests/traffic/vhost-peer), if any.
# The capture is RESULTS_DIR/out/vhost.pcap (samples/real/vhost-split.pcap and
# vhost-6.12.pcap were recorded this way with MODULE=distro on 6.1 and 6.12).
# With vsockdump, a second capture of the same traffic in
# --vhost-fragments=trim mode (RESULTS_DIR/out/vhost-trim.pcapng) is checked
# frame by frame against it.
set -euo pipefail

module=${1:?module}
peer=${2:?vhost-peer binary}
plugin=${3:?vsockmon.so}
results=${4:?results dir}
vsockdump=${5:-$(dirname "$peer")/../../extcap/vsockdump}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)

# VSOCKMON_LAB_KVER=6.12 (a series: its newest release) boots another kernel;
# skip (77) when apt offers none.
# shellcheck source=lib/common.sh
. "$here/lib/common.sh"
# shellcheck source=lib/kernel.sh
. "$here/lib/kernel.sh"
if [[ "${VSOCKMON_LAB_KVER:-}" =~ ^[0-9]+\.[0-9]+$ ]] &&
	[ -z "$(lab_series_newest_or_none "$VSOCKMON_LAB_KVER")" ]; then
	echo "vhost-lab: apt offers no linux-image-$VSOCKMON_LAB_KVER.*: skipped"
	exit 77
fi

rm -rf "$results" && mkdir -p "$results"
# The guest sees the host's files at their paths, except those under /tmp.
cp "$peer" "$results/vhost-peer"
guest_vsockdump=()
if [ -x "$vsockdump" ]; then
	cp "$vsockdump" "$results/vsockdump"
	guest_vsockdump=(/run/lab/results/vsockdump)
elif [ -n "${5:-}" ]; then
	echo "vhost-lab: $vsockdump is not an executable" >&2
	exit 2
else
	echo "vhost-lab: no vsockdump at $vsockdump: no trimmed capture"
fi
"$here/run-guest.sh" --module "$module" --timeout 240 --results "$results" \
	"$here/guest/vhost.sh" /run/lab/results/vhost-peer /run/lab/results/out "${guest_vsockdump[@]}"
VSOCKMON_PLUGIN=$plugin python3 "$here/check_vhost.py" "$results/out"
