/* hsm_verify.h -- OpenSSL's verdict on a signature the hsm layer made, in
 * its raw DNSSEC form: the judge the hsm tests use, so that what signs and
 * what verifies are not the same code. */
#ifndef SIGNET_TEST_HSM_VERIFY_H
#define SIGNET_TEST_HSM_VERIFY_H

#include <stddef.h>
#include <stdint.h>

#include <openssl/evp.h>

#include "hsm/hsm.h"

/* Verify sig (siglen octets: RSA PKCS#1 v1.5, ECDSA r||s, Ed25519) over
 * data with pk for alg; ECDSA r||s is turned into the DER OpenSSL takes.
 * 1 for a good signature, anything else for not. No cmocka asserts:
 * worker threads call it too. */
int test_verify_raw(EVP_PKEY *pk, hsm_alg alg, const uint8_t *data, size_t len,
		    const uint8_t *sig, size_t siglen);

#endif /* SIGNET_TEST_HSM_VERIFY_H */
