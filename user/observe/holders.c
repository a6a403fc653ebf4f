// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery's holders: which processes hold each socket, by socket inode from /proc/PID/fd
 * (like `ss -p`), cached between scans with the walk that found them (see the cost model in
 * discovery.c), and the inode table they are looked up in.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "observe/discovery_int.h"
#include "util.h"

/* Forks add holders without any other sign we could see: walk /proc at least this often. */
#define HOLDERS_MAX_AGE_NS (5ull * 1000000000ull)
/* A walk may skip processes whose fd count is unchanged; this often it skips none. */
#define FULL_WALK_MAX_AGE_NS (60ull * 1000000000ull)
/* "socket:[" + 20 digits + "]" fits; anything longer is not a socket link. */
#define LINK_BUF_LEN 64

/* ---- inode -> holders table ---- */

static size_t ino_hash(uint64_t ino)
{
	ino *= 0x9e3779b97f4a7c15ull;
	return (size_t)(ino ^ (ino >> 32));
}

/* Empty the table with room for n inodes. */
int table_reset(struct ino_table *t, size_t n)
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
struct ino_slot *table_slot(const struct ino_table *t, uint64_t ino)
{
	size_t i = ino_hash(ino) & t->mask;

	while (t->slots[i].inode && t->slots[i].inode != ino)
		i = (i + 1) & t->mask;
	return &t->slots[i];
}

struct ino_slot *table_find(const struct ino_table *t, uint64_t ino)
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

const struct proc_entry *find_proc(const struct rt_discovery *d, int pid)
{
	struct proc_entry key = {.pid = pid};

	return d->nprocs ? bsearch(&key, d->procs, d->nprocs, sizeof(key), proc_cmp) : NULL;
}

/* A process whose holders the netns walk checks for exit. */
bool holder_alive(struct rt_discovery *d, int pid)
{
	struct proc_entry *p = (struct proc_entry *)find_proc(d, pid);

	if (!p || !p->nrefs)
		return false;
	p->alive = true;
	return true;
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

/* The inode of a "socket:[12345]" link, or 0; *epoll when it is an epoll instance instead. */
static uint64_t socket_inode(int dirfd, const char *name, bool *epoll)
{
	static const char eventpoll[] = "anon_inode:[eventpoll]";
	char link[LINK_BUF_LEN];
	ssize_t n = readlinkat(dirfd, name, link, sizeof(link) - 1);
	uint64_t ino = 0;
	const char *p;

	*epoll = n == sizeof(eventpoll) - 1 && !memcmp(link, eventpoll, sizeof(eventpoll) - 1);
	if (n < 9 || memcmp(link, "socket:[", 8))
		return 0;
	link[n] = '\0';
	for (p = link + 8; *p >= '0' && *p <= '9'; p++)
		ino = ino * 10 + (uint64_t)(*p - '0');
	return *p == ']' ? ino : 0;
}

static int add_ep(struct rt_discovery *d, int fd)
{
	if (reserve_array(&d->next_eps, &d->next_eps_cap, d->nnext_eps + 1, sizeof(*d->next_eps)))
		return -ENOMEM;
	d->next_eps[d->nnext_eps++] = fd;
	return 0;
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
		bool epoll = false;
		uint64_t ino = fd < 0 ? 0 : socket_inode(dfd, de->d_name, &epoll);

		/* Epoll instances tell which socket of several holders serves (waiters.c). */
		if (epoll && (err = add_ep(d, (int)fd)))
			break;
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

/* The last walk's refs and epoll descriptors of a process, for the sockets that still exist. */
static int copy_refs(struct rt_discovery *d, const struct proc_entry *p)
{
	int err;

	for (uint32_t i = p->first; i < p->first + p->nrefs; i++)
		if (table_find(&d->table, d->refs[i].inode) &&
		    (err = add_ref(d, d->refs[i].inode, &d->refs[i].h)))
			return err;
	for (uint32_t i = p->first_ep; i < p->first_ep + p->neps; i++)
		if ((err = add_ep(d, d->eps[i])))
			return err;
	return 0;
}

static int add_proc(struct rt_discovery *d, int pid, uint32_t nfds, size_t first, size_t first_ep)
{
	if (reserve_array(&d->next_procs, &d->next_procs_cap, d->nnext_procs + 1,
			  sizeof(*d->next_procs)))
		return -ENOMEM;
	d->next_procs[d->nnext_procs++] = (struct proc_entry){
		pid,
		nfds,
		(uint32_t)first,
		(uint32_t)(d->nnext_refs - first),
		(uint32_t)first_ep,
		(uint32_t)(d->nnext_eps - first_ep),
		true, /* the walk just found it */
	};
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
	size_t first = d->nnext_refs, first_ep = d->nnext_eps;
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
	if (!err && d->nnext_refs == first)
		d->nnext_eps = first_ep; /* epolls matter only in processes that hold a socket */
	return err ? err : add_proc(d, pid, nfds, first, first_ep);
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
	SWAP(d->eps, d->next_eps);
	SWAP(d->eps_cap, d->next_eps_cap);
	d->neps = d->nnext_eps;
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
	d->nnext_procs = d->nnext_refs = d->nnext_eps = 0;
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
	if ((err = build_holders(d)) || (err = mark_waiters(d)))
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
int refresh_holders(struct rt_discovery *d)
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
bool holders_stale(const struct rt_discovery *d, bool same)
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
