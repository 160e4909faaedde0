/* test_objects.c -- data objects, public reads, object counts, SO PINs on SoftHSM2. */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <p11-kit/pkcs11.h>

#include "hsm/hsm.h"
#include "tests/lib/softhsm_fixture.h"

static sg_secret *secret_of(const char *s)
{
	sg_secret *p = NULL;
	assert_int_equal(sg_secret_new(strlen(s) + 1, &p), SIGNET_OK);
	memcpy(p->data, s, strlen(s));
	p->len = strlen(s);
	p->data[p->len] = '\0';
	return p;
}

static void read_expect(hsm_token *t, const char *label, bool priv, const char *want)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(hsm_data_read(t, label, priv, 1 << 16, &b, HSM_ERR), SIGNET_OK);
	assert_int_equal(b.len, strlen(want));
	assert_memory_equal(b.data, want, b.len);
	sg_buf_free(&b);
}

static void test_data_objects(void **state)
{
	softhsm_fixture *f = *state;
	size_t before = 0, after = 0;
	assert_int_equal(hsm_object_count(f->tok, &before, HSM_ERR), SIGNET_OK);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(hsm_data_read(f->tok, "state", true, 1 << 16, &b, HSM_ERR), SIGNET_ENOTFOUND);
	if (f->impl == SOFTHSM_IMPL_SOFTOKN) {
		/* softokn keeps no data object in its database, private or
		 * public (it makes CKO_DATA session objects only): refused by
		 * the token, named, nothing made. */
		for (int priv = 0; priv < 2; priv++) {
			assert_int_equal(hsm_data_write(f->tok, "state", priv,
							(const uint8_t *)"one", 3, HSM_ERR),
					 SIGNET_EUNSUPPORTED);
			assert_non_null(strstr(shf_errmsg, "keeps no data objects"));
			assert_non_null(strstr(shf_errmsg, "CKR_ATTRIBUTE_VALUE_INVALID"));
		}
		assert_int_equal(hsm_object_count(f->tok, &after, HSM_ERR), SIGNET_OK);
		assert_int_equal(after, before);
		return;
	}
	/* written, read back, replaced: one object per label and privacy */
	assert_int_equal(hsm_data_write(f->tok, "state", true, (const uint8_t *)"one", 3, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_data_write(f->tok, "state", false, (const uint8_t *)"pub", 3, HSM_ERR),
			 SIGNET_OK);
	read_expect(f->tok, "state", true, "one");
	read_expect(f->tok, "state", false, "pub");
	assert_int_equal(hsm_data_write(f->tok, "state", true, (const uint8_t *)"second", 6, HSM_ERR),
			 SIGNET_OK);
	read_expect(f->tok, "state", true, "second");
	assert_int_equal(hsm_object_count(f->tok, &after, HSM_ERR), SIGNET_OK);
	assert_int_equal(after, before + 2);
	/* a value larger than the reader allows */
	assert_int_equal(hsm_data_read(f->tok, "state", true, 3, &b, HSM_ERR), SIGNET_ERANGE);
	/* the public one without a login; the private one is not found so */
	char serial[17];
	sg_buf_reset(&b);
	assert_int_equal(hsm_data_read_public(f->ctx, f->label, "state", 1 << 16, &b, serial, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(b.len, 3);
	assert_memory_equal(b.data, "pub", 3);
	assert_string_equal(serial, f->serial);
	assert_int_equal(hsm_data_read_public(f->ctx, f->label, "nothing", 1 << 16, &b, NULL, HSM_ERR),
			 SIGNET_ENOTFOUND);
	assert_int_equal(hsm_data_read_public(f->ctx, "no-such-token", "state", 1 << 16, &b,
					      NULL, HSM_ERR), SIGNET_ENOTFOUND);
	/* bad arguments */
	assert_int_equal(hsm_data_write(f->tok, "", true, (const uint8_t *)"x", 1, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_data_write(NULL, "state", true, (const uint8_t *)"x", 1, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_data_read(f->tok, "bad\nlabel", true, 10, &b, HSM_ERR), SIGNET_EINVAL);
	sg_buf_free(&b);
}

/* Two objects of one label (an update interrupted between creating the new
 * object and destroying the old): refused, never one picked at random. */
static void test_two_of_a_label(void **state)
{
	softhsm_fixture *f = *state;
	assert_int_equal(hsm_data_write(f->tok, "twice", true, (const uint8_t *)"a", 1, HSM_ERR),
			 f->impl == SOFTHSM_IMPL_SOFTOKN ? SIGNET_EUNSUPPORTED : SIGNET_OK);
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
	CK_SESSION_HANDLE h;
	assert_int_equal(f->p11->C_OpenSession(d.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
					       NULL, &h), CKR_OK);
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_PRIVATE, &yes, sizeof(yes)},
		{CKA_LABEL, "twice", 5},
		{CKA_VALUE, "b", 1},
	};
	CK_OBJECT_HANDLE o;
	if (f->impl == SOFTHSM_IMPL_SOFTOKN) {
		/* no token data objects on softokn (test_data_objects): the
		 * first write failed, and so does the module's own */
		assert_int_equal(f->p11->C_CreateObject(h, tmpl, 5, &o), CKR_ATTRIBUTE_VALUE_INVALID);
		f->p11->C_CloseSession(h);
		return;
	}
	assert_int_equal(f->p11->C_CreateObject(h, tmpl, 5, &o), CKR_OK);
	f->p11->C_CloseSession(h);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(hsm_data_read(f->tok, "twice", true, 100, &b, HSM_ERR), SIGNET_ESTATE);
	assert_non_null(strstr(shf_errmsg, "more than one"));
	assert_int_equal(hsm_data_write(f->tok, "twice", true, (const uint8_t *)"c", 1, HSM_ERR),
			 SIGNET_ESTATE);
	sg_buf_free(&b);
}

static void test_so_init_pin(void **state)
{
	softhsm_fixture *f = *state;
	sg_secret *wrong = secret_of("not the SO PIN");
	sg_secret *next = secret_of("a-new-user-pin-1234");
	if (f->impl == SOFTHSM_IMPL_SOFTOKN) {
		/* softokn has no SO PIN: its SO logs in with the empty PIN, and
		 * only until the user PIN is set (the fixture's set-up); after
		 * that every SO login is CKR_USER_TYPE_INVALID. signet cannot
		 * even name the token by its serial (both of softokn's share it). */
		hsm_token_desc d;
		assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
		hsm_token_close(f->tok);
		f->tok = NULL;
		assert_int_equal(hsm_so_init_pin(f->ctx, f->serial, f->so_pin, NULL, next, NULL, HSM_ERR),
				 SIGNET_EINVAL);
		assert_non_null(strstr(shf_errmsg, "2 tokens carry the serial"));
		CK_SESSION_HANDLE h;
		assert_int_equal(f->p11->C_OpenSession(d.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
						       NULL, NULL, &h), CKR_OK);
		assert_int_equal(f->p11->C_Login(h, CKU_SO, f->so_pin->data, f->so_pin->len),
				 CKR_USER_TYPE_INVALID);
		assert_int_equal(f->p11->C_Login(h, CKU_SO, (CK_UTF8CHAR *)"", 0),
				 CKR_USER_TYPE_INVALID);
		assert_int_equal(f->p11->C_Login(h, CKU_SO, f->user_pin->data, f->user_pin->len),
				 CKR_USER_TYPE_INVALID);
		f->p11->C_CloseSession(h);
		sg_secret_free(wrong);
		sg_secret_free(next);
		return;
	}
	/* the user is logged in in this context: one login type at a time */
	assert_int_equal(hsm_so_init_pin(f->ctx, f->serial, f->so_pin, NULL, next, NULL, HSM_ERR), SIGNET_ESTATE);
	hsm_token_close(f->tok);
	f->tok = NULL;
	unsigned changed = 99;
	assert_int_equal(hsm_so_init_pin(f->ctx, f->serial, wrong, NULL, next, &changed, HSM_ERR),
			 SIGNET_EHSM_PIN);
	assert_int_equal(changed, 0);
	assert_int_equal(hsm_so_init_pin(f->ctx, "nosuchserial", f->so_pin, NULL, next, NULL, HSM_ERR),
			 SIGNET_ENOTFOUND);
	/* the SO sets a new user PIN and a new SO PIN */
	sg_secret *so2 = secret_of("a-new-so-pin-5678");
	assert_int_equal(hsm_so_init_pin(f->ctx, f->serial, f->so_pin, so2, next, &changed, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(changed, HSM_PIN_USER | HSM_PIN_SO);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(f->ctx, NULL, f->serial, f->user_pin, &t, HSM_ERR),
			 SIGNET_EHSM_PIN);
	assert_int_equal(hsm_token_open(f->ctx, NULL, f->serial, next, &t, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	assert_int_equal(hsm_so_init_pin(f->ctx, f->serial, f->so_pin, NULL, next, NULL, HSM_ERR),
			 SIGNET_EHSM_PIN);
	assert_int_equal(hsm_so_init_pin(f->ctx, f->serial, so2, NULL, f->user_pin, &changed, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(changed, HSM_PIN_USER);
	assert_int_equal(hsm_token_open(f->ctx, NULL, f->serial, f->user_pin, &f->tok, HSM_ERR),
			 SIGNET_OK);
	sg_secret_free(wrong);
	sg_secret_free(next);
	sg_secret_free(so2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_data_objects, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_two_of_a_label, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_so_init_pin, softhsm_setup, softhsm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
