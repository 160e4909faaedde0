/* test_config.c -- signetd's config parser: a full good file, defaults,
 * and every refusal with the line it names. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "signer/signer.h"

#define BASE \
	"listen 127.0.0.1:8443\n" \
	"tls-cert /etc/signet/server.pem\n" \
	"tls-key /etc/signet/server.key\n" \
	"tls-ca /etc/signet/clients-ca.pem\n" \
	"pkcs11-module /usr/lib/softhsm/libsofthsm2.so\n" \
	"token-label signet\n" \
	"pin file:/etc/signet/pin\n" \
	"state-dir /var/lib/signet\n"

static void test_good(void **state)
{
	(void)state;
	const char *text = "# signetd\n" BASE
		"tls12 yes   # old clients\r\n"
		"workers 4\n"
		"cache-size 0\n"
		"max-rrsets 10\n"
		"max-rrs 3\n"
		"max-rrset-octets 1000\n"
		"max-message 65536\n"
		"\n"
		"client ns1.example.net signer Example.COM. example.org\n"
		"client\tadmin@example.net\tadmin\t*\n";
	signer_config cfg;
	unsigned line = 99;
	char msg[SIGNER_ERRMSG_MAX];
	assert_int_equal(signer_config_parse(text, strlen(text), &cfg, &line, msg, sizeof(msg)),
			 SIGNET_OK);
	assert_int_equal(line, 0);
	assert_string_equal(cfg.listen, "127.0.0.1:8443");
	assert_string_equal(cfg.tls_ca, "/etc/signet/clients-ca.pem");
	assert_string_equal(cfg.pin_spec, "file:/etc/signet/pin");
	assert_string_equal(cfg.token_label, "signet");
	assert_true(cfg.tls12);
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.cache_size, 0);
	assert_int_equal(cfg.max_rrsets, 10);
	assert_int_equal(cfg.max_rrs, 3);
	assert_int_equal(cfg.max_rrset_octets, 1000);
	assert_int_equal(cfg.max_message, 65536);
	assert_int_equal(cfg.nclients, 2);

	const signer_client *c = signer_config_client(&cfg, "ns1.example.net");
	assert_non_null(c);
	assert_int_equal(c->role, SIGNER_ROLE_SIGNER);
	assert_int_equal(c->nzones, 2);
	dns_name z;
	assert_int_equal(dns_name_from_str(&z, "example.com."), SIGNET_OK);
	assert_true(signer_client_has_zone(c, &z));
	assert_int_equal(dns_name_from_str(&z, "EXAMPLE.org"), SIGNET_OK);
	assert_true(signer_client_has_zone(c, &z));
	assert_int_equal(dns_name_from_str(&z, "sub.example.com."), SIGNET_OK);
	assert_false(signer_client_has_zone(c, &z));

	const signer_client *a = signer_config_client(&cfg, "admin@example.net");
	assert_non_null(a);
	assert_int_equal(a->role, SIGNER_ROLE_ADMIN);
	assert_true(a->all_zones);
	assert_true(signer_client_has_zone(a, &z));
	assert_null(signer_config_client(&cfg, "ns1.example.ne"));
	assert_null(signer_config_client(&cfg, "NS1.example.net"));
	signer_config_free(&cfg);
}

static void test_defaults(void **state)
{
	(void)state;
	const char *text = BASE "client a signer example.com\n";
	signer_config cfg;
	assert_int_equal(signer_config_parse(text, strlen(text), &cfg, NULL, NULL, 0), SIGNET_OK);
	assert_false(cfg.tls12);
	assert_int_equal(cfg.workers, 2);
	assert_int_equal(cfg.cache_size, 100000);
	assert_int_equal(cfg.max_rrsets, 1000);
	assert_int_equal(cfg.max_rrs, 512);
	assert_int_equal(cfg.max_rrset_octets, 65535);
	assert_int_equal(cfg.max_message, 1024 * 1024);
	signer_config_free(&cfg);
}

typedef struct bad_case {
	const char *extra;    /* appended after BASE (or the whole text if !base) */
	bool base;
	signet_err err;
	unsigned line;        /* 0: whole file */
	const char *needle;   /* must appear in the message */
} bad_case;

static const bad_case bad[] = {
	{"colour blue\n", true, SIGNET_EPARSE, 9, "unknown key"},
	{"workers\n", true, SIGNET_EPARSE, 9, "exactly one value"},
	{"workers 2 3\n", true, SIGNET_EPARSE, 9, "exactly one value"},
	{"workers 0\n", true, SIGNET_ERANGE, 9, "outside 1..64"},
	{"workers 65\n", true, SIGNET_ERANGE, 9, "outside"},
	{"workers -1\n", true, SIGNET_EPARSE, 9, "not a number"},
	{"workers 2x\n", true, SIGNET_EPARSE, 9, "not a number"},
	{"workers 99999999999999999999999\n", true, SIGNET_ERANGE, 9, "outside"},
	{"cache-size 10000001\n", true, SIGNET_ERANGE, 9, "cache-size"},
	{"max-rrsets 0\n", true, SIGNET_ERANGE, 9, "max-rrsets"},
	{"max-rrs 65536\n", true, SIGNET_ERANGE, 9, "max-rrs"},
	{"max-rrset-octets 0\n", true, SIGNET_ERANGE, 9, "max-rrset-octets"},
	{"max-message 100\n", true, SIGNET_ERANGE, 9, "max-message"},
	{"max-message 67108865\n", true, SIGNET_ERANGE, 9, "max-message"},
	{"tls12 maybe\n", true, SIGNET_EPARSE, 9, "yes or no"},
	{"listen 127.0.0.1:1\n", true, SIGNET_EPARSE, 9, "given twice"},
	{"client a signer example.com\nclient a admin *\n", true, SIGNET_EPARSE, 10, "twice"},
	{"client a signer\n", true, SIGNET_EPARSE, 9, "IDENTITY ROLE ZONE"},
	{"client a root example.com\n", true, SIGNET_EPARSE, 9, "signer or admin"},
	{"client a signer exa..mple.com\n", true, SIGNET_EPARSE, 9, "bad zone name"},
	{"client a signer example.com *\n", true, SIGNET_EPARSE, 9, "stand alone"},
	{"client a\x01 signer example.com\n", true, SIGNET_EPARSE, 9, "control character"},
	{"token-label x\x7f\n", true, SIGNET_EPARSE, 9, "control character"},
	{"listen 127.0.0.1\nclient a signer x\n", false, SIGNET_EPARSE, 1, "HOST:PORT"},
	{"listen 127.0.0.1:0\n", false, SIGNET_ERANGE, 1, "outside 1..65535"},
	{"listen 127.0.0.1:65536\n", false, SIGNET_ERANGE, 1, "outside"},
	{"listen [::1:443\n", false, SIGNET_EPARSE, 1, "[ADDR]:PORT"},
	{"tls-cert relative/server.pem\n", false, SIGNET_EPARSE, 1, "absolute"},
	{"state-dir var/lib\n", false, SIGNET_EPARSE, 1, "absolute"},
	{"pkcs11-module softhsm.so\n", false, SIGNET_EPARSE, 1, "absolute"},
	{"token-label 012345678901234567890123456789012\n", false, SIGNET_ERANGE, 1,
	 "1..32 octets"},
	{"pin 1234\n", false, SIGNET_EPARSE, 1, "file:/"},
	{"pin file:relative\n", false, SIGNET_EPARSE, 1, "file:/"},
	{"pin fd:abc\n", false, SIGNET_EPARSE, 1, "not a number"},
	{"pin fd:5000\n", false, SIGNET_ERANGE, 1, "outside"},
	{"pin env:\n", false, SIGNET_EPARSE, 1, "variable name"},
	/* whole-file problems name no line */
	{"", true, SIGNET_EPARSE, 0, "no client"},
	{"client a signer x\n", false, SIGNET_EPARSE, 0, "missing required key listen"},
};

static void test_bad(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char text[4096];
		snprintf(text, sizeof(text), "%s%s", bad[i].base ? BASE : "", bad[i].extra);
		signer_config cfg;
		unsigned line = 1234;
		char msg[SIGNER_ERRMSG_MAX] = "";
		signet_err ret = signer_config_parse(text, strlen(text), &cfg, &line, msg,
						     sizeof(msg));
		if (ret != bad[i].err || line != bad[i].line || !strstr(msg, bad[i].needle))
			fail_msg("case %zu (%s): got %s line %u '%s'", i, bad[i].extra,
				 signet_errname(ret), line, msg);
		signer_config_free(&cfg);
	}
}

static void test_bounds_of_text(void **state)
{
	(void)state;
	signer_config cfg;
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX];

	/* An embedded NUL is refused, not read as the end of the file. */
	const char nul[] = BASE "client a signer x\0client b admin *\n";
	assert_int_equal(signer_config_parse(nul, sizeof(nul) - 1, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_EPARSE);
	assert_int_equal(line, 9);
	signer_config_free(&cfg);

	/* An overlong line. */
	size_t n = 5000;
	char *longline = malloc(n + 1);
	assert_non_null(longline);
	memset(longline, 'a', n);
	longline[n] = '\0';
	assert_int_equal(signer_config_parse(longline, n, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_ERANGE);
	assert_int_equal(line, 1);
	assert_non_null(strstr(msg, "longer than"));
	signer_config_free(&cfg);
	free(longline);

	/* A file larger than the bound is refused before parsing. */
	assert_int_equal(signer_config_parse("x", SIGNER_CONFIG_MAX + 1, &cfg, &line, msg,
					     sizeof(msg)), SIGNET_ERANGE);
	assert_int_equal(line, 0);
	signer_config_free(&cfg);

	/* More zones on one line than allowed. */
	size_t cap = 64 * 1024;
	char *many = malloc(cap);
	assert_non_null(many);
	size_t at = (size_t)snprintf(many, cap, "%sclient a signer", BASE);
	for (int i = 0; i < SIGNER_CLIENT_ZONES_MAX + 1; i++)
		at += (size_t)snprintf(many + at, cap - at, " z%d.", i);
	many[at++] = '\n';
	assert_int_equal(signer_config_parse(many, at, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_ERANGE);
	assert_int_equal(line, 9);
	signer_config_free(&cfg);
	free(many);

	assert_int_equal(signer_config_parse(NULL, 0, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_EINVAL);
	signer_config_free(&cfg);
}

static void test_load(void **state)
{
	(void)state;
	char dir[] = "/tmp/signet-cfg-XXXXXX";
	assert_non_null(mkdtemp(dir));
	char path[256];
	snprintf(path, sizeof(path), "%s/signetd.conf", dir);
	signer_config cfg;
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX];
	assert_int_not_equal(signer_config_load(path, &cfg, &line, msg, sizeof(msg)), SIGNET_OK);
	assert_non_null(strstr(msg, path));
	signer_config_free(&cfg);

	const char *text = BASE "client a signer example.com\n";
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(signer_config_load(path, &cfg, &line, msg, sizeof(msg)), SIGNET_OK);
	assert_int_equal(cfg.nclients, 1);
	signer_config_free(&cfg);
	unlink(path);
	rmdir(dir);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bounds_of_text),
		cmocka_unit_test(test_load),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
