/* test_drain.c -- SIGTERM and SIGINT with calls in flight. signetd's
 * module is tests/p11fault holding every C_Sign until the test releases
 * it, so the calls are provably inside the HSM when the signal comes: each
 * of them must still get its RRSIGs, and they must verify; a call made
 * after the signal (on a new connection, or on a connection opened before
 * it) is refused at once (UNAVAILABLE, or CANCELLED by gRPC core for a
 * stream that raced the GOAWAY) while the held calls are still
 * held; and once they are released the daemon exits 0. */
#include <errno.h>
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
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_fixture.h"
#include "tests/lib/p11fault_ctl.h"
#include "tests/lib/signetd_h2raw.h"

#define WORKERS 4          /* every worker holds one call in C_Sign */
#define PER_CALL 5         /* RRsets per call */
#define WAIT_MS 30000      /* bound on waiting for an event (not a timing) */

static signetd_env D;
static signetd_zone Z;
static unsigned next_owner = 1;

/* Poll for an event the test caused; WAIT_MS only bounds a broken run. */
static bool wait_for(bool (*cond)(void))
{
	for (long end = signetd_now_ms() + WAIT_MS; !cond(); signetd_sleep_ms(5))
		if (signetd_now_ms() > end)
			return false;
	return true;
}

static bool said_draining(void)
{
	return signetd_log_has(D.log, "draining");
}

typedef struct call {
	rpc_conn *c;
	unsigned first;
	grpc_status_code st;
	Signet__V1__SignResponse *r;
	atomic_bool done;     /* r and st are set */
} call;

static void *one_call(void *arg)
{
	call *k = arg;
	k->r = signetd_sign_a(k->c, "example.com.", k->first, PER_CALL, &k->st);
	atomic_store(&k->done, true);
	return NULL;
}

static int setup(void **state)
{
	(void)state;
	if (signetd_start(&D, NULL) != 0)
		return -1;
	signetd_add_zone(&D, "example.com.", 13, &Z);
	/* WORKERS workers, so that many calls are inside C_Sign at once */
	signetd_stop_ok(&D);
	signetd_sh("sed -i 's/^workers = 2;/workers = %d;/' '%s'", WORKERS, D.conf);
	D.pid = signetd_spawn(D.conf, D.log);
	signetd_wait_restarted(&D);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return signetd_teardown(&D);
}

/* One round: WORKERS calls held in the HSM, the signal, calls after it
 * refused while the first are still held, then the release. */
static void drain(int sig)
{
	/* a call before the fault: the channel is up and signing works */
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "example.com.", next_owner, 1, &st);
	assert_non_null(r);
	signet__v1__sign_response__free_unpacked(r, NULL);
	next_owner++;

	p11fault_set("hold");
	call calls[WORKERS];
	pthread_t th[WORKERS];
	for (int i = 0; i < WORKERS; i++) {
		memset(&calls[i], 0, sizeof(calls[i]));
		atomic_init(&calls[i].done, false);
		calls[i].c = signetd_connect(&D, "ns1");
		assert_non_null(calls[i].c);
		calls[i].first = next_owner;
		next_owner += PER_CALL;
		assert_int_equal(pthread_create(&th[i], NULL, one_call, &calls[i]), 0);
	}
	if (!p11fault_wait_held(WORKERS, WAIT_MS))
		fail_msg("only %ld of %d calls reached C_Sign", p11fault_count(".held"), WORKERS);

	assert_int_equal(kill(D.pid, sig), 0);
	if (!wait_for(said_draining))
		fail_msg("signetd did not start draining on signal %d", sig);

	/* After the signal, while every earlier call is still held: a call on
	 * a connection made before the signal, and one on a new connection,
	 * are refused cleanly, not queued behind the drain. */
	char det[256];
	Signet__V1__HealthRequest h = SIGNET__V1__HEALTH_REQUEST__INIT;
	grpc_status_code late = rpc_call_msg(D.signer, "Health", &h.base, det, sizeof(det), NULL);
	/* UNAVAILABLE once the client has read the server's GOAWAY; a stream
	 * that reached the server before that is cancelled by gRPC core
	 * (1.51) itself, as the shutdown began: refused either way, and the
	 * CLI takes both as exit 4. */
	if (late != GRPC_STATUS_UNAVAILABLE && late != GRPC_STATUS_CANCELLED)
		fail_msg("a call after the signal on an open connection: status %d (%s)",
			 (int)late, det);
	rpc_conn *fresh = signetd_connect(&D, "ns1");
	assert_non_null(fresh);
	late = rpc_call_msg(fresh, "Health", &h.base, det, sizeof(det), NULL);
	rpc_close(fresh);
	if (late != GRPC_STATUS_UNAVAILABLE)
		fail_msg("a call after the signal on a new connection: status %d (%s)",
			 (int)late, det);
	/* nothing was answered yet: the held calls are still inside C_Sign */
	for (int i = 0; i < WORKERS; i++)
		assert_false(atomic_load(&calls[i].done));
	assert_int_equal(kill(D.pid, 0), 0);

	p11fault_release();
	for (int i = 0; i < WORKERS; i++) {
		pthread_join(th[i], NULL);
		rpc_close(calls[i].c);
		if (!calls[i].r)
			fail_msg("call %d in flight at signal %d lost: status %d", i, sig,
				 (int)calls[i].st);
		assert_int_equal(calls[i].r->n_results, PER_CALL);
		for (unsigned k = 0; k < PER_CALL; k++) {
			const Signet__V1__SignResult *res = calls[i].r->results[k];
			assert_int_equal(res->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
			assert_int_equal(res->n_rrsig, 1);
			signetd_check_rrsig(&Z, calls[i].first + k, res->rrsig[0].data,
					    res->rrsig[0].len);
		}
		signet__v1__sign_response__free_unpacked(calls[i].r, NULL);
	}
	int status = 0;
	assert_int_equal(waitpid(D.pid, &status, 0), D.pid);
	D.pid = 0;
	if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
		fail_msg("signetd after signal %d: status 0x%x", sig, status);
	assert_false(signetd_log_has(D.log, "drain timed out"));
	p11fault_set("");
}

static void test_sigterm(void **state)
{
	(void)state;
	drain(SIGTERM);
}

static void test_sigint(void **state)
{
	(void)state;
	D.pid = signetd_spawn(D.conf, D.log);
	signetd_wait_restarted(&D);
	drain(SIGINT);
}

/* A stream that sent its HEADERS and never its message, open when the
 * signal comes, must not hold the drain for its message-timeout (60 s
 * here): a stopping signetd gives such a stream a short grace (time for a
 * message already on the wire), then turns it away and exits. */
static void test_silent_stream_at_stop(void **state)
{
	(void)state;
	signetd_sh("printf 'message-timeout = 60;\\n' >> '%s'", D.conf);
	D.pid = signetd_spawn(D.conf, D.log);
	signetd_wait_restarted(&D);
	char ca[300], cert[300], key[300];
	snprintf(ca, sizeof(ca), "%s/ca.pem", D.dir);
	snprintf(cert, sizeof(cert), "%s/ns1.pem", D.dir);
	snprintf(key, sizeof(key), "%s/ns1.key", D.dir);
	h2raw *h = h2raw_open(D.port, ca, cert, key, true);
	assert_non_null(h);
	assert_int_equal(h2raw_headers(h, 1, "/signet.v1.Signet/SignRRsets", false), 0);
	assert_int_equal(h2raw_flush(h), 0);
	/* the stream is registered (a call waiting for its message counts as
	 * in flight), then the signal */
	h2raw_pump(h, 300);
	long t0 = signetd_now_ms();
	assert_int_equal(kill(D.pid, SIGTERM), 0);
	int status = 0;
	pid_t got = 0;
	for (long end = t0 + WAIT_MS; got == 0 && signetd_now_ms() < end;) {
		h2raw_pump(h, 20);
		got = waitpid(D.pid, &status, WNOHANG);
	}
	long took = signetd_now_ms() - t0;
	h2raw_close(h);
	if (got != D.pid)
		fail_msg("signetd still draining %ld ms after SIGTERM with a silent stream", took);
	D.pid = 0;
	assert_true(WIFEXITED(status));
	assert_int_equal(WEXITSTATUS(status), 0);
	print_message("signetd exited %ld ms after SIGTERM with a silent stream open\n", took);
	/* bounded by the grace, not by message-timeout or the drain limit */
	if (took > 20000)
		fail_msg("the silent stream held the drain for %ld ms", took);
	assert_false(signetd_log_has(D.log, "drain timed out"));
}

int main(void)
{
	if (p11fault_setup("signet-drain") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sigterm),
		cmocka_unit_test(test_sigint),
		cmocka_unit_test(test_silent_stream_at_stop),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	p11fault_cleanup();
	return rc;
}
