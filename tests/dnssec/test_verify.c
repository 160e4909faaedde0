/* test_verify.c -- sign with OpenSSL keys, verify, and every way to fail. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>
#include <openssl/bn.h>
#include <openssl/ec.h>

#include "dnssec/dnssec.h"
#include "tests/lib/dnssec_testutil.h"

/* Sign data the way an HSM would, returning the DNSSEC encoding (ECDSA's
 * DER turned into r||s here, independently of the code under test). */
static void sign(uint8_t alg, EVP_PKEY *pk, const sg_buf *data, dns_rrsig *sig)
{
	const EVP_MD *md = alg == 8 || alg == 13 ? EVP_sha256() : alg == 14 ? EVP_sha384() : NULL;
	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	uint8_t out[1024];
	size_t olen = sizeof(out);
	assert_int_equal(EVP_DigestSignInit(ctx, NULL, md, NULL, pk), 1);
	assert_int_equal(EVP_DigestSign(ctx, out, &olen, data->data, data->len), 1);
	EVP_MD_CTX_free(ctx);
	if (alg == 13 || alg == 14) {
		size_t half = alg == 13 ? 32 : 48;
		const uint8_t *p = out;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)olen);
		assert_non_null(es);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig->sig, (int)half), (int)half);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig->sig + half, (int)half),
				 (int)half);
		ECDSA_SIG_free(es);
		sig->sig_len = (uint16_t)(2 * half);
	} else {
		memcpy(sig->sig, out, olen);
		sig->sig_len = (uint16_t)olen;
	}
}

struct fixture {
	uint8_t alg;
	EVP_PKEY *pk;
	sg_buf key;       /* DNSKEY RDATA */
	dns_rrset set;
	dns_rrsig sig;
	dns_name zone;
};

static void setup_fixture(struct fixture *f, uint8_t alg)
{
	sg_buf pub = SG_BUF_INIT, data = SG_BUF_INIT;
	uint16_t tag;
	memset(f, 0, sizeof(*f));
	f->alg = alg;
	f->pk = dt_generate(alg);
	assert_non_null(f->pk);
	assert_int_equal(dns_dnskey_pubkey_from_evp(alg, f->pk, &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, alg, pub.data, pub.len, &f->key),
			 SIGNET_OK);
	assert_int_equal(dns_key_tag(f->key.data, f->key.len, &tag), SIGNET_OK);
	f->zone = dt_name("Example.ORG.");
	dns_name owner = dt_name("WWW.example.org.");
	dns_rrset_init(&f->set, &owner, DNS_T_TXT, DNS_CLASS_IN, 300);
	assert_int_equal(dns_rrset_add(&f->set, (const uint8_t *)"\x05hello", 6), SIGNET_OK);
	assert_int_equal(dns_rrset_add(&f->set, (const uint8_t *)"\x05Hello", 6), SIGNET_OK);
	assert_int_equal(dns_rrsig_prepare(&f->sig, &f->set, alg, tag, &f->zone, 1000000,
					   2000000), SIGNET_OK);
	assert_int_equal(dns_rrsig_signed_data(&f->sig, &f->set, &data), SIGNET_OK);
	sign(alg, f->pk, &data, &f->sig);
	sg_buf_free(&pub);
	sg_buf_free(&data);
}

static void free_fixture(struct fixture *f)
{
	EVP_PKEY_free(f->pk);
	sg_buf_free(&f->key);
	dns_rrset_clear(&f->set);
}

static signet_err verify(struct fixture *f, uint32_t now)
{
	return dns_rrsig_verify(&f->sig, &f->set, f->key.data, f->key.len, &f->zone, now);
}

/* ldns's validator accepts what we signed: an implementation not ours. */
static void ldns_accepts(struct fixture *f)
{
	sg_buf rd = SG_BUF_INIT, wire = SG_BUF_INIT;
	ldns_rr_list *set = ldns_rr_list_new(), *keys = ldns_rr_list_new();
	ldns_rr *rrsig = NULL, *key = NULL;
	size_t pos;

	assert_int_equal(dns_rrsig_to_rdata(&f->sig, &rd), SIGNET_OK);
	const struct {
		const dns_name *owner;
		uint16_t type;
		const uint8_t *data;
		size_t len;
	} rrs[] = {
		{&f->set.owner, DNS_T_RRSIG, rd.data, rd.len},
		{&f->zone, DNS_T_DNSKEY, f->key.data, f->key.len},
		{&f->set.owner, f->set.type, f->set.rr[0].data, f->set.rr[0].len},
		{&f->set.owner, f->set.type, f->set.rr[1].data, f->set.rr[1].len},
	};
	for (size_t i = 0; i < 4; i++) {
		ldns_rr *rr = NULL;
		sg_buf_reset(&wire);
		assert_int_equal(sg_buf_append(&wire, rrs[i].owner->wire, rrs[i].owner->len),
				 SIGNET_OK);
		assert_int_equal(sg_buf_put_u16(&wire, rrs[i].type), SIGNET_OK);
		assert_int_equal(sg_buf_put_u16(&wire, DNS_CLASS_IN), SIGNET_OK);
		assert_int_equal(sg_buf_put_u32(&wire, 300), SIGNET_OK);
		assert_int_equal(sg_buf_put_u16(&wire, (uint16_t)rrs[i].len), SIGNET_OK);
		assert_int_equal(sg_buf_append(&wire, rrs[i].data, rrs[i].len), SIGNET_OK);
		pos = 0;
		assert_int_equal(ldns_wire2rr(&rr, wire.data, wire.len, &pos,
					      LDNS_SECTION_ANSWER), LDNS_STATUS_OK);
		if (i == 0)
			rrsig = rr;
		else if (i == 1)
			key = rr;
		else
			ldns_rr_list_push_rr(set, rr);
	}
	ldns_rr_list_push_rr(keys, key);
	ldns_status st = ldns_verify_rrsig_keylist_notime(set, rrsig, keys, NULL);
	if (st != LDNS_STATUS_OK)
		fail_msg("alg %u: ldns says %s", f->alg, ldns_get_errorstr_by_id(st));
	ldns_rr_list_deep_free(set);
	ldns_rr_list_deep_free(keys);
	ldns_rr_free(rrsig);
	sg_buf_free(&rd);
	sg_buf_free(&wire);
}

static void round_trip(uint8_t alg)
{
	struct fixture f;
	setup_fixture(&f, alg);

	assert_int_equal(verify(&f, 0), SIGNET_OK);
	assert_int_equal(verify(&f, 1000000), SIGNET_OK);
	assert_int_equal(verify(&f, 2000000), SIGNET_OK);
	assert_int_equal(dns_rrsig_verify(&f.sig, &f.set, f.key.data, f.key.len, NULL, 1500000),
			 SIGNET_OK);
	ldns_accepts(&f);

	/* Outside the window. */
	assert_int_equal(verify(&f, 999999), SIGNET_ETIME);
	assert_int_equal(verify(&f, 2000001), SIGNET_ETIME);

	/* A flipped byte in the signature. */
	f.sig.sig[0] ^= 0x80;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.sig.sig[0] ^= 0x80;
	f.sig.sig[f.sig.sig_len - 1] ^= 0x01;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.sig.sig[f.sig.sig_len - 1] ^= 0x01;

	/* A flipped byte in the RRset data, in the owner, in the TTL. */
	f.set.rr[1].data[3] ^= 0x01;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.set.rr[1].data[3] ^= 0x01;
	f.sig.original_ttl++;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.sig.original_ttl--;
	f.set.owner.wire[1] = 'v';
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.set.owner.wire[1] = 'W';
	/* Only case differs: still good (canonical form). */
	f.set.owner.wire[2] = 'w';
	assert_int_equal(verify(&f, 0), SIGNET_OK);

	/* Signature of the wrong length. */
	f.sig.sig_len--;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.sig.sig_len++;

	/* The RRSIG does not match the key or the zone. */
	f.sig.key_tag++;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.sig.key_tag--;
	dns_name other = dt_name("example.net.");
	assert_int_equal(dns_rrsig_verify(&f.sig, &f.set, f.key.data, f.key.len, &other, 0),
			 SIGNET_EVERIFY);
	f.sig.type_covered = DNS_T_A;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.sig.type_covered = DNS_T_TXT;
	f.sig.labels = 5;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.sig.labels = 3;
	/* Not a zone key. */
	f.key.data[0] = 0;
	f.key.data[1] = 0;
	uint16_t tag;
	assert_int_equal(dns_key_tag(f.key.data, f.key.len, &tag), SIGNET_OK);
	uint16_t saved = f.sig.key_tag;
	f.sig.key_tag = tag;
	assert_int_equal(verify(&f, 0), SIGNET_EVERIFY);
	f.sig.key_tag = saved;
	f.key.data[0] = 0x01;
	assert_int_equal(verify(&f, 0), SIGNET_OK);

	free_fixture(&f);
}

static void test_rsa(void **state)
{
	(void)state;
	round_trip(DNS_ALG_RSASHA256);
}

static void test_p256(void **state)
{
	(void)state;
	round_trip(DNS_ALG_ECDSAP256SHA256);
}

static void test_p384(void **state)
{
	(void)state;
	round_trip(DNS_ALG_ECDSAP384SHA384);
}

static void test_ed25519(void **state)
{
	(void)state;
	round_trip(DNS_ALG_ED25519);
}

static void test_mismatches(void **state)
{
	(void)state;
	struct fixture a, b;
	setup_fixture(&a, DNS_ALG_ECDSAP256SHA256);
	setup_fixture(&b, DNS_ALG_ED25519);

	/* The other algorithm's key, with the tag made to match. */
	uint16_t tag;
	assert_int_equal(dns_key_tag(b.key.data, b.key.len, &tag), SIGNET_OK);
	a.sig.key_tag = tag;
	assert_int_equal(dns_rrsig_verify(&a.sig, &a.set, b.key.data, b.key.len, NULL, 0),
			 SIGNET_EVERIFY);
	/* Another key of the same algorithm. */
	struct fixture c;
	setup_fixture(&c, DNS_ALG_ECDSAP256SHA256);
	assert_int_equal(dns_key_tag(c.key.data, c.key.len, &tag), SIGNET_OK);
	a.sig.key_tag = tag;
	assert_int_equal(dns_rrsig_verify(&a.sig, &a.set, c.key.data, c.key.len, NULL, 0),
			 SIGNET_EVERIFY);

	/* An algorithm signet does not verify. */
	a.sig.algorithm = 5;
	assert_int_equal(dns_rrsig_verify(&a.sig, &a.set, a.key.data, a.key.len, NULL, 0),
			 SIGNET_EUNSUPPORTED);
	/* A malformed DNSKEY. */
	a.sig.algorithm = 13;
	assert_int_equal(dns_rrsig_verify(&a.sig, &a.set, a.key.data, a.key.len - 1, NULL, 0),
			 SIGNET_EPARSE);
	assert_int_equal(dns_rrsig_verify(NULL, &a.set, a.key.data, a.key.len, NULL, 0),
			 SIGNET_EINVAL);

	/* dns_signature_verify: key and algorithm must agree. */
	uint8_t data[3] = {1, 2, 3}, sig[64] = {0};
	assert_int_equal(dns_signature_verify(15, a.pk, data, 3, sig, 64), SIGNET_EINVAL);
	assert_int_equal(dns_signature_verify(14, a.pk, data, 3, sig, 64), SIGNET_EINVAL);
	assert_int_equal(dns_signature_verify(8, b.pk, data, 3, sig, 64), SIGNET_EINVAL);
	assert_int_equal(dns_signature_verify(13, b.pk, data, 3, sig, 64), SIGNET_EINVAL);
	assert_int_equal(dns_signature_verify(7, a.pk, data, 3, sig, 64), SIGNET_EUNSUPPORTED);
	/* All-zero r and s, and wrong lengths. */
	assert_int_equal(dns_signature_verify(13, a.pk, data, 3, sig, 64), SIGNET_EVERIFY);
	assert_int_equal(dns_signature_verify(13, a.pk, data, 3, sig, 63), SIGNET_EVERIFY);
	assert_int_equal(dns_signature_verify(15, b.pk, data, 3, sig, 65 - 1 - 1), SIGNET_EVERIFY);
	assert_int_equal(dns_signature_verify(13, NULL, data, 3, sig, 64), SIGNET_EINVAL);

	free_fixture(&a);
	free_fixture(&b);
	free_fixture(&c);
}

static void test_window_wrap(void **state)
{
	(void)state;
	/* A window across the 2^32 wrap of the time fields (RFC 4034 §3.1.5). */
	struct fixture f;
	sg_buf data = SG_BUF_INIT;
	setup_fixture(&f, DNS_ALG_ED25519);
	f.sig.inception = 0xFFFFFF00u;
	f.sig.expiration = 0x00000100u;
	assert_int_equal(dns_rrsig_signed_data(&f.sig, &f.set, &data), SIGNET_OK);
	sign(f.alg, f.pk, &data, &f.sig);
	assert_int_equal(verify(&f, 0xFFFFFFF0u), SIGNET_OK);
	assert_int_equal(verify(&f, 0x00000010u), SIGNET_OK);
	assert_int_equal(verify(&f, 0x00000101u), SIGNET_ETIME);
	assert_int_equal(verify(&f, 0xFFFFFE00u), SIGNET_ETIME);
	/* Far away in either direction: undefined or outside, never valid. */
	assert_int_equal(verify(&f, 0x7FFFFF80u), SIGNET_ETIME);
	free_fixture(&f);
	sg_buf_free(&data);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rsa),
		cmocka_unit_test(test_p256),
		cmocka_unit_test(test_p384),
		cmocka_unit_test(test_ed25519),
		cmocka_unit_test(test_mismatches),
		cmocka_unit_test(test_window_wrap),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
