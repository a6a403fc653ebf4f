// SPDX-License-Identifier: GPL-2.0
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "observe/discovery_int.h"
#include "observe/waiters.h"
#include "util.h"

/* The system calls a server blocks in on one socket: the first argument is its descriptor. */
static bool waits_on_first_arg(long nr)
{
	static const long calls[] = {
#ifdef SYS_accept
		SYS_accept,
#endif
		SYS_accept4, SYS_recvfrom, SYS_recvmsg, SYS_recvmmsg, SYS_read,
	};

	for (size_t i = 0; i < ARRAY_LEN(calls); i++)
		if (calls[i] == nr)
			return true;
	return false;
}

/* "tfd: N events: E data: D  pos:P ino:HEX sdev:S" lines of an epoll's fdinfo. */
static int parse_epoll_fdinfo(FILE *f, struct rt_waits *w)
{
	char line[256];

	while (fgets(line, sizeof(line), f)) {
		const char *ino = strncmp(line, "tfd:", 4) ? NULL : strstr(line, " ino:");
		unsigned long long v;

		if (!ino || sscanf(ino, " ino:%llx", &v) != 1)
			continue;
		if (reserve_array(&w->inodes, &w->inodes_cap, w->ninodes + 1, sizeof(*w->inodes)))
			return -ENOMEM;
		w->inodes[w->ninodes++] = v;
	}
	return 0;
}

static int read_epoll(int proc_fd, int pid, int epfd, struct rt_waits *w)
{
	char path[64];
	FILE *f;
	int fd, err;

	snprintf(path, sizeof(path), "%d/fdinfo/%d", pid, epfd);
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0; /* closed or exited meanwhile */
	f = fdopen(fd, "r");
	if (!f) {
		close(fd);
		return -ENOMEM;
	}
	err = parse_epoll_fdinfo(f, w);
	fclose(f);
	return err;
}

/* "NR ARG1 ..." of /proc/PID/task/TID/syscall: the fd when blocked in one of the calls, or -1. */
static int blocked_fd(int proc_fd, int pid, const char *tid)
{
	char path[320], buf[128];
	long nr;
	unsigned long long arg;
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "%d/task/%s/syscall", pid, tid);
	fd = openat(proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "running" or "-1 ..." (not in a system call) do not parse as one. */
	if (sscanf(buf, "%ld %llx", &nr, &arg) != 2 || !waits_on_first_arg(nr) || arg > INT32_MAX)
		return -1;
	return (int)arg;
}

static int read_blocked(int proc_fd, int pid, struct rt_waits *w)
{
	char path[32];
	struct dirent *de;
	DIR *dir;
	int dfd, err = 0;

	snprintf(path, sizeof(path), "%d/task", pid);
	dfd = openat(proc_fd, path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (dfd < 0)
		return 0;
	if (!(dir = fdopendir(dfd))) {
		close(dfd);
		return -ENOMEM;
	}
	while (!err && (de = readdir(dir))) {
		int fd = de->d_name[0] == '.' ? -1 : blocked_fd(proc_fd, pid, de->d_name);

		if (fd < 0)
			continue;
		if (reserve_array(&w->fds, &w->fds_cap, w->nfds + 1, sizeof(*w->fds)))
			err = -ENOMEM;
		else
			w->fds[w->nfds++] = fd;
	}
	closedir(dir);
	return err;
}

int read_waits(int proc_fd, int pid, const int *epfds, size_t nepfds, struct rt_waits *w)
{
	int err = 0;

	w->ninodes = w->nfds = 0;
	for (size_t i = 0; i < nepfds && !err; i++)
		err = read_epoll(proc_fd, pid, epfds[i], w);
	return err ? err : read_blocked(proc_fd, pid, w);
}

void waits_free(struct rt_waits *w)
{
	free(w->inodes);
	free(w->fds);
	memset(w, 0, sizeof(*w));
}

/* ---- for discovery: which holders of a shared socket wait for it ---- */

static int int_cmp(const void *a, const void *b)
{
	return CMP3(*(const int *)a, *(const int *)b);
}

/*
 * The processes holding a socket that other processes hold too, sorted and unique: only for
 * them does it matter which socket they wait for (and reading it costs a file per epoll).
 */
static int shared_holder_pids(struct rt_discovery *d, size_t *n)
{
	size_t out = 0;

	*n = 0;
	for (size_t i = 0; i <= d->table.mask && d->table.slots; i++) {
		const struct ino_slot *s = &d->table.slots[i];
		const struct rt_holder *h = s->inode && s->count ? &d->holders[s->first] : NULL;

		/* Holders are sorted by pid: two processes means the first and last differ. */
		if (!h || h[0].pid == h[s->count - 1].pid)
			continue;
		if (reserve_array(&d->shared_pids, &d->shared_pids_cap, *n + s->count,
				  sizeof(*d->shared_pids)))
			return -ENOMEM;
		for (uint32_t k = 0; k < s->count; k++)
			d->shared_pids[(*n)++] = h[k].pid;
	}
	if (*n)
		qsort(d->shared_pids, *n, sizeof(*d->shared_pids), int_cmp);
	for (size_t i = 0; i < *n; i++)
		if (!out || d->shared_pids[out - 1] != d->shared_pids[i])
			d->shared_pids[out++] = d->shared_pids[i];
	*n = out;
	return 0;
}

/* Process pid waits for socket inode: mark its holder entries of that socket. */
static void mark(struct rt_discovery *d, int pid, uint64_t inode)
{
	const struct ino_slot *s = table_find(&d->table, inode);

	for (uint32_t k = 0; s && k < s->count; k++)
		if (d->holders[s->first + k].pid == pid)
			d->holders[s->first + k].waits = true;
}

/* The socket inode process p holds as descriptor fd, or 0. */
static uint64_t inode_of_fd(const struct rt_discovery *d, const struct proc_entry *p, int fd)
{
	for (uint32_t i = p->first; i < p->first + p->nrefs; i++)
		if (d->refs[i].h.fd == fd)
			return d->refs[i].inode;
	return 0;
}

int mark_waiters(struct rt_discovery *d)
{
	size_t npids;
	int err;

	for (size_t i = 0; i < d->nrefs; i++)
		d->holders[i].waits = false;
	if ((err = shared_holder_pids(d, &npids)))
		return err;
	for (size_t i = 0; i < npids; i++) {
		const struct proc_entry *p = find_proc(d, d->shared_pids[i]);
		struct rt_waits *w = &d->waits;

		if (!p)
			continue;
		if ((err = read_waits(d->proc_fd, p->pid, d->eps + p->first_ep, p->neps, w)))
			return err;
		for (size_t k = 0; k < w->ninodes; k++)
			mark(d, p->pid, w->inodes[k]);
		for (size_t k = 0; k < w->nfds; k++)
			mark(d, p->pid, inode_of_fd(d, p, w->fds[k]));
	}
	return 0;
}
