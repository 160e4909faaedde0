/* keys.c -- the key set and options a zone is signed with. */
#include <string.h>

#include "zone/zone.h"

void zone_keys_init(zone_keys *k, const dns_name *apex)
{
	memset(k, 0, sizeof(*k));
	dns_rrset_init(&k->dnskey, apex, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
	dns_rrset_init(&k->cds, apex, DNS_T_CDS, DNS_CLASS_IN, 0);
	dns_rrset_init(&k->cdnskey, apex, DNS_T_CDNSKEY, DNS_CLASS_IN, 0);
	dns_rrset_init(&k->ksk_sigs, apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	k->nsec3p.algorithm = 1;
}

void zone_keys_clear(zone_keys *k)
{
	dns_rrset_clear(&k->dnskey);
	dns_rrset_clear(&k->cds);
	dns_rrset_clear(&k->cdnskey);
	dns_rrset_clear(&k->ksk_sigs);
}

signet_err zone_keys_copy(zone_keys *dst, const zone_keys *src)
{
	*dst = *src;
	dns_rrset *d[4] = {&dst->dnskey, &dst->cds, &dst->cdnskey, &dst->ksk_sigs};
	const dns_rrset *s[4] = {&src->dnskey, &src->cds, &src->cdnskey, &src->ksk_sigs};
	for (size_t i = 0; i < 4; i++)
		dns_rrset_init(d[i], &s[i]->owner, s[i]->type, s[i]->rclass, s[i]->ttl);
	for (size_t i = 0; i < 4; i++) {
		signet_err ret = dns_rrset_copy(d[i], s[i]);
		if (ret != SIGNET_OK) {
			for (size_t j = 0; j < i; j++)
				dns_rrset_clear(d[j]);
			dns_rrset_init(d[i], &s[i]->owner, s[i]->type, s[i]->rclass, 0);
			return ret;
		}
	}
	return SIGNET_OK;
}

void zone_options_init(zone_options *o)
{
	memset(o, 0, sizeof(*o));
	o->serial = ZONE_SERIAL_KEEP;
	o->refresh = -1;
	o->batch = 200;
	o->inflight = 6;
}
