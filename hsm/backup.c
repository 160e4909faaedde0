/* backup.c -- wrapping a private key to the backup domain, unwrapping it into a token
 * or session object, and signing with an unwrapped copy as the proof of a backup. */

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>

#include "hsm/internal.h"

/* The one private token object with this CKA_ID, described. */
static signet_err one_private(hsm_token *t, CK_SESSION_HANDLE h, const uint8_t *id, size_t id_len,
			      CK_OBJECT_HANDLE *obj, hsm_key_info *info, hsm_errbuf *eb)
{
	CK_OBJECT_HANDLE *objs = NULL;
	size_t n = 0;
	signet_err err = hsm_find_objects(t, h, CKO_PRIVATE_KEY, id, id_len, &objs, &n, eb);
	if (err != SIGNET_OK)
		return err;
	if (n == 1)
		*obj = objs[0];
	free(objs);
	if (n == 0)
		return hsm_fail(eb, SIGNET_ENOTFOUND,
				"no private key with this CKA_ID in token '%s'", t->label);
	if (n > 1)
		return hsm_fail(eb, SIGNET_EHSM_KEY,
				"%zu private keys share this CKA_ID in token '%s'", n, t->label);
	return hsm_describe_object(t, h, *obj, info, eb);
}

struct wrap_arg {
	const uint8_t *id;
	size_t id_len;
	const uint8_t *domain_id;
	sg_buf *out;
};

static signet_err wrap_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct wrap_arg *a = arg;
	CK_OBJECT_HANDLE dom = CK_INVALID_HANDLE, key = CK_INVALID_HANDLE;
	hsm_key_info info;
	signet_err err = hsm_domain_handle(t, h, a->domain_id, &dom, eb);
	if (err == SIGNET_OK)
		err = one_private(t, h, a->id, a->id_len, &key, &info, eb);
	if (err != SIGNET_OK)
		return err;
	if (!hsm_key_usable(t, &info) || !info.wrap_with_trusted || !info.extractable)
		return hsm_fail(eb, SIGNET_EHSM_KEY,
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
		(void)hsm_fail_rv(eb, "C_WrapKey", rv, "key '%s'", info.label);
		return hsm_fail(eb, SIGNET_EUNSUPPORTED,
				"token '%s' cannot wrap key '%s' of algorithm "
				"%d (CKR_KEY_NOT_WRAPPABLE with a trusted wrapping key)",
				t->label, info.label, (int)info.alg);
	}
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_WrapKey", rv, "key '%s' of token '%s'", info.label,
				   t->label);
	if (len == 0 || len > HSM_WRAPPED_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "C_WrapKey: %lu octets", (unsigned long)len);
	err = sg_buf_reserve(a->out, len);
	if (err != SIGNET_OK)
		return hsm_fail(eb, err, "hsm_key_wrap: no room for %lu octets",
				(unsigned long)len);
	rv = t->ctx->fn->C_WrapKey(h, &mech, dom, key, a->out->data + a->out->len, &len);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_WrapKey", rv, "key '%s' of token '%s'", info.label,
				   t->label);
	a->out->len += len;
	return SIGNET_OK;
}

signet_err hsm_key_wrap(hsm_token *t, const uint8_t *id, size_t id_len,
			const uint8_t domain_id[HSM_ID_LEN], sg_buf *out, char *errmsg,
			size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || id == NULL || id_len == 0 || id_len > HSM_ID_MAX || domain_id == NULL ||
	    out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_wrap: bad argument");
	struct wrap_arg a = {id, id_len, domain_id, out};
	return hsm_admin_run(t, wrap_op, &a, eb);
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

static signet_err unwrap_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct unwrap_arg *a = arg;
	CK_FUNCTION_LIST *fn = t->ctx->fn;
	CK_OBJECT_HANDLE dom;
	signet_err err = hsm_domain_handle(t, h, a->domain_id, &dom, eb);
	if (err != SIGNET_OK)
		return err;
	if (a->token) {
		CK_OBJECT_HANDLE *objs = NULL;
		size_t n = 0;
		err = hsm_find_objects(t, h, (CK_OBJECT_CLASS)-1, a->spec->id, a->spec->id_len,
				       &objs, &n, eb);
		free(objs);
		if (err != SIGNET_OK)
			return err;
		if (n > 0)
			return hsm_fail(eb, SIGNET_EEXIST,
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
		(void)hsm_fail_rv(eb, "C_UnwrapKey", rv, "token '%s'", t->label);
		return hsm_fail(eb, SIGNET_EVERIFY,
				"the wrapped key does not unwrap with the backup "
				"domain of token '%s' (%s)",
				t->label, hsm_rv_name(rv));
	}
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_UnwrapKey", rv, "token '%s'", t->label);
	hsm_key_info info;
	err = hsm_describe_object(t, h, obj, &info, eb);
	if (err == SIGNET_OK && (info.alg != a->spec->alg || !info.sensitive ||
				 !info.wrap_with_trusted || !info.can_sign || info.can_decrypt))
		err = hsm_fail(eb, SIGNET_EHSM_KEY,
			       "the unwrapped key of token '%s' is not a "
			       "protected key of algorithm %d",
			       t->label, (int)a->spec->alg);
	if (err == SIGNET_OK && a->sig != NULL)
		err = hsm_sign_object(t, h, obj, info.alg, hsm_sig_len(&info), a->data, a->dlen,
				      a->sig, a->siglen, eb);
	if (err != SIGNET_OK || !a->token) {
		(void)fn->C_DestroyObject(h, obj);
		return err;
	}
	*a->info = info;
	return SIGNET_OK;
}

static signet_err check_unwrap_args(const uint8_t *domain_id, const uint8_t *wrapped, size_t len,
				    const hsm_unwrap_spec *spec, hsm_errbuf *eb)
{
	if (domain_id == NULL || wrapped == NULL || spec == NULL || spec->id == NULL ||
	    spec->id_len == 0 || spec->id_len > HSM_ID_MAX)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_unwrap: bad argument");
	if (len == 0 || len > HSM_WRAPPED_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_key_unwrap: %zu octets of wrapped key",
				len);
	if (spec->alg != HSM_ALG_RSASHA256 && spec->alg != HSM_ALG_ECDSAP256 &&
	    spec->alg != HSM_ALG_ECDSAP384 && spec->alg != HSM_ALG_ED25519)
		return hsm_fail(eb, SIGNET_EUNSUPPORTED, "hsm_key_unwrap: algorithm %d",
				(int)spec->alg);
	if (spec->label != NULL && strlen(spec->label) > HSM_LABEL_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_key_unwrap: label too long");
	return SIGNET_OK;
}

signet_err hsm_key_unwrap(hsm_token *t, const uint8_t domain_id[HSM_ID_LEN], const uint8_t *wrapped,
			  size_t len, const hsm_unwrap_spec *spec, hsm_key_info *out, char *errmsg,
			  size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_unwrap: missing argument");
	memset(out, 0, sizeof(*out));
	signet_err err = check_unwrap_args(domain_id, wrapped, len, spec, eb);
	if (err != SIGNET_OK)
		return err;
	struct unwrap_arg a = {domain_id, wrapped, len, spec, true, out, NULL, 0, NULL, NULL};
	err = hsm_admin_run(t, unwrap_op, &a, eb);
	if (err == SIGNET_OK)
		atomic_fetch_add(&t->key_epoch, 1); /* sessions look keys up again */
	return err;
}

signet_err hsm_backup_sign(hsm_token *t, const uint8_t domain_id[HSM_ID_LEN],
			   const uint8_t *wrapped, size_t len, hsm_alg alg, const uint8_t *data,
			   size_t dlen, uint8_t *sig, size_t sigmax, size_t *siglen, char *errmsg,
			   size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (siglen != NULL)
		*siglen = 0;
	if (t == NULL || sig == NULL || siglen == NULL || (data == NULL && dlen > 0))
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_backup_sign: missing argument");
	if (dlen > HSM_DATA_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_backup_sign: %zu octets to sign", dlen);
	static const uint8_t proof_id[] = "signet:backup-proof";
	hsm_unwrap_spec spec = {alg, proof_id, sizeof(proof_id) - 1, "signet:backup-proof"};
	signet_err err = check_unwrap_args(domain_id, wrapped, len, &spec, eb);
	if (err != SIGNET_OK)
		return err;
	uint8_t buf[HSM_SIG_MAX];
	size_t blen = 0;
	struct unwrap_arg a = {domain_id, wrapped, len, &spec, false, NULL, data, dlen, buf, &blen};
	err = hsm_admin_run(t, unwrap_op, &a, eb);
	if (err != SIGNET_OK)
		return err;
	if (blen > sigmax)
		return hsm_fail(eb, SIGNET_ERANGE,
				"hsm_backup_sign: signature of %zu octets, room "
				"for %zu",
				blen, sigmax);
	memcpy(sig, buf, blen);
	*siglen = blen;
	return SIGNET_OK;
}

/* ---- the public half of a restored pair ---- */

struct pub_arg {
	const uint8_t *id;
	size_t id_len;
	const char *label;
	hsm_alg alg;
	const uint8_t *params; /* CKA_EC_PARAMS, EC keys */
	size_t params_len;
	uint8_t point[140]; /* CKA_EC_POINT as a DER OCTET STRING */
	size_t point_len;
	uint8_t n[HSM_SIG_MAX], e[8]; /* RSA modulus and exponent */
	size_t n_len, e_len;
};

static signet_err pub_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct pub_arg *a = arg;
	CK_OBJECT_HANDLE *objs = NULL;
	size_t n = 0;
	signet_err err = hsm_find_objects(t, h, CKO_PUBLIC_KEY, a->id, a->id_len, &objs, &n, eb);
	free(objs);
	if (err != SIGNET_OK)
		return err;
	if (n > 0)
		return hsm_fail(eb, SIGNET_EEXIST, "token '%s' holds a public key with this CKA_ID",
				t->label);
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_OBJECT_CLASS cls = CKO_PUBLIC_KEY;
	CK_KEY_TYPE kt = a->alg == HSM_ALG_RSASHA256 ? CKK_RSA
			 : a->alg == HSM_ALG_ED25519 ? CKK_EC_EDWARDS
						     : CKK_EC;
	CK_ATTRIBUTE tmpl[12] = {
		{CKA_CLASS, &cls, sizeof(cls)},
		{CKA_KEY_TYPE, &kt, sizeof(kt)},
		{CKA_TOKEN, &yes, sizeof(yes)},
		{CKA_PRIVATE, &no, sizeof(no)},
		{CKA_VERIFY, &yes, sizeof(yes)},
		{CKA_ENCRYPT, &no, sizeof(no)},
		{CKA_WRAP, &no, sizeof(no)},
		{CKA_ID, (void *)a->id, a->id_len},
		{CKA_LABEL, (void *)a->label, strlen(a->label)},
	};
	CK_ULONG k = 9;
	if (kt == CKK_RSA) {
		tmpl[k++] = (CK_ATTRIBUTE){CKA_MODULUS, a->n, a->n_len};
		tmpl[k++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, a->e, a->e_len};
	} else {
		tmpl[k++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)a->params, a->params_len};
		tmpl[k++] = (CK_ATTRIBUTE){CKA_EC_POINT, a->point, a->point_len};
	}
	CK_OBJECT_HANDLE obj;
	CK_RV rv = t->ctx->fn->C_CreateObject(h, tmpl, k, &obj);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_CreateObject", rv, "public key in token '%s'", t->label);
	return SIGNET_OK;
}

static const uint8_t der_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t der_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t der_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};

/* The key's point (EC, Ed25519) wrapped as a DER OCTET STRING, or its RSA
 * modulus and exponent, and its algorithm, from pk. */
static signet_err pub_parts(EVP_PKEY *pk, struct pub_arg *a, hsm_errbuf *eb)
{
	uint8_t raw[133];
	size_t rlen = 0;
	if (EVP_PKEY_is_a(pk, "ED25519")) {
		rlen = sizeof(raw);
		if (EVP_PKEY_get_raw_public_key(pk, raw, &rlen) != 1 || rlen != 32)
			return hsm_fail(eb, SIGNET_ECRYPTO, "Ed25519 public key unreadable");
		a->alg = HSM_ALG_ED25519;
		a->params = der_ed25519;
		a->params_len = sizeof(der_ed25519);
	} else if (EVP_PKEY_is_a(pk, "EC")) {
		int bits = EVP_PKEY_get_bits(pk);
		if (bits != 256 && bits != 384)
			return hsm_fail(eb, SIGNET_EUNSUPPORTED, "EC key of %d bits", bits);
		if (EVP_PKEY_get_octet_string_param(pk, OSSL_PKEY_PARAM_ENCODED_PUBLIC_KEY, raw,
						    sizeof(raw), &rlen) != 1 ||
		    rlen != (bits == 256 ? 65u : 97u))
			return hsm_fail(eb, SIGNET_ECRYPTO, "EC public point unreadable");
		a->alg = bits == 256 ? HSM_ALG_ECDSAP256 : HSM_ALG_ECDSAP384;
		a->params = bits == 256 ? der_p256 : der_p384;
		a->params_len = bits == 256 ? sizeof(der_p256) : sizeof(der_p384);
	} else if (EVP_PKEY_is_a(pk, "RSA")) {
		BIGNUM *n = NULL, *e = NULL;
		bool ok = EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_N, &n) == 1 &&
			  EVP_PKEY_get_bn_param(pk, OSSL_PKEY_PARAM_RSA_E, &e) == 1 &&
			  BN_num_bytes(n) > 0 && (size_t)BN_num_bytes(n) <= sizeof(a->n) &&
			  BN_num_bytes(e) > 0 && (size_t)BN_num_bytes(e) <= sizeof(a->e);
		if (ok) {
			a->n_len = (size_t)BN_bn2bin(n, a->n);
			a->e_len = (size_t)BN_bn2bin(e, a->e);
		}
		BN_free(n);
		BN_free(e);
		if (!ok)
			return hsm_fail(eb, SIGNET_ECRYPTO, "RSA public key unreadable");
		a->alg = HSM_ALG_RSASHA256;
		return SIGNET_OK;
	} else {
		return hsm_fail(eb, SIGNET_EUNSUPPORTED,
				"public key of a type signet does not use");
	}
	a->point[0] = 0x04; /* OCTET STRING, short length: the point is under 128 octets */
	a->point[1] = (uint8_t)rlen;
	memcpy(a->point + 2, raw, rlen);
	a->point_len = rlen + 2;
	return SIGNET_OK;
}

signet_err hsm_key_import_public(hsm_token *t, const uint8_t *id, size_t id_len, const char *label,
				 EVP_PKEY *pub, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || id == NULL || id_len == 0 || id_len > HSM_ID_MAX || label == NULL ||
	    strlen(label) > HSM_LABEL_MAX || pub == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_import_public: bad argument");
	struct pub_arg a;
	memset(&a, 0, sizeof(a));
	a.id = id;
	a.id_len = id_len;
	a.label = label;
	signet_err err = pub_parts(pub, &a, eb);
	if (err == SIGNET_OK)
		err = hsm_admin_run(t, pub_op, &a, eb);
	if (err != SIGNET_OK)
		return err;
	/* What the token now gives back must be the very key. */
	EVP_PKEY *back = NULL;
	err = hsm_key_public(t, id, id_len, &back, eb->errmsg, eb->errlen);
	if (err == SIGNET_OK && EVP_PKEY_eq(back, pub) != 1)
		err = hsm_fail(eb, SIGNET_EHSM_KEY,
			       "hsm_key_import_public: token '%s' gives back "
			       "another public key",
			       t->label);
	EVP_PKEY_free(back);
	return err;
}
