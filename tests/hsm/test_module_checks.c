/* test_module_checks.c -- what signet checks of a module itself, shown with
 * a module that lacks it: tests/p11fault in front of the real one hides a
 * key's boolean attributes (a key must not pass a check for want of a fact)
 * and computes CKM_AES_KEY_WRAP_PAD as PKCS#11 2.40 and NSS's softokn do (no
 * backup domain goes into such a token). On SoftHSM2 and on softokn; the
 * domain's checks on SoftHSM2 only (softokn holds none: test_backup). */
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
#include <p11-kit/pkcs11.h>

#include "hsm/hsm.h"
#include "tests/lib/p11fault_ctl.h"
#include "tests/lib/softhsm_fixture.h"

static const uint8_t msg[] = "example.com. 3600 IN A 192.0.2.1";

static void gen(softhsm_fixture *f, hsm_key_info *k)
{
	char label[HSM_LABEL_MAX + 1];
	assert_int_equal(hsm_key_label("zsk", "example.com.", HSM_ALG_ECDSAP256,
				       (int64_t)time(NULL), label, sizeof(label), HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_key_generate(f->tok, HSM_ALG_ECDSAP256, 0, label, k, HSM_ERR),
			 SIGNET_OK);
}

/* hsm_sign with a fresh session, so that no key is cached from before. */
static signet_err sign_once(softhsm_fixture *f, const hsm_key_info *k)
{
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen = 0;
	signet_err err = hsm_sign(s, k->id, k->id_len, msg, sizeof(msg), sig, sizeof(sig),
				  &siglen, HSM_ERR);
	hsm_session_close(s);
	return err;
}

/* Each flag the module does not report reads as the value that fails the
 * checks, and says so in info.absent; a key whose CKA_EXTRACTABLE is not
 * reported is not signed with. */
static void test_absent_key_flags(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token_set_session_copies(f->tok, false);
	hsm_key_info k, got;
	gen(f, &k);
	/* softokn does not report CKA_WRAP_WITH_TRUSTED of a key made without
	 * it (read as false: not wrappable, as the key is not) */
	uint32_t base = f->impl == SOFTHSM_IMPL_SOFTOKN ? HSM_KEY_ABSENT_WRAP_WITH_TRUSTED : 0;
	assert_int_equal(k.absent, base);
	assert_true(hsm_key_is_safe(&k));

	static const struct {
		const char *control;
		uint32_t bit;
	} cases[] = {
		{"absent=0x162", HSM_KEY_ABSENT_EXTRACTABLE},
		{"absent=0x164", HSM_KEY_ABSENT_NEVER_EXTRACTABLE},
		{"absent=0x103", HSM_KEY_ABSENT_SENSITIVE},
		{"absent=0x165", HSM_KEY_ABSENT_ALWAYS_SENSITIVE},
		{"absent=0x108", HSM_KEY_ABSENT_SIGN},
		{"absent=0x105", HSM_KEY_ABSENT_DECRYPT},
		{"absent=0x107", HSM_KEY_ABSENT_UNWRAP},
		{"absent=0x210", HSM_KEY_ABSENT_WRAP_WITH_TRUSTED},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		p11fault_set(cases[i].control);
		assert_int_equal(hsm_key_find(f->tok, k.id, k.id_len, &got, HSM_ERR), SIGNET_OK);
		assert_true(p11fault_count(".hits") > 0);
		assert_int_equal(got.absent, base | cases[i].bit);
		switch (cases[i].bit) {
		case HSM_KEY_ABSENT_DECRYPT:
		case HSM_KEY_ABSENT_UNWRAP:
			/* usable as before, but not "sign only" any more */
			assert_true(got.can_decrypt);
			break;
		case HSM_KEY_ABSENT_WRAP_WITH_TRUSTED:
			/* not wrappable, which a never-extractable key is not */
			assert_false(got.wrap_with_trusted);
			assert_true(hsm_key_is_safe(&got));
			break;
		default:
			assert_false(hsm_key_is_safe(&got));
		}
	}
	p11fault_set("absent=0x162");
	assert_int_equal(sign_once(f, &k), SIGNET_EHSM_KEY);
	p11fault_set("");
	assert_int_equal(sign_once(f, &k), SIGNET_OK);
}

static sg_secret *domain_key(void)
{
	sg_secret *k = NULL;
	assert_int_equal(sg_secret_new(HSM_DOMAIN_KEY_LEN, &k), SIGNET_OK);
	assert_int_equal(RAND_bytes(k->data, HSM_DOMAIN_KEY_LEN), 1);
	k->len = HSM_DOMAIN_KEY_LEN;
	return k;
}

/* A domain key whose CKA_COPYABLE (or any attribute of the rules) the
 * module does not report is not taken for one that is not copyable. */
static void test_absent_domain_flag(void **state)
{
	softhsm_fixture *f = *state;
	sg_secret *key = domain_key();
	hsm_token_close(f->tok);
	f->tok = NULL;
	assert_int_equal(hsm_domain_install(f->ctx, f->serial, f->so_pin, key, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_token_open(f->ctx, NULL, f->serial, f->user_pin, &f->tok, HSM_ERR),
			 SIGNET_OK);
	uint8_t id[HSM_ID_LEN];
	assert_int_equal(hsm_domain_find(f->tok, id, HSM_ERR), SIGNET_OK);
	p11fault_set("absent=0x171"); /* CKA_COPYABLE */
	assert_int_equal(hsm_domain_find(f->tok, id, HSM_ERR), SIGNET_EHSM_KEY);
	assert_non_null(strstr(shf_errmsg, "does not report copyable"));
	p11fault_set("absent=0x162"); /* CKA_EXTRACTABLE */
	assert_int_equal(hsm_domain_find(f->tok, id, HSM_ERR), SIGNET_EHSM_KEY);
	assert_non_null(strstr(shf_errmsg, "does not report extractable"));
	p11fault_set("");
	assert_int_equal(hsm_domain_find(f->tok, id, HSM_ERR), SIGNET_OK);
	sg_secret_free(key);
}

/* The known answer wrap_kat.c holds, computed here with OpenSSL: RFC 5649
 * of RFC 5649's 20-octet example key followed by 4 zero octets, under the
 * AES-256 KEK 0x00..0x1f (what SoftHSM2 computes); RFC 5649 proper and
 * RFC 3394 after PKCS#7 padding give other octets. */
static size_t wrap(const EVP_CIPHER *c, const uint8_t *in, size_t len, uint8_t out[64])
{
	uint8_t kek[32];
	for (int i = 0; i < 32; i++)
		kek[i] = (uint8_t)i;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	assert_non_null(x);
	EVP_CIPHER_CTX_set_flags(x, EVP_CIPHER_CTX_FLAG_WRAP_ALLOW);
	int n = 0, m = 0;
	assert_int_equal(EVP_EncryptInit_ex(x, c, NULL, kek, NULL), 1);
	assert_int_equal(EVP_EncryptUpdate(x, out, &n, in, (int)len), 1);
	assert_int_equal(EVP_EncryptFinal_ex(x, out + n, &m), 1);
	EVP_CIPHER_CTX_free(x);
	return (size_t)(n + m);
}

static void test_wrap_variants(void **state)
{
	(void)state;
	static const uint8_t key[24] = {0xc3, 0x7b, 0x7e, 0x64, 0x92, 0x58, 0x43, 0x40,
					0xbe, 0xd1, 0x22, 0x07, 0x80, 0x89, 0x41, 0x15,
					0x50, 0x68, 0xf7, 0x38}; /* 20 octets, 4 zeros */
	static const uint8_t softhsm2[32] = {
		0x43, 0x16, 0x32, 0xe1, 0x7c, 0x16, 0x51, 0x3f, 0xdc, 0xea, 0x0a,
		0x3a, 0xf7, 0xb1, 0x46, 0x1d, 0x1e, 0x80, 0xcd, 0x87, 0x05, 0xc1,
		0x01, 0x21, 0x86, 0x20, 0x1d, 0xc7, 0x23, 0x1c, 0x44, 0x92};
	uint8_t out[64], pkcs7[24];
	assert_int_equal(wrap(EVP_aes_256_wrap_pad(), key, 24, out), 32);
	assert_memory_equal(out, softhsm2, 32);
	assert_int_equal(wrap(EVP_aes_256_wrap_pad(), key, 20, out), 32);
	assert_memory_not_equal(out, softhsm2, 32);
	memcpy(pkcs7, key, 20);
	memset(pkcs7 + 20, 4, 4);
	assert_int_equal(wrap(EVP_aes_256_wrap(), pkcs7, 24, out), 32);
	assert_memory_not_equal(out, softhsm2, 32);
}

/* A module whose CKM_AES_KEY_WRAP_PAD is RFC 3394 after PKCS#7 padding
 * gets no domain, and nothing is left in its token; the same token takes
 * one once the module computes SoftHSM2's variant. */
static void test_wrap_pad_variant_refused(void **state)
{
	softhsm_fixture *f = *state;
	sg_secret *key = domain_key();
	size_t before = 0, after = 0;
	assert_int_equal(hsm_object_count(f->tok, &before, HSM_ERR), SIGNET_OK);
	hsm_token_close(f->tok);
	f->tok = NULL;
	p11fault_set("wrap_pad=pkcs7");
	assert_int_equal(hsm_domain_install(f->ctx, f->serial, f->so_pin, key, HSM_ERR),
			 SIGNET_EUNSUPPORTED);
	assert_non_null(strstr(shf_errmsg, "not the variant"));
	assert_int_equal(p11fault_count(".hits"), 1);
	p11fault_set("");
	assert_int_equal(hsm_token_open(f->ctx, NULL, f->serial, f->user_pin, &f->tok, HSM_ERR),
			 SIGNET_OK);
	uint8_t id[HSM_ID_LEN];
	assert_int_equal(hsm_domain_find(f->tok, id, HSM_ERR), SIGNET_ENOTFOUND);
	assert_int_equal(hsm_object_count(f->tok, &after, HSM_ERR), SIGNET_OK);
	assert_int_equal(after, before);
	hsm_token_close(f->tok);
	f->tok = NULL;
	assert_int_equal(hsm_domain_install(f->ctx, f->serial, f->so_pin, key, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_token_open(f->ctx, NULL, f->serial, f->user_pin, &f->tok, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_domain_find(f->tok, id, HSM_ERR), SIGNET_OK);
	sg_secret_free(key);
}

/* A fresh token with no fault in force (a failed test may leave one). */
static int setup(void **state)
{
	p11fault_set("");
	return softhsm_setup(state);
}

int main(void)
{
	softhsm_impl impl;
	if (softhsm_fixture_impl(&impl) != 0)
		return 1;
	/* p11fault wraps $SIGNET_SOFTHSM_MODULE; on softokn it wraps that
	 * module instead, named where the fixture looks for it. */
	const char *softokn = getenv("SIGNET_SOFTOKN_MODULE");
	char real[4096];
	if (impl == SOFTHSM_IMPL_SOFTOKN) {
		if (softokn == NULL)
			return 1;
		snprintf(real, sizeof(real), "%s", softokn);
		setenv("SIGNET_SOFTHSM_MODULE", real, 1);
	}
	if (p11fault_setup("modchecks") != 0)
		return 1;
	if (impl == SOFTHSM_IMPL_SOFTOKN)
		setenv("SIGNET_SOFTOKN_MODULE", getenv("SIGNET_SOFTHSM_MODULE"), 1);
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wrap_variants),
		cmocka_unit_test_setup_teardown(test_absent_key_flags, setup,
						softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_absent_domain_flag, setup,
						softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_wrap_pad_variant_refused, setup,
						softhsm_teardown),
	};
	const struct CMUnitTest softokn_tests[] = {
		cmocka_unit_test(test_wrap_variants),
		cmocka_unit_test_setup_teardown(test_absent_key_flags, setup,
						softhsm_teardown),
	};
	int rc = impl == SOFTHSM_IMPL_SOFTOKN ? cmocka_run_group_tests(softokn_tests, NULL, NULL)
					      : cmocka_run_group_tests(tests, NULL, NULL);
	p11fault_cleanup();
	return rc;
}
