#!/usr/bin/env bash
# Mutation pass in the manner of Wireshark's tools/fuzz-test.sh: randomly
# corrupt the sample captures with editcap -E and decode them with tshark
# -2 -V, as an unprivileged user, through the plugin built with ASan and
# UBSan (and WIRESHARK_ABORT_ON_DISSECTOR_BUG=1). Fails on any sanitizer
# report, dissector bug, crash or unexpected message on stderr.
#
#   fuzz/mutate.sh [-n FRAMES] [-E RATE] [-s SEED] [-b BATCH] [-o OUTDIR] [PLUGIN_SO]
#
#   -n FRAMES  mutated frames to decode in total (default 20000; the long
#              run uses 1000000)
#   -E RATE    editcap's byte error probability (default 0.02, as fuzz-test.sh)
#   -s SEED    first editcap --seed (default: from the clock; printed)
#   -b BATCH   frames per tshark run (default 20000)
#   -o OUTDIR  where failing captures and their minimal prefixes are kept
#              (default .cache/fuzz/mutate-failures)
#   PLUGIN_SO  the ASan plugin (default: built by fuzz/build.sh into
#              .cache/build-fuzz/plugin-asan/vsockmon.so)
#
# Every sample is concatenated into one base capture, copied until a batch
# is full, and each batch is mutated with a new seed in one of three ways,
# in turn: every byte may change; only bytes after the 76 header bytes
# (editcap -o 76), so well-formed headers carry corrupted payloads into the
# connection analysis, reassembly, ttrpc and HTTP; or only bytes after the
# 32-byte monitor header (-o 32), so the virtio header disagrees with an
# intact monitor header.
# tshark runs through fuzz/asan-tshark.sh (how an ASan plugin is loaded
# into a tshark without ASan).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
frames_total=20000
rate=0.02
seed=$(date +%s)
batch=20000
outdir=$root/.cache/fuzz/mutate-failures
while getopts "n:E:s:b:o:" opt; do
	case $opt in
	n) frames_total=$OPTARG ;;
	E) rate=$OPTARG ;;
	s) seed=$OPTARG ;;
	b) batch=$OPTARG ;;
	o) outdir=$OPTARG ;;
	*) sed -n '8,20p' "$0" >&2; exit 2 ;;
	esac
done
shift $((OPTIND - 1))
plugin=${1:-}
if [ -z "$plugin" ]; then
	"$root/fuzz/build.sh"
	plugin=$root/.cache/build-fuzz/plugin-asan/vsockmon.so
fi
plugin=$(realpath "$plugin")
[ -f "$plugin" ] || { echo "mutate.sh: no plugin at $plugin" >&2; exit 2; }

monitor_bytes=32	# struct af_vsockmon_hdr
header_bytes=76		# + struct virtio_vsock_hdr (44)

work=$(mktemp -d /tmp/vsockmon-mutate.XXXXXX)
trap 'rm -rf "$work"' EXIT
chmod 755 "$work"	# tshark runs as nobody and reads the batches here

# tshark as nobody with the ASan plugin; stdout discarded, stderr kept in $2.
decode() {
	local capture=$1 errors=$2
	"$root/fuzz/asan-tshark.sh" "$plugin" -r "$capture" -2 -V -Y 'vsock || !vsock' \
		-d vsockmon.port==8080,http -z conv,vsockmon -z endpoints,vsockmon \
		-z follow,vsockmon,hex,0 >/dev/null 2>"$errors"
}

# 0 when a decode of $1 is clean: exit 0 and nothing on stderr.
decodes_clean() {
	local rc=0
	decode "$1" "$work/errors" || rc=$?
	[ "$rc" -eq 0 ] && [ ! -s "$work/errors" ]
}

frame_count() {
	capinfos -c -M "$1" | sed -n 's/^Number of packets: *//p'
}

# Smallest prefix of $1 that still fails, then its last frame alone.
minimise() {
	local failing=$1 name=$2 lo=1 hi mid
	hi=$(frame_count "$failing")
	while [ "$lo" -lt "$hi" ]; do
		mid=$(( (lo + hi) / 2 ))
		editcap -r "$failing" "$work/prefix.pcapng" "1-$mid"
		chmod 644 "$work/prefix.pcapng"
		if decodes_clean "$work/prefix.pcapng"; then lo=$((mid + 1)); else hi=$mid; fi
	done
	editcap -r "$failing" "$outdir/$name.prefix.pcapng" "1-$lo"
	editcap -r "$failing" "$outdir/$name.frame.pcapng" "$lo"
	chmod 644 "$outdir/$name.frame.pcapng"
	echo "mutate.sh: first failing frame: $lo; $outdir/$name.prefix.pcapng (frames 1-$lo)"
	if ! decodes_clean "$outdir/$name.frame.pcapng"; then
		echo "mutate.sh: frame $lo alone fails too: $outdir/$name.frame.pcapng"
	fi
}

# Sanity: the ASan plugin loads and decodes (a missing runtime would make
# tshark skip the plugin with a warning, and every batch would "pass").
mapfile -t samples < <(find "$root/samples" \( -name '*.pcap' -o -name '*.pcapng' \) | sort)
mergecap -a -w "$work/base.pcapng" "${samples[@]}"
chmod 644 "$work/base.pcapng"
"$root/fuzz/asan-tshark.sh" "$plugin" -r "$work/base.pcapng" \
	-T fields -e vsockmon.stream >"$work/streams" 2>"$work/errors" || true
if [ -s "$work/errors" ] || ! grep -q '^[0-9]' "$work/streams"; then
	echo "mutate.sh: the ASan plugin does not decode the samples:" >&2
	cat "$work/errors" >&2
	exit 1
fi

base_frames=$(frame_count "$work/base.pcapng")
[ "$batch" -le "$frames_total" ] || batch=$frames_total
copies=$(( (batch + base_frames - 1) / base_frames ))
copy_list=()
for _ in $(seq "$copies"); do copy_list+=("$work/base.pcapng"); done
mergecap -a -w "$work/batch.pcapng" "${copy_list[@]}"
batch_frames=$(frame_count "$work/batch.pcapng")

echo "mutate.sh: ${#samples[@]} samples, $base_frames frames; batches of $batch_frames frames;" \
	"rate $rate, seeds from $seed; target $frames_total frames"
mkdir -p "$outdir"
done_frames=0
round=0
failures=0
start=$(date +%s)
while [ "$done_frames" -lt "$frames_total" ]; do
	round_seed=$((seed + round))
	case $((round % 3)) in
	0) variant=all; keep=() ;;
	1) variant=payload; keep=(-o "$header_bytes") ;;
	2) variant=virtio; keep=(-o "$monitor_bytes") ;;
	esac
	# (editcap -o warns for every frame shorter than the offset: expected)
	editcap -E "$rate" "${keep[@]}" --seed "$round_seed" "$work/batch.pcapng" \
		"$work/mutated.pcapng" 2>"$work/editcap.log"
	chmod 644 "$work/mutated.pcapng"
	rc=0
	decode "$work/mutated.pcapng" "$work/errors" || rc=$?
	if [ "$rc" -ne 0 ] || [ -s "$work/errors" ]; then
		failures=$((failures + 1))
		name="mutate-$variant-seed$round_seed"
		cp "$work/mutated.pcapng" "$outdir/$name.pcapng"
		echo "mutate.sh: FAILED: round $round ($variant bytes, editcap -E $rate ${keep[*]} --seed $round_seed), tshark exit $rc" >&2
		grep -v '^ *#[0-9]' "$work/errors" | head -15 >&2 || true
		grep -E '^ *#[0-9]+ .* in ' "$work/errors" | head -12 >&2 || true
		cp "$work/errors" "$outdir/$name.stderr"
		minimise "$outdir/$name.pcapng" "$name"
	fi
	done_frames=$((done_frames + batch_frames))
	round=$((round + 1))
done
elapsed=$(( $(date +%s) - start ))
echo "mutate.sh: $done_frames mutated frames in $round batches, ${elapsed}s, $failures failing batch(es)"
[ "$failures" -eq 0 ]
