#!/bin/bash
# Guest half of the lab self-test (run by tests/vm/lab-selftest.sh through
# run-guest.sh --module distro): checks the lab itself, then captures every
# vsock-traffic scenario on a vsockmon link into $LAB_RESULTS.
# Usage: lab-selftest.sh VSOCK_TRAFFIC_BINARY
set -euo pipefail

# shellcheck source=capture-lib.sh
. "$(dirname "${BASH_SOURCE[0]}")/capture-lib.sh"

traffic=$1
pcap=$LAB_RESULTS/selftest.pcap
manifest=$LAB_RESULTS/selftest.manifest.jsonl

check() {
	local what=$1
	shift
	if "$@"; then
		echo "selftest: ok: $what [${SECONDS}s]"
	else
		echo "selftest: FAIL: $what" >&2
		exit 1
	fi
}

# Loaded as a module, or built into the kernel (virtio_pci on 6.12).
module_loaded() {
	grep -q "^$1 " /proc/modules || grep -q "/$1\.ko\$" "$LAB_MODULES_DIR/modules.builtin"
}

check_lab_environment() {
	local m
	for m in virtio_pci 9p 9pnet_virtio vsock vmw_vsock_virtio_transport_common vsock_loopback vsockmon; do
		check "module $m loaded" module_loaded "$m"
	done
	check "cwd is the repo root" test "$PWD" = "$LAB_REPO"
	check "LAB_KVER matches the running kernel" test "$LAB_KVER" = "$(uname -r)"
	check "LAB_DISTRO_VSOCKMON_KO exists" test -f "$LAB_DISTRO_VSOCKMON_KO"
	check "lo is up" grep -q 'UP' <(ip -o link show lo)
	check "/tmp is a tmpfs" test "$(stat -f -c %T /tmp)" = tmpfs
	check "host root is read-only" bash -c '! touch /usr/.lab-ro-probe 2>/dev/null'
	check "setcap works on a /tmp copy" bash -c \
		'cp /bin/true /tmp/true-cap && setcap cap_net_raw+ep /tmp/true-cap && getcap /tmp/true-cap | grep -q cap_net_raw'
	check "nobody usable via setpriv" test "$(setpriv --reuid=65534 --regid=65534 --clear-groups id -u)" = 65534
}

create_vsockmon_link() {
	vsockmon_link_up vsockmon0
	check "vsockmon0 is ARPHRD_VSOCKMON (826)" test "$(cat /sys/class/net/vsockmon0/type)" = 826
}

main() {
	check_lab_environment
	create_vsockmon_link
	rm -f "$manifest"
	capture_start vsockmon0 /tmp/selftest.pcap
	check "vsock-traffic all scenarios" "$traffic" --manifest "$manifest" --count 5 all
	check "vsock-traffic tiny flood" "$traffic" --manifest "$manifest" --bytes 262144 flood
	capture_stop
	cp /tmp/selftest.pcap "$pcap"
	ip link del vsockmon0
	check "vsockmon0 deleted" bash -c '! ip link show vsockmon0 2>/dev/null'
}

main
