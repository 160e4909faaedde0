/* test_recovery.c -- sessions and tokens coming back after faults injected into a real SoftHSM2. */

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
#include <unistd.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <p11-kit/pkcs11.h>

#include "dnssec/dnssec.h"
#include "hsm/hsm.h"
#include "tests/lib/softhsm_fixture.h"

static const uint8_t msg[] = "www.example.com. 300 IN AAAA 2001:db8::1";

struct env {
	softhsm_fixture *f;
	hsm_key_info key;     /* Ed25519 (P-256 on softokn, which has no Ed25519) */
	EVP_PKEY *pk;
};

static int setup(void **state)
{
	struct env *e = calloc(1, sizeof(*e));
	if (e == NULL || softhsm_fixture_create(true, &e->f) != SIGNET_OK) {
		free(e);
		return -1;
	}
	char label[HSM_LABEL_MAX + 1];
	hsm_alg alg = e->f->impl == SOFTHSM_IMPL_SOFTOKN ? HSM_ALG_ECDSAP256 : HSM_ALG_ED25519;
	if (hsm_key_label("zsk", "example.com.", alg, (int64_t)time(NULL), label,
			  sizeof(label), HSM_ERR) != SIGNET_OK ||
	    hsm_key_generate(e->f->tok, alg, 0, label, &e->key, HSM_ERR) != SIGNET_OK ||
	    hsm_key_public(e->f->tok, e->key.id, e->key.id_len, &e->pk, HSM_ERR) != SIGNET_OK) {
		softhsm_fixture_destroy(e->f);
		free(e);
		return -1;
	}
	*state = e;
	return 0;
}

static int teardown(void **state)
{
	struct env *e = *state;
	EVP_PKEY_free(e->pk);
	softhsm_fixture_destroy(e->f);
	free(e);
	return 0;
}

static signet_err sign_into(struct env *e, hsm_session *s, char *errmsg, size_t errlen)
{
	uint8_t sig[HSM_SIG_MAX];
	size_t siglen = 0;
	signet_err err = hsm_sign(s, e->key.id, e->key.id_len, msg, sizeof(msg), sig,
				  sizeof(sig), &siglen, errmsg, errlen);
	if (err == SIGNET_OK &&
	    dns_signature_verify(e->key.alg, e->pk, msg, sizeof(msg), sig, siglen) != SIGNET_OK)
		return SIGNET_EVERIFY;
	return err;
}

/* From the main thread: the reason in shf_errmsg. */
static signet_err sign(struct env *e, hsm_session *s)
{
	return sign_into(e, s, HSM_ERR);
}

static void sleep_ms(unsigned ms)
{
	struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
	nanosleep(&ts, NULL);
}

static void move_tokens(softhsm_fixture *f, bool away)
{
	char aside[320];
	snprintf(aside, sizeof(aside), "%s.away", f->tokendir);
	if (away)
		assert_int_equal(rename(f->tokendir, aside), 0);
	else
		assert_int_equal(rename(aside, f->tokendir), 0);
}

static void token_vanishes(struct env *e, bool copies)
{
	softhsm_fixture *f = e->f;
	hsm_token_set_session_copies(f->tok, copies);
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);

	if (f->impl == SOFTHSM_IMPL_SOFTOKN) {
		/* softokn keeps its SQLite database open: with the directory
		 * moved away nothing is lost, the token stays up and signs
		 * (a lost token cannot be faked so on softokn). */
		move_tokens(f, true);
		assert_int_equal(sign(e, s), SIGNET_OK);
		hsm_token_desc d;
		assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
		hsm_key_info *keys = NULL;
		size_t n = 0;
		assert_int_equal(hsm_key_list(f->tok, &keys, &n, HSM_ERR), SIGNET_OK);
		assert_int_equal(n, 1);
		free(keys);
		move_tokens(f, false);
		assert_int_equal(sign(e, s), SIGNET_OK);
		hsm_session_close(s);
		return;
	}
	move_tokens(f, true);
	signet_err err = sign(e, s);
	print_message("token gone, copies %d: %s: %s\n", copies, signet_errname(err),
		      shf_errmsg);
	if (copies) {
		/* The copy lives in the module's memory, not in the vanished
		 * directory: SoftHSM2 keeps signing with it (HSM-NOTES). */
		assert_int_equal(err, SIGNET_OK);
	} else {
		assert_int_equal(err, SIGNET_EHSM_DOWN);
		assert_non_null(strstr(shf_errmsg, f->label));
	}
	/* A health check sees it, and tears the module down trying to recover. */
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_EHSM_DOWN);
	assert_non_null(strstr(shf_errmsg, f->label));
	assert_int_equal(sign(e, s), SIGNET_EHSM_DOWN);
	/* Down it stays while the directory is away, after the back-off too. */
	sleep_ms(HSM_RECONNECT_BACKOFF_MS + 50);
	assert_int_equal(sign(e, s), SIGNET_EHSM_DOWN);
	assert_non_null(strstr(shf_errmsg, f->label));
	hsm_key_info *keys = NULL;
	size_t n = 0;
	assert_int_equal(hsm_key_list(f->tok, &keys, &n, HSM_ERR), SIGNET_EHSM_DOWN);
	hsm_session *s2 = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s2, HSM_ERR), SIGNET_EHSM_DOWN);
	assert_null(s2);

	move_tokens(f, false);
	sleep_ms(HSM_RECONNECT_BACKOFF_MS + 50);
	/* The very next call recovers by itself. */
	err = sign(e, s);
	if (err != SIGNET_OK)
		print_message("after return: %s: %s\n", signet_errname(err), shf_errmsg);
	assert_int_equal(err, SIGNET_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_list(f->tok, &keys, &n, HSM_ERR), SIGNET_OK);
	assert_int_equal(n, 1);
	free(keys);
	hsm_session_close(s);
}

static void test_token_vanishes_token_objects(void **state)
{
	token_vanishes(*state, false);
}

static void test_token_vanishes_session_copies(void **state)
{
	token_vanishes(*state, true);
}

static void session_closed_behind_back(struct env *e, bool copies)
{
	softhsm_fixture *f = e->f;
	hsm_token_set_session_copies(f->tok, copies);
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);
	unsigned long h = hsm_session_handle(s);
	assert_true(h != 0);
	assert_int_equal(f->p11->C_CloseSession(h), CKR_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);
	assert_true(hsm_session_handle(s) != 0);
	/* And again, now with the new handle. */
	assert_int_equal(f->p11->C_CloseSession(hsm_session_handle(s)), CKR_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);
	hsm_session_close(s);
}

static void test_session_closed_copies(void **state)
{
	session_closed_behind_back(*state, true);
}

static void test_session_closed_token_objects(void **state)
{
	session_closed_behind_back(*state, false);
}

static void test_all_sessions_closed(void **state)
{
	struct env *e = *state;
	softhsm_fixture *f = e->f;
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
	/* Closing every session ends the login too: it must come back. */
	assert_int_equal(f->p11->C_CloseAllSessions(d.slot), CKR_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);
	/* Admin operations recover the same way. */
	assert_int_equal(f->p11->C_CloseAllSessions(d.slot), CKR_OK);
	hsm_key_info k;
	assert_int_equal(hsm_key_find(f->tok, e->key.id, e->key.id_len, &k, HSM_ERR), SIGNET_OK);
	assert_true(k.has_private);
	hsm_session_close(s);
}

static void test_logged_out_behind_back(void **state)
{
	struct env *e = *state;
	softhsm_fixture *f = e->f;
	for (int copies = 0; copies < 2; copies++) {
		hsm_token_set_session_copies(f->tok, copies);
		hsm_session *s = NULL;
		assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
		assert_int_equal(sign(e, s), SIGNET_OK);
		/* Logging out is per application: any session does it for all. */
		assert_int_equal(f->p11->C_Logout(hsm_session_handle(s)), CKR_OK);
		assert_int_equal(sign(e, s), SIGNET_OK);
		hsm_session_close(s);
	}
}

static void test_pin_changed_behind_back(void **state)
{
	struct env *e = *state;
	softhsm_fixture *f = e->f;
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);
	static const char newpin[] = "changed-elsewhere";
	hsm_token_desc d;
	assert_int_equal(hsm_token_describe(f->tok, &d, HSM_ERR), SIGNET_OK);
	CK_SESSION_HANDLE h;
	assert_int_equal(f->p11->C_OpenSession(d.slot, CKF_SERIAL_SESSION | CKF_RW_SESSION,
					       NULL, NULL, &h), CKR_OK);
	assert_int_equal(f->p11->C_SetPIN(h, f->user_pin->data, f->user_pin->len,
					  (CK_UTF8CHAR *)newpin, strlen(newpin)), CKR_OK);
	assert_int_equal(f->p11->C_CloseAllSessions(d.slot), CKR_OK);
	/* The stored PIN is refused once; from then on it is not tried again. */
	assert_int_equal(sign(e, s), SIGNET_EHSM_PIN);
	assert_non_null(strstr(shf_errmsg, "CKR_PIN_INCORRECT"));
	assert_int_equal(sign(e, s), SIGNET_EHSM_LOCKED);
	assert_non_null(strstr(shf_errmsg, "not attempted"));
	assert_int_equal(sign(e, s), SIGNET_EHSM_LOCKED);
	hsm_session_close(s);
}

static void test_explicit_reconnect(void **state)
{
	struct env *e = *state;
	softhsm_fixture *f = e->f;
	hsm_session *s = NULL;
	assert_int_equal(hsm_session_open(f->tok, &s, HSM_ERR), SIGNET_OK);
	assert_int_equal(sign(e, s), SIGNET_OK);
	assert_int_equal(hsm_token_reconnect(f->tok, HSM_ERR), SIGNET_OK);
	/* Within the back-off a second one is refused, quickly. */
	assert_int_equal(hsm_token_reconnect(f->tok, HSM_ERR), SIGNET_EHSM_DOWN);
	assert_int_equal(sign(e, s), SIGNET_OK);
	hsm_session_close(s);
}

/* ---- reconnect while workers sign ---- */

struct worker {
	struct env *e;
	atomic_bool *stop;
	atomic_int *bad;
	atomic_int ok;
};

static void *worker_main(void *arg)
{
	struct worker *w = arg;
	hsm_session *s = NULL;
	if (hsm_session_open(w->e->f->tok, &s, NULL, 0) != SIGNET_OK) {
		atomic_fetch_add(w->bad, 1);
		return NULL;
	}
	while (!atomic_load(w->stop)) {
		if (sign_into(w->e, s, NULL, 0) == SIGNET_OK)
			atomic_fetch_add(&w->ok, 1);
		else
			atomic_fetch_add(w->bad, 1);
	}
	hsm_session_close(s);
	return NULL;
}

/* Wait until each worker has signed once more than now (bounded only to
 * end a broken run). */
static void wait_both_signed(struct worker *w)
{
	int was[2] = {atomic_load(&w[0].ok), atomic_load(&w[1].ok)};
	for (int i = 0; i < 30000; i++) {
		if (atomic_load(&w[0].ok) > was[0] && atomic_load(&w[1].ok) > was[1])
			return;
		if (atomic_load(w[0].bad) > 0)
			fail_msg("a worker's signature failed");
		sleep_ms(1);
	}
	fail_msg("the workers did not sign");
}

static void test_reconnect_under_load(void **state)
{
	struct env *e = *state;
	atomic_bool stop = false;
	atomic_int bad = 0;
	struct worker w[2] = {{e, &stop, &bad, 0}, {e, &stop, &bad, 0}};
	pthread_t th[2];
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
	/* both sign before, between and after the reconnects: wait for each
	 * worker's count to move, not for a time */
	wait_both_signed(w);
	assert_int_equal(hsm_token_reconnect(e->f->tok, HSM_ERR), SIGNET_OK);
	wait_both_signed(w);
	/* the back-off is a time by design: sleeping past it is a lower bound */
	sleep_ms(HSM_RECONNECT_BACKOFF_MS + 20);
	assert_int_equal(hsm_token_reconnect(e->f->tok, HSM_ERR), SIGNET_OK);
	wait_both_signed(w);
	atomic_store(&stop, true);
	for (int i = 0; i < 2; i++)
		assert_int_equal(pthread_join(th[i], NULL), 0);
	/* Every signature made it: sessions reopened without a failed call. */
	assert_int_equal(atomic_load(&bad), 0);
	assert_true(w[0].ok > 0 && w[1].ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_token_vanishes_token_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_token_vanishes_session_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_closed_copies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_session_closed_token_objects, setup, teardown),
		cmocka_unit_test_setup_teardown(test_all_sessions_closed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_logged_out_behind_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pin_changed_behind_back, setup, teardown),
		cmocka_unit_test_setup_teardown(test_explicit_reconnect, setup, teardown),
		cmocka_unit_test_setup_teardown(test_reconnect_under_load, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
