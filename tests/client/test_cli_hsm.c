/* test_cli_hsm.c -- `signet hsm init|test|bench` as a child process: the
 * self-test passes on a real token, and every way an operator can get the PIN
 * or the token wrong ends with a clear message and the documented exit code. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "client/client.h"
#include "tests/lib/cli_run.h"
#include "tests/lib/softhsm_fixture.h"

extern char **environ;

/* Run the CLI with args (NULL-terminated); its stdout+stderr into out. */
static int run_cli(softhsm_fixture *f, sg_buf *out, const char *const *args)
{
	cli_run_io io = {.dir = f->dir, .out = out, .err = out};
	return cli_run(&io, SIGNET_CLI, args);
}

static int setup(void **state)
{
	int rc = softhsm_setup_closed(state);
	if (rc == 0) {
		softhsm_fixture *f = *state;
		setenv("SIGNET_PKCS11_MODULE", f->module, 1);
	}
	return rc;
}

static void test_selftest_passes(void **state)
{
	softhsm_fixture *f = *state;
	char pin[512], spec[600];
	assert_int_equal(softhsm_fixture_pin_file(f, "pin", pin, sizeof(pin)), SIGNET_OK);
	snprintf(spec, sizeof(spec), "file:%s", pin);
	sg_buf out = SG_BUF_INIT;
	const char *args[] = {"hsm", "test", "--token", f->label, "--pin", spec,
			      "--seconds", "0.2", "--sessions", "2", NULL};
	int rc = run_cli(f, &out, args);
	if (rc != 0)
		fprintf(stderr, "%s", (char *)out.data);
	assert_int_equal(rc, SIGNET_EXIT_OK);
	assert_non_null(strstr((char *)out.data, "result: PASS"));
	assert_null(strstr((char *)out.data, "FAILED"));
	for (int alg = 0; alg < 4; alg++) {
		static const char *names[] = {"ECDSAP256SHA256", "ED25519", "RSASHA256",
					      "ECDSAP384SHA384"};
		assert_non_null(strstr((char *)out.data, names[alg]));
	}
	/* The self-test cleans up: no key is left in the token. */
	assert_null(strstr((char *)out.data, "delete             FAILED"));

	/* bench with a chosen algorithm and the PIN from the environment, which
	 * the CLI removes from its environment once read. */
	setenv("SIGNET_TEST_PIN", (char *)f->user_pin->data, 1);
	const char *bench[] = {"hsm", "bench", "--token", f->label, "--pin",
			       "env:SIGNET_TEST_PIN", "--alg", "13", "--seconds", "0.2", NULL};
	rc = run_cli(f, &out, bench);
	unsetenv("SIGNET_TEST_PIN");
	assert_int_equal(rc, SIGNET_EXIT_OK);
	assert_non_null(strstr((char *)out.data, "sign/s"));
	assert_null(strstr((char *)out.data, "ED25519"));
	/* The PIN is never echoed. */
	assert_null(strstr((char *)out.data, (char *)f->user_pin->data));
	sg_buf_free(&out);
}

static void test_pin_mistakes(void **state)
{
	softhsm_fixture *f = *state;
	sg_buf out = SG_BUF_INIT;
	const char *literal[] = {"hsm", "test", "--token", f->label, "--pin",
				 (char *)f->user_pin->data, NULL};
	assert_int_equal(run_cli(f, &out, literal), SIGNET_EXIT_USAGE);
	assert_non_null(strstr((char *)out.data, "never taken from the command line"));

	char pin[512], spec[600];
	assert_int_equal(softhsm_fixture_pin_file(f, "loose", pin, sizeof(pin)), SIGNET_OK);
	assert_int_equal(chmod(pin, 0644), 0);
	snprintf(spec, sizeof(spec), "file:%s", pin);
	const char *loose[] = {"hsm", "test", "--token", f->label, "--pin", spec, NULL};
	assert_int_equal(run_cli(f, &out, loose), SIGNET_EXIT_USAGE);
	assert_non_null(strstr((char *)out.data, "chmod 600"));

	snprintf(pin, sizeof(pin), "%s/wrong", f->dir);
	assert_int_equal(sg_file_write_atomic(pin, "not-the-pin\n", 12, 0600), SIGNET_OK);
	snprintf(spec, sizeof(spec), "file:%s", pin);
	const char *wrong[] = {"hsm", "test", "--token", f->label, "--pin", spec, NULL};
	assert_int_equal(run_cli(f, &out, wrong), SIGNET_EXIT_ERROR);
	assert_non_null(strstr((char *)out.data, "CKR_PIN_INCORRECT"));

	const char *missing[] = {"hsm", "test", "--token", "no-such-token", "--pin", spec, NULL};
	assert_int_equal(run_cli(f, &out, missing), SIGNET_EXIT_ERROR);
	assert_non_null(strstr((char *)out.data, "not found"));
	sg_buf_free(&out);
}

static void test_usage_errors(void **state)
{
	softhsm_fixture *f = *state;
	sg_buf out = SG_BUF_INIT;
	const char *none[] = {NULL};
	assert_int_equal(run_cli(f, &out, none), SIGNET_EXIT_USAGE);
	const char *unknown[] = {"frobnicate", NULL};
	assert_int_equal(run_cli(f, &out, unknown), SIGNET_EXIT_USAGE);
	assert_non_null(strstr((char *)out.data, "unknown command"));
	const char *action[] = {"hsm", "explode", NULL};
	assert_int_equal(run_cli(f, &out, action), SIGNET_EXIT_USAGE);
	const char *alg[] = {"hsm", "test", "--token", "x", "--pin", "env:X", "--alg", "5", NULL};
	assert_int_equal(run_cli(f, &out, alg), SIGNET_EXIT_USAGE);
	assert_non_null(strstr((char *)out.data, "--alg"));
	const char *sessions[] = {"hsm", "bench", "--token", "x", "--pin", "env:X",
				  "--sessions", "0", NULL};
	assert_int_equal(run_cli(f, &out, sessions), SIGNET_EXIT_USAGE);
	const char *notoken[] = {"hsm", "test", "--pin", "env:X", NULL};
	assert_int_equal(run_cli(f, &out, notoken), SIGNET_EXIT_USAGE);
	assert_non_null(strstr((char *)out.data, "--token"));
	sg_buf_free(&out);
}

static void test_init_second_token(void **state)
{
	softhsm_fixture *f = *state;
	char so[512], user[512], so_spec[600], user_spec[600];
	snprintf(so, sizeof(so), "%s/so2", f->dir);
	snprintf(user, sizeof(user), "%s/user2", f->dir);
	assert_int_equal(sg_file_write_atomic(so, "so-pin-2\n", 9, 0600), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(user, "user-pin-2\n", 11, 0600), SIGNET_OK);
	snprintf(so_spec, sizeof(so_spec), "file:%s", so);
	snprintf(user_spec, sizeof(user_spec), "file:%s", user);
	sg_buf out = SG_BUF_INIT;
	const char *init[] = {"hsm", "init", "--token", "second", "--so-pin", so_spec,
			      "--pin", user_spec, NULL};
	assert_int_equal(run_cli(f, &out, init), SIGNET_EXIT_OK);
	const char *test[] = {"hsm", "test", "--token", "second", "--pin", user_spec,
			      "--alg", "13", "--seconds", "0.1", NULL};
	assert_int_equal(run_cli(f, &out, test), SIGNET_EXIT_OK);
	assert_non_null(strstr((char *)out.data, "token 'second'"));
	sg_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_selftest_passes, setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_pin_mistakes, setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_usage_errors, setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_init_second_token, setup, softhsm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
