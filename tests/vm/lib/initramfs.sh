# shellcheck shell=bash
# Guest initramfs: busybox-static, the base modules, the distro vsockmon.ko,
# stage 1 (init.in) and stage 2 (guest-stage2.sh). Cached per kernel under
# $LAB_CACHE/<kver>/ and named after a hash of everything that goes into it,
# so editing the init template or the module list rebuilds it.

# What stage 1 loads before mounting the host root: the virtio PCI transport,
# 9p over virtio and vsock loopback. Their dependencies (modinfo depends=,
# e.g. virtio_ring, netfs, fscache on 6.1) are added and loaded first. Modules
# built into the kernel (modules.builtin, e.g. virtio_pci on 6.12) are skipped.
LAB_BASE_MODULES=(virtio_pci 9pnet_virtio 9p vsock_loopback)

lab_initramfs_inputs_hash() {
	local kver=$1
	{
		echo "$kver ${LAB_BASE_MODULES[*]}"
		cat "$LAB_VM_DIR/init.in" "$LAB_VM_DIR/guest-stage2.sh" \
			"$LAB_VM_DIR/lib/initramfs.sh"
		sha256sum /bin/busybox
	} | sha256sum | cut -c1-16
}

# Print the file of module $2 (name as in depends=) under modules folder $1:
# NAME.ko, or compressed NAME.ko.{xz,zst,gz} (Debian compresses from 6.12 on);
# nothing if it is built into the kernel; die if it is neither.
lab_module_file() {
	local moddir=$1 name=$2 glob path
	# The kernel treats - and _ in module names alike; file names use either.
	glob=${name//[-_]/[-_]}
	path=$(find "$moddir/kernel" \( -name "$glob.ko" -o -name "$glob.ko.xz" \
		-o -name "$glob.ko.zst" -o -name "$glob.ko.gz" \) -print -quit)
	if [ -n "$path" ]; then
		echo "$path"
	elif ! grep -Eq "(^|/)${glob}\.ko\$" "$moddir/modules.builtin" 2>/dev/null; then
		lab_die "module $name is neither under $moddir/kernel nor in its modules.builtin"
	fi
}

# Copy module file $1 to $2 (a plain .ko): busybox insmod cannot decompress.
lab_copy_module() {
	case "$1" in
	*.ko) cp "$1" "$2" ;;
	*.ko.xz) xz -dc "$1" >"$2" ;;
	*.ko.zst) zstd -qdc "$1" >"$2" ;;
	*.ko.gz) gzip -dc "$1" >"$2" ;;
	*) false ;;
	esac || lab_die "cannot copy or decompress module $1"
}

# Stage module $3 into $2/modules after its dependencies, appending each to
# $2/modules/order (load order). Built-in ones are skipped.
declare -gA lab_staged=()
lab_stage_module() {
	local moddir=$1 stage=$2 name=$3 file dep deps
	[ -z "${lab_staged[$name]:-}" ] || return 0
	lab_staged[$name]=1
	file=$(lab_module_file "$moddir" "$name") || exit
	if [ -z "$file" ]; then
		lab_log "$name is built into the kernel; not loading it"
		return 0
	fi
	lab_copy_module "$file" "$stage/modules/$name.ko"
	deps=$(PATH=$PATH:/usr/sbin:/sbin modinfo -F depends "$stage/modules/$name.ko") ||
		lab_die "modinfo $file failed"
	for dep in ${deps//,/ }; do
		lab_stage_module "$moddir" "$stage" "$dep"
	done
	echo "$name.ko" >>"$stage/modules/order"
}

# Build the initramfs for kernel $1 into $2. A subshell, so that its clean-up
# trap and lab_die leave the caller alone.
lab_build_initramfs() (
	kver=$1 out=$2
	moddir=$(lab_kernel_modules "$kver")
	stage=$(mktemp -d "$LAB_CACHE/initramfs.XXXXXX")
	# shellcheck disable=SC2064 # expand $stage now
	trap "rm -rf '$stage' '$out.tmp'" EXIT
	mkdir -p "$stage"/{bin,proc,sys,dev,newroot,modules/distro}
	cp /bin/busybox "$stage/bin/busybox"
	sed "s/@LAB_KVER@/$kver/g" "$LAB_VM_DIR/init.in" >"$stage/init"
	chmod 755 "$stage/init"
	cp "$LAB_VM_DIR/guest-stage2.sh" "$stage/stage2.sh"
	: >"$stage/modules/order"
	for m in "${LAB_BASE_MODULES[@]}"; do
		lab_stage_module "$moddir" "$stage" "$m"
	done
	vsockmon=$(lab_module_file "$moddir" vsockmon) || exit
	[ -n "$vsockmon" ] || lab_die "vsockmon is built into $kver: --module distro has nothing to load"
	lab_copy_module "$vsockmon" "$stage/modules/distro/vsockmon.ko"
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp" ||
		lab_die "cannot write $out.tmp"
	mv "$out.tmp" "$out"
)

# Print the path of an up-to-date initramfs for kernel $1, building it if needed.
lab_initramfs() {
	local kver=$1 out
	out="$(lab_kernel_dir "$kver")/initramfs-$(lab_initramfs_inputs_hash "$kver").cpio.gz"
	if [ ! -f "$out" ]; then
		lab_log "building $out"
		lab_build_initramfs "$kver" "$out" || exit
	fi
	echo "$out"
}
