#!/usr/bin/env bash
# Build the plugin and vsockdump against another Debian release's Wireshark
# and run the host-side tests with its tshark, in a chroot of that release.
#
# Usage (root): tests/compat/wireshark-release.sh SUITE [MAJOR.MINOR]
#   SUITE: a Debian suite on deb.debian.org (trixie: Wireshark 4.4, sid: the
#   newest, 4.6 in 2026). With MAJOR.MINOR, the chroot's tshark must be that
#   version (a check that the suite still brings the release we mean).
#
# The chroot is made once with debootstrap and kept in .cache/ws/SUITE-root
# (VSOCKMON_WS_CACHE overrides). Mounts live in a private mount namespace
# (unshare), so nothing stays mounted when the script ends, however it ends.
# Exit 77 (skipped) when the release cannot be set up here (mirror
# unreachable, suite not installable today); any build or test failure in
# it is a failure.
set -euo pipefail

suite=${1:?usage: wireshark-release.sh SUITE [MAJOR.MINOR]}
want_version=${2:-}
source_dir=$(cd "$(dirname "$0")/../.." && pwd -P)
cache=${VSOCKMON_WS_CACHE:-$source_dir/.cache/ws}
rootfs=$cache/$suite-root
mirror=${VSOCKMON_DEBIAN_MIRROR:-http://deb.debian.org/debian}
packages=(tshark wireshark-dev tcpdump cmake gcc make pkgconf python3 util-linux
	libpcap-dev libnl-3-dev libnl-route-3-dev libcap-dev libcap2-bin iproute2)

skip() {
	echo "wireshark-release: SKIP ($suite): $*" >&2
	exit 77
}

[ "$(id -u)" -eq 0 ] || skip "needs root (debootstrap, chroot); run scripts/test.sh as root"
command -v debootstrap >/dev/null || skip "debootstrap is missing: run scripts/install-deps.sh"

# A half-made chroot (interrupted run) is made again; never remove a tree
# something is mounted in (the mounts below are private, so this only
# guards against a hand-made mount).
make_rootfs() {
	if findmnt -rn -o TARGET | grep -q "^$rootfs/"; then
		echo "wireshark-release: something is mounted under $rootfs; unmount it first" >&2
		exit 1
	fi
	rm -rf "$rootfs"
	mkdir -p "$cache"
	echo "wireshark-release: making a $suite chroot in $rootfs (about 2 minutes)"
	debootstrap --variant=minbase "$suite" "$rootfs" "$mirror" >"$cache/$suite-debootstrap.log" 2>&1 ||
		skip "debootstrap $suite failed (see $cache/$suite-debootstrap.log)"
	echo "deb $mirror $suite main" >"$rootfs/etc/apt/sources.list"
	cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
	# apt resolves what debootstrap's --include cannot (sid's transitions).
	# sid's Release carries a Valid-Until that a mirror snapshot outlives;
	# this throw-away test chroot accepts it (stable suites have none).
	chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get update -q -o Acquire::Check-Valid-Until=false && apt-get install -y -q --no-install-recommends ${packages[*]}" \
		>"$cache/$suite-apt.log" 2>&1 ||
		skip "$suite's Wireshark packages cannot be installed today (see $cache/$suite-apt.log)"
	echo "${packages[*]}" >"$rootfs/.vsockmon-ready"
}

[ "$(cat "$rootfs/.vsockmon-ready" 2>/dev/null)" = "${packages[*]}" ] || make_rootfs

version=$(chroot "$rootfs" tshark --version 2>/dev/null | sed -n 's/^TShark (Wireshark) \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
echo "wireshark-release: $suite has Wireshark $version"
if [ -n "$want_version" ] && [ "${version%.*}" != "$want_version" ]; then
	echo "wireshark-release: $suite brings Wireshark $version, not $want_version: update the test's suite" >&2
	exit 1
fi

# The tests find ../shared beside the source tree, as on the host.
shared_dir=$(cd "$source_dir/../shared" 2>/dev/null && pwd -P) || shared_dir=
build_dir=/tmp/vsockmon-build
tests='^(dissector_|samples_|extcap_test_|extcap_protocol_)'

# shellcheck disable=SC2016 # the inner script expands its own arguments
exec unshare --mount --propagation private bash -euo pipefail -c '
	rootfs=$1 source_dir=$2 shared_dir=$3 build_dir=$4 tests=$5
	# /tmp first: the source tree may live under it (a CI clone)
	mount -t tmpfs tmpfs "$rootfs/tmp"
	mkdir -p "$rootfs$source_dir"
	mount --bind "$source_dir" "$rootfs$source_dir"
	if [ -n "$shared_dir" ]; then
		mkdir -p "$rootfs$(dirname "$source_dir")/shared"
		mount --bind -o ro "$shared_dir" "$rootfs$(dirname "$source_dir")/shared"
	fi
	mount --rbind /dev "$rootfs/dev"
	mount -t proc proc "$rootfs/proc"
	chroot "$rootfs" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root PYTHONDONTWRITEBYTECODE=1 bash -euo pipefail -c "
		cmake -S $source_dir -B $build_dir -DVSOCKMON_KMOD=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
			-DCMAKE_C_FLAGS=-Werror >$build_dir.configure.log 2>&1 || { cat $build_dir.configure.log; exit 1; }
		cmake --build $build_dir -j\$(nproc) >$build_dir.build.log 2>&1 || { cat $build_dir.build.log; exit 1; }
		cd $build_dir && ctest --output-on-failure -j\$(nproc) -R \"$tests\"
	"
' wireshark-release "$rootfs" "$source_dir" "$shared_dir" "$build_dir" "$tests"
