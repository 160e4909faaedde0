/* software_ksk.h -- a software KSK (Ed25519 unless asked otherwise) that
 * plays the ceremony's part in tests (turning a key-signing request into a
 * bundle). Failures fail the cmocka test. */
#ifndef SIGNET_TEST_SOFTWARE_KSK_H
#define SIGNET_TEST_SOFTWARE_KSK_H

#include <openssl/evp.h>

#include "common/common.h"
#include "dnssec/dnssec.h"

typedef struct test_ksk {
	EVP_PKEY *key;             /* private key, in this process only */
	uint8_t alg;               /* DNSSEC algorithm: 8, 13, 14 or 15 */
	uint8_t dnskey[300];       /* DNSKEY RDATA, flags 257 */
	size_t dnskey_len;
	uint16_t tag;
} test_ksk;

/* Make an Ed25519 KSK; free with test_ksk_free. */
void test_ksk_new(test_ksk *k);

/* Make a KSK of algorithm alg (8: RSA-2048, 13, 14, 15); free with
 * test_ksk_free. */
void test_ksk_new_alg(test_ksk *k, uint8_t alg);
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
