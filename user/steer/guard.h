/* SPDX-License-Identifier: GPL-2.0 */
/*
 * --guard (with --follow): the state of the group before this command, kept to be put back, and
 * the group's drops and fallbacks read every round; when they rise above the user's limits the
 * guard restores that state (the previous reusetop policy with its mode, weights and drains, or
 * the kernel's hash) by itself and says why.
 */
#ifndef REUSETOP_STEER_GUARD_H
#define REUSETOP_STEER_GUARD_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "internal.h"

struct guard_member {
	uint64_t inode;
	uint32_t weight;
	bool drained;
};

struct guard_drops {
	uint64_t inode;
	int64_t drops; /* -1: unknown */
};

struct guard {
	/* Before this command: a reusetop policy (else no program: the kernel's hash). */
	bool prev_policy_set;
	uint32_t prev_policy;
	bool prev_shadow;
	char prev_object[256];
	char prev_program[16];
	struct guard_member prev[STEER_MAX_MEMBERS];
	size_t nprev;
	/* The last round's readings. */
	uint64_t fallbacks;
	uint64_t reasons[STEER_FB_COUNT];
	struct guard_drops drops[STEER_MAX_MEMBERS];
	size_t ndrops;
	double at; /* mono_s() of the readings */
};

/* Before the first apply: what to put back. Fails (c->err) when it could not be put back. */
int guard_capture(struct ctx *c, const struct group *g, struct guard *gd);
/* After the first apply: the readings the first round compares with. */
void guard_start(struct ctx *c, const struct group *g, struct guard *gd);

enum { GUARD_QUIET = 0, GUARD_TRIPPED = 2 }; /* 2: never apply()'s NOT_FOUND */

/*
 * A --follow round's check, after its apply (g's members still held): GUARD_QUIET, or
 * GUARD_TRIPPED once the previous state is back (said on stdout), or -1 when restoring failed.
 */
int guard_round(struct ctx *c, struct group *g, struct guard *gd);

#endif
