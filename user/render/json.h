/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal streaming JSON writer: one line per document, NaN written as null. */
#ifndef REUSETOP_JSON_H
#define REUSETOP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

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
/* Room for n more bytes in b; false (and b->failed) when memory ran out. */
bool json_buf_reserve(struct json_buf *b, size_t n);

/*
 * A fingerprint of a sequence of writer calls: the odd and the even calls each into a 128-bit
 * pair (two independently keyed lanes), and the number of calls. The pairs keep the chains of
 * dependent multiplies half as long. Equal fingerprints stand for equal text: two different
 * call sequences differ in one pair at least, where a collision has a chance of about 2^-120,
 * far below any hardware error rate.
 */
struct json_fingerprint {
	uint64_t lane[2][2];
	uint64_t calls;
};

static inline bool json_fingerprint_equal(const struct json_fingerprint *a,
					  const struct json_fingerprint *b)
{
	return !memcmp(a->lane, b->lane, sizeof(a->lane)) && a->calls == b->calls;
}

struct json_writer {
	FILE *f; /* NULL when writing into a json_buf */
	struct json_buf *buf; /* where bytes go: out below (flushed to f), or the caller's */
	struct json_buf out;
	/*
	 * Fingerprint mode (fp not NULL): instead of text, every call (kind, key, value) is mixed
	 * into *fp. Equal fingerprints mean equal text, so a caller can keep text rendered earlier
	 * from the same calls rather than format it again, at a fraction of the cost.
	 */
	struct json_fingerprint *fp;
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
/* The fingerprint of the same calls into fp (reset first), as if starting at depth. */
void json_init_fingerprint(struct json_writer *w, struct json_fingerprint *fp, int depth);
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
 * Fingerprint mode only (a no-op for text): bytes that stand for what the caller will write
 * instead, when computing the text itself is what the fingerprint should avoid (inet_ntop).
 */
void json_fingerprint_bytes(struct json_writer *w, const void *p, size_t len);
/* The fingerprint of len bytes at p, for callers that gather what their text is made of. */
void json_fingerprint_of(struct json_fingerprint *fp, const void *p, size_t len);
static inline bool json_is_fingerprint(const struct json_writer *w)
{
	return w->fp != NULL;
}
/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one (overlong forms,
 * surrogates and values past U+10FFFF are not valid). Shared by every escaping writer.
 */
size_t utf8_valid_len(const unsigned char *s);
/* A string with JSON escaping (quotes included); invalid UTF-8 bytes become U+FFFD. */
void json_write_escaped(FILE *f, const char *s);

#endif
