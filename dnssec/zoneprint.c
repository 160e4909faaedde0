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
 * the other form §3.2 allows, which every parser reads to the same value. */
static void rrsig_time(uint32_t t, char out[16])
{
	time_t now = time(NULL);
	int64_t abs = (int64_t)now + (int32_t)(t - (uint32_t)now);
	if (abs < 0) {
		snprintf(out, 16, "%" PRIu32, t);
		return;
	}
	/* The calendar date of a day count (days since 1970-01-01), by the
	 * usual shift to years starting on 1 March, so that the leap day is
	 * the last of its year; gmtime_r and strftime cost more than the rest
	 * of the line. */
	int64_t days = abs / 86400, secs = abs % 86400;
	int64_t z = days + 719468;                 /* days since 0000-03-01 */
	int64_t era = z / 146097;                  /* 400-year cycles */
	int64_t doe = z - era * 146097;            /* day of the cycle */
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;          /* month from March = 0 */
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;
	int64_t y = yoe + era * 400 + (m <= 2);
	if (y > 9999) {
		snprintf(out, 16, "%" PRIu32, t);
		return;
	}
	int64_t v[6] = {y, m, d, secs / 3600, secs / 60 % 60, secs % 60};
	char *o = out;
	for (int f = 0; f < 6; f++) {
		int width = f == 0 ? 4 : 2;
		for (int i = width - 1; i >= 0; i--) {
			o[i] = (char)('0' + v[f] % 10);
			v[f] /= 10;
		}
		o += width;
	}
	*o = '\0';
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
		return SIGNET_ENOTFOUND;  /* no text form reads back; ldns prints one */
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
	rrsig_time(sg_get_u32(r + 8), exp);
	rrsig_time(sg_get_u32(r + 12), inc);
	signet_err err = dns_name_to_str(owner, on, sizeof(on));
	if (err == SIGNET_OK)
		err = dns_name_to_str(&signer, sn, sizeof(sn));
	if (err != SIGNET_OK)
		return err;
	/* Appended field by field: a printf per RRSIG was a third of the cost. */
	const char *text[] = {on, "\t", NULL, "\t", cls, "\tRRSIG\t", covered, " ", NULL, " ",
			      NULL, " ", NULL, " ", exp, " ", inc, " ", NULL, " ", sn, " "};
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

/* Append a name whose octets are all letters, digits, '-', '_' or '*' (the
 * text ldns prints for it is then the labels and dots, nothing escaped);
 * false, nothing appended, for any other name. */
static bool plain_name(const uint8_t *w, size_t len, sg_buf *out)
{
	char buf[DNS_NAME_MAX + 1];
	size_t o = 0, off = 0;
	while (off < len && w[off] != 0) {
		uint8_t l = w[off];
		if (off + 1 + l > len)
			return false;
		for (unsigned j = 1; j <= l; j++) {
			uint8_t c = w[off + j];
			if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			      (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '*'))
				return false;
			buf[o++] = (char)c;
		}
		buf[o++] = '.';
		off += 1u + l;
	}
	if (off >= len)
		return false;
	if (o == 0)
		buf[o++] = '.';
	return sg_buf_append(out, buf, o) == SIGNET_OK;
}

/* A type's mnemonic as ldns prints it. */
static signet_err put_type(sg_buf *out, uint16_t type)
{
	const ldns_rr_descriptor *d = ldns_rr_descript(type);
	if (d != NULL && d->_name != NULL)
		return put_str(out, d->_name);
	signet_err err = put_str(out, "TYPE");
	return err == SIGNET_OK ? put_uint(out, type) : err;
}

/* " TYPE TYPE ..." of an NSEC/NSEC3 bitmap (RFC 4034 §4.1.2); false for a
 * malformed one. */
static bool put_bitmap(const uint8_t *b, size_t len, sg_buf *out)
{
	size_t i = 0;
	while (i < len) {
		if (len - i < 2 || b[i + 1] == 0 || b[i + 1] > 32 || len - i - 2 < b[i + 1])
			return false;
		unsigned win = b[i], n = b[i + 1];
		for (unsigned k = 0; k < n; k++)
			for (unsigned bit = 0; bit < 8; bit++)
				if (b[i + 2 + k] & (0x80 >> bit)) {
					uint16_t t = (uint16_t)(win * 256 + k * 8 + bit);
					if (sg_buf_put_u8(out, ' ') != SIGNET_OK ||
					    put_type(out, t) != SIGNET_OK)
						return false;
				}
		i += 2 + n;
	}
	return true;
}

/* The RDATA of A, AAAA, NSEC and NSEC3, which with RRSIG are nearly all of
 * a signed zone: printed here as ldns prints them (tests compare the two
 * octet for octet), since ldns's wire to ldns_rr to text was most of the
 * cost of writing one. false when the form is not one of these exactly. */
static bool plain_rdata(uint16_t type, const uint8_t *r, size_t len, sg_buf *out)
{
	char a[64];
	switch (type) {
	case DNS_T_A:
	case DNS_T_AAAA:
		if (len != (type == DNS_T_A ? 4u : 16u) ||
		    inet_ntop(type == DNS_T_A ? AF_INET : AF_INET6, r, a, sizeof(a)) == NULL)
			return false;
		return put_str(out, a) == SIGNET_OK;
	case DNS_T_NSEC: {
		dns_name next;
		size_t used = 0;
		if (dns_name_from_wire(&next, r, len, &used) != SIGNET_OK ||
		    !plain_name(next.wire, next.len, out))
			return false;
		return put_bitmap(r + used, len - used, out);
	}
	case DNS_T_NSEC3: {
		/* alg flags iterations salt-len salt hash-len hash bitmap */
		if (len < 5 || len < 5u + r[4] + 1u)
			return false;
		size_t salt = r[4], hl = r[5 + salt];
		if (len < 6 + salt + hl || hl == 0 || hl > DNS_NSEC3_HASH_MAX)
			return false;
		if (put_uint(out, r[0]) != SIGNET_OK || sg_buf_put_u8(out, ' ') != SIGNET_OK ||
		    put_uint(out, r[1]) != SIGNET_OK || sg_buf_put_u8(out, ' ') != SIGNET_OK ||
		    put_uint(out, sg_get_u16(r + 2)) != SIGNET_OK ||
		    sg_buf_put_u8(out, ' ') != SIGNET_OK)
			return false;
		if (salt == 0 ? put_str(out, "-") != SIGNET_OK
			      : sg_hex_encode(r + 5, salt, out) != SIGNET_OK)
			return false;
		/* ldns ends the salt with a blank, then separates fields by one */
		char h[DNS_NSEC3_HASH_MAX * 8 / 5 + 2];
		if (put_str(out, "  ") != SIGNET_OK ||
		    dns_base32hex_encode(r + 6 + salt, hl, h, sizeof(h)) != SIGNET_OK ||
		    put_str(out, h) != SIGNET_OK)
			return false;
		return put_bitmap(r + 6 + salt + hl, len - 6 - salt - hl, out);
	}
	default:
		return false;
	}
}

/* The whole line of an RR plain_rdata prints, with class IN and an owner
 * plain_name takes; SIGNET_ENOTFOUND (nothing appended) for any other. */
static signet_err plain_to_text(const dns_name *owner, uint16_t type, uint16_t rclass,
				uint32_t ttl, const uint8_t *rdata, size_t len, sg_buf *out)
{
	size_t mark = out->len;
	if (rclass == DNS_CLASS_IN && plain_name(owner->wire, owner->len, out) &&
	    sg_buf_put_u8(out, '\t') == SIGNET_OK && put_uint(out, ttl) == SIGNET_OK &&
	    put_str(out, "\tIN\t") == SIGNET_OK && put_type(out, type) == SIGNET_OK &&
	    sg_buf_put_u8(out, '\t') == SIGNET_OK && plain_rdata(type, rdata, len, out) &&
	    sg_buf_reserve(out, 1) == SIGNET_OK) {
		out->data[out->len] = '\0';
		return SIGNET_OK;
	}
	out->len = mark;
	return SIGNET_ENOTFOUND;
}

/* Types whose ldns presentation form is known to read back to the same
 * RDATA (checked by the fuzz_rdata target); others are checked per RR. */
static bool text_trusted(uint16_t type)
{
	switch (type) {
	case DNS_T_A: case DNS_T_NS: case DNS_T_CNAME: case DNS_T_SOA: case DNS_T_PTR:
	case DNS_T_MX: case DNS_T_TXT: case DNS_T_AAAA: case DNS_T_SRV: case DNS_T_DNAME:
	case DNS_T_DS: case DNS_T_RRSIG: case DNS_T_NSEC: case DNS_T_DNSKEY:
	case DNS_T_NSEC3: case DNS_T_NSEC3PARAM: case DNS_T_CDS: case DNS_T_CDNSKEY:
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

signet_err dns_rr_to_text(const dns_name *owner, uint16_t type, uint16_t rclass,
			  uint32_t ttl, const uint8_t *rdata, size_t len, sg_buf *out)
{
	if (owner == NULL || out == NULL || (rdata == NULL && len > 0))
		return SIGNET_EINVAL;
	if (owner->len == 0 || len > DNS_RDATA_MAX)
		return SIGNET_EINVAL;

	signet_err err;
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
	if (plain_to_text(owner, type, rclass, ttl, rdata, len, out) == SIGNET_OK)
		return SIGNET_OK;
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
	if (s != NULL && !text_trusted(type) && !text_reads_back(s, rr)) {
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
	for (size_t i = 0; i < s->count; i++) {
		signet_err err = dns_rr_to_text(&s->owner, s->type, s->rclass, s->ttl,
						s->rr[i].data, s->rr[i].len, out);
		if (err == SIGNET_OK)
			err = sg_buf_reserve(out, 2);
		if (err == SIGNET_OK) {
			out->data[out->len++] = '\n';
			out->data[out->len] = '\0';
		}
		if (err != SIGNET_OK)
			return err;
	}
	return SIGNET_OK;
}
