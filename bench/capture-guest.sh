#!/usr/bin/env bash
# Guest half of bench/capture.sh (runs in the VM lab, as root, with our
# vsockmon.ko loaded by run-guest.sh --module). One vsockmon link, vsockmon0,
# stays up the whole time; for each workload, each capturer captures it alone
# in turn: vsockdump (the extcap, --existing vsockmon0, its default 32 MiB
# ring), dumpcap, tcpdump, and vsockdump with dumpcap's and tcpdump's 2 MiB
# ring (--ring-size 2), which compares the capture loops with equal buffers.
#
# Usage: capture-guest.sh BUILD_DIR TOOLS_DIR SECONDS REPS
#   BUILD_DIR: build tree with extcap/vsockdump and tests/traffic/vsock-traffic
#   TOOLS_DIR: holds vsock-flood (bench/vsock-flood.c)
# Writes $LAB_RESULTS/capture/runs.jsonl, one JSON object per capture:
#   frames sent (the link's rx_packets delta and the sum of our module's
#   ethtool -S frame counters), frames in the file, kernel drops the capturer
#   reported, the capturer's CPU seconds (utime+stime from /proc/PID/stat).
set -euo pipefail

build=${1:?BUILD_DIR}
tools=${2:?TOOLS_DIR}
seconds=${3:-3}
reps=${4:-2}
link=vsockmon0
out=$LAB_RESULTS/capture
work=/tmp/capture-bench
ticks=$(getconf CLK_TCK)
mkdir -p "$out" "$work"
: >"$out/runs.jsonl"

fail() {
	echo "capture-guest: FAILED: $*" >&2
	exit 1
}

# Frames the link delivered so far: rx_packets, and the sum of the module's
# per-op ethtool counters (a second, independent count in the driver).
rx_packets() { cat "/sys/class/net/$link/statistics/rx_packets"; }
ethtool_frames() {
	ethtool -S "$link" | awk '/_frames:/ { sum += $2 } END { print sum + 0 }'
}

# CPU seconds (user+system) a live process has used.
cpu_seconds() {
	awk -v t="$ticks" '{ printf "%.2f", ($14 + $15) / t }' "/proc/$1/stat"
}

wait_for() { # SECONDS TEST...
	local deadline=$((SECONDS + $1))
	shift
	until "$@"; do
		[ "$SECONDS" -lt "$deadline" ] || return 1
		sleep 0.1
	done
}

# Start capturer $1 with snaplen $2 writing $work/cap; set cap_pid.
start_capturer() {
	local who=$1 snap=$2
	rm -f "$work"/cap "$work"/err "$work"/log
	case "$who" in
	vsockdump | vsockdump-ring2)
		local ring=()
		[ "$who" = vsockdump ] || ring=(--ring-size 2)
		"$build/extcap/vsockdump" --capture --extcap-interface vsockmon --fifo "$work/cap" \
			--existing "$link" --snaplen "$snap" "${ring[@]}" \
			--log-level info --log-file "$work/log" 2>"$work/err" &
		cap_pid=$!
		wait_for 30 grep -qs 'capturing on' "$work/log" || fail "vsockdump did not start: $(cat "$work/err" "$work/log")"
		;;
	dumpcap)
		dumpcap -q -i "$link" -s "$snap" -w "$work/cap" 2>"$work/err" &
		cap_pid=$!
		wait_for 30 grep -qs 'Capturing on' "$work/err" || fail "dumpcap did not start: $(cat "$work/err")"
		;;
	tcpdump)
		tcpdump -Z root -i "$link" -s "$snap" -w "$work/cap" 2>"$work/err" &
		cap_pid=$!
		wait_for 30 grep -qs 'listening on' "$work/err" || fail "tcpdump did not start: $(cat "$work/err")"
		;;
	esac
	sleep 0.5	# past the ready message: the socket is bound and filtering
}

# Stop the capturer (SIGTERM is what Wireshark sends an extcap, SIGINT what
# a user sends dumpcap/tcpdump); set drops to the kernel drops it reported.
# (Not called in a $(...) subshell: only this shell can wait for it.)
stop_capturer() {
	local who=$1 rc=0
	case "$who" in
	vsockdump*) kill -TERM "$cap_pid" ;;
	*) kill -INT "$cap_pid" ;;
	esac
	wait "$cap_pid" || rc=$?
	[ "$rc" -eq 0 ] || fail "$who exited with $rc: $(cat "$work/err")"
	case "$who" in
	vsockdump*) drops=$(sed -n 's/.*kernel dropped \([0-9]*\).*/\1/p' "$work/log" | tail -1) ;;
	dumpcap) drops=$(sed -n "s/^Packets received\/dropped on interface .*: [0-9]*\/\([0-9]*\).*/\1/p" "$work/err" | tail -1) ;;
	tcpdump) drops=$(sed -n 's/^\([0-9]*\) packets\{0,1\} dropped by kernel$/\1/p' "$work/err" | tail -1) ;;
	esac
}

frames_in_file() {
	capinfos -c -M "$work/cap" | sed -n 's/^Number of packets: *\([0-9]*\).*/\1/p'
}

# One capture: workload name, snaplen, capturer, workload command...
measure() {
	local name=$1 snap=$2 who=$3 rx0 eth0 rx1 eth1 cpu drops frames wl
	shift 3
	start_capturer "$who" "$snap"
	rx0=$(rx_packets)
	eth0=$(ethtool_frames)
	wl=$("$@" 2>&1) || fail "workload $name: $wl"
	sleep 1	# let the capturer drain its ring
	rx1=$(rx_packets)
	eth1=$(ethtool_frames)
	cpu=$(cpu_seconds "$cap_pid")
	stop_capturer "$who"
	frames=$(frames_in_file)
	[ -n "$drops" ] || fail "$who reported no drop count: $(cat "$work/err" "$work/log" 2>/dev/null)"
	[ -n "$frames" ] || fail "capinfos could not count $who's file"
	printf '{"rep": %s, "workload": "%s", "snaplen": %s, "capturer": "%s", "sent_rx_packets": %s, "sent_ethtool": %s, "captured": %s, "kernel_drops": %s, "cpu_s": %s, "file_bytes": %s, "workload_output": "%s"}\n' \
		"$rep" "$name" "$snap" "$who" $((rx1 - rx0)) $((eth1 - eth0)) "$frames" "$drops" "$cpu" \
		"$(stat -c %s "$work/cap")" "$(echo "$wl" | tr -d '"\n' | tail -c 200)" | tee -a "$out/runs.jsonl"
	rm -f "$work/cap"
}

main() {
	local traffic=$build/tests/traffic/vsock-traffic flood=$tools/vsock-flood w who
	local bin
	for bin in "$traffic" "$flood" "$build/extcap/vsockdump"; do
		[ -x "$bin" ] || fail "missing $bin"
	done
	ip link add "$link" type vsockmon
	ip link set "$link" up
	ethtool -S "$link" | grep -q payload_frames || fail "our module's ethtool counters are missing"
	echo "module: $(cat /sys/module/vsockmon/version 2>/dev/null || echo in-tree)"

	# name | snaplen | command
	# (@PORT@: a fresh port per run, so no socket of an earlier run is in the way)
	local workloads=(
		"bulk-64k|262144|$traffic --port-base @PORT@ --seconds $seconds flood"
		"small-64B|262144|$flood -p @PORT@ -s 64 -t $seconds"
		"paced-1KiB-2k/s|262144|$flood -p @PORT@ -s 1024 -r 2000 -t $seconds"
		"bulk-64k-hdr|76|$traffic --port-base @PORT@ --seconds $seconds flood"
		"small-64B-hdr|76|$flood -p @PORT@ -s 64 -t $seconds"
	)
	local run=0
	for rep in $(seq 1 "$reps"); do
		for w in "${workloads[@]}"; do
			IFS='|' read -r name snap cmd <<<"$w"
			for who in vsockdump dumpcap tcpdump vsockdump-ring2; do
				echo "== rep $rep: $name snaplen $snap: $who ($(date +%T))"
				run=$((run + 1))
				# shellcheck disable=SC2086 # the command is split on purpose
				measure "$name" "$snap" "$who" ${cmd//@PORT@/$((10000 + run * 200))}
			done
		done
	done
	ip link del "$link"
}

main "$@"
