/* test_config.c -- signet-zoned's configuration: a full file read right,
 * and each kind of mistake refused with its line and reason; addresses and
 * ranges. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "zoned/zoned.h"
#include "tests/lib/tmpdir.h"

static char dir[64];

static int setup(void **state)
{
	(void)state;
	if (test_tmpdir_make("zoned-config", dir, sizeof(dir)) != 0)
		return -1;
	char p[128];
	snprintf(p, sizeof(p), "%s/k.key", dir);
	FILE *f = fopen(p, "w");
	fprintf(f, "c2lnbmV0LXpvbmVkLXRlc3Qta2V5LWluLTAxMjM0NTY3\n");
	fclose(f);
	snprintf(p, sizeof(p), "%s/short.key", dir);
	f = fopen(p, "w");
	fprintf(f, "c2hvcnQ=\n");
	fclose(f);
	/* Secrets must be readable by their owner only, as in production. */
	char cmd[400];
	snprintf(cmd, sizeof(cmd), "chmod 600 %s/*.key && cp -p %s/k.key %s/world.key &&"
		 " chmod 644 %s/world.key", dir, dir, dir, dir);
	return system(cmd) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	return test_tmpdir_remove(dir);
}

/* Load text as a config: the result, the message in err. */
static signet_err load(const char *zones, const char *keyfile, zoned_config *c, char *err,
		       size_t errlen)
{
	char p[128];
	snprintf(p, sizeof(p), "%s/zoned.conf", dir);
	FILE *f = fopen(p, "w");
	assert_non_null(f);
	fprintf(f,
		"listen = \"127.0.0.1:5353\";\nstate-dir = \"/var/lib/z\";\n"
		"signetd = \"/etc/signet/c.conf\";\n"
		"keys = ( { name = \"k1\"; algorithm = \"hmac-sha512\"; secret-file = \"%s/%s\"; } );\n"
		"zones = ( %s );\n",
		dir, keyfile, zones);
	fclose(f);
	err[0] = 0;
	return zoned_config_load(p, c, err, errlen);
}

#define GOOD_ZONE                                                                   \
	"{ name = \"Example.COM\"; serial = \"unixtime\"; max-rrs = 1000;\n"          \
	"  primaries = ( { address = \"192.0.2.1:5300\"; key = \"k1\"; } );\n"         \
	"  secondaries = ( { range = \"10.0.0.0/8\"; key = \"k1.\"; notify = \"10.1.2.3:53\"; },\n" \
	"                  { range = \"2001:db8::/32\"; key = \"k1\"; } ); }"

static void test_good(void **state)
{
	(void)state;
	zoned_config c;
	char err[512];
	assert_int_equal(load(GOOD_ZONE, "k.key", &c, err, sizeof(err)), SIGNET_OK);
	assert_int_equal(c.nzones, 1);
	assert_int_equal(c.nkeys, 1);
	assert_string_equal(c.keys[0].algorithm, "hmac-sha512.");
	assert_string_equal(c.keys[0].name, "k1.");
	assert_int_equal(c.workers, 2); /* the default */
	zoned_zone_conf *z = &c.zones[0];
	assert_string_equal(z->name, "Example.COM.");  /* as spelled; compared without case */
	assert_int_equal(z->serial, ZONE_SERIAL_UNIXTIME);
	assert_int_equal(z->max_rrs, 1000);
	assert_int_equal(z->xfr_timeout, 120);
	assert_int_equal(z->nprimaries, 1);
	assert_int_equal(z->nsecondaries, 2);
	assert_ptr_equal(z->secondaries[0].key, &c.keys[0]);
	assert_true(z->secondaries[0].notify);
	assert_int_equal(z->secondaries[0].notify_port, 53);
	assert_false(z->secondaries[1].notify);
	zoned_addr a;
	assert_int_equal(zoned_addr_parse("10.200.1.1", 53, false, &a), SIGNET_OK);
	assert_true(zoned_addr_match(&z->secondaries[0].addr, (struct sockaddr *)&a.sa));
	assert_int_equal(zoned_addr_parse("11.0.0.1", 53, false, &a), SIGNET_OK);
	assert_false(zoned_addr_match(&z->secondaries[0].addr, (struct sockaddr *)&a.sa));
	assert_false(zoned_addr_match(&z->secondaries[1].addr, (struct sockaddr *)&a.sa));
	assert_int_equal(zoned_addr_parse("[2001:db8:ffff::1]:99", 53, false, &a), SIGNET_OK);
	assert_true(zoned_addr_match(&z->secondaries[1].addr, (struct sockaddr *)&a.sa));
	assert_int_equal(zoned_addr_parse("192.0.2.1:1", 53, false, &a), SIGNET_OK);
	assert_true(zoned_addr_same_host(&z->primaries[0].addr, (struct sockaddr *)&a.sa));
	zoned_config_free(&c);
}

static void test_refused(void **state)
{
	(void)state;
	static const struct {
		const char *zones, *keyfile, *says;
	} bad[] = {
		{"{ name = \"a..b\"; }", "k.key", "name"},
		{GOOD_ZONE ",\n" GOOD_ZONE, "k.key", "twice"},
		{"{ name = \"x.\"; primaries = ( { address = \"192.0.2.1\"; } );"
		 " secondaries = ( { range = \"10.0.0.0/8\"; key = \"k1\"; } ); }", "k.key",
		 "without TSIG"},
		{"{ name = \"x.\"; primaries = ( { address = \"192.0.2.1\"; key = \"nokey\"; } );"
		 " secondaries = ( { range = \"10.0.0.0/8\"; key = \"k1\"; } ); }", "k.key",
		 "not among keys"},
		{"{ name = \"x.\"; primaries = ( { address = \"192.0.2.999\"; key = \"k1\"; } );"
		 " secondaries = ( { range = \"10.0.0.0/8\"; key = \"k1\"; } ); }", "k.key",
		 "not an address"},
		{"{ name = \"x.\"; primaries = ( { address = \"192.0.2.1\"; key = \"k1\"; } );"
		 " secondaries = ( { range = \"10.0.0.0/33\"; key = \"k1\"; } ); }", "k.key",
		 "not an address"},
		{"{ name = \"x.\"; primaries = ( { address = \"192.0.2.1\"; key = \"k1\"; } );"
		 " secondaries = ( { range = \"10.0.0.0/8\"; key = \"k1\"; notify = \"11.0.0.1\"; } ); }",
		 "k.key", "inside the range"},
		{"{ name = \"x.\"; max-rrs = 0; }", "k.key", "max-rrs"},
		{"{ name = \"x.\"; serial = \"sometimes\"; }", "k.key", "serial"},
		{GOOD_ZONE, "short.key", "16..64 octets"},
		{GOOD_ZONE, "missing.key", "missing.key"},
		{GOOD_ZONE, "world.key", "permission denied"},
		{"{ name = \"x.\"; primaries = ( ); }", "k.key", "at least one"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		zoned_config c;
		char err[512];
		signet_err ret = load(bad[i].zones, bad[i].keyfile, &c, err, sizeof(err));
		if (ret == SIGNET_OK || !strstr(err, bad[i].says))
			fail_msg("case %zu: %s: '%s'", i, signet_strerror(ret), err);
		assert_int_equal(c.nzones, 0);
	}
	/* Whole-file mistakes: an unknown key, @include, libconfig syntax. */
	char p[128], err[512];
	zoned_config c;
	static const char *const files[] = {"colour = \"blue\";\n", "@include \"/etc/passwd\"\n",
					    "listen = ;\n"};
	static const char *const says[] = {"unknown setting colour", "@include", "line 1"};
	for (size_t i = 0; i < 3; i++) {
		snprintf(p, sizeof(p), "%s/bad.conf", dir);
		FILE *f = fopen(p, "w");
		fputs(files[i], f);
		fclose(f);
		assert_int_not_equal(zoned_config_load(p, &c, err, sizeof(err)), SIGNET_OK);
		if (!strstr(err, says[i]))
			fail_msg("file %zu: '%s'", i, err);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_refused),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
