// SPDX-License-Identifier: GPL-2.0
/*
 * rig_client: the load side of the ground-truth rig. TCP: exactly --count connections from
 * --concurrency threads, each connected, read until the server's EOF and closed. UDP: exactly
 * --count datagrams of 32 bytes, each from a fresh socket (a fresh flow) unless --flows or
 * --sport-range say otherwise. One JSON line at the end:
 *
 *   {"ok":N,"failed":N,"elapsed_s":X,"rate":Y}
 *
 * A failed connection is not retried: one that fails (refused, reset, or 5 s without progress while
 * connecting or waiting for EOF) counts as failed, and any failure makes the exit status 1.
 * --rate R starts connection i at i/R seconds after the start (0: as fast as possible).
 * --sport-range LO-HI: connection or datagram n uses port LO + n % (HI - LO + 1), best effort:
 * a TCP connection whose port is busy (another thread holds the 4-tuple) tries the next ports
 * of the range, then an ephemeral one; keep --concurrency at most the range's size to stay
 * within it. --cpu C pins every thread to CPU C.
 *
 * --http: each TCP connection sends "GET / HTTP/1.0" with a Host header (the address and port)
 * and reads the response until the server closes; it succeeds only on a status line with a
 * 2xx, 3xx or 4xx status (a real server's answer, not necessarily a page). Without --http the
 * client sends nothing and waits for the server to close.
 */
#include <errno.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "rig_common.h"

#define PROG	    "rig_client"
#define TIMEOUT_NS  (5 * 1000000000LL)
#define NSEC	    1000000000LL
#define DGRAM_LEN   32
#define MAX_THREADS 1024
#define MAX_FLOWS   65536
#define SPORT_TRIES 64
#define STATUS_LEN  12 /* "HTTP/1.x NNN" */

struct client {
	struct sockaddr_storage dst;
	socklen_t dstlen;
	const char *addr;
	long port;
	bool udp;
	bool http;
	char request[512]; /* --http: the request every connection sends */
	size_t request_len;
	long count;
	long concurrency;
	long rate;
	long flows;
	long sport_lo, sport_hi; /* 0: no range */
	long cpu; /* -1: not pinned */
	int *flow_fds;
	int64_t t0;
	atomic_long next;
	atomic_long ok;
	atomic_long failed;
	pthread_mutex_t lock;
	int first_err; /* errno of the first failure and where it happened */
	const char *first_stage;
};

static void usage(FILE *f)
{
	fprintf(f,
		"usage: %s --port P [--addr ADDR] [--proto tcp|udp] --count M\n"
		"       [--concurrency K] [--rate R] [--sport-range LO-HI] [--cpu C] [--flows F]\n"
		"       [--http]\n",
		PROG);
}

static int parse_args(int argc, char **argv, struct client *c)
{
	static const struct option longopts[] = {
		{"port", required_argument, NULL, 'p'},
		{"addr", required_argument, NULL, 'a'},
		{"proto", required_argument, NULL, 'P'},
		{"count", required_argument, NULL, 'n'},
		{"concurrency", required_argument, NULL, 'k'},
		{"rate", required_argument, NULL, 'r'},
		{"sport-range", required_argument, NULL, 's'},
		{"cpu", required_argument, NULL, 'c'},
		{"flows", required_argument, NULL, 'f'},
		{"http", no_argument, NULL, 'H'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int opt;

	c->addr = "127.0.0.1";
	c->count = -1;
	c->concurrency = 4;
	c->cpu = -1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (opt) {
		case 'p':
			if (rig_parse_long(optarg, 1, 65535, &c->port))
				return rig_bad_arg(PROG, "--port", optarg);
			break;
		case 'a':
			c->addr = optarg;
			break;
		case 'P':
			if (strcmp(optarg, "tcp") && strcmp(optarg, "udp"))
				return rig_bad_arg(PROG, "--proto", optarg);
			c->udp = !strcmp(optarg, "udp");
			break;
		case 'n':
			if (rig_parse_long(optarg, 0, 1000000000L, &c->count))
				return rig_bad_arg(PROG, "--count", optarg);
			break;
		case 'k':
			if (rig_parse_long(optarg, 1, MAX_THREADS, &c->concurrency))
				return rig_bad_arg(PROG, "--concurrency", optarg);
			break;
		case 'r':
			if (rig_parse_long(optarg, 0, 1000000000L, &c->rate))
				return rig_bad_arg(PROG, "--rate", optarg);
			break;
		case 's':
			if (rig_parse_port_range(optarg, &c->sport_lo, &c->sport_hi))
				return rig_bad_arg(PROG, "--sport-range", optarg);
			break;
		case 'c':
			if (rig_parse_long(optarg, 0, CPU_SETSIZE - 1, &c->cpu))
				return rig_bad_arg(PROG, "--cpu", optarg);
			break;
		case 'f':
			if (rig_parse_long(optarg, 1, MAX_FLOWS, &c->flows))
				return rig_bad_arg(PROG, "--flows", optarg);
			break;
		case 'H':
			c->http = true;
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
	if (!c->port || c->count < 0) {
		rig_log(PROG, "failed to parse arguments: --port and --count are required");
		return -EINVAL;
	}
	if (c->flows && !c->udp) {
		rig_log(PROG, "failed to parse arguments: --flows needs --proto udp");
		return -EINVAL;
	}
	if (c->http && c->udp) {
		rig_log(PROG, "failed to parse arguments: --http needs --proto tcp");
		return -EINVAL;
	}
	if (rig_parse_addr(c->addr, c->port, &c->dst, &c->dstlen))
		return rig_bad_arg(PROG, "--addr", c->addr);
	if (c->http)
		c->request_len = (size_t)snprintf(c->request, sizeof(c->request),
						  "GET / HTTP/1.0\r\nHost: %s%s%s:%ld\r\n\r\n",
						  c->dst.ss_family == AF_INET6 ? "[" : "", c->addr,
						  c->dst.ss_family == AF_INET6 ? "]" : "", c->port);
	return 0;
}

/* Binds fd to the n-th source port of --sport-range (cyclically); 0 or -errno. */
static int bind_sport(const struct client *c, int fd, long n)
{
	long port = c->sport_lo + n % (c->sport_hi - c->sport_lo + 1);
	struct sockaddr_storage src;
	socklen_t len;
	int one = 1;

	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)))
		return -errno;
	rig_any_addr(&c->dst, port, &src, &len);
	if (bind(fd, (const struct sockaddr *)&src, len))
		return -errno;
	return 0;
}

/* Waits for events on fd until deadline: 1 ready, -ETIMEDOUT, or -errno. */
static int wait_fd(int fd, short events, int64_t deadline)
{
	struct pollfd p = {.fd = fd, .events = events};
	int64_t left;
	int r;

	for (;;) {
		left = deadline - rig_now_ns();
		if (left <= 0)
			return -ETIMEDOUT;
		r = poll(&p, 1, (int)((left + 999999) / 1000000));
		if (r > 0)
			return 1;
		if (r < 0 && errno != EINTR)
			return -errno;
	}
}

static int connect_wait(const struct client *c, int fd)
{
	socklen_t len = sizeof(int);
	int soerr = 0, r;

	if (!connect(fd, (const struct sockaddr *)&c->dst, c->dstlen))
		return 0;
	if (errno != EINPROGRESS)
		return -errno;
	r = wait_fd(fd, POLLOUT, rig_now_ns() + TIMEOUT_NS);
	if (r < 0)
		return r;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &soerr, &len))
		return -errno;
	return -soerr;
}

/*
 * Reads until the server closes: 0 or -errno. The first bytes read are kept in head (up to
 * head_len; *got says how many), the rest is ignored.
 */
static int wait_eof(int fd, char *head, size_t head_len, size_t *got)
{
	int64_t deadline = rig_now_ns() + TIMEOUT_NS;
	char buf[256];
	size_t keep;
	ssize_t n;
	int r;

	*got = 0;
	for (;;) {
		n = read(fd, buf, sizeof(buf));
		if (n == 0)
			return 0;
		if (n > 0) {
			keep = head_len - *got < (size_t)n ? head_len - *got : (size_t)n;
			memcpy(head + *got, buf, keep);
			*got += keep;
			continue;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(fd, POLLIN, deadline);
		if (r < 0)
			return r;
	}
}

/* --http: sends the whole request; 0 or -errno. */
static int send_request(const struct client *c, int fd)
{
	int64_t deadline = rig_now_ns() + TIMEOUT_NS;
	size_t sent = 0;
	ssize_t n;
	int r;

	while (sent < c->request_len) {
		n = send(fd, c->request + sent, c->request_len - sent, MSG_NOSIGNAL);
		if (n > 0) {
			sent += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		r = wait_fd(fd, POLLOUT, deadline);
		if (r < 0)
			return r;
	}
	return 0;
}

/* A status line "HTTP/1.x NNN" with NNN from 200 to 499: 0, else -EPROTO. */
static int check_status(const char *head, size_t len)
{
	if (len < STATUS_LEN || memcmp(head, "HTTP/1.", 7) || head[8] != ' ')
		return -EPROTO;
	if (head[9] < '2' || head[9] > '4' || head[10] < '0' || head[10] > '9' || head[11] < '0' ||
	    head[11] > '9')
		return -EPROTO;
	return 0;
}

/* A connected socket: the request (--http), then everything until the server closes. */
static int exchange(const struct client *c, int fd, const char **stage)
{
	char head[STATUS_LEN];
	size_t got;
	int err;

	if (c->http) {
		*stage = "send HTTP request";
		err = send_request(c, fd);
		if (err)
			return err;
	}
	*stage = "read until EOF";
	err = wait_eof(fd, head, sizeof(head), &got);
	if (err || !c->http)
		return err;
	*stage = "read HTTP status (2xx, 3xx or 4xx)";
	return check_status(head, got);
}

/* Connection n: 0, or -errno with *stage saying where it failed. */
static int connect_one(const struct client *c, long n, const char **stage)
{
	long range = c->sport_lo ? c->sport_hi - c->sport_lo + 1 : 0;
	long tries = range < SPORT_TRIES ? range : SPORT_TRIES;
	long k = 0;
	int fd, err;

	/*
	 * With --sport-range: port n of the range, else the next ones (another thread may hold
	 * the 4-tuple right now), and after SPORT_TRIES busy ports an ephemeral one.
	 */
	for (;;) {
		*stage = "create socket";
		fd = socket(c->dst.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		if (k < tries && bind_sport(c, fd, n + k)) {
			close(fd);
			k++;
			continue;
		}
		*stage = "connect";
		err = connect_wait(c, fd);
		if (err == -EADDRNOTAVAIL && k < tries) {
			close(fd);
			k++;
			continue;
		}
		if (!err)
			err = exchange(c, fd, stage);
		close(fd);
		return err;
	}
}

/* Datagram n: 0, or -errno with *stage saying where it failed. */
static int send_one(const struct client *c, long n, const char **stage)
{
	char payload[DGRAM_LEN];
	bool own = false;
	ssize_t sent;
	int fd, err = 0;

	memset(payload, 0, sizeof(payload));
	snprintf(payload, sizeof(payload), "rig %ld", n);
	if (c->flow_fds) {
		fd = c->flow_fds[n % c->flows];
	} else {
		*stage = "create socket";
		fd = socket(c->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (fd < 0)
			return -errno;
		own = true;
		/* Best effort: unbound, sendto() picks an ephemeral port. */
		if (c->sport_lo)
			bind_sport(c, fd, n);
	}
	*stage = "send datagram";
	sent = sendto(fd, payload, sizeof(payload), 0, (const struct sockaddr *)&c->dst, c->dstlen);
	if (sent != (ssize_t)sizeof(payload))
		err = sent < 0 ? -errno : -EMSGSIZE;
	if (own)
		close(fd);
	return err;
}

/* With --rate, item n starts n/R seconds after t0. */
static void pace(const struct client *c, long n)
{
	int64_t at =
		c->t0 + (int64_t)(n / c->rate) * NSEC + (int64_t)(n % c->rate) * NSEC / c->rate;
	struct timespec ts = {.tv_sec = at / NSEC, .tv_nsec = at % NSEC};

	while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
		;
}

static void *run(void *arg)
{
	struct client *c = arg;
	const char *stage = "";
	long n;
	int err;

	while ((n = atomic_fetch_add(&c->next, 1)) < c->count) {
		if (c->rate)
			pace(c, n);
		err = c->udp ? send_one(c, n, &stage) : connect_one(c, n, &stage);
		if (!err) {
			atomic_fetch_add(&c->ok, 1);
			continue;
		}
		atomic_fetch_add(&c->failed, 1);
		pthread_mutex_lock(&c->lock);
		if (!c->first_err) {
			c->first_err = -err;
			c->first_stage = stage;
		}
		pthread_mutex_unlock(&c->lock);
	}
	return NULL;
}

/* --flows: F fixed sockets, bound to --sport-range ports when given; 0 or -1 after saying why. */
static int open_flows(struct client *c)
{
	long i;

	c->flow_fds = calloc(c->flows, sizeof(*c->flow_fds));
	if (!c->flow_fds) {
		rig_log(PROG, "failed to allocate flows: %s", strerror(ENOMEM));
		return -1;
	}
	for (i = 0; i < c->flows; i++) {
		c->flow_fds[i] = socket(c->dst.ss_family, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (c->flow_fds[i] < 0) {
			rig_log(PROG, "failed to create socket for flow %ld: %s", i,
				strerror(errno));
			return -1;
		}
		if (c->sport_lo)
			bind_sport(c, c->flow_fds[i], i);
	}
	return 0;
}

static void close_flows(struct client *c)
{
	long i;

	if (!c->flow_fds)
		return;
	for (i = 0; i < c->flows; i++) {
		if (c->flow_fds[i] >= 0)
			close(c->flow_fds[i]);
	}
	free(c->flow_fds);
	c->flow_fds = NULL;
}

int main(int argc, char **argv)
{
	static struct client cl;
	struct client *c = &cl;
	pthread_t threads[MAX_THREADS];
	long nthreads, started, ok, failed;
	int err = 0, create_err = 0;
	double elapsed;
	cpu_set_t set;

	if (parse_args(argc, argv, c))
		return RIG_EXIT_USAGE;
	pthread_mutex_init(&c->lock, NULL);
	if (c->cpu >= 0) {
		/* Threads inherit the mask of the thread that creates them. */
		CPU_ZERO(&set);
		CPU_SET(c->cpu, &set);
		if (sched_setaffinity(0, sizeof(set), &set)) {
			rig_log(PROG, "failed to pin to CPU %ld: %s", c->cpu, strerror(errno));
			return RIG_EXIT_FAIL;
		}
	}
	if (c->flows && open_flows(c)) {
		close_flows(c);
		return RIG_EXIT_FAIL;
	}

	nthreads = c->concurrency < c->count ? c->concurrency : c->count;
	c->t0 = rig_now_ns();
	for (started = 0; started < nthreads; started++) {
		create_err = pthread_create(&threads[started], NULL, run, c);
		if (create_err)
			break;
	}
	/* Should some threads be missing, the ones running still do every connection. */
	if (!started && c->count)
		run(c);
	while (started > 0)
		pthread_join(threads[--started], NULL);
	elapsed = (double)(rig_now_ns() - c->t0) / NSEC;
	close_flows(c);

	ok = atomic_load(&c->ok);
	failed = atomic_load(&c->failed);
	printf("{\"ok\":%ld,\"failed\":%ld,\"elapsed_s\":%.6f,\"rate\":%.1f}\n", ok, failed,
	       elapsed, elapsed > 0 ? ok / elapsed : 0.0);
	if (fflush(stdout)) {
		rig_log(PROG, "failed to print result: %s", strerror(errno));
		err = -1;
	}
	if (create_err) {
		rig_log(PROG, "failed to create thread: %s", strerror(create_err));
		err = -1;
	}
	if (failed) {
		rig_log(PROG, "failed to complete %ld of %ld %s: %s: %s", failed, c->count,
			c->udp ? "datagrams" : "connections", c->first_stage,
			strerror(c->first_err));
		err = -1;
	}
	pthread_mutex_destroy(&c->lock);
	return err ? RIG_EXIT_FAIL : 0;
}
