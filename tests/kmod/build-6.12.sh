#!/usr/bin/env bash
# kmod_build_6_12: compile the module against Debian's newest 6.12 headers,
# where compat.h takes its other branches (dev->lltx instead of
# NETIF_F_LLTX; core-allocated lstats), with sparse (C=2) and W=1, both
# lstats variants, zero warnings. Build only: no 6.12 guest is booted.
#
# The headers are fetched with `apt-get download` (never installed) and
# unpacked into CACHE_DIR on first use. Exit 77 (ctest: skipped) when apt
# offers no 6.12 headers.
# Usage: tests/kmod/build-6.12.sh KMOD_SRC_DIR WORK_DIR CACHE_DIR
set -euo pipefail

kmod_src=${1:?kmod source dir}
work=${2:?work dir}
cache=${3:?cache dir}

fail() {
	echo "kmod_build_6_12: FAIL: $*" >&2
	exit 1
}

# Unpack linux-headers-<v>-amd64, its -common and linux-kbuild into
# $cache/<v>/root and point the arch Makefile at the unpacked common tree.
fetch_headers() {
	local pkg common kbuild dir
	pkg=$(apt-cache search --names-only '^linux-headers-6\.12\.[0-9]+\+deb[0-9]+-amd64$' |
		awk '{print $1}' | sort -V | tail -n 1)
	if [ -z "$pkg" ]; then
		echo "kmod_build_6_12: apt offers no linux-headers-6.12.*-amd64: skipped"
		exit 77
	fi
	dir=$cache/${pkg#linux-headers-}
	kdir=$dir/root/usr/src/$pkg
	[ -f "$kdir/.unpacked" ] && return 0
	common=${pkg%-amd64}-common
	kbuild=$(apt-cache show "$pkg" | sed -n 's/^Depends:.*\(linux-kbuild-6\.12[^ ,]*\).*/\1/p' | head -n 1)
	rm -rf "$dir" && mkdir -p "$dir/debs"
	(cd "$dir/debs" && apt-get download "$pkg" "$common" "$kbuild") ||
		fail "apt-get download $pkg $common $kbuild"
	for deb in "$dir"/debs/*.deb; do
		dpkg -x "$deb" "$dir/root"
	done
	sed -i "s|^include /usr/src/|include $dir/root/usr/src/|" "$kdir/Makefile"
	touch "$kdir/.unpacked"
}

# Build variant $1 with extra make arguments; any warning fails.
build_variant() {
	local dir=$work/$1 out
	shift
	rm -rf "$dir" && mkdir -p "$dir"
	cp "$kmod_src/Kbuild" "$kmod_src/vsockmon.c" "$kmod_src/compat.h" "$dir/"
	# pahole is not installed: skip BTF, it does not judge our code.
	out=$(make -C "$kdir" M="$dir" C=2 W=1 CONFIG_DEBUG_INFO_BTF_MODULES= "$@" modules 2>&1) || {
		echo "$out"
		fail "build ($1) failed"
	}
	echo "$out"
	[ -f "$dir/vsockmon.ko" ] || fail "no vsockmon.ko ($1)"
	! grep -Ei '(warning|error):' <<<"$out" || fail "warnings ($1)"
}

fetch_headers
common_dir=$(sed -n 's|^include \(.*\)/Makefile$|\1|p' "$kdir/Makefile")
# The branches this test is for must be the ones taken.
! grep -q 'define NETIF_F_LLTX' "$common_dir/include/linux/netdev_features.h" ||
	fail "these headers still have NETIF_F_LLTX"
grep -q 'pcpu_stat_type' "$common_dir/include/linux/netdevice.h" ||
	fail "these headers lack pcpu_stat_type"
build_variant core-lstats
build_variant self-lstats VSOCKMON_SELF_LSTATS=1
echo "kmod_build_6_12: PASS against $kdir"
