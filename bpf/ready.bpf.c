// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * The tracepoint tier's one program on sock:sk_data_ready. That hook fires for every socket's
 * incoming data on the host, so one program reads the socket's family, protocol and state once
 * and serves everyone who needs the hook:
 *
 *   TCP listener  a connection was queued: count it (enqueue.bpf.h) and open the wakeup
 *                 bracket (bracket.bpf.h), since the listener's callback runs right after
 *   UDP socket    a datagram was queued: count it for server sockets (udp_count.bpf.h)
 *   any other     close the wakeup bracket: another socket's callback runs now
 *
 * The hook is younger than bpf_rdonly_cast (core_fixes.bpf.h has both): the socket is read with
 * plain loads. Its maps are accept.bpf.c's, wakeup.bpf.c's and udp.bpf.c's: user space hands
 * their fds over before loading, and switches each part on (the flags below) once its object is
 * attached.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "reusetop.h"
#include "maps.bpf.h"
#include "sock.bpf.h"
#include "core_fixes.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

/* Switched on by user space as the objects whose maps they fill attach. */
bool count_enqueues, open_brackets, count_datagrams;

RT_HEALTH_MAP;

#include "enqueue.bpf.h"
#include "bracket.bpf.h"
#include "udp_count.bpf.h"

SEC("raw_tracepoint/sk_data_ready")
int raw_tp_sk_data_ready(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = RT_CAST(ctx->args[0], struct sock);
	__u16 family = sk->__sk_common.skc_family, proto;
	__u64 inode;

	if (family != AF_INET && family != AF_INET6)
		goto other_socket;
	proto = sk->sk_protocol;
	/* On a listener, sk_data_ready runs once per connection put on its queue. */
	if (proto == IPPROTO_TCP && sk->__sk_common.skc_state == TCP_LISTEN) {
		inode = sk_inode_direct(sk);
		if (count_enqueues)
			count_enqueue(sk, inode, sk->sk_ack_backlog);
		if (open_brackets && inode)
			open_bracket(inode, true);
		return 0;
	}
	if (proto == IPPROTO_UDP && count_datagrams && udp_server_port(sk))
		count_udp_enqueue(sk);
other_socket:
	/* Another socket's callback: a listener's that ran before on this CPU is over. */
	if (open_brackets)
		close_bracket();
	return 0;
}
