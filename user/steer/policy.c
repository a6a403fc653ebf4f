// SPDX-License-Identifier: GPL-2.0
/*
 * The policies, pure: their names, the tables of weighted (smooth weighted round-robin) and
 * consistent (Maglev), and the configuration a built-in policy gets over the eligible members.
 * No BPF, no I/O: unit tested.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "steer.h"

uint32_t steer_policy_from_name(const char *name)
{
	for (uint32_t i = STEER_POLICY_NONE + 1; name && i < STEER_POLICY_MAX; i++)
		if (!strcmp(name, steer_policy_name(i)))
			return i;
	return STEER_POLICY_NONE;
}

static uint32_t gcd32(uint32_t a, uint32_t b)
{
	while (b) {
		uint32_t t = a % b;

		a = b;
		b = t;
	}
	return a;
}

size_t steer_swrr(const uint32_t *slots, const uint32_t *w, size_t n, uint32_t *out, size_t max)
{
	int64_t current[STEER_MAX_MEMBERS] = {};
	uint64_t total = 0;
	uint32_t g = 0;

	if (n > STEER_MAX_MEMBERS)
		return 0;
	for (size_t i = 0; i < n; i++)
		g = gcd32(g, w[i]);
	if (!g)
		return 0;
	for (size_t i = 0; i < n; i++)
		total += w[i] / g;
	if (total > max)
		return 0;
	/*
	 * Smooth weighted round-robin (nginx): every step each member gains its weight, the
	 * richest is picked (the first on a tie) and pays the total. Over one cycle of `total`
	 * steps every member is picked exactly weight/g times, spread out, not in runs.
	 */
	for (uint64_t k = 0; k < total; k++) {
		size_t best = n;

		for (size_t i = 0; i < n; i++) {
			if (!w[i])
				continue;
			current[i] += w[i] / g;
			if (best == n || current[i] > current[best])
				best = i;
		}
		current[best] -= (int64_t)total;
		out[k] = slots[best];
	}
	return (size_t)total;
}

static uint64_t mix64(uint64_t x)
{
	/* splitmix64's finalizer */
	x += 0x9e3779b97f4a7c15ULL;
	x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ULL;
	x = (x ^ (x >> 27)) * 0x94d049bb133111ebULL;
	return x ^ (x >> 31);
}

void steer_maglev(const uint32_t *slots, size_t n, uint32_t *table)
{
	const uint64_t m = STEER_TABLE_SIZE;
	uint64_t offset[STEER_MAX_MEMBERS], skip[STEER_MAX_MEMBERS], next[STEER_MAX_MEMBERS] = {};
	uint64_t filled = 0;

	if (!n || n > STEER_MAX_MEMBERS)
		return;
	for (uint64_t i = 0; i < m; i++)
		table[i] = UINT32_MAX;
	/*
	 * Maglev (Eisenbud et al., NSDI 2016): each member has its own permutation of the table's
	 * entries, from a hash of its identity (its slot, which it keeps while it lives); members
	 * take turns claiming their next free entry. Removing a member frees only its entries, which
	 * the others claim: other members' flows stay where they were, nearly all of them.
	 */
	for (size_t i = 0; i < n; i++) {
		offset[i] = mix64(0x6d61676c65760001ULL ^ slots[i]) % m;
		skip[i] = mix64(0x6d61676c65760002ULL ^ slots[i]) % (m - 1) + 1;
	}
	for (;;) {
		for (size_t i = 0; i < n; i++) {
			uint64_t c = (offset[i] + next[i] * skip[i]) % m;

			while (table[c] != UINT32_MAX) {
				next[i]++;
				c = (offset[i] + next[i] * skip[i]) % m;
			}
			table[c] = slots[i];
			next[i]++;
			if (++filled == m)
				return;
		}
	}
}

static int cmp_candidate_slot(const void *a, const void *b)
{
	const struct steer_candidate *x = a, *y = b;

	return (x->slot > y->slot) - (x->slot < y->slot);
}

int steer_policy_config(uint32_t policy, const struct steer_candidate *m, size_t n,
			struct steer_config *cfg, uint32_t *table)
{
	struct steer_candidate by_slot[STEER_MAX_MEMBERS];
	uint32_t w[STEER_MAX_MEMBERS];
	size_t eligible = 0;

	memset(cfg, 0, sizeof(*cfg));
	if (n > STEER_MAX_MEMBERS)
		return -E2BIG;
	memcpy(by_slot, m, n * sizeof(*m));
	qsort(by_slot, n, sizeof(by_slot[0]), cmp_candidate_slot);
	for (size_t i = 0; i < n; i++) {
		if (by_slot[i].drained || (policy == STEER_POLICY_WEIGHTED && !by_slot[i].weight))
			continue;
		cfg->slot[eligible] = by_slot[i].slot;
		w[eligible] = by_slot[i].weight;
		eligible++;
	}
	if (!eligible)
		return -ENOENT;
	cfg->n = (uint32_t)eligible;
	if (policy == STEER_POLICY_CUSTOM)
		return 0; /* the user's program reads steer_members: no configuration of ours */
	cfg->policy = policy;
	if (policy == STEER_POLICY_WEIGHTED) {
		cfg->table_len =
			(uint32_t)steer_swrr(cfg->slot, w, eligible, table, STEER_TABLE_SIZE);
		if (!cfg->table_len)
			return -E2BIG;
	} else if (policy == STEER_POLICY_CONSISTENT) {
		steer_maglev(cfg->slot, eligible, table);
		cfg->table_len = STEER_TABLE_SIZE;
	}
	return 0;
}
