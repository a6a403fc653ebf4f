#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The built-in demo: three servers with uneven load in a network namespace of their own, and
# reusetop watching them.
#   :8080  SO_REUSEPORT, 4 workers; worker 0 is slow, so its accept queue fills while the
#          kernel's hash keeps sending it a quarter of the connections.
#   :8081  one listener shared by 4 epoll workers (no EPOLLEXCLUSIVE): every worker wakes for
#          each connection and the accepts pile up on whichever runs first.
#   :8082  a master that accepts and passes each connection over a Unix socket to one of 3
#          workers (as a Node.js cluster does), dealing them 3:1:1.
# Usage: tests/demo.sh [SECONDS]   (as root; default 20)
set -u
cd "$(dirname "$0")/.." || exit 1
secs=${1:-20}
ns=reusetop-demo-$$
pids=()

cleanup() {
	for p in "${pids[@]}"; do kill -TERM "$p" 2>/dev/null; done
	wait 2>/dev/null
	ip netns del "$ns" 2>/dev/null
}
trap cleanup EXIT INT TERM

[ "$(id -u)" = 0 ] || { echo "demo: run as root (it loads BPF programs)" >&2; exit 2; }
ip netns add "$ns" && ip -n "$ns" link set lo up || exit 1
tmp=$(mktemp -d)
ip netns exec "$ns" build/tests/rig_server --mode reuseport --workers 4 --port 8080 \
	--slow-worker 0 --slow-ms 20 --backlog 64 --ready "$tmp/a" >/dev/null &
pids+=($!)
ip netns exec "$ns" build/tests/rig_server --mode epoll --workers 4 --port 8081 \
	--ready "$tmp/b" >/dev/null &
pids+=($!)
ip netns exec "$ns" build/tests/rig_server --mode handoff --workers 3 --port 8082 \
	--handoff-weights 3,1,1 --ready "$tmp/c" >/dev/null &
pids+=($!)
for f in "$tmp/a" "$tmp/b" "$tmp/c"; do
	for _ in $(seq 100); do [ -s "$f" ] && break; sleep 0.05; done
done
rm -rf "$tmp"
ip netns exec "$ns" build/tests/rig_client --port 8080 --rate 300 --count $((300 * secs)) \
	--concurrency 16 >/dev/null 2>&1 &
pids+=($!)
ip netns exec "$ns" build/tests/rig_client --port 8081 --rate 100 --count $((100 * secs)) \
	>/dev/null 2>&1 &
pids+=($!)
ip netns exec "$ns" build/tests/rig_client --port 8082 --rate 50 --count $((50 * secs)) \
	>/dev/null 2>&1 &
pids+=($!)
# The live view on a terminal (q quits early), the batch table when piped.
./reusetop -d 1 -n "$secs" -P 8080,8081,8082
