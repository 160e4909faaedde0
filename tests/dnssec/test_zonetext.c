/* test_zonetext.c -- zone text through ldns: parsing, limits, refusals, RR text both ways. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "dnssec/dnssec.h"

#define DNS_T_WKS_FOR_TEST 11  /* RFC 1035 WKS: obsolete, not in dns_type */

static dns_name mkname(const char *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, s), SIGNET_OK);
	return n;
}

static const dns_rrset *find_set(const dns_zone *z, const char *owner, uint16_t type)
{
	dns_name n = mkname(owner);
	for (size_t i = 0; i < z->count; i++)
		if (z->sets[i].type == type && dns_name_equal(&z->sets[i].owner, &n))
			return &z->sets[i];
	return NULL;
}

/* Parse text with origin example.com. and report error and line. */
static signet_err parse(const char *text, size_t max_rrs, dns_zone *z, unsigned *line)
{
	dns_name origin = mkname("example.com.");
	*line = 12345;
	return dns_zone_parse(text, strlen(text), &origin, 3600, max_rrs, z, line);
}

#define SOA "@ IN SOA ns hostmaster 1 7200 3600 1209600 300\n"

static void test_parse_example_zone(void **state)
{
	(void)state;
	const char *dir = getenv("SIGNET_TEST_DATA");
	assert_non_null(dir);
	char path[1024];
	snprintf(path, sizeof(path), "%s/zones/example.com.zone", dir);
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &text), SIGNET_OK);
	dns_name origin = mkname("example.com.");
	dns_zone z;
	unsigned line = 99;
	assert_int_equal(dns_zone_parse((const char *)text.data, text.len, &origin, 3600,
					1000, &z, &line), SIGNET_OK);
	assert_true(dns_name_equal(&z.apex, &origin));

	/* 26 RRs in 24 RRsets: the two NS pairs are one set each. */
	size_t rrs = 0;
	for (size_t i = 0; i < z.count; i++)
		rrs += z.sets[i].count;
	assert_int_equal(rrs, 26);
	assert_int_equal(z.count, 24);

	const dns_rrset *ns = find_set(&z, "example.com.", DNS_T_NS);
	assert_non_null(ns);
	assert_int_equal(ns->count, 2);
	const dns_rrset *soa = find_set(&z, "example.com.", DNS_T_SOA);
	assert_non_null(soa);
	assert_int_equal(soa->count, 1);
	assert_int_equal(soa->ttl, 3600);
	assert_int_equal(find_set(&z, "mail.example.com.", DNS_T_AAAA)->ttl, 600);

	/* Upper case survives, the escaped dot stays inside its label. */
	const dns_rrset *up = find_set(&z, "upper.case.example.com.", DNS_T_A);
	assert_non_null(up);
	assert_memory_equal(up->owner.wire, "\005UPPER\004Case", 11);
	const dns_rrset *esc = find_set(&z, "esc\\.aped.example.com.", DNS_T_TXT);
	assert_non_null(esc);
	assert_memory_equal(esc->owner.wire, "\010esc.aped\007example", 17);
	assert_non_null(find_set(&z, "*.wild.example.com.", DNS_T_TXT));
	assert_non_null(find_set(&z, "secure.example.com.", DNS_T_DS));

	/* The sets come in canonical order. */
	for (size_t i = 1; i < z.count; i++)
		assert_true(dns_name_compare(&z.sets[i - 1].owner, &z.sets[i].owner) <= 0);

	/* Every RR prints and reads back to the same RDATA. */
	for (size_t i = 0; i < z.count; i++) {
		const dns_rrset *s = &z.sets[i];
		for (size_t j = 0; j < s->count; j++) {
			sg_buf t = SG_BUF_INIT, rd = SG_BUF_INIT;
			assert_int_equal(dns_rr_to_text(&s->owner, s->type, s->rclass, s->ttl,
							s->rr[j].data, s->rr[j].len, &t),
					 SIGNET_OK);
			assert_null(memchr(t.data, '\n', t.len));
			dns_name o;
			uint16_t ty = 0, cl = 0;
			uint32_t ttl = 0;
			assert_int_equal(dns_rr_from_text((const char *)t.data, NULL, &o, &ty, &cl,
							  &ttl, &rd), SIGNET_OK);
			assert_int_equal(o.len, s->owner.len);
			assert_memory_equal(o.wire, s->owner.wire, o.len);
			assert_int_equal(ty, s->type);
			assert_int_equal(cl, s->rclass);
			assert_int_equal(ttl, s->ttl);
			assert_int_equal(rd.len, s->rr[j].len);
			assert_memory_equal(rd.data, s->rr[j].data, rd.len);
			sg_buf_free(&t);
			sg_buf_free(&rd);
		}
	}
	dns_zone_free(&z);
	assert_null(z.sets);
	assert_int_equal(z.count, 0);
	sg_buf_free(&text);
}

static void test_parse_merging(void **state)
{
	(void)state;
	const char *text =
		"$TTL 900\n"
		SOA
		"www 300 IN A 192.0.2.1\n"
		"WWW 100 IN A 192.0.2.2\n"   /* lower TTL wins for the set */
		"www IN A 192.0.2.1\n"       /* exact duplicate collapses */
		"www IN AAAA 2001:db8::1\n"
		"txt IN TXT \"no newline at the end\"";
	dns_zone z;
	unsigned line = 0;
	assert_int_equal(parse(text, 100, &z, &line), SIGNET_OK);
	const dns_rrset *a = find_set(&z, "www.example.com.", DNS_T_A);
	assert_non_null(a);
	assert_int_equal(a->count, 2);
	assert_int_equal(a->ttl, 100);
	/* The first spelling of the owner is kept. */
	assert_memory_equal(a->owner.wire, "\003www", 4);
	const dns_rrset *aaaa = find_set(&z, "www.example.com.", DNS_T_AAAA);
	assert_int_equal(aaaa->ttl, 900);
	assert_non_null(find_set(&z, "txt.example.com.", DNS_T_TXT));
	assert_int_equal(z.count, 4);
	dns_zone_free(&z);

	/* max_rrs counts RRs as written, duplicates included: 6 do not fit in 5. */
	assert_int_equal(parse(text, 6, &z, &line), SIGNET_OK);
	dns_zone_free(&z);
	assert_int_equal(parse(text, 5, &z, &line), SIGNET_ERANGE);
	assert_int_equal(line, 7);
	assert_null(z.sets);
}

struct bad_case {
	const char *text;
	signet_err err;
	unsigned line;
};

static void test_parse_refusals(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		/* bad RDATA */
		{SOA "www IN A 192.0.2\n", SIGNET_EPARSE, 2},
		{SOA "\n\nwww IN MX mail\n", SIGNET_EPARSE, 4},
		{SOA "www IN BOGUSTYPE 1\n", SIGNET_EPARSE, 2},
		{SOA "www IN A (192.0.2.1\n", SIGNET_EPARSE, 2},
		{SOA "www IN TXT \"unterminated\n", SIGNET_EPARSE, 2},
		{SOA "www IN TXT \"two\nlines\"\n", SIGNET_EPARSE, 2},
		{SOA "www IN A 192.0.2.1 )\n", SIGNET_EPARSE, 2},
		/* no SOA, two SOAs, SOA elsewhere */
		{"www IN A 192.0.2.1\n", SIGNET_EPARSE, 0},
		{"", SIGNET_EPARSE, 0},
		{SOA "www IN A 192.0.2.1\n" SOA, SIGNET_EPARSE, 3},
		{"sub IN SOA ns hostmaster 1 2 3 4 5\n", SIGNET_EPARSE, 1},
		/* data outside the zone */
		{SOA "www.example.net. IN A 192.0.2.1\n", SIGNET_EPARSE, 2},
		{SOA "$ORIGIN example.org.\nwww IN A 192.0.2.1\n", SIGNET_EPARSE, 3},
		/* $INCLUDE would read a file: never */
		{SOA "$INCLUDE /etc/passwd\n", SIGNET_EUNSUPPORTED, 2},
		{SOA "$INCLUDE zone.inc example.com.\n", SIGNET_EUNSUPPORTED, 2},
		/* only class IN is signed */
		{SOA "www CH TXT \"chaos\"\n", SIGNET_EUNSUPPORTED, 2},
		/* garbage */
		{"\x01\x02\x03 lorem ipsum\n", SIGNET_EPARSE, 1},
		{SOA "$FOO bar\n", SIGNET_EPARSE, 2},
		{SOA "$GENERATE 1-9 host$ A 192.0.2.$\n", SIGNET_EUNSUPPORTED, 2},
		{SOA "$include other.zone\n", SIGNET_EUNSUPPORTED, 2},
		{SOA "   $INCLUDE /etc/passwd\n", SIGNET_EUNSUPPORTED, 2},
		{SOA "www IN A 192.0.2.1\n\t$INCLUDE /etc/passwd\n", SIGNET_EUNSUPPORTED, 3},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dns_zone z;
		unsigned line = 0;
		signet_err err = parse(cases[i].text, 100, &z, &line);
		if (err != cases[i].err || (cases[i].line != 0 && line != cases[i].line))
			fail_msg("case %zu: got %s line %u, want %s line %u", i,
				 signet_errname(err), line, signet_errname(cases[i].err),
				 cases[i].line);
		assert_null(z.sets);
		assert_int_equal(z.count, 0);
	}
}

static void test_parse_nul_and_args(void **state)
{
	(void)state;
	const char text[] = SOA "www IN A 192.0.2.1\n\0www IN A 192.0.2.2\n";
	dns_name origin = mkname("example.com.");
	dns_zone z;
	unsigned line = 0;
	assert_int_equal(dns_zone_parse(text, sizeof(text) - 1, &origin, 3600, 100, &z, &line),
			 SIGNET_EPARSE);
	assert_int_equal(line, 3);
	/* errline may be NULL. */
	assert_int_equal(dns_zone_parse(text, sizeof(text) - 1, &origin, 3600, 100, &z, NULL),
			 SIGNET_EPARSE);
	assert_int_equal(dns_zone_parse(NULL, 5, &origin, 3600, 100, &z, &line), SIGNET_EINVAL);
	assert_int_equal(dns_zone_parse(text, 5, NULL, 3600, 100, &z, &line), SIGNET_EINVAL);
	assert_int_equal(dns_zone_parse(text, 5, &origin, 3600, 100, NULL, &line), SIGNET_EINVAL);
	assert_int_equal(dns_zone_parse(text, 5, &origin, 3600, 0, &z, &line), SIGNET_EINVAL);
	dns_zone_free(NULL);
}

/* Random bytes and mangled zone lines: an error or a zone, never a crash. */
static void test_parse_garbage(void **state)
{
	(void)state;
	const char *base = SOA "www IN A 192.0.2.1\nmx IN MX 10 www\nt IN TXT \"a;b\" (\n 1 )\n";
	size_t blen = strlen(base);
	char buf[512];
	srand(1035);
	for (int round = 0; round < 2000; round++) {
		size_t len;
		if (round % 2 == 0) {
			len = (size_t)(rand() % (int)sizeof(buf));
			for (size_t i = 0; i < len; i++)
				buf[i] = (char)(1 + rand() % 255);
		} else {
			memcpy(buf, base, blen);
			len = blen;
			for (int k = 0; k < 1 + rand() % 4; k++)
				buf[rand() % (int)len] = "();\"\\$@ \n\t.*0aZ\x80"[rand() % 17];
		}
		dns_name origin = mkname("example.com.");
		dns_zone z;
		unsigned line = 0;
		signet_err err = dns_zone_parse(buf, len, &origin, 3600, 50, &z, &line);
		if (err == SIGNET_OK)
			dns_zone_free(&z);
		else
			assert_null(z.sets);
	}
}

static void test_rr_text(void **state)
{
	(void)state;
	dns_name owner = mkname("www.Example.com.");
	sg_buf t = SG_BUF_INIT;
	const uint8_t a[] = {192, 0, 2, 1};
	assert_int_equal(dns_rr_to_text(&owner, DNS_T_A, DNS_CLASS_IN, 300, a, 4, &t), SIGNET_OK);
	assert_string_equal((const char *)t.data, "www.Example.com.\t300\tIN\tA\t192.0.2.1");

	/* An unknown type prints in RFC 3597 form and reads back. */
	sg_buf_reset(&t);
	const uint8_t op[] = {0xde, 0xad, 0xbe, 0xef};
	assert_int_equal(dns_rr_to_text(&owner, 65280, DNS_CLASS_IN, 60, op, 4, &t), SIGNET_OK);
	dns_name o;
	uint16_t ty = 0, cl = 0;
	uint32_t ttl = 0;
	sg_buf rd = SG_BUF_INIT;
	assert_int_equal(dns_rr_from_text((const char *)t.data, NULL, &o, &ty, &cl, &ttl, &rd),
			 SIGNET_OK);
	assert_int_equal(ty, 65280);
	assert_int_equal(rd.len, 4);
	assert_memory_equal(rd.data, op, 4);

	/* Malformed RDATA for a known type is refused, not printed. */
	sg_buf_reset(&t);
	assert_int_equal(dns_rr_to_text(&owner, DNS_T_A, DNS_CLASS_IN, 300, a, 3, &t),
			 SIGNET_EPARSE);
	assert_int_equal(dns_rr_to_text(NULL, DNS_T_A, DNS_CLASS_IN, 300, a, 4, &t), SIGNET_EINVAL);
	assert_int_equal(dns_rr_to_text(&owner, DNS_T_A, DNS_CLASS_IN, 300, NULL, 4, &t),
			 SIGNET_EINVAL);
	assert_int_equal(dns_rr_to_text(&owner, DNS_T_A, DNS_CLASS_IN, 300, a, 4, NULL),
			 SIGNET_EINVAL);

	/* A set prints one line per RR. */
	dns_rrset s;
	dns_rrset_init(&s, &owner, DNS_T_A, DNS_CLASS_IN, 300);
	const uint8_t a2[] = {192, 0, 2, 2};
	assert_int_equal(dns_rrset_add(&s, a, 4), SIGNET_OK);
	assert_int_equal(dns_rrset_add(&s, a2, 4), SIGNET_OK);
	sg_buf_reset(&t);
	assert_int_equal(dns_rrset_to_text(&s, &t), SIGNET_OK);
	assert_string_equal((const char *)t.data,
			    "www.Example.com.\t300\tIN\tA\t192.0.2.1\n"
			    "www.Example.com.\t300\tIN\tA\t192.0.2.2\n");
	assert_int_equal(dns_rrset_to_text(NULL, &t), SIGNET_EINVAL);
	dns_rrset_clear(&s);
	sg_buf_free(&t);
	sg_buf_free(&rd);
}

static void test_rr_from_text(void **state)
{
	(void)state;
	dns_name origin = mkname("example.com.");
	dns_name o;
	uint16_t ty = 0, cl = 0;
	uint32_t ttl = 0;
	sg_buf rd = SG_BUF_INIT;
	assert_int_equal(dns_rr_from_text("mail 120 IN MX 10 mx", &origin, &o, &ty, &cl, &ttl, &rd),
			 SIGNET_OK);
	dns_name want = mkname("mail.example.com.");
	assert_true(dns_name_equal(&o, &want));
	assert_int_equal(ty, DNS_T_MX);
	assert_int_equal(cl, DNS_CLASS_IN);
	assert_int_equal(ttl, 120);
	assert_memory_equal(rd.data, "\000\012\002mx\007example\003com\000", 18);

	/* Without an origin a name without the final dot is absolute. */
	sg_buf_reset(&rd);
	assert_int_equal(dns_rr_from_text("www IN A 192.0.2.1", NULL, &o, &ty, &cl, &ttl, &rd),
			 SIGNET_OK);
	want = mkname("www.");
	assert_true(dns_name_equal(&o, &want));
	assert_int_equal(ttl, 3600);    /* no TTL given */

	/* Directives, comments, nothing and nonsense are not RRs; on failure
	 * nothing is appended. */
	const char *bad[] = {"$TTL 5", "; comment", "", "   ", "www IN A 1.2.3",
			     "www IN A 192.0.2.1 extra", "www IN NOPE x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		sg_buf_reset(&rd);
		assert_int_equal(dns_rr_from_text(bad[i], &origin, &o, &ty, &cl, &ttl, &rd),
				 SIGNET_EPARSE);
		assert_int_equal(rd.len, 0);
	}
	assert_int_equal(dns_rr_from_text(NULL, &origin, &o, &ty, &cl, &ttl, &rd), SIGNET_EINVAL);
	assert_int_equal(dns_rr_from_text("www IN A 192.0.2.1", &origin, &o, &ty, &cl, &ttl, NULL),
			 SIGNET_EINVAL);
	sg_buf_free(&rd);
}

/* Round trip through text for RDATA whose ldns presentation does not read
 * back (WKS with a protocol ldns does not name: found by fuzz_rdata) and for
 * a type ldns does not know: both must come back octet for octet, through the
 * RFC 3597 form, and a zone written so must parse to the same sets. */
static void test_rr_text_generic_fallback(void **state)
{
	(void)state;
	static const struct {
		uint16_t type;
		const uint8_t *rdata;
		size_t len;
	} cases[] = {
		{DNS_T_WKS_FOR_TEST, (const uint8_t *)"\x01\x00\x00\x00\x33\x01\x00\x00", 8},
		{65280, (const uint8_t *)"\xde\xad\xbe\xef", 4},
		{65281, (const uint8_t *)"", 0},
	};
	dns_name owner;
	assert_int_equal(dns_name_from_str(&owner, "g.example."), SIGNET_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		sg_buf text = SG_BUF_INIT, back = SG_BUF_INIT;
		assert_int_equal(dns_rr_to_text(&owner, cases[i].type, DNS_CLASS_IN, 300,
						cases[i].rdata, cases[i].len, &text), SIGNET_OK);
		if (cases[i].type != DNS_T_WKS_FOR_TEST)
			assert_non_null(strstr((char *)text.data, "\\#"));
		dns_name o2;
		uint16_t t2 = 0, c2 = 0;
		uint32_t ttl2 = 0;
		assert_int_equal(dns_rr_from_text((char *)text.data, NULL, &o2, &t2, &c2,
						  &ttl2, &back), SIGNET_OK);
		assert_int_equal(t2, cases[i].type);
		assert_int_equal(ttl2, 300);
		assert_true(dns_name_equal(&o2, &owner));
		assert_int_equal(back.len, cases[i].len);
		if (back.len)
			assert_memory_equal(back.data, cases[i].rdata, back.len);
		sg_buf_free(&text);
		sg_buf_free(&back);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_example_zone),
		cmocka_unit_test(test_parse_merging),
		cmocka_unit_test(test_parse_refusals),
		cmocka_unit_test(test_parse_nul_and_args),
		cmocka_unit_test(test_parse_garbage),
		cmocka_unit_test(test_rr_text),
		cmocka_unit_test(test_rr_text_generic_fallback),
		cmocka_unit_test(test_rr_from_text),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
