/* test_keys.c -- key generation, attributes, labels, list/find/public/delete on a real SoftHSM2 token. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "hsm/hsm.h"
#include "tests/lib/softhsm_fixture.h"

static void make_label(hsm_alg alg, const char *owner, char *out)
{
	assert_int_equal(hsm_key_label("zsk", owner, alg, (int64_t)time(NULL), out,
				       HSM_LABEL_MAX + 1, HSM_ERR), SIGNET_OK);
}

/* A session of our own on the fixture's token, through the raw function
 * list: the login of the process covers it. */
static CK_SESSION_HANDLE raw_session(softhsm_fixture *f)
{
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
	CK_SESSION_HANDLE h;
	assert_int_equal(f->p11->C_OpenSession(d.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
					       NULL, NULL, &h), CKR_OK);
	return h;
}

static CK_OBJECT_HANDLE raw_find(softhsm_fixture *f, CK_SESSION_HANDLE h,
				 CK_OBJECT_CLASS cls, const uint8_t *id, size_t id_len)
{
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_ID, (void *)id, id_len},
	};
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG n = 0;
	assert_int_equal(f->p11->C_FindObjectsInit(h, tmpl, 2), CKR_OK);
	assert_int_equal(f->p11->C_FindObjects(h, objs, 2, &n), CKR_OK);
	assert_int_equal(f->p11->C_FindObjectsFinal(h), CKR_OK);
	assert_int_equal(n, 1);
	return objs[0];
}

static CK_BBOOL raw_bool(softhsm_fixture *f, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE o,
			 CK_ATTRIBUTE_TYPE type)
{
	CK_BBOOL v = 0x55;
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};
	assert_int_equal(f->p11->C_GetAttributeValue(h, o, &a, 1), CKR_OK);
	return v;
}

/* What the token itself says, asked without signet in between. */
static void check_raw_attributes(softhsm_fixture *f, const hsm_key_info *k)
{
	CK_SESSION_HANDLE h = raw_session(f);
	CK_OBJECT_HANDLE priv = raw_find(f, h, CKO_PRIVATE_KEY, k->id, k->id_len);
	assert_int_equal(raw_bool(f, h, priv, CKA_SENSITIVE), CK_TRUE);
	assert_int_equal(raw_bool(f, h, priv, CKA_EXTRACTABLE), CK_FALSE);
	assert_int_equal(raw_bool(f, h, priv, CKA_NEVER_EXTRACTABLE), CK_TRUE);
	assert_int_equal(raw_bool(f, h, priv, CKA_ALWAYS_SENSITIVE), CK_TRUE);
	assert_int_equal(raw_bool(f, h, priv, CKA_DECRYPT), CK_FALSE);
	assert_int_equal(raw_bool(f, h, priv, CKA_UNWRAP), CK_FALSE);
	assert_int_equal(raw_bool(f, h, priv, CKA_DERIVE), CK_FALSE);
	assert_int_equal(raw_bool(f, h, priv, CKA_SIGN), CK_TRUE);
	assert_int_equal(raw_bool(f, h, priv, CKA_TOKEN), CK_TRUE);
	assert_int_equal(raw_bool(f, h, priv, CKA_PRIVATE), CK_TRUE);

	/* The private value cannot be read, not even by us. */
	uint8_t value[1024];
	CK_ATTRIBUTE a = {k->alg == HSM_ALG_RSASHA256 ? CKA_PRIVATE_EXPONENT : CKA_VALUE,
			  value, sizeof(value)};
	assert_int_equal(f->p11->C_GetAttributeValue(h, priv, &a, 1), CKR_ATTRIBUTE_SENSITIVE);
	assert_int_equal(a.ulValueLen, CK_UNAVAILABLE_INFORMATION);
	if (k->alg == HSM_ALG_RSASHA256) {
		CK_ATTRIBUTE p = {CKA_PRIME_1, value, sizeof(value)};
		assert_int_equal(f->p11->C_GetAttributeValue(h, priv, &p, 1),
				 CKR_ATTRIBUTE_SENSITIVE);
	}
	/* Nor can it be wrapped out: it is not extractable. */
	CK_OBJECT_HANDLE pub = raw_find(f, h, CKO_PUBLIC_KEY, k->id, k->id_len);
	assert_int_equal(raw_bool(f, h, pub, CKA_VERIFY), CK_TRUE);
	assert_int_equal(raw_bool(f, h, pub, CKA_ENCRYPT), CK_FALSE);
	assert_int_equal(raw_bool(f, h, pub, CKA_WRAP), CK_FALSE);
	f->p11->C_CloseSession(h);
}

static void check_public(softhsm_fixture *f, const hsm_key_info *k)
{
	EVP_PKEY *pk = NULL;
	assert_int_equal(hsm_key_public(f->tok, k->id, k->id_len, &pk, HSM_ERR), SIGNET_OK);
	assert_non_null(pk);
	char group[64] = "";
	switch (k->alg) {
	case HSM_ALG_RSASHA256:
		assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_RSA);
		assert_int_equal(EVP_PKEY_get_bits(pk), (int)k->bits);
		BIGNUM *e = NULL;
		assert_int_equal(EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e), 1);
		assert_true(BN_is_word(e, 65537));
		BN_free(e);
		break;
	case HSM_ALG_ECDSAP256:
	case HSM_ALG_ECDSAP384:
		assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_EC);
		assert_int_equal(EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME,
								group, sizeof(group), NULL), 1);
		assert_string_equal(group, k->alg == HSM_ALG_ECDSAP256 ? "prime256v1" : "secp384r1");
		break;
	case HSM_ALG_ED25519:
		assert_int_equal(EVP_PKEY_get_base_id(pk), EVP_PKEY_ED25519);
		break;
	}
	EVP_PKEY_free(pk);
}

static void generate_and_check(softhsm_fixture *f, hsm_alg alg, unsigned rsa_bits,
			       unsigned want_bits, hsm_key_info *out)
{
	char label[HSM_LABEL_MAX + 1];
	make_label(alg, "example.com.", label);
	hsm_key_info k;
	assert_int_equal(hsm_key_generate(f->tok, alg, rsa_bits, label, &k, HSM_ERR), SIGNET_OK);
	assert_int_equal(k.id_len, HSM_ID_LEN);
	assert_string_equal(k.label, label);
	assert_int_equal(k.alg, alg);
	assert_int_equal(k.bits, want_bits);
	assert_true(k.has_private);
	assert_true(k.has_public);
	assert_true(k.sensitive);
	assert_false(k.extractable);
	assert_true(k.always_sensitive);
	assert_true(k.never_extractable);
	assert_true(k.can_sign);
	assert_false(k.can_decrypt);
	assert_true(hsm_key_is_safe(&k));

	hsm_key_info found;
	assert_int_equal(hsm_key_find(f->tok, k.id, k.id_len, &found, HSM_ERR), SIGNET_OK);
	assert_memory_equal(&found, &k, sizeof(k));
	check_raw_attributes(f, &k);
	check_public(f, &k);
	if (out != NULL)
		*out = k;
}

static void test_generate_rsa(void **state)
{
	generate_and_check(*state, HSM_ALG_RSASHA256, 0, 2048, NULL);
}

static void test_generate_rsa3072(void **state)
{
	generate_and_check(*state, HSM_ALG_RSASHA256, 3072, 3072, NULL);
}

static void test_generate_p256(void **state)
{
	generate_and_check(*state, HSM_ALG_ECDSAP256, 0, 256, NULL);
}

static void test_generate_p384(void **state)
{
	generate_and_check(*state, HSM_ALG_ECDSAP384, 0, 384, NULL);
}

static void test_generate_ed25519(void **state)
{
	softhsm_fixture *f = *state;
	if (f->impl == SOFTHSM_IMPL_SOFTOKN) {
		/* NSS 3.87's softokn has no CKM_EC_EDWARDS_KEY_PAIR_GEN: refused,
		 * named, and nothing left in the token. */
		char label[HSM_LABEL_MAX + 1];
		make_label(HSM_ALG_ED25519, "example.com.", label);
		hsm_key_info k;
		assert_int_equal(hsm_key_generate(f->tok, HSM_ALG_ED25519, 0, label, &k, HSM_ERR),
				 SIGNET_EUNSUPPORTED);
		assert_non_null(strstr(shf_errmsg, "CKR_MECHANISM_INVALID"));
		size_t n = 99;
		assert_int_equal(hsm_object_count(f->tok, &n, HSM_ERR), SIGNET_OK);
		assert_int_equal(n, 0);
		return;
	}
	generate_and_check(f, HSM_ALG_ED25519, 0, 256, NULL);
}

static void test_generate_ids_differ(void **state)
{
	softhsm_fixture *f = *state;
	hsm_key_info a, b;
	generate_and_check(f, HSM_ALG_ECDSAP256, 0, 256, &a);
	generate_and_check(f, HSM_ALG_ECDSAP256, 0, 256, &b);
	assert_memory_not_equal(a.id, b.id, HSM_ID_LEN);
}

/* A secp521r1 pair made behind signet's back: a key type signet does not
 * use, which listing must skip. */
static void raw_p521(softhsm_fixture *f)
{
	static const CK_BYTE p521[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x23};
	CK_BBOOL yes = CK_TRUE;
	CK_BYTE id[] = {0xee, 0xee};
	CK_ATTRIBUTE pub[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_EC_PARAMS, (void *)p521, sizeof(p521)},
		{CKA_ID, id, sizeof(id)},
	};
	CK_ATTRIBUTE priv[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_SIGN, &yes, sizeof(yes)},
		{CKA_ID, id, sizeof(id)},
	};
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_OBJECT_HANDLE a, b;
	CK_SESSION_HANDLE h = raw_session(f);
	assert_int_equal(f->p11->C_GenerateKeyPair(h, &mech, pub, 3, priv, 3, &a, &b), CKR_OK);
	f->p11->C_CloseSession(h);
}

static const hsm_key_info *by_id(const hsm_key_info *keys, size_t n, const uint8_t *id)
{
	for (size_t i = 0; i < n; i++)
		if (keys[i].id_len == HSM_ID_LEN && memcmp(keys[i].id, id, HSM_ID_LEN) == 0)
			return &keys[i];
	return NULL;
}

static void test_list_find_delete(void **state)
{
	softhsm_fixture *f = *state;
	hsm_key_info *keys = NULL;
	size_t n = 99;
	assert_int_equal(hsm_key_list(f->tok, &keys, &n, HSM_ERR), SIGNET_OK);
	assert_int_equal(n, 0);
	free(keys);

	hsm_key_info a, b;
	/* softokn has no Ed25519 (test_generate_ed25519): a P-256 key instead */
	if (f->impl == SOFTHSM_IMPL_SOFTOKN)
		generate_and_check(f, HSM_ALG_ECDSAP256, 0, 256, &a);
	else
		generate_and_check(f, HSM_ALG_ED25519, 0, 256, &a);
	generate_and_check(f, HSM_ALG_ECDSAP384, 0, 384, &b);
	raw_p521(f);

	assert_int_equal(hsm_key_list(f->tok, &keys, &n, HSM_ERR), SIGNET_OK);
	assert_int_equal(n, 2);
	const hsm_key_info *la = by_id(keys, n, a.id), *lb = by_id(keys, n, b.id);
	assert_non_null(la);
	assert_non_null(lb);
	assert_memory_equal(la, &a, sizeof(a));
	assert_memory_equal(lb, &b, sizeof(b));
	free(keys);

	assert_int_equal(hsm_key_delete(f->tok, a.id, a.id_len, HSM_ERR), SIGNET_OK);
	hsm_key_info x;
	assert_int_equal(hsm_key_find(f->tok, a.id, a.id_len, &x, HSM_ERR), SIGNET_ENOTFOUND);
	EVP_PKEY *pk = NULL;
	assert_int_equal(hsm_key_public(f->tok, a.id, a.id_len, &pk, HSM_ERR), SIGNET_ENOTFOUND);
	assert_null(pk);
	assert_int_equal(hsm_key_delete(f->tok, a.id, a.id_len, HSM_ERR), SIGNET_ENOTFOUND);
	assert_int_equal(hsm_key_list(f->tok, &keys, &n, HSM_ERR), SIGNET_OK);
	assert_int_equal(n, 1);
	assert_memory_equal(keys[0].id, b.id, HSM_ID_LEN);
	free(keys);
	/* The other key is untouched. */
	assert_int_equal(hsm_key_find(f->tok, b.id, b.id_len, &x, HSM_ERR), SIGNET_OK);
}

static void test_key_bad_args(void **state)
{
	softhsm_fixture *f = *state;
	uint8_t id[HSM_ID_MAX + 1] = {1};
	hsm_key_info k;
	EVP_PKEY *pk = NULL;
	hsm_key_info *keys = NULL;
	size_t n;
	assert_int_equal(hsm_key_find(f->tok, id, 16, &k, HSM_ERR), SIGNET_ENOTFOUND);
	assert_int_equal(hsm_key_find(f->tok, NULL, 16, &k, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_find(f->tok, id, 0, &k, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_find(f->tok, id, sizeof(id), &k, HSM_ERR), SIGNET_ERANGE);
	assert_int_equal(hsm_key_find(NULL, id, 16, &k, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_find(f->tok, id, 16, NULL, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_public(f->tok, id, sizeof(id), &pk, HSM_ERR), SIGNET_ERANGE);
	assert_int_equal(hsm_key_public(f->tok, id, 16, NULL, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_delete(f->tok, NULL, 0, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_list(NULL, &keys, &n, HSM_ERR), SIGNET_EINVAL);

	char label[HSM_LABEL_MAX + 1];
	make_label(HSM_ALG_ECDSAP256, "example.com.", label);
	assert_int_equal(hsm_key_generate(NULL, HSM_ALG_ECDSAP256, 0, label, &k, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_generate(f->tok, HSM_ALG_ECDSAP256, 0, NULL, &k, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_generate(f->tok, (hsm_alg)7, 0, label, &k, HSM_ERR), SIGNET_EUNSUPPORTED);
	make_label(HSM_ALG_RSASHA256, "example.com.", label);
	assert_int_equal(hsm_key_generate(f->tok, HSM_ALG_RSASHA256, 1024, label, &k, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_key_generate(f->tok, HSM_ALG_RSASHA256, 8192, label, &k, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_key_list(f->tok, &keys, &n, HSM_ERR), SIGNET_OK);
	assert_int_equal(n, 0);
	free(keys);
}

static void test_label_convention(void **state)
{
	(void)state;
	char out[HSM_LABEL_MAX + 1];
	struct tm tm = {.tm_year = 2026 - 1900, .tm_mon = 10, .tm_mday = 27,
			.tm_hour = 23, .tm_min = 45, .tm_sec = 0};
	int64_t when = (int64_t)timegm(&tm);
	assert_int_equal(hsm_key_label("zsk", "example.com.", HSM_ALG_ECDSAP256, when, out,
				       sizeof(out), HSM_ERR), SIGNET_OK);
	/* The example of hsm.h. */
	assert_string_equal(out, "signet:zsk:example.com.:13:20261127T234500Z");
	assert_int_equal(hsm_key_label("ksk", ".", HSM_ALG_RSASHA256, 0, out, sizeof(out), HSM_ERR),
			 SIGNET_OK);
	assert_string_equal(out, "signet:ksk:.:8:19700101T000000Z");

	assert_int_equal(hsm_key_label("z:sk", "a.", 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_label("ZSK", "a.", 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_label("", "a.", 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_label(NULL, "a.", 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_label("zsk", "a:b.", 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_label("zsk", "", 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_label("zsk", "a b.", 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_label("zsk", "a\n", 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_key_label("zsk", "a.", (hsm_alg)5, when, out, sizeof(out), HSM_ERR),
			 SIGNET_EUNSUPPORTED);
	assert_int_equal(hsm_key_label("zsk", "a.", 13, -1, out, sizeof(out), HSM_ERR), SIGNET_ERANGE);
	assert_int_equal(hsm_key_label("zsk", "a.", 13, when, out, 10, HSM_ERR), SIGNET_EINVAL);
	assert_string_equal(out, "");
	char owner[HSM_LABEL_MAX];
	memset(owner, 'a', sizeof(owner) - 1);
	owner[sizeof(owner) - 1] = '\0';
	assert_int_equal(hsm_key_label("zsk", owner, 13, when, out, sizeof(out), HSM_ERR), SIGNET_EINVAL);
}

static void test_generate_refuses_bad_labels(void **state)
{
	softhsm_fixture *f = *state;
	static const char *bad[] = {
		"",
		"mykey",
		"signet:zsk:example.com.:8:20261127T234500Z",   /* alg is 13 below */
		"signet:zsk:example.com.:13",
		"signet:zsk:example.com.:13:20261127T234500Z:x",
		"signet:ZSK:example.com.:13:20261127T234500Z",
		"signet::example.com.:13:20261127T234500Z",
		"signet:zsk::13:20261127T234500Z",
		"signet:zsk:example.com.:13:20261127 234500Z",
		"signet:zsk:example.com.:13:2026112XT234500Z",
		"signet:zsk:example.com.:13:20261127T234500",
		"signet:zsk:exa mple.com.:13:20261127T234500Z",
		"other:zsk:example.com.:13:20261127T234500Z",
	};
	hsm_key_info k;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(hsm_key_generate(f->tok, HSM_ALG_ECDSAP256, 0, bad[i], &k, HSM_ERR),
				 SIGNET_EINVAL);
		assert_non_null(strstr(shf_errmsg, "label"));
	}
	hsm_key_info *keys = NULL;
	size_t n = 99;
	assert_int_equal(hsm_key_list(f->tok, &keys, &n, HSM_ERR), SIGNET_OK);
	assert_int_equal(n, 0);
	free(keys);
	/* The good one passes. */
	assert_int_equal(hsm_key_generate(f->tok, HSM_ALG_ECDSAP256, 0,
					  "signet:zsk:example.com.:13:20261127T234500Z", &k, HSM_ERR),
			 SIGNET_OK);
}

/* A public object made outside signet with CKA_EC_POINT in the given form. */
static CK_RV raw_public_rv(softhsm_fixture *f, CK_KEY_TYPE kt, const uint8_t *params,
			   size_t plen, const uint8_t *point, size_t ptlen, const uint8_t *id,
			   size_t id_len)
{
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_VERIFY, &yes, sizeof(yes)},
		{CKA_EC_PARAMS, (void *)params, plen},
		{CKA_EC_POINT, (void *)point, ptlen},
		{CKA_ID, (void *)id, id_len},
	};
	CK_SESSION_HANDLE h = raw_session(f);
	CK_OBJECT_HANDLE o;
	CK_RV rv = f->p11->C_CreateObject(h, tmpl, 7, &o);
	f->p11->C_CloseSession(h);
	return rv;
}

static void raw_public(softhsm_fixture *f, CK_KEY_TYPE kt, const uint8_t *params,
		       size_t plen, const uint8_t *point, size_t ptlen, const uint8_t *id,
		       size_t id_len)
{
	assert_int_equal(raw_public_rv(f, kt, params, plen, point, ptlen, id, id_len), CKR_OK);
}

static void test_public_point_forms(void **state)
{
	softhsm_fixture *f = *state;
	static const uint8_t ed_oid[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
	static const uint8_t p256_oid[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03,
					   0x01, 0x07};
	/* Keys made by OpenSSL, so the expected public key is independent of
	 * the code under test. */
	EVP_PKEY *ed = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *ec = EVP_PKEY_Q_keygen(NULL, NULL, "EC", "P-256");
	assert_non_null(ed);
	assert_non_null(ec);
	uint8_t raw[32], wrapped[34], pt[65], wpt[67], bad[40];
	size_t rawlen = sizeof(raw), ptlen = 0;
	assert_int_equal(EVP_PKEY_get_raw_public_key(ed, raw, &rawlen), 1);
	assert_int_equal(EVP_PKEY_get_octet_string_param(ec, OSSL_PKEY_PARAM_PUB_KEY, pt,
							 sizeof(pt), &ptlen), 1);
	assert_int_equal(ptlen, 65);
	wrapped[0] = 0x04;
	wrapped[1] = 32;
	memcpy(wrapped + 2, raw, 32);
	wpt[0] = 0x04;
	wpt[1] = 65;
	memcpy(wpt + 2, pt, 65);
	memset(bad, 0x04, sizeof(bad));

	/* softokn knows no Edwards keys at all, not even as public objects:
	 * only the EC forms are checked there. */
	bool edwards = f->impl != SOFTHSM_IMPL_SOFTOKN;
	if (!edwards)
		assert_int_equal(raw_public_rv(f, CKK_EC_EDWARDS, ed_oid, sizeof(ed_oid), raw, 32,
					       (const uint8_t *)"ed-raw", 6),
				 CKR_ATTRIBUTE_VALUE_INVALID);
	if (edwards) {
		raw_public(f, CKK_EC_EDWARDS, ed_oid, sizeof(ed_oid), raw, 32,
			   (const uint8_t *)"ed-raw", 6);
		raw_public(f, CKK_EC_EDWARDS, ed_oid, sizeof(ed_oid), wrapped, 34,
			   (const uint8_t *)"ed-der", 6);
	}
	raw_public(f, CKK_EC, p256_oid, sizeof(p256_oid), pt, 65, (const uint8_t *)"ec-raw", 6);
	raw_public(f, CKK_EC, p256_oid, sizeof(p256_oid), wpt, 67, (const uint8_t *)"ec-der", 6);
	if (edwards)
		raw_public(f, CKK_EC_EDWARDS, ed_oid, sizeof(ed_oid), bad, sizeof(bad),
			   (const uint8_t *)"ed-bad", 6);
	/* A point that is not on the curve. */
	uint8_t off[65];
	memcpy(off, pt, 65);
	off[64] ^= 1;
	/* softokn checks the point when the object is made; SoftHSM2 stores it
	 * and signet's own check refuses it below. */
	if (f->impl == SOFTHSM_IMPL_SOFTOKN)
		assert_int_equal(raw_public_rv(f, CKK_EC, p256_oid, sizeof(p256_oid), off, 65,
					       (const uint8_t *)"ec-off", 6),
				 CKR_TEMPLATE_INCONSISTENT);
	else
		raw_public(f, CKK_EC, p256_oid, sizeof(p256_oid), off, 65,
			   (const uint8_t *)"ec-off", 6);

	static const char *ids[] = {"ed-raw", "ed-der", "ec-raw", "ec-der"};
	for (size_t i = edwards ? 0 : 2; i < 4; i++) {
		EVP_PKEY *got = NULL;
		assert_int_equal(hsm_key_public(f->tok, (const uint8_t *)ids[i], 6, &got, HSM_ERR), SIGNET_OK);
		assert_int_equal(EVP_PKEY_eq(got, i < 2 ? ed : ec), 1);
		EVP_PKEY_free(got);
	}
	EVP_PKEY *got = NULL;
	if (edwards) {
		assert_int_equal(hsm_key_public(f->tok, (const uint8_t *)"ed-bad", 6, &got, HSM_ERR),
				 SIGNET_EPARSE);
		assert_null(got);
		assert_non_null(strstr(shf_errmsg, "CKA_EC_POINT"));
	}
	assert_int_equal(hsm_key_public(f->tok, (const uint8_t *)"ec-off", 6, &got, HSM_ERR),
			 f->impl == SOFTHSM_IMPL_SOFTOKN ? SIGNET_ENOTFOUND : SIGNET_ECRYPTO);
	assert_null(got);
	/* Public halves alone are listed, without a private part. */
	hsm_key_info k;
	assert_int_equal(hsm_key_find(f->tok, (const uint8_t *)"ec-raw", 6, &k, HSM_ERR), SIGNET_OK);
	assert_true(k.has_public);
	assert_false(k.has_private);
	assert_false(hsm_key_is_safe(&k));
	EVP_PKEY_free(ed);
	EVP_PKEY_free(ec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_generate_rsa, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_generate_rsa3072, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_generate_p256, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_generate_p384, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_generate_ed25519, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_generate_ids_differ, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_list_find_delete, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_key_bad_args, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_public_point_forms, softhsm_setup, softhsm_teardown),
		cmocka_unit_test(test_label_convention),
		cmocka_unit_test_setup_teardown(test_generate_refuses_bad_labels, softhsm_setup,
						softhsm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
