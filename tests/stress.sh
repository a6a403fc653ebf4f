#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Stress (make stress, minutes; not part of make check):
#  1. load: the rig at the highest connection rate this machine sustains for STRESS_SECONDS
#     (default 60) with reusetop observing: every connection counted exactly, no map overflow,
#     reusetop's memory steady;
#  2. scale: 10,000 listening sockets on the host: every refresh stays within the delay.
# Ends with "N passed, N failed" like the suite. Run as root from the project root.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
. tests/integration.sh
REUSETOP=./reusetop # the optimized build: this measures what users run
RIG_SERVER=$BUILD/bench/rig_server
RIG_CLIENT=$BUILD/bench/rig_client
SECONDS_LOAD=${STRESS_SECONDS:-60}
RESULTS=$(mktemp)

rss_kb() { awk '/^VmRSS/ { print $2 }' "/proc/$1/status"; }

case_load() {
	local port=8801 json group deadline total=0 out rss0 rss1
	make_netns || return 1
	start_rig rig --mode reuseport --workers 4 --port $port --backlog 4096 || return 1
	start_reusetop -d 1 -P $port || return 1
	rss0=$(rss_kb "$RT_PID")
	deadline=$((SECONDS + SECONDS_LOAD))
	# Rounds of 20,000 connections at full speed until the time is up.
	while [ $SECONDS -lt $deadline ]; do
		out=$(ip netns exec "$NETNS" "$RIG_CLIENT" --port $port --count 20000 --concurrency 16) ||
			fail_because "client: $out" || return 1
		[ "$(jq .failed <<<"$out")" = 0 ] || fail_because "client: $out" || return 1
		total=$((total + 20000))
		echo "round: $out"
	done
	json=$(settle_json 1)
	rss1=$(rss_kb "$RT_PID")
	stop_reusetop || return 1
	stop_rig rig || return 1
	echo "load: $total connections in ${SECONDS_LOAD}s; reusetop RSS ${rss0} kB -> ${rss1} kB" |
		tee -a "$RESULTS"
	group=$(group_of "$json" $port) || return 1
	check_reuseport_exact "$group" "$CASE_DIR/rig.stats" "$total" || return 1
	jq -e '.lost | .socket_map_full == 0 and .acceptor_map_full == 0 and .inflight_map_full == 0' \
		<<<"$json" >/dev/null || fail_because "lost events: $(jq -c .lost <<<"$json")" || return 1
	[ "$rss1" -le $((rss0 + rss0 / 10 + 1024)) ] || fail_because "memory grew: $rss0 -> $rss1 kB"
}

case_scale() {
	local n=10000 json out worst
	make_netns || return 1
	ip netns exec "$NETNS" "$BUILD/bench/listeners" --count $n --base-port 20000 \
		>"$CASE_DIR/listeners.out" 2>&1 &
	PIDS_TO_STOP+=($!)
	wait_for_file "$CASE_DIR/listeners.out" 30 || return 1
	out=$("$REUSETOP" -j -d 1 -n 6 2>&1) || fail_because "reusetop: $out" || return 1
	json=$(tail -n 1 <<<"$out")
	[ "$(groups_here "$json" | jq length)" = $n ] ||
		fail_because "want $n groups, got $(groups_here "$json" | jq length)" || return 1
	# Each refresh (discovery, collection, model) must stay under the 1 s delay.
	worst=$(jq -s 'map(.refresh_s) | max' <<<"$out")
	echo "scale: $n listeners: refresh times $(jq -s -c 'map(.refresh_s)' <<<"$out") s" |
		tee -a "$RESULTS"
	awk -v w="$worst" 'BEGIN { exit !(w < 1.0) }' || fail_because "a refresh took $worst s"
}

run_case "load: ${SECONDS_LOAD}s at full rate, every connection counted, memory steady" case_load
run_case "scale: 10,000 listeners, every refresh within the 1 s delay" case_scale
cat "$RESULTS"
rm -f "$RESULTS"
summary
