// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * `reusetop steer`: the built-in steering policies for a SO_REUSEPORT group, plus the two small
 * helpers they need (the least-loaded policy's load tracking and the group probe).
 *
 * One sk_reuseport program for every policy, switching on steer_conf's policy value, rather
 * than one program per policy: a policy change (a second `reusetop steer --policy`, new weights,
 * a drain) is then one flip of steer_cur, which the next connection sees whole, instead of a new
 * program attached to the group; the counters, the member slots and the pinned program stay;
 * and the parts every policy needs (eligible members, retry on a closed member, counting,
 * falling back to the kernel's hash instead of dropping) exist once. The switch costs a few
 * instructions per connection.
 *
 * The program is attached as BPF_SK_REUSEPORT_SELECT_OR_MIGRATE ("sk_reuseport/migrate"): the
 * kernel then also asks it where the requests and queued connections of a member that stops
 * listening go, instead of resetting them (user space falls back to the plain select type where
 * the kernel lacks it).
 *
 * Least-loaded needs, per member, the connections queued and not yet accepted, at the moment of
 * each selection. An sk_reuseport program cannot read it: it sees the SYN, and md->sk is the
 * socket the lookup found first, not every member, so it cannot read the other members'
 * sk_ack_backlog. The load is therefore kept in steer_load by three writers:
 *   - the selection adds one to the member it picked, so a burst of SYNs spreads before any of
 *     them completes its handshake (reacting within one connection);
 *   - sock:sk_data_ready on the listener (a connection entered its accept queue) and the exit of
 *     accept()/accept4() on it overwrite the estimate with the kernel's own numbers for that
 *     listener: sk_ack_backlog (queued, not accepted) + icsk_accept_queue.qlen (requests still
 *     in the handshake). Overwriting instead of incrementing and decrementing keeps it sound: a
 *     SYN that was dropped (queue full) or a handshake that never completed cannot leave a count
 *     behind for longer than the member's next event.
 * A tracepoint on the accept syscall, not fexit on inet_csk_accept: this host's kernel refuses
 * tracing programs (see kernel-facts); accepts that bypass the syscalls (io_uring) resync at the
 * next enqueue instead.
 */
#include "vmlinux.h"
#include <bpf/bpf_helpers.h>
#include <bpf/bpf_tracing.h>
#include <bpf/bpf_core_read.h>
#include "steer.h"
#include "sock.bpf.h"
#include "core_fixes.bpf.h"
#include "arch.bpf.h"

char LICENSE[] SEC("license") = "Dual BSD/GPL";

#ifndef ENOENT
#define ENOENT 2
#endif

STEER_ABI_MAPS;

/* Two configurations: the live one is steer_conf[steer_cur & 1]. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2);
	__type(key, __u32);
	__type(value, struct steer_config);
} steer_conf SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} steer_cur SEC(".maps");

/*
 * The rotation (roundrobin, weighted, least-loaded's tie break): one position per CPU. A single
 * counter that every CPU increments bounces its cache line between them on every connection;
 * per CPU, each member still gets an equal share within one connection per CPU. User space
 * starts CPU c at position c, so the CPUs do not all begin with the first member.
 */
struct {
	__uint(type, BPF_MAP_TYPE_PERCPU_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, __u32);
} steer_rr SEC(".maps");

/*
 * The table of configuration buffer b is entries [b * STEER_TABLE_SIZE, + table_len): member
 * slots. Weighted: the smooth weighted round-robin cycle; consistent: the Maglev lookup table.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 2 * STEER_TABLE_SIZE);
	__type(key, __u32);
	__type(value, __u32);
} steer_table SEC(".maps");

/*
 * Least-loaded: every member's load in one value, so a selection looks them all up at once.
 * Mmapable, so that user space can zero one member's without rewriting the others'.
 */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(map_flags, BPF_F_MMAPABLE);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_loads);
} steer_load SEC(".maps");

/*
 * Socket cookie (SO_COOKIE, which reusetop reads from every member, so it is set) -> slot, for
 * the load trackers and shadow mode's count of the hash's choice, which see a socket, not its
 * slot. The cookie is in struct sock_common, which the lookup just read; the inode is two more
 * dependent loads away (socket, then its inode).
 */
struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__uint(max_entries, STEER_MAX_MEMBERS);
	__type(key, __u64);
	__type(value, __u32);
} steer_slot_of SEC(".maps");

/* steer_slot_of's entries in an array, where they fit (steer.h): an index, not a hash. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_COOKIE_CACHE);
	__type(key, __u32);
	__type(value, struct steer_cookie_slot);
} steer_cookies SEC(".maps");

/* The slot of the member whose socket has this cookie, or NULL. */
static __always_inline __u32 *slot_of_cookie(__u64 cookie)
{
	__u32 key = (__u32)cookie & (STEER_COOKIE_CACHE - 1);
	struct steer_cookie_slot *e = bpf_map_lookup_elem(&steer_cookies, &key);

	if (e && e->cookie == cookie)
		return &e->slot;
	return bpf_map_lookup_elem(&steer_slot_of, &cookie);
}

/* User space's records (who each member is, which group this is); BPF never reads them. */
struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, STEER_MAX_MEMBERS);
	__type(key, __u32);
	__type(value, struct steer_member_info);
} steer_info SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_ARRAY);
	__uint(max_entries, 1);
	__type(key, __u32);
	__type(value, struct steer_group_info);
} steer_group SEC(".maps");

/* The probe's request and answer (global data: a fresh copy in every loaded instance). */
__u32 probe_tgid;
__s32 probe_fd;
__u32 probe_seq;
struct steer_probe_result probe_res;

/*
 * Positions are below n <= STEER_MAX_MEMBERS by construction (x % n), but clang drops a range
 * check it can prove redundant and the verifier cannot follow the modulo: index through a mask,
 * which changes nothing for a position already in range.
 */
#define STEER_SLOT_MASK (STEER_MAX_MEMBERS - 1)
_Static_assert((STEER_MAX_MEMBERS & STEER_SLOT_MASK) == 0, "STEER_MAX_MEMBERS: a power of 2");

/*
 * This CPU's next position in a rotation over len > 0 entries. The stored position stays below
 * the len it was last used with, so advancing is a compare, not a division; only the first use
 * or a new configuration (another len) reduces it.
 */
static __always_inline __u32 next_pos(__u32 len)
{
	__u32 zero = 0, pos, *rr = bpf_map_lookup_elem(&steer_rr, &zero);

	if (!rr)
		return 0;
	pos = *rr;
	if (pos >= len)
		pos %= len;
	/* Per CPU, and reuseport selection never nests on one CPU: no atomic needed. */
	*rr = pos + 1 < len ? pos + 1 : 0;
	return pos;
}

/* Select `slot` and count the outcome (and, for least-loaded, the load); 0 or the helper's error. */
static __always_inline int select_slot(struct sk_reuseport_md *md, __u32 slot, bool migrating,
				       struct steer_loads *loads)
{
	struct steer_counters *c = bpf_map_lookup_elem(&steer_stats, &slot);
	int err = bpf_sk_select_reuseport(md, &members, &slot, 0);

	if (c) {
		/* Per-CPU, and reuseport selection never nests on one CPU (softirq or BH off). */
		if (err) {
			c->failed++;
			/* -ENOENT: the slot is empty, or its socket was unhashed (closed). */
			if (err == -ENOENT)
				c->closed++;
			else
				c->refused++;
		} else if (migrating) {
			c->migrated++;
		} else {
			c->selected++;
		}
	}
	/*
	 * Not atomic: other CPUs' trackers overwrite the load with the kernel's count anyway, and a
	 * lost increment only delays the spreading of a burst by one connection.
	 */
	if (!err && loads)
		loads->load[slot & STEER_SLOT_MASK]++;
	return err;
}

/* A selection the policy could not make: counted in total and by reason. */
static __always_inline int fall_back(__u32 why)
{
	__u32 zero = 0;
	__u64 *n = bpf_map_lookup_elem(&steer_fallback, &zero);

	if (n)
		(*n)++;
	n = bpf_map_lookup_elem(&steer_reasons, &why);
	if (n)
		(*n)++;
	/* No selection: the kernel's own hash picks the member. Never drop the connection. */
	return SK_PASS;
}

/*
 * Shadow mode: the slot the kernel's hash will give this connection, NULL when it cannot be
 * told. With SK_PASS and no selection, reuseport_select_sock() falls back to
 * reuseport_select_sock_by_hash(): socks[reciprocal_scale(hash, num_socks)] of the group (the
 * lookup's socket, md->sk, is in it), skipping connected (TCP_ESTABLISHED) UDP sockets and
 * preferring one with SO_INCOMING_CPU of this CPU when a member set it. The two exceptions are
 * not followed here: then nothing is counted. Measured on 6.18: these counts equal the rig's,
 * member by member, over TCP and UDP (tests/steer_cases.sh). Plain loads through
 * bpf_rdonly_cast (user space sets hash_choice where the kernel has it and md->sk).
 */
const volatile bool hash_choice;

static __always_inline __u32 *hash_choice_slot(struct sk_reuseport_md *md)
{
	struct sock_reuseport *reuse;
	struct list_head *word;
	struct sock *sk;
	__u64 cookie;
	__u32 n, idx;

	if (!hash_choice || !bpf_core_field_exists(md->sk))
		return NULL;
	sk = RT_CAST(md->sk, struct sock);
	reuse = RT_CAST(sk->sk_reuseport_cb, struct sock_reuseport);
	if (!reuse || reuseport_incoming_cpu_direct(reuse))
		return NULL;
	n = reuse->num_socks;
	if (!n)
		return NULL;
	idx = (__u32)(((__u64)md->hash * n) >> 32);
	/*
	 * socks[idx]: the verifier refuses a variable offset into a kernel struct (and a flexible
	 * array), but not a cast of the element's address; read it as the first word of a
	 * list_head. A plain load: bpf_probe_read_kernel() cost 30 ns more per decision here.
	 */
	word = RT_CAST((unsigned long)&reuse->socks[idx & 0xffff], struct list_head);
	sk = RT_CAST(word->next, struct sock);
	if (!sk || sk->__sk_common.skc_state == TCP_ESTABLISHED)
		return NULL;
	cookie = sk->__sk_common.skc_cookie.counter;
	return slot_of_cookie(cookie);
}

/* Shadow mode: count what the policy chose, and what the kernel's hash is about to do. */
static __always_inline int shadow(struct sk_reuseport_md *md, __u32 slot)
{
	struct steer_counters *c = bpf_map_lookup_elem(&steer_stats, &slot);
	__u32 *hashed;

	if (c)
		c->would_select++;
	hashed = hash_choice_slot(md);
	if (hashed && (c = bpf_map_lookup_elem(&steer_stats, hashed)))
		c->hashed++;
	return SK_PASS;
}

/*
 * The eligible member with the smallest load; ties go round, starting at `start` (< n). The first
 * idle member ends the search: none can be less loaded, and it is the one a full scan would take.
 */
static __always_inline __u32 least_loaded_pos(const struct steer_config *cfg,
					      const struct steer_loads *loads, __u32 n, __u32 start)
{
	__u32 best = ~0U, best_pos = start, p = start;

	for (__u32 i = 0; i < STEER_MAX_MEMBERS; i++) {
		__u32 load;

		if (i >= n)
			break;
		load = loads->load[cfg->slot[p & STEER_SLOT_MASK] & STEER_SLOT_MASK];
		if (load < best) {
			best = load;
			best_pos = p;
			if (!load)
				break;
		}
		if (++p == n)
			p = 0;
	}
	return best_pos;
}

SEC("sk_reuseport/migrate")
int steer_select(struct sk_reuseport_md *md)
{
	__u32 zero = 0, key, n, pos = 0, first, hash = md->hash, refused = 0;
	struct steer_loads *loads = NULL;
	struct steer_config *cfg;
	bool migrating, shadowing;
	__u32 *cur;
	int err;

	migrating = reuseport_md_migrating(md);

	cur = bpf_map_lookup_elem(&steer_cur, &zero);
	if (!cur)
		return fall_back(STEER_FB_NO_CONFIG);
	key = *cur & 1;
	cfg = bpf_map_lookup_elem(&steer_conf, &key);
	if (!cfg)
		return fall_back(STEER_FB_NO_CONFIG);
	n = cfg->n;
	if (!n || n > STEER_MAX_MEMBERS)
		return fall_back(STEER_FB_NO_MEMBERS);
	/* In the same value as the policy: shadow -> enforce is the one flip of steer_cur. */
	shadowing = cfg->flags & STEER_SHADOW;
	if (shadowing && migrating)
		return SK_PASS; /* the kernel migrates by its hash */

	switch (cfg->policy) {
	case STEER_POLICY_HASH:
		/* What reuseport_select_sock_by_hash() computes, over the eligible members. */
		pos = (__u32)(((__u64)hash * n) >> 32);
		break;
	case STEER_POLICY_ROUNDROBIN:
		pos = next_pos(n);
		break;
	case STEER_POLICY_CPU:
		pos = bpf_get_smp_processor_id() % n;
		break;
	case STEER_POLICY_LEAST_LOADED:
		pos = next_pos(n);
		loads = bpf_map_lookup_elem(&steer_load, &zero);
		if (loads)
			pos = least_loaded_pos(cfg, loads, n, pos);
		break;
	case STEER_POLICY_WEIGHTED:
	case STEER_POLICY_CONSISTENT: {
		__u32 len = cfg->table_len, idx, *s;

		if (!len || len > STEER_TABLE_SIZE)
			return fall_back(STEER_FB_NO_TABLE);
		idx = cfg->policy == STEER_POLICY_WEIGHTED ? next_pos(len) : hash % len;
		pos = idx; /* retries take (idx + i) mod n: divide only when one is needed */
		idx += key * STEER_TABLE_SIZE;
		s = bpf_map_lookup_elem(&steer_table, &idx);
		if (!s)
			return fall_back(STEER_FB_NO_TABLE);
		first = *s;
		goto selected;
	}
	default:
		return fall_back(STEER_FB_POLICY);
	}
	first = cfg->slot[pos & STEER_SLOT_MASK];
selected:
	if (shadowing)
		return shadow(md, first);
	/* Shadow mode does not count the load: its choices send nothing anywhere. */
	err = select_slot(md, first, migrating, loads);
	if (!err)
		return SK_PASS;
	refused |= (__u32)(err + ENOENT); /* not 0: refused for another reason than a close */
	/* That member's socket closed (its slot is empty): the next eligible ones, in order. */
	for (__u32 i = 1; i <= STEER_RETRIES; i++) {
		__u32 p = (pos + i) % n, s;

		if (i >= n)
			break;
		s = cfg->slot[p & STEER_SLOT_MASK];
		if (s == first)
			continue;
		err = select_slot(md, s, migrating, loads);
		if (!err)
			return SK_PASS;
		refused |= (__u32)(err + ENOENT);
	}
	/*
	 * Arithmetic, not a branch per attempt: a reason known in each path would be a constant
	 * map key, which the verifier tracks precisely, verifying the retries once per reason.
	 */
	return fall_back(refused ? STEER_FB_REFUSED : STEER_FB_CLOSED);
}

/* ---- least-loaded: the load, from the kernel's own counters ------------------------------- */

/* direct: sk comes from RT_CAST and is read with plain loads (see core_fixes.bpf.h). */
static __always_inline void resync_load(struct sock *sk, bool direct)
{
	struct inet_connection_sock *icsk = (struct inet_connection_sock *)sk;
	struct steer_loads *loads;
	__u32 zero = 0, *slot, load;
	__u64 cookie;

	if (direct)
		cookie = sk->__sk_common.skc_cookie.counter;
	else
		cookie = BPF_CORE_READ(sk, __sk_common.skc_cookie.counter);
	slot = slot_of_cookie(cookie);
	if (!slot)
		return;
	loads = bpf_map_lookup_elem(&steer_load, &zero);
	if (!loads)
		return;
	if (direct) {
		icsk = RT_CAST(sk, struct inet_connection_sock);
		load = sk->sk_ack_backlog + (__u32)icsk->icsk_accept_queue.qlen.counter;
	} else
		load = BPF_CORE_READ(sk, sk_ack_backlog) +
		       (__u32)BPF_CORE_READ(icsk, icsk_accept_queue.qlen.counter);
	/*
	 * Stored without comparing first, even when unchanged: the line is usually another CPU's
	 * (the selections write it), and a store does not wait for it where a load would.
	 */
	loads->load[*slot & STEER_SLOT_MASK] = load;
}

/* Once per connection put on a listener's accept queue; other sockets call it for data. */
SEC("raw_tracepoint/sk_data_ready")
int steer_ready(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = (struct sock *)ctx->args[0];

	if (BPF_CORE_READ(sk, __sk_common.skc_state) != TCP_LISTEN || !sk_is_tcp_listener(sk))
		return 0;
	resync_load(sk, false);
	return 0;
}

/* The same with plain loads, on kernels with bpf_rdonly_cast (user space picks one). */
SEC("raw_tracepoint/sk_data_ready")
int steer_ready_direct(struct bpf_raw_tracepoint_args *ctx)
{
	struct sock *sk = RT_CAST(ctx->args[0], struct sock);

	if (sk->__sk_common.skc_state != TCP_LISTEN || !sk_is_tcp_listener_direct(sk))
		return 0;
	resync_load(sk, true);
	return 0;
}

/* An accept call returned: its listener fd is still in the syscall's saved registers. */
static __always_inline int accept_exit(bool direct)
{
	struct task_struct *task;
	struct fd_table fds;
	struct sock *sk;
	__u64 inode = 0;
	int fd;

	if (direct) {
		/* One helper call for the task; its registers and fds with plain loads. */
		task = bpf_get_current_task_btf();
		fd = (int)current_syscall_arg1_of(task);
		if (!task_fd_table_direct(task, &fds))
			return 0;
		sk = fd_table_sock_direct(&fds, fd, &inode);
		if (sk && sk_is_tcp_listener_direct(sk))
			resync_load(sk, true);
		return 0;
	}
	fd = (int)current_syscall_arg1(false);
	sk = current_fd_sock(fd, &inode);
	if (sk && sk_is_tcp_listener(sk))
		resync_load(sk, false);
	return 0;
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int steer_accept4(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(false);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int steer_accept(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(false);
}

SEC("tracepoint/syscalls/sys_exit_accept4")
int steer_accept4_direct(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(true);
}

SEC("tracepoint/syscalls/sys_exit_accept")
int steer_accept_direct(struct trace_event_raw_sys_exit *ctx)
{
	return accept_exit(true);
}

/* ---- the group probe --------------------------------------------------------------------- */

/*
 * User space calls getsockopt() on its copy of a member socket; this reads what no system call
 * reports: the socket's reuseport group (to tell sockets of one group from others on the same
 * address) and the program attached to the group, ours or anybody's (id, name, type).
 */
SEC("tracepoint/syscalls/sys_enter_getsockopt")
int steer_probe(struct trace_event_raw_sys_enter *ctx)
{
	struct sock_reuseport *reuse;
	struct bpf_prog_aux *aux;
	struct bpf_prog *prog;
	struct sock *sk;
	__u64 inode = 0;
	int fd = (int)ctx->args[0];

	if ((bpf_get_current_pid_tgid() >> 32) != probe_tgid || fd != probe_fd)
		return 0;
	__builtin_memset(&probe_res, 0, sizeof(probe_res));
	sk = current_fd_sock(fd, &inode);
	if (sk) {
		probe_res.inode = inode;
		reuse = BPF_CORE_READ(sk, sk_reuseport_cb);
		if (reuse) {
			probe_res.in_group = 1;
			probe_res.group = (__u64)reuse;
			probe_res.reuseport_id = BPF_CORE_READ(reuse, reuseport_id);
			probe_res.num_socks = BPF_CORE_READ(reuse, num_socks);
			probe_res.num_closed_socks = reuseport_num_closed_socks(reuse);
			prog = BPF_CORE_READ(reuse, prog);
			if (prog) {
				probe_res.has_prog = 1;
				aux = BPF_CORE_READ(prog, aux);
				probe_res.prog_id = BPF_CORE_READ(aux, id);
				probe_res.prog_type = BPF_CORE_READ(prog, type);
				probe_res.attach_type = BPF_CORE_READ(prog, expected_attach_type);
				bpf_probe_read_kernel_str(probe_res.prog_name,
							  sizeof(probe_res.prog_name), &aux->name);
			}
		}
	}
	probe_res.seq = probe_seq;
	return 0;
}
