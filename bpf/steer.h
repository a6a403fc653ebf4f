/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * `reusetop steer`: what the steering programs and user space share. Only fixed-width types with
 * explicit padding. Included by bpf/steer.bpf.c, bpf/steer_example.bpf.c (and any user's own
 * policy, which is why it is installed under share/reusetop/) and user/steer/.
 *
 * The custom policy ABI (what `reusetop steer --object FILE.bpf.o` provides to a user's program)
 * is the first block: three maps, found by name in the user's object and replaced by the group's
 * pinned maps before the program is loaded. Declare them with the STEER_ABI_MAPS macro.
 *
 *   members         BPF_MAP_TYPE_REUSEPORT_SOCKARRAY, key __u32 slot, value __u64,
 *                   STEER_MAX_MEMBERS entries. reusetop puts each member socket of the group
 *                   at its own slot. A slot keeps its member until the member's socket closes
 *                   (the kernel then empties it) or leaves the group; slots are not compacted,
 *                   so there can be holes.
 *   steer_members   BPF_MAP_TYPE_ARRAY, one struct steer_members: the members that may get new
 *                   connections (not drained), as slots of `members`, in member order. Read
 *                   `n` once and bound it; reusetop rewrites the value when members come and go
 *                   (--follow) or are drained, so a selection can meet a slot that was just
 *                   emptied: bpf_sk_select_reuseport() then fails and the program should try
 *                   another member or return SK_PASS without a selection (the kernel's hash).
 *                   `flags` has STEER_SHADOW in shadow mode (below).
 *   steer_stats     BPF_MAP_TYPE_PERCPU_ARRAY, struct steer_counters per slot (optional to
 *                   update): what `reusetop steer --show` and the live view report per member.
 *   steer_fallback  BPF_MAP_TYPE_PERCPU_ARRAY, one __u64 (optional to update): selections that
 *                   fell back to the kernel's hash.
 *   steer_reasons   BPF_MAP_TYPE_PERCPU_ARRAY, one __u64 per enum steer_fallback_reason
 *                   (optional, and optional to declare): the same fallbacks by reason.
 *
 * Shadow mode (`reusetop steer --shadow`): when steer_members' flags has STEER_SHADOW, a policy
 * makes its choice as usual, counts it in steer_stats[slot].would_select, and returns SK_PASS
 * without calling bpf_sk_select_reuseport(): the kernel then picks by its own hash, exactly as if
 * no program were attached. A policy that ignores the flag keeps selecting (it has no shadow
 * mode); `--show` then shows no would_select. Migration requests (md->migrating_sk set) should
 * return SK_PASS in shadow mode too (the kernel migrates them by its hash).
 *
 * A policy must never return SK_DROP for a connection it cannot place: that loses it.
 */
#ifndef REUSETOP_STEER_H
#define REUSETOP_STEER_H

#define STEER_MAX_MEMBERS 128
/*
 * Entries of one buffer of steer_table: the Maglev lookup table size (a prime well above
 * 100 x STEER_MAX_MEMBERS, as the Maglev paper advises) and the longest weighted cycle.
 */
#define STEER_TABLE_SIZE 65537
/* A failed selection is retried on this many other members before the kernel's hash decides. */
#define STEER_RETRIES 3

/* steer_members.flags and steer_config.flags: choose and count, but never select. */
#define STEER_SHADOW 1u

struct steer_members {
	__u32 n; /* entries of slot[] in use */
	__u32 flags; /* STEER_SHADOW */
	__u32 slot[STEER_MAX_MEMBERS];
};

/* Per member slot and per CPU (user space sums the CPUs). */
struct steer_counters {
	__u64 selected; /* new connections (TCP) or datagrams (UDP) sent to this member */
	__u64 migrated; /* requests of a closing member moved to this one (TCP) */
	__u64 failed; /* selections of this member the kernel refused: closed + refused */
	__u64 closed; /* ... because its socket had closed (the helper's -ENOENT) */
	__u64 refused; /* ... for another reason (not a socket of this group: other errors) */
	__u64 would_select; /* shadow mode: new connections the policy chose for this member */
	__u64 hashed; /* shadow mode: new connections the kernel's hash gave it (built-ins) */
};

/*
 * Why a selection fell back to the kernel's hash: steer_reasons' keys. A custom policy that
 * counts in steer_fallback only is shown as STEER_FB_UNSPEC.
 */
enum steer_fallback_reason {
	STEER_FB_UNSPEC = 0,
	STEER_FB_NO_CONFIG, /* the configuration could not be read */
	STEER_FB_NO_MEMBERS, /* no eligible member in the member map */
	STEER_FB_NO_TABLE, /* weighted or consistent: the lookup table is not built */
	STEER_FB_POLICY, /* a policy value the program does not know */
	STEER_FB_CLOSED, /* every member tried had closed (its slot emptied) */
	STEER_FB_REFUSED, /* the kernel refused the selection (a socket of another group) */
	STEER_FB_COUNT,
};

#define STEER_ABI_MAPS                                          \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_REUSEPORT_SOCKARRAY); \
		__uint(max_entries, STEER_MAX_MEMBERS);         \
		__type(key, __u32);                             \
		__type(value, __u64);                           \
	} members SEC(".maps");                                 \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_ARRAY);               \
		__uint(max_entries, 1);                         \
		__type(key, __u32);                             \
		__type(value, struct steer_members);            \
	} steer_members SEC(".maps");                           \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);        \
		__uint(max_entries, STEER_MAX_MEMBERS);         \
		__type(key, __u32);                             \
		__type(value, struct steer_counters);           \
	} steer_stats SEC(".maps");                             \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);        \
		__uint(max_entries, 1);                         \
		__type(key, __u32);                             \
		__type(value, __u64);                           \
	} steer_fallback SEC(".maps");                          \
	struct {                                                \
		__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);        \
		__uint(max_entries, STEER_FB_COUNT);            \
		__type(key, __u32);                             \
		__type(value, __u64);                           \
	} steer_reasons SEC(".maps")

/* ---- the built-in policies (bpf/steer.bpf.c) only --------------------------------------- */

enum steer_policy {
	STEER_POLICY_NONE = 0,
	STEER_POLICY_HASH,
	STEER_POLICY_ROUNDROBIN,
	STEER_POLICY_WEIGHTED,
	STEER_POLICY_LEAST_LOADED,
	STEER_POLICY_CPU,
	STEER_POLICY_CONSISTENT,
	STEER_POLICY_CUSTOM, /* a user's object: only in steer_group, never in steer_conf */
	STEER_POLICY_MAX,
};

/*
 * steer_conf has two of these: user space writes the one not in use, then flips steer_cur, so
 * the program always sees a whole configuration (policy, members and table together).
 */
struct steer_config {
	__u32 policy; /* enum steer_policy */
	__u32 n; /* eligible members: slot[0..n) */
	__u32 table_len; /* weighted: cycle length; consistent: STEER_TABLE_SIZE; else 0 */
	__u32 flags; /* STEER_SHADOW: shadow mode flips with the rest of the configuration */
	__u32 slot[STEER_MAX_MEMBERS];
};

/*
 * steer_load's one value (least-loaded): per slot, the connections queued to the member and not
 * yet accepted plus its handshakes in progress, an estimate (bpf/steer.bpf.c says how it is kept).
 */
struct steer_loads {
	__u32 load[STEER_MAX_MEMBERS];
};

/*
 * steer_cookies: a direct-mapped cache of steer_slot_of (socket cookie -> slot), entry
 * cookie % STEER_COOKIE_CACHE; a cookie another member's took is only in steer_slot_of.
 */
#define STEER_COOKIE_CACHE 1024

struct steer_cookie_slot {
	__u64 cookie; /* 0: empty */
	__u32 slot;
	__u32 _pad;
};

/* steer_info, one per slot: who the member is (user space only: --show, --follow, the view). */
#define STEER_MEMBER_USED    1u
#define STEER_MEMBER_DRAINED 2u

struct steer_member_info {
	__u64 inode;
	__u64 cookie; /* SO_COOKIE: what a REUSEPORT_SOCKARRAY lookup from user space returns */
	__u32 pid; /* the process reusetop took the socket from */
	__s32 fd; /* its descriptor there */
	__u32 weight;
	__u32 flags; /* STEER_MEMBER_* */
	char comm[16];
};

#define STEER_GROUP_MAGIC 0x72737433u /* "rst3": layout version of the pinned maps */

/* steer_group, one entry: which group the pinned maps steer, and with what. */
struct steer_group_info {
	__u32 magic;
	__u32 policy; /* enum steer_policy */
	__u64 netns; /* inode of the network namespace */
	__u16 port; /* host byte order */
	__u8 proto; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 family; /* AF_INET or AF_INET6 */
	__u8 addr[16]; /* network byte order; IPv4 in the first 4 bytes */
	__u32 prog_id; /* the program reusetop attached */
	__u32 migrate; /* 1: attached as BPF_SK_REUSEPORT_SELECT_OR_MIGRATE */
	char prog_name[16];
	char object[256]; /* custom policy: the object file it came from */
	__u32 shadow; /* 1: shadow mode (the policy counts, the kernel's hash selects) */
};

/* The accept-queue probe: what one getsockopt() on a member socket revealed about its group. */
struct steer_probe_result {
	__u64 inode;
	__u64 group; /* identifies the group (its struct sock_reuseport), equal for members */
	__u32 seq; /* the request it answers */
	__u32 in_group; /* sk_reuseport_cb set */
	__u32 reuseport_id; /* the group's id (0 until a BPF map held one of its sockets) */
	__u16 num_socks;
	__u16 num_closed_socks;
	__u32 prog_id; /* 0: no program, or a classic BPF one */
	__u32 prog_type;
	__u32 attach_type;
	__u32 has_prog; /* a program is attached (classic BPF ones have no id) */
	char prog_name[16];
};

#endif
