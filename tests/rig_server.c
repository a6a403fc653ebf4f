// SPDX-License-Identifier: GPL-2.0
/*
 * rig_server: the ground truth the tests compare reusetop with. A master and N forked workers
 * (or, in the thread modes, N threads of the master) serve one port in one of the architectures
 * the field uses; every worker counts what it accepted and appends one JSON line to --stats when
 * it stops (tid: its kernel thread id, the pid itself for a forked worker):
 *
 *   {"worker":I,"pid":PID,"tid":TID,"mode":"MODE","inode":INODE,"fd":FD,"accepted":N,
 *    "eagain":N,"nvcsw":N,"wait_wakeups":N}
 *
 * The handoff master's line is worker -1, the broker's (handoff-chain) worker -2; both add
 * "forwarded":N, the connections they passed on (the broker's "accepted": those it received).
 *
 * Modes:
 *   reuseport        each worker binds and listens its own SO_REUSEPORT socket (UDP too: it
 *                    then counts datagrams), blocking accept()
 *   accept           one listener made by the master, inherited, blocking accept() in every worker
 *   epoll            one inherited O_NONBLOCK listener, one level-triggered epoll per worker,
 *                    one accept4() per epoll_wait() return: the thundering herd
 *   epoll-exclusive  the same with EPOLLEXCLUSIVE
 *   handoff          the master accepts (blocking) and passes each connection round-robin to a
 *                    worker over a Unix socketpair (SCM_RIGHTS); the master's own line is worker -1
 *   handoff-chain    the master accepts and passes each connection to one broker process, which
 *                    receives it and passes it on round-robin to the N workers (tests/rig_handoff.c)
 *   reuseport-threads  one process, N threads, each with its own SO_REUSEPORT socket (TCP or
 *                    UDP), blocking accept() or recv(), like reuseport
 *   accept-threads   one process, N threads blocking in accept() on one shared listener
 *   epoll-threads    one process, N threads, each with its own level-triggered epoll on one
 *                    shared O_NONBLOCK listener, one accept4() per wakeup, like epoll
 *
 * Counters:
 *   accepted      connections this process accepted; handoff workers: connections received;
 *                 UDP: datagrams received. Handoff workers and UDP sockets read what is
 *                 already queued when they stop, so nothing delivered to them goes uncounted.
 *   eagain        accept calls that failed with EAGAIN/EWOULDBLOCK (only epoll modes can)
 *   nvcsw         ru_nvcsw (the thread's in thread modes) when its wait loop ends on the stop
 *                 signal minus ru_nvcsw when the worker became ready, so repeated stop signals
 *                 while it exits do not count (the slow worker's sleeps count too)
 *   wait_wakeups  returns from the blocking wait: epoll_wait() in epoll modes, accept() in
 *                 accept/reuseport/handoff-master, recvmsg()/recv() in handoff workers and UDP.
 *                 Returns with EINTR and the return that reports our own stop are not counted;
 *                 a return counts whether or not the task actually slept.
 *
 * Stopping: SIGTERM or SIGINT to the master makes it SIGTERM the workers (again every 100 ms
 * until they exited, which closes the window between checking the flag and blocking), reap them
 * and exit 0 (1 when a worker failed). The handlers are installed without SA_RESTART. Where a
 * process owns the socket it blocks on, the handler also shuts that socket down, so the next
 * blocking call returns at once; epoll workers keep the signals blocked except inside
 * epoll_pwait(). Workers get SIGTERM when the master dies, and the master when its parent dies
 * (PR_SET_PDEATHSIG), so no rig outlives the test that started it. In the thread modes only the
 * master's main thread takes SIGTERM and SIGINT; it then sends SIGUSR1 to each thread (again
 * every 100 ms until it ended), which each thread takes as its workers take SIGTERM.
 *
 * Ready: each worker (or thread) sends an empty line on a pipe once it listens (or its error as
 * a line of text, which the master prints alone); with all of them, "ready" goes to --ready (a
 * temporary file renamed) and to stdout.
 *
 * --handoff-weights W0,W1,... (handoff modes): whoever deals (the master, or the broker) gives
 * worker i W_i of every sum(W) connections, in a fixed order. --handoff-exit-after K: worker 0
 * exits after it received K connections (and gets no more); the others go on.
 *
 * --sigio FILE (accept and epoll modes): the master asks for SIGIO on the shared listener
 * (O_ASYNC, itself the owner), so the listener's readiness callback also wakes the master, which
 * sleeps in sigsuspend(), a call that waits for no socket: a wakeup reusetop must not charge to
 * the listener. When it stops, the master writes {"pid":PID,"sigio":N} to FILE, N the signals
 * it took.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <pthread.h>
#include <sys/epoll.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <linux/bpf.h>
#include <linux/filter.h>
#include <sys/syscall.h>

#include "rig_common.h"

#define PROG		"rig_server"
#define MAX_WORKERS	256
#define RESEND_NS	(100 * 1000000LL)
#define STOP_TIMEOUT_NS (10 * 1000000000LL)
#define STATS_LINE_MAX	512
#define MAX_ORDER	4096 /* --handoff-weights: slots in the dealing order */

enum mode {
	MODE_REUSEPORT,
	MODE_ACCEPT,
	MODE_EPOLL,
	MODE_EPOLL_EXCLUSIVE,
	MODE_HANDOFF,
	MODE_HANDOFF_CHAIN,
	MODE_REUSEPORT_THREADS,
	MODE_ACCEPT_THREADS,
	MODE_EPOLL_THREADS,
	MODE_COUNT,
};

/* Indexed by enum mode. */
static const char *const mode_names[MODE_COUNT] = {
	[MODE_REUSEPORT] = "reuseport",
	[MODE_ACCEPT] = "accept",
	[MODE_EPOLL] = "epoll",
	[MODE_EPOLL_EXCLUSIVE] = "epoll-exclusive",
	[MODE_HANDOFF] = "handoff",
	[MODE_HANDOFF_CHAIN] = "handoff-chain",
	[MODE_REUSEPORT_THREADS] = "reuseport-threads",
	[MODE_ACCEPT_THREADS] = "accept-threads",
	[MODE_EPOLL_THREADS] = "epoll-threads",
};

struct opts {
	enum mode mode;
	int workers;
	int port;
	const char *addr;
	bool udp;
	int backlog;
	int rcvbuf; /* SO_RCVBUF, 0: the default */
	int slow_worker; /* -1: none */
	long slow_ms;
	bool cbpf; /* a classic BPF program on the reuseport group (the hash still chooses) */
	bool ebpf_filter; /* an eBPF socket filter on the group, as the kernel's reuseport_bpf test */
	bool dual_stack; /* IPv6 sockets without IPV6_V6ONLY (the default sets it) */
	const char *device; /* SO_BINDTODEVICE, NULL: none */
	const char *stats;
	const char *ready;
	const char *sigio; /* --sigio FILE */
	int weights[MAX_WORKERS]; /* --handoff-weights */
	int nweights;
	long exit_after; /* --handoff-exit-after, -1: none */
};

/* One accepting process: a worker, or the handoff master (idx -1). */
struct acceptor {
	int idx;
	int fd; /* what it waits on: listener, UDP socket or handoff channel */
	int ep; /* epoll modes */
	int rep_fd; /* the listener fd reported (-1 for handoff workers) */
	unsigned long long inode;
	unsigned long long accepted;
	unsigned long long eagain;
	unsigned long long wakeups;
	int rusage_who; /* RUSAGE_SELF for a forked worker, RUSAGE_THREAD for a thread */
	long nvcsw_base;
	long nvcsw_end; /* taken as the wait loop ends, before any stop-time work */
	unsigned long long forwarded; /* handoff master and broker: connections passed on */
};

struct server;

/* One serving thread of the thread modes. */
struct rig_thread {
	struct server *s;
	struct acceptor a;
	pthread_t thread;
	bool started;
};

struct server {
	struct opts o;
	struct sockaddr_storage sa;
	socklen_t salen;
	pid_t master;
	int lfd; /* the master's listener (accept, epoll, handoff), else -1 */
	unsigned long long linode;
	int stats_fd;
	int ready_rd, ready_wr;
	int chan_master[MAX_WORKERS]; /* handoff: the master's end of each worker's socketpair */
	int chan_worker[MAX_WORKERS];
	int up_master, up_broker; /* handoff-chain: the master's channel to the broker */
	int nprocs; /* forked processes: the workers, and the broker of handoff-chain last */
	pid_t pids[MAX_WORKERS + 1]; /* 0 once reaped */
	int status[MAX_WORKERS + 1];
	sigset_t waitmask; /* the mask while waiting: SIGTERM and SIGINT deliverable */
	sigset_t loopmask; /* a worker's (or thread's) mask while it waits for connections */
	struct rig_thread threads[MAX_WORKERS]; /* thread modes */
};

static volatile sig_atomic_t stop;
static volatile sig_atomic_t sigio_taken;

static void on_sigio(int sig)
{
	(void)sig;
	sigio_taken++;
}
/* A socket only this worker (or thread) waits on: the stop handler shuts it down. */
static __thread volatile sig_atomic_t wake_fd = -1;

static void on_stop(int sig)
{
	int saved = errno;

	(void)sig;
	stop = 1;
	if (wake_fd >= 0)
		shutdown(wake_fd, SHUT_RD);
	errno = saved;
}

static bool thread_mode(enum mode m)
{
	return m == MODE_REUSEPORT_THREADS || m == MODE_ACCEPT_THREADS || m == MODE_EPOLL_THREADS;
}

/* What one worker or thread does: a thread mode serves as its process mode does. */
static enum mode base_mode(enum mode m)
{
	switch (m) {
	case MODE_HANDOFF_CHAIN:
		return MODE_HANDOFF;
	case MODE_REUSEPORT_THREADS:
		return MODE_REUSEPORT;
	case MODE_ACCEPT_THREADS:
		return MODE_ACCEPT;
	case MODE_EPOLL_THREADS:
		return MODE_EPOLL;
	default:
		return m;
	}
}

static bool shared_listener(enum mode m)
{
	return base_mode(m) != MODE_REUSEPORT;
}

static bool epoll_mode(enum mode m)
{
	return base_mode(m) == MODE_EPOLL || m == MODE_EPOLL_EXCLUSIVE;
}

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s --mode MODE --workers N\n"
		"       --port P [--addr ADDR] [--proto tcp|udp] [--backlog B] [--rcvbuf BYTES]\n"
		"       [--slow-worker I --slow-ms MS] [--cbpf] [--ebpf-filter] [--dual-stack]\n"
		"       [--device DEV]\n"
		"       [--stats FILE] [--ready FILE]\n"
		"       [--sigio FILE] [--handoff-weights W0,W1,...] [--handoff-exit-after K]\n"
		"modes: reuseport accept epoll epoll-exclusive handoff handoff-chain (N forked "
		"workers)\n"
		"       reuseport-threads accept-threads epoll-threads (N threads)\n",
		PROG);
}

static int check_args(struct opts *o, long slow_worker);
/* tests/rig_handoff.c */
static int parse_weights(const char *arg, struct opts *o);
static int check_handoff_args(const struct opts *o);

static int parse_args(int argc, char **argv, struct opts *o)
{
	static const struct option longopts[] = {
		{"mode", required_argument, NULL, 'm'},
		{"workers", required_argument, NULL, 'w'},
		{"port", required_argument, NULL, 'p'},
		{"addr", required_argument, NULL, 'a'},
		{"proto", required_argument, NULL, 'P'},
		{"backlog", required_argument, NULL, 'b'},
		{"rcvbuf", required_argument, NULL, 'R'},
		{"slow-worker", required_argument, NULL, 's'},
		{"slow-ms", required_argument, NULL, 'S'},
		{"cbpf", no_argument, NULL, 'C'},
		{"dual-stack", no_argument, NULL, 'D'},
		{"ebpf-filter", no_argument, NULL, 'E'},
		{"device", required_argument, NULL, 'd'},
		{"stats", required_argument, NULL, 'o'},
		{"ready", required_argument, NULL, 'r'},
		{"sigio", required_argument, NULL, 'I'},
		{"handoff-weights", required_argument, NULL, 'W'},
		{"handoff-exit-after", required_argument, NULL, 'X'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	bool have_mode = false;
	long v, slow_worker = -1;
	int c, i;

	memset(o, 0, sizeof(*o));
	o->addr = "127.0.0.1";
	o->backlog = 128;
	o->slow_ms = -1;
	o->exit_after = -1;
	opterr = 0;
	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'm':
			for (i = 0; i < MODE_COUNT; i++) {
				if (!strcmp(optarg, mode_names[i]))
					break;
			}
			if (i == MODE_COUNT)
				return rig_bad_arg(PROG, "--mode", optarg);
			o->mode = i;
			have_mode = true;
			break;
		case 'w':
			if (rig_parse_long(optarg, 1, MAX_WORKERS, &v))
				return rig_bad_arg(PROG, "--workers", optarg);
			o->workers = v;
			break;
		case 'p':
			if (rig_parse_long(optarg, 1, 65535, &v))
				return rig_bad_arg(PROG, "--port", optarg);
			o->port = v;
			break;
		case 'a':
			o->addr = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "tcp") && strcmp(optarg, "udp"))
				return rig_bad_arg(PROG, "--proto", optarg);
			o->udp = !strcmp(optarg, "udp");
			break;
		case 'b':
			if (rig_parse_long(optarg, 1, 1 << 20, &v))
				return rig_bad_arg(PROG, "--backlog", optarg);
			o->backlog = v;
			break;
		case 'R':
			if (rig_parse_long(optarg, 1, 1 << 26, &v))
				return rig_bad_arg(PROG, "--rcvbuf", optarg);
			o->rcvbuf = v;
			break;
		case 's':
			if (rig_parse_long(optarg, 0, MAX_WORKERS - 1, &slow_worker))
				return rig_bad_arg(PROG, "--slow-worker", optarg);
			break;
		case 'S':
			if (rig_parse_long(optarg, 0, 3600 * 1000, &o->slow_ms))
				return rig_bad_arg(PROG, "--slow-ms", optarg);
			break;
		case 'C':
			o->cbpf = true;
			break;
		case 'D':
			o->dual_stack = true;
			break;
		case 'E':
			o->ebpf_filter = true;
			break;
		case 'd':
			o->device = optarg;
			break;
		case 'o':
			o->stats = optarg;
			break;
		case 'r':
			o->ready = optarg;
			break;
		case 'I':
			o->sigio = optarg;
			break;
		case 'W':
			if (parse_weights(optarg, o))
				return -EINVAL;
			break;
		case 'X':
			if (rig_parse_long(optarg, 1, 1L << 30, &o->exit_after))
				return rig_bad_arg(PROG, "--handoff-exit-after", optarg);
			break;
		case 'h':
			usage(stdout);
			exit(0);
		default:
			rig_log(PROG,
				"failed to parse arguments: unknown or incomplete option '%s'",
				argv[optind - 1]);
			return -EINVAL;
		}
	}
	if (optind < argc)
		return rig_bad_arg(PROG, "arguments", argv[optind]);
	if (!have_mode || !o->workers || !o->port) {
		rig_log(PROG,
			"failed to parse arguments: --mode, --workers and --port are required");
		return -EINVAL;
	}
	return check_args(o, slow_worker);
}

/* The options that go together, or with some modes only. */
static int check_args(struct opts *o, long slow_worker)
{
	if ((slow_worker >= 0) != (o->slow_ms >= 0)) {
		rig_log(PROG, "failed to parse arguments: --slow-worker and --slow-ms go together");
		return -EINVAL;
	}
	if (slow_worker >= o->workers) {
		rig_log(PROG, "failed to parse --slow-worker: %ld is not below --workers %d",
			slow_worker, o->workers);
		return -EINVAL;
	}
	o->slow_worker = slow_worker;
	if ((o->cbpf || o->ebpf_filter) && o->mode != MODE_REUSEPORT) {
		rig_log(PROG, "failed to parse arguments: --cbpf and --ebpf-filter need --mode "
			      "reuseport");
		return -EINVAL;
	}
	if (o->udp && base_mode(o->mode) != MODE_REUSEPORT) {
		rig_log(PROG, "failed to parse arguments: --proto udp needs a reuseport mode");
		return -EINVAL;
	}
	return check_handoff_args(o);
}

/*
 * --ebpf-filter: an eBPF socket filter (BPF_PROG_TYPE_SOCKET_FILTER) returning an index past the
 * group's sockets, attached with SO_ATTACH_REUSEPORT_EBPF, as the kernel's reuseport_bpf test
 * does: the hash still chooses, but the group has an eBPF program that is not sk_reuseport.
 */
static int attach_ebpf_filter(int fd)
{
	struct bpf_insn insns[] = {
		{.code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_0, .imm = -1},
		{.code = BPF_JMP | BPF_EXIT},
	};
	union bpf_attr attr = {
		.prog_type = BPF_PROG_TYPE_SOCKET_FILTER,
		.insn_cnt = 2,
		.insns = (uint64_t)(uintptr_t)insns,
		.license = (uint64_t)(uintptr_t) "GPL",
	};
	int prog = (int)syscall(SYS_bpf, BPF_PROG_LOAD, &attr, sizeof(attr)), err = 0;

	if (prog < 0)
		return -1;
	if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_EBPF, &prog, sizeof(prog)))
		err = -1;
	close(prog);
	return err;
}

/* A bound socket (listening for TCP) on the configured address; the fd or -1 after saying why. */
static int open_socket(const struct server *s, bool reuseport)
{
	int type = s->o.udp ? SOCK_DGRAM : SOCK_STREAM;
	int fd, one = 1, v6only, err;
	const char *what;

	fd = socket(s->sa.ss_family, type | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		rig_log(PROG, "failed to create socket: %s", strerror(errno));
		return -1;
	}
	/* TCP: our own TIME_WAIT connections from the last run must not block the bind. */
	what = "set SO_REUSEADDR";
	if (!s->o.udp && setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		goto err;
	what = "set SO_REUSEPORT";
	if (reuseport && setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)))
		goto err;
	what = "set SO_RCVBUF";
	if (s->o.rcvbuf && setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &s->o.rcvbuf, sizeof(s->o.rcvbuf)))
		goto err;
	what = "set IPV6_V6ONLY";
	v6only = !s->o.dual_stack;
	if (s->sa.ss_family == AF_INET6 &&
	    setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &v6only, sizeof(v6only)))
		goto err;
	what = "set SO_BINDTODEVICE";
	if (s->o.device && setsockopt(fd, SOL_SOCKET, SO_BINDTODEVICE, s->o.device,
				      (socklen_t)strlen(s->o.device) + 1))
		goto err;
	what = "bind";
	if (bind(fd, (const struct sockaddr *)&s->sa, s->salen))
		goto err;
	what = "listen on";
	if (!s->o.udp && listen(fd, s->o.backlog))
		goto err;
	/*
	 * --cbpf: one instruction returning an index past the group's sockets, so the kernel's hash
	 * still chooses; what matters is that the group has a program with no id (tests of steer).
	 */
	what = "attach a classic BPF program on";
	if (reuseport && s->o.cbpf) {
		struct sock_filter ret_none = BPF_STMT(BPF_RET | BPF_K, 0xffffffff);
		struct sock_fprog prog = {.len = 1, .filter = &ret_none};

		if (setsockopt(fd, SOL_SOCKET, SO_ATTACH_REUSEPORT_CBPF, &prog, sizeof(prog)))
			goto err;
	}
	what = "attach an eBPF socket filter on";
	if (reuseport && s->o.ebpf_filter && attach_ebpf_filter(fd))
		goto err;
	return fd;
err:
	err = errno;
	close(fd);
	rig_log(PROG, "failed to %s %s port %d: %s", what, s->o.addr, s->o.port, strerror(err));
	return -1;
}

static int inode_of(int fd, unsigned long long *ino)
{
	struct stat st;

	if (fstat(fd, &st)) {
		rig_log(PROG, "failed to stat socket: %s", strerror(errno));
		return -1;
	}
	*ino = st.st_ino;
	return 0;
}

static long nvcsw_now(int who)
{
	struct rusage ru;

	if (getrusage(who, &ru))
		return 0;
	return ru.ru_nvcsw;
}

/* Appends this acceptor's line to --stats with one write(); 0 or -1 after saying why. */
static int write_stats(const struct server *s, const struct acceptor *a)
{
	char line[STATS_LINE_MAX], fwd[40] = "";
	ssize_t w;
	int n;

	if (s->stats_fd < 0)
		return 0;
	/* The handoff master and broker: what they passed on. */
	if (a->idx < 0 && base_mode(s->o.mode) == MODE_HANDOFF)
		snprintf(fwd, sizeof(fwd), ",\"forwarded\":%llu", a->forwarded);
	n = snprintf(line, sizeof(line),
		     "{\"worker\":%d,\"pid\":%d,\"tid\":%d,\"mode\":\"%s\",\"inode\":%llu,"
		     "\"fd\":%d,\"accepted\":%llu,\"eagain\":%llu,\"nvcsw\":%ld,"
		     "\"wait_wakeups\":%llu%s}\n",
		     a->idx, (int)getpid(), (int)gettid(), mode_names[s->o.mode], a->inode,
		     a->rep_fd, a->accepted, a->eagain,
		     (a->nvcsw_end ? a->nvcsw_end : nvcsw_now(a->rusage_who)) - a->nvcsw_base,
		     a->wakeups, fwd);
	do {
		w = write(s->stats_fd, line, n);
	} while (w < 0 && errno == EINTR);
	if (w != n) {
		rig_log(PROG, "failed to write stats of worker %d: %s", a->idx,
			w < 0 ? strerror(errno) : "short write");
		return -1;
	}
	return 0;
}

/* Errors accept() passes on from the connection it dequeued: try the next one. */
static bool accept_transient(int err)
{
	switch (err) {
	case ECONNABORTED:
	case EPROTO:
	case ENETDOWN:
	case ENOPROTOOPT:
	case EHOSTDOWN:
	case ENONET:
	case EHOSTUNREACH:
	case EOPNOTSUPP:
	case ENETUNREACH:
	case EPERM:
		return true;
	default:
		return false;
	}
}

/* The slow worker's pause before each accept; cut short by a stop. */
static void slow_pause(const struct server *s, const struct acceptor *a)
{
	struct timespec ts;

	if (s->o.slow_worker < 0 || a->idx != s->o.slow_worker)
		return;
	ts.tv_sec = s->o.slow_ms / 1000;
	ts.tv_nsec = s->o.slow_ms % 1000 * 1000000;
	/* Epoll workers keep the stop signals blocked outside their waits. */
	ppoll(NULL, 0, &ts, epoll_mode(s->o.mode) ? &s->loopmask : NULL);
}

/* Counts one result of accept(): 0 to go on, -1 (after saying why) to give up. */
static int accept_result(struct acceptor *a, int fd, int err)
{
	if (fd >= 0) {
		a->accepted++;
		close(fd);
		return 0;
	}
	if (err == EAGAIN || err == EWOULDBLOCK) {
		a->eagain++;
		return 0;
	}
	if (accept_transient(err))
		return 0;
	rig_log(PROG, "failed to accept connection in worker %d: %s", a->idx, strerror(err));
	return -1;
}

/* accept and reuseport (TCP): blocking accept() on the listener. */
static int loop_accept(const struct server *s, struct acceptor *a)
{
	int fd;

	for (;;) {
		if (stop)
			return 0;
		slow_pause(s, a);
		if (stop)
			return 0;
		fd = accept(a->fd, NULL, NULL);
		if (fd < 0 && errno == EINTR)
			continue;
		/* The stop handler shut our own listener down. */
		if (fd < 0 && errno == EINVAL && stop)
			return 0;
		a->wakeups++;
		if (accept_result(a, fd, fd < 0 ? errno : 0) < 0)
			return -1;
	}
}

/* epoll and epoll-exclusive: one accept4() per epoll_wait() return. */
static int loop_epoll(const struct server *s, struct acceptor *a)
{
	struct epoll_event ev;
	int n, fd;

	for (;;) {
		if (stop)
			return 0;
		n = epoll_pwait(a->ep, &ev, 1, -1, &s->loopmask);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rig_log(PROG, "failed to wait for connections in worker %d: %s", a->idx,
				strerror(errno));
			return -1;
		}
		a->wakeups++;
		slow_pause(s, a);
		if (stop)
			return 0;
		fd = accept4(a->fd, NULL, NULL, SOCK_CLOEXEC);
		if (accept_result(a, fd, fd < 0 ? errno : 0) < 0)
			return -1;
	}
}

/* reuseport UDP: blocking recv(); at stop, what is already queued is read and counted too. */
static int loop_udp(const struct server *s, struct acceptor *a)
{
	char buf[2048];
	ssize_t n;

	for (;;) {
		if (stop)
			break;
		slow_pause(s, a);
		if (stop)
			break;
		n = recv(a->fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0) {
			rig_log(PROG, "failed to receive datagram in worker %d: %s", a->idx,
				strerror(errno));
			return -1;
		}
		/* After the stop handler's shutdown() an empty queue reads as 0. */
		if (n == 0 && stop)
			break;
		a->wakeups++;
		a->accepted++;
	}
	while (recv(a->fd, buf, sizeof(buf), MSG_DONTWAIT) > 0)
		a->accepted++;
	return 0;
}

#include "rig_handoff.c"

/* Everything a worker needs before it is ready; 0 or -1 after saying why. */
static int worker_setup(struct server *s, struct acceptor *a)
{
	struct epoll_event ev;

	switch (base_mode(s->o.mode)) {
	case MODE_REUSEPORT:
		a->fd = open_socket(s, true);
		if (a->fd < 0)
			return -1;
		a->rep_fd = a->fd;
		wake_fd = a->fd;
		return inode_of(a->fd, &a->inode);
	case MODE_ACCEPT:
		a->fd = a->rep_fd = s->lfd;
		a->inode = s->linode;
		return 0;
	case MODE_EPOLL:
	case MODE_EPOLL_EXCLUSIVE:
		a->fd = a->rep_fd = s->lfd;
		a->inode = s->linode;
		a->ep = epoll_create1(EPOLL_CLOEXEC);
		if (a->ep < 0) {
			rig_log(PROG, "failed to create epoll instance: %s", strerror(errno));
			return -1;
		}
		memset(&ev, 0, sizeof(ev));
		ev.events = EPOLLIN;
		if (s->o.mode == MODE_EPOLL_EXCLUSIVE)
			ev.events |= EPOLLEXCLUSIVE;
		ev.data.fd = a->fd;
		if (epoll_ctl(a->ep, EPOLL_CTL_ADD, a->fd, &ev)) {
			rig_log(PROG, "failed to add listener to epoll: %s", strerror(errno));
			return -1;
		}
		return 0;
	case MODE_HANDOFF:
		/* Only the master accepts (tests/rig_handoff.c). */
		handoff_setup(s, a);
		return 0;
	default:
		return -1;
	}
}

/*
 * Sets a worker or thread up and says it is ready: 0, or -1 after sending the reason on the ready
 * pipe (the master prints only the first).
 */
static int start_acceptor(struct server *s, struct acceptor *a)
{
	rig_log_fd = s->ready_wr;
	if (worker_setup(s, a))
		return -1;
	/* An empty line says ready; an error is a line of text. */
	rig_log_fd = STDERR_FILENO;
	if (write(s->ready_wr, "\n", 1) != 1) {
		rig_log(PROG, "failed to signal ready from worker %d: %s", a->idx, strerror(errno));
		return -1;
	}
	a->nvcsw_base = nvcsw_now(a->rusage_who);
	return 0;
}

/* Serves until told to stop, then writes the stats line; 0 or -1 after saying why. */
static int run_acceptor(const struct server *s, struct acceptor *a)
{
	sigset_t all;
	int err;

	if (!epoll_mode(s->o.mode))
		pthread_sigmask(SIG_SETMASK, &s->loopmask, NULL);
	if (base_mode(s->o.mode) == MODE_HANDOFF)
		err = loop_handoff_worker(s, a, NULL);
	else if (epoll_mode(s->o.mode))
		err = loop_epoll(s, a);
	else if (s->o.udp)
		err = loop_udp(s, a);
	else
		err = loop_accept(s, a);
	a->nvcsw_end = nvcsw_now(a->rusage_who);
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (write_stats(s, a))
		err = -1;
	return err;
}

static void __attribute__((noreturn)) worker_main(struct server *s, int idx)
{
	struct acceptor a = {.idx = idx, .fd = -1, .ep = -1, .rep_fd = -1};

	/*
	 * Signals stay blocked (as the master had them at fork) until the worker is set up. Until
	 * then errors go to the master over the ready pipe, which prints only the first.
	 */
	a.rusage_who = RUSAGE_SELF;
	wake_fd = -1;
	rig_log_fd = s->ready_wr;
	if (prctl(PR_SET_PDEATHSIG, SIGTERM)) {
		rig_log(PROG, "failed to set parent death signal: %s", strerror(errno));
		_exit(RIG_EXIT_FAIL);
	}
	/* The master died before the prctl: nobody will send the signal. */
	if (getppid() != s->master)
		stop = 1;
	close(s->ready_rd);
	/* _exit(): no leak check at exit, which the master's SIGKILL could interrupt. */
	if (start_acceptor(s, &a))
		_exit(RIG_EXIT_FAIL);
	close(s->ready_wr);
	if (idx == BROKER_IDX)
		exit(run_broker(s, &a) ? RIG_EXIT_FAIL : 0);
	exit(run_acceptor(s, &a) ? RIG_EXIT_FAIL : 0);
}

static int worker_index(const struct server *s, pid_t pid)
{
	int i;

	for (i = 0; i < s->nprocs; i++) {
		if (s->pids[i] == pid)
			return i;
	}
	return -1;
}

static int signal_workers(const struct server *s, int sig)
{
	int i, live = 0;

	for (i = 0; i < s->nprocs; i++) {
		if (s->pids[i] > 0) {
			kill(s->pids[i], sig);
			live++;
		}
	}
	return live;
}

/* Reaps what exited; the number of workers still running. */
static int reap_workers(struct server *s)
{
	pid_t pid;
	int st, i;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		i = worker_index(s, pid);
		if (i < 0)
			continue;
		s->pids[i] = 0;
		s->status[i] = st;
	}
	for (i = 0; i < s->nprocs; i++) {
		if (s->pids[i] > 0)
			return 1;
	}
	return 0;
}

/* Startup failed; unless the reason was printed, the first worker to exit tells it. */
static void abort_workers(struct server *s, bool wait_first)
{
	pid_t pid;
	int st, i;

	if (wait_first) {
		pid = waitpid(-1, &st, 0);
		i = pid > 0 ? worker_index(s, pid) : -1;
		if (i >= 0) {
			s->pids[i] = 0;
			if (WIFSIGNALED(st))
				rig_log(PROG, "failed to start worker %d: killed by signal %d", i,
					WTERMSIG(st));
			else if (WEXITSTATUS(st) == 0)
				rig_log(PROG, "failed to start worker %d: exited early", i);
		}
	}
	signal_workers(s, SIGKILL);
	for (i = 0; i < s->nprocs; i++) {
		if (s->pids[i] > 0)
			waitpid(s->pids[i], &st, 0);
		s->pids[i] = 0;
	}
}

/* SIGTERM every worker (again every 100 ms) and reap them; 0 when every one exited 0. */
static int stop_workers(struct server *s)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = RESEND_NS};
	int64_t start = rig_now_ns(), last = start;
	int i, ret = 0;
	sigset_t chld;

	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	/* The broker first: what it still holds reaches workers that still receive. */
	if (s->o.mode == MODE_HANDOFF_CHAIN && stop_broker(s))
		ret = -1;
	signal_workers(s, SIGTERM);
	while (reap_workers(s)) {
		if (rig_now_ns() - start > STOP_TIMEOUT_NS) {
			for (i = 0; i < s->nprocs; i++) {
				if (s->pids[i] <= 0)
					continue;
				rig_log(PROG, "failed to stop worker %d: timed out", i);
				kill(s->pids[i], SIGKILL);
				waitpid(s->pids[i], NULL, 0);
				s->pids[i] = 0;
				s->status[i] = 0;
				ret = -1;
			}
			break;
		}
		sigtimedwait(&chld, NULL, &tick);
		if (rig_now_ns() - last >= RESEND_NS) {
			signal_workers(s, SIGTERM);
			last = rig_now_ns();
		}
	}
	for (i = 0; i < s->nprocs; i++) {
		if (WIFSIGNALED(s->status[i])) {
			rig_log(PROG, "failed to stop worker %d: killed by signal %d", i,
				WTERMSIG(s->status[i]));
			ret = -1;
		} else if (WEXITSTATUS(s->status[i])) {
			/* The worker said why. */
			ret = -1;
		}
	}
	return ret;
}

/*
 * Reads the workers' ready pipe until every worker sent its empty line: 0, 1 when told to stop
 * first, -1 on failure. A worker that failed to start sent its error as a line of text: the
 * first one is printed (*reported), the others dropped, so a failed start prints one line.
 */
static int wait_ready(struct server *s, bool *reported)
{
	struct pollfd p = {.fd = s->ready_rd, .events = POLLIN};
	char buf[4096], line[1024];
	size_t len = 0;
	int got = 0;
	ssize_t n, i;

	*reported = false;
	while (got < s->nprocs) {
		if (stop)
			return 1;
		if (ppoll(&p, 1, NULL, &s->waitmask) < 0) {
			if (errno == EINTR)
				continue;
			rig_log(PROG, "failed to wait for workers: %s", strerror(errno));
			return -1;
		}
		n = read(s->ready_rd, buf, sizeof(buf));
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n < 0) {
			rig_log(PROG, "failed to read from workers: %s", strerror(errno));
			return -1;
		}
		/* Every write end is closed and a line is missing: a worker exited. */
		if (n == 0)
			return -1;
		for (i = 0; i < n; i++) {
			if (buf[i] != '\n') {
				if (len < sizeof(line) - 1)
					line[len++] = buf[i];
				continue;
			}
			if (!len) {
				got++;
				continue;
			}
			line[len++] = '\n';
			if (!*reported && write(STDERR_FILENO, line, len) < 0)
				return -1;
			*reported = true;
			len = 0;
		}
		if (*reported)
			return -1;
	}
	return 0;
}

/* "ready" in --ready (written to a temporary file, then renamed) and on stdout. */
static int announce_ready(const struct server *s)
{
	char tmp[4096];
	int fd, n, err;

	if (s->o.ready) {
		n = snprintf(tmp, sizeof(tmp), "%s.tmp.%d", s->o.ready, (int)getpid());
		if (n < 0 || (size_t)n >= sizeof(tmp)) {
			rig_log(PROG, "failed to write ready file %s: %s", s->o.ready,
				strerror(ENAMETOOLONG));
			return -1;
		}
		fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
		if (fd < 0) {
			rig_log(PROG, "failed to create %s: %s", tmp, strerror(errno));
			return -1;
		}
		err = write(fd, "ready\n", 6) == 6 ? 0 : (errno ? errno : EIO);
		if (close(fd) && !err)
			err = errno;
		if (!err && rename(tmp, s->o.ready))
			err = errno;
		if (err) {
			unlink(tmp);
			rig_log(PROG, "failed to write ready file %s: %s", s->o.ready,
				strerror(err));
			return -1;
		}
	}
	if (fputs("ready\n", stdout) == EOF || fflush(stdout)) {
		rig_log(PROG, "failed to print ready: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* A thread of the thread modes: what a forked worker does, in the master's process. */
static void *thread_main(void *arg)
{
	struct rig_thread *t = arg;

	t->a.rusage_who = RUSAGE_THREAD;
	if (start_acceptor(t->s, &t->a))
		return (void *)1;
	return run_acceptor(t->s, &t->a) ? (void *)1 : NULL;
}

/*
 * Stops the threads that were started: SIGUSR1 to each (again every 100 ms, which closes the
 * window between checking the flag and blocking) until it ended; 0 when every one ended well.
 */
static int stop_threads(struct server *s)
{
	int64_t start = rig_now_ns();
	struct timespec until;
	void *ret;
	int i, r, err = 0;

	stop = 1;
	for (i = 0; i < s->o.workers; i++) {
		if (!s->threads[i].started)
			continue;
		do {
			if (rig_now_ns() - start > STOP_TIMEOUT_NS) {
				/* A thread cannot be killed alone: the process exits with it. */
				rig_log(PROG, "failed to stop thread %d: timed out", i);
				return -1;
			}
			pthread_kill(s->threads[i].thread, SIGUSR1);
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += RESEND_NS;
			if (until.tv_nsec >= 1000000000L) {
				until.tv_sec++;
				until.tv_nsec -= 1000000000L;
			}
			r = pthread_timedjoin_np(s->threads[i].thread, &ret, &until);
		} while (r == ETIMEDOUT);
		s->threads[i].started = false;
		if (r || ret)
			err = -1;
	}
	return err;
}

/*
 * The thread modes: N threads of this process serve until SIGTERM or SIGINT; 0, or -1 when one
 * failed (it said why).
 */
static int run_threads(struct server *s)
{
	struct sigaction sa;
	bool reported;
	sigset_t usr1;
	int i, r, err;

	/* Only the threads take SIGUSR1, and only where they wait. */
	sigemptyset(&usr1);
	sigaddset(&usr1, SIGUSR1);
	pthread_sigmask(SIG_BLOCK, &usr1, &s->loopmask);
	sigaddset(&s->loopmask, SIGTERM);
	sigaddset(&s->loopmask, SIGINT);
	sigaddset(&s->loopmask, SIGCHLD);
	sigdelset(&s->loopmask, SIGUSR1);
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop; /* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGUSR1, &sa, NULL);

	for (i = 0; i < s->o.workers; i++) {
		s->threads[i].s = s;
		s->threads[i].a = (struct acceptor){.idx = i, .fd = -1, .ep = -1, .rep_fd = -1};
		err = pthread_create(&s->threads[i].thread, NULL, thread_main, &s->threads[i]);
		if (err) {
			rig_log(PROG, "failed to create thread %d: %s", i, strerror(err));
			stop_threads(s);
			return -1;
		}
		s->threads[i].started = true;
	}
	r = wait_ready(s, &reported);
	close(s->ready_wr);
	s->ready_wr = -1;
	if (r == 0 && announce_ready(s))
		r = -1;
	while (r == 0 && !stop)
		sigsuspend(&s->waitmask);
	err = stop_threads(s);
	return r < 0 || err ? -1 : 0;
}

/* The master's resources before the workers fork; 0 or -1 after saying why. */
static int master_setup(struct server *s)
{
	int fl, p[2];

	if (s->o.ready && unlink(s->o.ready) && errno != ENOENT) {
		rig_log(PROG, "failed to remove old %s: %s", s->o.ready, strerror(errno));
		return -1;
	}
	if (s->o.stats) {
		s->stats_fd = open(s->o.stats, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
		if (s->stats_fd < 0) {
			rig_log(PROG, "failed to open %s: %s", s->o.stats, strerror(errno));
			return -1;
		}
	}
	if (shared_listener(s->o.mode)) {
		s->lfd = open_socket(s, false);
		if (s->lfd < 0 || inode_of(s->lfd, &s->linode))
			return -1;
	}
	if (epoll_mode(s->o.mode)) {
		fl = fcntl(s->lfd, F_GETFL);
		if (fl < 0 || fcntl(s->lfd, F_SETFL, fl | O_NONBLOCK)) {
			rig_log(PROG, "failed to make listener non-blocking: %s", strerror(errno));
			return -1;
		}
	}
	if (base_mode(s->o.mode) == MODE_HANDOFF && handoff_channels(s))
		return -1;
	if (pipe2(p, O_CLOEXEC)) {
		rig_log(PROG, "failed to create pipe: %s", strerror(errno));
		return -1;
	}
	s->ready_rd = p[0];
	s->ready_wr = p[1];
	return 0;
}

/* --sigio: SIGIO to the master whenever the shared listener becomes readable. */
static int ask_sigio(const struct server *s)
{
	struct sigaction sa;
	int flags;

	if (thread_mode(s->o.mode) || s->lfd < 0) {
		rig_log(PROG, "failed to parse arguments: --sigio needs a shared listener (accept, "
			      "epoll) and forked workers");
		return -1;
	}
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_sigio;
	sa.sa_flags = SA_RESTART;
	flags = fcntl(s->lfd, F_GETFL);
	if (sigaction(SIGIO, &sa, NULL) || fcntl(s->lfd, F_SETOWN, getpid()) || flags < 0 ||
	    fcntl(s->lfd, F_SETFL, flags | O_ASYNC)) {
		rig_log(PROG, "failed to ask for SIGIO on the listener: %s", strerror(errno));
		return -1;
	}
	return 0;
}

static int report_sigio(const struct server *s)
{
	FILE *f = fopen(s->o.sigio, "w");

	if (!f || fprintf(f, "{\"pid\":%d,\"sigio\":%d}\n", (int)s->master, (int)sigio_taken) < 0 ||
	    fclose(f)) {
		rig_log(PROG, "failed to write %s: %s", s->o.sigio, strerror(errno));
		return -1;
	}
	return 0;
}

int main(int argc, char **argv)
{
	static struct server srv;
	struct server *s = &srv;
	struct sigaction sa;
	bool reported;
	sigset_t blocked;
	int i, r, err = 0;
	pid_t pid, parent;

	if (parse_args(argc, argv, &s->o))
		return RIG_EXIT_USAGE;
	if (rig_parse_addr(s->o.addr, s->o.port, &s->sa, &s->salen)) {
		rig_bad_arg(PROG, "--addr", s->o.addr);
		return RIG_EXIT_USAGE;
	}
	s->lfd = s->stats_fd = s->ready_rd = s->ready_wr = s->up_master = s->up_broker = -1;
	s->nprocs = s->o.workers + (s->o.mode == MODE_HANDOFF_CHAIN);
	for (i = 0; i < MAX_WORKERS; i++)
		s->chan_master[i] = s->chan_worker[i] = -1;

	/* The stop signals are only ever delivered where the code waits for them. */
	sigemptyset(&blocked);
	sigaddset(&blocked, SIGTERM);
	sigaddset(&blocked, SIGINT);
	sigaddset(&blocked, SIGCHLD);
	sigprocmask(SIG_BLOCK, &blocked, &s->waitmask);
	sigdelset(&s->waitmask, SIGTERM);
	sigdelset(&s->waitmask, SIGINT);
	sigaddset(&s->waitmask, SIGCHLD);
	/* A forked worker waits for connections as the master waits for signals. */
	s->loopmask = s->waitmask;
	memset(&sa, 0, sizeof(sa));
	sigemptyset(&sa.sa_mask);
	sa.sa_handler = on_stop; /* no SA_RESTART: blocking calls return EINTR */
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sa.sa_handler = SIG_IGN;
	sigaction(SIGPIPE, &sa, NULL);
	/*
	 * The master too stops when whatever started it dies (a test shell killed before it could
	 * stop the rig), so no rig outlives its test.
	 */
	parent = getppid();
	if (prctl(PR_SET_PDEATHSIG, SIGTERM)) {
		rig_log(PROG, "failed to set parent death signal: %s", strerror(errno));
		return RIG_EXIT_FAIL;
	}
	if (getppid() != parent)
		stop = 1;

	if (master_setup(s))
		return RIG_EXIT_FAIL;
	s->master = getpid();
	if (s->o.sigio && ask_sigio(s))
		return RIG_EXIT_FAIL;
	if (thread_mode(s->o.mode))
		return run_threads(s) ? RIG_EXIT_FAIL : 0;
	for (i = 0; i < s->nprocs; i++) {
		pid = fork();
		if (pid < 0) {
			rig_log(PROG, "failed to fork worker %d: %s", i, strerror(errno));
			abort_workers(s, false);
			return RIG_EXIT_FAIL;
		}
		if (pid == 0)
			worker_main(s, i < s->o.workers ? i : BROKER_IDX);
		s->pids[i] = pid;
	}
	close(s->ready_wr);
	if (base_mode(s->o.mode) == MODE_HANDOFF)
		handoff_master_close(s);

	r = wait_ready(s, &reported);
	if (r < 0) {
		abort_workers(s, !reported);
		return RIG_EXIT_FAIL;
	}
	if (r == 0 && announce_ready(s)) {
		abort_workers(s, false);
		return RIG_EXIT_FAIL;
	}
	if (r == 0 && base_mode(s->o.mode) == MODE_HANDOFF) {
		if (master_handoff(s, &blocked))
			err = -1;
	} else {
		while (!stop)
			sigsuspend(&s->waitmask);
	}
	if (stop_workers(s))
		err = -1;
	if (s->o.sigio && report_sigio(s))
		err = -1;
	return err ? RIG_EXIT_FAIL : 0;
}
