/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * Direct-mapped fronts of the hash maps looked up on every connection (sock_counters by the
 * enqueue, acceptors by the accept). A hash lookup is a call that hashes the key, walks a bucket
 * and compares the key, on lines the traffic in between has evicted; an array's lookup is a few
 * inlined instructions. So a key's counters live in its slot of an array (rt_front_slot) when
 * the key took the slot as it was created, and in the hash map otherwise (the slot was taken).
 * A key never moves between the two, and user space reads both (user/observe/front.c).
 *
 * Taking a slot is inserting its number into the front's claims map with BPF_NOEXIST: the one
 * atomic step every supported kernel has (5.10 has no compare-and-exchange). The winner then
 * writes the key into the slot's owner. User space frees a slot when its key goes: it zeroes the
 * values, clears the owner, then deletes the claim, so that the next owner starts from zero.
 */
#ifndef REUSETOP_FRONT_BPF_H
#define REUSETOP_FRONT_BPF_H

#include <bpf/bpf_helpers.h>
#include "reusetop.h"

/* Slot `slot` of a front whose claims map is `claims`: true when this caller took it. */
static __always_inline bool front_claim(void *claims, __u32 slot)
{
	__u8 one = 1;

	return !bpf_map_update_elem(claims, &slot, &one, BPF_NOEXIST);
}

/* Fronts keyed like acceptors (struct rt_acceptor_key): does key own slot (owners' entry)? */
static __always_inline bool front_task_owns(void *owners, __u32 slot,
					    const struct rt_acceptor_key *key)
{
	struct rt_acceptor_key *o = bpf_map_lookup_elem(owners, &slot);

	return o && o->inode == key->inode && o->tgid == key->tgid && o->tid == key->tid;
}

/* Slot `slot` claimed when free: its owner entry, for front_task_own(); NULL when taken. */
static __always_inline struct rt_acceptor_key *front_task_claim(void *owners, void *claims,
								__u32 slot)
{
	struct rt_acceptor_key *o = bpf_map_lookup_elem(owners, &slot);

	return o && !o->inode && front_claim(claims, slot) ? o : NULL;
}

/* A claimed slot's owner set to key once its value is ready: the inode last, so that lookups
 * and user space see the whole key or none of it. */
static __always_inline void front_task_own(struct rt_acceptor_key *o,
					   const struct rt_acceptor_key *key)
{
	o->tgid = key->tgid;
	o->tid = key->tid;
	o->inode = key->inode;
}

#endif
