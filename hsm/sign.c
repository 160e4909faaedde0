/* sign.c -- signing on a worker's session, and the one transparent retry after a fault. */

#include <stdio.h>
#include <string.h>

#include <openssl/evp.h>

#include "hsm/internal.h"

/* The digests fetched once: EVP_sha256() in OpenSSL 3 looks the
 * implementation up in the provider store, under its lock, on every use,
 * and two workers signing at once meet on that lock. */
static EVP_MD *md_sha256, *md_sha384;
static pthread_once_t md_once = PTHREAD_ONCE_INIT;

/* Each signing thread keeps one digest context, so hashing the data costs
 * no allocation per signature. */
static pthread_key_t md_key;
static bool md_key_ok;

static void md_ctx_destroy(void *p)
{
	EVP_MD_CTX_free(p);
}

static void md_fetch(void)
{
	md_sha256 = EVP_MD_fetch(NULL, "SHA2-256", NULL);
	md_sha384 = EVP_MD_fetch(NULL, "SHA2-384", NULL);
	md_key_ok = pthread_key_create(&md_key, md_ctx_destroy) == 0;
}

/* The digest of data for an ECDSA key of alg into out (EVP_MAX_MD_SIZE). */
static bool ecdsa_digest(hsm_alg alg, const uint8_t *data, size_t len, uint8_t *out,
			 unsigned *outlen)
{
	pthread_once(&md_once, md_fetch);
	const EVP_MD *md = alg == HSM_ALG_ECDSAP256 ? (md_sha256 ? md_sha256 : EVP_sha256())
						    : (md_sha384 ? md_sha384 : EVP_sha384());
	EVP_MD_CTX *ctx = md_key_ok ? pthread_getspecific(md_key) : NULL;
	if (!ctx && md_key_ok && (ctx = EVP_MD_CTX_new()) &&
	    pthread_setspecific(md_key, ctx) != 0) {
		EVP_MD_CTX_free(ctx);
		ctx = NULL;
	}
	if (!ctx)
		return EVP_Digest(data, len, out, outlen, md, NULL) == 1;
	return EVP_DigestInit_ex(ctx, md, NULL) == 1 && EVP_DigestUpdate(ctx, data, len) == 1 &&
	       EVP_DigestFinal_ex(ctx, out, outlen) == 1;
}

signet_err hsm_sign_object(hsm_token *t, CK_SESSION_HANDLE h, CK_OBJECT_HANDLE obj, hsm_alg alg,
			   size_t sig_len, const uint8_t *data, size_t len, uint8_t *out,
			   size_t *outlen, hsm_errbuf *eb)
{
	CK_FUNCTION_LIST *fn = t->ctx->fn;
	CK_MECHANISM mech = {CKM_SHA256_RSA_PKCS, NULL, 0};
	uint8_t digest[EVP_MAX_MD_SIZE];
	unsigned dlen = 0;
	const uint8_t *in = data;
	size_t inlen = len;
	switch (alg) {
	case HSM_ALG_RSASHA256:
		break;
	case HSM_ALG_ECDSAP256:
	case HSM_ALG_ECDSAP384:
		/* SoftHSM2 has no CKM_ECDSA_SHA256: hash here, sign the digest. */
		if (!ecdsa_digest(alg, data, len, digest, &dlen))
			return hsm_fail(eb, SIGNET_ECRYPTO, "hsm_sign: digest failed");
		mech.mechanism = CKM_ECDSA;
		in = digest;
		inlen = dlen;
		break;
	case HSM_ALG_ED25519:
		mech.mechanism = CKM_EDDSA;
		break;
	}
	/* Modules take a NULL buffer for bad arguments even when it is empty. */
	static const uint8_t nothing[1];
	if (in == NULL)
		in = nothing;
	CK_RV rv = fn->C_SignInit(h, &mech, obj);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_SignInit", rv, "token '%s'", t->label);
	CK_ULONG olen = HSM_SIG_MAX;
	rv = fn->C_Sign(h, (CK_BYTE *)in, inlen, out, &olen);
	if (rv != CKR_OK)
		return hsm_fail_rv(eb, "C_Sign", rv, "token '%s'", t->label);
	if (olen != sig_len)
		return hsm_fail(eb, SIGNET_EHSM, "C_Sign: %lu octets from token '%s', expected %zu",
				(unsigned long)olen, t->label, sig_len);
	*outlen = olen;
	return SIGNET_OK;
}

/* One signature on the session as it is now. Caller holds the read side. */
static signet_err sign_once(hsm_session *s, const struct hsm_cached_key *k, const uint8_t *data,
			    size_t len, uint8_t *out, size_t *outlen, hsm_errbuf *eb)
{
	return hsm_sign_object(s->tok, s->h, k->handle, k->alg, k->sig_len, data, len, out, outlen,
			       eb);
}

/* Whether the session lost its login: softokn answers C_SignInit on a token
 * key with CKR_HOST_MEMORY, not CKR_USER_NOT_LOGGED_IN, after a C_Logout
 * behind our back (it cannot decrypt the key any more). */
static bool session_logged_out(const hsm_session *s)
{
	CK_SESSION_INFO si;
	if (s->h == CK_INVALID_HANDLE || s->tok->ctx->fn->C_GetSessionInfo(s->h, &si) != CKR_OK)
		return false;
	return si.state != CKS_RO_USER_FUNCTIONS && si.state != CKS_RW_USER_FUNCTIONS;
}

signet_err hsm_sign(hsm_session *s, const uint8_t *id, size_t id_len, const uint8_t *data,
		    size_t len, uint8_t *sig, size_t sigmax, size_t *siglen, char *errmsg,
		    size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (siglen != NULL)
		*siglen = 0;
	if (s == NULL || sig == NULL || siglen == NULL || (data == NULL && len > 0))
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_sign: missing argument");
	if (id == NULL || id_len == 0)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_sign: no key ID");
	if (id_len > HSM_ID_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_sign: key ID longer than %d octets",
				HSM_ID_MAX);
	if (len > HSM_DATA_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "hsm_sign: %zu octets to sign, more than %u",
				len, HSM_DATA_MAX);

	hsm_token *t = s->tok;
	hsm_ctx *ctx = t->ctx;
	uint8_t buf[HSM_SIG_MAX];
	size_t blen = 0;
	signet_err err = SIGNET_OK;
	bool fault = false;
	for (int attempt = 0; attempt < 2; attempt++) {
		pthread_rwlock_rdlock(&ctx->rw);
		uint64_t gen = ctx->gen;
		eb->rv = CKR_OK;
		const struct hsm_cached_key *k = NULL;
		err = hsm_session_ready(s, eb);
		if (err == SIGNET_OK)
			err = hsm_session_key(s, id, id_len, &k, eb);
		if (err == SIGNET_OK && k->sig_len > sigmax)
			err = hsm_fail(eb, SIGNET_ERANGE,
				       "hsm_sign: the signature has %zu octets, "
				       "room for %zu",
				       k->sig_len, sigmax);
		if (err == SIGNET_OK)
			err = sign_once(s, k, data, len, buf, &blen, eb);
		CK_RV rv = eb->rv;
		fault = err != SIGNET_OK && hsm_rv_is_fault(rv);
		if (err != SIGNET_OK && !fault && rv != CKR_OK && session_logged_out(s))
			fault = true;
		bool gone = !ctx->live || !t->up || hsm_rv_is_gone(rv);
		if (fault && !gone) {
			/* SoftHSM2 reports a vanished token directory as an invalid
			 * object handle; the token info tells the two apart. */
			CK_TOKEN_INFO ti;
			gone = ctx->fn->C_GetTokenInfo(t->slot, &ti) != CKR_OK;
		}
		if (fault && !gone)
			hsm_session_drop(s);
		pthread_rwlock_unlock(&ctx->rw);
		if (!fault || attempt == 1)
			break;
		if (gone) {
			err = hsm_module_reconnect(ctx, t, gen, eb);
			if (err != SIGNET_OK)
				return err;
		}
	}
	if (fault) {
		char why[256];
		snprintf(why, sizeof(why), "%s", eb->errlen > 0 ? eb->errmsg : "");
		return hsm_fail(eb, SIGNET_EHSM_DOWN,
				"hsm_sign: token '%s' still failing after "
				"reopening the session: %s",
				t->label, why);
	}
	if (err != SIGNET_OK)
		return err;
	if (blen > sigmax)
		return hsm_fail(eb, SIGNET_ERANGE,
				"hsm_sign: the signature has %zu octets, room "
				"for %zu",
				blen, sigmax);
	memcpy(sig, buf, blen);
	*siglen = blen;
	return SIGNET_OK;
}
