// SPDX-License-Identifier: GPL-2.0
/*
 * discovery_refresh() against real sockets. Between full scans it must dump again only the
 * wanted sockets (named active, or with a non-empty queue) through the port filter the kernel
 * runs, give their values exactly as the kernel has them, and leave every other record as the
 * last full scan saw it. A filter the kernel rejects, or one that matches nothing, only makes it
 * fall back to a full scan with the same output: so every case counts full scans
 * (discovery_full_scans()) as well as checking the values.
 *
 * The truth is asked of each socket itself, not of sock_diag: TCP_INFO of a listener gives its
 * accept queue and backlog (tcpi_unacked, tcpi_sacked), SO_MEMINFO its drops and the memory of
 * a UDP socket. The test also knows how many connections it made to each listener (never
 * accepted, fewer than the backlog: none dropped).
 *
 * Run as root in a fresh network namespace: ip netns exec NS refresh_check (as
 * tests/integration.sh does); it makes its own PID namespace and /proc (see isolate()). One line
 * per case, "PASS name" or "FAIL name: why"; exits 1 when a case failed, 2 when it could not
 * start.
 */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <net/if.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <linux/sock_diag.h>

#include "observe/discovery.h"

#define ARRAY_SIZE(a) (sizeof(a) / sizeof((a)[0]))

/* Below the ephemeral range: the clients' own ports never take one of the test's. */
#define BASE_PORT 20000
/* More than any case connects to one listener, so no connection is dropped. */
#define BACKLOG	     16
#define MAX_SOCKS    32
#define MAX_CLIENTS  64
#define MAX_HOLDERS  4
#define DATAGRAM_LEN 100
#define NS_PER_S     1000000000ull
/* Loopback hands packets to softirq: how long queues may take to show what was sent. */
#define SETTLE_NS NS_PER_S
/*
 * discovery_refresh() dumps everything 5 s after a full scan (FULL_SCAN_MAX_AGE_NS): a case
 * that took this long could not tell the two paths apart.
 */
#define BUDGET_NS (4 * NS_PER_S)

/* A socket this test made, and what it sent to it. */
struct sock_spec {
	int family;
	int proto; /* IPPROTO_TCP: a listener; IPPROTO_UDP: bound, unconnected */
	uint16_t port;
	int fd; /* -1 once closed */
	uint64_t inode;
	unsigned int queued; /* TCP: connections made (none accepted); UDP: datagrams sent to it */
};

/* A record of the last full scan, with its own copy of the holders (the output is reused). */
struct snap {
	struct rt_listener l;
	struct rt_holder h[MAX_HOLDERS];
};

/* What the kernel has for a socket now. */
struct truth {
	uint8_t state;
	uint32_t queue, backlog;
	int64_t drops;
};

static struct rt_discovery *disc;
static struct sock_spec socks[MAX_SOCKS];
static size_t nsocks;
static int clients[MAX_CLIENTS];
static size_t nclients;
static uint64_t own_netns;
static char own_comm[RT_COMM_LEN];

/* The full scan a case starts from. */
static struct snap base[MAX_SOCKS];
static size_t nbase;
static unsigned long base_full;
static uint64_t base_ns;

/* Why the current case failed: the first failed assertion says it. */
static char why[512];

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * NS_PER_S + (uint64_t)ts.tv_nsec;
}

/* ---- assertions: each returns whether it held, and the first one that did not says why ---- */

__attribute__((format(printf, 1, 2))) static bool fail(const char *fmt, ...)
{
	va_list ap;

	if (why[0])
		return false;
	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	return false;
}

static bool check_ok(int err, const char *what)
{
	return !err || fail("%s: %s", what, strerror(-err));
}

static bool check_eq(unsigned long long got, unsigned long long want, const char *what)
{
	return got == want || fail("%s: got %llu, want %llu", what, got, want);
}

/* ---- the test's sockets ---- */

static const char *sock_name(const struct sock_spec *s)
{
	static char buf[4][32];
	static unsigned int i;
	char *b = buf[i++ % ARRAY_SIZE(buf)];

	snprintf(b, sizeof(buf[0]), "%s%c port %u", s->proto == IPPROTO_TCP ? "tcp" : "udp",
		 s->family == AF_INET6 ? '6' : '4', s->port);
	return b;
}

static const char *describe(const struct rt_listener *l)
{
	static char buf[4][192];
	static unsigned int i;
	char *b = buf[i++ % ARRAY_SIZE(buf)];

	snprintf(b, sizeof(buf[0]),
		 "{inode %llu port %u state %u queue %u backlog %u drops %lld uid %u if %u "
		 "holders %zu, first pid %d fd %d}",
		 (unsigned long long)l->inode, l->port, l->state, l->queue, l->backlog,
		 (long long)l->drops, l->uid, l->bound_ifindex, l->nholders,
		 l->nholders ? l->holders[0].pid : -1, l->nholders ? l->holders[0].fd : -1);
	return b;
}

static socklen_t loopback(int family, uint16_t port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (family == AF_INET6) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;

		a->sin6_family = AF_INET6;
		a->sin6_port = htons(port);
		a->sin6_addr = in6addr_loopback;
		return sizeof(*a);
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;

	a->sin_family = AF_INET;
	a->sin_port = htons(port);
	a->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return sizeof(*a);
}

/* A listener (TCP) or a bound socket (UDP) on the loopback address, port BASE_PORT + off. */
static struct sock_spec *open_sock(int family, int proto, uint16_t off)
{
	struct sockaddr_storage ss;
	socklen_t len = loopback(family, BASE_PORT + off, &ss);
	struct stat st;
	int fd;

	if (nsocks == MAX_SOCKS) {
		fail("more than %d sockets: a bug in this test", MAX_SOCKS);
		return NULL;
	}
	fd = socket(family, (proto == IPPROTO_TCP ? SOCK_STREAM : SOCK_DGRAM) | SOCK_CLOEXEC, 0);
	if (fd < 0 || bind(fd, (struct sockaddr *)&ss, len) ||
	    (proto == IPPROTO_TCP && listen(fd, BACKLOG)) || fstat(fd, &st)) {
		fail("failed to open %s%c port %u: %s", proto == IPPROTO_TCP ? "tcp" : "udp",
		     family == AF_INET6 ? '6' : '4', BASE_PORT + off, strerror(errno));
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	socks[nsocks] = (struct sock_spec){.family = family,
					   .proto = proto,
					   .port = (uint16_t)(BASE_PORT + off),
					   .fd = fd,
					   .inode = (uint64_t)st.st_ino};
	return &socks[nsocks++];
}

/* An open socket of the test; asking for one that is not is a bug in the test itself. */
static struct sock_spec *sock_at(int family, int proto, uint16_t off)
{
	for (size_t i = 0; i < nsocks; i++)
		if (socks[i].family == family && socks[i].proto == proto &&
		    socks[i].port == BASE_PORT + off && socks[i].fd >= 0)
			return &socks[i];
	fprintf(stderr, "refresh_check: no open socket on port %u: a bug in this test\n",
		BASE_PORT + off);
	exit(2);
}

#define TCP4(off) sock_at(AF_INET, IPPROTO_TCP, off)
#define TCP6(off) sock_at(AF_INET6, IPPROTO_TCP, off)
#define UDP4(off) sock_at(AF_INET, IPPROTO_UDP, off)

static struct sock_spec *sock_of(uint64_t inode)
{
	for (size_t i = 0; i < nsocks; i++)
		if (socks[i].inode == inode && socks[i].fd >= 0)
			return &socks[i];
	return NULL;
}

static void close_sock(struct sock_spec *s)
{
	close(s->fd);
	s->fd = -1;
}

/* n non-blocking connects to s, never accepted: its accept queue grows by n. */
static bool connect_clients(struct sock_spec *s, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++) {
		struct sockaddr_storage ss;
		socklen_t len = loopback(s->family, s->port, &ss);
		int fd;

		if (nclients == MAX_CLIENTS)
			return fail("more than %d clients: a bug in this test", MAX_CLIENTS);
		fd = socket(s->family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return fail("failed to create a client: %s", strerror(errno));
		clients[nclients++] = fd;
		if (connect(fd, (struct sockaddr *)&ss, len) && errno != EINPROGRESS)
			return fail("failed to connect to %s: %s", sock_name(s), strerror(errno));
		s->queued++;
	}
	return true;
}

/* One datagram, the only one the test sends to `to`, so FIONREAD tells when it arrived. */
static bool send_datagram(struct sock_spec *from, struct sock_spec *to)
{
	char payload[DATAGRAM_LEN] = "reusetop";
	struct sockaddr_storage ss;
	socklen_t len = loopback(to->family, to->port, &ss);

	if (to->queued)
		return fail("a second datagram to %s: a bug in this test", sock_name(to));
	if (sendto(from->fd, payload, sizeof(payload), 0, (struct sockaddr *)&ss, len) !=
	    (ssize_t)sizeof(payload))
		return fail("failed to send to %s: %s", sock_name(to), strerror(errno));
	to->queued++;
	return true;
}

/* ---- the kernel's truth ---- */

static bool truth_of(const struct sock_spec *s, struct truth *t)
{
	uint32_t mem[SK_MEMINFO_VARS];
	socklen_t len = sizeof(mem);
	struct tcp_info ti;

	if (getsockopt(s->fd, SOL_SOCKET, SO_MEMINFO, mem, &len) ||
	    len < (SK_MEMINFO_DROPS + 1) * sizeof(mem[0]))
		return fail("failed to read SO_MEMINFO of %s: %s", sock_name(s), strerror(errno));
	t->drops = mem[SK_MEMINFO_DROPS];
	if (s->proto == IPPROTO_UDP) {
		/* udp_diag: receive and send memory, as sk_rmem_alloc_get()/sk_wmem_alloc_get() */
		t->state = TCP_CLOSE;
		t->queue = mem[SK_MEMINFO_RMEM_ALLOC];
		t->backlog = mem[SK_MEMINFO_WMEM_ALLOC];
		return true;
	}
	len = sizeof(ti);
	if (getsockopt(s->fd, IPPROTO_TCP, TCP_INFO, &ti, &len))
		return fail("failed to read TCP_INFO of %s: %s", sock_name(s), strerror(errno));
	/* A listener's TCP_INFO reuses these for its accept queue and its backlog. */
	t->state = ti.tcpi_state;
	t->queue = ti.tcpi_unacked;
	t->backlog = ti.tcpi_sacked;
	return true;
}

/* Whether the kernel queued everything the test sent: then nothing changes until it sends. */
static bool settled(void)
{
	for (size_t i = 0; i < nsocks; i++) {
		const struct sock_spec *s = &socks[i];
		struct truth t;
		int bytes;

		if (s->fd < 0)
			continue;
		if (s->proto == IPPROTO_TCP) {
			if (!truth_of(s, &t) || t.queue != s->queued)
				return false;
		} else if (ioctl(s->fd, FIONREAD, &bytes) || (bytes > 0) != (s->queued > 0)) {
			return false;
		}
	}
	return true;
}

static bool wait_settled(void)
{
	uint64_t end = now_ns() + SETTLE_NS;

	while (!settled()) {
		if (why[0])
			return false;
		if (now_ns() > end)
			return fail("the kernel did not queue what was sent within 1 s");
		usleep(1000);
	}
	return true;
}

/* The kernel holds what the test sent: then what matches the kernel matches the test too. */
static bool check_queued(const struct sock_spec *s, const struct truth *t)
{
	if (s->proto == IPPROTO_TCP)
		return t->queue == s->queued || fail("%s: kernel queue %u, but %u connections made",
						     sock_name(s), t->queue, s->queued);
	return (t->queue > 0) == (s->queued > 0) ||
	       fail("%s: kernel receive memory %u after %u datagrams", sock_name(s), t->queue,
		    s->queued);
}

/* Into want: the kernel's own values of s now, once they agree with what the test sent. */
static bool kernel_values(const struct sock_spec *s, struct rt_listener *want)
{
	struct truth t;

	if (!truth_of(s, &t) || !check_queued(s, &t))
		return false;
	want->state = t.state;
	want->queue = t.queue;
	want->backlog = t.backlog;
	want->drops = t.drops;
	return true;
}

/* ---- comparing records ---- */

/* Every field but where the holders are stored. */
static bool same_record(const struct rt_listener *got, const struct rt_listener *want,
			const char *what)
{
	bool same = got->inode == want->inode && got->netns == want->netns &&
		    got->family == want->family && got->proto == want->proto &&
		    got->port == want->port && !memcmp(got->addr, want->addr, sizeof(got->addr)) &&
		    got->state == want->state && got->queue == want->queue &&
		    got->backlog == want->backlog && got->drops == want->drops &&
		    got->uid == want->uid && got->bound_ifindex == want->bound_ifindex &&
		    got->nholders == want->nholders;

	for (size_t i = 0; same && i < got->nholders; i++)
		same = got->holders[i].pid == want->holders[i].pid &&
		       got->holders[i].fd == want->holders[i].fd &&
		       !strcmp(got->holders[i].comm, want->holders[i].comm);
	return same || fail("%s: got %s, want %s", what, describe(got), describe(want));
}

static const struct rt_listener *find_record(const struct rt_listener *ls, size_t n, uint64_t inode)
{
	for (size_t k = 0; k < n; k++)
		if (ls[k].inode == inode)
			return &ls[k];
	return NULL;
}

static int u64_cmp(const void *pa, const void *pb)
{
	uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;

	return (a > b) - (a < b);
}

static bool is_active(uint64_t inode, const uint64_t *active, size_t nactive)
{
	return nactive && bsearch(&inode, active, nactive, sizeof(*active), u64_cmp);
}

/* What discovery_refresh() dumps again: the active sockets and those with a queue. */
static bool is_wanted(const struct rt_listener *b, const uint64_t *active, size_t nactive)
{
	return b->inode && (b->queue || is_active(b->inode, active, nactive));
}

/*
 * The port ranges the wanted sockets of one protocol and family make (consecutive ports are
 * one range): what a case needs is checked before it runs, so that it tests what it says.
 */
static bool check_ranges(int proto, int family, const uint64_t *active, size_t nactive, size_t want)
{
	static bool used[65536];
	size_t n = 0;

	memset(used, 0, sizeof(used));
	for (size_t k = 0; k < nbase; k++)
		if (base[k].l.proto == proto && base[k].l.family == family &&
		    is_wanted(&base[k].l, active, nactive))
			used[base[k].l.port] = true;
	for (size_t p = 0; p < ARRAY_SIZE(used); p++)
		if (used[p] && (!p || !used[p - 1]))
			n++;
	return n == want ||
	       fail("the case needs %zu %s%c port ranges, the sockets make %zu", want,
		    proto == IPPROTO_TCP ? "tcp" : "udp", family == AF_INET6 ? '6' : '4', n);
}

/* ---- scans ---- */

/* A full scan for a case to start from: its records, its count of full scans, its time. */
static bool baseline(void)
{
	const struct rt_listener *ls;
	size_t n;

	if (!check_ok(discovery_scan(disc, &ls, &n), "discovery_scan"))
		return false;
	base_full = discovery_full_scans(disc);
	base_ns = now_ns();
	if (n > MAX_SOCKS)
		return fail("%zu sockets listed, the test made %zu: not a fresh network namespace?",
			    n, nsocks);
	for (size_t k = 0; k < n; k++) {
		if (ls[k].nholders > MAX_HOLDERS)
			return fail("%s: more holders than this test makes", describe(&ls[k]));
		base[k].l = ls[k];
		if (ls[k].nholders)
			memcpy(base[k].h, ls[k].holders, ls[k].nholders * sizeof(*ls[k].holders));
		base[k].l.holders = base[k].h;
	}
	nbase = n;
	return true;
}

static bool refresh(const uint64_t *active, size_t nactive, const struct rt_listener **ls,
		    size_t *n)
{
	uint64_t age = now_ns() - base_ns;

	if (age >= BUDGET_NS)
		return fail("%.1f s since the full scan: the next refresh is a full one anyway",
			    (double)age / NS_PER_S);
	return check_ok(discovery_refresh(disc, active, nactive, ls, n), "discovery_refresh");
}

/*
 * After a refresh that must have taken the partial path: no full scan, the same records in the
 * same order; the wanted ones as the kernel has them now, every other one exactly as the full
 * scan before had it, even where the kernel has more queued by now.
 */
static bool check_partial(const struct rt_listener *ls, size_t n, const uint64_t *active,
			  size_t nactive)
{
	if (!check_eq(discovery_full_scans(disc), base_full,
		      "full scans (partial path not taken)") ||
	    !check_eq(n, nbase, "sockets listed"))
		return false;
	for (size_t k = 0; k < n; k++) {
		const struct rt_listener *b = &base[k].l;
		struct sock_spec *s = sock_of(b->inode);
		struct rt_listener want = *b;

		if (!s)
			return fail("%s listed, but the test has no such socket open", describe(b));
		if (is_wanted(b, active, nactive) && !kernel_values(s, &want))
			return false;
		if (!same_record(&ls[k], &want, sock_name(s)))
			return false;
	}
	return true;
}

/*
 * After a full scan: exactly the sockets the test has open, each where the test put it, with
 * the kernel's values, held by this process alone.
 */
static bool check_full(const struct rt_listener *ls, size_t n, unsigned long full_scans)
{
	size_t nopen = 0;

	if (!check_eq(discovery_full_scans(disc), full_scans, "full scans"))
		return false;
	for (size_t i = 0; i < nsocks; i++) {
		const struct sock_spec *s = &socks[i];
		const struct rt_listener *got;
		struct rt_holder holder = {getpid(), s->fd, "", false};
		struct rt_listener want = {
			.inode = s->inode,
			.netns = own_netns,
			.family = (uint8_t)s->family,
			.proto = (uint8_t)s->proto,
			.port = s->port,
			.uid = getuid(),
			.nholders = 1,
			.holders = &holder,
		};
		struct sockaddr_storage ss;

		if (s->fd < 0)
			continue;
		nopen++;
		memcpy(holder.comm, own_comm, sizeof(holder.comm));
		loopback(s->family, s->port, &ss);
		if (s->family == AF_INET6)
			memcpy(want.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		else
			memcpy(want.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		if (!(got = find_record(ls, n, s->inode)))
			return fail("%s (inode %llu) not listed", sock_name(s),
				    (unsigned long long)s->inode);
		if (!kernel_values(s, &want))
			return false;
		if (!same_record(got, &want, sock_name(s)))
			return false;
	}
	/* Every open socket was found once: anything more is a socket the test does not have. */
	return n == nopen || fail("%zu sockets listed, the test has %zu open: not a fresh network "
				  "namespace?",
				  n, nopen);
}

static bool check_absent(const struct rt_listener *ls, size_t n, uint64_t inode, const char *what)
{
	const struct rt_listener *l = find_record(ls, n, inode);

	return !l || fail("%s still listed after it was closed: %s", what, describe(l));
}

/* ---- cases ---- */

static bool case_full_scan(void)
{
	const struct rt_listener *ls;
	size_t n;

	return check_eq(discovery_full_scans(disc), 0, "full scans before any") &&
	       check_ok(discovery_scan(disc, &ls, &n), "discovery_scan") && check_full(ls, n, 1);
}

static bool case_idle(void)
{
	const struct rt_listener *ls;
	size_t n;

	return baseline() && refresh(NULL, 0, &ls, &n) && check_partial(ls, n, NULL, 0);
}

static bool case_partial_exact(void)
{
	uint64_t active[] = {TCP4(0)->inode,  TCP4(1)->inode,  TCP4(2)->inode, TCP4(20)->inode,
			     TCP6(10)->inode, TCP6(30)->inode, UDP4(40)->inode};
	const struct rt_listener *ls;
	size_t n;

	qsort(active, ARRAY_SIZE(active), sizeof(active[0]), u64_cmp);
	if (!baseline() || !check_ranges(IPPROTO_TCP, AF_INET, active, ARRAY_SIZE(active), 2) ||
	    !check_ranges(IPPROTO_TCP, AF_INET6, active, ARRAY_SIZE(active), 2))
		return false;
	/* Wanted, each with another queue length, so that values given to the wrong one show. */
	if (!connect_clients(TCP4(0), 1) || !connect_clients(TCP4(1), 2) ||
	    !connect_clients(TCP4(2), 3) || !connect_clients(TCP4(20), 4) ||
	    !connect_clients(TCP6(10), 2) || !connect_clients(TCP6(30), 5) ||
	    !send_datagram(UDP4(41), UDP4(40)))
		return false;
	/*
	 * Not wanted: the ports just past both ends of the ranges (an off-by-one bound takes them
	 * in), and a port wanted in the other family. Their queues grow, but their records must
	 * stay as the full scan saw them: that shows the kernel filtered them out.
	 */
	if (!connect_clients(TCP4(3), 2) || !connect_clients(TCP4(19), 1) ||
	    !connect_clients(TCP4(30), 3) || !connect_clients(TCP6(0), 2) || !wait_settled())
		return false;
	return refresh(active, ARRAY_SIZE(active), &ls, &n) &&
	       check_partial(ls, n, active, ARRAY_SIZE(active));
}

static bool case_eight_ranges(void)
{
	uint64_t active[] = {TCP4(10)->inode, TCP4(50)->inode, TCP4(52)->inode, TCP4(54)->inode,
			     TCP4(56)->inode};
	const struct rt_listener *ls;
	size_t n;

	qsort(active, ARRAY_SIZE(active), sizeof(active[0]), u64_cmp);
	/* With the last case's queues: 8 in this run, 12 in all three (the limit is per run). */
	if (!baseline() || !check_ranges(IPPROTO_TCP, AF_INET, active, ARRAY_SIZE(active), 8) ||
	    !check_ranges(IPPROTO_TCP, AF_INET6, active, ARRAY_SIZE(active), 3) ||
	    !check_ranges(IPPROTO_UDP, AF_INET, active, ARRAY_SIZE(active), 1))
		return false;
	/* Port 58 (IPv4) and 20 (IPv6) are not wanted: their records must not move. */
	if (!connect_clients(TCP4(10), 1) || !connect_clients(TCP4(50), 1) ||
	    !connect_clients(TCP4(54), 2) || !connect_clients(TCP4(58), 1) ||
	    !connect_clients(TCP6(20), 1) || !wait_settled())
		return false;
	return refresh(active, ARRAY_SIZE(active), &ls, &n) &&
	       check_partial(ls, n, active, ARRAY_SIZE(active));
}

static bool case_nine_ranges(void)
{
	uint64_t active[] = {TCP4(52)->inode, TCP4(56)->inode};
	const struct rt_listener *ls;
	size_t n;

	qsort(active, ARRAY_SIZE(active), sizeof(active[0]), u64_cmp);
	if (!baseline() || !check_ranges(IPPROTO_TCP, AF_INET, active, ARRAY_SIZE(active), 9))
		return false;
	/* Port 1 (IPv6) is not wanted either: only a full scan gets its queue right. */
	if (!connect_clients(TCP4(56), 1) || !connect_clients(TCP6(1), 1) || !wait_settled())
		return false;
	return refresh(active, ARRAY_SIZE(active), &ls, &n) && check_full(ls, n, base_full + 1);
}

static bool case_unknown_active(void)
{
	const struct rt_listener *ls;
	struct sock_spec *s;
	uint64_t active[1];
	size_t n;

	if (!baseline() || !(s = open_sock(AF_INET, IPPROTO_TCP, 60)) || !connect_clients(s, 1) ||
	    !wait_settled())
		return false;
	active[0] = s->inode;
	return refresh(active, 1, &ls, &n) && check_full(ls, n, base_full + 1);
}

static bool case_closed_active(void)
{
	struct sock_spec *s = TCP4(52);
	uint64_t active[1] = {s->inode};
	const struct rt_listener *ls;
	size_t n;

	if (!baseline())
		return false;
	close_sock(s);
	return refresh(active, 1, &ls, &n) && check_full(ls, n, base_full + 1) &&
	       check_absent(ls, n, active[0], sock_name(s));
}

static bool case_closed_queued(void)
{
	struct sock_spec *s = TCP4(58);
	const struct rt_listener *ls, *b;
	uint64_t inode = s->inode;
	size_t n;

	if (!baseline())
		return false;
	b = NULL;
	for (size_t k = 0; k < nbase && !b; k++)
		if (base[k].l.inode == inode)
			b = &base[k].l;
	if (!b || !b->queue)
		return fail("%s: the case needs it listed with a queue", sock_name(s));
	close_sock(s);
	return refresh(NULL, 0, &ls, &n) && check_full(ls, n, base_full + 1) &&
	       check_absent(ls, n, inode, sock_name(s));
}

/* A child process opens a listener and exits: its only holder is gone. */
static bool case_holder_exit(void)
{
	const struct rt_listener *ls, *b = NULL;
	int ready[2], hold[2], status;
	uint64_t inode = 0;
	bool ok;
	size_t n;
	pid_t pid;

	if (pipe2(ready, O_CLOEXEC))
		return fail("failed to create a pipe: %s", strerror(errno));
	if (pipe2(hold, O_CLOEXEC)) {
		close(ready[0]);
		close(ready[1]);
		return fail("failed to create a pipe: %s", strerror(errno));
	}
	pid = fork();
	if (pid == 0) {
		struct sock_spec *s = open_sock(AF_INET, IPPROTO_TCP, 70);
		char c;

		close(hold[1]);
		inode = s ? s->inode : 0;
		if (write(ready[1], &inode, sizeof(inode)) != sizeof(inode) || !s)
			_exit(1);
		/* Until the parent closes its end. */
		while (read(hold[0], &c, 1) < 0 && errno == EINTR)
			;
		_exit(0);
	}
	close(ready[1]);
	close(hold[0]);
	ok = pid > 0 || fail("failed to fork: %s", strerror(errno));
	if (ok && (read(ready[0], &inode, sizeof(inode)) != sizeof(inode) || !inode))
		ok = fail("the child could not open its listener");
	close(ready[0]);
	if (ok && baseline()) {
		for (size_t k = 0; k < nbase && !b; k++)
			if (base[k].l.inode == inode)
				b = &base[k].l;
		if (!b)
			ok = fail("the child's listener (inode %llu) not listed",
				  (unsigned long long)inode);
		else if (b->nholders != 1 || b->holders[0].pid != pid)
			ok = fail("the child's listener: want child %d as its holder: %s", pid,
				  describe(b));
	} else {
		ok = false;
	}
	close(hold[1]);
	if (pid > 0 && waitpid(pid, &status, 0) == pid &&
	    (!WIFEXITED(status) || WEXITSTATUS(status)))
		ok = ok && fail("the child failed");
	return ok && refresh(NULL, 0, &ls, &n) && check_full(ls, n, base_full + 1) &&
	       check_absent(ls, n, inode, "the child's listener");
}

static const struct {
	const char *name;
	bool (*run)(void);
} cases[] = {
	{"full scan: exactly the test's sockets, as the kernel has them, held by it",
	 case_full_scan},
	{"refresh, nothing active, queues empty: partial path, records unchanged", case_idle},
	{"refresh, IPv4/TCP 2 ranges, IPv6/TCP 2, IPv4/UDP 1: partial path, exact, rest unchanged",
	 case_partial_exact},
	{"refresh, IPv4/TCP 8 ranges (12 in all runs): partial path, exact, rest unchanged",
	 case_eight_ranges},
	{"refresh, IPv4/TCP 9 ranges: full scan, exact", case_nine_ranges},
	{"refresh, active listener opened after the full scan: full scan, listed, exact",
	 case_unknown_active},
	{"refresh, closed listener named active: full scan, gone", case_closed_active},
	{"refresh, closed listener with a queue, not active: full scan, gone", case_closed_queued},
	{"refresh, holder process exited: full scan, its listener gone", case_holder_exit},
};

/* ---- setup ---- */

/*
 * Discovery dumps every network namespace some process in /proc is in: the host's sockets would
 * be listed too, and a namespace made or deleted by anyone meanwhile would force a full scan.
 * In a PID namespace of its own, with its own /proc, the test sees only its own processes, all
 * in its network namespace. The parent only waits and passes the exit status on.
 */
static int isolate(void)
{
	int status;
	pid_t pid;

	if (unshare(CLONE_NEWPID | CLONE_NEWNS))
		return -errno;
	fflush(stdout);
	pid = fork();
	if (pid < 0)
		return -errno;
	if (pid > 0) {
		/* _exit: the namespace's init is gone, LeakSanitizer could not fork its tracer. */
		if (waitpid(pid, &status, 0) != pid)
			_exit(2);
		_exit(WIFEXITED(status) ? WEXITSTATUS(status) : 2);
	}
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    mount("proc", "/proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL))
		return -errno;
	return 0;
}

/* `ip netns add` leaves loopback down. */
static int loopback_up(void)
{
	struct ifreq ifr = {.ifr_name = "lo"};
	int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0), err = 0;

	if (s < 0)
		return -errno;
	if (ioctl(s, SIOCGIFFLAGS, &ifr))
		err = -errno;
	ifr.ifr_flags |= IFF_UP;
	if (!err && ioctl(s, SIOCSIFFLAGS, &ifr))
		err = -errno;
	close(s);
	return err;
}

static int read_self(void)
{
	struct stat st;
	FILE *f;

	if (stat("/proc/self/ns/net", &st))
		return -errno;
	own_netns = (uint64_t)st.st_ino;
	if (!(f = fopen("/proc/self/comm", "re")))
		return -errno;
	if (!fgets(own_comm, sizeof(own_comm), f))
		own_comm[0] = '\0';
	own_comm[strcspn(own_comm, "\n")] = '\0';
	fclose(f);
	return 0;
}

/*
 * Listeners on IPv4 ports 0-3, 10, 19, 20, 30 and 50-58 (even) from BASE_PORT, on IPv6 ports
 * 0-2, 10, 20 and 30; a UDP socket on 40 in both families, and an IPv4 one on 41 to send from.
 */
static bool open_all(void)
{
	static const uint16_t tcp4[] = {0, 1, 2, 3, 10, 19, 20, 30, 50, 52, 54, 56, 58};
	static const uint16_t tcp6[] = {0, 1, 2, 10, 20, 30};

	for (size_t i = 0; i < ARRAY_SIZE(tcp4); i++)
		if (!open_sock(AF_INET, IPPROTO_TCP, tcp4[i]))
			return false;
	for (size_t i = 0; i < ARRAY_SIZE(tcp6); i++)
		if (!open_sock(AF_INET6, IPPROTO_TCP, tcp6[i]))
			return false;
	return open_sock(AF_INET, IPPROTO_UDP, 40) && open_sock(AF_INET6, IPPROTO_UDP, 40) &&
	       open_sock(AF_INET, IPPROTO_UDP, 41);
}

static bool start(void)
{
	int err;

	if ((err = isolate()))
		return fail("failed to make a PID namespace with its own /proc: %s",
			    strerror(-err));
	if ((err = loopback_up()))
		return fail("failed to bring loopback up: %s", strerror(-err));
	if ((err = read_self()))
		return fail("failed to read /proc/self: %s", strerror(-err));
	if ((err = discovery_new(&disc, (1u << IPPROTO_TCP) | (1u << IPPROTO_UDP))))
		return fail("failed to start discovery: %s", strerror(-err));
	return open_all();
}

int main(void)
{
	int passed = 0, failed = 0;
	bool started;

	if (geteuid()) {
		fprintf(stderr, "refresh_check: run as root, in a fresh network namespace\n");
		return 2;
	}
	if (!(started = start()))
		printf("FAIL setup: %s\n", why);
	for (size_t i = 0; started && i < ARRAY_SIZE(cases); i++) {
		bool ok;

		why[0] = '\0';
		ok = cases[i].run() && !why[0];
		if (ok)
			printf("PASS %s\n", cases[i].name);
		else
			printf("FAIL %s: %s\n", cases[i].name, why[0] ? why : "(no reason given)");
		ok ? passed++ : failed++;
		fflush(stdout);
	}
	discovery_free(disc);
	for (size_t i = 0; i < nsocks; i++)
		if (socks[i].fd >= 0)
			close(socks[i].fd);
	for (size_t i = 0; i < nclients; i++)
		close(clients[i]);
	printf("refresh_check: %d passed, %d failed\n", passed, failed);
	return !started ? 2 : failed ? 1 : 0;
}
