# shellcheck shell=bash
# Guest kernel: the Debian linux-image package matching the installed
# linux-headers-amd64 (or VSOCKMON_LAB_KVER), downloaded with apt-get and
# unpacked (never installed) into $LAB_CACHE/<kver>/root, modules indexed
# with depmod.

# Print the newest amd64 kernel release of series $1 (e.g. 6.12 gives
# 6.12.117+deb12-amd64, 6.1 gives 6.1.0-NN-amd64) that apt knows a
# linux-image package for, nothing if none. Flavours (-rt-, -cloud-),
# -unsigned and -dbg are left out.
lab_series_newest_or_none() {
	local series=$1 re
	re="^linux-image-${series//./\\.}\\.[0-9]+[-+][^-]*-amd64\$"
	apt-cache search --names-only "^linux-image-${series//./\\.}\\." 2>/dev/null |
		awk '{print $1}' | grep -E "$re" | sed 's/^linux-image-//' | sort -V | tail -n1 || true
}

# The same, or stop the lab when apt knows none.
lab_newest_kernel_of_series() {
	local series=$1 kver
	kver=$(lab_series_newest_or_none "$series")
	[ -n "$kver" ] || lab_die "apt knows no linux-image-$series.*-amd64 package; run 'apt-get update' (as root)"
	lab_log "VSOCKMON_LAB_KVER=$series: newest is $kver"
	echo "$kver"
}

# Print the kernel release to boot: VSOCKMON_LAB_KVER if set (a series such as
# 6.12 means its newest release), else the one linux-headers-amd64 pulls in
# (e.g. 6.1.0-56-amd64), so the guest runs exactly the kernel out-of-tree
# modules are built against.
lab_kernel_version() {
	local dep
	if [[ "${VSOCKMON_LAB_KVER:-}" =~ ^[0-9]+\.[0-9]+$ ]]; then
		lab_newest_kernel_of_series "$VSOCKMON_LAB_KVER"
		return
	fi
	if [ -n "${VSOCKMON_LAB_KVER:-}" ]; then
		echo "$VSOCKMON_LAB_KVER"
		return
	fi
	dep=$(dpkg-query -W -f='${Depends}' linux-headers-amd64 2>/dev/null |
		grep -o 'linux-headers-[^ ,]*-amd64' | head -n1) || true
	if [ -z "$dep" ]; then
		# Fall back to the newest installed headers tree.
		dep=$(find /usr/src -maxdepth 1 -name 'linux-headers-*-amd64' -printf '%f\n' |
			sort -V | tail -n1)
	fi
	[ -n "$dep" ] || lab_die "no linux-headers-amd64 installed; run scripts/install-deps.sh"
	echo "${dep#linux-headers-}"
}

lab_kernel_dir() {
	echo "$LAB_CACHE/$1"
}

lab_apt_download() {
	(cd "$1" && apt-get download -q "$2" >/dev/null 2>"$1/apt.err")
}

# Index the unpacked modules (modules.dep etc., which the package leaves to
# the installer) so that modprobe -d works on them, in the guest as well.
# Not fatal: only modprobe needs it.
lab_depmod_kernel() {
	local kver=$1 root=$2
	[ -f "$root/lib/modules/$kver/modules.dep" ] && return 0
	PATH=$PATH:/usr/sbin:/sbin depmod -b "$root" "$kver" 2>"$root/depmod.err" ||
		lab_log "warning: depmod for $kver failed (modprobe -d will not work): $(head -n3 "$root/depmod.err")"
}

# Download and unpack linux-image-<kver> once; later calls reuse the cache.
lab_fetch_kernel() {
	local kver=$1 dir tmp
	dir=$(lab_kernel_dir "$kver")
	if [ -f "$dir/root/.unpacked" ]; then
		# Caches unpacked before depmod was run get indexed now.
		lab_depmod_kernel "$kver" "$dir/root"
		return 0
	fi
	lab_log "fetching linux-image-$kver into $dir (once)"
	tmp=$(mktemp -d "$LAB_CACHE/fetch.XXXXXX")
	if ! lab_apt_download "$tmp" "linux-image-$kver"; then
		# Stale package lists are the usual cause: refresh once and retry.
		if [ "$(id -u)" -eq 0 ]; then apt-get update -q >/dev/null 2>&1 || true; fi
		if ! lab_apt_download "$tmp" "linux-image-$kver"; then
			cat "$tmp/apt.err" >&2
			rm -rf "$tmp"
			lab_die "apt-get download linux-image-$kver failed; run 'apt-get update' (as root) and check that the package exists"
		fi
	fi
	lab_unpack_kernel "$kver" "$tmp"
	rm -rf "$tmp"
}

# Unpack the kernel packages downloaded into $2 (every .deb there) as the
# lab's cache of kernel $1. Debian 7.x splits the image into linux-binary
# (vmlinuz), -modules and -base (modules.builtin, .order), all under
# /usr/lib/modules/KVER; earlier releases ship one linux-image package with
# /boot and /lib/modules, the layout the lab reads: the former is moved
# into it. Also for kernels fetched elsewhere (tests/kmod/lab-newest-kernel.sh).
lab_unpack_kernel() {
	local kver=$1 debs=$2 dir root deb
	dir=$(lab_kernel_dir "$kver")
	root=$debs/root
	for deb in "$debs"/*.deb; do dpkg -x "$deb" "$root"; done
	if [ -d "$root/usr/lib/modules/$kver" ] && [ ! -d "$root/lib/modules/$kver" ]; then
		mkdir -p "$root/boot" "$root/lib/modules"
		mv "$root/usr/lib/modules/$kver" "$root/lib/modules/"
		mv "$root/lib/modules/$kver/vmlinuz" "$root/boot/vmlinuz-$kver"
	fi
	[ -f "$root/boot/vmlinuz-$kver" ] || lab_die "the packages in $debs hold no vmlinuz for $kver"
	lab_depmod_kernel "$kver" "$root"
	touch "$root/.unpacked"
	mkdir -p "$dir"
	rm -rf "$dir/root"
	mv "$root" "$dir/root"
}

lab_kernel_image() {
	echo "$(lab_kernel_dir "$1")/root/boot/vmlinuz-$1"
}

lab_kernel_modules() {
	echo "$(lab_kernel_dir "$1")/root/lib/modules/$1"
}
