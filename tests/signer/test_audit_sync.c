/* test_audit_sync.c -- the audit log's grouped fsync: signing lines from
 * several threads keep one intact chain, their caller never waits for the
 * disk, and a failing fsync refuses the signing lines that follow. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "signer/signer.h"
#include "tests/lib/tmpdir.h"

#define THREADS 4
#define LINES 200

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return test_tmpdir_make("signet-audit", dir, sizeof(dir));
}

static int teardown(void **state)
{
	(void)state;
	return test_tmpdir_remove(dir);
}

static void *writer(void *arg)
{
	signer_audit *a = arg;
	for (int i = 0; i < LINES; i++)
		if (signer_audit_append_grouped(a, "ns1", "SignRRsets", "example.com.",
						"rrsets=1", "ok") != SIGNET_OK)
			return (void *)1;
	return NULL;
}

/* Grouped lines from several threads, an administrative line among them and
 * a close: every line is there and the chain verifies. */
static void test_grouped_chain(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	signer_audit *a = NULL;
	assert_int_equal(signer_audit_open(path, &a), SIGNET_OK);
	pthread_t t[THREADS];
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_create(&t[i], NULL, writer, a), 0);
	assert_int_equal(signer_audit_append(a, "admin", "AddZone", "example.com.", NULL, "ok"),
			 SIGNET_OK);
	for (int i = 0; i < THREADS; i++) {
		void *rc = (void *)1;
		pthread_join(t[i], &rc);
		assert_null(rc);
	}
	signer_audit_close(a);
	size_t lines = 0, bad = 0;
	assert_int_equal(signer_audit_verify(path, &lines, &bad), SIGNET_OK);
	assert_int_equal(lines, THREADS * LINES + 1);

	/* the chain continues across a reopen with grouped lines too */
	assert_int_equal(signer_audit_open(path, &a), SIGNET_OK);
	assert_int_equal(signer_audit_append_grouped(a, "ns1", "SignRRsets", NULL, NULL, "ok"),
			 SIGNET_OK);
	signer_audit_close(a);
	assert_int_equal(signer_audit_verify(path, &lines, &bad), SIGNET_OK);
	assert_int_equal(lines, THREADS * LINES + 2);
}

/* A FIFO takes writes but refuses fsync (EINVAL): the fsync failure of the
 * syncer, which a regular file on a healthy disk cannot show. */
static void test_fsync_failure(void **state)
{
	(void)state;
	char path[128];
	snprintf(path, sizeof(path), "%s/audit.fifo", dir);
	assert_int_equal(mkfifo(path, 0600), 0);
	signer_audit *a = NULL;
	assert_int_equal(signer_audit_open(path, &a), SIGNET_OK);
	/* The first signing line does not wait for its fsync, so the
	 * failure is not this call's. */
	assert_int_equal(signer_audit_append_grouped(a, "ns1", "SignRRsets", NULL, NULL, "ok"),
			 SIGNET_OK);
	/* The syncer runs at once for a clean log's first line; once its
	 * fsync has failed, signing lines are refused. */
	signet_err ret = SIGNET_OK;
	for (int i = 0; i < 200 && ret == SIGNET_OK; i++) {
		struct timespec ts = {0, 10 * 1000 * 1000};
		nanosleep(&ts, NULL);
		ret = signer_audit_append_grouped(a, "ns1", "SignRRsets", NULL, NULL, "ok");
	}
	assert_int_not_equal(ret, SIGNET_OK);
	/* and stay refused while fsync keeps failing */
	assert_int_not_equal(signer_audit_append_grouped(a, "ns1", "SignRRsets", NULL, NULL,
							 "ok"), SIGNET_OK);
	/* an administrative line needs its own fsync, which fails at once */
	assert_int_not_equal(signer_audit_append(a, "admin", "AddZone", NULL, NULL, "ok"),
			     SIGNET_OK);
	signer_audit_close(a);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_grouped_chain, setup, teardown),
		cmocka_unit_test_setup_teardown(test_fsync_failure, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
