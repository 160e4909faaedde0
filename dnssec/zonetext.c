/* zonetext.c -- the ldns bridge: zone-file text to RRsets, RRs to and from presentation form. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <ldns/ldns.h>

#include "dnssec/dnssec.h"

/* ldns's TTL for an RR that names none and follows no $TTL. */
#define ZONETEXT_DEFAULT_TTL 3600

static signet_err name_to_rdf(const dns_name *n, ldns_rdf **out)
{
	*out = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, n->len, n->wire);
	return *out != NULL ? SIGNET_OK : SIGNET_ENOMEM;
}

/* Split an ldns RR into our parts; the RDATA is appended to rdata. */
static signet_err rr_from_ldns(const ldns_rr *rr, dns_name *owner, uint16_t *type,
			       uint16_t *rclass, uint32_t *ttl, sg_buf *rdata)
{
	const ldns_rdf *o = ldns_rr_owner(rr);
	if (o == NULL || ldns_rdf_get_type(o) != LDNS_RDF_TYPE_DNAME)
		return SIGNET_EPARSE;
	size_t used = 0;
	signet_err err = dns_name_from_wire(owner, ldns_rdf_data(o), ldns_rdf_size(o), &used);
	if (err != SIGNET_OK)
		return SIGNET_EPARSE;
	if (used != ldns_rdf_size(o))
		return SIGNET_EPARSE;

	ldns_buffer *b = ldns_buffer_new(256);
	if (b == NULL)
		return SIGNET_ENOMEM;
	if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK ||
	    !ldns_buffer_status_ok(b)) {
		ldns_buffer_free(b);
		return SIGNET_EPARSE;
	}
	size_t len = ldns_buffer_position(b);
	if (len > DNS_RDATA_MAX) {
		ldns_buffer_free(b);
		return SIGNET_ERANGE;
	}
	/* ldns reads text into RDATA that our own check refuses (a DNSKEY key
	 * of the wrong length for its algorithm, an NSEC3 hash whose base32
	 * padding it mis-reads): such an RR would pass here and be refused by
	 * every later step, so a keyset that parsed could not be written (found
	 * by fuzz_keyset and fuzz_rdata). Refuse it where the text is read. */
	uint16_t t = (uint16_t)ldns_rr_get_type(rr);
	if (dns_rdata_check(t, ldns_buffer_begin(b), len) != SIGNET_OK) {
		ldns_buffer_free(b);
		return SIGNET_EPARSE;
	}
	err = sg_buf_append(rdata, ldns_buffer_begin(b), len);
	ldns_buffer_free(b);
	if (err != SIGNET_OK)
		return err;
	*type = t;
	*rclass = (uint16_t)ldns_rr_get_class(rr);
	*ttl = ldns_rr_ttl(rr);
	return SIGNET_OK;
}

/* One RR as read, before RRsets are formed. */
struct zrr {
	dns_name owner;
	uint16_t type;
	uint16_t rclass;
	uint32_t ttl;
	uint16_t rdlen;
	uint8_t *rdata;     /* owned */
	size_t seq;         /* position in the text */
};

static int zrr_cmp(const void *pa, const void *pb)
{
	const struct zrr *a = pa, *b = pb;
	int c = dns_name_compare(&a->owner, &b->owner);
	if (c != 0)
		return c;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	if (a->rclass != b->rclass)
		return a->rclass < b->rclass ? -1 : 1;
	size_t m = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	c = m > 0 ? memcmp(a->rdata, b->rdata, m) : 0;
	if (c != 0)
		return c;
	if (a->rdlen != b->rdlen)
		return a->rdlen < b->rdlen ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static bool zrr_same_set(const struct zrr *a, const struct zrr *b)
{
	return a->type == b->type && a->rclass == b->rclass &&
	       dns_name_compare(&a->owner, &b->owner) == 0;
}

static bool zrr_same_rdata(const struct zrr *a, const struct zrr *b)
{
	return a->rdlen == b->rdlen &&
	       (a->rdlen == 0 || memcmp(a->rdata, b->rdata, a->rdlen) == 0);
}

static void zrrs_free(struct zrr *r, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(r[i].rdata);
	free(r);
}

void dns_zone_free(dns_zone *z)
{
	if (z == NULL)
		return;
	for (size_t i = 0; i < z->count; i++)
		dns_rrset_clear(&z->sets[i]);
	free(z->sets);
	memset(z, 0, sizeof(*z));
}

/* Group sorted RRs into RRsets: exact duplicates collapse, the lowest TTL
 * wins (RFC 2181 §5.2) and the owner keeps its first spelling in the text. */
static signet_err zone_group(struct zrr *r, size_t n, dns_zone *z)
{
	size_t nsets = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || !zrr_same_set(&r[i - 1], &r[i]))
			nsets++;
	if (nsets == 0)
		return SIGNET_OK;
	z->sets = calloc(nsets, sizeof(*z->sets));
	if (z->sets == NULL)
		return SIGNET_ENOMEM;
	z->cap = nsets;

	for (size_t i = 0; i < n;) {
		size_t k = 1;
		while (i + k < n && zrr_same_set(&r[i], &r[i + k]))
			k++;
		const struct zrr *first = &r[i];
		uint32_t ttl = r[i].ttl;
		for (size_t j = i + 1; j < i + k; j++) {
			if (r[j].seq < first->seq)
				first = &r[j];
			if (r[j].ttl < ttl)
				ttl = r[j].ttl;
		}
		dns_rrset *s = &z->sets[z->count++];
		dns_rrset_init(s, &first->owner, first->type, first->rclass, ttl);
		for (size_t j = i; j < i + k; j++) {
			if (j > i && zrr_same_rdata(&r[j - 1], &r[j]))
				continue;
			signet_err err = dns_rrset_add(s, r[j].rdata, r[j].rdlen);
			if (err != SIGNET_OK)
				return err;
		}
		i += k;
	}
	return SIGNET_OK;
}

/* Read every RR of the text into *out; directives $TTL and $ORIGIN are
 * ldns's, $INCLUDE is refused because this layer reads no files. */
static signet_err zone_read(FILE *fp, const dns_name *origin, uint32_t default_ttl,
			    size_t max_rrs, struct zrr **out, size_t *nout,
			    unsigned *errline)
{
	ldns_rdf *cur_origin = NULL, *prev = NULL;
	uint32_t ttl = default_ttl;
	int line = 0;
	struct zrr *rrs = NULL;
	size_t n = 0, cap = 0, nsoa = 0;
	sg_buf rd = SG_BUF_INIT;
	signet_err err = name_to_rdf(origin, &cur_origin);

	while (err == SIGNET_OK && !feof(fp)) {
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &cur_origin, &prev, &line);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN) {
			ldns_rr_free(rr);
			continue;
		}
		if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
			err = SIGNET_EUNSUPPORTED;
			break;
		}
		if (st != LDNS_STATUS_OK || rr == NULL) {
			ldns_rr_free(rr);
			err = SIGNET_EPARSE;
			break;
		}
		if (n == max_rrs) {
			ldns_rr_free(rr);
			err = SIGNET_ERANGE;
			break;
		}
		if (n == cap) {
			size_t ncap = cap ? cap * 2 : 256;
			if (ncap > max_rrs)
				ncap = max_rrs;
			if (ncap > SIZE_MAX / sizeof(*rrs)) {
				ldns_rr_free(rr);
				err = SIGNET_ERANGE;
				break;
			}
			struct zrr *nr = realloc(rrs, ncap * sizeof(*nr));
			if (nr == NULL) {
				ldns_rr_free(rr);
				err = SIGNET_ENOMEM;
				break;
			}
			rrs = nr;
			cap = ncap;
		}
		struct zrr *z = &rrs[n];
		memset(z, 0, sizeof(*z));
		sg_buf_reset(&rd);
		err = rr_from_ldns(rr, &z->owner, &z->type, &z->rclass, &z->ttl, &rd);
		ldns_rr_free(rr);
		if (err != SIGNET_OK)
			break;
		if (!dns_name_is_at_or_below(&z->owner, origin)) {
			err = SIGNET_EPARSE;     /* out-of-zone data */
			break;
		}
		if (z->rclass != DNS_CLASS_IN) {
			err = SIGNET_EUNSUPPORTED;
			break;
		}
		if (z->type == DNS_T_SOA &&
		    (++nsoa > 1 || !dns_name_equal(&z->owner, origin))) {
			err = SIGNET_EPARSE;
			break;
		}
		if (rd.len > 0) {
			z->rdata = malloc(rd.len);
			if (z->rdata == NULL) {
				err = SIGNET_ENOMEM;
				break;
			}
			memcpy(z->rdata, rd.data, rd.len);
		}
		z->rdlen = (uint16_t)rd.len;
		z->seq = n;
		n++;
	}
	sg_buf_free(&rd);
	ldns_rdf_deep_free(cur_origin);
	ldns_rdf_deep_free(prev);
	if (err == SIGNET_OK && nsoa == 0) {
		err = SIGNET_EPARSE;
		line = 0;
	}
	if (err != SIGNET_OK) {
		if (errline != NULL)
			*errline = line > 0 ? (unsigned)line : 0;
		zrrs_free(rrs, n);
		return err;
	}
	*out = rrs;
	*nout = n;
	return SIGNET_OK;
}

/* The directive starting at p (after '$'): SIGNET_OK for those ldns handles,
 * SIGNET_EUNSUPPORTED for $INCLUDE (it reads a file, and this layer does no
 * I/O) and the like, SIGNET_EPARSE for the unknown ones ldns lets pass. */
static signet_err check_directive(const char *p, size_t n)
{
	size_t w = 0;
	while (w < n && p[w] != ' ' && p[w] != '\t' && p[w] != '\n' && p[w] != ';')
		w++;
	if ((w == 3 && strncasecmp(p, "TTL", 3) == 0) ||
	    (w == 6 && strncasecmp(p, "ORIGIN", 6) == 0))
		return SIGNET_OK;
	if ((w == 7 && strncasecmp(p, "INCLUDE", 7) == 0) ||
	    (w == 8 && strncasecmp(p, "GENERATE", 8) == 0))
		return SIGNET_EUNSUPPORTED;
	return SIGNET_EPARSE;
}

/* ldns stops at a NUL, quietly closes a quote or parenthesis left open at the
 * end of the text and skips unknown directives; refuse those here, with the
 * line at fault in *line. */
static signet_err check_structure(const char *text, size_t len, unsigned *line)
{
	unsigned open_line = 0;
	bool quoted = false, comment = false, bol = true;
	int depth = 0;
	*line = 1;
	for (size_t i = 0; i < len; i++) {
		char c = text[i];
		if (c == '\0')
			return SIGNET_EPARSE;
		if (c == '\n') {
			if (quoted)
				return SIGNET_EPARSE;    /* a string does not span lines */
			comment = false;
			bol = true;
			(*line)++;
			continue;
		}
		if (bol && depth == 0 && c == '$') {
			signet_err err = check_directive(text + i + 1, len - i - 1);
			if (err != SIGNET_OK)
				return err;
		}
		if (c != ' ' && c != '\t')
			bol = false;
		if (comment)
			continue;
		if (c == '\\' && i + 1 < len && text[i + 1] != '\n') {
			i++;
			continue;
		}
		if (c == '"') {
			quoted = !quoted;
		} else if (!quoted && c == ';') {
			comment = true;
		} else if (!quoted && c == '(') {
			if (depth++ == 0)
				open_line = *line;
		} else if (!quoted && c == ')') {
			if (--depth < 0)
				return SIGNET_EPARSE;
		}
	}
	if (quoted)
		return SIGNET_EPARSE;
	if (depth > 0) {
		*line = open_line;
		return SIGNET_EPARSE;
	}
	*line = 0;
	return SIGNET_OK;
}

signet_err dns_zone_parse(const char *text, size_t len, const dns_name *origin,
			  uint32_t default_ttl, size_t max_rrs, dns_zone *out,
			  unsigned *errline)
{
	if (errline != NULL)
		*errline = 0;
	if ((text == NULL && len > 0) || origin == NULL || out == NULL || max_rrs == 0)
		return SIGNET_EINVAL;
	if (origin->len == 0)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));

	unsigned bad = 0;
	signet_err err = check_structure(text, len, &bad);
	if (err != SIGNET_OK) {
		if (errline != NULL)
			*errline = bad;
		return err;
	}

	/* A private copy with a final newline: fmemopen wants a writable
	 * pointer, and ldns counts the last line only when it ends. */
	size_t clen = len;
	char *copy = malloc(len + 1);
	if (copy == NULL)
		return SIGNET_ENOMEM;
	if (len > 0)
		memcpy(copy, text, len);
	if (len == 0 || text[len - 1] != '\n')
		copy[clen++] = '\n';
	FILE *fp = fmemopen(copy, clen, "r");
	if (fp == NULL) {
		free(copy);
		return SIGNET_ENOMEM;
	}
	struct zrr *rrs = NULL;
	size_t n = 0;
	err = zone_read(fp, origin, default_ttl, max_rrs, &rrs, &n, errline);
	fclose(fp);
	free(copy);
	if (err != SIGNET_OK)
		return err;

	qsort(rrs, n, sizeof(*rrs), zrr_cmp);
	out->apex = *origin;
	err = zone_group(rrs, n, out);
	zrrs_free(rrs, n);
	if (err != SIGNET_OK)
		dns_zone_free(out);
	return err;
}

/* A signature time (RFC 4034 §3.2): YYYYMMDDHHmmSS in UTC, read by serial
 * arithmetic around now (§3.1.5) as ldns prints it; but ldns does not read
 * back a date before 1970 (which serial arithmetic gives for a value more than
 * 68 years old), so such a time is written as the decimal number of seconds,
 * the other form §3.2 allows, which every parser reads to the same value. */
static void rrsig_time(uint32_t t, char out[16])
{
	time_t now = time(NULL);
	time_t abs = now + (int32_t)(t - (uint32_t)now);
	struct tm tm;
	if (abs < 0 || gmtime_r(&abs, &tm) == NULL ||
	    strftime(out, 16, "%Y%m%d%H%M%S", &tm) != 14)
		snprintf(out, 16, "%" PRIu32, t);
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
	char covered[16], cls[16];
	if (d != NULL && d->_name != NULL)
		snprintf(covered, sizeof(covered), "%s", d->_name);
	else
		snprintf(covered, sizeof(covered), "TYPE%u", (unsigned)sg_get_u16(r));
	const ldns_lookup_table *c = ldns_lookup_by_id(ldns_rr_classes, rclass);
	if (c != NULL && c->name != NULL)
		snprintf(cls, sizeof(cls), "%s", c->name);
	else
		snprintf(cls, sizeof(cls), "CLASS%u", (unsigned)rclass);
	char exp[16], inc[16], on[DNS_NAME_STR_MAX], sn[DNS_NAME_STR_MAX];
	rrsig_time(sg_get_u32(r + 8), exp);
	rrsig_time(sg_get_u32(r + 12), inc);
	signet_err err = dns_name_to_str(owner, on, sizeof(on));
	if (err == SIGNET_OK)
		err = dns_name_to_str(&signer, sn, sizeof(sn));
	if (err != SIGNET_OK)
		return err;
	err = sg_buf_printf(out, "%s\t%u\t%s\tRRSIG\t%s %u %u %u %s %s %u %s ", on, ttl, cls,
			    covered, r[2], r[3], sg_get_u32(r + 4), exp, inc,
			    sg_get_u16(r + 16), sn);
	if (err == SIGNET_OK)
		err = sg_base64_encode(r + 18 + used, len - 18 - used, out);
	if (err == SIGNET_OK)
		err = sg_buf_reserve(out, 1);
	if (err == SIGNET_OK)
		out->data[out->len] = '\0';
	return err;
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
			err = sg_buf_printf(out, "\n");
		if (err != SIGNET_OK)
			return err;
	}
	return SIGNET_OK;
}

signet_err dns_rr_from_text(const char *line, const dns_name *origin,
			    dns_name *owner, uint16_t *type, uint16_t *rclass,
			    uint32_t *ttl, sg_buf *out_rdata)
{
	if (line == NULL || owner == NULL || type == NULL || rclass == NULL ||
	    ttl == NULL || out_rdata == NULL)
		return SIGNET_EINVAL;
	/* Directives change parser state that a single line cannot carry. */
	const char *p = line;
	while (*p == ' ' || *p == '\t')
		p++;
	if (*p == '$' || *p == '\0' || *p == ';')
		return SIGNET_EPARSE;

	ldns_rdf *o = NULL;
	if (origin != NULL) {
		if (origin->len == 0)
			return SIGNET_EINVAL;
		signet_err err = name_to_rdf(origin, &o);
		if (err != SIGNET_OK)
			return err;
	}
	ldns_rr *rr = NULL;
	ldns_status st = ldns_rr_new_frm_str(&rr, line, ZONETEXT_DEFAULT_TTL, o, NULL);
	ldns_rdf_deep_free(o);
	if (st != LDNS_STATUS_OK || rr == NULL) {
		ldns_rr_free(rr);
		return SIGNET_EPARSE;
	}
	dns_name own;
	uint16_t ty = 0, cl = 0;
	uint32_t t = 0;
	size_t mark = out_rdata->len;
	signet_err err = rr_from_ldns(rr, &own, &ty, &cl, &t, out_rdata);
	ldns_rr_free(rr);
	if (err != SIGNET_OK) {
		out_rdata->len = mark;
		return err;
	}
	*owner = own;
	*type = ty;
	*rclass = cl;
	*ttl = t;
	return SIGNET_OK;
}
