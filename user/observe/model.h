/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The data model: a sample is what collection read at one moment (cumulative counters and the
 * sockets discovery found); a view is what renderers show (groups, rates, shares, fairness).
 * Everything here is pure computation, unit tested, with no BPF and no output.
 */
#ifndef REUSETOP_MODEL_H
#define REUSETOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>
#include <netinet/in.h>
#include <linux/types.h>

#include "observe/container.h"
#include "observe/discovery.h"
#include "observe/owner.h"
#include "reusetop.h"
#include "util.h"

/* Cumulative counters of one socket since reusetop attached, keyed by socket inode. */
#define RT_WAIT_BUCKETS 32 /* log2 microseconds: bucket 0 under 1 us, bucket i below 2^i us */

struct rt_sock_sample {
	uint64_t inode;
	uint64_t enqueued;
	uint64_t accepted;
	uint64_t eagain;
	uint64_t selected;
	uint64_t wakeups; /* tasks the scheduler woke for this listener's readiness */
	uint64_t queue_peak; /* longest accept queue seen at an enqueue since the last sample */
	uint64_t wait[RT_WAIT_BUCKETS]; /* accepted connections by time spent queued */
};

/*
 * Cumulative counters of one task accepting from one listener (TCP), or reading one socket
 * (UDP: accepted counts the datagrams it read). Tasks that exited are kept (exited) and later
 * folded into one row per listener with pid 0 and tid 0 (tasks: how many were folded into it):
 * the rows of a listener add up to everything its tasks did since reusetop attached.
 */
struct rt_acceptor_sample {
	uint64_t inode;
	uint32_t pid;
	uint32_t tid;
	char comm[RT_COMM_LEN];
	uint64_t accepted;
	uint64_t eagain;
	uint64_t wakeups;
	uint64_t wait[RT_WAIT_BUCKETS]; /* its accepted connections by time spent queued */
	bool exited;
	uint32_t tasks; /* 1; on a folded row, the tasks folded into it */
};

/* Add row from's counts to row to's (not its tasks: a task's two entries are one task). */
static inline void acceptor_add(struct rt_acceptor_sample *to,
				const struct rt_acceptor_sample *from)
{
	to->accepted += from->accepted;
	to->eagain += from->eagain;
	to->wakeups += from->wakeups;
	for (int k = 0; k < RT_WAIT_BUCKETS; k++)
		to->wait[k] += from->wait[k];
}

/*
 * Connections one task received over a Unix socket (SCM_RIGHTS) from one acceptor, for the group
 * of local end ep, cumulative since attach. Like acceptors, exited tasks are kept (exited) and
 * later folded into one row per (ep, from_pid) with pid 0 and tid 0 (tasks: how many).
 */
struct rt_handoff_sample {
	struct rt_endpoint ep;
	uint32_t pid, tid;
	uint32_t from_pid; /* the process that accepted them */
	char comm[RT_COMM_LEN];
	uint64_t received;
	uint64_t wait[RT_WAIT_BUCKETS]; /* by time from accept to receipt */
	bool exited;
	uint32_t tasks;
};

/* The order of hand-off samples: by (ep, pid, tid, from_pid), for qsort and bsearch. */
int handoff_sample_cmp(const void *a, const void *b);

/* Connections a task accepted and passed on, for the group of ep. */
struct rt_handed_sample {
	struct rt_endpoint ep;
	uint32_t pid, tid;
	uint64_t handed_off;
};

/* Per group endpoint: connections passed to a Unix socket (each hop) and received. */
struct rt_handoff_flow_sample {
	struct rt_endpoint ep;
	uint64_t sent, received;
};

/* Which counters the attached probes can produce; the others are reported as unknown (null). */
struct rt_features {
	bool enqueued;
	bool accepted;
	bool selected;
	bool wakeups; /* wakeups charged to listeners and woken tasks */
	bool wait; /* queue wait histograms */
	bool udp; /* UDP datagrams queued (enqueued) and read (received) */
	bool handoff; /* connections passed over Unix sockets and who received them */
};

/* Whether a socket of this protocol has queued / taken-off counts under these features. */
static inline bool has_enqueued(const struct rt_features *f, uint8_t proto)
{
	return proto == IPPROTO_UDP ? f->udp : f->enqueued;
}

static inline bool has_accepted(const struct rt_features *f, uint8_t proto)
{
	return proto == IPPROTO_UDP ? f->udp : f->accepted;
}

/* What the probes could not record (map full, ...), summed over CPUs and objects. */
struct rt_health_sample {
	uint64_t sock_map_full;
	uint64_t acceptor_map_full;
	uint64_t inflight_full;
	uint64_t no_inode;
	uint64_t wait_unknown;
	uint64_t socket_unknown; /* sockets forgotten with no identity: their counts are lost */
};

struct steer_group_stats;
struct steer_member_stats;

struct rt_sample {
	double mono_s; /* CLOCK_MONOTONIC, seconds */
	struct timespec realtime; /* CLOCK_REALTIME of the same moment */
	const struct rt_listener *listeners; /* from discovery, sorted */
	size_t nlisteners;
	const struct rt_sock_sample *socks; /* sorted by inode */
	size_t nsocks;
	const struct rt_acceptor_sample *acceptors; /* sorted by (inode, pid, tid) */
	size_t nacceptors;
	struct rt_features features;
	struct rt_health_sample health;
	const struct steer_group_stats *steering; /* groups `reusetop steer` attached to */
	size_t nsteering;
	const struct rt_handoff_sample *handoffs; /* sorted by (ep, pid, tid, from_pid) */
	size_t nhandoffs;
	const struct rt_handed_sample *handed;
	size_t nhanded;
	const struct rt_handoff_flow_sample *flows;
	size_t nflows;
};

/* Percentiles of a queue wait histogram: the upper bound of the bucket, NAN when empty. */
struct rt_wait_summary {
	double p50_us, p90_us, p99_us;
	uint64_t count;
};

struct rt_sock_view {
	const struct rt_listener *l;
	struct rt_owner owner; /* the process that serves it (observe/owner.h) */
	const struct rt_identity *ident; /* the owner's cgroup and container, NULL when unknown */
	const int *servers; /* live processes that accepted from (read) it, sorted; nservers */
	size_t nservers;
	const struct steer_member_stats *steered; /* this member in reusetop's policy, or NULL */
	const struct rt_sock_sample *sample; /* cumulative counters, NULL when none yet */
	uint64_t enqueued, accepted, eagain, selected, wakeups;
	uint64_t enqueued_delta, wakeups_delta; /* in the last interval */
	double enqueued_rate, accepted_rate, eagain_rate, selected_rate, wakeups_rate; /* per s */
	double drops_rate;
	uint32_t queue_max; /* longest accept queue in the interval */
	struct rt_wait_summary wait; /* over the last interval */
	double share; /* of the group's enqueued since start; NAN when unknown */
	double interval_share; /* of the group's enqueued in the last interval; NAN when unknown */
};

struct rt_acceptor_view {
	const struct rt_acceptor_sample *a; /* pid 0: the group's folded exited tasks */
	uint64_t handed_off; /* connections it accepted and passed on (its tid's) */
	int fd; /* a->pid's descriptor for the listener, -1 when unknown (exited, folded) */
	const struct rt_identity *ident; /* the task's cgroup and container, NULL when unknown */
	double accepted_rate, eagain_rate, wakeups_rate; /* NAN on the folded row */
	uint64_t spurious; /* wakeups that did not end in an accept: wakeups beyond accepts */
	double share; /* of the group's accepted since start; NAN when unknown */
};

/* One receiving task of a group's hand-offs. */
struct rt_handoff_view {
	const struct rt_handoff_sample *h; /* pid 0: folded exited receivers */
	const struct rt_identity *ident; /* the task's cgroup and container, NULL when unknown */
	double received_rate; /* per s; NAN on the folded row */
	double share; /* of the group's received connections */
	struct rt_wait_summary wait; /* accept to receipt over the last interval */
};

struct rt_imbalance {
	double max_share; /* largest member share of enqueued; NAN when nothing was enqueued */
	double jain; /* Jain's fairness index over members: 1 even, 1/n all on one */
};

struct rt_group_view {
	const struct steer_group_stats *steering; /* reusetop's policy on this group, or NULL */
	uint64_t netns;
	uint8_t family, proto;
	uint8_t addr[16];
	uint16_t port;
	int8_t v6only; /* IPv6: the members' IPV6_V6ONLY; IPv4: -1 */
	uint32_t bound_ifindex; /* 0: not bound to a device */
	char bound_dev[16];
	bool closed; /* its sockets closed: their final counts (observe/closed.h) */
	struct rt_sock_view *socks;
	size_t nsocks;
	struct rt_acceptor_view *acceptors; /* the folded row, if any, last */
	size_t nacceptors;
	/* The folded rows of the group's listeners, summed (tasks 0: none); NULL with no acceptors */
	struct rt_acceptor_sample *folded;
	uint64_t enqueued, accepted, eagain, selected, wakeups, spurious;
	double enqueued_rate, accepted_rate, eagain_rate, selected_rate, wakeups_rate;
	double wakeups_per_conn; /* since start: 1 ideal, N when N idle workers wake */
	double interval_wakeups_per_conn; /* the same over the last interval */
	struct rt_imbalance imbalance; /* over enqueued since start */
	struct rt_imbalance interval_imbalance; /* over enqueued in the last interval */
	struct rt_imbalance acceptor_imbalance; /* over accepted by task since start */
	struct rt_handoff_view *handoffs; /* receivers with received > 0, by received */
	size_t nhandoffs;
	uint64_t handoff_received; /* the receivers' sum */
	uint64_t handoff_pending; /* passed to a Unix socket and not received (yet) */
	struct rt_imbalance handoff_imbalance; /* over received by task since start */
};

struct rt_filter {
	const int *pids;
	size_t npids;
	const uint16_t *ports;
	size_t nports;
	/*
	 * The ephemeral port range (0, 0: unknown). A lone UDP socket bound inside it with no
	 * datagrams counted is a client's, not a server's, and is not shown.
	 */
	uint16_t ephemeral_lo, ephemeral_hi;
};

struct rt_view {
	struct timespec realtime;
	double interval_s;
	double refresh_s; /* time reusetop spent discovering, collecting and modelling */
	const char *attach; /* tier name */
	struct rt_features features;
	struct rt_health_sample health;
	const char *const *degraded; /* NULL-terminated human-readable notes, may be NULL */
	struct rt_group_view *groups;
	size_t ngroups;
	size_t nsockets;
	double enqueued_rate, accepted_rate; /* over all shown groups */
};

/* Keeps the previous sample's counters so rates can be computed. */
struct rt_model;

int model_new(struct rt_model **out);
void model_free(struct rt_model *m);
/*
 * Build the view of sample s (rates against the previous update; the first update measures from
 * start_mono_s, when the probes were attached). The view and everything it points to are owned
 * by the model and valid until the next update; the sample must stay valid as long as the view.
 */
int model_update(struct rt_model *m, const struct rt_sample *s, double start_mono_s,
		 const struct rt_filter *filter, struct rt_view *view);

/*
 * The inodes (sorted) whose counters in socks (sorted, n of them) differ from those of the last
 * update, new ones included: the sockets whose queue and drops are worth reading again. out has
 * room for n. Returns how many.
 */
size_t model_moved(const struct rt_model *m, const struct rt_sock_sample *socks, size_t n,
		   uint64_t *out);

/* Pure helpers, exported for the tests. */
double rate_per_s(uint64_t now, uint64_t before, double interval_s);
/* Percentiles of the histogram now - before (before may be NULL). */
struct rt_wait_summary wait_summary(const uint64_t *now, const uint64_t *before);
double wait_bucket_upper_us(unsigned int bucket);
struct rt_imbalance imbalance_of(const uint64_t *counts, size_t n);

#endif
