# SPDX-License-Identifier: GPL-2.0
# `reusetop steer` against the rig: the sanitized reusetop attaches its policies to the rig's
# reuseport group (a server that never heard of reusetop), and the rig's own per-worker counts
# say where every connection or datagram went. Modelled on the kernel's select_reuseport,
# migrate_reuseport and reuseport_bpf_cpu selftests: each case in a fresh network namespace,
# exact numbers, and a control where the assertion must be able to fail. Sourced by
# tests/run.sh after lib.sh.

ST_PORT=8471

# ---- helpers (st_ prefix: run inside a case's subshell) -----------------------------------

# A fresh namespace, and pins of this namespace's groups removed however the case ends (the
# groups themselves die with the rig, and their programs with them).
st_begin() {
	make_netns || return 1
	trap 'st_cleanup; case_cleanup' EXIT
}

st_pins() {
	ls -d /sys/fs/bpf/reusetop/*-"$NETNS_INODE"-* 2>/dev/null
}

st_cleanup() {
	local d
	for d in $(st_pins); do rm -rf "$d"; done
	return 0
}

# st_steer ARGS...: reusetop steer on the case's namespace. Exit status in ST_RC, output in
# $CASE_DIR/steer.out and steer.err (also copied to the log).
st_steer() {
	"$REUSETOP" steer --netns "$NETNS_INODE" "$@" >"$CASE_DIR/steer.out" 2>"$CASE_DIR/steer.err"
	ST_RC=$?
	echo "steer $*: exit $ST_RC"
	sed 's/^/    /' "$CASE_DIR/steer.out" "$CASE_DIR/steer.err"
	return 0
}

# st_ok ARGS...: st_steer that must exit 0 with nothing on stderr (sanitizers included).
st_ok() {
	st_steer "$@"
	[ "$ST_RC" = 0 ] || fail_because "steer $* exited $ST_RC: $(cat "$CASE_DIR/steer.err")" || return 1
	[ ! -s "$CASE_DIR/steer.err" ] || fail_because "steer $* wrote to stderr: $(cat "$CASE_DIR/steer.err")"
}

# st_fails STATUS PATTERN ARGS...: exit STATUS and one line "reusetop: ..." matching PATTERN.
st_fails() {
	local want=$1 pattern=$2
	shift 2
	st_steer "$@"
	[ "$ST_RC" = "$want" ] || fail_because "steer $* exited $ST_RC, want $want" || return 1
	[ "$(wc -l <"$CASE_DIR/steer.err")" = 1 ] && grep -q "^reusetop: .*$pattern" "$CASE_DIR/steer.err" ||
		fail_because "steer $*: want one line matching '$pattern': $(cat "$CASE_DIR/steer.err")"
}

# st_show ARGS...: the group's --show --json document (fails on anything on stderr).
st_show() {
	local out
	out=$("$REUSETOP" steer --netns "$NETNS_INODE" --show --json "$@" 2>"$CASE_DIR/show.err") ||
		fail_because "--show $* failed: $(cat "$CASE_DIR/show.err")" || return 1
	[ ! -s "$CASE_DIR/show.err" ] || fail_because "--show stderr: $(cat "$CASE_DIR/show.err")" || return 1
	echo "$out"
}

# Nothing of reusetop in the group: no program per the kernel, no pins.
st_nothing_attached() {
	local json
	json=$(st_show "$@") || return 1
	[ "$(jq -c .program <<<"$json")" = null ] || fail_because "a program is attached: $json" || return 1
	[ -z "$(st_pins)" ] || fail_because "pins left: $(st_pins)"
}

# The rig's worker pids in fork order (W0 W1 ...).
st_workers() {
	local pid
	eval "pid=\$RIG_$1"
	pgrep -P "$pid" | sort -n | tr '\n' ' '
}

# What the rig's worker (by pid or by socket inode) counted.
st_accepted() { # stats pid
	jq -s --argjson p "$2" '[.[] | select(.pid == $p) | .accepted] | add // 0' "$1"
}
st_accepted_ino() { # stats inode
	jq -s --argjson i "$2" '[.[] | select(.inode == $i) | .accepted] | add // 0' "$1"
}

# Inodes of the members in slot order (the order the policies use), from --show.
st_slot_inodes() { # json
	jq -r '[.members[] | select(.slot != null)] | sort_by(.slot) | .[].inode' <<<"$1" | tr '\n' ' '
}

# Every member's real selections in --show (by the policy, or in shadow mode by the kernel's
# hash as the program counted them) equal what the rig counted for it; no fallbacks.
st_check_selected() { # json stats
	local json=$1 stats=$2 ino sel acc
	[ "$(jq .fallbacks <<<"$json")" = 0 ] || fail_because "fallbacks: $json" || return 1
	for ino in $(jq -r '.members[].inode' <<<"$json"); do
		sel=$(jq --argjson i "$ino" '.members[] | select(.inode == $i) |
			.selected + (.hash_selected // 0)' <<<"$json")
		acc=$(st_accepted_ino "$stats" "$ino")
		[ "$sel" = "$acc" ] || fail_because "socket $ino: reusetop selected $sel, the rig counted $acc" || return 1
	done
}

# st_client PROTO ADDR COUNT [args]: TCP connections 8 at a time, or datagrams at a pace the
# workers keep up with (a full receive queue would drop some: that is not the policy's doing).
#
# Round-robin and weighted rotate per CPU: the shares are exact over what one CPU handled, and
# within one connection per CPU over all. On loopback a SYN or datagram is handled on the CPU of
# the thread that sent it, so cases that assert exact per-member counts pin their client to one
# CPU (ST_PIN; the rig client's --cpu sets the affinity before it starts any thread).
ST_PIN=(--cpu 0)
st_client() {
	local proto=$1 addr=$2 count=$3
	shift 3
	if [ "$proto" = udp ]; then
		run_client --proto udp --addr "$addr" --port $ST_PORT --count "$count" --rate 4000 "$@"
	else
		run_client --addr "$addr" --port $ST_PORT --count "$count" --concurrency 8 "$@"
	fi
}

# ---- cases --------------------------------------------------------------------------------

# st_split_case PROTO ADDR EXPECTED STEER-ARGS...: 4 workers, 400 connections (TCP) or
# datagrams (UDP) under the policy; EXPECTED is each worker's exact count, in fork order.
# @Wi@ and @Ii@ in the arguments become worker i's pid and its socket's inode.
st_split_case() {
	local proto=$1 addr=$2 expected=$3 json i n want args=() a I=()
	shift 3
	st_begin || return 1
	# A backlog no burst fills: a dropped SYN would be selected again (case_steer_rr_rounds).
	start_rig rig --mode reuseport --workers 4 --proto "$proto" --addr "$addr" --port $ST_PORT \
		--backlog 4096 || return 1
	read -r -a W <<<"$(st_workers rig)"
	[ "${#W[@]}" = 4 ] || fail_because "want 4 workers: ${W[*]}" || return 1
	json=$(st_show --port $ST_PORT --proto "$proto") || return 1
	for i in 0 1 2 3; do
		I[$i]=$(jq --argjson p "${W[$i]}" '.members[] | select(.pid == $p) | .inode' <<<"$json")
	done
	for a in "$@"; do
		for i in 0 1 2 3; do a=${a//@W$i@/${W[$i]}}; a=${a//@I$i@/${I[$i]}}; done
		args+=("$a")
	done
	st_ok --port $ST_PORT --proto "$proto" "${args[@]}" || return 1
	st_client "$proto" "$addr" 400 "${ST_PIN[@]}" || return 1
	json=$(st_show --port $ST_PORT --proto "$proto") || return 1
	echo "show: $json"
	jq -e '.program.owner == "reusetop" and .program.type == "sk_reuseport"
		and .program.attach_type == "select_or_migrate"' <<<"$json" >/dev/null ||
		fail_because "program: $(jq -c .program <<<"$json")" || return 1
	st_ok --port $ST_PORT --proto "$proto" --detach || return 1
	st_nothing_attached --port $ST_PORT --proto "$proto" || return 1
	stop_rig rig || return 1
	i=0
	for want in $expected; do
		n=$(st_accepted "$CASE_DIR/rig.stats" "${W[$i]}")
		echo "worker $i (pid ${W[$i]}): $n, want $want"
		[ "$n" = "$want" ] || fail_because "worker $i got $n, want $want" || return 1
		i=$((i + 1))
	done
	st_check_selected "$json" "$CASE_DIR/rig.stats"
}

# Drain: the drained member gets nothing, nothing is lost, the others share round-robin.
case_steer_drain() {
	local json n total=0 w
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	read -r -a W <<<"$(st_workers rig)"
	st_ok --port $ST_PORT --policy roundrobin --drain "${W[2]}" || return 1
	st_client tcp 127.0.0.1 400 "${ST_PIN[@]}" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	jq -e --argjson p "${W[2]}" '.members[] | select(.pid == $p) | .drained' <<<"$json" >/dev/null ||
		fail_because "drained member not shown drained: $json" || return 1
	stop_rig rig || return 1
	for w in 0 1 2 3; do
		n=$(st_accepted "$CASE_DIR/rig.stats" "${W[$w]}")
		echo "worker $w: $n"
		total=$((total + n))
		if [ $w = 2 ]; then
			[ "$n" = 0 ] || fail_because "drained worker got $n" || return 1
		else
			[ "$n" = 133 ] || [ "$n" = 134 ] || fail_because "worker $w got $n, want 133 or 134" || return 1
		fi
	done
	[ $total = 400 ] || fail_because "the rig accepted $total of 400"
}

# Detach: after weights 3,1,0,0 and --detach, the kernel's hash spreads over all four again.
case_steer_detach_restores_hash() {
	local n w
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	read -r -a W <<<"$(st_workers rig)"
	st_ok --port $ST_PORT --policy weighted --weight "${W[0]}=3,${W[1]}=1,${W[2]}=0,${W[3]}=0" || return 1
	st_ok --port $ST_PORT --detach || return 1
	grep -q "detached weighted program" "$CASE_DIR/steer.out" || fail_because "detach said: $(cat "$CASE_DIR/steer.out")" || return 1
	st_nothing_attached --port $ST_PORT || return 1
	# A second detach has nothing to do, and says so.
	st_ok --port $ST_PORT --detach || return 1
	grep -q "no program attached" "$CASE_DIR/steer.out" || fail_because "second detach: $(cat "$CASE_DIR/steer.out")" || return 1
	st_client tcp 127.0.0.1 400 || return 1
	stop_rig rig || return 1
	# Binomial(400, 1/4): mean 100, sd 8.7; [40, 160] is 7 sd wide.
	for w in 0 1 2 3; do
		n=$(st_accepted "$CASE_DIR/rig.stats" "${W[$w]}")
		echo "worker $w: $n"
		[ "$n" -ge 40 ] && [ "$n" -le 160 ] || fail_because "worker $w got $n: not the hash's spread" || return 1
	done
}

# The hash policy makes the kernel's kind of choice visible: per-member counts equal the rig's.
case_steer_hash_visible() {
	local json sum
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	st_ok --port $ST_PORT --policy hash || return 1
	st_client tcp 127.0.0.1 400 || return 1
	json=$(st_show --port $ST_PORT) || return 1
	stop_rig rig || return 1
	sum=$(jq '[.members[].selected] | add' <<<"$json")
	[ "$sum" = 400 ] || fail_because "selections add up to $sum, want 400: $json" || return 1
	st_check_selected "$json" "$CASE_DIR/rig.stats" || return 1
	jq -e '[.members[].selected] | min > 40' <<<"$json" >/dev/null || fail_because "not a hash spread: $json"
}

# cpu: with the client pinned to CPU c, every SYN is handled on c and lands on member c mod 4.
case_steer_cpu() {
	local json cpus c inodes ino i n want
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	st_ok --port $ST_PORT --policy cpu || return 1
	cpus=$(nproc)
	[ "$cpus" -gt 8 ] && cpus=8
	for c in $(seq 0 $((cpus - 1))); do
		run_client --port $ST_PORT --count 50 --concurrency 2 --cpu "$c" || return 1
	done
	json=$(st_show --port $ST_PORT) || return 1
	read -r -a inodes <<<"$(st_slot_inodes "$json")"
	stop_rig rig || return 1
	for i in 0 1 2 3; do
		ino=${inodes[$i]}
		want=0
		for c in $(seq 0 $((cpus - 1))); do [ $((c % 4)) = $i ] && want=$((want + 50)); done
		n=$(st_accepted_ino "$CASE_DIR/rig.stats" "$ino")
		echo "member $i (socket $ino): $n, want $want ($cpus CPUs)"
		[ "$n" = "$want" ] || fail_because "member $i got $n, want $want" || return 1
	done
}

# least-loaded: a stalled worker (one accept per 500 ms, backlog 4) gets no more than its
# backlog; the others take the rest, and every client is served.
case_steer_least_loaded() {
	local n total=0 w slow
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT --backlog 4 \
		--slow-worker 0 --slow-ms 500 || return 1
	read -r -a W <<<"$(st_workers rig)"
	st_ok --port $ST_PORT --policy least-loaded || return 1
	for l in link_ready link_accept4 link_accept; do
		[ -e "$(st_pins)/$l" ] || fail_because "load tracker $l not pinned: $(ls "$(st_pins)")" || return 1
	done
	run_client --port $ST_PORT --count 400 --concurrency 4 || return 1
	st_ok --port $ST_PORT --detach || return 1
	st_nothing_attached --port $ST_PORT || return 1
	stop_rig rig || return 1
	slow=$(st_accepted "$CASE_DIR/rig.stats" "${W[0]}")
	echo "stalled worker: $slow"
	[ "$slow" -le 4 ] || fail_because "the stalled worker got $slow, more than its backlog 4" || return 1
	for w in 1 2 3; do
		n=$(st_accepted "$CASE_DIR/rig.stats" "${W[$w]}")
		echo "worker $w: $n"
		[ "$n" -ge 80 ] || fail_because "worker $w got only $n" || return 1
		total=$((total + n))
	done
	[ $((total + slow)) = 400 ] || fail_because "the rig accepted $((total + slow)) of 400"
}

# Where each of the flows (UDP source ports 41000...) lands, with every worker stopped so the
# datagrams stay queued: the member whose receive queue grew. One line per flow: "flow inode".
st_flow_map() { # flows
	local prev cur f
	st_queues() {
		"${NS_EXEC[@]}" ss -uanHe "sport = :$ST_PORT" 2>/dev/null |
			awk '{ for (i = 1; i <= NF; i++) if ($i ~ /^ino:/) print substr($i, 5), $2 }' | sort
	}
	ns_exec
	prev=$(st_queues)
	for f in $(seq 0 $(($1 - 1))); do
		"${NS_EXEC[@]}" "$RIG_CLIENT" --proto udp --port $ST_PORT --count 1 \
			--sport-range $((41000 + f))-$((41000 + f)) >/dev/null || return 1
		cur=$(st_queues)
		echo "$f $(join <(echo "$prev") <(echo "$cur") | awk '$3 > $2 { print $1 }')"
		prev=$cur
	done
}

# Flows of members other than $3 that moved between maps $1 and $2; "moved/of-others/drained".
st_moved() {
	join "$1" "$2" | awk -v k="$3" '
		$2 == "" || $3 == "" { bad++ }
		$2 == k { drained++; if ($3 == k) stayed++ }
		$2 != k { others++; if ($2 != $3) moved++ }
		END { if (bad || stayed) print "bad"; else print moved + 0 "/" others + 0 "/" drained + 0 }'
}

# consistent (Maglev): removing a member moves only its own flows; the hash over the remaining
# members (the control) moves many others too. Each flow's member is seen in the kernel's
# receive queues; the rig's totals confirm them.
case_steer_consistent_udp() {
	local flows=120 k c ino total
	st_begin || return 1
	start_rig rig --mode reuseport --proto udp --workers 4 --port $ST_PORT || return 1
	read -r -a W <<<"$(st_workers rig)"
	k=$(jq -r --argjson p "${W[3]}" '.members[] | select(.pid == $p) | .inode' <<<"$(st_show --port $ST_PORT --proto udp)")
	kill -STOP "${W[@]}"
	st_ok --port $ST_PORT --proto udp --policy consistent || return 1
	st_flow_map $flows >"$CASE_DIR/c1" || return 1
	st_ok --port $ST_PORT --proto udp --drain "${W[3]}" || return 1
	st_flow_map $flows >"$CASE_DIR/c2" || return 1
	c=$(st_moved "$CASE_DIR/c1" "$CASE_DIR/c2" "$k")
	echo "consistent: moved/other flows/flows of the removed member: $c"
	# The control: the same with the hash policy.
	st_ok --port $ST_PORT --proto udp --policy hash || return 1
	st_flow_map $flows >"$CASE_DIR/h1" || return 1
	st_ok --port $ST_PORT --proto udp --drain "${W[3]}" || return 1
	st_flow_map $flows >"$CASE_DIR/h2" || return 1
	h=$(st_moved "$CASE_DIR/h1" "$CASE_DIR/h2" "$k")
	echo "hash: moved/other flows/flows of the removed member: $h"
	kill -CONT "${W[@]}"
	stop_rig rig || return 1
	[ "$c" != bad ] && [ "$h" != bad ] || fail_because "a flow was not seen, or stayed on the drained member" || return 1
	# Maglev keeps nearly every other flow in place (its table is rebuilt, not remapped).
	[ "${c%%/*}" -le $((flows / 20)) ] || fail_because "consistent moved ${c%%/*} flows of other members" || return 1
	[ "$(cut -d/ -f3 <<<"$c")" -gt 0 ] || fail_because "the removed member had no flows" || return 1
	[ "${h%%/*}" -gt $((flows / 10)) ] || fail_because "control: the hash moved only ${h%%/*} other flows" || return 1
	# The rig's own counts agree with where the flows were seen, member by member.
	for ino in $(jq -r '.inode' "$CASE_DIR/rig.stats"); do
		total=$(cat "$CASE_DIR/c1" "$CASE_DIR/c2" "$CASE_DIR/h1" "$CASE_DIR/h2" | awk -v i="$ino" '$2 == i' | wc -l)
		[ "$(st_accepted_ino "$CASE_DIR/rig.stats" "$ino")" = "$total" ] ||
			fail_because "socket $ino: rig counted $(st_accepted_ino "$CASE_DIR/rig.stats" "$ino"), flows seen $total" || return 1
	done
}

# A custom policy: the example (source port P -> member P mod N), exact per member.
case_steer_custom_object() {
	local json inodes i n want
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	st_fails 2 "no sk_reuseport program named nope" --port $ST_PORT \
		--object "$BUILD/steer_example.bpf.o" --program nope || return 1
	st_fails 2 "accept.bpf.o has no sk_reuseport program" --port $ST_PORT --object "$BUILD/accept.bpf.o" || return 1
	st_nothing_attached --port $ST_PORT || return 1
	st_ok --port $ST_PORT --object "$BUILD/steer_example.bpf.o" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	jq -e '.policy == "custom" and .program.name == "sport_affinity" and
		(.object | endswith("steer_example.bpf.o"))' <<<"$json" >/dev/null ||
		fail_because "show: $json" || return 1
	# Source ports 40002..40151: 38 of them are 2 or 3 mod 4, 37 are 0 or 1.
	run_client --port $ST_PORT --count 150 --concurrency 4 --sport-range 40002-40151 || return 1
	json=$(st_show --port $ST_PORT) || return 1
	read -r -a inodes <<<"$(st_slot_inodes "$json")"
	stop_rig rig || return 1
	for i in 0 1 2 3; do
		want=$([ $i -ge 2 ] && echo 38 || echo 37)
		n=$(st_accepted_ino "$CASE_DIR/rig.stats" "${inodes[$i]}")
		echo "member $i: $n, want $want"
		[ "$n" = "$want" ] || fail_because "member $i got $n, want $want" || return 1
	done
	st_check_selected "$json" "$CASE_DIR/rig.stats"
}

# Queued connections of a member that closes under --drain --follow are migrated, not reset;
# --follow then drops the closed member and adds a new worker's socket. The control (no
# steering) loses them.
st_migration_run() { # steer|none rig-name
	local mode=$1 rig=$2 queued n total=0 w follow
	start_rig "$rig" --mode reuseport --workers 4 --port $ST_PORT --backlog 128 \
		--slow-worker 3 --slow-ms 20000 || return 1
	read -r -a W <<<"$(st_workers "$rig")"
	ns_exec
	"${NS_EXEC[@]}" "$RIG_CLIENT" --port $ST_PORT --count 200 --concurrency 200 >"$CASE_DIR/client.out" 2>&1 &
	local client=$!
	PIDS_TO_STOP+=("$client")
	sleep 0.5
	if [ "$mode" = steer ]; then
		"$REUSETOP" steer --netns "$NETNS_INODE" --port $ST_PORT --policy roundrobin \
			--drain "${W[3]}" --follow --interval 0.1 >"$CASE_DIR/follow.out" 2>"$CASE_DIR/follow.err" &
		follow=$!
		PIDS_TO_STOP+=("$follow")
		sleep 0.5
	fi
	queued=$("${NS_EXEC[@]}" ss -ltnH "sport = :$ST_PORT" | awk '{ print $2 }' | sort -n | tail -n 1)
	echo "connections queued at the stalled worker: $queued"
	[ "$queued" -ge 10 ] || fail_because "only $queued queued at the stalled worker" || return 1
	kill -TERM "${W[3]}"
	wait "$client"
	CLIENT_RC=$?
	echo "client: $(cat "$CASE_DIR/client.out")"
	if [ "$mode" = none ]; then
		stop_rig "$rig"
		return 0
	fi
	[ $CLIENT_RC = 0 ] || fail_because "clients lost: $(cat "$CASE_DIR/client.out")" || return 1
	sleep 0.5
	json=$(st_show --port $ST_PORT) || return 1
	[ "$(jq '.members | length' <<<"$json")" = 3 ] || fail_because "closed member still shown: $json" || return 1
	[ "$(jq '[.members[].migrated] | add' <<<"$json")" = "$queued" ] ||
		fail_because "migrated $(jq -c '[.members[].migrated]' <<<"$json"), want $queued in all" || return 1
	# A new worker joins the group: --follow adds it, round-robin includes it.
	start_rig rig2 --mode reuseport --workers 1 --port $ST_PORT || return 1
	sleep 0.5
	grep -q "member added" "$CASE_DIR/follow.out" ||
		fail_because "follow: $(cat "$CASE_DIR/follow.out" "$CASE_DIR/follow.err")" || return 1
	run_client --port $ST_PORT --count 400 --concurrency 4 "${ST_PIN[@]}" || return 1
	kill -INT "$follow"
	wait "$follow" || fail_because "--follow exited $?: $(cat "$CASE_DIR/follow.err")" || return 1
	[ ! -s "$CASE_DIR/follow.err" ] || fail_because "--follow stderr: $(cat "$CASE_DIR/follow.err")" || return 1
	cat "$CASE_DIR/follow.out"
	stop_rig "$rig" || return 1
	stop_rig rig2 || return 1
	[ "$(st_accepted "$CASE_DIR/$rig.stats" "${W[3]}")" = 0 ] || fail_because "the stalled worker accepted" || return 1
	for w in 0 1 2; do
		n=$(st_accepted "$CASE_DIR/$rig.stats" "${W[$w]}")
		total=$((total + n))
	done
	n=$(jq .accepted "$CASE_DIR/rig2.stats")
	echo "workers 0-2 accepted $total (200 + 300 expected), the new worker $n (100 expected)"
	[ "$n" = 100 ] && [ "$total" = 500 ] || fail_because "after the new worker joined: $total and $n"
}

case_steer_drain_follow_migrates() {
	st_begin || return 1
	st_migration_run none control || return 1
	[ $CLIENT_RC != 0 ] || fail_because "control: without steering no connection was lost" || return 1
	make_netns || return 1
	st_migration_run steer rig
}

# The server is not touched: its descriptors are the same before and after, reusetop keeps no
# copy of its sockets (with --follow running, a stopped server's sockets are gone at once).
case_steer_server_untouched() {
	local before after w follow
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	read -r -a W <<<"$(st_workers rig)"
	before=$(for w in "${W[@]}"; do ls -l /proc/"$w"/fd | awk '{ print $9, $10, $11 }'; grep TracerPid /proc/"$w"/status; done)
	st_ok --port $ST_PORT --policy roundrobin || return 1
	"$REUSETOP" steer --netns "$NETNS_INODE" --port $ST_PORT --follow --interval 0.1 \
		>"$CASE_DIR/follow.out" 2>"$CASE_DIR/follow.err" &
	follow=$!
	PIDS_TO_STOP+=("$follow")
	# Its first round takes copies of the sockets: stopping the server meanwhile would fail it.
	for _ in $(seq 100); do grep -q "^following" "$CASE_DIR/follow.out" && break; sleep 0.05; done
	run_client --port $ST_PORT --count 400 "${ST_PIN[@]}" || return 1
	after=$(for w in "${W[@]}"; do ls -l /proc/"$w"/fd | awk '{ print $9, $10, $11 }'; grep TracerPid /proc/"$w"/status; done)
	[ "$before" = "$after" ] || fail_because "the server's descriptors changed: $before / $after" || return 1
	stop_rig rig || return 1
	ns_exec
	# --follow holds copies for a moment each round; closing them migrates, never resets.
	for _ in $(seq 20); do
		[ -z "$("${NS_EXEC[@]}" ss -ltnH "sport = :$ST_PORT")" ] && break
		sleep 0.05
	done
	[ -z "$("${NS_EXEC[@]}" ss -ltnH "sport = :$ST_PORT")" ] || fail_because "sockets outlive the server" || return 1
	sleep 0.5
	grep -q "the group is gone" "$CASE_DIR/follow.out" || fail_because "follow: $(cat "$CASE_DIR/follow.out")" || return 1
	kill -TERM "$follow"
	wait "$follow" || fail_because "--follow exited $?: $(cat "$CASE_DIR/follow.err")" || return 1
	[ ! -s "$CASE_DIR/follow.err" ] || fail_because "--follow stderr: $(cat "$CASE_DIR/follow.err")" || return 1
	for w in 0 1 2 3; do
		[ "$(st_accepted "$CASE_DIR/rig.stats" "${W[$w]}")" = 100 ] || fail_because "worker $w" || return 1
	done
	# The group is gone: --detach removes the pins it left.
	st_ok --port $ST_PORT --detach || return 1
	grep -q "removed reusetop's pins" "$CASE_DIR/steer.out" && [ -z "$(st_pins)" ] ||
		fail_because "stale pins: $(st_pins)"
}

# A second steer under load switches the policy without a gap: every connection was selected
# by a reusetop program (none fell back to the hash), built-in -> built-in (one flip, same
# program), built-in -> custom and custom -> built-in (the kernel swaps the program).
case_steer_second_steer_atomic() {
	local json id1 id2 id3 client sum
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	read -r -a W <<<"$(st_workers rig)"
	st_ok --port $ST_PORT --policy roundrobin || return 1
	id1=$(st_show --port $ST_PORT | jq .program.id)
	ns_exec
	"${NS_EXEC[@]}" "$RIG_CLIENT" --port $ST_PORT --count 3000 --concurrency 4 --rate 1000 >"$CASE_DIR/client.out" 2>&1 &
	client=$!
	PIDS_TO_STOP+=("$client")
	sleep 0.3
	st_ok --port $ST_PORT --policy weighted --weight "${W[0]}=1,${W[1]}=1,${W[2]}=0,${W[3]}=0" || return 1
	id2=$(st_show --port $ST_PORT | jq .program.id)
	sleep 0.3
	st_ok --port $ST_PORT --object "$BUILD/steer_example.bpf.o" || return 1
	id3=$(st_show --port $ST_PORT | jq .program.id)
	sleep 0.3
	st_ok --port $ST_PORT --policy roundrobin || return 1
	wait "$client" || fail_because "clients failed: $(cat "$CASE_DIR/client.out")" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	stop_rig rig || return 1
	echo "program ids: roundrobin $id1, weighted $id2, custom $id3, roundrobin $(jq .program.id <<<"$json")"
	[ "$id1" = "$id2" ] || fail_because "a policy change replaced the program ($id1 -> $id2)" || return 1
	[ "$id3" != "$id1" ] && [ "$(jq .program.id <<<"$json")" != "$id3" ] ||
		fail_because "the custom program did not replace the built-in one or back" || return 1
	sum=$(jq '[.members[].selected] | add' <<<"$json")
	[ "$sum" = 3000 ] && [ "$(jq .fallbacks <<<"$json")" = 0 ] ||
		fail_because "selected $sum of 3000, fallbacks $(jq .fallbacks <<<"$json")" || return 1
	st_check_selected "$json" "$CASE_DIR/rig.stats"
}

# A program reusetop did not attach (here: ours, with its pins removed) is refused without
# --force, shown as foreign, and replaced with --force (its sockarray gives the sockets up).
case_steer_foreign_program() {
	local json id
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	st_ok --port $ST_PORT --policy roundrobin || return 1
	id=$(st_show --port $ST_PORT | jq .program.id)
	rm -rf "$(st_pins)"
	json=$(st_show --port $ST_PORT) || return 1
	jq -e --argjson id "$id" '.program.owner == "foreign" and .program.id == $id and
		.program.name == "steer_select" and .policy == null' <<<"$json" >/dev/null ||
		fail_because "foreign program not shown: $json" || return 1
	st_fails 2 "did not attach (id $id" --port $ST_PORT --policy hash || return 1
	st_fails 2 "did not attach" --port $ST_PORT --detach || return 1
	[ "$(st_show --port $ST_PORT | jq .program.id)" = "$id" ] || fail_because "the foreign program was touched" || return 1
	st_ok --port $ST_PORT --policy roundrobin --force || return 1
	grep -q "replaced a foreign program" "$CASE_DIR/steer.out" || fail_because "no note of the replacement" || return 1
	st_client tcp 127.0.0.1 400 "${ST_PIN[@]}" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	stop_rig rig || return 1
	jq -e '[.members[].selected] == [100, 100, 100, 100]' <<<"$json" >/dev/null || fail_because "after --force: $json" || return 1
	st_check_selected "$json" "$CASE_DIR/rig.stats"
}

# Bad input: a one-line error, exit 2, and nothing attached.
case_steer_bad_input() {
	local ns1
	st_begin || return 1
	start_rig rig --mode reuseport --workers 2 --port $ST_PORT || return 1
	st_fails 2 "unknown policy 'fastest'" --port $ST_PORT --policy fastest || return 1
	# Custom objects that are not BPF, or whose program the verifier refuses.
	echo "not an object" >"$CASE_DIR/text.bpf.o"
	st_fails 2 "" --port $ST_PORT --object "$CASE_DIR/text.bpf.o" || return 1
	st_fails 2 "" --port $ST_PORT --object /bin/true || return 1
	cat >"$CASE_DIR/bad.bpf.c" <<'BPF'
#include <linux/bpf.h>
/* Reads packet data without a bounds check: the verifier must refuse it. */
__attribute__((section("sk_reuseport"), used)) int bad(struct sk_reuseport_md *ctx)
{
	return *(int *)(long)ctx->data;
}
char _license[] __attribute__((section("license"), used)) = "GPL";
BPF
	clang -O2 -target bpf -I/usr/include/"$(uname -m)"-linux-gnu -c "$CASE_DIR/bad.bpf.c" \
		-o "$CASE_DIR/bad.bpf.o" ||
		fail_because "could not build the bad object" || return 1
	st_fails 2 "" --port $ST_PORT --object "$CASE_DIR/bad.bpf.o" || return 1
	st_nothing_attached --port $ST_PORT || return 1
	st_fails 2 "pid 1 holds no socket" --port $ST_PORT --policy weighted --weight 1=3 || return 1
	st_fails 2 "socket 12345 is not a member" --port $ST_PORT --policy roundrobin --drain ino:12345 || return 1
	st_fails 2 "no SO_REUSEPORT group on tcp port $((ST_PORT + 1))" --port $((ST_PORT + 1)) --policy roundrobin || return 1
	st_fails 2 "no SO_REUSEPORT group on udp port $ST_PORT" --port $ST_PORT --proto udp --policy roundrobin || return 1
	st_fails 2 "least-loaded needs tcp" --port $ST_PORT --proto udp --policy least-loaded || return 1
	st_fails 2 "weight goes with --policy weighted" --port $ST_PORT --policy roundrobin --weight 1=1 || return 1
	st_fails 2 "invalid weight" --port $ST_PORT --policy weighted --weight 1=x || return 1
	st_fails 2 "no reusetop policy is attached" --port $ST_PORT --drain "$(st_workers rig | cut -d' ' -f1)" || return 1
	st_fails 2 "all drained" --port $ST_PORT --policy roundrobin $(for w in $(st_workers rig); do echo --drain "$w"; done) || return 1
	st_fails 2 "port is required" --policy roundrobin || return 1
	st_fails 2 "cannot read /nonexistent.bpf.o" --port $ST_PORT --object /nonexistent.bpf.o || return 1
	st_nothing_attached --port $ST_PORT || return 1
	# The same port in two namespaces: --netns is required.
	ns1=$NETNS_INODE
	make_netns || return 1
	start_rig rig2 --mode reuseport --workers 2 --port $ST_PORT || return 1
	out=$("$REUSETOP" steer --port $ST_PORT --policy roundrobin 2>&1)
	[ $? = 2 ] && grep -q "several network namespaces.*--netns" <<<"$out" || fail_because "two netns: $out" || return 1
	NETNS_INODE=$ns1 st_nothing_attached --port $ST_PORT || return 1
	st_nothing_attached --port $ST_PORT
}

# A server reusetop may read but not ptrace-attach (pidfd_getfd's access check): here reusetop
# keeps euid 0 but runs with another real uid and without CAP_SYS_PTRACE. LeakSanitizer needs
# ptrace itself, so only this run goes without it.
case_steer_no_ptrace() {
	local out status
	st_begin || return 1
	ns_exec
	"${NS_EXEC[@]}" setpriv --bounding-set -sys_ptrace "$RIG_SERVER" --mode reuseport --workers 2 \
		--port $ST_PORT --stats "$CASE_DIR/rig.stats" --ready "$CASE_DIR/rig.ready" >"$CASE_DIR/rig.out" 2>&1 &
	RIG_rig=$!
	PIDS_TO_STOP+=("$RIG_rig")
	wait_for_file "$CASE_DIR/rig.ready" 10 || return 1
	out=$(ASAN_OPTIONS=detect_leaks=0 setpriv --ruid 65534 --bounding-set -sys_ptrace \
		"$REUSETOP" steer --netns "$NETNS_INODE" --port $ST_PORT --policy roundrobin 2>&1)
	status=$?
	echo "$out"
	[ $status = 2 ] || fail_because "exit $status, want 2" || return 1
	[ "$(wc -l <<<"$out")" = 1 ] && grep -q "^reusetop: cannot take socket .* Operation not permitted.*CAP_SYS_PTRACE" <<<"$out" ||
		fail_because "message: $out" || return 1
	st_nothing_attached --port $ST_PORT
}

case_steer_help() {
	local out
	out=$("$REUSETOP" steer --help) || fail_because "--help failed" || return 1
	grep -q "^Usage: reusetop steer --port PORT" <<<"$out" || fail_because "help: $out" || return 1
	"$REUSETOP" --help | grep -q "reusetop steer" || fail_because "main help does not mention steer"
}

# Program types as the kernel knows them: an eBPF socket filter (what the kernel's reuseport_bpf
# test attaches) is not classic BPF; a classic one has no id.
case_steer_program_types() {
	local json port=8499
	st_begin || return 1
	start_rig e --mode reuseport --workers 2 --port $port --ebpf-filter || return 1
	json=$(st_show --port $port) || return 1
	jq -e '.program.type == "socket_filter" and .program.id > 0 and
		.program.owner == "foreign" and .policy == null' <<<"$json" >/dev/null ||
		fail_because "eBPF socket filter shown as $(jq -c .program <<<"$json")" || return 1
	"$REUSETOP" steer --netns "$NETNS_INODE" --port $port --show >"$CASE_DIR/show.txt" 2>&1 &&
		grep -q "program: id [0-9]*, .*(eBPF socket filter), not attached by reusetop" \
			"$CASE_DIR/show.txt" || fail_because "--show: $(cat "$CASE_DIR/show.txt")" || return 1
	st_fails 2 "did not attach (id [0-9]*, .*, eBPF socket filter)" --port $port \
		--policy roundrobin || return 1
	stop_rig e || return 1
	start_rig c --mode reuseport --workers 2 --port $port --cbpf || return 1
	json=$(st_show --port $port) || return 1
	jq -e '.program.type == "classic_bpf" and .program.id == 0 and
		.program.attach_type == null' <<<"$json" >/dev/null ||
		fail_because "classic BPF shown as $(jq -c .program <<<"$json")"
}

# Selections count SYNs: one the kernel drops after the policy chose (the member's accept queue
# full) is selected again when the client retransmits it, and lands one rotation further. With
# a backlog no burst can fill, roundrobin from one CPU is exact every time: 50 rounds of 400.
case_steer_rr_rounds() {
	local prev now d round total
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT --backlog 4096 || return 1
	read -r -a W <<<"$(st_workers rig)"
	st_ok --port $ST_PORT --policy roundrobin || return 1
	prev=$(st_show --port $ST_PORT | jq -c '[.members[] | {inode, selected, drops}]') || return 1
	for round in $(seq 50); do
		st_client tcp 127.0.0.1 400 --cpu 0 || return 1
		now=$(st_show --port $ST_PORT | jq -c '[.members[] | {inode, selected, drops}]') ||
			return 1
		d=$(jq -n -c --argjson a "$prev" --argjson b "$now" \
			'[range(0; $b | length) as $i | $b[$i].selected - $a[$i].selected]')
		[ "$d" = "[100,100,100,100]" ] ||
			fail_because "round $round: selections $d, members then $prev, now $now" || return 1
		prev=$now
	done
	jq -e 'all(.[]; .drops == 0)' <<<"$now" >/dev/null || fail_because "drops: $now" || return 1
	st_ok --port $ST_PORT --detach || return 1
	stop_rig rig || return 1
	for w in "${W[@]}"; do
		total=$(st_accepted "$CASE_DIR/rig.stats" "$w")
		[ "$total" = 5000 ] || fail_because "worker $w accepted $total of 20000, want 5000" || return 1
	done
}

steer_cases() {
	run_case "steer roundrobin, TCP IPv4: 400 connections over 4 members are exactly 100 each" \
		st_split_case tcp 127.0.0.1 "100 100 100 100" --policy roundrobin
	run_case "steer roundrobin, TCP IPv6: exactly 100 each" \
		st_split_case tcp ::1 "100 100 100 100" --policy roundrobin
	run_case "steer roundrobin, UDP IPv4: 400 datagrams, exactly 100 each" \
		st_split_case udp 127.0.0.1 "100 100 100 100" --policy roundrobin
	run_case "steer roundrobin, UDP IPv6: exactly 100 each" \
		st_split_case udp ::1 "100 100 100 100" --policy roundrobin
	run_case "steer weighted 3,1,0,0, TCP IPv4: exactly 300/100/0/0" \
		st_split_case tcp 127.0.0.1 "300 100 0 0" --policy weighted --weight "@W0@=3,@W1@=1,@W2@=0,@W3@=0"
	run_case "steer weighted 3,1,0,0, UDP IPv6: exactly 300/100/0/0" \
		st_split_case udp ::1 "300 100 0 0" --policy weighted --weight "@W0@=3,@W1@=1" --weight "@W2@=0,@W3@=0"
	run_case "steer weighted by socket inode and a drain by pid, TCP IPv6" \
		st_split_case tcp ::1 "200 0 200 0" --policy weighted --weight "ino:@I1@=0" --drain "@W3@"
	run_case "steer drain: the drained member gets 0, nothing lost" case_steer_drain
	run_case "steer detach restores the kernel's hash spread" case_steer_detach_restores_hash
	run_case "steer hash: per-member selections equal the rig's counts" case_steer_hash_visible
	run_case "steer cpu: the client pinned to CPU c lands on member c mod 4" case_steer_cpu
	run_case "steer least-loaded: a stalled worker gets no more than its backlog" case_steer_least_loaded
	run_case "steer consistent (UDP): removing a member moves only its flows; hash moves others" \
		case_steer_consistent_udp
	run_case "steer custom object: the example policy, exact per member" case_steer_custom_object
	run_case "steer --drain --follow: a closing member's queued connections are migrated" \
		case_steer_drain_follow_migrates
	run_case "steer leaves the server untouched and keeps no socket of it" case_steer_server_untouched
	run_case "steer a second time under load: no connection escapes the policy" \
		case_steer_second_steer_atomic
	run_case "steer roundrobin, 50 rounds of 400 connections from one CPU: 100 each every round" \
		case_steer_rr_rounds
	run_case "steer --show names program types: eBPF socket filter, classic BPF" \
		case_steer_program_types
	run_case "steer refuses a foreign program without --force, replaces it with" \
		case_steer_foreign_program
	run_case "steer bad input: one-line error, exit 2, nothing attached" case_steer_bad_input
	run_case "steer without ptrace access to the server: exit 2, nothing attached" case_steer_no_ptrace
	run_case "steer --help" case_steer_help
	run_case "steer: the observing view shows the policy and each member's selections" \
		case_steer_in_view
	run_case "steer --shadow roundrobin, TCP IPv4: would_select 100 each, the hash selects" \
		st_shadow_case tcp 127.0.0.1
	run_case "steer --shadow roundrobin, UDP IPv6: would_select 100 each, the hash selects" \
		st_shadow_case udp ::1
	run_case "steer --shadow -> --enforce under load: one flip, nothing lost" \
		case_steer_shadow_enforce_flip
	run_case "steer fallback reasons: a member closing mid-round, then all, counted exactly" \
		case_steer_fallback_reasons
	run_case "steer --shadow with a custom object: its choices counted, the hash selects" \
		case_steer_custom_shadow
	run_case "steer --shadow in the observing view and the Prometheus exporter" \
		case_steer_shadow_in_view
	run_case "steer --follow --guard: stalled members trip it; it restores the hash, then a policy" \
		case_steer_guard
}

# The observing view shows reusetop's policy on the group and each member's selections by it.
case_steer_in_view() {
	local json group
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	st_ok --port $ST_PORT --policy roundrobin || return 1
	start_reusetop -d "$DELAY" -P $ST_PORT || return 1
	run_client --port $ST_PORT --count 400 "${ST_PIN[@]}" || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	group=$(group_of "$json" $ST_PORT) || return 1
	jq -e '.steering.policy == "roundrobin" and .steering.prog_id > 0 and
		([.sockets[] | .steered.selected == 100 and .enqueued == 100] | all)' <<<"$group" \
		>/dev/null || fail_because "view: $(jq -c '[.steering, [.sockets[].steered]]' <<<"$group")"
}

# ---- shadow mode, fallback reasons, the guard ----------------------------------------------

# Shadow roundrobin from one CPU: the policy would have sent exactly 100 of 400 to each member,
# while the kernel's hash really selected (the rig's counts: a binomial spread, not 100 each);
# the kernel's choices reusetop counted (hash_selected) equal the rig's, member by member.
st_shadow_case() {
	local proto=$1 addr=$2 json ino hs acc exact=0
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --proto "$proto" --addr "$addr" --port $ST_PORT \
		--backlog 4096 || return 1
	st_ok --port $ST_PORT --proto "$proto" --policy roundrobin --shadow || return 1
	grep -q "roundrobin in shadow mode" "$CASE_DIR/steer.out" || fail_because "not said shadow" || return 1
	st_client "$proto" "$addr" 400 "${ST_PIN[@]}" || return 1
	json=$(st_show --port $ST_PORT --proto "$proto") || return 1
	echo "show: $json"
	stop_rig rig || return 1
	jq -e '.mode == "shadow" and .fallbacks == 0 and .shares.would_select.max_share == 0.25 and
		.shares.would_select.jain == 1 and ([.members[].would_select] == [100, 100, 100, 100]) and
		([.members[].selected] | add) == 0' <<<"$json" >/dev/null ||
		fail_because "shadow counts: $json" || return 1
	for ino in $(jq -r '.members[].inode' <<<"$json"); do
		hs=$(jq --argjson i "$ino" '.members[] | select(.inode == $i) | .hash_selected' <<<"$json")
		acc=$(st_accepted_ino "$CASE_DIR/rig.stats" "$ino")
		echo "socket $ino: the kernel's hash gave it $acc (reusetop counted $hs), roundrobin would 100"
		[ "$hs" = "$acc" ] || fail_because "socket $ino: hash_selected $hs, the rig counted $acc" || return 1
		[ "$acc" = 100 ] && exact=$((exact + 1))
	done
	# The control: the kernel's hash is not round-robin (all four at exactly 100 has odds ~1e-4).
	[ $exact -lt 4 ] || fail_because "the rig got exactly 100 each: did the policy select?" || return 1
	jq -e '.shares.real.max_share > 0.25 and .shares.real.jain < 1' <<<"$json" >/dev/null ||
		fail_because "real shares: $(jq -c .shares <<<"$json")"
}

# Shadow -> enforce under load is one flip: every one of 3000 connections was decided by
# exactly one of the two modes (would_select + selected = 3000), none fell back, none was lost,
# and the program stayed the same (no re-attach).
case_steer_shadow_enforce_flip() {
	local json id1 id2 client
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT --backlog 4096 || return 1
	st_ok --port $ST_PORT --policy roundrobin --shadow || return 1
	id1=$(st_show --port $ST_PORT | jq .program.id)
	ns_exec
	"${NS_EXEC[@]}" "$RIG_CLIENT" --port $ST_PORT --count 3000 --concurrency 4 --rate 1000 >"$CASE_DIR/client.out" 2>&1 &
	client=$!
	PIDS_TO_STOP+=("$client")
	sleep 1
	st_ok --port $ST_PORT --enforce || return 1
	grep -q "updated: roundrobin over 4 of 4" "$CASE_DIR/steer.out" || fail_because "enforce said: $(cat "$CASE_DIR/steer.out")" || return 1
	wait "$client" || fail_because "clients failed: $(cat "$CASE_DIR/client.out")" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	id2=$(jq .program.id <<<"$json")
	# And back: --shadow alone puts the pinned policy in shadow mode.
	st_ok --port $ST_PORT --shadow || return 1
	jq -e --argjson id "$id1" '.mode == "shadow" and .policy == "roundrobin" and .program.id == $id' \
		<<<"$(st_show --port $ST_PORT)" >/dev/null || fail_because "back to shadow: $(st_show --port $ST_PORT)" || return 1
	stop_rig rig || return 1
	echo "would_select $(jq -c '[.members[].would_select]' <<<"$json"), hash_selected $(jq -c '[.members[].hash_selected]' <<<"$json"), selected $(jq -c '[.members[].selected]' <<<"$json")"
	[ "$id1" = "$id2" ] || fail_because "the flip re-attached the program ($id1 -> $id2)" || return 1
	jq -e '.mode == "enforce" and .fallbacks == 0 and
		([.members[].would_select] | add) > 0 and ([.members[].selected] | add) > 0 and
		([.members[].would_select] | add) + ([.members[].selected] | add) == 3000 and
		([.members[].would_select] | add) == ([.members[].hash_selected] | add)' <<<"$json" >/dev/null ||
		fail_because "counts: $json" || return 1
	[ "$(jq -s '[.[].accepted] | add' "$CASE_DIR/rig.stats")" = 3000 ] || fail_because "the rig accepted $(jq -s '[.[].accepted] | add' "$CASE_DIR/rig.stats") of 3000" || return 1
}

# Fallback reasons, exactly: roundrobin over 4 members (a fifth drained) from one CPU. A member
# that closes mid-round is refused as closed each time its turn comes (50 of 200) and the next
# one takes it (no fallback); with all four closed, every connection tries the four, falls back
# (member_closed) and the kernel's hash gives it to the drained member, the one left.
case_steer_fallback_reasons() {
	local json inode i n
	st_begin || return 1
	start_rig rig --mode reuseport --workers 5 --port $ST_PORT --backlog 4096 || return 1
	read -r -a W <<<"$(st_workers rig)"
	st_ok --port $ST_PORT --policy roundrobin --drain "${W[4]}" || return 1
	st_client tcp 127.0.0.1 200 "${ST_PIN[@]}" || return 1
	st_wait_listeners() { # count
		for _ in $(seq 100); do
			[ "$("${NS_EXEC[@]}" ss -ltnH "sport = :$ST_PORT" | wc -l)" = "$1" ] && return 0
			sleep 0.05
		done
		fail_because "want $1 listeners: $("${NS_EXEC[@]}" ss -ltnH "sport = :$ST_PORT")"
	}
	ns_exec
	kill -TERM "${W[3]}"
	st_wait_listeners 4 || return 1
	st_client tcp 127.0.0.1 200 "${ST_PIN[@]}" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	echo "after one closed: $(jq -c '[.members[] | {pid, closed, selected, failed_by}]' <<<"$json")"
	jq -e --argjson p "${W[3]}" '.fallbacks == 0 and
		(.members[] | select(.pid == $p) | .closed and .failed_by.member_closed == 50 and
			.selected == 50) and ([.members[].selected] | add) == 400' <<<"$json" >/dev/null ||
		fail_because "one member closed: $json" || return 1
	kill -TERM "${W[0]}" "${W[1]}" "${W[2]}"
	st_wait_listeners 1 || return 1
	st_client tcp 127.0.0.1 100 "${ST_PIN[@]}" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	"$REUSETOP" steer --netns "$NETNS_INODE" --port $ST_PORT --show
	stop_rig rig || return 1
	jq -e --argjson p "${W[3]}" '.fallbacks == 100 and .fallback_reasons.member_closed == 100 and
		([.fallback_reasons[]] | add) == 100 and
		(.members[] | select(.pid == $p) | .failed_by.member_closed == 150) and
		([.members[] | select(.closed) | .failed_by.member_closed] | sort == [100, 100, 100, 150]) and
		([.members[].failed_by.refused] | add) == 0' <<<"$json" >/dev/null ||
		fail_because "all closed: $json" || return 1
	n=$(st_accepted "$CASE_DIR/rig.stats" "${W[4]}")
	[ "$n" = 100 ] || fail_because "the drained member got $n of the 100 fallbacks" || return 1
	for i in 0 1 2 3; do
		inode=$(jq --argjson p "${W[$i]}" '.members[] | select(.pid == $p) | .inode' <<<"$json")
		n=$(jq --argjson p "${W[$i]}" '.members[] | select(.pid == $p) | .selected' <<<"$json")
		[ "$(st_accepted_ino "$CASE_DIR/rig.stats" "$inode")" = "$n" ] ||
			fail_because "worker $i: selected $n, accepted $(st_accepted_ino "$CASE_DIR/rig.stats" "$inode")" || return 1
	done
}

# A custom policy in shadow mode (the example reads STEER_SHADOW): its choices (source port mod
# 4) are counted exactly while the kernel's hash selects; --enforce then makes it select.
case_steer_custom_shadow() {
	local json i n want exact=0
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	st_ok --port $ST_PORT --object "$BUILD/steer_example.bpf.o" --shadow || return 1
	run_client --port $ST_PORT --count 150 --concurrency 4 --sport-range 40002-40151 || return 1
	json=$(st_show --port $ST_PORT) || return 1
	echo "show: $json"
	jq -e '.mode == "shadow" and .policy == "custom" and ([.members[].selected] | add) == 0 and
		([.members[] | .hash_selected] | all(. == null)) and
		([.members[] | select(.slot != null)] | sort_by(.slot) | [.[].would_select]) == [37, 37, 38, 38]' \
		<<<"$json" >/dev/null || fail_because "custom shadow: $json" || return 1
	st_ok --port $ST_PORT --enforce || return 1
	run_client --port $ST_PORT --count 150 --concurrency 4 --sport-range 40002-40151 || return 1
	json=$(st_show --port $ST_PORT) || return 1
	stop_rig rig || return 1
	jq -e '.mode == "enforce" and
		([.members[] | select(.slot != null)] | sort_by(.slot) | [.[].selected]) == [37, 37, 38, 38]' \
		<<<"$json" >/dev/null || fail_because "custom enforced: $json" || return 1
	# The first 150 went where the hash sent them: not the policy's exact split.
	for i in $(jq -r '[.members[] | select(.slot != null)] | sort_by(.slot) | .[].inode' <<<"$json"); do
		n=$(st_accepted_ino "$CASE_DIR/rig.stats" "$i")
		want=$(jq --argjson i "$i" '.members[] | select(.inode == $i) | .selected' <<<"$json")
		echo "socket $i: accepted $n, of them enforced $want"
		[ "$n" = "$((want * 2))" ] && exact=$((exact + 1))
	done
	[ $exact -lt 4 ] || fail_because "the shadow round split exactly like the policy: did it select?"
}

# The observing view and the Prometheus exporter show shadow mode: per member what the policy
# would have selected next to what the kernel's hash did (the view's enqueued), and the reasons.
case_steer_shadow_in_view() {
	local json group metrics out
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT --backlog 4096 || return 1
	st_ok --port $ST_PORT --policy roundrobin --shadow || return 1
	start_reusetop -d "$DELAY" -P $ST_PORT || return 1
	run_client --port $ST_PORT --count 400 "${ST_PIN[@]}" || return 1
	json=$(settle_json "$DELAY")
	stop_reusetop || return 1
	group=$(group_of "$json" $ST_PORT) || return 1
	echo "view: $(jq -c '[.steering, [.sockets[] | [.enqueued, .steered]]]' <<<"$group")"
	jq -e '.steering.mode == "shadow" and .steering.fallback_reasons.member_closed == 0 and
		([.sockets[] | .steered.would_select == 100 and .steered.selected == 0 and
			.steered.hash_selected == .enqueued] | all)' <<<"$group" >/dev/null ||
		fail_because "view: $(jq -c '[.steering, [.sockets[] | [.enqueued, .steered]]]' <<<"$group")" || return 1
	# In this namespace (`ip netns exec` would hide bpffs and its pins behind a fresh /sys).
	"$REUSETOP" --prometheus 127.0.0.1:9477 -d 0.2 -P $ST_PORT >"$CASE_DIR/rt.out" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	for _ in $(seq 100); do
		metrics=$(curl -sf --max-time 5 http://127.0.0.1:9477/metrics) && break
		sleep 0.1
	done
	kill -INT "$RT_PID"
	wait "$RT_PID" || fail_because "the exporter exited $?: $(cat "$CASE_DIR/rt.err")" || return 1
	# The live view's group line: both sides, compact.
	start_tui -P $ST_PORT -p "$(rig_pids rig)" || return 1
	wait_screen "^TCP 127\.0\.0\.1:$ST_PORT +members 4 +shadow roundrobin: would max 25\.0% jain 1\.000, real max [0-9.]+% jain 0\.[0-9]+ " 10 ||
		return 1
	stop_tui q || return 1
	stop_rig rig || return 1
	grep '^reusetop_steer' <<<"$metrics"
	out=$(promtool check metrics <<<"$metrics" 2>&1) && [ -z "$out" ] ||
		fail_because "promtool check metrics: $out" || return 1
	grep -q "^reusetop_steer_info{.*port=\"$ST_PORT\".*policy=\"roundrobin\",mode=\"shadow\"} 1$" <<<"$metrics" ||
		fail_because "no reusetop_steer_info" || return 1
	[ "$(grep -c '^reusetop_steer_would_select_total{.*} 100$' <<<"$metrics")" = 4 ] ||
		fail_because "would_select series" || return 1
	[ "$(grep -c '^reusetop_steer_fallbacks_total{.*reason="[a-z_]*"} 0$' <<<"$metrics")" = 7 ] ||
		fail_because "fallback reason series" || return 1
	[ "$(grep '^reusetop_steer_hash_selected_total' <<<"$metrics" | awk '{ s += $2 } END { print s }')" = 400 ] ||
		fail_because "hash_selected series"
}

# st_guard_run NAME: roundrobin under --follow --guard while two of four workers are stopped
# (backlog 4): their accept queues fill, SYNs are dropped, the guard trips and puts back the
# state before the command; it says why, and --follow ends with status 0.
st_guard_run() {
	local follow client _
	"$REUSETOP" steer --netns "$NETNS_INODE" --port $ST_PORT --policy roundrobin --follow \
		--interval 0.2 --guard --guard-drops 2 >"$CASE_DIR/follow.out" 2>"$CASE_DIR/follow.err" &
	follow=$!
	PIDS_TO_STOP+=("$follow")
	for _ in $(seq 100); do grep -q "^following.*guarding" "$CASE_DIR/follow.out" && break; sleep 0.05; done
	# Quiet first: connections served, nothing dropped, the guard stays.
	run_client --port $ST_PORT --count 100 --concurrency 4 || return 1
	sleep 0.6
	! grep -q "guard tripped" "$CASE_DIR/follow.out" || fail_because "tripped without drops: $(cat "$CASE_DIR/follow.out")" || return 1
	kill -STOP "${W[0]}" "${W[1]}"
	ns_exec
	"${NS_EXEC[@]}" "$RIG_CLIENT" --port $ST_PORT --count 200 --concurrency 32 >"$CASE_DIR/client.out" 2>&1 &
	client=$!
	PIDS_TO_STOP+=("$client")
	for _ in $(seq 100); do kill -0 "$follow" 2>/dev/null || break; sleep 0.1; done
	kill -CONT "${W[0]}" "${W[1]}"
	wait "$follow" || fail_because "--follow --guard exited $?: $(cat "$CASE_DIR/follow.err")" || return 1
	cat "$CASE_DIR/follow.out"
	[ ! -s "$CASE_DIR/follow.err" ] || fail_because "stderr: $(cat "$CASE_DIR/follow.err")" || return 1
	grep -q "guard tripped: drops rose by [0-9]* in [0-9.]* s (limit 2); restoring $1" "$CASE_DIR/follow.out" &&
		grep -q "guard restored" "$CASE_DIR/follow.out" ||
		fail_because "guard: $(cat "$CASE_DIR/follow.out")" || return 1
	# The stall itself may cost the burst a connection (an ACK dropped at a full queue); after
	# the restore every connection is served.
	wait "$client"
	echo "burst during the stall: $(cat "$CASE_DIR/client.out")"
	run_client --port $ST_PORT --count 100 --concurrency 4
}

# The guard trips and restores: first the kernel's hash (nothing attached before), then a
# previous reusetop policy (weighted 3,1,1,1 in shadow mode, its weights and mode as they were).
case_steer_guard() {
	local json
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT --backlog 4 || return 1
	read -r -a W <<<"$(st_workers rig)"
	st_fails 2 "guard goes with --follow" --port $ST_PORT --policy roundrobin --guard || return 1
	st_guard_run "the kernel's hash" || return 1
	st_nothing_attached --port $ST_PORT || return 1
	st_ok --port $ST_PORT --policy weighted --weight "${W[0]}=3" --shadow || return 1
	st_guard_run "the previous policy" || return 1
	json=$(st_show --port $ST_PORT) || return 1
	stop_rig rig || return 1
	echo "after: $(jq -c '[.policy, .mode, [.members[] | [.pid, .weight]]]' <<<"$json")"
	jq -e --argjson p "${W[0]}" '.policy == "weighted" and .mode == "shadow" and
		([.members[] | select(.pid == $p) | .weight] == [3]) and
		([.members[] | select(.pid != $p) | .weight] == [1, 1, 1])' <<<"$json" >/dev/null ||
		fail_because "not restored: $json"
}
