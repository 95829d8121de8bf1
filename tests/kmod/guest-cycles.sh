#!/usr/bin/env bash
# kmod_lab_cycles, inside the VM lab guest (tests/vm/run-guest.sh --module
# none): COUNT create/up/down/delete cycles of a vsockmon link with our
# module while vsock connections run, then the module must hold no
# reference, unload cleanly, and the kernel log must stay free of
# WARN/BUG/Oops (run-guest.sh checks the log too).
# Usage: guest-cycles.sh /abs/path/vsockmon.ko COUNT
set -euo pipefail

our_ko=${1:?path of our vsockmon.ko}
cycles=${2:?number of cycles}
here=$(dirname "$(readlink -f "$0")")
out=${LAB_RESULTS:-/tmp/kmod-lab}/cycles
port=5401

fail() {
	echo "FAIL: $*" >&2
	exit 1
}

step() {
	echo "== $* ($(date +%s))"
}

refcnt() {
	cat /sys/module/vsockmon/refcnt
}

rx_packets() {
	cat "/sys/class/net/$1/statistics/rx_packets"
}

# One ip process runs all cycles: the kernel paths are the same as with
# one `ip` per command, without paying a fork+exec each under TCG.
write_batch() {
	local i
	for ((i = 0; i < cycles; i++)); do
		echo "link add vsmc type vsockmon"
		echo "link set vsmc up"
		echo "link set vsmc down"
		echo "link del vsmc"
	done >"$out/cycles.batch"
}

main() {
	local loop_pid before after rounds
	mkdir -p "$out"
	insmod "$our_ko"
	[ "$(cat /sys/module/vsockmon/version)" = "$(modinfo -F version "$our_ko")" ] ||
		fail "loaded vsockmon is not ours"

	step "traffic on, one watching link"
	ip link add vsmkeep type vsockmon
	ip link set vsmkeep up
	python3 "$here/vsocklab.py" loop "$port" >"$out/loop.log" 2>&1 &
	loop_pid=$!
	sleep 3
	before=$(rx_packets vsmkeep)
	[ "$before" -gt 0 ] || fail "no traffic reaches vsmkeep: $(cat "$out/loop.log")"

	step "$cycles create/up/down/delete cycles"
	write_batch
	ip -batch "$out/cycles.batch" || fail "a cycle failed"
	after=$(rx_packets vsmkeep)
	[ "$after" -gt "$before" ] || fail "traffic stopped during the cycles"
	echo "vsmkeep saw $((after - before)) frames during the cycles"

	step "traffic off, references"
	kill -TERM "$loop_pid"
	wait "$loop_pid" || fail "traffic loop failed: $(cat "$out/loop.log")"
	rounds=$(tail -n 1 "$out/loop.log")
	echo "traffic loop: $rounds rounds"
	[ "$rounds" -gt 0 ] || fail "traffic loop made no round"
	[ -z "$(ip -o link show type vsockmon | grep -v vsmkeep)" ] || fail "cycled link left behind"
	[ "$(refcnt)" = 1 ] || fail "refcnt with one open link is $(refcnt), want 1"
	ip link set vsmkeep down
	[ "$(refcnt)" = 0 ] || fail "refcnt after the last close is $(refcnt), want 0"
	ip link del vsmkeep

	step "unload"
	rmmod vsockmon || fail "rmmod failed"
	[ ! -e /sys/module/vsockmon ] || fail "vsockmon still loaded"
	! dmesg | grep -E 'WARNING:|BUG:|Oops|refcount' || fail "kernel warnings"
	step "kmod_lab_cycles: PASS"
}

main
