/* test_gather.c -- a whole zone gathered as its RRs come (zone_gather_*):
 * the zone zone_from_rrs and the zone-file parser make of the same RRs,
 * whatever their order; sets that come apart, duplicates, TTLs, first
 * spellings; every error and the calls out of order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/dnssec_testutil.h"
#include "zone/zone.h"

/* One RR as text, relative to example.com. */
typedef struct line_rr {
	dns_name owner;
	uint16_t type;
	uint32_t ttl;
	sg_buf rd;
} line_rr;

static void rr_of(const char *line, line_rr *out)
{
	dns_name origin = dt_name("example.com.");
	uint16_t cls = 0;
	out->rd = (sg_buf)SG_BUF_INIT;
	assert_int_equal(
		dns_rr_from_text(line, &origin, &out->owner, &out->type, &cls, &out->ttl, &out->rd),
		SIGNET_OK);
}

static signet_err add_line(zone_gather *g, const char *line)
{
	line_rr r;
	rr_of(line, &r);
	signet_err ret = zone_gather_add(g, &r.owner, r.type, r.ttl, r.rd.data, r.rd.len);
	sg_buf_free(&r.rd);
	return ret;
}

static void gather_lines(const char *const *lines, size_t n, size_t max_rrs, dns_zone *out)
{
	zone_gather g;
	dns_name apex = dt_name("example.com.");
	zone_gather_init(&g, &apex, max_rrs);
	for (size_t i = 0; i < n; i++)
		assert_int_equal(add_line(&g, lines[i]), SIGNET_OK);
	assert_int_equal(zone_gather_finish(&g, out), SIGNET_OK);
	zone_gather_free(&g);
}

/* Equal to the octet: owners as spelled, TTLs, RRs in the same order. */
static void assert_zone_same(const dns_zone *a, const dns_zone *b)
{
	assert_true(dns_name_equal(&a->apex, &b->apex));
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
			if (x->rr[k].len)
				assert_memory_equal(x->rr[k].data, y->rr[k].data, x->rr[k].len);
		}
	}
}

/* The same sets with the same RRs, in any order within a set (the
 * zone-file parser sorts them). */
static void assert_zone_same_sets(const dns_zone *a, const dns_zone *b)
{
	assert_int_equal(a->count, b->count);
	for (size_t i = 0; i < a->count; i++) {
		dns_rrset x, y;
		assert_int_equal(dns_rrset_copy(&x, &a->sets[i]), SIGNET_OK);
		assert_int_equal(dns_rrset_copy(&y, &b->sets[i]), SIGNET_OK);
		assert_int_equal(dns_rrset_canonicalize(&x), SIGNET_OK);
		assert_int_equal(dns_rrset_canonicalize(&y), SIGNET_OK);
		dns_zone zx = {.apex = a->apex, .sets = &x, .count = 1};
		dns_zone zy = {.apex = a->apex, .sets = &y, .count = 1};
		/* Spellings as they came, the RRs as the canonical form has them. */
		zx.sets->owner = a->sets[i].owner;
		zy.sets->owner = b->sets[i].owner;
		assert_zone_same(&zx, &zy);
		dns_rrset_clear(&x);
		dns_rrset_clear(&y);
	}
}

static void assert_canonical_order(const dns_zone *z)
{
	for (size_t i = 1; i < z->count; i++) {
		int c = dns_name_compare(&z->sets[i - 1].owner, &z->sets[i].owner);
		assert_true(c < 0 || (c == 0 && z->sets[i - 1].type < z->sets[i].type));
	}
}

static const char *const SOA = "@ 3600 IN SOA ns1 hostmaster 1 7200 3600 1209600 300";

static void test_in_order(void **state)
{
	(void)state;
	const char *const lines[] = {
		SOA,
		"@ 3600 IN NS ns1",
		"@ 3600 IN NS ns2",
		"a 300 IN A 192.0.2.1",
		"a 300 IN AAAA 2001:db8::1",
		"ns1 3600 IN A 192.0.2.2",
		"ns2 3600 IN A 192.0.2.3",
	};
	zone_gather g;
	dns_name apex = dt_name("example.com.");
	zone_gather_init(&g, &apex, 100);
	for (size_t i = 0; i < sizeof(lines) / sizeof(*lines); i++)
		assert_int_equal(add_line(&g, lines[i]), SIGNET_OK);
	/* Node by node in canonical order: only the apex's SOA and NS swap. */
	assert_true(g.sorted);
	assert_false(g.types_sorted);
	assert_int_equal(g.z.count, 6);
	dns_zone z;
	assert_int_equal(zone_gather_finish(&g, &z), SIGNET_OK);
	zone_gather_free(&g);
	assert_int_equal(z.count, 6);
	/* The spare room went back but for a few sets a sign adds. */
	assert_true(z.cap >= 6 && z.cap <= 6 + 16);
	assert_int_equal(z.sets[0].type, DNS_T_NS);
	assert_int_equal(z.sets[0].count, 2);
	assert_int_equal(z.sets[1].type, DNS_T_SOA);
	assert_canonical_order(&z);
	dns_zone_free(&z);
}

static void test_out_of_order_and_apart(void **state)
{
	(void)state;
	/* Nodes out of order, www's A set split by its AAAA and by another
	 * node, a later part with a lower TTL. */
	const char *const lines[] = {
		SOA,
		"www 3600 IN A 192.0.2.1",
		"www 3600 IN AAAA 2001:db8::1",
		"www 600 IN A 192.0.2.2",
		"b 3600 IN TXT \"b\"",
		"a 3600 IN TXT \"a\"",
		"www 1200 IN A 192.0.2.3",
		"@ 3600 IN NS ns1",
	};
	dns_zone z;
	gather_lines(lines, sizeof(lines) / sizeof(*lines), 100, &z);
	assert_canonical_order(&z);
	assert_int_equal(z.count, 6);
	dns_name www = dt_name("www.example.com.");
	const dns_rrset *a = NULL;
	for (size_t i = 0; i < z.count; i++)
		if (z.sets[i].type == DNS_T_A && dns_name_equal(&z.sets[i].owner, &www))
			a = &z.sets[i];
	assert_non_null(a);
	assert_int_equal(a->count, 3);
	assert_int_equal(a->ttl, 600);
	/* The RRs stay in the order they came. */
	for (size_t k = 0; k < 3; k++)
		assert_int_equal(a->rr[k].data[3], k + 1);
	dns_zone_free(&z);
}

static void test_duplicates_and_spelling(void **state)
{
	(void)state;
	const char *const lines[] = {
		SOA,
		"WWW 3600 IN A 192.0.2.1",
		"www 3600 IN A 192.0.2.1",  /* a duplicate, another spelling */
		"Www 60 IN A 192.0.2.1",    /* one more, its TTL still counts */
		"mx 3600 IN MX 10 MAIL",
		"a 3600 IN A 192.0.2.9",    /* out of order: mx's set will move */
		"mx 3600 IN MX 10 mail",    /* the same RR in canonical form */
		"mx 3600 IN MX 20 mail",
		"www 3600 IN A 192.0.2.1",  /* a duplicate in a part that came apart */
	};
	dns_zone z;
	gather_lines(lines, sizeof(lines) / sizeof(*lines), 100, &z);
	assert_canonical_order(&z);
	assert_int_equal(z.count, 4);
	/* @ SOA, a A, mx MX, WWW A */
	const dns_rrset *mx = &z.sets[2], *w = &z.sets[3];
	assert_int_equal(mx->type, DNS_T_MX);
	assert_int_equal(mx->count, 2);
	/* The first spelling stays, of the owner and of the RDATA. */
	assert_memory_equal(mx->rr[0].data + 3, "MAIL", 4);
	assert_int_equal(w->type, DNS_T_A);
	assert_int_equal(w->count, 1);
	assert_int_equal(w->ttl, 60);
	assert_memory_equal(w->owner.wire + 1, "WWW", 3);
	dns_zone_free(&z);
}

/* A bigger zone in its file's order, then shuffled RR by RR and node by
 * node: the gatherer, zone_from_rrs and the zone-file parser agree. */
static void test_shuffled_zone(void **state)
{
	(void)state;
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(sg_buf_append(&text, "$ORIGIN example.com.\n", 21), SIGNET_OK);
	char line[256];
	size_t nl = 0;
	char **lines = NULL;
	for (int i = 0; i < 400; i++) {
		char l[6][160]; /* the SOA and NS, two A, a TXT and an MX at i 0 */
		int n = 0;
		if (i == 0) {
			snprintf(l[n++], sizeof(l[0]), "%s", SOA);
			snprintf(l[n++], sizeof(l[0]), "@ 3600 IN NS ns1");
		}
		snprintf(l[n++], sizeof(l[0]), "h%d %d IN A 192.0.%d.%d", i, 300 + i % 3, i % 7,
			 i % 250);
		snprintf(l[n++], sizeof(l[0]), "h%d 300 IN A 198.51.100.%d", i, i % 250);
		if (i % 3 == 0)
			snprintf(l[n++], sizeof(l[0]), "h%d 600 IN TXT \"t%d\"", i, i);
		if (i % 5 == 0)
			snprintf(l[n++], sizeof(l[0]), "S%d.sub 600 IN MX %d mx.h%d", i, i, i);
		for (int k = 0; k < n; k++) {
			lines = realloc(lines, (nl + 1) * sizeof(*lines));
			assert_non_null(lines);
			lines[nl++] = strdup(l[k]);
		}
	}
	/* Shuffled (the first SOA stays first, as a transfer has it). */
	uint32_t seed = 7;
	for (size_t i = nl - 1; i > 1; i--) {
		seed = seed * 1103515245u + 12345u;
		size_t j = 1 + (seed >> 8) % i;
		char *t = lines[i];
		lines[i] = lines[j];
		lines[j] = t;
	}
	for (size_t i = 0; i < nl; i++) {
		int n = snprintf(line, sizeof(line), "%s\n", lines[i]);
		assert_int_equal(sg_buf_append(&text, line, (size_t)n), SIGNET_OK);
	}
	dns_name apex = dt_name("example.com.");
	dns_zone parsed, gathered, from;
	assert_int_equal(dns_zone_parse((const char *)text.data, text.len, &apex, 3600, 100000,
					&parsed, NULL),
			 SIGNET_OK);
	gather_lines((const char *const *)lines, nl, nl, &gathered);
	zone_diff d = {0};
	for (size_t i = 0; i < nl; i++) {
		line_rr r;
		rr_of(lines[i], &r);
		assert_int_equal(zone_diff_push(&d, true, &r.owner, r.type, r.ttl, r.rd.data,
						r.rd.len),
				 SIGNET_OK);
		sg_buf_free(&r.rd);
	}
	assert_int_equal(zone_from_rrs(&apex, &d, nl, &from), SIGNET_OK);
	assert_canonical_order(&gathered);
	assert_zone_same_sets(&parsed, &gathered);
	assert_zone_same(&from, &gathered);
	/* One RR more than allowed: zone_from_rrs refuses it whole. */
	dns_zone_free(&from);
	assert_int_equal(zone_from_rrs(&apex, &d, nl - 1, &from), SIGNET_ERANGE);
	assert_int_equal(from.count, 0);
	zone_diff_free(&d);
	dns_zone_free(&parsed);
	dns_zone_free(&gathered);
	for (size_t i = 0; i < nl; i++)
		free(lines[i]);
	free(lines);
	sg_buf_free(&text);
}

/* After the failure of an add, every later call returns it and the finish
 * gives an empty zone. */
static void assert_stuck(zone_gather *g, signet_err err)
{
	assert_int_equal(add_line(g, "ok 3600 IN A 192.0.2.1"), err);
	dns_zone z;
	assert_int_equal(zone_gather_finish(g, &z), err);
	assert_int_equal(z.count, 0);
	assert_null(z.sets);
	assert_true(dns_name_equal(&z.apex, &g->z.apex));
	zone_gather_free(g);
}

static void test_errors(void **state)
{
	(void)state;
	dns_name apex = dt_name("example.com.");
	zone_gather g;
	/* Outside the apex. */
	zone_gather_init(&g, &apex, 100);
	assert_int_equal(add_line(&g, SOA), SIGNET_OK);
	assert_int_equal(add_line(&g, "www.example.net. 3600 IN A 192.0.2.1"), SIGNET_EPARSE);
	assert_stuck(&g, SIGNET_EPARSE);
	/* Malformed RDATA: three octets of an A. */
	zone_gather_init(&g, &apex, 100);
	dns_name www = dt_name("www.example.com.");
	uint8_t a[4] = {192, 0, 2, 1};
	assert_int_equal(zone_gather_add(&g, &www, DNS_T_A, 3600, a, 3), SIGNET_EPARSE);
	assert_stuck(&g, SIGNET_EPARSE);
	/* A TTL over 2^31-1. */
	zone_gather_init(&g, &apex, 100);
	assert_int_equal(zone_gather_add(&g, &www, DNS_T_A, 0x80000000u, a, 4), SIGNET_EPARSE);
	assert_stuck(&g, SIGNET_EPARSE);
	/* The RR past max_rrs, duplicates counted, refused as it comes. */
	zone_gather_init(&g, &apex, 3);
	assert_int_equal(add_line(&g, SOA), SIGNET_OK);
	assert_int_equal(zone_gather_add(&g, &www, DNS_T_A, 3600, a, 4), SIGNET_OK);
	assert_int_equal(zone_gather_add(&g, &www, DNS_T_A, 3600, a, 4), SIGNET_OK);
	assert_int_equal(zone_gather_add(&g, &www, DNS_T_A, 3600, a, 4), SIGNET_ERANGE);
	assert_stuck(&g, SIGNET_ERANGE);
	/* max_rrs 0 takes nothing. */
	zone_gather_init(&g, &apex, 0);
	assert_int_equal(add_line(&g, SOA), SIGNET_ERANGE);
	zone_gather_free(&g);
	/* zone_from_rrs: an RR outside the apex. */
	zone_diff d = {0};
	dns_name out = dt_name("www.example.net.");
	dns_zone z;
	assert_int_equal(zone_diff_push(&d, true, &www, DNS_T_A, 3600, a, 4), SIGNET_OK);
	assert_int_equal(zone_diff_push(&d, true, &out, DNS_T_A, 3600, a, 4), SIGNET_OK);
	assert_int_equal(zone_from_rrs(&apex, &d, 100, &z), SIGNET_EPARSE);
	assert_int_equal(z.count, 0);
	/* Too many RRs is said before the RR outside is seen. */
	assert_int_equal(zone_from_rrs(&apex, &d, 1, &z), SIGNET_ERANGE);
	assert_int_equal(zone_from_rrs(NULL, &d, 1, &z), SIGNET_EINVAL);
	zone_diff_free(&d);
}

static void test_call_order(void **state)
{
	(void)state;
	dns_name apex = dt_name("example.com."), www = dt_name("www.example.com.");
	uint8_t a[4] = {192, 0, 2, 1};
	zone_gather g;
	dns_zone z;
	/* Nothing gathered: an empty zone, as zone_from_rrs gives one. */
	zone_gather_init(&g, &apex, 10);
	assert_int_equal(zone_gather_finish(&g, &z), SIGNET_OK);
	assert_int_equal(z.count, 0);
	assert_true(dns_name_equal(&z.apex, &apex));
	dns_zone_free(&z);
	/* Nothing after the finish, and no second finish. */
	assert_int_equal(zone_gather_add(&g, &www, DNS_T_A, 3600, a, 4), SIGNET_EINVAL);
	assert_int_equal(zone_gather_finish(&g, &z), SIGNET_EINVAL);
	zone_gather_free(&g);
	zone_gather_free(&g); /* twice is harmless */
	zone_gather_free(NULL);
	/* Arguments missing. */
	zone_gather_init(&g, &apex, 10);
	assert_int_equal(zone_gather_add(NULL, &www, DNS_T_A, 3600, a, 4), SIGNET_EINVAL);
	assert_int_equal(zone_gather_add(&g, NULL, DNS_T_A, 3600, a, 4), SIGNET_EINVAL);
	assert_int_equal(zone_gather_add(&g, &www, DNS_T_A, 3600, NULL, 4), SIGNET_EINVAL);
	assert_int_equal(zone_gather_finish(NULL, &z), SIGNET_EINVAL);
	assert_int_equal(zone_gather_finish(&g, NULL), SIGNET_EINVAL);
	/* None of those counted or stuck: the gatherer goes on. */
	assert_int_equal(zone_gather_add(&g, &www, DNS_T_A, 3600, a, 4), SIGNET_OK);
	/* Freed before the finish: everything goes. */
	zone_gather_free(&g);
	assert_int_equal(g.z.count, 0);
	assert_null(g.z.sets);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_in_order),
		cmocka_unit_test(test_out_of_order_and_apart),
		cmocka_unit_test(test_duplicates_and_spelling),
		cmocka_unit_test(test_shuffled_zone),
		cmocka_unit_test(test_errors),
		cmocka_unit_test(test_call_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
