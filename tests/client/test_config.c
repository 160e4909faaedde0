/* test_config.c -- the client configuration file: what it accepts, and every refusal naming its line. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "client/client.h"
#include "common/common.h"
#include "tests/lib/tmpdir.h"

static char dir[64];
static char path[128];

static int setup(void **state)
{
	(void)state;
	if (test_tmpdir_make("signet-cconf", dir, sizeof(dir)) != 0)
		return -1;
	snprintf(path, sizeof(path), "%s/client.conf", dir);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	return test_tmpdir_remove(dir);
}

/* Load text as the config file over a fresh configuration. */
static signet_err load(const char *text, client_config *cfg, char *msg, size_t msglen)
{
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite(text, 1, strlen(text), f), strlen(text));
	assert_int_equal(fclose(f), 0);
	client_config_init(cfg);
	msg[0] = '\0';
	return client_config_load(path, cfg, msg, msglen);
}

static void test_accepts_the_documented_form(void **state)
{
	(void)state;
	client_config c;
	char msg[256];
	assert_int_equal(load("# signetd of the lab\n"
			      "server 127.0.0.1:8853\r\n"
			      "server-name signetd.test   # ours\n"
			      "ca /etc/signet/ca.pem\n"
			      "cert /etc/signet/ns1.pem\n"
			      "key /etc/signet/ns1.key\n"
			      "\n"
			      "timeout 1.005\n",
			      &c, msg, sizeof(msg)),
			 SIGNET_OK);
	assert_string_equal(c.server, "127.0.0.1:8853");
	assert_string_equal(c.ca, "/etc/signet/ca.pem");
	assert_string_equal(c.key, "/etc/signet/ns1.key");
	/* 1.005 is 1.00499... as a double: rounded, not cut to 1004 */
	assert_int_equal(c.timeout_ms, 1005);
	assert_int_equal(client_config_check(&c, msg, sizeof(msg)), SIGNET_OK);
}

static void test_defaults_and_missing_keys(void **state)
{
	(void)state;
	client_config c;
	char msg[256];
	assert_int_equal(load("server h:1\nca /a\ncert /b\n", &c, msg, sizeof(msg)), SIGNET_OK);
	assert_int_equal(c.timeout_ms, CLIENT_TIMEOUT_DEFAULT_MS);
	assert_int_equal(client_config_check(&c, msg, sizeof(msg)), SIGNET_EINVAL);
	assert_non_null(strstr(msg, "key"));
	assert_int_equal(client_config_set(&c, "key", "/c", msg, sizeof(msg)), SIGNET_OK);
	assert_int_equal(client_config_check(&c, msg, sizeof(msg)), SIGNET_OK);
	assert_int_equal(client_config_set(&c, "colour", "red", msg, sizeof(msg)), SIGNET_EINVAL);
	assert_non_null(strstr(msg, "colour"));
	assert_int_equal(client_config_set(&c, "ca", "relative.pem", msg, sizeof(msg)),
			 SIGNET_EPARSE);
	assert_string_equal(c.ca, "/a");
}

/* Each refusal: SIGNET_EPARSE and a message naming the file and line. */
static void refused(const char *text, const char *where, const char *why)
{
	client_config c;
	char msg[256];
	assert_int_equal(load(text, &c, msg, sizeof(msg)), SIGNET_EPARSE);
	char want[256];
	snprintf(want, sizeof(want), "%s:%s", path, where);
	if (strstr(msg, want) == NULL || strstr(msg, why) == NULL)
		fail_msg("'%s' does not name %s and '%s'", msg, want, why);
}

static void test_refusals_name_the_line(void **state)
{
	(void)state;
	refused("server h:1\ncolour red\n", "2:", "colour");
	refused("server h:1\nserver h:2\n", "2:", "server");
	refused("\n\nca etc/ca.pem\n", "3:", "ca");
	refused("server h\x01:1\n", "1:", "");
	refused("server\n", "1:", "KEY VALUE");
	refused("timeout 0\n", "1:", "timeout");
	refused("timeout 3601\n", "1:", "timeout");
	refused("timeout nan\n", "1:", "timeout");
	refused("timeout 5s\n", "1:", "timeout");
	static char longline[5000];
	memset(longline, 'a', sizeof(longline) - 2);
	memcpy(longline, "server ", 7);
	longline[sizeof(longline) - 2] = '\n';
	refused(longline, "1:", "");
}

/* A key in a token: its URI is checked when read, and a URI needs the
 * module and the PIN file. */
static void test_key_in_a_token(void **state)
{
	(void)state;
	client_config c;
	char msg[256];
	assert_int_equal(load("server h:1\nca /a\ncert /b\n"
			      "key pkcs11:token=ns1-tls;object=signet:tls:ns1:13:1;type=private\n"
			      "key-module /usr/lib/softhsm/libsofthsm2.so\nkey-pin /etc/ns1.pin\n",
			      &c, msg, sizeof(msg)),
			 SIGNET_OK);
	assert_string_equal(c.key, "pkcs11:token=ns1-tls;object=signet:tls:ns1:13:1;type=private");
	assert_string_equal(c.key_module, "/usr/lib/softhsm/libsofthsm2.so");
	assert_string_equal(c.key_pin, "/etc/ns1.pin");
	assert_int_equal(client_config_check(&c, msg, sizeof(msg)), SIGNET_OK);
	c.key_pin[0] = '\0';
	assert_int_equal(client_config_check(&c, msg, sizeof(msg)), SIGNET_EINVAL);
	assert_non_null(strstr(msg, "key-pin"));

	refused("key pkcs11:token=t;object=k;type=public\n", "1:", "type=private");
	refused("key pkcs11:token=t;object=k;pin-value=1\n", "1:", "never sits");
	refused("key pkcs11:object=k\n", "1:", "token");
	refused("key-pin pin.txt\n", "1:", "absolute");
	refused("key-module softhsm.so\n", "1:", "absolute");
	refused("key-pin /a\nkey-pin /b\n", "2:", "key-pin");
	/* library parameters, blanks and all; never a PIN */
	assert_int_equal(load("key-module-args configdir='sql:/etc/ns1 nss' flags=noModDB\n", &c,
			      msg, sizeof(msg)),
			 SIGNET_OK);
	assert_string_equal(c.key_module_args, "configdir='sql:/etc/ns1 nss' flags=noModDB");
	refused("key-module-args configdir='sql:/x' userPin=1234\n", "1:", "never a PIN");
	refused("key-module-args a\nkey-module-args b\n", "2:", "key-module-args");
}

static void test_bounds_on_the_file(void **state)
{
	(void)state;
	client_config c;
	char msg[256];
	/* over 64 KiB of comments */
	size_t n = 70 * 1024;
	char *big = malloc(n + 1);
	assert_non_null(big);
	for (size_t i = 0; i < n; i += 64) {
		memset(big + i, '#', 63);
		big[i + 63] = '\n';
	}
	big[n] = '\0';
	assert_int_not_equal(load(big, &c, msg, sizeof(msg)), SIGNET_OK);
	assert_true(msg[0] != '\0');
	free(big);
	/* a NUL inside the file */
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	assert_int_equal(fwrite("server h:1\n\0ca /x\n", 1, 18, f), 18);
	assert_int_equal(fclose(f), 0);
	client_config_init(&c);
	assert_int_equal(client_config_load(path, &c, msg, sizeof(msg)), SIGNET_EPARSE);
	/* a file that is not there */
	client_config_init(&c);
	assert_int_not_equal(client_config_load("/nonexistent/signet.conf", &c, msg, sizeof(msg)),
			     SIGNET_OK);
	assert_non_null(strstr(msg, "/nonexistent/signet.conf"));
}

/* server: one address as gRPC takes it; a list of replicas as one ipv4: or
 * ipv6: target; anything else in a list refused with a reason. */
static void test_server_lists(void **state)
{
	(void)state;
	client_target_info t;
	char msg[256];
	assert_int_equal(client_target("127.0.0.1:8443", &t, msg, sizeof(msg)), SIGNET_OK);
	assert_string_equal(t.target, "127.0.0.1:8443");
	assert_false(t.several);
	assert_string_equal(t.host, "");
	assert_int_equal(client_target("dns:///signet.example:443", &t, msg, sizeof(msg)),
			 SIGNET_OK);
	assert_true(t.several);
	assert_int_equal(client_target("192.0.2.1:1,192.0.2.2:2", &t, msg, sizeof(msg)),
			 SIGNET_OK);
	assert_string_equal(t.target, "ipv4:192.0.2.1:1,192.0.2.2:2");
	assert_string_equal(t.host, "192.0.2.1");
	assert_true(t.several);
	assert_int_equal(client_target("[2001:db8::1]:443,[::1]:8443", &t, msg, sizeof(msg)),
			 SIGNET_OK);
	assert_string_equal(t.target, "ipv6:[2001:db8::1]:443,[::1]:8443");
	assert_string_equal(t.host, "2001:db8::1");
	const char *bad[] = {
		"192.0.2.1:1,localhost:2",      /* a name in a list */
		"192.0.2.1:1,[::1]:2",          /* two families */
		"192.0.2.1:1,",                 /* empty element */
		",192.0.2.1:1",
		"192.0.2.1:1,192.0.2.2",        /* no port */
		"192.0.2.1:1,192.0.2.2:0",
		"192.0.2.1:1,192.0.2.2:65536",
		"192.0.2.1:1,192.0.2.2:8x",
		"192.0.2.1:1,::1:2",            /* IPv6 without brackets */
		"1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,"
		"1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,1.1.1.1:1,"
		"1.1.1.1:1",                    /* 17 */
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		signet_err ret = client_target(bad[i], &t, msg, sizeof(msg));
		if (ret == SIGNET_OK)
			fail_msg("accepted %s", bad[i]);
	}
	assert_int_equal(client_target("192.0.2.1:1,localhost:2", &t, msg, sizeof(msg)),
			 SIGNET_EPARSE);
	assert_non_null(strstr(msg, "numeric"));
	assert_int_equal(client_target("", &t, msg, sizeof(msg)), SIGNET_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts_the_documented_form),
		cmocka_unit_test(test_defaults_and_missing_keys),
		cmocka_unit_test(test_refusals_name_the_line),
		cmocka_unit_test(test_bounds_on_the_file),
		cmocka_unit_test(test_key_in_a_token),
		cmocka_unit_test(test_server_lists),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
