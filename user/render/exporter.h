/* SPDX-License-Identifier: GPL-2.0 */
/*
 * The --prometheus HTTP endpoint: libmicrohttpd on its own thread serves GET /metrics from the
 * last exposition main published (render_prometheus after each refresh). It never reads BPF
 * maps or discovers anything; a scrape never triggers a refresh.
 */
#ifndef REUSETOP_EXPORTER_H
#define REUSETOP_EXPORTER_H

#include <stddef.h>

#include "opts.h"

/*
 * At most this many sockets get series (the first ones in view order); the rest are counted in
 * reusetop_sockets_omitted. A TCP listener has at most 42 series, a UDP socket 5, a group 4.
 */
#define RT_PROM_MAX_SOCKETS 1000

struct rt_exporter;

/*
 * Listen on a (bound and listening before this returns) and serve. Returns 0, or -errno with a
 * one-line reason in err: -EOPNOTSUPP when this build has no exporter (the static build).
 */
int exporter_start(struct rt_exporter **out, const struct rt_listen_addr *a, char *err,
		   size_t errlen);
/* Serve buf (len bytes, malloc'ed; the exporter owns it from now on) from now on. */
void exporter_publish(struct rt_exporter *e, char *buf, size_t len);
/* Stop serving and close the socket; NULL is fine. */
void exporter_stop(struct rt_exporter *e);

#endif
