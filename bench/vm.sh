#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# bench/vm.sh: what reusetop's fentry and kprobe tiers cost, measured in the qemu VM the suite
# uses (tests/vm/run-vm.sh), since this host allows only the tracepoint tier. `make bench-vm`
# builds what it needs and runs this; `make bench` runs it as its section "vm" (bench/run.sh);
# docs/performance.md ("The fentry and kprobe tiers (qemu)") explains the method and results.
#
# It boots Debian's 6.12 kernel (6.1 when 6.12 cannot be fetched) with the static reusetop, the
# rig, the tiers' hook rulers (bench/hooks_TIER.bpf.c), a statistics reader (bench/bpfstats.c)
# and Debian's bpftrace with the libraries it links (ldd), and runs bench/vm_guest.sh there:
# per tier, alternating rounds untraced / hooks / observe / bpftrace, statistics rounds, a steering
# decision's cost, with the bpftrace peer (bench/peer_TIER.bt) among the variants. The guest's results are merged
# into BENCH_OUT (jq; the other keys are left as they are) as "vm" and "vm_tiers".
# Under TCG absolute numbers are not comparable to the host's; ratios within one run are.
#
# Knobs (environment): BENCH_VM_ROUNDS BENCH_VM_CONNS BENCH_VM_CONCURRENCY BENCH_VM_WORKERS
# BENCH_VM_STATS_ROUNDS BENCH_VM_STATS_CONNS BENCH_VM_TIERS BENCH_VM_CPUS BENCH_VM_MEM (MiB) BENCH_VM_TIMEOUT (s) VM_KERNEL
# ("VERSION ARCH", as tests/vm/fetch-kernel.sh takes them) BENCH_OUT BENCH_VM_REPORT=0 (no
# tables) BENCH_KEEP=1 (keep the scratch folder) BUILD.

set -u
cd "$(dirname "$0")/.." || exit 1

BUILD=${BUILD:-build}
ROUNDS=${BENCH_VM_ROUNDS:-3}
CONNS=${BENCH_VM_CONNS:-10000}
CONCURRENCY=${BENCH_VM_CONCURRENCY:-16}
# The suite's 2 vCPUs: x86 TCG runs them on one host thread (tests/vm/run-vm.sh), yet the rig
# makes twice as many connections per second as with one (fewer context switches per vCPU).
CPUS=${BENCH_VM_CPUS:-2}
WORKERS=${BENCH_VM_WORKERS:-2}
STATS_ROUNDS=${BENCH_VM_STATS_ROUNDS:-3}
# Connections per statistics round: they count runs, not a rate.
STATS_CONNS=${BENCH_VM_STATS_CONNS:-4000}
TIERS=${BENCH_VM_TIERS:-fentry kprobe}
VARIANTS="untraced hooks observe"  # and bpftrace, when it can go in the VM
PORT=9377
OUT=${BENCH_OUT:-bench/results.json}

say() { echo "bench-vm: $*" >&2; }
die() {
	say "$*"
	exit 1
}

STATIC=(reusetop rig_server rig_client hooks bpfstats)
for b in "${STATIC[@]}"; do
	[ -x "$BUILD/static/$b" ] || die "missing $BUILD/static/$b (run make bench-vm)"
done
for t in $TIERS; do
	[ -r "$BUILD/bench/hooks_$t.bpf.o" ] || die "missing $BUILD/bench/hooks_$t.bpf.o (run make bench-vm)"
	[ -r "bench/peer_$t.bt" ] || die "no bench/peer_$t.bt: tiers are fentry and kprobe"
done
command -v jq >/dev/null || die "missing jq (make deps installs it)"

WORK=$(mktemp -d /tmp/reusetop-bench-vm.XXXXXX) || die "failed to create a scratch folder"
cleanup() {
	if [ "${BENCH_KEEP:-0}" = 1 ]; then say "scratch folder kept: $WORK"; else rm -rf "$WORK"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM
T_START=$(date +%s)

# The kernel: 6.12 unless VM_KERNEL names another; 6.1 when 6.12 cannot be fetched.
KERNEL=${VM_KERNEL:-6.12 x86_64}
# shellcheck disable=SC2086 # VERSION and ARCH
if ! VMLINUZ=$(tests/vm/fetch-kernel.sh $KERNEL); then
	[ -z "${VM_KERNEL:-}" ] || die "cannot fetch kernel $KERNEL"
	say "no 6.12 kernel: falling back to 6.1"
	VMLINUZ=$(tests/vm/fetch-kernel.sh 6.1 x86_64) || die "cannot fetch a kernel"
fi

# bpftrace for the guest: Debian's binary, its loader and every library ldd lists, in one
# folder (/vm/bt in the guest; vm_guest.sh points the loader's path there).
BT_STATUS=ok
if ! command -v bpftrace >/dev/null; then
	say "installing bpftrace (the peer the observing cost is compared with)"
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >"$WORK/apt.log" 2>&1 ||
		{ apt-get update -qq >/dev/null 2>&1 &&
			DEBIAN_FRONTEND=noninteractive apt-get install -y -qq bpftrace >>"$WORK/apt.log" 2>&1; }
fi
FILES=()
if ! command -v bpftrace >/dev/null; then
	BT_STATUS="skipped: bpftrace not installable on the host"
else
	mkdir -p "$WORK/bt"
	cp -L "$(command -v bpftrace)" "$WORK/bt/" &&
		for lib in $(ldd "$(command -v bpftrace)" | grep -o '/[^ ]*'); do
			cp -L "$lib" "$WORK/bt/" || exit 1
		done && [ -e "$WORK/bt/ld-linux-x86-64.so.2" ] ||
		BT_STATUS="skipped: failed to copy bpftrace's libraries"
	[ "$BT_STATUS" != ok ] || { FILES+=("$WORK/bt"); VARIANTS+=" bpftrace"; }
fi
say "bpftrace: $BT_STATUS ($(du -sh "$WORK/bt" 2>/dev/null | cut -f1) with its libraries)"

cat >"$WORK/vm.conf" <<EOF
ROUNDS=$ROUNDS
CONNS=$CONNS
CONCURRENCY=$CONCURRENCY
WORKERS=$WORKERS
STATS_ROUNDS=$STATS_ROUNDS
STATS_CONNS=$STATS_CONNS
TIERS="$TIERS"
VARIANTS="$VARIANTS"
PORT=$PORT
EOF
for b in "${STATIC[@]}"; do FILES+=("$BUILD/static/$b"); done
for t in $TIERS; do FILES+=("$BUILD/bench/hooks_$t.bpf.o" "bench/peer_$t.bt"); done

say "booting $(readlink -f "$VMLINUZ"): tiers $TIERS, $ROUNDS rounds x $CONNS connections"
# The qemu process under this script (its CPU time is the guest's work: TCG emulates on the host).
qemu_pid() {
	ps -e -o pid=,ppid=,comm= | awk -v top=$$ '{ parent[$1] = $2; comm[$1] = $3 }
		END { for (p in comm) if (comm[p] ~ /^qemu-system/) {
			for (q = parent[p]; q > 1; q = parent[q]) if (q == top) { print p; exit } } }'
}

# Copies the console, adding to each "@@ mark" line the CPU time qemu has used so far (all its
# threads, ns): the work of the guest between two marks, whatever else runs on the host.
stamp_marks() {
	local line q="" t ns x
	while IFS= read -r line; do
		if [[ $line == "@@ mark {"*"}" ]]; then
			[ -n "$q" ] || q=$(qemu_pid)
			ns=0
			for t in /proc/"${q:-none}"/task/*/schedstat; do
				read -r x _ <"$t" 2>/dev/null && ns=$((ns + x))
			done
			[ "$ns" = 0 ] || line="${line%\}},\"qemu_cpu_ns\":$ns,\"host_s\":$EPOCHREALTIME}"
		fi
		printf '%s\n' "$line"
	done
}

# Its libraries live in the guest's RAM (an initramfs): 200 MiB more than the suite's VM.
VMLINUZ=$VMLINUZ VM_SMP=$CPUS VM_MEM=${BENCH_VM_MEM:-2048} VM_TIMEOUT=${BENCH_VM_TIMEOUT:-1500} \
	tests/vm/run-vm.sh bench/vm_guest.sh "$WORK/vm.conf" "${FILES[@]}" | stamp_marks >"$WORK/console.log"
VM_RC=${PIPESTATUS[0]}
grep '^vm-bench:' "$WORK/console.log" | sed 's/^vm-bench: /bench-vm: guest: /' >&2
[ $VM_RC = 0 ] || say "the VM failed (exit $VM_RC); results from what it printed"

# The guest's results: one "@@ KIND JSON" line each; a line a kernel message cut is dropped.
for k in round stats attach mark guest server warmup tier_error; do
	sed -n "s/^@@ $k //p" "$WORK/console.log" | while IFS= read -r line; do
		jq -e -c . <<<"$line" 2>/dev/null || say "unreadable $k line dropped: ${line:0:120}"
	done >"$WORK/$k.jsonl"
done
[ -s "$WORK/guest.jsonl" ] || die "the guest printed no results; console: $(tail -n 5 "$WORK/console.log")"

COMMAND=${BENCH_COMMAND:-bench/vm.sh}
KNOBS=$(env | grep -E '^(BENCH_VM_[A-Z_]+|VM_KERNEL)=' | sort | tr '\n' ' ')
jq -n -c \
	--arg time "$(date -u +%Y-%m-%dT%H:%M:%SZ)" --arg command "$KNOBS$COMMAND" \
	--arg git "$(git describe --always --dirty 2>/dev/null || echo unknown)" \
	--arg rt_version "$("$BUILD/static/reusetop" --version 2>/dev/null | head -n 1)" \
	--arg host_kernel "$(uname -r)" --arg kernel_image "$(basename "$(dirname "$(readlink -f "$VMLINUZ")")")" \
	--arg bt_status "$BT_STATUS" --argjson duration "$(($(date +%s) - T_START))" \
	--argjson config "$(jq -n -c --argjson r "$ROUNDS" --argjson c "$CONNS" --argjson k "$CONCURRENCY" \
		--argjson w "$WORKERS" --argjson s "$STATS_ROUNDS" --argjson sc "$STATS_CONNS" --arg t "$TIERS" --arg v "$VARIANTS" \
		--argjson m "${BENCH_VM_MEM:-2048}" --argjson cpus "$CPUS" '{rounds: $r, connections_per_round: $c, concurrency: $k,
		server_workers: $w, stats_rounds: $s, connections_per_stats_round: $sc, tiers: ($t | split(" ") | map(select(. != ""))),
		variants: ($v | split(" ")), vcpus: $cpus, mem_mib: $m,
		server: "rig_server --mode reuseport (blocking accept, one listener per worker), loopback"}')" \
	--slurpfile rounds "$WORK/round.jsonl" --slurpfile stats "$WORK/stats.jsonl" \
	--slurpfile attach "$WORK/attach.jsonl" --slurpfile marks "$WORK/mark.jsonl" --slurpfile guest "$WORK/guest.jsonl" \
	--slurpfile server "$WORK/server.jsonl" --slurpfile warmup "$WORK/warmup.jsonl" \
	--slurpfile tier_errors "$WORK/tier_error.jsonl" \
	-f bench/vm.jq >"$WORK/vm.json" || die "failed to build the results"

# Merged: the other keys of OUT stay as they are.
mkdir -p "$(dirname "$OUT")"
if [ -s "$OUT" ]; then
	jq --slurpfile vm "$WORK/vm.json" '. + $vm[0]' "$OUT" >"$WORK/merged.json" ||
		die "failed to merge into $OUT"
else
	jq '{schema: "reusetop-bench/1"} + .' "$WORK/vm.json" >"$WORK/merged.json"
fi
cp "$WORK/merged.json" "$OUT"
say "vm and vm_tiers in $OUT ($(($(date +%s) - T_START)) s)"
[ "${BENCH_VM_REPORT:-1}" = 0 ] || bench/report.sh "$OUT" --vm
[ $VM_RC = 0 ]
