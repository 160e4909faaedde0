/* seal.c -- passphrase sealing: scrypt key derivation and AES-256-GCM. */
#include <stdio.h>
#include <string.h>

#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <openssl/kdf.h>
#include <openssl/params.h>
#include <openssl/rand.h>

#include "ceremony/internal.h"

#define KEY_LEN 32
/* What a file may ask scrypt to spend: 128 * N * r octets of memory. */
#define KDF_N_MIN (1u << 14)
#define KDF_N_MAX (1u << 18)
#define KDF_R_MAX 16
#define KDF_P_MAX 4
#define KDF_MEM_MAX ((uint64_t)256 << 20)

static signet_err kdf_check(const cer_kdf *kdf, char *errmsg, size_t errlen)
{
	if (kdf->n < KDF_N_MIN || kdf->n > KDF_N_MAX || (kdf->n & (kdf->n - 1)) != 0 ||
	    kdf->r == 0 || kdf->r > KDF_R_MAX || kdf->p == 0 || kdf->p > KDF_P_MAX ||
	    128 * kdf->n * kdf->r > KDF_MEM_MAX)
		return cer_fail(errmsg, errlen, SIGNET_ERANGE,
				"scrypt cost N=%llu r=%u p=%u is out of bounds",
				(unsigned long long)kdf->n, kdf->r, kdf->p);
	return SIGNET_OK;
}

static signet_err derive(const sg_secret *pass, const cer_kdf *kdf,
			 const uint8_t salt[CER_SALT_LEN], uint8_t key[KEY_LEN], char *errmsg,
			 size_t errlen)
{
	EVP_KDF *k = EVP_KDF_fetch(NULL, "SCRYPT", NULL);
	if (k == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "OpenSSL has no scrypt");
	EVP_KDF_CTX *ctx = EVP_KDF_CTX_new(k);
	EVP_KDF_free(k);
	if (ctx == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "scrypt context");
	uint64_t n = kdf->n;
	uint32_t r = kdf->r, p = kdf->p;
	uint64_t maxmem = KDF_MEM_MAX + (1u << 20);
	OSSL_PARAM params[] = {
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_PASSWORD, pass->data, pass->len),
		OSSL_PARAM_construct_octet_string(OSSL_KDF_PARAM_SALT, (void *)salt, CER_SALT_LEN),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_N, &n),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_R, &r),
		OSSL_PARAM_construct_uint32(OSSL_KDF_PARAM_SCRYPT_P, &p),
		OSSL_PARAM_construct_uint64(OSSL_KDF_PARAM_SCRYPT_MAXMEM, &maxmem),
		OSSL_PARAM_construct_end()};
	int ok = EVP_KDF_derive(ctx, key, KEY_LEN, params);
	EVP_KDF_CTX_free(ctx);
	if (ok != 1)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "scrypt derivation failed");
	return SIGNET_OK;
}

signet_err cer_seal(const sg_secret *pass, const cer_kdf *kdf, const uint8_t *aad, size_t aadlen,
		    const uint8_t *pt, size_t ptlen, uint8_t salt[CER_SALT_LEN],
		    uint8_t nonce[CER_NONCE_LEN], sg_buf *ct, char *errmsg, size_t errlen)
{
	if (pass == NULL || pass->data == NULL || pass->len == 0)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "empty passphrase");
	if (kdf == NULL || (aad == NULL && aadlen) || pt == NULL || ptlen == 0 ||
	    ptlen > SG_SECRET_MAX || salt == NULL || nonce == NULL || ct == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_seal: bad argument");
	signet_err err = kdf_check(kdf, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	if (RAND_bytes(salt, CER_SALT_LEN) != 1 || RAND_bytes(nonce, CER_NONCE_LEN) != 1)
		return cer_fail(errmsg, errlen, SIGNET_ECRYPTO, "no randomness");
	uint8_t key[KEY_LEN];
	err = derive(pass, kdf, salt, key, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	EVP_CIPHER_CTX *c = EVP_CIPHER_CTX_new();
	size_t mark = ct->len;
	int len = 0;
	err = c == NULL ? SIGNET_ENOMEM : sg_buf_reserve(ct, ptlen + CER_TAG_LEN);
	if (err == SIGNET_OK &&
	    (EVP_EncryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	     (aadlen && EVP_EncryptUpdate(c, NULL, &len, aad, (int)aadlen) != 1) ||
	     EVP_EncryptUpdate(c, ct->data + ct->len, &len, pt, (int)ptlen) != 1 ||
	     EVP_EncryptFinal_ex(c, ct->data + ct->len + len, &len) != 1 ||
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_GET_TAG, CER_TAG_LEN,
				 ct->data + ct->len + ptlen) != 1))
		err = SIGNET_ECRYPTO;
	if (err == SIGNET_OK)
		ct->len += ptlen + CER_TAG_LEN;
	else
		ct->len = mark;
	EVP_CIPHER_CTX_free(c);
	sg_wipe(key, sizeof(key));
	return err == SIGNET_OK ? err : cer_fail(errmsg, errlen, err, "AES-256-GCM sealing failed");
}

signet_err cer_open(const sg_secret *pass, const cer_kdf *kdf, const uint8_t salt[CER_SALT_LEN],
		    const uint8_t nonce[CER_NONCE_LEN], const uint8_t *aad, size_t aadlen,
		    const uint8_t *ct, size_t ctlen, sg_secret **pt, char *errmsg, size_t errlen)
{
	if (pt == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_open: bad argument");
	*pt = NULL;
	if (pass == NULL || pass->data == NULL || pass->len == 0)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "empty passphrase");
	if (kdf == NULL || salt == NULL || nonce == NULL || (aad == NULL && aadlen) || ct == NULL ||
	    ctlen <= CER_TAG_LEN || ctlen - CER_TAG_LEN > SG_SECRET_MAX)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "sealed data is empty or too long");
	signet_err err = kdf_check(kdf, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	uint8_t key[KEY_LEN];
	err = derive(pass, kdf, salt, key, errmsg, errlen);
	if (err != SIGNET_OK)
		return err;
	size_t n = ctlen - CER_TAG_LEN;
	sg_secret *s = NULL;
	err = sg_secret_new(n, &s);
	EVP_CIPHER_CTX *c = err == SIGNET_OK ? EVP_CIPHER_CTX_new() : NULL;
	int len = 0;
	if (err == SIGNET_OK && c == NULL)
		err = SIGNET_ENOMEM;
	if (err == SIGNET_OK &&
	    (EVP_DecryptInit_ex(c, EVP_aes_256_gcm(), NULL, key, nonce) != 1 ||
	     (aadlen && EVP_DecryptUpdate(c, NULL, &len, aad, (int)aadlen) != 1) ||
	     EVP_DecryptUpdate(c, s->data, &len, ct, (int)n) != 1 ||
	     EVP_CIPHER_CTX_ctrl(c, EVP_CTRL_GCM_SET_TAG, CER_TAG_LEN, (void *)(ct + n)) != 1))
		err = SIGNET_ECRYPTO;
	if (err == SIGNET_OK && EVP_DecryptFinal_ex(c, s->data + len, &len) != 1)
		err = SIGNET_EVERIFY;
	EVP_CIPHER_CTX_free(c);
	sg_wipe(key, sizeof(key));
	if (err != SIGNET_OK) {
		sg_secret_free(s);
		if (err == SIGNET_EVERIFY)
			return cer_fail(errmsg, errlen, err,
					"wrong passphrase, or the sealed file was altered");
		return cer_fail(errmsg, errlen, err, "AES-256-GCM opening failed");
	}
	s->len = n;
	s->data[n] = '\0';
	*pt = s;
	return SIGNET_OK;
}

signet_err cer_kdf_parse(const char *s, cer_kdf *out, char *errmsg, size_t errlen)
{
	char n[24], r[12], p[12];
	char extra;
	if (sscanf(s, "scrypt %23s %11s %11s%c", n, r, p, &extra) != 3)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "kdf line is not \"scrypt N r p\"");
	uint64_t vn, vr, vp;
	if (cer_uint(n, 1, UINT64_MAX, &vn) != SIGNET_OK ||
	    cer_uint(r, 1, UINT32_MAX, &vr) != SIGNET_OK ||
	    cer_uint(p, 1, UINT32_MAX, &vp) != SIGNET_OK)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "kdf line: bad numbers");
	out->n = vn;
	out->r = (uint32_t)vr;
	out->p = (uint32_t)vp;
	return kdf_check(out, errmsg, errlen);
}
