#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# Print the C header (vmlinux.h) of the BTF inside an uncompressed kernel image, for building the
# BPF objects of an architecture whose kernel is not running here (`make vmlinux-arm64`: the
# arm64 Image fetch-kernel.sh caches is not compressed). The kernel's BTF is one blob: a 24-byte
# header (magic 0xeb9f, version 1, flags 0, header length 24, then the offsets and lengths of
# the types and the strings) followed by both.
# Usage: tests/vm/extract-btf.sh IMAGE > vmlinux.h
set -euo pipefail

image=${1:?usage: extract-btf.sh IMAGE}
die() { printf 'extract-btf: %s\n' "$*" >&2; exit 1; }

off=$(LC_ALL=C grep -obUaP '\x9f\xeb\x01\x00\x18\x00\x00\x00\x00\x00\x00\x00' "$image" |
	head -n 1 | cut -d: -f1)
[[ -n $off ]] || die "no BTF header in $image (a compressed image? unpack it first)"
read -r _ _ str_off str_len < <(od -An -tu4 -j $((off + 8)) -N 16 "$image")
tmp=$(mktemp)
trap 'rm -f "$tmp"' EXIT
dd if="$image" of="$tmp" bs=64K skip="$off" count=$((24 + str_off + str_len)) \
	iflag=skip_bytes,count_bytes status=none
bpftool btf dump file "$tmp" format c || die "bpftool could not read the BTF at offset $off"
