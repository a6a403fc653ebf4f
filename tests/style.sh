#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The code's shape, checked like its behaviour: every C file matches .clang-format; no function
# in user/ or bpf/ is over 120 lines and no file there over 900 (tests and generated files
# aside). Prints PASS/FAIL lines for tests/run.sh; run from the project root.
set -u

MAX_FUNCTION_LINES=120
MAX_FILE_LINES=900

sources() { git ls-files -- 'user/*.[ch]' 'user/**/*.[ch]' 'bpf/*.[ch]' 'tests/*.[ch]' 'bench/*.[ch]'; }

check_format() {
	local drift=() f
	for f in $(sources); do
		clang-format --dry-run -Werror "$f" >/dev/null 2>&1 || drift+=("$f")
	done
	if [ ${#drift[@]} -eq 0 ]; then
		echo "PASS style: every C file matches .clang-format (make format)"
	else
		echo "FAIL style: files differ from .clang-format (run make format): ${drift[*]}"
	fi
}

# Kernel style: a function's body opens with "{" in column 0 and closes with "}" in column 0.
check_sizes() {
	local out
	out=$(git ls-files -- 'user/*.[ch]' 'user/**/*.[ch]' 'bpf/*.[ch]' | grep -v 'vmlinux' |
		xargs awk -v maxf="$MAX_FUNCTION_LINES" -v maxl="$MAX_FILE_LINES" '
		FNR == 1 { start = 0 }
		/^\{/ { start = FNR; name = prev }
		/^\}/ && start {
			if (FNR - start + 1 > maxf)
				printf "%s:%d %s: %d lines\n", FILENAME, start, name, FNR - start + 1
			start = 0
		}
		{ prev = $0 }
		ENDFILE { if (FNR > maxl) printf "%s: %d lines\n", FILENAME, FNR }')
	if [ -z "$out" ]; then
		echo "PASS style: no function over $MAX_FUNCTION_LINES lines, no file over $MAX_FILE_LINES"
	else
		echo "FAIL style: too long: $(tr '\n' ';' <<<"$out")"
	fi
}

check_format
check_sizes
