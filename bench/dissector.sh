#!/usr/bin/env bash
# Dissector benchmark: the vsockmon plugin against Wireshark's built-in
# "vSocket" dissector, side by side in one run, on generated captures.
#
# Usage: bench/dissector.sh            (as root; tshark itself runs as nobody)
#
# Measures (see bench/README.md):
#   a) columns:  tshark -r CAP                  (one pass, default columns)
#   b) analysis: tshark -2 -V -r CAP            (two passes, full tree: every
#                field, expert info, reassembly and analysis of the plugin)
#   c) memory:   max RSS plugin - built-in, at two capture sizes, per extra
#                conversation (cancels tshark's fixed cost); also without the
#                reassembled SEQPACKET messages the plugin keeps (as TCP does)
#   d) instructions (callgrind, repeatable) for a) and b) on a small capture,
#      and the plugin's hot spots (callgrind_annotate).
# Wall/user/sys are medians of BENCH_RUNS runs (the ratio of the fastest runs
# is printed too: other jobs on a shared machine only ever add time). Writes bench/results/dissector.json.
# Exit status non-zero if anything could not be measured.
#
# Knobs: BENCH_RUNS (5), BENCH_CONNS (50000: the big capture, >= 1 M frames),
#   BENCH_ANALYSIS_CONNS (10000), BENCH_CG_CONNS (1000), BENCH_SEED (42),
#   BENCH_BUILD (.cache/build-bench), BENCH_CACHE (.cache/bench).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
runs=${BENCH_RUNS:-5}
conns=${BENCH_CONNS:-50000}
analysis_conns=${BENCH_ANALYSIS_CONNS:-10000}
cg_conns=${BENCH_CG_CONNS:-1000}
seed=${BENCH_SEED:-42}
build=${BENCH_BUILD:-$repo/.cache/build-bench}
cache=${BENCH_CACHE:-$repo/.cache/bench}
results=$repo/bench/results/dissector.json
tshark_user=$repo/tests/lib/tshark-user.sh
work=
plugin=

fail() {
	echo "bench/dissector: FAILED: $*" >&2
	exit 1
}

cleanup() {
	if [ -n "$work" ]; then rm -rf "$work"; fi
}

step() {
	echo "== $* ($(date +%T))" >&2
}

build_plugin() {
	step "building the plugin (RelWithDebInfo) in $build"
	cmake -S "$repo" -B "$build" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
	cmake --build "$build" -j2 --target vsockmon_plugin >/dev/null
	plugin=$build/plugins/4.0/epan/vsockmon.so
	[ -f "$plugin" ] || fail "no $plugin after the build"
}

build_generator() {
	cc -O2 -Wall -Wextra -Werror -std=c11 -D_DEFAULT_SOURCE -I"$repo/include" \
		-o "$cache/gen-capture" "$repo/bench/gen-capture.c"
}

# Generate (or reuse) the capture of $1 connections; print its path.
# The name carries the generator's hash, so a changed generator regenerates.
capture_for() {
	local n=$1 sum cap
	sum=$(sha1sum "$repo/bench/gen-capture.c" | cut -c1-8)
	cap=$cache/cap-$n-s$seed-$sum.pcap
	if [ ! -s "$cap" ] || [ ! -s "$cap.json" ]; then
		step "generating $cap"
		rm -f "$cache"/cap-"$n"-s"$seed"-*.pcap*
		"$cache/gen-capture" -n "$n" -s "$seed" -o "$cap" >"$cap.json" ||
			fail "gen-capture -n $n"
		chmod a+r "$cap" "$cap.json"
	fi
	echo "$cap"
}

# Frame count recorded by the generator for capture $1.
frames_of() {
	json_of "$1" frames
}

# Field $2 of the generator's summary of capture $1.
json_of() {
	python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))[sys.argv[2]])' "$1.json" "$2"
}

# The dissector that decodes frame 1 must be the one we think we run:
# the plugin's protocol column says VSOCK, the built-in one vSocket.
check_dissector() {
	local so=$1 want=$2 cap=$3 line
	line=$("$tshark_user" "$so" -r "$cap" -c 1 2>&1) || fail "tshark ($want): $line"
	case "$line" in
	*" $want "*) ;;
	*) fail "expected the $want dissector, tshark printed: $line" ;;
	esac
}

# One timed tshark run: dissector label, mode, size label, run number,
# capture, expected frame count, tshark args... Appends a TSV row
# (dissector mode size run wall user sys maxrss_kb) to $work/times.tsv.
timed_run() {
	local label=$1 mode=$2 size=$3 run=$4 cap=$5 frames=$6 so lines
	shift 6
	so=$plugin
	[ "$label" = plugin ] || so=-
	if [ "$mode" = columns ]; then
		# one line per frame: count them to prove every frame was read
		lines=$(set -o pipefail; /usr/bin/time -f '%e %U %S %M' -o "$work/time" \
			"$tshark_user" "$so" "$@" 2>"$work/err" | wc -l) ||
			fail "$label $mode: tshark failed: $(tail -3 "$work/err") $(cat "$work/time")"
		[ "$lines" -eq "$frames" ] ||
			fail "$label $mode: $lines lines for $frames frames: $(head -3 "$work/err")"
	else
		/usr/bin/time -f '%e %U %S %M' -o "$work/time" \
			"$tshark_user" "$so" "$@" >/dev/null 2>"$work/err" ||
			fail "$label $mode: tshark failed: $(tail -3 "$work/err") $(cat "$work/time")"
	fi
	if [ -s "$work/err" ]; then
		fail "$label $mode: tshark complained: $(head -3 "$work/err")"
	fi
	tail -1 "$work/time" | grep -Eq '^[0-9.]+ [0-9.]+ [0-9.]+ [0-9]+$' ||
		fail "$label $mode: cannot read /usr/bin/time output: $(cat "$work/time")"
	printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$mode" "$size" "$run" \
		"$(tail -1 "$work/time" | tr ' ' '\t')" >>"$work/times.tsv"
	echo "   $label $mode $size #$run: $(tail -1 "$work/time") (wall user sys maxrss_kB)" >&2
}

# Alternate plugin and built-in runs so that load from other jobs on the
# machine hits both alike. $1 mode, $2 size label, $3 runs, $4 capture, rest: tshark args.
measure_pair() {
	local mode=$1 size=$2 n=$3 cap=$4 frames r
	shift 4
	frames=$(frames_of "$cap")
	for r in $(seq 1 "$n"); do
		timed_run plugin "$mode" "$size" "$r" "$cap" "$frames" "$@"
		timed_run builtin "$mode" "$size" "$r" "$cap" "$frames" "$@"
	done
}

# callgrind over one tshark run, counting only the dissection and output
# functions (epan_dissect_run*, column fill-in, tree printing), so tshark's
# start-up (registering ~3000 dissectors) does not dilute the ratio.
# A 'tshark' first in PATH runs the real one under callgrind; it names its
# output file itself because tshark-user.sh clears the environment.
# $1 label, $2 mode, rest: tshark args. Prints the instruction count.
callgrind_run() {
	local label=$1 mode=$2 so=$plugin out
	shift 2
	[ "$label" = plugin ] || so=-
	out=$cache/callgrind/$label-$mode.out
	mkdir -p "$work/cgbin" "$cache/callgrind"
	chmod 0777 "$cache/callgrind"
	rm -f "$out"
	cat >"$work/cgbin/tshark" <<-EOF
	#!/bin/sh
	[ "\$1" = --version ] && exec /usr/bin/tshark "\$@"
	exec valgrind --tool=callgrind --callgrind-out-file=$out \\
		--collect-atstart=no --toggle-collect='epan_dissect_run*' \\
		--toggle-collect=epan_dissect_fill_in_columns \\
		--toggle-collect=proto_tree_print /usr/bin/tshark "\$@"
	EOF
	chmod 0755 "$work/cgbin" "$work/cgbin/tshark"
	PATH=$work/cgbin:$PATH "$tshark_user" "$so" "$@" >/dev/null 2>"$out.log" ||
		fail "callgrind $label $mode: $(tail -5 "$out.log")"
	[ -s "$out" ] || fail "callgrind $label $mode wrote no profile"
	sed -n 's/^summary: *\([0-9]*\).*/\1/p' "$out" | head -1
}

# Inclusive instructions of the functions named $2... in callgrind profile $1
# (summed; they do not call each other).
cg_inclusive() {
	local out=$1
	shift
	callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
		awk -v names=" $* " '{
			fn = ""
			for (i = 1; i <= NF; i++) if ($i ~ /^\?\?\?:/) { fn = substr($i, 5); break }
			if (fn != "" && index(names, " " fn " ")) { gsub(",", "", $1); sum += $1 }
		} END { printf "%.0f\n", sum }'
}

# Hot spots inside vsockmon.so: self and inclusive cost of its functions
# (callgrind_annotate names them by source file under dissector/).
hot_spots() {
	local out=$1
	echo "# self cost, functions of vsockmon.so ($(basename "$out"))"
	callgrind_annotate --threshold=100 "$out" 2>/dev/null |
		grep -E 'dissector/[a-z0-9-]+\.c:' | sed 's/ \[.*\]$//; s|/work/main/||' | head -25
	echo "# inclusive cost (with the Wireshark calls they make)"
	callgrind_annotate --inclusive=yes --threshold=100 "$out" 2>/dev/null |
		grep -E 'dissector/[a-z0-9-]+\.c:' | sed 's/ \[.*\]$//; s|/work/main/||' | head -25
}

main() {
	[ "$(id -u)" -eq 0 ] || fail "run as root (tshark runs as nobody through $tshark_user)"
	command -v valgrind >/dev/null || fail "valgrind missing: scripts/install-deps.sh"
	[ -x /usr/bin/time ] || fail "/usr/bin/time missing: scripts/install-deps.sh"
	mkdir -p "$cache" "$repo/bench/results"
	chmod a+rx "$cache" "$(dirname "$cache")"
	work=$(mktemp -d /tmp/vsockmon-bench.XXXXXX)
	chmod 0755 "$work"
	trap cleanup EXIT
	: >"$work/times.tsv"

	build_plugin
	build_generator
	local big half analysis analysis_half small
	big=$(capture_for "$conns")
	half=$(capture_for $((conns / 2)))
	analysis=$(capture_for "$analysis_conns")
	analysis_half=$(capture_for $((analysis_conns / 2)))
	small=$(capture_for "$cg_conns")
	check_dissector "$plugin" VSOCK "$small"
	check_dissector - vSocket "$small"

	step "a) columns, one pass: tshark -r ($conns connections), $runs runs each"
	measure_pair columns big "$runs" "$big" -r "$big"
	step "c) memory: columns at half size ($((conns / 2)) connections)"
	measure_pair columns half 1 "$half" -r "$half"
	step "b) full analysis, two passes: tshark -2 -V -r ($analysis_conns connections), $runs runs each"
	measure_pair analysis big "$runs" "$analysis" -2 -V -r "$analysis"
	# -V prints a hex dump under every 'data' item (the plugin's payloads, as
	# for TCP's), the built-in dissector's payload field prints none; with -x
	# both print each frame's bytes once, so the two outputs carry the same bytes
	step "b2) full analysis with the bytes: tshark -2 -V -x -r, $runs runs each"
	measure_pair analysis-x big "$runs" "$analysis" -2 -V -x -r "$analysis"
	step "c) memory: analysis at half size ($((analysis_conns / 2)) connections)"
	measure_pair analysis half 1 "$analysis_half" -2 -V -r "$analysis_half"

	step "d) instruction counts under callgrind ($cg_conns connections)"
	local ir_pc ir_bc ir_pa ir_ba
	ir_pc=$(callgrind_run plugin columns -r "$small")
	ir_bc=$(callgrind_run builtin columns -r "$small")
	ir_pa=$(callgrind_run plugin analysis -2 -V -r "$small")
	ir_ba=$(callgrind_run builtin analysis -2 -V -r "$small")
	for v in "$ir_pc" "$ir_bc" "$ir_pa" "$ir_ba"; do
		[[ "$v" =~ ^[0-9]+$ ]] || fail "unreadable callgrind summary '$v'"
	done
	{
		hot_spots "$cache/callgrind/plugin-analysis.out"
		hot_spots "$cache/callgrind/plugin-columns.out"
	} >"$repo/bench/results/dissector-hotspots.txt"

	# full analysis split into dissection and -V tree printing
	local split=() f
	for f in plugin-analysis builtin-analysis; do
		split+=("$(cg_inclusive "$cache/callgrind/$f.out" epan_dissect_run epan_dissect_run_with_taps)")
		split+=("$(cg_inclusive "$cache/callgrind/$f.out" proto_tree_print)")
	done
	for f in "${split[@]}"; do
		[[ "$f" =~ ^[1-9][0-9]*$ ]] || fail "cannot split the full analysis profile: '${split[*]}'"
	done

	python3 "$repo/bench/summarize-dissector.py" "$work/times.tsv" "$results" \
		--ir-analysis-split "${split[@]}" \
		--frames "$(frames_of "$big")" --connections "$conns" \
		--half-frames "$(frames_of "$half")" --half-connections $((conns / 2)) \
		--analysis-frames "$(frames_of "$analysis")" --analysis-connections "$analysis_conns" \
		--analysis-half-frames "$(frames_of "$analysis_half")" \
		--analysis-half-connections $((analysis_conns / 2)) \
		--cg-frames "$(frames_of "$small")" --cg-connections "$cg_conns" \
		--ir "$ir_pc" "$ir_bc" "$ir_pa" "$ir_ba" --runs "$runs" --seed "$seed" \
		--reassembled "$(json_of "$big" reassembled_bytes)" "$(json_of "$half" reassembled_bytes)" \
		"$(json_of "$analysis" reassembled_bytes)" "$(json_of "$analysis_half" reassembled_bytes)"
}

main "$@"
