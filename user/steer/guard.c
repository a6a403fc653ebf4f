// SPDX-License-Identifier: GPL-2.0
/*
 * --guard: a safety net under --follow. The group's state before this command is captured
 * first; every round then compares the members' drop counters (the kernel's: a full accept
 * queue or receive buffer) and the policy's fallbacks with the previous round's. Above the
 * limits, the guard puts the state back through the same apply() (or detach()) a command would
 * use, so that its undo discipline holds, says why on stdout, and the --follow loop ends.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "guard.h"
#include "util.h"

int guard_capture(struct ctx *c, const struct group *g, struct guard *gd)
{
	struct pinned p;
	bool ours;
	int err;

	memset(gd, 0, sizeof(*gd));
	if ((err = pinned_open(g->pindir, &p)))
		return fail(c, RT_EXIT_RUNTIME, "failed to open the pinned maps in %s: %s",
			    g->pindir, strerror(-err));
	ours = p.exists && g->prog_id && p.info.prog_id == g->prog_id;
	if (g->has_prog && !ours) {
		pinned_close(&p);
		return fail(c, RT_EXIT_USAGE,
			    "--guard: %s has a program reusetop did not attach (id %u): the guard "
			    "could not put it back",
			    g->name, g->prog_id);
	}
	if (ours) {
		gd->prev_policy_set = true;
		gd->prev_policy = p.info.policy;
		gd->prev_shadow = p.info.shadow;
		memcpy(gd->prev_object, p.info.object, sizeof(gd->prev_object));
		memcpy(gd->prev_program, p.info.prog_name, sizeof(gd->prev_program));
		for (uint32_t s = 0; s < STEER_MAX_MEMBERS; s++)
			if (p.minfo[s].flags & STEER_MEMBER_USED)
				gd->prev[gd->nprev++] = (struct guard_member){
					.inode = p.minfo[s].inode,
					.weight = p.minfo[s].weight,
					.drained = p.minfo[s].flags & STEER_MEMBER_DRAINED,
				};
	}
	pinned_close(&p);
	return 0;
}

/* The pinned fallbacks now, in total and by reason. 0 or -errno. */
static int read_fallbacks(const struct group *g, uint64_t *total, uint64_t *reasons)
{
	struct pinned p;
	uint32_t zero = 0;
	int err;

	if ((err = pinned_open(g->pindir, &p)))
		return err;
	if (!p.exists)
		return -ENOENT;
	err = sum_percpu(p.fd[M_FALLBACK], zero, total, 1);
	for (uint32_t r = 0; !err && r < STEER_FB_COUNT; r++)
		err = sum_percpu(p.fd[M_REASONS], r, &reasons[r], 1);
	pinned_close(&p);
	return err;
}

static void read_drops(const struct group *g, struct guard *gd)
{
	gd->ndrops = 0;
	for (size_t i = 0; i < g->n; i++)
		gd->drops[gd->ndrops++] = (struct guard_drops){g->m[i].inode, g->m[i].drops};
}

void guard_start(struct ctx *c, const struct group *g, struct guard *gd)
{
	(void)c;
	if (read_fallbacks(g, &gd->fallbacks, gd->reasons))
		gd->fallbacks = 0;
	read_drops(g, gd);
	gd->at = mono_s();
}

/* Drops since the last round, over the members seen in both (a new member starts its count). */
static uint64_t new_drops(const struct guard *last, const struct group *g)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < g->n; i++)
		for (size_t k = 0; k < last->ndrops; k++)
			if (last->drops[k].inode == g->m[i].inode && last->drops[k].drops >= 0 &&
			    g->m[i].drops > last->drops[k].drops)
				sum += (uint64_t)(g->m[i].drops - last->drops[k].drops);
	return sum;
}

/* "12 fallbacks (member_closed 12)" for the log. */
static void fallbacks_str(uint64_t n, const uint64_t *now, const uint64_t *before, char *buf,
			  size_t len)
{
	size_t off = (size_t)snprintf(buf, len, "%llu fallbacks", (unsigned long long)n);
	bool any = false;

	for (uint32_t r = 0; r < STEER_FB_COUNT && off < len; r++) {
		if (now[r] <= before[r])
			continue;
		off += (size_t)snprintf(buf + off, len - off, "%s%s %llu", any ? ", " : " (",
					steer_fallback_reason_name(r),
					(unsigned long long)(now[r] - before[r]));
		any = true;
	}
	if (any && off < len)
		snprintf(buf + off, len - off, ")");
}

/* The options that put the previous policy back, for the members still in the group. */
static void previous_options(const struct ctx *c, const struct group *g, const struct guard *gd,
			     struct steer_options *o)
{
	*o = *c->o;
	o->policy = gd->prev_policy;
	o->object = gd->prev_policy == STEER_POLICY_CUSTOM ? gd->prev_object : NULL;
	o->program = gd->prev_policy == STEER_POLICY_CUSTOM ? gd->prev_program : NULL;
	o->shadow = gd->prev_shadow;
	o->enforce = !gd->prev_shadow;
	o->nweights = o->ndrains = o->nundrains = 0;
	o->force = false;
	for (size_t k = 0; k < gd->nprev; k++) {
		const struct guard_member *pm = &gd->prev[k];
		bool present = false;

		for (size_t i = 0; i < g->n && !present; i++)
			present = g->m[i].inode == pm->inode;
		if (!present)
			continue;
		if (pm->weight != 1 && o->nweights < STEER_MAX_REFS)
			o->weights[o->nweights++] = (struct steer_weight){
				.member = {.id = pm->inode, .inode = true}, .weight = pm->weight};
		if (pm->drained && o->ndrains < STEER_MAX_REFS)
			o->drains[o->ndrains++] =
				(struct steer_ref){.id = pm->inode, .inode = true};
	}
}

/* Put the state before this command back: the previous policy, or no program at all. */
static int restore(struct ctx *c, struct group *g, const struct guard *gd)
{
	const struct steer_options *saved = c->o;
	struct steer_options o;
	int r;

	if (!gd->prev_policy_set)
		return detach(c, g);
	previous_options(c, g, gd, &o);
	c->o = &o;
	r = apply(c, g, 0);
	c->o = saved;
	return r;
}

int guard_round(struct ctx *c, struct group *g, struct guard *gd)
{
	const struct steer_options *o = c->o;
	uint64_t fallbacks = gd->fallbacks, reasons[STEER_FB_COUNT], drops = new_drops(gd, g);
	char fb[256], why[400];
	double dt = mono_s() - gd->at;

	memcpy(reasons, gd->reasons, sizeof(reasons));
	/* Unreadable, or started over (pins made again): this round starts the count. */
	if (read_fallbacks(g, &fallbacks, reasons) || fallbacks < gd->fallbacks)
		gd->fallbacks = fallbacks;
	fallbacks_str(fallbacks - gd->fallbacks, reasons, gd->reasons, fb, sizeof(fb));
	if (drops > o->guard_drops)
		snprintf(why, sizeof(why), "drops rose by %llu in %.1f s (limit %llu)",
			 (unsigned long long)drops, dt, (unsigned long long)o->guard_drops);
	else if (fallbacks - gd->fallbacks > o->guard_fallbacks)
		snprintf(why, sizeof(why), "%s in %.1f s (limit %llu)", fb, dt,
			 (unsigned long long)o->guard_fallbacks);
	else
		why[0] = '\0';
	gd->fallbacks = fallbacks;
	memcpy(gd->reasons, reasons, sizeof(reasons));
	read_drops(g, gd);
	gd->at = mono_s();
	if (!why[0])
		return GUARD_QUIET;
	printf("%s: guard tripped: %s; restoring %s\n", g->name, why,
	       gd->prev_policy_set ? "the previous policy" : "the kernel's hash");
	fflush(stdout);
	if (restore(c, g, gd))
		return -1;
	printf("%s: guard restored %s%s%s; no longer following\n", g->name,
	       gd->prev_policy_set ? steer_policy_name(gd->prev_policy) : "the kernel's hash",
	       gd->prev_policy_set && gd->prev_shadow ? " in shadow mode" : "",
	       gd->prev_policy_set ? "" : " (program detached)");
	fflush(stdout);
	return GUARD_TRIPPED;
}
