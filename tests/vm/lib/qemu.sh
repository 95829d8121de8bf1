# shellcheck shell=bash
# QEMU side of the VM lab: accelerator probe and the command line.

# KVM works on some machines and hangs silently on others (this project's
# Firecracker hosts: a PVM-style /dev/kvm that never reaches the kernel's first
# console line). Probe once per host boot by booting the guest kernel under KVM
# and waiting for "Linux version"; fall back to TCG.
lab_probe_accel() {
	local kernel=$1 boot_id cache_file out
	if [ -n "${VSOCKMON_LAB_ACCEL:-}" ]; then
		echo "$VSOCKMON_LAB_ACCEL"
		return
	fi
	if [ ! -w /dev/kvm ]; then
		echo tcg
		return
	fi
	boot_id=$(cat /proc/sys/kernel/random/boot_id 2>/dev/null || echo unknown)
	cache_file="$LAB_CACHE/accel.$boot_id"
	if [ ! -f "$cache_file" ]; then
		out=$(timeout 8 qemu-system-x86_64 -accel kvm -cpu host -M q35 -m 256 \
			-display none -nodefaults -no-reboot -monitor none -serial stdio \
			-kernel "$kernel" -append 'console=ttyS0 panic=-1' 2>/dev/null |
			grep -m1 -c 'Linux version') || true
		if [ "$out" = 1 ]; then echo kvm; else echo tcg; fi >"$cache_file"
	fi
	cat "$cache_file"
}

# lab_qemu_command ARRAY KERNEL INITRD ACCEL MEM_MB CONSOLE_LOG RESULTS_DIR CTL_DIR APPEND
# Fill the array named ARRAY with the QEMU command line. Three 9p shares: the
# host root (read-only), the results folder and the control folder (writable).
lab_qemu_command() {
	local -n cmd_ref=$1
	local kernel=$2 initrd=$3 accel=$4 mem=$5 console=$6 results=$7 ctl=$8 append=$9
	local cpu=max
	if [ "$accel" = kvm ]; then cpu=host; fi
	# shellcheck disable=SC2034 # cmd_ref is the caller's array
	cmd_ref=(
		qemu-system-x86_64 -accel "$accel" -cpu "$cpu" -M q35
		-m "$mem" -smp "${VSOCKMON_LAB_SMP:-1}"
		-nodefaults -display none -no-reboot -monitor none
		-serial "file:$console"
		-kernel "$kernel" -initrd "$initrd"
		-append "console=ttyS0 panic=-1 loglevel=5 $append"
		-virtfs "local,path=/,mount_tag=hostroot,security_model=none,readonly=on,multidevs=remap"
		-virtfs "local,path=$results,mount_tag=labresults,security_model=none,multidevs=remap"
		-virtfs "local,path=$ctl,mount_tag=labctl,security_model=none"
	)
}
