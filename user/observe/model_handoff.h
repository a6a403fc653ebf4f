/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The hand-off part of the data model (observe/model.h): each group's receivers, their rates,
 * shares and waits, its acceptors' handed_off, what is pending, and the imbalance over
 * receivers. Pure computation, like the rest of the model.
 */
#ifndef REUSETOP_MODEL_HANDOFF_H
#define REUSETOP_MODEL_HANDOFF_H

#include "observe/model.h"

/* The previous sample's receivers and the views' storage, kept from one update to the next. */
struct rt_handoff_model {
	struct rt_handoff_sample *prev; /* sorted like rt_sample.handoffs */
	size_t nprev, cap_prev;
	struct rt_handoff_view *views;
	size_t cap_views;
	size_t *group_of; /* per sample: its group's index, or SIZE_MAX */
	size_t cap_group_of;
	uint64_t *counts;
	size_t cap_counts;
};

/* Fill the hand-off fields of groups[0..n) from s. 0 or -ENOMEM. */
int handoff_model_fill(struct rt_handoff_model *hm, const struct rt_sample *s,
		       struct rt_group_view *groups, size_t n, double interval);
/* Remember s's receivers for the next update's rates and waits. */
int handoff_model_save(struct rt_handoff_model *hm, const struct rt_sample *s);
void handoff_model_free(struct rt_handoff_model *hm);

/*
 * How well a connection's local end ep belongs to group g: 2 the same address, 1 g's wildcard
 * address takes it, 0 not g's.
 */
int endpoint_in_group(const struct rt_group_view *g, const struct rt_endpoint *ep);

#endif
