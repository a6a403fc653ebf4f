// SPDX-License-Identifier: GPL-2.0
/*
 * Unit tests of the pure user-space modules: rates, shares, fairness, grouping and filtering
 * (model), JSON escaping and documents (json, json_render), the text table, and option parsing.
 * Each case prints "PASS name" or "FAIL name: why"; built with ASan and UBSan.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <math.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "render/json.h"
#include "observe/container.h"
#include "observe/model.h"
#include "observe/model_handoff.h"
#include "observe/owner.h"
#include "observe/retention.h"
#include "opts.h"
#include "render/render.h"
#include "steer/steer.h"

static int passed, failed;
static char why[512];

#define CHECK(cond, ...)                                         \
	do {                                                     \
		if (!(cond)) {                                   \
			snprintf(why, sizeof(why), __VA_ARGS__); \
			return false;                            \
		}                                                \
	} while (0)

#define NEAR(a, b) (fabs((a) - (b)) < 1e-9)

/* Samples as collection makes them: cumulative counters of a socket and of an acceptor. */
#define SOCK(ino, enq, acc, eag, sel)                                                  \
	{                                                                              \
		.inode = (ino), .enqueued = (enq), .accepted = (acc), .eagain = (eag), \
		.selected = (sel)                                                      \
	}
#define ACCEPTOR(ino, p, t, name, acc, eag, wake)                                        \
	{                                                                                \
		.inode = (ino), .pid = (p), .tid = (t), .comm = name, .accepted = (acc), \
		.eagain = (eag), .wakeups = (wake), .tasks = 1                           \
	}

static void run(const char *name, bool (*fn)(void))
{
	why[0] = '\0';
	if (fn()) {
		passed++;
		printf("PASS unit: %s\n", name);
	} else {
		failed++;
		printf("FAIL unit: %s: %s\n", name, why);
	}
}

/* Capture what a writer prints into a string (caller frees). */
#define CAPTURE(buf, f, code)                          \
	do {                                           \
		size_t len_;                           \
		FILE *f = open_memstream(&buf, &len_); \
		code;                                  \
		fclose(f);                             \
	} while (0)

static bool test_rate(void)
{
	CHECK(NEAR(rate_per_s(150, 50, 2.0), 50.0), "delta over interval");
	CHECK(NEAR(rate_per_s(7, 0, 0.5), 14.0), "from zero");
	CHECK(NEAR(rate_per_s(5, 100, 1.0), 5.0), "counter recreated counts from 0");
	CHECK(isnan(rate_per_s(1, 0, 0.0)), "zero interval is unknown");
	CHECK(isnan(rate_per_s(1, 0, -1.0)), "negative interval is unknown");
	return true;
}

static bool test_imbalance(void)
{
	uint64_t even[4] = {100, 100, 100, 100}, one[4] = {0, 400, 0, 0}, zero[3] = {0, 0, 0};
	uint64_t skew[2] = {300, 100};
	struct rt_imbalance r;

	r = imbalance_of(even, 4);
	CHECK(NEAR(r.max_share, 0.25) && NEAR(r.jain, 1.0), "even: %f %f", r.max_share, r.jain);
	r = imbalance_of(one, 4);
	CHECK(NEAR(r.max_share, 1.0) && NEAR(r.jain, 0.25), "one: %f %f", r.max_share, r.jain);
	r = imbalance_of(skew, 2);
	/* (400^2) / (2 * (90000 + 10000)) = 0.8 */
	CHECK(NEAR(r.max_share, 0.75) && NEAR(r.jain, 0.8), "skew: %f %f", r.max_share, r.jain);
	r = imbalance_of(zero, 3);
	CHECK(isnan(r.max_share) && isnan(r.jain), "nothing enqueued is unknown, not 0");
	r = imbalance_of(NULL, 0);
	CHECK(isnan(r.jain), "no members");
	return true;
}

static bool test_json_escape(void)
{
	char *out = NULL;
	bool ok;

	CAPTURE(out, f, json_write_escaped(f, "a\"b\\c\n\t\x01\x7f"));
	ok = !strcmp(out, "\"a\\\"b\\\\c\\n\\t\\u0001\\u007f\"");
	CHECK(ok, "controls and quotes: %s", out);
	free(out);
	CAPTURE(out, f, json_write_escaped(f, "caf\xc3\xa9 \xe2\x82\xac"));
	ok = !strcmp(out, "\"caf\xc3\xa9 \xe2\x82\xac\"");
	CHECK(ok, "valid UTF-8 kept: %s", out);
	free(out);
	/* A lone continuation byte, a truncated sequence, an overlong '/', a surrogate. */
	CAPTURE(out, f, json_write_escaped(f, "\x80x\xc3\xc0\xaf\xed\xa0\x80"));
	ok = !strcmp(out, "\"\\ufffdx\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\\ufffd\"");
	CHECK(ok, "invalid UTF-8 replaced: %s", out);
	free(out);
	return true;
}

static bool test_json_writer(void)
{
	struct json_writer w;
	char *out = NULL;
	bool ok;

	CAPTURE(out, f, {
		json_init(&w, f);
		json_object_begin(&w, NULL);
		json_uint(&w, "a", 18446744073709551615ull);
		json_double(&w, "nan", NAN, 2);
		json_double(&w, "x", 0.5, 3);
		json_array_begin(&w, "l");
		json_int(&w, NULL, -1);
		json_object_begin(&w, NULL);
		json_object_end(&w);
		json_null(&w, NULL);
		json_array_end(&w);
		json_bool(&w, "t", true);
		json_object_end(&w);
	});
	ok = !strcmp(out, "{\"a\":18446744073709551615,\"nan\":null,\"x\":0.500,"
			  "\"l\":[-1,{},null],\"t\":true}\n");
	CHECK(ok, "document: %s", out);
	free(out);
	return true;
}

/* Numbers without printf must print exactly as "%.*f" does. */
static bool test_json_double_exact(void)
{
	/* Signed zeros, ties, values next to 2^50 and 2^52, a huge one, inexact fractions. */
	const char *fixed = "0 -0 1 -1 0.5 0.125 2.5 0.0005 0.00049999 -0.0001 1e15 "
			    "1125899906842623 1125899906842624 4503599627370495.5 1e300 "
			    "123456.789 0.1 0.3 2.675";
	uint64_t x = 88172645463325252ull;
	struct json_writer w;

	for (int i = 0; i < 20000; i++) {
		double v;
		int d = i % 6;
		char *out = NULL, want[400];

		if (*fixed) {
			char *end;

			v = strtod(fixed, &end);
			if (d == 5)
				fixed = end;
		} else {
			/* xorshift: rates, shares and odd bit patterns alike */
			x ^= x << 13, x ^= x >> 7, x ^= x << 17;
			if (i % 3 == 0)
				v = (double)(x % 100000) / (double)(1 + x % 997);
			else if (i % 3 == 1)
				v = (double)(x % 10000000) / 1000.0;
			else
				v = ldexp((double)(x % 4096) - 2048, (int)(x % 90) - 45);
		}
		snprintf(want, sizeof(want), "%.*f", d, v);
		CAPTURE(out, f, {
			json_init(&w, f);
			json_double(&w, NULL, v, d);
		});
		CHECK(!strcmp(out, want), "%a with %d decimals: %s, want %s", v, d, out, want);
		free(out);
	}
	return true;
}

/* A command line split at spaces into argv (pointing into buf); returns argc. */
static int split_args(const char *line, char *buf, size_t len, char **argv, int max)
{
	char *save = NULL;
	int argc = 0;

	snprintf(buf, len, "%s", line);
	for (char *t = strtok_r(buf, " ", &save); t && argc < max - 1;
	     t = strtok_r(NULL, " ", &save))
		argv[argc++] = t;
	argv[argc] = NULL;
	return argc;
}

static bool parse(const char *line, struct rt_options *o, char *err, size_t errlen)
{
	char buf[512], *argv[32];
	int argc = split_args(line, buf, sizeof(buf), argv, 32);

	return opts_parse(argc, argv, o, err, errlen) == 0;
}

static bool test_opts_valid(void)
{
	struct rt_options o;
	char err[256];

	CHECK(parse("reusetop", &o, err, sizeof(err)), "no options: %s", err);
	CHECK(o.output == RT_OUT_AUTO && NEAR(o.delay_s, 1.0) && o.tier == RT_TIER_AUTO,
	      "defaults");
	CHECK(parse("reusetop -j -d 0.25 -n 3 -P 80,443 -p 1 --attach tracepoint", &o, err,
		    sizeof(err)),
	      "full: %s", err);
	CHECK(o.output == RT_OUT_JSON && NEAR(o.delay_s, 0.25) && o.iterations == 3, "values");
	CHECK(o.nports == 2 && o.ports[0] == 80 && o.ports[1] == 443, "ports");
	CHECK(o.npids == 1 && o.pids[0] == 1 && o.tier == RT_TIER_TRACEPOINT, "pid, tier");
	CHECK(parse("reusetop --batch --delay=.5 --port=65535 --attach=fentry", &o, err,
		    sizeof(err)),
	      "long forms: %s", err);
	CHECK(o.output == RT_OUT_BATCH && NEAR(o.delay_s, 0.5) && o.ports[0] == 65535,
	      "long values");
	return true;
}

static bool test_opts_invalid(void)
{
	static const char *const bad[] = {
		"reusetop -d abc",     "reusetop -d -1",       "reusetop -d 0",
		"reusetop -d 0.01",    "reusetop -d 1e9",      "reusetop -d nan",
		"reusetop -d inf",     "reusetop -d 1x",       "reusetop -d",
		"reusetop -n 0",       "reusetop -n -5",       "reusetop -n 99999999999999999999",
		"reusetop -P 0",       "reusetop -P 65536",    "reusetop -P 80,,81",
		"reusetop -P 80,80",   "reusetop -P ,80",      "reusetop -P 80,",
		"reusetop -P http",    "reusetop -p 0",	       "reusetop -p -1",
		"reusetop -p 4194305", "reusetop -p 12a",      "reusetop --attach magic",
		"reusetop --bogus",    "reusetop -x",	       "reusetop -b -j",
		"reusetop -d 1 -d 2",  "reusetop -P 80 -P 81", "reusetop extra",
		"reusetop --attach",   "reusetop -P +80",      "reusetop -d +1",
	};
	struct rt_options o;
	char err[256];

	/* Found by the fuzzer: a newline in a value must not break the one-line message. */
	{
		char *argv[] = {"reusetop", "-p", "1,\n2", NULL};

		CHECK(opts_parse(3, argv, &o, err, sizeof(err)) && !strchr(err, '\n'),
		      "newline echoed: %s", err);
	}
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(!parse(bad[i], &o, err, sizeof(err)), "accepted: %s", bad[i]);
		CHECK(err[0] && !strchr(err, '\n'), "no one-line message for: %s", bad[i]);
	}
	return true;
}

/* A group of three reuseport members on 127.0.0.1:8080 and a lone listener on [::1]:9090. */
static struct rt_holder holders[4] = {
	{100, 3, "srv", false},
	{101, 3, "srv", false},
	{102, 4, "srv", false},
	{200, 5, "other", false},
};

static void make_listeners(struct rt_listener *l)
{
	memset(l, 0, 4 * sizeof(*l));
	for (int i = 0; i < 3; i++) {
		l[i].inode = 10 + (uint64_t)i;
		l[i].netns = 1;
		l[i].family = AF_INET;
		l[i].proto = IPPROTO_TCP;
		l[i].port = 8080;
		inet_pton(AF_INET, "127.0.0.1", l[i].addr);
		l[i].nholders = 1;
		l[i].holders = &holders[i];
		l[i].backlog = 128;
		l[i].drops = 0;
	}
	l[3].inode = 5;
	l[3].netns = 1;
	l[3].family = AF_INET6;
	l[3].proto = IPPROTO_TCP;
	l[3].port = 9090;
	inet_pton(AF_INET6, "::1", l[3].addr);
	l[3].nholders = 1;
	l[3].holders = &holders[3];
	l[3].drops = -1;
}

static bool test_wait_summary(void)
{
	uint64_t before[RT_WAIT_BUCKETS] = {0}, now[RT_WAIT_BUCKETS] = {0};
	struct rt_wait_summary w;

	w = wait_summary(now, NULL);
	CHECK(w.count == 0 && isnan(w.p50_us) && isnan(w.p99_us), "empty is unknown");
	/* 100 waits: 50 under 1 us, 40 in [64, 128) us, 9 in [512, 1024), 1 in [2^19, 2^20). */
	now[0] = 50;
	now[7] = 40;
	now[10] = 9;
	now[20] = 1;
	w = wait_summary(now, NULL);
	CHECK(w.count == 100, "count %llu", (unsigned long long)w.count);
	CHECK(NEAR(w.p50_us, 1.0) && NEAR(w.p90_us, 128.0) && NEAR(w.p99_us, 1024.0),
	      "percentiles %f %f %f", w.p50_us, w.p90_us, w.p99_us);
	/* Over an interval: only what was added since `before`. */
	memcpy(before, now, sizeof(now));
	now[20] += 3;
	w = wait_summary(now, before);
	CHECK(w.count == 3 && NEAR(w.p50_us, 1048576.0), "interval: %f", w.p50_us);
	return true;
}

static bool test_model_herd(void)
{
	struct rt_listener l[4];
	struct rt_sock_sample s[] = {{.inode = 5,
				      .enqueued = 100,
				      .accepted = 100,
				      .eagain = 10,
				      .wakeups = 400,
				      .queue_peak = 3}};
	struct rt_acceptor_sample a[] = {
		ACCEPTOR(5, 300, 300, "w", 97, 4, 100), ACCEPTOR(5, 301, 301, "w", 3, 6, 100),
		ACCEPTOR(5, 302, 302, "w", 0, 0, 100), ACCEPTOR(5, 303, 303, "w", 0, 0, 100)};
	struct rt_sample sample = {.mono_s = 2.0, .features = {true, true, false, true, true}};
	struct rt_model *m;
	struct rt_view v;
	const struct rt_group_view *g;

	make_listeners(l);
	l[3].queue = 1;
	l[3].drops = 4;
	sample.listeners = &l[3];
	sample.nlisteners = 1;
	sample.socks = s;
	sample.nsocks = 1;
	sample.acceptors = a;
	sample.nacceptors = 4;
	CHECK(!model_new(&m) && !model_update(m, &sample, 1.0, NULL, &v), "update");
	g = &v.groups[0];
	CHECK(g->wakeups == 400 && NEAR(g->wakeups_per_conn, 4.0), "wakeups per connection %f",
	      g->wakeups_per_conn);
	/* Wakeups beyond accepts: 3 + 97 + 100 + 100. */
	CHECK(g->spurious == 300 && g->acceptors[0].spurious == 3 && g->acceptors[1].spurious == 97,
	      "spurious %llu", (unsigned long long)g->spurious);
	CHECK(g->socks[0].queue_max == 3, "queue peak %u", g->socks[0].queue_max);
	CHECK(NEAR(g->socks[0].drops_rate, 4.0), "drops rate %f", g->socks[0].drops_rate);
	sample.mono_s = 3.0;
	l[3].drops = 10;
	s[0].queue_peak = 0;
	CHECK(!model_update(m, &sample, 1.0, NULL, &v), "second update");
	g = &v.groups[0];
	CHECK(NEAR(g->socks[0].drops_rate, 6.0), "drops rate from the previous sample");
	CHECK(g->socks[0].queue_max == 1, "no enqueue: the queue now (%u)", g->socks[0].queue_max);
	CHECK(isnan(g->interval_wakeups_per_conn), "nothing enqueued in the interval");
	model_free(m);
	return true;
}

static bool test_model_groups(void)
{
	struct rt_listener l[4];
	struct rt_sock_sample s1[] = {SOCK(10, 10, 10, 0, 0), SOCK(11, 30, 29, 0, 0),
				      SOCK(12, 0, 0, 0, 0)};
	struct rt_sock_sample s2[] = {SOCK(5, 4, 4, 0, 0), SOCK(10, 20, 20, 0, 0),
				      SOCK(11, 70, 70, 0, 0), SOCK(12, 10, 10, 2, 0)};
	struct rt_acceptor_sample a2[] = {ACCEPTOR(11, 101, 101, "srv", 70, 0, 0),
					  ACCEPTOR(12, 102, 102, "srv", 10, 2, 0)};
	struct rt_sample sample = {.mono_s = 11.0, .features = {true, true, false}};
	struct rt_model *m;
	struct rt_view v;
	const struct rt_group_view *g;
	bool ok = true;

	make_listeners(l);
	CHECK(!model_new(&m), "new");
	/* Sorted like discovery: inet before inet6. */
	sample.listeners = l;
	sample.nlisteners = 3;
	sample.socks = s1;
	sample.nsocks = 3;
	CHECK(!model_update(m, &sample, 10.0, NULL, &v), "first update");
	CHECK(v.ngroups == 1 && v.groups[0].nsocks == 3, "one group of 3: %zu", v.ngroups);
	CHECK(NEAR(v.interval_s, 1.0), "first interval measured from start");
	CHECK(NEAR(v.groups[0].socks[1].enqueued_rate, 30.0), "first rate from zero");

	sample.mono_s = 13.0;
	sample.nlisteners = 4;
	struct rt_listener sorted[4] = {l[0], l[1], l[2], l[3]};
	sample.listeners = sorted;
	sample.socks = s2;
	sample.nsocks = 4;
	sample.acceptors = a2;
	sample.nacceptors = 2;
	CHECK(!model_update(m, &sample, 10.0, NULL, &v), "second update");
	CHECK(v.ngroups == 2, "two groups: %zu", v.ngroups);
	g = &v.groups[0];
	CHECK(g->port == 8080 && g->nsocks == 3 && g->enqueued == 100 && g->accepted == 100,
	      "group totals %llu", (unsigned long long)g->enqueued);
	CHECK(NEAR(v.interval_s, 2.0), "interval %f", v.interval_s);
	CHECK(NEAR(g->socks[0].share, 0.2) && NEAR(g->socks[1].share, 0.7) &&
		      NEAR(g->socks[2].share, 0.1),
	      "shares");
	/* Interval deltas 10, 40, 10 over 60. */
	CHECK(NEAR(g->socks[1].interval_share, 40.0 / 60.0), "interval share");
	CHECK(NEAR(g->socks[1].enqueued_rate, 20.0) && NEAR(g->enqueued_rate, 30.0), "rates");
	CHECK(NEAR(g->imbalance.max_share, 0.7), "max share");
	CHECK(NEAR(g->imbalance.jain, 10000.0 / (3.0 * (400 + 4900 + 100))), "jain %f",
	      g->imbalance.jain);
	CHECK(isnan(g->socks[0].selected_rate), "selected unknown without the feature");
	CHECK(g->nacceptors == 2 && g->acceptors[0].a->pid == 101, "acceptors follow sockets");
	/* Of the group's accepts (100), not of these two rows' (80). */
	CHECK(NEAR(g->acceptors[0].share, 70.0 / 100.0), "acceptor share of the group");
	CHECK(NEAR(g->acceptors[1].eagain_rate, 1.0), "acceptor eagain rate");
	CHECK(v.groups[1].port == 9090 && v.groups[1].nsocks == 1 &&
		      NEAR(v.groups[1].socks[0].share, 1.0),
	      "lone listener is its own group");
	model_free(m);
	return ok;
}

static struct rt_endpoint endpoint(int family, const char *addr, uint16_t port)
{
	struct rt_endpoint ep = {.netns = 1, .family = (uint8_t)family, .port = port};

	inet_pton(family, addr, ep.addr);
	return ep;
}

/* Hand-offs land in the group whose address takes the connection's local end. */
static bool test_endpoint_in_group(void)
{
	struct rt_group_view g = {
		.netns = 1, .family = AF_INET, .proto = IPPROTO_TCP, .port = 80, .v6only = -1};
	struct rt_endpoint ep = endpoint(AF_INET, "10.0.0.1", 80);

	CHECK(endpoint_in_group(&g, &ep) == 1, "0.0.0.0 takes 10.0.0.1");
	inet_pton(AF_INET, "10.0.0.1", g.addr);
	CHECK(endpoint_in_group(&g, &ep) == 2, "the same address is a better match");
	inet_pton(AF_INET, "10.0.0.2", g.addr);
	CHECK(!endpoint_in_group(&g, &ep), "another address is not it");
	ep.port = 81;
	CHECK(!endpoint_in_group(&g, &ep), "another port is not it");
	memset(&g.addr, 0, sizeof(g.addr));
	g.family = AF_INET6;
	g.v6only = 1;
	ep = endpoint(AF_INET6, "::ffff:10.0.0.1", 80);
	CHECK(!endpoint_in_group(&g, &ep), "IPV6_V6ONLY takes no IPv4 connection");
	g.v6only = 0;
	CHECK(endpoint_in_group(&g, &ep) == 1, "a dual-stack wildcard takes it");
	g.proto = IPPROTO_UDP;
	CHECK(!endpoint_in_group(&g, &ep), "UDP groups have no hand-offs");
	return true;
}

static bool test_model_handoff(void)
{
	struct rt_listener l[4];
	struct rt_sock_sample s[] = {SOCK(5, 1, 1, 0, 0), SOCK(10, 40, 40, 0, 0)};
	struct rt_acceptor_sample a[] = {ACCEPTOR(10, 100, 100, "master", 40, 0, 0)};
	struct rt_handoff_sample h[] = {{.ep = endpoint(AF_INET, "127.0.0.1", 8080),
					 .pid = 201,
					 .tid = 201,
					 .from_pid = 100,
					 .comm = "w",
					 .received = 30,
					 .wait = {[4] = 30},
					 .tasks = 1},
					{.ep = endpoint(AF_INET, "127.0.0.1", 8080),
					 .pid = 202,
					 .tid = 202,
					 .from_pid = 100,
					 .comm = "w",
					 .received = 10,
					 .wait = {[6] = 10},
					 .tasks = 1},
					/* A broker that passed on all it received: not listed. */
					{.ep = endpoint(AF_INET, "127.0.0.1", 8080),
					 .pid = 203,
					 .tid = 203,
					 .from_pid = 100,
					 .comm = "broker",
					 .tasks = 1},
					/* Another address: no group of the view. */
					{.ep = endpoint(AF_INET, "10.0.0.1", 8080),
					 .pid = 204,
					 .tid = 204,
					 .from_pid = 100,
					 .comm = "w",
					 .received = 7,
					 .tasks = 1},
					{.ep = endpoint(AF_INET6, "::1", 9090),
					 .pid = 205,
					 .tid = 205,
					 .from_pid = 100,
					 .comm = "w",
					 .received = 1,
					 .tasks = 1}};
	struct rt_handed_sample handed[] = {{.ep = endpoint(AF_INET, "127.0.0.1", 8080),
					     .pid = 100,
					     .tid = 100,
					     .handed_off = 40}};
	struct rt_handoff_flow_sample flows[] = {
		{.ep = endpoint(AF_INET, "127.0.0.1", 8080), .sent = 45, .received = 40},
		{.ep = endpoint(AF_INET6, "::1", 9090), .sent = 0, .received = 1}};
	struct rt_sample sample = {
		.mono_s = 2.0, .features = {.enqueued = true, .accepted = true, .handoff = true}};
	const struct rt_group_view *g;
	struct rt_model *m;
	struct rt_view v;

	make_listeners(l);
	/* 127.0.0.1:8080 (inode 10), then [::1]:9090 (inode 5), as discovery sorts them. */
	struct rt_listener two[2] = {l[0], l[3]};
	sample.listeners = two;
	sample.nlisteners = 2;
	sample.socks = s;
	sample.nsocks = 2;
	sample.acceptors = a;
	sample.nacceptors = 1;
	sample.handoffs = h;
	sample.nhandoffs = 5;
	sample.handed = handed;
	sample.nhanded = 1;
	sample.flows = flows;
	sample.nflows = 2;
	CHECK(!model_new(&m) && !model_update(m, &sample, 1.0, NULL, &v) && v.ngroups == 2,
	      "update");
	g = &v.groups[0];
	CHECK(g->nhandoffs == 2 && g->handoffs[0].h->pid == 201 && g->handoffs[1].h->pid == 202,
	      "receivers with something received: %zu", g->nhandoffs);
	CHECK(g->handoff_received == 40 && NEAR(g->handoffs[0].share, 0.75) &&
		      NEAR(g->handoffs[1].share, 0.25),
	      "shares of the group's received");
	CHECK(NEAR(g->handoff_imbalance.max_share, 0.75) &&
		      NEAR(g->handoff_imbalance.jain, 1600.0 / (2.0 * (900 + 100))),
	      "imbalance over receivers");
	CHECK(g->handoff_pending == 5, "pending: sent less received (%llu)",
	      (unsigned long long)g->handoff_pending);
	CHECK(g->nacceptors == 1 && g->acceptors[0].handed_off == 40, "the acceptor handed off");
	CHECK(NEAR(g->handoffs[0].received_rate, 30.0), "first rate from start");
	CHECK(g->handoffs[0].wait.count == 30 && NEAR(g->handoffs[0].wait.p50_us, 16.0),
	      "wait over the interval: %f", g->handoffs[0].wait.p50_us);
	CHECK(v.groups[1].nhandoffs == 1 && v.groups[1].handoff_pending == 0,
	      "IPv6 group; a receipt seen before its send never makes pending negative");
	h[0].received = 60;
	h[0].wait[4] = 60;
	sample.mono_s = 4.0;
	CHECK(!model_update(m, &sample, 1.0, NULL, &v), "second update");
	g = &v.groups[0];
	CHECK(NEAR(g->handoffs[0].received_rate, 15.0), "rate against the previous sample");
	CHECK(g->handoffs[0].wait.count == 30 && g->handoffs[1].wait.count == 0,
	      "waits of the interval only");
	sample.features.handoff = false;
	CHECK(!model_update(m, &sample, 1.0, NULL, &v) && !v.groups[0].nhandoffs &&
		      isnan(v.groups[0].handoff_imbalance.max_share),
	      "unknown without the probes");
	model_free(m);
	return true;
}

static bool test_model_filters(void)
{
	struct rt_listener l[4];
	struct rt_sock_sample s[] = {SOCK(5, 1, 1, 0, 0)};
	struct rt_acceptor_sample a[] = {ACCEPTOR(5, 300, 301, "worker", 1, 0, 0)};
	struct rt_sample sample = {.mono_s = 1.0, .features = {true, true, true}};
	uint16_t port = 9090;
	int pid_other = 200, pid_srv = 101, pid_acceptor = 300, pid_none = 999;
	struct rt_filter f = {};
	struct rt_model *m;
	struct rt_view v;

	make_listeners(l);
	sample.listeners = l;
	sample.nlisteners = 4;
	sample.socks = s;
	sample.nsocks = 1;
	sample.acceptors = a;
	sample.nacceptors = 1;
	CHECK(!model_new(&m), "new");
	f.ports = &port;
	f.nports = 1;
	CHECK(!model_update(m, &sample, 0, &f, &v) && v.ngroups == 1 && v.groups[0].port == 9090,
	      "port filter");
	f.nports = 0;
	f.pids = &pid_srv;
	f.npids = 1;
	CHECK(!model_update(m, &sample, 0, &f, &v) && v.ngroups == 1 && v.groups[0].nsocks == 3,
	      "pid filter keeps the whole group");
	f.pids = &pid_acceptor;
	CHECK(!model_update(m, &sample, 0, &f, &v) && v.ngroups == 1 && v.groups[0].port == 9090,
	      "pid filter matches acceptors");
	f.pids = &pid_other;
	CHECK(!model_update(m, &sample, 0, &f, &v) && v.ngroups == 1, "holder pid");
	f.pids = &pid_none;
	CHECK(!model_update(m, &sample, 0, &f, &v) && v.ngroups == 0, "no match");
	model_free(m);
	return true;
}

static bool test_render_json_nulls(void)
{
	struct rt_listener l[4];
	struct rt_sock_sample s[] = {SOCK(5, 0, 3, 0, 0)};
	struct rt_sample sample = {.mono_s = 2.0, .features = {false, true, false}};
	const char *degraded[] = {"enqueued unknown: test", NULL};
	struct rt_model *m;
	struct rt_view v;
	char *out = NULL;
	bool ok;

	make_listeners(l);
	sample.listeners = &l[3];
	sample.nlisteners = 1;
	sample.socks = s;
	sample.nsocks = 1;
	CHECK(!model_new(&m) && !model_update(m, &sample, 1.0, NULL, &v), "update");
	v.attach = "tracepoint";
	v.degraded = degraded;
	CAPTURE(out, f, render_json(f, &v));
	ok = strstr(out, "\"attach\":\"tracepoint\"") && strstr(out, "\"enqueued\":null") &&
	     strstr(out, "\"accepted\":3") && strstr(out, "\"share\":null") &&
	     strstr(out, "\"selected\":null") && strstr(out, "\"drops\":null") &&
	     strstr(out, "\"addr\":\"::1\"") && strstr(out, "\"family\":\"inet6\"") &&
	     strstr(out, "\"degraded\":[\"enqueued unknown: test\"]") &&
	     strstr(out, "\"pid\":200,\"comm\":\"other\",\"fd\":5") &&
	     out[strlen(out) - 1] == '\n' && !strchr(out, '\n')[1];
	CHECK(ok, "json: %s", out);
	free(out);
	CAPTURE(out, f, render_text(f, &v));
	ok = strstr(out, "TCP [::1]:9090") && strstr(out, "attach tracepoint") &&
	     strstr(out, "degraded: enqueued unknown: test");
	CHECK(ok, "text: %s", out);
	free(out);
	model_free(m);
	return true;
}

/* Two renders of one view: fresh, and with the cache; false when they differ. */
static bool same_json(const struct rt_view *v, struct rt_json_cache *cache, const char *when)
{
	char *fresh = NULL, *cached = NULL;
	bool ok;

	CAPTURE(fresh, f, render_json(f, v));
	CAPTURE(cached, f, render_json_cached(f, v, cache));
	ok = !strcmp(fresh, cached);
	if (!ok)
		snprintf(why, sizeof(why), "%s: cached\n%s\nfresh\n%s", when, cached, fresh);
	free(fresh);
	free(cached);
	return ok;
}

/*
 * The cached renderer prints what the fresh one does, interval after interval, whether groups
 * change (counters, a holder's name, features, groups leaving and coming) or not; and it does
 * reuse the text of groups that did not change.
 */
static bool test_render_json_cached(void)
{
	struct rt_listener l[4];
	struct rt_sock_sample s[] = {SOCK(5, 1, 1, 0, 0), SOCK(10, 10, 10, 0, 0),
				     SOCK(11, 30, 29, 0, 0), SOCK(12, 0, 0, 0, 0)};
	struct rt_acceptor_sample a[] = {ACCEPTOR(11, 101, 101, "srv", 29, 0, 4)};
	struct rt_sample sample = {.mono_s = 1.0, .features = {true, true, false, true, true}};
	struct rt_holder renamed = {100, 3, "srv \"new\"\n\xff", false};
	struct rt_json_cache *cache;
	struct rt_model *m;
	struct rt_view v;

	make_listeners(l);
	/* Sorted like discovery: the group of three (inet) first, then the lone [::1]:9090. */
	struct rt_listener sorted[4] = {l[0], l[1], l[2], l[3]};

	sample.listeners = sorted;
	sample.nlisteners = 4;
	sample.socks = s;
	sample.nsocks = 4;
	sample.acceptors = a;
	sample.nacceptors = 1;
	CHECK(!model_new(&m) && !json_cache_new(&cache), "new");
	for (int i = 0; i < 10; i++) {
		char when[32];

		snprintf(when, sizeof(when), "interval %d", i);
		sample.mono_s += 1.0;
		switch (i) {
		case 3: /* traffic on one member, an accept queue */
			s[2].enqueued += 5;
			s[2].accepted += 4;
			a[0].accepted += 4;
			s[2].wait[3] += 4;
			sorted[2].queue = 1;
			break;
		case 5: /* a holder renamed (escaping), and a drop */
			sorted[0].holders = &renamed;
			sorted[3].drops = 7;
			break;
		case 6: /* the lone listener leaves */
			sample.nlisteners = 3;
			break;
		case 7: /* and comes back; wakeups no longer known */
			sample.nlisteners = 4;
			sample.features.wakeups = false;
			break;
		}
		CHECK(!model_update(m, &sample, 0, NULL, &v), "update %d", i);
		if (!same_json(&v, cache, when))
			return false;
		/*
		 * Nothing changed since the interval before: every group's text is reused (at 9:
		 * the returning listener's rates changed once more at 8, its first full interval).
		 */
		if (i == 2 || i == 9)
			CHECK(json_cache_reused(cache) == v.ngroups, "%s: reused %zu of %zu", when,
			      json_cache_reused(cache), v.ngroups);
		if (i == 3)
			CHECK(json_cache_reused(cache) == 1, "%s: the idle group only (%zu)", when,
			      json_cache_reused(cache));
	}
	model_free(m);
	json_cache_free(cache);
	return true;
}

/* Two renders of one view as text: fresh, and with the cache; false when they differ. */
static bool same_text(const struct rt_view *v, struct rt_text_cache *cache, const char *when)
{
	char *fresh = NULL, *cached = NULL;
	bool ok;

	CAPTURE(fresh, f, render_text(f, v));
	CAPTURE(cached, f, render_text_cached(f, v, cache));
	ok = !strcmp(fresh, cached);
	if (!ok)
		snprintf(why, sizeof(why), "%s: cached\n%s\nfresh\n%s", when, cached, fresh);
	free(fresh);
	free(cached);
	return ok;
}

/* The same for the text table: the cached renderer prints what the fresh one does. */
static bool test_render_text_cached(void)
{
	struct rt_listener l[4];
	struct rt_sock_sample s[] = {SOCK(5, 1, 1, 0, 0), SOCK(10, 10, 10, 0, 0),
				     SOCK(11, 30, 29, 0, 0), SOCK(12, 0, 0, 0, 0)};
	struct rt_acceptor_sample a[] = {ACCEPTOR(11, 101, 101, "srv", 29, 0, 4)};
	struct rt_sample sample = {.mono_s = 1.0, .features = {true, true, false, true, true}};
	struct rt_holder renamed = {100, 3, "srv-new", false};
	struct rt_text_cache *cache;
	struct rt_model *m;
	struct rt_view v;

	make_listeners(l);
	struct rt_listener sorted[4] = {l[0], l[1], l[2], l[3]};

	sample.listeners = sorted;
	sample.nlisteners = 4;
	sample.socks = s;
	sample.nsocks = 4;
	sample.acceptors = a;
	sample.nacceptors = 1;
	CHECK(!model_new(&m) && !text_cache_new(&cache), "new");
	for (int i = 0; i < 10; i++) {
		char when[32];

		snprintf(when, sizeof(when), "interval %d", i);
		sample.mono_s += 1.0;
		switch (i) {
		case 3: /* traffic on one member, an accept queue */
			s[2].enqueued += 5;
			s[2].accepted += 4;
			a[0].accepted += 4;
			s[2].wait[3] += 4;
			sorted[2].queue = 1;
			break;
		case 5: /* a holder renamed, and a drop */
			sorted[0].holders = &renamed;
			sorted[3].drops = 7;
			break;
		case 6: /* the lone listener leaves */
			sample.nlisteners = 3;
			break;
		case 7: /* and comes back; wakeups no longer known */
			sample.nlisteners = 4;
			sample.features.wakeups = false;
			break;
		}
		CHECK(!model_update(m, &sample, 0, NULL, &v), "update %d", i);
		if (!same_text(&v, cache, when))
			return false;
		if (i == 2 || i == 9)
			CHECK(text_cache_reused(cache) == v.ngroups, "%s: reused %zu of %zu", when,
			      text_cache_reused(cache), v.ngroups);
		if (i == 3)
			CHECK(text_cache_reused(cache) == 1, "%s: the idle group only (%zu)", when,
			      text_cache_reused(cache));
	}
	model_free(m);
	text_cache_free(cache);
	return true;
}

static bool test_listen_addr(void)
{
	static const char *const bad[] = {
		"",	   "0",	       "65536",	      "-1",	     "+80",	      "80x",
		":80",	   "1.2.3.4:", "1.2.3.4",     "1.2.3:80",    "1.2.3.4:80:80", "::1:80",
		"[::1]",   "[::1]:",   "[::1]80",     "[]:80",	     "[1.2.3.4]:80",  "[::1]:0",
		"host:80", " 80",      "1.2.3.4: 80", "[::1]:80:80", "[::1:80",	      "[::g]:80",
	};
	struct rt_listen_addr a;
	struct rt_options o;
	char err[256];

	CHECK(!parse_listen_addr("9100", &a) && a.family == AF_INET && a.port == 9100 &&
		      !memcmp(a.addr, "\x7f\0\0\x01", 4),
	      "port alone is 127.0.0.1");
	CHECK(!parse_listen_addr("0.0.0.0:1", &a) && a.family == AF_INET && a.port == 1 &&
		      !memcmp(a.addr, "\0\0\0\0", 4),
	      "IPv4");
	CHECK(!parse_listen_addr("[::1]:65535", &a) && a.family == AF_INET6 && a.port == 65535 &&
		      a.addr[15] == 1 && a.addr[0] == 0,
	      "IPv6");
	CHECK(!parse_listen_addr("[::ffff:10.0.0.1]:80", &a) && a.family == AF_INET6, "mapped");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		CHECK(parse_listen_addr(bad[i], &a), "accepted '%s'", bad[i]);
	CHECK(parse("reusetop -j --prometheus [::]:9100", &o, err, sizeof(err)) &&
		      o.prometheus.family == AF_INET6 && o.prometheus.port == 9100,
	      "--prometheus: %s", err);
	CHECK(parse("reusetop", &o, err, sizeof(err)) && !o.prometheus.family, "off by default");
	CHECK(!parse("reusetop --prometheus 80 --prometheus 81", &o, err, sizeof(err)) &&
		      !strchr(err, '\n'),
	      "twice");
	CHECK(!parse("reusetop --prometheus localhost:80", &o, err, sizeof(err)) &&
		      strstr(err, "invalid listen address 'localhost:80'"),
	      "message: %s", err);
	return true;
}

/* The exposition: escaping, no sample for unknown values, the cap on sockets. */
static bool test_render_prometheus(void)
{
	struct rt_holder odd = {200, 5, "a\"b\\c\nd\xc3", false};
	struct rt_listener l[4];
	struct rt_sock_sample s[] = {{.inode = 5, .accepted = 3, .wait = {[0] = 2, [3] = 1}},
				     SOCK(10, 0, 7, 0, 0)};
	struct rt_sample sample = {.mono_s = 2.0, .features = {false, true, false, false, true}};
	struct rt_model *m;
	struct rt_view v;
	char *out = NULL;
	bool ok;

	make_listeners(l);
	l[3].holders = &odd;
	sample.listeners = l;
	sample.nlisteners = 4;
	sample.socks = s;
	sample.nsocks = 2;
	CHECK(!model_new(&m) && !model_update(m, &sample, 1.0, NULL, &v), "update");
	v.attach = "tracepoint";
	CAPTURE(out, f, render_prometheus(f, &v, 100));
	/* The lone [::1]:9090 listener: quote, backslash, newline escaped; a bad byte is U+FFFD. */
	ok = strstr(out, "\nreusetop_accepted_total{proto=\"tcp\",family=\"inet6\",addr=\"::1\","
			 "port=\"9090\",netns=\"1\",inode=\"5\",pid=\"200\","
			 "comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\"} 3\n");
	CHECK(ok, "labels: %s", out);
	ok = !strstr(out, "reusetop_enqueued_total{") && !strstr(out, "reusetop_selected_total{") &&
	     !strstr(out, "reusetop_wakeups_total{") && !strstr(out, "reusetop_group_max_share{") &&
	     !strstr(out, "reusetop_drops_total{proto=\"tcp\",family=\"inet6\"") &&
	     strstr(out, "reusetop_drops_total{proto=\"tcp\",family=\"inet\"") &&
	     strstr(out, "# TYPE reusetop_enqueued_total counter\n");
	CHECK(ok, "unknown values have no sample: %s", out);
	ok = strstr(out, "reusetop_info{version=\"") && strstr(out, "attach=\"tracepoint\"} 1\n") &&
	     strstr(out, "reusetop_feature_enabled{feature=\"selected\"} 0\n") &&
	     strstr(out, "reusetop_group_members{proto=\"tcp\",family=\"inet\",addr=\"127.0.0.1\","
			 "port=\"8080\",netns=\"1\"} 3\n") &&
	     strstr(out, "\nreusetop_sockets 4\n") && strstr(out, "reusetop_sockets_omitted 0\n");
	CHECK(ok, "process and group series: %s", out);
	/* Cumulative buckets, le in decimal seconds, the last one +Inf, and the count. */
	ok = strstr(out, "inode=\"5\",pid=\"200\",comm=\"a\\\"b\\\\c\\nd\xef\xbf\xbd\","
			 "le=\"0.000001\"} 2\n") &&
	     strstr(out, "le=\"0.000004\"} 2\n") && strstr(out, "le=\"0.000008\"} 3\n") &&
	     strstr(out, "le=\"1073.741824\"} 3\n") && strstr(out, "le=\"+Inf\"} 3\n") &&
	     strstr(out, "reusetop_queue_wait_seconds_count{proto=\"tcp\",family=\"inet6\"") &&
	     !strstr(out, "_sum{");
	CHECK(ok, "histogram: %s", out);
	free(out);
	/* The cap: the first 2 sockets in view order (the 8080 group), the rest counted. */
	CAPTURE(out, f, render_prometheus(f, &v, 2));
	ok = strstr(out, "reusetop_sockets_omitted 2\n") && strstr(out, "inode=\"11\"") &&
	     !strstr(out, "inode=\"12\"") && !strstr(out, "inode=\"5\"") &&
	     strstr(out, "reusetop_group_members{proto=\"tcp\",family=\"inet\"") &&
	     !strstr(out, "reusetop_group_members{proto=\"tcp\",family=\"inet6\"");
	CHECK(ok, "cap: %s", out);
	free(out);
	model_free(m);
	return true;
}

static bool parse_steer(const char *line, struct steer_options *o, char *err, size_t errlen)
{
	char buf[512], *argv[32];
	int argc = split_args(line, buf, sizeof(buf), argv, 32);

	return steer_parse(argc, argv, o, err, errlen) == 0;
}

static bool test_steer_options(void)
{
	static const char *const bad[] = {
		"steer",
		"steer --port 0 --policy roundrobin",
		"steer --port 80 --policy nope",
		"steer --port 80 --policy weighted --weight 12",
		"steer --port 80 --policy weighted --weight 12=x",
		"steer --port 80 --policy weighted --weight ino:=3",
		"steer --port 80 --policy roundrobin --proto sctp",
		"steer --port 80 --policy roundrobin --addr 999.1.1.1",
		"steer --port 80 --show --detach",
		"steer --port 80 --policy roundrobin stray",
		"steer --port 80 --policy roundrobin --shadow --enforce",
		"steer --port 80 --policy roundrobin --guard",
		"steer --port 80 --policy roundrobin --follow --guard-drops 3",
		"steer --port 80 --policy roundrobin --follow --guard --guard-drops x",
		"steer --port 80 --show --shadow",
	};
	struct steer_options o;
	char err[256];

	CHECK(parse_steer("steer --port 8080 --policy roundrobin", &o, err, sizeof(err)), "%s",
	      err);
	CHECK(o.port == 8080 && o.policy == steer_policy_from_name("roundrobin") &&
		      o.action == STEER_ACT_APPLY,
	      "roundrobin");
	CHECK(parse_steer("steer --port 53 --proto udp --addr ::1 --policy weighted "
			  "--weight 100=3,ino:42=1 --drain 7",
			  &o, err, sizeof(err)),
	      "%s", err);
	CHECK(o.proto == IPPROTO_UDP && o.family == AF_INET6 && o.nweights == 2 &&
		      o.weights[0].member.id == 100 && !o.weights[0].member.inode &&
		      o.weights[0].weight == 3 && o.weights[1].member.inode &&
		      o.weights[1].member.id == 42 && o.ndrains == 1 && o.drains[0].id == 7,
	      "weights and drain");
	CHECK(parse_steer("steer --port 80 --policy roundrobin --shadow", &o, err, sizeof(err)) &&
		      o.shadow && !o.enforce,
	      "shadow: %s", err);
	CHECK(parse_steer("steer --port 80 --enforce", &o, err, sizeof(err)) && o.enforce &&
		      !o.policy,
	      "enforce alone: %s", err);
	CHECK(parse_steer("steer --port 80 --policy cpu --follow --guard --guard-drops 5 "
			  "--guard-fallbacks 7",
			  &o, err, sizeof(err)) &&
		      o.guard && o.guard_drops == 5 && o.guard_fallbacks == 7,
	      "guard: %s", err);
	CHECK(parse_steer("steer --port 80 --show --json", &o, err, sizeof(err)) &&
		      o.action == STEER_ACT_SHOW && o.json,
	      "show: %s", err);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		err[0] = '\0';
		CHECK(!parse_steer(bad[i], &o, err, sizeof(err)), "accepted: %s", bad[i]);
		CHECK(err[0] && !strchr(err, '\n'), "no one-line message for: %s", bad[i]);
	}
	return true;
}

static bool test_steer_swrr(void)
{
	uint32_t slots[4] = {0, 1, 2, 3}, w[4] = {3, 1, 0, 0}, out[16], count[4] = {0};
	size_t n = steer_swrr(slots, w, 4, out, 16);

	/* A cycle of 4: exactly 3 for member 0, 1 for member 1, never 2 or 3, and smooth. */
	CHECK(n == 4, "cycle length %zu", n);
	for (size_t i = 0; i < n; i++)
		count[out[i]]++;
	CHECK(count[0] == 3 && count[1] == 1 && !count[2] && !count[3], "ratios");
	CHECK(out[0] == 0 && out[1] == 0 && out[2] == 1 && out[3] == 0, "smooth order %u%u%u%u",
	      out[0], out[1], out[2], out[3]);
	w[0] = w[1] = 0;
	CHECK(steer_swrr(slots, w, 4, out, 16) == 0, "no positive weight");
	return true;
}

static bool test_steer_maglev(void)
{
	static uint32_t before[STEER_TABLE_SIZE], after[STEER_TABLE_SIZE];
	uint32_t slots4[4] = {0, 1, 2, 3}, slots3[3] = {0, 1, 3}, count[4] = {0};
	size_t moved = 0;

	steer_maglev(slots4, 4, before);
	for (size_t i = 0; i < STEER_TABLE_SIZE; i++)
		count[before[i]]++;
	for (int m = 0; m < 4; m++)
		CHECK(count[m] >= STEER_TABLE_SIZE / 4 - 1 && count[m] <= STEER_TABLE_SIZE / 4 + 1,
		      "member %d has %u entries", m, count[m]);
	/* Removing member 2 moves its entries and barely any others. */
	steer_maglev(slots3, 3, after);
	for (size_t i = 0; i < STEER_TABLE_SIZE; i++)
		moved += before[i] != 2 && before[i] != after[i];
	CHECK(after[0] != 2 && moved < STEER_TABLE_SIZE / 50, "%zu other entries moved", moved);
	return true;
}

static bool gone_if_seven(uint64_t inode, void *arg)
{
	(void)arg;
	return inode == 7;
}

/* Exited tasks: listed for the retention, then folded per listener; nothing lost on the way. */
static bool test_retention(void)
{
	struct rt_acceptor_sample a = ACCEPTOR(7, 300, 301, "w", 5, 2, 9);
	struct rt_acceptor_sample b = ACCEPTOR(7, 302, 302, "w", 3, 0, 1);
	struct rt_acceptor_sample c = ACCEPTOR(8, 400, 400, "x", 4, 0, 0);
	const struct rt_acceptor_sample *rows;
	struct rt_retention *r;
	size_t n;
	bool ok = true;

	/* Queue waits live in the tasks' rows too: folding keeps every one. */
	a.wait[3] = 4;
	a.wait[9] = 1;
	b.wait[3] = 3;
	CHECK(!retention_new(&r, 10.0), "new");
	CHECK(!retention_add(r, &a, 100.0) && !retention_add(r, &b, 105.0) &&
		      !retention_add(r, &c, 100.0),
	      "add");
	CHECK(!retention_expire(r, 109.9), "expire before the retention");
	rows = retention_rows(r, &n);
	CHECK(n == 3 && rows[0].exited && rows[0].tasks == 1 && rows[0].pid == 300,
	      "listed while retained: %zu", n);
	CHECK(!retention_expire(r, 110.0), "expire");
	rows = retention_rows(r, &n);
	uint64_t acc7 = 0, folded7 = 0, tasks7 = 0, wake7 = 0;

	for (size_t i = 0; i < n; i++) {
		if (rows[i].inode != 7)
			continue;
		acc7 += rows[i].accepted;
		wake7 += rows[i].wakeups;
		if (!rows[i].pid && !rows[i].tid) {
			folded7++;
			tasks7 = rows[i].tasks;
			CHECK(rows[i].exited && !strcmp(rows[i].comm, "(exited)"), "folded row");
		}
	}
	CHECK(n == 3 && folded7 == 1 && tasks7 == 1 && acc7 == 8 && wake7 == 10,
	      "a folded, b listed: n %zu acc %llu", n, (unsigned long long)acc7);
	CHECK(!retention_expire(r, 200.0), "expire all");
	rows = retention_rows(r, &n);
	CHECK(n == 2, "one folded row per listener: %zu", n);
	for (size_t i = 0; i < n; i++)
		CHECK(!rows[i].pid &&
			      (rows[i].inode == 7
				       ? rows[i].accepted == 8 && rows[i].eagain == 2 &&
						 rows[i].tasks == 2 && rows[i].wait[3] == 7 &&
						 rows[i].wait[9] == 1
				       : rows[i].accepted == 4 && !rows[i].wait[3]),
		      "folded sums");
	retention_forget(r, gone_if_seven, NULL);
	rows = retention_rows(r, &n);
	CHECK(n == 1 && rows[0].inode == 8, "a gone listener's rows are forgotten");
	retention_free(r);
	return ok;
}

/* The owner: the one live server, else the one waiting holder, else the lowest holder. */
static bool test_owner(void)
{
	struct rt_holder h[5] = {
		{10, 3, "master", false}, {11, 5, "worker", false}, {11, 6, "worker", false},
		{12, 5, "worker", false}, {13, 5, "worker", false},
	};
	struct rt_listener l = {.inode = 1, .proto = IPPROTO_TCP, .nholders = 5, .holders = h};
	int one[] = {12}, many[] = {11, 12, 13}, stranger[] = {99};
	struct rt_owner o;

	socket_owner(&l, NULL, 0, NULL, 0, &o);
	CHECK(o.source == RT_OWNER_HOLDER && o.pid == 10 && o.fd == 3 && o.others == 3,
	      "nobody served it: the lowest holder, +3 (%d+%zu)", o.pid, o.others);
	h[3].waits = true;
	socket_owner(&l, NULL, 0, NULL, 0, &o);
	CHECK(o.source == RT_OWNER_POLLS && o.pid == 12 && o.fd == 5 && !o.others,
	      "the one waiting for it");
	h[1].waits = true;
	socket_owner(&l, NULL, 0, NULL, 0, &o);
	CHECK(o.source == RT_OWNER_HOLDER && o.pid == 10, "two waiting: the lowest holder");
	socket_owner(&l, one, 1, "worker", 0, &o);
	CHECK(o.source == RT_OWNER_ACCEPTS && o.pid == 12 && o.fd == 5 && !o.others &&
		      !strcmp(o.comm, "worker"),
	      "the one that accepted");
	socket_owner(&l, one, 1, "worker", 1, &o);
	CHECK(o.source == RT_OWNER_READS, "UDP: the one that read");
	socket_owner(&l, many, 3, "worker", 0, &o);
	CHECK(o.source == RT_OWNER_HOLDER && o.pid == 10 && o.others == 3,
	      "several serve it: the lowest holder, +3 servers");
	socket_owner(&l, stranger, 1, "handed", 0, &o);
	CHECK(o.pid == 99 && o.fd == -1 && !strcmp(o.comm, "handed"),
	      "a server that holds no descriptor we see");
	l.nholders = 0;
	socket_owner(&l, NULL, 0, NULL, 0, &o);
	CHECK(o.source == RT_OWNER_NONE && !owner_source_name(o.source), "no holder");
	CHECK(!strcmp(owner_source_name(RT_OWNER_POLLS), "polls"), "names");
	return true;
}

/* The configuration of a built-in policy: eligible members in slot order, and its table. */
static bool test_steer_policy_config(void)
{
	static uint32_t table[STEER_TABLE_SIZE];
	/* Given out of slot order; slot 5 drained, slot 1 weight 0. */
	struct steer_candidate m[4] = {
		{.slot = 7, .weight = 1},
		{.slot = 1, .weight = 0},
		{.slot = 5, .weight = 2, .drained = true},
		{.slot = 2, .weight = 3},
	};
	struct steer_candidate fine[8];
	struct steer_config cfg;
	uint32_t count[8] = {0};
	int err;

	err = steer_policy_config(STEER_POLICY_ROUNDROBIN, m, 4, &cfg, table);
	CHECK(!err && cfg.policy == STEER_POLICY_ROUNDROBIN && cfg.n == 3 && cfg.slot[0] == 1 &&
		      cfg.slot[1] == 2 && cfg.slot[2] == 7 && cfg.table_len == 0,
	      "roundrobin: err %d n %u slots %u %u %u", err, cfg.n, cfg.slot[0], cfg.slot[1],
	      cfg.slot[2]);
	/* Weighted leaves weight 0 out; its cycle is 3 x slot 2 and 1 x slot 7. */
	err = steer_policy_config(STEER_POLICY_WEIGHTED, m, 4, &cfg, table);
	CHECK(!err && cfg.n == 2 && cfg.slot[0] == 2 && cfg.slot[1] == 7 && cfg.table_len == 4,
	      "weighted: err %d n %u table %u", err, cfg.n, cfg.table_len);
	for (uint32_t i = 0; i < cfg.table_len; i++)
		count[table[i]]++;
	CHECK(count[2] == 3 && count[7] == 1, "weighted cycle: %u x 2, %u x 7", count[2], count[7]);
	err = steer_policy_config(STEER_POLICY_CONSISTENT, m, 4, &cfg, table);
	CHECK(!err && cfg.n == 3 && cfg.table_len == STEER_TABLE_SIZE, "consistent: err %d", err);
	/* A custom policy reads the eligible set only: the weights do not matter. */
	err = steer_policy_config(STEER_POLICY_CUSTOM, m, 4, &cfg, table);
	CHECK(!err && cfg.n == 3, "custom: err %d n %u", err, cfg.n);
	/* Nothing eligible, and a cycle too long for the table. */
	m[0].drained = m[3].drained = true;
	CHECK(steer_policy_config(STEER_POLICY_WEIGHTED, m, 4, &cfg, table) == -ENOENT,
	      "weighted, only weight 0 left");
	m[1].drained = true;
	CHECK(steer_policy_config(STEER_POLICY_CPU, m, 4, &cfg, table) == -ENOENT, "all drained");
	for (uint32_t i = 0; i < 8; i++)
		fine[i] = (struct steer_candidate){.slot = i, .weight = 10000 - i};
	err = steer_policy_config(STEER_POLICY_WEIGHTED, fine, 8, &cfg, table);
	CHECK(err == -E2BIG, "a cycle of 79972 > %d: err %d", STEER_TABLE_SIZE, err);
	err = steer_policy_config(STEER_POLICY_WEIGHTED, fine, 6, &cfg, table);
	CHECK(!err && cfg.table_len == 59985, "a cycle of 59985: err %d, %u", err, cfg.table_len);
	return true;
}

#define HEX64  "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"
#define UID_US "0f2b3c1e_7a5d_4b9e_9c1a_2d3e4f5a6b7c"
#define UID    "0f2b3c1e-7a5d-4b9e-9c1a-2d3e4f5a6b7c"

/* Cgroup paths as runtimes, systemd and the kubelet name them, and what each says. */
static bool test_container_paths(void)
{
	static const struct {
		const char *path, *runtime, *id, *pod_uid;
	} cases[] = {
		{"/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod" UID_US
		 ".slice/cri-containerd-" HEX64 ".scope",
		 "containerd", HEX64, UID},
		{"/kubepods.slice/kubepods-pod" UID_US ".slice/crio-" HEX64 ".scope", "cri-o",
		 HEX64, UID},
		{"/kubepods/besteffort/pod" UID "/" HEX64, "", HEX64, UID},
		{"/../../kubepods/pod" UID "/" HEX64, "", HEX64, UID},
		{"/kubepods.slice/kubepods-besteffort.slice/kubepods-besteffort-pod" UID_US
		 ".slice",
		 "", "", UID},
		{"/system.slice/docker-" HEX64 ".scope", "docker", HEX64, ""},
		{"/docker/" HEX64, "docker", HEX64, ""},
		{"/machine.slice/libpod-" HEX64 ".scope/container", "podman", HEX64, ""},
		{"/user.slice/user-1000.slice/user@1000.service/user.slice/libpod-" HEX64 ".scope",
		 "podman", HEX64, ""},
		{"/libpod_parent/" HEX64, "podman", HEX64, ""},
		{"/system.slice/nginx.service", "systemd", "nginx.service", ""},
		{"/user.slice/user-1000.slice/user@1000.service/app.slice/web.service", "systemd",
		 "web.service", ""},
		{"/system.slice/containerd.service/kubepods-burstable-pod" UID_US
		 ".slice:cri-containerd:" HEX64,
		 "containerd", HEX64, UID},
	};
	static const char *const none[] = {
		"/",
		"",
		"/user.slice/user-1000.slice/session-3.scope",
		"/init.scope",
		"/machine.slice/libpod-conmon-" HEX64 ".scope",
		"/docker/" HEX64 "0",
		"/kubepods/besteffort/podnot-a-uid",
	};
	struct rt_container c;

	for (size_t i = 0; i < ARRAY_LEN(cases); i++) {
		bool found = container_of_cgroup(cases[i].path, &c);

		CHECK(found && !strcmp(c.runtime, cases[i].runtime) && !strcmp(c.id, cases[i].id) &&
			      !strcmp(c.pod_uid, cases[i].pod_uid) && !c.pod[0] &&
			      !c.k8s_namespace[0],
		      "%s: found %d runtime '%s' id '%s' pod_uid '%s'", cases[i].path, found,
		      c.runtime, c.id, c.pod_uid);
	}
	for (size_t i = 0; i < ARRAY_LEN(none); i++)
		CHECK(!container_of_cgroup(none[i], &c), "%s: found runtime '%s' id '%s'", none[i],
		      c.runtime, c.id);
	return true;
}

/* Which line of /proc/PID/cgroup is the path: v2, or v1's name=systemd on hybrid hosts. */
static bool test_cgroup_path_of(void)
{
	static const char v2[] = "0::/system.slice/docker-" HEX64 ".scope\n";
	static const char hybrid[] =
		"12:pids:/docker/" HEX64 "\n1:name=systemd:/docker/" HEX64 "\n0::/\n";
	static const char hybrid_plain[] = "9:name=systemd:/user.slice/session-1.scope\n"
					   "0::/user.slice/session-1.scope\n";
	static const char v1[] = "4:memory:/x\n1:name=systemd:/system.slice/sshd.service";
	static const char neither[] = "4:memory:/x\n";
	char path[RT_CGROUP_LEN];
	struct rt_identity id = {.in_container = true};
	char label[64];

	CHECK(cgroup_path_of(v2, strlen(v2), path, sizeof(path)) &&
		      !strcmp(path, "/system.slice/docker-" HEX64 ".scope"),
	      "v2: %s", path);
	CHECK(cgroup_path_of(hybrid, strlen(hybrid), path, sizeof(path)) &&
		      !strcmp(path, "/docker/" HEX64),
	      "hybrid: %s", path);
	CHECK(cgroup_path_of(hybrid_plain, strlen(hybrid_plain), path, sizeof(path)) &&
		      !strcmp(path, "/user.slice/session-1.scope"),
	      "hybrid, no container: %s", path);
	CHECK(cgroup_path_of(v1, strlen(v1), path, sizeof(path)) &&
		      !strcmp(path, "/system.slice/sshd.service"),
	      "v1: %s", path);
	CHECK(!cgroup_path_of(neither, strlen(neither), path, sizeof(path)), "neither: %s", path);
	/* The tables' short names. */
	container_of_cgroup("/docker/" HEX64, &id.container);
	CHECK(!strcmp(container_label(&id, label, sizeof(label)), "docker:0123456789ab"), "%s",
	      label);
	snprintf(id.container.pod, sizeof(id.container.pod), "web-0");
	snprintf(id.container.k8s_namespace, sizeof(id.container.k8s_namespace), "shop");
	CHECK(!strcmp(container_label(&id, label, sizeof(label)), "shop/web-0"), "%s", label);
	id.in_container = false;
	CHECK(!strcmp(container_label(&id, label, sizeof(label)), "-"), "%s", label);
	return true;
}

/* A socket's and a task's cgroup and container in JSON, -b and the Prometheus labels. */
static bool test_render_identity(void)
{
	struct rt_listener l[4];
	struct rt_sock_sample s[] = {SOCK(5, 0, 3, 0, 0)};
	struct rt_acceptor_sample a[] = {ACCEPTOR(5, 200, 201, "srv", 3, 0, 0)};
	struct rt_sample sample = {.mono_s = 2.0, .features = {true, true, false}};
	struct rt_identity pod = {.cgroup = "/kubepods/pod" UID "/" HEX64, .in_container = true};
	struct rt_holder h = {200, 5, "srv", false};
	struct rt_model *m;
	struct rt_view v;
	char *out = NULL;
	bool ok;

	container_of_cgroup(pod.cgroup, &pod.container);
	snprintf(pod.container.pod, sizeof(pod.container.pod), "web-0");
	make_listeners(l);
	l[3].holders = &h;
	l[3].nholders = 1;
	sample.listeners = &l[3];
	sample.nlisteners = 1;
	sample.socks = s;
	sample.nsocks = 1;
	sample.acceptors = a;
	sample.nacceptors = 1;
	CHECK(!model_new(&m) && !model_update(m, &sample, 1.0, NULL, &v), "update");
	CHECK(v.ngroups == 1 && v.groups[0].nsocks == 1 && v.groups[0].nacceptors == 1, "view");
	v.attach = "tracepoint";
	CAPTURE(out, f, render_json(f, &v));
	ok = strstr(out, "\"cgroup\":null,\"container\":null") && !strstr(out, "\"pod\"");
	CHECK(ok, "no identity: %s", out);
	free(out);
	v.groups[0].socks[0].ident = &pod;
	v.groups[0].acceptors[0].ident = &pod;
	CAPTURE(out, f, render_json(f, &v));
	ok = strstr(out, "\"cgroup\":\"/kubepods/pod" UID "/" HEX64 "\",\"container\":{\"runtime\":"
			 "null,\"id\":\"" HEX64 "\",\"pod_uid\":\"" UID "\",\"pod\":\"web-0\","
			 "\"namespace\":null}") &&
	     strstr(out, "\"tasks\":1,\"cgroup\":\"/kubepods/pod" UID);
	CHECK(ok, "socket and task: %s", out);
	free(out);
	CAPTURE(out, f, render_prometheus(f, &v, 100));
	ok = strstr(out, "comm=\"srv\",container=\"" HEX64 "\",pod=\"web-0\"} 3\n") &&
	     !strstr(out, "namespace=");
	CHECK(ok, "labels: %s", out);
	free(out);
	CAPTURE(out, f, render_text(f, &v));
	CHECK(strstr(out, " CONTAINER\n") && strstr(out, " web-0\n"), "-b: %s", out);
	free(out);
	model_free(m);
	return true;
}

int main(void)
{
	run("rate_per_s", test_rate);
	run("imbalance: max share and Jain's index", test_imbalance);
	run("queue wait percentiles from log2 buckets", test_wait_summary);
	run("model: wakeups per connection, spurious wakeups, queue peak, drop rate",
	    test_model_herd);
	run("steer: option parsing", test_steer_options);
	run("steer: smooth weighted round-robin cycle", test_steer_swrr);
	run("steer: Maglev table balance and minimal disruption", test_steer_maglev);
	run("steer: a policy's configuration over the eligible members", test_steer_policy_config);
	run("json: escaping", test_json_escape);
	run("json: writer", test_json_writer);
	run("json: numbers printed without printf are printf's", test_json_double_exact);
	run("options: valid", test_opts_valid);
	run("options: invalid values give one-line errors", test_opts_invalid);
	run("model: groups, rates, shares, acceptors", test_model_groups);
	run("model: port and pid filters", test_model_filters);
	run("model: a connection's local end finds its group", test_endpoint_in_group);
	run("model: hand-offs per receiver, shares, pending, handed off", test_model_handoff);
	run("render: unknown values are null", test_render_json_nulls);
	run("render: cached JSON equals fresh JSON across intervals", test_render_json_cached);
	run("render: cached text equals fresh text across intervals", test_render_text_cached);
	run("options: --prometheus listen addresses", test_listen_addr);
	run("render: Prometheus escaping, no sample when unknown, cap on sockets",
	    test_render_prometheus);
	run("retention: exited tasks listed, then folded, never lost", test_retention);
	run("owner: the process that serves a socket", test_owner);
	run("container: runtimes, pods and units from cgroup paths", test_container_paths);
	run("container: the cgroup line of v2, v1 and hybrid hosts; short names",
	    test_cgroup_path_of);
	run("render: cgroup and container in JSON, -b and Prometheus labels", test_render_identity);
	printf("unit: %d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
