/* zonefast.c -- a reader, without ldns, for plain RR lines: those signet writes and those of simple zone files. */
#include <arpa/inet.h>
#include <string.h>

#include "dnssec/dnssec.h"
#include "dnssec/internal.h"

/* Types listed in one NSEC or NSEC3 line that this reader takes. */
#define FAST_TYPES_MAX 64

/* The lines this reader takes: an owner of letters, digits, '-', '_' and
 * '*' only, absolute, or relative to the context's origin, or "@"; a decimal
 * TTL (or none, when the context has a default); class IN (or none, in a
 * context); one of the types below with its RDATA in a plain form ldns
 * reads (and signet's writers print), fields separated by blanks, nothing
 * after. Anything else, including every escape, comment, parenthesis, blank
 * owner and unit in a TTL, is the caller's to give to ldns: so this reader
 * never needs to be right about a form it was not made for, only to agree
 * with ldns on the ones it takes (fuzz_zonetext checks that). */

struct cursor {
	const char *p, *end;
	const dns_name *origin; /* for relative names and "@"; NULL: none */
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

/* A decimal of at most maxdigits digits and at most max, then a blank or
 * the end. */
static bool take_uint(struct cursor *c, unsigned maxdigits, uint32_t max, uint32_t *out)
{
	const char *q = c->p;
	uint64_t v = 0;
	while (q < c->end && is_digit(*q)) {
		if ((size_t)(q - c->p) == maxdigits)
			return false;
		v = v * 10 + (uint64_t)(*q - '0');
		q++;
	}
	if (q == c->p || (q < c->end && !is_blank(*q)) || v > max)
		return false;
	c->p = q;
	*out = (uint32_t)v;
	return true;
}

/* Octets of a name in this reader's form: letters, digits, '-', '_', '*'
 * (NAME_CH), the dot (NAME_DOT); a blank ends the field (NAME_END); every
 * other octet (0) sends the line to ldns. */
enum { NAME_CH = 1, NAME_DOT = 2, NAME_END = 3 };
static const uint8_t name_class[256] = {
	[' '] = NAME_END, ['\t'] = NAME_END, ['.'] = NAME_DOT, ['-'] = NAME_CH, ['_'] = NAME_CH,
	['*'] = NAME_CH,  ['0'] = NAME_CH,   ['1'] = NAME_CH,  ['2'] = NAME_CH, ['3'] = NAME_CH,
	['4'] = NAME_CH,  ['5'] = NAME_CH,   ['6'] = NAME_CH,  ['7'] = NAME_CH, ['8'] = NAME_CH,
	['9'] = NAME_CH,  ['a'] = NAME_CH,   ['b'] = NAME_CH,  ['c'] = NAME_CH, ['d'] = NAME_CH,
	['e'] = NAME_CH,  ['f'] = NAME_CH,   ['g'] = NAME_CH,  ['h'] = NAME_CH, ['i'] = NAME_CH,
	['j'] = NAME_CH,  ['k'] = NAME_CH,   ['l'] = NAME_CH,  ['m'] = NAME_CH, ['n'] = NAME_CH,
	['o'] = NAME_CH,  ['p'] = NAME_CH,   ['q'] = NAME_CH,  ['r'] = NAME_CH, ['s'] = NAME_CH,
	['t'] = NAME_CH,  ['u'] = NAME_CH,   ['v'] = NAME_CH,  ['w'] = NAME_CH, ['x'] = NAME_CH,
	['y'] = NAME_CH,  ['z'] = NAME_CH,   ['A'] = NAME_CH,  ['B'] = NAME_CH, ['C'] = NAME_CH,
	['D'] = NAME_CH,  ['E'] = NAME_CH,   ['F'] = NAME_CH,  ['G'] = NAME_CH, ['H'] = NAME_CH,
	['I'] = NAME_CH,  ['J'] = NAME_CH,   ['K'] = NAME_CH,  ['L'] = NAME_CH, ['M'] = NAME_CH,
	['N'] = NAME_CH,  ['O'] = NAME_CH,   ['P'] = NAME_CH,  ['Q'] = NAME_CH, ['R'] = NAME_CH,
	['S'] = NAME_CH,  ['T'] = NAME_CH,   ['U'] = NAME_CH,  ['V'] = NAME_CH, ['W'] = NAME_CH,
	['X'] = NAME_CH,  ['Y'] = NAME_CH,   ['Z'] = NAME_CH,
};

/* A name without escapes, as wire form in out: absolute, or, with an
 * origin, "@" or relative to it (as ldns, which appends the origin). One
 * pass: each label is copied as it is checked, its length octet filled in
 * at its dot. */
static bool take_name(struct cursor *c, dns_name *out)
{
	const char *s = c->p, *end = c->end;
	if (s == end)
		return false;
	if (*s == '@' && (s + 1 == end || is_blank(s[1]))) {
		if (c->origin == NULL)
			return false;
		*out = *c->origin;
		c->p += 1;
		return true;
	}
	if (*s == '.' && (s + 1 == end || is_blank(s[1]))) {
		out->len = 1;
		out->wire[0] = 0;
		c->p += 1;
		return true;
	}
	size_t lenpos = 0, pos = 1; /* the label's length octet; the next octet */
	const char *q = s;
	bool absolute = false;
	for (; q < end; q++) {
		unsigned cls = name_class[(unsigned char)*q];
		if (cls == NAME_CH) {
			if (pos >= DNS_NAME_MAX - 1)
				return false;
			out->wire[pos++] = (uint8_t)*q;
			continue;
		}
		if (cls != NAME_DOT)
			break;
		size_t l = pos - lenpos - 1;
		if (l == 0 || l > DNS_LABEL_MAX)
			return false;
		out->wire[lenpos] = (uint8_t)l;
		lenpos = pos++;
		if (q + 1 == end || name_class[(unsigned char)q[1]] == NAME_END) {
			absolute = true;
			q++;
			break;
		}
	}
	if (q < end && name_class[(unsigned char)*q] != NAME_END)
		return false;
	if (absolute) {
		out->wire[lenpos] = 0;
		out->len = (uint8_t)pos;
	} else {
		size_t l = pos - lenpos - 1;
		if (l == 0 || l > DNS_LABEL_MAX || c->origin == NULL ||
		    lenpos + 1 + l + c->origin->len > DNS_NAME_MAX)
			return false;
		out->wire[lenpos] = (uint8_t)l;
		memcpy(out->wire + pos, c->origin->wire, c->origin->len);
		out->len = (uint8_t)(pos + c->origin->len);
	}
	c->p = q;
	return true;
}

/* Mnemonics of the types a zone commonly lists (tests check every number
 * against ldns); others send the line to ldns. Upper case only, although
 * ldns takes any case: the mixed ones are rare enough to leave to it. */
static const struct {
	char name[11];
	uint8_t len;
	uint16_t type;
} type_names[] = {
	/* The most frequent in a signed zone first: the search is linear. */
	{"A", 1, 1},       {"RRSIG", 5, 46},       {"NSEC", 4, 47},        {"AAAA", 4, 28},
	{"NSEC3", 5, 50},  {"NS", 2, 2},           {"MX", 2, 15},          {"TXT", 3, 16},
	{"SRV", 3, 33},    {"DS", 2, 43},          {"CNAME", 5, 5},        {"SOA", 3, 6},
	{"DNSKEY", 6, 48}, {"PTR", 3, 12},         {"HINFO", 5, 13},       {"RP", 2, 17},
	{"AFSDB", 5, 18},  {"LOC", 3, 29},         {"NAPTR", 5, 35},       {"KX", 2, 36},
	{"CERT", 4, 37},   {"DNAME", 5, 39},       {"SSHFP", 5, 44},       {"IPSECKEY", 8, 45},
	{"DHCID", 5, 49},  {"NSEC3PARAM", 10, 51}, {"TLSA", 4, 52},        {"SMIMEA", 6, 53},
	{"CDS", 3, 59},    {"CDNSKEY", 7, 60},     {"OPENPGPKEY", 10, 61}, {"CSYNC", 5, 62},
	{"ZONEMD", 6, 63}, {"SVCB", 4, 64},        {"HTTPS", 5, 65},       {"URI", 3, 256},
	{"CAA", 3, 257},
};

static bool take_type(struct cursor *c, uint16_t *out)
{
	size_t n = field_len(c);
	if (n == 0 || n > 10)
		return false;
	/* The first octet and the length rule out all but one or two. */
	for (size_t i = 0; i < sizeof(type_names) / sizeof(type_names[0]); i++)
		if (type_names[i].len == n && type_names[i].name[0] == c->p[0] &&
		    memcmp(type_names[i].name, c->p, n) == 0) {
			*out = type_names[i].type;
			c->p += n;
			return true;
		}
	return false;
}

/* Seconds since the epoch of a valid UTC calendar time. */
static uint32_t epoch_of(unsigned y, unsigned mo, unsigned d, unsigned h, unsigned mi, unsigned s)
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
	const char *s = c->p;
	if (c->end - s < 14 || (c->end - s > 14 && !is_blank(s[14])))
		return false;
	unsigned dg[14];
	for (unsigned i = 0; i < 14; i++) {
		if (!is_digit(s[i]))
			return false;
		dg[i] = (unsigned)(s[i] - '0');
	}
	const unsigned v[6] = {dg[0] * 1000 + dg[1] * 100 + dg[2] * 10 + dg[3],
			       dg[4] * 10 + dg[5],
			       dg[6] * 10 + dg[7],
			       dg[8] * 10 + dg[9],
			       dg[10] * 10 + dg[11],
			       dg[12] * 10 + dg[13]};
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

/* Base64 digit values plus one; 0 for every other octet. */
static const uint8_t b64_digit[256] = {
	['A'] = 1,  ['B'] = 2,  ['C'] = 3,  ['D'] = 4,  ['E'] = 5,  ['F'] = 6,  ['G'] = 7,
	['H'] = 8,  ['I'] = 9,  ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13, ['N'] = 14,
	['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21,
	['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26, ['a'] = 27, ['b'] = 28,
	['c'] = 29, ['d'] = 30, ['e'] = 31, ['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35,
	['j'] = 36, ['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42,
	['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61, ['9'] = 62, ['+'] = 63,
	['/'] = 64,
};

/* One base64 field in canonical form (padded, unused bits zero), appended;
 * decoded as it is scanned, without measuring the field first. */
static bool take_base64(struct cursor *c, sg_buf *out)
{
	const unsigned char *s = (const unsigned char *)c->p;
	const unsigned char *end = (const unsigned char *)c->end, *q = s;
	if (sg_buf_reserve(out, (size_t)(end - s) / 4 * 3) != SIGNET_OK)
		return false;
	uint8_t *o = out->data + out->len;
	/* Quads of four digits... */
	while (end - q >= 4) {
		unsigned v0 = b64_digit[q[0]], v1 = b64_digit[q[1]], v2 = b64_digit[q[2]],
			 v3 = b64_digit[q[3]];
		if (v0 == 0 || v1 == 0 || v2 == 0 || v3 == 0)
			break;
		uint32_t acc = (v0 - 1) << 18 | (v1 - 1) << 12 | (v2 - 1) << 6 | (v3 - 1);
		*o++ = (uint8_t)(acc >> 16);
		*o++ = (uint8_t)(acc >> 8);
		*o++ = (uint8_t)acc;
		q += 4;
	}
	/* ...then perhaps one padded quad, whose unused bits are zero. */
	if (end - q >= 4 && q[3] == '=') {
		unsigned v0 = b64_digit[q[0]], v1 = b64_digit[q[1]];
		if (v0 == 0 || v1 == 0)
			return false;
		uint32_t acc = (v0 - 1) << 18 | (v1 - 1) << 12;
		if (q[2] == '=') {
			if (acc & 0xffff)
				return false;
			*o++ = (uint8_t)(acc >> 16);
		} else {
			unsigned v2 = b64_digit[q[2]];
			if (v2 == 0)
				return false;
			acc |= (v2 - 1) << 6;
			if (acc & 0xff)
				return false;
			*o++ = (uint8_t)(acc >> 16);
			*o++ = (uint8_t)(acc >> 8);
		}
		q += 4;
	}
	if (q == s || (q != end && !is_blank((char)*q)))
		return false;
	out->len = (size_t)(o - out->data);
	c->p = (const char *)q;
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

/* Types to the end of the line (at least min, at most FAST_TYPES_MAX of
 * them), as the type bitmap of RFC 4034 §4.1.2 appended to rd. Every type
 * this reader knows is below 512: two windows at most. */
static bool take_bitmap(struct cursor *c, size_t min, sg_buf *rd)
{
	uint8_t bits[2][32];
	size_t n = 0;
	memset(bits, 0, sizeof(bits));
	while (!at_end(c)) {
		if (!take_sep(c))
			break; /* trailing blanks */
		uint16_t t;
		if (n == FAST_TYPES_MAX || !take_type(c, &t) || t >= 512)
			return false;
		bits[t >> 8][(t & 0xff) >> 3] |= (uint8_t)(0x80 >> (t & 7));
		n++;
	}
	if (n < min || !take_tail(c))
		return false;
	for (unsigned w = 0; w < 2; w++) {
		unsigned len = 32;
		while (len > 0 && bits[w][len - 1] == 0)
			len--;
		if (len == 0)
			continue;
		if (sg_buf_put_u8(rd, (uint8_t)w) != SIGNET_OK ||
		    sg_buf_put_u8(rd, (uint8_t)len) != SIGNET_OK ||
		    sg_buf_append(rd, bits[w], len) != SIGNET_OK)
			return false;
	}
	return true;
}

static bool rrsig_rdata(struct cursor *c, sg_buf *rd)
{
	uint16_t covered;
	uint32_t alg, labels, ottl, exp, inc, tag;
	dns_name signer;
	if (!take_type(c, &covered) || !take_sep(c) || !take_uint(c, 3, 255, &alg) ||
	    !take_sep(c) || !take_uint(c, 3, 255, &labels) || !take_sep(c) ||
	    !take_uint(c, 9, 999999999, &ottl) || !take_sep(c) || !take_time(c, &exp) ||
	    !take_sep(c) || !take_time(c, &inc) || !take_sep(c) || !take_uint(c, 5, 65535, &tag) ||
	    !take_sep(c) || !take_name(c, &signer) || !take_sep(c))
		return false;
	/* The fixed fields (RFC 4034 §3.1) in one append. */
	const uint8_t fixed[18] = {
		(uint8_t)(covered >> 8),
		(uint8_t)covered,
		(uint8_t)alg,
		(uint8_t)labels,
		(uint8_t)(ottl >> 24),
		(uint8_t)(ottl >> 16),
		(uint8_t)(ottl >> 8),
		(uint8_t)ottl,
		(uint8_t)(exp >> 24),
		(uint8_t)(exp >> 16),
		(uint8_t)(exp >> 8),
		(uint8_t)exp,
		(uint8_t)(inc >> 24),
		(uint8_t)(inc >> 16),
		(uint8_t)(inc >> 8),
		(uint8_t)inc,
		(uint8_t)(tag >> 8),
		(uint8_t)tag,
	};
	if (sg_buf_append(rd, fixed, sizeof(fixed)) != SIGNET_OK ||
	    sg_buf_append(rd, signer.wire, signer.len) != SIGNET_OK)
		return false;
	return take_base64(c, rd) && take_tail(c);
}

static bool nsec_rdata(struct cursor *c, sg_buf *rd)
{
	dns_name next;
	return take_name(c, &next) && sg_buf_append(rd, next.wire, next.len) == SIGNET_OK &&
	       take_bitmap(c, 1, rd);
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
	return sg_buf_put_u8(rd, p.algorithm) == SIGNET_OK &&
	       sg_buf_put_u8(rd, p.flags) == SIGNET_OK &&
	       sg_buf_put_u16(rd, p.iterations) == SIGNET_OK &&
	       sg_buf_put_u8(rd, p.salt_len) == SIGNET_OK &&
	       sg_buf_append(rd, p.salt, p.salt_len) == SIGNET_OK &&
	       sg_buf_put_u8(rd, (uint8_t)hlen) == SIGNET_OK &&
	       sg_buf_append(rd, hash, hlen) == SIGNET_OK && take_bitmap(c, 0, rd);
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

/* Names only (NS, CNAME, PTR, DNAME): one name. */
static bool name_rdata(struct cursor *c, sg_buf *rd)
{
	dns_name n;
	return take_name(c, &n) && take_tail(c) && sg_buf_append(rd, n.wire, n.len) == SIGNET_OK;
}

/* A 16-bit decimal and its separator, in network order: ldns reads it with
 * strtol and keeps the low bits, so only plain values in range are ours. */
static bool take_u16_sep(struct cursor *c, sg_buf *rd)
{
	uint32_t v;
	return take_uint(c, 5, 65535, &v) && take_sep(c) &&
	       sg_buf_put_u16(rd, (uint16_t)v) == SIGNET_OK;
}

static bool take_u8_sep(struct cursor *c, sg_buf *rd)
{
	uint32_t v;
	return take_uint(c, 3, 255, &v) && take_sep(c) &&
	       sg_buf_put_u8(rd, (uint8_t)v) == SIGNET_OK;
}

static bool mx_rdata(struct cursor *c, sg_buf *rd)
{
	return take_u16_sep(c, rd) && name_rdata(c, rd);
}

static bool srv_rdata(struct cursor *c, sg_buf *rd)
{
	return take_u16_sep(c, rd) && take_u16_sep(c, rd) && take_u16_sep(c, rd) &&
	       name_rdata(c, rd);
}

static bool soa_rdata(struct cursor *c, sg_buf *rd)
{
	dns_name mname, rname;
	uint32_t serial, t[4];
	if (!take_name(c, &mname) || !take_sep(c) || !take_name(c, &rname) || !take_sep(c) ||
	    !take_uint(c, 10, UINT32_MAX, &serial))
		return false;
	/* The timers are periods to ldns: plain numbers only, as TTLs. */
	for (size_t i = 0; i < 4; i++)
		if (!take_sep(c) || !take_uint(c, 9, 999999999, &t[i]))
			return false;
	if (!take_tail(c) || sg_buf_append(rd, mname.wire, mname.len) != SIGNET_OK ||
	    sg_buf_append(rd, rname.wire, rname.len) != SIGNET_OK ||
	    sg_buf_put_u32(rd, serial) != SIGNET_OK)
		return false;
	for (size_t i = 0; i < 4; i++)
		if (sg_buf_put_u32(rd, t[i]) != SIGNET_OK)
			return false;
	return true;
}

/* One field of hex digits in pairs, the last of the line. */
static bool hex_rdata(struct cursor *c, sg_buf *rd)
{
	size_t n = field_len(c);
	if (n == 0 || n % 2 != 0 || sg_buf_reserve(rd, n / 2) != SIGNET_OK)
		return false;
	uint8_t *o = rd->data + rd->len;
	for (size_t i = 0; i < n; i += 2) {
		int hi = hex_value(c->p[i]), lo = hex_value(c->p[i + 1]);
		if (hi < 0 || lo < 0)
			return false;
		o[i / 2] = (uint8_t)(hi << 4 | lo);
	}
	rd->len += n / 2;
	c->p += n;
	return take_tail(c);
}

/* DS and CDS: key tag, algorithm and digest type as numbers, one hex field. */
static bool ds_rdata(struct cursor *c, sg_buf *rd)
{
	return take_u16_sep(c, rd) && take_u8_sep(c, rd) && take_u8_sep(c, rd) && hex_rdata(c, rd);
}

/* DNSKEY and CDNSKEY: flags, protocol and algorithm as numbers, one base64
 * field. */
static bool dnskey_rdata(struct cursor *c, sg_buf *rd)
{
	return take_u16_sep(c, rd) && take_u8_sep(c, rd) && take_u8_sep(c, rd) &&
	       take_base64(c, rd) && take_tail(c);
}

/* TXT: one or more quoted strings of printable ASCII without escapes,
 * separated by blanks. Quotes, backslashes, parentheses and semicolons
 * inside a string, unquoted strings and strings over 255 octets are ldns's. */
static bool txt_rdata(struct cursor *c, sg_buf *rd)
{
	size_t count = 0;
	while (!at_end(c)) {
		if (count > 0) {
			if (!take_sep(c))
				return take_tail(c);
		}
		if (*c->p != '"')
			return false;
		const char *s = c->p + 1;
		size_t l = 0;
		while (s + l < c->end && s[l] != '"') {
			char ch = s[l];
			if (ch < 0x20 || ch > 0x7e || ch == '\\' || ch == ';' || ch == '(' ||
			    ch == ')')
				return false;
			l++;
		}
		if (s + l == c->end || l > 255)
			return false;
		if (sg_buf_put_u8(rd, (uint8_t)l) != SIGNET_OK ||
		    sg_buf_append(rd, s, l) != SIGNET_OK)
			return false;
		c->p = s + l + 1;
		count++;
		if (!at_end(c) && !is_blank(*c->p))
			return false;
	}
	return count > 0;
}

/* The TTL and class fields, in ldns's order: a TTL (or, with a default,
 * none), then "IN" (which may be left out when the TTL is; as ldns, a token
 * that is no class is the type). */
static bool take_ttl_class(struct cursor *c, uint32_t default_ttl, uint32_t *ttl)
{
	if (is_digit(*c->p)) {
		if (!take_uint(c, 9, 999999999, ttl) || !take_sep(c))
			return false;
	} else {
		if (default_ttl == 0)
			return false;
		*ttl = default_ttl;
	}
	if (field_len(c) == 2 && c->p[0] == 'I' && c->p[1] == 'N') {
		c->p += 2;
		return take_sep(c);
	}
	return default_ttl != 0;
}

signet_err dns_rr_from_text_ctx(const dns_fast_ctx *ctx, const char *line, size_t len,
				dns_name *owner, uint16_t *type, uint32_t *ttl, sg_buf *rdata)
{
	if (ctx == NULL || line == NULL || owner == NULL || type == NULL || ttl == NULL ||
	    rdata == NULL)
		return SIGNET_EINVAL;
	struct cursor c = {line, line + len, ctx->origin};
	dns_name o;
	uint32_t t;
	uint16_t ty;
	if (!take_name(&c, &o) || !take_sep(&c) || !take_ttl_class(&c, ctx->ttl, &t) ||
	    !take_type(&c, &ty) || !take_sep(&c))
		return SIGNET_ENOTFOUND;
	size_t mark = rdata->len;
	bool ok;
	switch (ty) {
	case DNS_T_A:
		ok = addr_rdata(&c, AF_INET, rdata);
		break;
	case DNS_T_AAAA:
		ok = addr_rdata(&c, AF_INET6, rdata);
		break;
	case DNS_T_RRSIG:
		ok = rrsig_rdata(&c, rdata);
		break;
	case DNS_T_NSEC:
		ok = nsec_rdata(&c, rdata);
		break;
	case DNS_T_NSEC3:
		ok = nsec3_rdata(&c, rdata);
		break;
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
	case DNS_T_DNAME:
		ok = name_rdata(&c, rdata);
		break;
	case DNS_T_MX:
		ok = mx_rdata(&c, rdata);
		break;
	case DNS_T_SRV:
		ok = srv_rdata(&c, rdata);
		break;
	case DNS_T_SOA:
		ok = soa_rdata(&c, rdata);
		break;
	case DNS_T_DS:
	case DNS_T_CDS:
		ok = ds_rdata(&c, rdata);
		break;
	case DNS_T_DNSKEY:
	case DNS_T_CDNSKEY:
		ok = dnskey_rdata(&c, rdata);
		break;
	case DNS_T_TXT:
		ok = txt_rdata(&c, rdata);
		break;
	default:
		ok = false;
		break;
	}
	/* The RDATA of the other types is well formed as built; keys and
	 * digests have lengths that dns_rdata_check knows (and that ldns's
	 * reading gets checked against too). */
	bool check = ty == DNS_T_DNSKEY || ty == DNS_T_CDNSKEY || ty == DNS_T_DS || ty == DNS_T_CDS;
	if (ok &&
	    (rdata->len - mark > DNS_RDATA_MAX ||
	     (check && dns_rdata_check(ty, rdata->data + mark, rdata->len - mark) != SIGNET_OK)))
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

signet_err dns_rr_from_text_fast(const char *line, size_t len, dns_name *owner, uint16_t *type,
				 uint32_t *ttl, sg_buf *rdata)
{
	/* No origin and no default TTL: absolute names, a TTL and the class. */
	const dns_fast_ctx ctx = {NULL, 0};
	return dns_rr_from_text_ctx(&ctx, line, len, owner, type, ttl, rdata);
}
