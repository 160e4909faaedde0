/* signetd_h2raw.c -- hand-built HTTP/2 frames over TLS for hostile tests
 * (see signetd_h2raw.h). */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include "tests/lib/signetd_h2raw.h"

#define OUT_MAX (1024 * 1024)
#define IN_MAX (64 * 1024)

enum { F_DATA = 0, F_HEADERS = 1, F_RST = 3, F_SETTINGS = 4, F_PING = 6, F_GOAWAY = 7 };

struct h2raw {
	int fd;
	SSL_CTX *ctx;
	SSL *ssl;
	bool alive, ack_settings;
	uint8_t out[OUT_MAX];
	size_t outlen;
	uint8_t in[IN_MAX];     /* a partial frame carried between reads */
	size_t inlen;
	unsigned goaways, resets;
};

static long now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (long)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static int frame(h2raw *h, uint8_t type, uint8_t flags, uint32_t stream, const uint8_t *p,
		 size_t len)
{
	if (len > 16384 || h->outlen + 9 + len > OUT_MAX)
		return -1;
	uint8_t *o = h->out + h->outlen;
	o[0] = (uint8_t)(len >> 16);
	o[1] = (uint8_t)(len >> 8);
	o[2] = (uint8_t)len;
	o[3] = type;
	o[4] = flags;
	o[5] = (uint8_t)(stream >> 24 & 0x7f);
	o[6] = (uint8_t)(stream >> 16);
	o[7] = (uint8_t)(stream >> 8);
	o[8] = (uint8_t)stream;
	if (len)
		memcpy(o + 9, p, len);
	h->outlen += 9 + len;
	return 0;
}

/* HPACK integer with a 7-bit prefix (RFC 7541 5.1), H bit clear. */
static size_t hpack_len(uint8_t *o, size_t n)
{
	size_t k = 0;
	if (n < 127) {
		o[k++] = (uint8_t)n;
		return k;
	}
	o[k++] = 127;
	n -= 127;
	while (n >= 128) {
		o[k++] = (uint8_t)(n % 128 + 128);
		n /= 128;
	}
	o[k++] = (uint8_t)n;
	return k;
}

/* A literal header field without indexing, new name (RFC 7541 6.2.2). */
static size_t hpack_field(uint8_t *o, const char *name, const char *value)
{
	size_t k = 0, nl = strlen(name), vl = strlen(value);
	o[k++] = 0x00;
	k += hpack_len(o + k, nl);
	memcpy(o + k, name, nl);
	k += nl;
	k += hpack_len(o + k, vl);
	memcpy(o + k, value, vl);
	return k + vl;
}

int h2raw_headers(h2raw *h, uint32_t stream, const char *path, bool end_stream)
{
	uint8_t b[1024];
	size_t k = 0;
	if (strlen(path) > 200)
		return -1;
	k += hpack_field(b + k, ":method", "POST");
	k += hpack_field(b + k, ":scheme", "https");
	k += hpack_field(b + k, ":path", path);
	k += hpack_field(b + k, ":authority", "localhost");
	k += hpack_field(b + k, "content-type", "application/grpc");
	k += hpack_field(b + k, "te", "trailers");
	/* END_HEADERS, and END_STREAM when asked */
	return frame(h, F_HEADERS, (uint8_t)(0x4 | (end_stream ? 0x1 : 0)), stream, b, k);
}

int h2raw_message(h2raw *h, uint32_t stream, const uint8_t *msg, size_t len)
{
	if (len > 16384 - 5)
		return -1;
	uint8_t b[16384];
	b[0] = 0;
	b[1] = (uint8_t)(len >> 24);
	b[2] = (uint8_t)(len >> 16);
	b[3] = (uint8_t)(len >> 8);
	b[4] = (uint8_t)len;
	if (len)
		memcpy(b + 5, msg, len);
	return frame(h, F_DATA, 0x1, stream, b, len + 5);
}

int h2raw_rst(h2raw *h, uint32_t stream)
{
	static const uint8_t cancel[4] = {0, 0, 0, 8};
	return frame(h, F_RST, 0, stream, cancel, 4);
}

/* Look at the complete frames read so far. */
static void parse(h2raw *h)
{
	size_t pos = 0;
	while (h->inlen - pos >= 9) {
		const uint8_t *f = h->in + pos;
		size_t len = (size_t)f[0] << 16 | (size_t)f[1] << 8 | f[2];
		if (len > IN_MAX - 9) {
			h->alive = false;  /* larger than we ever allow: give up */
			h->inlen = 0;
			return;
		}
		if (h->inlen - pos < 9 + len)
			break;
		if (f[3] == F_GOAWAY)
			h->goaways++;
		else if (f[3] == F_RST)
			h->resets++;
		else if (f[3] == F_SETTINGS && !(f[4] & 1) && h->ack_settings)
			frame(h, F_SETTINGS, 1, 0, NULL, 0);
		else if (f[3] == F_PING && !(f[4] & 1) && len == 8)
			frame(h, F_PING, 1, 0, f + 9, 8);
		pos += 9 + len;
	}
	memmove(h->in, h->in + pos, h->inlen - pos);
	h->inlen -= pos;
}

/* Read what is there without waiting; -1 once closed. */
static int drain(h2raw *h)
{
	for (;;) {
		if (h->inlen == IN_MAX)
			h->inlen = 0;
		int n = SSL_read(h->ssl, h->in + h->inlen, (int)(IN_MAX - h->inlen));
		if (n > 0) {
			h->inlen += (size_t)n;
			parse(h);
			continue;
		}
		int e = SSL_get_error(h->ssl, n);
		if (e == SSL_ERROR_WANT_READ || e == SSL_ERROR_WANT_WRITE)
			return 0;
		h->alive = false;
		return -1;
	}
}

int h2raw_flush(h2raw *h)
{
	size_t off = 0;
	long end = now_ms() + 10000;
	while (h->alive && off < h->outlen && now_ms() < end) {
		int n = SSL_write(h->ssl, h->out + off, (int)(h->outlen - off));
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		int e = SSL_get_error(h->ssl, n);
		if (e != SSL_ERROR_WANT_WRITE && e != SSL_ERROR_WANT_READ) {
			h->alive = false;
			break;
		}
		if (drain(h) != 0)
			break;
		struct pollfd p = {h->fd, POLLOUT | POLLIN, 0};
		poll(&p, 1, 50);
	}
	/* Frames written as replies to what we read are sent next time. */
	memmove(h->out, h->out + off, h->outlen - off);
	h->outlen -= off;
	if (h->alive)
		drain(h);
	return h->alive ? 0 : -1;
}

int h2raw_pump(h2raw *h, long ms)
{
	long end = now_ms() + ms;
	while (h->alive) {
		if (h->outlen && h2raw_flush(h) != 0)
			break;
		if (drain(h) != 0)
			break;
		long left = end - now_ms();
		if (left <= 0)
			break;
		struct pollfd p = {h->fd, POLLIN, 0};
		poll(&p, 1, (int)(left < 50 ? left : 50));
	}
	return h->alive ? 0 : -1;
}

h2raw *h2raw_open(int port, const char *ca, const char *cert, const char *key,
		  bool ack_settings)
{
	h2raw *h = calloc(1, sizeof(*h));
	if (!h)
		return NULL;
	h->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
				.sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	if (h->fd < 0 || connect(h->fd, (struct sockaddr *)&a, sizeof(a)) != 0) {
		if (h->fd >= 0)
			close(h->fd);
		free(h);
		return NULL;
	}
	int one = 1;
	setsockopt(h->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	h->ctx = SSL_CTX_new(TLS_client_method());
	static const uint8_t alpn[] = {2, 'h', '2'};
	bool ok = h->ctx && SSL_CTX_set_alpn_protos(h->ctx, alpn, sizeof(alpn)) == 0 &&
		  SSL_CTX_load_verify_locations(h->ctx, ca, NULL) == 1;
	if (ok && cert)
		ok = SSL_CTX_use_certificate_chain_file(h->ctx, cert) == 1 &&
		     SSL_CTX_use_PrivateKey_file(h->ctx, key, SSL_FILETYPE_PEM) == 1;
	if (ok) {
		SSL_CTX_set_verify(h->ctx, SSL_VERIFY_PEER, NULL);
		h->ssl = SSL_new(h->ctx);
		ok = h->ssl && SSL_set_fd(h->ssl, h->fd) == 1 &&
		     SSL_set_tlsext_host_name(h->ssl, "localhost") == 1;
	}
	if (ok && SSL_connect(h->ssl) != 1) {
		ERR_print_errors_fp(stderr);
		ok = false;
	}
	if (!ok) {
		SSL_free(h->ssl);
		SSL_CTX_free(h->ctx);
		close(h->fd);
		free(h);
		return NULL;
	}
	/* From here on nothing blocks: a flood must not wait for the server. */
	SSL_set_mode(h->ssl, SSL_MODE_ENABLE_PARTIAL_WRITE | SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
	int fl = fcntl(h->fd, F_GETFL);
	if (fl < 0 || fcntl(h->fd, F_SETFL, fl | O_NONBLOCK) != 0) {
		h2raw_close(h);
		return NULL;
	}
	h->alive = true;
	h->ack_settings = ack_settings;
	static const char preface[] = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";
	memcpy(h->out, preface, sizeof(preface) - 1);
	h->outlen = sizeof(preface) - 1;
	frame(h, F_SETTINGS, 0, 0, NULL, 0);
	h2raw_flush(h);
	return h;
}

void h2raw_close(h2raw *h)
{
	if (!h)
		return;
	SSL_free(h->ssl);
	SSL_CTX_free(h->ctx);
	close(h->fd);
	free(h);
}

bool h2raw_alive(const h2raw *h)
{
	return h->alive;
}

unsigned h2raw_goaways(const h2raw *h)
{
	return h->goaways;
}

unsigned h2raw_resets(const h2raw *h)
{
	return h->resets;
}
