/* test_reload.c -- SIGHUP: signetd applies a changed client list and the
 * admission limits that can change at run time (calls per second and
 * burst, connections per client, calls in flight) together, says which
 * changed keys need a restart, and keeps everything as it was when the new
 * file is broken; and the admission table's own reload rules, with a
 * clock the test sets. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"

static signetd_env D;
/* stranger.test's one channel, so that its connections stay within
 * max-connections-per-client however slow the machine */
static rpc_conn *stranger;

static const char two_clients[] =
	"  { identity = \"admin.test\"; role = \"admin\"; zones = [ \"*\" ]; },\n"
	"  { identity = \"ns1.test\"; role = \"signer\"; zones = [ \"*\" ]; }\n";

static const char three_clients[] =
	"  { identity = \"admin.test\"; role = \"admin\"; zones = [ \"*\" ]; },\n"
	"  { identity = \"ns1.test\"; role = \"signer\"; zones = [ \"*\" ]; },\n"
	"  { identity = \"stranger.test\"; role = \"signer\"; zones = [ \"*\" ]; }\n";

static const char slow[] = "rate-per-client = 5;\nrate-burst = 5;\n"
			   "max-connections-per-client = 1;\n";

static grpc_status_code health(rpc_conn *c, char *det, size_t dlen)
{
	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	det[0] = '\0';
	return rpc_call_msg(c, "Health", &h.base, det, dlen, NULL);
}

static void expect_ok(rpc_conn *c)
{
	char det[256];
	grpc_status_code st = health(c, det, sizeof(det));
	if (st != GRPC_STATUS_OK)
		fail_msg("Health: status %d: %s", (int)st, det);
}

/* n Health calls as fast as they go: how many were answered, and how long
 * it took; every refusal must be the rate limit's. */
static int probe(rpc_conn *c, int n, double *secs)
{
	long t0 = signetd_now_ms();
	int ok = 0;
	char det[256];
	for (int i = 0; i < n; i++) {
		grpc_status_code st = health(c, det, sizeof(det));
		if (st == GRPC_STATUS_OK)
			ok++;
		else if (st != GRPC_STATUS_RESOURCE_EXHAUSTED || !strstr(det, "calls/s"))
			fail_msg("call %d: status %d: %s", i, (int)st, det);
	}
	*secs = (double)(signetd_now_ms() - t0) / 1000;
	return ok;
}

/* Let the client's token bucket fill: burst calls at rate per second need
 * burst/rate seconds with no call. Time is the only event a bucket has,
 * and this wait is a lower bound, not a guess at the machine's speed: a
 * loaded machine that sleeps longer leaves the bucket no less full (it is
 * capped at burst), so what the probes after it count does not depend on
 * how fast the machine is. */
static void bucket_fills(unsigned burst, unsigned rate)
{
	signetd_sleep_ms((long)burst * 1000 / rate + 100);
}

/* Rewrite the configuration, send SIGHUP and wait for needle in the log. */
static void reload(const char *clients, const char *extra, const char *needle)
{
	signetd_opts o = {.clients = clients, .extra = extra};
	signetd_write_config(&D, D.conf, D.port, 0, &o);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	for (long end = signetd_now_ms() + 30000; !signetd_log_has(D.log, needle); signetd_sleep_ms(20))
		if (signetd_now_ms() > end)
			fail_msg("no '%s' in the log after SIGHUP", needle);
}

static int setup(void **state)
{
	(void)state;
	signetd_opts o = {.clients = two_clients, .extra = slow};
	return signetd_start(&D, &o);
}

static int teardown(void **state)
{
	(void)state;
	rpc_close(stranger);
	stranger = NULL;
	return signetd_teardown(&D);
}

/* Rate 5/s: a burst of 5, then refusals. After a reload to 100/s with a
 * third client and room for two connections per client, all three show at
 * once; a changed handshake timeout is reported as needing a restart. */
static void test_reload_raises(void **state)
{
	(void)state;
	char det[256];
	stranger = signetd_connect(&D, "stranger");
	rpc_conn *second = signetd_connect(&D, "ns1");
	assert_non_null(stranger);
	assert_non_null(second);
	assert_int_equal(health(stranger, det, sizeof(det)), GRPC_STATUS_PERMISSION_DENIED);
	/* the fixture's channel is ns1's one connection */
	assert_int_equal(health(D.signer, det, sizeof(det)), GRPC_STATUS_OK);
	assert_int_equal(health(second, det, sizeof(det)), GRPC_STATUS_RESOURCE_EXHAUSTED);
	assert_non_null(strstr(det, "max-connections-per-client"));

	bucket_fills(5, 5);
	double secs;
	int ok = probe(D.signer, 40, &secs);
	print_message("at 5/s: %d of 40 answered in %.2f s\n", ok, secs);
	assert_true(ok >= 5);
	assert_true(ok <= 5 + (int)(5 * secs) + 1);

	reload(three_clients,
	       "rate-per-client = 100;\nrate-burst = 100;\nmax-connections-per-client = 2;\n"
	       "handshake-timeout = 3;\n",
	       "reloaded: 3 clients; per client 64 calls, 100 calls/s (burst 100), 2 connections");
	assert_true(signetd_log_has(D.log, "keep their old values until a restart: "
				    "handshake-timeout"));
	expect_ok(stranger);
	bucket_fills(100, 100);  /* the new, deeper bucket */
	expect_ok(second);
	ok = probe(D.signer, 150, &secs);
	print_message("at 100/s: %d of 150 answered in %.2f s\n", ok, secs);
	assert_true(ok >= 99);  /* the call on the second connection took one */
	assert_true(ok <= 100 + (int)(100 * secs) + 1);
	rpc_close(second);
}

/* A file that does not parse: the log says where and why, and the clients
 * and limits of the last good reload stay. */
static void test_reload_broken_keeps_old(void **state)
{
	(void)state;
	reload(three_clients, "rate-per-client = \"fast\";\n", "failed, keeping the old clients "
	       "and limits");
	char want[400];
	snprintf(want, sizeof(want), "%s:", D.conf);
	assert_true(signetd_log_has(D.log, want));
	assert_true(signetd_log_has(D.log, "rate-per-client"));
	expect_ok(stranger);
	bucket_fills(100, 100);
	double secs;
	int ok = probe(D.signer, 150, &secs);
	print_message("after the broken reload: %d of 150 answered in %.2f s\n", ok, secs);
	assert_true(ok >= 99);

	/* a value out of range is refused the same way */
	assert_int_equal(kill(D.pid, 0), 0);
	signetd_opts o = {.clients = two_clients, .extra = "max-connections = 0;\n"};
	signetd_write_config(&D, D.conf, D.port, 0, &o);
	assert_int_equal(kill(D.pid, SIGHUP), 0);
	for (long end = signetd_now_ms() + 30000; !signetd_log_has(D.log, "max-connections: "); signetd_sleep_ms(20))
		if (signetd_now_ms() > end)
			fail_msg("no complaint about max-connections after SIGHUP");
	expect_ok(stranger);
}

/* Lowered: the bucket shrinks at once (no 100 saved calls left over), and
 * a removed client is refused. */
static void test_reload_lowers(void **state)
{
	(void)state;
	bucket_fills(100, 100);  /* full before it is lowered */
	reload(two_clients, "rate-per-client = 2;\nrate-burst = 2;\n",
	       "reloaded: 2 clients; per client 64 calls, 2 calls/s (burst 2)");
	double secs;
	int ok = probe(D.signer, 20, &secs);
	print_message("at 2/s: %d of 20 answered in %.2f s\n", ok, secs);
	assert_true(ok >= 2);
	assert_true(ok <= 2 + (int)(2 * secs) + 1);
	char det[256];
	assert_int_equal(health(stranger, det, sizeof(det)), GRPC_STATUS_PERMISSION_DENIED);
}

static void test_clean_stop(void **state)
{
	(void)state;
	rpc_close(stranger);
	stranger = NULL;
	signetd_stop_ok(&D);
}

/* ---- the admission table alone ------------------------------------------ */

#define SEC 1000000000ull

static signet_err enter(signer_admission *a, const char *id, const char *peer, uint64_t t,
			char *msg, size_t mlen)
{
	return signer_admission_enter(a, id, peer, t, msg, mlen);
}

static void test_set_limits_unit(void **state)
{
	(void)state;
	signer_admission_limits lim = {.max_connections = 1, .max_connections_client = 1,
				       .max_calls_client = 2, .rate = 10, .burst = 3,
				       .idle_timeout_s = 100};
	signer_admission *a = NULL;
	char msg[200];
	assert_int_equal(signer_admission_new(&lim, &a), SIGNET_OK);
	uint64_t t = 100 * SEC;
	assert_int_equal(signer_admission_set_limits(NULL, &lim, t), SIGNET_EINVAL);
	assert_int_equal(signer_admission_set_limits(a, NULL, t), SIGNET_EINVAL);
	signer_admission_limits bad = lim;
	bad.max_connections = 0;
	assert_int_equal(signer_admission_set_limits(a, &bad, t), SIGNET_EINVAL);

	/* empty the bucket: 3 calls, the 4th refused */
	for (int i = 0; i < 3; i++) {
		assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_OK);
		signer_admission_leave(a, "x", "p1", t);
	}
	assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_ELIMIT);
	assert_non_null(strstr(msg, "10 calls/s"));
	/* the refused EINVAL above changed nothing: still one connection */
	assert_int_equal(enter(a, "y", "p2", t, msg, sizeof(msg)), SIGNET_ELIMIT);
	assert_non_null(strstr(msg, "(max-connections)"));

	/* raised: the empty bucket stays empty, then fills at the new rate */
	signer_admission_limits up = {.max_connections = 40, .max_connections_client = 30,
				      .max_calls_client = 3, .rate = 100, .burst = 50,
				      .idle_timeout_s = 1000};
	assert_int_equal(signer_admission_set_limits(a, &up, t), SIGNET_OK);
	assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_ELIMIT);
	assert_non_null(strstr(msg, "100 calls/s"));
	t += SEC / 10;  /* 10 tokens at 100/s */
	for (int i = 0; i < 10; i++) {
		assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_OK);
		signer_admission_leave(a, "x", "p1", t);
	}
	assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_ELIMIT);
	t += SEC;  /* full: 50 */
	/* 3 calls in flight now, and the connection table grew past its
	 * first size: 30 connections of x, 10 more of others */
	for (int i = 0; i < 3; i++)
		assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_OK);
	assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_ELIMIT);
	assert_non_null(strstr(msg, "max-calls-per-client"));
	for (int i = 0; i < 3; i++)
		signer_admission_leave(a, "x", "p1", t);
	char peer[32];
	for (int i = 2; i <= 30; i++) {
		snprintf(peer, sizeof(peer), "p%d", i + 10);
		assert_int_equal(enter(a, "x", peer, t, msg, sizeof(msg)), SIGNET_OK);
		signer_admission_leave(a, "x", peer, t);
	}
	assert_int_equal(enter(a, "x", "p99", t, msg, sizeof(msg)), SIGNET_ELIMIT);
	assert_non_null(strstr(msg, "max-connections-per-client"));
	uint64_t soon = t + SEC / 2;  /* x's connections still count */
	for (int i = 0; i < 10; i++) {
		snprintf(peer, sizeof(peer), "q%d", i);
		assert_int_equal(enter(a, "y", peer, soon, msg, sizeof(msg)), SIGNET_OK);
		signer_admission_leave(a, "y", peer, soon);
	}
	assert_int_equal(enter(a, "z", "r0", soon, msg, sizeof(msg)), SIGNET_ELIMIT);
	assert_non_null(strstr(msg, "(max-connections)"));

	/* the idle timeout stays gRPC's 100 s, so a connection counts for
	 * 10 s after its last call (a tenth), not the 30 s that the reloaded
	 * 1000 s would give */
	t += 12 * SEC;
	assert_int_equal(enter(a, "z", "r0", t, msg, sizeof(msg)), SIGNET_OK);
	signer_admission_leave(a, "z", "r0", t);

	/* lowered: a full bucket of 50 shrinks to 2 */
	t += SEC;
	signer_admission_limits down = up;
	down.rate = 1;
	down.burst = 2;
	assert_int_equal(signer_admission_set_limits(a, &down, t), SIGNET_OK);
	for (int i = 0; i < 2; i++) {
		assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_OK);
		signer_admission_leave(a, "x", "p1", t);
	}
	assert_int_equal(enter(a, "x", "p1", t, msg, sizeof(msg)), SIGNET_ELIMIT);
	signer_admission_free(a);
}

/* Renamed clients over many reloads: identities with nothing in flight and
 * no live connection give their slot to new ones; while every slot is
 * busy a new identity is refused. */
static void test_identities_recycled(void **state)
{
	(void)state;
	signer_admission_limits lim = {.max_connections = 2 * SIGNER_CLIENTS_MAX,
				       .max_connections_client = 4, .max_calls_client = 4,
				       .rate = 0, .burst = 1, .idle_timeout_s = 5};
	signer_admission *a = NULL;
	char msg[200], id[32], peer[32];
	assert_int_equal(signer_admission_new(&lim, &a), SIGNET_OK);
	uint64_t t = 100 * SEC;
	for (int i = 0; i < SIGNER_CLIENTS_MAX; i++) {
		snprintf(id, sizeof(id), "old%d", i);
		snprintf(peer, sizeof(peer), "o%d", i);
		assert_int_equal(enter(a, id, peer, t, msg, sizeof(msg)), SIGNET_OK);
	}
	/* all busy */
	assert_int_equal(enter(a, "new0", "n0", t, msg, sizeof(msg)), SIGNET_ELIMIT);
	assert_non_null(strstr(msg, "too many client identities"));
	for (int i = 0; i < SIGNER_CLIENTS_MAX; i++) {
		snprintf(id, sizeof(id), "old%d", i);
		snprintf(peer, sizeof(peer), "o%d", i);
		signer_admission_leave(a, id, peer, t);
	}
	/* calls ended, but their connections count for 5 s more (the
	 * least, SIGNER_CONN_RECENT_MIN_MS) */
	assert_int_equal(enter(a, "new0", "n0", t + 4 * SEC, msg, sizeof(msg)), SIGNET_ELIMIT);
	t += 6 * SEC;
	for (int i = 0; i < 10; i++) {
		snprintf(id, sizeof(id), "new%d", i);
		snprintf(peer, sizeof(peer), "n%d", i);
		assert_int_equal(enter(a, id, peer, t, msg, sizeof(msg)), SIGNET_OK);
		signer_admission_leave(a, id, peer, t);
	}
	signer_admission_free(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_reload_raises),
		cmocka_unit_test(test_reload_broken_keeps_old),
		cmocka_unit_test(test_reload_lowers),
		cmocka_unit_test(test_clean_stop),
		cmocka_unit_test(test_set_limits_unit),
		cmocka_unit_test(test_identities_recycled),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
