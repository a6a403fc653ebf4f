# SPDX-License-Identifier: GPL-2.0
# bench/results.jq: turns the raw measurements of bench/run.sh into bench/results.json:
# per-variant statistics, BPF run time per connection and per program, user-space CPU, and
# the targets with whether each is met. Inputs come as --arg/--argjson/--slurpfile (run.sh).

# Linear interpolation between closest ranks; null for an empty array.
def quantile($p):
	sort as $s | ($s | length) as $n
	| if $n == 0 then null
	  else (($n - 1) * $p) as $h | ($h | floor) as $lo | ($h | ceil) as $hi
	  | $s[$lo] + ($s[$hi] - $s[$lo]) * ($h - $lo) end;

def summary:
	if length == 0 then null
	else {n: length, median: quantile(0.5), min: min, max: max, q1: quantile(0.25), q3: quantile(0.75)}
	| .iqr_pct = (if .median != 0 then 100 * (.q3 - .q1) / .median else null end)
	| .range_pct = (if .median != 0 then 100 * (.max - .min) / .median else null end) end;

# Sum of field $f over the programs of class $k.
def class_sum($progs; $k; $f): [$progs[] | select(.class == $k) | .[$f]] | add // 0;

def rnd($d): if . == null then null else (. * pow(10; $d) | round) / pow(10; $d) end;

# Where a program's cost comes from. "connection": hooks that fire for each connection (and, for
# sk_data_ready, for every other socket's data too); "ambient": hooks that fire for events of the
# whole host whether or not connections arrive (every wakeup, every softirq, every UDP datagram,
# recv or sendmsg call, every fork); "decision": a steering program, once per reuseport selection.
def prog_class:
	if .type == "sk_reuseport" then "decision"
	elif (.name | test("sched_wak|softirq|udp|recv|sendmsg|fork|^[0-9]+$|BEGIN|END")) then "ambient"
	else "connection" end;

def round_summary: if . == null then null else with_entries(.value |= rnd(1)) end;

# Rate and CPU per connection of each variant over its rounds ($rounds: one line per round of
# every variant, bench/run.sh's round()); rounds that lost connections are left out.
def rate_variants($variants; $rounds; $conns):
	[$rounds[] | select(.error == null and .failed == 0 and .ok == $conns)] as $good
	| ([$good[] | select(.variant == "untraced") | .rate] | summary) as $base
	| ([$good[] | select(.variant == "untraced") | .cpu_us_per_conn] | summary) as $base_cpu
	| (reduce ($good[] | select(.variant == "untraced")) as $r ({}; .[($r.round | tostring)] = $r.rate)) as $base_by_round
	| [$variants[] as $v
	| [$good[] | select(.variant == $v.name)] as $vr
	| ($vr | map(.rate) | summary) as $s
	| $v + {
		rounds: [$rounds[] | select(.variant == $v.name)],
		rounds_failed: (([$rounds[] | select(.variant == $v.name)] | length) - ($vr | length)),
		rate: ($s | round_summary),
		ratio_to_untraced: (if $s != null and $base != null then ($s.median / $base.median | rnd(4)) else null end),
		cost_pct: (if $s != null and $base != null then (100 * (1 - $s.median / $base.median) | rnd(2)) else null end),
		paired_ratio: ([$vr[] | select($base_by_round[(.round | tostring)] != null)
			| .rate / $base_by_round[(.round | tostring)]] | summary
			| if . == null then null else with_entries(.value |= rnd(4)) end),
		# CPU time of the rig per connection: where the probes' cost is charged, and much
		# less disturbed than the rate by other processes competing for the CPUs.
		cpu_us_per_conn: ($vr | map(.cpu_us_per_conn) | summary
			| if . == null then null else with_entries(.value |= rnd(3)) end),
		cpu_cost_pct: (($vr | map(.cpu_us_per_conn) | summary) as $c
			| if $c != null and $base_cpu != null then (100 * ($c.median / $base_cpu.median - 1) | rnd(2)) else null end),
		others_pct: ($vr | map(.others_pct) | summary | if . == null then null else .median | rnd(1) end)
	}];

# Per-program deltas of statistics rounds summed per program: the same program in every round
# is the same (object, hook, name). $per: what the run counts are divided by (connections,
# round trips).
def program_totals($rounds; $per):
	[$rounds[].programs[]] | group_by([.object, .hook, .name])
	| map({name: .[0].name, object: .[0].object, hook: .[0].hook, type: .[0].type,
		class: (.[0] | prog_class), run_cnt: (map(.run_cnt) | add), run_time_ns: (map(.run_time_ns) | add)})
	| map(. + {ns_per_run: (if .run_cnt > 0 then .run_time_ns / .run_cnt else null end | rnd(1)),
		runs_per_conn: (if $per > 0 then .run_cnt / $per | rnd(3) else null end),
		ns_per_conn: (if $per > 0 then .run_time_ns / $per | rnd(1) else null end)})
	| sort_by(-.run_time_ns);

# BPF run time per variant, summed over its statistics rounds.
def bpf_variants($variants; $bpf):
	[$variants[] | select(.name != "untraced") as $v
	| [$bpf[] | select(.variant == $v.name)] as $br
	| ([$br[] | .client.ok // 0] | add // 0) as $c
	| if ($br | length) == 0 or $c == 0 then {variant: $v.name, status: $v.status}
	  else
		program_totals($br; $c) as $progs
		| ([$progs[].run_cnt] | add // 0) as $runs
		| ($floor.ns_per_run // 0) as $f
		| def part($k): class_sum($progs; $k; "run_time_ns");
		  def decision($k): class_sum($progs; "decision"; $k);
		{variant: $v.name, status: $v.status, rounds: ($br | length), connections: $c,
		 runs_per_conn: ($runs / $c | rnd(2)),
		 total_ns_per_conn: (([$progs[].run_time_ns] | add // 0) / $c | rnd(1)),
		 # The same less the statistics' own floor, charged to every run.
		 total_ns_per_conn_less_floor: ((([$progs[].run_time_ns] | add // 0) - $runs * $f) / $c | rnd(1)),
		 connection_ns_per_conn: (part("connection") / $c | rnd(1)),
		 ambient_ns_per_conn: (part("ambient") / $c | rnd(1)),
		 decisions: decision("run_cnt"),
		 ns_per_decision: (if decision("run_cnt") > 0
			then decision("run_time_ns") / decision("run_cnt") | rnd(1) else null end),
		 ns_per_decision_less_floor: (if decision("run_cnt") > 0
			then decision("run_time_ns") / decision("run_cnt") - $f | rnd(1) else null end),
		 programs: $progs,
		 counted: [$br[] | {round, connections: .client.ok, counted}]}
	  end];

# Hand-offs: the rate rounds and the statistics rounds of the handoff server, the hand-off
# programs' own run time (object "handoff": sendmsg entry and exit, the receipt, fork) apart.
def handoff_section:
	rate_variants($handoff_variants; $handoff_rounds; $config.handoff.connections_per_round) as $hv
	| ([bpf_variants($handoff_variants; $handoff_bpf)[] | select(.programs != null)] | first) as $hb
	| ($floor.ns_per_run // 0) as $f
	| if ($handoff_rounds | length) == 0 and ($handoff_bpf | length) == 0 then null
	  else {
		description: "rig_server --mode handoff under rig_client's load, untraced and observed (reusetop -j -d 1 > /dev/null)",
		variants: $hv,
		bpf: (if $hb == null then null
			else [$hb.programs[] | select(.object == "handoff")] as $hp
			| $hb + {handoff_runs_per_conn: (([$hp[].run_cnt] | add // 0) / $hb.connections | rnd(3)),
				handoff_ns_per_conn: (([$hp[].run_time_ns] | add // 0) / $hb.connections | rnd(1)),
				handoff_ns_per_conn_less_floor: ((([$hp[].run_time_ns] | add // 0)
					- ([$hp[].run_cnt] | add // 0) * $f) / $hb.connections | rnd(1))} end),
		# The master's accepts and the workers' receipts, against every connection made.
		server_check: ($handoff_accepted + {connections: ($handoff_warmup_ok
			+ ([$handoff_rounds[].ok // 0] | add // 0) + ([$handoff_bpf[].client.ok // 0] | add // 0))})
	  } end;

# What a process reusetop does not watch pays per sendmsg + recvmsg (bench/unix_pingpong): the
# median call times per round against the untraced rounds, and the BPF run time of the programs
# on its path (sendmsg entry and exit, recvmsg exit), each of which runs once per call of it.
def tax_section:
	[$tax_rounds[] | select(.error == null and .pair_median_ns != null)] as $tg
	| (reduce ($tg[] | select(.variant == "untraced")) as $r ({}; .[($r.round | tostring)] = $r.pair_median_ns)) as $tbase
	| ([$tg[] | select(.variant == "untraced") | .pair_median_ns] | summary) as $tb
	| ($floor.ns_per_run // 0) as $f
	| def med($k): map(.[$k]) | quantile(0.5) | rnd(1);
	  def on_path: .hook as $h | ["sys_enter_sendmsg", "sys_exit_sendmsg", "sys_exit_recvmsg"] | index($h);
	[$tax_variants[] as $v
	| [$tg[] | select(.variant == $v.name)] as $vr
	| ($vr | map(.pair_median_ns) | summary) as $s
	| $v + {rounds: ($vr | length),
		rounds_failed: (([$tax_rounds[] | select(.variant == $v.name)] | length) - ($vr | length)),
		pair_median_ns: ($s | round_summary),
		sendmsg_median_ns: ($vr | med("sendmsg_median_ns")), recvmsg_median_ns: ($vr | med("recvmsg_median_ns")),
		pair_mean_ns: ($vr | med("ns_per_pair")),
		added_ns: (if $s != null and $tb != null then $s.median - $tb.median | rnd(1) else null end),
		added_pct: (if $s != null and $tb != null then 100 * ($s.median / $tb.median - 1) | rnd(2) else null end),
		paired_added_ns: ([$vr[] | select($tbase[(.round | tostring)] != null)
			| .pair_median_ns - $tbase[(.round | tostring)]] | summary | round_summary)}] as $tv
	| [$tax_variants[] | select(.name != "untraced") as $v
	| [$tax_bpf[] | select(.variant == $v.name)] as $br
	| ([$br[].pingpong.pairs // 0] | add // 0) as $n
	| if ($br | length) == 0 or $n == 0 then {variant: $v.name, status: $v.status}
	  else [program_totals($br; $n)[] | select(on_path)] as $on
		| {variant: $v.name, status: $v.status, rounds: ($br | length), pairs: $n,
		   watched: [$br[].watched],
		   programs_on_path: ($on | length),
		   ns_per_pair: ([$on[].ns_per_run // 0] | add // 0 | rnd(1)),
		   ns_per_pair_less_floor: (([$on[].ns_per_run // 0] | add // 0) - ($on | length) * $f | rnd(1)),
		   # runs_per_pair above 1: other processes' calls on the host while it ran.
		   programs: [$on[] | del(.class, .ns_per_conn) | .runs_per_pair = .runs_per_conn | del(.runs_per_conn)]}
	  end] as $tbpf
	| if ($tax_rounds | length) == 0 and ($tax_bpf | length) == 0 then null
	  else {description: "bench/unix_pingpong, a process reusetop does not watch: one-byte sendmsg + recvmsg round trips over a Unix socketpair, no SCM_RIGHTS",
		variants: $tv, bpf: $tbpf,
		# reusetop's filter (handoff_pids) never held unix_pingpong's pid.
		unwatched: ([$tbpf[].watched[]? | select(. != null)]
			| if length == 0 then null else all(. == false) end)}
	  end;

# A round figure f of the variant's rounds $vr against the untraced rounds of $g: its summary
# over rounds, what it adds to the untraced median, and per round against the same round's.
def added_over_untraced($vr; $g; f):
	([$g[] | select(.variant == "untraced") | f] | summary) as $b
	| (reduce ($g[] | select(.variant == "untraced")) as $r ({}; .[($r.round | tostring)] = ($r | f))) as $br
	| ($vr | map(f) | summary) as $s
	| {ns: ($s | round_summary),
	   added_ns: (if $s != null and $b != null then $s.median - $b.median | rnd(1) else null end),
	   added_pct: (if $s != null and $b != null then 100 * ($s.median / $b.median - 1) | rnd(2) else null end),
	   paired_added_ns: ([$vr[] | select($br[(.round | tostring)] != null)
		| f - $br[(.round | tostring)]] | summary | round_summary)};

# Trigger loops (bench/trigger.sh): per variant, the full cost per accept4() on a ready queue
# and per getppid() of a process with no socket; what the tracers counted of the accepts; and,
# from the statistics rounds, the run time of the programs on accept4 against the full cost.
def trigger_section:
	($trigger_meta[0] // null) as $m
	| [$trigger_rounds[] | select(.error == null)] as $g
	| ($floor.ns_per_run // 0) as $f
	| [$m.variants[]? as $v
	| [$g[] | select(.variant == $v.name)] as $vr
	| [$trigger_bpf[] | select(.variant == $v.name and .accept != null)] as $br
	| ([$br[].accept.accepts] | add // 0) as $n
	| (if $n == 0 then null
	   else [program_totals($br; $n)[] | select((.hook // "") | test("_accept4$"))] as $on
	   | if ([$on[].run_cnt] | add // 0) == 0 then null else
	     {rounds: ($br | length), accepts: $n, programs_on_path: ($on | length),
	      runs_per_accept: ([$on[].runs_per_conn] | add // 0 | rnd(3)),
	      ns_per_accept: (([$on[].run_time_ns] | add // 0) / $n | rnd(1)),
	      ns_per_accept_less_floor: ((([$on[].run_time_ns] | add // 0) - ([$on[].run_cnt] | add // 0) * $f) / $n | rnd(1)),
	      programs: [$on[] | del(.class, .ns_per_conn) | .runs_per_accept = .runs_per_conn | del(.runs_per_conn)]}
	   end end) as $bpf
	| added_over_untraced($vr; $g; .accept.call_median_ns) as $acc
	# The same over the clean rounds only: no other process had a program on a system call
	# tracepoint (another tracer puts the untraced rounds on the slow path too, and its
	# programs on accept4 run in every variant's rounds); for accept4, the statistics off too
	# (on, every program run is dearer: another benchmark may turn them on). getppid runs no
	# program, whatever the statistics.
	| def clean: .others_syscall_progs == 0;
	  def clean_off: clean and (.bpf_stats_enabled // 0) == 0;
	  [$g[] | select(clean)] as $gc
	| [$vr[] | select(clean)] as $vc
	| [$g[] | select(clean_off)] as $gco
	| [$vr[] | select(clean_off)] as $vco
	| $v + {rounds: [$trigger_rounds[] | select(.variant == $v.name)],
		rounds_failed: (([$trigger_rounds[] | select(.variant == $v.name)] | length) - ($vr | length)),
		accept: ($acc + {
			p10: added_over_untraced($vr; $g; .accept.call_p10_ns),
			batch: added_over_untraced($vr; $g; .accept.batch_median_ns),
			connect: added_over_untraced($vr; $g; .accept.connect_median_ns),
			call_mean_ns: ($vr | map(.accept.call_mean_ns) | quantile(0.5) | rnd(1)),
			bpf: $bpf,
			# What the loop says the variant adds and run_time_ns does not see: the
			# dispatch and the system call slow path.
			not_in_run_time_ns: (if $bpf != null and $acc.added_ns != null
				then $acc.added_ns - $bpf.ns_per_accept | rnd(1) else null end)}),
		getppid: (added_over_untraced($vr; $g; .getppid.batch_median_ns)
			+ {p10: added_over_untraced($vr; $g; .getppid.batch_p10_ns),
			   mean_ns: ($vr | map(.getppid.mean_ns) | quantile(0.5) | rnd(1))}),
		clean: {rounds: ($vc | length), rounds_statistics_off: ($vco | length),
			accept: (added_over_untraced($vco; $gco; .accept.call_median_ns)
				+ {p10: added_over_untraced($vco; $gco; .accept.call_p10_ns)}),
			getppid: (added_over_untraced($vc; $gc; .getppid.batch_median_ns)
				+ {p10: added_over_untraced($vc; $gc; .getppid.batch_p10_ns)})},
		# Programs on system call tracepoints held by other processes during the rounds.
		others_syscall_progs: ($vr | map(.others_syscall_progs // 0) | max)}] as $tv
	| [$g[] | select(.counted != null)
		| {variant, round, accepts: .accept.accepts, enqueued: .counted.enqueued, accepted: .counted.accepted}] as $c
	| if $m == null then null
	  else {description: "tight loops of a hooked event timed from user space (after the kernel's BPF bench trigger benchmarks): what a variant adds is its full cost per event, dispatch and system call slow path included",
		config: ($m | del(.variants)), variants: $tv, counted: $c,
		# Every connection of every round counted, queued and accepted, by the tracers that count.
		counts_ok: (if ($c | length) == 0 then null
			else all($c[]; .accepted == .accepts and .enqueued == .accepts) end)}
	  end;

($config.connections_per_round) as $conns
| [$rounds[] | select(.error == null and .failed == 0 and .ok == $conns)] as $good
| ([$good[] | select(.variant == "untraced") | .rate] | summary) as $base
| rate_variants($variants; $rounds; $conns) as $vs
| bpf_variants($variants; $bpf) as $bpfs
| ([$cpu[] | select(.listeners == 10000 and .mode == "json")] | first) as $cpu10k
| ($vs | map({key: .name, value: .}) | from_entries) as $V
| ($bpfs | map({key: .variant, value: .}) | from_entries) as $B

| def target($name; $limit; $measured; $unit; $met; $note):
	{name: $name, limit: $limit, measured: $measured, unit: $unit, met: $met, note: $note};
  def skipped($v): ($V[$v].status // "not run") | if . == "ok" then "no data" else . end;

{
	schema: "reusetop-bench/1",
	time: $time,
	command: $command,
	duration_s: $duration,
	git: $git,
	reusetop: $rt_version,
	bpftrace: $bt_version,
	machine: ($machine + {loadavg_start: $load_start, loadavg_end: $load_end}),
	config: $config,
	untraced_rate: $base,
	# What kernel.bpf_stats_enabled charges per run to a program that does nothing (the clock).
	bpf_stats_floor: $floor,
	variants: $vs,
	bpf: $bpfs,
	cpu: $cpu,
	handoff: handoff_section,
	unrelated_syscall_tax: tax_section,
	trigger: trigger_section,
	# Every connection any client made, against what the server's workers counted.
	server_check: {accepted: $server_accepted,
		connections: ($warmup_ok + ([$rounds[].ok // 0] | add // 0) + ([$bpf[].client.ok // 0] | add // 0))},
	targets: ([
		target("observing costs at most 3% of the untraced connection rate"; 3;
			$V.observe.cost_pct; "%";
			(if $V.observe.cost_pct == null then null else $V.observe.cost_pct <= 3 end);
			"1 - median(observe) / median(untraced); other processes took \($V.untraced.others_pct)% of the machine (median) during the rounds"
			+ (if $V.hooks.cost_pct != null then "; empty programs on the same hooks (hooks) cost \($V.hooks.cost_pct)%" else "" end)),
		target("observing adds at most 3% to the CPU time per connection (the same, measured as CPU)"; 3;
			$V.observe.cpu_cost_pct; "%";
			(if $V.observe.cpu_cost_pct == null then null else $V.observe.cpu_cost_pct <= 3 end);
			"median(rig CPU per connection, observe) / median(untraced) - 1; less disturbed by other processes' load"
			+ (if $V.hooks.cpu_cost_pct != null then "; hooks: \($V.hooks.cpu_cost_pct)%" else "" end)),
		target("observing costs less than the bpftrace peer"; $V.bpftrace.cost_pct;
			$V.observe.cost_pct; "%";
			(if $V.observe.cost_pct == null or $V.bpftrace.cost_pct == null then null
			 else $V.observe.cost_pct < $V.bpftrace.cost_pct end);
			(if $V.bpftrace.cost_pct == null then skipped("bpftrace") else "limit = the bpftrace peer's cost" end)),
		target("observing costs less CPU per connection than the bpftrace peer"; $V.bpftrace.cpu_cost_pct;
			$V.observe.cpu_cost_pct; "%";
			(if $V.observe.cpu_cost_pct == null or $V.bpftrace.cpu_cost_pct == null then null
			 else $V.observe.cpu_cost_pct < $V.bpftrace.cpu_cost_pct end);
			"limit = the bpftrace peer's CPU cost"),
		target("BPF run time per connection, observing"; 300;
			$B.observe.total_ns_per_conn; "ns";
			(if $B.observe.total_ns_per_conn == null then null else $B.observe.total_ns_per_conn <= 300 end);
			"sum of run_time_ns over all of reusetop's programs / connections; \($B.observe.total_ns_per_conn_less_floor) ns less the statistics' floor (\($B.observe.runs_per_conn) runs per connection)"
			+ (if $B.hooks.total_ns_per_conn != null then "; empty programs on the same hooks: \($B.hooks.total_ns_per_conn) ns" else "" end)),
		# What reusetop's programs do beyond being attached: observe less the empty hooks, against
		# the same for another build measured in the same rounds (BENCH_BASELINE).
		(def own($v): if $B[$v].total_ns_per_conn == null or $B.hooks.total_ns_per_conn == null then null
			else ($B[$v].total_ns_per_conn - $B.hooks.total_ns_per_conn | rnd(1)) end;
		 own("observe-baseline") as $was | own("observe") as $now
		| target("BPF run time beyond the empty hooks at most half the baseline build's";
			(if $was == null then null else ($was / 2 | rnd(1)) end); $now; "ns";
			(if $was == null or $now == null then null else $now <= $was / 2 end);
			(if $was == null then skipped("observe-baseline")
			 else "observe - hooks, ns per connection; the baseline build (observe-baseline - hooks): \($was) ns" end))),
		(("steer-roundrobin", "steer-least-loaded") as $s
		| target("BPF run time per steering decision, \($s | ltrimstr("steer-"))"; 100;
			$B[$s].ns_per_decision; "ns";
			(if $B[$s].ns_per_decision == null then null else $B[$s].ns_per_decision <= 100 end);
			(if $B[$s].ns_per_decision == null then skipped($s)
			 else "sk_reuseport run_time_ns / run_cnt; \($B[$s].ns_per_decision_less_floor) ns less the statistics' floor"
				+ (if $B["steer-floor"].ns_per_decision != null
				   then "; selecting by the flow hash and nothing else (steer-floor): \($B["steer-floor"].ns_per_decision) ns" else "" end) end))),
		(("roundrobin", "least-loaded") as $p
		| ("steer-\($p)") as $e | ("steer-shadow-\($p)") as $s
		| target("a shadow decision costs no more than an enforcing one, \($p)";
			$B[$e].ns_per_decision; $B[$s].ns_per_decision; "ns";
			(if $B[$s].ns_per_decision == null or $B[$e].ns_per_decision == null then null
			 else $B[$s].ns_per_decision <= $B[$e].ns_per_decision end);
			(if $B[$s].ns_per_decision == null then skipped($s)
			 else "sk_reuseport run_time_ns / run_cnt with --shadow (the policy's choice and the kernel's hash choice counted); limit = the same policy enforcing" end))),
		target("user space at most 1% of one core, -j -d 1, 10,000 listeners"; 1;
			($cpu10k.pct_of_core | rnd(2)); "% of a core";
			(if $cpu10k == null then null else $cpu10k.pct_of_core <= 1 end);
			([$cpu[] | select(.listeners == 10000 and .mode != "json") | "\(.mode) \(.pct_of_core | rnd(2))%"] | join(", ")
			 | "reusetop -j -d 1 > /dev/null, CPU time per second; the other outputs: " + .))
	# The section of bench/run.sh (BENCH_SECTIONS) that measures each.
	] | map(. + {section: (if .name | startswith("user space") then "userspace" else "variants" end)}))
}
