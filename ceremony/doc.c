/* doc.c -- the strict "key value" line format of ceremony files and its encodings. */
#include <stdlib.h>
#include <string.h>

#include "ceremony/internal.h"

void cer_doc_free(cer_doc *d)
{
	if (d == NULL)
		return;
	free(d->mem);
	free(d->lines);
	memset(d, 0, sizeof(*d));
}

signet_err cer_doc_parse(const char *text, size_t len, const char *magic, const char *what,
			 cer_doc *out, char *errmsg, size_t errlen)
{
	if (text == NULL || magic == NULL || what == NULL || out == NULL)
		return cer_fail(errmsg, errlen, SIGNET_EINVAL, "cer_doc_parse: missing argument");
	memset(out, 0, sizeof(*out));
	if (len == 0 || text[len - 1] != '\n')
		return cer_fail(errmsg, errlen, SIGNET_EPARSE,
				"%s: empty or not ending with a newline "
				"(truncated?)",
				what);
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)text[i];
		if (c != '\n' && (c < 0x20 || c > 0x7e))
			return cer_fail(errmsg, errlen, SIGNET_EPARSE,
					"%s: byte 0x%02x at offset %zu is not "
					"printable ASCII",
					what, c, i);
	}
	out->mem = malloc(len + 1);
	if (out->mem == NULL)
		return cer_fail(errmsg, errlen, SIGNET_ENOMEM, "%s: out of memory", what);
	memcpy(out->mem, text, len);
	out->mem[len] = '\0';

	char *p = out->mem;
	unsigned lineno = 0;
	signet_err err = SIGNET_OK;
	while (*p != '\0' && err == SIGNET_OK) {
		char *nl = strchr(p, '\n');
		*nl = '\0';
		lineno++;
		size_t ll = (size_t)(nl - p);
		if (ll > CER_LINE_MAX) {
			err = cer_fail(errmsg, errlen, SIGNET_ERANGE,
				       "%s line %u: longer than %d octets", what, lineno,
				       CER_LINE_MAX);
			break;
		}
		if (lineno == 1) {
			if (strcmp(p, magic) != 0)
				err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
					       "%s: first line is not \"%s\" "
					       "(wrong file or version)",
					       what, magic);
			p = nl + 1;
			continue;
		}
		if (ll == 0 || p[0] == ' ' || p[ll - 1] == ' ') {
			err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
				       "%s line %u: empty line or stray blank", what, lineno);
			break;
		}
		if (out->n == CER_DOC_LINES_MAX) {
			err = cer_fail(errmsg, errlen, SIGNET_ERANGE, "%s: more than %d lines",
				       what, CER_DOC_LINES_MAX);
			break;
		}
		if (out->n % 64 == 0) {
			cer_line *nlines = realloc(out->lines, (out->n + 64) * sizeof(*nlines));
			if (nlines == NULL) {
				err = cer_fail(errmsg, errlen, SIGNET_ENOMEM, "%s: out of memory",
					       what);
				break;
			}
			out->lines = nlines;
		}
		cer_line *l = &out->lines[out->n++];
		l->key = p;
		l->lineno = lineno;
		char *sp = strchr(p, ' ');
		if (sp == NULL) {
			l->value = nl; /* the empty string at the line's end */
		} else {
			*sp = '\0';
			l->value = sp + 1;
			if (sp[1] == ' ')
				err = cer_fail(errmsg, errlen, SIGNET_EPARSE,
					       "%s line %u: two blanks after the key", what,
					       lineno);
		}
		p = nl + 1;
	}
	if (err != SIGNET_OK)
		cer_doc_free(out);
	return err;
}

signet_err cer_doc_take(const cer_doc *d, size_t *i, const char *key, const char *what,
			const char **value, char *errmsg, size_t errlen)
{
	if (*i >= d->n)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE, "%s: missing \"%s\" line at the end",
				what, key);
	const cer_line *l = &d->lines[*i];
	if (strcmp(l->key, key) != 0)
		return cer_fail(errmsg, errlen, SIGNET_EPARSE,
				"%s line %u: expected \"%s\", found \"%.40s\"", what, l->lineno,
				key, l->key);
	*value = l->value;
	(*i)++;
	return SIGNET_OK;
}

signet_err cer_hex_exact(const char *s, uint8_t *out, size_t n)
{
	size_t sl = strlen(s);
	if (sl != 2 * n)
		return SIGNET_EPARSE;
	for (size_t i = 0; i < sl; i++)
		if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f')))
			return SIGNET_EPARSE;
	sg_buf b = SG_BUF_INIT;
	signet_err err = sg_hex_decode(s, sl, &b);
	if (err == SIGNET_OK && b.len != n)
		err = SIGNET_EPARSE;
	if (err == SIGNET_OK)
		memcpy(out, b.data, n);
	sg_buf_free_secure(&b);
	return err == SIGNET_ENOMEM ? err : (err == SIGNET_OK ? SIGNET_OK : SIGNET_EPARSE);
}

signet_err cer_b64_exact(const char *s, uint8_t *out, size_t n)
{
	size_t sl = strlen(s);
	for (size_t i = 0; i < sl; i++)
		if (s[i] == ' ')
			return SIGNET_EPARSE;
	sg_buf b = SG_BUF_INIT;
	signet_err err = sg_base64_decode(s, sl, &b);
	if (err == SIGNET_OK && b.len != n)
		err = SIGNET_EPARSE;
	if (err == SIGNET_OK)
		memcpy(out, b.data, n);
	sg_buf_free_secure(&b);
	return err == SIGNET_ENOMEM ? err : (err == SIGNET_OK ? SIGNET_OK : SIGNET_EPARSE);
}

signet_err cer_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out)
{
	if (s[0] == '\0' || (s[0] == '0' && s[1] != '\0'))
		return SIGNET_EPARSE;
	uint64_t v = 0;
	for (; *s != '\0'; s++) {
		if (*s < '0' || *s > '9')
			return SIGNET_EPARSE;
		unsigned d = (unsigned)(*s - '0');
		if (v > (UINT64_MAX - d) / 10)
			return SIGNET_ERANGE;
		v = v * 10 + d;
	}
	if (v < min || v > max)
		return SIGNET_ERANGE;
	*out = v;
	return SIGNET_OK;
}

signet_err cer_put_hex(sg_buf *b, const char *key, const uint8_t *p, size_t n)
{
	signet_err err = sg_buf_printf(b, "%s ", key);
	if (err == SIGNET_OK)
		err = sg_hex_encode(p, n, b);
	if (err == SIGNET_OK)
		err = sg_buf_put_u8(b, '\n');
	return err;
}

signet_err cer_put_b64(sg_buf *b, const char *key, const uint8_t *p, size_t n)
{
	signet_err err = sg_buf_printf(b, "%s ", key);
	if (err == SIGNET_OK)
		err = sg_base64_encode(p, n, b);
	if (err == SIGNET_OK)
		err = sg_buf_put_u8(b, '\n');
	return err;
}
