/* zone_roles.c -- which RRsets of a zone are signed, delegated or glue, and the
 * owner/type index the NSEC and NSEC3 chains are built from. */
#include <stdlib.h>
#include <string.h>

#include "dnssec/dnssec.h"

static int cmp_name_ptr(const void *a, const void *b)
{
	return dns_name_compare(*(const dns_name *const *)a, *(const dns_name *const *)b);
}

/* True if some strict ancestor of n that is still below the apex (or n itself
 * when include_self) is in the sorted cut list. */
static bool under_cut(const dns_name *n, const dns_name *apex, const dns_name **cuts,
		      size_t ncuts, bool include_self)
{
	dns_name cur = *n;
	bool self = true;
	while (!dns_name_equal(&cur, apex)) {
		if (!self || include_self) {
			const dns_name *key = &cur;
			if (bsearch(&key, cuts, ncuts, sizeof(*cuts), cmp_name_ptr) != NULL)
				return true;
		}
		self = false;
		dns_name parent;
		if (dns_name_parent(&cur, &parent) != SIGNET_OK)
			return false;
		cur = parent;
	}
	return false;
}

signet_err dns_zone_roles(const dns_zone *z, dns_set_role *roles)
{
	if (z == NULL || (roles == NULL && z->count != 0))
		return SIGNET_EINVAL;
	const dns_name **cuts = calloc(z->count ? z->count : 1, sizeof(*cuts));
	if (cuts == NULL)
		return SIGNET_ENOMEM;
	size_t ncuts = 0;
	for (size_t i = 0; i < z->count; i++) {
		const dns_rrset *s = &z->sets[i];
		if (s->type == DNS_T_NS && !dns_name_equal(&s->owner, &z->apex) &&
		    dns_name_is_at_or_below(&s->owner, &z->apex))
			cuts[ncuts++] = &s->owner;
	}
	qsort(cuts, ncuts, sizeof(*cuts), cmp_name_ptr);

	for (size_t i = 0; i < z->count; i++) {
		const dns_rrset *s = &z->sets[i];
		if (!dns_name_is_at_or_below(&s->owner, &z->apex))
			roles[i] = DNS_SET_OUTSIDE;
		else if (under_cut(&s->owner, &z->apex, cuts, ncuts, false))
			roles[i] = DNS_SET_GLUE;
		else if (dns_name_equal(&s->owner, &z->apex))
			roles[i] = DNS_SET_SIGN;
		else if (s->type == DNS_T_DS)
			roles[i] = DNS_SET_SIGN;
		else if (under_cut(&s->owner, &z->apex, cuts, ncuts, true))
			/* At a cut: the NS is the delegation, anything else but DS
			 * is occluded by it (RFC 4035 §2.2). */
			roles[i] = s->type == DNS_T_NS ? DNS_SET_DELEGATION : DNS_SET_GLUE;
		else
			roles[i] = DNS_SET_SIGN;
	}
	free(cuts);
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

static int cmp_set_index(const void *a, const void *b, void *arg)
{
	const dns_zone *z = arg;
	size_t ia = *(const size_t *)a, ib = *(const size_t *)b;
	int c = dns_name_compare(&z->sets[ia].owner, &z->sets[ib].owner);
	if (c != 0)
		return c;
	return (ia > ib) - (ia < ib);
}

signet_err dns_zone_owners(const dns_zone *z, const dns_set_role *roles,
			   dns_owner **out, size_t *n)
{
	if (z == NULL || out == NULL || n == NULL || (roles == NULL && z->count))
		return SIGNET_EINVAL;
	*out = NULL;
	*n = 0;
	size_t *idx = malloc((z->count ? z->count : 1) * sizeof(*idx));
	dns_owner *owners = calloc(z->count ? z->count : 1, sizeof(*owners));
	if (idx == NULL || owners == NULL) {
		free(idx);
		free(owners);
		return SIGNET_ENOMEM;
	}
	size_t m = 0;
	for (size_t i = 0; i < z->count; i++)
		if (roles[i] == DNS_SET_SIGN || roles[i] == DNS_SET_DELEGATION)
			idx[m++] = i;
	qsort_r(idx, m, sizeof(*idx), cmp_set_index, (void *)z);

	size_t count = 0;
	signet_err ret = SIGNET_OK;
	for (size_t k = 0; k < m; k++) {
		const dns_rrset *s = &z->sets[idx[k]];
		dns_owner *o = count ? &owners[count - 1] : NULL;
		if (o == NULL || !dns_name_equal(&o->name, &s->owner)) {
			o = &owners[count++];
			o->name = s->owner;
		}
		uint16_t *t = realloc(o->types, (o->ntypes + 1) * sizeof(*t));
		if (t == NULL) {
			ret = SIGNET_ENOMEM;
			break;
		}
		o->types = t;
		o->types[o->ntypes++] = s->type;
	}
	free(idx);
	if (ret != SIGNET_OK) {
		dns_owners_free(owners, count);
		return ret;
	}
	*out = owners;
	*n = count;
	return SIGNET_OK;
}
