/* buf.c -- the bounded, growable byte buffer. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/common.h"

signet_err sg_array_room(void *arrp, size_t *cap, size_t n, size_t size, size_t first)
{
	if (arrp == NULL || cap == NULL || size == 0 || first == 0)
		return SIGNET_EINVAL;
	if (n < *cap)
		return SIGNET_OK;
	size_t c = *cap ? *cap : first;
	while (c <= n) {
		if (c > SIZE_MAX / 2)
			return SIGNET_ERANGE;
		c *= 2;
	}
	if (c > SIZE_MAX / size)
		return SIGNET_ERANGE;
	/* The array's pointer through memcpy: arrp may point at any pointer
	 * type. */
	void *old;
	memcpy(&old, arrp, sizeof(old));
	void *p = realloc(old, c * size);
	if (p == NULL)
		return SIGNET_ENOMEM;
	memcpy(arrp, &p, sizeof(p));
	*cap = c;
	return SIGNET_OK;
}

signet_err sg_buf_reserve(sg_buf *b, size_t extra)
{
	if (b == NULL)
		return SIGNET_EINVAL;
	if (extra > SIZE_MAX - b->len - 1)
		return SIGNET_ERANGE;
	size_t need = b->len + extra;
	if (b->limit != 0 && need > b->limit)
		return SIGNET_ERANGE;
	/* One spare byte keeps a NUL after the data for sg_buf_printf users. */
	if (need + 1 <= b->cap)
		return SIGNET_OK;
	size_t cap = b->cap ? b->cap : 64;
	while (cap < need + 1) {
		if (cap > SIZE_MAX / 2)
			return SIGNET_ERANGE;
		cap *= 2;
	}
	uint8_t *p = realloc(b->data, cap);
	if (p == NULL)
		return SIGNET_ENOMEM;
	b->data = p;
	b->cap = cap;
	return SIGNET_OK;
}

signet_err sg_buf_append(sg_buf *b, const void *p, size_t n)
{
	if (n != 0 && p == NULL)
		return SIGNET_EINVAL;
	signet_err ret = sg_buf_reserve(b, n);
	if (ret != SIGNET_OK)
		return ret;
	if (n != 0)
		memcpy(b->data + b->len, p, n);
	b->len += n;
	b->data[b->len] = 0;
	return SIGNET_OK;
}

signet_err sg_buf_put_u8(sg_buf *b, uint8_t v)
{
	return sg_buf_append(b, &v, 1);
}

signet_err sg_buf_put_u16(sg_buf *b, uint16_t v)
{
	uint8_t w[2] = {(uint8_t)(v >> 8), (uint8_t)v};
	return sg_buf_append(b, w, sizeof(w));
}

signet_err sg_buf_put_u32(sg_buf *b, uint32_t v)
{
	uint8_t w[4] = {(uint8_t)(v >> 24), (uint8_t)(v >> 16), (uint8_t)(v >> 8), (uint8_t)v};
	return sg_buf_append(b, w, sizeof(w));
}

signet_err sg_buf_printf(sg_buf *b, const char *fmt, ...)
{
	if (b == NULL || fmt == NULL)
		return SIGNET_EINVAL;
	va_list ap;
	va_start(ap, fmt);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		return SIGNET_EINVAL;
	signet_err ret = sg_buf_reserve(b, (size_t)n);
	if (ret != SIGNET_OK)
		return ret;
	va_start(ap, fmt);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap);
	va_end(ap);
	b->len += (size_t)n;
	return SIGNET_OK;
}

void sg_buf_reset(sg_buf *b)
{
	if (b == NULL)
		return;
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = 0;
}

void sg_buf_free(sg_buf *b)
{
	if (b == NULL)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void sg_buf_free_secure(sg_buf *b)
{
	if (b == NULL)
		return;
	if (b->data != NULL)
		sg_wipe(b->data, b->cap);
	sg_buf_free(b);
}
