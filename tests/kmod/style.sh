#!/usr/bin/env bash
# kmod_style: the kernel module must be clean under checkpatch --strict and
# sparse (make C=2 W=1), with zero warnings, in both lstats variants.
#
# Usage: tests/kmod/style.sh KMOD_SRC_DIR KDIR WORK_DIR CACHE_DIR
# checkpatch.pl comes from Debian's linux-source-<ver> tarball (installed by
# scripts/install-deps.sh) and is extracted once into CACHE_DIR.
set -euo pipefail

kmod_src=${1:?kmod source dir}
kdir=${2:?kernel build dir}
work=${3:?work dir}
cache=${4:?cache dir}
our_files=(vsockmon.c compat.h)

fail() {
	echo "kmod_style: FAIL: $*" >&2
	exit 1
}

# Print the path of checkpatch.pl, extracting it (and the word lists it
# reads) from the newest linux-source tarball on first use.
checkpatch_path() {
	local tarball top
	if [ ! -x "$cache/scripts/checkpatch.pl" ]; then
		tarball=$(find /usr/src -maxdepth 1 -name 'linux-source-*.tar.xz' | sort -V | tail -n 1)
		[ -n "$tarball" ] || fail "no /usr/src/linux-source-*.tar.xz (scripts/install-deps.sh installs linux-source-6.1)"
		top=$(basename "$tarball" .tar.xz)
		rm -rf "$cache.tmp" && mkdir -p "$cache.tmp"
		tar -xJf "$tarball" -C "$cache.tmp" --strip-components=1 \
			"$top/scripts/checkpatch.pl" "$top/scripts/spelling.txt" \
			"$top/scripts/const_structs.checkpatch"
		rm -rf "$cache" && mv "$cache.tmp" "$cache"
	fi
	echo "$cache/scripts/checkpatch.pl"
}

run_checkpatch() {
	local checkpatch out
	checkpatch=$(checkpatch_path)
	# Relative names: checkpatch judges comments by the file name it is given.
	out=$(cd "$kmod_src" && perl "$checkpatch" --strict --no-tree -f "${our_files[@]}" 2>&1) || true
	echo "$out"
	[ "$(grep -c '^total: 0 errors, 0 warnings, 0 checks' <<<"$out")" -eq "${#our_files[@]}" ] ||
		fail "checkpatch --strict reported problems"
}

# Build a copy of the sources with sparse on every file (C=2) and extra
# compiler warnings (W=1); any warning or error line fails the test.
run_sparse() {
	local variant=$1 dir=$work/$1 out
	shift
	rm -rf "$dir" && mkdir -p "$dir"
	cp "$kmod_src/Kbuild" "$kmod_src/vsockmon.c" "$kmod_src/compat.h" "$dir/"
	out=$(make -C "$kdir" M="$dir" C=2 W=1 "$@" modules 2>&1) || {
		echo "$out"
		fail "build ($variant) failed"
	}
	echo "$out"
	[ -f "$dir/vsockmon.ko" ] || fail "build ($variant) produced no vsockmon.ko"
	grep -q "CHECK .*vsockmon.c" <<<"$out" || fail "sparse did not run ($variant)"
	! grep -Ei '(warning|error):' <<<"$out" || fail "compiler or sparse warnings ($variant)"
}

command -v sparse >/dev/null || fail "sparse not installed"
[ -f "$kdir/Makefile" ] || fail "no kernel build tree at $kdir"
run_checkpatch
run_sparse core-lstats
run_sparse self-lstats VSOCKMON_SELF_LSTATS=1
echo "kmod_style: PASS (checkpatch --strict, sparse C=2 W=1, both lstats variants)"
