// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <linux/types.h>
#include <netinet/in.h>

#include "reusetop.h"
#include "accept.skel.h"
#include "observe/closed.h"
#include "observe/collector.h"
#include "observe/front.h"
#include "observe/handoff.h"
#include "observe/retention.h"
#include "select.skel.h"
#include "steer/steer.h"
#include "udp.skel.h"
#include "wakeup.skel.h"

#define BATCH 256

/* Per-CPU values come back one per possible CPU, each rounded up to 8 bytes. */
_Static_assert(sizeof(struct rt_sock_counters) % 8 == 0, "per-CPU value not 8-byte sized");
_Static_assert(sizeof(struct rt_select_counters) % 8 == 0, "per-CPU value not 8-byte sized");

struct stale {
	uint64_t inode;
	unsigned int misses;
};

struct rt_collector {
	int ncpus;
	int sock_fd, acceptor_fd, epoch_fd;
	/* The direct-mapped fronts of sock_counters, acceptors and task_wakeups (front.h). */
	struct rt_front sock_front, acceptor_front, wakeup_front;
	uint64_t epoch; /* the queue peaks' sampling epoch now running (struct rt_sock_counters) */
	int select_fd; /* -1 without a selection probe */
	int task_wakeup_fd; /* -1 without wakeup attribution */
	int udp_fd, udp_pids_fd, reader_fd; /* -1 without UDP counting */
	struct steer_group_stats *steering; /* from `reusetop steer`'s pinned maps */
	size_t nsteering;
	uint32_t *udp_pids; /* the pids in udp_pids_fd, sorted */
	uint32_t *dead_pids; /* prune_udp_pids()'s scratch */
	size_t ndead_pids, cap_dead_pids;
	size_t nudp_pids, cap_udp_pids;
	int health_fd[4];
	struct rt_handoffs *handoffs; /* NULL without hand-off probes */
	struct rt_features features;
	struct rt_sock_sample *socks;
	size_t nsocks, cap_socks;
	struct rt_acceptor_sample *live; /* tasks' rows read from the maps */
	size_t nlive, cap_live;
	struct rt_retention *retention; /* what is left of tasks that exited */
	struct rt_closed *closed; /* sockets that closed, shown for the same retention */
	int sock_id_fd; /* what identifies each counted socket (struct rt_sock_id) */
	uint64_t socket_unknown; /* sockets forgotten without an identity: their counts lost */
	struct rt_acceptor_sample *acceptors; /* live and retained rows: the sample's */
	size_t nacceptors, cap_acceptors;
	struct stale *stale, *stale_next; /* sorted by inode */
	size_t nstale, cap_stale, cap_stale_next;
	uint64_t *alive; /* sorted inodes of the current listeners */
	size_t cap_alive;
	/* The same in the listeners' order: while they come in that order, alive is still sorted. */
	uint64_t *alive_listed;
	size_t nalive_listed, cap_alive_listed;
	void *keys, *values;
};

int collector_new(struct rt_collector **out, const struct rt_probes *p, double retain_exited_s)
{
	struct rt_collector *c = calloc(1, sizeof(*c));
	size_t vsize = sizeof(struct rt_acceptor_counters) + sizeof(struct rt_task_wakeups);
	__u32 zero = 0;

	if (!c)
		return -ENOMEM;
	c->ncpus = libbpf_num_possible_cpus();
	if (c->ncpus <= 0) {
		free(c);
		return -EINVAL;
	}
	if (retention_new(&c->retention, retain_exited_s) ||
	    closed_new(&c->closed, retain_exited_s) ||
	    (p->handoff && handoffs_new(&c->handoffs, p->handoff, retain_exited_s))) {
		retention_free(c->retention);
		closed_free(c->closed);
		free(c);
		return -ENOMEM;
	}
	/* The largest per-CPU value read in batches. */
	if (vsize < (size_t)c->ncpus * sizeof(struct rt_sock_counters))
		vsize = (size_t)c->ncpus * sizeof(struct rt_sock_counters);
	c->keys = calloc(BATCH, sizeof(struct rt_acceptor_key));
	c->values = calloc(BATCH, vsize);
	if (!c->keys || !c->values) {
		collector_free(c);
		return -ENOMEM;
	}
	c->features = p->features;
	c->sock_fd = bpf_map__fd(p->accept->maps.sock_counters);
	c->acceptor_fd = bpf_map__fd(p->accept->maps.acceptors);
	c->epoch_fd = bpf_map__fd(p->accept->maps.rt_epoch);
	if (front_init(&c->sock_front, bpf_map__fd(p->accept->maps.sock_front_owner),
		       bpf_map__fd(p->accept->maps.sock_front),
		       bpf_map__fd(p->accept->maps.sock_front_claims), sizeof(uint64_t),
		       (size_t)c->ncpus * sizeof(struct rt_sock_counters)) ||
	    front_init(&c->acceptor_front, bpf_map__fd(p->accept->maps.acceptor_front_owner),
		       bpf_map__fd(p->accept->maps.acceptor_front),
		       bpf_map__fd(p->accept->maps.acceptor_front_claims),
		       sizeof(struct rt_acceptor_key), sizeof(struct rt_acceptor_counters))) {
		collector_free(c);
		return -ENOMEM;
	}
	c->sock_id_fd = bpf_map__fd(p->accept->maps.sock_ids);
	if (bpf_map_lookup_elem(c->epoch_fd, &zero, &c->epoch))
		c->epoch = 0;
	c->health_fd[0] = bpf_map__fd(p->accept->maps.health);
	c->select_fd = p->select ? bpf_map__fd(p->select->maps.select_counters) : -1;
	c->health_fd[1] = p->select ? bpf_map__fd(p->select->maps.health) : -1;
	c->task_wakeup_fd = p->wakeup ? bpf_map__fd(p->wakeup->maps.task_wakeups) : -1;
	if (p->wakeup &&
	    front_init(&c->wakeup_front, bpf_map__fd(p->wakeup->maps.wakeup_front_owner),
		       bpf_map__fd(p->wakeup->maps.wakeup_front),
		       bpf_map__fd(p->wakeup->maps.wakeup_front_claims),
		       sizeof(struct rt_acceptor_key), sizeof(struct rt_task_wakeups))) {
		collector_free(c);
		return -ENOMEM;
	}
	c->health_fd[2] = p->wakeup ? bpf_map__fd(p->wakeup->maps.health) : -1;
	c->udp_fd = p->udp ? bpf_map__fd(p->udp->maps.udp_counters) : -1;
	c->udp_pids_fd = p->udp ? bpf_map__fd(p->udp->maps.udp_pids) : -1;
	c->reader_fd = p->udp ? bpf_map__fd(p->udp->maps.udp_readers) : -1;
	c->health_fd[3] = p->udp ? bpf_map__fd(p->udp->maps.health) : -1;
	*out = c;
	return 0;
}

void collector_free(struct rt_collector *c)
{
	if (!c)
		return;
	free(c->socks);
	free(c->live);
	free(c->acceptors);
	retention_free(c->retention);
	closed_free(c->closed);
	handoffs_free(c->handoffs);
	free(c->stale);
	free(c->stale_next);
	free(c->alive);
	free(c->alive_listed);
	free(c->udp_pids);
	free(c->dead_pids);
	free(c->steering);
	free(c->keys);
	free(c->values);
	front_release(&c->sock_front);
	front_release(&c->acceptor_front);
	front_release(&c->wakeup_front);
	free(c);
}

typedef int (*entry_fn)(struct rt_collector *c, const void *key, const void *value);

/*
 * Read every entry of a hash map in batches of BATCH and hand each (key, value) to fn. Batched
 * lookups cost one syscall per BATCH entries instead of two per entry.
 */
static int read_map(struct rt_collector *c, int fd, size_t ksize, size_t vsize, entry_fn fn)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	uint64_t in_batch = 0, out_batch = 0;
	bool first = true, done = false;
	int err;

	while (!done) {
		__u32 count = BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, c->keys,
					   c->values, &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		done = err != 0; /* ENOENT: this was the last batch */
		for (__u32 i = 0; i < count; i++) {
			err = fn(c, (char *)c->keys + i * ksize, (char *)c->values + i * vsize);
			if (err)
				return err;
		}
		in_batch = out_batch;
		first = false;
	}
	return 0;
}

static struct rt_sock_sample *sock_slot(struct rt_collector *c, uint64_t inode)
{
	/* Entries arrive unsorted: append, sort and merge duplicates (select + accept) later. */
	if (reserve_array(&c->socks, &c->cap_socks, c->nsocks + 1, sizeof(*c->socks)))
		return NULL;
	memset(&c->socks[c->nsocks], 0, sizeof(c->socks[0]));
	c->socks[c->nsocks].inode = inode;
	return &c->socks[c->nsocks++];
}

static int add_sock(struct rt_collector *c, const void *key, const void *value)
{
	const struct rt_sock_counters *v = value; /* one per possible CPU */
	struct rt_sock_sample *s = sock_slot(c, *(const uint64_t *)key);
	/* The epoch that just ended; its peaks are in this half (see rt_sock_counters). */
	uint64_t ended = c->epoch - 1;
	unsigned int half = ended & 1;

	if (!s)
		return -ENOMEM;
	for (int cpu = 0; cpu < c->ncpus; cpu++) {
		s->enqueued += v[cpu].enqueued;
		if (v[cpu].queue_epoch[half] == ended && v[cpu].queue_peak[half] > s->queue_peak)
			s->queue_peak = v[cpu].queue_peak[half];
	}
	return 0;
}

static int add_selected(struct rt_collector *c, const void *key, const void *value)
{
	const struct rt_select_counters *v = value;
	struct rt_sock_sample *s = sock_slot(c, *(const uint64_t *)key);

	if (!s)
		return -ENOMEM;
	for (int cpu = 0; cpu < c->ncpus; cpu++)
		s->selected += v[cpu].selected;
	return 0;
}

static int add_udp(struct rt_collector *c, const void *key, const void *value)
{
	const struct rt_udp_counters *v = value;
	struct rt_sock_sample *s = sock_slot(c, *(const uint64_t *)key);

	if (!s)
		return -ENOMEM;
	/* What its readers read is theirs (add_reader): the socket's is their sum. */
	for (int cpu = 0; cpu < c->ncpus; cpu++)
		s->enqueued += v[cpu].enqueued;
	return 0;
}

static struct rt_acceptor_sample *acceptor_slot(struct rt_collector *c,
						const struct rt_acceptor_key *k, const char *comm)
{
	struct rt_acceptor_sample *a;

	/* Appended unsorted; sorting merges an acceptor's accept and wakeup entries. */
	if (reserve_array(&c->live, &c->cap_live, c->nlive + 1, sizeof(*c->live)))
		return NULL;
	a = &c->live[c->nlive++];
	memset(a, 0, sizeof(*a));
	a->inode = k->inode;
	a->pid = k->tgid;
	a->tid = k->tid;
	a->tasks = 1;
	memcpy(a->comm, comm, sizeof(a->comm));
	a->comm[sizeof(a->comm) - 1] = '\0';
	return a;
}

static int add_acceptor(struct rt_collector *c, const void *key, const void *value)
{
	const struct rt_acceptor_counters *v = value;
	struct rt_acceptor_sample *a = acceptor_slot(c, key, v->comm);

	_Static_assert(RT_WAIT_SLOTS == RT_WAIT_BUCKETS, "histogram sizes differ");
	if (!a)
		return -ENOMEM;
	a->accepted = v->accepted;
	a->eagain = v->eagain;
	memcpy(a->wait, v->wait, sizeof(a->wait));
	return 0;
}

/* A task reading a UDP socket: its row's accepted are the datagrams it read. */
static int add_reader(struct rt_collector *c, const void *key, const void *value)
{
	const struct rt_reader_counters *v = value;
	struct rt_acceptor_sample *a = acceptor_slot(c, key, v->comm);

	if (!a)
		return -ENOMEM;
	a->accepted = v->received;
	return 0;
}

static int add_task_wakeups(struct rt_collector *c, const void *key, const void *value)
{
	const struct rt_task_wakeups *v = value;
	struct rt_acceptor_sample *a = acceptor_slot(c, key, v->comm);

	if (!a)
		return -ENOMEM;
	a->wakeups = v->wakeups;
	return 0;
}

static int sock_cmp(const void *a, const void *b)
{
	const struct rt_sock_sample *x = a, *y = b;

	return CMP3(x->inode, y->inode);
}

/* bsearch() of a socket by inode: the key is a uint64_t, not a sample. */
static int sock_key_cmp(const void *key, const void *elem)
{
	return CMP3(*(const uint64_t *)key, ((const struct rt_sock_sample *)elem)->inode);
}

static int acceptor_cmp(const void *a, const void *b)
{
	const struct rt_acceptor_sample *x = a, *y = b;
	int r;

	if ((r = CMP3(x->inode, y->inode)) || (r = CMP3(x->pid, y->pid)))
		return r;
	return CMP3(x->tid, y->tid);
}

static int u64_cmp(const void *a, const void *b)
{
	return CMP3(*(const uint64_t *)a, *(const uint64_t *)b);
}

/* Sort by inode and fold the selection entry and the accept entry of one socket together. */
static void merge_socks(struct rt_collector *c)
{
	size_t out = 0;

	if (c->nsocks)
		qsort(c->socks, c->nsocks, sizeof(*c->socks), sock_cmp);
	for (size_t i = 0; i < c->nsocks; i++) {
		if (out && c->socks[out - 1].inode == c->socks[i].inode) {
			struct rt_sock_sample *to = &c->socks[out - 1], *from = &c->socks[i];

			to->enqueued += from->enqueued;
			to->accepted += from->accepted;
			to->eagain += from->eagain;
			to->selected += from->selected;
			to->wakeups += from->wakeups;
			if (from->queue_peak > to->queue_peak)
				to->queue_peak = from->queue_peak;
			for (int k = 0; k < RT_WAIT_BUCKETS; k++)
				to->wait[k] += from->wait[k];
			continue;
		}
		c->socks[out++] = c->socks[i];
	}
	c->nsocks = out;
}

/* Sort the tasks' rows read from the maps and fold a task's accept and wakeup entries together. */
static void merge_live(struct rt_collector *c)
{
	size_t out = 0;

	if (c->nlive)
		qsort(c->live, c->nlive, sizeof(*c->live), acceptor_cmp);
	for (size_t i = 0; i < c->nlive; i++) {
		if (out && !acceptor_cmp(&c->live[out - 1], &c->live[i])) {
			acceptor_add(&c->live[out - 1], &c->live[i]);
			continue;
		}
		c->live[out++] = c->live[i];
	}
	c->nlive = out;
}

static uint32_t task_front_slot(const struct rt_acceptor_key *key)
{
	return rt_front_slot(key->inode, (uint64_t)key->tgid << 32 | key->tid);
}

static bool task_alive(uint32_t pid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u", pid, tid);
	return !access(path, F_OK);
}

/*
 * A task's last wakeups into *wakeups, unless it has no entry, which are deleted. Wakers on two
 * CPUs may have put it in the front and in the map both: they add up.
 */
static void take_final_wakeups(struct rt_collector *c, const struct rt_acceptor_key *key,
			       uint64_t *wakeups)
{
	struct rt_task_wakeups wake;
	uint64_t n = 0;
	bool seen = false;

	if (front_take(&c->wakeup_front, key, task_front_slot(key), &wake) > 0) {
		n += wake.wakeups;
		seen = true;
	}
	if (!bpf_map_lookup_elem(c->task_wakeup_fd, key, &wake)) {
		n += wake.wakeups;
		seen = true;
		bpf_map_delete_elem(c->task_wakeup_fd, key);
	}
	if (seen)
		*wakeups = n;
}

/* A task's last counts, read again now that it cannot add to them, and its entries deleted. */
static void take_final(struct rt_collector *c, struct rt_acceptor_sample *a)
{
	struct rt_acceptor_key key = {.inode = a->inode, .tgid = a->pid, .tid = a->tid};
	struct rt_acceptor_counters acc;
	struct rt_reader_counters rd;

	/* An acceptor is in the front or in the map, never both (only the task creates it). */
	if (front_take(&c->acceptor_front, &key, task_front_slot(&key), &acc) > 0 ||
	    !bpf_map_lookup_elem(c->acceptor_fd, &key, &acc)) {
		a->accepted = acc.accepted;
		a->eagain = acc.eagain;
		memcpy(a->wait, acc.wait, sizeof(a->wait));
		bpf_map_delete_elem(c->acceptor_fd, &key);
	}
	if (c->reader_fd >= 0 && !bpf_map_lookup_elem(c->reader_fd, &key, &rd)) {
		a->accepted = rd.received;
		bpf_map_delete_elem(c->reader_fd, &key);
	}
	if (c->task_wakeup_fd >= 0)
		take_final_wakeups(c, &key, &a->wakeups);
}

/*
 * Tasks that exited since the last read leave the maps (which would fill up on a host whose
 * servers recycle workers) for the retention, with their final counts; a task that lived less
 * than an interval is found here too, as its entries stay until read.
 */
static int retire_exited(struct rt_collector *c, double now)
{
	size_t out = 0;
	int err = 0;

	for (size_t i = 0; i < c->nlive; i++) {
		struct rt_acceptor_sample *a = &c->live[i];

		if (task_alive(a->pid, a->tid)) {
			c->live[out++] = *a;
			continue;
		}
		take_final(c, a);
		if ((err = retention_add(c->retention, a, now)))
			return err;
	}
	c->nlive = out;
	return retention_expire(c->retention, now);
}

static int acceptor_order(const void *a, const void *b)
{
	const struct rt_acceptor_sample *x = a, *y = b;
	int r = acceptor_cmp(a, b);

	return r ? r : CMP3(x->exited, y->exited);
}

/* The sample's rows: live tasks and what is left of exited ones, by (inode, pid, tid). */
static int assemble_acceptors(struct rt_collector *c)
{
	size_t nkept, n;
	const struct rt_acceptor_sample *kept = retention_rows(c->retention, &nkept);

	n = c->nlive + nkept;
	if (reserve_array(&c->acceptors, &c->cap_acceptors, n + 1, sizeof(*c->acceptors)))
		return -ENOMEM;
	if (c->nlive)
		memcpy(c->acceptors, c->live, c->nlive * sizeof(*c->live));
	if (nkept)
		memcpy(c->acceptors + c->nlive, kept, nkept * sizeof(*kept));
	c->nacceptors = n;
	if (n)
		qsort(c->acceptors, n, sizeof(*c->acceptors), acceptor_order);
	return 0;
}

static struct rt_sock_sample *find_sock(struct rt_collector *c, uint64_t inode)
{
	return c->nsocks ? bsearch(&inode, c->socks, c->nsocks, sizeof(*c->socks), sock_key_cmp)
			 : NULL;
}

/*
 * A listener's accepted, eagain, queue waits and wakeups are the sums of its tasks' rows, read in the same
 * pass: so the rows of a group always add up to the group's counts, exactly, even while
 * connections arrive between the reads of two maps.
 */
static int derive_sock_counts(struct rt_collector *c)
{
	size_t nsocks = c->nsocks;

	/* A listener with rows but no entry of its own (map full) gets one. */
	for (size_t i = 0; i < c->nacceptors; i++) {
		if ((i && c->acceptors[i - 1].inode == c->acceptors[i].inode) ||
		    find_sock(c, c->acceptors[i].inode))
			continue;
		if (!sock_slot(c, c->acceptors[i].inode))
			return -ENOMEM;
	}
	if (c->nsocks != nsocks)
		qsort(c->socks, c->nsocks, sizeof(*c->socks), sock_cmp);
	for (size_t i = 0; i < c->nsocks; i++) {
		c->socks[i].accepted = c->socks[i].eagain = c->socks[i].wakeups = 0;
		memset(c->socks[i].wait, 0, sizeof(c->socks[i].wait));
	}
	for (size_t i = 0; i < c->nacceptors; i++) {
		const struct rt_acceptor_sample *a = &c->acceptors[i];
		struct rt_sock_sample *s = find_sock(c, a->inode);

		if (!s)
			continue;
		s->accepted += a->accepted;
		s->eagain += a->eagain;
		s->wakeups += a->wakeups;
		for (int k = 0; k < RT_WAIT_BUCKETS; k++)
			s->wait[k] += a->wait[k];
	}
	return 0;
}

static bool inode_alive(const struct rt_collector *c, size_t nalive, uint64_t inode)
{
	return nalive && bsearch(&inode, c->alive, nalive, sizeof(uint64_t), u64_cmp);
}

static unsigned int previous_misses(const struct rt_collector *c, uint64_t inode)
{
	size_t lo = 0, hi = c->nstale;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->stale[mid].inode == inode)
			return c->stale[mid].misses;
		if (c->stale[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

struct alive_set {
	const struct rt_collector *c;
	size_t nalive;
};

/* A listener is gone once forgotten: neither listed by discovery nor waiting out its misses. */
static bool listener_gone(uint64_t inode, void *arg)
{
	const struct alive_set *a = arg;

	return !inode_alive(a->c, a->nalive, inode) &&
	       !find_sock((struct rt_collector *)a->c, inode);
}

/* The rows of tasks of listeners that are gone, live (and their map entries) or retained. */
static int forget_tasks_of_gone(struct rt_collector *c, size_t nalive)
{
	struct alive_set set = {c, nalive};
	size_t out = 0;

	for (size_t i = 0; i < c->nlive; i++) {
		struct rt_acceptor_sample *a = &c->live[i];
		struct rt_acceptor_key key = {.inode = a->inode, .tgid = a->pid, .tid = a->tid};

		if (!listener_gone(a->inode, &set)) {
			c->live[out++] = *a;
			continue;
		}
		front_take(&c->acceptor_front, &key, task_front_slot(&key), NULL);
		bpf_map_delete_elem(c->acceptor_fd, &key);
		if (c->reader_fd >= 0)
			bpf_map_delete_elem(c->reader_fd, &key);
		if (c->task_wakeup_fd >= 0) {
			front_take(&c->wakeup_front, &key, task_front_slot(&key), NULL);
			bpf_map_delete_elem(c->task_wakeup_fd, &key);
		}
	}
	c->nlive = out;
	retention_forget(c->retention, listener_gone, &set);
	return assemble_acceptors(c);
}

/*
 * A socket no scan lists any more: closed. Shown (1) for the retention from the identity BPF
 * recorded when it first counted it, then forgotten (0) with its counters; one with no identity
 * is forgotten at once, its counts lost (socket_unknown). -errno on failure.
 */
static int keep_closed(struct rt_collector *c, uint64_t inode, double now)
{
	int fds[] = {c->sock_fd, c->select_fd, c->udp_fd, c->sock_id_fd};
	struct rt_sock_id id;
	int err;

	if (closed_known(c->closed, inode) && !closed_expired(c->closed, inode, now))
		return 1;
	if (!closed_known(c->closed, inode)) {
		if (!bpf_map_lookup_elem(c->sock_id_fd, &inode, &id))
			return (err = closed_add(c->closed, inode, &id, now)) ? err : 1;
		c->socket_unknown++;
	}
	closed_remove(c->closed, inode);
	front_take(&c->sock_front, &inode, rt_front_slot(inode, 0), NULL);
	for (size_t k = 0; k < ARRAY_LEN(fds); k++)
		if (fds[k] >= 0)
			bpf_map_delete_elem(fds[k], &inode);
	return 0;
}

/* Whether the inodes of l are those of the last call, in the same order. */
static bool same_listed(const struct rt_collector *c, const struct rt_listener *l, size_t nl)
{
	if (nl != c->nalive_listed)
		return false;
	for (size_t i = 0; i < nl; i++)
		if (l[i].inode != c->alive_listed[i])
			return false;
	return true;
}

/*
 * alive: the inodes of listeners l, sorted. Sorting 10,000 of them every interval cost more than
 * the rest of forget_stale(): it is done only when the listeners are not those of last time.
 */
static int sort_alive(struct rt_collector *c, const struct rt_listener *l, size_t nl)
{
	if (same_listed(c, l, nl))
		return 0;
	c->nalive_listed = 0;
	if (reserve_array(&c->alive, &c->cap_alive, nl + 1, sizeof(uint64_t)) ||
	    reserve_array(&c->alive_listed, &c->cap_alive_listed, nl + 1, sizeof(uint64_t)))
		return -ENOMEM;
	for (size_t i = 0; i < nl; i++)
		c->alive[i] = c->alive_listed[i] = l[i].inode;
	if (nl)
		qsort(c->alive, nl, sizeof(uint64_t), u64_cmp);
	c->nalive_listed = nl;
	return 0;
}

/*
 * Counters of closed sockets would fill the maps over time on a host whose servers restart.
 * A socket missing from several scans in a row (not just created between a probe hit and the
 * scan) is forgotten, and so is a task that exited.
 */
static int forget_stale(struct rt_collector *c, const struct rt_listener *l, size_t nl, double now)
{
	size_t nstale = 0, out = 0;
	int err;

	if ((err = sort_alive(c, l, nl)))
		return err;
	if ((err = reserve_array(&c->stale_next, &c->cap_stale_next, c->nsocks + 1,
				 sizeof(struct stale))) ||
	    (err = reserve_array(&c->stale, &c->cap_stale, c->nsocks + 1, sizeof(struct stale))))
		return err;
	for (size_t i = 0; i < c->nsocks; i++) {
		struct rt_sock_sample *s = &c->socks[i];
		unsigned int misses;
		int keep;

		if (inode_alive(c, nl, s->inode)) {
			closed_remove(c->closed, s->inode); /* listed again: it was not closed */
			c->socks[out++] = *s;
			continue;
		}
		misses = previous_misses(c, s->inode) + 1;
		if (misses >= RT_STALE_SCANS) {
			if ((keep = keep_closed(c, s->inode, now)) < 0)
				return keep;
			if (!keep)
				continue;
		}
		c->stale_next[nstale++] = (struct stale){s->inode, misses};
		c->socks[out++] = *s;
	}
	c->nsocks = out;
	/* stale_next was filled in inode order because socks are sorted. */
	if (nstale)
		memcpy(c->stale, c->stale_next, nstale * sizeof(struct stale));
	c->nstale = nstale;
	return forget_tasks_of_gone(c, nl);
}

static int u32_cmp(const void *a, const void *b)
{
	return CMP3(*(const uint32_t *)a, *(const uint32_t *)b);
}

/* An entry of udp_pids: note its process when it exited (prune_udp_pids). */
static int note_dead_pid(struct rt_collector *c, const void *key, const void *value)
{
	uint32_t pid = *(const uint32_t *)key;
	char path[32];

	(void)value;
	snprintf(path, sizeof(path), "/proc/%u", pid);
	if (!access(path, F_OK))
		return 0;
	if (reserve_array(&c->dead_pids, &c->cap_dead_pids, c->ndead_pids + 1, sizeof(pid)))
		return -ENOMEM;
	c->dead_pids[c->ndead_pids++] = pid;
	return 0;
}

/* Processes in udp_pids that exited, whoever put them there (BPF adds servers as they bind). */
static int prune_udp_pids(struct rt_collector *c)
{
	int err;

	c->ndead_pids = 0;
	/* Deleted after the walk: deleting during it could make it restart. */
	err = read_map(c, c->udp_pids_fd, sizeof(uint32_t), sizeof(__u8), note_dead_pid);
	for (size_t i = 0; i < c->ndead_pids; i++)
		bpf_map_delete_elem(c->udp_pids_fd, &c->dead_pids[i]);
	return err;
}

/*
 * The UDP receive probes on the syscall tiers only resolve fds of processes in udp_pids: add
 * the holders of the UDP sockets discovery found (servers that started before reusetop; BPF
 * adds the ones that bind or fork later), and drop the processes that exited.
 */
static int sync_udp_pids(struct rt_collector *c, const struct rt_listener *l, size_t nl)
{
	uint32_t *want = NULL;
	size_t n = 0, cap = 0, out = 0, i, j;
	__u8 one = 1;

	if (c->udp_pids_fd < 0)
		return 0;
	for (i = 0; i < nl; i++) {
		if (l[i].proto != IPPROTO_UDP)
			continue;
		for (j = 0; j < l[i].nholders; j++) {
			if (reserve_array(&want, &cap, n + 1, sizeof(*want))) {
				free(want);
				return -ENOMEM;
			}
			want[n++] = (uint32_t)l[i].holders[j].pid;
		}
	}
	if (n)
		qsort(want, n, sizeof(*want), u32_cmp);
	for (i = 0; i < n; i++)
		if (!out || want[out - 1] != want[i])
			want[out++] = want[i];
	n = out;
	/* Only the holders not added last time: one syscall per new server. */
	for (i = 0, j = 0; j < n; j++) {
		while (i < c->nudp_pids && c->udp_pids[i] < want[j])
			i++;
		if (i >= c->nudp_pids || c->udp_pids[i] != want[j])
			bpf_map_update_elem(c->udp_pids_fd, &want[j], &one, BPF_ANY);
	}
	free(c->udp_pids);
	c->udp_pids = want;
	c->nudp_pids = n;
	return prune_udp_pids(c);
}

static void read_health(struct rt_collector *c, struct rt_health_sample *h)
{
	uint64_t *per_cpu = c->values, sum[RT_STAT_MAX] = {};

	for (int m = 0; m < 4; m++) {
		if (c->health_fd[m] < 0)
			continue;
		for (__u32 k = 0; k < RT_STAT_MAX; k++) {
			if (bpf_map_lookup_elem(c->health_fd[m], &k, per_cpu))
				continue;
			for (int cpu = 0; cpu < c->ncpus; cpu++)
				sum[k] += per_cpu[cpu];
		}
	}
	h->sock_map_full = sum[RT_STAT_SOCK_FULL];
	h->acceptor_map_full = sum[RT_STAT_ACCEPTOR_FULL];
	h->inflight_full = sum[RT_STAT_INFLIGHT_FULL];
	h->no_inode = sum[RT_STAT_NO_INODE];
	h->wait_unknown = sum[RT_STAT_WAIT_UNKNOWN];
	h->socket_unknown = c->socket_unknown;
}

int collector_read(struct rt_collector *c, struct rt_sample *s)
{
	struct timespec mono;
	int err;

	memset(s, 0, sizeof(*s));
	c->nsocks = c->nlive = 0;
	clock_gettime(CLOCK_MONOTONIC, &mono);
	clock_gettime(CLOCK_REALTIME, &s->realtime);
	s->mono_s = (double)mono.tv_sec + (double)mono.tv_nsec / 1e9;
	size_t ino = sizeof(uint64_t), task = sizeof(struct rt_acceptor_key);
	size_t cpus = (size_t)c->ncpus;

	/*
	 * Hand-offs first: what was handed off then was accepted before the acceptors' counts
	 * are read, so that handed_off never exceeds accepted in one sample.
	 */
	if (c->handoffs && (err = handoffs_read(c->handoffs, s->mono_s, s)))
		return err;
	/* End the queue peaks' epoch: enqueues from now on write the other half. */
	c->epoch++;
	err = bpf_map_update_elem(c->epoch_fd, &(__u32){0}, &c->epoch, BPF_ANY) ? -errno : 0;
	if (!err)
		err = read_map(c, c->sock_fd, ino, cpus * sizeof(struct rt_sock_counters),
			       add_sock);
	if (!err)
		err = front_each(&c->sock_front, c, add_sock);
	if (!err && c->select_fd >= 0)
		err = read_map(c, c->select_fd, ino, cpus * sizeof(struct rt_select_counters),
			       add_selected);
	if (!err)
		err = read_map(c, c->acceptor_fd, task, sizeof(struct rt_acceptor_counters),
			       add_acceptor);
	if (!err)
		err = front_each(&c->acceptor_front, c, add_acceptor);
	if (!err && c->udp_fd >= 0)
		err = read_map(c, c->udp_fd, ino, cpus * sizeof(struct rt_udp_counters), add_udp);
	if (!err && c->reader_fd >= 0)
		err = read_map(c, c->reader_fd, task, sizeof(struct rt_reader_counters),
			       add_reader);
	if (!err && c->task_wakeup_fd >= 0)
		err = read_map(c, c->task_wakeup_fd, task, sizeof(struct rt_task_wakeups),
			       add_task_wakeups);
	if (!err && c->task_wakeup_fd >= 0)
		err = front_each(&c->wakeup_front, c, add_task_wakeups);
	if (err)
		return err;
	merge_socks(c);
	merge_live(c);
	if ((err = retire_exited(c, s->mono_s)) || (err = assemble_acceptors(c)) ||
	    (err = derive_sock_counts(c)))
		return err;
	s->socks = c->socks;
	s->nsocks = c->nsocks;
	s->acceptors = c->acceptors;
	s->nacceptors = c->nacceptors;
	return 0;
}

int collector_finish(struct rt_collector *c, const struct rt_listener *listeners, size_t n,
		     struct rt_sample *s)
{
	int err;

	if ((err = forget_stale(c, listeners, n, s->mono_s)) ||
	    (err = sync_udp_pids(c, listeners, n)) ||
	    (c->handoffs && (err = handoffs_watch(c->handoffs))) ||
	    (err = closed_merge(c->closed, listeners, n, &listeners, &n)))
		return err;
	read_health(c, &s->health);
	/* Groups reusetop steers: their pinned maps, read-only. Absent pins are not an error. */
	free(c->steering);
	c->steering = NULL;
	c->nsteering = 0;
	if (steer_read_groups(&c->steering, &c->nsteering))
		c->nsteering = 0;
	s->steering = c->steering;
	s->nsteering = c->nsteering;
	s->features = c->features;
	s->listeners = listeners;
	s->nlisteners = n;
	s->socks = c->socks;
	s->nsocks = c->nsocks;
	s->acceptors = c->acceptors;
	s->nacceptors = c->nacceptors;
	return 0;
}
