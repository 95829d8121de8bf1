# shellcheck shell=bash
# Guest kernel: the Debian linux-image package matching the installed
# linux-headers-amd64, downloaded with apt-get and unpacked (never installed)
# into $LAB_CACHE/<kver>/root.

# Print the kernel release (e.g. 6.1.0-56-amd64) that linux-headers-amd64 pulls in,
# so the guest runs exactly the kernel out-of-tree modules are built against.
lab_kernel_version() {
	local dep
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

# Download and unpack linux-image-<kver> once; later calls reuse the cache.
lab_fetch_kernel() {
	local kver=$1 dir tmp
	dir=$(lab_kernel_dir "$kver")
	[ -f "$dir/root/.unpacked" ] && return 0
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
	dpkg -x "$tmp"/linux-image-*.deb "$tmp/root"
	touch "$tmp/root/.unpacked"
	mkdir -p "$dir"
	rm -rf "$dir/root"
	mv "$tmp/root" "$dir/root"
	rm -rf "$tmp"
}

lab_kernel_image() {
	echo "$(lab_kernel_dir "$1")/root/boot/vmlinuz-$1"
}

lab_kernel_modules() {
	echo "$(lab_kernel_dir "$1")/root/lib/modules/$1"
}
