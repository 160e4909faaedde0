/* tls_key.c -- a TLS private key kept in a token: log the token in, check
 * that the URI names one safe private key matching the certificate, and load
 * it once through libp11's engine the way gRPC's TLS layer will. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "hsm/internal.h"

struct hsm_tls_key {
	hsm_token *own;                   /* the token we logged in, NULL if the caller's */
	char engine_uri[HSM_URI_MAX + 1]; /* canonical URI for the engine */
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
	if (!t || hsm_token_describe(t, &d) != SIGNET_OK)
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
	signet_err ret = hsm_key_list(t, &keys, &n);
	if (ret != SIGNET_OK)
		return tk_fail(errmsg, errlen, ret, "token '%s': cannot list keys: %s", tname,
			       hsm_last_error());
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
	hsm_token *t = have;
	if (!names_token(have, &u)) {
		if (!pin) {
			free(k);
			return tk_fail(errmsg, errlen, SIGNET_EINVAL,
				       "token '%s': no PIN given for it", tname);
		}
		ret = hsm_token_open(ctx, u.token[0] ? u.token : NULL,
				     u.serial[0] ? u.serial : NULL, pin, &k->own);
		if (ret != SIGNET_OK) {
			free(k);
			return tk_fail(errmsg, errlen, ret, "token '%s': %s (%s)", tname,
				       signet_strerror(ret), hsm_last_error());
		}
		t = k->own;
	}
	hsm_key_info info;
	EVP_PKEY *want = NULL, *have_pub = NULL, *loaded = NULL;
	ret = find_key(t, &u, tname, &info, errmsg, errlen);
	if (ret == SIGNET_OK)
		ret = cert_public(p->cert_pem, p->cert_len, &want, errmsg, errlen);
	if (ret == SIGNET_OK) {
		ret = hsm_key_public(t, info.id, info.id_len, &have_pub);
		if (ret != SIGNET_OK)
			tk_fail(errmsg, errlen, ret, "token '%s': key '%s' has no public half: %s",
				tname, info.label, hsm_last_error());
	}
	if (ret == SIGNET_OK && EVP_PKEY_eq(want, have_pub) != 1)
		ret = tk_fail(errmsg, errlen, SIGNET_EVERIFY,
			      "token '%s': key '%s' does not match the certificate's public key",
			      tname, info.label);
	ERR_clear_error();
	if (ret == SIGNET_OK) {
		ret = hsm_engine_ready(ctx->path);
		if (ret == SIGNET_OK)
			ret = hsm_engine_load_public(k->engine_uri, &loaded);
		if (ret != SIGNET_OK)
			tk_fail(errmsg, errlen, ret, "token '%s': %s", tname, hsm_last_error());
	}
	if (ret == SIGNET_OK && EVP_PKEY_eq(loaded, have_pub) != 1)
		ret = tk_fail(errmsg, errlen, SIGNET_EVERIFY,
			      "token '%s': the engine loaded another key than '%s'", tname,
			      info.label);
	ERR_clear_error();
	EVP_PKEY_free(want);
	EVP_PKEY_free(have_pub);
	EVP_PKEY_free(loaded);
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

void hsm_tls_key_close(hsm_tls_key *k)
{
	if (!k)
		return;
	hsm_token_close(k->own);
	free(k);
}
