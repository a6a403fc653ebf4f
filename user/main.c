// SPDX-License-Identifier: GPL-2.0
/*
 * reusetop: per-socket accept-queue accounting for TCP listeners and SO_REUSEPORT groups.
 * main wires the modules together: options -> probes -> (discover, collect, model, render)*.
 * Exit status: 0 success, 1 runtime failure, 2 bad input, missing privileges or kernel support.
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <linux/capability.h>
#include <netinet/in.h>

#include "collector.h"
#include "discovery.h"
#include "loader.h"
#include "model.h"
#include "opts.h"
#include "render.h"

#ifndef CAP_PERFMON
#define CAP_PERFMON 38
#endif
#ifndef CAP_BPF
#define CAP_BPF 39
#endif

enum { EXIT_RUNTIME = 1, EXIT_USAGE = 2 };

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

static int die(int status, const char *fmt, ...)
{
	va_list ap;

	fputs("reusetop: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return status;
}

static bool has_cap(const struct __user_cap_data_struct *d, int cap)
{
	return d[cap / 32].effective & (1u << (cap % 32));
}

/* Root is not enough in a container or with dropped capabilities: name what is missing. */
static int check_privileges(char *missing, size_t len)
{
	struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
	struct __user_cap_data_struct data[2] = {};
	bool admin, bpf, perfmon;

	if (syscall(SYS_capget, &hdr, data))
		return -errno;
	admin = has_cap(data, CAP_SYS_ADMIN);
	bpf = admin || has_cap(data, CAP_BPF);
	perfmon = admin || has_cap(data, CAP_PERFMON);
	missing[0] = '\0';
	if (!bpf || !perfmon)
		snprintf(missing, len, "%s%s%s", bpf ? "" : "CAP_BPF", !bpf && !perfmon ? ", " : "",
			 perfmon ? "" : "CAP_PERFMON");
	return 0;
}

static void install_signals(void)
{
	struct sigaction sa = {.sa_handler = on_signal};

	/* No SA_RESTART: the sleep between intervals must end at once. */
	sigemptyset(&sa.sa_mask);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGHUP, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
}

static double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Sleep until the absolute monotonic time t; false when a stop signal came first. */
static bool sleep_until(double t)
{
	struct timespec ts = {.tv_sec = (time_t)t, .tv_nsec = (long)((t - (double)(time_t)t) * 1e9)};

	while (!stop_requested) {
		int err = clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL);

		if (!err)
			return !stop_requested;
		if (err != EINTR)
			return false;
	}
	return false;
}

static int run(const struct rt_options *o)
{
	struct rt_filter filter = {o->pids, o->npids, o->ports, o->nports};
	struct rt_collector *collector = NULL;
	struct rt_discovery *disc = NULL;
	struct rt_model *model = NULL;
	struct rt_probes probes;
	char err[600];
	double start, next;
	int ret, status = 0;

	probes_set_verbose(o->verbose);
	ret = probes_attach(&probes, o->tier, err, sizeof(err));
	if (ret)
		return die(o->tier == RT_TIER_AUTO ? EXIT_RUNTIME : EXIT_USAGE, "%s", err);
	start = mono_now();
	if ((ret = discovery_new(&disc, 1u << IPPROTO_TCP)) ||
	    (ret = collector_new(&collector, &probes)) || (ret = model_new(&model))) {
		status = die(EXIT_RUNTIME, "failed to start: %s", strerror(-ret));
		goto cleanup;
	}
	for (unsigned long i = 0; !o->iterations || i < o->iterations; i++) {
		const struct rt_listener *listeners;
		struct rt_sample sample;
		struct rt_view view;
		size_t n;

		next = start + (double)(i + 1) * o->delay_s;
		/* After a long stall (suspend, SIGSTOP) do not fire a burst of catch-up updates. */
		if (next < mono_now())
			next = mono_now();
		if (!sleep_until(next))
			break;
		if ((ret = discovery_scan(disc, &listeners, &n))) {
			/* sock_diag answers ENOENT when tcp_diag is a module nobody loaded. */
			status = die(EXIT_RUNTIME, "failed to list sockets: %s%s", strerror(-ret),
				     ret == -ENOENT ? " (is the tcp_diag module loaded? try "
						      "'modprobe tcp_diag')"
						    : "");
			break;
		}
		if ((ret = collector_sample(collector, listeners, n, &sample))) {
			status = die(EXIT_RUNTIME, "failed to read counters: %s", strerror(-ret));
			break;
		}
		if ((ret = model_update(model, &sample, start, &filter, &view))) {
			status = die(EXIT_RUNTIME, "failed to build the view: %s", strerror(-ret));
			break;
		}
		view.attach = tier_name(probes.tier);
		view.degraded = probes.degraded;
		if (o->output == RT_OUT_JSON)
			render_json(stdout, &view);
		else
			render_text(stdout, &view);
		if (ferror(stdout)) {
			/* The reader went away (a closed pipe): nothing left to do, not an error. */
			if (errno != EPIPE)
				status = die(EXIT_RUNTIME, "failed to write output: %s",
					     strerror(errno));
			break;
		}
	}
cleanup:
	model_free(model);
	collector_free(collector);
	discovery_free(disc);
	probes_detach(&probes);
	return status;
}

static int check_pids(const struct rt_options *o)
{
	for (size_t i = 0; i < o->npids; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/%d", o->pids[i]);
		if (access(path, F_OK))
			return die(EXIT_USAGE, "no process with pid %d", o->pids[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rt_options o;
	char err[300], missing[64];
	int ret;

	if (opts_parse(argc, argv, &o, err, sizeof(err)))
		return die(EXIT_USAGE, "%s (see reusetop --help)", err);
	if (o.help) {
		fputs(rt_usage, stdout);
		return 0;
	}
	if (o.version) {
		printf("reusetop %s\n", REUSETOP_VERSION);
		return 0;
	}
	if ((ret = check_pids(&o)))
		return ret;
	if (check_privileges(missing, sizeof(missing)))
		return die(EXIT_RUNTIME, "failed to read capabilities: %s", strerror(errno));
	if (missing[0])
		return die(EXIT_USAGE, "needs root (missing %s)", missing);
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return die(EXIT_USAGE, "kernel has no BTF (/sys/kernel/btf/vmlinux): "
				       "reusetop needs a kernel built with CONFIG_DEBUG_INFO_BTF");
	install_signals();
	return run(&o);
}
