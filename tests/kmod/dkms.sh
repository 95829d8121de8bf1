#!/usr/bin/env bash
# kmod_dkms: kmod/dkms.conf drives a real `dkms add` + `dkms build` for the
# headers' kernel, in private DKMS trees (nothing lands in /var/lib/dkms or
# /lib/modules), and the built module is our vsockmon with our version.
# `dkms install` is left out: it runs depmod on the host's /lib/modules.
#
# Usage: tests/kmod/dkms.sh KMOD_SRC_DIR KDIR WORK_DIR
set -euo pipefail

kmod_src=${1:?kmod source dir}
kdir=${2:?kernel build dir}
work=${3:?work dir}

fail() {
	echo "kmod_dkms: FAIL: $*" >&2
	exit 1
}

conf_value() {
	sed -n "s/^$1=\"\(.*\)\"$/\1/p" "$kmod_src/dkms.conf"
}

command -v dkms >/dev/null || fail "dkms not installed (scripts/install-deps.sh)"
kver=$(sed -n 's/^#define UTS_RELEASE "\(.*\)"$/\1/p' "$kdir/include/generated/utsrelease.h")
[ -e "/lib/modules/$kver/build" ] || fail "/lib/modules/$kver/build missing"
name=$(conf_value PACKAGE_NAME)
version=$(conf_value PACKAGE_VERSION)
[ "$name" = vsockmon ] || fail "PACKAGE_NAME is '$name'"

rm -rf "$work" && mkdir -p "$work/src/$name-$version" "$work/tree"
cp "$kmod_src"/{dkms.conf,Kbuild,Makefile,vsockmon.c,compat.h} "$work/src/$name-$version/"
trees=(--sourcetree "$work/src" --dkmstree "$work/tree")
dkms add "${trees[@]}" "$name/$version"
dkms build "${trees[@]}" -k "$kver" "$name/$version" ||
	{ cat "$work/tree/$name/$version/build/make.log" >&2 || true; fail "dkms build"; }
dkms status "${trees[@]}" | tee "$work/status.txt"
grep -q "^$name/$version, $kver, .*: built" "$work/status.txt" || fail "dkms status is not 'built'"

ko=$(find "$work/tree/$name/$version/$kver" -name "$name.ko" | head -n 1)
[ -n "$ko" ] || fail "no $name.ko in the DKMS tree"
module_version=$(modinfo -F version "$ko")
[ "${module_version%%-*}" = "$version" ] ||
	fail "module version $module_version does not match dkms.conf PACKAGE_VERSION $version"
[ "$(modinfo -F vermagic "$ko" | cut -d' ' -f1)" = "$kver" ] || fail "built for the wrong kernel"
echo "kmod_dkms: PASS ($ko, version $module_version, kernel $kver)"
