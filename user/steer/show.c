// SPDX-License-Identifier: GPL-2.0
/*
 * --show: what the kernel and the pins say about a group, gathered into one view, then printed
 * as text or as one JSON object (each part by a plain and a JSON printer side by side).
 * --detach: the group's program removed, and the pins with it.
 */
#include <dirent.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <sys/socket.h>

#include <linux/bpf.h>
#include <netinet/in.h>

#include "internal.h"
#include "kernel.h"
#include "render/json.h"
#include "util.h"

/* ---- the view ---------------------------------------------------------------------------- */

struct member_view {
	const struct member *m;
	bool known; /* in our pinned maps (and the program is ours) */
	uint32_t slot;
	uint32_t weight;
	bool drained;
	uint64_t counters[3]; /* selected, migrated, failed */
};

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
	uint64_t fallbacks;
	struct member_view members[STEER_MAX_MEMBERS];
};

static const char *attach_type_name(uint32_t t)
{
	if (t == BPF_SK_REUSEPORT_SELECT_OR_MIGRATE)
		return "select_or_migrate";
	if (t == BPF_SK_REUSEPORT_SELECT)
		return "select";
	return NULL;
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
		sum_percpu(p->fd[M_FALLBACK], zero, &v->fallbacks, 1);
	}
	for (size_t i = 0; i < g->n; i++) {
		struct member_view *mv = &v->members[i];

		mv->m = &g->m[i];
		for (uint32_t s = 0; v->ours && s < STEER_MAX_MEMBERS && !mv->known; s++) {
			if (!(p->minfo[s].flags & STEER_MEMBER_USED) ||
			    p->minfo[s].inode != g->m[i].inode)
				continue;
			mv->known = true;
			mv->slot = s;
			mv->weight = p->minfo[s].weight;
			mv->drained = p->minfo[s].flags & STEER_MEMBER_DRAINED;
			sum_percpu(p->fd[M_STATS], s, mv->counters, 3);
		}
	}
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
		printf("  fallbacks to the kernel's hash: %llu\n",
		       (unsigned long long)v->fallbacks);
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
		json_uint(w, "fallbacks", v->fallbacks);
	} else {
		json_null(w, "policy");
		json_null(w, "pinned");
		json_null(w, "fallbacks");
	}
}

static void members_plain(const struct show_view *v)
{
	printf("  %4s %-12s %-8s %5s %-16s %6s %-8s %10s %9s %7s %7s\n", "SLOT", "INODE", "PID",
	       "FD", "COMM", "WEIGHT", "STATE", "SELECTED", "MIGRATED", "FAILED", "DROPS");
	for (size_t i = 0; i < v->g->n; i++) {
		const struct member_view *mv = &v->members[i];
		const struct member *m = mv->m;
		char drops[24] = "-";

		if (m->drops >= 0)
			snprintf(drops, sizeof(drops), "%lld", (long long)m->drops);
		if (mv->known)
			printf("  %4u %-12llu %-8d %5d %-16s %6u %-8s %10llu %9llu %7llu %7s\n",
			       mv->slot, (unsigned long long)m->inode, m->pid, m->fd, m->comm,
			       mv->weight, mv->drained ? "drained" : "active",
			       (unsigned long long)mv->counters[0],
			       (unsigned long long)mv->counters[1],
			       (unsigned long long)mv->counters[2], drops);
		else
			printf("  %4s %-12llu %-8d %5d %-16s %6s %-8s %10s %9s %7s %7s\n", "-",
			       (unsigned long long)m->inode, m->pid, m->fd, m->comm, "-",
			       v->ours ? "new" : "-", "-", "-", "-", drops);
	}
}

static void members_json(struct json_writer *w, const struct show_view *v)
{
	static const char *const steered[] = {"weight", "drained", "selected", "migrated",
					      "failed"};

	json_array_begin(w, "members");
	for (size_t i = 0; i < v->g->n; i++) {
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
		if (owner_source_name(mv->m->owner))
			json_string(w, "owner", owner_source_name(mv->m->owner));
		else
			json_null(w, "owner");
		if (mv->known) {
			json_uint(w, "weight", mv->weight);
			json_bool(w, "drained", mv->drained);
			json_uint(w, "selected", mv->counters[0]);
			json_uint(w, "migrated", mv->counters[1]);
			json_uint(w, "failed", mv->counters[2]);
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
