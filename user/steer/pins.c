// SPDX-License-Identifier: GPL-2.0
/*
 * A steered group's pins: its maps, program and tracker links under its folder in bpffs, opened,
 * read and removed; the lock that serialises the steer commands changing them; and the live
 * view's read-only listing of every steered group (steer_read_groups).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "pins.h"
#include "util.h"

const char *const pin_map_names[M_COUNT] = {
	"members",	 "steer_members", "steer_stats", "steer_fallback", "steer_reasons",
	"steer_conf",	 "steer_cur",	  "steer_rr",	 "steer_table",	   "steer_load",
	"steer_slot_of", "steer_cookies", "steer_info",	 "steer_group",
};

const char *const pin_link_names[PIN_NLINKS] = {"link_ready", "link_accept4", "link_accept"};

int pin_path(char *buf, size_t len, const char *dir, const char *name)
{
	int n = snprintf(buf, len, "%s/%s", dir, name);

	return n < 0 || (size_t)n >= len ? -ENAMETOOLONG : 0;
}

void pinned_close(struct pinned *p)
{
	for (int i = 0; i < M_COUNT; i++) {
		if (p->fd[i] >= 0)
			close(p->fd[i]);
		p->fd[i] = -1;
	}
	p->exists = false;
}

int pinned_open(const char *dir, struct pinned *p)
{
	char path[256];
	uint32_t zero = 0;

	memset(p, 0, sizeof(*p));
	for (int i = 0; i < M_COUNT; i++)
		p->fd[i] = -1;
	if (access(dir, F_OK))
		return 0;
	for (int i = 0; i < M_COUNT; i++) {
		if (pin_path(path, sizeof(path), dir, pin_map_names[i]))
			return -ENAMETOOLONG;
		p->fd[i] = bpf_obj_get(path);
		if (p->fd[i] < 0) {
			int err = -errno;

			p->fd[i] = -1;
			pinned_close(p);
			return err;
		}
	}
	if (bpf_map_lookup_elem(p->fd[M_GROUP], &zero, &p->info) ||
	    p->info.magic != STEER_GROUP_MAGIC) {
		pinned_close(p);
		return -EPROTO;
	}
	for (uint32_t s = 0; s < STEER_MAX_MEMBERS; s++)
		if (bpf_map_lookup_elem(p->fd[M_INFO], &s, &p->minfo[s]))
			memset(&p->minfo[s], 0, sizeof(p->minfo[s]));
	p->exists = true;
	if (!pin_path(path, sizeof(path), dir, pin_link_names[0]))
		p->has_links = !access(path, F_OK);
	return 0;
}

void unpin_links(const char *dir)
{
	char path[256];

	for (size_t i = 0; i < PIN_NLINKS; i++)
		if (!pin_path(path, sizeof(path), dir, pin_link_names[i]))
			unlink(path);
}

void unpin_all(const char *dir)
{
	char path[256];

	unpin_links(dir);
	if (!pin_path(path, sizeof(path), dir, "prog"))
		unlink(path);
	for (int i = 0; i < M_COUNT; i++)
		if (!pin_path(path, sizeof(path), dir, pin_map_names[i]))
			unlink(path);
	rmdir(dir);
}

void clear_sockarray(int fd)
{
	for (uint32_t s = 0; s < STEER_MAX_MEMBERS; s++)
		bpf_map_delete_elem(fd, &s);
}

int pins_lock(int *lockfd, const char **step)
{
	int err;

	if (*lockfd >= 0)
		return 0;
	*step = "open";
	*lockfd = open(STEER_PIN_ROOT, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (*lockfd < 0)
		return -errno;
	*step = "lock";
	if (flock(*lockfd, LOCK_EX)) {
		err = -errno;
		pins_unlock(lockfd);
		return err;
	}
	return 0;
}

void pins_unlock(int *lockfd)
{
	if (*lockfd >= 0)
		close(*lockfd);
	*lockfd = -1;
}

int sum_percpu(int fd, uint32_t key, uint64_t *sums, size_t nfields)
{
	int ncpus = libbpf_num_possible_cpus();
	size_t stride = (nfields * sizeof(uint64_t) + 7) & ~(size_t)7;
	uint8_t *vals;

	memset(sums, 0, nfields * sizeof(uint64_t));
	if (ncpus <= 0)
		return -EINVAL;
	vals = calloc((size_t)ncpus, stride);
	if (!vals)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, &key, vals)) {
		free(vals);
		return -errno;
	}
	for (int cpu = 0; cpu < ncpus; cpu++) {
		const uint64_t *v = (const uint64_t *)(vals + (size_t)cpu * stride);

		for (size_t f = 0; f < nfields; f++)
			sums[f] += v[f];
	}
	free(vals);
	return 0;
}

/* ---- for the live view ------------------------------------------------------------------- */

/* The maps the live view reads, by index into pin_map_names[]. */
static const enum pin_map view_maps[] = {M_GROUP, M_INFO, M_STATS, M_FALLBACK, M_REASONS};
enum { V_GROUP, V_INFO, V_STATS, V_FALLBACK, V_REASONS, V_COUNT };

static void read_members(const int *fds, struct steer_group_stats *gs)
{
	for (uint32_t s = 0; s < STEER_MAX_MEMBERS; s++) {
		struct steer_member_stats *ms = &gs->members[gs->nmembers];
		struct steer_member_info mi;
		uint64_t cnt[STEER_COUNTERS];

		if (bpf_map_lookup_elem(fds[V_INFO], &s, &mi) || !(mi.flags & STEER_MEMBER_USED))
			continue;
		sum_percpu(fds[V_STATS], s, cnt, STEER_COUNTERS);
		ms->inode = mi.inode;
		ms->slot = s;
		ms->pid = (int32_t)mi.pid;
		ms->fd = mi.fd;
		ms->weight = mi.weight;
		ms->drained = mi.flags & STEER_MEMBER_DRAINED;
		memcpy(ms->comm, mi.comm, sizeof(ms->comm));
		ms->comm[sizeof(ms->comm) - 1] = '\0';
		ms->selected = cnt[0];
		ms->migrated = cnt[1];
		ms->failed = cnt[2];
		ms->closed = cnt[3];
		ms->refused = cnt[4];
		ms->would_select = cnt[5];
		ms->hashed = cnt[6];
		gs->nmembers++;
	}
}

static int read_group_dir(const char *dir, struct steer_group_stats *gs)
{
	struct steer_group_info info;
	char path[512];
	int fds[V_COUNT], err = 0;
	uint32_t zero = 0;

	for (int i = 0; i < V_COUNT; i++)
		fds[i] = -1;
	for (int i = 0; i < V_COUNT && !err; i++) {
		if (pin_path(path, sizeof(path), dir, pin_map_names[view_maps[i]]))
			err = -ENAMETOOLONG;
		else if ((fds[i] = bpf_obj_get(path)) < 0)
			err = -errno;
	}
	if (!err &&
	    (bpf_map_lookup_elem(fds[V_GROUP], &zero, &info) || info.magic != STEER_GROUP_MAGIC))
		err = -EPROTO;
	if (!err) {
		memset(gs, 0, sizeof(*gs));
		gs->netns = info.netns;
		gs->proto = info.proto;
		gs->family = info.family;
		gs->port = info.port;
		memcpy(gs->addr, info.addr, 16);
		snprintf(gs->policy, sizeof(gs->policy), "%s", steer_policy_name(info.policy));
		gs->prog_id = info.prog_id;
		memcpy(gs->prog_name, info.prog_name, sizeof(gs->prog_name));
		gs->prog_name[sizeof(gs->prog_name) - 1] = '\0';
		gs->shadow = info.shadow;
		sum_percpu(fds[V_FALLBACK], zero, &gs->fallbacks, 1);
		for (uint32_t r = 0; r < STEER_FB_COUNT; r++)
			sum_percpu(fds[V_REASONS], r, &gs->reasons[r], 1);
		read_members(fds, gs);
	}
	for (int i = 0; i < V_COUNT; i++)
		if (fds[i] >= 0)
			close(fds[i]);
	return err;
}

int steer_read_groups(struct steer_group_stats **out, size_t *n)
{
	struct steer_group_stats *all = NULL;
	size_t count = 0, cap = 0;
	struct dirent *de;
	DIR *d;

	*out = NULL;
	*n = 0;
	d = opendir(STEER_PIN_ROOT);
	if (!d)
		return errno == ENOENT ? 0 : -errno;
	while ((de = readdir(d))) {
		char dir[512];

		if (de->d_name[0] == '.')
			continue;
		if (reserve_array(&all, &cap, count + 1, sizeof(*all))) {
			free(all);
			closedir(d);
			return -ENOMEM;
		}
		snprintf(dir, sizeof(dir), "%s/%s", STEER_PIN_ROOT, de->d_name);
		/* A group being set up or removed right now is skipped, not an error. */
		if (!read_group_dir(dir, &all[count]))
			count++;
	}
	closedir(d);
	if (!count) {
		free(all);
		all = NULL;
	}
	*out = all;
	*n = count;
	return 0;
}
