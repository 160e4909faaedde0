/* apply.c -- a difference (an IXFR) signed against the version in memory at
 * the cost of the change: the sets it names, the sets below a delegation
 * that appears or goes, their NSEC or NSEC3 records (empty non-terminals
 * above them included) and the neighbours whose next field moves. Every
 * other set keeps its entry and RRSIGs untouched. Over 1,100 lines for one
 * job: which sets a change touches and how their chains move is one
 * argument, read in one place. */
#include "zone/internal.h"

/* A set the difference names (or a delegation's change drags in). */
typedef struct tkey {
	const dns_name *owner; /* into the steps or the current version */
	uint16_t type;
} tkey;

/* One named set: what it was and what it becomes. */
typedef struct change {
	entry *old; /* in the current version's zone range, NULL if none */
	entry *neu; /* owned while has */
	bool has;   /* the set exists in the new version */
} change;

/* A chain record that may change: one name looked at again. */
typedef struct rec {
	dns_name owner;                   /* NSEC: the name as spelled; NSEC3: hash.apex */
	uint8_t hash[DNS_NSEC3_HASH_MAX]; /* NSEC3: the name's hash (20 octets used) */
	bool in;                          /* in the new chain */
	uint16_t *types;                  /* the bitmap's types, owned */
	size_t ntypes;
} rec;

/* A place in the new chain. */
typedef struct slot {
	entry *old;  /* the current record there, NULL for a new one */
	rec *r;      /* recomputed, NULL when only its neighbours moved */
	bool dirty;  /* its RDATA may change */
	size_t nidx; /* its new entry in ap.cnew, NONE when it keeps the old */
} slot;

/* A record that leaves the chain, before slot pos. */
typedef struct gone {
	entry *old;
	size_t pos;
} gone;

/* The apply in progress. */
typedef struct ap {
	zone_engine *e;
	version *cur;
	const zone_keys *k;
	tkey *t; /* sorted, unique */
	size_t nt, capt;
	dns_zone m;          /* the named sets' new content, sorted */
	dns_set_role *mrole; /* roles of m's sets */
	change *ch;          /* parallel to t */
	rec *r;
	size_t nr, capr;
	slot *s;
	size_t ns;
	gone *g;
	size_t ng;
	entry **cnew; /* new chain records, owned until commit */
	size_t ncnew;
	dns_name **names; /* owners of sets cuts named, which t points at */
	size_t nnames, capnames;
	uint16_t *types; /* scratch for one owner's types */
	size_t captypes;
	uint32_t serial, serial_in;
	size_t rrs; /* RRs of the new version's zone sets */
} ap;

static void ap_free(ap *a)
{
	free(a->t);
	dns_zone_free(&a->m);
	free(a->mrole);
	if (a->ch)
		for (size_t i = 0; i < a->nt; i++)
			if (a->ch[i].has)
				zi_entry_free(a->ch[i].neu);
	free(a->ch);
	for (size_t i = 0; i < a->nr; i++)
		free(a->r[i].types);
	free(a->r);
	free(a->s);
	free(a->g);
	for (size_t i = 0; i < a->ncnew; i++)
		zi_entry_free(a->cnew[i]);
	free(a->cnew);
	for (size_t i = 0; i < a->nnames; i++)
		free(a->names[i]);
	free(a->names);
	free(a->types);
}

static int tkey_cmp(const void *pa, const void *pb)
{
	const tkey *a = pa, *b = pb;
	int c = dns_name_compare(a->owner, b->owner);
	return c ? c : (a->type > b->type) - (a->type < b->type);
}

static signet_err tkey_push(ap *a, const dns_name *owner, uint16_t type)
{
	signet_err ret = sg_array_room(&a->t, &a->capt, a->nt, sizeof(*a->t), 64);
	if (ret != SIGNET_OK)
		return ret;
	a->t[a->nt++] = (tkey){owner, type};
	return SIGNET_OK;
}

static void tkey_sort(ap *a)
{
	qsort(a->t, a->nt, sizeof(*a->t), tkey_cmp);
	size_t k = 0;
	for (size_t i = 0; i < a->nt; i++)
		if (k == 0 || tkey_cmp(&a->t[k - 1], &a->t[i]) != 0)
			a->t[k++] = a->t[i];
	a->nt = k;
}

/* First index of t at or after owner/type. */
static size_t t_lower(const ap *a, const dns_name *owner, uint16_t type)
{
	tkey want = {owner, type};
	size_t lo = 0, hi = a->nt;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (tkey_cmp(&a->t[mid], &want) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static bool t_has(const ap *a, const dns_name *owner, uint16_t type)
{
	size_t i = t_lower(a, owner, type);
	return i < a->nt && a->t[i].type == type && dns_name_equal(a->t[i].owner, owner);
}

/* First index of the zone range at or after owner/type. */
static size_t old_lower(const version *v, const dns_name *owner, uint16_t type)
{
	size_t lo = 0, hi = v->nzone;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (zi_entry_cmp(v->e[mid], owner, type) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo;
}

static entry *old_find(const version *v, const dns_name *owner, uint16_t type)
{
	size_t i = old_lower(v, owner, type);
	if (i < v->nzone && v->e[i]->type == type && zi_owner_eq(v->e[i], owner))
		return v->e[i];
	return NULL;
}

static dns_rrset *m_find(const ap *a, const dns_name *owner, uint16_t type)
{
	size_t lo = 0, hi = a->m.count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = zi_set_cmp(&a->m.sets[mid], owner, type);
		if (c == 0)
			return &a->m.sets[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* Whether the new version has a set owner/type (before the changes are
 * made: m holds the named sets' new content). */
static bool new_has(const ap *a, const dns_name *owner, uint16_t type)
{
	if (t_has(a, owner, type))
		return m_find(a, owner, type) != NULL;
	return old_find(a->cur, owner, type) != NULL;
}

/* The role of set owner/type in the new version, as dns_zone_roles gives
 * it: below a delegation glue, at one the NS delegates, the rest signed. */
static dns_set_role new_role(const ap *a, const dns_name *owner, uint16_t type)
{
	const dns_name *apex = &a->e->apex;
	if (!dns_name_is_at_or_below(owner, apex))
		return DNS_SET_OUTSIDE;
	if (owner->len == apex->len)
		return DNS_SET_SIGN;
	dns_name anc = *owner;
	for (;;) {
		dns_name up;
		if (dns_name_parent(&anc, &up) != SIGNET_OK)
			break;
		anc = up;
		if (anc.len <= apex->len)
			break;
		if (new_has(a, &anc, DNS_T_NS))
			return DNS_SET_GLUE;
	}
	if (type == DNS_T_DS)
		return DNS_SET_SIGN;
	if (new_has(a, owner, DNS_T_NS))
		return type == DNS_T_NS ? DNS_SET_DELEGATION : DNS_SET_GLUE;
	return DNS_SET_SIGN;
}

static signet_err m_append(dns_zone *z, const dns_rrset *set)
{
	if (z->count == z->cap) {
		size_t c = z->cap ? 2 * z->cap : 16;
		dns_rrset *p = realloc(z->sets, c * sizeof(*p));
		if (p == NULL)
			return SIGNET_ENOMEM;
		z->sets = p;
		z->cap = c;
	}
	signet_err ret = dns_rrset_copy(&z->sets[z->count], set);
	if (ret == SIGNET_OK)
		z->count++;
	return ret;
}

static int rrset_sort_cmp(const void *pa, const void *pb)
{
	const dns_rrset *x = pa, *y = pb;
	return zi_set_cmp(x, &y->owner, y->type);
}

static void put_serial(dns_rrset *soa, uint32_t serial)
{
	uint8_t *p = soa->rr[0].data + soa->rr[0].len - 20;
	p[0] = (uint8_t)(serial >> 24);
	p[1] = (uint8_t)(serial >> 16);
	p[2] = (uint8_t)(serial >> 8);
	p[3] = (uint8_t)serial;
}

/* A copy of en's owner that lives as long as a (t points at it). */
static signet_err name_keep(ap *a, const entry *en, const dns_name **out)
{
	signet_err ret = sg_array_room(&a->names, &a->capnames, a->nnames, sizeof(*a->names), 16);
	if (ret != SIGNET_OK)
		return ret;
	dns_name *n = malloc(sizeof(*n));
	if (n == NULL)
		return SIGNET_ENOMEM;
	zi_owner(en, n);
	a->names[a->nnames++] = n;
	*out = n;
	return SIGNET_OK;
}

/* The named sets and their current content (the SOA with the inbound
 * serial, as the difference removes it). */
static signet_err gather(ap *a, const zone_diff *steps, size_t nsteps)
{
	const version *v = a->cur;
	const dns_name *soa_owner = NULL;
	signet_err ret = name_keep(a, v->e[v->soa], &soa_owner);
	if (ret == SIGNET_OK)
		ret = tkey_push(a, soa_owner, DNS_T_SOA);
	for (size_t s = 0; s < nsteps && ret == SIGNET_OK; s++) {
		for (size_t i = 0; i < steps[s].ndel && ret == SIGNET_OK; i++)
			ret = tkey_push(a, &steps[s].del[i].owner, steps[s].del[i].type);
		for (size_t i = 0; i < steps[s].nadd && ret == SIGNET_OK; i++)
			ret = tkey_push(a, &steps[s].add[i].owner, steps[s].add[i].type);
	}
	if (ret != SIGNET_OK)
		return ret;
	tkey_sort(a);
	a->m.apex = a->e->apex;
	for (size_t i = 0; i < a->nt && ret == SIGNET_OK; i++) {
		const entry *o = old_find(v, a->t[i].owner, a->t[i].type);
		if (o == NULL)
			continue;
		dns_rrset view;
		zi_view(o, &view);
		ret = m_append(&a->m, &view);
		if (ret == SIGNET_OK && o == v->e[v->soa])
			put_serial(&a->m.sets[a->m.count - 1], v->serial_in);
	}
	return ret;
}

/* Where a delegation appears or goes, every set at and below its name
 * changes role: they join the named sets with their content unchanged. */
static signet_err cuts(ap *a)
{
	const version *v = a->cur;
	size_t nt = a->nt;
	signet_err ret = SIGNET_OK;
	bool added = false;
	for (size_t i = 0; i < nt && ret == SIGNET_OK; i++) {
		const tkey *t = &a->t[i];
		if (t->type != DNS_T_NS || t->owner->len == a->e->apex.len)
			continue;
		bool was = old_find(v, t->owner, DNS_T_NS) != NULL;
		bool is = m_find(a, t->owner, DNS_T_NS) != NULL;
		if (was == is)
			continue;
		const dns_name *cut = t->owner;
		for (size_t k = old_lower(v, cut, 0); k < v->nzone && ret == SIGNET_OK; k++) {
			dns_rrset view;
			zi_view(v->e[k], &view);
			if (!dns_name_is_at_or_below(&view.owner, cut))
				break;
			const dns_rrset *s = &view;
			/* The first nt keys are still sorted: look there. */
			size_t keep = a->nt;
			a->nt = nt;
			bool named = t_has(a, &s->owner, s->type);
			a->nt = keep;
			if (named)
				continue;
			const dns_name *owner = NULL;
			ret = name_keep(a, v->e[k], &owner);
			if (ret == SIGNET_OK)
				ret = tkey_push(a, owner, s->type);
			if (ret == SIGNET_OK)
				ret = m_append(&a->m, s);
			added = true;
		}
	}
	if (ret == SIGNET_OK && added) {
		tkey_sort(a);
		qsort(a->m.sets, a->m.count, sizeof(*a->m.sets), rrset_sort_cmp);
	}
	return ret;
}

/* Roles of m's sets, then each named set's new entry. */
static signet_err changes_make(ap *a, const reuse_rule *rule)
{
	a->mrole = calloc(a->m.count ? a->m.count : 1, sizeof(*a->mrole));
	a->ch = calloc(a->nt ? a->nt : 1, sizeof(*a->ch));
	if (a->mrole == NULL || a->ch == NULL)
		return SIGNET_ENOMEM;
	for (size_t i = 0; i < a->m.count; i++)
		a->mrole[i] = new_role(a, &a->m.sets[i].owner, a->m.sets[i].type);
	size_t mi = 0;
	for (size_t i = 0; i < a->nt; i++) {
		change *c = &a->ch[i];
		c->old = old_find(a->cur, a->t[i].owner, a->t[i].type);
		while (mi < a->m.count &&
		       zi_set_cmp(&a->m.sets[mi], a->t[i].owner, a->t[i].type) < 0)
			mi++;
		if (mi == a->m.count ||
		    zi_set_cmp(&a->m.sets[mi], a->t[i].owner, a->t[i].type) != 0)
			continue;
		/* The set goes from m into the entry. */
		dns_set_role role = a->mrole[mi];
		entry *n = zi_entry_new(&a->m.sets[mi], role, role == DNS_SET_SIGN);
		if (n == NULL)
			return SIGNET_ENOMEM;
		dns_rrset_clear(&a->m.sets[mi]);
		c->neu = n;
		c->has = true;
		const entry *o = c->old;
		dns_rrset nv, ov;
		if (o)
			zi_view(o, &ov);
		zi_view(n, &nv);
		if (!n->item || o == NULL || !o->item || o->sigs.count == 0 ||
		    !zi_same_rrset(&ov, &nv))
			continue;
		for (size_t k = 0; k < o->sigs.count; k++) {
			const dns_rdata *d = &o->sigs.rr[k];
			if (!zi_old_sig_fits(rule, &nv, d->data, d->len))
				continue;
			signet_err ret = zi_sigs_add(&n->sigs, d->data, d->len);
			if (ret != SIGNET_OK)
				return ret;
		}
	}
	return SIGNET_OK;
}

/* ---- the new zone, owner by owner --------------------------------------- */

/* A walk over the new version's zone sets in canonical order: the current
 * ones not named, merged with the named ones' new entries. */
typedef struct cursor {
	size_t oi, ci;
} cursor;

static cursor cursor_at(const ap *a, const dns_name *owner)
{
	return (cursor){old_lower(a->cur, owner, 0), t_lower(a, owner, 0)};
}

static const entry *cursor_next(const ap *a, cursor *c)
{
	const version *v = a->cur;
	for (;;) {
		bool ho = c->oi < v->nzone, hc = c->ci < a->nt;
		if (!ho && !hc)
			return NULL;
		int cmp = !ho   ? 1
			  : !hc ? -1
				: zi_entry_cmp(v->e[c->oi], a->t[c->ci].owner, a->t[c->ci].type);
		if (cmp < 0)
			return v->e[c->oi++];
		if (cmp == 0)
			c->oi++;
		const change *ch = &a->ch[c->ci++];
		if (ch->has)
			return ch->neu;
	}
}

/* One owner of the new version as the chains see it. */
typedef struct owner_view {
	const dns_name *name; /* spelled as its first set: own, or the caller's */
	dns_name own;
	size_t ntypes; /* of sets signed or delegating; types in ap.types */
	bool ns, ds;   /* among them */
} owner_view;

static signet_err types_push(ap *a, size_t *n, uint16_t t)
{
	if (*n == a->captypes) {
		size_t c = a->captypes ? 2 * a->captypes : 32;
		uint16_t *p = realloc(a->types, c * sizeof(*p));
		if (p == NULL)
			return SIGNET_ENOMEM;
		a->types = p;
		a->captypes = c;
	}
	a->types[(*n)++] = t;
	return SIGNET_OK;
}

/* The next owner from c, its chain types in a->types. *ov.name NULL at the
 * end. */
static signet_err owner_next(ap *a, cursor *c, owner_view *ov)
{
	memset(ov, 0, sizeof(*ov));
	cursor save = *c;
	const entry *en = cursor_next(a, c);
	if (en == NULL)
		return SIGNET_OK;
	zi_owner(en, &ov->own);
	ov->name = &ov->own;
	signet_err ret = SIGNET_OK;
	while (en != NULL && ret == SIGNET_OK) {
		if (en->role == DNS_SET_SIGN || en->role == DNS_SET_DELEGATION) {
			ret = types_push(a, &ov->ntypes, en->type);
			ov->ns |= en->type == DNS_T_NS;
			ov->ds |= en->type == DNS_T_DS;
		}
		save = *c;
		en = cursor_next(a, c);
		if (en != NULL && !zi_owner_eq(en, ov->name))
			break;
	}
	if (en != NULL)
		*c = save;
	/* At the apex the key set and NSEC3PARAM are the owner's too. */
	const version *v = a->cur;
	if (ov->name->len == a->e->apex.len && dns_name_equal(ov->name, &a->e->apex))
		for (size_t i = v->nzone; i < v->nzone + v->nextra && ret == SIGNET_OK; i++)
			ret = types_push(a, &ov->ntypes, v->e[i]->type);
	return ret;
}

static bool optout(const ap *a)
{
	return (a->k->nsec3p.flags & DNS_NSEC3_FLAG_OPTOUT) != 0;
}

/* An owner's place in the NSEC3 chain: not an insecure delegation under
 * opt-out. */
static bool nsec3_in(const ap *a, const owner_view *ov)
{
	bool deleg = ov->ns && ov->name->len != a->e->apex.len;
	return ov->ntypes > 0 && !(deleg && optout(a) && !ov->ds);
}

/* Whether some owner strictly below n is in the NSEC3 chain (n is then an
 * empty non-terminal of it). */
static signet_err has_nsec3_below(ap *a, const dns_name *n, bool *out)
{
	*out = false;
	cursor c = cursor_at(a, n);
	for (;;) {
		owner_view ov;
		signet_err ret = owner_next(a, &c, &ov);
		if (ret != SIGNET_OK)
			return ret;
		if (ov.name == NULL || !dns_name_is_at_or_below(ov.name, n))
			return SIGNET_OK;
		if (!dns_name_equal(ov.name, n) && nsec3_in(a, &ov)) {
			*out = true;
			return SIGNET_OK;
		}
	}
}

static signet_err rec_push(ap *a, rec **out)
{
	if (a->nr == a->capr) {
		size_t c = a->capr ? 2 * a->capr : 64;
		rec *p = realloc(a->r, c * sizeof(*p));
		if (p == NULL)
			return SIGNET_ENOMEM;
		a->r = p;
		a->capr = c;
	}
	*out = &a->r[a->nr++];
	memset(*out, 0, sizeof(**out));
	return SIGNET_OK;
}

static signet_err hashed_owner(const ap *a, const uint8_t *hash, dns_name *out)
{
	char label[64];
	signet_err ret = dns_base32hex_encode(hash, 20, label, sizeof(label));
	if (ret != SIGNET_OK)
		return ret;
	size_t ll = strlen(label);
	const dns_name *apex = &a->e->apex;
	if (1 + ll + apex->len > DNS_NAME_MAX)
		return SIGNET_ERANGE;
	out->wire[0] = (uint8_t)ll;
	memcpy(out->wire + 1, label, ll);
	memcpy(out->wire + 1 + ll, apex->wire, apex->len);
	out->len = (uint8_t)(1 + ll + apex->len);
	return SIGNET_OK;
}

/* The record of name n in the new chain, recomputed. */
static signet_err rec_make(ap *a, const dns_name *n)
{
	cursor c = cursor_at(a, n);
	owner_view ov;
	signet_err ret = owner_next(a, &c, &ov);
	if (ret != SIGNET_OK)
		return ret;
	if (ov.name == NULL || !dns_name_equal(ov.name, n)) {
		memset(&ov, 0, sizeof(ov));
		ov.name = n;
	}
	bool at_apex = n->len == a->e->apex.len;
	bool deleg = ov.ns && !at_apex;
	rec *r;
	if ((ret = rec_push(a, &r)) != SIGNET_OK)
		return ret;
	bool signed_here = !deleg || ov.ds;
	size_t keep = 0;
	if (!a->k->nsec3) {
		r->owner = *ov.name;
		r->in = ov.ntypes > 0;
	} else {
		size_t hl = 0;
		ret = dns_nsec3_hash(n, &a->k->nsec3p, r->hash, &hl);
		if (ret == SIGNET_OK && hl != 20)
			ret = SIGNET_EUNSUPPORTED;
		if (ret == SIGNET_OK)
			ret = hashed_owner(a, r->hash, &r->owner);
		if (ret != SIGNET_OK)
			return ret;
		if (ov.ntypes > 0)
			r->in = nsec3_in(a, &ov);
		else if (!at_apex)
			ret = has_nsec3_below(a, n, &r->in);
	}
	if (ret != SIGNET_OK || !r->in || (a->k->nsec3 && ov.ntypes == 0))
		return ret;
	/* The bitmap: at a delegation only NS and DS (RFC 4035 §2.3); NSEC
	 * lists itself and RRSIG, NSEC3 RRSIG where something is signed. */
	r->types = malloc((ov.ntypes + 2) * sizeof(*r->types));
	if (r->types == NULL)
		return SIGNET_ENOMEM;
	for (size_t i = 0; i < ov.ntypes; i++) {
		uint16_t t = a->types[i];
		if (deleg && t != DNS_T_NS && t != DNS_T_DS)
			continue;
		r->types[keep++] = t;
	}
	if (!a->k->nsec3)
		r->types[keep++] = DNS_T_NSEC;
	if (!a->k->nsec3 || signed_here)
		r->types[keep++] = DNS_T_RRSIG;
	r->ntypes = keep;
	return SIGNET_OK;
}

static int name_ptr_cmp(const void *pa, const void *pb)
{
	return dns_name_compare(pa, pb);
}

static int rec_cmp(const void *pa, const void *pb)
{
	const rec *x = pa, *y = pb;
	return dns_name_compare(&x->owner, &y->owner);
}

/* Every name whose chain record may change, recomputed: the named
 * owners, with NSEC3 the names between them and the apex (empty
 * non-terminals come and go), and the apex. */
static signet_err recs(ap *a)
{
	const dns_name *apex = &a->e->apex;
	size_t cap = 16, n = 0;
	dns_name *names = malloc(cap * sizeof(*names));
	signet_err ret = names ? SIGNET_OK : SIGNET_ENOMEM;
	for (size_t i = 0; i <= a->nt && ret == SIGNET_OK; i++) {
		dns_name cur = i < a->nt ? *a->t[i].owner : *apex;
		if (i > 0 && i < a->nt && dns_name_equal(a->t[i - 1].owner, &cur))
			continue;
		for (;;) {
			if (n == cap) {
				dns_name *p = realloc(names, 2 * cap * sizeof(*p));
				if (p == NULL) {
					ret = SIGNET_ENOMEM;
					break;
				}
				names = p;
				cap *= 2;
			}
			names[n++] = cur;
			if (!a->k->nsec3 || cur.len <= apex->len)
				break;
			dns_name up;
			if (dns_name_parent(&cur, &up) != SIGNET_OK || up.len <= apex->len)
				break;
			cur = up;
		}
	}
	if (ret == SIGNET_OK) {
		qsort(names, n, sizeof(*names), name_ptr_cmp);
		for (size_t i = 0; i < n && ret == SIGNET_OK; i++)
			if (i == 0 || !dns_name_equal(&names[i - 1], &names[i]))
				ret = rec_make(a, &names[i]);
	}
	free(names);
	if (ret != SIGNET_OK)
		return ret;
	qsort(a->r, a->nr, sizeof(*a->r), rec_cmp);
	/* Two names of one hash: one of them could not be denied. */
	for (size_t i = 1; i < a->nr; i++)
		if (dns_name_equal(&a->r[i - 1].owner, &a->r[i].owner))
			return SIGNET_EEXIST;
	return SIGNET_OK;
}

/* The new chain: the current one with the recomputed records merged in,
 * marking where next fields may move. */
static signet_err slots(ap *a)
{
	version *v = a->cur;
	size_t c0 = v->nzone + v->nextra, nold = v->n - c0;
	a->s = calloc(nold + a->nr + 1, sizeof(*a->s));
	a->g = calloc(a->nr + 1, sizeof(*a->g));
	if (a->s == NULL || a->g == NULL)
		return SIGNET_ENOMEM;
	size_t i = c0, j = 0;
	bool head = false; /* something came or went before the first slot */
	while (i < v->n || j < a->nr) {
		/* The records up to the next recomputed one's place go as they
		 * are: found by binary search, not compared one by one. */
		size_t upto = v->n;
		if (j < a->nr) {
			size_t lo = i, hi = v->n;
			while (lo < hi) {
				size_t mid = lo + (hi - lo) / 2;
				if (zi_entry_cmp(v->e[mid], &a->r[j].owner, 0) < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
			upto = lo;
		}
		while (i < upto)
			a->s[a->ns++] = (slot){v->e[i++], NULL, false, NONE};
		if (j == a->nr)
			break;
		int c = i < v->n && zi_owner_eq(v->e[i], &a->r[j].owner) ? 0 : 1;
		rec *r = &a->r[j++];
		entry *old = c == 0 ? v->e[i++] : NULL;
		if (!r->in && old == NULL)
			continue;
		/* The record before this place points at it, or past it. */
		if (a->ns)
			a->s[a->ns - 1].dirty = true;
		else
			head = true;
		if (r->in)
			a->s[a->ns++] = (slot){old, r, true, NONE};
		else
			a->g[a->ng++] = (gone){old, a->ns};
	}
	if (head && a->ns)
		a->s[a->ns - 1].dirty = true; /* the last one's next is the first */
	return SIGNET_OK;
}

/* Length of the uncompressed name at the front of p (n octets), 0 if
 * malformed. */
static size_t name_len(const uint8_t *p, size_t n)
{
	size_t off = 0;
	while (off < n) {
		uint8_t l = p[off];
		if (l > 63)
			return 0;
		off += 1u + l;
		if (l == 0)
			return off;
	}
	return 0;
}

/* RDATA of dirty slot i into out. */
static signet_err slot_rdata(ap *a, size_t i, sg_buf *out)
{
	const slot *s = &a->s[i], *nx = &a->s[(i + 1) % a->ns];
	if (!a->k->nsec3) {
		dns_name old_next;
		if (nx->r == NULL)
			zi_owner(nx->old, &old_next);
		const dns_name *next = nx->r ? &nx->r->owner : &old_next;
		if (s->r)
			return dns_nsec_rdata(next, s->r->types, s->r->ntypes, out);
		const dns_rdata *o = &s->old->rr[0];
		size_t nl = name_len(o->data, o->len);
		if (nl == 0)
			return SIGNET_EPARSE;
		signet_err ret = sg_buf_append(out, next->wire, next->len);
		return ret == SIGNET_OK ? sg_buf_append(out, o->data + nl, o->len - nl) : ret;
	}
	uint8_t hash[20];
	if (nx->r) {
		memcpy(hash, nx->r->hash, 20);
	} else {
		dns_nsec3_rec rr;
		const dns_rdata *o = &nx->old->rr[0];
		dns_name owner;
		zi_owner(nx->old, &owner);
		signet_err ret = dns_nsec3_read(&owner, o->data, o->len, &rr);
		if (ret != SIGNET_OK || rr.hash_len != 20)
			return ret != SIGNET_OK ? ret : SIGNET_EPARSE;
		memcpy(hash, rr.hash, 20);
	}
	if (s->r)
		return dns_nsec3_rdata(&a->k->nsec3p, hash, 20, s->r->types, s->r->ntypes, out);
	/* Only the next hash moves: algorithm, flags, iterations, salt, the
	 * hash length, then the bitmap stay. */
	const dns_rdata *o = &s->old->rr[0];
	size_t pre = o->len >= 5 ? 5u + o->data[4] : 0;
	if (pre == 0 || o->len < pre + 1 || o->data[pre] != 20 || o->len < pre + 21)
		return SIGNET_EPARSE;
	signet_err ret = sg_buf_append(out, o->data, pre + 1);
	if (ret == SIGNET_OK)
		ret = sg_buf_append(out, hash, 20);
	if (ret == SIGNET_OK)
		ret = sg_buf_append(out, o->data + pre + 21, o->len - pre - 21);
	return ret;
}

/* New entries for the dirty slots whose record changed. */
static signet_err chain_make(ap *a)
{
	size_t dirty = 0;
	for (size_t i = 0; i < a->ns; i++)
		dirty += a->s[i].dirty;
	a->cnew = calloc(dirty ? dirty : 1, sizeof(*a->cnew));
	if (a->cnew == NULL)
		return SIGNET_ENOMEM;
	uint16_t type = a->k->nsec3 ? DNS_T_NSEC3 : DNS_T_NSEC;
	sg_buf rd = SG_BUF_INIT;
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < a->ns && ret == SIGNET_OK; i++) {
		slot *s = &a->s[i];
		if (!s->dirty)
			continue;
		sg_buf_reset(&rd);
		if ((ret = slot_rdata(a, i, &rd)) != SIGNET_OK)
			break;
		const entry *o = s->old;
		if (o && o->count == 1 && o->ttl == a->cur->neg_ttl && o->rr[0].len == rd.len &&
		    memcmp(o->rr[0].data, rd.data, rd.len) == 0)
			continue;
		/* One RR, lent to the new entry, which copies it. */
		dns_rrset set;
		if (s->r)
			set.owner = s->r->owner;
		else
			zi_owner(o, &set.owner);
		dns_rdata rr = {(uint16_t)rd.len, rd.data};
		set.type = type;
		set.rclass = DNS_CLASS_IN;
		set.ttl = a->cur->neg_ttl;
		set.count = set.cap = 1;
		set.rr = &rr;
		if (rd.len > DNS_RDATA_MAX) {
			ret = SIGNET_ERANGE;
			break;
		}
		entry *n = zi_entry_new(&set, DNS_SET_SIGN, true);
		if (n == NULL) {
			ret = SIGNET_ENOMEM;
			break;
		}
		a->cnew[a->ncnew++] = n;
		s->nidx = a->ncnew - 1;
	}
	sg_buf_free(&rd);
	return ret;
}

/* ---- signing and the switch --------------------------------------------- */

static signet_err sign_new(ap *a, const zone_backend *b, zone_sign_stats *st)
{
	work w;
	memset(&w, 0, sizeof(w));
	w.e = a->e;
	w.k = a->k;
	size_t n = a->ncnew;
	for (size_t i = 0; i < a->nt; i++)
		n += a->ch[i].has && a->ch[i].neu->item && a->ch[i].neu->sigs.count == 0;
	w.send = malloc((n ? n : 1) * sizeof(*w.send));
	signet_err ret = w.send ? SIGNET_OK : SIGNET_ENOMEM;
	for (size_t i = 0; i < a->nt && ret == SIGNET_OK; i++) {
		entry *en = a->ch[i].neu;
		if (a->ch[i].has && en->item && en->sigs.count == 0)
			w.send[w.ntodo++] = en;
	}
	for (size_t i = 0; i < a->ncnew && ret == SIGNET_OK; i++)
		w.send[w.ntodo++] = a->cnew[i];
	if (ret == SIGNET_OK)
		ret = zi_sign_all(&w, b, st);
	if (ret == SIGNET_OK)
		ret = zi_check_answers(&w, st);
	zi_work_free(&w);
	return ret;
}

/* The difference between the version and the new one, in the order
 * version_diff gives it: the zone's sets, then the chain. */
static signet_err changes_list(const ap *a, zone_diff *d)
{
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < a->nt && ret == SIGNET_OK; i++)
		ret = zi_diff_entry(d, a->ch[i].old, a->ch[i].has ? a->ch[i].neu : NULL);
	size_t g = 0;
	for (size_t i = 0; i <= a->ns && ret == SIGNET_OK; i++) {
		while (g < a->ng && a->g[g].pos == i && ret == SIGNET_OK)
			ret = zi_diff_entry(d, a->g[g++].old, NULL);
		if (i < a->ns && a->s[i].nidx != NONE && ret == SIGNET_OK)
			ret = zi_diff_entry(d, a->s[i].old, a->cnew[a->s[i].nidx]);
	}
	if (ret == SIGNET_OK)
		ret = zi_diff_ksk(d, &a->cur->ksk_sigs, &a->k->ksk_sigs);
	return ret;
}

static uint32_t min_exp(uint32_t min, bool *any, const sigset *s)
{
	for (size_t k = 0; k < s->count; k++) {
		if (s->rr[k].len < 12)
			continue;
		uint32_t exp = sg_get_u32(s->rr[k].data + 8);
		if (!*any || dns_serial_compare(exp, min) == -1)
			min = exp;
		*any = true;
	}
	return min;
}

/* The version's serials, counts and earliest expiry after a commit. */
static void finish(const ap *a, version *v, zone_sign_stats *st, bool anyn, uint32_t nmin,
		   size_t items)
{
	v->serial = a->serial;
	v->serial_in = a->serial_in;
	v->items = items;
	v->rrs = a->rrs;
	/* The earliest expiry stays a lower bound: a rescan when the RRSIG
	 * that set it goes would cost a pass over the zone (after a whole
	 * sign most RRSIGs share that expiry). A lower bound errs on the safe
	 * side: the freshness check's whole sign makes it exact again. */
	if (anyn && dns_serial_compare(nmin, v->earliest_zsk) == -1)
		v->earliest_zsk = nmin;
	/* The KSK's RRSIGs may be new: the earliest of all is theirs or the
	 * ZSKs' (the invariant a whole sign sets up). */
	bool anyk = false;
	uint32_t kmin = 0;
	for (size_t k = 0; k < v->ksk_sigs.count; k++) {
		if (v->ksk_sigs.rr[k].len < 12)
			continue;
		uint32_t exp = sg_get_u32(v->ksk_sigs.rr[k].data + 8);
		if (!anyk || dns_serial_compare(exp, kmin) == -1)
			kmin = exp;
		anyk = true;
	}
	v->earliest = v->earliest_zsk;
	if (anyk && dns_serial_compare(kmin, v->earliest_zsk) == -1)
		v->earliest = kmin;
	st->sets = items;
	st->earliest_expiry = v->earliest;
}

/* Make the new version e's: a new entry array that shares every entry
 * not changed with the current version, which stays as it is for the
 * snapshots that hold it (the entries it alone has are freed with it).
 * Everything is allocated first: nothing can fail half-way. */
static signet_err commit(ap *a, zone_sign_stats *st)
{
	version *v = a->cur;
	size_t nzone = v->nzone, items = v->items;
	for (size_t i = 0; i < a->nt; i++) {
		nzone += (size_t)a->ch[i].has - (a->ch[i].old != NULL);
		items += (size_t)(a->ch[i].has && a->ch[i].neu->item) -
			 (size_t)(a->ch[i].old && a->ch[i].old->item);
	}
	items = items + a->ns - (v->n - v->nzone - v->nextra);
	size_t n = nzone + v->nextra + a->ns;
	/* The earliest expiry of what comes in. */
	bool anyn = false;
	uint32_t nmin = 0;
	size_t ndead = a->ng;
	for (size_t i = 0; i < a->nt; i++)
		ndead += a->ch[i].old != NULL;
	for (size_t i = 0; i < a->ns; i++)
		ndead += a->s[i].nidx != NONE && a->s[i].old != NULL;
	version *nv = malloc(sizeof(*nv));
	entry **ne = malloc((n ? n : 1) * sizeof(*ne));
	entry **dead = malloc((ndead ? ndead : 1) * sizeof(*dead));
	dns_rrset ksk;
	dns_rrset_init(&ksk, &a->e->apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	bool ok = nv && ne && dead && dns_rrset_copy(&ksk, &a->k->ksk_sigs) == SIGNET_OK;
	ksk.owner = a->e->apex; /* as make_version spells it */
	if (!ok) {
		free(ne);
		free(dead);
		free(nv);
		dns_rrset_clear(&ksk);
		return SIGNET_ENOMEM;
	}
	/* v's refs change under the lock as readers come and go. */
	pthread_mutex_lock(&a->e->mu);
	*nv = *v;
	pthread_mutex_unlock(&a->e->mu);
	nv->e = ne;
	nv->cap = n;
	nv->ksk_sigs = ksk;
	nv->refs = 0;
	nv->owns_all = false;
	nv->dead = NULL;
	nv->ndead = 0;
	nv->next = NULL;
	size_t nd = 0;
	/* The version's entries are moved as pointers: a name added costs the
	 * pointer array, not the zone. */
	size_t o = 0, i = 0;
	for (size_t j = 0; j < a->nt; j++) {
		/* The entries before the change's place go as a block. */
		size_t upto = i, hi = v->nzone;
		while (upto < hi) {
			size_t mid = upto + (hi - upto) / 2;
			if (zi_entry_cmp(v->e[mid], a->t[j].owner, a->t[j].type) < 0)
				upto = mid + 1;
			else
				hi = mid;
		}
		if (upto > i) {
			memcpy(ne + o, v->e + i, (upto - i) * sizeof(*ne));
			o += upto - i;
			i = upto;
		}
		change *ch = &a->ch[j];
		if (ch->old) {
			i++; /* ch->old is v->e[i] */
			dead[nd++] = ch->old;
		}
		if (!ch->has)
			continue;
		nmin = min_exp(nmin, &anyn, &ch->neu->sigs);
		ne[o++] = ch->neu;
		ch->has = false; /* the version owns it now */
		ch->neu = NULL;
	}
	memcpy(ne + o, v->e + i, (v->nzone - i) * sizeof(*ne));
	o += v->nzone - i;
	size_t soa = NONE;
	for (size_t k = 0; k < o && soa == NONE && zi_owner_eq(ne[k], &a->e->apex); k++)
		if (ne[k]->type == DNS_T_SOA)
			soa = k;
	for (size_t k = 0; k < v->nextra; k++)
		ne[o++] = v->e[v->nzone + k];
	for (size_t k = 0; k < a->ns; k++) {
		slot *s = &a->s[k];
		if (s->nidx == NONE) {
			ne[o++] = s->old;
			continue;
		}
		if (s->old)
			dead[nd++] = s->old;
		nmin = min_exp(nmin, &anyn, &a->cnew[s->nidx]->sigs);
		ne[o++] = a->cnew[s->nidx];
		a->cnew[s->nidx] = NULL; /* the version owns it now */
	}
	for (size_t k = 0; k < a->ng; k++)
		dead[nd++] = a->g[k].old;
	if (nv->dnskey != NONE)
		nv->dnskey = nv->dnskey - v->nzone + nzone;
	nv->nzone = nzone;
	nv->n = n;
	nv->soa = soa;
	finish(a, nv, st, anyn, nmin, items);
	zi_install(a->e, nv, false, dead, nd);
	a->cur = NULL; /* retired: a snapshot may hold it */
	return SIGNET_OK;
}

/* ---- the entry point ---------------------------------------------------- */

static bool same_octets(const dns_rrset *a, const dns_rrset *b)
{
	if (a->count != b->count || (a->count && a->ttl != b->ttl))
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (a->rr[i].len != b->rr[i].len ||
		    (a->rr[i].len && memcmp(a->rr[i].data, b->rr[i].data, a->rr[i].len) != 0))
			return false;
	return true;
}

/* Whether k is what v was signed with: then only the change is signed. */
static bool same_keys(const version *v, const zone_keys *k)
{
	if (!v->signed_here || v->alg != k->alg || v->validity != k->validity ||
	    v->nsec3 != k->nsec3 || v->soa == NONE)
		return false;
	if (k->nsec3 &&
	    (v->nsec3p.algorithm != k->nsec3p.algorithm || v->nsec3p.flags != k->nsec3p.flags ||
	     v->nsec3p.iterations != k->nsec3p.iterations ||
	     v->nsec3p.salt_len != k->nsec3p.salt_len ||
	     memcmp(v->nsec3p.salt, k->nsec3p.salt, k->nsec3p.salt_len) != 0))
		return false;
	const dns_rrset *want[3] = {&k->dnskey, &k->cds, &k->cdnskey};
	const uint16_t types[3] = {DNS_T_DNSKEY, DNS_T_CDS, DNS_T_CDNSKEY};
	for (size_t t = 0; t < 3; t++) {
		const entry *have = NULL;
		for (size_t i = v->nzone; i < v->nzone + v->nextra && !have; i++)
			if (v->e[i]->type == types[t])
				have = v->e[i];
		dns_rrset hv;
		if (have)
			zi_view(have, &hv);
		if (have ? !same_octets(&hv, want[t]) : want[t]->count != 0)
			return false;
	}
	/* The KSK's RRSIGs may differ (a new period of the ceremony's bundle):
	 * they sign nothing else, and commit takes k's. */
	return true;
}

/* The whole way: the unsigned version, the steps applied, a full sign. */
static signet_err apply_whole(zone_engine *e, const zone_diff *steps, size_t nsteps, size_t max_rrs,
			      const zone_keys *k, const zone_backend *b, uint32_t now,
			      zone_sign_stats *st, zone_diff *changes)
{
	dns_zone u;
	signet_err ret = zone_engine_unsigned(e, &u);
	for (size_t i = 0; i < nsteps && ret == SIGNET_OK; i++)
		ret = zone_diff_apply(&u, &steps[i], max_rrs);
	if (ret != SIGNET_OK) {
		dns_zone_free(&u);
		return ret;
	}
	return zone_engine_sign_diff(e, &u, k, b, now, st, changes);
}

signet_err zone_engine_apply(zone_engine *e, const zone_diff *steps, size_t nsteps, size_t max_rrs,
			     const zone_keys *k, const zone_backend *b, uint32_t now,
			     zone_sign_stats *st, zone_diff *changes)
{
	zone_sign_stats dummy;
	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (e == NULL || (steps == NULL && nsteps) || k == NULL || b == NULL || b->start == NULL ||
	    b->wait == NULL)
		return SIGNET_EINVAL;
	if (e->cur == NULL)
		return SIGNET_ENOTFOUND;
	if (k->dnskey.count == 0 || k->ksk_sigs.count == 0 ||
	    (k->nsec3 && k->nsec3p.algorithm != 1))
		return SIGNET_EINVAL;
	if (!same_keys(e->cur, k))
		return apply_whole(e, steps, nsteps, max_rrs, k, b, now, st, changes);
	ap a;
	memset(&a, 0, sizeof(a));
	a.e = e;
	a.cur = e->cur;
	a.k = k;
	signet_err ret = gather(&a, steps, nsteps);
	for (size_t i = 0; i < nsteps && ret == SIGNET_OK; i++)
		ret = zone_diff_apply(&a.m, &steps[i], (size_t)-1);
	/* The bound on the whole zone, and the sets the engine makes itself
	 * dropped as a whole sign drops them. */
	size_t rrs = a.cur->rrs;
	for (size_t i = 0; i < a.nt && ret == SIGNET_OK; i++) {
		const entry *o = old_find(a.cur, a.t[i].owner, a.t[i].type);
		rrs -= o ? o->count : 0;
	}
	size_t kept = 0;
	for (size_t i = 0; i < a.m.count && ret == SIGNET_OK; i++) {
		rrs += a.m.sets[i].count;
		if (zi_dnssec_type(a.m.sets[i].type)) {
			a.rrs += a.m.sets[i].count;
			dns_rrset_clear(&a.m.sets[i]);
			continue;
		}
		a.m.sets[kept++] = a.m.sets[i];
	}
	if (ret == SIGNET_OK)
		a.m.count = kept;
	if (ret == SIGNET_OK && rrs > max_rrs)
		ret = SIGNET_ERANGE;
	a.rrs = rrs - a.rrs; /* without the sets dropped */
	dns_rrset *soa = ret == SIGNET_OK ? m_find(&a, &e->apex, DNS_T_SOA) : NULL;
	if (ret == SIGNET_OK && (soa == NULL || soa->count != 1 || soa->rr[0].len < 22))
		ret = SIGNET_EPARSE;
	if (ret != SIGNET_OK) {
		ap_free(&a);
		return ret;
	}
	const uint8_t *rd = soa->rr[0].data;
	size_t len = soa->rr[0].len;
	uint32_t minimum = sg_get_u32(rd + len - 4);
	if ((minimum < soa->ttl ? minimum : soa->ttl) != a.cur->neg_ttl) {
		/* Every chain record's TTL moves: the whole way is as cheap. */
		ap_free(&a);
		return apply_whole(e, steps, nsteps, max_rrs, k, b, now, st, changes);
	}
	a.serial_in = sg_get_u32(rd + len - 20);
	a.serial = zone_serial_next(e->o.serial, a.serial_in, a.cur->serial, (int64_t)now);
	put_serial(soa, a.serial);
	st->serial = a.serial;
	reuse_rule rule;
	zi_reuse_rule(&rule, e, k, now);
	ret = cuts(&a);
	if (ret == SIGNET_OK)
		ret = changes_make(&a, &rule);
	if (ret == SIGNET_OK)
		ret = recs(&a);
	if (ret == SIGNET_OK)
		ret = slots(&a);
	if (ret == SIGNET_OK)
		ret = chain_make(&a);
	if (ret == SIGNET_OK)
		ret = sign_new(&a, b, st);
	if (ret == SIGNET_OK && changes) {
		ret = changes_list(&a, changes);
		if (ret != SIGNET_OK)
			zone_diff_free(changes);
	}
	if (ret == SIGNET_OK)
		ret = commit(&a, st);
	st->looked = a.nt + a.nr;
	if (ret == SIGNET_OK)
		st->reused = st->sets - st->sent;
	else if (changes)
		zone_diff_free(changes);
	ap_free(&a);
	return ret;
}
