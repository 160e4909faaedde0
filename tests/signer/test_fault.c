/* test_fault.c -- the HSM lost under a running signetd: the SoftHSM2 token
 * directory is moved away while a client keeps signing. What cannot be
 * signed comes back UNAVAILABLE per RRset (never a bad RRSIG, never a hung
 * call), Health and the metrics report the token down, and everything
 * recovers once the directory is back. */
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"

static signetd_env D;
static signetd_zone Z;

static int setup(void **state)
{
	(void)state;
	signetd_opts o = {.metrics = true};
	if (signetd_start(&D, &o) != 0)
		return -1;
	signetd_add_zone(&D, "example.com.", 13, &Z);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return signetd_teardown(&D);
}

static void move_tokens(bool away)
{
	char aside[400];
	snprintf(aside, sizeof(aside), "%s.away", D.f->tokendir);
	if (away)
		assert_int_equal(rename(D.f->tokendir, aside), 0);
	else
		assert_int_equal(rename(aside, D.f->tokendir), 0);
}

static void health(rpc_conn *c, bool *present, bool *logged_in)
{
	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(c, "Health", &h.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__HealthResponse *r =
		signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(r);
	*present = r->token_present;
	*logged_in = r->logged_in;
	assert_int_equal(r->n_zones, 1);
	/* a zone whose token is gone has no usable ZSK */
	assert_int_equal(r->zones[0]->active_zsk, r->token_present);
	signet__v1__health_response__free_unpacked(r, NULL);
	sg_buf_free(&resp);
}

static double scrape(const char *series)
{
	static char buf[1 << 18];
	return signetd_metric(signetd_scrape(&D, buf, sizeof(buf)), series);
}

/* Sign n fresh RRsets; count the items by outcome; every RRSIG verifies. */
typedef struct tally {
	unsigned signed_ok, unavailable, other, calls_failed;
} tally;

static void sign_and_tally(rpc_conn *c, unsigned first, unsigned n, tally *t)
{
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(c, "example.com.", first, n, &st);
	if (!r) {
		t->calls_failed++;
		return;
	}
	for (unsigned i = 0; i < n; i++) {
		const Signet__V1__SignResult *res = r->results[i];
		if (res->status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED) {
			assert_int_equal(res->n_rrsig, 1);
			signetd_check_rrsig(&Z, first + i, res->rrsig[0].data, res->rrsig[0].len);
			t->signed_ok++;
		} else if (res->status == SIGNET__V1__ITEM_STATUS__ITEM_FAILED &&
			   res->code == GRPC_STATUS_UNAVAILABLE) {
			assert_int_equal(res->n_rrsig, 0);
			assert_non_null(strstr(res->message, "signing failed"));
			t->unavailable++;
		} else {
			print_message("item %u: status %d code %u: %s\n", i, (int)res->status,
				      res->code, res->message);
			t->other++;
		}
	}
	signet__v1__sign_response__free_unpacked(r, NULL);
}

/* The client that keeps signing through the fault. */
typedef struct background {
	atomic_bool stop;
	atomic_uint next;
	atomic_uint signed_seen; /* RRsets signed so far, for the test to wait on */
	tally t;
	unsigned calls;
} background;

static void *signer_loop(void *arg)
{
	background *b = arg;
	while (!atomic_load(&b->stop)) {
		unsigned first = atomic_fetch_add(&b->next, 10);
		sign_and_tally(D.signer, first, 10, &b->t);
		atomic_store(&b->signed_seen, b->t.signed_ok);
		b->calls++;
		signetd_sleep_ms(5);
	}
	return NULL;
}

/* Wait until the background client has signed at least n RRsets. */
static void wait_signed(background *b, unsigned n)
{
	for (long end = signetd_now_ms() + 30000; atomic_load(&b->signed_seen) < n;
	     signetd_sleep_ms(5))
		if (signetd_now_ms() > end)
			fail_msg("the background client signed %u RRsets, not %u",
				 atomic_load(&b->signed_seen), n);
}

/* How many times needle occurs in signetd's log. */
static int log_count(const char *needle)
{
	sg_buf b = SG_BUF_INIT;
	int n = 0;
	if (sg_file_read(D.log, 1 << 24, &b) == SIGNET_OK && sg_buf_put_u8(&b, 0) == SIGNET_OK)
		for (const char *p = (char *)b.data; (p = strstr(p, needle)) != NULL; p++)
			n++;
	sg_buf_free(&b);
	return n;
}

static void test_token_lost_and_back(void **state)
{
	(void)state;
	bool present = false, logged_in = false;
	health(D.admin, &present, &logged_in);
	assert_true(present);
	assert_true(logged_in);
	assert_true(scrape("signet_token_up") == 1);

	background bg;
	memset(&bg, 0, sizeof(bg));
	atomic_init(&bg.next, 1000);
	pthread_t th;
	assert_int_equal(pthread_create(&th, NULL, signer_loop, &bg), 0);
	wait_signed(&bg, 1);

	/* The directory goes away under the running daemon. SoftHSM2 keeps
	 * signing with session copies until the module is torn down; a
	 * health check finds the token gone and tears it down. */
	move_tokens(true);
	health(D.admin, &present, &logged_in);
	assert_false(present);
	assert_false(logged_in);
	double errs0 = scrape("signet_item_errors_total{code=\"UNAVAILABLE\"}");
	assert_true(scrape("signet_token_up") == 0);

	/* Deterministically now: fresh RRsets cannot be signed. */
	tally down;
	memset(&down, 0, sizeof(down));
	sign_and_tally(D.admin, 1, 20, &down);
	assert_int_equal(down.calls_failed, 0);
	assert_int_equal(down.signed_ok, 0);
	assert_int_equal(down.other, 0);
	assert_int_equal(down.unavailable, 20);
	double errs1 = scrape("signet_item_errors_total{code=\"UNAVAILABLE\"}");
	assert_true(errs1 >= (errs0 < 0 ? 0 : errs0) + 20);
	/* Still down after the module was re-initialised again (its
	 * back-off passed): wait for that attempt, not for a time. */
	int tried = log_count("C_Initialize: ");
	for (long end = signetd_now_ms() + 30000;
	     log_count("C_Initialize: ") == tried; signetd_sleep_ms(20))
		if (signetd_now_ms() > end) {
			signetd_sh("grep -v 'sign rrsets' %s | tail -5 >&2; true", D.log);
			fail_msg("signetd never tried to re-initialise the module again");
		}
	memset(&down, 0, sizeof(down));
	sign_and_tally(D.admin, 21, 5, &down);
	assert_int_equal(down.unavailable, 5);
	health(D.admin, &present, &logged_in);
	assert_false(present);

	/* The directory comes back: after the back-off the daemon recovers by
	 * itself, without a restart. */
	move_tokens(false);
	for (long end = signetd_now_ms() + 30000;; signetd_sleep_ms(20)) {
		health(D.admin, &present, &logged_in);
		if (present)
			break;
		if (signetd_now_ms() > end)
			fail_msg("the token did not come back");
	}
	assert_true(present);
	assert_true(logged_in);
	tally up;
	memset(&up, 0, sizeof(up));
	sign_and_tally(D.admin, 100, 20, &up);
	assert_int_equal(up.signed_ok, 20);
	assert_int_equal(up.unavailable, 0);
	assert_true(scrape("signet_token_up") == 1);
	/* the background client signs again too */
	wait_signed(&bg, atomic_load(&bg.signed_seen) + 1);

	atomic_store(&bg.stop, true);
	pthread_join(th, NULL);
	print_message("background client: %u calls, %u signed, %u unavailable, %u other, "
		      "%u calls failed\n", bg.calls, bg.t.signed_ok, bg.t.unavailable,
		      bg.t.other, bg.t.calls_failed);
	/* Through the whole fault: no call failed as a whole, no item failed
	 * any other way, and the client saw both outcomes. */
	assert_int_equal(bg.t.calls_failed, 0);
	assert_int_equal(bg.t.other, 0);
	assert_true(bg.t.signed_ok > 0);
	assert_true(bg.t.unavailable > 0);
	/* The daemon is still the same process. */
	assert_int_equal(kill(D.pid, 0), 0);
	assert_true(signetd_log_has(D.log, "signing failed") || signetd_log_has(D.log, "sign rrsets"));
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
		cmocka_unit_test(test_token_lost_and_back),
		cmocka_unit_test(test_clean_stop),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
