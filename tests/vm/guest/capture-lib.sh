# shellcheck shell=bash
# Capture helpers for guest scripts: a vsockmon link and tcpdump on it.

# Create and bring up a vsockmon link (needs the vsockmon module loaded).
vsockmon_link_up() {
	local dev=${1:-vsockmon0}
	ip link add name "$dev" type vsockmon
	ip link set "$dev" up
}

# capture_start DEV FILE: start tcpdump and wait until it really captures.
# Sets capture_pid and capture_file.
capture_start() {
	capture_file=$2
	rm -f "$capture_file" "$capture_file.err"
	tcpdump -Z root -i "$1" -U -w "$capture_file" 2>"$capture_file.err" &
	capture_pid=$!
	for _ in $(seq 100); do
		grep -q 'listening on' "$capture_file.err" 2>/dev/null && return 0
		sleep 0.1
	done
	cat "$capture_file.err" >&2
	echo "capture: tcpdump on $1 did not start" >&2
	return 1
}

# tcpdump drops what it has not read yet when interrupted: wait until the
# file stops growing (closing RST/SHUTDOWN packets included), then stop it.
capture_stop() {
	local size=-1 now stable=0
	while [ "$stable" -lt 3 ]; do
		sleep 0.3
		now=$(stat -c %s "$capture_file")
		if [ "$now" = "$size" ]; then stable=$((stable + 1)); else stable=0; fi
		size=$now
	done
	kill -INT "$capture_pid"
	wait "$capture_pid" || true
	grep -v '^tcpdump: listening' "$capture_file.err" >&2 || true
	rm -f "$capture_file.err"
}
