# SPDX-License-Identifier: GPL-2.0
# Reliability: two reusetop instances at once, restarts of the watched server, valgrind on the
# long-running loop. Sourced by tests/run.sh.

# Two instances count the same connections independently, each exactly.
case_two_instances() {
	local port=8701 json1 json2 pid1 group
	make_netns || return 1
	start_rig rig --mode reuseport --workers 2 --port $port || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	pid1=$RT_PID
	mv "$CASE_DIR/rt.json" "$CASE_DIR/rt1.json"
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --port $port --count 500 || return 1
	sleep 1
	json1=$(last_json "$CASE_DIR/rt1.json")
	json2=$(last_json "$CASE_DIR/rt.json")
	stop_reusetop || return 1
	RT_PID=$pid1
	stop_reusetop || return 1
	stop_rig rig || return 1
	for json in "$json1" "$json2"; do
		group=$(group_of "$json" $port) || return 1
		check_reuseport_exact "$group" "$CASE_DIR/rig.stats" 500 || return 1
	done
}

# The server's workers exit and a new server starts on the same port while observed: the old
# sockets leave, the new ones appear with their own exact counts.
case_server_restart() {
	local port=8702 json group
	make_netns || return 1
	start_rig old --mode reuseport --workers 2 --port $port || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --port $port --count 100 || return 1
	stop_rig old || return 1
	start_rig new --mode reuseport --workers 3 --port $port || return 1
	run_client --port $port --count 300 || return 1
	json=$(settle_json "$DELAY")
	stop_rig new || return 1
	stop_reusetop || return 1
	# The live group is the new sockets only; the old ones are a closed group beside it, with
	# their final counts (for the retention).
	group=$(groups_here "$json" | jq -c --argjson p $port '.[] | select(.port == $p and .closed == false)')
	check_reuseport_exact "$group" "$CASE_DIR/new.stats" 300 || return 1
	group=$(groups_here "$json" | jq -c --argjson p $port '.[] | select(.port == $p and .closed)')
	[ -n "$group" ] && jq -e 'all(.sockets[]; .closed)' <<<"$group" >/dev/null ||
		fail_because "no closed group of the old sockets: $json" || return 1
	check_closed_exact "$group" "$CASE_DIR/old.stats" 100
}

# A closed group: its sockets are the rig's (by inode), with their final counts, no holder.
check_closed_exact() { # group stats total
	local line ino n
	[ "$(jq .members <<<"$1")" = "$(wc -l <"$2")" ] && [ "$(jq .accepted <<<"$1")" = "$3" ] ||
		fail_because "closed group: $(jq -c 'del(.sockets, .acceptors)' <<<"$1")" || return 1
	while IFS= read -r line; do
		ino=$(jq .inode <<<"$line"); n=$(jq .accepted <<<"$line")
		jq -e --argjson i "$ino" --argjson n "$n" '.sockets[] | select(.inode == $i) |
			.enqueued == $n and .accepted == $n and .holders == []' <<<"$1" >/dev/null ||
			fail_because "old socket $ino (rig $n): $(jq -c '.sockets' <<<"$1")" || return 1
	done <"$2"
}

# The long-running loop under valgrind (the unsanitized build): no errors, no leaks.
case_valgrind() {
	local port=8703 out
	make_netns || return 1
	start_rig rig --mode epoll --workers 2 --port $port || return 1
	( sleep 2; ip netns exec "$NETNS" "$RIG_CLIENT" --port $port --count 200 >/dev/null 2>&1 ) &
	out=$(valgrind --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite,indirect \
		--suppressions=tests/valgrind.supp \
		./reusetop -j -d 0.5 -n 10 -P $port 2>&1 >/dev/null)
	[ $? -eq 0 ] || fail_because "valgrind: $(grep -E '==[0-9]+== (ERROR SUMMARY|.*(lost|Invalid|uninitialised))' <<<"$out" | head -n 5)" || return 1
	grep -q 'ERROR SUMMARY: 0 errors' <<<"$out" || fail_because "valgrind: $(tail -n 3 <<<"$out")"
}

# reusetop steer --follow killed with SIGKILL: the group keeps the last policy (round-robin,
# exactly 100 each), and the next steer --show finds it and --detach removes it.
case_steer_killed() {
	local follow w n json
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	read -r -a W <<<"$(st_workers rig)"
	"$REUSETOP" steer --netns "$NETNS_INODE" --port $ST_PORT --policy roundrobin --follow \
		--interval 0.1 >"$CASE_DIR/follow.out" 2>&1 &
	follow=$!
	PIDS_TO_STOP+=($follow)
	sleep 1
	kill -KILL $follow
	wait $follow 2>/dev/null
	st_client tcp 127.0.0.1 400 "${ST_PIN[@]}" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	jq -e '.policy == "roundrobin"' <<<"$json" >/dev/null || fail_because "show: $json" || return 1
	st_ok --port $ST_PORT --detach || return 1
	st_nothing_attached --port $ST_PORT || return 1
	stop_rig rig || return 1
	for w in 0 1 2 3; do
		n=$(st_accepted "$CASE_DIR/rig.stats" "${W[$w]}")
		[ "$n" = 100 ] || fail_because "worker $w got $n after the kill, want 100" || return 1
	done
}

# tracefs not mounted: reusetop mounts it and attaches (it needs the tracepoint ids there).
case_tracefs_unmounted() {
	local out
	umount /sys/kernel/tracing 2>/dev/null
	umount /sys/kernel/debug/tracing 2>/dev/null
	! mountpoint -q /sys/kernel/tracing || fail_because "could not unmount tracefs" || return 1
	out=$("$REUSETOP" -j -n 1 -d 0.1 -P 1 2>&1) || fail_because "reusetop: $out" || return 1
	mountpoint -q /sys/kernel/tracing || fail_because "tracefs not mounted again" || return 1
	jq -e '.attach | type == "string"' <<<"$out" >/dev/null || fail_because "output: $out"
}

# bpffs not mounted: steer mounts it (in a mount namespace of the case's own, so the host's
# pins are not touched), attaches, and detaches.
case_bpffs_unmounted() {
	local out
	st_begin || return 1
	start_rig rig --mode reuseport --workers 2 --port $ST_PORT || return 1
	out=$(unshare -m --propagation private bash -c '
		umount /sys/fs/bpf 2>/dev/null
		! mountpoint -q /sys/fs/bpf || { echo "bpffs still mounted"; exit 9; }
		"$0" steer --netns "$1" --port "$2" --policy roundrobin || exit 1
		mountpoint -q /sys/fs/bpf || { echo "bpffs not mounted by steer"; exit 8; }
		"$0" steer --netns "$1" --port "$2" --detach' \
		"$(realpath "$REUSETOP")" "$NETNS_INODE" $ST_PORT 2>&1)
	[ $? -eq 0 ] || fail_because "steer without bpffs: $out" || return 1
	st_nothing_attached --port $ST_PORT
}

reliability_cases() {
	run_case "two reusetop instances at once: each counts every connection exactly" \
		case_two_instances
	run_case "server restarted while observed: new sockets exact, the old a closed group, exact" \
		case_server_restart
	run_case "valgrind: the observing loop has no memory errors or leaks" case_valgrind
	run_case "steer --follow killed: the group keeps the policy, show and detach fix it" \
		case_steer_killed
	run_case "tracefs not mounted: reusetop mounts it and attaches" case_tracefs_unmounted
	run_case "bpffs not mounted: steer mounts it, attaches and detaches" case_bpffs_unmounted
}
