#!/usr/bin/env bash
# kmod_lab_newest_kernel: the module on the newest Linux Debian has (sid's
# linux-image-amd64: 7.2 in 2026), where users of rolling distributions
# build it with DKMS. The module is built in a sid chroot against that
# kernel's headers with sid's compiler (W=1, zero warnings; the headers'
# build tools need sid's libc), the kernel itself is unpacked into the lab
# cache, and the lab boots it with the same checks as kmod_lab_functional
# (tests/kmod/guest-functional.sh: ours against the distro's module, ethtool,
# capture, MTU, user namespaces, the traffic tool's scenario mix).
#
# Usage (root): tests/kmod/lab-newest-kernel.sh WORK_DIR [VSOCK_TRAFFIC]
# Exit 77 (skipped) when sid cannot be set up here.
set -euo pipefail

work=${1:?usage: lab-newest-kernel.sh WORK_DIR [VSOCK_TRAFFIC]}
traffic=${2:-}
here=$(cd "$(dirname "$0")" && pwd -P)
CHROOT_NAME=kmod_lab_newest_kernel
# shellcheck source=tests/compat/lib/debian-chroot.sh
. "$here/../compat/lib/debian-chroot.sh"
# shellcheck source=tests/vm/lib/common.sh
. "$here/../vm/lib/common.sh"
# shellcheck source=tests/vm/lib/kernel.sh
. "$here/../vm/lib/kernel.sh"

fail() {
	echo "kmod_lab_newest_kernel: FAIL: $*" >&2
	exit 1
}

chroot_ready sid
kver=$(basename "$(find "$rootfs/usr/src" -maxdepth 1 -name 'linux-headers-*-amd64' | sort -V | tail -n1)")
kver=${kver#linux-headers-}
[ -n "$kver" ] || fail "sid's linux-headers-amd64 left no /usr/src/linux-headers-*-amd64"
echo "kmod_lab_newest_kernel: Linux $kver"

rm -rf "$work"
mkdir -p "$work/debs"
work=$(cd "$work" && pwd -P)

# The kernel's build tools run in the chroot; the .ko comes out to $work.
chroot_exec "
	cp -r $chroot_source_dir/kmod /tmp/kmod
	make -C /usr/src/linux-headers-$kver M=/tmp/kmod W=1 modules >/tmp/build.log 2>&1 || { cat /tmp/build.log; exit 1; }
	if grep -E 'warning|error' /tmp/build.log; then exit 1; fi
	cp /tmp/kmod/vsockmon.ko $work/
" "$work" || fail "the module does not build cleanly against $kver (output above)"

# The image, unpacked into the lab's cache as the lab's own fetch does
# (tests/vm/lib/kernel.sh), but downloaded from sid through the chroot.
fetch_kernel() {
	[ -f "$(lab_kernel_dir "$kver")/root/.unpacked" ] && return 0
	chroot_exec "
		cd $work/debs
		apt-get download -q linux-binary-$kver linux-modules-$kver linux-base-$kver >/dev/null 2>&1 ||
			apt-get download -q linux-image-$kver >/dev/null
	" "$work" || fail "cannot download linux-image-$kver from sid (a cached chroot older than the mirror? rm -rf $rootfs)"
	lab_unpack_kernel "$kver" "$work/debs"
}
lab_with_cache_lock fetch_kernel
rm -rf "$work/debs"

VSOCKMON_LAB_KVER=$kver "$here/../vm/run-guest.sh" --module none --timeout 420 --results "$work/lab" \
	"$here/guest-functional.sh" "$work/vsockmon.ko" ${traffic:+"$traffic"}
