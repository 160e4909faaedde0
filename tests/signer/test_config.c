/* test_config.c -- signetd's config file (libconfig syntax): a full good
 * file, defaults, the shipped example, and every refusal with the line it
 * names. */
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
#include "tests/lib/tmpdir.h"

#define BASE \
	"listen = \"127.0.0.1:8443\";\n" \
	"tls-cert = \"/etc/signet/server.pem\";\n" \
	"tls-key = \"/etc/signet/server.key\";\n" \
	"tls-ca = \"/etc/signet/clients-ca.pem\";\n" \
	"pkcs11-module = \"/usr/lib/softhsm/libsofthsm2.so\";\n" \
	"token-label = \"signet\";\n" \
	"pin = \"file:/etc/signet/pin\";\n" \
	"state-dir = \"/var/lib/signet\";\n"

#define ONE_CLIENT "clients = ( { identity = \"a\"; role = \"signer\"; zones = [ \"x\" ]; } );\n"

static void test_good(void **state)
{
	(void)state;
	const char *text = "# signetd\n" BASE
		"tls12 = true;   # old clients\r\n"
		"workers = 4;\n"
		"cache-size = 0; max-rrsets = 10;\n"
		"max-rrs = 3;\n"
		"max-rrset-octets = 1000;\n"
		"max-message = 0x10000;\n"
		"metrics = \"[::1]:9153\";\n"
		"user = \"signet\";\n"
		"verify-after-sign = \"all\";\n"
		"pkcs11-module-args = \"configdir='sql:/var/lib/signet/nssdb' flags=noModDB\";\n"
		"\n"
		"clients = (\n"
		"  { identity = \"ns1.example.net\"; role = \"signer\";\n"
		"    zones = [ \"Example.COM.\", \"example.org\" ]; },\n"
		"  {\tidentity = \"admin@example.net\";\trole = \"admin\";\tzones = [\"*\"]; }\n"
		");\n";
	signer_config cfg;
	unsigned line = 99;
	char msg[SIGNER_ERRMSG_MAX];
	signet_err ret = signer_config_parse(text, strlen(text), &cfg, &line, msg, sizeof(msg));
	if (ret != SIGNET_OK)
		fail_msg("line %u: %s", line, msg);
	assert_int_equal(line, 0);
	assert_string_equal(cfg.listen, "127.0.0.1:8443");
	assert_string_equal(cfg.tls_ca, "/etc/signet/clients-ca.pem");
	assert_string_equal(cfg.pin_spec, "file:/etc/signet/pin");
	assert_string_equal(cfg.token_label, "signet");
	assert_true(cfg.tls12);
	assert_string_equal(cfg.pkcs11_module_args,
			    "configdir='sql:/var/lib/signet/nssdb' flags=noModDB");
	assert_int_equal(cfg.workers, 4);
	assert_int_equal(cfg.cache_size, 0);
	assert_int_equal(cfg.max_rrsets, 10);
	assert_int_equal(cfg.max_rrs, 3);
	assert_int_equal(cfg.max_rrset_octets, 1000);
	assert_int_equal(cfg.max_message, 65536);
	assert_string_equal(cfg.metrics, "[::1]:9153");
	assert_false(cfg.metrics_allow_remote);
	assert_string_equal(cfg.user, "signet");
	assert_true(cfg.verify_all);
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
	const char *text = BASE ONE_CLIENT;
	signer_config cfg;
	assert_int_equal(signer_config_parse(text, strlen(text), &cfg, NULL, NULL, 0), SIGNET_OK);
	assert_false(cfg.tls12);
	assert_int_equal(cfg.workers, 2);
	assert_int_equal(cfg.cache_size, 100000);
	assert_int_equal(cfg.max_rrsets, 1000);
	assert_int_equal(cfg.max_rrs, 512);
	assert_int_equal(cfg.max_rrset_octets, 65535);
	assert_int_equal(cfg.max_message, 1024 * 1024);
	assert_string_equal(cfg.metrics, "");
	assert_string_equal(cfg.user, "");
	assert_false(cfg.verify_all);
	assert_int_equal(cfg.state.backend, SIGNER_STATE_SQLITE);
	signer_config_free(&cfg);
	const char *pg = BASE ONE_CLIENT "state = { backend = \"postgresql\";"
		" conninfo-file = \"/etc/signet/pg.conninfo\"; cache-ms = 250;"
		" lock-timeout-ms = 2000; };\n";
	assert_int_equal(signer_config_parse(pg, strlen(pg), &cfg, NULL, NULL, 0), SIGNET_OK);
	assert_int_equal(cfg.state.backend, SIGNER_STATE_POSTGRESQL);
	assert_string_equal(cfg.state.conninfo_file, "/etc/signet/pg.conninfo");
	assert_int_equal(cfg.state.cache_ms, 250);
	assert_int_equal(cfg.state.lock_timeout_ms, 2000);
	signer_config_free(&cfg);
}

/* A remote metrics address needs the explicit switch. */
static void test_metrics_address(void **state)
{
	(void)state;
	signer_config cfg;
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX];
	const char *remote = BASE ONE_CLIENT "metrics = \"192.0.2.1:9153\";\n";
	assert_int_equal(signer_config_parse(remote, strlen(remote), &cfg, &line, msg, sizeof(msg)),
			 SIGNET_EPERM);
	assert_int_equal(line, 10);
	assert_non_null(strstr(msg, "not a loopback"));
	signer_config_free(&cfg);
	const char *allowed = BASE ONE_CLIENT "metrics = \"192.0.2.1:9153\";\n"
		"metrics-allow-remote = true;\n";
	assert_int_equal(signer_config_parse(allowed, strlen(allowed), &cfg, &line, msg,
					     sizeof(msg)), SIGNET_OK);
	assert_true(cfg.metrics_allow_remote);
	signer_config_free(&cfg);

	char host[64];
	uint16_t port = 0;
	bool lo = false;
	assert_int_equal(signer_address_split("127.3.4.5:80", host, sizeof(host), &port, &lo),
			 SIGNET_OK);
	assert_string_equal(host, "127.3.4.5");
	assert_int_equal(port, 80);
	assert_true(lo);
	assert_int_equal(signer_address_split("[::1]:9", host, sizeof(host), &port, &lo),
			 SIGNET_OK);
	assert_true(lo);
	assert_int_equal(signer_address_split("[2001:db8::1]:9", host, sizeof(host), &port, &lo),
			 SIGNET_OK);
	assert_false(lo);
	assert_int_equal(signer_address_split("localhost:9", host, sizeof(host), &port, &lo),
			 SIGNET_EPARSE);
	assert_int_equal(signer_address_split("127.0.0.1:0", host, sizeof(host), &port, &lo),
			 SIGNET_ERANGE);
	assert_int_equal(signer_address_split("127.0.0.1:", host, sizeof(host), &port, &lo),
			 SIGNET_ERANGE);
	assert_int_equal(signer_address_split("127.0.0.1:99999", host, sizeof(host), &port, &lo),
			 SIGNET_ERANGE);
	assert_int_equal(signer_address_split("[::1:9", host, sizeof(host), &port, &lo),
			 SIGNET_EPARSE);
	assert_int_equal(signer_address_split("127.0.0.1:9", host, 4, &port, &lo), SIGNET_ERANGE);
	assert_int_equal(signer_address_split(NULL, host, sizeof(host), &port, &lo), SIGNET_EINVAL);
}

typedef struct bad_case {
	const char *extra;    /* appended after BASE (or the whole text if !base) */
	bool base;
	signet_err err;
	unsigned line;        /* 0: whole file */
	const char *needle;   /* must appear in the message */
} bad_case;

#define C1 "clients = ( { identity = \"a\"; role = \"signer\"; "

static const bad_case bad[] = {
	{"colour = \"blue\";\n", true, SIGNET_EPARSE, 9, "unknown key"},
	{"workers;\n", true, SIGNET_EPARSE, 9, "syntax error"},
	{"workers = 2 3;\n", true, SIGNET_EPARSE, 9, "syntax error"},
	{"workers = \"2\";\n", true, SIGNET_EPARSE, 9, "not a number"},
	{"workers = 2.5;\n", true, SIGNET_EPARSE, 9, "not a number"},
	{"workers = 0;\n", true, SIGNET_ERANGE, 9, "outside 1..64"},
	{"workers = 65;\n", true, SIGNET_ERANGE, 9, "outside"},
	{"workers = -1;\n", true, SIGNET_ERANGE, 9, "outside"},
	{"workers = 2x;\n", true, SIGNET_EPARSE, 9, "syntax error"},
	/* libconfig 1.5 wraps these to small numbers; the literal is re-read */
	{"workers = 99999999999999999999999;\n", true, SIGNET_ERANGE, 9, "outside"},
	{"workers = 4294967298;\n", true, SIGNET_ERANGE, 9, "outside"},
	{"max-message = 4294971392;\n", true, SIGNET_ERANGE, 9, "max-message"},
	{"cache-size = 10000001;\n", true, SIGNET_ERANGE, 9, "cache-size"},
	{"max-rrsets = 0;\n", true, SIGNET_ERANGE, 9, "max-rrsets"},
	{"max-rrs = 65536;\n", true, SIGNET_ERANGE, 9, "max-rrs"},
	{"max-rrset-octets = 0;\n", true, SIGNET_ERANGE, 9, "max-rrset-octets"},
	{"max-message = 100;\n", true, SIGNET_ERANGE, 9, "max-message"},
	{"max-message = 67108865;\n", true, SIGNET_ERANGE, 9, "max-message"},
	{"tls12 = \"maybe\";\n", true, SIGNET_EPARSE, 9, "true or false"},
	{"tls12 = yes;\n", true, SIGNET_EPARSE, 9, "syntax error"},
	{"listen = \"127.0.0.1:1\";\n", true, SIGNET_EPARSE, 9, "duplicate"},
	{"user = \"-rf\";\n", true, SIGNET_EPARSE, 9, "not a user name"},
	{"user = \"a b\";\n", true, SIGNET_EPARSE, 9, "not a user name"},
	{"verify-after-sign = \"never\";\n", true, SIGNET_EPARSE, 9, "\"rsa\" or \"all\""},
	{"metrics = \"localhost:9153\";\n" ONE_CLIENT, true, SIGNET_EPARSE, 9, "numeric IP"},
	{"metrics = \"127.0.0.1\";\n", true, SIGNET_EPARSE, 9, "HOST:PORT"},
	{"metrics-allow-remote = 1;\n", true, SIGNET_EPARSE, 9, "true or false"},
	{C1 "zones = [\"x\"]; },\n"
	 "{ identity = \"a\"; role = \"admin\"; zones = [\"*\"]; } );\n", true, SIGNET_EPARSE, 10,
	 "twice"},
	{C1 "};\n", true, SIGNET_EPARSE, 9, "syntax error"},
	{C1 "} );\n", true, SIGNET_EPARSE, 9, "needs identity, role and zones"},
	{"clients = ( { identity = \"a\"; role = \"root\"; zones = [\"x\"]; } );\n", true,
	 SIGNET_EPARSE, 9, "\"admin\" or \"parent-agent\""},
	{"clients = ( { identity = \"a\"; role = 1; zones = [\"x\"]; } );\n", true,
	 SIGNET_EPARSE, 9, "\"admin\" or \"parent-agent\""},
	{C1 "zones = [\"exa..mple.com\"]; } );\n", true, SIGNET_EPARSE, 9, "bad zone name"},
	{C1 "zones = [\"example.com\", \"*\"]; } );\n", true, SIGNET_EPARSE, 9, "stand alone"},
	{C1 "zones = []; } );\n", true, SIGNET_EPARSE, 9, "empty"},
	{C1 "zones = \"x\"; } );\n", true, SIGNET_EPARSE, 9, "expected [ \"zone\""},
	{C1 "zones = [1]; } );\n", true, SIGNET_EPARSE, 9, "expected a string"},
	{C1 "zones = [\"x\"]; colour = 1; } );\n", true, SIGNET_EPARSE, 9, "unknown key colour"},
	{"clients = ( { identity = \"a b\"; role = \"signer\"; zones = [\"x\"]; } );\n", true,
	 SIGNET_EPARSE, 9, "printable"},
	{"clients = ( { identity = \"a\\x01\"; role = \"signer\"; zones = [\"x\"]; } );\n", true,
	 SIGNET_EPARSE, 9, "control character"},
	{"clients = ( \"a\" );\n", true, SIGNET_EPARSE, 9, "expected { identity"},
	{"clients = \"a\";\n", true, SIGNET_EPARSE, 9, "expected ( {"},
	{"clients = ( { identity = \"a\x01\"; role = \"signer\"; zones = [\"x\"]; } );\n", true,
	 SIGNET_EPARSE, 9, "control character"},
	{"token-label = \"x\x7f\";\n", true, SIGNET_EPARSE, 9, "control character"},
	{"@include \"/etc/passwd\"\n", true, SIGNET_EPARSE, 9, "@include"},
	{"listen = \"127.0.0.1\";\n" ONE_CLIENT, false, SIGNET_EPARSE, 1, "HOST:PORT"},
	{"listen = \"127.0.0.1:0\";\n", false, SIGNET_ERANGE, 1, "outside 1..65535"},
	{"listen = \"127.0.0.1:65536\";\n", false, SIGNET_ERANGE, 1, "outside"},
	{"listen = \"127.0.0.1:http\";\n", false, SIGNET_EPARSE, 1, "not a number"},
	{"listen = \"[::1:443\";\n", false, SIGNET_EPARSE, 1, "[ADDR]:PORT"},
	{"listen = 8443;\n", false, SIGNET_EPARSE, 1, "string in quotes"},
	{"tls-cert = \"relative/server.pem\";\n", false, SIGNET_EPARSE, 1, "absolute"},
	{"state-dir = \"var/lib\";\n", false, SIGNET_EPARSE, 1, "absolute"},
	{"pkcs11-module = \"softhsm.so\";\n", false, SIGNET_EPARSE, 1, "absolute"},
	{"tls-ca = \"\";\n", false, SIGNET_ERANGE, 1, "1.."},
	{"token-label = \"012345678901234567890123456789012\";\n", false, SIGNET_ERANGE, 1,
	 "1..32 octets"},
	{"pin = \"1234\";\n", false, SIGNET_EPARSE, 1, "file:/"},
	{"pkcs11-module-args = \"configdir='sql:/x' userPin=1234\";\n", false, SIGNET_EPARSE, 1,
	 "never a PIN"},
	{"pkcs11-module-args = \"\";\n", false, SIGNET_ERANGE, 1, "1..1024"},
	{"pin = \"file:relative\";\n", false, SIGNET_EPARSE, 1, "file:/"},
	{"pin = \"fd:abc\";\n", false, SIGNET_EPARSE, 1, "not a number"},
	{"pin = \"fd:5000\";\n", false, SIGNET_ERANGE, 1, "outside"},
	{"pin = \"env:\";\n", false, SIGNET_EPARSE, 1, "variable name"},
	{"\n\nlisten = = \"127.0.0.1:1\";\n", false, SIGNET_EPARSE, 3, "syntax error"},
	/* the state section: the connection itself never in this text */
	{"state = { backend = \"mysql\"; };\n", true, SIGNET_EPARSE, 9, "\"sqlite\" or"},
	{"state = { backend = \"postgresql\"; };\n", true, SIGNET_EPARSE, 9, "needs conninfo-file"},
	{"state = { backend = \"postgresql\"; conninfo = \"password=x\"; };\n", true,
	 SIGNET_EPARSE, 9, "unknown key conninfo"},
	{"state = { backend = \"postgresql\"; conninfo-file = \"pg.conninfo\"; };\n", true,
	 SIGNET_EPARSE, 9, "absolute"},
	{"state = { backend = \"sqlite\"; conninfo-file = \"/x\"; };\n", true, SIGNET_EPARSE, 9,
	 "for postgresql"},
	{"state = { conninfo-file = \"/x\"; };\n", true, SIGNET_EPARSE, 9, "missing backend"},
	{"state = \"postgresql\";\n", true, SIGNET_EPARSE, 9, "expected a group"},
	{"state = { backend = \"postgresql\"; conninfo-file = \"/x\"; cache-ms = 0; };\n",
	 true, SIGNET_ERANGE, 9, "cache-ms"},
	{"state = { backend = \"postgresql\"; conninfo-file = \"/x\"; lock-timeout-ms = -1; };\n",
	 true, SIGNET_ERANGE, 9, "lock-timeout-ms"},
	/* whole-file problems name no line */
	{"", true, SIGNET_EPARSE, 0, "no clients"},
	{"clients = ();\n", true, SIGNET_EPARSE, 0, "no clients"},
	{ONE_CLIENT, false, SIGNET_EPARSE, 0, "missing required key listen"},
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
	const char nul[] = BASE ONE_CLIENT "\0clients = ();\n";
	assert_int_equal(signer_config_parse(nul, sizeof(nul) - 1, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_EPARSE);
	assert_int_equal(line, 10);
	assert_non_null(strstr(msg, "NUL"));
	signer_config_free(&cfg);

	/* An overlong line, even inside a comment. */
	size_t n = 5000;
	char *longline = malloc(n + 1);
	assert_non_null(longline);
	memset(longline, 'a', n);
	longline[0] = '#';
	longline[n] = '\0';
	assert_int_equal(signer_config_parse(longline, n, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_ERANGE);
	assert_int_equal(line, 1);
	assert_non_null(strstr(msg, "longer than"));
	signer_config_free(&cfg);
	free(longline);

	/* More lines than libconfig can number. */
	size_t nl = 70000;
	char *lines = malloc(nl);
	assert_non_null(lines);
	memset(lines, '\n', nl);
	assert_int_equal(signer_config_parse(lines, nl, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_ERANGE);
	assert_int_equal(line, 65536);
	assert_non_null(strstr(msg, "lines"));
	signer_config_free(&cfg);
	free(lines);

	/* A file larger than the bound is refused before parsing. */
	assert_int_equal(signer_config_parse("x", SIGNER_CONFIG_MAX + 1, &cfg, &line, msg,
					     sizeof(msg)), SIGNET_ERANGE);
	assert_int_equal(line, 0);
	signer_config_free(&cfg);

	/* More zones for one client than allowed (one zone per line). */
	size_t cap = 64 * 1024;
	char *many = malloc(cap);
	assert_non_null(many);
	size_t at = (size_t)snprintf(many, cap, "%s" C1 "zones = [\n", BASE);
	for (int i = 0; i < SIGNER_CLIENT_ZONES_MAX + 1; i++)
		at += (size_t)snprintf(many + at, cap - at, "%s\"z%d.\"\n", i ? "," : "", i);
	at += (size_t)snprintf(many + at, cap - at, "]; } );\n");
	assert_int_equal(signer_config_parse(many, at, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_ERANGE);
	assert_int_equal(line, 9);  /* where the zones array starts */
	assert_non_null(strstr(msg, "more than 256 zones"));
	signer_config_free(&cfg);

	/* More clients than allowed. */
	cap = 128 * 1024;
	many = realloc(many, cap);
	assert_non_null(many);
	at = (size_t)snprintf(many, cap, "%sclients = (\n", BASE);
	for (int i = 0; i < SIGNER_CLIENTS_MAX + 1; i++)
		at += (size_t)snprintf(many + at, cap - at,
				       "%s{identity=\"c%d\";role=\"signer\";zones=[\"x\"];}\n",
				       i ? "," : "", i);
	at += (size_t)snprintf(many + at, cap - at, ");\n");
	assert_int_equal(signer_config_parse(many, at, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_ERANGE);
	assert_non_null(strstr(msg, "more than 1024 clients"));
	signer_config_free(&cfg);
	free(many);

	assert_int_equal(signer_config_parse(NULL, 0, &cfg, &line, msg, sizeof(msg)),
			 SIGNET_EINVAL);
	signer_config_free(&cfg);
}

/* The example shipped in deploy/ must itself be a valid configuration. */
static void test_example(void **state)
{
	(void)state;
	const char *data = getenv("SIGNET_TEST_DATA");
	if (!data)
		fail_msg("SIGNET_TEST_DATA is not set (ctest sets it)");
	char path[1024];
	snprintf(path, sizeof(path), "%s/../../deploy/signetd.conf.example", data);
	signer_config cfg;
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX];
	signet_err ret = signer_config_load(path, &cfg, &line, msg, sizeof(msg));
	if (ret != SIGNET_OK)
		fail_msg("%s:%u: %s", path, line, msg);
	assert_true(cfg.nclients >= 2);
	assert_string_equal(cfg.metrics, "127.0.0.1:9153");
	signer_config_free(&cfg);
}

static void test_load(void **state)
{
	(void)state;
	char dir[64];
	assert_int_equal(test_tmpdir_make("signet-cfg", dir, sizeof(dir)), 0);
	char path[256];
	snprintf(path, sizeof(path), "%s/signetd.conf", dir);
	signer_config cfg;
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX];
	assert_int_not_equal(signer_config_load(path, &cfg, &line, msg, sizeof(msg)), SIGNET_OK);
	assert_non_null(strstr(msg, path));
	signer_config_free(&cfg);

	const char *text = BASE ONE_CLIENT;
	FILE *f = fopen(path, "w");
	assert_non_null(f);
	fputs(text, f);
	fclose(f);
	assert_int_equal(signer_config_load(path, &cfg, &line, msg, sizeof(msg)), SIGNET_OK);
	assert_int_equal(cfg.nclients, 1);
	signer_config_free(&cfg);
	assert_int_equal(test_tmpdir_remove(dir), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_good),
		cmocka_unit_test(test_defaults),
		cmocka_unit_test(test_metrics_address),
		cmocka_unit_test(test_bad),
		cmocka_unit_test(test_bounds_of_text),
		cmocka_unit_test(test_load),
		cmocka_unit_test(test_example),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
