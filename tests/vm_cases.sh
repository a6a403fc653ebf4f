# SPDX-License-Identifier: GPL-2.0
# The second kernel: the integration scenarios on Debian's 6.1 cloud kernel under qemu, where
# the fentry/fexit and kprobe tiers attach (the host kernel refuses them). One VM boot runs every
# scenario (tests/vm/suite.sh) and prints raw results; the checks below are the host suite's.
# Sourced by tests/run.sh after lib.sh and integration.sh.

VM_LOG=""

# Boot the VM once; its console (the scenarios' raw output) goes to $VM_LOG.
vm_boot() {
	local kernel
	VM_LOG=$(mktemp /tmp/reusetop-vm.XXXXXX)
	kernel=$(tests/vm/fetch-kernel.sh) || { echo "FAIL vm: could not fetch the 6.1 kernel"; return 1; }
	echo "booting $kernel under qemu (TCG)"
	VM_TIMEOUT=${VM_TIMEOUT:-900} tests/vm/run-vm.sh tests/vm/suite.sh "$BUILD/static/reusetop" \
		"$BUILD/static/rig_server" "$BUILD/static/rig_client" >"$VM_LOG" 2>"$VM_LOG.err"
}

# Lines of case $1 with prefix "--- $2 " (prefix removed).
vm_field() {
	awk -v c="$1" -v f="--- $2 " '
		$0 == "=== CASE " c { on = 1; next }
		$0 == "=== END " c { on = 0 }
		on && index($0, f) == 1 { print substr($0, length(f) + 1) }' "$VM_LOG"
}

# No count lost on this tier either: the tasks add up to their groups (check_invariants).
vm_invariants() { # json
	printf '%s\n' "$1" >"$CASE_DIR/vm.json"
	check_invariants "$CASE_DIR/vm.json" "$NETNS_INODE"
}

# vm_exact CASE MODE TIER COUNT PORT ADDR: the host suite's exact checks on the VM's results.
vm_exact() {
	local name=$1 mode=$2 tier=$3 total=$4 port=$5 addr=$6 json group
	grep -q "^=== END $name\$" "$VM_LOG" || fail_because "case missing from the VM output" || return 1
	[ -z "$(vm_field "$name" stderr)" ] || fail_because "stderr: $(vm_field "$name" stderr)" || return 1
	[ "$(vm_field "$name" rt-exit)" = 0 ] || fail_because "reusetop exit $(vm_field "$name" rt-exit)" || return 1
	[ "$(vm_field "$name" client | jq .failed)" = 0 ] || fail_because "client: $(vm_field "$name" client)" || return 1
	NETNS_INODE=$(vm_field "$name" netns)
	json=$(vm_field "$name" json)
	vm_invariants "$json" || return 1
	vm_field "$name" stats >"$CASE_DIR/rig.stats"
	[ "$(jq -r .attach <<<"$json")" = "$tier" ] || fail_because "attach $(jq -r .attach <<<"$json"), want $tier" || return 1
	jq -e '.degraded == []' <<<"$json" >/dev/null || fail_because "degraded: $(jq -c .degraded <<<"$json")" || return 1
	group=$(group_of "$json" "$port") || return 1
	[ "$(jq -r .addr <<<"$group")" = "$addr" ] || fail_because "addr: $group" || return 1
	if [ "$mode" = reuseport ]; then
		check_reuseport_exact "$group" "$CASE_DIR/rig.stats" "$total" || return 1
		# The kernel's reuseport choice per member: one per SYN, none lost.
		jq -e '[.sockets[] | .selected == .enqueued] | all' <<<"$group" >/dev/null ||
			fail_because "selected != enqueued: $(jq -c '[.sockets[] | [.selected, .enqueued]]' <<<"$group")"
	else
		check_shared_exact "$group" "$CASE_DIR/rig.stats" "$total"
	fi
}

# The herd on the precise tiers: wakeups equal each worker's context switches, 4 per connection.
vm_herd() {
	local name=$1 json group
	NETNS_INODE=$(vm_field "$name" netns)
	json=$(vm_field "$name" json)
	vm_invariants "$json" || return 1
	vm_field "$name" stats >"$CASE_DIR/rig.stats"
	[ "$(vm_field "$name" rt-exit)" = 0 ] || fail_because "reusetop exit $(vm_field "$name" rt-exit)" || return 1
	jq -e '.features.wakeups and .features.wait' <<<"$json" >/dev/null ||
		fail_because "features: $(jq -c .features <<<"$json")" || return 1
	group=$(group_of "$json" 8407) || return 1
	check_herd "$group" "$CASE_DIR/rig.stats" 100 || return 1
	awk -v w="$(cat "$CASE_DIR/wpc")" 'BEGIN { exit !(w >= 3.5 && w <= 4.2) }' ||
		fail_because "$(cat "$CASE_DIR/wpc") wakeups per connection, want about 4" || return 1
	jq -e '([.sockets[0].wait_us.buckets[].count] | add) == 100' <<<"$group" >/dev/null ||
		fail_because "queue wait histogram: $(jq -c .sockets[0].wait_us <<<"$group")"
}

# UDP on the precise tiers: exact per socket, and the kernel's selection per datagram.
vm_udp() {
	local name=$1 json group
	NETNS_INODE=$(vm_field "$name" netns)
	json=$(vm_field "$name" json)
	vm_invariants "$json" || return 1
	vm_field "$name" stats >"$CASE_DIR/rig.stats"
	[ "$(vm_field "$name" rt-exit)" = 0 ] || fail_because "reusetop exit $(vm_field "$name" rt-exit)" || return 1
	[ "$(vm_field "$name" client | jq .failed)" = 0 ] || fail_because "client: $(vm_field "$name" client)" || return 1
	group=$(group_of "$json" 8408) || return 1
	check_udp_exact "$group" "$CASE_DIR/rig.stats" 400 127.0.0.1 || return 1
	jq -e '[.sockets[] | .selected == .enqueued] | all' <<<"$group" >/dev/null ||
		fail_because "selected != enqueued: $(jq -c '[.sockets[] | [.selected, .enqueued]]' <<<"$group")"
}

# 6.1 has no sock:sk_data_ready: on the tracepoint tier enqueues are unknown and said to be.
vm_tracepoint_degraded() {
	local name=tracepoint-reuseport-v4 json group
	NETNS_INODE=$(vm_field "$name" netns)
	json=$(vm_field "$name" json)
	vm_invariants "$json" || return 1
	vm_field "$name" stats >"$CASE_DIR/rig.stats"
	jq -e '.attach == "tracepoint" and .features.enqueued == false and .features.wakeups == false
		and (.degraded | map(test("^enqueued unknown: raw_tracepoint/sk_data_ready")) | any)
		and (.degraded | map(test("^wakeups unknown: ")) | any)' \
		<<<"$json" >/dev/null || fail_because "not reported as degraded: $json" || return 1
	group=$(group_of "$json" 8406) || return 1
	jq -e '.enqueued == null and ([.sockets[] | .enqueued == null and .share == null] | all)
		and .imbalance.jain == null' <<<"$group" >/dev/null ||
		fail_because "unknown enqueues not null: $group" || return 1
	# Accepts are still exact there.
	jq -e --argjson t 200 '.accepted == $t' <<<"$group" >/dev/null || fail_because "accepted: $group"
}

vm_cases() {
	local tier
	if ! vm_boot; then
		FAILED=$((FAILED + 1)); FAILED_NAMES+=("VM (6.1) boot and suite run")
		echo "FAIL VM (6.1) boot and suite run"
		sed 's/^/    | /' "$VM_LOG.err"; tail -n 30 "$VM_LOG" | sed 's/^/    | /'
		rm -f "$VM_LOG" "$VM_LOG.err"
		return
	fi
	for tier in fentry kprobe auto; do
		local want=$tier
		[ $tier = auto ] && want=fentry
		run_case "VM 6.1, $tier tier: TCP IPv4 reuseport exact counts and selections" \
			vm_exact "$tier-reuseport-v4" reuseport $want 400 8401 127.0.0.1
	done
	for tier in fentry kprobe; do
		run_case "VM 6.1, $tier tier: TCP IPv6 reuseport exact counts and selections" \
			vm_exact "$tier-reuseport-v6" reuseport $tier 400 8402 ::1
		run_case "VM 6.1, $tier tier: shared listener, blocking accept, exact per worker" \
			vm_exact "$tier-accept" accept $tier 400 8403 127.0.0.1
		run_case "VM 6.1, $tier tier: shared listener, epoll, exact per worker" \
			vm_exact "$tier-epoll" epoll $tier 400 8404 127.0.0.1
		run_case "VM 6.1, $tier tier: SCM_RIGHTS handoff, the master is the acceptor" \
			vm_exact "$tier-handoff" handoff $tier 200 8405 127.0.0.1
	done
	for tier in fentry kprobe; do
		run_case "VM 6.1, $tier tier: epoll herd, wakeups equal context switches, wait histogram" \
			vm_herd "$tier-herd"
	done
	for tier in fentry kprobe; do
		run_case "VM 6.1, $tier tier: UDP reuseport exact per socket, selections per datagram" \
			vm_udp "$tier-udp"
	done
	run_case "VM 6.1, tracepoint tier: no sk_data_ready, enqueued reported unknown" \
		vm_tracepoint_degraded
	rm -f "$VM_LOG" "$VM_LOG.err"
}
