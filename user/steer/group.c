// SPDX-License-Identifier: GPL-2.0
/*
 * The group a steer command names: found by discovery (sock_diag in every network namespace),
 * filtered by --port/--addr/--proto/--netns; each member's socket duplicated from its owner with
 * pidfd_getfd(); the group probe (a tracepoint on our own getsockopt) says which kernel group
 * each socket is in and which program the group has. Also: MEMBER arguments matched against the
 * members, and a program attached to or detached from the group through one of them.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "setup.h"
#include "steer.skel.h"
#include "util.h"

/* ---- the group probe --------------------------------------------------------------------- */

int probe_open(struct ctx *c)
{
	struct probe *p = &c->probe;
	struct bpf_program *prog;
	int err;

	if (p->skel)
		return 0;
	if ((err = ensure_tracefs()))
		return fail(c, RT_EXIT_RUNTIME,
			    "failed to mount tracefs on /sys/kernel/tracing: %s", strerror(-err));
	p->skel = steer_bpf__open();
	if (!p->skel)
		return fail(c, RT_EXIT_RUNTIME, "failed to open the steering object: %s",
			    strerror(errno));
	bpf_object__for_each_program(prog, p->skel->obj)
		bpf_program__set_autoload(prog, prog == p->skel->progs.steer_probe);
	/* The probe only needs its global data: keep the big maps small in this copy. */
	bpf_map__set_max_entries(p->skel->maps.steer_table, 1);
	if ((err = steer_bpf__load(p->skel)))
		return fail(c, RT_EXIT_RUNTIME, "failed to load the group probe: %s%s",
			    strerror(-err),
			    verbose_enabled() ? "" : " (-v shows libbpf's messages)");
	p->skel->bss->probe_tgid = (uint32_t)getpid();
	p->skel->bss->probe_fd = -1;
	p->link = bpf_program__attach(p->skel->progs.steer_probe);
	if (!p->link)
		return fail(c, RT_EXIT_RUNTIME, "failed to attach the group probe: %s",
			    strerror(errno));
	return 0;
}

void probe_close(struct probe *p)
{
	bpf_link__destroy(p->link);
	steer_bpf__destroy(p->skel);
	p->link = NULL;
	p->skel = NULL;
}

int probe_socket(struct ctx *c, int fd, struct steer_probe_result *out)
{
	struct probe *p = &c->probe;
	socklen_t len = sizeof(int);
	int v;

	p->skel->bss->probe_fd = fd;
	p->skel->bss->probe_seq = ++p->seq;
	if (getsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &v, &len))
		return -errno;
	p->skel->bss->probe_fd = -1;
	memcpy(out, (const void *)&p->skel->bss->probe_res, sizeof(*out));
	if (out->seq != p->seq)
		return -ENODATA;
	return 0;
}

static bool listening(const struct group *g, int fd)
{
	socklen_t len = sizeof(int);
	int on = 0;

	return g->proto != IPPROTO_TCP ||
	       (!getsockopt(fd, SOL_SOCKET, SO_ACCEPTCONN, &on, &len) && on);
}

/*
 * A closed listener stays in its group's "closed" section while its requests migrate, but can
 * no longer be selected: a member is in the group and, for TCP, listening.
 */
bool still_member(struct ctx *c, const struct group *g, const struct member *m)
{
	struct steer_probe_result r;

	return listening(g, m->dupfd) && !probe_socket(c, m->dupfd, &r) && r.in_group;
}

/* ---- finding the group and taking its sockets -------------------------------------------- */

static void group_names(struct group *g, const char *dev)
{
	char a[INET6_ADDRSTRLEN], e[96];

	endpoint_str(g->family, g->addr, dev, g->port, e, sizeof(e));
	snprintf(g->name, sizeof(g->name), "%s %s (netns %llu)", proto_name(g->proto), e,
		 (unsigned long long)g->netns);
	addr_str(g->family, g->addr, a, sizeof(a));
	/* bpffs refuses names with dots: 127.0.0.1 becomes 127_0_0_1. */
	for (char *d = a; *d; d++)
		if (*d == '.')
			*d = '_';
	snprintf(g->pindir, sizeof(g->pindir), "%s/%s-%llu-%s-%u", STEER_PIN_ROOT,
		 proto_name(g->proto), (unsigned long long)g->netns, a, g->port);
}

/* pidfd_getfd: 0 with *out our copy of fd `fd` of process `pid` if it still is socket inode. */
static int take_fd(int pid, int fd, uint64_t inode, int *out)
{
	struct stat st;
	int pidfd, nfd, err;

	pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
	if (pidfd < 0)
		return -errno;
	nfd = (int)syscall(SYS_pidfd_getfd, pidfd, fd, 0);
	err = errno;
	close(pidfd);
	if (nfd < 0)
		return -err;
	/* The process may have closed the fd and reused the number since the scan. */
	if (fstat(nfd, &st) || st.st_ino != inode) {
		close(nfd);
		return -ESTALE;
	}
	*out = nfd;
	return 0;
}

void close_members(struct group *g)
{
	for (size_t i = 0; i < g->n; i++) {
		if (g->m[i].dupfd >= 0)
			close(g->m[i].dupfd);
		g->m[i].dupfd = -1;
	}
}

static bool same_addr(const struct rt_listener *l, uint8_t family, const uint8_t *addr)
{
	return l->family == family && !memcmp(l->addr, addr, family == AF_INET ? 4 : 16);
}

static bool in_group(const struct rt_listener *l, const struct group *g)
{
	return l->proto == g->proto && l->port == g->port && l->netns == g->netns &&
	       same_addr(l, g->family, g->addr);
}

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	if (x->pid != y->pid)
		return CMP3(x->pid, y->pid);
	if (x->fd != y->fd)
		return CMP3(x->fd, y->fd);
	return CMP3(x->inode, y->inode);
}

static int group_closing(struct ctx *c, const struct group *g)
{
	fail(c, RT_EXIT_USAGE, "no SO_REUSEPORT group on %s: its sockets are closing", g->name);
	return NOT_FOUND;
}

static int group_not_found(struct ctx *c)
{
	const struct steer_options *o = c->o;
	unsigned int blind = discovery_netns_failed(c->disc);
	char note[160] = "";

	if (blind)
		snprintf(note, sizeof(note),
			 " (%u network namespaces could not be entered: seeing every server "
			 "needs CAP_SYS_ADMIN and CAP_SYS_PTRACE)",
			 blind);
	fail(c, RT_EXIT_USAGE, "no SO_REUSEPORT group on %s port %u%s%s", proto_name(o->proto),
	     o->port, o->family || o->netns ? " with that address and network namespace" : "",
	     note);
	return NOT_FOUND;
}

/* Why two sockets on one address and port are in different reuseport groups, for a message. */
static const char *split_reason(const struct rt_listener *a, const struct rt_listener *b, char *buf,
				size_t len)
{
	if (a->v6only != b->v6only)
		return "IPV6_V6ONLY set on some and not on others";
	if (a->bound_ifindex != b->bound_ifindex) {
		snprintf(buf, len, "bound to different devices (%s and %s)",
			 a->bound_ifindex ? (a->bound_dev[0] ? a->bound_dev : "?") : "none",
			 b->bound_ifindex ? (b->bound_dev[0] ? b->bound_dev : "?") : "none");
		return buf;
	}
	snprintf(buf, len, "owned by different users (uid %u and %u)", a->uid, b->uid);
	return buf;
}

/*
 * Which group the options name among the sockets ls[0..n): its address in g, how many sockets
 * it has in *ncand. FOUND, NOT_FOUND, or -1 when the options do not name one group.
 */
static int match_group(struct ctx *c, const struct rt_listener *ls, size_t n, struct group *g,
		       size_t *ncand)
{
	const struct steer_options *o = c->o;
	const struct rt_listener *first = NULL;
	uint64_t other_netns = 0;
	char a1[INET6_ADDRSTRLEN], a2[96];

	for (size_t i = 0; i < n; i++) {
		const struct rt_listener *l = &ls[i];

		if (l->proto != o->proto || l->port != o->port)
			continue;
		if ((o->family && !same_addr(l, o->family, o->addr)) ||
		    (o->netns && l->netns != o->netns))
			continue;
		if (!first)
			first = l;
		else if (l->netns != first->netns)
			other_netns = l->netns;
		else if (!same_addr(l, first->family, first->addr))
			return fail(c, RT_EXIT_USAGE,
				    "%s port %u has sockets on several addresses (%s, %s, ...): "
				    "choose one with --addr",
				    proto_name(o->proto), o->port,
				    addr_str(first->family, first->addr, a1, sizeof(a1)),
				    addr_str(l->family, l->addr, a2, sizeof(a2)));
		else if (listener_group_cmp(first, l))
			return fail(c, RT_EXIT_USAGE,
				    "%s %s port %u holds several reuseport groups, %s: reusetop "
				    "steers one group at a time",
				    proto_name(o->proto),
				    addr_str(first->family, first->addr, a1, sizeof(a1)), o->port,
				    split_reason(first, l, a2, sizeof(a2)));
		(*ncand)++;
	}
	if (!first)
		return group_not_found(c);
	if (other_netns)
		return fail(c, RT_EXIT_USAGE,
			    "%s port %u is in use in several network namespaces (%llu, %llu, ...): "
			    "choose one with --netns",
			    proto_name(o->proto), o->port, (unsigned long long)first->netns,
			    (unsigned long long)other_netns);
	g->netns = first->netns;
	g->proto = first->proto;
	g->family = first->family;
	g->port = first->port;
	memcpy(g->addr, first->addr, 16);
	group_names(g, first->bound_dev);
	return FOUND;
}

/* m->dupfd from the first of l's holders that gives it: 0, 1 when none did, or -1. */
static int take_from_holders(struct ctx *c, const struct rt_listener *l, struct member *m)
{
	int took = -ESRCH;

	for (size_t h = 0; h < l->nholders && took; h++) {
		const struct rt_holder *hd = &l->holders[h];

		took = take_fd(hd->pid, hd->fd, l->inode, &m->dupfd);
		if (took == -EPERM || took == -EACCES)
			return fail(c, RT_EXIT_USAGE,
				    "cannot take socket %llu (fd %d) from pid %d (%s): %s: "
				    "steering needs ptrace access to the server "
				    "(CAP_SYS_PTRACE, or the same user where Yama allows it)",
				    (unsigned long long)l->inode, hd->fd, hd->pid, hd->comm,
				    strerror(-took));
	}
	for (size_t h = 0; h < l->nholders && m->nholders < MAX_HOLDERS; h++)
		m->holders[m->nholders++] = l->holders[h].pid;
	return took ? 1 : 0;
}

/* Who m belongs to: the process that serves it, named like the observing view names it. */
static void set_owner(const struct group *g, const struct rt_listener *l, struct member *m)
{
	struct rt_owner o;

	socket_owner(l, NULL, 0, NULL, g->proto == IPPROTO_UDP, &o);
	m->owner = o.source;
	m->pid = o.pid;
	m->fd = o.fd;
	memcpy(m->comm, o.comm, sizeof(m->comm));
	m->shared = l->nholders && l->holders[0].pid != l->holders[l->nholders - 1].pid;
	m->drops = l->drops;
}

/*
 * Listener l as member m, with our copy of its socket: 0, 1 when it is not one (no process
 * holds it any more: it is closing; or a connected UDP socket), or -1. m->dupfd is open only
 * when 0 is returned.
 */
static int take_member(struct ctx *c, const struct group *g, const struct rt_listener *l,
		       struct member *m)
{
	socklen_t len = sizeof(int);
	int one = 0, ret = 1, err;

	memset(m, 0, sizeof(*m));
	m->inode = l->inode;
	m->dupfd = -1;
	m->slot = -1;
	m->weight = 1;
	if ((err = take_from_holders(c, l, m)))
		return err;
	set_owner(g, l, m);
	if (getsockopt(m->dupfd, SOL_SOCKET, SO_REUSEPORT, &one, &len) || !one) {
		ret = fail(c, RT_EXIT_USAGE,
			   "%s is not a SO_REUSEPORT group: socket %llu has no SO_REUSEPORT",
			   g->name, (unsigned long long)m->inode);
		goto out;
	}
	if (g->proto == IPPROTO_UDP) {
		struct sockaddr_storage peer;
		socklen_t plen = sizeof(peer);

		/* A connected UDP socket is not one the group hands datagrams to. */
		if (!getpeername(m->dupfd, (struct sockaddr *)&peer, &plen))
			goto out;
	}
	len = sizeof(m->cookie);
	if (getsockopt(m->dupfd, SOL_SOCKET, SO_COOKIE, &m->cookie, &len)) {
		ret = fail(c, RT_EXIT_RUNTIME, "failed to read the cookie of socket %llu: %s",
			   (unsigned long long)m->inode, strerror(errno));
		goto out;
	}
	return 0;
out:
	close(m->dupfd);
	m->dupfd = -1;
	return ret;
}

/* g's members from the sockets ls[0..n). *seen_holder: some process was seen holding one. */
static int take_members(struct ctx *c, struct group *g, const struct rt_listener *ls, size_t n,
			bool *seen_holder)
{
	for (size_t i = 0; i < n; i++) {
		const struct rt_listener *l = &ls[i];
		int r;

		if (!in_group(l, g))
			continue;
		if (g->n >= STEER_MAX_MEMBERS)
			return fail(c, RT_EXIT_USAGE,
				    "%s has more than %d sockets: too many to steer", g->name,
				    STEER_MAX_MEMBERS);
		*seen_holder |= l->nholders > 0;
		r = take_member(c, g, l, &g->m[g->n]);
		if (r < 0)
			return -1;
		if (r == 0)
			g->n++;
	}
	return 0;
}

/*
 * The kernel's view of each member: members whose owner shut them down since the scan are
 * dropped (they are leaving the group); all must be in one group.
 */
static int probe_members(struct ctx *c, struct group *g)
{
	int err;

	if (probe_open(c))
		return -1;
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];

		if ((err = probe_socket(c, m->dupfd, &m->probe)))
			return fail(c, RT_EXIT_RUNTIME, "failed to probe socket %llu: %s",
				    (unsigned long long)m->inode, strerror(-err));
		if (!m->probe.in_group || !listening(g, m->dupfd)) {
			close(m->dupfd);
			memmove(m, m + 1, (g->n - i - 1) * sizeof(*m));
			g->n--;
			i--;
			continue;
		}
		if (m->probe.group != g->m[0].probe.group)
			return fail(
				c, RT_EXIT_USAGE,
				"the kernel keeps the sockets on %s in several reuseport groups "
				"(they changed since they were listed): reusetop cannot steer them "
				"as one",
				g->name);
	}
	return 0;
}

int find_group(struct ctx *c, struct group *g)
{
	const struct rt_listener *ls;
	const struct steer_probe_result *first;
	bool seen_holder = false;
	size_t n, ncand = 0;
	int r;

	memset(g, 0, sizeof(*g));
	if ((r = discovery_scan(c->disc, &ls, &n)))
		return fail(c, RT_EXIT_RUNTIME, "failed to list sockets: %s", strerror(-r));
	if ((r = match_group(c, ls, n, g, &ncand)))
		return r;
	if (take_members(c, g, ls, n, &seen_holder))
		goto fail;
	/* Reading other processes' fds (/proc/PID/fd) needs ptrace access to them. */
	if (!g->n && !seen_holder)
		return fail(c, RT_EXIT_USAGE,
			    "%s: no process holding its %zu sockets can be seen (reading other "
			    "processes' file descriptors needs CAP_SYS_PTRACE)",
			    g->name, ncand);
	if (!g->n)
		return group_closing(c, g);
	qsort(g->m, g->n, sizeof(g->m[0]), cmp_member);
	if (probe_members(c, g))
		goto fail;
	if (!g->n)
		return group_closing(c, g);
	first = &g->m[0].probe;
	g->num_socks = first->num_socks;
	g->has_prog = first->has_prog;
	g->prog_id = first->prog_id;
	g->prog_type = first->prog_type;
	g->attach_type = first->attach_type;
	memcpy(g->prog_name, first->prog_name, sizeof(g->prog_name));
	g->prog_name[sizeof(g->prog_name) - 1] = '\0';
	return FOUND;
fail:
	close_members(g);
	return -1;
}

/* ---- members named on the command line --------------------------------------------------- */

static bool holds(const struct member *m, uint64_t pid)
{
	for (size_t h = 0; h < m->nholders; h++)
		if ((uint64_t)m->holders[h] == pid)
			return true;
	return false;
}

/* pid serves m: it waits for it while others hold it too (owner "polls"), or holds it alone. */
static bool serves(const struct member *m, uint64_t pid)
{
	return (m->owner == RT_OWNER_POLLS && (uint64_t)m->pid == pid) ||
	       (!m->shared && holds(m, pid));
}

/* How many members of g pid serves, and how many it holds. */
static void count_for_pid(const struct group *g, uint64_t pid, size_t *nserved, size_t *nheld)
{
	*nserved = *nheld = 0;
	for (size_t i = 0; i < g->n; i++) {
		*nserved += serves(&g->m[i], pid);
		*nheld += holds(&g->m[i], pid);
	}
}

bool ref_matches(const struct steer_ref *r, const struct group *g, const struct member *m)
{
	size_t nserved, nheld;

	if (r->inode)
		return m->inode == r->id;
	count_for_pid(g, r->id, &nserved, &nheld);
	if (nserved)
		return serves(m, r->id);
	return nheld == 1 && holds(m, r->id);
}

/* A pid that holds several sockets others hold too and serves none: which does it mean? */
static int ambiguous_pid(struct ctx *c, const struct group *g, const struct steer_ref *r,
			 const char *opt)
{
	size_t nserved, nheld;

	count_for_pid(g, r->id, &nserved, &nheld);
	if (nserved || nheld < 2)
		return 0;
	return fail(c, RT_EXIT_USAGE,
		    "%s %llu: pid %llu holds %zu sockets of %s that other processes hold too, and "
		    "waits for none of them: reusetop cannot tell which it serves (name the "
		    "process that serves one, or a socket as ino:INODE; --show lists them)",
		    opt, (unsigned long long)r->id, (unsigned long long)r->id, nheld, g->name);
}

int check_refs(struct ctx *c, const struct group *g, const struct steer_ref *refs, size_t n,
	       const char *opt)
{
	char buf[32];

	for (size_t i = 0; i < n; i++) {
		bool found = false;

		if (!refs[i].inode && ambiguous_pid(c, g, &refs[i], opt))
			return -1;
		for (size_t k = 0; k < g->n && !found; k++)
			found = ref_matches(&refs[i], g, &g->m[k]);
		if (!found)
			return fail(c, RT_EXIT_USAGE,
				    refs[i].inode ? "%s %s: socket %llu is not a member of %s"
						  : "%s %s: pid %llu holds no socket of %s",
				    opt, steer_ref_str(&refs[i], buf, sizeof(buf)),
				    (unsigned long long)refs[i].id, g->name);
	}
	return 0;
}

/* ---- the group's program ----------------------------------------------------------------- */

const char *program_kind(const struct group *g)
{
	if (!g->has_prog)
		return NULL;
	if (!g->prog_id)
		return "classic_bpf";
	if (g->prog_type == BPF_PROG_TYPE_SK_REUSEPORT)
		return "sk_reuseport";
	if (g->prog_type == BPF_PROG_TYPE_SOCKET_FILTER)
		return "socket_filter";
	return "other";
}

const char *program_kind_text(const struct group *g)
{
	const char *kind = program_kind(g);

	if (!kind)
		return "none";
	if (!strcmp(kind, "classic_bpf"))
		return "classic BPF";
	if (!strcmp(kind, "socket_filter"))
		return "eBPF socket filter";
	if (!strcmp(kind, "sk_reuseport"))
		return "sk_reuseport program";
	return "BPF program of another type";
}

int attach_prog(int sockfd, int progfd)
{
	return setsockopt(sockfd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &progfd, sizeof(progfd))
		       ? -errno
		       : 0;
}

int detach_prog(int sockfd)
{
	int dummy = 0;

	return setsockopt(sockfd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &dummy, sizeof(dummy))
		       ? -errno
		       : 0;
}

uint32_t prog_id_of(int progfd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(progfd, &info, &len))
		return 0;
	return info.id;
}
