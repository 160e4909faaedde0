/* uri.c -- PKCS#11 URIs (RFC 7512) naming a private key: a strict parser for
 * what an operator writes in a configuration, and the canonical form handed
 * to libp11's engine. */
#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "hsm/internal.h"

#define URI_SCHEME "pkcs11:"

static signet_err uri_fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static signet_err uri_fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
{
	if (errmsg && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errmsg, errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

bool hsm_uri_is(const char *text)
{
	return text && strncasecmp(text, URI_SCHEME, strlen(URI_SCHEME)) == 0;
}

/* RFC 7512's pk11-pchar without '&' and '%' (handled apart): unreserved and
 * the path's reserved-but-allowed characters. libp11 also splits at '&',
 * so a literal one is refused and must be written %26. */
static bool pchar_literal(unsigned char c)
{
	return c && (isalnum(c) || strchr("-._~:[]@!$'()*+,=", c) != NULL);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	c = (unsigned char)tolower(c);
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

/* Decode the value v (n octets) into out (max octets). Text attributes
 * (text true) must decode to printable ASCII without NUL. */
static signet_err decode_value(const char *name, const char *v, size_t n, uint8_t *out, size_t max,
			       size_t *outlen, bool text, char *errmsg, size_t errlen)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)v[i];
		int octet;
		if (c == '%') {
			if (i + 2 >= n)
				return uri_fail(errmsg, errlen, SIGNET_EPARSE,
						"%s: '%%' must be followed by two hex digits",
						name);
			int a = hexval((unsigned char)v[i + 1]),
			    b = hexval((unsigned char)v[i + 2]);
			if (a < 0 || b < 0)
				return uri_fail(errmsg, errlen, SIGNET_EPARSE,
						"%s: '%%' must be followed by two hex digits",
						name);
			octet = a * 16 + b;
			i += 2;
		} else if (pchar_literal(c)) {
			octet = c;
		} else {
			return uri_fail(errmsg, errlen, SIGNET_EPARSE,
					"%s: character 0x%02x must be percent-encoded", name, c);
		}
		if (text && (octet < 0x20 || octet > 0x7e))
			return uri_fail(errmsg, errlen, SIGNET_EPARSE,
					"%s: only printable ASCII is accepted", name);
		if (k == max)
			return uri_fail(errmsg, errlen, SIGNET_ERANGE, "%s: longer than %zu octets",
					name, max);
		out[k++] = (uint8_t)octet;
	}
	if (k == 0)
		return uri_fail(errmsg, errlen, SIGNET_EPARSE, "%s: empty value", name);
	*outlen = k;
	return SIGNET_OK;
}

static signet_err text_attr(const char *name, const char *v, size_t n, char *dst, size_t dstlen,
			    char *errmsg, size_t errlen)
{
	if (dst[0])
		return uri_fail(errmsg, errlen, SIGNET_EPARSE, "%s given twice", name);
	size_t len = 0;
	signet_err ret = decode_value(name, v, n, (uint8_t *)dst, dstlen - 1, &len, true, errmsg,
				      errlen);
	if (ret != SIGNET_OK) {
		dst[0] = '\0';
		return ret;
	}
	dst[len] = '\0';
	return SIGNET_OK;
}

signet_err hsm_uri_parse(const char *text, hsm_uri *out, char *errmsg, size_t errlen)
{
	if (!text || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	size_t total = strnlen(text, HSM_URI_MAX + 1);
	if (total > HSM_URI_MAX)
		return uri_fail(errmsg, errlen, SIGNET_ERANGE, "PKCS#11 URI longer than %d octets",
				HSM_URI_MAX);
	if (!hsm_uri_is(text))
		return uri_fail(errmsg, errlen, SIGNET_EPARSE, "not a PKCS#11 URI (pkcs11:...)");
	const char *p = text + strlen(URI_SCHEME);
	if (strchr(p, '?'))
		return uri_fail(errmsg, errlen, SIGNET_EPARSE,
				"query attributes (after '?': module-path, pin-source, pin-value)"
				" are not accepted: the module is the configured one and the PIN"
				" comes from its own source");
	bool have_type = false, have_id = false;
	while (*p) {
		const char *end = strchr(p, ';');
		size_t n = end ? (size_t)(end - p) : strlen(p);
		const char *eq = memchr(p, '=', n);
		if (!eq || eq == p)
			return uri_fail(errmsg, errlen, SIGNET_EPARSE,
					"expected NAME=VALUE attributes separated by ';'");
		size_t nl = (size_t)(eq - p);
		const char *v = eq + 1;
		size_t vn = n - nl - 1;
		signet_err ret = SIGNET_OK;
#define IS(s) (nl == strlen(s) && strncmp(p, s, nl) == 0)
		if (IS("token")) {
			ret = text_attr("token", v, vn, out->token, sizeof(out->token), errmsg,
					errlen);
		} else if (IS("serial")) {
			ret = text_attr("serial", v, vn, out->serial, sizeof(out->serial), errmsg,
					errlen);
		} else if (IS("object")) {
			ret = text_attr("object", v, vn, out->object, sizeof(out->object), errmsg,
					errlen);
		} else if (IS("id")) {
			if (have_id)
				return uri_fail(errmsg, errlen, SIGNET_EPARSE, "id given twice");
			have_id = true;
			ret = decode_value("id", v, vn, out->id, sizeof(out->id), &out->id_len,
					   false, errmsg, errlen);
		} else if (IS("type") || IS("object-type")) {
			if (have_type)
				return uri_fail(errmsg, errlen, SIGNET_EPARSE, "type given twice");
			have_type = true;
			if (vn != 7 || strncmp(v, "private", 7) != 0)
				return uri_fail(errmsg, errlen, SIGNET_EPARSE,
						"type=%.*s: the URI must name the private key"
						" (type=private), not a public key or certificate",
						(int)(vn > 16 ? 16 : vn), v);
		} else if (IS("pin-value") || IS("pin-source")) {
			return uri_fail(errmsg, errlen, SIGNET_EPARSE,
					"%.*s is not accepted: a PIN never sits in a configuration;"
					" give it through the PIN file",
					(int)nl, p);
		} else {
			return uri_fail(errmsg, errlen, SIGNET_EPARSE,
					"unknown or unsupported attribute '%.*s' (token, serial,"
					" object, id, type)",
					(int)(nl > 32 ? 32 : nl), p);
		}
#undef IS
		if (ret != SIGNET_OK)
			return ret;
		p += n;
		if (*p == ';') {
			p++;
			if (!*p)
				return uri_fail(errmsg, errlen, SIGNET_EPARSE,
						"empty attribute at the end");
		}
	}
	if (!out->token[0] && !out->serial[0])
		return uri_fail(errmsg, errlen, SIGNET_EPARSE,
				"the URI must name the token (token= or serial=)");
	if (!out->object[0] && !out->id_len)
		return uri_fail(errmsg, errlen, SIGNET_EPARSE,
				"the URI must name the key (object= or id=)");
	return SIGNET_OK;
}

/* Append name=value, percent-encoding every octet that is not unreserved. */
static bool put_attr(char *out, size_t outlen, size_t *pos, const char *name, const uint8_t *v,
		     size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	int w = snprintf(out + *pos, outlen - *pos, "%s%s=", *pos > 7 ? ";" : "", name);
	if (w < 0 || (size_t)w >= outlen - *pos)
		return false;
	*pos += (size_t)w;
	for (size_t i = 0; i < n; i++) {
		bool plain = v[i] && (isalnum(v[i]) || strchr("-._~:", v[i]) != NULL);
		if (!plain && *pos + 3 >= outlen)
			return false;
		if (plain && *pos + 1 >= outlen)
			return false;
		if (plain) {
			out[(*pos)++] = (char)v[i];
		} else {
			out[(*pos)++] = '%';
			out[(*pos)++] = hex[v[i] >> 4];
			out[(*pos)++] = hex[v[i] & 15];
		}
	}
	out[*pos] = '\0';
	return true;
}

signet_err hsm_uri_format(const hsm_uri *u, char *out, size_t outlen)
{
	if (!u || !out || outlen < sizeof(URI_SCHEME))
		return SIGNET_EINVAL;
	size_t pos = strlen(URI_SCHEME);
	memcpy(out, URI_SCHEME, pos + 1);
	bool ok = true;
	if (u->token[0])
		ok = ok && put_attr(out, outlen, &pos, "token", (const uint8_t *)u->token,
				    strlen(u->token));
	if (u->serial[0])
		ok = ok && put_attr(out, outlen, &pos, "serial", (const uint8_t *)u->serial,
				    strlen(u->serial));
	if (u->id_len)
		ok = ok && put_attr(out, outlen, &pos, "id", u->id, u->id_len);
	if (u->object[0])
		ok = ok && put_attr(out, outlen, &pos, "object", (const uint8_t *)u->object,
				    strlen(u->object));
	ok = ok && put_attr(out, outlen, &pos, "type", (const uint8_t *)"private", 7);
	return ok ? SIGNET_OK : SIGNET_ERANGE;
}
