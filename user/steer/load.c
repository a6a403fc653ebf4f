// SPDX-License-Identifier: GPL-2.0
/*
 * Loading what a steer command attaches: the built-in object (bpf/steer.bpf.c, its maps the
 * group's pinned ones when they exist) with the programs asked for, or a user's --object whose
 * custom policy ABI maps are replaced by the group's before it is loaded.
 */
#include <errno.h>
#include <string.h>

#include <bpf/bpf.h>
#include <bpf/libbpf.h>

#include "internal.h"
#include "kernel.h"
#include "setup.h"
#include "steer.skel.h"
#include "util.h"

static struct bpf_map *skel_map(struct steer_bpf *s, int i)
{
	struct bpf_map *maps[M_COUNT] = {
		s->maps.members,	s->maps.steer_members, s->maps.steer_stats,
		s->maps.steer_fallback, s->maps.steer_reasons, s->maps.steer_conf,
		s->maps.steer_cur,	s->maps.steer_rr,      s->maps.steer_table,
		s->maps.steer_load,	s->maps.steer_slot_of, s->maps.steer_cookies,
		s->maps.steer_info,	s->maps.steer_group,
	};

	return maps[i];
}

/* Least-loaded's load trackers, the plain-load variants where the kernel has them (cheaper). */
static void tracker_programs(struct steer_bpf *skel, struct bpf_program *out[PIN_NLINKS])
{
	bool direct = kernel_features()->rdonly_cast;

	out[0] = direct ? skel->progs.steer_ready_direct : skel->progs.steer_ready;
	out[1] = direct ? skel->progs.steer_accept4_direct : skel->progs.steer_accept4;
	out[2] = direct ? skel->progs.steer_accept_direct : skel->progs.steer_accept;
}

void loaded_free(struct loaded *l)
{
	bpf_object__close(l->custom);
	steer_bpf__destroy(l->skel);
	l->custom = NULL;
	l->skel = NULL;
}

/* Before 5.14 there is no migrate attach type: plain selection still works, and says so. */
static void warn_no_migration(void)
{
	report_warning("this kernel has no select_or_migrate attach type: queued connections of a "
		       "closing member are not migrated");
}

static bool is_tracker(const struct loaded *l, const struct bpf_program *prog)
{
	for (size_t i = 0; i < PIN_NLINKS; i++)
		if (prog == l->trackers[i])
			return true;
	return false;
}

int load_builtin(struct ctx *c, struct loaded *l, const struct pinned *p, bool select,
		 bool trackers)
{
	bool migrate = kernel_features()->reuseport_migrate;
	struct bpf_program *prog;
	int err;

	if (trackers && (err = ensure_tracefs()))
		return fail(c, RT_EXIT_RUNTIME,
			    "failed to mount tracefs on /sys/kernel/tracing: %s", strerror(-err));
	l->skel = steer_bpf__open();
	if (!l->skel)
		return fail(c, RT_EXIT_RUNTIME, "failed to open the steering object: %s",
			    strerror(errno));
	tracker_programs(l->skel, l->trackers);
	l->skel->rodata->task_pt_regs_helper = kernel_features()->task_pt_regs;
	/* Shadow mode's count of the kernel's own choice reads md->sk (5.14, with migration). */
	l->skel->rodata->hash_choice = kernel_features()->rdonly_cast && migrate;
	bpf_object__for_each_program(prog, l->skel->obj)
		bpf_program__set_autoload(prog, (prog == l->skel->progs.steer_select && select) ||
							(trackers && is_tracker(l, prog)));
	bpf_program__set_expected_attach_type(l->skel->progs.steer_select,
					      migrate ? BPF_SK_REUSEPORT_SELECT_OR_MIGRATE
						      : BPF_SK_REUSEPORT_SELECT);
	for (int i = 0; p->exists && i < M_COUNT; i++)
		if ((err = bpf_map__reuse_fd(skel_map(l->skel, i), p->fd[i])))
			return fail(c, RT_EXIT_RUNTIME, "failed to reuse pinned map %s: %s",
				    pin_map_names[i], strerror(-err));
	if ((err = steer_bpf__load(l->skel)))
		return fail(c, RT_EXIT_RUNTIME, "failed to load the steering program: %s%s",
			    strerror(-err),
			    verbose_enabled() ? "" : " (-v shows the verifier's messages)");
	l->migrate = migrate;
	if (select && !migrate)
		warn_no_migration();
	for (int i = 0; i < M_COUNT; i++)
		l->fd[i] = bpf_map__fd(skel_map(l->skel, i));
	return 0;
}

/* The one sk_reuseport program of obj to load (named progname when given), or fail. */
static struct bpf_program *custom_program(struct ctx *c, struct bpf_object *obj, const char *path,
					  const char *progname)
{
	struct bpf_program *prog, *found = NULL;
	int count = 0;

	bpf_object__for_each_program(prog, obj)
	{
		if (bpf_program__type(prog) == BPF_PROG_TYPE_SK_REUSEPORT &&
		    (!progname || !strcmp(bpf_program__name(prog), progname))) {
			found = prog;
			count++;
		}
	}
	if (!count)
		fail(c, RT_EXIT_USAGE,
		     progname ? "%s has no sk_reuseport program named %s"
			      : "%s has no sk_reuseport program%s",
		     path, progname ? progname : "");
	else if (count > 1)
		fail(c, RT_EXIT_USAGE, "%s has %d sk_reuseport programs: choose one with --program",
		     path, count);
	return count == 1 ? found : NULL;
}

/* Give the user's object the group's ABI maps, checking theirs are declared as ours. */
static int share_abi_maps(struct ctx *c, struct loaded *l, const char *path)
{
	int err;

	for (int i = 0; i < M_ABI_COUNT; i++) {
		struct bpf_map *m = bpf_object__find_map_by_name(l->custom, pin_map_names[i]);
		struct bpf_map *ours = skel_map(l->skel, i);

		if (!m) {
			if (i == M_MEMBERS)
				return fail(c, RT_EXIT_USAGE,
					    "%s has no 'members' map: a policy needs the "
					    "REUSEPORT_SOCKARRAY reusetop fills (STEER_ABI_MAPS in "
					    "steer.h)",
					    path);
			continue;
		}
		if (bpf_map__type(m) != bpf_map__type(ours) ||
		    bpf_map__key_size(m) != bpf_map__key_size(ours) ||
		    bpf_map__value_size(m) != bpf_map__value_size(ours) ||
		    bpf_map__max_entries(m) != bpf_map__max_entries(ours))
			return fail(c, RT_EXIT_USAGE,
				    "%s: map '%s' does not match reusetop's (declare it with "
				    "STEER_ABI_MAPS from steer.h)",
				    path, pin_map_names[i]);
		if ((err = bpf_map__reuse_fd(m, l->fd[i])))
			return fail(c, RT_EXIT_RUNTIME, "failed to give %s the group's map %s: %s",
				    path, pin_map_names[i], strerror(-err));
	}
	return 0;
}

int load_custom(struct ctx *c, struct loaded *l, const char *path, const char *progname)
{
	struct bpf_program *prog, *found;
	int err;

	l->custom = bpf_object__open_file(path, NULL);
	if (!l->custom) {
		char why[128];

		/* libbpf's own codes (not an ELF, no BTF...) are beyond strerror's range. */
		libbpf_strerror(errno, why, sizeof(why));
		return fail(c, RT_EXIT_USAGE, "failed to open %s: %s", path, why);
	}
	if (!(found = custom_program(c, l->custom, path, progname)))
		return -1;
	bpf_object__for_each_program(prog, l->custom)
		bpf_program__set_autoload(prog, prog == found);
	l->migrate = bpf_program__expected_attach_type(found) == BPF_SK_REUSEPORT_SELECT_OR_MIGRATE;
	if (l->migrate && !kernel_features()->reuseport_migrate) {
		bpf_program__set_expected_attach_type(found, BPF_SK_REUSEPORT_SELECT);
		l->migrate = false;
		warn_no_migration();
	}
	if (share_abi_maps(c, l, path))
		return -1;
	if ((err = bpf_object__load(l->custom)))
		return fail(c, RT_EXIT_RUNTIME, "failed to load %s: %s%s", path, strerror(-err),
			    verbose_enabled() ? "" : " (-v shows the verifier's messages)");
	l->custom_prog = found;
	return 0;
}
