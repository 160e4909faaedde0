/* hsm_verify.c -- OpenSSL's verdict on a raw DNSSEC-form signature. */
#include "tests/lib/hsm_verify.h"

#include <openssl/bn.h>
#include <openssl/crypto.h>
#include <openssl/ecdsa.h>

int test_verify_raw(EVP_PKEY *pk, hsm_alg alg, const uint8_t *data, size_t len,
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
			return -1;
		}
		int n = i2d_ECDSA_SIG(es, &der);
		ECDSA_SIG_free(es);
		if (n <= 0)
			return -1;
		vsig = der;
		vlen = (size_t)n;
	}
	int ok = -1;
	EVP_MD_CTX *mc = EVP_MD_CTX_new();
	if (mc != NULL && EVP_DigestVerifyInit(mc, NULL, md, NULL, pk) == 1)
		ok = EVP_DigestVerify(mc, vsig, vlen, data, len);
	EVP_MD_CTX_free(mc);
	OPENSSL_free(der);
	return ok;
}
