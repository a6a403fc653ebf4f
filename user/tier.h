/* SPDX-License-Identifier: GPL-2.0 */
/* The attach tiers, best first. */
#ifndef REUSETOP_TIER_H
#define REUSETOP_TIER_H

enum rt_tier {
	RT_TIER_AUTO,
	RT_TIER_FENTRY, /* fentry/fexit: BTF trampolines */
	RT_TIER_KPROBE, /* kprobes and kretprobes on non-sleeping functions */
	RT_TIER_TRACEPOINT, /* tracepoints and raw tracepoints only */
};

static inline const char *tier_name(enum rt_tier t)
{
	switch (t) {
	case RT_TIER_FENTRY:
		return "fentry";
	case RT_TIER_KPROBE:
		return "kprobe";
	case RT_TIER_TRACEPOINT:
		return "tracepoint";
	default:
		return "auto";
	}
}

#endif
