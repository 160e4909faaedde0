/* metrics_http.c -- the metrics endpoint: a small, bounded HTTP/1.1 server
 * on one thread that answers GET /metrics and refuses everything else. */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "signer/signer.h"

struct signer_http {
	int listen_fd;
	int wake[2];                 /* a byte on wake[1] stops the thread */
	pthread_t thread;
	bool started;
	signer_http_body_fn body;
	void *arg;
};

static int64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Wait until fd is ready for events or the deadline passes. */
static bool wait_fd(int fd, short events, int64_t deadline)
{
	for (;;) {
		int64_t left = deadline - now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {fd, events, 0};
		int r = poll(&p, 1, (int)left);
		if (r > 0)
			return true;
		if (r < 0 && errno != EINTR)
			return false;
	}
}

static void send_all(int fd, const void *data, size_t len, int64_t deadline)
{
	const uint8_t *p = data;
	while (len > 0) {
		if (!wait_fd(fd, POLLOUT, deadline))
			return;
		ssize_t n = send(fd, p, len, MSG_NOSIGNAL);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;
		p += n;
		len -= (size_t)n;
	}
}

static void respond(int fd, int status, const char *reason, const char *extra,
		    const uint8_t *body, size_t len, int64_t deadline)
{
	char head[512];
	int n = snprintf(head, sizeof(head),
			 "HTTP/1.1 %d %s\r\n"
			 "Content-Type: %s\r\n"
			 "Content-Length: %zu\r\n"
			 "Cache-Control: no-store\r\n"
			 "%s"
			 "Connection: close\r\n\r\n",
			 status, reason,
			 status == 200 ? "text/plain; version=0.0.4; charset=utf-8"
				       : "text/plain; charset=utf-8",
			 len, extra ? extra : "");
	if (n <= 0 || (size_t)n >= sizeof(head))
		return;
	send_all(fd, head, (size_t)n, deadline);
	if (len)
		send_all(fd, body, len, deadline);
}

static void refuse(int fd, int status, const char *reason, const char *extra,
		   int64_t deadline)
{
	char body[96];
	int n = snprintf(body, sizeof(body), "%d %s\n", status, reason);
	respond(fd, status, reason, extra, (const uint8_t *)body, (size_t)n, deadline);
}

/* Read the request head (up to the blank line), answer it, close. */
static void serve(signer_http *h, int fd)
{
	int64_t deadline = now_ms() + SIGNER_HTTP_TIMEOUT_MS;
	char req[SIGNER_HTTP_HEADER_MAX + 1];
	size_t len = 0;
	char *end = NULL;
	while (!end) {
		if (len == SIGNER_HTTP_HEADER_MAX) {
			refuse(fd, 431, "Request Header Fields Too Large", NULL, deadline);
			return;
		}
		if (!wait_fd(fd, POLLIN, deadline)) {
			refuse(fd, 408, "Request Timeout", NULL, now_ms() + 200);
			return;
		}
		ssize_t n = recv(fd, req + len, SIGNER_HTTP_HEADER_MAX - len, 0);
		if (n < 0 && (errno == EINTR || errno == EAGAIN))
			continue;
		if (n <= 0)
			return;  /* the peer went away */
		len += (size_t)n;
		req[len] = '\0';
		if (memchr(req, '\0', len)) {
			refuse(fd, 400, "Bad Request", NULL, deadline);
			return;
		}
		end = strstr(req, "\r\n\r\n");
	}
	/* The request line: METHOD SP TARGET SP HTTP/1.x */
	char *eol = strstr(req, "\r\n");
	*eol = '\0';
	char *sp1 = strchr(req, ' ');
	char *sp2 = sp1 ? strchr(sp1 + 1, ' ') : NULL;
	if (!sp1 || !sp2 || sp1 == req || sp2 == sp1 + 1 || strchr(sp2 + 1, ' ') ||
	    (strcmp(sp2 + 1, "HTTP/1.1") != 0 && strcmp(sp2 + 1, "HTTP/1.0") != 0)) {
		refuse(fd, 400, "Bad Request", NULL, deadline);
		return;
	}
	*sp1 = '\0';
	*sp2 = '\0';
	const char *method = req, *target = sp1 + 1;
	if (strcmp(target, "/metrics") != 0) {
		refuse(fd, 404, "Not Found", NULL, deadline);
		return;
	}
	if (strcmp(method, "GET") != 0) {
		refuse(fd, 405, "Method Not Allowed", "Allow: GET\r\n", deadline);
		return;
	}
	sg_buf body = SG_BUF_INIT;
	signet_err ret = h->body(h->arg, &body);
	if (ret == SIGNET_OK)
		respond(fd, 200, "OK", NULL, body.data, body.len, deadline);
	else
		refuse(fd, 500, "Internal Server Error", NULL, deadline);
	sg_buf_free(&body);
}

/* Closing with unread input makes the kernel send a reset, which can make
 * the client lose the answer it was sent: read what has arrived (bounded,
 * without waiting) first. */
static void drain(int fd)
{
	char junk[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t n = recv(fd, junk, sizeof(junk), MSG_DONTWAIT);
		if (n <= 0)
			break;
	}
}

static void *http_main(void *arg)
{
	signer_http *h = arg;
	for (;;) {
		struct pollfd p[2] = {{h->listen_fd, POLLIN, 0}, {h->wake[0], POLLIN, 0}};
		int r = poll(p, 2, -1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 || p[1].revents)
			break;
		if (!(p[0].revents & POLLIN))
			continue;
		int fd = accept4(h->listen_fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);
		if (fd < 0)
			continue;
		/* One connection at a time and one request per connection: the
		 * timeout bounds how long a slow client can hold the endpoint. */
		serve(h, fd);
		shutdown(fd, SHUT_WR);
		drain(fd);
		close(fd);
	}
	return NULL;
}

signet_err signer_http_start(const char *addr, signer_http_body_fn body, void *arg,
			     signer_http **out)
{
	if (!addr || !body || !out)
		return SIGNET_EINVAL;
	*out = NULL;
	char host[64];
	uint16_t port = 0;
	bool loopback = false;
	signet_err ret = signer_address_split(addr, host, sizeof(host), &port, &loopback);
	if (ret != SIGNET_OK)
		return ret;
	struct sockaddr_storage ss;
	memset(&ss, 0, sizeof(ss));
	socklen_t sl;
	int family;
	struct sockaddr_in *a4 = (struct sockaddr_in *)&ss;
	struct sockaddr_in6 *a6 = (struct sockaddr_in6 *)&ss;
	if (inet_pton(AF_INET, host, &a4->sin_addr) == 1) {
		family = AF_INET;
		a4->sin_family = AF_INET;
		a4->sin_port = htons(port);
		sl = sizeof(*a4);
	} else if (inet_pton(AF_INET6, host, &a6->sin6_addr) == 1) {
		family = AF_INET6;
		a6->sin6_family = AF_INET6;
		a6->sin6_port = htons(port);
		sl = sizeof(*a6);
	} else {
		return SIGNET_EPARSE;
	}
	signer_http *h = calloc(1, sizeof(*h));
	if (!h)
		return SIGNET_ENOMEM;
	h->wake[0] = h->wake[1] = -1;
	h->body = body;
	h->arg = arg;
	h->listen_fd = socket(family, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	int one = 1;
	if (h->listen_fd < 0 ||
	    setsockopt(h->listen_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
	    bind(h->listen_fd, (struct sockaddr *)&ss, sl) != 0 || listen(h->listen_fd, 16) != 0 ||
	    pipe2(h->wake, O_CLOEXEC) != 0) {
		ret = signet_err_from_errno(errno);
		sg_log(SG_LOG_ERROR, "metrics: cannot listen on %s: %s", addr, strerror(errno));
		signer_http_stop(h);
		return ret == SIGNET_OK ? SIGNET_EIO : ret;
	}
	if (pthread_create(&h->thread, NULL, http_main, h) != 0) {
		signer_http_stop(h);
		return SIGNET_ENOMEM;
	}
	h->started = true;
	*out = h;
	return SIGNET_OK;
}

void signer_http_stop(signer_http *h)
{
	if (!h)
		return;
	if (h->started) {
		ssize_t n;
		do
			n = write(h->wake[1], "x", 1);
		while (n < 0 && errno == EINTR);
		pthread_join(h->thread, NULL);
	}
	if (h->listen_fd >= 0)
		close(h->listen_fd);
	if (h->wake[0] >= 0)
		close(h->wake[0]);
	if (h->wake[1] >= 0)
		close(h->wake[1]);
	free(h);
}
