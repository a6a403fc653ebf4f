#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The whole suite: unit tests (sanitized), integration tests of the sanitized reusetop against
# the ground-truth rig on this kernel, and the same scenarios, steering and the live view on
# Debian's 5.10, 6.1 and 6.12 kernels (x86_64) and 6.1 (arm64) under qemu (tests/vm_cases.sh). Run as root from the project root after building (make check
# does both). `tests/run.sh unit host vm` picks parts (default: all).
# Ends with "N passed, N failed"; exits non-zero when anything failed.
set -u
cd "$(dirname "$0")/.." || exit 1
. tests/lib.sh
. tests/integration.sh
. tests/tui_cases.sh
. tests/herd_cases.sh
. tests/steer_cases.sh
. tests/steer_undo_cases.sh
. tests/udp_cases.sh
. tests/thread_cases.sh
. tests/servers_cases.sh
. tests/handoff_cases.sh
. tests/reliability_cases.sh
. tests/prom_cases.sh
. tests/container_cases.sh
. tests/fleet_cases.sh
. tests/selftests_cases.sh
. tests/vm_cases.sh

parts=${*:-unit host vm}
want() { [[ " $parts " == *" $1 "* ]]; }

if [ "$(id -u)" != 0 ]; then
	echo "tests/run.sh: the tests load BPF programs and make network namespaces: run as root" >&2
	exit 2
fi
# The tracepoint tier needs tracefs; the tool mounts it itself, the harness only reads it.
mountpoint -q /sys/kernel/tracing || mount -t tracefs tracefs /sys/kernel/tracing

# Which tier this kernel gives reusetop: the one auto picks, checked against what the kernel
# allows in case_forced_tiers.
EXPECT_TIER=$("$REUSETOP" -j -n 1 -d 0.05 2>/dev/null | jq -r .attach)
echo "reusetop attaches with the '$EXPECT_TIER' tier on $(uname -r)"

if want unit; then
	echo "== unit tests"
	unit_out=$("$BUILD/tests/unit" 2>&1)
	echo "$unit_out" | grep -v '^unit: '
	count_results "$unit_out"
	if ! grep -q '^unit: [0-9]* passed' <<<"$unit_out"; then
		FAILED=$((FAILED + 1)); FAILED_NAMES+=("unit tests crashed"); echo "FAIL unit tests crashed"
	fi
fi
if want unit; then
	# The code's shape: format, function and file sizes (tests/style.sh).
	style_out=$(tests/style.sh 2>&1)
	echo "$style_out"
	count_results "$style_out"
fi
if want unit; then
	# The option parser under libFuzzer for a bounded time, from the seed corpus.
	fuzz_dir=$(mktemp -d)
	cp tests/fuzz_corpus/* "$fuzz_dir/"
	if (cd "$fuzz_dir" && "$OLDPWD/$BUILD/tests/fuzz_opts" -max_total_time="${FUZZ_SECONDS:-20}" \
		-dict="$OLDPWD/tests/fuzz_opts.dict" "$fuzz_dir" >"$fuzz_dir/log" 2>&1); then
		PASSED=$((PASSED + 1))
		echo "PASS fuzz: option parser, $(grep -o 'Done [0-9]* runs' "$fuzz_dir/log")"
	else
		FAILED=$((FAILED + 1)); FAILED_NAMES+=("fuzz: option parser")
		echo "FAIL fuzz: option parser"; grep -E 'ERROR|SUMMARY|Test unit' "$fuzz_dir/log" | sed 's/^/    | /'
	fi
	rm -rf "$fuzz_dir"
fi
if want host; then
	echo "== integration tests on $(uname -r)"
	integration_cases
	tui_cases
	herd_cases
	steer_cases
	steer_undo_cases
	udp_cases
	thread_cases
	servers_cases
	handoff_cases
	reliability_cases
	prom_cases
	container_cases
	fleet_cases
	selftests_cases
fi
if want vm; then
	echo "== integration tests on Debian's kernels under qemu: $VM_KERNELS"
	vm_cases
fi

summary
