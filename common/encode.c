/* encode.c -- hex and base64 encoding and decoding. */
#include <ctype.h>
#include <string.h>

#include "common/common.h"

signet_err sg_hex_encode(const uint8_t *p, size_t n, sg_buf *out)
{
	static const char digits[] = "0123456789abcdef";
	if ((p == NULL && n != 0) || out == NULL)
		return SIGNET_EINVAL;
	if (n > SIZE_MAX / 2)
		return SIGNET_ERANGE;
	signet_err ret = sg_buf_reserve(out, 2 * n);
	if (ret != SIGNET_OK)
		return ret;
	for (size_t i = 0; i < n; i++) {
		out->data[out->len++] = (uint8_t)digits[p[i] >> 4];
		out->data[out->len++] = (uint8_t)digits[p[i] & 15];
	}
	out->data[out->len] = 0;
	return SIGNET_OK;
}

static int hex_value(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

signet_err sg_hex_decode(const char *s, size_t slen, sg_buf *out)
{
	if ((s == NULL && slen != 0) || out == NULL)
		return SIGNET_EINVAL;
	size_t start = out->len;
	int hi = -1;
	for (size_t i = 0; i < slen; i++) {
		if (isspace((unsigned char)s[i]))
			continue;
		int v = hex_value(s[i]);
		if (v < 0)
			goto bad;
		if (hi < 0) {
			hi = v;
			continue;
		}
		signet_err ret = sg_buf_put_u8(out, (uint8_t)(hi << 4 | v));
		if (ret != SIGNET_OK) {
			out->len = start;
			return ret;
		}
		hi = -1;
	}
	if (hi >= 0)
		goto bad;
	return SIGNET_OK;
bad:
	out->len = start;
	return SIGNET_EPARSE;
}

static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

signet_err sg_base64_encode(const uint8_t *p, size_t n, sg_buf *out)
{
	if ((p == NULL && n != 0) || out == NULL)
		return SIGNET_EINVAL;
	if (n > SIZE_MAX / 4 * 3 - 3)
		return SIGNET_ERANGE;
	signet_err ret = sg_buf_reserve(out, (n + 2) / 3 * 4);
	if (ret != SIGNET_OK)
		return ret;
	uint8_t *o = out->data + out->len;
	size_t i = 0;
	for (; i + 3 <= n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8 | p[i + 2];
		*o++ = (uint8_t)b64[v >> 18];
		*o++ = (uint8_t)b64[(v >> 12) & 63];
		*o++ = (uint8_t)b64[(v >> 6) & 63];
		*o++ = (uint8_t)b64[v & 63];
	}
	if (n - i == 1) {
		uint32_t v = (uint32_t)p[i] << 16;
		*o++ = (uint8_t)b64[v >> 18];
		*o++ = (uint8_t)b64[(v >> 12) & 63];
		*o++ = '=';
		*o++ = '=';
	} else if (n - i == 2) {
		uint32_t v = (uint32_t)p[i] << 16 | (uint32_t)p[i + 1] << 8;
		*o++ = (uint8_t)b64[v >> 18];
		*o++ = (uint8_t)b64[(v >> 12) & 63];
		*o++ = (uint8_t)b64[(v >> 6) & 63];
		*o++ = '=';
	}
	out->len = (size_t)(o - out->data);
	out->data[out->len] = 0;
	return SIGNET_OK;
}

signet_err sg_base64_decode(const char *s, size_t slen, sg_buf *out)
{
	if ((s == NULL && slen != 0) || out == NULL)
		return SIGNET_EINVAL;
	size_t start = out->len;
	uint32_t acc = 0;
	unsigned nbits = 0, pad = 0, ndigits = 0;
	for (size_t i = 0; i < slen; i++) {
		char c = s[i];
		if (isspace((unsigned char)c))
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		const char *pos = c ? strchr(b64, c) : NULL;
		if (pos == NULL || pad != 0)
			goto bad;
		acc = (acc << 6) | (uint32_t)(pos - b64);
		nbits += 6;
		ndigits++;
		if (nbits >= 8) {
			nbits -= 8;
			signet_err ret = sg_buf_put_u8(out, (uint8_t)(acc >> nbits));
			if (ret != SIGNET_OK) {
				out->len = start;
				return ret;
			}
		}
	}
	/* Length must be a whole number of quanta once padding is counted, and
	 * the bits left over must be zero (a canonical encoding). */
	if ((ndigits + pad) % 4 != 0 || pad > 2 || (acc & ((1u << nbits) - 1)) != 0)
		goto bad;
	return SIGNET_OK;
bad:
	out->len = start;
	return SIGNET_EPARSE;
}
