// SPDX-License-Identifier: GPL-2.0
/*
 * The live view's column table: what each column shows, how wide it is, when it goes on narrow
 * terminals, how rows and groups sort by it. One cell, key and group function per column.
 */
#include <ctype.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "render/tui_int.h"
#include "util.h"

#define BAR_MIN 8
#define BAR_MAX 32

static const struct rt_listener *sock_l(const struct row *r)
{
	return r->kind == ROW_SOCK ? r->s->l : NULL;
}

/* Share of the group's connections: over the last interval, since start when it was idle. */
bool interval_basis(const struct rt_group_view *g)
{
	return isfinite(g->interval_imbalance.max_share);
}

static double sock_share(const struct rt_group_view *g, const struct rt_sock_view *s)
{
	return interval_basis(g) ? s->interval_share : s->share;
}

/* v in at most width characters: as is when it fits, then without decimals, then k, M, G... */
static void put_num(char *buf, int width, double v, int decimals)
{
	static const char units[] = "kMGTPE";
	double x = v;

	if (!isfinite(v)) {
		snprintf(buf, CELL_LEN, "-");
		return;
	}
	snprintf(buf, CELL_LEN, "%.*f", decimals, v);
	if ((int)strlen(buf) > width)
		snprintf(buf, CELL_LEN, "%.0f", v);
	for (int u = 0; (int)strlen(buf) > width && units[u]; u++) {
		x /= 1000;
		snprintf(buf, CELL_LEN, "%.1f%c", x, units[u]);
		if ((int)strlen(buf) > width)
			snprintf(buf, CELL_LEN, "%.0f%c", x, units[u]);
	}
}

static void put_pct(char *buf, double v)
{
	if (isfinite(v))
		snprintf(buf, CELL_LEN, "%.1f%%", v * 100);
	else
		snprintf(buf, CELL_LEN, "-");
}

/* Command names are any bytes: keep the table aligned with printable ASCII only. */
static void put_comm(char *buf, const char *prefix, const char *comm)
{
	size_t n = strlen(prefix);

	snprintf(buf, CELL_LEN, "%s%.*s", prefix, RT_COMM_LEN - 1, comm);
	for (char *p = buf + n; *p; p++)
		if (!isprint((unsigned char)*p) || !isascii((unsigned char)*p))
			*p = '?';
}

/* The group's row of exited tasks whose counts were folded together (no task of its own). */
static bool folded_row(const struct row *r)
{
	return r->kind == ROW_ACCEPTOR && !r->a->a->pid && !r->a->a->tid;
}

static const struct rt_owner *sock_owner(const struct row *r)
{
	return r->kind == ROW_SOCK && r->s->owner.source != RT_OWNER_NONE ? &r->s->owner : NULL;
}

static void cell_pid(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	const struct rt_owner *o = sock_owner(r);

	(void)v;
	if (folded_row(r)) {
		snprintf(buf, CELL_LEN, "-");
	} else if (r->kind == ROW_ACCEPTOR) {
		/* Tasks: the thread id, as htop shows threads; "(1234)" once it exited. */
		snprintf(buf, CELL_LEN, r->a->a->exited ? "(%u)" : "%u", r->a->a->tid);
	} else if (!o) {
		snprintf(buf, CELL_LEN, "-");
	} else if (!o->others) {
		snprintf(buf, CELL_LEN, "%d", o->pid);
	} else {
		/* The owner (observe/owner.h) "+3": three more processes serve (or hold) it. */
		snprintf(buf, CELL_LEN, "%d+%zu", o->pid, o->others);
		if ((int)strlen(buf) > width)
			snprintf(buf, CELL_LEN, "%d+", o->pid);
	}
}

static double key_pid(const struct rt_view *v, const struct row *r)
{
	const struct rt_owner *o = sock_owner(r);

	(void)v;
	if (r->kind == ROW_ACCEPTOR)
		return folded_row(r) ? NAN : r->a->a->tid;
	return o ? o->pid : NAN;
}

static void cell_comm(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	const struct rt_owner *o = sock_owner(r);
	const char *tree = r->handoff ? (r->last ? "  `=> " : "  |=> ") : r->last ? "`- " : "|- ";

	(void)v;
	(void)width;
	if (folded_row(r)) {
		snprintf(buf, CELL_LEN, "%s(%u exited)", tree, r->a->a->tasks);
	} else if (r->kind == ROW_ACCEPTOR) {
		put_comm(buf, tree, r->a->a->comm);
	} else if (o) {
		put_comm(buf, "", o->comm);
	} else {
		snprintf(buf, CELL_LEN, "%s",
			 r->kind == ROW_SOCK && r->s->l->closed ? "(closed)" : "-");
	}
}

static const char *text_key_comm(const struct row *r)
{
	const struct rt_owner *o = sock_owner(r);

	if (r->kind == ROW_ACCEPTOR)
		return r->a->a->comm;
	return o ? o->comm : "";
}

const struct rt_identity *row_identity(const struct row *r)
{
	const struct rt_identity *id = r->kind == ROW_SOCK	 ? r->s->ident
				       : r->kind == ROW_ACCEPTOR ? r->a->ident
								 : NULL;

	return id && id->in_container ? id : NULL;
}

bool view_has_containers(const struct rt_view *v)
{
	for (size_t g = 0; g < v->ngroups; g++) {
		const struct rt_group_view *gv = &v->groups[g];

		for (size_t i = 0; i < gv->nsocks; i++)
			if (gv->socks[i].ident && gv->socks[i].ident->in_container)
				return true;
		for (size_t i = 0; i < gv->nacceptors; i++)
			if (gv->acceptors[i].ident && gv->acceptors[i].ident->in_container)
				return true;
	}
	return false;
}

/* "namespace/pod", the unit, or "runtime:id" (observe/container.h); cut to the width. */
static void cell_container(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	const struct rt_identity *id = row_identity(r);

	(void)v;
	if (r->kind == ROW_GROUP)
		return;
	if (!id) {
		snprintf(buf, CELL_LEN, "-");
		return;
	}
	container_label(id, buf, CELL_LEN);
	if (width >= 0 && width < CELL_LEN)
		buf[width] = '\0';
}

/* By pod name, else container id or unit (strings the identity holds: no buffer to share). */
static const char *text_key_container(const struct row *r)
{
	const struct rt_identity *id = row_identity(r);

	if (!id)
		return "";
	return id->container.pod[0] ? id->container.pod : id->container.id;
}

static void cell_fd(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	const struct rt_owner *o = sock_owner(r);

	(void)v;
	if (o && o->fd >= 0)
		put_num(buf, width, o->fd, 0);
	else if (r->kind == ROW_SOCK)
		snprintf(buf, CELL_LEN, "-");
}

static double key_fd(const struct rt_view *v, const struct row *r)
{
	const struct rt_owner *o = sock_owner(r);

	(void)v;
	return o && o->fd >= 0 ? o->fd : NAN;
}

static void cell_inode(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	(void)v;
	if (sock_l(r))
		put_num(buf, width, (double)r->s->l->inode, 0);
}

static double key_inode(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return sock_l(r) ? (double)r->s->l->inode : NAN;
}

static double key_conn_rate(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? r->s->enqueued_rate : NAN;
}

static void cell_conn_rate(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	if (r->kind == ROW_SOCK)
		put_num(buf, width, key_conn_rate(v, r), 1);
}

static double group_conn_rate(const struct rt_view *v, const struct rt_group_view *g)
{
	(void)v;
	return g->enqueued_rate;
}

double key_acc_rate(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? r->s->accepted_rate : r->a->accepted_rate;
}

static void cell_acc_rate(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	put_num(buf, width, key_acc_rate(v, r), 1);
}

static double group_acc_rate(const struct rt_view *v, const struct rt_group_view *g)
{
	(void)v;
	return g->accepted_rate;
}

static double key_share(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? sock_share(r->g, r->s) : r->a->share;
}

static void cell_share(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	(void)width;
	put_pct(buf, key_share(v, r));
}

/* Groups by their largest member share: the most lopsided first. */
static double group_share(const struct rt_view *v, const struct rt_group_view *g)
{
	(void)v;
	return interval_basis(g) ? g->interval_imbalance.max_share : g->imbalance.max_share;
}

/* "[|||||     ]" proportional to the share; nothing when it is unknown. */
static void cell_bar(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	double share = key_share(v, r);
	int inner = width - 2, n;

	if (!isfinite(share) || inner < 1 || width >= CELL_LEN)
		return;
	n = (int)lround(share * inner);
	n = n < 0 ? 0 : n > inner ? inner : n;
	buf[0] = '[';
	memset(buf + 1, '|', (size_t)n);
	memset(buf + 1 + n, ' ', (size_t)(inner - n));
	buf[width - 1] = ']';
	buf[width] = '\0';
}

static void cell_queue(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	const struct rt_listener *l = sock_l(r);

	(void)v;
	if (!l)
		return;
	snprintf(buf, CELL_LEN, "%u/%u", l->queue, l->backlog);
	if ((int)strlen(buf) > width)
		put_num(buf, width, l->queue, 0);
}

static double key_queue(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return sock_l(r) ? r->s->l->queue : NAN;
}

static double group_queue(const struct rt_view *v, const struct rt_group_view *g)
{
	double sum = 0;

	(void)v;
	for (size_t i = 0; i < g->nsocks; i++)
		sum += g->socks[i].l->queue;
	return sum;
}

static double key_drops(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return sock_l(r) && r->s->l->drops >= 0 ? (double)r->s->l->drops : NAN;
}

static void cell_drops(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	if (sock_l(r))
		put_num(buf, width, key_drops(v, r), 0);
}

static double group_drops(const struct rt_view *v, const struct rt_group_view *g)
{
	double sum = NAN;

	(void)v;
	for (size_t i = 0; i < g->nsocks; i++)
		if (g->socks[i].l->drops >= 0)
			sum = (isnan(sum) ? 0 : sum) + (double)g->socks[i].l->drops;
	return sum;
}

static double key_eagain_rate(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? r->s->eagain_rate : r->a->eagain_rate;
}

static void cell_eagain_rate(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	put_num(buf, width, key_eagain_rate(v, r), 1);
}

static double group_eagain_rate(const struct rt_view *v, const struct rt_group_view *g)
{
	(void)v;
	return g->eagain_rate;
}

static double key_sel_rate(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? r->s->selected_rate : NAN;
}

static void cell_sel_rate(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	if (r->kind == ROW_SOCK)
		put_num(buf, width, key_sel_rate(v, r), 1);
}

static double group_sel_rate(const struct rt_view *v, const struct rt_group_view *g)
{
	(void)v;
	return g->selected_rate;
}

static double key_enqueued(const struct rt_view *v, const struct row *r)
{
	return r->kind == ROW_SOCK && v->features.enqueued ? (double)r->s->enqueued : NAN;
}

static void cell_enqueued(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	if (r->kind == ROW_SOCK)
		put_num(buf, width, key_enqueued(v, r), 0);
}

static double group_enqueued(const struct rt_view *v, const struct rt_group_view *g)
{
	return v->features.enqueued ? (double)g->enqueued : NAN;
}

static double key_accepted(const struct rt_view *v, const struct row *r)
{
	if (!v->features.accepted)
		return NAN;
	return r->kind == ROW_SOCK ? (double)r->s->accepted : (double)r->a->a->accepted;
}

static void cell_accepted(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	put_num(buf, width, key_accepted(v, r), 0);
}

static double group_accepted(const struct rt_view *v, const struct rt_group_view *g)
{
	return v->features.accepted ? (double)g->accepted : NAN;
}

static double key_qmax(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? r->s->queue_max : NAN;
}

static void cell_qmax(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	if (r->kind == ROW_SOCK)
		put_num(buf, width, key_qmax(v, r), 0);
}

/* The group's worst member: for QMAX and WAIT99. */
static double group_max(const struct rt_view *v, const struct rt_group_view *g,
			double (*key)(const struct rt_view *, const struct row *))
{
	double max = NAN;

	for (size_t i = 0; i < g->nsocks; i++) {
		struct row r = {.kind = ROW_SOCK, .g = g, .s = &g->socks[i]};
		double x = key(v, &r);

		if (isfinite(x) && !(x <= max))
			max = x;
	}
	return max;
}

static double group_qmax(const struct rt_view *v, const struct rt_group_view *g)
{
	return group_max(v, g, key_qmax);
}

static double key_drop_rate(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? r->s->drops_rate : NAN;
}

static void cell_drop_rate(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	if (r->kind == ROW_SOCK)
		put_num(buf, width, key_drop_rate(v, r), 1);
}

static double group_drop_rate(const struct rt_view *v, const struct rt_group_view *g)
{
	double sum = NAN;

	(void)v;
	for (size_t i = 0; i < g->nsocks; i++)
		if (isfinite(g->socks[i].drops_rate))
			sum = (isnan(sum) ? 0 : sum) + g->socks[i].drops_rate;
	return sum;
}

static double key_wake_rate(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? r->s->wakeups_rate : r->a->wakeups_rate;
}

static void cell_wake_rate(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	put_num(buf, width, key_wake_rate(v, r), 1);
}

static double group_wake_rate(const struct rt_view *v, const struct rt_group_view *g)
{
	(void)v;
	return g->wakeups_rate;
}

static double key_wait99(const struct rt_view *v, const struct row *r)
{
	(void)v;
	return r->kind == ROW_SOCK ? r->s->wait.p99_us : NAN;
}

/* Microseconds as "512us", "1.0ms", "2.1s". */
static void cell_wait99(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	double us = key_wait99(v, r);

	if (r->kind != ROW_SOCK)
		return;
	if (!isfinite(us))
		snprintf(buf, CELL_LEN, "-");
	else if (us < 1000)
		snprintf(buf, CELL_LEN, "%.0fus", us);
	else if (us < 1e6)
		snprintf(buf, CELL_LEN, "%.1fms", us / 1e3);
	else
		snprintf(buf, CELL_LEN, "%.1fs", us / 1e6);
	if ((int)strlen(buf) > width)
		put_num(buf, width, us / 1e6, 0);
}

static double group_wait99(const struct rt_view *v, const struct rt_group_view *g)
{
	return group_max(v, g, key_wait99);
}

/* Left to right; a new measurement is one more entry (and one more in NCOLUMNS). */
const struct column columns[] = {
	{"PID", 8, 0, false, true, false, cell_pid, key_pid, NULL, NULL,
	 "the process holding the socket (+N: N more do); acceptor rows: task"},
	{"COMM", 16, 1, true, true, false, cell_comm, NULL, text_key_comm, NULL,
	 "its command; |- rows: tasks accepting from a shared listener"},
	{"CONTAINER", 20, 14, true, true, false, cell_container, NULL, text_key_container, NULL,
	 "its container: namespace/pod, systemd unit or runtime:id (shown when there are some)"},
	{"FD", 4, 10, false, true, false, cell_fd, key_fd, NULL, NULL, "file descriptor"},
	{"INODE", 10, 15, false, true, false, cell_inode, key_inode, NULL, NULL, "socket inode"},
	{"CONN/S", 8, 0, false, false, false, cell_conn_rate, key_conn_rate, NULL, group_conn_rate,
	 "connections queued to the socket per second"},
	{"ACC/S", 8, 2, false, false, false, cell_acc_rate, key_acc_rate, NULL, group_acc_rate,
	 "connections accepted per second"},
	{"SHARE", 6, 3, false, false, false, cell_share, key_share, NULL, group_share,
	 "of the group's connections, last interval (since start if idle)"},
	{"", BAR_MIN, 5, true, false, true, cell_bar, NULL, NULL, NULL, NULL},
	{"QUEUE", 9, 4, false, false, false, cell_queue, key_queue, NULL, group_queue,
	 "accept queue length now / backlog"},
	{"QMAX", 5, 13, false, false, false, cell_qmax, key_qmax, NULL, group_qmax,
	 "longest accept queue in the interval"},
	{"DROP/S", 7, 6, false, false, false, cell_drop_rate, key_drop_rate, NULL, group_drop_rate,
	 "connections the listener dropped per second (queue full)"},
	{"WAKE/S", 8, 7, false, false, false, cell_wake_rate, key_wake_rate, NULL, group_wake_rate,
	 "tasks woken per second for its connections"},
	{"EAGAIN/S", 8, 9, false, false, false, cell_eagain_rate, key_eagain_rate, NULL,
	 group_eagain_rate, "accept calls per second that found the queue empty"},
	{"WAIT99", 7, 8, false, false, false, cell_wait99, key_wait99, NULL, group_wait99,
	 "99th percentile of the time connections waited in the queue"},
	{"SEL/S", 8, 16, false, false, false, cell_sel_rate, key_sel_rate, NULL, group_sel_rate,
	 "times per second the kernel's reuseport selection picked it"},
	{"ENQUEUED", 9, 12, false, false, false, cell_enqueued, key_enqueued, NULL, group_enqueued,
	 "connections queued since reusetop started"},
	{"ACCEPTED", 9, 11, false, false, false, cell_accepted, key_accepted, NULL, group_accepted,
	 "connections accepted since reusetop started"},
	{"DROPS", 7, 17, false, false, false, cell_drops, key_drops, NULL, group_drops,
	 "the socket's drop counter (cumulative)"},
};

_Static_assert(ARRAY_LEN(columns) == NCOLUMNS, "NCOLUMNS is the number of columns");

size_t column_named(const char *name)
{
	for (size_t c = 0; c < NCOLUMNS; c++)
		if (!strcmp(columns[c].name, name))
			return c;
	return 0;
}

bool sortable(size_t c)
{
	return columns[c].key || columns[c].text_key;
}

/*
 * Which columns fit in width characters, and where: drop the highest `drop` (the rightmost of
 * equals) until the rest fit, then give the bar what is left. Returns how many were placed.
 */
size_t place_columns(int width, bool containers, struct placed *out)
{
	bool keep[NCOLUMNS];
	int total = -1, bar_extra;
	size_t n = 0;

	for (size_t c = 0; c < NCOLUMNS; c++) {
		/* CONTAINER only takes room on hosts that run containers. */
		keep[c] = containers || columns[c].cell != cell_container;
		if (keep[c])
			total += columns[c].width + 1;
	}
	while (total > width) {
		size_t worst = NCOLUMNS;

		for (size_t c = 0; c < NCOLUMNS; c++)
			if (keep[c] && columns[c].drop &&
			    (worst == NCOLUMNS || columns[c].drop >= columns[worst].drop))
				worst = c;
		if (worst == NCOLUMNS)
			break;
		keep[worst] = false;
		total -= columns[worst].width + 1;
	}
	bar_extra = width - total;
	for (size_t c = 0, x = 0; c < NCOLUMNS; c++) {
		int w = columns[c].width;

		if (!keep[c])
			continue;
		if (columns[c].bar && bar_extra > 0)
			w += bar_extra < BAR_MAX - w ? bar_extra : BAR_MAX - w;
		out[n++] = (struct placed){c, (int)x, w};
		x += (size_t)w + 1;
	}
	return n;
}
