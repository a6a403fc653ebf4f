# The integration scenarios run inside the 6.1 VM (busybox sh) on each attach tier. The guest
# only runs them and prints the raw results between markers; the host checks them with the same
# functions as the host suite (tests/vm_cases.sh), so both kernels are held to one standard.
#
# For each case it prints:
#   === CASE <name>
#   --- netns <inode>         --- rt-exit <status>   --- client <json line>
#   --- json <reusetop's last JSON line>
#   --- stats <one rig worker's stats line>  (one per worker)
#   --- stderr <a line reusetop wrote to stderr>
#   === END <name>

DELAY=0.3
rig_extra=""
netns=$(stat -L -c %i /proc/self/ns/net)

wait_file() { # file tenths
	i=0
	while [ ! -s "$1" ] && [ $i -lt "$2" ]; do sleep 0.1; i=$((i + 1)); done
	[ -s "$1" ]
}

# scenario NAME TIER MODE WORKERS ADDR PORT COUNT [CLIENT ARGS...]
scenario() {
	name=$1 tier=$2 mode=$3 workers=$4 addr=$5 port=$6 count=$7
	shift 7
	client_args=${*:---concurrency 4}
	rm -f /tmp/rig.stats /tmp/rig.ready /tmp/rt.json /tmp/rt.err
	echo "=== CASE $name"
	echo "--- netns $netns"
	# shellcheck disable=SC2086
	rig_server --mode "$mode" --workers "$workers" --addr "$addr" --port "$port" $rig_extra \
		--stats /tmp/rig.stats --ready /tmp/rig.ready >/dev/null 2>&1 &
	rig=$!
	wait_file /tmp/rig.ready 100 || echo "--- stderr rig did not get ready"
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
	kill -TERM $rig
	wait $rig
	sed 's/^/--- stats /' /tmp/rig.stats
	sed 's/^/--- stderr /' /tmp/rt.err
	echo "=== END $name"
}

for tier in fentry kprobe auto; do
	scenario "$tier-reuseport-v4" $tier reuseport 4 127.0.0.1 8401 400
done
scenario fentry-reuseport-v6 fentry reuseport 4 ::1 8402 400
scenario kprobe-reuseport-v6 kprobe reuseport 4 ::1 8402 400
for tier in fentry kprobe; do
	scenario "$tier-accept" $tier accept 4 127.0.0.1 8403 400
	scenario "$tier-epoll" $tier epoll 4 127.0.0.1 8404 400
	scenario "$tier-handoff" $tier handoff 4 127.0.0.1 8405 200
done
# The herd: 4 idle epoll workers, connections 20 ms apart (TCG is slow).
for tier in fentry kprobe; do
	scenario "$tier-herd" $tier epoll 4 127.0.0.1 8407 100 --concurrency 1 --rate 50
done
# UDP reuseport: datagrams queued, read and selected per socket.
rig_extra="--proto udp"
for tier in fentry kprobe; do
	scenario "$tier-udp" $tier reuseport 4 127.0.0.1 8408 400 --proto udp --rate 500
done
rig_extra=""
# 6.1 has no sock:sk_data_ready: the tracepoint tier must say enqueues are unknown.
scenario tracepoint-reuseport-v4 tracepoint reuseport 4 127.0.0.1 8406 200
exit 0
