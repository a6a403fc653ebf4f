#!/usr/bin/env bash
# Ensure a second, ordinary kernel for the VM tests: Debian 12's 6.1 cloud kernel, which has
# kprobes, fentry/fexit and BTF (the host kernel allows only tracepoints). Caches the newest
# linux-image-6.1.0-*-cloud-amd64 from Debian's archive under .cache/vm/<release>/ (vmlinuz,
# config, and the few modules the guest needs) and prints the path of its vmlinuz; does nothing
# when it is already cached. Also installs, when missing, what run-vm.sh needs: qemu-system-x86,
# busybox-static and cpio.
# Env: VM_CACHE (default <repo>/.cache/vm).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${VM_CACHE:-$repo/.cache/vm}
# Modules the guest loads at boot, in load order. Debian builds sock_diag's inet handlers as
# modules; without them NETLINK_SOCK_DIAG answers ENOENT and reusetop cannot list sockets.
modules=(inet_diag tcp_diag udp_diag)

log() { printf 'fetch-kernel: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

ensure_packages() {
	local missing=() p
	for p in qemu-system-x86 busybox-static cpio; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	log "installing ${missing[*]}"
	if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
		apt-get update -qq
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null
}

# Newest ABI of the signed cloud image: the anchored name leaves out -dbg and -unsigned (the
# signed package carries the same kernel).
newest_package() {
	apt-cache search --names-only '^linux-image-6\.1\.0-[0-9]+-cloud-amd64$' |
		awk '{ print $1 }' | sort -V | tail -n 1
}

# The cache is complete when vmlinuz links to a release directory holding the module list.
cached() {
	[[ -e $cache/vmlinuz && -f $(dirname "$(readlink -f "$cache/vmlinuz")")/modules/modules.load ]]
}

ensure_packages

mkdir -p "$cache"
# One fetch at a time: parallel test runs share the cache.
exec 9>"$cache/.lock"
flock 9

if cached; then
	printf '%s\n' "$cache/vmlinuz"
	exit 0
fi

pkg=$(newest_package)
if [[ -z $pkg ]]; then
	log "no linux-image-6.1.0-*-cloud-amd64 in the package lists; running apt-get update"
	apt-get update -qq
	pkg=$(newest_package)
fi
[[ -n $pkg ]] || die "no linux-image-6.1.0-*-cloud-amd64 package in Debian's archive"
release=${pkg#linux-image-}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "downloading $pkg"
# apt-get download writes to the current directory; _apt cannot write to a mktemp directory,
# so apt downloads as root and says so: that note is expected, and filtered out.
if ! (cd "$tmp" && apt-get download -qq "$pkg") 2>"$tmp/apt.err"; then
	grep -v 'unsandboxed as root' "$tmp/apt.err" >&2 || true
	die "apt-get download $pkg failed"
fi
deb=$(find "$tmp" -maxdepth 1 -name "${pkg}_*.deb" -print -quit)
[[ -n $deb ]] || die "apt-get download $pkg produced no .deb"
dpkg -x "$deb" "$tmp/root"
boot=$tmp/root/boot
moddir=$tmp/root/lib/modules/$release
[[ -f $boot/vmlinuz-$release ]] || die "$pkg has no /boot/vmlinuz-$release"

# Keep the kernel, its config (to check CONFIG_* when a probe fails) and the modules; the guest
# has /proc/kallsyms, so System.map is not kept.
out=$tmp/$release
mkdir -p "$out/modules"
cp "$boot/vmlinuz-$release" "$out/vmlinuz"
cp "$boot/config-$release" "$out/config"
for m in "${modules[@]}"; do
	ko=$(find "$moddir" -name "$m.ko" -print -quit)
	[[ -n $ko ]] || die "$pkg has no $m.ko"
	cp "$ko" "$out/modules/"
	printf '%s\n' "$m" >>"$out/modules/modules.load"
done

# Install the release directory, then the link that marks the cache complete.
rm -rf "${cache:?}/$release"
mv "$out" "$cache/$release"
ln -sfn "$release/vmlinuz" "$cache/vmlinuz"
log "cached $release"
printf '%s\n' "$cache/vmlinuz"
