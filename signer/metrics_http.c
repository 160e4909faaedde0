/* metrics_http.c -- the metrics endpoint: GET /metrics served by
 * libmicrohttpd from one event-driven thread, with bounds on connections
 * in all, per address, per connection's memory and idle time. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <microhttpd.h>

#include "signer/signer.h"

struct signer_http {
	struct MHD_Daemon *daemon; /* owns the listening socket once started */
	signer_http_body_fn body;
	void *arg;
	unsigned open; /* connections open; only the daemon's thread */
};

/* libmicrohttpd's own messages (a refused connection, a malformed request)
 * are the peer's doing: debug level, so a flood cannot fill the log. */
static void http_log(void *cls, const char *fmt, va_list ap) __attribute__((format(printf, 2, 0)));
static void http_log(void *cls, const char *fmt, va_list ap)
{
	(void)cls;
	char msg[256];
	vsnprintf(msg, sizeof(msg), fmt, ap);
	size_t n = strlen(msg);
	while (n > 0 && (msg[n - 1] == '\n' || msg[n - 1] == '\r'))
		msg[--n] = '\0';
	sg_log(SG_LOG_DEBUG, "metrics: %s", msg);
}

static enum MHD_Result answer(struct MHD_Connection *conn, unsigned status, const char *ctype,
			      const void *data, size_t len, bool allow_get)
{
	struct MHD_Response *r = MHD_create_response_from_buffer(len, (void *)data,
								 MHD_RESPMEM_MUST_COPY);
	if (!r)
		return MHD_NO;
	/* One request per connection: a scraper holds no connection between
	 * scrapes, and an idle one is not worth a slot. */
	enum MHD_Result ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONTENT_TYPE, ctype);
	if (ok == MHD_YES)
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
	if (ok == MHD_YES)
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_CONNECTION, "close");
	if (ok == MHD_YES && allow_get)
		ok = MHD_add_response_header(r, MHD_HTTP_HEADER_ALLOW, "GET");
	if (ok == MHD_YES)
		ok = MHD_queue_response(conn, status, r);
	MHD_destroy_response(r);
	return ok;
}

static enum MHD_Result refuse(struct MHD_Connection *conn, unsigned status, const char *reason,
			      bool allow_get)
{
	char body[96];
	int n = snprintf(body, sizeof(body), "%u %s\n", status, reason);
	return answer(conn, status, "text/plain; charset=utf-8", body, (size_t)n, allow_get);
}

static enum MHD_Result count_arg(void *cls, enum MHD_ValueKind kind, const char *key,
				 const char *value)
{
	(void)kind;
	(void)key;
	(void)value;
	(*(unsigned *)cls)++;
	return MHD_YES;
}

/* Every request is answered on its first call, before any body is read:
 * only GET of the exact path has an answer worth waiting for. */
static enum MHD_Result handle(void *cls, struct MHD_Connection *conn, const char *url,
			      const char *method, const char *version, const char *upload,
			      size_t *upload_size, void **con_cls)
{
	(void)version;
	(void)upload;
	(void)upload_size;
	(void)con_cls;
	signer_http *h = cls;
	unsigned args = 0;
	MHD_get_connection_values(conn, MHD_GET_ARGUMENT_KIND, count_arg, &args);
	if (strcmp(url, "/metrics") != 0 || args != 0)
		return refuse(conn, MHD_HTTP_NOT_FOUND, "Not Found", false);
	if (strcmp(method, MHD_HTTP_METHOD_GET) != 0)
		return refuse(conn, MHD_HTTP_METHOD_NOT_ALLOWED, "Method Not Allowed", true);
	sg_buf body = SG_BUF_INIT;
	signet_err ret = h->body(h->arg, &body);
	enum MHD_Result r;
	if (ret == SIGNET_OK)
		r = answer(conn, MHD_HTTP_OK, "text/plain; version=0.0.4; charset=utf-8",
			   body.data ? (const void *)body.data : "", body.len, false);
	else
		r = refuse(conn, MHD_HTTP_INTERNAL_SERVER_ERROR, "Internal Server Error", false);
	sg_buf_free(&body);
	return r;
}

/* libmicrohttpd at its own connection limit stops accepting, so that new
 * connections wait in the kernel's queue until one times out; counting
 * here and refusing at the limit closes them at once instead, and its own
 * limit (higher) is never reached. Both callbacks run on its one thread. */
static enum MHD_Result accept_policy(void *cls, const struct sockaddr *addr, socklen_t len)
{
	(void)addr;
	(void)len;
	const signer_http *h = cls;
	return h->open < SIGNER_HTTP_CONNECTIONS_MAX ? MHD_YES : MHD_NO;
}

static void count_connection(void *cls, struct MHD_Connection *conn, void **socket_context,
			     enum MHD_ConnectionNotificationCode code)
{
	(void)conn;
	(void)socket_context;
	signer_http *h = cls;
	if (code == MHD_CONNECTION_NOTIFY_STARTED)
		h->open++;
	else if (code == MHD_CONNECTION_NOTIFY_CLOSED && h->open > 0)
		h->open--;
}

/* The listening socket is made here rather than by libmicrohttpd, so a
 * failure to bind keeps its errno for the caller and the log. */
static signet_err listen_on(const char *addr, int *fd_out, bool *v6)
{
	char host[64];
	uint16_t port = 0;
	bool loopback = false;
	signet_err ret = signer_address_split(addr, host, sizeof(host), &port, &loopback);
	if (ret != SIGNET_OK)
		return ret;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		sl = sizeof(*a4);
		*v6 = false;
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		sl = sizeof(*a6);
		*v6 = true;
	} else {
		return SIGNET_EPARSE;
	}
	int fd = socket(ss.ss_family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(fd, (struct sockaddr *)&ss, sl) != 0 ||
	    listen(fd, SIGNER_HTTP_CONNECTIONS_MAX) != 0) {
		int e = errno;
		sg_log(SG_LOG_ERROR, "metrics: cannot listen on %s: %s", addr, strerror(e));
		if (fd >= 0)
			close(fd);
		ret = signet_err_from_errno(e);
		return ret == SIGNET_OK ? SIGNET_EIO : ret;
	}
	*fd_out = fd;
	return SIGNET_OK;
}

signet_err signer_http_start(const char *addr, signer_http_body_fn body, void *arg,
			     signer_http **out)
{
	if (!addr || !body || !out)
		return SIGNET_EINVAL;
	*out = NULL;
	int fd = -1;
	bool v6 = false;
	signet_err ret = listen_on(addr, &fd, &v6);
	if (ret != SIGNET_OK)
		return ret;
	signer_http *h = calloc(1, sizeof(*h));
	if (!h) {
		close(fd);
		return SIGNET_ENOMEM;
	}
	h->body = body;
	h->arg = arg;
	/* One epoll thread serves every connection without blocking on any:
	 * an idle or slow peer holds a slot, never the thread. */
	unsigned flags = MHD_USE_INTERNAL_POLLING_THREAD | MHD_USE_EPOLL | MHD_USE_ERROR_LOG;
	if (v6)
		flags |= MHD_USE_IPv6;
	h->daemon = MHD_start_daemon(
		flags, 0, accept_policy, h, handle, h, MHD_OPTION_LISTEN_SOCKET, (MHD_socket)fd,
		MHD_OPTION_NOTIFY_CONNECTION, count_connection, h, MHD_OPTION_CONNECTION_LIMIT,
		(unsigned)SIGNER_HTTP_CONNECTIONS_MAX + 8, MHD_OPTION_PER_IP_CONNECTION_LIMIT,
		(unsigned)SIGNER_HTTP_PER_IP_MAX, MHD_OPTION_CONNECTION_TIMEOUT,
		(unsigned)SIGNER_HTTP_TIMEOUT_S, MHD_OPTION_CONNECTION_MEMORY_LIMIT,
		(size_t)SIGNER_HTTP_MEMORY_MAX, MHD_OPTION_EXTERNAL_LOGGER, http_log, NULL,
		MHD_OPTION_END);
	if (!h->daemon) {
		sg_log(SG_LOG_ERROR, "metrics: libmicrohttpd did not start on %s", addr);
		close(fd);
		free(h);
		return SIGNET_EIO;
	}
	*out = h;
	return SIGNET_OK;
}

void signer_http_stop(signer_http *h)
{
	if (!h)
		return;
	/* Joins the thread and closes the listener and every connection. */
	if (h->daemon)
		MHD_stop_daemon(h->daemon);
	free(h);
}
