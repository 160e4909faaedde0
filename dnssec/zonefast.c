/* zonefast.c -- a reader, without ldns, for the plain RR lines signet writes. */
#include <arpa/inet.h>
#include <string.h>

#include "dnssec/dnssec.h"

/* Types listed in one NSEC or NSEC3 line that this reader takes. */
#define FAST_TYPES_MAX 64

/* The lines this reader takes: an absolute owner of letters, digits, '-',
 * '_' and '*' only; a decimal TTL; class IN; one of the types below with
 * its RDATA in the form ldns (and signet's RRSIG writer) print, fields
 * separated by blanks, nothing after. Anything else, including every escape,
 * comment, parenthesis and relative name, is the caller's to give to ldns:
 * so this reader never needs to be right about a form it was not made for,
 * only to agree with ldns on the ones it takes (fuzz_zonetext checks that). */

struct cursor {
	const char *p, *end;
};

static bool is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool is_blank(char c)
{
	return c == ' ' || c == '\t';
}

static bool at_end(const struct cursor *c)
{
	return c->p == c->end;
}

/* One or more blanks, and something after them. */
static bool take_sep(struct cursor *c)
{
	if (at_end(c) || !is_blank(*c->p))
		return false;
	while (!at_end(c) && is_blank(*c->p))
		c->p++;
	return !at_end(c);
}

/* Blanks to the end of the line, nothing else. */
static bool take_tail(struct cursor *c)
{
	while (!at_end(c) && is_blank(*c->p))
		c->p++;
	return at_end(c);
}

/* The next field: up to a blank or the end. */
static size_t field_len(const struct cursor *c)
{
	const char *q = c->p;
	while (q < c->end && !is_blank(*q))
		q++;
	return (size_t)(q - c->p);
}

/* A decimal of at most maxdigits digits and at most max. */
static bool take_uint(struct cursor *c, unsigned maxdigits, uint32_t max, uint32_t *out)
{
	size_t n = field_len(c);
	if (n == 0 || n > maxdigits)
		return false;
	uint64_t v = 0;
	for (size_t i = 0; i < n; i++) {
		if (!is_digit(c->p[i]))
			return false;
		v = v * 10 + (uint64_t)(c->p[i] - '0');
	}
	if (v > max)
		return false;
	c->p += n;
	*out = (uint32_t)v;
	return true;
}

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || is_digit(c) || c == '-' ||
	       c == '_' || c == '*';
}

/* An absolute name without escapes, as wire form in out. */
static bool take_name(struct cursor *c, dns_name *out)
{
	size_t n = field_len(c);
	const char *s = c->p;
	if (n == 0 || s[n - 1] != '.')
		return false;
	if (n == 1) {
		out->len = 1;
		out->wire[0] = 0;
		c->p += 1;
		return true;
	}
	size_t pos = 0;
	for (size_t i = 0; i < n;) {
		size_t l = 0;
		while (i + l < n && s[i + l] != '.') {
			if (!name_char(s[i + l]))
				return false;
			l++;
		}
		if (l == 0 || l > DNS_LABEL_MAX || pos + 1 + l + 1 > DNS_NAME_MAX)
			return false;
		out->wire[pos++] = (uint8_t)l;
		memcpy(out->wire + pos, s + i, l);
		pos += l;
		i += l + 1;
	}
	out->wire[pos++] = 0;
	out->len = (uint8_t)pos;
	c->p += n;
	return true;
}

/* Mnemonics of the types a zone commonly lists (tests check every number
 * against ldns); others send the line to ldns. */
static const struct {
	const char *name;
	uint16_t type;
} type_names[] = {
	{"A", 1}, {"NS", 2}, {"CNAME", 5}, {"SOA", 6}, {"PTR", 12}, {"HINFO", 13},
	{"MX", 15}, {"TXT", 16}, {"RP", 17}, {"AFSDB", 18}, {"AAAA", 28}, {"LOC", 29},
	{"SRV", 33}, {"NAPTR", 35}, {"KX", 36}, {"CERT", 37}, {"DNAME", 39}, {"DS", 43},
	{"SSHFP", 44}, {"IPSECKEY", 45}, {"RRSIG", 46}, {"NSEC", 47}, {"DNSKEY", 48},
	{"DHCID", 49}, {"NSEC3", 50}, {"NSEC3PARAM", 51}, {"TLSA", 52}, {"SMIMEA", 53},
	{"CDS", 59}, {"CDNSKEY", 60}, {"OPENPGPKEY", 61}, {"CSYNC", 62}, {"ZONEMD", 63},
	{"SVCB", 64}, {"HTTPS", 65}, {"URI", 256}, {"CAA", 257},
};

static bool take_type(struct cursor *c, uint16_t *out)
{
	size_t n = field_len(c);
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (strlen(type_names[i].name) == n && memcmp(type_names[i].name, c->p, n) == 0) {
			*out = type_names[i].type;
			c->p += n;
			return true;
		}
	return false;
}

/* Seconds since the epoch of a valid UTC calendar time. */
static uint32_t epoch_of(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi,
			 unsigned s)
{
	static const unsigned before[12] = {0, 31, 59, 90, 120, 151, 181, 212, 243, 273, 304, 334};
	uint64_t days = 365ull * (y - 1970) + (y - 1969) / 4 - (y - 1901) / 100 + (y - 1601) / 400;
	days += before[mo - 1] + d - 1;
	if (mo > 2 && y % 4 == 0 && (y % 100 != 0 || y % 400 == 0))
		days++;
	return (uint32_t)(days * 86400 + h * 3600u + mi * 60u + s);
}

/* A signature time in the YYYYMMDDHHmmSS form, a real calendar time from
 * 1970 to 2099; the decimal form and odd dates go to ldns. */
static bool take_time(struct cursor *c, uint32_t *out)
{
	if (field_len(c) != 14)
		return false;
	unsigned v[6];
	static const unsigned width[6] = {4, 2, 2, 2, 2, 2};
	const char *s = c->p;
	for (unsigned f = 0; f < 6; f++) {
		v[f] = 0;
		for (unsigned i = 0; i < width[f]; i++, s++) {
			if (!is_digit(*s))
				return false;
			v[f] = v[f] * 10 + (unsigned)(*s - '0');
		}
	}
	static const unsigned mdays[12] = {31, 29, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	unsigned y = v[0], mo = v[1], d = v[2];
	bool leap = y % 4 == 0 && (y % 100 != 0 || y % 400 == 0);
	if (y < 1970 || y > 2099 || mo < 1 || mo > 12 || d < 1 || d > mdays[mo - 1] ||
	    (mo == 2 && d == 29 && !leap) || v[3] > 23 || v[4] > 59 || v[5] > 59)
		return false;
	*out = epoch_of(y, mo, d, v[3], v[4], v[5]);
	c->p += 14;
	return true;
}

static int b64_value(char ch)
{
	if (ch >= 'A' && ch <= 'Z')
		return ch - 'A';
	if (ch >= 'a' && ch <= 'z')
		return ch - 'a' + 26;
	if (is_digit(ch))
		return ch - '0' + 52;
	if (ch == '+')
		return 62;
	if (ch == '/')
		return 63;
	return -1;
}

/* One base64 field in canonical form (padded, unused bits zero), appended. */
static bool take_base64(struct cursor *c, sg_buf *out)
{
	size_t n = field_len(c);
	if (n == 0 || n % 4 != 0)
		return false;
	const char *s = c->p;
	size_t pad = s[n - 1] == '=' ? (s[n - 2] == '=' ? 2 : 1) : 0;
	if (sg_buf_reserve(out, n / 4 * 3) != SIGNET_OK)
		return false;
	uint8_t *o = out->data + out->len;
	size_t olen = 0;
	for (size_t i = 0; i < n; i += 4) {
		int v[4];
		for (size_t k = 0; k < 4; k++) {
			bool padded = i + 4 == n && k >= 4 - pad;
			v[k] = padded ? 0 : b64_value(s[i + k]);
			if (v[k] < 0)
				return false;
		}
		uint32_t acc = (uint32_t)v[0] << 18 | (uint32_t)v[1] << 12 | (uint32_t)v[2] << 6 |
			       (uint32_t)v[3];
		o[olen++] = (uint8_t)(acc >> 16);
		if (i + 4 < n || pad < 2)
			o[olen++] = (uint8_t)(acc >> 8);
		if (i + 4 < n || pad < 1)
			o[olen++] = (uint8_t)acc;
		if (i + 4 == n && ((pad == 1 && (acc & 0xff)) || (pad == 2 && (acc & 0xffff))))
			return false;
	}
	out->len += olen;
	c->p += n;
	return true;
}

static int hex_value(char ch)
{
	if (is_digit(ch))
		return ch - '0';
	if (ch >= 'a' && ch <= 'f')
		return ch - 'a' + 10;
	if (ch >= 'A' && ch <= 'F')
		return ch - 'A' + 10;
	return -1;
}

/* Types to the end of the line (at least min of them), as a list. */
static bool take_types(struct cursor *c, size_t min, uint16_t *types, size_t *n)
{
	*n = 0;
	while (!at_end(c)) {
		if (!take_sep(c))
			break;     /* trailing blanks */
		if (*n == FAST_TYPES_MAX || !take_type(c, &types[*n]))
			return false;
		(*n)++;
	}
	return *n >= min && take_tail(c);
}

static bool rrsig_rdata(struct cursor *c, sg_buf *rd)
{
	uint16_t covered;
	uint32_t alg, labels, ottl, exp, inc, tag;
	dns_name signer;
	if (!take_type(c, &covered) || !take_sep(c) || !take_uint(c, 3, 255, &alg) ||
	    !take_sep(c) || !take_uint(c, 3, 255, &labels) || !take_sep(c) ||
	    !take_uint(c, 9, 999999999, &ottl) || !take_sep(c) || !take_time(c, &exp) ||
	    !take_sep(c) || !take_time(c, &inc) || !take_sep(c) ||
	    !take_uint(c, 5, 65535, &tag) || !take_sep(c) || !take_name(c, &signer) ||
	    !take_sep(c))
		return false;
	if (sg_buf_put_u16(rd, covered) != SIGNET_OK ||
	    sg_buf_put_u8(rd, (uint8_t)alg) != SIGNET_OK ||
	    sg_buf_put_u8(rd, (uint8_t)labels) != SIGNET_OK ||
	    sg_buf_put_u32(rd, ottl) != SIGNET_OK || sg_buf_put_u32(rd, exp) != SIGNET_OK ||
	    sg_buf_put_u32(rd, inc) != SIGNET_OK ||
	    sg_buf_put_u16(rd, (uint16_t)tag) != SIGNET_OK ||
	    sg_buf_append(rd, signer.wire, signer.len) != SIGNET_OK)
		return false;
	return take_base64(c, rd) && take_tail(c);
}

static bool nsec_rdata(struct cursor *c, sg_buf *rd)
{
	dns_name next;
	uint16_t types[FAST_TYPES_MAX];
	size_t n;
	if (!take_name(c, &next) || !take_types(c, 1, types, &n))
		return false;
	return dns_nsec_rdata(&next, types, n, rd) == SIGNET_OK;
}

static bool nsec3_rdata(struct cursor *c, sg_buf *rd)
{
	dns_nsec3_params p;
	memset(&p, 0, sizeof(p));
	uint32_t alg, flags, iter;
	if (!take_uint(c, 3, 255, &alg) || !take_sep(c) || !take_uint(c, 3, 255, &flags) ||
	    !take_sep(c) || !take_uint(c, 5, 65535, &iter) || !take_sep(c))
		return false;
	p.algorithm = (uint8_t)alg;
	p.flags = (uint8_t)flags;
	p.iterations = (uint16_t)iter;
	size_t n = field_len(c);
	if (n == 1 && c->p[0] == '-') {
		p.salt_len = 0;
	} else {
		if (n == 0 || n % 2 != 0 || n / 2 > sizeof(p.salt))
			return false;
		for (size_t i = 0; i < n; i += 2) {
			int hi = hex_value(c->p[i]), lo = hex_value(c->p[i + 1]);
			if (hi < 0 || lo < 0)
				return false;
			p.salt[i / 2] = (uint8_t)(hi << 4 | lo);
		}
		p.salt_len = (uint8_t)(n / 2);
	}
	c->p += n;
	if (!take_sep(c))
		return false;
	/* SHA-1's 20 octets in lower-case base32hex: 32 characters. */
	n = field_len(c);
	uint8_t hash[DNS_NSEC3_HASH_MAX];
	size_t hlen = 0;
	if (n != 32)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!is_digit(c->p[i]) && !(c->p[i] >= 'a' && c->p[i] <= 'v'))
			return false;
	if (dns_base32hex_decode(c->p, n, hash, sizeof(hash), &hlen) != SIGNET_OK)
		return false;
	c->p += n;
	uint16_t types[FAST_TYPES_MAX];
	size_t nt;
	if (!take_types(c, 0, types, &nt))
		return false;
	return dns_nsec3_rdata(&p, hash, hlen, types, nt, rd) == SIGNET_OK;
}

/* A or AAAA: inet_pton, as ldns itself reads them. */
static bool addr_rdata(struct cursor *c, int af, sg_buf *rd)
{
	size_t n = field_len(c);
	char buf[64];
	uint8_t a[16];
	if (n == 0 || n >= sizeof(buf))
		return false;
	/* inet_pton stops at a NUL that the line may hold (found by
	 * fuzz_zonetext): only the address's own characters. */
	for (size_t i = 0; i < n; i++)
		if (!is_digit(c->p[i]) && c->p[i] != '.' && c->p[i] != ':' &&
		    hex_value(c->p[i]) < 0)
			return false;
	memcpy(buf, c->p, n);
	buf[n] = '\0';
	if (inet_pton(af, buf, a) != 1)
		return false;
	c->p += n;
	return take_tail(c) && sg_buf_append(rd, a, af == AF_INET ? 4 : 16) == SIGNET_OK;
}

signet_err dns_rr_from_text_fast(const char *line, size_t len, dns_name *owner,
				 uint16_t *type, uint32_t *ttl, sg_buf *rdata)
{
	if (line == NULL || owner == NULL || type == NULL || ttl == NULL || rdata == NULL)
		return SIGNET_EINVAL;
	struct cursor c = {line, line + len};
	dns_name o;
	uint32_t t;
	uint16_t ty;
	if (!take_name(&c, &o) || !take_sep(&c) || !take_uint(&c, 9, 999999999, &t) ||
	    !take_sep(&c) || field_len(&c) != 2 || memcmp(c.p, "IN", 2) != 0)
		return SIGNET_ENOTFOUND;
	c.p += 2;
	if (!take_sep(&c) || !take_type(&c, &ty) || !take_sep(&c))
		return SIGNET_ENOTFOUND;
	size_t mark = rdata->len;
	bool ok;
	switch (ty) {
	case DNS_T_A: ok = addr_rdata(&c, AF_INET, rdata); break;
	case DNS_T_AAAA: ok = addr_rdata(&c, AF_INET6, rdata); break;
	case DNS_T_RRSIG: ok = rrsig_rdata(&c, rdata); break;
	case DNS_T_NSEC: ok = nsec_rdata(&c, rdata); break;
	case DNS_T_NSEC3: ok = nsec3_rdata(&c, rdata); break;
	default: ok = false; break;
	}
	if (ok && (rdata->len - mark > DNS_RDATA_MAX ||
		   dns_rdata_check(ty, rdata->data + mark, rdata->len - mark) != SIGNET_OK))
		ok = false;
	if (!ok) {
		rdata->len = mark;
		return SIGNET_ENOTFOUND;
	}
	*owner = o;
	*type = ty;
	*ttl = t;
	return SIGNET_OK;
}
