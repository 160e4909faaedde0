/* test_rrtype.c -- RR type mnemonics and RFC 3597's TYPEnnn, both ways,
 * from a table; and what is not a type. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec/dnssec.h"

static void test_from_str(void **state)
{
	(void)state;
	static const struct {
		const char *text;
		uint16_t type;
	} good[] = {
		{"A", 1}, {"a", 1}, {"TXT", 16}, {"aaaa", 28}, {"Https", 65}, {"CAA", 257},
		{"NSEC3", 50}, {"TYPE1", 1}, {"type16", 16}, {"TYPE65535", 65535},
		{"TYPE65280", 65280},
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		uint16_t t = 0;
		if (dns_type_from_str(good[i].text, &t) != SIGNET_OK || t != good[i].type)
			fail_msg("%s: got %u, wanted %u", good[i].text, t, good[i].type);
	}
	/* atoi would take several of these (ldns does, for TYPEnnn) */
	static const char *const bad[] = {
		"", "TYPE", "TYPE0", "TYPE00", "TYPE01", "TYPE65536", "TYPE4294967297",
		"TYPE1x", "TYPE-1", "TYPE 1", "FOO", "IN", "CLASS1", "TXT ", " TXT", "T.XT",
		"AAAAAAAAAAAAAAAAAAAAAAAAAAAA",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		uint16_t t = 7;
		if (dns_type_from_str(bad[i], &t) != SIGNET_EPARSE)
			fail_msg("'%s' taken as a type (%u)", bad[i], t);
	}
	uint16_t t;
	assert_int_equal(dns_type_from_str(NULL, &t), SIGNET_EINVAL);
	assert_int_equal(dns_type_from_str("A", NULL), SIGNET_EINVAL);
}

static void test_to_str(void **state)
{
	(void)state;
	static const struct {
		uint16_t type;
		const char *text;
	} cases[] = {
		{1, "A"}, {16, "TXT"}, {28, "AAAA"}, {46, "RRSIG"}, {257, "CAA"},
		{54, "TYPE54"}, {65280, "TYPE65280"}, {65535, "TYPE65535"}, {0, "TYPE0"},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char out[DNS_TYPE_STR_MAX];
		assert_int_equal(dns_type_to_str(cases[i].type, out, sizeof(out)), SIGNET_OK);
		assert_string_equal(out, cases[i].text);
		uint16_t back = 0;
		if (cases[i].type)
			assert_int_equal(dns_type_from_str(out, &back), SIGNET_OK);
		assert_int_equal(back, cases[i].type);
	}
	char small[5];
	assert_int_equal(dns_type_to_str(65280, small, sizeof(small)), SIGNET_ERANGE);
	assert_int_equal(dns_type_to_str(1, NULL, 4), SIGNET_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_from_str),
		cmocka_unit_test(test_to_str),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
