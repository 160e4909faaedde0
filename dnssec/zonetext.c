/* zonetext.c -- zone-file text to RRsets, and one RR from text: signet's own
 * fast reader for the lines it writes, ldns for the rest. One job in over 800
 * lines: the two readers must take and refuse the same text with the same
 * line (fuzz_zonetext holds them to it), which is easiest to keep true side
 * by side. */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <ldns/ldns.h>

#include "dnssec/dnssec.h"
#include "dnssec/internal.h"

/* ldns's TTL for an RR that names none and follows no $TTL. */
#define ZONETEXT_DEFAULT_TTL 3600

static signet_err name_to_rdf(const dns_name *n, ldns_rdf **out)
{
	*out = ldns_rdf_new_frm_data(LDNS_RDF_TYPE_DNAME, n->len, n->wire);
	return *out != NULL ? SIGNET_OK : SIGNET_ENOMEM;
}

/* Split an ldns RR into our parts; the RDATA is appended to rdata. */
static signet_err rr_from_ldns(const ldns_rr *rr, dns_name *owner, uint16_t *type, uint16_t *rclass,
			       uint32_t *ttl, sg_buf *rdata)
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
	if (ldns_rr_rdata2buffer_wire(b, rr) != LDNS_STATUS_OK || !ldns_buffer_status_ok(b)) {
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

/* One RR as read, before RRsets are formed: 24 octets, since a signed zone
 * has half a million of them. The class is IN (zrr_push refuses others). */
struct zrr {
	uint32_t owner; /* index in zread.owners */
	uint32_t seq;   /* position in the text */
	uint32_t ttl;
	uint16_t type;
	uint16_t rdlen;
	union {
		size_t off;       /* while reading: offset in zread.rdata */
		const uint8_t *p; /* once read: the RDATA itself */
	} rd;
};

/* An owner name as spelled in the text, shared by the RRs that follow each
 * other with it; several may have equal keys (other case, or not next to
 * each other). */
struct zowner {
	size_t off; /* wire form in zread.names */
	size_t key; /* sort key in zread.names, see owner_key */
	uint16_t keylen;
	uint8_t len;   /* octets of the wire form */
	uint32_t rank; /* position of the key among all keys, equal for equal keys */
};

/* What zone_read builds. */
struct zread {
	struct zrr *rrs;
	size_t n, cap;
	struct zowner *owners;
	size_t nowners, owners_cap;
	sg_buf names; /* owners' wire forms and sort keys */
	sg_buf rdata; /* every RR's RDATA, back to back */
	size_t nsoa;  /* SOA RRs seen */
	size_t max_rrs;
	const dns_name *origin; /* the zone's apex */
};

static void zread_free(struct zread *zr)
{
	free(zr->rrs);
	free(zr->owners);
	sg_buf_free(&zr->names);
	sg_buf_free(&zr->rdata);
	memset(zr, 0, sizeof(*zr));
}

/* A key whose memcmp order is the canonical order of owner names (RFC 4034
 * §6.1): labels from the right, each lower-cased and ended by 0x00, with
 * octets 0x00 and 0x01 inside a label written as 0x01 0x01 and 0x01 0x02 so
 * that the end of a label sorts before any octet. Sorting a zone compared
 * names label by label hundreds of thousands of times; this is done once per
 * owner. A first 0x00 keeps the root's key from being empty. At most
 * 1 + 2 * 255 octets. */
static size_t owner_key(const uint8_t *wire, size_t len, uint8_t *out)
{
	uint8_t offs[128];
	unsigned k = 0;
	for (unsigned off = 0; off < len && wire[off] != 0 && k < 128; off += 1u + wire[off])
		offs[k++] = (uint8_t)off;
	size_t o = 0;
	out[o++] = 0;
	while (k-- > 0) {
		const uint8_t *l = &wire[offs[k]];
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

static int key_cmp(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	int c = memcmp(a, b, alen < blen ? alen : blen);
	if (c != 0)
		return c;
	return (alen > blen) - (alen < blen);
}

static int owner_cmp(const struct zread *zr, const struct zowner *a, const struct zowner *b)
{
	return key_cmp(zr->names.data + a->key, a->keylen, zr->names.data + b->key, b->keylen);
}

/* Order within one owner: type, then RDATA as octet strings, then the
 * text's order (which zone_group needs for the first spelling). */
static int zrr_cmp(const void *pa, const void *pb)
{
	const struct zrr *a = pa, *b = pb;
	if (a->type != b->type)
		return a->type < b->type ? -1 : 1;
	size_t m = a->rdlen < b->rdlen ? a->rdlen : b->rdlen;
	int c = m > 0 ? memcmp(a->rd.p, b->rd.p, m) : 0;
	if (c != 0)
		return c;
	if (a->rdlen != b->rdlen)
		return a->rdlen < b->rdlen ? -1 : 1;
	return (a->seq > b->seq) - (a->seq < b->seq);
}

static bool zrr_same_rdata(const struct zrr *a, const struct zrr *b)
{
	return a->rdlen == b->rdlen && (a->rdlen == 0 || memcmp(a->rd.p, b->rd.p, a->rdlen) == 0);
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

static uint32_t zrr_rank(const struct zread *zr, const struct zrr *r)
{
	return zr->owners[r->owner].rank;
}

/* Group sorted RRs into RRsets: exact duplicates collapse, the lowest TTL
 * wins (RFC 2181 §5.2) and the owner keeps its first spelling in the text. */
static signet_err zone_group(const struct zread *zr, dns_zone *z)
{
	const struct zrr *r = zr->rrs;
	size_t n = zr->n, nsets = 0;
	for (size_t i = 0; i < n; i++)
		if (i == 0 || r[i - 1].type != r[i].type ||
		    zrr_rank(zr, &r[i - 1]) != zrr_rank(zr, &r[i]))
			nsets++;
	if (nsets == 0)
		return SIGNET_OK;
	z->sets = calloc(nsets, sizeof(*z->sets));
	if (z->sets == NULL)
		return SIGNET_ENOMEM;
	z->cap = nsets;

	for (size_t i = 0; i < n;) {
		uint32_t rank = zrr_rank(zr, &r[i]);
		size_t k = 1, uniq = 1;
		while (i + k < n && r[i + k].type == r[i].type && zrr_rank(zr, &r[i + k]) == rank) {
			if (!zrr_same_rdata(&r[i + k - 1], &r[i + k]))
				uniq++;
			k++;
		}
		const struct zrr *first = &r[i];
		uint32_t ttl = r[i].ttl;
		for (size_t j = i + 1; j < i + k; j++) {
			if (r[j].seq < first->seq)
				first = &r[j];
			if (r[j].ttl < ttl)
				ttl = r[j].ttl;
		}
		const struct zowner *ow = &zr->owners[first->owner];
		dns_name owner;
		owner.len = ow->len;
		memcpy(owner.wire, zr->names.data + ow->off, ow->len);
		dns_rrset *s = &z->sets[z->count++];
		dns_rrset_init(s, &owner, first->type, DNS_CLASS_IN, ttl);
		/* The set's size is known: one allocation for its array. */
		s->rr = malloc(uniq * sizeof(*s->rr));
		if (s->rr == NULL)
			return SIGNET_ENOMEM;
		s->cap = uniq;
		for (size_t j = i; j < i + k; j++) {
			if (j > i && zrr_same_rdata(&r[j - 1], &r[j]))
				continue;
			signet_err err = dns_rrset_add(s, r[j].rd.p, r[j].rdlen);
			if (err != SIGNET_OK)
				return err;
		}
		i += k;
	}
	return SIGNET_OK;
}

struct owner_ref {
	const uint8_t *key;
	size_t keylen;
	uint32_t index;
};

static int owner_ref_cmp(const void *pa, const void *pb)
{
	const struct owner_ref *a = pa, *b = pb;
	int c = key_cmp(a->key, a->keylen, b->key, b->keylen);
	if (c != 0)
		return c;
	return (a->index > b->index) - (a->index < b->index);
}

/* Sort ref[0, n) by owner_ref_cmp, merging the sorted runs it holds
 * already pairwise until one is left: a zone signet wrote has three (its
 * data, its DNSKEY set, its NSEC chain), which qsort would not notice. */
static signet_err owner_refs_sort(struct owner_ref *ref, size_t n)
{
	if (n < 2)
		return SIGNET_OK;
	size_t *run = malloc((n + 1) * sizeof(*run)); /* where each run starts */
	if (run == NULL)
		return SIGNET_ENOMEM;
	size_t k = 0;
	run[k++] = 0;
	for (size_t i = 1; i < n; i++)
		if (owner_ref_cmp(&ref[i - 1], &ref[i]) > 0)
			run[k++] = i;
	run[k] = n;
	if (k == 1) {
		free(run);
		return SIGNET_OK;
	}
	struct owner_ref *tmp = malloc(n * sizeof(*tmp)), *src = ref, *dst = tmp;
	if (tmp == NULL) {
		free(run);
		return SIGNET_ENOMEM;
	}
	while (k > 1) {
		size_t w = 0;
		for (size_t r = 0; r < k; r += 2) {
			/* A last run without a partner is copied (hi = mid). */
			size_t lo = run[r], mid = run[r + 1], hi = r + 1 < k ? run[r + 2] : mid;
			size_t a = lo, b = mid, o = lo;
			while (a < mid && b < hi)
				dst[o++] = owner_ref_cmp(&src[a], &src[b]) <= 0 ? src[a++]
										: src[b++];
			while (a < mid)
				dst[o++] = src[a++];
			while (b < hi)
				dst[o++] = src[b++];
			run[w++] = lo;
		}
		run[w] = n;
		k = w;
		struct owner_ref *t = src;
		src = dst;
		dst = t;
	}
	if (src != ref)
		memcpy(ref, src, n * sizeof(*ref));
	free(tmp);
	free(run);
	return SIGNET_OK;
}

/* Put the RRs in canonical order: by owner (ranked once per owner, not
 * compared per RR), then zrr_cmp. A zone signet wrote comes with its owners
 * in order already, and then only each owner's RRs are sorted. */
static signet_err zone_sort(struct zread *zr)
{
	for (size_t i = 0; i < zr->n; i++)
		zr->rrs[i].rd.p = zr->rdata.data + zr->rrs[i].rd.off;
	bool sorted = true;
	for (size_t i = 0; i < zr->nowners; i++) {
		int c = i == 0 ? 1 : owner_cmp(zr, &zr->owners[i - 1], &zr->owners[i]);
		if (c > 0 && i > 0) {
			sorted = false;
			break;
		}
		zr->owners[i].rank = i == 0 ? 0 : zr->owners[i - 1].rank + (c != 0);
	}
	if (!sorted) {
		struct owner_ref *ref = malloc(zr->nowners * sizeof(*ref));
		uint32_t *count = NULL;
		struct zrr *out = NULL;
		if (ref == NULL)
			return SIGNET_ENOMEM;
		for (size_t i = 0; i < zr->nowners; i++) {
			ref[i].key = zr->names.data + zr->owners[i].key;
			ref[i].keylen = zr->owners[i].keylen;
			ref[i].index = (uint32_t)i;
		}
		signet_err err = owner_refs_sort(ref, zr->nowners);
		if (err != SIGNET_OK) {
			free(ref);
			return err;
		}
		uint32_t rank = 0;
		for (size_t i = 0; i < zr->nowners; i++) {
			if (i > 0 && key_cmp(ref[i - 1].key, ref[i - 1].keylen, ref[i].key,
					     ref[i].keylen) != 0)
				rank++;
			zr->owners[ref[i].index].rank = rank;
		}
		free(ref);
		/* A stable counting sort by rank keeps the text's order within
		 * an owner. */
		count = calloc((size_t)rank + 2, sizeof(*count));
		out = malloc((zr->n ? zr->n : 1) * sizeof(*out));
		if (count == NULL || out == NULL) {
			free(count);
			free(out);
			return SIGNET_ENOMEM;
		}
		for (size_t i = 0; i < zr->n; i++)
			count[zrr_rank(zr, &zr->rrs[i]) + 1]++;
		for (size_t i = 1; i <= (size_t)rank + 1; i++)
			count[i] += count[i - 1];
		for (size_t i = 0; i < zr->n; i++)
			out[count[zrr_rank(zr, &zr->rrs[i])]++] = zr->rrs[i];
		free(count);
		free(zr->rrs);
		zr->rrs = out;
		zr->cap = zr->n;
	}
	for (size_t i = 0; i < zr->n;) {
		uint32_t rank = zrr_rank(zr, &zr->rrs[i]);
		size_t k = 1;
		bool in_order = true;
		while (i + k < zr->n && zrr_rank(zr, &zr->rrs[i + k]) == rank) {
			if (in_order && zrr_cmp(&zr->rrs[i + k - 1], &zr->rrs[i + k]) > 0)
				in_order = false;
			k++;
		}
		if (!in_order && k <= 16) {
			/* An owner's few RRs: insertion sort beats qsort's set-up. */
			struct zrr *g = &zr->rrs[i];
			for (size_t j = 1; j < k; j++) {
				struct zrr x = g[j];
				size_t m = j;
				for (; m > 0 && zrr_cmp(&g[m - 1], &x) > 0; m--)
					g[m] = g[m - 1];
				g[m] = x;
			}
		} else if (!in_order) {
			qsort(&zr->rrs[i], k, sizeof(zr->rrs[0]), zrr_cmp);
		}
		i += k;
	}
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

/* The line (1-based) of the first octet in text[off, len) that is neither
 * blank nor in a comment, nl being the newlines before off: where an RR
 * ldns read from off begins, whatever ldns counted past it. */
static unsigned rr_first_line(const char *text, size_t off, size_t len, unsigned nl)
{
	unsigned line = nl + 1;
	for (size_t i = off; i < len; i++) {
		if (text[i] == ';') {
			const char *e = memchr(text + i, '\n', len - i);
			if (e == NULL)
				break;
			i = (size_t)(e - text);
		}
		if (text[i] == '\n')
			line++;
		else if (text[i] != ' ' && text[i] != '\t' && text[i] != '\r')
			break;
	}
	return line;
}

/* The owner entry for owner: the last one when the spelling repeats. */
static signet_err zread_owner(struct zread *zr, const dns_name *owner, uint32_t *index)
{
	if (zr->nowners > 0) {
		const struct zowner *last = &zr->owners[zr->nowners - 1];
		if (last->len == owner->len &&
		    memcmp(zr->names.data + last->off, owner->wire, owner->len) == 0) {
			*index = (uint32_t)(zr->nowners - 1);
			return SIGNET_OK;
		}
	}
	if (zr->nowners == zr->owners_cap) {
		size_t ncap = zr->owners_cap ? zr->owners_cap * 2 : 256;
		if (ncap > UINT32_MAX || ncap > SIZE_MAX / sizeof(*zr->owners))
			return SIGNET_ERANGE;
		struct zowner *no = realloc(zr->owners, ncap * sizeof(*no));
		if (no == NULL)
			return SIGNET_ENOMEM;
		zr->owners = no;
		zr->owners_cap = ncap;
	}
	signet_err err = sg_buf_reserve(&zr->names, owner->len + 1 + 2 * DNS_NAME_MAX);
	if (err != SIGNET_OK)
		return err;
	struct zowner *o = &zr->owners[zr->nowners];
	o->off = zr->names.len;
	o->len = owner->len;
	memcpy(zr->names.data + zr->names.len, owner->wire, owner->len);
	zr->names.len += owner->len;
	o->key = zr->names.len;
	o->keylen = (uint16_t)owner_key(owner->wire, owner->len, zr->names.data + zr->names.len);
	zr->names.len += o->keylen;
	o->rank = 0;
	*index = (uint32_t)zr->nowners++;
	return SIGNET_OK;
}

/* dns_name_is_at_or_below, quicker for the usual owner: one that ends in
 * the origin spelled the same, at a label boundary. */
static bool owner_in_zone(const dns_name *owner, const dns_name *origin)
{
	if (owner->len >= origin->len) {
		size_t at = owner->len - origin->len, off = 0;
		while (off < at && owner->wire[off] != 0)
			off += 1u + owner->wire[off];
		if (off == at && memcmp(owner->wire + at, origin->wire, origin->len) == 0)
			return true;
	}
	return dns_name_is_at_or_below(owner, origin);
}

/* Append one RR, whose RDATA is zr->rdata from rdoff on, after the checks
 * every RR gets. */
static signet_err zrr_push(struct zread *zr, const dns_name *owner, uint16_t type, uint16_t rclass,
			   uint32_t ttl, size_t rdoff)
{
	if (zr->n == zr->max_rrs || zr->n == UINT32_MAX)
		return SIGNET_ERANGE;
	/* The owner of the RR before passed this check already. */
	const struct zowner *last = zr->nowners > 0 ? &zr->owners[zr->nowners - 1] : NULL;
	bool same = last != NULL && last->len == owner->len &&
		    memcmp(zr->names.data + last->off, owner->wire, owner->len) == 0;
	if (!same && !owner_in_zone(owner, zr->origin))
		return SIGNET_EPARSE; /* out-of-zone data */
	if (rclass != DNS_CLASS_IN)
		return SIGNET_EUNSUPPORTED;
	if (type == DNS_T_SOA && (++zr->nsoa > 1 || !dns_name_equal(owner, zr->origin)))
		return SIGNET_EPARSE;
	if (zr->n == zr->cap) {
		size_t ncap = zr->cap ? zr->cap * 2 : 1024;
		if (ncap > zr->max_rrs)
			ncap = zr->max_rrs;
		if (ncap > SIZE_MAX / sizeof(*zr->rrs))
			return SIGNET_ERANGE;
		struct zrr *nr = realloc(zr->rrs, ncap * sizeof(*nr));
		if (nr == NULL)
			return SIGNET_ENOMEM;
		zr->rrs = nr;
		zr->cap = ncap;
	}
	uint32_t oi;
	signet_err err = zread_owner(zr, owner, &oi);
	if (err != SIGNET_OK)
		return err;
	struct zrr *z = &zr->rrs[zr->n];
	z->owner = oi;
	z->type = type;
	z->ttl = ttl;
	z->rd.off = rdoff;
	z->rdlen = (uint16_t)(zr->rdata.len - rdoff);
	z->seq = (uint32_t)zr->n;
	zr->n++;
	return SIGNET_OK;
}

/* The origin ldns now reads relative names against, for the fast reader;
 * false when it is not one our names can hold. */
static bool origin_from_rdf(const ldns_rdf *r, dns_name *out)
{
	size_t used = 0;
	return r != NULL && ldns_rdf_get_type(r) == LDNS_RDF_TYPE_DNAME &&
	       dns_name_from_wire(out, ldns_rdf_data(r), ldns_rdf_size(r), &used) == SIGNET_OK &&
	       used == ldns_rdf_size(r);
}

/* Read every RR of text (len octets ending with a newline; fp reads the
 * same octets) into zr. Plain lines, as signet writes them and as simple
 * zone files hold them, are read by dns_rr_from_text_ctx (unless fast is
 * false), with the $ORIGIN and $TTL in force; every other line goes to
 * ldns, positioned at that line, with the owner of the line before as its
 * previous owner. Directives $TTL and $ORIGIN are ldns's, $INCLUDE is
 * refused because this layer reads no files. */
static signet_err zone_read(const char *text, size_t len, FILE *fp, uint32_t default_ttl, bool fast,
			    struct zread *zr, unsigned *errline)
{
	ldns_rdf *cur_origin = NULL, *prev = NULL;
	uint32_t ttl = default_ttl;
	int line = 0;
	signet_err err = name_to_rdf(zr->origin, &cur_origin);
	size_t off = 0;                /* start of the next line */
	long fp_at = 0;                /* where fp stands */
	unsigned nl = 0;               /* newlines before off */
	dns_name last;                 /* owner of the last RR read without ldns */
	bool prev_stale = false;       /* prev is older than last */
	dns_name origin = *zr->origin; /* ldns's cur_origin, for the fast reader */
	bool have_origin = true;

	while (err == SIGNET_OK && off < len) {
		const char *eol = memchr(text + off, '\n', len - off);
		size_t ll = eol != NULL ? (size_t)(eol - (text + off)) : len - off;
		dns_name owner;
		uint16_t type = 0, rclass = DNS_CLASS_IN;
		uint32_t rttl = 0;
		size_t mark = zr->rdata.len;
		/* ldns's TTL for an RR without one: $TTL, or its own default
		 * when that is 0. */
		dns_fast_ctx ctx = {have_origin ? &origin : NULL,
				    ttl != 0 ? ttl : ZONETEXT_DEFAULT_TTL};
		if (fast && eol != NULL &&
		    dns_rr_from_text_ctx(&ctx, text + off, ll, &owner, &type, &rttl, &zr->rdata) ==
			    SIGNET_OK) {
			off += ll + 1;
			line = (int)++nl;
			last = owner;
			prev_stale = true;
			err = zrr_push(zr, &owner, type, rclass, rttl, mark);
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
		unsigned first = rr_first_line(text, off, len, nl);
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
		if (st == LDNS_STATUS_SYNTAX_ORIGIN)
			have_origin = origin_from_rdf(cur_origin, &origin);
		if (st == LDNS_STATUS_SYNTAX_EMPTY || st == LDNS_STATUS_SYNTAX_TTL ||
		    st == LDNS_STATUS_SYNTAX_ORIGIN) {
			ldns_rr_free(rr);
			if (!moved)
				break; /* the end of the text */
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
		/* From here on the RR itself is at fault, not its text: name
		 * its own line, as the fast reader does, not the line ldns
		 * read to (past blank lines after it). */
		line = (int)first;
		if (zr->n == zr->max_rrs) {
			ldns_rr_free(rr);
			err = SIGNET_ERANGE;
			break;
		}
		err = rr_from_ldns(rr, &owner, &type, &rclass, &rttl, &zr->rdata);
		ldns_rr_free(rr);
		if (err == SIGNET_OK)
			err = zrr_push(zr, &owner, type, rclass, rttl, mark);
	}
	ldns_rdf_deep_free(cur_origin);
	ldns_rdf_deep_free(prev);
	if (err == SIGNET_OK && zr->nsoa == 0) {
		err = SIGNET_EPARSE;
		line = 0;
	}
	if (err != SIGNET_OK && errline != NULL)
		*errline = line > 0 ? (unsigned)line : 0;
	return err;
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
 * line at fault in *line. text must hold a newline or a NUL at or after len
 * (dns_zone_parse_how's copy does), so strcspn stops in time. */
static signet_err check_structure(const char *text, size_t len, unsigned *line)
{
	unsigned open_line = 0;
	bool quoted = false, comment = false, bol = true;
	int depth = 0;
	*line = 1;
	for (size_t i = 0; i < len; i++) {
		if (!bol) {
			/* Within a line, only these octets (and a NUL) change
			 * the state: skip the rest, most of the text, at once. */
			i += strcspn(text + i, "\n\\\";()");
			if (i >= len)
				break;
		}
		char c = text[i];
		if (c == '\0')
			return SIGNET_EPARSE;
		if (c == '\n') {
			if (quoted)
				return SIGNET_EPARSE; /* a string does not span lines */
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
			  uint32_t default_ttl, size_t max_rrs, dns_zone *out, unsigned *errline)
{
	return dns_zone_parse_how(text, len, origin, default_ttl, max_rrs, true, out, errline);
}

signet_err dns_zone_parse_how(const char *text, size_t len, const dns_name *origin,
			      uint32_t default_ttl, size_t max_rrs, bool fast, dns_zone *out,
			      unsigned *errline)
{
	if (errline != NULL)
		*errline = 0;
	if ((text == NULL && len > 0) || origin == NULL || out == NULL || max_rrs == 0)
		return SIGNET_EINVAL;
	if (origin->len == 0)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));

	/* A private copy with a final newline and a NUL after it: fmemopen
	 * wants a writable pointer, ldns counts the last line only when it
	 * ends, and check_structure scans with strcspn. */
	size_t clen = len;
	char *copy = malloc(len + 2);
	if (copy == NULL)
		return SIGNET_ENOMEM;
	if (len > 0)
		memcpy(copy, text, len);
	if (len == 0 || text[len - 1] != '\n')
		copy[clen++] = '\n';
	copy[clen] = '\0';
	unsigned bad = 0;
	signet_err err = check_structure(copy, len, &bad);
	if (err != SIGNET_OK) {
		free(copy);
		if (errline != NULL)
			*errline = bad;
		return err;
	}
	FILE *fp = fmemopen(copy, clen, "r");
	if (fp == NULL) {
		free(copy);
		return SIGNET_ENOMEM;
	}
	struct zread zr = {.max_rrs = max_rrs, .origin = origin};
	/* Signed zones hold some 100 octets of RDATA per 130 of text. */
	if (sg_buf_reserve(&zr.rdata, len / 4 * 3 + 64) != SIGNET_OK) {
		fclose(fp);
		free(copy);
		return SIGNET_ENOMEM;
	}
	err = zone_read(copy, clen, fp, default_ttl, fast, &zr, errline);
	fclose(fp);
	free(copy);
	if (err == SIGNET_OK)
		err = zone_sort(&zr);
	if (err == SIGNET_OK) {
		out->apex = *origin;
		err = zone_group(&zr, out);
		if (err != SIGNET_OK)
			dns_zone_free(out);
	}
	zread_free(&zr);
	return err;
}

signet_err dns_rr_from_text(const char *line, const dns_name *origin, dns_name *owner,
			    uint16_t *type, uint16_t *rclass, uint32_t *ttl, sg_buf *out_rdata)
{
	if (line == NULL || owner == NULL || type == NULL || rclass == NULL || ttl == NULL ||
	    out_rdata == NULL)
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
