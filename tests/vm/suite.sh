# The integration scenarios, run inside a VM (busybox sh) on each attach tier the kernel allows,
# then steering and the live view. The guest only runs them and prints the raw results between
# markers; the host checks them with the same functions as the host suite (tests/vm_cases.sh),
# so every kernel is held to one standard, and holds the expectations of each kernel (which
# tiers attach, what each can see).
#
# For each case it prints:
#   === CASE <name>
#   --- netns <inode>         --- rt-exit <status>   --- client <json line>
#   --- json <reusetop's last JSON line>
#   --- stats <one rig worker's stats line>  (one per worker)
#   --- stderr <a line reusetop wrote to stderr>
#   --- <other fields of the steering and live-view cases, below>
#   === END <name>

DELAY=0.3
rig_extra=""
# A write to a reader that is gone (the live view's keys) fails instead of ending the suite.
trap '' PIPE
# Each scenario leaves its server's connections in TIME_WAIT for a minute. Past the VM's limit
# (4096, sized by its memory) the kernel closes them at once instead, and a late FIN then finds
# the listener: one more reuseport selection without a connection, and a steering rotation
# shifted. The host's limit is far above what the suite opens in a minute; so is this one.
echo 262144 >/proc/sys/net/ipv4/tcp_max_tw_buckets
netns=$(stat -L -c %i /proc/self/ns/net)

wait_file() { # file tenths
	i=0
	while [ ! -s "$1" ] && [ $i -lt "$2" ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$1" ]
}

# The pids of process $1's children, in fork order.
children() {
	for s in /proc/[0-9]*/stat; do
		read -r p _ _ pp _ <"$s" 2>/dev/null && [ "$pp" = "$1" ] && echo "$p"
	done | sort -n
}

# start_rig MODE WORKERS ADDR PORT [ARGS...]: the rig in the background (pid in $rig), ready.
start_rig() {
	mode=$1 workers=$2 addr=$3 port=$4
	shift 4
	rm -f /tmp/rig.stats /tmp/rig.ready
	rig_server --mode "$mode" --workers "$workers" --addr "$addr" --port "$port" "$@" \
		--stats /tmp/rig.stats --ready /tmp/rig.ready >/dev/null 2>&1 &
	rig=$!
	wait_file /tmp/rig.ready 100 || echo "--- stderr rig did not get ready"
}

stop_rig() {
	kill -TERM $rig
	wait $rig
	sed 's/^/--- stats /' /tmp/rig.stats
}

# Whether reusetop attaches with TIER: its first document or its error, as a case of its own.
probe_tier() {
	echo "=== CASE tier-$1"
	reusetop --attach "$1" -j -n 1 -d 0.05 >/tmp/rt.json 2>/tmp/rt.err
	status=$?
	echo "--- rt-exit $status"
	echo "--- json $(head -n 1 /tmp/rt.json)"
	sed 's/^/--- stderr /' /tmp/rt.err
	echo "=== END tier-$1"
	return $status
}

# scenario NAME TIER MODE WORKERS ADDR PORT COUNT [CLIENT ARGS...]
scenario() {
	name=$1 tier=$2 mode=$3 workers=$4 addr=$5 port=$6 count=$7
	shift 7
	client_args=${*:---concurrency 4}
	rm -f /tmp/rt.json /tmp/rt.err
	echo "=== CASE $name"
	echo "--- netns $netns"
	# shellcheck disable=SC2086
	start_rig "$mode" "$workers" "$addr" "$port" $rig_extra
	tier_arg="--attach $tier"
	[ "$tier" = auto ] && tier_arg=""
	# shellcheck disable=SC2086
	reusetop $tier_arg -j -d $DELAY -P "$port" >/tmp/rt.json 2>/tmp/rt.err &
	rt=$!
	wait_file /tmp/rt.json 300 || echo "--- stderr reusetop printed nothing"
	# shellcheck disable=SC2086
	echo "--- client $(rig_client --addr "$addr" --port "$port" --count "$count" $client_args)"
	sleep 1.5
	kill -INT $rt
	wait $rt
	echo "--- rt-exit $?"
	echo "--- json $(tail -n 1 /tmp/rt.json)"
	# Handoffs: every document, for the waits of each interval and the no-loss check.
	case $name in *handoff*) sed 's/^/--- doc /' /tmp/rt.json ;; esac
	stop_rig
	sed 's/^/--- stderr /' /tmp/rt.err
	echo "=== END $name"
}

# SCM_RIGHTS handoffs: the master round-robin to 4 workers, and master -> broker -> 3 workers
# (weights 3,2,1 at the broker).
handoff_scenarios() {
	scenario "$1-handoff" "$1" handoff 4 127.0.0.1 8405 200
	rig_extra="--handoff-weights 3,2,1"
	scenario "$1-handoff-chain" "$1" handoff-chain 3 127.0.0.1 8410 300
	rig_extra=""
}

# The scenarios of one tier.
tier_scenarios() {
	t=$1
	scenario "$t-reuseport-v4" "$t" reuseport 4 127.0.0.1 8401 400
	scenario "$t-reuseport-v6" "$t" reuseport 4 ::1 8402 400
	scenario "$t-accept" "$t" accept 4 127.0.0.1 8403 400
	scenario "$t-epoll" "$t" epoll 4 127.0.0.1 8404 400
	handoff_scenarios "$t"
	# The herd: 4 idle epoll workers, connections 20 ms apart (TCG is slow). The master takes
	# SIGIO from the listener, sleeping in a call that waits for no socket: never charged.
	rm -f /tmp/rig.sigio
	rig_extra="--sigio /tmp/rig.sigio"
	scenario "$t-herd" "$t" epoll 4 127.0.0.1 8407 100 --concurrency 1 --rate 50
	echo "--- sigio $t-herd $(cat /tmp/rig.sigio)"
	rig_extra=""
	# UDP reuseport: datagrams queued, read and selected per socket.
	rig_extra="--proto udp"
	scenario "$t-udp" "$t" reuseport 4 127.0.0.1 8408 400 --proto udp --rate 500
	rig_extra=""
}

# st NAME ARGS...: a reusetop steer command, its exit status, output and stderr.
st() {
	local what=$1
	shift
	reusetop steer --port 8471 "$@" >/tmp/st.out 2>/tmp/st.err
	echo "--- $what-exit $?"
	sed "s/^/--- $what-out /" /tmp/st.out
	sed "s/^/--- $what-err /" /tmp/st.err
}

st_client() { # client args
	echo "--- client $(rig_client --port 8471 "$@")"
}

# Steering: the rig's 4 workers, a policy, a client pinned to CPU 0 (rotations are per CPU),
# --show --json before and after --detach, and the rig's own counts.
steer_scenario() { # name policy-args...
	local name=$1 workers i w
	shift
	echo "=== CASE $name"
	start_rig reuseport 4 127.0.0.1 8471
	workers=$(children $rig | tr '\n' ' ')
	echo "--- workers $workers"
	# @Wi@ in the arguments: worker i's pid.
	i=0
	for w in $workers; do
		set -- $(echo "$*" | sed "s/@W$i@/$w/g")
		i=$((i + 1))
	done
	st steer "$@"
	case $name in
	steer-custom) st_client --count 150 --concurrency 4 --sport-range 40002-40151 ;;
	steer-detach)
		st show --show --json
		st detach --detach
		st detach2 --detach
		st_client --count 400 --concurrency 8
		;;
	*) st_client --count 400 --concurrency 8 --cpu 0 ;;
	esac
	if [ "$name" != steer-detach ]; then
		st show --show --json
		st showtext --show
		st detach --detach
	fi
	st after --show --json
	stop_rig
	echo "=== END $name"
}

# The live view on a 160x50 terminal (pty_drive), 400 connections over 4 workers, then p
# (pause) and q; the recording, in base64, is rendered on the host.
tui_scenario() {
	echo "=== CASE tui"
	start_rig reuseport 4 127.0.0.1 8409
	rm -f /tmp/tui.* /tmp/keys
	mkfifo /tmp/keys
	pty_drive 160 50 /tmp/tui.rec sh -c 'stty -a >/tmp/tui.before; reusetop -d 0.3 -P 8409 \
		2>/tmp/tui.err; echo $? >/tmp/tui.status; stty -a >/tmp/tui.after' </tmp/keys &
	drive=$!
	exec 8>/tmp/keys
	# The first screen is up once its column header was drawn (30 s at most).
	i=0
	while ! grep -q COMM /tmp/tui.rec.0 2>/dev/null && [ $i -lt 300 ]; do
		sleep 0.1
		i=$((i + 1))
	done
	sleep 0.5
	echo "--- client $(rig_client --port 8409 --count 400 --concurrency 8)"
	sleep 2
	echo p >&8
	sleep 1.5
	echo q >&8
	exec 8>&-
	wait $drive
	echo "--- drive-exit $?"
	echo "--- status $(cat /tmp/tui.status)"
	sed 's/^/--- before /' /tmp/tui.before
	sed 's/^/--- after /' /tmp/tui.after
	sed 's/^/--- stderr /' /tmp/tui.err
	for f in /tmp/tui.rec.*; do
		echo "--- rec ${f##*.} $(base64 -w 0 "$f")"
	done
	stop_rig
	echo "=== END tui"
}

tiers=""
for t in fentry kprobe tracepoint; do
	probe_tier $t && tiers="$tiers $t"
done
scenario auto-reuseport-v4 auto reuseport 4 127.0.0.1 8401 400
for t in $tiers; do
	if [ $t = tracepoint ] && [ ! -d /sys/kernel/tracing/events/sock/sk_data_ready ]; then
		# No sock:sk_data_ready: the tracepoint tier must say enqueues are unknown.
		scenario tracepoint-reuseport-v4 tracepoint reuseport 4 127.0.0.1 8406 200
		# Handoffs need no sk_data_ready: sendmsg and recvmsg are syscalls.
		handoff_scenarios tracepoint
		continue
	fi
	tier_scenarios $t
done
steer_scenario steer-roundrobin --policy roundrobin
steer_scenario steer-drain --policy roundrobin --drain @W2@
steer_scenario steer-detach --policy weighted --weight @W0@=3,@W1@=1,@W2@=0,@W3@=0
steer_scenario steer-custom --object steer_example.bpf.o
steer_scenario steer-shadow --policy roundrobin --shadow
tui_scenario
exit 0
