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
 *
 * The pieces, all sharing struct rt_discovery (discovery_int.h): netns.c finds and enters the
 * network namespaces, sockdiag.c dumps their sockets, holders.c finds the holders; this file
 * runs the scans, sorts the output and does discovery_refresh()'s partial dumps.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <netinet/in.h>

#include "observe/discovery.h"
#include "observe/discovery_int.h"
#include "util.h"

/* discovery_refresh(): everything is dumped again at least this often. */
#define FULL_SCAN_MAX_AGE_NS (5ull * 1000000000ull)
#define PROTOS_KNOWN	     ((1u << IPPROTO_TCP) | (1u << IPPROTO_UDP))

enum mark { MARK_NONE, MARK_WANTED, MARK_SEEN };

/* ---- sorted output ---- */

static int listener_cmp(const void *pa, const void *pb)
{
	const struct rt_listener *a = pa, *b = pb;
	int c = listener_group_cmp(a, b);

	return c ? c : CMP3(a->inode, b->inode);
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

static void mark_all_dirty(struct rt_discovery *d)
{
	for (size_t i = 0; i < d->nns; i++)
		d->ns[i].dirty = true;
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
/* Still in the same group (and so at the same place in out[]): else a full scan sorts again. */
static bool same_place(const struct rt_listener *a, const struct rt_listener *b)
{
	return !listener_group_cmp(a, b) && !strcmp(a->bound_dev, b->bound_dev);
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

/*
 * Before a scan of some namespaces only: those of the sockets whose shown values can have
 * changed (as refresh_some() picks them) are dumped too, and all when one of those sockets is
 * not known (its netns neither).
 */
static int dirty_wanted(struct rt_discovery *d, const uint64_t *active, size_t nactive)
{
	struct ns_entry *e = NULL;
	int err;

	if (!d->have_index && (err = build_index(d)))
		return err;
	for (size_t i = 0; i < nactive; i++) {
		long k = out_pos(d, active[i]);

		if (k < 0 && !ignored(d, active[i])) {
			mark_all_dirty(d);
			return 0;
		}
		if (k >= 0 && (e = ns_find(d, d->out[k].netns)))
			e->dirty = true;
	}
	/* out[] is sorted by netns first: one lookup per netns. */
	for (size_t k = 0; k < d->nout; k++) {
		if (!d->out[k].queue || !d->out[k].inode)
			continue;
		if (!e || e->ino != d->out[k].netns)
			e = ns_find(d, d->out[k].netns);
		if (e)
			e->dirty = true;
	}
	return 0;
}

/*
 * A holder process exited: the namespaces of the sockets it held are dumped again (it may have
 * closed them), the others' last dumps stand.
 */
static int dirty_dead_holders(struct rt_discovery *d)
{
	int err;

	if (!d->have_index && (err = build_index(d)))
		return err;
	for (size_t i = 0; i < d->nprocs; i++) {
		const struct proc_entry *p = &d->procs[i];

		for (uint32_t r = p->first; !p->alive && r < p->first + p->nrefs; r++) {
			long k = out_pos(d, d->refs[r].inode);
			struct ns_entry *e = k >= 0 ? ns_find(d, d->out[k].netns) : NULL;

			if (!e) {
				mark_all_dirty(d);
				return 0;
			}
			e->dirty = true;
		}
	}
	return 0;
}

/* ---- public interface ---- */

int discovery_scan(struct rt_discovery *d, const struct rt_listener **out, size_t *n)
{
	int err;

	*out = NULL;
	*n = 0;
	if ((err = own_diag_socket(d)) || (err = ns_refresh(d)))
		return err;
	mark_all_dirty(d);
	if ((err = scan_all(d)))
		return err;
	d->full_scan_ns = mono_ns();
	*out = d->out;
	*n = d->nout;
	return 0;
}

/*
 * A process that just entered a new netns binds its sockets after the scan that found the
 * netns: namespaces younger than a full scan's period are dumped whole every refresh, and a
 * socket there that out[] lacks asks for a full scan (*full). Cheap: only young namespaces,
 * and only when the kernel's counts of sockets in them moved since their last dump here (a
 * young netns may hold 10,000 listeners: reusetop's start finds every netns young).
 */
static int young_netns_news(struct rt_discovery *d, bool *full)
{
	uint64_t now = mono_ns();
	int err;

	for (size_t i = 1; i < d->nns && !*full; i++) {
		struct ns_entry *e = &d->ns[i];
		uint32_t inuse[NS_INUSE_KINDS];
		bool known;

		if (e->diag < 0 || now - e->added_ns >= FULL_SCAN_MAX_AGE_NS)
			continue;
		/* Read before the dump: a socket added in between changes them for next time. */
		known = ns_inuse(d, e, inuse);
		if (known && e->inuse_known && !memcmp(inuse, e->inuse, sizeof(inuse)))
			continue;
		d->part.n = 0;
		/* A netns going away meanwhile is the full scan's business. */
		if ((err = dump_netns(d, e, &d->part)))
			return err == -ENOMEM ? err : 0;
		memcpy(e->inuse, inuse, sizeof(inuse));
		e->inuse_known = known;
		for (size_t k = 0; k < d->part.n && !*full; k++)
			*full = d->part.v[k].inode && out_pos(d, d->part.v[k].inode) < 0 &&
				!ignored(d, d->part.v[k].inode);
		if (*full)
			e->dirty = true;
	}
	return 0;
}

int discovery_refresh(struct rt_discovery *d, const uint64_t *active, size_t nactive,
		      const struct rt_listener **out, size_t *n)
{
	bool full, all;
	int err;

	*out = NULL;
	*n = 0;
	if ((err = own_diag_socket(d)) || (err = ns_refresh(d)))
		return err;
	/*
	 * Every netns is dumped again every FULL_SCAN_MAX_AGE_NS; in between, a scan dumps only
	 * those where something happened (new ones have never been dumped). With a busy host's
	 * namespaces coming and going, one with 10,000 idle listeners is not dumped every time.
	 */
	all = !d->full_scan_ns || mono_ns() - d->full_scan_ns >= FULL_SCAN_MAX_AGE_NS;
	if (all)
		mark_all_dirty(d);
	else if (d->npids_alive < d->nholder_pids && (err = dirty_dead_holders(d)))
		return err;
	full = all || d->ns_changed || d->npids_alive < d->nholder_pids;
	if (!full && (err = refresh_some(d, active, nactive, &full)))
		return err;
	if (!full && (err = young_netns_news(d, &full)))
		return err;
	if (full && !all && (err = dirty_wanted(d, active, nactive)))
		return err;
	if (full) {
		if ((err = scan_all(d)) || (err = note_ignored(d, active, nactive)))
			return err;
		if (all)
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
	free(d->eps);
	free(d->next_eps);
	free(d->shared_pids);
	waits_free(&d->waits);
	free(d->fresh);
	free(d->part.v);
	free(d->out_index.slots);
	free(d->marks);
	free(d->ranges);
	free(d->ignored);
	free(d->buf);
	free(d);
}
