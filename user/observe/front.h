/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The direct-mapped fronts of BPF's sock_counters and acceptors maps (bpf/front.bpf.h), from user
 * space: every taken slot read like a map entry, and a key's slot freed when the key goes, so
 * that the next owner starts from zero.
 */
#ifndef REUSETOP_FRONT_H
#define REUSETOP_FRONT_H

#include <stddef.h>
#include <stdint.h>

struct rt_collector;

struct rt_front {
	int owner_fd, values_fd, claims_fd;
	size_t key_size; /* an owner is the key; its first 8 bytes, an inode, are 0 while free */
	size_t value_size; /* one slot's value: every CPU's, for a per-CPU front */
	uint32_t *slots; /* RT_FRONT_SLOTS: batch keys */
	void *owners; /* RT_FRONT_SLOTS keys, read at each front_each() */
	void *value; /* one slot's value */
	void *zero; /* value_size zero bytes, and key_size */
};

/* A front whose maps are these fds; 0 or -ENOMEM. */
int front_init(struct rt_front *f, int owner_fd, int values_fd, int claims_fd, size_t key_size,
	       size_t value_size);
void front_release(struct rt_front *f);
/* Each taken slot's key and value to fn, like a map's entries; 0, fn's error or -errno. */
int front_each(struct rt_front *f, struct rt_collector *c,
	       int (*fn)(struct rt_collector *c, const void *key, const void *value));
/*
 * When key holds its slot (rt_front_slot), the slot's value into value (unless NULL) and the
 * slot freed: 1; 0 when key holds no slot.
 */
int front_take(struct rt_front *f, const void *key, uint32_t slot, void *value);

#endif
