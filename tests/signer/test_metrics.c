/* test_metrics.c -- the Prometheus endpoint of a real signetd: scrapes
 * before and after signing (ECDSA and RSA zones, cache hits, refused items
 * and calls), requests the endpoint must refuse, and idle or surplus
 * connections that must not stop a scrape. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"

static signetd_env D;
static signetd_zone ZEC, ZRSA;

#define BODY_MAX (1 << 20)
#define CONNECT_MS 15000  /* bounds a connect: the kernel's SYN retries */
#define WAIT_MS 30000     /* bounds waiting for an event (not a timing) */

static int setup(void **state)
{
	(void)state;
	signetd_opts o = {.metrics = true};
	if (signetd_start(&D, &o) != 0)
		return -1;
	signetd_add_zone(&D, "example.com.", 13, &ZEC);
	signetd_add_zone(&D, "rsa.example.", 8, &ZRSA);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return signetd_teardown(&D);
}

/* GET /metrics; returns the body (static storage) after checking the head. */
static const char *scrape(void)
{
	static char buf[BODY_MAX];
	const char *body = signetd_scrape(&D, buf, sizeof(buf));
	assert_non_null(strstr(buf, "Content-Type: text/plain; version=0.0.4"));
	/* Content-Length matches what came */
	const char *cl = strstr(buf, "Content-Length: ");
	assert_non_null(cl);
	assert_int_equal(strtoul(cl + 16, NULL, 10), strlen(body));
	return body;
}

static double sigs(const signetd_zone *z, const char *source)
{
	char zs[DNS_NAME_STR_MAX], series[1200];
	assert_int_equal(dns_name_to_str(&z->apex, zs, sizeof(zs)), SIGNET_OK);
	snprintf(series, sizeof(series),
		 "signet_signatures_total{zone=\"%s\",key_tag=\"%u\",algorithm=\"%u\",source=\"%s\"}",
		 zs, z->key_tag, z->alg, source);
	return signetd_metric(scrape(), series);
}

static double value(const char *series)
{
	return signetd_metric(scrape(), series);
}

static void sign_ok(const signetd_zone *z, const char *zone, unsigned first, unsigned n)
{
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, zone, first, n, &st);
	assert_int_equal(st, GRPC_STATUS_OK);
	for (unsigned i = 0; i < n; i++) {
		assert_int_equal(r->results[i]->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
		assert_int_equal(r->results[i]->n_rrsig, 1);
		signetd_check_rrsig(z, first + i, r->results[i]->rrsig[0].data,
				   r->results[i]->rrsig[0].len);
	}
	signet__v1__sign_response__free_unpacked(r, NULL);
}

static void test_values_follow_signing(void **state)
{
	(void)state;
	const char *body = scrape();
	/* Every family is described. */
	static const char *const families[] = {
		"signet_signatures_total counter", "signet_requests_total counter",
		"signet_item_errors_total counter", "signet_request_duration_seconds histogram",
		"signet_hsm_sign_duration_seconds histogram", "signet_cache_hits_total counter",
		"signet_cache_misses_total counter", "signet_keyset_expiry_seconds gauge",
		"signet_token_up gauge",
	};
	for (size_t i = 0; i < sizeof(families) / sizeof(families[0]); i++) {
		char t[128];
		snprintf(t, sizeof(t), "# TYPE %s\n", families[i]);
		if (!strstr(body, t))
			fail_msg("missing '%s'", t);
	}
	assert_true(signetd_metric(body, "signet_token_up") == 1);
	assert_true(signetd_metric(body, "signet_workers") == 2);
	/* The key sets run 14 days from the start of the hour they were made in. */
	double left = signetd_metric(body, "signet_keyset_expiry_seconds{zone=\"example.com.\"}");
	assert_true(left > 13.9 * 86400 && left <= 14 * 86400);
	assert_true(signetd_metric(body, "signet_keyset_expiry_seconds{zone=\"rsa.example.\"}") > 0);
	/* Nothing signed yet; set-up made the proof signatures outside the hot path. */
	assert_true(sigs(&ZEC, "hsm") <= 0);
	double hsm0 = value("signet_hsm_sign_duration_seconds_count");
	double hits0 = value("signet_cache_hits_total");
	double miss0 = value("signet_cache_misses_total");
	assert_true(value("signet_requests_total{method=\"SignRRsets\",code=\"OK\"}") < 0);
	assert_true(value("signet_requests_total{method=\"Health\",code=\"OK\"}") >= 1);
	assert_true(value("signet_requests_total{method=\"AddZone\",code=\"OK\"}") == 2);

	/* Ten fresh RRsets: ten HSM signatures, ten misses. */
	sign_ok(&ZEC, "example.com.", 0, 10);
	assert_true(sigs(&ZEC, "hsm") == 10);
	assert_true(sigs(&ZEC, "cache") == 0);
	assert_true(value("signet_hsm_sign_duration_seconds_count") == hsm0 + 10);
	assert_true(value("signet_hsm_sign_duration_seconds_bucket{le=\"+Inf\"}") == hsm0 + 10);
	assert_true(value("signet_hsm_sign_duration_seconds_sum") > 0);
	assert_true(value("signet_cache_misses_total") == miss0 + 10);
	assert_true(value("signet_requests_total{method=\"SignRRsets\",code=\"OK\"}") == 1);
	assert_true(value("signet_request_duration_seconds_count{method=\"SignRRsets\"}") == 1);
	/* The same ten again: the cache answers, the HSM is not asked. */
	sign_ok(&ZEC, "example.com.", 0, 10);
	assert_true(sigs(&ZEC, "hsm") == 10);
	assert_true(sigs(&ZEC, "cache") == 10);
	assert_true(value("signet_cache_hits_total") == hits0 + 10);
	assert_true(value("signet_hsm_sign_duration_seconds_count") == hsm0 + 10);
	assert_true(value("signet_requests_total{method=\"SignRRsets\",code=\"OK\"}") == 2);

	/* The RSA zone has its own series, labelled with algorithm 8. */
	sign_ok(&ZRSA, "rsa.example.", 0, 5);
	assert_true(sigs(&ZRSA, "hsm") == 5);
	assert_true(sigs(&ZEC, "hsm") == 10);
	assert_true(value("signet_hsm_sign_duration_seconds_count") == hsm0 + 15);

	/* Calls refused as a whole are counted by status. */
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "unknown.example.", 0, 1, &st);
	assert_null(r);
	assert_int_equal(st, GRPC_STATUS_NOT_FOUND);
	assert_true(value("signet_requests_total{method=\"SignRRsets\",code=\"NOT_FOUND\"}") == 1);
	assert_true(value("signet_requests_total{method=\"SignRRsets\",code=\"OK\"}") == 3);

	/* Refused items of a successful call are counted by their code. */
	assert_true(value("signet_item_errors_total{code=\"INVALID_ARGUMENT\"}") < 0);
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	Signet__V1__RRset rs[2] = {SIGNET__V1__RRSET__INIT, SIGNET__V1__RRSET__INIT};
	Signet__V1__RRset *rp[2] = {&rs[0], &rs[1]};
	dns_name own, out, apex;
	uint8_t a[4] = {192, 0, 2, 7};
	ProtobufCBinaryData rd = {4, a};
	assert_int_equal(dns_name_from_str(&own, "x.example.com."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&out, "x.example.net."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&apex, "example.com."), SIGNET_OK);
	for (int i = 0; i < 2; i++) {
		rs[i].type = DNS_T_A;
		rs[i].rclass = 1;
		rs[i].ttl = 60;
		rs[i].n_rdata = 1;
		rs[i].rdata = &rd;
	}
	rs[0].owner = (ProtobufCBinaryData){own.len, own.wire};
	rs[1].owner = (ProtobufCBinaryData){out.len, out.wire};
	sr.zone = (ProtobufCBinaryData){apex.len, apex.wire};
	sr.n_rrsets = 2;
	sr.rrsets = rp;
	char det[256];
	assert_int_equal(rpc_call_msg(D.signer, "SignRRsets", &sr.base, det, sizeof(det), NULL),
			 GRPC_STATUS_OK);
	assert_true(value("signet_item_errors_total{code=\"INVALID_ARGUMENT\"}") == 1);
	assert_true(sigs(&ZEC, "hsm") == 11);
	assert_true(value("signet_requests_total{method=\"SignRRsets\",code=\"OK\"}") == 4);
}

/* status_line NULL: the connection is closed without an answer. */
static void expect_status(const char *req, size_t len, const char *status_line)
{
	char buf[4096];
	long n = signetd_http(D.metrics_port, req, len, buf, sizeof(buf));
	assert_true(n >= 0);
	if (!status_line) {
		if (n != 0)
			fail_msg("request '%.60s': got '%.80s', wanted no answer", req, buf);
		return;
	}
	assert_true(n > 0);
	if (strncmp(buf, status_line, strlen(status_line)) != 0)
		fail_msg("request '%.60s': got '%.80s', wanted '%s'", req, buf, status_line);
	assert_non_null(strstr(buf, "\r\nConnection: close\r\n"));
	assert_null(strstr(buf, "signet_"));
}

static int connect_from(const char *src, int wait_ms);

static double since(long t0_ms)
{
	return (double)(signetd_now_ms() - t0_ms) / 1000.0;
}

static void test_bad_requests(void **state)
{
	(void)state;
	static const struct {
		const char *req, *status;
	} cases[] = {
		{"POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n", "HTTP/1.1 405 "},
		/* answered before the body it announces, which is never read */
		{"POST /metrics HTTP/1.1\r\nContent-Length: 100000\r\n\r\nabc", "HTTP/1.1 405 "},
		{"HEAD /metrics HTTP/1.1\r\n\r\n", "HTTP/1.1 405 "},
		{"GET / HTTP/1.1\r\n\r\n", "HTTP/1.1 404 "},
		{"GET /metrics/ HTTP/1.1\r\n\r\n", "HTTP/1.1 404 "},
		{"GET /metrics?x=1 HTTP/1.1\r\n\r\n", "HTTP/1.1 404 "},
		{"GET ../../etc/passwd HTTP/1.1\r\n\r\n", "HTTP/1.1 404 "},
		{"GET /metrics HTTP/2.0\r\n\r\n", "HTTP/1.1 505 "},
		{"GET /metrics\r\n\r\n", "HTTP/1.1 400 "},
		{"GET /metrics HTTP/1.1 x\r\n\r\n", "HTTP/1.1 400 "},
		{"\r\n\r\n", NULL},
		{"hello\r\n\r\n", NULL},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		expect_status(cases[i].req, strlen(cases[i].req), cases[i].status);
	/* a head larger than a connection's memory, in a header or the path */
	size_t big = SIGNER_HTTP_MEMORY_MAX * 2;
	char *huge = malloc(big);
	assert_non_null(huge);
	memcpy(huge, "GET /metrics HTTP/1.1\r\nX-Pad: ", 30);
	memset(huge + 30, 'a', big - 30);
	expect_status(huge, big, "HTTP/1.1 431 ");
	memset(huge, 'a', big);
	memcpy(huge, "GET /", 5);
	expect_status(huge, big, "HTTP/1.1 414 ");
	free(huge);
	/* a request that never finishes is cut off, without an answer, once
	 * the timeout has passed (not before; how late a loaded machine gets
	 * to it is not the point, that it does is) */
	long t0 = signetd_now_ms();
	static const char slow[] = "GET /metrics HTTP/1.1\r\nHost: x\r\n";
	int s = connect_from("127.0.0.1", CONNECT_MS);
	assert_true(s >= 0);
	assert_int_equal(send(s, slow, sizeof(slow) - 1, MSG_NOSIGNAL), (ssize_t)(sizeof(slow) - 1));
	char b[64];
	for (long end = t0 + WAIT_MS; recv(s, b, sizeof(b), MSG_PEEK) < 0 && errno == EAGAIN;) {
		if (signetd_now_ms() > end)
			fail_msg("a half-sent request was not cut off within %d ms", WAIT_MS);
		struct pollfd p = {s, POLLIN, 0};
		poll(&p, 1, 100);
	}
	assert_true(recv(s, b, sizeof(b), 0) <= 0);  /* closed, no answer */
	close(s);
	assert_true(since(t0) >= SIGNER_HTTP_TIMEOUT_S - 0.2);
	/* and the endpoint still answers */
	assert_true(value("signet_token_up") == 1);
}

/* A TCP connection to the metrics port from source address src (any
 * 127/8 address works on loopback), non-blocking; -1 when the connect
 * fails or does not complete within wait_ms (a full accept queue drops the
 * SYN; the kernel sends it again after 1 s, 3 s, ...). */
static int connect_from(const char *src, int wait_ms)
{
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	assert_true(s >= 0);
	struct sockaddr_in me = {.sin_family = AF_INET};
	struct sockaddr_in to = {.sin_family = AF_INET,
				 .sin_port = htons((uint16_t)D.metrics_port)};
	assert_int_equal(inet_pton(AF_INET, src, &me.sin_addr), 1);
	assert_int_equal(inet_pton(AF_INET, "127.0.0.1", &to.sin_addr), 1);
	if (bind(s, (struct sockaddr *)&me, sizeof(me)) != 0) {
		close(s);
		return -1;
	}
	if (connect(s, (struct sockaddr *)&to, sizeof(to)) != 0) {
		struct pollfd p = {s, POLLOUT, 0};
		int err = 0;
		socklen_t el = sizeof(err);
		if (errno != EINPROGRESS || poll(&p, 1, wait_ms) != 1 ||
		    getsockopt(s, SOL_SOCKET, SO_ERROR, &err, &el) != 0 || err != 0) {
			close(s);
			return -1;
		}
	}
	return s;
}

/* Connections the kernel completed on the metrics port that signetd has
 * not accepted yet (the listening socket's queue in /proc/net/tcp), or -1
 * when the socket is not found. */
static long accept_queue(void)
{
	FILE *f = fopen("/proc/net/tcp", "r");
	assert_non_null(f);
	char line[512], want[16];
	snprintf(want, sizeof(want), ":%04X", (unsigned)D.metrics_port);
	long q = -1;
	while (fgets(line, sizeof(line), f)) {
		char local[64];
		unsigned st = 0;
		unsigned long tx = 0, rx = 0;
		if (sscanf(line, " %*d: %63s %*s %x %lx:%lx", local, &st, &tx, &rx) == 4 &&
		    st == 0x0A && strstr(local, want) && strlen(strstr(local, want)) == 5)
			q = (long)rx;
	}
	fclose(f);
	return q;
}

/* Wait (bounded; the bound only ends a broken run) until signetd has taken
 * every completed connection off its listening socket: it counts each one
 * as it accepts it, on the same thread, so a connection made afterwards
 * meets the count of all those before it. */
static void wait_accepted(void)
{
	long q = -1;
	for (long end = signetd_now_ms() + 30000; (q = accept_queue()) != 0; signetd_sleep_ms(10))
		if (signetd_now_ms() > end)
			fail_msg("signetd left %ld connections unaccepted for 30 s", q);
}

/* Whether the server closed s (end of file or reset) within ms. */
static bool closed_within(int s, int ms)
{
	long end = signetd_now_ms() + ms;
	for (;;) {
		char b[256];
		ssize_t n = recv(s, b, sizeof(b), 0);
		if (n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR))
			return true;
		long left = end - signetd_now_ms();
		if (left <= 0)
			return false;
		struct pollfd p = {s, POLLIN, 0};
		poll(&p, 1, (int)left);
	}
}

/* GET /metrics from source address src: the whole answer (NUL-terminated,
 * in static storage), or NULL when signetd closed or reset the connection
 * without one (refused it). Fails the test when neither happens within
 * bound_ms, connect included: a hung endpoint fails here rather than
 * hanging the test. */
static const char *get_from(const char *src, long bound_ms)
{
	long end = signetd_now_ms() + bound_ms;
	int s = connect_from(src, CONNECT_MS);
	if (s < 0)
		fail_msg("no connection from %s within %d ms", src, CONNECT_MS);
	static const char req[] = "GET /metrics HTTP/1.1\r\nHost: localhost\r\n\r\n";
	static char buf[BODY_MAX];
	size_t got = 0;
	bool reset = false;
	if (send(s, req, sizeof(req) - 1, MSG_NOSIGNAL) != (ssize_t)(sizeof(req) - 1))
		reset = true;  /* already closed by signetd */
	while (!reset) {
		ssize_t n = recv(s, buf + got, sizeof(buf) - 1 - got, 0);
		if (n == 0)
			break;
		if (n > 0) {
			got += (size_t)n;
			assert_true(got < sizeof(buf) - 1);
			continue;
		}
		if (errno != EAGAIN && errno != EINTR) {
			reset = true;  /* ECONNRESET: closed with our request unread */
			break;
		}
		long left = end - signetd_now_ms();
		if (left <= 0) {
			close(s);
			fail_msg("no complete answer to a scrape from %s within %ld ms", src,
				 bound_ms);
		}
		struct pollfd p = {s, POLLIN, 0};
		poll(&p, 1, (int)left);
	}
	close(s);
	buf[got] = '\0';
	return reset || got == 0 ? NULL : buf;
}

static void check_scrape(const char *answer)
{
	if (strncmp(answer, "HTTP/1.1 200 OK\r\n", 17) != 0)
		fail_msg("scrape: %.200s", answer);
	assert_true(signetd_metric(strstr(answer, "\r\n\r\n") + 4, "signet_token_up") == 1);
}

/* GET /metrics from 127.0.0.1 that must be answered (200, the token up)
 * within bound_s seconds, connect included. */
static void scrape_within(double bound_s)
{
	const char *a = get_from("127.0.0.1", (long)(bound_s * 1000));
	if (!a)
		fail_msg("a scrape was refused");
	check_scrape(a);
}

#define IDLE_SOCKETS 64
/* The old endpoint served one connection at a time, each until it timed
 * out (SIGNER_HTTP_TIMEOUT_S): a scrape behind the sockets below waited
 * minutes. The bound only tells that from a loaded machine; the proof is
 * the order: the scrape is answered while the idle sockets are still open. */
#define SCRAPE_BOUND_S 10.0

/* The old endpoint served one connection at a time: 16 idle sockets made a
 * scrape wait 32 s. Now 64 idle sockets and 16 half-sent requests from
 * other addresses leave a scrape as fast as ever, and the sockets one
 * address opens past its limit are closed at once, not queued. */
static void test_idle_sockets(void **state)
{
	(void)state;
	int idle[IDLE_SOCKETS], partial[16];
	for (int i = 0; i < IDLE_SOCKETS; i++)
		idle[i] = connect_from("127.0.0.2", CONNECT_MS);
	for (int i = 0; i < 16; i++) {
		char src[32];
		snprintf(src, sizeof(src), "127.0.0.%d", 3 + i % 2);
		partial[i] = connect_from(src, CONNECT_MS);
		static const char part[] = "GET /metrics HTTP/1.1\r\nHost: x\r\nX-Slow: ";
		assert_true(partial[i] >= 0);
		assert_true(send(partial[i], part, sizeof(part) - 1, MSG_NOSIGNAL) > 0);
	}
	/* signetd has met every one of them; those past 127.0.0.2's limit it
	 * closed as it accepted them, before it takes the scrape below */
	wait_accepted();
	scrape_within(SCRAPE_BOUND_S);
	/* 127.0.0.2 keeps SIGNER_HTTP_PER_IP_MAX, still open (the scrape did
	 * not wait for them to time out); the rest were refused */
	int kept = 0;
	bool gone[IDLE_SOCKETS] = {false};
	for (int i = 0; i < IDLE_SOCKETS; i++) {
		gone[i] = idle[i] < 0 || closed_within(idle[i], 0);
		kept += !gone[i];
	}
	assert_int_equal(kept, SIGNER_HTTP_PER_IP_MAX);
	for (int i = 0; i < 16; i++)
		assert_false(closed_within(partial[i], 0));
	for (int i = 0; i < 10; i++)
		scrape_within(SCRAPE_BOUND_S);
	/* Idle and half-sent connections go after the timeout. */
	for (int i = 0; i < IDLE_SOCKETS; i++)
		if (idle[i] >= 0) {
			assert_true(gone[i] || closed_within(idle[i], WAIT_MS));
			close(idle[i]);
		}
	for (int i = 0; i < 16; i++) {
		assert_true(closed_within(partial[i], WAIT_MS));
		close(partial[i]);
	}
	scrape_within(SCRAPE_BOUND_S);
}

/* A scrape once signetd has freed the slots of connections it closed:
 * the client sees the close before signetd's count drops, so a refusal
 * is retried until an answer comes (bounded). */
static void scrape_once_freed(void)
{
	for (long end = signetd_now_ms() + WAIT_MS;; signetd_sleep_ms(20)) {
		const char *a = get_from("127.0.0.1", WAIT_MS);
		if (a) {
			check_scrape(a);
			return;
		}
		if (signetd_now_ms() > end)
			fail_msg("scrapes still refused %d ms after the connections closed",
				 WAIT_MS);
	}
}

/* With every slot taken (SIGNER_HTTP_CONNECTIONS_MAX connections from
 * enough addresses), a new connection is closed at once rather than
 * waiting, a scrape among them; once the idle ones time out, scrapes
 * answer again. "At once" is an order, not a time: the surplus ones are
 * closed without an answer while every held one is still open. */
static void test_connection_limit(void **state)
{
	(void)state;
	int n = SIGNER_HTTP_CONNECTIONS_MAX;
	int *held = calloc((size_t)n, sizeof(int));
	assert_non_null(held);
	for (int i = 0; i < n; i++) {
		char src[32];
		snprintf(src, sizeof(src), "127.0.1.%d", 1 + i / SIGNER_HTTP_PER_IP_MAX);
		held[i] = connect_from(src, CONNECT_MS);
		if (held[i] < 0)
			fail_msg("connection %d from %s not made within %d ms", i, src, CONNECT_MS);
	}
	/* counted, each as signetd accepted it: the slots are full */
	wait_accepted();
	for (int i = 0; i < n; i++)
		assert_false(closed_within(held[i], 0));
	if (get_from("127.0.2.1", WAIT_MS))
		fail_msg("a connection past the limit was served");
	if (get_from("127.0.0.1", WAIT_MS))
		fail_msg("a scrape past the limit was served");
	for (int i = 0; i < n; i++)
		if (closed_within(held[i], 0))
			fail_msg("held connection %d was closed before the surplus ones were "
				 "refused", i);
	for (int i = 0; i < n; i++) {
		assert_true(closed_within(held[i], WAIT_MS));
		close(held[i]);
	}
	free(held);
	scrape_once_freed();
}

/* The registry alone: exposition details a scrape of the daemon does not
 * reach (escaping, cumulative buckets, the overflow series, bounds). */
static void test_render(void **state)
{
	(void)state;
	static const char *const names[] = {"A", "B"};
	signer_metrics *m = NULL;
	assert_int_equal(signer_metrics_new(names, 0, &m), SIGNET_EINVAL);
	assert_int_equal(signer_metrics_new(NULL, 2, &m), SIGNET_EINVAL);
	assert_int_equal(signer_metrics_new(names, 2, &m), SIGNET_OK);
	dns_name z;
	/* a label with a quote and a backslash in it, as zone names may have:
	 * presentation form escapes them (\034, \\), the exposition escapes
	 * every backslash again */
	static const uint8_t odd[] = {3, 'a', '"', 'b', 2, 'x', '\\', 0};
	memcpy(z.wire, odd, sizeof(odd));
	z.len = sizeof(odd);
	signer_sig_series *s = signer_metrics_sig_series(m, &z, 4242, 13);
	assert_non_null(s);
	assert_ptr_equal(signer_metrics_sig_series(m, &z, 4242, 13), s);
	assert_ptr_not_equal(signer_metrics_sig_series(m, &z, 4243, 13), s);
	signer_metrics_sig(s, false);
	signer_metrics_sig(s, false);
	signer_metrics_sig(s, true);
	signer_metrics_call(m, 1, 0, 300000);        /* 0.3 ms */
	signer_metrics_call(m, 1, 14, 3000000000ull); /* 3 s, UNAVAILABLE */
	signer_metrics_call(m, 1, 99, 1);            /* unknown code */
	signer_metrics_call(m, 7, 0, 1);             /* no such method: ignored */
	signer_metrics_hsm(m, 30000, true);
	signer_metrics_hsm(m, 5000000000ull, true);  /* above every bound */
	signer_metrics_hsm(m, 1, false);
	signer_metrics_item_error(m, 3);
	signer_metrics_zone zones[1];
	memset(zones, 0, sizeof(zones));
	assert_int_equal(dns_name_from_str(&zones[0].zone, "example.com."), SIGNET_OK);
	zones[0].has_keyset = true;
	zones[0].keyset_seconds = -5;
	signer_metrics_snapshot snap = {.token_up = false, .workers = 3, .inflight = 1,
					.zones = zones, .nzones = 1};
	snap.cache.hits = 7;
	sg_buf out = SG_BUF_INIT;
	assert_int_equal(signer_metrics_render(m, &snap, &out), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&out, 0), SIGNET_OK);
	const char *b = (const char *)out.data;
	if (getenv("SIGNET_TEST_VERBOSE"))
		fputs(b, stderr);
	assert_true(signetd_metric(b, "signet_signatures_total{zone=\"a\\\\034b.x\\\\\\\\.\","
				 "key_tag=\"4242\",algorithm=\"13\",source=\"hsm\"}") == 2);
	assert_true(signetd_metric(b, "signet_signatures_total{zone=\"a\\\\034b.x\\\\\\\\.\","
				 "key_tag=\"4242\",algorithm=\"13\",source=\"cache\"}") == 1);
	assert_true(signetd_metric(b, "signet_requests_total{method=\"B\",code=\"OK\"}") == 1);
	assert_true(signetd_metric(b, "signet_requests_total{method=\"B\",code=\"UNAVAILABLE\"}") == 1);
	assert_true(signetd_metric(b, "signet_requests_total{method=\"B\",code=\"UNKNOWN\"}") == 1);
	assert_true(signetd_metric(b, "signet_request_duration_seconds_count{method=\"A\"}") < 0);
	assert_true(signetd_metric(b, "signet_request_duration_seconds_bucket{method=\"B\",le=\"0.0001\"}") == 1);
	assert_true(signetd_metric(b, "signet_request_duration_seconds_bucket{method=\"B\",le=\"0.0005\"}") == 2);
	assert_true(signetd_metric(b, "signet_request_duration_seconds_bucket{method=\"B\",le=\"2.5\"}") == 2);
	assert_true(signetd_metric(b, "signet_request_duration_seconds_bucket{method=\"B\",le=\"5\"}") == 3);
	assert_true(signetd_metric(b, "signet_request_duration_seconds_bucket{method=\"B\",le=\"+Inf\"}") == 3);
	assert_true(signetd_metric(b, "signet_request_duration_seconds_count{method=\"B\"}") == 3);
	assert_true(signetd_metric(b, "signet_hsm_sign_duration_seconds_bucket{le=\"2.5e-05\"}") == 0);
	assert_true(signetd_metric(b, "signet_hsm_sign_duration_seconds_bucket{le=\"5e-05\"}") == 1);
	assert_true(signetd_metric(b, "signet_hsm_sign_duration_seconds_bucket{le=\"1\"}") == 1);
	assert_true(signetd_metric(b, "signet_hsm_sign_duration_seconds_bucket{le=\"+Inf\"}") == 2);
	assert_true(signetd_metric(b, "signet_hsm_sign_duration_seconds_sum") > 5.00002);
	assert_true(signetd_metric(b, "signet_hsm_sign_errors_total") == 1);
	assert_true(signetd_metric(b, "signet_item_errors_total{code=\"INVALID_ARGUMENT\"}") == 1);
	assert_true(signetd_metric(b, "signet_cache_hits_total") == 7);
	assert_true(signetd_metric(b, "signet_token_up") == 0);
	assert_true(signetd_metric(b, "signet_workers") == 3);
	assert_true(signetd_metric(b, "signet_keyset_expiry_seconds{zone=\"example.com.\"}") == -5);
	/* the overflow series is shown only once it counted something */
	assert_null(strstr(b, "_other"));
	/* fill the table: the rest goes to the overflow series */
	signer_sig_series *last = NULL;
	for (unsigned i = 0; i < 4200; i++)
		last = signer_metrics_sig_series(m, &zones[0].zone, (uint16_t)i, 8);
	signer_metrics_sig(last, false);
	sg_buf_reset(&out);
	assert_int_equal(signer_metrics_render(m, &snap, &out), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&out, 0), SIGNET_OK);
	assert_true(signetd_metric((const char *)out.data, "signet_signatures_total{zone=\"_other\","
				 "key_tag=\"0\",algorithm=\"0\",source=\"hsm\"}") == 1);
	assert_int_equal(signer_metrics_render(NULL, &snap, &out), SIGNET_EINVAL);
	sg_buf_free(&out);
	signer_metrics_free(m);
}

/* SIGTERM: the endpoint's thread and the counters go with the rest, and
 * the exit is clean (under ASan this is also the leak check). */
static void test_clean_stop(void **state)
{
	(void)state;
	signetd_stop_ok(&D);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_render),
		cmocka_unit_test(test_values_follow_signing),
		cmocka_unit_test(test_bad_requests),
		cmocka_unit_test(test_idle_sockets),
		cmocka_unit_test(test_connection_limit),
		cmocka_unit_test(test_clean_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
