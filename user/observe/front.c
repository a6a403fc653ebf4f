// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <bpf/bpf.h>
#include <linux/types.h>

#include "observe/front.h"
#include "reusetop.h"

int front_init(struct rt_front *f, int owner_fd, int values_fd, int claims_fd, size_t key_size,
	       size_t value_size)
{
	*f = (struct rt_front){.owner_fd = owner_fd,
			       .values_fd = values_fd,
			       .claims_fd = claims_fd,
			       .key_size = key_size,
			       .value_size = value_size};
	f->slots = calloc(RT_FRONT_SLOTS, sizeof(*f->slots));
	f->owners = calloc(RT_FRONT_SLOTS, key_size);
	f->value = calloc(1, value_size);
	f->zero = calloc(1, value_size > key_size ? value_size : key_size);
	if (!f->slots || !f->owners || !f->value || !f->zero) {
		front_release(f);
		return -ENOMEM;
	}
	return 0;
}

void front_release(struct rt_front *f)
{
	free(f->slots);
	free(f->owners);
	free(f->value);
	free(f->zero);
	f->slots = NULL;
	f->owners = f->value = f->zero = NULL;
}

static uint64_t owner_inode(const void *owner)
{
	uint64_t inode;

	memcpy(&inode, owner, sizeof(inode));
	return inode;
}

/*
 * The owners in one batch, then each taken slot's value: a slot taken after its owner was read
 * counts from the next read on, as a map entry created then would.
 */
int front_each(struct rt_front *f, struct rt_collector *c,
	       int (*fn)(struct rt_collector *c, const void *key, const void *value))
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	__u32 count = RT_FRONT_SLOTS, out_batch;
	int err;

	err = bpf_map_lookup_batch(f->owner_fd, NULL, &out_batch, f->slots, f->owners, &count,
				   &opts);
	if (err && errno != ENOENT)
		return -errno;
	for (__u32 i = 0; i < count; i++) {
		const void *owner = (const char *)f->owners + i * f->key_size;

		if (!owner_inode(owner))
			continue;
		if (bpf_map_lookup_elem(f->values_fd, &f->slots[i], f->value))
			return -errno;
		if ((err = fn(c, owner, f->value)))
			return err;
	}
	return 0;
}

int front_take(struct rt_front *f, const void *key, uint32_t slot, void *value)
{
	void *owner = (char *)f->owners + (size_t)slot * f->key_size; /* scratch */

	if (slot >= RT_FRONT_SLOTS || bpf_map_lookup_elem(f->owner_fd, &slot, owner) ||
	    memcmp(owner, key, f->key_size))
		return 0;
	if (value && bpf_map_lookup_elem(f->values_fd, &slot, value))
		return -errno;
	/* Values first, the claim last: whoever takes the slot next finds it zeroed. */
	if (bpf_map_update_elem(f->values_fd, &slot, f->zero, BPF_ANY) ||
	    bpf_map_update_elem(f->owner_fd, &slot, f->zero, BPF_ANY))
		return -errno;
	bpf_map_delete_elem(f->claims_fd, &slot);
	return 1;
}
