// SPDX-License-Identifier: GPL-2.0
/*
 * The pure half of `reusetop steer`: option parsing and the policies' tables (smooth weighted
 * round-robin, Maglev). No BPF, no I/O: unit tested and fuzzed.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include <netinet/in.h>

#include "opts.h"
#include "steer.h"

/* ---- options ---------------------------------------------------------------------------- */

const char steer_usage[] =
	"Usage: reusetop steer --port PORT [--addr ADDR] [--proto tcp|udp] [--netns INODE]\n"
	"                      --policy NAME [--weight MEMBER=W[,...]] [--drain MEMBER] "
	"[--follow]\n"
	"       reusetop steer --port PORT ... --object FILE.bpf.o [--program NAME]\n"
	"       reusetop steer --port PORT ... [--weight ...] [--drain M] [--undrain M] "
	"[--follow]\n"
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
	"  --follow               keep running: add new members, remove closed ones\n"
	"  --interval SECONDS     --follow's rescan interval (default 1)\n"
	"  --show                 the group's program, members and per-member selections\n"
	"  --json                 --show as one JSON object\n"
	"  --detach               remove the program (the kernel's hash decides again)\n"
	"  --force                replace or detach a program reusetop did not attach\n"
	"  -v, --verbose          show libbpf's messages\n"
	"  -h, --help             this help\n"
	"MEMBER is a pid (all its sockets in the group) or ino:INODE (one socket).\n";

static const char *const policy_names[STEER_POLICY_MAX] = {
	[STEER_POLICY_NONE] = "none",
	[STEER_POLICY_HASH] = "hash",
	[STEER_POLICY_ROUNDROBIN] = "roundrobin",
	[STEER_POLICY_WEIGHTED] = "weighted",
	[STEER_POLICY_LEAST_LOADED] = "least-loaded",
	[STEER_POLICY_CPU] = "cpu",
	[STEER_POLICY_CONSISTENT] = "consistent",
	[STEER_POLICY_CUSTOM] = "custom",
};

uint32_t steer_policy_from_name(const char *name)
{
	for (uint32_t i = STEER_POLICY_NONE + 1; name && i < STEER_POLICY_MAX; i++)
		if (!strcmp(name, policy_names[i]))
			return i;
	return STEER_POLICY_NONE;
}

const char *steer_policy_name(uint32_t policy)
{
	return policy < STEER_POLICY_MAX ? policy_names[policy] : "?";
}

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

int steer_parse(int argc, char **argv, struct steer_options *o, char *err, size_t errlen)
{
	/* A repeated option is an error, except the ones that collect members. */
	bool seen[OPT_MAX] = {};
	unsigned long v;
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
		switch (c) {
		case OPT_PORT:
			if (parse_ulong(optarg, 1, 65535, &v))
				return opts_fail(err, errlen, "invalid port '%s': want 1 to 65535",
						  optarg);
			o->port = (uint16_t)v;
			break;
		case OPT_ADDR:
			if (inet_pton(AF_INET, optarg, o->addr) == 1)
				o->family = AF_INET;
			else if (inet_pton(AF_INET6, optarg, o->addr) == 1)
				o->family = AF_INET6;
			else
				return opts_fail(
					err, errlen,
					"invalid address '%s': want an IPv4 or IPv6 address",
					optarg);
			break;
		case OPT_PROTO:
			if (!strcmp(optarg, "tcp"))
				o->proto = IPPROTO_TCP;
			else if (!strcmp(optarg, "udp"))
				o->proto = IPPROTO_UDP;
			else
				return opts_fail(err, errlen,
						  "invalid protocol '%s': want tcp or udp", optarg);
			break;
		case OPT_NETNS:
			if (parse_ulong(optarg, 1, ~0UL, &v))
				return opts_fail(
					err, errlen,
					"invalid network namespace '%s': want its inode number",
					optarg);
			o->netns = v;
			break;
		case OPT_POLICY:
			o->policy = steer_policy_from_name(optarg);
			if (o->policy == STEER_POLICY_NONE)
				return opts_fail(
					err, errlen,
					"unknown policy '%s': want hash, roundrobin, weighted, "
					"least-loaded, cpu, consistent or custom",
					optarg);
			break;
		case OPT_WEIGHT:
			if (parse_weights(optarg, o))
				return opts_fail(
					err, errlen,
					"invalid weight '%s': want MEMBER=W[,MEMBER=W...], "
					"MEMBER a pid or ino:INODE (each once), W 0 to 10000",
					optarg);
			break;
		case OPT_DRAIN:
		case OPT_UNDRAIN:
			if (c == OPT_DRAIN ? add_ref(optarg, o->drains, &o->ndrains)
					   : add_ref(optarg, o->undrains, &o->nundrains))
				return opts_fail(
					err, errlen,
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
				return opts_fail(
					err, errlen,
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
		case 'v':
			o->verbose = true;
			break;
		case 'h':
			o->help = true;
			break;
		}
	}
	if (optind < argc)
		return opts_fail(err, errlen, "unexpected argument '%s'", argv[optind]);
	if (o->help)
		return 0;
	if (!o->port)
		return opts_fail(err, errlen, "--port is required");
	if (seen[OPT_SHOW] && seen[OPT_DETACH])
		return opts_fail(err, errlen, "--show and --detach cannot be used together");
	if (o->action != STEER_ACT_APPLY) {
		const char *what = o->action == STEER_ACT_SHOW ? "--show" : "--detach";

		if (o->policy || o->object || o->program || o->nweights || o->ndrains ||
		    o->nundrains || o->follow || seen[OPT_INTERVAL])
			return opts_fail(err, errlen, "%s takes no policy options", what);
		if (o->json && o->action != STEER_ACT_SHOW)
			return opts_fail(err, errlen, "--json goes with --show");
		if (o->force && o->action == STEER_ACT_SHOW)
			return opts_fail(err, errlen, "--force goes with a policy or --detach");
		return 0;
	}
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
	if (!o->policy && !o->nweights && !o->ndrains && !o->nundrains && !o->follow)
		return opts_fail(
			err, errlen,
			"nothing to do: give --policy, --show, --detach, --weight, --drain, "
			"--undrain or --follow");
	return 0;
}

/* ---- the policies' tables (pure) -------------------------------------------------------- */

static uint32_t gcd32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

size_t steer_swrr(const uint32_t *slots, const uint32_t *w, size_t n, uint32_t *out, size_t max)
{
	int64_t current[STEER_MAX_MEMBERS] = {};
	uint64_t total = 0;
	uint32_t g = 0;

	if (n > STEER_MAX_MEMBERS)
		return 0;
	for (size_t i = 0; i < n; i++)
		g = gcd32(g, w[i]);
	if (!g)
		return 0;
	for (size_t i = 0; i < n; i++)
		total += w[i] / g;
	if (total > max)
		return 0;
	/*
	 * Smooth weighted round-robin (nginx): every step each member gains its weight, the
	 * richest is picked (the first on a tie) and pays the total. Over one cycle of `total`
	 * steps every member is picked exactly weight/g times, spread out, not in runs.
	 */
	for (uint64_t k = 0; k < total; k++) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			if (!w[i])
				continue;
			current[i] += w[i] / g;
			if (best == n || current[i] > current[best])
				best = i;
		}
		current[best] -= (int64_t)total;
		out[k] = slots[best];
	}
	return (size_t)total;
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finalizer */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void steer_maglev(const uint32_t *slots, size_t n, uint32_t *table)
{
	const uint64_t m = STEER_TABLE_SIZE;
	uint64_t offset[STEER_MAX_MEMBERS], skip[STEER_MAX_MEMBERS], next[STEER_MAX_MEMBERS] = {};
	uint64_t filled = 0;

	if (!n || n > STEER_MAX_MEMBERS)
		return;
	for (uint64_t i = 0; i < m; i++)
		table[i] = UINT32_MAX;
	/*
	 * Maglev (Eisenbud et al., NSDI 2016): each member has its own permutation of the table's
	 * entries, from a hash of its identity (its slot, which it keeps while it lives); members
	 * take turns claiming their next free entry. Removing a member frees only its entries, which
	 * the others claim: other members' flows stay where they were, nearly all of them.
	 */
	for (size_t i = 0; i < n; i++) {
		offset[i] = mix64(0x6d61676c65760001ULL ^ slots[i]) % m;
		skip[i] = mix64(0x6d61676c65760002ULL ^ slots[i]) % (m - 1) + 1;
	}
	for (;;) {
		for (size_t i = 0; i < n; i++) {
			uint64_t c = (offset[i] + next[i] * skip[i]) % m;

			while (table[c] != UINT32_MAX) {
				next[i]++;
				c = (offset[i] + next[i] * skip[i]) % m;
			}
			table[c] = slots[i];
			next[i]++;
			if (++filled == m)
				return;
		}
	}
}

