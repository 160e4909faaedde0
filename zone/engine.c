/* engine.c -- a zone kept signed in memory: a new unsigned version is signed
 * against the last signed one, reusing the RRSIGs of every RRset whose
 * content did not change, and replaces it only when complete. About 1,000
 * lines for one job: the walk over a version, its chains and the reuse of
 * signatures are one pass. */
#include <stdlib.h>
#include <string.h>

#include "zone/internal.h"

/* A sigset's block of n RRs whose octets total octets. */
static dns_rdata *sigs_block(size_t n, size_t octets)
{
	return malloc(n * sizeof(dns_rdata) + (octets ? octets : 1));
}

signet_err zi_sigs_add(sigset *s, const uint8_t *d, size_t len)
{
	if (d == NULL && len != 0)
		return SIGNET_EINVAL;
	if (len > DNS_RDATA_MAX)
		return SIGNET_ERANGE;
	/* Sets have an RRSIG or two: the block is made again for each. */
	size_t octets = len;
	for (size_t i = 0; i < s->count; i++)
		octets += s->rr[i].len;
	dns_rdata *b = sigs_block(s->count + 1, octets);
	if (b == NULL)
		return SIGNET_ENOMEM;
	uint8_t *p = (uint8_t *)(b + s->count + 1);
	for (size_t i = 0; i <= s->count; i++) {
		const uint8_t *from = i < s->count ? s->rr[i].data : d;
		size_t n = i < s->count ? s->rr[i].len : len;
		b[i].len = (uint16_t)n;
		b[i].data = n ? p : NULL;
		if (n)
			memcpy(p, from, n);
		p += n;
	}
	free(s->rr);
	s->rr = b;
	s->count++;
	return SIGNET_OK;
}

signet_err zi_sigs_take(sigset *s, dns_rrset *from)
{
	size_t octets = 0;
	for (size_t i = 0; i < from->count; i++)
		octets += from->rr[i].len;
	dns_rdata *b = sigs_block(from->count ? from->count : 1, octets);
	if (b == NULL) {
		dns_rrset_clear(from);
		return SIGNET_ENOMEM;
	}
	uint8_t *p = (uint8_t *)(b + (from->count ? from->count : 1));
	for (size_t i = 0; i < from->count; i++) {
		b[i].len = from->rr[i].len;
		b[i].data = b[i].len ? p : NULL;
		if (b[i].len)
			memcpy(p, from->rr[i].data, b[i].len);
		p += b[i].len;
	}
	zi_sigs_clear(s);
	s->rr = b;
	s->count = from->count;
	dns_rrset_clear(from);
	return SIGNET_OK;
}

void zi_sigs_clear(sigset *s)
{
	free(s->rr);
	*s = (sigset){0, NULL};
}

void zi_sigs_view(const entry *en, dns_rrset *out)
{
	out->type = DNS_T_RRSIG;
	out->rclass = DNS_CLASS_IN;
	out->ttl = en->ttl;
	zi_owner(en, &out->owner);
	out->count = en->sigs.count;
	out->cap = en->sigs.count;
	out->rr = en->sigs.rr;
}

entry *zi_entry_new(const dns_rrset *s, dns_set_role role, bool item)
{
	if (s->count > UINT32_MAX || s->owner.len == 0)
		return NULL;
	size_t octets = 0;
	for (size_t i = 0; i < s->count; i++)
		octets += s->rr[i].len;
	/* The descriptors right after the header keep their alignment. */
	entry *en = malloc(sizeof(*en) + s->count * sizeof(dns_rdata) + s->owner.len + octets);
	if (en == NULL)
		return NULL;
	en->sigs = (sigset){0, NULL};
	en->rr = (dns_rdata *)(en + 1);
	en->count = (uint32_t)s->count;
	en->ttl = s->ttl;
	en->type = s->type;
	en->olen = s->owner.len;
	en->role = (uint8_t)role;
	en->item = item;
	uint8_t *p = (uint8_t *)(en->rr + en->count);
	memcpy(p, s->owner.wire, s->owner.len);
	p += s->owner.len;
	for (size_t i = 0; i < s->count; i++) {
		en->rr[i].len = s->rr[i].len;
		en->rr[i].data = s->rr[i].len ? p : NULL;
		if (s->rr[i].len)
			memcpy(p, s->rr[i].data, s->rr[i].len);
		p += s->rr[i].len;
	}
	return en;
}

void zi_entry_free(entry *en)
{
	if (en == NULL)
		return;
	zi_sigs_clear(&en->sigs);
	free(en);
}

void zi_view(const entry *en, dns_rrset *out)
{
	out->type = en->type;
	out->rclass = DNS_CLASS_IN;
	out->ttl = en->ttl;
	zi_owner(en, &out->owner);
	out->count = en->count;
	out->cap = en->count;
	out->rr = en->rr;
}

bool zi_owner_eq(const entry *en, const dns_name *n)
{
	if (en->olen != n->len)
		return false;
	if (memcmp(zi_owner_wire(en), n->wire, n->len) == 0)
		return true;
	dns_name o;
	zi_owner(en, &o);
	return dns_name_equal(&o, n);
}

int zi_entry_cmp(const entry *en, const dns_name *owner, uint16_t type)
{
	int c;
	if (en->olen == owner->len && memcmp(zi_owner_wire(en), owner->wire, owner->len) == 0) {
		c = 0;
	} else {
		dns_name o;
		zi_owner(en, &o);
		c = dns_name_compare(&o, owner);
	}
	if (c == 0)
		c = en->type < type ? -1 : en->type > type ? 1 : 0;
	return c;
}

void zi_version_free(version *v)
{
	if (v == NULL)
		return;
	/* Entries past n: made for a version being built, or left by a load. */
	for (size_t i = 0; v->e && i < v->cap; i++)
		zi_entry_free(v->e[i]);
	free(v->e);
	dns_rrset_clear(&v->ksk_sigs);
	free(v);
}

/* Room for n entries in v, each allocated alone as it is made (so a
 * change moves pointers, not entries): v->e[0..n) NULL, v->cap n. */
static signet_err entries_alloc(version *v, size_t n)
{
	v->e = calloc(n ? n : 1, sizeof(*v->e));
	if (v->e == NULL)
		return SIGNET_ENOMEM;
	v->cap = n;
	return SIGNET_OK;
}

static signet_err check_options(const zone_options *o)
{
	if (o == NULL || o->batch < 1 || o->batch > BATCH_MAX || o->inflight < 1 ||
	    o->inflight > INFLIGHT_MAX || o->refresh < -1 || o->refresh > 365LL * 86400 ||
	    o->serial > ZONE_SERIAL_DATECOUNTER)
		return SIGNET_EINVAL;
	return SIGNET_OK;
}

signet_err zone_engine_new(const dns_name *apex, const zone_options *o, zone_engine **out)
{
	if (apex == NULL || out == NULL || check_options(o) != SIGNET_OK)
		return SIGNET_EINVAL;
	zone_engine *e = calloc(1, sizeof(*e));
	if (e == NULL)
		return SIGNET_ENOMEM;
	if (pthread_mutex_init(&e->mu, NULL) != 0) {
		free(e);
		return SIGNET_ENOMEM;
	}
	e->apex = *apex;
	e->o = *o;
	*out = e;
	return SIGNET_OK;
}

/* A retired version: its own entries freed, the shared ones left to the
 * newer versions that have them. */
static void retired_free(version *v)
{
	if (v->owns_all) {
		free(v->dead);
		zi_version_free(v);
		return;
	}
	for (size_t i = 0; i < v->ndead; i++)
		zi_entry_free(v->dead[i]);
	free(v->dead);
	free(v->e);
	dns_rrset_clear(&v->ksk_sigs);
	free(v);
}

/* The retired versions no snapshot holds, oldest first, unlinked from e
 * (under e->mu); the caller frees them after unlocking. */
static version *retired_take(zone_engine *e)
{
	version *head = NULL, **tail = &head;
	while (e->retired && e->retired->refs == 0) {
		version *v = e->retired;
		e->retired = v->next;
		v->next = NULL;
		*tail = v;
		tail = &v->next;
	}
	if (e->retired == NULL)
		e->retired_last = NULL;
	return head;
}

static void retired_free_list(version *v)
{
	while (v) {
		version *next = v->next;
		retired_free(v);
		v = next;
	}
}

static void engine_destroy(zone_engine *e)
{
	/* No snapshot is left: every retired version goes, oldest first. */
	version *v = e->retired;
	e->retired = NULL;
	retired_free_list(v);
	zi_version_free(e->cur);
	pthread_mutex_destroy(&e->mu);
	free(e);
}

void zone_engine_free(zone_engine *e)
{
	if (e == NULL)
		return;
	pthread_mutex_lock(&e->mu);
	e->freed = true;
	bool held = e->snaps > 0;
	pthread_mutex_unlock(&e->mu);
	if (!held)
		engine_destroy(e);
}

void zi_install(zone_engine *e, version *v, bool owns_all, entry **old_dead, size_t ndead)
{
	pthread_mutex_lock(&e->mu);
	version *old = e->cur;
	e->cur = v;
	if (old) {
		old->owns_all = owns_all;
		old->dead = old_dead;
		old->ndead = ndead;
		old->next = NULL;
		if (e->retired_last)
			e->retired_last->next = old;
		else
			e->retired = old;
		e->retired_last = old;
	} else {
		free(old_dead);
	}
	version *gone = retired_take(e);
	pthread_mutex_unlock(&e->mu);
	retired_free_list(gone);
}

/* ---- snapshots ------------------------------------------------------------ */

struct zone_snap {
	zone_engine *e;
	version *v;
};

/* The current version held (NULL before one): it stays as it is until
 * unpin, whatever the signing thread installs meanwhile. */
static version *pin(zone_engine *e)
{
	pthread_mutex_lock(&e->mu);
	version *v = e->cur;
	if (v) {
		v->refs++;
		e->snaps++;
	}
	pthread_mutex_unlock(&e->mu);
	return v;
}

static void unpin(zone_engine *e, version *v)
{
	pthread_mutex_lock(&e->mu);
	v->refs--;
	e->snaps--;
	version *gone = retired_take(e);
	bool destroy = e->freed && e->snaps == 0;
	pthread_mutex_unlock(&e->mu);
	retired_free_list(gone);
	if (destroy)
		engine_destroy(e);
}

signet_err zone_engine_snap(zone_engine *e, zone_snap **out)
{
	if (e == NULL || out == NULL)
		return SIGNET_EINVAL;
	*out = NULL;
	zone_snap *s = malloc(sizeof(*s));
	if (s == NULL)
		return SIGNET_ENOMEM;
	version *v = pin(e);
	if (v == NULL) {
		free(s);
		return SIGNET_ENOTFOUND;
	}
	*s = (zone_snap){e, v};
	*out = s;
	return SIGNET_OK;
}

signet_err zone_snap_hold(zone_snap *s, zone_snap **out)
{
	if (s == NULL || out == NULL)
		return SIGNET_EINVAL;
	*out = malloc(sizeof(**out));
	if (*out == NULL)
		return SIGNET_ENOMEM;
	pthread_mutex_lock(&s->e->mu);
	s->v->refs++;
	s->e->snaps++;
	pthread_mutex_unlock(&s->e->mu);
	**out = *s;
	return SIGNET_OK;
}

void zone_snap_release(zone_snap *s)
{
	if (s == NULL)
		return;
	zone_engine *e = s->e;
	version *v = s->v;
	free(s);
	unpin(e, v);
}

signet_err zone_snap_serials(const zone_snap *s, uint32_t *out_serial, uint32_t *in_serial)
{
	if (s == NULL)
		return SIGNET_EINVAL;
	if (out_serial)
		*out_serial = s->v->serial;
	if (in_serial)
		*in_serial = s->v->serial_in;
	return SIGNET_OK;
}

/* The next set of v in the order of the text form (see zone_snap_next). */
static const dns_rrset *next_set(const version *v, zone_cursor *c)
{
	for (;;) {
		size_t idx;
		if (c->stage == 0) {
			if (v->soa == NONE) {
				c->stage = 1;
				c->i = c->k = 0;
				continue;
			}
			idx = v->soa;
		} else if (c->stage == 1) {
			if (c->i >= v->nzone + v->nextra) {
				c->stage = 2;
				c->i = v->nzone + v->nextra;
				c->k = 0;
				continue;
			}
			if (c->i == v->soa) {
				c->i++;
				continue;
			}
			idx = c->i;
		} else if (c->stage == 2 && c->i < v->n) {
			idx = c->i;
		} else {
			return NULL;
		}
		const entry *en = v->e[idx];
		const dns_rrset *out = NULL;
		if (c->stage < 2 && en->role == DNS_SET_OUTSIDE && c->k < 3)
			c->k = 3;
		switch (c->k) {
		case 0:
			c->k = 1;
			if (en->count || c->stage == 2) {
				zi_view(en, &c->view);
				out = &c->view;
			}
			break;
		case 1:
			c->k = 2;
			if (en->sigs.count) {
				zi_sigs_view(en, &c->view);
				out = &c->view;
			}
			break;
		case 2:
			c->k = 3;
			if (c->stage < 2 && idx == v->dnskey && v->ksk_sigs.count)
				out = &v->ksk_sigs;
			break;
		default:
			c->k = 0;
			if (c->stage == 0)
				c->stage = 1;
			else
				c->i++;
			break;
		}
		if (out)
			return out;
	}
}

const dns_rrset *zone_snap_next(const zone_snap *s, zone_cursor *c)
{
	return s && c ? next_set(s->v, c) : NULL;
}

signet_err zone_engine_set_options(zone_engine *e, const zone_options *o)
{
	if (e == NULL || check_options(o) != SIGNET_OK)
		return SIGNET_EINVAL;
	e->o = *o;
	return SIGNET_OK;
}

/* The engine's lock, taken by readers of a const engine: the lock is not
 * part of what const promises. */
static pthread_mutex_t *mu_of(const zone_engine *e)
{
	return &((zone_engine *)e)->mu;
}

bool zone_engine_has_version(const zone_engine *e)
{
	if (e == NULL)
		return false;
	pthread_mutex_lock(mu_of(e));
	bool has = e->cur != NULL;
	pthread_mutex_unlock(mu_of(e));
	return has;
}

signet_err zone_engine_serials(const zone_engine *e, uint32_t *out_serial, uint32_t *in_serial)
{
	if (e == NULL)
		return SIGNET_ENOTFOUND;
	signet_err ret = SIGNET_ENOTFOUND;
	pthread_mutex_lock(mu_of(e));
	if (e->cur) {
		if (out_serial)
			*out_serial = e->cur->serial;
		if (in_serial)
			*in_serial = e->cur->serial_in;
		ret = SIGNET_OK;
	}
	pthread_mutex_unlock(mu_of(e));
	return ret;
}

uint32_t zone_engine_earliest_expiry(const zone_engine *e)
{
	if (e == NULL)
		return 0;
	pthread_mutex_lock(mu_of(e));
	uint32_t v = e->cur ? e->cur->earliest : 0;
	pthread_mutex_unlock(mu_of(e));
	return v;
}

uint32_t zone_engine_earliest_zsk_expiry(const zone_engine *e)
{
	if (e == NULL)
		return 0;
	pthread_mutex_lock(mu_of(e));
	uint32_t v = e->cur ? e->cur->earliest_zsk : 0;
	pthread_mutex_unlock(mu_of(e));
	return v;
}

/* dns_name_equal, trying the exact octets first: versions spell their names
 * alike, and this runs for every set. */
bool zi_name_eq(const dns_name *a, const dns_name *b)
{
	return a->len == b->len && a->len != 0 &&
	       (memcmp(a->wire, b->wire, a->len) == 0 || dns_name_equal(a, b));
}

int zi_set_cmp(const dns_rrset *s, const dns_name *owner, uint16_t type)
{
	int c = dns_name_compare(&s->owner, owner);
	if (c == 0)
		c = s->type < type ? -1 : s->type > type ? 1 : 0;
	return c;
}

/* The entry of owner/type among e[lo, hi), sorted; *hint (the entry after
 * the one found last) is tried first, as both versions come in order. */
entry *zi_find_sorted(entry *const *e, size_t lo, size_t hi, const dns_name *owner, uint16_t type,
		      size_t *hint)
{
	for (size_t i = *hint < lo ? lo : *hint; i < hi && i < *hint + 4; i++)
		if (e[i]->type == type && zi_owner_eq(e[i], owner)) {
			*hint = i + 1;
			return e[i];
		}
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = zi_entry_cmp(e[mid], owner, type);
		if (c == 0) {
			*hint = mid + 1;
			return e[mid];
		}
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

/* The entry of v for owner/type, which sits in range `range` (0 zone, 1
 * extra, 2 chain) of its own version. */
static entry *find_old(version *v, int range, const dns_name *owner, uint16_t type, size_t *hint)
{
	if (v == NULL)
		return NULL;
	if (range == 1) {
		for (size_t i = v->nzone; i < v->nzone + v->nextra; i++)
			if (v->e[i]->type == type && zi_owner_eq(v->e[i], owner))
				return v->e[i];
		return NULL;
	}
	if (range == 0)
		return zi_find_sorted(v->e, 0, v->nzone, owner, type, &hint[0]);
	return zi_find_sorted(v->e, v->nzone + v->nextra, v->n, owner, type, &hint[1]);
}

/* True if the RRs of a and b are the same set (TTL included). */
bool zi_same_rrset(const dns_rrset *a, const dns_rrset *b)
{
	if (a->ttl != b->ttl)
		return false;
	bool equal = a->count == b->count;
	for (size_t i = 0; equal && i < a->count; i++)
		equal = a->rr[i].len == b->rr[i].len &&
			(a->rr[i].len == 0 ||
			 memcmp(a->rr[i].data, b->rr[i].data, a->rr[i].len) == 0);
	if (equal)
		return true;
	/* A set that does not canonicalize is just not reused: it gets signed. */
	dns_rrset ca, cb;
	dns_rrset_init(&ca, NULL, 0, 0, 0);
	dns_rrset_init(&cb, NULL, 0, 0, 0);
	bool same = dns_rrset_copy(&ca, a) == SIGNET_OK && dns_rrset_copy(&cb, b) == SIGNET_OK &&
		    dns_rrset_canonicalize(&ca) == SIGNET_OK &&
		    dns_rrset_canonicalize(&cb) == SIGNET_OK && ca.count == cb.count;
	for (size_t i = 0; same && i < ca.count; i++)
		same = ca.rr[i].len == cb.rr[i].len &&
		       (ca.rr[i].len == 0 ||
			memcmp(ca.rr[i].data, cb.rr[i].data, ca.rr[i].len) == 0);
	dns_rrset_clear(&ca);
	dns_rrset_clear(&cb);
	return same;
}


/* True if the old RRSIG RDATA d still serves set s: covers it, made by one
 * of the ZSKs with the zone as signer, valid from now to past now + margin.
 * Read in place: the RDATA was checked when it came in. */
bool zi_old_sig_fits(const reuse_rule *r, const dns_rrset *s, const uint8_t *d, size_t len)
{
	const dns_name *apex = r->apex;
	if (d == NULL || len < 18 + (size_t)apex->len + 1 || len - 18 - apex->len > DNS_SIG_MAX)
		return false;
	for (size_t i = 0; i < apex->len; i++) {
		uint8_t a = d[18 + i], b = apex->wire[i];
		if (a != b && ((a | 0x20) != (b | 0x20) || (a | 0x20) < 'a' || (a | 0x20) > 'z'))
			return false;
	}
	bool zsk = false;
	for (size_t i = 0; i < r->nzsk && !zsk; i++)
		zsk = r->zsk[i] == sg_get_u16(d + 16);
	return zsk && sg_get_u16(d) == s->type && d[2] == r->alg &&
	       d[3] == dns_name_rrsig_labels(&s->owner) && sg_get_u32(d + 4) == s->ttl &&
	       dns_serial_compare(sg_get_u32(d + 12), r->now) != 1 &&
	       dns_serial_compare(sg_get_u32(d + 8), r->now + r->margin) == 1;
}

bool zi_dnssec_type(uint16_t t)
{
	return t == DNS_T_DNSKEY || t == DNS_T_CDS || t == DNS_T_CDNSKEY || t == DNS_T_RRSIG ||
	       t == DNS_T_NSEC || t == DNS_T_NSEC3 || t == DNS_T_NSEC3PARAM;
}

static signet_err zone_append(dns_zone *z, const dns_rrset *set)
{
	if (z->count == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 16;
		dns_rrset *s = realloc(z->sets, cap * sizeof(*s));
		if (!s)
			return SIGNET_ENOMEM;
		z->sets = s;
		z->cap = cap;
	}
	z->sets[z->count++] = *set;
	return SIGNET_OK;
}

static dns_rrset *find_apex_soa(dns_zone *z)
{
	size_t lo = 0, hi = z->count;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = zi_set_cmp(&z->sets[mid], &z->apex, DNS_T_SOA);
		if (c == 0)
			return &z->sets[mid];
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}


void zi_work_free(work *w)
{
	/* The entries shared with the current version are not the work's. */
	for (size_t i = 0; w->v && w->shared && i < w->v->n; i++)
		if (w->shared[i])
			w->v->e[i] = NULL;
	free(w->shared);
	dns_zone_free(&w->z);
	free(w->roles);
	for (size_t i = 0; i < w->nchain; i++)
		zi_entry_free(w->chain[i]);
	free(w->chain);
	zi_version_free(w->v);
	free(w->todo);
	free(w->send);
}

/* Drop the DNSSEC sets of the input, check its apex and SOA, apply the
 * serial policy. */
static signet_err prepare(work *w, uint32_t now)
{
	dns_zone *z = &w->z;
	if (!dns_name_equal(&z->apex, &w->e->apex))
		return SIGNET_EPARSE;
	size_t kept = 0;
	for (size_t i = 0; i < z->count; i++) {
		if (zi_dnssec_type(z->sets[i].type)) {
			dns_rrset_clear(&z->sets[i]);
			continue;
		}
		z->sets[kept++] = z->sets[i];
	}
	z->count = kept;
	w->nzone = kept;
	dns_rrset *soa = find_apex_soa(z);
	if (!soa || soa->count != 1 || soa->rr[0].len < 22)
		return SIGNET_EPARSE;
	uint8_t *rd = soa->rr[0].data;
	size_t len = soa->rr[0].len;
	w->serial_in = sg_get_u32(rd + len - 20);
	uint32_t prev = w->e->cur ? w->e->cur->serial : w->serial_in;
	w->serial = zone_serial_next(w->e->o.serial, w->serial_in, prev, (int64_t)now);
	rd[len - 20] = (uint8_t)(w->serial >> 24);
	rd[len - 19] = (uint8_t)(w->serial >> 16);
	rd[len - 18] = (uint8_t)(w->serial >> 8);
	rd[len - 17] = (uint8_t)w->serial;
	uint32_t minimum = sg_get_u32(rd + len - 4);
	w->neg_ttl = minimum < soa->ttl ? minimum : soa->ttl;
	return SIGNET_OK;
}

/* A set of the chain into an entry of the work's (dns_chain_fn). */
static signet_err chain_take(void *arg, dns_rrset *set)
{
	work *w = arg;
	signet_err ret = sg_array_room(&w->chain, &w->capchain, w->nchain, sizeof(*w->chain), 1024);
	if (ret != SIGNET_OK)
		return ret;
	entry *en = zi_entry_new(set, DNS_SET_SIGN, true);
	if (en == NULL)
		return SIGNET_ENOMEM;
	w->chain[w->nchain++] = en;
	return SIGNET_OK;
}

/* The key set and NSEC3PARAM join the zone, then roles and the chain. */
static signet_err build(work *w)
{
	const zone_keys *k = w->k;
	const dns_rrset *ks[3] = {&k->dnskey, &k->cds, &k->cdnskey};
	w->dnskey = NONE;
	for (size_t i = 0; i < 3; i++) {
		if (ks[i]->count == 0)
			continue;
		dns_rrset c;
		signet_err ret = dns_rrset_copy(&c, ks[i]);
		if (ret == SIGNET_OK) {
			c.owner = w->z.apex;
			ret = zone_append(&w->z, &c);
			if (ret != SIGNET_OK)
				dns_rrset_clear(&c);
		}
		if (ret != SIGNET_OK)
			return ret;
		if (i == 0)
			w->dnskey = w->z.count - 1;
	}
	if (k->nsec3) {
		dns_nsec3_params param = k->nsec3p;
		param.flags = 0; /* NSEC3PARAM never carries opt-out (RFC 5155 §4.1.2) */
		sg_buf rd = SG_BUF_INIT;
		dns_rrset s;
		dns_rrset_init(&s, &w->z.apex, DNS_T_NSEC3PARAM, DNS_CLASS_IN, 0);
		signet_err ret = dns_nsec3param_rdata(&param, &rd);
		if (ret == SIGNET_OK)
			ret = dns_rrset_add(&s, rd.data, rd.len);
		if (ret == SIGNET_OK)
			ret = zone_append(&w->z, &s);
		sg_buf_free(&rd);
		if (ret != SIGNET_OK) {
			dns_rrset_clear(&s);
			return ret;
		}
	}
	dns_zone *z = &w->z;
	w->roles = calloc(z->count ? z->count : 1, sizeof(*w->roles));
	if (!w->roles)
		return SIGNET_ENOMEM;
	signet_err ret = dns_zone_roles(z, w->roles);
	dns_owner *owners = NULL;
	size_t nowners = 0;
	if (ret == SIGNET_OK)
		ret = dns_zone_owners(z, w->roles, &owners, &nowners);
	if (ret == SIGNET_OK)
		ret = k->nsec3 ? dns_nsec3_chain_each(&z->apex, owners, nowners, w->neg_ttl,
						      &k->nsec3p, chain_take, w)
			       : dns_nsec_chain_each(&z->apex, owners, nowners, w->neg_ttl,
						     chain_take, w);
	dns_owners_free(owners, nowners);
	return ret;
}

/* The entry of the current version that the new version can take as it
 * is for set s (role, item), or NULL: the same octets (owner spelled alike,
 * TTL, RRs in the same order) and every RRSIG still kept by rule r. */
static entry *shareable(const work *w, const reuse_rule *r, int range, const dns_rrset *s,
			dns_set_role role, bool item, size_t *hint)
{
	entry *o = find_old(w->e->cur, range, &s->owner, s->type, hint);
	if (o == NULL || o->role != (uint8_t)role || o->item != item || o->ttl != s->ttl ||
	    o->count != s->count || o->olen != s->owner.len ||
	    memcmp(zi_owner_wire(o), s->owner.wire, s->owner.len) != 0 ||
	    (item && o->sigs.count == 0))
		return NULL;
	for (size_t i = 0; i < s->count; i++)
		if (o->rr[i].len != s->rr[i].len ||
		    (s->rr[i].len && memcmp(o->rr[i].data, s->rr[i].data, s->rr[i].len) != 0))
			return NULL;
	for (size_t k = 0; k < o->sigs.count; k++)
		if (!zi_old_sig_fits(r, s, o->sigs.rr[k].data, o->sigs.rr[k].len))
			return NULL;
	return o;
}

/* The sets of the work into a new version's entries, each freed as it is
 * copied: the input shrinks as the version grows. A set the current
 * version has as it is, with RRSIGs that are all kept, is not copied: the
 * new version shares its entry (w->shared), so a whole sign that changes
 * little holds little more than one version. */
static signet_err make_version(work *w, uint32_t now)
{
	dns_zone *z = &w->z;
	size_t n = z->count + w->nchain;
	version *v = calloc(1, sizeof(*v));
	if (!v)
		return SIGNET_ENOMEM;
	w->v = v;
	dns_rrset_init(&v->ksk_sigs, &z->apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	w->todo = malloc((n ? n : 1) * sizeof(*w->todo));
	w->shared = calloc(n ? n : 1, sizeof(*w->shared));
	if (!w->todo || !w->shared || entries_alloc(v, n) != SIGNET_OK)
		return SIGNET_ENOMEM;
	signet_err ret = dns_rrset_copy(&v->ksk_sigs, &w->k->ksk_sigs);
	if (ret != SIGNET_OK)
		return ret;
	v->ksk_sigs.owner = z->apex;
	v->nzone = w->nzone;
	v->nextra = z->count - w->nzone;
	v->soa = NONE;
	v->dnskey = w->dnskey;
	v->serial = w->serial;
	v->serial_in = w->serial_in;
	v->signed_here = true;
	v->alg = w->k->alg;
	v->validity = w->k->validity;
	v->neg_ttl = w->neg_ttl;
	v->nsec3 = w->k->nsec3;
	v->nsec3p = w->k->nsec3p;
	for (size_t i = 0; i < w->nzone; i++)
		v->rrs += z->sets[i].count;
	reuse_rule r;
	zi_reuse_rule(&r, w->e, w->k, now);
	version *old = w->e->cur;
	size_t hint[2] = {0, old ? old->nzone + old->nextra : 0};
	for (size_t i = 0; i < n; i++) {
		bool chain = i >= z->count;
		dns_rrset view;
		if (chain)
			zi_view(w->chain[i - z->count], &view);
		dns_rrset *s = chain ? &view : &z->sets[i];
		uint16_t t = s->type;
		dns_set_role role = chain ? DNS_SET_SIGN : w->roles[i];
		bool item = role == DNS_SET_SIGN && t != DNS_T_DNSKEY && t != DNS_T_CDS &&
			    t != DNS_T_CDNSKEY;
		int range = i < w->nzone ? 0 : chain ? 2 : 1;
		entry *en = old ? shareable(w, &r, range, s, role, item, hint) : NULL;
		w->shared[i] = en != NULL;
		if (chain) {
			/* Already an entry: the work's, or replaced by the shared one. */
			entry **mine = &w->chain[i - z->count];
			if (en == NULL)
				en = *mine;
			else
				zi_entry_free(*mine);
			*mine = NULL;
		} else if (en == NULL) {
			en = zi_entry_new(s, role, item);
		}
		if (en == NULL)
			return SIGNET_ENOMEM; /* zi_work_free frees the rest */
		v->e[v->n++] = en;
		if (!chain && v->soa == NONE && t == DNS_T_SOA &&
		    dns_name_equal(&s->owner, &z->apex))
			v->soa = i;
		if (!chain)
			dns_rrset_clear(s);
	}
	/* The arrays the sets came from go now, not after the sign: on a
	 * large zone they are tens of megabytes for as long as it lasts. */
	free(w->chain);
	w->chain = NULL;
	w->nchain = w->capchain = 0;
	dns_zone_free(z);
	z->apex = w->e->apex;
	free(w->roles);
	w->roles = NULL;
	return SIGNET_OK;
}

/* The rule for keeping old RRSIGs when signing with k at now. */
void zi_reuse_rule(reuse_rule *r, const zone_engine *e, const zone_keys *k, uint32_t now)
{
	memset(r, 0, sizeof(*r));
	r->apex = &e->apex;
	r->alg = k->alg;
	r->now = now;
	r->margin = e->o.refresh >= 0 ? (uint32_t)e->o.refresh : k->validity / 4;
	for (size_t i = 0; i < k->dnskey.count && r->nzsk < ZONE_ZSK_MAX; i++) {
		const dns_rdata *key = &k->dnskey.rr[i];
		uint16_t tag;
		if (key->len < 4 || dns_key_tag(key->data, key->len, &tag) != SIGNET_OK)
			continue;
		uint16_t flags = sg_get_u16(key->data);
		if ((flags & DNS_DNSKEY_FLAG_ZONE) && !(flags & DNS_DNSKEY_FLAG_SEP) &&
		    key->data[3] == r->alg)
			r->zsk[r->nzsk++] = tag;
	}
}

/* Keep the RRSIGs of sets that did not change; the rest go into todo. */
static signet_err plan(work *w, uint32_t now)
{
	version *v = w->v, *old = w->e->cur;
	reuse_rule r;
	zi_reuse_rule(&r, w->e, w->k, now);
	size_t hint[2] = {0, old ? old->nzone + old->nextra : 0};
	for (size_t i = 0; i < v->n; i++) {
		entry *en = v->e[i];
		if (!en->item || w->shared[i])
			continue;
		int range = i < v->nzone ? 0 : i < v->nzone + v->nextra ? 1 : 2;
		dns_rrset set, os;
		zi_view(en, &set);
		entry *o = find_old(old, range, &set.owner, set.type, hint);
		if (o)
			zi_view(o, &os);
		if (o && o->sigs.count && zi_same_rrset(&os, &set)) {
			for (size_t k = 0; k < o->sigs.count; k++) {
				const dns_rdata *d = &o->sigs.rr[k];
				if (!zi_old_sig_fits(&r, &set, d->data, d->len))
					continue;
				signet_err ret = zi_sigs_add(&en->sigs, d->data, d->len);
				if (ret != SIGNET_OK)
					return ret;
			}
		}
		if (en->sigs.count == 0)
			w->todo[w->ntodo++] = i;
	}
	return SIGNET_OK;
}

/* Send todo in batches, keeping up to inflight open. */
signet_err zi_sign_all(work *w, const zone_backend *b, zone_sign_stats *st)
{
	if (w->ntodo == 0)
		return SIGNET_OK;
	if (w->send == NULL) { /* apply.c fills it itself */
		w->send = malloc(w->ntodo * sizeof(*w->send));
		if (!w->send)
			return SIGNET_ENOMEM;
		for (size_t i = 0; i < w->ntodo; i++)
			w->send[i] = w->v->e[w->todo[i]];
		/* todo served its turn. */
		free(w->todo);
		w->todo = NULL;
	}
	const zone_options *o = &w->e->o;
	/* Small zones: smaller batches, so every call in flight has work. */
	size_t batch = (w->ntodo + o->inflight - 1) / o->inflight;
	if (batch < BATCH_MIN)
		batch = BATCH_MIN;
	if (batch > o->batch)
		batch = o->batch;
	/* Batches end at `batch` sets or BATCH_OCTETS of sets, whichever comes
	 * first: signetd takes messages of at most 1 MiB, and a batch of large
	 * sets (TXT sets of many RRs) passed that by count alone. */
	size_t *bound = malloc((w->ntodo + 1) * sizeof(*bound));
	if (bound == NULL)
		return SIGNET_ENOMEM;
	size_t njobs = 0, in = 0, octets = 0;
	bound[0] = 0;
	for (size_t i = 0; i < w->ntodo; i++) {
		const entry *set = w->send[i];
		size_t size = set->olen + 16u;
		for (size_t k = 0; k < set->count; k++)
			size += set->rr[k].len + 8u;
		if (in > 0 && (in == batch || octets + size > BATCH_OCTETS)) {
			bound[++njobs] = i;
			in = 0;
			octets = 0;
		}
		in++;
		octets += size;
	}
	bound[++njobs] = w->ntodo;
	size_t next = 0, open = 0;
	/* The backend fills RRSIG sets; a batch gets them only while it is
	 * open (a few batches), and its RRs then move into the entries'
	 * compact sets. */
	dns_rrset **tmp = calloc(njobs, sizeof(*tmp));
	dns_rrset ***args = calloc(njobs, sizeof(*args));
	if (tmp == NULL || args == NULL) {
		free(tmp);
		free(args);
		free(bound);
		return SIGNET_ENOMEM;
	}
	signet_err ret = SIGNET_OK;
	while (next < njobs || open) {
		while (ret == SIGNET_OK && next < njobs && open < o->inflight) {
			size_t first = bound[next];
			size_t count = bound[next + 1] - first;
			/* The RRSIG sets the backend fills, then views of the
			 * sets it signs: made for the batch, gone with it. */
			tmp[next] = calloc(2 * count, sizeof(**tmp));
			args[next] = calloc(2 * count, sizeof(**args));
			if (tmp[next] == NULL || args[next] == NULL) {
				ret = SIGNET_ENOMEM;
				break;
			}
			for (size_t i = 0; i < count; i++) {
				const entry *set = w->send[first + i];
				dns_rrset *view = &tmp[next][count + i];
				zi_view(set, view);
				dns_rrset_init(&tmp[next][i], &view->owner, DNS_T_RRSIG,
					       DNS_CLASS_IN, set->ttl);
				args[next][i] = &tmp[next][i];
				args[next][count + i] = view;
			}
			ret = b->start(b->ctx, &w->e->apex,
				       (const dns_rrset *const *)(args[next] + count), args[next],
				       count, (void *)(uintptr_t)next);
			if (ret != SIGNET_OK)
				break;
			st->calls++;
			st->sent += count;
			next++;
			open++;
		}
		if (!open)
			break;
		void *tag = NULL;
		signet_err r = b->wait(b->ctx, &tag);
		if (r != SIGNET_OK) {
			/* The backend lost its batches: nothing is open any more. */
			if (ret == SIGNET_OK)
				ret = r;
			break;
		}
		open--;
		size_t done = (size_t)(uintptr_t)tag;
		if (done < njobs && tmp[done]) {
			size_t first = bound[done];
			size_t count = bound[done + 1] - first;
			for (size_t i = 0; i < count; i++) {
				sigset *to = &w->send[first + i]->sigs;
				dns_rrset *from = &tmp[done][i];
				if (ret == SIGNET_OK && to->count == 0 && from->count) {
					signet_err r2 = zi_sigs_take(to, from);
					if (r2 != SIGNET_OK)
						ret = r2;
				}
				dns_rrset_clear(from);
			}
			free(tmp[done]);
			free(args[done]);
			tmp[done] = NULL;
			args[done] = NULL;
		}
		if (ret != SIGNET_OK)
			continue; /* draining after an error */
	}
	/* Batches never answered (an error): nothing is open, what they got
	 * goes. */
	for (size_t j = 0; j < njobs; j++) {
		if (tmp[j]) {
			size_t count = bound[j + 1] - bound[j];
			for (size_t i = 0; i < count; i++)
				dns_rrset_clear(&tmp[j][i]);
		}
		free(tmp[j]);
		free(args[j]);
	}
	free(tmp);
	free(args);
	free(bound);
	if (ret != SIGNET_OK)
		return ret;
	for (size_t i = 0; i < w->ntodo; i++)
		if (w->send[i]->sigs.count == 0)
			st->failed++;
	return st->failed ? SIGNET_EVERIFY : SIGNET_OK;
}

/* Check what the backend returned: RRSIGs that parse and cover their set. */
signet_err zi_check_answers(work *w, zone_sign_stats *st)
{
	for (size_t i = 0; i < w->ntodo; i++) {
		const sigset *sigs = &w->send[i]->sigs;
		for (size_t k = 0; k < sigs->count; k++) {
			dns_rrsig sig;
			if (dns_rrsig_from_rdata(&sig, sigs->rr[k].data, sigs->rr[k].len) !=
				    SIGNET_OK ||
			    sig.type_covered != w->send[i]->type) {
				st->failed++;
				break;
			}
		}
	}
	return st->failed ? SIGNET_EVERIFY : SIGNET_OK;
}

static uint32_t earliest_of(const version *v, bool with_ksk)
{
	bool any = false;
	uint32_t min = 0;
	for (size_t i = 0; i < v->n + (with_ksk ? 1 : 0); i++) {
		size_t count = i < v->n ? v->e[i]->sigs.count : v->ksk_sigs.count;
		const dns_rdata *rr = i < v->n ? v->e[i]->sigs.rr : v->ksk_sigs.rr;
		for (size_t k = 0; k < count; k++) {
			if (rr[k].len < 12)
				continue;
			uint32_t exp = sg_get_u32(rr[k].data + 8);
			if (!any || dns_serial_compare(exp, min) == -1)
				min = exp;
			any = true;
		}
	}
	return min;
}

void zi_set_earliest(version *v)
{
	v->earliest = earliest_of(v, true);
	v->earliest_zsk = earliest_of(v, false);
}

/* Octet for octet the same RRs and TTL. */
static bool octets_equal(const dns_rrset *a, const dns_rrset *b)
{
	if (a->ttl != b->ttl || a->count != b->count)
		return false;
	for (size_t i = 0; i < a->count; i++)
		if (a->rr[i].len != b->rr[i].len ||
		    (a->rr[i].len && memcmp(a->rr[i].data, b->rr[i].data, a->rr[i].len) != 0))
			return false;
	return true;
}

static signet_err push_set(zone_diff *d, bool add, const dns_rrset *s)
{
	signet_err ret = SIGNET_OK;
	for (size_t i = 0; i < s->count && ret == SIGNET_OK; i++)
		ret = zone_diff_push(d, add, &s->owner, s->type, s->ttl, s->rr[i].data,
				     s->rr[i].len);
	return ret;
}

/* Entry o (old, may be NULL) against n (new, may be NULL): what differs. */
signet_err zi_diff_entry(zone_diff *d, const entry *o, const entry *n)
{
	signet_err ret = SIGNET_OK;
	bool served_o = o && o->role != DNS_SET_OUTSIDE, served_n = n && n->role != DNS_SET_OUTSIDE;
	dns_rrset ov, nv;
	if (o)
		zi_view(o, &ov);
	if (n)
		zi_view(n, &nv);
	bool same_set = served_o && served_n && octets_equal(&ov, &nv);
	if (!same_set) {
		if (served_o)
			ret = push_set(d, false, &ov);
		if (ret == SIGNET_OK && served_n)
			ret = push_set(d, true, &nv);
	}
	dns_rrset os, ns;
	if (o)
		zi_sigs_view(o, &os);
	if (n)
		zi_sigs_view(n, &ns);
	if (ret == SIGNET_OK && !(o && n && octets_equal(&os, &ns))) {
		if (o)
			ret = push_set(d, false, &os);
		if (ret == SIGNET_OK && n)
			ret = push_set(d, true, &ns);
	}
	return ret;
}

signet_err zi_diff_ksk(zone_diff *d, const dns_rrset *o, const dns_rrset *n)
{
	if (octets_equal(o, n))
		return SIGNET_OK;
	signet_err ret = push_set(d, false, o);
	return ret == SIGNET_OK ? push_set(d, true, n) : ret;
}

/* Merge two sorted ranges of entries. */
static signet_err diff_range(zone_diff *d, entry *const *a, size_t na, entry *const *b, size_t nb,
			     bool sorted)
{
	signet_err ret = SIGNET_OK;
	if (!sorted) {
		/* The key set and NSEC3PARAM: a few sets at the apex, by type. */
		for (size_t i = 0; i < na && ret == SIGNET_OK; i++) {
			const entry *m = NULL;
			for (size_t k = 0; k < nb && !m; k++)
				if (b[k]->type == a[i]->type)
					m = b[k];
			ret = zi_diff_entry(d, a[i], m);
		}
		for (size_t k = 0; k < nb && ret == SIGNET_OK; k++) {
			bool found = false;
			for (size_t i = 0; i < na && !found; i++)
				found = a[i]->type == b[k]->type;
			if (!found)
				ret = zi_diff_entry(d, NULL, b[k]);
		}
		return ret;
	}
	size_t i = 0, k = 0;
	while (ret == SIGNET_OK && (i < na || k < nb)) {
		dns_name bo;
		if (k < nb)
			zi_owner(b[k], &bo);
		int c = i == na ? 1 : k == nb ? -1 : zi_entry_cmp(a[i], &bo, b[k]->type);
		if (c < 0)
			ret = zi_diff_entry(d, a[i++], NULL);
		else if (c > 0)
			ret = zi_diff_entry(d, NULL, b[k++]);
		else
			ret = zi_diff_entry(d, a[i++], b[k++]);
	}
	return ret;
}

static signet_err version_diff(const version *a, const version *b, zone_diff *d)
{
	signet_err ret = diff_range(d, a->e, a->nzone, b->e, b->nzone, true);
	if (ret == SIGNET_OK)
		ret = diff_range(d, a->e + a->nzone, a->nextra, b->e + b->nzone, b->nextra, false);
	if (ret == SIGNET_OK)
		ret = diff_range(d, a->e + a->nzone + a->nextra, a->n - a->nzone - a->nextra,
				 b->e + b->nzone + b->nextra, b->n - b->nzone - b->nextra, true);
	if (ret == SIGNET_OK)
		ret = zi_diff_ksk(d, &a->ksk_sigs, &b->ksk_sigs);
	return ret;
}

static int ptr_cmp(const void *pa, const void *pb)
{
	uintptr_t a = (uintptr_t) * (entry *const *)pa, b = (uintptr_t) * (entry *const *)pb;
	return (a > b) - (a < b);
}

/* The entries of old that w's version does not share: they go with old
 * once it is retired. */
static signet_err dead_list(const version *old, const work *w, entry ***out, size_t *nout)
{
	const version *v = w->v;
	size_t ns = 0;
	for (size_t i = 0; i < v->n; i++)
		ns += w->shared[i];
	entry **kept = malloc((ns ? ns : 1) * sizeof(*kept));
	entry **dead = malloc((old->n ? old->n : 1) * sizeof(*dead));
	if (kept == NULL || dead == NULL) {
		free(kept);
		free(dead);
		return SIGNET_ENOMEM;
	}
	ns = 0;
	for (size_t i = 0; i < v->n; i++)
		if (w->shared[i])
			kept[ns++] = v->e[i];
	qsort(kept, ns, sizeof(*kept), ptr_cmp);
	size_t nd = 0;
	for (size_t i = 0; i < old->n; i++)
		if (bsearch(&old->e[i], kept, ns, sizeof(*kept), ptr_cmp) == NULL)
			dead[nd++] = old->e[i];
	free(kept);
	*out = dead;
	*nout = nd;
	return SIGNET_OK;
}

signet_err zone_engine_sign(zone_engine *e, dns_zone *in, const zone_keys *k, const zone_backend *b,
			    uint32_t now, zone_sign_stats *st)
{
	return zone_engine_sign_diff(e, in, k, b, now, st, NULL);
}

signet_err zone_engine_sign_diff(zone_engine *e, dns_zone *in, const zone_keys *k,
				 const zone_backend *b, uint32_t now, zone_sign_stats *st,
				 zone_diff *changes)
{
	zone_sign_stats dummy;
	if (st == NULL)
		st = &dummy;
	memset(st, 0, sizeof(*st));
	if (in == NULL)
		return SIGNET_EINVAL;
	work w;
	memset(&w, 0, sizeof(w));
	w.z = *in;
	memset(in, 0, sizeof(*in));
	w.e = e;
	w.k = k;
	if (e == NULL || k == NULL || b == NULL || b->start == NULL || b->wait == NULL) {
		zi_work_free(&w);
		return SIGNET_EINVAL;
	}
	if (k->dnskey.count == 0 || k->ksk_sigs.count == 0 ||
	    (k->nsec3 && k->nsec3p.algorithm != 1)) {
		zi_work_free(&w);
		return SIGNET_EINVAL;
	}
	signet_err ret = prepare(&w, now);
	if (ret == SIGNET_OK)
		ret = build(&w);
	if (ret == SIGNET_OK)
		ret = make_version(&w, now);
	if (ret == SIGNET_OK)
		ret = plan(&w, now);
	if (ret == SIGNET_OK)
		ret = zi_sign_all(&w, b, st);
	if (ret == SIGNET_OK)
		ret = zi_check_answers(&w, st);
	if (w.v) {
		for (size_t i = 0; i < w.v->n; i++)
			st->sets += w.v->e[i]->item;
		st->reused = st->sets - w.ntodo;
		st->looked = w.v->n;
		w.v->items = st->sets;
	}
	st->serial = w.serial;
	if (ret == SIGNET_OK && changes && e->cur) {
		ret = version_diff(e->cur, w.v, changes);
		if (ret != SIGNET_OK)
			zone_diff_free(changes);
	}
	entry **dead = NULL;
	size_t ndead = 0;
	bool shares = false;
	for (size_t i = 0; ret == SIGNET_OK && i < w.v->n && !shares; i++)
		shares = w.shared[i];
	if (ret == SIGNET_OK && shares)
		ret = dead_list(e->cur, &w, &dead, &ndead);
	if (ret == SIGNET_OK) {
		zi_set_earliest(w.v);
		st->earliest_expiry = w.v->earliest;
		zi_install(e, w.v, !shares, dead, ndead);
		w.v = NULL;
	}
	zi_work_free(&w);
	return ret;
}

int zi_load_range(uint16_t t)
{
	if (t == DNS_T_DNSKEY || t == DNS_T_CDS || t == DNS_T_CDNSKEY || t == DNS_T_NSEC3PARAM)
		return 1;
	if (t == DNS_T_NSEC || t == DNS_T_NSEC3)
		return 2;
	return 0;
}

static entry *find_any(version *v, const dns_name *owner, uint16_t type)
{
	size_t hint[2] = {0, v->nzone + v->nextra};
	return find_old(v, zi_load_range(type), owner, type, hint);
}

static signet_err load_version(zone_engine *e, dns_zone *in, uint32_t serial_in, bool strict);

signet_err zone_engine_load(zone_engine *e, dns_zone *in, uint32_t serial_in)
{
	return load_version(e, in, serial_in, true);
}

signet_err zone_engine_adopt(zone_engine *e, dns_zone *in)
{
	return load_version(e, in, 0, false);
}

static signet_err load_version(zone_engine *e, dns_zone *in, uint32_t serial_in, bool strict)
{
	if (in == NULL)
		return SIGNET_EINVAL;
	dns_zone z = *in;
	memset(in, 0, sizeof(*in));
	if (e == NULL || !dns_name_equal(&z.apex, &e->apex)) {
		dns_zone_free(&z);
		return e == NULL ? SIGNET_EINVAL : SIGNET_EPARSE;
	}
	version *v = calloc(1, sizeof(*v));
	signet_err ret = v ? SIGNET_OK : SIGNET_ENOMEM;
	if (v) {
		dns_rrset_init(&v->ksk_sigs, &z.apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
		ret = entries_alloc(v, z.count);
	}
	/* Roles of the zone's own sets, as a sign gives them, from a view of
	 * them in the input (canonical order). */
	dns_set_role *roles = NULL;
	if (ret == SIGNET_OK) {
		dns_zone view = {.apex = z.apex};
		roles = calloc(z.count ? z.count : 1, sizeof(*roles));
		view.sets = calloc(z.count ? z.count : 1, sizeof(*view.sets));
		ret = roles && view.sets ? SIGNET_OK : SIGNET_ENOMEM;
		for (size_t i = 0; ret == SIGNET_OK && i < z.count; i++)
			if (z.sets[i].type != DNS_T_RRSIG && z.sets[i].count &&
			    zi_load_range(z.sets[i].type) == 0)
				view.sets[view.count++] = z.sets[i];
		if (ret == SIGNET_OK)
			ret = dns_zone_roles(&view, roles);
		free(view.sets);
	}
	/* Three passes keep the ranges in the order a sign makes them: the
	 * zone's sets, the key set and NSEC3PARAM in that order, the chain.
	 * Each set is freed once its entry has a copy. */
	static const uint16_t extra[4] = {DNS_T_DNSKEY, DNS_T_CDS, DNS_T_CDNSKEY, DNS_T_NSEC3PARAM};
	for (int range = 0; range < 3 && ret == SIGNET_OK; range++)
		for (size_t x = 0; x < (range == 1 ? 4u : 1u) && ret == SIGNET_OK; x++)
			for (size_t i = 0; i < z.count && ret == SIGNET_OK; i++) {
				dns_rrset *s = &z.sets[i];
				if (s->type == DNS_T_RRSIG || s->count == 0 ||
				    zi_load_range(s->type) != range ||
				    (range == 1 && s->type != extra[x]))
					continue;
				bool keyset = s->type == DNS_T_DNSKEY || s->type == DNS_T_CDS ||
					      s->type == DNS_T_CDNSKEY;
				dns_set_role role = range == 0 ? roles[v->nzone] : DNS_SET_SIGN;
				entry *en = zi_entry_new(s, role, role == DNS_SET_SIGN && !keyset);
				if (en == NULL) {
					ret = SIGNET_ENOMEM;
					break;
				}
				v->e[v->n++] = en;
				dns_rrset_clear(s);
				if (range == 0)
					v->nzone++;
				else if (range == 1)
					v->nextra++;
			}
	free(roles);
	/* Every RRSIG back to the set it covers. */
	for (size_t i = 0; ret == SIGNET_OK && i < z.count; i++) {
		dns_rrset *s = &z.sets[i];
		if (s->type != DNS_T_RRSIG)
			continue;
		for (size_t k = 0; ret == SIGNET_OK && k < s->count; k++) {
			const dns_rdata *d = &s->rr[k];
			if (d->len < 18) {
				ret = SIGNET_EPARSE;
				break;
			}
			uint16_t covered = sg_get_u16(d->data);
			dns_rrset *to = NULL;
			sigset *tos = NULL;
			if (covered == DNS_T_DNSKEY || covered == DNS_T_CDS ||
			    covered == DNS_T_CDNSKEY) {
				to = &v->ksk_sigs;
				/* The key set's RRSIGs keep the TTL they came with: the
				 * Original TTL of what they cover. */
				to->ttl = sg_get_u32(d->data + 4);
			} else {
				entry *en = find_any(v, &s->owner, covered);
				tos = en && en->item ? &en->sigs : NULL;
			}
			if (to == NULL && tos == NULL)
				ret = strict ? SIGNET_EPARSE : SIGNET_OK; /* adopt: dropped */
			else if (to)
				ret = dns_rrset_add(to, d->data, d->len);
			else
				ret = zi_sigs_add(tos, d->data, d->len);
		}
	}
	if (ret == SIGNET_OK) {
		ret = zi_load_install(e, v, serial_in, strict);
		v = NULL;
	}
	zi_version_free(v);
	dns_zone_free(&z);
	return ret;
}

signet_err zi_load_install(zone_engine *e, version *v, uint32_t serial_in, bool strict)
{
	signet_err ret = SIGNET_OK;
	v->soa = NONE;
	v->dnskey = NONE;
	for (size_t i = 0; i < v->nzone + v->nextra; i++) {
		const entry *s = v->e[i];
		if (s->type == DNS_T_SOA && v->soa == NONE && zi_owner_eq(s, &e->apex))
			v->soa = i;
		if (s->type == DNS_T_DNSKEY && zi_owner_eq(s, &e->apex))
			v->dnskey = i;
	}
	if (v->soa == NONE || v->e[v->soa]->count != 1 || v->e[v->soa]->rr[0].len < 22 ||
	    (strict && (v->dnskey == NONE || v->ksk_sigs.count == 0)))
		ret = SIGNET_EPARSE;
	if (ret != SIGNET_OK) {
		zi_version_free(v);
		return ret;
	}
	const dns_rdata *soa = &v->e[v->soa]->rr[0];
	v->serial = sg_get_u32(soa->data + soa->len - 20);
	v->serial_in = strict ? serial_in : v->serial;
	v->cap = v->n; /* the RRSIG sets took no entry */
	for (size_t i = 0; i < v->nzone; i++)
		v->rrs += v->e[i]->count;
	for (size_t i = 0; i < v->n; i++)
		v->items += v->e[i]->item;
	zi_set_earliest(v);
	zi_install(e, v, true, NULL, 0);
	return SIGNET_OK;
}

signet_err zone_engine_keys(const zone_engine *e, zone_keys *out)
{
	if (e == NULL || out == NULL)
		return SIGNET_EINVAL;
	version *v = pin((zone_engine *)e);
	if (v == NULL)
		return SIGNET_ENOTFOUND;
	zone_keys k;
	zone_keys_init(&k, &e->apex);
	signet_err ret = SIGNET_OK;
	for (size_t i = v->nzone; ret == SIGNET_OK && i < v->nzone + v->nextra; i++) {
		dns_rrset view;
		zi_view(v->e[i], &view);
		const dns_rrset *s = &view;
		dns_rrset *to = s->type == DNS_T_DNSKEY    ? &k.dnskey
				: s->type == DNS_T_CDS     ? &k.cds
				: s->type == DNS_T_CDNSKEY ? &k.cdnskey
							   : NULL;
		if (to)
			ret = dns_rrset_copy(to, s);
		if (s->type == DNS_T_NSEC3PARAM)
			k.nsec3 = true;
	}
	if (ret == SIGNET_OK)
		ret = dns_rrset_copy(&k.ksk_sigs, &v->ksk_sigs);
	unpin((zone_engine *)e, v);
	if (ret != SIGNET_OK) {
		zone_keys_clear(&k);
		return ret;
	}
	*out = k;
	return SIGNET_OK;
}

signet_err zone_engine_unsigned(const zone_engine *e, dns_zone *out)
{
	if (e == NULL || out == NULL)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	version *v = pin((zone_engine *)e);
	if (v == NULL)
		return SIGNET_ENOTFOUND;
	out->apex = e->apex;
	out->sets = calloc(v->nzone ? v->nzone : 1, sizeof(*out->sets));
	if (out->sets == NULL) {
		unpin((zone_engine *)e, v);
		return SIGNET_ENOMEM;
	}
	out->cap = v->nzone ? v->nzone : 1;
	for (size_t i = 0; i < v->nzone; i++) {
		dns_rrset view;
		zi_view(v->e[i], &view);
		signet_err ret = dns_rrset_copy(&out->sets[i], &view);
		if (ret != SIGNET_OK) {
			unpin((zone_engine *)e, v);
			dns_zone_free(out);
			return ret;
		}
		out->count++;
		if (i == v->soa) {
			dns_rdata *rd = &out->sets[i].rr[0];
			uint8_t *p = rd->data + rd->len - 20;
			p[0] = (uint8_t)(v->serial_in >> 24);
			p[1] = (uint8_t)(v->serial_in >> 16);
			p[2] = (uint8_t)(v->serial_in >> 8);
			p[3] = (uint8_t)v->serial_in;
		}
	}
	unpin((zone_engine *)e, v);
	return SIGNET_OK;
}

/* Every set of v in the order of the text form, through fn. */
static signet_err walk(const version *v, signet_err (*fn)(void *arg, const dns_rrset *set),
		       void *arg)
{
	zone_cursor c;
	memset(&c, 0, sizeof(c));
	signet_err ret = SIGNET_OK;
	for (const dns_rrset *s = next_set(v, &c); s && ret == SIGNET_OK; s = next_set(v, &c))
		ret = fn(arg, s);
	return ret;
}

signet_err zone_engine_walk(const zone_engine *e, signet_err (*fn)(void *arg, const dns_rrset *set),
			    void *arg)
{
	if (e == NULL || fn == NULL)
		return SIGNET_EINVAL;
	version *v = pin((zone_engine *)e);
	if (v == NULL)
		return SIGNET_ENOTFOUND;
	signet_err ret = walk(v, fn, arg);
	unpin((zone_engine *)e, v);
	return ret;
}

static signet_err add_size(void *arg, const dns_rrset *s)
{
	size_t *n = arg;
	for (size_t i = 0; i < s->count; i++)
		*n += s->owner.len + 48 + 4u * s->rr[i].len;
	return SIGNET_OK;
}

static signet_err add_text(void *arg, const dns_rrset *s)
{
	return dns_rrset_to_text(s, arg);
}

signet_err zone_engine_text(const zone_engine *e, sg_buf *out)
{
	if (e == NULL || out == NULL)
		return SIGNET_EINVAL;
	version *v = pin((zone_engine *)e);
	if (v == NULL)
		return SIGNET_ENOTFOUND;
	/* One buffer, sized once: growing by doubling copies it again and again. */
	size_t est = 0;
	walk(v, add_size, &est);
	signet_err ret = sg_buf_reserve(out, est);
	if (ret == SIGNET_OK)
		ret = walk(v, add_text, out);
	unpin((zone_engine *)e, v);
	return ret;
}
