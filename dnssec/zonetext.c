/* zonetext.c -- zone-file text to RRsets, and one RR from text: signet's own fast reader for the lines it writes, ldns for the rest. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

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
