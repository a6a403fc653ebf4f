// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "handoff.skel.h"
#include "observe/handoff.h"

/* A receiver that exited: its final counts, and since when it is gone (folded rows: unused). */
struct kept_receiver {
	struct rt_handoff_sample s;
	double since;
};

struct rt_handoffs {
	int receivers_fd, handed_fd, flows_fd, pids_fd;
	double keep_s;
	struct rt_handoff_sample *rows; /* the sample's: live, exited, folded */
	size_t nrows, cap_rows;
	struct kept_receiver *kept; /* exited and folded rows */
	size_t nkept, cap_kept;
	struct rt_handed_sample *handed;
	size_t nhanded, cap_handed;
	struct rt_handoff_flow_sample *flows;
	size_t nflows, cap_flows;
	uint32_t *want; /* handoffs_watch()'s scratch */
	size_t nwant, cap_want;
};

int handoffs_new(struct rt_handoffs **out, const struct handoff_bpf *skel, double keep_s)
{
	struct rt_handoffs *h = calloc(1, sizeof(*h));

	if (!h)
		return -ENOMEM;
	h->receivers_fd = bpf_map__fd(skel->maps.handoff_receivers);
	h->handed_fd = bpf_map__fd(skel->maps.handoff_handed);
	h->flows_fd = bpf_map__fd(skel->maps.handoff_flows);
	h->pids_fd = bpf_map__fd(skel->maps.handoff_pids);
	h->keep_s = keep_s;
	*out = h;
	return 0;
}

void handoffs_free(struct rt_handoffs *h)
{
	if (!h)
		return;
	free(h->rows);
	free(h->kept);
	free(h->handed);
	free(h->flows);
	free(h->want);
	free(h);
}

static bool task_alive(uint32_t pid, uint32_t tid)
{
	char path[64];

	snprintf(path, sizeof(path), "/proc/%u/task/%u", pid, tid);
	return !access(path, F_OK);
}

static void sample_of(const struct rt_handoff_key *k, const struct rt_handoff_counters *v,
		      struct rt_handoff_sample *s)
{
	memset(s, 0, sizeof(*s));
	s->ep = k->ep;
	s->pid = k->tgid;
	s->tid = k->tid;
	s->from_pid = k->from_tgid;
	memcpy(s->comm, v->comm, sizeof(v->comm));
	s->comm[sizeof(s->comm) - 1] = '\0';
	s->received = v->received;
	for (int i = 0; i < RT_WAIT_BUCKETS && i < RT_WAIT_SLOTS; i++)
		s->wait[i] = v->wait[i];
	s->tasks = 1;
}

static int add_row(struct rt_handoffs *h, const struct rt_handoff_sample *s)
{
	if (reserve_array(&h->rows, &h->cap_rows, h->nrows + 1, sizeof(*h->rows)))
		return -ENOMEM;
	h->rows[h->nrows++] = *s;
	return 0;
}

static int keep(struct rt_handoffs *h, const struct rt_handoff_sample *s, double since)
{
	if (reserve_array(&h->kept, &h->cap_kept, h->nkept + 1, sizeof(*h->kept)))
		return -ENOMEM;
	h->kept[h->nkept].s = *s;
	h->kept[h->nkept].since = since;
	h->nkept++;
	return 0;
}

/*
 * The receivers' map: live tasks' rows; a task that exited leaves the map (which would fill
 * up with recycled workers) for the kept rows, with its final counts. The walk reads every
 * entry first: deleting one while walking would restart it.
 */
static int read_receivers(struct rt_handoffs *h, double now)
{
	struct rt_handoff_key key, *prev = NULL;
	struct rt_handoff_counters v;
	struct rt_handoff_sample s;
	size_t nlive = 0;
	int err;

	while (!bpf_map_get_next_key(h->receivers_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(h->receivers_fd, &key, &v))
			continue;
		sample_of(&key, &v, &s);
		if ((err = add_row(h, &s)))
			return err;
	}
	for (size_t i = 0; i < h->nrows; i++) {
		struct rt_handoff_sample *r = &h->rows[i];
		struct rt_handoff_key k = {
			.ep = r->ep, .tgid = r->pid, .tid = r->tid, .from_tgid = r->from_pid};

		if (task_alive(r->pid, r->tid)) {
			h->rows[nlive++] = *r;
			continue;
		}
		/* Its last counts, now that it cannot add to them. */
		if (!bpf_map_lookup_elem(h->receivers_fd, &k, &v))
			sample_of(&k, &v, r);
		r->exited = true;
		if ((err = keep(h, r, now)))
			return err;
		bpf_map_delete_elem(h->receivers_fd, &k);
	}
	h->nrows = nlive;
	return 0;
}

static bool same_fold(const struct rt_handoff_sample *a, const struct rt_handoff_sample *b)
{
	return !memcmp(&a->ep, &b->ep, sizeof(a->ep)) && a->from_pid == b->from_pid;
}

/* Receivers gone for keep_s or longer fold into their group end's and acceptor's row. */
static void expire_kept(struct rt_handoffs *h, double now)
{
	size_t out = 0;

	for (size_t i = 0; i < h->nkept; i++) {
		struct rt_handoff_sample *s = &h->kept[i].s;
		struct rt_handoff_sample *fold = NULL;

		if (!s->pid || now - h->kept[i].since < h->keep_s) {
			h->kept[out++] = h->kept[i];
			continue;
		}
		for (size_t j = 0; j < out; j++)
			if (!h->kept[j].s.pid && same_fold(&h->kept[j].s, s))
				fold = &h->kept[j].s;
		if (!fold) {
			h->kept[out] = h->kept[i];
			fold = &h->kept[out++].s;
			memset(fold->comm, 0, sizeof(fold->comm));
			fold->pid = fold->tid = 0;
			fold->tasks = 1;
			continue;
		}
		fold->received += s->received;
		for (int b = 0; b < RT_WAIT_BUCKETS; b++)
			fold->wait[b] += s->wait[b];
		fold->tasks++;
	}
	h->nkept = out;
}

static int row_cmp(const void *a, const void *b)
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

static int read_handed(struct rt_handoffs *h)
{
	struct rt_handed_key key, *prev = NULL;
	__u64 v;

	h->nhanded = 0;
	while (!bpf_map_get_next_key(h->handed_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(h->handed_fd, &key, &v))
			continue;
		if (reserve_array(&h->handed, &h->cap_handed, h->nhanded + 1, sizeof(*h->handed)))
			return -ENOMEM;
		h->handed[h->nhanded++] = (struct rt_handed_sample){
			.ep = key.ep, .pid = key.tgid, .tid = key.tid, .handed_off = v};
	}
	return 0;
}

static int read_flows(struct rt_handoffs *h)
{
	struct rt_endpoint key, *prev = NULL;
	struct rt_handoff_flow v;

	h->nflows = 0;
	while (!bpf_map_get_next_key(h->flows_fd, prev, &key)) {
		prev = &key;
		if (bpf_map_lookup_elem(h->flows_fd, &key, &v))
			continue;
		if (reserve_array(&h->flows, &h->cap_flows, h->nflows + 1, sizeof(*h->flows)))
			return -ENOMEM;
		h->flows[h->nflows++] = (struct rt_handoff_flow_sample){
			.ep = key, .sent = v.sent, .received = v.received};
	}
	return 0;
}

int handoffs_read(struct rt_handoffs *h, double now, struct rt_sample *s)
{
	int err;

	h->nrows = 0;
	if ((err = read_receivers(h, now)))
		return err;
	expire_kept(h, now);
	for (size_t i = 0; i < h->nkept; i++)
		if ((err = add_row(h, &h->kept[i].s)))
			return err;
	if (h->nrows)
		qsort(h->rows, h->nrows, sizeof(*h->rows), row_cmp);
	if ((err = read_handed(h)) || (err = read_flows(h)))
		return err;
	s->handoffs = h->rows;
	s->nhandoffs = h->nrows;
	s->handed = h->handed;
	s->nhanded = h->nhanded;
	s->flows = h->flows;
	s->nflows = h->nflows;
	return 0;
}

static int want_pid(struct rt_handoffs *h, uint32_t pid)
{
	for (size_t i = 0; i < h->nwant; i++)
		if (h->want[i] == pid)
			return 0;
	if (reserve_array(&h->want, &h->cap_want, h->nwant + 1, sizeof(*h->want)))
		return -ENOMEM;
	h->want[h->nwant++] = pid;
	return 0;
}

/* The children of every thread of pid (/proc/PID/task/TID/children), added to want. */
static int want_children(struct rt_handoffs *h, uint32_t pid)
{
	char path[64];
	struct dirent *de;
	DIR *d;
	int err = 0;

	snprintf(path, sizeof(path), "/proc/%u/task", pid);
	d = opendir(path);
	if (!d)
		return 0;
	while (!err && (de = readdir(d))) {
		unsigned int child;
		FILE *f;

		if (de->d_name[0] == '.')
			continue;
		snprintf(path, sizeof(path), "/proc/%u/task/%.20s/children", pid, de->d_name);
		f = fopen(path, "r");
		if (!f)
			continue;
		while (!err && fscanf(f, "%u", &child) == 1)
			err = want_pid(h, child);
		fclose(f);
	}
	closedir(d);
	return err;
}

/* Processes in the filter that exited: no later call of theirs can be seen. */
static void prune_dead(struct rt_handoffs *h)
{
	__u32 key, *prev = NULL;
	char path[32];

	while (!bpf_map_get_next_key(h->pids_fd, prev, &key)) {
		snprintf(path, sizeof(path), "/proc/%u", key);
		if (access(path, F_OK) && !bpf_map_delete_elem(h->pids_fd, &key)) {
			prev = NULL;
			continue;
		}
		prev = &key;
	}
}

int handoffs_watch(struct rt_handoffs *h, const struct rt_listener *l, size_t n)
{
	__u8 watched = 1; /* RT_HANDOFF_WATCHED: kept as is where BPF set more */
	int err = 0;

	h->nwant = 0;
	for (size_t i = 0; i < n && !err; i++) {
		if (l[i].proto != IPPROTO_TCP)
			continue;
		for (size_t j = 0; j < l[i].nholders && !err; j++)
			err = want_pid(h, (uint32_t)l[i].holders[j].pid);
	}
	/* Descendants, breadth first: want grows as children are found. */
	for (size_t i = 0; i < h->nwant && i < 4096 && !err; i++)
		err = want_children(h, h->want[i]);
	if (err)
		return err;
	for (size_t i = 0; i < h->nwant; i++)
		bpf_map_update_elem(h->pids_fd, &h->want[i], &watched, BPF_NOEXIST);
	prune_dead(h);
	return 0;
}
