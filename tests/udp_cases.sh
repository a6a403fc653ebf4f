# SPDX-License-Identifier: GPL-2.0
# UDP reuseport groups (QUIC, DNS): per-socket datagrams queued and read against what each rig
# worker received, drops against the kernel's own counter. Sourced by tests/run.sh.

# udp_exact ADDR PORT: 4 reuseport UDP workers, 1000 datagrams from fresh source ports.
udp_exact() {
	local addr=$1 port=$2 json group
	make_netns || return 1
	start_rig rig --mode reuseport --proto udp --workers 4 --addr "$addr" --port "$port" || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	run_client --proto udp --addr "$addr" --port "$port" --count 1000 --rate 2000 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	stop_rig rig || return 1
	group=$(group_of "$json" "$port") || return 1
	check_udp_exact "$group" "$CASE_DIR/rig.stats" 1000 "$addr"
}

# check_udp_exact GROUP STATS TOTAL ADDR: per socket, queued and read equal the worker's count.
check_udp_exact() {
	local group=$1 stats=$2 total=$3 addr=$4 line ino pid fd n sock
	jq -e --arg a "$addr" --argjson t "$total" '.proto == "udp" and .addr == $a and
		.members == 4 and .enqueued == $t and .received == $t' <<<"$group" >/dev/null ||
		fail_because "group: $(jq -c 'del(.sockets)' <<<"$group")" || return 1
	while IFS= read -r line; do
		ino=$(jq .inode <<<"$line"); pid=$(jq .pid <<<"$line")
		fd=$(jq .fd <<<"$line"); n=$(jq .accepted <<<"$line")
		sock=$(jq -c --argjson i "$ino" '.sockets[] | select(.inode == $i)' <<<"$group")
		jq -e --argjson n "$n" --argjson p "$pid" --argjson f "$fd" '.enqueued == $n and
			.received == $n and .pid == $p and .fd == $f and .connected == false and
			.drops == 0' <<<"$sock" >/dev/null ||
			fail_because "worker $pid received $n on $ino: $sock" || return 1
	done <"$stats"
}

# One worker stops reading, its 4 KiB receive buffer fills: the datagrams it dropped are the
# kernel's drop count for that socket (/proc/net/udp, not sock_diag), and every datagram sent
# was queued or dropped by some member.
case_udp_stalled_receiver() {
	local port=8603 json group stalled ino proc_drops sock total
	make_netns || return 1
	start_rig rig --mode reuseport --proto udp --workers 2 --port $port --rcvbuf 4096 \
		--slow-worker 0 --slow-ms 600000 || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --proto udp --port $port --count 400 --rate 2000 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	# The kernel's own table, before the sockets close with the server.
	ip netns exec "$NETNS" cat /proc/net/udp >"$CASE_DIR/proc_udp"
	stop_rig rig || return 1
	stalled=$(jq -c 'select(.worker == 0)' "$CASE_DIR/rig.stats")
	ino=$(jq -r .inode <<<"$stalled")
	proc_drops=$(awk -v i="$ino" '$10 == i { print $NF }' "$CASE_DIR/proc_udp")
	group=$(group_of "$json" $port) || return 1
	sock=$(jq -c --argjson i "$ino" '.sockets[] | select(.inode == $i)' <<<"$group")
	echo "stalled: $sock; /proc/net/udp drops $proc_drops; rig $stalled"
	[ -n "$proc_drops" ] && [ "$proc_drops" -gt 0 ] || fail_because "no drops in /proc/net/udp" || return 1
	jq -e --argjson d "$proc_drops" --argjson n "$(jq .accepted <<<"$stalled")" \
		'.drops == $d and .received == 0 and .enqueued == $n' <<<"$sock" >/dev/null ||
		fail_because "stalled socket: $sock, want drops $proc_drops" || return 1
	# Every datagram was queued or dropped somewhere (both sockets have the small buffer).
	total=$(jq '[.sockets[] | .enqueued + .drops] | add' <<<"$group")
	[ "$total" = 400 ] || fail_because "queued + dropped over the sockets: $total, not 400"
}

# One flow (one source port): the kernel's hash sends every datagram to one member.
case_udp_one_flow() {
	local port=8604 json group
	make_netns || return 1
	start_rig rig --mode reuseport --proto udp --workers 4 --port $port || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --proto udp --port $port --count 300 --flows 1 --rate 2000 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	group=$(group_of "$json" $port) || return 1
	jq -e '.enqueued == 300 and .imbalance.max_share == 1 and .imbalance.jain == 0.25 and
		([.sockets[] | select(.enqueued == 300)] | length) == 1' <<<"$group" >/dev/null ||
		fail_because "one flow spread: $(jq -c '[.imbalance, [.sockets[].enqueued]]' <<<"$group")"
}

# A client's UDP socket on an ephemeral port is not a server group.
case_udp_clients_hidden() {
	local json
	make_netns || return 1
	start_reusetop -d "$DELAY" || return 1
	# One socket on an ephemeral port sending for about 1.5 s to a port nobody serves.
	ip netns exec "$NETNS" "$RIG_CLIENT" --proto udp --port 9 --count 4 --rate 2 --flows 1 \
		>/dev/null 2>&1 &
	PIDS_TO_STOP+=($!)
	sleep 0.5
	ip netns exec "$NETNS" ss -Huan | grep -q . || fail_because "the client has no socket" || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	[ "$(groups_here "$json" | jq length)" = 0 ] ||
		fail_because "client socket shown: $(groups_here "$json")"
}

# A UDP server that starts after reusetop and reads at once, before any scan lists it: its
# reads are counted all the same (the BPF side notes the processes that bind UDP server sockets
# and their children), never a silent shortfall.
udp_new_server_reads() {
	local port=8606 json group
	make_netns || return 1
	start_reusetop -d 2 -P "$port" || return 1
	start_rig rig --mode reuseport --proto udp --workers 4 --port "$port" || return 1
	run_client --proto udp --port "$port" --count 400 --rate 4000 || return 1
	json=$(settle_json 2)
	stop_reusetop || return 1
	stop_rig rig || return 1
	group=$(group_of "$json" "$port") || return 1
	check_udp_exact "$group" "$CASE_DIR/rig.stats" 400 127.0.0.1
}

udp_cases() {
	run_case "UDP: a server started after reusetop has its first reads counted" \
		udp_new_server_reads
	run_case "UDP IPv4 reuseport, 4 sockets, 1000 datagrams: exact per-socket queued and read" \
		udp_exact 127.0.0.1 8601
	run_case "UDP IPv6 reuseport, 4 sockets, 1000 datagrams: exact per-socket queued and read" \
		udp_exact ::1 8602
	run_case "UDP: a stalled receiver's drops equal the kernel's counter, none unaccounted" \
		case_udp_stalled_receiver
	run_case "UDP: one flow lands on one member (max share 1, Jain 0.25)" case_udp_one_flow
	run_case "UDP: a client's socket on an ephemeral port is not shown" case_udp_clients_hidden
}
