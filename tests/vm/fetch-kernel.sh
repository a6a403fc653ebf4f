#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Ensure a Debian cloud kernel for the VM tests and print the path of its vmlinuz.
#
# Usage: tests/vm/fetch-kernel.sh [VERSION [ARCH]]
#   VERSION  5.10 (Debian 11), 6.1 (Debian 12, the default) or 6.12 (Debian 13): the newest
#            linux-image-VERSION*-cloud-* package of Debian's archive
#   ARCH     x86_64 (the default) or aarch64
#
# Caches the kernel under .cache/vm/<release>/ (vmlinuz, config, arch, and the few modules the
# guest needs) with a link .cache/vm/VERSION-ARCH to it, and does nothing when that is there.
# The packages come through a private apt (debian-apt.sh): the host's sources stay as they are.
# Also installs, when missing, what run-vm.sh needs on the host: qemu for ARCH and cpio (the
# guest's busybox: the host's busybox-static for x86_64, fetch-sysroot.sh's for aarch64).
# Fails with a message saying what could not be fetched.
# Env: VM_CACHE (default <repo>/.cache/vm).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${VM_CACHE:-$repo/.cache/vm}
version=${1:-6.1}
arch=${2:-x86_64}
# Modules the guest loads at boot, in load order. Debian builds sock_diag's inet handlers as
# modules; without them NETLINK_SOCK_DIAG answers ENOENT and reusetop cannot list sockets.
modules=(inet_diag tcp_diag udp_diag)

log() { printf 'fetch-kernel: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

[[ $version =~ ^[0-9]+\.[0-9]+$ ]] || die "VERSION must look like 6.1, not '$version'"
case $arch in
x86_64) debarch=amd64 qemu_pkg=qemu-system-x86 host_pkgs=(busybox-static) ;;
aarch64) debarch=arm64 qemu_pkg=qemu-system-arm host_pkgs=() ;;
*) die "ARCH must be x86_64 or aarch64, not '$arch'" ;;
esac

ensure_packages() {
	local missing=() p
	for p in "$qemu_pkg" cpio "${host_pkgs[@]}"; do
		dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
	done
	[[ ${#missing[@]} -eq 0 ]] && return 0
	log "installing ${missing[*]}"
	if ! apt-cache show "${missing[@]}" >/dev/null 2>&1; then
		apt-get update -qq
	fi
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || die "failed to install ${missing[*]}"
}

# The cache is complete when the link leads to a release directory holding the module list.
link=$cache/$version-$arch
cached() {
	[[ -e $link/vmlinuz && -f $link/modules/modules.load ]]
}

ensure_packages
mkdir -p "$cache"
# One fetch at a time: parallel test runs share the cache.
exec 9>"$cache/.lock"
flock 9

if cached; then
	printf '%s\n' "$(readlink -f "$link")/vmlinuz"
	exit 0
fi

. "$repo/tests/vm/debian-apt.sh"
papt_update || die "cannot look up linux-image-$version*-cloud-$debarch"
# Debian 11 and 12 name them linux-image-5.10.0-32-cloud-amd64, Debian 13
# linux-image-6.12.48+deb13-cloud-amd64; the anchored name leaves out -dbg and -unsigned (the
# signed package carries the same kernel).
regex="^linux-image-${version//./\\.}(\\.0-[0-9]+|\\.[0-9]+\\+deb[0-9]+)-cloud-$debarch\$"
pkg=$(papt_newest "$regex" "$debarch") ||
	die "no linux-image-$version*-cloud-$debarch package in Debian's archive"
name=${pkg%:*}
release=${name#linux-image-}

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "downloading $name"
papt_download "$tmp" "$pkg" || die "failed to download $name"
deb=$(find "$tmp" -maxdepth 1 -name "${name}_*.deb" -print -quit)
[[ -n $deb ]] || die "apt-get download $name produced no .deb"
dpkg -x "$deb" "$tmp/root"
boot=$tmp/root/boot
moddir=$(find "$tmp/root" -maxdepth 4 -type d -path "*/modules/$release" -print -quit)
[[ -f $boot/vmlinuz-$release ]] || die "$name has no /boot/vmlinuz-$release"
[[ -n $moddir ]] || die "$name has no lib/modules/$release"

# Keep the kernel, its config (to check CONFIG_* when a probe fails) and the modules; the guest
# has /proc/kallsyms, so System.map is not kept.
out=$tmp/$release
mkdir -p "$out/modules"
cp "$boot/vmlinuz-$release" "$out/vmlinuz"
cp "$boot/config-$release" "$out/config"
printf '%s\n' "$arch" >"$out/arch"
for m in "${modules[@]}"; do
	ko=$(find "$moddir" -name "$m.ko" -o -name "$m.ko.xz" | head -n 1)
	[[ -n $ko ]] || die "$name has no $m.ko"
	case $ko in
	*.xz) xz -dc "$ko" >"$out/modules/$m.ko" ;;
	*) cp "$ko" "$out/modules/" ;;
	esac
	printf '%s\n' "$m" >>"$out/modules/modules.load"
done

# Install the release directory, then the link that marks the cache complete.
rm -rf "${cache:?}/$release"
mv "$out" "$cache/$release"
ln -sfn "$release" "$link"
log "cached $release"
printf '%s\n' "$cache/$release/vmlinuz"
