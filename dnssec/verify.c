/* verify.c -- checking DNSSEC signatures with OpenSSL. */
#include "dnssec/dnssec.h"

#include <string.h>

#include <openssl/bn.h>
#include <openssl/core_names.h>
#include <openssl/ec.h>
#include <openssl/err.h>

/* ECDSA signatures are r||s in DNSSEC (RFC 6605 §4) and DER in OpenSSL.
 * *der must be freed with OPENSSL_free. */
static signet_err ecdsa_to_der(const uint8_t *sig, size_t siglen, uint8_t **der, size_t *derlen)
{
	ECDSA_SIG *es = ECDSA_SIG_new();
	BIGNUM *r = BN_bin2bn(sig, (int)(siglen / 2), NULL);
	BIGNUM *s = BN_bin2bn(sig + siglen / 2, (int)(siglen / 2), NULL);
	signet_err err = SIGNET_ENOMEM;

	if (es == NULL || r == NULL || s == NULL)
		goto fail;
	if (ECDSA_SIG_set0(es, r, s) != 1)
		goto fail;
	r = s = NULL; /* owned by es now */
	*der = NULL;
	int n = i2d_ECDSA_SIG(es, der);
	ECDSA_SIG_free(es);
	if (n <= 0)
		return SIGNET_ECRYPTO;
	*derlen = (size_t)n;
	return SIGNET_OK;
fail:
	BN_free(r);
	BN_free(s);
	ECDSA_SIG_free(es);
	return err;
}

/* The key must be of the kind alg names, so that a DNSKEY of one algorithm
 * is never used to check a signature claiming another. */
static bool key_fits(uint8_t alg, EVP_PKEY *pk)
{
	char group[64];
	size_t glen = 0;

	switch (alg) {
	case DNS_ALG_RSASHA256:
		return EVP_PKEY_is_a(pk, "RSA");
	case DNS_ALG_ECDSAP256SHA256:
	case DNS_ALG_ECDSAP384SHA384:
		if (!EVP_PKEY_is_a(pk, "EC") ||
		    EVP_PKEY_get_utf8_string_param(pk, OSSL_PKEY_PARAM_GROUP_NAME, group,
						   sizeof(group), &glen) != 1)
			return false;
		return strcmp(group, alg == DNS_ALG_ECDSAP256SHA256 ? "prime256v1" : "secp384r1") ==
		       0;
	case DNS_ALG_ED25519:
		return EVP_PKEY_is_a(pk, "ED25519");
	default:
		return false;
	}
}

signet_err dns_signature_verify(uint8_t alg, EVP_PKEY *pk, const uint8_t *data, size_t len,
				const uint8_t *sig, size_t siglen)
{
	const EVP_MD *md = NULL;
	uint8_t *der = NULL;
	size_t derlen = 0;
	const uint8_t *vsig = sig;
	size_t vlen = siglen;
	signet_err err;

	if (pk == NULL || (data == NULL && len != 0) || sig == NULL)
		return SIGNET_EINVAL;
	if (!dns_alg_supported(alg))
		return SIGNET_EUNSUPPORTED;
	if (!key_fits(alg, pk)) {
		ERR_clear_error();
		return SIGNET_EINVAL;
	}

	switch (alg) {
	case DNS_ALG_RSASHA256:
		md = EVP_sha256();
		/* PKCS#1 v1.5 signatures are exactly as long as the modulus. */
		if (siglen != (size_t)EVP_PKEY_get_size(pk))
			return SIGNET_EVERIFY;
		break;
	case DNS_ALG_ECDSAP256SHA256:
	case DNS_ALG_ECDSAP384SHA384:
		md = alg == DNS_ALG_ECDSAP256SHA256 ? EVP_sha256() : EVP_sha384();
		if (siglen != (alg == DNS_ALG_ECDSAP256SHA256 ? 64u : 96u))
			return SIGNET_EVERIFY;
		err = ecdsa_to_der(sig, siglen, &der, &derlen);
		if (err != SIGNET_OK)
			return err;
		vsig = der;
		vlen = derlen;
		break;
	case DNS_ALG_ED25519:
		md = NULL; /* pure EdDSA: no separate digest */
		if (siglen != 64)
			return SIGNET_EVERIFY;
		break;
	default:
		return SIGNET_EUNSUPPORTED;
	}

	EVP_MD_CTX *ctx = EVP_MD_CTX_new();
	if (ctx == NULL) {
		OPENSSL_free(der);
		return SIGNET_ENOMEM;
	}
	if (EVP_DigestVerifyInit(ctx, NULL, md, NULL, pk) != 1) {
		err = SIGNET_ECRYPTO;
	} else {
		/* Anything but 1 is a failed check: OpenSSL returns 0 or a
		 * negative value for malformed signatures depending on type. */
		int rc = EVP_DigestVerify(ctx, vsig, vlen, data, len);
		err = rc == 1 ? SIGNET_OK : SIGNET_EVERIFY;
	}
	EVP_MD_CTX_free(ctx);
	OPENSSL_free(der);
	ERR_clear_error();
	return err;
}

signet_err dns_rrsig_verify(const dns_rrsig *sig, const dns_rrset *set, const uint8_t *dnskey,
			    size_t dnskey_len, const dns_name *signer_zone, uint32_t now)
{
	EVP_PKEY *pk = NULL;
	sg_buf data = SG_BUF_INIT;
	uint16_t tag;
	signet_err err;

	if (sig == NULL || set == NULL || dnskey == NULL)
		return SIGNET_EINVAL;
	if (!dns_alg_supported(sig->algorithm))
		return SIGNET_EUNSUPPORTED;
	err = dns_rdata_check(DNS_T_DNSKEY, dnskey, dnskey_len);
	if (err != SIGNET_OK)
		return err;
	err = dns_key_tag(dnskey, dnskey_len, &tag);
	if (err != SIGNET_OK)
		return err;

	/* RFC 4035 §5.3.1: the RRSIG must match the RRset and the key, and
	 * the key must be a zone key of the signer. */
	if (dnskey[3] != sig->algorithm || tag != sig->key_tag ||
	    (sg_get_u16(dnskey) & DNS_DNSKEY_FLAG_ZONE) == 0)
		return SIGNET_EVERIFY;
	if (signer_zone != NULL && !dns_name_equal(&sig->signer, signer_zone))
		return SIGNET_EVERIFY;
	if (sig->type_covered != set->type || sig->labels > dns_name_labels(&set->owner) ||
	    !dns_name_is_at_or_below(&set->owner, &sig->signer))
		return SIGNET_EVERIFY;
	if (sig->sig_len == 0 || sig->sig_len > DNS_SIG_MAX)
		return SIGNET_EVERIFY;
	if (now != 0) {
		int after_start = dns_serial_compare(now, sig->inception);
		int before_end = dns_serial_compare(now, sig->expiration);
		if ((after_start != 0 && after_start != 1) || (before_end != 0 && before_end != -1))
			return SIGNET_ETIME;
	}

	err = dns_rrsig_signed_data(sig, set, &data);
	if (err == SIGNET_OK)
		err = dns_dnskey_to_evp(dnskey, dnskey_len, &pk);
	if (err == SIGNET_OK)
		err = dns_signature_verify(sig->algorithm, pk, data.data, data.len, sig->sig,
					   sig->sig_len);
	EVP_PKEY_free(pk);
	sg_buf_free(&data);
	return err;
}
