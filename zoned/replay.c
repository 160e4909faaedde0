/* replay.c -- a journal's steps replayed onto a stored version as it is
 * read back set by set (zone_loader_filter): the steps become one net
 * difference, each RR removed from the stored sets or added to them once,
 * so a start after a kill -9 never holds the stored zone whole. The same
 * result as zoned_journal_replay's zone_diff_apply on the whole zone: RDATA
 * compared in canonical form, an added RR giving its set its TTL (the last
 * step's), a removal of an RR that is not there or an addition of one
 * that is refused. */
#include <stdlib.h>
#include <string.h>

#include "zoned/daemon.h"

#define NONE ((size_t)-1)

/* One RR the steps touch. Owner and RDATA point into the journal, which
 * outlives the replay. */
typedef struct rr_ent {
	const dns_name *owner;
	const uint8_t *rdata;
	uint8_t *canon; /* RDATA in canonical form, owned */
	size_t clen;
	size_t pnext; /* the next RR of the same owner and type, NONE */
	uint32_t phash;
	uint32_t ttl;
	unsigned seq; /* order of its last addition */
	uint16_t type, len;
	bool base_removed; /* the stored version's copy goes */
	bool added;        /* the steps leave one in */
	bool seen;         /* the stored copy came by */
	bool placed;       /* the added copy went into a set */
} rr_ent;

struct zoned_replay {
	rr_ent *e;
	size_t n, cap;
	size_t *pair; /* by owner and type: the first RR's index, NONE empty */
	size_t mask;
	unsigned seq;
	sg_buf buf;
};

static uint8_t lower(uint8_t c)
{
	return c >= 'A' && c <= 'Z' ? (uint8_t)(c - 'A' + 'a') : c;
}

static uint32_t fnv(uint32_t h, const uint8_t *p, size_t n, bool fold)
{
	for (size_t i = 0; i < n; i++)
		h = (h ^ (fold ? lower(p[i]) : p[i])) * 16777619u;
	return h;
}

static uint32_t pair_hash(const dns_name *owner, uint16_t type)
{
	uint8_t t[2] = {(uint8_t)(type >> 8), (uint8_t)type};
	return fnv(fnv(2166136261u, owner->wire, owner->len, true), t, 2, false);
}

static bool pair_eq(const rr_ent *e, const dns_name *owner, uint16_t type)
{
	return e->type == type && dns_name_equal(e->owner, owner);
}

/* The pair's first RR, NONE when the steps do not touch it. */
static size_t pair_find(const zoned_replay *r, uint32_t ph, const dns_name *owner, uint16_t type)
{
	for (size_t i = ph & r->mask;; i = (i + 1) & r->mask) {
		size_t k = r->pair[i];
		if (k == NONE)
			return NONE;
		if (r->e[k].phash == ph && pair_eq(&r->e[k], owner, type))
			return k;
	}
}

/* The RR in r->buf (canonical) of the pair whose first RR is head. */
static size_t rr_find(const zoned_replay *r, size_t head)
{
	for (size_t k = head; k != NONE; k = r->e[k].pnext)
		if (r->e[k].clen == r->buf.len &&
		    (r->buf.len == 0 || memcmp(r->e[k].canon, r->buf.data, r->buf.len) == 0))
			return k;
	return NONE;
}

/* The entry of an RR the steps name, made when new. */
static signet_err entry_of(zoned_replay *r, const dns_name *owner, uint16_t type, uint32_t ttl,
			   const uint8_t *rd, size_t len, size_t *out)
{
	sg_buf_reset(&r->buf);
	signet_err ret = dns_rdata_canonical(type, rd, len, &r->buf);
	if (ret != SIGNET_OK)
		return ret;
	uint32_t ph = pair_hash(owner, type);
	size_t head = pair_find(r, ph, owner, type);
	size_t k = head == NONE ? NONE : rr_find(r, head);
	if (k != NONE) {
		*out = k;
		return SIGNET_OK;
	}
	if (r->n == r->cap)
		return SIGNET_ERANGE; /* sized by zoned_replay_new: cannot happen */
	rr_ent *e = &r->e[r->n];
	memset(e, 0, sizeof(*e));
	e->canon = malloc(r->buf.len ? r->buf.len : 1);
	if (e->canon == NULL)
		return SIGNET_ENOMEM;
	memcpy(e->canon, r->buf.data, r->buf.len);
	e->clen = r->buf.len;
	e->owner = owner;
	e->type = type;
	e->ttl = ttl;
	e->rdata = rd;
	e->len = (uint16_t)len;
	e->phash = ph;
	if (head == NONE) {
		e->pnext = NONE;
		size_t i = ph & r->mask;
		while (r->pair[i] != NONE)
			i = (i + 1) & r->mask;
		r->pair[i] = r->n;
	} else {
		/* Second in the pair's list: its head stays where the table has it. */
		e->pnext = r->e[head].pnext;
		r->e[head].pnext = r->n;
	}
	*out = r->n++;
	return SIGNET_OK;
}

static signet_err step_rr(zoned_replay *r, bool add, const dns_name *owner, uint16_t type,
			  uint32_t ttl, const uint8_t *rd, size_t len)
{
	size_t k = NONE;
	signet_err ret = entry_of(r, owner, type, ttl, rd, len, &k);
	if (ret != SIGNET_OK)
		return ret;
	rr_ent *e = &r->e[k];
	if (add) {
		if (e->added)
			return SIGNET_EEXIST;
		e->added = true;
		e->ttl = ttl;
		e->rdata = rd;
		e->len = (uint16_t)len;
		e->seq = ++r->seq;
		return SIGNET_OK;
	}
	if (e->added) {
		e->added = false;
		return SIGNET_OK;
	}
	if (e->base_removed)
		return SIGNET_ENOTFOUND; /* removed twice */
	e->base_removed = true;
	return SIGNET_OK;
}

void zoned_replay_free(zoned_replay *r)
{
	if (r == NULL)
		return;
	for (size_t i = 0; i < r->n; i++)
		free(r->e[i].canon);
	free(r->e);
	free(r->pair);
	sg_buf_free(&r->buf);
	free(r);
}

signet_err zoned_replay_new(const zoned_journal *j, size_t first, zoned_replay **out)
{
	*out = NULL;
	size_t total = 0;
	for (size_t i = first; i < j->count; i++)
		total += j->steps[i].d.ndel + j->steps[i].d.nadd + 2;
	zoned_replay *r = calloc(1, sizeof(*r));
	if (r == NULL)
		return SIGNET_ENOMEM;
	size_t slots = 16;
	while (slots < 2 * total)
		slots *= 2;
	r->e = malloc((total ? total : 1) * sizeof(*r->e));
	r->pair = malloc(slots * sizeof(*r->pair));
	if (r->e == NULL || r->pair == NULL) {
		zoned_replay_free(r);
		return SIGNET_ENOMEM;
	}
	r->cap = total;
	r->mask = slots - 1;
	for (size_t i = 0; i < slots; i++)
		r->pair[i] = NONE;
	signet_err ret = SIGNET_OK;
	/* In the order zoned_journal_replay applies them. */
	for (size_t i = first; ret == SIGNET_OK && i < j->count; i++) {
		const zoned_step *s = &j->steps[i];
		if (s->soa_from.count != 1 || s->soa_to.count != 1) {
			ret = SIGNET_EPARSE;
			break;
		}
		ret = step_rr(r, false, &s->soa_from.owner, DNS_T_SOA, s->soa_from.ttl,
			      s->soa_from.rr[0].data, s->soa_from.rr[0].len);
		for (size_t k = 0; ret == SIGNET_OK && k < s->d.ndel; k++)
			ret = step_rr(r, false, &s->d.del[k].owner, s->d.del[k].type,
				      s->d.del[k].ttl, s->d.del[k].rdata.data,
				      s->d.del[k].rdata.len);
		if (ret == SIGNET_OK)
			ret = step_rr(r, true, &s->soa_to.owner, DNS_T_SOA, s->soa_to.ttl,
				      s->soa_to.rr[0].data, s->soa_to.rr[0].len);
		for (size_t k = 0; ret == SIGNET_OK && k < s->d.nadd; k++)
			ret = step_rr(r, true, &s->d.add[k].owner, s->d.add[k].type,
				      s->d.add[k].ttl, s->d.add[k].rdata.data,
				      s->d.add[k].rdata.len);
	}
	if (ret != SIGNET_OK) {
		zoned_replay_free(r);
		return ret;
	}
	*out = r;
	return SIGNET_OK;
}

/* The RRs of the pair at head the steps leave in and no set took yet,
 * into s; the set's TTL from the one added last. */
static signet_err add_pair(zoned_replay *r, size_t head, dns_rrset *s)
{
	unsigned best = 0;
	for (size_t k = head; k != NONE; k = r->e[k].pnext) {
		rr_ent *e = &r->e[k];
		if (!e->added || e->placed)
			continue;
		signet_err ret = dns_rrset_add(s, e->rdata, e->len);
		if (ret != SIGNET_OK)
			return ret;
		e->placed = true;
		if (e->seq > best) {
			best = e->seq;
			s->ttl = e->ttl;
		}
	}
	return SIGNET_OK;
}

signet_err zoned_replay_filter(void *arg, dns_rrset *set)
{
	zoned_replay *r = arg;
	size_t head = pair_find(r, pair_hash(&set->owner, set->type), &set->owner, set->type);
	if (head == NONE)
		return SIGNET_OK;
	size_t kept = 0;
	for (size_t i = 0; i < set->count; i++) {
		sg_buf_reset(&r->buf);
		signet_err ret = dns_rdata_canonical(set->type, set->rr[i].data, set->rr[i].len,
						     &r->buf);
		if (ret != SIGNET_OK)
			return ret;
		size_t k = rr_find(r, head);
		if (k != NONE) {
			rr_ent *e = &r->e[k];
			if (!e->base_removed || e->seen)
				/* Added where it is, or there twice. */
				return e->base_removed ? SIGNET_EPARSE : SIGNET_EEXIST;
			e->seen = true;
			free(set->rr[i].data);
			continue;
		}
		set->rr[kept++] = set->rr[i];
	}
	set->count = kept;
	return add_pair(r, head, set);
}

signet_err zoned_replay_rest(zoned_replay *r, zone_loader *l)
{
	signet_err ret = zone_loader_flush(l);
	for (size_t k = 0; ret == SIGNET_OK && k < r->n; k++)
		if (r->e[k].base_removed && !r->e[k].seen)
			ret = SIGNET_ENOTFOUND; /* a removal of what was not there */
	/* The sets the stored version did not have: not filtered again. */
	zone_loader_filter(l, NULL, NULL);
	for (size_t i = 0; ret == SIGNET_OK && i <= r->mask; i++) {
		size_t head = r->pair[i];
		if (head == NONE)
			continue;
		dns_rrset s;
		dns_rrset_init(&s, r->e[head].owner, r->e[head].type, DNS_CLASS_IN, r->e[head].ttl);
		ret = add_pair(r, head, &s);
		if (ret == SIGNET_OK && s.count)
			ret = zone_loader_add(l, &s);
		dns_rrset_clear(&s);
	}
	return ret;
}
