// SPDX-License-Identifier: GPL-2.0
/*
 * unix_pingpong: what a process reusetop does not watch pays for the hand-off probes. One
 * thread sends one byte with sendmsg(2) on one end of a Unix socketpair (SOCK_SEQPACKET, as
 * the rig's hand-off channels) and reads it back with recvmsg(2) on the other, N times, with no
 * control message; every call is timed (CLOCK_MONOTONIC before and after). One JSON line:
 *
 *   {"pid":PID,"pairs":N,"elapsed_ns":NS,"ns_per_pair":MEAN,"pair_median_ns":M,
 *    "sendmsg_median_ns":M,"recvmsg_median_ns":M,"sendmsg_mean_ns":MEAN,"recvmsg_mean_ns":MEAN}
 *
 * The medians are those of the single calls (a pair: its sendmsg and recvmsg): a call that
 * other processes preempted moves the means, not the medians. Each call's time includes one
 * clock read (the same with and without tracing).
 *
 *   unix_pingpong --count N
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "bench_util.h"

#define PROG "unix_pingpong"

/* Each call's duration (ns, saturated at 4 s). */
struct timings {
	uint32_t *send;
	uint32_t *recv;
	uint32_t *pair;
};

static uint32_t span(uint64_t from, uint64_t to)
{
	return to - from > UINT32_MAX ? UINT32_MAX : (uint32_t)(to - from);
}

/* count pairs, each one byte sent on tx and received on rx, each call timed into t; 0 or -errno. */
static int run(int tx, int rx, long count, struct timings *t)
{
	char out = 'x', in;
	struct iovec siov = {.iov_base = &out, .iov_len = 1};
	struct iovec riov = {.iov_base = &in, .iov_len = 1};
	struct msghdr smsg = {.msg_iov = &siov, .msg_iovlen = 1};
	struct msghdr rmsg = {.msg_iov = &riov, .msg_iovlen = 1};
	uint64_t t0, t1, t2;

	for (long i = 0; i < count; i++) {
		t0 = now_ns();
		if (sendmsg(tx, &smsg, 0) != 1)
			return -errno;
		t1 = now_ns();
		if (recvmsg(rx, &rmsg, 0) != 1)
			return -errno;
		t2 = now_ns();
		t->send[i] = span(t0, t1);
		t->recv[i] = span(t1, t2);
		t->pair[i] = span(t0, t2);
	}
	return 0;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;

	return (x > y) - (x < y);
}

/* The mean of v, and its median (sorting v). */
static double mean_of(const uint32_t *v, long n)
{
	double sum = 0;

	for (long i = 0; i < n; i++)
		sum += v[i];
	return sum / n;
}

static double median_of(uint32_t *v, long n)
{
	qsort(v, (size_t)n, sizeof(*v), cmp_u32);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + (double)v[n / 2]) / 2;
}

static void report(struct timings *t, long count, uint64_t elapsed)
{
	double send_mean = mean_of(t->send, count), recv_mean = mean_of(t->recv, count);

	printf("{\"pid\":%d,\"pairs\":%ld,\"elapsed_ns\":%llu,\"ns_per_pair\":%.1f,"
	       "\"pair_median_ns\":%.1f,\"sendmsg_median_ns\":%.1f,\"recvmsg_median_ns\":%.1f,"
	       "\"sendmsg_mean_ns\":%.1f,\"recvmsg_mean_ns\":%.1f}\n",
	       (int)getpid(), count, (unsigned long long)elapsed, (double)elapsed / count,
	       median_of(t->pair, count), median_of(t->send, count), median_of(t->recv, count),
	       send_mean, recv_mean);
}

static void free_timings(struct timings *t)
{
	free(t->send);
	free(t->recv);
	free(t->pair);
}

int main(int argc, char **argv)
{
	struct timings t = {0};
	uint64_t start, elapsed;
	long count = 0;
	int sv[2], err;

	if (argc != 3 || strcmp(argv[1], "--count") || parse_long(argv[2], 1, 100000000L, &count)) {
		fprintf(stderr, "usage: %s --count N\n", PROG);
		return 2;
	}
	t.send = calloc((size_t)count, sizeof(*t.send));
	t.recv = calloc((size_t)count, sizeof(*t.recv));
	t.pair = calloc((size_t)count, sizeof(*t.pair));
	if (!t.send || !t.recv || !t.pair) {
		fprintf(stderr, "%s: failed to allocate timings: %s\n", PROG, strerror(ENOMEM));
		free_timings(&t);
		return 1;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		fprintf(stderr, "%s: failed to create socketpair: %s\n", PROG, strerror(errno));
		free_timings(&t);
		return 1;
	}
	start = now_ns();
	err = run(sv[0], sv[1], count, &t);
	elapsed = now_ns() - start;
	close(sv[0]);
	close(sv[1]);
	if (err)
		fprintf(stderr, "%s: failed to pass a byte: %s\n", PROG, strerror(-err));
	else
		report(&t, count, elapsed);
	free_timings(&t);
	return err ? 1 : 0;
}
