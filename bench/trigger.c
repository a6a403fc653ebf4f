// SPDX-License-Identifier: GPL-2.0
/*
 * trigger: tight loops of the events reusetop hooks, timed from user space, after the kernel's
 * BPF bench "trigger" benchmarks: what a variant adds to them is the full cost per event, the
 * program dispatch and the system call slow path included, which run_time_ns leaves out.
 *
 *   trigger accept --port P --count N --batch B [--hold]
 *	A non-blocking listener on 127.0.0.1:P (backlog B), in one process. Per batch: connect B
 *	non-blocking clients (SO_LINGER 0: closed with a reset, no TIME_WAIT), wait until all B
 *	are on the accept queue (the listener's TCP_INFO), accept4() them one after the other,
 *	each call timed, then close them all; until N accepts. --hold: after printing, keep the
 *	listener open until a signal ends the process (a tracer's counts for it can then be read).
 *   trigger getppid --count N --batch B
 *	N getppid() system calls, in batches of B, each batch timed: a process that has nothing
 *	to do with sockets.
 *
 * One JSON line on stdout. accept: {"mode":"accept","pid","listener_inode","accepts","batch",
 * "elapsed_ns","call_median_ns","call_p10_ns","call_mean_ns","batch_median_ns",
 * "connect_median_ns"}: the median, 10th percentile and mean of the single accept4() calls
 * (each with one clock read), the median over batches of their mean time per accept, and the
 * same per connect (handshake and enqueue included, on loopback). getppid: {"mode":"getppid",
 * "pid","calls","batch","elapsed_ns","batch_median_ns","batch_p10_ns","mean_ns"}: the median
 * and 10th percentile over batches of their mean time per call. Medians, because other
 * processes on a shared machine preempt some calls and batches; 10th percentiles, because on
 * this one they also slow down whole stretches of a run, at times more than half of it.
 */
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sched.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define PROG "trigger"
/* How long a batch may take to reach the accept queue. */
#define QUEUE_WAIT_NS 5000000000ULL

struct options {
	const char *mode;
	long port;
	long count;
	long batch;
	int hold;
};

/* An accept run: its timings and its sockets. */
struct accept_run {
	int listener;
	int *clients;
	int *accepted;
	uint32_t *calls; /* each accept4() call, ns */
	double *batch_ns; /* each batch's mean per accept */
	double *connect_ns; /* each batch's mean per connect */
	long nbatches;
};

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Medians, sorting v. */
static double median_u32(uint32_t *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

static double median_double(double *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

static double mean_u32(const uint32_t *v, long n)
{
	double sum = 0;

	for (long i = 0; i < n; i++)
		sum += v[i];
	return sum / n;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	if (argc < 2)
		return -EINVAL;
	o->mode = argv[1];
	for (int i = 2; i < argc; i++) {
		const char *v = i + 1 < argc ? argv[i + 1] : NULL;
		int err = 0;

		if (!strcmp(argv[i], "--hold")) {
			o->hold = 1;
			continue;
		}
		if (!strcmp(argv[i], "--port"))
			err = parse_long(v, 1, 65535, &o->port);
		else if (!strcmp(argv[i], "--count"))
			err = parse_long(v, 1, 1000000000L, &o->count);
		else if (!strcmp(argv[i], "--batch"))
			err = parse_long(v, 1, 65535, &o->batch);
		else
			err = -EINVAL;
		if (err)
			return err;
		i++;
	}
	if (!o->count || !o->batch || o->batch > o->count)
		return -EINVAL;
	if (!strcmp(o->mode, "accept"))
		return o->port ? 0 : -EINVAL;
	return !strcmp(o->mode, "getppid") && !o->port && !o->hold ? 0 : -EINVAL;
}

/* ---- accept ----------------------------------------------------------------------------- */

static int open_listener(long port, long backlog, uint64_t *inode)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct stat st;
	int fd, one = 1, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&a, sizeof(a)) || listen(fd, (int)backlog) ||
	    fstat(fd, &st)) {
		err = -errno;
		close(fd);
		return err;
	}
	*inode = (uint64_t)st.st_ino;
	return fd;
}

/* A non-blocking client connecting to the listener, closed with a reset; the fd or -errno. */
static int open_client(long port)
{
	struct sockaddr_in a = {.sin_family = AF_INET,
				.sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	struct linger lg = {.l_onoff = 1, .l_linger = 0};
	int fd, err;

	fd = socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_LINGER, &lg, sizeof(lg)) ||
	    (connect(fd, (struct sockaddr *)&a, sizeof(a)) && errno != EINPROGRESS)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* Waits until the listener's accept queue holds n connections; 0 or -errno (-ETIMEDOUT). */
static int wait_queue(int listener, long n)
{
	uint64_t deadline = now_ns() + QUEUE_WAIT_NS;
	struct tcp_info ti;
	socklen_t len;

	for (;;) {
		len = sizeof(ti);
		if (getsockopt(listener, IPPROTO_TCP, TCP_INFO, &ti, &len))
			return -errno;
		/* A listener's TCP_INFO gives its accept queue's length here. */
		if ((long)ti.tcpi_unacked >= n)
			return 0;
		if (now_ns() > deadline)
			return -ETIMEDOUT;
		sched_yield();
	}
}

static void close_all(int *fds, long n)
{
	for (long i = 0; i < n; i++) {
		if (fds[i] >= 0)
			close(fds[i]);
		fds[i] = -1;
	}
}

/* One batch of n: connect, wait for the queue, accept each (timed into calls), close all. */
static int accept_batch(struct accept_run *r, long port, long n, uint32_t *calls)
{
	uint64_t t0, t, prev;
	int err = 0;

	t0 = now_ns();
	for (long i = 0; i < n; i++) {
		r->clients[i] = open_client(port);
		if (r->clients[i] < 0) {
			err = r->clients[i];
			fprintf(stderr, "%s: failed to connect: %s\n", PROG, strerror(-err));
			goto out;
		}
	}
	r->connect_ns[r->nbatches] = (double)(now_ns() - t0) / n;
	err = wait_queue(r->listener, n);
	if (err) {
		fprintf(stderr, "%s: failed to fill the accept queue: %s\n", PROG, strerror(-err));
		goto out;
	}
	prev = t0 = now_ns();
	for (long i = 0; i < n; i++) {
		r->accepted[i] = accept4(r->listener, NULL, NULL, SOCK_CLOEXEC);
		t = now_ns();
		if (r->accepted[i] < 0) {
			err = -errno;
			fprintf(stderr, "%s: failed to accept: %s\n", PROG, strerror(-err));
			goto out;
		}
		calls[i] = t - prev > UINT32_MAX ? UINT32_MAX : (uint32_t)(t - prev);
		prev = t;
	}
	r->batch_ns[r->nbatches++] = (double)(prev - t0) / n;
out:
	/* The clients first: their resets leave the accepted sockets closed already. */
	close_all(r->clients, n);
	close_all(r->accepted, n);
	return err;
}

static void free_run(struct accept_run *r)
{
	free(r->clients);
	free(r->accepted);
	free(r->calls);
	free(r->batch_ns);
	free(r->connect_ns);
}

static int alloc_run(struct accept_run *r, const struct options *o)
{
	long nb = (o->count + o->batch - 1) / o->batch;

	r->clients = malloc((size_t)o->batch * sizeof(*r->clients));
	r->accepted = malloc((size_t)o->batch * sizeof(*r->accepted));
	r->calls = calloc((size_t)o->count, sizeof(*r->calls));
	r->batch_ns = calloc((size_t)nb, sizeof(*r->batch_ns));
	r->connect_ns = calloc((size_t)nb, sizeof(*r->connect_ns));
	if (!r->clients || !r->accepted || !r->calls || !r->batch_ns || !r->connect_ns) {
		free_run(r);
		return -ENOMEM;
	}
	for (long i = 0; i < o->batch; i++)
		r->clients[i] = r->accepted[i] = -1;
	return 0;
}

static int run_accept(const struct options *o)
{
	struct accept_run r = {0};
	uint64_t inode = 0, start, elapsed;
	double mean, median;
	long done = 0, n;
	int err;

	err = alloc_run(&r, o);
	if (err) {
		fprintf(stderr, "%s: failed to allocate timings: %s\n", PROG, strerror(-err));
		return 1;
	}
	r.listener = open_listener(o->port, o->batch, &inode);
	if (r.listener < 0) {
		fprintf(stderr, "%s: failed to listen on 127.0.0.1:%ld: %s\n", PROG, o->port,
			strerror(-r.listener));
		free_run(&r);
		return 1;
	}
	start = now_ns();
	for (; done < o->count && !err; done += n) {
		n = o->count - done < o->batch ? o->count - done : o->batch;
		err = accept_batch(&r, o->port, n, r.calls + done);
	}
	elapsed = now_ns() - start;
	if (!err) {
		mean = mean_u32(r.calls, o->count);
		median = median_u32(r.calls, o->count);
		printf("{\"mode\":\"accept\",\"pid\":%d,\"listener_inode\":%llu,\"accepts\":%ld,"
		       "\"batch\":%ld,\"elapsed_ns\":%llu,\"call_median_ns\":%.1f,\"call_p10_ns\":%"
		       "u,"
		       "\"call_mean_ns\":%.1f,\"batch_median_ns\":%.1f,\"connect_median_ns\":%.1f}"
		       "\n",
		       (int)getpid(), (unsigned long long)inode, o->count, o->batch,
		       (unsigned long long)elapsed, median, r.calls[o->count / 10], mean,
		       median_double(r.batch_ns, r.nbatches),
		       median_double(r.connect_ns, r.nbatches));
		fflush(stdout);
	}
	/* Until a signal ends the process (the kernel closes the listener then). */
	while (!err && o->hold)
		pause();
	close(r.listener);
	free_run(&r);
	return err ? 1 : 0;
}

/* ---- getppid ---------------------------------------------------------------------------- */

static int run_getppid(const struct options *o)
{
	long nb = o->count / o->batch;
	uint64_t start, elapsed, t0;
	double *batch_ns, median;

	batch_ns = calloc((size_t)nb, sizeof(*batch_ns));
	if (!batch_ns) {
		fprintf(stderr, "%s: failed to allocate timings: %s\n", PROG, strerror(ENOMEM));
		return 1;
	}
	start = now_ns();
	for (long b = 0; b < nb; b++) {
		t0 = now_ns();
		/* The system call itself: no library wrapper may answer it from a cache. */
		for (long i = 0; i < o->batch; i++)
			syscall(SYS_getppid);
		batch_ns[b] = (double)(now_ns() - t0) / o->batch;
	}
	elapsed = now_ns() - start;
	median = median_double(batch_ns, nb);
	printf("{\"mode\":\"getppid\",\"pid\":%d,\"calls\":%ld,\"batch\":%ld,\"elapsed_ns\":%llu,"
	       "\"batch_median_ns\":%.1f,\"batch_p10_ns\":%.1f,\"mean_ns\":%.1f}\n",
	       (int)getpid(), nb * o->batch, o->batch, (unsigned long long)elapsed, median,
	       batch_ns[nb / 10], (double)elapsed / (double)(nb * o->batch));
	free(batch_ns);
	return 0;
}

int main(int argc, char **argv)
{
	struct options o = {0};

	if (parse_options(argc, argv, &o)) {
		fprintf(stderr,
			"usage: %s accept --port P --count N --batch B [--hold]\n"
			"       %s getppid --count N --batch B\n",
			PROG, PROG);
		return 2;
	}
	return strcmp(o.mode, "accept") ? run_getppid(&o) : run_accept(&o);
}
