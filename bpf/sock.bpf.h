/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/* Socket helpers: CO-RE reads that turn kernel socket pointers into what user space can see. */
#ifndef REUSETOP_SOCK_BPF_H
#define REUSETOP_SOCK_BPF_H

#include <bpf/bpf_core_read.h>
#include "core_fixes.bpf.h"

#ifndef AF_INET
#define AF_INET 2
#endif
#ifndef AF_INET6
#define AF_INET6 10
#endif
#ifndef S_IFMT
#define S_IFMT	 00170000
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
 * sk_inode() with plain loads, for a BTF pointer (an fentry/fexit argument) on any kernel: the
 * verifier lets a program walk those forward, so the inode is reached through the socket's file
 * (the same inode) rather than by container_of. A socket with no file yet has none (0).
 */
static __always_inline __u64 sk_inode_btf(const struct sock *sk)
{
	struct socket *sock = sk->sk_socket;
	struct file *file;
	struct inode *ino;

	if (!sock)
		return 0;
	file = sock->file;
	if (!file)
		return 0;
	ino = file->f_inode;
	return ino ? ino->i_ino : 0;
}

/* sk_is_inet_proto() with plain loads (sk a BTF pointer or from RT_CAST). */
static __always_inline bool sk_is_inet_proto_btf(const struct sock *sk, __u16 proto)
{
	__u16 family = sk->__sk_common.skc_family;

	return (family == AF_INET || family == AF_INET6) && sk->sk_protocol == proto;
}

/* sk_inode() with plain loads; sk comes from RT_CAST. */
static __always_inline __u64 sk_inode_direct(const struct sock *sk)
{
	struct socket *sock = sk->sk_socket;

	if (!sock)
		return 0;
	return RT_CAST((unsigned long)sock - bpf_core_field_offset(struct socket_alloc, socket),
		       struct socket_alloc)
		->vfs_inode.i_ino;
}

static __always_inline bool sk_is_tcp_listener_direct(const struct sock *sk)
{
	__u16 family = sk->__sk_common.skc_family;

	return (family == AF_INET || family == AF_INET6) && sk->sk_protocol == IPPROTO_TCP &&
	       sk->__sk_common.skc_state == TCP_LISTEN;
}

/*
 * The tracepoint tier only sees a syscall's file descriptors, so it walks current->files->fdt
 * like fget() does. One accept looks up two fds (listener and child): read the table once.
 */
struct fd_table {
	struct file **fds;
	unsigned int max_fds;
};

static __always_inline bool current_fd_table(struct fd_table *t)
{
	struct task_struct *task = (struct task_struct *)bpf_get_current_task();
	struct fdtable *fdt = BPF_CORE_READ(task, files, fdt);

	if (!fdt)
		return false;
	t->max_fds = BPF_CORE_READ(fdt, max_fds);
	t->fds = BPF_CORE_READ(fdt, fd);
	return t->fds != NULL;
}

/* The socket behind fd in table t, or NULL when fd is not an open socket; *inode its inode. */
static __always_inline struct sock *fd_table_sock(const struct fd_table *t, int fd, __u64 *inode)
{
	struct file *file = NULL;
	struct socket *sock;
	struct inode *ino;

	if (fd < 0 || (unsigned int)fd >= t->max_fds)
		return NULL;
	if (bpf_probe_read_kernel(&file, sizeof(file), &t->fds[fd]) || !file)
		return NULL;
	ino = BPF_CORE_READ(file, f_inode);
	if (!ino || (BPF_CORE_READ(ino, i_mode) & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = BPF_CORE_READ(file, private_data);
	if (!sock)
		return NULL;
	if (inode)
		*inode = BPF_CORE_READ(ino, i_ino);
	return BPF_CORE_READ(sock, sk);
}

/* The socket behind file descriptor fd of the current task, or NULL. */
static __always_inline struct sock *current_fd_sock(int fd, __u64 *inode)
{
	struct fd_table t;

	if (!current_fd_table(&t))
		return NULL;
	return fd_table_sock(&t, fd, inode);
}

/*
 * fd_table_sock() with plain loads (see RT_CAST). The fd array holds pointers, which the verifier
 * types as plain numbers: its slot is read as the one pointer of a struct llist_node.
 */
static __always_inline struct sock *fd_table_sock_direct(const struct fd_table *t, int fd,
							 __u64 *inode)
{
	struct file *file;
	struct socket *sock;
	struct inode *ino;

	if (fd < 0 || (unsigned int)fd >= t->max_fds)
		return NULL;
	file = RT_CAST(RT_CAST((unsigned long)t->fds + (unsigned long)fd * sizeof(struct file *),
			       struct llist_node)
			       ->next,
		       struct file);
	if (!file)
		return NULL;
	ino = file->f_inode;
	if (!ino || (ino->i_mode & S_IFMT) != S_IFSOCK)
		return NULL;
	sock = RT_CAST(file->private_data, struct socket);
	if (!sock)
		return NULL;
	if (inode)
		*inode = ino->i_ino;
	return sock->sk;
}

/* The fd table of task (from bpf_get_current_task_btf() or RT_CAST), with plain loads. */
static __always_inline bool task_fd_table_direct(struct task_struct *task, struct fd_table *t)
{
	struct files_struct *files = task->files;
	struct fdtable *fdt;

	if (!files)
		return false;
	fdt = files->fdt;
	if (!fdt)
		return false;
	t->max_fds = fdt->max_fds;
	t->fds = fdt->fd;
	return t->fds != NULL;
}

static __always_inline bool current_fd_table_direct(struct fd_table *t)
{
	return task_fd_table_direct(RT_CAST(bpf_get_current_task(), struct task_struct), t);
}

#endif
