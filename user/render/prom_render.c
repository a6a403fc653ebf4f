// SPDX-License-Identifier: GPL-2.0
/*
 * The --prometheus output: one scrape in the Prometheus text exposition format (0.0.4). Metric
 * names, types and labels are a contract: see README.md and reusetop(8). A value the attached
 * tier cannot measure has no sample at all, never a made-up 0.
 */
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <string.h>

#include "render/json.h"
#include "render/render.h"
#include "steer/steer.h"

#ifndef REUSETOP_VERSION
#define REUSETOP_VERSION "unknown"
#endif

/*
 * A label value: backslash, double quote and newline escaped as the format wants. Prometheus
 * refuses a whole scrape over one invalid UTF-8 label value, and a comm is any 15 bytes (cut
 * in the middle of a character, even): invalid bytes become U+FFFD.
 */
void prom_write_label_value(FILE *f, const char *value)
{
	const unsigned char *s = (const unsigned char *)value;

	fputc('"', f);
	while (*s) {
		size_t n;

		if (*s == '\\' || *s == '"') {
			fputc('\\', f);
			fputc(*s++, f);
			continue;
		}
		if (*s == '\n') {
			fputs("\\n", f);
			s++;
			continue;
		}
		n = utf8_valid_len(s);
		if (!n) {
			fputs("\xef\xbf\xbd", f);
			s++;
			continue;
		}
		fwrite(s, 1, n, f);
		s += n;
	}
	fputc('"', f);
}

static void label(FILE *f, bool *first, const char *name, const char *value)
{
	fprintf(f, "%s%s=", *first ? "{" : ",", name);
	prom_write_label_value(f, value);
	*first = false;
}

static void label_uint(FILE *f, bool *first, const char *name, unsigned long long value)
{
	char buf[24];

	snprintf(buf, sizeof(buf), "%llu", value);
	label(f, first, name, buf);
}

/*
 * proto, family, addr, port, netns: what identifies a group; and, only where they are set (so
 * that the usual series keep their labels), the bound device and IPV6_V6ONLY, which make
 * another group on the same address and port.
 */
static void group_labels(FILE *f, bool *first, const struct rt_group_view *g)
{
	char addr[64];

	label(f, first, "proto", proto_name(g->proto));
	label(f, first, "family", family_name(g->family));
	label(f, first, "addr", addr_str(g->family, g->addr, addr, sizeof(addr)));
	label_uint(f, first, "port", g->port);
	label_uint(f, first, "netns", g->netns);
	if (g->bound_ifindex) {
		if (g->bound_dev[0])
			label(f, first, "dev", g->bound_dev);
		else
			label_uint(f, first, "dev", g->bound_ifindex);
	}
	if (g->v6only > 0)
		label(f, first, "v6only", "1");
	/* The closed sockets of a restarted server form a group beside the live one. */
	if (g->closed)
		label(f, first, "closed", "1");
}

/* The owner's container (its id, or the systemd unit), pod and namespace; empty ones omitted. */
static void container_labels(FILE *f, bool *first, const struct rt_identity *id)
{
	const struct rt_container *c = &id->container;

	if (!id->in_container)
		return;
	if (c->id[0])
		label(f, first, "container", c->id);
	if (c->pod[0])
		label(f, first, "pod", c->pod);
	if (c->k8s_namespace[0])
		label(f, first, "namespace", c->k8s_namespace);
}

/*
 * A socket's series: its group's labels, its inode, and its owner (the process serving it)
 * with its container.
 */
static void sock_labels(FILE *f, const struct rt_group_view *g, const struct rt_sock_view *s,
			const char *le)
{
	bool first = true;

	group_labels(f, &first, g);
	label_uint(f, &first, "inode", s->l->inode);
	if (s->owner.source != RT_OWNER_NONE) {
		label_uint(f, &first, "pid", (unsigned long long)s->owner.pid);
		label(f, &first, "comm", s->owner.comm);
	}
	if (s->ident)
		container_labels(f, &first, s->ident);
	if (le)
		label(f, &first, "le", le);
	fputc('}', f);
}

static void header(FILE *f, const char *name, const char *type, const char *help)
{
	fprintf(f, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* Finite values only: NaN and infinities are unknown and get no sample. */
static void sample_double(FILE *f, double value)
{
	fprintf(f, " %.9g\n", value);
}

/* The sockets exported: the first max_sockets of the view, in its order (stable over time). */
struct cursor {
	size_t group, sock, seen;
};

static bool next_sock(const struct rt_view *v, size_t max, struct cursor *c,
		      const struct rt_group_view **g, const struct rt_sock_view **s)
{
	while (c->group < v->ngroups && c->seen < max) {
		const struct rt_group_view *gv = &v->groups[c->group];

		if (c->sock < gv->nsocks) {
			*g = gv;
			*s = &gv->socks[c->sock++];
			c->seen++;
			return true;
		}
		c->group++;
		c->sock = 0;
	}
	return false;
}

enum sock_metric {
	M_ENQUEUED,
	M_ACCEPTED,
	M_RECEIVED,
	M_EAGAIN,
	M_SELECTED,
	M_WAKEUPS,
	M_DROPS,
	M_QUEUE,
	M_QUEUE_MAX,
	M_BACKLOG,
	M_RECV_QUEUE_BYTES,
};

static const struct {
	enum sock_metric id;
	const char *name, *type, *help;
} sock_metrics[] = {
	{M_ENQUEUED, "reusetop_enqueued_total", "counter",
	 "Connections (TCP) or datagrams (UDP) the kernel queued to the socket since reusetop "
	 "started."},
	{M_ACCEPTED, "reusetop_accepted_total", "counter",
	 "Connections accept() took off the TCP listener's queue since reusetop started."},
	{M_RECEIVED, "reusetop_received_total", "counter",
	 "Datagrams the application read from the UDP socket since reusetop started."},
	{M_EAGAIN, "reusetop_eagain_total", "counter",
	 "accept() calls on the TCP listener that found its queue empty since reusetop started."},
	{M_SELECTED, "reusetop_selected_total", "counter",
	 "Times the kernel's SO_REUSEPORT selection picked the socket since reusetop started."},
	{M_WAKEUPS, "reusetop_wakeups_total", "counter",
	 "Tasks the scheduler woke for the TCP listener's readiness since reusetop started."},
	{M_DROPS, "reusetop_drops_total", "counter",
	 "The socket's kernel drop counter, cumulative since the socket was created."},
	{M_QUEUE, "reusetop_queue_length", "gauge",
	 "Connections in the TCP listener's accept queue now."},
	{M_QUEUE_MAX, "reusetop_queue_max", "gauge",
	 "Longest accept queue of the TCP listener during reusetop's last interval."},
	{M_BACKLOG, "reusetop_backlog", "gauge",
	 "The TCP listener's backlog limit (the kernel holds backlog + 1)."},
	{M_RECV_QUEUE_BYTES, "reusetop_receive_queue_bytes", "gauge",
	 "Bytes in the UDP socket's receive queue now."},
};

/* A socket's value for one metric; false when unknown or not applicable to its protocol. */
static bool sock_value(const struct rt_view *v, const struct rt_sock_view *s, enum sock_metric m,
		       uint64_t *out)
{
	const struct rt_features *ft = &v->features;
	bool tcp = s->l->proto == IPPROTO_TCP, udp = s->l->proto == IPPROTO_UDP;

	switch (m) {
	case M_ENQUEUED:
		*out = s->enqueued;
		return has_enqueued(ft, s->l->proto);
	case M_ACCEPTED:
		*out = s->accepted;
		return tcp && ft->accepted;
	case M_RECEIVED:
		*out = s->accepted;
		return udp && ft->udp;
	case M_EAGAIN:
		*out = s->eagain;
		return tcp && ft->accepted;
	case M_SELECTED:
		*out = s->selected;
		return ft->selected;
	case M_WAKEUPS:
		*out = s->wakeups;
		return tcp && ft->wakeups;
	case M_DROPS:
		*out = (uint64_t)s->l->drops;
		return s->l->drops >= 0;
	case M_QUEUE:
		*out = s->l->queue;
		return tcp;
	case M_QUEUE_MAX:
		*out = s->queue_max;
		return tcp;
	case M_BACKLOG:
		*out = s->l->backlog;
		return tcp;
	case M_RECV_QUEUE_BYTES:
		*out = s->l->queue;
		return udp;
	}
	return false;
}

static void sock_families(FILE *f, const struct rt_view *v, size_t max)
{
	for (size_t i = 0; i < sizeof(sock_metrics) / sizeof(sock_metrics[0]); i++) {
		const struct rt_group_view *g;
		const struct rt_sock_view *s;
		struct cursor c = {};
		uint64_t value;

		header(f, sock_metrics[i].name, sock_metrics[i].type, sock_metrics[i].help);
		while (next_sock(v, max, &c, &g, &s)) {
			if (!sock_value(v, s, sock_metrics[i].id, &value))
				continue;
			fputs(sock_metrics[i].name, f);
			sock_labels(f, g, s, NULL);
			fprintf(f, " %llu\n", (unsigned long long)value);
		}
	}
}

/*
 * The queue wait histogram, cumulative since start. BPF's log2 slot i < 31 holds waits under
 * 2^i us: le = 2^i us exactly, written in decimal seconds; the last slot is open (+Inf). BPF
 * keeps no sum of the waits, so there is no _sum sample (Prometheus does not require one:
 * histogram_quantile() works from the buckets alone).
 */
static void wait_histogram(FILE *f, const struct rt_view *v, size_t max)
{
	static const char name[] = "reusetop_queue_wait_seconds";
	const struct rt_group_view *g;
	const struct rt_sock_view *s;
	struct cursor c = {};

	header(f, name, "histogram",
	       "Time accepted connections waited in the TCP listener's accept queue, since "
	       "reusetop started (no _sum: the kernel side keeps log2 buckets only).");
	if (!v->features.wait)
		return;
	while (next_sock(v, max, &c, &g, &s)) {
		uint64_t cumulative = 0;

		if (s->l->proto != IPPROTO_TCP)
			continue;
		for (unsigned int i = 0; i < RT_WAIT_BUCKETS; i++) {
			unsigned long long us = 1ull << i;
			char le[32];

			cumulative += s->sample ? s->sample->wait[i] : 0;
			if (i == RT_WAIT_BUCKETS - 1)
				snprintf(le, sizeof(le), "+Inf");
			else
				snprintf(le, sizeof(le), "%llu.%06llu", us / 1000000, us % 1000000);
			fprintf(f, "%s_bucket", name);
			sock_labels(f, g, s, le);
			fprintf(f, " %llu\n", (unsigned long long)cumulative);
		}
		fprintf(f, "%s_count", name);
		sock_labels(f, g, s, NULL);
		fprintf(f, " %llu\n", (unsigned long long)cumulative);
	}
}

enum group_metric { G_MEMBERS, G_MAX_SHARE, G_JAIN, G_WAKEUPS_PER_CONN };

static const struct {
	enum group_metric id;
	const char *name, *help;
} group_metrics[] = {
	{G_MEMBERS, "reusetop_group_members",
	 "Sockets in the SO_REUSEPORT group (1: a lone socket)."},
	{G_MAX_SHARE, "reusetop_group_max_share",
	 "Largest member's share of the group's enqueued since reusetop started (1/members is "
	 "even)."},
	{G_JAIN, "reusetop_group_jain",
	 "Jain's fairness index over the members' enqueued since reusetop started (1 even, "
	 "1/members all on one)."},
	{G_WAKEUPS_PER_CONN, "reusetop_group_wakeups_per_connection",
	 "Task wakeups per queued connection since reusetop started (1 ideal, N when N idle "
	 "workers wake)."},
};

static double group_value(const struct rt_group_view *g, enum group_metric m)
{
	switch (m) {
	case G_MEMBERS:
		return (double)g->nsocks;
	case G_MAX_SHARE:
		return g->imbalance.max_share;
	case G_JAIN:
		return g->imbalance.jain;
	case G_WAKEUPS_PER_CONN:
		return g->proto == IPPROTO_TCP ? g->wakeups_per_conn : NAN;
	}
	return NAN;
}

/* Groups with at least one exported socket. */
static void group_families(FILE *f, const struct rt_view *v, size_t max)
{
	for (size_t i = 0; i < sizeof(group_metrics) / sizeof(group_metrics[0]); i++) {
		size_t before = 0;

		header(f, group_metrics[i].name, "gauge", group_metrics[i].help);
		for (size_t k = 0; k < v->ngroups && before < max; k++) {
			const struct rt_group_view *g = &v->groups[k];
			double value = group_value(g, group_metrics[i].id);
			bool first = true;

			before += g->nsocks;
			if (!isfinite(value))
				continue;
			fputs(group_metrics[i].name, f);
			group_labels(f, &first, g);
			fputc('}', f);
			sample_double(f, value);
		}
	}
}

/* The max share and Jain's index over each group's receivers of hand-offs. */
static void handoff_imbalance_families(FILE *f, const struct rt_view *v, size_t max)
{
	static const char *const names[] = {"reusetop_handoff_max_share", "reusetop_handoff_jain"};
	static const char *const helps[] = {
		"Largest receiving task's share of the group's handed-off connections.",
		"Jain's fairness index over the tasks receiving the group's handed-off "
		"connections."};

	for (int m = 0; m < 2; m++) {
		size_t before = 0;

		header(f, names[m], "gauge", helps[m]);
		for (size_t k = 0; k < v->ngroups && before < max; k++) {
			const struct rt_group_view *g = &v->groups[k];
			double value =
				m ? g->handoff_imbalance.jain : g->handoff_imbalance.max_share;
			bool first = true;

			before += g->nsocks;
			if (!g->nhandoffs || !isfinite(value))
				continue;
			fputs(names[m], f);
			group_labels(f, &first, g);
			fputc('}', f);
			sample_double(f, value);
		}
	}
}

/* Receivers of connections passed over Unix sockets, and each group's pending and imbalance. */
static void handoff_families(FILE *f, const struct rt_view *v, size_t max)
{
	static const char received[] = "reusetop_handoff_received_total";
	size_t before = 0;

	if (!v->features.handoff)
		return;
	header(f, received, "counter",
	       "Connections the task received over a Unix socket (SCM_RIGHTS) from the acceptor "
	       "from_pid, each counted at its last receiver, since reusetop started.");
	for (size_t k = 0; k < v->ngroups && before < max; k++) {
		const struct rt_group_view *g = &v->groups[k];

		before += g->nsocks;
		for (size_t i = 0; i < g->nhandoffs; i++) {
			const struct rt_handoff_view *h = &g->handoffs[i];
			bool first = true;

			fputs(received, f);
			group_labels(f, &first, g);
			if (h->h->pid) {
				label_uint(f, &first, "pid", h->h->pid);
				label_uint(f, &first, "tid", h->h->tid);
				label(f, &first, "comm", h->h->comm);
			} else {
				label(f, &first, "comm", "(exited)");
			}
			label_uint(f, &first, "from_pid", h->h->from_pid);
			fprintf(f, "} %llu\n", (unsigned long long)h->h->received);
		}
	}
	header(f, "reusetop_handoff_pending", "gauge",
	       "Connections passed to a Unix socket and not received yet.");
	before = 0;
	for (size_t k = 0; k < v->ngroups && before < max; k++) {
		const struct rt_group_view *g = &v->groups[k];
		bool first = true;

		before += g->nsocks;
		if (!g->nhandoffs && !g->handoff_pending)
			continue;
		fputs("reusetop_handoff_pending", f);
		group_labels(f, &first, g);
		fprintf(f, "} %llu\n", (unsigned long long)g->handoff_pending);
	}
	handoff_imbalance_families(f, v, max);
}

static void process_families(FILE *f, const struct rt_view *v, size_t max)
{
	static const char *const reasons[] = {"socket_map_full",   "acceptor_map_full",
					      "inflight_map_full", "no_inode",
					      "wait_unknown",	   "socket_unknown"};
	const uint64_t lost[] = {v->health.sock_map_full, v->health.acceptor_map_full,
				 v->health.inflight_full, v->health.no_inode,
				 v->health.wait_unknown,  v->health.socket_unknown};
	static const char *const features[] = {"enqueued", "accepted", "selected", "wakeups",
					       "wait",	   "udp",      "handoff"};
	const bool have[] = {v->features.enqueued, v->features.accepted, v->features.selected,
			     v->features.wakeups,  v->features.wait,	 v->features.udp,
			     v->features.handoff};
	size_t omitted = v->nsockets > max ? v->nsockets - max : 0;
	bool first = true;

	header(f, "reusetop_info", "gauge",
	       "Always 1: the reusetop version and the attach tier in use.");
	fputs("reusetop_info", f);
	label(f, &first, "version", REUSETOP_VERSION);
	label(f, &first, "attach", v->attach ? v->attach : "none");
	fputs("} 1\n", f);
	header(f, "reusetop_feature_enabled", "gauge",
	       "1 when the attach tier produces this group of counters; 0: their series are "
	       "absent.");
	for (size_t i = 0; i < sizeof(features) / sizeof(features[0]); i++) {
		first = true;
		fputs("reusetop_feature_enabled", f);
		label(f, &first, "feature", features[i]);
		fprintf(f, "} %d\n", have[i]);
	}
	header(f, "reusetop_lost_events_total", "counter",
	       "Events the probes could not record, by reason, since reusetop started.");
	for (size_t i = 0; i < sizeof(reasons) / sizeof(reasons[0]); i++) {
		first = true;
		fputs("reusetop_lost_events_total", f);
		label(f, &first, "reason", reasons[i]);
		fprintf(f, "} %llu\n", (unsigned long long)lost[i]);
	}
	header(f, "reusetop_sockets", "gauge", "Sockets reusetop shows (after -p and -P).");
	fprintf(f, "reusetop_sockets %zu\n", v->nsockets);
	header(f, "reusetop_sockets_omitted", "gauge",
	       "Shown sockets left out of this exposition by the cap on exported sockets.");
	fprintf(f, "reusetop_sockets_omitted %zu\n", omitted);
	header(f, "reusetop_last_refresh_timestamp_seconds", "gauge",
	       "When reusetop last read the counters (Unix time).");
	fprintf(f, "reusetop_last_refresh_timestamp_seconds %lld.%03ld\n",
		(long long)v->realtime.tv_sec, v->realtime.tv_nsec / 1000000);
}

/* ---- groups steered by `reusetop steer` -------------------------------------------------- */

/* Steered groups with at least one exported socket: the policy, its mode, fallbacks by reason. */
static void steer_group_families(FILE *f, const struct rt_view *v, size_t max)
{
	size_t before = 0;

	header(f, "reusetop_steer_info", "gauge",
	       "Always 1 for a group reusetop steer attached a policy to: the policy and its mode "
	       "(enforce, or shadow: the policy only counts, the kernel's hash selects).");
	for (size_t k = 0; k < v->ngroups && before < max; k++) {
		const struct rt_group_view *g = &v->groups[k];
		bool first = true;

		before += g->nsocks;
		if (!g->steering)
			continue;
		fputs("reusetop_steer_info", f);
		group_labels(f, &first, g);
		label(f, &first, "policy", g->steering->policy);
		label(f, &first, "mode", g->steering->shadow ? "shadow" : "enforce");
		fputs("} 1\n", f);
	}
	header(f, "reusetop_steer_fallbacks_total", "counter",
	       "Selections the steering policy could not make, left to the kernel's hash, by "
	       "reason.");
	before = 0;
	for (size_t k = 0; k < v->ngroups && before < max; k++) {
		const struct rt_group_view *g = &v->groups[k];

		before += g->nsocks;
		for (uint32_t r = 0; g->steering && r < STEER_FB_COUNT; r++) {
			bool first = true;

			fputs("reusetop_steer_fallbacks_total", f);
			group_labels(f, &first, g);
			label(f, &first, "reason", steer_fallback_reason_name(r));
			fprintf(f, "} %llu\n", (unsigned long long)g->steering->reasons[r]);
		}
	}
}

enum steer_metric { S_SELECTED, S_WOULD, S_HASHED, S_CLOSED, S_REFUSED };

static const struct {
	enum steer_metric id;
	const char *name, *reason, *help;
} steer_metrics[] = {
	{S_SELECTED, "reusetop_steer_selected_total", NULL,
	 "New connections (TCP) or datagrams (UDP) the steering policy sent to this member."},
	{S_WOULD, "reusetop_steer_would_select_total", NULL,
	 "Shadow mode: new connections or datagrams the policy chose for this member (the "
	 "kernel's hash selected)."},
	{S_HASHED, "reusetop_steer_hash_selected_total", NULL,
	 "Shadow mode: new connections or datagrams the kernel's hash gave this member."},
	{S_CLOSED, "reusetop_steer_refused_total", "member_closed",
	 "Selections of this member the kernel refused, by reason (another member or the "
	 "kernel's hash then took them)."},
	{S_REFUSED, "reusetop_steer_refused_total", "refused", NULL},
};

static uint64_t steer_value(const struct steer_member_stats *m, enum steer_metric id)
{
	switch (id) {
	case S_SELECTED:
		return m->selected;
	case S_WOULD:
		return m->would_select;
	case S_HASHED:
		return m->hashed;
	case S_CLOSED:
		return m->closed;
	case S_REFUSED:
		return m->refused;
	}
	return 0;
}

/* The exported sockets of steered groups: each member's counters in reusetop's policy. */
static void steer_sock_families(FILE *f, const struct rt_view *v, size_t max)
{
	for (size_t i = 0; i < sizeof(steer_metrics) / sizeof(steer_metrics[0]); i++) {
		const struct rt_group_view *g;
		const struct rt_sock_view *s;
		struct cursor c = {};

		if (steer_metrics[i].help)
			header(f, steer_metrics[i].name, "counter", steer_metrics[i].help);
		while (next_sock(v, max, &c, &g, &s)) {
			bool first = true;

			if (!s->steered)
				continue;
			fputs(steer_metrics[i].name, f);
			group_labels(f, &first, g);
			label_uint(f, &first, "inode", s->l->inode);
			if (s->owner.source != RT_OWNER_NONE) {
				label_uint(f, &first, "pid", (unsigned long long)s->owner.pid);
				label(f, &first, "comm", s->owner.comm);
			}
			if (steer_metrics[i].reason)
				label(f, &first, "reason", steer_metrics[i].reason);
			fprintf(f, "} %llu\n",
				(unsigned long long)steer_value(s->steered, steer_metrics[i].id));
		}
	}
}

void render_prometheus(FILE *f, const struct rt_view *v, size_t max_sockets)
{
	process_families(f, v, max_sockets);
	sock_families(f, v, max_sockets);
	wait_histogram(f, v, max_sockets);
	group_families(f, v, max_sockets);
	handoff_families(f, v, max_sockets);
	steer_group_families(f, v, max_sockets);
	steer_sock_families(f, v, max_sockets);
	fflush(f);
}
