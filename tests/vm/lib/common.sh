# shellcheck shell=bash
# Shared helpers of the VM lab (sourced by tests/vm/run-guest.sh and friends).

LAB_VM_DIR=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
LAB_REPO=$(cd "$LAB_VM_DIR/../.." && pwd)
LAB_CACHE=${VSOCKMON_LAB_CACHE:-$LAB_REPO/.cache/lab}

lab_log() {
	echo "lab: $*" >&2
}

lab_die() {
	echo "lab: error: $*" >&2
	exit 125
}

# Run "$@" while holding an exclusive lock on the cache, so that several
# helpers booting the lab at once never fetch or build the same file twice.
lab_with_cache_lock() {
	mkdir -p "$LAB_CACHE"
	(
		flock -w 600 9 || lab_die "could not lock $LAB_CACHE/.lock within 600 s"
		"$@"
	) 9>"$LAB_CACHE/.lock"
}
