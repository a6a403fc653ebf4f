# SPDX-License-Identifier: GPL-2.0
# `reusetop steer` puts the group back exactly as it was when a call fails. The sanitized build
# has fault injection: REUSETOP_FAULT=apply:PHASE fails apply() right after PHASE, as if the
# next step had failed. After a fault in each phase the group must be as before the call: the
# same program attached (none, reusetop's or a foreign one), the same pins holding the same
# maps, program and links with the same values, no steering program left loaded, and
# connections steered as before. The controls use REUSETOP_SKIP_UNDO=KIND (same build), which
# leaves one kind of change undone: each check must see it. Sourced by tests/run.sh after
# steer_cases.sh (whose st_ helpers it uses).

SU_PHASES="decide load pins members config trackers program record"

# IDs of loaded steering programs: the built-in ones and the example policy.
su_steer_progs() {
	bpftool prog show 2>/dev/null | grep -E 'name (steer_|sport_affinity)' | cut -d: -f1 | sort
}

# The programs the case's group and pins hold: attached, pinned as "prog", or by a pinned link.
su_held_progs() {
	local d f
	st_show --port $ST_PORT | jq '.program.id // empty'
	for d in $(st_pins); do
		[ ! -e "$d/prog" ] || bpftool -j prog show pinned "$d/prog" | jq .id
		for f in "$d"/link_*; do
			[ ! -e "$f" ] || bpftool -j link show pinned "$f" | jq .prog_id
		done
	done
}

# su_fail PHASE ARGS...: reusetop steer ARGS failing after PHASE: exit 1 and one line naming the
# fault. The steering programs it left loaded go to SU_LEFT: those loaded since, held by the
# group or its pins. (Other tests on the machine load steering programs too; once reusetop has
# exited, nothing but the group and the pins can hold one of its programs.)
su_fail() {
	local phase=$1 before
	shift
	before=$(su_steer_progs)
	REUSETOP_FAULT=apply:$phase st_fails 1 "injected fault after apply phase '$phase'" "$@" || return 1
	sleep 0.3 # programs are freed after their last reference, deferred by RCU
	SU_LEFT=$(comm -12 <(comm -13 <(echo "$before") <(su_steer_progs)) <(su_held_progs | sort) |
		tr '\n' ' ')
	SU_LEFT=${SU_LEFT% }
}

# Everything about the group: --show's document, then each pin with what it holds (ids, and the
# maps' contents; the large and per-CPU ones as a digest).
su_state() {
	local d f name id show
	show=$(st_show --port $ST_PORT) || return 1
	echo "show $show"
	for d in $(st_pins); do
		echo "pins $(ls "$d" | tr '\n' ' ')"
		for f in "$d"/*; do
			name=${f##*/}
			case $name in
			prog) echo "$name $(bpftool -j prog show pinned "$f" | jq -c '[.id, .name]')" ;;
			link_*) echo "$name $(bpftool -j link show pinned "$f" | jq -c '[.id, .prog_id]')" ;;
			*)
				id=$(bpftool -j map show pinned "$f" | jq .id)
				case $name in
				steer_table | steer_stats | steer_load | steer_rr | steer_fallback | steer_reasons)
					echo "$name $id $(bpftool -j map dump pinned "$f" | md5sum | cut -c1-32)" ;;
				*)
					# Sorted: a hash map's dump follows its buckets, and keys that share
					# one come out in the order they were (re)inserted.
					echo "$name $id $(bpftool -j map dump pinned "$f" |
						jq -c '[.[] | select(.value | type == "array") | [.key, .value] | map(join(""))] | sort')" ;;
				esac
				;;
			esac
		done
	done
}

# su_check_same PHASE BEFORE: the group's state is BEFORE again, no steering program left.
su_check_same() {
	local after
	after=$(su_state) || return 1
	[ "$after" = "$2" ] || fail_because "after a fault in '$1' the group changed:
$(diff <(echo "$2") <(echo "$after") | cut -c1-400)" || return 1
	[ -z "$SU_LEFT" ] || fail_because "after a fault in '$1': programs left loaded: $SU_LEFT"
}

# Nothing of reusetop's: no program attached, no pins, no steering program left.
su_check_unsteered() { # phase
	local json
	json=$(st_show --port $ST_PORT) || return 1
	[ "$(jq -c .program <<<"$json")" = null ] ||
		fail_because "after a fault in '$1' a program is attached: $(jq -c .program <<<"$json")" || return 1
	[ -z "$(st_pins)" ] || fail_because "after a fault in '$1' pins are left: $(ls $(st_pins))" || return 1
	[ -z "$SU_LEFT" ] || fail_because "after a fault in '$1': programs left loaded: $SU_LEFT"
}

# su_check_split PHASE EXPECTED: 400 connections from one CPU go to the members (in --show's
# order) as EXPECTED says ("[100,100,100,100,0]": round-robin over the first four), none to the
# kernel's hash.
su_check_split() {
	local a b d
	a=$(st_show --port $ST_PORT) || return 1
	st_client tcp 127.0.0.1 400 "${ST_PIN[@]}" || return 1
	b=$(st_show --port $ST_PORT) || return 1
	d=$(jq -c -n --argjson a "$a" --argjson b "$b" '[range($b.members | length) as $i |
		($b.members[$i].selected // 0) - ($a.members[$i].selected // 0)]')
	[ "$d" = "$2" ] && [ "$(jq .fallbacks <<<"$b")" = "$(jq .fallbacks <<<"$a")" ] ||
		fail_because "after a fault in '$1' 400 connections went $d (fallbacks $(jq .fallbacks <<<"$a") -> $(jq .fallbacks <<<"$b")), want $2"
}

# ---- cases --------------------------------------------------------------------------------

# A group with no program: after a fault in any phase, still none, no pins, nothing loaded.
# least-loaded: every phase has something to undo (the trackers too).
case_steer_undo_unsteered() {
	local phase
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	for phase in $SU_PHASES; do
		su_fail "$phase" --port $ST_PORT --policy least-loaded || return 1
		su_check_unsteered "$phase" || return 1
	done
	st_ok --port $ST_PORT --policy least-loaded || return 1
	st_ok --port $ST_PORT --detach || return 1
	# Controls: the program, then the pins, left behind.
	REUSETOP_SKIP_UNDO=program su_fail record --port $ST_PORT --policy least-loaded || return 1
	! su_check_unsteered control 2>/dev/null || fail_because "control: the program left attached went unseen" || return 1
	st_ok --port $ST_PORT --detach --force || return 1
	st_cleanup
	REUSETOP_SKIP_UNDO=created su_fail record --port $ST_PORT --policy least-loaded || return 1
	! su_check_unsteered control 2>/dev/null || fail_because "control: the pins left went unseen"
}

# su_steered_case SPLIT SKIP CPHASE MEMBERS FROM TO: a group steered with FROM; TO fails after
# each phase. SPLIT: how 400 connections from one CPU go after each fault (see su_check_split;
# FROM is round-robin), or "none" to skip it. MEMBERS: "leave", a steered member closes before
# TO; "join", a member joins before TO (both: TO has a slot to empty and one to fill). The
# control: TO failing after CPHASE with REUSETOP_SKIP_UNDO=SKIP is seen. @Wi@ in TO becomes
# worker i's pid.
su_steered_case() {
	local split=$1 skip=$2 cphase=$3 members=$4 from=$5 to=$6 phase before i json
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	read -r -a W <<<"$(st_workers rig)"
	for i in 0 1 2 3; do to=${to//@W$i@/${W[$i]}}; done
	if [[ $members == *leave* ]]; then
		start_rig gone --mode reuseport --workers 1 --port $ST_PORT || return 1
	fi
	st_ok --port $ST_PORT $from || return 1
	if [[ $members == *leave* ]]; then
		# Connections first: the slot it leaves has counts for the next member to reset.
		st_client tcp 127.0.0.1 400 || return 1
		stop_rig gone || return 1
	fi
	if [[ $members == *join* ]]; then
		start_rig joined --mode reuseport --workers 1 --port $ST_PORT || return 1
	fi
	for phase in $SU_PHASES; do
		before=$(su_state) || return 1
		su_fail "$phase" --port $ST_PORT $to || return 1
		su_check_same "$phase" "$before" || return 1
		if [ "$split" != none ]; then su_check_split "$phase" "$split" || return 1; fi
	done
	# The call itself works: the faults were the only reason it failed.
	before=$(su_state) || return 1
	st_ok --port $ST_PORT $to || return 1
	[ "$(su_state)" != "$before" ] || fail_because "steer $to changed nothing" || return 1
	st_ok --port $ST_PORT $from || return 1
	before=$(su_state) || return 1
	REUSETOP_SKIP_UNDO=$skip su_fail "$cphase" --port $ST_PORT $to || return 1
	! su_check_same control "$before" 2>/dev/null ||
		fail_because "control: a change left by '$skip' went unseen" || return 1
	if [ "$split" != none ] && [ "$skip" = map-value ]; then
		# The configuration of TO stayed: connections no longer split as round-robin.
		! su_check_split control "$split" 2>/dev/null ||
			fail_because "control: the split did not change" || return 1
	fi
	# reusetop's program back (--force: the control may have left another attached); every
	# connection was selected by it, as the rig counted.
	st_ok --port $ST_PORT --force $from || return 1
	json=$(st_show --port $ST_PORT) || return 1
	stop_rig rig || return 1
	if [[ $members == *join* ]]; then stop_rig joined || return 1; fi
	cat "$CASE_DIR"/{rig,joined}.stats >"$CASE_DIR/all.stats" 2>/dev/null
	[ "$split" = none ] || st_check_selected "$json" "$CASE_DIR/all.stats"
}

# A foreign program (the example policy with its pins removed) and a failing --force: after a
# fault in any phase the same program is attached, its socket array holds the same sockets, and
# it still selects every connection (its fallback counter does not move).
case_steer_undo_foreign() {
	local phase id m sockarray="" fallback="" before fb
	st_begin || return 1
	start_rig rig --mode reuseport --workers 4 --port $ST_PORT || return 1
	st_ok --port $ST_PORT --object "$BUILD/steer_example.bpf.o" || return 1
	st_cleanup
	id=$(st_show --port $ST_PORT | jq .program.id)
	for m in $(bpftool -j prog show id "$id" | jq '.map_ids[]'); do
		case $(bpftool -j map show id "$m" | jq -r .name) in
		members) sockarray=$m ;;
		steer_fallback) fallback=$m ;;
		esac
	done
	[ -n "$sockarray" ] && [ -n "$fallback" ] || fail_because "maps of program $id not found" || return 1
	su_sockets() {
		bpftool -j map dump id "$sockarray" |
			jq -c '[.[] | select(.value | type == "array") | [.key, .value] | map(join(""))]'
	}
	su_foreign_state() {
		echo "show $(st_show --port $ST_PORT | jq -c '{program, pinned}')"
		echo "members $(su_sockets)"
	}
	before=$(su_foreign_state) || return 1
	jq -e '.program.owner == "foreign"' <<<"$(st_show --port $ST_PORT)" >/dev/null ||
		fail_because "not foreign: $before" || return 1
	[ "$(su_sockets | jq length)" = 4 ] || fail_because "want 4 sockets in map $sockarray: $before" || return 1
	for phase in $SU_PHASES; do
		SU_LEFT=""
		su_fail "$phase" --port $ST_PORT --force --policy roundrobin || return 1
		[ "$(su_foreign_state)" = "$before" ] ||
			fail_because "after a fault in '$phase': $(diff <(echo "$before") <(su_foreign_state))" || return 1
		[ -z "$(st_pins)" ] && [ -z "$SU_LEFT" ] ||
			fail_because "after a fault in '$phase': pins $(st_pins), programs left $SU_LEFT" || return 1
		fb=$(bpftool -j map dump id "$fallback" | md5sum)
		st_client tcp 127.0.0.1 400 || return 1
		[ "$(bpftool -j map dump id "$fallback" | md5sum)" = "$fb" ] ||
			fail_because "after a fault in '$phase' the foreign program fell back to the hash" || return 1
	done
	# Controls: the sockets left out of its array, then the program left replaced.
	REUSETOP_SKIP_UNDO=evicted su_fail record --port $ST_PORT --force --policy roundrobin || return 1
	[ "$(su_foreign_state)" != "$before" ] || fail_because "control: the evicted sockets went unseen" || return 1
	fb=$(bpftool -j map dump id "$fallback" | md5sum)
	st_client tcp 127.0.0.1 400 || return 1
	[ "$(bpftool -j map dump id "$fallback" | md5sum)" != "$fb" ] ||
		fail_because "control: no fallback without the sockets" || return 1
	REUSETOP_SKIP_UNDO=program su_fail record --port $ST_PORT --force --policy roundrobin || return 1
	[ "$(st_show --port $ST_PORT | jq .program.id)" != "$id" ] || fail_because "control: the replaced program went unseen"
}

# A classic BPF program (the rig's --cbpf) has no id to take it back by: after a fault before
# the program phase it is still attached; after a fault in or past it the group has none (not
# reusetop's either), nothing is left, and the error says so.
case_steer_undo_classic() {
	local phase n=0 json
	st_begin || return 1
	start_rig rig0 --mode reuseport --workers 4 --port $ST_PORT --cbpf || return 1
	for phase in $SU_PHASES; do
		json=$(st_show --port $ST_PORT) || return 1
		[ "$(jq -r .program.type <<<"$json")" = classic_bpf ] ||
			fail_because "before '$phase': no classic program: $(jq -c .program <<<"$json")" || return 1
		su_fail "$phase" --port $ST_PORT --force --policy roundrobin || return 1
		case $phase in
		program | record)
			grep -q "the classic BPF program it replaced has no id and cannot be put back" \
				"$CASE_DIR/steer.err" ||
				fail_because "no word of the classic program: $(cat "$CASE_DIR/steer.err")" || return 1
			su_check_unsteered "$phase" || return 1
			# A group with the classic program again for the next phase.
			stop_rig rig$n || return 1
			n=$((n + 1))
			start_rig rig$n --mode reuseport --workers 4 --port $ST_PORT --cbpf || return 1
			;;
		*)
			json=$(st_show --port $ST_PORT) || return 1
			[ "$(jq -r .program.type <<<"$json")" = classic_bpf ] && [ -z "$(st_pins)" ] &&
				[ -z "$SU_LEFT" ] || fail_because "after a fault in '$phase': $(jq -c .program <<<"$json"), pins $(st_pins), programs left $SU_LEFT" || return 1
			;;
		esac
	done
}

# The production build has no fault injection, and ignores the variable.
case_steer_fault_injection_test_build_only() {
	grep -qa REUSETOP_FAULT "$REUSETOP" || fail_because "$REUSETOP has no fault injection" || return 1
	[ -x ./reusetop ] || fail_because "no ./reusetop" || return 1
	! grep -qaE 'REUSETOP_(FAULT|SKIP_UNDO)' ./reusetop || fail_because "./reusetop has fault injection" || return 1
	st_begin || return 1
	start_rig rig --mode reuseport --workers 2 --port $ST_PORT || return 1
	REUSETOP=./reusetop REUSETOP_FAULT=apply:record st_ok --port $ST_PORT --policy roundrobin || return 1
	jq -e '.program.owner == "reusetop"' <<<"$(st_show --port $ST_PORT)" >/dev/null ||
		fail_because "./reusetop did not steer"
}

steer_undo_cases() {
	run_case "steer undo: a fault after each phase leaves an unsteered group unsteered" \
		case_steer_undo_unsteered
	run_case "steer undo: roundrobin stays exact after a failing weighted change" \
		su_steered_case "[100,100,100,100,0]" map-value config join "--policy roundrobin" \
		"--policy weighted --weight @W0@=3,@W1@=1,@W2@=0,@W3@=0"
	run_case "steer undo: reusetop's program is attached again after a failing --object" \
		su_steered_case "[100,100,100,100,0]" program record join "--policy roundrobin" \
		"--object $BUILD/steer_example.bpf.o"
	run_case "steer undo: least-loaded's members and trackers are back after a failing roundrobin" \
		su_steered_case none unpinned trackers "leave join" "--policy least-loaded" \
		"--policy roundrobin"
	run_case "steer undo: a failing --shadow leaves the policy enforcing, exactly" \
		su_steered_case "[100,100,100,100,0]" map-value config join "--policy roundrobin" \
		"--shadow"
	run_case "steer undo: a foreign program is attached again after a failing --force" \
		case_steer_undo_foreign
	run_case "steer undo: a classic BPF program stays, or is detached and the error says so" \
		case_steer_undo_classic
	run_case "steer undo: fault injection is in the test build only" \
		case_steer_fault_injection_test_build_only
}
