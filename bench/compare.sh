#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# bench/compare.sh OLD.json NEW.json: the headline numbers of two benchmark runs side by side
# (bench/run.sh writes them; keep a copy of bench/results.json before a change, run again).
set -u
[ $# -eq 2 ] && [ -r "$1" ] && [ -r "$2" ] || { echo "usage: $0 OLD.json NEW.json" >&2; exit 2; }

# One "metric<TAB>value" line per headline number of a results file.
headline() {
	jq -r '
		def v: if . == null then "-" else tostring end;
		(.variants[] | "rate cost % \(.name)\t\(.cost_pct | v)",
			"CPU cost % \(.name)\t\(.cpu_cost_pct | v)"),
		(.bpf[] | "BPF ns/conn \(.variant)\t\(.total_ns_per_conn | v)",
			(select(.ns_per_decision != null) | "BPF ns/decision \(.variant)\t\(.ns_per_decision | v)")),
		(.cpu[] | "user space % \(.listeners) listeners, \(.mode)\t\(.pct_of_core * 100 | round / 100 | v)"),
		(.handoff.variants[]? | "hand-off rate cost % \(.name)\t\(.cost_pct | v)",
			"hand-off CPU cost % \(.name)\t\(.cpu_cost_pct | v)"),
		(.handoff.bpf // empty | "hand-off BPF ns/conn \(.variant)\t\(.total_ns_per_conn | v)",
			"hand-off BPF ns/conn \(.variant), hand-off programs\t\(.handoff_ns_per_conn | v)"),
		(.unrelated_syscall_tax.variants[]? | "tax ns added per sendmsg+recvmsg \(.name)\t\(.added_ns | v)"),
		(.unrelated_syscall_tax.bpf[]? | "tax BPF ns per sendmsg+recvmsg \(.variant)\t\(.ns_per_pair | v)"),
		(.trigger.variants[]? | "trigger ns added per accept4 \(.name)\t\(.accept.added_ns | v)",
			"trigger ns added per getppid \(.name)\t\(.getppid.added_ns | v)"),
		"machine\t\(.machine.cpu_model), \(.machine.nproc) CPUs, \(.machine.kernel)",
		"git\t\(.git)"' "$1"
}

join -t $'\t' -a 1 -a 2 -e - -o 0,1.2,2.2 <(headline "$1" | sort) <(headline "$2" | sort) |
	awk -F'\t' -v a="$1" -v b="$2" '
		BEGIN { printf "%-44s %-28s %s\n", "metric", a, b }
		{ printf "%-44s %-28s %s\n", $1, $2, $3 }'
