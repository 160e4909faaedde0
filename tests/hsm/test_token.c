/* test_token.c -- module loading, token lookup, login and PIN paths on a real SoftHSM2 token
 * (and on NSS's softokn, where the differences are asserted as such). */

#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <p11-kit/pkcs11.h>

#include "hsm/hsm.h"
#include "tests/lib/softhsm_fixture.h"

static bool contains(const char *hay, const char *needle)
{
	return strstr(hay, needle) != NULL;
}

static sg_secret *secret_of(const char *s)
{
	sg_secret *p = NULL;
	assert_int_equal(sg_secret_new(strlen(s) + 1, &p), SIGNET_OK);
	memcpy(p->data, s, strlen(s));
	p->len = strlen(s);
	p->data[p->len] = '\0';
	return p;
}

/* The user PIN with its last character changed. */
static sg_secret *wrong_pin(const softhsm_fixture *f)
{
	sg_secret *p = secret_of((const char *)f->user_pin->data);
	p->data[p->len - 1] = p->data[p->len - 1] == 'x' ? 'y' : 'x';
	return p;
}

static void test_open_by_label(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &t, HSM_ERR), SIGNET_OK);
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(t, &d, HSM_ERR), SIGNET_OK);
	assert_string_equal(d.label, f->label);
	assert_string_equal(d.serial, f->serial);
	assert_true(d.initialized);
	assert_true(d.user_pin_initialized);
	assert_false(d.pin_locked);
	assert_true(contains(d.manufacturer, f->impl == SOFTHSM_IMPL_SOFTOKN ? "Mozilla Foundation"
							    : "SoftHSM"));
	hsm_token_close(t);
}

/* softokn's two tokens (the generic crypto one and the database one) both
 * carry the serial 0000000000000000, so a serial alone names neither. */
static bool serial_is_ambiguous(const softhsm_fixture *f)
{
	return f->impl == SOFTHSM_IMPL_SOFTOKN;
}

static void test_open_by_serial(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token *t = NULL;
	if (serial_is_ambiguous(f)) {
		assert_string_equal(f->serial, "0000000000000000");
		assert_int_equal(hsm_token_open(f->ctx, NULL, f->serial, f->user_pin, &t, HSM_ERR),
				 SIGNET_EINVAL);
		assert_null(t);
		assert_true(contains(shf_errmsg, "2 tokens carry the serial"));
		assert_true(contains(shf_errmsg, "label"));
		return;
	}
	/* The label is ignored when a serial is given. */
	assert_int_equal(hsm_token_open(f->ctx, "no-such-label", f->serial, f->user_pin, &t, HSM_ERR),
			 SIGNET_OK);
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(t, &d, HSM_ERR), SIGNET_OK);
	assert_string_equal(d.label, f->label);
	assert_string_equal(d.serial, f->serial);
	hsm_token_close(t);
}

static void test_unknown_token(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token *t = (hsm_token *)f;  /* must be reset to NULL */
	assert_int_equal(hsm_token_open(f->ctx, "no-such-label", NULL, f->user_pin, &t, HSM_ERR),
			 SIGNET_ENOTFOUND);
	assert_null(t);
	assert_true(contains(shf_errmsg, "no-such-label"));
	assert_int_equal(hsm_token_open(f->ctx, NULL, "nosuchserial0000", f->user_pin, &t, HSM_ERR),
			 SIGNET_ENOTFOUND);
	assert_true(contains(shf_errmsg, "serial"));
}

static void test_wrong_pin(void **state)
{
	softhsm_fixture *f = *state;
	sg_secret *bad = wrong_pin(f);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, bad, &t, HSM_ERR), SIGNET_EHSM_PIN);
	assert_null(t);
	const char *msg = shf_errmsg;
	assert_true(contains(msg, "C_Login"));
	assert_true(contains(msg, "CKR_PIN_INCORRECT"));
	assert_true(contains(msg, f->label));
	/* The message names the failure, never the PIN. */
	assert_false(contains(msg, (const char *)bad->data));
	assert_false(contains(msg, (const char *)f->user_pin->data));
	/* One failure is below the limit: the right PIN still opens it. */
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &t, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	sg_secret_free(bad);
}

static void test_login_limit(void **state)
{
	softhsm_fixture *f = *state;
	sg_secret *bad = wrong_pin(f);
	hsm_token *t = NULL;
	for (int i = 0; i < HSM_LOGIN_FAILURES_MAX; i++)
		assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, bad, &t, HSM_ERR), SIGNET_EHSM_PIN);
	/* Past the limit this process stops trying, even with the right PIN:
	 * a real HSM would be close to locking the PIN by now. */
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &t, HSM_ERR),
			 SIGNET_EHSM_LOCKED);
	assert_null(t);
	assert_true(contains(shf_errmsg, "not attempted"));
	/* A fresh context (a restart) may try again. */
	hsm_close(f->ctx);
	f->ctx = NULL;
	assert_int_equal(softhsm_fixture_open_module(f, &f->ctx), SIGNET_OK);
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &t, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	sg_secret_free(bad);
}

static void test_list_tokens(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token_desc *d = NULL;
	size_t n = 0;
	assert_int_equal(hsm_list_tokens(f->ctx, &d, &n, HSM_ERR), SIGNET_OK);
	assert_true(n >= 2);  /* ours, and SoftHSM2's spare uninitialised slot */
	size_t ours = 0, blank = 0, other = 0;
	for (size_t i = 0; i < n; i++) {
		if (d[i].initialized && strcmp(d[i].label, f->label) == 0) {
			ours++;
			assert_string_equal(d[i].serial, f->serial);
			assert_true(d[i].user_pin_initialized);
		} else if (d[i].initialized) {
			other++;
			/* softokn: its crypto token, with our token's serial */
			assert_string_equal(d[i].label, "NSS Generic Crypto Services");
			assert_string_equal(d[i].serial, f->serial);
		}
		if (!d[i].initialized)
			blank++;
	}
	assert_int_equal(ours, 1);
	if (f->impl == SOFTHSM_IMPL_SOFTOKN) {
		/* softokn has no spare token: its two are fixed by its parameters */
		assert_int_equal(n, 2);
		assert_int_equal(other, 1);
		assert_int_equal(blank, 0);
	} else {
		assert_int_equal(other, 0);
		assert_true(blank >= 1);
	}
	free(d);
	assert_int_equal(hsm_list_tokens(NULL, &d, &n, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_list_tokens(f->ctx, NULL, &n, HSM_ERR), SIGNET_EINVAL);
}

static void test_pin_sources(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token *t = NULL;
	sg_secret *pin = NULL;

	char path[512];
	assert_int_equal(softhsm_fixture_pin_file(f, "user.pin", path, sizeof(path)), SIGNET_OK);
	assert_int_equal(sg_secret_from_file(path, &pin), SIGNET_OK);
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, pin, &t, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	sg_secret_free(pin);

	char spec[600];
	snprintf(spec, sizeof(spec), "file:%s", path);
	assert_int_equal(sg_secret_from_spec(spec, &pin), SIGNET_OK);
	assert_int_equal(hsm_token_open(f->ctx, serial_is_ambiguous(f) ? f->label : NULL,
					serial_is_ambiguous(f) ? NULL : f->serial, pin, &t, HSM_ERR),
			 SIGNET_OK);
	hsm_token_close(t);
	sg_secret_free(pin);

	assert_int_equal(setenv("SIGNET_TEST_TOKEN_PIN", (const char *)f->user_pin->data, 1), 0);
	assert_int_equal(sg_secret_from_spec("env:SIGNET_TEST_TOKEN_PIN", &pin), SIGNET_OK);
	assert_null(getenv("SIGNET_TEST_TOKEN_PIN"));
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, pin, &t, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	sg_secret_free(pin);

	int fds[2];
	assert_int_equal(pipe(fds), 0);
	assert_int_equal(write(fds[1], f->user_pin->data, f->user_pin->len),
			 (ssize_t)f->user_pin->len);
	assert_int_equal(write(fds[1], "\n", 1), 1);
	close(fds[1]);
	assert_int_equal(sg_secret_from_fd(fds[0], &pin), SIGNET_OK);
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, pin, &t, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	sg_secret_free(pin);
}

static void test_open_bad_args(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token *t = NULL;
	sg_secret empty = {(uint8_t *)"", 0, 0};
	assert_int_equal(hsm_token_open(NULL, f->label, NULL, f->user_pin, &t, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_open(f->ctx, NULL, NULL, f->user_pin, &t, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, NULL, &t, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, &empty, &t, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, NULL, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_open(f->ctx, "", NULL, f->user_pin, &t, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_open(f->ctx, "a-label-that-is-longer-than-32-chars", NULL,
					f->user_pin, &t, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_open(f->ctx, "bad\nlabel", NULL, f->user_pin, &t, HSM_ERR),
			 SIGNET_EINVAL);
	assert_int_equal(hsm_token_open(f->ctx, NULL, "12345678901234567", f->user_pin, &t, HSM_ERR),
			 SIGNET_EINVAL);
	assert_null(t);
	assert_int_equal(hsm_token_initialize(f->ctx, "a-label-that-is-longer-than-32-chars",
					      f->so_pin, f->user_pin, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_initialize(f->ctx, "x", NULL, f->user_pin, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_initialize(f->ctx, "x", f->so_pin, &empty, HSM_ERR), SIGNET_EINVAL);
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(NULL, &d, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_set_pin(NULL, f->user_pin, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_token_reconnect(NULL, HSM_ERR), SIGNET_EINVAL);
}

static void test_open_twice(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token *t = NULL, *t2 = NULL;
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &t, HSM_ERR), SIGNET_OK);
	/* A second login would go unverified (the login is per process): refused. */
	assert_int_equal(hsm_token_open(f->ctx, serial_is_ambiguous(f) ? f->label : NULL,
					serial_is_ambiguous(f) ? NULL : f->serial, f->user_pin, &t2, HSM_ERR),
			 SIGNET_ESTATE);
	assert_null(t2);
	hsm_token_close(t);
}

static void test_duplicate_label(void **state)
{
	softhsm_fixture *f = *state;
	if (f->impl == SOFTHSM_IMPL_SOFTOKN) {
		/* softokn offers no blank token to initialise (its database token
		 * is the only one that holds keys, and its label comes from the
		 * module parameters); the label is unique by construction. */
		assert_int_equal(hsm_token_initialize(f->ctx, f->label, f->so_pin, f->user_pin, HSM_ERR),
				 SIGNET_ENOTFOUND);
		assert_true(contains(shf_errmsg, "no uninitialised token"));
		return;
	}
	/* SoftHSM2 always offers one more blank token: give it our label. */
	assert_int_equal(hsm_token_initialize(f->ctx, f->label, f->so_pin, f->user_pin, HSM_ERR), SIGNET_OK);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &t, HSM_ERR), SIGNET_EINVAL);
	assert_non_null(strstr(shf_errmsg, "serial"));
	assert_int_equal(hsm_token_open(f->ctx, NULL, f->serial, f->user_pin, &t, HSM_ERR), SIGNET_OK);
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(t, &d, HSM_ERR), SIGNET_OK);
	assert_string_equal(d.serial, f->serial);
	hsm_token_close(t);
}

static void test_set_pin(void **state)
{
	softhsm_fixture *f = *state;
	hsm_token *t = NULL;
	sg_secret *newpin = secret_of("a-new-user-pin-4711");
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &t, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_token_set_pin(t, newpin, HSM_ERR), SIGNET_OK);
	/* The token keeps the new PIN for re-logins after a module restart. */
	assert_int_equal(hsm_token_reconnect(t, HSM_ERR), SIGNET_OK);
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(t, &d, HSM_ERR), SIGNET_OK);
	hsm_key_info *keys = NULL;
	size_t n = 99;
	assert_int_equal(hsm_key_list(t, &keys, &n, HSM_ERR), SIGNET_OK);
	assert_int_equal(n, 0);
	free(keys);
	hsm_token_close(t);

	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, f->user_pin, &t, HSM_ERR), SIGNET_EHSM_PIN);
	assert_int_equal(hsm_token_open(f->ctx, f->label, NULL, newpin, &t, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	sg_secret_free(newpin);
}

static void test_module_errors(void **state)
{
	softhsm_fixture *f = *state;
	hsm_ctx *c = (hsm_ctx *)f;
	assert_int_equal(hsm_open("/nonexistent/libpkcs11.so", &c, HSM_ERR), SIGNET_ENOTFOUND);
	assert_null(c);
	assert_true(contains(shf_errmsg, "/nonexistent/libpkcs11.so"));
	/* A shared object that is not a PKCS#11 module. */
	assert_int_equal(hsm_open("libm.so.6", &c, HSM_ERR), SIGNET_EHSM);
	assert_true(contains(shf_errmsg, "C_GetFunctionList"));
	assert_int_equal(hsm_open("", &c, HSM_ERR), SIGNET_EINVAL);
	assert_int_equal(hsm_open(f->module, NULL, HSM_ERR), SIGNET_EINVAL);
	/* Module parameters are bounded, printable, one line. */
	char big[HSM_INIT_ARGS_MAX + 2];
	memset(big, 'a', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	assert_int_equal(hsm_open_args(f->module, big, &c, HSM_ERR), SIGNET_ERANGE);
	big[HSM_INIT_ARGS_MAX] = '\0';
	big[7] = '\n';
	assert_int_equal(hsm_open_args(f->module, big, &c, HSM_ERR), SIGNET_EINVAL);
	assert_true(contains(shf_errmsg, "non-printable"));
	assert_int_equal(hsm_open_args(f->module, "", &c, HSM_ERR), SIGNET_EINVAL);
	assert_null(c);
	/* never a PIN or password: the parameters are logged */
	static const char *const secret[] = {"configdir='sql:/x' userPin=1234",
					     "Password : hunter2", "so_passphrase=x",
					     "secret=abc"};
	for (size_t i = 0; i < sizeof(secret) / sizeof(secret[0]); i++) {
		assert_int_equal(hsm_init_args_check(secret[i], HSM_ERR), SIGNET_EINVAL);
		assert_true(contains(shf_errmsg, "never a PIN"));
		assert_false(contains(shf_errmsg, "1234") || contains(shf_errmsg, "hunter2"));
		assert_int_equal(hsm_open_args(f->module, secret[i], &c, HSM_ERR), SIGNET_EINVAL);
		assert_null(c);
	}
	/* a word that only holds "pin" sets nothing */
	assert_int_equal(hsm_init_args_check("configdir='sql:/var/lib/spinner' flags=noModDB",
					     HSM_ERR),
			 SIGNET_OK);
	/* The module is initialised by the fixture's context already: a second
	 * context must not take it over (its finalize would end the first). */
	assert_int_equal(hsm_open(f->module, &c, HSM_ERR), SIGNET_ESTATE);
	assert_true(contains(shf_errmsg, "CKR_CRYPTOKI_ALREADY_INITIALIZED"));
	hsm_close(NULL);
}

static void test_rv_names(void **state)
{
	(void)state;
	assert_string_equal(hsm_rv_name(CKR_PIN_INCORRECT), "CKR_PIN_INCORRECT");
	assert_string_equal(hsm_rv_name(CKR_OBJECT_HANDLE_INVALID), "CKR_OBJECT_HANDLE_INVALID");
	assert_string_equal(hsm_rv_name(CKR_OK), "CKR_OK");
	assert_string_equal(hsm_rv_name(0x7777), "CKR_UNKNOWN");
	assert_string_equal(hsm_rv_name(CKR_VENDOR_DEFINED | 5), "CKR_VENDOR_DEFINED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_open_by_label, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_open_by_serial, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_unknown_token, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_wrong_pin, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_login_limit, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_list_tokens, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_pin_sources, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_open_bad_args, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_open_twice, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_duplicate_label, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_set_pin, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_module_errors, softhsm_setup_closed, softhsm_teardown),
		cmocka_unit_test(test_rv_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
