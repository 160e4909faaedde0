/* keyset.c -- the key-signing request signetd exports for the ceremony and
 * the checks a signed key bundle must pass before it is served. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "signer/internal.h"

#define DAY 86400u

static signet_err proof_rrsig(hsm_session *s, const signer_key *zsk, const dns_name *zone,
			      const dns_rrset *dnskey, uint32_t inception, uint32_t expiration,
			      dns_rrset *sigs)
{
	signer_zsk k = {.id_len = zsk->id_len, .alg = zsk->alg, .key_tag = zsk->key_tag};
	memcpy(k.id, zsk->id, zsk->id_len);
	/* Proofs are few and leave the host: each is checked against the
	 * published DNSKEY, whatever the algorithm (and RSA ones must be). */
	signet_err ret = dns_dnskey_to_evp(zsk->dnskey, zsk->dnskey_len, &k.pub);
	sg_buf rdata = SG_BUF_INIT;
	if (ret == SIGNET_OK)
		ret = signer_sign_rrset(&(signer_signing){s, NULL, &k, zone, inception, expiration},
					dnskey, &rdata, NULL, NULL, 0);
	if (ret == SIGNET_OK)
		ret = dns_rrset_add(sigs, rdata.data, rdata.len);
	sg_buf_free(&rdata);
	EVP_PKEY_free(k.pub);
	return ret;
}

static bool in_set(const dns_rrset *set, const signer_key *k)
{
	for (size_t i = 0; i < set->count; i++)
		if (set->rr[i].len == k->dnskey_len &&
		    memcmp(set->rr[i].data, k->dnskey, k->dnskey_len) == 0)
			return true;
	return false;
}

signet_err signer_keyset_build_request(signer_state *st, hsm_session *s, const dns_name *zone,
				       uint32_t days, int64_t start, uint64_t serial,
				       dns_keyset *out)
{
	if (!st || !s || !zone || !out || days == 0 || days > 366 || start <= 0)
		return SIGNET_EINVAL;
	memset(out, 0, sizeof(*out));
	signer_policy p;
	signet_err ret = signer_state_zone_policy(st, zone, &p);
	if (ret != SIGNET_OK)
		return ret;
	signer_key *keys = NULL;
	size_t nkeys = 0;
	ret = signer_state_list_keys(st, zone, 0, &keys, &nkeys);
	if (ret != SIGNET_OK)
		return ret;

	dns_name apex = *zone;
	dns_name_lower(&apex);
	uint64_t first = ((uint64_t)start / 3600) * 3600;
	uint64_t span = (uint64_t)days * DAY;
	size_t n = (size_t)((span + p.keyset_period - 1) / p.keyset_period);
	out->kind = DNS_KEYSET_REQUEST;
	out->zone = apex;
	out->serial = serial;
	out->periods = calloc(n, sizeof(*out->periods));
	if (!out->periods) {
		free(keys);
		return SIGNET_ENOMEM;
	}
	out->count = n;
	for (size_t i = 0; i < n; i++) {
		dns_keyset_period *per = &out->periods[i];
		per->inception = (uint32_t)(first + i * p.keyset_period);
		per->expiration = (uint32_t)(first + (i + 1) * p.keyset_period);
		dns_rrset_init(&per->dnskey, &apex, DNS_T_DNSKEY, DNS_CLASS_IN, p.dnskey_ttl);
		dns_rrset_init(&per->cds, &apex, DNS_T_CDS, DNS_CLASS_IN, p.dnskey_ttl);
		dns_rrset_init(&per->cdnskey, &apex, DNS_T_CDNSKEY, DNS_CLASS_IN, p.dnskey_ttl);
		dns_rrset_init(&per->sigs, &apex, DNS_T_RRSIG, DNS_CLASS_IN, p.dnskey_ttl);
	}
	bool insecure = false;
	ret = signer_state_zone_insecure(st, zone, &insecure);
	for (size_t i = 0; ret == SIGNET_OK && i < n; i++) {
		dns_keyset_period *per = &out->periods[i];
		ret = signer_rollover_period(keys, nkeys, per->inception, per->expiration, insecure,
					     &per->dnskey, &per->cds, &per->cdnskey);
		/* Every period needs a KSK and a ZSK of ours, or nothing a
		 * resolver could use. Foreign ZSKs (RFC 8901) are not ours
		 * to prove. */
		size_t nzsk = 0, nksk = 0;
		for (size_t k = 0; ret == SIGNET_OK && k < nkeys; k++) {
			if (!in_set(&per->dnskey, &keys[k]))
				continue;
			if (strcmp(keys[k].role, "ksk") == 0) {
				nksk++;
			} else if (!keys[k].foreign && keys[k].id_len > 0) {
				nzsk++;
				ret = proof_rrsig(s, &keys[k], &apex, &per->dnskey, per->inception,
						  per->expiration, &per->sigs);
			}
		}
		if (ret == SIGNET_OK && (nzsk == 0 || nksk == 0))
			ret = SIGNET_ESTATE;
	}
	free(keys);
	if (ret != SIGNET_OK)
		dns_keyset_free(out);
	return ret;
}

static signet_err fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
static signet_err fail(char *errmsg, size_t errlen, signet_err err, const char *fmt, ...)
{
	if (errmsg && errlen) {
		va_list ap;
		va_start(ap, fmt);
		vsnprintf(errmsg, errlen, fmt, ap);
		va_end(ap);
	}
	return err;
}

/* Equal RRsets after canonical ordering (TTL included). */
static signet_err same_rrset(const dns_rrset *a, const dns_rrset *b, bool *same)
{
	*same = a->count == 0 && b->count == 0;
	if (*same)
		return SIGNET_OK; /* an empty set has no TTL or owner to compare */
	if (a->type != b->type || a->ttl != b->ttl || a->count != b->count ||
	    !dns_name_equal(&a->owner, &b->owner))
		return SIGNET_OK;
	dns_rrset ca, cb;
	signet_err ret = dns_rrset_copy(&ca, a);
	if (ret != SIGNET_OK)
		return ret;
	ret = dns_rrset_copy(&cb, b);
	if (ret != SIGNET_OK) {
		dns_rrset_clear(&ca);
		return ret;
	}
	if ((ret = dns_rrset_canonicalize(&ca)) == SIGNET_OK &&
	    (ret = dns_rrset_canonicalize(&cb)) == SIGNET_OK && ca.count == cb.count) {
		*same = true;
		for (size_t i = 0; i < ca.count; i++)
			if (ca.rr[i].len != cb.rr[i].len ||
			    memcmp(ca.rr[i].data, cb.rr[i].data, ca.rr[i].len) != 0)
				*same = false;
	}
	dns_rrset_clear(&ca);
	dns_rrset_clear(&cb);
	return ret;
}

/* Is the DNSKEY RDATA one of the zone's KSKs with the SEP flag? */
static bool is_ksk(const uint8_t *rdata, size_t len, const signer_key *ksks, size_t nksk)
{
	if (len < 4 || !(sg_get_u16(rdata) & DNS_DNSKEY_FLAG_SEP))
		return false;
	for (size_t i = 0; i < nksk; i++)
		if (ksks[i].dnskey_len == len && memcmp(ksks[i].dnskey, rdata, len) == 0)
			return true;
	return false;
}

/* The index in the period's DNSKEY RRset of the KSK whose signature sig
 * is (it verifies over set), or -1. */
static long ksk_verifies(const dns_rrsig *sig, const dns_rrset *set, const dns_rrset *dnskey,
			 const dns_name *zone, const signer_key *ksks, size_t nksk)
{
	for (size_t k = 0; k < dnskey->count; k++) {
		const dns_rdata *r = &dnskey->rr[k];
		if (!is_ksk(r->data, r->len, ksks, nksk))
			continue;
		if (dns_rrsig_verify(sig, set, r->data, r->len, zone, 0) == SIGNET_OK)
			return (long)k;
	}
	return -1;
}

signet_err signer_keyset_check_bundle(const dns_keyset *request, const dns_keyset *bundle,
				      const signer_key *ksks, size_t nksk, char *errmsg,
				      size_t errlen)
{
	if (!request || !bundle || (nksk && !ksks))
		return SIGNET_EINVAL;
	if (request->kind != DNS_KEYSET_REQUEST || bundle->kind != DNS_KEYSET_BUNDLE)
		return fail(errmsg, errlen, SIGNET_EPARSE, "not a bundle answering a request");
	if (!dns_name_equal(&request->zone, &bundle->zone))
		return fail(errmsg, errlen, SIGNET_ESTATE, "bundle is for another zone");
	if (request->serial != bundle->serial)
		return fail(errmsg, errlen, SIGNET_ESTATE,
			    "bundle serial %llu does not answer the last request (%llu)",
			    (unsigned long long)bundle->serial,
			    (unsigned long long)request->serial);
	if (request->count != bundle->count)
		return fail(errmsg, errlen, SIGNET_ESTATE, "bundle has %zu periods, request %zu",
			    bundle->count, request->count);
	for (size_t i = 0; i < bundle->count; i++) {
		const dns_keyset_period *rq = &request->periods[i];
		const dns_keyset_period *bd = &bundle->periods[i];
		if (rq->inception != bd->inception || rq->expiration != bd->expiration)
			return fail(errmsg, errlen, SIGNET_ESTATE, "period %zu: window differs", i);
		const dns_rrset *rsets[3] = {&rq->dnskey, &rq->cds, &rq->cdnskey};
		const dns_rrset *bsets[3] = {&bd->dnskey, &bd->cds, &bd->cdnskey};
		for (int t = 0; t < 3; t++) {
			bool same = false;
			signet_err ret = same_rrset(rsets[t], bsets[t], &same);
			if (ret != SIGNET_OK)
				return ret;
			if (!same)
				return fail(errmsg, errlen, SIGNET_ESTATE,
					    "period %zu: RRset of type %u differs from the request",
					    i, bsets[t]->type);
		}
		/* Every RRSIG must be a KSK's and verify; every non-empty RRset
		 * needs one that covers the whole period by each KSK of the
		 * period's DNSKEY RRset (a resolver may trust any of them). */
		uint64_t covered[3] = {0, 0, 0};
		if (bd->dnskey.count > 64)
			return fail(errmsg, errlen, SIGNET_ERANGE, "period %zu: too many DNSKEYs",
				    i);
		for (size_t j = 0; j < bd->sigs.count; j++) {
			dns_rrsig sig;
			if (dns_rrsig_from_rdata(&sig, bd->sigs.rr[j].data, bd->sigs.rr[j].len) !=
			    SIGNET_OK)
				return fail(errmsg, errlen, SIGNET_EPARSE,
					    "period %zu: RRSIG %zu is malformed", i, j);
			int t = sig.type_covered == DNS_T_DNSKEY    ? 0
				: sig.type_covered == DNS_T_CDS     ? 1
				: sig.type_covered == DNS_T_CDNSKEY ? 2
								    : -1;
			if (t < 0 || bsets[t]->count == 0)
				return fail(
					errmsg, errlen, SIGNET_EVERIFY,
					"period %zu: RRSIG %zu covers type %u, not in the period",
					i, j, sig.type_covered);
			long by = ksk_verifies(&sig, bsets[t], &bd->dnskey, &bundle->zone, ksks,
					       nksk);
			if (by < 0)
				return fail(
					errmsg, errlen, SIGNET_EVERIFY,
					"period %zu: RRSIG %zu (key tag %u) does not verify with"
					" a KSK of the zone",
					i, j, sig.key_tag);
			if (dns_serial_compare(sig.inception, bd->inception) != 1 &&
			    dns_serial_compare(sig.expiration, bd->expiration) != -1)
				covered[t] |= (uint64_t)1 << by;
		}
		for (size_t k = 0; k < bd->dnskey.count; k++) {
			const dns_rdata *r = &bd->dnskey.rr[k];
			if (!is_ksk(r->data, r->len, ksks, nksk))
				continue;
			uint16_t tag = 0;
			(void)dns_key_tag(r->data, r->len, &tag);
			for (int t = 0; t < 3; t++)
				if (bsets[t]->count && !(covered[t] & ((uint64_t)1 << k)))
					return fail(errmsg, errlen, SIGNET_EVERIFY,
						    "period %zu: no RRSIG by KSK %u covers type %u"
						    " over the period",
						    i, tag, bsets[t]->type);
		}
		if (bd->dnskey.count && !covered[0])
			return fail(errmsg, errlen, SIGNET_EVERIFY,
				    "period %zu: no KSK RRSIG covers type %u over the period", i,
				    bd->dnskey.type);
	}
	return SIGNET_OK;
}

const dns_keyset_period *signer_keyset_current(const dns_keyset *ks, uint32_t now)
{
	if (!ks)
		return NULL;
	for (size_t i = 0; i < ks->count; i++) {
		const dns_keyset_period *p = &ks->periods[i];
		if (dns_serial_compare(p->inception, now) != 1 &&
		    dns_serial_compare(now, p->expiration) == -1)
			return p;
	}
	return NULL;
}
