/* zoneprint.c -- RRs and RRsets in presentation form: signet prints the RRs
 * of a signed zone itself (ldns's own text for them, checked octet for octet
 * by the tests) and hands every other type to ldns. */
#include <arpa/inet.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "dnssec/dnssec.h"

static signet_err put_str(sg_buf *out, const char *s)
{
	return sg_buf_append(out, s, strlen(s));
}

static signet_err put_uint(sg_buf *out, uint32_t v)
{
	char buf[16];
	size_t n = sizeof(buf);
	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return sg_buf_append(out, buf + n, sizeof(buf) - n);
}

/* A signature time (RFC 4034 §3.2): YYYYMMDDHHmmSS in UTC, read by serial
 * arithmetic around now (§3.1.5) as ldns prints it; but ldns does not read
 * back a date before 1970 (which serial arithmetic gives for a value more than
 * 68 years old), so such a time is written as the decimal number of seconds,
 * the other form §3.2 allows, which every parser reads to the same value.
 * Returns the length of the text in out. */
static size_t rrsig_time(uint32_t t, time_t now, char out[16])
{
	int64_t abs = (int64_t)now + (int32_t)(t - (uint32_t)now);
	if (abs < 0)
		return (size_t)snprintf(out, 16, "%" PRIu32, t);
	/* The RRSIGs of a zone have their times within a few days: the dates
	 * of the last two days seen (expiration and inception) are kept, per
	 * thread; only the time of day is made for each. */
	static _Thread_local struct {
		int64_t days;
		char date[8];
	} seen[2] = {{-1, {0}}, {-1, {0}}};
	static _Thread_local unsigned next;
	int64_t days = abs / 86400, secs = abs % 86400;
	int k = seen[0].days == days ? 0 : seen[1].days == days ? 1 : -1;
	if (k < 0) {
		/* The calendar date of a day count (days since 1970-01-01), by
		 * the usual shift to years starting on 1 March, so that the leap
		 * day is the last of its year; gmtime_r and strftime cost more
		 * than the rest of the line. */
		int64_t z = days + 719468;      /* days since 0000-03-01 */
		int64_t era = z / 146097;       /* 400-year cycles */
		int64_t doe = z - era * 146097; /* day of the cycle */
		int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
		int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
		int64_t mp = (5 * doy + 2) / 153; /* month from March = 0 */
		int64_t d = doy - (153 * mp + 2) / 5 + 1;
		int64_t m = mp < 10 ? mp + 3 : mp - 9;
		int64_t y = yoe + era * 400 + (m <= 2);
		if (y > 9999)
			return (size_t)snprintf(out, 16, "%" PRIu32, t);
		k = (int)(next++ & 1);
		int64_t v[3] = {y, m, d};
		char *o = seen[k].date;
		for (int f = 0; f < 3; f++) {
			int width = f == 0 ? 4 : 2;
			for (int i = width - 1; i >= 0; i--) {
				o[i] = (char)('0' + v[f] % 10);
				v[f] /= 10;
			}
			o += width;
		}
		seen[k].days = days;
	}
	memcpy(out, seen[k].date, 8);
	int64_t v[3] = {secs / 3600, secs / 60 % 60, secs % 60};
	for (int f = 0; f < 3; f++) {
		out[8 + 2 * f] = (char)('0' + v[f] / 10);
		out[9 + 2 * f] = (char)('0' + v[f] % 10);
	}
	out[14] = '\0';
	return 14;
}

/* RRSIGs are half of a signed zone's RRs and the longest to print; going
 * through ldns (wire to ldns_rr, then a printf per field) was the largest
 * cost of writing a signed zone in the sign-zone profile. Prints what ldns
 * does, except for times ldns cannot read back (above); SIGNET_EPARSE for
 * RDATA that is not an RRSIG's, SIGNET_ENOTFOUND leaves one without
 * signature octets to ldns. */
static signet_err rrsig_to_text(const dns_name *owner, uint16_t rclass, uint32_t ttl,
				const uint8_t *r, size_t len, sg_buf *out)
{
	dns_name signer;
	size_t used = 0;
	if (len < 18 + 1 || dns_name_from_wire(&signer, r + 18, len - 18, &used) != SIGNET_OK)
		return SIGNET_EPARSE;
	if (len - 18 - used == 0)
		return SIGNET_ENOTFOUND; /* no text form reads back; ldns prints one */
	const ldns_rr_descriptor *d = ldns_rr_descript(sg_get_u16(r));
	char covered_buf[16], cls_buf[16];
	const char *covered = covered_buf, *cls = cls_buf;
	if (d != NULL && d->_name != NULL)
		covered = d->_name;
	else
		snprintf(covered_buf, sizeof(covered_buf), "TYPE%u", (unsigned)sg_get_u16(r));
	const ldns_lookup_table *c = ldns_lookup_by_id(ldns_rr_classes, rclass);
	if (c != NULL && c->name != NULL)
		cls = c->name;
	else
		snprintf(cls_buf, sizeof(cls_buf), "CLASS%u", (unsigned)rclass);
	char exp[16], inc[16], on[DNS_NAME_STR_MAX], sn[DNS_NAME_STR_MAX];
	time_t now = time(NULL);
	rrsig_time(sg_get_u32(r + 8), now, exp);
	rrsig_time(sg_get_u32(r + 12), now, inc);
	signet_err err = dns_name_to_str(owner, on, sizeof(on));
	if (err == SIGNET_OK)
		err = dns_name_to_str(&signer, sn, sizeof(sn));
	if (err != SIGNET_OK)
		return err;
	/* Appended field by field: a printf per RRSIG was a third of the cost. */
	const char *text[] = {on,   "\t", NULL, "\t", cls,  "\tRRSIG\t", covered, " ",
			      NULL, " ",  NULL, " ",  NULL, " ",         exp,     " ",
			      inc,  " ",  NULL, " ",  sn,   " "};
	uint32_t num[] = {ttl, r[2], r[3], sg_get_u32(r + 4), sg_get_u16(r + 16)};
	size_t k = 0;
	for (size_t i = 0; i < sizeof(text) / sizeof(text[0]) && err == SIGNET_OK; i++)
		err = text[i] != NULL ? put_str(out, text[i]) : put_uint(out, num[k++]);
	if (err == SIGNET_OK)
		err = sg_base64_encode(r + 18 + used, len - 18 - used, out);
	if (err == SIGNET_OK)
		err = sg_buf_reserve(out, 1);
	if (err == SIGNET_OK)
		out->data[out->len] = '\0';
	return err;
}

/* ---- plain RRs printed without ldns ---- */

/* The printers below write into room the caller reserved (rr_room), through
 * a cursor, and return the cursor past what they wrote, or NULL when the
 * RR is not in a form they print exactly as ldns does; the caller then
 * forgets what was written and asks the general path. Appending field by
 * field through sg_buf calls, and ldns's wire to ldns_rr to printf, were
 * most of the cost of writing a signed zone. */

/* Octets the printers may write for an RR of type with len octets of RDATA,
 * owner, TTL, class and type included: a name prints in at most its wire
 * length plus one, a number in 10, TXT octets in 4 each ("\DDD"), a type
 * bitmap bit in " TYPE65535" (up to 80 per bitmap octet), base64 in 4/3. */
static size_t rr_room(uint16_t type, size_t len)
{
	size_t per = (type == DNS_T_NSEC || type == DNS_T_NSEC3) ? 80 : 4;
	return 2 * DNS_NAME_MAX + 128 + per * len;
}

static char *w_str(char *p, const char *s, size_t n)
{
	memcpy(p, s, n);
	return p + n;
}

static char *w_uint(char *p, uint32_t v)
{
	char buf[10];
	size_t n = sizeof(buf);
	do {
		buf[--n] = (char)('0' + v % 10);
		v /= 10;
	} while (v > 0);
	return w_str(p, buf + n, sizeof(buf) - n);
}

/* Letters, digits, '-', '_' and '*': what ldns prints as it is in a name
 * (by ranges, which the compiler turns into a few compares). */
static bool plain_octet(uint8_t c)
{
	return (uint8_t)((c | 0x20) - 'a') < 26 || (uint8_t)(c - '0') < 10 || c == '-' ||
	       c == '_' || c == '*';
}

/* A name at w (at most len octets, uncompressed) whose octets are all
 * letters, digits, '-', '_' or '*': ldns prints it as its labels and dots,
 * nothing escaped. *used gets its wire length; NULL for any other name. */
static char *w_name(char *p, const uint8_t *w, size_t len, size_t *used)
{
	size_t off = 0;
	char *start = p;
	while (off < len && w[off] != 0) {
		uint8_t l = w[off];
		if (l > 63 || off + 1 + l > len)
			return NULL;
		for (unsigned j = 1; j <= l; j++) {
			uint8_t c = w[off + j];
			if (!plain_octet(c))
				return NULL;
			*p++ = (char)c;
		}
		*p++ = '.';
		off += 1u + l;
	}
	if (off >= len || off + 1 > DNS_NAME_MAX)
		return NULL;
	if (p == start)
		*p++ = '.';
	*used = off + 1;
	return p;
}

/* A type's mnemonic as ldns prints it. */
static char *w_type(char *p, uint16_t type)
{
	/* The types of nearly every line, without a look-up and a strlen;
	 * the spellings are ldns's (the tests compare). */
	switch (type) {
	case DNS_T_A:
		return w_str(p, "A", 1);
	case DNS_T_NS:
		return w_str(p, "NS", 2);
	case DNS_T_CNAME:
		return w_str(p, "CNAME", 5);
	case DNS_T_SOA:
		return w_str(p, "SOA", 3);
	case DNS_T_MX:
		return w_str(p, "MX", 2);
	case DNS_T_TXT:
		return w_str(p, "TXT", 3);
	case DNS_T_AAAA:
		return w_str(p, "AAAA", 4);
	case DNS_T_SRV:
		return w_str(p, "SRV", 3);
	case DNS_T_DS:
		return w_str(p, "DS", 2);
	case DNS_T_RRSIG:
		return w_str(p, "RRSIG", 5);
	case DNS_T_NSEC:
		return w_str(p, "NSEC", 4);
	case DNS_T_DNSKEY:
		return w_str(p, "DNSKEY", 6);
	case DNS_T_NSEC3:
		return w_str(p, "NSEC3", 5);
	default:
		break;
	}
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d != NULL && d->_name != NULL)
		return w_str(p, d->_name, strlen(d->_name));
	return w_uint(w_str(p, "TYPE", 4), type);
}

/* Encoders that append to out sync out->len with the cursor first; the
 * room is reserved, so out->data does not move. */
static char *w_base64(sg_buf *out, char *p, const uint8_t *r, size_t n)
{
	out->len = (size_t)(p - (char *)out->data);
	if (sg_base64_encode(r, n, out) != SIGNET_OK)
		return NULL;
	return (char *)out->data + out->len;
}

static char *w_hex(sg_buf *out, char *p, const uint8_t *r, size_t n)
{
	out->len = (size_t)(p - (char *)out->data);
	if (sg_hex_encode(r, n, out) != SIGNET_OK)
		return NULL;
	return (char *)out->data + out->len;
}

/* " TYPE TYPE ..." of an NSEC/NSEC3 bitmap (RFC 4034 §4.1.2); NULL for a
 * malformed one. */
static char *w_bitmap(char *p, const uint8_t *b, size_t len)
{
	size_t i = 0;
	while (i < len) {
		if (len - i < 2 || b[i + 1] == 0 || b[i + 1] > 32 || len - i - 2 < b[i + 1])
			return NULL;
		unsigned win = b[i], n = b[i + 1];
		for (unsigned k = 0; k < n; k++)
			for (unsigned bit = 0; bit < 8; bit++)
				if (b[i + 2 + k] & (0x80 >> bit)) {
					*p++ = ' ';
					p = w_type(p, (uint16_t)(win * 256 + k * 8 + bit));
				}
		i += 2 + n;
	}
	return p;
}

/* TXT character-strings as ldns prints them: each quoted, '"' and '\'
 * escaped by a backslash, other octets outside printable ASCII but the
 * tab as \DDD; separated by one blank. */
static char *w_txt(char *p, const uint8_t *r, size_t len)
{
	if (len == 0)
		return NULL;
	size_t i = 0;
	while (i < len) {
		size_t n = r[i];
		if (len - i - 1 < n)
			return NULL;
		if (i > 0)
			*p++ = ' ';
		*p++ = '"';
		for (size_t k = i + 1; k <= i + n; k++) {
			uint8_t c = r[k];
			if (c == '"' || c == '\\') {
				*p++ = '\\';
				*p++ = (char)c;
			} else if ((c >= 0x20 && c < 0x7f) || c == '\t') {
				*p++ = (char)c;
			} else {
				*p++ = '\\';
				*p++ = (char)('0' + c / 100);
				*p++ = (char)('0' + c / 10 % 10);
				*p++ = (char)('0' + c % 10);
			}
		}
		*p++ = '"';
		i += 1 + n;
	}
	return p;
}

static char *w_time(char *p, uint32_t t, time_t now)
{
	char text[16];
	return w_str(p, text, rrsig_time(t, now, text));
}

/* RRSIG RDATA (RFC 4034 §3.2) with a plain signer and a signature. */
static char *w_rrsig(sg_buf *out, char *p, const uint8_t *r, size_t len, time_t now)
{
	if (len < 18 + 1)
		return NULL;
	p = w_type(p, sg_get_u16(r));
	*p++ = ' ';
	p = w_uint(p, r[2]);
	*p++ = ' ';
	p = w_uint(p, r[3]);
	*p++ = ' ';
	p = w_uint(p, sg_get_u32(r + 4));
	for (int f = 0; f < 2; f++) {
		*p++ = ' ';
		p = w_time(p, sg_get_u32(r + 8 + 4 * f), now);
	}
	*p++ = ' ';
	p = w_uint(p, sg_get_u16(r + 16));
	*p++ = ' ';
	size_t used = 0;
	p = w_name(p, r + 18, len - 18, &used);
	if (p == NULL || len - 18 - used == 0)
		return NULL; /* no signature: ldns's text for it, see rrsig_to_text */
	*p++ = ' ';
	return w_base64(out, p, r + 18 + used, len - 18 - used);
}

/* The RDATA of the types a signed zone mostly holds, printed as ldns prints
 * them (the tests compare the two octet for octet, for many inputs); NULL
 * for any other type or form. now reads RRSIG times. */
static char *w_rdata(sg_buf *out, char *p, uint16_t type, const uint8_t *r, size_t len, time_t now)
{
	size_t used = 0, u2 = 0;
	switch (type) {
	case DNS_T_A:
		if (len != 4)
			return NULL;
		for (int i = 0; i < 4; i++) {
			if (i > 0)
				*p++ = '.';
			p = w_uint(p, r[i]);
		}
		return p;
	case DNS_T_AAAA: {
		char a[64];
		if (len != 16 || inet_ntop(AF_INET6, r, a, sizeof(a)) == NULL)
			return NULL;
		return w_str(p, a, strlen(a));
	}
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_PTR:
	case DNS_T_DNAME:
		p = w_name(p, r, len, &used);
		return p != NULL && used == len ? p : NULL;
	case DNS_T_MX:
		if (len < 3)
			return NULL;
		p = w_uint(p, sg_get_u16(r));
		*p++ = ' ';
		p = w_name(p, r + 2, len - 2, &used);
		return p != NULL && used == len - 2 ? p : NULL;
	case DNS_T_SRV:
		if (len < 7)
			return NULL;
		for (int i = 0; i < 3; i++) {
			p = w_uint(p, sg_get_u16(r + 2 * i));
			*p++ = ' ';
		}
		p = w_name(p, r + 6, len - 6, &used);
		return p != NULL && used == len - 6 ? p : NULL;
	case DNS_T_SOA:
		p = w_name(p, r, len, &used);
		if (p == NULL)
			return NULL;
		*p++ = ' ';
		p = w_name(p, r + used, len - used, &u2);
		if (p == NULL || len - used - u2 != 20)
			return NULL;
		for (int i = 0; i < 5; i++) {
			*p++ = ' ';
			p = w_uint(p, sg_get_u32(r + used + u2 + 4 * i));
		}
		return p;
	case DNS_T_TXT:
		return w_txt(p, r, len);
	case DNS_T_DS:
	case DNS_T_CDS:
		if (len < 5)
			return NULL;
		p = w_uint(p, sg_get_u16(r));
		*p++ = ' ';
		p = w_uint(p, r[2]);
		*p++ = ' ';
		p = w_uint(p, r[3]);
		*p++ = ' ';
		return w_hex(out, p, r + 4, len - 4);
	case DNS_T_DNSKEY:
	case DNS_T_CDNSKEY:
		if (len < 5)
			return NULL;
		p = w_uint(p, sg_get_u16(r));
		*p++ = ' ';
		p = w_uint(p, r[2]);
		*p++ = ' ';
		p = w_uint(p, r[3]);
		*p++ = ' ';
		return w_base64(out, p, r + 4, len - 4);
	case DNS_T_RRSIG:
		return w_rrsig(out, p, r, len, now);
	case DNS_T_NSEC:
		p = w_name(p, r, len, &used);
		return p != NULL ? w_bitmap(p, r + used, len - used) : NULL;
	case DNS_T_NSEC3: {
		/* alg flags iterations salt-len salt hash-len hash bitmap */
		if (len < 5 || len < 5u + r[4] + 1u)
			return NULL;
		size_t salt = r[4], hl = r[5 + salt];
		/* A hash whose length is not a multiple of 5 octets (real ones
		 * are 20) needs base32 padding, which does not read back to
		 * the same octets: ldns's path below decides. */
		if (len < 6 + salt + hl || hl == 0 || hl > DNS_NSEC3_HASH_MAX || hl % 5 != 0)
			return NULL;
		p = w_uint(p, r[0]);
		*p++ = ' ';
		p = w_uint(p, r[1]);
		*p++ = ' ';
		p = w_uint(p, sg_get_u16(r + 2));
		*p++ = ' ';
		p = salt == 0 ? w_str(p, "-", 1) : w_hex(out, p, r + 5, salt);
		if (p == NULL)
			return NULL;
		/* ldns ends the salt with a blank, then separates fields by one */
		p = w_str(p, "  ", 2);
		if (dns_base32hex_encode(r + 6 + salt, hl, p, DNS_NSEC3_HASH_MAX * 8 / 5 + 2) !=
		    SIGNET_OK)
			return NULL;
		p += strlen(p);
		return w_bitmap(p, r + 6 + salt + hl, len - 6 - salt - hl);
	}
	default:
		return NULL;
	}
}

/* "owner\tTTL\tIN\tTYPE\t" of RRs of class IN whose owner w_name prints,
 * into head (room for DNS_NAME_MAX + 40); 0 for any other. */
static size_t rr_head(const dns_name *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
		      char *head)
{
	size_t used = 0;
	char *p = rclass == DNS_CLASS_IN ? w_name(head, owner->wire, owner->len, &used) : NULL;
	if (p == NULL || used != owner->len)
		return 0;
	*p++ = '\t';
	p = w_uint(p, ttl);
	p = w_str(p, "\tIN\t", 4);
	p = w_type(p, type);
	*p++ = '\t';
	return (size_t)(p - head);
}

/* One line, head then RDATA, appended to out when w_rdata prints the RDATA
 * (then ending in "\n" when nl); SIGNET_ENOTFOUND, nothing appended, when
 * it does not. */
static signet_err fast_line(const char *head, size_t hl, uint16_t type, const uint8_t *r,
			    size_t len, time_t now, bool nl, sg_buf *out)
{
	size_t mark = out->len;
	signet_err err = sg_buf_reserve(out, hl + rr_room(type, len) + 2);
	if (err != SIGNET_OK)
		return err;
	char *p = w_str((char *)out->data + mark, head, hl);
	p = w_rdata(out, p, type, r, len, now);
	if (p == NULL) {
		out->len = mark;
		return SIGNET_ENOTFOUND;
	}
	if (nl)
		*p++ = '\n';
	*p = '\0';
	out->len = (size_t)(p - (char *)out->data);
	return SIGNET_OK;
}

/* Types whose ldns presentation form is known to read back to the same
 * RDATA (checked by the fuzz_rdata target); others are checked per RR. */
static bool text_trusted(uint16_t type)
{
	switch (type) {
	case DNS_T_A:
	case DNS_T_NS:
	case DNS_T_CNAME:
	case DNS_T_SOA:
	case DNS_T_PTR:
	case DNS_T_MX:
	case DNS_T_TXT:
	case DNS_T_AAAA:
	case DNS_T_SRV:
	case DNS_T_DNAME:
	case DNS_T_DS:
	case DNS_T_RRSIG:
	case DNS_T_NSEC:
	case DNS_T_DNSKEY:
	case DNS_T_NSEC3:
	case DNS_T_NSEC3PARAM:
	case DNS_T_CDS:
	case DNS_T_CDNSKEY:
		return true;
	default:
		return false;
	}
}

/* True when text, read by ldns, gives rr's RDATA again octet for octet. */
static bool text_reads_back(const char *text, const ldns_rr *rr)
{
	ldns_rr *back = NULL;
	if (ldns_rr_new_frm_str(&back, text, 0, NULL, NULL) != LDNS_STATUS_OK)
		return false;
	bool same = ldns_rr_rd_count(back) == ldns_rr_rd_count(rr);
	for (size_t i = 0; same && i < ldns_rr_rd_count(rr); i++) {
		const ldns_rdf *a = ldns_rr_rdf(rr, i), *b = ldns_rr_rdf(back, i);
		same = ldns_rdf_size(a) == ldns_rdf_size(b) &&
		       memcmp(ldns_rdf_data(a), ldns_rdf_data(b), ldns_rdf_size(a)) == 0;
	}
	ldns_rr_free(back);
	return same;
}

/* The RFC 3597 §5 generic form: "owner ttl class TYPEn \# len hex". */
static signet_err rr_generic_text(const dns_name *owner, uint16_t type, uint16_t rclass,
				  uint32_t ttl, const uint8_t *rdata, size_t len, sg_buf *out)
{
	char name[DNS_NAME_STR_MAX];
	signet_err err = dns_name_to_str(owner, name, sizeof(name));
	if (err != SIGNET_OK)
		return err;
	char cls[16];
	if (rclass == DNS_CLASS_IN)
		snprintf(cls, sizeof(cls), "IN");
	else
		snprintf(cls, sizeof(cls), "CLASS%u", (unsigned)rclass);
	err = sg_buf_printf(out, "%s\t%u\t%s\tTYPE%u\t\\# %zu", name, (unsigned)ttl, cls,
			    (unsigned)type, len);
	if (err == SIGNET_OK && len > 0)
		err = sg_buf_put_u8(out, ' ');
	if (err == SIGNET_OK)
		err = sg_hex_encode(rdata, len, out);
	return err;
}

/* Whether rdata is an NSEC3 whose hash needs base32 padding in text. */
static bool nsec3_padded_hash(uint16_t type, const uint8_t *r, size_t len)
{
	if (type != DNS_T_NSEC3 || len < 6 || len < 6u + r[4])
		return false;
	return r[5 + r[4]] % 5 != 0;
}

signet_err dns_rr_to_text(const dns_name *owner, uint16_t type, uint16_t rclass, uint32_t ttl,
			  const uint8_t *rdata, size_t len, sg_buf *out)
{
	if (owner == NULL || out == NULL || (rdata == NULL && len > 0))
		return SIGNET_EINVAL;
	if (owner->len == 0 || len > DNS_RDATA_MAX)
		return SIGNET_EINVAL;

	signet_err err;
	char head[DNS_NAME_MAX + 40];
	size_t hl = rr_head(owner, type, rclass, ttl, head);
	if (hl > 0) {
		err = fast_line(head, hl, type, rdata, len, time(NULL), false, out);
		if (err != SIGNET_ENOTFOUND)
			return err;
	}
	if (type == DNS_T_RRSIG) {
		size_t mark = out->len;
		err = rrsig_to_text(owner, rclass, ttl, rdata, len, out);
		if (err != SIGNET_ENOTFOUND) {
			if (err != SIGNET_OK)
				out->len = mark;
			return err;
		}
		out->len = mark;
	}
	/* ldns formats what it reads from the wire, so build the RR's wire form. */
	sg_buf w = SG_BUF_INIT;
	if ((err = sg_buf_append(&w, owner->wire, owner->len)) != SIGNET_OK ||
	    (err = sg_buf_put_u16(&w, type)) != SIGNET_OK ||
	    (err = sg_buf_put_u16(&w, rclass)) != SIGNET_OK ||
	    (err = sg_buf_put_u32(&w, ttl)) != SIGNET_OK ||
	    (err = sg_buf_put_u16(&w, (uint16_t)len)) != SIGNET_OK ||
	    (err = sg_buf_append(&w, rdata, len)) != SIGNET_OK) {
		sg_buf_free(&w);
		return err;
	}
	ldns_rr *rr = NULL;
	size_t pos = 0;
	ldns_status st = ldns_wire2rr(&rr, w.data, w.len, &pos, LDNS_SECTION_ANSWER);
	bool whole = pos == w.len;
	sg_buf_free(&w);
	if (st != LDNS_STATUS_OK || !whole) {
		ldns_rr_free(rr);
		return SIGNET_EPARSE;
	}
	char *s = ldns_rr2str_fmt(ldns_output_format_nocomments, rr);
	if (s != NULL && (!text_trusted(type) || nsec3_padded_hash(type, rdata, len)) &&
	    !text_reads_back(s, rr)) {
		/* ldns's text for this type does not read back to the same RDATA
		 * (WKS, for one): a signed zone written so would not validate, so
		 * write the RFC 3597 form, which every parser reads exactly. */
		free(s);
		ldns_rr_free(rr);
		return rr_generic_text(owner, type, rclass, ttl, rdata, len, out);
	}
	ldns_rr_free(rr);
	if (s == NULL)
		return SIGNET_ENOMEM;
	size_t sl = strlen(s);
	while (sl > 0 && (s[sl - 1] == '\n' || s[sl - 1] == ' ' || s[sl - 1] == '\t'))
		sl--;
	err = sg_buf_append(out, s, sl);
	free(s);
	if (err != SIGNET_OK)
		return err;
	/* Keep the text usable as a C string, as sg_buf_printf does. */
	err = sg_buf_reserve(out, 1);
	if (err == SIGNET_OK)
		out->data[out->len] = '\0';
	return err;
}

signet_err dns_rrset_to_text(const dns_rrset *s, sg_buf *out)
{
	if (s == NULL || out == NULL || (s->count > 0 && s->rr == NULL))
		return SIGNET_EINVAL;
	if (s->count > 0 && s->owner.len == 0)
		return SIGNET_EINVAL;
	/* Owner, TTL, class and type are the same on every line: made once. */
	char head[DNS_NAME_MAX + 40];
	size_t hl = rr_head(&s->owner, s->type, s->rclass, s->ttl, head);
	time_t now = s->type == DNS_T_RRSIG ? time(NULL) : 0;
	for (size_t i = 0; i < s->count; i++) {
		const dns_rdata *rd = &s->rr[i];
		if (rd->len > 0 && rd->data == NULL)
			return SIGNET_EINVAL;
		signet_err err = hl > 0 ? fast_line(head, hl, s->type, rd->data, rd->len, now, true,
						    out)
					: SIGNET_ENOTFOUND;
		if (err == SIGNET_OK)
			continue;
		if (err != SIGNET_ENOTFOUND)
			return err;
		err = dns_rr_to_text(&s->owner, s->type, s->rclass, s->ttl, rd->data, rd->len, out);
		if (err == SIGNET_OK)
			err = sg_buf_reserve(out, 2);
		if (err != SIGNET_OK)
			return err;
		out->data[out->len++] = '\n';
		out->data[out->len] = '\0';
	}
	return SIGNET_OK;
}
