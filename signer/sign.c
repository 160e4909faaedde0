/* sign.c -- one RRSIG for one RRset: the canonical form made once, signed
 * data, cache, HSM, and the optional verify-after-sign. */
#include <pthread.h>
#include <string.h>
#include <time.h>

#include <openssl/evp.h>

#include "signer/internal.h"

/* SHA-256 fetched once: EVP_sha256() in OpenSSL 3 looks the implementation
 * up in the provider store, under its lock, on every use. */
static EVP_MD *sha256_fetched;
static pthread_once_t sha256_once = PTHREAD_ONCE_INIT;

static void sha256_fetch(void)
{
	sha256_fetched = EVP_MD_fetch(NULL, "SHA2-256", NULL);
}

static const EVP_MD *sha256(void)
{
	pthread_once(&sha256_once, sha256_fetch);
	return sha256_fetched ? sha256_fetched : EVP_sha256();
}

void signer_scratch_free(signer_scratch *sc)
{
	if (!sc)
		return;
	sg_buf_free(&sc->wire);
	sg_buf_free(&sc->data);
	sg_buf_free(&sc->rdata);
	EVP_MD_CTX_free(sc->md);
	sc->md = NULL;
}

static signet_err digest(signer_scratch *sc, const uint8_t *p, size_t len, uint8_t out[32])
{
	if (!sc->md && !(sc->md = EVP_MD_CTX_new()))
		return SIGNET_ENOMEM;
	unsigned int n = 0;
	if (EVP_DigestInit_ex(sc->md, sha256(), NULL) != 1 ||
	    EVP_DigestUpdate(sc->md, p, len) != 1 || EVP_DigestFinal_ex(sc->md, out, &n) != 1 ||
	    n != 32)
		return SIGNET_ECRYPTO;
	return SIGNET_OK;
}

signet_err signer_canonical(dns_rrset *set, signer_scratch *sc, uint8_t policy_digest[32])
{
	if (!set || !sc)
		return SIGNET_EINVAL;
	signet_err ret = dns_rrset_canonicalize(set);
	if (ret != SIGNET_OK)
		return ret;
	sg_buf_reset(&sc->wire);
	ret = dns_rrset_to_wire(set, set->ttl, &sc->wire);
	if (ret == SIGNET_OK && policy_digest)
		ret = digest(sc, sc->wire.data, sc->wire.len, policy_digest);
	return ret;
}

signet_err signer_sign_rrset(const signer_signing *how, const dns_rrset *set, sg_buf *out,
			     bool *cached, char *errmsg, size_t errlen)
{
	if (cached)
		*cached = false;
	if (!set)
		return SIGNET_EINVAL;
	dns_rrset canon;
	signet_err ret = dns_rrset_copy(&canon, set);
	if (ret != SIGNET_OK)
		return ret;
	signer_scratch sc = {.md = NULL};
	ret = signer_canonical(&canon, &sc, NULL);
	if (ret == SIGNET_OK)
		ret = signer_sign_canonical(&sc, how, &canon, out, cached, NULL, errmsg, errlen);
	signer_scratch_free(&sc);
	dns_rrset_clear(&canon);
	return ret;
}

signet_err signer_sign_canonical(signer_scratch *sc, const signer_signing *how,
				 const dns_rrset *set, sg_buf *out, bool *cached, uint64_t *hsm_ns,
				 char *errmsg, size_t errlen)
{
	if (hsm_ns)
		*hsm_ns = 0;
	if (cached)
		*cached = false;
	if (!sc || !how || !how->session || !how->zsk || !how->apex || !set || !out ||
	    how->zsk->id_len > HSM_ID_MAX)
		return SIGNET_EINVAL;
	hsm_session *s = how->session;
	signer_cache *cache = how->cache;
	const signer_zsk *zsk = how->zsk;
	/* A faulty RSA-CRT signature reveals the key (Boneh-DeMillo-Lipton):
	 * without the public key to check it against, none is made. */
	if (zsk->alg == DNS_ALG_RSASHA256 && !zsk->pub)
		return SIGNET_EINVAL;
	dns_rrsig sig;
	signet_err ret = dns_rrsig_prepare(&sig, set, zsk->alg, zsk->key_tag, how->apex,
					   how->inception, how->expiration);
	if (ret != SIGNET_OK)
		return ret;
	/* sc->data is the cache key's input: the key's identity (length, ID),
	 * then the signed data of RFC 4034 section 3.1.8.1, the RRSIG RDATA
	 * without its signature followed by the canonical RRset. The header
	 * comes from the same function as the RRSIG that goes out, less a
	 * one-octet placeholder signature, so the two cannot differ. The owner
	 * is never replaced by a wildcard: Labels is below the owner's count
	 * only for a "*" owner, and "*." plus those labels is that owner. */
	sg_buf *d = &sc->data;
	sg_buf_reset(d);
	ret = sg_buf_put_u8(d, (uint8_t)zsk->id_len);
	if (ret == SIGNET_OK)
		ret = sg_buf_append(d, zsk->id, zsk->id_len);
	size_t prefix = d->len;
	sig.sig_len = 1;
	if (ret == SIGNET_OK)
		ret = dns_rrsig_to_rdata(&sig, d);
	sig.sig_len = 0;
	if (ret != SIGNET_OK)
		return ret;
	d->len--;
	size_t header = d->len - prefix;
	ret = sg_buf_append(d, sc->wire.data, sc->wire.len);
	uint8_t key[32];
	if (ret == SIGNET_OK)
		ret = digest(sc, d->data, d->len, key);
	if (ret != SIGNET_OK)
		return ret;
	const uint8_t *data = d->data + prefix;
	size_t len = d->len - prefix;
	if (cache) {
		size_t before = out->len;
		if (signer_cache_get(cache, key, out) == SIGNET_OK) {
			if (cached)
				*cached = true;
			return SIGNET_OK;
		}
		out->len = before;
	}
	size_t siglen = 0;
	uint64_t t0 = sg_mono_ns();
	ret = hsm_sign(s, zsk->id, zsk->id_len, data, len, sig.sig, sizeof(sig.sig), &siglen,
		       errmsg, errlen);
	if (hsm_ns)
		*hsm_ns = sg_mono_ns() - t0;
	if (ret != SIGNET_OK)
		return ret;
	sig.sig_len = (uint16_t)siglen;
	if (zsk->pub) {
		ret = dns_signature_verify(zsk->alg, zsk->pub, data, len, sig.sig, siglen);
		if (ret != SIGNET_OK)
			return ret;
	}
	size_t start = out->len;
	ret = sg_buf_reserve(out, header + siglen);
	if (ret == SIGNET_OK)
		ret = dns_rrsig_to_rdata(&sig, out);
	if (ret == SIGNET_OK && cache)
		ret = signer_cache_put(cache, key, out->data + start, out->len - start);
	return ret;
}
