// SPDX-License-Identifier: GPL-2.0
/*
 * The live view's layout: the view, filtered and sorted by the chosen column, into rows (a line
 * per group, its members, the tasks accepting from shared listeners). No curses here.
 */
#include <ctype.h>
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "render/tui_int.h"

bool sort_desc(const struct tui *t)
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

/* Part of a process's container: its "namespace/pod" (or unit...), cgroup id or pod uid. */
static bool identity_matches(const struct rt_identity *id, const char *f)
{
	char label[CELL_LEN];

	if (!id || !id->in_container)
		return false;
	return strcasestr(container_label(id, label, sizeof(label)), f) ||
	       strcasestr(id->container.id, f) || strcasestr(id->container.pod_uid, f);
}

/*
 * The filter: a port number (exact), or part of a member's or acceptor's command or container
 * (any case).
 */
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
	for (size_t i = 0; i < g->nsocks; i++)
		if (identity_matches(g->socks[i].ident, f))
			return true;
	for (size_t i = 0; i < g->nacceptors; i++)
		if (strcasestr(g->acceptors[i].a->comm, f) ||
		    identity_matches(g->acceptors[i].ident, f))
			return true;
	return false;
}

/*
 * Acceptor rows go under a listener others share: when more than one task accepted from it, or
 * the one that did is not the process the row names (its owner), or it exited. A worker alone on
 * its own socket (reuseport; nginx's, whose master holds them all) is the row itself.
 */
static bool show_acceptors(const struct rt_sock_view *s, const struct rt_acceptor_view *first,
			   size_t n)
{
	if (n >= 2)
		return true;
	return n == 1 && (first->a->exited || s->owner.source == RT_OWNER_NONE ||
			  first->a->pid != (uint32_t)s->owner.pid);
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

/*
 * Receiver j of group g's hand-offs as an acceptor row: the connections it received count as
 * its accepts, its share is of the group's handed-off connections.
 */
static struct row receiver_row(struct tui *t, const struct rt_group_view *g, size_t j)
{
	const struct rt_handoff_view *h = &g->handoffs[j];
	struct rt_acceptor_sample *a = &t->recv[t->nrecv].a;
	struct rt_acceptor_view *v = &t->recv[t->nrecv].v;

	*a = (struct rt_acceptor_sample){.pid = h->h->pid,
					 .tid = h->h->tid,
					 .accepted = h->h->received,
					 .exited = h->h->exited,
					 .tasks = h->h->tasks};
	memcpy(a->comm, h->h->comm, sizeof(a->comm));
	*v = (struct rt_acceptor_view){.a = a,
				       .fd = -1,
				       .accepted_rate = h->received_rate,
				       .eagain_rate = NAN,
				       .wakeups_rate = NAN,
				       .share = h->share};
	t->recv[t->nrecv].placed = true;
	return (struct row){
		.kind = ROW_ACCEPTOR, .g = g, .a = v, .handoff = true, .idx = t->nrecv++};
}

/* Whether pid accepted from member s of g (its owner, or one of its acceptor rows). */
static bool accepts_from(const struct rt_group_view *g, const struct rt_sock_view *s, uint32_t pid)
{
	if (s->owner.source != RT_OWNER_NONE && (uint32_t)s->owner.pid == pid)
		return true;
	for (size_t k = 0; k < g->nacceptors; k++)
		if (g->acceptors[k].a->inode == s->l->inode && g->acceptors[k].a->pid == pid)
			return true;
	return false;
}

/*
 * The tasks that received connections handed off by whoever accepted from member s (all the
 * group's still unplaced ones when s is NULL), under it, sorted. first: the group's first
 * receiver in the storage.
 */
static int layout_receivers(struct tui *t, const struct rt_group_view *g,
			    const struct rt_sock_view *s, size_t first)
{
	size_t start = t->nrows;
	int err;

	if (!t->tree)
		return 0;
	for (size_t j = 0; j < g->nhandoffs; j++) {
		if (t->recv[first + j].placed ||
		    (s && !accepts_from(g, s, g->handoffs[j].h->from_pid)))
			continue;
		t->nrecv = first + j;
		if ((err = push_row(t, receiver_row(t, g, j))))
			return err;
	}
	sort_rows(t, start);
	if (t->nrows > start)
		t->rows[t->nrows - 1].last = true;
	return 0;
}

/* The group's exited tasks folded into one row (the model puts it last), under its members. */
static int layout_folded(struct tui *t, const struct rt_group_view *g)
{
	const struct rt_acceptor_view *last =
		g->nacceptors ? &g->acceptors[g->nacceptors - 1] : NULL;
	struct row r = {.kind = ROW_ACCEPTOR, .g = g, .a = last, .idx = g->nacceptors - 1};

	if (!t->tree || !last || last->a->pid || last->a->tid)
		return 0;
	r.last = true;
	return push_row(t, r);
}

/* One group: its line, its members sorted, each with its acceptors (sorted) under it. */
static int layout_group(struct tui *t, const struct rt_group_view *g)
{
	size_t first, nsocks, recv_first = t->nrecv;
	int err;

	/* The group's receivers take the next g->nhandoffs slots of the storage. */
	for (size_t j = 0; j < g->nhandoffs; j++)
		t->recv[recv_first + j].placed = false;
	t->nrecv += g->nhandoffs;

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
		if (!t->tree || !show_acceptors(s, a, n)) {
			if ((err = layout_receivers(t, g, s, recv_first)))
				return err;
			continue;
		}
		start = t->nrows;
		for (size_t k = 0; k < g->nacceptors; k++) {
			const struct rt_acceptor_view *ac = &g->acceptors[k];
			struct row r = {.kind = ROW_ACCEPTOR, .g = g, .a = ac, .idx = k};

			if (ac->a->inode == s->l->inode && (err = push_row(t, r)))
				return err;
		}
		sort_rows(t, start);
		t->rows[t->nrows - 1].last = true;
		if ((err = layout_receivers(t, g, s, recv_first)))
			return err;
	}
	/* Drop the unsorted copies: move the block down over them. */
	memmove(t->rows + first, t->rows + first + nsocks,
		(t->nrows - first - nsocks) * sizeof(*t->rows));
	t->nrows -= nsocks;
	if ((err = layout_folded(t, g)))
		return err;
	/* Receivers whose acceptor is not a member's any more (exited). */
	err = layout_receivers(t, g, NULL, recv_first);
	t->nrecv = recv_first + g->nhandoffs;
	return err;
}

/* Room for every group's receivers, as layout_receivers() makes them. */
static int reserve_receivers(struct tui *t)
{
	size_t n = 0;

	for (size_t i = 0; i < t->view.ngroups; i++)
		n += t->view.groups[i].nhandoffs;
	t->nrecv = 0;
	return reserve_array(&t->recv, &t->recv_cap, n + 1, sizeof(*t->recv));
}

/* The view, filtered and sorted, into rows. */
int layout(struct tui *t)
{
	const struct column *col = &columns[t->sort_col];
	struct group_ord *ord;
	size_t n = 0;
	int err = 0;

	t->nrows = 0;
	t->groups_shown = 0;
	if (!t->have_view || !t->view.ngroups)
		return 0;
	if ((err = reserve_receivers(t)))
		return err;
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
