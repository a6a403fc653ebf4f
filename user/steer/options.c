// SPDX-License-Identifier: GPL-2.0
/*
 * `reusetop steer`'s options: the usage text, the getopt loop, then the checks across options.
 * Pure (never prints or exits): unit tested and fuzzed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include "opts.h"
#include "steer.h"

const char steer_usage[] =
	"Usage: reusetop steer --port PORT [--addr ADDR] [--proto tcp|udp] [--netns INODE]\n"
	"                      --policy NAME [--weight MEMBER=W[,...]] [--drain MEMBER] "
	"[--shadow]\n"
	"                      [--follow [--guard [--guard-drops N] [--guard-fallbacks N]]]\n"
	"       reusetop steer --port PORT ... --object FILE.bpf.o [--program NAME]\n"
	"       reusetop steer --port PORT ... [--weight ...] [--drain M] [--undrain M] "
	"[--follow]\n"
	"       reusetop steer --port PORT ... --enforce | --shadow\n"
	"       reusetop steer --port PORT ... --show [--json]\n"
	"       reusetop steer --port PORT ... --detach\n"
	"Replace the kernel's hash choice in a running server's SO_REUSEPORT group with a BPF\n"
	"policy. The program stays in the group after reusetop exits; --detach removes it.\n"
	"\n"
	"  --port PORT            the group's local port (required)\n"
	"  --addr ADDR            its local address, when the port has several\n"
	"  --proto tcp|udp        default tcp\n"
	"  --netns INODE          its network namespace, when the port is used in several\n"
	"  --policy NAME          hash, roundrobin, weighted, least-loaded (tcp), cpu, consistent\n"
	"  --weight MEMBER=W,...  weighted: a member's weight (0 to 10000, default 1)\n"
	"  --drain MEMBER         no new connections for this member (any policy)\n"
	"  --undrain MEMBER       end a drain (on a group already steered)\n"
	"  --object FILE.bpf.o    your own policy (see the README for its ABI)\n"
	"  --program NAME         the program in FILE, when it has several\n"
	"  --shadow               the policy computes and counts its choice for every\n"
	"                         connection, but the kernel's hash still selects\n"
	"  --enforce              leave shadow mode: the policy selects (one atomic flip)\n"
	"  --follow               keep running: add new members, remove closed ones\n"
	"  --guard                with --follow: put back the state before this command\n"
	"                         (the previous policy, or the kernel's hash) when drops or\n"
	"                         fallbacks per interval exceed the limits below, and exit\n"
	"  --guard-drops N        drops per interval that trip the guard above N (default 0)\n"
	"  --guard-fallbacks N    fallbacks per interval that trip it above N (default 0)\n"
	"  --interval SECONDS     --follow's rescan interval (default 1)\n"
	"  --show                 the group's program, members and per-member selections\n"
	"  --json                 --show as one JSON object\n"
	"  --detach               remove the program (the kernel's hash decides again)\n"
	"  --force                replace or detach a program reusetop did not attach\n"
	"  -v, --verbose          show libbpf's messages\n"
	"  -h, --help             this help\n"
	"MEMBER is a pid (the sockets that process serves) or ino:INODE (one socket).\n";

enum {
	OPT_PORT = 256,
	OPT_ADDR,
	OPT_PROTO,
	OPT_NETNS,
	OPT_POLICY,
	OPT_WEIGHT,
	OPT_DRAIN,
	OPT_UNDRAIN,
	OPT_OBJECT,
	OPT_PROGRAM,
	OPT_FOLLOW,
	OPT_INTERVAL,
	OPT_SHOW,
	OPT_JSON,
	OPT_DETACH,
	OPT_FORCE,
	OPT_SHADOW,
	OPT_ENFORCE,
	OPT_GUARD,
	OPT_GUARD_DROPS,
	OPT_GUARD_FALLBACKS,
	OPT_MAX,
};

static const struct option steer_long_options[] = {
	{"port", required_argument, NULL, OPT_PORT},
	{"addr", required_argument, NULL, OPT_ADDR},
	{"proto", required_argument, NULL, OPT_PROTO},
	{"netns", required_argument, NULL, OPT_NETNS},
	{"policy", required_argument, NULL, OPT_POLICY},
	{"weight", required_argument, NULL, OPT_WEIGHT},
	{"drain", required_argument, NULL, OPT_DRAIN},
	{"undrain", required_argument, NULL, OPT_UNDRAIN},
	{"object", required_argument, NULL, OPT_OBJECT},
	{"program", required_argument, NULL, OPT_PROGRAM},
	{"follow", no_argument, NULL, OPT_FOLLOW},
	{"interval", required_argument, NULL, OPT_INTERVAL},
	{"show", no_argument, NULL, OPT_SHOW},
	{"json", no_argument, NULL, OPT_JSON},
	{"detach", no_argument, NULL, OPT_DETACH},
	{"force", no_argument, NULL, OPT_FORCE},
	{"shadow", no_argument, NULL, OPT_SHADOW},
	{"enforce", no_argument, NULL, OPT_ENFORCE},
	{"guard", no_argument, NULL, OPT_GUARD},
	{"guard-drops", required_argument, NULL, OPT_GUARD_DROPS},
	{"guard-fallbacks", required_argument, NULL, OPT_GUARD_FALLBACKS},
	{"verbose", no_argument, NULL, 'v'},
	{"help", no_argument, NULL, 'h'},
	{},
};

/* "1234" (a pid) or "ino:5678" (a socket inode). */
static int parse_ref(const char *s, struct steer_ref *r)
{
	unsigned long v;

	if (!strncmp(s, "ino:", 4)) {
		if (parse_ulong(s + 4, 1, ~0UL, &v))
			return -EINVAL;
		*r = (struct steer_ref){.id = v, .inode = true};
		return 0;
	}
	/* PID_MAX_LIMIT is 4194304 (2^22) on 64-bit kernels. */
	if (parse_ulong(s, 1, 4194304, &v))
		return -EINVAL;
	*r = (struct steer_ref){.id = v, .inode = false};
	return 0;
}

static bool ref_equal(const struct steer_ref *a, const struct steer_ref *b)
{
	return a->inode == b->inode && a->id == b->id;
}

const char *steer_ref_str(const struct steer_ref *r, char *buf, size_t len)
{
	snprintf(buf, len, r->inode ? "ino:%llu" : "%llu", (unsigned long long)r->id);
	return buf;
}

/* MEMBER=W[,MEMBER=W...], appended to o->weights. */
static int parse_weights(const char *s, struct steer_options *o)
{
	char buf[1024], *item, *save = NULL;

	if (!s || !*s || strlen(s) >= sizeof(buf) || s[0] == ',' || s[strlen(s) - 1] == ',' ||
	    strstr(s, ",,"))
		return -EINVAL;
	strcpy(buf, s);
	for (item = strtok_r(buf, ",", &save); item; item = strtok_r(NULL, ",", &save)) {
		char *eq = strchr(item, '=');
		struct steer_weight w;
		unsigned long v;

		if (!eq || o->nweights >= STEER_MAX_REFS)
			return -EINVAL;
		*eq = '\0';
		if (parse_ref(item, &w.member) || parse_ulong(eq + 1, 0, 10000, &v))
			return -EINVAL;
		w.weight = (uint32_t)v;
		for (size_t i = 0; i < o->nweights; i++)
			if (ref_equal(&o->weights[i].member, &w.member))
				return -EINVAL;
		o->weights[o->nweights++] = w;
	}
	return 0;
}

static int add_ref(const char *s, struct steer_ref *refs, size_t *n)
{
	struct steer_ref r;

	if (*n >= STEER_MAX_REFS || parse_ref(s, &r))
		return -EINVAL;
	for (size_t i = 0; i < *n; i++)
		if (ref_equal(&refs[i], &r))
			return -EINVAL;
	refs[(*n)++] = r;
	return 0;
}

/* One option (c, as named on the command line) into o. */
static int parse_option(int c, const char *name, struct steer_options *o, char *err, size_t errlen)
{
	unsigned long v;

	switch (c) {
	case OPT_PORT:
		if (parse_ulong(optarg, 1, 65535, &v))
			return opts_fail(err, errlen, "invalid port '%s': want 1 to 65535", optarg);
		o->port = (uint16_t)v;
		break;
	case OPT_ADDR:
		if (inet_pton(AF_INET, optarg, o->addr) == 1)
			o->family = AF_INET;
		else if (inet_pton(AF_INET6, optarg, o->addr) == 1)
			o->family = AF_INET6;
		else
			return opts_fail(err, errlen,
					 "invalid address '%s': want an IPv4 or IPv6 address",
					 optarg);
		break;
	case OPT_PROTO:
		if (!strcmp(optarg, "tcp"))
			o->proto = IPPROTO_TCP;
		else if (!strcmp(optarg, "udp"))
			o->proto = IPPROTO_UDP;
		else
			return opts_fail(err, errlen, "invalid protocol '%s': want tcp or udp",
					 optarg);
		break;
	case OPT_NETNS:
		if (parse_ulong(optarg, 1, ~0UL, &v))
			return opts_fail(err, errlen,
					 "invalid network namespace '%s': want its inode number",
					 optarg);
		o->netns = v;
		break;
	case OPT_POLICY:
		o->policy = steer_policy_from_name(optarg);
		if (o->policy == STEER_POLICY_NONE)
			return opts_fail(err, errlen,
					 "unknown policy '%s': want hash, roundrobin, weighted, "
					 "least-loaded, cpu, consistent or custom",
					 optarg);
		break;
	case OPT_WEIGHT:
		if (parse_weights(optarg, o))
			return opts_fail(err, errlen,
					 "invalid weight '%s': want MEMBER=W[,MEMBER=W...], "
					 "MEMBER a pid or ino:INODE (each once), W 0 to 10000",
					 optarg);
		break;
	case OPT_DRAIN:
	case OPT_UNDRAIN:
		if (c == OPT_DRAIN ? add_ref(optarg, o->drains, &o->ndrains)
				   : add_ref(optarg, o->undrains, &o->nundrains))
			return opts_fail(err, errlen,
					 "invalid member '%s' for %s: want a pid or ino:INODE, "
					 "each once",
					 optarg, name);
		break;
	case OPT_OBJECT:
		if (!*optarg)
			return opts_fail(err, errlen, "--object needs a file name");
		o->object = optarg;
		break;
	case OPT_PROGRAM:
		if (!*optarg)
			return opts_fail(err, errlen, "--program needs a program name");
		o->program = optarg;
		break;
	case OPT_FOLLOW:
		o->follow = true;
		break;
	case OPT_INTERVAL:
		if (parse_delay(optarg, &o->interval_s))
			return opts_fail(err, errlen,
					 "invalid interval '%s': want seconds from %.2f to %.0f",
					 optarg, RT_MIN_DELAY_S, RT_MAX_DELAY_S);
		break;
	case OPT_SHOW:
		o->action = STEER_ACT_SHOW;
		break;
	case OPT_JSON:
		o->json = true;
		break;
	case OPT_DETACH:
		o->action = STEER_ACT_DETACH;
		break;
	case OPT_FORCE:
		o->force = true;
		break;
	case OPT_SHADOW:
		o->shadow = true;
		break;
	case OPT_ENFORCE:
		o->enforce = true;
		break;
	case OPT_GUARD:
		o->guard = true;
		break;
	case OPT_GUARD_DROPS:
	case OPT_GUARD_FALLBACKS:
		if (parse_ulong(optarg, 0, ~0UL, &v))
			return opts_fail(err, errlen, "invalid limit '%s' for %s: want a count",
					 optarg, name);
		if (c == OPT_GUARD_DROPS)
			o->guard_drops = v;
		else
			o->guard_fallbacks = v;
		break;
	case 'v':
		o->verbose = true;
		break;
	case 'h':
		o->help = true;
		break;
	}
	return 0;
}

/* --show and --detach: only the group's address, --json (show) and --force (detach). */
static int check_query(const struct steer_options *o, const bool *seen, char *err, size_t errlen)
{
	const char *what = o->action == STEER_ACT_SHOW ? "--show" : "--detach";

	if (o->policy || o->object || o->program || o->nweights || o->ndrains || o->nundrains ||
	    o->follow || seen[OPT_INTERVAL] || o->shadow || o->enforce || o->guard ||
	    seen[OPT_GUARD_DROPS] || seen[OPT_GUARD_FALLBACKS])
		return opts_fail(err, errlen, "%s takes no policy options", what);
	if (o->json && o->action != STEER_ACT_SHOW)
		return opts_fail(err, errlen, "--json goes with --show");
	if (o->force && o->action == STEER_ACT_SHOW)
		return opts_fail(err, errlen, "--force goes with a policy or --detach");
	return 0;
}

/* --shadow, --enforce, --guard and its limits; and something to do at all. */
static int check_modes(const struct steer_options *o, const bool *seen, char *err, size_t errlen)
{
	if (o->shadow && o->enforce)
		return opts_fail(err, errlen, "--shadow and --enforce cannot be used together");
	if (o->guard && !o->follow)
		return opts_fail(err, errlen,
				 "--guard goes with --follow: the guard watches while following");
	if ((seen[OPT_GUARD_DROPS] || seen[OPT_GUARD_FALLBACKS]) && !o->guard)
		return opts_fail(err, errlen,
				 "--guard-drops and --guard-fallbacks go with --guard");
	if (!o->policy && !o->nweights && !o->ndrains && !o->nundrains && !o->follow &&
	    !o->shadow && !o->enforce)
		return opts_fail(
			err, errlen,
			"nothing to do: give --policy, --show, --detach, --weight, --drain, "
			"--undrain, --shadow, --enforce or --follow");
	return 0;
}

/* A policy, members' weights or drains, --follow: options that go together. */
static int check_apply(struct steer_options *o, const bool *seen, char *err, size_t errlen)
{
	if (o->json)
		return opts_fail(err, errlen, "--json goes with --show");
	if (o->object && o->policy && o->policy != STEER_POLICY_CUSTOM)
		return opts_fail(err, errlen, "--object is a policy of its own: drop --policy %s",
				 steer_policy_name(o->policy));
	if (o->object)
		o->policy = STEER_POLICY_CUSTOM;
	if (o->policy == STEER_POLICY_CUSTOM && !o->object)
		return opts_fail(err, errlen, "--policy custom needs --object FILE.bpf.o");
	if (o->program && !o->object)
		return opts_fail(err, errlen, "--program goes with --object");
	if (o->nweights && o->policy && o->policy != STEER_POLICY_WEIGHTED)
		return opts_fail(err, errlen, "--weight goes with --policy weighted");
	if (o->policy == STEER_POLICY_LEAST_LOADED && o->proto == IPPROTO_UDP)
		return opts_fail(
			err, errlen,
			"least-loaded needs tcp: UDP sockets have no accept queue to compare");
	if (o->nundrains && o->policy)
		return opts_fail(
			err, errlen,
			"--undrain changes a group already steered: use it without --policy");
	for (size_t i = 0; i < o->ndrains; i++)
		for (size_t j = 0; j < o->nundrains; j++)
			if (ref_equal(&o->drains[i], &o->undrains[j]))
				return opts_fail(err, errlen,
						 "a member cannot be drained and undrained");
	if (seen[OPT_INTERVAL] && !o->follow)
		return opts_fail(err, errlen, "--interval goes with --follow");
	return check_modes(o, seen, err, errlen);
}

int steer_parse(int argc, char **argv, struct steer_options *o, char *err, size_t errlen)
{
	/* A repeated option is an error, except the ones that collect members. */
	bool seen[OPT_MAX] = {};
	int c;

	memset(o, 0, sizeof(*o));
	o->proto = IPPROTO_TCP;
	o->interval_s = 1.0;
	opterr = 0;
	optind = 0;
	while ((c = getopt_long(argc, argv, ":vh", steer_long_options, NULL)) != -1) {
		const char *name = argv[optind - 1] ? argv[optind - 1] : "?";

		if (c == '?' || c == ':' || c < 0 || c >= OPT_MAX)
			return opts_bad_option(c, name, err, errlen);
		if (seen[c] && c != OPT_WEIGHT && c != OPT_DRAIN && c != OPT_UNDRAIN)
			return opts_fail(err, errlen, "option '%s' given twice", name);
		seen[c] = true;
		if (parse_option(c, name, o, err, errlen))
			return -EINVAL;
	}
	if (optind < argc)
		return opts_fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (o->help)
		return 0;
	if (!o->port)
		return opts_fail(err, errlen, "--port is required");
	if (seen[OPT_SHOW] && seen[OPT_DETACH])
		return opts_fail(err, errlen, "--show and --detach cannot be used together");
	if (o->action != STEER_ACT_APPLY)
		return check_query(o, seen, err, errlen);
	return check_apply(o, seen, err, errlen);
}
