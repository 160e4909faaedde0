/* nsec.c -- the authoritative owners of a zone and its NSEC chain (RFC 4034 §4, RFC 4035 §2.3). */
#include <stdlib.h>
#include <string.h>

#include "dnssec/dnssec.h"
#include "dnssec/internal.h"

void dns_chain_free(dns_chain *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < c->count; i++)
		dns_rrset_clear(&c->sets[i]);
	free(c->sets);
	c->sets = NULL;
	c->count = c->cap = 0;
}

bool dns_owner_has_type(const dns_owner *o, uint16_t type)
{
	for (size_t i = 0; i < o->ntypes; i++)
		if (o->types[i] == type)
			return true;
	return false;
}

/* Sort slot: the owner's sort key (dns_name_canonical_key; only names at
 * or below the apex, well formed, get one), then the index, which keeps the
 * sort stable, so the first spelling of a name the caller
 * gave is the one kept (RFC 6840 §5.1 wants case preserved). */
struct owner_ref {
	const dns_owner *o;
	size_t idx;
	const uint8_t *key;
	size_t klen;
};

static int owner_ref_cmp(const void *pa, const void *pb)
{
	const struct owner_ref *a = pa, *b = pb;
	size_t n = a->klen < b->klen ? a->klen : b->klen;
	int c = n ? memcmp(a->key, b->key, n) : 0;
	if (c == 0 && a->klen != b->klen)
		c = a->klen < b->klen ? -1 : 1;
	if (c != 0)
		return c;
	return (a->idx > b->idx) - (a->idx < b->idx);
}

/* True if a's name is b's or below it: b's key starts a's (keys are
 * prefix-free label by label, so a common prefix ends on a label's end). */
static bool key_at_or_below(const struct owner_ref *a, const struct owner_ref *b)
{
	return a->klen >= b->klen && (b->klen == 0 || memcmp(a->key, b->key, b->klen) == 0);
}

static int u16_cmp(const void *pa, const void *pb)
{
	uint16_t a = *(const uint16_t *)pa, b = *(const uint16_t *)pb;
	return (a > b) - (a < b);
}

/* Union of the types of refs[0..k): sorted, without duplicates, in dst. */
static signet_err merge_types(const struct owner_ref *refs, size_t k, dns_owner *dst)
{
	size_t total = 0;
	for (size_t i = 0; i < k; i++) {
		if (refs[i].o->ntypes > 0 && refs[i].o->types == NULL)
			return SIGNET_EINVAL;
		if (refs[i].o->ntypes > SIZE_MAX / sizeof(uint16_t) - total)
			return SIGNET_ERANGE;
		total += refs[i].o->ntypes;
	}
	dst->types = NULL;
	dst->ntypes = 0;
	if (total == 0)
		return SIGNET_OK;
	uint16_t *t = malloc(total * sizeof(*t));
	if (t == NULL)
		return SIGNET_ENOMEM;
	size_t m = 0;
	for (size_t i = 0; i < k; i++) {
		memcpy(t + m, refs[i].o->types, refs[i].o->ntypes * sizeof(*t));
		m += refs[i].o->ntypes;
	}
	bool sorted = true;
	for (size_t i = 1; i < total && sorted; i++)
		sorted = t[i - 1] < t[i];
	if (!sorted)
		qsort(t, total, sizeof(*t), u16_cmp);
	m = 0;
	for (size_t i = 0; i < total; i++)
		if (m == 0 || t[m - 1] != t[i])
			t[m++] = t[i];
	dst->types = t;
	dst->ntypes = m;
	return SIGNET_OK;
}

signet_err dns_owners_authoritative(const dns_name *apex, const dns_owner *owners, size_t n,
				    dns_owner **out, size_t *nout)
{
	if (apex == NULL || out == NULL || nout == NULL || (n > 0 && owners == NULL))
		return SIGNET_EINVAL;
	*out = NULL;
	*nout = 0;
	if (n == 0)
		return SIGNET_OK;
	if (n > SIZE_MAX / sizeof(struct owner_ref))
		return SIGNET_ERANGE;

	struct owner_ref *refs = malloc(n * sizeof(*refs));
	if (refs == NULL)
		return SIGNET_ENOMEM;
	/* Keys are at most twice the wire length (name.c); one block holds all. */
	size_t room = 0;
	for (size_t i = 0; i < n; i++)
		room += 2u * owners[i].name->len;
	uint8_t *arena = malloc(room ? room : 1);
	if (arena == NULL) {
		free(refs);
		return SIGNET_ENOMEM;
	}
	size_t nref = 0, used = 0;
	bool sorted = true;
	for (size_t i = 0; i < n; i++) {
		const dns_name *name = owners[i].name;
		if (!dns_name_is_at_or_below(name, apex))
			continue;
		uint8_t buf[DNS_NAME_KEY_MAX];
		size_t kl = dns_name_canonical_key(name, buf);
		if (kl > 2u * name->len)
			kl = 0; /* cannot happen; keeps the arena bound obvious */
		memcpy(arena + used, buf, kl);
		refs[nref] = (struct owner_ref){&owners[i], i, arena + used, kl};
		used += kl;
		if (nref > 0 && owner_ref_cmp(&refs[nref - 1], &refs[nref]) > 0)
			sorted = false;
		nref++;
	}
	/* Owners usually come in canonical order already (dns_zone_owners). */
	if (!sorted)
		qsort(refs, nref, sizeof(*refs), owner_ref_cmp);

	dns_owner *res = NULL;
	if (nref > 0) {
		res = calloc(nref, sizeof(*res));
		if (res == NULL) {
			free(refs);
			free(arena);
			return SIGNET_ENOMEM;
		}
	}
	size_t m = 0;
	const struct owner_ref *cut = NULL;
	signet_err err = SIGNET_OK;
	for (size_t i = 0; i < nref;) {
		size_t k = 1;
		while (i + k < nref && refs[i + k].klen == refs[i].klen &&
		       key_at_or_below(&refs[i + k], &refs[i]))
			k++;
		const dns_name *name = refs[i].o->name;
		/* Canonical order keeps a subtree together right after its root,
		 * so one remembered cut is enough to drop glue and occluded names. */
		if (cut != NULL && !key_at_or_below(&refs[i], cut))
			cut = NULL;
		if (cut == NULL) {
			res[m].name = name;
			err = merge_types(&refs[i], k, &res[m]);
			if (err != SIGNET_OK)
				break;
			/* at or below the apex: the apex itself when as long */
			if (name->len != apex->len && dns_owner_has_type(&res[m], DNS_T_NS))
				cut = &refs[i];
			m++;
		}
		i += k;
	}
	free(refs);
	free(arena);
	if (err != SIGNET_OK) {
		dns_owners_free(res, m);
		return err;
	}
	*out = res;
	*nout = m;
	return SIGNET_OK;
}

signet_err dns_nsec_rdata(const dns_name *next, const uint16_t *types, size_t n, sg_buf *out)
{
	if (next == NULL || out == NULL || (n > 0 && types == NULL))
		return SIGNET_EINVAL;
	if (next->len == 0)
		return SIGNET_EINVAL;
	signet_err err = sg_buf_append(out, next->wire, next->len);
	if (err != SIGNET_OK)
		return err;
	return dns_type_bitmap(types, n, out);
}

/* The types an NSEC at o lists into t (room for o->ntypes + 2): at a
 * delegation only what the parent is authoritative for (NS, DS), RFC 4035
 * §2.3; then NSEC and RRSIG. Returns how many. */
static size_t nsec_types(const dns_owner *o, bool delegation, uint16_t *t)
{
	size_t m = 0;
	for (size_t i = 0; i < o->ntypes; i++) {
		uint16_t ty = o->types[i];
		if (delegation && ty != DNS_T_NS && ty != DNS_T_DS)
			continue;
		t[m++] = ty;
	}
	t[m++] = DNS_T_NSEC;
	t[m++] = DNS_T_RRSIG;
	return m;
}

signet_err dns_nsec_chain_each(const dns_name *apex, const dns_owner *owners, size_t n,
			       uint32_t ttl, dns_chain_fn fn, void *arg)
{
	if (apex == NULL || fn == NULL || (n > 0 && owners == NULL))
		return SIGNET_EINVAL;
	dns_owner *auth = NULL;
	size_t nauth = 0;
	signet_err err = dns_owners_authoritative(apex, owners, n, &auth, &nauth);
	if (err != SIGNET_OK)
		return err;

	/* Names without data do not exist for NSEC; the apex must. */
	size_t m = 0;
	for (size_t i = 0; i < nauth; i++) {
		if (auth[i].ntypes == 0) {
			free(auth[i].types);
			continue;
		}
		auth[m++] = auth[i];
	}
	nauth = m;
	if (nauth == 0 || !dns_name_equal(auth[0].name, apex)) {
		dns_owners_free(auth, nauth);
		return SIGNET_EINVAL;
	}
	/* One buffer for the types of every NSEC, as long as the longest. */
	size_t most = 0;
	for (size_t i = 0; i < nauth; i++)
		if (auth[i].ntypes > most)
			most = auth[i].ntypes;
	uint16_t *types = malloc((most + 2) * sizeof(*types));
	if (types == NULL) {
		dns_owners_free(auth, nauth);
		return SIGNET_ENOMEM;
	}
	sg_buf rdata = SG_BUF_INIT;
	for (size_t i = 0; i < nauth && err == SIGNET_OK; i++) {
		const dns_owner *o = &auth[i];
		const dns_owner *next = &auth[(i + 1) % nauth];
		bool deleg = i > 0 && dns_owner_has_type(o, DNS_T_NS);
		size_t ntypes = nsec_types(o, deleg, types);
		sg_buf_reset(&rdata);
		err = dns_nsec_rdata(next->name, types, ntypes, &rdata);
		if (err != SIGNET_OK)
			break;
		dns_rrset set;
		dns_rrset_init(&set, o->name, DNS_T_NSEC, DNS_CLASS_IN, ttl);
		err = dns_rrset_add(&set, rdata.data, rdata.len);
		if (err == SIGNET_OK)
			err = fn(arg, &set);
		dns_rrset_clear(&set);
	}
	sg_buf_free(&rdata);
	free(types);
	dns_owners_free(auth, nauth);
	return err;
}

signet_err dns_chain_take(void *arg, dns_rrset *set)
{
	dns_chain *c = arg;
	signet_err err = sg_array_room(&c->sets, &c->cap, c->count, sizeof(*c->sets), 64);
	if (err != SIGNET_OK)
		return err;
	c->sets[c->count++] = *set;
	/* The RRs are the chain's now: what the caller clears is empty. */
	set->rr = NULL;
	set->count = set->cap = 0;
	return SIGNET_OK;
}

signet_err dns_nsec_chain(const dns_name *apex, const dns_owner *owners, size_t n, uint32_t ttl,
			  dns_chain *out)
{
	if (out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	signet_err err = dns_nsec_chain_each(apex, owners, n, ttl, dns_chain_take, out);
	if (err != SIGNET_OK)
		dns_chain_free(out);
	return err;
}
