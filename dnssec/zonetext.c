/* zonetext.c -- zone-file text to RRsets and RRs to and from presentation form, through ldns save for the plain RRs of a signed zone. */
#include <arpa/inet.h>
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
	const uint8_t *key; /* canonical sort key of owner, see owner_key */
	uint16_t keylen;
};

/* A key whose memcmp order is the canonical order of owner names (RFC 4034
 * §6.1): labels from the right, each lower-cased and ended by 0x00, with
 * octets 0x00 and 0x01 inside a label written as 0x01 0x01 and 0x01 0x02 so
 * that the end of a label sorts before any octet. Sorting a zone compared
 * names label by label hundreds of thousands of times; this is done once per
 * RR. A first 0x00 keeps the root's key from being empty. At most 1 + 2 * 255
 * octets. */
static size_t owner_key(const dns_name *n, uint8_t *out)
{
	uint8_t offs[128];
	unsigned k = 0;
	for (unsigned off = 0; off < n->len && n->wire[off] != 0 && k < 128;
	     off += 1u + n->wire[off])
		offs[k++] = (uint8_t)off;
	size_t o = 0;
	out[o++] = 0;
	while (k-- > 0) {
		const uint8_t *l = &n->wire[offs[k]];
		for (unsigned j = 1; j <= l[0]; j++) {
			uint8_t c = l[j];
			if (c >= 'A' && c <= 'Z')
				c = (uint8_t)(c - 'A' + 'a');
			if (c <= 1) {
				out[o++] = 1;
				c = (uint8_t)(c + 1);
			}
			out[o++] = c;
		}
		out[o++] = 0;
	}
	return o;
}

static int key_cmp(const struct zrr *a, const struct zrr *b)
{
	size_t m = a->keylen < b->keylen ? a->keylen : b->keylen;
	int c = memcmp(a->key, b->key, m);
	if (c != 0)
		return c;
	return (a->keylen > b->keylen) - (a->keylen < b->keylen);
}

static int zrr_cmp(const void *pa, const void *pb)
{
	const struct zrr *a = pa, *b = pb;
	int c = key_cmp(a, b);
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
	return a->type == b->type && a->rclass == b->rclass && key_cmp(a, b) == 0;
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

/* The sort key of every RR's owner, in one allocation *keys (the caller
 * frees it after the RRs). */
static signet_err zrr_keys(struct zrr *rrs, size_t n, uint8_t **keys)
{
	sg_buf b = SG_BUF_INIT;
	uint8_t key[1 + 2 * DNS_NAME_MAX];
	size_t *off = malloc((n ? n : 1) * sizeof(*off));
	if (off == NULL)
		return SIGNET_ENOMEM;
	for (size_t i = 0; i < n; i++) {
		/* RRs of one owner usually follow each other: share the key. */
		if (i > 0 && rrs[i].owner.len == rrs[i - 1].owner.len &&
		    memcmp(rrs[i].owner.wire, rrs[i - 1].owner.wire, rrs[i].owner.len) == 0) {
			off[i] = off[i - 1];
			rrs[i].keylen = rrs[i - 1].keylen;
			continue;
		}
		size_t len = owner_key(&rrs[i].owner, key);
		off[i] = b.len;
		rrs[i].keylen = (uint16_t)len;
		signet_err err = sg_buf_append(&b, key, len);
		if (err != SIGNET_OK) {
			free(off);
			sg_buf_free(&b);
			return err;
		}
	}
	/* Pointers only now: the buffer moved while it grew. */
	for (size_t i = 0; i < n; i++)
		rrs[i].key = b.data + off[i];
	free(off);
	*keys = b.data;
	return SIGNET_OK;
}

/* Newlines in text[from, to). */
static unsigned newlines(const char *text, size_t from, size_t to)
{
	unsigned n = 0;
	for (const char *q = text + from; (q = memchr(q, '\n', (size_t)(text + to - q))) != NULL;
	     q++)
		n++;
	return n;
}

/* Append one RR to *rrs after the checks every RR gets. */
static signet_err zrr_push(struct zrr **rrs, size_t *n, size_t *cap, size_t max_rrs,
			   const dns_name *origin, size_t *nsoa, const dns_name *owner,
			   uint16_t type, uint16_t rclass, uint32_t ttl, const sg_buf *rd)
{
	if (*n == max_rrs)
		return SIGNET_ERANGE;
	if (!dns_name_is_at_or_below(owner, origin))
		return SIGNET_EPARSE;     /* out-of-zone data */
	if (rclass != DNS_CLASS_IN)
		return SIGNET_EUNSUPPORTED;
	if (type == DNS_T_SOA && (++*nsoa > 1 || !dns_name_equal(owner, origin)))
		return SIGNET_EPARSE;
	if (*n == *cap) {
		size_t ncap = *cap ? *cap * 2 : 256;
		if (ncap > max_rrs)
			ncap = max_rrs;
		if (ncap > SIZE_MAX / sizeof(**rrs))
			return SIGNET_ERANGE;
		struct zrr *nr = realloc(*rrs, ncap * sizeof(*nr));
		if (nr == NULL)
			return SIGNET_ENOMEM;
		*rrs = nr;
		*cap = ncap;
	}
	struct zrr *z = &(*rrs)[*n];
	memset(z, 0, sizeof(*z));
	z->owner = *owner;
	z->type = type;
	z->rclass = rclass;
	z->ttl = ttl;
	if (rd->len > 0) {
		z->rdata = malloc(rd->len);
		if (z->rdata == NULL)
			return SIGNET_ENOMEM;
		memcpy(z->rdata, rd->data, rd->len);
	}
	z->rdlen = (uint16_t)rd->len;
	z->seq = *n;
	(*n)++;
	return SIGNET_OK;
}

/* Read every RR of text (len octets ending with a newline; fp reads the
 * same octets) into *out. Plain lines as signet writes them are read by
 * dns_rr_from_text_fast, which a zone signet signed consists of; every
 * other line goes to ldns, positioned at that line, with the owner of the
 * line before as its previous owner. Directives $TTL and $ORIGIN are
 * ldns's, $INCLUDE is refused because this layer reads no files. */
static signet_err zone_read(const char *text, size_t len, FILE *fp, const dns_name *origin,
			    uint32_t default_ttl, size_t max_rrs, struct zrr **out,
			    size_t *nout, unsigned *errline)
{
	ldns_rdf *cur_origin = NULL, *prev = NULL;
	uint32_t ttl = default_ttl;
	int line = 0;
	struct zrr *rrs = NULL;
	size_t n = 0, cap = 0, nsoa = 0;
	sg_buf rd = SG_BUF_INIT;
	signet_err err = name_to_rdf(origin, &cur_origin);
	size_t off = 0;            /* start of the next line */
	long fp_at = 0;            /* where fp stands */
	unsigned nl = 0;           /* newlines before off */
	dns_name last;             /* owner of the last RR read without ldns */
	bool prev_stale = false;   /* prev is older than last */

	while (err == SIGNET_OK && off < len) {
		const char *eol = memchr(text + off, '\n', len - off);
		size_t ll = eol != NULL ? (size_t)(eol - (text + off)) : len - off;
		dns_name owner;
		uint16_t type = 0, rclass = DNS_CLASS_IN;
		uint32_t rttl = 0;
		sg_buf_reset(&rd);
		if (eol != NULL &&
		    dns_rr_from_text_fast(text + off, ll, &owner, &type, &rttl, &rd) == SIGNET_OK) {
			off += ll + 1;
			line = (int)++nl;
			last = owner;
			prev_stale = true;
			err = zrr_push(&rrs, &n, &cap, max_rrs, origin, &nsoa, &owner, type, rclass,
				       rttl, &rd);
			continue;
		}
		if (prev_stale) {
			ldns_rdf_deep_free(prev);
			prev = NULL;
			err = name_to_rdf(&last, &prev);
			prev_stale = false;
			if (err != SIGNET_OK)
				break;
		}
		if ((long)off != fp_at && fseek(fp, (long)off, SEEK_SET) != 0) {
			err = SIGNET_EPARSE;
			break;
		}
		line = (int)nl;
		ldns_rr *rr = NULL;
		ldns_status st = ldns_rr_new_frm_fp_l(&rr, fp, &ttl, &cur_origin, &prev, &line);
		long at = ftell(fp);
		if (at < (long)off || (size_t)at > len) {
			ldns_rr_free(rr);
			err = SIGNET_EPARSE;
			break;
		}
		nl += newlines(text, off, (size_t)at);
		bool moved = (size_t)at > off;
		off = (size_t)at;
		fp_at = at;
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN) {
			ldns_rr_free(rr);
			if (!moved)
				break;     /* the end of the text */
			continue;
		}
		if (st == LDNS_STATUS_SYNTAX_INCLUDE) {
			ldns_rr_free(rr);
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
		err = rr_from_ldns(rr, &owner, &type, &rclass, &rttl, &rd);
		ldns_rr_free(rr);
		if (err == SIGNET_OK)
			err = zrr_push(&rrs, &n, &cap, max_rrs, origin, &nsoa, &owner, type, rclass,
				       rttl, &rd);
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
	/* Within a line, only these octets change the state: skip the rest
	 * without the tests below, which are most of the text. */
	static const bool special[256] = {
		['\0'] = true, ['\n'] = true, ['\\'] = true, ['"'] = true,
		[';'] = true, ['('] = true, [')'] = true,
	};
	for (size_t i = 0; i < len; i++) {
		if (!bol) {
			while (i < len && !special[(unsigned char)text[i]])
				i++;
			if (i == len)
				break;
		}
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
	err = zone_read(copy, clen, fp, origin, default_ttl, max_rrs, &rrs, &n, errline);
	fclose(fp);
	free(copy);
	if (err != SIGNET_OK)
		return err;

	uint8_t *keys = NULL;
	err = zrr_keys(rrs, n, &keys);
	if (err != SIGNET_OK) {
		zrrs_free(rrs, n);
		return err;
	}
	qsort(rrs, n, sizeof(*rrs), zrr_cmp);
	out->apex = *origin;
	err = zone_group(rrs, n, out);
	zrrs_free(rrs, n);
	free(keys);
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
