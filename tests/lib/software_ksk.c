/* software_ksk.c -- a software KSK in the ceremony's place, for tests. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "tests/lib/software_ksk.h"

void test_ksk_new(test_ksk *k)
{
	memset(k, 0, sizeof(*k));
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(EVP_PKEY_ED25519, NULL);
	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_keygen_init(pc), 1);
	assert_int_equal(EVP_PKEY_keygen(pc, &k->key), 1);
	EVP_PKEY_CTX_free(pc);
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_dnskey_pubkey_from_evp(DNS_ALG_ED25519, k->key, &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE | DNS_DNSKEY_FLAG_SEP,
					  DNS_ALG_ED25519, pub.data, pub.len, &rd), SIGNET_OK);
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
	assert_int_equal(dns_rrsig_prepare(&sig, set, DNS_ALG_ED25519, k->tag, zone, inc, exp),
			 SIGNET_OK);
	sg_buf data = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_signed_data(&sig, set, &data), SIGNET_OK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t siglen = sizeof(sig.sig);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, k->key), 1);
	assert_int_equal(EVP_DigestSign(md, sig.sig, &siglen, data.data, data.len), 1);
	EVP_MD_CTX_free(md);
	sig.sig_len = (uint16_t)siglen;
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
