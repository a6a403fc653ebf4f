# SPDX-License-Identifier: GPL-2.0
# bench/vm_guest.sh: the half of bench/vm.sh that runs inside the qemu VM (busybox sh, as
# tests/vm/run-vm.sh's /init runs it). For each tier of TIERS it measures, with the rig's
# reuseport server and client on loopback, as bench/run.sh does on the host:
#  - ROUNDS alternating rounds of CONNS connections of VARIANTS: untraced, hooks (empty programs
#    on the tier's hooks), observe (reusetop --attach TIER -j -d 1), bpftrace (the tier's peer,
#    peer_TIER.bt, when bench/vm.sh could put bpftrace in the VM), each attached for its round
#    only, round r starting at variant r - 1 (a mark before and after each client run, for the
#    host to read qemu's CPU time at);
#  - STATS_ROUNDS rounds of STATS_CONNS connections of each traced variant with
#    kernel.bpf_stats_enabled=1, the programs' run_time_ns and run_cnt read before and after the
#    client (bpfstats), and one of reusetop
#    steer --policy roundrobin (its pinned sk_reuseport program).
# It prints no verdict: each result is one line "@@ KIND JSON" for the host to read; other lines
# are progress. Settings come from /vm/vm.conf (written by bench/vm.sh).

# shellcheck disable=SC1091
. /vm/vm.conf
trap '' PIPE

say() { echo "vm-bench: $*"; }
emit() { echo "@@ $1 $2"; }

# Each round leaves its connections in TIME_WAIT for a minute: more than the VM's default limit.
echo 262144 >/proc/sys/net/ipv4/tcp_max_tw_buckets
# Client ports above the server's, so that no client connects to itself on the server port.
echo "10000 65001" >/proc/sys/net/ipv4/ip_local_port_range
# Debian's bpftrace and its libraries (bench/vm.sh copied them to /vm/bt): the loader where the
# binary looks for it, the libraries by LD_LIBRARY_PATH (bpftrace only).
if [ -x /vm/bt/bpftrace ]; then
	mkdir -p /lib64
	ln -sf /vm/bt/ld-linux-x86-64.so.2 /lib64/ld-linux-x86-64.so.2
fi

# Waits until PID holds BPF links or perf events and their number has not changed for 1 s
# (bench/run.sh's wait_attached); 0, or 1 when it exited or took over TENTHS tenths of a second.
wait_attached() { # pid tenths
	local prev=-1 same=0 i=0 n
	while [ $i -lt "$2" ]; do
		kill -0 "$1" 2>/dev/null || return 1
		n=$(ls -l "/proc/$1/fd" 2>/dev/null | grep -c -E 'bpf_link|perf_event')
		if [ "$n" -gt 0 ] && [ "$n" = "$prev" ]; then
			same=$((same + 1))
			[ $same -ge 10 ] && return 0
		else
			same=0
		fi
		prev=$n
		sleep 0.1
		i=$((i + 1))
	done
	return 1
}

client() { # [count]
	rig_client --port "$PORT" --count "${1:-$CONNS}" --concurrency "$CONCURRENCY" 2>>/tmp/client.err
}

# start_variant TIER VARIANT: attach it (TRACER: its process); 0, or 1 when it did not attach.
start_variant() {
	local limit=600
	TRACER=""
	case $2 in
	untraced) return 0 ;;
	hooks) hooks "/vm/hooks_$1.bpf.o" >/dev/null 2>/tmp/tracer.err & ;;
	observe) reusetop --attach "$1" -j -d 1 >/tmp/observe.json 2>/tmp/tracer.err & ;;
	bpftrace) LD_LIBRARY_PATH=/vm/bt /vm/bt/bpftrace "/vm/peer_$1.bt" >/tmp/bpftrace.out \
		2>/tmp/tracer.err & ;;
	esac
	TRACER=$!
	# bpftrace compiles its script with LLVM first: seconds under TCG, minutes when the script
	# needs kernel structures converted from BTF.
	[ "$2" != bpftrace ] || limit=6000
	wait_attached $TRACER $limit && return 0
	say "$1 $2 did not attach: $(tail -n 3 /tmp/tracer.err)"
	stop_variant
	return 1
}

stop_variant() {
	[ -z "$TRACER" ] || { kill -INT "$TRACER" 2>/dev/null; wait "$TRACER"; }
	TRACER=""
}

# The tier reusetop really used (the "attach" of its first document), for the observe rounds.
observed_tier() {
	sed -n 's/.*"attach":"\([a-z]*\)".*/\1/p' /tmp/observe.json 2>/dev/null | head -n 1
}

round_line() { # tier variant round client-json
	emit round "{\"tier\":\"$1\",\"variant\":\"$2\",\"round\":$3,\"client\":${4:-null}}"
}

# One throughput round.
rate_round() { # tier variant round
	local res
	if ! start_variant "$1" "$2"; then
		emit round "{\"tier\":\"$1\",\"variant\":\"$2\",\"round\":$3,\"error\":\"did not attach\"}"
		return
	fi
	# The host reads qemu's CPU time as each mark reaches it (bench/vm.sh).
	emit mark "{\"tier\":\"$1\",\"variant\":\"$2\",\"round\":$3,\"at\":\"start\"}"
	res=$(client)
	emit mark "{\"tier\":\"$1\",\"variant\":\"$2\",\"round\":$3,\"at\":\"end\"}"
	stop_variant
	round_line "$1" "$2" "$3" "$res"
	say "round $3 $1 $2: $res"
}

# The statistics of PROGS... around one client run, as a "stats" line.
stats_line() { # tier variant round attached-tier progs...
	local t=$1 v=$2 r=$3 at=$4 s0 s1 res
	shift 4
	s0=$(bpfstats "$@")
	res=$(client "$STATS_CONNS")
	s1=$(bpfstats "$@")
	emit stats "{\"tier\":\"$t\",\"variant\":\"$v\",\"round\":$r,\"attach\":\"$at\",\"client\":${res:-null},\"before\":${s0:-[]},\"after\":${s1:-[]}}"
	say "stats $r $t $v: $res"
}

stats_round() { # tier variant round
	local at
	if ! start_variant "$1" "$2"; then
		emit stats "{\"tier\":\"$1\",\"variant\":\"$2\",\"round\":$3,\"error\":\"did not attach\"}"
		return
	fi
	# observe: reusetop's first document says which tier attached.
	[ "$2" != observe ] || sleep 1.2
	at=$1
	[ "$2" != observe ] || at=$(observed_tier)
	stats_line "$1" "$2" "$3" "$at" $TRACER
	stop_variant
}

# reusetop steer --policy roundrobin on the server's group: its pinned program's statistics.
steer_round() { # tier round
	local pins
	if ! reusetop steer --port "$PORT" --policy roundrobin >/tmp/steer.out 2>&1; then
		emit stats "{\"tier\":\"$1\",\"variant\":\"steer-roundrobin\",\"round\":$2,\"error\":\"$(tail -n 1 /tmp/steer.out | tr -d '"\\')\"}"
		return
	fi
	pins=$(ls -d /sys/fs/bpf/reusetop/tcp-*-"$PORT"/prog /sys/fs/bpf/reusetop/tcp-*-"$PORT"/link_* \
		2>/dev/null)
	# shellcheck disable=SC2086
	stats_line "$1" steer-roundrobin "$2" "$1" $pins
	reusetop steer --port "$PORT" --detach >>/tmp/steer.out 2>&1 || say "steer --detach failed"
}

# The variant started r - 1 places on in round r (rotation).
nth() { # index words...
	shift $(($1 + 1))
	echo "$1"
}

tier_block() { # tier
	local t=$1 nv r i v t0
	say "tier $t: ${ROUNDS} alternating rounds of $VARIANTS x $CONNS connections"
	# shellcheck disable=SC2086
	nv=$(echo $VARIANTS | wc -w)
	# Warm-ups: each tracer attached once (caches, BTF read), not counted; how long it took.
	for v in $VARIANTS; do
		[ "$v" != untraced ] || continue
		t0=$(cut -d' ' -f1 /proc/uptime)
		start_variant "$t" "$v" &&
			emit attach "{\"tier\":\"$t\",\"variant\":\"$v\",\"seconds\":$(awk -v a="$t0" \
				-v b="$(cut -d' ' -f1 /proc/uptime)" 'BEGIN { print b - a }')}" && sleep 0.5
		stop_variant
	done
	r=1
	while [ $r -le "$ROUNDS" ]; do
		i=0
		while [ $i -lt "$nv" ]; do
			# shellcheck disable=SC2086
			rate_round "$t" "$(nth $(((i + r - 1) % nv)) $VARIANTS)" $r
			i=$((i + 1))
		done
		r=$((r + 1))
	done
	echo 1 >/proc/sys/kernel/bpf_stats_enabled
	r=1
	while [ $r -le "$STATS_ROUNDS" ]; do
		for v in $VARIANTS; do
			[ "$v" = untraced ] || stats_round "$t" "$v" $r
		done
		steer_round "$t" $r
		r=$((r + 1))
	done
	echo 0 >/proc/sys/kernel/bpf_stats_enabled
}

emit guest "{\"kernel\":\"$(uname -r)\",\"arch\":\"$(uname -m)\",\"nproc\":$(nproc),\"mem_total_kib\":$(awk '/^MemTotal/ {print $2}' /proc/meminfo),\"bpftrace\":\"$([ -x /vm/bt/bpftrace ] && LD_LIBRARY_PATH=/vm/bt /vm/bt/bpftrace --version)\"}"
rm -f /tmp/rig.stats /tmp/rig.ready
rig_server --mode reuseport --workers "$WORKERS" --port "$PORT" --stats /tmp/rig.stats \
	--ready /tmp/rig.ready >/tmp/rig.out 2>&1 &
rig=$!
i=0
while [ ! -s /tmp/rig.ready ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
[ -s /tmp/rig.ready ] || { say "rig_server did not start: $(cat /tmp/rig.out)"; exit 1; }
emit warmup "$(client)"
for t in $TIERS; do
	if ! reusetop --attach "$t" -j -n 1 -d 0.05 >/dev/null 2>/tmp/probe.err; then
		emit tier_error "{\"tier\":\"$t\",\"error\":\"$(tail -n 1 /tmp/probe.err | tr -d '"\\')\"}"
		continue
	fi
	tier_block "$t"
done
kill -TERM $rig
wait $rig
while read -r line; do emit server "$line"; done </tmp/rig.stats
exit 0
