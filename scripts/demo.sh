#!/usr/bin/env bash
# The main job in one command: install dependencies, build, and decode the
# bundled captures with tshark and the vsockmon plugin: the packet list, a
# header in full, the conversation table, a followed stream, and the frames
# of a host-side capture in which Linux's tap copied more than each vhost fragment.
# Usage (as root, on Debian 12): scripts/demo.sh
#
# tshark runs as an unprivileged user with the plugin in a throw-away
# personal plugin folder, so nothing is installed system-wide; to install
# for real, see "Install" in README.md.
set -euo pipefail
cd "$(dirname "$0")/.."

scripts/install-deps.sh
cmake -S . -B build -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
cmake --build build -j"$(nproc)" --target vsockmon_plugin >/dev/null
plugin=build/plugins/$(tshark --version 2>/dev/null | sed -n 's/^TShark (Wireshark) \([0-9]*\.[0-9]*\).*/\1/p')/epan/vsockmon.so

# tshark runs as nobody: it reads world-readable copies of the captures
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"
http=samples/real/http.pcap
[ -e "$http" ] || http=samples/crafted/http.pcap
cp "$http" samples/crafted/all-ops.pcap samples/real/vhost-split.pcap ../shared/peer-fixtures/tcpdump/vsock-1.pcapng \
	"$work"/ 2>/dev/null || cp "$http" samples/crafted/all-ops.pcap samples/real/vhost-split.pcap "$work"/
chmod 644 "$work"/*
http_port=$(tests/lib/tshark-user.sh "$plugin" -r "$work/$(basename "$http")" -T fields -e vsockmon.dst_port \
	-Y 'virtio_vsock.op == 1' -c 1)

show() {
	printf '\n\033[1m$ tshark %s\033[0m\n' "$*"
	tests/lib/tshark-user.sh "$plugin" "$@"
}

show -r "$work/all-ops.pcap"
show -r "$work/all-ops.pcap" -V -Y 'frame.number == 10' -O vsockmon,virtio_vsock
show -r "$work/$(basename "$http")" -d "vsockmon.port==$http_port,http" -Y http
show -r "$work/$(basename "$http")" -q -z conv,vsockmon -z endpoints,vsockmon
show -r "$work/$(basename "$http")" -q -z follow,vsockmon,ascii,0
# a host-side capture on Linux 6.1: the tap copies more than each vhost fragment
show -r "$work/vhost-split.pcap" -Y 'virtio_vsock.split.offset && vsockmon.stream == 1'
[ -e "$work/vsock-1.pcapng" ] && show -r "$work/vsock-1.pcapng"
echo
echo "demo: done. Open any vsockmon capture in Wireshark after 'cmake --install build'."
