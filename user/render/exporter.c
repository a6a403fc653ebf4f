// SPDX-License-Identifier: GPL-2.0
/*
 * The --prometheus endpoint on libmicrohttpd (its internal polling thread). The main thread
 * publishes a new exposition after each refresh; a scrape copies the current one under a mutex.
 * The static build (the qemu VM's, which has no libmicrohttpd.a dependencies to link against)
 * is compiled with RT_NO_EXPORTER and refuses --prometheus.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "render/exporter.h"

#ifdef RT_NO_EXPORTER

int exporter_start(struct rt_exporter **out, const struct rt_listen_addr *a, char *err,
		   size_t errlen)
{
	(void)a;
	*out = NULL;
	snprintf(err, errlen,
		 "this reusetop was built without the Prometheus exporter "
		 "(the static build leaves libmicrohttpd out)");
	return -EOPNOTSUPP;
}

void exporter_publish(struct rt_exporter *e, char *buf, size_t len)
{
	(void)e;
	(void)len;
	free(buf);
}

void exporter_stop(struct rt_exporter *e)
{
	(void)e;
}

#else

#include <pthread.h>
#include <signal.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>

#include <microhttpd.h>

#define CONTENT_TYPE "text/plain; version=0.0.4; charset=utf-8"

struct rt_exporter {
	struct MHD_Daemon *daemon;
	pthread_mutex_t lock;
	char *buf; /* the current exposition, NULL before the first refresh */
	size_t len;
};

static enum MHD_Result respond(struct MHD_Connection *conn, unsigned int status, const char *type,
			       const char *body, size_t len)
{
	struct MHD_Response *r;
	enum MHD_Result ret;

	r = MHD_create_response_from_buffer(len, (void *)body, MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, type);
	if (status == MHD_HTTP_METHOD_NOT_ALLOWED)
		MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET, HEAD");
	ret = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ret;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *conn, const char *url,
				  const char *method, const char *version, const char *upload_data,
				  size_t *upload_data_size, void **state)
{
	static const char not_found[] = "not found: reusetop serves /metrics\n";
	static const char not_yet[] = "no sample yet: the first refresh has not happened\n";
	static const char bad_method[] = "only GET and HEAD\n";
	struct rt_exporter *e = cls;
	enum MHD_Result ret;

	(void)version;
	(void)upload_data;
	(void)upload_data_size;
	(void)state;
	if (strcmp(method, MHD_HTTP_METHOD_GET) && strcmp(method, MHD_HTTP_METHOD_HEAD))
		return respond(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "text/plain", bad_method,
			       sizeof(bad_method) - 1);
	if (strcmp(url, "/metrics"))
		return respond(conn, MHD_HTTP_NOT_FOUND, "text/plain", not_found,
			       sizeof(not_found) - 1);
	pthread_mutex_lock(&e->lock);
	if (e->buf)
		ret = respond(conn, MHD_HTTP_OK, CONTENT_TYPE, e->buf, e->len);
	else
		ret = respond(conn, MHD_HTTP_SERVICE_UNAVAILABLE, "text/plain", not_yet,
			      sizeof(not_yet) - 1);
	pthread_mutex_unlock(&e->lock);
	return ret;
}

/* Our own socket, so that a port in use is reported as such (MHD only says it failed). */
static int listen_on(const struct rt_listen_addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss = {};
	char host[INET6_ADDRSTRLEN];
	socklen_t sl;
	int fd, one = 1;

	if (a->family == AF_INET6) {
		struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)&ss;

		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons(a->port);
		memcpy(&sin6->sin6_addr, a->addr, 16);
		sl = sizeof(*sin6);
	} else {
		struct sockaddr_in *sin = (struct sockaddr_in *)&ss;

		sin->sin_family = AF_INET;
		sin->sin_port = htons(a->port);
		memcpy(&sin->sin_addr, a->addr, 4);
		sl = sizeof(*sin);
	}
	inet_ntop(a->family, a->addr, host, sizeof(host));
	fd = socket(a->family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0) {
		snprintf(err, errlen, "failed to create the exporter's socket: %s",
			 strerror(errno));
		return -errno;
	}
	/* SO_REUSEADDR lets a restart bind over TIME_WAIT; a live listener still refuses. */
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(fd, (struct sockaddr *)&ss, sl) || listen(fd, 64)) {
		int ret = -errno;

		snprintf(err, errlen, "failed to listen on %s%s%s:%u for --prometheus: %s",
			 a->family == AF_INET6 ? "[" : "", host, a->family == AF_INET6 ? "]" : "",
			 a->port, strerror(-ret));
		close(fd);
		return ret;
	}
	return fd;
}

int exporter_start(struct rt_exporter **out, const struct rt_listen_addr *a, char *err,
		   size_t errlen)
{
	struct rt_exporter *e;
	sigset_t block, old;
	int fd;

	*out = NULL;
	fd = listen_on(a, err, errlen);
	if (fd < 0)
		return fd;
	e = calloc(1, sizeof(*e));
	if (!e) {
		close(fd);
		snprintf(err, errlen, "failed to start the exporter: %s", strerror(ENOMEM));
		return -ENOMEM;
	}
	pthread_mutex_init(&e->lock, NULL);
	/*
	 * The server thread inherits this mask: SIGINT and SIGTERM must reach the main thread,
	 * whose sleep between refreshes they interrupt.
	 */
	sigemptyset(&block);
	sigaddset(&block, SIGINT);
	sigaddset(&block, SIGTERM);
	sigaddset(&block, SIGHUP);
	sigaddset(&block, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &block, &old);
	e->daemon = MHD_start_daemon(MHD_USE_INTERNAL_POLLING_THREAD |
					     (a->family == AF_INET6 ? MHD_USE_IPv6 : 0),
				     0, NULL, NULL, on_request, e, MHD_OPTION_LISTEN_SOCKET, fd,
				     MHD_OPTION_CONNECTION_LIMIT, 32u,
				     MHD_OPTION_CONNECTION_TIMEOUT, 10u, MHD_OPTION_END);
	pthread_sigmask(SIG_SETMASK, &old, NULL);
	if (!e->daemon) {
		close(fd);
		pthread_mutex_destroy(&e->lock);
		free(e);
		snprintf(err, errlen, "failed to start the exporter's HTTP server (libmicrohttpd)");
		return -EIO;
	}
	*out = e;
	return 0;
}

void exporter_publish(struct rt_exporter *e, char *buf, size_t len)
{
	char *old;

	pthread_mutex_lock(&e->lock);
	old = e->buf;
	e->buf = buf;
	e->len = len;
	pthread_mutex_unlock(&e->lock);
	free(old);
}

void exporter_stop(struct rt_exporter *e)
{
	if (!e)
		return;
	/* Joins the server thread and closes the listening socket. */
	MHD_stop_daemon(e->daemon);
	pthread_mutex_destroy(&e->lock);
	free(e->buf);
	free(e);
}

#endif
