# shellcheck shell=bash
# A chroot of another Debian release (trixie, sid, ...) for tests that need
# its newer packages: made once with debootstrap, kept in $CHROOT_CACHE
# (default .cache/ws) as SUITE-root, made again when its package list
# changes or a run was interrupted. Sourced by tests/compat/*.sh, which set
# CHROOT_NAME (the tag of their messages) and call:
#
#   chroot_ready SUITE              sets $rootfs; exit 77 when the release
#                                   cannot be set up here
#   chroot_exec SCRIPT [BIND_DIR...] run SCRIPT (bash) in it as root; the
#                                   source tree, ../shared (read-only) and
#                                   each BIND_DIR at their own paths
#
# Mounts live in a private mount namespace (unshare), so nothing stays
# mounted when the caller ends, however it ends.

chroot_source_dir=$(cd "$(dirname "${BASH_SOURCE[0]}")/../../.." && pwd -P)
chroot_cache=${CHROOT_CACHE:-$chroot_source_dir/.cache/ws}
chroot_mirror=${VSOCKMON_DEBIAN_MIRROR:-http://deb.debian.org/debian}
# What every user needs, so one chroot per release serves them all: the
# plugin and vsockdump build and their tests (tests/compat), the module's
# build against the release's kernel (tests/kmod/lab-newest-kernel.sh).
chroot_packages="tshark wireshark-dev tcpdump cmake gcc make pkgconf python3 util-linux"
chroot_packages+=" libpcap-dev libnl-3-dev libnl-route-3-dev libcap-dev libcap2-bin iproute2 linux-headers-amd64"

chroot_skip() {
	echo "${CHROOT_NAME:-chroot}: SKIP: $*" >&2
	exit 77
}

# Never remove a tree something is mounted in (the mounts of chroot_exec
# are private, so this only guards against a hand-made mount).
chroot_make() {
	local suite=$1
	if findmnt -rn -o TARGET | grep -q "^$rootfs/"; then
		echo "${CHROOT_NAME:-chroot}: something is mounted under $rootfs; unmount it first" >&2
		exit 1
	fi
	rm -rf "$rootfs"
	mkdir -p "$chroot_cache"
	echo "${CHROOT_NAME:-chroot}: making a $suite chroot in $rootfs (1-2 minutes)"
	debootstrap --variant=minbase "$suite" "$rootfs" "$chroot_mirror" >"$chroot_cache/$suite-debootstrap.log" 2>&1 ||
		chroot_skip "debootstrap $suite failed (see $chroot_cache/$suite-debootstrap.log)"
	echo "deb $chroot_mirror $suite main" >"$rootfs/etc/apt/sources.list"
	cp /etc/resolv.conf "$rootfs/etc/resolv.conf"
	# apt resolves what debootstrap's --include cannot (sid's transitions).
	# sid's Release carries a Valid-Until that a mirror snapshot outlives;
	# this throw-away test chroot accepts it (stable suites have none).
	chroot "$rootfs" env DEBIAN_FRONTEND=noninteractive sh -c \
		"apt-get update -q -o Acquire::Check-Valid-Until=false && apt-get install -y -q --no-install-recommends $chroot_packages" \
		>"$chroot_cache/$suite-apt.log" 2>&1 ||
		chroot_skip "$suite's packages cannot be installed today (see $chroot_cache/$suite-apt.log)"
	echo "$chroot_packages" >"$rootfs/.vsockmon-ready"
}

chroot_ready() {
	local suite=$1 lock
	rootfs=$chroot_cache/$suite-root
	[ "$(id -u)" -eq 0 ] || chroot_skip "needs root (debootstrap, chroot); run scripts/test.sh as root"
	command -v debootstrap >/dev/null || chroot_skip "debootstrap is missing: run scripts/install-deps.sh"
	mkdir -p "$chroot_cache"
	# two tests asking for one release at once: the second waits for the first's chroot
	exec {lock}>"$chroot_cache/$suite.lock"
	flock "$lock"
	[ "$(cat "$rootfs/.vsockmon-ready" 2>/dev/null)" = "$chroot_packages" ] || chroot_make "$suite"
	flock -u "$lock"
}

chroot_exec() {
	local script=$1 shared_dir
	shift
	# the tests find ../shared beside the source tree, as on the host
	shared_dir=$(cd "$chroot_source_dir/../shared" 2>/dev/null && pwd -P) || shared_dir=
	# shellcheck disable=SC2016 # the inner script expands its own arguments
	unshare --mount --propagation private bash -euo pipefail -c '
		rootfs=$1 source_dir=$2 shared_dir=$3 script=$4
		shift 4
		# /tmp first: the source tree may live under it (a CI clone)
		mount -t tmpfs tmpfs "$rootfs/tmp"
		for dir in "$source_dir" "$@"; do
			mkdir -p "$rootfs$dir"
			mount --bind "$dir" "$rootfs$dir"
		done
		if [ -n "$shared_dir" ]; then
			mkdir -p "$rootfs$(dirname "$source_dir")/shared"
			mount --bind -o ro "$shared_dir" "$rootfs$(dirname "$source_dir")/shared"
		fi
		mount --rbind /dev "$rootfs/dev"
		mount -t proc proc "$rootfs/proc"
		chroot "$rootfs" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin LANG=C.UTF-8 HOME=/root \
			PYTHONDONTWRITEBYTECODE=1 bash -euo pipefail -c "$script"
	' chroot-exec "$rootfs" "$chroot_source_dir" "$shared_dir" "$script" "$@"
}
