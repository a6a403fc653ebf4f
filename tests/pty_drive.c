// SPDX-License-Identifier: GPL-2.0
/*
 * pty_drive: run a program on a terminal of a given size and record what it draws, for the live
 * view's case inside the VMs, which have no tmux. The recording is replayed on the host into a
 * tmux pane of the same size, which renders the screen (tests/vm_cases.sh).
 *
 *   pty_drive COLS ROWS OUT COMMAND [ARGS...]
 *
 * COMMAND runs as the leader of a new session whose controlling terminal is a fresh
 * pseudo-terminal of COLS x ROWS. Everything it writes there goes to OUT.0. Each line read on
 * standard input is a key, typed on the terminal once OUT.N is closed and OUT.N+1 opened: so
 * OUT.0 ... OUT.N replayed show the screen just before key N+1. A line "C-x" types Ctrl-x; any
 * other line is typed as it is, without its newline. Standard input's end types nothing.
 * Exits with COMMAND's exit status (128 + the signal that killed it) once it exited and all it
 * wrote was recorded; 125 when pty_drive itself failed.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/wait.h>
#include <termios.h>
#include <unistd.h>

#define PROG "pty_drive"

struct recording {
	const char *base;
	int seq;
	FILE *out;
};

static int fail(const char *what)
{
	fprintf(stderr, PROG ": failed to %s: %s\n", what, strerror(errno));
	return 125;
}

static int next_segment(struct recording *r)
{
	char path[4096];

	if (r->out && fclose(r->out))
		return -errno;
	snprintf(path, sizeof(path), "%s.%d", r->base, r->seq++);
	r->out = fopen(path, "w");
	return r->out ? 0 : -errno;
}

/* The pseudo-terminal's controller; *follower_name the terminal the command gets. */
static int open_terminal(int cols, int rows, char *follower_name, size_t len)
{
	struct winsize ws = {.ws_row = (unsigned short)rows, .ws_col = (unsigned short)cols};
	int fd = posix_openpt(O_RDWR | O_NOCTTY | O_CLOEXEC);

	if (fd < 0)
		return -1;
	if (grantpt(fd) || unlockpt(fd) || ptsname_r(fd, follower_name, len) ||
	    ioctl(fd, TIOCSWINSZ, &ws)) {
		close(fd);
		return -1;
	}
	return fd;
}

static void run_command(const char *follower_name, char **argv)
{
	int fd;

	if (setsid() < 0 || (fd = open(follower_name, O_RDWR)) < 0 || ioctl(fd, TIOCSCTTY, 0) ||
	    dup2(fd, 0) < 0 || dup2(fd, 1) < 0 || dup2(fd, 2) < 0) {
		perror(PROG ": failed to set up the terminal");
		_exit(125);
	}
	if (fd > 2)
		close(fd);
	execvp(argv[0], argv);
	fprintf(stderr, PROG ": failed to run %s: %s\n", argv[0], strerror(errno));
	_exit(127);
}

/* One line of keys from standard input typed on the terminal; 0 at its end. */
static int type_keys(int term, struct recording *r)
{
	char line[256];
	size_t n;

	if (!fgets(line, sizeof(line), stdin))
		return 0;
	n = strcspn(line, "\n");
	line[n] = '\0';
	if (next_segment(r))
		return -1;
	if (n == 3 && line[0] == 'C' && line[1] == '-') {
		line[0] = (char)(line[2] & 0x1f);
		n = 1;
	}
	return write(term, line, n) == (ssize_t)n ? 1 : -1;
}

/* Copy the terminal's output to the recording and keys to the terminal until it closes. */
static int drive(int term, struct recording *r)
{
	struct pollfd fds[2] = {{.fd = term, .events = POLLIN}, {.fd = 0, .events = POLLIN}};
	char buf[4096];

	for (;;) {
		ssize_t n;

		if (poll(fds, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			return fail("wait for the terminal");
		}
		if (fds[1].revents) {
			int typed = type_keys(term, r);

			if (typed < 0)
				return fail("type a key");
			if (!typed)
				fds[1].fd = -1;
		}
		if (!fds[0].revents)
			continue;
		n = read(term, buf, sizeof(buf));
		/* EIO: every process that had the terminal open is gone. */
		if (n <= 0)
			return 0;
		if (fwrite(buf, 1, (size_t)n, r->out) != (size_t)n || fflush(r->out))
			return fail("record the output");
	}
}

int main(int argc, char **argv)
{
	struct recording r = {NULL, 0, NULL};
	char follower_name[128];
	int cols, rows, term, status, ret;
	pid_t pid;

	if (argc < 5 || (cols = atoi(argv[1])) <= 0 || (rows = atoi(argv[2])) <= 0) {
		fprintf(stderr, "usage: " PROG " COLS ROWS OUT COMMAND [ARGS...]\n");
		return 125;
	}
	r.base = argv[3];
	if (next_segment(&r))
		return fail("open the recording");
	term = open_terminal(cols, rows, follower_name, sizeof(follower_name));
	if (term < 0)
		return fail("open a pseudo-terminal");
	pid = fork();
	if (pid < 0)
		return fail("fork");
	if (!pid)
		run_command(follower_name, argv + 4);
	ret = drive(term, &r);
	if (waitpid(pid, &status, 0) < 0)
		return fail("wait for the command");
	if (fclose(r.out))
		return fail("close the recording");
	if (ret)
		return ret;
	return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}
