#!/usr/bin/env bash
# Boot the vsockmon VM lab (Debian kernel under QEMU, host root over 9p) and
# run one script inside it as root.
#
# Usage: tests/vm/run-guest.sh [--module none|distro|/abs/path/vsockmon.ko]
#            [--timeout SECS] [--results HOSTDIR] [--mem MB]
#            [--append 'kernel args'] GUEST_SCRIPT [ARGS...]
#
# In the guest, GUEST_SCRIPT runs with cwd = repo root and env LAB_RESULTS
# (writable share of HOSTDIR), LAB_DISTRO_VSOCKMON_KO, LAB_KVER, LAB_REPO,
# LAB_MODULES_DIR (the guest kernel's lib/modules/<kver>).
# Exit status: the script's, or 124 guest timeout, 125 lab failure (boot,
# insmod), 126 kernel Oops/BUG/WARNING seen. See tests/vm/README.md.
set -euo pipefail

# shellcheck source=lib/common.sh
. "$(dirname "${BASH_SOURCE[0]}")/lib/common.sh"
# shellcheck source=lib/kernel.sh
. "$LAB_VM_DIR/lib/kernel.sh"
# shellcheck source=lib/initramfs.sh
. "$LAB_VM_DIR/lib/initramfs.sh"
# shellcheck source=lib/qemu.sh
. "$LAB_VM_DIR/lib/qemu.sh"

EXIT_TIMEOUT=124
EXIT_LAB_FAILURE=125
EXIT_KERNEL_BUG=126
# Kernel log lines that mean the run is broken whatever the script said.
KERNEL_BUG_PATTERN='Oops|BUG:|WARNING:|general protection|KASAN|cut here|Kernel panic|LAB-FAIL'
# Boot plus power-off allowance on top of the script's own timeout.
BOOT_ALLOWANCE=120

module=none
timeout_secs=300
results=
mem=1024
append=
qemu_pid=
tail_pid=
ctl=

usage() {
	sed -n '2,13s/^# \{0,1\}//p' "$0" >&2
	exit 2
}

parse_args() {
	while [ $# -gt 0 ]; do
		case "$1" in
		--module) module=${2:?--module needs none, distro or a path}; shift 2 ;;
		--timeout) timeout_secs=${2:?}; shift 2 ;;
		--results) results=${2:?}; shift 2 ;;
		--mem) mem=${2:?}; shift 2 ;;
		--append) append=${2?}; shift 2 ;;
		-h | --help) usage ;;
		--) shift; break ;;
		-*) echo "run-guest: unknown option $1" >&2; usage ;;
		*) break ;;
		esac
	done
	[ $# -ge 1 ] || usage
	script=$1
	shift
	script_args=("$@")
	[[ "$timeout_secs" =~ ^[0-9]+$ ]] || lab_die "--timeout wants seconds, got '$timeout_secs'"
	[ -f "$script" ] || lab_die "guest script $script not found"
}

# Never leave QEMU behind, whatever ended this script.
cleanup() {
	if [ -n "$qemu_pid" ]; then
		kill "$qemu_pid" 2>/dev/null || true
		wait "$qemu_pid" 2>/dev/null || true
	fi
	if [ -n "$tail_pid" ]; then kill "$tail_pid" 2>/dev/null || true; fi
	if [ -n "$ctl" ]; then rm -rf "$ctl"; fi
	return 0
}

# The top-level /tmp folder holding the repository, which the guest binds
# back over its own /tmp (guest-stage2.sh); empty when the repo is elsewhere.
repo_tmp_top() {
	local top
	case "$LAB_REPO" in
	/tmp/?*) top=${LAB_REPO#/tmp/} && echo "/tmp/${top%%/*}" ;;
	esac
}

# The guest sees the host root at the same paths, except where it mounts its
# own filesystems (/tmp, /run, /dev, /proc, /sys): copy such files into the
# control share and print the guest path to use instead. Files in the
# repository's own /tmp folder stay where they are (the guest binds it).
guest_visible_path() {
	local path top
	path=$(realpath "$1")
	top=$(repo_tmp_top)
	if [ -n "$top" ] && [[ $path == "$top"/* ]]; then
		echo "$path"
		return
	fi
	case "$path" in
	/tmp/* | /run/* | /dev/* | /proc/* | /sys/*)
		mkdir -p "$ctl/files"
		cp -p "$path" "$ctl/files/"
		echo "/run/lab/ctl/files/$(basename "$path")"
		;;
	*) echo "$path" ;;
	esac
}

# The guest path of the guest kernel's unpacked lib/modules/<kver> in the
# cache, for scripts that load more modules; empty (with a warning) when the
# cache lies where the guest cannot see it.
guest_modules_dir() {
	local path top
	path=$(realpath "$(lab_kernel_modules "$kver")")
	top=$(repo_tmp_top)
	if [ -n "$top" ] && [[ $path == "$top"/* ]]; then
		echo "$path"
		return
	fi
	case "$path" in
	# Stage 1 keeps the host's /tmp reachable there (init.in).
	/tmp/*) echo "/run/lab/host-tmp/${path#/tmp/}" ;;
	/run/* | /dev/* | /proc/* | /sys/*)
		lab_log "warning: the guest cannot see $path; LAB_MODULES_DIR stays empty" ;;
	*) echo "$path" ;;
	esac
}

write_job() {
	local guest_script guest_module=$module arg
	guest_script=$(guest_visible_path "$script")
	case "$module" in
	none | distro) ;;
	/*) [ -f "$module" ] || lab_die "module $module not found"
		guest_module=$(guest_visible_path "$module") ;;
	*) lab_die "--module wants none, distro or an absolute path, got '$module'" ;;
	esac
	{
		printf 'LAB_SCRIPT=%q\n' "$guest_script"
		printf 'LAB_MODULE=%q\n' "$guest_module"
		printf 'LAB_TIMEOUT=%q\n' "$timeout_secs"
		printf 'LAB_REPO=%q\n' "$LAB_REPO"
		printf 'LAB_KVER=%q\n' "$kver"
		printf 'LAB_MODULES_DIR=%q\n' "$(guest_modules_dir)"
		printf 'LAB_ARGS=('
		for arg in "${script_args[@]}"; do printf '%q ' "$arg"; done
		printf ')\n'
	} >"$ctl/job.env"
}

prepare_kernel() {
	kver=$(lab_kernel_version)
	lab_with_cache_lock lab_fetch_kernel "$kver"
	kernel=$(lab_kernel_image "$kver")
	initrd=$(lab_with_cache_lock lab_initramfs "$kver")
	accel=$(lab_with_cache_lock lab_probe_accel "$kernel")
}

run_qemu() {
	local -a qemu
	lab_qemu_command qemu "$kernel" "$initrd" "$accel" "$mem" "$console" "$results" "$ctl" "$append"
	: >"$ctl/output.log"
	lab_log "booting $kver ($accel, ${mem} MB), results in $results"
	timeout -k 5 $((timeout_secs + BOOT_ALLOWANCE)) "${qemu[@]}" \
		</dev/null 2>"$ctl/qemu.err" &
	qemu_pid=$!
	# Stream the script's output while it runs.
	tail -n +1 -F --pid="$qemu_pid" "$ctl/output.log" 2>/dev/null &
	tail_pid=$!
	local qemu_status=0
	wait "$qemu_pid" || qemu_status=$?
	qemu_pid=
	wait "$tail_pid" 2>/dev/null || true
	tail_pid=
	return "$qemu_status"
}

report_failure() {
	echo "lab: FAILED: $1" >&2
	echo "lab: ---- console.log (tail) ----" >&2
	tail -n 60 "$console" >&2 || true
	[ -s "$ctl/qemu.err" ] && { echo "lab: ---- qemu stderr ----" >&2; cat "$ctl/qemu.err" >&2; }
	return 0
}

# Decide the exit status from what the guest left in the control share.
collect_result() {
	local qemu_status=$1 status bug
	cp "$ctl/output.log" "$results/guest-output.log" 2>/dev/null || true
	cp "$ctl/dmesg.txt" "$results/dmesg.txt" 2>/dev/null || true
	bug=$(cat "$console" "$ctl/dmesg.txt" 2>/dev/null | grep -E -m3 "$KERNEL_BUG_PATTERN" || true)
	if [ -f "$ctl/failure" ] && [ ! -f "$ctl/exit_status" ]; then
		report_failure "$(cat "$ctl/failure")"
		return "$EXIT_LAB_FAILURE"
	fi
	if [ ! -f "$ctl/exit_status" ]; then
		if [ "$qemu_status" -eq 124 ]; then
			report_failure "guest did not finish within $((timeout_secs + BOOT_ALLOWANCE)) s (killed)"
			return "$EXIT_TIMEOUT"
		fi
		report_failure "guest stopped without an exit status (QEMU exit $qemu_status)${bug:+: $bug}"
		return "$EXIT_LAB_FAILURE"
	fi
	status=$(cat "$ctl/exit_status")
	if [ -f "$ctl/failure" ]; then
		report_failure "$(cat "$ctl/failure")"
		[ "$status" -ne 0 ] || status=$EXIT_LAB_FAILURE
		return "$status"
	fi
	if [ -n "$bug" ]; then
		report_failure "kernel log shows: $bug"
		return "$EXIT_KERNEL_BUG"
	fi
	return "$status"
}

main() {
	parse_args "$@"
	trap cleanup EXIT
	trap 'exit 130' INT TERM
	if [ -z "$results" ]; then
		results=$(mktemp -d /tmp/vsockmon-lab.XXXXXX)
	fi
	mkdir -p "$results"
	results=$(realpath "$results")
	console=$results/console.log
	: >"$console"
	ctl=$(mktemp -d /tmp/vsockmon-lab-ctl.XXXXXX)
	prepare_kernel
	write_job
	local start=$SECONDS qemu_status=0 status=0
	run_qemu || qemu_status=$?
	collect_result "$qemu_status" || status=$?
	lab_log "guest exit status $status after $((SECONDS - start)) s; results in $results"
	return "$status"
}

main "$@"
