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

#define BATCH 256

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
	void *keys, *values; /* read_map()'s batches */
	uint32_t *want, *dead; /* handoffs_watch()'s scratch */
	size_t nwant, cap_want, ndead, cap_dead;
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
	h->keys = calloc(BATCH, sizeof(struct rt_handoff_key));
	h->values = calloc(BATCH, sizeof(struct rt_handoff_counters));
	if (!h->keys || !h->values) {
		handoffs_free(h);
		return -ENOMEM;
	}
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
	free(h->dead);
	free(h->keys);
	free(h->values);
	free(h);
}

typedef int (*entry_fn)(struct rt_handoffs *h, const void *key, const void *value);

/*
 * Every entry of hash map fd, in batches (one system call per BATCH entries, and no walk to
 * restart when an entry goes meanwhile), each handed to fn.
 */
static int read_map(struct rt_handoffs *h, int fd, size_t ksize, size_t vsize, entry_fn fn)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	char *keys = h->keys, *values = h->values;
	uint64_t in_batch = 0, out_batch = 0;
	bool first = true, done = false;
	int err;

	if (ksize > sizeof(struct rt_handoff_key) || vsize > sizeof(struct rt_handoff_counters))
		return -EINVAL;
	while (!done) {
		__u32 count = BATCH;

		err = bpf_map_lookup_batch(fd, first ? NULL : &in_batch, &out_batch, keys, values,
					   &count, &opts);
		if (err && errno != ENOENT)
			return -errno;
		done = err != 0; /* ENOENT: this was the last batch */
		for (__u32 i = 0; i < count; i++)
			if ((err = fn(h, keys + i * ksize, values + i * vsize)))
				return err;
		in_batch = out_batch;
		first = false;
	}
	return 0;
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

static int add_receiver(struct rt_handoffs *h, const void *key, const void *value)
{
	struct rt_handoff_sample s;

	sample_of(key, value, &s);
	return add_row(h, &s);
}

/*
 * The receivers' map: live tasks' rows; a task that exited leaves the map (which would fill
 * up with recycled workers) for the kept rows, with its final counts.
 */
static int read_receivers(struct rt_handoffs *h, double now)
{
	struct rt_handoff_counters v;
	size_t nlive = 0;
	int err;

	if ((err = read_map(h, h->receivers_fd, sizeof(struct rt_handoff_key), sizeof(v),
			    add_receiver)))
		return err;
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

static int add_handed(struct rt_handoffs *h, const void *key, const void *value)
{
	const struct rt_handed_key *k = key;

	if (reserve_array(&h->handed, &h->cap_handed, h->nhanded + 1, sizeof(*h->handed)))
		return -ENOMEM;
	h->handed[h->nhanded++] = (struct rt_handed_sample){
		.ep = k->ep, .pid = k->tgid, .tid = k->tid, .handed_off = *(const __u64 *)value};
	return 0;
}

static int add_flow(struct rt_handoffs *h, const void *key, const void *value)
{
	const struct rt_handoff_flow *v = value;

	if (reserve_array(&h->flows, &h->cap_flows, h->nflows + 1, sizeof(*h->flows)))
		return -ENOMEM;
	h->flows[h->nflows++] = (struct rt_handoff_flow_sample){
		.ep = *(const struct rt_endpoint *)key, .sent = v->sent, .received = v->received};
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
		qsort(h->rows, h->nrows, sizeof(*h->rows), handoff_sample_cmp);
	h->nhanded = h->nflows = 0;
	if ((err = read_map(h, h->handed_fd, sizeof(struct rt_handed_key), sizeof(__u64),
			    add_handed)) ||
	    (err = read_map(h, h->flows_fd, sizeof(struct rt_endpoint),
			    sizeof(struct rt_handoff_flow), add_flow)))
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

/* An entry of handoff_pids: a sender's descendants are wanted, a process that exited is not. */
static int note_watched(struct rt_handoffs *h, const void *key, const void *value)
{
	uint32_t pid = *(const __u32 *)key;
	char path[32];

	snprintf(path, sizeof(path), "/proc/%u", pid);
	if (access(path, F_OK)) {
		if (reserve_array(&h->dead, &h->cap_dead, h->ndead + 1, sizeof(*h->dead)))
			return -ENOMEM;
		h->dead[h->ndead++] = pid;
		return 0;
	}
	return *(const __u8 *)value & RT_HANDOFF_SENDER ? want_pid(h, pid) : 0;
}

int handoffs_watch(struct rt_handoffs *h)
{
	__u8 descendant = RT_HANDOFF_WATCHED | RT_HANDOFF_DESCENDANT;
	size_t nsenders;
	int err;

	h->nwant = h->ndead = 0;
	if ((err = read_map(h, h->pids_fd, sizeof(__u32), sizeof(__u8), note_watched)))
		return err;
	for (size_t i = 0; i < h->ndead; i++)
		bpf_map_delete_elem(h->pids_fd, &h->dead[i]);
	/* Descendants, breadth first: want grows as children are found. */
	nsenders = h->nwant;
	for (size_t i = 0; i < h->nwant && i < 4096; i++)
		if ((err = want_children(h, h->want[i])))
			return err;
	/* Those that are there keep their flags: only the new ones are added. */
	for (size_t i = nsenders; i < h->nwant; i++)
		bpf_map_update_elem(h->pids_fd, &h->want[i], &descendant, BPF_NOEXIST);
	return 0;
}
