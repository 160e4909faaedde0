/* test_softokn.c -- signetd on NSS's softokn, the second PKCS#11
 * implementation (docs/HSM.md), which finds its database only through its
 * library parameters: given as pkcs11-module-args, a zone's ZSK is made in
 * softokn and signs; without them the module does not initialise and
 * signetd says why; a PIN in them is refused before any module loads. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tests/lib/signetd_fixture.h"

static signetd_env D;

static int setup(void **state)
{
	(void)state;
	return signetd_start(&D, NULL);
}

static int teardown(void **state)
{
	(void)state;
	return signetd_teardown(&D);
}

/* A P-256 zone: its ZSK is generated in softokn, and the RRSIGs signetd
 * makes there verify. */
static void test_signs_on_softokn(void **state)
{
	(void)state;
	assert_int_equal(D.f->impl, SOFTHSM_IMPL_SOFTOKN);
	assert_true(D.f->init_args[0] != '\0');
	assert_true(signetd_log_has(D.conf, "pkcs11-module-args = \""));
	signetd_zone z;
	signetd_add_zone(&D, "softokn.example.", 13, &z);
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, "softokn.example.", 1, 3, &st);
	assert_non_null(r);
	assert_int_equal(r->n_results, 3);
	for (unsigned i = 0; i < 3; i++) {
		assert_int_equal(r->results[i]->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
		assert_int_equal(r->results[i]->n_rrsig, 1);
		signetd_check_rrsig(&z, 1 + i, r->results[i]->rrsig[0].data,
				    r->results[i]->rrsig[0].len);
	}
	signet__v1__sign_response__free_unpacked(r, NULL);
}

/* Run signetd on conf until it exits (bounded); its exit status. */
static int run_to_exit(const char *conf, const char *log)
{
	pid_t pid = signetd_spawn(conf, log);
	assert_true(pid > 0);
	int status = 0;
	for (int waited = 0; waited < 30000; waited += 50) {
		if (waitpid(pid, &status, WNOHANG) == pid)
			return status;
		signetd_sleep_ms(50);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &status, 0);
	fail_msg("signetd on %s did not exit within 30 s", conf);
	return -1;
}

/* The same configuration without the parameters: softokn answers
 * C_Initialize with CKR_ARGUMENTS_BAD and signetd stops, saying so; with a
 * PIN in them it stops before loading the module. */
static void test_needs_the_args(void **state)
{
	(void)state;
	char conf[400], log[400], line[1200];
	snprintf(conf, sizeof(conf), "%s/noargs.conf", D.dir);
	snprintf(log, sizeof(log), "%s/noargs.log", D.dir);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(D.conf, 1 << 20, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	char *text = (char *)b.data;
	char *at = strstr(text, "pkcs11-module-args = \"");
	assert_non_null(at);
	char *end = strchr(at, '\n');
	assert_non_null(end);
	/* without the line */
	FILE *c = fopen(conf, "w");
	assert_non_null(c);
	fprintf(c, "%.*s%s", (int)(at - text), text, end + 1);
	assert_int_equal(fclose(c), 0);
	int st = run_to_exit(conf, log);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_true(signetd_log_has(log, "CKR_ARGUMENTS_BAD"));
	/* with a PIN added to them */
	snprintf(line, sizeof(line), "pkcs11-module-args = \"%s userPin=Zq7hunter\";", D.f->init_args);
	c = fopen(conf, "w");
	assert_non_null(c);
	fprintf(c, "%.*s%s%s", (int)(at - text), text, line, end);
	assert_int_equal(fclose(c), 0);
	snprintf(log, sizeof(log), "%s/pinargs.log", D.dir);
	st = run_to_exit(conf, log);
	assert_true(WIFEXITED(st) && WEXITSTATUS(st) != 0);
	assert_true(signetd_log_has(log, "never a PIN"));
	assert_false(signetd_log_has(log, "Zq7hunter"));
	sg_buf_free(&b);
}

int main(void)
{
	/* This program is about softokn whatever the environment says;
	 * ctest gives it SIGNET_SOFTOKN_MODULE. */
	setenv("SIGNET_TEST_PKCS11", "softokn", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signs_on_softokn),
		cmocka_unit_test(test_needs_the_args),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
