# SPDX-License-Identifier: GPL-2.0
# What the fleet gets (dist/): the Prometheus rules under promtool, the Grafana dashboard's every
# query against a real Prometheus scraping reusetop under load, and the DaemonSet manifest.
# Sourced by tests/run.sh after lib.sh, prom_cases.sh (the exporter's and Prometheus's helpers),
# steer_cases.sh (st_begin) and container_cases.sh (start_contained).

FLEET_RULES=dist/prometheus/reusetop.rules.yml
FLEET_DASHBOARD=dist/grafana/reusetop.json

# The rules load, and every alert fires on its case and not on its control.
case_fleet_rules() {
	local out
	out=$(promtool check rules "$FLEET_RULES" 2>&1) ||
		fail_because "promtool check rules: $out" || return 1
	out=$(promtool test rules tests/prometheus/rules.test.yml 2>&1) ||
		fail_because "promtool test rules: $out" || return 1
	grep -q SUCCESS <<<"$out" || fail_because "promtool said: $out"
}

# The dashboard's queries with its variables set to All (the port to this case's), one per line.
fleet_dashboard_queries() { # port_regex
	jq -r '.panels[].targets[].expr' "$FLEET_DASHBOARD" |
		sed -e 's/\$instance/.*/g; s/\$namespace/.*/g; s/\$pod/.*/g' \
			-e "s/\\\$port/$1/g" -e 's/\$__rate_interval/10s/g'
}

# Prometheus scrapes reusetop while a simulated pod serves a steered reuseport group and a
# plain process a shared listener; then every query of every dashboard panel must return data,
# and every variable values. A query that names a missing metric or label returns nothing.
case_fleet_dashboard_queries() {
	local uid cid port_pod=8811 port_plain=8812 q n empty=() i values var
	st_begin || return 1
	uid=$(random_hex 16 | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/')
	cid=$(random_hex 32)
	start_contained pod "/kubepods/burstable/pod$uid/$cid" web-0 shop --mode reuseport \
		--workers 4 --port $port_pod || return 1
	start_rig plain --mode epoll --workers 4 --port $port_plain || return 1
	st_steer --port $port_pod --policy roundrobin
	[ "$ST_RC" = 0 ] || fail_because "steer: $(cat "$CASE_DIR/steer.err")" || return 1
	# nsenter, not `ip netns exec`: that mounts a sysfs over /sys, hiding the steering pins
	# in /sys/fs/bpf.
	nsenter --net="/run/netns/$NETNS" "$REUSETOP" --prometheus "127.0.0.1:$PROM_EXPORTER_PORT" \
		-d 1 -P $port_pod,$port_plain >"$CASE_DIR/rt.out" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	wait_metrics "http://127.0.0.1:$PROM_EXPORTER_PORT/metrics" || return 1
	start_prometheus || return 1
	# Load for 15 s: the 10 s rate windows then hold about 10 scrapes taken under load.
	for i in $(seq 15); do
		run_client --port $port_pod --count 40 --concurrency 4 || return 1
		run_client --port $port_plain --count 40 --concurrency 4 || return 1
		sleep 0.8
	done
	n=0
	while IFS= read -r q; do
		n=$((n + 1))
		[ "$(prom_query "$q" | jq length)" -gt 0 ] || empty+=("$q")
	done < <(fleet_dashboard_queries "$port_pod|$port_plain")
	[ "$n" -ge 8 ] || fail_because "only $n queries in the dashboard" || return 1
	[ ${#empty[@]} = 0 ] || fail_because "no data for ${#empty[@]} of $n queries: ${empty[*]}" ||
		return 1
	# The variables: label_values(METRIC{...}, LABEL), through Prometheus's series API.
	for var in instance namespace pod port; do
		q=$(jq -r --arg v "$var" '.templating.list[] | select(.name == $v) | .definition' \
			"$FLEET_DASHBOARD" | sed -E 's/^label_values\((.*), *([a-z_]+)\)$/\1 \2/' |
			sed -e 's/\$instance/.*/g; s/\$namespace/.*/g; s/\$pod/.*/g')
		values=$(ns_curl -G --data-urlencode "match[]=${q% *}" \
			"http://127.0.0.1:$PROM_SERVER_PORT/api/v1/series" |
			jq -c --arg l "${q##* }" '[.data[][$l] // empty] | unique')
		echo "variable $var: $values"
		case $var in
		namespace) want='"shop"' ;;
		pod) want='"web-0"' ;;
		port) want="\"$port_pod\"" ;;
		*) want='"127.0.0.1:'$PROM_EXPORTER_PORT'"' ;;
		esac
		grep -q "$want" <<<"$values" || fail_because "variable $var: $values, want $want" ||
			return 1
	done
	st_ok --port $port_pod --detach || return 1
	stop_reusetop
}

fleet_cases() {
	run_case "fleet: Prometheus rules pass promtool check and their unit tests" case_fleet_rules
	run_case "fleet: every Grafana dashboard query and variable has data from a real Prometheus" \
		case_fleet_dashboard_queries
}
