# SPDX-License-Identifier: GPL-2.0
# SCM_RIGHTS handoffs (issue #16): a process accepts connections and passes them over a Unix
# socket to the task that serves them; reusetop's handoffs[] says which task received how many.
# Each case compares those numbers with the receivers' own counts exactly: the rig's handoff
# modes (round-robin, skewed weights, a broker in between, a worker that exits, a worker that
# does not receive) and a real Node.js cluster, whose primary hands connections to its workers.
# Sourced by tests/run.sh after lib.sh, integration.sh (group_of, DELAY) and servers_cases.sh
# (sv_*); tests/vm_cases.sh checks the VMs' runs with the same ho_* functions.

# ---- helpers (ho_ prefix: run inside a case's subshell) -----------------------------------

# The receivers' own counts from a rig's stats: {"PID": received} of every worker (index >= 0).
ho_rig_counts() { # stats
	jq -s -c 'map(select(.worker >= 0) | {key: (.pid | tostring), value: .accepted}) |
		from_entries' "$1"
}

# The pid of the rig's master (stats line of worker -1).
ho_rig_master() { # stats
	jq -s '[.[] | select(.worker == -1) | .pid][0]' "$1"
}

# ho_check GROUP COUNTS MASTER TOTAL [EXITED] [COMM]: the group's handoffs are the receivers' own
# counts exactly. COUNTS {"PID": n} (every receiving task, n 0 for one that received nothing);
# MASTER the acceptor that handed all TOTAL connections off (its only acceptor); EXITED a
# JSON array of the pids that exited. Each receiver that received is listed once with its
# count, tid = pid (one thread), from_pid MASTER, its share, exited as it is; one that received
# nothing is not listed; nothing is pending; the imbalance is that of the counts.
ho_check() {
	local group=$1 counts=$2 master=$3 total=$4 exited=${5:-[]} comm=${6:-rig_server}
	echo "handoffs: $(jq -c '[.handoffs // null | .[]? | {pid, tid, comm, from_pid, received,
		share, exited}]' <<<"$group")"
	echo "acceptors: $(jq -c '[.acceptors[] | {pid, comm, accepted, handed_off}]' <<<"$group")"
	echo "pending $(jq -c .handoff_pending <<<"$group"), imbalance $(jq -c .handoff_imbalance <<<"$group"), counts $counts"
	[ "$(jq -c '.handoffs | type' <<<"$group")" = '"array"' ] ||
		fail_because "handoffs is not an array: $(jq -c .handoffs <<<"$group")" || return 1
	[ "$(jq add <<<"$counts")" = "$total" ] ||
		fail_because "the receivers counted $(jq add <<<"$counts") of $total: $counts" || return 1
	# The acceptor: the master alone, every connection accepted and handed off.
	jq -e --argjson m "$master" --argjson t "$total" '.accepted == $t and
		([.acceptors[] | select(.accepted > 0) | .pid] == [$m]) and
		([.acceptors[] | select(.pid == $m) | .handed_off] | add) == $t' <<<"$group" >/dev/null ||
		fail_because "acceptor: want $master with accepted = handed_off = $total" || return 1
	# Per receiver: its own count, once, from the master.
	jq -e --argjson c "$counts" --argjson m "$master" --argjson x "$exited" --arg comm "$comm" '
		.handoffs as $h |
		($c | to_entries | map(select(.value > 0)) | map({pid: (.key | tonumber),
			received: .value}) | sort_by(.pid)) as $want |
		([$h[] | {pid, received}] | sort_by(.pid)) == $want and
		([$h[] | .tid == .pid and .from_pid == $m and .comm == $comm and
			.exited == (.pid as $p | $x | index($p) != null)] | all)' \
		<<<"$group" >/dev/null || fail_because "handoffs differ from the receivers' counts" || return 1
	# Shares of the group's received, nothing pending, the imbalance of the counts.
	jq -e --argjson t "$total" --argjson c "$counts" '
		([$c[] | select(. > 0)]) as $n |
		([.handoffs[] | (.share - .received / $t) | fabs < 0.0001] | all) and
		.handoff_pending == 0 and
		((.handoff_imbalance.max_share - ($n | max) / $t) | fabs < 0.0001) and
		((.handoff_imbalance.jain - ($t * $t / (($n | length) * ($n | map(. * .) | add))))
			| fabs < 0.001)' <<<"$group" >/dev/null ||
		fail_because "shares, pending or imbalance wrong" || return 1
	# After the run nothing was received in the last interval: no rate, no wait.
	jq -e '[.handoffs[] | .received_per_s == 0 and .wait_us == null] | all' <<<"$group" \
		>/dev/null || fail_because "rates or waits in an idle interval: $(jq -c \
		'[.handoffs[] | {pid, received_per_s, wait_us}]' <<<"$group")"
}

# ho_check_waits FILE PORT UNTIMED: the accept-to-receipt waits on every document reusetop
# printed, for each final receiver (received > 0 on the last document; a broker's count comes
# and goes): per interval, a wait ({p50 <= p90 <= p99}, under 2 s) only with receipts, and no
# more wait samples (interval_count) than receipts in that interval; over the run, every
# receipt has its wait but UNTIMED at most in the group: connections the acceptor accepted
# before its first sendmsg with SCM_RIGHTS, when it was not known to pass connections on yet
# (the rig: 1; a server accepting several per wakeup: up to the client's concurrency).
ho_check_waits() {
	local file=$1 port=$2 untimed=$3 rows bad last
	last=$(last_json "$file")
	jq -e --argjson ns "$NETNS_INODE" --argjson p "$port" '[.groups[] | select(.netns == $ns and
		.port == $p) | .handoffs | type == "array"] == [true]' <<<"$last" >/dev/null ||
		fail_because "no handoffs[] on the last document: $(jq -c --argjson p "$port" \
			'[.groups[] | select(.port == $p) | .handoffs]' <<<"$last") ($(jq -c .degraded \
			<<<"$last"))" || return 1
	# Per final receiver, per document: {pid, got (receipts in the interval), count, wait}.
	rows=$(jq -s -c --argjson ns "$NETNS_INODE" --argjson p "$port" '
		[.[] | [.groups[] | select(.netns == $ns and .port == $p)][0] | .handoffs // []] as $docs |
		($docs[-1] | map(select(.received > 0) | .pid)) as $final |
		[$final[] as $pid | [$docs[] | [.[] | select(.pid == $pid)][0] // {received: 0}] |
			. as $r | range(0; length) | {pid: $pid,
				got: ($r[.].received - (if . == 0 then 0 else $r[. - 1].received end)),
				count: ($r[.].wait_us.interval_count // 0), wait: $r[.].wait_us}]' "$file")
	bad=$(jq -c '[.[] | select(.count > .got or (.wait != null and (.count < 1 or
		.wait.p50 < 0 or .wait.p50 > .wait.p90 or .wait.p90 > .wait.p99 or
		.wait.p99 > 2000000)))][:3] | select(length > 0)' <<<"$rows")
	[ -z "$bad" ] || fail_because "waits inconsistent with the interval's receipts: $bad" || return 1
	jq -e --argjson u "$untimed" '([.[].got] | add // 0) as $got | ([.[].count] | add // 0) as $c |
		$got > 0 and $c <= $got and $c >= $got - $u' <<<"$rows" >/dev/null ||
		fail_because "wait samples $(jq -c '[([.[].count] | add), ([.[].got] | add)]' <<<"$rows") [samples, receipts], at most $untimed untimed" || return 1
	echo "waits: $(jq -c '[([.[].count] | add), ([.[].got] | add)]' <<<"$rows") [samples, receipts]"
}

# The rig's receivers against the group: ho_check with the rig's stats (its master, and the
# workers that exited: worker 0 with --handoff-exit-after, below TOTAL / WORKERS).
ho_check_rig() { # group stats total [exited]
	ho_check "$1" "$(ho_rig_counts "$2")" "$(ho_rig_master "$2")" "$3" "${4:-[]}"
}

# handoff-chain: the broker (stats line -2) received and forwarded all TOTAL connections and is
# no receiver of them (absent, or received 0); the workers are the final receivers, from the
# master.
ho_check_chain() { # group stats total
	local group=$1 broker
	broker=$(jq -s -c '[.[] | select(.worker == -2)][0]' "$2")
	jq -e --argjson t "$3" '.accepted == $t and .forwarded == $t' <<<"$broker" >/dev/null ||
		fail_because "the broker received and forwarded $broker, want $3" || return 1
	[ "$(jq -c '.handoffs | type' <<<"$group")" = '"array"' ] ||
		fail_because "handoffs is not an array: $(jq -c .handoffs <<<"$group")" || return 1
	jq -e --argjson b "$(jq .pid <<<"$broker")" \
		'[.handoffs[] | select(.pid == $b and .received > 0)] == []' <<<"$group" >/dev/null ||
		fail_because "the broker $(jq .pid <<<"$broker") is counted as a receiver: $(jq -c \
			'.handoffs' <<<"$group")" || return 1
	# ho_check wants exactly the workers listed: drop a broker row with nothing received.
	group=$(jq -c --argjson b "$(jq .pid <<<"$broker")" '.handoffs |= map(select(.pid != $b))' \
		<<<"$group")
	ho_check_rig "$group" "$2" "$3"
}

# ho_rig_case MODE WORKERS PORT TOTAL [RIG ARGS...]: the rig in MODE, TOTAL connections, then
# reusetop's last document against the rig's stats. Sets GROUP, COUNTS, MASTER.
ho_rig_run() {
	local mode=$1 workers=$2 port=$3 total=$4 json
	shift 4
	make_netns || return 1
	start_rig rig --mode "$mode" --workers "$workers" --port "$port" "$@" || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	run_client --port "$port" --count "$total" --concurrency 8 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	stop_rig rig || return 1
	cat "$CASE_DIR/rig.stats"
	GROUP=$(group_of "$json" "$port") || return 1
	COUNTS=$(ho_rig_counts "$CASE_DIR/rig.stats")
	MASTER=$(ho_rig_master "$CASE_DIR/rig.stats")
	ho_check_waits "$CASE_DIR/rt.json" "$port" 1
}

# ---- cases ----------------------------------------------------------------------------------

# (a) Round-robin over 4 workers: 100 each, shares 0.25, a fair Jain index.
case_handoff_roundrobin() {
	ho_rig_run handoff 4 8751 400 || return 1
	ho_check "$GROUP" "$COUNTS" "$MASTER" 400 || return 1
	jq -e '[.handoffs[].received] == [100, 100, 100, 100] and
		([.handoffs[].share] | all(. == 0.25)) and .handoff_imbalance.max_share == 0.25 and
		.handoff_imbalance.jain == 1' <<<"$GROUP" >/dev/null ||
		fail_because "want 100 each, share 0.25, jain 1"
}

# (b) A skewed master, weights 4,2,1,1: 200, 100, 50, 50; max_share 0.5.
case_handoff_weights() {
	ho_rig_run handoff 4 8752 400 --handoff-weights 4,2,1,1 || return 1
	ho_check "$GROUP" "$COUNTS" "$MASTER" 400 || return 1
	[ "$(jq -c '[.[]] | sort' <<<"$COUNTS")" = "[50,50,100,200]" ] ||
		fail_because "the rig dealt $COUNTS, want 200/100/50/50" || return 1
	jq -e '.handoff_imbalance.max_share == 0.5 and
		((.handoff_imbalance.jain - 0.7273) | fabs) < 0.001' <<<"$GROUP" >/dev/null ||
		fail_because "imbalance $(jq -c .handoff_imbalance <<<"$GROUP"), want max_share 0.5, jain 0.7273"
}

# (c) master -> broker -> 3 workers (weights 3,2,1 at the broker): each worker's count, from the
# master; the broker, which received every connection and passed it on, is no receiver.
case_handoff_chain() {
	ho_rig_run handoff-chain 3 8753 300 --handoff-weights 3,2,1 || return 1
	[ "$(jq -c '[.[]] | sort' <<<"$COUNTS")" = "[50,100,150]" ] ||
		fail_because "the broker dealt $COUNTS, want 150/100/50" || return 1
	ho_check_chain "$GROUP" "$CASE_DIR/rig.stats" 300
}

# (d) Worker 0 exits after 20 connections: its row keeps received 20, exited: true (within the
# retention); the others share the remaining 380 and are live.
case_handoff_exited_worker() {
	local w0
	ho_rig_run handoff 4 8754 400 --handoff-exit-after 20 || return 1
	w0=$(jq -s '[.[] | select(.worker == 0)][0]' "$CASE_DIR/rig.stats")
	[ "$(jq .accepted <<<"$w0")" = 20 ] || fail_because "worker 0 received $w0, want 20" || return 1
	ho_check "$GROUP" "$COUNTS" "$MASTER" 400 "[$(jq .pid <<<"$w0")]"
}

# (e) A Node.js cluster, default (round-robin) scheduling: the primary accepts and passes each
# connection to a worker over its IPC channel; each worker's requests, from the primary.
case_handoff_node_cluster() {
	local port=8755 json stats counts primary
	sv_begin || return 1
	sv_need node || return 1
	sv_start node node tests/node_cluster.js 127.0.0.1 "$port" 4 "$CASE_DIR/node.stats" \
		"$CASE_DIR/node.ready"
	wait_for_file "$CASE_DIR/node.ready" 15 || fail_because "node: $(tail -n 20 "$CASE_DIR/node.out")" || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	run_client --http --port "$port" --count 400 --concurrency 8 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	kill -TERM "$SV_PID"
	wait "$SV_PID" || fail_because "node exited $?: $(tail -n 20 "$CASE_DIR/node.out")" || return 1
	stats=$(cat "$CASE_DIR/node.stats")
	echo "node: $stats"
	primary=$(jq .primary <<<"$stats")
	[ "$primary" = "$SV_PID" ] || fail_because "primary $primary is not node's pid $SV_PID" || return 1
	counts=$(jq -c '.workers | map({key: (.pid | tostring), value: .requests}) | from_entries' \
		<<<"$stats")
	[ "$(jq length <<<"$counts")" = 4 ] || fail_because "want 4 workers' counts: $counts" || return 1
	GROUP=$(group_of "$json" "$port") || return 1
	ho_check_waits "$CASE_DIR/rt.json" "$port" 8 || return 1
	ho_check "$GROUP" "$counts" "$primary" 400 "[]" node
}

# (f) A worker stopped with SIGSTOP never calls recvmsg: what was sent to it is pending, and it
# is no receiver; once continued, it received all of it and nothing is pending.
case_handoff_pending() {
	local port=8756 json group counts
	make_netns || return 1
	start_rig rig --mode handoff --workers 4 --port $port || return 1
	HO_STOPPED=$(pgrep -P "$RIG_rig" | sort -n | sed -n 2p)
	[ -n "$HO_STOPPED" ] || fail_because "no second worker of rig $RIG_rig" || return 1
	# A stopped worker would outlive the case: continue it however the case ends.
	trap 'kill -CONT "$HO_STOPPED" 2>/dev/null; case_cleanup' EXIT
	kill -STOP "$HO_STOPPED"
	start_reusetop -d "$DELAY" -P $port || return 1
	# Connections the client closes at once: the stopped worker's are never served.
	ns_exec
	# shellcheck disable=SC2016 # expanded by the inner bash
	"${NS_EXEC[@]}" bash -c 'for _ in $(seq 100); do exec 3<>"/dev/tcp/127.0.0.1/$1" &&
		exec 3>&-; done' client "$port" || fail_because "client failed" || return 1
	json=$(settle_json "$DELAY")
	group=$(group_of "$json" $port) || return 1
	echo "stopped $HO_STOPPED: pending $(jq -c .handoff_pending <<<"$group"), handoffs $(jq -c \
		'[.handoffs[]? | {pid, received}]' <<<"$group")"
	jq -e --argjson s "$HO_STOPPED" '.handoff_pending == 25 and
		([.handoffs[] | select(.pid == $s)] == []) and
		([.handoffs[].received] == [25, 25, 25]) and
		([.acceptors[].handed_off] | add) == 100' <<<"$group" >/dev/null ||
		fail_because "while stopped: want 25 pending, 3 receivers of 25, 100 handed off" || return 1
	kill -CONT "$HO_STOPPED"
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	stop_rig rig || return 1
	counts=$(ho_rig_counts "$CASE_DIR/rig.stats")
	[ "$(jq --arg s "$HO_STOPPED" '.[$s]' <<<"$counts")" = 25 ] ||
		fail_because "the stopped worker received $counts" || return 1
	group=$(group_of "$json" $port) || return 1
	ho_check "$group" "$counts" "$(ho_rig_master "$CASE_DIR/rig.stats")" 100
}

handoff_cases() {
	run_case "handoff: round-robin master, 4 workers, 400 connections: received per worker exact" \
		case_handoff_roundrobin
	run_case "handoff: weights 4,2,1,1: 200/100/50/50 received, max_share 0.5" \
		case_handoff_weights
	run_case "handoff: master -> broker -> 3 workers: the final receivers, from the master" \
		case_handoff_chain
	run_case "handoff: a worker that exited after 20 keeps received 20, exited" \
		case_handoff_exited_worker
	run_case "handoff: Node.js cluster, round-robin: per-worker received equal its requests" \
		case_handoff_node_cluster
	run_case "handoff: a stopped worker's connections are pending until it receives them" \
		case_handoff_pending
}
