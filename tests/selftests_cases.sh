# SPDX-License-Identifier: GPL-2.0
# The kernel's own SO_REUSEPORT selftests (tools/testing/selftests/net/reuseport_*.c of Debian
# 12's linux-source-6.1, built unmodified by tests/selftests/fetch.sh), each run in a fresh
# network namespace while `reusetop -j` observes. The tests check their own steering and exit
# non-zero when a packet lands on a socket they did not mean, so when one passes, the
# distribution read from its source holds: the truth below is derived from each test's source,
# group by group and socket by socket, and reusetop must show every group the test created, with
# its members and each socket's enqueued and accepted (received for UDP) exactly, the tasks that
# accepted or read being the test's. A socket that gets no packet is part of the truth too:
# its group existed, with it as a member, and so is a group none of whose sockets got one
# (reusetop records a TCP socket when it listens and a UDP server socket when it binds). Groups
# the test builds one after another on one address are separate groups. The groups live for
# milliseconds: by the time the document is read they are shown closed, from what reusetop's
# BPF side recorded.
# Sourced by tests/run.sh after lib.sh.

KS_BIN="" # where fetch.sh built the tests

# A CPU this shell may run on: the first of its affinity list.
ks_first_cpu() {
	taskset -pc $$ | sed 's/.*: //; s/[,-].*//'
}

# ks_run TEST [pin]: TEST in a fresh namespace while reusetop observes; its pid in KS_PID. Fails
# unless it exits 0 saying SUCCESS (kselftest's skip, exit 4, is a failure here). Then waits for
# the document in which every socket of the namespace is shown closed (reusetop has read the
# final counts), in KS_DOC.
# `pin` runs the test on one CPU: socket inodes come from per-CPU batches, so only a test that
# stays on one CPU gets inodes in the order it created its sockets, and the cases that tell
# successive groups on one address apart by inode order need that. The binary and its
# arguments are untouched; the tests that move between CPUs themselves (reuseport_bpf_cpu,
# reuseport_bpf_numa) are not pinned.
ks_run() {
	local test=$1 pin=${2:-} cmd status
	make_netns || return 1
	# The retention outlasts the case, so nothing the test created is forgotten before it is read.
	start_reusetop -d 0.2 --retain-exited 600 || return 1
	ns_exec
	cmd=("${NS_EXEC[@]}")
	[ "$pin" != pin ] || cmd+=(taskset -c "$(ks_first_cpu)")
	# ip netns exec and taskset exec the test: $! is the test's own pid.
	"${cmd[@]}" "$KS_BIN/$test" >"$CASE_DIR/$test.out" 2>&1 &
	KS_PID=$!
	PIDS_TO_STOP+=("$KS_PID")
	for _ in $(seq 600); do kill -0 "$KS_PID" 2>/dev/null || break; sleep 0.1; done
	kill -0 "$KS_PID" 2>/dev/null && { fail_because "$test still runs after 60 s"; return 1; }
	wait "$KS_PID"
	status=$?
	echo "$test (pid $KS_PID) exited $status: $(tail -n 1 "$CASE_DIR/$test.out")"
	[ $status -eq 0 ] || fail_because "$test exited $status: $(tail -n 5 "$CASE_DIR/$test.out")" || return 1
	grep -qx SUCCESS "$CASE_DIR/$test.out" || fail_because "$test did not say SUCCESS" || return 1
	ks_settle
}

# Wait (15 s at most) for the document that shows every socket the test bound, closed. A socket
# is shown closed once RT_STALE_SCANS (3) samples in a row missed it, counted from the sample
# that first read it, and is not shown before: sockets read one sample apart appear one document
# apart, so a document in which every socket shown is closed may still lack the last ones. The
# test has exited, so every socket it bound was read by the next sample: the document is the
# one after which four more showed the same sockets, all closed. KS_DOC is the last document
# read either way; ks_check says what is missing.
ks_settle() {
	local docs shown last="" since=0
	for _ in $(seq 75); do
		sleep 0.2
		docs=$(wc -l <"$CASE_DIR/rt.json")
		KS_DOC=$(last_json "$CASE_DIR/rt.json")
		shown=$(jq -r --argjson ns "$NETNS_INODE" '[.groups[] | select(.netns == $ns)] |
			if length > 0 and all(.[].sockets[]; .closed) then [.[].sockets[].inode] | length
			else "some open" end' <<<"$KS_DOC")
		[ "$shown" = "$last" ] || { last=$shown since=$docs; }
		[ "$shown" = "some open" ] || [ $((docs - since)) -lt 4 ] || return 0
	done
	echo "no document with every socket of the namespace closed, the same four times, after 15 s"
}

# The expected groups: a list of every group the test created, in the order it created them,
# each {proto, family, addr, port, v6only, counts} (counts: per socket in creation order, or
# {one_of: N} for N sockets of which one, the hash's choice, gets the test's one packet). A
# socket bound alone (no SO_REUSEPORT) is a group of its own, and one bound on the same address
# after it closed is another.
# shellcheck disable=SC2016 # jq's variables
KS_JQ_DEFS='
def sock($proto; $family; $addr; $port; $v6only):
	{proto: $proto, family: $family, addr: $addr, port: $port, v6only: $v6only};
def any4($proto; $port): sock($proto; "inet"; "0.0.0.0"; $port; null);
def any6($proto; $port): sock($proto; "inet6"; "::"; $port; false);
def any($proto; $family; $port): if $family == "inet" then any4($proto; $port) else any6($proto; $port) end;
def zeros($n): [range($n) | 0];
'

# ks_check SPEC: the document KS_DOC against the expected groups; prints the verdict on each
# address ("ok ..." or "FAIL ...: why", one line for the addresses that differ by port alone and
# have the same) into the case's log, failures last, and fails on any.
#
# Groups on one address are as many groups in the kernel when they follow one another (the
# test closes one and builds the next: a new reuseport group, with its own reuseport_id), and
# reusetop shows each, closed. They are matched in creation order, which is inode order (the
# test pinned to one CPU): the first group the test built on an address is the shown group with
# the smallest inode there, and all of its sockets come before the next group's. Within a group,
# socket i of the test is the i-th by inode.
ks_check() { # spec
	local out
	out=$(jq -r --argjson ns "$NETNS_INODE" --argjson pid "$KS_PID" --arg comm "$KS_COMM" \
		--argjson spec "$1" '
	def v6($x): if $x == true then " v6only" elif $x == false then " not-v6only" else "" end;
	def key: "\(.proto) \(if .family == "inet6" then "[\(.addr)]" else .addr end):\(.port)\(v6(.v6only))";
	def address: [.proto, .family, .addr, .port, .v6only];
	def size: if type == "array" then length else .one_of end;
	def total: if type == "array" then add // 0 else 1 end;
	def pairs($f): map([.enqueued, .[$f]]);
	def inodes: [.sockets[].inode];
	# One shown group $g against the expected $w, the $i-th of $n on its address.
	def check($g; $w; $i; $n):
		($w.counts | size) as $size | ($w.counts | total) as $sum |
		(if $w.proto == "tcp" then "accepted" else "received" end) as $f |
		(if $w.proto == "tcp" then "acceptors" else "receivers" end) as $rows |
		($g.sockets | sort_by(.inode) | pairs($f)) as $got |
		"group \($i + 1) of \($n) by inode: " as $what |
		(if $g.members == $size and ($g.sockets | length) == $size then empty
		 else "\($what)members \($g.members), \($g.sockets | length) sockets shown, want \($size)" end),
		(if ($w.counts | type) == "array" then
			($w.counts | map([., .])) as $want |
			if $got == $want then empty
			else "\($what)[enqueued, \($f)] by inode: want \($want), got \($got)" end
		 else
			([range($size - 1) | [0, 0]] + [[1, 1]]) as $want |
			if ($got | sort) == $want then empty
			else "\($what)[enqueued, \($f)]: want one [1,1] (which one is the hash'"'"'s), the rest [0,0], got \($got)" end
		 end),
		(if $g.closed == true and all($g.sockets[]; .closed == true) then empty
		 else "\($what)not closed: group \($g.closed), sockets \([$g.sockets[].closed])" end),
		(if $g.enqueued == $sum and $g[$f] == $sum then empty
		 else "\($what)group enqueued \($g.enqueued) and \($f) \($g[$f]), want \($sum)" end),
		(($g[$rows] // [])[] | select(.pid != $pid or .comm != $comm) |
			"\($what)a row of \($rows) is not the test'"'"'s (pid \($pid), \($comm)): \(tojson)");
	# The groups shown on one address against those the test built there, in creation order.
	def check_address($want; $shown):
		($want | map(.counts | size)) as $sizes |
		($want | length) as $n |
		($shown | sort_by(inodes | min)) as $got |
		if ($got | length) != $n then
			"shown \($got | length) group(s) of \($got | map(.members)) members, want \($n) of \($sizes) in creation order"
		else
			(range($n) as $i | check($got[$i]; $want[$i]; $i; $n)),
			(range(1; $n) as $i | select(($got[$i] | inodes | min) < ($got[$i - 1] | inodes | max)) |
				"group \($i + 1) of \($n) has sockets older (by inode) than group \($i)'"'"'s newest")
		end;
	# Port lists as ranges: 9000-9019,9040.
	def ranges: sort | reduce .[] as $p ([]; if length > 0 and .[-1][1] + 1 == $p
		then .[-1][1] = $p else . + [[$p, $p]] end) |
		map(if .[0] == .[1] then "\(.[0])" else "\(.[0])-\(.[1])" end) | join(",");
	. as $doc | [$doc.groups[] | select(.netns == $ns)] as $shown |
	# One line per verdict and address; addresses that differ by port alone share it.
	([$spec | group_by(address)[] | . as $want | $want[0] as $w |
		[check_address($want; [$shown[] | select(address == ($w | address))])] as $errs |
		if $errs == [] then
			{$w, ok: true, text: "\($want | length) group(s) of \($want | map(.counts | size)) sockets, \($want | map(.counts | total) | add) \(if $w.proto == "tcp" then "connections" else "datagrams" end), exact"}
		else {$w, ok: false, text: $errs[]} end] |
	 group_by([.ok, .w.proto, .w.family, .w.addr, .w.v6only, .text])[] |
	 "\(if .[0].ok then "ok" else "FAIL" end) \(.[0].w + {port: (map(.w.port) | ranges)} | key): \(.[0].text)"),
	($shown[] | . as $g | select(all($spec[]; address != ($g | address))) |
		"FAIL unexpected group \($g | key): \($g.members) members, enqueued \($g.enqueued)"),
	($doc.lost | to_entries[] |
		select((.key == "socket_unknown" or .key == "socket_map_full" or .key == "acceptor_map_full") and .value != 0) |
		"FAIL lost.\(.key) = \(.value)")' <<<"$KS_DOC" 2>&1) || fail_because "ks_check: $out" || return 1
	grep -v '^FAIL' <<<"$out"
	grep '^FAIL' <<<"$out"
	! grep -q '^FAIL' <<<"$out" ||
		fail_because "reusetop differs from the test's truth on $(grep -c '^FAIL' <<<"$out") point(s) (above)"
}

# ks_printed START HIT: the per-socket counts the test printed, one JSON object per group (socket
# index: packets; sockets that got none left out), in the order it ran them. A group starts at a
# line matching START; in a line matching HIT, the match ends with the receiving socket's index.
ks_printed() { # start hit
	awk -v start="$1" -v hit="$2" '
		function flush(  s, sep, i) {
			if (!g) return
			s = "{"; sep = ""
			for (i = 0; i < 1024; i++) if (n[i]) { s = s sep "\"" i "\":" n[i]; sep = "," }
			print s "}"
			delete n
		}
		$0 ~ start { flush(); g = 1 }
		match($0, hit) {
			m = substr($0, RSTART, RLENGTH)
			match(m, /[0-9]+$/)
			n[substr(m, RSTART) + 0]++
		}
		END { flush() }' "$CASE_DIR/$KS_TEST.out" | jq -sc .
}

# The groups the test printed against the expected ones (those it sends to), in creation order:
# checks that what was read from its source is what it did.
ks_check_printed() { # start hit spec_in_creation_order
	local printed want
	printed=$(ks_printed "$1" "$2")
	want=$(jq -c '[.[] | select(.counts | type == "array" and add > 0) | .counts |
		[to_entries[] | select(.value > 0) | {key: (.key | tostring), value}] | from_entries]' <<<"$3")
	[ "$printed" = "$want" ] || fail_because "the test printed $printed, its source says $want"
}

# ---- the tests ---------------------------------------------------------------------------------

# reuseport_bpf: per protocol and family, a group of N sockets (10 or 20) on the wildcard
# address with a BPF program (eBPF or classic) returning the first word of the payload modulo N;
# 2N packets carry 0..2N-1, so socket i gets 2; then the program is replaced by one modulo N/2
# and 2N more packets go to socket d % (N/2): the first half gets 4 more. Per group: sockets
# 0..N/2-1 get 6, the others 2. UDP builds two groups on each port, one after the other; TCP
# one. The mapped tests bind IPv6 and send from IPv4. TCP sends with TCP Fast Open, so the
# payload is in the SYN the program reads; the first SYN to each address carries none (no
# cookie yet), the program's load fails and it returns 0, the socket the test expects for its
# first packet anyway: socket 0 gets it, as counted above.
# Packet d of a group's 4N goes out of a new socket bound to the wildcard address and port
# send_port_min + d (SO_REUSEADDR, not SO_REUSEPORT), closed once it has sent: for UDP, a socket
# bound outside the ephemeral range, alone on its address, that receives nothing. A port serves
# several groups' senders, one socket after another: each socket is a group of one.
# test_extra_filter leaves one bound UDP socket with SO_REUSEPORT and a program on ports 8002
# and 8005 until the test exits (the second socket's bind fails), and test_filter_no_reuseport
# one without SO_REUSEPORT on 8008 and 8009: one-socket groups that receive nothing. Not
# groups: the TCP sockets test_extra_filter and test_filter_no_reuseport bind but never listen
# on, the TCP senders (connected, not listening), and test_filter_without_bind's unbound ones.
ks_spec_reuseport_bpf() {
	jq -nc "$KS_JQ_DEFS"'
	def bpf($n): [range($n) | if . < $n / 2 then 6 else 2 end];
	# test_reuseport_ebpf and _cbpf: the group, then its senders (UDP ones are groups).
	def group($p; $recv; $send; $n; $port; $min):
		any($p; $recv; $port) + {counts: bpf($n)},
		(select($p == "udp") | range($min; $min + 4 * $n) | any($p; $send; .) + {counts: [0]});
	# A socket bound and left idle: a group of one for UDP; TCP ones never listen.
	def idle($p; $family; $port): select($p == "udp") | any($p; $family; $port) + {counts: [0]};
	[group("udp"; "inet"; "inet"; 10; 8000; 9000), group("udp"; "inet"; "inet"; 20; 8000; 9000),
	 group("udp"; "inet"; "inet"; 10; 8001; 9020), group("udp"; "inet"; "inet"; 20; 8001; 9020),
	 idle("udp"; "inet"; 8002), idle("udp"; "inet"; 8008),
	 group("udp"; "inet6"; "inet6"; 10; 8003; 9040), group("udp"; "inet6"; "inet6"; 20; 8003; 9040),
	 group("udp"; "inet6"; "inet6"; 10; 8004; 9060), group("udp"; "inet6"; "inet6"; 20; 8004; 9060),
	 idle("udp"; "inet6"; 8005), idle("udp"; "inet6"; 8009),
	 group("udp"; "inet6"; "inet"; 20; 8006; 9080), group("udp"; "inet6"; "inet"; 10; 8006; 9080),
	 group("udp"; "inet6"; "inet"; 10; 8007; 9100), group("udp"; "inet6"; "inet"; 20; 8007; 9100),
	 group("tcp"; "inet"; "inet"; 10; 8008; 9120), group("tcp"; "inet"; "inet"; 10; 8009; 9160),
	 idle("tcp"; "inet"; 8010), idle("tcp"; "inet"; 8011),
	 group("tcp"; "inet6"; "inet6"; 10; 8012; 9200), group("tcp"; "inet6"; "inet6"; 10; 8013; 9240),
	 idle("tcp"; "inet6"; 8014), idle("tcp"; "inet6"; 8015),
	 group("tcp"; "inet6"; "inet"; 10; 8016; 9320), group("tcp"; "inet6"; "inet"; 10; 8017; 9360)]'
}

case_selftest_reuseport_bpf() {
	local spec
	KS_TEST=reuseport_bpf KS_COMM=reuseport_bpf
	ks_run reuseport_bpf pin || return 1
	spec=$(ks_spec_reuseport_bpf)
	# It prints "Socket I: DATA" per packet, after "Testing EBPF|CBPF mod N..." per group.
	ks_check_printed '^Testing [EC]BPF mod' '^Socket [0-9]+' "$spec" || return 1
	ks_check "$spec" || return 1
	stop_reusetop
}

# reuseport_dualstack: on port 8888, IPv4 and IPv6 (not v6only) groups side by side, IPv4 first
# then IPv6 first, 5 sockets each, then 16 each, for UDP; 5 each twice for TCP. One packet from
# IPv4 each time, which the kernel must give the IPv4 group: one of its sockets, chosen by the
# hash of the sender's random port, so per socket only "one of them got 1" can be derived; the
# IPv6 groups get nothing.
ks_spec_reuseport_dualstack() {
	jq -nc "$KS_JQ_DEFS"'
	def v4($p; $n): any4($p; 8888) + {counts: {one_of: $n}};
	def v6($p; $n): any6($p; 8888) + {counts: zeros($n)};
	[v4("udp"; 5), v6("udp"; 5), v6("udp"; 5), v4("udp"; 5),
	 v4("udp"; 16), v6("udp"; 16), v6("udp"; 16), v4("udp"; 16),
	 v4("tcp"; 5), v6("tcp"; 5), v6("tcp"; 5), v4("tcp"; 5)]'
}

case_selftest_reuseport_dualstack() {
	KS_TEST=reuseport_dualstack KS_COMM=reuseport_duals
	ks_run reuseport_dualstack pin || return 1
	ks_check "$(ks_spec_reuseport_dualstack)" || return 1
	stop_reusetop
}

# reuseport_addr_any: on port 8888, per protocol, three runs (IPv4, IPv6, IPv4 to an IPv4-mapped
# IPv6 address): 2 IPv4 and 2 IPv6 wildcard sockets, one socket on the specific address, 2 and 2
# more wildcard ones (so 4 in each wildcard group); one packet, which must go to the specific
# socket. An IPv6 socket bound to ::1 is made v6only by the kernel; one bound to
# ::ffff:127.0.0.1 is not. Linux removed DCCP in 6.16: the test skips its DCCP runs, and says so
# (checked, so that on a kernel with DCCP this case fails rather than miss its groups).
ks_spec_reuseport_addr_any() {
	jq -nc "$KS_JQ_DEFS"'
	def run($p; $specific): any4($p; 8888) + {counts: zeros(4)}, any6($p; 8888) + {counts: zeros(4)},
		$specific + {counts: [1]};
	[("udp", "tcp") as $p |
	 run($p; sock($p; "inet"; "127.0.0.1"; 8888; null)),
	 run($p; sock($p; "inet6"; "::1"; 8888; true)),
	 run($p; sock($p; "inet6"; "::ffff:127.0.0.1"; 8888; false))]'
}

case_selftest_reuseport_addr_any() {
	KS_TEST=reuseport_addr_any KS_COMM=reuseport_addr_
	ks_run reuseport_addr_any pin || return 1
	grep -q '^DCCP not supported: skipping DCCP tests' "$CASE_DIR/reuseport_addr_any.out" ||
		fail_because "DCCP ran: its groups are not in this case's truth" || return 1
	ks_check "$(ks_spec_reuseport_addr_any)" || return 1
	stop_reusetop
}

# reuseport_bpf_cpu: per protocol and family, one group of one socket per online CPU on port
# 8888 with a classic program returning the CPU the packet is processed on; the test moves
# itself to each CPU and sends from there: forwards, backwards, then the even CPUs, then the
# odd ones. Each socket gets 3.
ks_spec_reuseport_bpf_cpu() { # cpus
	jq -nc --argjson cpus "$1" "$KS_JQ_DEFS"'
	[("udp", "tcp") as $p | (any4($p; 8888), any6($p; 8888)) + {counts: [range($cpus) | 3]}]'
}

case_selftest_reuseport_bpf_cpu() {
	local spec
	KS_TEST=reuseport_bpf_cpu KS_COMM=reuseport_bpf_c
	ks_run reuseport_bpf_cpu || return 1
	spec=$(ks_spec_reuseport_bpf_cpu "$(getconf _NPROCESSORS_ONLN)")
	ks_check_printed '^---- ' 'receive socket [0-9]+' "$spec" || return 1
	ks_check "$spec" || return 1
	stop_reusetop
}

# reuseport_bpf_numa: the same with one socket per NUMA node (numa_max_node() + 1) and an eBPF
# program returning the node; it sends from each node forwards and backwards: each socket of a
# node that exists gets 2. This machine has one node: four one-socket groups.
ks_spec_reuseport_bpf_numa() {
	local dir node max=0 counts=()
	# libnuma's numa_max_node(): the highest nodeN in sysfs.
	for dir in /sys/devices/system/node/node[0-9]*; do
		node=${dir##*/node}
		[ "$node" -le "$max" ] || max=$node
	done
	for node in $(seq 0 "$max"); do
		if [ -d "/sys/devices/system/node/node$node" ]; then counts+=(2); else counts+=(0); fi
	done
	jq -nc --argjson counts "[$(IFS=,; echo "${counts[*]}")]" "$KS_JQ_DEFS"'
	[("udp", "tcp") as $p | (any4($p; 8888), any6($p; 8888)) + {counts: $counts}]'
}

case_selftest_reuseport_bpf_numa() {
	local spec
	KS_TEST=reuseport_bpf_numa KS_COMM=reuseport_bpf_n
	ks_run reuseport_bpf_numa || return 1
	spec=$(ks_spec_reuseport_bpf_numa)
	ks_check_printed '^---- ' 'receive socket [0-9]+' "$spec" || return 1
	ks_check "$spec" || return 1
	stop_reusetop
}

selftests_cases() {
	local err
	err=$(mktemp)
	if ! KS_BIN=$(tests/selftests/fetch.sh "$BUILD" 2>"$err"); then
		FAILED=$((FAILED + 1)); FAILED_NAMES+=("kernel selftests: fetch and build from linux-source-6.1")
		echo "FAIL kernel selftests: fetch and build from linux-source-6.1"
		sed 's/^/    | /' "$err"
		rm -f "$err"
		return
	fi
	sed 's/^/  /' "$err"
	rm -f "$err"
	run_case "kernel selftest reuseport_bpf: every group shown, exact per socket" \
		case_selftest_reuseport_bpf
	run_case "kernel selftest reuseport_dualstack: every group shown, exact per socket" \
		case_selftest_reuseport_dualstack
	run_case "kernel selftest reuseport_addr_any: every group shown, exact per socket" \
		case_selftest_reuseport_addr_any
	run_case "kernel selftest reuseport_bpf_cpu: every group shown, exact per socket" \
		case_selftest_reuseport_bpf_cpu
	run_case "kernel selftest reuseport_bpf_numa: every group shown, exact per socket" \
		case_selftest_reuseport_bpf_numa
}
