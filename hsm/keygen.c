/* keygen.c -- key labels by the convention, and key pairs generated inside the token. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/rand.h>

#include "hsm/internal.h"

#define ROLE_MAX 32
#define STAMP_LEN 16 /* 20261127T234500Z */

static bool alg_known(hsm_alg alg)
{
	return alg == HSM_ALG_RSASHA256 || alg == HSM_ALG_ECDSAP256 || alg == HSM_ALG_ECDSAP384 ||
	       alg == HSM_ALG_ED25519;
}

static bool role_ok(const char *s, size_t n)
{
	if (n == 0 || n > ROLE_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 'a' || s[i] > 'z')
			return false;
	return true;
}

/* Visible ASCII without ':' (the field separator). */
static bool owner_ok(const char *s, size_t n)
{
	if (n == 0)
		return false;
	for (size_t i = 0; i < n; i++)
		if (s[i] < 0x21 || s[i] > 0x7e || s[i] == ':')
			return false;
	return true;
}

signet_err hsm_key_label(const char *role, const char *owner, hsm_alg alg, int64_t created,
			 char *out, size_t outlen, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (out == NULL || outlen == 0)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_label: no output");
	out[0] = '\0';
	if (role == NULL || !role_ok(role, strlen(role)))
		return hsm_fail(eb, SIGNET_EINVAL,
				"hsm_key_label: role must be 1 to %d letters a-z", ROLE_MAX);
	if (owner == NULL || !owner_ok(owner, strlen(owner)))
		return hsm_fail(eb, SIGNET_EINVAL,
				"hsm_key_label: owner must be visible ASCII "
				"without ':'");
	if (!alg_known(alg))
		return hsm_fail(eb, SIGNET_EUNSUPPORTED, "hsm_key_label: algorithm %d", (int)alg);
	if (created < 0 || created > 253402300799) /* 9999-12-31T23:59:59Z */
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_key_label: creation time out of range");
	time_t tt = (time_t)created;
	struct tm tm;
	if (gmtime_r(&tt, &tm) == NULL)
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_key_label: creation time out of range");
	char stamp[STAMP_LEN + 1];
	if (strftime(stamp, sizeof(stamp), "%Y%m%dT%H%M%SZ", &tm) != STAMP_LEN)
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_key_label: creation time out of range");
	int n = snprintf(out, outlen, "signet:%s:%s:%d:%s", role, owner, (int)alg, stamp);
	if (n < 0 || (size_t)n >= outlen || n > HSM_LABEL_MAX) {
		out[0] = '\0';
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_label: label longer than %d octets",
				HSM_LABEL_MAX);
	}
	return SIGNET_OK;
}

/* Whether label follows the convention for a key of algorithm alg. */
static bool label_ok(const char *label, hsm_alg alg)
{
	size_t len = strlen(label);
	if (len > HSM_LABEL_MAX || strncmp(label, "signet:", 7) != 0)
		return false;
	const char *f[4];
	size_t flen[4];
	const char *p = label + 7;
	for (int i = 0; i < 4; i++) {
		const char *colon = strchr(p, ':');
		if ((i < 3) != (colon != NULL))
			return false;
		f[i] = p;
		flen[i] = colon != NULL ? (size_t)(colon - p) : strlen(p);
		p = colon != NULL ? colon + 1 : p + flen[i];
	}
	if (!role_ok(f[0], flen[0]) || !owner_ok(f[1], flen[1]))
		return false;
	char num[8];
	int an = snprintf(num, sizeof(num), "%d", (int)alg);
	if (an < 0 || flen[2] != (size_t)an || memcmp(f[2], num, flen[2]) != 0)
		return false;
	if (flen[3] != STAMP_LEN || f[3][8] != 'T' || f[3][15] != 'Z')
		return false;
	for (size_t i = 0; i < STAMP_LEN; i++)
		if (i != 8 && i != 15 && (f[3][i] < '0' || f[3][i] > '9'))
			return false;
	return true;
}

struct gen_arg {
	hsm_alg alg;
	CK_ULONG bits;
	const char *label;
	hsm_key_info *info;
};

static const CK_BYTE params_p256[] = {0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07};
static const CK_BYTE params_p384[] = {0x06, 0x05, 0x2b, 0x81, 0x04, 0x00, 0x22};
static const CK_BYTE params_ed25519[] = {0x06, 0x03, 0x2b, 0x65, 0x70};

/* A wrappable key is only as safe as the module's enforcement of
 * CKA_WRAP_WITH_TRUSTED, so each one is tried once: wrapping it with a fresh
 * untrusted session key must be refused because of the key. NSS's softokn
 * wraps it all the same (and lets any user set CKA_TRUSTED): there no key is
 * made wrappable (docs/HSM.md, "A second implementation"). */
static signet_err check_wrap_refused(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE priv,
				     hsm_errbuf *eb)
{
	CK_FUNCTION_LIST *fn = t->ctx->fn;
	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_ULONG len = 32;
	CK_ATTRIBUTE tmpl[] = {
		{CKA_TOKEN, &no, sizeof(no)},
		{CKA_VALUE_LEN, &len, sizeof(len)},
		{CKA_WRAP, &yes, sizeof(yes)},
	};
	CK_MECHANISM gen = {CKM_AES_KEY_GEN, NULL, 0};
	CK_OBJECT_HANDLE probe = CK_INVALID_HANDLE;
	CK_RV rv = fn->C_GenerateKey(h, &gen, tmpl, 3, &probe);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_GenerateKey", rv,
				   "an untrusted AES key, to check that token "
				   "'%s' enforces CKA_WRAP_WITH_TRUSTED",
				   t->label);
	uint8_t *buf = malloc(HSM_WRAPPED_MAX);
	CK_ULONG olen = HSM_WRAPPED_MAX;
	CK_MECHANISM wrap = {CKM_AES_KEY_WRAP_PAD, NULL, 0};
	if (buf != NULL)
		rv = fn->C_WrapKey(h, &wrap, probe, priv, buf, &olen);
	if (buf != NULL) {
		sg_wipe(buf, HSM_WRAPPED_MAX);
		free(buf);
	}
	(void)fn->C_DestroyObject(h, probe);
	if (buf == NULL)
		return hsm_fail(eb, SIGNET_ENOMEM, "hsm_key_generate: out of memory");
	if (rv == CKR_KEY_NOT_WRAPPABLE || rv == CKR_KEY_UNEXTRACTABLE)
		return SIGNET_OK;
	if (rv == CKR_OK)
		return hsm_fail(
			eb, SIGNET_EUNSUPPORTED,
			"C_WrapKey: token '%s' wrapped a key with "
			"CKA_WRAP_WITH_TRUSTED to an untrusted key: it does not enforce the "
			"attribute, so no key can be made wrappable in it",
			t->label);
	return hsm_fail_rv(eb, "C_WrapKey", rv,
			   "checking that token '%s' refuses to wrap a key "
			   "with CKA_WRAP_WITH_TRUSTED to an untrusted key (expected "
			   "CKR_KEY_NOT_WRAPPABLE)",
			   t->label);
}

static signet_err gen_op(hsm_token *t, CK_SESSION_HANDLE h, void *arg, hsm_errbuf *eb)
{
	struct gen_arg *a = arg;
	CK_FUNCTION_LIST *fn = t->ctx->fn;
	uint8_t id[HSM_ID_LEN];
	/* A collision of 128 random bits is not expected, but CKA_ID is the
	 * key's identity: make sure. */
	for (int tries = 0;; tries++) {
		if (tries == 4)
			return hsm_fail(eb, SIGNET_ECRYPTO,
					"hsm_key_generate: no unused CKA_ID found");
		if (RAND_bytes(id, sizeof(id)) != 1)
			return hsm_fail(eb, SIGNET_ECRYPTO, "hsm_key_generate: RAND_bytes failed");
		CK_OBJECT_HANDLE *objs = NULL;
		size_t n = 0;
		signet_err err = hsm_find_objects(t, h, (CK_OBJECT_CLASS)-1, id, sizeof(id), &objs,
						  &n, eb);
		free(objs);
		if (err != SIGNET_OK)
			return err;
		if (n == 0)
			break;
	}

	CK_BBOOL yes = CK_TRUE, no = CK_FALSE;
	CK_BYTE exponent[] = {0x01, 0x00, 0x01};
	CK_ULONG bits = a->bits;
	CK_ULONG label_len = strlen(a->label);
	CK_MECHANISM mech = {CKM_EC_KEY_PAIR_GEN, NULL, 0};
	CK_ATTRIBUTE pub[9], priv[11];
	CK_ULONG np = 0, nv = 0;
	pub[np++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	pub[np++] = (CK_ATTRIBUTE){CKA_PRIVATE, &no, sizeof(no)};
	pub[np++] = (CK_ATTRIBUTE){CKA_VERIFY, &yes, sizeof(yes)};
	pub[np++] = (CK_ATTRIBUTE){CKA_ENCRYPT, &no, sizeof(no)};
	pub[np++] = (CK_ATTRIBUTE){CKA_WRAP, &no, sizeof(no)};
	pub[np++] = (CK_ATTRIBUTE){CKA_ID, id, sizeof(id)};
	pub[np++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)a->label, label_len};
	switch (a->alg) {
	case HSM_ALG_RSASHA256:
		mech.mechanism = CKM_RSA_PKCS_KEY_PAIR_GEN;
		pub[np++] = (CK_ATTRIBUTE){CKA_MODULUS_BITS, &bits, sizeof(bits)};
		pub[np++] = (CK_ATTRIBUTE){CKA_PUBLIC_EXPONENT, exponent, sizeof(exponent)};
		break;
	case HSM_ALG_ECDSAP256:
		pub[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)params_p256, sizeof(params_p256)};
		break;
	case HSM_ALG_ECDSAP384:
		pub[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)params_p384, sizeof(params_p384)};
		break;
	case HSM_ALG_ED25519:
		mech.mechanism = CKM_EC_EDWARDS_KEY_PAIR_GEN;
		pub[np++] = (CK_ATTRIBUTE){CKA_EC_PARAMS, (void *)params_ed25519,
					   sizeof(params_ed25519)};
		break;
	}
	priv[nv++] = (CK_ATTRIBUTE){CKA_TOKEN, &yes, sizeof(yes)};
	priv[nv++] = (CK_ATTRIBUTE){CKA_PRIVATE, &yes, sizeof(yes)};
	priv[nv++] = (CK_ATTRIBUTE){CKA_SENSITIVE, &yes, sizeof(yes)};
	/* Extractable only together with wrap-with-trusted: the token then lets
	 * the key out only wrapped by a key its SO marked trusted. */
	priv[nv++] = (CK_ATTRIBUTE){CKA_EXTRACTABLE, t->wrappable_keys ? &yes : &no, sizeof(no)};
	if (t->wrappable_keys)
		priv[nv++] = (CK_ATTRIBUTE){CKA_WRAP_WITH_TRUSTED, &yes, sizeof(yes)};
	priv[nv++] = (CK_ATTRIBUTE){CKA_SIGN, &yes, sizeof(yes)};
	/* SoftHSM2 turns these on unless told otherwise. */
	priv[nv++] = (CK_ATTRIBUTE){CKA_DECRYPT, &no, sizeof(no)};
	priv[nv++] = (CK_ATTRIBUTE){CKA_UNWRAP, &no, sizeof(no)};
	priv[nv++] = (CK_ATTRIBUTE){CKA_DERIVE, &no, sizeof(no)};
	priv[nv++] = (CK_ATTRIBUTE){CKA_ID, id, sizeof(id)};
	priv[nv++] = (CK_ATTRIBUTE){CKA_LABEL, (void *)a->label, label_len};

	CK_OBJECT_HANDLE hpub = CK_INVALID_HANDLE, hpriv = CK_INVALID_HANDLE;
	CK_RV rv = fn->C_GenerateKeyPair(h, &mech, pub, np, priv, nv, &hpub, &hpriv);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_GenerateKeyPair", rv, "algorithm %d in token '%s'",
				   (int)a->alg, t->label);
	signet_err err = hsm_describe_object(t, h, hpriv, a->info, eb);
	if (err == SIGNET_OK &&
	    (!hsm_key_is_safe(a->info) || a->info->can_decrypt || a->info->alg != a->alg ||
	     a->info->wrap_with_trusted != t->wrappable_keys))
		err = hsm_fail(eb, SIGNET_EHSM_KEY,
			       "C_GenerateKeyPair: token '%s' did not honour "
			       "the private key template (sensitive %d, extractable %d, "
			       "decrypt %d)",
			       t->label, a->info->sensitive, a->info->extractable,
			       a->info->can_decrypt);
	if (err == SIGNET_OK && t->wrappable_keys)
		err = check_wrap_refused(t, h, hpriv, eb);
	if (err != SIGNET_OK) {
		/* A key we cannot vouch for must not stay in the token. */
		(void)fn->C_DestroyObject(h, hpriv);
		(void)fn->C_DestroyObject(h, hpub);
		return err;
	}
	a->info->has_public = true;
	return SIGNET_OK;
}

signet_err hsm_key_generate(hsm_token *t, hsm_alg alg, unsigned rsa_bits, const char *label,
			    hsm_key_info *out, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || out == NULL || label == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_key_generate: missing argument");
	memset(out, 0, sizeof(*out));
	if (!alg_known(alg))
		return hsm_fail(eb, SIGNET_EUNSUPPORTED, "hsm_key_generate: algorithm %d",
				(int)alg);
	if (alg == HSM_ALG_RSASHA256) {
		if (rsa_bits == 0)
			rsa_bits = 2048;
		if (rsa_bits != 2048 && rsa_bits != 3072 && rsa_bits != 4096)
			return hsm_fail(eb, SIGNET_EINVAL,
					"hsm_key_generate: RSA keys are 2048, "
					"3072 or 4096 bits, not %u",
					rsa_bits);
	}
	if (!label_ok(label, alg))
		return hsm_fail(eb, SIGNET_EINVAL,
				"hsm_key_generate: label '%.*s' does not follow "
				"signet:<role>:<owner>:%d:<YYYYMMDDTHHMMSSZ>",
				64, label, (int)alg);
	struct gen_arg a = {alg, rsa_bits, label, out};
	return hsm_admin_run(t, gen_op, &a, eb);
}
