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
#include <stdio_ext.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include <netinet/in.h>

#include "observe/collector.h"
#include "observe/discovery.h"
#include "observe/identity.h"
#include "render/exporter.h"
#include "observe/loader.h"
#include "observe/model.h"
#include "opts.h"
#include "render/render.h"
#include "setup.h"
#include "steer/steer.h"
#include "render/tui.h"

#define STDOUT_BUF_LEN (256 * 1024)

static volatile sig_atomic_t stop_requested;

static void on_signal(int sig)
{
	(void)sig;
	stop_requested = 1;
}

/* Everything one refresh needs: the pipeline discover -> collect -> model. */
struct app {
	struct rt_filter filter;
	struct rt_probes probes;
	struct rt_discovery *disc;
	struct rt_collector *collector;
	struct rt_model *model;
	struct rt_identities *idents; /* the containers of the processes shown */
	struct rt_exporter *exporter; /* --prometheus, else NULL */
	double start_mono_s; /* when the probes were attached */
	uint64_t *moved; /* sockets whose counters moved in this refresh */
	size_t moved_cap;
};

/*
 * Collect and discover: a sample of the counters and of the sockets they belong to. Counters
 * first: discovery reads again only the sockets whose counters moved (and every few seconds all).
 */
static int app_sample(struct app *app, struct rt_sample *sample, char *err, size_t errlen)
{
	const struct rt_listener *listeners;
	size_t n, nmoved;
	int ret;

	if ((ret = collector_read(app->collector, sample))) {
		snprintf(err, errlen, "failed to read counters: %s", strerror(-ret));
		return ret;
	}
	if (sample->nsocks > app->moved_cap) {
		uint64_t *p = realloc(app->moved, sample->nsocks * sizeof(*p));

		if (!p) {
			snprintf(err, errlen, "failed to read counters: %s", strerror(ENOMEM));
			return -ENOMEM;
		}
		app->moved = p;
		app->moved_cap = sample->nsocks;
	}
	nmoved = model_moved(app->model, sample->socks, sample->nsocks, app->moved);
	if ((ret = discovery_refresh(app->disc, app->moved, nmoved, &listeners, &n))) {
		/* sock_diag answers ENOENT when tcp_diag is a module nobody loaded. */
		snprintf(err, errlen, "failed to list sockets: %s%s", strerror(-ret),
			 ret == -ENOENT
				 ? " (is the tcp_diag module loaded? try 'modprobe tcp_diag')"
				 : "");
		return ret;
	}
	if ((ret = collector_finish(app->collector, listeners, n, sample)))
		snprintf(err, errlen, "failed to read counters: %s", strerror(-ret));
	return ret;
}

/* --prometheus: the view in the exposition format, handed to the exporter's thread. */
static int app_export(struct app *app, const struct rt_view *view)
{
	size_t len = 0;
	char *buf = NULL;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return -errno;
	render_prometheus(f, view, RT_PROM_MAX_SOCKETS);
	if (fclose(f)) {
		free(buf);
		return -ENOMEM;
	}
	exporter_publish(app->exporter, buf, len);
	return 0;
}

static int app_update(void *arg, struct rt_view *view, char *err, size_t errlen)
{
	struct app *app = arg;
	struct rt_sample sample;
	double begin = mono_s();
	int ret;

	if ((ret = app_sample(app, &sample, err, errlen)))
		return ret;
	if ((ret = model_update(app->model, &sample, app->start_mono_s, &app->filter, view))) {
		snprintf(err, errlen, "failed to build the view: %s", strerror(-ret));
		return ret;
	}
	if ((ret = identities_annotate(app->idents, view))) {
		snprintf(err, errlen, "failed to read process identities: %s", strerror(-ret));
		return ret;
	}
	/* What this refresh cost reusetop itself: it must stay well under the delay. */
	view->refresh_s = mono_s() - begin;
	view->attach = tier_name(app->probes.tier);
	view->degraded = app->probes.degraded;
	if (app->exporter && (ret = app_export(app, view)))
		snprintf(err, errlen, "failed to render the metrics: %s", strerror(-ret));
	return ret;
}

/* -b and -j: print a view every delay until the iterations are done or a signal comes. */
static int run_batch(const struct rt_options *o, struct app *app)
{
	struct rt_json_cache *cache = NULL;
	struct rt_text_cache *text = NULL;
	char err[300];
	int status = 0;

	/* Only this thread writes stdout: skip stdio's per-call locking. */
	__fsetlocking(stdout, FSETLOCKING_BYCALLER);
	/* One interval can be megabytes of JSON: fewer, larger writes (each interval is flushed). */
	setvbuf(stdout, NULL, _IOFBF, STDOUT_BUF_LEN);
	if ((o->output == RT_OUT_JSON && json_cache_new(&cache)) ||
	    (o->output != RT_OUT_JSON && text_cache_new(&text)))
		return report_error(RT_EXIT_RUNTIME, "failed to start: %s", strerror(ENOMEM));
	for (unsigned long i = 0; !o->iterations || i < o->iterations; i++) {
		struct rt_view view;
		double next = app->start_mono_s + (double)(i + 1) * o->delay_s;
		int werr = 0;

		/* After a long stall (suspend, SIGSTOP) do not fire a burst of catch-up updates. */
		if (next < mono_s())
			next = mono_s();
		if (!sleep_until(next, &stop_requested))
			break;
		if (app_update(app, &view, err, sizeof(err))) {
			status = report_error(RT_EXIT_RUNTIME, "%s", err);
			break;
		}
		if (o->output == RT_OUT_JSON)
			werr = render_json_cached(stdout, &view, cache);
		else if (o->output == RT_OUT_BATCH || !app->exporter)
			/* --prometheus alone, not on a terminal: silent */
			werr = render_text_cached(stdout, &view, text);
		if (!werr && ferror(stdout))
			werr = -errno;
		if (werr) {
			/* The reader went away (a closed pipe): nothing left to do, not an error. */
			if (werr != -EPIPE)
				status = report_error(RT_EXIT_RUNTIME, "failed to write output: %s",
						      strerror(-werr));
			break;
		}
	}
	json_cache_free(cache);
	text_cache_free(text);
	return status;
}

static int run(const struct rt_options *o)
{
	struct app app = {.filter = {o->pids, o->npids, o->ports, o->nports}};
	struct rt_source source = {app_update, &app};
	struct rt_sample sample;
	struct rt_view view;
	char err[600];
	int ret, status = 0;

	read_ephemeral_range(&app.filter.ephemeral_lo, &app.filter.ephemeral_hi);
	setup_libbpf_print(o->verbose);
	ret = probes_attach(&app.probes, o->tier, err, sizeof(err));
	if (ret)
		return report_error(o->tier == RT_TIER_AUTO ? RT_EXIT_RUNTIME : RT_EXIT_USAGE, "%s",
				    err);
	app.start_mono_s = mono_s();
	if ((ret = discovery_new(&app.disc, 1u << IPPROTO_TCP | 1u << IPPROTO_UDP)) ||
	    (ret = collector_new(&app.collector, &app.probes, o->retain_exited_s)) ||
	    (ret = model_new(&app.model)) || (ret = identities_new(&app.idents))) {
		status = report_error(RT_EXIT_RUNTIME, "failed to start: %s", strerror(-ret));
		goto cleanup;
	}
	/* A port in use is a runtime failure (1); a build without the exporter, bad input (2). */
	if (o->prometheus.family &&
	    (ret = exporter_start(&app.exporter, &o->prometheus, err, sizeof(err)))) {
		status = report_error(ret == -EOPNOTSUPP ? RT_EXIT_USAGE : RT_EXIT_RUNTIME, "%s",
				      err);
		goto cleanup;
	}
	/*
	 * A first scan now, not after the first delay: the probes that filter by the sockets
	 * discovery found (UDP receives) must know them before traffic arrives. With the exporter,
	 * a whole refresh, so that it serves at once rather than 503 for a first delay.
	 */
	if ((ret = app.exporter ? app_update(&app, &view, err, sizeof(err))
				: app_sample(&app, &sample, err, sizeof(err)))) {
		status = report_error(RT_EXIT_RUNTIME, "%s", err);
		goto cleanup;
	}
	/* On a terminal the live view; piped, the same as -b. */
	if (o->output == RT_OUT_AUTO && isatty(STDOUT_FILENO)) {
		if (tui_run(&source, o->delay_s, o->iterations, &stop_requested, err, sizeof(err)))
			status = report_error(RT_EXIT_RUNTIME, "%s", err);
	} else {
		status = run_batch(o, &app);
	}
cleanup:
	exporter_stop(app.exporter);
	identities_free(app.idents);
	model_free(app.model);
	collector_free(app.collector);
	discovery_free(app.disc);
	free(app.moved);
	probes_detach(&app.probes);
	return status;
}

static int check_pids(const struct rt_options *o)
{
	for (size_t i = 0; i < o->npids; i++) {
		char path[32];

		snprintf(path, sizeof(path), "/proc/%d", o->pids[i]);
		if (access(path, F_OK))
			return report_error(RT_EXIT_USAGE, "no process with pid %d", o->pids[i]);
	}
	return 0;
}

int main(int argc, char **argv)
{
	struct rt_options o;
	char err[300], missing[64];
	int ret;

	/* `reusetop steer ...` is a mode of its own, with its own options. */
	if (argc > 1 && !strcmp(argv[1], "steer"))
		return steer_main(argc - 1, argv + 1);
	if (opts_parse(argc, argv, &o, err, sizeof(err)))
		return report_error(RT_EXIT_USAGE, "%s (see reusetop --help)", err);
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
	if ((ret = missing_bpf_caps(missing, sizeof(missing))))
		return report_error(RT_EXIT_RUNTIME, "failed to read capabilities: %s",
				    strerror(-ret));
	if (missing[0])
		return report_error(RT_EXIT_USAGE, "needs root (missing %s)", missing);
	if (access("/sys/kernel/btf/vmlinux", R_OK))
		return report_error(RT_EXIT_USAGE,
				    "kernel has no BTF (/sys/kernel/btf/vmlinux): "
				    "reusetop needs a kernel built with CONFIG_DEBUG_INFO_BTF");
	install_stop_signals(on_signal);
	return run(&o);
}
