// SPDX-License-Identifier: GPL-2.0
/*
 * `reusetop steer`: steering a running server's SO_REUSEPORT group with a BPF policy. This file
 * is the command: options, privileges and setup, then one action on the group (apply, --show
 * or --detach) and, with --follow, an apply every interval until a signal.
 *
 * Our copies of the members' sockets are closed before returning (and between --follow
 * rounds): a socket the server closes must really close, and leave the group.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netinet/in.h>

#include "guard.h"
#include "internal.h"
#include "setup.h"
#include "util.h"

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

int fail(struct ctx *c, int status, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	c->status = status;
	return -1;
}

/*
 * Loading an sk_reuseport program and creating a REUSEPORT_SOCKARRAY need CAP_BPF (measured on
 * 6.18: not CAP_NET_ADMIN; SO_ATTACH_REUSEPORT_EBPF on a socket needs nothing); the group probe
 * and least-loaded's trackers are tracepoint programs (CAP_PERFMON). Taking another process's
 * socket needs ptrace access to it, checked when it happens (CAP_SYS_PTRACE, or the same user
 * without Yama restrictions); discovery enters other network namespaces (CAP_SYS_ADMIN).
 */
static int check_privileges(struct ctx *c)
{
	char missing[96];
	int ret = missing_bpf_caps(missing, sizeof(missing));

	if (ret)
		return fail(c, RT_EXIT_RUNTIME, "failed to read capabilities: %s", strerror(-ret));
	if (missing[0])
		return fail(c, RT_EXIT_USAGE, "steer needs root (missing %s)", missing);
	return 0;
}

/* bpffs at /sys/fs/bpf (mounted when absent) and our folder in it. */
static int ensure_pin_root(struct ctx *c)
{
	int err = ensure_bpffs();

	if (err)
		return fail(c, RT_EXIT_RUNTIME, "failed to mount bpffs on /sys/fs/bpf: %s",
			    strerror(-err));
	if (mkdir(STEER_PIN_ROOT, 0700) && errno != EEXIST)
		return fail(c, RT_EXIT_RUNTIME, "failed to create %s: %s", STEER_PIN_ROOT,
			    strerror(errno));
	return 0;
}

static int lock_pins(struct ctx *c)
{
	const char *step = "";
	int err = pins_lock(&c->lockfd, &step);

	if (err)
		return fail(c, RT_EXIT_RUNTIME, "failed to %s %s: %s", step, STEER_PIN_ROOT,
			    strerror(-err));
	return 0;
}

/*
 * --follow: every interval, the group's members again (and the program, should it be gone);
 * with --guard (gd), its check after each round, which ends the loop once it restored the group.
 */
static int follow(struct ctx *c, struct guard *gd)
{
	struct group *g = malloc(sizeof(*g));
	bool missing = false, tripped = false;
	int r;

	if (!g)
		return fail(c, RT_EXIT_RUNTIME, "out of memory");
	for (unsigned long round = 1; !stop_requested; round++) {
		if (!sleep_until(mono_s() + c->o->interval_s, &stop_requested) || lock_pins(c))
			break;
		r = find_group(c, g);
		if (r == NOT_FOUND) {
			/* The server may be restarting: wait for the group to come back. */
			if (!missing)
				printf("%s port %u: the group is gone; waiting for it\n",
				       proto_name(c->o->proto), c->o->port);
			fflush(stdout);
			missing = true;
			c->status = 0;
			pins_unlock(&c->lockfd);
			continue;
		}
		missing = false;
		if (r == FOUND) {
			r = apply(c, g, round);
			if (!r && gd)
				r = guard_round(c, g, gd);
			close_members(g);
		}
		pins_unlock(&c->lockfd);
		tripped = r == GUARD_TRIPPED;
		if (r && r != NOT_FOUND)
			break;
	}
	free(g);
	return stop_requested || tripped ? 0 : -1;
}

/* The first apply; with --guard, the state before it captured and the first readings. */
static int first_apply(struct ctx *c, struct group *g, struct guard *gd)
{
	int r;

	if (gd && guard_capture(c, g, gd))
		return -1;
	r = apply(c, g, 0);
	if (!r && gd)
		guard_start(c, g, gd);
	return r;
}

/* One action on the group the options name; --follow's loop after a successful apply. */
static void run(struct ctx *c, struct group *g)
{
	const struct steer_options *o = c->o;
	struct guard *gd = NULL;
	int r;

	if (o->action != STEER_ACT_SHOW && lock_pins(c))
		return;
	r = find_group(c, g);
	if (r == NOT_FOUND && o->action == STEER_ACT_DETACH && detach_stale(c) > 0) {
		c->status = RT_EXIT_OK;
		return;
	}
	if (r != FOUND)
		return;
	if (o->guard && !(gd = calloc(1, sizeof(*gd)))) {
		fail(c, RT_EXIT_RUNTIME, "out of memory");
		return;
	}
	if (o->action == STEER_ACT_SHOW)
		r = show(c, g);
	else if (o->action == STEER_ACT_DETACH)
		r = detach(c, g);
	else
		r = first_apply(c, g, gd);
	close_members(g);
	pins_unlock(&c->lockfd);
	if (!r && o->action == STEER_ACT_APPLY && o->follow) {
		printf("following %s: Ctrl-C stops (the program stays attached)%s\n", g->name,
		       gd ? "; guarding" : "");
		fflush(stdout);
		follow(c, gd);
	}
	free(gd);
}

int steer_main(int argc, char **argv)
{
	struct steer_options o;
	struct ctx c = {.o = &o, .lockfd = -1};
	struct group *g = NULL;
	int r;

	if (steer_parse(argc, argv, &o, c.err, sizeof(c.err))) {
		fprintf(stderr, "reusetop: %s (see reusetop steer --help)\n", c.err);
		return RT_EXIT_USAGE;
	}
	if (o.help) {
		fputs(steer_usage, stdout);
		return RT_EXIT_OK;
	}
	setup_libbpf_print(o.verbose);
	if (check_privileges(&c) || ensure_pin_root(&c))
		goto done;
	if (o.object && access(o.object, R_OK)) {
		fail(&c, RT_EXIT_USAGE, "cannot read %s: %s", o.object, strerror(errno));
		goto done;
	}
	install_stop_signals(on_signal);
	if ((r = discovery_new(&c.disc, (1u << IPPROTO_TCP) | (1u << IPPROTO_UDP)))) {
		fail(&c, RT_EXIT_RUNTIME, "failed to start discovery: %s", strerror(-r));
		goto done;
	}
	g = calloc(1, sizeof(*g));
	if (!g) {
		fail(&c, RT_EXIT_RUNTIME, "out of memory");
		goto done;
	}
	run(&c, g);
done:
	if (g)
		close_members(g);
	free(g);
	pins_unlock(&c.lockfd);
	probe_close(&c.probe);
	discovery_free(c.disc);
	if (c.status)
		report_error(c.status, "%s", c.err);
	return c.status;
}
