/* zone_roles.c -- which RRsets of a zone are signed, delegated or glue, and the
 * owner/type index the NSEC and NSEC3 chains are built from. */
#include <stdlib.h>
#include <string.h>

#include "dnssec/dnssec.h"

/* The delegation points of a zone, as an open-addressing hash set of their
 * lower-cased wire forms: a name's ancestors are suffixes of its wire form,
 * so each is looked up in place. A sorted list searched by dns_name_compare
 * for every ancestor of every set was a large part of building a chain. */
typedef struct cut_set {
	const dns_name **slot; /* NULL: empty */
	size_t mask;           /* slots - 1, a power of two minus one */
} cut_set;

static uint8_t lower(uint8_t c)
{
	return (c >= 'A' && c <= 'Z') ? (uint8_t)(c - 'A' + 'a') : c;
}

static uint32_t hash_lower(const uint8_t *w, size_t n)
{
	uint32_t h = 2166136261u; /* FNV-1a */
	for (size_t i = 0; i < n; i++)
		h = (h ^ lower(w[i])) * 16777619u;
	return h;
}

static bool same_lower(const uint8_t *a, const uint8_t *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (lower(a[i]) != lower(b[i]))
			return false;
	return true;
}

static bool cut_has(const cut_set *c, const uint8_t *w, size_t n)
{
	if (c->slot == NULL)
		return false;
	for (size_t i = hash_lower(w, n) & c->mask;; i = (i + 1) & c->mask) {
		const dns_name *s = c->slot[i];
		if (s == NULL)
			return false;
		if (s->len == n && same_lower(s->wire, w, n))
			return true;
	}
}

/* The NS owners of z strictly below the apex; SIGNET_ENOMEM. */
static signet_err cut_build(const dns_zone *z, cut_set *c)
{
	size_t n = 0;
	for (size_t i = 0; i < z->count; i++)
		n += z->sets[i].type == DNS_T_NS;
	c->slot = NULL;
	c->mask = 0;
	if (n == 0)
		return SIGNET_OK;
	size_t slots = 16;
	while (slots < 2 * n)
		slots *= 2;
	c->slot = calloc(slots, sizeof(*c->slot));
	if (c->slot == NULL)
		return SIGNET_ENOMEM;
	c->mask = slots - 1;
	for (size_t i = 0; i < z->count; i++) {
		const dns_name *o = &z->sets[i].owner;
		if (z->sets[i].type != DNS_T_NS || dns_name_equal(o, &z->apex) ||
		    !dns_name_is_at_or_below(o, &z->apex) || cut_has(c, o->wire, o->len))
			continue;
		size_t k = hash_lower(o->wire, o->len) & c->mask;
		while (c->slot[k] != NULL)
			k = (k + 1) & c->mask;
		c->slot[k] = o;
	}
	return SIGNET_OK;
}

/* Of n, at or below apex and not the apex: whether a strict ancestor still
 * below the apex is a cut (*below) and whether n itself is one (*at). */
static void cut_place(const cut_set *c, const dns_name *n, const dns_name *apex, bool *below,
		      bool *at)
{
	*below = false;
	*at = cut_has(c, n->wire, n->len);
	size_t off = 1u + n->wire[0];
	while (off < n->len && (size_t)(n->len - off) > apex->len) {
		if (cut_has(c, n->wire + off, n->len - off)) {
			*below = true;
			return;
		}
		off += 1u + n->wire[off];
	}
}

signet_err dns_zone_roles(const dns_zone *z, dns_set_role *roles)
{
	if (z == NULL || (roles == NULL && z->count != 0))
		return SIGNET_EINVAL;
	cut_set cuts;
	if (cut_build(z, &cuts) != SIGNET_OK)
		return SIGNET_ENOMEM;
	/* Sets of one owner are usually neighbours: the owner's place is
	 * worked out once for them. */
	const dns_name *prev = NULL;
	bool inside = false, apex = false, below = false, at = false;
	for (size_t i = 0; i < z->count; i++) {
		const dns_rrset *s = &z->sets[i];
		if (prev == NULL || prev->len != s->owner.len ||
		    memcmp(prev->wire, s->owner.wire, s->owner.len) != 0) {
			prev = &s->owner;
			inside = dns_name_is_at_or_below(&s->owner, &z->apex);
			apex = inside && s->owner.len == z->apex.len;
			below = at = false;
			if (inside && !apex)
				cut_place(&cuts, &s->owner, &z->apex, &below, &at);
		}
		if (!inside)
			roles[i] = DNS_SET_OUTSIDE;
		else if (below)
			roles[i] = DNS_SET_GLUE;
		else if (apex || s->type == DNS_T_DS)
			roles[i] = DNS_SET_SIGN;
		else if (at)
			/* At a cut: the NS is the delegation, anything else but DS
			 * is occluded by it (RFC 4035 §2.2). */
			roles[i] = s->type == DNS_T_NS ? DNS_SET_DELEGATION : DNS_SET_GLUE;
		else
			roles[i] = DNS_SET_SIGN;
	}
	free(cuts.slot);
	return SIGNET_OK;
}

void dns_owners_free(dns_owner *owners, size_t n)
{
	if (owners == NULL)
		return;
	for (size_t i = 0; i < n; i++)
		free(owners[i].types);
	free(owners);
}

/* A set's place in canonical order: its owner's sort key (empty and !good
 * for a malformed owner, which dns_name_compare puts first), then its index,
 * so equal owners keep the order they had. */
typedef struct set_key {
	const uint8_t *key;
	size_t klen;
	size_t idx;
	bool good;
} set_key;

static int set_key_cmp(const void *pa, const void *pb)
{
	const set_key *a = pa, *b = pb;
	if (a->good != b->good)
		return a->good ? 1 : -1;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = n ? memcmp(a->key, b->key, n) : 0;
	if (c == 0 && a->klen != b->klen)
		c = a->klen < b->klen ? -1 : 1;
	if (c != 0)
		return c;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* Sort keys[0..n): zones come sorted from dns_zone_parse with a few sets
 * (the key set, NSEC3PARAM) appended, so the sorted front is kept, the tail
 * sorted alone and the two merged. */
static void sort_keys(set_key *keys, size_t n)
{
	size_t p = 1;
	while (p < n && set_key_cmp(&keys[p - 1], &keys[p]) <= 0)
		p++;
	if (p >= n)
		return;
	size_t t = n - p;
	set_key *tail = malloc(t * sizeof(*tail));
	if (tail == NULL) {
		qsort(keys, n, sizeof(*keys), set_key_cmp); /* slower, same order */
		return;
	}
	qsort(keys + p, t, sizeof(*keys), set_key_cmp);
	memcpy(tail, keys + p, t * sizeof(*tail));
	/* From the back: the front's unmerged part is never overwritten. */
	size_t i = p, j = t, o = n;
	while (j > 0) {
		if (i > 0 && set_key_cmp(&keys[i - 1], &tail[j - 1]) > 0)
			keys[--o] = keys[--i];
		else
			keys[--o] = tail[--j];
	}
	free(tail);
}

signet_err dns_zone_owners(const dns_zone *z, const dns_set_role *roles, dns_owner **out, size_t *n)
{
	if (z == NULL || out == NULL || n == NULL || (roles == NULL && z->count))
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	size_t m = 0, room = 0;
	for (size_t i = 0; i < z->count; i++)
		if (roles[i] == DNS_SET_SIGN || roles[i] == DNS_SET_DELEGATION) {
			m++;
			room += 2u * z->sets[i].owner.len;
		}
	/* Keys are at most twice the wire length (name.c); one block holds all. */
	set_key *keys = malloc((m ? m : 1) * sizeof(*keys));
	uint8_t *arena = malloc(room ? room : 1);
	dns_owner *owners = calloc(m ? m : 1, sizeof(*owners));
	if (keys == NULL || arena == NULL || owners == NULL) {
		free(keys);
		free(arena);
		free(owners);
		return SIGNET_ENOMEM;
	}
	size_t k = 0, used = 0;
	for (size_t i = 0; i < z->count; i++) {
		if (roles[i] != DNS_SET_SIGN && roles[i] != DNS_SET_DELEGATION)
			continue;
		const dns_name *o = &z->sets[i].owner;
		uint8_t buf[DNS_NAME_KEY_MAX];
		size_t kl = dns_name_canonical_key(o, buf);
		if (kl > 2u * o->len)
			kl = 0; /* cannot happen; keeps the arena bound obvious */
		memcpy(arena + used, buf, kl);
		keys[k] = (set_key){arena + used, kl, i,
				    kl > 0 || (o->len == 1 && o->wire[0] == 0)};
		used += kl;
		k++;
	}
	sort_keys(keys, m);

	size_t count = 0;
	signet_err ret = SIGNET_OK;
	for (size_t a = 0; a < m;) {
		/* One owner: the run of equal keys; its types in one allocation. */
		size_t b = a + 1;
		while (b < m && keys[b].good == keys[a].good && keys[b].klen == keys[a].klen &&
		       memcmp(keys[b].key, keys[a].key, keys[a].klen) == 0 &&
		       (keys[a].good ||
			dns_name_equal(&z->sets[keys[a].idx].owner, &z->sets[keys[b].idx].owner)))
			b++;
		dns_owner *o = &owners[count];
		o->types = malloc((b - a) * sizeof(*o->types));
		if (o->types == NULL) {
			ret = SIGNET_ENOMEM;
			break;
		}
		count++;
		o->name = &z->sets[keys[a].idx].owner;
		for (size_t j = a; j < b; j++)
			o->types[o->ntypes++] = z->sets[keys[j].idx].type;
		a = b;
	}
	free(keys);
	free(arena);
	if (ret != SIGNET_OK) {
		dns_owners_free(owners, count);
		return ret;
	}
	*out = owners;
	*n = count;
	return SIGNET_OK;
}
