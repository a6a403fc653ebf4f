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
 * A fingerprint of a sequence of 64-bit words: the odd and the even pairs of words each into a
 * 128-bit pair (two independently keyed lanes), and the number of words. The pairs keep the
 * chains of dependent multiplies half as long. Equal fingerprints stand for equal words: two
 * different sequences of as many words differ in one pair at least, where a collision has a
 * chance of about 2^-120, far below any hardware error rate.
 */
struct json_fingerprint {
	uint64_t lane[2][2];
	uint64_t words;
};

static inline bool json_fingerprint_equal(const struct json_fingerprint *a,
					  const struct json_fingerprint *b)
{
	return !memcmp(a->lane, b->lane, sizeof(a->lane)) && a->words == b->words;
}

/* Words a fingerprinting writer gathers before it mixes them in (json_writer.space). */
#define JSON_FP_BATCH (JSON_OUT_LEN / sizeof(uint64_t))

/*
 * The kinds and keys of a fingerprinting writer's calls (json_fp_kind), kept from one writer to
 * the next: the same code ran for most values a caller fingerprints one after the other (groups
 * of one listener each, say), and comparing these words with the last writer's costs less than
 * mixing them in again. The writer's own are at words[cur].
 */
struct json_fp_shapes {
	uint64_t *words[2];
	size_t len[2], cap[2];
	int cur;
	bool have_last; /* words[!cur] and last are the last writer's */
	struct json_fingerprint last;
};

void json_fp_shapes_free(struct json_fp_shapes *s);

struct json_writer {
	FILE *f; /* NULL when writing into a json_buf */
	struct json_buf *buf; /* where bytes go: out below (flushed to f), or the caller's */
	struct json_buf out;
	/*
	 * Fingerprint mode (fp not NULL): instead of text, every call (kind, key, value) is written
	 * as words, its kind and key to shapes (heads up to head_end) and its value to space.words
	 * (up to fp_pos, mixed into *fp in batches). The words of two call sequences are equal
	 * exactly when the calls are, and so the text they write: a caller can keep text rendered
	 * earlier from the same calls rather than format it again, at a fraction of the cost.
	 */
	struct json_fingerprint *fp;
	uint64_t *fp_pos;
	struct json_fp_shapes *shapes;
	uint64_t *head_pos, *head_end;
	bool failed; /* memory ran out: the fingerprint is not of all calls */
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
	union {
		char text[JSON_OUT_LEN];
		uint64_t words[JSON_FP_BATCH];
	} space;
};

/* Text to f, flushed at the end of each top-level value. */
void json_init(struct json_writer *w, FILE *f);
/*
 * Text appended to b. depth > 0 starts inside that many containers with no comma due: the value
 * can later be placed into another document with json_raw().
 */
void json_init_buf(struct json_writer *w, struct json_buf *b, int depth);
/*
 * The fingerprint of the same calls into fp (reset first), as if starting at depth, complete
 * after json_fingerprint_finish(); shapes is the caller's, for all its fingerprinting writers.
 */
void json_init_fingerprint(struct json_writer *w, struct json_fingerprint *fp,
			   struct json_fp_shapes *shapes, int depth);
/*
 * Mixes in the words still waiting: *fp is then the fingerprint of the calls so far. False when
 * memory ran out (then *fp stands for nothing).
 */
bool json_fingerprint_finish(struct json_writer *w);
/*
 * Fingerprint mode, inline so that a call costs a store or two. A call's head is its kind and
 * key (the callers' keys are string literals, so the same pointer is the same text; the kind in
 * the top byte, which user-space pointers leave free); its values are as its kind says. Read
 * together, heads and values are the calls: two different call sequences differ in one.
 */
enum json_fp_kind {
	JSON_FP_OBJECT_BEGIN = 1,
	JSON_FP_OBJECT_END,
	JSON_FP_ARRAY_BEGIN,
	JSON_FP_ARRAY_END,
	JSON_FP_STRING, /* values: the length and the bytes, zero-padded to whole words */
	JSON_FP_UINT, /* value: the value */
	JSON_FP_INT, /* value: the value */
	JSON_FP_BOOL, /* value: 0 or 1 */
	JSON_FP_NULL,
	JSON_FP_DOUBLE, /* value: its bits; the head has the decimals in bits 48..55 */
	JSON_FP_RAW, /* as a string */
	JSON_FP_BYTES, /* as a string, with no key */
};

static inline uint64_t json_fp_head(enum json_fp_kind kind, const char *key)
{
	return (uint64_t)(uintptr_t)key ^ ((uint64_t)kind << 56);
}

/* Mixes the batch of waiting values into the fingerprint; room for more heads (json.c). */
void json_fp_flush(struct json_writer *w);
void json_fp_heads_grow(struct json_writer *w);

static inline void json_fp_put(struct json_writer *w, uint64_t value)
{
	if (w->fp_pos == w->space.words + JSON_FP_BATCH)
		json_fp_flush(w);
	*w->fp_pos++ = value;
}

static inline void json_fp_put_head(struct json_writer *w, uint64_t head)
{
	if (w->head_pos == w->head_end)
		json_fp_heads_grow(w);
	if (w->head_pos != w->head_end)
		*w->head_pos++ = head;
}

/* The text of each call below, and a string's words (json.c): use the calls themselves. */
void json_text_open(struct json_writer *w, const char *key, char c);
void json_text_close(struct json_writer *w, char c);
void json_text_string(struct json_writer *w, const char *key, const char *value);
void json_text_uint(struct json_writer *w, const char *key, uint64_t value);
void json_text_int(struct json_writer *w, const char *key, int64_t value);
void json_text_bool(struct json_writer *w, const char *key, bool value);
void json_text_null(struct json_writer *w, const char *key);
void json_text_double(struct json_writer *w, const char *key, double value, int decimals);
void json_fp_bytes(struct json_writer *w, enum json_fp_kind kind, const char *key, const void *p,
		   size_t len);

/* key is NULL inside arrays and for the top-level value. */
static inline void json_object_begin(struct json_writer *w, const char *key)
{
	if (w->fp)
		json_fp_put_head(w, json_fp_head(JSON_FP_OBJECT_BEGIN, key));
	else
		json_text_open(w, key, '{');
}

static inline void json_object_end(struct json_writer *w)
{
	if (w->fp)
		json_fp_put_head(w, json_fp_head(JSON_FP_OBJECT_END, NULL));
	else
		json_text_close(w, '}');
}

static inline void json_array_begin(struct json_writer *w, const char *key)
{
	if (w->fp)
		json_fp_put_head(w, json_fp_head(JSON_FP_ARRAY_BEGIN, key));
	else
		json_text_open(w, key, '[');
}

static inline void json_array_end(struct json_writer *w)
{
	if (w->fp)
		json_fp_put_head(w, json_fp_head(JSON_FP_ARRAY_END, NULL));
	else
		json_text_close(w, ']');
}

static inline void json_string(struct json_writer *w, const char *key, const char *value)
{
	if (w->fp)
		json_fp_bytes(w, JSON_FP_STRING, key, value, strlen(value));
	else
		json_text_string(w, key, value);
}

static inline void json_uint(struct json_writer *w, const char *key, uint64_t value)
{
	if (w->fp) {
		json_fp_put_head(w, json_fp_head(JSON_FP_UINT, key));
		json_fp_put(w, value);
	} else {
		json_text_uint(w, key, value);
	}
}

static inline void json_int(struct json_writer *w, const char *key, int64_t value)
{
	if (w->fp) {
		json_fp_put_head(w, json_fp_head(JSON_FP_INT, key));
		json_fp_put(w, (uint64_t)value);
	} else {
		json_text_int(w, key, value);
	}
}

static inline void json_bool(struct json_writer *w, const char *key, bool value)
{
	if (w->fp) {
		json_fp_put_head(w, json_fp_head(JSON_FP_BOOL, key));
		json_fp_put(w, value);
	} else {
		json_text_bool(w, key, value);
	}
}

static inline void json_null(struct json_writer *w, const char *key)
{
	if (w->fp)
		json_fp_put_head(w, json_fp_head(JSON_FP_NULL, key));
	else
		json_text_null(w, key);
}

/* Finite values with up to `decimals` fraction digits; NaN and infinities as null. */
static inline void json_double(struct json_writer *w, const char *key, double value, int decimals)
{
	uint64_t bits;

	if (!w->fp) {
		json_text_double(w, key, value, decimals);
		return;
	}
	/* The exact bits: equal bits print equally (-0.0 and 0.0 differ, as in text). */
	memcpy(&bits, &value, sizeof(bits));
	json_fp_put_head(w,
			 json_fp_head(JSON_FP_DOUBLE, key) ^ ((uint64_t)(uint8_t)decimals << 48));
	json_fp_put(w, bits);
}

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
