/* SPDX-License-Identifier: GPL-2.0 */
/* Renderers turn a view into output. They never read BPF maps or discover anything. */
#ifndef REUSETOP_RENDER_H
#define REUSETOP_RENDER_H

#include <stdio.h>

#include "observe/model.h"
#include "render/json.h"
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
 * The same text, keeping each group's text for the next call as render_json_cached() does: a
 * group whose lines are made from the same values as last time is not formatted again.
 * 0 or -errno (-EIO when writing f failed).
 */
struct rt_text_cache;
int text_cache_new(struct rt_text_cache **out);
void text_cache_free(struct rt_text_cache *c);
int render_text_cached(FILE *f, const struct rt_view *v, struct rt_text_cache *cache);
/* How many groups the last render_text_cached() took from the cache (for the tests). */
size_t text_cache_reused(const struct rt_text_cache *c);

/*
 * The Prometheus text exposition format (0.0.4) of one view: per-socket series for the first
 * max_sockets sockets in view order, the groups they are in, and reusetop's own state.
 */
void render_prometheus(FILE *f, const struct rt_view *v, size_t max_sockets);
/* A label value, quoted and escaped (backslash, quote, newline; invalid UTF-8 as U+FFFD). */
void prom_write_label_value(FILE *f, const char *value);

/* Shared by renderers. */

/*
 * Where a group is in the view's order (discovery sorts listeners so): what the renderers'
 * caches find the entry of a group's last interval by.
 */
struct rt_group_id {
	uint64_t netns;
	uint8_t family, proto;
	uint8_t addr[16];
	uint16_t port;
	int8_t v6only;
	uint32_t bound_ifindex;
	bool closed;
};

void group_id_of(struct rt_group_id *id, const struct rt_group_view *g);
/* <0, 0, >0 as the group id names comes before g, is g, or comes after it. */
int group_id_cmp(const struct rt_group_id *id, const struct rt_group_view *g);

/* One group's kept output (-b's lines, JSON's object), reused while its fingerprint holds. */
struct group_text {
	struct rt_group_id id;
	bool valid; /* the text is complete (no allocation failed) */
	struct json_fingerprint fp;
	struct json_buf text;
};

/*
 * Into t (this interval's entry for g): the last interval's entry of g, found at *cursor in
 * last[0..nlast) (groups come in the same order every interval), its buffer moved to t; or a
 * new entry. True when its text stands (complete, same fingerprint fp); else t->fp is fp and
 * the caller writes t->text anew.
 */
bool group_text_reuse(struct group_text *t, struct group_text *last, size_t nlast, size_t *cursor,
		      const struct rt_group_view *g, const struct json_fingerprint *fp);
/*
 * The n pieces of an output to f: with writev() on its file descriptor when it has one (f is
 * flushed first), so that megabytes of kept text are not copied into stdio's buffer first;
 * else through stdio. 0 or -errno; the iovecs are used up.
 */
struct iovec;
int write_pieces(FILE *f, struct iovec *iov, size_t n);
/* "2026-11-21T23:40:00.123Z" into buf (at least 32 bytes). */
const char *iso8601_utc(const struct timespec *ts, char *buf, size_t len);

#endif
