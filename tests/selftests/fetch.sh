#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
# The kernel's own SO_REUSEPORT selftests (tools/testing/selftests/net/reuseport_*.c) for
# tests/selftests_cases.sh, built unmodified from Debian 12's linux-source-6.1 package.
# Downloads the package once with apt-get download, keeps only the tests' sources and the one
# header they include under .cache/selftests/src/ (the 140 MB package itself is not kept), builds
# them with gcc into BUILD/selftests/ with the flags of the kernel's own Makefile, and prints that
# directory. Whatever is already cached or built is not done again.
# Usage: tests/selftests/fetch.sh [BUILD]  (default <repo>/build)
# Env: SELFTESTS_CACHE (default <repo>/.cache/selftests).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
cache=${SELFTESTS_CACHE:-$repo/.cache/selftests}
out=$(realpath -m "${1:-$repo/build}")/selftests
package=linux-source-6.1
tests=(reuseport_bpf reuseport_bpf_cpu reuseport_bpf_numa reuseport_dualstack reuseport_addr_any)
selftests=tools/testing/selftests
# What is taken from the package's tarball: the tests, and ../kselftest.h that two of them include.
members=("$selftests/kselftest.h")
for t in "${tests[@]}"; do members+=("$selftests/net/$t.c"); done

log() { printf 'selftests: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }

# apt-get download writes to the current directory; _apt cannot write to a mktemp directory, so
# apt downloads as root and says so: that note is expected, and filtered out.
download() { # dir
	(cd "$1" && apt-get download -qq "$package") 2>"$1/apt.err" && return 0
	grep -v 'unsandboxed as root' "$1/apt.err" >&2 || true
	return 1
}

# Download the package, take the members out of its tarball, and install them as the cache.
fetch() {
	local tmp deb version tarball
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	log "downloading $package"
	if ! download "$tmp"; then
		log "$package not in the package lists; running apt-get update"
		apt-get update -qq || die "apt-get update failed"
		download "$tmp" || die "apt-get download $package failed"
	fi
	deb=$(find "$tmp" -maxdepth 1 -name "${package}_*.deb" -print -quit)
	[[ -n $deb ]] || die "apt-get download $package produced no .deb"
	version=$(dpkg-deb -f "$deb" Version)
	tarball=usr/src/$package.tar.xz
	dpkg-deb --fsys-tarfile "$deb" | tar -x -C "$tmp" "./$tarball" ||
		die "$package $version has no /$tarball"
	rm -f "$deb"
	mkdir "$tmp/x"
	# tar fails, naming it, when a member is missing.
	tar -xJf "$tmp/$tarball" -C "$tmp/x" "${members[@]/#/$package/}" ||
		die "failed to extract the selftests from $package $version"
	printf '%s %s\n' "$package" "$version" >"$tmp/x/$package/VERSION"
	rm -rf "${cache:?}/src"
	mv "$tmp/x/$package" "$cache/src"
	log "cached the selftests of $package $version"
}

# Build each test that is missing or older than its source, as the kernel's Makefile does.
build() {
	local t src bin libs
	mkdir -p "$out"
	for t in "${tests[@]}"; do
		src=$cache/src/$selftests/net/$t.c
		bin=$out/$t
		[[ $bin -nt $src ]] && continue
		libs=()
		[[ $t == reuseport_bpf_numa ]] && libs=(-lnuma) # libnuma-dev (make deps)
		gcc -Wall -Wl,--no-as-needed -O2 -g "$src" -o "$bin.tmp" "${libs[@]}" 2>"$out/$t.log" ||
			die "failed to build $t: $(cat "$out/$t.log")"
		mv "$bin.tmp" "$bin"
		rm -f "$out/$t.log"
		log "built $bin"
	done
}

mkdir -p "$cache"
# One fetch at a time: parallel test runs share the cache.
exec 9>"$cache/.lock"
flock 9
[[ -f $cache/src/VERSION ]] || fetch
build
printf '%s\n' "$out"
