/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * What identifies a socket's group (netns, protocol, family, address, port, IPV6_V6ONLY, bound
 * device, owner), recorded the first time a socket is counted: a socket that closes before user
 * space lists it (a test's group that lives 10 ms, a crash loop) is still shown where it
 * belongs, with its final counts. user space hands every object accept.bpf.c's map before
 * loading it, and deletes an entry when it forgets the socket.
 */
#ifndef REUSETOP_SOCK_ID_BPF_H
#define REUSETOP_SOCK_ID_BPF_H

#include <bpf/bpf_core_read.h>
#include <bpf/bpf_helpers.h>
#include "maps.bpf.h"
#include "reusetop.h"
#include "sock.bpf.h"

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, __u64);
	__type(value, struct rt_sock_id);
} sock_ids SEC(".maps");

/*
 * The current group behind each reuseport_id: the inode of a socket of it (the one that made it,
 * when reusetop saw it being made). The kernel hands a dead group's id to the next new group, so
 * the id alone would merge successive groups on one address.
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, RT_MAX_SOCKETS);
	__type(key, __u32);
	__type(value, __u64);
} group_marks SEC(".maps");

/* The group sk (inode `inode`) is in, as struct rt_sock_id.group: 0 when none. */
static __always_inline __u64 sock_group(const struct sock *sk, __u64 inode)
{
	struct sock_reuseport *reuse = BPF_CORE_READ(sk, sk_reuseport_cb);
	__u32 id;
	__u64 *mark;

	if (!reuse)
		return 0;
	id = BPF_CORE_READ(reuse, reuseport_id);
	/* Its only socket made it (at bind or listen): a new group, whatever the id was before. */
	if (BPF_CORE_READ(reuse, num_socks) <= 1) {
		bpf_map_update_elem(&group_marks, &id, &inode, BPF_ANY);
		return inode;
	}
	mark = bpf_map_lookup_elem(&group_marks, &id);
	if (mark)
		return *mark;
	/* Made before reusetop attached: this member marks it for the others. */
	bpf_map_update_elem(&group_marks, &id, &inode, BPF_NOEXIST);
	mark = bpf_map_lookup_elem(&group_marks, &id);
	return mark ? *mark : inode;
}

/*
 * Record socket sk's identity under its inode, unless known: on the paths that create a socket's
 * or a task's entry only, never per event. The includer declares RT_HEALTH_MAP first.
 */
static __always_inline void note_sock_id(const struct sock *sk, __u64 inode)
{
	struct rt_sock_id id = {};

	if (!inode || bpf_map_lookup_elem(&sock_ids, &inode))
		return;
	id.netns = BPF_CORE_READ(sk, __sk_common.skc_net.net, ns.inum);
	id.family = BPF_CORE_READ(sk, __sk_common.skc_family);
	id.proto = (__u8)BPF_CORE_READ(sk, sk_protocol);
	id.state = BPF_CORE_READ(sk, __sk_common.skc_state);
	id.port = BPF_CORE_READ(sk, __sk_common.skc_num);
	id.bound_ifindex = BPF_CORE_READ(sk, __sk_common.skc_bound_dev_if);
	id.uid = BPF_CORE_READ(sk, sk_uid.val);
	id.group = sock_group(sk, inode);
	if (id.family == AF_INET6) {
		id.v6only = BPF_CORE_READ_BITFIELD_PROBED(sk, __sk_common.skc_ipv6only);
		BPF_CORE_READ_INTO(&id.addr, sk, __sk_common.skc_v6_rcv_saddr);
	} else {
		/* Four bytes: BPF_CORE_READ_INTO would read as many as the 16 of id.addr. */
		__u32 addr4 = BPF_CORE_READ(sk, __sk_common.skc_rcv_saddr);

		id.v6only = -1;
		__builtin_memcpy(id.addr, &addr4, sizeof(addr4));
	}
	if (bpf_map_update_elem(&sock_ids, &inode, &id, BPF_NOEXIST) &&
	    !bpf_map_lookup_elem(&sock_ids, &inode))
		health_inc(&health, RT_STAT_SOCK_FULL);
}

#endif
