/* load.c -- a signed version read back set by set (zone_loader): each set
 * becomes an entry as it comes and its RRSIGs join it, so a stored zone is
 * never held whole as dns_rrsets (a 288-octet header for every set and
 * every RRSIG set) beside the version made of it. */
#include <stdlib.h>
#include <string.h>

#include "zone/internal.h"

/* Sets of the zone's range whose roles are worked out at once. */
#define ROLE_SLICE 4096
/* Entries looked back at for the set an RRSIG covers: it is the last one
 * in the order the engine writes, a few more when several sets of one
 * owner come before their RRSIGs. */
#define LOOK_BACK 64

struct zone_loader {
	zone_engine *e;
	entry **r[3]; /* the zone's sets, the key set and NSEC3PARAM, the chain */
	size_t n[3], cap[3];
	dns_rrset ksk_sigs;
	dns_rrset *pend; /* RRSIG sets whose covered set had not come */
	size_t npend, cappend;
	/* zone_loader_text: the set its last lines were adding to, the RRs
	 * read and their bound. */
	dns_rrset cur;
	size_t rrs, max_rrs;
	sg_buf rd, one;
	signet_err (*filter)(void *arg, dns_rrset *set);
	void *filter_arg;
};

static bool keyset_type(uint16_t t)
{
	return t == DNS_T_DNSKEY || t == DNS_T_CDS || t == DNS_T_CDNSKEY;
}

signet_err zone_loader_new(zone_engine *e, size_t max_rrs, zone_loader **out)
{
	if (e == NULL || out == NULL)
		return SIGNET_EINVAL;
	zone_loader *l = calloc(1, sizeof(*l));
	if (l == NULL)
		return SIGNET_ENOMEM;
	l->e = e;
	l->max_rrs = max_rrs;
	dns_rrset_init(&l->ksk_sigs, &e->apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	dns_rrset_init(&l->cur, &e->apex, 0, DNS_CLASS_IN, 0);
	*out = l;
	return SIGNET_OK;
}

void zone_loader_free(zone_loader *l)
{
	if (l == NULL)
		return;
	for (int k = 0; k < 3; k++) {
		for (size_t i = 0; i < l->n[k]; i++)
			zi_entry_free(l->r[k][i]);
		free(l->r[k]);
	}
	for (size_t i = 0; i < l->npend; i++)
		dns_rrset_clear(&l->pend[i]);
	free(l->pend);
	dns_rrset_clear(&l->ksk_sigs);
	dns_rrset_clear(&l->cur);
	sg_buf_free(&l->rd);
	sg_buf_free(&l->one);
	free(l);
}

/* The entry for owner/type among the last ones of range k that came. */
static entry *recent(const zone_loader *l, int k, const dns_name *owner, uint16_t type)
{
	size_t stop = l->n[k] > LOOK_BACK ? l->n[k] - LOOK_BACK : 0;
	for (size_t i = l->n[k]; i-- > stop;) {
		entry *en = l->r[k][i];
		if (en->type == type && zi_owner_eq(en, owner))
			return en;
	}
	return NULL;
}

/* One RRSIG RR of owner: to the key set's, to the entry it covers, or
 * (false) not yet placed. */
static signet_err place_sig(zone_loader *l, const dns_name *owner, const dns_rdata *d,
			    entry *(*find)(const zone_loader *, int, const dns_name *, uint16_t),
			    bool *placed)
{
	*placed = false;
	if (d->len < 18)
		return SIGNET_EPARSE;
	uint16_t covered = sg_get_u16(d->data);
	if (keyset_type(covered)) {
		/* The key set's RRSIGs keep the TTL they came with: the
		 * Original TTL of what they cover. */
		l->ksk_sigs.ttl = sg_get_u32(d->data + 4);
		*placed = true;
		return dns_rrset_add(&l->ksk_sigs, d->data, d->len);
	}
	entry *en = find(l, zi_load_range(covered), owner, covered);
	if (en == NULL)
		return SIGNET_OK;
	*placed = true;
	return zi_sigs_add(&en->sigs, d->data, d->len);
}

signet_err zone_loader_add(zone_loader *l, dns_rrset *set)
{
	if (l == NULL || set == NULL)
		return SIGNET_EINVAL;
	signet_err ret = l->filter ? l->filter(l->filter_arg, set) : SIGNET_OK;
	if (ret != SIGNET_OK || set->count == 0) {
		dns_rrset_clear(set);
		return ret;
	}
	if (set->type == DNS_T_RRSIG) {
		dns_rrset rest;
		dns_rrset_init(&rest, &set->owner, DNS_T_RRSIG, DNS_CLASS_IN, set->ttl);
		for (size_t i = 0; i < set->count && ret == SIGNET_OK; i++) {
			bool placed = false;
			ret = place_sig(l, &set->owner, &set->rr[i], recent, &placed);
			if (ret == SIGNET_OK && !placed)
				ret = dns_rrset_add(&rest, set->rr[i].data, set->rr[i].len);
		}
		if (ret == SIGNET_OK && rest.count)
			ret = sg_array_room(&l->pend, &l->cappend, l->npend, sizeof(*l->pend), 16);
		if (ret == SIGNET_OK && rest.count)
			l->pend[l->npend++] = rest;
		else
			dns_rrset_clear(&rest);
		dns_rrset_clear(set);
		return ret;
	}
	int k = zi_load_range(set->type);
	/* Roles of the zone's own sets come at the finish, with all of them. */
	entry *en = zi_entry_new(set, DNS_SET_SIGN, k == 2 || !keyset_type(set->type));
	dns_rrset_clear(set);
	if (en == NULL)
		return SIGNET_ENOMEM;
	ret = sg_array_room(&l->r[k], &l->cap[k], l->n[k], sizeof(*l->r[k]), 1024);
	if (ret != SIGNET_OK) {
		zi_entry_free(en);
		return ret;
	}
	l->r[k][l->n[k]++] = en;
	return SIGNET_OK;
}

/* Canonical order of two entries (qsort). */
static int entry_order(const void *pa, const void *pb)
{
	const entry *a = *(entry *const *)pa, *b = *(entry *const *)pb;
	dns_name ob;
	zi_owner(b, &ob);
	return zi_entry_cmp(a, &ob, b->type);
}

static bool sorted_from(entry **a, size_t from, size_t n)
{
	for (size_t i = from + 1; i < n; i++)
		if (entry_order(&a[i - 1], &a[i]) > 0)
			return false;
	return true;
}

/* Range a[0..n) into canonical order. The engine writes the apex SOA
 * first and the rest in order: the SOA is moved to its place; anything
 * else out of order is sorted. Two entries of one owner and type are
 * refused (a set written in two places). */
static signet_err settle(entry **a, size_t n)
{
	if (n > 1 && !sorted_from(a, 0, n)) {
		if (sorted_from(a, 1, n)) {
			entry *first = a[0];
			size_t i = 1;
			while (i < n && entry_order(&a[i], &first) < 0)
				i++;
			memmove(a, a + 1, (i - 1) * sizeof(*a));
			a[i - 1] = first;
		} else {
			qsort(a, n, sizeof(*a), entry_order);
		}
	}
	for (size_t i = 1; i < n; i++)
		if (entry_order(&a[i - 1], &a[i]) == 0)
			return SIGNET_EPARSE;
	return SIGNET_OK;
}

/* The key set and NSEC3PARAM in the order a sign makes them. */
static int extra_rank(uint16_t t)
{
	return t == DNS_T_DNSKEY ? 0 : t == DNS_T_CDS ? 1 : t == DNS_T_CDNSKEY ? 2 : 3;
}

static signet_err settle_extra(entry **a, size_t n)
{
	for (size_t i = 1; i < n; i++) {
		entry *x = a[i];
		size_t j = i;
		while (j > 0 && extra_rank(a[j - 1]->type) > extra_rank(x->type)) {
			a[j] = a[j - 1];
			j--;
		}
		a[j] = x;
	}
	for (size_t i = 1; i < n; i++)
		if (a[i - 1]->type == a[i]->type)
			return SIGNET_EPARSE;
	return SIGNET_OK;
}

/* The entry for owner/type in its range, now in order. */
static entry *settled(const zone_loader *l, int k, const dns_name *owner, uint16_t type)
{
	if (k == 1) {
		for (size_t i = 0; i < l->n[1]; i++)
			if (l->r[1][i]->type == type && zi_owner_eq(l->r[1][i], owner))
				return l->r[1][i];
		return NULL;
	}
	size_t hint = 0;
	return zi_find_sorted(l->r[k], 0, l->n[k], owner, type, &hint);
}

/* Roles of the zone's sets as a sign gives them (dns_zone_roles), a slice
 * at a time: each slice is looked at beside every NS set, which is all
 * the roles depend on besides the apex. Only what is signed keeps
 * RRSIGs. */
static signet_err roles(zone_loader *l)
{
	entry **z = l->r[0];
	size_t n = l->n[0], nns = 0;
	for (size_t i = 0; i < n; i++)
		nns += z[i]->type == DNS_T_NS;
	dns_zone view = {.apex = l->e->apex};
	/* A slice at least as large as the NS sets: a zone of mostly
	 * delegations (a TLD) then takes two or three passes, not one per
	 * ROLE_SLICE sets each over all its NS sets. */
	size_t slice = nns > ROLE_SLICE ? nns : ROLE_SLICE;
	view.sets = malloc((nns + slice) * sizeof(*view.sets));
	dns_set_role *role = malloc((nns + slice) * sizeof(*role));
	signet_err ret = view.sets && role ? SIGNET_OK : SIGNET_ENOMEM;
	size_t k = 0;
	for (size_t i = 0; ret == SIGNET_OK && i < n; i++)
		if (z[i]->type == DNS_T_NS)
			zi_view(z[i], &view.sets[k++]);
	for (size_t at = 0; ret == SIGNET_OK && at < n; at += slice) {
		size_t m = n - at < slice ? n - at : slice;
		for (size_t i = 0; i < m; i++)
			zi_view(z[at + i], &view.sets[nns + i]);
		view.count = nns + m;
		ret = dns_zone_roles(&view, role);
		for (size_t i = 0; ret == SIGNET_OK && i < m; i++) {
			entry *en = z[at + i];
			en->role = (uint8_t)role[nns + i];
			en->item = role[nns + i] == DNS_SET_SIGN;
			if (en->sigs.count && !en->item)
				ret = SIGNET_EPARSE; /* RRSIGs over what is not signed */
		}
	}
	free(view.sets);
	free(role);
	return ret;
}

/* One RR read into the open set, which goes to the loader when the RR is
 * of another owner or type. */
static signet_err take_rr(zone_loader *l, const dns_name *owner, uint16_t type, uint32_t ttl)
{
	if (++l->rrs > l->max_rrs)
		return SIGNET_ERANGE;
	signet_err ret = SIGNET_OK;
	if (l->cur.count && (l->cur.type != type || !zi_name_eq(&l->cur.owner, owner)))
		ret = zone_loader_add(l, &l->cur);
	if (ret != SIGNET_OK)
		return ret;
	if (l->cur.count == 0)
		dns_rrset_init(&l->cur, owner, type, DNS_CLASS_IN, ttl);
	else if (ttl < l->cur.ttl)
		l->cur.ttl = ttl; /* RFC 2181 §5.2, as dns_zone_parse does */
	return dns_rrset_add(&l->cur, l->rd.data, l->rd.len);
}

signet_err zone_loader_text(zone_loader *l, const char *text, size_t len, unsigned *line)
{
	if (l == NULL || (text == NULL && len) || line == NULL)
		return SIGNET_EINVAL;
	signet_err ret = SIGNET_OK;
	for (size_t at = 0; at < len && ret == SIGNET_OK;) {
		const char *nl = memchr(text + at, '\n', len - at);
		size_t n = nl ? (size_t)(nl - (text + at)) : len - at;
		const char *p = text + at;
		at += n + (nl != NULL);
		++*line;
		size_t lead = 0;
		while (lead < n && (p[lead] == ' ' || p[lead] == '\t' || p[lead] == '\r'))
			lead++;
		if (lead == n || p[lead] == ';')
			continue; /* blank, or a comment (the state file's first line) */
		if (lead > 0 || p[0] == '$')
			return SIGNET_EPARSE; /* the engine writes whole RRs only */
		dns_name owner;
		uint16_t type = 0, rclass = DNS_CLASS_IN;
		uint32_t ttl = 0;
		sg_buf_reset(&l->rd);
		ret = dns_rr_from_text_fast(p, n, &owner, &type, &ttl, &l->rd);
		if (ret == SIGNET_ENOTFOUND) {
			/* ldns's reader wants the line alone, NUL-terminated. */
			sg_buf_reset(&l->one);
			ret = sg_buf_append(&l->one, p, n);
			if (ret == SIGNET_OK)
				ret = sg_buf_put_u8(&l->one, 0);
			if (ret == SIGNET_OK)
				ret = dns_rr_from_text((const char *)l->one.data, &l->e->apex,
						       &owner, &type, &rclass, &ttl, &l->rd);
		}
		if (ret == SIGNET_OK && rclass != DNS_CLASS_IN)
			ret = SIGNET_EPARSE;
		if (ret == SIGNET_OK)
			ret = take_rr(l, &owner, type, ttl);
	}
	return ret;
}

void zone_loader_filter(zone_loader *l, signet_err (*fn)(void *arg, dns_rrset *set), void *arg)
{
	if (l == NULL)
		return;
	l->filter = fn;
	l->filter_arg = arg;
}

signet_err zone_loader_flush(zone_loader *l)
{
	if (l == NULL)
		return SIGNET_EINVAL;
	return l->cur.count ? zone_loader_add(l, &l->cur) : SIGNET_OK;
}

signet_err zone_loader_finish(zone_loader *l, uint32_t serial_in)
{
	if (l == NULL)
		return SIGNET_EINVAL;
	signet_err ret = zone_loader_flush(l);
	if (ret == SIGNET_OK)
		ret = settle(l->r[0], l->n[0]);
	if (ret == SIGNET_OK)
		ret = settle_extra(l->r[1], l->n[1]);
	if (ret == SIGNET_OK)
		ret = settle(l->r[2], l->n[2]);
	for (size_t i = 0; ret == SIGNET_OK && i < l->npend; i++)
		for (size_t k = 0; ret == SIGNET_OK && k < l->pend[i].count; k++) {
			bool placed = false;
			ret = place_sig(l, &l->pend[i].owner, &l->pend[i].rr[k], settled, &placed);
			if (ret == SIGNET_OK && !placed)
				ret = SIGNET_EPARSE; /* an RRSIG covering nothing there */
		}
	if (ret == SIGNET_OK)
		ret = roles(l);
	version *v = NULL;
	if (ret == SIGNET_OK) {
		v = calloc(1, sizeof(*v));
		size_t total = l->n[0] + l->n[1] + l->n[2];
		if (v)
			v->e = malloc((total ? total : 1) * sizeof(*v->e));
		ret = v && v->e ? SIGNET_OK : SIGNET_ENOMEM;
	}
	if (ret != SIGNET_OK) {
		if (v)
			free(v->e);
		free(v);
		zone_loader_free(l);
		return ret;
	}
	v->nzone = l->n[0];
	v->nextra = l->n[1];
	for (int k = 0; k < 3; k++) {
		memcpy(v->e + v->n, l->r[k], l->n[k] * sizeof(*v->e));
		v->n += l->n[k];
		free(l->r[k]);
		l->r[k] = NULL;
		l->n[k] = 0;
	}
	v->cap = v->n;
	v->ksk_sigs = l->ksk_sigs;
	dns_rrset_init(&l->ksk_sigs, &l->e->apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	zone_engine *e = l->e;
	zone_loader_free(l);
	return zi_load_install(e, v, serial_in, true);
}
