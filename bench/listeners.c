// SPDX-License-Identifier: GPL-2.0
/*
 * listeners: holds N idle listening TCP sockets, so that the benchmark can measure what
 * reusetop's user space costs per interval with that many sockets on the host. Binds
 * ADDR:BASE .. ADDR:BASE+N-1 (one socket per port, each its own group), raising RLIMIT_NOFILE
 * first. Prints "ready N" once every socket listens, then sleeps until SIGTERM or SIGINT.
 *
 *   listeners --count N [--addr 127.0.0.1] [--base-port 40000]
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

#include "bench_util.h"

#define PROG	  "listeners"
#define MAX_COUNT 60000
#define FD_SLACK  64

static volatile sig_atomic_t stop;

static void on_stop(int sig)
{
	(void)sig;
	stop = 1;
}

/* Room for count sockets plus stdio: 0 or -errno. */
static int raise_nofile(long count)
{
	struct rlimit rl;
	rlim_t need = (rlim_t)count + FD_SLACK;

	if (getrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	if (rl.rlim_cur >= need)
		return 0;
	if (rl.rlim_max < need)
		rl.rlim_max = need; /* needs CAP_SYS_RESOURCE, which root has */
	rl.rlim_cur = need;
	if (setrlimit(RLIMIT_NOFILE, &rl))
		return -errno;
	return 0;
}

static int listen_on(const struct in_addr *addr, long port)
{
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr = *addr};
	int fd, one = 1;

	sa.sin_port = htons((unsigned short)port);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) ||
	    bind(fd, (struct sockaddr *)&sa, sizeof(sa)) || listen(fd, 16)) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{"count", required_argument, NULL, 'n'},
		{"addr", required_argument, NULL, 'a'},
		{"base-port", required_argument, NULL, 'p'},
		{NULL, 0, NULL, 0},
	};
	const char *addr_s = "127.0.0.1";
	long count = -1, base = 40000, i;
	struct sigaction sa = {.sa_handler = on_stop};
	struct in_addr addr;
	sigset_t mask, old;
	int opt, err;

	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'n':
			if (parse_long(optarg, 1, MAX_COUNT, &count))
				goto usage;
			break;
		case 'a':
			addr_s = optarg;
			break;
		case 'p':
			if (parse_long(optarg, 1, 65535, &base))
				goto usage;
			break;
		default:
			goto usage;
		}
	}
	if (optind != argc || count < 0 || base + count - 1 > 65535 ||
	    inet_pton(AF_INET, addr_s, &addr) != 1)
		goto usage;

	/* Never outlive the benchmark that started us. */
	prctl(PR_SET_PDEATHSIG, SIGTERM);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigprocmask(SIG_BLOCK, &mask, &old);

	err = raise_nofile(count);
	if (err) {
		fprintf(stderr, "%s: failed to raise RLIMIT_NOFILE to %ld: %s\n", PROG,
			count + FD_SLACK, strerror(-err));
		return 1;
	}
	for (i = 0; i < count; i++) {
		err = listen_on(&addr, base + i);
		if (err < 0) {
			fprintf(stderr, "%s: failed to listen on %s port %ld: %s\n", PROG, addr_s,
				base + i, strerror(-err));
			return 1;
		}
	}
	printf("ready %ld\n", count);
	fflush(stdout);
	while (!stop)
		sigsuspend(&old);
	return 0;

usage:
	fprintf(stderr, "usage: %s --count N [--addr IPV4] [--base-port P]\n", PROG);
	return 2;
}
