// SPDX-License-Identifier: GPL-2.0
/*
 * The -b output: a plain table per interval, for logs and pipes. Unknown values print as "-".
 *
 * With 10,000 listeners this is 10,000 groups of three lines every interval, and printf was
 * nearly all of reusetop's CPU time: columns are formatted here without it. A group's lines are
 * written through struct text_out, which either formats them or records the values they are
 * made from (its key); render_text_cached() keeps each group's key and text, and a group whose
 * key is the same as last interval's (an idle one) prints its kept text.
 */
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/uio.h>

#include "observe/container.h"
#include "render/json.h"
#include "render/render.h"
#include "steer/steer.h"

/*
 * Where a group's lines go. As text: bytes appended to b. As a key: what the text is made of,
 * so that equal keys are equal text. The layout's literal text (lit()) is the same wherever the
 * same code runs, so the key holds what decides that: every condition and count that the code
 * takes its way by (branch(), count()), and each literal picked by a value (pick(), by address:
 * they are never changed). Then each column's values in turn, strings with their length: the
 * entries are of a size the key before them decides, and cannot run into each other.
 */
struct text_out {
	struct json_buf *b;
	bool key;
};

static inline bool room(struct text_out *o, size_t n)
{
	return (o->b->cap - o->b->len >= n && !o->b->failed) || json_buf_reserve(o->b, n);
}

/* Inlined: most calls put a few bytes of a size known where they are made. */
static inline __attribute__((always_inline)) void put(struct text_out *o, const void *p, size_t n)
{
	if (room(o, n)) {
		memcpy(o->b->data + o->b->len, p, n);
		o->b->len += n;
	}
}

static void key_str(struct text_out *o, const char *s)
{
	uint32_t n = (uint32_t)strlen(s);

	put(o, &n, sizeof(n));
	put(o, s, n);
}

/* s (n bytes) in a column of |width|: right-aligned when width > 0, left when < 0 ("%-Ns"). */
static void put_padded(struct text_out *o, const char *s, size_t n, int width)
{
	size_t w = (size_t)(width < 0 ? -width : width), pad = n < w ? w - n : 0;
	char *p;

	if (!room(o, n + pad))
		return;
	p = o->b->data + o->b->len;
	if (width > 0) {
		memset(p, ' ', pad);
		memcpy(p + pad, s, n);
	} else {
		memcpy(p, s, n);
		memset(p + n, ' ', pad);
	}
	o->b->len += n + pad;
}

/* Text that is part of the layout: a string literal, the same whenever this code runs. */
static inline void lit(struct text_out *o, const char *s)
{
	if (!o->key)
		put(o, s, strlen(s));
}

/* Literal text chosen by a value: a literal or one of the header lines below. */
static inline void pick(struct text_out *o, const char *s)
{
	if (o->key)
		put(o, &s, sizeof(s));
	else
		put(o, s, strlen(s));
}

/* A condition that decides which lines or columns follow. */
static inline bool branch(struct text_out *o, bool cond)
{
	if (o->key)
		put(o, &cond, sizeof(cond));
	return cond;
}

/* The number of rows (times a loop runs). */
static inline size_t count(struct text_out *o, size_t n)
{
	if (o->key)
		put(o, &n, sizeof(n));
	return n;
}

static void col_str(struct text_out *o, const char *s, int width)
{
	if (o->key) {
		key_str(o, s);
	} else {
		put_padded(o, s, strlen(s), width);
	}
}

static void put_u64(struct text_out *o, uint64_t v, bool negative, int width)
{
	char buf[24], *end = buf + sizeof(buf), *p = u64_digits(end, v);

	if (negative)
		*--p = '-';
	put_padded(o, p, (size_t)(end - p), width);
}

/* "%Nllu", or "-" when the tier cannot count it. */
static void col_num(struct text_out *o, bool known, uint64_t v, int width)
{
	if (o->key) {
		put(o, &known, sizeof(known));
		put(o, &v, sizeof(v));
	} else if (!known) {
		put_padded(o, "-", 1, width);
	} else {
		put_u64(o, v, false, width);
	}
}

static void col_u64(struct text_out *o, uint64_t v, int width)
{
	if (o->key)
		put(o, &v, sizeof(v));
	else
		put_u64(o, v, false, width);
}

/* "%Nlld", or "-" for a negative value (unknown). */
static void col_int(struct text_out *o, long long v, int width)
{
	if (o->key) {
		put(o, &v, sizeof(v));
	} else if (v < 0) {
		put_padded(o, "-", 1, width);
	} else {
		put_u64(o, (uint64_t)v, false, width);
	}
}

/*
 * "%.Nf" of v (of v * 100 with a '%' after it when percent), or "-" when v is not finite; cut
 * to max characters, as it was when printed into a buffer of max + 1 bytes (absurd values only).
 */
static void col_fixed(struct text_out *o, double v, int decimals, bool percent, size_t max,
		      int width)
{
	char buf[64], *end = buf + sizeof(buf) - 1, *p;
	double x;
	int n;

	/* decimals, percent and max are the column's: the place in the key says which. */
	if (o->key) {
		put(o, &v, sizeof(v));
		return;
	}
	x = percent ? v * 100 : v;
	if (!isfinite(v)) {
		put_padded(o, "-", 1, width);
		return;
	}
	*end = '%';
	if ((p = fixed_exact(end, x, decimals))) {
		n = (int)(end - p) + percent;
		put_padded(o, p, (size_t)n < max ? (size_t)n : max, width);
		return;
	}
	n = snprintf(buf, sizeof(buf) - 1, "%.*f", decimals, x);
	if (n < 0 || (size_t)n >= sizeof(buf) - 1)
		n = (int)sizeof(buf) - 2; /* more than max: only its start is shown */
	buf[n] = '%';
	n += percent;
	put_padded(o, buf, (size_t)n < max ? (size_t)n : max, width);
}

/* The lengths the columns were cut to (the buffers they were printed into, less one). */
#define FIXED_MAX 31
#define SHARE_MAX 15

static void col_rate(struct text_out *o, double v, int width)
{
	col_fixed(o, v, 1, false, FIXED_MAX, width);
}

static void col_pct(struct text_out *o, double v, int width)
{
	col_fixed(o, v, 1, true, FIXED_MAX, width);
}

static void col_ratio(struct text_out *o, double v, int width)
{
	col_fixed(o, v, 3, false, FIXED_MAX, width);
}

/* A task's share on the acceptor and receiver rows. */
static void col_share(struct text_out *o, double v, int width)
{
	col_fixed(o, v, 1, true, SHARE_MAX, width);
}

/*
 * The socket's owner (the process that serves it, observe/owner.h): "1234", or "1234+3" when
 * three more processes serve it (or, while nobody has yet, hold it).
 */
static void col_pid(struct text_out *o, const struct rt_owner *own, int width)
{
	char buf[48], *end = buf + sizeof(buf), *p = end;
	bool none = own->source == RT_OWNER_NONE;

	if (o->key) {
		put(o, &none, sizeof(none));
		put(o, &own->pid, sizeof(own->pid));
		put(o, &own->others, sizeof(own->others));
		return;
	}
	if (none) {
		put_padded(o, "-", 1, width);
		return;
	}
	if (own->others) {
		p = u64_digits(p, own->others);
		*--p = '+';
	}
	p = u64_digits(p, own->pid < 0 ? 0 - (uint64_t)own->pid : (uint64_t)own->pid);
	if (own->pid < 0)
		*--p = '-';
	put_padded(o, p, (size_t)(end - p), width);
}

static void col_endpoint(struct text_out *o, const struct rt_group_view *g)
{
	char a[96];

	if (o->key) {
		put(o, &g->family, sizeof(g->family));
		put(o, g->addr, sizeof(g->addr));
		put(o, &g->port, sizeof(g->port));
		key_str(o, g->bound_dev);
		return;
	}
	endpoint_str(g->family, g->addr, g->bound_dev, g->port, a, sizeof(a));
	put(o, a, strlen(a));
}

/* The container or pod of a process (observe/container.h), "-" when it runs in none. */
static void col_container(struct text_out *o, const struct rt_identity *id)
{
	const struct rt_container *c = id ? &id->container : NULL;
	bool in = id && id->in_container;
	char buf[160];

	if (o->key) {
		put(o, &in, sizeof(in));
		if (!in)
			return;
		key_str(o, c->runtime);
		key_str(o, c->id);
		key_str(o, c->pod_uid);
		key_str(o, c->pod);
		key_str(o, c->k8s_namespace);
		return;
	}
	if (in)
		container_label(id, buf, sizeof(buf));
	put(o, in ? buf : "-", strlen(in ? buf : "-"));
}

/* A task's state: "live", "exited", or "N folded" on the row of a group's exited tasks. */
static void col_state(struct text_out *o, bool folded, unsigned int tasks, bool exited, int width)
{
	char buf[32], *end = buf + sizeof(buf), *p;

	if (o->key) {
		put(o, &folded, sizeof(folded));
		put(o, folded ? &tasks : &(unsigned int){0}, sizeof(tasks));
		put(o, &exited, sizeof(exited));
		return;
	}
	if (!folded) {
		col_str(o, exited ? "exited" : "live", width);
		return;
	}
	p = end - (sizeof(" folded") - 1);
	memcpy(p, " folded", sizeof(" folded") - 1);
	p = u64_digits(p, tasks);
	put_padded(o, p, (size_t)(end - p), width);
}

/* ---- the lines of a group ---- */

/*
 * The header lines that depend on the protocol only, made once: [0] TCP, [1] UDP. Constant
 * after that, so the key can name them by address.
 */
static const char *socket_header(bool udp)
{
	static char head[2][256];

	if (!head[udp][0])
		snprintf(head[udp], sizeof(head[udp]),
			 "  %-10s %-10s %-15s %5s %10s %9s %10s %9s %9s %7s %8s %6s %5s %7s %7s "
			 "%7s %8s  %s\n",
			 "INODE", "PID", "COMM", "FD", "ENQUEUED", "ENQ/S",
			 udp ? "RECEIVED" : "ACCEPTED", udp ? "RCV/S" : "ACC/S", "SELECTED",
			 "SHARE", "WAKE/S", "QUEUE", "QMAX", "BACKLOG", "DROPS", "DROP/S",
			 "WAIT99us", "CONTAINER");
	return head[udp];
}

static const char *acceptor_header(bool udp)
{
	static char head[2][256];

	if (!head[udp][0])
		snprintf(head[udp], sizeof(head[udp]),
			 "  %-10s %-10s %-10s %-15s %-10s %5s %10s %9s %9s %9s %9s %7s  %-9s  %s\n",
			 udp ? "receivers:" : "acceptors:", "PID", "TID", "COMM", "INODE", "FD",
			 udp ? "RECEIVED" : "ACCEPTED", udp ? "RCV/S" : "ACC/S", "EAGAIN",
			 "WAKEUPS", "SPURIOUS", "SHARE", "STATE", "CONTAINER");
	return head[udp];
}

static const char *handoff_header(void)
{
	static char head[256];

	if (!head[0])
		snprintf(head, sizeof(head),
			 "\n  %-10s %-10s %-10s %-15s %-10s %10s %9s %7s %9s %9s  %s\n",
			 "receivers:", "PID", "TID", "COMM", "FROM", "RECEIVED", "RCV/S", "SHARE",
			 "WAIT50us", "WAIT99us", "STATE");
	return head;
}

static void group_head(struct text_out *o, const struct rt_group_view *g)
{
	pick(o, g->proto == IPPROTO_UDP ? "UDP " : "TCP ");
	col_endpoint(o, g);
	pick(o, g->v6only > 0 ? " v6only" : "");
	pick(o, g->closed ? " closed" : "");
	lit(o, "  netns ");
	col_u64(o, g->netns, 0);
	lit(o, "  members ");
	col_u64(o, g->nsocks, 0);
	lit(o, "  enq/s ");
	col_rate(o, g->enqueued_rate, 0);
	lit(o, "  acc/s ");
	col_rate(o, g->accepted_rate, 0);
	lit(o, "  max-share ");
	col_pct(o, g->imbalance.max_share, 0);
	lit(o, "  jain ");
	col_ratio(o, g->imbalance.jain, 0);
	lit(o, "  wakeups/conn ");
	col_ratio(o, g->wakeups_per_conn, 0);
	lit(o, "\n");
	if (branch(o, g->steering != NULL)) {
		lit(o, "  steered by reusetop: ");
		col_str(o, g->steering->policy, 0);
		pick(o, g->steering->shadow ? " in shadow mode" : "");
		lit(o, " (program ");
		col_u64(o, g->steering->prog_id, 0);
		lit(o, "), ");
		col_u64(o, g->steering->fallbacks, 0);
		lit(o, " left to the kernel's hash\n");
	}
	pick(o, socket_header(g->proto == IPPROTO_UDP));
}

static void socket_row(struct text_out *o, const struct rt_view *v, const struct rt_sock_view *s)
{
	const struct rt_listener *l = s->l;
	const struct rt_owner *own = &s->owner;

	lit(o, "  ");
	col_u64(o, l->inode, -10);
	lit(o, " ");
	col_pid(o, own, -10);
	lit(o, " ");
	col_str(o, own->source != RT_OWNER_NONE ? own->comm : l->closed ? "(closed)" : "-", -15);
	lit(o, " ");
	col_int(o, own->fd, 5);
	lit(o, " ");
	col_num(o, has_enqueued(&v->features, l->proto), s->enqueued, 10);
	lit(o, " ");
	col_rate(o, s->enqueued_rate, 9);
	lit(o, " ");
	col_num(o, has_accepted(&v->features, l->proto), s->accepted, 10);
	lit(o, " ");
	col_rate(o, s->accepted_rate, 9);
	lit(o, " ");
	col_num(o, v->features.selected, s->selected, 9);
	lit(o, " ");
	col_pct(o, s->share, 7);
	lit(o, " ");
	col_rate(o, s->wakeups_rate, 8);
	lit(o, " ");
	col_u64(o, l->queue, 6);
	lit(o, " ");
	col_u64(o, s->queue_max, 5);
	lit(o, " ");
	col_u64(o, l->backlog, 7);
	lit(o, " ");
	col_int(o, l->drops, 7);
	lit(o, " ");
	col_rate(o, s->drops_rate, 7);
	lit(o, " ");
	col_rate(o, s->wait.p99_us, 8);
	lit(o, "  ");
	col_container(o, s->ident);
	lit(o, "\n");
}

/* Each task and the socket (inode, fd) it accepts from (reads, UDP); exited ones are marked. */
static void acceptor_rows(struct text_out *o, const struct rt_view *v,
			  const struct rt_group_view *g)
{
	pick(o, acceptor_header(g->proto == IPPROTO_UDP));
	for (size_t k = 0, n = count(o, g->nacceptors); k < n; k++) {
		const struct rt_acceptor_view *ac = &g->acceptors[k];
		bool folded = !ac->a->pid && !ac->a->tid;

		lit(o, "  ");
		col_str(o, "", -10);
		lit(o, " ");
		col_int(o, folded ? -1 : (long long)ac->a->pid, -10);
		lit(o, " ");
		col_int(o, folded ? -1 : (long long)ac->a->tid, -10);
		lit(o, " ");
		col_str(o, ac->a->comm, -15);
		lit(o, " ");
		col_int(o, folded ? -1 : (long long)ac->a->inode, -10);
		lit(o, " ");
		col_int(o, ac->fd, 5);
		lit(o, " ");
		col_u64(o, ac->a->accepted, 10);
		lit(o, " ");
		col_rate(o, ac->accepted_rate, 9);
		lit(o, " ");
		col_u64(o, ac->a->eagain, 9);
		lit(o, " ");
		col_num(o, v->features.wakeups, ac->a->wakeups, 9);
		lit(o, " ");
		col_num(o, v->features.wakeups, ac->spurious, 9);
		lit(o, " ");
		col_share(o, ac->share, 7);
		lit(o, "  ");
		col_state(o, folded, ac->a->tasks, ac->a->exited, -9);
		lit(o, "  ");
		col_container(o, ac->ident);
		lit(o, "\n");
	}
}

/* Connections the group's acceptors passed over Unix sockets, and each task that received them. */
static void handoff_rows(struct text_out *o, const struct rt_group_view *g)
{
	lit(o, "  handoffs: ");
	col_u64(o, g->handoff_received, 0);
	lit(o, " received, ");
	col_u64(o, g->handoff_pending, 0);
	lit(o, " pending, max-share ");
	col_pct(o, g->handoff_imbalance.max_share, 0);
	lit(o, "  jain ");
	col_ratio(o, g->handoff_imbalance.jain, 0);
	lit(o, ";");
	for (size_t k = 0, n = count(o, g->nacceptors); k < n; k++) {
		if (!branch(o, g->acceptors[k].handed_off != 0))
			continue;
		lit(o, " ");
		col_u64(o, (uint32_t)g->acceptors[k].a->pid, 0);
		lit(o, " handed off ");
		col_u64(o, g->acceptors[k].handed_off, 0);
	}
	lit(o, handoff_header());
	for (size_t k = 0, n = count(o, g->nhandoffs); k < n; k++) {
		const struct rt_handoff_view *r = &g->handoffs[k];
		bool folded = !r->h->pid;

		lit(o, "  ");
		col_str(o, "", -10);
		lit(o, " ");
		col_int(o, folded ? -1 : (long long)r->h->pid, -10);
		lit(o, " ");
		col_int(o, folded ? -1 : (long long)r->h->tid, -10);
		lit(o, " ");
		col_str(o, r->h->comm, -15);
		lit(o, " ");
		col_u64(o, r->h->from_pid, -10);
		lit(o, " ");
		col_u64(o, r->h->received, 10);
		lit(o, " ");
		col_rate(o, r->received_rate, 9);
		lit(o, " ");
		col_share(o, r->share, 7);
		lit(o, " ");
		col_rate(o, r->wait.count ? r->wait.p50_us : NAN, 9);
		lit(o, " ");
		col_rate(o, r->wait.count ? r->wait.p99_us : NAN, 9);
		lit(o, "  ");
		col_state(o, folded, r->h->tasks, r->h->exited, 0);
		lit(o, "\n");
	}
}

/* A group's lines, after the blank line that separates groups. */
static void group_lines(struct text_out *o, const struct rt_view *v, const struct rt_group_view *g)
{
	lit(o, "\n");
	group_head(o, g);
	for (size_t k = 0, n = count(o, g->nsocks); k < n; k++)
		socket_row(o, v, &g->socks[k]);
	if (branch(o, g->nacceptors != 0))
		acceptor_rows(o, v, g);
	if (branch(o, g->nhandoffs || g->handoff_pending))
		handoff_rows(o, g);
}

/* ---- the interval ---- */

static const char *rate_str(char *buf, size_t len, double v)
{
	if (!isfinite(v))
		return "-";
	snprintf(buf, len, "%.1f", v);
	return buf;
}

static void interval_head(FILE *f, const struct rt_view *v)
{
	char when[40], r1[32], r2[32];

	fprintf(f,
		"reusetop %s  interval %.2fs  attach %s  groups %zu  sockets %zu  enq/s %s  acc/s "
		"%s\n",
		iso8601_utc(&v->realtime, when, sizeof(when)), v->interval_s,
		v->attach ? v->attach : "none", v->ngroups, v->nsockets,
		rate_str(r1, sizeof(r1), v->enqueued_rate),
		rate_str(r2, sizeof(r2), v->accepted_rate));
	for (size_t i = 0; v->degraded && v->degraded[i]; i++)
		fprintf(f, "degraded: %s\n", v->degraded[i]);
	if (v->health.sock_map_full || v->health.acceptor_map_full || v->health.inflight_full)
		fprintf(f,
			"lost: socket map full %llu, acceptor map full %llu, in-flight map full "
			"%llu\n",
			(unsigned long long)v->health.sock_map_full,
			(unsigned long long)v->health.acceptor_map_full,
			(unsigned long long)v->health.inflight_full);
}

void render_text(FILE *f, const struct rt_view *v)
{
	struct json_buf b = {0};
	struct text_out o = {&b, false};

	interval_head(f, v);
	for (size_t i = 0; i < v->ngroups; i++) {
		b.len = 0;
		b.failed = false;
		group_lines(&o, v, &v->groups[i]);
		fwrite(b.data, 1, b.len, f);
	}
	fputc('\n', f);
	fflush(f);
	json_buf_free(&b);
}

/* ---- the cache ---- */

/*
 * A group's lines as the last interval printed them, and the fingerprint of the key they were
 * made from (json.h: equal fingerprints stand for equal keys).
 */
struct rt_text_cache {
	struct group_text *groups, *next; /* the last interval's, and the one being made */
	size_t ngroups, nnext, groups_cap, next_cap;
	struct json_buf key; /* the key of the group at hand */
	struct iovec *pieces; /* the interval's text as written */
	size_t pieces_cap;
	size_t reused;
};

int text_cache_new(struct rt_text_cache **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void entries_free(struct group_text *t, size_t n)
{
	for (size_t i = 0; i < n; i++)
		json_buf_free(&t[i].text);
}

void text_cache_free(struct rt_text_cache *c)
{
	if (!c)
		return;
	entries_free(c->groups, c->ngroups);
	free(c->groups);
	free(c->next);
	free(c->pieces);
	json_buf_free(&c->key);
	free(c);
}

size_t text_cache_reused(const struct rt_text_cache *c)
{
	return c->reused;
}

/*
 * The entry of group g for this interval: last interval's text when the key is the same, else
 * the text made now. Groups are in the same order every interval: last interval's entry of g,
 * if any, is at the cursor. False when memory ran out.
 */
static bool group_entry(const struct rt_view *v, const struct rt_group_view *g,
			struct rt_text_cache *c, size_t *cursor)
{
	struct group_text *t = &c->next[c->nnext++];
	struct text_out o = {&c->key, true};
	struct json_fingerprint fp;

	c->key.len = 0;
	c->key.failed = false;
	group_lines(&o, v, g);
	if (c->key.failed)
		return false;
	json_fingerprint_of(&fp, c->key.data, c->key.len);
	if (group_text_reuse(t, c->groups, c->ngroups, cursor, g, &fp)) {
		c->reused++;
		return true;
	}
	t->text.len = 0;
	t->text.failed = false;
	o = (struct text_out){&t->text, false};
	group_lines(&o, v, g);
	t->valid = !t->text.failed;
	return t->valid;
}

/* The entries of groups no longer shown are freed, and this interval's kept. */
static void cache_swap(struct rt_text_cache *c)
{
	entries_free(c->groups, c->ngroups);
	SWAP(c->groups, c->next);
	SWAP(c->groups_cap, c->next_cap);
	c->ngroups = c->nnext;
	c->nnext = 0;
}

int render_text_cached(FILE *f, const struct rt_view *v, struct rt_text_cache *c)
{
	size_t cursor = 0, n = v->ngroups ? v->ngroups : 1;
	bool ok;

	c->reused = 0;
	c->nnext = 0;
	ok = !reserve_array(&c->next, &c->next_cap, n, sizeof(*c->next)) &&
	     !reserve_array(&c->pieces, &c->pieces_cap, n + 1, sizeof(*c->pieces));
	for (size_t i = 0; ok && i < v->ngroups; i++)
		ok = group_entry(v, &v->groups[i], c, &cursor);
	if (!ok) {
		/* Out of memory: this time without the cache, which starts again empty. */
		cache_swap(c);
		entries_free(c->groups, c->ngroups);
		c->ngroups = 0;
		render_text(f, v);
		return 0;
	}
	for (size_t i = 0; i < c->nnext; i++)
		c->pieces[i] = (struct iovec){c->next[i].text.data, c->next[i].text.len};
	c->pieces[c->nnext] = (struct iovec){(char *)"\n", 1};
	n = c->nnext + 1;
	cache_swap(c);
	interval_head(f, v);
	return write_pieces(f, c->pieces, n);
}
