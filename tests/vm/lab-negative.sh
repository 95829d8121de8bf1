#!/usr/bin/env bash
# Prove run-guest.sh reports guest failures: boot once with a misbehaving
# guest script and check the exit status and message run-guest.sh gives.
# Usage: tests/vm/lab-negative.sh exit-status|timeout|kernel-warning|kernel-crash|bad-module
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
mode=${1:?usage: lab-negative.sh MODE}
results=$(mktemp -d /tmp/vsockmon-negative.XXXXXX)
trap 'rm -rf "$results"' EXIT
opts=(--mem 384 --results "$results")
script_mode=$mode

case "$mode" in
exit-status) want_status=3 want_text='guest exit status 3' ;;
timeout) want_status=124 want_text='timed out after 5 s'; opts+=(--timeout 5) ;;
kernel-warning) want_status=126 want_text='kernel log shows: .*WARNING:' ;;
kernel-crash) want_status=125 want_text='guest stopped without an exit status.*(Kernel panic|sysrq)' ;;
bad-module)
	# Not an ELF module at all: insmod must fail and the script must not run.
	echo "not a module" >"$results/bad.ko"
	opts+=(--module "$results/bad.ko")
	script_mode=ok want_status=125 want_text='insmod .*bad.ko failed'
	;;
*) echo "lab-negative: unknown mode $mode" >&2; exit 2 ;;
esac

status=0
"$here/run-guest.sh" "${opts[@]}" "$here/guest/misbehave.sh" "$script_mode" \
	>"$results/stdout" 2>"$results/stderr" || status=$?
cat "$results/stdout" "$results/stderr" | grep -v '^\[ ' | tail -n 20

fail=0
if [ "$status" -ne "$want_status" ]; then
	echo "lab-negative: $mode: run-guest.sh exited $status, want $want_status" >&2
	fail=1
fi
if ! grep -Eq "$want_text" "$results/stderr"; then
	echo "lab-negative: $mode: run-guest.sh did not say /$want_text/" >&2
	fail=1
fi
[ "$fail" -eq 0 ] && echo "lab-negative: $mode: reported as expected (exit $status)"
exit "$fail"
