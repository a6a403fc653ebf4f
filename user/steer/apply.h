/* SPDX-License-Identifier: GPL-2.0 */
/* What apply()'s phases share: apply.c runs them, members.c has the members phase. */
#ifndef REUSETOP_STEER_APPLY_H
#define REUSETOP_STEER_APPLY_H

#include "internal.h"
#include "journal.h"

struct apply {
	struct ctx *c;
	struct group *g;
	unsigned long round; /* 0: the command line's; then --follow's rounds */
	struct pinned p; /* the group's pins as they were */
	struct loaded l;
	struct journal j;
	uint32_t policy;
	bool shadow; /* the policy counts its choices, the kernel's hash selects */
	bool ours; /* the group's program is the one the pins describe */
	bool need_builtin, need_custom, want_trackers;
	struct steer_config cfg;
	uint32_t *table; /* weighted's cycle or consistent's lookup table */
	uint32_t gone[STEER_MAX_MEMBERS]; /* slots of pinned members no longer in the group */
	size_t ngone;
	struct member *via; /* the member the program is attached through */
	int progfd; /* the program attached by this call; -1: the group's is kept */
	uint32_t prog_id; /* the group's program once done */
	struct steer_group_info info;
};

/* A journal_* call failed: the change it was to save was not made. Returns -1. */
int fail_to_save(struct apply *a, int err);
/* The policy's configuration (a->cfg, a->table) over the members with a slot that stayed. */
int build_config(struct apply *a);
/* The members phase: members that left taken out, each member at its slot. 0, NOT_FOUND, -1. */
int write_members(struct apply *a);

#endif
