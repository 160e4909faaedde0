/* test_softokn.c -- the ceremony tool on NSS's softokn, which finds its
 * database only through its library parameters: the machine's
 * configuration gives them as module-args. softokn holds no ceremony (no SO
 * PIN, no token data objects: docs/HSM.md), so what the tool can show there
 * is that it loads the module with them and reaches the policy's token,
 * where it finds no anchor; without them the module does not initialise,
 * and a PIN in them is refused before any module loads. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ceremony/ceremony.h"
#include "tests/lib/ceremony_fixture.h"
#include "tests/lib/cli_run.h"

static const char *const names[2] = {"alice", "bob"};
static const char *const pws[2] = {"alice's long passphrase", "bob's long passphrase"};
static cer_fixture cf;

static int setup(void **state)
{
	(void)state;
	cfx_opts o = {.nops = 2, .names = names, .pws = pws, .enroll = true};
	return cfx_create(&cf, &o) == SIGNET_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cfx_destroy(&cf);
	return 0;
}

/* The fixture's policy, for the softokn token's own label. */
static void adopt_for_token(void)
{
	char pol[700];
	snprintf(pol, sizeof(pol), "%s/policy.new", cf.dir);
	static const uint8_t algs[] = {13};
	cfx_write_policy(&cf, pol, 1, 2, 2, algs, 1);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(pol, CER_FILE_MAX, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	const char *text = (const char *)b.data;
	const char *at = strstr(text, "\ntoken-label signet-ksk\n");
	assert_non_null(at);
	sg_buf out = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&out, "%.*s\ntoken-label %s\n%s", (int)(at - text), text,
				       cf.fx->label, at + strlen("\ntoken-label signet-ksk\n")),
			 SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(pol, out.data, out.len, 0600), SIGNET_OK);
	sg_buf_free(&out);
	sg_buf_free(&b);
	int ab[] = {0, 1};
	cfx_sign_policy(&cf, pol, ab, 2);
	cfx_expect(cer_policy_adopt(cf.cdir, pol, CFX_ERR), SIGNET_OK, NULL);
}

static int verify_log(const char *conf, sg_buf *said)
{
	const char *args[] = {"verify-log", "--dir", cf.cdir, "--token", "--config", conf, NULL};
	cli_run_io io = {.dir = cf.dir, .out = said, .err = said};
	return cli_run(&io, SIGNET_CEREMONY, args);
}

static void write_conf(const char *path, const char *args_line)
{
	sg_buf c = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&c, "signet-ceremony-config 1\nmodule %s\n%s",
				       cf.fx->module, args_line),
			 SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(path, c.data, c.len, 0600), SIGNET_OK);
	sg_buf_free(&c);
}

static void test_module_args(void **state)
{
	(void)state;
	assert_int_equal(cf.fx->impl, SOFTHSM_IMPL_SOFTOKN);
	adopt_for_token();
	sg_buf said = SG_BUF_INIT, conf = SG_BUF_INIT;
	/* the fixture's configuration carries module-args */
	assert_int_equal(sg_file_read(cf.conf, CER_FILE_MAX, &conf), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&conf, 0), SIGNET_OK);
	assert_non_null(strstr((const char *)conf.data, "\nmodule-args configdir="));
	/* with them: softokn is loaded and the token found; it has no anchor */
	assert_int_not_equal(verify_log(cf.conf, &said), 0);
	assert_non_null(strstr((const char *)said.data, cf.fx->label));
	assert_non_null(strstr((const char *)said.data, "no public data object"));
	assert_null(strstr((const char *)said.data, "cannot load the PKCS#11 module"));

	/* without them: softokn does not initialise */
	char other[700], line[2200];
	snprintf(other, sizeof(other), "%s/other.conf", cf.fx->dir);
	write_conf(other, "");
	assert_int_not_equal(verify_log(other, &said), 0);
	assert_non_null(strstr((const char *)said.data, "cannot load the PKCS#11 module"));
	assert_non_null(strstr((const char *)said.data, "CKR_ARGUMENTS_BAD"));

	/* a PIN in them: refused at reading the configuration, not repeated */
	snprintf(line, sizeof(line), "module-args %s userPin=Zq7hunter\n", cf.fx->init_args);
	write_conf(other, line);
	assert_int_not_equal(verify_log(other, &said), 0);
	assert_non_null(strstr((const char *)said.data, "module-args"));
	assert_non_null(strstr((const char *)said.data, "never a PIN"));
	assert_null(strstr((const char *)said.data, "Zq7hunter"));
	/* and anything after module-args is still unexpected */
	snprintf(line, sizeof(line), "module-args %s\nmodule-args %s\n", cf.fx->init_args,
		 cf.fx->init_args);
	write_conf(other, line);
	assert_int_not_equal(verify_log(other, &said), 0);
	assert_non_null(strstr((const char *)said.data, "unexpected"));
	sg_buf_free(&said);
	sg_buf_free(&conf);
}

int main(void)
{
	/* This program is about softokn whatever the environment says;
	 * ctest gives it SIGNET_SOFTOKN_MODULE. */
	setenv("SIGNET_TEST_PKCS11", "softokn", 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_module_args),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
