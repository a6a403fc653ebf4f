/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A steered group's pinned state under /sys/fs/bpf/reusetop/<proto>-<netns>-<addr>-<port>/: its
 * maps, the program ("prog") and least-loaded's tracker links ("link_*"). Opening, reading,
 * removing and locking them; no process is touched. The live view's reader of pinned groups
 * (steer_read_groups() in steer.h) is here too: this file needs no other of the steer command.
 */
#ifndef REUSETOP_STEER_PINS_H
#define REUSETOP_STEER_PINS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "steer.h"

/* The group's maps, in the order of pin_map_names[]. */
enum pin_map {
	M_MEMBERS,
	M_STEER_MEMBERS,
	M_STATS,
	M_FALLBACK,
	M_REASONS,
	M_CONF,
	M_CUR,
	M_RR,
	M_TABLE,
	M_LOAD,
	M_SLOT_OF,
	M_COOKIES,
	M_INFO,
	M_GROUP,
	M_COUNT,
	M_ABI_COUNT = M_REASONS + 1, /* the custom policy ABI: the first five */
};

#define PIN_NLINKS 3

extern const char *const pin_map_names[M_COUNT];
/* Least-loaded's trackers, pinned as links: sk_data_ready, accept4 and accept. */
extern const char *const pin_link_names[PIN_NLINKS];

/* A group's pinned maps, opened: what they say about the group and each slot. */
struct pinned {
	bool exists;
	int fd[M_COUNT];
	struct steer_group_info info;
	struct steer_member_info minfo[STEER_MAX_MEMBERS];
	bool has_links;
};

/* dir/name in buf: 0, or -ENAMETOOLONG. */
int pin_path(char *buf, size_t len, const char *dir, const char *name);
/* Open the pinned maps of dir: 0 (p->exists says whether there were any), or -errno. */
int pinned_open(const char *dir, struct pinned *p);
void pinned_close(struct pinned *p);

/* Remove the tracker links' pins (the trackers detach when nothing else holds them). */
void unpin_links(const char *dir);
/* Remove a group's pins: links first (their programs detach), then the rest, and the folder. */
void unpin_all(const char *dir);
/* Empty every slot of a socket array, so the sockets can join another one later. */
void clear_sockarray(int fd);

/*
 * One reusetop steer at a time changes pinned state (a --follow loop and a second steer): an
 * exclusive flock on STEER_PIN_ROOT, *lockfd its descriptor (-1 when not held). Returns 0 or
 * -errno, *step naming what failed ("open" or "lock").
 */
int pins_lock(int *lockfd, const char **step);
void pins_unlock(int *lockfd);

/* The u64 fields of struct steer_counters. */
#define STEER_COUNTERS (sizeof(struct steer_counters) / sizeof(uint64_t))

/* The sum over CPUs of nfields u64 counters at key of a per-CPU array. 0 or -errno. */
int sum_percpu(int fd, uint32_t key, uint64_t *sums, size_t nfields);

#endif
