/* diff.c -- differences between versions of an unsigned zone: applying one
 * (an IXFR sequence), computing one (two files), and the zone a whole
 * transfer's RRs make (gathered as they come). */
#include <stdlib.h>
#include <string.h>

#include "zone/zone.h"

static signet_err push(zone_rr **v, size_t *n, size_t *cap, const dns_name *owner, uint16_t type,
		       uint32_t ttl, const uint8_t *rdata, size_t len)
{
	if (len > DNS_RDATA_MAX || (rdata == NULL && len))
		return SIGNET_ERANGE;
	if (*n == *cap) {
		size_t c = *cap ? 2 * *cap : 16;
		zone_rr *p = realloc(*v, c * sizeof(*p));
		if (p == NULL)
			return SIGNET_ENOMEM;
		*v = p;
		*cap = c;
	}
	zone_rr *r = &(*v)[*n];
	r->owner = *owner;
	r->type = type;
	r->ttl = ttl;
	r->rdata.len = (uint16_t)len;
	r->rdata.data = NULL;
	if (len) {
		r->rdata.data = malloc(len);
		if (r->rdata.data == NULL)
			return SIGNET_ENOMEM;
		memcpy(r->rdata.data, rdata, len);
	}
	(*n)++;
	return SIGNET_OK;
}

signet_err zone_diff_push(zone_diff *d, bool add, const dns_name *owner, uint16_t type,
			  uint32_t ttl, const uint8_t *rdata, size_t len)
{
	if (d == NULL || owner == NULL)
		return SIGNET_EINVAL;
	return add ? push(&d->add, &d->nadd, &d->capadd, owner, type, ttl, rdata, len)
		   : push(&d->del, &d->ndel, &d->capdel, owner, type, ttl, rdata, len);
}

void zone_diff_free(zone_diff *d)
{
	if (d == NULL)
		return;
	for (size_t i = 0; i < d->ndel; i++)
		free(d->del[i].rdata.data);
	for (size_t i = 0; i < d->nadd; i++)
		free(d->add[i].rdata.data);
	free(d->del);
	free(d->add);
	memset(d, 0, sizeof(*d));
}

static int set_cmp(const dns_rrset *s, const dns_name *owner, uint16_t type)
{
	int c = dns_name_compare(&s->owner, owner);
	if (c == 0)
		c = s->type < type ? -1 : s->type > type ? 1 : 0;
	return c;
}

static dns_rrset *find(dns_rrset *sets, size_t n, const dns_name *owner, uint16_t type)
{
	size_t lo = 0, hi = n;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = set_cmp(&sets[mid], owner, type);
		if (c == 0)
			return &sets[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Index of the RR of s whose RDATA equals rdata in canonical form, or -1. */
static signet_err find_rr(const dns_rrset *s, const uint8_t *rdata, size_t len, long *idx)
{
	sg_buf want = SG_BUF_INIT, have = SG_BUF_INIT;
	*idx = -1;
	signet_err ret = dns_rdata_canonical(s->type, rdata, len, &want);
	for (size_t i = 0; ret == SIGNET_OK && i < s->count && *idx < 0; i++) {
		sg_buf_reset(&have);
		ret = dns_rdata_canonical(s->type, s->rr[i].data, s->rr[i].len, &have);
		if (ret == SIGNET_OK && have.len == want.len &&
		    (want.len == 0 || memcmp(have.data, want.data, want.len) == 0))
			*idx = (long)i;
	}
	sg_buf_free(&want);
	sg_buf_free(&have);
	return ret;
}

/* An RR a zone may hold: its owner in the zone, a TTL of RFC 2181 §8 and
 * well-formed RDATA. */
static signet_err check_rr(const dns_name *apex, const dns_name *owner, uint16_t type, uint32_t ttl,
			   const uint8_t *rdata, size_t len)
{
	if (!dns_name_is_at_or_below(owner, apex) || ttl > 0x7fffffffu)
		return SIGNET_EPARSE;
	signet_err ret = dns_rdata_check(type, rdata, len);
	return ret == SIGNET_OK ? SIGNET_OK : SIGNET_EPARSE;
}

static signet_err check_zone_rr(const dns_name *apex, const zone_rr *r)
{
	return check_rr(apex, &r->owner, r->type, r->ttl, r->rdata.data, r->rdata.len);
}

static int sort_cmp(const void *pa, const void *pb)
{
	const dns_rrset *a = pa, *b = pb;
	return set_cmp(a, &b->owner, b->type);
}

signet_err zone_diff_apply(dns_zone *z, const zone_diff *d, size_t max_rrs)
{
	if (z == NULL || d == NULL)
		return SIGNET_EINVAL;
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < d->ndel && ret == SIGNET_OK; i++) {
		const zone_rr *r = &d->del[i];
		if ((ret = check_zone_rr(&z->apex, r)) != SIGNET_OK)
			break;
		dns_rrset *s = find(z->sets, z->count, &r->owner, r->type);
		long idx = -1;
		if (s == NULL ||
		    (ret = find_rr(s, r->rdata.data, r->rdata.len, &idx)) != SIGNET_OK || idx < 0) {
			ret = ret == SIGNET_OK ? SIGNET_ENOTFOUND : ret;
			break;
		}
		free(s->rr[idx].data);
		memmove(&s->rr[idx], &s->rr[idx + 1],
			(s->count - (size_t)idx - 1) * sizeof(*s->rr));
		s->count--;
	}
	/* New sets wait apart and are merged in once: inserting each into the
	 * sorted array would move the zone once per set. */
	dns_zone fresh = {.apex = z->apex};
	for (size_t i = 0; i < d->nadd && ret == SIGNET_OK; i++) {
		const zone_rr *r = &d->add[i];
		if ((ret = check_zone_rr(&z->apex, r)) != SIGNET_OK)
			break;
		dns_rrset *s = find(z->sets, z->count, &r->owner, r->type);
		if (s == NULL)
			for (size_t k = fresh.count; k-- > 0 && s == NULL;)
				if (fresh.sets[k].type == r->type &&
				    dns_name_equal(&fresh.sets[k].owner, &r->owner))
					s = &fresh.sets[k];
		if (s == NULL) {
			if (fresh.count == fresh.cap) {
				size_t c = fresh.cap ? 2 * fresh.cap : 16;
				dns_rrset *p = realloc(fresh.sets, c * sizeof(*p));
				if (p == NULL) {
					ret = SIGNET_ENOMEM;
					break;
				}
				fresh.sets = p;
				fresh.cap = c;
			}
			s = &fresh.sets[fresh.count++];
			dns_rrset_init(s, &r->owner, r->type, DNS_CLASS_IN, r->ttl);
		}
		long idx = -1;
		if ((ret = find_rr(s, r->rdata.data, r->rdata.len, &idx)) != SIGNET_OK)
			break;
		if (idx >= 0) {
			ret = SIGNET_EEXIST;
			break;
		}
		s->ttl = r->ttl;
		ret = dns_rrset_add(s, r->rdata.data, r->rdata.len);
	}
	/* Sets emptied by removals go; the fresh ones are merged in. */
	size_t kept = 0, rrs = 0;
	for (size_t i = 0; i < z->count; i++) {
		if (z->sets[i].count == 0) {
			dns_rrset_clear(&z->sets[i]);
			continue;
		}
		rrs += z->sets[i].count;
		z->sets[kept++] = z->sets[i];
	}
	z->count = kept;
	for (size_t i = 0; i < fresh.count; i++)
		rrs += fresh.sets[i].count;
	if (ret == SIGNET_OK && rrs > max_rrs)
		ret = SIGNET_ERANGE;
	if (ret == SIGNET_OK && fresh.count) {
		qsort(fresh.sets, fresh.count, sizeof(*fresh.sets), sort_cmp);
		size_t n = z->count + fresh.count;
		dns_rrset *m = malloc(n * sizeof(*m));
		if (m == NULL) {
			ret = SIGNET_ENOMEM;
		} else {
			size_t i = 0, j = 0, o = 0;
			while (i < z->count || j < fresh.count) {
				if (j == fresh.count ||
				    (i < z->count && set_cmp(&z->sets[i], &fresh.sets[j].owner,
							     fresh.sets[j].type) < 0))
					m[o++] = z->sets[i++];
				else
					m[o++] = fresh.sets[j++];
			}
			free(z->sets);
			z->sets = m;
			z->count = z->cap = n;
			fresh.count = 0;
		}
	}
	dns_zone_free(&fresh);
	return ret;
}

/* ---- a whole zone gathered as its RRs come ------------------------------- */

/* Free slots a finished zone keeps (zone_gather_finish). */
#define ZONE_GATHER_SPARE 8

void zone_gather_init(zone_gather *g, const dns_name *apex, size_t max_rrs)
{
	memset(g, 0, sizeof(*g));
	g->z.apex = *apex;
	g->max_rrs = max_rrs;
	g->sorted = true;
	g->types_sorted = true;
}

/* Cut the RR slots of a set that is complete to its RRs: dns_rrset_add
 * makes room for four, and most sets of a zone hold one, so a whole zone
 * would carry three empty slots per set. A set that comes apart later
 * grows again. */
static void trim_set(dns_rrset *s)
{
	if (s->count && s->count < s->cap) {
		dns_rdata *p = realloc(s->rr, s->count * sizeof(*p));
		if (p != NULL) {
			s->rr = p;
			s->cap = s->count;
		}
	}
}

/* A new empty set at the end of g's sets. */
static signet_err gather_new_set(zone_gather *g, const dns_name *owner, uint16_t type, uint32_t ttl)
{
	dns_zone *z = &g->z;
	if (z->count == z->cap) {
		/* Half again, not double: the array is the zone's largest block
		 * and stays the zone's, so less slack is worth a few more
		 * reallocs. */
		size_t c = z->cap ? z->cap + z->cap / 2 : 64;
		if (c > SIZE_MAX / sizeof(*z->sets))
			return SIGNET_ENOMEM;
		dns_rrset *p = realloc(z->sets, c * sizeof(*p));
		if (p == NULL)
			return SIGNET_ENOMEM;
		z->sets = p;
		z->cap = c;
	}
	/* A transfer begins with the SOA, before the apex's other sets, so the
	 * types of a node may come in any order; the nodes rarely do. */
	const dns_rrset *last = z->count ? &z->sets[z->count - 1] : NULL;
	if (last != NULL)
		trim_set(&z->sets[z->count - 1]);
	if (last != NULL && g->sorted) {
		int c = dns_name_compare(&last->owner, owner);
		if (c > 0)
			g->sorted = false;
		else if (c == 0 && last->type > type)
			g->types_sorted = false;
	}
	dns_rrset_init(&z->sets[z->count++], owner, type, DNS_CLASS_IN, ttl);
	return SIGNET_OK;
}

/* Add one RR's RDATA to s unless s holds it already; the lower TTL wins. */
static signet_err gather_into(dns_rrset *s, uint32_t ttl, const uint8_t *rdata, size_t len)
{
	long dup = -1;
	signet_err ret = find_rr(s, rdata, len, &dup);
	if (ret == SIGNET_OK && dup < 0)
		ret = dns_rrset_add(s, rdata, len);
	if (ret == SIGNET_OK && ttl < s->ttl)
		s->ttl = ttl;
	return ret;
}

signet_err zone_gather_add(zone_gather *g, const dns_name *owner, uint16_t type, uint32_t ttl,
			   const uint8_t *rdata, size_t len)
{
	if (g == NULL || owner == NULL || (rdata == NULL && len) || g->finished)
		return SIGNET_EINVAL;
	if (g->err != SIGNET_OK)
		return g->err;
	signet_err ret = g->rrs >= g->max_rrs ? SIGNET_ERANGE : SIGNET_OK;
	if (ret == SIGNET_OK)
		ret = check_rr(&g->z.apex, owner, type, ttl, rdata, len);
	dns_rrset *last = g->z.count ? &g->z.sets[g->z.count - 1] : NULL;
	if (ret == SIGNET_OK &&
	    (last == NULL || last->type != type || !dns_name_equal(&last->owner, owner))) {
		ret = gather_new_set(g, owner, type, ttl);
		last = &g->z.sets[g->z.count - 1];
	}
	if (ret == SIGNET_OK)
		ret = gather_into(last, ttl, rdata, len);
	if (ret == SIGNET_OK)
		g->rrs++;
	else
		g->err = ret;
	return ret;
}

static int gather_cmp(const void *pa, const void *pb, void *arg)
{
	const dns_rrset *sets = arg;
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = set_cmp(&sets[a], &sets[b].owner, sets[b].type);
	/* Stable: of two sets of one owner and type, the earlier stays first,
	 * so the owner keeps the spelling it came with first. */
	return c ? c : (a > b) - (a < b);
}

/* Sort z's sets [lo, hi) into canonical order, stably. The sets are moved
 * in place along the cycles of the permutation: a sorted copy would double
 * the zone's largest block for a moment. */
static signet_err sort_sets(dns_zone *z, size_t lo, size_t hi)
{
	size_t n = hi - lo;
	dns_rrset *sets = &z->sets[lo];
	size_t *to = malloc((n ? n : 1) * sizeof(*to));
	if (to == NULL)
		return SIGNET_ENOMEM;
	for (size_t i = 0; i < n; i++)
		to[i] = i;
	qsort_r(to, n, sizeof(*to), gather_cmp, sets);
	/* to[i] is the set that belongs at i. */
	for (size_t i = 0; i < n; i++) {
		if (to[i] == i)
			continue;
		dns_rrset first = sets[i];
		size_t j = i;
		while (to[j] != i) {
			size_t from = to[j];
			sets[j] = sets[from];
			to[j] = j;
			j = from;
		}
		sets[j] = first;
		to[j] = j;
	}
	free(to);
	return SIGNET_OK;
}

/* Sort z's sets, which came node by node, within each node. */
static signet_err sort_nodes(dns_zone *z)
{
	signet_err ret = SIGNET_OK;
	size_t lo = 0;
	while (lo < z->count && ret == SIGNET_OK) {
		size_t hi = lo + 1;
		bool ascending = true;
		for (; hi < z->count && dns_name_equal(&z->sets[lo].owner, &z->sets[hi].owner);
		     hi++)
			if (z->sets[hi - 1].type > z->sets[hi].type)
				ascending = false;
		if (!ascending)
			ret = sort_sets(z, lo, hi);
		lo = hi;
	}
	return ret;
}

/* Merge the sets of one owner and type of sorted z (parts of a set that
 * came apart) into the first of them. */
static signet_err merge_apart(dns_zone *z)
{
	signet_err ret = SIGNET_OK;
	size_t kept = 0, i = 1;
	for (; z->count && i < z->count && ret == SIGNET_OK; i++) {
		dns_rrset *k = &z->sets[kept], *s = &z->sets[i];
		if (s->type != k->type || !dns_name_equal(&s->owner, &k->owner)) {
			z->sets[++kept] = *s;
			continue;
		}
		for (size_t r = 0; r < s->count && ret == SIGNET_OK; r++)
			ret = gather_into(k, s->ttl, s->rr[r].data, s->rr[r].len);
		dns_rrset_clear(s);
	}
	if (ret != SIGNET_OK) {
		/* Sets kept+1 .. i-1 were moved down or merged: forget them, and
		 * close the gap so the zone frees each set once. */
		memmove(&z->sets[kept + 1], &z->sets[i], (z->count - i) * sizeof(*z->sets));
		z->count = kept + 1 + (z->count - i);
		return ret;
	}
	if (z->count)
		z->count = kept + 1;
	return SIGNET_OK;
}

signet_err zone_gather_finish(zone_gather *g, dns_zone *out)
{
	if (g == NULL || out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	out->apex = g->z.apex;
	if (g->finished)
		return SIGNET_EINVAL;
	g->finished = true;
	signet_err ret = g->err;
	if (ret == SIGNET_OK && (!g->sorted || !g->types_sorted)) {
		/* Sets that came apart come together only here: while the
		 * sets are in canonical order, none did. */
		ret = g->sorted ? sort_nodes(&g->z) : sort_sets(&g->z, 0, g->z.count);
		if (ret == SIGNET_OK)
			ret = merge_apart(&g->z);
	}
	if (ret != SIGNET_OK)
		return ret;
	if (g->z.count)
		trim_set(&g->z.sets[g->z.count - 1]);
	/* The spare room of the last growth goes back: the array is the new
	 * version's for as long as the version lives. A few slots stay, for
	 * the sets a sign adds to an unsigned zone (the key set, NSEC3PARAM):
	 * an exact fit would have its first append double the array. */
	size_t want = g->z.count + ZONE_GATHER_SPARE;
	if (g->z.count && g->z.cap != want) {
		dns_rrset *p = realloc(g->z.sets, want * sizeof(*p));
		if (p != NULL) {
			g->z.sets = p;
			g->z.cap = want;
		}
	}
	*out = g->z;
	g->z.sets = NULL;
	g->z.count = g->z.cap = 0;
	return SIGNET_OK;
}

void zone_gather_free(zone_gather *g)
{
	if (g == NULL)
		return;
	dns_name apex = g->z.apex;
	dns_zone_free(&g->z);
	g->z.apex = apex;
}

signet_err zone_from_rrs(const dns_name *apex, const zone_diff *d, size_t max_rrs, dns_zone *out)
{
	if (apex == NULL || d == NULL || out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	out->apex = *apex;
	/* The whole is known here: an oversized difference is refused before
	 * any RR is looked at, as it always was. */
	if (d->nadd > max_rrs)
		return SIGNET_ERANGE;
	zone_gather g;
	zone_gather_init(&g, apex, max_rrs);
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < d->nadd && ret == SIGNET_OK; i++) {
		const zone_rr *r = &d->add[i];
		ret = zone_gather_add(&g, &r->owner, r->type, r->ttl, r->rdata.data, r->rdata.len);
	}
	if (ret == SIGNET_OK)
		ret = zone_gather_finish(&g, out);
	zone_gather_free(&g);
	return ret;
}

/* Canonical copy of s (owner kept as spelled). */
static signet_err canon(const dns_rrset *s, dns_rrset *out)
{
	signet_err ret = dns_rrset_copy(out, s);
	if (ret != SIGNET_OK)
		return ret;
	dns_name owner = out->owner;
	ret = dns_rrset_canonicalize(out);
	out->owner = owner;
	if (ret != SIGNET_OK)
		dns_rrset_clear(out);
	return ret;
}

static signet_err push_set(zone_diff *d, bool add, const dns_rrset *s)
{
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < s->count && ret == SIGNET_OK; i++)
		ret = zone_diff_push(d, add, &s->owner, s->type, s->ttl, s->rr[i].data,
				     s->rr[i].len);
	return ret;
}

static int rd_cmp(const dns_rdata *a, const dns_rdata *b)
{
	size_t n = a->len < b->len ? a->len : b->len;
	int c = n ? memcmp(a->data, b->data, n) : 0;
	return c ? c : (a->len > b->len) - (a->len < b->len);
}

/* The RRs of two versions of one set that differ. */
static signet_err diff_set(zone_diff *d, const dns_rrset *a, const dns_rrset *b)
{
	dns_rrset ca, cb;
	signet_err ret = canon(a, &ca);
	if (ret != SIGNET_OK)
		return ret;
	if ((ret = canon(b, &cb)) != SIGNET_OK) {
		dns_rrset_clear(&ca);
		return ret;
	}
	if (ca.ttl != cb.ttl) {
		ret = push_set(d, false, &ca);
		if (ret == SIGNET_OK)
			ret = push_set(d, true, &cb);
	} else {
		size_t i = 0, j = 0;
		while (ret == SIGNET_OK && (i < ca.count || j < cb.count)) {
			int c = i == ca.count   ? 1
				: j == cb.count ? -1
						: rd_cmp(&ca.rr[i], &cb.rr[j]);
			if (c < 0) {
				ret = zone_diff_push(d, false, &a->owner, a->type, a->ttl,
						     ca.rr[i].data, ca.rr[i].len);
				i++;
			} else if (c > 0) {
				ret = zone_diff_push(d, true, &b->owner, b->type, b->ttl,
						     cb.rr[j].data, cb.rr[j].len);
				j++;
			} else {
				i++;
				j++;
			}
		}
	}
	dns_rrset_clear(&ca);
	dns_rrset_clear(&cb);
	return ret;
}

signet_err zone_diff_between(const dns_zone *a, const dns_zone *b, zone_diff *out)
{
	if (a == NULL || b == NULL || out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	size_t i = 0, j = 0;
	signet_err ret = SIGNET_OK;
	while (ret == SIGNET_OK && (i < a->count || j < b->count)) {
		int c = i == a->count   ? 1
			: j == b->count ? -1
					: set_cmp(&a->sets[i], &b->sets[j].owner, b->sets[j].type);
		if (c < 0)
			ret = push_set(out, false, &a->sets[i++]);
		else if (c > 0)
			ret = push_set(out, true, &b->sets[j++]);
		else
			ret = diff_set(out, &a->sets[i++], &b->sets[j++]);
	}
	if (ret != SIGNET_OK)
		zone_diff_free(out);
	return ret;
}
