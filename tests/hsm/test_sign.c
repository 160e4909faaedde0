/* test_sign.c -- signing with each algorithm on a real SoftHSM2 token, verified by OpenSSL. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "dnssec/dnssec.h"
#include "hsm/hsm.h"
#include "tests/lib/softhsm_fixture.h"

static const uint8_t msg[] = "example.com. 3600 IN A 192.0.2.1, in canonical form";

static void gen(softhsm_fixture *f, hsm_alg alg, hsm_key_info *k)
{
	char label[HSM_LABEL_MAX + 1];
	assert_int_equal(hsm_key_label("zsk", "example.com.", alg, (int64_t)time(NULL), label,
				       sizeof(label), HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_generate(f->tok, alg, 0, label, k, HSM_ERR), SIGNET_OK);
}

/* NSS 3.87's softokn has no Ed25519 (test_sign_ed25519 asserts the
 * refusal); the tests that run every algorithm run the other three there. */
static bool has_ed25519(const softhsm_fixture *f)
{
	return f->impl != SOFTHSM_IMPL_SOFTOKN;
}

static size_t expected_len(const hsm_key_info *k)
{
	switch (k->alg) {
	case HSM_ALG_RSASHA256:
		return k->bits / 8;
	case HSM_ALG_ECDSAP384:
		return 96;
	default:
		return 64;
	}
}

static void sign_and_verify(softhsm_fixture *f, hsm_alg alg, bool copies)
{
	hsm_token_set_session_copies(f->tok, copies);
	hsm_key_info k;
	gen(f, alg, &k);
	EVP_PKEY *pk = NULL;
	assert_int_equal(hsm_key_public(f->tok, k.id, k.id_len, &pk, HSM_ERR), SIGNET_OK);
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	assert_true(hsm_session_handle(s) != 0);
	uint8_t sig[HSM_SIG_MAX], sig2[HSM_SIG_MAX];
	size_t siglen = 0, siglen2 = 0;
	assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(siglen, expected_len(&k));
	assert_int_equal(dns_signature_verify(alg, pk, msg, sizeof(msg), sig, siglen), SIGNET_OK);
	/* Another message does not verify with this signature. */
	uint8_t other[sizeof(msg)];
	memcpy(other, msg, sizeof(msg));
	other[0] ^= 1;
	assert_int_not_equal(dns_signature_verify(alg, pk, other, sizeof(other), sig, siglen), SIGNET_OK);
	/* The second signature uses the cached handle and verifies as well. */
	assert_int_equal(hsm_sign(s, k.id, k.id_len, other, sizeof(other), sig2, sizeof(sig2),
				  &siglen2, HSM_ERR), SIGNET_OK);
	assert_int_equal(dns_signature_verify(alg, pk, other, sizeof(other), sig2, siglen2), SIGNET_OK);
	/* An empty message is a message too. */
	assert_int_equal(hsm_sign(s, k.id, k.id_len, NULL, 0, sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(dns_signature_verify(alg, pk, (const uint8_t *)"", 0, sig, siglen), SIGNET_OK);
	hsm_session_close(s);
	EVP_PKEY_free(pk);
}

static void test_sign_rsa(void **state) { sign_and_verify(*state, HSM_ALG_RSASHA256, true); }
static void test_sign_p256(void **state) { sign_and_verify(*state, HSM_ALG_ECDSAP256, true); }
static void test_sign_p384(void **state) { sign_and_verify(*state, HSM_ALG_ECDSAP384, true); }
static void test_sign_ed25519(void **state)
{
	softhsm_fixture *f = *state;
	if (!has_ed25519(f)) {
		char label[HSM_LABEL_MAX + 1];
		hsm_key_info k;
		assert_int_equal(hsm_key_label("zsk", "example.com.", HSM_ALG_ED25519, 1, label,
					       sizeof(label), HSM_ERR), SIGNET_OK);
		assert_int_equal(hsm_key_generate(f->tok, HSM_ALG_ED25519, 0, label, &k, HSM_ERR),
				 SIGNET_EUNSUPPORTED);
		assert_non_null(strstr(shf_errmsg, "CKR_MECHANISM_INVALID"));
		return;
	}
	sign_and_verify(f, HSM_ALG_ED25519, true);
}

static void test_sign_token_objects(void **state)
{
	softhsm_fixture *f = *state;
	sign_and_verify(f, HSM_ALG_RSASHA256, false);
	sign_and_verify(f, HSM_ALG_ECDSAP256, false);
	sign_and_verify(f, HSM_ALG_ECDSAP384, false);
	if (has_ed25519(f))
		sign_and_verify(f, HSM_ALG_ED25519, false);
}

/* A P-256 pair made through the raw function list with the protection
 * signet would never give a key. */
static void raw_unsafe_key(softhsm_fixture *f, const uint8_t *id, size_t id_len,
			   CK_BBOOL sensitive, CK_BBOOL extractable)
{
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE pub[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_VERIFY, &yes, sizeof(yes)},
		{CKA_EC_PARAMS, (void *)p256, sizeof(p256)},
		{CKA_ID, (void *)id, id_len},
	};
	CK_ATTRIBUTE priv[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_PRIVATE, &yes, sizeof(yes)},
		{CKA_SIGN, &yes, sizeof(yes)},
		{CKA_SENSITIVE, &sensitive, sizeof(sensitive)},
		{CKA_EXTRACTABLE, &extractable, sizeof(extractable)},
		{CKA_ID, (void *)id, id_len},
	};
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
	CK_SESSION_HANDLE h;
	assert_int_equal(f->p11->C_OpenSession(d.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
					       NULL, NULL, &h), CKR_OK);
	CK_OBJECT_HANDLE a, b;
	assert_int_equal(f->p11->C_GenerateKeyPair(h, &mech, pub, 4, priv, 6, &a, &b), CKR_OK);
	f->p11->C_CloseSession(h);
}

static void test_refuse_unsafe_keys(void **state)
{
	softhsm_fixture *f = *state;
	static const uint8_t ext_id[] = "extractable";
	static const uint8_t open_id[] = "not-sensitive";
	raw_unsafe_key(f, ext_id, sizeof(ext_id), CK_TRUE, CK_TRUE);
	raw_unsafe_key(f, open_id, sizeof(open_id), CK_FALSE, CK_FALSE);

	hsm_key_info k;
	assert_int_equal(hsm_key_find(f->tok, ext_id, sizeof(ext_id), &k, HSM_ERR), SIGNET_OK);
	assert_true(k.extractable);
	assert_false(hsm_key_is_safe(&k));
	assert_int_equal(hsm_key_find(f->tok, open_id, sizeof(open_id), &k, HSM_ERR), SIGNET_OK);
	/* softokn keeps no private key readable in its database: asked for
	 * CKA_SENSITIVE false it makes the key sensitive all the same, so there
	 * is no such key to refuse (nor, below, one that reveals its value). */
	bool keeps_open = f->impl != SOFTHSM_IMPL_SOFTOKN;
	assert_int_equal(k.sensitive, !keeps_open);
	if (keeps_open)
		assert_false(hsm_key_is_safe(&k));

	for (int copies = 0; copies < 2; copies++) {
		hsm_token_set_session_copies(f->tok, copies);
		hsm_session *s = NULL;
		assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
		uint8_t sig[HSM_SIG_MAX];
		size_t siglen = 99;
		assert_int_equal(hsm_sign(s, ext_id, sizeof(ext_id), msg, sizeof(msg), sig,
					  sizeof(sig), &siglen, HSM_ERR), SIGNET_EHSM_KEY);
		assert_int_equal(siglen, 0);
		assert_non_null(strstr(shf_errmsg, "extractable 1"));
		if (keeps_open) {
			assert_int_equal(hsm_sign(s, open_id, sizeof(open_id), msg, sizeof(msg),
						  sig, sizeof(sig), &siglen, HSM_ERR), SIGNET_EHSM_KEY);
			assert_non_null(strstr(shf_errmsg, "sensitive 0"));
		}
		/* Refused every time, not only on first lookup. */
		assert_int_equal(hsm_sign(s, ext_id, sizeof(ext_id), msg, sizeof(msg), sig,
					  sizeof(sig), &siglen, HSM_ERR), SIGNET_EHSM_KEY);
		hsm_session_close(s);
	}
	/* Allowing imported keys relaxes only always-sensitive/never-extractable:
	 * an extractable or readable key stays refused. */
	hsm_token_set_allow_imported(f->tok, true);
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen = 0;
	assert_int_equal(hsm_sign(s, ext_id, sizeof(ext_id), msg, sizeof(msg), sig,
				  sizeof(sig), &siglen, HSM_ERR), SIGNET_EHSM_KEY);
	if (keeps_open)
		assert_int_equal(hsm_sign(s, open_id, sizeof(open_id), msg, sizeof(msg), sig,
					  sizeof(sig), &siglen, HSM_ERR), SIGNET_EHSM_KEY);
	hsm_session_close(s);
	hsm_token_set_allow_imported(f->tok, false);

	/* The self-test's probe. PKCS#11 hides the value of a key that is
	 * sensitive or unextractable, so only a key that is neither shows it. */
	assert_int_equal(hsm_key_value_hidden(f->tok, open_id, sizeof(open_id), HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_value_hidden(f->tok, ext_id, sizeof(ext_id), HSM_ERR), SIGNET_OK);
	static const uint8_t bare_id[] = "readable";
	raw_unsafe_key(f, bare_id, sizeof(bare_id), CK_FALSE, CK_TRUE);
	if (keeps_open) {
		assert_int_equal(hsm_key_value_hidden(f->tok, bare_id, sizeof(bare_id), HSM_ERR),
				 SIGNET_EHSM_KEY);
		assert_non_null(strstr(shf_errmsg, "reveals"));
	} else {
		assert_int_equal(hsm_key_value_hidden(f->tok, bare_id, sizeof(bare_id), HSM_ERR),
				 SIGNET_OK);
	}
	static const uint8_t none[] = "no-such-key";
	assert_int_equal(hsm_key_value_hidden(f->tok, none, sizeof(none), HSM_ERR), SIGNET_ENOTFOUND);
}

static void test_generated_keys_hidden(void **state)
{
	softhsm_fixture *f = *state;
	static const hsm_alg algs[] = {HSM_ALG_RSASHA256, HSM_ALG_ECDSAP256,
				       HSM_ALG_ECDSAP384, HSM_ALG_ED25519};
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (algs[i] == HSM_ALG_ED25519 && !has_ed25519(f))
			continue;
		char label[HSM_LABEL_MAX + 1];
		hsm_key_info k;
		assert_int_equal(hsm_key_label("zsk", "hidden.test.", algs[i], 1, label,
					       sizeof(label), HSM_ERR), SIGNET_OK);
		assert_int_equal(hsm_key_generate(f->tok, algs[i], 0, label, &k, HSM_ERR), SIGNET_OK);
		assert_int_equal(hsm_key_value_hidden(f->tok, k.id, k.id_len, HSM_ERR), SIGNET_OK);
	}
}

static void test_sign_bad_args(void **state)
{
	softhsm_fixture *f = *state;
	hsm_key_info k;
	gen(f, HSM_ALG_RSASHA256, &k);
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(NULL, &s, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_session_open(f->tok, NULL, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen = 99;
	uint8_t big_id[HSM_ID_MAX + 1] = {0};
	assert_int_equal(hsm_sign(NULL, k.id, k.id_len, msg, sizeof(msg), sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(siglen, 0);
	assert_int_equal(hsm_sign(s, NULL, 16, msg, sizeof(msg), sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_sign(s, k.id, 0, msg, sizeof(msg), sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_sign(s, big_id, sizeof(big_id), msg, sizeof(msg), sig, sizeof(sig),
				  &siglen, HSM_ERR), SIGNET_ERANGE);
	assert_int_equal(hsm_sign(s, k.id, k.id_len, NULL, 5, sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), NULL, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), sig, sizeof(sig), NULL, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, (size_t)HSM_DATA_MAX + 1, sig,
				  sizeof(sig), &siglen, HSM_ERR), SIGNET_ERANGE);
	/* Unknown key. */
	assert_int_equal(hsm_sign(s, big_id, 16, msg, sizeof(msg), sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_ENOTFOUND);
	/* Too little room: refused, and the session is still good afterwards. */
	assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), sig, 255, &siglen, HSM_ERR),
			 SIGNET_ERANGE);
	assert_int_equal(siglen, 0);
	assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), sig, 256, &siglen, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(siglen, 256);
	hsm_session_close(s);
	hsm_session_close(NULL);
}

static void test_deleted_key_not_used(void **state)
{
	softhsm_fixture *f = *state;
	hsm_key_info k;
	gen(f, HSM_ALG_ECDSAP256, &k);
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen;
	assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_OK);
	/* The session holds a copy of the key; deleting the key ends it too. */
	assert_int_equal(hsm_key_delete(f->tok, k.id, k.id_len, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_ENOTFOUND);
	hsm_session_close(s);
}

static void test_session_limit(void **state)
{
	softhsm_fixture *f = *state;
	hsm_session **all = calloc(HSM_SESSIONS_MAX, sizeof(*all));
	assert_non_null(all);
	for (int i = 0; i < HSM_SESSIONS_MAX; i++)
		assert_int_equal(hsm_session_open(f->tok, &all[i], HSM_ERR), SIGNET_OK);
	hsm_session *extra = NULL;
	assert_int_equal(hsm_session_open(f->tok, &extra, HSM_ERR), SIGNET_ELIMIT);
	assert_null(extra);
	hsm_session_close(all[0]);
	assert_int_equal(hsm_session_open(f->tok, &all[0], HSM_ERR), SIGNET_OK);
	for (int i = 0; i < HSM_SESSIONS_MAX; i++)
		hsm_session_close(all[i]);
	free(all);
}

static void test_duplicate_id(void **state)
{
	softhsm_fixture *f = *state;
	static const uint8_t id[] = "twice";
	/* Two safe-looking pairs under one CKA_ID: which one would sign? */
	raw_unsafe_key(f, id, sizeof(id), CK_TRUE, CK_FALSE);
	raw_unsafe_key(f, id, sizeof(id), CK_TRUE, CK_FALSE);
	hsm_key_info k;
	if (f->impl == SOFTHSM_IMPL_SOFTOKN) {
		/* softokn makes no second pair: C_GenerateKeyPair with the CKA_ID
		 * of a pair it holds overwrites that pair's values in place (the
		 * same handles come back). One key, which signs; signet never
		 * generates onto an ID in use (hsm_key_generate checks first). */
		size_t n = 0;
		assert_int_equal(hsm_object_count(f->tok, &n, HSM_ERR), SIGNET_OK);
		assert_int_equal(n, 2);
		assert_int_equal(hsm_key_find(f->tok, id, sizeof(id), &k, HSM_ERR), SIGNET_OK);
		return;
	}
	assert_int_equal(hsm_key_find(f->tok, id, sizeof(id), &k, HSM_ERR), SIGNET_EHSM_KEY);
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen;
	assert_int_equal(hsm_sign(s, id, sizeof(id), msg, sizeof(msg), sig, sizeof(sig), &siglen, HSM_ERR),
			 SIGNET_EHSM_KEY);
	assert_non_null(strstr(shf_errmsg, "share this CKA_ID"));
	hsm_session_close(s);
}

/* ---- threads ---- */

#define THREADS 4
#define SIGS_PER_THREAD 150

struct worker {
	softhsm_fixture *f;
	const hsm_key_info *keys;   /* two keys, used alternately */
	EVP_PKEY **pks;
	atomic_int *bad;
	int signed_ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	hsm_session *s = NULL;
	if (hsm_session_open(w->f->tok, &s, NULL, 0) != SIGNET_OK) {
		atomic_fetch_add(w->bad, 1);
		return NULL;
	}
	for (int i = 0; i < SIGS_PER_THREAD; i++) {
		const hsm_key_info *k = &w->keys[i % 2];
		uint8_t data[64];
		snprintf((char *)data, sizeof(data), "worker %p message %d", (void *)w, i);
		size_t len = strlen((char *)data);
		uint8_t sig[HSM_SIG_MAX];
		size_t siglen = 0;
		if (hsm_sign(s, k->id, k->id_len, data, len, sig, sizeof(sig), &siglen, NULL, 0) !=
			    SIGNET_OK ||
		    dns_signature_verify(k->alg, w->pks[i % 2], data, len, sig, siglen) != SIGNET_OK)
			atomic_fetch_add(w->bad, 1);
		else
			w->signed_ok++;
	}
	hsm_session_close(s);
	return NULL;
}

static void test_threads(void **state)
{
	softhsm_fixture *f = *state;
	hsm_key_info keys[2];
	gen(f, HSM_ALG_ECDSAP256, &keys[0]);
	gen(f, has_ed25519(f) ? HSM_ALG_ED25519 : HSM_ALG_ECDSAP384, &keys[1]);
	EVP_PKEY *pks[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(hsm_key_public(f->tok, keys[i].id, keys[i].id_len, &pks[i], HSM_ERR),
				 SIGNET_OK);
	atomic_int bad = 0;
	struct worker w[THREADS];
	pthread_t th[THREADS];
	for (int i = 0; i < THREADS; i++) {
		w[i] = (struct worker){f, keys, pks, &bad, 0};
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	}
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	assert_int_equal(atomic_load(&bad), 0);
	for (int i = 0; i < THREADS; i++)
		assert_int_equal(w[i].signed_ok, SIGS_PER_THREAD);
	EVP_PKEY_free(pks[0]);
	EVP_PKEY_free(pks[1]);
}

/* ---- measurement: session-object copies against token objects ---- */

/* The session-object copies of key k the module holds now (seen through
 * a raw session of this process), each checked to be as protected as the
 * token key: sensitive, never extractable, its value unreadable. */
static unsigned long session_copies(softhsm_fixture *f, const hsm_key_info *k)
{
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
	CK_SESSION_HANDLE h;
	assert_int_equal(f->p11->C_OpenSession(d.slot, CKF_SERIAL_SESSION, NULL, NULL, &h),
			 CKR_OK);
	CK_BBOOL no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_ATTRIBUTE want[] = {
		{CKA_TOKEN, &no, sizeof(no)},
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_ID, (void *)k->id, k->id_len},
	};
	assert_int_equal(f->p11->C_FindObjectsInit(h, want, 3), CKR_OK);
	CK_OBJECT_HANDLE found[8];
	CK_ULONG n = 0;
	assert_int_equal(f->p11->C_FindObjects(h, found, 8, &n), CKR_OK);
	assert_int_equal(f->p11->C_FindObjectsFinal(h), CKR_OK);
	for (CK_ULONG i = 0; i < n; i++) {
		CK_BBOOL sens = CK_FALSE, ext = CK_TRUE, always = 0x55, never = 0x55;
		CK_ATTRIBUTE flags[] = {{CKA_SENSITIVE, &sens, sizeof(sens)},
					{CKA_EXTRACTABLE, &ext, sizeof(ext)},
					{CKA_ALWAYS_SENSITIVE, &always, sizeof(always)},
					{CKA_NEVER_EXTRACTABLE, &never, sizeof(never)}};
		assert_int_equal(f->p11->C_GetAttributeValue(h, found[i], flags, 4), CKR_OK);
		assert_true(sens == CK_TRUE);
		assert_true(ext == CK_FALSE);
		/* softokn resets the history of every copy (hsm/session.c accepts
		 * such a copy as protected as its original); SoftHSM2 keeps it. */
		CK_BBOOL history = f->impl == SOFTHSM_IMPL_SOFTOKN ? CK_FALSE : CK_TRUE;
		assert_int_equal(always, history);
		assert_int_equal(never, history);
		uint8_t value[1024];
		CK_ATTRIBUTE v = {CKA_VALUE, value, sizeof(value)};
		CK_ATTRIBUTE pe = {CKA_PRIVATE_EXPONENT, value, sizeof(value)};
		CK_ATTRIBUTE *secret = k->alg == HSM_ALG_RSASHA256 ? &pe : &v;
		assert_int_equal(f->p11->C_GetAttributeValue(h, found[i], secret, 1),
				 CKR_ATTRIBUTE_SENSITIVE);
	}
	f->p11->C_CloseSession(h);
	return (unsigned long)n;
}

/* Session copies (docs/BENCHMARKS.md measures their speed: bench_sign):
 * with them on, a session's first signature with a key makes exactly one
 * copy, as protected as the token key, later ones reuse it, and closing
 * the session destroys it; with them off, no copy is ever made. */
static void test_session_copies(void **state)
{
	softhsm_fixture *f = *state;
	static const hsm_alg algs[] = {HSM_ALG_ECDSAP256, HSM_ALG_ED25519, HSM_ALG_RSASHA256,
				       HSM_ALG_ECDSAP384};
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen;
	for (size_t i = 0; i < sizeof(algs) / sizeof(algs[0]); i++) {
		if (algs[i] == HSM_ALG_ED25519 && !has_ed25519(f))
			continue;
		hsm_key_info k;
		gen(f, algs[i], &k);
		EVP_PKEY *pk = NULL;
		assert_int_equal(hsm_key_public(f->tok, k.id, k.id_len, &pk, HSM_ERR), SIGNET_OK);

		hsm_token_set_session_copies(f->tok, true);
		hsm_session *s = NULL;
		assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
		assert_int_equal(session_copies(f, &k), 0);
		for (int round = 0; round < 3; round++) {
			assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), sig,
						  sizeof(sig), &siglen, HSM_ERR), SIGNET_OK);
			assert_int_equal(dns_signature_verify(algs[i], pk, msg, sizeof(msg), sig, siglen), SIGNET_OK);
			assert_int_equal(session_copies(f, &k), 1);
		}
		hsm_session_close(s);
		assert_int_equal(session_copies(f, &k), 0);

		hsm_token_set_session_copies(f->tok, false);
		assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
		assert_int_equal(hsm_sign(s, k.id, k.id_len, msg, sizeof(msg), sig, sizeof(sig),
					  &siglen, HSM_ERR), SIGNET_OK);
		assert_int_equal(dns_signature_verify(algs[i], pk, msg, sizeof(msg), sig, siglen), SIGNET_OK);
		assert_int_equal(session_copies(f, &k), 0);
		hsm_session_close(s);
		EVP_PKEY_free(pk);
	}
	hsm_token_set_session_copies(f->tok, true);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_sign_rsa, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_sign_p256, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_sign_p384, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_sign_ed25519, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_sign_token_objects, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_generated_keys_hidden, softhsm_setup,
						softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_refuse_unsafe_keys, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_sign_bad_args, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_id, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_deleted_key_not_used, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_session_limit, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_threads, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_session_copies, softhsm_setup,
						softhsm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
