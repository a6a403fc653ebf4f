/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Which sockets a process waits for right now, from /proc (needs ptrace access to it, like
 * reading its fds): the sockets registered in its epoll instances (/proc/PID/fdinfo/EPFD), and
 * the descriptors its threads are blocked on in accept or a receive (/proc/PID/task/TID/syscall).
 * Discovery uses it to tell which of several holders of a socket serves it (observe/owner.h).
 */
#ifndef REUSETOP_WAITERS_H
#define REUSETOP_WAITERS_H

#include <stddef.h>
#include <stdint.h>

struct rt_waits {
	uint64_t *inodes; /* registered in one of the process's epoll sets */
	size_t ninodes, inodes_cap;
	int *fds; /* a thread is blocked in accept/recv on them */
	size_t nfds, fds_cap;
};

/*
 * Fill w (emptied first) for process pid, whose epoll descriptors are epfds[0..nepfds); proc_fd
 * is an open /proc. A process that exited meanwhile gives what was read. 0 or -ENOMEM.
 */
int read_waits(int proc_fd, int pid, const int *epfds, size_t nepfds, struct rt_waits *w);
void waits_free(struct rt_waits *w);

#endif
