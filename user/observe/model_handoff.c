// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "observe/model_handoff.h"

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static bool v4_mapped(const uint8_t *a)
{
	static const uint8_t prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

	return !memcmp(a, prefix, sizeof(prefix));
}

int endpoint_in_group(const struct rt_group_view *g, const struct rt_endpoint *ep)
{
	size_t alen = g->family == AF_INET ? 4 : 16;

	if (g->proto != IPPROTO_TCP || g->closed || g->netns != ep->netns || g->port != ep->port ||
	    g->family != ep->family)
		return 0;
	if (!memcmp(g->addr, ep->addr, alen))
		return 2;
	if (!all_zero(g->addr, alen))
		return 0;
	/* An IPv4 connection reaches an IPv6 wildcard listener only without IPV6_V6ONLY. */
	if (g->family == AF_INET6 && v4_mapped(ep->addr) && g->v6only == 1)
		return 0;
	return 1;
}

int handoff_sample_cmp(const void *a, const void *b)
{
	const struct rt_handoff_sample *x = a, *y = b;
	int r = memcmp(&x->ep, &y->ep, sizeof(x->ep));

	if (r)
		return r;
	if (x->pid != y->pid)
		return CMP3(x->pid, y->pid);
	if (x->tid != y->tid)
		return CMP3(x->tid, y->tid);
	return CMP3(x->from_pid, y->from_pid);
}

static size_t group_of_endpoint(const struct rt_group_view *groups, size_t n,
				const struct rt_endpoint *ep)
{
	size_t best = SIZE_MAX;
	int best_score = 0;

	for (size_t i = 0; i < n; i++) {
		int score = endpoint_in_group(&groups[i], ep);

		if (score > best_score) {
			best_score = score;
			best = i;
		}
	}
	return best;
}

static int view_order(const void *a, const void *b)
{
	const struct rt_handoff_view *x = a, *y = b;

	/* Folded rows (pid 0) last. */
	if (!x->h->pid != !y->h->pid)
		return x->h->pid ? -1 : 1;
	if (x->h->pid != y->h->pid)
		return CMP3(x->h->pid, y->h->pid);
	if (x->h->tid != y->h->tid)
		return CMP3(x->h->tid, y->h->tid);
	return CMP3(x->h->from_pid, y->h->from_pid);
}

static void fill_view(const struct rt_handoff_model *hm, const struct rt_handoff_sample *h,
		      double interval, struct rt_handoff_view *v)
{
	const struct rt_handoff_sample *b =
		hm->nprev ? bsearch(h, hm->prev, hm->nprev, sizeof(*h), handoff_sample_cmp) : NULL;

	v->h = h;
	v->received_rate = h->pid ? rate_per_s(h->received, b ? b->received : 0, interval) : NAN;
	v->wait = wait_summary(h->wait, b ? b->wait : NULL);
}

/* Shares and imbalance of group g, whose views are set. */
static int finish_group(struct rt_handoff_model *hm, struct rt_group_view *g)
{
	if (reserve_array(&hm->counts, &hm->cap_counts, g->nhandoffs + 1, sizeof(*hm->counts)))
		return -ENOMEM;
	g->handoff_received = 0;
	for (size_t i = 0; i < g->nhandoffs; i++) {
		hm->counts[i] = g->handoffs[i].h->received;
		g->handoff_received += hm->counts[i];
	}
	for (size_t i = 0; i < g->nhandoffs; i++)
		g->handoffs[i].share = (double)hm->counts[i] / (double)g->handoff_received;
	g->handoff_imbalance = imbalance_of(hm->counts, g->nhandoffs);
	return 0;
}

/* What each group's ends were sent and received: the pending rest. */
static int fill_pending(struct rt_handoff_model *hm, const struct rt_sample *s,
			struct rt_group_view *groups, size_t n)
{
	uint64_t *sent, *received;

	if (reserve_array(&hm->counts, &hm->cap_counts, 2 * n + 1, sizeof(*hm->counts)))
		return -ENOMEM;
	sent = hm->counts;
	received = hm->counts + n;
	memset(hm->counts, 0, 2 * n * sizeof(*hm->counts));
	for (size_t i = 0; i < s->nflows; i++) {
		size_t gi = group_of_endpoint(groups, n, &s->flows[i].ep);

		if (gi == SIZE_MAX)
			continue;
		sent[gi] += s->flows[i].sent;
		received[gi] += s->flows[i].received;
	}
	/* A receipt can be seen before its sender's call returns: never below 0. */
	for (size_t gi = 0; gi < n; gi++)
		groups[gi].handoff_pending = sent[gi] > received[gi] ? sent[gi] - received[gi] : 0;
	return 0;
}

/* Each acceptor's handed_off: the connections its task passed on first. */
static void fill_handed(const struct rt_sample *s, struct rt_group_view *groups, size_t n)
{
	for (size_t i = 0; i < s->nhanded; i++) {
		const struct rt_handed_sample *hs = &s->handed[i];
		size_t gi = group_of_endpoint(groups, n, &hs->ep);

		if (gi == SIZE_MAX)
			continue;
		for (size_t k = 0; k < groups[gi].nacceptors; k++) {
			struct rt_acceptor_view *a = &groups[gi].acceptors[k];

			if (a->a->pid == hs->pid && a->a->tid == hs->tid) {
				a->handed_off += hs->handed_off;
				break;
			}
		}
	}
}

int handoff_model_fill(struct rt_handoff_model *hm, const struct rt_sample *s,
		       struct rt_group_view *groups, size_t n, double interval)
{
	struct rt_imbalance unknown = {NAN, NAN};
	size_t nviews = 0;

	for (size_t gi = 0; gi < n; gi++) {
		groups[gi].handoffs = NULL;
		groups[gi].nhandoffs = 0;
		groups[gi].handoff_imbalance = unknown;
	}
	if (!s->features.handoff)
		return 0;
	if (reserve_array(&hm->views, &hm->cap_views, s->nhandoffs + 1, sizeof(*hm->views)) ||
	    reserve_array(&hm->group_of, &hm->cap_group_of, s->nhandoffs + 1,
			  sizeof(*hm->group_of)))
		return -ENOMEM;
	/* Each group's receivers, with something received, next to each other in views. */
	for (size_t i = 0; i < s->nhandoffs; i++) {
		hm->group_of[i] = s->handoffs[i].received
					  ? group_of_endpoint(groups, n, &s->handoffs[i].ep)
					  : SIZE_MAX;
		if (hm->group_of[i] != SIZE_MAX)
			groups[hm->group_of[i]].nhandoffs++;
	}
	for (size_t gi = 0; gi < n; gi++) {
		groups[gi].handoffs = hm->views + nviews;
		nviews += groups[gi].nhandoffs;
		groups[gi].nhandoffs = 0;
	}
	for (size_t i = 0; i < s->nhandoffs; i++) {
		struct rt_group_view *g;

		if (hm->group_of[i] == SIZE_MAX)
			continue;
		g = &groups[hm->group_of[i]];
		fill_view(hm, &s->handoffs[i], interval, &g->handoffs[g->nhandoffs++]);
	}
	for (size_t gi = 0; gi < n; gi++) {
		struct rt_group_view *g = &groups[gi];
		int err;

		if (g->nhandoffs > 1)
			qsort(g->handoffs, g->nhandoffs, sizeof(*g->handoffs), view_order);
		if ((err = finish_group(hm, g)))
			return err;
	}
	fill_handed(s, groups, n);
	return fill_pending(hm, s, groups, n);
}

int handoff_model_save(struct rt_handoff_model *hm, const struct rt_sample *s)
{
	if (reserve_array(&hm->prev, &hm->cap_prev, s->nhandoffs + 1, sizeof(*hm->prev)))
		return -ENOMEM;
	if (s->nhandoffs)
		memcpy(hm->prev, s->handoffs, s->nhandoffs * sizeof(*s->handoffs));
	hm->nprev = s->nhandoffs;
	return 0;
}

void handoff_model_free(struct rt_handoff_model *hm)
{
	free(hm->prev);
	free(hm->views);
	free(hm->group_of);
	free(hm->counts);
	memset(hm, 0, sizeof(*hm));
}
