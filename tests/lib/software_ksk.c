/* software_ksk.c -- a software KSK in the ceremony's place, for tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/ecdsa.h>
#include <openssl/rsa.h>

#include "tests/lib/software_ksk.h"

void test_ksk_new(test_ksk *k)
{
	test_ksk_new_alg(k, DNS_ALG_ED25519);
}

void test_ksk_new_alg(test_ksk *k, uint8_t alg)
{
	memset(k, 0, sizeof(*k));
	k->alg = alg;
	switch (alg) {
	case DNS_ALG_ED25519:
		k->key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
		break;
	case DNS_ALG_ECDSAP256SHA256:
		k->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
		break;
	case DNS_ALG_ECDSAP384SHA384:
		k->key = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-384");
		break;
	case DNS_ALG_RSASHA256:
		k->key = EVP_PKEY_Q_keygen(NULL, NULL, "RSA", (size_t)2048);
		break;
	default:
		fail_msg("test_ksk_new_alg: algorithm %u", alg);
	}
	assert_non_null(k->key);
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_dnskey_pubkey_from_evp(alg, k->key, &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE | DNS_DNSKEY_FLAG_SEP,
					  alg, pub.data, pub.len, &rd), SIGNET_OK);
	assert_true(rd.len <= sizeof(k->dnskey));
	memcpy(k->dnskey, rd.data, rd.len);
	k->dnskey_len = rd.len;
	assert_int_equal(dns_key_tag(rd.data, rd.len, &k->tag), SIGNET_OK);
	sg_buf_free(&pub);
	sg_buf_free(&rd);
}

void test_ksk_free(test_ksk *k)
{
	EVP_PKEY_free(k->key);
	k->key = NULL;
}

void test_ksk_sign(const test_ksk *k, const dns_name *zone, const dns_rrset *set,
		   uint32_t inc, uint32_t exp, dns_rrset *sigs)
{
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_prepare(&sig, set, k->alg, k->tag, zone, inc, exp),
			 SIGNET_OK);
	sg_buf data = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_signed_data(&sig, set, &data), SIGNET_OK);
	const EVP_MD *hash = k->alg == DNS_ALG_ED25519 ? NULL
			     : k->alg == DNS_ALG_ECDSAP384SHA384 ? EVP_sha384() : EVP_sha256();
	uint8_t der[1024];
	size_t derlen = sizeof(der);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_int_equal(EVP_DigestSignInit(md, NULL, hash, NULL, k->key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &derlen, data.data, data.len), 1);
	EVP_MD_CTX_free(md);
	if (k->alg == DNS_ALG_ECDSAP256SHA256 || k->alg == DNS_ALG_ECDSAP384SHA384) {
		/* OpenSSL gives ECDSA as DER; DNSSEC wants r and s, each padded
		 * to the curve's size (RFC 6605). */
		int half = k->alg == DNS_ALG_ECDSAP256SHA256 ? 32 : 48;
		const uint8_t *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)derlen);
		assert_non_null(es);
		assert_true((size_t)(2 * half) <= sizeof(sig.sig));
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.sig, half), half);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.sig + half, half), half);
		ECDSA_SIG_free(es);
		sig.sig_len = (uint16_t)(2 * half);
	} else {
		assert_true(derlen <= sizeof(sig.sig));
		memcpy(sig.sig, der, derlen);
		sig.sig_len = (uint16_t)derlen;
	}
	assert_int_equal(dns_rrsig_to_rdata(&sig, &rd), SIGNET_OK);
	assert_int_equal(dns_rrset_add(sigs, rd.data, rd.len), SIGNET_OK);
	sg_buf_free(&data);
	sg_buf_free(&rd);
}

void test_ksk_make_bundle(const test_ksk *k, const uint8_t *request, size_t len,
			  sg_buf *out)
{
	dns_keyset ks;
	unsigned line = 0;
	assert_int_equal(dns_keyset_parse((const char *)request, len, &ks, &line), SIGNET_OK);
	assert_int_equal(ks.kind, DNS_KEYSET_REQUEST);
	ks.kind = DNS_KEYSET_BUNDLE;
	for (size_t i = 0; i < ks.count; i++) {
		dns_keyset_period *p = &ks.periods[i];
		dns_rrset_clear(&p->sigs);
		const dns_rrset *sets[3] = {&p->dnskey, &p->cds, &p->cdnskey};
		for (int t = 0; t < 3; t++)
			if (sets[t]->count)
				test_ksk_sign(k, &ks.zone, sets[t], p->inception, p->expiration,
					      &p->sigs);
	}
	assert_int_equal(dns_keyset_write(&ks, out), SIGNET_OK);
	dns_keyset_free(&ks);
}
