/* token.c -- tokens: list, initialise, open and log in, describe, change PIN, reconnect. */

#include <stdlib.h>
#include <string.h>

#include "hsm/internal.h"

#define HSM_SLOTS_MAX 1024 /* slots we are willing to look at */
#define HSM_PIN_MAX 255    /* longest PIN handed to a module */

void hsm_copy_padded(char *dst, size_t dstlen, const CK_UTF8CHAR *src, size_t srclen)
{
	size_t n = srclen < dstlen - 1 ? srclen : dstlen - 1;
	memcpy(dst, src, n);
	while (n > 0 && (dst[n - 1] == ' ' || dst[n - 1] == '\0'))
		n--;
	dst[n] = '\0';
}

static void fill_desc(CK_SLOT_ID slot, const CK_TOKEN_INFO *ti, hsm_token_desc *d)
{
	memset(d, 0, sizeof(*d));
	d->slot = slot;
	hsm_copy_padded(d->label, sizeof(d->label), ti->label, sizeof(ti->label));
	hsm_copy_padded(d->serial, sizeof(d->serial), ti->serialNumber, sizeof(ti->serialNumber));
	hsm_copy_padded(d->manufacturer, sizeof(d->manufacturer), ti->manufacturerID,
			sizeof(ti->manufacturerID));
	hsm_copy_padded(d->model, sizeof(d->model), ti->model, sizeof(ti->model));
	d->initialized = (ti->flags & CKF_TOKEN_INITIALIZED) != 0;
	d->user_pin_initialized = (ti->flags & CKF_USER_PIN_INITIALIZED) != 0;
	d->pin_count_low = (ti->flags & CKF_USER_PIN_COUNT_LOW) != 0;
	d->pin_locked = (ti->flags & CKF_USER_PIN_LOCKED) != 0;
}

/* The slots with a token present; *out allocated. Caller holds ctx->rw. */
static signet_err get_slots(hsm_ctx *ctx, CK_SLOT_ID **out, CK_ULONG *n, hsm_errbuf *eb)
{
	*out = NULL;
	*n = 0;
	for (int tries = 0; tries < 3; tries++) {
		CK_ULONG count = 0;
		CK_RV rv = ctx->fn->C_GetSlotList(CK_TRUE, NULL, &count);
		if (rv != CKR_OK)
			return hsm_fail_rv(eb, "C_GetSlotList", rv, NULL);
		if (count == 0)
			return SIGNET_OK;
		if (count > HSM_SLOTS_MAX)
			return hsm_fail(eb, SIGNET_ERANGE, "C_GetSlotList: %lu slots, more than %d",
					(unsigned long)count, HSM_SLOTS_MAX);
		CK_SLOT_ID *slots = calloc(count, sizeof(*slots));
		if (slots == NULL)
			return hsm_fail(eb, SIGNET_ENOMEM, "C_GetSlotList: out of memory");
		rv = ctx->fn->C_GetSlotList(CK_TRUE, slots, &count);
		if (rv == CKR_OK) {
			*out = slots;
			*n = count;
			return SIGNET_OK;
		}
		free(slots);
		/* A token appeared between the two calls: ask again. */
		if (rv != CKR_BUFFER_TOO_SMALL)
			return hsm_fail_rv(eb, "C_GetSlotList", rv, NULL);
	}
	return hsm_fail(eb, SIGNET_EHSM, "C_GetSlotList: the slot list keeps changing");
}

signet_err hsm_find_slot(hsm_ctx *ctx, const char *label, const char *serial, CK_SLOT_ID *slot,
			 CK_TOKEN_INFO *info, hsm_errbuf *eb)
{
	CK_SLOT_ID *slots;
	CK_ULONG n;
	signet_err err = get_slots(ctx, &slots, &n, eb);
	if (err != SIGNET_OK)
		return err;
	size_t matches = 0;
	for (CK_ULONG i = 0; i < n; i++) {
		CK_TOKEN_INFO ti;
		if (ctx->fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		if (!(ti.flags & CKF_TOKEN_INITIALIZED))
			continue;
		hsm_token_desc d;
		fill_desc(slots[i], &ti, &d);
		/* Both when both are given: a serial need not be unique across
		 * slots (NSS's softokn gives both of its tokens 0000000000000000). */
		bool hit = (serial == NULL || strcmp(d.serial, serial) == 0) &&
			   (label == NULL || strcmp(d.label, label) == 0);
		if (!hit)
			continue;
		if (matches++ == 0) {
			*slot = slots[i];
			*info = ti;
		}
	}
	free(slots);
	if (matches == 0)
		return hsm_fail(eb, SIGNET_ENOTFOUND, "no initialised token with %s '%s'",
				serial != NULL ? "serial" : "label",
				serial != NULL ? serial : label);
	if (matches > 1 && serial != NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "%zu tokens carry the serial '%s'%s", matches,
				serial, label == NULL ? ": name the token by its label" : "");
	if (matches > 1)
		return hsm_fail(eb, SIGNET_EINVAL,
				"%zu tokens carry the label '%s': name the "
				"token by its serial",
				matches, label);
	return SIGNET_OK;
}

signet_err hsm_list_tokens(hsm_ctx *ctx, hsm_token_desc **out, size_t *n, char *errmsg,
			   size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (ctx == NULL || out == NULL || n == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_list_tokens: missing argument");
	*out = NULL;
	*n = 0;
	pthread_rwlock_rdlock(&ctx->rw);
	if (!ctx->live) {
		pthread_rwlock_unlock(&ctx->rw);
		return hsm_fail(eb, SIGNET_EHSM_DOWN,
				"hsm_list_tokens: module %s is not initialised", ctx->path);
	}
	CK_SLOT_ID *slots;
	CK_ULONG count;
	signet_err err = get_slots(ctx, &slots, &count, eb);
	if (err != SIGNET_OK) {
		pthread_rwlock_unlock(&ctx->rw);
		return err;
	}
	hsm_token_desc *d = calloc(count > 0 ? count : 1, sizeof(*d));
	if (d == NULL) {
		free(slots);
		pthread_rwlock_unlock(&ctx->rw);
		return hsm_fail(eb, SIGNET_ENOMEM, "hsm_list_tokens: out of memory");
	}
	size_t k = 0;
	for (CK_ULONG i = 0; i < count; i++) {
		CK_TOKEN_INFO ti;
		/* A token that vanished between the calls is simply not listed. */
		if (ctx->fn->C_GetTokenInfo(slots[i], &ti) != CKR_OK)
			continue;
		fill_desc(slots[i], &ti, &d[k++]);
	}
	free(slots);
	pthread_rwlock_unlock(&ctx->rw);
	*out = d;
	*n = k;
	return SIGNET_OK;
}

static bool printable(const char *s)
{
	for (; *s != '\0'; s++)
		if ((unsigned char)*s < 0x20 || (unsigned char)*s > 0x7e)
			return false;
	return true;
}

static signet_err check_pin(const char *what, const sg_secret *pin, hsm_errbuf *eb)
{
	if (pin == NULL || pin->data == NULL || pin->len == 0)
		return hsm_fail(eb, SIGNET_EINVAL, "%s: empty PIN", what);
	if (pin->len > HSM_PIN_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "%s: PIN longer than %d octets", what,
				HSM_PIN_MAX);
	return SIGNET_OK;
}

signet_err hsm_token_initialize(hsm_ctx *ctx, const char *label, const sg_secret *so_pin,
				const sg_secret *user_pin, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (ctx == NULL || label == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_token_initialize: missing argument");
	size_t llen = strlen(label);
	if (llen == 0 || llen > 32 || !printable(label))
		return hsm_fail(eb, SIGNET_EINVAL,
				"hsm_token_initialize: a label is 1 to 32 "
				"printable ASCII characters");
	signet_err err = check_pin("hsm_token_initialize", so_pin, eb);
	if (err == SIGNET_OK)
		err = check_pin("hsm_token_initialize", user_pin, eb);
	if (err != SIGNET_OK)
		return err;

	pthread_rwlock_rdlock(&ctx->rw);
	if (!ctx->live) {
		pthread_rwlock_unlock(&ctx->rw);
		return hsm_fail(eb, SIGNET_EHSM_DOWN,
				"hsm_token_initialize: module not initialised");
	}
	CK_SLOT_ID *slots;
	CK_ULONG n;
	err = get_slots(ctx, &slots, &n, eb);
	if (err != SIGNET_OK) {
		pthread_rwlock_unlock(&ctx->rw);
		return err;
	}
	bool found = false;
	CK_SLOT_ID slot = 0;
	for (CK_ULONG i = 0; i < n && !found; i++) {
		CK_TOKEN_INFO ti;
		if (ctx->fn->C_GetTokenInfo(slots[i], &ti) == CKR_OK &&
		    !(ti.flags & CKF_TOKEN_INITIALIZED)) {
			slot = slots[i];
			found = true;
		}
	}
	free(slots);
	if (!found) {
		pthread_rwlock_unlock(&ctx->rw);
		return hsm_fail(eb, SIGNET_ENOTFOUND,
				"hsm_token_initialize: no uninitialised token");
	}

	CK_UTF8CHAR padded[32];
	memset(padded, ' ', sizeof(padded));
	memcpy(padded, label, llen);
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	CK_TOKEN_INFO ti;
	CK_RV rv = ctx->fn->C_InitToken(slot, so_pin->data, so_pin->len, padded);
	if (rv != CKR_OK) {
		err = hsm_fail_rv(eb, "C_InitToken", rv, "label '%s'", label);
		goto out;
	}
	/* Some modules (SoftHSM2) move the fresh token to a new slot: find it
	 * again by its serial. */
	rv = ctx->fn->C_GetTokenInfo(slot, &ti);
	if (rv != CKR_OK) {
		err = hsm_fail_rv(eb, "C_GetTokenInfo", rv, "after C_InitToken");
		goto out;
	}
	char serial[17];
	hsm_copy_padded(serial, sizeof(serial), ti.serialNumber, sizeof(ti.serialNumber));
	err = hsm_find_slot(ctx, NULL, serial, &slot, &ti, eb);
	if (err != SIGNET_OK)
		goto out;
	rv = ctx->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL, &h);
	if (rv != CKR_OK) {
		err = hsm_fail_rv(eb, "C_OpenSession", rv, "token '%s'", label);
		goto out;
	}
	rv = ctx->fn->C_Login(h, CKU_SO, so_pin->data, so_pin->len);
	if (rv != CKR_OK) {
		err = hsm_fail_rv(eb, "C_Login", rv, "as security officer of token '%s'", label);
		goto out;
	}
	rv = ctx->fn->C_InitPIN(h, user_pin->data, user_pin->len);
	if (rv != CKR_OK)
		err = hsm_fail_rv(eb, "C_InitPIN", rv, "token '%s'", label);
	(void)ctx->fn->C_Logout(h);
out:
	if (h != CK_INVALID_HANDLE)
		(void)ctx->fn->C_CloseSession(h);
	pthread_rwlock_unlock(&ctx->rw);
	return err;
}

/* ---- failed-login accounting ---- */

static struct hsm_login_fail *fail_entry(hsm_ctx *ctx, const char *serial, bool create)
{
	struct hsm_login_fail *free_slot = NULL;
	for (size_t i = 0; i < HSM_FAIL_SLOTS; i++) {
		struct hsm_login_fail *f = &ctx->fails[i];
		if (f->serial[0] != '\0' && strcmp(f->serial, serial) == 0)
			return f;
		if (free_slot == NULL && (f->serial[0] == '\0' || f->count == 0))
			free_slot = f;
	}
	if (!create || free_slot == NULL)
		return NULL;
	snprintf(free_slot->serial, sizeof(free_slot->serial), "%s", serial);
	free_slot->count = 0;
	return free_slot;
}

/* Failures so far, or HSM_LOGIN_FAILURES_MAX when the table is full of
 * failing tokens (fail closed rather than forget a count). */
static unsigned fail_count(hsm_ctx *ctx, const char *serial)
{
	pthread_mutex_lock(&ctx->fail_lock);
	struct hsm_login_fail *f = fail_entry(ctx, serial, true);
	unsigned c = f != NULL ? f->count : HSM_LOGIN_FAILURES_MAX;
	pthread_mutex_unlock(&ctx->fail_lock);
	return c;
}

static unsigned fail_note(hsm_ctx *ctx, const char *serial, bool ok, bool give_up)
{
	pthread_mutex_lock(&ctx->fail_lock);
	struct hsm_login_fail *f = fail_entry(ctx, serial, !ok);
	unsigned c = HSM_LOGIN_FAILURES_MAX;
	if (f != NULL) {
		if (ok)
			f->count = 0;
		else if (give_up)
			f->count = HSM_LOGIN_FAILURES_MAX;
		else if (f->count < HSM_LOGIN_FAILURES_MAX)
			f->count++;
		c = f->count;
	}
	pthread_mutex_unlock(&ctx->fail_lock);
	return c;
}

/* Log in on session h. relogin: the PIN is the stored one, already accepted
 * once; if the token now refuses it, it will refuse it every time, so stop
 * using it at once instead of spending the token's retry counter. */
static signet_err login(hsm_token *t, CK_SESSION_HANDLE h, bool relogin, hsm_errbuf *eb)
{
	hsm_ctx *ctx = t->ctx;
	unsigned failed = fail_count(ctx, t->serial);
	if (failed >= HSM_LOGIN_FAILURES_MAX)
		return hsm_fail(
			eb, SIGNET_EHSM_LOCKED,
			"C_Login not attempted: %u failed logins to "
			"token '%s' (serial %s) in this process; restart with the right PIN",
			failed, t->label, t->serial);
	CK_RV rv = ctx->fn->C_Login(h, CKU_USER, t->pin->data, t->pin->len);
	if (rv == CKR_OK || (relogin && rv == CKR_USER_ALREADY_LOGGED_IN)) {
		fail_note(ctx, t->serial, true, false);
		return SIGNET_OK;
	}
	if (rv == CKR_PIN_INCORRECT) {
		unsigned c = fail_note(ctx, t->serial, false, relogin);
		return hsm_fail_rv(eb, "C_Login", rv,
				   "wrong user PIN for token '%s' (%s; %u of %d "
				   "failed logins allowed before this process stops trying)",
				   t->label, relogin ? "the PIN that worked before" : "as given", c,
				   HSM_LOGIN_FAILURES_MAX);
	}
	if (rv == CKR_PIN_LOCKED)
		return hsm_fail_rv(eb, "C_Login", rv, "the user PIN of token '%s' is locked",
				   t->label);
	if (rv == CKR_USER_ALREADY_LOGGED_IN) {
		/* Someone else in this process holds the login, so the PIN was
		 * not checked: refuse rather than accept it unverified. */
		return hsm_fail(eb, SIGNET_ESTATE,
				"C_Login: token '%s' is already logged in by "
				"another user of this module in this process",
				t->label);
	}
	return hsm_fail_rv(eb, "C_Login", rv, "token '%s'", t->label);
}

static signet_err attach(hsm_token *t, bool relogin, hsm_errbuf *eb)
{
	hsm_ctx *ctx = t->ctx;
	CK_TOKEN_INFO ti;
	CK_SLOT_ID slot;
	signet_err err = hsm_find_slot(ctx, t->label, t->serial, &slot, &ti, eb);
	if (err == SIGNET_ENOTFOUND)
		return hsm_fail(eb, SIGNET_EHSM_DOWN, "token '%s' (serial %s) is not present",
				t->label, t->serial);
	if (err != SIGNET_OK)
		return err;
	CK_SESSION_HANDLE h;
	CK_RV rv = ctx->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL, NULL,
					  &h);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_OpenSession", rv, "token '%s'", t->label);
	err = login(t, h, relogin, eb);
	if (err != SIGNET_OK) {
		(void)ctx->fn->C_CloseSession(h);
		return err;
	}
	t->slot = slot;
	t->admin = h;
	t->up = true;
	return SIGNET_OK;
}

signet_err hsm_token_attach(hsm_token *t, hsm_errbuf *eb)
{
	return attach(t, true, eb);
}

signet_err hsm_token_ensure_login(hsm_token *t, hsm_errbuf *eb)
{
	hsm_ctx *ctx = t->ctx;
	if (!ctx->live || !t->up)
		return hsm_fail_rv(eb, "hsm", CKR_TOKEN_NOT_PRESENT, "token '%s' is not connected",
				   t->label);
	CK_SESSION_INFO si;
	CK_RV rv = ctx->fn->C_GetSessionInfo(t->admin, &si);
	if (rv != CKR_OK) {
		if (hsm_rv_is_gone(rv))
			return hsm_fail_rv(eb, "C_GetSessionInfo", rv, "token '%s'", t->label);
		/* The admin session was closed behind our back: the login went
		 * with it if it was the last session. Open a new one. */
		CK_SESSION_HANDLE h;
		rv = ctx->fn->C_OpenSession(t->slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
					    NULL, &h);
		if (rv != CKR_OK)
			return hsm_fail_rv(eb, "C_OpenSession", rv, "token '%s'", t->label);
		t->admin = h;
		rv = ctx->fn->C_GetSessionInfo(h, &si);
		if (rv != CKR_OK)
			return hsm_fail_rv(eb, "C_GetSessionInfo", rv, "token '%s'", t->label);
	}
	if (si.state == CKS_RW_USER_FUNCTIONS || si.state == CKS_RO_USER_FUNCTIONS)
		return SIGNET_OK;
	return login(t, t->admin, true, eb);
}

signet_err hsm_admin_run(hsm_token *t, hsm_admin_op op, void *arg, hsm_errbuf *eb)
{
	hsm_ctx *ctx = t->ctx;
	signet_err err = SIGNET_OK;
	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_rwlock_rdlock(&ctx->rw);
		uint64_t gen = ctx->gen;
		eb->rv = CKR_OK;
		pthread_mutex_lock(&t->admin_lock);
		err = hsm_token_ensure_login(t, eb);
		if (err == SIGNET_OK)
			err = op(t, t->admin, arg, eb);
		pthread_mutex_unlock(&t->admin_lock);
		CK_RV rv = eb->rv;
		bool fault = err != SIGNET_OK && hsm_rv_is_fault(rv);
		bool gone = !ctx->live || !t->up || hsm_rv_is_gone(rv);
		if (fault && !gone) {
			CK_TOKEN_INFO ti;
			gone = ctx->fn->C_GetTokenInfo(t->slot, &ti) != CKR_OK;
		}
		pthread_rwlock_unlock(&ctx->rw);
		if (!fault || attempt == 1)
			break;
		if (gone) {
			signet_err rerr = hsm_module_reconnect(ctx, t, gen, eb);
			if (rerr != SIGNET_OK)
				return rerr;
		}
		/* Otherwise the next hsm_token_ensure_login reopens the session. */
	}
	return err;
}

signet_err hsm_token_open(hsm_ctx *ctx, const char *label, const char *serial, const sg_secret *pin,
			  hsm_token **out, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_token_open: no output");
	*out = NULL;
	if (ctx == NULL || (label == NULL && serial == NULL))
		return hsm_fail(eb, SIGNET_EINVAL,
				"hsm_token_open: a module and a label or serial "
				"are required");
	if (serial != NULL && (serial[0] == '\0' || strlen(serial) > 16 || !printable(serial)))
		return hsm_fail(eb, SIGNET_EINVAL,
				"hsm_token_open: a serial is 1 to 16 printable "
				"characters");
	if (serial == NULL && (label[0] == '\0' || strlen(label) > 32 || !printable(label)))
		return hsm_fail(eb, SIGNET_EINVAL,
				"hsm_token_open: a label is 1 to 32 printable "
				"characters");
	signet_err err = check_pin("hsm_token_open", pin, eb);
	if (err != SIGNET_OK)
		return err;

	hsm_token *t = calloc(1, sizeof(*t));
	if (t == NULL)
		return hsm_fail(eb, SIGNET_ENOMEM, "hsm_token_open: out of memory");
	t->ctx = ctx;
	t->admin = CK_INVALID_HANDLE;
	t->session_copies = true;
	atomic_init(&t->nsessions, 0);
	atomic_init(&t->key_epoch, 0);
	pthread_mutex_init(&t->admin_lock, NULL);
	err = sg_secret_new(pin->len, &t->pin);
	if (err != SIGNET_OK) {
		pthread_mutex_destroy(&t->admin_lock);
		free(t);
		return hsm_fail(eb, err, "hsm_token_open: cannot allocate secret memory");
	}
	memcpy(t->pin->data, pin->data, pin->len);
	t->pin->len = pin->len;
	t->pin->data[pin->len] = '\0';

	pthread_rwlock_wrlock(&ctx->rw);
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	if (!ctx->live)
		err = hsm_fail(eb, SIGNET_EHSM_DOWN, "hsm_token_open: module %s is not initialised",
			       ctx->path);
	else
		err = hsm_find_slot(ctx, serial != NULL ? NULL : label, serial, &slot, &ti, eb);
	if (err == SIGNET_OK) {
		hsm_copy_padded(t->label, sizeof(t->label), ti.label, sizeof(ti.label));
		hsm_copy_padded(t->serial, sizeof(t->serial), ti.serialNumber,
				sizeof(ti.serialNumber));
		for (hsm_token *o = ctx->tokens; o != NULL; o = o->next)
			if (strcmp(o->serial, t->serial) == 0 && strcmp(o->label, t->label) == 0)
				err = hsm_fail(eb, SIGNET_ESTATE,
					       "hsm_token_open: token '%s' is "
					       "already open in this context",
					       t->label);
	}
	if (err == SIGNET_OK)
		err = attach(t, false, eb);
	if (err != SIGNET_OK) {
		pthread_rwlock_unlock(&ctx->rw);
		sg_secret_free(t->pin);
		pthread_mutex_destroy(&t->admin_lock);
		free(t);
		return err;
	}
	t->next = ctx->tokens;
	ctx->tokens = t;
	pthread_rwlock_unlock(&ctx->rw);
	*out = t;
	return SIGNET_OK;
}

void hsm_token_close(hsm_token *t)
{
	if (t == NULL)
		return;
	hsm_ctx *ctx = t->ctx;
	if (atomic_load(&t->nsessions) != 0)
		sg_log(SG_LOG_ERROR, "hsm_token_close: %u sessions of token '%s' still open",
		       atomic_load(&t->nsessions), t->label);
	pthread_rwlock_wrlock(&ctx->rw);
	for (hsm_token **p = &ctx->tokens; *p != NULL; p = &(*p)->next) {
		if (*p == t) {
			*p = t->next;
			break;
		}
	}
	if (ctx->live && t->up) {
		(void)ctx->fn->C_Logout(t->admin);
		(void)ctx->fn->C_CloseAllSessions(t->slot);
	}
	pthread_rwlock_unlock(&ctx->rw);
	sg_secret_free(t->pin);
	pthread_mutex_destroy(&t->admin_lock);
	free(t);
}

static signet_err describe_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	(void)h;
	CK_TOKEN_INFO ti;
	CK_RV rv = t->ctx->fn->C_GetTokenInfo(t->slot, &ti);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_GetTokenInfo", rv, "token '%s'", t->label);
	fill_desc(t->slot, &ti, arg);
	return SIGNET_OK;
}

signet_err hsm_token_describe(hsm_token *t, hsm_token_desc *out, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_token_describe: missing argument");
	/* Through the admin path, so a health check that finds the token gone
	 * also brings it back once it has returned. */
	signet_err err = hsm_admin_run(t, describe_op, out, eb);
	/* Whatever the module says, a token we cannot describe is one we
	 * cannot use now: the caller may retry later. */
	if (err == SIGNET_EHSM)
		err = SIGNET_EHSM_DOWN;
	return err;
}

struct setpin_arg {
	const sg_secret *new_pin;
	sg_secret *copy;
};

static signet_err setpin_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct setpin_arg *a = arg;
	CK_RV rv = t->ctx->fn->C_SetPIN(h, t->pin->data, t->pin->len, a->new_pin->data,
					a->new_pin->len);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_SetPIN", rv, "token '%s'", t->label);
	/* t->pin is read only under admin_lock or the write lock. */
	sg_secret *old = t->pin;
	t->pin = a->copy;
	a->copy = old;
	return SIGNET_OK;
}

signet_err hsm_token_set_pin(hsm_token *t, const sg_secret *new_pin, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_token_set_pin: no token");
	signet_err err = check_pin("hsm_token_set_pin", new_pin, eb);
	if (err != SIGNET_OK)
		return err;
	struct setpin_arg a = {new_pin, NULL};
	err = sg_secret_new(new_pin->len, &a.copy);
	if (err != SIGNET_OK)
		return hsm_fail(eb, err, "hsm_token_set_pin: cannot allocate secret memory");
	memcpy(a.copy->data, new_pin->data, new_pin->len);
	a.copy->len = new_pin->len;
	a.copy->data[new_pin->len] = '\0';
	err = hsm_admin_run(t, setpin_op, &a, eb);
	sg_secret_free(a.copy); /* the old PIN on success, the unused copy otherwise */
	return err;
}

signet_err hsm_token_reconnect(hsm_token *t, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_token_reconnect: no token");
	pthread_rwlock_rdlock(&t->ctx->rw);
	uint64_t gen = t->ctx->gen;
	pthread_rwlock_unlock(&t->ctx->rw);
	return hsm_module_reconnect(t->ctx, t, gen, eb);
}
