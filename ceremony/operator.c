/* operator.c -- operators: enrollment, the sealed Ed25519 approval key, signing and verifying. */
#include <string.h>
#include <unistd.h>

#include <openssl/evp.h>

#include "ceremony/internal.h"

#define KEY_MAGIC "signet-ceremony-operator-key 1"
#define PUB_MAGIC "signet-ceremony-operator 1"

bool cer_name_ok(const char *name)
{
	if (name == NULL)
		return false;
	size_t n = strlen(name);
	if (n == 0 || n > CER_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = name[i];
		if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_'))
			return false;
	}
	return true;
}

/* What the seal authenticates besides the key: which operator and public key
 * the file claims to hold. Salt, nonce and cost need no binding: changing any
 * of them changes the key or the nonce, and opening fails. */
static signet_err key_aad(const char *name, const uint8_t pub[CER_PUB_LEN], sg_buf *out)
{
	signet_err err = sg_buf_printf(out, "%s\nname %s\n", KEY_MAGIC, name);
	if (err == SIGNET_OK)
		err = cer_put_b64(out, "public", pub, CER_PUB_LEN);
	return err;
}

signet_err cer_enroll(const char *name, const sg_secret *pass, const char *key_path,
		      const char *pub_path, char *errmsg, size_t errlen)
{
	if (!cer_name_ok(name))
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"operator name must be 1 to %d of a-z 0-9 - _", CER_NAME_MAX);
	if (pass == NULL || pass->len < 8)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"passphrase must have at least 8 characters");
	if (key_path == NULL || pub_path == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL,
				"enroll: key and public file paths needed");

	EVP_PKEY *pk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (pk == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "Ed25519 key generation failed");
	sg_secret *priv = NULL;
	uint8_t pub[CER_PUB_LEN];
	size_t plen = CER_PUB_LEN;
	signet_err err = sg_secret_new(32, &priv);
	if (err == SIGNET_OK) {
		priv->len = 32;
		size_t slen = priv->len;
		if (EVP_PKEY_get_raw_private_key(pk, priv->data, &slen) != 1 || slen != 32 ||
		    EVP_PKEY_get_raw_public_key(pk, pub, &plen) != 1 || plen != CER_PUB_LEN)
			err = cer_fail(errmsg, errlen, SIGNET_ECRYPTO,
				       "cannot read the new Ed25519 key");
	}
	EVP_PKEY_free(pk);

	cer_kdf kdf = CER_KDF_DEFAULT;
	uint8_t salt[CER_SALT_LEN], nonce[CER_NONCE_LEN];
	sg_buf ct = SG_BUF_INIT, text = SG_BUF_INIT, pubtext = SG_BUF_INIT;
	if (err == SIGNET_OK)
		err = key_aad(name, pub, &text);
	if (err == SIGNET_OK)
		err = cer_seal(pass, &kdf, text.data, text.len, priv->data, priv->len, salt, nonce,
			       &ct, errmsg, errlen);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&text, "kdf scrypt %llu %u %u\n", (unsigned long long)kdf.n,
				    kdf.r, kdf.p);
	if (err == SIGNET_OK)
		err = cer_put_hex(&text, "salt", salt, CER_SALT_LEN);
	if (err == SIGNET_OK)
		err = cer_put_hex(&text, "nonce", nonce, CER_NONCE_LEN);
	if (err == SIGNET_OK)
		err = cer_put_b64(&text, "sealed", ct.data, ct.len);
	if (err == SIGNET_OK)
		err = sg_buf_printf(&pubtext, "%s\nname %s\n", PUB_MAGIC, name);
	if (err == SIGNET_OK)
		err = cer_put_b64(&pubtext, "public", pub, CER_PUB_LEN);
	sg_secret_free(priv);
	if (err == SIGNET_ENOMEM)
		cer_fail(errmsg, errlen, err, "out of memory");
	if (err == SIGNET_OK)
		err = cer_write_new(key_path, text.data, text.len, 0600, errmsg, errlen);
	if (err == SIGNET_OK) {
		err = cer_write_new(pub_path, pubtext.data, pubtext.len, 0644, errmsg, errlen);
		if (err != SIGNET_OK)
			(void)unlink(key_path);
	}
	sg_buf_free(&ct);
	sg_buf_free(&text);
	sg_buf_free(&pubtext);
	return err;
}

signet_err cer_operator_read(const char *pub_path, cer_operator *out, char *errmsg, size_t errlen)
{
	if (out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_operator_read: bad argument");
	memset(out, 0, sizeof(*out));
	sg_buf b = SG_BUF_INIT;
	signet_err err = cer_read_text(pub_path, CER_FILE_MAX, "operator file", &b, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	cer_doc d;
	err = cer_doc_parse((const char *)b.data, b.len, PUB_MAGIC, "operator file", &d, errmsg,
			    errlen);
	sg_buf_free(&b);
	if (err != SIGNET_OK)
		return err;
	size_t i = 0;
	const char *name = NULL, *pub = NULL;
	err = cer_doc_take(&d, &i, "name", "operator file", &name, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_doc_take(&d, &i, "public", "operator file", &pub, errmsg, errlen);
	if (err == SIGNET_OK && i != d.n)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "operator file: trailing lines");
	if (err == SIGNET_OK && !cer_name_ok(name))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "operator file: bad operator name");
	if (err == SIGNET_OK && cer_b64_exact(pub, out->pub, CER_PUB_LEN) != SIGNET_OK)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "operator file: public key is not 32 octets "
			       "of base64");
	if (err == SIGNET_OK)
		memcpy(out->name, name, strlen(name) + 1);
	cer_doc_free(&d);
	return err;
}

/* Open the key file: the raw private key into *priv, the operator into who. */
static signet_err key_open(const char *key_path, const sg_secret *pass, sg_secret **priv,
			   cer_operator *who, char *errmsg, size_t errlen)
{
	sg_buf b = SG_BUF_INIT, aad = SG_BUF_INIT, ct = SG_BUF_INIT;
	signet_err err = cer_read_text(key_path, CER_FILE_MAX, "operator key", &b, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	cer_doc d;
	err = cer_doc_parse((const char *)b.data, b.len, KEY_MAGIC, "operator key", &d, errmsg,
			    errlen);
	sg_buf_free(&b);
	if (err != SIGNET_OK)
		return err;
	const char *name = NULL, *pub = NULL, *kdfs = NULL, *salts = NULL, *nonces = NULL,
		   *sealed = NULL;
	size_t i = 0;
	err = cer_doc_take(&d, &i, "name", "operator key", &name, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_doc_take(&d, &i, "public", "operator key", &pub, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_doc_take(&d, &i, "kdf", "operator key", &kdfs, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_doc_take(&d, &i, "salt", "operator key", &salts, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_doc_take(&d, &i, "nonce", "operator key", &nonces, errmsg, errlen);
	if (err == SIGNET_OK)
		err = cer_doc_take(&d, &i, "sealed", "operator key", &sealed, errmsg, errlen);
	if (err == SIGNET_OK && i != d.n)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "operator key: trailing lines");
	cer_kdf kdf;
	uint8_t salt[CER_SALT_LEN], nonce[CER_NONCE_LEN];
	if (err == SIGNET_OK && !cer_name_ok(name))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "operator key: bad operator name");
	if (err == SIGNET_OK && cer_b64_exact(pub, who->pub, CER_PUB_LEN) != SIGNET_OK)
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "operator key: bad public key");
	if (err == SIGNET_OK)
		err = cer_kdf_parse(kdfs, &kdf, errmsg, errlen);
	if (err == SIGNET_OK && (cer_hex_exact(salts, salt, sizeof(salt)) != SIGNET_OK ||
				 cer_hex_exact(nonces, nonce, sizeof(nonce)) != SIGNET_OK))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE, "operator key: bad salt or nonce");
	if (err == SIGNET_OK && (sg_base64_decode(sealed, strlen(sealed), &ct) != SIGNET_OK ||
				 ct.len != 32 + CER_TAG_LEN))
		err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
			       "operator key: sealed key is malformed");
	if (err == SIGNET_OK) {
		memcpy(who->name, name, strlen(name) + 1);
		err = key_aad(name, who->pub, &aad);
	}
	if (err == SIGNET_OK) {
		err = cer_open(pass, &kdf, salt, nonce, aad.data, aad.len, ct.data, ct.len, priv,
			       errmsg, errlen);
		if (err == SIGNET_EVERIFY)
			cer_fail(errmsg, errlen, err,
				 "operator key of %s: wrong passphrase, or the file was "
				 "altered",
				 name);
	}
	cer_doc_free(&d);
	sg_buf_free(&aad);
	sg_buf_free(&ct);
	return err;
}

signet_err cer_operator_sign(const char *key_path, const sg_secret *pass, const uint8_t *msg,
			     size_t len, uint8_t sig[CER_SIG_LEN], cer_operator *who, char *errmsg,
			     size_t errlen)
{
	if (key_path == NULL || (msg == NULL && len) || sig == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_operator_sign: bad argument");
	cer_operator me;
	memset(&me, 0, sizeof(me));
	sg_secret *priv = NULL;
	signet_err err = key_open(key_path, pass, &priv, &me, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	EVP_PKEY *pk = EVP_PKEY_new_raw_private_key(EVP_PKEY_ED25519, NULL, priv->data, priv->len);
	sg_secret_free(priv);
	if (pk == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "operator key: not an Ed25519 key");
	uint8_t pub[CER_PUB_LEN];
	size_t plen = sizeof(pub);
	/* The header's public key is what verifiers will use: it must be ours. */
	if (EVP_PKEY_get_raw_public_key(pk, pub, &plen) != 1 || plen != CER_PUB_LEN ||
	    memcmp(pub, me.pub, CER_PUB_LEN) != 0) {
		EVP_PKEY_free(pk);
		return cer_fail(errmsg, errlen, SIGNET_EVERIFY,
				"operator key: public key does not match");
	}
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	size_t slen = CER_SIG_LEN;
	if (md == NULL || EVP_DigestSignInit(md, NULL, NULL, NULL, pk) != 1 ||
	    EVP_DigestSign(md, sig, &slen, msg, len) != 1 || slen != CER_SIG_LEN)
		err = cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "Ed25519 signing failed");
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	if (err == SIGNET_OK && who != NULL)
		*who = me;
	return err;
}

signet_err cer_signature_verify(const uint8_t pub[CER_PUB_LEN], const uint8_t *msg, size_t len,
				const uint8_t sig[CER_SIG_LEN])
{
	EVP_PKEY *pk = EVP_PKEY_new_raw_public_key(EVP_PKEY_ED25519, NULL, pub, CER_PUB_LEN);
	if (pk == NULL)
		return SIGNET_EVERIFY;
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	signet_err err = SIGNET_EVERIFY;
	if (md != NULL && EVP_DigestVerifyInit(md, NULL, NULL, NULL, pk) == 1 &&
	    EVP_DigestVerify(md, sig, CER_SIG_LEN, msg, len) == 1)
		err = SIGNET_OK;
	EVP_MD_CTX_free(md);
	EVP_PKEY_free(pk);
	return err;
}
