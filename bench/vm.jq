# SPDX-License-Identifier: GPL-2.0
# bench/vm.jq: turns the lines bench/vm_guest.sh printed in the qemu VM into the "vm" and
# "vm_tiers" keys of bench/results.json (bench/vm.sh merges them). Inputs (--slurpfile): rounds,
# stats, attach, guest, server, warmup, tier_errors; (--argjson) config, duration; (--arg)
# time, git, command, rt_version, host_kernel, kernel_image, bt_status.

def median: sort | length as $n
	| if $n == 0 then null elif $n % 2 == 1 then .[($n - 1) / 2]
	  else (.[$n / 2 - 1] + .[$n / 2]) / 2 end;

def rnd($d): if . == null then null else (. * pow(10; $d) | round) / pow(10; $d) end;

def spread: if length == 0 then null
	else {n: length, median: (median | rnd(4)), min: (min | rnd(4)), max: (max | rnd(4))} end;

# Rounds that made every connection they were asked for.
def good($t): [$rounds[] | select(.tier == $t and .error == null and .client.ok == $config.connections_per_round
	and .client.failed == 0)];

# qemu's CPU time per connection of each round (host µs: the guest's work, which the host's
# other processes do not stretch the way they stretch the rate), by "variant round".
def cpu_by_round($t):
	reduce ([$marks[] | select(.tier == $t and .qemu_cpu_ns != null)] | group_by([.variant, .round])[]
		| select(length == 2)) as $m ({};
		.["\($m[0].variant) \($m[0].round)"] = (($m | map(select(.at == "end")) | first.qemu_cpu_ns)
			- ($m | map(select(.at == "start")) | first.qemu_cpu_ns)));

# Connections/s per variant, and the ratio to untraced: of the medians, and paired by round.
def rate_variants($t):
	good($t) as $g
	| cpu_by_round($t) as $cpu
	| [$g[] | . + {cpu_us_per_conn: (if ($cpu["\(.variant) \(.round)"] // 0) > 0
		then $cpu["\(.variant) \(.round)"] / 1000 / .client.ok else null end)}] as $g
	| (reduce ($g[] | select(.variant == "untraced" and .cpu_us_per_conn != null)) as $r ({};
		.[($r.round | tostring)] = $r.cpu_us_per_conn)) as $cbase
	| (reduce ($g[] | select(.variant == "untraced")) as $r ({}; .[($r.round | tostring)] = $r.client.rate)) as $base
	| ([$g[] | select(.variant == "untraced") | .client.rate] | median) as $bm
	| [$config.variants[] as $v
	| [$g[] | select(.variant == $v)] as $vr
	| select(($vr | length) > 0 or ([$rounds[] | select(.tier == $t and .variant == $v)] | length) > 0)
	| ($vr | map(.client.rate) | median) as $m
	| {name: $v,
	   attach_s: ([$attach[] | select(.tier == $t and .variant == $v) | .seconds] | first),
	   rounds_failed: (([$rounds[] | select(.tier == $t and .variant == $v)] | length) - ($vr | length)),
	   errors: [$rounds[] | select(.tier == $t and .variant == $v and .error != null) | .error],
	   rate: ($vr | map(.client.rate) | spread | if . then with_entries(.value |= rnd(1)) else . end),
	   rates: ($vr | sort_by(.round) | map(.client.rate)),
	   ratio_to_untraced: (if $m != null and $bm != null then $m / $bm | rnd(4) else null end),
	   paired_ratio: ([$vr[] | select($base[(.round | tostring)] != null)
		| .client.rate / $base[(.round | tostring)]] | spread),
	   qemu_cpu_us_per_conn: ($vr | map(.cpu_us_per_conn // empty) | spread
		| if . then with_entries(.value |= rnd(1)) else . end),
	   # Paired: each round's CPU per connection against the untraced round of the same number.
	   paired_cpu_ratio: ([$vr[] | select(.cpu_us_per_conn != null and $cbase[(.round | tostring)] != null)
		| .cpu_us_per_conn / $cbase[(.round | tostring)]] | spread)}];

# Per-program deltas of one statistics round (after - before, by program id).
def deltas: . as $s | [$s.after[] as $a | ($s.before[] | select(.id == $a.id)) as $b
	| {id: $a.id, type: $a.type, name: $a.name, object: $a.object, hook: $a.hook,
	   run_cnt: ($a.run_cnt - $b.run_cnt), run_time_ns: ($a.run_time_ns - $b.run_time_ns)}];

# BPF run time of a variant over its statistics rounds: in all and per program, per connection.
def bpf_variant($t; $v):
	[$stats[] | select(.tier == $t and .variant == $v and .client != null and .client.ok > 0)] as $sr
	| ([$sr[].client.ok] | add // 0) as $c
	| if $c == 0 then null
	  else [$sr[] | deltas[]] | group_by([.object, .hook, .name, .type])
		| map({name: .[0].name, type: .[0].type, object: .[0].object, hook: .[0].hook,
			run_cnt: (map(.run_cnt) | add), run_time_ns: (map(.run_time_ns) | add)}
			| . + {runs_per_conn: (.run_cnt / $c | rnd(3)),
				ns_per_run: (if .run_cnt > 0 then .run_time_ns / .run_cnt | rnd(1) else null end),
				ns_per_conn: (.run_time_ns / $c | rnd(1))})
		| sort_by(-.run_time_ns) as $p
		| {rounds: ($sr | length), connections: $c,
		   attached_tier: ([$sr[].attach] | unique | join(",")),
		   runs_per_conn: (([$p[].run_cnt] | add // 0) / $c | rnd(2)),
		   total_ns_per_conn: (([$p[].run_time_ns] | add // 0) / $c | rnd(1)),
		   # Each round's own total, and their median: a round the host preempted qemu in
		   # weighs less in it than in the total (TCG's clock is the host's).
		   rounds_ns_per_conn: [$sr[] | ([deltas[].run_time_ns] | add // 0) / .client.ok | rnd(1)],
		   programs: $p}
	  end;

def tier($t):
	rate_variants($t) as $rv
	| (reduce $rv[] as $v ({}; .[$v.name] = $v)) as $V
	| {hooks: bpf_variant($t; "hooks"), observe: bpf_variant($t; "observe"),
	   bpftrace: bpf_variant($t; "bpftrace"), steer: bpf_variant($t; "steer-roundrobin")} as $B
	| ([$tier_errors[] | select(.tier == $t) | .error] | first) as $err
	| if $err != null then {status: "tier did not attach: \($err)"}
	  else {
		status: "ok",
		kernel: ($guest[0].kernel // null),
		rounds: $config.rounds, connections_per_round: $config.connections_per_round,
		stats_rounds: $config.stats_rounds, connections_per_stats_round: $config.connections_per_stats_round,
		observe_rate_ratio: $V.observe.paired_ratio.median,
		hooks_rate_ratio: $V.hooks.paired_ratio.median,
		bpftrace_rate_ratio: $V.bpftrace.paired_ratio.median,
		# The same as qemu's CPU time per connection against untraced's (above 1: dearer).
		observe_cpu_ratio: $V.observe.paired_cpu_ratio.median,
		hooks_cpu_ratio: $V.hooks.paired_cpu_ratio.median,
		bpftrace_cpu_ratio: $V.bpftrace.paired_cpu_ratio.median,
		untraced_rate_median: $V.untraced.rate.median,
		# BPF run time per connection: the median of the statistics rounds' totals.
		observe_ns_per_conn: ($B.observe.rounds_ns_per_conn // [] | median),
		hooks_ns_per_conn: ($B.hooks.rounds_ns_per_conn // [] | median),
		bpftrace_ns_per_conn: ($B.bpftrace.rounds_ns_per_conn // [] | median),
		bpftrace_status: (if $B.bpftrace != null then "ok" else $bt_status end),
		bpftrace_attach_s: ([$attach[] | select(.tier == $t and .variant == "bpftrace") | .seconds] | first),
		# The same per decision: the median of the rounds' sk_reuseport run_time_ns / run_cnt.
		steer_ns_per_decision: ([$stats[] | select(.tier == $t and .variant == "steer-roundrobin" and .client != null)
			| [deltas[] | select(.type == "sk_reuseport")] | select(([.[].run_cnt] | add // 0) > 0)
			| ([.[].run_time_ns] | add) / ([.[].run_cnt] | add)] | median | rnd(1)),
		steer_decisions: ([$B.steer.programs[]? | select(.type == "sk_reuseport") | .run_cnt] | add),
		stats_errors: [$stats[] | select(.tier == $t and .error != null) | "\(.variant) round \(.round): \(.error)"],
		variants: $rv,
		bpf: $B
	  } end;

{
	vm: {
		time: $time, command: $command, git: $git, duration_s: $duration, reusetop: $rt_version,
		guest: ($guest[0] // null), kernel_image: $kernel_image,
		host: {kernel: $host_kernel},
		accel: "qemu TCG (software emulation, one host thread for all vCPUs)",
		note: "absolute rates and run times under TCG are not comparable to the host's; ratios within one run are",
		config: $config,
		bpftrace: $bt_status,
		server_check: {accepted: ([$server[].accepted] | add),
			connections: (([$warmup[].ok // 0] | add // 0) + ([$rounds[].client.ok // 0] | add // 0)
				+ ([$stats[].client.ok // 0] | add // 0))}
	},
	vm_tiers: (reduce $config.tiers[] as $t ({}; .[$t] = tier($t)))
}
