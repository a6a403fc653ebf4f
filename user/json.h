/* SPDX-License-Identifier: GPL-2.0 */
/* A minimal streaming JSON writer: one line per document, NaN written as null. */
#ifndef REUSETOP_JSON_H
#define REUSETOP_JSON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define JSON_MAX_DEPTH 16

struct json_writer {
	FILE *f;
	int depth;
	bool need_comma[JSON_MAX_DEPTH];
};

void json_init(struct json_writer *w, FILE *f);
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
/*
 * Length of the valid UTF-8 sequence at s (1 to 4), or 0 when it is not one (overlong forms,
 * surrogates and values past U+10FFFF are not valid). Shared by every escaping writer.
 */
size_t utf8_valid_len(const unsigned char *s);
/* A string with JSON escaping (quotes included); invalid UTF-8 bytes become U+FFFD. */
void json_write_escaped(FILE *f, const char *s);

#endif
