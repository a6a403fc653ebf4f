# SPDX-License-Identifier: GPL-2.0
# The Prometheus exporter (--prometheus) against a real Prometheus server, the exposition
# against promtool, and what `make install` installs. Sourced by tests/run.sh after lib.sh and
# integration.sh. reusetop, Prometheus and curl run in the case's network namespace, so their
# loopback ports cannot collide with anything on the host or in other cases.

PROM_EXPORTER_PORT=9464 # reusetop --prometheus, in the case's netns
PROM_SERVER_PORT=9090   # the Prometheus server, in the case's netns

ns_curl() {
	ip netns exec "$NETNS" curl -s --max-time 5 "$@"
}

# wait_metrics URL: until the exporter answers 200 (it answers 503 before the first refresh).
wait_metrics() {
	local _
	for _ in $(seq 100); do
		[ "$(ns_curl -o /dev/null -w '%{http_code}' "$1")" = 200 ] && return 0
		kill -0 "$RT_PID" 2>/dev/null || break
		sleep 0.1
	done
	fail_because "exporter not serving $1: $(cat "$CASE_DIR/rt.err")"
}

# start_exporter URL ARGS...: reusetop ARGS in the case's netns, stdout in rt.out (not a
# terminal); returns once URL serves metrics. stop_reusetop (lib.sh) stops it.
start_exporter() {
	local url=$1
	shift
	ns_exec
	"${NS_EXEC[@]}" "$REUSETOP" "$@" >"$CASE_DIR/rt.out" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	wait_metrics "$url"
}

# A Prometheus server in the case's netns scraping the exporter every second, its storage in
# the scratch folder (the Debian package's own service, if any, is not involved).
start_prometheus() {
	local _
	cat >"$CASE_DIR/prometheus.yml" <<EOF
global:
  scrape_interval: 1s
  scrape_timeout: 1s
scrape_configs:
  - job_name: reusetop
    static_configs:
      - targets: ['127.0.0.1:$PROM_EXPORTER_PORT']
EOF
	ns_exec
	"${NS_EXEC[@]}" prometheus --config.file="$CASE_DIR/prometheus.yml" \
		--storage.tsdb.path="$CASE_DIR/tsdb" \
		--web.listen-address="127.0.0.1:$PROM_SERVER_PORT" \
		--log.level=warn >"$CASE_DIR/prometheus.log" 2>&1 &
	PIDS_TO_STOP+=("$!")
	for _ in $(seq 300); do
		[ "$(ns_curl -o /dev/null -w '%{http_code}' \
			"http://127.0.0.1:$PROM_SERVER_PORT/-/ready")" = 200 ] && return 0
		sleep 0.1
	done
	fail_because "prometheus not ready: $(tail -n 5 "$CASE_DIR/prometheus.log")"
}

# prom_query PROMQL: the result vector of an instant query, as JSON.
prom_query() {
	ns_curl -G --data-urlencode "query=$1" \
		"http://127.0.0.1:$PROM_SERVER_PORT/api/v1/query" | jq -c '.data.result'
}

# The value Prometheus stored for metric $2 of inode $3 in result vector $1 (empty if none).
value_of() {
	jq -r --arg i "$3" '.[] | select(.metric.inode == $i) | .value[1]' <<<"$1"
}

# Prometheus scrapes reusetop while the rig makes connections; what it stored per socket must
# be what each worker counted.
case_prom_scrape_exact() {
	local port=8701 total=400 sel acc enq wait p99 line ino pid n got out w lost sum=0 waits=0 _
	make_netns || return 1
	start_rig rig --mode reuseport --workers 4 --port $port || return 1
	start_exporter "http://127.0.0.1:$PROM_EXPORTER_PORT/metrics" \
		--prometheus "127.0.0.1:$PROM_EXPORTER_PORT" -d 0.2 -P $port || return 1
	start_prometheus || return 1
	run_client --port $port --count $total --concurrency 8 || return 1
	# Until Prometheus stored a scrape taken after the load (the rig must still be running:
	# a socket that is gone has its series marked stale).
	sel="port=\"$port\",netns=\"$NETNS_INODE\""
	for _ in $(seq 100); do
		got=$(prom_query "sum(reusetop_accepted_total{$sel})" | jq -r '.[0].value[1] // empty')
		[ "$got" = $total ] && break
		sleep 0.2
	done
	acc=$(prom_query "reusetop_accepted_total{$sel}")
	enq=$(prom_query "reusetop_enqueued_total{$sel}")
	wait=$(prom_query "reusetop_queue_wait_seconds_count{$sel}")
	p99=$(prom_query "histogram_quantile(0.99, sum by (le) (reusetop_queue_wait_seconds_bucket{$sel}))" |
		jq -r '.[0].value[1]')
	ns_curl "http://127.0.0.1:$PROM_EXPORTER_PORT/metrics" >"$CASE_DIR/metrics.txt"
	stop_reusetop || return 1
	stop_rig rig || return 1
	[ ! -s "$CASE_DIR/rt.out" ] || fail_because "printed without -b or -j: $(head -c 300 "$CASE_DIR/rt.out")" || return 1
	[ "$got" = $total ] || fail_because "Prometheus has $got accepted, want $total: $acc" || return 1
	[ "$(jq length <<<"$acc")" = 4 ] && [ "$(jq length <<<"$enq")" = 4 ] ||
		fail_because "want 4 series each: $acc $enq" || return 1
	while IFS= read -r line; do
		ino=$(jq .inode <<<"$line"); pid=$(jq .pid <<<"$line"); n=$(jq .accepted <<<"$line")
		sum=$((sum + n))
		[ "$(value_of "$acc" accepted "$ino")" = "$n" ] ||
			fail_because "inode $ino accepted $(value_of "$acc" accepted "$ino") in Prometheus, rig $n" || return 1
		[ "$(value_of "$enq" enqueued "$ino")" = "$n" ] ||
			fail_because "inode $ino enqueued $(value_of "$enq" enqueued "$ino") in Prometheus, rig $n" || return 1
		jq -e --arg i "$ino" --arg p "$pid" '.[] | select(.metric.inode == $i) | .metric |
			.pid == $p and .comm == "rig_server" and .proto == "tcp" and
			.family == "inet" and .addr == "127.0.0.1" and .job == "reusetop"' \
			<<<"$acc" >/dev/null || fail_because "labels of $ino (pid $pid): $acc" || return 1
		w=$(value_of "$wait" wait "$ino")
		waits=$((waits + ${w:-0}))
		[ "${w:-0}" -le "$n" ] || fail_because "inode $ino: $w queue waits, rig accepted $n" || return 1
	done <"$CASE_DIR/rig.stats"
	[ "$sum" = $total ] || fail_because "rig accepted $sum of $total" || return 1
	# Every accept has its queue wait in the histogram, or is counted as lost (wait_unknown).
	if grep -q '^reusetop_feature_enabled{feature="wait"} 1$' "$CASE_DIR/metrics.txt"; then
		lost=$(sed -n 's/^reusetop_lost_events_total{reason="wait_unknown"} //p' "$CASE_DIR/metrics.txt")
		[ $((total - waits)) -le "$lost" ] ||
			fail_because "$waits queue waits of $total accepts, $lost lost: $wait" || return 1
		grep -qE '^[0-9.e+-]+$' <<<"$p99" ||
			fail_because "histogram_quantile(0.99) gives '$p99'" || return 1
	fi
	# The exposition passes promtool's parser and linter with nothing to say.
	out=$(promtool check metrics <"$CASE_DIR/metrics.txt" 2>&1) && [ -z "$out" ] ||
		fail_because "promtool check metrics: $out" || return 1
	grep -q '^reusetop_info{version="[0-9.]*",attach="[a-z]*"} 1$' "$CASE_DIR/metrics.txt" ||
		fail_because "no reusetop_info: $(head -n 20 "$CASE_DIR/metrics.txt")"
}

# With -j the JSON lines go on; the endpoint speaks HTTP properly, on IPv6 too.
case_prom_with_json() {
	local port=8702 url="http://[::1]:$PROM_EXPORTER_PORT" head
	make_netns || return 1
	start_rig rig --mode reuseport --workers 2 --port $port || return 1
	start_exporter "$url/metrics" -j --prometheus "[::1]:$PROM_EXPORTER_PORT" -d 0.2 \
		-P $port || return 1
	run_client --port $port --count 50 || return 1
	sleep 0.6
	head=$(ns_curl -D - -o "$CASE_DIR/metrics.txt" "$url/metrics" | tr -d '\r')
	grep -qx 'HTTP/1.1 200 OK' <<<"$head" &&
		grep -qix 'Content-Type: text/plain; version=0.0.4; charset=utf-8' <<<"$head" ||
		fail_because "headers: $head" || return 1
	[ "$(grep '^reusetop_enqueued_total{' "$CASE_DIR/metrics.txt" |
		grep "port=\"$port\",netns=\"$NETNS_INODE\"" | awk '{ s += $2 } END { print s }')" = 50 ] ||
		fail_because "enqueued: $(grep '^reusetop_enqueued_total{' "$CASE_DIR/metrics.txt")" || return 1
	[ "$(ns_curl -o /dev/null -w '%{http_code}' "$url/")" = 404 ] ||
		fail_because "/ is not 404" || return 1
	[ "$(ns_curl -o /dev/null -w '%{http_code}' "$url/metrics/x")" = 404 ] ||
		fail_because "/metrics/x is not 404" || return 1
	[ "$(ns_curl -o /dev/null -w '%{http_code}' -X POST "$url/metrics")" = 405 ] ||
		fail_because "POST is not 405" || return 1
	[ "$(ns_curl -o /dev/null -w '%{http_code}' -I "$url/metrics")" = 200 ] ||
		fail_because "HEAD is not 200" || return 1
	stop_reusetop || return 1
	[ "$(groups_here "$(tail -n 1 "$CASE_DIR/rt.out")" | jq '.[0].enqueued')" = 50 ] ||
		fail_because "JSON output: $(tail -n 1 "$CASE_DIR/rt.out")"
}

# On a terminal: the live view and the exporter together (a tmux pane in the case's netns).
case_prom_with_live_view() {
	local url="http://127.0.0.1:$PROM_EXPORTER_PORT/metrics" _
	make_netns || return 1
	ip netns exec "$NETNS" tmux -S "$CASE_DIR/tmux.sock" -f /dev/null new-session -d -s t \
		-x 160 -y 50 "bash -c 'echo \$\$ >$CASE_DIR/rt.pid; exec $(realpath "$REUSETOP") \
		-d 0.2 --prometheus 127.0.0.1:$PROM_EXPORTER_PORT 2>$CASE_DIR/rt.err'; \
		echo \$? >$CASE_DIR/rt.status; sleep 600" || fail_because "tmux did not start" || return 1
	PIDS_TO_STOP+=("$(tmux -S "$CASE_DIR/tmux.sock" display-message -p '#{pid}')")
	wait_for_file "$CASE_DIR/rt.pid" 10 || return 1
	RT_PID=$(cat "$CASE_DIR/rt.pid")
	PIDS_TO_STOP+=("$RT_PID")
	wait_metrics "$url" || return 1
	for _ in $(seq 50); do
		tmux -S "$CASE_DIR/tmux.sock" capture-pane -p -t t | grep -qE '^ +PID +COMM' && break
		sleep 0.1
	done
	tmux -S "$CASE_DIR/tmux.sock" capture-pane -p -t t | grep -qE '^ +PID +COMM' ||
		fail_because "no live view: $(tmux -S "$CASE_DIR/tmux.sock" capture-pane -p -t t)" || return 1
	tmux -S "$CASE_DIR/tmux.sock" send-keys -t t q
	wait_for_file "$CASE_DIR/rt.status" 10 || return 1
	[ "$(cat "$CASE_DIR/rt.status")" = 0 ] && [ ! -s "$CASE_DIR/rt.err" ] ||
		fail_because "exit $(cat "$CASE_DIR/rt.status"): $(cat "$CASE_DIR/rt.err")" || return 1
	tmux -S "$CASE_DIR/tmux.sock" kill-server 2>/dev/null
	return 0
}

# Bad addresses are bad input (exit 2); a port in use is a runtime failure (exit 1); one line
# each, and nothing stays attached.
case_prom_bad_input() {
	local args out status port=8703
	while IFS= read -r args; do
		# shellcheck disable=SC2086
		out=$("$REUSETOP" $args 2>&1 </dev/null)
		status=$?
		[ $status -eq 2 ] || fail_because "'$args': exit $status, want 2: $out" || return 1
		[ "$(wc -l <<<"$out")" = 1 ] && grep -q '^reusetop: invalid listen address' <<<"$out" ||
			fail_because "'$args': not a one-line error: $out" || return 1
	done <<'ARGS'
--prometheus 0
--prometheus 65536
--prometheus localhost:9100
--prometheus ::1:9100
--prometheus [::1]
--prometheus 1.2.3.4:
--prometheus 300.1.1.1:80
ARGS
	out=$("$REUSETOP" --prometheus 2>&1 </dev/null)
	[ $? -eq 2 ] && [ "$(wc -l <<<"$out")" = 1 ] || fail_because "no value: $out" || return 1
	out=$("$REUSETOP" --prometheus 1 --prometheus 2 2>&1 </dev/null)
	[ $? -eq 2 ] && grep -q "given twice" <<<"$out" || fail_because "twice: $out" || return 1
	make_netns || return 1
	start_rig rig --mode reuseport --workers 1 --port $port || return 1
	out=$(ip netns exec "$NETNS" "$REUSETOP" --prometheus 127.0.0.1:$port -n 1 -d 0.1 2>&1)
	status=$?
	[ $status -eq 1 ] || fail_because "port in use: exit $status, want 1: $out" || return 1
	[ "$out" = "reusetop: failed to listen on 127.0.0.1:$port for --prometheus: Address already in use" ] ||
		fail_because "message: $out" || return 1
	! programs_left_by ip netns exec "$NETNS" "$REUSETOP" --prometheus 127.0.0.1:$port -n 1 ||
		fail_because "programs left loaded"
}

# make install puts exactly the binary, the man page, the exporter's unit and the steering
# example under DESTDIR/PREFIX; make uninstall takes them all away again.
case_install_uninstall() {
	local dest=$CASE_DIR/root want got out
	make --no-print-directory -s install DESTDIR="$dest" PREFIX=/usr >"$CASE_DIR/make.log" 2>&1 ||
		fail_because "make install: $(cat "$CASE_DIR/make.log")" || return 1
	want="./usr/sbin/reusetop
./usr/share/man/man8/reusetop.8
./usr/share/reusetop/grafana/reusetop.json
./usr/share/reusetop/kubernetes/Dockerfile
./usr/share/reusetop/kubernetes/reusetop-daemonset.yaml
./usr/share/reusetop/prometheus/reusetop.rules.yml
./usr/share/reusetop/reusetop-exporter.service
./usr/share/reusetop/steer.h
./usr/share/reusetop/steer_example.bpf.c
./usr/share/reusetop/steer_example.bpf.o"
	got=$(cd "$dest" && find . -type f | sort)
	[ "$got" = "$want" ] || fail_because "installed: $got" || return 1
	[ -x "$dest/usr/sbin/reusetop" ] || fail_because "not executable" || return 1
	grep -q '^ExecStart=/usr/sbin/reusetop --prometheus ' \
		"$dest/usr/share/reusetop/reusetop-exporter.service" ||
		fail_because "unit: $(grep ExecStart "$dest/usr/share/reusetop/reusetop-exporter.service")" || return 1
	grep -q '^\.TH REUSETOP 8' "$dest/usr/share/man/man8/reusetop.8" &&
		! grep -q /usr/local/ "$dest/usr/share/man/man8/reusetop.8" ||
		fail_because "man page not installed for PREFIX=/usr" || return 1
	# The unit as systemd reads it (with the binary where DESTDIR put it).
	if command -v systemd-analyze >/dev/null; then
		sed "s|=/usr/sbin/reusetop|=$dest/usr/sbin/reusetop|" \
			"$dest/usr/share/reusetop/reusetop-exporter.service" >"$CASE_DIR/reusetop-exporter.service"
		out=$(systemd-analyze verify --man=no "$CASE_DIR/reusetop-exporter.service" 2>&1) &&
			[ -z "$out" ] || fail_because "systemd-analyze verify: $out" || return 1
	fi
	make --no-print-directory -s uninstall DESTDIR="$dest" PREFIX=/usr >"$CASE_DIR/make.log" 2>&1 ||
		fail_because "make uninstall: $(cat "$CASE_DIR/make.log")" || return 1
	got=$(cd "$dest" && find . -type f)
	[ -z "$got" ] || fail_because "left after uninstall: $got" || return 1
	[ ! -e "$dest/usr/share/reusetop" ] || fail_because "left after uninstall: /usr/share/reusetop"
}

# The man page renders without a warning and names every option of both modes.
case_man_page() {
	local warnings text opt
	warnings=$(groff -man -Tutf8 -ww -z man/reusetop.8 2>&1)
	[ -z "$warnings" ] || fail_because "groff: $warnings" || return 1
	text=$(groff -man -Tascii -P-cbou man/reusetop.8 2>&1)
	for opt in $({ "$REUSETOP" --help; "$REUSETOP" steer --help; } | grep -oE -- '--[a-z][a-z-]*' | sort -u); do
		grep -qF -- "$opt" <<<"$text" || fail_because "man page lacks $opt" || return 1
	done
	# The JSON contract's fields (README.md's "JSON output").
	for opt in time interval_s attach features degraded lost socket_map_full groups proto \
		family addr port netns members enqueued accepted eagain selected wakeups \
		wakeups_per_conn interval_wakeups_per_conn spurious_wakeups imbalance \
		interval_imbalance acceptor_imbalance max_share jain sockets acceptors inode holders \
		share interval_share queue queue_max backlog drops drops_per_s wait_us received \
		connected queue_bytes tid owner servers exited tasks fd closed bound_dev v6only \
		socket_unknown receivers handoffs handoff_received handoff_pending handoff_imbalance \
		handed_off from_pid cgroup container runtime pod_uid pod namespace; do
		grep -qw -- "$opt" <<<"$text" || fail_because "man page lacks the JSON field $opt" || return 1
	done
	grep -q 'EXIT STATUS' <<<"$text" && grep -q 'reusetop_accepted_total' <<<"$text" ||
		fail_because "sections missing"
}

prom_cases() {
	run_case "prometheus: a Prometheus server's stored per-socket counts equal the rig's; promtool passes" \
		case_prom_scrape_exact
	run_case "prometheus: alongside -j, on IPv6; 404, 405, HEAD, Content-Type" case_prom_with_json
	run_case "prometheus: alongside the live view on a terminal" case_prom_with_live_view
	run_case "prometheus: bad addresses exit 2, a port in use exits 1, nothing attached" \
		case_prom_bad_input
	run_case "make install DESTDIR= installs exactly its files; make uninstall removes them" \
		case_install_uninstall
	run_case "man page: renders without warnings, names every option" case_man_page
}
