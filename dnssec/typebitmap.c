/* typebitmap.c -- the NSEC/NSEC3 type bitmap of RFC 4034 §4.1.2. */
#include <stdbool.h>
#include <string.h>

#include "dnssec/dnssec.h"

/* The common case, every type below 256: one window, without clearing the
 * table of all 65536 types (a signed zone's chain makes one bitmap per name).
 * False when a type needs another window. */
static bool first_window_only(const uint16_t *types, size_t n, sg_buf *out, signet_err *err)
{
	uint8_t win[32] = {0};
	for (size_t i = 0; i < n; i++) {
		if (types[i] > 255)
			return false;
		win[types[i] >> 3] |= (uint8_t)(0x80 >> (types[i] & 7));
	}
	*err = SIGNET_OK;
	if (n == 0)
		return true;
	unsigned len = 32;
	while (win[len - 1] == 0)
		len--;
	if ((*err = sg_buf_reserve(out, 2 + len)) != SIGNET_OK)
		return true;
	out->data[out->len++] = 0;
	out->data[out->len++] = (uint8_t)len;
	memcpy(out->data + out->len, win, len);
	out->len += len;
	return true;
}

signet_err dns_type_bitmap(const uint16_t *types, size_t n, sg_buf *out)
{
	/* One bit per possible type: 8 KiB covers all 65536 and makes sorting
	 * and deduplication fall out of the representation. */
	uint8_t bits[65536 / 8];
	uint8_t used[256];

	if (out == NULL || (n > 0 && types == NULL))
		return SIGNET_EINVAL;
	signet_err err;
	if (first_window_only(types, n, out, &err))
		return err;
	memset(bits, 0, sizeof(bits));
	memset(used, 0, sizeof(used));
	for (size_t i = 0; i < n; i++) {
		uint16_t t = types[i];
		bits[t >> 3] |= (uint8_t)(0x80 >> (t & 7));
		used[t >> 8] = 1;
	}
	for (unsigned w = 0; w < 256; w++) {
		if (!used[w])
			continue;
		const uint8_t *win = bits + w * 32;
		unsigned len = 32;
		/* Trailing zero octets are not sent (RFC 4034 §4.1.2). */
		while (len > 0 && win[len - 1] == 0)
			len--;
		err = sg_buf_put_u8(out, (uint8_t)w);
		if (err != SIGNET_OK)
			return err;
		err = sg_buf_put_u8(out, (uint8_t)len);
		if (err != SIGNET_OK)
			return err;
		err = sg_buf_append(out, win, len);
		if (err != SIGNET_OK)
			return err;
	}
	return SIGNET_OK;
}
