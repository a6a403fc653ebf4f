# SPDX-License-Identifier: GPL-2.0
# A private apt for the VM tests, sourced by fetch-kernel.sh and fetch-sysroot.sh: Debian's
# bullseye (11), bookworm (12) and trixie (13), for amd64 and arm64, from the mirror the host
# uses, with its own source list, package lists and download cache under $cache/apt. The host's
# sources, lists and dpkg architectures are never changed: apt is only told where to look.
#
# The caller sets $cache (its cache folder) and defines log and die; then:
#   papt_update              fetch the package lists once (again when older than a week)
#   papt_newest REGEX ARCH   the newest package whose whole name matches REGEX (sort -V)
#   papt_download DIR PKG:ARCH...  download the .deb files into DIR
# Every function fails (non-zero, with a message) when apt does.

papt_dir=$cache/apt

# The host's Debian mirror (the first URIs of its deb822 sources, or of sources.list).
papt_mirror() {
	local uri
	uri=$(sed -n 's/^URIs:[[:space:]]*\([^[:space:]]*\).*/\1/p' /etc/apt/sources.list.d/*.sources \
		2>/dev/null | grep -v security | head -n 1)
	[[ -n $uri ]] || uri=$(awk '$1 == "deb" && $0 !~ /security/ {
		for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' \
		/etc/apt/sources.list 2>/dev/null)
	printf '%s\n' "${uri:-http://deb.debian.org/debian}"
}

papt() {
	apt-get -q -o Dir::Etc::sourcelist="$papt_dir/sources.list" \
		-o Dir::Etc::sourceparts=/dev/null -o Dir::Etc::preferencesparts=/dev/null \
		-o Dir::State::Lists="$papt_dir/lists" -o Dir::State::status="$papt_dir/status" \
		-o Dir::Cache="$papt_dir/cache" -o APT::Architecture=amd64 \
		-o APT::Architectures::=amd64 -o APT::Architectures::=arm64 "$@"
}

papt_cache() {
	apt-cache -o Dir::Etc::sourcelist="$papt_dir/sources.list" \
		-o Dir::Etc::sourceparts=/dev/null -o Dir::Etc::preferencesparts=/dev/null \
		-o Dir::State::Lists="$papt_dir/lists" -o Dir::State::status="$papt_dir/status" \
		-o Dir::Cache="$papt_dir/cache" -o APT::Architecture=amd64 \
		-o APT::Architectures::=amd64 -o APT::Architectures::=arm64 "$@"
}

papt_update() {
	local mirror keyring=/usr/share/keyrings/debian-archive-keyring.gpg suite
	mkdir -p "$papt_dir/lists/partial" "$papt_dir/cache/archives/partial"
	[[ -f $papt_dir/status ]] || : >"$papt_dir/status"
	[[ -f $keyring ]] || { log "no $keyring (package debian-archive-keyring)"; return 1; }
	mirror=$(papt_mirror)
	: >"$papt_dir/sources.list.new"
	for suite in bullseye bookworm trixie; do
		printf 'deb [arch=amd64,arm64 signed-by=%s] %s %s main\n' "$keyring" "$mirror" \
			"$suite" >>"$papt_dir/sources.list.new"
	done
	mv "$papt_dir/sources.list.new" "$papt_dir/sources.list"
	# Lists fetched less than a week ago are good enough: kernels are picked by name.
	if [[ -n $(find "$papt_dir/lists" -maxdepth 1 -name '*_Packages*' -mtime -7 -print -quit) ]]; then
		return 0
	fi
	log "fetching the package lists of Debian 11, 12 and 13 from $mirror"
	papt update >"$papt_dir/update.log" 2>&1 || {
		sed 's/^/  /' "$papt_dir/update.log" >&2
		log "failed to fetch the package lists (apt-get update above)"
		return 1
	}
}

papt_newest() { # regex arch
	papt_cache search --names-only "$1" 2>/dev/null | awk '{ print $1 }' | grep -E "$1" |
		sort -V | tail -n 1 | sed "s/\$/:$2/" | grep .
}

papt_download() { # dir pkg:arch...
	local dir=$1
	shift
	# apt-get download writes to the current directory as root (the _apt user cannot write to
	# a mktemp folder) and says so: that note is expected, and filtered out.
	if ! (cd "$dir" && papt download "$@") >"$dir/apt.log" 2>&1; then
		grep -v 'unsandboxed as root' "$dir/apt.log" | sed 's/^/  /' >&2
		log "failed to download $*"
		return 1
	fi
}
