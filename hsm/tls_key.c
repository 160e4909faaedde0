/* tls_key.c -- a TLS private key kept in a token: log the token in, check
 * that the URI names one safe private key matching the certificate, and load
 * it once through libp11's engine the way gRPC's TLS layer will; later,
 * check that it still signs through the engine, and when it does not, log
 * the token in again through hsm/ and load it through a fresh engine. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsm/internal.h"

/* Signatures one check makes through the engine: libp11 0.4.12 keeps up to
 * 16 sessions per slot in a first-in first-out pool, so 17 in a row take
 * each pooled session at least once, dead or alive. */
#define PROBES 17

struct hsm_tls_key {
	hsm_ctx *ctx;           /* the module */
	hsm_token *own;         /* the token we logged in, NULL if the caller's */
	hsm_token *tok;         /* the token holding the key (own or the caller's) */
	hsm_session *sess;      /* hsm/'s own session for repairs, or NULL */
	uint8_t id[HSM_ID_MAX]; /* the key's CKA_ID */
	size_t id_len;
	char label[HSM_LABEL_MAX + 1];     /* its CKA_LABEL, for messages */
	EVP_PKEY *pub;                     /* its public key (the certificate's) */
	EVP_PKEY *loaded;                  /* the key as the current instance loaded it */
	char engine_id[32];                /* that instance */
	char engine_uri[HSM_URI_MAX + 1];  /* canonical URI for the engine */
	char engine_key[HSM_URI_MAX + 48]; /* "engine:<engine_id>:<engine_uri>" */
};

static signet_err tk_fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static signet_err tk_fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
{
	if (errmsg && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errmsg, errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* The caller's token if the URI names it. */
static bool names_token(hsm_token *t, const hsm_uri *u)
{
	hsm_token_desc d;
	if (!t || hsm_token_describe(t, &d, NULL, 0) != SIGNET_OK)
		return false;
	if (u->serial[0] && strcmp(u->serial, d.serial) != 0)
		return false;
	if (u->token[0] && strcmp(u->token, d.label) != 0)
		return false;
	return true;
}

/* The one private key the URI names; the whole list is looked at because
 * libp11's engine enumerates every key and fails on some (see below). */
static signet_err find_key(hsm_token *t, const hsm_uri *u, const char *tname, hsm_key_info *out,
			   char *errmsg, size_t errlen)
{
	hsm_key_info *keys = NULL;
	size_t n = 0, found = 0;
	char why[HSM_ERRMSG_MAX] = "";
	signet_err ret = hsm_key_list(t, &keys, &n, why, sizeof(why));
	if (ret != SIGNET_OK)
		return tk_fail(errmsg, errlen, ret, "token '%s': cannot list keys: %s", tname, why);
	bool eddsa = false, public_only = false;
	for (size_t i = 0; i < n; i++) {
		if (keys[i].has_private && keys[i].alg == HSM_ALG_ED25519)
			eddsa = true;
		bool id_ok = !u->id_len || (keys[i].id_len == u->id_len &&
					    memcmp(keys[i].id, u->id, u->id_len) == 0);
		bool label_ok = !u->object[0] || strcmp(keys[i].label, u->object) == 0;
		if (!id_ok || !label_ok)
			continue;
		if (!keys[i].has_private) {
			public_only = true;
			continue;
		}
		*out = keys[i];
		found++;
	}
	free(keys);
	if (found == 0) {
		char what[HSM_LABEL_MAX + 32];
		snprintf(what, sizeof(what), "%s%s%s", u->object[0] ? "object=" : "", u->object,
			 !u->id_len     ? ""
			 : u->object[0] ? " with that id"
					: "with that id");
		return tk_fail(errmsg, errlen, SIGNET_ENOTFOUND,
			       "token '%s' holds no private key %s%s", tname, what,
			       public_only ? " (only a public key matches)" : "");
	}
	if (found > 1)
		return tk_fail(errmsg, errlen, SIGNET_EINVAL,
			       "token '%s': the URI matches %zu private keys; name one (id=)",
			       tname, found);
	/* Measured with libp11 0.4.12: an Ed25519 key anywhere in the token
	 * makes the engine's key enumeration fail, and so every TLS key of the
	 * token with it. */
	if (eddsa)
		return tk_fail(errmsg, errlen, SIGNET_EUNSUPPORTED,
			       "token '%s' holds Ed25519 keys, which libp11's engine cannot "
			       "enumerate (it then loads no key of the token): keep the TLS key "
			       "in a token without them (docs/HSM.md)",
			       tname);
	if (out->alg == HSM_ALG_ED25519)
		return tk_fail(errmsg, errlen, SIGNET_EUNSUPPORTED,
			       "token '%s': libp11's engine has no Ed25519; use P-256", tname);
	if (!hsm_key_is_safe(out))
		return tk_fail(errmsg, errlen, SIGNET_EHSM_KEY,
			       "token '%s': key '%s' is not protected (sensitive, never "
			       "extractable, able to sign): refused",
			       tname, out->label);
	return SIGNET_OK;
}

static signet_err cert_public(const uint8_t *pem, size_t len, EVP_PKEY **out, char *errmsg,
			      size_t errlen)
{
	BIO *b = BIO_new_mem_buf(pem, (int)len);
	X509 *x = b ? PEM_read_bio_X509(b, NULL, NULL, NULL) : NULL;
	BIO_free(b);
	ERR_clear_error();
	if (!x)
		return tk_fail(errmsg, errlen, SIGNET_EPARSE, "the certificate does not parse");
	*out = X509_get_pubkey(x);
	X509_free(x);
	if (!*out)
		return tk_fail(errmsg, errlen, SIGNET_EPARSE, "the certificate has no public key");
	return SIGNET_OK;
}

/* engine_key from engine_id and engine_uri. */
static signet_err set_engine_key(hsm_tls_key *k)
{
	int n = snprintf(k->engine_key, sizeof(k->engine_key), "engine:%s:%s", k->engine_id,
			 k->engine_uri);
	return n > 0 && (size_t)n < sizeof(k->engine_key) ? SIGNET_OK : SIGNET_ERANGE;
}

signet_err hsm_tls_key_open(const hsm_tls_key_params *p, hsm_tls_key **out, char *errmsg,
			    size_t errlen)
{
	if (!p || !p->ctx || !p->uri || !p->cert_pem || !out)
		return SIGNET_EINVAL;
	hsm_ctx *ctx = p->ctx;
	hsm_token *have = p->have;
	const sg_secret *pin = p->pin;
	*out = NULL;
	hsm_uri u;
	char sub[256];
	signet_err ret = hsm_uri_parse(p->uri, &u, sub, sizeof(sub));
	if (ret != SIGNET_OK)
		return tk_fail(errmsg, errlen, ret, "PKCS#11 URI: %s", sub);
	hsm_tls_key *k = calloc(1, sizeof(*k));
	if (!k)
		return SIGNET_ENOMEM;
	ret = hsm_uri_format(&u, k->engine_uri, sizeof(k->engine_uri));
	if (ret != SIGNET_OK) {
		free(k);
		return tk_fail(errmsg, errlen, ret, "PKCS#11 URI: too long once encoded");
	}
	const char *tname = u.token[0] ? u.token : u.serial;
	char why[HSM_ERRMSG_MAX] = "";
	hsm_errbuf eb = HSM_ERRBUF(why, sizeof(why));
	hsm_token *t = have;
	if (!names_token(have, &u)) {
		if (!pin) {
			free(k);
			return tk_fail(errmsg, errlen, SIGNET_EINVAL,
				       "token '%s': no PIN given for it", tname);
		}
		ret = hsm_token_open(ctx, u.token[0] ? u.token : NULL,
				     u.serial[0] ? u.serial : NULL, pin, &k->own, why, sizeof(why));
		if (ret != SIGNET_OK) {
			free(k);
			return tk_fail(errmsg, errlen, ret, "token '%s': %s (%s)", tname,
				       signet_strerror(ret), why);
		}
		t = k->own;
	}
	hsm_key_info info;
	EVP_PKEY *want = NULL, *have_pub = NULL, *loaded = NULL;
	ret = find_key(t, &u, tname, &info, errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = cert_public(p->cert_pem, p->cert_len, &want, errmsg, errlen);
	if (ret == SIGNET_OK) {
		ret = hsm_key_public(t, info.id, info.id_len, &have_pub, why, sizeof(why));
		if (ret != SIGNET_OK)
			tk_fail(errmsg, errlen, ret, "token '%s': key '%s' has no public half: %s",
				tname, info.label, why);
	}
	if (ret == SIGNET_OK && EVP_PKEY_eq(want, have_pub) != 1)
		ret = tk_fail(errmsg, errlen, SIGNET_EVERIFY,
			      "token '%s': key '%s' does not match the certificate's public key",
			      tname, info.label);
	ERR_clear_error();
	if (ret == SIGNET_OK) {
		ret = hsm_engine_ready(ctx, &eb);
		if (ret == SIGNET_OK)
			ret = hsm_engine_current(k->engine_id, sizeof(k->engine_id), &eb);
		if (ret == SIGNET_OK)
			ret = hsm_engine_load(k->engine_id, k->engine_uri, &loaded, &eb);
		if (ret != SIGNET_OK)
			tk_fail(errmsg, errlen, ret, "token '%s': %s", tname, why);
	}
	if (ret == SIGNET_OK && EVP_PKEY_eq(loaded, have_pub) != 1)
		ret = tk_fail(errmsg, errlen, SIGNET_EVERIFY,
			      "token '%s': the engine loaded another key than '%s'", tname,
			      info.label);
	ERR_clear_error();
	EVP_PKEY_free(want);
	k->ctx = ctx;
	k->tok = t;
	k->pub = have_pub;
	k->loaded = loaded;
	if (ret == SIGNET_OK) {
		memcpy(k->id, info.id, info.id_len);
		k->id_len = info.id_len;
		snprintf(k->label, sizeof(k->label), "%s", info.label);
		ret = set_engine_key(k);
		if (ret != SIGNET_OK)
			tk_fail(errmsg, errlen, ret, "PKCS#11 URI: too long for the engine");
	}
	if (ret != SIGNET_OK) {
		hsm_tls_key_close(k);
		return ret;
	}
	*out = k;
	return SIGNET_OK;
}

const char *hsm_tls_key_engine_uri(const hsm_tls_key *k)
{
	return k ? k->engine_uri : "";
}

const char *hsm_tls_key_engine_key(const hsm_tls_key *k)
{
	return k ? k->engine_key : "";
}

/* One signature over random octets with key, as a TLS handshake makes it
 * (SHA-256, through the key's engine), verified with pub. */
static bool engine_signs(EVP_PKEY *key, EVP_PKEY *pub)
{
	uint8_t data[32], sig[HSM_SIG_MAX];
	size_t siglen = sizeof(sig);
	if (RAND_bytes(data, sizeof(data)) != 1)
		return false;
	EVP_MD_CTX *s = EVP_MD_CTX_new(), *v = EVP_MD_CTX_new();
	bool ok = s && v && EVP_DigestSignInit(s, NULL, EVP_sha256(), NULL, key) == 1 &&
		  EVP_DigestSign(s, sig, &siglen, data, sizeof(data)) == 1 &&
		  EVP_DigestVerifyInit(v, NULL, EVP_sha256(), NULL, pub) == 1 &&
		  EVP_DigestVerify(v, sig, siglen, data, sizeof(data)) == 1;
	EVP_MD_CTX_free(s);
	EVP_MD_CTX_free(v);
	ERR_clear_error();
	return ok;
}

static bool engine_healthy(hsm_tls_key *k)
{
	if (!k->loaded || hsm_engine_stale(k->ctx, k->engine_id))
		return false;
	for (int i = 0; i < PROBES; i++)
		if (!engine_signs(k->loaded, k->pub))
			return false;
	return true;
}

signet_err hsm_tls_key_check(hsm_tls_key *k, bool *renewed, char *errmsg, size_t errlen)
{
	if (!k || !renewed)
		return SIGNET_EINVAL;
	*renewed = false;
	if (engine_healthy(k))
		return SIGNET_OK;
	/* Through hsm/ first: a session of its own on the key's token, whose
	 * signature logs the token in again (from the PIN hsm/ keeps) when the
	 * token lost the login with its sessions, and reconnects the module
	 * when the token was gone. The engine never sees the PIN. */
	char why[HSM_ERRMSG_MAX] = "";
	hsm_errbuf eb = HSM_ERRBUF(why, sizeof(why));
	signet_err ret = SIGNET_OK;
	if (!k->sess)
		ret = hsm_session_open(k->tok, &k->sess, why, sizeof(why));
	if (ret == SIGNET_OK) {
		uint8_t data[32], sig[HSM_SIG_MAX];
		size_t siglen = 0;
		ret = RAND_bytes(data, sizeof(data)) == 1 ? SIGNET_OK : SIGNET_ECRYPTO;
		if (ret == SIGNET_OK)
			ret = hsm_sign(k->sess, k->id, k->id_len, data, sizeof(data), sig,
				       sizeof(sig), &siglen, why, sizeof(why));
	}
	if (ret != SIGNET_OK)
		return tk_fail(errmsg, errlen, ret, "token '%s': key '%s' does not sign: %s",
			       k->tok->label, k->label, why);
	char id[sizeof(k->engine_id)];
	EVP_PKEY *loaded = NULL;
	ret = hsm_engine_fresh(k->ctx, id, sizeof(id), &eb);
	if (ret == SIGNET_OK)
		ret = hsm_engine_load(id, k->engine_uri, &loaded, &eb);
	if (ret != SIGNET_OK)
		return tk_fail(errmsg, errlen, ret, "token '%s': %s", k->tok->label, why);
	if (EVP_PKEY_eq(loaded, k->pub) != 1 || !engine_signs(loaded, k->pub)) {
		ERR_clear_error();
		EVP_PKEY_free(loaded);
		return tk_fail(errmsg, errlen, SIGNET_EHSM_KEY,
			       "token '%s': the engine's new instance %s does not sign with key "
			       "'%s'",
			       k->tok->label, id, k->label);
	}
	/* The old key's instance keeps its own reference: freeing the key
	 * never finishes the engine. */
	EVP_PKEY_free(k->loaded);
	k->loaded = loaded;
	memcpy(k->engine_id, id, sizeof(k->engine_id));
	ret = set_engine_key(k);
	if (ret == SIGNET_OK)
		*renewed = true;
	return ret;
}

signet_err hsm_tls_key_matches(const hsm_tls_key *k, const uint8_t *cert_pem, size_t cert_len,
			       char *errmsg, size_t errlen)
{
	if (!k || !cert_pem)
		return SIGNET_EINVAL;
	EVP_PKEY *want = NULL;
	signet_err ret = cert_public(cert_pem, cert_len, &want, errmsg, errlen);
	if (ret == SIGNET_OK && EVP_PKEY_eq(want, k->pub) != 1)
		ret = tk_fail(errmsg, errlen, SIGNET_EVERIFY,
			      "token '%s': key '%s' does not match the certificate's public key",
			      k->tok->label, k->label);
	ERR_clear_error();
	EVP_PKEY_free(want);
	return ret;
}

void hsm_tls_key_close(hsm_tls_key *k)
{
	if (!k)
		return;
	hsm_session_close(k->sess);
	EVP_PKEY_free(k->loaded);
	EVP_PKEY_free(k->pub);
	hsm_engine_release(k->ctx);
	hsm_token_close(k->own);
	free(k);
}
