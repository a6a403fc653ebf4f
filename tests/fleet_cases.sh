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

# fleet_exact JSON PORT N STATS: the group on PORT accepted exactly N, each socket what its
# worker (in STATS) counted.
fleet_exact() { # json port total stats_file
	local got
	got=$(jq -c --argjson p "$2" '[.groups[] | select(.port == $p)][0] |
		{accepted, per: ([.sockets[] | {key: (.inode | tostring), value: .accepted}] | from_entries)}' <<<"$1")
	[ "$(jq .accepted <<<"$got")" = "$3" ] || fail_because "port $2: $got, want $3" || return 1
	while IFS= read -r line; do
		[ "$(jq --arg i "$(jq .inode <<<"$line")" '.per[$i]' <<<"$got")" = "$(jq .accepted <<<"$line")" ] ||
			fail_because "port $2: worker $line, reusetop $got" || return 1
	done <"$4"
}

# make deb: lintian finds no error; the package installs with dpkg (into a root of the case's,
# against the host's package database: its dependencies are checked for real), its files are
# where they belong, and the installed binary counts the rig exactly; it removes cleanly.
case_fleet_deb() {
	local deb root=$CASE_DIR/root out files port=8821 json
	make --no-print-directory -s deb >"$CASE_DIR/make.log" 2>&1 ||
		fail_because "make deb: $(cat "$CASE_DIR/make.log")" || return 1
	deb=$(ls "$BUILD"/reusetop_*_"$(dpkg --print-architecture)".deb) || return 1
	out=$(lintian --fail-on error "$deb" 2>&1) || fail_because "lintian: $out" || return 1
	! grep -q '^E: ' <<<"$out" || fail_because "lintian: $out" || return 1
	mkdir -p "$root/var/lib/dpkg/info" "$root/var/lib/dpkg/updates" &&
		cp /var/lib/dpkg/status "$root/var/lib/dpkg/status" &&
		touch "$root/var/lib/dpkg/available" || return 1
	out=$(dpkg --root="$root" -i "$deb" 2>&1) || fail_because "dpkg -i: $out" || return 1
	files=$(dpkg --root="$root" -L reusetop 2>/dev/null)
	for f in /usr/sbin/reusetop /usr/share/man/man8/reusetop.8.gz \
		/usr/share/reusetop/steer_example.bpf.c /usr/share/reusetop/steer.h \
		/usr/lib/reusetop/steer_example.bpf.o /usr/share/reusetop/reusetop-exporter.service \
		/usr/share/reusetop/grafana/reusetop.json /usr/share/reusetop/prometheus/reusetop.rules.yml \
		/usr/share/reusetop/kubernetes/reusetop-daemonset.yaml /usr/share/doc/reusetop/copyright; do
		grep -qx "$f" <<<"$files" && [ -f "$root$f" ] || fail_because "not installed: $f" || return 1
	done
	zcat "$root/usr/share/man/man8/reusetop.8.gz" | groff -man -Tutf8 -ww -z 2>&1 | grep . &&
		fail_because "the installed manual does not render cleanly" && return 1
	make_netns || return 1
	start_rig a --mode reuseport --workers 2 --port $port || return 1
	REUSETOP="$root/usr/sbin/reusetop" start_reusetop -d 0.2 -P $port || return 1
	run_client --port $port --count 100 --concurrency 4 || return 1
	json=$(settle_json 0.2)
	stop_reusetop || return 1
	stop_rig a || return 1
	fleet_exact "$json" $port 100 "$CASE_DIR/a.stats" || return 1
	out=$(dpkg --root="$root" -r reusetop 2>&1) ||
		fail_because "dpkg -r: $(grep -v 'files list file' <<<"$out")" || return 1
	[ -z "$(find "$root/usr" -type f 2>/dev/null)" ] ||
		fail_because "left after removal: $(find "$root/usr" -type f)"
}

# make static: one file, statically linked, that runs in a root holding nothing but itself
# (and /proc, /sys, /dev) and counts the rig exactly; --prometheus is refused there (exit 2).
case_fleet_static() {
	local bin=$BUILD/static/reusetop jail=$CASE_DIR/jail port=8822 json status
	make --no-print-directory -s static >"$CASE_DIR/make.log" 2>&1 ||
		fail_because "make static: $(cat "$CASE_DIR/make.log")" || return 1
	file -L "$bin" | grep -q 'statically linked' || fail_because "$(file -L "$bin")" || return 1
	mkdir -p "$jail/proc" "$jail/sys" "$jail/dev" "$jail/tmp" && cp "$bin" "$jail/reusetop" || return 1
	make_netns || return 1
	start_rig a --mode reuseport --workers 2 --port $port || return 1
	unshare --mount --propagation private sh -c '
		mount --rbind /proc "$1/proc" && mount --rbind /sys "$1/sys" &&
		mount --rbind /dev "$1/dev" || exit 1
		exec chroot "$1" /reusetop -j -d 0.2 -P "$2"' _ "$jail" $port \
		>"$CASE_DIR/rt.json" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	wait_for_file "$CASE_DIR/rt.json" 20 || { cat "$CASE_DIR/rt.err"; return 1; }
	run_client --port $port --count 100 --concurrency 4 || return 1
	json=$(settle_json 0.2)
	stop_reusetop || return 1
	stop_rig a || return 1
	fleet_exact "$json" $port 100 "$CASE_DIR/a.stats" || return 1
	"$bin" --prometheus 9999 -n 1 >/dev/null 2>"$CASE_DIR/prom.err"
	status=$?
	[ $status = 2 ] && grep -q '^reusetop: ' "$CASE_DIR/prom.err" ||
		fail_because "--prometheus in the static build: exit $status, $(cat "$CASE_DIR/prom.err")"
}

# The DaemonSet: host pid namespace, root with exactly the capabilities the exporter's unit
# (and the README) name, each mount backed by a volume, and its arguments accepted by reusetop
# (it serves /metrics with them).
case_fleet_daemonset() {
	local manifest=dist/kubernetes/reusetop-daemonset.yaml unit_caps out args
	unit_caps=$(sed -n 's/^CapabilityBoundingSet=//p' dist/reusetop-exporter.service |
		tr ' ' '\n' | sed 's/^CAP_//' | sort | tr '\n' ' ')
	out=$(python3 - "$manifest" "$unit_caps" <<'PY'
import sys, yaml
doc = yaml.safe_load(open(sys.argv[1]))
want_caps = sorted(sys.argv[2].split())
assert doc["kind"] == "DaemonSet" and doc["apiVersion"] == "apps/v1", "kind"
spec = doc["spec"]["template"]["spec"]
assert doc["spec"]["selector"]["matchLabels"].items() <= doc["spec"]["template"]["metadata"]["labels"].items(), "selector"
assert spec.get("hostPID") is True, "hostPID"
(c,) = spec["containers"]
sc = c["securityContext"]
assert sc["runAsUser"] == 0 and not sc.get("privileged"), "root, not privileged"
assert sc["capabilities"]["drop"] == ["ALL"], "drop ALL"
assert sorted(sc["capabilities"]["add"]) == want_caps, "caps %s, unit %s" % (sc["capabilities"]["add"], want_caps)
volumes = {v["name"]: v for v in spec["volumes"]}
mounts = {m["mountPath"]: m for m in c["volumeMounts"]}
assert all(m["name"] in volumes for m in mounts.values()), "a mount without a volume"
assert volumes[mounts["/sys/kernel/tracing"]["name"]]["hostPath"]["path"] == "/sys/kernel/tracing"
assert volumes[mounts["/sys/fs/bpf"]["name"]]["hostPath"]["path"] == "/sys/fs/bpf"
port = c["ports"][0]["containerPort"]
assert "--prometheus" in c["args"] and c["args"][c["args"].index("--prometheus") + 1].endswith(":%d" % port), "port"
print(" ".join(c["args"]))
PY
	) || fail_because "manifest: $out" || return 1
	args=$out
	make_netns || return 1
	ns_exec
	# shellcheck disable=SC2086
	"${NS_EXEC[@]}" "$REUSETOP" $args >"$CASE_DIR/rt.out" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	wait_metrics "http://127.0.0.1:9477/metrics" || return 1
	stop_reusetop
}

fleet_cases() {
	run_case "fleet: Prometheus rules pass promtool check and their unit tests" case_fleet_rules
	run_case "fleet: every Grafana dashboard query and variable has data from a real Prometheus" \
		case_fleet_dashboard_queries
	run_case "fleet: make deb passes lintian, installs with dpkg, the installed binary counts exactly" \
		case_fleet_deb
	run_case "fleet: make static runs alone in an empty root and counts exactly" case_fleet_static
	run_case "fleet: the DaemonSet has the host's pids, the measured capabilities, its mounts" \
		case_fleet_daemonset
}
