// SPDX-License-Identifier: GPL-2.0
/*
 * The live view, after top and htop: a header with the totals and anything degraded, one block
 * per reuseport group with a row per member socket (and, under shared listeners, the tasks that
 * accept from them), a key bar at the bottom.
 *
 * Three parts, kept apart: the column table (what a column shows, how wide it is, when it goes on
 * narrow terminals, how it sorts), the layout (the view, filtered and sorted, into rows; no
 * curses), and drawing plus the key loop (curses). The view belongs to the model and stays valid
 * until the next update, so while paused no update is taken and the last view is drawn again.
 */
#include <ctype.h>
#include <curses.h>
#include <errno.h>
#include <locale.h>
#include <math.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

#include "render/render.h"
#include "render/tui.h"

#define CELL_LEN   128 /* longest cell, including the bar */
#define LINE_LEN   1024 /* wider terminals are drawn 1023 columns wide */
#define FILTER_LEN 64
#define BAR_MIN	   8
#define BAR_MAX	   32

/* ---- rows: what the layout produces ------------------------------------------------------- */

enum row_kind {
	ROW_GROUP,
	ROW_SOCK,
	ROW_ACCEPTOR,
};

struct row {
	enum row_kind kind;
	const struct rt_group_view *g;
	const struct rt_sock_view *s; /* ROW_SOCK */
	const struct rt_acceptor_view *a; /* ROW_ACCEPTOR */
	bool last; /* the last acceptor under its socket */
	size_t idx; /* position in the model's order: ties keep it */
};

/* ---- the column table ----------------------------------------------------------------------- */

/*
 * One column of member and acceptor rows. A new measurement is one entry here: cell() writes
 * the text (width characters at most; "" when the column does not apply to the row, "-" when
 * the value is unknown), key() the value rows sort by (NAN: unknown, always last), group_key()
 * the group's total groups sort by (NULL: groups go by their conn/s).
 */
struct column {
	const char *name;
	int width; /* the bar's is its minimum: it takes what the others leave, up to BAR_MAX */
	int drop; /* narrow terminals drop the highest first (the rightmost of equals); 0 never */
	bool left; /* left aligned */
	bool asc; /* sorts ascending unless reversed (identifiers); counts sort descending */
	bool bar;
	void (*cell)(const struct rt_view *v, const struct row *r, char *buf, int width);
	double (*key)(const struct rt_view *v, const struct row *r);
	const char *(*text_key)(const struct row *r); /* sorts by this string instead of key */
	double (*group_key)(const struct rt_view *v, const struct rt_group_view *g);
	const char *help;
};

static const struct rt_listener *sock_l(const struct row *r)
{
	return r->kind == ROW_SOCK ? r->s->l : NULL;
}

/* Share of the group's connections: over the last interval, since start when it was idle. */
static bool interval_basis(const struct rt_group_view *g)
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

static void cell_pid(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	const struct rt_listener *l = sock_l(r);

	(void)v;
	if (r->kind == ROW_ACCEPTOR) {
		/* Tasks: the thread id, as htop shows threads (a main thread's is its pid). */
		snprintf(buf, CELL_LEN, "%u", r->a->a->tid);
	} else if (!l->nholders) {
		snprintf(buf, CELL_LEN, "-");
	} else if (l->nholders == 1) {
		snprintf(buf, CELL_LEN, "%d", l->holders[0].pid);
	} else {
		/* "1234+3": three more processes hold the socket (forked workers). */
		snprintf(buf, CELL_LEN, "%d+%zu", l->holders[0].pid, l->nholders - 1);
		if ((int)strlen(buf) > width)
			snprintf(buf, CELL_LEN, "%d+", l->holders[0].pid);
	}
}

static double key_pid(const struct rt_view *v, const struct row *r)
{
	(void)v;
	if (r->kind == ROW_ACCEPTOR)
		return r->a->a->tid;
	return r->s->l->nholders ? r->s->l->holders[0].pid : NAN;
}

static void cell_comm(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	(void)v;
	(void)width;
	if (r->kind == ROW_ACCEPTOR)
		put_comm(buf, r->last ? "`- " : "|- ", r->a->a->comm);
	else if (r->s->l->nholders)
		put_comm(buf, "", r->s->l->holders[0].comm);
	else
		snprintf(buf, CELL_LEN, "-");
}

static const char *text_key_comm(const struct row *r)
{
	if (r->kind == ROW_ACCEPTOR)
		return r->a->a->comm;
	return r->s->l->nholders ? r->s->l->holders[0].comm : "";
}

static void cell_fd(const struct rt_view *v, const struct row *r, char *buf, int width)
{
	const struct rt_listener *l = sock_l(r);

	(void)v;
	if (l && l->nholders)
		put_num(buf, width, l->holders[0].fd, 0);
	else if (l)
		snprintf(buf, CELL_LEN, "-");
}

static double key_fd(const struct rt_view *v, const struct row *r)
{
	const struct rt_listener *l = sock_l(r);

	(void)v;
	return l && l->nholders ? l->holders[0].fd : NAN;
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

static double key_acc_rate(const struct rt_view *v, const struct row *r)
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

/* Left to right; a new measurement is one more entry. */
static const struct column columns[] = {
	{"PID", 8, 0, false, true, false, cell_pid, key_pid, NULL, NULL,
	 "the process holding the socket (+N: N more do); acceptor rows: task"},
	{"COMM", 16, 1, true, true, false, cell_comm, NULL, text_key_comm, NULL,
	 "its command; |- rows: tasks accepting from a shared listener"},
	{"FD", 4, 10, false, true, false, cell_fd, key_fd, NULL, NULL, "file descriptor"},
	{"INODE", 10, 14, false, true, false, cell_inode, key_inode, NULL, NULL, "socket inode"},
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
	{"SEL/S", 8, 15, false, false, false, cell_sel_rate, key_sel_rate, NULL, group_sel_rate,
	 "times per second the kernel's reuseport selection picked it"},
	{"ENQUEUED", 9, 12, false, false, false, cell_enqueued, key_enqueued, NULL, group_enqueued,
	 "connections queued since reusetop started"},
	{"ACCEPTED", 9, 11, false, false, false, cell_accepted, key_accepted, NULL, group_accepted,
	 "connections accepted since reusetop started"},
	{"DROPS", 7, 16, false, false, false, cell_drops, key_drops, NULL, group_drops,
	 "the socket's drop counter (cumulative)"},
};

#define NCOLUMNS (sizeof(columns) / sizeof(columns[0]))

static size_t column_named(const char *name)
{
	for (size_t c = 0; c < NCOLUMNS; c++)
		if (!strcmp(columns[c].name, name))
			return c;
	return 0;
}

static bool sortable(size_t c)
{
	return columns[c].key || columns[c].text_key;
}

struct placed {
	size_t col;
	int x, width;
};

/*
 * Which columns fit in width characters, and where: drop the highest `drop` (the rightmost of
 * equals) until the rest fit, then give the bar what is left. Returns how many were placed.
 */
static size_t place_columns(int width, struct placed *out)
{
	bool keep[NCOLUMNS];
	int total = -1, bar_extra;
	size_t n = 0;

	for (size_t c = 0; c < NCOLUMNS; c++) {
		keep[c] = true;
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

/* ---- state and layout ----------------------------------------------------------------------- */

struct tui {
	/* what the user chose */
	size_t sort_col;
	bool reverse, paused, help, tree;
	char filter[FILTER_LEN];
	int scroll;
	/* the filter prompt while it is open */
	bool prompt;
	char input[FILTER_LEN];
	/* the last view; valid until the next update */
	struct rt_view view;
	bool have_view;
	double delay_s;
	/* the layout of that view */
	struct row *rows;
	size_t nrows, cap;
	size_t groups_shown;
	/* the screen */
	bool colors;
	int body_h; /* rows of the scrolling part at the last draw */
};

static bool sort_desc(const struct tui *t)
{
	return columns[t->sort_col].asc == t->reverse;
}

/* Unknown (NAN) last in either direction. */
static int cmp_key(double a, double b, bool desc)
{
	if (isnan(a) || isnan(b))
		return isnan(a) - isnan(b);
	if (a == b)
		return 0;
	return (a < b) == desc ? 1 : -1;
}

static int cmp_idx(size_t a, size_t b)
{
	return (a > b) - (a < b);
}

struct sort_ctx {
	const struct column *col;
	const struct rt_view *v;
	bool desc;
};

static int row_cmp(const void *pa, const void *pb, void *arg)
{
	const struct sort_ctx *c = arg;
	const struct row *a = pa, *b = pb;
	int r = 0;

	if (c->col->text_key) {
		r = strcasecmp(c->col->text_key(a), c->col->text_key(b));
		r = c->desc ? -r : r;
	} else if (c->col->key) {
		r = cmp_key(c->col->key(c->v, a), c->col->key(c->v, b), c->desc);
	}
	/* Acceptors under a column that has nothing for them: the busiest first. */
	if (!r && a->kind == ROW_ACCEPTOR)
		r = cmp_key(key_acc_rate(c->v, a), key_acc_rate(c->v, b), true);
	return r ? r : cmp_idx(a->idx, b->idx);
}

struct group_ord {
	const struct rt_group_view *g;
	double key;
	size_t idx;
	bool desc;
};

static int group_cmp(const void *pa, const void *pb)
{
	const struct group_ord *a = pa, *b = pb;
	int r = cmp_key(a->key, b->key, a->desc);

	return r ? r : cmp_idx(a->idx, b->idx);
}

/* The filter: a port number (exact), or part of a member's or acceptor's command (any case). */
static bool group_matches(const struct rt_group_view *g, const char *f)
{
	char *end;
	unsigned long port;

	if (!*f)
		return true;
	port = strtoul(f, &end, 10);
	if (isdigit((unsigned char)f[0]) && !*end && port == g->port)
		return true;
	for (size_t i = 0; i < g->nsocks; i++)
		for (size_t h = 0; h < g->socks[i].l->nholders; h++)
			if (strcasestr(g->socks[i].l->holders[h].comm, f))
				return true;
	for (size_t i = 0; i < g->nacceptors; i++)
		if (strcasestr(g->acceptors[i].a->comm, f))
			return true;
	return false;
}

/*
 * Acceptor rows go under a listener others share: when more than one task accepted from it, or
 * the one that did is not the process holding it, or several processes hold it.
 */
static bool show_acceptors(const struct rt_listener *l, const struct rt_acceptor_view *first,
			   size_t n)
{
	if (n >= 2 || (n == 1 && l->nholders > 1))
		return true;
	return n == 1 && (!l->nholders || first->a->pid != (uint32_t)l->holders[0].pid);
}

static int push_row(struct tui *t, struct row r)
{
	if (t->nrows == t->cap) {
		size_t cap = t->cap ? t->cap * 2 : 64;
		struct row *rows = realloc(t->rows, cap * sizeof(*rows));

		if (!rows)
			return -ENOMEM;
		t->rows = rows;
		t->cap = cap;
	}
	t->rows[t->nrows++] = r;
	return 0;
}

/* Sort rows[from, nrows) by the sort column. */
static void sort_rows(struct tui *t, size_t from)
{
	struct sort_ctx ctx = {&columns[t->sort_col], &t->view, sort_desc(t)};

	if (t->nrows - from > 1)
		qsort_r(t->rows + from, t->nrows - from, sizeof(*t->rows), row_cmp, &ctx);
}

/* One group: its line, its members sorted, each with its acceptors (sorted) under it. */
static int layout_group(struct tui *t, const struct rt_group_view *g)
{
	size_t first, nsocks;
	int err;

	if ((err = push_row(t, (struct row){.kind = ROW_GROUP, .g = g})))
		return err;
	/* Members go at the end first, sorted, then come back in order with their acceptors. */
	first = t->nrows;
	for (size_t i = 0; i < g->nsocks; i++) {
		struct row r = {.kind = ROW_SOCK, .g = g, .s = &g->socks[i], .idx = i};

		if ((err = push_row(t, r)))
			return err;
	}
	sort_rows(t, first);
	nsocks = t->nrows - first;
	for (size_t i = 0; i < nsocks; i++) {
		const struct rt_sock_view *s = t->rows[first + i].s;
		const struct rt_acceptor_view *a = NULL;
		size_t n = 0, start;

		if ((err = push_row(t, t->rows[first + i])))
			return err;
		for (size_t k = 0; k < g->nacceptors; k++)
			if (g->acceptors[k].a->inode == s->l->inode && !n++)
				a = &g->acceptors[k];
		if (!t->tree || !show_acceptors(s->l, a, n))
			continue;
		start = t->nrows;
		for (size_t k = 0; k < g->nacceptors; k++) {
			const struct rt_acceptor_view *ac = &g->acceptors[k];
			struct row r = {.kind = ROW_ACCEPTOR, .g = g, .a = ac, .idx = k};

			if (ac->a->inode == s->l->inode && (err = push_row(t, r)))
				return err;
		}
		sort_rows(t, start);
		t->rows[t->nrows - 1].last = true;
	}
	/* Drop the unsorted copies: move the block down over them. */
	memmove(t->rows + first, t->rows + first + nsocks,
		(t->nrows - first - nsocks) * sizeof(*t->rows));
	t->nrows -= nsocks;
	return 0;
}

/* The view, filtered and sorted, into rows. */
static int layout(struct tui *t)
{
	const struct column *col = &columns[t->sort_col];
	struct group_ord *ord;
	size_t n = 0;
	int err = 0;

	t->nrows = 0;
	t->groups_shown = 0;
	if (!t->have_view || !t->view.ngroups)
		return 0;
	ord = calloc(t->view.ngroups, sizeof(*ord));
	if (!ord)
		return -ENOMEM;
	for (size_t i = 0; i < t->view.ngroups; i++) {
		const struct rt_group_view *g = &t->view.groups[i];

		if (!group_matches(g, t->filter))
			continue;
		/* Columns without a group total: groups by conn/s, busiest first. */
		if (col->group_key)
			ord[n] =
				(struct group_ord){g, col->group_key(&t->view, g), i, sort_desc(t)};
		else
			ord[n] = (struct group_ord){g, g->enqueued_rate, i, true};
		n++;
	}
	qsort(ord, n, sizeof(*ord), group_cmp);
	for (size_t i = 0; i < n && !err; i++)
		err = layout_group(t, ord[i].g);
	t->groups_shown = n;
	free(ord);
	return err;
}

/* ---- drawing --------------------------------------------------------------------------------- */

enum {
	PAIR_BAR = 1,
	PAIR_WARN,
	PAIR_SORT,
	PAIR_KEYS,
};

/* Pieces of a one-line summary: the highest `drop` goes first when the line is too long. */
struct piece {
	char text[96];
	int drop;
};

static void fit_pieces(struct piece *p, size_t n, int width, char *out, size_t len)
{
	bool keep[16];
	int total = -2;

	n = n > 16 ? 16 : n;
	for (size_t i = 0; i < n; i++) {
		keep[i] = p[i].text[0] != '\0';
		total += keep[i] ? (int)strlen(p[i].text) + 2 : 0;
	}
	while (total > width) {
		size_t worst = n;

		for (size_t i = 0; i < n; i++)
			if (keep[i] && p[i].drop && (worst == n || p[i].drop >= p[worst].drop))
				worst = i;
		if (worst == n)
			break;
		keep[worst] = false;
		total -= (int)strlen(p[worst].text) + 2;
	}
	out[0] = '\0';
	for (size_t i = 0, used = 0; i < n; i++) {
		if (!keep[i])
			continue;
		used += (size_t)snprintf(out + used, used < len ? len - used : 0, "%s%s",
					 used ? "  " : "", p[i].text);
	}
}

static const char *fmt_rate(char *buf, size_t len, double v, int decimals)
{
	if (isfinite(v))
		snprintf(buf, len, "%.*f", decimals, v);
	else
		snprintf(buf, len, "-");
	return buf;
}

static const char *fmt_pct(char *buf, size_t len, double v)
{
	if (isfinite(v))
		snprintf(buf, len, "%.1f%%", v * 100);
	else
		snprintf(buf, len, "-");
	return buf;
}

static void add_piece(struct piece *p, size_t *n, int drop, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

/* Appends a piece of a summary line; drop as in struct piece. */
static void add_piece(struct piece *p, size_t *n, int drop, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(p[*n].text, sizeof(p[*n].text), fmt, ap);
	va_end(ap);
	p[(*n)++].drop = drop;
}

static int screen_width(void)
{
	return COLS < LINE_LEN ? COLS : LINE_LEN - 1;
}

/* A line of text, cut at the screen's width, with attributes. */
static void put_line(int y, const char *s, attr_t attr)
{
	if (y < 0 || y >= LINES)
		return;
	attron(attr);
	mvaddnstr(y, 0, s, screen_width());
	attroff(attr);
}

static void draw_group(const struct tui *t, int y, const struct rt_group_view *g, int width)
{
	bool interval = interval_basis(g);
	struct rt_imbalance imb = interval ? g->interval_imbalance : g->imbalance;
	double wpc = isfinite(g->interval_wakeups_per_conn) ? g->interval_wakeups_per_conn
							    : g->wakeups_per_conn;
	struct piece p[10] = {};
	char addr[64], rate[32], line[LINE_LEN];
	size_t n = 0;

	addr_str(g->family, g->addr, addr, sizeof(addr));
	add_piece(p, &n, 0, "%s %s%s%s:%u", g->proto == IPPROTO_UDP ? "UDP" : "TCP",
		  g->family == AF_INET6 ? "[" : "", addr, g->family == AF_INET6 ? "]" : "",
		  g->port);
	add_piece(p, &n, 2, "members %zu", g->nsocks);
	add_piece(p, &n, 0, "conn/s %s", fmt_rate(rate, sizeof(rate), g->enqueued_rate, 1));
	add_piece(p, &n, 4, "acc/s %s", fmt_rate(rate, sizeof(rate), g->accepted_rate, 1));
	add_piece(p, &n, 3, "max-share %s", fmt_pct(rate, sizeof(rate), imb.max_share));
	add_piece(p, &n, 5, "jain %s", fmt_rate(rate, sizeof(rate), imb.jain, 3));
	/* 1.0 is ideal; N: N tasks woke for each connection (the herd). */
	add_piece(p, &n, 6, "wakeups/conn %s", fmt_rate(rate, sizeof(rate), wpc, 2));
	/* Shares are over the last interval; say so when they fell back to since-start. */
	if (!interval && isfinite(g->imbalance.max_share))
		add_piece(p, &n, 7, "(shares since start)");
	if (t->view.features.enqueued)
		add_piece(p, &n, 8, "enqueued %llu", (unsigned long long)g->enqueued);
	add_piece(p, &n, 9, "netns %llu", (unsigned long long)g->netns);
	fit_pieces(p, n, width, line, sizeof(line));
	put_line(y, line, A_BOLD);
}

static void draw_row(const struct tui *t, int y, const struct row *r, const struct placed *pl,
		     size_t npl, int width)
{
	char line[LINE_LEN];
	int bar_x = -1, bar_n = 0;

	if (r->kind == ROW_GROUP) {
		draw_group(t, y, r->g, width);
		return;
	}
	memset(line, ' ', (size_t)width);
	line[width] = '\0';
	for (size_t i = 0; i < npl; i++) {
		const struct column *c = &columns[pl[i].col];
		char cell[CELL_LEN] = "";
		int len, x;

		c->cell(&t->view, r, cell, pl[i].width);
		len = (int)strlen(cell);
		len = len > pl[i].width ? pl[i].width : len;
		x = c->left ? pl[i].x : pl[i].x + pl[i].width - len;
		if (x < 0 || x + len > width)
			continue;
		memcpy(line + x, cell, (size_t)len);
		if (c->bar && len) {
			bar_x = x + 1;
			bar_n = (int)strspn(cell + 1, "|");
		}
	}
	put_line(y, line, A_NORMAL);
	if (bar_x >= 0 && bar_n)
		mvchgat(y, bar_x, bar_n, t->colors ? A_NORMAL : A_BOLD, t->colors ? PAIR_BAR : 0,
			NULL);
}

static void draw_column_header(const struct tui *t, int y, const struct placed *pl, size_t npl,
			       int width)
{
	char line[LINE_LEN];
	int sort_x = -1, sort_w = 0;

	memset(line, ' ', (size_t)width);
	line[width] = '\0';
	for (size_t i = 0; i < npl; i++) {
		const struct column *c = &columns[pl[i].col];
		int len = (int)strlen(c->name);
		int x;

		len = len > pl[i].width ? pl[i].width : len;
		x = c->left ? pl[i].x : pl[i].x + pl[i].width - len;
		if (x < 0 || x + len > width)
			continue;
		memcpy(line + x, c->name, (size_t)len);
		if (pl[i].col == t->sort_col) {
			sort_x = pl[i].x;
			sort_w = pl[i].width;
		}
	}
	put_line(y, line, A_REVERSE);
	if (sort_x >= 0)
		mvchgat(y, sort_x, sort_w, A_REVERSE | A_BOLD, t->colors ? PAIR_SORT : 0, NULL);
}

/* Top lines: totals, then what is degraded or lost, then sort/filter/pause. Returns the next y. */
static int draw_header(const struct tui *t, int width)
{
	const struct rt_view *v = &t->view;
	struct piece p[8] = {};
	char line[LINE_LEN], rate[32];
	size_t n = 0;
	int y = 0;

	add_piece(p, &n, 0, "reusetop %s", REUSETOP_VERSION);
	if (!t->have_view) {
		add_piece(p, &n, 0, "collecting the first %.1fs of counters...", t->delay_s);
	} else {
		struct tm tm;
		char when[16];

		localtime_r(&v->realtime.tv_sec, &tm);
		strftime(when, sizeof(when), "%H:%M:%S", &tm);
		add_piece(p, &n, 5, "%s", when);
		add_piece(p, &n, 3, "attach %s", v->attach ? v->attach : "none");
		if (t->groups_shown != v->ngroups)
			add_piece(p, &n, 2, "groups %zu of %zu", t->groups_shown, v->ngroups);
		else
			add_piece(p, &n, 2, "groups %zu", v->ngroups);
		add_piece(p, &n, 4, "sockets %zu", v->nsockets);
		add_piece(p, &n, 0, "conn/s %s", fmt_rate(rate, sizeof(rate), v->enqueued_rate, 1));
		add_piece(p, &n, 2, "acc/s %s", fmt_rate(rate, sizeof(rate), v->accepted_rate, 1));
		add_piece(p, &n, 6, "interval %.2fs", v->interval_s);
	}
	fit_pieces(p, n, width, line, sizeof(line));
	put_line(y++, line, A_BOLD);

	if (t->have_view) {
		attr_t warn = t->colors ? COLOR_PAIR(PAIR_WARN) | A_BOLD : A_BOLD;

		for (size_t i = 0; v->degraded && v->degraded[i]; i++) {
			snprintf(line, sizeof(line), "degraded: %s", v->degraded[i]);
			put_line(y++, line, warn);
		}
		if (v->health.sock_map_full || v->health.acceptor_map_full ||
		    v->health.inflight_full) {
			snprintf(
				line, sizeof(line),
				"lost: socket map full %llu, acceptor map full %llu, in-flight map "
				"full %llu",
				(unsigned long long)v->health.sock_map_full,
				(unsigned long long)v->health.acceptor_map_full,
				(unsigned long long)v->health.inflight_full);
			put_line(y++, line, warn);
		}
	}

	snprintf(line, sizeof(line), "Sort: %s %s", columns[t->sort_col].name,
		 sort_desc(t) ? "(desc)" : "(asc)");
	if (t->filter[0]) {
		size_t n = strlen(line);

		snprintf(line + n, sizeof(line) - n, "   Filter: %s", t->filter);
	}
	put_line(y, line, A_NORMAL);
	if (t->paused) {
		int x = (int)strlen(line) + 3;

		if (x + 6 <= width) {
			attron(A_REVERSE | A_BOLD);
			mvaddstr(y, x, "PAUSED");
			attroff(A_REVERSE | A_BOLD);
		}
	}
	return y + 1;
}

struct key_hint {
	const char *key, *label;
};

/* The bottom line: the keys, htop style, or the filter prompt while it is open. */
static void draw_bottom(const struct tui *t, int width)
{
	const struct key_hint hints[] = {
		{"h", "Help"},
		{"s", "Sort"},
		{"r", "Reverse"},
		{"f", "Filter"},
		{"p", t->paused ? "Resume" : "Pause"},
		{"t", "Tree"},
		{"q", "Quit"},
	};
	int y = LINES - 1, x = 0;

	if (y < 1)
		return;
	move(y, 0);
	clrtoeol();
	if (t->prompt) {
		char line[LINE_LEN];

		snprintf(line, sizeof(line),
			 "Filter (port or command; Enter applies, Esc cancels): %s", t->input);
		put_line(y, line, A_BOLD);
		move(y, (int)strlen(line) < width ? (int)strlen(line) : width - 1);
		return;
	}
	for (size_t i = 0; i < sizeof(hints) / sizeof(hints[0]); i++) {
		int klen = (int)strlen(hints[i].key), llen = (int)strlen(hints[i].label);

		if (x + klen + llen + 2 > width)
			break;
		attron(A_BOLD);
		mvaddstr(y, x, hints[i].key);
		attroff(A_BOLD);
		x += klen;
		attron(t->colors ? COLOR_PAIR(PAIR_KEYS) : A_REVERSE);
		mvprintw(y, x, " %s ", hints[i].label);
		attroff(t->colors ? COLOR_PAIR(PAIR_KEYS) : A_REVERSE);
		x += llen + 3;
	}
}

enum action {
	ACT_NONE,
	ACT_QUIT,
	ACT_HELP,
	ACT_SORT_NEXT,
	ACT_SORT_PREV,
	ACT_REVERSE,
	ACT_PAUSE,
	ACT_FILTER,
	ACT_TREE,
	ACT_UP,
	ACT_DOWN,
	ACT_PAGE_UP,
	ACT_PAGE_DOWN,
	ACT_HOME,
	ACT_END,
	ACT_REDRAW,
};

/* Control keys as the terminal sends them. */
enum { KEY_CTRL_H = 8, KEY_CTRL_L = 12, KEY_CTRL_U = 21, KEY_ESC = 27, KEY_DEL = 127 };

/* The key table, htop style: the keys of each action, and what the help overlay says of them. */
static const struct binding {
	enum action action;
	int keys[4]; /* 0 ends */
	const char *names, *what;
} bindings[] = {
	{ACT_QUIT, {'q', 'Q', KEY_F(10)}, "q  F10  Ctrl-C", "quit"},
	{ACT_HELP, {'h', '?', KEY_F(1)}, "h  ?  F1", "this help (any key closes it)"},
	{ACT_SORT_NEXT, {'s', '>', '.', KEY_F(6)}, "s  >  .  F6", "sort by the next column"},
	{ACT_SORT_PREV, {'<', ','}, "<  ,", "sort by the previous column"},
	{ACT_REVERSE, {'r', 'I'}, "r  I", "reverse the order"},
	{ACT_PAUSE, {'p', 'Z'}, "p  Z", "pause / resume (the last sample stays on screen)"},
	{ACT_FILTER, {'f', '/', KEY_F(4)}, "f  /  F4", "filter by port (exact) or command (part)"},
	{ACT_TREE, {'t'}, "t", "show / hide the tasks accepting from shared listeners"},
	{ACT_UP, {KEY_UP, 'k'}, "Up  k", "scroll up a line"},
	{ACT_DOWN, {KEY_DOWN, 'j'}, "Down  j", "scroll down a line"},
	{ACT_PAGE_UP, {KEY_PPAGE}, "PgUp", "scroll up a page"},
	{ACT_PAGE_DOWN, {KEY_NPAGE, ' '}, "PgDn  Space", "scroll down a page"},
	{ACT_HOME, {KEY_HOME, 'g'}, "Home  g", "first line"},
	{ACT_END, {KEY_END, 'G'}, "End  G", "last line"},
	{ACT_REDRAW, {KEY_CTRL_L}, "Ctrl-L", "redraw the screen"},
};

#define NBINDINGS (sizeof(bindings) / sizeof(bindings[0]))

static enum action action_of(int key)
{
	for (size_t i = 0; i < NBINDINGS; i++)
		for (size_t k = 0; k < 4 && bindings[i].keys[k]; k++)
			if (bindings[i].keys[k] == key)
				return bindings[i].action;
	return ACT_NONE;
}

static void draw_help(int width)
{
	const int lines = (int)(NBINDINGS + NCOLUMNS + 3);
	int w = width - 4 < 78 ? width - 4 : 78, h = LINES - 2 < lines ? LINES - 2 : lines;
	int x0 = (width - w) / 2, y0 = (LINES - h) / 2, y;
	char line[LINE_LEN];

	if (w < 20 || h < 4)
		return;
	for (y = y0; y < y0 + h; y++)
		mvprintw(y, x0, "%*s", w, "");
	mvhline(y0, x0 + 1, ACS_HLINE, w - 2);
	mvhline(y0 + h - 1, x0 + 1, ACS_HLINE, w - 2);
	mvvline(y0 + 1, x0, ACS_VLINE, h - 2);
	mvvline(y0 + 1, x0 + w - 1, ACS_VLINE, h - 2);
	mvaddch(y0, x0, ACS_ULCORNER);
	mvaddch(y0, x0 + w - 1, ACS_URCORNER);
	mvaddch(y0 + h - 1, x0, ACS_LLCORNER);
	mvaddch(y0 + h - 1, x0 + w - 1, ACS_LRCORNER);
	attron(A_BOLD);
	mvaddstr(y0, x0 + 2, " reusetop keys ");
	attroff(A_BOLD);
	y = y0 + 1;
	for (size_t i = 0; i < NBINDINGS && y < y0 + h - 1; i++, y++) {
		snprintf(line, sizeof(line), " %-16s %s", bindings[i].names, bindings[i].what);
		mvaddnstr(y, x0 + 1, line, w - 2);
	}
	y++;
	for (size_t c = 0; c < NCOLUMNS && y < y0 + h - 1; c++) {
		if (!columns[c].help)
			continue;
		snprintf(line, sizeof(line), " %-9s %s", columns[c].name, columns[c].help);
		mvaddnstr(y++, x0 + 1, line, w - 2);
	}
}

static void draw(struct tui *t)
{
	struct placed pl[NCOLUMNS];
	int width = screen_width(), y, end;
	size_t npl;

	erase();
	if (width < 1 || LINES < 1) {
		refresh();
		return;
	}
	npl = place_columns(width, pl);
	y = draw_header(t, width);
	draw_column_header(t, y++, pl, npl, width);
	end = LINES - 1; /* the key bar */
	t->body_h = end - y > 0 ? end - y : 0;
	if (t->scroll > (int)t->nrows - t->body_h)
		t->scroll = (int)t->nrows - t->body_h;
	if (t->scroll < 0)
		t->scroll = 0;
	if (!t->nrows && t->have_view)
		put_line(y,
			 t->filter[0] ? "  no group matches the filter"
				      : "  no listening sockets (or none match -p/-P)",
			 A_NORMAL);
	for (int i = 0; y < end && (size_t)(t->scroll + i) < t->nrows; i++, y++)
		draw_row(t, y, &t->rows[t->scroll + i], pl, npl, width);
	draw_bottom(t, width);
	if (t->help)
		draw_help(width);
	curs_set(t->prompt ? 1 : 0);
	refresh();
}

/* ---- keys ------------------------------------------------------------------------------------ */

/* Next sortable column to the right (dir 1) or left (-1) among those on screen, wrapping. */
static void move_sort(struct tui *t, int dir)
{
	struct placed pl[NCOLUMNS];
	bool shown[NCOLUMNS] = {};
	size_t npl = place_columns(screen_width(), pl), c = t->sort_col;

	for (size_t i = 0; i < npl; i++)
		shown[pl[i].col] = true;
	for (size_t i = 0; i < NCOLUMNS; i++) {
		c = (c + NCOLUMNS + (size_t)dir) % NCOLUMNS;
		if (sortable(c) && shown[c]) {
			t->sort_col = c;
			return;
		}
	}
}

/* A key while the filter prompt is open. */
static void prompt_key(struct tui *t, int key)
{
	size_t n = strlen(t->input);

	if (key == '\n' || key == '\r' || key == KEY_ENTER) {
		char *s = t->input, *e;

		/* Trimmed; empty clears the filter. */
		while (isspace((unsigned char)*s))
			s++;
		e = s + strlen(s);
		while (e > s && isspace((unsigned char)e[-1]))
			*--e = '\0';
		snprintf(t->filter, sizeof(t->filter), "%s", s);
		t->prompt = false;
		t->scroll = 0;
	} else if (key == KEY_ESC) {
		t->prompt = false;
	} else if (key == KEY_BACKSPACE || key == KEY_DEL || key == KEY_CTRL_H) {
		if (n)
			t->input[n - 1] = '\0';
	} else if (key == KEY_CTRL_U) {
		t->input[0] = '\0';
	} else if (key >= 32 && key < 127 && n + 1 < sizeof(t->input)) {
		t->input[n] = (char)key;
		t->input[n + 1] = '\0';
	}
}

/* Returns false when the user quits. */
static bool handle_key(struct tui *t, int key)
{
	if (key == KEY_RESIZE)
		return true;
	if (t->prompt) {
		prompt_key(t, key);
		return true;
	}
	if (t->help) { /* any key closes it */
		t->help = false;
		return true;
	}
	switch (action_of(key)) {
	case ACT_QUIT:
		return false;
	case ACT_HELP:
		t->help = true;
		break;
	case ACT_SORT_NEXT:
		move_sort(t, 1);
		break;
	case ACT_SORT_PREV:
		move_sort(t, -1);
		break;
	case ACT_REVERSE:
		t->reverse = !t->reverse;
		break;
	case ACT_PAUSE:
		t->paused = !t->paused;
		break;
	case ACT_FILTER:
		t->prompt = true;
		snprintf(t->input, sizeof(t->input), "%s", t->filter);
		break;
	case ACT_TREE:
		t->tree = !t->tree;
		break;
	case ACT_UP:
		t->scroll--;
		break;
	case ACT_DOWN:
		t->scroll++;
		break;
	case ACT_PAGE_UP:
		t->scroll -= t->body_h > 1 ? t->body_h - 1 : 1;
		break;
	case ACT_PAGE_DOWN:
		t->scroll += t->body_h > 1 ? t->body_h - 1 : 1;
		break;
	case ACT_HOME:
		t->scroll = 0;
		break;
	case ACT_END:
		t->scroll = (int)t->nrows;
		break;
	case ACT_REDRAW:
		clearok(curscr, TRUE);
		break;
	case ACT_NONE:
		break;
	}
	return true;
}

/* ---- the terminal and the loop --------------------------------------------------------------- */

static SCREEN *screen;
static FILE *tty_in; /* /dev/tty when stdin is not the terminal */
static char *saved_ctype;

/* Restores the terminal; safe to call twice, and from atexit on paths that skip tui_run's. */
static void tui_end(void)
{
	if (screen) {
		endwin();
		delscreen(screen);
		screen = NULL;
	}
	if (tty_in) {
		fclose(tty_in);
		tty_in = NULL;
	}
	if (saved_ctype) {
		setlocale(LC_CTYPE, saved_ctype);
		free(saved_ctype);
		saved_ctype = NULL;
	}
}

static int tui_begin(struct tui *t, char *err, size_t errlen)
{
	static bool registered;
	const char *term = getenv("TERM");
	FILE *in = stdin;
	const char *ctype = setlocale(LC_CTYPE, NULL);
	char *cup;

	if (!registered && !atexit(tui_end))
		registered = true;
	/* ncursesw needs the terminal's character set; only LC_CTYPE, numbers stay "1.5". */
	saved_ctype = ctype ? strdup(ctype) : NULL;
	setlocale(LC_CTYPE, "");
	if (!isatty(STDIN_FILENO)) {
		tty_in = fopen("/dev/tty", "r");
		in = tty_in;
	}
	screen = in ? newterm(NULL, stdout, in) : NULL;
	if (!screen) {
		tui_end();
		snprintf(err, errlen,
			 "failed to start the live view on terminal type '%s' (use -b or -j)",
			 term ? term : "(unset)");
		return -ENOTTY;
	}
	/* "dumb" and the like: a full-screen view needs to move the cursor. */
	cup = tigetstr("cup");
	if (!cup || cup == (char *)-1) {
		tui_end();
		snprintf(err, errlen, "terminal type '%s' cannot move the cursor (use -b or -j)",
			 term ? term : "(unset)");
		return -ENOTTY;
	}
	cbreak();
	noecho();
	nonl();
	keypad(stdscr, TRUE);
	nodelay(stdscr, TRUE);
	set_escdelay(50);
	curs_set(0);
	if (has_colors() && !getenv("NO_COLOR") && start_color() == OK) {
		use_default_colors();
		init_pair(PAIR_BAR, COLOR_GREEN, -1);
		init_pair(PAIR_WARN, COLOR_YELLOW, -1);
		init_pair(PAIR_SORT, COLOR_BLACK, COLOR_CYAN);
		init_pair(PAIR_KEYS, COLOR_BLACK, COLOR_CYAN);
		t->colors = true;
	}
	return 0;
}

/* Wait for a key, a signal (stop, SIGWINCH) or the deadline; false when the terminal is gone. */
static bool wait_input(double deadline)
{
	struct pollfd pfd = {.fd = fileno(tty_in ? tty_in : stdin), .events = POLLIN};
	double left = deadline - mono_s();
	int ms = left <= 0 ? 0 : (int)ceil(left * 1000);

	return poll(&pfd, 1, ms) <= 0 || !(pfd.revents & (POLLHUP | POLLERR | POLLNVAL));
}

int tui_run(const struct rt_source *src, double delay_s, unsigned long iterations,
	    volatile sig_atomic_t *stop, char *err, size_t errlen)
{
	struct tui t = {.sort_col = column_named("CONN/S"), .tree = true, .delay_s = delay_s};
	double start = mono_s(), next = start + delay_s;
	unsigned long shown = 0;
	bool quit = false;
	int ret = 0;

	if ((ret = tui_begin(&t, err, errlen)))
		return ret;
	draw(&t);
	while (!*stop && !quit) {
		bool dirty = false;
		int key;

		if (mono_s() >= next) {
			if (!t.paused) {
				if ((ret = src->update(src->arg, &t.view, err, errlen)))
					break;
				t.have_view = true;
				shown++;
			}
			/* The next tick on the grid, skipping those a stall (or a pause) missed. */
			next = start + (floor((mono_s() - start) / delay_s) + 1) * delay_s;
			dirty = true;
		} else if (!wait_input(next)) {
			break; /* hung up: nobody left to draw for */
		}
		while (!*stop && (key = getch()) != ERR) {
			quit = !handle_key(&t, key);
			dirty = true;
			if (quit)
				break;
		}
		if (dirty && !quit && !*stop) {
			if ((ret = layout(&t))) {
				snprintf(err, errlen, "failed to lay out the view: %s",
					 strerror(-ret));
				break;
			}
			draw(&t);
		}
		if (iterations && shown >= iterations)
			break;
	}
	tui_end();
	free(t.rows);
	return ret;
}
