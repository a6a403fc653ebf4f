/* SPDX-License-Identifier: GPL-2.0 */
/*
 * `reusetop steer`: replace the kernel's hash choice in a running server's SO_REUSEPORT group
 * with a BPF policy (sockets found by discovery, taken with pidfd_getfd, put in a
 * REUSEPORT_SOCKARRAY; the program attached with SO_ATTACH_REUSEPORT_EBPF; maps pinned under
 * /sys/fs/bpf/reusetop/<proto>-<netns>-<addr>-<port>/ so later calls can change or remove it).
 */
#ifndef REUSETOP_STEER_USER_H
#define REUSETOP_STEER_USER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <linux/types.h>

#include "../../bpf/steer.h"

#define STEER_PIN_ROOT "/sys/fs/bpf/reusetop"
#define STEER_MAX_REFS 64

/* `reusetop steer ARGS...`: argv[0] is "steer". Returns the exit status (0, 1 or 2). */
int steer_main(int argc, char **argv);

/* ---- options (pure: steer_parse never prints or exits) ----------------------------------- */

enum steer_action {
	STEER_ACT_APPLY, /* attach or change a policy, and/or --follow */
	STEER_ACT_SHOW, /* --show */
	STEER_ACT_DETACH, /* --detach */
};

/* A MEMBER argument: a pid (all its sockets in the group) or ino:INODE. */
struct steer_ref {
	uint64_t id;
	bool inode;
};

struct steer_weight {
	struct steer_ref member;
	uint32_t weight;
};

struct steer_options {
	enum steer_action action;
	uint16_t port;
	uint8_t proto; /* IPPROTO_TCP (default) or IPPROTO_UDP */
	uint8_t family; /* AF_INET or AF_INET6 when --addr was given, else 0 */
	uint8_t addr[16];
	uint64_t netns; /* 0: any (refused when the port is in several) */
	uint32_t policy; /* enum steer_policy; STEER_POLICY_NONE: keep the group's */
	const char *object;
	const char *program;
	struct steer_weight weights[STEER_MAX_REFS];
	size_t nweights;
	struct steer_ref drains[STEER_MAX_REFS];
	size_t ndrains;
	struct steer_ref undrains[STEER_MAX_REFS];
	size_t nundrains;
	bool shadow; /* --shadow: the policy counts, the kernel's hash selects */
	bool enforce; /* --enforce: out of shadow mode */
	bool follow;
	bool guard; /* --guard (with --follow): restore the previous state when the group suffers */
	uint64_t guard_drops; /* drops per interval above this trip the guard */
	uint64_t guard_fallbacks; /* fallbacks per interval above this trip it */
	double interval_s;
	bool json;
	bool force;
	bool verbose;
	bool help;
};

/* Returns 0, or -EINVAL with a one-line message (no trailing newline) in err. */
int steer_parse(int argc, char **argv, struct steer_options *o, char *err, size_t errlen);

extern const char steer_usage[];
/* "1234" for a pid, "ino:5678" for an inode. */
const char *steer_ref_str(const struct steer_ref *r, char *buf, size_t len);

/* ---- policies (pure: policy.c) ----------------------------------------------------------- */

/*
 * The name of a policy, "none" for STEER_POLICY_NONE, "?" when out of range. Inline so that the
 * live view's reader of pinned groups (pins.c) needs no other file of this module.
 */
static inline const char *steer_policy_name(uint32_t policy)
{
	static const char *const names[STEER_POLICY_MAX] = {
		[STEER_POLICY_NONE] = "none",
		[STEER_POLICY_HASH] = "hash",
		[STEER_POLICY_ROUNDROBIN] = "roundrobin",
		[STEER_POLICY_WEIGHTED] = "weighted",
		[STEER_POLICY_LEAST_LOADED] = "least-loaded",
		[STEER_POLICY_CPU] = "cpu",
		[STEER_POLICY_CONSISTENT] = "consistent",
		[STEER_POLICY_CUSTOM] = "custom",
	};

	return policy < STEER_POLICY_MAX ? names[policy] : "?";
}

/* The name of a fallback reason (enum steer_fallback_reason) in --show, JSON and Prometheus. */
static inline const char *steer_fallback_reason_name(uint32_t why)
{
	static const char *const names[STEER_FB_COUNT] = {
		[STEER_FB_UNSPEC] = "unspecified",    [STEER_FB_NO_CONFIG] = "no_config",
		[STEER_FB_NO_MEMBERS] = "no_members", [STEER_FB_NO_TABLE] = "no_table",
		[STEER_FB_POLICY] = "unknown_policy", [STEER_FB_CLOSED] = "member_closed",
		[STEER_FB_REFUSED] = "refused",
	};

	return why < STEER_FB_COUNT ? names[why] : "?";
}

/* "roundrobin" -> STEER_POLICY_ROUNDROBIN...; STEER_POLICY_NONE when unknown. */
uint32_t steer_policy_from_name(const char *name);

/*
 * Smooth weighted round-robin: out[] gets the cycle of slots for weights w[] (0: never), whose
 * length (sum of weights over their gcd) is returned; 0 when no weight is positive or the cycle
 * would exceed max.
 */
size_t steer_swrr(const uint32_t *slots, const uint32_t *w, size_t n, uint32_t *out, size_t max);
/* Maglev: table[STEER_TABLE_SIZE] of slots, each member's permutation seeded by its slot. */
void steer_maglev(const uint32_t *slots, size_t n, uint32_t *table);

/* A member as a policy sees it: where it is in the socket array, its weight, whether drained. */
struct steer_candidate {
	uint32_t slot;
	uint32_t weight;
	bool drained;
};

/*
 * The configuration of `policy` over members m[0..n) (any order; policies use slot order: cpu
 * sends CPU i to the i-th eligible member), and for weighted and consistent its table
 * (table[STEER_TABLE_SIZE]). A custom policy gets only its eligible count and slots. Returns 0,
 * -ENOENT when no member would get connections (all drained, or weighted and all weight 0), or
 * -E2BIG when one weighted cycle would exceed STEER_TABLE_SIZE.
 */
int steer_policy_config(uint32_t policy, const struct steer_candidate *m, size_t n,
			struct steer_config *cfg, uint32_t *table);

/* ---- for the live view: the groups reusetop steers, from the pinned maps ----------------- */

struct steer_member_stats {
	uint64_t inode;
	uint32_t slot;
	int32_t pid; /* the process the socket was taken from, and its fd there */
	int32_t fd;
	uint32_t weight;
	bool drained;
	char comm[16];
	uint64_t selected; /* new connections / datagrams the policy sent to this member */
	uint64_t migrated; /* requests of a closing member it received */
	uint64_t failed; /* selections the kernel refused: closed + refused */
	uint64_t closed; /* ... because the socket had closed */
	uint64_t refused; /* ... for another reason */
	uint64_t would_select; /* shadow mode: what the policy chose */
	uint64_t hashed; /* shadow mode: what the kernel's hash chose */
};

struct steer_group_stats {
	uint64_t netns;
	uint8_t proto; /* IPPROTO_TCP or IPPROTO_UDP */
	uint8_t family; /* AF_INET or AF_INET6 */
	uint16_t port;
	uint8_t addr[16];
	char policy[16]; /* "roundrobin", ..., "custom" */
	uint32_t prog_id; /* the program reusetop attached */
	char prog_name[16];
	bool shadow; /* shadow mode: the policy only counts */
	uint64_t fallbacks; /* selections left to the kernel's hash */
	uint64_t reasons[STEER_FB_COUNT]; /* the same, by enum steer_fallback_reason */
	size_t nmembers;
	struct steer_member_stats members[STEER_MAX_MEMBERS];
};

/*
 * Every group with reusetop's pinned maps, read from the maps only (no process is touched):
 * cheap enough for every interval. *out is allocated (free() it); *n may be 0. Returns 0 or
 * -errno (no bpffs or no pinned group is not an error: *n is 0). In pins.c, which needs no other
 * file of the steer command: the observing side links only that one.
 */
int steer_read_groups(struct steer_group_stats **out, size_t *n);

#endif
