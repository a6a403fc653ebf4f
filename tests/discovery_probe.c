// SPDX-License-Identifier: GPL-2.0
/*
 * Manual check of discovery: prints what it finds, like `ss -ltnp` (-u adds UDP), and how long
 * each scan took. Usage: discovery_probe [-u] [-U] [-q] [-n SCANS] [-i MS]
 *   -u  TCP and UDP    -U  UDP only    -q  summary lines only
 *   -n  scans to run (default 1)       -i  milliseconds between scans (default 0)
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "observe/discovery.h"

static double now_s(clockid_t clk)
{
	struct timespec ts;

	clock_gettime(clk, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void print_listener(const struct rt_listener *l)
{
	char addr[INET6_ADDRSTRLEN];

	inet_ntop(l->family, l->addr, addr, sizeof(addr));
	printf("%s%c netns=%llu %s%s%s:%u ino=%llu q=%u b=%u drops=%lld uid=%u if=%u users:(",
	       l->proto == IPPROTO_TCP ? "tcp" : "udp", l->family == AF_INET6 ? '6' : '4',
	       (unsigned long long)l->netns, l->family == AF_INET6 ? "[" : "", addr,
	       l->family == AF_INET6 ? "]" : "", l->port, (unsigned long long)l->inode, l->queue,
	       l->backlog, (long long)l->drops, l->uid, l->bound_ifindex);
	for (size_t i = 0; i < l->nholders; i++)
		printf("%s(\"%s\",pid=%d,fd=%d)", i ? "," : "", l->holders[i].comm,
		       l->holders[i].pid, l->holders[i].fd);
	printf(")\n");
}

int main(int argc, char **argv)
{
	unsigned int protos = 1u << IPPROTO_TCP;
	long scans = 1, interval_ms = 0;
	struct rt_discovery *d;
	int opt, err, quiet = 0;

	while ((opt = getopt(argc, argv, "uUqn:i:")) != -1) {
		switch (opt) {
		case 'u':
			protos |= 1u << IPPROTO_UDP;
			break;
		case 'U':
			protos = 1u << IPPROTO_UDP;
			break;
		case 'q':
			quiet = 1;
			break;
		case 'n':
			scans = strtol(optarg, NULL, 10);
			break;
		case 'i':
			interval_ms = strtol(optarg, NULL, 10);
			break;
		default:
			fprintf(stderr, "usage: %s [-u] [-U] [-q] [-n SCANS] [-i MS]\n", argv[0]);
			return 2;
		}
	}
	if ((err = discovery_new(&d, protos))) {
		fprintf(stderr, "failed to start discovery: %s\n", strerror(-err));
		return 1;
	}
	for (long s = 0; s < scans; s++) {
		const struct rt_listener *ls;
		double t0, c0;
		size_t n, nholders = 0;

		if (s && interval_ms)
			usleep((useconds_t)interval_ms * 1000);
		t0 = now_s(CLOCK_MONOTONIC);
		c0 = now_s(CLOCK_PROCESS_CPUTIME_ID);
		if ((err = discovery_scan(d, &ls, &n))) {
			fprintf(stderr, "failed to scan: %s\n", strerror(-err));
			break;
		}
		for (size_t i = 0; i < n; i++)
			nholders += ls[i].nholders;
		printf("# scan %ld: %zu sockets, %zu holders, %u netns failed, %.3f ms wall, "
		       "%.3f ms cpu\n",
		       s, n, nholders, discovery_netns_failed(d),
		       (now_s(CLOCK_MONOTONIC) - t0) * 1e3,
		       (now_s(CLOCK_PROCESS_CPUTIME_ID) - c0) * 1e3);
		for (size_t i = 0; !quiet && i < n; i++)
			print_listener(&ls[i]);
		fflush(stdout);
	}
	discovery_free(d);
	return err ? 1 : 0;
}
