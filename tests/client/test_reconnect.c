/* test_reconnect.c -- a long-lived connection of the client library (what
 * signet-zoned holds) finds signetd again soon after it was stopped and
 * started: calls fail fast while it is down (UNAVAILABLE), and once it
 * listens again the unary and the pipelined calls go through within a few
 * seconds, with no thread waiting on the connection in between. Before
 * client_grpc_init set gRPC's backup poll to 100 ms, the reconnect was
 * driven by gRPC's 5 s backup poller alone and took 10 s or more (run
 * this test with GRPC_CLIENT_CHANNEL_BACKUP_POLL_INTERVAL_MS=5000 to see
 * it fail); under load it often never completed within gRPC's 20 s connect
 * deadline, and zoned stayed UNAVAILABLE for minutes. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <grpc/status.h>

#include "client/client.h"
#include "tests/lib/signetd_fixture.h"
#include "tests/lib/signetd_rpc.h"

/* How soon after signetd listens again a call must go through: gRPC's
 * back-off after the one failed attempt (1 s, 20% jitter) and a handshake
 * driven at 100 ms, with room for a loaded sanitizer build. The 5 s poller
 * needs two ticks at least. */
#define RECOVERY_BOUND_MS 8000

static signetd_env D;

static int setup(void **state)
{
	(void)state;
	return signetd_start(&D, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return signetd_teardown(&D);
}

/* One Health call; its gRPC status. */
static int health(client_conn *c)
{
	client_status st;
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(client_call(c, CLIENT_SVC "Health", NULL, 0, &st, &resp), SIGNET_OK);
	sg_buf_free(&resp);
	return st.code;
}

/* One pipelined Health call, collected; its gRPC status. */
static int health_pipelined(client_conn *c)
{
	uint8_t *req = malloc(1);
	assert_non_null(req);
	assert_int_equal(client_start(c, CLIENT_SVC "Health", req, 0, req), SIGNET_OK);
	void *tag = NULL;
	client_status st;
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(client_next(c, &tag, &st, &resp), SIGNET_OK);
	sg_buf_free(&resp);
	return st.code;
}

/* Stop signetd, see a call fail fast, start it again; the milliseconds
 * from its port answering to the first call of kind that goes through
 * (calls every 100 ms). */
static long restart_and_time(client_conn *c, int (*call)(client_conn *))
{
	assert_int_equal(call(c), 0);
	assert_int_equal(signetd_stop(&D), 0);
	long t0 = signetd_now_ms();
	assert_int_equal(call(c), GRPC_STATUS_UNAVAILABLE);
	/* Not a deadline's wait: the channel knows the server is gone. */
	assert_true(signetd_now_ms() - t0 < 4000);
	D.pid = signetd_spawn(D.conf, D.log);
	assert_true(signetd_wait_port(D.port, D.pid, 30000, NULL));
	long up = signetd_now_ms();
	for (;;) {
		int code = call(c);
		long took = signetd_now_ms() - up;
		if (code == 0)
			return took;
		assert_int_equal(code, GRPC_STATUS_UNAVAILABLE);
		if (took > 60000)
			fail_msg("no call went through for 60 s after signetd listened again");
		signetd_sleep_ms(100);
	}
}

static void test_unary_after_restart(void **state)
{
	(void)state;
	rpc_conn *r = signetd_connect(&D, "ns1");
	assert_non_null(r);
	client_conn *c = rpc_client(r);
	long took = restart_and_time(c, health);
	fprintf(stderr, "unary: through %ld ms after signetd listened again\n", took);
	assert_true(took <= RECOVERY_BOUND_MS);
	rpc_close(r);
}

static void test_pipelined_after_restart(void **state)
{
	(void)state;
	rpc_conn *r = signetd_connect(&D, "ns1");
	assert_non_null(r);
	client_conn *c = rpc_client(r);
	long took = restart_and_time(c, health_pipelined);
	fprintf(stderr, "pipelined: through %ld ms after signetd listened again\n", took);
	assert_true(took <= RECOVERY_BOUND_MS);
	assert_int_equal(client_inflight(c), 0);
	rpc_close(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_unary_after_restart),
		cmocka_unit_test(test_pipelined_after_restart),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
