/* keys.c -- finding, describing, listing, exporting (public part) and deleting key pairs. */

#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/param_build.h>

#include "hsm/internal.h"

#define HSM_MODULUS_MAX 1024 /* octets: RSA-8192, more than we ever make */
#define HSM_PARAMS_MAX 64    /* octets of CKA_EC_PARAMS */
#define HSM_POINT_MAX 160    /* octets of CKA_EC_POINT, wrapped */

/* DER of the curves we know (RFC 5480, RFC 8410). */
static const uint8_t oid_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const uint8_t oid_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const uint8_t oid_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};
/* PKCS#11 3.0 also allows the curve name as a PrintableString. */
static const uint8_t name_ed25519[] = {0x13, 0x0c, 'e', 'd', 'w', 'a', 'r',
				       'd',  's',  '2', '5', '5', '1', '9'};

bool hsm_key_is_safe(const hsm_key_info *info)
{
	if (info == NULL || !info->has_private || !info->sensitive || !info->always_sensitive ||
	    !info->can_sign)
		return false;
	/* Extractable is acceptable only when the token lets the key out
	 * wrapped by a key its SO marked trusted, i.e. the backup domain. */
	return (!info->extractable && info->never_extractable) || info->wrap_with_trusted;
}

size_t hsm_sig_len(const hsm_key_info *info)
{
	switch (info->alg) {
	case HSM_ALG_RSASHA256:
		return (info->bits + 7) / 8;
	case HSM_ALG_ECDSAP256:
		return 64;
	case HSM_ALG_ECDSAP384:
		return 96;
	case HSM_ALG_ED25519:
		return 64;
	}
	return 0;
}

signet_err hsm_find_objects(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_CLASS cls,
			    const uint8_t *id, size_t id_len, CK_OBJECT_HANDLE **out, size_t *n,
			    hsm_errbuf *eb)
{
	CK_FUNCTION_LIST *fn = t->ctx->fn;
	CK_BBOOL yes = CK_TRUE;
	CK_ATTRIBUTE tmpl[3];
	CK_ULONG k = 0;
	/* Token objects only: other sessions' key copies share the CKA_ID. */
	tmpl[k++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	if (cls != (CK_OBJECT_CLASS)-1)
		tmpl[k++] = (CK_ATTRIBUTE){CKA_CLASS, &cls, sizeof(cls)};
	if (id != NULL)
		tmpl[k++] = (CK_ATTRIBUTE){CKA_ID, (void *)id, id_len};
	*out = NULL;
	*n = 0;
	CK_RV rv = fn->C_FindObjectsInit(h, tmpl, k);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_FindObjectsInit", rv, "token '%s'", t->label);
	CK_OBJECT_HANDLE *all = NULL;
	size_t len = 0, cap = 0;
	signet_err err = SIGNET_OK;
	for (;;) {
		if (len == cap) {
			if (cap >= HSM_FIND_MAX) {
				err = hsm_fail(eb, SIGNET_ERANGE,
					       "C_FindObjects: more than %d "
					       "objects in token '%s'",
					       HSM_FIND_MAX, t->label);
				break;
			}
			size_t ncap = cap == 0 ? 16 : cap * 2;
			if (ncap > HSM_FIND_MAX)
				ncap = HSM_FIND_MAX;
			CK_OBJECT_HANDLE *p = realloc(all, ncap * sizeof(*p));
			if (p == NULL) {
				err = hsm_fail(eb, SIGNET_ENOMEM, "C_FindObjects: out of memory");
				break;
			}
			all = p;
			cap = ncap;
		}
		CK_ULONG got = 0;
		rv = fn->C_FindObjects(h, all + len, cap - len, &got);
		if (rv != CKR_OK) {
			err = hsm_fail_rv(eb, "C_FindObjects", rv, "token '%s'", t->label);
			break;
		}
		if (got == 0)
			break;
		len += got;
	}
	CK_RV frv = fn->C_FindObjectsFinal(h);
	if (err == SIGNET_OK && frv != CKR_OK)
		err = hsm_fail_rv(eb, "C_FindObjectsFinal", frv, "token '%s'", t->label);
	if (err != SIGNET_OK) {
		free(all);
		return err;
	}
	*out = all;
	*n = len;
	return SIGNET_OK;
}

/* One attribute into buf; *len its size. CKR_ATTRIBUTE_TYPE_INVALID gives
 * SIGNET_ENOTFOUND without writing eb. */
static signet_err get_attr(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			   CK_ATTRIBUTE_TYPE type, void *buf, size_t max, size_t *len,
			   hsm_errbuf *eb)
{
	CK_ATTRIBUTE a = {type, buf, max};
	CK_RV rv = t->ctx->fn->C_GetAttributeValue(h, obj, &a, 1);
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID)
		return SIGNET_ENOTFOUND;
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_GetAttributeValue", rv, "attribute 0x%lx",
				   (unsigned long)type);
	if (a.ulValueLen == CK_UNAVAILABLE_INFORMATION || a.ulValueLen > max)
		return hsm_fail(eb, SIGNET_ERANGE,
				"C_GetAttributeValue: attribute 0x%lx larger "
				"than %zu octets",
				(unsigned long)type, max);
	*len = a.ulValueLen;
	return SIGNET_OK;
}

signet_err hsm_attr_flag(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			 CK_ATTRIBUTE_TYPE type, hsm_flag *out, hsm_errbuf *eb)
{
	CK_BBOOL v = CK_FALSE;
	CK_ATTRIBUTE a = {type, &v, sizeof(v)};
	CK_RV rv = t->ctx->fn->C_GetAttributeValue(h, obj, &a, 1);
	/* A module that does not know the attribute, will not tell it or
	 * gives no one-octet CK_TRUE or CK_FALSE has not said either: the
	 * caller decides per attribute what that means for its check. */
	if (rv == CKR_ATTRIBUTE_TYPE_INVALID || rv == CKR_ATTRIBUTE_SENSITIVE ||
	    (rv == CKR_OK && (a.ulValueLen != sizeof(v) || (v != CK_TRUE && v != CK_FALSE)))) {
		*out = HSM_FLAG_ABSENT;
		return SIGNET_OK;
	}
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_GetAttributeValue", rv, "attribute 0x%lx",
				   (unsigned long)type);
	*out = v == CK_TRUE ? HSM_FLAG_TRUE : HSM_FLAG_FALSE;
	return SIGNET_OK;
}

static signet_err get_ulong(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			    CK_ATTRIBUTE_TYPE type, CK_ULONG *out, hsm_errbuf *eb)
{
	size_t len = 0;
	signet_err err = get_attr(t, h, obj, type, out, sizeof(*out), &len, eb);
	if (err == SIGNET_ENOTFOUND)
		return hsm_fail(eb, SIGNET_EHSM_KEY, "object lacks attribute 0x%lx",
				(unsigned long)type);
	if (err == SIGNET_OK && len != sizeof(*out))
		return hsm_fail(eb, SIGNET_EHSM_KEY, "attribute 0x%lx has %zu octets",
				(unsigned long)type, len);
	return err;
}

signet_err hsm_attr_ulong(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			  CK_ATTRIBUTE_TYPE type, CK_ULONG *out, hsm_errbuf *eb)
{
	return get_ulong(t, h, obj, type, out, eb);
}

static bool same(const uint8_t *p, size_t n, const uint8_t *q, size_t m)
{
	return n == m && memcmp(p, q, n) == 0;
}

/* Algorithm and size from key type and curve parameters. */
static signet_err key_alg(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, CK_KEY_TYPE kt,
			  hsm_alg *alg, unsigned *bits, hsm_errbuf *eb)
{
	uint8_t buf[HSM_MODULUS_MAX];
	size_t len = 0;
	signet_err err;
	switch (kt) {
	case CKK_RSA:
		err = get_attr(t, h, obj, CKA_MODULUS, buf, sizeof(buf), &len, eb);
		if (err == SIGNET_ENOTFOUND)
			return hsm_fail(eb, SIGNET_EHSM_KEY, "RSA key without CKA_MODULUS");
		if (err != SIGNET_OK)
			return err;
		size_t skip = 0;
		while (skip < len && buf[skip] == 0)
			skip++;
		*alg = HSM_ALG_RSASHA256;
		*bits = (unsigned)((len - skip) * 8);
		return SIGNET_OK;
	case CKK_EC:
	case CKK_EC_EDWARDS:
		err = get_attr(t, h, obj, CKA_EC_PARAMS, buf, HSM_PARAMS_MAX, &len, eb);
		if (err == SIGNET_ENOTFOUND)
			return hsm_fail(eb, SIGNET_EHSM_KEY, "EC key without CKA_EC_PARAMS");
		if (err != SIGNET_OK)
			return err;
		if (kt == CKK_EC && same(buf, len, oid_p256, sizeof(oid_p256))) {
			*alg = HSM_ALG_ECDSAP256;
			*bits = 256;
		} else if (kt == CKK_EC && same(buf, len, oid_p384, sizeof(oid_p384))) {
			*alg = HSM_ALG_ECDSAP384;
			*bits = 384;
		} else if (kt == CKK_EC_EDWARDS &&
			   (same(buf, len, oid_ed25519, sizeof(oid_ed25519)) ||
			    same(buf, len, name_ed25519, sizeof(name_ed25519)))) {
			*alg = HSM_ALG_ED25519;
			*bits = 256;
		} else {
			return hsm_fail(eb, SIGNET_EUNSUPPORTED,
					"EC key on a curve signet does not use");
		}
		return SIGNET_OK;
	default:
		return hsm_fail(eb, SIGNET_EUNSUPPORTED, "key type 0x%lx is not one signet uses",
				(unsigned long)kt);
	}
}

signet_err hsm_describe_object(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj,
			       hsm_key_info *info, hsm_errbuf *eb)
{
	memset(info, 0, sizeof(*info));
	CK_ULONG cls, kt;
	signet_err err = get_ulong(t, h, obj, CKA_CLASS, &cls, eb);
	if (err == SIGNET_OK)
		err = get_ulong(t, h, obj, CKA_KEY_TYPE, &kt, eb);
	if (err != SIGNET_OK)
		return err;
	if (cls != CKO_PRIVATE_KEY && cls != CKO_PUBLIC_KEY)
		return hsm_fail(eb, SIGNET_EUNSUPPORTED,
				"object class 0x%lx is not a key pair half", (unsigned long)cls);
	err = key_alg(t, h, obj, kt, &info->alg, &info->bits, eb);
	if (err != SIGNET_OK)
		return err;
	err = get_attr(t, h, obj, CKA_ID, info->id, sizeof(info->id), &info->id_len, eb);
	if (err == SIGNET_ENOTFOUND || err == SIGNET_ERANGE ||
	    (err == SIGNET_OK && info->id_len == 0))
		return hsm_fail(eb, SIGNET_EUNSUPPORTED, "key without a usable CKA_ID");
	if (err != SIGNET_OK)
		return err;
	size_t llen = 0;
	err = get_attr(t, h, obj, CKA_LABEL, info->label, HSM_LABEL_MAX, &llen, eb);
	if (err == SIGNET_ENOTFOUND || err == SIGNET_ERANGE)
		llen = 0; /* not one of ours; the key is still listed */
	else if (err != SIGNET_OK)
		return err;
	info->label[llen] = '\0';
	if (cls == CKO_PUBLIC_KEY) {
		info->has_public = true;
		return SIGNET_OK;
	}
	info->has_private = true;
	bool decrypt = false, unwrap = false;
	/* absent: the value an attribute the token does not report reads as,
	 * the one that fails the checks (hsm_key_is_safe, hsm_key_usable,
	 * hsm_key_is_restored), so that no key passes for want of a fact. */
	struct {
		CK_ATTRIBUTE_TYPE type;
		bool *out;
		bool absent;
		uint32_t bit;
	} flags[] = {
		{CKA_SENSITIVE, &info->sensitive, false, HSM_KEY_ABSENT_SENSITIVE},
		{CKA_EXTRACTABLE, &info->extractable, true, HSM_KEY_ABSENT_EXTRACTABLE},
		{CKA_ALWAYS_SENSITIVE, &info->always_sensitive, false,
		 HSM_KEY_ABSENT_ALWAYS_SENSITIVE},
		{CKA_NEVER_EXTRACTABLE, &info->never_extractable, false,
		 HSM_KEY_ABSENT_NEVER_EXTRACTABLE},
		{CKA_SIGN, &info->can_sign, false, HSM_KEY_ABSENT_SIGN},
		{CKA_DECRYPT, &decrypt, true, HSM_KEY_ABSENT_DECRYPT},
		{CKA_UNWRAP, &unwrap, true, HSM_KEY_ABSENT_UNWRAP},
		{CKA_WRAP_WITH_TRUSTED, &info->wrap_with_trusted, false,
		 HSM_KEY_ABSENT_WRAP_WITH_TRUSTED},
	};
	info->absent = 0;
	for (size_t i = 0; i < sizeof(flags) / sizeof(flags[0]); i++) {
		hsm_flag f = HSM_FLAG_ABSENT;
		err = hsm_attr_flag(t, h, obj, flags[i].type, &f, eb);
		if (err != SIGNET_OK)
			return err;
		if (f == HSM_FLAG_ABSENT)
			info->absent |= flags[i].bit;
		*flags[i].out = f == HSM_FLAG_ABSENT ? flags[i].absent : f == HSM_FLAG_TRUE;
	}
	info->can_decrypt = decrypt || unwrap;
	return SIGNET_OK;
}

/* ---- admin operations ---- */

static signet_err check_id(const char *fn, const uint8_t *id, size_t id_len, hsm_errbuf *eb)
{
	if (id == NULL || id_len == 0)
		return hsm_fail(eb, SIGNET_EINVAL, "%s: no key ID", fn);
	if (id_len > HSM_ID_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "%s: key ID longer than %d octets", fn,
				HSM_ID_MAX);
	return SIGNET_OK;
}

struct find_arg {
	const uint8_t *id;
	size_t id_len;
	hsm_key_info *info;
};

static signet_err find_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct find_arg *a = arg;
	CK_OBJECT_HANDLE *priv = NULL, *pub = NULL;
	size_t npriv = 0, npub = 0;
	signet_err err = hsm_find_objects(t, h, CKO_PRIVATE_KEY, a->id, a->id_len, &priv, &npriv,
					  eb);
	if (err == SIGNET_OK)
		err = hsm_find_objects(t, h, CKO_PUBLIC_KEY, a->id, a->id_len, &pub, &npub, eb);
	if (err != SIGNET_OK)
		goto out;
	if (npriv > 1 || npub > 1) {
		err = hsm_fail(eb, SIGNET_EHSM_KEY,
			       "token '%s' holds %zu private and %zu public "
			       "objects with this CKA_ID",
			       t->label, npriv, npub);
	} else if (npriv == 1) {
		err = hsm_describe_object(t, h, priv[0], a->info, eb);
		a->info->has_public = npub == 1;
	} else if (npub == 1) {
		err = hsm_describe_object(t, h, pub[0], a->info, eb);
	} else {
		err = hsm_fail(eb, SIGNET_ENOTFOUND, "no key with this CKA_ID in token '%s'",
			       t->label);
	}
out:
	free(priv);
	free(pub);
	return err;
}

signet_err hsm_key_find(hsm_token *t, const uint8_t *id, size_t id_len, hsm_key_info *out,
			char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_find: missing argument");
	signet_err err = check_id("hsm_key_find", id, id_len, eb);
	if (err != SIGNET_OK)
		return err;
	struct find_arg a = {id, id_len, out};
	return hsm_admin_run(t, find_op, &a, eb);
}

struct list_arg {
	hsm_key_info *keys;
	size_t n;
};

static int cmp_info(const void *x, const void *y)
{
	const hsm_key_info *a = x, *b = y;
	size_t m = a->id_len < b->id_len ? a->id_len : b->id_len;
	int c = memcmp(a->id, b->id, m);
	if (c != 0)
		return c;
	return (a->id_len > b->id_len) - (a->id_len < b->id_len);
}

static signet_err list_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct list_arg *a = arg;
	CK_OBJECT_HANDLE *priv = NULL, *pub = NULL;
	size_t npriv = 0, npub = 0;
	hsm_key_info *keys = NULL;
	size_t n = 0;
	signet_err err = hsm_find_objects(t, h, CKO_PRIVATE_KEY, NULL, 0, &priv, &npriv, eb);
	if (err == SIGNET_OK)
		err = hsm_find_objects(t, h, CKO_PUBLIC_KEY, NULL, 0, &pub, &npub, eb);
	if (err != SIGNET_OK)
		goto out;
	keys = calloc(npriv + npub + 1, sizeof(*keys));
	if (keys == NULL) {
		err = hsm_fail(eb, SIGNET_ENOMEM, "hsm_key_list: out of memory");
		goto out;
	}
	for (size_t i = 0; i < npriv; i++) {
		err = hsm_describe_object(t, h, priv[i], &keys[n], eb);
		if (err == SIGNET_EUNSUPPORTED)
			continue; /* not ours to understand: skip it */
		if (err != SIGNET_OK)
			goto out;
		n++;
	}
	qsort(keys, n, sizeof(*keys), cmp_info);
	size_t nprivate = n;
	for (size_t i = 0; i < npub; i++) {
		hsm_key_info pi;
		err = hsm_describe_object(t, h, pub[i], &pi, eb);
		if (err == SIGNET_EUNSUPPORTED)
			continue;
		if (err != SIGNET_OK)
			goto out;
		hsm_key_info *match = bsearch(&pi, keys, nprivate, sizeof(*keys), cmp_info);
		if (match != NULL)
			match->has_public = true;
		else
			keys[n++] = pi;
	}
	err = SIGNET_OK;
	qsort(keys, n, sizeof(*keys), cmp_info);
out:
	free(priv);
	free(pub);
	if (err != SIGNET_OK) {
		free(keys);
		return err;
	}
	a->keys = keys;
	a->n = n;
	return SIGNET_OK;
}

signet_err hsm_key_list(hsm_token *t, hsm_key_info **out, size_t *n, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || out == NULL || n == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_list: missing argument");
	*out = NULL;
	*n = 0;
	struct list_arg a = {NULL, 0};
	signet_err err = hsm_admin_run(t, list_op, &a, eb);
	if (err != SIGNET_OK)
		return err;
	*out = a.keys;
	*n = a.n;
	return SIGNET_OK;
}

/* ---- public key export ---- */

/* CKA_EC_POINT is a DER OCTET STRING around the point in PKCS#11 2.40, but
 * some modules give the bare point: accept either when the size is right. */
static signet_err unwrap_point(const uint8_t *p, size_t len, size_t want, const uint8_t **pt,
			       hsm_errbuf *eb)
{
	if (len == want) {
		*pt = p;
		return SIGNET_OK;
	}
	if (len >= 2 && p[0] == 0x04) {
		size_t hdr, inner;
		if (p[1] < 0x80) {
			hdr = 2;
			inner = p[1];
		} else if (p[1] == 0x81 && len >= 3) {
			hdr = 3;
			inner = p[2];
		} else {
			return hsm_fail(eb, SIGNET_EPARSE,
					"CKA_EC_POINT: unexpected DER length form");
		}
		if (hdr + inner == len && inner == want) {
			*pt = p + hdr;
			return SIGNET_OK;
		}
	}
	return hsm_fail(eb, SIGNET_EPARSE, "CKA_EC_POINT: %zu octets, expected a %zu-octet point",
			len, want);
}

static signet_err rsa_pkey(const uint8_t *n, size_t nlen, const uint8_t *e, size_t elen,
			   EVP_PKEY **out, hsm_errbuf *eb)
{
	signet_err err = SIGNET_ECRYPTO;
	BIGNUM *bn = BN_bin2bn(n, (int)nlen, NULL);
	BIGNUM *be = BN_bin2bn(e, (int)elen, NULL);
	OSSL_PARAM_BLD *bld = OSSL_PARAM_BLD_new();
	OSSL_PARAM *params = NULL;
	EVP_PKEY_CTX *pc = NULL;
	if (bn == NULL || be == NULL || bld == NULL ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_N, bn) ||
	    !OSSL_PARAM_BLD_push_BN(bld, OSSL_PKEY_PARAM_RSA_E, be) ||
	    (params = OSSL_PARAM_BLD_to_param(bld)) == NULL)
		goto out;
	pc = EVP_PKEY_CTX_new_from_name(NULL, "RSA", NULL);
	if (pc != NULL && EVP_PKEY_fromdata_init(pc) == 1 &&
	    EVP_PKEY_fromdata(pc, out, EVP_PKEY_PUBLIC_KEY, params) == 1)
		err = SIGNET_OK;
out:
	EVP_PKEY_CTX_free(pc);
	OSSL_PARAM_free(params);
	OSSL_PARAM_BLD_free(bld);
	BN_free(bn);
	BN_free(be);
	if (err != SIGNET_OK)
		return hsm_fail(eb, err, "hsm_key_public: OpenSSL refused the RSA public key");
	return SIGNET_OK;
}

static signet_err ec_pkey(const char *group, const uint8_t *pt, size_t ptlen, EVP_PKEY **out,
			  hsm_errbuf *eb)
{
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_utf8_string(OSSL_PKEY_PARAM_GROUP_NAME, (char *)group, 0),
		OSSL_PARAM_construct_octet_string(OSSL_PKEY_PARAM_PUB_KEY, (void *)pt, ptlen),
		OSSL_PARAM_construct_end(),
	};
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_from_name(NULL, "EC", NULL);
	int ok = pc != NULL && EVP_PKEY_fromdata_init(pc) == 1 &&
		 EVP_PKEY_fromdata(pc, out, EVP_PKEY_PUBLIC_KEY, params) == 1;
	EVP_PKEY_CTX_free(pc);
	if (!ok)
		return hsm_fail(eb, SIGNET_ECRYPTO, "hsm_key_public: OpenSSL refused the %s point",
				group);
	return SIGNET_OK;
}

struct public_arg {
	const uint8_t *id;
	size_t id_len;
	EVP_PKEY *pkey;
};

static signet_err public_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct public_arg *a = arg;
	CK_OBJECT_HANDLE *pub = NULL;
	size_t npub = 0;
	signet_err err = hsm_find_objects(t, h, CKO_PUBLIC_KEY, a->id, a->id_len, &pub, &npub, eb);
	if (err != SIGNET_OK)
		return err;
	if (npub != 1) {
		free(pub);
		if (npub == 0)
			return hsm_fail(eb, SIGNET_ENOTFOUND,
					"no public key with this CKA_ID in "
					"token '%s'",
					t->label);
		return hsm_fail(eb, SIGNET_EHSM_KEY,
				"%zu public keys share this CKA_ID in token '%s'", npub, t->label);
	}
	CK_OBJECT_HANDLE obj = pub[0];
	free(pub);
	CK_ULONG kt;
	hsm_alg alg;
	unsigned bits;
	err = get_ulong(t, h, obj, CKA_KEY_TYPE, &kt, eb);
	if (err == SIGNET_OK)
		err = key_alg(t, h, obj, kt, &alg, &bits, eb);
	if (err != SIGNET_OK)
		return err;
	if (alg == HSM_ALG_RSASHA256) {
		uint8_t n[HSM_MODULUS_MAX], e[16];
		size_t nlen = 0, elen = 0;
		err = get_attr(t, h, obj, CKA_MODULUS, n, sizeof(n), &nlen, eb);
		if (err == SIGNET_OK)
			err = get_attr(t, h, obj, CKA_PUBLIC_EXPONENT, e, sizeof(e), &elen, eb);
		if (err == SIGNET_ENOTFOUND)
			return hsm_fail(eb, SIGNET_EHSM_KEY,
					"RSA public key lacks modulus or exponent");
		if (err != SIGNET_OK)
			return err;
		return rsa_pkey(n, nlen, e, elen, &a->pkey, eb);
	}
	uint8_t p[HSM_POINT_MAX];
	size_t plen = 0;
	err = get_attr(t, h, obj, CKA_EC_POINT, p, sizeof(p), &plen, eb);
	if (err == SIGNET_ENOTFOUND)
		return hsm_fail(eb, SIGNET_EHSM_KEY, "EC public key lacks CKA_EC_POINT");
	if (err != SIGNET_OK)
		return err;
	const uint8_t *pt = NULL;
	switch (alg) {
	case HSM_ALG_ECDSAP256:
		err = unwrap_point(p, plen, 65, &pt, eb);
		return err != SIGNET_OK ? err : ec_pkey("P-256", pt, 65, &a->pkey, eb);
	case HSM_ALG_ECDSAP384:
		err = unwrap_point(p, plen, 97, &pt, eb);
		return err != SIGNET_OK ? err : ec_pkey("P-384", pt, 97, &a->pkey, eb);
	case HSM_ALG_ED25519:
		err = unwrap_point(p, plen, 32, &pt, eb);
		if (err != SIGNET_OK)
			return err;
		a->pkey = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pt, 32);
		if (a->pkey == NULL)
			return hsm_fail(eb, SIGNET_ECRYPTO,
					"hsm_key_public: OpenSSL refused the "
					"Ed25519 key");
		return SIGNET_OK;
	default:
		return hsm_fail(eb, SIGNET_EUNSUPPORTED, "hsm_key_public: algorithm %d", (int)alg);
	}
}

signet_err hsm_key_public(hsm_token *t, const uint8_t *id, size_t id_len, EVP_PKEY **out,
			  char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_public: no output");
	*out = NULL;
	if (t == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_public: no token");
	signet_err err = check_id("hsm_key_public", id, id_len, eb);
	if (err != SIGNET_OK)
		return err;
	struct public_arg a = {id, id_len, NULL};
	err = hsm_admin_run(t, public_op, &a, eb);
	if (err != SIGNET_OK) {
		EVP_PKEY_free(a.pkey);
		return err;
	}
	*out = a.pkey;
	return SIGNET_OK;
}

/* ---- delete ---- */

struct delete_arg {
	const uint8_t *id;
	size_t id_len;
	size_t destroyed; /* across attempts: a retry may find fewer objects */
};

static signet_err delete_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct delete_arg *a = arg;
	CK_OBJECT_HANDLE *objs = NULL;
	size_t n = 0;
	signet_err err = hsm_find_objects(t, h, (CK_OBJECT_CLASS)-1, a->id, a->id_len, &objs, &n,
					  eb);
	if (err != SIGNET_OK)
		return err;
	for (size_t i = 0; i < n && err == SIGNET_OK; i++) {
		CK_RV rv = t->ctx->fn->C_DestroyObject(h, objs[i]);
		if (rv != CKR_OK)
			err = hsm_fail_rv(eb, "C_DestroyObject", rv, "token '%s'", t->label);
		else
			a->destroyed++;
	}
	free(objs);
	if (err == SIGNET_OK && a->destroyed == 0)
		err = hsm_fail(eb, SIGNET_ENOTFOUND, "no key with this CKA_ID in token '%s'",
			       t->label);
	return err;
}

signet_err hsm_key_delete(hsm_token *t, const uint8_t *id, size_t id_len, char *errmsg,
			  size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_delete: no token");
	signet_err err = check_id("hsm_key_delete", id, id_len, eb);
	if (err != SIGNET_OK)
		return err;
	struct delete_arg a = {id, id_len, 0};
	err = hsm_admin_run(t, delete_op, &a, eb);
	/* Sessions drop their handles and copies of deleted keys on next use. */
	if (a.destroyed > 0)
		atomic_fetch_add(&t->key_epoch, 1);
	return err;
}
