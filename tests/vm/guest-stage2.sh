#!/bin/bash
# Stage 2 of the VM lab guest: PID 1 after switch_root into the host root.
# Loads the requested vsockmon module, runs the job's script with a timeout,
# saves its exit status and the kernel log to the control share, powers off.
set -u

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
CTL=/run/lab/ctl

# Power-off is asynchronous and tears down the 9p root under us: wait with
# bash builtins only, on a FIFO in tmpfs, so PID 1 never exits (which would
# panic the kernel) and never execs a binary from a vanishing filesystem.
power_off() {
	local hold=/run/lab/hold
	mkfifo "$hold"
	exec 9<>"$hold"
	sync
	echo o >/proc/sysrq-trigger
	while :; do read -r -u 9 _; done
}

# Record why the lab (not the script) failed; the host prints it.
lab_failure() {
	echo "$*" >"$CTL/failure"
	echo "LAB-FAIL: $*" >/dev/console
}

finish() {
	dmesg >"$CTL/dmesg.txt" 2>&1
	echo "$1" >"$CTL/exit_status"
	power_off
}

load_module() {
	local ko
	case "$LAB_MODULE" in
	none) return 0 ;;
	distro) ko=$LAB_DISTRO_VSOCKMON_KO ;;
	*) ko=$LAB_MODULE ;;
	esac
	if ! insmod "$ko" >"$CTL/insmod.log" 2>&1; then
		lab_failure "insmod $ko failed: $(cat "$CTL/insmod.log")"
		return 1
	fi
}

run_script() {
	local -a cmd=("$LAB_SCRIPT")
	# A script without the execute bit still runs, through bash.
	[ -x "$LAB_SCRIPT" ] || cmd=(bash "$LAB_SCRIPT")
	mkdir -p "$HOME"
	cd "$LAB_REPO" || return 125
	timeout -k 5 "$LAB_TIMEOUT" "${cmd[@]}" "${LAB_ARGS[@]}" \
		</dev/null >"$CTL/output.log" 2>&1
}

# A repository in the host's /tmp is hidden by the guest's own /tmp: bind
# its top-level /tmp folder (which holds ../shared too, as in CI) back.
expose_repo_in_host_tmp() {
	local top
	case "$LAB_REPO" in
	/tmp/?*) ;;
	*) return 0 ;;
	esac
	top=${LAB_REPO#/tmp/}
	top=/tmp/${top%%/*}
	mkdir -p "$top"
	mount -o bind "/run/lab/host-tmp/${top#/tmp/}" "$top"
}

main() {
	local status
	# job.env defines LAB_SCRIPT, LAB_ARGS (array), LAB_MODULE, LAB_TIMEOUT,
	# LAB_REPO, LAB_KVER, LAB_MODULES_DIR; written by tests/vm/run-guest.sh.
	# shellcheck disable=SC1091
	. "$CTL/job.env"
	export LAB_RESULTS=/run/lab/results
	export LAB_DISTRO_VSOCKMON_KO=/run/lab/distro/vsockmon.ko
	export LAB_KVER LAB_REPO LAB_MODULES_DIR
	export HOME=/tmp/root
	echo "lab: guest ready, running $LAB_SCRIPT" >/dev/console

	if ! expose_repo_in_host_tmp; then
		lab_failure "cannot bind the repository $LAB_REPO from the host's /tmp"
		finish 125
	fi
	if ! load_module; then
		finish 125
	fi
	run_script
	status=$?
	[ "$status" -eq 124 ] && lab_failure "guest script timed out after $LAB_TIMEOUT s"
	echo "lab: guest script exited with $status" >/dev/console
	finish "$status"
}

main
