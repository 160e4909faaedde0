/* test_two_impls.c -- keys moved from SoftHSM2 towards NSS's softokn through the backup
 * path: what signet refuses there, and why (the module would hand the key out).
 *
 * Runs once, with a SoftHSM2 token and a softokn token in one process (two
 * modules, one context each); not repeated as a *_softokn entry. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>
#include <p11-kit/pkcs11.h>

#include "dnssec/dnssec.h"
#include "hsm/hsm.h"
#include "tests/lib/softhsm_fixture.h"

/* PKCS#11 3.0's name for RFC 5649; p11-kit's 2.40 header lacks it. */
#ifndef CKM_AES_KEY_WRAP_KWP
#define CKM_AES_KEY_WRAP_KWP 0x210bUL
#endif

static const uint8_t msg[] = "example.com. 3600 IN SOA moved between two implementations";

struct env {
	softhsm_fixture *hsm2; /* SoftHSM2: holds the domain and the keys */
	softhsm_fixture *nss;  /* softokn: where they are to go */
	sg_secret *domain;     /* the domain key (a test may hold it whole) */
	uint8_t domain_id[HSM_ID_LEN];
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return -1;
	if (softhsm_fixture_create_impl(SOFTHSM_IMPL_SOFTHSM2, false, &e->hsm2) != SIGNET_OK ||
	    softhsm_fixture_create_impl(SOFTHSM_IMPL_SOFTOKN, true, &e->nss) != SIGNET_OK ||
	    sg_secret_new(HSM_DOMAIN_KEY_LEN, &e->domain) != SIGNET_OK ||
	    RAND_priv_bytes(e->domain->data, HSM_DOMAIN_KEY_LEN) != 1)
		goto fail;
	e->domain->len = HSM_DOMAIN_KEY_LEN;
	softhsm_fixture *f = e->hsm2;
	if (hsm_domain_id(e->domain, e->domain_id, HSM_ERR) != SIGNET_OK ||
	    hsm_domain_install(f->ctx, f->serial, f->so_pin, e->domain, HSM_ERR) != SIGNET_OK ||
	    hsm_token_open(f->ctx, NULL, f->serial, f->user_pin, &f->tok, HSM_ERR) != SIGNET_OK)
		goto fail;
	hsm_token_set_wrappable_keys(f->tok, true);
	*state = e;
	return 0;
fail:
	fprintf(stderr, "two impls: set-up failed: %s\n", shf_errmsg);
	softhsm_fixture_destroy(e->nss);
	softhsm_fixture_destroy(e->hsm2);
	sg_secret_free(e->domain);
	free(e);
	return -1;
}

static int teardown(void **state)
{
	struct env *e = *state;
	softhsm_fixture_destroy(e->nss);
	softhsm_fixture_destroy(e->hsm2);
	sg_secret_free(e->domain);
	free(e);
	return 0;
}

/* A backup of a new key of alg made in SoftHSM2. */
static void backup_of(struct env *e, hsm_alg alg, hsm_backup *b, EVP_PKEY **pub)
{
	char label[HSM_LABEL_MAX + 1];
	hsm_key_info k;
	assert_int_equal(hsm_key_label("zsk", "example.com.", alg, (int64_t)time(NULL), label,
				       sizeof(label), HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_generate(e->hsm2->tok, alg, 0, label, &k, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_backup_make(e->hsm2->tok, e->domain_id, k.id, k.id_len, 1, b, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_backup_prove(e->hsm2->tok, b, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_public(e->hsm2->tok, k.id, k.id_len, pub, HSM_ERR), SIGNET_OK);
}

/* A read-write session of f's token (either module's), through its raw list. */
static CK_SESSION_HANDLE nss_session(softhsm_fixture *f)
{
	CK_SESSION_HANDLE h;
	assert_int_equal(f->p11->C_OpenSession(f->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
					       NULL, &h), CKR_OK);
	return h;
}

/* The domain's value as an AES session key of softokn's user: what a
 * domain there would amount to (any user can make one, and mark it
 * trusted). */
static CK_OBJECT_HANDLE nss_domain_copy(struct env *e, CK_SESSION_HANDLE h)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &no, sizeof(no)},
		{CKA_VALUE, e->domain->data, e->domain->len},
		{CKA_UNWRAP, &yes, sizeof(yes)},
		{CKA_TRUSTED, &yes, sizeof(yes)},
	};
	CK_OBJECT_HANDLE o;
	assert_int_equal(e->nss->p11->C_CreateObject(h, tmpl, 6, &o), CKR_OK);
	return o;
}

/* A SoftHSM2 backup of a new key, and what softokn needs to try its
 * unwrap: a session, the domain's value as a key there, and the template
 * signet restores a key with. Points into itself: not to be copied. */
#define RESTORE_N 5
typedef struct moved {
	hsm_backup b;
	EVP_PKEY *pub;
	CK_SESSION_HANDLE h;
	CK_OBJECT_HANDLE dom;
	CK_BBOOL yes, no;
	CK_OBJECT_CLASS cls; /* CKO_PRIVATE_KEY */
	CK_KEY_TYPE kt;
	/* a session object, sensitive, for signing: RESTORE_N attributes
	 * set, room for two more */
	CK_ATTRIBUTE restore[RESTORE_N + 2];
} moved;

static void moved_begin(struct env *e, hsm_alg alg, CK_KEY_TYPE kt, moved *m)
{
	backup_of(e, alg, &m->b, &m->pub);
	m->h = nss_session(e->nss);
	m->dom = nss_domain_copy(e, m->h);
	m->yes = CK_TRUE;
	m->no = CK_FALSE;
	m->cls = CKO_PRIVATE_KEY;
	m->kt = kt;
	const CK_ATTRIBUTE restore[RESTORE_N] = {
		{CKA_CLASS, &m->cls, sizeof(m->cls)},
		{CKA_KEY_TYPE, &m->kt, sizeof(m->kt)},
		{CKA_TOKEN, &m->no, sizeof(m->no)},
		{CKA_SENSITIVE, &m->yes, sizeof(m->yes)},
		{CKA_SIGN, &m->yes, sizeof(m->yes)},
	};
	memcpy(m->restore, restore, sizeof(restore));
}

static void moved_end(struct env *e, moved *m)
{
	e->nss->p11->C_CloseSession(m->h);
	EVP_PKEY_free(m->pub);
	hsm_backup_free(&m->b);
}

/* softokn's C_UnwrapKey of m's backup by mechanism mech into a key of the
 * first n attributes of tmpl. */
static CK_RV nss_unwrap(struct env *e, moved *m, CK_MECHANISM_TYPE mech, CK_ATTRIBUTE *tmpl,
			CK_ULONG n, CK_OBJECT_HANDLE *key)
{
	CK_MECHANISM mm = {mech, NULL, 0};
	return e->nss->p11->C_UnwrapKey(m->h, &mm, m->dom, m->b.wrapped.data, m->b.wrapped.len,
					tmpl, n, key);
}

/* Through signet: a SoftHSM2 backup does not go into softokn, and nothing
 * there changes; the public halves do move. */
static void test_signet_refuses(void **state)
{
	struct env *e = *state;
	hsm_token *nss = e->nss->tok;
	hsm_backup b;
	EVP_PKEY *pub = NULL;
	backup_of(e, HSM_ALG_ECDSAP256, &b, &pub);
	size_t before = 0, after = 0;
	assert_int_equal(hsm_object_count(nss, &before, HSM_ERR), SIGNET_OK);
	uint8_t id[HSM_ID_LEN];
	assert_int_equal(hsm_domain_find(nss, id, HSM_ERR), SIGNET_ENOTFOUND);
	assert_int_not_equal(hsm_backup_prove(nss, &b, HSM_ERR), SIGNET_OK);
	hsm_unwrap_spec spec = {b.alg, b.id, b.id_len, b.label};
	hsm_key_info k;
	assert_int_equal(hsm_key_unwrap(nss, e->domain_id, b.wrapped.data, b.wrapped.len, &spec,
					&k, HSM_ERR), SIGNET_ENOTFOUND);
	assert_int_equal(hsm_object_count(nss, &after, HSM_ERR), SIGNET_OK);
	assert_int_equal(after, before);
	/* the public half moves, unchanged */
	EVP_PKEY *back = NULL;
	assert_int_equal(hsm_key_import_public(nss, b.id, b.id_len, b.label, pub, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_public(nss, b.id, b.id_len, &back, HSM_ERR), SIGNET_OK);
	assert_int_equal(EVP_PKEY_eq(pub, back), 1);
	EVP_PKEY_free(back);
	EVP_PKEY_free(pub);
	hsm_backup_free(&b);
}

/* Why: the mechanism works across the two (RFC 5649 around PKCS#8, for
 * RSA), so a softokn token holding the domain could restore SoftHSM2's
 * backups; but softokn enforces no unwrap template, and the same unwrap
 * hands the private key out in the clear to anyone with its user PIN. */
static void test_mechanism_works_but_leaks(void **state)
{
	struct env *e = *state;
	moved m;
	moved_begin(e, HSM_ALG_RSASHA256, CKK_RSA, &m);
	CK_FUNCTION_LIST *p11 = e->nss->p11;
	CK_SESSION_HANDLE h = m.h;
	CK_OBJECT_HANDLE priv;
	/* one mechanism number, two algorithms: SoftHSM2's CKM_AES_KEY_WRAP_PAD
	 * is RFC 5649, softokn's is RFC 3394 with PKCS#7 padding (PKCS#11
	 * 2.40's own definition); softokn's RFC 5649 is CKM_AES_KEY_WRAP_KWP */
	assert_int_equal(nss_unwrap(e, &m, CKM_AES_KEY_WRAP_PAD, m.restore, RESTORE_N, &priv),
			 CKR_WRAPPED_KEY_INVALID);
	assert_int_equal(nss_unwrap(e, &m, CKM_AES_KEY_WRAP_KWP, m.restore, RESTORE_N, &priv),
			 CKR_OK);
	/* it signs in softokn, and the original public key verifies it */
	CK_MECHANISM rsa = {CKM_SHA256_RSA_PKCS, NULL, 0};
	uint8_t sig[HSM_SIG_MAX];
	CK_ULONG siglen = sizeof(sig);
	assert_int_equal(p11->C_SignInit(h, &rsa, priv), CKR_OK);
	assert_int_equal(p11->C_Sign(h, (CK_BYTE *)msg, sizeof(msg), sig, &siglen), CKR_OK);
	assert_int_equal(dns_signature_verify(HSM_ALG_RSASHA256, m.pub, msg, sizeof(msg), sig, siglen), SIGNET_OK);
	/* the same unwrap asked for a readable key: softokn obliges */
	CK_ATTRIBUTE open[] = {
		m.restore[0],
		m.restore[1],
		m.restore[2],
		{CKA_SENSITIVE, &m.no, sizeof(m.no)},
		{CKA_EXTRACTABLE, &m.yes, sizeof(m.yes)},
	};
	CK_OBJECT_HANDLE leaked;
	assert_int_equal(nss_unwrap(e, &m, CKM_AES_KEY_WRAP_KWP, open, 5, &leaked), CKR_OK);
	uint8_t d[512];
	CK_ATTRIBUTE exp = {CKA_PRIVATE_EXPONENT, d, sizeof(d)};
	assert_int_equal(p11->C_GetAttributeValue(h, leaked, &exp, 1), CKR_OK);
	/* the exponent of a 2048-bit key, without leading zero octets */
	assert_true(exp.ulValueLen > 128 && exp.ulValueLen <= 256);
	sg_wipe(d, sizeof(d));
	/* SoftHSM2 refuses that same request: its domain's unwrap template
	 * holds (hsm_test_backup, test_clone_and_attacks) */
	moved_end(e, &m);
}

/* An EC backup of SoftHSM2 does not even unwrap in softokn 3.87, whatever
 * the template (its own EC wraps neither): CKR_TEMPLATE_INCOMPLETE. */
static void test_ec_does_not_unwrap(void **state)
{
	struct env *e = *state;
	moved m;
	moved_begin(e, HSM_ALG_ECDSAP256, CKK_EC, &m);
	static const CK_BYTE p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
	m.restore[RESTORE_N] = (CK_ATTRIBUTE){CKA_ID, m.b.id, m.b.id_len};
	m.restore[RESTORE_N + 1] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)p256, sizeof(p256)};
	CK_OBJECT_HANDLE priv;
	assert_int_equal(nss_unwrap(e, &m, CKM_AES_KEY_WRAP_PAD, m.restore, RESTORE_N, &priv),
			 CKR_WRAPPED_KEY_INVALID);
	for (CK_ULONG n = RESTORE_N; n <= RESTORE_N + 2; n++)
		assert_int_equal(nss_unwrap(e, &m, CKM_AES_KEY_WRAP_KWP, m.restore, n, &priv),
				 CKR_TEMPLATE_INCOMPLETE);
	moved_end(e, &m);
}

/* OpenSSL's key wrap (enc 1) or unwrap (enc 0) by cipher of in under
 * kek: the judge of what each module's mechanisms compute. The length of
 * what came out. */
static size_t evp_wrap(const EVP_CIPHER *cipher, int enc, const uint8_t kek[32], const uint8_t *in,
		       size_t inlen, uint8_t *out)
{
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	assert_non_null(c);
	EVP_CIPHER_CTX_set_flags(c, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	int n = 0, m = 0;
	assert_int_equal(EVP_CipherInit_ex(c, cipher, NULL, kek, NULL, enc), 1);
	assert_int_equal(EVP_CipherUpdate(c, out, &n, in, (int)inlen), 1);
	assert_int_equal(EVP_CipherFinal_ex(c, out + n, &m), 1);
	EVP_CIPHER_CTX_free(c);
	return (size_t)(n + m);
}

/* OpenSSL's RFC 5649 wrap of in under kek. */
static size_t rfc5649(const uint8_t kek[32], const uint8_t *in, size_t inlen, uint8_t *out)
{
	return evp_wrap(EVP_aes_256_wrap_pad(), 1, kek, in, inlen, out);
}

/* A known secret wrapped under a known key by mechanism mech of f's module. */
static CK_RV module_wrap(softhsm_fixture *f, CK_MECHANISM_TYPE mech, const uint8_t kek[32],
			 const uint8_t *secret, size_t slen, uint8_t *out, CK_ULONG *outlen)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE aes = CKK_AES, gen = CKK_GENERIC_SECRET;
	CK_ATTRIBUTE k[] = {
		{CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &aes, sizeof(aes)},
		{CKA_TOKEN, &no, sizeof(no)},   {CKA_VALUE, (void *)kek, 32},
		{CKA_WRAP, &yes, sizeof(yes)},
	};
	CK_ATTRIBUTE v[] = {
		{CKA_CLASS, &cls, sizeof(cls)},	       {CKA_KEY_TYPE, &gen, sizeof(gen)},
		{CKA_TOKEN, &no, sizeof(no)},	       {CKA_VALUE, (void *)secret, slen},
		{CKA_EXTRACTABLE, &yes, sizeof(yes)}, {CKA_SENSITIVE, &no, sizeof(no)},
	};
	CK_SESSION_HANDLE h = nss_session(f);
	CK_OBJECT_HANDLE hk, hv;
	assert_int_equal(f->p11->C_CreateObject(h, k, 5, &hk), CKR_OK);
	assert_int_equal(f->p11->C_CreateObject(h, v, 6, &hv), CKR_OK);
	CK_MECHANISM m = {mech, NULL, 0};
	CK_RV rv = f->p11->C_WrapKey(h, &m, hk, hv, out, outlen);
	f->p11->C_CloseSession(h);
	return rv;
}

/* OpenSSL's RFC 3394 wrap of in after PKCS#7 padding to a multiple of 8:
 * PKCS#11 2.40's definition of CKM_AES_KEY_WRAP_PAD. */
static size_t rfc3394_pkcs7(const uint8_t kek[32], const uint8_t *in, size_t inlen, uint8_t *out)
{
	uint8_t padded[64];
	size_t pad = 8 - inlen % 8;
	assert_true(inlen + pad <= sizeof(padded));
	memcpy(padded, in, inlen);
	memset(padded + inlen, (int)pad, pad);
	return evp_wrap(EVP_aes_256_wrap(), 1, kek, padded, inlen + pad, out);
}

/* What CKM_AES_KEY_WRAP_PAD computes in each module, judged by OpenSSL's RFC
 * 5649. SoftHSM2 2.6.1: RFC 5649 of the input padded with zero octets to a
 * multiple of 8 (its length field counts them), so an RFC 5649 unwrap
 * elsewhere gives the key followed by up to 7 zero octets. softokn 3.87:
 * PKCS#11 2.40's definition, RFC 3394 after PKCS#7 padding; its
 * CKM_AES_KEY_WRAP_KWP is RFC 5649 exactly. */
static void test_wrap_pad_is_which(void **state)
{
	struct env *e = *state;
	uint8_t kek[32], secret[24], want[64], got[64], open[64];
	assert_int_equal(RAND_bytes(kek, sizeof(kek)), 1);
	assert_int_equal(RAND_bytes(secret, sizeof(secret)), 1);
	/* 24 octets, a multiple of 8: SoftHSM2's output is RFC 5649's */
	size_t wlen = rfc5649(kek, secret, 24, want);
	assert_int_equal(wlen, 32);
	CK_ULONG glen = sizeof(got);
	assert_int_equal(module_wrap(e->hsm2, CKM_AES_KEY_WRAP_PAD, kek, secret, 24, got, &glen),
			 CKR_OK);
	assert_int_equal(glen, wlen);
	assert_memory_equal(got, want, wlen);
	/* 20 octets: SoftHSM2's unwraps to 24, the last 4 zero */
	glen = sizeof(got);
	assert_int_equal(module_wrap(e->hsm2, CKM_AES_KEY_WRAP_PAD, kek, secret, 20, got, &glen),
			 CKR_OK);
	assert_int_equal(evp_wrap(EVP_aes_256_wrap_pad(), 0, kek, got, glen, open), 24);
	assert_memory_equal(open, secret, 20);
	static const uint8_t zeros[4];
	assert_memory_equal(open + 20, zeros, 4);
	/* softokn: CKM_AES_KEY_WRAP_PAD is not RFC 5649, CKM_AES_KEY_WRAP_KWP is */
	for (size_t len = 20; len <= 24; len += 4) {
		wlen = rfc5649(kek, secret, len, want);
		glen = sizeof(got);
		assert_int_equal(module_wrap(e->nss, CKM_AES_KEY_WRAP_PAD, kek, secret, len, got,
					     &glen), CKR_OK);
		assert_true(glen != wlen || memcmp(got, want, wlen) != 0);
		uint8_t alt[64];
		size_t alen = rfc3394_pkcs7(kek, secret, len, alt);
		assert_int_equal(glen, alen);
		assert_memory_equal(got, alt, alen);
		glen = sizeof(got);
		assert_int_equal(module_wrap(e->nss, CKM_AES_KEY_WRAP_KWP, kek, secret, len, got,
					     &glen), CKR_OK);
		assert_int_equal(glen, wlen);
		assert_memory_equal(got, want, wlen);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_signet_refuses, setup, teardown),
		cmocka_unit_test_setup_teardown(test_mechanism_works_but_leaks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_ec_does_not_unwrap, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wrap_pad_is_which, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
