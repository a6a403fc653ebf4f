#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Ensure what the arm64 VM tests build and boot with, and print the sysroot's path: Debian 12's
# arm64 static libraries and headers that the static reusetop links (libbpf, libelf, zlib,
# ncurses) and the guest's busybox, unpacked from their arm64 packages into a private sysroot,
# .cache/sysroot/aarch64 (usr/include, usr/lib/aarch64-linux-gnu, bin/busybox). The packages
# come through a private apt (debian-apt.sh): the host's sources and dpkg architectures stay as
# they are. Also installs, when missing, the cross compiler and its C library
# (gcc-aarch64-linux-gnu, libc6-dev-arm64-cross: from the host's own sources). Does nothing when the sysroot is complete; fails with a message saying
# what could not be fetched.
# Env: VM_CACHE (default <repo>/.cache/vm; the sysroot goes beside it, in ../sysroot).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${VM_CACHE:-$repo/.cache/vm}
sysroot=$(dirname "$cache")/sysroot/aarch64
# From bookworm, like the host's own libraries and cross compiler (Debian 12's libelf.a needs
# only zlib besides libc).
packages=(libbpf-dev libelf-dev zlib1g-dev libncurses-dev busybox-static)

log() { printf 'fetch-sysroot: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

missing=()
for p in gcc-aarch64-linux-gnu libc6-dev-arm64-cross; do
	dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'ok installed' || missing+=("$p")
done
if [[ ${#missing[@]} -gt 0 ]]; then
	log "installing ${missing[*]}"
	apt-cache show "${missing[@]}" >/dev/null 2>&1 || apt-get update -qq
	DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends \
		"${missing[@]}" >/dev/null || die "failed to install ${missing[*]}"
fi

mkdir -p "$cache"
exec 9>"$cache/.lock"
flock 9
if [[ -f $sysroot/.complete ]]; then
	printf '%s\n' "$sysroot"
	exit 0
fi

. "$repo/tests/vm/debian-apt.sh"
papt_update || die "cannot look up the arm64 packages"
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
log "downloading ${packages[*]} (arm64, Debian 12)"
papt_download "$tmp" "${packages[@]/%/:arm64/bookworm}" ||
	die "failed to download the arm64 packages"
mkdir -p "$tmp/root"
for p in "${packages[@]}"; do
	deb=$(find "$tmp" -maxdepth 1 -name "${p}_*_arm64.deb" -print -quit)
	[[ -n $deb ]] || die "apt-get download $p:arm64 produced no .deb"
	dpkg -x "$deb" "$tmp/root"
done
for f in usr/lib/aarch64-linux-gnu/libbpf.a usr/lib/aarch64-linux-gnu/libelf.a \
	usr/lib/aarch64-linux-gnu/libz.a usr/lib/aarch64-linux-gnu/libncursesw.a \
	usr/lib/aarch64-linux-gnu/libtinfo.a usr/include/bpf/libbpf.h bin/busybox; do
	[[ -e $tmp/root/$f ]] || die "the arm64 packages have no $f"
done
: >"$tmp/root/.complete"
rm -rf "$sysroot"
mkdir -p "$(dirname "$sysroot")"
mv "$tmp/root" "$sysroot"
log "unpacked into $sysroot"
printf '%s\n' "$sysroot"
