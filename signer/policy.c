/* policy.c -- a zone's signing policy: defaults, bounds, and the validity
 * window with its deterministic jitter. */
#include <stdio.h>
#include <string.h>

#include "signer/internal.h"

#define HOUR 3600u
#define DAY (24u * HOUR)

void signer_policy_defaults(signer_policy *p)
{
	if (!p)
		return;
	memset(p, 0, sizeof(*p));
	p->algorithm = DNS_ALG_ECDSAP256SHA256;
	p->rsa_bits = 2048;
	p->validity = 14 * DAY;
	p->backdate = HOUR;
	p->jitter = p->validity / 8;
	p->min_validity = DAY;
	p->max_validity = 90 * DAY;
	p->denial = SIGNER_DENIAL_NSEC;
	p->dnskey_ttl = HOUR;
	p->keyset_period = 7 * DAY;
	p->verify = SIGNER_VERIFY_DEFAULT;
	p->zsk_lifetime = 90 * DAY;
	p->ksk_lifetime = 365 * DAY;
	p->ds_ttl = DAY;
	p->max_zone_ttl = DAY;
	p->propagation = HOUR;
	p->publish_margin = HOUR;
	p->retire_margin = HOUR;
	p->refresh = p->validity / 4;
	p->ksk_roll = SIGNER_KSK_DOUBLE_KSK;
}

uint32_t signer_policy_ipub(const signer_policy *p)
{
	return p->dnskey_ttl + p->propagation + p->publish_margin;
}

uint32_t signer_policy_iret(const signer_policy *p)
{
	/* An RRSIG made just before retirement lives its validity; a resolver
	 * that fetched it late keeps it up to the zone's longest TTL. */
	return p->validity + p->max_zone_ttl + p->propagation + p->retire_margin;
}

uint32_t signer_policy_ids(const signer_policy *p)
{
	return p->ds_ttl + p->propagation + p->retire_margin;
}

uint32_t signer_policy_isig(const signer_policy *p)
{
	return p->max_zone_ttl + p->propagation + p->publish_margin;
}

static signet_err bad(char *errmsg, size_t errlen, const char *field, const char *why)
{
	if (errmsg && errlen)
		snprintf(errmsg, errlen, "policy.%s: %s", field, why);
	return SIGNET_EINVAL;
}

signet_err signer_policy_check(const signer_policy *p, char *errmsg, size_t errlen)
{
	if (!p)
		return SIGNET_EINVAL;
	if (!dns_alg_supported(p->algorithm))
		return bad(errmsg, errlen, "algorithm", "must be 8, 13, 14 or 15");
	if (p->algorithm == DNS_ALG_RSASHA256 && (p->rsa_bits < 2048 || p->rsa_bits > 4096))
		return bad(errmsg, errlen, "rsa_bits", "must be 2048..4096");
	if (p->validity < HOUR || p->validity > 365 * DAY)
		return bad(errmsg, errlen, "validity", "must be 1 hour..365 days");
	if (p->backdate > DAY)
		return bad(errmsg, errlen, "backdate", "must be at most 1 day");
	if (p->jitter > p->validity / 2)
		return bad(errmsg, errlen, "jitter", "must be at most half the validity");
	if (p->min_validity < HOUR || p->min_validity > p->max_validity)
		return bad(errmsg, errlen, "min_validity", "must be 1 hour..max_validity");
	if (p->max_validity > 365 * DAY)
		return bad(errmsg, errlen, "max_validity", "must be at most 365 days");
	if (p->denial != SIGNER_DENIAL_NSEC && p->denial != SIGNER_DENIAL_NSEC3)
		return bad(errmsg, errlen, "denial", "must be NSEC or NSEC3");
	/* RFC 9276 asks for 0; validators treat high counts as insecure. */
	if (p->nsec3_iterations > 100)
		return bad(errmsg, errlen, "nsec3.iterations", "must be at most 100 (RFC 9276: 0)");
	if (p->dnskey_ttl == 0 || p->dnskey_ttl > 7 * DAY)
		return bad(errmsg, errlen, "dnskey_ttl", "must be 1 second..7 days");
	if (p->keyset_period < DAY || p->keyset_period > 90 * DAY)
		return bad(errmsg, errlen, "keyset_period", "must be 1..90 days");
	if (p->verify != SIGNER_VERIFY_DEFAULT && p->verify != SIGNER_VERIFY_ON &&
	    p->verify != SIGNER_VERIFY_OFF)
		return bad(errmsg, errlen, "verify_after_sign", "unknown value");
	/* Timing: each value alone, then what rolling keys needs of them
	 * together (RFC 7583). */
	if (p->ds_ttl == 0 || p->ds_ttl > 7 * DAY)
		return bad(errmsg, errlen, "ds_ttl", "must be 1 second..7 days");
	if (p->max_zone_ttl == 0 || p->max_zone_ttl > 7 * DAY)
		return bad(errmsg, errlen, "max_zone_ttl", "must be 1 second..7 days");
	if (p->propagation > 7 * DAY)
		return bad(errmsg, errlen, "propagation", "must be at most 7 days");
	if (p->publish_margin > 30 * DAY || p->retire_margin > 30 * DAY)
		return bad(errmsg, errlen,
			   p->publish_margin > 30 * DAY ? "publish_margin" : "retire_margin",
			   "must be at most 30 days");
	if (p->zsk_lifetime < DAY || p->zsk_lifetime > 3650 * DAY)
		return bad(errmsg, errlen, "zsk_lifetime", "must be 1 day..10 years");
	if (p->ksk_lifetime > 3650 * DAY)
		return bad(errmsg, errlen, "ksk_lifetime",
			   "must be at most 10 years (0: never due)");
	if (p->ksk_roll != SIGNER_KSK_DOUBLE_KSK && p->ksk_roll != SIGNER_KSK_DOUBLE_DS)
		return bad(errmsg, errlen, "ksk_rollover", "must be double-KSK or double-DS");
	if (p->max_zone_ttl >= p->validity)
		return bad(
			errmsg, errlen, "max_zone_ttl",
			"must be shorter than the validity: a cached RRset would outlive its RRSIG");
	if (p->dnskey_ttl >= p->keyset_period)
		return bad(errmsg, errlen, "dnskey_ttl", "must be shorter than keyset_period");
	if (p->keyset_period > p->validity)
		return bad(errmsg, errlen, "keyset_period", "must not be longer than the validity");
	/* Three ZSKs at most at any time: the successor of a successor must
	 * not be due before the first one is gone. */
	if ((uint64_t)p->zsk_lifetime < (uint64_t)signer_policy_ipub(p) + signer_policy_iret(p))
		return bad(errmsg, errlen, "zsk_lifetime",
			   "shorter than publication + retirement (dnskey_ttl + validity +"
			   " max_zone_ttl + propagation + margins): cannot roll safely");
	if (p->refresh == 0 ||
	    (uint64_t)p->refresh + p->jitter + signer_policy_bucket(p) > p->validity)
		return bad(errmsg, errlen, "refresh",
			   "must be 1 second..validity - jitter - validity/4: fresh RRSIGs"
			   " would be due for refresh at once");
	return SIGNET_OK;
}

bool signer_policy_verifies(const signer_policy *p)
{
	if (p->verify == SIGNER_VERIFY_ON)
		return true;
	if (p->verify == SIGNER_VERIFY_OFF)
		return false;
	/* A faulty RSA-CRT signature leaks the key (Boneh-DeMillo-Lipton), so
	 * RSA output is checked unless the operator says otherwise. */
	return p->algorithm == DNS_ALG_RSASHA256;
}

bool signer_verify_needed(const signer_policy *p, uint8_t alg, bool verify_all)
{
	if (alg == DNS_ALG_RSASHA256)
		return true;
	if (!p || p->verify == SIGNER_VERIFY_DEFAULT)
		return verify_all;
	return p->verify == SIGNER_VERIFY_ON;
}

uint32_t signer_policy_bucket(const signer_policy *p)
{
	/* A quarter of the validity, whole hours: an RRSIG made at the end of a
	 * bucket still has over a quarter of its life left (jitter is at most
	 * half). */
	uint32_t b = (p->validity / 4) / HOUR * HOUR;
	return b < HOUR ? HOUR : b;
}

void signer_policy_window(const signer_policy *p, const uint8_t digest[32], int64_t now,
			  uint32_t *inception, uint32_t *expiration)
{
	uint32_t bucket = signer_policy_bucket(p);
	uint64_t start = now > 0 ? ((uint64_t)now / bucket) * bucket : 0;
	uint64_t j = 0;
	if (p->jitter > 0) {
		uint64_t h = 0;
		for (int i = 0; i < 8; i++)
			h = (h << 8) | digest[i];
		j = h % p->jitter;
	}
	/* Serial arithmetic (RFC 4034 section 3.1.5) makes the wrap harmless. */
	*inception = (uint32_t)(start - p->backdate);
	*expiration = (uint32_t)(start + p->validity - j);
}

signet_err signer_policy_check_window(const signer_policy *p, int64_t now, uint32_t inception,
				      uint32_t expiration, char *errmsg, size_t errlen)
{
	const char *why = NULL;
	uint32_t n = (uint32_t)now;
	uint32_t len = expiration - inception;
	if (dns_serial_compare(expiration, inception) != 1)
		why = "expiration must be after inception";
	else if (dns_serial_compare(expiration, n) != 1)
		why = "expiration is in the past";
	else if (len < p->min_validity || len > p->max_validity)
		why = "length outside the policy's min_validity..max_validity";
	else if (expiration - n > p->max_validity)
		why = "expiration further ahead than max_validity";
	else if (dns_serial_compare(inception, n) == -1 && n - inception > p->max_validity)
		why = "inception further back than max_validity";
	if (!why)
		return SIGNET_OK;
	if (errmsg && errlen)
		snprintf(errmsg, errlen, "window: %s", why);
	return SIGNET_ERANGE;
}

signet_err signer_rrset_digest(const dns_rrset *set, uint8_t digest[32])
{
	if (!set || !digest)
		return SIGNET_EINVAL;
	/* The same function that SignRRsets uses on its one canonical form, so
	 * the window found here is the one signetd gives. */
	dns_rrset copy;
	signet_err ret = dns_rrset_copy(&copy, set);
	if (ret != SIGNET_OK)
		return ret;
	signer_scratch sc = {.md = NULL};
	ret = signer_canonical(&copy, &sc, digest);
	signer_scratch_free(&sc);
	dns_rrset_clear(&copy);
	return ret;
}
