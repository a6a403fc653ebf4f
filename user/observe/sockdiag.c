// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery's sock_diag dumps: requests for the sockets of one (netns, family, protocol), with
 * a port filter the kernel runs when only some are wanted, and the parsing of the replies.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <net/if.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "observe/discovery_int.h"
#include "util.h"

int diag_socket(void)
{
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return s < 0 ? -errno : s;
}

/*
 * A filter the kernel runs on each socket of a dump (INET_DIAG_REQ_BYTECODE): the local port is
 * in one of the ranges. Per range, "port >= lo", "port <= hi" and a jump to the end (accept);
 * a failed comparison goes on to the next range, past the last one it rejects. S_GE and S_LE
 * rather than S_EQ: the kernel has had them from the start.
 */
static size_t port_filter(struct inet_diag_bc_op *op, const struct port_range *r, size_t nr)
{
	enum { OP = sizeof(*op), RANGE = 5 * OP };
	size_t left = nr * RANGE; /* bytes from this range's first op to the end */

	for (size_t i = 0; i < nr; i++, op += 5, left -= RANGE) {
		/* Only landing exactly on the end accepts: past it rejects. */
		bool last = i + 1 == nr;

		op[0] = (struct inet_diag_bc_op){INET_DIAG_BC_S_GE, 2 * OP,
						 (uint16_t)(last ? left + OP : RANGE)};
		op[1] = (struct inet_diag_bc_op){.no = r[i].lo};
		op[2] = (struct inet_diag_bc_op){INET_DIAG_BC_S_LE, 2 * OP,
						 (uint16_t)(last ? left - OP : RANGE - 2 * OP)};
		op[3] = (struct inet_diag_bc_op){.no = r[i].hi};
		op[4] = (struct inet_diag_bc_op){INET_DIAG_BC_JMP, OP, (uint16_t)(left - 4 * OP)};
	}
	return nr * RANGE;
}

/* Dump the sockets of one family and protocol; nr > 0 limits it to those local port ranges. */
static int diag_request(int sock, uint32_t seq, uint8_t family, uint8_t proto,
			const struct port_range *r, size_t nr)
{
	struct sockaddr_nl kernel = {.nl_family = AF_NETLINK};
	struct diag_msg {
		struct nlmsghdr nlh;
		struct inet_diag_req_v2 req;
		struct rtattr rta;
		struct inet_diag_bc_op bc[5 * FILTER_MAX_RANGES];
	} msg;
	size_t len = offsetof(struct diag_msg, rta);
	ssize_t n;

	if (nr > FILTER_MAX_RANGES)
		return -EINVAL;
	memset(&msg, 0, sizeof(msg));
	if (nr) {
		size_t bc_len = port_filter(msg.bc, r, nr);

		msg.rta.rta_type = INET_DIAG_REQ_BYTECODE;
		msg.rta.rta_len = (unsigned short)RTA_LENGTH(bc_len);
		len += RTA_SPACE(bc_len);
	}
	msg.nlh.nlmsg_len = (uint32_t)len;
	msg.nlh.nlmsg_type = SOCK_DIAG_BY_FAMILY;
	msg.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	msg.nlh.nlmsg_seq = seq;
	msg.req.sdiag_family = family;
	msg.req.sdiag_protocol = proto;
	msg.req.idiag_ext = 1 << (INET_DIAG_SKMEMINFO - 1);
	/* UDP sockets are only in the kernel's tables once bound: "all states" is "all bound". */
	msg.req.idiag_states = proto == IPPROTO_TCP ? 1u << TCP_LISTEN : ~0u;
	do {
		n = sendto(sock, &msg, len, 0, (struct sockaddr *)&kernel, sizeof(kernel));
	} while (n < 0 && errno == EINTR);
	if (n < 0)
		return -errno;
	return (size_t)n == len ? 0 : -EIO;
}

/* One datagram from the kernel; a truncated one would lose sockets, so it is an error. */
static ssize_t diag_recv(int sock, void *buf, size_t len)
{
	for (;;) {
		struct sockaddr_nl from;
		socklen_t fromlen = sizeof(from);
		ssize_t n = recvfrom(sock, buf, len, MSG_TRUNC, (struct sockaddr *)&from, &fromlen);

		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -errno;
		if ((size_t)n > len)
			return -EMSGSIZE;
		if (from.nl_pid == 0)
			return n;
	}
}

/* Attributes after the inet_diag_msg: the drop counter from SK_MEMINFO, IPV6_V6ONLY. */
static void parse_attrs(struct rt_listener *l, const struct nlmsghdr *nlh)
{
	const struct inet_diag_msg *m = NLMSG_DATA(nlh);
	int len = (int)(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	const struct rtattr *a = (const void *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		uint32_t drops;

		if (a->rta_type == INET_DIAG_SKV6ONLY && RTA_PAYLOAD(a) >= 1)
			l->v6only = *(const uint8_t *)RTA_DATA(a) != 0;
		if (a->rta_type != INET_DIAG_SKMEMINFO ||
		    RTA_PAYLOAD(a) < (SK_MEMINFO_DROPS + 1) * sizeof(uint32_t))
			continue;
		memcpy(&drops, (const uint32_t *)RTA_DATA(a) + SK_MEMINFO_DROPS, sizeof(drops));
		l->drops = drops;
	}
}

static int add_listener(struct ls_vec *into, const struct nlmsghdr *nlh, uint64_t netns,
			uint8_t proto)
{
	const struct inet_diag_msg *m = NLMSG_DATA(nlh);
	struct rt_listener *l;

	if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*m)))
		return -EBADMSG;
	if (m->idiag_family != AF_INET && m->idiag_family != AF_INET6)
		return 0;
	if (reserve_array(&into->v, &into->cap, into->n + 1, sizeof(*into->v)))
		return -ENOMEM;
	l = &into->v[into->n++];
	memset(l, 0, sizeof(*l));
	l->inode = m->idiag_inode;
	l->netns = netns;
	l->family = m->idiag_family;
	l->proto = proto;
	l->port = ntohs(m->id.idiag_sport);
	/* The rest of addr stays zero for IPv4 so sorting can compare all 16 bytes. */
	memcpy(l->addr, m->id.idiag_src, m->idiag_family == AF_INET ? 4 : 16);
	l->queue = m->idiag_rqueue;
	l->backlog = m->idiag_wqueue;
	l->drops = -1;
	/* The kernel reports IPV6_V6ONLY for every IPv6 socket (INET_DIAG_SKV6ONLY). */
	l->v6only = m->idiag_family == AF_INET6 ? 0 : -1;
	l->uid = m->idiag_uid;
	/* sk_bound_dev_if: the kernel reports it here, there is no attribute for it. */
	l->bound_ifindex = m->id.idiag_if;
	l->state = m->idiag_state;
	parse_attrs(l, nlh);
	return 0;
}

/* NLMSG_DONE carries the dump's final error, if any. */
static int dump_status(const struct nlmsghdr *nlh)
{
	int status = 0;

	if (nlh->nlmsg_len >= NLMSG_LENGTH(sizeof(status)))
		memcpy(&status, NLMSG_DATA(nlh), sizeof(status));
	return status < 0 ? status : 1;
}

/*
 * The messages of one datagram: 1 at the end of the dump, 0 when more is to come, or -errno.
 * Walked by offset rather than NLMSG_OK/NLMSG_NEXT, whose int length mixes signedness.
 */
static int parse_batch(struct rt_discovery *d, struct ls_vec *into, size_t len, uint32_t seq,
		       uint64_t netns, uint8_t proto)
{
	const struct nlmsghdr *nlh;
	int err;

	for (size_t off = 0; off + sizeof(*nlh) <= len; off += NLMSG_ALIGN(nlh->nlmsg_len)) {
		nlh = (const void *)(d->buf + off);
		if (nlh->nlmsg_len < sizeof(*nlh) || nlh->nlmsg_len > len - off)
			return -EBADMSG;
		if (nlh->nlmsg_seq != seq)
			continue; /* left over from an earlier request */
		switch (nlh->nlmsg_type) {
		case NLMSG_DONE:
			return dump_status(nlh);
		case NLMSG_ERROR: {
			const struct nlmsgerr *e = NLMSG_DATA(nlh);

			if (nlh->nlmsg_len < NLMSG_LENGTH(sizeof(*e)))
				return -EBADMSG;
			if (e->error)
				return e->error < 0 ? e->error : -EPROTO;
			continue;
		}
		case SOCK_DIAG_BY_FAMILY:
			if ((err = add_listener(into, nlh, netns, proto)))
				return err;
			continue;
		default:
			continue;
		}
	}
	return 0;
}

/* Append the sockets of one (netns, family, protocol), in nr port ranges if nr > 0, to into. */
int diag_dump(struct rt_discovery *d, struct ls_vec *into, int sock, uint64_t netns, uint8_t family,
	      uint8_t proto, const struct port_range *r, size_t nr)
{
	uint32_t seq = ++d->seq;
	int err = diag_request(sock, seq, family, proto, r, nr);

	size_t first = into->n;

	while (!err) {
		ssize_t n = diag_recv(sock, d->buf, RECV_BUF_LEN);

		if (n < 0)
			return (int)n;
		err = parse_batch(d, into, (size_t)n, seq, netns, proto);
	}
	if (err < 0)
		return err;
	/* Device names are the netns's own: ask through a socket that lives there. */
	for (size_t i = first; i < into->n; i++) {
		struct rt_listener *l = &into->v[i];
		struct ifreq ifr = {.ifr_ifindex = (int)l->bound_ifindex};

		if (l->bound_ifindex && !ioctl(sock, SIOCGIFNAME, &ifr))
			snprintf(l->bound_dev, sizeof(l->bound_dev), "%s", ifr.ifr_name);
	}
	return 0;
}

/*
 * A dump walks every socket of the kind on the host, in every netns: a host with many network
 * namespaces pays that for each of them. The kernel's per-netns counts tell the kinds a netns
 * has none of (ns_inuse(): TCP, UDP, TCP6, UDP6): those are not dumped.
 */
int dump_netns(struct rt_discovery *d, const struct ns_entry *e, struct ls_vec *into)
{
	static const uint8_t families[] = {AF_INET, AF_INET6};
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	uint32_t inuse[NS_INUSE_KINDS];
	bool counted = ns_inuse(d, e, inuse);
	int err;

	for (size_t f = 0; f < sizeof(families); f++) {
		for (size_t p = 0; p < sizeof(protos); p++) {
			if (!(d->protos & (1u << protos[p])))
				continue;
			if (counted && !inuse[f * 2 + p])
				continue;
			if ((err = diag_dump(d, into, e->diag, e->ino, families[f], protos[p], NULL,
					     0)))
				return err;
		}
	}
	return 0;
}

/*
 * Dump every netns we have a socket in that is dirty or was never dumped; the others' last
 * dumps stand. A failing dump leaves its socket in an unknown state, so it is closed (and made
 * again next scan): for our own netns the error is returned, another netns is only counted as
 * failed.
 */
int dump_all(struct rt_discovery *d)
{
	int err;

	d->ls.n = 0;
	for (size_t i = 0; i < d->nns; i++) {
		struct ns_entry *e = &d->ns[i];

		if (e->diag < 0)
			continue;
		if (e->dirty || !e->have_dump) {
			e->dump.n = 0;
			e->have_dump = !(err = dump_netns(d, e, &e->dump));
			if (err) {
				close_fd(&e->diag);
				if (i == 0 || err == -ENOMEM)
					return err;
				d->netns_failed++;
				continue;
			}
			e->dirty = false;
		}
		if (reserve_array(&d->ls.v, &d->ls.cap, d->ls.n + e->dump.n, sizeof(*d->ls.v)))
			return -ENOMEM;
		if (e->dump.n)
			memcpy(d->ls.v + d->ls.n, e->dump.v, e->dump.n * sizeof(*d->ls.v));
		d->ls.n += e->dump.n;
	}
	return 0;
}
