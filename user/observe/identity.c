// SPDX-License-Identifier: GPL-2.0
/*
 * Process identities (identity.h), cached by pid. A process is read once: its start time and
 * cgroup, and for a Kubernetes pod its UTS hostname and namespace file. Every IDENT_RECHECK_NS
 * the start time and cgroup are read again: a pid reused by a new process, or a process moved
 * to another cgroup, is read anew. Pids the view stopped showing are forgotten after
 * IDENT_FORGET_NS.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/openat2.h>
#include <sched.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <unistd.h>

#include "observe/identity.h"
#include "util.h"

#define IDENT_RECHECK_NS (5ull * 1000000000ull)
#define IDENT_FORGET_NS	 (60ull * 1000000000ull)
#define PROC_TEXT_LEN	 4096
/* Where the kubelet mounts a pod's service account (also reached through /run/secrets). */
#define SA_NAMESPACE "var/run/secrets/kubernetes.io/serviceaccount/namespace"

struct ident_entry {
	int pid;
	bool known; /* id was read (else the process was gone when first looked up) */
	uint64_t start; /* /proc/PID/stat's starttime, in clock ticks since boot */
	uint64_t checked_ns, used_ns;
	struct rt_identity id;
};

struct rt_identities {
	int proc_fd;
	uint64_t host_uts; /* inode of pid 1's UTS namespace: a process in it is in no pod's */
	struct ident_entry **slots; /* open addressing by pid, at most half full */
	size_t mask, n;
	uint64_t swept_ns;
	char text[PROC_TEXT_LEN];
};

int identities_new(struct rt_identities **out)
{
	struct rt_identities *c = calloc(1, sizeof(*c));
	struct stat st;

	if (!c)
		return -ENOMEM;
	c->proc_fd = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	c->slots = calloc(64, sizeof(*c->slots));
	if (c->proc_fd < 0 || !c->slots) {
		int err = c->proc_fd < 0 ? -errno : -ENOMEM;

		identities_free(c);
		return err;
	}
	c->mask = 63;
	if (!fstatat(c->proc_fd, "1/ns/uts", &st, 0))
		c->host_uts = st.st_ino;
	*out = c;
	return 0;
}

void identities_free(struct rt_identities *c)
{
	if (!c)
		return;
	for (size_t i = 0; c->slots && i <= c->mask; i++)
		free(c->slots[i]);
	free(c->slots);
	if (c->proc_fd >= 0)
		close(c->proc_fd);
	free(c);
}

/* ---- reading a process ---- */

/* The text of a file (NUL-terminated, cut to size), its length, or -errno. */
static ssize_t read_text(int dirfd, const char *path, char *buf, size_t size, int flags)
{
	int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | flags);
	ssize_t n;

	if (fd < 0)
		return -errno;
	n = read(fd, buf, size - 1);
	if (n < 0)
		n = -errno;
	close(fd);
	if (n >= 0)
		buf[n] = '\0';
	return n;
}

/* Field 22 of /proc/PID/stat, counted after the command's closing parenthesis. */
static int read_start(struct rt_identities *c, int pid, uint64_t *start)
{
	char path[32];
	const char *p;
	ssize_t n;

	snprintf(path, sizeof(path), "%d/stat", pid);
	if ((n = read_text(c->proc_fd, path, c->text, sizeof(c->text), 0)) < 0)
		return (int)n;
	if (!(p = strrchr(c->text, ')')))
		return -EINVAL;
	for (int field = 2; field < 22 && p; field++)
		p = strchr(p + 1, ' ');
	if (!p || sscanf(p + 1, "%" SCNu64, start) != 1)
		return -EINVAL;
	return 0;
}

static int read_cgroup(struct rt_identities *c, int pid, char *path, size_t size)
{
	char name[32];
	ssize_t n;

	snprintf(name, sizeof(name), "%d/cgroup", pid);
	if ((n = read_text(c->proc_fd, name, c->text, sizeof(c->text), 0)) < 0)
		return (int)n;
	return cgroup_path_of(c->text, (size_t)n, path, size) ? 0 : -ENOENT;
}

/*
 * The hostname of the process's UTS namespace, which the kubelet sets to the pod's name; ""
 * when it shares pid 1's (a hostNetwork pod has the node's). The calling thread enters the
 * namespace and comes back (UTS namespaces are per thread); -errno only when it could not
 * come back.
 */
static int read_pod_name(struct rt_identities *c, int pid, char *name, size_t size)
{
	struct utsname u;
	struct stat st;
	char path[32];
	int fd, self, err = 0;

	name[0] = '\0';
	snprintf(path, sizeof(path), "%d/ns/uts", pid);
	fd = openat(c->proc_fd, path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return 0;
	self = open("/proc/thread-self/ns/uts", O_RDONLY | O_CLOEXEC);
	if (self >= 0 && !fstat(fd, &st) && st.st_ino != c->host_uts && !setns(fd, CLONE_NEWUTS)) {
		if (!uname(&u))
			snprintf(name, size, "%s", u.nodename);
		if (setns(self, CLONE_NEWUTS))
			err = -errno;
	}
	if (self >= 0)
		close(self);
	close(fd);
	return err;
}

/* A namespace name is a DNS label: lower-case letters, digits and '-'. */
static bool dns_label(const char *s)
{
	size_t n = strlen(s);

	if (!n || n >= RT_K8S_NAMESPACE_LEN)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') || s[i] == '-'))
			return false;
	return true;
}

/*
 * The service account's namespace file inside the process's mount namespace, through
 * /proc/PID/root: symlinks (/var/run -> /run) resolve inside that root (RESOLVE_IN_ROOT).
 */
static void read_k8s_namespace(struct rt_identities *c, int pid, char *ns, size_t size)
{
	struct open_how how = {.flags = O_RDONLY | O_CLOEXEC,
			       .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};
	char path[32], buf[RT_K8S_NAMESPACE_LEN + 2];
	int root, fd;
	ssize_t n;

	ns[0] = '\0';
	snprintf(path, sizeof(path), "%d/root", pid);
	root = openat(c->proc_fd, path, O_PATH | O_DIRECTORY | O_CLOEXEC);
	if (root < 0)
		return;
	fd = (int)syscall(SYS_openat2, root, SA_NAMESPACE, &how, sizeof(how));
	close(root);
	if (fd < 0)
		return;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	if (n <= 0)
		return;
	buf[n] = '\0';
	buf[strcspn(buf, " \t\r\n")] = '\0';
	if (dns_label(buf))
		snprintf(ns, size, "%s", buf);
}

/* The container its cgroup names, and a pod's name and namespace from the process. */
static int read_identity(struct rt_identities *c, int pid, struct rt_identity *id)
{
	struct rt_container *k = &id->container;

	id->in_container = container_of_cgroup(id->cgroup, k);
	if (!id->in_container || !k->pod_uid[0])
		return 0;
	read_k8s_namespace(c, pid, k->k8s_namespace, sizeof(k->k8s_namespace));
	return read_pod_name(c, pid, k->pod, sizeof(k->pod));
}

/* Read e's process again: everything when it is new, moved, or another one took its pid. */
static int check_entry(struct rt_identities *c, struct ident_entry *e, uint64_t now)
{
	char cgroup[RT_CGROUP_LEN];
	uint64_t start;

	e->checked_ns = now;
	/* Gone: an exited task keeps what was read while it lived. */
	if (read_start(c, e->pid, &start) || read_cgroup(c, e->pid, cgroup, sizeof(cgroup)))
		return 0;
	if (e->known && start == e->start && !strcmp(cgroup, e->id.cgroup))
		return 0;
	memset(&e->id, 0, sizeof(e->id));
	snprintf(e->id.cgroup, sizeof(e->id.cgroup), "%s", cgroup);
	e->start = start;
	e->known = true;
	return read_identity(c, e->pid, &e->id);
}

/* ---- the cache ---- */

static size_t pid_slot(const struct rt_identities *c, int pid)
{
	size_t i = ((uint32_t)pid * 0x9e3779b1u) & c->mask;

	while (c->slots[i] && c->slots[i]->pid != pid)
		i = (i + 1) & c->mask;
	return i;
}

/* Rebuild the table with room for twice what it keeps, without the entries not used lately. */
static int rehash(struct rt_identities *c, uint64_t now)
{
	struct ident_entry **old = c->slots;
	size_t old_mask = c->mask, keep = 0, cap = 64;

	for (size_t i = 0; i <= old_mask; i++)
		keep += old[i] && now - old[i]->used_ns < IDENT_FORGET_NS;
	while (cap < 4 * (keep + 1))
		cap *= 2;
	if (!(c->slots = calloc(cap, sizeof(*c->slots)))) {
		c->slots = old;
		return -ENOMEM;
	}
	c->mask = cap - 1;
	c->n = 0;
	for (size_t i = 0; i <= old_mask; i++) {
		if (!old[i])
			continue;
		if (now - old[i]->used_ns >= IDENT_FORGET_NS) {
			free(old[i]);
			continue;
		}
		c->slots[pid_slot(c, old[i]->pid)] = old[i];
		c->n++;
	}
	free(old);
	c->swept_ns = now;
	return 0;
}

static int lookup(struct rt_identities *c, int pid, uint64_t now, const struct rt_identity **out)
{
	struct ident_entry *e;
	size_t i;
	int err = 0;

	*out = NULL;
	if (pid <= 0)
		return 0;
	if (2 * (c->n + 1) > c->mask + 1 && (err = rehash(c, now)))
		return err;
	i = pid_slot(c, pid);
	if (!(e = c->slots[i])) {
		if (!(e = calloc(1, sizeof(*e))))
			return -ENOMEM;
		e->pid = pid;
		c->slots[i] = e;
		c->n++;
		err = check_entry(c, e, now);
	} else if (now - e->checked_ns >= IDENT_RECHECK_NS) {
		err = check_entry(c, e, now);
	}
	e->used_ns = now;
	*out = e->known ? &e->id : NULL;
	return err;
}

/*
 * lookup() of sockets' owners, most of them the same process as the last socket's (a server's
 * listeners are next to each other): its answer again, as lookup() would give it.
 */
struct owner_memo {
	int pid;
	const struct rt_identity *ident;
};

static int lookup_owner(struct rt_identities *c, int pid, uint64_t now, struct owner_memo *memo,
			const struct rt_identity **out)
{
	int err;

	if (pid > 0 && pid == memo->pid) {
		*out = memo->ident;
		return 0;
	}
	if ((err = lookup(c, pid, now, out)))
		return err;
	*memo = (struct owner_memo){pid, *out};
	return 0;
}

int identities_annotate(struct rt_identities *c, struct rt_view *v)
{
	struct owner_memo memo = {0, NULL};
	uint64_t now = mono_ns();
	int err = 0;

	if (now - c->swept_ns >= IDENT_FORGET_NS && (err = rehash(c, now)))
		return err;
	for (size_t g = 0; g < v->ngroups; g++) {
		struct rt_group_view *gv = &v->groups[g];

		for (size_t i = 0; !err && i < gv->nsocks; i++) {
			struct rt_sock_view *s = &gv->socks[i];

			if (s->owner.source != RT_OWNER_NONE)
				err = lookup_owner(c, s->owner.pid, now, &memo, &s->ident);
		}
		for (size_t i = 0; !err && i < gv->nacceptors; i++)
			err = lookup(c, (int)gv->acceptors[i].a->pid, now, &gv->acceptors[i].ident);
		for (size_t i = 0; !err && i < gv->nhandoffs; i++)
			err = lookup(c, (int)gv->handoffs[i].h->pid, now, &gv->handoffs[i].ident);
		if (err)
			return err;
	}
	return 0;
}
