#!/usr/bin/env bash
# Guest half of bench/kernel.sh (VM lab, --module none): vsock loopback
# throughput with no monitor, with Debian's in-tree vsockmon link up, with
# ours up. Configurations alternate within each repetition so drift of the
# (emulated, shared) machine hits all three alike.
#
# Usage: kernel-guest.sh OUR_KO VSOCK_TRAFFIC VSOCK_FLOOD SECONDS REPS
# Writes $LAB_RESULTS/kernel/runs.jsonl: one object per run with
#   config, rep, workload, MiB/s (bulk) or writes/s (small).
set -euo pipefail

our_ko=${1:?OUR_KO}
traffic=${2:?VSOCK_TRAFFIC}
flood=${3:?VSOCK_FLOOD}
seconds=${4:-3}
reps=${5:-5}
out=$LAB_RESULTS/kernel
link=vsockmon0
port=20000
mkdir -p "$out"
: >"$out/runs.jsonl"

fail() {
	echo "kernel-guest: FAILED: $*" >&2
	exit 1
}

# Bring configuration $1 up: none, distro (in-tree module) or ours.
setup() {
	case "$1" in
	none) return 0 ;;
	distro) insmod "$LAB_DISTRO_VSOCKMON_KO" ;;
	ours) insmod "$our_ko" ;;
	esac
	ip link add "$link" type vsockmon
	ip link set "$link" up
	# make sure the module we meant is the one behind the link
	case "$1" in
	ours) grep -q oot /sys/module/vsockmon/version || fail "ours is not loaded" ;;
	distro) [ ! -e /sys/module/vsockmon/version ] || ! grep -q oot /sys/module/vsockmon/version ||
		fail "the distro module is not loaded" ;;
	esac
}

teardown() {
	[ "$1" = none ] && return 0
	ip link del "$link"
	rmmod vsockmon
}

# Check that the link saw the traffic (the tap really ran): rx_packets > 0.
tap_frames() {
	[ "$1" = none ] && { echo 0; return; }
	cat "/sys/class/net/$link/statistics/rx_packets"
}

record() { # config rep workload value unit frames
	printf '{"config": "%s", "rep": %s, "workload": "%s", "value": %s, "unit": "%s", "tap_frames": %s}\n' \
		"$@" | tee -a "$out/runs.jsonl"
}

run_bulk() { # config rep
	local msg mibs
	port=$((port + 200))
	msg=$("$traffic" --port-base "$port" --seconds "$seconds" flood 2>&1) || fail "flood: $msg"
	mibs=$(echo "$msg" | sed -n 's/.* = \([0-9.]*\) MiB\/s.*/\1/p')
	[ -n "$mibs" ] || fail "no MiB/s in: $msg"
	record "$1" "$2" bulk-64k "$mibs" MiB/s "$(tap_frames "$1")"
}

run_small() { # config rep
	local msg rate
	port=$((port + 200))
	msg=$("$flood" -p "$port" -s 64 -t "$seconds") || fail "vsock-flood: $msg"
	# {"writes": N, ..., "seconds": S, ...}: awk, not python (slow to start under TCG)
	rate=$(echo "$msg" | sed -n 's/.*"writes": \([0-9]*\).*"seconds": \([0-9.]*\).*/\1 \2/p' |
		awk '$2 > 0 { printf "%d", $1 / $2 }')
	[ -n "$rate" ] || fail "no rate in: $msg"
	record "$1" "$2" small-64B "$rate" writes/s "$(tap_frames "$1")"
}

main() {
	local rep cfg
	lsmod | grep -q '^vsockmon ' && fail "a vsockmon module is already loaded"
	for rep in $(seq 1 "$reps"); do
		for cfg in none distro ours; do
			echo "== rep $rep: $cfg ($(date +%T))"
			setup "$cfg"
			run_bulk "$cfg" "$rep"
			run_small "$cfg" "$rep"
			teardown "$cfg"
		done
	done
}

main "$@"
