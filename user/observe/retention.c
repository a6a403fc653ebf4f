// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "observe/retention.h"

/*
 * rows[] holds the exited tasks and the folded rows together, so that a sample can take them in
 * one piece; since[] is when each row's task was found exited (unused on folded rows).
 */
struct rt_retention {
	double keep_s;
	struct rt_acceptor_sample *rows;
	double *since;
	size_t n, cap, since_cap;
};

int retention_new(struct rt_retention **out, double keep_s)
{
	struct rt_retention *r = calloc(1, sizeof(*r));

	if (!r)
		return -ENOMEM;
	r->keep_s = keep_s;
	*out = r;
	return 0;
}

void retention_free(struct rt_retention *r)
{
	if (!r)
		return;
	free(r->rows);
	free(r->since);
	free(r);
}

static bool is_folded(const struct rt_acceptor_sample *a)
{
	return !a->pid && !a->tid;
}

static int append(struct rt_retention *r, const struct rt_acceptor_sample *a, double since)
{
	if (reserve_array(&r->rows, &r->cap, r->n + 1, sizeof(*r->rows)) ||
	    reserve_array(&r->since, &r->since_cap, r->n + 1, sizeof(*r->since)))
		return -ENOMEM;
	r->rows[r->n] = *a;
	r->since[r->n] = since;
	r->n++;
	return 0;
}

int retention_add(struct rt_retention *r, const struct rt_acceptor_sample *a, double now)
{
	struct rt_acceptor_sample row = *a;

	row.exited = true;
	row.tasks = 1;
	if (is_folded(&row))
		return -EINVAL;
	return append(r, &row, now);
}

/* The folded row of listener inode, made when first needed (retention_expire made room). */
static struct rt_acceptor_sample *folded_row(struct rt_retention *r, uint64_t inode)
{
	struct rt_acceptor_sample *row;

	for (size_t i = 0; i < r->n; i++)
		if (r->rows[i].inode == inode && is_folded(&r->rows[i]))
			return &r->rows[i];
	row = &r->rows[r->n];
	memset(row, 0, sizeof(*row));
	row->inode = inode;
	row->exited = true;
	memcpy(row->comm, "(exited)", sizeof("(exited)"));
	r->since[r->n++] = 0;
	return row;
}

int retention_expire(struct rt_retention *r, double now)
{
	size_t i = 0;

	/* Room for a folded row per task first (at most): folding then cannot fail midway. */
	if (reserve_array(&r->rows, &r->cap, 2 * r->n + 1, sizeof(*r->rows)) ||
	    reserve_array(&r->since, &r->since_cap, 2 * r->n + 1, sizeof(*r->since)))
		return -ENOMEM;
	while (i < r->n) {
		struct rt_acceptor_sample task = r->rows[i], *into;

		if (is_folded(&task) || now - r->since[i] < r->keep_s) {
			i++;
			continue;
		}
		/* The last row moves into slot i, which is looked at again. */
		r->n--;
		r->rows[i] = r->rows[r->n];
		r->since[i] = r->since[r->n];
		into = folded_row(r, task.inode);
		acceptor_add(into, &task);
		into->tasks += task.tasks;
	}
	return 0;
}

void retention_forget(struct rt_retention *r, bool (*gone)(uint64_t inode, void *arg), void *arg)
{
	size_t out = 0;

	for (size_t i = 0; i < r->n; i++) {
		if (gone(r->rows[i].inode, arg))
			continue;
		r->rows[out] = r->rows[i];
		r->since[out] = r->since[i];
		out++;
	}
	r->n = out;
}

const struct rt_acceptor_sample *retention_rows(const struct rt_retention *r, size_t *n)
{
	*n = r->n;
	return r->rows;
}
