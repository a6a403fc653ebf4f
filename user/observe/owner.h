/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Who a socket belongs to: the process that serves it, not merely one that holds it. nginx's
 * master and every worker hold all of its reuseport sockets, and each worker accepts from its
 * own; naming the lowest holder would name the master for all of them. Shared by the observing
 * view and `reusetop steer`, so that both name the same owner. Pure.
 */
#ifndef REUSETOP_OWNER_H
#define REUSETOP_OWNER_H

#include <stddef.h>
#include <stdint.h>

#include "observe/discovery.h"

/* How a socket's owner was found, best evidence first. */
enum rt_owner_source {
	RT_OWNER_NONE, /* no process that reusetop can see holds it */
	RT_OWNER_ACCEPTS, /* the one live process that accepted from it (TCP) */
	RT_OWNER_READS, /* the one live process that read from it (UDP) */
	RT_OWNER_POLLS, /* nobody served it yet, but one process waits for it (holder.waits) */
	RT_OWNER_HOLDER, /* the lowest holder: nobody served it yet, or several processes do */
};

struct rt_owner {
	enum rt_owner_source source;
	int pid; /* 0 with RT_OWNER_NONE */
	int fd; /* the owner's descriptor for the socket; -1 when it holds none we can see */
	char comm[RT_COMM_LEN];
	/* Other processes that serve it (or, when nobody has yet, hold it): the live view's "+N". */
	size_t others;
};

/*
 * The owner of socket l. servers: the distinct live processes that accepted from or read it
 * (nservers of them; comm is the first one's command, for one that holds no descriptor we can
 * see); udp: reads rather than accepts.
 */
void socket_owner(const struct rt_listener *l, const int *servers, size_t nservers,
		  const char *comm, int udp, struct rt_owner *out);
/* The first descriptor process pid holds for socket l, or NULL. */
const struct rt_holder *holder_of(const struct rt_listener *l, int pid);
/* "accepts", "reads", "polls", "holder"; NULL for RT_OWNER_NONE. */
const char *owner_source_name(enum rt_owner_source s);

#endif
