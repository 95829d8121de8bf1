#!/bin/bash
# Guest half of tests/vm/vhost-lab.sh: the kernel's host transport
# (vhost_vsock) with a user-space guest (tests/traffic/vhost-peer, CID 3,
# 4 KiB receive buffers), captured on a vsockmon link with tcpdump.
#   host -> guest: a host client sends HOST_BYTES to CID 3 port 7000, another
#                  one SOCK_SEQPACKET message of HOST_BYTES to port 7002;
#                  vhost splits each packet across the guest's receive buffers;
#   guest -> host: the guest connects to a host listener on port 7001 and
#                  sends GUEST_BYTES.
# Writes OUTDIR/vhost.pcap, peer.jsonl (vhost-peer's report) and host.json
# (what the host listener received).
# With VSOCKDUMP_BINARY, vsockdump --vhost-fragments=trim captures the same
# traffic on a link of its own beside tcpdump: OUTDIR/vhost-trim.pcapng, with
# its log (vsockdump.log) and standard error (vsockdump.err).
# Usage: vhost.sh VHOST_PEER_BINARY OUTDIR [VSOCKDUMP_BINARY]
set -euo pipefail

# shellcheck source=capture-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/capture-lib.sh"

peer=$1
outdir=$2
vsockdump=${3:-}
host_bytes=70000
guest_bytes=70000
guest_cid=3

fail() {
	echo "vhost-lab: FAIL: $*" >&2
	exit 1
}

# vhost_vsock and what it needs, from the guest kernel's own module tree
# (kmod's insmod reads compressed modules too).
load_vhost() {
	local dir=${LAB_MODULES_DIR:-$LAB_REPO/.cache/lab/$LAB_KVER/root/lib/modules/$LAB_KVER}
	local m path
	for m in vhost_iotlb vhost vhost_vsock; do
		path=$(find "$dir/kernel/drivers/vhost" -name "$m.ko*" -print -quit)
		[ -n "$path" ] || fail "no $m module under $dir"
		/usr/sbin/insmod "$path" || fail "insmod $path"
	done
	[ -c /dev/vhost-vsock ] || fail "/dev/vhost-vsock missing after loading vhost_vsock"
}

# The host side's listener: counts and checks what the guest sends.
host_listener() {
	timeout 120 python3 - "$outdir/host.json" "$outdir/listening" <<'PY'
import json, socket, sys
s = socket.socket(socket.AF_VSOCK, socket.SOCK_STREAM)
s.bind((socket.VMADDR_CID_ANY, 7001))
s.listen(1)
open(sys.argv[2], "w").close()
c, (cid, port) = s.accept()
n, ok = 0, True
while True:
    d = c.recv(65536)
    if not d:
        break
    ok = ok and d == bytes((n + i) % 251 for i in range(len(d)))
    n += len(d)
c.close()
json.dump({"from_cid": cid, "from_port": port, "bytes": n, "pattern_ok": ok}, open(sys.argv[1], "w"))
PY
}

# The host side's client: sends the pattern to the guest port $1, as a
# stream or as one message ($2: stream|seqpacket).
host_client() {
	timeout 120 python3 - "$guest_cid" "$host_bytes" "$1" "$2" <<'PY'
import socket, sys
cid, n, port, kind = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
s = socket.socket(socket.AF_VSOCK, socket.SOCK_SEQPACKET if kind == "seqpacket" else socket.SOCK_STREAM)
s.connect((cid, port))
data = bytes(i % 251 for i in range(n))
if kind == "seqpacket":
    assert s.send(data) == n
else:
    s.sendall(data)
s.close()
PY
}

# vsockdump in trim mode on a vsockmon link of its own, as Wireshark runs it
# (the pcapng goes to a file instead of a fifo); started once its output has
# the interface description, written after the filter is attached.
trim_start() {
	rm -f /tmp/vhost-trim.pcapng /tmp/vsockdump.log /tmp/vsockdump.err
	"$vsockdump" --capture --fifo /tmp/vhost-trim.pcapng --iface vsockdump-trim \
		--vhost-fragments trim --log-level info --log-file /tmp/vsockdump.log 2>/tmp/vsockdump.err &
	trim_pid=$!
	for _ in $(seq 100); do
		[ -s /tmp/vhost-trim.pcapng ] && return 0
		kill -0 "$trim_pid" 2>/dev/null || break
		sleep 0.1
	done
	cat /tmp/vsockdump.err >&2
	fail "vsockdump --vhost-fragments trim did not start"
}

# Once its output stops growing (it writes every 100 ms), SIGTERM: the
# statistics block with the trim counts closes the file, the link goes.
trim_stop() {
	local size=-1 now stable=0 rc=0
	while [ "$stable" -lt 3 ]; do
		sleep 0.3
		now=$(stat -c %s /tmp/vhost-trim.pcapng)
		if [ "$now" = "$size" ]; then stable=$((stable + 1)); else stable=0; fi
		size=$now
	done
	kill -TERM "$trim_pid"
	wait "$trim_pid" || rc=$?
	cp /tmp/vhost-trim.pcapng /tmp/vsockdump.log /tmp/vsockdump.err "$outdir/"
	[ "$rc" -eq 0 ] || fail "vsockdump exited $rc: $(cat /tmp/vsockdump.err)"
	! ip link show dev vsockdump-trim >/dev/null 2>&1 || fail "vsockdump left its link behind"
	echo "vhost-lab: vsockdump --vhost-fragments trim: $(stat -c %s "$outdir/vhost-trim.pcapng") bytes; $(grep -o 'vhost fragments: .*' "$outdir/vsockdump.log")"
}

main() {
	local listener_pid peer_pid i
	mkdir -p "$outdir"
	rm -f "$outdir/listening" "$outdir/host.json" "$outdir/peer.jsonl" "$outdir/vhost-trim.pcapng" \
		"$outdir/vsockdump.log" "$outdir/vsockdump.err"
	load_vhost
	vsockmon_link_up vsockmon0
	capture_start vsockmon0 /tmp/vhost.pcap
	if [ -n "$vsockdump" ]; then
		trim_start
	fi

	host_listener &
	listener_pid=$!
	for i in $(seq 300); do
		[ -e "$outdir/listening" ] && break
		sleep 0.1
	done
	[ -e "$outdir/listening" ] || fail "host listener did not start"

	timeout 120 "$peer" --cid "$guest_cid" --connect 7001 --bytes "$guest_bytes" --conns 3 --idle 30 \
		>"$outdir/peer.jsonl" &
	peer_pid=$!
	host_client 7000 stream || fail "host stream client failed"
	host_client 7002 seqpacket || fail "host seqpacket client failed"
	wait "$peer_pid" || fail "vhost-peer failed ($?)"
	wait "$listener_pid" || fail "host listener failed ($?)"

	capture_stop
	cp /tmp/vhost.pcap "$outdir/vhost.pcap"
	echo "vhost-lab: kernel $(uname -r), $(stat -c %s "$outdir/vhost.pcap") bytes captured"
	if [ -n "$vsockdump" ]; then
		trim_stop
	fi
	cat "$outdir/peer.jsonl" "$outdir/host.json"
}

main "$@"
