// SPDX-License-Identifier: GPL-2.0
/*
 * `reusetop steer`: steering a running server's SO_REUSEPORT group with a BPF policy.
 *
 *   find the group    discovery (sock_diag in every netns), filtered by --port/--addr/--proto/
 *                     --netns; each member's socket duplicated from its owner with
 *                     pidfd_getfd(); the group probe (a tracepoint on our own getsockopt) says
 *                     which kernel group each socket is in and which program the group has
 *   maps              the group's pinned maps (created and pinned the first time) under
 *                     /sys/fs/bpf/reusetop/<proto>-<netns>-<addr>-<port>/
 *   members           each socket at its own slot of the REUSEPORT_SOCKARRAY, kept until it
 *                     leaves; steer_info records who it is
 *   configuration     written to the configuration buffer not in use, then steer_cur flips:
 *                     a policy change is seen whole by the next connection
 *   program           attached with SO_ATTACH_REUSEPORT_EBPF through any member (the kernel then
 *                     applies it to the whole group and replaces the previous one atomically),
 *                     pinned as "prog"; least-loaded's load trackers are links pinned as link_*
 *
 * Our copies of the members' sockets are closed before returning (and between --follow
 * rounds): a socket the server closes must really close, and leave the group.
 */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statfs.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/capability.h>
#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "observe/discovery.h"
#include "render/json.h"
#include "kernel.h"
#include "opts.h"
#include "setup.h"
#include "steer.h"
#include "steer.skel.h"

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_getfd
#define SYS_pidfd_getfd 438
#endif
#ifndef SO_ATTACH_REUSEPORT_EBPF
#define SO_ATTACH_REUSEPORT_EBPF 52
#endif
#ifndef SO_DETACH_REUSEPORT_BPF
#define SO_DETACH_REUSEPORT_BPF 68
#endif
#ifndef SO_COOKIE
#define SO_COOKIE 57
#endif
#ifndef BPF_FS_MAGIC
#define BPF_FS_MAGIC 0xcafe4a11
#endif
#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

enum { EXIT_OK = 0, EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

#define MAX_HOLDERS 8

/* ---- context, errors, privileges ---------------------------------------------------------- */

static volatile sig_atomic_t stop_requested;
static bool verbose;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int libbpf_print(enum libbpf_print_level level, const char *fmt, va_list args)
{
	(void)level;
	if (!verbose)
		return 0;
	return vfprintf(stderr, fmt, args);
}

struct member {
	uint64_t inode;
	uint64_t cookie;
	int pid; /* the holder reusetop took the socket from, and its fd there */
	int fd;
	char comm[RT_COMM_LEN];
	int holders[MAX_HOLDERS]; /* every pid holding it, for MEMBER=PID */
	size_t nholders;
	int dupfd; /* our copy; -1 once closed */
	int slot; /* -1 until assigned */
	uint32_t weight;
	bool drained;
	bool added; /* not in the pinned maps before this round */
	bool left; /* closed while this round ran: not put in the maps */
	struct steer_probe_result probe;
};

struct group {
	uint64_t netns;
	uint8_t proto, family;
	uint16_t port;
	uint8_t addr[16];
	char name[96]; /* "tcp 127.0.0.1:8080 (netns N)" */
	char pindir[160];
	struct member m[STEER_MAX_MEMBERS];
	size_t n;
	/* What the kernel says about the group, from the probe of its first member. */
	uint16_t num_socks;
	bool has_prog; /* any program, reusetop's or not, eBPF or classic */
	uint32_t prog_id;
	uint32_t prog_type;
	uint32_t attach_type;
	char prog_name[16];
};

struct probe {
	struct steer_bpf *skel;
	struct bpf_link *link;
	uint32_t seq;
};

struct ctx {
	const struct steer_options *o;
	struct rt_discovery *disc;
	struct probe probe;
	int lockfd;
	int status;
	char err[700];
};

static int fail(struct ctx *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->status = status;
	return -1;
}

static void warn(const char *fmt, ...)
{
	va_list ap;

	fputs("reusetop: warning: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/*
 * Loading an sk_reuseport program and creating a REUSEPORT_SOCKARRAY need CAP_BPF (measured on
 * 6.18: not CAP_NET_ADMIN; SO_ATTACH_REUSEPORT_EBPF on a socket needs nothing); the group probe
 * and least-loaded's trackers are tracepoint programs (CAP_PERFMON). Taking another process's
 * socket needs ptrace access to it, checked when it happens (CAP_SYS_PTRACE, or the same user
 * without Yama restrictions); discovery enters other network namespaces (CAP_SYS_ADMIN).
 */
static int check_privileges(struct ctx *c)
{
	char missing[96];
	int ret = missing_bpf_caps(missing, sizeof(missing));

	if (ret)
		return fail(c, EXIT_RUNTIME, "failed to read capabilities: %s", strerror(-ret));
	if (missing[0])
		return fail(c, EXIT_USAGE, "steer needs root (missing %s)", missing);
	return 0;
}

/* bpffs at /sys/fs/bpf (mounted when absent) and our folder in it. */
static int ensure_pin_root(struct ctx *c)
{
	struct statfs st;

	if (statfs("/sys/fs/bpf", &st) || st.f_type != BPF_FS_MAGIC) {
		if (mount("bpf", "/sys/fs/bpf", "bpf", 0, "mode=0700"))
			return fail(c, EXIT_RUNTIME, "failed to mount bpffs on /sys/fs/bpf: %s",
				    strerror(errno));
	}
	if (mkdir(STEER_PIN_ROOT, 0700) && errno != EEXIST)
		return fail(c, EXIT_RUNTIME, "failed to create %s: %s", STEER_PIN_ROOT,
			    strerror(errno));
	return 0;
}

/* One reusetop steer at a time changes pinned state (a --follow loop and a second steer). */
static int lock_pins(struct ctx *c)
{
	if (c->lockfd >= 0)
		return 0;
	c->lockfd = open(STEER_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (c->lockfd < 0)
		return fail(c, EXIT_RUNTIME, "failed to open %s: %s", STEER_PIN_ROOT,
			    strerror(errno));
	if (flock(c->lockfd, LOCK_EX)) {
		close(c->lockfd);
		c->lockfd = -1;
		return fail(c, EXIT_RUNTIME, "failed to lock %s: %s", STEER_PIN_ROOT,
			    strerror(errno));
	}
	return 0;
}

static void unlock_pins(struct ctx *c)
{
	if (c->lockfd >= 0)
		close(c->lockfd);
	c->lockfd = -1;
}

/* ---- the group probe --------------------------------------------------------------------- */

static int probe_open(struct ctx *c)
{
	struct probe *p = &c->probe;
	struct bpf_program *prog;
	int err;

	if (p->skel)
		return 0;
	if ((err = ensure_tracefs()))
		return fail(c, EXIT_RUNTIME, "failed to mount tracefs on /sys/kernel/tracing: %s",
			    strerror(-err));
	p->skel = steer_bpf__open();
	if (!p->skel)
		return fail(c, EXIT_RUNTIME, "failed to open the steering object: %s",
			    strerror(errno));
	bpf_object__for_each_program(prog, p->skel->obj)
		bpf_program__set_autoload(prog, prog == p->skel->progs.steer_probe);
	/* The probe only needs its global data: keep the big maps small in this copy. */
	bpf_map__set_max_entries(p->skel->maps.steer_table, 1);
	if ((err = steer_bpf__load(p->skel)))
		return fail(c, EXIT_RUNTIME, "failed to load the group probe: %s%s", strerror(-err),
			    verbose ? "" : " (-v shows libbpf's messages)");
	p->skel->bss->probe_tgid = (uint32_t)getpid();
	p->skel->bss->probe_fd = -1;
	p->link = bpf_program__attach(p->skel->progs.steer_probe);
	if (!p->link)
		return fail(c, EXIT_RUNTIME, "failed to attach the group probe: %s",
			    strerror(errno));
	return 0;
}

static void probe_close(struct probe *p)
{
	bpf_link__destroy(p->link);
	steer_bpf__destroy(p->skel);
	p->link = NULL;
	p->skel = NULL;
}

/* What the kernel knows about socket `fd` (ours): its group and the group's program. */
static int probe_socket(struct ctx *c, int fd, struct steer_probe_result *out)
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

/* ---- finding the group and taking its sockets -------------------------------------------- */

static void steer_addr_str(uint8_t family, const uint8_t *addr, char *buf, size_t len)
{
	if (!inet_ntop(family, addr, buf, (socklen_t)len))
		snprintf(buf, len, "?");
}

static const char *proto_name(uint8_t proto)
{
	return proto == IPPROTO_UDP ? "udp" : "tcp";
}

static void group_names(struct group *g)
{
	char a[INET6_ADDRSTRLEN];

	steer_addr_str(g->family, g->addr, a, sizeof(a));
	snprintf(g->name, sizeof(g->name),
		 g->family == AF_INET6 ? "%s [%s]:%u (netns %llu)" : "%s %s:%u (netns %llu)",
		 proto_name(g->proto), a, g->port, (unsigned long long)g->netns);
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

static void close_members(struct group *g)
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

static int cmp_member(const void *a, const void *b)
{
	const struct member *x = a, *y = b;

	if (x->pid != y->pid)
		return x->pid < y->pid ? -1 : 1;
	if (x->fd != y->fd)
		return x->fd < y->fd ? -1 : 1;
	return (x->inode > y->inode) - (x->inode < y->inode);
}

enum { FOUND = 0, NOT_FOUND = 1 };

/*
 * The group the options name, with our copy of each member socket. Returns FOUND, NOT_FOUND
 * (nothing on that port; message in c->err, status 2), or -1 on other errors.
 */
static int find_group(struct ctx *c, struct group *g)
{
	const struct steer_options *o = c->o;
	const struct rt_listener *ls, *first = NULL;
	uint64_t other_netns = 0;
	size_t n, ncand = 0;
	bool seen_holder = false;
	char a1[INET6_ADDRSTRLEN], a2[INET6_ADDRSTRLEN];
	int err;

	memset(g, 0, sizeof(*g));
	if ((err = discovery_scan(c->disc, &ls, &n)))
		return fail(c, EXIT_RUNTIME, "failed to list sockets: %s", strerror(-err));
	for (size_t i = 0; i < n; i++) {
		const struct rt_listener *l = &ls[i];

		if (l->proto != o->proto || l->port != o->port)
			continue;
		if (o->family && !same_addr(l, o->family, o->addr))
			continue;
		if (o->netns && l->netns != o->netns)
			continue;
		if (!first) {
			first = l;
		} else if (l->netns != first->netns) {
			other_netns = l->netns;
		} else if (!same_addr(l, first->family, first->addr)) {
			steer_addr_str(first->family, first->addr, a1, sizeof(a1));
			steer_addr_str(l->family, l->addr, a2, sizeof(a2));
			return fail(c, EXIT_USAGE,
				    "%s port %u has sockets on several addresses (%s, %s, ...): "
				    "choose one with --addr",
				    proto_name(o->proto), o->port, a1, a2);
		}
		ncand++;
	}
	if (!first) {
		unsigned int blind = discovery_netns_failed(c->disc);
		char note[160] = "";

		if (blind)
			snprintf(
				note, sizeof(note),
				" (%u network namespaces could not be entered: seeing every server "
				"needs CAP_SYS_ADMIN and CAP_SYS_PTRACE)",
				blind);
		fail(c, EXIT_USAGE, "no SO_REUSEPORT group on %s port %u%s%s", proto_name(o->proto),
		     o->port,
		     o->family || o->netns ? " with that address and network namespace" : "", note);
		return NOT_FOUND;
	}
	if (other_netns)
		return fail(c, EXIT_USAGE,
			    "%s port %u is in use in several network namespaces (%llu, %llu, ...): "
			    "choose one with --netns",
			    proto_name(o->proto), o->port, (unsigned long long)first->netns,
			    (unsigned long long)other_netns);
	g->netns = first->netns;
	g->proto = first->proto;
	g->family = first->family;
	g->port = first->port;
	memcpy(g->addr, first->addr, 16);
	group_names(g);

	for (size_t i = 0; i < n; i++) {
		const struct rt_listener *l = &ls[i];
		struct member *m;
		socklen_t len = sizeof(int);
		int one = 0, took = -ESRCH;

		if (l->proto != g->proto || l->port != g->port || l->netns != g->netns ||
		    !same_addr(l, g->family, g->addr))
			continue;
		if (g->n >= STEER_MAX_MEMBERS) {
			close_members(g);
			return fail(c, EXIT_USAGE, "%s has more than %d sockets: too many to steer",
				    g->name, STEER_MAX_MEMBERS);
		}
		m = &g->m[g->n];
		memset(m, 0, sizeof(*m));
		m->inode = l->inode;
		m->dupfd = -1;
		m->slot = -1;
		m->weight = 1;
		for (size_t h = 0; h < l->nholders && took; h++) {
			const struct rt_holder *hd = &l->holders[h];

			took = take_fd(hd->pid, hd->fd, l->inode, &m->dupfd);
			if (took == -EPERM || took == -EACCES) {
				close_members(g);
				return fail(
					c, EXIT_USAGE,
					"cannot take socket %llu (fd %d) from pid %d (%s): %s: "
					"steering needs ptrace access to the server "
					"(CAP_SYS_PTRACE, or the same user where Yama allows it)",
					(unsigned long long)l->inode, hd->fd, hd->pid, hd->comm,
					strerror(-took));
			}
			if (!took) {
				m->pid = hd->pid;
				m->fd = hd->fd;
				memcpy(m->comm, hd->comm, sizeof(m->comm));
			}
		}
		seen_holder |= l->nholders > 0;
		for (size_t h = 0; h < l->nholders && m->nholders < MAX_HOLDERS; h++)
			m->holders[m->nholders++] = l->holders[h].pid;
		/* No process (that we can see) holds it any more: it is closing. */
		if (took)
			continue;
		if (getsockopt(m->dupfd, SOL_SOCKET, SO_REUSEPORT, &one, &len) || !one) {
			uint64_t ino = m->inode;

			close(m->dupfd);
			close_members(g);
			return fail(
				c, EXIT_USAGE,
				"%s is not a SO_REUSEPORT group: socket %llu has no SO_REUSEPORT",
				g->name, (unsigned long long)ino);
		}
		if (g->proto == IPPROTO_UDP) {
			struct sockaddr_storage peer;
			socklen_t plen = sizeof(peer);

			/* A connected UDP socket is not one the group hands datagrams to. */
			if (!getpeername(m->dupfd, (struct sockaddr *)&peer, &plen)) {
				close(m->dupfd);
				continue;
			}
		}
		len = sizeof(m->cookie);
		if (getsockopt(m->dupfd, SOL_SOCKET, SO_COOKIE, &m->cookie, &len)) {
			err = errno;
			close(m->dupfd);
			close_members(g);
			return fail(c, EXIT_RUNTIME, "failed to read the cookie of socket %llu: %s",
				    (unsigned long long)l->inode, strerror(err));
		}
		g->n++;
	}
	if (!g->n && !seen_holder) {
		/* Reading other processes' fds (/proc/PID/fd) needs ptrace access to them. */
		return fail(c, EXIT_USAGE,
			    "%s: no process holding its %zu sockets can be seen (reading other "
			    "processes' file descriptors needs CAP_SYS_PTRACE)",
			    g->name, ncand);
	}
	if (!g->n) {
		fail(c, EXIT_USAGE, "no SO_REUSEPORT group on %s: its sockets are closing",
		     g->name);
		return NOT_FOUND;
	}
	qsort(g->m, g->n, sizeof(g->m[0]), cmp_member);

	if (probe_open(c)) {
		close_members(g);
		return -1;
	}
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];
		socklen_t len = sizeof(int);
		int one = 0;

		if ((err = probe_socket(c, m->dupfd, &m->probe))) {
			close_members(g);
			return fail(c, EXIT_RUNTIME, "failed to probe socket %llu: %s",
				    (unsigned long long)m->inode, strerror(-err));
		}
		if (!m->probe.in_group ||
		    (g->proto == IPPROTO_TCP &&
		     (getsockopt(m->dupfd, SOL_SOCKET, SO_ACCEPTCONN, &one, &len) || !one))) {
			/* Its owner shut it down since the scan: it is leaving the group. */
			close(m->dupfd);
			memmove(m, m + 1, (g->n - i - 1) * sizeof(*m));
			g->n--;
			i--;
			continue;
		}
		if (m->probe.group != g->m[0].probe.group) {
			close_members(g);
			return fail(c, EXIT_USAGE,
				    "the sockets on %s form several reuseport groups (different "
				    "users or devices): reusetop cannot steer them as one",
				    g->name);
		}
	}
	if (!g->n) {
		fail(c, EXIT_USAGE, "no SO_REUSEPORT group on %s: its sockets are closing",
		     g->name);
		return NOT_FOUND;
	}
	g->num_socks = g->m[0].probe.num_socks;
	g->has_prog = g->m[0].probe.has_prog;
	g->prog_id = g->m[0].probe.prog_id;
	g->prog_type = g->m[0].probe.prog_type;
	g->attach_type = g->m[0].probe.attach_type;
	memcpy(g->prog_name, g->m[0].probe.prog_name, sizeof(g->prog_name));
	g->prog_name[sizeof(g->prog_name) - 1] = '\0';
	return FOUND;
}

/* Does MEMBER `r` name member `m`? */
static bool ref_matches(const struct steer_ref *r, const struct member *m)
{
	if (r->inode)
		return m->inode == r->id;
	for (size_t h = 0; h < m->nholders; h++)
		if ((uint64_t)m->holders[h] == r->id)
			return true;
	return false;
}

static int check_refs(struct ctx *c, const struct group *g, const struct steer_ref *refs, size_t n,
		      const char *opt)
{
	char buf[32];

	for (size_t i = 0; i < n; i++) {
		bool found = false;

		for (size_t k = 0; k < g->n && !found; k++)
			found = ref_matches(&refs[i], &g->m[k]);
		if (!found)
			return fail(c, EXIT_USAGE,
				    refs[i].inode ? "%s %s: socket %llu is not a member of %s"
						  : "%s %s: pid %llu holds no socket of %s",
				    opt, steer_ref_str(&refs[i], buf, sizeof(buf)),
				    (unsigned long long)refs[i].id, g->name);
	}
	return 0;
}

/* ---- pinned maps --------------------------------------------------------------------------- */

enum {
	M_MEMBERS,
	M_STEER_MEMBERS,
	M_STATS,
	M_FALLBACK,
	M_CONF,
	M_CUR,
	M_RR,
	M_TABLE,
	M_LOAD,
	M_SLOT_OF,
	M_INFO,
	M_GROUP,
	M_COUNT,
	M_ABI_COUNT = M_FALLBACK + 1, /* the custom policy ABI: the first four */
};

static const char *const map_names[M_COUNT] = {
	"members",  "steer_members", "steer_stats", "steer_fallback", "steer_conf", "steer_cur",
	"steer_rr", "steer_table",   "steer_load",  "steer_slot_of",  "steer_info", "steer_group",
};

static const char *const link_names[] = {"link_ready", "link_accept4", "link_accept"};
#define NLINKS (sizeof(link_names) / sizeof(link_names[0]))

struct pinned {
	bool exists;
	int fd[M_COUNT];
	struct steer_group_info info;
	struct steer_member_info minfo[STEER_MAX_MEMBERS];
	bool has_links;
};

static struct bpf_map *skel_map(struct steer_bpf *s, int i)
{
	struct bpf_map *maps[M_COUNT] = {
		s->maps.members,	s->maps.steer_members, s->maps.steer_stats,
		s->maps.steer_fallback, s->maps.steer_conf,    s->maps.steer_cur,
		s->maps.steer_rr,	s->maps.steer_table,   s->maps.steer_load,
		s->maps.steer_slot_of,	s->maps.steer_info,    s->maps.steer_group,
	};

	return maps[i];
}

static void pinned_close(struct pinned *p)
{
	for (int i = 0; i < M_COUNT; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
	p->exists = false;
}

static int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

/* Open the pinned maps of dir: 0 (p->exists says whether there were any), or -errno. */
static int pinned_open(const char *dir, struct pinned *p)
{
	char path[256];
	uint32_t zero = 0;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < M_COUNT; i++)
		p->fd[i] = -1;
	if (access(dir, F_OK))
		return 0;
	for (int i = 0; i < M_COUNT; i++) {
		if (pin_path(path, sizeof(path), dir, map_names[i]))
			return -ENAMETOOLONG;
		p->fd[i] = bpf_obj_get(path);
		if (p->fd[i] < 0) {
			int err = -errno;

			p->fd[i] = -1;
			pinned_close(p);
			return err;
		}
	}
	if (bpf_map_lookup_elem(p->fd[M_GROUP], &zero, &p->info) ||
	    p->info.magic != STEER_GROUP_MAGIC) {
		pinned_close(p);
		return -EPROTO;
	}
	for (uint32_t s = 0; s < STEER_MAX_MEMBERS; s++)
		if (bpf_map_lookup_elem(p->fd[M_INFO], &s, &p->minfo[s]))
			memset(&p->minfo[s], 0, sizeof(p->minfo[s]));
	p->exists = true;
	if (!pin_path(path, sizeof(path), dir, link_names[0]))
		p->has_links = !access(path, F_OK);
	return 0;
}

static void unpin_links(const char *dir)
{
	char path[256];

	for (size_t i = 0; i < NLINKS; i++)
		if (!pin_path(path, sizeof(path), dir, link_names[i]))
			unlink(path);
}

/* Remove a group's pins: links first (their programs detach), then the rest. */
static void unpin_all(const char *dir)
{
	char path[256];

	unpin_links(dir);
	if (!pin_path(path, sizeof(path), dir, "prog"))
		unlink(path);
	for (int i = 0; i < M_COUNT; i++)
		if (!pin_path(path, sizeof(path), dir, map_names[i]))
			unlink(path);
	rmdir(dir);
}

/* Empty every slot of the sockarray, so the sockets can join another one later. */
static void clear_sockarray(int fd)
{
	for (uint32_t s = 0; s < STEER_MAX_MEMBERS; s++)
		bpf_map_delete_elem(fd, &s);
}

static uint32_t prog_id_of(int fd)
{
	struct bpf_prog_info info = {};
	__u32 len = sizeof(info);

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return 0;
	return info.id;
}

/* ---- loading ------------------------------------------------------------------------------ */

struct loaded {
	struct steer_bpf *skel; /* maps (pinned ones reused), and the programs asked for */
	struct bpf_object *custom; /* --object */
	struct bpf_program *custom_prog;
	bool migrate; /* the program to attach is a select_or_migrate one */
	int fd[M_COUNT]; /* the maps, from skel */
	struct bpf_program *trackers[NLINKS]; /* least-loaded's, in link_names order */
};

/* Least-loaded's load trackers, the plain-load variants where the kernel has them (cheaper). */
static void tracker_programs(struct steer_bpf *skel, struct bpf_program *out[NLINKS])
{
	bool direct = kernel_features()->rdonly_cast;

	out[0] = direct ? skel->progs.steer_ready_direct : skel->progs.steer_ready;
	out[1] = direct ? skel->progs.steer_accept4_direct : skel->progs.steer_accept4;
	out[2] = direct ? skel->progs.steer_accept_direct : skel->progs.steer_accept;
}

static void loaded_free(struct loaded *l)
{
	bpf_object__close(l->custom);
	steer_bpf__destroy(l->skel);
	l->custom = NULL;
	l->skel = NULL;
}

static int open_builtin(struct ctx *c, struct loaded *l, const struct pinned *p, bool select,
			bool trackers, enum bpf_attach_type attach)
{
	struct bpf_program *prog;
	int err;

	l->skel = steer_bpf__open();
	if (!l->skel)
		return fail(c, EXIT_RUNTIME, "failed to open the steering object: %s",
			    strerror(errno));
	tracker_programs(l->skel, l->trackers);
	bpf_object__for_each_program(prog, l->skel->obj)
	{
		bool tracker =
			prog == l->trackers[0] || prog == l->trackers[1] || prog == l->trackers[2];

		bpf_program__set_autoload(prog, (prog == l->skel->progs.steer_select && select) ||
							(tracker && trackers));
	}
	bpf_program__set_expected_attach_type(l->skel->progs.steer_select, attach);
	if (p->exists) {
		for (int i = 0; i < M_COUNT; i++) {
			if ((err = bpf_map__reuse_fd(skel_map(l->skel, i), p->fd[i])))
				return fail(c, EXIT_RUNTIME, "failed to reuse pinned map %s: %s",
					    map_names[i], strerror(-err));
		}
	}
	return 0;
}

/* The steering object with the programs asked for, its maps the pinned ones when they exist. */
static int load_builtin(struct ctx *c, struct loaded *l, const struct pinned *p, bool select,
			bool trackers)
{
	int err;

	if (trackers && (err = ensure_tracefs()))
		return fail(c, EXIT_RUNTIME, "failed to mount tracefs on /sys/kernel/tracing: %s",
			    strerror(-err));
	if (open_builtin(c, l, p, select, trackers, BPF_SK_REUSEPORT_SELECT_OR_MIGRATE))
		return -1;
	l->migrate = true;
	err = steer_bpf__load(l->skel);
	if (err && select) {
		/* Before 5.14 there is no migrate attach type: plain selection still works. */
		steer_bpf__destroy(l->skel);
		l->skel = NULL;
		if (open_builtin(c, l, p, select, trackers, BPF_SK_REUSEPORT_SELECT))
			return -1;
		l->migrate = false;
		err = steer_bpf__load(l->skel);
		if (!err)
			warn("this kernel has no select_or_migrate attach type: queued connections "
			     "of a closing member are not migrated");
	}
	if (err)
		return fail(c, EXIT_RUNTIME, "failed to load the steering program: %s%s",
			    strerror(-err), verbose ? "" : " (-v shows the verifier's messages)");
	for (int i = 0; i < M_COUNT; i++)
		l->fd[i] = bpf_map__fd(skel_map(l->skel, i));
	return 0;
}

/* --object: the user's program, with the ABI maps replaced by the group's. */
static int load_custom(struct ctx *c, struct loaded *l, const char *path, const char *progname)
{
	struct bpf_program *prog, *found = NULL;
	int err, count = 0;

	l->custom = bpf_object__open_file(path, NULL);
	if (!l->custom) {
		char why[128];

		/* libbpf's own codes (not an ELF, no BTF...) are beyond strerror's range. */
		err = errno;
		libbpf_strerror(err, why, sizeof(why));
		return fail(c, EXIT_USAGE, "failed to open %s: %s", path, why);
	}
	bpf_object__for_each_program(prog, l->custom)
	{
		bool want = bpf_program__type(prog) == BPF_PROG_TYPE_SK_REUSEPORT &&
			    (!progname || !strcmp(bpf_program__name(prog), progname));

		if (want) {
			found = prog;
			count++;
		}
	}
	if (!count)
		return fail(c, EXIT_USAGE,
			    progname ? "%s has no sk_reuseport program named %s"
				     : "%s has no sk_reuseport program%s",
			    path, progname ? progname : "");
	if (count > 1)
		return fail(c, EXIT_USAGE,
			    "%s has %d sk_reuseport programs: choose one with --program", path,
			    count);
	bpf_object__for_each_program(prog, l->custom)
		bpf_program__set_autoload(prog, prog == found);
	for (int i = 0; i < M_ABI_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(l->custom, map_names[i]);
		struct bpf_map *ours = skel_map(l->skel, i);

		if (!m) {
			if (i == M_MEMBERS)
				return fail(c, EXIT_USAGE,
					    "%s has no 'members' map: a policy needs the "
					    "REUSEPORT_SOCKARRAY reusetop fills (STEER_ABI_MAPS in "
					    "steer.h)",
					    path);
			continue;
		}
		if (bpf_map__type(m) != bpf_map__type(ours) ||
		    bpf_map__key_size(m) != bpf_map__key_size(ours) ||
		    bpf_map__value_size(m) != bpf_map__value_size(ours) ||
		    bpf_map__max_entries(m) != bpf_map__max_entries(ours))
			return fail(c, EXIT_USAGE,
				    "%s: map '%s' does not match reusetop's (declare it with "
				    "STEER_ABI_MAPS from steer.h)",
				    path, map_names[i]);
		if ((err = bpf_map__reuse_fd(m, l->fd[i])))
			return fail(c, EXIT_RUNTIME, "failed to give %s the group's map %s: %s",
				    path, map_names[i], strerror(-err));
	}
	if ((err = bpf_object__load(l->custom)))
		return fail(c, EXIT_RUNTIME, "failed to load %s: %s%s", path, strerror(-err),
			    verbose ? "" : " (-v shows the verifier's messages)");
	l->custom_prog = found;
	l->migrate = bpf_program__expected_attach_type(found) == BPF_SK_REUSEPORT_SELECT_OR_MIGRATE;
	return 0;
}

/* ---- members in the maps ------------------------------------------------------------------ */

/*
 * A socket can be in one REUSEPORT_SOCKARRAY only. With --force, take ours out of the others
 * (another tool's, whose program we are replacing): their lookups return socket cookies.
 */
static int evict_from_other_sockarrays(uint64_t cookie, int our_fd)
{
	uint32_t id = 0, our_id = 0;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int evicted = 0;

	if (!bpf_obj_get_info_by_fd(our_fd, &info, &len))
		our_id = info.id;
	while (!bpf_map_get_next_id(id, &id)) {
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_MAP_TYPE_REUSEPORT_SOCKARRAY && info.id != our_id &&
		    info.value_size == sizeof(uint64_t)) {
			for (uint32_t k = 0; k < info.max_entries; k++) {
				uint64_t v;

				if (!bpf_map_lookup_elem(fd, &k, &v) && v == cookie &&
				    !bpf_map_delete_elem(fd, &k))
					evicted++;
			}
		}
		close(fd);
	}
	return evicted;
}

static int zero_percpu(int fd, uint32_t key, size_t value_size)
{
	int ncpus = libbpf_num_possible_cpus();
	void *zeros;
	int err;

	if (ncpus <= 0)
		return -EINVAL;
	zeros = calloc((size_t)ncpus, (value_size + 7) & ~(size_t)7);
	if (!zeros)
		return -ENOMEM;
	err = bpf_map_update_elem(fd, &key, zeros, BPF_ANY) ? -errno : 0;
	free(zeros);
	return err;
}

/*
 * A new member's load starts at 0, whatever the slot's last member left. Written in place through
 * a mapping of steer_load: rewriting the whole value would put back the loads of the other
 * members as they were when read, undoing what the trackers wrote meanwhile.
 */
static int zero_load(int fd, uint32_t slot)
{
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	struct steer_loads *loads;

	/* The map's one value is at the start of its mapping, which is a page or more. */
	_Static_assert(sizeof(struct steer_loads) <= 4096, "steer_loads: one page");
	if (slot >= STEER_MAX_MEMBERS)
		return -EINVAL;
	loads = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	if (loads == MAP_FAILED)
		return -errno;
	__atomic_store_n(&loads->load[slot], 0, __ATOMIC_RELAXED);
	munmap(loads, len);
	return 0;
}

/*
 * Start CPU c's rotation (steer_rr) at position c: were they all at 0, every CPU would favour the
 * first members until its own count reached a multiple of the members.
 */
static int start_rotations(int fd)
{
	int ncpus = libbpf_num_possible_cpus();
	uint32_t zero = 0;
	uint8_t *vals;
	int err;

	if (ncpus <= 0)
		return -EINVAL;
	/* Per-CPU values are 8 bytes apart in the buffer, whatever their size. */
	vals = calloc((size_t)ncpus, 8);
	if (!vals)
		return -ENOMEM;
	for (uint32_t cpu = 0; cpu < (uint32_t)ncpus; cpu++)
		memcpy(vals + (size_t)cpu * 8, &cpu, sizeof(cpu));
	err = bpf_map_update_elem(fd, &zero, vals, BPF_ANY) ? -errno : 0;
	free(vals);
	return err;
}

static int sum_percpu(int fd, uint32_t key, uint64_t *sums, size_t nfields)
{
	int ncpus = libbpf_num_possible_cpus();
	size_t stride = (nfields * sizeof(uint64_t) + 7) & ~(size_t)7;
	uint8_t *vals;

	memset(sums, 0, nfields * sizeof(uint64_t));
	if (ncpus <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpus, stride);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		free(vals);
		return -errno;
	}
	for (int cpu = 0; cpu < ncpus; cpu++) {
		const uint64_t *v = (const uint64_t *)(vals + (size_t)cpu * stride);

		for (size_t f = 0; f < nfields; f++)
			sums[f] += v[f];
	}
	free(vals);
	return 0;
}

/* ---- apply ---------------------------------------------------------------------------------- */

/*
 * Give every current member a slot: the one the pinned maps have for its inode, else the lowest
 * free one. Pinned members no longer present are returned in gone[] (their slots).
 */
static void assign_slots(struct group *g, const struct pinned *p, uint32_t *gone, size_t *ngone)
{
	bool taken[STEER_MAX_MEMBERS] = {};

	*ngone = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];

		m->slot = -1;
		m->added = true;
		for (uint32_t s = 0; p->exists && s < STEER_MAX_MEMBERS; s++) {
			if ((p->minfo[s].flags & STEER_MEMBER_USED) &&
			    p->minfo[s].inode == m->inode) {
				m->slot = (int)s;
				m->added = false;
				m->weight = p->minfo[s].weight;
				m->drained = p->minfo[s].flags & STEER_MEMBER_DRAINED;
				taken[s] = true;
				break;
			}
		}
	}
	/* Slots of members that left are emptied before new members move in (apply()). */
	for (uint32_t s = 0; p->exists && s < STEER_MAX_MEMBERS; s++)
		if ((p->minfo[s].flags & STEER_MEMBER_USED) && !taken[s])
			gone[(*ngone)++] = s;
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];

		for (uint32_t s = 0; m->slot < 0 && s < STEER_MAX_MEMBERS; s++)
			if (!taken[s]) {
				m->slot = (int)s;
				taken[s] = true;
			}
	}
}

static int cmp_slot(const void *a, const void *b)
{
	const struct member *x = *(const struct member *const *)a;
	const struct member *y = *(const struct member *const *)b;

	return (x->slot > y->slot) - (x->slot < y->slot);
}

/* Members in slot order: the order policies use (cpu: CPU i -> i-th eligible member). */
static size_t members_by_slot(struct group *g, struct member **out)
{
	for (size_t i = 0; i < g->n; i++)
		out[i] = &g->m[i];
	qsort(out, g->n, sizeof(out[0]), cmp_slot);
	return g->n;
}

/* The configuration (and table) of a built-in policy over the group's eligible members. */
static int build_config(struct ctx *c, struct group *g, uint32_t policy, struct steer_config *cfg,
			uint32_t *table)
{
	struct member *by_slot[STEER_MAX_MEMBERS];
	uint32_t slots[STEER_MAX_MEMBERS], w[STEER_MAX_MEMBERS];
	size_t n = 0;

	memset(cfg, 0, sizeof(*cfg));
	cfg->policy = policy;
	members_by_slot(g, by_slot);
	for (size_t i = 0; i < g->n; i++) {
		if (by_slot[i]->drained || by_slot[i]->slot < 0 || by_slot[i]->left)
			continue;
		if (policy == STEER_POLICY_WEIGHTED && !by_slot[i]->weight)
			continue;
		slots[n] = (uint32_t)by_slot[i]->slot;
		w[n] = by_slot[i]->weight;
		n++;
	}
	if (!n)
		return fail(c, EXIT_USAGE, "no member of %s would get connections (all drained%s)",
			    g->name, policy == STEER_POLICY_WEIGHTED ? " or weight 0" : "");
	cfg->n = (uint32_t)n;
	memcpy(cfg->slot, slots, n * sizeof(slots[0]));
	if (policy == STEER_POLICY_WEIGHTED) {
		cfg->table_len = (uint32_t)steer_swrr(slots, w, n, table, STEER_TABLE_SIZE);
		if (!cfg->table_len)
			return fail(
				c, EXIT_USAGE,
				"weights too fine: one cycle (sum of weights over their greatest "
				"common divisor) may not exceed %d",
				STEER_TABLE_SIZE);
	} else if (policy == STEER_POLICY_CONSISTENT) {
		steer_maglev(slots, n, table);
		cfg->table_len = STEER_TABLE_SIZE;
	}
	return 0;
}

static int write_table(int fd, uint32_t buf, const uint32_t *table, uint32_t len)
{
	uint32_t *keys;
	__u32 count = len;
	int err = 0;

	if (!len)
		return 0;
	keys = malloc(len * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < len; i++)
		keys[i] = buf * STEER_TABLE_SIZE + i;
	if (bpf_map_update_batch(fd, keys, table, &count, NULL))
		err = -errno;
	free(keys);
	return err;
}

/* Still a member: in the group and, for TCP, listening (a closed listener stays in its group's
 * "closed" section while its requests migrate, but can no longer be selected). */
static bool still_member(struct ctx *c, const struct group *g, const struct member *m)
{
	struct steer_probe_result r;
	socklen_t len = sizeof(int);
	int listening = 1;

	if (g->proto == IPPROTO_TCP &&
	    (getsockopt(m->dupfd, SOL_SOCKET, SO_ACCEPTCONN, &listening, &len) || !listening))
		return false;
	return !probe_socket(c, m->dupfd, &r) && r.in_group;
}

/*
 * Put member m's socket at its slot (unless it is there already). 0, 1 when the socket left the
 * group since the scan (its owner closed it: it is no longer hashed), or -1.
 */
static int insert_member(struct ctx *c, struct group *g, int fd, struct member *m)
{
	uint32_t slot = (uint32_t)m->slot;
	uint64_t cur = 0, sock = (uint64_t)m->dupfd;

	if (!bpf_map_lookup_elem(fd, &slot, &cur) && cur == m->cookie)
		return 0;
	if (!bpf_map_update_elem(fd, &slot, &sock, BPF_ANY))
		return 0;
	if (errno == EINVAL && !still_member(c, g, m))
		return 1;
	if (errno == EBUSY && c->o->force && evict_from_other_sockarrays(m->cookie, fd) > 0 &&
	    !bpf_map_update_elem(fd, &slot, &sock, BPF_ANY))
		return 0;
	if (errno == EBUSY)
		return fail(
			c, EXIT_USAGE,
			"socket %llu of %s is already in another program's REUSEPORT_SOCKARRAY%s",
			(unsigned long long)m->inode, g->name,
			c->o->force ? " that reusetop could not find" : ": --force takes it");
	return fail(c, EXIT_RUNTIME, "failed to put socket %llu in the member map: %s",
		    (unsigned long long)m->inode, strerror(errno));
}

static int attach_prog(int sockfd, int progfd)
{
	return setsockopt(sockfd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &progfd, sizeof(progfd))
		       ? -errno
		       : 0;
}

static int detach_prog(int sockfd)
{
	int dummy = 0;

	return setsockopt(sockfd, SOL_SOCKET, SO_DETACH_REUSEPORT_BPF, &dummy, sizeof(dummy))
		       ? -errno
		       : 0;
}

static void weights_str(struct group *g, char *buf, size_t len)
{
	struct member *by_slot[STEER_MAX_MEMBERS];
	size_t off = 0;

	buf[0] = '\0';
	members_by_slot(g, by_slot);
	for (size_t i = 0; i < g->n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%u", i ? "," : "", by_slot[i]->weight);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/*
 * One application: the first one (round 0) from the command line, then every --follow round,
 * which keeps the pinned policy and only adds and removes members. Returns 0, -1 (c->err says
 * why), or in a --follow round NOT_FOUND when every member closed meanwhile.
 */
static int apply(struct ctx *c, struct group *g, unsigned long round)
{
	const struct steer_options *o = c->o;
	static uint32_t table[STEER_TABLE_SIZE];
	struct loaded l = {.fd = {-1}};
	struct pinned p;
	struct steer_config cfg;
	struct steer_members set = {};
	struct steer_group_info info;
	uint32_t gone[STEER_MAX_MEMBERS], zero = 0, policy, cur = 0, next, new_id = 0;
	size_t ngone = 0;
	bool ours, created = false, attached = false, need_builtin, need_custom, want_trackers;
	bool had_prog = g->has_prog, any_left = false;
	struct member *via = NULL; /* the member the program is attached through */
	struct bpf_link *links[NLINKS] = {};
	int err, progfd = -1, ret = -1;
	char path[256];

	if ((err = pinned_open(g->pindir, &p)))
		return fail(c, EXIT_RUNTIME, "failed to open the pinned maps in %s: %s%s",
			    g->pindir, strerror(-err),
			    err == -EPROTO
				    ? " (not reusetop's, or an older reusetop's: remove the folder)"
				    : "");
	ours = p.exists && p.info.prog_id && g->prog_id == p.info.prog_id;
	if (g->has_prog && !ours && !o->force) {
		if (round)
			fail(c, EXIT_RUNTIME, "%s: another program (id %u, %s) replaced reusetop's",
			     g->name, g->prog_id, g->prog_name);
		else
			fail(c, EXIT_USAGE,
			     "%s has a steering program reusetop did not attach (id %u, %s%s): "
			     "--force replaces it",
			     g->name, g->prog_id, g->prog_name[0] ? g->prog_name : "no name",
			     g->prog_type != BPF_PROG_TYPE_SK_REUSEPORT ? ", classic BPF" : "");
		goto out;
	}
	if (round == 0 && o->policy)
		policy = o->policy;
	else if (p.exists && p.info.policy)
		policy = p.info.policy;
	else {
		fail(c, EXIT_USAGE, "no reusetop policy is attached to %s: give --policy", g->name);
		goto out;
	}
	if (policy == STEER_POLICY_LEAST_LOADED && g->proto == IPPROTO_UDP) {
		fail(c, EXIT_USAGE, "least-loaded needs tcp: UDP sockets have no accept queue");
		goto out;
	}
	if (round == 0 && o->nweights && policy != STEER_POLICY_WEIGHTED) {
		fail(c, EXIT_USAGE, "--weight: the policy of %s is %s, not weighted", g->name,
		     steer_policy_name(policy));
		goto out;
	}
	if (round == 0) {
		struct steer_ref all[3 * STEER_MAX_REFS];
		size_t n = 0;

		for (size_t i = 0; i < o->nweights; i++)
			all[n++] = o->weights[i].member;
		if (check_refs(c, g, all, n, "--weight") ||
		    check_refs(c, g, o->drains, o->ndrains, "--drain") ||
		    check_refs(c, g, o->undrains, o->nundrains, "--undrain"))
			goto out;
	}

	/* Slots, weights and drains: pinned ones kept, the command line's applied. */
	assign_slots(g, &p, gone, &ngone);
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];
		bool fresh = round == 0 && o->policy; /* a new policy: a new configuration */

		if (fresh || m->added) {
			m->weight = 1;
			m->drained = false;
		}
		if (!(fresh || m->added || round == 0))
			continue;
		for (size_t k = 0; k < o->nweights; k++)
			if (ref_matches(&o->weights[k].member, m))
				m->weight = o->weights[k].weight;
		for (size_t k = 0; k < o->ndrains; k++)
			if (ref_matches(&o->drains[k], m))
				m->drained = true;
		for (size_t k = 0; k < o->nundrains; k++)
			if (ref_matches(&o->undrains[k], m))
				m->drained = false;
	}
	if (policy != STEER_POLICY_CUSTOM) {
		if (build_config(c, g, policy, &cfg, table))
			goto out;
	} else {
		cfg.n = 0;
		for (size_t i = 0; i < g->n; i++)
			if (!g->m[i].drained)
				cfg.n++;
		if (!cfg.n) {
			fail(c, EXIT_USAGE, "no member of %s would get connections (all drained)",
			     g->name);
			goto out;
		}
	}

	/* Load what is needed before changing anything. */
	need_builtin =
		policy != STEER_POLICY_CUSTOM && !(ours && p.info.policy != STEER_POLICY_CUSTOM);
	need_custom = policy == STEER_POLICY_CUSTOM && (!ours || (round == 0 && o->object));
	want_trackers = policy == STEER_POLICY_LEAST_LOADED;
	if (load_builtin(c, &l, &p, need_builtin, want_trackers && !(ours && p.has_links)))
		goto out;
	if (need_custom) {
		const char *obj = round == 0 && o->object ? o->object : p.info.object;
		const char *name = round == 0 && o->object ? o->program : p.info.prog_name;

		if (load_custom(c, &l, obj, name))
			goto out;
	}

	/* From here on the group's state changes: on failure, undo what this call created. */
	if (!p.exists) {
		if (mkdir(g->pindir, 0700) && errno != EEXIST) {
			fail(c, EXIT_RUNTIME, "failed to create %s: %s", g->pindir,
			     strerror(errno));
			goto out;
		}
		created = true;
		for (int i = 0; i < M_COUNT; i++) {
			if (pin_path(path, sizeof(path), g->pindir, map_names[i]) ||
			    bpf_obj_pin(l.fd[i], path)) {
				fail(c, EXIT_RUNTIME, "failed to pin %s: %s", path,
				     strerror(errno));
				goto undo;
			}
		}
		if ((err = start_rotations(l.fd[M_RR]))) {
			fail(c, EXIT_RUNTIME, "failed to start the rotation: %s", strerror(-err));
			goto undo;
		}
	}
	for (size_t i = 0; i < ngone; i++) {
		uint32_t s = gone[i];
		struct steer_member_info empty = {};

		bpf_map_delete_elem(l.fd[M_MEMBERS], &s);
		bpf_map_delete_elem(l.fd[M_SLOT_OF], &p.minfo[s].inode);
		bpf_map_update_elem(l.fd[M_INFO], &s, &empty, BPF_ANY);
		if (round)
			printf("%s: member gone: socket %llu (pid %u fd %d, slot %u)\n", g->name,
			       (unsigned long long)p.minfo[s].inode, p.minfo[s].pid, p.minfo[s].fd,
			       s);
	}
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];
		uint32_t s = (uint32_t)m->slot;
		struct steer_member_info mi = {
			.inode = m->inode,
			.cookie = m->cookie,
			.pid = (uint32_t)m->pid,
			.fd = m->fd,
			.weight = m->weight,
			.flags = STEER_MEMBER_USED | (m->drained ? STEER_MEMBER_DRAINED : 0),
		};

		memcpy(mi.comm, m->comm, sizeof(mi.comm));
		if (m->added) {
			zero_percpu(l.fd[M_STATS], s, sizeof(struct steer_counters));
			zero_load(l.fd[M_LOAD], s);
		}
		if ((err = insert_member(c, g, l.fd[M_MEMBERS], m)) < 0)
			goto undo;
		if (err > 0) {
			struct steer_member_info empty = {};

			m->left = true;
			any_left = true;
			bpf_map_delete_elem(l.fd[M_MEMBERS], &s);
			bpf_map_delete_elem(l.fd[M_SLOT_OF], &m->inode);
			bpf_map_update_elem(l.fd[M_INFO], &s, &empty, BPF_ANY);
			continue;
		}
		if (bpf_map_update_elem(l.fd[M_SLOT_OF], &m->inode, &s, BPF_ANY) ||
		    bpf_map_update_elem(l.fd[M_INFO], &s, &mi, BPF_ANY)) {
			fail(c, EXIT_RUNTIME, "failed to record member %llu: %s",
			     (unsigned long long)m->inode, strerror(errno));
			goto undo;
		}
		if (round && m->added)
			printf("%s: member added: socket %llu (pid %d fd %d, slot %u)\n", g->name,
			       (unsigned long long)m->inode, m->pid, m->fd, s);
	}

	/* Members that closed meanwhile are left out (the next round forgets them for good). */
	for (size_t i = 0; i < g->n && !via; i++)
		if (!g->m[i].left)
			via = &g->m[i];
	if (!via) {
		/* Following, the server is stopping or restarting: the next round will tell. */
		if (round) {
			ret = NOT_FOUND;
			goto undo;
		}
		fail(c, EXIT_RUNTIME, "%s: every member closed while reusetop set it up", g->name);
		goto undo;
	}
	if (any_left && policy != STEER_POLICY_CUSTOM && build_config(c, g, policy, &cfg, table))
		goto undo;

	/* The eligible set for custom policies, then the built-in configuration, flipped in. */
	{
		struct member *by_slot[STEER_MAX_MEMBERS];

		members_by_slot(g, by_slot);
		for (size_t i = 0; i < g->n; i++)
			if (!by_slot[i]->drained && !by_slot[i]->left)
				set.slot[set.n++] = (uint32_t)by_slot[i]->slot;
	}
	if (bpf_map_update_elem(l.fd[M_STEER_MEMBERS], &zero, &set, BPF_ANY)) {
		fail(c, EXIT_RUNTIME, "failed to write the member set: %s", strerror(errno));
		goto undo;
	}
	if (policy != STEER_POLICY_CUSTOM) {
		bpf_map_lookup_elem(l.fd[M_CUR], &zero, &cur);
		next = (cur & 1) ^ 1;
		if ((err = write_table(l.fd[M_TABLE], next, table, cfg.table_len)) ||
		    bpf_map_update_elem(l.fd[M_CONF], &next, &cfg, BPF_ANY)) {
			fail(c, EXIT_RUNTIME, "failed to write the configuration: %s",
			     strerror(err ? -err : errno));
			goto undo;
		}
		if (policy == STEER_POLICY_LEAST_LOADED && (!ours || p.info.policy != policy)) {
			/* A fresh start: the trackers resync each member at its next event. */
			struct steer_loads none = {};

			bpf_map_update_elem(l.fd[M_LOAD], &zero, &none, BPF_ANY);
		}
		/* Programs that read the old buffer finish within microseconds (RCU). */
		if (bpf_map_update_elem(l.fd[M_CUR], &zero, &next, BPF_ANY)) {
			fail(c, EXIT_RUNTIME, "failed to switch the configuration: %s",
			     strerror(errno));
			goto undo;
		}
	}

	/* Least-loaded's trackers: pinned links, so they outlive us like the program. */
	if (want_trackers && !(ours && p.has_links)) {
		struct bpf_program *const *tp = l.trackers;

		unpin_links(g->pindir);
		for (size_t i = 0; i < NLINKS; i++) {
			links[i] = bpf_program__attach(tp[i]);
			if (!links[i] || pin_path(path, sizeof(path), g->pindir, link_names[i]) ||
			    bpf_link__pin(links[i], path)) {
				fail(c, EXIT_RUNTIME, "failed to attach the load tracker %s: %s",
				     bpf_program__name(tp[i]), strerror(errno));
				unpin_links(g->pindir);
				goto undo;
			}
		}
	} else if (!want_trackers && p.has_links) {
		unpin_links(g->pindir);
	}

	/* The program: attached through any member, it replaces the group's atomically. */
	if (need_builtin)
		progfd = bpf_program__fd(l.skel->progs.steer_select);
	else if (need_custom)
		progfd = bpf_program__fd(l.custom_prog);
	if (progfd >= 0) {
		if ((err = attach_prog(via->dupfd, progfd))) {
			fail(c, EXIT_RUNTIME, "failed to attach the program to %s: %s", g->name,
			     strerror(-err));
			goto undo;
		}
		attached = true;
		new_id = prog_id_of(progfd);
		if (pin_path(path, sizeof(path), g->pindir, "prog") ||
		    (unlink(path) && errno != ENOENT) || bpf_obj_pin(progfd, path)) {
			fail(c, EXIT_RUNTIME, "failed to pin the program: %s", strerror(errno));
			goto undo;
		}
	} else {
		new_id = p.info.prog_id;
	}

	/* What the pins describe, for --show, later calls and the live view. */
	memset(&info, 0, sizeof(info));
	info.magic = STEER_GROUP_MAGIC;
	info.policy = policy;
	info.netns = g->netns;
	info.port = g->port;
	info.proto = g->proto;
	info.family = g->family;
	memcpy(info.addr, g->addr, 16);
	info.prog_id = new_id;
	if (progfd >= 0) {
		info.migrate = l.migrate;
		snprintf(info.prog_name, sizeof(info.prog_name), "%s",
			 need_custom ? bpf_program__name(l.custom_prog) : "steer_select");
		if (need_custom) {
			const char *obj = round == 0 && o->object ? o->object : p.info.object;
			char *abs = realpath(obj, NULL);

			snprintf(info.object, sizeof(info.object), "%s", abs ? abs : obj);
			free(abs);
		}
	} else {
		info.migrate = p.info.migrate;
		memcpy(info.prog_name, p.info.prog_name, sizeof(info.prog_name));
		memcpy(info.object, p.info.object, sizeof(info.object));
	}
	if (bpf_map_update_elem(l.fd[M_GROUP], &zero, &info, BPF_ANY)) {
		fail(c, EXIT_RUNTIME, "failed to record the group: %s", strerror(errno));
		goto undo;
	}
	/* The kernel agrees? (Another tool may have attached in between.) */
	if (attached) {
		struct steer_probe_result r;

		if ((err = probe_socket(c, via->dupfd, &r)) || r.prog_id != new_id) {
			fail(c, EXIT_RUNTIME, "%s: the program did not stay attached (%s)", g->name,
			     err ? strerror(-err) : "another one replaced it");
			goto out;
		}
		g->prog_id = new_id;
	}
	if (round == 0) {
		char w[STEER_MAX_MEMBERS * 7] = "";

		if (policy == STEER_POLICY_WEIGHTED)
			weights_str(g, w, sizeof(w));
		printf("%s: %s %s over %u of %zu members%s%s%s, program id %u%s; pinned in %s\n",
		       g->name, attached ? "steering with" : "updated:",
		       policy == STEER_POLICY_CUSTOM ? info.prog_name : steer_policy_name(policy),
		       cfg.n, g->n, w[0] ? " (weights " : "", w, w[0] ? ")" : "", new_id,
		       attached && had_prog && !ours ? " (replaced a foreign program)" : "",
		       g->pindir);
	} else if (attached) {
		printf("%s: re-attached %s, program id %u\n", g->name, steer_policy_name(policy),
		       new_id);
	}
	fflush(stdout);
	ret = 0;
	goto out;

undo:
	if (attached && !had_prog)
		detach_prog(via->dupfd);
	if (created) {
		clear_sockarray(l.fd[M_MEMBERS]);
		unpin_all(g->pindir);
	}
out:
	for (size_t i = 0; i < NLINKS; i++) {
		/* Pinned: destroying our handle must not detach the link. */
		if (links[i] && ret == 0)
			bpf_link__disconnect(links[i]);
		bpf_link__destroy(links[i]);
	}
	loaded_free(&l);
	pinned_close(&p);
	return ret;
}

/* ---- show ---------------------------------------------------------------------------------- */

static const char *attach_type_name(uint32_t t)
{
	if (t == BPF_SK_REUSEPORT_SELECT_OR_MIGRATE)
		return "select_or_migrate";
	if (t == BPF_SK_REUSEPORT_SELECT)
		return "select";
	return NULL;
}

static const char *prog_type_name(uint32_t t)
{
	if (t == BPF_PROG_TYPE_SK_REUSEPORT)
		return "sk_reuseport";
	if (t == BPF_PROG_TYPE_SOCKET_FILTER)
		return "socket_filter";
	return "other";
}

struct member_view {
	bool pinned;
	uint32_t slot;
	struct steer_member_info info;
	uint64_t counters[3]; /* selected, migrated, failed */
};

static int show(struct ctx *c, struct group *g)
{
	const struct steer_options *o = c->o;
	struct member_view views[STEER_MAX_MEMBERS] = {};
	struct pinned p;
	uint64_t fallbacks = 0;
	bool ours, classic;
	char addr[INET6_ADDRSTRLEN];
	int err;

	if ((err = pinned_open(g->pindir, &p)))
		return fail(c, EXIT_RUNTIME, "failed to open the pinned maps in %s: %s", g->pindir,
			    strerror(-err));
	ours = p.exists && g->prog_id && p.info.prog_id == g->prog_id;
	classic = g->has_prog && g->prog_type != BPF_PROG_TYPE_SK_REUSEPORT;
	for (size_t i = 0; i < g->n; i++) {
		struct member_view *v = &views[i];

		for (uint32_t s = 0; p.exists && s < STEER_MAX_MEMBERS; s++) {
			if ((p.minfo[s].flags & STEER_MEMBER_USED) &&
			    p.minfo[s].inode == g->m[i].inode) {
				v->pinned = true;
				v->slot = s;
				v->info = p.minfo[s];
				sum_percpu(p.fd[M_STATS], s, v->counters, 3);
				break;
			}
		}
	}
	if (p.exists) {
		uint32_t zero = 0;

		sum_percpu(p.fd[M_FALLBACK], zero, &fallbacks, 1);
	}
	steer_addr_str(g->family, g->addr, addr, sizeof(addr));
	if (o->json) {
		struct json_writer w;

		json_init(&w, stdout);
		json_object_begin(&w, NULL);
		json_string(&w, "proto", proto_name(g->proto));
		json_string(&w, "family", g->family == AF_INET6 ? "inet6" : "inet");
		json_string(&w, "addr", addr);
		json_uint(&w, "port", g->port);
		json_uint(&w, "netns", g->netns);
		json_uint(&w, "group_sockets", g->num_socks);
		if (g->has_prog) {
			json_object_begin(&w, "program");
			json_uint(&w, "id", g->prog_id);
			json_string(&w, "name", g->prog_name);
			json_string(&w, "type",
				    classic ? "classic_bpf" : prog_type_name(g->prog_type));
			if (attach_type_name(g->attach_type) && !classic)
				json_string(&w, "attach_type", attach_type_name(g->attach_type));
			else
				json_null(&w, "attach_type");
			json_string(&w, "owner", ours ? "reusetop" : "foreign");
			json_object_end(&w);
		} else {
			json_null(&w, "program");
		}
		if (ours) {
			json_string(&w, "policy", steer_policy_name(p.info.policy));
			if (p.info.object[0])
				json_string(&w, "object", p.info.object);
			json_string(&w, "pinned", g->pindir);
			json_uint(&w, "fallbacks", fallbacks);
		} else {
			json_null(&w, "policy");
			json_null(&w, "pinned");
			json_null(&w, "fallbacks");
		}
		json_array_begin(&w, "members");
		for (size_t i = 0; i < g->n; i++) {
			const struct member *m = &g->m[i];
			const struct member_view *v = &views[i];
			bool known = ours && v->pinned;

			json_object_begin(&w, NULL);
			if (known)
				json_uint(&w, "slot", v->slot);
			else
				json_null(&w, "slot");
			json_uint(&w, "inode", m->inode);
			json_int(&w, "pid", m->pid);
			json_int(&w, "fd", m->fd);
			json_string(&w, "comm", m->comm);
			if (known) {
				json_uint(&w, "weight", v->info.weight);
				json_bool(&w, "drained", v->info.flags & STEER_MEMBER_DRAINED);
				json_uint(&w, "selected", v->counters[0]);
				json_uint(&w, "migrated", v->counters[1]);
				json_uint(&w, "failed", v->counters[2]);
			} else {
				json_null(&w, "weight");
				json_null(&w, "drained");
				json_null(&w, "selected");
				json_null(&w, "migrated");
				json_null(&w, "failed");
			}
			json_object_end(&w);
		}
		json_array_end(&w);
		json_object_end(&w);
		fputc('\n', stdout);
	} else {
		printf("%s: %zu sockets in the group (the kernel counts %u)\n", g->name, g->n,
		       g->num_socks);
		if (!g->has_prog)
			printf("  program: none (the kernel's hash)\n");
		else if (ours)
			printf("  program: reusetop %s%s%s (id %u, %s, %s), pinned in %s\n",
			       steer_policy_name(p.info.policy), p.info.object[0] ? " " : "",
			       p.info.object, g->prog_id, g->prog_name,
			       attach_type_name(g->attach_type) ? attach_type_name(g->attach_type)
								: "?",
			       g->pindir);
		else if (classic)
			printf("  program: classic BPF (SO_ATTACH_REUSEPORT_CBPF), not "
			       "reusetop's\n");
		else
			printf("  program: id %u, %s (%s), not attached by reusetop\n", g->prog_id,
			       g->prog_name[0] ? g->prog_name : "no name",
			       prog_type_name(g->prog_type));
		if (ours)
			printf("  fallbacks to the kernel's hash: %llu\n",
			       (unsigned long long)fallbacks);
		printf("  %4s %-12s %-8s %5s %-16s %6s %-8s %10s %9s %7s\n", "SLOT", "INODE", "PID",
		       "FD", "COMM", "WEIGHT", "STATE", "SELECTED", "MIGRATED", "FAILED");
		for (size_t i = 0; i < g->n; i++) {
			const struct member *m = &g->m[i];
			const struct member_view *v = &views[i];

			if (ours && v->pinned)
				printf("  %4u %-12llu %-8d %5d %-16s %6u %-8s %10llu %9llu %7llu\n",
				       v->slot, (unsigned long long)m->inode, m->pid, m->fd,
				       m->comm, v->info.weight,
				       v->info.flags & STEER_MEMBER_DRAINED ? "drained" : "active",
				       (unsigned long long)v->counters[0],
				       (unsigned long long)v->counters[1],
				       (unsigned long long)v->counters[2]);
			else
				printf("  %4s %-12llu %-8d %5d %-16s %6s %-8s %10s %9s %7s\n", "-",
				       (unsigned long long)m->inode, m->pid, m->fd, m->comm, "-",
				       ours ? "new" : "-", "-", "-", "-");
		}
	}
	fflush(stdout);
	pinned_close(&p);
	if (ferror(stdout))
		return fail(c, EXIT_RUNTIME, "failed to write output: %s", strerror(errno));
	return 0;
}

/* ---- detach -------------------------------------------------------------------------------- */

static int detach(struct ctx *c, struct group *g)
{
	struct pinned p;
	bool ours;
	int err;

	if ((err = pinned_open(g->pindir, &p)))
		return fail(c, EXIT_RUNTIME, "failed to open the pinned maps in %s: %s", g->pindir,
			    strerror(-err));
	ours = p.exists && g->prog_id && p.info.prog_id == g->prog_id;
	if (!g->has_prog) {
		if (p.exists) {
			clear_sockarray(p.fd[M_MEMBERS]);
			unpin_all(g->pindir);
			printf("%s: no program attached; removed reusetop's stale pins in %s\n",
			       g->name, g->pindir);
		} else {
			printf("%s: no program attached\n", g->name);
		}
		pinned_close(&p);
		return 0;
	}
	if (!ours && !c->o->force) {
		pinned_close(&p);
		return fail(
			c, EXIT_USAGE,
			"%s has a program reusetop did not attach (id %u, %s): --force detaches it",
			g->name, g->prog_id, g->prog_name[0] ? g->prog_name : "no name");
	}
	if ((err = detach_prog(g->m[0].dupfd))) {
		pinned_close(&p);
		return fail(c, EXIT_RUNTIME, "failed to detach the program from %s: %s", g->name,
			    strerror(-err));
	}
	if (p.exists) {
		clear_sockarray(p.fd[M_MEMBERS]);
		unpin_all(g->pindir);
	}
	printf("%s: detached %s program id %u; the kernel's hash decides again\n", g->name,
	       ours ? steer_policy_name(p.info.policy) : "foreign", g->prog_id);
	pinned_close(&p);
	return 0;
}

/* --detach of a port whose group is gone: remove reusetop's pins for it, if any. */
static int detach_stale(struct ctx *c)
{
	const struct steer_options *o = c->o;
	char prefix[16], suffix[16], path[512];
	struct dirent *de;
	int removed = 0;
	DIR *d;

	d = opendir(STEER_PIN_ROOT);
	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), "%s-", proto_name(o->proto));
	snprintf(suffix, sizeof(suffix), "-%u", o->port);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(suffix);
		struct pinned p;

		if (strncmp(de->d_name, prefix, strlen(prefix)) || len <= sl ||
		    strcmp(de->d_name + len - sl, suffix))
			continue;
		snprintf(path, sizeof(path), "%s/%s", STEER_PIN_ROOT, de->d_name);
		if (pinned_open(path, &p) || !p.exists)
			continue;
		if ((!o->netns || p.info.netns == o->netns) &&
		    (!o->family ||
		     (p.info.family == o->family &&
		      !memcmp(p.info.addr, o->addr, o->family == AF_INET ? 4 : 16)))) {
			clear_sockarray(p.fd[M_MEMBERS]);
			unpin_all(path);
			printf("removed reusetop's pins of a group that is gone: %s\n", path);
			removed++;
		}
		pinned_close(&p);
	}
	closedir(d);
	(void)c;
	return removed;
}

/* ---- main ---------------------------------------------------------------------------------- */

static void sleep_interruptible(double s)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	ts.tv_sec += (time_t)s;
	ts.tv_nsec += (long)((s - (double)(time_t)s) * 1e9);
	if (ts.tv_nsec >= 1000000000L) {
		ts.tv_sec++;
		ts.tv_nsec -= 1000000000L;
	}
	while (!stop_requested &&
	       clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

/* --follow: every interval, the group's members again (and the program, should it be gone). */
static int follow(struct ctx *c)
{
	struct group *g = malloc(sizeof(*g));
	bool missing = false;
	int r;

	if (!g)
		return fail(c, EXIT_RUNTIME, "out of memory");
	for (unsigned long round = 1; !stop_requested; round++) {
		sleep_interruptible(c->o->interval_s);
		if (stop_requested)
			break;
		if (lock_pins(c))
			break;
		r = find_group(c, g);
		if (r == NOT_FOUND) {
			/* The server may be restarting: wait for the group to come back. */
			if (!missing)
				printf("%s port %u: the group is gone; waiting for it\n",
				       proto_name(c->o->proto), c->o->port);
			fflush(stdout);
			missing = true;
			c->status = 0;
			unlock_pins(c);
			continue;
		}
		missing = false;
		if (r == FOUND) {
			r = apply(c, g, round);
			close_members(g);
		}
		unlock_pins(c);
		if (r && r != NOT_FOUND)
			break;
	}
	free(g);
	return stop_requested ? 0 : -1;
}

int steer_main(int argc, char **argv)
{
	struct steer_options o;
	struct ctx c = {.o = &o, .lockfd = -1};
	struct group *g = NULL;
	int r;

	if (steer_parse(argc, argv, &o, c.err, sizeof(c.err))) {
		fprintf(stderr, "reusetop: %s (see reusetop steer --help)\n", c.err);
		return EXIT_USAGE;
	}
	if (o.help) {
		fputs(steer_usage, stdout);
		return EXIT_OK;
	}
	verbose = o.verbose;
	libbpf_set_print(libbpf_print);
	if (check_privileges(&c) || ensure_pin_root(&c))
		goto done;
	if (o.object && access(o.object, R_OK)) {
		fail(&c, EXIT_USAGE, "cannot read %s: %s", o.object, strerror(errno));
		goto done;
	}
	install_stop_signals(on_signal);
	if ((r = discovery_new(&c.disc, (1u << IPPROTO_TCP) | (1u << IPPROTO_UDP)))) {
		fail(&c, EXIT_RUNTIME, "failed to start discovery: %s", strerror(-r));
		goto done;
	}
	g = malloc(sizeof(*g));
	if (!g) {
		fail(&c, EXIT_RUNTIME, "out of memory");
		goto done;
	}
	if (o.action != STEER_ACT_SHOW && lock_pins(&c))
		goto done;
	r = find_group(&c, g);
	if (r == NOT_FOUND && o.action == STEER_ACT_DETACH && detach_stale(&c) > 0) {
		c.status = EXIT_OK;
		goto done;
	}
	if (r != FOUND)
		goto done;
	if (o.action == STEER_ACT_SHOW)
		r = show(&c, g);
	else if (o.action == STEER_ACT_DETACH)
		r = detach(&c, g);
	else
		r = apply(&c, g, 0);
	close_members(g);
	unlock_pins(&c);
	if (!r && o.action == STEER_ACT_APPLY && o.follow) {
		printf("following %s: Ctrl-C stops (the program stays attached)\n", g->name);
		fflush(stdout);
		follow(&c);
	}
done:
	if (g)
		close_members(g);
	free(g);
	unlock_pins(&c);
	probe_close(&c.probe);
	discovery_free(c.disc);
	if (c.status)
		fprintf(stderr, "reusetop: %s\n", c.err);
	return c.status;
}

/* ---- for the live view ------------------------------------------------------------------- */

static int read_group_dir(const char *dir, struct steer_group_stats *gs)
{
	static const char *const names[] = {"steer_group", "steer_info", "steer_stats",
					    "steer_fallback"};
	struct steer_group_info info;
	char path[512];
	int fds[4], err = 0;
	uint32_t zero = 0;

	for (int i = 0; i < 4; i++)
		fds[i] = -1;
	for (int i = 0; i < 4 && !err; i++) {
		if (pin_path(path, sizeof(path), dir, names[i]))
			err = -ENAMETOOLONG;
		else if ((fds[i] = bpf_obj_get(path)) < 0)
			err = -errno;
	}
	if (!err && (bpf_map_lookup_elem(fds[0], &zero, &info) || info.magic != STEER_GROUP_MAGIC))
		err = -EPROTO;
	if (!err) {
		memset(gs, 0, sizeof(*gs));
		gs->netns = info.netns;
		gs->proto = info.proto;
		gs->family = info.family;
		gs->port = info.port;
		memcpy(gs->addr, info.addr, 16);
		snprintf(gs->policy, sizeof(gs->policy), "%s", steer_policy_name(info.policy));
		gs->prog_id = info.prog_id;
		memcpy(gs->prog_name, info.prog_name, sizeof(gs->prog_name));
		gs->prog_name[sizeof(gs->prog_name) - 1] = '\0';
		sum_percpu(fds[3], zero, &gs->fallbacks, 1);
		for (uint32_t s = 0; s < STEER_MAX_MEMBERS; s++) {
			struct steer_member_info mi;
			struct steer_member_stats *ms = &gs->members[gs->nmembers];
			uint64_t cnt[3];

			if (bpf_map_lookup_elem(fds[1], &s, &mi) || !(mi.flags & STEER_MEMBER_USED))
				continue;
			sum_percpu(fds[2], s, cnt, 3);
			ms->inode = mi.inode;
			ms->slot = s;
			ms->pid = (int32_t)mi.pid;
			ms->fd = mi.fd;
			ms->weight = mi.weight;
			ms->drained = mi.flags & STEER_MEMBER_DRAINED;
			memcpy(ms->comm, mi.comm, sizeof(ms->comm));
			ms->comm[sizeof(ms->comm) - 1] = '\0';
			ms->selected = cnt[0];
			ms->migrated = cnt[1];
			ms->failed = cnt[2];
			gs->nmembers++;
		}
	}
	for (int i = 0; i < 4; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err;
}

int steer_read_groups(struct steer_group_stats **out, size_t *n)
{
	struct steer_group_stats *all = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(STEER_PIN_ROOT);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char dir[512];

		if (de->d_name[0] == '.')
			continue;
		if (count == cap) {
			size_t ncap = cap ? cap * 2 : 4;
			struct steer_group_stats *na = realloc(all, ncap * sizeof(*all));

			if (!na) {
				free(all);
				closedir(d);
				return -ENOMEM;
			}
			all = na;
			cap = ncap;
		}
		snprintf(dir, sizeof(dir), "%s/%s", STEER_PIN_ROOT, de->d_name);
		/* A group being set up or removed right now is skipped, not an error. */
		if (!read_group_dir(dir, &all[count]))
			count++;
	}
	closedir(d);
	if (!count) {
		free(all);
		all = NULL;
	}
	*out = all;
	*n = count;
	return 0;
}
