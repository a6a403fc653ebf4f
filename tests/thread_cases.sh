# SPDX-License-Identifier: GPL-2.0
# Threaded servers: one rig process with 4 threads (the rig's thread modes), compared per task.
# reusetop's acceptors are tasks, so each thread must be its own row, with the thread's kernel
# id and exactly what that thread counted. Sourced by tests/run.sh after lib.sh and
# integration.sh (group_of).

# thread_exact MODE PROTO ADDR PORT: 4 threads, 400 connections (or datagrams), then the checks.
thread_exact() {
	local mode=$1 proto=$2 addr=$3 port=$4 json group
	make_netns || return 1
	start_rig rig --mode "$mode" --proto "$proto" --workers 4 --addr "$addr" --port "$port" ||
		return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	if [ "$proto" = udp ]; then
		run_client --proto udp --addr "$addr" --port "$port" --count 400 --rate 2000 || return 1
	else
		run_client --addr "$addr" --port "$port" --count 400 --concurrency 8 || return 1
	fi
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	stop_rig rig || return 1
	group=$(group_of "$json" "$port") || return 1
	echo "group: $(jq -c '{accepted, received, eagain, acceptors: [.acceptors[]? |
		[.pid, .tid, .accepted, .eagain]], sockets: [.sockets[] | [.inode, .pid, .fd,
		.accepted, .received]]}' <<<"$group")"
	[ "$(wc -l <"$CASE_DIR/rig.stats")" = 4 ] || fail_because "rig wrote $(wc -l <"$CASE_DIR/rig.stats") lines" || return 1
	# The rig's threads all live in its one process.
	[ "$(jq -s --argjson p "$RIG_rig" 'map(select(.pid == $p)) | length' "$CASE_DIR/rig.stats")" = 4 ] ||
		fail_because "stats not all from pid $RIG_rig: $(cat "$CASE_DIR/rig.stats")" || return 1
	if [ "$proto" = udp ]; then
		thread_check_udp "$group" "$CASE_DIR/rig.stats" || return 1
	else
		thread_check_tcp "$group" "$CASE_DIR/rig.stats" "$mode" || return 1
	fi
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE"
}

# One acceptor row per thread: its tid, the rig's pid, the listener, accepted and eagain exact;
# for reuseport-threads each thread's own socket's counts too.
thread_check_tcp() { # group stats mode
	local group=$1 stats=$2 mode=$3 line tid n row
	jq -e '.accepted == 400 and .enqueued == 400' <<<"$group" >/dev/null ||
		fail_because "group accepted $(jq .accepted <<<"$group"), enqueued $(jq .enqueued <<<"$group"), want 400" || return 1
	[ "$(jq '.acceptors | length' <<<"$group")" = 4 ] ||
		fail_because "want 4 acceptor rows, one per thread: $(jq -c .acceptors <<<"$group")" || return 1
	while IFS= read -r line; do
		tid=$(jq .tid <<<"$line"); n=$(jq .accepted <<<"$line")
		row=$(jq -c --argjson t "$tid" '[.acceptors[] | select(.tid == $t)]' <<<"$group")
		[ "$(jq length <<<"$row")" = 1 ] || fail_because "thread $tid: rows $row" || return 1
		row=$(jq -c '.[0]' <<<"$row")
		jq -e --argjson l "$line" '.pid == $l.pid and .inode == $l.inode and
			.accepted == $l.accepted and .eagain == $l.eagain and .comm == "rig_server"' \
			<<<"$row" >/dev/null || fail_because "thread $tid: rig $line, reusetop $row" || return 1
		[ "$mode" = reuseport-threads ] || continue
		jq -e --argjson l "$line" '.sockets[] | select(.inode == $l.inode) |
			.accepted == $l.accepted and .enqueued == $l.accepted and .pid == $l.pid and
			.fd == $l.fd' <<<"$group" >/dev/null ||
			fail_because "socket of thread $tid: rig $line, reusetop $(jq -c --argjson i \
				"$(jq .inode <<<"$line")" '.sockets[] | select(.inode == $i)' <<<"$group")" || return 1
	done <"$stats"
	# The contract of "who really serves" (not yet in every reusetop): the acceptor names the
	# process's fd for its listener, is live, and is one task.
	while IFS= read -r line; do
		tid=$(jq .tid <<<"$line")
		jq -e --argjson l "$line" '.acceptors[] | select(.tid == $l.tid) |
			.fd == $l.fd and .exited == false and .tasks == 1' <<<"$group" >/dev/null ||
			fail_because "contract: thread $tid: rig $line, reusetop $(jq -c --argjson t "$tid" \
				'.acceptors[] | select(.tid == $t)' <<<"$group")" || return 1
	done <"$stats"
}

# Per thread's socket: queued and read equal what the thread received; then (contract) one
# receiver row per thread with its tid and count.
thread_check_udp() { # group stats
	local group=$1 stats=$2 line ino sock
	jq -e '.proto == "udp" and .members == 4 and .enqueued == 400 and .received == 400' \
		<<<"$group" >/dev/null || fail_because "group: $(jq -c 'del(.sockets)' <<<"$group")" || return 1
	while IFS= read -r line; do
		ino=$(jq .inode <<<"$line")
		sock=$(jq -c --argjson i "$ino" '.sockets[] | select(.inode == $i)' <<<"$group")
		jq -e --argjson l "$line" '.received == $l.accepted and .enqueued == $l.accepted and
			.pid == $l.pid and .fd == $l.fd and .drops == 0' <<<"$sock" >/dev/null ||
			fail_because "thread $(jq .tid <<<"$line"): rig $line, socket $sock" || return 1
	done <"$stats"
	jq -e '.receivers | type == "array" and length == 4' <<<"$group" >/dev/null ||
		fail_because "contract: want 4 receivers, one per thread: $(jq -c .receivers <<<"$group")" || return 1
	while IFS= read -r line; do
		jq -e --argjson l "$line" '[.receivers[] | select(.tid == $l.tid)] | length == 1 and
			.[0].pid == $l.pid and .[0].inode == $l.inode and .[0].received == $l.accepted' \
			<<<"$group" >/dev/null ||
			fail_because "contract: thread $(jq .tid <<<"$line"): rig $line, receivers $(jq -c .receivers <<<"$group")" || return 1
	done <"$stats"
}

thread_cases() {
	run_case "threads: reuseport-threads TCP, 4 threads: one acceptor per thread, exact per tid and socket" \
		thread_exact reuseport-threads tcp 127.0.0.1 8901
	run_case "threads: accept-threads, 4 threads on one listener: exact per tid" \
		thread_exact accept-threads tcp 127.0.0.1 8902
	run_case "threads: epoll-threads, 4 epolls on one listener: exact accepted and eagain per tid" \
		thread_exact epoll-threads tcp 127.0.0.1 8903
	run_case "threads: reuseport-threads UDP, 4 threads: per-socket received equals each thread's" \
		thread_exact reuseport-threads udp 127.0.0.1 8904
}
