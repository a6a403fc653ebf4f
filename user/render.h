/* SPDX-License-Identifier: GPL-2.0 */
/* Renderers turn a view into output. They never read BPF maps or discover anything. */
#ifndef REUSETOP_RENDER_H
#define REUSETOP_RENDER_H

#include <stdio.h>

#include "model.h"

/* One JSON object on one line per call (the contract in README.md). */
void render_json(FILE *f, const struct rt_view *v);
/* A plain-text table, no terminal control; a blank line ends each interval. */
void render_text(FILE *f, const struct rt_view *v);

/* Shared by renderers. */
const char *proto_name(uint8_t proto);
const char *family_name(uint8_t family);
/* "2026-11-21T23:40:00.123Z" into buf (at least 32 bytes). */
const char *iso8601_utc(const struct timespec *ts, char *buf, size_t len);

#endif
