# SPDX-License-Identifier: GPL-2.0
# Real servers from Debian's packages (nginx, HAProxy, gunicorn, Node.js, unbound), each in a
# fresh network namespace on loopback, run as root from config files in the case's folder, and
# compared with their own ground truth exactly: access logs with the worker's pid, the servers'
# own per-thread counters and statistics, counts the workers write themselves.
# Which socket a worker or thread serves is read from the kernel (the epoll set it waits on).
# A server that is missing or does not start is a failure, never a skip (`make deps` installs
# them). Sourced by tests/run.sh after lib.sh, integration.sh (group_of, DELAY) and
# steer_cases.sh (st_*).

# ---- helpers (sv_ prefix: run inside a case's subshell) -----------------------------------

# A fresh namespace; whatever still runs in it is killed however the case ends.
sv_begin() {
	make_netns || return 1
	trap 'sv_cleanup; case_cleanup' EXIT
}

sv_cleanup() {
	local ns pids
	for ns in "${NETNS_ALL[@]}"; do
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		[ -n "$pids" ] || continue
		# shellcheck disable=SC2086 # one argument per pid
		kill -CONT $pids 2>/dev/null # a server a case stopped with SIGSTOP
		# shellcheck disable=SC2086
		kill -TERM $pids 2>/dev/null
		for _ in $(seq 30); do
			[ -n "$(ip netns pids "$ns" 2>/dev/null)" ] || break
			sleep 0.1
		done
		pids=$(ip netns pids "$ns" 2>/dev/null | tr '\n' ' ')
		# shellcheck disable=SC2086
		[ -z "$pids" ] || kill -KILL $pids 2>/dev/null
	done
	return 0
}

# sv_need PROGRAM...: each is installed, or the case fails.
sv_need() {
	local p
	for p in "$@"; do
		command -v "$p" >/dev/null || fail_because "$p is not installed (make deps installs it)" || return 1
	done
}

# sv_start NAME COMMAND...: a server in the case's namespace, output in $CASE_DIR/NAME.out, its
# pid in SV_PID (stopped by case_cleanup).
sv_start() {
	local name=$1
	shift
	ns_exec
	"${NS_EXEC[@]}" "$@" >"$CASE_DIR/$name.out" 2>&1 &
	SV_PID=$!
	PIDS_TO_STOP+=("$SV_PID")
}

# "[ADDR]:PORT" for IPv6, "ADDR:PORT" otherwise.
sv_hostport() { # addr port
	case $1 in *:*) echo "[$1]:$2" ;; *) echo "$1:$2" ;; esac
}

# sv_sockets tcp|udp PORT: inodes of the listening (TCP) or bound (UDP) sockets on PORT.
sv_sockets() {
	local flag=-t
	[ "$1" = udp ] && flag=-u
	ip netns exec "$NETNS" ss -Hlne "$flag" "sport = :$2" 2>/dev/null | grep -o 'ino:[0-9]*' | cut -d: -f2 | sort -n
}

# sv_wait_sockets tcp|udp PORT N PID NAME: until N sockets are on PORT; fails (with the
# server's output) when the server PID exits first or after 15 s.
sv_wait_sockets() {
	local proto=$1 port=$2 n=$3 pid=$4 name=$5
	for _ in $(seq 150); do
		[ "$(sv_sockets "$proto" "$port" | wc -l)" = "$n" ] && return 0
		kill -0 "$pid" 2>/dev/null || break
		sleep 0.1
	done
	fail_because "$name did not open $n sockets on port $port: $(tail -n 20 "$CASE_DIR/$name.out")"
}

# sv_epoll_set PID EPFD: "fd inode" for each file in that epoll instance (fdinfo's tfd lines:
# the fd it was added with and the file's inode, in hex).
sv_epoll_set() {
	local fd hex
	awk '$1 == "tfd:" { for (i = 2; i <= NF; i++) if ($i ~ /^ino:/) print $2, substr($i, 5) }' \
		"/proc/$1/fdinfo/$2" 2>/dev/null |
		while read -r fd hex; do echo "$fd $((16#$hex))"; done
}

# sv_task_epoll PID TID: sv_epoll_set of the epoll instance task TID is blocked on (the first
# argument of epoll_wait, epoll_pwait or epoll_pwait2, x86-64 numbers, from /proc's syscall
# file); fails when the task is not blocked in one.
sv_task_epoll() {
	local nr epfd
	read -r nr epfd _ <"/proc/$1/task/$2/syscall" 2>/dev/null || return 1
	case $nr in 232 | 281 | 441) ;; *) return 1 ;; esac
	sv_epoll_set "$1" $((epfd))
}

# sv_polled PID: inodes of every file in any of PID's epoll instances.
sv_polled() {
	local f
	for f in /proc/"$1"/fd/*; do
		[ "$(readlink "$f" 2>/dev/null)" = "anon_inode:[eventpoll]" ] || continue
		sv_epoll_set "$1" "${f##*/}"
	done | awk '{ print $2 }' | sort -n -u
}

# sv_fd_of PID INODE: PID's (lowest) fd for socket INODE.
sv_fd_of() {
	local f
	for f in $(ls /proc/"$1"/fd | sort -n); do
		[ "$(readlink "/proc/$1/fd/$f" 2>/dev/null)" = "socket:[$2]" ] && { echo "$f"; return 0; }
	done
	return 1
}

# sv_log_counts FILE: {"PID": requests} from a log whose lines start with the pid ("<PID>" too).
sv_log_counts() {
	jq -R -s -c 'split("\n") | map(select(length > 0) | split(" ")[0] | gsub("[<>]"; "")) |
		group_by(.) | map({key: .[0], value: length}) | from_entries' "$1"
}

# sv_acceptor_counts GROUP: {"PID": accepted} over the group's acceptor rows of live or exited
# processes (not the aggregate row), those that accepted something.
sv_acceptor_counts() {
	jq -c '[.acceptors[] | select(.pid != null)] | group_by(.pid) |
		map({key: (.[0].pid | tostring), value: (map(.accepted) | add)}) |
		map(select(.value > 0)) | from_entries' <<<"$1"
}

# sv_check_acceptors GROUP COUNTS: per process, reusetop's accepted equal COUNTS ({"PID": n})
# exactly, and no other process accepted.
sv_check_acceptors() {
	local seen
	seen=$(sv_acceptor_counts "$1")
	echo "accepted per pid: reusetop $seen, ground truth $2"
	jq -e --argjson a "$seen" --argjson b "$2" -n '$a == ($b | with_entries(select(.value > 0)))' \
		>/dev/null || fail_because "per-pid accepts: reusetop $seen, ground truth $2"
}

# sv_check_owner GROUP INODE PID OWNER: the contract of "who really serves": socket INODE is
# named for PID (its comm and its fd for the socket), owner OWNER, served by PID alone.
sv_check_owner() {
	local fd
	fd=$(sv_fd_of "$3" "$2") || fail_because "process $3 has no fd for socket $2" || return 1
	jq -e --argjson i "$2" --argjson p "$3" --argjson f "$fd" --arg o "$4" --arg c \
		"$(cat /proc/"$3"/comm)" '.sockets[] | select(.inode == $i) | .pid == $p and
		.fd == $f and .comm == $c and .owner == $o and .servers == [$p]' <<<"$1" >/dev/null ||
		fail_because "contract: socket $2 should be pid $3 fd $fd ($4): $(jq -c --argjson i "$2" \
			'.sockets[] | select(.inode == $i) | {inode, pid, comm, fd, owner, servers,
			holders: [.holders[]?.pid]}' <<<"$1")"
}

# sv_http ADDR PORT COUNT [rig_client args]: exactly COUNT HTTP requests, all answered.
sv_http() {
	local addr=$1 port=$2 count=$3
	shift 3
	run_client --http --addr "$addr" --port "$port" --count "$count" --concurrency 8 "$@"
}

# sv_children PID: its child processes, by pid.
sv_children() {
	pgrep -P "$1" | sort -n | tr '\n' ' '
}

# ---- nginx --------------------------------------------------------------------------------

# sv_nginx LISTEN [EVENTS]: nginx with 4 workers and `listen LISTEN;`, EVENTS more lines of the
# events block; every request logged as "$pid $status" (the worker's pid) to
# $CASE_DIR/nginx/access.log. The master's pid in NGINX_PID.
sv_nginx() {
	local dir=$CASE_DIR/nginx
	sv_need nginx || return 1
	mkdir -p "$dir"
	cat >"$dir/nginx.conf" <<EOF
worker_processes 4;
pid $dir/nginx.pid;
error_log $dir/error.log;
events {
	worker_connections 256;
	${2:-}
}
http {
	log_format pid_status '\$pid \$status';
	access_log $dir/access.log pid_status;
	client_body_temp_path $dir/body;
	proxy_temp_path $dir/proxy;
	fastcgi_temp_path $dir/fastcgi;
	uwsgi_temp_path $dir/uwsgi;
	scgi_temp_path $dir/scgi;
	server {
		listen $1;
		location / {
			return 200 "ok\n";
		}
	}
}
EOF
	sv_start nginx nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -g 'daemon off;'
	NGINX_PID=$SV_PID
}

# nginx -s reload on the case's nginx (the signal goes to the pid in its pid file).
sv_nginx_reload() {
	local dir=$CASE_DIR/nginx
	nginx -p "$dir" -c "$dir/nginx.conf" -e "$dir/error.log" -s reload ||
		fail_because "nginx -s reload failed"
}

# sv_nginx_serving PORT: once each of nginx's 4 workers polls one of the 4 reuseport sockets on
# PORT (the kernel's epoll sets), {"INODE": worker pid}; fails after 15 s.
sv_nginx_serving() {
	local port=$1 socks w ino map
	for _ in $(seq 150); do
		socks=$(sv_sockets tcp "$port")
		map='{}'
		for w in $(sv_children "$NGINX_PID"); do
			for ino in $(comm -12 <(sort <<<"$socks") <(sv_polled "$w" | sort)); do
				map=$(jq -c --arg i "$ino" --argjson w "$w" '.[$i] = (.[$i] // []) + [$w]' <<<"$map")
			done
		done
		if [ "$(wc -w <<<"$socks")" = 4 ] &&
			jq -e 'length == 4 and all(.[]; length == 1) and
				([.[][0]] | unique | length) == 4' <<<"$map" >/dev/null; then
			jq -c 'map_values(.[0])' <<<"$map"
			return 0
		fi
		sleep 0.1
	done
	fail_because "nginx workers never each polled one socket: $map, sockets $socks: $(tail -n 20 "$CASE_DIR/nginx.out" "$CASE_DIR/nginx/error.log")"
}

# sv_nginx_workers N: until the master has N workers; prints them.
sv_nginx_workers() {
	local w
	for _ in $(seq 150); do
		w=$(sv_children "$NGINX_PID")
		[ "$(wc -w <<<"$w")" = "$1" ] && { echo "$w"; return 0; }
		sleep 0.1
	done
	fail_because "nginx has workers '$w', want $1: $(tail -n 20 "$CASE_DIR/nginx.out")"
}

# The access log as {"PID": requests}, every request answered 200.
sv_nginx_log() {
	local log=$CASE_DIR/nginx/access.log
	[ -z "$(awk '$2 != 200' "$log")" ] || fail_because "non-200 requests: $(awk '$2 != 200' "$log" | head)" || return 1
	sv_log_counts "$log"
}

# nginx reuseport, 4 workers: each worker serves its own socket. Per socket, reusetop's accepted
# equals the access log's count of the worker polling it; per worker, its acceptors the same.
sv_nginx_reuseport() { # addr port
	local addr=$1 port=$2 json group serving log ino w n
	sv_begin || return 1
	sv_nginx "$(sv_hostport "$addr" "$port") reuseport" || return 1
	serving=$(sv_nginx_serving "$port") || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	sv_http "$addr" "$port" 400 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	group=$(group_of "$json" "$port") || return 1
	log=$(sv_nginx_log) || return 1
	echo "master $NGINX_PID, serving $serving, log $log"
	echo "sockets: $(jq -c '[.sockets[] | {inode, pid, fd, accepted, owner, servers}]' <<<"$group")"
	[ "$(jq 'add' <<<"$log")" = 400 ] || fail_because "the log has $(jq add <<<"$log") requests" || return 1
	jq -e '.accepted == 400 and .members == 4' <<<"$group" >/dev/null ||
		fail_because "group: $(jq -c '{accepted, members}' <<<"$group")" || return 1
	for ino in $(jq -r 'keys[]' <<<"$serving"); do
		w=$(jq --arg i "$ino" '.[$i]' <<<"$serving")
		n=$(jq --arg w "$w" '.[$w] // 0' <<<"$log")
		jq -e --argjson i "$ino" --argjson n "$n" '.sockets[] | select(.inode == $i) |
			.accepted == $n' <<<"$group" >/dev/null ||
			fail_because "socket $ino (worker $w): reusetop accepted $(jq --argjson i "$ino" \
				'.sockets[] | select(.inode == $i) | .accepted' <<<"$group"), the log $n" || return 1
	done
	sv_check_acceptors "$group" "$log" || return 1
	# The contract of "who really serves": each socket is its worker's, not the master's.
	for ino in $(jq -r 'keys[]' <<<"$serving"); do
		sv_check_owner "$group" "$ino" "$(jq --arg i "$ino" '.[$i]' <<<"$serving")" accepts || return 1
	done
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE"
}

# nginx with one shared listener (no reuseport), accept_mutex on or off: per worker, reusetop's
# accepts equal the log's; the socket is served by all four workers.
sv_nginx_shared() { # on|off port
	local mutex=$1 port=$2 json group log workers
	sv_begin || return 1
	sv_nginx "127.0.0.1:$port" "accept_mutex $mutex;" || return 1
	sv_wait_sockets tcp "$port" 1 "$NGINX_PID" nginx || return 1
	workers=$(sv_nginx_workers 4) || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	sv_http 127.0.0.1 "$port" 400 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	group=$(group_of "$json" "$port") || return 1
	log=$(sv_nginx_log) || return 1
	echo "master $NGINX_PID, workers $workers, log $log"
	[ "$(jq 'add' <<<"$log")" = 400 ] || fail_because "the log has $(jq add <<<"$log") requests" || return 1
	jq -e '.accepted == 400 and .members == 1 and .sockets[0].accepted == 400' <<<"$group" >/dev/null ||
		fail_because "group: $(jq -c '{accepted, members, sockets: [.sockets[] | {inode, accepted}]}' <<<"$group")" || return 1
	sv_check_acceptors "$group" "$log" || return 1
	# Contract: the socket's servers are the workers that accepted from it (not the master).
	jq -e --argjson s "$(jq -c 'keys | map(tonumber) | sort' <<<"$log")" \
		'((.sockets[0].servers // []) | sort) == $s' <<<"$group" >/dev/null ||
		fail_because "contract: servers $(jq -c '.sockets[0].servers' <<<"$group"), want the workers $(jq -c keys <<<"$log")" || return 1
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE"
}

# nginx -s reload between two batches of 200: the old workers exit, and their accepts stay
# counted (listed as exited) while the new workers take the rest.
sv_nginx_reload_case() {
	local port=8943 json group log old new w n
	sv_begin || return 1
	sv_nginx "127.0.0.1:$port reuseport" || return 1
	sv_nginx_serving "$port" >/dev/null || return 1
	old=$(sv_children "$NGINX_PID")
	start_reusetop -d "$DELAY" -P "$port" || return 1
	sv_http 127.0.0.1 "$port" 200 || return 1
	sv_nginx_reload || return 1
	for _ in $(seq 150); do
		n=0
		for w in $old; do kill -0 "$w" 2>/dev/null && n=$((n + 1)); done
		[ $n = 0 ] && break
		sleep 0.1
	done
	[ $n = 0 ] || fail_because "$n old workers still running 15 s after the reload" || return 1
	sv_nginx_serving "$port" >/dev/null || return 1
	new=$(sv_children "$NGINX_PID")
	sv_http 127.0.0.1 "$port" 200 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	group=$(group_of "$json" "$port") || return 1
	log=$(sv_nginx_log) || return 1
	echo "old workers $old, new $new, log $log"
	echo "acceptors: $(jq -c '[.acceptors[] | {pid, tid, accepted, exited, tasks}]' <<<"$group")"
	[ "$(jq 'add' <<<"$log")" = 400 ] || fail_because "the log has $(jq add <<<"$log") requests" || return 1
	n=0
	for w in $old; do n=$((n + $(jq --arg w "$w" '.[$w] // 0' <<<"$log"))); done
	[ $n = 200 ] || fail_because "the old workers logged $n requests, want 200" || return 1
	jq -e '.accepted == 400 and .members == 4' <<<"$group" >/dev/null ||
		fail_because "group: $(jq -c '{accepted, members}' <<<"$group")" || return 1
	# Contract: no count is lost. The old workers are listed as exited with their accepts.
	for w in $old; do
		n=$(jq --arg w "$w" '.[$w] // 0' <<<"$log")
		[ "$n" = 0 ] && continue
		jq -e --argjson p "$w" --argjson n "$n" '[.acceptors[] | select(.pid == $p)] |
			length == 1 and .[0].accepted == $n and .[0].exited == true and .[0].tasks == 1' \
			<<<"$group" >/dev/null ||
			fail_because "contract: old worker $w (logged $n): $(jq -c --argjson p "$w" \
				'[.acceptors[] | select(.pid == $p)]' <<<"$group")" || return 1
	done
	for w in $new; do
		jq -e --argjson p "$w" 'all(.acceptors[] | select(.pid == $p); .exited == false)' \
			<<<"$group" >/dev/null || fail_because "contract: new worker $w shown exited" || return 1
	done
	sv_check_acceptors "$group" "$log" || return 1
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE"
}

# ---- HAProxy ------------------------------------------------------------------------------

# sv_haproxy PORT BIND-OPTIONS: HAProxy 2.6, one process with 4 threads, answering every request
# itself (http-request return), its CLI on $CASE_DIR/haproxy.sock. The CLI listens on thread 1
# only, so the CLI's own connections (counted as accepted too) are all thread 1's. Listener
# multi-queue is off: a thread then serves every connection it accepts and never passes one to
# another thread, so HAProxy's per-thread `accepted` counts the thread's own accept() calls.
sv_haproxy() {
	sv_need haproxy socat || return 1
	cat >"$CASE_DIR/haproxy.cfg" <<EOF
global
	nbthread 4
	stats socket $CASE_DIR/haproxy.sock level admin thread 1
	tune.listener.multi-queue off
defaults
	mode http
	timeout connect 1s
	timeout client 5s
	timeout server 5s
frontend fe
	bind 127.0.0.1:$1 $2
	http-request return status 200 content-type text/plain string ok
EOF
	sv_start haproxy haproxy -f "$CASE_DIR/haproxy.cfg" -db
	HAPROXY_PID=$SV_PID
	for _ in $(seq 150); do
		[ -S "$CASE_DIR/haproxy.sock" ] && return 0
		kill -0 "$HAPROXY_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail_because "HAProxy did not start: $(tail -n 20 "$CASE_DIR/haproxy.out")"
}

# One command on HAProxy's CLI (one more connection accepted by thread 1).
sv_haproxy_cli() {
	echo "$1" | socat - "UNIX-CONNECT:$CASE_DIR/haproxy.sock"
}

# HAProxy's per-thread accepted connections (`show activity`), as a JSON array.
sv_haproxy_accepted() {
	sv_haproxy_cli "show activity" | awk '$1 == "accepted:" {
		s = $0; sub(/.*\[ */, "", s); sub(/ *\].*/, "", s); print s }' |
		jq -R -c 'split(" ") | map(select(length > 0) | tonumber)'
}

# sv_haproxy_thread_of FD: the thread (from 1) that fd belongs to alone, per `show fd`'s thread
# mask in $CASE_DIR/haproxy.fds; nothing when the fd is unknown or shared by several threads.
sv_haproxy_thread_of() {
	local mask t=1
	mask=$(awk -v fd="$1" '$1 == fd { print $2 }' "$CASE_DIR/haproxy.fds")
	[ -n "$mask" ] || return 0
	mask=$((mask))
	[ "$mask" -gt 0 ] && [ $((mask & (mask - 1))) = 0 ] || return 0
	while [ "$mask" -gt 1 ]; do mask=$((mask >> 1)); t=$((t + 1)); done
	echo "$t"
}

# sv_haproxy_threads: {"TID": thread number} for HAProxy's 4 threads. Each thread waits in
# epoll_wait on its own epoll instance; `show fd` gives the thread mask of every fd HAProxy
# polls, and the fds in a task's set that belong to one thread only (its poller pipe; its
# listener with shards by-thread) name the thread that task is. Also leaves `show fd` as
# "fd mask" lines in $CASE_DIR/haproxy.fds.
sv_haproxy_threads() {
	local tid map t fd
	sv_haproxy_cli "show fd" | awk '$2 == ":" { for (i = 3; i <= NF; i++) if ($i ~ /^tmask=/)
		print $1, substr($i, 7) }' >"$CASE_DIR/haproxy.fds"
	for _ in $(seq 50); do
		map='{}'
		for tid in /proc/"$HAPROXY_PID"/task/*; do
			tid=${tid##*/}
			t=$(sv_task_epoll "$HAPROXY_PID" "$tid" | while read -r fd _; do
				sv_haproxy_thread_of "$fd"
			done | sort -u)
			# The set's single-thread fds all name one thread: that task is it.
			[ -n "$t" ] && [ "$(wc -l <<<"$t")" = 1 ] || continue
			map=$(jq -c --arg tid "$tid" --argjson t "$t" '.[$tid] = $t' <<<"$map")
		done
		if jq -e 'length == 4 and ([.[]] | sort) == [1, 2, 3, 4]' <<<"$map" >/dev/null; then
			echo "$map"
			return 0
		fi
		sleep 0.1
	done
	fail_because "HAProxy's threads not found in epoll_wait: $map; show fd: $(cat "$CASE_DIR/haproxy.fds")"
}

# HAProxy with 4 threads, one socket per thread (shards by-thread) or one socket shared by
# all: per thread (by kernel tid), reusetop's accepted equals HAProxy's own count of the
# connections that thread accepted; with shards, per socket too.
sv_haproxy_case() { # shards|shared port
	local kind=$1 port=$2 nsock=1 bind="" json group threads base final delta tid t n fd ino
	[ "$kind" = shards ] && nsock=4 && bind="shards by-thread"
	sv_begin || return 1
	sv_haproxy "$port" "$bind" || return 1
	sv_wait_sockets tcp "$port" "$nsock" "$HAPROXY_PID" haproxy || return 1
	threads=$(sv_haproxy_threads) || return 1
	base=$(sv_haproxy_accepted) || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	sv_http 127.0.0.1 "$port" 400 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	final=$(sv_haproxy_accepted) || return 1
	# Per thread, what it accepted in between; the `show activity` that read the final counts
	# is one more connection on thread 1.
	delta=$(jq -c -n --argjson a "$base" --argjson b "$final" \
		'[range(0; $b | length) | $b[.] - $a[.] - (if . == 0 then 1 else 0 end)]')
	group=$(group_of "$json" "$port") || return 1
	echo "haproxy $HAPROXY_PID, threads $threads, accepted per thread $delta"
	echo "acceptors: $(jq -c '[.acceptors[] | {pid, tid, inode, accepted}]' <<<"$group")"
	[ "$(jq add <<<"$delta")" = 400 ] || fail_because "HAProxy counted $delta, not 400 in all" || return 1
	jq -e --argjson n "$nsock" '.accepted == 400 and .members == $n' <<<"$group" >/dev/null ||
		fail_because "group: $(jq -c '{accepted, members}' <<<"$group")" || return 1
	for tid in $(jq -r 'keys[]' <<<"$threads"); do
		t=$(jq --arg t "$tid" '.[$t]' <<<"$threads")
		n=$(jq --argjson t "$t" '.[$t - 1]' <<<"$delta")
		jq -e --argjson tid "$tid" --argjson p "$HAPROXY_PID" --argjson n "$n" \
			'([.acceptors[] | select(.tid == $tid)] | map(.accepted) | add // 0) == $n and
			all(.acceptors[] | select(.tid == $tid); .pid == $p)' <<<"$group" >/dev/null ||
			fail_because "thread $t (tid $tid): HAProxy $n, reusetop $(jq -c --argjson tid "$tid" \
				'[.acceptors[] | select(.tid == $tid)]' <<<"$group")" || return 1
	done
	jq -e --argjson t "$threads" 'all(.acceptors[]; ($t[.tid | tostring]) != null)' <<<"$group" >/dev/null ||
		fail_because "acceptors that are not HAProxy's threads" || return 1
	if [ "$kind" = shards ]; then
		# Each listener fd belongs to one thread; its socket's accepts are that thread's.
		while read -r fd _; do
			ino=$(readlink "/proc/$HAPROXY_PID/fd/$fd" | sed -n 's/^socket:\[\([0-9]*\)\]$/\1/p')
			grep -qx "$ino" <(sv_sockets tcp "$port") || continue
			t=$(sv_haproxy_thread_of "$fd")
			[ -n "$t" ] || fail_because "listener fd $fd is not one thread's: $(cat "$CASE_DIR/haproxy.fds")" || return 1
			n=$(jq --argjson t "$t" '.[$t - 1]' <<<"$delta")
			jq -e --argjson i "$ino" --argjson n "$n" '.sockets[] | select(.inode == $i) |
				.accepted == $n' <<<"$group" >/dev/null ||
				fail_because "socket $ino (fd $fd, thread $t): HAProxy $n, reusetop $(jq -c \
					--argjson i "$ino" '.sockets[] | select(.inode == $i) | .accepted' <<<"$group")" || return 1
		done <"$CASE_DIR/haproxy.fds"
	fi
	# Contract: each socket is served by HAProxy's one process.
	for ino in $(sv_sockets tcp "$port"); do
		sv_check_owner "$group" "$ino" "$HAPROXY_PID" accepts || return 1
	done
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE"
}

# ---- gunicorn -----------------------------------------------------------------------------

# gunicorn, 2 sync workers recycled every 25 requests: 16 workers come and go during 400
# requests. Nothing is lost: the group's accepted, the acceptors' sum (exited workers listed,
# or folded into one row after --retain-exited) and the access log agree.
sv_gunicorn_case() {
	local port=8951 json fold fold_pid status group fgroup log pid listed rest nfold
	sv_begin || return 1
	sv_need /usr/bin/python3 || return 1
	/usr/bin/python3 -c 'import gunicorn' 2>/dev/null ||
		fail_because "python3-gunicorn is not installed (make deps installs it)" || return 1
	cat >"$CASE_DIR/app.py" <<'EOF'
def app(environ, start_response):
    start_response("200 OK", [("Content-Type", "text/plain")])
    return [b"ok\n"]
EOF
	sv_start gunicorn /usr/bin/python3 -m gunicorn --workers 2 --max-requests 25 \
		--bind "127.0.0.1:$port" --chdir "$CASE_DIR" --access-logfile "$CASE_DIR/access.log" \
		--access-logformat '%(p)s %(s)s' app:app
	sv_wait_sockets tcp "$port" 1 "$SV_PID" gunicorn || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	# A second reusetop folds exited workers after 1 s (the contract's --retain-exited).
	"$REUSETOP" -j -d "$DELAY" -P "$port" --retain-exited 1 >"$CASE_DIR/fold.json" 2>"$CASE_DIR/fold.err" &
	fold_pid=$!
	PIDS_TO_STOP+=("$fold_pid")
	# Its probes are attached once it printed its first interval.
	wait_for_file "$CASE_DIR/fold.json" 20 || return 1
	sv_http 127.0.0.1 "$port" 400 --concurrency 4 || return 1
	json=$(settle_json "$DELAY")
	sleep 1.5 # the last exited workers' retention in the folding reusetop
	fold=$(last_json "$CASE_DIR/fold.json")
	stop_reusetop || return 1
	group=$(group_of "$json" "$port") || return 1
	log=$(sv_log_counts "$CASE_DIR/access.log")
	echo "log $log"
	echo "acceptors: $(jq -c '[.acceptors[] | {pid, accepted, exited, tasks}]' <<<"$group")"
	[ -z "$(awk '$2 != 200' "$CASE_DIR/access.log")" ] || fail_because "non-200 requests" || return 1
	[ "$(jq add <<<"$log")" = 400 ] || fail_because "the log has $(jq add <<<"$log") requests" || return 1
	[ "$(jq 'length' <<<"$log")" -ge 16 ] || fail_because "only $(jq length <<<"$log") workers served" || return 1
	[ "$(jq .accepted <<<"$group")" = 400 ] || fail_because "group accepted $(jq .accepted <<<"$group")" || return 1
	# Contract: no count is lost; every listed worker's accepts are its log count; the dead
	# ones are marked exited.
	jq -e '([.acceptors[].accepted] | add) == 400' <<<"$group" >/dev/null ||
		fail_because "contract: the acceptors add up to $(jq '[.acceptors[].accepted] | add' <<<"$group"), not 400" || return 1
	for pid in $(jq -r '.acceptors[] | select(.pid != null) | .pid' <<<"$group" | sort -u); do
		jq -e --argjson p "$pid" --argjson n "$(jq --arg p "$pid" '.[$p] // 0' <<<"$log")" \
			--argjson dead "$(kill -0 "$pid" 2>/dev/null && echo false || echo true)" \
			'[.acceptors[] | select(.pid == $p)] | (map(.accepted) | add) == $n and
			all(.exited == $dead)' <<<"$group" >/dev/null ||
			fail_because "contract: worker $pid (log $(jq --arg p "$pid" '.[$p] // 0' <<<"$log")): $(jq -c \
				--argjson p "$pid" '[.acceptors[] | select(.pid == $p)]' <<<"$group")" || return 1
	done
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE" || return 1
	# With --retain-exited 1, the workers that exited are one aggregate row by now.
	kill -INT "$fold_pid" 2>/dev/null
	wait "$fold_pid"
	status=$?
	[ $status = 0 ] && [ ! -s "$CASE_DIR/fold.err" ] && [ -n "$fold" ] ||
		fail_because "contract: reusetop --retain-exited 1 exited $status: $(cat "$CASE_DIR/fold.err")" || return 1
	fgroup=$(group_of "$fold" "$port") || return 1
	listed=$(jq -c '[.acceptors[] | select(.pid != null) | .pid] | unique' <<<"$fgroup")
	rest=$(jq -n -c --argjson l "$log" --argjson s "$listed" \
		'[$l | to_entries[] | select((.key | tonumber) as $p | $s | index($p) | not) | .value] |
		{tasks: length, accepted: add}')
	nfold=$(jq -c '[.acceptors[] | select(.pid == null)]' <<<"$fgroup")
	echo "folded: $nfold, want $rest"
	jq -e --argjson r "$rest" 'length == 1 and (.[0] | .tid == null and .comm == "(exited)" and
		.inode == null and .fd == null and .exited == true and .tasks == $r.tasks and
		.accepted == $r.accepted)' <<<"$nfold" >/dev/null ||
		fail_because "contract: aggregate row $nfold, want $rest" || return 1
	check_invariants "$CASE_DIR/fold.json" "$NETNS_INODE"
}

# ---- Node.js ------------------------------------------------------------------------------

# A Node.js cluster whose 4 workers accept from the shared listener themselves (SCHED_NONE):
# per worker, reusetop's accepts equal the requests the worker counted.
sv_node_case() {
	local port=8961 json group counts
	sv_begin || return 1
	sv_need node || return 1
	cat >"$CASE_DIR/cluster.js" <<'EOF'
'use strict';
// Workers that accept from the shared listener themselves (SCHED_NONE). On SIGTERM the primary
// tells each worker to stop; a worker then appends {"pid":P,"requests":N} to COUNTS and exits.
const cluster = require('node:cluster');
const fs = require('node:fs');
const http = require('node:http');

cluster.schedulingPolicy = cluster.SCHED_NONE;
const [addr, port, workers, counts, ready] = process.argv.slice(2);

if (cluster.isPrimary) {
	let listening = 0;
	let exited = 0;
	for (let i = 0; i < Number(workers); i++)
		cluster.fork();
	cluster.on('listening', () => {
		if (++listening === Number(workers))
			fs.writeFileSync(ready, 'ready\n');
	});
	cluster.on('exit', () => {
		if (++exited === Number(workers))
			process.exit(0);
	});
	process.on('SIGTERM', () => {
		for (const id in cluster.workers)
			cluster.workers[id].send('stop');
	});
} else {
	let requests = 0;
	const server = http.createServer((req, res) => {
		requests++;
		res.end('ok\n');
	});
	server.listen(Number(port), addr);
	process.on('message', (msg) => {
		if (msg !== 'stop')
			return;
		server.close(() => {
			fs.appendFileSync(counts, JSON.stringify({pid: process.pid, requests}) + '\n');
			process.exit(0);
		});
	});
}
EOF
	sv_start node node "$CASE_DIR/cluster.js" 127.0.0.1 "$port" 4 "$CASE_DIR/counts" "$CASE_DIR/ready"
	wait_for_file "$CASE_DIR/ready" 15 || fail_because "node: $(tail -n 20 "$CASE_DIR/node.out")" || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	sv_http 127.0.0.1 "$port" 400 || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	kill -TERM "$SV_PID"
	wait "$SV_PID" || fail_because "node exited $?: $(tail -n 20 "$CASE_DIR/node.out")" || return 1
	counts=$(jq -s -c 'map({key: (.pid | tostring), value: .requests}) | from_entries' "$CASE_DIR/counts")
	group=$(group_of "$json" "$port") || return 1
	[ "$(jq length <<<"$counts")" = 4 ] || fail_because "want 4 workers' counts: $counts" || return 1
	[ "$(jq add <<<"$counts")" = 400 ] || fail_because "the workers counted $counts" || return 1
	jq -e '.accepted == 400 and .members == 1' <<<"$group" >/dev/null ||
		fail_because "group: $(jq -c '{accepted, members}' <<<"$group")" || return 1
	sv_check_acceptors "$group" "$counts" || return 1
	# Contract: the socket's servers are the workers that accepted (not the primary).
	jq -e --argjson s "$(jq -c 'with_entries(select(.value > 0)) | keys | map(tonumber) | sort' <<<"$counts")" \
		'((.sockets[0].servers // []) | sort) == $s' <<<"$group" >/dev/null ||
		fail_because "contract: servers $(jq -c '.sockets[0].servers' <<<"$group"), want $(jq -c keys <<<"$counts")" || return 1
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE"
}

# ---- unbound ------------------------------------------------------------------------------

# sv_unbound PORT [SERVER-LINES]: unbound 1.17, 4 threads with a SO_REUSEPORT socket each (UDP
# only), answering www.test. from a local zone, remote control on a Unix socket in $CASE_DIR.
sv_unbound() {
	sv_need unbound unbound-control || return 1
	cat >"$CASE_DIR/unbound.conf" <<EOF
server:
	verbosity: 0
	username: ""
	chroot: ""
	directory: "$CASE_DIR"
	pidfile: "$CASE_DIR/unbound.pid"
	use-syslog: no
	logfile: ""
	do-daemonize: no
	interface: 127.0.0.1@$1
	num-threads: 4
	so-reuseport: yes
	do-tcp: no
	do-ip6: no
	access-control: 127.0.0.0/8 allow
	module-config: "iterator"
	local-zone: "test." static
	local-data: "www.test. IN A 127.0.0.2"
	${2:-}
remote-control:
	control-enable: yes
	control-interface: $CASE_DIR/unbound.ctl
	control-use-cert: no
EOF
	sv_start unbound unbound -d -c "$CASE_DIR/unbound.conf"
	UNBOUND_PID=$SV_PID
	sv_wait_sockets udp "$1" 4 "$UNBOUND_PID" unbound
}

# sv_unbound_threads PORT: {"THREAD": {"tid": TID, "inode": INODE}} for unbound's 4 threads.
# Thread 0 runs in unbound's main thread and threads 1..3 are started in order after it, so
# their kernel tids ascend with the thread number; each thread waits in epoll_wait on its own
# epoll instance, which holds its socket (read from the kernel).
sv_unbound_threads() {
	local socks tids map i tid ino
	socks=$(sv_sockets udp "$1")
	for _ in $(seq 50); do
		tids=$(ls /proc/"$UNBOUND_PID"/task | sort -n)
		map='{}'
		i=0
		for tid in $tids; do
			ino=$(comm -12 <(sort <<<"$socks") <(sv_task_epoll "$UNBOUND_PID" "$tid" | awk '{ print $2 }' | sort))
			[ "$(wc -w <<<"$ino")" = 1 ] || break
			map=$(jq -c --arg i "$i" --argjson t "$tid" --argjson s "$ino" '.[$i] = {tid: $t, inode: $s}' <<<"$map")
			i=$((i + 1))
		done
		if [ "$(wc -w <<<"$tids")" = 4 ] && [ "$(head -n 1 <<<"$tids")" = "$UNBOUND_PID" ] &&
			jq -e 'length == 4 and ([.[].inode] | unique | length) == 4' <<<"$map" >/dev/null; then
			echo "$map"
			return 0
		fi
		sleep 0.1
	done
	fail_because "unbound's threads and sockets not found: tasks $tids, map $map, sockets $socks"
}

# unbound's per-thread query counts, {"THREAD": n}.
sv_unbound_queries() {
	unbound-control -c "$CASE_DIR/unbound.conf" stats_noreset |
		sed -n 's/^thread\([0-9]*\)\.num\.queries=\([0-9]*\)$/\1 \2/p' |
		jq -R -s -c 'split("\n") | map(select(length > 0) | split(" ") |
			{key: .[0], value: (.[1] | tonumber)}) | from_entries'
}

# unbound, 4 threads with a reuseport socket each, 400 queries from dnsperf (16 clients, so 16
# flows over the sockets): per socket, reusetop's datagrams read equal the queries its thread
# answered (unbound's statistics).
sv_unbound_case() {
	local port=8971 json group threads queries i ino n tid
	sv_begin || return 1
	sv_need dnsperf || return 1
	sv_unbound "$port" || return 1
	threads=$(sv_unbound_threads "$port") || return 1
	yes 'www.test A' | head -n 400 >"$CASE_DIR/queries"
	start_reusetop -d "$DELAY" -P "$port" || return 1
	ip netns exec "$NETNS" dnsperf -s 127.0.0.1 -p "$port" -d "$CASE_DIR/queries" -n 1 -c 16 \
		>"$CASE_DIR/dnsperf.out" 2>&1 || fail_because "dnsperf: $(cat "$CASE_DIR/dnsperf.out")" || return 1
	grep -Eq 'Queries sent: +400$' "$CASE_DIR/dnsperf.out" &&
		grep -Eq 'Queries completed: +400 ' "$CASE_DIR/dnsperf.out" ||
		fail_because "dnsperf: $(grep Queries "$CASE_DIR/dnsperf.out")" || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	queries=$(sv_unbound_queries) || return 1
	group=$(group_of "$json" "$port") || return 1
	echo "unbound $UNBOUND_PID, threads $threads, queries $queries"
	echo "sockets: $(jq -c '[.sockets[] | {inode, pid, received, enqueued, owner, servers}]' <<<"$group")"
	[ "$(jq add <<<"$queries")" = 400 ] || fail_because "unbound counted $queries" || return 1
	jq -e '.proto == "udp" and .members == 4 and .received == 400 and .enqueued == 400' \
		<<<"$group" >/dev/null || fail_because "group: $(jq -c '{members, received, enqueued}' <<<"$group")" || return 1
	for i in 0 1 2 3; do
		ino=$(jq --arg i "$i" '.[$i].inode' <<<"$threads")
		n=$(jq --arg i "$i" '.[$i]' <<<"$queries")
		jq -e --argjson s "$ino" --argjson n "$n" '.sockets[] | select(.inode == $s) |
			.received == $n and .enqueued == $n and .drops == 0' <<<"$group" >/dev/null ||
			fail_because "thread $i's socket $ino: unbound $n queries, reusetop $(jq -c \
				--argjson s "$ino" '.sockets[] | select(.inode == $s) | {received, enqueued, drops}' <<<"$group")" || return 1
	done
	# Contract: one receiver row per thread, its reads exact; each socket the reader's.
	for i in 0 1 2 3; do
		tid=$(jq --arg i "$i" '.[$i].tid' <<<"$threads")
		ino=$(jq --arg i "$i" '.[$i].inode' <<<"$threads")
		n=$(jq --arg i "$i" '.[$i]' <<<"$queries")
		jq -e --argjson t "$tid" --argjson s "$ino" --argjson n "$n" --argjson p "$UNBOUND_PID" \
			'[.receivers[]? | select(.tid == $t)] | length == 1 and .[0].pid == $p and
			.[0].inode == $s and .[0].received == $n' <<<"$group" >/dev/null ||
			fail_because "contract: thread $i (tid $tid): want a receiver row with $n reads from $ino: $(jq -c .receivers <<<"$group")" || return 1
		[ "$n" = 0 ] || sv_check_owner "$group" "$ino" "$UNBOUND_PID" reads || return 1
	done
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE"
}

# unbound stopped (SIGSTOP) with 4 KiB receive buffers: 400 datagrams fill them; per socket
# reusetop's drops equal the kernel's (/proc/net/udp), and once unbound runs again and reads
# what was queued, every datagram was read or dropped.
sv_unbound_stalled_case() {
	local port=8972 json group ino proc drops=0 d
	sv_begin || return 1
	sv_unbound "$port" "so-rcvbuf: 4096" || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	kill -STOP "$UNBOUND_PID"
	run_client --proto udp --port "$port" --count 400 --rate 2000 || return 1
	json=$(settle_json "$DELAY")
	ip netns exec "$NETNS" cat /proc/net/udp >"$CASE_DIR/proc_udp"
	kill -CONT "$UNBOUND_PID"
	group=$(group_of "$json" "$port") || return 1
	echo "stalled: $(jq -c '[.sockets[] | {inode, enqueued, received, drops}]' <<<"$group")"
	for ino in $(sv_sockets udp "$port"); do
		proc=$(awk -v i="$ino" '$10 == i { print $NF }' "$CASE_DIR/proc_udp")
		[ -n "$proc" ] || fail_because "socket $ino not in /proc/net/udp" || return 1
		drops=$((drops + proc))
		jq -e --argjson s "$ino" --argjson d "$proc" '.sockets[] | select(.inode == $s) |
			.drops == $d and .received == 0' <<<"$group" >/dev/null ||
			fail_because "socket $ino: /proc/net/udp drops $proc, reusetop $(jq -c --argjson s \
				"$ino" '.sockets[] | select(.inode == $s) | {drops, received}' <<<"$group")" || return 1
	done
	[ "$drops" -gt 0 ] || fail_because "no drops: the buffers never filled" || return 1
	# unbound reads what is queued (and answers nothing: these are not queries).
	for _ in $(seq 50); do
		[ -z "$(ip netns exec "$NETNS" ss -Hlnu "sport = :$port" | awk '$2 != 0')" ] && break
		sleep 0.1
	done
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	group=$(group_of "$json" "$port") || return 1
	echo "after: $(jq -c '{received, enqueued, sockets: [.sockets[] | {inode, enqueued, received, drops}]}' <<<"$group")"
	jq -e --argjson d "$drops" '.received + $d == 400 and .enqueued + $d == 400 and
		([.sockets[].drops] | add) == $d and all(.sockets[]; .received == .enqueued)' \
		<<<"$group" >/dev/null || fail_because "read $(jq .received <<<"$group") + dropped $drops != 400 sent" || return 1
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE"
}

# ---- steering nginx -----------------------------------------------------------------------

# reusetop steer on nginx's reuseport group: round-robin with the client on one CPU gives each
# worker exactly 100 of 400; draining a worker (by its pid) gives it none of the next 400, and
# reusetop's per-socket accepts still agree with the log; the master's pid is refused as
# ambiguous (it holds every socket and serves none).
sv_nginx_steer_case() {
	local port=8981 json group serving log1 log2 drained ino w n show
	sv_begin || return 1
	trap 'st_cleanup; sv_cleanup; case_cleanup' EXIT
	sv_nginx "127.0.0.1:$port reuseport" || return 1
	serving=$(sv_nginx_serving "$port") || return 1
	start_reusetop -d "$DELAY" -P "$port" || return 1
	st_ok --port "$port" --policy roundrobin || return 1
	sv_http 127.0.0.1 "$port" 400 --cpu 0 || return 1
	log1=$(sv_nginx_log) || return 1
	echo "serving $serving, round-robin: $log1"
	jq -e 'length == 4 and all(.[]; . == 100)' <<<"$log1" >/dev/null ||
		fail_because "round-robin split $log1, want 100 each" || return 1
	drained=$(jq '[.[]] | sort | .[0]' <<<"$serving")
	# Contract: --show names each member's serving worker.
	show=$(st_show --port "$port") || return 1
	jq -e --argjson s "$serving" 'all(.members[]; .pid == $s[.inode | tostring])' <<<"$show" >/dev/null ||
		fail_because "contract: --show members $(jq -c '[.members[] | {inode, pid}]' <<<"$show"), serving $serving" || return 1
	jq -e 'all(.members[]; .owner == "polls")' <<<"$show" >/dev/null ||
		fail_because "--show owners: $(jq -c '[.members[].owner]' <<<"$show")" || return 1
	# The master holds all four and serves none: draining it is ambiguous, said so, nothing done.
	st_fails 2 "holds 4 sockets .* cannot tell which it serves" --port "$port" \
		--drain "$NGINX_PID" || return 1
	st_ok --port "$port" --drain "$drained" || return 1
	sv_http 127.0.0.1 "$port" 400 --cpu 0 || return 1
	log2=$(sv_nginx_log) || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	st_ok --port "$port" --detach || return 1
	st_nothing_attached --port "$port" || return 1
	echo "after draining $drained: $log2"
	jq -e --argjson a "$log1" --arg w "$drained" '.[$w] == $a[$w] and (add - ($a | add)) == 400' \
		<<<"$log2" >/dev/null || fail_because "drained worker $drained: $log1 then $log2" || return 1
	group=$(group_of "$json" "$port") || return 1
	for ino in $(jq -r 'keys[]' <<<"$serving"); do
		w=$(jq --arg i "$ino" '.[$i]' <<<"$serving")
		n=$(jq --arg w "$w" '.[$w] // 0' <<<"$log2")
		jq -e --argjson i "$ino" --argjson n "$n" '.sockets[] | select(.inode == $i) |
			.accepted == $n' <<<"$group" >/dev/null ||
			fail_because "socket $ino (worker $w): reusetop $(jq --argjson i "$ino" \
				'.sockets[] | select(.inode == $i) | .accepted' <<<"$group"), the log $n" || return 1
	done
}

servers_cases() {
	run_case "nginx reuseport IPv4: per-worker accepts equal the access log" \
		sv_nginx_reuseport 127.0.0.1 8941
	run_case "nginx reuseport IPv6: per-worker accepts equal the access log" \
		sv_nginx_reuseport ::1 8942
	run_case "nginx shared listener, accept_mutex on: per-worker accepts equal the access log" \
		sv_nginx_shared on 8944
	run_case "nginx shared listener, accept_mutex off: per-worker accepts equal the access log" \
		sv_nginx_shared off 8945
	run_case "nginx -s reload: the old workers' accepts stay counted, exited" sv_nginx_reload_case
	run_case "HAProxy 2.6, 4 threads, shards by-thread: per-thread and per-socket accepts equal show activity" \
		sv_haproxy_case shards 8946
	run_case "HAProxy 2.6, 4 threads, one shared socket: per-thread accepts equal show activity" \
		sv_haproxy_case shared 8947
	run_case "gunicorn recycling workers every 25 requests: no accept lost, per pid as logged" \
		sv_gunicorn_case
	run_case "Node.js cluster, SCHED_NONE: per-worker accepts equal the workers' own counts" \
		sv_node_case
	run_case "unbound, 4 reuseport threads: per-socket datagrams read equal each thread's queries" \
		sv_unbound_case
	run_case "unbound stalled: per-socket drops equal /proc/net/udp, read + dropped = sent" \
		sv_unbound_stalled_case
	run_case "steer nginx: round-robin 100 per worker, --drain WORKER gets none of the next 400" \
		sv_nginx_steer_case
}
