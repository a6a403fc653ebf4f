#!/usr/bin/env bash
# Run a shell script inside a throwaway VM booted on Debian's 6.1 cloud kernel (qemu, TCG), so
# that what the host kernel refuses (fentry/fexit, kprobes) is tested on a real kernel.
#
# Usage: tests/vm/run-vm.sh SCRIPT [FILES...]
#   SCRIPT and FILES (statically linked binaries, data files) are copied into the guest's /vm/.
#   The guest's /init mounts proc, sysfs, devtmpfs, a tmpfs on /tmp, tracefs, debugfs and bpffs,
#   loads the modules kept beside vmlinuz (sock_diag's inet handlers), brings lo up, runs
#   `/bin/sh /vm/SCRIPT` with PATH=/vm:/bin:/sbin in /vm, prints `VM-EXIT <status>` and powers
#   off. The guest has busybox and nothing else; no network but lo.
#
# The serial console goes to stdout (carriage returns stripped); timings and verdicts to stderr
# ("boot to script" is host time from starting qemu to /init's VM-INIT line).
# Exit status: 0 only when the console showed `VM-EXIT 0`; 124 when the VM ran past VM_TIMEOUT;
# 1 for anything else (script failed, kernel panic, qemu failed, no VM-EXIT line).
#
# Env: VM_TIMEOUT  seconds before the VM counts as hung (default 300)
#      VMLINUZ     kernel to boot (default: the one tests/vm/fetch-kernel.sh caches); modules
#                  are taken from modules/ beside it (modules.load lists them in load order)
#      VM_APPEND   extra kernel command line (e.g. "loglevel=7" to drop quiet's filtering)
# Never add -enable-kvm: /dev/kvm is nested here and hangs or fails; TCG is the tested path.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
timeout_s=${VM_TIMEOUT:-300}

log() { printf 'run-vm: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
usage() { printf 'usage: %s SCRIPT [FILES...]  (see the comment at its top)\n' "$0" >&2; exit 1; }

[[ $# -ge 1 ]] || usage
[[ $timeout_s =~ ^[0-9]+$ && $timeout_s -gt 0 ]] || die "VM_TIMEOUT must be a whole number of seconds, not '$timeout_s'"

script=$1
shift
[[ -f $script ]] || die "no script $script"
for f in "$@"; do
	[[ -e $f ]] || die "no file $f"
done

# The guest's /init names files by basename: keep those plain and distinct.
declare -A seen=()
for f in "$script" "$@"; do
	name=$(basename "$f")
	[[ $name =~ ^[A-Za-z0-9._+-]+$ ]] || die "unusual file name '$name': use [A-Za-z0-9._+-]"
	[[ -z ${seen[$name]:-} ]] || die "two files named $name"
	seen[$name]=1
done

kernel=${VMLINUZ:-$("$here/fetch-kernel.sh")}
[[ -f $kernel ]] || die "no kernel at $kernel"
command -v qemu-system-x86_64 >/dev/null || die "qemu-system-x86_64 missing (tests/vm/fetch-kernel.sh installs it)"
busybox=$(command -v busybox || true)
[[ -n $busybox ]] || die "busybox missing (tests/vm/fetch-kernel.sh installs busybox-static)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- the initramfs ---------------------------------------------------------------------------
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,vm,root,usr}
cp "$busybox" "$root/bin/busybox"
for applet in $("$busybox" --list); do
	[[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
done
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"

# Modules, loaded by /init in the order modules.load gives (Debian builds inet_diag and
# tcp_diag as modules, and the guest has no modprobe setup to load them on demand).
moddir=$(dirname "$(readlink -f "$kernel")")/modules
if [[ -f $moddir/modules.load ]]; then
	mkdir -p "$root/lib/modules"
	cp "$moddir"/*.ko "$moddir/modules.load" "$root/lib/modules/"
else
	log "warning: no $moddir/modules.load: loading no modules (sock_diag may answer ENOENT)"
fi

cp "$script" "$root/vm/"
for f in "$@"; do
	cp -RL "$f" "$root/vm/"
	# A dynamically linked program finds no libraries in the guest and fails with "not found".
	if command -v readelf >/dev/null && readelf -l "$f" 2>/dev/null | grep -q 'program interpreter'; then
		log "warning: $f is dynamically linked; it will not run in the guest"
	fi
done

{
	printf '#!/bin/sh\n'
	printf 'VM_SCRIPT=%s\n' "$(basename "$script")"
	cat <<'INIT'
# PID 1 of the test VM, written by tests/vm/run-vm.sh: mount what the tests need, run the
# script, report its exit status, power off.
export PATH=/vm:/bin:/sbin HOME=/tmp
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mount -t tmpfs tmpfs /tmp
mount -t tracefs tracefs /sys/kernel/tracing
mount -t debugfs debugfs /sys/kernel/debug
mount -t bpf bpf /sys/fs/bpf
if [ -f /lib/modules/modules.load ]; then
	while read -r m; do
		insmod "/lib/modules/$m.ko" || echo "VM-INIT: insmod $m failed"
	done </lib/modules/modules.load
fi
ip link set lo up
read -r up _ </proc/uptime
echo "VM-INIT $(uname -r), up ${up}s"
cd /vm
/bin/sh "/vm/$VM_SCRIPT" </dev/null
echo "VM-EXIT $?"
# stty applies a setting with TCSADRAIN: it returns once the serial line has sent everything,
# so the lines above are not cut off by the power-off.
stty onlcr 2>/dev/null
poweroff -f
INIT
} >"$root/init"
chmod 0755 "$root/init"

(cd "$root" && find . -print0 | LC_ALL=C sort -z | cpio --null -o -H newc -R 0:0 --quiet) |
	gzip -1 >"$tmp/initrd.gz"

# --- the run ---------------------------------------------------------------------------------
# Copy the console to stdout without carriage returns, keep a copy, and note (host clock)
# when /init started the script and when it finished.
console() {
	local line
	while IFS= read -r line || [[ -n $line ]]; do
		line=${line//$'\r'/}
		case $line in
		*VM-INIT*) printf '%s\n' "$EPOCHREALTIME" >"$tmp/t_init" ;;
		VM-EXIT*) printf '%s\n' "$EPOCHREALTIME" >"$tmp/t_exit" ;;
		esac
		printf '%s\n' "$line" >>"$tmp/console.log"
		printf '%s\n' "$line"
	done
}

secs() { awk -v a="$1" -v b="$2" 'BEGIN { printf "%.1f", b - a }'; }

touch "$tmp/console.log"
t_start=$EPOCHREALTIME
# No NIC: the guest needs only lo, and the network boot ROM would cost a second.
# --foreground keeps qemu in our process group, so Ctrl-C and an outer timeout reach it.
set +e
timeout --foreground -k 10 "$timeout_s" \
	qemu-system-x86_64 -accel tcg,thread=multi -cpu max -m 1024 -smp 2 -nic none \
	-nographic -no-reboot -kernel "$kernel" -initrd "$tmp/initrd.gz" \
	-append "console=ttyS0 panic=-1 quiet${VM_APPEND:+ $VM_APPEND}" </dev/null | console
rcs=("${PIPESTATUS[@]}")
set -e
t_end=$EPOCHREALTIME
qemu_rc=${rcs[0]}

timing=
if [[ -s $tmp/t_init ]]; then
	timing="boot to script $(secs "$t_start" "$(<"$tmp/t_init")") s, "
	[[ ! -s $tmp/t_exit ]] ||
		timing+="script $(secs "$(<"$tmp/t_init")" "$(<"$tmp/t_exit")") s, "
fi
log "$(readlink -f "$kernel"): ${timing}total $(secs "$t_start" "$t_end") s"

panic=0
grep -q 'Kernel panic' "$tmp/console.log" && panic=1
if [[ $qemu_rc -eq 124 || $qemu_rc -eq 137 ]]; then
	[[ $panic -eq 0 ]] || log "the kernel panicked"
	log "FAIL: the VM did not finish within ${timeout_s} s (VM_TIMEOUT)"
	exit 124
fi
[[ $panic -eq 0 ]] || die "FAIL: kernel panic"
status=$(sed -n 's/^VM-EXIT \([0-9][0-9]*\)$/\1/p' "$tmp/console.log" | tail -n 1)
[[ -n $status ]] || die "FAIL: no VM-EXIT line: /init never finished the script (qemu exit $qemu_rc)"
[[ $qemu_rc -eq 0 ]] || die "FAIL: qemu exited with $qemu_rc"
[[ $status -eq 0 ]] || die "FAIL: $(basename "$script") exited with $status"
log "PASS: $(basename "$script")"
