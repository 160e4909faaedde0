/* alg.c -- the DNSSEC algorithms signet signs and verifies with. */
#include "dnssec/dnssec.h"

bool dns_alg_supported(uint8_t alg)
{
	switch (alg) {
	case DNS_ALG_RSASHA256:
	case DNS_ALG_ECDSAP256SHA256:
	case DNS_ALG_ECDSAP384SHA384:
	case DNS_ALG_ED25519:
		return true;
	default:
		return false;
	}
}
