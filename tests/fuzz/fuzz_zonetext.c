/* fuzz_zonetext.c -- fuzz target for zone-file text (dns_zone_parse) and what
 * the client does next with a zone it read: roles, owners, the NSEC and NSEC3
 * chains and the presentation form of every RRset.
 *
 * Input: zone-file text for origin example.com. Properties: parsed sets come
 * in canonical order without duplicates, and the chains build for any zone
 * the parser accepts; every line the fast reader (dns_rr_from_text_fast)
 * takes, ldns reads to the same owner, type, TTL and RDATA. */
#include <stdlib.h>
#include <string.h>

#include "dnssec/dnssec.h"
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

/* The fast reader agrees with ldns on every line it takes. */
static void fuzz_fast_lines(const char *text, size_t size)
{
	sg_buf r1 = SG_BUF_INIT, r2 = SG_BUF_INIT;
	for (size_t off = 0; off < size;) {
		const char *eol = memchr(text + off, '\n', size - off);
		size_t len = eol ? (size_t)(eol - (text + off)) : size - off;
		dns_name o1, o2;
		uint16_t t1, t2, c2;
		uint32_t ttl1, ttl2;
		sg_buf_reset(&r1);
		if (dns_rr_from_text_fast(text + off, len, &o1, &t1, &ttl1, &r1) == SIGNET_OK) {
			char *line = malloc(len + 1);
			FUZZ_CHECK(line != NULL);
			memcpy(line, text + off, len);
			line[len] = '\0';
			sg_buf_reset(&r2);
			FUZZ_CHECK(memchr(line, '\0', len) == NULL);
			FUZZ_CHECK(dns_rr_from_text(line, NULL, &o2, &t2, &c2, &ttl2, &r2) ==
				   SIGNET_OK);
			FUZZ_CHECK(o1.len == o2.len && memcmp(o1.wire, o2.wire, o1.len) == 0);
			FUZZ_CHECK(t1 == t2 && c2 == DNS_CLASS_IN && ttl1 == ttl2);
			FUZZ_CHECK(r1.len == r2.len && memcmp(r1.data, r2.data, r1.len) == 0);
			free(line);
		}
		off += len + 1;
	}
	sg_buf_free(&r1);
	sg_buf_free(&r2);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_fast_lines((const char *)data, size);
	dns_name origin;
	FUZZ_CHECK(dns_name_from_str(&origin, "example.com.") == SIGNET_OK);
	dns_zone z = {0};
	unsigned line = 0;
	if (dns_zone_parse((const char *)data, size, &origin, 3600, FUZZ_ZONE_RRS, &z,
			   &line) != SIGNET_OK) {
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
