// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery: sockets from NETLINK_SOCK_DIAG in every network namespace some process uses, and
 * their holders from /proc/PID/fd (like `ss -p`).
 *
 * Cost model (a scan runs every interval, possibly with 10,000+ sockets on the host):
 * - every scan: one readdir of /proc with one stat of /proc/PID/ns/net per process, and one
 *   sock_diag dump per (netns, family, protocol) on netlink sockets cached per netns;
 * - the /proc/PID/fd walk (one readlink per open fd on the host) only when the cached holders
 *   may be wrong: a socket we never looked for, a holder process that is gone, or the cache is
 *   older than HOLDERS_MAX_AGE_NS (a fork adds holders without any other visible change).
 *   "Gone" comes free from the netns stat: it fails for exited processes, zombies included
 *   (they have closed their fds but still answer kill(pid, 0)). A walk skips processes with as
 *   many open fds as at the last walk (one stat instead of a readlink per fd); it skips none
 *   when a new socket is then found with no holder, or every FULL_WALK_MAX_AGE_NS;
 * - sorting only when the kernel listed other sockets than last time (see struct rt_discovery).
 *
 * discovery_refresh(), for reusetop's view, dumps everything only every FULL_SCAN_MAX_AGE_NS or
 * when the set of sockets may have changed in a way it can see: a holder process exited, a
 * network namespace came or went, the probes counted a socket it does not know. In between it
 * dumps again only the sockets whose shown values can have changed: those the probes counted
 * something for, and those with a non-empty queue (a full accept queue drops SYNs uncounted),
 * with a port filter that the kernel runs, so that it fills and copies only those. With 10,000
 * idle listeners the full dump was most of what an interval cost.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sock_diag.h>

#include "observe/discovery.h"
#include "util.h"

/* discovery_refresh(): everything is dumped again at least this often. */
#define FULL_SCAN_MAX_AGE_NS (5ull * 1000000000ull)
/* Forks add holders without any other sign we could see: walk /proc at least this often. */
#define HOLDERS_MAX_AGE_NS (5ull * 1000000000ull)
/* A walk may skip processes whose fd count is unchanged; this often it skips none. */
#define FULL_WALK_MAX_AGE_NS (60ull * 1000000000ull)
/* The kernel fills dump skbs up to 32 KiB; more room only guards against future kernels. */
#define RECV_BUF_LEN (64 * 1024)
/* "socket:[" + 20 digits + "]" fits; anything longer is not a socket link. */
#define LINK_BUF_LEN 64
#define PROTOS_KNOWN ((1u << IPPROTO_TCP) | (1u << IPPROTO_UDP))

/* Port ranges one filtered dump can ask for (the kernel runs the filter on every socket). */
#define FILTER_MAX_RANGES 8

/* Local ports lo..hi, for a dump filtered in the kernel. */
struct port_range {
	uint16_t lo, hi;
};

enum mark { MARK_NONE, MARK_WANTED, MARK_SEEN };

/* Sockets as dumps list them. */
struct ls_vec {
	struct rt_listener *v;
	size_t n, cap;
};

/* A network namespace some process is in, with the sock_diag socket created inside it. */
struct ns_entry {
	uint64_t ino;
	int pid; /* a process seen in it by the last /proc walk: where to open it from */
	int nsfd; /* /proc/PID/ns/net, -1 for our own netns or when not opened (yet) */
	int diag; /* NETLINK_SOCK_DIAG socket bound to this netns, -1 when we could not make one */
	bool seen;
};

/* Holders of one socket: d->holders[first .. first + count). inode 0 marks a free slot. */
struct ino_slot {
	uint64_t inode;
	uint32_t first;
	uint32_t count;
};

/* Open addressing with linear probing, at most half full so probes stay short. */
struct ino_table {
	struct ino_slot *slots;
	size_t mask; /* capacity - 1; capacity is a power of two */
};

/* One socket fd found by the /proc walk, before grouping by inode. */
struct fd_ref {
	uint64_t inode;
	struct rt_holder h;
};

/* A process as the last walk saw it; its refs are refs[first .. first + nrefs). */
struct proc_entry {
	int pid;
	uint32_t nfds; /* open fds, 0 when unknown */
	uint32_t first;
	uint32_t nrefs;
};

struct rt_discovery {
	unsigned int protos;
	DIR *proc_dir; /* /proc: rewound for each walk, its fd is the base of every openat() */
	int proc_fd;
	int self_nsfd; /* our own netns, to return to after creating a socket in another */
	uint32_t seq;
	uint8_t *buf; /* netlink receive buffer, RECV_BUF_LEN */
	unsigned int netns_failed;

	struct ns_entry *ns; /* ns[0] is our own netns, never dropped */
	size_t nns, ns_cap;

	struct ls_vec ls; /* this scan's dumps, in the kernel's order */
	bool ns_changed; /* the last ns_refresh() added, dropped or entered a netns */

	/* discovery_refresh() */
	uint64_t full_scan_ns; /* end of the last full scan, 0 before the first */
	struct ls_vec part; /* a filtered dump */
	/* out[] by inode, the holders' table reused: a slot's first is the position in out[]. */
	struct ino_table out_index; /* built on demand after each full scan */
	bool have_index;
	uint8_t *marks; /* per out[] entry: enum mark */
	size_t marks_cap;
	struct port_range *ranges;
	size_t ranges_cap;
	uint64_t *ignored; /* sorted: active inodes the last full scan did not find */
	size_t nignored, ignored_cap;
	unsigned long full_scans; /* scan_all() runs: a refresh does not say if it fell back */

	/*
	 * What the caller gets: ls sorted. The kernel lists unchanged sockets in the same order,
	 * so the last scan's permutation (order) is kept and reused when the inodes match
	 * (prev_inodes): a 10,000 socket sort every second costs more than the check.
	 */
	struct rt_listener *out;
	size_t nout, out_cap;
	uint32_t *order; /* out[k] is ls[order[k]] */
	size_t order_cap;
	uint64_t *prev_inodes; /* ls[].inode at the last build_output() */
	size_t nprev, prev_cap;
	bool have_order; /* out, order and prev_inodes agree, and out's holders are current */

	/* The holder cache: what the last /proc walk found, grouped by inode. */
	struct ino_table table;
	struct rt_holder *holders;
	size_t holders_cap;
	uint32_t *ref_idx; /* scratch: refs sorted by inode */
	size_t ref_idx_cap;
	size_t nholder_pids; /* processes holding at least one socket we report */
	size_t npids_alive; /* how many of them the last netns walk saw alive */
	bool have_holders;
	uint64_t holders_time_ns; /* last walk */
	uint64_t full_time_ns; /* last walk that skipped no process */

	/* The last walk by process (sorted by pid), and the one being built. */
	struct proc_entry *procs, *next_procs;
	size_t nprocs, procs_cap, nnext_procs, next_procs_cap;
	struct fd_ref *refs, *next_refs;
	size_t nrefs, refs_cap, nnext_refs, next_refs_cap;
	uint64_t *fresh; /* sockets the cache had not seen before this walk */
	size_t nfresh, fresh_cap;
};

/* A decimal number made of digits only (a /proc entry or fd name), or -1. */
static long parse_num(const char *s)
{
	long v = 0;

	if (!*s)
		return -1;
	for (; *s; s++) {
		if (*s < '0' || *s > '9' || v > (INT32_MAX - 9) / 10)
			return -1;
		v = v * 10 + (*s - '0');
	}
	return v;
}

static void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- inode -> holders table ---- */

static size_t ino_hash(uint64_t ino)
{
	ino *= 0x9e3779b97f4a7c15ull;
	return (size_t)(ino ^ (ino >> 32));
}

/* Empty the table with room for n inodes. */
static int table_reset(struct ino_table *t, size_t n)
{
	size_t cap = 64;

	while (cap < 2 * n) {
		if (cap > SIZE_MAX / 2 / sizeof(*t->slots))
			return -ENOMEM;
		cap *= 2;
	}
	if (!t->slots || cap > t->mask + 1) {
		struct ino_slot *s = calloc(cap, sizeof(*s));

		if (!s)
			return -ENOMEM;
		free(t->slots);
		t->slots = s;
		t->mask = cap - 1;
		return 0;
	}
	memset(t->slots, 0, (t->mask + 1) * sizeof(*t->slots));
	return 0;
}

/* The slot of ino, or the free slot where it belongs. ino != 0, and the table is never full. */
static struct ino_slot *table_slot(const struct ino_table *t, uint64_t ino)
{
	size_t i = ino_hash(ino) & t->mask;

	while (t->slots[i].inode && t->slots[i].inode != ino)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

static struct ino_slot *table_find(const struct ino_table *t, uint64_t ino)
{
	struct ino_slot *s;

	if (!t->slots || !ino)
		return NULL;
	s = table_slot(t, ino);
	return s->inode ? s : NULL;
}

/* ---- processes of the last /proc walk ---- */

static int proc_cmp(const void *pa, const void *pb)
{
	return CMP3(((const struct proc_entry *)pa)->pid, ((const struct proc_entry *)pb)->pid);
}

static const struct proc_entry *find_proc(const struct rt_discovery *d, int pid)
{
	struct proc_entry key = {.pid = pid};

	return d->nprocs ? bsearch(&key, d->procs, d->nprocs, sizeof(key), proc_cmp) : NULL;
}

/* A process whose holders the netns walk checks for exit. */
static bool is_holder_pid(const struct rt_discovery *d, int pid)
{
	const struct proc_entry *p = find_proc(d, pid);

	return p && p->nrefs;
}

/* ---- network namespaces ---- */

static struct ns_entry *ns_find(struct rt_discovery *d, uint64_t ino)
{
	for (size_t i = 0; i < d->nns; i++)
		if (d->ns[i].ino == ino)
			return &d->ns[i];
	return NULL;
}

static int ns_add(struct rt_discovery *d, uint64_t ino, int pid, int nsfd, int diag)
{
	if (reserve_array(&d->ns, &d->ns_cap, d->nns + 1, sizeof(*d->ns)))
		return -ENOMEM;
	d->ns[d->nns++] = (struct ns_entry){ino, pid, nsfd, diag, true};
	return 0;
}

static void ns_drop(struct rt_discovery *d, size_t i)
{
	close_fd(&d->ns[i].nsfd);
	close_fd(&d->ns[i].diag);
	d->ns[i] = d->ns[--d->nns];
}

static int diag_socket(void)
{
	int s = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC, NETLINK_SOCK_DIAG);

	return s < 0 ? -errno : s;
}

/*
 * Open e's netns (if not yet) and create a sock_diag socket inside it: a netlink socket stays
 * in the netns it was created in, so it can be kept and reused by later scans. Returns 0 or
 * -errno for this netns only; *stuck is set when we could not return to our own netns.
 */
static int ns_enter(struct rt_discovery *d, struct ns_entry *e, bool *stuck)
{
	char path[32];
	struct stat st;
	int s;

	if (e->nsfd < 0) {
		snprintf(path, sizeof(path), "%d/ns/net", e->pid);
		e->nsfd = openat(d->proc_fd, path, O_RDONLY | O_CLOEXEC);
		if (e->nsfd < 0)
			return -errno;
		/* The process may have exited and its pid been reused since the stat. */
		if (fstat(e->nsfd, &st) || (uint64_t)st.st_ino != e->ino) {
			close_fd(&e->nsfd);
			return -ESTALE;
		}
	}
	if (setns(e->nsfd, CLONE_NEWNET))
		return -errno;
	s = diag_socket();
	if (setns(d->self_nsfd, CLONE_NEWNET)) {
		*stuck = true;
		if (s >= 0)
			close(s);
		return -errno;
	}
	if (s < 0)
		return s;
	e->diag = s;
	return 0;
}

/* Record that process pid is in netns ino; *last caches the previous hit (pids cluster). */
static int ns_note(struct rt_discovery *d, uint64_t ino, int pid, size_t *last)
{
	struct ns_entry *e;

	if (*last < d->nns && d->ns[*last].ino == ino)
		e = &d->ns[*last];
	else if (!(e = ns_find(d, ino)))
		return ns_add(d, ino, pid, -1, -1);
	if (!e->seen) {
		e->seen = true;
		e->pid = pid;
	}
	*last = (size_t)(e - d->ns);
	return 0;
}

/*
 * Refresh the set of network namespaces from /proc/PID/ns/net: add new ones, drop (and close
 * the sockets of) those no process is in any more, and try to enter those we have no socket in.
 * On the way, count the cached holder processes that are still alive.
 */
static int ns_refresh(struct rt_discovery *d)
{
	size_t last = 0;
	struct dirent *de;
	int err;

	d->npids_alive = 0;
	d->ns_changed = false;
	for (size_t i = 1; i < d->nns; i++)
		d->ns[i].seen = false;
	rewinddir(d->proc_dir);
	while ((de = readdir(d->proc_dir))) {
		char path[32];
		struct stat st;
		long pid = parse_num(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "%ld/ns/net", pid);
		/* Gone, or a process we may not inspect: it is simply not counted. */
		if (fstatat(d->proc_fd, path, &st, 0))
			continue;
		if (is_holder_pid(d, (int)pid))
			d->npids_alive++;
		if ((err = ns_note(d, (uint64_t)st.st_ino, (int)pid, &last)))
			return err;
	}
	d->netns_failed = 0;
	for (size_t i = d->nns; i-- > 1;) {
		struct ns_entry *e = &d->ns[i];
		bool stuck = false;

		if (!e->seen) {
			ns_drop(d, i);
			d->ns_changed = true;
			continue;
		}
		if (e->diag >= 0)
			continue;
		if (!(err = ns_enter(d, e, &stuck))) {
			d->ns_changed = true;
			continue;
		}
		if (stuck)
			return err;
		d->netns_failed++;
	}
	return 0;
}

/* ---- sock_diag ---- */

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

/* Attributes after the inet_diag_msg: the drop counter from SK_MEMINFO. */
static void parse_attrs(struct rt_listener *l, const struct nlmsghdr *nlh)
{
	const struct inet_diag_msg *m = NLMSG_DATA(nlh);
	int len = (int)(nlh->nlmsg_len - NLMSG_LENGTH(sizeof(*m)));
	const struct rtattr *a = (const void *)((const char *)m + NLMSG_ALIGN(sizeof(*m)));

	for (; RTA_OK(a, len); a = RTA_NEXT(a, len)) {
		uint32_t drops;

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
static int diag_dump(struct rt_discovery *d, struct ls_vec *into, int sock, uint64_t netns,
		     uint8_t family, uint8_t proto, const struct port_range *r, size_t nr)
{
	uint32_t seq = ++d->seq;
	int err = diag_request(sock, seq, family, proto, r, nr);

	while (!err) {
		ssize_t n = diag_recv(sock, d->buf, RECV_BUF_LEN);

		if (n < 0)
			return (int)n;
		err = parse_batch(d, into, (size_t)n, seq, netns, proto);
	}
	return err < 0 ? err : 0;
}

static int dump_netns(struct rt_discovery *d, const struct ns_entry *e)
{
	static const uint8_t families[] = {AF_INET, AF_INET6};
	static const uint8_t protos[] = {IPPROTO_TCP, IPPROTO_UDP};
	int err;

	for (size_t f = 0; f < sizeof(families); f++) {
		for (size_t p = 0; p < sizeof(protos); p++) {
			if (!(d->protos & (1u << protos[p])))
				continue;
			if ((err = diag_dump(d, &d->ls, e->diag, e->ino, families[f], protos[p],
					     NULL, 0)))
				return err;
		}
	}
	return 0;
}

/*
 * Dump every netns we have a socket in. A failing dump leaves its socket in an unknown state,
 * so it is closed (and made again next scan): for our own netns the error is returned, another
 * netns is only counted as failed.
 */
static int dump_all(struct rt_discovery *d)
{
	int err;

	d->ls.n = 0;
	for (size_t i = 0; i < d->nns; i++) {
		struct ns_entry *e = &d->ns[i];
		size_t before = d->ls.n;

		if (e->diag < 0 || !(err = dump_netns(d, e)))
			continue;
		close_fd(&e->diag);
		if (i == 0 || err == -ENOMEM)
			return err;
		d->ls.n = before;
		d->netns_failed++;
	}
	return 0;
}

/* ---- holders from /proc/PID/fd ---- */

static void read_comm(int proc_fd, int pid, char comm[RT_COMM_LEN])
{
	char path[32];
	ssize_t n = -1;
	int fd;

	snprintf(path, sizeof(path), "%d/comm", pid);
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd >= 0) {
		n = read(fd, comm, RT_COMM_LEN - 1);
		close(fd);
	}
	if (n < 0)
		n = 0;
	comm[n] = '\0';
	comm[strcspn(comm, "\n")] = '\0';
}

/* The inode of a "socket:[12345]" link, or 0. */
static uint64_t socket_inode(int dirfd, const char *name)
{
	char link[LINK_BUF_LEN];
	ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
	uint64_t ino = 0;
	const char *p;

	if (n < 9 || memcmp(link, "socket:[", 8))
		return 0;
	link[n] = '\0';
	for (p = link + 8; *p >= '0' && *p <= '9'; p++)
		ino = ino * 10 + (uint64_t)(*p - '0');
	return *p == ']' ? ino : 0;
}

static int add_ref(struct rt_discovery *d, uint64_t ino, const struct rt_holder *h)
{
	if (reserve_array(&d->next_refs, &d->next_refs_cap, d->nnext_refs + 1,
			  sizeof(*d->next_refs)))
		return -ENOMEM;
	d->next_refs[d->nnext_refs++] = (struct fd_ref){ino, *h};
	return 0;
}

/* Errors that mean we are out of resources rather than racing with an exiting process. */
static bool fatal_errno(int err)
{
	return err == ENOMEM || err == EMFILE || err == ENFILE;
}

/* Read the fds of one process that refer to sockets in the table. */
static int scan_pid(struct rt_discovery *d, int pid)
{
	struct rt_holder h = {.pid = pid};
	size_t before = d->nnext_refs;
	char path[32];
	struct dirent *de;
	DIR *dir;
	int dfd, err = 0;

	snprintf(path, sizeof(path), "%d/fd", pid);
	dfd = openat(d->proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return fatal_errno(errno) ? -errno : 0;
	if (!(dir = fdopendir(dfd))) {
		err = -errno;
		close(dfd);
		return err;
	}
	while ((de = readdir(dir))) {
		long fd = parse_num(de->d_name);
		uint64_t ino = fd < 0 ? 0 : socket_inode(dfd, de->d_name);

		if (!ino || !table_find(&d->table, ino))
			continue;
		/* comm only for processes that hold something we report. */
		if (d->nnext_refs == before)
			read_comm(d->proc_fd, pid, h.comm);
		h.fd = (int)fd;
		if ((err = add_ref(d, ino, &h)))
			break;
	}
	closedir(dir);
	return err;
}

/* The last walk's refs of a process, for the sockets that still exist. */
static int copy_refs(struct rt_discovery *d, const struct proc_entry *p)
{
	int err;

	for (uint32_t i = p->first; i < p->first + p->nrefs; i++)
		if (table_find(&d->table, d->refs[i].inode) &&
		    (err = add_ref(d, d->refs[i].inode, &d->refs[i].h)))
			return err;
	return 0;
}

static int add_proc(struct rt_discovery *d, int pid, uint32_t nfds, size_t first)
{
	if (reserve_array(&d->next_procs, &d->next_procs_cap, d->nnext_procs + 1,
			  sizeof(*d->next_procs)))
		return -ENOMEM;
	d->next_procs[d->nnext_procs++] =
		(struct proc_entry){pid, nfds, (uint32_t)first, (uint32_t)(d->nnext_refs - first)};
	return 0;
}

/*
 * One process for the walk. With may_skip, a process the last walk saw with as many open fds
 * as now keeps its refs from then: one stat instead of a readlink per fd. The count is the
 * st_size of /proc/PID/fd (Linux 6.2+; 0 before, which never skips).
 */
static int walk_proc(struct rt_discovery *d, int pid, bool may_skip)
{
	const struct proc_entry *old;
	size_t first = d->nnext_refs;
	uint32_t nfds;
	char path[32];
	struct stat st;
	int err;

	snprintf(path, sizeof(path), "%d/fd", pid);
	if (fstatat(d->proc_fd, path, &st, 0))
		return fatal_errno(errno) ? -errno : 0;
	nfds = st.st_size > 0 && st.st_size < UINT32_MAX ? (uint32_t)st.st_size : 0;
	old = may_skip && nfds ? find_proc(d, pid) : NULL;
	if (old && old->nfds == nfds)
		err = copy_refs(d, old);
	else
		err = scan_pid(d, pid);
	return err ? err : add_proc(d, pid, nfds, first);
}

static int ref_index_cmp(const void *pa, const void *pb, void *refs)
{
	const struct fd_ref *a = (const struct fd_ref *)refs + *(const uint32_t *)pa;
	const struct fd_ref *b = (const struct fd_ref *)refs + *(const uint32_t *)pb;
	int c;

	if ((c = CMP3(a->inode, b->inode)) || (c = CMP3(a->h.pid, b->h.pid)))
		return c;
	return CMP3(a->h.fd, b->h.fd);
}

/* Group the refs by inode into d->holders and point the table slots at them. */
static int build_holders(struct rt_discovery *d)
{
	size_t n = d->nrefs ? d->nrefs : 1;
	uint32_t *idx;

	if (d->nrefs > UINT32_MAX)
		return -EOVERFLOW;
	if (reserve_array(&d->holders, &d->holders_cap, n, sizeof(*d->holders)))
		return -ENOMEM;
	if (reserve_array(&d->ref_idx, &d->ref_idx_cap, n, sizeof(*d->ref_idx)))
		return -ENOMEM;
	idx = d->ref_idx;
	for (size_t i = 0; i < d->nrefs; i++)
		idx[i] = (uint32_t)i;
	if (d->nrefs)
		qsort_r(idx, d->nrefs, sizeof(*idx), ref_index_cmp, d->refs);
	for (size_t i = 0; i < d->nrefs; i++) {
		const struct fd_ref *r = &d->refs[idx[i]];
		/* Refs are only taken for inodes in the table: this finds their slot. */
		struct ino_slot *s = table_slot(&d->table, r->inode);

		if (!s->count)
			s->first = (uint32_t)i;
		s->count++;
		d->holders[i] = r->h;
	}
	d->nholder_pids = 0;
	for (size_t i = 0; i < d->nprocs; i++)
		d->nholder_pids += d->procs[i].nrefs > 0;
	return 0;
}

/* Empty the table and enter the sockets of this dump, with no holders yet. */
static int table_fill(struct rt_discovery *d)
{
	int err = table_reset(&d->table, d->ls.n);

	for (size_t i = 0; !err && i < d->ls.n; i++)
		if (d->ls.v[i].inode)
			table_slot(&d->table, d->ls.v[i].inode)->inode = d->ls.v[i].inode;
	return err;
}

static void swap_walk(struct rt_discovery *d)
{
	struct proc_entry *procs = d->procs;
	struct fd_ref *refs = d->refs;
	size_t cap;

	d->procs = d->next_procs;
	d->next_procs = procs;
	d->nprocs = d->nnext_procs;
	cap = d->procs_cap;
	d->procs_cap = d->next_procs_cap;
	d->next_procs_cap = cap;
	d->refs = d->next_refs;
	d->next_refs = refs;
	d->nrefs = d->nnext_refs;
	cap = d->refs_cap;
	d->refs_cap = d->next_refs_cap;
	d->next_refs_cap = cap;
}

/*
 * Walk /proc for the holders of the sockets in d->ls. Only processes are walked, not their
 * threads: threads share the fd table. Inodes nobody holds (kernel sockets, a holder in a pid
 * namespace we cannot see) stay in the table with no holders, so they do not force a walk
 * every scan.
 */
static int scan_holders(struct rt_discovery *d, bool may_skip)
{
	struct dirent *de;
	int err;

	/* The holders array moves: out[] must be rebuilt, not reused. */
	d->have_holders = d->have_order = false;
	d->nnext_procs = d->nnext_refs = 0;
	if ((err = table_fill(d)))
		return err;
	rewinddir(d->proc_dir);
	while ((de = readdir(d->proc_dir))) {
		long pid = parse_num(de->d_name);

		if (pid > 0 && (err = walk_proc(d, (int)pid, may_skip)))
			return err;
	}
	swap_walk(d);
	/* /proc lists processes by pid, but the lookups must not depend on it. */
	if (d->nprocs)
		qsort(d->procs, d->nprocs, sizeof(*d->procs), proc_cmp);
	if ((err = build_holders(d)))
		return err;
	d->npids_alive = d->nholder_pids;
	d->have_holders = true;
	d->holders_time_ns = mono_ns();
	if (!may_skip)
		d->full_time_ns = d->holders_time_ns;
	return 0;
}

/* The sockets of this dump the holder cache has never looked for. */
static int collect_fresh(struct rt_discovery *d)
{
	d->nfresh = 0;
	for (size_t i = 0; i < d->ls.n; i++) {
		if (!d->ls.v[i].inode || table_find(&d->table, d->ls.v[i].inode))
			continue;
		if (reserve_array(&d->fresh, &d->fresh_cap, d->nfresh + 1, sizeof(*d->fresh)))
			return -ENOMEM;
		d->fresh[d->nfresh++] = d->ls.v[i].inode;
	}
	return 0;
}

static bool fresh_unheld(const struct rt_discovery *d)
{
	for (size_t i = 0; i < d->nfresh; i++) {
		const struct ino_slot *s = table_find(&d->table, d->fresh[i]);

		if (!s || !s->count)
			return true;
	}
	return false;
}

/*
 * Walk /proc again, skipping processes whose fd count did not change, unless a full walk is
 * due. A new socket the skipping walk finds no holder for may belong to a process that closed
 * as many fds as it opened: then walk everything.
 */
static int refresh_holders(struct rt_discovery *d)
{
	bool full = !d->have_holders || mono_ns() - d->full_time_ns >= FULL_WALK_MAX_AGE_NS;
	int err;

	if (full)
		return scan_holders(d, false);
	if ((err = collect_fresh(d)) || (err = scan_holders(d, true)))
		return err;
	return fresh_unheld(d) ? scan_holders(d, false) : 0;
}

/*
 * Whether the cached holders may be wrong for the sockets just dumped. same: the dump listed
 * the sockets of the last scan, which were all looked up already.
 */
static bool holders_stale(const struct rt_discovery *d, bool same)
{
	if (!d->have_holders || mono_ns() - d->holders_time_ns >= HOLDERS_MAX_AGE_NS ||
	    d->npids_alive < d->nholder_pids)
		return true;
	if (same)
		return false;
	for (size_t i = 0; i < d->ls.n; i++)
		if (d->ls.v[i].inode && !table_find(&d->table, d->ls.v[i].inode))
			return true;
	return false;
}

/* ---- sorted output ---- */

static int listener_cmp(const void *pa, const void *pb)
{
	const struct rt_listener *a = pa, *b = pb;
	int c;

	if ((c = CMP3(a->netns, b->netns)) || (c = CMP3(a->proto, b->proto)) ||
	    (c = CMP3(a->family, b->family)))
		return c;
	if ((c = memcmp(a->addr, b->addr, sizeof(a->addr))))
		return c;
	if ((c = CMP3(a->port, b->port)))
		return c;
	return CMP3(a->inode, b->inode);
}

static int index_cmp(const void *pa, const void *pb, void *ls)
{
	const struct rt_listener *l = ls;

	return listener_cmp(&l[*(const uint32_t *)pa], &l[*(const uint32_t *)pb]);
}

/* Whether this dump listed the same sockets in the same order as the last one. */
static bool same_sockets(const struct rt_discovery *d)
{
	if (!d->have_order || d->ls.n != d->nprev)
		return false;
	for (size_t i = 0; i < d->ls.n; i++)
		if (d->ls.v[i].inode != d->prev_inodes[i])
			return false;
	return true;
}

/*
 * Refresh out[] in the last scan's order, keeping its holders: only the counters changed.
 * False when the order no longer holds (a connect() gave a UDP socket a local address).
 */
static bool reuse_order(struct rt_discovery *d)
{
	for (size_t k = 0; k < d->nout; k++) {
		struct rt_listener *o = &d->out[k];
		const struct rt_holder *holders = o->holders;
		size_t nholders = o->nholders;

		*o = d->ls.v[d->order[k]];
		o->holders = holders;
		o->nholders = nholders;
		if (k && listener_cmp(o - 1, o) >= 0)
			return false;
	}
	return true;
}

static void attach_holders(const struct rt_discovery *d, struct rt_listener *l)
{
	const struct ino_slot *s = table_find(&d->table, l->inode);

	l->nholders = s ? s->count : 0;
	l->holders = s && s->count ? &d->holders[s->first] : NULL;
}

static int reserve_output(struct rt_discovery *d)
{
	size_t n = d->ls.n ? d->ls.n : 1;

	if (n > UINT32_MAX)
		return -EOVERFLOW;
	if (reserve_array(&d->out, &d->out_cap, n, sizeof(*d->out)))
		return -ENOMEM;
	if (reserve_array(&d->order, &d->order_cap, n, sizeof(*d->order)))
		return -ENOMEM;
	if (reserve_array(&d->prev_inodes, &d->prev_cap, n, sizeof(*d->prev_inodes)))
		return -ENOMEM;
	return 0;
}

/* Sort this dump into out[] with its holders, and remember the order for the next scan. */
static int build_output(struct rt_discovery *d)
{
	int err;

	d->have_order = false;
	if ((err = reserve_output(d)))
		return err;
	for (size_t i = 0; i < d->ls.n; i++) {
		d->order[i] = (uint32_t)i;
		d->prev_inodes[i] = d->ls.v[i].inode;
	}
	if (d->ls.n)
		qsort_r(d->order, d->ls.n, sizeof(*d->order), index_cmp, d->ls.v);
	d->nout = 0;
	for (size_t k = 0; k < d->ls.n; k++) {
		const struct rt_listener *l = &d->ls.v[d->order[k]];

		/* A dump is read in parts: a socket moving in the kernel's table meanwhile can
		 * be listed twice. */
		if (d->nout && !listener_cmp(&d->out[d->nout - 1], l))
			continue;
		d->order[d->nout] = d->order[k];
		d->out[d->nout] = *l;
		attach_holders(d, &d->out[d->nout++]);
	}
	d->nprev = d->ls.n;
	d->have_order = true;
	return 0;
}

/* Everything after ns_refresh(): dump every netns, holders if stale, and the sorted output. */
static int scan_all(struct rt_discovery *d)
{
	bool same;
	int err;

	d->have_index = false;
	d->full_scans++;
	if ((err = dump_all(d)))
		return err;
	same = same_sockets(d);
	if (holders_stale(d, same)) {
		if ((err = refresh_holders(d)))
			return err;
		same = false;
	}
	if ((!same || !reuse_order(d)) && (err = build_output(d)))
		return err;
	return 0;
}

/* Our own sock_diag socket is closed when a dump fails: make it again. */
static int own_diag_socket(struct rt_discovery *d)
{
	int s;

	if (d->ns[0].diag >= 0)
		return 0;
	if ((s = diag_socket()) < 0)
		return s;
	d->ns[0].diag = s;
	return 0;
}

/* ---- discovery_refresh(): dump again only what can have changed ---- */

static int build_index(struct rt_discovery *d)
{
	int err = table_reset(&d->out_index, d->nout);

	if (err)
		return err;
	/* Sockets without an inode (kernel sockets) cannot be told apart: never refreshed alone. */
	for (size_t k = 0; k < d->nout; k++) {
		struct ino_slot *slot;

		if (!d->out[k].inode)
			continue;
		slot = table_slot(&d->out_index, d->out[k].inode);
		*slot = (struct ino_slot){
			.inode = d->out[k].inode, .first = (uint32_t)k, .count = 1};
	}
	d->have_index = true;
	return 0;
}

/* The position of inode in out[], or -1. */
static long out_pos(const struct rt_discovery *d, uint64_t inode)
{
	const struct ino_slot *slot = table_find(&d->out_index, inode);

	return slot ? (long)slot->first : -1;
}

static int u64_cmp(const void *pa, const void *pb)
{
	return CMP3(*(const uint64_t *)pa, *(const uint64_t *)pb);
}

static bool ignored(const struct rt_discovery *d, uint64_t inode)
{
	return d->nignored && bsearch(&inode, d->ignored, d->nignored, sizeof(inode), u64_cmp);
}

/*
 * After a full scan: the active inodes it did not find either (a netns we cannot enter, a
 * socket that is not a listener). They must not make every following refresh a full one.
 */
static int note_ignored(struct rt_discovery *d, const uint64_t *active, size_t nactive)
{
	int err;

	d->nignored = 0;
	if (!nactive)
		return 0;
	if (!d->have_index && (err = build_index(d)))
		return err;
	for (size_t i = 0; i < nactive; i++) {
		if (out_pos(d, active[i]) >= 0)
			continue;
		if (reserve_array(&d->ignored, &d->ignored_cap, d->nignored + 1,
				  sizeof(*d->ignored)))
			return -ENOMEM;
		d->ignored[d->nignored++] = active[i];
	}
	if (d->nignored)
		qsort(d->ignored, d->nignored, sizeof(*d->ignored), u64_cmp);
	return 0;
}

static int port_cmp(const void *pa, const void *pb)
{
	return CMP3(((const struct port_range *)pa)->lo, ((const struct port_range *)pb)->lo);
}

/*
 * The ports of the wanted sockets in out[first, end) (one netns, protocol and family) as sorted
 * ranges of consecutive ports: *nr of them, or -ENOMEM.
 */
static int wanted_ranges(struct rt_discovery *d, size_t first, size_t end, size_t *nr)
{
	size_t n = 0;

	for (size_t k = first; k < end; k++) {
		if (d->marks[k] != MARK_WANTED)
			continue;
		if (reserve_array(&d->ranges, &d->ranges_cap, n + 1, sizeof(*d->ranges)))
			return -ENOMEM;
		d->ranges[n++] = (struct port_range){d->out[k].port, d->out[k].port};
	}
	*nr = 0;
	if (!n)
		return 0;
	qsort(d->ranges, n, sizeof(*d->ranges), port_cmp);
	for (size_t i = 0; i < n; i++) {
		struct port_range *last = *nr ? &d->ranges[*nr - 1] : NULL;

		if (last && d->ranges[i].lo <= (uint32_t)last->hi + 1)
			last->hi = d->ranges[i].hi > last->hi ? d->ranges[i].hi : last->hi;
		else
			d->ranges[(*nr)++] = d->ranges[i];
	}
	return 0;
}

/* Whether a filtered dump's socket is still the one out[] has (a UDP connect() moves it). */
static bool same_place(const struct rt_listener *a, const struct rt_listener *b)
{
	return a->netns == b->netns && a->proto == b->proto && a->family == b->family &&
	       a->port == b->port && !memcmp(a->addr, b->addr, sizeof(a->addr));
}

/*
 * Dump again the wanted sockets of out[first, end), all of one netns, protocol and family, and
 * update them in place. *full when that is not enough: a wanted socket is gone, or the dump
 * found one out[] does not have.
 */
static int refresh_run(struct rt_discovery *d, size_t first, size_t end, bool *full)
{
	const struct rt_listener *l = &d->out[first];
	struct ns_entry *e = ns_find(d, l->netns);
	size_t nr;
	int err;

	if ((err = wanted_ranges(d, first, end, &nr)) || !nr)
		return err;
	if (nr > FILTER_MAX_RANGES || !e || e->diag < 0) {
		*full = true;
		return 0;
	}
	d->part.n = 0;
	err = diag_dump(d, &d->part, e->diag, e->ino, l->family, l->proto, d->ranges, nr);
	if (err) {
		/* As in dump_all(): a failed dump's socket is made again, by the full scan. */
		close_fd(&e->diag);
		*full = true;
		return err == -ENOMEM ? err : 0;
	}
	for (size_t i = 0; i < d->part.n; i++) {
		const struct rt_listener *p = &d->part.v[i];
		long k = p->inode ? out_pos(d, p->inode) : -1;
		struct rt_listener *o;

		if (!p->inode)
			continue;
		if (k < 0 || !same_place(p, &d->out[k])) {
			*full = true;
			return 0;
		}
		o = &d->out[k];
		o->state = p->state;
		o->queue = p->queue;
		o->backlog = p->backlog;
		o->drops = p->drops;
		o->uid = p->uid;
		o->bound_ifindex = p->bound_ifindex;
		d->marks[k] = MARK_SEEN;
	}
	for (size_t k = first; k < end; k++) {
		if (d->marks[k] == MARK_WANTED) {
			*full = true;
			return 0;
		}
	}
	return 0;
}

/*
 * Refresh the sockets in out[] that active names or whose queue is not empty. *full when a full
 * scan is needed instead.
 */
static int refresh_some(struct rt_discovery *d, const uint64_t *active, size_t nactive, bool *full)
{
	size_t first, end;
	uint8_t *m;
	int err;

	if (!d->have_index && (err = build_index(d)))
		return err;
	if (reserve_array(&d->marks, &d->marks_cap, d->nout ? d->nout : 1, sizeof(*d->marks)))
		return -ENOMEM;
	m = d->marks;
	memset(m, MARK_NONE, d->nout);
	for (size_t i = 0; i < nactive; i++) {
		long k = out_pos(d, active[i]);

		if (k >= 0) {
			m[k] = MARK_WANTED;
		} else if (!ignored(d, active[i])) {
			*full = true; /* a socket we do not know yet, and it is being used */
			return 0;
		}
	}
	for (size_t k = 0; k < d->nout; k++)
		if (d->out[k].queue && d->out[k].inode)
			m[k] = MARK_WANTED;
	/* out[] is sorted by netns, protocol and family first: one filtered dump per run. */
	for (first = 0; first < d->nout && !*full; first = end) {
		const struct rt_listener *a = &d->out[first];

		for (end = first + 1;
		     end < d->nout && d->out[end].netns == a->netns &&
		     d->out[end].proto == a->proto && d->out[end].family == a->family;
		     end++)
			;
		if ((err = refresh_run(d, first, end, full)))
			return err;
	}
	return 0;
}

/* ---- public interface ---- */

int discovery_scan(struct rt_discovery *d, const struct rt_listener **out, size_t *n)
{
	int err;

	*out = NULL;
	*n = 0;
	if ((err = own_diag_socket(d)) || (err = ns_refresh(d)) || (err = scan_all(d)))
		return err;
	d->full_scan_ns = mono_ns();
	*out = d->out;
	*n = d->nout;
	return 0;
}

int discovery_refresh(struct rt_discovery *d, const uint64_t *active, size_t nactive,
		      const struct rt_listener **out, size_t *n)
{
	bool full;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = own_diag_socket(d)) || (err = ns_refresh(d)))
		return err;
	full = !d->full_scan_ns || mono_ns() - d->full_scan_ns >= FULL_SCAN_MAX_AGE_NS ||
	       d->ns_changed || d->npids_alive < d->nholder_pids;
	if (!full && (err = refresh_some(d, active, nactive, &full)))
		return err;
	if (full) {
		if ((err = scan_all(d)) || (err = note_ignored(d, active, nactive)))
			return err;
		d->full_scan_ns = mono_ns();
	}
	*out = d->out;
	*n = d->nout;
	return 0;
}

unsigned int discovery_netns_failed(const struct rt_discovery *d)
{
	return d->netns_failed;
}

unsigned long discovery_full_scans(const struct rt_discovery *d)
{
	return d->full_scans;
}

int discovery_new(struct rt_discovery **out, unsigned int protos)
{
	struct rt_discovery *d;
	struct stat st;
	int err, diag;

	*out = NULL;
	if (!protos || (protos & ~PROTOS_KNOWN))
		return -EINVAL;
	if (!(d = calloc(1, sizeof(*d))))
		return -ENOMEM;
	d->protos = protos;
	d->self_nsfd = -1;
	if (!(d->proc_dir = opendir("/proc")) || !(d->buf = malloc(RECV_BUF_LEN)))
		goto fail_errno;
	d->proc_fd = dirfd(d->proc_dir);
	d->self_nsfd = open("/proc/self/ns/net", O_RDONLY | O_CLOEXEC);
	if (d->self_nsfd < 0 || fstat(d->self_nsfd, &st))
		goto fail_errno;
	if ((diag = diag_socket()) < 0) {
		err = diag;
		goto fail;
	}
	if ((err = ns_add(d, (uint64_t)st.st_ino, getpid(), -1, diag))) {
		close(diag);
		goto fail;
	}
	*out = d;
	return 0;
fail_errno:
	err = -errno;
fail:
	discovery_free(d);
	return err;
}

void discovery_free(struct rt_discovery *d)
{
	if (!d)
		return;
	while (d->nns)
		ns_drop(d, d->nns - 1);
	close_fd(&d->self_nsfd);
	if (d->proc_dir)
		closedir(d->proc_dir);
	free(d->ns);
	free(d->ls.v);
	free(d->out);
	free(d->order);
	free(d->prev_inodes);
	free(d->table.slots);
	free(d->holders);
	free(d->ref_idx);
	free(d->procs);
	free(d->next_procs);
	free(d->refs);
	free(d->next_refs);
	free(d->fresh);
	free(d->part.v);
	free(d->out_index.slots);
	free(d->marks);
	free(d->ranges);
	free(d->ignored);
	free(d->buf);
	free(d);
}
