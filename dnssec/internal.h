/* internal.h -- helpers shared by files of the dnssec/ layer, not part of its API. */
#ifndef SIGNET_DNSSEC_INTERNAL_H
#define SIGNET_DNSSEC_INTERNAL_H

#include "dnssec/dnssec.h"

/* Split an RFC 3110 §2 RSA public key (exponent length in one octet, or a
 * zero octet and two; then exponent, then modulus) into its exponent and
 * modulus, which point into k. SIGNET_EPARSE when a length runs past len or
 * either part is empty; leading zeros are the caller's to judge. */
signet_err dns_rsa_key_split(const uint8_t *k, size_t len, const uint8_t **exp, size_t *elen,
			     const uint8_t **mod, size_t *mlen);

#endif
