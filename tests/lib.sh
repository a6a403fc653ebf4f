# SPDX-License-Identifier: GPL-2.0
# Test harness: named cases, each a function that returns 0 (pass) or non-zero (fail) after
# saying why with `fail_because`. Every case runs in a subshell with its own scratch folder and
# network namespace, and everything it started is stopped afterwards, pass or fail.

BUILD=${BUILD:-build}
REUSETOP=${REUSETOP:-$BUILD/san/reusetop}
RIG_SERVER=$BUILD/tests/rig_server
RIG_CLIENT=$BUILD/tests/rig_client
# ASan's leak check needs to ptrace-stop threads; keep it on, and make reports fail the run.
export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=0:exitcode=99}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1:exitcode=99}

PASSED=0
FAILED=0
FAILED_NAMES=()

fail_because() {
	echo "    $*" >&2
	return 1
}

# Run one case in a subshell: run_case "name" function [args...]
run_case() {
	local name=$1 status
	shift
	CASE_DIR=$(mktemp -d /tmp/reusetop-test.XXXXXX)
	(
		set -u
		export CASE_DIR
		trap case_cleanup EXIT
		"$@"
	) >"$CASE_DIR/log" 2>&1
	status=$?
	if [ $status -eq 0 ]; then
		PASSED=$((PASSED + 1))
		echo "PASS $name"
	else
		FAILED=$((FAILED + 1))
		FAILED_NAMES+=("$name")
		echo "FAIL $name"
		sed 's/^/    | /' "$CASE_DIR/log" | tail -n 40
	fi
	rm -rf "$CASE_DIR"
}

# Count PASS/FAIL lines of a sub-suite's output (the unit tests, the VM suite).
count_results() {
	local out=$1
	PASSED=$((PASSED + $(grep -c '^PASS ' <<<"$out")))
	FAILED=$((FAILED + $(grep -c '^FAIL ' <<<"$out")))
	while IFS= read -r line; do FAILED_NAMES+=("${line#FAIL }"); done < <(grep '^FAIL ' <<<"$out")
}

summary() {
	echo
	for n in "${FAILED_NAMES[@]}"; do echo "failed: $n"; done
	echo "$PASSED passed, $FAILED failed"
	[ "$FAILED" -eq 0 ]
}

# ---- per-case helpers (run inside the case's subshell) ---------------------------------------

PIDS_TO_STOP=()
CGROUPS_TO_REMOVE=() # cgroup folders a case made, removed deepest first once its processes stopped
NETNS=""      # the namespace new rigs and clients run in
NETNS_ALL=()  # every namespace the case made

case_cleanup() {
	local p
	for p in "${PIDS_TO_STOP[@]}"; do kill -TERM "$p" 2>/dev/null; done
	for p in "${PIDS_TO_STOP[@]}"; do
		for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
		kill -KILL "$p" 2>/dev/null
	done
	for p in "${NETNS_ALL[@]}"; do ip netns del "$p" 2>/dev/null; done
	for p in $(printf '%s\n' "${CGROUPS_TO_REMOVE[@]}" | sort -r); do
		for _ in $(seq 20); do [ -d "$p" ] || break; rmdir "$p" 2>/dev/null || sleep 0.1; done
	done
	return 0
}

# A fresh network namespace with loopback up; its name in $NETNS, its inode in $NETNS_INODE.
make_netns() {
	NETNS=rt$$$RANDOM
	NETNS_ALL+=("$NETNS")
	ip netns add "$NETNS" && ip -n "$NETNS" link set lo up || return 1
	NETNS_INODE=$(stat -L -c %i "/run/netns/$NETNS")
}

# The command prefix that runs a program in the case's namespace (none without one). Used
# as "${NS_EXEC[@]}" prog so that a background job's $! is the program itself, not a subshell.
ns_exec() {
	NS_EXEC=()
	[ -z "$NETNS" ] || NS_EXEC=(ip netns exec "$NETNS")
}

wait_for_file() { # file seconds
	local i
	for i in $(seq $(($2 * 20))); do [ -s "$1" ] && return 0; sleep 0.05; done
	fail_because "timed out waiting for $1"
}

# Start reusetop in JSON mode in the background: output in $CASE_DIR/rt.json, pid in RT_PID.
# Returns once the probes are attached and the first interval has been printed.
start_reusetop() {
	"$REUSETOP" -j "$@" >"$CASE_DIR/rt.json" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	wait_for_file "$CASE_DIR/rt.json" 20 || { cat "$CASE_DIR/rt.err"; return 1; }
}

# Stop reusetop with SIGINT and check that it exits 0 with nothing on stderr (sanitizers), and
# that every document it printed keeps the invariants.
stop_reusetop() {
	kill -INT "$RT_PID"
	wait "$RT_PID"
	local status=$?
	[ $status -eq 0 ] || fail_because "reusetop exited $status: $(cat "$CASE_DIR/rt.err")" || return 1
	[ ! -s "$CASE_DIR/rt.err" ] || fail_because "reusetop stderr: $(cat "$CASE_DIR/rt.err")" || return 1
	# -j's documents (the exporter's cases run without -j).
	[ ! -s "$CASE_DIR/rt.json" ] || check_invariants "$CASE_DIR/rt.json"
}

# start_rig NAME ARGS...: rig_server in the case's netns; stats in $CASE_DIR/NAME.stats.
start_rig() {
	local name=$1
	shift
	ns_exec
	"${NS_EXEC[@]}" "$RIG_SERVER" "$@" --stats "$CASE_DIR/$name.stats" \
		--ready "$CASE_DIR/$name.ready" >"$CASE_DIR/$name.out" 2>&1 &
	local pid=$!
	PIDS_TO_STOP+=("$pid")
	eval "RIG_${name}=$pid"
	wait_for_file "$CASE_DIR/$name.ready" 10
}

# stop_rig NAME: SIGTERM the master and wait until every worker wrote its stats line.
stop_rig() {
	local pid
	eval "pid=\$RIG_$1"
	kill -TERM "$pid"
	wait "$pid" || fail_because "rig $1 exited $?: $(cat "$CASE_DIR/$1.out")"
}

# run_client ARGS...: rig_client in the case's netns; fails unless every connection succeeded.
run_client() {
	local out
	ns_exec
	out=$("${NS_EXEC[@]}" "$RIG_CLIENT" "$@") || fail_because "client failed: $out" || return 1
	[ "$(jq -r .failed <<<"$out")" = 0 ] || fail_because "client: $out"
}

# The last complete line of a file another process is still writing (one JSON document per
# line: a line without its newline yet is not complete).
last_json() { # file
	local snap
	snap=$(mktemp)
	cp "$1" "$snap"
	if [ -z "$(tail -c 1 "$snap")" ]; then tail -n 1 "$snap"; else tail -n 2 "$snap" | head -n 1; fi
	rm -f "$snap"
}

# check_invariants FILE [NETNS_INODE]: no count is lost, on every complete JSON line reusetop
# printed to FILE (of the groups in that namespace, or all): per TCP group the acceptors'
# accepted, eagain and wakeups add up to the group's (eagain and wakeups where the tier has
# them) and their shares (4 decimals each) to 1, and so do the hand-off receivers' received and
# shares to the group's handoff_received and 1; per UDP group the receivers' received to the
# group's received. stop_reusetop checks it in every case.
check_invariants() {
	local file=$1 ns=${2:-null} snap bad status lines
	snap=$(mktemp)
	cp "$file" "$snap"
	# A line without its newline yet is not complete.
	[ -z "$(tail -c 1 "$snap")" ] || sed -i '$d' "$snap"
	lines=$(wc -l <"$snap")
	bad=$(jq -c --argjson ns "$ns" '. as $doc | .groups[] | select($ns == null or .netns == $ns) |
		(if .proto == "tcp" then
			{accepted, eagain, wakeups,
			 acceptors: {accepted: ([.acceptors[].accepted] | add // 0),
				     eagain: ([.acceptors[].eagain] | add // 0),
				     wakeups: ([.acceptors[].wakeups] | add // 0)}}
		else
			{received, receivers: (if (.receivers | type) == "array"
				then {received: ([.receivers[].received] | add // 0)} else null end)}
		end) as $sums |
		select(if .proto == "tcp" then
			$sums.acceptors.accepted != .accepted or
			((.handoffs | type) == "array" and
				(([.handoffs[].received] | add // 0) != .handoff_received or
				 (.handoff_received > 0 and
					(([.handoffs[].share] | add) - 1 | fabs) >
						0.0001 * (.handoffs | length)))) or
			(.eagain != null and $sums.acceptors.eagain != .eagain) or
			(.wakeups != null and $sums.acceptors.wakeups != .wakeups) or
			(.accepted != null and .accepted > 0 and
				(([.acceptors[].share] | add) - 1 | fabs) >
					0.0001 * (.acceptors | length))
		else
			.received != null and
				($sums.receivers == null or $sums.receivers.received != .received)
		end) |
		{time: $doc.time, proto, addr, port} + $sums' "$snap" 2>&1)
	status=$?
	rm -f "$snap"
	[ "$lines" -gt 0 ] || fail_because "check_invariants: no complete line in $file" || return 1
	[ $status -eq 0 ] || fail_because "check_invariants: $file: $bad" || return 1
	[ -z "$bad" ] || fail_because "counts lost ($lines lines checked), first: $(head -n 3 <<<"$bad")"
}

# The last complete JSON line reusetop printed, after waiting for two more intervals so the
# counters of everything the client did are in it.
settle_json() { # delay_s
	sleep "$(awk -v d="$1" 'BEGIN { print d * 2.5 }')"
	last_json "$CASE_DIR/rt.json"
}

# IDs of loaded BPF programs with reusetop's program names (bpftool shows 15 characters).
reusetop_prog_ids() {
	bpftool prog show 2>/dev/null | grep -E \
		'name (fexit_hashdance|fentry_hashdanc|fexit_reqsk_que|fexit_inet_csk_|kprobe_hashdanc|kretprobe_hash|kprobe_reqsk_qu|raw_tp_sk_data_|raw_tp_inet_soc|tp_exit_accept|fexit_reuseport|kretprobe_reuse|raw_tp_sched_wa|raw_tp_softirq_|raw_tp_wakeup_d|fentry_tcp_chil|fexit_tcp_child|kprobe_tcp_chil|kretprobe_tcp_|fexit_udp_|kprobe_udp_enqu|kretprobe_udp_e|raw_tp_udp_data|tp_exit_recv|tp_exit_bind|tp_exit_listen|raw_tp_process_)' |
		cut -d: -f1 | sort
}

# Run a command and print the IDs of reusetop programs it left loaded (IDs are never reused
# soon, so other reusetop instances running meanwhile do not disturb the answer).
programs_left_by() {
	local before
	before=$(reusetop_prog_ids)
	"$@" >/dev/null 2>&1
	sleep 0.3 # programs are freed after their last reference, deferred by RCU
	comm -13 <(echo "$before") <(reusetop_prog_ids) | grep .
}
