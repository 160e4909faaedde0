/* internal.h -- helpers shared by files of the dnssec/ layer, not part of its API. */
#ifndef SIGNET_DNSSEC_INTERNAL_H
#define SIGNET_DNSSEC_INTERNAL_H

#include "dnssec/dnssec.h"

/* Split an RFC 3110 §2 RSA public key (exponent length in one octet, or a
 * zero octet and two; then exponent, then modulus) into its exponent and
 * modulus, which point into k. SIGNET_EPARSE when a length runs past len or
 * either part is empty; leading zeros are the caller's to judge. */
signet_err dns_rsa_key_split(const uint8_t *k, size_t len, const uint8_t **exp, size_t *elen,
			     const uint8_t **mod, size_t *mlen);

/* What a zone file carries from line to line that the fast reader needs. */
typedef struct dns_fast_ctx {
	const dns_name *origin; /* $ORIGIN for relative names and "@"; NULL: none taken */
	uint32_t ttl;           /* TTL of an RR that names none; 0: a TTL is required */
} dns_fast_ctx;

/* dns_rr_from_text_fast in the context of a zone file: relative names and
 * "@" (ctx->origin), a missing TTL (ctx->ttl) or class; what ldns would read
 * from the same line with the same origin and default TTL. Lines starting
 * with a blank (the previous owner) stay ldns's. Same results. */
signet_err dns_rr_from_text_ctx(const dns_fast_ctx *ctx, const char *line, size_t len,
				dns_name *owner, uint16_t *type, uint32_t *ttl, sg_buf *rdata);

/* dns_zone_parse, with the fast reader off when fast is false: every line is
 * ldns's (fuzz_zonetext compares the two). */
signet_err dns_zone_parse_how(const char *text, size_t len, const dns_name *origin,
			      uint32_t default_ttl, size_t max_rrs, bool fast, dns_zone *out,
			      unsigned *errline);

/* A dns_chain_fn that appends the set to the dns_chain arg, taking its
 * RRs: the array forms of the chain builders. */
signet_err dns_chain_take(void *arg, dns_rrset *set);

#endif
