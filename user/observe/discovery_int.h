/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the pieces of discovery share: struct rt_discovery, and the functions one piece calls in
 * another. netns.c finds and enters network namespaces, sockdiag.c dumps their sockets,
 * holders.c attributes sockets to processes from /proc (with the inode table), waiters.c tells
 * which of several holders waits for a socket, and discovery.c runs the scans (the cost model is
 * there). Only these five include it.
 */
#ifndef REUSETOP_DISCOVERY_INT_H
#define REUSETOP_DISCOVERY_INT_H

#include <dirent.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <unistd.h>

#include "observe/discovery.h"
#include "observe/waiters.h"

/* The kernel fills dump skbs up to 32 KiB; more room only guards against future kernels. */
#define RECV_BUF_LEN (64 * 1024)

/* Port ranges one filtered dump can ask for (the kernel runs the filter on every socket). */
#define FILTER_MAX_RANGES 8

/* Local ports lo..hi, for a dump filtered in the kernel. */
struct port_range {
	uint16_t lo, hi;
};

/* Sockets as dumps list them. */
struct ls_vec {
	struct rt_listener *v;
	size_t n, cap;
};

/*
 * Kinds of sockets the kernel counts per netns (ns_inuse()): TCP, UDP, TCP6, UDP6, in the
 * order of family (inet, inet6) then protocol (TCP, UDP).
 */
#define NS_INUSE_KINDS 4

/* A network namespace some process is in, with the sock_diag socket created inside it. */
struct ns_entry {
	uint64_t ino;
	int pid; /* a process seen in it by the last /proc walk: where to open it from */
	int nsfd; /* /proc/PID/ns/net, -1 for our own netns or when not opened (yet) */
	int diag; /* NETLINK_SOCK_DIAG socket bound to this netns, -1 when we could not make one */
	bool seen;
	uint64_t added_ns; /* when discovery first saw it (CLOCK_MONOTONIC) */
	/* ns_inuse() before the last dump of it as a young netns; inuse_known: they were read */
	uint32_t inuse[NS_INUSE_KINDS];
	bool inuse_known;
	/* Its sockets as its last dump listed them (have_dump), reused while it is not dirty. */
	struct ls_vec dump;
	bool have_dump;
	bool dirty; /* the next scan dumps it again */
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

/*
 * A process as the last walk saw it; its refs are refs[first .. first + nrefs), its epoll
 * descriptors eps[first_ep .. first_ep + neps).
 */
struct proc_entry {
	int pid;
	uint32_t nfds; /* open fds, 0 when unknown */
	uint32_t first;
	uint32_t nrefs;
	uint32_t first_ep;
	uint32_t neps;
	bool alive; /* seen by the last netns walk (holders only) */
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
	uint8_t *marks; /* per out[] entry: enum mark (discovery.c) */
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
	int *eps, *next_eps; /* epoll descriptors of the processes that hold sockets */
	size_t neps, eps_cap, nnext_eps, next_eps_cap;
	uint64_t *fresh; /* sockets the cache had not seen before this walk */
	size_t nfresh, fresh_cap;
	/* waiters.c: processes holding a socket with other holders, and what one waits for. */
	int *shared_pids;
	size_t shared_pids_cap;
	struct rt_waits waits;
};

/* A decimal number made of digits only (a /proc entry or fd name), or -1. */
static inline long parse_num(const char *s)
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

static inline void close_fd(int *fd)
{
	if (*fd >= 0)
		close(*fd);
	*fd = -1;
}

/* ---- holders.c: the inode table, and the holders of each socket ---- */

int table_reset(struct ino_table *t, size_t n);
struct ino_slot *table_slot(const struct ino_table *t, uint64_t ino);
/* The slot of ino, or NULL when it is not in the table. */
struct ino_slot *table_find(const struct ino_table *t, uint64_t ino);
/* Whether pid holds one of our sockets; if so, it is marked alive (proc_entry.alive). */
bool holder_alive(struct rt_discovery *d, int pid);
/* Walk /proc again for the holders of the sockets in d->ls (the cache's refresh). */
int refresh_holders(struct rt_discovery *d);
bool holders_stale(const struct rt_discovery *d, bool same);

/* ---- waiters.c: which holders of a shared socket wait for it (rt_holder.waits) ---- */
int mark_waiters(struct rt_discovery *d);
const struct proc_entry *find_proc(const struct rt_discovery *d, int pid);

/* ---- netns.c: the network namespaces processes are in ---- */

struct ns_entry *ns_find(struct rt_discovery *d, uint64_t ino);
int ns_add(struct rt_discovery *d, uint64_t ino, int pid, int nsfd, int diag);
/* Close ns[i]'s fds and take it out of d->ns (the last entry takes its place). */
void ns_drop(struct rt_discovery *d, size_t i);
int ns_refresh(struct rt_discovery *d);
/*
 * The sockets of each kind in e's netns that the kernel has in its tables ("inuse" in
 * /proc/PID/net/sockstat and sockstat6, counted per netns): a listener or bound socket added
 * changes them. False when they cannot be read, or the process is no longer in e's netns.
 */
bool ns_inuse(const struct rt_discovery *d, const struct ns_entry *e,
	      uint32_t inuse[NS_INUSE_KINDS]);

/* ---- sockdiag.c: sock_diag requests and dumps ---- */

/* A NETLINK_SOCK_DIAG socket in the calling thread's netns, or -errno. */
int diag_socket(void);
int diag_dump(struct rt_discovery *d, struct ls_vec *into, int sock, uint64_t netns, uint8_t family,
	      uint8_t proto, const struct port_range *r, size_t nr);
/* Dump the namespaces marked dirty, or never dumped, and list every netns's sockets in d->ls. */
int dump_all(struct rt_discovery *d);
/* Append every socket of netns e (the protocols asked for) to into. */
int dump_netns(struct rt_discovery *d, const struct ns_entry *e, struct ls_vec *into);

#endif
