#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bench/report.sh [RESULTS.json [--vm]]: the tables of a benchmark run (bench/run.sh), as
# Markdown, so that they read on a terminal and paste into docs/performance.md as they are;
# --vm: only those of the qemu VM's tiers (bench/vm.sh).
set -u
F=${1:-bench/results.json}
[ -r "$F" ] || { echo "report: cannot read $F" >&2; exit 1; }

# table TITLE: aligns the Markdown table read from stdin (cells separated by TABs, the first
# line the header) under TITLE; prints nothing when the table has no rows.
table() {
	awk -F'\t' -v title="$1" '
		{ rows[NR] = $0; for (i = 1; i <= NF; i++) if (length($i) > w[i]) w[i] = length($i); if (NF > nf) nf = NF }
		function row(r,   n, c, i, line) {
			n = split(rows[r], c, "\t"); line = "|"
			for (i = 1; i <= nf; i++) line = line sprintf(" %-*s |", w[i], c[i])
			print line
		}
		END {
			if (NR < 2) exit
			if (title != "") printf "%s\n\n", title
			row(1)
			line = "|"
			for (i = 1; i <= nf; i++) { s = ""; for (k = 0; k < w[i]; k++) s = s "-"; line = line " " s " |" }
			print line
			for (r = 2; r <= NR; r++) row(r)
			print ""
		}'
}

# The fentry and kprobe tiers in the qemu VM (bench/vm.sh): vm and vm_tiers, when present.
vm_tables() {
	jq -r 'select(.vm != null) | .vm as $v | "The fentry and kprobe tiers in qemu, \($v.time) (\($v.duration_s) s), git \($v.git): kernel \($v.guest.kernel), \($v.config.vcpus) vCPUs, \($v.accel); \($v.config.rounds) rounds x \($v.config.connections_per_round) connections, concurrency \($v.config.concurrency), \($v.config.server_workers) workers; bpftrace: \($v.bpftrace). Server check: \($v.server_check.accepted) accepted for \($v.server_check.connections) connections made. Note: \($v.note).\n"' "$F"
	{
		printf 'tier\tvariant\tattach s\tconn/s median (min - max)\tvs untraced (medians)\tpaired ratio, median (min - max)\tqemu CPU µs/conn (min - max)\tpaired CPU ratio (min - max)\n'
		jq -r 'def mm($s): if $s then "\($s.median) (\($s.min) - \($s.max))" else "-" end;
			.vm_tiers // {} | to_entries[] | .key as $t | .value.variants[]? | [$t, .name, (.attach_s // "-" | tostring),
			(if .rate then mm(.rate) else "- \(.errors | join("; "))" end),
			(.ratio_to_untraced // "-" | tostring), mm(.paired_ratio), mm(.qemu_cpu_us_per_conn),
			mm(.paired_cpu_ratio)] | @tsv' "$F"
	} | table "qemu: connection rate per tier (attach s: the warm-up attach, seconds; paired: each round against the untraced round of the same number; qemu CPU: the host CPU time qemu used per connection, the guest's work)"
	{
		printf 'tier\tstatus\tobserve ns/conn\thooks ns/conn\tbpftrace ns/conn\tsteer ns/decision\tobserve rate ratio\tbpftrace rate ratio\tobserve CPU ratio\tbpftrace CPU ratio\tbpftrace attach s\n'
		jq -r 'def per_round($m; $b): if $m == null then "-"
			else "\($m) (\($b.rounds_ns_per_conn // [] | map(tostring) | join(" / ")))" end;
		.vm_tiers // {} | to_entries[] | .key as $t | .value | [$t, .status,
			per_round(.observe_ns_per_conn; .bpf.observe), per_round(.hooks_ns_per_conn; .bpf.hooks),
			(if .bpf.bpftrace then per_round(.bpftrace_ns_per_conn; .bpf.bpftrace) else .bpftrace_status // "-" end),
			(.steer_ns_per_decision // "-" | tostring),
			(.observe_rate_ratio // "-" | tostring), (.bpftrace_rate_ratio // "-" | tostring),
			(.observe_cpu_ratio // "-" | tostring), (.bpftrace_cpu_ratio // "-" | tostring),
			(.bpftrace_attach_s // "-" | tostring)] | @tsv' "$F"
	} | table "qemu: BPF run time per connection (kernel.bpf_stats_enabled; the median of the statistics rounds, each round in brackets) and per steering decision"
	{
		printf 'tier\tvariant\tprogram\ttype\tobject\thook\truns/conn\tns/run\tns/conn\n'
		jq -r '.vm_tiers // {} | to_entries[] | .key as $t | .value.bpf // {} | to_entries[] | .key as $v
			| .value.programs[]? | select(.run_cnt > 0) | [$t, $v, .name, .type, (.object // "-"), (.hook // "-"),
			(.runs_per_conn | tostring), (.ns_per_run // "-" | tostring), (.ns_per_conn | tostring)] | @tsv' "$F"
	} | table "qemu: per program that ran (names cut at 15 characters by the kernel)"
}

# make bench-vm: only those.
[ "${2:-}" != --vm ] || { vm_tables; exit 0; }

# Whether the run measured a section of bench/run.sh (BENCH_SECTIONS; older results: all).
RAN='def ran($s): (.config.sections // ["variants", "userspace"]) | index($s) != null;
	def shown: (.status // "") | startswith("not run (") | not;'

jq -r "$RAN"'"reusetop benchmark, \(.time) (\(.duration_s) s), git \(.git)",
	"machine: \(.machine.cpu_model), \(.machine.nproc) CPUs, \(.machine.mem_total_kib / 1048576 | floor) GiB, kernel \(.machine.kernel), \(.machine.os), virtualization \(.machine.virtualization), container \(.machine.container); load \(.machine.loadavg_start) -> \(.machine.loadavg_end)",
	"command: \(.command)",
	"sections: \(.config.sections // ["variants", "userspace"] | join(" "))",
	(select(ran("variants")) | "load: \(.config.rounds) alternating rounds x \(.config.connections_per_round) connections, concurrency \(.config.concurrency), \(.config.server_workers) reuseport workers (rig_server), loopback",
	"server check: \(.server_check.accepted) accepted by the rig for \(.server_check.connections) connections made"),
	""' "$F"

# rate_table PATH TITLE: connections/s and CPU per connection of the variants at PATH.
rate_table() {
	{
		printf 'variant\tstatus\tconn/s median\tmin - max\tIQR\tvs untraced\tcost\tpaired ratio, median (min - max)\tCPU us/conn (IQR)\tCPU cost\tothers\n'
		jq -r "$RAN($1 // [])[]"' | select(shown) | [.name, .status,
		(.rate.median // "-" | tostring),
		(if .rate then "\(.rate.min) - \(.rate.max)" else "-" end),
		(if .rate then "\(.rate.iqr_pct | . * 10 | round / 10)%" else "-" end),
		(.ratio_to_untraced // "-" | tostring),
		(if .cost_pct != null then "\(.cost_pct)%" else "-" end),
		(if .paired_ratio then "\(.paired_ratio.median) (\(.paired_ratio.min) - \(.paired_ratio.max))" else "-" end),
		(if .cpu_us_per_conn then "\(.cpu_us_per_conn.median) (\(.cpu_us_per_conn.iqr_pct | . * 10 | round / 10)%)" else "-" end),
		(if .cpu_cost_pct != null then "\(.cpu_cost_pct)%" else "-" end),
		(if .others_pct != null then "\(.others_pct)%" else "-" end)]
		| @tsv' "$F"
	} | table "$2"
}

rate_table .variants "Connection rate over rounds (vs untraced: ratio of medians; paired: each round against the untraced run of the same round; CPU: the rig's CPU time per connection, client + server + ksoftirqd; others: the machine's busy time not used by the rig)"

jq -r 'if .bpf_stats_floor then "Statistics floor: kernel.bpf_stats_enabled charges \(.bpf_stats_floor.ns_per_run | . * 10 | round / 10) ns per run to a program that does nothing; a run costs \(.bpf_stats_floor.test_run_ns_stats_off) ns with statistics off, \(.bpf_stats_floor.test_run_ns_stats_on) ns on (BPF_PROG_TEST_RUN).\n" else empty end' "$F"

{
	printf 'variant\tconnections\truns/conn\tns/conn\tless floor\tconnection hooks\tambient hooks\tns/decision (less floor)\n'
	jq -r "$RAN"'.bpf[] | select(shown) | [.variant, (.connections // .status | tostring), (.runs_per_conn // "-" | tostring),
		(.total_ns_per_conn // "-" | tostring), (.total_ns_per_conn_less_floor // "-" | tostring),
		(.connection_ns_per_conn // "-" | tostring), (.ambient_ns_per_conn // "-" | tostring),
		(if .ns_per_decision then "\(.ns_per_decision) (\(.ns_per_decision_less_floor))" else "-" end)] | @tsv' "$F"
} | table "BPF run time per connection (kernel.bpf_stats_enabled, own programs only)"

{
	printf 'variant\tprogram\tobject\thook\tclass\truns/conn\tns/run\tns/conn\n'
	jq -r '.bpf[] | .variant as $v | .programs[]? | [$v, .name, (.object // "-"), (.hook // "-"), .class,
		(.runs_per_conn | tostring), (.ns_per_run // "-" | tostring), (.ns_per_conn | tostring)] | @tsv' "$F"
} | table "Per program (connection: fires per connection, and sk_data_ready for other sockets' data too; ambient: every wakeup, softirq, datagram or recv on the host; decision: the steering program)"

{
	printf 'variant\tround\tconnections\tenqueued counted\taccepted counted\n'
	jq -r '.bpf[] | .variant as $v | .counted[]? | select(.counted != null) | [$v, (.round | tostring),
		(.connections | tostring), (.counted.enqueued | tostring), (.counted.accepted | tostring)] | @tsv' "$F"
} | table "What the tracers counted on the benchmark's listeners in the statistics rounds"

{
	printf 'listeners\tsockets seen\tcommand\t%% of a core\tms per interval\tuser s\tsys s\n'
	jq -r '.cpu[] | [(.listeners | tostring), (.sockets_seen | tostring), .command,
		(.pct_of_core * 100 | round / 100 | tostring), (.ms_per_interval * 100 | round / 100 | tostring),
		(.utime_s | tostring), (.stime_s | tostring)] | @tsv' "$F"
} | table "reusetop user space with idle listeners, -d 1 (CPU time per second of wall time, after warming up)"

jq -r 'select(.handoff != null) | .handoff as $h | .config.handoff as $c
	| "Hand-offs: \(.config.rounds) alternating rounds x \($c.connections_per_round) connections, concurrency \(.config.concurrency), \($c.server) with \($c.server_workers) workers, port \($c.port); server check: the master accepted \($h.server_check.accepted), the workers received \($h.server_check.received), of \($h.server_check.connections) connections made\n"' "$F"

rate_table .handoff.variants "Hand-offs: connection rate over rounds (the same columns as above)"

jq -r 'select(.handoff.bpf.connections != null) | .handoff.bpf
	| "Hand-offs, BPF run time per connection observing: \(.total_ns_per_conn) ns in all (\(.total_ns_per_conn_less_floor) less the statistics floor), \(.runs_per_conn) runs; the hand-off programs (object handoff): \(.handoff_ns_per_conn) ns (\(.handoff_ns_per_conn_less_floor) less floor) in \(.handoff_runs_per_conn) runs. Counted: \([.counted[] | .counted | tostring] | join(", ")).\n"' "$F"

{
	printf 'program\tobject\thook\truns/conn\tns/run\tns/conn\n'
	jq -r '.handoff.bpf.programs[]? | select(.run_cnt > 0) | [.name, (.object // "-"), (.hook // "-"),
		(.runs_per_conn | tostring), (.ns_per_run // "-" | tostring), (.ns_per_conn | tostring)] | @tsv' "$F"
} | table "Hand-offs: per program of reusetop, per connection accepted and passed (programs that ran)"

jq -r 'select(.unrelated_syscall_tax != null) | .config.tax as $c | .unrelated_syscall_tax
	| "The tax on unrelated processes: \($c.program); \(.variants[0].rounds // 0) alternating rounds x \($c.pairs_per_round) round trips. reusetop never watched it: \(.unwatched // "not checked").\n"' "$F"

{
	printf 'variant\tstatus\tns per sendmsg + recvmsg (median of rounds)\tmin - max\tsendmsg\trecvmsg\tadded (medians)\tadded, paired: median (min - max)\tmean per pair\n'
	jq -r '.unrelated_syscall_tax.variants[]? | [.name, .status, (.pair_median_ns.median // "-" | tostring),
		(if .pair_median_ns then "\(.pair_median_ns.min) - \(.pair_median_ns.max)" else "-" end),
		(.sendmsg_median_ns // "-" | tostring), (.recvmsg_median_ns // "-" | tostring),
		(if .added_ns != null then "\(.added_ns) ns (\(.added_pct)%)" else "-" end),
		(if .paired_added_ns then "\(.paired_added_ns.median) (\(.paired_added_ns.min) - \(.paired_added_ns.max))" else "-" end),
		(.pair_mean_ns // "-" | tostring)] | @tsv' "$F"
} | table "The tax: a process reusetop does not watch, one-byte sendmsg + recvmsg over a socketpair (ns; each round's median call; added: against the untraced rounds)"

{
	printf 'variant\tprogram\tobject\thook\truns per round trip\tns/run\n'
	jq -r '.unrelated_syscall_tax.bpf[]? | select(.pairs != null) | .variant as $v
		| (.programs[] | [$v, .name, (.object // "-"), .hook, (.runs_per_pair | tostring), (.ns_per_run // "-" | tostring)]),
		  [$v, "all on its path", "", "", "", "\(.ns_per_pair) (\(.ns_per_pair_less_floor) less floor)"] | @tsv' "$F"
} | table "The tax: BPF run time of the programs on its sendmsg and recvmsg (runs above 1 per round trip: other processes' calls meanwhile)"

jq -r 'select(.trigger != null) | .trigger as $t | $t.config as $c
	| "Trigger loops: \($c.rounds) alternating rounds x \($c.accepts_per_round) accept4() on a ready accept queue (batches of \($c.accept_batch), loopback) and \($c.getppid_calls_per_round) getppid() (batches of \($c.getppid_batch)) in a process with no socket, \($c.duration_s) s; kernel.bpf_stats_enabled \($c.bpf_stats_enabled) at the start, on during \([$t.variants[].rounds[] | select((.bpf_stats_enabled // 0) > 0)] | length) rounds (another benchmark). The tracers counted every connection queued and accepted: \(if $t.counts_ok == null then "not checked" else $t.counts_ok end) (\([$t.counted | group_by(.variant)[] | "\(.[0].variant): \(map(.enqueued) | add) queued, \(map(.accepted) | add) accepted of \(map(.accepts) | add) in \(length) rounds"] | join("; "))). Rounds during which other processes held programs on system call tracepoints (all system calls on the slow path, untraced included; their accept4 programs in every variant): \([$t.variants[].rounds[] | select((.others_syscall_progs // 0) > 0)] | length) of \([$t.variants[].rounds[]] | length), up to \([$t.variants[].others_syscall_progs] | max // 0) programs; clean: the rounds without (for accept4, with the statistics off as well).\n"' "$F"

{
	printf 'variant\tstatus\tns per accept4 (median of rounds)\tmin - max\tadded (medians)\tadded, paired: median (min - max)\tper batch (added)\tBPF on accept4: runs, ns (less floor)\tnot in run_time_ns\tconnect (added)\t10th percentile (added)\tclean rounds: n, median (added), 10th percentile (added)\n'
	jq -r '.trigger.variants[]? | .accept as $a | [.name, .status, ($a.ns.median // "-" | tostring),
		(if $a.ns then "\($a.ns.min) - \($a.ns.max)" else "-" end),
		(if $a.added_ns != null then "\($a.added_ns) ns (\($a.added_pct)%)" else "-" end),
		(if $a.paired_added_ns then "\($a.paired_added_ns.median) (\($a.paired_added_ns.min) - \($a.paired_added_ns.max))" else "-" end),
		(if $a.batch.ns then "\($a.batch.ns.median) (\($a.batch.added_ns))" else "-" end),
		(if $a.bpf then "\($a.bpf.runs_per_accept), \($a.bpf.ns_per_accept) (\($a.bpf.ns_per_accept_less_floor))" else "-" end),
		($a.not_in_run_time_ns // "-" | tostring),
		(if $a.connect.ns then "\($a.connect.ns.median) (\($a.connect.added_ns))" else "-" end),
		(if $a.p10.ns then "\($a.p10.ns.median) (\($a.p10.added_ns))" else "-" end),
		(.clean as $c | if $c.accept.ns then "\($c.rounds_statistics_off), \($c.accept.ns.median) (\($c.accept.added_ns // "-")), \($c.accept.p10.ns.median) (\($c.accept.p10.added_ns // "-"))" else "\($c.rounds_statistics_off // 0)" end)] | @tsv' "$F"
} | table "Trigger: full cost per accept4() on a ready queue (ns; each round's median call, or its 10th percentile; added: against the untraced rounds; not in run_time_ns: added less the BPF run time on accept4, the dispatch and slow path; connect: per connection, handshake and enqueue, untimed by the loop)"

{
	printf 'variant\tstatus\tns per getppid (median of rounds)\tmin - max\tadded (medians)\tadded, paired: median (min - max)\t10th percentile (added)\tmean per call\tothers'"'"' syscall programs\tclean rounds: n, median (added), 10th percentile (added)\n'
	jq -r '.trigger.variants[]? | .getppid as $g | [.name, .status, ($g.ns.median // "-" | tostring),
		(if $g.ns then "\($g.ns.min) - \($g.ns.max)" else "-" end),
		(if $g.added_ns != null then "\($g.added_ns) ns (\($g.added_pct)%)" else "-" end),
		(if $g.paired_added_ns then "\($g.paired_added_ns.median) (\($g.paired_added_ns.min) - \($g.paired_added_ns.max))" else "-" end),
		(if $g.p10.ns then "\($g.p10.ns.median) (\($g.p10.added_ns))" else "-" end),
		($g.mean_ns // "-" | tostring), (.others_syscall_progs // "-" | tostring),
		(.clean as $c | if $c.getppid.ns then "\($c.rounds), \($c.getppid.ns.median) (\($c.getppid.added_ns // "-")), \($c.getppid.p10.ns.median) (\($c.getppid.p10.added_ns // "-"))" else "\($c.rounds // 0)" end)] | @tsv' "$F"
} | table "Trigger: the host-wide tax, getppid() in a process with no socket (ns; each round's median batch per call, or its 10th percentile; added: against the untraced rounds)"

{
	printf 'target\tlimit\tmeasured\tmet\tnote\n'
	jq -r "$RAN"'. as $r | .targets[] | select(.section == null or ($r | ran(.section))) | [.name, "\(.limit // "-") \(.unit)", "\(.measured // "-") \(.unit)",
		(if .met == true then "yes" elif .met == false then "NO" else "n/a" end), (.note // "")] | @tsv' "$F"
} | table "Targets"

vm_tables
