/* test_sign.c -- signing on a real SoftHSM2 token: RRSIGs that verify, the
 * cache answering repeats without the HSM, verify-after-sign catching a
 * wrong key; and the key-signing request and bundle checks with a software
 * KSK in the ceremony's place. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "signer/internal.h"
#include "tests/lib/software_ksk.h"
#include "tests/lib/softhsm_fixture.h"
#include "tests/lib/tmpdir.h"

typedef struct env {
	softhsm_fixture *f;
	hsm_session *s;
	signer_zsk zsk;
	uint8_t dnskey[SIGNER_DNSKEY_MAX];
	size_t dnskey_len;
	EVP_PKEY *pub;
	dns_name apex;
	char dir[64];
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));
	if (!e || softhsm_fixture_create(true, &e->f) != SIGNET_OK)
		return -1;
	if (hsm_session_open(e->f->tok, &e->s, HSM_ERR) != SIGNET_OK)
		return -1;
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info info;
	if (hsm_key_label("zsk", "example.com.", HSM_ALG_ECDSAP256, 0, label, sizeof(label), HSM_ERR) ||
	    hsm_key_generate(e->f->tok, HSM_ALG_ECDSAP256, 0, label, &info, HSM_ERR) ||
	    hsm_key_public(e->f->tok, info.id, info.id_len, &e->pub, HSM_ERR))
		return -1;
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	if (dns_dnskey_pubkey_from_evp(13, e->pub, &pub) ||
	    dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, 13, pub.data, pub.len, &rd))
		return -1;
	memcpy(e->dnskey, rd.data, rd.len);
	e->dnskey_len = rd.len;
	memcpy(e->zsk.id, info.id, info.id_len);
	e->zsk.id_len = info.id_len;
	e->zsk.alg = 13;
	if (dns_key_tag(rd.data, rd.len, &e->zsk.key_tag))
		return -1;
	sg_buf_free(&pub);
	sg_buf_free(&rd);
	if (dns_name_from_str(&e->apex, "example.com."))
		return -1;
	if (test_tmpdir_make("signet-sign", e->dir, sizeof(e->dir)) != 0)
		return -1;
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;
	EVP_PKEY_free(e->pub);
	hsm_session_close(e->s);
	softhsm_fixture_destroy(e->f);
	int rc = test_tmpdir_remove(e->dir);
	free(e);
	return rc;
}

static void make_set(dns_rrset *s, const char *owner, uint8_t last)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, owner), SIGNET_OK);
	dns_rrset_init(s, &n, DNS_T_A, DNS_CLASS_IN, 300);
	uint8_t a[4] = {192, 0, 2, last};
	assert_int_equal(dns_rrset_add(s, a, 4), SIGNET_OK);
}

static void test_sign_cache_verify(void **state)
{
	env *e = *state;
	signer_cache *c = NULL;
	assert_int_equal(signer_cache_new(16, &c), SIGNET_OK);
	dns_rrset set;
	make_set(&set, "WWW.example.com.", 1);
	uint32_t now = (uint32_t)time(NULL);
	sg_buf r1 = SG_BUF_INIT, r2 = SG_BUF_INIT;
	bool cached = true;
	signer_zsk z = e->zsk;
	z.pub = e->pub;  /* verify after sign */
	assert_int_equal(
		signer_sign_rrset(&(signer_signing){e->s, c, &z, &e->apex, now - 3600, now + 86400},
				  &set, &r1, &cached, NULL, 0),
		SIGNET_OK);
	assert_false(cached);
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_from_rdata(&sig, r1.data, r1.len), SIGNET_OK);
	assert_int_equal(sig.type_covered, DNS_T_A);
	assert_int_equal(sig.labels, 3);
	assert_int_equal(sig.key_tag, e->zsk.key_tag);
	assert_int_equal(dns_rrsig_verify(&sig, &set, e->dnskey, e->dnskey_len, &e->apex, now),
			 SIGNET_OK);

	/* the same request again: the cache answers with the same octets
	 * (ECDSA would otherwise give a new signature) */
	assert_int_equal(
		signer_sign_rrset(&(signer_signing){e->s, c, &z, &e->apex, now - 3600, now + 86400},
				  &set, &r2, &cached, NULL, 0),
		SIGNET_OK);
	assert_true(cached);
	assert_int_equal(r1.len, r2.len);
	assert_memory_equal(r1.data, r2.data, r1.len);
	/* other window: a new signature */
	sg_buf_reset(&r2);
	assert_int_equal(
		signer_sign_rrset(&(signer_signing){e->s, c, &z, &e->apex, now - 3600, now + 86401},
				  &set, &r2, &cached, NULL, 0),
		SIGNET_OK);
	assert_false(cached);
	/* without a cache ECDSA signatures differ: the cache is what makes
	 * re-signing stable */
	sg_buf r3 = SG_BUF_INIT;
	assert_int_equal(signer_sign_rrset(&(signer_signing){e->s, NULL, &z, &e->apex, now - 3600,
							     now + 86400},
					   &set, &r3, &cached, NULL, 0),
			 SIGNET_OK);
	assert_false(cached);
	assert_memory_not_equal(r1.data, r3.data, r1.len);
	signer_cache_stats st;
	signer_cache_get_stats(c, &st);
	assert_int_equal(st.hits, 1);
	assert_int_equal(st.entries, 2);

	/* verify-after-sign with the wrong public key refuses the signature */
	EVP_PKEY *other = NULL;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_keygen_init(pc), 1);
	assert_int_equal(EVP_PKEY_CTX_set_group_name(pc, "P-256"), 1);
	assert_int_equal(EVP_PKEY_keygen(pc, &other), 1);
	EVP_PKEY_CTX_free(pc);
	z.pub = other;
	sg_buf_reset(&r3);
	assert_int_equal(signer_sign_rrset(&(signer_signing){e->s, NULL, &z, &e->apex, now - 3600,
							     now + 86400},
					   &set, &r3, NULL, NULL, 0),
			 SIGNET_EVERIFY);
	assert_int_equal(r3.len, 0);
	EVP_PKEY_free(other);

	/* an unknown key ID is an HSM error, not a crash */
	z.pub = NULL;
	z.id[0] ^= 0xff;
	assert_int_not_equal(signer_sign_rrset(&(signer_signing){e->s, NULL, &z, &e->apex,
								 now - 3600, now + 86400},
					       &set, &r3, NULL, NULL, 0),
			     SIGNET_OK);
	/* a window ending before it starts */
	assert_int_equal(
		signer_sign_rrset(&(signer_signing){e->s, NULL, &e->zsk, &e->apex, now, now - 10},
				  &set, &r3, NULL, NULL, 0),
		SIGNET_ETIME);
	sg_buf_free(&r1);
	sg_buf_free(&r2);
	sg_buf_free(&r3);
	dns_rrset_clear(&set);
	signer_cache_free(c);
}

static void add_mx(dns_rrset *s, uint16_t pref, const char *host)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, host), SIGNET_OK);
	uint8_t rd[2 + DNS_NAME_MAX];
	rd[0] = (uint8_t)(pref >> 8);
	rd[1] = (uint8_t)pref;
	memcpy(rd + 2, n.wire, n.len);
	assert_int_equal(dns_rrset_add(s, rd, 2 + (size_t)n.len), SIGNET_OK);
}

/* The canonical form made once (signer_canonical) gives the policy digest
 * of a copy canonicalised on its own, and RRSIGs that verify against the
 * signed data dnssec/ builds independently, a wildcard owner included;
 * the public path and the canonical path share cache keys. */
static void test_canonical_once(void **state)
{
	env *e = *state;
	uint32_t now = (uint32_t)time(NULL);
	signer_zsk z = e->zsk;
	z.pub = e->pub;
	const char *owners[] = {"*.Example.COM.", "Mail.example.com."};
	for (size_t o = 0; o < 2; o++) {
		dns_name n;
		assert_int_equal(dns_name_from_str(&n, owners[o]), SIGNET_OK);
		dns_rrset set;
		dns_rrset_init(&set, &n, DNS_T_MX, DNS_CLASS_IN, 600);
		/* unsorted, mixed case, and a duplicate once lower-cased */
		add_mx(&set, 20, "MX2.Example.com.");
		add_mx(&set, 10, "mx1.example.com.");
		add_mx(&set, 10, "MX1.EXAMPLE.COM.");

		dns_rrset ref;
		assert_int_equal(dns_rrset_copy(&ref, &set), SIGNET_OK);
		assert_int_equal(dns_rrset_canonicalize(&ref), SIGNET_OK);
		assert_int_equal(ref.count, 2);
		sg_buf wire = SG_BUF_INIT;
		assert_int_equal(dns_rrset_to_wire(&ref, ref.ttl, &wire), SIGNET_OK);
		uint8_t want[32];
		unsigned int dl = 0;
		assert_int_equal(EVP_Digest(wire.data, wire.len, want, &dl, EVP_sha256(), NULL), 1);

		dns_rrset canon;
		assert_int_equal(dns_rrset_copy(&canon, &set), SIGNET_OK);
		signer_scratch sc = {.md = NULL};
		uint8_t got[32], pd[32];
		assert_int_equal(signer_canonical(&canon, &sc, got), SIGNET_OK);
		assert_memory_equal(got, want, 32);
		assert_int_equal(sc.wire.len, wire.len);
		assert_memory_equal(sc.wire.data, wire.data, wire.len);
		assert_int_equal(signer_rrset_digest(&set, pd), SIGNET_OK);
		assert_memory_equal(pd, want, 32);

		signer_cache *c = NULL;
		assert_int_equal(signer_cache_new(4, &c), SIGNET_OK);
		sg_buf r1 = SG_BUF_INIT, r2 = SG_BUF_INIT;
		bool cached = true;
		assert_int_equal(signer_sign_canonical(&sc,
						       &(signer_signing){e->s, c, &z, &e->apex,
									 now - 3600, now + 86400},
						       &canon, &r1, &cached, NULL, NULL, 0),
				 SIGNET_OK);
		assert_false(cached);
		dns_rrsig sig;
		assert_int_equal(dns_rrsig_from_rdata(&sig, r1.data, r1.len), SIGNET_OK);
		assert_int_equal(sig.labels, o == 0 ? 2 : 3);
		/* the caller's set, in its own order and case */
		assert_int_equal(dns_rrsig_verify(&sig, &set, e->dnskey, e->dnskey_len, &e->apex,
						  now), SIGNET_OK);
		/* the public path finds what the canonical path stored */
		assert_int_equal(signer_sign_rrset(&(signer_signing){e->s, c, &z, &e->apex,
								     now - 3600, now + 86400},
						   &set, &r2, &cached, NULL, 0),
				 SIGNET_OK);
		assert_true(cached);
		assert_int_equal(r2.len, r1.len);
		assert_memory_equal(r2.data, r1.data, r1.len);
		sg_buf_free(&r1);
		sg_buf_free(&r2);
		signer_cache_free(c);
		signer_scratch_free(&sc);
		sg_buf_free(&wire);
		dns_rrset_clear(&ref);
		dns_rrset_clear(&canon);
		dns_rrset_clear(&set);
	}
}

/* The canonical path's refusals: missing arguments, RDATA that has no
 * canonical form, an RSA key that could not be checked. */
static void test_canonical_errors(void **state)
{
	env *e = *state;
	signer_scratch sc = {.md = NULL};
	dns_rrset set;
	make_set(&set, "www.example.com.", 1);
	uint8_t d[32];
	sg_buf out = SG_BUF_INIT;
	uint32_t now = (uint32_t)time(NULL);
	assert_int_equal(signer_canonical(NULL, &sc, d), SIGNET_EINVAL);
	assert_int_equal(signer_canonical(&set, NULL, d), SIGNET_EINVAL);
	assert_int_equal(signer_canonical(&set, &sc, NULL), SIGNET_OK);
	assert_int_equal(signer_sign_canonical(
				 NULL,
				 &(signer_signing){e->s, NULL, &e->zsk, &e->apex, now, now + 3600},
				 &set, &out, NULL, NULL, NULL, 0),
			 SIGNET_EINVAL);
	assert_int_equal(signer_sign_canonical(
				 &sc,
				 &(signer_signing){NULL, NULL, &e->zsk, &e->apex, now, now + 3600},
				 &set, &out, NULL, NULL, NULL, 0),
			 SIGNET_EINVAL);
	signer_zsk rsa = e->zsk;
	rsa.alg = DNS_ALG_RSASHA256;
	uint64_t ns = 1;
	assert_int_equal(signer_sign_canonical(
				 &sc,
				 &(signer_signing){e->s, NULL, &rsa, &e->apex, now, now + 3600},
				 &set, &out, NULL, &ns, NULL, 0),
			 SIGNET_EINVAL);
	assert_int_equal(ns, 0);
	assert_int_equal(out.len, 0);
	/* an MX whose name runs past its RDATA has no canonical form */
	dns_rrset bad;
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, "www.example.com."), SIGNET_OK);
	dns_rrset_init(&bad, &n, DNS_T_MX, DNS_CLASS_IN, 300);
	uint8_t rd[] = {0, 10, 5, 'a', 'b'};
	assert_int_equal(dns_rrset_add(&bad, rd, sizeof(rd)), SIGNET_OK);
	assert_int_not_equal(signer_canonical(&bad, &sc, d), SIGNET_OK);
	assert_int_not_equal(
		signer_sign_rrset(&(signer_signing){e->s, NULL, &e->zsk, &e->apex, now, now + 3600},
				  &bad, &out, NULL, NULL, 0),
		SIGNET_OK);
	assert_int_equal(out.len, 0);
	dns_rrset_clear(&bad);
	dns_rrset_clear(&set);
	signer_scratch_free(&sc);
	sg_buf_free(&out);
}

/* A zone in a fresh state store with e's ZSK and the software KSK k. */
static signer_state *zone_state(env *e, const test_ksk *k)
{
	signer_state *st = NULL;
	assert_int_equal(signer_state_open(e->dir, &st), SIGNET_OK);
	signer_policy p;
	signer_policy_defaults(&p);
	signer_key ksk;
	memset(&ksk, 0, sizeof(ksk));
	ksk.zone = e->apex;
	memcpy(ksk.role, "ksk", 4);
	ksk.alg = 15;
	ksk.key_tag = k->tag;
	ksk.state = SIGNER_KEY_PUBLISHED;
	memcpy(ksk.dnskey, k->dnskey, k->dnskey_len);
	ksk.dnskey_len = k->dnskey_len;
	assert_int_equal(signer_state_add_zone(st, &e->apex, &p, &ksk, 1), SIGNET_OK);
	signer_key zsk;
	memset(&zsk, 0, sizeof(zsk));
	zsk.zone = e->apex;
	memcpy(zsk.role, "zsk", 4);
	memcpy(zsk.id, e->zsk.id, e->zsk.id_len);
	zsk.id_len = e->zsk.id_len;
	zsk.alg = 13;
	zsk.key_tag = e->zsk.key_tag;
	zsk.state = SIGNER_KEY_GENERATED;
	memcpy(zsk.dnskey, e->dnskey, e->dnskey_len);
	zsk.dnskey_len = e->dnskey_len;
	assert_int_equal(signer_state_add_key(st, &zsk), SIGNET_OK);
	return st;
}

static void test_request_and_bundle(void **state)
{
	env *e = *state;
	test_ksk k, rogue;
	test_ksk_new(&k);
	test_ksk_new(&rogue);
	signer_state *st = zone_state(e, &k);
	int64_t start = (int64_t)time(NULL);
	dns_keyset req;
	assert_int_equal(signer_keyset_build_request(st, e->s, &e->apex, 30, start, 1, &req),
			 SIGNET_OK);
	/* 30 days in 7-day periods */
	assert_int_equal(req.count, 5);
	assert_int_equal(req.kind, DNS_KEYSET_REQUEST);
	for (size_t i = 0; i < req.count; i++) {
		dns_keyset_period *p = &req.periods[i];
		assert_int_equal(p->dnskey.count, 2);
		assert_int_equal(p->sigs.count, 1);
		assert_int_equal(p->expiration - p->inception, 7 * 86400);
		if (i)
			assert_int_equal(p->inception, req.periods[i - 1].expiration);
		/* the proof of possession verifies with the ZSK */
		dns_rrsig sig;
		assert_int_equal(dns_rrsig_from_rdata(&sig, p->sigs.rr[0].data, p->sigs.rr[0].len),
				 SIGNET_OK);
		assert_int_equal(dns_rrsig_verify(&sig, &p->dnskey, e->dnskey, e->dnskey_len,
						  &e->apex, 0), SIGNET_OK);
	}
	assert_non_null(signer_keyset_current(&req, (uint32_t)start));
	assert_ptr_equal(signer_keyset_current(&req, (uint32_t)start + 8 * 86400),
			 &req.periods[1]);
	assert_null(signer_keyset_current(&req, (uint32_t)start + 40 * 86400));
	assert_null(signer_keyset_current(&req, (uint32_t)start - 7200));

	sg_buf rtext = SG_BUF_INIT, btext = SG_BUF_INIT;
	assert_int_equal(dns_keyset_write(&req, &rtext), SIGNET_OK);
	test_ksk_make_bundle(&k, rtext.data, rtext.len, &btext);
	dns_keyset bundle;
	assert_int_equal(dns_keyset_parse((const char *)btext.data, btext.len, &bundle, NULL),
			 SIGNET_OK);
	signer_key *keys = NULL;
	size_t n = 0;
	assert_int_equal(signer_state_list_keys(st, &e->apex, 0, &keys, &n), SIGNET_OK);
	size_t nksk = 0;
	for (size_t i = 0; i < n; i++)
		if (strcmp(keys[i].role, "ksk") == 0)
			keys[nksk++] = keys[i];
	assert_int_equal(nksk, 1);
	char msg[256];
	signet_err okret = signer_keyset_check_bundle(&req, &bundle, keys, nksk, msg, sizeof(msg));
	if (okret != SIGNET_OK)
		fail_msg("good bundle refused: %s", msg);
	assert_int_equal(okret, SIGNET_OK);

	/* refused: wrong serial, the request given as a bundle, unknown KSK */
	bundle.serial = 2;
	assert_int_equal(signer_keyset_check_bundle(&req, &bundle, keys, nksk, msg, sizeof(msg)),
			 SIGNET_ESTATE);
	assert_non_null(strstr(msg, "serial"));
	bundle.serial = 1;
	assert_int_equal(signer_keyset_check_bundle(&req, &req, keys, nksk, msg, sizeof(msg)),
			 SIGNET_EPARSE);
	assert_int_equal(signer_keyset_check_bundle(&req, &bundle, keys, 0, msg, sizeof(msg)),
			 SIGNET_EVERIFY);
	assert_non_null(strstr(msg, "does not verify"));
	dns_keyset_free(&bundle);

	/* signed by a KSK that is not the zone's */
	sg_buf_reset(&btext);
	test_ksk_make_bundle(&rogue, rtext.data, rtext.len, &btext);
	assert_int_equal(dns_keyset_parse((const char *)btext.data, btext.len, &bundle, NULL),
			 SIGNET_OK);
	assert_int_equal(signer_keyset_check_bundle(&req, &bundle, keys, nksk, msg, sizeof(msg)),
			 SIGNET_EVERIFY);
	dns_keyset_free(&bundle);

	/* a bundle whose DNSKEY RRset differs from the request (a key slipped in),
	 * even though the KSK signed it */
	sg_buf_reset(&btext);
	test_ksk_make_bundle(&k, rtext.data, rtext.len, &btext);
	assert_int_equal(dns_keyset_parse((const char *)btext.data, btext.len, &bundle, NULL),
			 SIGNET_OK);
	dns_keyset_period *p0 = &bundle.periods[0];
	assert_int_equal(dns_rrset_add(&p0->dnskey, rogue.dnskey, rogue.dnskey_len), SIGNET_OK);
	dns_rrset_clear(&p0->sigs);
	test_ksk_sign(&k, &bundle.zone, &p0->dnskey, p0->inception, p0->expiration, &p0->sigs);
	assert_int_equal(signer_keyset_check_bundle(&req, &bundle, keys, nksk, msg, sizeof(msg)),
			 SIGNET_ESTATE);
	assert_non_null(strstr(msg, "differs"));
	dns_keyset_free(&bundle);

	/* a period whose only RRSIG covers less than the period */
	assert_int_equal(dns_keyset_parse((const char *)btext.data, btext.len, &bundle, NULL),
			 SIGNET_OK);
	p0 = &bundle.periods[0];
	dns_rrset_clear(&p0->sigs);
	test_ksk_sign(&k, &bundle.zone, &p0->dnskey, p0->inception + 60, p0->expiration,
		      &p0->sigs);
	assert_int_equal(signer_keyset_check_bundle(&req, &bundle, keys, nksk, msg, sizeof(msg)),
			 SIGNET_EVERIFY);
	assert_non_null(strstr(msg, "over the period"));
	dns_keyset_free(&bundle);

	free(keys);
	sg_buf_free(&rtext);
	sg_buf_free(&btext);
	dns_keyset_free(&req);

	/* a zone without a ZSK cannot make a request */
	dns_name z2;
	assert_int_equal(dns_name_from_str(&z2, "example.org."), SIGNET_OK);
	signer_policy p;
	signer_policy_defaults(&p);
	assert_int_equal(signer_state_add_zone(st, &z2, &p, NULL, 0), SIGNET_OK);
	assert_int_equal(signer_keyset_build_request(st, e->s, &z2, 30, start, 1, &req),
			 SIGNET_ESTATE);
	assert_int_equal(signer_keyset_build_request(st, e->s, &z2, 0, start, 1, &req),
			 SIGNET_EINVAL);
	signer_state_close(st);
	test_ksk_free(&k);
	test_ksk_free(&rogue);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_sign_cache_verify),
		cmocka_unit_test(test_canonical_once),
		cmocka_unit_test(test_canonical_errors),
		cmocka_unit_test(test_request_and_bundle),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
