// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <sys/socket.h>

#include "opts.h"

const char rt_usage[] =
	"Usage: reusetop [OPTIONS]\n"
	"       reusetop steer --port PORT ... (see reusetop steer --help)\n"
	"Show, per listening TCP socket and per SO_REUSEPORT group, the connections the kernel\n"
	"queued and the ones accepted, attributed to process, fd and socket inode.\n"
	"\n"
	"  -b, --batch              plain text each interval (no terminal control)\n"
	"  -j, --json               one JSON object per line each interval\n"
	"  -d, --delay SECONDS      interval between updates (default 1, 0.05 to 3600)\n"
	"  -n, --iterations N       stop after N updates\n"
	"  -p, --pid PID[,PID...]   only groups with a socket or acceptor in these processes\n"
	"  -P, --port PORT[,...]    only groups on these local ports\n"
	"      --attach TIER        auto (default), fentry, kprobe or tracepoint\n"
	"      --retain-exited SECONDS\n"
	"                           list tasks that exited this long (default 60, 0 to 86400),\n"
	"                           then fold their counts into one row per group; show sockets\n"
	"                           that closed this long\n"
	"      --prometheus [ADDR:]PORT\n"
	"                           serve Prometheus metrics on http://ADDR:PORT/metrics\n"
	"                           (ADDR 127.0.0.1 unless given; IPv6 as [ADDR]:PORT)\n"
	"  -v, --verbose            show libbpf's messages\n"
	"  -h, --help               this help\n"
	"      --version            print the version\n";

enum { OPT_ATTACH = 256, OPT_VERSION, OPT_PROMETHEUS, OPT_RETAIN_EXITED, OPT_MAX };

static const struct option long_options[] = {
	{"batch", no_argument, NULL, 'b'},
	{"json", no_argument, NULL, 'j'},
	{"delay", required_argument, NULL, 'd'},
	{"iterations", required_argument, NULL, 'n'},
	{"pid", required_argument, NULL, 'p'},
	{"port", required_argument, NULL, 'P'},
	{"attach", required_argument, NULL, OPT_ATTACH},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{"version", no_argument, NULL, OPT_VERSION},
	{"prometheus", required_argument, NULL, OPT_PROMETHEUS},
	{"retain-exited", required_argument, NULL, OPT_RETAIN_EXITED},
	{},
};

int opts_fail(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
	/* Messages quote what the user typed: control characters must not break the line. */
	for (char *c = err; *c; c++)
		if ((unsigned char)*c < 0x20 || *c == 0x7f)
			*c = '?';
	return -EINVAL;
}

int opts_bad_option(int c, const char *name, char *err, size_t errlen)
{
	if (c == '?' && optopt)
		return opts_fail(err, errlen, "unknown option '-%c'", optopt);
	if (c == ':')
		return opts_fail(err, errlen, "option '%s' needs a value", name);
	return opts_fail(err, errlen, "unknown option '%s'", name);
}

int parse_ulong(const char *s, unsigned long min, unsigned long max, unsigned long *out)
{
	unsigned long v;
	char *end;

	/* strtoul accepts "-1" (as ULONG_MAX) and leading spaces: refuse both. */
	if (!s || *s < '0' || *s > '9')
		return -EINVAL;
	errno = 0;
	v = strtoul(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

int parse_delay(const char *s, double *out)
{
	double v;
	char *end;

	if (!s || !((*s >= '0' && *s <= '9') || *s == '.'))
		return -EINVAL;
	errno = 0;
	v = strtod(s, &end);
	if (errno || *end || !isfinite(v) || v < RT_MIN_DELAY_S || v > RT_MAX_DELAY_S)
		return -EINVAL;
	*out = v;
	return 0;
}

/* Comma-separated values, each parsed by parse_ulong; no empty items, no duplicates. */
static int parse_list(const char *s, unsigned long min, unsigned long max, unsigned long *vals,
		      size_t *n)
{
	char buf[1024], *item, *save = NULL;

	*n = 0;
	if (!s || !*s || strlen(s) >= sizeof(buf) || s[strlen(s) - 1] == ',' || s[0] == ',' ||
	    strstr(s, ",,"))
		return -EINVAL;
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		unsigned long v;

		if (*n >= RT_MAX_FILTER || parse_ulong(item, min, max, &v))
			return -EINVAL;
		for (size_t i = 0; i < *n; i++)
			if (vals[i] == v)
				return -EINVAL;
		vals[(*n)++] = v;
	}
	return *n ? 0 : -EINVAL;
}

int parse_port_list(const char *s, uint16_t *ports, size_t *n)
{
	unsigned long vals[RT_MAX_FILTER];
	int err = parse_list(s, 1, 65535, vals, n);

	for (size_t i = 0; !err && i < *n; i++)
		ports[i] = (uint16_t)vals[i];
	return err;
}

int parse_pid_list(const char *s, int *pids, size_t *n)
{
	unsigned long vals[RT_MAX_FILTER];
	/* PID_MAX_LIMIT is 4194304 (2^22) on 64-bit kernels. */
	int err = parse_list(s, 1, 4194304, vals, n);

	for (size_t i = 0; !err && i < *n; i++)
		pids[i] = (int)vals[i];
	return err;
}

int parse_tier(const char *s, enum rt_tier *out)
{
	static const enum rt_tier tiers[] = {RT_TIER_AUTO, RT_TIER_FENTRY, RT_TIER_KPROBE,
					     RT_TIER_TRACEPOINT};

	for (size_t i = 0; s && i < sizeof(tiers) / sizeof(tiers[0]); i++) {
		if (!strcmp(s, tier_name(tiers[i]))) {
			*out = tiers[i];
			return 0;
		}
	}
	return -EINVAL;
}

int parse_listen_addr(const char *s, struct rt_listen_addr *out)
{
	struct rt_listen_addr a = {.family = AF_INET};
	char host[INET6_ADDRSTRLEN + 2];
	const char *port = s, *colon;
	unsigned long p;
	size_t len;

	if (!s)
		return -EINVAL;
	if (s[0] == '[') {
		/* [IPV6]:PORT */
		colon = strstr(s, "]:");
		len = colon ? (size_t)(colon - s - 1) : 0;
		if (!len || len >= sizeof(host))
			return -EINVAL;
		memcpy(host, s + 1, len);
		host[len] = '\0';
		a.family = AF_INET6;
		if (inet_pton(AF_INET6, host, a.addr) != 1)
			return -EINVAL;
		port = colon + 2;
	} else if ((colon = strchr(s, ':'))) {
		/* IPV4:PORT; a bare IPv6 address would be ambiguous with its port. */
		len = (size_t)(colon - s);
		if (!len || len >= sizeof(host) || strchr(colon + 1, ':'))
			return -EINVAL;
		memcpy(host, s, len);
		host[len] = '\0';
		if (inet_pton(AF_INET, host, a.addr) != 1)
			return -EINVAL;
		port = colon + 1;
	} else {
		inet_pton(AF_INET, "127.0.0.1", a.addr);
	}
	if (parse_ulong(port, 1, 65535, &p))
		return -EINVAL;
	a.port = (uint16_t)p;
	*out = a;
	return 0;
}

int opts_parse(int argc, char **argv, struct rt_options *o, char *err, size_t errlen)
{
	bool seen[OPT_MAX] = {}; /* a repeated option is an error, not "last wins" */
	unsigned long n;
	int c;

	memset(o, 0, sizeof(*o));
	o->delay_s = 1.0;
	o->tier = RT_TIER_AUTO;
	o->retain_exited_s = RT_DEFAULT_RETAIN_EXITED_S;
	opterr = 0;
	optind = 0; /* full rescan: opts_parse may run more than once in one process (tests) */
	while ((c = getopt_long(argc, argv, ":bjd:n:p:P:vh", long_options, NULL)) != -1) {
		const char *name = argv[optind - 1] ? argv[optind - 1] : "?";

		if (c == '?' || c == ':' || c < 0 || c >= OPT_MAX)
			return opts_bad_option(c, name, err, errlen);
		if (seen[c])
			return opts_fail(err, errlen, "option '%s' given twice", name);
		seen[c] = true;
		switch (c) {
		case 'b':
			if (o->output == RT_OUT_JSON)
				return opts_fail(err, errlen, "-b and -j cannot be used together");
			o->output = RT_OUT_BATCH;
			break;
		case 'j':
			if (o->output == RT_OUT_BATCH)
				return opts_fail(err, errlen, "-b and -j cannot be used together");
			o->output = RT_OUT_JSON;
			break;
		case 'd':
			if (parse_delay(optarg, &o->delay_s))
				return opts_fail(
					err, errlen,
					"invalid delay '%s': want seconds from %.2f to %.0f",
					optarg, RT_MIN_DELAY_S, RT_MAX_DELAY_S);
			break;
		case 'n':
			if (parse_ulong(optarg, 1, 1000000000, &n))
				return opts_fail(
					err, errlen,
					"invalid iteration count '%s': want 1 to 1000000000",
					optarg);
			o->iterations = n;
			break;
		case 'p':
			if (parse_pid_list(optarg, o->pids, &o->npids))
				return opts_fail(err, errlen,
						 "invalid pid list '%s': want PID[,PID...], up to "
						 "%d distinct pids",
						 optarg, RT_MAX_FILTER);
			break;
		case 'P':
			if (parse_port_list(optarg, o->ports, &o->nports))
				return opts_fail(err, errlen,
						 "invalid port list '%s': want PORT[,PORT...] from "
						 "1 to 65535, up to %d distinct",
						 optarg, RT_MAX_FILTER);
			break;
		case OPT_ATTACH:
			if (parse_tier(optarg, &o->tier))
				return opts_fail(err, errlen,
						 "invalid tier '%s': want auto, fentry, kprobe or "
						 "tracepoint",
						 optarg);
			break;
		case OPT_RETAIN_EXITED:
			if (parse_ulong(optarg, 0, RT_MAX_RETAIN_EXITED_S, &n))
				return opts_fail(
					err, errlen,
					"invalid retention '%s': want whole seconds from 0 to %d",
					optarg, RT_MAX_RETAIN_EXITED_S);
			o->retain_exited_s = (double)n;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			o->help = true;
			break;
		case OPT_VERSION:
			o->version = true;
			break;
		case OPT_PROMETHEUS:
			if (parse_listen_addr(optarg, &o->prometheus))
				return opts_fail(err, errlen,
						 "invalid listen address '%s': want PORT, "
						 "IPV4:PORT or [IPV6]:PORT, port 1 to 65535",
						 optarg);
			break;
		}
	}
	if (optind < argc)
		return opts_fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	return 0;
}
