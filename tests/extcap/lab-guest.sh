#!/usr/bin/env bash
# vsockdump in the VM lab, one boot (run by tests/vm/run-guest.sh --module none).
#
# Usage (in the guest): tests/extcap/lab-guest.sh BUILD_DIR
#
# 1. Without any vsockmon module (and none installed for this kernel, so the
#    kernel's autoload fails): a capture fails with exit 2 and says what is
#    missing and how to fix it; no link is left.
# 2. insmod Debian's vsockmon.ko, then as an unprivileged user (nobody) with a
#    setcap'ed copy of vsockdump in WIRESHARK_EXTCAP_DIR:
#    tshark -D lists vsockmon without touching any link; tshark -i vsockmon
#    captures the generator's traffic; tshark -f FILTER captures only the
#    matching conversations; the interface is gone afterwards.
# 3. vsockdump --fifo - (scripts): pcapng stream with IDB options and a
#    closing ISB; an op filter; SIGTERM exit 0 quickly.
# 4. SIGKILL leaves a tagged link that the next run deletes; links it did not
#    create (or that were --keep'ed) are never touched; --existing works.
set -euo pipefail

build=${1:?usage: lab-guest.sh BUILD_DIR}
repo=${LAB_REPO:-$(pwd)}
traffic=$build/tests/traffic/vsock-traffic
check="python3 $repo/tests/extcap/lab_check.py"
extdir=/tmp/extcap
work=/tmp/vsockdump-lab
nobody_home=/tmp/nobody-home
failures=0

say() { printf '== %s\n' "$*"; }
pass() { printf 'PASS: %s\n' "$*"; }
fail() {
	printf 'FAIL: %s\n' "$*"
	failures=$((failures + 1))
}
check_that() { # DESCRIPTION COMMAND...
	local what=$1
	shift
	if "$@"; then pass "$what"; else fail "$what"; fi
}

# An array, not a function: "${as_nobody[@]}" cmd & is a plain command, so $!
# is the process itself (setpriv and env exec it), not a bash subshell.
as_nobody=(setpriv --reuid=65534 --regid=65534 --clear-groups
	env HOME=$nobody_home WIRESHARK_EXTCAP_DIR=$extdir)

vsockmon_links() { ip -o link show type vsockmon 2>/dev/null | awk -F': ' '{print $2}' | sed 's/@.*//'; }
no_vsockmon_links() { [ -z "$(vsockmon_links)" ]; }
link_exists() { ip link show dev "$1" >/dev/null 2>&1; }
link_alias() { cat "/sys/class/net/$1/ifalias" 2>/dev/null; }

# Wait until a vsockmon link (other than those listed in $2) shows up.
wait_for_new_link() { # SECONDS [IGNORE...]
	local deadline=$((SECONDS + $1)) l
	shift
	while [ $SECONDS -lt $deadline ]; do
		for l in $(vsockmon_links); do
			case " $* " in *" $l "*) ;; *) echo "$l"; return 0 ;; esac
		done
		sleep 0.2
	done
	return 1
}

# Send SIGNAL to PID and wait for it to end; its exit status goes to $rc.
signal_and_wait() { # SIGNAL PID
	kill -"$1" "$2"
	set +e
	wait "$2"
	rc=$?
	set -e
}

wait_gone() { # LINK SECONDS
	local deadline=$((SECONDS + $2))
	while [ $SECONDS -lt $deadline ]; do
		ip link show dev "$1" >/dev/null 2>&1 || return 0
		sleep 0.2
	done
	return 1
}

setup() {
	rm -rf $extdir $work $nobody_home
	mkdir -p $extdir $work $nobody_home
	chmod 1777 $work
	chown 65534:65534 $nobody_home
	# the 9p root is read-only; /tmp is tmpfs and keeps security.capability
	cp "$build/extcap/vsockdump" $extdir/vsockdump
	chmod 755 $extdir $extdir/vsockdump
	setcap cap_net_admin,cap_net_raw+ep $extdir/vsockdump
	say "vsockdump copy: $(getcap $extdir/vsockdump)"
	[ -x "$traffic" ] || { echo "missing $traffic: build the tree first" >&2; exit 1; }
}

# ------------------------------------------------------------------ 1
test_missing_module() {
	say "1. no vsockmon module"
	local out rc
	if grep -q '^vsockmon ' /proc/modules; then
		fail "precondition: vsockmon must not be loaded (boot with --module none)"
		return
	fi
	# The guest sees the host's /lib/modules; if a vsockmon.ko is installed
	# there (e.g. by DKMS), hide it so the kernel's autoload really fails.
	if [ -n "$(find /lib/modules/"$LAB_KVER" -name 'vsockmon.ko*' 2>/dev/null)" ]; then
		say "hiding the installed vsockmon.ko under an empty tmpfs"
		mount -t tmpfs -o ro,mode=755 none /lib/modules/"$LAB_KVER"
		hidden_modules=yes
	fi
	set +e
	out=$("${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/missing.pcapng 2>&1 >/dev/null)
	rc=$?
	set -e
	echo "   vsockdump said: $out"
	check_that "missing module: exit code 2 (got $rc)" [ "$rc" -eq 2 ]
	check_that "missing module: one line" [ "$(printf '%s\n' "$out" | wc -l)" -eq 1 ]
	check_that "missing module: says the module is not installed" \
		grep -q "module vsockmon is not installed" <<<"$out"
	check_that "missing module: points to the DKMS package in kmod/" grep -q "DKMS package in kmod/" <<<"$out"
	check_that "missing module: no link left" no_vsockmon_links
	[ "${hidden_modules:-no}" = no ] || umount /lib/modules/"$LAB_KVER"
}

# ------------------------------------------------------------------ 2
test_tshark_list() {
	say "2a. tshark -D as nobody"
	local before after listing
	before=$(ip -o link show)
	listing=$(timeout -k 5 60 "${as_nobody[@]}" tshark -D 2>/dev/null || true)
	after=$(ip -o link show)
	echo "$listing" | grep -i vsock || true
	check_that "tshark -D lists vsockmon" \
		grep -q 'vsockmon (vsock monitor: temporary vsockmon interface)' <<<"$listing"
	check_that "tshark -D changed no link" [ "$before" = "$after" ]
}

# Run tshark as nobody in the background on vsockmon, generate traffic once the
# link exists, then let tshark stop: by itself (STOP = -a duration:SECONDS,
# long enough for slow TCG guests) or, with STOP = sigint, by Ctrl-C once the
# traffic is done (tshark then stops dumpcap, which SIGTERMs the extcap).
tshark_capture() { # NAME PORT_BASE STOP [TSHARK ARGS...]
	local name=$1 base=$2 stop=$3 pid link rc
	local -a autostop=()
	shift 3
	[ "$stop" = sigint ] || autostop=(-a "duration:$stop")
	rm -f $work/$name.json
	timeout -k 5 120 "${as_nobody[@]}" tshark -i vsockmon "${autostop[@]}" -w $work/$name.pcapng "$@" \
		>$work/$name.tshark.log 2>&1 &
	pid=$!
	if ! link=$(wait_for_new_link 60); then
		fail "$name: no vsockmon link appeared within 60 s"
		cat $work/$name.tshark.log
		kill "$pid" 2>/dev/null || true
		wait "$pid" || true
		return 1
	fi
	echo "   $name: capturing on $link ($(link_alias "$link"))"
	sleep 1	# libpcap is attached once the link is up and tagged; be generous
	"$traffic" --manifest $work/$name.json --port-base "$base" http seqpacket refused \
		>$work/$name.traffic.log 2>&1 || fail "$name: vsock-traffic failed: $(tail -3 $work/$name.traffic.log)"
	if [ "$stop" = sigint ]; then
		sleep 2
		kill -INT "$(pgrep -n -x tshark)" 2>/dev/null || true
	fi
	set +e
	wait "$pid"
	rc=$?
	set -e
	check_that "$name: tshark exit 0 (got $rc)" [ "$rc" -eq 0 ]
	[ "$rc" -eq 0 ] || cat $work/$name.tshark.log
	check_that "$name: $link deleted after the capture" wait_gone "$link" 3
	check_that "$name: no vsockmon link left" no_vsockmon_links
}

test_tshark_capture() {
	say "2b. tshark -i vsockmon -a duration as nobody"
	tshark_capture all 6000 40 || return 0
	check_that "all: every generator conversation captured" \
		$check all-conversations $work/all.pcapng $work/all.json
}

test_tshark_filter() {
	say "2c. tshark -f with our filter language, stopped with SIGINT"
	# seqpacket is slot 1: server port 7001, client 7101
	tshark_capture filtered 7000 sigint -f "port 7001" || return 0
	check_that "filtered: only the seqpacket conversation (port 7001)" \
		$check only-ports $work/filtered.pcapng $work/filtered.json 7001
	local out rc
	set +e
	out=$(timeout -k 5 60 "${as_nobody[@]}" tshark -i vsockmon -f "tcp port 80" -a duration:5 -w $work/bad.pcapng 2>&1)
	rc=$?
	set -e
	echo "   tshark -f 'tcp port 80' said: $(grep -i filter <<<"$out" | head -2)"
	check_that "pcap syntax refused through tshark, naming the token (exit $rc)" \
		grep -q "unexpected 'tcp'" <<<"$out"
	check_that "refused filter: no link created or left" no_vsockmon_links
}

# ------------------------------------------------------------------ 3
# vsockdump straight to stdout; SIGTERM once traffic is done.
test_stdout_stream() {
	say "3. vsockdump --fifo - with an op filter, stopped by SIGTERM"
	local pid link rc t0 filter="cid local and op request"
	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo - --extcap-capture-filter "$filter" \
		>$work/stream.pcapng 2>$work/stream.err &
	pid=$!
	if ! link=$(wait_for_new_link 10); then
		fail "stream: no link appeared"
		cat $work/stream.err
		kill "$pid"
		return 0
	fi
	sleep 0.5
	"$traffic" --port-base 8000 http refused >/dev/null 2>&1 || fail "stream: vsock-traffic failed"
	sleep 0.5
	t0=$(date +%s%N)
	signal_and_wait TERM "$pid"
	local ms=$((($(date +%s%N) - t0) / 1000000))
	check_that "stream: exit 0 after SIGTERM (got $rc, stderr: $(cat $work/stream.err))" [ "$rc" -eq 0 ]
	check_that "stream: stopped within 5 s of SIGTERM (${ms} ms)" [ "$ms" -lt 5000 ]
	check_that "stream: SHB, IDB with name/filter/OS, EPBs, closing ISB with drops" \
		$check stream $work/stream.pcapng vsockmon "$filter"
	check_that "stream: filter kept only op request frames" \
		$check only-op $work/stream.pcapng request
	check_that "stream: $link deleted" wait_gone "$link" 3
}

# A burst (many short connections, a 290 KB seqpacket exchange): vsockdump
# must see every frame tcpdump sees on the same link, with no kernel drops.
test_burst_complete() {
	say "3c. burst: vsockdump --fifo - against tcpdump on the same link"
	local pid tpid link n_ours n_tcpdump
	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo - >$work/burst.pcapng 2>$work/burst.err &
	pid=$!
	if ! link=$(wait_for_new_link 10); then
		fail "burst: no link appeared: $(cat $work/burst.err)"
		kill "$pid"
		return 0
	fi
	tcpdump -Z root -i "$link" -w $work/burst-tcpdump.pcap >/dev/null 2>&1 &
	tpid=$!
	sleep 2
	"$traffic" --port-base 10000 --count 40 seqpacket many-short >/dev/null 2>&1 ||
		fail "burst: vsock-traffic failed"
	sleep 2
	kill -INT "$tpid"
	wait "$tpid" || true
	kill -TERM "$pid"
	wait "$pid" || true
	n_ours=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import lab_check as c; print(sum(1 for _ in c.frames(sys.argv[2])))' \
		"$repo/tests/extcap" $work/burst.pcapng)
	n_tcpdump=$(tcpdump -r $work/burst-tcpdump.pcap 2>/dev/null | wc -l)
	check_that "burst: vsockdump wrote all $n_tcpdump frames tcpdump saw (got $n_ours)" \
		[ "$n_ours" -eq "$n_tcpdump" -a "$n_ours" -gt 100 ]
	check_that "burst: closing ISB reports 0 kernel drops" \
		grep -q "ISB: kernel drops 0" <<<"$($check stream $work/burst.pcapng vsockmon "" 2>&1)"
}

# A 1 MiB ring under a 64 KiB-frame flood must drop, and say so: every frame
# the link saw is either in the file or counted in the closing ISB, the
# process exits 0 on SIGTERM, and the link is gone. vsockdump is stopped
# (SIGSTOP) while the flood runs, as a reader stalled on a slow disk would
# be: a running vsockdump now keeps up with the lab's flood even in 1 MiB.
test_tiny_ring_flood() {
	say "3d. --ring-size 1 under a flood: drops counted, no crash, no stale link"
	local pid rc link seen captured drops report
	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo - --ring-size 1 >$work/tiny.pcapng 2>$work/tiny.err &
	pid=$!
	if ! link=$(wait_for_new_link 10); then
		fail "tiny ring: no link appeared: $(cat $work/tiny.err)"
		kill "$pid"
		return 0
	fi
	sleep 2
	kill -STOP "$pid"
	"$traffic" --port-base 11000 --bytes $((48 << 20)) flood >/dev/null 2>&1 || fail "tiny ring: flood failed"
	kill -CONT "$pid"
	sleep 1
	seen=$(cat /sys/class/net/"$link"/statistics/rx_packets)
	set +e
	kill -TERM "$pid"
	wait "$pid"
	rc=$?
	set -e
	report=$($check stream $work/tiny.pcapng vsockmon "" 2>&1 || true)
	captured=$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import lab_check as c; print(sum(1 for _ in c.frames(sys.argv[2])))' \
		"$repo/tests/extcap" $work/tiny.pcapng)
	drops=$(sed -n 's/^ISB: kernel drops \([0-9]*\).*/\1/p' <<<"$report")
	echo "   link saw $seen frames; file has $captured; ISB drops ${drops:-none}"
	check_that "tiny ring: exit 0 after SIGTERM (got $rc, stderr: $(cat $work/tiny.err))" [ "$rc" -eq 0 ]
	check_that "tiny ring: closing ISB reports the drops" [ -n "$drops" ]
	check_that "tiny ring: the flood overran the stalled 1 MiB ring (drops ${drops:-0})" [ "${drops:-0}" -gt 0 ]
	check_that "tiny ring: captured $captured + dropped ${drops:-0} = the $seen frames the link saw" \
		[ "$((captured + ${drops:-0}))" -eq "$seen" ]
	check_that "tiny ring: $link deleted" wait_gone "$link" 3
}

# Wireshark stops the capture while its reader lags behind a flood: the
# fifo is full and vsockdump waits in a write. The stop must get through
# that wait; the file must end on a whole block (with the statistics) when
# the reader catches up within the grace, and vsockdump must not outlive
# the grace when it never does.
test_stop_with_stalled_reader() {
	local resumes out pid rc link t0 t1 reader
	for resumes in yes no; do
		say "3f. SIGTERM while the fifo is full (the reader resumes: $resumes)"
		out=$work/stalled-$resumes.pcapng
		rm -f $work/stalled.fifo "$out"
		mkfifo -m 666 $work/stalled.fifo
		exec 7<>$work/stalled.fifo	# a reader that holds the fifo and reads nothing
		"${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/stalled.fifo --log-level info \
			--log-file $work/stalled-$resumes.log 2>$work/stalled.err &
		pid=$!
		if ! link=$(wait_for_new_link 10); then
			fail "stalled reader: no link appeared: $(cat $work/stalled.err)"
			exec 7<&-
			kill "$pid"
			continue
		fi
		"$traffic" --port-base 11200 --bytes $((8 << 20)) flood >/dev/null 2>&1 || fail "stalled reader: flood failed"
		sleep 0.5
		reader=
		if [ "$resumes" = yes ]; then
			# its own copy of fd 7 would keep a writer on the fifo: no EOF
			(exec 7<&-; sleep 1; cat $work/stalled.fifo >"$out") &
			reader=$!
		fi
		t0=$(date +%s%N)
		signal_and_wait TERM "$pid"
		t1=$(date +%s%N)
		exec 7<&-
		[ -z "$reader" ] || wait "$reader"
		check_that "stalled reader ($resumes): exit 0 (got $rc: $(cat $work/stalled.err))" [ "$rc" -eq 0 ]
		check_that "stalled reader ($resumes): exit within the 3 s grace + 1 s ($(((t1 - t0) / 1000000)) ms)" \
			[ $(((t1 - t0) / 1000000)) -lt 4000 ]
		check_that "stalled reader ($resumes): $link deleted" wait_gone "$link" 3
		if [ "$resumes" = yes ]; then
			check_that "stalled reader: whole blocks and the statistics ($($check stream "$out" vsockmon "" 2>&1 | tail -1))" \
				$check stream "$out" vsockmon ""
		else
			check_that "stalled reader: says the output ends short" grep -q "ends short" $work/stalled-no.log
		fi
	done
}

# A terminal closing (SIGHUP) stops a capture like SIGTERM: no stale link.
test_sighup() {
	say "3g. SIGHUP stops the capture"
	local pid rc link
	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/hup.pcapng 2>$work/hup.err &
	pid=$!
	if ! link=$(wait_for_new_link 10); then
		fail "sighup: no link appeared: $(cat $work/hup.err)"
		kill "$pid"
		return 0
	fi
	"$traffic" --port-base 11300 http >/dev/null 2>&1 || fail "sighup: vsock-traffic failed"
	sleep 0.5
	signal_and_wait HUP "$pid"
	check_that "sighup: exit 0 (got $rc: $(cat $work/hup.err))" [ "$rc" -eq 0 ]
	check_that "sighup: $link deleted" wait_gone "$link" 3
	check_that "sighup: the file ends with the statistics" $check stream $work/hup.pcapng vsockmon ""
}

# SIGTERM while vsockdump is still setting up (creating the link, opening
# the capture): it must exit cleanly and leave no link behind.
test_sigterm_during_setup() {
	say "3e. SIGTERM during setup, 20 times"
	local i pid rc bad=0
	for i in $(seq 20); do
		rm -f $work/early.log
		"${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/early.pcapng \
			--log-level debug --log-file $work/early.log 2>>$work/early.err &
		pid=$!
		# a signal before main() runs is not vsockdump's to handle: wait for
		# its first log line (handlers installed), then hit the setup at
		# varying points (stale cleanup, link creation, capture open)
		for _ in $(seq 100); do
			grep -q "mode" $work/early.log 2>/dev/null && break
			sleep 0.05
		done
		sleep "0.0$((i % 10))"
		kill -TERM "$pid" 2>/dev/null || true
		set +e
		wait "$pid"
		rc=$?
		set -e
		# 0: stopped cleanly; any other code must be vsockdump's own, never a signal
		[ "$rc" -lt 128 ] || bad=$((bad + 1))
	done
	check_that "early SIGTERM: never died of a signal ($bad of 20 did)" [ "$bad" -eq 0 ]
	check_that "early SIGTERM: no vsockmon link left behind" no_vsockmon_links
}

# Like Wireshark going away: the reader reads a little and closes the fifo.
test_reader_closes() {
	say "3b. the reader closes the fifo (no signal)"
	local pid rc gone=no
	rm -f $work/fifo
	mkfifo -m 666 $work/fifo
	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/fifo --log-level info \
		--log-file $work/fifo.log 2>$work/fifo.err &
	pid=$!
	head -c 64 $work/fifo >/dev/null
	for _ in $(seq 50); do
		kill -0 "$pid" 2>/dev/null || { gone=yes; break; }
		sleep 0.2
	done
	check_that "reader closed: vsockdump exits by itself within 10 s" [ "$gone" = yes ]
	[ "$gone" = yes ] || kill -TERM "$pid"
	set +e
	wait "$pid"
	rc=$?
	set -e
	check_that "reader closed: exit 0 (got $rc: $(cat $work/fifo.err))" [ "$rc" -eq 0 ]
	check_that "reader closed: it had been capturing" grep -q "capturing on vsockmon" $work/fifo.log
	check_that "reader closed: link deleted" no_vsockmon_links
}

# ------------------------------------------------------------------ 4
test_stale_cleanup() {
	say "4. SIGKILL, stale cleanup, foreign, kept and existing links"
	local pid stale alias next rc

	# links vsockdump must never touch
	ip link add vsockmon-user type vsockmon
	ip link add vsockmon-alias type vsockmon
	ip link set vsockmon-alias alias "somebody else's monitor"

	# --keep: stays, re-tagged, and a later run leaves it alone
	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/keep.pcapng --iface vsd-kept --keep 2>$work/keep.err &
	pid=$!
	for _ in $(seq 50); do link_exists vsd-kept && break; sleep 0.2; done
	sleep 0.3
	signal_and_wait TERM "$pid"
	check_that "--keep: exit 0 (got $rc: $(cat $work/keep.err))" [ "$rc" -eq 0 ]
	check_that "--keep: vsd-kept still there after exit" link_exists vsd-kept
	check_that "--keep: re-tagged as kept ($(link_alias vsd-kept))" \
		grep -q '^vsockdump kept ' <<<"$(link_alias vsd-kept)"

	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/killed.pcapng 2>$work/killed.err &
	pid=$!
	if ! stale=$(wait_for_new_link 10 vsockmon-user vsockmon-alias vsd-kept); then
		fail "kill: no link appeared: $(cat $work/killed.err)"
		return 0
	fi
	sleep 0.5
	check_that "privileges: after setup only CAP_NET_ADMIN is permitted ($(grep CapPrm /proc/$pid/status))" \
		grep -q "^CapPrm:[[:space:]]*0000000000001000$" /proc/$pid/status
	check_that "privileges: and effective" grep -q "^CapEff:[[:space:]]*0000000000001000$" /proc/$pid/status
	kill -KILL "$pid"
	wait "$pid" || true
	alias=$(link_alias "$stale")
	echo "   SIGKILLed owner of $stale, alias: $alias"
	check_that "kill: $stale survives SIGKILL" link_exists "$stale"
	check_that "kill: $stale carries the owner alias" grep -q "^vsockdump owner pid=$pid start=" <<<"$alias"

	# the next run removes it, and uses the first free name (the same one)
	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/next.pcapng --log-level info \
		--log-file $work/next.log 2>$work/next.err &
	pid=$!
	sleep 1
	next=$(wait_for_new_link 10 vsockmon-user vsockmon-alias vsd-kept) || true
	local owner
	owner=$(link_alias "$next" || true)
	check_that "next run: the link is a fresh one (alias names the new pid $pid: $owner)" \
		grep -q "pid=$pid " <<<"$owner"
	signal_and_wait TERM "$pid"
	check_that "next run: exit 0 (got $rc: $(cat $work/next.err))" [ "$rc" -eq 0 ]
	check_that "next run: logged deleting the stale link" grep -q "deleted stale link $stale" $work/next.log
	check_that "next run: no vsockdump link left" \
		[ "$(vsockmon_links | grep -cv '^vsockmon-user$\|^vsockmon-alias$\|^vsd-kept$')" -eq 0 ]
	check_that "foreign link without alias untouched" link_exists vsockmon-user
	check_that "foreign link with another alias untouched" link_exists vsockmon-alias
	check_that "--keep link untouched by the stale cleanup" link_exists vsd-kept

	# --existing: captures a link it did not create, never deletes it
	ip link set vsockmon-user down
	"${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/existing.pcapng --existing vsockmon-user \
		2>$work/existing.err &
	pid=$!
	local up=no
	for _ in $(seq 50); do
		if ip -o link show dev vsockmon-user | grep -q '[<,]UP[,>]'; then up=yes; break; fi
		sleep 0.2
	done
	sleep 0.5
	check_that "--existing: no capability left after setup ($(grep CapPrm /proc/$pid/status))" \
		grep -q "^CapPrm:[[:space:]]*0000000000000000$" /proc/$pid/status
	"$traffic" --port-base 9000 http >/dev/null 2>&1 || fail "existing: vsock-traffic failed"
	sleep 0.5
	signal_and_wait TERM "$pid"
	check_that "--existing: exit 0 (got $rc: $(cat $work/existing.err))" [ "$rc" -eq 0 ]
	check_that "--existing: brought vsockmon-user up" [ "$up" = yes ]
	check_that "--existing: vsockmon-user not deleted" link_exists vsockmon-user
	check_that "--existing: other links untouched" link_exists vsd-kept
	check_that "--existing: captured the traffic" \
		[ "$(python3 -c 'import sys; sys.path.insert(0, sys.argv[1]); import lab_check as c; print(sum(1 for _ in c.frames(sys.argv[2])))' \
			"$repo/tests/extcap" $work/existing.pcapng)" -gt 0 ]
	local existing_err
	existing_err=$("${as_nobody[@]}" $extdir/vsockdump --capture --fifo $work/x.pcapng --existing lo 2>&1 || true)
	check_that "--existing lo: refused, says it is not vsockmon ($existing_err)" \
		grep -q "not a vsockmon interface" <<<"$existing_err"
	ip link del vsd-kept
	ip link del vsockmon-user
	ip link del vsockmon-alias
}

setup
test_missing_module
say "loading Debian's vsockmon.ko"
insmod "$LAB_DISTRO_VSOCKMON_KO"
test_tshark_list
test_tshark_capture
test_tshark_filter
test_stdout_stream
test_burst_complete
test_tiny_ring_flood
test_stop_with_stalled_reader
test_sighup
test_sigterm_during_setup
test_reader_closes
test_stale_cleanup
cp -r $work "$LAB_RESULTS/vsockdump-lab" 2>/dev/null || true
say "$failures failure(s)"
[ "$failures" -eq 0 ]
