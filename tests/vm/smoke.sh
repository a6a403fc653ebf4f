# VM smoke test (`make vm-smoke`), run by busybox sh inside the VM on Debian's 6.1 kernel: does
# the static reusetop attach with the tiers the host kernel refuses (fentry, kprobe), and does
# auto pick fentry? Prints each run's output and exit status, re-runs a failed one with -v for
# libbpf's detail, and exits with the number of failed checks.
# A busybox nc listener on 127.0.0.1:7070 and a client loop give the probes something to count.

fails=0

# run NAME WANT_TIER ARGS...: run reusetop ARGS, expect exit 0 and "attach":"WANT_TIER".
run() {
	name=$1 want=$2
	shift 2
	echo "=== $name: reusetop $*"
	reusetop "$@" >"/tmp/$name.out" 2>"/tmp/$name.err"
	rc=$?
	cat "/tmp/$name.out"
	sed 's/^/stderr: /' "/tmp/$name.err"
	echo "--- $name: exit $rc"
	tier=$(sed -n 's/.*"attach":"\([a-z]*\)".*/\1/p' "/tmp/$name.out" | head -n 1)
	if [ "$rc" -eq 0 ] && [ "$tier" = "$want" ]; then
		echo "PASS $name: attach=$tier"
		return
	fi
	echo "FAIL $name: exit $rc, attach=${tier:-none}, want $want"
	fails=$((fails + 1))
	echo "--- $name again with -v (last 60 lines of stderr):"
	reusetop -v "$@" 2>&1 >/dev/null | tail -n 60
}

nc -ll -p 7070 -e /bin/true &
server=$!
(while :; do nc 127.0.0.1 7070 </dev/null >/dev/null 2>&1; sleep 0.2; done) &
client=$!

run fentry fentry --attach fentry -j -n 2 -d 0.5
run kprobe kprobe --attach kprobe -j -n 2 -d 0.5
run auto fentry -j -n 2 -d 0.5

kill "$client" "$server" 2>/dev/null
echo "=== smoke: $fails failed"
exit "$fails"
