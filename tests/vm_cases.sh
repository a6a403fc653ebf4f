# SPDX-License-Identifier: GPL-2.0
# The kernels users run: the integration scenarios, steering and the live view on Debian's cloud
# kernels under qemu (TCG): 11's 5.10, 12's 6.1 and 13's 6.12 on x86_64, and 12's 6.1 on arm64.
# Each VM boots once and runs every scenario (tests/vm/suite.sh), printing raw results; the
# checks below are the host suite's, and say what each kernel must give: the tier auto picks,
# which tiers attach, and what each forced tier reports (exact counts, or null where it cannot
# see). Result lines name the kernel and the architecture ("VM 6.12 x86_64, fentry tier: ...").
# Sourced by tests/run.sh after lib.sh, integration.sh, herd_cases.sh, udp_cases.sh,
# tui_cases.sh and handoff_cases.sh.

# VERSION/ARCH of each VM, and what it must show: the tier auto picks, whether the fentry tier
# attaches (arm64 has BPF trampolines from 6.4 on), whether the kernel has sock:sk_data_ready
# (6.3+: the tracepoint tier's enqueues, wakeups and UDP) and the select_or_migrate steering
# attach type (5.14+).
VM_KERNELS=${VM_KERNELS:-5.10/x86_64 6.1/x86_64 6.12/x86_64 6.1/arm64}
declare -A VM_AUTO=([5.10/x86_64]=fentry [6.1/x86_64]=fentry [6.12/x86_64]=fentry [6.1/arm64]=kprobe)
declare -A VM_FENTRY=([5.10/x86_64]=1 [6.1/x86_64]=1 [6.12/x86_64]=1 [6.1/arm64]=0)
declare -A VM_READY=([5.10/x86_64]=0 [6.1/x86_64]=0 [6.12/x86_64]=1 [6.1/arm64]=0)
declare -A VM_MIGRATE=([5.10/x86_64]=0 [6.1/x86_64]=1 [6.12/x86_64]=1 [6.1/arm64]=1)
# Shadow mode counts the kernel's hash choice: bpf_rdonly_cast (6.2) and md->sk (5.14).
declare -A VM_HASHCOUNT=([5.10/x86_64]=0 [6.1/x86_64]=0 [6.12/x86_64]=1 [6.1/arm64]=0)
# VMs booted at once: they mostly wait (for clients, for intervals), so two share two cores.
VM_PARALLEL=${VM_PARALLEL:-2}
VM_DIR=""
VM_LOG=""

# The static binaries a VM of ARCH runs.
vm_files() { # arch
	local dir=$BUILD
	[ "$1" = arm64 ] && dir=$BUILD/arm64
	echo "$dir/static/reusetop $dir/static/rig_server $dir/static/rig_client $dir/static/pty_drive"
	echo "$dir/steer_example.bpf.o"
}

# Boot one VM; its console (the scenarios' raw output) in $VM_DIR/NAME.log, exit in .rc.
vm_boot() { # version/arch
	local k=$1 name=${1/\//-} arch=${1#*/}
	# shellcheck disable=SC2046 # file names without spaces
	VM_KERNEL="${k%/*} ${arch/arm64/aarch64}" VM_TIMEOUT=${VM_TIMEOUT:-1500} \
		tests/vm/run-vm.sh tests/vm/suite.sh $(vm_files "$arch") \
		>"$VM_DIR/$name.log" 2>"$VM_DIR/$name.err"
	echo $? >"$VM_DIR/$name.rc"
}

# Boot every VM, VM_PARALLEL at a time, fetching the kernels first (one at a time).
vm_boot_all() {
	local k arch running=0
	for k in $VM_KERNELS; do
		arch=${k#*/}
		tests/vm/fetch-kernel.sh "${k%/*}" "${arch/arm64/aarch64}" >/dev/null \
			2>"$VM_DIR/${k/\//-}.fetch" || true
	done
	for k in $VM_KERNELS; do
		if [ $running -ge "$VM_PARALLEL" ]; then
			wait -n
			running=$((running - 1))
		fi
		vm_boot "$k" &
		running=$((running + 1))
	done
	wait
}

# Lines of case $1 with prefix "--- $2 " (prefix removed).
vm_field() {
	awk -v c="$1" -v f="--- $2 " '
		$0 == "=== CASE " c { on = 1; next }
		$0 == "=== END " c { on = 0 }
		on && index($0, f) == 1 { print substr($0, length(f) + 1) }' "$VM_LOG"
}

vm_has_case() {
	grep -q "^=== END $1\$" "$VM_LOG" || fail_because "case $1 missing from the VM output"
}

# No count lost on this tier either: the tasks add up to their groups (check_invariants).
vm_invariants() { # json
	printf '%s\n' "$1" >"$CASE_DIR/vm.json"
	check_invariants "$CASE_DIR/vm.json" "$NETNS_INODE"
}

# The common part of the observing scenarios: the run went well, invariants hold, the tier is
# TIER and it reports as degraded exactly what it cannot see (unless DEGRADED is "any": the
# handoff cases, which run on the tracepoint tier of kernels without sk_data_ready too). Sets
# JSON, leaves rig.stats.
vm_scenario() { # case tier [degraded]
	local name=$1 tier=$2 want_degraded='[]'
	vm_has_case "$name" || return 1
	[ -z "$(vm_field "$name" stderr)" ] || fail_because "stderr: $(vm_field "$name" stderr)" || return 1
	[ "$(vm_field "$name" rt-exit)" = 0 ] || fail_because "reusetop exit $(vm_field "$name" rt-exit)" || return 1
	[ "$(vm_field "$name" client | jq .failed)" = 0 ] || fail_because "client: $(vm_field "$name" client)" || return 1
	NETNS_INODE=$(vm_field "$name" netns)
	JSON=$(vm_field "$name" json)
	vm_invariants "$JSON" || return 1
	vm_field "$name" stats >"$CASE_DIR/rig.stats"
	[ "$(jq -r .attach <<<"$JSON")" = "$tier" ] || fail_because "attach $(jq -r .attach <<<"$JSON"), want $tier" || return 1
	[ "${3:-}" != any ] || return 0
	# The tracepoint tier cannot see the kernel's reuseport choice, and says so.
	[ "$tier" = tracepoint ] && want_degraded='["selected unknown: no tracepoint on reuseport_select_sock (needs the fentry or kprobe tier)"]'
	jq -e --argjson d "$want_degraded" '.degraded == $d' <<<"$JSON" >/dev/null ||
		fail_because "degraded: $(jq -c .degraded <<<"$JSON")"
}

# The kernel's reuseport choice per member: one per SYN or datagram, none lost; null where the
# tier cannot see it.
vm_selected() { # group tier
	if [ "$2" = tracepoint ]; then
		jq -e '.selected == null and ([.sockets[] | .selected == null] | all)' <<<"$1" >/dev/null ||
			fail_because "selected not null: $(jq -c '[.selected, [.sockets[].selected]]' <<<"$1")"
		return
	fi
	jq -e '[.sockets[] | .selected == .enqueued] | all' <<<"$1" >/dev/null ||
		fail_because "selected != enqueued: $(jq -c '[.sockets[] | [.selected, .enqueued]]' <<<"$1")"
}

# vm_exact CASE MODE TIER COUNT PORT ADDR: the host suite's exact checks on the VM's results.
vm_exact() {
	local name=$1 mode=$2 tier=$3 total=$4 port=$5 addr=$6 group
	vm_scenario "$name" "$tier" || return 1
	group=$(group_of "$JSON" "$port") || return 1
	[ "$(jq -r .addr <<<"$group")" = "$addr" ] || fail_because "addr: $group" || return 1
	if [ "$mode" = reuseport ]; then
		check_reuseport_exact "$group" "$CASE_DIR/rig.stats" "$total" || return 1
		vm_selected "$group" "$tier"
	else
		check_shared_exact "$group" "$CASE_DIR/rig.stats" "$total"
	fi
}

# Handoffs (tests/handoff_cases.sh's checks): per receiving worker its own count, from the
# master; on every document the invariants, and waits only where an interval had receipts.
vm_handoff() { # case tier port total
	local name=$1 port=$3 total=$4 group
	vm_scenario "$name" "$2" any || return 1
	vm_field "$name" doc >"$CASE_DIR/rt.json"
	group=$(group_of "$JSON" "$port") || return 1
	check_invariants "$CASE_DIR/rt.json" "$NETNS_INODE" || return 1
	ho_check_waits "$CASE_DIR/rt.json" "$port" 1 || return 1
	case $name in
	*-handoff-chain) ho_check_chain "$group" "$CASE_DIR/rig.stats" "$total" ;;
	*) ho_check_rig "$group" "$CASE_DIR/rig.stats" "$total" ;;
	esac
}

# The herd: wakeups equal each worker's context switches, 4 per connection, wait histogram; the
# master, which SIGIO from the listener woke inside each bracket while it waited for no socket,
# is not charged (the blocked-call check, bpf/arch.bpf.h).
vm_herd() { # case tier
	local name=$1 group sigio
	vm_scenario "$name" "$2" || return 1
	sigio=$(awk -v c="$name" '$1 == "---" && $2 == "sigio" && $3 == c { print $4 }' "$VM_LOG")
	jq -e '.sigio > 0' <<<"$sigio" >/dev/null || fail_because "the master took no SIGIO: $sigio" || return 1
	jq -e --argjson p "$(jq .pid <<<"$sigio")" '[.groups[].acceptors[] | select(.pid == $p)] == []' \
		<<<"$JSON" >/dev/null || fail_because "the master ($sigio) was charged wakeups" || return 1
	jq -e '.features.wakeups and .features.wait' <<<"$JSON" >/dev/null ||
		fail_because "features: $(jq -c .features <<<"$JSON")" || return 1
	group=$(group_of "$JSON" 8407) || return 1
	check_herd "$group" "$CASE_DIR/rig.stats" 100 || return 1
	awk -v w="$(cat "$CASE_DIR/wpc")" 'BEGIN { exit !(w >= 3.5 && w <= 4.2) }' ||
		fail_because "$(cat "$CASE_DIR/wpc") wakeups per connection, want about 4" || return 1
	jq -e '([.sockets[0].wait_us.buckets[].count] | add) == 100' <<<"$group" >/dev/null ||
		fail_because "queue wait histogram: $(jq -c .sockets[0].wait_us <<<"$group")"
}

# UDP: exact per socket, and the kernel's selection per datagram (null on the tracepoint tier).
vm_udp() { # case tier
	local name=$1 group
	vm_scenario "$name" "$2" || return 1
	group=$(group_of "$JSON" 8408) || return 1
	check_udp_exact "$group" "$CASE_DIR/rig.stats" 400 127.0.0.1 || return 1
	vm_selected "$group" "$2"
}

# No sock:sk_data_ready: on the tracepoint tier enqueues are unknown and said to be.
vm_tracepoint_degraded() {
	local name=tracepoint-reuseport-v4 json group
	vm_has_case $name || return 1
	NETNS_INODE=$(vm_field "$name" netns)
	json=$(vm_field "$name" json)
	vm_invariants "$json" || return 1
	jq -e '.attach == "tracepoint" and .features.enqueued == false and .features.wakeups == false
		and (.degraded | map(test("^enqueued unknown: raw_tracepoint/sk_data_ready")) | any)
		and (.degraded | map(test("^wakeups unknown: ")) | any)' \
		<<<"$json" >/dev/null || fail_because "not reported as degraded: $json" || return 1
	group=$(group_of "$json" 8406) || return 1
	jq -e '.enqueued == null and .selected == null and ([.sockets[] | .enqueued == null and
		.share == null and .selected == null] | all) and .imbalance.jain == null' \
		<<<"$group" >/dev/null || fail_because "unknown enqueues not null: $group" || return 1
	# Accepts are still exact there.
	jq -e --argjson t 200 '.accepted == $t' <<<"$group" >/dev/null || fail_because "accepted: $group"
}

# A forced tier attaches (exit 0, that tier) or, where the kernel lacks it, is refused with
# exit 2 and the reason.
vm_tier() { # tier attaches(1|0)
	local name=tier-$1
	vm_has_case "$name" || return 1
	if [ "$2" = 1 ]; then
		[ "$(vm_field "$name" rt-exit)" = 0 ] || fail_because "exit $(vm_field "$name" rt-exit): $(vm_field "$name" stderr)" || return 1
		[ "$(vm_field "$name" json | jq -r .attach)" = "$1" ] || fail_because "$(vm_field "$name" json)"
		return
	fi
	[ "$(vm_field "$name" rt-exit)" = 2 ] || fail_because "exit $(vm_field "$name" rt-exit), want 2" || return 1
	vm_field "$name" stderr | grep -q "^reusetop: cannot use the $1 tier: failed to attach " ||
		fail_because "stderr: $(vm_field "$name" stderr)"
}

# Case K of the VM suite for kernel K: the observing scenarios of every tier it allows.
vm_observe_cases() { # label version/arch
	local label=$1 k=$2 tier tiers=kprobe
	[ "${VM_FENTRY[$k]}" = 1 ] && tiers="fentry kprobe"
	[ "${VM_READY[$k]}" = 1 ] && tiers="$tiers tracepoint"
	run_case "$label, fentry tier: $([ "${VM_FENTRY[$k]}" = 1 ] && echo attaches ||
		echo 'refused (no BPF trampolines), exit 2')" vm_tier fentry "${VM_FENTRY[$k]}"
	run_case "$label, kprobe tier: attaches" vm_tier kprobe 1
	run_case "$label, tracepoint tier: attaches" vm_tier tracepoint 1
	run_case "$label, auto picks the ${VM_AUTO[$k]} tier: TCP IPv4 reuseport exact" \
		vm_exact auto-reuseport-v4 reuseport "${VM_AUTO[$k]}" 400 8401 127.0.0.1
	for tier in $tiers; do
		run_case "$label, $tier tier: TCP IPv4 reuseport exact counts and selections" \
			vm_exact "$tier-reuseport-v4" reuseport $tier 400 8401 127.0.0.1
		run_case "$label, $tier tier: TCP IPv6 reuseport exact counts and selections" \
			vm_exact "$tier-reuseport-v6" reuseport $tier 400 8402 ::1
		run_case "$label, $tier tier: shared listener, blocking accept, exact per worker" \
			vm_exact "$tier-accept" accept $tier 400 8403 127.0.0.1
		run_case "$label, $tier tier: shared listener, epoll, exact per worker" \
			vm_exact "$tier-epoll" epoll $tier 400 8404 127.0.0.1
		run_case "$label, $tier tier: SCM_RIGHTS handoff, the master is the acceptor" \
			vm_exact "$tier-handoff" handoff $tier 200 8405 127.0.0.1
		vm_handoff_cases "$label" "$tier"
		run_case "$label, $tier tier: epoll herd, wakeups equal context switches, wait histogram" \
			vm_herd "$tier-herd" $tier
		run_case "$label, $tier tier: UDP reuseport exact per socket, selections per datagram" \
			vm_udp "$tier-udp" $tier
	done
	[ "${VM_READY[$k]}" = 1 ] && return
	run_case "$label, tracepoint tier: no sk_data_ready, enqueued reported unknown" \
		vm_tracepoint_degraded
	vm_handoff_cases "$label" tracepoint
}

vm_handoff_cases() { # label tier
	run_case "$1, $2 tier: handoff round-robin, 4 workers: received per worker exact" \
		vm_handoff "$2-handoff" "$2" 8405 200
	run_case "$1, $2 tier: handoff master -> broker -> 3 workers: final receivers exact" \
		vm_handoff "$2-handoff-chain" "$2" 8410 300
}

# ---- steering ------------------------------------------------------------------------------

# A steer command of case $1 ($2: steer, show, showtext, detach, detach2, after) went well: exit
# 0, and nothing on stderr but, on a kernel without migration, the one warning that says so.
vm_st_ok() { # case command
	local err
	[ "$(vm_field "$1" "$2-exit")" = 0 ] || fail_because "$2 exit $(vm_field "$1" "$2-exit"): $(vm_field "$1" "$2-err")" || return 1
	err=$(vm_field "$1" "$2-err")
	if [ "$2" = steer ] && [ "$VM_MIGRATE_NOW" = 0 ]; then
		[ "$err" = "reusetop: warning: this kernel has no select_or_migrate attach type: queued connections of a closing member are not migrated" ] ||
			fail_because "steer stderr, want the no-migration warning: $err"
		return
	fi
	[ -z "$err" ] || fail_because "$2 stderr: $err"
}

# What every steering case checks: the policy attached (plain select, and said so, where the
# kernel has no migration), --show, --detach leaving nothing. Sets SHOW, rig.stats, WORKERS.
vm_steer_common() { # case
	local name=$1 attach=select_or_migrate
	[ "$VM_MIGRATE_NOW" = 1 ] || attach=select
	vm_has_case "$name" || return 1
	vm_st_ok "$name" steer || return 1
	[ "$(vm_field "$name" client | jq .failed)" = 0 ] || fail_because "client: $(vm_field "$name" client)" || return 1
	vm_st_ok "$name" show || return 1
	SHOW=$(vm_field "$name" show-out)
	echo "show: $SHOW"
	jq -e --arg a $attach '.program.owner == "reusetop" and .program.type == "sk_reuseport"
		and .program.attach_type == $a' <<<"$SHOW" >/dev/null ||
		fail_because "program: $(jq -c .program <<<"$SHOW"), want attach type $attach" || return 1
	if [ "$name" != steer-detach ]; then
		vm_st_ok "$name" showtext || return 1
		[ "$VM_MIGRATE_NOW" = 1 ] || vm_field "$name" showtext-out |
			grep -q "^  no migration: this kernel has no select_or_migrate attach type" ||
			fail_because "--show does not say there is no migration: $(vm_field "$name" showtext-out)" || return 1
	fi
	vm_st_ok "$name" detach || return 1
	vm_st_ok "$name" after || return 1
	[ "$(vm_field "$name" after-out | jq -c .program)" = null ] ||
		fail_because "still attached after --detach: $(vm_field "$name" after-out)" || return 1
	vm_field "$name" stats >"$CASE_DIR/rig.stats"
	read -r -a WORKERS <<<"$(vm_field "$name" workers)"
	[ "${#WORKERS[@]}" = 4 ] || fail_because "want 4 workers: ${WORKERS[*]}"
}

# st_check_selected for the VMs: each member's selections are the rig's, or one more. The kernel
# selects per SYN, not per connection: under TCG a guest stalled by the host can answer a SYN so
# late that the client's retransmission is looked up before the first one's request socket is
# hashed, and is selected again (for the same member, by the same policy; no drop counter shows
# it). At most 2 such in a case: more would be a counting bug, not the VM.
vm_check_selected() { # json stats
	local json=$1 stats=$2 ino sel acc extra=0
	[ "$(jq .fallbacks <<<"$json")" = 0 ] || fail_because "fallbacks: $json" || return 1
	for ino in $(jq -r '.members[].inode' <<<"$json"); do
		sel=$(jq --argjson i "$ino" '.members[] | select(.inode == $i) |
			.selected + (.hash_selected // 0)' <<<"$json")
		acc=$(st_accepted_ino "$stats" "$ino")
		[ "$sel" -ge "$acc" ] && [ "$sel" -le $((acc + 1)) ] ||
			fail_because "socket $ino: reusetop selected $sel, the rig counted $acc" ||
			return 1
		extra=$((extra + sel - acc))
	done
	[ $extra -le 2 ] || fail_because "$extra selections more than the rig's connections"
}

# Each worker's accepted (in fork order) is the expected one; selections equal the rig's.
vm_steer_exact() { # case expected...
	local name=$1 i=0 n want
	shift
	vm_steer_common "$name" || return 1
	for want; do
		n=$(st_accepted "$CASE_DIR/rig.stats" "${WORKERS[$i]}")
		echo "worker $i (pid ${WORKERS[$i]}): $n, want $want"
		[ "$n" = "$want" ] || fail_because "worker $i got $n, want $want" || return 1
		i=$((i + 1))
	done
	vm_check_selected "$SHOW" "$CASE_DIR/rig.stats"
}

# Drain: the drained member gets nothing and is shown drained, the others share round-robin.
vm_steer_drain() {
	local w n total=0
	vm_steer_common steer-drain || return 1
	jq -e --argjson p "${WORKERS[2]}" '.members[] | select(.pid == $p) | .drained' <<<"$SHOW" \
		>/dev/null || fail_because "drained member not shown drained" || return 1
	for w in 0 1 2 3; do
		n=$(st_accepted "$CASE_DIR/rig.stats" "${WORKERS[$w]}")
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
vm_steer_detach() {
	local w n
	vm_steer_common steer-detach || return 1
	vm_field steer-detach detach-out | grep -q "detached weighted program" ||
		fail_because "detach said: $(vm_field steer-detach detach-out)" || return 1
	vm_st_ok steer-detach detach2 || return 1
	vm_field steer-detach detach2-out | grep -q "no program attached" ||
		fail_because "second detach: $(vm_field steer-detach detach2-out)" || return 1
	# Binomial(400, 1/4): mean 100, sd 8.7; [40, 160] is 7 sd wide.
	for w in 0 1 2 3; do
		n=$(st_accepted "$CASE_DIR/rig.stats" "${WORKERS[$w]}")
		echo "worker $w: $n"
		[ "$n" -ge 40 ] && [ "$n" -le 160 ] || fail_because "worker $w got $n: not the hash's spread" || return 1
	done
}

# The example policy (source port P -> member P mod N): exact per member.
vm_steer_custom() {
	local inodes i n want
	vm_steer_common steer-custom || return 1
	jq -e '.policy == "custom" and .program.name == "sport_affinity" and
		(.object | endswith("steer_example.bpf.o"))' <<<"$SHOW" >/dev/null ||
		fail_because "show: $SHOW" || return 1
	# Source ports 40002..40151: 38 of them are 2 or 3 mod 4, 37 are 0 or 1.
	read -r -a inodes <<<"$(st_slot_inodes "$SHOW")"
	for i in 0 1 2 3; do
		want=$([ $i -ge 2 ] && echo 38 || echo 37)
		n=$(st_accepted_ino "$CASE_DIR/rig.stats" "${inodes[$i]}")
		echo "member $i: $n, want $want"
		[ "$n" = "$want" ] || fail_because "member $i got $n, want $want" || return 1
	done
	vm_check_selected "$SHOW" "$CASE_DIR/rig.stats"
}

# Shadow roundrobin from CPU 0: the policy would have given exactly 100 to each member while
# the kernel's hash selected (the rig's spread); where the kernel allows it, the program's count
# of the hash's choices equals the rig's, member by member, elsewhere it is null.
vm_steer_shadow() {
	local ino hs acc exact=0
	vm_steer_common steer-shadow || return 1
	jq -e '.mode == "shadow" and .fallbacks == 0 and ([.members[].would_select] == [100, 100, 100, 100])
		and ([.members[].selected] | add) == 0' <<<"$SHOW" >/dev/null ||
		fail_because "shadow: $SHOW" || return 1
	for ino in $(jq -r '.members[].inode' <<<"$SHOW"); do
		hs=$(jq --argjson i "$ino" '.members[] | select(.inode == $i) | .hash_selected' <<<"$SHOW")
		acc=$(st_accepted_ino "$CASE_DIR/rig.stats" "$ino")
		echo "socket $ino: the hash gave it $acc, reusetop counted $hs"
		if [ "$VM_HASHCOUNT_NOW" = 1 ]; then
			[ "$hs" = "$acc" ] || fail_because "socket $ino: hash_selected $hs, rig $acc" || return 1
		else
			[ "$hs" = null ] || fail_because "socket $ino: hash_selected $hs where it cannot be counted" || return 1
		fi
		[ "$acc" = 100 ] && exact=$((exact + 1))
	done
	[ $exact -lt 4 ] || fail_because "the rig got exactly 100 each: did the policy select?"
}

vm_steer_cases() { # label version/arch
	local label=$1 how="select_or_migrate"
	VM_MIGRATE_NOW=${VM_MIGRATE[$2]}
	[ "$VM_MIGRATE_NOW" = 1 ] || how="plain select, said so"
	run_case "$label, steer roundrobin ($how): 400 connections, exactly 100 per member" \
		vm_steer_exact steer-roundrobin 100 100 100 100
	run_case "$label, steer drain ($how): the drained member gets 0, nothing lost" vm_steer_drain
	run_case "$label, steer detach ($how): the kernel's hash spreads again" vm_steer_detach
	run_case "$label, steer custom object ($how): the example policy, exact per member" \
		vm_steer_custom
	VM_HASHCOUNT_NOW=${VM_HASHCOUNT[$2]}
	run_case "$label, steer --shadow roundrobin ($how): would_select 100 each, the hash selects" \
		vm_steer_shadow
}

# ---- the live view ---------------------------------------------------------------------------

# The screen after the recording's segments 0..N in SCREEN, rendered by tmux in a 160x50 pane
# (the size the guest's terminal had); whether the alternate screen is on in ALT. A tmux server
# of its own for each rendering (tmx, tui_cases.sh, talks to the last one).
vm_render() { # N
	local i files=""
	for i in $(seq 0 "$1"); do files="$files $CASE_DIR/rec.$i"; done
	rm -f "$CASE_DIR/rendered"
	VM_RENDERING=$1
	tmx() { tmux -S "$CASE_DIR/tmux.$VM_RENDERING.sock" "$@"; }
	tmx -f /dev/null new-session -d -s tui -x 160 -y 50 \
		"stty raw -echo; cat$files; echo >$CASE_DIR/rendered; exec sleep 600" ||
		fail_because "tmux did not start" || return 1
	PIDS_TO_STOP+=("$(tmx display-message -p '#{pid}')")
	wait_for_file "$CASE_DIR/rendered" 10 || return 1
	ALT=$(tmx display-message -p -t tui '#{alternate_on}')
	SCREEN=$(screen)
}

# 400 connections over 4 reuseport workers on a terminal: the group and one row per worker with
# its exact counts before p, PAUSED after it, and after q the terminal as it was.
vm_tui() {
	local name=tui n=0 i data line pid rows row
	vm_has_case $name || return 1
	[ "$(vm_field $name client | jq .failed)" = 0 ] || fail_because "client: $(vm_field $name client)" || return 1
	[ "$(vm_field $name drive-exit)" = 0 ] && [ "$(vm_field $name status)" = 0 ] ||
		fail_because "exit $(vm_field $name status) (pty_drive $(vm_field $name drive-exit))" || return 1
	[ -z "$(vm_field $name stderr)" ] || fail_because "stderr: $(vm_field $name stderr)" || return 1
	diff <(vm_field $name before) <(vm_field $name after) >&2 || fail_because "terminal modes not restored" || return 1
	vm_field $name before | grep -Eq '(^| )icanon( |$)' || fail_because "no icanon: $(vm_field $name before)" || return 1
	vm_field $name stats >"$CASE_DIR/rig.stats"
	while read -r i data; do
		base64 -d <<<"$data" >"$CASE_DIR/rec.$i" || return 1
		[ "$i" -le "$n" ] || n=$i
	done < <(vm_field $name rec)
	[ "$n" = 2 ] || fail_because "want 3 recorded segments (before p, before q, after), got $((n + 1))" || return 1
	# Before p: the group and each worker's row.
	vm_render 0 || return 1
	echo "$SCREEN"
	grep -Eq "^TCP 127\.0\.0\.1:8409 .*members 4 .*enqueued 400( |$)" <<<"$SCREEN" ||
		fail_because "no group line with enqueued 400" || return 1
	rows=$(group_rows "$SCREEN" 8409 "ENQUEUED ACCEPTED")
	[ "$(wc -l <<<"$rows")" = 4 ] || fail_because "want 4 member rows: $rows" || return 1
	while IFS= read -r line; do
		pid=$(jq .pid <<<"$line")
		n=$(jq .accepted <<<"$line")
		row=$(grep "^S $pid " <<<"$rows")
		[ "$row" = "S $pid rig_server $n $n" ] ||
			fail_because "worker $pid accepted $n; row: '$row'" || return 1
	done <"$CASE_DIR/rig.stats"
	# Before q: paused.
	vm_render 1 || return 1
	grep -q PAUSED <<<"$SCREEN" || fail_because "not paused after p:"$'\n'"$SCREEN" || return 1
	# After q: the alternate screen left, the view gone.
	vm_render 2 || return 1
	[ "$ALT" = 0 ] || fail_because "still on the alternate screen" || return 1
	! grep -Eq '^ +PID +COMM' <<<"$SCREEN" || fail_because "the view is still on the screen:"$'\n'"$SCREEN"
}

vm_cases() {
	local k label failed=$FAILED
	VM_DIR=$(mktemp -d /tmp/reusetop-vm.XXXXXX)
	vm_boot_all
	for k in $VM_KERNELS; do
		label="VM ${k/\// }"
		VM_LOG=$VM_DIR/${k/\//-}.log
		if [ "$(cat "$VM_DIR/${k/\//-}.rc")" != 0 ]; then
			FAILED=$((FAILED + 1)); FAILED_NAMES+=("$label: boot and suite run")
			echo "FAIL $label: boot and suite run"
			sed 's/^/    | /' "$VM_DIR/${k/\//-}.fetch" "$VM_DIR/${k/\//-}.err"
			tail -n 30 "$VM_LOG" | sed 's/^/    | /'
		fi
		echo "$label: $(grep -o 'boot to script.*' "$VM_DIR/${k/\//-}.err")"
		vm_observe_cases "$label" "$k"
		vm_steer_cases "$label" "$k"
		run_case "$label, live view: the group and each worker's exact counts; p pauses; q restores" \
			vm_tui
	done
	if [ "$FAILED" = "$failed" ]; then
		rm -rf "$VM_DIR"
	else
		echo "the VMs' consoles are kept in $VM_DIR"
	fi
}
