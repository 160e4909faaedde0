/* test_module_checks.c -- what signet checks of a module itself, shown with
 * a module that lacks it: tests/p11fault in front of the real one hides a
 * key's boolean attributes (a key must not pass a check for want of a fact).
 * On SoftHSM2 and on softokn; the domain's checks on SoftHSM2 only (softokn
 * holds none: test_backup). */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

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
		cmocka_unit_test_setup_teardown(test_absent_key_flags, setup,
						softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_absent_domain_flag, setup,
						softhsm_teardown),
	};
	const struct CMUnitTest softokn_tests[] = {
		cmocka_unit_test_setup_teardown(test_absent_key_flags, setup,
						softhsm_teardown),
	};
	int rc = impl == SOFTHSM_IMPL_SOFTOKN ? cmocka_run_group_tests(softokn_tests, NULL, NULL)
					      : cmocka_run_group_tests(tests, NULL, NULL);
	p11fault_cleanup();
	return rc;
}
