// SPDX-License-Identifier: GPL-2.0
/*
 * apply()'s members phase: the slots of members that left emptied, then each member's socket at
 * its slot of the group's REUSEPORT_SOCKARRAY (taken out of another tool's with --force), its
 * counters and load reset when it is new, and who it is in steer_slot_of and steer_info. Every
 * change goes through the journal first.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "apply.h"
#include "util.h"

/* Empty slot s of the socket array, saved first. */
static int drop_socket(struct apply *a, uint32_t s)
{
	int err = journal_sockarray(&a->j, a->l.fd[M_MEMBERS], s, a->g);

	if (err)
		return err;
	return bpf_map_delete_elem(a->l.fd[M_MEMBERS], &s) && errno != ENOENT ? -errno : 0;
}

/*
 * Cookie -> slot also in the direct-mapped steer_cookies (slot < 0: emptied), where the entry
 * is free or holds no member of the group any more (cookies are never reused); else the BPF side
 * finds the member in steer_slot_of. 0 or -errno.
 */
static int cache_cookie(struct apply *a, uint64_t cookie, int slot)
{
	uint32_t key = (uint32_t)cookie & (STEER_COOKIE_CACHE - 1);
	struct steer_cookie_slot e = {}, now = {};

	if (bpf_map_lookup_elem(a->l.fd[M_COOKIES], &key, &now))
		return -errno;
	if (slot < 0) {
		/* Only this member's entry is emptied. */
		return now.cookie == cookie ? journal_put(&a->j, a->l.fd[M_COOKIES], &key, &e) : 0;
	}
	if (now.cookie == cookie && now.slot == (uint32_t)slot)
		return 0;
	for (size_t i = 0; now.cookie && now.cookie != cookie && i < a->g->n; i++)
		if (a->g->m[i].cookie == now.cookie && !a->g->m[i].left)
			return 0;
	e.cookie = cookie;
	e.slot = (uint32_t)slot;
	return journal_put(&a->j, a->l.fd[M_COOKIES], &key, &e);
}

/* Slot s and its member (inode, cookie) forgotten: socket array, slot_of, steer_info. */
static int forget_slot(struct apply *a, uint32_t s, uint64_t inode, uint64_t cookie)
{
	const struct steer_member_info empty = {};
	int err;

	if ((err = drop_socket(a, s)) ||
	    (err = journal_delete(&a->j, a->l.fd[M_SLOT_OF], &cookie)) ||
	    (err = cache_cookie(a, cookie, -1)) ||
	    (err = journal_put(&a->j, a->l.fd[M_INFO], &s, &empty)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to remove member %llu from slot %u: %s",
			    (unsigned long long)inode, s, strerror(-err));
	return 0;
}

/*
 * A socket can be in one REUSEPORT_SOCKARRAY only. With --force, take ours out of the others
 * (another tool's, whose program we are replacing): their lookups return socket cookies.
 * Returns how many entries were taken out (each saved first, to go back on undo).
 */
static int evict_from_other_sockarrays(struct apply *a, const struct member *m)
{
	int our_fd = a->l.fd[M_MEMBERS];
	uint32_t id = 0, our_id = 0;
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	int evicted = 0;

	if (!bpf_obj_get_info_by_fd(our_fd, &info, &len))
		our_id = info.id;
	while (!bpf_map_get_next_id(id, &id)) {
		int fd = bpf_map_get_fd_by_id(id);

		if (fd < 0)
			continue;
		memset(&info, 0, sizeof(info));
		len = sizeof(info);
		if (!bpf_obj_get_info_by_fd(fd, &info, &len) &&
		    info.type == BPF_MAP_TYPE_REUSEPORT_SOCKARRAY && info.id != our_id &&
		    info.value_size == sizeof(uint64_t)) {
			for (uint32_t k = 0; k < info.max_entries; k++) {
				uint64_t v;

				if (!bpf_map_lookup_elem(fd, &k, &v) && v == m->cookie &&
				    !journal_evicted(&a->j, fd, k, m->dupfd) &&
				    !bpf_map_delete_elem(fd, &k))
					evicted++;
			}
		}
		close(fd);
	}
	return evicted;
}

/*
 * Put member m's socket at its slot (unless it is there already). 0, 1 when the socket left the
 * group since the scan (its owner closed it: it is no longer hashed), or -1.
 */
static int insert_member(struct apply *a, struct member *m)
{
	int fd = a->l.fd[M_MEMBERS], err;
	uint32_t slot = (uint32_t)m->slot;
	uint64_t cur = 0, sock = (uint64_t)m->dupfd;

	if (!bpf_map_lookup_elem(fd, &slot, &cur) && cur == m->cookie)
		return 0;
	if ((err = journal_sockarray(&a->j, fd, slot, a->g)))
		return fail_to_save(a, err);
	if (!bpf_map_update_elem(fd, &slot, &sock, BPF_ANY))
		return 0;
	err = errno;
	if (err == EINVAL && !still_member(a->c, a->g, m))
		return 1;
	if (err == EBUSY && a->c->o->force && evict_from_other_sockarrays(a, m) > 0) {
		/* Saved again after the evictions: undone before them, it frees the socket. */
		if ((err = journal_sockarray(&a->j, fd, slot, a->g)))
			return fail_to_save(a, err);
		err = bpf_map_update_elem(fd, &slot, &sock, BPF_ANY) ? errno : 0;
	}
	if (!err)
		return 0;
	if (err == EBUSY)
		return fail(a->c, RT_EXIT_USAGE,
			    "socket %llu of %s is already in another program's "
			    "REUSEPORT_SOCKARRAY%s",
			    (unsigned long long)m->inode, a->g->name,
			    a->c->o->force ? " that reusetop could not find"
					   : ": --force takes it");
	return fail(a->c, RT_EXIT_RUNTIME, "failed to put socket %llu in the member map: %s",
		    (unsigned long long)m->inode, strerror(err));
}

/*
 * A new member's counters and load start at 0, whatever the slot's last member left. The load
 * is written in place through a mapping of steer_load: rewriting the whole value would put back
 * the loads of the other members as they were when read, undoing what the trackers wrote.
 */
static int reset_slot(struct apply *a, uint32_t s)
{
	int ncpus = libbpf_num_possible_cpus();
	size_t len = (size_t)sysconf(_SC_PAGESIZE);
	struct steer_loads *loads;
	void *zeros;
	int err;

	_Static_assert(sizeof(struct steer_loads) <= 4096, "steer_loads: one page");
	if (ncpus <= 0)
		return -EINVAL;
	zeros = calloc((size_t)ncpus, (sizeof(struct steer_counters) + 7) & ~(size_t)7);
	if (!zeros)
		return -ENOMEM;
	err = journal_put(&a->j, a->l.fd[M_STATS], &s, zeros);
	free(zeros);
	if (err || (err = journal_load_slot(&a->j, a->l.fd[M_LOAD], s)))
		return err;
	loads = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, a->l.fd[M_LOAD], 0);
	if (loads == MAP_FAILED)
		return -errno;
	__atomic_store_n(&loads->load[s], 0, __ATOMIC_RELAXED);
	munmap(loads, len);
	return 0;
}

/* Member m at its slot, and who it is (slot_of, steer_info). 0, 1 when it left, or -1. */
static int write_member(struct apply *a, struct member *m)
{
	uint32_t s = (uint32_t)m->slot;
	struct steer_member_info mi = {
		.inode = m->inode,
		.cookie = m->cookie,
		.pid = (uint32_t)m->pid,
		.fd = m->fd,
		.weight = m->weight,
		.flags = STEER_MEMBER_USED | (m->drained ? STEER_MEMBER_DRAINED : 0),
	};
	int err;

	memcpy(mi.comm, m->comm, sizeof(mi.comm));
	if (m->added && (err = reset_slot(a, s)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to reset the counters of slot %u: %s", s,
			    strerror(-err));
	if ((err = insert_member(a, m)) != 0)
		return err;
	if ((err = journal_put(&a->j, a->l.fd[M_SLOT_OF], &m->cookie, &s)) ||
	    (err = cache_cookie(a, m->cookie, (int)s)) ||
	    (err = journal_put(&a->j, a->l.fd[M_INFO], &s, &mi)))
		return fail(a->c, RT_EXIT_RUNTIME, "failed to record member %llu: %s",
			    (unsigned long long)m->inode, strerror(-err));
	return 0;
}

int write_members(struct apply *a)
{
	struct group *g = a->g;
	bool any_left = false;
	int r;

	for (size_t i = 0; i < a->ngone; i++)
		if (forget_slot(a, a->gone[i], a->p.minfo[a->gone[i]].inode,
				a->p.minfo[a->gone[i]].cookie))
			return -1;
	for (size_t i = 0; i < g->n; i++) {
		struct member *m = &g->m[i];

		if ((r = write_member(a, m)) < 0)
			return -1;
		if (r > 0) {
			/* Closed meanwhile: left out (the next round forgets it for good). */
			m->left = any_left = true;
			if (forget_slot(a, (uint32_t)m->slot, m->inode, m->cookie))
				return -1;
		} else if (!a->via) {
			a->via = m;
		}
	}
	if (!a->via) {
		/* Following, the server is stopping or restarting: the next round will tell. */
		if (a->round)
			return NOT_FOUND;
		return fail(a->c, RT_EXIT_RUNTIME,
			    "%s: every member closed while reusetop set it up", g->name);
	}
	return any_left ? build_config(a) : 0;
}
