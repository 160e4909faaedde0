/* denial.c -- reading NSEC and NSEC3 records back and judging what they
 * prove, as a validator does: name errors (RFC 4035 §5.4, RFC 5155 §8.4),
 * no data and no DS at a zone cut (RFC 4035 §5.4, RFC 5155 §8.5, §8.6 with
 * opt-out), and the non-existence behind a wildcard answer (RFC 4035
 * §5.3.4, RFC 5155 §8.8). */
#include <string.h>

#include "dnssec/dnssec.h"

bool dns_bitmap_has(const uint8_t *bitmap, size_t len, uint16_t type)
{
	size_t pos = 0;
	unsigned want = type >> 8, bit = type & 0xff;
	while (bitmap && pos + 2 <= len) {
		unsigned win = bitmap[pos], blen = bitmap[pos + 1];
		pos += 2;
		if (blen == 0 || blen > 32 || pos + blen > len)
			return false;
		if (win == want)
			return bit / 8 < blen && (bitmap[pos + bit / 8] & (0x80 >> (bit % 8)));
		pos += blen;
	}
	return false;
}

signet_err dns_nsec_read(const dns_name *owner, const uint8_t *rdata, size_t len, dns_nsec_rec *out)
{
	if (!owner || !rdata || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	signet_err err = dns_rdata_check(DNS_T_NSEC, rdata, len);
	if (err != SIGNET_OK)
		return err;
	size_t used = 0;
	err = dns_name_from_wire(&out->next, rdata, len, &used);
	if (err != SIGNET_OK)
		return err;
	out->owner = *owner;
	out->bitmap = rdata + used;
	out->bitmap_len = len - used;
	return SIGNET_OK;
}

signet_err dns_nsec3_read(const dns_name *owner, const uint8_t *rdata, size_t len,
			  dns_nsec3_rec *out)
{
	if (!owner || !rdata || !out)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	signet_err err = dns_rdata_check(DNS_T_NSEC3, rdata, len);
	if (err != SIGNET_OK)
		return err;
	/* dns_rdata_check has bounded every length read below. */
	out->p.algorithm = rdata[0];
	out->p.flags = rdata[1];
	out->p.iterations = sg_get_u16(rdata + 2);
	out->p.salt_len = rdata[4];
	memcpy(out->p.salt, rdata + 5, rdata[4]);
	size_t pos = 5 + (size_t)rdata[4];
	size_t hl = rdata[pos++];
	if (hl == 0 || hl > DNS_NSEC3_HASH_MAX)
		return SIGNET_EPARSE;
	memcpy(out->next, rdata + pos, hl);
	out->next_len = hl;
	pos += hl;
	out->bitmap = rdata + pos;
	out->bitmap_len = len - pos;
	/* The owner's first label is the base32hex hash; it must be as long
	 * as the next hash, or the record compares with nothing. */
	if (owner->len < 2 || owner->wire[0] == 0 ||
	    dns_base32hex_decode((const char *)owner->wire + 1, owner->wire[0], out->hash,
				 sizeof(out->hash), &out->hash_len) != SIGNET_OK ||
	    out->hash_len != hl)
		return SIGNET_EPARSE;
	out->owner = *owner;
	return SIGNET_OK;
}

unsigned dns_name_common_labels(const dns_name *a, const dns_name *b)
{
	unsigned la = dns_name_labels(a), lb = dns_name_labels(b);
	unsigned n = la < lb ? la : lb, k = 0;
	for (unsigned i = 1; i <= n; i++) {
		dns_name sa, sb;
		if (dns_name_suffix(a, i, &sa) != SIGNET_OK ||
		    dns_name_suffix(b, i, &sb) != SIGNET_OK || !dns_name_equal(&sa, &sb))
			break;
		k = i;
	}
	return k;
}

signet_err dns_name_wildcard(const dns_name *n, dns_name *out)
{
	if (!n || !out || n->len == 0)
		return SIGNET_EINVAL;
	if ((size_t)n->len + 2 > DNS_NAME_MAX)
		return SIGNET_ERANGE;
	memmove(out->wire + 2, n->wire, n->len);
	out->wire[0] = 1;
	out->wire[1] = '*';
	out->len = (uint8_t)(n->len + 2);
	return SIGNET_OK;
}

signet_err dns_name_sibling_after(const dns_name *n, dns_name *out)
{
	if (!n || !out || n->len < 2 || n->wire[0] == 0 || n->wire[0] > DNS_LABEL_MAX ||
	    (size_t)n->wire[0] + 1 >= n->len)
		return SIGNET_EINVAL;
	unsigned l = n->wire[0];
	dns_name t = *n;
	if (l < DNS_LABEL_MAX && n->len < DNS_NAME_MAX) {
		/* The label with a zero octet appended: nothing sorts between
		 * n's subtree and it (RFC 4034 §6.1). */
		memmove(t.wire + l + 2, n->wire + l + 1, n->len - l - 1);
		t.wire[0] = (uint8_t)(l + 1);
		t.wire[l + 1] = 0;
		t.len = (uint8_t)(n->len + 1);
	} else {
		/* No room to grow: the last octet, compared lower-cased, one
		 * up; upper-case letters sort as lower-case ones, so after '@'
		 * comes '['. */
		uint8_t c = n->wire[l];
		if (c >= 'A' && c <= 'Z')
			c = (uint8_t)(c - 'A' + 'a');
		if (c == 0xff)
			return SIGNET_ERANGE;
		c++;
		if (c >= 'A' && c <= 'Z')
			c = '[';
		t.wire[l] = c;
	}
	*out = t;
	return SIGNET_OK;
}

bool dns_nsec_covers(const dns_nsec_rec *n, const dns_name *name)
{
	if (!n || !name)
		return false;
	int on = dns_name_compare(&n->owner, &n->next);
	int oq = dns_name_compare(&n->owner, name), qn = dns_name_compare(name, &n->next);
	if (on < 0)
		return oq < 0 && qn < 0;
	/* The last NSEC of the chain points back to the apex: it covers every
	 * name after its owner (and, were the names out of the zone, before
	 * the apex too; the callers check the zone). */
	return oq < 0 || qn < 0;
}

bool dns_nsec3_matches(const dns_nsec3_rec *n, const uint8_t *hash, size_t len)
{
	return n && hash && len == n->hash_len && memcmp(n->hash, hash, len) == 0;
}

bool dns_nsec3_covers(const dns_nsec3_rec *n, const uint8_t *hash, size_t len)
{
	if (!n || !hash || len != n->hash_len || len != n->next_len)
		return false;
	int on = memcmp(n->hash, n->next, len), oh = memcmp(n->hash, hash, len),
	    hn = memcmp(hash, n->next, len);
	if (on < 0)
		return oh < 0 && hn < 0;
	return oh < 0 || hn < 0; /* the last NSEC3 wraps around */
}

/* True if the NSEC at a proper ancestor of name cannot speak for name: a
 * zone cut (NS without SOA) or a DNAME owner is the top of data that is not
 * this zone's (RFC 6840 §4.1). */
static bool ancestor_cut(const dns_nsec_rec *n, const dns_name *name)
{
	if (dns_name_equal(&n->owner, name) || !dns_name_is_at_or_below(name, &n->owner))
		return false;
	return (dns_bitmap_has(n->bitmap, n->bitmap_len, DNS_T_NS) &&
		!dns_bitmap_has(n->bitmap, n->bitmap_len, DNS_T_SOA)) ||
	       dns_bitmap_has(n->bitmap, n->bitmap_len, DNS_T_DNAME);
}

static void denial_init(dns_denial *out)
{
	memset(out, 0, sizeof(*out));
	out->result = DNS_PROOF_NONE;
}

signet_err dns_nsec_deny_name(const dns_name *apex, const dns_nsec_rec *set, size_t n,
			      const dns_name *qname, unsigned expanded, dns_denial *out)
{
	if (!apex || (n && !set) || !qname || !out)
		return SIGNET_EINVAL;
	if (expanded && (expanded >= dns_name_labels(qname) || expanded < dns_name_labels(apex)))
		return SIGNET_EINVAL;
	denial_init(out);
	if (n == 0)
		return SIGNET_OK;
	const dns_nsec_rec *cover = NULL;
	for (size_t i = 0; i < n && !cover; i++)
		if (dns_nsec_covers(&set[i], qname) && !ancestor_cut(&set[i], qname))
			cover = &set[i];
	if (!cover) {
		bool cut = false;
		for (size_t i = 0; i < n; i++)
			cut = cut ||
			      (dns_nsec_covers(&set[i], qname) && ancestor_cut(&set[i], qname));
		out->result = cut ? DNS_PROOF_CUT : DNS_PROOF_NAME;
		return SIGNET_OK;
	}
	/* The closest encloser is the longest ancestor of qname the chain
	 * shows to exist: the owner or the next name of the covering NSEC. */
	unsigned k1 = dns_name_common_labels(qname, &cover->owner);
	unsigned k2 = dns_name_common_labels(qname, &cover->next);
	unsigned k = k1 > k2 ? k1 : k2, zl = dns_name_labels(apex);
	if (k < zl)
		k = zl;
	if (expanded)
		k = expanded; /* RFC 4035 §5.3.4: the RRSIG's Labels name it */
	if (k >= dns_name_labels(qname)) {
		out->result = DNS_PROOF_NAME;
		return SIGNET_OK;
	}
	signet_err err = dns_name_suffix(qname, k, &out->closest_encloser);
	if (err == SIGNET_OK)
		err = dns_name_suffix(qname, k + 1, &out->next_closer);
	if (err != SIGNET_OK)
		return err;
	if (dns_name_wildcard(&out->closest_encloser, &out->wildcard) != SIGNET_OK) {
		/* No wildcard can exist at a name too long to take "*.". */
		out->result = DNS_PROOF_OK;
		return SIGNET_OK;
	}
	if (expanded) {
		out->result = DNS_PROOF_OK;
		return SIGNET_OK;
	}
	bool wcover = false;
	for (size_t i = 0; i < n && !wcover; i++)
		wcover = dns_nsec_covers(&set[i], &out->wildcard);
	out->result = wcover ? DNS_PROOF_OK : DNS_PROOF_WILDCARD;
	return SIGNET_OK;
}

/* DNS_PROOF_OK when the bitmap of a record at qname (or at the wildcard
 * answering for it) denies qtype, with the cut rules. */
static dns_proof judge_bitmap(const uint8_t *b, size_t bl, uint16_t qtype)
{
	bool ns = dns_bitmap_has(b, bl, DNS_T_NS), soa = dns_bitmap_has(b, bl, DNS_T_SOA);
	if (dns_bitmap_has(b, bl, qtype) || dns_bitmap_has(b, bl, DNS_T_CNAME))
		return DNS_PROOF_TYPE;
	/* No DS is proven by the parent side of a cut: NS there, no SOA
	 * (RFC 4035 §5.2); a child apex's record says nothing of the DS. */
	if (qtype == DNS_T_DS && (soa || !ns))
		return DNS_PROOF_CUT;
	/* The record at a cut is the parent's: it lists only NS and DS and
	 * cannot deny the child's types (RFC 6840 §4.4). */
	if (qtype != DNS_T_DS && ns && !soa)
		return DNS_PROOF_CUT;
	return DNS_PROOF_OK;
}

signet_err dns_nsec_deny_type(const dns_name *apex, const dns_nsec_rec *set, size_t n,
			      const dns_name *qname, uint16_t qtype, dns_denial *out)
{
	if (!apex || (n && !set) || !qname || !out)
		return SIGNET_EINVAL;
	denial_init(out);
	if (n == 0)
		return SIGNET_OK;
	for (size_t i = 0; i < n; i++)
		if (dns_name_equal(&set[i].owner, qname)) {
			out->closest_encloser = *qname;
			out->result = judge_bitmap(set[i].bitmap, set[i].bitmap_len, qtype);
			return SIGNET_OK;
		}
	out->result = DNS_PROOF_NAME;
	/* An empty non-terminal has no NSEC: the one before it leads to a
	 * name below it (RFC 4035 §3.1.3.2). */
	for (size_t i = 0; i < n; i++)
		if (dns_nsec_covers(&set[i], qname) && !ancestor_cut(&set[i], qname) &&
		    dns_name_is_at_or_below(&set[i].next, qname)) {
			out->closest_encloser = *qname;
			out->result = DNS_PROOF_OK;
			return SIGNET_OK;
		}
	if (qtype == DNS_T_DS || !dns_name_is_at_or_below(qname, apex))
		return SIGNET_OK;
	/* Wildcard no data (RFC 4035 §3.1.3.4): qname denied, and the NSEC of
	 * the wildcard at its closest encloser lacks the type. */
	dns_denial d;
	signet_err err = dns_nsec_deny_name(apex, set, n, qname, 0, &d);
	if (err != SIGNET_OK || d.result != DNS_PROOF_WILDCARD)
		return err;
	for (size_t i = 0; i < n; i++)
		if (dns_name_equal(&set[i].owner, &d.wildcard)) {
			*out = d;
			out->result = judge_bitmap(set[i].bitmap, set[i].bitmap_len, qtype);
			return SIGNET_OK;
		}
	return SIGNET_OK;
}

/* The records of set that share the first one's parameters; the count. */
static size_t same_params(const dns_nsec3_rec *set, size_t n, const dns_nsec3_rec **use, size_t max)
{
	size_t k = 0;
	for (size_t i = 0; i < n && k < max; i++) {
		const dns_nsec3_params *a = &set[0].p, *b = &set[i].p;
		if (a->algorithm == b->algorithm && a->iterations == b->iterations &&
		    a->salt_len == b->salt_len && memcmp(a->salt, b->salt, a->salt_len) == 0)
			use[k++] = &set[i];
	}
	return k;
}

#define NSEC3_SET_MAX 64

/* RFC 5155 §8.3: the closest encloser proof. result OK with the names
 * filled, ENCLOSER or NAME otherwise; *optout when the NSEC3 covering the
 * next closer has the opt-out flag. */
static signet_err closest_encloser(const dns_name *apex, const dns_nsec3_rec *const *use, size_t k,
				   const dns_name *qname, dns_denial *out)
{
	const dns_nsec3_params *p = &use[0]->p;
	unsigned zl = dns_name_labels(apex), ql = dns_name_labels(qname);
	uint8_t h[DNS_NSEC3_HASH_MAX];
	size_t hl;
	bool found = false;
	for (unsigned l = ql; l >= zl && l <= ql && !found; l--) {
		dns_name ce;
		signet_err err = dns_name_suffix(qname, l, &ce);
		if (err == SIGNET_OK)
			err = dns_nsec3_hash(&ce, p, h, &hl);
		if (err != SIGNET_OK)
			return err;
		for (size_t i = 0; i < k && !found; i++)
			found = dns_nsec3_matches(use[i], h, hl);
		if (!found)
			continue;
		if (l == ql) {
			/* qname itself has an NSEC3: it exists. */
			out->closest_encloser = ce;
			out->result = DNS_PROOF_NAME;
			return SIGNET_OK;
		}
		out->closest_encloser = ce;
		if ((err = dns_name_suffix(qname, l + 1, &out->next_closer)) != SIGNET_OK)
			return err;
	}
	if (!found) {
		out->result = DNS_PROOF_ENCLOSER;
		return SIGNET_OK;
	}
	signet_err err = dns_nsec3_hash(&out->next_closer, p, h, &hl);
	if (err != SIGNET_OK)
		return err;
	for (size_t i = 0; i < k; i++)
		if (dns_nsec3_covers(use[i], h, hl)) {
			out->opt_out = (use[i]->p.flags & DNS_NSEC3_FLAG_OPTOUT) != 0;
			out->result = DNS_PROOF_OK;
			return SIGNET_OK;
		}
	out->result = DNS_PROOF_NAME;
	return SIGNET_OK;
}

signet_err dns_nsec3_deny_name(const dns_name *apex, const dns_nsec3_rec *set, size_t n,
			       const dns_name *qname, unsigned expanded, dns_denial *out)
{
	if (!apex || (n && !set) || !qname || !out || !dns_name_is_at_or_below(qname, apex))
		return SIGNET_EINVAL;
	denial_init(out);
	const dns_nsec3_rec *use[NSEC3_SET_MAX];
	size_t k = same_params(set, n, use, NSEC3_SET_MAX);
	if (k == 0)
		return SIGNET_OK;
	/* RFC 9276 §3.2: validators give up on many iterations, and
	 * hashing them would let a server make the judge spend seconds. */
	if (use[0]->p.algorithm != 1 || use[0]->p.iterations > DNS_NSEC3_ITERATIONS_JUDGED) {
		out->result = DNS_PROOF_PARAMS;
		return SIGNET_OK;
	}
	signet_err err;
	if (expanded) {
		/* RFC 5155 §8.8: the RRSIG's Labels name the closest encloser;
		 * only the next closer must be covered, and the answer need
		 * not carry the encloser's own NSEC3. */
		if (expanded >= dns_name_labels(qname) || expanded < dns_name_labels(apex))
			return SIGNET_EINVAL;
		if ((err = dns_name_suffix(qname, expanded, &out->closest_encloser)) != SIGNET_OK ||
		    (err = dns_name_suffix(qname, expanded + 1, &out->next_closer)) != SIGNET_OK ||
		    (err = dns_name_wildcard(&out->closest_encloser, &out->wildcard)) != SIGNET_OK)
			return err;
		uint8_t h[DNS_NSEC3_HASH_MAX];
		size_t hl;
		if ((err = dns_nsec3_hash(&out->next_closer, &use[0]->p, h, &hl)) != SIGNET_OK)
			return err;
		out->result = DNS_PROOF_NAME;
		for (size_t i = 0; i < k; i++)
			if (dns_nsec3_covers(use[i], h, hl)) {
				out->result = DNS_PROOF_OK;
				out->opt_out = (use[i]->p.flags & DNS_NSEC3_FLAG_OPTOUT) != 0;
			}
		return SIGNET_OK;
	}
	err = closest_encloser(apex, use, k, qname, out);
	if (err != SIGNET_OK || out->result != DNS_PROOF_OK)
		return err;
	if (dns_name_wildcard(&out->closest_encloser, &out->wildcard) != SIGNET_OK)
		return SIGNET_OK;
	uint8_t h[DNS_NSEC3_HASH_MAX];
	size_t hl;
	if ((err = dns_nsec3_hash(&out->wildcard, &use[0]->p, h, &hl)) != SIGNET_OK)
		return err;
	bool cov = false;
	for (size_t i = 0; i < k && !cov; i++)
		cov = dns_nsec3_covers(use[i], h, hl);
	out->result = cov ? DNS_PROOF_OK : DNS_PROOF_WILDCARD;
	return SIGNET_OK;
}

signet_err dns_nsec3_deny_type(const dns_name *apex, const dns_nsec3_rec *set, size_t n,
			       const dns_name *qname, uint16_t qtype, dns_denial *out)
{
	if (!apex || (n && !set) || !qname || !out || !dns_name_is_at_or_below(qname, apex))
		return SIGNET_EINVAL;
	denial_init(out);
	const dns_nsec3_rec *use[NSEC3_SET_MAX];
	size_t k = same_params(set, n, use, NSEC3_SET_MAX);
	if (k == 0)
		return SIGNET_OK;
	/* RFC 9276 §3.2: validators give up on many iterations, and
	 * hashing them would let a server make the judge spend seconds. */
	if (use[0]->p.algorithm != 1 || use[0]->p.iterations > DNS_NSEC3_ITERATIONS_JUDGED) {
		out->result = DNS_PROOF_PARAMS;
		return SIGNET_OK;
	}
	uint8_t h[DNS_NSEC3_HASH_MAX];
	size_t hl;
	signet_err err = dns_nsec3_hash(qname, &use[0]->p, h, &hl);
	if (err != SIGNET_OK)
		return err;
	for (size_t i = 0; i < k; i++)
		if (dns_nsec3_matches(use[i], h, hl)) {
			out->closest_encloser = *qname;
			out->result = judge_bitmap(use[i]->bitmap, use[i]->bitmap_len, qtype);
			return SIGNET_OK;
		}
	/* No NSEC3 at qname: the closest encloser proof, then for DS an
	 * opt-out span over the next closer (§8.6), for other types the
	 * wildcard's NSEC3 without the type (§8.7) or, in an opt-out span,
	 * an empty non-terminal that opt-out left unhashed (RFC 5155 §7.2.3
	 * errata 3441: insecure, not bogus). */
	err = closest_encloser(apex, use, k, qname, out);
	if (err != SIGNET_OK || out->result != DNS_PROOF_OK)
		return err;
	if (qtype == DNS_T_DS) {
		if (!out->opt_out)
			out->result = DNS_PROOF_NAME;
		return SIGNET_OK;
	}
	if (dns_name_wildcard(&out->closest_encloser, &out->wildcard) == SIGNET_OK &&
	    (err = dns_nsec3_hash(&out->wildcard, &use[0]->p, h, &hl)) == SIGNET_OK) {
		for (size_t i = 0; i < k; i++)
			if (dns_nsec3_matches(use[i], h, hl)) {
				out->result = judge_bitmap(use[i]->bitmap, use[i]->bitmap_len,
							   qtype);
				return SIGNET_OK;
			}
	}
	if (err != SIGNET_OK)
		return err;
	if (!out->opt_out)
		out->result = DNS_PROOF_NAME;
	return SIGNET_OK;
}

const char *dns_proof_text(dns_proof p)
{
	switch (p) {
	case DNS_PROOF_OK:
		return "proven";
	case DNS_PROOF_NONE:
		return "no NSEC or NSEC3 to prove it";
	case DNS_PROOF_NAME:
		return "the name is not covered";
	case DNS_PROOF_ENCLOSER:
		return "no NSEC3 matches a closest encloser";
	case DNS_PROOF_WILDCARD:
		return "the wildcard at the closest encloser is not denied";
	case DNS_PROOF_TYPE:
		return "the record at the name lists the type or a CNAME";
	case DNS_PROOF_CUT:
		return "the record belongs to the wrong side of a zone cut";
	case DNS_PROOF_PARAMS:
		return "NSEC3 with a hash other than SHA-1 or over 150 iterations, which "
		       "validators do not use";
	}
	return "?";
}
