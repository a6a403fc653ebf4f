// SPDX-License-Identifier: GPL-2.0
/* Groups, rates, shares and fairness from cumulative samples. Pure: no I/O, no BPF. */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include "observe/model.h"
#include "observe/model_handoff.h"
#include "steer/steer.h"

struct inode_drops {
	uint64_t inode;
	int64_t drops;
};

/*
 * A group's acceptor rows and the sum of its folded ones, made for the few groups that have
 * any: kept out of struct rt_group_view, which every group has and the model clears every
 * interval.
 */
struct acceptor_rows {
	struct rt_acceptor_sample folded;
	struct rt_acceptor_view views[];
};

/*
 * Storage is kept from one update to the next and only grows: with 10,000 listeners, allocating
 * and freeing the view's arrays every interval was a good part of what an interval cost.
 */
struct rt_model {
	bool have_prev;
	/*
	 * The listeners' drop counters in the last sample's order (which changes little), and sorted
	 * by inode for the listeners that moved (made when first needed).
	 */
	struct inode_drops *prev_drops, *prev_drops_sorted;
	size_t nprev_drops, prev_drops_cap, prev_drops_sorted_cap;
	bool prev_drops_sorted_ok;
	double prev_mono_s;
	struct rt_sock_sample *prev_socks;
	size_t nprev_socks, prev_socks_cap;
	struct rt_acceptor_sample *prev_acceptors;
	size_t nprev_acceptors, prev_acceptors_cap;
	/* The last view's storage, reused by the next update. */
	struct rt_group_view *groups;
	size_t ngroups, groups_cap;
	/* The groups' acceptor rows, each group's with its folded row (struct acceptor_rows) */
	struct acceptor_rows **rows;
	size_t nrows, rows_cap;
	struct rt_sock_view *socks; /* every group's members: listener i's view is socks[i] */
	size_t socks_cap;
	uint64_t *scratch; /* finish_group()'s per-member counts */
	size_t scratch_cap;
	int *servers; /* every member's servers (rt_sock_view.servers point here) */
	size_t nservers, servers_cap;
	struct rt_handoff_model handoff;
};

/* A counter below its previous value was recreated (map entry deleted): count from 0. */
static uint64_t counter_delta(uint64_t now, uint64_t before)
{
	return now >= before ? now - before : now;
}

double rate_per_s(uint64_t now, uint64_t before, double interval_s)
{
	uint64_t delta = counter_delta(now, before);

	if (!(interval_s > 0))
		return NAN;
	return (double)delta / interval_s;
}

double wait_bucket_upper_us(unsigned int bucket)
{
	return ldexp(1.0, (int)bucket);
}

struct rt_wait_summary wait_summary(const uint64_t *now, const uint64_t *before)
{
	struct rt_wait_summary w = {NAN, NAN, NAN, 0};
	uint64_t delta[RT_WAIT_BUCKETS], seen = 0;
	const double q[3] = {0.50, 0.90, 0.99};
	double *out[3] = {&w.p50_us, &w.p90_us, &w.p99_us};
	unsigned int k = 0;

	for (unsigned int i = 0; i < RT_WAIT_BUCKETS; i++) {
		delta[i] = counter_delta(now[i], before ? before[i] : 0);
		w.count += delta[i];
	}
	if (!w.count)
		return w;
	for (unsigned int i = 0; i < RT_WAIT_BUCKETS && k < 3; i++) {
		seen += delta[i];
		/* The smallest bucket holding at least the q-th share of the waits. */
		while (k < 3 && (double)seen >= q[k] * (double)w.count)
			*out[k++] = wait_bucket_upper_us(i);
	}
	return w;
}

struct rt_imbalance imbalance_of(const uint64_t *counts, size_t n)
{
	struct rt_imbalance r = {NAN, NAN};
	double sum = 0, sumsq = 0, max = 0;

	for (size_t i = 0; i < n; i++) {
		double x = (double)counts[i];

		sum += x;
		sumsq += x * x;
		if (x > max)
			max = x;
	}
	if (n == 0 || sum <= 0)
		return r;
	r.max_share = max / sum;
	r.jain = sum * sum / ((double)n * sumsq);
	return r;
}

static int sock_sample_cmp(const void *key, const void *elem)
{
	const uint64_t *inode = key;
	const struct rt_sock_sample *s = elem;

	return CMP3(*inode, s->inode);
}

static const struct rt_sock_sample *find_sock(const struct rt_sock_sample *v, size_t n,
					      uint64_t inode)
{
	return n ? bsearch(&inode, v, n, sizeof(*v), sock_sample_cmp) : NULL;
}

static int drops_cmp(const void *key, const void *elem)
{
	const uint64_t *inode = key;
	const struct inode_drops *d = elem;

	return CMP3(*inode, d->inode);
}

static int drops_sort_cmp(const void *a, const void *b)
{
	const struct inode_drops *x = a, *y = b;

	return CMP3(x->inode, y->inode);
}

static int acceptor_cmp(const struct rt_acceptor_sample *a, const struct rt_acceptor_sample *b)
{
	int c;

	if ((c = CMP3(a->inode, b->inode)) || (c = CMP3(a->pid, b->pid)))
		return c;
	return CMP3(a->tid, b->tid);
}

static int acceptor_bsearch_cmp(const void *key, const void *elem)
{
	return acceptor_cmp(key, elem);
}

static const struct rt_acceptor_sample *find_acceptor(const struct rt_acceptor_sample *v, size_t n,
						      const struct rt_acceptor_sample *key)
{
	return n ? bsearch(key, v, n, sizeof(*v), acceptor_bsearch_cmp) : NULL;
}

/* First acceptor of listener `inode` in the sorted array, or n. */
static size_t acceptors_lower_bound(const struct rt_acceptor_sample *v, size_t n, uint64_t inode)
{
	size_t lo = 0, hi = n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v[mid].inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool holds_pid(const struct rt_listener *l, const struct rt_filter *f)
{
	for (size_t i = 0; i < l->nholders; i++)
		for (size_t j = 0; j < f->npids; j++)
			if (l->holders[i].pid == f->pids[j])
				return true;
	return false;
}

#define UDP_CONNECTED 1 /* TCP_ESTABLISHED, as sock_diag reports a connected UDP socket */

/*
 * UDP: discovery reports every bound socket, clients' too. A group is shown when it has a
 * server socket: unconnected, and either sharing the port (reuseport), bound outside the
 * ephemeral range, or counted by the probes (which only count server sockets).
 */
static bool udp_group_shown(const struct rt_sample *s, size_t first, size_t end,
			    const struct rt_filter *f)
{
	size_t unconnected = 0;
	bool counted = false;
	uint16_t port = s->listeners[first].port;

	for (size_t i = first; i < end; i++) {
		if (s->listeners[i].state == UDP_CONNECTED)
			continue;
		unconnected++;
		counted |= find_sock(s->socks, s->nsocks, s->listeners[i].inode) != NULL;
	}
	if (!unconnected)
		return false;
	if (unconnected > 1 || counted || !f || !f->ephemeral_hi)
		return true;
	return port < f->ephemeral_lo || port > f->ephemeral_hi;
}

static bool group_wanted(const struct rt_sample *s, size_t first, size_t end,
			 const struct rt_filter *f)
{
	bool pid_match = false;

	if (s->listeners[first].proto == IPPROTO_UDP && !udp_group_shown(s, first, end, f))
		return false;
	if (!f)
		return true;
	if (f->nports) {
		bool port_match = false;

		for (size_t j = 0; j < f->nports; j++)
			port_match |= f->ports[j] == s->listeners[first].port;
		if (!port_match)
			return false;
	}
	if (!f->npids)
		return true;
	for (size_t i = first; i < end && !pid_match; i++) {
		const struct rt_listener *l = &s->listeners[i];
		size_t k = acceptors_lower_bound(s->acceptors, s->nacceptors, l->inode);

		pid_match = holds_pid(l, f);
		for (; !pid_match && k < s->nacceptors && s->acceptors[k].inode == l->inode; k++)
			for (size_t j = 0; j < f->npids; j++)
				pid_match |= (int)s->acceptors[k].pid == f->pids[j];
	}
	return pid_match;
}

/* Only the groups that had acceptors: no pass over (and cache miss on) every group. */
static void free_acceptors(struct rt_model *m)
{
	for (size_t i = 0; i < m->nrows; i++)
		free(m->rows[i]);
	m->nrows = 0;
	m->ngroups = 0;
}

/* The drop counter listener li (of inode) had in the last sample, or NULL. */
static const struct inode_drops *drops_before(struct rt_model *m, size_t li, uint64_t inode)
{
	/* Most listeners are where they were. */
	if (li < m->nprev_drops && m->prev_drops[li].inode == inode)
		return &m->prev_drops[li];
	if (!m->nprev_drops)
		return NULL;
	if (!m->prev_drops_sorted_ok) {
		/* save_prev_drops() made room. */
		memcpy(m->prev_drops_sorted, m->prev_drops,
		       m->nprev_drops * sizeof(*m->prev_drops));
		qsort(m->prev_drops_sorted, m->nprev_drops, sizeof(*m->prev_drops), drops_sort_cmp);
		m->prev_drops_sorted_ok = true;
	}
	return bsearch(&inode, m->prev_drops_sorted, m->nprev_drops, sizeof(*m->prev_drops),
		       drops_cmp);
}

/* Listener li of the sample, as member v of its group. */
static void fill_socket(struct rt_model *m, const struct rt_sample *s, size_t li, double interval,
			struct rt_sock_view *v)
{
	static const struct rt_sock_sample none;
	const struct rt_listener *l = &s->listeners[li];
	const struct rt_sock_sample *now = find_sock(s->socks, s->nsocks, l->inode);
	const struct rt_sock_sample *before = find_sock(m->prev_socks, m->nprev_socks, l->inode);
	const struct inode_drops *drops_prev = drops_before(m, li, l->inode);

	if (!now)
		now = &none;
	if (!before)
		before = &none;

	v->l = l;
	v->sample = now == &none ? NULL : now;
	v->enqueued = now->enqueued;
	v->accepted = now->accepted;
	v->eagain = now->eagain;
	v->selected = now->selected;
	v->wakeups = now->wakeups;
	v->enqueued_delta = counter_delta(now->enqueued, before->enqueued);
	v->wakeups_delta = counter_delta(now->wakeups, before->wakeups);
	v->wakeups_rate =
		s->features.wakeups ? rate_per_s(now->wakeups, before->wakeups, interval) : NAN;
	/* The peak seen at enqueues, or the queue now when nothing was enqueued. */
	v->queue_max = now->queue_peak > l->queue ? (uint32_t)now->queue_peak : l->queue;
	v->drops_rate = l->drops >= 0 ? rate_per_s((uint64_t)l->drops,
						   drops_prev && drops_prev->drops >= 0
							   ? (uint64_t)drops_prev->drops
							   : 0,
						   interval)
				      : NAN;
	/* Most listeners have no counters: nothing to sum. */
	if (s->features.wait && now != &none)
		v->wait = wait_summary(now->wait, before == &none ? NULL : before->wait);
	else
		v->wait = (struct rt_wait_summary){NAN, NAN, NAN, 0};
	v->enqueued_rate = has_enqueued(&s->features, l->proto)
				   ? rate_per_s(now->enqueued, before->enqueued, interval)
				   : NAN;
	v->accepted_rate = has_accepted(&s->features, l->proto)
				   ? rate_per_s(now->accepted, before->accepted, interval)
				   : NAN;
	v->eagain_rate = has_accepted(&s->features, l->proto)
				 ? rate_per_s(now->eagain, before->eagain, interval)
				 : NAN;
	v->selected_rate =
		s->features.selected ? rate_per_s(now->selected, before->selected, interval) : NAN;
}

/* One task's row of listener l (not a folded row) as acceptor view v. */
static void fill_acceptor(struct rt_model *m, const struct rt_sample *s, double interval,
			  const struct rt_listener *l, const struct rt_acceptor_sample *a,
			  struct rt_acceptor_view *v)
{
	const struct rt_acceptor_sample *b =
		find_acceptor(m->prev_acceptors, m->nprev_acceptors, a);
	const struct rt_holder *h = a->exited ? NULL : holder_of(l, (int)a->pid);

	v->a = a;
	v->fd = h ? h->fd : -1;
	v->accepted_rate = rate_per_s(a->accepted, b ? b->accepted : 0, interval);
	v->eagain_rate = rate_per_s(a->eagain, b ? b->eagain : 0, interval);
	v->wakeups_rate =
		s->features.wakeups ? rate_per_s(a->wakeups, b ? b->wakeups : 0, interval) : NAN;
	v->spurious = a->wakeups > a->accepted ? a->wakeups - a->accepted : 0;
}

/* A listener's folded row (exited tasks past their retention), added to the group's. */
static void fold_into_group(struct rt_group_view *g, const struct rt_acceptor_sample *a)
{
	struct rt_acceptor_sample *f = g->folded;

	if (!f->tasks) {
		memset(f, 0, sizeof(*f));
		f->exited = true;
		memcpy(f->comm, a->comm, sizeof(f->comm));
	}
	acceptor_add(f, a);
	f->tasks += a->tasks;
}

/* The acceptors of every member, then one row for the exited tasks folded in the group. */
static int fill_acceptors(struct rt_model *m, const struct rt_sample *s, double interval,
			  struct rt_group_view *g)
{
	struct acceptor_rows *rows;
	size_t n = 0, k;

	for (size_t i = 0; i < g->nsocks; i++) {
		k = acceptors_lower_bound(s->acceptors, s->nacceptors, g->socks[i].l->inode);
		for (; k < s->nacceptors && s->acceptors[k].inode == g->socks[i].l->inode; k++)
			n++;
	}
	if (!n)
		return 0;
	/* Idle groups have none: an allocation per group with acceptors is little. */
	if (!(rows = calloc(1, sizeof(*rows) + n * sizeof(rows->views[0]))))
		return -ENOMEM;
	m->rows[m->nrows++] = rows; /* model_update() made room for one per group */
	g->acceptors = rows->views;
	g->folded = &rows->folded;
	for (size_t i = 0; i < g->nsocks; i++) {
		const struct rt_listener *l = g->socks[i].l;

		k = acceptors_lower_bound(s->acceptors, s->nacceptors, l->inode);
		for (; k < s->nacceptors && s->acceptors[k].inode == l->inode; k++) {
			const struct rt_acceptor_sample *a = &s->acceptors[k];

			if (!a->pid && !a->tid) {
				fold_into_group(g, a);
				continue;
			}
			fill_acceptor(m, s, interval, l, a, &g->acceptors[g->nacceptors]);
			g->spurious += g->acceptors[g->nacceptors++].spurious;
		}
	}
	if (g->folded->tasks) {
		struct rt_acceptor_view *v = &g->acceptors[g->nacceptors++];

		v->a = g->folded;
		v->fd = -1;
		v->accepted_rate = v->eagain_rate = v->wakeups_rate = NAN;
		v->spurious = g->folded->wakeups > g->folded->accepted
				      ? g->folded->wakeups - g->folded->accepted
				      : 0;
		g->spurious += v->spurious;
	}
	return 0;
}

/*
 * Who serves member v (observe/owner.h): the distinct live processes among its rows that
 * accepted from (read) it, kept in the model's storage for the view.
 */
static void fill_owner(struct rt_model *m, const struct rt_sample *s, struct rt_sock_view *v)
{
	const struct rt_listener *l = v->l;
	size_t k = acceptors_lower_bound(s->acceptors, s->nacceptors, l->inode), n = 0;
	const char *comm = NULL;
	int *pids = m->servers + m->nservers; /* model_update() made room for every row */

	for (; k < s->nacceptors && s->acceptors[k].inode == l->inode; k++) {
		const struct rt_acceptor_sample *a = &s->acceptors[k];

		if (a->exited || !a->pid || !a->accepted)
			continue;
		/* Rows are sorted by pid: a process's threads are next to each other. */
		if (n && pids[n - 1] == (int)a->pid)
			continue;
		if (!comm)
			comm = a->comm;
		pids[n++] = (int)a->pid;
	}
	v->servers = pids;
	v->nservers = n;
	m->nservers += n;
	socket_owner(l, pids, n, comm, l->proto == IPPROTO_UDP, &v->owner);
}

static int finish_group(struct rt_model *m, const struct rt_sample *s, double interval,
			struct rt_group_view *g)
{
	size_t n = g->nsocks > g->nacceptors ? g->nsocks : g->nacceptors;
	uint64_t *total, *delta;
	uint64_t interval_total = 0, accepted = 0, interval_wakeups = 0;
	struct rt_imbalance unknown = {NAN, NAN};
	bool enq_known = has_enqueued(&s->features, g->proto);
	bool acc_known = has_accepted(&s->features, g->proto);

	if (reserve_array(&m->scratch, &m->scratch_cap, 2 * (n + 1), sizeof(*m->scratch)))
		return -ENOMEM;
	total = m->scratch;
	delta = m->scratch + n + 1;
	memset(m->scratch, 0, 2 * (n + 1) * sizeof(*m->scratch));
	g->accepted_rate = g->eagain_rate = g->selected_rate = g->wakeups_rate = 0;
	for (size_t i = 0; i < g->nsocks; i++) {
		struct rt_sock_view *v = &g->socks[i];

		g->wakeups += v->wakeups;
		g->wakeups_rate += v->wakeups_rate;
		interval_wakeups += v->wakeups_delta;
		g->enqueued += v->enqueued;
		g->accepted += v->accepted;
		g->eagain += v->eagain;
		g->selected += v->selected;
		g->accepted_rate += v->accepted_rate;
		g->eagain_rate += v->eagain_rate;
		g->selected_rate += v->selected_rate;
		interval_total += v->enqueued_delta;
		total[i] = v->enqueued;
		delta[i] = v->enqueued_delta;
	}
	g->enqueued_rate = enq_known ? (double)interval_total / interval : NAN;
	g->wakeups_per_conn = g->interval_wakeups_per_conn = NAN;
	if (s->features.wakeups && enq_known) {
		if (g->enqueued)
			g->wakeups_per_conn = (double)g->wakeups / (double)g->enqueued;
		if (interval_total)
			g->interval_wakeups_per_conn =
				(double)interval_wakeups / (double)interval_total;
	}
	for (size_t i = 0; i < g->nsocks; i++) {
		struct rt_sock_view *v = &g->socks[i];

		v->share =
			enq_known && g->enqueued ? (double)v->enqueued / (double)g->enqueued : NAN;
		v->interval_share = enq_known && interval_total
					    ? (double)v->enqueued_delta / (double)interval_total
					    : NAN;
	}
	g->imbalance = g->interval_imbalance = g->acceptor_imbalance = unknown;
	if (enq_known) {
		g->imbalance = imbalance_of(total, g->nsocks);
		g->interval_imbalance = imbalance_of(delta, g->nsocks);
	}
	for (size_t i = 0; i < g->nacceptors; i++)
		total[i] = g->acceptors[i].a->accepted;
	/* Of the group's accepts: the rows, exited and folded ones included, add up to them. */
	accepted = g->accepted;
	for (size_t i = 0; i < g->nacceptors; i++)
		g->acceptors[i].share =
			acc_known && accepted ? (double)total[i] / (double)accepted : NAN;
	if (acc_known)
		g->acceptor_imbalance = imbalance_of(total, g->nacceptors);
	return 0;
}

static const struct steer_member_stats *steered_member(const struct steer_group_stats *g,
						       uint64_t inode);

/*
 * The steering reusetop attached to the group of listeners l[0..n): its pins name the group's
 * address and port, and one of these sockets is among its members (a group bound to a device
 * on the same address and port is another group).
 */
static const struct steer_group_stats *steering_of(const struct rt_sample *s,
						   const struct rt_listener *l, size_t n)
{
	for (size_t i = 0; i < s->nsteering; i++) {
		const struct steer_group_stats *g = &s->steering[i];

		if (g->netns != l->netns || g->proto != l->proto || g->family != l->family ||
		    g->port != l->port || memcmp(g->addr, l->addr, sizeof(g->addr)))
			continue;
		for (size_t k = 0; k < n; k++)
			if (steered_member(g, l[k].inode))
				return g;
	}
	return NULL;
}

static const struct steer_member_stats *steered_member(const struct steer_group_stats *g,
						       uint64_t inode)
{
	for (size_t i = 0; g && i < g->nmembers; i++)
		if (g->members[i].inode == inode)
			return &g->members[i];
	return NULL;
}

static int save_prev_drops(struct rt_model *m, const struct rt_sample *s)
{
	if (reserve_array(&m->prev_drops, &m->prev_drops_cap, s->nlisteners,
			  sizeof(*m->prev_drops)) ||
	    reserve_array(&m->prev_drops_sorted, &m->prev_drops_sorted_cap, s->nlisteners,
			  sizeof(*m->prev_drops_sorted)))
		return -ENOMEM;
	for (size_t i = 0; i < s->nlisteners; i++)
		m->prev_drops[i] =
			(struct inode_drops){s->listeners[i].inode, s->listeners[i].drops};
	m->nprev_drops = s->nlisteners;
	m->prev_drops_sorted_ok = false;
	return 0;
}

static int save_prev(struct rt_model *m, const struct rt_sample *s)
{
	if (save_prev_drops(m, s) ||
	    reserve_array(&m->prev_socks, &m->prev_socks_cap, s->nsocks, sizeof(*m->prev_socks)) ||
	    reserve_array(&m->prev_acceptors, &m->prev_acceptors_cap, s->nacceptors,
			  sizeof(*m->prev_acceptors)))
		return -ENOMEM;
	if (s->nsocks)
		memcpy(m->prev_socks, s->socks, s->nsocks * sizeof(*s->socks));
	if (s->nacceptors)
		memcpy(m->prev_acceptors, s->acceptors, s->nacceptors * sizeof(*s->acceptors));
	m->nprev_socks = s->nsocks;
	m->nprev_acceptors = s->nacceptors;
	m->prev_mono_s = s->mono_s;
	m->have_prev = true;
	return handoff_model_save(&m->handoff, s);
}

int model_update(struct rt_model *m, const struct rt_sample *s, double start_mono_s,
		 const struct rt_filter *filter, struct rt_view *view)
{
	double interval = s->mono_s - (m->have_prev ? m->prev_mono_s : start_mono_s);
	size_t first, end;
	int err;

	free_acceptors(m);
	m->nservers = 0;
	memset(view, 0, sizeof(*view));
	if (!(interval > 0))
		interval = 1e-9;
	/* At most one group and one member per listener. */
	if (reserve_array(&m->groups, &m->groups_cap, s->nlisteners, sizeof(*m->groups)) ||
	    reserve_array(&m->socks, &m->socks_cap, s->nlisteners, sizeof(*m->socks)) ||
	    reserve_array(&m->rows, &m->rows_cap, s->nlisteners, sizeof(*m->rows)) ||
	    reserve_array(&m->servers, &m->servers_cap, s->nacceptors + 1, sizeof(*m->servers)))
		return -ENOMEM;
	for (first = 0; first < s->nlisteners; first = end) {
		struct rt_group_view *g;

		for (end = first + 1; end < s->nlisteners &&
				      !listener_group_cmp(&s->listeners[first], &s->listeners[end]);
		     end++)
			;
		if (!group_wanted(s, first, end, filter))
			continue;
		g = &m->groups[m->ngroups++];
		memset(g, 0, sizeof(*g));
		g->netns = s->listeners[first].netns;
		g->family = s->listeners[first].family;
		g->proto = s->listeners[first].proto;
		g->port = s->listeners[first].port;
		memcpy(g->addr, s->listeners[first].addr, sizeof(g->addr));
		g->v6only = s->listeners[first].v6only;
		g->bound_ifindex = s->listeners[first].bound_ifindex;
		g->closed = s->listeners[first].closed;
		memcpy(g->bound_dev, s->listeners[first].bound_dev, sizeof(g->bound_dev));
		g->socks = &m->socks[first];
		memset(g->socks, 0, (end - first) * sizeof(*g->socks));
		/* Pins name the address and port: a group bound elsewhere on them is not it. */
		g->steering = steering_of(s, &s->listeners[first], end - first);
		for (size_t i = first; i < end; i++) {
			fill_socket(m, s, i, interval, &g->socks[g->nsocks]);
			g->socks[g->nsocks].steered =
				steered_member(g->steering, s->listeners[i].inode);
			fill_owner(m, s, &g->socks[g->nsocks++]);
		}
		if ((err = fill_acceptors(m, s, interval, g)))
			return err;
		if ((err = finish_group(m, s, interval, g)))
			return err;
		view->nsockets += g->nsocks;
	}
	if ((err = handoff_model_fill(&m->handoff, s, m->groups, m->ngroups, interval)))
		return err;
	view->realtime = s->realtime;
	view->interval_s = interval;
	view->features = s->features;
	view->health = s->health;
	view->groups = m->groups;
	view->ngroups = m->ngroups;
	for (size_t i = 0; i < m->ngroups; i++) {
		view->enqueued_rate += m->groups[i].enqueued_rate;
		view->accepted_rate += m->groups[i].accepted_rate;
	}
	return save_prev(m, s);
}

size_t model_moved(const struct rt_model *m, const struct rt_sock_sample *socks, size_t n,
		   uint64_t *out)
{
	size_t j = 0, nout = 0;

	for (size_t i = 0; i < n; i++) {
		while (j < m->nprev_socks && m->prev_socks[j].inode < socks[i].inode)
			j++;
		/* The whole sample: a counter added to it later is compared too. */
		if (j < m->nprev_socks && m->prev_socks[j].inode == socks[i].inode &&
		    !memcmp(&m->prev_socks[j], &socks[i], sizeof(socks[i])))
			continue;
		out[nout++] = socks[i].inode;
	}
	return nout;
}

int model_new(struct rt_model **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

void model_free(struct rt_model *m)
{
	if (!m)
		return;
	free_acceptors(m);
	free(m->rows);
	free(m->groups);
	free(m->socks);
	free(m->scratch);
	free(m->servers);
	free(m->prev_socks);
	free(m->prev_acceptors);
	free(m->prev_drops);
	free(m->prev_drops_sorted);
	handoff_model_free(&m->handoff);
	free(m);
}
