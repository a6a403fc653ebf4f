/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Loading and tier probing: picks the best attach tier the running kernel allows (or the one the
 * user forced), loads reusetop's BPF objects with only that tier's programs and attaches them.
 * Detaching (probes_detach, or the process dying) removes everything: every attachment is a link
 * held by a file descriptor of this process, nothing is pinned.
 */
#ifndef REUSETOP_LOADER_H
#define REUSETOP_LOADER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "observe/model.h"
#include "tier.h"

#define RT_MAX_LINKS	32
#define RT_MAX_DEGRADED 8

struct accept_bpf;
struct select_bpf;
struct wakeup_bpf;
struct udp_bpf;
struct ready_bpf;
struct handoff_bpf;
struct bpf_link;

struct rt_probes {
	enum rt_tier tier;
	struct rt_features features;
	struct accept_bpf *accept;
	struct select_bpf *select; /* NULL when the tier cannot see reuseport selection */
	struct wakeup_bpf *wakeup; /* NULL when wakeups cannot be attributed */
	struct udp_bpf *udp; /* NULL when UDP sockets cannot be counted */
	struct ready_bpf *ready; /* tracepoint tier: the one sk_data_ready program, or NULL */
	struct handoff_bpf *handoff; /* NULL when hand-offs cannot be followed */
	int ready_err; /* why ready is NULL on the tracepoint tier (-errno) */
	struct bpf_link *links[RT_MAX_LINKS];
	size_t nlinks;
	char degraded_buf[RT_MAX_DEGRADED][200];
	const char *degraded[RT_MAX_DEGRADED + 1]; /* NULL-terminated notes for the view */
	size_t ndegraded;
};

/*
 * Attach tier `want` (RT_TIER_AUTO: the best that works). Returns 0, or -errno with a one-line
 * reason in err: for a forced tier, why it failed; for auto, why each tier failed.
 */
int probes_attach(struct rt_probes *p, enum rt_tier want, char *err, size_t errlen);
void probes_detach(struct rt_probes *p);

/* /proc/sys/net/ipv4/ip_local_port_range: UDP sockets bound inside it alone are clients'. */
int read_ephemeral_range(uint16_t *lo, uint16_t *hi);

#endif
