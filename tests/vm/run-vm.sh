#!/usr/bin/env bash
# Run a shell script inside a throwaway VM booted on one of Debian's cloud kernels (qemu, TCG;
# x86_64 or aarch64), so that what the host kernel refuses (fentry/fexit, kprobes) and what other
# kernels and architectures do is tested on real kernels.
#
# Usage: tests/vm/run-vm.sh SCRIPT [FILES...]
#   SCRIPT and FILES (statically linked binaries, data files) are copied into the guest's /vm/.
#   The guest's /init mounts proc, sysfs, devtmpfs, devpts, a tmpfs on /tmp, tracefs, debugfs and
#   bpffs,
#   loads the modules kept beside vmlinuz (sock_diag's inet handlers), brings lo up, runs
#   `/bin/sh /vm/SCRIPT` with PATH=/vm:/bin:/sbin in /vm, prints `VM-EXIT <status>` and powers
#   off. The guest has busybox, the terminfo entry of `screen` (TERM=screen) and nothing else; no
#   network but lo. FILES must be static binaries of the kernel's architecture.
#
# The serial console goes to stdout (carriage returns stripped); timings and verdicts to stderr
# ("boot to script" is host time from starting qemu to /init's VM-INIT line).
# Exit status: 0 only when the console showed `VM-EXIT 0`; 124 when the VM ran past VM_TIMEOUT;
# 1 for anything else (script failed, kernel panic, qemu failed, no VM-EXIT line).
#
# Env: VM_TIMEOUT  seconds before the VM counts as hung (default 300)
#      VM_KERNEL   which kernel: "VERSION [ARCH]" as tests/vm/fetch-kernel.sh takes them
#                  (default "6.1 x86_64"), fetched and cached by it
#      VMLINUZ     a kernel image to boot instead; modules are taken from modules/ beside it
#                  (modules.load lists them in load order), its architecture from the file arch
#                  there (x86_64 when absent)
#      VM_APPEND   extra kernel command line (e.g. "loglevel=7" to drop quiet's filtering)
#      VM_MEM      the guest's memory in MiB (default 1024; more for big FILES, which live in RAM)
#      VM_SMP      the guest's vCPUs (default 2)
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

if [[ -z ${VMLINUZ:-} ]]; then
	# shellcheck disable=SC2086 # VERSION and ARCH
	VMLINUZ=$("$here/fetch-kernel.sh" ${VM_KERNEL:-6.1 x86_64}) || die "no kernel to boot"
fi
kernel=$VMLINUZ
[[ -f $kernel ]] || die "no kernel at $kernel"
kdir=$(dirname "$(readlink -f "$kernel")")
arch=x86_64
[[ ! -f $kdir/arch ]] || arch=$(<"$kdir/arch")
# The machine: -cpu max for x86 (TCG); for arm64 the virt board and a Cortex-A72, whose plain
# ARMv8.0 TCG runs faster than max's pointer authentication. The serial console differs.
# x86 runs its vCPUs on one host thread: with a thread per vCPU, patching a tracepoint's jump
# (text_poke_bp: an int3, then the new bytes) while the other vCPU runs the code hit the int3
# after its handler was gone ("Oops: int3" in handle_softirqs under 6.12, attaching the
# tracepoint tier); arm64 patches with the other CPUs stopped.
case $arch in
x86_64)
	qemu=(qemu-system-x86_64 -cpu max -accel tcg,thread=single)
	console=ttyS0 elf_machine='X86-64'
	busybox=$(command -v busybox || true)
	[[ -n $busybox ]] || die "busybox missing (tests/vm/fetch-kernel.sh installs busybox-static)"
	;;
aarch64)
	qemu=(qemu-system-aarch64 -machine virt -cpu cortex-a72 -accel tcg,thread=multi)
	console=ttyAMA0 elf_machine='AArch64'
	sysroot=$("$here/fetch-sysroot.sh") || die "no arm64 busybox (tests/vm/fetch-sysroot.sh)"
	busybox=$sysroot/bin/busybox
	;;
*) die "unknown architecture '$arch' in $kdir/arch" ;;
esac
command -v "${qemu[0]}" >/dev/null || die "${qemu[0]} missing (tests/vm/fetch-kernel.sh installs it)"

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# --- the initramfs ---------------------------------------------------------------------------
root=$tmp/root
mkdir -p "$root"/{bin,dev,proc,sys,tmp,vm,root,usr}
cp "$busybox" "$root/bin/busybox"
# The host's busybox lists the applets (the same Debian version as the arm64 one).
for applet in $(command -v busybox >/dev/null && busybox --list || "$busybox" --list); do
	[[ $applet == busybox ]] || ln -s busybox "$root/bin/$applet"
done
ln -s bin "$root/sbin"
ln -s ../bin "$root/usr/bin"
ln -s ../bin "$root/usr/sbin"
# The live view's terminal: the guest runs it with TERM=screen, which tmux renders on the host.
mkdir -p "$root/usr/share/terminfo/s"
cp /lib/terminfo/s/screen "$root/usr/share/terminfo/s/" ||
	die "no /lib/terminfo/s/screen (package ncurses-base)"

# Modules, loaded by /init in the order modules.load gives (Debian builds inet_diag and
# tcp_diag as modules, and the guest has no modprobe setup to load them on demand).
moddir=$kdir/modules
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
	# A program of another architecture fails with "not found" or "Exec format error".
	if command -v readelf >/dev/null && readelf -h "$f" 2>/dev/null | grep -q 'Type: *EXEC' &&
		! readelf -h "$f" | grep -q "Machine: .*$elf_machine$"; then
		die "$f is not built for $arch"
	fi
done

{
	printf '#!/bin/sh\n'
	printf 'VM_SCRIPT=%s\n' "$(basename "$script")"
	cat <<'INIT'
# PID 1 of the test VM, written by tests/vm/run-vm.sh: mount what the tests need, run the
# script, report its exit status, power off.
export PATH=/vm:/bin:/sbin HOME=/tmp TERM=screen
mount -t proc proc /proc
mount -t sysfs sysfs /sys
mount -t devtmpfs devtmpfs /dev
mkdir -p /dev/pts
mount -t devpts devpts /dev/pts
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
	"${qemu[@]}" -m "${VM_MEM:-1024}" -smp "${VM_SMP:-2}" -nic none \
	-nographic -no-reboot -kernel "$kernel" -initrd "$tmp/initrd.gz" \
	-append "console=$console panic=-1 quiet${VM_APPEND:+ $VM_APPEND}" </dev/null | console
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
