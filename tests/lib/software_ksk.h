/* software_ksk.h -- a software Ed25519 KSK that plays the ceremony's part in
 * tests (turning a key-signing request into a bundle). Failures fail the
 * cmocka test. */
#ifndef SIGNET_TEST_SOFTWARE_KSK_H
#define SIGNET_TEST_SOFTWARE_KSK_H

#include <openssl/evp.h>

#include "common/common.h"
#include "dnssec/dnssec.h"

typedef struct test_ksk {
	EVP_PKEY *key;             /* private Ed25519 key, in this process only */
	uint8_t dnskey[64];        /* DNSKEY RDATA, flags 257 */
	size_t dnskey_len;
	uint16_t tag;
} test_ksk;

/* Make a KSK; free with test_ksk_free. */
void test_ksk_new(test_ksk *k);
void test_ksk_free(test_ksk *k);

/* Sign set with k over [inc, exp] and append the RRSIG RDATA to sigs. */
void test_ksk_sign(const test_ksk *k, const dns_name *zone, const dns_rrset *set,
		   uint32_t inc, uint32_t exp, dns_rrset *sigs);

/* Turn request text into bundle text (appended to out): every period's
 * non-empty DNSKEY/CDS/CDNSKEY RRset signed by k over the period; the
 * request's proof RRSIGs are dropped. */
void test_ksk_make_bundle(const test_ksk *k, const uint8_t *request, size_t len,
			  sg_buf *out);

#endif /* SIGNET_TEST_SOFTWARE_KSK_H */
