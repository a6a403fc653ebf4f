// SPDX-License-Identifier: GPL-2.0
/* The -b output: a plain table per interval, for logs and pipes. Unknown values print as "-". */
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <string.h>

#include "render/render.h"
#include "steer/steer.h"

static const char *num(char *buf, size_t len, bool known, uint64_t v)
{
	if (!known)
		return "-";
	snprintf(buf, len, "%llu", (unsigned long long)v);
	return buf;
}

static const char *rate(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, len, "%.1f", v);
	return buf;
}

static const char *pct(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, len, "%.1f%%", v * 100);
	return buf;
}

static const char *ratio(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, len, "%.3f", v);
	return buf;
}

/*
 * The socket's owner (the process that serves it, observe/owner.h): "1234", or "1234+3" when
 * three more processes serve it (or, while nobody has yet, hold it).
 */
static const char *pid_col(char *buf, size_t len, const struct rt_owner *o)
{
	if (o->source == RT_OWNER_NONE)
		return "-";
	if (!o->others)
		snprintf(buf, len, "%d", o->pid);
	else
		snprintf(buf, len, "%d+%zu", o->pid, o->others);
	return buf;
}

static const char *int_col(char *buf, size_t len, long long v)
{
	if (v < 0)
		return "-";
	snprintf(buf, len, "%lld", v);
	return buf;
}

static void group_head(FILE *f, const struct rt_group_view *g)
{
	char a[96], b[32], c[32], d[32], e[32], h[32];

	fprintf(f,
		"%s %s%s%s  netns %llu  members %zu  enq/s %s  acc/s %s  max-share %s  jain %s"
		"  wakeups/conn %s\n",
		g->proto == IPPROTO_UDP ? "UDP" : "TCP",
		endpoint_str(g->family, g->addr, g->bound_dev, g->port, a, sizeof(a)),
		g->v6only > 0 ? " v6only" : "", g->closed ? " closed" : "",
		(unsigned long long)g->netns, g->nsocks, rate(b, sizeof(b), g->enqueued_rate),
		rate(c, sizeof(c), g->accepted_rate), pct(d, sizeof(d), g->imbalance.max_share),
		ratio(e, sizeof(e), g->imbalance.jain), ratio(h, sizeof(h), g->wakeups_per_conn));
	if (g->steering)
		fprintf(f,
			"  steered by reusetop: %s%s (program %u), %llu left to the kernel's "
			"hash\n",
			g->steering->policy, g->steering->shadow ? " in shadow mode" : "",
			g->steering->prog_id, (unsigned long long)g->steering->fallbacks);
	fprintf(f,
		"  %-10s %-10s %-15s %5s %10s %9s %10s %9s %9s %7s %8s %6s %5s %7s %7s %7s %8s  "
		"%s\n",
		"INODE", "PID", "COMM", "FD", "ENQUEUED", "ENQ/S",
		g->proto == IPPROTO_UDP ? "RECEIVED" : "ACCEPTED",
		g->proto == IPPROTO_UDP ? "RCV/S" : "ACC/S", "SELECTED", "SHARE", "WAKE/S", "QUEUE",
		"QMAX", "BACKLOG", "DROPS", "DROP/S", "WAIT99us", "CONTAINER");
}

/* The container or pod of a process (observe/container.h), "-" when it runs in none. */
static const char *container_col(char *buf, size_t len, const struct rt_identity *id)
{
	return id ? container_label(id, buf, len) : "-";
}

static void socket_row(FILE *f, const struct rt_view *v, const struct rt_sock_view *s)
{
	const struct rt_listener *l = s->l;
	const struct rt_owner *o = &s->owner;
	char a[32], b[32], c[32], d[32], e[32], h[32], i[32], fd[16], drops[24], wk[32], dr[32],
		w99[32], ct[160];

	fprintf(f,
		"  %-10llu %-10s %-15s %5s %10s %9s %10s %9s %9s %7s %8s %6u %5u %7u %7s "
		"%7s %8s  %s\n",
		(unsigned long long)l->inode, pid_col(a, sizeof(a), o),
		o->source != RT_OWNER_NONE ? o->comm
		: l->closed		   ? "(closed)"
					   : "-",
		int_col(fd, sizeof(fd), o->fd),
		num(b, sizeof(b), has_enqueued(&v->features, l->proto), s->enqueued),
		rate(c, sizeof(c), s->enqueued_rate),
		num(d, sizeof(d), has_accepted(&v->features, l->proto), s->accepted),
		rate(e, sizeof(e), s->accepted_rate),
		num(h, sizeof(h), v->features.selected, s->selected), pct(i, sizeof(i), s->share),
		rate(wk, sizeof(wk), s->wakeups_rate), l->queue, s->queue_max, l->backlog,
		int_col(drops, sizeof(drops), l->drops), rate(dr, sizeof(dr), s->drops_rate),
		rate(w99, sizeof(w99), s->wait.p99_us), container_col(ct, sizeof(ct), s->ident));
}

/* Each task and the socket (inode, fd) it accepts from (reads, UDP); exited ones are marked. */
static void acceptor_rows(FILE *f, const struct rt_view *v, const struct rt_group_view *g)
{
	char a[32], b[32], c[32], d[32], e[32], h[32], i[32], share[16], state[32], ct[160];
	bool udp = g->proto == IPPROTO_UDP;

	fprintf(f, "  %-10s %-10s %-10s %-15s %-10s %5s %10s %9s %9s %9s %9s %7s  %-9s  %s\n",
		udp ? "receivers:" : "acceptors:", "PID", "TID", "COMM", "INODE", "FD",
		udp ? "RECEIVED" : "ACCEPTED", udp ? "RCV/S" : "ACC/S", "EAGAIN", "WAKEUPS",
		"SPURIOUS", "SHARE", "STATE", "CONTAINER");
	for (size_t k = 0; k < g->nacceptors; k++) {
		const struct rt_acceptor_view *ac = &g->acceptors[k];
		bool folded = !ac->a->pid && !ac->a->tid;

		if (folded)
			snprintf(state, sizeof(state), "%u folded", ac->a->tasks);
		else
			snprintf(state, sizeof(state), "%s", ac->a->exited ? "exited" : "live");
		fprintf(f,
			"  %-10s %-10s %-10s %-15s %-10s %5s %10llu %9s %9llu %9s %9s %7s  %-9s  "
			"%s\n",
			"", int_col(a, sizeof(a), folded ? -1 : (long long)ac->a->pid),
			int_col(h, sizeof(h), folded ? -1 : (long long)ac->a->tid), ac->a->comm,
			int_col(i, sizeof(i), folded ? -1 : (long long)ac->a->inode),
			int_col(d, sizeof(d), ac->fd), (unsigned long long)ac->a->accepted,
			rate(b, sizeof(b), ac->accepted_rate), (unsigned long long)ac->a->eagain,
			num(c, sizeof(c), v->features.wakeups, ac->a->wakeups),
			num(e, sizeof(e), v->features.wakeups, ac->spurious),
			pct(share, sizeof(share), ac->share), state,
			container_col(ct, sizeof(ct), ac->ident));
	}
}

/* Connections the group's acceptors passed over Unix sockets, and each task that received them. */
static void handoff_rows(FILE *f, const struct rt_group_view *g)
{
	char a[32], b[32], c[32], d[32], e[32], share[16], state[32];

	fprintf(f, "  handoffs: %llu received, %llu pending, max-share %s  jain %s;",
		(unsigned long long)g->handoff_received, (unsigned long long)g->handoff_pending,
		pct(a, sizeof(a), g->handoff_imbalance.max_share),
		ratio(b, sizeof(b), g->handoff_imbalance.jain));
	for (size_t k = 0; k < g->nacceptors; k++)
		if (g->acceptors[k].handed_off)
			fprintf(f, " %u handed off %llu", g->acceptors[k].a->pid,
				(unsigned long long)g->acceptors[k].handed_off);
	fprintf(f, "\n  %-10s %-10s %-10s %-15s %-10s %10s %9s %7s %9s %9s  %s\n",
		"receivers:", "PID", "TID", "COMM", "FROM", "RECEIVED", "RCV/S", "SHARE",
		"WAIT50us", "WAIT99us", "STATE");
	for (size_t k = 0; k < g->nhandoffs; k++) {
		const struct rt_handoff_view *r = &g->handoffs[k];
		bool folded = !r->h->pid;

		if (folded)
			snprintf(state, sizeof(state), "%u folded", r->h->tasks);
		else
			snprintf(state, sizeof(state), "%s", r->h->exited ? "exited" : "live");
		fprintf(f, "  %-10s %-10s %-10s %-15s %-10u %10llu %9s %7s %9s %9s  %s\n", "",
			int_col(a, sizeof(a), folded ? -1 : (long long)r->h->pid),
			int_col(b, sizeof(b), folded ? -1 : (long long)r->h->tid), r->h->comm,
			r->h->from_pid, (unsigned long long)r->h->received,
			rate(c, sizeof(c), r->received_rate), pct(share, sizeof(share), r->share),
			rate(d, sizeof(d), r->wait.count ? r->wait.p50_us : NAN),
			rate(e, sizeof(e), r->wait.count ? r->wait.p99_us : NAN), state);
	}
}

static void group_text(FILE *f, const struct rt_view *v, const struct rt_group_view *g)
{
	group_head(f, g);
	for (size_t k = 0; k < g->nsocks; k++)
		socket_row(f, v, &g->socks[k]);
	if (g->nacceptors)
		acceptor_rows(f, v, g);
	if (g->nhandoffs || g->handoff_pending)
		handoff_rows(f, g);
}

void render_text(FILE *f, const struct rt_view *v)
{
	char when[40], r1[32], r2[32];

	fprintf(f,
		"reusetop %s  interval %.2fs  attach %s  groups %zu  sockets %zu  enq/s %s  acc/s "
		"%s\n",
		iso8601_utc(&v->realtime, when, sizeof(when)), v->interval_s,
		v->attach ? v->attach : "none", v->ngroups, v->nsockets,
		rate(r1, sizeof(r1), v->enqueued_rate), rate(r2, sizeof(r2), v->accepted_rate));
	for (size_t i = 0; v->degraded && v->degraded[i]; i++)
		fprintf(f, "degraded: %s\n", v->degraded[i]);
	if (v->health.sock_map_full || v->health.acceptor_map_full || v->health.inflight_full)
		fprintf(f,
			"lost: socket map full %llu, acceptor map full %llu, in-flight map full "
			"%llu\n",
			(unsigned long long)v->health.sock_map_full,
			(unsigned long long)v->health.acceptor_map_full,
			(unsigned long long)v->health.inflight_full);
	for (size_t i = 0; i < v->ngroups; i++) {
		fputc('\n', f);
		group_text(f, v, &v->groups[i]);
	}
	fputc('\n', f);
	fflush(f);
}
