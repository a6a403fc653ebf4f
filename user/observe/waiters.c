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
