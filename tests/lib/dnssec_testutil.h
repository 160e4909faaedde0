/* dnssec_testutil.h -- small helpers the dnssec tests share. Failures fail
 * the running cmocka test. */
#ifndef SIGNET_TEST_DNSSEC_TESTUTIL_H
#define SIGNET_TEST_DNSSEC_TESTUTIL_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "common/common.h"
#include "dnssec/dnssec.h"

/* The name s in wire form. */
dns_name dt_name(const char *s);
/* The same, kept in a ring of 256 for the rest of the test (a dns_owner's
 * name is a pointer). */
const dns_name *dt_namep(const char *s);

/* A dns_chain_fn that checks an _each chain builder against the array form
 * want: the same sets in the same order (seen counts them); every other
 * set's RRs are taken, the rest left to be cleared; at the stop_at-th set
 * (0: never) it returns SIGNET_EIO. */
typedef struct dt_each {
	const dns_chain *want;
	size_t seen, stop_at;
} dt_each;
signet_err dt_each_fn(void *arg, dns_rrset *set);

/* Append the file rel under $SIGNET_TEST_DATA (1 MiB at most) to out. */
void dt_load_file(const char *rel, sg_buf *out);

/* Owners with their types, straight from the zone's sets (glue included:
 * excluding it is the chain's job). Free with dt_free_owners. */
void dt_zone_owners(const dns_zone *z, dns_owner **out, size_t *n);
void dt_free_owners(dns_owner *o, size_t n);

/* ldns's presentation line for the RR (no comments, trailing blanks
 * removed), the reference signet's own printing must match; malloc'd, the
 * caller frees it. NULL when ldns does not take the wire form whole or
 * cannot print it. */
char *dt_ldns_line(const dns_name *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
		   const uint8_t *rdata, size_t len);

/* A fresh OpenSSL key for a DNSSEC algorithm: RSA-2048 for 8, P-256 for 13,
 * P-384 for 14, Ed25519 for anything else. NULL if OpenSSL fails; the
 * caller frees it. */
EVP_PKEY *dt_generate(uint8_t alg);

#endif /* SIGNET_TEST_DNSSEC_TESTUTIL_H */
