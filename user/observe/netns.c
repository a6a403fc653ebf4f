// SPDX-License-Identifier: GPL-2.0
/*
 * Discovery's network namespaces: every one some process on the host is in, found by a stat of
 * /proc/PID/ns/net per process, each with a sock_diag socket created inside it and kept.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "observe/discovery_int.h"
#include "util.h"

struct ns_entry *ns_find(struct rt_discovery *d, uint64_t ino)
{
	for (size_t i = 0; i < d->nns; i++)
		if (d->ns[i].ino == ino)
			return &d->ns[i];
	return NULL;
}

int ns_add(struct rt_discovery *d, uint64_t ino, int pid, int nsfd, int diag)
{
	if (reserve_array(&d->ns, &d->ns_cap, d->nns + 1, sizeof(*d->ns)))
		return -ENOMEM;
	d->ns[d->nns++] = (struct ns_entry){.ino = ino,
					    .pid = pid,
					    .nsfd = nsfd,
					    .diag = diag,
					    .seen = true,
					    .added_ns = mono_ns()};
	return 0;
}

void ns_drop(struct rt_discovery *d, size_t i)
{
	close_fd(&d->ns[i].nsfd);
	close_fd(&d->ns[i].diag);
	free(d->ns[i].dump.v);
	d->ns[i] = d->ns[--d->nns];
}

/*
 * Open e's netns (if not yet) and create a sock_diag socket inside it: a netlink socket stays
 * in the netns it was created in, so it can be kept and reused by later scans. Returns 0 or
 * -errno for this netns only; *stuck is set when we could not return to our own netns.
 */
static int ns_enter(struct rt_discovery *d, struct ns_entry *e, bool *stuck)
{
	char path[32];
	struct stat st;
	int s;

	if (e->nsfd < 0) {
		snprintf(path, sizeof(path), "%d/ns/net", e->pid);
		e->nsfd = openat(d->proc_fd, path, O_RDONLY | O_CLOEXEC);
		if (e->nsfd < 0)
			return -errno;
		/* The process may have exited and its pid been reused since the stat. */
		if (fstat(e->nsfd, &st) || (uint64_t)st.st_ino != e->ino) {
			close_fd(&e->nsfd);
			return -ESTALE;
		}
	}
	if (setns(e->nsfd, CLONE_NEWNET))
		return -errno;
	s = diag_socket();
	if (setns(d->self_nsfd, CLONE_NEWNET)) {
		*stuck = true;
		if (s >= 0)
			close(s);
		return -errno;
	}
	if (s < 0)
		return s;
	e->diag = s;
	return 0;
}

/* Record that process pid is in netns ino; *last caches the previous hit (pids cluster). */
static int ns_note(struct rt_discovery *d, uint64_t ino, int pid, size_t *last)
{
	struct ns_entry *e;

	if (*last < d->nns && d->ns[*last].ino == ino)
		e = &d->ns[*last];
	else if (!(e = ns_find(d, ino)))
		return ns_add(d, ino, pid, -1, -1);
	if (!e->seen) {
		e->seen = true;
		e->pid = pid;
	}
	*last = (size_t)(e - d->ns);
	return 0;
}

/*
 * Refresh the set of network namespaces from /proc/PID/ns/net: add new ones, drop (and close
 * the sockets of) those no process is in any more, and try to enter those we have no socket in.
 * On the way, count the cached holder processes that are still alive.
 */
int ns_refresh(struct rt_discovery *d)
{
	size_t last = 0;
	struct dirent *de;
	int err;

	d->npids_alive = 0;
	d->ns_changed = false;
	for (size_t i = 0; i < d->nprocs; i++)
		d->procs[i].alive = false;
	for (size_t i = 1; i < d->nns; i++)
		d->ns[i].seen = false;
	rewinddir(d->proc_dir);
	while ((de = readdir(d->proc_dir))) {
		char path[32];
		struct stat st;
		long pid = parse_num(de->d_name);

		if (pid <= 0)
			continue;
		snprintf(path, sizeof(path), "%ld/ns/net", pid);
		/* Gone, or a process we may not inspect: it is simply not counted. */
		if (fstatat(d->proc_fd, path, &st, 0))
			continue;
		if (holder_alive(d, (int)pid))
			d->npids_alive++;
		if ((err = ns_note(d, (uint64_t)st.st_ino, (int)pid, &last)))
			return err;
	}
	d->netns_failed = 0;
	for (size_t i = d->nns; i-- > 1;) {
		struct ns_entry *e = &d->ns[i];
		bool stuck = false;

		if (!e->seen) {
			ns_drop(d, i);
			d->ns_changed = true;
			continue;
		}
		if (e->diag >= 0)
			continue;
		if (!(err = ns_enter(d, e, &stuck))) {
			d->ns_changed = true;
			continue;
		}
		if (stuck)
			return err;
		d->netns_failed++;
	}
	return 0;
}

/* The number after "<name>: inuse " at the start of a line of text (NUL-terminated). */
static bool inuse_of(const char *text, const char *name, uint32_t *out)
{
	size_t n = strlen(name);
	unsigned long v;
	char *end;

	for (const char *p = text; p; p = strchr(p, '\n')) {
		if (*p == '\n')
			p++;
		if (strncmp(p, name, n) || strncmp(p + n, ": inuse ", 8))
			continue;
		v = strtoul(p + n + 8, &end, 10);
		if (end == p + n + 8 || v > UINT32_MAX)
			return false;
		*out = (uint32_t)v;
		return true;
	}
	return false;
}

/* A small file under /proc into buf (NUL-terminated); false when it cannot be read. */
static bool read_small(const struct rt_discovery *d, const char *path, char *buf, size_t len)
{
	int fd = openat(d->proc_fd, path, O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return false;
	n = read(fd, buf, len - 1);
	close(fd);
	if (n <= 0)
		return false;
	buf[n] = '\0';
	return true;
}

bool ns_inuse(const struct rt_discovery *d, const struct ns_entry *e,
	      uint32_t inuse[NS_INUSE_KINDS])
{
	char path[48], buf[1024];
	struct stat st;

	snprintf(path, sizeof(path), "%d/net/sockstat", e->pid);
	if (!read_small(d, path, buf, sizeof(buf)) || !inuse_of(buf, "TCP", &inuse[0]) ||
	    !inuse_of(buf, "UDP", &inuse[1]))
		return false;
	snprintf(path, sizeof(path), "%d/net/sockstat6", e->pid);
	if (!read_small(d, path, buf, sizeof(buf)) || !inuse_of(buf, "TCP6", &inuse[2]) ||
	    !inuse_of(buf, "UDP6", &inuse[3]))
		return false;
	/* Read in the netns of the process: it must still be e's (pids are reused, setns()). */
	snprintf(path, sizeof(path), "%d/ns/net", e->pid);
	return !fstatat(d->proc_fd, path, &st, 0) && (uint64_t)st.st_ino == e->ino;
}
