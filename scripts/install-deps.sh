#!/usr/bin/env bash
# Install every build, test and lab dependency from Debian's apt, idempotently.
# Usage: scripts/install-deps.sh          (needs root; safe to run again)
set -euo pipefail

packages=(
	# build
	build-essential cmake pkg-config git
	wireshark-dev libwireshark-dev libwiretap-dev libglib2.0-dev
	libpcap-dev libnl-3-dev libnl-route-3-dev libcap-dev libcap2-bin
	# decode and test
	tshark wireshark-common tcpdump iproute2 ethtool util-linux python3
	# VM lab: guest kernel comes from apt-get download, never installed
	qemu-system-x86 busybox-static cpio kmod linux-headers-amd64
	# kernel style checks (checkpatch.pl is extracted from the source tarball)
	sparse linux-source-6.1
	# kmod_dkms: kmod/dkms.conf is built by the real dkms
	dkms
	# fuzz/: libFuzzer, ASan and UBSan runtimes; llvm-cov for fuzz/coverage.sh
	clang-14 libclang-rt-14-dev llvm-14
	# tests/compat: chroots of newer Debian releases for their Wireshark
	debootstrap
	# benchmarks (bench/): max RSS and CPU per run, instruction counts
	time valgrind
)

missing=()
for pkg in "${packages[@]}"; do
	dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
		missing+=("$pkg")
done

if [ "${#missing[@]}" -eq 0 ]; then
	echo "install-deps: all ${#packages[@]} packages present"
	exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
	echo "install-deps: missing ${missing[*]}; run this script as root" >&2
	exit 1
fi

export DEBIAN_FRONTEND=noninteractive
# tshark asks whether non-root users may capture; answer "no" (the default) up front.
echo "wireshark-common wireshark-common/install-setuid boolean false" | debconf-set-selections
apt-get update -q
apt-get install -y -q --no-install-recommends "${missing[@]}"
