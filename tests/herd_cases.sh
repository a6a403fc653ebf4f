# SPDX-License-Identifier: GPL-2.0
# Thundering herd and queue health: wakeups per task against the rig workers' own voluntary
# context switches, EAGAINs against their own count, queue length and drops against the kernel
# (ss), queue wait against a worker that is slow on purpose. Sourced by tests/run.sh.

# herd_case MODE CONNECTIONS: 4 idle workers, connections 10 ms apart, then check_herd.
herd_case() {
	local mode=$1 total=$2 port=8501 json group
	make_netns || return 1
	start_rig rig --mode "$mode" --workers 4 --port $port || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --port $port --count "$total" --concurrency 1 --rate 100 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	stop_rig rig || return 1
	group=$(group_of "$json" $port) || return 1
	check_herd "$group" "$CASE_DIR/rig.stats" "$total"
}

# check_herd GROUP STATS TOTAL: per worker, accepted exact, EAGAIN within 2%, wakeups between 90%
# and 105% of its voluntary context switches (minus the one its stop signal causes); the group's wakeups
# are the sum over the woken tasks, and those are the workers only. Leaves wakeups per
# connection in $CASE_DIR/wpc.
check_herd() {
	local group=$1 stats=$2 total=$3 line pid n eagain nvcsw seen wakeups
	jq -e '.sockets[0].enqueued == '"$total"' and .sockets[0].accepted == '"$total" <<<"$group" \
		>/dev/null || fail_because "socket counts: $(jq -c .sockets <<<"$group")" || return 1
	while IFS= read -r line; do
		pid=$(jq .pid <<<"$line"); n=$(jq .accepted <<<"$line")
		eagain=$(jq .eagain <<<"$line"); nvcsw=$(($(jq .nvcsw <<<"$line") - 1))
		seen=$(jq -c --argjson p "$pid" '[.acceptors[] | select(.pid == $p)] |
			{accepted: (map(.accepted) | add // 0), eagain: (map(.eagain) | add // 0),
			 wakeups: (map(.wakeups) | add // 0)}' <<<"$group")
		echo "worker $pid: rig accepted $n eagain $eagain nvcsw-1 $nvcsw; reusetop $seen"
		[ "$(jq .accepted <<<"$seen")" = "$n" ] || fail_because "pid $pid accepted" || return 1
		within "$(jq .eagain <<<"$seen")" "$eagain" 0.02 || fail_because "pid $pid eagain" || return 1
		wakeups=$(jq .wakeups <<<"$seen")
		# Workers woken together then contend for the listener's lock in accept, and a
		# task that sleeps there switches voluntarily without a listener wakeup: the context
		# switches may exceed the wakeups (by 7-8% seen under qemu's emulation), never trail.
		awk -v w="$wakeups" -v n="$nvcsw" 'BEGIN { exit !(w >= 0.9 * n && w <= 1.05 * n) }' ||
			fail_because "pid $pid wakeups $wakeups vs $nvcsw context switches" || return 1
	done <"$stats"
	jq -e '.wakeups == ([.acceptors[].wakeups] | add)' <<<"$group" >/dev/null ||
		fail_because "group wakeups $(jq .wakeups <<<"$group") != sum over tasks" || return 1
	# Only the workers were woken by the listener: no timer sleeper or other task charged.
	jq -e --argjson w "$(jq -s '[.[].pid]' "$stats")" '([.acceptors[].pid] - $w) == []' \
		<<<"$group" >/dev/null ||
		fail_because "tasks other than the workers: $(jq -c '[.acceptors[] | [.pid, .comm, .wakeups]]' <<<"$group")" || return 1
	jq -r .wakeups_per_conn <<<"$group" >"$CASE_DIR/wpc"
	echo "wakeups per connection: $(cat "$CASE_DIR/wpc")"
}

# within A B FRACTION: |A - B| <= FRACTION * B (and exact when B is 0).
within() {
	awk -v a="$1" -v b="$2" -v f="$3" 'BEGIN { d = a - b; if (d < 0) d = -d; exit !(d <= f * b) }'
}

case_herd_epoll() {
	herd_case epoll 200 || return 1
	# Every idle worker wakes for every connection: close to 4 per connection.
	awk -v w="$(cat "$CASE_DIR/wpc")" 'BEGIN { exit !(w >= 3.5 && w <= 4.2) }' ||
		fail_because "epoll without EPOLLEXCLUSIVE: $(cat "$CASE_DIR/wpc") wakeups per connection, want about 4"
}

case_herd_exclusive() {
	herd_case epoll-exclusive 200 || return 1
	awk -v w="$(cat "$CASE_DIR/wpc")" 'BEGIN { exit !(w >= 0.9 && w <= 1.2) }' ||
		fail_because "EPOLLEXCLUSIVE: $(cat "$CASE_DIR/wpc") wakeups per connection, want about 1"
}

case_herd_accept() {
	herd_case accept 200 || return 1
	awk -v w="$(cat "$CASE_DIR/wpc")" 'BEGIN { exit !(w >= 0.9 && w <= 1.2) }' ||
		fail_because "blocking accept: $(cat "$CASE_DIR/wpc") wakeups per connection, want about 1"
}

# A listener whose only worker never accepts: the queue holds backlog + 1 connections and the
# rest are dropped; reusetop's queue, peak and drops equal what sock_diag (ss) says.
case_stalled_listener() {
	local port=8502 json sock ss_line ss_drops
	make_netns || return 1
	start_rig rig --mode reuseport --workers 1 --port $port --backlog 4 \
		--slow-worker 0 --slow-ms 600000 || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	ns_exec
	"${NS_EXEC[@]}" "$RIG_CLIENT" --port $port --count 12 --concurrency 12 >/dev/null 2>&1 &
	PIDS_TO_STOP+=($!)
	# SYNs beyond the queue are dropped and retransmitted (after 1 s, 3 s...): compare in a
	# quiet moment, when ss shows the same drops before and after reusetop's line was taken.
	sleep 1.5
	for _ in $(seq 20); do
		ss_line=$(ip netns exec "$NETNS" ss -Hltnm "sport = :$port")
		sleep 0.5
		json=$(last_json "$CASE_DIR/rt.json")
		[ "$ss_line" = "$(ip netns exec "$NETNS" ss -Hltnm "sport = :$port")" ] && break
	done
	sock=$(group_of "$json" $port | jq -c '.sockets[0]') || return 1
	ss_drops=$(grep -o 'd[0-9]*)' <<<"$ss_line" | tr -dc 0-9)
	echo "ss: $ss_line"
	echo "reusetop: $(jq -c '{queue, queue_max, backlog, drops, enqueued}' <<<"$sock")"
	jq -e '.queue == 5 and .queue_max == 5 and .backlog == 4 and .enqueued == 5' <<<"$sock" \
		>/dev/null || fail_because "want queue 5 = backlog 4 + 1: $sock" || return 1
	[ "$(awk '{print $2}' <<<"$ss_line")" = 5 ] || fail_because "ss disagrees: $ss_line" || return 1
	[ -n "$ss_drops" ] && [ "$ss_drops" -gt 0 ] || fail_because "no drops in ss: $ss_line" || return 1
	[ "$(jq .drops <<<"$sock")" = "$ss_drops" ] ||
		fail_because "drops $(jq .drops <<<"$sock") != ss $ss_drops" || return 1
	stop_reusetop
}

# One worker that sleeps 100 ms before each accept, 8 connections at once: the queue waits
# spread up to about 0.8 s; every accepted connection is in the histogram.
case_queue_wait() {
	local port=8503 json sock
	make_netns || return 1
	start_rig rig --mode reuseport --workers 1 --port $port --slow-worker 0 --slow-ms 100 || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --port $port --count 8 --concurrency 8 || return 1
	sleep 0.5
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	sock=$(group_of "$json" $port | jq -c '.sockets[0]') || return 1
	echo "wait_us: $(jq -c .wait_us <<<"$sock")"
	jq -e '.accepted == 8 and ([.wait_us.buckets[].count] | add) == 8' <<<"$sock" >/dev/null ||
		fail_because "histogram does not hold every accept: $sock" || return 1
	# The last connection waited about 8 x 100 ms: in the bucket up to 2^20 us (1.05 s).
	jq -e '.wait_us.buckets[-1].le >= 524288 and .wait_us.buckets[-1].le <= 2097152' <<<"$sock" \
		>/dev/null || fail_because "longest wait bucket: $(jq -c .wait_us <<<"$sock")"
}

herd_cases() {
	run_case "herd: epoll without EPOLLEXCLUSIVE wakes every idle worker (wakeups = context switches)" \
		case_herd_epoll
	run_case "herd: EPOLLEXCLUSIVE wakes one worker per connection" case_herd_exclusive
	run_case "herd: blocking accept wakes one worker per connection" case_herd_accept
	run_case "queue: a stalled listener holds backlog+1, drops match the kernel" \
		case_stalled_listener
	run_case "queue: wait histogram holds every accept, slow worker's waits near 0.8 s" \
		case_queue_wait
}
