// SPDX-License-Identifier: GPL-2.0
/*
 * --show: what the kernel and the pins say about a group, gathered into one view, then printed
 * as text or as one JSON object (each part by a plain and a JSON printer side by side).
 * --detach: the group's program removed, and the pins with it.
 */
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <sys/socket.h>

#include <linux/bpf.h>
#include <netinet/in.h>

#include "internal.h"
#include "kernel.h"
#include "observe/model.h"
#include "render/json.h"
#include "util.h"

/* ---- the view ---------------------------------------------------------------------------- */

struct member_view {
	const struct member *m;
	bool known; /* in our pinned maps (and the program is ours) */
	uint32_t slot;
	uint32_t weight;
	bool drained;
	bool closed; /* in the pins, no longer in the group (its socket closed) */
	uint64_t counters[STEER_COUNTERS]; /* struct steer_counters' fields, in order */
};

enum { C_SELECTED, C_MIGRATED, C_FAILED, C_CLOSED, C_REFUSED, C_WOULD, C_HASHED };

struct show_view {
	const struct group *g;
	char addr[INET6_ADDRSTRLEN];
	bool ours; /* the group's program is the one our pins describe */
	bool classic; /* a classic BPF program (SO_ATTACH_REUSEPORT_CBPF) */
	const char *prog_type; /* program_kind() */
	const char *attach_type; /* "select_or_migrate", "select", NULL */
	/* With ours: */
	const char *policy;
	char object[256];
	bool shadow;
	bool hash_known; /* the program counts the kernel's hash choices (C_HASHED) */
	uint64_t fallbacks;
	uint64_t reasons[STEER_FB_COUNT];
	/* Over the known members: what the policy would do, what the kernel did. */
	struct rt_imbalance would, real;
	/*
	 * The group's members, then the pins' members whose socket closed (--follow not running):
	 * up to STEER_MAX_MEMBERS of each.
	 */
	struct member_view members[2 * STEER_MAX_MEMBERS];
	size_t nmembers;
	struct member closed[STEER_MAX_MEMBERS]; /* who they were, from steer_info */
};

static const char *attach_type_name(uint32_t t)
{
	if (t == BPF_SK_REUSEPORT_SELECT_OR_MIGRATE)
		return "select_or_migrate";
	if (t == BPF_SK_REUSEPORT_SELECT)
		return "select";
	return NULL;
}

/* A member's real selections: by the policy while enforcing, by the kernel's hash in shadow. */
static uint64_t real_selections(const struct member_view *mv)
{
	return mv->counters[C_SELECTED] + mv->counters[C_HASHED];
}

/* Max share and Jain's index of the policy's choices and of the real selections, side by side. */
static void build_shares(struct show_view *v)
{
	uint64_t would[STEER_MAX_MEMBERS], real[STEER_MAX_MEMBERS];
	size_t n = 0;

	for (size_t i = 0; i < v->nmembers; i++) {
		const struct member_view *mv = &v->members[i];

		if (!mv->known || mv->closed)
			continue;
		would[n] = mv->counters[C_WOULD];
		real[n++] = real_selections(mv);
	}
	v->would = imbalance_of(would, n);
	v->real = imbalance_of(real, n);
}

/* Member view mv is slot s of the pins. */
static void known_member(const struct pinned *p, uint32_t s, struct member_view *mv)
{
	mv->known = true;
	mv->slot = s;
	mv->weight = p->minfo[s].weight;
	mv->drained = p->minfo[s].flags & STEER_MEMBER_DRAINED;
	sum_percpu(p->fd[M_STATS], s, mv->counters, STEER_COUNTERS);
}

static bool slot_shown(const struct show_view *v, uint32_t s)
{
	for (size_t i = 0; i < v->nmembers; i++)
		if (v->members[i].known && v->members[i].slot == s)
			return true;
	return false;
}

/* Slot s's member left the group: shown with the counters it has, who it was from the pins. */
static void closed_member(const struct pinned *p, uint32_t s, struct show_view *v)
{
	const struct steer_member_info *mi = &p->minfo[s];
	struct member *m = &v->closed[v->nmembers - v->g->n];
	struct member_view *mv = &v->members[v->nmembers++];

	memset(m, 0, sizeof(*m));
	m->inode = mi->inode;
	m->pid = (int)mi->pid;
	m->fd = mi->fd;
	m->drops = -1;
	m->dupfd = -1;
	memcpy(m->comm, mi->comm, sizeof(mi->comm));
	m->comm[sizeof(mi->comm) - 1] = '\0';
	mv->m = m;
	mv->closed = true;
	known_member(p, s, mv);
}

static void build_view(const struct group *g, const struct pinned *p, struct show_view *v)
{
	uint32_t zero = 0;

	memset(v, 0, sizeof(*v));
	v->g = g;
	addr_str(g->family, g->addr, v->addr, sizeof(v->addr));
	v->ours = p->exists && g->prog_id && p->info.prog_id == g->prog_id;
	v->classic = g->has_prog && !g->prog_id;
	v->prog_type = program_kind(g);
	v->attach_type = v->classic ? NULL : attach_type_name(g->attach_type);
	if (v->ours) {
		v->policy = steer_policy_name(p->info.policy);
		snprintf(v->object, sizeof(v->object), "%s", p->info.object);
		v->shadow = p->info.shadow;
		/* Only the built-in program counts where the kernel's hash sent a connection. */
		v->hash_known = kernel_features()->rdonly_cast &&
				kernel_features()->reuseport_migrate &&
				p->info.policy != STEER_POLICY_CUSTOM;
		sum_percpu(p->fd[M_FALLBACK], zero, &v->fallbacks, 1);
		for (uint32_t r = 0; r < STEER_FB_COUNT; r++)
			sum_percpu(p->fd[M_REASONS], r, &v->reasons[r], 1);
	}
	for (size_t i = 0; i < g->n; i++) {
		struct member_view *mv = &v->members[v->nmembers++];

		mv->m = &g->m[i];
		for (uint32_t s = 0; v->ours && s < STEER_MAX_MEMBERS && !mv->known; s++)
			if ((p->minfo[s].flags & STEER_MEMBER_USED) &&
			    p->minfo[s].inode == g->m[i].inode)
				known_member(p, s, mv);
	}
	for (uint32_t s = 0; v->ours && s < STEER_MAX_MEMBERS; s++)
		if ((p->minfo[s].flags & STEER_MEMBER_USED) && !slot_shown(v, s))
			closed_member(p, s, v);
	build_shares(v);
}

/* ---- printers: plain and JSON, part by part ---------------------------------------------- */

static void group_plain(const struct show_view *v)
{
	printf("%s: %zu sockets in the group (the kernel counts %u)\n", v->g->name, v->g->n,
	       v->g->num_socks);
}

static void group_json(struct json_writer *w, const struct show_view *v)
{
	const struct group *g = v->g;

	json_string(w, "proto", proto_name(g->proto));
	json_string(w, "family", family_name(g->family));
	json_string(w, "addr", v->addr);
	json_uint(w, "port", g->port);
	json_uint(w, "netns", g->netns);
	json_uint(w, "group_sockets", g->num_socks);
}

/* "max share 25.0%, jain 0.998", or "nothing selected yet". */
static const char *shares_str(const struct rt_imbalance *imb, char *buf, size_t len)
{
	if (isfinite(imb->max_share))
		snprintf(buf, len, "max share %.1f%%, jain %.3f", 100 * imb->max_share, imb->jain);
	else
		snprintf(buf, len, "nothing selected yet");
	return buf;
}

/* Mode, fallbacks by reason, and the shares of both sides. */
static void steering_plain(const struct show_view *v)
{
	char a[64], b[64];
	bool any = false;

	printf("  mode: %s\n", v->shadow ? "shadow (the policy counts its choices, the kernel's "
					   "hash selects)"
					 : "enforcing (the policy selects)");
	printf("  fallbacks to the kernel's hash: %llu", (unsigned long long)v->fallbacks);
	for (uint32_t r = 0; r < STEER_FB_COUNT; r++) {
		if (!v->reasons[r])
			continue;
		printf("%s%s %llu", any ? ", " : " (", steer_fallback_reason_name(r),
		       (unsigned long long)v->reasons[r]);
		any = true;
	}
	printf("%s\n", any ? ")" : "");
	printf("  policy would select: %s; real selections: %s%s\n",
	       shares_str(&v->would, a, sizeof(a)), shares_str(&v->real, b, sizeof(b)),
	       v->shadow && !v->hash_known ? " (the kernel's choices are not counted here)" : "");
}

static void program_plain(const struct show_view *v)
{
	const struct group *g = v->g;

	if (!g->has_prog)
		printf("  program: none (the kernel's hash)\n");
	else if (v->ours)
		printf("  program: reusetop %s%s%s (id %u, %s, %s), pinned in %s\n", v->policy,
		       v->object[0] ? " " : "", v->object, g->prog_id, g->prog_name,
		       attach_type_name(g->attach_type) ? attach_type_name(g->attach_type) : "?",
		       g->pindir);
	else if (v->classic)
		printf("  program: classic BPF (SO_ATTACH_REUSEPORT_CBPF), not reusetop's\n");
	else
		printf("  program: id %u, %s (%s), not attached by reusetop\n", g->prog_id,
		       g->prog_name[0] ? g->prog_name : "no name", program_kind_text(g));
	if (g->has_prog && g->attach_type == BPF_SK_REUSEPORT_SELECT)
		printf("  no migration: %s; the queued connections of a member that closes are "
		       "reset\n",
		       kernel_features()->reuseport_migrate
			       ? "the program is attached as select"
			       : "this kernel has no select_or_migrate attach type");
	if (v->ours)
		steering_plain(v);
}

static void shares_json(struct json_writer *w, const char *key, const struct rt_imbalance *imb)
{
	json_object_begin(w, key);
	json_double(w, "max_share", imb->max_share, 4);
	json_double(w, "jain", imb->jain, 4);
	json_object_end(w);
}

/* Ours only: the mode, fallbacks in total and by reason, both sides' shares. */
static void steering_json(struct json_writer *w, const struct show_view *v)
{
	json_string(w, "mode", v->shadow ? "shadow" : "enforce");
	json_uint(w, "fallbacks", v->fallbacks);
	json_object_begin(w, "fallback_reasons");
	for (uint32_t r = 0; r < STEER_FB_COUNT; r++)
		json_uint(w, steer_fallback_reason_name(r), v->reasons[r]);
	json_object_end(w);
	json_object_begin(w, "shares");
	shares_json(w, "would_select", &v->would);
	shares_json(w, "real", &v->real);
	json_object_end(w);
}

static void program_json(struct json_writer *w, const struct show_view *v)
{
	const struct group *g = v->g;

	if (g->has_prog) {
		json_object_begin(w, "program");
		json_uint(w, "id", g->prog_id);
		json_string(w, "name", g->prog_name);
		json_string(w, "type", v->prog_type);
		if (v->attach_type)
			json_string(w, "attach_type", v->attach_type);
		else
			json_null(w, "attach_type");
		json_string(w, "owner", v->ours ? "reusetop" : "foreign");
		json_object_end(w);
	} else {
		json_null(w, "program");
	}
	if (v->ours) {
		json_string(w, "policy", v->policy);
		if (v->object[0])
			json_string(w, "object", v->object);
		json_string(w, "pinned", g->pindir);
		steering_json(w, v);
	} else {
		static const char *const absent[] = {"policy",	  "pinned",	      "mode",
						     "fallbacks", "fallback_reasons", "shares"};

		for (size_t k = 0; k < ARRAY_LEN(absent); k++)
			json_null(w, absent[k]);
	}
}

static void members_plain(const struct show_view *v)
{
	printf("  %4s %-12s %-8s %5s %-16s %6s %-8s %10s %10s %10s %9s %7s %7s %7s\n", "SLOT",
	       "INODE", "PID", "FD", "COMM", "WEIGHT", "STATE", "SELECTED", "WOULD-SEL", "HASHED",
	       "MIGRATED", "CLOSED", "REFUSED", "DROPS");
	for (size_t i = 0; i < v->nmembers; i++) {
		const struct member_view *mv = &v->members[i];
		const struct member *m = mv->m;
		const uint64_t *c = mv->counters;
		char drops[24] = "-";

		if (m->drops >= 0)
			snprintf(drops, sizeof(drops), "%lld", (long long)m->drops);
		if (mv->known)
			printf("  %4u %-12llu %-8d %5d %-16s %6u %-8s %10llu %10llu %10llu %9llu "
			       "%7llu "
			       "%7llu %7s\n",
			       mv->slot, (unsigned long long)m->inode, m->pid, m->fd, m->comm,
			       mv->weight,
			       mv->closed    ? "closed"
			       : mv->drained ? "drained"
					     : "active",
			       (unsigned long long)c[C_SELECTED], (unsigned long long)c[C_WOULD],
			       (unsigned long long)c[C_HASHED], (unsigned long long)c[C_MIGRATED],
			       (unsigned long long)c[C_CLOSED], (unsigned long long)c[C_REFUSED],
			       drops);
		else
			printf("  %4s %-12llu %-8d %5d %-16s %6s %-8s %10s %10s %10s %9s %7s %7s "
			       "%7s\n",
			       "-", (unsigned long long)m->inode, m->pid, m->fd, m->comm, "-",
			       v->ours ? "new" : "-", "-", "-", "-", "-", "-", "-", drops);
	}
}

static void members_json(struct json_writer *w, const struct show_view *v)
{
	static const char *const steered[] = {"weight",	  "drained",	  "closed",
					      "selected", "would_select", "hash_selected",
					      "migrated", "failed",	  "failed_by"};

	json_array_begin(w, "members");
	for (size_t i = 0; i < v->nmembers; i++) {
		const struct member_view *mv = &v->members[i];

		json_object_begin(w, NULL);
		if (mv->known)
			json_uint(w, "slot", mv->slot);
		else
			json_null(w, "slot");
		json_uint(w, "inode", mv->m->inode);
		if (mv->m->drops >= 0)
			json_int(w, "drops", mv->m->drops);
		else
			json_null(w, "drops");
		json_int(w, "pid", mv->m->pid);
		if (mv->m->fd >= 0)
			json_int(w, "fd", mv->m->fd);
		else
			json_null(w, "fd");
		json_string(w, "comm", mv->m->comm);
		if (!mv->closed && owner_source_name(mv->m->owner))
			json_string(w, "owner", owner_source_name(mv->m->owner));
		else
			json_null(w, "owner");
		if (mv->known) {
			json_uint(w, "weight", mv->weight);
			json_bool(w, "drained", mv->drained);
			json_bool(w, "closed", mv->closed);
			json_uint(w, "selected", mv->counters[C_SELECTED]);
			json_uint(w, "would_select", mv->counters[C_WOULD]);
			if (v->hash_known)
				json_uint(w, "hash_selected", mv->counters[C_HASHED]);
			else
				json_null(w, "hash_selected");
			json_uint(w, "migrated", mv->counters[C_MIGRATED]);
			json_uint(w, "failed", mv->counters[C_FAILED]);
			json_object_begin(w, "failed_by");
			json_uint(w, "member_closed", mv->counters[C_CLOSED]);
			json_uint(w, "refused", mv->counters[C_REFUSED]);
			json_object_end(w);
		} else {
			for (size_t k = 0; k < ARRAY_LEN(steered); k++)
				json_null(w, steered[k]);
		}
		json_object_end(w);
	}
	json_array_end(w);
}

int show(struct ctx *c, struct group *g)
{
	static struct show_view v;
	struct pinned p;
	int err;

	if ((err = pinned_open(g->pindir, &p)))
		return fail(c, RT_EXIT_RUNTIME, "failed to open the pinned maps in %s: %s",
			    g->pindir, strerror(-err));
	build_view(g, &p, &v);
	pinned_close(&p);
	if (c->o->json) {
		struct json_writer w;

		json_init(&w, stdout);
		json_object_begin(&w, NULL);
		group_json(&w, &v);
		program_json(&w, &v);
		members_json(&w, &v);
		json_object_end(&w);
		fputc('\n', stdout);
	} else {
		group_plain(&v);
		program_plain(&v);
		members_plain(&v);
	}
	fflush(stdout);
	if (ferror(stdout))
		return fail(c, RT_EXIT_RUNTIME, "failed to write output: %s", strerror(errno));
	return 0;
}

/* ---- detach ------------------------------------------------------------------------------ */

/* The socket array emptied (its sockets may join another later) and the pins removed. */
static void remove_pins(struct pinned *p, const char *dir)
{
	clear_sockarray(p->fd[M_MEMBERS]);
	unpin_all(dir);
}

int detach(struct ctx *c, struct group *g)
{
	struct pinned p;
	bool ours;
	int err, ret = 0;

	if ((err = pinned_open(g->pindir, &p)))
		return fail(c, RT_EXIT_RUNTIME, "failed to open the pinned maps in %s: %s",
			    g->pindir, strerror(-err));
	ours = p.exists && g->prog_id && p.info.prog_id == g->prog_id;
	if (!g->has_prog) {
		if (p.exists) {
			remove_pins(&p, g->pindir);
			printf("%s: no program attached; removed reusetop's stale pins in %s\n",
			       g->name, g->pindir);
		} else {
			printf("%s: no program attached\n", g->name);
		}
	} else if (!ours && !c->o->force) {
		ret = fail(c, RT_EXIT_USAGE,
			   "%s has a program reusetop did not attach (id %u, %s): --force detaches "
			   "it",
			   g->name, g->prog_id, g->prog_name[0] ? g->prog_name : "no name");
	} else if ((err = detach_prog(g->m[0].dupfd))) {
		ret = fail(c, RT_EXIT_RUNTIME, "failed to detach the program from %s: %s", g->name,
			   strerror(-err));
	} else {
		if (p.exists)
			remove_pins(&p, g->pindir);
		printf("%s: detached %s program id %u; the kernel's hash decides again\n", g->name,
		       ours ? steer_policy_name(p.info.policy) : "foreign", g->prog_id);
	}
	pinned_close(&p);
	return ret;
}

/* Do the pins of dir (open in p) steer the group the options name? */
static bool pins_match(const struct steer_options *o, const struct pinned *p)
{
	return (!o->netns || p->info.netns == o->netns) &&
	       (!o->family || (p->info.family == o->family &&
			       !memcmp(p->info.addr, o->addr, o->family == AF_INET ? 4 : 16)));
}

int detach_stale(struct ctx *c)
{
	const struct steer_options *o = c->o;
	char prefix[16], suffix[16], path[512];
	struct dirent *de;
	int removed = 0;
	DIR *d;

	d = opendir(STEER_PIN_ROOT);
	if (!d)
		return 0;
	snprintf(prefix, sizeof(prefix), "%s-", proto_name(o->proto));
	snprintf(suffix, sizeof(suffix), "-%u", o->port);
	while ((de = readdir(d))) {
		size_t len = strlen(de->d_name), sl = strlen(suffix);
		struct pinned p;

		if (strncmp(de->d_name, prefix, strlen(prefix)) || len <= sl ||
		    strcmp(de->d_name + len - sl, suffix))
			continue;
		snprintf(path, sizeof(path), "%s/%s", STEER_PIN_ROOT, de->d_name);
		if (pinned_open(path, &p) || !p.exists)
			continue;
		if (pins_match(o, &p)) {
			remove_pins(&p, path);
			printf("removed reusetop's pins of a group that is gone: %s\n", path);
			removed++;
		}
		pinned_close(&p);
	}
	closedir(d);
	return removed;
}
