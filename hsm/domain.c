/* domain.c -- the backup-domain key: its identity, its installation by the SO, and the
 * check of its attributes before every use. */

#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/internal.h"

signet_err hsm_domain_id(const sg_secret *key, uint8_t id[HSM_ID_LEN], char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (key == NULL || key->len != HSM_DOMAIN_KEY_LEN || id == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_domain_id: the key is %d octets",
				HSM_DOMAIN_KEY_LEN);
	static const char tag[] = "signet backup domain v1";
	uint8_t md[EVP_MAX_MD_SIZE];
	unsigned mdlen = 0;
	EVP_MD_CTX *c = EVP_MD_CTX_new();
	bool ok = c != NULL && EVP_DigestInit_ex(c, EVP_sha256(), NULL) == 1 &&
		  EVP_DigestUpdate(c, tag, sizeof(tag) - 1) == 1 &&
		  EVP_DigestUpdate(c, key->data, key->len) == 1 &&
		  EVP_DigestFinal_ex(c, md, &mdlen) == 1 && mdlen >= HSM_ID_LEN;
	EVP_MD_CTX_free(c);
	if (!ok)
		return hsm_fail(eb, SIGNET_ECRYPTO, "hsm_domain_id: SHA-256 failed");
	memcpy(id, md, HSM_ID_LEN);
	return SIGNET_OK;
}

/* Every secret-key token object labelled as a domain, on session h. */
static signet_err find_domains(hsm_ctx *ctx, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE *objs,
			       size_t max, size_t *n, hsm_errbuf *eb)
{
	CK_BBOOL yes = CK_TRUE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_LABEL, (void *)HSM_DOMAIN_LABEL, sizeof(HSM_DOMAIN_LABEL) - 1},
	};
	*n = 0;
	CK_RV rv = ctx->fn->C_FindObjectsInit(h, tmpl, 3);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_FindObjectsInit", rv, "domain key");
	CK_ULONG got = 0;
	rv = ctx->fn->C_FindObjects(h, objs, max, &got);
	CK_RV frv = ctx->fn->C_FindObjectsFinal(h);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_FindObjects", rv, "domain key");
	if (frv != CKR_OK)
		return hsm_fail_rv(eb, "C_FindObjectsFinal", frv, "domain key");
	*n = got;
	return SIGNET_OK;
}

/* CKA_TRUSTED means something only where the user cannot set it: try to
 * make a session key marked trusted on the user's session h (never the SO's,
 * who may). SoftHSM2 refuses (CKR_ATTRIBUTE_READ_ONLY); NSS's softokn makes
 * it, and there any holder of the user PIN could make a "domain" of a value
 * they know. */
static signet_err check_trust_reserved(hsm_token *t, CK_SESSION_HANDLE h, hsm_errbuf *eb)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	uint8_t value[HSM_DOMAIN_KEY_LEN] = {0}; /* a probe, never used */
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)}, {CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &no, sizeof(no)},   {CKA_VALUE, value, sizeof(value)},
		{CKA_WRAP, &yes, sizeof(yes)},  {CKA_TRUSTED, &yes, sizeof(yes)},
	};
	CK_OBJECT_HANDLE o = CK_INVALID_HANDLE;
	CK_RV rv = t->ctx->fn->C_CreateObject(h, tmpl, 6, &o);
	if (rv == CKR_OK) {
		(void)t->ctx->fn->C_DestroyObject(h, o);
		return hsm_fail(eb, SIGNET_EHSM_KEY,
				"token '%s' lets its user mark a key CKA_TRUSTED: "
				"a backup domain there protects nothing (docs/HSM.md)",
				t->label);
	}
	if (hsm_rv_is_fault(rv))
		return hsm_fail_rv(eb, "C_CreateObject", rv,
				   "checking who may set CKA_TRUSTED in "
				   "token '%s'",
				   t->label);
	return SIGNET_OK;
}

/* What the domain key must be, attribute by attribute. */
static signet_err check_domain(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			       uint8_t id[HSM_ID_LEN], hsm_errbuf *eb)
{
	CK_ULONG kt = 0, vlen = 0;
	signet_err err = hsm_attr_ulong(t, h, obj, CKA_KEY_TYPE, &kt, eb);
	if (err == SIGNET_OK)
		err = hsm_attr_ulong(t, h, obj, CKA_VALUE_LEN, &vlen, eb);
	if (err != SIGNET_OK)
		return err;
	if (kt != CKK_AES || vlen != HSM_DOMAIN_KEY_LEN)
		return hsm_fail(eb, SIGNET_EHSM_KEY, "domain key of token '%s' is not AES-256",
				t->label);
	static const struct {
		CK_ATTRIBUTE_TYPE type;
		bool want;
		const char *name;
	} rules[] = {
		{CKA_TOKEN, true, "token"},         {CKA_TRUSTED, true, "trusted"},
		{CKA_WRAP, true, "wrap"},           {CKA_UNWRAP, true, "unwrap"},
		{CKA_SENSITIVE, true, "sensitive"}, {CKA_EXTRACTABLE, false, "extractable"},
		{CKA_ENCRYPT, false, "encrypt"},    {CKA_DECRYPT, false, "decrypt"},
		{CKA_SIGN, false, "sign"},          {CKA_VERIFY, false, "verify"},
		{CKA_DERIVE, false, "derive"},      {CKA_MODIFIABLE, false, "modifiable"},
		{CKA_COPYABLE, false, "copyable"},
	};
	for (size_t i = 0; i < sizeof(rules) / sizeof(rules[0]); i++) {
		hsm_flag f = HSM_FLAG_ABSENT;
		err = hsm_attr_flag(t, h, obj, rules[i].type, &f, eb);
		if (err != SIGNET_OK)
			return err;
		/* Every rule wants the attribute said: a module that does not
		 * report one cannot show the domain key is what it must be. */
		if (f == HSM_FLAG_ABSENT)
			return hsm_fail(eb, SIGNET_EHSM_KEY,
					"domain key of token '%s': the module does not report "
					"%s",
					t->label, rules[i].name);
		bool v = f == HSM_FLAG_TRUE;
		if (v != rules[i].want)
			return hsm_fail(eb, SIGNET_EHSM_KEY, "domain key of token '%s': %s is %s",
					t->label, rules[i].name, v ? "true" : "false");
	}
	/* The unwrap template is what keeps a backup from being unwrapped into a
	 * readable key; an empty one (a module's default) would allow that. */
	CK_ATTRIBUTE ut = {CKA_UNWRAP_TEMPLATE, NULL, 0};
	CK_RV rv = t->ctx->fn->C_GetAttributeValue(h, obj, &ut, 1);
	if (rv != CKR_OK || ut.ulValueLen == CK_UNAVAILABLE_INFORMATION ||
	    ut.ulValueLen < 5 * sizeof(CK_ATTRIBUTE))
		return hsm_fail(eb, SIGNET_EHSM_KEY,
				"domain key of token '%s' has no unwrap "
				"template",
				t->label);
	uint8_t buf[HSM_ID_MAX];
	CK_ATTRIBUTE a = {CKA_ID, buf, sizeof(buf)};
	rv = t->ctx->fn->C_GetAttributeValue(h, obj, &a, 1);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_GetAttributeValue", rv, "CKA_ID of the domain key");
	if (a.ulValueLen != HSM_ID_LEN)
		return hsm_fail(eb, SIGNET_EHSM_KEY, "domain key of token '%s' has a %lu-octet ID",
				t->label, (unsigned long)a.ulValueLen);
	memcpy(id, buf, HSM_ID_LEN);
	return SIGNET_OK;
}

signet_err hsm_domain_handle(hsm_token *t, CK_SESSION_HANDLE h, const uint8_t domain_id[HSM_ID_LEN],
			     CK_OBJECT_HANDLE *out, hsm_errbuf *eb)
{
	CK_OBJECT_HANDLE objs[2];
	size_t n = 0;
	signet_err err = find_domains(t->ctx, h, objs, 2, &n, eb);
	if (err != SIGNET_OK)
		return err;
	if (n == 0)
		return hsm_fail(eb, SIGNET_ENOTFOUND, "token '%s' holds no backup domain",
				t->label);
	if (n > 1)
		return hsm_fail(eb, SIGNET_ESTATE, "token '%s' holds several backup domains",
				t->label);
	/* The module's rule first: where the user can set CKA_TRUSTED, no key's
	 * attributes can make it a domain, and that is the reason to give. */
	uint8_t id[HSM_ID_LEN];
	err = check_trust_reserved(t, h, eb);
	if (err == SIGNET_OK)
		err = check_domain(t, h, objs[0], id, eb);
	if (err != SIGNET_OK)
		return err;
	if (domain_id != NULL && memcmp(id, domain_id, HSM_ID_LEN) != 0)
		return hsm_fail(eb, SIGNET_ENOTFOUND, "token '%s' holds another backup domain",
				t->label);
	*out = objs[0];
	return SIGNET_OK;
}

struct find_arg {
	uint8_t *id;
};

static signet_err find_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct find_arg *a = arg;
	CK_OBJECT_HANDLE objs[2];
	size_t n = 0;
	signet_err err = find_domains(t->ctx, h, objs, 2, &n, eb);
	if (err != SIGNET_OK)
		return err;
	if (n == 0)
		return hsm_fail(eb, SIGNET_ENOTFOUND, "token '%s' holds no backup domain",
				t->label);
	if (n > 1)
		return hsm_fail(eb, SIGNET_ESTATE, "token '%s' holds several backup domains",
				t->label);
	err = check_trust_reserved(t, h, eb);
	return err == SIGNET_OK ? check_domain(t, h, objs[0], a->id, eb) : err;
}

signet_err hsm_domain_find(hsm_token *t, uint8_t id[HSM_ID_LEN], char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || id == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_domain_find: missing argument");
	struct find_arg a = {id};
	return hsm_admin_run(t, find_op, &a, eb);
}

/* Create the domain key on the SO's session h. */
static signet_err create_domain(hsm_ctx *ctx, CK_SESSION_HANDLE h, const char *serial,
				const sg_secret *key, const uint8_t id[HSM_ID_LEN], hsm_errbuf *eb)
{
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_SECRET_KEY, priv_cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = CKK_AES;
	CK_MECHANISM_TYPE allowed = CKM_AES_KEY_WRAP_PAD;
	/* Whatever the domain unwraps is a private, sensitive, sign-only key
	 * that again leaves only to a trusted key. */
	CK_ATTRIBUTE unwrap_tmpl[] = {
		{CKA_CLASS, &priv_cls, sizeof(priv_cls)},
		{CKA_PRIVATE, &yes, sizeof(yes)},
		{CKA_SENSITIVE, &yes, sizeof(yes)},
		{CKA_WRAP_WITH_TRUSTED, &yes, sizeof(yes)},
		{CKA_DECRYPT, &no, sizeof(no)},
		{CKA_UNWRAP, &no, sizeof(no)},
		{CKA_DERIVE, &no, sizeof(no)},
	};
	CK_ATTRIBUTE wrap_tmpl[] = {
		{CKA_WRAP_WITH_TRUSTED, &yes, sizeof(yes)},
	};
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &yes, sizeof(yes)},
		/* An SO session can make public objects only; sensitive and
		 * never extractable, the value still never leaves. */
		{CKA_PRIVATE, &no, sizeof(no)},
		{CKA_SENSITIVE, &yes, sizeof(yes)},
		{CKA_EXTRACTABLE, &no, sizeof(no)},
		{CKA_TRUSTED, &yes, sizeof(yes)},
		{CKA_WRAP, &yes, sizeof(yes)},
		{CKA_UNWRAP, &yes, sizeof(yes)},
		{CKA_ENCRYPT, &no, sizeof(no)},
		{CKA_DECRYPT, &no, sizeof(no)},
		{CKA_SIGN, &no, sizeof(no)},
		{CKA_VERIFY, &no, sizeof(no)},
		{CKA_DERIVE, &no, sizeof(no)},
		{CKA_ALLOWED_MECHANISMS, &allowed, sizeof(allowed)},
		{CKA_WRAP_TEMPLATE, wrap_tmpl, sizeof(wrap_tmpl)},
		{CKA_UNWRAP_TEMPLATE, unwrap_tmpl, sizeof(unwrap_tmpl)},
		{CKA_ID, (void *)id, HSM_ID_LEN},
		{CKA_LABEL, (void *)HSM_DOMAIN_LABEL, sizeof(HSM_DOMAIN_LABEL) - 1},
		{CKA_VALUE, key->data, key->len},
		/* Last: nobody, the SO included, changes or copies it after. */
		{CKA_COPYABLE, &no, sizeof(no)},
		{CKA_MODIFIABLE, &no, sizeof(no)},
	};
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	CK_RV rv = ctx->fn->C_CreateObject(h, tmpl, sizeof(tmpl) / sizeof(tmpl[0]), &obj);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_CreateObject", rv, "domain key in token %s", serial);
	/* Read back what the token made, as a user would see it. */
	hsm_token probe;
	memset(&probe, 0, sizeof(probe));
	probe.ctx = ctx;
	snprintf(probe.label, sizeof(probe.label), "%s", serial);
	uint8_t got[HSM_ID_LEN];
	signet_err err = check_domain(&probe, h, obj, got, eb);
	if (err == SIGNET_OK && memcmp(got, id, HSM_ID_LEN) != 0)
		err = hsm_fail(eb, SIGNET_EHSM_KEY, "domain key of token %s: ID changed", serial);
	if (err != SIGNET_OK)
		(void)ctx->fn->C_DestroyObject(h, obj);
	return err;
}

signet_err hsm_domain_install(hsm_ctx *ctx, const char *serial, const sg_secret *so_pin,
			      const sg_secret *key, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (ctx == NULL || serial == NULL || so_pin == NULL || so_pin->len == 0 ||
	    so_pin->len > 255 || key == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_domain_install: bad argument");
	uint8_t id[HSM_ID_LEN];
	signet_err err = hsm_domain_id(key, id, eb->errmsg, eb->errlen);
	if (err != SIGNET_OK)
		return err;
	pthread_rwlock_rdlock(&ctx->rw);
	CK_SLOT_ID slot;
	CK_TOKEN_INFO ti;
	CK_SESSION_HANDLE h = CK_INVALID_HANDLE;
	err = ctx->live ? hsm_find_slot(ctx, NULL, serial, &slot, &ti, eb)
			: hsm_fail(eb, SIGNET_EHSM_DOWN, "module not initialised");
	for (hsm_token *o = ctx->tokens; err == SIGNET_OK && o != NULL; o = o->next)
		if (strcmp(o->serial, serial) == 0)
			err = hsm_fail(eb, SIGNET_ESTATE,
				       "hsm_domain_install: token %s is open for "
				       "its user in this context",
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
			CK_OBJECT_HANDLE objs[2];
			size_t n = 0;
			err = find_domains(ctx, h, objs, 2, &n, eb);
			if (err == SIGNET_OK && n > 0) {
				uint8_t have[HSM_ID_LEN] = {0};
				CK_ATTRIBUTE a = {CKA_ID, have, sizeof(have)};
				CK_RV grv = ctx->fn->C_GetAttributeValue(h, objs[0], &a, 1);
				err = n == 1 && grv == CKR_OK && a.ulValueLen == HSM_ID_LEN &&
						      memcmp(have, id, HSM_ID_LEN) == 0
					      ? hsm_fail(eb, SIGNET_EEXIST,
							 "token %s holds this backup "
							 "domain already",
							 serial)
					      : hsm_fail(eb, SIGNET_ESTATE,
							 "token %s holds another "
							 "backup domain",
							 serial);
			}
			/* A token whose wrap is another variant gets no domain:
			 * its backups would be read by no other token. */
			if (err == SIGNET_OK)
				err = hsm_wrap_pad_kat(ctx, h, serial, eb);
			if (err == SIGNET_OK)
				err = create_domain(ctx, h, serial, key, id, eb);
			(void)ctx->fn->C_Logout(h);
		}
	}
	if (h != CK_INVALID_HANDLE)
		(void)ctx->fn->C_CloseSession(h);
	pthread_rwlock_unlock(&ctx->rw);
	return err;
}
