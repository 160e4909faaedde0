/* test_xfr_in.c -- transfers in against a scripted primary on loopback:
 * AXFR, and IXFR answered in full (AXFR form) or by steps, give the zone
 * the zone-file parser makes of the same RRs however they are spread over
 * messages and ordered; a transfer cut short, torn (its closing SOA of
 * another serial), over max-rrs or with an RR outside the zone gives no
 * zone. The real primaries (Knot) are in test_zoned. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <netinet/in.h>
#include <pthread.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cmocka.h>

#include "zoned/zoned.h"

#define MSGS_MAX 8
#define CONNS_MAX 2

/* What the primary sends on one connection: messages of RRs in
 * presentation form, relative to example.com.; then it closes. */
typedef struct exchange_script {
	const char *const *msgs[MSGS_MAX]; /* each NULL-terminated; NULL ends */
	uint16_t rcode;                    /* of every message */
} exchange_script;

typedef struct primary {
	int fd;
	uint16_t port;
	const exchange_script *conns[CONNS_MAX];
	size_t served;
	pthread_t thread;
} primary;

static void recv_n(int fd, uint8_t *p, size_t n)
{
	while (n) {
		ssize_t r = recv(fd, p, n, 0);
		assert_true(r > 0);
		p += r;
		n -= (size_t)r;
	}
}

static void send_msg(int fd, uint16_t id, uint16_t rcode, const char *const *lines)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, "example.com."), SIGNET_OK);
	zoned_msg m;
	/* QR and AA. */
	assert_int_equal(zoned_msg_start(&m, id, (uint16_t)(0x8400 | rcode), &apex, DNS_T_AXFR),
			 SIGNET_OK);
	for (size_t i = 0; lines[i]; i++) {
		dns_name owner;
		uint16_t type, cls;
		uint32_t ttl;
		sg_buf rd = SG_BUF_INIT;
		assert_int_equal(dns_rr_from_text(lines[i], &apex, &owner, &type, &cls, &ttl, &rd),
				 SIGNET_OK);
		assert_int_equal(zoned_msg_rr(&m, &owner, type, ttl, rd.data, rd.len), SIGNET_OK);
		sg_buf_free(&rd);
	}
	uint8_t l[2] = {(uint8_t)(m.b.len >> 8), (uint8_t)m.b.len};
	/* The peer may have stopped reading (a refused transfer): no SIGPIPE. */
	if (send(fd, l, 2, MSG_NOSIGNAL) == 2)
		(void)send(fd, m.b.data, m.b.len, MSG_NOSIGNAL);
	zoned_msg_free(&m);
}

static void *primary_main(void *arg)
{
	primary *p = arg;
	for (size_t c = 0; c < CONNS_MAX && p->conns[c]; c++) {
		int fd = accept(p->fd, NULL, NULL);
		if (fd < 0)
			break;
		uint8_t l[2], q[512];
		recv_n(fd, l, 2);
		size_t len = (size_t)l[0] << 8 | l[1];
		assert_true(len >= 12 && len <= sizeof(q));
		recv_n(fd, q, len);
		uint16_t id = (uint16_t)(q[0] << 8 | q[1]);
		for (size_t i = 0; i < MSGS_MAX && p->conns[c]->msgs[i]; i++)
			send_msg(fd, id, p->conns[c]->rcode, p->conns[c]->msgs[i]);
		/* Let the client read to the end before the close. */
		shutdown(fd, SHUT_WR);
		char drain[64];
		while (recv(fd, drain, sizeof(drain), 0) > 0)
			;
		close(fd);
		p->served++;
	}
	return NULL;
}

static void primary_start(primary *p, const exchange_script *a, const exchange_script *b)
{
	memset(p, 0, sizeof(*p));
	p->conns[0] = a;
	p->conns[1] = b;
	p->fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	assert_true(p->fd >= 0);
	struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	assert_int_equal(bind(p->fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	socklen_t sl = sizeof(sa);
	assert_int_equal(getsockname(p->fd, (struct sockaddr *)&sa, &sl), 0);
	p->port = ntohs(sa.sin_port);
	assert_int_equal(listen(p->fd, 4), 0);
	assert_int_equal(pthread_create(&p->thread, NULL, primary_main, p), 0);
}

static void primary_stop(primary *p)
{
	/* Wakes an accept that waits for a connection that never came. */
	shutdown(p->fd, SHUT_RDWR);
	pthread_join(p->thread, NULL);
	close(p->fd);
}

static void conf_of(const primary *p, size_t max_rrs, zoned_zone_conf *zc, zoned_peer *peer)
{
	memset(zc, 0, sizeof(*zc));
	assert_int_equal(dns_name_from_str(&zc->apex, "example.com."), SIGNET_OK);
	snprintf(zc->name, sizeof(zc->name), "example.com.");
	zc->max_rrs = max_rrs;
	zc->max_octets = 1 << 20;
	zc->xfr_timeout = 10;
	memset(peer, 0, sizeof(*peer));
	char addr[32];
	snprintf(addr, sizeof(addr), "127.0.0.1:%u", p->port);
	assert_int_equal(zoned_addr_parse(addr, 53, false, &peer->addr), SIGNET_OK);
}

/* The zone the parser makes of the RRs of s's messages but the last SOA. */
static void parse_script(const exchange_script *s, dns_zone *out)
{
	sg_buf text = SG_BUF_INIT;
	const char *last = NULL;
	for (size_t i = 0; i < MSGS_MAX && s->msgs[i]; i++)
		for (size_t k = 0; s->msgs[i][k]; k++) {
			if (last) {
				assert_int_equal(sg_buf_append(&text, last, strlen(last)), SIGNET_OK);
				assert_int_equal(sg_buf_append(&text, "\n", 1), SIGNET_OK);
			}
			last = s->msgs[i][k];
		}
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, "example.com."), SIGNET_OK);
	assert_int_equal(
		dns_zone_parse((const char *)text.data, text.len, &apex, 3600, 1000, out, NULL),
		SIGNET_OK);
	sg_buf_free(&text);
}

/* The same sets, owners as spelled, TTLs, and RRs (in canonical order). */
static void assert_zone_same_sets(const dns_zone *a, const dns_zone *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		dns_rrset x, y;
		assert_int_equal(a->sets[i].owner.len, b->sets[i].owner.len);
		assert_memory_equal(a->sets[i].owner.wire, b->sets[i].owner.wire,
				    a->sets[i].owner.len);
		assert_int_equal(dns_rrset_copy(&x, &a->sets[i]), SIGNET_OK);
		assert_int_equal(dns_rrset_copy(&y, &b->sets[i]), SIGNET_OK);
		assert_int_equal(dns_rrset_canonicalize(&x), SIGNET_OK);
		assert_int_equal(dns_rrset_canonicalize(&y), SIGNET_OK);
		assert_int_equal(x.type, y.type);
		assert_int_equal(x.ttl, y.ttl);
		assert_int_equal(x.count, y.count);
		for (size_t k = 0; k < x.count; k++) {
			assert_int_equal(x.rr[k].len, y.rr[k].len);
			assert_memory_equal(x.rr[k].data, y.rr[k].data, x.rr[k].len);
		}
		dns_rrset_clear(&x);
		dns_rrset_clear(&y);
	}
}

static signet_err axfr(const exchange_script *s, size_t max_rrs, dns_zone *out, char *errmsg,
		       size_t errlen)
{
	primary p;
	primary_start(&p, s, NULL);
	zoned_zone_conf zc;
	zoned_peer peer;
	conf_of(&p, max_rrs, &zc, &peer);
	signet_err ret = zoned_axfr_in(&peer, &zc, out, errmsg, errlen);
	primary_stop(&p);
	return ret;
}

static signet_err ixfr(const exchange_script *s, const exchange_script *then, size_t max_rrs,
		       uint32_t have, dns_zone *out, zone_diff **steps, size_t *nsteps,
		       char *errmsg, size_t errlen)
{
	primary p;
	primary_start(&p, s, then);
	zoned_zone_conf zc;
	zoned_peer peer;
	conf_of(&p, max_rrs, &zc, &peer);
	signet_err ret = zoned_ixfr_in(&peer, &zc, have, out, steps, nsteps, errmsg, errlen);
	primary_stop(&p);
	return ret;
}

#define SOA(n) "@ 3600 IN SOA ns1 hostmaster " #n " 7200 3600 1209600 300"

/* A zone over three messages, nodes out of order, www's A set split by
 * another node and by a message, a duplicate in another spelling. */
static const char *const Z1[] = {SOA(5), "@ 3600 IN NS ns1", "www 3600 IN A 192.0.2.1",
				 "ns1 3600 IN A 192.0.2.53", NULL};
static const char *const Z2[] = {"b 3600 IN TXT \"b\"", "www 600 IN A 192.0.2.2",
				 "www 3600 IN AAAA 2001:db8::1", "Mx 3600 IN MX 10 MAIL", NULL};
static const char *const Z3[] = {"mx 3600 IN MX 10 mail", "www 3600 IN A 192.0.2.1", SOA(5),
				 NULL};
static const exchange_script ZONE = {{Z1, Z2, Z3}, 0};

static void test_axfr(void **state)
{
	(void)state;
	char errmsg[256];
	dns_zone z, want;
	assert_int_equal(axfr(&ZONE, 100, &z, errmsg, sizeof(errmsg)), SIGNET_OK);
	parse_script(&ZONE, &want);
	assert_zone_same_sets(&want, &z);
	assert_int_equal(z.count, 7); /* NS SOA, b TXT, Mx MX, ns1 A, www A AAAA */
	dns_zone_free(&z);
	dns_zone_free(&want);
}

static void test_axfr_refused(void **state)
{
	(void)state;
	char errmsg[256];
	dns_zone z;
	/* Ten RRs (duplicates count; the closing SOA does not) over max-rrs 9. */
	assert_int_equal(axfr(&ZONE, 9, &z, errmsg, sizeof(errmsg)), SIGNET_ERANGE);
	assert_string_equal(errmsg, "more RRs than max-rrs");
	assert_int_equal(z.count, 0);
	assert_int_equal(axfr(&ZONE, 10, &z, errmsg, sizeof(errmsg)), SIGNET_OK);
	dns_zone_free(&z);
	/* An RR outside the zone. */
	static const char *const out[] = {"www.example.net. 3600 IN A 192.0.2.1", NULL};
	static const exchange_script outside = {{Z1, out, Z3}, 0};
	assert_int_equal(axfr(&outside, 100, &z, errmsg, sizeof(errmsg)), SIGNET_EPARSE);
	assert_int_equal(z.count, 0);
	/* Torn: the closing SOA of another serial. */
	static const char *const end6[] = {"x 3600 IN A 192.0.2.9", SOA(6), NULL};
	static const exchange_script torn = {{Z1, Z2, end6}, 0};
	assert_int_equal(axfr(&torn, 100, &z, errmsg, sizeof(errmsg)), SIGNET_EPARSE);
	assert_int_equal(z.count, 0);
	/* Cut short: no closing SOA before the close. */
	static const exchange_script cut = {{Z1, Z2}, 0};
	assert_int_equal(axfr(&cut, 100, &z, errmsg, sizeof(errmsg)), SIGNET_EPARSE);
	assert_int_equal(z.count, 0);
	/* Refused by the primary. */
	static const exchange_script refused = {{Z1}, 5};
	assert_int_equal(axfr(&refused, 100, &z, errmsg, sizeof(errmsg)), SIGNET_EDENIED);
	assert_int_equal(z.count, 0);
}

static void test_ixfr_in_full(void **state)
{
	(void)state;
	char errmsg[256];
	dns_zone z, want;
	zone_diff *steps;
	size_t nsteps;
	assert_int_equal(ixfr(&ZONE, NULL, 100, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
			 SIGNET_OK);
	assert_int_equal(nsteps, 0);
	assert_null(steps);
	parse_script(&ZONE, &want);
	assert_zone_same_sets(&want, &z);
	dns_zone_free(&z);
	dns_zone_free(&want);
	/* Not newer than the version held. */
	assert_int_equal(ixfr(&ZONE, NULL, 100, 5, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
			 SIGNET_EPARSE);
	assert_int_equal(z.count, 0);
	/* Over max-rrs, as for AXFR: the first SOA counts. */
	assert_int_equal(ixfr(&ZONE, NULL, 9, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
			 SIGNET_ERANGE);
	assert_string_equal(errmsg, "more RRs than max-rrs");
	assert_int_equal(z.count, 0);
	assert_int_equal(ixfr(&ZONE, NULL, 10, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
			 SIGNET_OK);
	dns_zone_free(&z);
	/* Torn, cut short, an RR outside. */
	static const char *const end6[] = {"x 3600 IN A 192.0.2.9", SOA(6), NULL};
	static const exchange_script torn = {{Z1, Z2, end6}, 0};
	assert_int_equal(ixfr(&torn, NULL, 100, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
			 SIGNET_EPARSE);
	static const exchange_script cut = {{Z1, Z2}, 0};
	assert_int_equal(ixfr(&cut, NULL, 100, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
			 SIGNET_EPARSE);
	static const char *const out[] = {"www.example.net. 3600 IN A 192.0.2.1", NULL};
	static const exchange_script outside = {{Z1, out, Z3}, 0};
	assert_int_equal(
		ixfr(&outside, NULL, 100, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
		SIGNET_EPARSE);
	assert_int_equal(z.count, 0);
	assert_int_equal(nsteps, 0);
}

static void test_ixfr_steps_and_fallback(void **state)
{
	(void)state;
	char errmsg[256];
	dns_zone z;
	zone_diff *steps;
	size_t nsteps;
	/* One step, 4 to 5, over two messages. */
	static const char *const s1[] = {SOA(5), SOA(4), "www 3600 IN A 192.0.2.1", NULL};
	static const char *const s2[] = {SOA(5), "www 3600 IN A 192.0.2.2", SOA(5), NULL};
	static const exchange_script step = {{s1, s2}, 0};
	assert_int_equal(ixfr(&step, NULL, 100, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
			 SIGNET_OK);
	assert_int_equal(nsteps, 1);
	assert_int_equal(steps[0].ndel, 2);
	assert_int_equal(steps[0].nadd, 2);
	assert_int_equal(z.count, 0);
	zoned_steps_free(steps, nsteps);
	/* Nothing newer: one SOA alone. */
	static const char *const same[] = {SOA(4), NULL};
	static const exchange_script none = {{same}, 0};
	assert_int_equal(ixfr(&none, NULL, 100, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
			 SIGNET_ENOTFOUND);
	/* IXFR refused (NOTIMPL): the whole zone by AXFR on a new connection. */
	static const exchange_script notimpl = {{same}, 4};
	dns_zone want;
	assert_int_equal(
		ixfr(&notimpl, &ZONE, 100, 4, &z, &steps, &nsteps, errmsg, sizeof(errmsg)),
		SIGNET_OK);
	assert_int_equal(nsteps, 0);
	parse_script(&ZONE, &want);
	assert_zone_same_sets(&want, &z);
	dns_zone_free(&z);
	dns_zone_free(&want);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_axfr),
		cmocka_unit_test(test_axfr_refused),
		cmocka_unit_test(test_ixfr_in_full),
		cmocka_unit_test(test_ixfr_steps_and_fallback),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
