# SPDX-License-Identifier: GPL-2.0
# Integration cases: reusetop (the sanitized build) against the rig on loopback, asserting exact
# equality with what the rig's own workers counted. Sourced by tests/run.sh after lib.sh.

DELAY=0.2

# Groups of JSON document $1 in the case's network namespace (other runs may use the port).
groups_here() {
	jq -c --argjson ns "$NETNS_INODE" '[.groups[] | select(.netns == $ns)]' <<<"$1"
}

# The group reusetop shows for port $2 in JSON document $1 (exactly one, or fail).
group_of() {
	local n groups
	groups=$(groups_here "$1")
	n=$(jq --argjson p "$2" '[.[] | select(.port == $p)] | length' <<<"$groups")
	[ "$n" = 1 ] || fail_because "want 1 group on port $2, got $n: $1" || return 1
	jq -c --argjson p "$2" '.[] | select(.port == $p)' <<<"$groups"
}

# Per reuseport member: enqueued and accepted equal the worker's own count, attribution right.
check_reuseport_exact() { # group stats total
	local group=$1 stats=$2 total=$3 line ino pid fd n sock
	local sum=0
	[ "$(jq .members <<<"$group")" = "$(wc -l <"$stats")" ] ||
		fail_because "members $(jq .members <<<"$group") != workers $(wc -l <"$stats")" || return 1
	while IFS= read -r line; do
		ino=$(jq .inode <<<"$line"); pid=$(jq .pid <<<"$line")
		fd=$(jq .fd <<<"$line"); n=$(jq .accepted <<<"$line")
		sum=$((sum + n))
		sock=$(jq -c --argjson i "$ino" '.sockets[] | select(.inode == $i)' <<<"$group")
		[ -n "$sock" ] || fail_because "socket $ino of worker $pid missing" || return 1
		[ "$(jq .enqueued <<<"$sock")" = "$n" ] ||
			fail_because "inode $ino enqueued $(jq .enqueued <<<"$sock") != rig $n" || return 1
		[ "$(jq .accepted <<<"$sock")" = "$n" ] ||
			fail_because "inode $ino accepted $(jq .accepted <<<"$sock") != rig $n" || return 1
		[ "$(jq .pid <<<"$sock")" = "$pid" ] && [ "$(jq .fd <<<"$sock")" = "$fd" ] ||
			fail_because "inode $ino attributed to $(jq -c '[.pid,.fd]' <<<"$sock"), want [$pid,$fd]" || return 1
		[ "$(jq -r .comm <<<"$sock")" = rig_server ] || fail_because "comm: $sock" || return 1
		# Its owner: the worker that accepted from it, found by its accepts.
		[ "$n" = 0 ] || jq -e --argjson p "$pid" '.owner == "accepts" and .servers == [$p]' \
			<<<"$sock" >/dev/null || fail_because "owner of $ino: $sock" || return 1
	done <"$stats"
	[ "$sum" = "$total" ] || fail_because "rig accepted $sum of $total connections" || return 1
	[ "$(jq .enqueued <<<"$group")" = "$total" ] && [ "$(jq .accepted <<<"$group")" = "$total" ] ||
		fail_because "group totals $(jq -c '[.enqueued,.accepted]' <<<"$group") != $total"
}

# One shared listener: socket totals exact, and per worker process the accepts reusetop saw.
check_shared_exact() { # group stats total
	local group=$1 stats=$2 total=$3 line pid n seen sock ino
	[ "$(jq .members <<<"$group")" = 1 ] || fail_because "members != 1: $group" || return 1
	sock=$(jq -c '.sockets[0]' <<<"$group")
	ino=$(head -n 1 "$stats" | jq .inode)
	[ "$(jq .inode <<<"$sock")" = "$ino" ] || fail_because "inode $(jq .inode <<<"$sock") != $ino" || return 1
	[ "$(jq .enqueued <<<"$sock")" = "$total" ] && [ "$(jq .accepted <<<"$sock")" = "$total" ] ||
		fail_because "socket $(jq -c '[.enqueued,.accepted]' <<<"$sock") != $total" || return 1
	while IFS= read -r line; do
		pid=$(jq .pid <<<"$line"); n=$(jq .accepted <<<"$line")
		[ "$(jq .worker <<<"$line")" -ge 0 ] || [ "$(jq -r .mode <<<"$line")" = handoff ] || continue
		seen=$(jq --argjson p "$pid" '[.acceptors[] | select(.pid == $p) | .accepted] | add // 0' <<<"$group")
		if [ "$(jq -r .mode <<<"$line")" = handoff ] && [ "$(jq .worker <<<"$line")" -ge 0 ]; then
			# Handoff workers receive over a Unix socket: they never accept from the listener.
			[ "$seen" = 0 ] || fail_because "handoff worker $pid shown accepting $seen" || return 1
			continue
		fi
		[ "$seen" = "$n" ] || fail_because "pid $pid accepted $seen per reusetop, $n per rig" || return 1
		jq -e --argjson p "$pid" --argjson i "$ino" \
			'[.sockets[0].holders[] | select(.pid == $p)] | length == 1' <<<"$group" >/dev/null ||
			fail_because "pid $pid not among holders of $ino: $group" || return 1
		# Each acceptor names the descriptor it accepts through, and is alive.
		[ "$n" = 0 ] || jq -e --argjson p "$pid" --argjson f "$(jq .fd <<<"$line")" \
			'[.acceptors[] | select(.pid == $p)] | all(.fd == $f and .exited == false and
				.tasks == 1)' <<<"$group" >/dev/null ||
			fail_because "acceptor $pid: $(jq -c '.acceptors' <<<"$group")" || return 1
	done <"$stats"
	check_shared_owner "$group" "$stats"
}

# The owner of a shared listener: the master when it alone accepts (handoff); otherwise the
# lowest holder, with every worker that accepted among its servers.
check_shared_owner() { # group stats
	local sock servers master
	sock=$(jq -c '.sockets[0]' <<<"$1")
	servers=$(jq -s -c '[.[] | select(.accepted > 0 and (.mode != "handoff" or .worker < 0)) |
		.pid] | sort' "$2")
	master=$(jq -s '[.[] | select(.worker < 0) | .pid][0] // null' "$2")
	if [ "$(jq length <<<"$servers")" = 1 ]; then
		jq -e --argjson s "$servers" '.owner == "accepts" and .servers == $s and
			.pid == $s[0]' <<<"$sock" >/dev/null || fail_because "owner: $sock, servers $servers"
	else
		jq -e --argjson s "$servers" '.owner == "holder" and .servers == $s and
			.pid == .holders[0].pid' <<<"$sock" >/dev/null ||
			fail_because "owner: $sock, servers $servers (master $master)"
	fi
}

# Run MODE with N workers on ADDR:PORT, TOTAL connections, and compare; extra args to reusetop.
exact_case() { # mode workers addr port total [check]
	local mode=$1 workers=$2 addr=$3 port=$4 total=$5 json group
	make_netns || return 1
	start_rig rig --mode "$mode" --workers "$workers" --addr "$addr" --port "$port" || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	run_client --addr "$addr" --port "$port" --count "$total" --concurrency 8 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	stop_rig rig || return 1
	group=$(group_of "$json" "$port") || return 1
	[ "$(jq -r .addr <<<"$group")" = "$addr" ] || fail_because "addr: $group" || return 1
	[ "$(jq -r .attach <<<"$json")" = "$EXPECT_TIER" ] ||
		fail_because "attach $(jq -r .attach <<<"$json") != $EXPECT_TIER" || return 1
	if [ "$mode" = reuseport ]; then
		check_reuseport_exact "$group" "$CASE_DIR/rig.stats" "$total"
	else
		check_shared_exact "$group" "$CASE_DIR/rig.stats" "$total"
	fi
}

case_same_port_two_netns() {
	local json ns1 port=8301
	make_netns || return 1
	ns1=$NETNS_INODE
	start_rig a --mode reuseport --workers 2 --port $port || return 1
	make_netns || return 1
	start_rig b --mode reuseport --workers 3 --port $port || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --port $port --count 300 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	jq -e --argjson a "$ns1" --argjson b "$NETNS_INODE" '
		([.groups[] | select(.netns == $a)][0] | .members == 2 and .enqueued == 0) and
		([.groups[] | select(.netns == $b)][0] | .members == 3 and .enqueued == 300)' \
		<<<"$json" >/dev/null || fail_because "groups per netns wrong: $json"
}

case_two_addresses_two_groups() {
	local json port=8302
	make_netns || return 1
	start_rig a --mode reuseport --workers 2 --addr 127.0.0.1 --port $port || return 1
	start_rig b --mode reuseport --workers 2 --addr 127.0.0.2 --port $port || return 1
	start_rig c --mode reuseport --workers 2 --addr ::1 --port $port || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --addr 127.0.0.2 --port $port --count 100 || return 1
	json=$(groups_here "$(settle_json "$DELAY")")
	stop_reusetop || return 1
	[ "$(jq 'length' <<<"$json")" = 3 ] || fail_because "want 3 groups: $json" || return 1
	jq -e '[.[] | select(.addr == "127.0.0.2")][0] | .enqueued == 100 and .members == 2' \
		<<<"$json" >/dev/null || fail_because "127.0.0.2 group: $json" || return 1
	jq -e '[.[] | select(.addr == "127.0.0.1")][0] | .enqueued == 0 and .members == 2' \
		<<<"$json" >/dev/null || fail_because "127.0.0.1 group: $json" || return 1
	jq -e '[.[] | select(.addr == "::1")][0] | .family == "inet6" and .enqueued == 0' \
		<<<"$json" >/dev/null || fail_because "::1 group: $json"
}

# The kernel keeps sockets that differ in IPV6_V6ONLY or in the bound device in separate
# reuseport groups: so must reusetop, each group exact against its own rig.
case_groups_kernel_keys() {
	local json port6=8309 port4=8310 g sum key out
	make_netns || return 1
	start_rig dual --mode reuseport --workers 2 --addr :: --dual-stack --port $port6 || return 1
	start_rig only --mode reuseport --workers 2 --addr :: --port $port6 || return 1
	start_rig dev --mode reuseport --workers 2 --device lo --port $port4 || return 1
	start_rig any --mode reuseport --workers 2 --port $port4 || return 1
	start_reusetop -d "$DELAY" -P $port6,$port4 || return 1
	run_client --addr ::1 --port $port6 --count 100 || return 1
	run_client --addr 127.0.0.1 --port $port6 --count 60 || return 1
	run_client --addr 127.0.0.1 --port $port4 --count 80 || return 1
	json=$(groups_here "$(settle_json "$DELAY")")
	# steer cannot take two groups for one: it says why, and changes nothing.
	out=$("$REUSETOP" steer --netns "$NETNS_INODE" --port $port6 --policy roundrobin 2>&1)
	[ $? = 2 ] && grep -q "several reuseport groups, IPV6_V6ONLY set on some" <<<"$out" ||
		fail_because "steer on two groups: $out" || return 1
	out=$("$REUSETOP" steer --netns "$NETNS_INODE" --port $port4 --policy roundrobin 2>&1)
	[ $? = 2 ] && grep -q "bound to different devices (none and lo)\|(lo and none)" <<<"$out" ||
		fail_because "steer on two groups: $out" || return 1
	for r in dual only dev any; do stop_rig $r || return 1; done
	stop_reusetop || return 1
	[ "$(jq length <<<"$json")" = 4 ] || fail_because "want 4 groups: $json" || return 1
	for key in 'dual .port == '$port6' and .v6only == false' 'only .port == '$port6' and .v6only == true' \
		'dev .port == '$port4' and .bound_dev == "lo"' 'any .port == '$port4' and .bound_dev == null'; do
		g=$(jq -c ".[] | select(${key#* })" <<<"$json")
		[ "$(jq -s length <<<"$g")" = 1 ] || fail_because "no one group with ${key#* }: $json" || return 1
		sum=$(jq -s 'map(.accepted) | add' "$CASE_DIR/${key%% *}.stats")
		check_reuseport_exact "$g" "$CASE_DIR/${key%% *}.stats" "$sum" || return 1
	done
	# Which group the kernel picks depends on its hash chains; all of them are counted. IPv4
	# clients can only reach the dual-stack group.
	[ "$(cat "$CASE_DIR/dual.stats" "$CASE_DIR/only.stats" | jq -s 'map(.accepted) | add')" = 160 ] &&
		[ "$(jq -s 'map(.accepted) | add' "$CASE_DIR/dual.stats")" -ge 60 ] &&
		[ "$(cat "$CASE_DIR/dev.stats" "$CASE_DIR/any.stats" | jq -s 'map(.accepted) | add')" = 80 ] ||
		fail_because "rig counts: $(cat "$CASE_DIR"/*.stats | jq -c -s 'map({pid, accepted})')"
}

# A process that enters a new netns and binds a little later: its listener is listed within an
# interval or two, not after the next full scan (5 s).
case_new_netns_late_bind() {
	local port=8311 t0 t1 found=""
	start_reusetop -d 0.25 -P $port || return 1
	make_netns || return 1
	ns_exec
	"${NS_EXEC[@]}" sh -c "sleep 1.5; exec $RIG_SERVER --mode reuseport --workers 2 --port $port \
		--stats $CASE_DIR/a.stats --ready $CASE_DIR/a.ready" >"$CASE_DIR/a.out" 2>&1 &
	PIDS_TO_STOP+=("$!")
	wait_for_file "$CASE_DIR/a.ready" 10 || return 1
	t0=$(date +%s.%N)
	for _ in $(seq 60); do
		[ "$(groups_here "$(last_json "$CASE_DIR/rt.json")" | jq length)" = 1 ] && found=1 && break
		sleep 0.05
	done
	t1=$(date +%s.%N)
	[ -n "$found" ] || fail_because "not listed 3 s after the bind" || return 1
	awk -v a="$t0" -v b="$t1" 'BEGIN { exit !(b - a < 1.0) }' ||
		fail_because "listed $(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }') s after the bind" || return 1
	stop_reusetop
}

# A group that lives a few milliseconds, as the kernel's reuseport selftests make them: shown
# with exact final counts, closed, for the retention; then gone, with nothing counted lost.
case_shortlived_group() {
	local port=8312 json group line truth n
	make_netns || return 1
	start_reusetop -d 0.2 -P $port --retain-exited 2 || return 1
	ns_exec
	truth=$("${NS_EXEC[@]}" "$BUILD/tests/shortlived" $port 3 60) ||
		fail_because "shortlived failed: $truth" || return 1
	echo "the group: $truth"
	sleep 1.5
	json=$(last_json "$CASE_DIR/rt.json")
	group=$(group_of "$json" $port) || return 1
	jq -e '.members == 3 and .enqueued == 60 and .accepted == 60 and all(.sockets[]; .closed)' \
		<<<"$group" >/dev/null || fail_because "group: $group" || return 1
	while IFS= read -r line; do
		n=$(jq -e --argjson l "$line" '.sockets[] | select(.inode == $l.inode) |
			select(.enqueued == $l.accepted and .accepted == $l.accepted) | .inode' \
			<<<"$group") || fail_because "socket $line: $(jq -c '.sockets' <<<"$group")" || return 1
	done <<<"$truth"
	sleep 2.5
	json=$(last_json "$CASE_DIR/rt.json")
	[ "$(groups_here "$json" | jq length)" = 0 ] &&
		jq -e '.lost.socket_unknown == 0' <<<"$json" >/dev/null ||
		fail_because "after the retention: $json" || return 1
	stop_reusetop
}

# More listeners, and more (listener, task) pairs, than BPF's direct-mapped fronts have slots
# (RT_FRONT_SLOTS, bpf/front.bpf.h): some counted in the fronts, the others in the hash maps
# behind them; every one exact. Each listener has its own thread, blocked in accept before its
# one connection comes, so that the wakeups' front overflows too.
case_more_listeners_than_front_slots() {
	local base=12000 n=1300 json
	make_netns || return 1
	start_reusetop -d 0.2 || return 1
	ns_exec
	"${NS_EXEC[@]}" python3 - $base $n >"$CASE_DIR/listeners.out" 2>&1 <<'PY' &
import platform, socket, sys, threading, time
base, n = int(sys.argv[1]), int(sys.argv[2])
ACCEPT_NRS = {"x86_64": ("43", "288"), "aarch64": ("202", "242")}[platform.machine()]
threading.stack_size(256 * 1024)
listeners, tids = [], [None] * n
for i in range(n):
    s = socket.socket()
    s.bind(("127.0.0.1", base + i))
    s.listen(8)
    listeners.append(s)
def serve(i):
    tids[i] = threading.get_native_id()
    a, _ = listeners[i].accept()
    a.close()
def in_accept(tid):  # blocked in accept or accept4
    with open("/proc/self/task/%d/syscall" % tid) as f:
        return f.read().split()[0] in ACCEPT_NRS
threads = [threading.Thread(target=serve, args=(i,)) for i in range(n)]
for t in threads:
    t.start()
for i, t in enumerate(threads):
    while tids[i] is None or not in_accept(tids[i]):
        time.sleep(0.0005)
    c = socket.create_connection(("127.0.0.1", base + i))
    t.join()
    c.close()
print("done", flush=True)
time.sleep(120)
PY
	PIDS_TO_STOP+=($!)
	for _ in $(seq 900); do grep -q '^done' "$CASE_DIR/listeners.out" && break; sleep 0.1; done
	grep -q '^done' "$CASE_DIR/listeners.out" ||
		fail_because "listeners: $(cat "$CASE_DIR/listeners.out")" || return 1
	sleep 1
	json=$(last_json "$CASE_DIR/rt.json")
	groups_here "$json" | jq -e --argjson b $base --argjson n $n '
		[.[] | select(.port >= $b and .port < $b + $n)] as $g
		| ($g | length) == $n and
		  all($g[]; .enqueued == 1 and .accepted == 1 and .wakeups == 1 and
			    (.acceptors | length) == 1 and .acceptors[0].accepted == 1 and
			    .acceptors[0].wakeups == 1)' >/dev/null ||
		fail_because "not $n groups each with 1 enqueued, accepted and woken by one task: $(
			groups_here "$json" | jq -c '[.[] | select(.enqueued != 1 or .accepted != 1 or
				.wakeups != 1) | {port, enqueued, accepted, wakeups}] | .[:5]')" || return 1
	stop_reusetop
}

# Two groups on one port, one after the other (the kernel gives the second the first's
# reuseport_id once that is free): two closed groups, each with its own exact counts.
case_successive_groups() {
	local port=8313 json groups t1 t2
	make_netns || return 1
	start_reusetop -d 0.2 -P $port || return 1
	ns_exec
	t1=$("${NS_EXEC[@]}" "$BUILD/tests/shortlived" $port 3 30) || fail_because "$t1" || return 1
	sleep 0.3
	t2=$("${NS_EXEC[@]}" "$BUILD/tests/shortlived" $port 2 20) || fail_because "$t2" || return 1
	sleep 1.5
	json=$(last_json "$CASE_DIR/rt.json")
	stop_reusetop || return 1
	groups=$(groups_here "$json" | jq -c --argjson p $port '[.[] | select(.port == $p)]')
	jq -e --argjson a "$(jq -s -c 'map({inode, n: .accepted}) | sort_by(.inode)' <<<"$t1")" \
		--argjson b "$(jq -s -c 'map({inode, n: .accepted}) | sort_by(.inode)' <<<"$t2")" '
		length == 2 and all(.[]; .closed) and
		([.[] | [.sockets[] | {inode, n: .accepted}] | sort_by(.inode)] | sort) ==
			([$a, $b] | sort) and
		all(.[].sockets[]; .enqueued == .accepted)' <<<"$groups" >/dev/null ||
		fail_because "groups $(jq -c '[.[] | [.sockets[] | [.inode, .enqueued, .accepted]]]' \
			<<<"$groups"), want $t1 then $t2"
}

case_pid_filter() {
	local json pid port=8303
	make_netns || return 1
	start_rig a --mode reuseport --workers 2 --port $port || return 1
	start_rig b --mode accept --workers 2 --port $((port + 1)) || return 1
	# The master of rig b holds the shared listener.
	start_reusetop -d "$DELAY" -p "$RIG_b" || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	[ "$(jq -c '[.groups[].port] | unique' <<<"$json")" = "[$((port + 1))]" ] ||
		fail_because "pid filter shows: $(jq -c '[.groups[].port]' <<<"$json")"
}

case_stale_sockets_leave() {
	local port=8305
	make_netns || return 1
	start_rig a --mode reuseport --workers 2 --port $port || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	sleep 0.5
	[ "$(groups_here "$(last_json "$CASE_DIR/rt.json")" | jq length)" = 1 ] ||
		fail_because "group not shown while the server runs" || return 1
	stop_rig a || return 1
	sleep 1
	[ "$(groups_here "$(last_json "$CASE_DIR/rt.json")" | jq length)" = 0 ] ||
		fail_because "group still shown after the server exited" || return 1
	stop_reusetop
}

case_batch_and_iterations() {
	local out status port=8306
	make_netns || return 1
	start_rig a --mode reuseport --workers 2 --port $port || return 1
	out=$("$REUSETOP" -b -d 0.1 -n 3 -P $port 2>&1)
	status=$?
	[ $status -eq 0 ] || fail_because "exit $status: $out" || return 1
	[ "$(grep -c '^reusetop ' <<<"$out")" = 3 ] || fail_because "want 3 intervals: $out" || return 1
	grep -q "^TCP 127.0.0.1:$port .*members 2" <<<"$out" || fail_because "no group line: $out" || return 1
	grep -q "attach $EXPECT_TIER" <<<"$out" || fail_because "tier not shown: $out"
}

# -b: the acceptors under a shared listener, each with the socket (inode, fd) it accepts from.
case_batch_acceptors() {
	local port=8308 line pid fd ino n row
	make_netns || return 1
	start_rig a --mode epoll --workers 3 --port $port || return 1
	"$REUSETOP" -b -d "$DELAY" -P $port >"$CASE_DIR/rt.txt" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	wait_for_file "$CASE_DIR/rt.txt" 20 || return 1
	run_client --port $port --count 60 || return 1
	sleep "$(awk -v d="$DELAY" 'BEGIN { print d * 3 }')"
	kill -INT "$RT_PID"
	wait "$RT_PID" || fail_because "reusetop -b exited $?: $(cat "$CASE_DIR/rt.err")" || return 1
	stop_rig a || return 1
	# The last interval's block.
	awk '/^reusetop / { block = "" } { block = block $0 "\n" } END { printf "%s", block }' \
		"$CASE_DIR/rt.txt" >"$CASE_DIR/last.txt"
	grep -q '^  acceptors: *PID *TID *COMM *INODE *FD *ACCEPTED' "$CASE_DIR/last.txt" ||
		fail_because "no acceptors header: $(cat "$CASE_DIR/last.txt")" || return 1
	while IFS= read -r line; do
		pid=$(jq .pid <<<"$line"); fd=$(jq .fd <<<"$line"); ino=$(jq .inode <<<"$line")
		n=$(jq .accepted <<<"$line")
		[ "$(jq .worker <<<"$line")" -ge 0 ] && [ "$n" -gt 0 ] || continue
		# PID TID COMM INODE FD ACCEPTED ... STATE CONTAINER
		row=$(awk -v p="$pid" '$1 == p && $2 == p' "$CASE_DIR/last.txt")
		[ -n "$row" ] && awk -v i="$ino" -v f="$fd" -v n="$n" \
			'{ exit !($4 == i && $5 == f && $6 == n && $(NF - 1) == "live") }' <<<"$row" ||
			fail_because "worker $pid (inode $ino fd $fd accepted $n): row '$row'" || return 1
	done <"$CASE_DIR/a.stats"
}

case_json_contract() {
	local json port=8307
	make_netns || return 1
	start_rig a --mode reuseport --workers 2 --port $port || return 1
	start_reusetop -d "$DELAY" -P $port || return 1
	run_client --port $port --count 10 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	json=$(jq -c --argjson ns "$NETNS_INODE" '.groups |= map(select(.netns == $ns))' <<<"$json")
	jq -e '(.time | test("^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9:.]+Z$")) and (.interval_s > 0)
		and (.attach | type == "string") and (.groups | type == "array")
		and (.groups[0] | has("proto") and has("family") and has("addr") and has("port")
			and has("netns") and has("sockets") and has("imbalance") and has("members"))
		and (.groups[0].imbalance | has("max_share") and has("jain"))
		and (.groups[0].sockets[0] | has("inode") and has("pid") and has("comm") and has("fd")
			and has("enqueued") and has("accepted") and has("enqueued_per_s")
			and has("accepted_per_s") and has("share"))
		and ([.groups[0].sockets[].share] | add > 0.999 and add < 1.001)' <<<"$json" >/dev/null ||
		fail_because "contract broken: $json" || return 1
	# Every line is one complete JSON document.
	jq -e . "$CASE_DIR/rt.json" >/dev/null || fail_because "invalid JSON lines"
}

case_forced_tiers() {
	local tier out status
	for tier in fentry kprobe tracepoint; do
		out=$("$REUSETOP" -j -n 1 -d 0.1 --attach $tier 2>&1)
		status=$?
		if [ $tier = "$EXPECT_TIER" ] || { [ "$EXPECT_TIER" = fentry ] && [ $tier != fentry ]; }; then
			[ $status -eq 0 ] || fail_because "--attach $tier exit $status: $out" || return 1
			[ "$(jq -r .attach <<<"$out")" = $tier ] || fail_because "attach: $out" || return 1
		elif [ $tier = fentry ] || { [ $tier = kprobe ] && [ "$EXPECT_TIER" = tracepoint ]; }; then
			[ $status -eq 2 ] || fail_because "--attach $tier exit $status, want 2: $out" || return 1
			[ "$(wc -l <<<"$out")" = 1 ] && grep -q "^reusetop: cannot use the $tier tier: " <<<"$out" ||
				fail_because "--attach $tier message: $out" || return 1
		fi
	done
	for tier in fentry kprobe tracepoint; do
		! programs_left_by "$REUSETOP" -j -n 1 -d 0.1 --attach $tier ||
			fail_because "programs left loaded after --attach $tier" || return 1
	done
}

case_bad_input() {
	local args out status
	while IFS= read -r args; do
		# shellcheck disable=SC2086
		out=$("$REUSETOP" $args 2>&1 </dev/null)
		status=$?
		[ $status -eq 2 ] || fail_because "'$args': exit $status, want 2: $out" || return 1
		[ "$(wc -l <<<"$out")" = 1 ] && grep -q '^reusetop: ' <<<"$out" ||
			fail_because "'$args': not a one-line error: $out" || return 1
	done <<'ARGS'
--bogus
-d abc
-d -1
-d 0
-n 0
-P 70000
-P 80,80
-p abc
-p 4194303
--attach nope
-d 1 -d 2
-b -j
stray
ARGS
	! programs_left_by "$REUSETOP" -d 1 -d 2 || fail_because "programs left loaded"
}

case_not_root() {
	local out status
	out=$(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all --bounding-set=-all \
		"$(realpath "$REUSETOP")" -j -n 1 2>&1)
	status=$?
	[ $status -eq 2 ] || fail_because "exit $status, want 2: $out" || return 1
	grep -q '^reusetop: needs root (missing CAP_BPF, CAP_PERFMON)$' <<<"$out" ||
		fail_because "message: $out"
}

case_nothing_left_after_kill() {
	local sig ours id
	for sig in INT TERM HUP KILL; do
		start_reusetop -d 0.1 || return 1
		# Exactly this process's programs: the prog_id of its BPF fds.
		ours=$(grep -h '^prog_id:' /proc/"$RT_PID"/fdinfo/* 2>/dev/null | awk '{ print $2 }' | sort -u)
		[ -n "$ours" ] || fail_because "no programs seen while running" || return 1
		kill -$sig "$RT_PID"
		wait "$RT_PID" 2>/dev/null
		sleep 0.3 # programs are freed after their last reference, deferred by RCU
		for id in $ours; do
			! bpftool prog show id "$id" >/dev/null 2>&1 ||
				fail_because "program $id still loaded after SIG$sig" || return 1
		done
	done
}

case_help_version() {
	"$REUSETOP" --help | grep -q -- '--attach TIER' || fail_because "help" || return 1
	"$REUSETOP" --version | grep -q '^reusetop [0-9]' || fail_because "version"
}

# discovery_refresh() against real sockets (tests/refresh_check.c, its own PASS/FAIL lines): the
# filtered dump must be what the kernel runs, since a rejected filter only falls back silently.
case_discovery_refresh() {
	local out status
	make_netns || return 1
	ns_exec
	out=$("${NS_EXEC[@]}" "$BUILD/tests/refresh_check" 2>&1)
	status=$?
	echo "$out"
	[ $status -eq 0 ] || fail_because "refresh_check exited $status"
}

integration_cases() {
	run_case "TCP IPv4 reuseport, 4 workers, 2000 connections: exact per-socket counts" \
		exact_case reuseport 4 127.0.0.1 8201 2000
	run_case "TCP IPv6 reuseport, 4 workers, 1000 connections: exact per-socket counts" \
		exact_case reuseport 4 ::1 8202 1000
	run_case "TCP shared listener, blocking accept, 4 workers: exact per-worker accepts" \
		exact_case accept 4 127.0.0.1 8203 1000
	run_case "TCP shared listener, epoll, 4 workers: exact per-worker accepts" \
		exact_case epoll 4 127.0.0.1 8204 1000
	run_case "TCP shared listener, EPOLLEXCLUSIVE, 4 workers: exact per-worker accepts" \
		exact_case epoll-exclusive 4 127.0.0.1 8205 1000
	run_case "TCP master accepts and hands off over SCM_RIGHTS: the master is the acceptor" \
		exact_case handoff 4 127.0.0.1 8206 500
	run_case "grouping: the same port in two network namespaces is two groups" \
		case_same_port_two_netns
	run_case "grouping: 127.0.0.1, 127.0.0.2 and ::1 on one port are three groups" \
		case_two_addresses_two_groups
	run_case "grouping: IPV6_V6ONLY and a bound device make separate groups, each exact" \
		case_groups_kernel_keys
	run_case "filter: -p shows only groups the process takes part in" case_pid_filter
	run_case "sockets of an exited server leave the view" case_stale_sockets_leave
	run_case "a group that lived 3 ms: exact final counts, closed, then gone after the retention" \
		case_shortlived_group
	run_case "two groups on one port one after the other: two closed groups, each exact" \
		case_successive_groups
	run_case "more listeners and acceptors than the BPF maps' fronts have slots: each exact" \
		case_more_listeners_than_front_slots
	run_case "a listener bound just after its process entered a new netns is listed at once" \
		case_new_netns_late_bind
	run_case "batch output with -n stops after N intervals" case_batch_and_iterations
	run_case "batch output: each acceptor with the socket (inode, fd) it accepts from" \
		case_batch_acceptors
	run_case "JSON contract fields and one document per line" case_json_contract
	run_case "forced tiers: usable ones attach, others exit 2 with one line" case_forced_tiers
	run_case "bad input: one-line error, exit 2, nothing attached" case_bad_input
	run_case "no privileges: names the missing capabilities, exit 2" case_not_root
	run_case "nothing stays attached after SIGINT, SIGTERM, SIGHUP or SIGKILL" case_nothing_left_after_kill
	run_case "help and version" case_help_version
	run_case "discovery refresh: filtered dump between full scans, exact (refresh_check)" \
		case_discovery_refresh
}
