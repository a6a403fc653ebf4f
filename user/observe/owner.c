// SPDX-License-Identifier: GPL-2.0
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "observe/owner.h"

/* Distinct processes among l's holders (sorted by pid), and the one waiting if only one is. */
static size_t holder_pids(const struct rt_listener *l, const struct rt_holder **waiting,
			  size_t *nwaiting)
{
	size_t n = 0;

	*waiting = NULL;
	*nwaiting = 0;
	for (size_t i = 0; i < l->nholders; i++) {
		const struct rt_holder *h = &l->holders[i];
		bool first = !i || l->holders[i - 1].pid != h->pid;

		n += first;
		if (h->waits && (!*waiting || (*waiting)->pid != h->pid)) {
			*waiting = h;
			(*nwaiting)++;
		}
	}
	return n;
}

const struct rt_holder *holder_of(const struct rt_listener *l, int pid)
{
	for (size_t i = 0; i < l->nholders; i++)
		if (l->holders[i].pid == pid)
			return &l->holders[i];
	return NULL;
}

static void from_holder(struct rt_owner *o, const struct rt_holder *h, enum rt_owner_source s)
{
	o->source = s;
	o->pid = h->pid;
	o->fd = h->fd;
	memcpy(o->comm, h->comm, sizeof(o->comm));
}

void socket_owner(const struct rt_listener *l, const int *servers, size_t nservers,
		  const char *comm, int udp, struct rt_owner *out)
{
	const struct rt_holder *waiting;
	size_t nwaiting, nholders = holder_pids(l, &waiting, &nwaiting);

	memset(out, 0, sizeof(*out));
	out->fd = -1;
	if (nservers == 1) {
		const struct rt_holder *h = holder_of(l, servers[0]);

		out->source = udp ? RT_OWNER_READS : RT_OWNER_ACCEPTS;
		out->pid = servers[0];
		if (h)
			from_holder(out, h, out->source);
		else
			snprintf(out->comm, sizeof(out->comm), "%s", comm ? comm : "");
		return;
	}
	if (!nservers && nwaiting == 1) {
		from_holder(out, waiting, RT_OWNER_POLLS);
		return;
	}
	if (l->nholders)
		from_holder(out, &l->holders[0], RT_OWNER_HOLDER);
	/* Several serve it: they are the others (the lowest holder rarely is one of them). */
	if (nservers > 1) {
		out->others = nservers;
		for (size_t i = 0; i < nservers; i++)
			out->others -= servers[i] == out->pid;
	} else if (nholders) {
		out->others = nholders - 1;
	}
}

const char *owner_source_name(enum rt_owner_source s)
{
	static const char *const names[] = {
		[RT_OWNER_ACCEPTS] = "accepts",
		[RT_OWNER_READS] = "reads",
		[RT_OWNER_POLLS] = "polls",
		[RT_OWNER_HOLDER] = "holder",
	};

	return s > RT_OWNER_NONE && s <= RT_OWNER_HOLDER ? names[s] : NULL;
}
