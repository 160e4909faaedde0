/* target.c -- the gRPC target for one signetd or several replicas: a list
 * of numeric addresses becomes one ipv4: or ipv6: target, which gRPC
 * balances over (round_robin) and retries on (UNAVAILABLE). */
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client/client.h"

#define TARGET_ADDRS_MAX 16

/* One "ADDR:PORT" or "[ADDR6]:PORT" of len octets: its family (4 or 6) and
 * the address alone in host. */
static int one_address(const char *s, size_t len, char *host, size_t hlen)
{
	char buf[80];
	if (len == 0 || len >= sizeof(buf))
		return 0;
	memcpy(buf, s, len);
	buf[len] = '\0';
	char *port;
	int family;
	if (buf[0] == '[') {
		char *end = strchr(buf, ']');
		if (!end || end[1] != ':')
			return 0;
		*end = '\0';
		port = end + 2;
		memmove(buf, buf + 1, strlen(buf + 1) + 1);
		family = 6;
	} else {
		char *colon = strrchr(buf, ':');
		if (!colon || strchr(buf, ':') != colon)
			return 0;
		*colon = '\0';
		port = colon + 1;
		family = 4;
	}
	uint8_t a[16];
	if (inet_pton(family == 4 ? AF_INET : AF_INET6, buf, a) != 1)
		return 0;
	char *stop = NULL;
	long p = strtol(port, &stop, 10);
	if (!*port || *stop || p < 1 || p > 65535)
		return 0;
	if (strlen(buf) >= hlen)
		return 0;
	memcpy(host, buf, strlen(buf) + 1);
	return family;
}

signet_err client_target(const char *server, client_target_info *out, char *errmsg, size_t errlen)
{
	if (!server || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	size_t n = strlen(server);
	if (n == 0 || n >= sizeof(out->target))
		return SIGNET_EINVAL;
	if (!strchr(server, ',')) {
		memcpy(out->target, server, n + 1);
		/* A name gRPC resolves (dns:///NAME:PORT) may have several
		 * addresses: replicas. */
		out->several = strncmp(server, "dns:", 4) == 0;
		return SIGNET_OK;
	}
	int family = 0;
	size_t count = 0;
	char *t = out->target;
	size_t used = 0;
	for (const char *p = server; *p;) {
		const char *comma = strchr(p, ',');
		size_t len = comma ? (size_t)(comma - p) : strlen(p);
		char host[INET6_ADDRSTRLEN + 1];
		int f = one_address(p, len, host, sizeof(host));
		if (f == 0 || (family && f != family) || ++count > TARGET_ADDRS_MAX) {
			if (errmsg && errlen)
				snprintf(errmsg, errlen,
					 "server: a list takes 1..%d numeric "
					 "addresses of one family, ADDR:PORT or [ADDR6]:PORT, "
					 "comma-separated (a name with several addresses: "
					 "dns:///NAME:PORT); not '%.*s'",
					 TARGET_ADDRS_MAX, (int)(len > 60 ? 60 : len), p);
			return SIGNET_EPARSE;
		}
		if (!family) {
			family = f;
			memcpy(out->host, host, strlen(host) + 1);
			used = (size_t)snprintf(t, sizeof(out->target), "ipv%d:", f);
		}
		if (used + len + 2 > sizeof(out->target))
			return SIGNET_ERANGE;
		if (count > 1)
			t[used++] = ',';
		memcpy(t + used, p, len);
		used += len;
		t[used] = '\0';
		p += len + (comma ? 1 : 0);
		if (comma && !*p)
			return SIGNET_EPARSE;
	}
	out->several = true;
	return SIGNET_OK;
}
