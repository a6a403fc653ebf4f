/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal streaming JSON writer: one line per document, NaN written as null. */
#ifndef REUSETOP_JSON_H
#define REUSETOP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16
/* Text written to a FILE is gathered here first: stdio per value costs more than the JSON. */
#define JSON_OUT_LEN 4096

/* Bytes in memory, grown as needed; after a failed allocation, failed is set and writes dropped. */
struct json_buf {
	char *data;
	size_t len, cap;
	bool failed;
};

void json_buf_free(struct json_buf *b);

#define JSON_KEY_SLOTS 512

/*
 * The keys snapshots have seen, each with a one-byte number that stands for it in them. Shared
 * by all the snapshots that are compared with each other, and kept as long as they are.
 */
struct json_keys {
	const char *slot[JSON_KEY_SLOTS];
	uint8_t id[JSON_KEY_SLOTS];
	unsigned int n;
};

struct json_writer {
	FILE *f; /* NULL when writing into a json_buf */
	struct json_buf *buf; /* where bytes go: out below (flushed to f), or the caller's */
	struct json_buf out;
	/*
	 * Snapshot mode (keys not NULL): instead of text, an exact binary record of every call
	 * (kind, key, value). Equal snapshots mean equal text, so a caller can keep text rendered
	 * earlier from the same calls rather than format it again.
	 */
	struct json_keys *keys;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	char space[JSON_OUT_LEN];
};

/* Text to f, flushed at the end of each top-level value. */
void json_init(struct json_writer *w, FILE *f);
/*
 * Text appended to b. depth > 0 starts inside that many containers with no comma due: the value
 * can later be placed into another document with json_raw().
 */
void json_init_buf(struct json_writer *w, struct json_buf *b, int depth);
/* A snapshot of the same calls appended to b, keys numbered in keys. */
void json_init_snapshot(struct json_writer *w, struct json_buf *b, struct json_keys *keys,
			int depth);
/* key is NULL inside arrays and for the top-level value. */
void json_object_begin(struct json_writer *w, const char *key);
void json_object_end(struct json_writer *w);
void json_array_begin(struct json_writer *w, const char *key);
void json_array_end(struct json_writer *w);
void json_string(struct json_writer *w, const char *key, const char *value);
void json_uint(struct json_writer *w, const char *key, uint64_t value);
void json_int(struct json_writer *w, const char *key, int64_t value);
void json_bool(struct json_writer *w, const char *key, bool value);
void json_null(struct json_writer *w, const char *key);
/* Finite values with up to `decimals` fraction digits; NaN and infinities as null. */
void json_double(struct json_writer *w, const char *key, double value, int decimals);
/* A value already rendered as JSON text (len bytes), placed as the next value. */
void json_raw(struct json_writer *w, const char *key, const char *text, size_t len);
/*
 * Snapshot mode only (a no-op for text): bytes that stand for what the caller will write instead,
 * when computing the text itself is what the snapshot should avoid (an address's inet_ntop).
 */
void json_snapshot_bytes(struct json_writer *w, const void *p, size_t len);
static inline bool json_is_snapshot(const struct json_writer *w)
{
	return w->keys != NULL;
}
/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one (overlong forms,
 * surrogates and values past U+10FFFF are not valid). Shared by every escaping writer.
 */
size_t utf8_valid_len(const unsigned char *s);
/* A string with JSON escaping (quotes included); invalid UTF-8 bytes become U+FFFD. */
void json_write_escaped(FILE *f, const char *s);

#endif
