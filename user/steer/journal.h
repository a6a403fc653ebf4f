/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The undo record of one apply(): every change to the group's state is recorded, before it is
 * made, with what puts it back (the value it overwrites, the pin it removes, the program it
 * replaces). journal_undo() replays the record backwards; journal_commit() forgets it. A
 * journal_* call that fails records nothing: the caller must not make the change.
 */
#ifndef REUSETOP_STEER_JOURNAL_H
#define REUSETOP_STEER_JOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct bpf_link;
struct group;
struct journal_entry;

struct journal {
	struct journal_entry *e;
	size_t n, cap;
};

void journal_init(struct journal *j);

/*
 * Before writing or deleting the value at key of map fd (any map but a socket array): its value
 * now, written back on undo (deleted when there was none). 0 or -errno.
 */
int journal_map_value(struct journal *j, int fd, const void *key);
/* The value at key of map fd written (put) or deleted (absent is fine), saved first. -errno. */
int journal_put(struct journal *j, int fd, const void *key, const void *value);
int journal_delete(struct journal *j, int fd, const void *key);
/* Before changing entries [first, first + count) of array fd: their values now. */
int journal_array_range(struct journal *j, int fd, uint32_t first, uint32_t count);
/* Before changing steer_load's entry for slot (in place, through its mapping: trackers write). */
int journal_load_slot(struct journal *j, int fd, uint32_t slot);
/*
 * Before changing slot of socket array fd: the socket there now. Undo puts it back from our copy
 * of it (a member of g, found by its cookie), or empties the slot when it was empty.
 */
int journal_sockarray(struct journal *j, int fd, uint32_t slot, const struct group *g);
/* Before taking socket sockfd (ours) out of slot `key` of another tool's socket array fd. */
int journal_evicted(struct journal *j, int fd, uint32_t key, int sockfd);

/* After creating a pin or a folder (dir) at path: removed on undo. */
int journal_created(struct journal *j, const char *path, bool dir);
/*
 * Remove the pin at path (none there: nothing to do), holding what it pinned: pinned again on
 * undo, released on commit. 0 or -errno.
 */
int journal_unpin(struct journal *j, const char *path);
/* After attaching link: destroyed on undo (it detaches); on commit, left to its pin. */
int journal_link(struct journal *j, struct bpf_link *link);

/*
 * Before attaching a program to group g through member socket sockfd: a descriptor of the
 * program g has now (by its id), re-attached on undo; with no program, undo detaches ours; a
 * classic BPF program has no id and cannot be put back: undo detaches and says so.
 */
int journal_program(struct journal *j, int sockfd, const struct group *g);
/* Another tool attached after us: undo leaves the group's program alone. */
void journal_keep_program(struct journal *j);

/*
 * Undo every change, newest first. What could not be put back is described in notes ("" when
 * everything was).
 */
void journal_undo(struct journal *j, char *notes, size_t len);
/* Keep every change; release what the journal held. */
void journal_commit(struct journal *j);

#endif
