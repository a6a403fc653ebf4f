#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/run.sh: what reusetop costs, measured. `make bench` builds what it needs and runs this;
# docs/performance.md explains the method and the results. Not part of the test suite.
#
#  1. Throughput: the rig's reuseport server (one worker per CPU) and its load client, unpaced
#     (as fast as the machine goes), on loopback in a network namespace of our own, in
#     alternating rounds of a fixed number of connections (each round starting one variant
#     later): untraced, reusetop observing (-j -d 1 > /dev/null), the bpftrace peer
#     (bench/peer.bt), and reusetop steer with each policy (skipped, and said so, when this
#     reusetop has no `steer`). Connections/s per variant: median and spread over rounds, ratio
#     to the untraced median; and the rig's CPU time per connection (client, server and
#     ksoftirqd, where the probes' cost lands), which other load on the machine disturbs less.
#  2. BPF run time: extra rounds of each traced variant with kernel.bpf_stats_enabled=1 (the
#     previous value restored on exit), summing run_time_ns and run_cnt over the variant's own
#     programs (the prog fds the tracer holds; for steer, the group's pinned program and links)
#     between the client's start and end, per connection and per program; and the floor the
#     statistics themselves charge per run (bench/nop.bpf.c).
#  3. User-space CPU: reusetop -d 1 for BENCH_CPU_SECONDS with 1, 100 and 10,000 idle listeners
#     held by bench/listeners in another namespace: CPU time per second (schedstat; utime and
#     stime too), with -j, with -j and a port filter that matches nothing (discovery and
#     collection only), with -b, and as the live view in a tmux pane.
#  4. Hand-offs: the rig's handoff server (the master accepts and passes each connection to a
#     forked worker over a socketpair, SCM_RIGHTS; one worker per CPU) on a port of its own, in
#     alternating rounds untraced and observing: connections/s and CPU per connection as in 1,
#     and BPF run time per connection per program, the hand-off programs' own share apart.
#  5. The tax on unrelated processes: bench/unix_pingpong (one-byte sendmsg + recvmsg round
#     trips over a socketpair, no SCM_RIGHTS, in a process reusetop does not watch) in
#     alternating rounds untraced, with empty programs on the hooks, observing, and with the
#     bpftrace peer: the median call time per round, what each variant adds to it, and the BPF
#     run time per call of the programs on sendmsg and recvmsg.
#  6. Trigger loops (bench/trigger.sh): accept4() on a ready accept queue and getppid() in a
#     process with no socket, timed in tight loops per variant: the full cost per event.
#
# BENCH_SECTIONS picks the sections: "variants" (1 and 2), "userspace" (3), "handoff" (4),
# "tax" (5), "trigger" (6; its knobs BENCH_TRIGGER_* in bench/trigger.sh) and "vm" (the fentry
# and kprobe tiers in qemu: bench/vm.sh, BENCH_VM_* knobs); all of them by default.
# Output: tables on stdout (bench/report.sh), progress on stderr, everything in BENCH_OUT (JSON).
# Knobs (environment): BENCH_SECTIONS BENCH_ROUNDS BENCH_CONNS BENCH_CONCURRENCY BENCH_WORKERS
# BENCH_PORT BENCH_STATS_ROUNDS BENCH_CPU_SECONDS BENCH_CPU_WARMUP BENCH_SOCKETS BENCH_CPU_MODES
# BENCH_VARIANTS BENCH_HANDOFF_PORT BENCH_HANDOFF_CONNS BENCH_HANDOFF_WORKERS BENCH_TAX_PAIRS
# BENCH_TAX_VARIANTS BENCH_OUT BENCH_KEEP=1 (keep the scratch folder), REUSETOP, BUILD, and
# BENCH_BASELINE (another reusetop binary, observing as the variant `observe-baseline`, so that
# two builds are compared in the same alternating rounds).

set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
BIN=$BUILD/bench
ROUNDS=${BENCH_ROUNDS:-8}
CONNS=${BENCH_CONNS:-200000}
CONCURRENCY=${BENCH_CONCURRENCY:-16}
WORKERS=${BENCH_WORKERS:-$(nproc)}
PORT=${BENCH_PORT:-9377}
STATS_ROUNDS=${BENCH_STATS_ROUNDS:-2}
CPU_SECONDS=${BENCH_CPU_SECONDS:-10}
CPU_WARMUP=${BENCH_CPU_WARMUP:-3}
SOCKETS=${BENCH_SOCKETS:-1 100 10000}
CPU_MODES=${BENCH_CPU_MODES:-json json-filtered text tui}
VARIANTS=${BENCH_VARIANTS:-untraced hooks observe bpftrace steer-floor steer-roundrobin steer-shadow-roundrobin steer-least-loaded steer-shadow-least-loaded}
SECTIONS=" ${BENCH_SECTIONS:-variants userspace handoff tax trigger vm} "
HANDOFF_PORT=${BENCH_HANDOFF_PORT:-$((PORT + 1))}
HANDOFF_CONNS=${BENCH_HANDOFF_CONNS:-100000}
HANDOFF_WORKERS=${BENCH_HANDOFF_WORKERS:-$(nproc)}
TAX_PAIRS=${BENCH_TAX_PAIRS:-500000}
TAX_VARIANTS=${BENCH_TAX_VARIANTS:-untraced hooks observe bpftrace}
OUT=${BENCH_OUT:-bench/results.json}
BASELINE=${BENCH_BASELINE:-}
LISTEN_BASE=40000
# A port no listener uses: -P with it leaves discovery and collection, and renders nothing.
NO_PORT=1
[ "$WORKERS" -ge 2 ] 2>/dev/null || WORKERS=2
[ "$HANDOFF_WORKERS" -ge 1 ] 2>/dev/null || HANDOFF_WORKERS=1

# section NAME: whether BENCH_SECTIONS asks for it.
section() { [[ $SECTIONS == *" $1 "* ]]; }

say() { echo "bench: $*" >&2; }
die() {
	say "$*"
	exit 1
}

# ---- preflight -----------------------------------------------------------------------------

[ "$(id -u)" = 0 ] || die "must run as root (BPF, network namespaces, sysctl)"
for t in jq bpftool ip ss; do
	command -v "$t" >/dev/null || die "missing $t (make deps installs it)"
done
for b in "$BIN/rig_server" "$BIN/rig_client" "$BIN/listeners" "${REUSETOP:-./reusetop}"; do
	[ -x "$b" ] || die "missing $b (run make bench)"
done
for o in nop.bpf.o hooks.bpf.o hooks select_floor.bpf.o unix_pingpong trigger; do
	[ -r "$BIN/$o" ] || die "missing $BIN/$o (run make bench)"
done

WORK=$(mktemp -d /tmp/reusetop-bench.XXXXXX) || die "failed to create a scratch folder"
NS=rtbench$$
NS_IDLE=rtbidle$$
TMUX_SOCK=rtbench$$
PIDS=()
STATS_OLD=""
STEER_ON=""

cleanup() {
	local p
	[ -z "$STEER_ON" ] || "$RT" steer "${STEER_SEL[@]}" --detach >/dev/null 2>&1
	for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	[ -z "$STATS_OLD" ] || sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
	rm -f /sys/fs/bpf/reusetop_bench_nop_$$
	tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
	ip netns del "$NS" 2>/dev/null
	ip netns del "$NS_IDLE" 2>/dev/null
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "scratch folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# Tracefs and bpffs: reusetop mounts them itself, bpftrace does not.
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing 2>/dev/null
mountpoint -q /sys/fs/bpf || mount -t bpf bpf /sys/fs/bpf 2>/dev/null

# A private copy: others may rebuild ./reusetop while the benchmark runs.
cp "${REUSETOP:-./reusetop}" "$WORK/reusetop" || die "failed to copy reusetop"
RT=$WORK/reusetop

# The variants that cannot run here say why, in the table and the JSON.
declare -A SKIP
if ! "$RT" steer --help >/dev/null 2>&1; then
	SKIP[steer-floor]="skipped: steer not available"
	SKIP[steer-roundrobin]="skipped: steer not available"
	SKIP[steer-least-loaded]="skipped: steer not available"
fi
if ! "$RT" steer --help 2>/dev/null | grep -q -- --shadow; then
	SKIP[steer-shadow-roundrobin]="skipped: steer has no shadow mode"
	SKIP[steer-shadow-least-loaded]="skipped: steer has no shadow mode"
fi
if ! command -v bpftrace >/dev/null; then
	say "installing bpftrace (the peer the observing cost is compared with)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >"$WORK/apt.log" 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >>"$WORK/apt.log" 2>&1; }
	command -v bpftrace >/dev/null || SKIP[bpftrace]="skipped: bpftrace not installable"
	[ -x "$BASELINE" ] || SKIP[observe-baseline]="skipped: BENCH_BASELINE names no binary"
fi

# ---- helpers -------------------------------------------------------------------------------

now_ns() { date +%s%N; }

# Waits until PID holds BPF links or perf events (attached) and their number has not changed for
# 1 s (reusetop attaches its objects one after another, the last ones, hand-offs, a few tenths
# of a second after the first on a loaded machine); 0, or 1 when it exited or took over 30 s.
wait_attached() {
	local pid=$1 n prev=-1 same=0
	for _ in $(seq 300); do
		kill -0 "$pid" 2>/dev/null || return 1
		n=$(ls -l "/proc/$pid/fd" 2>/dev/null | grep -c -E 'bpf_link|perf_event')
		if [ "$n" -gt 0 ] && [ "$n" = "$prev" ]; then
			same=$((same + 1))
			[ $same -ge 10 ] && return 0
		else
			same=0
		fi
		prev=$n
		sleep 0.1
	done
	return 1
}

HZ=$(getconf CLK_TCK)

# Run time so far of the tasks of these processes (ns, from schedstat).
cpu_ns() {
	local ns=0 p t x
	for p in "$@"; do
		for t in /proc/"$p"/task/*/schedstat; do
			read -r x _ <"$t" 2>/dev/null && ns=$((ns + x))
		done
	done
	echo "$ns"
}

# Busy time of the whole machine so far (clock ticks, all CPUs): /proc/stat less idle and iowait.
busy_ticks() {
	awk '/^cpu / { print $2 + $3 + $4 + $7 + $8 + $9; exit }' /proc/stat
}

# IDs of the BPF programs a process holds (its prog and link fds), one per line.
prog_ids_of() {
	grep -h '^prog_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un
}

# IDs of the programs `reusetop steer` left on our group: the sk_reuseport program and the
# programs of the links pinned next to it (least-loaded's load trackers), one per line.
steer_prog_ids() {
	local d f
	for d in /sys/fs/bpf/reusetop/tcp-"$NS_INODE"-*-"$PORT"; do
		[ -d "$d" ] || continue
		[ ! -e "$d/prog" ] || bpftool prog show pinned "$d/prog" -j 2>/dev/null | jq '.id'
		for f in "$d"/link_*; do
			[ -e "$f" ] && bpftool link show pinned "$f" -j 2>/dev/null | jq '.prog_id'
		done
	done | sort -un
}

# prog_stats ID... : JSON array of {id, type, name, object, hook, run_time_ns, run_cnt} for those
# programs. Names are cut at 15 characters and two objects may use the same one: object is the
# object the program was loaded from (the name libbpf gives its .rodata, .data or .bss map,
# "accept_b.rodata": "accept"), hook the tracepoint it is attached to (bpftool perf list).
prog_stats() {
	local ids maps hooks
	ids=$(printf '%s\n' "$@" | jq -s -c 'map(select(. != null))')
	maps=$(bpftool map show -j 2>/dev/null | jq -c 'map({key: (.id | tostring), value: .name}) | from_entries')
	hooks=$(bpftool perf list -j 2>/dev/null |
		jq -c 'map(select(.tracepoint) | {key: (.prog_id | tostring), value: .tracepoint}) | from_entries')
	bpftool prog show -j 2>/dev/null | jq -c --argjson ids "$ids" --argjson maps "${maps:-{\}}" \
		--argjson hooks "${hooks:-{\}}" '[.[] | select(.id as $i | $ids | index($i))
		| {id, type, name,
		   object: ([.map_ids[]? | $maps[tostring] // empty | select(test("\\.(rodata|data|bss)$"))
			| sub("\\.(rodata|data|bss)$"; "") | sub("_(bpf|bp|b)?$"; "")] | first),
		   hook: $hooks[.id | tostring],
		   run_time_ns: (.run_time_ns // 0), run_cnt: (.run_cnt // 0)}]'
}

# CPU time of a process so far: "schedstat_ns utime_ticks stime_ticks" (all its threads).
cpu_of() {
	local pid=$1 ns=0 t
	for t in /proc/"$pid"/task/*/schedstat; do
		ns=$((ns + $(cut -d' ' -f1 "$t" 2>/dev/null || echo 0)))
	done
	# Fields 14 and 15 of /proc/PID/stat, counted after the ")" that ends comm.
	echo "$ns $(sed 's/.*) //' /proc/"$pid"/stat | awk '{print $12, $13}')"
}

# The listener inodes of the server under load (for checking what the tracers counted).
server_inodes() {
	ip netns exec "$NS" ss -Hltne "sport = :$LOAD_PORT" 2>/dev/null | grep -o 'ino:[0-9]*' | cut -d: -f2 | sort -u
}

stop_pid() { # pid signal
	kill -"$2" "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}

# ---- variants ------------------------------------------------------------------------------

describe() {
	case $1 in
	untraced) echo "no tracing" ;;
	hooks) echo "empty programs on reusetop's hooks (bench/hooks.bpf.c): what attaching there costs at all" ;;
	hooks-syscalls) echo "the same, on the system calls only (accept and recv exits, sendmsg entry and exit)" ;;
	hooks-raw) echo "the same, on the raw tracepoints only (sk_data_ready, sched_waking)" ;;
	observe) echo "reusetop observing: reusetop -j -d 1 > /dev/null" ;;
	observe-baseline) echo "another build observing: $BASELINE -j -d 1 > /dev/null ($("$BASELINE" --version 2>/dev/null | head -n 1))" ;;
	bpftrace) echo "bpftrace peer: bpftrace bench/peer.bt > /dev/null (enqueued and accepted per listener)" ;;
	steer-floor) echo "reusetop steer --object bench/select_floor.bpf.c: select a member by the flow hash, nothing else" ;;
	steer-roundrobin) echo "reusetop steer --policy roundrobin on the group (no observer)" ;;
	steer-least-loaded) echo "reusetop steer --policy least-loaded on the group (no observer)" ;;
	steer-shadow-*) echo "reusetop steer --policy ${1#steer-shadow-} --shadow: the same decision counted, the kernel's hash selects" ;;
	*) echo "?" ;;
	esac
}

TRACER=""      # pid of the variant's tracer process
STEER_IDS=""   # sk_reuseport programs the steer variant attached

# start_variant NAME OUTFILE: attach the variant's tracing or steering; 0 or 1.
start_variant() {
	local v=$1 out=$2 before
	TRACER=""
	STEER_IDS=""
	case $v in
	untraced) return 0 ;;
	hooks) "$BIN/hooks" "$BIN/hooks.bpf.o" >"$out" 2>"$WORK/tracer.err" & ;;
	hooks-syscalls) "$BIN/hooks" "$BIN/hooks.bpf.o" tracepoint/syscalls/ >"$out" 2>"$WORK/tracer.err" & ;;
	hooks-raw) "$BIN/hooks" "$BIN/hooks.bpf.o" raw_tracepoint/ >"$out" 2>"$WORK/tracer.err" & ;;
	observe) "$RT" -j -d 1 >"$out" 2>"$WORK/tracer.err" & ;;
	observe-baseline) "$BASELINE" -j -d 1 >"$out" 2>"$WORK/tracer.err" & ;;
	bpftrace) bpftrace bench/peer.bt >"$out" 2>"$WORK/tracer.err" & ;;
	steer-*)
		local how=(--policy "${v#steer-}")
		[ "$v" != steer-floor ] || how=(--object "$BIN/select_floor.bpf.o")
		[[ $v != steer-shadow-* ]] || how=(--policy "${v#steer-shadow-}" --shadow)
		"$RT" steer "${STEER_SEL[@]}" "${how[@]}" >"$WORK/tracer.err" 2>&1 ||
			{ say "steer failed: $(cat "$WORK/tracer.err")"; return 1; }
		STEER_ON=1
		STEER_IDS=$(steer_prog_ids)
		return 0
		;;
	esac
	TRACER=$!
	PIDS+=("$TRACER")
	wait_attached "$TRACER" || { say "$v did not attach: $(tail -n 3 "$WORK/tracer.err")"; return 1; }
}

stop_variant() {
	case $1 in
	hooks | hooks-* | observe* | bpftrace) [ -z "$TRACER" ] || stop_pid "$TRACER" INT ;;
	steer-*)
		"$RT" steer "${STEER_SEL[@]}" --detach >>"$WORK/tracer.err" 2>&1 ||
			say "steer --detach failed: $(tail -n 2 "$WORK/tracer.err")"
		STEER_ON=""
		;;
	esac
	TRACER=""
}

# The variant's programs, one ID per line.
variant_prog_ids() {
	case $1 in
	hooks | hooks-* | observe* | bpftrace) prog_ids_of "$TRACER" ;;
	steer-*) echo "$STEER_IDS" ;;
	esac
}

# The server under load: its port, connections per round, the tasks its CPU time is read from,
# the number of rounds and the files its rounds and statistics rounds go to (load_reuseport,
# load_handoff).
LOAD_PORT=$PORT
LOAD_CONNS=$CONNS
LOAD_TASKS=()
LOAD_ROUNDS=$ROUNDS
LOAD_OUT=$WORK/rounds.jsonl
LOAD_BPF_OUT=$WORK/bpf.jsonl

client() {
	ip netns exec "$NS" "$BIN/rig_client" --port "$LOAD_PORT" --count "$LOAD_CONNS" \
		--concurrency "$CONCURRENCY" 2>>"$WORK/client.err"
}

# One throughput round: its JSON line goes to LOAD_OUT.
round() { # variant round
	local v=$1 r=$2 res
	if ! start_variant "$v" /dev/null; then
		stop_variant "$v"
		jq -n -c --arg v "$v" --argjson r "$r" '{variant: $v, round: $r, error: "did not attach"}' \
			>>"$LOAD_OUT"
		return
	fi
	local rig0 busy0 rig1 busy1 client_s TIMEFORMAT='%3U %3S'
	rig0=$(cpu_ns "${LOAD_TASKS[@]}")
	busy0=$(busy_ticks)
	{ time client >"$WORK/client.out"; } 2>"$WORK/client.time"
	rig1=$(cpu_ns "${LOAD_TASKS[@]}")
	busy1=$(busy_ticks)
	client_s=$(tail -n 1 "$WORK/client.time" | awk '{print $1 + $2}')
	res=$(cat "$WORK/client.out")
	[ -n "$res" ] || res='{"ok":0,"failed":0,"elapsed_s":0,"rate":0}'
	stop_variant "$v"
	# CPU per connection of the rig (client, server, ksoftirqd), where the probes' cost lands,
	# and the share of the machine that other processes took meanwhile.
	jq -c --arg v "$v" --argjson r "$r" --argjson rig "$((rig1 - rig0))" --argjson cs "${client_s:-0}" \
		--argjson busy "$((busy1 - busy0))" --argjson hz "$HZ" --argjson ncpu "$(nproc)" '
		{variant: $v, round: $r} + .
		| .rig_cpu_s = (($rig / 1e9) + $cs)
		| .cpu_us_per_conn = (if .ok > 0 then .rig_cpu_s * 1e6 / .ok else null end)
		| .others_pct = (if .elapsed_s > 0 then ([0, 100 * ($busy / $hz - .rig_cpu_s) / (.elapsed_s * $ncpu)] | max) else null end)' \
		<<<"$res" >>"$LOAD_OUT"
	say "$(tail -n 1 "$LOAD_OUT" | jq -r --arg R "$LOAD_ROUNDS" \
		'"round \(.round)/\($R) \(.variant): \(.rate | floor) conn/s, \(.cpu_us_per_conn * 100 | round / 100) us CPU/conn, others \(.others_pct | floor)%"')"
}

# What the tracer counted for our listeners, to check it saw every connection: {enqueued,
# accepted}, and for reusetop on a group with hand-offs {handed_off, received, pending} too.
tracer_counts() { # variant outfile inodes-json
	case $1 in
	observe*)
		tail -n 1 "$2" | jq -c --argjson ino "$3" '
			def ours: .inode as $i | $ino | index($i);
			[.groups[] | select(any(.sockets[]?; ours))] as $g
			| [$g[].sockets[]? | select(ours)]
			| {enqueued: (map(.enqueued) | add), accepted: (map(.accepted) | add)}
			+ (if any($g[]; (.handoff_received // 0) > 0)
			   then {handed_off: ([$g[].acceptors[]?.handed_off // 0] | add),
				 received: ([$g[].handoff_received] | add), pending: ([$g[].handoff_pending // 0] | add)}
			   else {} end)' 2>/dev/null
		;;
	bpftrace)
		# Maps are printed every second and at exit: the last value of each key wins.
		awk -v ino="$3" '
			BEGIN { gsub(/[][]/, "", ino); n = split(ino, a, ","); for (i = 1; i <= n; i++) want[a[i]] = 1 }
			/^@(enqueued|accepted)\[/ {
				name = $0; sub(/\[.*/, "", name); sub(/^@/, "", name)
				key = $0; sub(/^[^[]*\[/, "", key); sub(/\].*/, "", key); split(key, k, ", ")
				if (want[k[1]]) last[name SUBSEP key] = $NF + 0
			}
			END {
				for (x in last) { split(x, p, SUBSEP); sum[p[1]] += last[x] }
				printf "{\"enqueued\":%d,\"accepted\":%d}\n", sum["enqueued"], sum["accepted"]
			}' "$2"
		;;
	*) echo null ;;
	esac
}

# One round with BPF statistics on: per-program deltas over the client's run to LOAD_BPF_OUT.
stats_round() { # variant round
	local v=$1 r=$2 out=$WORK/stats-$1-$2.out ids s0 s1 res counts inodes
	start_variant "$v" "$out" || { stop_variant "$v"; return; }
	ids=$(variant_prog_ids "$v")
	s0=$(prog_stats $ids)
	res=$(client)
	s1=$(prog_stats $ids)
	# Two more intervals, so that reusetop prints counters that include the last connection.
	[[ $v != observe* ]] || sleep 2.5
	inodes=$(server_inodes | jq -s -c .)
	stop_variant "$v"
	counts=$(tracer_counts "$v" "$out" "$inodes")
	jq -n -c --arg v "$v" --argjson r "$r" --argjson a "$s0" --argjson b "$s1" \
		--argjson res "${res:-null}" --argjson counts "${counts:-null}" '
		{variant: $v, round: $r, client: $res, counted: $counts,
		 programs: [$b[] as $p | ($a[] | select(.id == $p.id)) as $q
			| {id: $p.id, type: $p.type, name: $p.name, object: $p.object, hook: $p.hook,
			   run_cnt: ($p.run_cnt - $q.run_cnt), run_time_ns: ($p.run_time_ns - $q.run_time_ns)}]}' \
		>>"$LOAD_BPF_OUT"
	say "$(printf 'bpf stats %-20s %s' "$v" "$(jq -c '{ok, rate}' <<<"${res:-null}")")"
}

# The ruler: the run time the statistics charge per run to a program that does nothing (and
# what one run costs with them off and on, timed by BPF_PROG_TEST_RUN). Leaves stats enabled.
calibrate_floor() {
	local pin=/sys/fs/bpf/reusetop_bench_nop_$$ off on st
	head -c 64 /dev/zero >"$WORK/pkt"
	if ! bpftool prog load "$BIN/nop.bpf.o" "$pin" 2>"$WORK/nop.err"; then
		say "failed to load the calibration program: $(tail -n 1 "$WORK/nop.err")"
		echo null
		return
	fi
	test_run() {
		bpftool prog run pinned "$pin" data_in "$WORK/pkt" repeat 2000000 2>&1 |
			grep -o 'duration (average): [0-9]*' | grep -o '[0-9]*$'
	}
	sysctl -qw kernel.bpf_stats_enabled=0
	off=$(test_run)
	sysctl -qw kernel.bpf_stats_enabled=1
	on=$(test_run)
	st=$(bpftool prog show pinned "$pin" -j 2>/dev/null | jq -c '{run_cnt: (.run_cnt // 0), run_time_ns: (.run_time_ns // 0)}')
	rm -f "$pin"
	jq -n -c --argjson off "${off:-null}" --argjson on "${on:-null}" --argjson st "${st:-null}" '
		{test_run_ns_stats_off: $off, test_run_ns_stats_on: $on,
		 ns_per_run: (if $st != null and $st.run_cnt > 0 then $st.run_time_ns / $st.run_cnt else null end)}'
}

# ---- machine -------------------------------------------------------------------------------

machine_json() {
	jq -n -c --arg model "$(grep -m1 '^model name' /proc/cpuinfo | cut -d: -f2- | sed 's/^ //')" \
		--argjson nproc "$(nproc)" --arg kernel "$(uname -r)" --arg arch "$(uname -m)" \
		--argjson mem_kib "$(awk '/^MemTotal/ {print $2}' /proc/meminfo)" \
		--arg virt "$(systemd-detect-virt --vm 2>/dev/null || (grep -q hypervisor /proc/cpuinfo && echo vm) || echo none)" \
		--arg container "$(systemd-detect-virt --container 2>/dev/null || echo none)" \
		--arg os "$(. /etc/os-release 2>/dev/null && echo "$PRETTY_NAME")" \
		--arg hostname "$(hostname)" \
		'{cpu_model: $model, nproc: $nproc, kernel: $kernel, arch: $arch, mem_total_kib: $mem_kib,
		  virtualization: $virt, container: $container, os: $os, hostname: $hostname}'
}

loadavg() { cut -d' ' -f1-3 /proc/loadavg; }

# ---- hand-offs and the tax on unrelated processes -------------------------------------------

# start_server MODE WORKERS PORT NAME: the rig's server in our namespace (NAME.stats, NAME.ready,
# NAME.out in the scratch folder); sets SERVER_PID and SERVER_TASKS, where the server side's
# CPU time goes: the master, its workers and the softirq threads.
start_server() {
	local mode=$1 workers=$2 port=$3 name=$4
	ip netns exec "$NS" "$BIN/rig_server" --mode "$mode" --workers "$workers" --port "$port" \
		--stats "$WORK/$name.stats" --ready "$WORK/$name.ready" >"$WORK/$name.out" 2>&1 &
	SERVER_PID=$!
	PIDS+=("$SERVER_PID")
	for _ in $(seq 100); do [ -s "$WORK/$name.ready" ] && break; sleep 0.1; done
	[ -s "$WORK/$name.ready" ] || die "rig_server --mode $mode did not start: $(cat "$WORK/$name.out")"
	mapfile -t SERVER_TASKS < <(echo "$SERVER_PID"; pgrep -P "$SERVER_PID"; pgrep '^ksoftirqd/')
}

load_reuseport() {
	LOAD_PORT=$PORT LOAD_CONNS=$CONNS LOAD_ROUNDS=$ROUNDS
	LOAD_TASKS=("${RIG_TASKS[@]}")
	LOAD_OUT=$WORK/rounds.jsonl LOAD_BPF_OUT=$WORK/bpf.jsonl
}

load_handoff() {
	LOAD_PORT=$HANDOFF_PORT LOAD_CONNS=$HANDOFF_CONNS LOAD_ROUNDS=$ROUNDS
	LOAD_TASKS=("${HANDOFF_TASKS[@]}")
	LOAD_OUT=$WORK/handoff_rounds.jsonl LOAD_BPF_OUT=$WORK/handoff_bpf.jsonl
}

# rate_rounds VARIANT...: a warm-up (not counted: fills the TIME_WAIT table, the caches,
# bpftrace's first compile; its connections in WARMUP_OK), then LOAD_ROUNDS alternating rounds.
# Round r starts at variant r - 1 (rotating), so that no variant always runs first after a pause.
rate_rounds() {
	local run=("$@") v r i
	WARMUP_OK=$(client | jq '.ok // 0')
	for v in "${run[@]}"; do
		case $v in hooks | hooks-* | observe* | bpftrace) start_variant "$v" /dev/null && sleep 0.5; stop_variant "$v" ;; esac
	done
	for r in $(seq "$LOAD_ROUNDS"); do
		for i in $(seq 0 $((${#run[@]} - 1))); do
			round "${run[$(((i + r - 1) % ${#run[@]}))]}" "$r"
		done
	done
}

# The ID of the handoff_pids map PID holds (reusetop's filter of watched processes), if any.
handoff_pids_map() {
	local id
	for id in $(grep -h '^map_id:' /proc/"$1"/fdinfo/* 2>/dev/null | awk '{print $2}' | sort -un); do
		if [ "$(bpftool map show id "$id" -j 2>/dev/null | jq -r .name)" = handoff_pids ]; then
			echo "$id"
			return
		fi
	done
}

# in_map MAP PID: whether the map (u32 keys) holds PID.
in_map() {
	local p=$2
	bpftool map lookup id "$1" key $((p & 255)) $((p >> 8 & 255)) $((p >> 16 & 255)) \
		$((p >> 24 & 255)) >/dev/null 2>&1
}

pingpong() {
	"$BIN/unix_pingpong" --count "$TAX_PAIRS" 2>>"$WORK/pingpong.err"
}

# One round of the tax: unix_pingpong under the variant, its JSON line to tax_rounds.jsonl.
tax_round() { # variant round
	local v=$1 r=$2 res
	if ! start_variant "$v" /dev/null; then
		stop_variant "$v"
		jq -n -c --arg v "$v" --argjson r "$r" '{variant: $v, round: $r, error: "did not attach"}' \
			>>"$WORK/tax_rounds.jsonl"
		return
	fi
	res=$(pingpong)
	stop_variant "$v"
	jq -n -c --arg v "$v" --argjson r "$r" --argjson res "${res:-null}" \
		'{variant: $v, round: $r} + ($res // {error: "unix_pingpong failed"})' >>"$WORK/tax_rounds.jsonl"
	say "$(tail -n 1 "$WORK/tax_rounds.jsonl" | jq -r --arg R "$ROUNDS" \
		'"tax round \(.round)/\($R) \(.variant): \(.pair_median_ns) ns per sendmsg + recvmsg (median; mean \(.ns_per_pair))"')"
}

# The same with BPF statistics on: per-program deltas over unix_pingpong's run, and whether
# reusetop's filter held its pid (it must not: it is not a listener's holder or descendant).
tax_stats_round() { # variant round
	local v=$1 r=$2 ids s0 s1 pid map watched=null
	start_variant "$v" /dev/null || { stop_variant "$v"; return; }
	ids=$(variant_prog_ids "$v")
	[ "$v" != observe ] || map=$(handoff_pids_map "$TRACER")
	s0=$(prog_stats $ids)
	pingpong >"$WORK/pingpong.out" &
	pid=$!
	if [ -n "${map:-}" ]; then
		sleep 0.2
		if kill -0 "$pid" 2>/dev/null; then
			watched=false
			in_map "$map" "$pid" && watched=true
		fi
	fi
	wait "$pid"
	s1=$(prog_stats $ids)
	stop_variant "$v"
	jq -n -c --arg v "$v" --argjson r "$r" --argjson a "$s0" --argjson b "$s1" \
		--argjson res "$(jq -c . "$WORK/pingpong.out" 2>/dev/null || echo null)" --argjson w "$watched" '
		{variant: $v, round: $r, pingpong: $res, watched: $w,
		 programs: [$b[] as $p | ($a[] | select(.id == $p.id)) as $q
			| {id: $p.id, type: $p.type, name: $p.name, object: $p.object, hook: $p.hook,
			   run_cnt: ($p.run_cnt - $q.run_cnt), run_time_ns: ($p.run_time_ns - $q.run_time_ns)}]}' \
		>>"$WORK/tax_bpf.jsonl"
	say "$(printf 'bpf stats, tax %-15s %s' "$v" "$(jq -c '{pairs, pair_median_ns}' "$WORK/pingpong.out" 2>/dev/null)")"
}

# User space: idle listeners in a namespace of their own, reusetop sampled after warming up.
measure_userspace() {
	local n seen mode args cmd RP LP c0 u0 s0 c1 u1 s1 t0 t1
	ip netns add "$NS_IDLE" && ip -n "$NS_IDLE" link set lo up || die "failed to create $NS_IDLE"
	for n in $SOCKETS; do
		rm -f "$WORK/listeners.out"
		ip netns exec "$NS_IDLE" "$BIN/listeners" --count "$n" --base-port "$LISTEN_BASE" \
			>"$WORK/listeners.out" 2>&1 &
		LP=$!
		PIDS+=("$LP")
		for _ in $(seq 200); do grep -q '^ready' "$WORK/listeners.out" 2>/dev/null && break; sleep 0.05; done
		grep -q '^ready' "$WORK/listeners.out" || die "listeners did not start: $(cat "$WORK/listeners.out")"
		# What reusetop sees on the host: TCP listening sockets in every namespace.
		seen=$("$RT" -j -d 0.5 -n 2 2>/dev/null | tail -n 1 |
			jq '[.groups[] | select(.proto == "tcp") | .members] | add // 0')
		for mode in $CPU_MODES; do
			case $mode in
			json) args=(-j) cmd="reusetop -j -d 1 > /dev/null" ;;
			json-filtered) args=(-j -P "$NO_PORT") cmd="reusetop -j -P $NO_PORT -d 1 > /dev/null" ;;
			text) args=(-b) cmd="reusetop -b -d 1 > /dev/null" ;;
			tui) args=() cmd="reusetop -d 1 (live view, 200x50 tmux pane)" ;;
			*) continue ;;
			esac
			if [ "$mode" = tui ]; then
				command -v tmux >/dev/null || { say "no tmux: live view not measured"; continue; }
				tmux -L "$TMUX_SOCK" new-session -d -x 200 -y 50 "$RT -d 1 2>$WORK/tracer.err"
				RP=$(tmux -L "$TMUX_SOCK" list-panes -F '#{pane_pid}' 2>/dev/null | head -n 1)
				# The pane's shell may have run reusetop as its child rather than exec'd it.
				[ -z "$RP" ] || [ "$(cat "/proc/$RP/comm" 2>/dev/null)" = reusetop ] ||
					RP=$(pgrep -P "$RP" | head -n 1)
			else
				"$RT" "${args[@]}" -d 1 >/dev/null 2>"$WORK/tracer.err" &
				RP=$!
				PIDS+=("$RP")
			fi
			if [ -z "$RP" ] || ! wait_attached "$RP"; then
				say "$cmd did not start: $(tail -n 2 "$WORK/tracer.err")"
				continue
			fi
			sleep "$CPU_WARMUP"
			read -r c0 u0 s0 <<<"$(cpu_of "$RP")"
			t0=$(now_ns)
			sleep "$CPU_SECONDS"
			read -r c1 u1 s1 <<<"$(cpu_of "$RP")"
			t1=$(now_ns)
			if [ "$mode" = tui ]; then
				tmux -L "$TMUX_SOCK" kill-server 2>/dev/null
				for _ in $(seq 50); do kill -0 "$RP" 2>/dev/null || break; sleep 0.1; done
			else
				stop_pid "$RP" INT
			fi
			jq -n -c --argjson n "$n" --argjson seen "${seen:-null}" --arg mode "$mode" \
				--arg cmd "$cmd" --argjson wall "$((t1 - t0))" \
				--argjson cpu "$((c1 - c0))" --argjson ut "$((u1 - u0))" --argjson st "$((s1 - s0))" \
				--argjson hz "$(getconf CLK_TCK)" '
				{listeners: $n, sockets_seen: $seen, mode: $mode, command: $cmd,
				 seconds: ($wall / 1e9), cpu_ns: $cpu, utime_s: ($ut / $hz), stime_s: ($st / $hz),
				 pct_of_core: (100 * $cpu / $wall), ms_per_interval: ($cpu / 1e6 / ($wall / 1e9))}' \
				>>"$WORK/cpu.jsonl"
			say "$(printf 'user space %5d listeners (%s seen) %-14s %6.2f%% of a core' "$n" "$seen" \
				"$mode" "$(tail -n 1 "$WORK/cpu.jsonl" | jq .pct_of_core)")"
		done
		stop_pid "$LP" TERM
	done
}

# shellcheck source=bench/trigger.sh
. bench/trigger.sh

# ---- run -----------------------------------------------------------------------------------

T_START=$(now_ns)
# The command as given, with the knobs set in the environment.
COMMAND="${BENCH_COMMAND:-bench/run.sh}"
KNOBS=$(env | grep -E '^(BENCH_[A-Z_]+|REUSETOP)=' | grep -v '^BENCH_COMMAND=' | sort | tr '\n' ' ')
[ -z "$KNOBS" ] || COMMAND="$KNOBS$COMMAND"
LOAD_START=$(loadavg)
for f in rounds bpf cpu handoff_rounds handoff_bpf tax_rounds tax_bpf; do : >"$WORK/$f.jsonl"; done

ip netns add "$NS" && ip -n "$NS" link set lo up || die "failed to create network namespace $NS"
# Client ports above the server's, so that no client can connect to itself on the server port.
ip netns exec "$NS" sysctl -qw net.ipv4.ip_local_port_range="10000 65001"
NS_INODE=$(stat -L -c %i "/run/netns/$NS")
STEER_SEL=(--port "$PORT")
"$RT" steer --help 2>&1 | grep -q -- '--netns' && STEER_SEL+=(--netns "$NS_INODE")

RUN=()
RIG_TASKS=()
SERVER=""
if section variants; then
	start_server reuseport "$WORKERS" "$PORT" server
	SERVER=$SERVER_PID
	RIG_TASKS=("${SERVER_TASKS[@]}")
	for v in $VARIANTS; do [ -n "${SKIP[$v]:-}" ] || RUN+=("$v"); done
fi
HANDOFF_TASKS=()
HANDOFF_SERVER=""
if section handoff; then
	start_server handoff "$HANDOFF_WORKERS" "$HANDOFF_PORT" handoff
	HANDOFF_SERVER=$SERVER_PID
	HANDOFF_TASKS=("${SERVER_TASKS[@]}")
fi
TAX_RUN=()
if section tax; then
	for v in $TAX_VARIANTS; do [ -n "${SKIP[$v]:-}" ] || TAX_RUN+=("$v"); done
fi
say "sections:$SECTIONS on $(nproc) CPUs"

WARMUP_OK=0
if section variants; then
	say "variants: ${RUN[*]}; $ROUNDS rounds of $CONNS connections at concurrency $CONCURRENCY," \
		"$WORKERS reuseport workers"
	load_reuseport
	rate_rounds "${RUN[@]}"
fi
RATE_WARMUP_OK=$WARMUP_OK
WARMUP_OK=0
if section handoff; then
	say "hand-offs: untraced observe; $ROUNDS rounds of $HANDOFF_CONNS connections at" \
		"concurrency $CONCURRENCY, $HANDOFF_WORKERS handoff workers"
	load_handoff
	rate_rounds untraced observe
fi
HANDOFF_WARMUP_OK=$WARMUP_OK
if section tax; then
	say "tax on unrelated processes: ${TAX_RUN[*]}; $ROUNDS rounds of $TAX_PAIRS sendmsg + recvmsg"
	pingpong >/dev/null
	for r in $(seq "$ROUNDS"); do
		for i in $(seq 0 $((${#TAX_RUN[@]} - 1))); do
			tax_round "${TAX_RUN[$(((i + r - 1) % ${#TAX_RUN[@]}))]}" "$r"
		done
	done
fi
section trigger && trigger_section

STATS_OLD=$(sysctl -n kernel.bpf_stats_enabled)
sysctl -qw kernel.bpf_stats_enabled=1 || say "failed to enable kernel.bpf_stats_enabled"
FLOOR=$(calibrate_floor)
say "statistics floor: $FLOOR"
for r in $(seq "$STATS_ROUNDS"); do
	load_reuseport
	for v in "${RUN[@]}"; do [ "$v" = untraced ] || stats_round "$v" "$r"; done
	if section handoff; then
		load_handoff
		stats_round observe "$r"
	fi
	for v in "${TAX_RUN[@]}"; do [ "$v" = untraced ] || tax_stats_round "$v" "$r"; done
done

section userspace && measure_userspace

sysctl -qw kernel.bpf_stats_enabled="$STATS_OLD"
STATS_OLD=""

# The servers' own counts must equal every connection the clients made.
SERVER_ACCEPTED=null
if [ -n "$SERVER" ]; then
	stop_pid "$SERVER" TERM
	SERVER_ACCEPTED=$(jq -s 'map(.accepted) | add // 0' "$WORK/server.stats" 2>/dev/null) || SERVER_ACCEPTED=null
fi
HANDOFF_ACCEPTED=null
if [ -n "$HANDOFF_SERVER" ]; then
	stop_pid "$HANDOFF_SERVER" TERM
	HANDOFF_ACCEPTED=$(jq -s -c '{accepted: (map(select(.worker < 0) | .accepted) | add // 0),
		received: (map(select(.worker >= 0) | .accepted) | add // 0)}' "$WORK/handoff.stats" 2>/dev/null) ||
		HANDOFF_ACCEPTED=null
fi

# ---- results -------------------------------------------------------------------------------

variants_json() { # section variant...
	local sec=$1 v s
	shift
	for v in "$@"; do
		s=${SKIP[$v]:-ok}
		section "$sec" || s="not run (BENCH_SECTIONS)"
		jq -n -c --arg v "$v" --arg d "$(describe "$v")" --arg s "$s" \
			'{name: $v, description: $d, status: $s}'
	done | jq -s -c .
}

jq -n \
	--arg command "$COMMAND" \
	--arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" \
	--arg git "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
	--arg rt_version "$("$RT" --version 2>/dev/null | head -n 1)" \
	--arg bt_version "$(bpftrace --version 2>/dev/null || echo none)" \
	--argjson machine "$(machine_json)" \
	--arg load_start "$LOAD_START" --arg load_end "$(loadavg)" \
	--argjson duration "$((($(now_ns) - T_START) / 1000000000))" \
	--argjson config "$(jq -n -c --argjson rounds "$ROUNDS" --argjson conns "$CONNS" \
		--argjson k "$CONCURRENCY" --argjson w "$WORKERS" --argjson port "$PORT" \
		--argjson sr "$STATS_ROUNDS" --argjson cs "$CPU_SECONDS" --argjson cw "$CPU_WARMUP" \
		--arg sockets "$SOCKETS" --arg sections "$SECTIONS" \
		--argjson hconns "$HANDOFF_CONNS" --argjson hw "$HANDOFF_WORKERS" --argjson hport "$HANDOFF_PORT" \
		--argjson pairs "$TAX_PAIRS" --arg tax "$TAX_VARIANTS" \
		'{sections: ($sections | split(" ") | map(select(. != ""))),
		  rounds: $rounds, connections_per_round: $conns, concurrency: $k, server_workers: $w,
		  server: "rig_server --mode reuseport (blocking accept, one listener per worker)",
		  port: $port, stats_rounds: $sr, cpu_seconds: $cs, cpu_warmup_s: $cw,
		  listener_counts: ($sockets | split(" ") | map(select(. != "") | tonumber)),
		  handoff: {connections_per_round: $hconns, server_workers: $hw, port: $hport,
			server: "rig_server --mode handoff (the master accepts, blocking, and passes each connection round-robin to a worker over a socketpair, SCM_RIGHTS)"},
		  tax: {pairs_per_round: $pairs, variants: ($tax | split(" ") | map(select(. != ""))),
			program: "bench/unix_pingpong: one-byte sendmsg + recvmsg over an AF_UNIX SOCK_SEQPACKET socketpair, no control message, one thread"}}')" \
	--argjson variants "$(variants_json variants $VARIANTS)" \
	--argjson handoff_variants "$(variants_json handoff untraced observe)" \
	--argjson tax_variants "$(variants_json tax $TAX_VARIANTS)" \
	--slurpfile rounds "$WORK/rounds.jsonl" \
	--slurpfile bpf "$WORK/bpf.jsonl" \
	--slurpfile cpu "$WORK/cpu.jsonl" \
	--slurpfile handoff_rounds "$WORK/handoff_rounds.jsonl" \
	--slurpfile handoff_bpf "$WORK/handoff_bpf.jsonl" \
	--slurpfile tax_rounds "$WORK/tax_rounds.jsonl" \
	--slurpfile tax_bpf "$WORK/tax_bpf.jsonl" \
	--argjson server_accepted "${SERVER_ACCEPTED:-null}" --argjson warmup_ok "${RATE_WARMUP_OK:-0}" \
	--argjson handoff_accepted "${HANDOFF_ACCEPTED:-null}" --argjson handoff_warmup_ok "${HANDOFF_WARMUP_OK:-0}" \
	--argjson floor "${FLOOR:-null}" "${TRIGGER_JQ_ARGS[@]}" \
	-f bench/results.jq >"$WORK/results.json" || die "failed to build the results"
mkdir -p "$(dirname "$OUT")"
# The qemu VM's keys of an earlier run stay until the section "vm" replaces them (bench/vm.sh).
if [ -s "$OUT" ] && jq -s '.[1] + (.[0] | {vm, vm_tiers} | with_entries(select(.value != null)))' \
	"$OUT" "$WORK/results.json" >"$WORK/kept.json" 2>/dev/null; then mv "$WORK/kept.json" "$WORK/results.json"; fi
cp "$WORK/results.json" "$OUT"
section vm && { BENCH_OUT=$OUT BENCH_VM_REPORT=0 bench/vm.sh || say "section vm failed (bench/vm.sh)"; }
say "results in $OUT ($(jq .duration_s "$OUT") s)"
bench/report.sh "$OUT"
