#!/usr/bin/env bash
# Build the plugin and vsockdump against another Debian release's Wireshark
# and run the host-side tests with its tshark, in a chroot of that release
# (tests/compat/lib/debian-chroot.sh).
#
# Usage (root): tests/compat/wireshark-release.sh SUITE [MAJOR.MINOR]
#   SUITE: a Debian suite on deb.debian.org (trixie: Wireshark 4.4, sid: the
#   newest, 4.6 in 2026). With MAJOR.MINOR, the chroot's tshark must be that
#   version (a check that the suite still brings the release we mean).
# Exit 77 (skipped) when the release cannot be set up here (mirror
# unreachable, suite not installable today); any build or test failure in
# it is a failure.
set -euo pipefail

suite=${1:?usage: wireshark-release.sh SUITE [MAJOR.MINOR]}
want_version=${2:-}
CHROOT_NAME="wireshark-release ($suite)"
# shellcheck source=tests/compat/lib/debian-chroot.sh
. "$(dirname "$0")/lib/debian-chroot.sh"

chroot_ready "$suite"

version=$(chroot "$rootfs" tshark --version 2>/dev/null | sed -n 's/^TShark (Wireshark) \([0-9]*\.[0-9]*\.[0-9]*\).*/\1/p')
echo "wireshark-release: $suite has Wireshark $version"
if [ -n "$want_version" ] && [ "${version%.*}" != "$want_version" ]; then
	echo "wireshark-release: $suite brings Wireshark $version, not $want_version: update the test's suite" >&2
	exit 1
fi

build=/tmp/vsockmon-build
chroot_exec "
	cmake -S $chroot_source_dir -B $build -DVSOCKMON_KMOD=OFF -DCMAKE_BUILD_TYPE=RelWithDebInfo \
		-DCMAKE_C_FLAGS=-Werror >$build.configure.log 2>&1 || { cat $build.configure.log; exit 1; }
	cmake --build $build -j\$(nproc) >$build.build.log 2>&1 || { cat $build.build.log; exit 1; }
	cd $build && ctest --output-on-failure -j\$(nproc) -R '^(dissector_|samples_|extcap_test_|extcap_protocol_|extcap_vhost_split_agrees)'
"
