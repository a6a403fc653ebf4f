# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash disable=SC2034 # run.sh reads TRIGGER_JQ_ARGS, cleanup() STATS_OLD
#
# bench/trigger.sh: the "trigger" section of bench/run.sh (sourced by it; uses its helpers:
# start_variant, stop_variant, tracer_counts, prog_stats, variant_prog_ids, say). After the
# kernel's BPF bench "trigger" benchmarks: tight loops of a hooked event, timed from user space,
# untraced and under each variant, so that what a variant adds is the full cost per event, the
# program dispatch and the system call slow path included, which run_time_ns leaves out.
#
#  - accept: bench/trigger accept in the benchmark's namespace: B non-blocking clients connect
#    to a listener on loopback, and once all B are on its accept queue, accept4() takes them one
#    after the other, each call timed; then all are closed, until N accepts (per round, the
#    median call and the 10th percentile). In observing rounds, reusetop's count of accepts on that listener is checked.
#  - getppid: bench/trigger getppid, a process with no socket at all: N getppid() calls in
#    batches, each batch timed (per round, the median batch's time per call, and the 10th
#    percentile: on this machine others slow down whole stretches of a run). What enabling
#    system call tracepoints costs every other system call on the host.
#
# Rounds alternate the variants (round r starts at variant r - 1), both loops in each under the
# same attachment; then BENCH_TRIGGER_STATS_ROUNDS rounds of the accept loop per traced variant
# with kernel.bpf_stats_enabled=1: the run time of the programs on accept4, to set against what
# the loop says they add. Knobs: BENCH_TRIGGER_ROUNDS (6), BENCH_TRIGGER_ACCEPTS (50000),
# BENCH_TRIGGER_BATCH (256), BENCH_TRIGGER_CALLS (5000000), BENCH_TRIGGER_CALL_BATCH (1000),
# BENCH_TRIGGER_STATS_ROUNDS (1), BENCH_TRIGGER_VARIANTS ("untraced hooks observe bpftrace"),
# BENCH_TRIGGER_PORT (BENCH_PORT + 2).

TRIGGER_ROUNDS=${BENCH_TRIGGER_ROUNDS:-6}
TRIGGER_ACCEPTS=${BENCH_TRIGGER_ACCEPTS:-50000}
TRIGGER_BATCH=${BENCH_TRIGGER_BATCH:-256}
TRIGGER_CALLS=${BENCH_TRIGGER_CALLS:-5000000}
TRIGGER_CALL_BATCH=${BENCH_TRIGGER_CALL_BATCH:-1000}
TRIGGER_STATS_ROUNDS=${BENCH_TRIGGER_STATS_ROUNDS:-1}
TRIGGER_VARIANTS=${BENCH_TRIGGER_VARIANTS:-untraced hooks observe bpftrace}
TRIGGER_PORT=${BENCH_TRIGGER_PORT:-$((PORT + 2))}

# What results.jq reads (run.sh passes TRIGGER_JQ_ARGS): every round, every statistics round,
# and the section's configuration once it ran.
for f in trigger_rounds trigger_bpf trigger_meta; do : >"$WORK/$f.jsonl"; done
TRIGGER_JQ_ARGS=(--slurpfile trigger_rounds "$WORK/trigger_rounds.jsonl"
	--slurpfile trigger_bpf "$WORK/trigger_bpf.jsonl"
	--slurpfile trigger_meta "$WORK/trigger_meta.jsonl")

trigger_accept() {
	ip netns exec "$NS" "$BIN/trigger" accept --port "$TRIGGER_PORT" --count "$TRIGGER_ACCEPTS" \
		--batch "$TRIGGER_BATCH" 2>>"$WORK/trigger.err"
}

trigger_getppid() {
	"$BIN/trigger" getppid --count "$TRIGGER_CALLS" --batch "$TRIGGER_CALL_BATCH" 2>>"$WORK/trigger.err"
}

# Programs on system call tracepoints that processes other than TRACER hold: another tracer on
# the host puts every system call on the slow path, untraced rounds included, and its programs
# on accept4 run in every round. Rounds with none, and with kernel.bpf_stats_enabled off
# throughout (another benchmark may turn it on), are "clean" (results.jq).
foreign_syscall_progs() {
	bpftool perf list -j 2>/dev/null | jq --argjson me "${TRACER:-0}" \
		'[.[] | select((.tracepoint // "") | test("^sys_(enter|exit)")) | select(.pid != $me)] | length'
}

# One round: both loops under the variant, one JSON line to trigger_rounds.jsonl.
trigger_round() { # variant round
	local v=$1 r=$2 out=$WORK/trigger-$1-$2.out pid acc ppid others mid stats t0 ino counts=null
	if ! start_variant "$v" "$out"; then
		stop_variant "$v"
		jq -n -c --arg v "$v" --argjson r "$r" '{variant: $v, round: $r, error: "did not attach"}' \
			>>"$WORK/trigger_rounds.jsonl"
		return
	fi
	others=$(foreign_syscall_progs)
	stats=$(cat /proc/sys/kernel/bpf_stats_enabled)
	: >"$WORK/trigger-accept.out"
	# --hold: the listener stays open, so that reusetop still reports it after the last accept.
	# Not through trigger_accept: $! must be the process that holds it (ip execs it).
	ip netns exec "$NS" "$BIN/trigger" accept --port "$TRIGGER_PORT" --count "$TRIGGER_ACCEPTS" \
		--batch "$TRIGGER_BATCH" --hold >"$WORK/trigger-accept.out" 2>>"$WORK/trigger.err" &
	pid=$!
	PIDS+=("$pid")
	while kill -0 "$pid" 2>/dev/null && [ ! -s "$WORK/trigger-accept.out" ]; do sleep 0.1; done
	t0=$(now_ns)
	mid=$(foreign_syscall_progs)
	ppid=$(trigger_getppid)
	acc=$(head -n 1 "$WORK/trigger-accept.out")
	[ -z "$acc" ] || ino="[$(jq .listener_inode <<<"$acc")]"
	# reusetop prints once a second: until its last line counts every accept (at most 3 s after
	# the loop), the listener still open so that the line holds it.
	while [[ $v == observe* ]] && [ -n "$acc" ] && [ $(($(now_ns) - t0)) -lt 3000000000 ]; do
		[ "$(tracer_counts observe "$out" "$ino" | jq .accepted 2>/dev/null)" != \
			"$(jq .accepts <<<"$acc")" ] || break
		sleep 0.2
	done
	# Another tracer may have come or gone during the round: the most seen, at its start,
	# between the loops and at its end.
	others=$(jq -n --argjson a "${others:-null}" --argjson b "${mid:-null}" \
		--argjson c "$(foreign_syscall_progs)" '[$a, $b, $c] | max')
	# Another benchmark may have turned the statistics on meanwhile (every program run dearer).
	stats=$((stats | $(cat /proc/sys/kernel/bpf_stats_enabled)))
	stop_variant "$v"
	stop_pid "$pid" TERM
	[ -z "$acc" ] || counts=$(tracer_counts "$v" "$out" "$ino")
	jq -n -c --arg v "$v" --argjson r "$r" --argjson acc "${acc:-null}" --argjson ppid "${ppid:-null}" \
		--argjson counts "${counts:-null}" --argjson others "${others:-null}" --argjson st "$stats" '
		{variant: $v, round: $r, accept: $acc, getppid: $ppid, counted: $counts,
		 others_syscall_progs: $others, bpf_stats_enabled: $st}
		+ (if $acc == null or $ppid == null then {error: "bench/trigger failed"} else {} end)' \
		>>"$WORK/trigger_rounds.jsonl"
	say "$(tail -n 1 "$WORK/trigger_rounds.jsonl" | jq -r --arg R "$TRIGGER_ROUNDS" \
		'"trigger round \(.round)/\($R) \(.variant): \(.accept.call_median_ns) ns per accept4," +
		 " \(.getppid.batch_median_ns) ns per getppid (medians; 10th percentiles" +
		 " \(.accept.call_p10_ns), \(.getppid.batch_p10_ns)), others \(.others_syscall_progs)" +
		 (if .counted != null then ", counted \(.counted.accepted) of \(.accept.accepts)" else "" end)')"
}

# The accept loop with BPF statistics on: per-program deltas over it to trigger_bpf.jsonl.
trigger_stats_round() { # variant round
	local v=$1 r=$2 ids s0 s1 acc
	start_variant "$v" /dev/null || { stop_variant "$v"; return; }
	ids=$(variant_prog_ids "$v")
	# shellcheck disable=SC2086 # one program ID per word
	s0=$(prog_stats $ids)
	acc=$(trigger_accept)
	# shellcheck disable=SC2086
	s1=$(prog_stats $ids)
	stop_variant "$v"
	# Another benchmark may have turned the statistics off meanwhile: this round says nothing.
	[ "$(cat /proc/sys/kernel/bpf_stats_enabled)" = 1 ] || acc=null
	jq -n -c --arg v "$v" --argjson r "$r" --argjson a "$s0" --argjson b "$s1" \
		--argjson acc "${acc:-null}" '
		{variant: $v, round: $r, accept: $acc,
		 programs: [$b[] as $p | ($a[] | select(.id == $p.id)) as $q
			| {id: $p.id, type: $p.type, name: $p.name, object: $p.object, hook: $p.hook,
			   run_cnt: ($p.run_cnt - $q.run_cnt), run_time_ns: ($p.run_time_ns - $q.run_time_ns)}]}' \
		>>"$WORK/trigger_bpf.jsonl"
	say "$(printf 'bpf stats, trigger %-10s %s' "$v" "$(jq -c '{accepts, call_median_ns}' <<<"${acc:-null}")")"
}

trigger_section() {
	local run=() v r i t0 stats_before
	t0=$(now_ns)
	for v in $TRIGGER_VARIANTS; do [ -n "${SKIP[$v]:-}" ] || run+=("$v"); done
	stats_before=$(sysctl -n kernel.bpf_stats_enabled)
	say "trigger loops: ${run[*]}; $TRIGGER_ROUNDS rounds of $TRIGGER_ACCEPTS accept4() (batches of" \
		"$TRIGGER_BATCH) and $TRIGGER_CALLS getppid() (batches of $TRIGGER_CALL_BATCH)"
	# Warm-up, not counted: the loops, and bpftrace's first compile.
	trigger_accept >/dev/null
	trigger_getppid >/dev/null
	for v in "${run[@]}"; do
		case $v in hooks | observe | bpftrace) start_variant "$v" /dev/null && sleep 0.5; stop_variant "$v" ;; esac
	done
	for r in $(seq "$TRIGGER_ROUNDS"); do
		for i in $(seq 0 $((${#run[@]} - 1))); do
			trigger_round "${run[$(((i + r - 1) % ${#run[@]}))]}" "$r"
		done
	done
	if [ "$TRIGGER_STATS_ROUNDS" -gt 0 ] 2>/dev/null; then
		STATS_OLD=$stats_before
		sysctl -qw kernel.bpf_stats_enabled=1 || say "failed to enable kernel.bpf_stats_enabled"
		for r in $(seq "$TRIGGER_STATS_ROUNDS"); do
			for v in "${run[@]}"; do [ "$v" = untraced ] || trigger_stats_round "$v" "$r"; done
		done
		sysctl -qw kernel.bpf_stats_enabled="$stats_before"
		STATS_OLD=""
	fi
	jq -n -c --argjson rounds "$TRIGGER_ROUNDS" --argjson accepts "$TRIGGER_ACCEPTS" \
		--argjson batch "$TRIGGER_BATCH" --argjson calls "$TRIGGER_CALLS" \
		--argjson call_batch "$TRIGGER_CALL_BATCH" --argjson sr "$TRIGGER_STATS_ROUNDS" \
		--argjson port "$TRIGGER_PORT" \
		--argjson stats "${stats_before:-null}" --argjson d "$((($(now_ns) - t0) / 1000000000))" \
		--argjson described "$(for v in $TRIGGER_VARIANTS; do
			jq -n -c --arg v "$v" --arg d "$(describe "$v")" --arg s "${SKIP[$v]:-ok}" \
				'{name: $v, description: $d, status: $s}'
		done | jq -s -c .)" '
		{rounds: $rounds, accepts_per_round: $accepts, accept_batch: $batch,
		 getppid_calls_per_round: $calls, getppid_batch: $call_batch, stats_rounds: $sr,
		 port: $port, variants: $described,
		 bpf_stats_enabled: $stats, duration_s: $d,
		 accept_program: "bench/trigger accept: a non-blocking listener on loopback in the benchmark namespace; per batch, non-blocking clients connect until the whole batch is on the accept queue, then accept4() takes each (every call timed, one clock read included), then all close (reset, no TIME_WAIT)",
		 getppid_program: "bench/trigger getppid: a process with no socket; getppid() system calls, each batch timed"}' \
		>>"$WORK/trigger_meta.jsonl"
}
