/* test_uri.c -- PKCS#11 URIs (RFC 7512) as signet accepts them for TLS keys:
 * what parses, what is refused and why, and the canonical form handed to
 * libp11's engine. No token needed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "hsm/hsm.h"

static void test_accepts(void **state)
{
	(void)state;
	hsm_uri u;
	char why[256] = "";
	assert_int_equal(hsm_uri_parse("pkcs11:token=signet-zsk;object=signet:tls:signetd:13:"
				       "20261206T000000Z;type=private",
				       &u, why, sizeof(why)),
			 SIGNET_OK);
	assert_string_equal(u.token, "signet-zsk");
	assert_string_equal(u.object, "signet:tls:signetd:13:20261206T000000Z");
	assert_int_equal(u.id_len, 0);

	assert_int_equal(hsm_uri_parse("PKCS11:serial=0123abcd;id=%01%a2%FF", &u, why,
				       sizeof(why)),
			 SIGNET_OK);
	assert_string_equal(u.serial, "0123abcd");
	assert_int_equal(u.id_len, 3);
	assert_memory_equal(u.id, "\x01\xa2\xff", 3);
	assert_string_equal(u.token, "");

	/* Percent-encoded text and the path's allowed reserved characters. */
	assert_int_equal(hsm_uri_parse("pkcs11:token=my%20token;object=a(b)+c=d@e", &u, why,
				       sizeof(why)),
			 SIGNET_OK);
	assert_string_equal(u.token, "my token");
	assert_string_equal(u.object, "a(b)+c=d@e");
}

static void refused(const char *uri, signet_err want, const char *reason)
{
	hsm_uri u;
	char why[256] = "";
	signet_err got = hsm_uri_parse(uri, &u, why, sizeof(why));
	if (got != want || !strstr(why, reason))
		fail_msg("%s: got %d '%s', wanted %d with '%s'", uri, got, why, want, reason);
}

static void test_refuses(void **state)
{
	(void)state;
	refused("/etc/signet/tls.key", SIGNET_EPARSE, "not a PKCS#11 URI");
	refused("pkcs11:", SIGNET_EPARSE, "must name the token");
	refused("pkcs11:token=t", SIGNET_EPARSE, "must name the key");
	refused("pkcs11:object=k;type=private", SIGNET_EPARSE, "must name the token");
	refused("pkcs11:token=t;object=k;type=public", SIGNET_EPARSE, "type=private");
	refused("pkcs11:token=t;object=k;type=cert", SIGNET_EPARSE, "type=private");
	refused("pkcs11:token=t;object=k;pin-value=1234", SIGNET_EPARSE, "never sits");
	refused("pkcs11:token=t;object=k;pin-source=file:/x", SIGNET_EPARSE, "never sits");
	refused("pkcs11:token=t;object=k?pin-value=1234", SIGNET_EPARSE, "query attributes");
	refused("pkcs11:token=t;object=k?module-path=/tmp/evil.so", SIGNET_EPARSE,
		"query attributes");
	refused("pkcs11:token=t;token=u;object=k", SIGNET_EPARSE, "twice");
	refused("pkcs11:token=t;object=k;object=l", SIGNET_EPARSE, "twice");
	refused("pkcs11:token=t;id=%01;id=%02", SIGNET_EPARSE, "twice");
	refused("pkcs11:token=t;object=k;type=private;type=private", SIGNET_EPARSE, "twice");
	refused("pkcs11:token=t;object=k;library-manufacturer=x", SIGNET_EPARSE, "unknown");
	refused("pkcs11:token=t;object", SIGNET_EPARSE, "NAME=VALUE");
	refused("pkcs11:token=t;=k", SIGNET_EPARSE, "NAME=VALUE");
	refused("pkcs11:token=t;object=k;", SIGNET_EPARSE, "empty attribute");
	refused("pkcs11:token=;object=k", SIGNET_EPARSE, "empty value");
	refused("pkcs11:token=t;object=a%2", SIGNET_EPARSE, "two hex digits");
	refused("pkcs11:token=t;object=a%zz", SIGNET_EPARSE, "two hex digits");
	refused("pkcs11:token=t;object=a%00b", SIGNET_EPARSE, "printable");
	refused("pkcs11:token=t;object=a%0ab", SIGNET_EPARSE, "printable");
	/* libp11 splits at '&': a literal one would change what it looks up. */
	refused("pkcs11:token=t;object=a&type=public", SIGNET_EPARSE, "percent-encoded");
	refused("pkcs11:token=t;object=a b", SIGNET_EPARSE, "percent-encoded");
	refused("pkcs11:token=t;object=a\nb", SIGNET_EPARSE, "percent-encoded");
	refused("pkcs11:token=abcdefghijabcdefghijabcdefghijabc;object=k", SIGNET_ERANGE,
		"longer than 32");
	refused("pkcs11:serial=01234567890123456;object=k", SIGNET_ERANGE, "longer than 16");

	char big[HSM_URI_MAX + 64];
	strcpy(big, "pkcs11:token=t;object=");
	size_t n = strlen(big);
	memset(big + n, 'x', sizeof(big) - n - 1);
	big[sizeof(big) - 1] = '\0';
	refused(big, SIGNET_ERANGE, "longer than");

	char idbig[400];
	strcpy(idbig, "pkcs11:token=t;id=");
	for (int i = 0; i < HSM_ID_MAX + 1; i++)
		strcat(idbig, "%01");
	refused(idbig, SIGNET_ERANGE, "longer than");
}

static void test_canonical(void **state)
{
	(void)state;
	hsm_uri u;
	char why[256], out[HSM_URI_MAX + 1], again[HSM_URI_MAX + 1];
	assert_int_equal(hsm_uri_parse("pkcs11:object=a%26b%3Bc d;token=t%20x;id=%00%ff",
				       &u, why, sizeof(why)),
			 SIGNET_EPARSE); /* a literal blank */
	assert_int_equal(hsm_uri_parse("pkcs11:object=a%26b%3Bc%20d;token=t%20x;id=%00%ff",
				       &u, why, sizeof(why)),
			 SIGNET_OK);
	assert_int_equal(hsm_uri_format(&u, out, sizeof(out)), SIGNET_OK);
	assert_string_equal(out, "pkcs11:token=t%20x;id=%00%FF;object=a%26b%3Bc%20d;type=private");
	/* The canonical form reads back to the same thing. */
	hsm_uri v;
	assert_int_equal(hsm_uri_parse(out, &v, why, sizeof(why)), SIGNET_OK);
	assert_int_equal(hsm_uri_format(&v, again, sizeof(again)), SIGNET_OK);
	assert_string_equal(out, again);
	assert_int_equal(hsm_uri_format(&u, out, 20), SIGNET_ERANGE);
	assert_true(hsm_uri_is("pkcs11:x"));
	assert_false(hsm_uri_is("/pkcs11:x"));
	assert_false(hsm_uri_is(NULL));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_accepts),
		cmocka_unit_test(test_refuses),
		cmocka_unit_test(test_canonical),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
