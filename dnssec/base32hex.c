/* base32hex.c -- base32 with the extended hex alphabet (RFC 4648 §7), no padding. */
#include <string.h>

#include "dnssec/dnssec.h"

static const char b32hex_digits[] = "0123456789abcdefghijklmnopqrstuv";

signet_err dns_base32hex_encode(const uint8_t *p, size_t n, char *out, size_t outlen)
{
	if ((p == NULL && n > 0) || out == NULL)
		return SIGNET_EINVAL;
	if (n > (SIZE_MAX - 5) / 8)
		return SIGNET_ERANGE;
	size_t need = (n * 8 + 4) / 5;
	if (outlen < need + 1)
		return SIGNET_ERANGE;

	size_t o = 0;
	uint32_t acc = 0;
	unsigned nbits = 0;
	for (size_t i = 0; i < n; i++) {
		acc = (acc << 8) | p[i];
		nbits += 8;
		while (nbits >= 5) {
			nbits -= 5;
			out[o++] = b32hex_digits[(acc >> nbits) & 0x1f];
		}
	}
	if (nbits > 0)
		out[o++] = b32hex_digits[(acc << (5 - nbits)) & 0x1f];
	out[o] = '\0';
	return SIGNET_OK;
}

static int b32hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'v')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'V')
		return c - 'A' + 10;
	return -1;
}

signet_err dns_base32hex_decode(const char *s, size_t slen, uint8_t *out, size_t outmax,
				size_t *outlen)
{
	if ((s == NULL && slen > 0) || out == NULL || outlen == NULL)
		return SIGNET_EINVAL;
	/* Without padding, a final group of 1, 3 or 6 characters cannot come
	 * from whole octets. */
	size_t rem = slen % 8;
	if (rem == 1 || rem == 3 || rem == 6)
		return SIGNET_EPARSE;
	size_t need = slen * 5 / 8;
	if (outmax < need)
		return SIGNET_ERANGE;

	size_t o = 0;
	uint32_t acc = 0;
	unsigned nbits = 0;
	for (size_t i = 0; i < slen; i++) {
		int v = b32hex_value(s[i]);
		if (v < 0)
			return SIGNET_EPARSE;
		acc = (acc << 5) | (uint32_t)v;
		nbits += 5;
		if (nbits >= 8) {
			nbits -= 8;
			out[o++] = (uint8_t)(acc >> nbits);
		}
	}
	/* Leftover bits must be zero, so every octet string has one encoding. */
	if ((acc & ((1u << nbits) - 1)) != 0)
		return SIGNET_EPARSE;
	*outlen = o;
	return SIGNET_OK;
}
