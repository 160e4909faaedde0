/* backup.c -- wrapping a private key to the backup domain, unwrapping it into a token
 * or session object, and signing with an unwrapped copy as the proof of a backup. */

#include <stdlib.h>
#include <string.h>

#include "hsm/internal.h"

/* The one private token object with this CKA_ID, described. */
static signet_err one_private(hsm_token *t, CK_SESSION_HANDLE h, const uint8_t *id, size_t id_len,
			      CK_OBJECT_HANDLE *obj, hsm_key_info *info)
{
	CK_OBJECT_HANDLE *objs = NULL;
	size_t n = 0;
	signet_err err = hsm_find_objects(t, h, CKO_PRIVATE_KEY, id, id_len, &objs, &n);
	if (err != SIGNET_OK)
		return err;
	if (n == 1)
		*obj = objs[0];
	free(objs);
	if (n == 0)
		return hsm_fail(SIGNET_ENOTFOUND, "no private key with this CKA_ID in token '%s'",
				t->label);
	if (n > 1)
		return hsm_fail(SIGNET_EHSM_KEY, "%zu private keys share this CKA_ID in token '%s'",
				n, t->label);
	return hsm_describe_object(t, h, *obj, info);
}

struct wrap_arg {
	const uint8_t *id;
	size_t id_len;
	const uint8_t *domain_id;
	sg_buf *out;
};

static signet_err wrap_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg)
{
	struct wrap_arg *a = arg;
	CK_OBJECT_HANDLE dom = CK_INVALID_HANDLE, key = CK_INVALID_HANDLE;
	hsm_key_info info;
	signet_err err = hsm_domain_handle(t, h, a->domain_id, &dom);
	if (err == SIGNET_OK)
		err = one_private(t, h, a->id, a->id_len, &key, &info);
	if (err != SIGNET_OK)
		return err;
	if (!hsm_key_is_safe(&info) || !info.wrap_with_trusted || !info.extractable)
		return hsm_fail(SIGNET_EHSM_KEY,
				"key '%s' of token '%s' cannot be backed up: "
				"sensitive %d, always sensitive %d, extractable %d, wrap with "
				"trusted %d",
				info.label, t->label, info.sensitive, info.always_sensitive,
				info.extractable, info.wrap_with_trusted);
	CK_MECHANISM mech = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	CK_ULONG len = 0;
	CK_RV rv = t->ctx->fn->C_WrapKey(h, &mech, dom, key, NULL, &len);
	if (rv == CKR_KEY_NOT_WRAPPABLE) {
		/* The wrapping key is trusted (checked above), so the token cannot
		 * wrap this kind of key at all: SoftHSM2 2.6 wraps no EdDSA key. */
		(void)hsm_fail_rv("C_WrapKey", rv, "key '%s'", info.label);
		return hsm_fail(SIGNET_EUNSUPPORTED,
				"token '%s' cannot wrap key '%s' of algorithm "
				"%d (CKR_KEY_NOT_WRAPPABLE with a trusted wrapping key)",
				t->label, info.label, (int)info.alg);
	}
	if (rv != CKR_OK)
		return hsm_fail_rv("C_WrapKey", rv, "key '%s' of token '%s'", info.label, t->label);
	if (len == 0 || len > HSM_WRAPPED_MAX)
		return hsm_fail(SIGNET_ERANGE, "C_WrapKey: %lu octets", (unsigned long)len);
	err = sg_buf_reserve(a->out, len);
	if (err != SIGNET_OK)
		return hsm_fail(err, "hsm_key_wrap: no room for %lu octets", (unsigned long)len);
	rv = t->ctx->fn->C_WrapKey(h, &mech, dom, key, a->out->data + a->out->len, &len);
	if (rv != CKR_OK)
		return hsm_fail_rv("C_WrapKey", rv, "key '%s' of token '%s'", info.label, t->label);
	a->out->len += len;
	return SIGNET_OK;
}

signet_err hsm_key_wrap(hsm_token *t, const uint8_t *id, size_t id_len,
			const uint8_t domain_id[HSM_ID_LEN], sg_buf *out)
{
	if (t == NULL || id == NULL || id_len == 0 || id_len > HSM_ID_MAX || domain_id == NULL ||
	    out == NULL)
		return hsm_fail(SIGNET_EINVAL, "hsm_key_wrap: bad argument");
	struct wrap_arg a = {id, id_len, domain_id, out};
	return hsm_admin_run(t, wrap_op, &a);
}

struct unwrap_arg {
	const uint8_t *domain_id;
	const uint8_t *wrapped;
	size_t len;
	const hsm_unwrap_spec *spec;
	bool token; /* a token object, else a session object */
	hsm_key_info *info;
	/* for the proof */
	const uint8_t *data;
	size_t dlen;
	uint8_t *sig;
	size_t *siglen;
};

static signet_err unwrap_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg)
{
	struct unwrap_arg *a = arg;
	CK_FUNCTION_LIST *fn = t->ctx->fn;
	CK_OBJECT_HANDLE dom;
	signet_err err = hsm_domain_handle(t, h, a->domain_id, &dom);
	if (err != SIGNET_OK)
		return err;
	if (a->token) {
		CK_OBJECT_HANDLE *objs = NULL;
		size_t n = 0;
		err = hsm_find_objects(t, h, (CK_OBJECT_CLASS)-1, a->spec->id, a->spec->id_len,
				       &objs, &n);
		free(objs);
		if (err != SIGNET_OK)
			return err;
		if (n > 0)
			return hsm_fail(SIGNET_EEXIST,
					"token '%s' holds a key with this CKA_ID "
					"already",
					t->label);
	}
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BBOOL on_token = a->token ? CK_TRUE : CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_PRIVATE_KEY;
	CK_KEY_TYPE kt = a->spec->alg == HSM_ALG_RSASHA256 ? CKK_RSA
			 : a->spec->alg == HSM_ALG_ED25519 ? CKK_EC_EDWARDS
							   : CKK_EC;
	const char *label = a->spec->label != NULL ? a->spec->label : "";
	CK_ATTRIBUTE tmpl[] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &on_token, sizeof(on_token)},
		{CKA_PRIVATE, &yes, sizeof(yes)},
		{CKA_SENSITIVE, &yes, sizeof(yes)},
		{CKA_EXTRACTABLE, &yes, sizeof(yes)},
		{CKA_WRAP_WITH_TRUSTED, &yes, sizeof(yes)},
		{CKA_SIGN, &yes, sizeof(yes)},
		{CKA_DECRYPT, &no, sizeof(no)},
		{CKA_UNWRAP, &no, sizeof(no)},
		{CKA_DERIVE, &no, sizeof(no)},
		{CKA_ID, (void *)a->spec->id, a->spec->id_len},
		{CKA_LABEL, (void *)label, strlen(label)},
	};
	CK_MECHANISM mech = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	CK_OBJECT_HANDLE obj = CK_INVALID_HANDLE;
	CK_RV rv = fn->C_UnwrapKey(h, &mech, dom, (CK_BYTE *)a->wrapped, a->len, tmpl,
				   sizeof(tmpl) / sizeof(tmpl[0]), &obj);
	bool bad_data = rv == CKR_WRAPPED_KEY_INVALID || rv == CKR_WRAPPED_KEY_LEN_RANGE ||
			rv == CKR_ENCRYPTED_DATA_INVALID || rv == CKR_ENCRYPTED_DATA_LEN_RANGE;
	if (rv == CKR_GENERAL_ERROR) {
		/* SoftHSM2 2.6 reports a wrapped key that fails RFC 5649's
		 * integrity check as CKR_GENERAL_ERROR. A token that still answers
		 * has not failed: the data has, and a tampered file must not make
		 * the layer tear the module down as for a device fault. */
		CK_TOKEN_INFO ti;
		bad_data = fn->C_GetTokenInfo(t->slot, &ti) == CKR_OK;
	}
	if (bad_data) {
		(void)hsm_fail_rv("C_UnwrapKey", rv, "token '%s'", t->label);
		return hsm_fail(SIGNET_EVERIFY,
				"the wrapped key does not unwrap with the backup "
				"domain of token '%s' (%s)",
				t->label, hsm_rv_name(rv));
	}
	if (rv != CKR_OK)
		return hsm_fail_rv("C_UnwrapKey", rv, "token '%s'", t->label);
	hsm_key_info info;
	err = hsm_describe_object(t, h, obj, &info);
	if (err == SIGNET_OK && (info.alg != a->spec->alg || !info.sensitive ||
				 !info.wrap_with_trusted || !info.can_sign || info.can_decrypt))
		err = hsm_fail(SIGNET_EHSM_KEY,
			       "the unwrapped key of token '%s' is not a "
			       "protected key of algorithm %d",
			       t->label, (int)a->spec->alg);
	if (err == SIGNET_OK && a->sig != NULL)
		err = hsm_sign_object(t, h, obj, info.alg, hsm_sig_len(&info), a->data, a->dlen,
				      a->sig, a->siglen);
	if (err != SIGNET_OK || !a->token) {
		(void)fn->C_DestroyObject(h, obj);
		return err;
	}
	*a->info = info;
	return SIGNET_OK;
}

static signet_err check_unwrap_args(const uint8_t *domain_id, const uint8_t *wrapped, size_t len,
				    const hsm_unwrap_spec *spec)
{
	if (domain_id == NULL || wrapped == NULL || spec == NULL || spec->id == NULL ||
	    spec->id_len == 0 || spec->id_len > HSM_ID_MAX)
		return hsm_fail(SIGNET_EINVAL, "hsm_key_unwrap: bad argument");
	if (len == 0 || len > HSM_WRAPPED_MAX)
		return hsm_fail(SIGNET_ERANGE, "hsm_key_unwrap: %zu octets of wrapped key", len);
	if (spec->alg != HSM_ALG_RSASHA256 && spec->alg != HSM_ALG_ECDSAP256 &&
	    spec->alg != HSM_ALG_ECDSAP384 && spec->alg != HSM_ALG_ED25519)
		return hsm_fail(SIGNET_EUNSUPPORTED, "hsm_key_unwrap: algorithm %d",
				(int)spec->alg);
	if (spec->label != NULL && strlen(spec->label) > HSM_LABEL_MAX)
		return hsm_fail(SIGNET_ERANGE, "hsm_key_unwrap: label too long");
	return SIGNET_OK;
}

signet_err hsm_key_unwrap(hsm_token *t, const uint8_t domain_id[HSM_ID_LEN], const uint8_t *wrapped,
			  size_t len, const hsm_unwrap_spec *spec, hsm_key_info *out)
{
	if (t == NULL || out == NULL)
		return hsm_fail(SIGNET_EINVAL, "hsm_key_unwrap: missing argument");
	memset(out, 0, sizeof(*out));
	signet_err err = check_unwrap_args(domain_id, wrapped, len, spec);
	if (err != SIGNET_OK)
		return err;
	struct unwrap_arg a = {domain_id, wrapped, len, spec, true, out, NULL, 0, NULL, NULL};
	err = hsm_admin_run(t, unwrap_op, &a);
	if (err == SIGNET_OK)
		atomic_fetch_add(&t->key_epoch, 1); /* sessions look keys up again */
	return err;
}

signet_err hsm_backup_sign(hsm_token *t, const uint8_t domain_id[HSM_ID_LEN],
			   const uint8_t *wrapped, size_t len, hsm_alg alg, const uint8_t *data,
			   size_t dlen, uint8_t *sig, size_t sigmax, size_t *siglen)
{
	if (siglen != NULL)
		*siglen = 0;
	if (t == NULL || sig == NULL || siglen == NULL || (data == NULL && dlen > 0))
		return hsm_fail(SIGNET_EINVAL, "hsm_backup_sign: missing argument");
	if (dlen > HSM_DATA_MAX)
		return hsm_fail(SIGNET_ERANGE, "hsm_backup_sign: %zu octets to sign", dlen);
	static const uint8_t proof_id[] = "signet:backup-proof";
	hsm_unwrap_spec spec = {alg, proof_id, sizeof(proof_id) - 1, "signet:backup-proof"};
	signet_err err = check_unwrap_args(domain_id, wrapped, len, &spec);
	if (err != SIGNET_OK)
		return err;
	uint8_t buf[HSM_SIG_MAX];
	size_t blen = 0;
	struct unwrap_arg a = {domain_id, wrapped, len, &spec, false, NULL, data, dlen, buf, &blen};
	err = hsm_admin_run(t, unwrap_op, &a);
	if (err != SIGNET_OK)
		return err;
	if (blen > sigmax)
		return hsm_fail(SIGNET_ERANGE,
				"hsm_backup_sign: signature of %zu octets, room "
				"for %zu",
				blen, sigmax);
	memcpy(sig, buf, blen);
	*siglen = blen;
	return SIGNET_OK;
}
