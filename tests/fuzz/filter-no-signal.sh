#!/usr/bin/env bash
# vsockdump must answer a filter with an exit code (0: valid, 1: invalid,
# with one error line), never be killed by a signal.
#   tests/fuzz/filter-no-signal.sh VSOCKDUMP FILTER_FILE
set -euo pipefail

vsockdump=${1:?usage: filter-no-signal.sh VSOCKDUMP FILTER_FILE}
filter=$(cat "${2:?usage: filter-no-signal.sh VSOCKDUMP FILTER_FILE}")
status=0

for mode in dump check; do
	rc=0
	if [ "$mode" = dump ]; then
		"$vsockdump" -d "$filter" >/dev/null 2>/tmp/filter-no-signal.$$ || rc=$?
	else
		"$vsockdump" --extcap-capture-filter "$filter" --extcap-interface vsockmon \
			>/tmp/filter-no-signal.$$ 2>&1 || rc=$?
	fi
	if [ "$rc" -ge 128 ]; then
		echo "FAIL: vsockdump ($mode) killed by signal $((rc - 128)) on a ${#filter}-byte filter" >&2
		status=1
	elif [ "$rc" -gt 1 ]; then
		echo "FAIL: vsockdump ($mode) exit $rc (0 or 1 expected)" >&2
		status=1
	elif [ "$(wc -l </tmp/filter-no-signal.$$)" -gt 1 ]; then
		echo "FAIL: vsockdump ($mode) answered with more than one line" >&2
		status=1
	else
		echo "ok: vsockdump ($mode) exit $rc: $(head -c 200 /tmp/filter-no-signal.$$)"
	fi
	rm -f /tmp/filter-no-signal.$$
done
exit "$status"
