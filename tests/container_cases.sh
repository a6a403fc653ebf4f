# SPDX-License-Identifier: GPL-2.0
# Container and pod identity (user/observe/identity.c): servers placed in cgroups named the
# way the kubelet and docker name theirs, in network, UTS and mount namespaces of their own, and
# what reusetop says of them in JSON, -b and the Prometheus labels. Sourced by tests/run.sh
# after lib.sh (and prom_cases.sh, for the exporter's helpers).

# The cgroup hierarchies a process's path is read from: on a hybrid or v1 host the v1
# name=systemd one and the unified one beside it; on a v2 host /sys/fs/cgroup itself.
cgroup_roots() {
	if [ "$(stat -f -c %T /sys/fs/cgroup)" = cgroup2fs ]; then
		echo /sys/fs/cgroup
		return
	fi
	[ -d /sys/fs/cgroup/systemd ] && echo /sys/fs/cgroup/systemd
	[ -d /sys/fs/cgroup/unified ] && echo /sys/fs/cgroup/unified
}

random_hex() { # bytes
	od -An -tx1 -N"$1" /dev/urandom | tr -d ' \n'
}

# start_contained NAME CGROUP HOSTNAME K8S_NAMESPACE RIG_ARGS...: rig_server in the case's
# netns and in UTS and mount namespaces of its own, moved into CGROUP (made in every hierarchy)
# before it starts; HOSTNAME set in its UTS namespace when not empty, K8S_NAMESPACE written to
# the service account's namespace file on a tmpfs only its mount namespace sees.
start_contained() {
	local name=$1 cg=$2 host=$3 k8s_ns=$4 root dirs=() pid
	shift 4
	for root in $(cgroup_roots); do
		mkdir -p "$root$cg" || return 1
		dirs+=("$root$cg")
		# Every folder made, for the cleanup (deepest first).
		local d=$cg
		while [ -n "$d" ] && [ "$d" != / ]; do
			CGROUPS_TO_REMOVE+=("$root$d")
			d=$(dirname "$d")
		done
	done
	# Into the cgroup first: `ip netns exec` mounts a sysfs of the netns over /sys.
	ns_exec
	bash -c 'for d in $1; do echo $$ >"$d/cgroup.procs" || exit 1; done; shift; exec "$@"' _ \
		"${dirs[*]}" "${NS_EXEC[@]}" unshare --uts --mount --propagation private bash -c '
		host=$1 k8s_ns=$2
		shift 2
		[ -z "$host" ] || hostname "$host" || exit 1
		if [ -n "$k8s_ns" ]; then
			sa=/run/secrets/kubernetes.io/serviceaccount
			mount -t tmpfs tmpfs /run && mkdir -p $sa && printf "%s\n" "$k8s_ns" >$sa/namespace ||
				exit 1
		fi
		exec "$@"' _ "$host" "$k8s_ns" \
		"$RIG_SERVER" "$@" --stats "$CASE_DIR/$name.stats" --ready "$CASE_DIR/$name.ready" \
		>"$CASE_DIR/$name.out" 2>&1 &
	pid=$!
	PIDS_TO_STOP+=("$pid")
	eval "RIG_${name}=$pid"
	wait_for_file "$CASE_DIR/$name.ready" 10 || { cat "$CASE_DIR/$name.out"; return 1; }
}

# check_identity JSON PORT CGROUP CONTAINER_JSON: every socket of the group on PORT and every
# acceptor with a pid has this cgroup and container (an object, or null), and there are some.
check_identity() {
	local json=$1 port=$2 cg=$3 want=$4 got
	got=$(jq -c --argjson p "$port" --arg cg "$cg" --argjson want "$want" '
		[.groups[] | select(.port == $p) | (.sockets[], (.acceptors[] | select(.pid != null)))] |
		{n: length, bad: [.[] | select(.cgroup != $cg or .container != $want) |
				  {inode, pid, cgroup, container}]}' <<<"$json")
	[ "$(jq .n <<<"$got")" -ge 3 ] || fail_because "port $port: rows: $got" || return 1
	[ "$(jq -c .bad <<<"$got")" = "[]" ] ||
		fail_because "port $port: want cgroup $cg container $want; got $(jq -c '.bad[:2]' <<<"$got")"
}

# A pod (kubelet systemd-driver cgroup, hostname, service account namespace), a docker
# container (cgroupfs driver) and a plain process, side by side: each attributed exactly, in
# JSON, -b and the Prometheus labels. reusetop runs in the case's netns (its exporter's port).
case_container_identity() {
	local uid id pod_cg docker_id docker_cg json pod_want docker_want metrics bpid p
	local port_pod=8801 port_docker=8802 port_plain=8803 plain_cg ports=8801,8802,8803
	uid=$(random_hex 16 | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/')
	id=$(random_hex 32)
	docker_id=$(random_hex 32)
	pod_cg="/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod${uid//-/_}.slice/cri-containerd-$id.scope"
	docker_cg="/docker/$docker_id"
	make_netns || return 1
	start_contained pod "$pod_cg" web-7f9c shop --mode reuseport --workers 2 --port $port_pod ||
		return 1
	start_contained docker "$docker_cg" "${docker_id:0:12}" "" --mode accept --workers 2 \
		--port $port_docker || return 1
	start_rig plain --mode reuseport --workers 2 --port $port_plain || return 1
	plain_cg=$(sed -n 's/^[0-9]*:name=systemd://p' /proc/"$RIG_plain"/cgroup)
	[ -n "$plain_cg" ] || plain_cg=$(sed -n 's/^0:://p' /proc/"$RIG_plain"/cgroup)
	ns_exec
	"${NS_EXEC[@]}" "$REUSETOP" -j -d 0.2 -P $ports --prometheus "127.0.0.1:$PROM_EXPORTER_PORT" \
		>"$CASE_DIR/rt.json" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	"$REUSETOP" -b -d 0.2 -P $ports >"$CASE_DIR/rt.txt" 2>"$CASE_DIR/rtb.err" &
	bpid=$!
	PIDS_TO_STOP+=("$bpid")
	wait_for_file "$CASE_DIR/rt.json" 20 && wait_for_file "$CASE_DIR/rt.txt" 20 || return 1
	for p in $port_pod $port_docker $port_plain; do
		run_client --port $p --count 40 --concurrency 4 || return 1
	done
	json=$(settle_json 0.2)
	metrics=$(ns_curl "http://127.0.0.1:$PROM_EXPORTER_PORT/metrics")
	kill -INT "$bpid"
	wait "$bpid" || fail_because "reusetop -b exited $?: $(cat "$CASE_DIR/rtb.err")" || return 1
	stop_reusetop || return 1
	pod_want=$(jq -nc --arg id "$id" --arg uid "$uid" \
		'{runtime: "containerd", id: $id, pod_uid: $uid, pod: "web-7f9c", namespace: "shop"}')
	docker_want=$(jq -nc --arg id "$docker_id" \
		'{runtime: "docker", id: $id, pod_uid: null, pod: null, namespace: null}')
	check_identity "$json" $port_pod "$pod_cg" "$pod_want" || return 1
	check_identity "$json" $port_docker "$docker_cg" "$docker_want" || return 1
	check_identity "$json" $port_plain "$plain_cg" null || return 1
	# -b: the CONTAINER column of member rows and acceptor rows.
	grep -q " shop/web-7f9c\$" "$CASE_DIR/rt.txt" &&
		grep -q " docker:${docker_id:0:12}\$" "$CASE_DIR/rt.txt" &&
		grep -q "^  *acceptors: .* CONTAINER\$" "$CASE_DIR/rt.txt" ||
		fail_because "-b: $(tail -n 30 "$CASE_DIR/rt.txt")" || return 1
	# Prometheus: the labels where known, none for the plain process.
	grep -q "^reusetop_accepted_total{.*port=\"$port_pod\".*,container=\"$id\",pod=\"web-7f9c\",namespace=\"shop\"} " \
		<<<"$metrics" ||
		fail_because "pod labels: $(grep "port=\"$port_pod\"" <<<"$metrics" | head -n 2)" || return 1
	grep -q "^reusetop_accepted_total{.*port=\"$port_docker\".*,container=\"$docker_id\"} " \
		<<<"$metrics" ||
		fail_because "docker labels: $(grep "port=\"$port_docker\"" <<<"$metrics" | head -n 2)" ||
		return 1
	! grep "port=\"$port_plain\"" <<<"$metrics" | grep -q 'container=\|pod=\|namespace=' ||
		fail_because "plain process labelled: $(grep "port=\"$port_plain\"" <<<"$metrics" | head -n 1)"
}

# The live view: a CONTAINER column once a process shown runs in one (namespace/pod, "-" for
# the others), and the filter matches it. Needs tests/tui_cases.sh's helpers.
case_container_live_view() {
	local uid cid a=8804 b=8805
	uid=$(random_hex 16 | sed -E 's/(.{8})(.{4})(.{4})(.{4})(.{12})/\1-\2-\3-\4-\5/')
	cid=$(random_hex 32)
	make_netns || return 1
	start_contained pod "/kubepods/besteffort/pod$uid/$cid" web-7f9c shop --mode reuseport \
		--workers 2 --port $a || return 1
	start_rig plain --mode reuseport --workers 2 --port $b || return 1
	start_tui -P $a,$b -p "$(rig_pids pod plain)" || return 1
	wait_screen "^TCP 127\.0\.0\.1:$a " 10 && wait_screen "^TCP 127\.0\.0\.1:$b " 10 || return 1
	wait_screen '^ +PID +COMM +CONTAINER +FD ' 5 || return 1
	[ "$(grep -c ' shop/web-7f9c ' <<<"$SCREEN")" = 2 ] ||
		fail_because "want 2 rows in shop/web-7f9c:"$'\n'"$SCREEN" || return 1
	filter shop || return 1
	wait_screen "Filter: shop" 2 || return 1
	[ "$(ports_shown)" = "$a " ] || fail_because "filter shop shows: $(ports_shown)" || return 1
	filter "${cid:0:10}" || return 1
	wait_screen "Filter: ${cid:0:10}" 2 || return 1
	[ "$(ports_shown)" = "$a " ] || fail_because "filter by id shows: $(ports_shown)" || return 1
	filter "" || return 1
	wait_screen_not "Filter:" 2 || return 1
	[ "$(ports_shown)" = "$a $b " ] || [ "$(ports_shown)" = "$b $a " ] ||
		fail_because "unfiltered: $(ports_shown)" || return 1
	keys q
	wait_for_file "$CASE_DIR/rt.status" 5 || return 1
	[ "$(cat "$CASE_DIR/rt.status")" = 0 ] && [ ! -s "$CASE_DIR/rt.err" ] ||
		fail_because "exit $(cat "$CASE_DIR/rt.status"): $(cat "$CASE_DIR/rt.err")"
}

container_cases() {
	run_case "containers: a pod, a docker container and a plain process, each attributed exactly (JSON, -b, Prometheus)" \
		case_container_identity
	run_case "containers: the live view's CONTAINER column, and its filter" case_container_live_view
}
