/* backup_file.c -- a key's backup as a file: the wrapped key with what identifies it,
 * encoded, parsed strictly, and proven by a signature of the unwrapped copy. */

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <openssl/x509.h>

#include "hsm/internal.h"

#define MAGIC "signet-key-backup 1"
#define PUB_MAX 1024 /* DER SubjectPublicKeyInfo, RSA-4096 fits */
#define FILE_MAX (3 * HSM_WRAPPED_MAX + 3 * PUB_MAX)

void hsm_backup_free(hsm_backup *b)
{
	if (b == NULL)
		return;
	sg_buf_free(&b->pub);
	sg_buf_free(&b->wrapped);
	memset(b, 0, sizeof(*b));
}

signet_err hsm_backup_make(hsm_token *t, const uint8_t domain_id[HSM_ID_LEN], const uint8_t *id,
			   size_t id_len, uint16_t key_tag, hsm_backup *out, char *errmsg,
			   size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || domain_id == NULL || id == NULL || id_len == 0 || id_len > HSM_ID_MAX ||
	    out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_backup_make: bad argument");
	memset(out, 0, sizeof(*out));
	hsm_key_info info;
	signet_err err = hsm_key_find(t, id, id_len, &info, eb->errmsg, eb->errlen);
	if (err != SIGNET_OK)
		return err;
	EVP_PKEY *pk = NULL;
	err = hsm_key_public(t, id, id_len, &pk, eb->errmsg, eb->errlen);
	if (err != SIGNET_OK)
		return err;
	unsigned char *der = NULL;
	int n = i2d_PUBKEY(pk, &der);
	EVP_PKEY_free(pk);
	if (n <= 0 || n > PUB_MAX) {
		OPENSSL_free(der);
		return hsm_fail(eb, SIGNET_ECRYPTO,
				"hsm_backup_make: cannot encode the public key");
	}
	err = sg_buf_append(&out->pub, der, (size_t)n);
	OPENSSL_free(der);
	if (err == SIGNET_OK)
		err = hsm_key_wrap(t, id, id_len, domain_id, &out->wrapped, eb->errmsg, eb->errlen);
	if (err != SIGNET_OK) {
		hsm_backup_free(out);
		return err;
	}
	memcpy(out->domain_id, domain_id, HSM_ID_LEN);
	memcpy(out->id, id, id_len);
	out->id_len = id_len;
	snprintf(out->label, sizeof(out->label), "%s", info.label);
	out->alg = info.alg;
	out->key_tag = key_tag;
	return SIGNET_OK;
}

static signet_err put_hex(sg_buf *b, const char *key, const uint8_t *p, size_t n)
{
	signet_err err = sg_buf_printf(b, "%s ", key);
	if (err == SIGNET_OK)
		err = sg_hex_encode(p, n, b);
	if (err == SIGNET_OK)
		err = sg_buf_append(b, "\n", 1);
	return err;
}

static signet_err put_b64(sg_buf *b, const char *key, const uint8_t *p, size_t n)
{
	signet_err err = sg_buf_printf(b, "%s ", key);
	if (err == SIGNET_OK)
		err = sg_base64_encode(p, n, b);
	if (err == SIGNET_OK)
		err = sg_buf_append(b, "\n", 1);
	return err;
}

static bool label_printable(const char *s)
{
	if (*s == '\0')
		return false;
	for (; *s; s++)
		if (*s < 0x21 || *s > 0x7e)
			return false;
	return true;
}

signet_err hsm_backup_encode(const hsm_backup *b, sg_buf *out, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (b == NULL || out == NULL || b->id_len == 0 || b->id_len > HSM_ID_MAX ||
	    !label_printable(b->label) || b->pub.len == 0 || b->wrapped.len == 0)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_backup_encode: incomplete backup");
	size_t start = out->len;
	signet_err err = sg_buf_printf(out, "%s\n", MAGIC);
	if (err == SIGNET_OK)
		err = put_hex(out, "domain-id", b->domain_id, HSM_ID_LEN);
	if (err == SIGNET_OK)
		err = put_hex(out, "key-id", b->id, b->id_len);
	if (err == SIGNET_OK)
		err = sg_buf_printf(out, "label %s\nalgorithm %d\nkey-tag %u\n", b->label,
				    (int)b->alg, (unsigned)b->key_tag);
	if (err == SIGNET_OK)
		err = put_b64(out, "public-key", b->pub.data, b->pub.len);
	if (err == SIGNET_OK)
		err = put_b64(out, "wrapped-key", b->wrapped.data, b->wrapped.len);
	uint8_t md[32];
	if (err == SIGNET_OK &&
	    EVP_Digest(out->data + start, out->len - start, md, NULL, EVP_sha256(), NULL) != 1)
		err = hsm_fail(eb, SIGNET_ECRYPTO, "hsm_backup_encode: SHA-256 failed");
	if (err == SIGNET_OK)
		err = put_hex(out, "sha256", md, sizeof(md));
	if (err != SIGNET_OK)
		out->len = start;
	return err;
}

/* The value of the next line if its key is key; *p moves past the line. */
static const char *take(const char **p, const char *end, const char *key, size_t *vlen)
{
	size_t klen = strlen(key);
	const char *nl = memchr(*p, '\n', (size_t)(end - *p));
	if (nl == NULL || (size_t)(nl - *p) <= klen + 1 || memcmp(*p, key, klen) != 0 ||
	    (*p)[klen] != ' ')
		return NULL;
	const char *v = *p + klen + 1;
	*vlen = (size_t)(nl - v);
	*p = nl + 1;
	return v;
}

static bool hex_exact(const char *v, size_t vlen, uint8_t *out, size_t n)
{
	if (vlen != 2 * n)
		return false;
	/* Lower case only: one text per backup, so that no edit goes unseen. */
	for (size_t i = 0; i < vlen; i++)
		if (!((v[i] >= '0' && v[i] <= '9') || (v[i] >= 'a' && v[i] <= 'f')))
			return false;
	sg_buf b = SG_BUF_INIT;
	bool ok = sg_hex_decode(v, vlen, &b) == SIGNET_OK && b.len == n;
	if (ok)
		memcpy(out, b.data, n);
	sg_buf_free(&b);
	return ok;
}

static bool uint_exact(const char *v, size_t vlen, unsigned max, unsigned *out)
{
	if (vlen == 0 || vlen > 5 || (vlen > 1 && v[0] == '0'))
		return false;
	unsigned x = 0;
	for (size_t i = 0; i < vlen; i++) {
		if (v[i] < '0' || v[i] > '9')
			return false;
		x = x * 10 + (unsigned)(v[i] - '0');
	}
	if (x > max)
		return false;
	*out = x;
	return true;
}

signet_err hsm_backup_decode(const uint8_t *text, size_t len, hsm_backup *out, char *errmsg,
			     size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (text == NULL || out == NULL)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_backup_decode: bad argument");
	memset(out, 0, sizeof(*out));
	if (len > FILE_MAX)
		return hsm_fail(eb, SIGNET_ERANGE, "backup file of %zu octets", len);
	for (size_t i = 0; i < len; i++)
		if ((text[i] < 0x20 || text[i] > 0x7e) && text[i] != '\n')
			return hsm_fail(eb, SIGNET_EPARSE, "backup file: not printable text");
	const char *p = (const char *)text, *end = p + len;
	const char *nl = memchr(p, '\n', len);
	if (nl == NULL || (size_t)(nl - p) != strlen(MAGIC) || memcmp(p, MAGIC, strlen(MAGIC)) != 0)
		return hsm_fail(eb, SIGNET_EPARSE, "backup file: not a \"%s\" file", MAGIC);
	p = nl + 1;
	size_t vl = 0;
	const char *v;
	signet_err err = SIGNET_EPARSE;
	unsigned alg = 0, tag = 0;
	if ((v = take(&p, end, "domain-id", &vl)) == NULL ||
	    !hex_exact(v, vl, out->domain_id, HSM_ID_LEN))
		goto bad;
	if ((v = take(&p, end, "key-id", &vl)) == NULL || vl == 0 || vl % 2 != 0 ||
	    vl / 2 > HSM_ID_MAX || !hex_exact(v, vl, out->id, vl / 2))
		goto bad;
	out->id_len = vl / 2;
	if ((v = take(&p, end, "label", &vl)) == NULL || vl > HSM_LABEL_MAX)
		goto bad;
	memcpy(out->label, v, vl);
	out->label[vl] = '\0';
	if (!label_printable(out->label))
		goto bad;
	if ((v = take(&p, end, "algorithm", &vl)) == NULL || !uint_exact(v, vl, 255, &alg) ||
	    (alg != HSM_ALG_RSASHA256 && alg != HSM_ALG_ECDSAP256 && alg != HSM_ALG_ECDSAP384 &&
	     alg != HSM_ALG_ED25519))
		goto bad;
	out->alg = (hsm_alg)alg;
	if ((v = take(&p, end, "key-tag", &vl)) == NULL || !uint_exact(v, vl, 65535, &tag))
		goto bad;
	out->key_tag = (uint16_t)tag;
	out->pub.limit = PUB_MAX;
	if ((v = take(&p, end, "public-key", &vl)) == NULL ||
	    sg_base64_decode(v, vl, &out->pub) != SIGNET_OK || out->pub.len == 0)
		goto bad;
	out->wrapped.limit = HSM_WRAPPED_MAX;
	if ((v = take(&p, end, "wrapped-key", &vl)) == NULL ||
	    sg_base64_decode(v, vl, &out->wrapped) != SIGNET_OK || out->wrapped.len == 0)
		goto bad;
	size_t covered = (size_t)(p - (const char *)text);
	uint8_t md[32], want[32];
	if ((v = take(&p, end, "sha256", &vl)) == NULL || !hex_exact(v, vl, want, sizeof(want)) ||
	    p != end)
		goto bad;
	if (EVP_Digest(text, covered, md, NULL, EVP_sha256(), NULL) != 1) {
		err = hsm_fail(eb, SIGNET_ECRYPTO, "backup file: SHA-256 failed");
		goto fail;
	}
	if (memcmp(md, want, sizeof(md)) != 0) {
		err = hsm_fail(eb, SIGNET_EVERIFY,
			       "backup file: the digest does not match its content");
		goto fail;
	}
	const unsigned char *dp = out->pub.data;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &dp, (long)out->pub.len);
	bool pub_ok = pk != NULL && dp == out->pub.data + out->pub.len;
	EVP_PKEY_free(pk);
	if (!pub_ok) {
		err = hsm_fail(eb, SIGNET_EPARSE, "backup file: the public key does not parse");
		goto fail;
	}
	return SIGNET_OK;
bad:
	/* Named by its number: the text is not NUL-terminated (printing it
	 * with %.40s read past a short file: found by fuzz_backup_file). */
	{
		unsigned line = 1;
		for (const char *q = (const char *)text; q < p; q++)
			line += *q == '\n';
		err = hsm_fail(eb, SIGNET_EPARSE, "backup file: malformed or missing line %u",
			       line);
	}
fail:
	hsm_backup_free(out);
	return err;
}

/* OpenSSL's verdict on a signature in DNSSEC's raw form. */
static bool verify_raw(EVP_PKEY *pk, hsm_alg alg, const uint8_t *data, size_t len,
		       const uint8_t *sig, size_t siglen)
{
	const EVP_MD *md = NULL;
	uint8_t *der = NULL;
	const uint8_t *vsig = sig;
	size_t vlen = siglen;
	if (alg == HSM_ALG_RSASHA256 || alg == HSM_ALG_ECDSAP256)
		md = EVP_sha256();
	else if (alg == HSM_ALG_ECDSAP384)
		md = EVP_sha384();
	if (alg == HSM_ALG_ECDSAP256 || alg == HSM_ALG_ECDSAP384) {
		size_t half = siglen / 2;
		ECDSA_SIG *es = ECDSA_SIG_new();
		BIGNUM *r = BN_bin2bn(sig, (int)half, NULL);
		BIGNUM *s = BN_bin2bn(sig + half, (int)half, NULL);
		if (es == NULL || r == NULL || s == NULL || ECDSA_SIG_set0(es, r, s) != 1) {
			BN_free(r);
			BN_free(s);
			ECDSA_SIG_free(es);
			return false;
		}
		int n = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (n <= 0)
			return false;
		vsig = der;
		vlen = (size_t)n;
	}
	bool ok = false;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	if (mc != NULL && EVP_DigestVerifyInit(mc, NULL, md, NULL, pk) == 1)
		ok = EVP_DigestVerify(mc, vsig, vlen, data, len) == 1;
	EVP_MD_CTX_free(mc);
	OPENSSL_free(der);
	return ok;
}

signet_err hsm_backup_prove(hsm_token *t, const hsm_backup *b, char *errmsg, size_t errlen)
{
	hsm_errbuf e = HSM_ERRBUF(errmsg, errlen), *eb = &e;
	if (t == NULL || b == NULL || b->pub.len == 0 || b->wrapped.len == 0)
		return hsm_fail(eb, SIGNET_EINVAL, "hsm_backup_prove: bad argument");
	const unsigned char *dp = b->pub.data;
	EVP_PKEY *pk = d2i_PUBKEY(NULL, &dp, (long)b->pub.len);
	if (pk == NULL)
		return hsm_fail(eb, SIGNET_EPARSE,
				"hsm_backup_prove: the public key does not parse");
	uint8_t msg[48], sig[HSM_SIG_MAX];
	size_t siglen = 0;
	signet_err err = RAND_bytes(msg, sizeof(msg)) == 1
				 ? SIGNET_OK
				 : hsm_fail(eb, SIGNET_ECRYPTO, "hsm_backup_prove: no randomness");
	if (err == SIGNET_OK)
		err = hsm_backup_sign(t, b->domain_id, b->wrapped.data, b->wrapped.len, b->alg, msg,
				      sizeof(msg), sig, sizeof(sig), &siglen, eb->errmsg,
				      eb->errlen);
	if (err == SIGNET_OK && !verify_raw(pk, b->alg, msg, sizeof(msg), sig, siglen))
		err = hsm_fail(eb, SIGNET_EVERIFY,
			       "backup of key '%s': the restored copy's signature "
			       "does not verify with the key's public key",
			       b->label);
	EVP_PKEY_free(pk);
	return err;
}
