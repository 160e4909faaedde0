/* session.c -- a worker's own session: opening, reopening, its key handle cache and key copies. */

#include <stdlib.h>
#include <string.h>

#include "hsm/internal.h"

void hsm_token_set_allow_imported(hsm_token *t, bool on)
{
	if (t != NULL)
		t->allow_imported = on;
}

void hsm_token_set_allow_restored(hsm_token *t, bool on)
{
	if (t != NULL)
		t->allow_restored = on;
}

void hsm_token_set_wrappable_keys(hsm_token *t, bool on)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->admin_lock);
	t->wrappable_keys = on;
	pthread_mutex_unlock(&t->admin_lock);
}

void hsm_token_set_session_copies(hsm_token *t, bool on)
{
	if (t == NULL)
		return;
	pthread_mutex_lock(&t->admin_lock);
	t->session_copies = on;
	pthread_mutex_unlock(&t->admin_lock);
}

unsigned long hsm_session_handle(const hsm_session *s)
{
	return s != NULL && s->h != CK_INVALID_HANDLE ? (unsigned long)s->h : 0;
}

static void forget_key(hsm_session *s, struct hsm_cached_key *k)
{
	if (k->is_copy && s->h != CK_INVALID_HANDLE)
		(void)s->tok->ctx->fn->C_DestroyObject(s->h, k->handle);
	memset(k, 0, sizeof(*k));
}

void hsm_session_drop(hsm_session *s)
{
	hsm_ctx *ctx = s->tok->ctx;
	/* Closing the session destroys its session objects with it. */
	if (s->h != CK_INVALID_HANDLE && ctx->live && s->gen == ctx->gen)
		(void)ctx->fn->C_CloseSession(s->h);
	s->h = CK_INVALID_HANDLE;
	s->nkeys = 0;
	s->next_evict = 0;
}

signet_err hsm_session_ready(hsm_session *s, hsm_errbuf *eb)
{
	hsm_token *t = s->tok;
	hsm_ctx *ctx = t->ctx;
	if (!ctx->live || !t->up)
		return hsm_fail_rv(eb, "hsm", CKR_TOKEN_NOT_PRESENT, "token '%s' is not connected",
				   t->label);
	if (s->gen != ctx->gen) {
		/* The module was re-initialised: the handles are from before. */
		s->h = CK_INVALID_HANDLE;
		s->nkeys = 0;
		s->next_evict = 0;
	}
	if (s->h == CK_INVALID_HANDLE) {
		pthread_mutex_lock(&t->admin_lock);
		signet_err err = hsm_token_ensure_login(t, eb);
		pthread_mutex_unlock(&t->admin_lock);
		if (err != SIGNET_OK)
			return err;
		CK_SESSION_HANDLE h;
		CK_RV rv = ctx->fn->C_OpenSession(t->slot, CKF_SERIAL_SESSION, NULL, NULL, &h);
		if (rv != CKR_OK)
			return hsm_fail_rv(eb, "C_OpenSession", rv, "token '%s'", t->label);
		s->h = h;
		s->gen = ctx->gen;
		s->nkeys = 0;
		s->next_evict = 0;
		s->key_epoch = atomic_load(&t->key_epoch);
	}
	uint_fast64_t epoch = atomic_load_explicit(&t->key_epoch, memory_order_acquire);
	if (epoch != s->key_epoch) {
		/* A key was deleted: drop every handle and copy, so nothing signs
		 * with a key that no longer exists in the token. */
		for (size_t i = 0; i < s->nkeys; i++)
			forget_key(s, &s->keys[i]);
		s->nkeys = 0;
		s->next_evict = 0;
		s->key_epoch = epoch;
	}
	return SIGNET_OK;
}

/* Whether copy is protected as orig, the checked token key it was made
 * from. NSS's softokn reports CKA_ALWAYS_SENSITIVE and CKA_NEVER_EXTRACTABLE
 * false on every copy: history, which is the original's; what the copy
 * itself must keep is sensitive, its extractability and sign only. */
static bool copy_protected(const hsm_token *t, const hsm_key_info *orig, const hsm_key_info *c)
{
	if (hsm_key_usable(t, c))
		return true;
	return c->sensitive && c->extractable == orig->extractable &&
	       c->wrap_with_trusted == orig->wrap_with_trusted && c->can_sign && !c->can_decrypt &&
	       c->alg == orig->alg && c->bits == orig->bits;
}

/* Copy the token key into a session object and check the copy kept its
 * protection; CK_INVALID_HANDLE when the module will not copy it. */
static signet_err copy_key(hsm_session *s, CK_OBJECT_HANDLE obj, const hsm_key_info *orig,
			   CK_OBJECT_HANDLE *copy, hsm_errbuf *eb)
{
	hsm_token *t = s->tok;
	CK_FUNCTION_LIST *fn = t->ctx->fn;
	CK_BBOOL no = CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {{CKA_TOKEN, &no, sizeof(no)}};
	*copy = CK_INVALID_HANDLE;
	/* SoftHSM2 2.6.1 makes a copy that, while C_CopyObject runs, another
	 * session's C_FindObjects with CKA_TOKEN true still matches: a worker
	 * looking its key up then saw "2 private keys share this CKA_ID" (found
	 * under TSan, about one run in three of hsm_test_sign). Copies and
	 * lookups of a token take admin_lock, so no search sees a copy half made. */
	pthread_mutex_lock(&t->admin_lock);
	CK_RV rv = fn->C_CopyObject(s->h, obj, tmpl, 1, copy);
	pthread_mutex_unlock(&t->admin_lock);
	if (rv != CKR_OK) {
		if (hsm_rv_is_fault(rv))
			return hsm_fail_rv(eb, "C_CopyObject", rv, "token '%s'", t->label);
		sg_log(SG_LOG_INFO,
		       "hsm: token '%s' will not copy keys into sessions (%s); "
		       "signing with the token object",
		       t->label, hsm_rv_name(rv));
		*copy = CK_INVALID_HANDLE;
		return SIGNET_OK;
	}
	hsm_key_info ci;
	signet_err err = hsm_describe_object(t, s->h, *copy, &ci, eb);
	if (err != SIGNET_OK || !copy_protected(t, orig, &ci)) {
		(void)fn->C_DestroyObject(s->h, *copy);
		*copy = CK_INVALID_HANDLE;
		if (err != SIGNET_OK)
			return err;
		return hsm_fail(eb, SIGNET_EHSM_KEY,
				"C_CopyObject: the copy of a key in token '%s' "
				"lost its protection",
				t->label);
	}
	return SIGNET_OK;
}

signet_err hsm_session_key(hsm_session *s, const uint8_t *id, size_t id_len,
			   const struct hsm_cached_key **out, hsm_errbuf *eb)
{
	for (size_t i = 0; i < s->nkeys; i++) {
		const struct hsm_cached_key *k = &s->keys[i];
		if (k->id_len == id_len && memcmp(k->id, id, id_len) == 0) {
			*out = k;
			return SIGNET_OK;
		}
	}
	hsm_token *t = s->tok;
	CK_OBJECT_HANDLE *objs = NULL;
	size_t n = 0;
	/* Not while another session copies a key: see copy_key. */
	pthread_mutex_lock(&t->admin_lock);
	signet_err err = hsm_find_objects(t, s->h, CKO_PRIVATE_KEY, id, id_len, &objs, &n, eb);
	pthread_mutex_unlock(&t->admin_lock);
	if (err != SIGNET_OK)
		return err;
	CK_OBJECT_HANDLE obj = n == 1 ? objs[0] : CK_INVALID_HANDLE;
	free(objs);
	if (n == 0)
		return hsm_fail(eb, SIGNET_ENOTFOUND,
				"hsm_sign: no private key with this CKA_ID in "
				"token '%s'",
				t->label);
	if (n > 1)
		return hsm_fail(eb, SIGNET_EHSM_KEY,
				"hsm_sign: %zu private keys share this CKA_ID in "
				"token '%s'",
				n, t->label);
	hsm_key_info info;
	err = hsm_describe_object(t, s->h, obj, &info, eb);
	if (err == SIGNET_EUNSUPPORTED) {
		char why[HSM_ERRMSG_MAX];
		snprintf(why, sizeof(why), "%s", eb->errlen > 0 ? eb->errmsg : "");
		return hsm_fail(eb, SIGNET_EHSM_KEY, "hsm_sign: %s", why);
	}
	if (err != SIGNET_OK)
		return err;
	if (!hsm_key_usable(t, &info))
		return hsm_fail(eb, SIGNET_EHSM_KEY,
				"hsm_sign: refusing key '%s' of token '%s': "
				"sensitive %d, extractable %d, always sensitive %d, never "
				"extractable %d, sign %d",
				info.label, t->label, info.sensitive, info.extractable,
				info.always_sensitive, info.never_extractable, info.can_sign);

	struct hsm_cached_key k;
	memset(&k, 0, sizeof(k));
	memcpy(k.id, id, id_len);
	k.id_len = id_len;
	k.alg = info.alg;
	k.sig_len = hsm_sig_len(&info);
	k.handle = obj;
	if (s->copies) {
		CK_OBJECT_HANDLE copy;
		err = copy_key(s, obj, &info, &copy, eb);
		if (err != SIGNET_OK)
			return err;
		if (copy != CK_INVALID_HANDLE) {
			k.handle = copy;
			k.is_copy = true;
		}
	}
	struct hsm_cached_key *slot;
	if (s->nkeys < HSM_SESSION_KEYS) {
		slot = &s->keys[s->nkeys++];
	} else {
		slot = &s->keys[s->next_evict];
		s->next_evict = (s->next_evict + 1) % HSM_SESSION_KEYS;
		forget_key(s, slot);
	}
	*slot = k;
	*out = slot;
	return SIGNET_OK;
}

signet_err hsm_session_open(hsm_token *t, hsm_session **out, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_session_open: no output");
	*out = NULL;
	if (t == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_session_open: no token");
	if (atomic_fetch_add(&t->nsessions, 1) >= HSM_SESSIONS_MAX) {
		atomic_fetch_sub(&t->nsessions, 1);
		return hsm_fail(eb, SIGNET_ELIMIT,
				"hsm_session_open: token '%s' has %d sessions "
				"open already",
				t->label, HSM_SESSIONS_MAX);
	}
	hsm_session *s = calloc(1, sizeof(*s));
	if (s == NULL) {
		atomic_fetch_sub(&t->nsessions, 1);
		return hsm_fail(eb, SIGNET_ENOMEM, "hsm_session_open: out of memory");
	}
	s->tok = t;
	s->h = CK_INVALID_HANDLE;
	pthread_mutex_lock(&t->admin_lock);
	s->copies = t->session_copies;
	pthread_mutex_unlock(&t->admin_lock);

	hsm_ctx *ctx = t->ctx;
	signet_err err = SIGNET_OK;
	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_rwlock_rdlock(&ctx->rw);
		uint64_t gen = ctx->gen;
		eb->rv = CKR_OK;
		err = hsm_session_ready(s, eb);
		pthread_rwlock_unlock(&ctx->rw);
		if (err == SIGNET_OK || attempt == 1 || !hsm_rv_is_gone(eb->rv))
			break;
		err = hsm_module_reconnect(ctx, t, gen, eb);
		if (err != SIGNET_OK)
			break;
	}
	if (err != SIGNET_OK) {
		atomic_fetch_sub(&t->nsessions, 1);
		free(s);
		return err;
	}
	*out = s;
	return SIGNET_OK;
}

void hsm_session_close(hsm_session *s)
{
	if (s == NULL)
		return;
	hsm_token *t = s->tok;
	pthread_rwlock_rdlock(&t->ctx->rw);
	hsm_session_drop(s);
	pthread_rwlock_unlock(&t->ctx->rw);
	atomic_fetch_sub(&t->nsessions, 1);
	free(s);
}
