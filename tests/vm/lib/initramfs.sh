# shellcheck shell=bash
# Guest initramfs: busybox-static, the base modules, the distro vsockmon.ko,
# stage 1 (init.in) and stage 2 (guest-stage2.sh). Cached per kernel under
# $LAB_CACHE/<kver>/ and named after a hash of everything that goes into it,
# so editing the init template or the module list rebuilds it.

# Load order follows each module's depends= line (modinfo).
LAB_BASE_MODULES=(
	virtio_ring virtio virtio_pci_modern_dev virtio_pci_legacy_dev virtio_pci
	netfs fscache 9pnet 9pnet_virtio 9p
	vsock vmw_vsock_virtio_transport_common vsock_loopback
)

lab_initramfs_inputs_hash() {
	local kver=$1
	{
		echo "$kver ${LAB_BASE_MODULES[*]}"
		cat "$LAB_VM_DIR/init.in" "$LAB_VM_DIR/guest-stage2.sh" \
			"$LAB_VM_DIR/lib/initramfs.sh"
		sha256sum /bin/busybox
	} | sha256sum | cut -c1-16
}

lab_find_module() {
	local moddir=$1 name=$2 path
	path=$(find "$moddir/kernel" -name "$name.ko" -print -quit)
	[ -n "$path" ] || lab_die "module $name.ko not found under $moddir"
	echo "$path"
}

lab_build_initramfs() {
	local kver=$1 out=$2 moddir stage m
	moddir=$(lab_kernel_modules "$kver")
	stage=$(mktemp -d "$LAB_CACHE/initramfs.XXXXXX")
	mkdir -p "$stage"/{bin,proc,sys,dev,newroot,modules/distro}
	cp /bin/busybox "$stage/bin/busybox"
	sed "s/@LAB_KVER@/$kver/g" "$LAB_VM_DIR/init.in" >"$stage/init"
	chmod 755 "$stage/init"
	cp "$LAB_VM_DIR/guest-stage2.sh" "$stage/stage2.sh"
	for m in "${LAB_BASE_MODULES[@]}"; do
		cp "$(lab_find_module "$moddir" "$m")" "$stage/modules/"
		echo "$m.ko" >>"$stage/modules/order"
	done
	cp "$(lab_find_module "$moddir" vsockmon)" "$stage/modules/distro/vsockmon.ko"
	(cd "$stage" && find . -print0 | cpio --null -o -H newc --quiet) | gzip -1 >"$out.tmp"
	mv "$out.tmp" "$out"
	rm -rf "$stage"
}

# Print the path of an up-to-date initramfs for kernel $1, building it if needed.
lab_initramfs() {
	local kver=$1 out
	out="$(lab_kernel_dir "$kver")/initramfs-$(lab_initramfs_inputs_hash "$kver").cpio.gz"
	if [ ! -f "$out" ]; then
		lab_log "building $out"
		lab_build_initramfs "$kver" "$out"
	fi
	echo "$out"
}
