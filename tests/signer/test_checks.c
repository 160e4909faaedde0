/* test_checks.c -- the content rules for one RRset: every refused type,
 * owners outside the zone, class, TTL, bounds, malformed RDATA, and the
 * delegation NS that is passed over. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "signer/signer.h"

static const signer_limits lim = {.max_rrsets = 10, .max_rrs = 3, .max_rrset_octets = 40};

typedef struct check_out {
	signet_err ret;
	signer_item_result r;
} check_out;

static void run(const char *owner, uint32_t type, uint32_t rclass, uint32_t ttl,
		const uint8_t *const *rd, const size_t *len, size_t n, check_out *o)
{
	dns_name apex, own;
	assert_int_equal(dns_name_from_str(&apex, "Example.COM."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&own, owner), SIGNET_OK);
	signer_item it = {own.wire, own.len, type, rclass, ttl, n, rd, len};
	o->r.field[0] = o->r.errmsg[0] = '\0';
	o->ret = signer_item_check(&apex, &lim, 7, &it, &o->r);
}

static const uint8_t a1[4] = {192, 0, 2, 1}, a2[4] = {192, 0, 2, 2};
static const uint8_t *const a_rd[2] = {a1, a2};
static const size_t a_len[2] = {4, 4};

static void expect_refused(check_out *o, const char *field, const char *needle)
{
	assert_int_equal(o->ret, SIGNET_OK);
	assert_int_equal(o->r.verdict, SIGNER_VERDICT_REFUSE);
	if (strcmp(o->r.field, field) != 0 || !strstr(o->r.errmsg, needle) ||
	    strncmp(o->r.errmsg, field, strlen(field)) != 0)
		fail_msg("expected %s/%s, got %s/%s", field, needle, o->r.field, o->r.errmsg);
	dns_rrset_clear(&o->r.set);
}

static void test_signable(void **state)
{
	(void)state;
	check_out o;
	run("www.example.com.", DNS_T_A, 1, 300, a_rd, a_len, 2, &o);
	assert_int_equal(o.ret, SIGNET_OK);
	assert_int_equal(o.r.verdict, SIGNER_VERDICT_SIGN);
	assert_int_equal(o.r.set.type, DNS_T_A);
	assert_int_equal(o.r.set.count, 2);
	assert_int_equal(o.r.set.ttl, 300);
	dns_rrset_clear(&o.r.set);

	/* class 0 stands for IN; the apex itself and case differences are fine */
	run("EXAMPLE.com.", DNS_T_A, 0, 0, a_rd, a_len, 1, &o);
	assert_int_equal(o.r.verdict, SIGNER_VERDICT_SIGN);
	assert_int_equal(o.r.set.rclass, DNS_CLASS_IN);
	dns_rrset_clear(&o.r.set);

	/* DS below the apex (at a delegation) is signed by the parent: us */
	static const uint8_t ds[36] = {0x30, 0x39, 13, 2};
	const uint8_t *ds_rd[1] = {ds};
	size_t ds_len[1] = {sizeof(ds)};
	run("child.example.com.", DNS_T_DS, 1, 300, ds_rd, ds_len, 1, &o);
	assert_int_equal(o.r.verdict, SIGNER_VERDICT_SIGN);
	dns_rrset_clear(&o.r.set);
}

static void test_refused_types(void **state)
{
	(void)state;
	static const uint32_t types[] = {DNS_T_DNSKEY, DNS_T_CDS, DNS_T_CDNSKEY, DNS_T_RRSIG,
					 DNS_T_SIG, DNS_T_OPT, DNS_T_TKEY, DNS_T_TSIG,
					 DNS_T_IXFR, DNS_T_AXFR, 253, 254, DNS_T_ANY};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		check_out o;
		run("example.com.", types[i], 1, 300, a_rd, a_len, 1, &o);
		expect_refused(&o, "rrsets[7].type", "refused");
	}
	check_out o;
	run("example.com.", 0, 1, 300, a_rd, a_len, 1, &o);
	expect_refused(&o, "rrsets[7].type", "not a type");
	run("example.com.", 65536 + DNS_T_A, 1, 300, a_rd, a_len, 1, &o);
	expect_refused(&o, "rrsets[7].type", "not a type");

	static const uint8_t ds[36] = {0x30, 0x39, 13, 2};
	const uint8_t *ds_rd[1] = {ds};
	size_t ds_len[1] = {sizeof(ds)};
	run("example.com.", DNS_T_DS, 1, 300, ds_rd, ds_len, 1, &o);
	expect_refused(&o, "rrsets[7].type", "parent");

	static const uint8_t soa[] = {0, 0, 1, 2, 3, 4, 0, 0, 0, 1, 0, 0, 0, 1,
				      0, 0, 0, 1, 0, 0, 0, 1};
	const uint8_t *soa_rd[1] = {soa};
	size_t soa_len[1] = {sizeof(soa)};
	run("www.example.com.", DNS_T_SOA, 1, 300, soa_rd, soa_len, 1, &o);
	expect_refused(&o, "rrsets[7].type", "SOA below");
}

static void test_owner_class_ttl(void **state)
{
	(void)state;
	check_out o;
	run("example.net.", DNS_T_A, 1, 300, a_rd, a_len, 1, &o);
	expect_refused(&o, "rrsets[7].owner", "not at or below");
	run("badexample.com.", DNS_T_A, 1, 300, a_rd, a_len, 1, &o);
	expect_refused(&o, "rrsets[7].owner", "not at or below");
	run("com.", DNS_T_A, 1, 300, a_rd, a_len, 1, &o);
	expect_refused(&o, "rrsets[7].owner", "not at or below");
	run("www.example.com.", DNS_T_A, 3, 300, a_rd, a_len, 1, &o);
	expect_refused(&o, "rrsets[7].rclass", "only IN");
	run("www.example.com.", DNS_T_A, 255, 300, a_rd, a_len, 1, &o);
	expect_refused(&o, "rrsets[7].rclass", "only IN");
	run("www.example.com.", DNS_T_A, 1, 0x80000000u, a_rd, a_len, 1, &o);
	expect_refused(&o, "rrsets[7].ttl", "2^31-1");

	/* Malformed owner wire forms */
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, "example.com."), SIGNET_OK);
	static const uint8_t compressed[] = {3, 'w', 'w', 'w', 0xc0, 12};
	static const uint8_t unterminated[] = {3, 'w', 'w', 'w', 7, 'e', 'x'};
	static const uint8_t trailing[] = {3, 'c', 'o', 'm', 0, 0};
	const uint8_t *owners[3] = {compressed, unterminated, trailing};
	size_t olen[3] = {sizeof(compressed), sizeof(unterminated), sizeof(trailing)};
	for (int i = 0; i < 3; i++) {
		signer_item it = {owners[i], olen[i], DNS_T_A, 1, 300, 1, a_rd, a_len};
		o.ret = signer_item_check(&apex, &lim, 7, &it, &o.r);
		expect_refused(&o, "rrsets[7].owner", "wire-form");
	}
	signer_item empty = {NULL, 0, DNS_T_A, 1, 300, 1, a_rd, a_len};
	o.ret = signer_item_check(&apex, &lim, 7, &empty, &o.r);
	expect_refused(&o, "rrsets[7].owner", "missing");
}

static void test_rdata_bounds(void **state)
{
	(void)state;
	check_out o;
	run("www.example.com.", DNS_T_A, 1, 300, a_rd, a_len, 0, &o);
	expect_refused(&o, "rrsets[7].rdata", "empty");

	/* Over max_rrs: refused on the count alone, arrays are never read. */
	run("www.example.com.", DNS_T_A, 1, 300, NULL, NULL, 4, &o);
	expect_refused(&o, "rrsets[7].rdata", "more than 3");

	static const uint8_t a3[3] = {1, 2, 3};
	const uint8_t *bad_rd[2] = {a1, a3};
	size_t bad_len[2] = {4, 3};
	run("www.example.com.", DNS_T_A, 1, 300, bad_rd, bad_len, 2, &o);
	expect_refused(&o, "rrsets[7].rdata[1]", "malformed RDATA");

	/* max_rrset_octets (40) */
	static uint8_t txt[30];
	txt[0] = 29;
	const uint8_t *txt_rd[2] = {txt, txt};
	size_t txt_len[2] = {30, 30};
	run("www.example.com.", DNS_T_TXT, 1, 300, txt_rd, txt_len, 2, &o);
	expect_refused(&o, "rrsets[7].rdata", "RDATA octets");

	static const uint8_t cname[] = {3, 'w', 'w', 'w', 0};
	const uint8_t *cn_rd[2] = {cname, cname};
	size_t cn_len[2] = {5, 5};
	run("x.example.com.", DNS_T_CNAME, 1, 300, cn_rd, cn_len, 2, &o);
	expect_refused(&o, "rrsets[7].rdata", "one RR");
}

static void test_delegation(void **state)
{
	(void)state;
	static const uint8_t ns[] = {3, 'n', 's', '1', 5, 'o', 't', 'h', 'e', 'r', 0};
	const uint8_t *rd[1] = {ns};
	size_t len[1] = {sizeof(ns)};
	check_out o;
	run("child.example.com.", DNS_T_NS, 1, 300, rd, len, 1, &o);
	assert_int_equal(o.ret, SIGNET_OK);
	assert_int_equal(o.r.verdict, SIGNER_VERDICT_DELEGATION);
	dns_rrset_clear(&o.r.set);
	run("example.com.", DNS_T_NS, 1, 300, rd, len, 1, &o);
	assert_int_equal(o.r.verdict, SIGNER_VERDICT_SIGN);
	dns_rrset_clear(&o.r.set);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_signable),
		cmocka_unit_test(test_refused_types),
		cmocka_unit_test(test_owner_class_ttl),
		cmocka_unit_test(test_rdata_bounds),
		cmocka_unit_test(test_delegation),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
