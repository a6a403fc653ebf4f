// SPDX-License-Identifier: GPL-2.0
/*
 * rig_server's handoff modes: a process that accepted (the master) or received (the broker of
 * handoff-chain) a connection passes it on over a Unix socketpair with SCM_RIGHTS and closes its
 * own copy; the workers receive, count and close. Included by rig_server.c (one translation
 * unit: the stop flag, the thread's wake_fd and rig_log_fd are the rig's statics).
 *
 * Who gets the next connection: round-robin over the live workers, or with --handoff-weights
 * W0,W1,... a repeating order of sum(W) slots in which worker i has W_i (interleaved: round r
 * gives one slot to each worker with W_i > r). With --handoff-exit-after K, worker 0 exits after
 * it received K connections; the dealer gives it no more than K, and the master, when it is the
 * dealer, reaps it at once so it is gone as a process, not a zombie.
 */

#define BROKER_IDX -2 /* the broker's "worker" in its stats line */

/* Who gets the next connection, and what each got. */
struct dealer {
	int *chan; /* one channel per worker (the broker: one), -1 once that one is gone */
	int n;
	int order[MAX_ORDER]; /* worker index per slot */
	int norder;
	int next;
	long exit_after; /* worker 0 gets this many at most (-1: no limit) */
	unsigned long long sent[MAX_WORKERS];
	unsigned long long forwarded;
};

/* This process's dealer: the master's, or the broker's. */
static struct dealer dealer;

static void dealer_init(struct dealer *d, int *chan, int n, const struct opts *o, bool weighted)
{
	int r, i, most = 1;

	memset(d, 0, sizeof(*d));
	d->chan = chan;
	d->n = n;
	d->exit_after = weighted ? o->exit_after : -1;
	if (!weighted || !o->nweights) {
		for (i = 0; i < n; i++)
			d->order[d->norder++] = i;
		return;
	}
	for (i = 0; i < n; i++)
		most = o->weights[i] > most ? o->weights[i] : most;
	for (r = 0; r < most; r++) {
		for (i = 0; i < n; i++) {
			if (o->weights[i] > r)
				d->order[d->norder++] = i;
		}
	}
}

/* The worker of the next slot that can take a connection, or -1 when none can. */
static int dealer_pick(struct dealer *d)
{
	int tries, i;

	for (tries = 0; tries < d->norder; tries++) {
		i = d->order[d->next];
		d->next = (d->next + 1) % d->norder;
		if (d->chan[i] < 0)
			continue;
		if (i == 0 && d->exit_after >= 0 && d->sent[0] >= (unsigned long long)d->exit_after)
			continue;
		return i;
	}
	return -1;
}

/* Sends fd over chan with one byte; the sendmsg() result (-1 and errno on failure). */
static ssize_t send_fd(int chan, int fd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int))];
	} control;
	struct cmsghdr *cm;
	struct msghdr msg;
	struct iovec iov;
	char byte = 'c';
	ssize_t n;

	memset(&control, 0, sizeof(control));
	iov.iov_base = &byte;
	iov.iov_len = 1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	cm = CMSG_FIRSTHDR(&msg);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	do {
		n = sendmsg(chan, &msg, MSG_NOSIGNAL);
	} while (n < 0 && errno == EINTR && !stop);
	return n;
}

/* Passes fd to the next worker the dealer picks and closes it; 0, -EINTR on stop, or -1. */
static int hand_off(struct dealer *d, int fd)
{
	int i, err = 0;
	ssize_t n;

	while ((i = dealer_pick(d)) >= 0) {
		n = send_fd(d->chan[i], fd);
		if (n == 1) {
			d->sent[i]++;
			d->forwarded++;
			close(fd);
			return 0;
		}
		err = errno;
		if (n < 0 && err == EINTR) {
			close(fd);
			return -EINTR;
		}
		if (n < 0 && (err == EPIPE || err == ECONNRESET)) {
			/* That worker is gone (a test may stop one): give it to the next. */
			close(d->chan[i]);
			d->chan[i] = -1;
			continue;
		}
		break;
	}
	close(fd);
	rig_log(PROG, "failed to hand off connection: %s", err ? strerror(err) : "no worker left");
	return -1;
}

/*
 * One message: the connections in it are counted, then passed on through fwd (the broker) or
 * closed. The byte count recvmsg() returned (0: the channel is closed or shut down), or -errno.
 */
static ssize_t receive_connections(struct acceptor *a, int flags, struct dealer *fwd)
{
	union {
		struct cmsghdr hdr;
		char buf[CMSG_SPACE(sizeof(int) * 4)];
	} control;
	struct cmsghdr *cm;
	struct msghdr msg;
	struct iovec iov;
	size_t i, nfds;
	int fd, err = 0;
	char byte;
	ssize_t n;

	iov.iov_base = &byte;
	iov.iov_len = 1;
	memset(&msg, 0, sizeof(msg));
	msg.msg_iov = &iov;
	msg.msg_iovlen = 1;
	msg.msg_control = control.buf;
	msg.msg_controllen = sizeof(control.buf);
	n = recvmsg(a->fd, &msg, flags | MSG_CMSG_CLOEXEC);
	if (n < 0)
		return -errno;
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		nfds = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (i = 0; i < nfds; i++) {
			memcpy(&fd, CMSG_DATA(cm) + i * sizeof(int), sizeof(int));
			a->accepted++;
			if (!fwd)
				close(fd);
			else if (!err && hand_off(fwd, fd) == -1)
				err = -EPIPE;
			else if (err)
				close(fd);
		}
	}
	/* Cannot happen with one descriptor per message; the kernel closed the others. */
	if (msg.msg_flags & MSG_CTRUNC)
		return -EMSGSIZE;
	return err ? err : n;
}

/* Worker 0 with --handoff-exit-after K has received its K connections. */
static bool quota_reached(const struct server *s, const struct acceptor *a)
{
	return a->idx == 0 && s->o.exit_after >= 0 &&
	       a->accepted >= (unsigned long long)s->o.exit_after;
}

/*
 * handoff workers, and the broker (fwd set): receive connections, count them and close or pass
 * them on. At stop, what is already queued on the channel is received and counted too.
 */
static int loop_handoff_worker(const struct server *s, struct acceptor *a, struct dealer *fwd)
{
	ssize_t n;

	for (;;) {
		if (stop || quota_reached(s, a))
			break;
		slow_pause(s, a);
		if (stop)
			break;
		n = receive_connections(a, 0, fwd);
		if (n == -EINTR)
			continue;
		if (n < 0) {
			rig_log(PROG, "failed to receive connection in worker %d: %s", a->idx,
				strerror((int)-n));
			return -1;
		}
		/* The master closed the channel, or the stop handler shut it down. */
		if (n == 0)
			break;
		a->wakeups++;
	}
	while (!quota_reached(s, a) && receive_connections(a, MSG_DONTWAIT, fwd) > 0)
		;
	return 0;
}

/* A handoff worker keeps nothing but its own channel end; the broker its up end and the
 * workers' other ends. */
static void handoff_setup(struct server *s, struct acceptor *a)
{
	int i;

	close(s->lfd);
	close(s->up_master);
	if (a->idx != BROKER_IDX)
		close(s->up_broker);
	for (i = 0; i < s->o.workers; i++) {
		if (a->idx != BROKER_IDX)
			close(s->chan_master[i]);
		if (i != a->idx)
			close(s->chan_worker[i]);
	}
	a->fd = a->idx == BROKER_IDX ? s->up_broker : s->chan_worker[a->idx];
	a->rep_fd = -1;
	a->inode = s->linode;
	wake_fd = a->fd;
}

/* The broker of handoff-chain: receives from the master and deals to the workers. */
static int run_broker(struct server *s, struct acceptor *a)
{
	struct dealer *d = &dealer;
	sigset_t all;
	int err;

	dealer_init(d, s->chan_master, s->o.workers, &s->o, true);
	pthread_sigmask(SIG_SETMASK, &s->loopmask, NULL);
	err = loop_handoff_worker(s, a, d);
	a->nvcsw_end = nvcsw_now(a->rusage_who);
	a->forwarded = (long long)d->forwarded;
	sigfillset(&all);
	pthread_sigmask(SIG_BLOCK, &all, NULL);
	if (write_stats(s, a))
		err = -1;
	return err;
}

/* Waits for worker 0 once the dealer stopped giving it connections: it exits by itself. */
static void reap_retired(struct server *s, const struct dealer *d)
{
	int st;

	if (d->exit_after < 0 || s->pids[0] <= 0 || d->sent[0] < (unsigned long long)d->exit_after)
		return;
	if (waitpid(s->pids[0], &st, 0) == s->pids[0]) {
		s->pids[0] = 0;
		s->status[0] = st;
	}
}

/*
 * The handoff master's loop: blocking accept(), hand off (to the workers, or to the broker of
 * handoff-chain), and its own stats line (worker -1).
 */
static int master_handoff(struct server *s, const sigset_t *blocked)
{
	struct acceptor a = {.idx = -1,
			     .fd = s->lfd,
			     .ep = -1,
			     .rep_fd = s->lfd,
			     .rusage_who = RUSAGE_SELF,
			     .forwarded = 0};
	bool chain = s->o.mode == MODE_HANDOFF_CHAIN;
	struct dealer *d = &dealer;
	int fd, r, err = 0;

	if (chain)
		dealer_init(d, &s->up_master, 1, &s->o, false);
	else
		dealer_init(d, s->chan_master, s->o.workers, &s->o, true);
	a.inode = s->linode;
	a.nvcsw_base = nvcsw_now(a.rusage_who);
	wake_fd = s->lfd;
	sigprocmask(SIG_SETMASK, &s->waitmask, NULL);
	for (;;) {
		if (stop)
			break;
		fd = accept(s->lfd, NULL, NULL);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0 && errno == EINVAL && stop)
			break;
		a.wakeups++;
		if (fd < 0) {
			if (accept_transient(errno))
				continue;
			rig_log(PROG, "failed to accept connection in master: %s", strerror(errno));
			err = -1;
			break;
		}
		a.accepted++;
		r = hand_off(d, fd);
		if (r == -EINTR)
			break;
		if (r) {
			err = -1;
			break;
		}
		if (!chain)
			reap_retired(s, d);
	}
	sigprocmask(SIG_BLOCK, blocked, NULL);
	wake_fd = -1;
	a.forwarded = (long long)d->forwarded;
	if (write_stats(s, &a))
		err = -1;
	return err;
}

/*
 * handoff-chain: SIGTERM the broker (again every 100 ms) and reap it before the workers are
 * stopped, so that it passes on what is still queued for it; 0, or -1 after saying why.
 */
static int stop_broker(struct server *s)
{
	struct timespec tick = {.tv_sec = 0, .tv_nsec = RESEND_NS};
	int64_t start = rig_now_ns();
	pid_t pid = s->pids[s->o.workers];
	sigset_t chld;
	int st;

	if (pid <= 0)
		return 0;
	sigemptyset(&chld);
	sigaddset(&chld, SIGCHLD);
	for (;;) {
		kill(pid, SIGTERM);
		if (waitpid(pid, &st, WNOHANG) == pid)
			break;
		if (rig_now_ns() - start > STOP_TIMEOUT_NS) {
			rig_log(PROG, "failed to stop the broker: timed out");
			kill(pid, SIGKILL);
			waitpid(pid, &st, 0);
			s->pids[s->o.workers] = 0;
			return -1;
		}
		sigtimedwait(&chld, NULL, &tick);
	}
	s->pids[s->o.workers] = 0;
	s->status[s->o.workers] = st;
	return 0;
}

/* The socketpairs: master to each worker, or master to broker and broker to each worker. */
static int handoff_channels(struct server *s)
{
	int i, sv[2];

	for (i = 0; i < s->o.workers; i++) {
		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
			rig_log(PROG, "failed to create socketpair: %s", strerror(errno));
			return -1;
		}
		s->chan_master[i] = sv[0];
		s->chan_worker[i] = sv[1];
	}
	if (s->o.mode != MODE_HANDOFF_CHAIN)
		return 0;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv)) {
		rig_log(PROG, "failed to create socketpair: %s", strerror(errno));
		return -1;
	}
	s->up_master = sv[0];
	s->up_broker = sv[1];
	return 0;
}

/* The master keeps its listener and its sending ends only. */
static void handoff_master_close(struct server *s)
{
	int i;

	for (i = 0; i < s->o.workers; i++) {
		close(s->chan_worker[i]);
		s->chan_worker[i] = -1;
		if (s->o.mode == MODE_HANDOFF_CHAIN) {
			close(s->chan_master[i]);
			s->chan_master[i] = -1;
		}
	}
	if (s->up_broker >= 0)
		close(s->up_broker);
	s->up_broker = -1;
}

/* --handoff-weights W0,W1,...: one weight per worker, 0..1000, their sum above 0. */
static int parse_weights(const char *arg, struct opts *o)
{
	const char *p = arg;
	char num[16];
	long v, sum = 0;
	size_t len;

	o->nweights = 0;
	while (*p) {
		len = strcspn(p, ",");
		if (!len || len >= sizeof(num) || o->nweights == MAX_WORKERS)
			return rig_bad_arg(PROG, "--handoff-weights", arg);
		memcpy(num, p, len);
		num[len] = '\0';
		if (rig_parse_long(num, 0, 1000, &v))
			return rig_bad_arg(PROG, "--handoff-weights", arg);
		o->weights[o->nweights++] = (int)v;
		sum += v;
		p += len;
		if (*p == ',' && !*++p)
			return rig_bad_arg(PROG, "--handoff-weights", arg);
	}
	if (!sum || sum > MAX_ORDER)
		return rig_bad_arg(PROG, "--handoff-weights", arg);
	return 0;
}

/* The handoff options go with the handoff modes, one weight per worker. */
static int check_handoff_args(const struct opts *o)
{
	bool handoff = o->mode == MODE_HANDOFF || o->mode == MODE_HANDOFF_CHAIN;

	if ((o->nweights || o->exit_after >= 0) && !handoff) {
		rig_log(PROG, "failed to parse arguments: --handoff-weights and "
			      "--handoff-exit-after need a handoff mode");
		return -EINVAL;
	}
	if (o->nweights && o->nweights != o->workers) {
		rig_log(PROG, "failed to parse --handoff-weights: %d weights for %d workers",
			o->nweights, o->workers);
		return -EINVAL;
	}
	return 0;
}
