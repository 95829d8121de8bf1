#!/usr/bin/env bash
# check_capture.py must notice when a capture and its manifest disagree:
# run it on a good sample (must pass), then on broken copies (each must fail).
# Usage: tests/vm/check-capture-negative.sh SAMPLES_DIR
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
samples=${1:?usage: check-capture-negative.sh SAMPLES_DIR}
work=$(mktemp -d /tmp/check-capture-neg.XXXXXX)
trap 'rm -rf "$work"' EXIT
failures=0

check() {
	python3 "$here/check_capture.py" "$@" >"$work/out" 2>&1
}

must_pass() {
	if ! check "$@"; then
		cat "$work/out" >&2
		echo "check-capture-negative: FAIL: good input rejected: $*" >&2
		failures=$((failures + 1))
	fi
}

# must_fail WHAT PATTERN ARGS...: the checker must reject it, saying PATTERN.
must_fail() {
	local what=$1 pattern=$2
	shift 2
	if check "$@" || ! grep -q "$pattern" "$work/out"; then
		cat "$work/out" >&2
		echo "check-capture-negative: FAIL: $what was not reported (want /$pattern/)" >&2
		failures=$((failures + 1))
	else
		echo "check-capture-negative: ok: $what -> $(grep -m1 MISMATCH "$work/out")"
	fi
}

# Drop frame number $2 (1-based) of pcap $1, write $3.
drop_frame() {
	python3 - "$1" "$2" "$3" <<'PY'
import struct, sys
data = open(sys.argv[1], "rb").read()
drop, out, pos, n = int(sys.argv[2]), [data[:24]], 24, 0
while pos + 16 <= len(data):
    caplen = struct.unpack("<I", data[pos + 8:pos + 12])[0]
    n += 1
    if n != drop:
        out.append(data[pos:pos + 16 + caplen])
    pos += 16 + caplen
open(sys.argv[3], "wb").write(b"".join(out))
PY
}

must_pass "$samples/http.pcap" "$samples/http.manifest.jsonl"

sed 's/"bytes_c2s":94/"bytes_c2s":95/' "$samples/http.manifest.jsonl" >"$work/http-bytes.jsonl"
must_fail "wrong byte count" "payload bytes client->server" "$samples/http.pcap" "$work/http-bytes.jsonl"

sed 's/"messages_c2s":\[26,53,15\]/"messages_c2s":[79,15]/' "$samples/http.manifest.jsonl" >"$work/http-writes.jsonl"
must_fail "merged writes" "one per write" "$samples/http.pcap" "$work/http-writes.jsonl"

sed 's/65536,70000,150000/65536,220000/' "$samples/seqpacket.manifest.jsonl" >"$work/seq.jsonl"
must_fail "wrong message boundaries" "EOM-delimited messages" "$samples/seqpacket.pcap" "$work/seq.jsonl"

drop_frame "$samples/refused.pcap" 2 "$work/refused-no-rst.pcap"
must_fail "missing RST" "without RST" "$work/refused-no-rst.pcap" "$samples/refused.manifest.jsonl"

sed 's/"receiver_buffer":4096/"receiver_buffer":8192/' "$samples/credit-stall.manifest.jsonl" >"$work/credit.jsonl"
must_fail "wrong receive buffer" "buf_alloc" "$samples/credit-stall.pcap" "$work/credit.jsonl"

must_fail "traffic missing from manifest" "belong to no manifest connection" \
	"$samples/half-close.pcap" "$samples/http.manifest.jsonl"

[ "$failures" -eq 0 ] || exit 1
echo "check-capture-negative: every broken input was rejected"
