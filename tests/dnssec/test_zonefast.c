/* test_zonefast.c -- the reader of plain RR lines without ldns: it gives
 * ldns's RDATA for every line it takes, leaves every other form to ldns, and
 * dns_zone_parse reads zones that mix both as ldns alone would. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include <ldns/ldns.h>

#include "common/common.h"
#include "dnssec/dnssec.h"
#include "tests/lib/dnssec_testutil.h"
#include "dnssec/internal.h"

static dns_name mkname(const char *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, s), SIGNET_OK);
	return n;
}

/* The reader takes line and gives exactly what ldns gives: the context
 * reader with origin (and TTL 3600), dns_rr_from_text_fast without one. */
static void same_with_origin(const dns_name *origin, const char *line)
{
	const dns_fast_ctx ctx = {origin, 3600};
	dns_name o1, o2;
	uint16_t t1 = 0, t2 = 0, c2 = 0;
	uint32_t ttl1 = 0, ttl2 = 0;
	sg_buf r1 = SG_BUF_INIT, r2 = SG_BUF_INIT;
	signet_err err = origin
		? dns_rr_from_text_ctx(&ctx, line, strlen(line), &o1, &t1, &ttl1, &r1)
		: dns_rr_from_text_fast(line, strlen(line), &o1, &t1, &ttl1, &r1);
	if (err != SIGNET_OK)
		fail_msg("fast reader refused: %s", line);
	if (dns_rr_from_text(line, origin, &o2, &t2, &c2, &ttl2, &r2) != SIGNET_OK)
		fail_msg("ldns refused: %s", line);
	if (o1.len != o2.len || memcmp(o1.wire, o2.wire, o1.len) != 0)
		fail_msg("owner differs from ldns's: %s", line);
	assert_int_equal(t1, t2);
	assert_int_equal(c2, DNS_CLASS_IN);
	assert_int_equal(ttl1, ttl2);
	if (r1.len != r2.len || memcmp(r1.data, r2.data, r1.len) != 0)
		fail_msg("RDATA differs from ldns's: %s", line);
	sg_buf_free(&r1);
	sg_buf_free(&r2);
}

static void same_as_ldns(const char *line)
{
	same_with_origin(NULL, line);
}

/* The reader leaves line to ldns (nothing appended): the context reader
 * with ctx, dns_rr_from_text_fast without one. */
static void not_taken_in_context(const dns_fast_ctx *ctx, const char *line)
{
	dns_name o;
	uint16_t t;
	uint32_t ttl;
	sg_buf r = SG_BUF_INIT;
	assert_int_equal(sg_buf_append(&r, "x", 1), SIGNET_OK);
	signet_err err = ctx ? dns_rr_from_text_ctx(ctx, line, strlen(line), &o, &t, &ttl, &r)
			     : dns_rr_from_text_fast(line, strlen(line), &o, &t, &ttl, &r);
	if (err != SIGNET_ENOTFOUND)
		fail_msg("fast reader took: %s", line);
	assert_int_equal(r.len, 1);
	sg_buf_free(&r);
}

static void not_taken(const char *line)
{
	not_taken_in_context(NULL, line);
}

static void test_lines_match_ldns(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"example.com.\t3600\tIN\tA\t192.0.2.1",
		"Mixed-Case.Example.COM.\t0\tIN\tAAAA\t2001:db8::1",
		"*.example.com.\t300\tIN\tAAAA\t::ffff:192.0.2.7",
		"_sip._tcp.example.com. 60  IN  A 10.0.0.255   ",
		"example.com.\t3600\tIN\tRRSIG\tA 13 2 3600 20261209230956 20261125230000 31889 "
		"example.com. HCOgiKpETsDdI9UrHAbbispLrMq0gRZDMHh+xRmEBsUrTtvbO2Jdr/OfOeGYigK1"
		"gSDu43q89hxXY4HUulbsvQ==",
		"a.example.com.\t300\tIN\tRRSIG\tNSEC3PARAM 8 3 4294 20240229120000 19700101000000 "
		"0 Example.COM. AAEC",
		"a.example.com.\t300\tIN\tRRSIG\tTXT 15 2 300 20991231235959 20000301000000 65535 "
		"example.com. AAE=",
		"a.example.com.\t300\tIN\tRRSIG\tCAA 15 2 300 20960229000000 20000301000000 1 "
		"example.com. AA==",
		"example.com.\t300\tIN\tNSEC\t*.example.com. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY",
		"z.example.com.\t300\tIN\tNSEC\texample.com. CAA HTTPS SVCB URI TLSA CDS CDNSKEY",
		"003a03v3tb8942s0hbq2cu87h2b6qqmu.example.com.\t300\tIN\tNSEC3\t1 0 0 -  "
		"003d3bdmb4caga5nnppek6qh330jpfvv",
		"003a03v3tb8942s0hbq2cu87h2b6qqmu.example.com.\t300\tIN\tNSEC3\t1 1 10 aBcD01 "
		"003d3bdmb4caga5nnppek6qh330jpfvv A RRSIG",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		same_as_ldns(lines[i]);
}

/* Every mnemonic the reader knows names the type ldns gives it. */
static void test_type_names_match_ldns(void **state)
{
	(void)state;
	static const char *const names[] = {
		"A", "NS", "CNAME", "SOA", "PTR", "HINFO", "MX", "TXT", "RP", "AFSDB",
		"AAAA", "LOC", "SRV", "NAPTR", "KX", "CERT", "DNAME", "DS", "SSHFP",
		"IPSECKEY", "RRSIG", "NSEC", "DNSKEY", "DHCID", "NSEC3", "NSEC3PARAM",
		"TLSA", "SMIMEA", "CDS", "CDNSKEY", "OPENPGPKEY", "CSYNC", "ZONEMD", "SVCB",
		"HTTPS", "URI", "CAA",
	};
	char line[300];
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		snprintf(line, sizeof(line), "a.example. 1 IN NSEC b.example. %s", names[i]);
		same_as_ldns(line);
		snprintf(line, sizeof(line),
			 "a.example. 1 IN RRSIG %s 13 2 1 20300101000000 20200101000000 7 "
			 "example. AAAA", names[i]);
		same_as_ldns(line);
	}
}

static void test_other_forms_left_to_ldns(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"",
		"www 3600 IN A 192.0.2.1",                       /* relative owner */
		"www.example.com. 3600 IN NS ns",                /* relative name, no origin */
		"@ 3600 IN A 192.0.2.1",
		"\tIN A 192.0.2.1",                               /* previous owner */
		"www\\.x.example.com. 3600 IN A 192.0.2.1",      /* escape */
		"www.example.com. IN A 192.0.2.1",               /* no TTL */
		"www.example.com. 1h IN A 192.0.2.1",            /* TTL with a unit */
		"www.example.com. 3600 A 192.0.2.1",             /* no class */
		"www.example.com. 3600 in A 192.0.2.1",
		"www.example.com. 3600 CH A 192.0.2.1",
		"www.example.com. 3600 IN a 192.0.2.1",
		"www.example.com. 3600 IN TYPE1 192.0.2.1",
		"www.example.com. 3600 IN HINFO \"pc\" \"os\"",        /* other types */
		"www.example.com. 3600 IN A 192.0.2.1 ; comment",
		"www.example.com. 3600 IN A ( 192.0.2.1 )",
		"www.example.com. 3600 IN A 192.0.2.01",
		"www.example.com. 3600 IN A 192.0.2.1 192.0.2.2",
		"www.example.com. 3600 IN A",
		"www.example.com. 1000000000 IN A 192.0.2.1",   /* 10 digits */
		"www.example.com..\t1\tIN\tA\t192.0.2.1",
		"a.example.com. 1 IN RRSIG A 13 2 1 1764000000 20200101000000 7 example. AAAA",
		"a.example.com. 1 IN RRSIG A 13 2 1 19691231235959 20200101000000 7 example. AAAA",
		"a.example.com. 1 IN RRSIG A 13 2 1 20250230000000 20200101000000 7 example. AAAA",
		"a.example.com. 1 IN RRSIG A 13 2 1 20240101240000 20200101000000 7 example. AAAA",
		"a.example.com. 1 IN RRSIG A 13 2 1 21000101000000 20200101000000 7 example. AAAA",
		"a.example.com. 1 IN RRSIG A 13 2 1 20230229000000 20200101000000 7 example. AAAA",
		"a.example.com. 1 IN RRSIG A 13 2 1 20300101000000 20200101000000 7 example. AAB=",
		"a.example.com. 1 IN RRSIG A 13 2 1 20300101000000 20200101000000 7 example. AA=A",
		"a.example.com. 1 IN RRSIG A 13 2 1 20300101000000 20200101000000 7 example. AAA",
		"a.example.com. 1 IN RRSIG A 13 2 1 20300101000000 20200101000000 7 example. AA AA",
		"a.example.com. 1 IN RRSIG A 13 2 1 20300101000000 20200101000000 7 example.",
		"a.example.com. 1 IN RRSIG A 256 2 1 20300101000000 20200101000000 7 example. AAAA",
		"a.example.com. 1 IN RRSIG A ECDSAP256SHA256 2 1 20300101000000 20200101000000 7 "
		"example. AAAA",
		"a.example.com. 1 IN RRSIG A 13 2 1 20300101000000 20200101000000 65536 example. AAAA",
		"a.example.com. 1 IN NSEC b.example.com.",
		"a.example.com. 1 IN NSEC b.example.com A",
		"a.example.com. 1 IN NSEC b.example.com. A TYPE1234",
		"a.example.com. 1 IN NSEC3 1 0 0 - 003D3BDMB4CAGA5NNPPEK6QH330JPFVV A",
		"a.example.com. 1 IN NSEC3 1 0 0 - 003d3bdmb4caga5nnppek6qh330jpfv A",
		"a.example.com. 1 IN NSEC3 1 0 0 abc 003d3bdmb4caga5nnppek6qh330jpfvv A",
		"a.example.com. 1 IN NSEC3 1 0 0 zz 003d3bdmb4caga5nnppek6qh330jpfvv A",
		"a.example.com. 1 IN NSEC3 1 0 0 -",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		not_taken(lines[i]);
	dns_name o;
	uint16_t t;
	uint32_t ttl;
	sg_buf r = SG_BUF_INIT;
	assert_int_equal(dns_rr_from_text_fast(NULL, 0, &o, &t, &ttl, &r), SIGNET_EINVAL);
	assert_int_equal(dns_rr_from_text_fast("x", 1, &o, &t, &ttl, NULL), SIGNET_EINVAL);
	/* a NUL inside a field: inet_pton would stop there */
	static const char nul[] = "a.example. 1 IN A 192.0.2.1\0\0016";
	assert_int_equal(dns_rr_from_text_fast(nul, sizeof(nul) - 1, &o, &t, &ttl, &r),
			 SIGNET_ENOTFOUND);
	assert_int_equal(r.len, 0);
	/* the line ends at len, even inside a valid line */
	const char *l = "a.example. 1 IN A 192.0.2.17";
	assert_int_equal(dns_rr_from_text_fast(l, strlen(l) - 1, &o, &t, &ttl, &r), SIGNET_OK);
	assert_int_equal(r.len, 4);
	assert_int_equal(r.data[3], 1);
	sg_buf_free(&r);
}

/* The same in a zone file's context: origin example.com., default TTL
 * 3600 (dns_rr_from_text's). */
static void same_in_context(const char *line)
{
	dns_name origin = mkname("example.com.");
	same_with_origin(&origin, line);
}


/* The types an input zone and a signed zone hold besides A, AAAA and the
 * DNSSEC ones, in the absolute form signet writes them. */
static void test_more_types_match_ldns(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"example.com.\t3600\tIN\tNS\tns1.example.com.",
		"example.com.\t3600\tIN\tNS\t.",
		"www.example.com.\t3600\tIN\tCNAME\tExample.COM.",
		"1.2.0.192.in-addr.arpa. 60 IN PTR host.example.com.",
		"d.example.com. 60 IN DNAME example.net.",
		"example.com.\t3600\tIN\tMX\t10 mail.example.com.",
		"example.com.\t3600\tIN\tMX\t0 .",
		"example.com.\t3600\tIN\tMX\t65535 mail.example.com.  ",
		"_sip._tcp.example.com.\t3600\tIN\tSRV\t10 60 5060 sip.example.com.",
		"_sip._tcp.example.com.\t3600\tIN\tSRV\t0 0 0 .",
		"example.com.\t3600\tIN\tSOA\tns1.example.com. hostmaster.example.com. "
		"2026112701 7200 3600 1209600 300",
		"example.com.\t3600\tIN\tSOA\tns1.example.com. h.example.com. 4294967295 0 0 0 0",
		"example.com.\t3600\tIN\tSOA\tns1.example.com. h.example.com. 0 999999999 1 2 3",
		"d.example.com.\t3600\tIN\tDS\t2371 13 2 "
		"1F987CC6583E92DF0890718C42CE1D2A8C8D6A5C5B2E1F0B0E4A5C6D7E8F9A0B",
		"d.example.com.\t3600\tIN\tDS\t60485 5 1 2bb183af5f22588179a53b0a98631fad1a292118",
		"d.example.com.\t3600\tIN\tDS\t1 250 250 00",
		"example.com.\t3600\tIN\tCDS\t2371 13 2 "
		"1f987cc6583e92df0890718c42ce1d2a8c8d6a5c5b2e1f0b0e4a5c6d7e8f9a0b",
		"example.com.\t3600\tIN\tDNSKEY\t256 3 13 "
		"DHndOWIRtJB0IuUguKHTCBlV7GBjeVKq3lD/RKSUdnVoDQsOxv/lILl7dRxp2b8UOO4EdHljwRavAaOIPg0fXw==",
		"example.com.\t3600\tIN\tCDNSKEY\t257 3 15 "
		"l02Woi0iS8Aa25FQkUd9RMzZHJpBoRQwAQEX1SxZJA4=",
		"example.com.\t3600\tIN\tDNSKEY\t257 3 250 AA==",
		"example.com.\t3600\tIN\tTXT\t\"v=spf1 mx -all\"",
		"example.com.\t3600\tIN\tTXT\t\"\"",
		"example.com.\t3600\tIN\tTXT\t\"a\" \"b c\"\t\"'{}[]<>!#$%&*+,-./:=?@^_`|~\"  ",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		same_as_ldns(lines[i]);
		same_in_context(lines[i]);
	}
}

/* Lines of an input zone: relative names, "@", no TTL, no class. */
static void test_context_lines_match_ldns(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"@ IN SOA ns1 hostmaster 2026112701 7200 3600 1209600 300",
		"@ IN SOA @ hostmaster.example.net. 1 2 3 4 5",
		"@ IN NS ns1",
		"@ NS ns2.example.net.",
		"@ 60 NS ns3",
		"@ 60 IN NS @",
		"@ IN MX 10 mail",
		"@ IN TXT \"v=spf1 mx -all\"",
		"@ IN A 192.0.2.1",
		"@ IN AAAA 2001:db8::1",
		"* IN TXT \"wildcard\"",
		"h0 IN A 192.0.123.207",
		"h3 AAAA 2001:db8:a2e4::241e",
		"Mixed.Case 0 IN A 192.0.2.1",
		"d11 IN NS ns.d11",
		"ns.d11 IN A 198.51.41.238",
		"_sip._tcp IN SRV 10 20 5060 sip",
		"www IN CNAME @",
		"sub IN DS 12345 13 2 "
		"0123456789ABCDEF0123456789abcdef0123456789ABCDEF0123456789abcdef",
		"@ 300 IN DNSKEY 256 3 13 "
		"DHndOWIRtJB0IuUguKHTCBlV7GBjeVKq3lD/RKSUdnVoDQsOxv/lILl7dRxp2b8UOO4EdHljwRavAaOIPg0fXw==",
		"a IN RRSIG A 13 3 300 20300101000000 20200101000000 7 @ AAAA",
		"a IN NSEC b A RRSIG NSEC",
		"a.b.c.d.e.f.g 1 IN PTR x.y",
		"www.example.com. IN A 192.0.2.1",
		"www.example.com. 60 A 192.0.2.1",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		same_in_context(lines[i]);
}

/* Forms the context reader leaves to ldns, where ldns reads them its own
 * way (or refuses them). */
static void test_context_left_to_ldns(void **state)
{
	(void)state;
	dns_name origin = mkname("example.com.");
	const dns_fast_ctx ctx = {&origin, 3600};
	static const char *const lines[] = {
		"\tIN A 192.0.2.1",                      /* the previous owner */
		" 60 IN A 192.0.2.1",
		"@x IN A 192.0.2.1",                     /* ldns takes '@' as a prefix */
		"a @x",
		"a IN MX 10 @x",
		"a in A 192.0.2.1",                      /* other spellings */
		"a IN a 192.0.2.1",
		"a 1h IN A 192.0.2.1",
		"a IN 60 A 192.0.2.1",
		"a CH A 192.0.2.1",
		"a IN HINFO \"pc\" \"os\"",
		"a IN A 192.0.2.1 ; comment",
		"a IN MX ( 10 mail )",
		"a\\.b IN A 192.0.2.1",
		"a..b IN A 192.0.2.1",
		"a IN NS b..c",
		"a IN MX 70000 mail",                    /* ldns keeps the low bits */
		"a IN MX -1 mail",
		"a IN MX +1 mail",
		"a IN MX 10",
		"a IN MX 10 mail extra",
		"a IN SRV 1 2 mail",
		"a IN SOA ns h 4294967296 1 2 3 4",
		"a IN SOA ns h 1 1h 2 3 4",
		"a IN SOA ns h 1 2 3 4",
		"a IN SOA ns h 1 2 3 4 5 6",
		"a IN DS 1 ECDSAP256SHA256 2 00",        /* mnemonic */
		"a IN DS 1 13 256 00",
		"a IN DS 1 13 2 0",                      /* odd hex */
		"a IN DS 1 13 2 00 11",                  /* hex with blanks */
		"a IN DS 1 13 2 0g",
		"a IN DS 1 13 2 00112233",               /* SHA-256 needs 32 octets */
		"a IN DNSKEY 256 3 13 AAAA",             /* P-256 needs 64 octets */
		"a IN DNSKEY 256 2 13 AAAA",
		"a IN DNSKEY 256 3 253 AA AA",
		"a IN DNSKEY 256 3 253 -",
		"a IN TXT unquoted",
		"a IN TXT \"a\"\"b\"",
		"a IN TXT \"a\"b",
		"a IN TXT \"a\\\"b\"",
		"a IN TXT \"a\\065\"",
		"a IN TXT \"a;b\"",
		"a IN TXT \"a(b\"",
		"a IN TXT \"open",
		"a IN TXT \"caf\xc3\xa9\"",
		"a IN TXT \"tab\there\"",
		"a IN TXT",
		"a IN TXT \"a\" unquoted",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++)
		not_taken_in_context(&ctx, lines[i]);
	/* A TXT string over 255 octets is ldns's to refuse. */
	char longtxt[300] = "a IN TXT \"";
	memset(longtxt + strlen(longtxt), 'x', 256);
	strcat(longtxt, "\"");
	not_taken_in_context(&ctx, longtxt);
	/* A relative name over 255 octets with the origin. */
	char longname[300];
	size_t o = 0;
	for (int i = 0; i < 62; i++) {
		memcpy(longname + o, "abc.", 4);
		o += 4;
	}
	memcpy(longname + o, "x IN A 192.0.2.1", 17);
	not_taken_in_context(&ctx, longname);
	/* Without an origin, no relative name; without a default, no TTL-less
	 * line. */
	const dns_fast_ctx bare = {NULL, 3600}, nottl = {&origin, 0};
	not_taken_in_context(&bare, "a IN A 192.0.2.1");
	not_taken_in_context(&bare, "@ IN A 192.0.2.1");
	not_taken_in_context(&bare, "a.example.com. IN NS ns");
	not_taken_in_context(&nottl, "a IN A 192.0.2.1");
	not_taken_in_context(&nottl, "a 60 A 192.0.2.1");
	dns_name ow;
	uint16_t t;
	uint32_t ttl;
	sg_buf r = SG_BUF_INIT;
	assert_int_equal(dns_rr_from_text_ctx(NULL, "a A 192.0.2.1", 13, &ow, &t, &ttl, &r),
			 SIGNET_EINVAL);
	assert_int_equal(dns_rr_from_text_ctx(&ctx, NULL, 0, &ow, &t, &ttl, &r), SIGNET_EINVAL);
	assert_int_equal(dns_rr_from_text_ctx(&ctx, "a A 192.0.2.1", 13, &ow, &t, &ttl, NULL),
			 SIGNET_EINVAL);
	/* The default TTL is the context's. */
	assert_int_equal(dns_rr_from_text_ctx(&(dns_fast_ctx){&origin, 77}, "a A 192.0.2.1", 13,
					      &ow, &t, &ttl, &r), SIGNET_OK);
	assert_int_equal(ttl, 77);
	assert_true(dns_name_equal(&ow, &(dns_name){0}) == false);
	dns_name want = mkname("a.example.com.");
	assert_true(dns_name_equal(&ow, &want));
	sg_buf_free(&r);
}

/* Two zones read from text are the same, octet for octet. */
static void assert_same_zone(const dns_zone *a, const dns_zone *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		const dns_rrset *x = &a->sets[i], *y = &b->sets[i];
		assert_int_equal(x->owner.len, y->owner.len);
		assert_memory_equal(x->owner.wire, y->owner.wire, x->owner.len);
		assert_int_equal(x->type, y->type);
		assert_int_equal(x->rclass, y->rclass);
		assert_int_equal(x->ttl, y->ttl);
		assert_int_equal(x->count, y->count);
		for (size_t k = 0; k < x->count; k++) {
			assert_int_equal(x->rr[k].len, y->rr[k].len);
			assert_memory_equal(x->rr[k].data, y->rr[k].data, x->rr[k].len);
		}
	}
}

/* text parses the same with the fast reader and with ldns alone; returns
 * the first for more checks. */
static void parse_both_ways(const char *text, dns_zone *a)
{
	dns_name origin = mkname("example.com.");
	dns_zone b;
	unsigned la = 0, lb = 0;
	assert_int_equal(dns_zone_parse_how(text, strlen(text), &origin, 3600, 1000, true, a, &la),
			 SIGNET_OK);
	assert_int_equal(dns_zone_parse_how(text, strlen(text), &origin, 3600, 1000, false, &b,
					    &lb), SIGNET_OK);
	assert_same_zone(a, &b);
	dns_zone_free(&b);
}

static const dns_rrset *find_set(const dns_zone *z, const char *owner, uint16_t type)
{
	dns_name n = mkname(owner);
	for (size_t i = 0; i < z->count; i++)
		if (z->sets[i].type == type && dns_name_equal(&z->sets[i].owner, &n))
			return &z->sets[i];
	fail_msg("no %s %u", owner, type);
	return NULL;
}

/* The state a zone file carries, as the fast reader and ldns share it:
 * $TTL (0 meaning ldns's 3600), $ORIGIN, the previous owner after a fast
 * line. */
static void test_zone_context_state(void **state)
{
	(void)state;
	const char *text =
		"$ORIGIN example.com.\n"
		"@ IN SOA ns1 hostmaster 1 7200 3600 1209600 300\n"
		"@ NS ns1\n"
		"ns1 A 192.0.2.53\n"
		"\tAAAA 2001:db8::53\n"                  /* ldns, owner ns1 */
		"$TTL 120\n"
		"a IN A 192.0.2.1\n"
		"a 30 IN TXT \"x\"\n"
		"b IN MX 10 a\n"
		"$TTL 0\n"
		"c IN A 192.0.2.3\n"
		"$ORIGIN sub.example.com.\n"
		"d IN A 192.0.2.4\n"
		"@ IN NS ns.d\n"
		"e IN CNAME @\n"
		"\tIN TXT \"e\" ; ldns again\n"
		"f.example.com. 5 IN A 192.0.2.6\n";
	dns_zone z;
	parse_both_ways(text, &z);
	assert_int_equal(find_set(&z, "ns1.example.com.", DNS_T_A)->ttl, 3600);
	assert_int_equal(find_set(&z, "ns1.example.com.", DNS_T_AAAA)->ttl, 3600);
	assert_int_equal(find_set(&z, "a.example.com.", DNS_T_A)->ttl, 120);
	assert_int_equal(find_set(&z, "a.example.com.", DNS_T_TXT)->ttl, 30);
	const dns_rrset *mx = find_set(&z, "b.example.com.", DNS_T_MX);
	assert_int_equal(mx->ttl, 120);
	dns_name a = mkname("a.example.com.");
	assert_int_equal(mx->rr[0].len, 2 + a.len);
	assert_memory_equal(mx->rr[0].data + 2, a.wire, a.len);
	assert_int_equal(find_set(&z, "c.example.com.", DNS_T_A)->ttl, 3600);
	assert_int_equal(find_set(&z, "d.sub.example.com.", DNS_T_A)->ttl, 3600);
	find_set(&z, "sub.example.com.", DNS_T_NS);
	const dns_rrset *cn = find_set(&z, "e.sub.example.com.", DNS_T_CNAME);
	dns_name sub = mkname("sub.example.com.");
	assert_int_equal(cn->rr[0].len, sub.len);
	assert_memory_equal(cn->rr[0].data, sub.wire, sub.len);
	find_set(&z, "e.sub.example.com.", DNS_T_TXT);
	assert_int_equal(find_set(&z, "f.example.com.", DNS_T_A)->ttl, 5);
	dns_zone_free(&z);

	/* A default TTL from the caller, and errors at the same line. */
	dns_name origin = mkname("example.com.");
	const char *ttl_less = "@ IN SOA ns1 hostmaster 1 2 3 4 5\nx A 192.0.2.1\n";
	assert_int_equal(dns_zone_parse(ttl_less, strlen(ttl_less), &origin, 42, 10, &z, NULL),
			 SIGNET_OK);
	assert_int_equal(find_set(&z, "x.example.com.", DNS_T_A)->ttl, 42);
	dns_zone_free(&z);
	const char *bad[] = {
		"@ IN SOA ns1 hostmaster 1 2 3 4 5\nx A 192.0.2.1\nx.example.org. 1 A 192.0.2.1\n",
		"@ IN SOA ns1 hostmaster 1 2 3 4 5\n$ORIGIN example.org.\nx A 192.0.2.1\n",
		"@ IN SOA ns1 hostmaster 1 2 3 4 5\nx A 192.0.2.1\nx IN TXT \"a\\\"\n",
		"@ IN SOA ns1 hostmaster 1 2 3 4 5\n@ IN SOA ns1 hostmaster 1 2 3 4 5\n",
		"x A 192.0.2.1\n@ NS ns\n",
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		dns_zone b;
		unsigned la = 0, lb = 0;
		signet_err ea = dns_zone_parse_how(bad[i], strlen(bad[i]), &origin, 3600, 10, true,
						   &z, &la);
		signet_err eb = dns_zone_parse_how(bad[i], strlen(bad[i]), &origin, 3600, 10, false,
						   &b, &lb);
		assert_int_not_equal(ea, SIGNET_OK);
		assert_int_equal(ea, eb);
		assert_int_equal(la, lb);
	}
}

/* Owners in several sorted runs (as signet writes a zone: the data, then the
 * DNSKEY, then the NSEC chain), spelled in other cases, repeated apart:
 * sets in canonical order, the first spelling, the lowest TTL, duplicates
 * gone. */
static void test_zone_sorted_runs(void **state)
{
	(void)state;
	const char *text =
		"example.com. 300 IN SOA ns.example.com. h.example.com. 1 2 3 4 5\n"
		"example.com. 300 IN NS ns.example.com.\n"
		"B.example.com. 300 IN A 192.0.2.2\n"
		"c.example.com. 300 IN A 192.0.2.3\n"
		"ns.example.com. 300 IN A 192.0.2.53\n"
		"example.com. 300 IN NS ns2.example.com.\n"
		"b.example.com. 60 IN A 192.0.2.2\n"
		"b.example.com. 300 IN A 192.0.2.1\n"
		"a.example.com. 300 IN TXT \"a\"\n"
		"c.example.com. 300 IN NSEC ns.example.com. A RRSIG NSEC\n"
		"b.example.com. 300 IN NSEC c.example.com. A RRSIG NSEC\n"
		"example.com. 300 IN A 192.0.2.9\n";
	dns_zone z;
	parse_both_ways(text, &z);
	static const struct {
		const char *owner;
		uint16_t type;
	} want[] = {
		{"example.com.", DNS_T_A}, {"example.com.", DNS_T_NS}, {"example.com.", DNS_T_SOA},
		{"a.example.com.", DNS_T_TXT}, {"B.example.com.", DNS_T_A},
		{"b.example.com.", DNS_T_NSEC}, {"c.example.com.", DNS_T_A},
		{"c.example.com.", DNS_T_NSEC}, {"ns.example.com.", DNS_T_A},
	};
	assert_int_equal(z.count, sizeof(want) / sizeof(want[0]));
	for (size_t i = 0; i < z.count; i++) {
		dns_name n = mkname(want[i].owner);
		assert_int_equal(z.sets[i].owner.len, n.len);
		assert_memory_equal(z.sets[i].owner.wire, n.wire, n.len);
		assert_int_equal(z.sets[i].type, want[i].type);
	}
	const dns_rrset *b = &z.sets[4];
	assert_int_equal(b->ttl, 60);
	assert_int_equal(b->count, 2);
	assert_int_equal(b->rr[0].data[3], 1);
	assert_int_equal(b->rr[1].data[3], 2);
	assert_int_equal(z.sets[1].count, 2);
	dns_zone_free(&z);
}

static signet_err parse(const char *text, dns_zone *z, unsigned *line)
{
	dns_name origin = mkname("example.com.");
	*line = 12345;
	return dns_zone_parse(text, strlen(text), &origin, 3600, 1000, z, line);
}

/* The same zone read with every line taken by ldns (each gets a comment,
 * which the fast reader leaves alone) and with the fast reader. */
static void test_zone_same_both_ways(void **state)
{
	(void)state;
	const char *fast =
		"example.com.\t3600\tIN\tSOA\tns.example.com. h.example.com. 1 2 3 4 5\n"
		"example.com.\t3600\tIN\tRRSIG\tSOA 13 2 3600 20261209230956 20261125230000 "
		"31889 example.com. HCOgiKpETsDdI9UrHAbbispLrMq0gRZDMHh+xRmEBsUrTtvbO2Jdr/OfOeGY"
		"igK1gSDu43q89hxXY4HUulbsvQ==\n"
		"example.com.\t300\tIN\tNSEC\twww.example.com. SOA RRSIG NSEC\n"
		"www.example.com.\t3600\tIN\tA\t192.0.2.2\n"
		"WWW.example.com.\t3600\tIN\tA\t192.0.2.1\n"
		"www.example.com.\t3600\tIN\tAAAA\t2001:db8::2\n"
		"www.example.com.\t300\tIN\tNSEC\texample.com. A AAAA RRSIG NSEC\n";
	sg_buf slow = SG_BUF_INIT;
	for (const char *p = fast; *p; p++) {
		if (*p == '\n')
			assert_int_equal(sg_buf_append(&slow, " ; ldns", 7), SIGNET_OK);
		assert_int_equal(sg_buf_put_u8(&slow, (uint8_t)*p), SIGNET_OK);
	}
	assert_int_equal(sg_buf_put_u8(&slow, 0), SIGNET_OK);
	dns_zone a, b;
	unsigned line;
	assert_int_equal(parse(fast, &a, &line), SIGNET_OK);
	assert_int_equal(parse((const char *)slow.data, &b, &line), SIGNET_OK);
	assert_int_equal(a.count, b.count);
	assert_int_equal(a.count, 6);
	for (size_t i = 0; i < a.count; i++) {
		assert_true(dns_name_equal(&a.sets[i].owner, &b.sets[i].owner));
		assert_memory_equal(a.sets[i].owner.wire, b.sets[i].owner.wire,
				    a.sets[i].owner.len);   /* the same first spelling */
		assert_int_equal(a.sets[i].type, b.sets[i].type);
		assert_int_equal(a.sets[i].ttl, b.sets[i].ttl);
		assert_int_equal(a.sets[i].count, b.sets[i].count);
		for (size_t k = 0; k < a.sets[i].count; k++) {
			assert_int_equal(a.sets[i].rr[k].len, b.sets[i].rr[k].len);
			assert_memory_equal(a.sets[i].rr[k].data, b.sets[i].rr[k].data,
					    a.sets[i].rr[k].len);
		}
	}
	dns_zone_free(&a);
	dns_zone_free(&b);
	sg_buf_free(&slow);
}

/* Lines for ldns after fast lines: the previous owner, $ORIGIN and $TTL,
 * parentheses over lines; errors name the right line either way. */
static void test_zone_mixed(void **state)
{
	(void)state;
	const char *text =
		"example.com.\t3600\tIN\tSOA\tns.example.com. h.example.com. 1 2 3 4 5\n"
		"a.example.com.\t60\tIN\tA\t192.0.2.1\n"
		"\t\t70 IN TXT \"owner of the line before\"\n"
		"$ORIGIN sub.example.com.\n"
		"b.example.com.\t60\tIN\tA\t192.0.2.3\n"
		"c 80 IN MX ( 10\n"
		"   mail )\n"
		"\t\t90 IN A 192.0.2.4\n"
		"$TTL 99\n"
		"d IN A 192.0.2.5\n";
	dns_zone z;
	unsigned line;
	assert_int_equal(parse(text, &z, &line), SIGNET_OK);
	dns_name a = mkname("a.example.com."), c = mkname("c.sub.example.com."),
		 d = mkname("d.sub.example.com.");
	bool txt = false, mx = false, a4 = false, d5 = false;
	for (size_t i = 0; i < z.count; i++) {
		const dns_rrset *s = &z.sets[i];
		if (s->type == DNS_T_TXT && dns_name_equal(&s->owner, &a) && s->ttl == 70)
			txt = true;
		if (s->type == DNS_T_MX && dns_name_equal(&s->owner, &c) && s->ttl == 80)
			mx = true;
		if (s->type == DNS_T_A && dns_name_equal(&s->owner, &c) && s->ttl == 90)
			a4 = true;
		if (s->type == DNS_T_A && dns_name_equal(&s->owner, &d) && s->ttl == 99)
			d5 = true;
	}
	assert_true(txt && mx && a4 && d5);
	dns_zone_free(&z);

	/* an ldns error after fast lines, a fast line out of the zone, a second
	 * SOA: each at its line */
	const char *bad1 = "example.com.\t3600\tIN\tSOA\tns.example.com. h.example.com. 1 2 3 4 5\n"
			   "a.example.com.\t60\tIN\tA\t192.0.2.1\n"
			   "a.example.com.\t60\tIN\tA\t192.0.2.300\n";
	assert_int_equal(parse(bad1, &z, &line), SIGNET_EPARSE);
	assert_int_equal(line, 3);
	const char *bad2 = "example.com.\t3600\tIN\tSOA\tns.example.com. h.example.com. 1 2 3 4 5\n"
			   "; a comment\n"
			   "a.example.com.\t60\tIN\tA\t192.0.2.1\n"
			   "a.example.org.\t60\tIN\tA\t192.0.2.1\n";
	assert_int_equal(parse(bad2, &z, &line), SIGNET_EPARSE);
	assert_int_equal(line, 4);
	const char *bad3 = "a.example.com.\t60\tIN\tA\t192.0.2.1\n"
			   "a.example.com.\t60\tIN\tRRSIG\tA 13 3 60 20300101000000 "
			   "20200101000000 7 example.com. !!!!\n";
	assert_int_equal(parse(bad3, &z, &line), SIGNET_EPARSE);
	assert_int_equal(line, 2);
	const char *nosoa = "a.example.com.\t60\tIN\tA\t192.0.2.1\n";
	assert_int_equal(parse(nosoa, &z, &line), SIGNET_EPARSE);
	assert_int_equal(line, 0);
	/* max_rrs counts fast lines too */
	dns_name origin = mkname("example.com.");
	assert_int_equal(dns_zone_parse(bad2, strlen(bad2), &origin, 3600, 1, &z, &line),
			 SIGNET_ERANGE);
	assert_int_equal(line, 3);
}

/* Sets come in dns_name_compare's order, whatever octets the labels hold. */
static void test_zone_canonical_order(void **state)
{
	(void)state;
	const char *text =
		"@ IN SOA ns hostmaster 1 7200 3600 1209600 300\n"
		"\\001 IN A 192.0.2.1\n"
		"\\000 IN A 192.0.2.1\n"
		"\\000\\255 IN A 192.0.2.1\n"
		"\\001\\000 IN A 192.0.2.1\n"
		"\\002 IN A 192.0.2.1\n"
		"a.\\000 IN A 192.0.2.1\n"
		"Z IN A 192.0.2.1\n"
		"yy IN A 192.0.2.1\n"
		"y IN A 192.0.2.1\n"
		"y.\\255 IN A 192.0.2.1\n"
		"\\255 IN A 192.0.2.1\n"
		"a.b.Y IN A 192.0.2.1\n"
		"b.Y IN A 192.0.2.1\n"
		"-.y IN A 192.0.2.1\n"
		"_ IN A 192.0.2.1\n";
	dns_zone z;
	unsigned line;
	assert_int_equal(parse(text, &z, &line), SIGNET_OK);
	assert_int_equal(z.count, 16);
	for (size_t i = 1; i < z.count; i++)
		assert_true(dns_name_compare(&z.sets[i - 1].owner, &z.sets[i].owner) < 0);
	dns_zone_free(&z);
}

/* dns_rr_to_text prints A, AAAA, NSEC and NSEC3 itself: the text is ldns's. */
static void test_plain_text_is_ldns(void **state)
{
	(void)state;
	static const char *const lines[] = {
		"a.example.com. 300 IN A 192.0.2.1",
		"a.example.com. 300 IN A 0.0.0.0",
		"A-b_c.*.example.com. 0 IN AAAA 2001:db8::1",
		"a.example.com. 300 IN AAAA ::",
		"a.example.com. 300 IN AAAA ::ffff:192.0.2.1",
		"a.example.com. 300 IN AAAA 2001:db8:0:1:1:1:1:1",
		"a.example.com. 300 IN NSEC b.Example.com. A NS SOA MX TXT AAAA RRSIG NSEC DNSKEY",
		"a.example.com. 300 IN NSEC b.example.com. TYPE1234 TYPE65535 TYPE100 TYPE0 CAA",
		"a.example.com. 300 IN NSEC example.com.",
		"a.example.com. 300 IN NSEC b\\.x.example.com. A",
		"a\\ b.example.com. 300 IN A 192.0.2.1",
		"a.example.com. 300 IN NSEC3 1 0 0 - 003d3bdmb4caga5nnppek6qh330jpfvv",
		"a.example.com. 300 IN NSEC3 1 1 12 aabbcc 003d3bdmb4caga5nnppek6qh330jpfvv A RRSIG",
		"a.example.com. 300 IN NSEC3 1 0 65535 00 003d3bdmb4caga5nnppek6qh330jpfvv TYPE1234",
		"example.com. 300 IN MX 10 mail.example.com.",
	};
	for (size_t i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
		dns_name o;
		uint16_t t, c;
		uint32_t ttl;
		sg_buf rd = SG_BUF_INIT, out = SG_BUF_INIT;
		if (dns_rr_from_text(lines[i], NULL, &o, &t, &c, &ttl, &rd) != SIGNET_OK)
			fail_msg("ldns refused %s", lines[i]);
		assert_int_equal(dns_rr_to_text(&o, t, c, ttl, rd.data, rd.len, &out), SIGNET_OK);
		char *want = dt_ldns_line(&o, t, DNS_CLASS_IN, ttl, rd.data, rd.len);
		assert_non_null(want);
		if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
			fail_msg("%s: printed '%s', ldns '%s'", lines[i], (char *)out.data, want);
		assert_int_equal(out.data[out.len], '\0');
		free(want);
		sg_buf_free(&rd);
		sg_buf_free(&out);
	}
}

/* Every RR of a signed zone file prints as ldns prints it: by default
 * tests/data/zones/example.com.zone.signed (NSEC3, made by ldns-signzone);
 * SIGNET_ZONEFAST_FILE and SIGNET_ZONEFAST_ORIGIN name another (a big
 * real zone, by hand). */
static void test_plain_text_file(void **state)
{
	(void)state;
	const char *file = getenv("SIGNET_ZONEFAST_FILE");
	const char *org = getenv("SIGNET_ZONEFAST_ORIGIN");
	char fallback[1024];
	if (!file || !org) {
		const char *data = getenv("SIGNET_TEST_DATA");
		if (!data)
			fail_msg("SIGNET_TEST_DATA is not set (ctest sets it)");
		snprintf(fallback, sizeof(fallback), "%s/zones/example.com.zone.signed", data);
		file = fallback;
		org = "example.com.";
	}
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 1u << 30, &text), SIGNET_OK);
	dns_name origin = mkname(org);
	dns_zone z;
	unsigned line;
	assert_int_equal(dns_zone_parse((const char *)text.data, text.len, &origin, 3600,
					10000000, &z, &line), SIGNET_OK);
	size_t n = 0;
	sg_buf out = SG_BUF_INIT;
	for (size_t i = 0; i < z.count; i++)
		for (size_t k = 0; k < z.sets[i].count; k++) {
			const dns_rrset *s = &z.sets[i];
			sg_buf_reset(&out);
			assert_int_equal(dns_rr_to_text(&s->owner, s->type, s->rclass, s->ttl,
							s->rr[k].data, s->rr[k].len, &out),
					 SIGNET_OK);
			if (s->type == DNS_T_RRSIG)
				continue;
			char *want = dt_ldns_line(&s->owner, s->type, DNS_CLASS_IN, s->ttl,
						  s->rr[k].data, s->rr[k].len);
			assert_non_null(want);
			if (out.len != strlen(want) || memcmp(out.data, want, out.len) != 0)
				fail_msg("printed '%s', ldns '%s'", (char *)out.data, want);
			free(want);
			n++;
		}
	fprintf(stderr, "%zu RRs compared\n", n);
	/* the default file's RRs but its RRSIGs: none went unread */
	assert_true(n >= 30);
	sg_buf_free(&out);
	sg_buf_free(&text);
	dns_zone_free(&z);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lines_match_ldns),
		cmocka_unit_test(test_type_names_match_ldns),
		cmocka_unit_test(test_other_forms_left_to_ldns),
		cmocka_unit_test(test_more_types_match_ldns),
		cmocka_unit_test(test_context_lines_match_ldns),
		cmocka_unit_test(test_context_left_to_ldns),
		cmocka_unit_test(test_zone_context_state),
		cmocka_unit_test(test_zone_sorted_runs),
		cmocka_unit_test(test_zone_same_both_ways),
		cmocka_unit_test(test_zone_mixed),
		cmocka_unit_test(test_zone_canonical_order),
		cmocka_unit_test(test_plain_text_is_ldns),
		cmocka_unit_test(test_plain_text_file),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
