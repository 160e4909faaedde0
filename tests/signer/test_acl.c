/* test_acl.c -- a client's rules on owner names and RR types (acl.c), from
 * tables: which owners and types each kind of rule lets through (exact
 * names, "*" patterns at either end or inside, "@", case, escaped dots and
 * binary labels), the messages of refusals, and every configuration error
 * with the line it names. The rules on a running signetd are in
 * test_acl_rpc.c. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signer/signer.h"

/* The client's zones for the name rules: rules must fall in one. */
static const char *const zone_names[] = {"example.com.", "example.net."};

static void zones(dns_name out[2])
{
	for (int i = 0; i < 2; i++)
		assert_int_equal(dns_name_from_str(&out[i], zone_names[i]), SIGNET_OK);
}

static signer_acl *acl_of(const char *const *names, const char *const *types)
{
	dns_name z[2];
	zones(z);
	signer_acl *a = NULL;
	assert_int_equal(signer_acl_new(&a), SIGNET_OK);
	char msg[200];
	for (size_t i = 0; names && names[i]; i++)
		if (signer_acl_add_name(a, names[i], z, 2, msg, sizeof(msg)) != SIGNET_OK)
			fail_msg("rule %s: %s", names[i], msg);
	for (size_t i = 0; types && types[i]; i++)
		if (signer_acl_add_type(a, types[i], msg, sizeof(msg)) != SIGNET_OK)
			fail_msg("type %s: %s", types[i], msg);
	return a;
}

typedef struct probe {
	const char *zone;   /* apex of the request */
	const char *owner;  /* presentation form, escapes and all */
	uint16_t type;
	bool allowed;
} probe;

static void run(const signer_acl *a, const probe *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		dns_name apex, owner;
		assert_int_equal(dns_name_from_str(&apex, p[i].zone), SIGNET_OK);
		assert_int_equal(dns_name_from_str(&owner, p[i].owner), SIGNET_OK);
		char msg[400] = "";
		signet_err ret = signer_acl_allows(a, &apex, &owner, p[i].type, msg, sizeof(msg));
		if (p[i].allowed && ret != SIGNET_OK)
			fail_msg("%s type %u refused: %s", p[i].owner, p[i].type, msg);
		if (!p[i].allowed && ret != SIGNET_EPERM)
			fail_msg("%s type %u allowed (%d)", p[i].owner, p[i].type, (int)ret);
		if (!p[i].allowed)
			assert_true(strstr(msg, "client's names") || strstr(msg, "client's types"));
	}
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* An ACME DNS-01 client: TXT at _acme-challenge of the zone's own name and
 * of any name below it, nothing else. */
static void test_acme(void **state)
{
	(void)state;
	static const char *const names[] = {"_acme-challenge.example.com",
					    "_acme-challenge.*.example.com", NULL};
	static const char *const types[] = {"TXT", NULL};
	signer_acl *a = acl_of(names, types);
	static const probe p[] = {
		{"example.com.", "_acme-challenge.example.com.", DNS_T_TXT, true},
		{"example.com.", "_acme-challenge.www.example.com.", DNS_T_TXT, true},
		/* "*" is one or more labels */
		{"example.com.", "_acme-challenge.a.b.c.example.com.", DNS_T_TXT, true},
		/* case does not matter, in rules or owners */
		{"example.com.", "_ACME-Challenge.WWW.Example.COM.", DNS_T_TXT, true},
		/* another type at an allowed name */
		{"example.com.", "_acme-challenge.www.example.com.", DNS_T_A, false},
		{"example.com.", "_acme-challenge.www.example.com.", DNS_T_CNAME, false},
		/* other names */
		{"example.com.", "example.com.", DNS_T_TXT, false},
		{"example.com.", "www.example.com.", DNS_T_TXT, false},
		{"example.com.", "x._acme-challenge.www.example.com.", DNS_T_TXT, false},
		{"example.com.", "_acme-challenge-x.www.example.com.", DNS_T_TXT, false},
		{"example.com.", "_acme-challenge.www.example.com.evil.example.com.", DNS_T_TXT,
		 true /* below example.com: the pattern's "*" spans labels */},
		/* an escaped dot is inside a label: "_acme-challenge.www" is one
		 * label, not two */
		{"example.com.", "_acme-challenge\\.www.example.com.", DNS_T_TXT, false},
		{"example.com.", "_acme-challenge\\046www.example.com.", DNS_T_TXT, false},
		/* the same in a label spelled with escapes is the same label */
		{"example.com.", "\\095acme-challenge.www.example.com.", DNS_T_TXT, true},
		/* the pattern needs a label where "*" is */
		{"example.com.", "_acme-challenge.com.", DNS_T_TXT, false},
		/* the other zone: the rules name example.com only */
		{"example.net.", "_acme-challenge.example.net.", DNS_T_TXT, false},
	};
	run(a, p, N(p));
	signer_acl_unref(a);
}

/* A front end flattening ALIAS at the apex: A and AAAA at "@" of each of
 * its zones. */
static void test_alias_apex(void **state)
{
	(void)state;
	static const char *const names[] = {"@", NULL};
	static const char *const types[] = {"a", "AAAA", NULL};
	signer_acl *a = acl_of(names, types);
	static const probe p[] = {
		{"example.com.", "example.com.", DNS_T_A, true},
		{"example.com.", "EXAMPLE.com.", DNS_T_AAAA, true},
		{"example.net.", "example.net.", DNS_T_A, true},
		{"example.com.", "example.com.", DNS_T_TXT, false},
		{"example.com.", "example.com.", DNS_T_MX, false},
		{"example.com.", "www.example.com.", DNS_T_A, false},
		/* "@" is the apex of the request's zone, not of another */
		{"example.com.", "example.net.", DNS_T_A, false},
	};
	run(a, p, N(p));
	signer_acl_unref(a);
}

/* A provisioning system: anything strictly below one subtree; binary
 * labels below it are names like any other. */
static void test_subtree(void **state)
{
	(void)state;
	static const char *const names[] = {"*.Hosts.example.com.", NULL};
	signer_acl *a = acl_of(names, NULL);
	static const probe p[] = {
		{"example.com.", "a.hosts.example.com.", DNS_T_A, true},
		{"example.com.", "x.y.z.hosts.example.com.", DNS_T_MX, true},
		{"example.com.", "\\000\\255.hosts.example.com.", DNS_T_TXT, true},
		{"example.com.", "*.hosts.example.com.", DNS_T_A, true},
		/* strictly below: not the subtree's own name */
		{"example.com.", "hosts.example.com.", DNS_T_A, false},
		{"example.com.", "hostsx.example.com.", DNS_T_A, false},
		{"example.com.", "a.xhosts.example.com.", DNS_T_A, false},
		{"example.com.", "a.hosts\\.example.com.", DNS_T_A, false},
		{"example.com.", "example.com.", DNS_T_SOA, false},
	};
	run(a, p, N(p));
	signer_acl_unref(a);
}

/* Case folds ASCII letters only: octets 0xC3 and 0xE3 differ by 0x20
 * like 'C' and 'c' but are different octets; a literal "\*" is not a
 * pattern. */
static void test_binary_labels(void **state)
{
	(void)state;
	static const char *const names[] = {"\\195x.example.com", "\\*.lit.example.com",
					    "\\000.example.net", NULL};
	signer_acl *a = acl_of(names, NULL);
	static const probe p[] = {
		{"example.com.", "\\195X.example.com.", DNS_T_A, true},
		{"example.com.", "\\227x.example.com.", DNS_T_A, false},
		{"example.com.", "*.lit.example.com.", DNS_T_A, true},
		{"example.com.", "\\042.lit.example.com.", DNS_T_A, true},
		{"example.com.", "a.lit.example.com.", DNS_T_A, false},
		{"example.net.", "\\000.example.net.", DNS_T_A, true},
		{"example.net.", "\\000\\000.example.net.", DNS_T_A, false},
		{"example.net.", "0.example.net.", DNS_T_A, false},
	};
	run(a, p, N(p));
	signer_acl_unref(a);
}

/* A "*" on the right stands for any zone's labels; types alone leave every
 * owner open; no rules at all (NULL) allow everything. */
static void test_other_shapes(void **state)
{
	(void)state;
	static const char *const names[] = {"_acme-challenge.*", NULL};
	signer_acl *a = acl_of(names, NULL);
	static const probe p[] = {
		{"example.com.", "_acme-challenge.example.com.", DNS_T_TXT, true},
		{"example.net.", "_acme-challenge.w.example.net.", DNS_T_TXT, true},
		{"example.net.", "w._acme-challenge.example.net.", DNS_T_TXT, false},
	};
	run(a, p, N(p));
	signer_acl_unref(a);

	static const char *const types[] = {"TYPE65280", "NSEC", NULL};
	a = acl_of(NULL, types);
	static const probe q[] = {
		{"example.com.", "anything.example.com.", 65280, true},
		{"example.com.", "example.com.", DNS_T_NSEC, true},
		{"example.com.", "example.com.", DNS_T_NSEC3, false},
	};
	run(a, q, N(q));
	signer_acl_unref(a);

	static const probe r[] = {{"example.com.", "x.example.com.", DNS_T_MX, true}};
	run(NULL, r, N(r));
	assert_true(signer_acl_empty(NULL));
}

/* A refusal names the list and its rules, so the operator sees which rule
 * did not let it through. */
static void test_messages(void **state)
{
	(void)state;
	static const char *const names[] = {"@", "_acme-challenge.*.example.com", NULL};
	static const char *const types[] = {"TXT", "TYPE65280", NULL};
	signer_acl *a = acl_of(names, types);
	dns_name apex, owner;
	assert_int_equal(dns_name_from_str(&apex, "example.com."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&owner, "www.example.com."), SIGNET_OK);
	char msg[400];
	assert_int_equal(signer_acl_allows(a, &apex, &owner, DNS_T_MX, msg, sizeof(msg)),
			 SIGNET_EPERM);
	assert_string_equal(msg, "type MX is not in the client's types [TXT TYPE65280]");
	assert_int_equal(signer_acl_allows(a, &apex, &owner, DNS_T_TXT, msg, sizeof(msg)),
			 SIGNET_EPERM);
	assert_string_equal(msg, "owner www.example.com. matches none of the client's names "
			    "[@ _acme-challenge.*.example.com.]");
	assert_int_equal(signer_acl_allows(a, NULL, &owner, DNS_T_TXT, msg, sizeof(msg)),
			 SIGNET_EINVAL);
	/* references: the last one frees (ASan checks) */
	assert_ptr_equal(signer_acl_ref(a), a);
	signer_acl_unref(a);
	signer_acl_unref(a);
	signer_acl_unref(NULL);

	/* many long rules: the list is cut at a rule's end */
	assert_int_equal(signer_acl_new(&a), SIGNET_OK);
	char rule[80];
	for (int i = 0; i < SIGNER_ACL_NAMES_MAX; i++) {
		snprintf(rule, sizeof(rule), "a-rather-long-label-number-%02d.example.com", i);
		assert_int_equal(signer_acl_add_name(a, rule, NULL, 0, msg, sizeof(msg)), SIGNET_OK);
	}
	assert_int_equal(signer_acl_add_name(a, "x.example.com", NULL, 0, msg, sizeof(msg)),
			 SIGNET_ERANGE);
	assert_int_equal(signer_acl_allows(a, &apex, &owner, DNS_T_TXT, msg, sizeof(msg)),
			 SIGNET_EPERM);
	assert_non_null(strstr(msg, "number-00.example.com. "));
	assert_non_null(strstr(msg, " ...]"));
	signer_acl_unref(a);
}

/* ---- configuration ------------------------------------------------------- */

#define BASE \
	"listen = \"127.0.0.1:8443\";\n" \
	"tls-cert = \"/etc/signet/server.pem\";\n" \
	"tls-key = \"/etc/signet/server.key\";\n" \
	"tls-ca = \"/etc/signet/clients-ca.pem\";\n" \
	"pkcs11-module = \"/usr/lib/softhsm/libsofthsm2.so\";\n" \
	"token-label = \"signet\";\n" \
	"pin = \"file:/etc/signet/pin\";\n" \
	"state-dir = \"/var/lib/signet\";\n"   /* 8 lines */

static void test_config_good(void **state)
{
	(void)state;
	const char *text = BASE
		"clients = (\n"
		"  { identity = \"acme\"; role = \"signer\"; zones = [ \"example.com\" ];\n"
		"    names = [ \"_acme-challenge.example.com\", \"_acme-challenge.*.example.com\" ];\n"
		"    types = [ \"TXT\" ]; },\n"
		"  { identity = \"alias\"; role = \"signer\"; zones = [ \"*\" ];\n"
		"    names = [ \"@\" ]; types = [ \"A\", \"AAAA\" ]; },\n"
		"  { identity = \"prov\"; role = \"signer\"; zones = [ \"example.com\" ];\n"
		"    names = [ \"*.hosts.example.com\", \"\\\\*.lit.example.com\" ]; },\n"
		"  { identity = \"ns1\"; role = \"signer\"; zones = [ \"*\" ]; }\n"
		");\n";
	signer_config cfg;
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX];
	if (signer_config_parse(text, strlen(text), &cfg, &line, msg, sizeof(msg)) != SIGNET_OK)
		fail_msg("line %u: %s", line, msg);
	assert_int_equal(cfg.nclients, 4);
	assert_non_null(cfg.clients[0].acl);
	assert_non_null(cfg.clients[1].acl);
	assert_non_null(cfg.clients[2].acl);
	assert_null(cfg.clients[3].acl);
	dns_name apex, owner;
	assert_int_equal(dns_name_from_str(&apex, "example.com"), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&owner, "_acme-challenge.www.example.com"), SIGNET_OK);
	assert_int_equal(signer_acl_allows(cfg.clients[0].acl, &apex, &owner, DNS_T_TXT, NULL, 0),
			 SIGNET_OK);
	assert_int_equal(signer_acl_allows(cfg.clients[0].acl, &apex, &owner, DNS_T_A, NULL, 0),
			 SIGNET_EPERM);
	assert_int_equal(signer_acl_allows(cfg.clients[1].acl, &apex, &apex, DNS_T_AAAA, NULL, 0),
			 SIGNET_OK);
	assert_int_equal(signer_acl_allows(cfg.clients[2].acl, &apex, &owner, DNS_T_TXT, NULL, 0),
			 SIGNET_EPERM);
	/* "\\*" in the file is libconfig's "\*": a literal asterisk label */
	dns_name lit;
	assert_int_equal(dns_name_from_str(&lit, "*.lit.example.com"), SIGNET_OK);
	assert_int_equal(signer_acl_allows(cfg.clients[2].acl, &apex, &lit, DNS_T_A, NULL, 0),
			 SIGNET_OK);
	assert_int_equal(dns_name_from_str(&lit, "x.lit.example.com"), SIGNET_OK);
	assert_int_equal(signer_acl_allows(cfg.clients[2].acl, &apex, &lit, DNS_T_A, NULL, 0),
			 SIGNET_EPERM);
	signer_config_free(&cfg);
}

static void expect_error(const char *clients, signet_err want, unsigned want_line,
			 const char *want_msg)
{
	size_t n = strlen(BASE) + strlen(clients) + 1;
	char *text = malloc(n);
	assert_non_null(text);
	snprintf(text, n, "%s%s", BASE, clients);
	signer_config cfg;
	unsigned line = 0;
	char msg[SIGNER_ERRMSG_MAX] = "";
	signet_err ret = signer_config_parse(text, strlen(text), &cfg, &line, msg, sizeof(msg));
	signer_config_free(&cfg);
	free(text);
	if (ret != want || line != want_line || !strstr(msg, want_msg))
		fail_msg("%.100s: got %d line %u '%s', wanted %d line %u '%s'", clients, (int)ret,
			 line, msg, (int)want, want_line, want_msg);
}

#define C(extra) \
	"clients = (\n" \
	"  { identity = \"a\"; role = \"signer\"; zones = [ \"example.com\" ];\n" \
	extra "\n" \
	"  }\n);\n"

static void test_config_errors(void **state)
{
	(void)state;
	/* the client's third line is line 11 */
	expect_error(C("names = [ \"*.*.example.com\" ];"), SIGNET_EPARSE, 11,
		     "clients[0].names[0]: more than one '*' label");
	expect_error(C("names = [ \"www.example.com\",\n \"a..example.com\" ];"), SIGNET_EPARSE,
		     12, "clients[0].names[1]: not a name");
	expect_error(C("names = [ \"@.example.com\" ];"), SIGNET_EPARSE, 11, "not a name");
	expect_error(C("names = [ \"www.example.org\" ];"), SIGNET_EPARSE, 11,
		     "www.example.org is in none of the client's zones");
	expect_error(C("names = [ \"*.example.org\" ];"), SIGNET_EPARSE, 11,
		     "in none of the client's zones");
	expect_error(C("names = [ \".\" ];"), SIGNET_EPARSE, 11, "the root");
	expect_error(C("names = [ ];"), SIGNET_EPARSE, 11, "clients[0].names: empty");
	expect_error(C("names = \"www.example.com\";"), SIGNET_EPARSE, 11,
		     "clients[0].names: expected [");
	expect_error(C("names = [ 5 ];"), SIGNET_EPARSE, 11, "clients[0].names[0]: expected a string");
	expect_error(C("types = [ \"TXT\", \"FOO\" ];"), SIGNET_EPARSE, 11,
		     "clients[0].types[1]: not an RR type: FOO");
	expect_error(C("types = [ \"TYPE65536\" ];"), SIGNET_EPARSE, 11, "not an RR type");
	expect_error(C("types = [ \"TYPE0\" ];"), SIGNET_EPARSE, 11, "not an RR type");
	expect_error(C("types = [ ];"), SIGNET_EPARSE, 11, "clients[0].types: empty");
	expect_error(C("name = [ \"@\" ];"), SIGNET_EPARSE, 11, "clients[0]: unknown key name");

	/* a label over 63 octets, and a rule longer than any name */
	char big[4096];
	int n = snprintf(big, sizeof(big), "names = [ \"");
	for (int i = 0; i < 64; i++)
		big[n++] = 'a';
	snprintf(big + n, sizeof(big) - (size_t)n, ".example.com\" ];");
	char clients[4400];
	snprintf(clients, sizeof(clients), C("%s"), big);
	expect_error(clients, SIGNET_EPARSE, 11, "not a name");
	n = snprintf(big, sizeof(big), "names = [ \"");
	for (int i = 0; i < 1100; i++)
		big[n++] = i % 2 ? '.' : 'a';
	snprintf(big + n, sizeof(big) - (size_t)n, "example.com\" ];");
	snprintf(clients, sizeof(clients), C("%s"), big);
	expect_error(clients, SIGNET_ERANGE, 11, "clients[0].names[0]: a rule is 1..1009 octets");

	/* one rule too many: the error names the line of the 65th */
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&b, "names = [\n"), SIGNET_OK);
	for (int i = 0; i <= SIGNER_ACL_NAMES_MAX; i++)
		assert_int_equal(sg_buf_printf(&b, "\"h%d.example.com\",\n", i), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&b, "\"last.example.com\" ];"), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	char *many = malloc(b.len + 200);
	assert_non_null(many);
	snprintf(many, b.len + 200, C("%s"), (const char *)b.data);
	expect_error(many, SIGNET_ERANGE, 12 + SIGNER_ACL_NAMES_MAX,
		     "clients[0].names[64]: more than 64 name rules");
	sg_buf_reset(&b);
	assert_int_equal(sg_buf_printf(&b, "types = [\n"), SIGNET_OK);
	for (int i = 0; i <= SIGNER_ACL_TYPES_MAX; i++)
		assert_int_equal(sg_buf_printf(&b, "\"TYPE%d\",\n", 1000 + i), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&b, "\"TXT\" ];"), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	free(many);
	many = malloc(b.len + 200);
	assert_non_null(many);
	snprintf(many, b.len + 200, C("%s"), (const char *)b.data);
	expect_error(many, SIGNET_ERANGE, 12 + SIGNER_ACL_TYPES_MAX,
		     "clients[0].types[64]: more than 64 types");
	free(many);
	sg_buf_free(&b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_acme),
		cmocka_unit_test(test_alias_apex),
		cmocka_unit_test(test_subtree),
		cmocka_unit_test(test_binary_labels),
		cmocka_unit_test(test_other_shapes),
		cmocka_unit_test(test_messages),
		cmocka_unit_test(test_config_good),
		cmocka_unit_test(test_config_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
