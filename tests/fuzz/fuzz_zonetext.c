/* fuzz_zonetext.c -- fuzz target for zone-file text (dns_zone_parse) and what
 * the client does next with a zone it read: roles, owners, the NSEC and NSEC3
 * chains and the presentation form of every RRset.
 *
 * Input: zone-file text for origin example.com. Properties: parsed sets come
 * in canonical order without duplicates, and the chains build for any zone
 * the parser accepts; every line the fast reader (dns_rr_from_text_fast, and
 * dns_rr_from_text_ctx with an origin and a default TTL) takes, ldns reads to
 * the same owner, type, TTL and RDATA; and the whole text parses to the same
 * zone, or fails with the same error at the same line, with the fast reader
 * and with ldns alone (which checks the $ORIGIN, $TTL and previous-owner
 * state the fast reader shares with ldns). */
#include <stdlib.h>
#include <string.h>

#include "dnssec/dnssec.h"
#include "dnssec/internal.h"
#include "tests/fuzz/fuzz.h"

#define FUZZ_ZONE_RRS 2000

static void fuzz_chains(const dns_zone *z)
{
	dns_set_role *roles = calloc(z->count ? z->count : 1, sizeof(*roles));
	FUZZ_CHECK(roles != NULL);
	dns_owner *owners = NULL;
	size_t n = 0;
	if (dns_zone_roles(z, roles) == SIGNET_OK &&
	    dns_zone_owners(z, roles, &owners, &n) == SIGNET_OK) {
		dns_chain c = {0};
		FUZZ_CHECK(dns_nsec_chain(&z->apex, owners, n, 3600, &c) == SIGNET_OK);
		dns_chain_free(&c);
		dns_nsec3_params p = {.algorithm = 1, .flags = DNS_NSEC3_FLAG_OPTOUT};
		signet_err err = dns_nsec3_chain(&z->apex, owners, n, 3600, &p, &c);
		FUZZ_CHECK(err == SIGNET_OK || err == SIGNET_EEXIST);
		dns_chain_free(&c);
		dns_owners_free(owners, n);
	}
	free(roles);
}

/* ldns reads line (len octets, no NUL inside) as the fast reader did. */
static void same_as_ldns(const char *text, size_t len, const dns_name *origin,
			 const dns_name *o1, uint16_t t1, uint32_t ttl1, const sg_buf *r1)
{
	char *line = malloc(len + 1);
	FUZZ_CHECK(line != NULL);
	memcpy(line, text, len);
	line[len] = '\0';
	FUZZ_CHECK(memchr(line, '\0', len) == NULL);
	dns_name o2;
	uint16_t t2, c2;
	uint32_t ttl2;
	sg_buf r2 = SG_BUF_INIT;
	FUZZ_CHECK(dns_rr_from_text(line, origin, &o2, &t2, &c2, &ttl2, &r2) == SIGNET_OK);
	FUZZ_CHECK(o1->len == o2.len && memcmp(o1->wire, o2.wire, o1->len) == 0);
	FUZZ_CHECK(t1 == t2 && c2 == DNS_CLASS_IN && ttl1 == ttl2);
	FUZZ_CHECK(r1->len == r2.len && memcmp(r1->data, r2.data, r1->len) == 0);
	sg_buf_free(&r2);
	free(line);
}

/* The fast reader agrees with ldns on every line it takes: alone, and with
 * an origin and ldns's default TTL (dns_rr_from_text's 3600). */
static void fuzz_fast_lines(const char *text, size_t size, const dns_name *origin)
{
	sg_buf r1 = SG_BUF_INIT;
	const dns_fast_ctx ctx = {origin, 3600};
	for (size_t off = 0; off < size;) {
		const char *eol = memchr(text + off, '\n', size - off);
		size_t len = eol ? (size_t)(eol - (text + off)) : size - off;
		dns_name o1;
		uint16_t t1;
		uint32_t ttl1;
		sg_buf_reset(&r1);
		if (dns_rr_from_text_fast(text + off, len, &o1, &t1, &ttl1, &r1) == SIGNET_OK)
			same_as_ldns(text + off, len, NULL, &o1, t1, ttl1, &r1);
		sg_buf_reset(&r1);
		if (dns_rr_from_text_ctx(&ctx, text + off, len, &o1, &t1, &ttl1, &r1) == SIGNET_OK)
			same_as_ldns(text + off, len, origin, &o1, t1, ttl1, &r1);
		off += len + 1;
	}
	sg_buf_free(&r1);
}

/* The text reads to the same zone, or the same error at the same line,
 * with ldns alone; a's result is returned, a is left for the caller. */
static signet_err fuzz_same_zone(const char *text, size_t size, const dns_name *origin,
				 dns_zone *a)
{
	dns_zone b = {0};
	unsigned la = 0, lb = 0;
	signet_err ea = dns_zone_parse_how(text, size, origin, 3600, FUZZ_ZONE_RRS, true, a, &la);
	signet_err eb = dns_zone_parse_how(text, size, origin, 3600, FUZZ_ZONE_RRS, false, &b, &lb);
	FUZZ_CHECK(ea == eb);
	/* The same line too: for an RR refused after it was read (a SOA away
	 * from the apex, "B SOA ...\n\n"), the ldns path once named the line
	 * ldns had read to, past the blank lines after the RR. */
	FUZZ_CHECK(la == lb);
	if (ea == SIGNET_OK) {
		FUZZ_CHECK(a->count == b.count);
		for (size_t i = 0; i < a->count; i++) {
			const dns_rrset *x = &a->sets[i], *y = &b.sets[i];
			FUZZ_CHECK(x->owner.len == y->owner.len &&
				   memcmp(x->owner.wire, y->owner.wire, x->owner.len) == 0);
			FUZZ_CHECK(x->type == y->type && x->rclass == y->rclass && x->ttl == y->ttl);
			FUZZ_CHECK(x->count == y->count);
			for (size_t k = 0; k < x->count; k++)
				FUZZ_CHECK(x->rr[k].len == y->rr[k].len &&
					   (x->rr[k].len == 0 ||
					    memcmp(x->rr[k].data, y->rr[k].data, x->rr[k].len) == 0));
		}
	}
	dns_zone_free(&b);
	return ea;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dns_name origin;
	FUZZ_CHECK(dns_name_from_str(&origin, "example.com.") == SIGNET_OK);
	fuzz_fast_lines((const char *)data, size, &origin);
	dns_zone z = {0};
	if (fuzz_same_zone((const char *)data, size, &origin, &z) != SIGNET_OK) {
		dns_zone_free(&z);
		return 0;
	}
	sg_buf text = SG_BUF_INIT;
	for (size_t i = 0; i < z.count; i++) {
		if (i > 0) {
			/* Canonical order by owner, then type; one set per pair. */
			int c = dns_name_compare(&z.sets[i - 1].owner, &z.sets[i].owner);
			FUZZ_CHECK(c < 0 || (c == 0 && z.sets[i - 1].type < z.sets[i].type));
		}
		FUZZ_CHECK(dns_name_is_at_or_below(&z.sets[i].owner, &z.apex));
		FUZZ_CHECK(dns_rrset_to_text(&z.sets[i], &text) == SIGNET_OK);
	}
	fuzz_chains(&z);
	sg_buf_free(&text);
	dns_zone_free(&z);
	return 0;
}
