/* test_verify.c -- verify-after-sign on a real SoftHSM2 RSA key: no RSA
 * signature leaves unverified, a wrong one is refused and never cached;
 * and which keys are verified under which settings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include <openssl/rsa.h>

#include "signer/internal.h"
#include "tests/lib/software_ksk.h"
#include "tests/lib/softhsm_fixture.h"

static void test_needed(void **state)
{
	(void)state;
	signer_policy p;
	signer_policy_defaults(&p);
	/* RSA: always, whatever the zone or the global setting says */
	for (int v = SIGNER_VERIFY_DEFAULT; v <= SIGNER_VERIFY_OFF; v++) {
		p.verify = (signer_verify)v;
		assert_true(signer_verify_needed(&p, DNS_ALG_RSASHA256, false));
		assert_true(signer_verify_needed(&p, DNS_ALG_RSASHA256, true));
	}
	assert_true(signer_verify_needed(NULL, DNS_ALG_RSASHA256, false));
	/* ECDSA and Ed25519: the zone decides, else the global setting */
	static const uint8_t others[] = {DNS_ALG_ECDSAP256SHA256, 14, DNS_ALG_ED25519};
	for (size_t i = 0; i < sizeof(others); i++) {
		p.verify = SIGNER_VERIFY_DEFAULT;
		assert_false(signer_verify_needed(&p, others[i], false));
		assert_true(signer_verify_needed(&p, others[i], true));
		p.verify = SIGNER_VERIFY_ON;
		assert_true(signer_verify_needed(&p, others[i], false));
		p.verify = SIGNER_VERIFY_OFF;
		assert_false(signer_verify_needed(&p, others[i], true));
	}
	/* the policy's algorithm (of new keys) does not matter, the key's does */
	p.verify = SIGNER_VERIFY_DEFAULT;
	p.algorithm = DNS_ALG_RSASHA256;
	assert_false(signer_verify_needed(&p, DNS_ALG_ECDSAP256SHA256, false));
}

typedef struct env {
	softhsm_fixture *f;
	hsm_session *s;
	signer_zsk zsk;
	EVP_PKEY *pub;
	dns_name apex;
} env;

static int setup(void **state)
{
	env *e = calloc(1, sizeof(*e));
	if (!e || softhsm_fixture_create(true, &e->f) != SIGNET_OK ||
	    hsm_session_open(e->f->tok, &e->s, HSM_ERR) != SIGNET_OK)
		return -1;
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info info;
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	if (hsm_key_label("zsk", "example.com.", HSM_ALG_RSASHA256, 0, label, sizeof(label), HSM_ERR) ||
	    hsm_key_generate(e->f->tok, HSM_ALG_RSASHA256, 2048, label, &info, HSM_ERR) ||
	    hsm_key_public(e->f->tok, info.id, info.id_len, &e->pub, HSM_ERR) ||
	    dns_dnskey_pubkey_from_evp(DNS_ALG_RSASHA256, e->pub, &pub) ||
	    dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, DNS_ALG_RSASHA256, pub.data, pub.len, &rd) ||
	    dns_key_tag(rd.data, rd.len, &e->zsk.key_tag) ||
	    dns_name_from_str(&e->apex, "example.com."))
		return -1;
	memcpy(e->zsk.id, info.id, info.id_len);
	e->zsk.id_len = info.id_len;
	e->zsk.alg = DNS_ALG_RSASHA256;
	sg_buf_free(&pub);
	sg_buf_free(&rd);
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	env *e = *state;
	EVP_PKEY_free(e->pub);
	hsm_session_close(e->s);
	softhsm_fixture_destroy(e->f);
	free(e);
	return 0;
}

static void a_set(dns_rrset *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, "www.example.com."), SIGNET_OK);
	dns_rrset_init(s, &n, DNS_T_A, DNS_CLASS_IN, 300);
	uint8_t a[4] = {192, 0, 2, 1};
	assert_int_equal(dns_rrset_add(s, a, 4), SIGNET_OK);
}

/* signer_sign_rrset as signetd's SignRRsets runs it (one canonical form,
 * then the signature), with *hsm_ns telling whether the HSM was reached. */
static signet_err sign_timed(hsm_session *s, signer_cache *c, const signer_zsk *z,
			     const dns_name *apex, const dns_rrset *set, uint32_t inception,
			     uint32_t expiration, sg_buf *out, bool *cached, uint64_t *hsm_ns)
{
	dns_rrset canon;
	signet_err ret = dns_rrset_copy(&canon, set);
	if (ret != SIGNET_OK)
		return ret;
	signer_scratch sc = {.md = NULL};
	ret = signer_canonical(&canon, &sc, NULL);
	if (ret == SIGNET_OK)
		ret = signer_sign_canonical(&sc,
					    &(signer_signing){s, c, z, apex, inception, expiration},
					    &canon, out, cached, hsm_ns, NULL, 0);
	signer_scratch_free(&sc);
	dns_rrset_clear(&canon);
	return ret;
}

static void test_rsa_never_unverified(void **state)
{
	env *e = *state;
	signer_cache *c = NULL;
	assert_int_equal(signer_cache_new(16, &c), SIGNET_OK);
	dns_rrset set;
	a_set(&set);
	uint32_t now = (uint32_t)time(NULL);
	sg_buf out = SG_BUF_INIT;
	bool cached = true;
	uint64_t ns = 99;

	/* no public key to check against: refused before the HSM is asked */
	signer_zsk z = e->zsk;
	z.pub = NULL;
	assert_int_equal(sign_timed(e->s, c, &z, &e->apex, &set, now - 3600, now + 86400,
				    &out, &cached, &ns),
			 SIGNET_EINVAL);
	assert_int_equal(out.len, 0);
	assert_int_equal(ns, 0);
	assert_int_equal(signer_sign_rrset(&(signer_signing){e->s, NULL, &z, &e->apex, now - 3600,
							     now + 86400},
					   &set, &out, NULL, NULL, 0),
			 SIGNET_EINVAL);
	assert_int_equal(out.len, 0);

	/* the wrong public key (another RSA key): the HSM signs, the check
	 * refuses, nothing is returned and nothing is cached */
	EVP_PKEY *other = EVP_RSA_gen(2048);
	assert_non_null(other);
	z.pub = other;
	assert_int_equal(sign_timed(e->s, c, &z, &e->apex, &set, now - 3600, now + 86400,
				    &out, &cached, &ns),
			 SIGNET_EVERIFY);
	assert_int_equal(out.len, 0);
	assert_true(ns > 0);
	signer_cache_stats st;
	signer_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 0);

	/* the right key: signed, verified, cached; the repeat is a cache hit
	 * that does not reach the HSM */
	z.pub = e->pub;
	assert_int_equal(sign_timed(e->s, c, &z, &e->apex, &set, now - 3600, now + 86400,
				    &out, &cached, &ns),
			 SIGNET_OK);
	assert_false(cached);
	assert_true(ns > 0);
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_from_rdata(&sig, out.data, out.len), SIGNET_OK);
	assert_int_equal(sig.algorithm, DNS_ALG_RSASHA256);
	assert_int_equal(sig.sig_len, 256);
	sg_buf again = SG_BUF_INIT;
	assert_int_equal(sign_timed(e->s, c, &z, &e->apex, &set, now - 3600, now + 86400,
				    &again, &cached, &ns),
			 SIGNET_OK);
	assert_true(cached);
	assert_int_equal(ns, 0);
	assert_int_equal(again.len, out.len);
	assert_memory_equal(again.data, out.data, out.len);
	signer_cache_get_stats(c, &st);
	assert_int_equal(st.entries, 1);
	assert_int_equal(st.hits, 1);

	/* measured: what verify-after-sign costs on RSA-2048 */
	struct timespec t0, t1;
	int n = 50;
	for (int pass = 0; pass < 2; pass++) {
		z.pub = pass ? e->pub : NULL;
		z.alg = pass ? DNS_ALG_RSASHA256 : 0;  /* alg 0: no RSA rule, no check */
		clock_gettime(CLOCK_MONOTONIC, &t0);
		for (int i = 0; i < n; i++) {
			sg_buf_reset(&again);
			signer_signing how = {e->s,     NULL,       &z,
					      &e->apex, now - 3600, now + 86400 + (uint32_t)i};
			signet_err r = signer_sign_rrset(&how, &set, &again, NULL, NULL, 0);
			/* with alg 0 the RDATA carries a bogus algorithm but the
			 * HSM still signs with the RSA key: same HSM work */
			assert_int_equal(r, SIGNET_OK);
		}
		clock_gettime(CLOCK_MONOTONIC, &t1);
		double us = ((double)(t1.tv_sec - t0.tv_sec) * 1e6 +
			     (double)(t1.tv_nsec - t0.tv_nsec) / 1e3) / n;
		print_message("RSA-2048 sign %s verify: %.0f us per RRSIG\n",
			      pass ? "with" : "without", us);
	}

	EVP_PKEY_free(other);
	sg_buf_free(&again);
	sg_buf_free(&out);
	dns_rrset_clear(&set);
	signer_cache_free(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_needed),
		cmocka_unit_test_setup_teardown(test_rsa_never_unverified, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
