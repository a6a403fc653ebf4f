/* SPDX-License-Identifier: GPL-2.0 */
/* Renderers turn a view into output. They never read BPF maps or discover anything. */
#ifndef REUSETOP_RENDER_H
#define REUSETOP_RENDER_H

#include <stdio.h>

#include "observe/model.h"
#include "util.h"

/* One JSON object on one line per call (the contract in README.md). */
void render_json(FILE *f, const struct rt_view *v);
/*
 * The same text, keeping each group's text for the next call: a group rendered from the same
 * values as last time is not formatted again. Needs a cache of its own per output. Written
 * with writev() when f has a file descriptor (f is flushed first); 0 or -errno of the write.
 */
struct rt_json_cache;
int json_cache_new(struct rt_json_cache **out);
void json_cache_free(struct rt_json_cache *c);
int render_json_cached(FILE *f, const struct rt_view *v, struct rt_json_cache *cache);
/* How many groups the last render_json_cached() took from the cache (for the tests). */
size_t json_cache_reused(const struct rt_json_cache *c);
/* A plain-text table, no terminal control; a blank line ends each interval. */
void render_text(FILE *f, const struct rt_view *v);

/*
 * The Prometheus text exposition format (0.0.4) of one view: per-socket series for the first
 * max_sockets sockets in view order, the groups they are in, and reusetop's own state.
 */
void render_prometheus(FILE *f, const struct rt_view *v, size_t max_sockets);
/* A label value, quoted and escaped (backslash, quote, newline; invalid UTF-8 as U+FFFD). */
void prom_write_label_value(FILE *f, const char *value);

/* Shared by renderers. */
/* "2026-11-21T23:40:00.123Z" into buf (at least 32 bytes). */
const char *iso8601_utc(const struct timespec *ts, char *buf, size_t len);

#endif
