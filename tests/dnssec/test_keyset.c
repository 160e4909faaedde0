/* test_keyset.c -- the key-signing request / signed key bundle text: round trips, canonical form, every refusal. */
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

static void load_file(const char *rel, sg_buf *out)
{
	const char *dir = getenv("SIGNET_TEST_DATA");
	assert_non_null(dir);
	char path[1024];
	snprintf(path, sizeof(path), "%s/%s", dir, rel);
	assert_int_equal(sg_file_read(path, 1 << 20, out), SIGNET_OK);
}

static void parse_ok(const sg_buf *text, dns_keyset *ks)
{
	unsigned line = 77;
	signet_err err = dns_keyset_parse((const char *)text->data, text->len, ks, &line);
	if (err != SIGNET_OK)
		fail_msg("parse: %s at line %u", signet_errname(err), line);
}

static void write_ok(const dns_keyset *ks, sg_buf *out)
{
	assert_int_equal(dns_keyset_write(ks, out), SIGNET_OK);
}

static bool sets_equal(const dns_rrset *a, const dns_rrset *b)
{
	if (a->count != b->count || a->type != b->type || a->rclass != b->rclass ||
	    a->ttl != b->ttl || !dns_name_equal(&a->owner, &b->owner))
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (a->rr[i].len != b->rr[i].len ||
		    memcmp(a->rr[i].data, b->rr[i].data, a->rr[i].len) != 0)
			return false;
	return true;
}

#define KEY "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw=="
#define SIGB64 "P0A/QD9AP0A/QD9AP0A/QD9AP0A/QD9AP0A/QD9AP0A/QD9AP0A/QD9AP0A/QD9AP0A/QD9AP0A/QD9AP0A/QA=="
#define HEAD "$SIGNET-KEYSET 1 request\n$ZONE example.com.\n$SERIAL 7\n"
#define DNSKEY_RR "example.com. 3600 IN DNSKEY 256 3 13 " KEY "\n"
#define KSK_RR "example.com. 3600 IN DNSKEY 257 3 13 " KEY "\n"
#define PROOF(covered, signer) \
	"example.com. 3600 IN RRSIG " covered " 13 2 3600 20260115000000 " \
	"20260101000000 11111 " signer " " SIGB64 "\n"
#define P1 "$PERIOD 1000 2000\n"
#define P2 "$PERIOD 2000 3000\n"

static void test_parse_request_file(void **state)
{
	(void)state;
	sg_buf text = SG_BUF_INIT;
	load_file("dnssec/keyset-request.txt", &text);
	dns_keyset ks;
	parse_ok(&text, &ks);
	assert_int_equal(ks.kind, DNS_KEYSET_REQUEST);
	dns_name zone;
	assert_int_equal(dns_name_from_str(&zone, "example.com."), SIGNET_OK);
	assert_true(dns_name_equal(&ks.zone, &zone));
	assert_int_equal(ks.serial, 42);
	assert_int_equal(ks.count, 2);
	assert_int_equal(ks.periods[0].inception, 1767225600u);
	assert_int_equal(ks.periods[0].expiration, 1768435200u);
	assert_int_equal(ks.periods[1].inception, 1768435200u);
	assert_int_equal(ks.periods[1].expiration, 1769644800u);
	assert_int_equal(ks.periods[0].dnskey.count, 2);
	assert_int_equal(ks.periods[0].cds.count, 0);
	assert_int_equal(ks.periods[0].cdnskey.count, 0);
	assert_int_equal(ks.periods[0].sigs.count, 1);
	assert_int_equal(ks.periods[1].dnskey.count, 3);
	assert_int_equal(ks.periods[1].cds.count, 1);
	assert_int_equal(ks.periods[1].cdnskey.count, 1);
	assert_int_equal(ks.periods[1].sigs.count, 2);
	assert_int_equal(ks.periods[1].dnskey.ttl, 3600);
	assert_int_equal(ks.periods[1].dnskey.type, DNS_T_DNSKEY);
	assert_int_equal(ks.periods[1].cds.type, DNS_T_CDS);
	assert_int_equal(ks.periods[1].sigs.type, DNS_T_RRSIG);
	/* The RDATA is what the text says: flags 256, protocol 3, algorithm 13. */
	assert_int_equal(ks.periods[0].dnskey.rr[0].len, 4 + 64);
	assert_int_equal(ks.periods[0].dnskey.rr[0].data[0], 1);
	assert_int_equal(ks.periods[0].dnskey.rr[0].data[1], 0);
	assert_int_equal(ks.periods[0].dnskey.rr[0].data[2], 3);
	assert_int_equal(ks.periods[0].dnskey.rr[0].data[3], 13);
	dns_keyset_free(&ks);
	assert_null(ks.periods);
	assert_int_equal(ks.count, 0);
	dns_keyset_free(NULL);
	sg_buf_free(&text);
}

/* parse(write(x)) is x, and write is a fixed point after one round. */
static void round_trip(const char *file, dns_keyset_kind kind)
{
	sg_buf text = SG_BUF_INIT, w1 = SG_BUF_INIT, w2 = SG_BUF_INIT;
	load_file(file, &text);
	dns_keyset a, b;
	parse_ok(&text, &a);
	assert_int_equal(a.kind, kind);
	write_ok(&a, &w1);
	parse_ok(&w1, &b);
	write_ok(&b, &w2);
	assert_int_equal(w1.len, w2.len);
	assert_memory_equal(w1.data, w2.data, w1.len);

	assert_int_equal(a.kind, b.kind);
	assert_int_equal(a.serial, b.serial);
	assert_true(dns_name_equal(&a.zone, &b.zone));
	assert_int_equal(a.count, b.count);
	for (size_t i = 0; i < a.count; i++) {
		dns_keyset_period *pa = &a.periods[i], *pb = &b.periods[i];
		assert_int_equal(pa->inception, pb->inception);
		assert_int_equal(pa->expiration, pb->expiration);
		/* Canonical order may differ from the file's: compare canonical. */
		dns_rrset *sa[] = {&pa->dnskey, &pa->cds, &pa->cdnskey, &pa->sigs};
		dns_rrset *sb[] = {&pb->dnskey, &pb->cds, &pb->cdnskey, &pb->sigs};
		for (int k = 0; k < 4; k++) {
			assert_int_equal(dns_rrset_canonicalize(sa[k]), SIGNET_OK);
			assert_int_equal(dns_rrset_canonicalize(sb[k]), SIGNET_OK);
			assert_true(sets_equal(sa[k], sb[k]));
		}
	}
	/* Every line of the canonical text is a directive or an RR line, and
	 * the text ends with $END. */
	assert_true(w1.len > 5);
	assert_memory_equal(w1.data + w1.len - 5, "$END\n", 5);
	assert_memory_equal(w1.data, "$SIGNET-KEYSET 1 ", 17);
	dns_keyset_free(&a);
	dns_keyset_free(&b);
	sg_buf_free(&text);
	sg_buf_free(&w1);
	sg_buf_free(&w2);
}

static void test_round_trip_request(void **state)
{
	(void)state;
	round_trip("dnssec/keyset-request.txt", DNS_KEYSET_REQUEST);
}

static void test_round_trip_bundle(void **state)
{
	(void)state;
	round_trip("dnssec/keyset-bundle.txt", DNS_KEYSET_BUNDLE);
	sg_buf text = SG_BUF_INIT;
	load_file("dnssec/keyset-bundle.txt", &text);
	dns_keyset ks;
	parse_ok(&text, &ks);
	assert_int_equal(ks.periods[1].sigs.count, 3);
	dns_keyset_free(&ks);
	sg_buf_free(&text);
}

/* The same content written differently (CRLF, comments, case, relative
 * owners, order, a duplicate) gives the same canonical bytes. */
static void test_canonical_write(void **state)
{
	(void)state;
	sg_buf clean = SG_BUF_INIT, messy = SG_BUF_INIT, w1 = SG_BUF_INIT, w2 = SG_BUF_INIT;
	load_file("dnssec/keyset-request.txt", &clean);
	load_file("dnssec/keyset-request-messy.txt", &messy);
	assert_true(clean.len != messy.len || memcmp(clean.data, messy.data, clean.len) != 0);
	dns_keyset a, b;
	parse_ok(&clean, &a);
	parse_ok(&messy, &b);
	write_ok(&a, &w1);
	write_ok(&b, &w2);
	assert_int_equal(w1.len, w2.len);
	assert_memory_equal(w1.data, w2.data, w1.len);
	/* The writer appends: a second write doubles the buffer exactly. */
	write_ok(&a, &w1);
	assert_int_equal(w1.len, 2 * w2.len);
	assert_memory_equal(w1.data + w2.len, w2.data, w2.len);
	dns_keyset_free(&a);
	dns_keyset_free(&b);
	sg_buf_free(&clean);
	sg_buf_free(&messy);
	sg_buf_free(&w1);
	sg_buf_free(&w2);
}

struct bad_case {
	const char *name;
	const char *text;
	signet_err err;
	unsigned line;
};

static void test_refusals(void **state)
{
	(void)state;
	static const struct bad_case cases[] = {
		{"wrong owner", HEAD P1 "www.example.com. 3600 IN DNSKEY 256 3 13 " KEY "\n$END\n",
		 SIGNET_EPARSE, 5},
		{"wrong type", HEAD P1 DNSKEY_RR "example.com. 3600 IN A 192.0.2.1\n$END\n",
		 SIGNET_EPARSE, 6},
		{"wrong type NS", HEAD P1 DNSKEY_RR "example.com. 3600 IN NS ns.example.com.\n$END\n",
		 SIGNET_EPARSE, 6},
		{"class", HEAD P1 "example.com. 3600 CH DNSKEY 256 3 13 " KEY "\n$END\n",
		 SIGNET_EPARSE, 5},
		{"overlap", HEAD P1 DNSKEY_RR "$PERIOD 1999 3000\n" DNSKEY_RR "$END\n",
		 SIGNET_EPARSE, 6},
		{"unordered", HEAD P2 DNSKEY_RR P1 DNSKEY_RR "$END\n", SIGNET_EPARSE, 6},
		{"ends before start", HEAD "$PERIOD 2000 1000\n" DNSKEY_RR "$END\n",
		 SIGNET_EPARSE, 4},
		{"empty window", HEAD "$PERIOD 2000 2000\n" DNSKEY_RR "$END\n", SIGNET_EPARSE, 4},
		{"bad directive", HEAD P1 DNSKEY_RR "$FOO 1\n$END\n", SIGNET_EPARSE, 6},
		{"include", HEAD P1 DNSKEY_RR "$INCLUDE /etc/passwd\n$END\n", SIGNET_EPARSE, 6},
		{"missing $END", HEAD P1 DNSKEY_RR, SIGNET_EPARSE, 5},
		{"missing $END, comment last", HEAD P1 DNSKEY_RR "; bye\n", SIGNET_EPARSE, 6},
		{"garbage", HEAD P1 DNSKEY_RR "@@@ lorem ipsum\n$END\n", SIGNET_EPARSE, 6},
		{"garbage only", "lorem ipsum\n", SIGNET_EPARSE, 1},
		{"empty", "", SIGNET_EPARSE, 0},
		{"after $END", HEAD P1 DNSKEY_RR "$END\n" DNSKEY_RR, SIGNET_EPARSE, 7},
		{"second $END", HEAD P1 DNSKEY_RR "$END\n$END\n", SIGNET_EPARSE, 7},
		{"version", "$SIGNET-KEYSET 2 request\n", SIGNET_EPARSE, 1},
		{"kind", "$SIGNET-KEYSET 1 both\n", SIGNET_EPARSE, 1},
		{"no magic", "$ZONE example.com.\n", SIGNET_EPARSE, 1},
		{"two magics", HEAD "$SIGNET-KEYSET 1 request\n", SIGNET_EPARSE, 4},
		{"RR before period", HEAD DNSKEY_RR P1 DNSKEY_RR "$END\n", SIGNET_EPARSE, 4},
		{"period before serial", "$SIGNET-KEYSET 1 request\n$ZONE example.com.\n" P1,
		 SIGNET_EPARSE, 3},
		{"zone twice", HEAD "$ZONE example.com.\n", SIGNET_EPARSE, 4},
		{"zone in period", HEAD P1 "$ZONE example.com.\n", SIGNET_EPARSE, 5},
		{"bad zone", "$SIGNET-KEYSET 1 request\n$ZONE a..b.\n", SIGNET_EPARSE, 2},
		{"serial sign", "$SIGNET-KEYSET 1 request\n$SERIAL -1\n", SIGNET_EPARSE, 2},
		{"serial overflow", "$SIGNET-KEYSET 1 request\n$SERIAL 18446744073709551616\n",
		 SIGNET_EPARSE, 2},
		{"period overflow", HEAD "$PERIOD 1000 4294967296\n", SIGNET_EPARSE, 4},
		{"period arity", HEAD "$PERIOD 1000\n", SIGNET_EPARSE, 4},
		{"no DNSKEY", HEAD P1 PROOF("DNSKEY", "example.com.") P2 DNSKEY_RR "$END\n",
		 SIGNET_EPARSE, 6},
		{"no periods", HEAD "$END\n", SIGNET_EPARSE, 4},
		{"proof over CDS", HEAD P1 DNSKEY_RR PROOF("CDS", "example.com.") "$END\n",
		 SIGNET_EPARSE, 6},
		{"foreign signer", HEAD P1 DNSKEY_RR PROOF("DNSKEY", "example.net.") "$END\n",
		 SIGNET_EPARSE, 6},
		{"TTL mismatch", HEAD P1 DNSKEY_RR "example.com. 60 IN DNSKEY 257 3 13 " KEY "\n$END\n",
		 SIGNET_EPARSE, 6},
		{"bad RDATA", HEAD P1 "example.com. 3600 IN DNSKEY 256 3 13 !!!\n$END\n",
		 SIGNET_EPARSE, 5},
		{"multi-line RR", HEAD P1 "example.com. 3600 IN DNSKEY ( 256 3 13\n " KEY " )\n$END\n",
		 SIGNET_EPARSE, 5},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		dns_keyset ks;
		unsigned line = 999;
		signet_err err = dns_keyset_parse(cases[i].text, strlen(cases[i].text), &ks, &line);
		if (err != cases[i].err || line != cases[i].line)
			fail_msg("%s: got %s line %u, want %s line %u", cases[i].name,
				 signet_errname(err), line, signet_errname(cases[i].err),
				 cases[i].line);
		assert_null(ks.periods);
		assert_int_equal(ks.count, 0);
	}

	/* A bundle may sign CDS and CDNSKEY, but still nothing else. */
	const char *bundle_ok = "$SIGNET-KEYSET 1 bundle\n$ZONE example.com.\n$SERIAL 7\n"
		P1 DNSKEY_RR PROOF("CDS", "example.com.") PROOF("CDNSKEY", "Example.COM.") "$END\n";
	dns_keyset ks;
	assert_int_equal(dns_keyset_parse(bundle_ok, strlen(bundle_ok), &ks, NULL), SIGNET_OK);
	assert_int_equal(ks.periods[0].sigs.count, 2);
	dns_keyset_free(&ks);
	const char *bundle_bad = "$SIGNET-KEYSET 1 bundle\n$ZONE example.com.\n$SERIAL 7\n"
		P1 DNSKEY_RR PROOF("A", "example.com.") "$END\n";
	unsigned line = 0;
	assert_int_equal(dns_keyset_parse(bundle_bad, strlen(bundle_bad), &ks, &line),
			 SIGNET_EPARSE);
	assert_int_equal(line, 6);
}

static void test_limits(void **state)
{
	(void)state;
	dns_keyset ks;
	unsigned line = 0;

	/* DNS_KEYSET_PERIODS_MAX periods fit, one more does not. */
	sg_buf t = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&t, HEAD), SIGNET_OK);
	for (unsigned i = 0; i <= DNS_KEYSET_PERIODS_MAX; i++)
		assert_int_equal(sg_buf_printf(&t, "$PERIOD %u %u\n" DNSKEY_RR, 1000 + 10 * i,
					       1010 + 10 * i), SIGNET_OK);
	size_t before_end = t.len;
	assert_int_equal(sg_buf_printf(&t, "$END\n"), SIGNET_OK);
	assert_int_equal(dns_keyset_parse((const char *)t.data, t.len, &ks, &line), SIGNET_ERANGE);
	assert_int_equal(line, 3 + 2 * DNS_KEYSET_PERIODS_MAX + 1);
	/* Drop the last period: exactly the maximum parses. */
	t.len = before_end;
	while (t.data[t.len - 1] != '$')
		t.len--;
	t.len--;
	assert_int_equal(sg_buf_printf(&t, "$END\n"), SIGNET_OK);
	assert_int_equal(dns_keyset_parse((const char *)t.data, t.len, &ks, &line), SIGNET_OK);
	assert_int_equal(ks.count, DNS_KEYSET_PERIODS_MAX);
	dns_keyset_free(&ks);

	/* DNS_KEYSET_RRS_MAX RRs per set, then ERANGE. */
	sg_buf_reset(&t);
	assert_int_equal(sg_buf_printf(&t, HEAD P1), SIGNET_OK);
	for (unsigned i = 0; i <= DNS_KEYSET_RRS_MAX; i++)
		/* Distinct keys of the length P-256 needs: the counter
		 * replaces the first 8 base64 characters (6 octets). */
		assert_int_equal(sg_buf_printf(&t, "example.com. 3600 IN DNSKEY 256 3 13 %08u%s\n",
					       i, KEY + 8), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&t, "$END\n"), SIGNET_OK);
	assert_int_equal(dns_keyset_parse((const char *)t.data, t.len, &ks, &line), SIGNET_ERANGE);
	assert_int_equal(line, 4 + DNS_KEYSET_RRS_MAX + 1);

	/* An overlong line is refused before anything reads it. */
	sg_buf_reset(&t);
	assert_int_equal(sg_buf_printf(&t, HEAD P1 "example.com. 3600 IN TXT \""), SIGNET_OK);
	for (int i = 0; i < 9000; i++)
		assert_int_equal(sg_buf_put_u8(&t, 'x'), SIGNET_OK);
	assert_int_equal(sg_buf_printf(&t, "\"\n$END\n"), SIGNET_OK);
	assert_int_equal(dns_keyset_parse((const char *)t.data, t.len, &ks, &line), SIGNET_ERANGE);
	assert_int_equal(line, 5);

	/* A NUL inside a line. */
	const char nul[] = HEAD P1 "example.com. 3600 IN DNSKEY\0 256\n$END\n";
	assert_int_equal(dns_keyset_parse(nul, sizeof(nul) - 1, &ks, &line), SIGNET_EPARSE);
	assert_int_equal(line, 5);

	assert_int_equal(dns_keyset_parse(NULL, 3, &ks, &line), SIGNET_EINVAL);
	assert_int_equal(dns_keyset_parse("x", 1, NULL, &line), SIGNET_EINVAL);
	sg_buf_free(&t);
}

/* RRSIGs over sets of different TTLs keep the lowest; other sets need one. */
static void test_sig_ttl(void **state)
{
	(void)state;
	const char *text = "$SIGNET-KEYSET 1 bundle\n$ZONE example.com.\n$SERIAL 7\n" P1
		DNSKEY_RR
		"example.com. 3600 IN RRSIG DNSKEY 13 2 3600 20260115000000 20260101000000 1 "
		"example.com. " SIGB64 "\n"
		"example.com. 300 IN RRSIG CDS 13 2 300 20260115000000 20260101000000 1 "
		"example.com. " SIGB64 "\n$END\n";
	dns_keyset ks;
	assert_int_equal(dns_keyset_parse(text, strlen(text), &ks, NULL), SIGNET_OK);
	assert_int_equal(ks.periods[0].sigs.ttl, 300);
	assert_int_equal(ks.periods[0].dnskey.ttl, 3600);
	dns_keyset_free(&ks);
}

static void test_write_refusals(void **state)
{
	(void)state;
	const char *text = HEAD P1 DNSKEY_RR KSK_RR P2 DNSKEY_RR "$END\n";
	dns_keyset ks;
	assert_int_equal(dns_keyset_parse(text, strlen(text), &ks, NULL), SIGNET_OK);
	sg_buf out = SG_BUF_INIT;
	write_ok(&ks, &out);
	size_t good = out.len;

	ks.kind = 0;
	assert_int_equal(dns_keyset_write(&ks, &out), SIGNET_EINVAL);
	ks.kind = DNS_KEYSET_BUNDLE;
	ks.periods[1].inception = 1500;             /* overlaps the first */
	assert_int_equal(dns_keyset_write(&ks, &out), SIGNET_EINVAL);
	ks.periods[1].inception = 2000;
	ks.periods[1].expiration = 2000;            /* empty window */
	assert_int_equal(dns_keyset_write(&ks, &out), SIGNET_EINVAL);
	ks.periods[1].expiration = 3000;
	ks.periods[1].dnskey.type = DNS_T_A;        /* wrong type */
	assert_int_equal(dns_keyset_write(&ks, &out), SIGNET_EINVAL);
	ks.periods[1].dnskey.type = DNS_T_DNSKEY;
	dns_name other;
	assert_int_equal(dns_name_from_str(&other, "example.net."), SIGNET_OK);
	dns_name keep = ks.periods[1].dnskey.owner;
	ks.periods[1].dnskey.owner = other;         /* wrong owner */
	assert_int_equal(dns_keyset_write(&ks, &out), SIGNET_EINVAL);
	ks.periods[1].dnskey.owner = keep;
	size_t keepn = ks.count;
	ks.count = 0;
	assert_int_equal(dns_keyset_write(&ks, &out), SIGNET_EINVAL);
	ks.count = keepn;
	/* Nothing was appended by the refusals. */
	assert_int_equal(out.len, good);
	/* The same keyset as a bundle is a different text. */
	write_ok(&ks, &out);
	assert_true(out.len == 2 * good - strlen("request") + strlen("bundle"));
	assert_int_equal(dns_keyset_write(NULL, &out), SIGNET_EINVAL);
	assert_int_equal(dns_keyset_write(&ks, NULL), SIGNET_EINVAL);
	dns_keyset_free(&ks);
	sg_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_request_file),
		cmocka_unit_test(test_round_trip_request),
		cmocka_unit_test(test_round_trip_bundle),
		cmocka_unit_test(test_canonical_write),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_sig_ttl),
		cmocka_unit_test(test_write_refusals),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
