// SPDX-License-Identifier: GPL-2.0
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include <bpf/libbpf.h>

#include "accept.skel.h"
#include "handoff.skel.h"
#include "kernel.h"
#include "observe/loader.h"
#include "setup.h"
#include "ready.skel.h"
#include "select.skel.h"
#include "udp.skel.h"
#include "wakeup.skel.h"

enum feature {
	F_ENQUEUE, /* enqueued counts */
	F_ENQUEUE_DIRECT, /* enqueues by Fast Open and SYN cookies */
	F_ACCEPT, /* accepted and eagain counts */
	F_ACCEPT_CATCHUP, /* accept calls already blocked when reusetop attached */
	F_LISTEN, /* listeners recorded as they start listening (idle ones that close) */
	F_SELECT, /* reuseport selections */
	F_WAKEUP, /* wakeups by listeners */
	F_UDP, /* UDP datagrams queued and read */
	F_HANDOFF, /* connections passed over Unix sockets */
};

struct probe_spec {
	struct bpf_program *prog;
	enum feature feature;
	bool required; /* the tier fails without it; otherwise the gap is reported as degraded */
};

static void add_degraded(struct rt_probes *p, const char *fmt, ...)
{
	va_list ap;

	if (p->ndegraded >= RT_MAX_DEGRADED)
		return;
	va_start(ap, fmt);
	vsnprintf(p->degraded_buf[p->ndegraded], sizeof(p->degraded_buf[0]), fmt, ap);
	va_end(ap);
	p->degraded[p->ndegraded] = p->degraded_buf[p->ndegraded];
	p->ndegraded++;
	p->degraded[p->ndegraded] = NULL;
}

static void close_all(struct rt_probes *p)
{
	for (size_t i = 0; i < p->nlinks; i++)
		bpf_link__destroy(p->links[i]);
	p->nlinks = 0;
	accept_bpf__destroy(p->accept);
	select_bpf__destroy(p->select);
	wakeup_bpf__destroy(p->wakeup);
	udp_bpf__destroy(p->udp);
	ready_bpf__destroy(p->ready);
	handoff_bpf__destroy(p->handoff);
	p->handoff = NULL;
	p->udp = NULL;
	p->ready = NULL;
	p->accept = NULL;
	p->select = NULL;
	p->wakeup = NULL;
}

static int attach_prog(struct rt_probes *p, struct bpf_program *prog)
{
	struct bpf_link *link;

	if (p->nlinks >= RT_MAX_LINKS)
		return -E2BIG;
	link = bpf_program__attach(prog);
	if (!link)
		return -errno;
	p->links[p->nlinks++] = link;
	return 0;
}

/*
 * The programs of one tier, in attach order: accepts before enqueues, so that every connection
 * counted as enqueued is also counted when it is accepted.
 */
static size_t accept_specs(struct accept_bpf *s, enum rt_tier tier, struct probe_spec *specs)
{
	bool direct = tier != RT_TIER_FENTRY && kernel_features()->rdonly_cast;
	/* The old signature's fexit leaves the calls without a connection to the syscall's exit. */
	bool old = !kernel_features()->proto_accept_arg;
	size_t n = 0;

	/* Every tier: a listener is recorded when it starts listening (closed.h). */
	specs[n++] = (struct probe_spec){s->progs.tp_exit_listen, F_LISTEN, false};
	switch (tier) {
	case RT_TIER_FENTRY:
		specs[n++] = (struct probe_spec){old ? s->progs.fexit_inet_csk_accept_old
						     : s->progs.fexit_inet_csk_accept,
						 F_ACCEPT, true};
		specs[n++] =
			(struct probe_spec){s->progs.tp_exit_accept4_missed, F_ACCEPT_CATCHUP, old};
		specs[n++] =
			(struct probe_spec){s->progs.tp_exit_accept_missed, F_ACCEPT_CATCHUP, old};
		specs[n++] = (struct probe_spec){s->progs.fexit_hashdance, F_ENQUEUE, true};
		specs[n++] = (struct probe_spec){s->progs.fentry_hashdance, F_ENQUEUE, true};
		specs[n++] = (struct probe_spec){s->progs.fexit_reqsk_queue_add, F_ENQUEUE_DIRECT,
						 false};
		return n;
	case RT_TIER_KPROBE:
		specs[n++] = (struct probe_spec){direct ? s->progs.tp_exit_accept4_direct
							: s->progs.tp_exit_accept4,
						 F_ACCEPT, true};
		specs[n++] = (struct probe_spec){direct ? s->progs.tp_exit_accept_direct
							: s->progs.tp_exit_accept,
						 F_ACCEPT, true};
		specs[n++] = (struct probe_spec){s->progs.kretprobe_hashdance, F_ENQUEUE, true};
		specs[n++] = (struct probe_spec){s->progs.kprobe_hashdance, F_ENQUEUE, true};
		specs[n++] = (struct probe_spec){s->progs.kprobe_reqsk_queue_add, F_ENQUEUE_DIRECT,
						 false};
		return n;
	default:
		specs[n++] = (struct probe_spec){direct ? s->progs.tp_exit_accept4_direct
							: s->progs.tp_exit_accept4,
						 F_ACCEPT, true};
		specs[n++] = (struct probe_spec){direct ? s->progs.tp_exit_accept_direct
							: s->progs.tp_exit_accept,
						 F_ACCEPT, true};
		/* Enqueues: ready.bpf.c (try_ready). */
		return n;
	}
}

static void note_missing(struct rt_probes *p, const struct probe_spec *spec, int err)
{
	const char *what = bpf_program__section_name(spec->prog);

	switch (spec->feature) {
	case F_ENQUEUE:
		p->features.enqueued = p->features.wait = false;
		add_degraded(p, "enqueued unknown: %s did not attach (%s)", what, strerror(-err));
		break;
	case F_ENQUEUE_DIRECT:
		add_degraded(p,
			     "Fast Open and SYN-cookie connections not counted as enqueued: "
			     "%s did not attach (%s)",
			     what, strerror(-err));
		break;
	case F_ACCEPT_CATCHUP:
		add_degraded(p,
			     "accept calls already blocked at start are not counted: "
			     "%s did not attach (%s)",
			     what, strerror(-err));
		break;
	case F_LISTEN:
		add_degraded(
			p,
			"a listener that closes before a scan without a connection is not shown: "
			"%s did not attach (%s)",
			what, strerror(-err));
		break;
	default:
		p->features.accepted = false;
		add_degraded(p, "accepted unknown: %s did not attach (%s)", what, strerror(-err));
		break;
	}
}

static void autoload_only(struct bpf_object *obj, const struct probe_spec *specs, size_t n)
{
	struct bpf_program *prog;

	bpf_object__for_each_program(prog, obj) bpf_program__set_autoload(prog, false);
	for (size_t i = 0; i < n; i++)
		bpf_program__set_autoload(specs[i].prog, true);
}

/* Attach in order; a required program that fails is an error, an optional one a degradation. */
static int attach_specs(struct rt_probes *p, const struct probe_spec *specs, size_t n, char *err,
			size_t errlen)
{
	for (size_t i = 0; i < n; i++) {
		int ret = attach_prog(p, specs[i].prog);

		if (!ret)
			continue;
		if (specs[i].required) {
			snprintf(err, errlen, "failed to attach %s: %s",
				 bpf_program__section_name(specs[i].prog), strerror(-ret));
			return ret;
		}
		note_missing(p, &specs[i], ret);
	}
	return 0;
}

static void drop_links_from(struct rt_probes *p, size_t first)
{
	while (p->nlinks > first)
		bpf_link__destroy(p->links[--p->nlinks]);
}

/*
 * An extra's programs in specs loaded (the skeleton's load, which also maps its data) and
 * attached. On failure, why says why and nothing of it stays attached; the caller destroys it.
 */
static int load_extra(struct rt_probes *p, struct bpf_object_skeleton *skel,
		      const struct probe_spec *specs, size_t n, char *why, size_t len)
{
	size_t first = p->nlinks;
	int ret;

	autoload_only(*skel->obj, specs, n);
	ret = bpf_object__load_skeleton(skel);
	if (ret)
		snprintf(why, len, "failed to load BPF programs: %s", strerror(-ret));
	else
		ret = attach_specs(p, specs, n, why, len);
	if (ret)
		drop_links_from(p, first);
	return ret;
}

/* accept.bpf.c loaded with the tier's programs, not attached yet (attach_accept). */
static int load_accept(struct rt_probes *p, enum rt_tier tier, char *err, size_t errlen)
{
	struct probe_spec specs[8];
	size_t n;
	int ret;

	p->accept = accept_bpf__open();
	if (!p->accept) {
		ret = -errno;
		snprintf(err, errlen, "failed to open BPF object: %s", strerror(-ret));
		return ret;
	}
	n = accept_specs(p->accept, tier, specs);
	autoload_only(p->accept->obj, specs, n);
	p->accept->rodata->task_pt_regs_helper = kernel_features()->task_pt_regs;
	ret = accept_bpf__load(p->accept);
	if (ret) {
		snprintf(err, errlen, "failed to load BPF programs: %s", strerror(-ret));
		return ret;
	}
	p->features.enqueued = p->features.accepted = p->features.wait = true;
	return 0;
}

static int attach_accept(struct rt_probes *p, enum rt_tier tier, char *err, size_t errlen)
{
	struct probe_spec specs[8];
	size_t n = accept_specs(p->accept, tier, specs);

	return attach_specs(p, specs, n, err, errlen);
}

/* Selection is an extra: when it cannot attach, the tier still counts enqueues and accepts. */
static void try_select(struct rt_probes *p, enum rt_tier tier)
{
	struct probe_spec spec = {NULL, F_SELECT, true};
	char why[160];

	if (tier == RT_TIER_TRACEPOINT) {
		add_degraded(p, "selected unknown: no tracepoint on reuseport_select_sock "
				"(needs the fentry or kprobe tier)");
		return;
	}
	p->select = select_bpf__open();
	if (!p->select) {
		add_degraded(p, "selected unknown: failed to open BPF object: %s", strerror(errno));
		return;
	}
	spec.prog = tier == RT_TIER_FENTRY ? p->select->progs.fexit_reuseport_select_sock
					   : p->select->progs.kretprobe_reuseport_select_sock;
	if (load_extra(p, p->select->skeleton, &spec, 1, why, sizeof(why))) {
		add_degraded(p, "selected unknown: %s", why);
		select_bpf__destroy(p->select);
		p->select = NULL;
		return;
	}
	p->features.selected = true;
}

int read_ephemeral_range(uint16_t *lo, uint16_t *hi)
{
	FILE *f = fopen("/proc/sys/net/ipv4/ip_local_port_range", "r");
	unsigned int a, b;
	int ret = -EINVAL;

	if (!f)
		return -errno;
	if (fscanf(f, "%u %u", &a, &b) == 2 && a <= b && b <= 65535) {
		*lo = (uint16_t)a;
		*hi = (uint16_t)b;
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* The fentry tier's recvmsg pair for the kernel's udp_recvmsg() signature (core_fixes.bpf.h). */
static void recvmsg_progs(struct udp_bpf *s, struct bpf_program **v4, struct bpf_program **v6)
{
	switch (kernel_features()->udp_recvmsg_params) {
	case 4:
		*v4 = s->progs.fexit_udp_recvmsg;
		*v6 = s->progs.fexit_udpv6_recvmsg;
		break;
	case 6:
		*v4 = s->progs.fexit_udp_recvmsg_noblock;
		*v6 = s->progs.fexit_udpv6_recvmsg_noblock;
		break;
	default:
		*v4 = s->progs.fexit_udp_recvmsg_old;
		*v6 = s->progs.fexit_udpv6_recvmsg_old;
		break;
	}
}

/* UDP servers: datagrams queued and read per socket. An extra, like selection. */
static void try_udp(struct rt_probes *p, enum rt_tier tier)
{
	struct probe_spec specs[8];
	size_t n = 0;
	struct bpf_program *recv4, *recv6;
	struct udp_bpf *s;
	char why[160];

	if (tier == RT_TIER_TRACEPOINT && !p->ready) {
		add_degraded(p, "UDP unknown: raw_tracepoint/sk_data_ready did not attach (%s)",
			     strerror(-p->ready_err));
		return;
	}
	s = p->udp = udp_bpf__open();
	if (!s) {
		add_degraded(p, "UDP unknown: failed to open BPF object: %s", strerror(errno));
		return;
	}
	/* Without the file, the BPF defaults (Linux's 32768-60999) stay. */
	read_ephemeral_range(&s->rodata->ephemeral_lo, &s->rodata->ephemeral_hi);
	/* One record of every counted socket's identity, whichever object counted it first. */
	bpf_map__reuse_fd(s->maps.sock_ids, bpf_map__fd(p->accept->maps.sock_ids));
	bpf_map__reuse_fd(s->maps.group_marks, bpf_map__fd(p->accept->maps.group_marks));
	s->rodata->task_pt_regs_helper = kernel_features()->task_pt_regs;
	switch (tier) {
	case RT_TIER_FENTRY:
		recvmsg_progs(s, &recv4, &recv6);
		specs[n++] = (struct probe_spec){s->progs.fexit_udp_enqueue, F_UDP, true};
		specs[n++] = (struct probe_spec){recv4, F_UDP, true};
		specs[n++] = (struct probe_spec){recv6, F_UDP, true};
		break;
	case RT_TIER_KPROBE:
		specs[n++] = (struct probe_spec){s->progs.kretprobe_udp_enqueue, F_UDP, true};
		specs[n++] = (struct probe_spec){s->progs.kprobe_udp_enqueue, F_UDP, true};
		break;
	default:
		/* Enqueues: ready.bpf.c counts them into this object's map. */
		bpf_map__reuse_fd(s->maps.udp_counters, bpf_map__fd(p->ready->maps.udp_counters));
		break;
	}
	if (tier == RT_TIER_FENTRY) {
		specs[n++] = (struct probe_spec){s->progs.tp_exit_recvfrom_missed, F_UDP, true};
		specs[n++] = (struct probe_spec){s->progs.tp_exit_recvmsg_missed, F_UDP, true};
	} else {
		specs[n++] = (struct probe_spec){s->progs.tp_exit_recvfrom, F_UDP, true};
		specs[n++] = (struct probe_spec){s->progs.tp_exit_recvmsg, F_UDP, true};
		specs[n++] = (struct probe_spec){s->progs.tp_exit_recvmmsg, F_UDP, true};
		/* The filter of those: servers forked since the last scan (and bound: below). */
		specs[n++] = (struct probe_spec){s->progs.raw_tp_process_fork, F_UDP, true};
	}
	/* Every tier: servers recorded as they bind (closed.h), watched before a scan. */
	specs[n++] = (struct probe_spec){s->progs.tp_exit_bind, F_UDP, true};
	if (load_extra(p, s->skeleton, specs, n, why, sizeof(why))) {
		add_degraded(p, "UDP unknown: %s", why);
		udp_bpf__destroy(s);
		p->udp = NULL;
		return;
	}
	p->features.udp = true;
	if (p->ready)
		p->ready->bss->count_datagrams = true;
}

/*
 * Hand-offs over Unix sockets (handoff.bpf.c): an extra. Receipts by the kernel function that
 * installs the passed files on fentry and kprobe, by recvmsg's exit on the tracepoint tier;
 * passing by sendmsg's entry and exit on every tier. It shares accept.bpf.c's filter and
 * connection states, and its health counters.
 */
static void try_handoff(struct rt_probes *p, enum rt_tier tier)
{
	struct probe_spec specs[5];
	size_t n = 0;
	struct handoff_bpf *s;
	char why[160];
	int ret;

	s = p->handoff = handoff_bpf__open();
	if (!s) {
		add_degraded(p, "hand-offs unknown: failed to open BPF object: %s",
			     strerror(errno));
		return;
	}
	s->rodata->task_pt_regs_helper = kernel_features()->task_pt_regs;
	ret = bpf_map__reuse_fd(s->maps.handoff_pids, bpf_map__fd(p->accept->maps.handoff_pids));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.handoff_conns,
					bpf_map__fd(p->accept->maps.handoff_conns));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.handoff_senders,
					bpf_map__fd(p->accept->maps.handoff_senders));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.health, bpf_map__fd(p->accept->maps.health));
	if (tier == RT_TIER_FENTRY)
		specs[n++] = (struct probe_spec){s->progs.fentry_scm_detach_fds, F_HANDOFF, true};
	else if (tier == RT_TIER_KPROBE)
		specs[n++] = (struct probe_spec){s->progs.kprobe_scm_detach_fds, F_HANDOFF, true};
	else
		specs[n++] = (struct probe_spec){s->progs.tp_exit_recvmsg, F_HANDOFF, true};
	specs[n++] = (struct probe_spec){s->progs.tp_enter_sendmsg, F_HANDOFF, true};
	specs[n++] = (struct probe_spec){s->progs.tp_exit_sendmsg, F_HANDOFF, true};
	specs[n++] = (struct probe_spec){s->progs.raw_tp_handoff_fork, F_HANDOFF, true};
	if (ret)
		snprintf(why, sizeof(why), "failed to share maps: %s", strerror(-ret));
	else
		ret = load_extra(p, s->skeleton, specs, n, why, sizeof(why));
	if (ret) {
		add_degraded(p, "hand-offs unknown: %s", why);
		handoff_bpf__destroy(s);
		p->handoff = NULL;
		return;
	}
	p->features.handoff = true;
}

/* Wakeups are an extra too; the tracepoint tier needs sock:sk_data_ready for them. */
static void try_wakeup(struct rt_probes *p, enum rt_tier tier)
{
	struct probe_spec specs[3];
	size_t n = 0;
	struct wakeup_bpf *s;
	char why[160];

	if (tier == RT_TIER_TRACEPOINT && !p->ready) {
		add_degraded(p, "wakeups unknown: raw_tracepoint/sk_data_ready did not attach (%s)",
			     strerror(-p->ready_err));
		return;
	}
	s = p->wakeup = wakeup_bpf__open();
	if (!s) {
		add_degraded(p, "wakeups unknown: failed to open BPF object: %s", strerror(errno));
		return;
	}
	switch (tier) {
	case RT_TIER_FENTRY:
		specs[n++] = (struct probe_spec){s->progs.fexit_tcp_child_process, F_WAKEUP, true};
		specs[n++] = (struct probe_spec){s->progs.fentry_tcp_child_process, F_WAKEUP, true};
		break;
	case RT_TIER_KPROBE:
		specs[n++] =
			(struct probe_spec){s->progs.kretprobe_tcp_child_process, F_WAKEUP, true};
		specs[n++] = (struct probe_spec){s->progs.kprobe_tcp_child_process, F_WAKEUP, true};
		break;
	default:
		/* ready.bpf.c opens the brackets in this object's map. */
		bpf_map__reuse_fd(s->maps.brackets, bpf_map__fd(p->ready->maps.brackets));
		if (p->ready->rodata->cpu_marks_known) {
			s->rodata->cpu_marks_known = true;
			s->rodata->softnet_data_from_rq = p->ready->rodata->softnet_data_from_rq;
			s->rodata->kstat_from_rq = p->ready->rodata->kstat_from_rq;
			s->rodata->preempt_count_from_rq = p->ready->rodata->preempt_count_from_rq;
		} else {
			specs[n++] =
				(struct probe_spec){s->progs.raw_tp_softirq_exit, F_WAKEUP, true};
		}
		break;
	}
	specs[n++] = (struct probe_spec){kernel_features()->rdonly_cast
						 ? s->progs.raw_tp_sched_waking_direct
						 : s->progs.raw_tp_sched_waking,
					 F_WAKEUP, true};
	/* An interrupt inside the bracket can wake an unrelated sleeper on every tier. */
	s->rodata->filter_waiters = true;
	if (load_extra(p, s->skeleton, specs, n, why, sizeof(why))) {
		add_degraded(p, "wakeups unknown: %s", why);
		wakeup_bpf__destroy(s);
		p->wakeup = NULL;
		return;
	}
	p->features.wakeups = true;
	if (p->ready)
		p->ready->bss->open_brackets = true;
}

/*
 * The tracepoint tier's one sk_data_ready program (ready.bpf.c), on accept.bpf.c's counters.
 * sock:sk_data_ready came with "net/sock: Introduce trace_sk_data_ready()" (6.3); without it
 * enqueues, wakeups and UDP are unknown. Its parts start switched off and are switched on as
 * their consumers attach.
 */
static void try_ready(struct rt_probes *p)
{
	struct probe_spec spec = {NULL, F_ENQUEUE, false};
	const struct rt_kernel *k = kernel_features();
	struct ready_bpf *s;
	int ret;

	s = p->ready = ready_bpf__open();
	if (!s) {
		p->ready_err = -errno;
		add_degraded(p, "enqueued unknown: failed to open BPF object: %s", strerror(errno));
		return;
	}
	spec.prog = s->progs.raw_tp_sk_data_ready;
	read_ephemeral_range(&s->rodata->ephemeral_lo, &s->rodata->ephemeral_hi);
	if (k->cpu_marks) {
		s->rodata->cpu_marks_known = true;
		s->rodata->softnet_data_from_rq = k->softnet_data_from_rq;
		s->rodata->kstat_from_rq = k->kstat_from_rq;
		s->rodata->preempt_count_from_rq = k->preempt_count_from_rq;
	}
	ret = bpf_map__reuse_fd(s->maps.sock_counters, bpf_map__fd(p->accept->maps.sock_counters));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.sock_front_owner,
					bpf_map__fd(p->accept->maps.sock_front_owner));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.sock_front,
					bpf_map__fd(p->accept->maps.sock_front));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.sock_front_claims,
					bpf_map__fd(p->accept->maps.sock_front_claims));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.rt_epoch, bpf_map__fd(p->accept->maps.rt_epoch));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.health, bpf_map__fd(p->accept->maps.health));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.sock_ids, bpf_map__fd(p->accept->maps.sock_ids));
	if (!ret)
		ret = bpf_map__reuse_fd(s->maps.group_marks,
					bpf_map__fd(p->accept->maps.group_marks));
	if (!ret)
		ret = ready_bpf__load(s);
	if (!ret)
		ret = attach_prog(p, spec.prog);
	if (ret) {
		p->ready_err = ret;
		note_missing(p, &spec, ret);
		ready_bpf__destroy(s);
		p->ready = NULL;
		return;
	}
	s->bss->count_enqueues = true;
}

static int try_tier(struct rt_probes *p, enum rt_tier tier, char *err, size_t errlen)
{
	int ret;

	memset(p, 0, sizeof(*p));
	p->tier = tier;
	ret = load_accept(p, tier, err, errlen);
	/*
	 * Hand-offs before accepts: every connection counted as accepted that is then passed on
	 * is seen passing (the others attach after accepts, see accept_specs()).
	 */
	if (!ret) {
		try_handoff(p, tier);
		ret = attach_accept(p, tier, err, errlen);
	}
	if (ret) {
		close_all(p);
		return ret;
	}
	if (tier == RT_TIER_TRACEPOINT)
		try_ready(p);
	try_select(p, tier);
	try_wakeup(p, tier);
	try_udp(p, tier);
	return 0;
}

int probes_attach(struct rt_probes *p, enum rt_tier want, char *err, size_t errlen)
{
	static const enum rt_tier order[] = {RT_TIER_FENTRY, RT_TIER_KPROBE, RT_TIER_TRACEPOINT};
	char why[3][200];
	int ret = -ENOENT;

	if ((ret = ensure_tracefs()) && want != RT_TIER_FENTRY) {
		snprintf(err, errlen, "failed to mount tracefs on /sys/kernel/tracing: %s",
			 strerror(-ret));
		return ret;
	}
	if (want != RT_TIER_AUTO) {
		char reason[200];

		ret = try_tier(p, want, reason, sizeof(reason));
		if (ret)
			snprintf(err, errlen, "cannot use the %s tier: %s", tier_name(want),
				 reason);
		return ret;
	}
	for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
		ret = try_tier(p, order[i], why[i], sizeof(why[i]));
		if (!ret)
			return 0;
	}
	snprintf(err, errlen, "no attach tier works: fentry: %s; kprobe: %s; tracepoint: %s",
		 why[0], why[1], why[2]);
	return ret;
}

void probes_detach(struct rt_probes *p)
{
	close_all(p);
}
