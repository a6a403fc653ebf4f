/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The container or pod of every process the view shows (the owners of its sockets, its tasks),
 * from the kernel and /proc alone: the process's cgroup (container.h names what it holds), the
 * hostname of its UTS namespace (a pod's name) and the service account's namespace file in its
 * mount namespace. Read once per process (pid and start time) and checked again every few
 * seconds. Never prints.
 */
#ifndef REUSETOP_IDENTITY_H
#define REUSETOP_IDENTITY_H

#include "observe/container.h"
#include "observe/model.h"

struct rt_identities;

int identities_new(struct rt_identities **out);
void identities_free(struct rt_identities *c);
/*
 * Point every socket view's ident (its owner's) and every acceptor and hand-off receiver
 * view's (its task's) at what is known of that process, or NULL. The identities stay valid
 * until the next call. A task that exited keeps the identity last read for its pid. 0 or
 * -errno.
 */
int identities_annotate(struct rt_identities *c, struct rt_view *v);

#endif
