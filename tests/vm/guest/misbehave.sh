#!/bin/bash
# Guest scripts that misbehave on purpose, for tests/vm/lab-negative.sh.
# Usage: misbehave.sh exit-status|timeout|kernel-warning|kernel-crash|ok
set -u
case "$1" in
exit-status) echo "misbehave: exiting with 3"; exit 3 ;;
timeout) echo "misbehave: sleeping past the timeout"; sleep 600 ;;
# A line in the kernel log, as a WARN_ON would leave; the script itself succeeds.
kernel-warning) echo "WARNING: CPU: 0 PID: $$ at lab-negative test marker" >/dev/kmsg; exit 0 ;;
# A real kernel crash: the guest dies before it can report a status.
kernel-crash) echo c >/proc/sysrq-trigger; sleep 60 ;;
ok) exit 0 ;;
*) echo "misbehave: unknown mode $1" >&2; exit 2 ;;
esac
