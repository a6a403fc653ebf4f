/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What the files of `reusetop steer` share (not for other modules: steer.h is the interface).
 *
 *   command.c  steer_main: setup, the context and its one error (fail), the --follow loop
 *   options.c  the command line (pure)
 *   policy.c   the policies' names, tables and configuration over the members (pure)
 *   group.c    finding the group, taking its sockets, the group probe, attaching a program
 *   pins.c     the pinned maps and links, the lock; the live view's reader
 *   load.c     loading the built-in object or a custom --object
 *   apply.c    apply(): a policy or member change, in phases; undone whole on failure
 *   members.c  apply()'s members phase (apply.h: what the phases share)
 *   journal.c  the undo record apply() keeps
 *   show.c     --show and --detach
 *   guard.c    --guard: the state before, the readings every round, the restore (guard.h)
 */
#ifndef REUSETOP_STEER_INTERNAL_H
#define REUSETOP_STEER_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/discovery.h"
#include "observe/owner.h"
#include "pins.h"
#include "steer.h"

#define MAX_HOLDERS 8

/* ---- the group and its members ----------------------------------------------------------- */

struct member {
	uint64_t inode;
	uint64_t cookie;
	/* Its owner, the process that serves it (observe/owner.h), and its fd there. */
	int pid;
	int fd;
	char comm[RT_COMM_LEN];
	enum rt_owner_source owner;
	bool shared; /* other processes hold it too */
	/*
	 * The socket's drop counter (-1: unknown). A SYN dropped after the policy chose this member
	 * (its accept queue was full) is selected again when the client retransmits it.
	 */
	int64_t drops;
	int holders[MAX_HOLDERS]; /* every pid holding it, for MEMBER=PID */
	size_t nholders;
	int dupfd; /* our copy; -1 once closed */
	int slot; /* -1 until assigned */
	uint32_t weight;
	bool drained;
	bool added; /* not in the pinned maps before this round */
	bool left; /* closed while this round ran: not put in the maps */
	struct steer_probe_result probe;
};

struct group {
	uint64_t netns;
	uint8_t proto, family;
	uint16_t port;
	uint8_t addr[16];
	char name[160]; /* "tcp 127.0.0.1:8080 (netns N)" */
	char pindir[160];
	struct member m[STEER_MAX_MEMBERS];
	size_t n;
	/* What the kernel says about the group, from the probe of its first member. */
	uint16_t num_socks;
	bool has_prog; /* any program, reusetop's or not, eBPF or classic */
	uint32_t prog_id; /* 0 with has_prog: a classic BPF program (they have no id) */
	uint32_t prog_type;
	uint32_t attach_type;
	char prog_name[16];
};

/* ---- the command's context --------------------------------------------------------------- */

struct steer_bpf;
struct bpf_link;

/* The group probe: a tracepoint on our own getsockopt() that reads a socket's group. */
struct probe {
	struct steer_bpf *skel;
	struct bpf_link *link;
	uint32_t seq;
};

struct ctx {
	const struct steer_options *o;
	struct rt_discovery *disc;
	struct probe probe;
	int lockfd;
	int status; /* RT_EXIT_*, with err, once something failed */
	char err[700];
};

/* Record the failure (one line in c->err, exit status) and return -1. */
int fail(struct ctx *c, int status, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* ---- group.c ----------------------------------------------------------------------------- */

enum { FOUND = 0, NOT_FOUND = 1 };

/*
 * The group the options name, with our copy of each member socket (close_members() closes
 * them). Returns FOUND, NOT_FOUND (nothing on that port; message in c->err, status 2), or -1.
 */
int find_group(struct ctx *c, struct group *g);
void close_members(struct group *g);

int probe_open(struct ctx *c);
void probe_close(struct probe *p);
/* What the kernel knows about socket `fd` (ours): its group and the group's program. */
int probe_socket(struct ctx *c, int fd, struct steer_probe_result *out);
/* Still a member: in the group and, for TCP, listening. */
bool still_member(struct ctx *c, const struct group *g, const struct member *m);

/*
 * Does MEMBER `r` name member `m` of g? A pid names the sockets it serves (owns, by
 * observe/owner.h, or holds alone); when it serves none, the one it holds; check_refs() refuses
 * a pid that holds several sockets others hold too and serves none of them (nginx's master).
 */
bool ref_matches(const struct steer_ref *r, const struct group *g, const struct member *m);
/* Every ref names a member of g (else fail, the option named `opt`). */
int check_refs(struct ctx *c, const struct group *g, const struct steer_ref *refs, size_t n,
	       const char *opt);

/*
 * The kind of the group's program as the kernel knows it: "classic_bpf" (SO_ATTACH_REUSEPORT_CBPF,
 * converted by the kernel: no id), "socket_filter" (an eBPF socket filter attached with
 * SO_ATTACH_REUSEPORT_EBPF), "sk_reuseport", or "other"; NULL without a program.
 */
const char *program_kind(const struct group *g);
/* The same for people: "classic BPF", "eBPF socket filter", "sk_reuseport program"... */
const char *program_kind_text(const struct group *g);

/* The group's program, through any member: attach (replaces atomically) or detach. -errno. */
int attach_prog(int sockfd, int progfd);
int detach_prog(int sockfd);
uint32_t prog_id_of(int progfd);

/* ---- load.c ------------------------------------------------------------------------------ */

struct bpf_object;
struct bpf_program;

struct loaded {
	struct steer_bpf *skel; /* maps (pinned ones reused), and the programs asked for */
	struct bpf_object *custom; /* --object */
	struct bpf_program *custom_prog;
	bool migrate; /* the program to attach is a select_or_migrate one */
	int fd[M_COUNT]; /* the maps, from skel */
	struct bpf_program *trackers[PIN_NLINKS]; /* least-loaded's, in pin_link_names order */
};

/* The steering object with the programs asked for, its maps the pinned ones when they exist. */
int load_builtin(struct ctx *c, struct loaded *l, const struct pinned *p, bool select,
		 bool trackers);
/* --object: the user's program, with the ABI maps replaced by the group's (l's). */
int load_custom(struct ctx *c, struct loaded *l, const char *path, const char *progname);
void loaded_free(struct loaded *l);

/* ---- apply.c, show.c --------------------------------------------------------------------- */

/*
 * One application: the first one (round 0) from the command line, then every --follow round,
 * which keeps the pinned policy and only adds and removes members. Returns 0, -1 (c->err says
 * why; the group is as it was), or in a --follow round NOT_FOUND when every member closed.
 */
int apply(struct ctx *c, struct group *g, unsigned long round);

int show(struct ctx *c, struct group *g);
int detach(struct ctx *c, struct group *g);
/* --detach of a port whose group is gone: remove reusetop's pins for it. Returns how many. */
int detach_stale(struct ctx *c);

#endif
