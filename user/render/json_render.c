// SPDX-License-Identifier: GPL-2.0
/* The -j output: one JSON object per interval. Field names are a contract: see README.md. */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <limits.h>
#include <unistd.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/uio.h>

#include "render/json.h"
#include "render/render.h"
#include "observe/owner.h"
#include "steer/steer.h"

const char *iso8601_utc(const struct timespec *ts, char *buf, size_t len)
{
	struct tm tm;
	char sec[24];

	gmtime_r(&ts->tv_sec, &tm);
	strftime(sec, sizeof(sec), "%Y-%m-%dT%H:%M:%S", &tm);
	snprintf(buf, len, "%s.%03ldZ", sec, ts->tv_nsec / 1000000);
	return buf;
}

/*
 * A counter the attached tier cannot produce is null, never a made-up zero. Inlined, like
 * imbalance(): called a dozen times per group, and a fingerprint's call is a store or two.
 */
static inline __attribute__((always_inline)) void counter(struct json_writer *w, const char *key,
							  bool known, uint64_t value)
{
	if (known)
		json_uint(w, key, value);
	else
		json_null(w, key);
}

static inline __attribute__((always_inline)) void imbalance(struct json_writer *w, const char *key,
							    const struct rt_imbalance *im)
{
	json_object_begin(w, key);
	json_double(w, "max_share", im->max_share, 4);
	json_double(w, "jain", im->jain, 4);
	json_object_end(w);
}

/* Percentiles over the last interval; buckets cumulative since start, up to the last used. */
static void wait_json(struct json_writer *w, const struct rt_view *v, const struct rt_sock_view *s)
{
	const uint64_t *b = s->sample ? s->sample->wait : NULL;
	int last = -1;

	if (!v->features.wait) {
		json_null(w, "wait_us");
		return;
	}
	json_object_begin(w, "wait_us");
	json_double(w, "p50", s->wait.p50_us, 0);
	json_double(w, "p90", s->wait.p90_us, 0);
	json_double(w, "p99", s->wait.p99_us, 0);
	json_uint(w, "interval_count", s->wait.count);
	json_array_begin(w, "buckets");
	for (int i = 0; b && i < RT_WAIT_BUCKETS; i++)
		if (b[i])
			last = i;
	for (int i = 0; i <= last; i++) {
		json_object_begin(w, NULL);
		json_double(w, "le", wait_bucket_upper_us((unsigned int)i), 0);
		json_uint(w, "count", b[i]);
		json_object_end(w);
	}
	json_array_end(w);
	json_object_end(w);
}

static void holder_fields(struct json_writer *w, const struct rt_holder *h)
{
	if (h) {
		json_int(w, "pid", h->pid);
		json_string(w, "comm", h->comm);
		json_int(w, "fd", h->fd);
	} else {
		json_null(w, "pid");
		json_null(w, "comm");
		json_null(w, "fd");
	}
}

static void optional_string(struct json_writer *w, const char *key, const char *value)
{
	if (value[0])
		json_string(w, key, value);
	else
		json_null(w, key);
}

/* A process's cgroup and container (observe/container.h), null where unknown. */
static void identity_json(struct json_writer *w, const struct rt_identity *id)
{
	const struct rt_container *c = id ? &id->container : NULL;

	if (id && id->cgroup[0])
		json_string(w, "cgroup", id->cgroup);
	else
		json_null(w, "cgroup");
	if (!c || !id->in_container) {
		json_null(w, "container");
		return;
	}
	json_object_begin(w, "container");
	optional_string(w, "runtime", c->runtime);
	optional_string(w, "id", c->id);
	optional_string(w, "pod_uid", c->pod_uid);
	optional_string(w, "pod", c->pod);
	optional_string(w, "namespace", c->k8s_namespace);
	json_object_end(w);
}

/* Who the socket belongs to: pid, comm and fd of the process that serves it (observe/owner.h). */
static void owner_json(struct json_writer *w, const struct rt_sock_view *s)
{
	const struct rt_owner *o = &s->owner;
	const char *source = owner_source_name(o->source);

	if (o->source == RT_OWNER_NONE) {
		holder_fields(w, NULL);
	} else {
		json_int(w, "pid", o->pid);
		json_string(w, "comm", o->comm);
		if (o->fd >= 0)
			json_int(w, "fd", o->fd);
		else
			json_null(w, "fd");
	}
	json_bool(w, "closed", s->l->closed);
	if (source)
		json_string(w, "owner", source);
	else
		json_null(w, "owner");
	json_array_begin(w, "servers");
	for (size_t i = 0; i < s->nservers; i++)
		json_int(w, NULL, s->servers[i]);
	json_array_end(w);
}

static void drops_json(struct json_writer *w, const struct rt_sock_view *s)
{
	if (s->l->drops >= 0)
		json_int(w, "drops", s->l->drops);
	else
		json_null(w, "drops");
	json_double(w, "drops_per_s", s->drops_rate, 3);
}

/* The member's share of reusetop's steering policy, or null when the group is not steered. */
static void steered_json(struct json_writer *w, const struct rt_sock_view *s)
{
	const struct steer_member_stats *m = s->steered;

	if (!m) {
		json_null(w, "steered");
		return;
	}
	json_object_begin(w, "steered");
	json_uint(w, "selected", m->selected);
	json_uint(w, "migrated", m->migrated);
	json_uint(w, "would_select", m->would_select);
	json_uint(w, "hash_selected", m->hashed);
	json_uint(w, "failed", m->failed);
	json_object_begin(w, "failed_by");
	json_uint(w, "member_closed", m->closed);
	json_uint(w, "refused", m->refused);
	json_object_end(w);
	json_uint(w, "weight", m->weight);
	json_bool(w, "drained", m->drained);
	json_object_end(w);
}

static void steering_json(struct json_writer *w, const struct rt_group_view *g)
{
	const struct steer_group_stats *st = g->steering;

	if (!st) {
		json_null(w, "steering");
		return;
	}
	json_object_begin(w, "steering");
	json_string(w, "policy", st->policy);
	json_uint(w, "prog_id", st->prog_id);
	json_string(w, "prog_name", st->prog_name);
	json_string(w, "mode", st->shadow ? "shadow" : "enforce");
	json_uint(w, "fallbacks", st->fallbacks);
	json_object_begin(w, "fallback_reasons");
	for (uint32_t r = 0; r < STEER_FB_COUNT; r++)
		json_uint(w, steer_fallback_reason_name(r), st->reasons[r]);
	json_object_end(w);
	json_object_end(w);
}

static void socket_json(struct json_writer *w, const struct rt_view *v,
			const struct rt_sock_view *s)
{
	const struct rt_listener *l = s->l;

	json_object_begin(w, NULL);
	json_uint(w, "inode", l->inode);
	owner_json(w, s);
	identity_json(w, s->ident);
	steered_json(w, s);
	json_array_begin(w, "holders");
	for (size_t i = 0; i < l->nholders; i++) {
		json_object_begin(w, NULL);
		holder_fields(w, &l->holders[i]);
		json_object_end(w);
	}
	json_array_end(w);
	counter(w, "enqueued", has_enqueued(&v->features, l->proto), s->enqueued);
	if (l->proto == IPPROTO_UDP) {
		/* A UDP socket's datagrams read by the application; no accept queue. */
		counter(w, "received", v->features.udp, s->accepted);
		counter(w, "selected", v->features.selected, s->selected);
		json_double(w, "enqueued_per_s", s->enqueued_rate, 3);
		json_double(w, "received_per_s", s->accepted_rate, 3);
		json_double(w, "selected_per_s", s->selected_rate, 3);
		json_double(w, "share", s->share, 4);
		json_double(w, "interval_share", s->interval_share, 4);
		json_bool(w, "connected", l->state == 1);
		json_uint(w, "queue_bytes", l->queue);
		drops_json(w, s);
		json_object_end(w);
		return;
	}
	counter(w, "accepted", v->features.accepted, s->accepted);
	counter(w, "eagain", v->features.accepted, s->eagain);
	counter(w, "selected", v->features.selected, s->selected);
	json_double(w, "enqueued_per_s", s->enqueued_rate, 3);
	json_double(w, "accepted_per_s", s->accepted_rate, 3);
	json_double(w, "eagain_per_s", s->eagain_rate, 3);
	json_double(w, "selected_per_s", s->selected_rate, 3);
	json_double(w, "share", s->share, 4);
	json_double(w, "interval_share", s->interval_share, 4);
	counter(w, "wakeups", v->features.wakeups, s->wakeups);
	json_double(w, "wakeups_per_s", s->wakeups_rate, 3);
	json_uint(w, "queue", l->queue);
	json_uint(w, "queue_max", s->queue_max);
	json_uint(w, "backlog", l->backlog);
	drops_json(w, s);
	wait_json(w, v, s);
	json_object_end(w);
}

/* A task's (pid, tid, listener, fd), or nulls on the group's row of folded exited tasks. */
static void acceptor_ids(struct json_writer *w, const struct rt_acceptor_view *a)
{
	if (!a->a->pid && !a->a->tid) {
		json_null(w, "pid");
		json_null(w, "tid");
		json_string(w, "comm", a->a->comm);
		json_null(w, "inode");
	} else {
		json_uint(w, "pid", a->a->pid);
		json_uint(w, "tid", a->a->tid);
		json_string(w, "comm", a->a->comm);
		json_uint(w, "inode", a->a->inode);
	}
	if (a->fd >= 0)
		json_int(w, "fd", a->fd);
	else
		json_null(w, "fd");
	json_bool(w, "exited", a->a->exited);
	json_uint(w, "tasks", a->a->tasks);
	identity_json(w, a->ident);
}

static void acceptor_json(struct json_writer *w, const struct rt_view *v,
			  const struct rt_acceptor_view *a)
{
	json_object_begin(w, NULL);
	acceptor_ids(w, a);
	json_uint(w, "accepted", a->a->accepted);
	json_uint(w, "eagain", a->a->eagain);
	json_double(w, "accepted_per_s", a->accepted_rate, 3);
	json_double(w, "eagain_per_s", a->eagain_rate, 3);
	counter(w, "wakeups", v->features.wakeups, a->a->wakeups);
	json_double(w, "wakeups_per_s", a->wakeups_rate, 3);
	counter(w, "spurious_wakeups", v->features.wakeups, a->spurious);
	json_double(w, "share", a->share, 4);
	counter(w, "handed_off", v->features.handoff, a->handed_off);
	json_object_end(w);
}

/* A task that received connections of the group passed over a Unix socket. */
static void handoff_json(struct json_writer *w, const struct rt_handoff_view *h)
{
	json_object_begin(w, NULL);
	if (h->h->pid) {
		json_uint(w, "pid", h->h->pid);
		json_uint(w, "tid", h->h->tid);
	} else {
		json_null(w, "pid");
		json_null(w, "tid");
	}
	json_string(w, "comm", h->h->comm);
	json_uint(w, "from_pid", h->h->from_pid);
	json_bool(w, "exited", h->h->exited);
	json_uint(w, "tasks", h->h->tasks);
	identity_json(w, h->ident);
	json_uint(w, "received", h->h->received);
	json_double(w, "received_per_s", h->received_rate, 3);
	json_double(w, "share", h->share, 4);
	if (h->wait.count) {
		json_object_begin(w, "wait_us");
		json_double(w, "p50", h->wait.p50_us, 0);
		json_double(w, "p90", h->wait.p90_us, 0);
		json_double(w, "p99", h->wait.p99_us, 0);
		json_uint(w, "interval_count", h->wait.count);
		json_object_end(w);
	} else {
		json_null(w, "wait_us");
	}
	json_object_end(w);
}

/* Connections the group's acceptors passed to other processes, and who received them. */
static void handoffs_json(struct json_writer *w, const struct rt_view *v,
			  const struct rt_group_view *g)
{
	if (!v->features.handoff) {
		json_null(w, "handoffs");
		json_null(w, "handoff_received");
		json_null(w, "handoff_pending");
		imbalance(w, "handoff_imbalance", &g->handoff_imbalance);
		return;
	}
	json_array_begin(w, "handoffs");
	for (size_t i = 0; i < g->nhandoffs; i++)
		handoff_json(w, &g->handoffs[i]);
	json_array_end(w);
	json_uint(w, "handoff_received", g->handoff_received);
	json_uint(w, "handoff_pending", g->handoff_pending);
	imbalance(w, "handoff_imbalance", &g->handoff_imbalance);
}

/* A task reading a UDP socket of the group (its row's accepted are the datagrams it read). */
static void receiver_json(struct json_writer *w, const struct rt_acceptor_view *a)
{
	json_object_begin(w, NULL);
	acceptor_ids(w, a);
	json_uint(w, "received", a->a->accepted);
	json_double(w, "received_per_s", a->accepted_rate, 3);
	json_double(w, "share", a->share, 4);
	json_object_end(w);
}

static void group_json(struct json_writer *w, const struct rt_view *v,
		       const struct rt_group_view *g)
{
	char addr[64];

	json_object_begin(w, NULL);
	json_string(w, "proto", proto_name(g->proto));
	json_string(w, "family", family_name(g->family));
	/* The text follows from the family and these bytes: no inet_ntop for a fingerprint. */
	if (json_is_fingerprint(w))
		json_fingerprint_bytes(w, g->addr, sizeof(g->addr));
	else
		json_string(w, "addr", addr_str(g->family, g->addr, addr, sizeof(addr)));
	json_uint(w, "port", g->port);
	json_uint(w, "netns", g->netns);
	if (g->bound_ifindex) {
		json_uint(w, "bound_ifindex", g->bound_ifindex);
		if (g->bound_dev[0])
			json_string(w, "bound_dev", g->bound_dev);
		else
			json_null(w, "bound_dev");
	} else {
		json_null(w, "bound_ifindex");
		json_null(w, "bound_dev");
	}
	if (g->v6only >= 0)
		json_bool(w, "v6only", g->v6only);
	else
		json_null(w, "v6only");
	json_bool(w, "closed", g->closed);
	json_uint(w, "members", g->nsocks);
	steering_json(w, g);
	counter(w, "enqueued", has_enqueued(&v->features, g->proto), g->enqueued);
	if (g->proto == IPPROTO_UDP) {
		counter(w, "received", v->features.udp, g->accepted);
		counter(w, "selected", v->features.selected, g->selected);
		json_double(w, "enqueued_per_s", g->enqueued_rate, 3);
		json_double(w, "received_per_s", g->accepted_rate, 3);
		json_double(w, "selected_per_s", g->selected_rate, 3);
		imbalance(w, "imbalance", &g->imbalance);
		imbalance(w, "interval_imbalance", &g->interval_imbalance);
		json_array_begin(w, "sockets");
		for (size_t i = 0; i < g->nsocks; i++)
			socket_json(w, v, &g->socks[i]);
		json_array_end(w);
		if (v->features.udp) {
			json_array_begin(w, "receivers");
			for (size_t i = 0; i < g->nacceptors; i++)
				receiver_json(w, &g->acceptors[i]);
			json_array_end(w);
		} else {
			json_null(w, "receivers");
		}
		json_object_end(w);
		return;
	}
	counter(w, "accepted", v->features.accepted, g->accepted);
	counter(w, "eagain", v->features.accepted, g->eagain);
	counter(w, "selected", v->features.selected, g->selected);
	json_double(w, "enqueued_per_s", g->enqueued_rate, 3);
	json_double(w, "accepted_per_s", g->accepted_rate, 3);
	json_double(w, "eagain_per_s", g->eagain_rate, 3);
	json_double(w, "selected_per_s", g->selected_rate, 3);
	counter(w, "wakeups", v->features.wakeups, g->wakeups);
	json_double(w, "wakeups_per_s", g->wakeups_rate, 3);
	json_double(w, "wakeups_per_conn", g->wakeups_per_conn, 3);
	json_double(w, "interval_wakeups_per_conn", g->interval_wakeups_per_conn, 3);
	counter(w, "spurious_wakeups", v->features.wakeups, g->spurious);
	imbalance(w, "imbalance", &g->imbalance);
	imbalance(w, "interval_imbalance", &g->interval_imbalance);
	imbalance(w, "acceptor_imbalance", &g->acceptor_imbalance);
	json_array_begin(w, "sockets");
	for (size_t i = 0; i < g->nsocks; i++)
		socket_json(w, v, &g->socks[i]);
	json_array_end(w);
	json_array_begin(w, "acceptors");
	for (size_t i = 0; i < g->nacceptors; i++)
		acceptor_json(w, v, &g->acceptors[i]);
	json_array_end(w);
	handoffs_json(w, v, g);
	json_object_end(w);
}

/*
 * The text of one group as the last interval rendered it, after a comma, and the fingerprint of
 * the writer calls it came from (json_writer's fingerprint mode). Ordered like the view's groups.
 */
struct rt_json_cache {
	struct group_text *groups, *next; /* the last document's, and the one being written */
	size_t ngroups, nnext, groups_cap, next_cap;
	struct json_buf head; /* the document around the groups */
	struct json_fp_shapes shapes; /* the groups' fingerprinting writers' */
	struct iovec *pieces; /* the document as written */
	size_t pieces_cap;
	size_t reused; /* groups of the last document whose text was kept */
};

int json_cache_new(struct rt_json_cache **out)
{
	*out = calloc(1, sizeof(**out));
	return *out ? 0 : -ENOMEM;
}

static void group_text_free(struct group_text *t)
{
	json_buf_free(&t->text);
}

void json_cache_free(struct rt_json_cache *c)
{
	if (!c)
		return;
	for (size_t i = 0; i < c->ngroups; i++)
		group_text_free(&c->groups[i]);
	free(c->groups);
	free(c->next);
	free(c->pieces);
	json_buf_free(&c->head);
	json_fp_shapes_free(&c->shapes);
	free(c);
}

size_t json_cache_reused(const struct rt_json_cache *c)
{
	return c->reused;
}

void group_id_of(struct rt_group_id *id, const struct rt_group_view *g)
{
	*id = (struct rt_group_id){.netns = g->netns,
				   .family = g->family,
				   .proto = g->proto,
				   .port = g->port,
				   .v6only = g->v6only,
				   .bound_ifindex = g->bound_ifindex,
				   .closed = g->closed};
	memcpy(id->addr, g->addr, sizeof(id->addr));
}

int group_id_cmp(const struct rt_group_id *t, const struct rt_group_view *g)
{
	int c;

	if ((c = CMP3(t->netns, g->netns)) || (c = CMP3(t->proto, g->proto)) ||
	    (c = CMP3(t->family, g->family)))
		return c;
	if ((c = memcmp(t->addr, g->addr, sizeof(t->addr))))
		return c;
	if ((c = CMP3(t->port, g->port)) || (c = CMP3(t->v6only, g->v6only)) ||
	    (c = CMP3(t->bound_ifindex, g->bound_ifindex)))
		return c;
	return CMP3(t->closed, g->closed);
}

bool group_text_reuse(struct group_text *t, struct group_text *last, size_t nlast, size_t *cursor,
		      const struct rt_group_view *g, const struct json_fingerprint *fp)
{
	struct group_text *old = NULL;

	while (*cursor < nlast && group_id_cmp(&last[*cursor].id, g) < 0)
		(*cursor)++;
	if (*cursor < nlast && !group_id_cmp(&last[*cursor].id, g))
		old = &last[(*cursor)++];
	if (old) {
		*t = *old;
		/* Its buffer moved to t: the end of the interval must not free it. */
		old->text = (struct json_buf){0};
		if (t->valid && json_fingerprint_equal(&t->fp, fp))
			return true;
	} else {
		*t = (struct group_text){0};
		group_id_of(&t->id, g);
	}
	t->fp = *fp;
	return false;
}

/*
 * The text of group g: the last interval's when the writer calls that render it are the same as
 * then (by their fingerprint), else rendered now and kept. Idle groups, most of them on a host
 * with many listeners, print the same text every interval. NULL when memory ran out.
 */
static const struct json_buf *group_text(const struct rt_view *v, const struct rt_group_view *g,
					 struct rt_json_cache *c, size_t *cursor)
{
	struct group_text *t = &c->next[c->nnext++];
	struct json_fingerprint fp;
	struct json_writer sub;

	json_init_fingerprint(&sub, &fp, &c->shapes, 1);
	group_json(&sub, v, g);
	if (!json_fingerprint_finish(&sub)) {
		/* Out of memory: an entry with no text, for the end of the document to free. */
		*t = (struct group_text){0};
		group_id_of(&t->id, g);
		return NULL;
	}
	if (group_text_reuse(t, c->groups, c->ngroups, cursor, g, &fp)) {
		c->reused++;
		return &t->text;
	}
	/* The comma before it in the groups' array too: one piece less to write per group. */
	t->text.len = 0;
	t->text.failed = false;
	if (json_buf_reserve(&t->text, 1))
		t->text.data[t->text.len++] = ',';
	json_init_buf(&sub, &t->text, 1);
	group_json(&sub, v, g);
	t->valid = !t->text.failed;
	return t->valid ? &t->text : NULL;
}

/* The cache's entries of groups no longer shown are freed, and this document's kept. */
static void cache_swap(struct rt_json_cache *c)
{
	struct group_text *p = c->groups;
	size_t cap = c->groups_cap;

	for (size_t i = 0; i < c->ngroups; i++)
		group_text_free(&c->groups[i]);
	c->groups = c->next;
	c->groups_cap = c->next_cap;
	c->ngroups = c->nnext;
	c->next = p;
	c->next_cap = cap;
	c->nnext = 0;
}

/* Everything before the groups' array elements. */
static void header(struct json_writer *w, const struct rt_view *v)
{
	char when[40];

	json_object_begin(w, NULL);
	json_string(w, "time", iso8601_utc(&v->realtime, when, sizeof(when)));
	json_double(w, "interval_s", v->interval_s, 3);
	json_double(w, "refresh_s", v->refresh_s, 4);
	json_string(w, "attach", v->attach ? v->attach : "none");
	json_object_begin(w, "features");
	json_bool(w, "enqueued", v->features.enqueued);
	json_bool(w, "accepted", v->features.accepted);
	json_bool(w, "selected", v->features.selected);
	json_bool(w, "wakeups", v->features.wakeups);
	json_bool(w, "wait", v->features.wait);
	json_bool(w, "udp", v->features.udp);
	json_bool(w, "handoff", v->features.handoff);
	json_object_end(w);
	json_array_begin(w, "degraded");
	for (size_t i = 0; v->degraded && v->degraded[i]; i++)
		json_string(w, NULL, v->degraded[i]);
	json_array_end(w);
	json_object_begin(w, "lost");
	json_uint(w, "socket_map_full", v->health.sock_map_full);
	json_uint(w, "acceptor_map_full", v->health.acceptor_map_full);
	json_uint(w, "inflight_map_full", v->health.inflight_full);
	json_uint(w, "no_inode", v->health.no_inode);
	json_uint(w, "wait_unknown", v->health.wait_unknown);
	json_uint(w, "socket_unknown", v->health.socket_unknown);
	json_object_end(w);
	json_array_begin(w, "groups");
}

static void footer(struct json_writer *w)
{
	json_array_end(w);
	json_object_end(w);
}

void render_json(FILE *f, const struct rt_view *v)
{
	struct json_writer w;

	json_init(&w, f);
	header(&w, v);
	for (size_t i = 0; i < v->ngroups; i++)
		group_json(&w, v, &v->groups[i]);
	footer(&w);
	fflush(f);
}

int write_pieces(FILE *f, struct iovec *iov, size_t n)
{
	int fd = fileno(f);

	if (fd < 0) {
		for (size_t i = 0; i < n; i++)
			fwrite(iov[i].iov_base, 1, iov[i].iov_len, f);
		return fflush(f) || ferror(f) ? -EIO : 0;
	}
	if (fflush(f))
		return -errno;
	while (n) {
		ssize_t done = writev(fd, iov, n < IOV_MAX ? (int)n : IOV_MAX);

		if (done < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (; n && (size_t)done >= iov->iov_len; iov++, n--)
			done -= (ssize_t)iov->iov_len;
		if (n) {
			iov->iov_base = (char *)iov->iov_base + done;
			iov->iov_len -= (size_t)done;
		}
	}
	return 0;
}

/* Room for the next document's entries and pieces; false when memory ran out. */
static bool cache_reserve(struct rt_json_cache *c, size_t ngroups)
{
	size_t npieces = ngroups + 2;
	void *p;

	if (ngroups > c->next_cap) {
		if (!(p = realloc(c->next, ngroups * sizeof(*c->next))))
			return false;
		c->next = p;
		c->next_cap = ngroups;
	}
	if (npieces > c->pieces_cap) {
		if (!(p = realloc(c->pieces, npieces * sizeof(*c->pieces))))
			return false;
		c->pieces = p;
		c->pieces_cap = npieces;
	}
	return true;
}

int render_json_cached(FILE *f, const struct rt_view *v, struct rt_json_cache *c)
{
	struct json_writer w;
	size_t cursor = 0, n = 0, head_len;
	bool ok;

	c->reused = 0;
	c->head.len = 0;
	c->head.failed = false;
	json_init_buf(&w, &c->head, 0);
	header(&w, v);
	head_len = c->head.len;
	footer(&w);
	ok = cache_reserve(c, v->ngroups) && !c->head.failed;
	if (ok) {
		c->pieces[n++] = (struct iovec){c->head.data, head_len};
		for (size_t i = 0; i < v->ngroups && ok; i++) {
			const struct json_buf *text = group_text(v, &v->groups[i], c, &cursor);

			/* The first group's text without the comma that starts it. */
			if (text)
				c->pieces[n++] = (struct iovec){text->data + !i, text->len - !i};
			ok = text != NULL;
		}
		c->pieces[n++] = (struct iovec){c->head.data + head_len, c->head.len - head_len};
		cache_swap(c);
	}
	if (!ok) {
		/* Out of memory: this time without the cache. */
		render_json(f, v);
		return ferror(f) ? -EIO : 0;
	}
	return write_pieces(f, c->pieces, n);
}
