/* config_values.c -- a value of signetd's configuration read and checked
 * against its bounds: the text screened before libconfig reads it, strings,
 * numbers (as written, since libconfig wraps), booleans; where an error
 * goes. */
#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/config_check.h"

#define LINE_MAX_OCTETS 4096
#define LINES_MAX 65535 /* libconfig keeps source lines in an unsigned short */

signet_err cfg_fail(cfg_checker *k, signet_err err, const char *fmt, ...)
{
	if (k->errmsg && k->errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(k->errmsg, k->errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

void cfg_at(cfg_checker *k, const config_setting_t *s)
{
	k->line = config_setting_source_line(s);
}

/* ---- the text before libconfig sees it ---------------------------------- */

/* libconfig reads a C string and follows @include to other files, which
 * would escape the size bound, so the raw text is bounded and screened
 * first: no NUL, no control characters but tab/CR/LF, short lines, no
 * directives. */
signet_err cfg_screen(cfg_checker *k, const char *text, size_t len)
{
	size_t pos = 0;
	unsigned line = 0;
	while (pos < len) {
		line++;
		k->line = line;
		if (line > LINES_MAX)
			return cfg_fail(k, SIGNET_ERANGE, "more than %d lines", LINES_MAX);
		const char *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
		size_t body = n;
		if (body > 0 && text[pos + body - 1] == '\r')
			body--;
		if (body > LINE_MAX_OCTETS)
			return cfg_fail(k, SIGNET_ERANGE, "line longer than %d octets",
					LINE_MAX_OCTETS);
		size_t first = 0;
		while (first < body && (text[pos + first] == ' ' || text[pos + first] == '\t'))
			first++;
		if (first < body && text[pos + first] == '@')
			return cfg_fail(k, SIGNET_EPARSE, "directives (@include) are not allowed");
		for (size_t i = 0; i < body; i++) {
			unsigned char c = (unsigned char)text[pos + i];
			if (c == 0)
				return cfg_fail(k, SIGNET_EPARSE, "NUL octet");
			if ((c < 0x20 && c != '\t') || c == 0x7f)
				return cfg_fail(k, SIGNET_EPARSE, "control character 0x%02x", c);
		}
		pos += nl ? n + 1 : n;
	}
	k->line = 0;
	return SIGNET_OK;
}

/* ---- values -------------------------------------------------------------- */

/* A string value without control characters, 1..dstlen-1 octets. */
signet_err cfg_string(cfg_checker *k, const config_setting_t *s, const char *key, char *dst,
		      size_t dstlen, bool absolute_path)
{
	cfg_at(k, s);
	if (config_setting_type(s) != CONFIG_TYPE_STRING)
		return cfg_fail(k, SIGNET_EPARSE, "%s: expected a string in quotes", key);
	const char *val = config_setting_get_string(s);
	size_t n = val ? strlen(val) : 0;
	if (n == 0 || n >= dstlen)
		return cfg_fail(k, SIGNET_ERANGE, "%s: value must be 1..%zu octets", key,
				dstlen - 1);
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)val[i] < 0x20 || (unsigned char)val[i] == 0x7f)
			return cfg_fail(k, SIGNET_EPARSE, "%s: control character 0x%02x", key,
					(unsigned char)val[i]);
	if (absolute_path && val[0] != '/')
		return cfg_fail(k, SIGNET_EPARSE, "%s: path must be absolute", key);
	memcpy(dst, val, n + 1);
	return SIGNET_OK;
}

/* libconfig 1.5 wraps integer literals that do not fit silently
 * (3000000000 reads as -1294967296), so the literal on the setting's line
 * is read again and must agree with what libconfig made of it. */
static bool literal_agrees(cfg_checker *k, const char *key, long long v)
{
	const char *p = k->text;
	for (unsigned l = 1; l < k->line && p; l++) {
		p = strchr(p, '\n');
		if (p)
			p++;
	}
	if (!p)
		return false;
	const char *end = strchr(p, '\n');
	size_t keylen = strlen(key);
	for (const char *q = p; (q = strstr(q, key)) && (!end || q < end); q++) {
		bool start_ok = q == p || strchr(" \t;{,", q[-1]);
		const char *r = q + keylen;
		while (*r == ' ' || *r == '\t')
			r++;
		if (!start_ok || (*r != '=' && *r != ':'))
			continue;
		r++;
		while (*r == ' ' || *r == '\t')
			r++;
		if (*r == '-' || *r == '+')
			return false;
		errno = 0;
		char *stop = NULL;
		unsigned long long lit = strtoull(r, &stop, 0);
		if (stop == r || errno == ERANGE || lit > (unsigned long long)INT64_MAX)
			return false;
		return v >= 0 && (unsigned long long)v == lit;
	}
	return false;
}

/* An integer in [lo, hi]. */
signet_err cfg_number(cfg_checker *k, const config_setting_t *s, const char *key, long long lo,
		      long long hi, long long *out)
{
	cfg_at(k, s);
	int t = config_setting_type(s);
	if (t != CONFIG_TYPE_INT && t != CONFIG_TYPE_INT64)
		return cfg_fail(k, SIGNET_EPARSE, "%s: not a number", key);
	long long v = config_setting_get_int64(s);
	if (v < lo || v > hi || !literal_agrees(k, key, v))
		return cfg_fail(k, SIGNET_ERANGE, "%s: value is outside %lld..%lld", key, lo, hi);
	*out = v;
	return SIGNET_OK;
}

signet_err cfg_bool(cfg_checker *k, const config_setting_t *s, const char *key, bool *out)
{
	cfg_at(k, s);
	if (config_setting_type(s) != CONFIG_TYPE_BOOL)
		return cfg_fail(k, SIGNET_EPARSE, "%s: expected true or false", key);
	*out = config_setting_get_bool(s) != 0;
	return SIGNET_OK;
}
