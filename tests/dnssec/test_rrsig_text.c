/* test_rrsig_text.c -- dns_rr_to_text prints RRSIGs exactly as ldns does, and reads back even where ldns's own text would not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "common/common.h"
#include "dnssec/dnssec.h"
#include "tests/lib/dnssec_testutil.h"

/* RRSIG RDATA: covered type, alg 13, labels, original TTL, expiration,
 * inception, key tag, signer, then siglen octets of signature. */
static void mkrrsig(sg_buf *r, uint16_t covered, uint32_t exp, uint32_t inc,
		    const char *signer, size_t siglen)
{
	dns_name s;
	assert_int_equal(dns_name_from_str(&s, signer), SIGNET_OK);
	sg_buf_reset(r);
	assert_int_equal(sg_buf_put_u16(r, covered), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(r, 13), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(r, 3), SIGNET_OK);
	assert_int_equal(sg_buf_put_u32(r, 3600), SIGNET_OK);
	assert_int_equal(sg_buf_put_u32(r, exp), SIGNET_OK);
	assert_int_equal(sg_buf_put_u32(r, inc), SIGNET_OK);
	assert_int_equal(sg_buf_put_u16(r, 46778), SIGNET_OK);
	assert_int_equal(sg_buf_append(r, s.wire, s.len), SIGNET_OK);
	for (size_t i = 0; i < siglen; i++)
		assert_int_equal(sg_buf_put_u8(r, (uint8_t)(i * 37 + 11)), SIGNET_OK);
}

static void check_same(const char *owner_s, uint16_t rclass, uint32_t ttl, uint16_t covered,
		       uint32_t exp, uint32_t inc, const char *signer, size_t siglen)
{
	dns_name owner;
	assert_int_equal(dns_name_from_str(&owner, owner_s), SIGNET_OK);
	sg_buf r = SG_BUF_INIT, out = SG_BUF_INIT;
	mkrrsig(&r, covered, exp, inc, signer, siglen);
	/* Text already in the buffer stays in front. */
	assert_int_equal(sg_buf_printf(&out, "x"), SIGNET_OK);
	assert_int_equal(dns_rr_to_text(&owner, DNS_T_RRSIG, rclass, ttl, r.data, r.len, &out),
			 SIGNET_OK);
	char *want = dt_ldns_line(&owner, DNS_T_RRSIG, rclass, ttl, r.data, r.len);
	assert_non_null(want);
	assert_int_equal(out.len, 1 + strlen(want));
	assert_string_equal((const char *)out.data + 1, want);
	free(want);
	sg_buf_free(&r);
	sg_buf_free(&out);
}

static void test_fast_path_matches_ldns(void **state)
{
	(void)state;
	uint32_t now = (uint32_t)time(NULL);
	/* Types signed zones hold, a wildcard owner, '_' labels, mixed case. */
	static const uint16_t types[] = {DNS_T_A, DNS_T_AAAA, DNS_T_NSEC, DNS_T_NSEC3,
					 DNS_T_SOA, DNS_T_DNSKEY, 33 /* SRV */, 16 /* TXT */};
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		check_same("www.Example.COM.", 1, 300, types[i], now + 86400 * 14, now - 3600,
			   "example.com.", 64);
	check_same("*.example.com.", 1, 0, DNS_T_A, now + 60, now - 60, "example.com.", 64);
	check_same("_sip._tcp.h1.example.com.", 1, 2147483647u, 33, now, now, "example.com.", 1);
	/* Times far ahead of now, and 0 (1970, which serial arithmetic around
	 * any now before 2038 still reads as 1970). */
	check_same("a.example.", 1, 1, DNS_T_A, now + 0x7fff0000u, now, "example.", 256);
	check_same("a.example.", 1, 1, DNS_T_A, now, 0, "example.", 2);
}

/* Text read back by ldns: the same owner, TTL and RDATA octet for octet. */
static void check_reads_back(uint16_t rclass, uint32_t exp, uint32_t inc, const char *want_exp,
			     const char *want_inc)
{
	dns_name owner, origin, back;
	assert_int_equal(dns_name_from_str(&owner, "a.example."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&origin, "example."), SIGNET_OK);
	sg_buf r = SG_BUF_INIT, out = SG_BUF_INIT, rd = SG_BUF_INIT;
	mkrrsig(&r, DNS_T_A, exp, inc, "example.", 64);
	assert_int_equal(dns_rr_to_text(&owner, DNS_T_RRSIG, rclass, 60, r.data, r.len, &out),
			 SIGNET_OK);
	char times[64];
	snprintf(times, sizeof(times), " %s %s ", want_exp, want_inc);
	assert_non_null(strstr((const char *)out.data, times));
	uint16_t type, cl;
	uint32_t ttl;
	assert_int_equal(dns_rr_from_text((const char *)out.data, &origin, &back, &type, &cl,
					  &ttl, &rd),
			 SIGNET_OK);
	assert_true(dns_name_equal(&owner, &back));
	assert_int_equal(cl, rclass);
	assert_int_equal(rd.len, r.len);
	assert_memory_equal(rd.data, r.data, r.len);
	sg_buf_free(&r);
	sg_buf_free(&out);
	sg_buf_free(&rd);
}

/* A time more than 68 years behind now is, by serial arithmetic, a date
 * before 1970, which ldns prints but cannot read back (the fuzz_keyset
 * target found a key-signing request that changed when written and read):
 * such times are written as decimal seconds, which read back exactly. */
static void test_times_before_1970_read_back(void **state)
{
	(void)state;
	uint32_t now = (uint32_t)time(NULL);
	char e[16], i[16];
	uint32_t old = now - 0x7fff0000u;
	snprintf(e, sizeof(e), "%u", old);
	check_reads_back(1, old, old, e, e);
	snprintf(i, sizeof(i), "%u", 0xffffffffu);
	check_reads_back(1, now - 0x7fff0000u, 0xffffffffu, e, i);
	/* A present-day time next to it keeps the date form. */
	time_t t = (time_t)now;
	struct tm tm;
	assert_non_null(gmtime_r(&t, &tm));
	assert_int_equal(strftime(i, sizeof(i), "%Y%m%d%H%M%S", &tm), 14);
	check_reads_back(3, old, now, e, i);
}

static void test_fallbacks_match_ldns(void **state)
{
	(void)state;
	uint32_t now = (uint32_t)time(NULL);
	/* Names needing escapes, a type without a mnemonic, another class, and
	 * an RRSIG with no signature octets all go the ldns way. */
	check_same("a\\.b.example.", 1, 60, DNS_T_A, now + 100, now, "example.", 64);
	check_same("a.example.", 1, 60, DNS_T_A, now + 100, now, "ex\\032ample.", 64);
	check_same("a.example.", 1, 60, 65000, now + 100, now, "example.", 64);
	check_same("a.example.", 3, 60, DNS_T_A, now + 100, now, "example.", 64);
	check_same("a.example.", 1, 60, DNS_T_A, now + 100, now, "example.", 0);
}

static void test_short_rrsig_refused(void **state)
{
	(void)state;
	dns_name owner;
	assert_int_equal(dns_name_from_str(&owner, "a.example."), SIGNET_OK);
	uint8_t r[10] = {0, 1, 13, 2};
	sg_buf out = SG_BUF_INIT;
	assert_int_equal(dns_rr_to_text(&owner, DNS_T_RRSIG, 1, 60, r, sizeof(r), &out),
			 SIGNET_EPARSE);
	sg_buf_free(&out);
}

static void test_round_trip(void **state)
{
	(void)state;
	uint32_t now = (uint32_t)time(NULL);
	dns_name owner, origin, back;
	assert_int_equal(dns_name_from_str(&owner, "h7.bench.example."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&origin, "bench.example."), SIGNET_OK);
	sg_buf r = SG_BUF_INIT, out = SG_BUF_INIT, rd = SG_BUF_INIT;
	mkrrsig(&r, DNS_T_AAAA, now + 1000, now - 1000, "bench.example.", 64);
	assert_int_equal(dns_rr_to_text(&owner, DNS_T_RRSIG, 1, 300, r.data, r.len, &out),
			 SIGNET_OK);
	uint16_t type, rclass;
	uint32_t ttl;
	assert_int_equal(dns_rr_from_text((const char *)out.data, &origin, &back, &type, &rclass,
					  &ttl, &rd),
			 SIGNET_OK);
	assert_true(dns_name_equal(&owner, &back));
	assert_int_equal(type, DNS_T_RRSIG);
	assert_int_equal(ttl, 300);
	assert_int_equal(rd.len, r.len);
	assert_memory_equal(rd.data, r.data, r.len);
	sg_buf_free(&r);
	sg_buf_free(&out);
	sg_buf_free(&rd);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fast_path_matches_ldns),
		cmocka_unit_test(test_fallbacks_match_ldns),
		cmocka_unit_test(test_short_rrsig_refused),
		cmocka_unit_test(test_round_trip),
		cmocka_unit_test(test_times_before_1970_read_back),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
