// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "observe/closed.h"
#include "util.h"

struct closed_sock {
	struct rt_listener l;
	double since;
};

/* Sorted by inode. */
struct rt_closed {
	double keep_s;
	struct closed_sock *v;
	size_t n, cap;
	struct rt_listener *merged;
	size_t merged_cap;
};

int closed_new(struct rt_closed **out, double keep_s)
{
	*out = calloc(1, sizeof(**out));
	if (!*out)
		return -ENOMEM;
	(*out)->keep_s = keep_s;
	return 0;
}

void closed_free(struct rt_closed *c)
{
	if (!c)
		return;
	free(c->v);
	free(c->merged);
	free(c);
}

/* The position of inode in c->v, or where it would go. */
static size_t lower_bound(const struct rt_closed *c, uint64_t inode)
{
	size_t lo = 0, hi = c->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (c->v[mid].l.inode < inode)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static const struct closed_sock *find(const struct rt_closed *c, uint64_t inode)
{
	size_t i = lower_bound(c, inode);

	return i < c->n && c->v[i].l.inode == inode ? &c->v[i] : NULL;
}

/* A listener as discovery would have listed it, from BPF's record: no holders, queue unknown. */
static void listener_of(uint64_t inode, const struct rt_sock_id *id, struct rt_listener *l)
{
	memset(l, 0, sizeof(*l));
	l->inode = inode;
	l->netns = id->netns;
	l->family = id->family;
	l->proto = id->proto;
	l->port = id->port;
	/* IPv4 in the first 4 bytes and zeros after, as discovery has it, or groups would differ. */
	memcpy(l->addr, id->addr, id->family == AF_INET ? 4 : sizeof(l->addr));
	l->state = id->state;
	l->drops = -1;
	l->uid = id->uid;
	l->bound_ifindex = id->bound_ifindex;
	l->v6only = id->v6only;
	l->closed = true;
	/* A socket in no reuseport group is a group of its own, closed ones too. */
	l->group_mark = id->group ? id->group : inode;
}

int closed_add(struct rt_closed *c, uint64_t inode, const struct rt_sock_id *id, double now)
{
	size_t i = lower_bound(c, inode);

	if (i < c->n && c->v[i].l.inode == inode)
		return 0;
	if (reserve_array(&c->v, &c->cap, c->n + 1, sizeof(*c->v)))
		return -ENOMEM;
	memmove(&c->v[i + 1], &c->v[i], (c->n - i) * sizeof(*c->v));
	listener_of(inode, id, &c->v[i].l);
	c->v[i].since = now;
	c->n++;
	return 0;
}

bool closed_known(const struct rt_closed *c, uint64_t inode)
{
	return find(c, inode) != NULL;
}

bool closed_expired(const struct rt_closed *c, uint64_t inode, double now)
{
	const struct closed_sock *s = find(c, inode);

	return s && now - s->since >= c->keep_s;
}

void closed_remove(struct rt_closed *c, uint64_t inode)
{
	size_t i = lower_bound(c, inode);

	if (i >= c->n || c->v[i].l.inode != inode)
		return;
	memmove(&c->v[i], &c->v[i + 1], (c->n - i - 1) * sizeof(*c->v));
	c->n--;
}

/* Discovery's order: the group, then the inode. */
static int listener_cmp(const void *pa, const void *pb)
{
	const struct rt_listener *a = pa, *b = pb;
	int r = listener_group_cmp(a, b);

	return r ? r : CMP3(a->inode, b->inode);
}

int closed_merge(struct rt_closed *c, const struct rt_listener *l, size_t n,
		 const struct rt_listener **out, size_t *nout)
{
	struct rt_listener *m, *closed;
	size_t i = 0, j = 0, k = 0;

	*out = l;
	*nout = n;
	if (!c->n)
		return 0;
	if (reserve_array(&c->merged, &c->merged_cap, n + 2 * c->n, sizeof(*c->merged)))
		return -ENOMEM;
	/* The few closed ones sorted at the end, then one merge walk with discovery's. */
	m = c->merged;
	closed = m + n + c->n;
	for (size_t x = 0; x < c->n; x++)
		closed[x] = c->v[x].l;
	qsort(closed, c->n, sizeof(*closed), listener_cmp);
	while (i < n || j < c->n) {
		if (j >= c->n || (i < n && listener_cmp(&l[i], &closed[j]) <= 0))
			m[k++] = l[i++];
		else
			m[k++] = closed[j++];
	}
	*out = m;
	*nout = k;
	return 0;
}
