// SPDX-License-Identifier: GPL-2.0
/*
 * shortlived: a SO_REUSEPORT group that lives a few milliseconds, as the kernel's reuseport
 * selftests make them: N listeners on ADDR:PORT, C connections from this process, every one
 * accepted, then everything closed. Prints per listener what it accepted, the ground truth:
 *
 *   {"inode":INODE,"accepted":N,"lived_us":US}
 *
 * usage: shortlived PORT N C
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define MAX_LISTENERS 16
#define MAX_CONNS     1024

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int listener(const struct sockaddr_in *sa)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one)) ||
	    bind(fd, (const struct sockaddr *)sa, sizeof(*sa)) || listen(fd, MAX_CONNS))
		return -1;
	return fd;
}

/* Accept what is queued on every listener until n connections were accepted. */
static int accept_all(const int *ls, int n, unsigned long *accepted, int want)
{
	struct pollfd pfd[MAX_LISTENERS];
	int got = 0;

	for (int i = 0; i < n; i++)
		pfd[i] = (struct pollfd){.fd = ls[i], .events = POLLIN};
	while (got < want) {
		if (poll(pfd, (nfds_t)n, 1000) <= 0)
			return -1;
		for (int i = 0; i < n; i++) {
			int c = (pfd[i].revents & POLLIN) ? accept(ls[i], NULL, NULL) : -1;

			if (c >= 0) {
				close(c);
				accepted[i]++;
				got++;
			}
		}
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct sockaddr_in sa = {.sin_family = AF_INET};
	int ls[MAX_LISTENERS], cs[MAX_CONNS], n, conns;
	unsigned long accepted[MAX_LISTENERS] = {0};
	unsigned long long inode[MAX_LISTENERS];
	double start;

	if (argc != 4 || (n = atoi(argv[2])) < 1 || n > MAX_LISTENERS ||
	    (conns = atoi(argv[3])) < 1 || conns > MAX_CONNS || atoi(argv[1]) < 1) {
		fprintf(stderr, "usage: shortlived PORT LISTENERS(1-16) CONNECTIONS(1-1024)\n");
		return 2;
	}
	sa.sin_port = htons((uint16_t)atoi(argv[1]));
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	start = now_us();
	for (int i = 0; i < n; i++) {
		struct stat st;

		if ((ls[i] = listener(&sa)) < 0 || fstat(ls[i], &st)) {
			perror("shortlived: listener");
			return 1;
		}
		inode[i] = st.st_ino;
	}
	for (int i = 0; i < conns; i++) {
		cs[i] = socket(AF_INET, SOCK_STREAM, 0);
		if (cs[i] < 0 || connect(cs[i], (struct sockaddr *)&sa, sizeof(sa))) {
			perror("shortlived: connect");
			return 1;
		}
	}
	if (accept_all(ls, n, accepted, conns)) {
		fprintf(stderr, "shortlived: not every connection was accepted\n");
		return 1;
	}
	for (int i = 0; i < conns; i++)
		close(cs[i]);
	for (int i = 0; i < n; i++)
		close(ls[i]);
	for (int i = 0; i < n; i++)
		printf("{\"inode\":%llu,\"accepted\":%lu,\"lived_us\":%.0f}\n", inode[i],
		       accepted[i], now_us() - start);
	return 0;
}
