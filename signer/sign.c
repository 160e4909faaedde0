/* sign.c -- one RRSIG for one RRset: signed data, cache, HSM, and the
 * optional verify-after-sign. */
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "signer/signer.h"

/* The cache key binds the key's identity to the exact octets signed. */
static signet_err cache_key(const signer_zsk *zsk, const sg_buf *data, uint8_t key[32])
{
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	if (!md)
		return SIGNET_ENOMEM;
	uint8_t idlen = (uint8_t)zsk->id_len;
	unsigned int n = 0;
	int ok = EVP_DigestInit_ex(md, EVP_sha256(), NULL) == 1 &&
		 EVP_DigestUpdate(md, &idlen, 1) == 1 &&
		 EVP_DigestUpdate(md, zsk->id, zsk->id_len) == 1 &&
		 EVP_DigestUpdate(md, data->data, data->len) == 1 &&
		 EVP_DigestFinal_ex(md, key, &n) == 1;
	EVP_MD_CTX_free(md);
	return ok ? SIGNET_OK : SIGNET_ECRYPTO;
}

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

signet_err signer_sign_rrset(hsm_session *s, signer_cache *cache,
			     const signer_zsk *zsk, const dns_name *apex,
			     const dns_rrset *set, uint32_t inception,
			     uint32_t expiration, sg_buf *out, bool *cached)
{
	return signer_sign_rrset_timed(s, cache, zsk, apex, set, inception, expiration, out,
				       cached, NULL);
}

signet_err signer_sign_rrset_timed(hsm_session *s, signer_cache *cache,
				   const signer_zsk *zsk, const dns_name *apex,
				   const dns_rrset *set, uint32_t inception,
				   uint32_t expiration, sg_buf *out, bool *cached,
				   uint64_t *hsm_ns)
{
	if (hsm_ns)
		*hsm_ns = 0;
	if (!s || !zsk || !apex || !set || !out || zsk->id_len > HSM_ID_MAX)
		return SIGNET_EINVAL;
	/* A faulty RSA-CRT signature reveals the key (Boneh-DeMillo-Lipton):
	 * without the public key to check it against, none is made. */
	if (zsk->alg == DNS_ALG_RSASHA256 && !zsk->pub)
		return SIGNET_EINVAL;
	if (cached)
		*cached = false;
	dns_rrsig sig;
	signet_err ret = dns_rrsig_prepare(&sig, set, zsk->alg, zsk->key_tag, apex,
					   inception, expiration);
	if (ret != SIGNET_OK)
		return ret;
	sg_buf data = SG_BUF_INIT;
	ret = dns_rrsig_signed_data(&sig, set, &data);
	uint8_t key[32];
	if (ret == SIGNET_OK)
		ret = cache_key(zsk, &data, key);
	if (ret == SIGNET_OK && cache) {
		size_t before = out->len;
		if (signer_cache_get(cache, key, out) == SIGNET_OK) {
			if (cached)
				*cached = true;
			sg_buf_free(&data);
			return SIGNET_OK;
		}
		out->len = before;
	}
	size_t siglen = 0;
	if (ret == SIGNET_OK) {
		uint64_t t0 = now_ns();
		ret = hsm_sign(s, zsk->id, zsk->id_len, data.data, data.len, sig.sig,
			       sizeof(sig.sig), &siglen);
		if (hsm_ns)
			*hsm_ns = now_ns() - t0;
	}
	if (ret == SIGNET_OK) {
		sig.sig_len = (uint16_t)siglen;
		if (zsk->pub)
			ret = dns_signature_verify(zsk->alg, zsk->pub, data.data, data.len,
						   sig.sig, siglen);
	}
	sg_buf_free(&data);
	if (ret != SIGNET_OK)
		return ret;
	size_t start = out->len;
	ret = dns_rrsig_to_rdata(&sig, out);
	if (ret == SIGNET_OK && cache)
		ret = signer_cache_put(cache, key, out->data + start, out->len - start);
	return ret;
}
