/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Socket helpers: CO-RE reads that turn kernel socket pointers into what user space can see. */
#ifndef REUSETOP_SOCK_BPF_H
#define REUSETOP_SOCK_BPF_H

#include <bpf/bpf_core_read.h>

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#ifndef S_IFMT
#define S_IFMT   00170000
#define S_IFSOCK 0140000
#endif

#define RT_IS_ERR_OR_NULL(p) (!(p) || (unsigned long)(p) >= (unsigned long)-4095)

/*
 * The socket inode is what sock_diag and /proc/PID/fd show, so it is the key that joins BPF
 * counters with discovery. struct socket is embedded in struct socket_alloc next to its inode;
 * kernel sockets without a struct socket have no inode (0).
 */
static __always_inline __u64 sk_inode(const struct sock *sk)
{
	struct socket *sock = BPF_CORE_READ(sk, sk_socket);
	struct socket_alloc *sa;

	if (!sock)
		return 0;
	sa = container_of(sock, struct socket_alloc, socket);
	return BPF_CORE_READ(sa, vfs_inode.i_ino);
}

static __always_inline bool sk_is_inet_proto(const struct sock *sk, __u16 proto)
{
	__u16 family = BPF_CORE_READ(sk, __sk_common.skc_family);

	return (family == AF_INET || family == AF_INET6) && BPF_CORE_READ(sk, sk_protocol) == proto;
}

static __always_inline bool sk_is_tcp_listener(const struct sock *sk)
{
	return sk_is_inet_proto(sk, IPPROTO_TCP) &&
	       BPF_CORE_READ(sk, __sk_common.skc_state) == TCP_LISTEN;
}

/*
 * The socket behind file descriptor fd of the current task, or NULL: the tracepoint tier only
 * sees the accept syscall's fd, so it walks current->files->fdt like fget() does.
 */
static __always_inline struct sock *current_fd_sock(int fd, __u64 *inode)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);
	struct file **fds, *file = NULL;
	struct socket *sock;
	struct inode *ino;

	if (!fdt || fd < 0 || (unsigned int)fd >= BPF_CORE_READ(fdt, max_fds))
		return NULL;
	fds = BPF_CORE_READ(fdt, fd);
	if (bpf_probe_read_kernel(&file, sizeof(file), &fds[fd]) || !file)
		return NULL;
	ino = BPF_CORE_READ(file, f_inode);
	if (!ino || (BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	*inode = BPF_CORE_READ(ino, i_ino);
	return BPF_CORE_READ(sock, sk);
}

#endif
