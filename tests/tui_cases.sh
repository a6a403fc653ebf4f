# SPDX-License-Identifier: GPL-2.0
# Live view cases: the sanitized reusetop on a terminal, in a tmux pane of a fixed size, driven
# with send-keys and read back with capture-pane, against the rig. Sourced by tests/run.sh after
# lib.sh; every case has its own tmux server (a socket in its scratch folder), so nobody else's
# sessions are touched.

TUI_DELAY=0.3
TUI_COLUMNS="PID COMM FD INODE CONN/S ACC/S SHARE QUEUE QMAX DROP/S WAKE/S EAGAIN/S WAIT99 SEL/S ENQUEUED ACCEPTED DROPS"

# The pids of rigs NAME... and of their workers, comma separated: with -p, reusetop shows this
# case's groups only, whatever else listens on the port in other namespaces (other runs).
rig_pids() {
	local name pid workers all=()
	for name; do
		eval "pid=\$RIG_$name"
		read -ra workers <<<"$(pgrep -P "$pid" | tr '\n' ' ')"
		all+=("$pid" "${workers[@]}")
	done
	(IFS=,; echo "${all[*]}")
}

tmx() {
	tmux -S "$CASE_DIR/tmux.sock" "$@"
}

# start_tui ARGS...: a 160x50 pane runs reusetop -d $TUI_DELAY ARGS through a script that keeps
# what the tests check afterwards: the terminal's modes before and after (stty -a), reusetop's
# pid, exit status and stderr. Returns once the first screen is up.
start_tui() {
	cat >"$CASE_DIR/pane.sh" <<'EOF'
#!/bin/bash
dir=$1
shift
stty -a >"$dir/stty.before"
bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$dir/rt.pid" "$@" 2>"$dir/rt.err"
echo $? >"$dir/rt.status"
stty -a >"$dir/stty.after"
echo "reusetop exited"
exec sleep 600
EOF
	chmod +x "$CASE_DIR/pane.sh"
	tmx -f /dev/null new-session -d -s tui -x 160 -y 50 \
		"$CASE_DIR/pane.sh" "$CASE_DIR" "$(realpath "$REUSETOP")" -d "$TUI_DELAY" "$@" ||
		fail_because "tmux did not start" || return 1
	PIDS_TO_STOP+=("$(tmx display-message -p '#{pid}')")
	wait_for_file "$CASE_DIR/rt.pid" 10 || return 1
	RT_PID=$(cat "$CASE_DIR/rt.pid")
	PIDS_TO_STOP+=("$RT_PID")
	wait_screen '^ +PID +COMM' 20
}

screen() {
	tmx capture-pane -p -t tui
}

# wait_screen REGEX [SECONDS]: until a line of the pane matches REGEX (extended); the screen
# is then in $SCREEN.
wait_screen() {
	local _
	for _ in $(seq $((${2:-10} * 10))); do
		SCREEN=$(screen)
		grep -Eq -- "$1" <<<"$SCREEN" && return 0
		sleep 0.1
	done
	fail_because "timed out waiting for /$1/ on the screen:"$'\n'"$SCREEN"
}

# wait_screen_not REGEX [SECONDS]: until no line matches.
wait_screen_not() {
	local _
	for _ in $(seq $((${2:-10} * 10))); do
		SCREEN=$(screen)
		grep -Eq -- "$1" <<<"$SCREEN" || return 0
		sleep 0.1
	done
	fail_because "/$1/ still on the screen:"$'\n'"$SCREEN"
}

keys() {
	tmx send-keys -t tui "$@"
}

# The table rows of a screen ($1), one per line: KIND PID COMM then the cells of the columns
# named in $2 ("_" when the cell is empty, "?" when the column is not on screen). KIND is S for
# a member socket, A for an accepting task, R for a task that received hand-offs. Cells are read under their headers: columns are
# right aligned below their names.
table() { # screen "COLUMN ..."
	awk -v cols="$2" '
		BEGIN { nc = split(cols, want, " ") }
		!hdr && /^ +PID +COMM/ {
			hdr = 1
			for (i = 1; i <= nc; i++) {
				s = index($0 " ", " " want[i] " ")
				end[i] = s ? s + length(want[i]) : 0
			}
			next
		}
		hdr && /^ *[0-9]+(\+[0-9]+)? / {
			kind = "S"; comm = $2
			if ($2 == "|-" || $2 == "`-") { kind = "A"; comm = $3 }
			if ($2 == "|=>" || $2 == "`=>") { kind = "R"; comm = $3 }
			out = kind " " $1 " " comm
			for (i = 1; i <= nc; i++) {
				if (!end[i]) { out = out " ?"; continue }
				c = substr($0, end[i], 1)
				if (c == " " || c == "") { out = out " _"; continue }
				n = split(substr($0, 1, end[i]), f, " ")
				out = out " " f[n]
			}
			print out
		}' <<<"$1"
}

# The member rows of the group on port $2 in screen $1, as table() prints them.
group_rows() { # screen port "COLUMN ..."
	local port=$2
	table "$(awk -v p=":$port" '
		/^ +PID +COMM/ { print; next }
		/^(TCP|UDP) / { inside = substr($2, length($2) - length(p) + 1) == p; next }
		inside' <<<"$1")" "$3" | grep '^S '
}

# q (or Ctrl-C, or SIGTERM) and check: exit 0, nothing on stderr (sanitizers), and the
# terminal as it was before: the same modes, the alternate screen left, the view gone.
stop_tui() { # q | C-c | TERM
	case $1 in
	TERM) kill -TERM "$RT_PID" ;;
	*) keys "$1" ;;
	esac
	wait_for_file "$CASE_DIR/rt.status" 10 || return 1
	wait_for_file "$CASE_DIR/stty.after" 5 || return 1
	[ "$(cat "$CASE_DIR/rt.status")" = 0 ] ||
		fail_because "reusetop exited $(cat "$CASE_DIR/rt.status"): $(cat "$CASE_DIR/rt.err")" ||
		return 1
	[ ! -s "$CASE_DIR/rt.err" ] || fail_because "reusetop stderr: $(cat "$CASE_DIR/rt.err")" ||
		return 1
	! kill -0 "$RT_PID" 2>/dev/null || fail_because "reusetop still running" || return 1
	diff "$CASE_DIR/stty.before" "$CASE_DIR/stty.after" >&2 ||
		fail_because "terminal modes not restored" || return 1
	grep -Eq '(^| )icanon( |$)' "$CASE_DIR/stty.after" &&
		grep -Eq '(^| )echo( |$)' "$CASE_DIR/stty.after" ||
		fail_because "no icanon/echo after exit: $(cat "$CASE_DIR/stty.after")" || return 1
	[ "$(tmx display-message -p -t tui '#{alternate_on}')" = 0 ] ||
		fail_because "still on the alternate screen" || return 1
	wait_screen '^reusetop exited$' 5 || return 1
	! grep -Eq '^ +PID +COMM' <<<"$SCREEN" ||
		fail_because "the view is still on the screen:"$'\n'"$SCREEN"
}

# 400 connections over 4 reuseport workers: the group and one row per worker with its pid and
# exact counts; p keeps the last sample on screen after the server is gone.
tui_case_counts() {
	local port=8401 line pid n row rows before
	make_netns || return 1
	start_rig rig --mode reuseport --workers 4 --port $port || return 1
	start_tui -P $port -p "$(rig_pids rig)" || return 1
	run_client --port $port --count 400 --concurrency 8 || return 1
	wait_screen "^TCP 127\.0\.0\.1:$port .*members 4 .*enqueued 400( |$)" 10 || return 1
	keys p
	wait_screen 'PAUSED' 5 || return 1
	before=$(group_rows "$SCREEN" $port "ENQUEUED ACCEPTED")
	stop_rig rig || return 1
	sleep 1 # three intervals: paused, the view must not change although the server is gone
	rows=$(group_rows "$(screen)" $port "ENQUEUED ACCEPTED")
	[ "$rows" = "$before" ] || fail_because "paused view changed: $before -> $rows" || return 1
	[ "$(wc -l <<<"$rows")" = 4 ] || fail_because "want 4 member rows: $rows" || return 1
	while IFS= read -r line; do
		pid=$(jq .pid <<<"$line")
		n=$(jq .accepted <<<"$line")
		row=$(grep "^S $pid " <<<"$rows")
		[ "$row" = "S $pid rig_server $n $n" ] ||
			fail_because "worker $pid accepted $n; row: '$row' in"$'\n'"$rows" || return 1
	done <"$CASE_DIR/rig.stats"
	# Resumed, the next sample shows the server gone.
	keys p
	wait_screen_not "^TCP 127\.0\.0\.1:$port " 5 || return 1
	stop_tui q
}

# A master that accepts and passes each connection to one of 4 workers over a Unix socket: under
# its row, one row per worker (|=>) with the worker's pid and the connections it received, its
# share of the hand-offs a quarter; -b prints the same receivers.
tui_case_handoff() {
	local port=8402 rows line pid n row text
	make_netns || return 1
	start_rig rig --mode handoff --workers 4 --port $port || return 1
	start_tui -P $port -p "$(rig_pids rig)" || return 1
	run_client --port $port --count 400 --concurrency 8 || return 1
	wait_screen "^TCP 127\.0\.0\.1:$port .*enqueued 400( |$)" 10 || return 1
	wait_screen '`=> ' 5 || return 1
	stop_rig rig || return 1
	rows=$(table "$SCREEN" "ACCEPTED SHARE" | grep '^R ')
	[ "$(wc -l <<<"$rows")" = 4 ] || fail_because "want 4 receiver rows:"$'\n'"$SCREEN" || return 1
	while IFS= read -r line; do
		[ "$(jq .worker <<<"$line")" -ge 0 ] || continue
		pid=$(jq .pid <<<"$line")
		n=$(jq .accepted <<<"$line")
		row=$(grep "^R $pid " <<<"$rows")
		[ "$row" = "R $pid rig_server $n 25.0%" ] ||
			fail_because "worker $pid received $n; row: '$row' in"$'\n'"$rows" || return 1
	done <"$CASE_DIR/rig.stats"
	stop_tui q || return 1
	# The same in -b, from the JSON's numbers: the rig is gone, so a fresh one.
	start_rig rig2 --mode handoff --workers 2 --port $port || return 1
	ns_exec
	"${NS_EXEC[@]}" "$REUSETOP" -b -d 0.3 -P $port >"$CASE_DIR/rt.txt" 2>"$CASE_DIR/rt.err" &
	RT_PID=$!
	PIDS_TO_STOP+=("$RT_PID")
	wait_for_file "$CASE_DIR/rt.txt" 20 || return 1
	run_client --port $port --count 100 --concurrency 4 || return 1
	sleep 1
	kill -INT "$RT_PID"
	wait "$RT_PID"
	stop_rig rig2 || return 1
	text=$(awk '/^reusetop /{block = ""} {block = block $0 "\n"} END {printf "%s", block}' \
		"$CASE_DIR/rt.txt")
	grep -q "handoffs: 100 received, 0 pending, max-share 50.0%" <<<"$(printf '%b' "$text")" ||
		fail_because "-b summary:"$'\n'"$(printf '%b' "$text")" || return 1
	while IFS= read -r line; do
		[ "$(jq .worker <<<"$line")" -ge 0 ] || continue
		pid=$(jq .pid <<<"$line")
		n=$(jq .accepted <<<"$line")
		printf '%b' "$text" | grep -Eq "^ +$pid +$pid +rig_server +[0-9]+ +$n " ||
			fail_because "-b lacks worker $pid with $n:"$'\n'"$(printf '%b' "$text")" ||
			return 1
	done <"$CASE_DIR/rig2.stats"
}

# Values in column $2 of rows $1 are ordered: "desc" or "asc".
ordered() { # rows field desc|asc
	local sorted
	if [ "$3" = desc ]; then
		sorted=$(cut -d' ' -f"$2" <<<"$1" | sort -n -r)
	else
		sorted=$(cut -d' ' -f"$2" <<<"$1" | sort -n)
	fi
	[ "$(cut -d' ' -f"$2" <<<"$1")" = "$sorted" ]
}

# Press KEY until the status line says "Sort: NAME (DIR)".
sort_by() { # key name dir
	local _
	for _ in $(seq 20); do
		SCREEN=$(screen)
		grep -q "^Sort: $2 ($3)" <<<"$SCREEN" && return 0
		keys "$1"
		sleep 0.1
	done
	wait_screen "^Sort: $2 \($3\)" 2
}

line_of() { # screen regex
	grep -nE -- "$2" <<<"$1" | head -n 1 | cut -d: -f1
}

# s / < > pick the column, r reverses: member rows and groups change order accordingly.
tui_case_sort() {
	local a=8402 b=8403 rows ra rb
	make_netns || return 1
	start_rig a --mode reuseport --workers 4 --port $a || return 1
	start_rig b --mode reuseport --workers 2 --port $b || return 1
	start_tui -P $a,$b -p "$(rig_pids a b)" || return 1
	run_client --port $a --count 300 --concurrency 8 || return 1
	run_client --port $b --count 100 --concurrency 8 || return 1
	wait_screen "^TCP 127\.0\.0\.1:$a .*enqueued 300( |$)" 10 || return 1
	wait_screen "^TCP 127\.0\.0\.1:$b .*enqueued 100( |$)" 10 || return 1
	wait_screen '^Sort: CONN/S \(desc\)' 2 || return 1

	sort_by s ENQUEUED desc || return 1
	rows=$(group_rows "$SCREEN" $a "ENQUEUED")
	ordered "$rows" 4 desc || fail_because "not by ENQUEUED, descending: $rows" || return 1
	[ "$(cut -d' ' -f4 <<<"$rows" | sort -u | wc -l)" -gt 1 ] ||
		fail_because "all members equal, the order says nothing: $rows" || return 1
	ra=$(line_of "$SCREEN" "^TCP 127\.0\.0\.1:$a ")
	rb=$(line_of "$SCREEN" "^TCP 127\.0\.0\.1:$b ")
	[ "$ra" -lt "$rb" ] || fail_because "group with 300 not above the one with 100:"$'\n'"$SCREEN" ||
		return 1

	keys r
	wait_screen '^Sort: ENQUEUED \(asc\)' 2 || return 1
	rows=$(group_rows "$SCREEN" $a "ENQUEUED")
	ordered "$rows" 4 asc || fail_because "r did not reverse: $rows" || return 1
	ra=$(line_of "$SCREEN" "^TCP 127\.0\.0\.1:$a ")
	rb=$(line_of "$SCREEN" "^TCP 127\.0\.0\.1:$b ")
	[ "$rb" -lt "$ra" ] || fail_because "r did not reverse the groups:"$'\n'"$SCREEN" || return 1

	# PID: identifiers sort ascending first; r makes it descending.
	keys r
	sort_by '<' PID asc || return 1
	rows=$(group_rows "$SCREEN" $a "ENQUEUED")
	ordered "$rows" 2 asc || fail_because "not by PID: $rows" || return 1
	keys r
	wait_screen '^Sort: PID \(desc\)' 2 || return 1
	rows=$(group_rows "$SCREEN" $a "ENQUEUED")
	ordered "$rows" 2 desc || fail_because "not by PID, descending: $rows" || return 1
	stop_tui q
}

# Apply filter $1 with f ... Enter (Ctrl-U first clears what the prompt shows).
filter() {
	keys f
	wait_screen '^Filter \(port or command' 2 || return 1
	keys C-u
	[ -z "$1" ] || keys -l "$1"
	keys Enter
	wait_screen_not '^Filter \(port or command' 2
}

# The ports of the groups on screen, in order.
ports_shown() {
	awk '/^(TCP|UDP) / { n = split($2, a, ":"); print a[n] }' <<<"$(screen)" | tr '\n' ' '
}

# f and /: a port shows its group alone, part of a command the groups it runs in.
tui_case_filter() {
	local a=8404 b=8405
	make_netns || return 1
	start_rig a --mode reuseport --workers 2 --port $a || return 1
	# The same server under another name, so that the groups differ by command.
	ln -s "$(realpath "$RIG_SERVER")" "$CASE_DIR/webfront"
	RIG_SERVER=$CASE_DIR/webfront start_rig b --mode accept --workers 2 --port $b || return 1
	start_tui -P $a,$b -p "$(rig_pids a b)" || return 1
	wait_screen "^TCP 127\.0\.0\.1:$b " 10 || return 1
	wait_screen "^TCP 127\.0\.0\.1:$a " 10 || return 1
	grep -q ' webfront ' <<<"$SCREEN" || fail_because "no webfront row:"$'\n'"$SCREEN" || return 1

	filter $a || return 1
	wait_screen "Filter: $a" 2 || return 1
	[ "$(ports_shown)" = "$a " ] || fail_because "filter $a shows: $(ports_shown)" || return 1
	grep -q 'groups 1 of 2' <<<"$SCREEN" || fail_because "header: $(head -n 1 <<<"$SCREEN")" ||
		return 1

	filter webf || return 1
	wait_screen "Filter: webf" 2 || return 1
	[ "$(ports_shown)" = "$b " ] || fail_because "filter webf shows: $(ports_shown)" || return 1

	keys /
	wait_screen '^Filter \(port or command' 2 || return 1
	keys C-u
	keys -l RIG_S
	keys Enter
	wait_screen "Filter: RIG_S" 2 || return 1
	[ "$(ports_shown)" = "$a " ] || fail_because "filter RIG_S shows: $(ports_shown)" || return 1

	# Ports match exactly: 840 is no port here, and no command contains it.
	filter 840 || return 1
	wait_screen 'no group matches the filter' 2 || return 1
	[ -z "$(ports_shown)" ] || fail_because "filter 840 shows: $(ports_shown)" || return 1

	# Esc leaves the filter as it was.
	keys f
	wait_screen '^Filter \(port or command' 2 || return 1
	keys -l $b
	keys Escape
	wait_screen_not '^Filter \(port or command' 2 || return 1
	wait_screen "Filter: 840" 2 || return 1

	# Empty clears it.
	filter "" || return 1
	wait_screen_not "Filter:" 2 || return 1
	wait_screen "^TCP 127\.0\.0\.1:$b " 2 || return 1
	[ "$(ports_shown | tr ' ' '\n' | sort | tr '\n' ' ')" = "$a $b " ] ||
		fail_because "no filter shows: $(ports_shown)" || return 1
	stop_tui q
}

# A 60-column terminal: columns dropped in order, nothing wraps, PID and CONN/S stay; back to
# 160 columns everything returns.
tui_case_resize() {
	local port=8406 pid rows header name width
	make_netns || return 1
	start_rig rig --mode reuseport --workers 4 --port $port || return 1
	start_tui -P $port -p "$(rig_pids rig)" || return 1
	run_client --port $port --count 200 --concurrency 8 || return 1
	wait_screen "^TCP 127\.0\.0\.1:$port .*enqueued 200( |$)" 10 || return 1
	wait_screen '^ +PID +COMM +FD +INODE +CONN/S .* ENQUEUED +ACCEPTED( |$)' 2 || return 1

	tmx resize-window -t tui -x 60 -y 50
	wait_screen_not 'INODE' 5 || return 1
	width=$(awk '{ if (length($0) > w) w = length($0) } END { print w + 0 }' <<<"$SCREEN")
	[ "$width" -le 60 ] || fail_because "a line of $width columns" || return 1
	header=$(grep -E '^ +PID +COMM' <<<"$SCREEN" | tr -s ' ')
	[ "$(grep -cE '^ +PID' <<<"$SCREEN")" = 1 ] || fail_because "header twice:"$'\n'"$SCREEN" ||
		return 1
	for name in $header; do
		[[ " $TUI_COLUMNS " == *" $name "* ]] ||
			fail_because "header cut: '$name' in '$header'" || return 1
	done
	for name in PID COMM CONN/S ACC/S SHARE; do
		[[ "$header " == *" $name "* ]] ||
			fail_because "$name dropped at 60 columns: '$header'" || return 1
	done
	! grep -q 'ACCEPTED' <<<"$SCREEN" || fail_because "left over from 160 columns:"$'\n'"$SCREEN" ||
		return 1
	grep -Eq "^TCP 127\.0\.0\.1:$port " <<<"$SCREEN" || fail_because "group line:"$'\n'"$SCREEN" ||
		return 1
	rows=$(group_rows "$SCREEN" $port "CONN/S")
	[ "$(wc -l <<<"$rows")" = 4 ] || fail_because "want 4 member rows at 60 columns: $rows" ||
		return 1
	for pid in $(pgrep -P "$RIG_rig"); do
		grep -Eq "^S $pid rig_server [0-9]+\.[0-9]$" <<<"$rows" ||
			fail_because "worker $pid's row at 60 columns: $rows" || return 1
	done

	tmx resize-window -t tui -x 160 -y 50
	wait_screen '^ +PID +COMM +FD +INODE +CONN/S .* ENQUEUED +ACCEPTED( |$)' 5 || return 1
	[ "$(group_rows "$SCREEN" $port "ENQUEUED" | wc -l)" = 4 ] ||
		fail_because "rows back at 160 columns:"$'\n'"$SCREEN" || return 1
	stop_tui q
}

# q, Ctrl-C and SIGTERM: exit 0 with the terminal restored.
tui_case_exit() { # q | C-c | TERM
	make_netns || return 1
	start_rig rig --mode reuseport --workers 2 --port 8407 || return 1
	start_tui -P 8407 -p "$(rig_pids rig)" || return 1
	wait_screen '^TCP 127\.0\.0\.1:8407 ' 10 || return 1
	stop_tui "$1"
}

tui_cases() {
	if ! command -v tmux >/dev/null; then
		FAILED=$((FAILED + 1)); FAILED_NAMES+=("live view: tmux missing"); echo "FAIL live view: tmux missing"
		return
	fi
	run_case "live view: group and member rows with the workers' pids and exact counts; p pauses" \
		tui_case_counts
	run_case "live view: a master's hand-offs, each worker's received under it; -b the same" \
		tui_case_handoff
	run_case "live view: s < > pick the sort column, r reverses rows and groups" tui_case_sort
	run_case "live view: f and / filter by port and by command, Esc cancels, empty clears" \
		tui_case_filter
	run_case "live view: 60 columns drop columns without wrapping, 160 brings them back" \
		tui_case_resize
	run_case "live view: q exits 0 and restores the terminal" tui_case_exit q
	run_case "live view: Ctrl-C exits 0 and restores the terminal" tui_case_exit C-c
	run_case "live view: SIGTERM exits 0 and restores the terminal" tui_case_exit TERM
}
