/* name.c -- domain names: wire and presentation form, case, order, ancestry. */
#include "dnssec/dnssec.h"

#include <string.h>

/* A name of 255 octets holds at most 127 labels besides the root. */
#define NAME_LABELS_MAX 128

/* Offset in n of the suffix made of its rightmost `keep` labels (keep <=
 * count); the root label alone when keep is 0. */
static unsigned suffix_offset(const dns_name *n, const uint8_t *offs, unsigned count, unsigned keep)
{
	if (keep == 0)
		return (unsigned)n->len - 1;
	return offs[count - keep];
}

static uint8_t lower_octet(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

/* Offsets of the labels of n from the left, root excluded. The struct is
 * public, so a hand-filled one may be malformed: refuse it rather than read
 * past the wire array. */
static bool name_label_offsets(const dns_name *n, uint8_t offs[NAME_LABELS_MAX], unsigned *count)
{
	unsigned off = 0;
	unsigned k = 0;

	if (n->len == 0)
		return false;
	while (off < n->len && n->wire[off] != 0) {
		if (n->wire[off] > DNS_LABEL_MAX || k >= NAME_LABELS_MAX)
			return false;
		offs[k++] = (uint8_t)off;
		off += 1u + n->wire[off];
	}
	if (off + 1 != n->len)
		return false;
	*count = k;
	return true;
}

signet_err dns_name_from_wire(dns_name *out, const uint8_t *buf, size_t buflen, size_t *consumed)
{
	size_t off = 0;

	if (out == NULL || (buf == NULL && buflen != 0))
		return SIGNET_EINVAL;
	for (;;) {
		if (off >= buflen)
			return SIGNET_EPARSE;
		uint8_t l = buf[off];
		/* 0xC0 is a compression pointer, 0x40/0x80 the retired extended
		 * label types: none may appear in the data we sign. */
		if (l & 0xC0)
			return SIGNET_EPARSE;
		if (off + 1u + l > DNS_NAME_MAX)
			return SIGNET_EPARSE;
		if (off + 1u + l > buflen)
			return SIGNET_EPARSE;
		off += 1u + l;
		if (l == 0)
			break;
	}
	memcpy(out->wire, buf, off);
	out->len = (uint8_t)off;
	if (consumed != NULL)
		*consumed = off;
	return SIGNET_OK;
}

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

signet_err dns_name_from_str(dns_name *out, const char *text)
{
	uint8_t wire[DNS_NAME_MAX];
	size_t pos = 0; /* next free octet in wire */
	size_t lab = 0; /* offset of the current label's length octet */
	const char *p = text;

	if (out == NULL || text == NULL)
		return SIGNET_EINVAL;
	if (strcmp(text, ".") == 0) {
		out->wire[0] = 0;
		out->len = 1;
		return SIGNET_OK;
	}
	if (*p == '\0')
		return SIGNET_EPARSE;

	wire[0] = 0;
	pos = 1;
	while (*p != '\0') {
		uint8_t c;

		if (*p == '.') {
			if (wire[lab] == 0)
				return SIGNET_EPARSE; /* empty label */
			p++;
			if (*p == '\0')
				break; /* final dot */
			if (pos >= DNS_NAME_MAX - 1)
				return SIGNET_EPARSE;
			lab = pos;
			wire[pos++] = 0;
			continue;
		}
		if (*p == '\\') {
			p++;
			if (is_digit(p[0])) {
				if (!is_digit(p[1]) || !is_digit(p[2]))
					return SIGNET_EPARSE;
				unsigned v = (unsigned)(p[0] - '0') * 100 +
					     (unsigned)(p[1] - '0') * 10 + (unsigned)(p[2] - '0');
				if (v > 255)
					return SIGNET_EPARSE;
				c = (uint8_t)v;
				p += 3;
			} else if (*p == '\0') {
				return SIGNET_EPARSE; /* lone backslash */
			} else {
				c = (uint8_t)*p++;
			}
		} else {
			c = (uint8_t)*p++;
			/* Unescaped blanks and controls are never part of a
			 * name in presentation form: they end the token. */
			if (c <= ' ' || c == 0x7F)
				return SIGNET_EPARSE;
		}
		if (wire[lab] >= DNS_LABEL_MAX || pos >= DNS_NAME_MAX - 1)
			return SIGNET_EPARSE;
		wire[pos++] = c;
		wire[lab]++;
	}
	if (wire[lab] == 0)
		return SIGNET_EPARSE;
	wire[pos++] = 0; /* root label; the checks above leave room for it */
	memcpy(out->wire, wire, pos);
	out->len = (uint8_t)pos;
	return SIGNET_OK;
}

static bool plain_octet(uint8_t c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '-' || c == '_' || c == '*';
}

signet_err dns_name_to_str(const dns_name *n, char *out, size_t outlen)
{
	uint8_t offs[NAME_LABELS_MAX];
	unsigned count;
	size_t o = 0;

	if (n == NULL || out == NULL || outlen == 0)
		return SIGNET_EINVAL;
	if (!name_label_offsets(n, offs, &count))
		return SIGNET_EINVAL;
	if (count == 0) {
		if (outlen < 2)
			return SIGNET_ERANGE;
		out[0] = '.';
		out[1] = '\0';
		return SIGNET_OK;
	}
	for (unsigned i = 0; i < count; i++) {
		const uint8_t *l = &n->wire[offs[i]];

		for (unsigned j = 1; j <= l[0]; j++) {
			uint8_t c = l[j];
			char tmp[5];
			size_t tl;

			if (plain_octet(c)) {
				tmp[0] = (char)c;
				tl = 1;
			} else if (c == '.' || c == '\\') {
				tmp[0] = '\\';
				tmp[1] = (char)c;
				tl = 2;
			} else {
				tmp[0] = '\\';
				tmp[1] = (char)('0' + c / 100);
				tmp[2] = (char)('0' + (c / 10) % 10);
				tmp[3] = (char)('0' + c % 10);
				tl = 4;
			}
			if (o + tl + 1 > outlen)
				return SIGNET_ERANGE;
			memcpy(out + o, tmp, tl);
			o += tl;
		}
		if (o + 2 > outlen)
			return SIGNET_ERANGE;
		out[o++] = '.';
	}
	out[o] = '\0';
	return SIGNET_OK;
}

void dns_name_lower(dns_name *n)
{
	uint8_t offs[NAME_LABELS_MAX];
	unsigned count;

	if (n == NULL || !name_label_offsets(n, offs, &count))
		return;
	/* Walk label by label so length octets are never touched. */
	for (unsigned i = 0; i < count; i++) {
		uint8_t *l = &n->wire[offs[i]];
		for (unsigned j = 1; j <= l[0]; j++)
			l[j] = lower_octet(l[j]);
	}
}

unsigned dns_name_labels(const dns_name *n)
{
	uint8_t offs[NAME_LABELS_MAX];
	unsigned count;

	if (n == NULL || !name_label_offsets(n, offs, &count))
		return 0;
	return count;
}

bool dns_name_is_wildcard(const dns_name *n)
{
	return n != NULL && n->len >= 3 && n->wire[0] == 1 && n->wire[1] == '*';
}

unsigned dns_name_rrsig_labels(const dns_name *n)
{
	unsigned count = dns_name_labels(n);

	if (count > 0 && dns_name_is_wildcard(n))
		count--;
	return count;
}

/* Compare two labels as lower-cased octet strings; a proper prefix sorts
 * first (RFC 4034 §6.1). */
static int label_compare(const uint8_t *a, const uint8_t *b)
{
	unsigned n = a[0] < b[0] ? a[0] : b[0];

	for (unsigned i = 1; i <= n; i++) {
		uint8_t ca = lower_octet(a[i]);
		uint8_t cb = lower_octet(b[i]);
		if (ca != cb)
			return ca < cb ? -1 : 1;
	}
	if (a[0] != b[0])
		return a[0] < b[0] ? -1 : 1;
	return 0;
}

int dns_name_compare(const dns_name *a, const dns_name *b)
{
	uint8_t oa[NAME_LABELS_MAX], ob[NAME_LABELS_MAX];
	unsigned na, nb;

	/* Malformed names have no place in the order; keep the result total
	 * and deterministic by sorting them before all good ones. */
	bool ga = a != NULL && name_label_offsets(a, oa, &na);
	bool gb = b != NULL && name_label_offsets(b, ob, &nb);
	if (!ga || !gb)
		return (int)ga - (int)gb;

	while (na > 0 && nb > 0) {
		na--;
		nb--;
		int r = label_compare(&a->wire[oa[na]], &b->wire[ob[nb]]);
		if (r != 0)
			return r;
	}
	if (na != nb)
		return na < nb ? -1 : 1;
	return 0;
}

/* Labels from the right, each lower-cased and ended by 0x00; octets 0x00 and
 * 0x01 are written as 0x01 0x00 and 0x01 0x01, so the end of a label sorts
 * before any octet and a label before its extensions (RFC 4034 §6.1). */
size_t dns_name_canonical_key(const dns_name *n, uint8_t out[DNS_NAME_KEY_MAX])
{
	uint8_t offs[NAME_LABELS_MAX];
	unsigned count;

	if (n == NULL || out == NULL || !name_label_offsets(n, offs, &count))
		return 0;
	size_t o = 0;
	while (count > 0) {
		const uint8_t *l = &n->wire[offs[--count]];
		for (unsigned i = 1; i <= l[0]; i++) {
			uint8_t c = lower_octet(l[i]);
			if (c <= 1)
				out[o++] = 1;
			out[o++] = c;
		}
		out[o++] = 0;
	}
	return o;
}

/* Case-insensitive comparison of wire octets. Length octets are at most 63,
 * below 'A', so lower-casing every octet cannot confuse them with letters. */
static bool wire_equal_nocase(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower_octet(a[i]) != lower_octet(b[i]))
			return false;
	return true;
}

bool dns_name_equal(const dns_name *a, const dns_name *b)
{
	if (a == NULL || b == NULL || a->len != b->len || a->len == 0)
		return false;
	return wire_equal_nocase(a->wire, b->wire, a->len);
}

bool dns_name_is_at_or_below(const dns_name *n, const dns_name *apex)
{
	uint8_t on[NAME_LABELS_MAX], oa[NAME_LABELS_MAX];
	unsigned cn, ca;

	if (n == NULL || apex == NULL || !name_label_offsets(n, on, &cn) ||
	    !name_label_offsets(apex, oa, &ca) || cn < ca)
		return false;
	unsigned start = suffix_offset(n, on, cn, ca);
	if ((unsigned)n->len - start != apex->len)
		return false;
	return wire_equal_nocase(&n->wire[start], apex->wire, apex->len);
}

signet_err dns_name_parent(const dns_name *n, dns_name *out)
{
	uint8_t offs[NAME_LABELS_MAX];
	unsigned count;

	if (n == NULL || out == NULL || !name_label_offsets(n, offs, &count) || count == 0)
		return SIGNET_EINVAL;
	return dns_name_suffix(n, count - 1, out);
}

signet_err dns_name_suffix(const dns_name *n, unsigned labels, dns_name *out)
{
	uint8_t offs[NAME_LABELS_MAX];
	unsigned count;

	if (n == NULL || out == NULL || !name_label_offsets(n, offs, &count) || labels > count)
		return SIGNET_EINVAL;
	unsigned start = suffix_offset(n, offs, count, labels);
	uint8_t len = (uint8_t)(n->len - start);
	/* memmove: out may be n itself. */
	memmove(out->wire, &n->wire[start], len);
	out->len = len;
	return SIGNET_OK;
}
