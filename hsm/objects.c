/* objects.c -- token data objects by label, object counts, the SO's C_InitPIN. */

#include <stdlib.h>
#include <string.h>

#include "hsm/internal.h"

#define APPLICATION "signet"

static bool label_ok(const char *label)
{
	size_t n = label != NULL ? strlen(label) : 0;
	if (n == 0 || n > HSM_LABEL_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)label[i] < 0x20 || (unsigned char)label[i] > 0x7e)
			return false;
	return true;
}

/* Token data objects with this label and privacy, searched in session h. */
static signet_err find_data(hsm_ctx *ctx, CK_SESSION_HANDLE h, const char *label, bool private_obj,
			    CK_OBJECT_HANDLE *found, size_t *n, hsm_errbuf *eb)
{
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, priv = private_obj ? CK_TRUE : CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_PRIVATE, &priv, sizeof(priv)},
		{CKA_LABEL, (void *)label, strlen(label)},
	};
	*n = 0;
	CK_RV rv = ctx->fn->C_FindObjectsInit(h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]));
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_FindObjectsInit", rv, "data object '%s'", label);
	/* Two are enough to know there is more than one. */
	CK_OBJECT_HANDLE objs[2];
	CK_ULONG got = 0;
	rv = ctx->fn->C_FindObjects(h, objs, 2, &got);
	CK_RV frv = ctx->fn->C_FindObjectsFinal(h);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_FindObjects", rv, "data object '%s'", label);
	if (frv != CKR_OK)
		return hsm_fail_rv(eb, "C_FindObjectsFinal", frv, "data object '%s'", label);
	if (got > 1)
		return hsm_fail(eb, SIGNET_ESTATE,
				"the token holds more than one %s data object "
				"labelled '%s'",
				private_obj ? "private" : "public", label);
	*n = got;
	if (got == 1)
		*found = objs[0];
	return SIGNET_OK;
}

/* The CKA_VALUE of obj, at most max octets, appended to out. */
static signet_err read_value(hsm_ctx *ctx, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			     const char *label, size_t max, sg_buf *out, hsm_errbuf *eb)
{
	CK_ATTRIBUTE a = {CKA_VALUE, NULL, 0};
	CK_RV rv = ctx->fn->C_GetAttributeValue(h, obj, &a, 1);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_GetAttributeValue", rv, "data object '%s'", label);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > max)
		return hsm_fail(eb, SIGNET_ERANGE, "data object '%s' is larger than %zu octets",
				label, max);
	size_t mark = out->len;
	signet_err err = sg_buf_reserve(out, a.ulValueLen + 1);
	if (err != SIGNET_OK)
		return hsm_fail(eb, err, "data object '%s': out of memory", label);
	a.pValue = out->data + mark;
	rv = ctx->fn->C_GetAttributeValue(h, obj, &a, 1);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_GetAttributeValue", rv, "data object '%s'", label);
	out->len = mark + a.ulValueLen;
	return SIGNET_OK;
}

struct data_arg {
	const char *label;
	bool private_obj;
	size_t max;
	sg_buf *out;          /* read */
	const uint8_t *value; /* write */
	size_t len;
	size_t count; /* count */
};

static signet_err data_read_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct data_arg *a = arg;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	size_t n = 0;
	signet_err err = find_data(t->ctx, h, a->label, a->private_obj, &obj, &n, eb);
	if (err != SIGNET_OK)
		return err;
	if (n == 0)
		return hsm_fail(eb, SIGNET_ENOTFOUND, "no data object '%s' in token '%s'", a->label,
				t->label);
	return read_value(t->ctx, h, obj, a->label, a->max, a->out, eb);
}

signet_err hsm_data_read(hsm_token *t, const char *label, bool private_obj, size_t max, sg_buf *out,
			 char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || !label_ok(label) || out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_data_read: bad argument");
	struct data_arg a = {.label = label, .private_obj = private_obj, .max = max, .out = out};
	return hsm_admin_run(t, data_read_op, &a, eb);
}

static signet_err data_write_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct data_arg *a = arg;
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	size_t n = 0;
	signet_err err = find_data(t->ctx, h, a->label, a->private_obj, &obj, &n, eb);
	if (err != SIGNET_OK)
		return err;
	CK_RV rv;
	CK_OBJECT_HANDLE old = n == 1 ? obj : CK_INVALID_HANDLE;
	CK_OBJECT_CLASS cls = CKO_DATA;
	CK_BBOOL yes = CK_TRUE, priv = a->private_obj ? CK_TRUE : CK_FALSE;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_PRIVATE, &priv, sizeof(priv)},
		{CKA_MODIFIABLE, &yes, sizeof(yes)},
		{CKA_LABEL, (void *)a->label, strlen(a->label)},
		{CKA_APPLICATION, APPLICATION, sizeof(APPLICATION) - 1},
		{CKA_VALUE, (void *)a->value, a->len},
	};
	rv = t->ctx->fn->C_CreateObject(h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &obj);
	/* The label and value were checked before: a module refusing this
	 * plain template keeps no token data objects at all (NSS's softokn),
	 * which is what it lacks, not a bad argument of the caller's. */
	if (rv == CKR_ATTRIBUTE_VALUE_INVALID || rv == CKR_ATTRIBUTE_TYPE_INVALID ||
	    rv == CKR_TEMPLATE_INCONSISTENT)
		return hsm_fail(eb, SIGNET_EUNSUPPORTED,
				"token '%s' keeps no data objects (C_CreateObject of a %s "
				"CKO_DATA token object: %s): nothing written",
				t->label, a->private_obj ? "private" : "public", hsm_rv_name(rv));
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_CreateObject", rv, "data object '%s'", a->label);
	/* Not every module lets CKA_VALUE change (SoftHSM2 does not): the new
	 * object exists before the old one goes, so the token never holds
	 * none; an interruption between leaves two, which readers refuse. */
	if (old != CK_INVALID_HANDLE && (rv = t->ctx->fn->C_DestroyObject(h, old)) != CKR_OK) {
		(void)t->ctx->fn->C_DestroyObject(h, obj);
		return hsm_fail_rv(eb, "C_DestroyObject", rv, "old data object '%s'", a->label);
	}
	return SIGNET_OK;
}

signet_err hsm_data_write(hsm_token *t, const char *label, bool private_obj, const uint8_t *value,
			  size_t len, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || !label_ok(label) || (value == NULL && len) || len > HSM_DATA_MAX)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_data_write: bad argument");
	struct data_arg a = {
		.label = label, .private_obj = private_obj, .value = value, .len = len};
	return hsm_admin_run(t, data_write_op, &a, eb);
}

signet_err hsm_data_read_public(hsm_ctx *ctx, const char *token_label, const char *label,
				size_t max, sg_buf *out, char serial[17], char *errmsg,
				size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (ctx == NULL || token_label == NULL || !label_ok(label) || out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_data_read_public: bad argument");
	pthread_rwlock_rdlock(&ctx->rw);
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	signet_err err = ctx->live ? hsm_find_slot(ctx, token_label, NULL, &slot, &ti, eb)
				   : hsm_fail(eb, SIGNET_EHSM_DOWN, "module not initialised");
	if (err == SIGNET_OK && serial != NULL)
		hsm_copy_padded(serial, 17, ti.serialNumber, sizeof(ti.serialNumber));
	if (err == SIGNET_OK) {
		CK_RV rv = ctx->fn->C_OpenSession(slot, CKF_SERIAL_SESSION, NULL, NULL, &h);
		if (rv != CKR_OK)
			err = hsm_fail_rv(eb, "C_OpenSession", rv, "token '%s'", token_label);
	}
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	size_t n = 0;
	if (err == SIGNET_OK)
		err = find_data(ctx, h, label, false, &obj, &n, eb);
	if (err == SIGNET_OK && n == 0)
		err = hsm_fail(eb, SIGNET_ENOTFOUND, "no public data object '%s' in token '%s'",
			       label, token_label);
	if (err == SIGNET_OK)
		err = read_value(ctx, h, obj, label, max, out, eb);
	if (h != CK_INVALID_HANDLE)
		(void)ctx->fn->C_CloseSession(h);
	pthread_rwlock_unlock(&ctx->rw);
	return err;
}

static signet_err count_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct data_arg *a = arg;
	CK_OBJECT_HANDLE *all = NULL;
	signet_err err = hsm_find_objects(t, h, (CK_OBJECT_CLASS)-1, NULL, 0, &all, &a->count, eb);
	free(all);
	return err;
}

signet_err hsm_object_count(hsm_token *t, size_t *n, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || n == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_object_count: bad argument");
	struct data_arg a = {.label = NULL};
	signet_err err = hsm_admin_run(t, count_op, &a, eb);
	*n = err == SIGNET_OK ? a.count : 0;
	return err;
}

signet_err hsm_so_init_pin(hsm_ctx *ctx, const char *serial, const sg_secret *so_pin,
			   const sg_secret *new_so_pin, const sg_secret *user_pin,
			   unsigned *changed, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	unsigned set = 0;
	if (changed != NULL)
		*changed = 0;
	if (ctx == NULL || serial == NULL || so_pin == NULL || so_pin->len == 0 ||
	    user_pin == NULL || user_pin->len == 0 || so_pin->len > 255 || user_pin->len > 255 ||
	    (new_so_pin != NULL && (new_so_pin->len == 0 || new_so_pin->len > 255)))
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_so_init_pin: bad argument");
	pthread_rwlock_rdlock(&ctx->rw);
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	signet_err err = ctx->live ? hsm_find_slot(ctx, NULL, serial, &slot, &ti, eb)
				   : hsm_fail(eb, SIGNET_EHSM_DOWN, "module not initialised");
	for (hsm_token *o = ctx->tokens; err == SIGNET_OK && o != NULL; o = o->next)
		if (strcmp(o->serial, serial) == 0)
			err = hsm_fail(eb, SIGNET_ESTATE,
				       "hsm_so_init_pin: token %s is open for its "
				       "user in this context",
				       serial);
	if (err == SIGNET_OK) {
		CK_RV rv = ctx->fn->C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION, NULL,
						  NULL, &h);
		if (rv != CKR_OK)
			err = hsm_fail_rv(eb, "C_OpenSession", rv, "token %s", serial);
	}
	if (err == SIGNET_OK) {
		CK_RV rv = ctx->fn->C_Login(h, CKU_SO, so_pin->data, so_pin->len);
		if (rv != CKR_OK) {
			err = hsm_fail_rv(eb, "C_Login", rv, "as security officer of token %s",
					  serial);
		} else {
			/* The user PIN first: should the SO PIN change fail, the
			 * old SO PIN still holds and the caller knows which did. */
			rv = ctx->fn->C_InitPIN(h, user_pin->data, user_pin->len);
			if (rv != CKR_OK)
				err = hsm_fail_rv(eb, "C_InitPIN", rv, "token %s", serial);
			else
				set |= HSM_PIN_USER;
			if (err == SIGNET_OK && new_so_pin != NULL) {
				rv = ctx->fn->C_SetPIN(h, so_pin->data, so_pin->len,
						       new_so_pin->data, new_so_pin->len);
				if (rv != CKR_OK)
					err = hsm_fail_rv(eb, "C_SetPIN", rv,
							  "SO PIN of token %s "
							  "(the user PIN was set)",
							  serial);
				else
					set |= HSM_PIN_SO;
			}
			(void)ctx->fn->C_Logout(h);
		}
	}
	if (h != CK_INVALID_HANDLE)
		(void)ctx->fn->C_CloseSession(h);
	pthread_rwlock_unlock(&ctx->rw);
	if (changed != NULL)
		*changed = set;
	return err;
}
