// SPDX-License-Identifier: GPL-2.0
/*
 * apply(): put a policy, or a change of members, weights or drains, on a group, in phases:
 *
 *   decide     the policy, each member's slot, weight and drain, the configuration
 *   load       the programs needed, before anything changes
 *   pins       the group's maps pinned under its folder (the first time)
 *   members    members that left taken out; each member at its slot of the socket array
 *   config     the eligible set; the configuration written to the buffer not in use, then
 *              steer_cur flips (a policy change is seen whole by the next connection)
 *   trackers   least-loaded's load trackers attached and pinned (or removed)
 *   program    attached with SO_ATTACH_REUSEPORT_EBPF through a member (the kernel applies it
 *              to the whole group, replacing the previous one atomically), pinned as "prog"
 *   record     what the pins describe (steer_group), for --show, later calls and the live view
 *
 * Every change is recorded in one journal before it is made; when a phase fails (or the kernel
 * does not keep the program), the journal is replayed backwards and the group is as it was: the
 * previous program attached again, values put back, what this call created removed.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <netinet/in.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "setup.h"
#include "steer.skel.h"
#include "util.h"

int fail_to_save(struct apply *a, int err)
{
	return fail(a->c, RT_EXIT_RUNTIME, "failed to save the group's state for undo: %s",
		    strerror(-err));
}

/* ---- decide ------------------------------------------------------------------------------ */

/* A program reusetop did not attach is only replaced with --force. */
static int check_owner(struct apply *a)
{
	const struct group *g = a->g;

	a->ours = a->p.exists && a->p.info.prog_id && g->prog_id == a->p.info.prog_id;
	if (!g->has_prog || a->ours || a->c->o->force)
		return 0;
	if (a->round)
		return fail(a->c, RT_EXIT_RUNTIME,
			    "%s: another program (id %u, %s) replaced reusetop's", g->name,
			    g->prog_id, g->prog_name);
	return fail(a->c, RT_EXIT_USAGE,
		    "%s has a steering program reusetop did not attach (id %u, %s, %s): "
		    "--force replaces it",
		    g->name, g->prog_id, g->prog_name[0] ? g->prog_name : "no name",
		    program_kind_text(g));
}

/* The command line's policy (round 0), else the pinned one; and what it needs. */
static int choose_policy(struct apply *a)
{
	const struct steer_options *o = a->c->o;
	const struct group *g = a->g;

	if (a->round == 0 && o->policy)
		a->policy = o->policy;
	else if (a->p.exists && a->p.info.policy)
		a->policy = a->p.info.policy;
	else
		return fail(a->c, RT_EXIT_USAGE,
			    "no reusetop policy is attached to %s: give --policy", g->name);
	if (a->policy == STEER_POLICY_LEAST_LOADED && g->proto == IPPROTO_UDP)
		return fail(a->c, RT_EXIT_USAGE,
			    "least-loaded needs tcp: UDP sockets have no accept queue");
	if (a->round == 0 && o->nweights && a->policy != STEER_POLICY_WEIGHTED)
		return fail(a->c, RT_EXIT_USAGE, "--weight: the policy of %s is %s, not weighted",
			    g->name, steer_policy_name(a->policy));
	/* --shadow or --enforce say; a new --policy enforces; else the pinned mode stays. */
	if (a->round == 0 && (o->shadow || o->enforce || o->policy))
		a->shadow = o->shadow;
	else
		a->shadow = a->p.exists && a->p.info.shadow;
	a->need_builtin = a->policy != STEER_POLICY_CUSTOM &&
			  !(a->ours && a->p.info.policy != STEER_POLICY_CUSTOM);
	a->need_custom =
		a->policy == STEER_POLICY_CUSTOM && (!a->ours || (a->round == 0 && o->object));
	a->want_trackers = a->policy == STEER_POLICY_LEAST_LOADED;
	return 0;
}

static int check_member_refs(struct apply *a)
{
	const struct steer_options *o = a->c->o;
	struct steer_ref all[STEER_MAX_REFS];

	if (a->round)
		return 0;
	for (size_t i = 0; i < o->nweights; i++)
		all[i] = o->weights[i].member;
	if (check_refs(a->c, a->g, all, o->nweights, "--weight") ||
	    check_refs(a->c, a->g, o->drains, o->ndrains, "--drain") ||
	    check_refs(a->c, a->g, o->undrains, o->nundrains, "--undrain"))
		return -1;
	return 0;
}

/*
 * Give every current member a slot: the one the pinned maps have for its inode (with its weight
 * and drain), else the lowest free one. Pinned members no longer present go to a->gone.
 */
static void assign_slots(struct apply *a)
{
	const struct pinned *p = &a->p;
	struct group *g = a->g;
	bool taken[STEER_MAX_MEMBERS] = {};

	a->ngone = 0;
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];

		m->slot = -1;
		m->added = true;
		for (uint32_t s = 0; p->exists && s < STEER_MAX_MEMBERS && m->slot < 0; s++) {
			if (!(p->minfo[s].flags & STEER_MEMBER_USED) ||
			    p->minfo[s].inode != m->inode)
				continue;
			m->slot = (int)s;
			m->added = false;
			m->weight = p->minfo[s].weight;
			m->drained = p->minfo[s].flags & STEER_MEMBER_DRAINED;
			taken[s] = true;
		}
	}
	/* Slots of members that left are emptied before new members move in (write_members). */
	for (uint32_t s = 0; p->exists && s < STEER_MAX_MEMBERS; s++)
		if ((p->minfo[s].flags & STEER_MEMBER_USED) && !taken[s])
			a->gone[a->ngone++] = s;
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];

		for (uint32_t s = 0; m->slot < 0 && s < STEER_MAX_MEMBERS; s++)
			if (!taken[s]) {
				m->slot = (int)s;
				taken[s] = true;
			}
	}
}

/* Weights and drains: pinned ones kept, the command line's applied; a new policy starts over. */
static void set_member_options(struct apply *a)
{
	const struct steer_options *o = a->c->o;
	bool fresh = a->round == 0 && o->policy;

	for (size_t i = 0; i < a->g->n; i++) {
		struct member *m = &a->g->m[i];

		if (fresh || m->added) {
			m->weight = 1;
			m->drained = false;
		}
		if (!(fresh || m->added || a->round == 0))
			continue;
		for (size_t k = 0; k < o->nweights; k++)
			if (ref_matches(&o->weights[k].member, a->g, m))
				m->weight = o->weights[k].weight;
		for (size_t k = 0; k < o->ndrains; k++)
			if (ref_matches(&o->drains[k], a->g, m))
				m->drained = true;
		for (size_t k = 0; k < o->nundrains; k++)
			if (ref_matches(&o->undrains[k], a->g, m))
				m->drained = false;
	}
}

/* The policy's configuration over the members with a slot that did not leave. */
int build_config(struct apply *a)
{
	struct steer_candidate cand[STEER_MAX_MEMBERS];
	const struct group *g = a->g;
	size_t n = 0;
	int err;

	for (size_t i = 0; i < g->n; i++)
		if (g->m[i].slot >= 0 && !g->m[i].left)
			cand[n++] = (struct steer_candidate){.slot = (uint32_t)g->m[i].slot,
							     .weight = g->m[i].weight,
							     .drained = g->m[i].drained};
	err = steer_policy_config(a->policy, cand, n, &a->cfg, a->table);
	/* Written with the policy: shadow <-> enforce is the same one flip as a policy change. */
	a->cfg.flags = a->shadow ? STEER_SHADOW : 0;
	if (err == -ENOENT)
		return fail(a->c, RT_EXIT_USAGE,
			    "no member of %s would get connections (all drained%s)", g->name,
			    a->policy == STEER_POLICY_WEIGHTED ? " or weight 0" : "");
	if (err)
		return fail(a->c, RT_EXIT_USAGE,
			    "weights too fine: one cycle (sum of weights over their greatest "
			    "common divisor) may not exceed %d",
			    STEER_TABLE_SIZE);
	return 0;
}

static int decide(struct apply *a)
{
	int err;

	if ((err = pinned_open(a->g->pindir, &a->p)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to open the pinned maps in %s: %s%s",
			    a->g->pindir, strerror(-err),
			    err == -EPROTO ? " (not reusetop's, or an older reusetop's: remove "
					     "the folder)"
					   : "");
	if (check_owner(a) || choose_policy(a) || check_member_refs(a))
		return -1;
	assign_slots(a);
	set_member_options(a);
	return build_config(a);
}

/* ---- load -------------------------------------------------------------------------------- */

/* The custom object: the command line's, or in a --follow round the one the pins name. */
static const char *custom_object(const struct apply *a)
{
	return a->round == 0 && a->c->o->object ? a->c->o->object : a->p.info.object;
}

static int load(struct apply *a)
{
	const struct steer_options *o = a->c->o;

	if (load_builtin(a->c, &a->l, &a->p, a->need_builtin,
			 a->want_trackers && !(a->ours && a->p.has_links)))
		return -1;
	if (a->need_custom &&
	    load_custom(a->c, &a->l, custom_object(a),
			a->round == 0 && o->object ? o->program : a->p.info.prog_name))
		return -1;
	return 0;
}

/* ---- pins -------------------------------------------------------------------------------- */

/*
 * Start CPU c's rotation (steer_rr) at position c: were they all at 0, every CPU would favour the
 * first members until its own count reached a multiple of the members.
 */
static int start_rotations(int fd)
{
	int ncpus = libbpf_num_possible_cpus();
	uint32_t zero = 0;
	uint8_t *vals;
	int err;

	if (ncpus <= 0)
		return -EINVAL;
	/* Per-CPU values are 8 bytes apart in the buffer, whatever their size. */
	vals = calloc((size_t)ncpus, 8);
	if (!vals)
		return -ENOMEM;
	for (uint32_t cpu = 0; cpu < (uint32_t)ncpus; cpu++)
		memcpy(vals + (size_t)cpu * 8, &cpu, sizeof(cpu));
	err = bpf_map_update_elem(fd, &zero, vals, BPF_ANY) ? -errno : 0;
	free(vals);
	return err;
}

/* The first time: the group's folder and its maps pinned in it. */
static int create_pins(struct apply *a)
{
	const char *dir = a->g->pindir;
	char path[256];
	int err;

	if (a->p.exists)
		return 0;
	if (mkdir(dir, 0700)) {
		if (errno != EEXIST)
			return fail(a->c, RT_EXIT_RUNTIME, "failed to create %s: %s", dir,
				    strerror(errno));
	} else if ((err = journal_created(&a->j, dir, true))) {
		rmdir(dir);
		return fail_to_save(a, err);
	}
	for (int i = 0; i < M_COUNT; i++) {
		if (pin_path(path, sizeof(path), dir, pin_map_names[i]) ||
		    bpf_obj_pin(a->l.fd[i], path))
			return fail(a->c, RT_EXIT_RUNTIME, "failed to pin %s: %s", path,
				    strerror(errno));
		if ((err = journal_created(&a->j, path, false))) {
			unlink(path);
			return fail_to_save(a, err);
		}
	}
	if ((err = start_rotations(a->l.fd[M_RR])))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to start the rotation: %s",
			    strerror(-err));
	return 0;
}

/* ---- config ------------------------------------------------------------------------------ */

static int cmp_slot(const void *a, const void *b)
{
	const struct member *x = *(const struct member *const *)a;
	const struct member *y = *(const struct member *const *)b;

	return CMP3(x->slot, y->slot);
}

/* Members in slot order: the order policies use (cpu: CPU i -> i-th eligible member). */
static void members_by_slot(struct group *g, struct member **out)
{
	for (size_t i = 0; i < g->n; i++)
		out[i] = &g->m[i];
	qsort(out, g->n, sizeof(out[0]), cmp_slot);
}

/* The members that may get connections (what custom policies read), in slot order. */
static int write_member_set(struct apply *a)
{
	struct member *by_slot[STEER_MAX_MEMBERS];
	struct steer_members set = {};
	uint32_t zero = 0;
	int err;

	/* A custom policy's one word of mode: the value is rewritten in one update. */
	set.flags = a->shadow ? STEER_SHADOW : 0;
	members_by_slot(a->g, by_slot);
	for (size_t i = 0; i < a->g->n; i++)
		if (!by_slot[i]->drained && !by_slot[i]->left)
			set.slot[set.n++] = (uint32_t)by_slot[i]->slot;
	if ((err = journal_put(&a->j, a->l.fd[M_STEER_MEMBERS], &zero, &set)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to write the member set: %s",
			    strerror(-err));
	return 0;
}

static int write_table(struct apply *a, uint32_t buf)
{
	uint32_t *keys, len = a->cfg.table_len, first = buf * STEER_TABLE_SIZE;
	__u32 count = len;
	int err;

	if (!len)
		return 0;
	if ((err = journal_array_range(&a->j, a->l.fd[M_TABLE], first, len)))
		return err;
	keys = malloc(len * sizeof(*keys));
	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < len; i++)
		keys[i] = first + i;
	err = bpf_map_update_batch(a->l.fd[M_TABLE], keys, a->table, &count, NULL) ? -errno : 0;
	free(keys);
	return err;
}

/* A built-in policy's configuration, to the buffer not in use, then flipped in. */
static int write_config(struct apply *a)
{
	uint32_t zero = 0, cur = 0, next;
	int err;

	if (write_member_set(a))
		return -1;
	if (a->policy == STEER_POLICY_CUSTOM)
		return 0;
	bpf_map_lookup_elem(a->l.fd[M_CUR], &zero, &cur);
	next = (cur & 1) ^ 1;
	if ((err = write_table(a, next)) ||
	    (err = journal_put(&a->j, a->l.fd[M_CONF], &next, &a->cfg)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to write the configuration: %s",
			    strerror(-err));
	if (a->policy == STEER_POLICY_LEAST_LOADED && (!a->ours || a->p.info.policy != a->policy)) {
		/* A fresh start: the trackers resync each member at its next event. */
		struct steer_loads none = {};

		if ((err = journal_put(&a->j, a->l.fd[M_LOAD], &zero, &none)))
			return fail(a->c, RT_EXIT_RUNTIME, "failed to reset the loads: %s",
				    strerror(-err));
	}
	/* Programs that read the old buffer finish within microseconds (RCU). */
	if ((err = journal_put(&a->j, a->l.fd[M_CUR], &zero, &next)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to switch the configuration: %s",
			    strerror(-err));
	return 0;
}

/* ---- trackers ---------------------------------------------------------------------------- */

/* Remove the tracker links' pins, each kept by the journal to be pinned again on undo. */
static int unpin_trackers(struct apply *a)
{
	char path[256];
	int err;

	for (size_t i = 0; i < PIN_NLINKS; i++)
		if ((err = pin_path(path, sizeof(path), a->g->pindir, pin_link_names[i])) ||
		    (err = journal_unpin(&a->j, path)))
			return fail(a->c, RT_EXIT_RUNTIME, "failed to unpin %s: %s", path,
				    strerror(-err));
	return 0;
}

/* Least-loaded's trackers: pinned links, so they outlive us like the program. */
static int attach_trackers(struct apply *a)
{
	char path[256];
	int err;

	if (!a->want_trackers)
		return a->p.has_links ? unpin_trackers(a) : 0;
	if (a->ours && a->p.has_links)
		return 0; /* running already */
	if (unpin_trackers(a))
		return -1;
	for (size_t i = 0; i < PIN_NLINKS; i++) {
		struct bpf_program *prog = a->l.trackers[i];
		struct bpf_link *link = bpf_program__attach(prog);

		if (!link)
			return fail(a->c, RT_EXIT_RUNTIME,
				    "failed to attach the load tracker %s: %s",
				    bpf_program__name(prog), strerror(errno));
		if ((err = journal_link(&a->j, link))) {
			bpf_link__destroy(link);
			return fail_to_save(a, err);
		}
		if (pin_path(path, sizeof(path), a->g->pindir, pin_link_names[i]) ||
		    bpf_link__pin(link, path))
			return fail(a->c, RT_EXIT_RUNTIME,
				    "failed to attach the load tracker %s: %s",
				    bpf_program__name(prog), strerror(errno));
		if ((err = journal_created(&a->j, path, false))) {
			bpf_link__unpin(link);
			return fail_to_save(a, err);
		}
	}
	return 0;
}

/* ---- program ----------------------------------------------------------------------------- */

static int pin_program(struct apply *a)
{
	char path[256];
	int err;

	if ((err = pin_path(path, sizeof(path), a->g->pindir, "prog")) ||
	    (err = journal_unpin(&a->j, path)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to pin the program: %s", strerror(-err));
	if (bpf_obj_pin(a->progfd, path))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to pin the program: %s",
			    strerror(errno));
	if ((err = journal_created(&a->j, path, false))) {
		unlink(path);
		return fail_to_save(a, err);
	}
	return 0;
}

/* The program, through any member: it replaces the group's atomically. */
static int attach_program(struct apply *a)
{
	const struct group *g = a->g;
	int err;

	a->progfd = -1;
	a->prog_id = a->p.info.prog_id;
	if (a->need_builtin)
		a->progfd = bpf_program__fd(a->l.skel->progs.steer_select);
	else if (a->need_custom)
		a->progfd = bpf_program__fd(a->l.custom_prog);
	if (a->progfd < 0)
		return 0;
	if ((err = journal_program(&a->j, a->via->dupfd, g)))
		return fail(
			a->c, RT_EXIT_RUNTIME,
			"failed to hold the program of %s (id %u) to put it back on failure: %s",
			g->name, g->prog_id, strerror(-err));
	if ((err = attach_prog(a->via->dupfd, a->progfd)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to attach the program to %s: %s",
			    g->name, strerror(-err));
	a->prog_id = prog_id_of(a->progfd);
	return pin_program(a);
}

/* ---- record ------------------------------------------------------------------------------ */

/* What the pins describe, for --show, later calls and the live view. */
static int record_group(struct apply *a)
{
	struct steer_group_info *info = &a->info;
	const struct group *g = a->g;
	uint32_t zero = 0;
	int err;

	memset(info, 0, sizeof(*info));
	info->magic = STEER_GROUP_MAGIC;
	info->policy = a->policy;
	info->netns = g->netns;
	info->port = g->port;
	info->proto = g->proto;
	info->family = g->family;
	memcpy(info->addr, g->addr, 16);
	info->prog_id = a->prog_id;
	info->shadow = a->shadow;
	if (a->progfd < 0) {
		info->migrate = a->p.info.migrate;
		memcpy(info->prog_name, a->p.info.prog_name, sizeof(info->prog_name));
		memcpy(info->object, a->p.info.object, sizeof(info->object));
	} else {
		info->migrate = a->l.migrate;
		snprintf(info->prog_name, sizeof(info->prog_name), "%s",
			 a->need_custom ? bpf_program__name(a->l.custom_prog) : "steer_select");
		if (a->need_custom) {
			char *abs = realpath(custom_object(a), NULL);

			snprintf(info->object, sizeof(info->object), "%s",
				 abs ? abs : custom_object(a));
			free(abs);
		}
	}
	if ((err = journal_put(&a->j, a->l.fd[M_GROUP], &zero, info)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to record the group: %s",
			    strerror(-err));
	return 0;
}

/* ---- the end: verified, reported, or undone ---------------------------------------------- */

/* The kernel agrees? (Another tool may have attached in between: then its program stays.) */
static int verify(struct apply *a)
{
	struct steer_probe_result r;
	int err;

	if (a->progfd < 0)
		return 0;
	if (!(err = probe_socket(a->c, a->via->dupfd, &r)) && r.prog_id == a->prog_id) {
		a->g->prog_id = a->prog_id;
		return 0;
	}
	if (!err)
		journal_keep_program(&a->j);
	return fail(a->c, RT_EXIT_RUNTIME, "%s: the program did not stay attached (%s)", a->g->name,
		    err ? strerror(-err) : "another one replaced it");
}

static void weights_str(struct group *g, char *buf, size_t len)
{
	struct member *by_slot[STEER_MAX_MEMBERS];
	size_t off = 0;

	buf[0] = '\0';
	members_by_slot(g, by_slot);
	for (size_t i = 0; i < g->n && off < len; i++) {
		int w = snprintf(buf + off, len - off, "%s%u", i ? "," : "", by_slot[i]->weight);

		if (w < 0)
			break;
		off += (size_t)w;
	}
}

/* Follow rounds tell which members came and went; the first call, what is attached now. */
static void report(struct apply *a)
{
	struct group *g = a->g;
	bool attached = a->progfd >= 0;

	for (size_t i = 0; a->round && i < a->ngone; i++) {
		const struct steer_member_info *mi = &a->p.minfo[a->gone[i]];

		printf("%s: member gone: socket %llu (pid %u fd %d, slot %u)\n", g->name,
		       (unsigned long long)mi->inode, mi->pid, mi->fd, a->gone[i]);
	}
	for (size_t i = 0; a->round && i < g->n; i++)
		if (g->m[i].added && !g->m[i].left)
			printf("%s: member added: socket %llu (pid %d fd %d, slot %d)\n", g->name,
			       (unsigned long long)g->m[i].inode, g->m[i].pid, g->m[i].fd,
			       g->m[i].slot);
	if (a->round == 0) {
		char w[STEER_MAX_MEMBERS * 7] = "";

		if (a->policy == STEER_POLICY_WEIGHTED)
			weights_str(g, w, sizeof(w));
		printf("%s: %s %s%s over %u of %zu members%s%s%s, program id %u%s; pinned in %s\n",
		       g->name, attached ? "steering with" : "updated:",
		       a->policy == STEER_POLICY_CUSTOM ? a->info.prog_name
							: steer_policy_name(a->policy),
		       a->shadow ? " in shadow mode (the kernel's hash selects)" : "", a->cfg.n,
		       g->n, w[0] ? " (weights " : "", w, w[0] ? ")" : "", a->prog_id,
		       attached && g->has_prog && !a->ours ? " (replaced a foreign program)" : "",
		       g->pindir);
	} else if (attached) {
		printf("%s: re-attached %s%s, program id %u\n", g->name,
		       steer_policy_name(a->policy), a->shadow ? " (shadow)" : "", a->prog_id);
	}
	fflush(stdout);
}

/* Put the group back as it was; what could not be is said after the error. */
static void undo(struct apply *a, int ret)
{
	struct ctx *c = a->c;
	char notes[300];
	size_t used = strlen(c->err);

	journal_undo(&a->j, notes, sizeof(notes));
	if (!notes[0])
		return;
	if (ret == NOT_FOUND)
		report_warning("%s: %s", a->g->name, notes);
	else
		snprintf(c->err + used, sizeof(c->err) - used, " (undo: %s)", notes);
}

#ifdef RT_FAULT_INJECTION
/* The sanitized test build only: REUSETOP_FAULT=apply:PHASE fails apply() right after PHASE. */
static int injected_fault(struct ctx *c, const char *phase)
{
	const char *f = getenv("REUSETOP_FAULT");

	if (!f || strncmp(f, "apply:", 6) || strcmp(f + 6, phase))
		return 0;
	return fail(c, RT_EXIT_RUNTIME, "injected fault after apply phase '%s' (REUSETOP_FAULT)",
		    phase);
}
#else
static int injected_fault(struct ctx *c, const char *phase)
{
	(void)c;
	(void)phase;
	return 0;
}
#endif

int apply(struct ctx *c, struct group *g, unsigned long round)
{
	static const struct {
		const char *name;
		int (*run)(struct apply *a);
	} phases[] = {
		{"decide", decide},	     {"load", load},
		{"pins", create_pins},	     {"members", write_members},
		{"config", write_config},    {"trackers", attach_trackers},
		{"program", attach_program}, {"record", record_group},
	};
	static uint32_t table[STEER_TABLE_SIZE];
	struct apply a = {.c = c, .g = g, .round = round, .table = table, .progfd = -1};
	int ret = 0;

	for (int i = 0; i < M_COUNT; i++)
		a.l.fd[i] = -1;
	journal_init(&a.j);
	for (size_t i = 0; i < ARRAY_LEN(phases) && !ret; i++)
		if (!(ret = phases[i].run(&a)))
			ret = injected_fault(c, phases[i].name);
	if (!ret)
		ret = verify(&a);
	if (ret) {
		undo(&a, ret);
	} else {
		journal_commit(&a.j);
		report(&a);
	}
	loaded_free(&a.l);
	pinned_close(&a.p);
	return ret;
}
