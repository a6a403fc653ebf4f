// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * An example of your own steering policy for `reusetop steer --object`: client source port
 * affinity. A connection (or a UDP datagram) from source port P goes to eligible member
 * P mod N. Not a policy anyone needs, but small enough to show every part of the ABI:
 *
 *   make                       (builds build/steer_example.bpf.o next to reusetop)
 *   sudo reusetop steer --port 8080 --object build/steer_example.bpf.o
 *   sudo reusetop steer --port 8080 --show
 *
 * or, outside this tree, from the installed copy (/usr/local/share/reusetop/ has this file and
 * steer.h; vmlinux.h comes from the running kernel):
 *
 *   bpftool btf dump file /sys/kernel/btf/vmlinux format c > vmlinux.h
 *   clang -g -O2 -target bpf -I. -I/usr/local/share/reusetop -c my_policy.bpf.c -o my_policy.bpf.o
 *
 * The ABI (bpf/steer.h says it in full):
 *   - declare STEER_ABI_MAPS: reusetop replaces these four maps with the group's own before
 *     loading your program, so `members` already holds the group's sockets and `steer_members`
 *     says which slots may get new connections;
 *   - one SEC("sk_reuseport") or SEC("sk_reuseport/migrate") program (or name yours with
 *     --program when the object has several); the "/migrate" flavour is also asked where the
 *     queued connections of a member that closes should go (md->migrating_sk is then set), on
 *     kernels that migrate (5.14+: elsewhere reusetop attaches it as plain select);
 *   - select with bpf_sk_select_reuseport(md, &members, &slot, 0); when nothing can be
 *     selected return SK_PASS (the kernel's own hash decides), never SK_DROP;
 *   - count in steer_stats, steer_fallback and steer_reasons if you want `--show` and the live
 *     view to show your selections and why some fell back (optional);
 *   - shadow mode (`--shadow`): when steer_members' flags has STEER_SHADOW, make the choice,
 *     count it in steer_stats[slot].would_select and return SK_PASS without selecting (the
 *     kernel's hash then selects, as without a program); return SK_PASS at once for a
 *     migration. A policy that ignores the flag keeps selecting in shadow mode.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_endian.h>
#include <bpf/bpf_core_read.h>
#include "steer.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* members, steer_members, steer_stats, steer_fallback, steer_reasons: shared with reusetop. */
STEER_ABI_MAPS;

/* Count a selection (or a refusal, and why) of `slot` where reusetop looks for it. */
static __always_inline void count(__u32 slot, int err, bool migrating)
{
	struct steer_counters *c = bpf_map_lookup_elem(&steer_stats, &slot);

	if (!c)
		return;
	/* steer_stats is per CPU and selections do not nest on a CPU: no atomics needed. */
	if (err) {
		c->failed++;
		if (err == -2) /* -ENOENT: the member's socket closed */
			c->closed++;
		else
			c->refused++;
	} else if (migrating) {
		c->migrated++;
	} else {
		c->selected++;
	}
}

/* Nothing selected: the kernel's hash picks. Counted in total and by reason. */
static __always_inline int fall_back(__u32 why)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&steer_fallback, &zero);

	if (n)
		(*n)++;
	n = bpf_map_lookup_elem(&steer_reasons, &why);
	if (n)
		(*n)++;
	return SK_PASS; /* the connection is not lost */
}

SEC("sk_reuseport/migrate")
int sport_affinity(struct sk_reuseport_md *md)
{
	struct steer_members *set;
	__u32 zero = 0, n, pos, slot;
	bool migrating = false;
	__u16 ports[2]; /* the TCP or UDP header starts with source port, destination port */
	__u32 why = STEER_FB_CLOSED;

	/*
	 * md->migrating_sk came with migration (5.14); older kernels have neither, and reusetop
	 * attaches the program as plain select there. bpf_core_field_exists() asks the running
	 * kernel, so that one object loads on both.
	 */
	if (bpf_core_field_exists(md->migrating_sk))
		migrating = md->migrating_sk != NULL;

	set = bpf_map_lookup_elem(&steer_members, &zero);
	if (!set)
		return fall_back(STEER_FB_NO_CONFIG);
	/* Read n once: reusetop may rewrite the set while we run. Bound it for the verifier. */
	n = set->n;
	if (!n || n > STEER_MAX_MEMBERS)
		return fall_back(STEER_FB_NO_MEMBERS);
	/* Shadow mode: migrations are the kernel's; new connections only counted, below. */
	if ((set->flags & STEER_SHADOW) && migrating)
		return SK_PASS;

	/*
	 * md->data starts at the transport header (TCP or UDP). A migrating request has no packet
	 * (the kernel passes an empty one): use the flow hash then.
	 */
	if (!migrating && !bpf_skb_load_bytes(md, 0, ports, sizeof(ports)))
		pos = bpf_ntohs(ports[0]) % n;
	else
		pos = md->hash % n;

	if (set->flags & STEER_SHADOW) {
		struct steer_counters *c;

		/* pos < n already; hide that from clang so that it keeps the mask for the verifier. */
		barrier_var(pos);
		slot = set->slot[pos & (STEER_MAX_MEMBERS - 1)];
		c = bpf_map_lookup_elem(&steer_stats, &slot);
		if (c)
			c->would_select++;
		return SK_PASS; /* no selection: the kernel's hash selects */
	}

	/* Try the chosen member, then the next ones: a member whose socket closed is refused. */
	for (__u32 i = 0; i < 4 && i < n; i++) {
		__u32 p = (pos + i) % n;
		int err;

		/*
		 * p < n <= STEER_MAX_MEMBERS already, but the verifier cannot see through `%`
		 * (and clang drops a check it proves redundant): the mask bounds the index.
		 */
		slot = set->slot[p & (STEER_MAX_MEMBERS - 1)];
		err = bpf_sk_select_reuseport(md, &members, &slot, 0);
		count(slot, err, migrating);
		if (!err)
			return SK_PASS;
		if (err != -2)
			why = STEER_FB_REFUSED;
	}
	return fall_back(why);
}
