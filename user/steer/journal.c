// SPDX-License-Identifier: GPL-2.0
/*
 * apply()'s undo record: one entry per change, each saying how to put the group back as it was
 * before it. Undo replays the entries newest first, so that a socket leaves our socket array
 * before it goes back to another tool's, and the previous program is attached again before the
 * maps it reads get their old values.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "journal.h"
#include "util.h"

enum undo_kind {
	U_MAP_VALUE, /* write the saved value back, or delete the key */
	U_ARRAY_RANGE, /* write the saved values of a range of array entries back */
	U_LOAD_SLOT, /* store one member's load back in steer_load */
	U_SOCKARRAY, /* put the socket that was at a slot back (from our copy), or empty it */
	U_EVICTED, /* put our socket back in another tool's socket array */
	U_CREATED, /* remove a pin or folder this call made */
	U_UNPINNED, /* pin again what this call unpinned */
	U_LINK, /* detach a tracker link this call attached */
	U_PROGRAM, /* attach the group's previous program again (or detach ours) */
};

struct journal_entry {
	enum undo_kind kind;
	int fd; /* the map (borrowed), or for U_EVICTED/U_UNPINNED/U_PROGRAM one we own */
	int sockfd; /* U_SOCKARRAY: our copy of the socket that was there (-1: none we hold);
		     * U_EVICTED: our socket; U_PROGRAM: the member it is attached through */
	union {
		struct {
			uint8_t key[16];
			void *value; /* NULL: there was no value */
		} map;
		struct {
			uint32_t first, count;
			void *values;
		} range;
		struct {
			uint32_t slot, load;
		} load;
		struct {
			uint32_t slot;
			uint64_t cookie; /* 0: the slot was empty */
		} sock;
		struct {
			char *path;
			bool dir;
		} pin;
		struct bpf_link *link;
		struct {
			uint32_t id; /* the previous program's; 0 with fd < 0: none, or classic */
			bool classic;
			bool keep;
		} prog;
	};
};

void journal_init(struct journal *j)
{
	memset(j, 0, sizeof(*j));
}

/* A new entry of kind k (zeroed, fds -1), or NULL when out of memory. */
static struct journal_entry *push(struct journal *j, enum undo_kind k)
{
	struct journal_entry *e;

	if (reserve_array(&j->e, &j->cap, j->n + 1, sizeof(*j->e)))
		return NULL;
	e = &j->e[j->n++];
	memset(e, 0, sizeof(*e));
	e->kind = k;
	e->fd = -1;
	e->sockfd = -1;
	return e;
}

static size_t value_bytes(const struct bpf_map_info *info)
{
	bool percpu = info->type == BPF_MAP_TYPE_PERCPU_ARRAY ||
		      info->type == BPF_MAP_TYPE_PERCPU_HASH ||
		      info->type == BPF_MAP_TYPE_LRU_PERCPU_HASH;
	int ncpus = libbpf_num_possible_cpus();

	/* Per-CPU values are 8 bytes apart in the buffer, whatever their size. */
	if (!percpu)
		return info->value_size;
	return ncpus > 0 ? (size_t)ncpus * ((info->value_size + 7) & ~7u) : 0;
}

int journal_map_value(struct journal *j, int fd, const void *key)
{
	struct bpf_map_info info = {};
	__u32 len = sizeof(info);
	struct journal_entry *e;
	size_t size;
	void *value;

	if (bpf_obj_get_info_by_fd(fd, &info, &len))
		return -errno;
	size = value_bytes(&info);
	if (!size || info.key_size > sizeof(e->map.key))
		return -EINVAL;
	value = malloc(size);
	if (!value)
		return -ENOMEM;
	if (bpf_map_lookup_elem(fd, key, value)) {
		int err = errno;

		free(value);
		if (err != ENOENT)
			return -err;
		value = NULL;
	}
	e = push(j, U_MAP_VALUE);
	if (!e) {
		free(value);
		return -ENOMEM;
	}
	e->fd = fd;
	memcpy(e->map.key, key, info.key_size);
	e->map.value = value;
	return 0;
}

int journal_put(struct journal *j, int fd, const void *key, const void *value)
{
	int err = journal_map_value(j, fd, key);

	if (err)
		return err;
	return bpf_map_update_elem(fd, key, value, BPF_ANY) ? -errno : 0;
}

int journal_delete(struct journal *j, int fd, const void *key)
{
	int err = journal_map_value(j, fd, key);

	if (err)
		return err;
	return bpf_map_delete_elem(fd, key) && errno != ENOENT ? -errno : 0;
}

int journal_array_range(struct journal *j, int fd, uint32_t first, uint32_t count)
{
	LIBBPF_OPTS(bpf_map_batch_opts, opts);
	struct journal_entry *e = NULL;
	uint32_t *keys, in = first - 1, out, n = count;
	void *values;
	int err = 0;

	if (!count)
		return 0;
	keys = calloc(count, sizeof(*keys));
	values = calloc(count, sizeof(uint32_t));
	if (!keys || !values) {
		err = -ENOMEM;
		goto out;
	}
	/* A batch starts after the key given (at the first entry with none). */
	if (bpf_map_lookup_batch(fd, first ? &in : NULL, &out, keys, values, &n, &opts) &&
	    errno != ENOENT)
		err = -errno;
	else if (n != count || keys[0] != first)
		err = -EIO;
	else if (!(e = push(j, U_ARRAY_RANGE)))
		err = -ENOMEM;
	if (err)
		goto out;
	e->fd = fd;
	e->range.first = first;
	e->range.count = count;
	e->range.values = values;
	values = NULL;
out:
	free(keys);
	free(values);
	return err;
}

/* steer_load's value, mapped (it is one page or less at the start of its mapping). */
static struct steer_loads *map_loads(int fd)
{
	void *p = mmap(NULL, (size_t)sysconf(_SC_PAGESIZE), PROT_READ | PROT_WRITE, MAP_SHARED, fd,
		       0);

	return p == MAP_FAILED ? NULL : p;
}

int journal_load_slot(struct journal *j, int fd, uint32_t slot)
{
	struct steer_loads *loads;
	struct journal_entry *e;

	if (slot >= STEER_MAX_MEMBERS)
		return -EINVAL;
	if (!(loads = map_loads(fd)))
		return -errno;
	e = push(j, U_LOAD_SLOT);
	if (e) {
		e->fd = fd;
		e->load.slot = slot;
		e->load.load = __atomic_load_n(&loads->load[slot], __ATOMIC_RELAXED);
	}
	munmap(loads, (size_t)sysconf(_SC_PAGESIZE));
	return e ? 0 : -ENOMEM;
}

int journal_sockarray(struct journal *j, int fd, uint32_t slot, const struct group *g)
{
	struct journal_entry *e;
	uint64_t cookie = 0;
	int sockfd = -1;

	if (bpf_map_lookup_elem(fd, &slot, &cookie)) {
		if (errno != ENOENT)
			return -errno;
		cookie = 0;
	}
	for (size_t i = 0; cookie && i < g->n && sockfd < 0; i++)
		if (g->m[i].cookie == cookie)
			sockfd = g->m[i].dupfd;
	if (!(e = push(j, U_SOCKARRAY)))
		return -ENOMEM;
	e->fd = fd;
	e->sockfd = sockfd;
	e->sock.slot = slot;
	e->sock.cookie = cookie;
	return 0;
}

int journal_evicted(struct journal *j, int fd, uint32_t key, int sockfd)
{
	struct journal_entry *e;
	int own = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (own < 0)
		return -errno;
	if (!(e = push(j, U_EVICTED))) {
		close(own);
		return -ENOMEM;
	}
	e->fd = own;
	e->sockfd = sockfd;
	e->sock.slot = key;
	return 0;
}

int journal_created(struct journal *j, const char *path, bool dir)
{
	struct journal_entry *e;
	char *copy = strdup(path);

	if (!copy || !(e = push(j, U_CREATED))) {
		free(copy);
		return -ENOMEM;
	}
	e->pin.path = copy;
	e->pin.dir = dir;
	return 0;
}

int journal_unpin(struct journal *j, const char *path)
{
	struct journal_entry *e;
	char *copy;
	int fd = bpf_obj_get(path), err;

	if (fd < 0)
		return errno == ENOENT ? 0 : -errno;
	copy = strdup(path);
	if (!copy || !(e = push(j, U_UNPINNED))) {
		free(copy);
		close(fd);
		return -ENOMEM;
	}
	e->fd = fd;
	e->pin.path = copy;
	if (unlink(path)) {
		err = -errno;
		free(copy);
		close(fd);
		j->n--;
		return err;
	}
	return 0;
}

int journal_link(struct journal *j, struct bpf_link *link)
{
	struct journal_entry *e = push(j, U_LINK);

	if (!e)
		return -ENOMEM;
	e->link = link;
	return 0;
}

int journal_program(struct journal *j, int sockfd, const struct group *g)
{
	struct journal_entry *e;
	int fd = -1;

	if (g->has_prog && g->prog_id && (fd = bpf_prog_get_fd_by_id(g->prog_id)) < 0)
		return -errno;
	if (!(e = push(j, U_PROGRAM))) {
		if (fd >= 0)
			close(fd);
		return -ENOMEM;
	}
	e->fd = fd;
	e->sockfd = sockfd;
	e->prog.id = g->prog_id;
	e->prog.classic = g->has_prog && !g->prog_id;
	return 0;
}

void journal_keep_program(struct journal *j)
{
	for (size_t i = j->n; i-- > 0;)
		if (j->e[i].kind == U_PROGRAM) {
			j->e[i].prog.keep = true;
			return;
		}
}

/* ---- undo and commit --------------------------------------------------------------------- */

static void note(char *notes, size_t len, const char *fmt, ...)
{
	size_t used = strlen(notes);
	va_list ap;

	if (used && used + 2 < len) {
		memcpy(notes + used, "; ", 3);
		used += 2;
	}
	va_start(ap, fmt);
	vsnprintf(notes + used, len - used, fmt, ap);
	va_end(ap);
}

static int undo_array_range(const struct journal_entry *e)
{
	uint32_t *keys = calloc(e->range.count, sizeof(*keys));
	__u32 count = e->range.count;
	int err = 0;

	if (!keys)
		return -ENOMEM;
	for (uint32_t i = 0; i < e->range.count; i++)
		keys[i] = e->range.first + i;
	if (bpf_map_update_batch(e->fd, keys, e->range.values, &count, NULL))
		err = -errno;
	free(keys);
	return err;
}

static int undo_load_slot(const struct journal_entry *e)
{
	struct steer_loads *loads = map_loads(e->fd);

	if (!loads)
		return -errno;
	__atomic_store_n(&loads->load[e->load.slot], e->load.load, __ATOMIC_RELAXED);
	munmap(loads, (size_t)sysconf(_SC_PAGESIZE));
	return 0;
}

/* The socket that was at the slot, back in it (when it is not there already). */
static int undo_sockarray(const struct journal_entry *e, char *notes, size_t len)
{
	uint64_t now = 0, sock = (uint64_t)e->sockfd;

	if (bpf_map_lookup_elem(e->fd, &e->sock.slot, &now))
		now = 0;
	if (now == e->sock.cookie)
		return 0;
	if (!e->sock.cookie)
		return bpf_map_delete_elem(e->fd, &e->sock.slot) && errno != ENOENT ? -errno : 0;
	if (e->sockfd < 0) {
		note(notes, len, "the socket at slot %u (cookie %llu) is not one reusetop holds",
		     e->sock.slot, (unsigned long long)e->sock.cookie);
		return 0;
	}
	return bpf_map_update_elem(e->fd, &e->sock.slot, &sock, BPF_ANY) ? -errno : 0;
}

static int undo_program(const struct journal_entry *e, char *notes, size_t len)
{
	int err;

	if (e->prog.keep)
		return 0;
	if (e->fd >= 0)
		return attach_prog(e->sockfd, e->fd);
	err = detach_prog(e->sockfd);
	if (e->prog.classic)
		note(notes, len,
		     "the classic BPF program it replaced has no id and cannot be put back: "
		     "the group has no program now");
	return err == -ENOENT ? 0 : err;
}

#ifdef RT_FAULT_INJECTION
/*
 * The sanitized test build only: REUSETOP_SKIP_UNDO=KIND leaves changes of that kind undone, so
 * that the tests can show their checks catch a broken undo.
 */
static bool undo_skipped(enum undo_kind k)
{
	static const char *const names[] = {
		[U_MAP_VALUE] = "map-value", [U_ARRAY_RANGE] = "array-range",
		[U_LOAD_SLOT] = "load-slot", [U_SOCKARRAY] = "sockarray",
		[U_EVICTED] = "evicted",     [U_CREATED] = "created",
		[U_UNPINNED] = "unpinned",   [U_LINK] = "link",
		[U_PROGRAM] = "program",
	};
	const char *skip = getenv("REUSETOP_SKIP_UNDO");

	return skip && !strcmp(skip, names[k]);
}
#else
static bool undo_skipped(enum undo_kind k)
{
	(void)k;
	return false;
}
#endif

static const char *const kind_names[] = {
	[U_MAP_VALUE] = "a map value",
	[U_ARRAY_RANGE] = "a table",
	[U_LOAD_SLOT] = "a member's load",
	[U_SOCKARRAY] = "a member slot",
	[U_EVICTED] = "a socket to another socket array",
	[U_CREATED] = "a pin",
	[U_UNPINNED] = "a pin",
	[U_LINK] = "a load tracker",
	[U_PROGRAM] = "the previous program",
};

/* Undo one entry: 0 or -errno (what could not be undone for a known reason goes to notes). */
static int undo_entry(struct journal_entry *e, char *notes, size_t len)
{
	uint64_t sock = (uint64_t)e->sockfd;

	switch (e->kind) {
	case U_MAP_VALUE:
		if (e->map.value)
			return bpf_map_update_elem(e->fd, e->map.key, e->map.value, BPF_ANY)
				       ? -errno
				       : 0;
		return bpf_map_delete_elem(e->fd, e->map.key) && errno != ENOENT ? -errno : 0;
	case U_ARRAY_RANGE:
		return undo_array_range(e);
	case U_LOAD_SLOT:
		return undo_load_slot(e);
	case U_SOCKARRAY:
		return undo_sockarray(e, notes, len);
	case U_EVICTED:
		return bpf_map_update_elem(e->fd, &e->sock.slot, &sock, BPF_ANY) ? -errno : 0;
	case U_CREATED:
		return (e->pin.dir ? rmdir(e->pin.path) : unlink(e->pin.path)) && errno != ENOENT
			       ? -errno
			       : 0;
	case U_UNPINNED:
		return bpf_obj_pin(e->fd, e->pin.path) ? -errno : 0;
	case U_LINK:
		bpf_link__destroy(e->link);
		e->link = NULL;
		return 0;
	case U_PROGRAM:
		return undo_program(e, notes, len);
	}
	return 0;
}

/* Release what entry e holds (its change kept or undone). */
static void release(struct journal_entry *e)
{
	switch (e->kind) {
	case U_MAP_VALUE:
		free(e->map.value);
		break;
	case U_ARRAY_RANGE:
		free(e->range.values);
		break;
	case U_CREATED:
	case U_UNPINNED:
		free(e->pin.path);
		break;
	case U_LINK:
		/* Kept: the pin holds the link; our handle must not detach it. */
		if (e->link)
			bpf_link__disconnect(e->link);
		bpf_link__destroy(e->link);
		break;
	default:
		break;
	}
	if (e->kind == U_EVICTED || e->kind == U_UNPINNED || e->kind == U_PROGRAM)
		if (e->fd >= 0)
			close(e->fd);
}

void journal_undo(struct journal *j, char *notes, size_t len)
{
	notes[0] = '\0';
	for (size_t i = j->n; i-- > 0;) {
		struct journal_entry *e = &j->e[i];
		int err = undo_skipped(e->kind) ? 0 : undo_entry(e, notes, len);

		if (err)
			note(notes, len, "failed to put back %s: %s", kind_names[e->kind],
			     strerror(-err));
		release(e);
	}
	free(j->e);
	journal_init(j);
}

void journal_commit(struct journal *j)
{
	for (size_t i = 0; i < j->n; i++)
		release(&j->e[i]);
	free(j->e);
	journal_init(j);
}
