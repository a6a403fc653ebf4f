/* SPDX-License-Identifier: GPL-2.0 */
/*
 * What is left of tasks that exited: counters are cumulative since reusetop attached, for tasks
 * too. A task found exited is kept with its final counts, listed as exited for a retention
 * period; after it, its counts fold into one row per listener (pid 0, tid 0, `tasks` of them).
 * So the rows of a listener always add up to everything its tasks did. Pure: no BPF, no /proc.
 */
#ifndef REUSETOP_RETENTION_H
#define REUSETOP_RETENTION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/model.h"

struct rt_retention;

int retention_new(struct rt_retention **out, double keep_s);
void retention_free(struct rt_retention *r);
/* Task a exited (found gone at now, CLOCK_MONOTONIC seconds): keep its final counts. */
int retention_add(struct rt_retention *r, const struct rt_acceptor_sample *a, double now);
/* Fold the tasks kept for keep_s or longer into their listener's folded row. */
int retention_expire(struct rt_retention *r, double now);
/* Forget everything about listeners for which gone(inode, arg) is true. */
void retention_forget(struct rt_retention *r, bool (*gone)(uint64_t inode, void *arg), void *arg);
/*
 * The rows to add to a sample, exited: exited tasks (tasks 1) and folded rows (pid 0, tid 0),
 * in no particular order; valid until the next call that changes r.
 */
const struct rt_acceptor_sample *retention_rows(const struct rt_retention *r, size_t *n);

#endif
