// SPDX-License-Identifier: GPL-2.0
/*
 * JSON text is built in memory and handed to stdio in large pieces, and numbers are formatted
 * without printf where that is exact: with 10,000 listeners -j writes about 10 MB a second,
 * and per-byte stdio calls and printf were most of reusetop's CPU time.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "render/json.h"
#include "util.h"

void json_buf_free(struct json_buf *b)
{
	free(b->data);
	*b = (struct json_buf){0};
}

bool json_buf_reserve(struct json_buf *b, size_t n)
{
	size_t cap = b->cap ? b->cap : 256;
	char *p;

	if (b->failed)
		return false;
	if (b->cap - b->len >= n)
		return true;
	while (cap - b->len < n) {
		if (cap > SIZE_MAX / 2) {
			b->failed = true;
			return false;
		}
		cap *= 2;
	}
	if (!(p = realloc(b->data, cap))) {
		b->failed = true;
		return false;
	}
	b->data = p;
	b->cap = cap;
	return true;
}

static void flush(struct json_writer *w)
{
	if (w->f && w->out.len) {
		fwrite(w->out.data, 1, w->out.len, w->f);
		w->out.len = 0;
	}
}

static void put_slow(struct json_writer *w, const void *p, size_t n)
{
	if (!w->f) {
		if (json_buf_reserve(w->buf, n)) {
			memcpy(w->buf->data + w->buf->len, p, n);
			w->buf->len += n;
		}
		return;
	}
	flush(w);
	if (n > w->out.cap) {
		fwrite(p, 1, n, w->f);
		return;
	}
	memcpy(w->out.data, p, n);
	w->out.len = n;
}

static inline void put(struct json_writer *w, const void *p, size_t n)
{
	struct json_buf *b = w->buf;

	if (!n)
		return;
	if (n > b->cap - b->len) {
		put_slow(w, p, n);
		return;
	}
	memcpy(b->data + b->len, p, n);
	b->len += n;
}

static inline void put_char(struct json_writer *w, char c)
{
	struct json_buf *b = w->buf;

	if (b->len < b->cap)
		b->data[b->len++] = c;
	else
		put_slow(w, &c, 1);
}

static void put_str(struct json_writer *w, const char *s)
{
	put(w, s, strlen(s));
}

void json_init(struct json_writer *w, FILE *f)
{
	w->f = f;
	w->out = (struct json_buf){.data = w->space.text, .cap = sizeof(w->space.text)};
	w->buf = &w->out;
	w->fp = NULL;
	w->depth = 0;
	memset(w->need_comma, 0, sizeof(w->need_comma));
}

void json_init_buf(struct json_writer *w, struct json_buf *b, int depth)
{
	w->f = NULL;
	w->out = (struct json_buf){0};
	w->buf = b;
	w->fp = NULL;
	w->depth = depth;
	memset(w->need_comma, 0, sizeof(w->need_comma));
}

size_t utf8_valid_len(const unsigned char *s)
{
	size_t n;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if ((s[0] & 0xe0) == 0xc0)
		n = 2, cp = s[0] & 0x1f;
	else if ((s[0] & 0xf0) == 0xe0)
		n = 3, cp = s[0] & 0x0f;
	else if ((s[0] & 0xf8) == 0xf0)
		n = 4, cp = s[0] & 0x07;
	else
		return 0;
	for (size_t i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* Reject overlong forms, surrogates and values past U+10FFFF. */
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
	    (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
		return 0;
	return n;
}

/* Printable ASCII other than the quote and the backslash is written as it is. */
static inline bool plain_ascii(unsigned char c)
{
	return c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
}

static void put_escaped(struct json_writer *w, const char *str)
{
	static const char hex[] = "0123456789abcdef";
	const unsigned char *s = (const unsigned char *)str, *run;

	put_char(w, '"');
	for (;;) {
		/* Runs of bytes that need no escaping, valid UTF-8 included, go in one copy. */
		for (run = s; *s; s++) {
			size_t n;

			if (plain_ascii(*s))
				continue;
			if (*s < 0x80 || !(n = utf8_valid_len(s)))
				break;
			s += n - 1;
		}
		put(w, run, (size_t)(s - run));
		if (!*s)
			break;
		switch (*s) {
		case '"':
			put(w, "\\\"", 2);
			break;
		case '\\':
			put(w, "\\\\", 2);
			break;
		case '\n':
			put(w, "\\n", 2);
			break;
		case '\r':
			put(w, "\\r", 2);
			break;
		case '\t':
			put(w, "\\t", 2);
			break;
		default:
			if (*s < 0x20 || *s == 0x7f) {
				char u[6] = {'\\', 'u', '0', '0', hex[*s >> 4], hex[*s & 15]};

				put(w, u, sizeof(u));
			} else {
				put(w, "\\ufffd", 6); /* not valid UTF-8 */
			}
			break;
		}
		s++;
	}
	put_char(w, '"');
}

void json_write_escaped(FILE *f, const char *s)
{
	struct json_writer w;

	json_init(&w, f);
	put_escaped(&w, s);
	flush(&w);
}

/* ---- fingerprints ---- */

/*
 * Each pair of words, a head and a value, into one lane of a pair (the odd and the even pairs
 * take turns): both words with a full 64x64->128-bit multiply folded to 64 bits (as in wyhash),
 * under constants of its own, the lane's second word with the words' roles swapped, so that
 * what collides in one does not in the other.
 */
static inline uint64_t fold_mul(uint64_t a, uint64_t b)
{
	unsigned __int128 r = (unsigned __int128)a * b;

	return (uint64_t)r ^ (uint64_t)(r >> 64);
}

static inline void fp_lane(uint64_t *l0, uint64_t *l1, uint64_t head, uint64_t value)
{
	*l0 = fold_mul(*l0 ^ head ^ 0xa0761d6478bd642full, value ^ 0xe7037ed1a0b428dbull);
	*l1 = fold_mul(*l1 ^ value ^ 0x8ebc6af09c88c6e3ull, head ^ 0x589965cc75374cc3ull);
}

static inline uint64_t load64(const unsigned char *p)
{
	uint64_t v;

	memcpy(&v, p, sizeof(v));
	return v;
}

/*
 * n words at p (unaligned) into fp, which has taken an even number so far; an odd last word is
 * paired with a zero (the count tells it apart). The lanes are locals, so that their four
 * multiply chains run side by side.
 */
static void fp_absorb(struct json_fingerprint *fp, const unsigned char *p, size_t n)
{
	uint64_t a0 = fp->lane[0][0], a1 = fp->lane[0][1], b0 = fp->lane[1][0], b1 = fp->lane[1][1];
	const size_t w = sizeof(uint64_t);
	size_t i = 0;

	for (; i + 4 <= n; i += 4) {
		fp_lane(&a0, &a1, load64(p + i * w), load64(p + (i + 1) * w));
		fp_lane(&b0, &b1, load64(p + (i + 2) * w), load64(p + (i + 3) * w));
	}
	if (i + 2 <= n) {
		fp_lane(&a0, &a1, load64(p + i * w), load64(p + (i + 1) * w));
		i += 2;
		if (i < n)
			fp_lane(&b0, &b1, load64(p + i * w), 0);
	} else if (i < n) {
		fp_lane(&a0, &a1, load64(p + i * w), 0);
	}
	fp->lane[0][0] = a0;
	fp->lane[0][1] = a1;
	fp->lane[1][0] = b0;
	fp->lane[1][1] = b1;
	fp->words += n;
}

static void fp_reset(struct json_fingerprint *fp)
{
	*fp = (struct json_fingerprint){{{0x243f6a8885a308d3ull, 0x13198a2e03707344ull},
					 {0xa4093822299f31d0ull, 0x082efa98ec4e6c89ull}},
					0};
}

void json_init_fingerprint(struct json_writer *w, struct json_fingerprint *fp,
			   struct json_fp_shapes *shapes, int depth)
{
	int cur = shapes->cur;

	/* No text is written: its empty buffer is the writer's own. */
	json_init_buf(w, &w->out, depth);
	fp_reset(fp);
	w->fp = fp;
	w->fp_pos = w->space.words;
	w->shapes = shapes;
	w->head_pos = w->head_end = shapes->words[cur];
	if (w->head_pos)
		w->head_end += shapes->cap[cur];
	w->failed = false;
}

void json_fp_shapes_free(struct json_fp_shapes *s)
{
	free(s->words[0]);
	free(s->words[1]);
	*s = (struct json_fp_shapes){0};
}

/* A batch is JSON_FP_BATCH words, an even number: only the last one can be odd. */
void json_fp_flush(struct json_writer *w)
{
	fp_absorb(w->fp, (const unsigned char *)w->space.words,
		  (size_t)(w->fp_pos - w->space.words));
	w->fp_pos = w->space.words;
}

/* Twice the room for heads; on failure none (the writer failed). */
void json_fp_heads_grow(struct json_writer *w)
{
	struct json_fp_shapes *s = w->shapes;
	int cur = s->cur;
	/* From the end: the words' old address is no use after realloc(). */
	size_t len = w->head_pos ? s->cap[cur] - (size_t)(w->head_end - w->head_pos) : 0;
	size_t cap = s->cap[cur] ? 2 * s->cap[cur] : 256;
	uint64_t *p = NULL;

	if (!w->failed && cap <= SIZE_MAX / sizeof(*p))
		p = realloc(s->words[cur], cap * sizeof(*p));
	if (!p) {
		w->failed = true;
		w->head_pos = w->head_end;
		return;
	}
	s->words[cur] = p;
	s->cap[cur] = cap;
	w->head_pos = p + len;
	w->head_end = p + cap;
}

/*
 * The heads: the fingerprint of the last writer's when they are the same words, else theirs.
 * A differing one is kept as the last, and the buffer of the one before is used next.
 */
static void heads_fingerprint(struct json_writer *w, struct json_fingerprint *out)
{
	struct json_fp_shapes *s = w->shapes;
	int cur = s->cur;
	size_t len = w->head_pos ? (size_t)(w->head_pos - s->words[cur]) : 0;

	if (s->have_last && len == s->len[!cur] &&
	    (!len || !memcmp(s->words[cur], s->words[!cur], len * sizeof(uint64_t)))) {
		*out = s->last;
		return;
	}
	json_fingerprint_of(out, s->words[cur], len * sizeof(uint64_t));
	s->len[cur] = len;
	s->last = *out;
	s->have_last = true;
	s->cur = !cur;
}

bool json_fingerprint_finish(struct json_writer *w)
{
	struct json_fingerprint heads;

	if (!w->fp || w->failed)
		return false;
	heads_fingerprint(w, &heads);
	/* The values' words, then the heads' fingerprint: equal when both are. */
	json_fp_put(w, heads.lane[0][0]);
	json_fp_put(w, heads.lane[0][1]);
	json_fp_put(w, heads.lane[1][0]);
	json_fp_put(w, heads.lane[1][1]);
	json_fp_put(w, heads.words);
	json_fp_flush(w);
	return true;
}

void json_fp_bytes(struct json_writer *w, enum json_fp_kind kind, const char *key, const void *p,
		   size_t len)
{
	const unsigned char *b = p;
	size_t i = 0;
	uint64_t word;

	json_fp_put_head(w, json_fp_head(kind, key));
	json_fp_put(w, len);
	for (; i + sizeof(word) <= len; i += sizeof(word)) {
		memcpy(&word, b + i, sizeof(word));
		json_fp_put(w, word);
	}
	/* The last bytes, zero-padded: a loop of a few rather than a memcpy() of unknown size. */
	if (i < len) {
		word = 0;
		for (unsigned int k = 0; i + k < len; k++)
			word |= (uint64_t)b[i + k] << (8 * k);
		json_fp_put(w, word);
	}
}

void json_fingerprint_bytes(struct json_writer *w, const void *p, size_t len)
{
	if (w->fp)
		json_fp_bytes(w, JSON_FP_BYTES, NULL, p, len);
}

/* The words of JSON_FP_BYTES: straight from p, not through a writer. */
void json_fingerprint_of(struct json_fingerprint *fp, const void *p, size_t len)
{
	uint64_t word[2] = {json_fp_head(JSON_FP_BYTES, NULL), len};
	size_t whole = len / sizeof(*word);

	fp_reset(fp);
	fp_absorb(fp, (const unsigned char *)word, 2);
	/* An even number of words first: fp_absorb() pairs an odd last one with a zero. */
	fp_absorb(fp, p, whole & ~(size_t)1);
	if (len % (2 * sizeof(*word))) {
		memset(word, 0, sizeof(word));
		memcpy(word, (const unsigned char *)p + (whole & ~(size_t)1) * sizeof(*word),
		       len % (2 * sizeof(*word)));
		fp_absorb(fp, (const unsigned char *)word, len % (2 * sizeof(*word)) > 8 ? 2 : 1);
	}
}

/* ---- values ---- */

/* The end of a value: a top-level one is complete, so its text goes out now. */
static inline void value_done(struct json_writer *w)
{
	if (w->depth == 0)
		flush(w);
}

static void json_key(struct json_writer *w, const char *key)
{
	if (w->depth > 0 && w->depth <= JSON_MAX_DEPTH) {
		if (w->need_comma[w->depth - 1])
			put_char(w, ',');
		w->need_comma[w->depth - 1] = true;
	}
	if (key) {
		put_escaped(w, key);
		put_char(w, ':');
	}
}

void json_text_open(struct json_writer *w, const char *key, char c)
{
	json_key(w, key);
	put_char(w, c);
	if (w->depth < JSON_MAX_DEPTH)
		w->need_comma[w->depth] = false;
	w->depth++;
}

void json_text_close(struct json_writer *w, char c)
{
	put_char(w, c);
	if (w->depth > 0)
		w->depth--;
	if (w->depth == 0) {
		put_char(w, '\n');
		flush(w);
	}
}

void json_text_string(struct json_writer *w, const char *key, const char *value)
{
	json_key(w, key);
	put_escaped(w, value);
	value_done(w);
}

static void put_uint(struct json_writer *w, uint64_t v, bool negative)
{
	char buf[24], *end = buf + sizeof(buf), *p = u64_digits(end, v);

	if (negative)
		*--p = '-';
	put(w, p, (size_t)(end - p));
}

void json_text_uint(struct json_writer *w, const char *key, uint64_t value)
{
	json_key(w, key);
	put_uint(w, value, false);
	value_done(w);
}

void json_text_int(struct json_writer *w, const char *key, int64_t value)
{
	json_key(w, key);
	/* The magnitude in unsigned arithmetic: -INT64_MIN does not fit an int64_t. */
	put_uint(w, value < 0 ? 0 - (uint64_t)value : (uint64_t)value, value < 0);
	value_done(w);
}

void json_text_bool(struct json_writer *w, const char *key, bool value)
{
	json_key(w, key);
	put_str(w, value ? "true" : "false");
	value_done(w);
}

void json_text_null(struct json_writer *w, const char *key)
{
	json_key(w, key);
	put(w, "null", 4);
	value_done(w);
}

/* "%.*f" without printf when that is exact (util.h): most rates, shares and percentiles. */
static bool put_fixed_exact(struct json_writer *w, double value, int decimals)
{
	char buf[48], *end = buf + sizeof(buf), *p = fixed_exact(end, value, decimals);

	if (p)
		put(w, p, (size_t)(end - p));
	return p != NULL;
}

void json_text_double(struct json_writer *w, const char *key, double value, int decimals)
{
	char small[64];
	int n;

	json_key(w, key);
	if (!isfinite(value)) {
		put(w, "null", 4);
	} else if (!put_fixed_exact(w, value, decimals)) {
		n = snprintf(small, sizeof(small), "%.*f", decimals, value);
		if (n >= 0 && (size_t)n < sizeof(small)) {
			put(w, small, (size_t)n);
		} else if (n >= 0) {
			/* Huge values: up to 309 integer digits. */
			char *big = malloc((size_t)n + 1);

			if (big) {
				snprintf(big, (size_t)n + 1, "%.*f", decimals, value);
				put(w, big, (size_t)n);
				free(big);
			} else {
				w->buf->failed = true;
			}
		}
	}
	value_done(w);
}

void json_raw(struct json_writer *w, const char *key, const char *text, size_t len)
{
	if (w->fp) {
		json_fp_bytes(w, JSON_FP_RAW, key, text, len);
		return;
	}
	json_key(w, key);
	if (w->f) {
		/* Straight to stdio: copying large pieces into our buffer first would be a copy more. */
		flush(w);
		fwrite(text, 1, len, w->f);
	} else {
		put(w, text, len);
	}
	value_done(w);
}
