/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Discovery: which listening sockets exist (NETLINK_SOCK_DIAG, in every network namespace that
 * some process on the host uses) and which processes hold them (by socket inode, like `ss -p`).
 * Discovery never prints and never touches BPF maps.
 */
#ifndef REUSETOP_DISCOVERY_H
#define REUSETOP_DISCOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define RT_COMM_LEN 16

/* One process file descriptor that refers to a socket. */
struct rt_holder {
	int pid;
	int fd;
	char comm[RT_COMM_LEN];
	/*
	 * The process waits for this socket now: it is in one of its epoll sets, or one of its
	 * threads is blocked in accept or a receive on it. Only looked for when several processes
	 * hold the socket (nginx's master and workers all hold every socket; each polls its own).
	 */
	bool waits;
};

/* One socket as sock_diag reports it. */
struct rt_listener {
	uint64_t inode;
	uint64_t netns; /* inode of the network namespace (as in /proc/PID/ns/net) */
	uint8_t family; /* AF_INET or AF_INET6 */
	uint8_t proto; /* IPPROTO_TCP (listeners) or IPPROTO_UDP (bound sockets) */
	uint16_t port; /* local port, host byte order */
	uint8_t addr[16]; /* local address, network byte order; IPv4 uses the first 4 bytes */
	uint8_t state; /* TCP_LISTEN; UDP: TCP_CLOSE unconnected, TCP_ESTABLISHED connected */
	uint32_t queue; /* TCP listener: accept queue length now; UDP: receive queue bytes */
	uint32_t backlog; /* TCP listener: backlog limit; UDP: send queue bytes */
	int64_t drops; /* SK_MEMINFO_DROPS, or -1 when the kernel did not report it */
	uint32_t uid;
	uint32_t bound_ifindex; /* SO_BINDTODEVICE, 0 when none */
	char bound_dev[16]; /* its name in the socket's netns, "" when none (or not found) */
	int8_t v6only; /* IPv6: IPV6_V6ONLY (1) or not (0); IPv4: -1 */
	bool closed; /* not listed by sock_diag any more (observe/closed.h): final counts */
	/* Closed: the reuseport group it was in (struct rt_sock_id.group), else its own inode. */
	uint64_t group_mark;
	size_t nholders; /* processes/fds holding it, sorted by pid then fd */
	const struct rt_holder *holders; /* owned by the discovery object, valid until next scan */
};

/*
 * The order of groups: 0 for sockets the kernel puts in one reuseport group. Besides netns,
 * protocol, family, address and port, the kernel only groups sockets that agree on
 * IPV6_V6ONLY, the bound device and the owner (reuseport_match(), inet_csk_bind_conflict()).
 * Sockets that closed are a group of their own, after the live one: a restarted server's old
 * sockets are not members of the group its new ones form.
 */
static inline int listener_group_cmp(const struct rt_listener *a, const struct rt_listener *b)
{
#define RT_LCMP(f) ((a->f > b->f) - (a->f < b->f))
	int c;

	if ((c = RT_LCMP(netns)) || (c = RT_LCMP(proto)) || (c = RT_LCMP(family)))
		return c;
	if ((c = memcmp(a->addr, b->addr, sizeof(a->addr))))
		return c;
	if ((c = RT_LCMP(port)) || (c = RT_LCMP(v6only)) || (c = RT_LCMP(bound_ifindex)) ||
	    (c = RT_LCMP(uid)))
		return c;
	if ((c = RT_LCMP(closed)))
		return c;
	/* Successive groups on one address that closed are as many groups. */
	return RT_LCMP(group_mark);
#undef RT_LCMP
}

struct rt_discovery;

/*
 * protos: bitmask of (1 << IPPROTO_TCP) and/or (1 << IPPROTO_UDP). TCP means sockets in
 * TCP_LISTEN; UDP means all bound UDP sockets.
 */
int discovery_new(struct rt_discovery **out, unsigned int protos);
/*
 * Scan now. *out points to an array owned by d, sorted by (netns, proto, family, addr, port,
 * inode), valid until the next scan or free. Returns 0 or -errno.
 */
int discovery_scan(struct rt_discovery *d, const struct rt_listener **out, size_t *n);
/*
 * The same for a view refreshed every interval, for less: everything is dumped again only every
 * few seconds (FULL_SCAN_MAX_AGE_NS in discovery.c) and whenever a holder process exited, a
 * network namespace came or went, or active names a socket the last full scan did not find; in
 * between, only the sockets in active (sorted inodes whose probe counters moved since the last
 * call) and those with a non-empty queue. So a listener that is idle when it opens or closes
 * takes up to those few seconds to appear or leave, unless its process exits.
 */
int discovery_refresh(struct rt_discovery *d, const uint64_t *active, size_t nactive,
		      const struct rt_listener **out, size_t *n);
/* Number of network namespaces the last scan could not enter (permission, race): for "degraded". */
unsigned int discovery_netns_failed(const struct rt_discovery *d);
/*
 * Full scans so far, by discovery_scan() and by discovery_refresh() when it dumped everything:
 * the output does not say which path a refresh took, and only this tells a test.
 */
unsigned long discovery_full_scans(const struct rt_discovery *d);
void discovery_free(struct rt_discovery *d);

#endif
