/* check_rrsig.c -- the answers of `signet check`: asking the server,
 * collecting RRsets from an answer, verifying their RRSIGs with the zone's
 * keys and judging each signature's window and the answer's size. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <ldns/ldns.h>

#include "client/check_internal.h"

void chk_name_text(const dns_name *n, char *out, size_t len)
{
	if (dns_name_to_str(n, out, len) != SIGNET_OK)
		snprintf(out, len, "?");
}

void chk_type_text(uint16_t type, char *out, size_t len)
{
	char *s = ldns_rr_type2str((ldns_rr_type)type);
	snprintf(out, len, "%s", s ? s : "?");
	free(s);
}

void chk_when_text(uint32_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	if (!gmtime_r(&tt, &tm) || strftime(out, len, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
		snprintf(out, len, "%u", t);
}

/* Report a finding of a kind that can repeat once per RRSIG; past CHK_REPEAT_MAX
 * they are only counted (and summed up at the end). */
bool chk_repeat_ok(check_ctx *c, enum chk_kind k)
{
	return c->repeats[k]++ < CHK_REPEAT_MAX;
}

/* ---- answers ------------------------------------------------------------- */

/* The RRset (owner, type) of one section of a as a dns_rrset (empty if none). */
signet_err chk_collect(const check_answer *a, uint8_t section, const dns_name *owner, uint16_t type,
		       dns_rrset *out)
{
	dns_rrset_init(out, owner, type, DNS_CLASS_IN, 0);
	bool first = true;
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->section != section || rr->type != type || rr->rclass != DNS_CLASS_IN ||
		    !dns_name_equal(&rr->owner, owner))
			continue;
		if (first || rr->ttl < out->ttl)
			out->ttl = rr->ttl;
		first = false;
		signet_err ret = dns_rrset_add(out, rr->rdata, rr->len);
		if (ret != SIGNET_OK)
			return ret;
	}
	return SIGNET_OK;
}

/* The DNSKEY RDATA in keys matching (tag, alg) with the zone flag, from
 * *from on; *from moves past it. NULL when no more. */
static const dns_rdata *key_for(const dns_rrset *keys, uint16_t tag, uint8_t alg, size_t *from)
{
	for (; *from < keys->count; (*from)++) {
		const dns_rdata *k = &keys->rr[*from];
		uint16_t t;
		if (k->len < 4 || k->data[3] != alg ||
		    !(sg_get_u16(k->data) & DNS_DNSKEY_FLAG_ZONE))
			continue;
		if (dns_key_tag(k->data, k->len, &t) == SIGNET_OK && t == tag)
			return &keys->rr[(*from)++];
	}
	return NULL;
}

/* Judge one RRSIG's window at now: CRITICAL when outside, WARNING when it
 * ends within the refresh time. */
static void judge_window(check_ctx *c, const dns_rrsig *sig, const char *what)
{
	uint32_t now = c->o->now;
	char when[40];
	if (dns_serial_compare(sig->expiration, now) < 0) {
		chk_when_text(sig->expiration, when, sizeof(when));
		if (chk_repeat_ok(c, CHK_EXPIRED))
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: RRSIG by key %u expired at %s", what, sig->key_tag,
					 when);
		return;
	}
	if (dns_serial_compare(sig->inception, now) > 0) {
		chk_when_text(sig->inception, when, sizeof(when));
		if (chk_repeat_ok(c, CHK_FUTURE))
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: RRSIG by key %u not valid before %s", what,
					 sig->key_tag, when);
		return;
	}
	int64_t left = (int64_t)(uint32_t)(sig->expiration - now);
	if (c->min_left < 0 || left < c->min_left) {
		c->min_left = left;
		snprintf(c->min_what, sizeof(c->min_what), "%.80s", what);
	}
	if (left < (int64_t)c->o->refresh && chk_repeat_ok(c, CHK_EXPIRING)) {
		char span[40], refresh[40];
		chk_when_text(sig->expiration, when, sizeof(when));
		client_span_text(left, span, sizeof(span));
		client_span_text(c->o->refresh, refresh, sizeof(refresh));
		check_report_add(c->r, CHECK_WARNING, "rrsig",
				 "%s: RRSIG by key %u expires in %s (%s), within the refresh "
				 "time of %s: the signer is not re-signing",
				 what, sig->key_tag, span, when, refresh);
	}
}

/* Verify the RRSIGs over (owner, type) in one section of a with keys, made
 * by signer. Missing or failing signatures are findings; returns true when
 * at least one RRSIG verifies. tags_out and algs_out (may be NULL, with room
 * for CHK_KEYS_MAX) get the key tag and algorithm of each RRSIG that verifies,
 * *ntags their count. */
bool chk_verify_set(check_ctx *c, const check_answer *a, uint8_t section, const dns_name *owner,
		    uint16_t type, const dns_rrset *keys, const dns_name *signer,
		    uint16_t *tags_out, uint8_t *algs_out, size_t *ntags)
{
	char on[DNS_NAME_STR_MAX], tn[16], what[DNS_NAME_STR_MAX + 32];
	chk_name_text(owner, on, sizeof(on));
	chk_type_text(type, tn, sizeof(tn));
	snprintf(what, sizeof(what), "%s %s", tn, on);
	dns_rrset set;
	if (chk_collect(a, section, owner, type, &set) != SIGNET_OK) {
		c->nomem = true;
		dns_rrset_clear(&set);
		return false;
	}
	if (set.count == 0)
		return false;
	uint8_t algs[32] = {0};
	size_t nsig = 0, nok = 0;
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->section != section || rr->type != DNS_T_RRSIG ||
		    !dns_name_equal(&rr->owner, owner) || rr->len < 2 ||
		    sg_get_u16(rr->rdata) != type)
			continue;
		dns_rrsig sig;
		if (dns_rrsig_from_rdata(&sig, rr->rdata, rr->len) != SIGNET_OK) {
			check_report_add(c->r, CHECK_CRITICAL, "rrsig", "%s: malformed RRSIG",
					 what);
			continue;
		}
		nsig++;
		/* An authoritative server answers with the TTL the zone has,
		 * which the signer put in Original TTL (RFC 4034 §3.1.4); in
		 * a denial the SOA comes with the lower negative TTL (RFC 2308
		 * §3), so there only a TTL above Original TTL is wrong (RFC
		 * 4035 §5.3.3: validators cut it down). */
		if ((section == 1 ? set.ttl != sig.original_ttl : set.ttl > sig.original_ttl) &&
		    chk_repeat_ok(c, CHK_TTL))
			check_report_add(c->r, CHECK_WARNING, "rrsig",
					 "%s: RRSIG by key %u has Original TTL %u, but the set is "
					 "served with TTL %u: the signature was made for other "
					 "data",
					 what, sig.key_tag, sig.original_ttl, set.ttl);
		signet_err vr = SIGNET_ENOTFOUND;
		size_t from = 0;
		const dns_rdata *k;
		while (vr != SIGNET_OK &&
		       (k = key_for(keys, sig.key_tag, sig.algorithm, &from)) != NULL)
			vr = dns_rrsig_verify(&sig, &set, k->data, k->len, signer, 0);
		if (vr == SIGNET_OK) {
			nok++;
			algs[sig.algorithm / 8] |= (uint8_t)(1u << (sig.algorithm % 8));
			if (tags_out && algs_out && ntags && *ntags < CHK_KEYS_MAX) {
				tags_out[*ntags] = sig.key_tag;
				algs_out[(*ntags)++] = sig.algorithm;
			}
			judge_window(c, &sig, what);
		} else if (vr == SIGNET_ENOTFOUND) {
			if (chk_repeat_ok(c, CHK_BADSIG))
				check_report_add(c->r, CHECK_WARNING, "rrsig",
						 "%s: RRSIG by key %u (algorithm %u) names no key "
						 "of the DNSKEY RRset",
						 what, sig.key_tag, sig.algorithm);
		} else if (vr == SIGNET_EUNSUPPORTED) {
			if (chk_repeat_ok(c, CHK_BADSIG))
				check_report_add(c->r, CHECK_WARNING, "rrsig",
						 "%s: RRSIG algorithm %u cannot be verified here",
						 what, sig.algorithm);
		} else if (chk_repeat_ok(c, CHK_BADSIG)) {
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: RRSIG by key %u does not verify (%s)", what,
					 sig.key_tag, signet_strerror(vr));
		}
	}
	dns_rrset_clear(&set);
	if (nsig == 0) {
		if (chk_repeat_ok(c, CHK_NOSIG))
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: no RRSIG in the answer although DO was set", what);
		return false;
	}
	if (nok == 0) {
		if (chk_repeat_ok(c, CHK_NOSIG))
			check_report_add(c->r, CHECK_CRITICAL, "rrsig",
					 "%s: no RRSIG verifies: validators answer SERVFAIL", what);
		return false;
	}
	c->sigs_ok += nok;
	c->sets_ok++;
	/* RFC 4035 §2.2: the zone is signed with every algorithm of its DNSKEY
	 * RRset; a set missing one is bogus to a strict validator. */
	if (keys == &c->dnskey) {
		for (size_t i = 0; i < keys->count; i++) {
			const dns_rdata *k = &keys->rr[i];
			if (k->len < 4 || !(sg_get_u16(k->data) & DNS_DNSKEY_FLAG_ZONE) ||
			    !dns_alg_supported(k->data[3]))
				continue;
			uint8_t alg = k->data[3];
			if (!(algs[alg / 8] & (1u << (alg % 8)))) {
				if (chk_repeat_ok(c, CHK_ALGS))
					check_report_add(c->r, CHECK_WARNING, "algorithm",
							 "%s: not signed with algorithm %u of the "
							 "DNSKEY RRset (RFC 4035 2.2)",
							 what, alg);
				algs[alg / 8] |= (uint8_t)(1u << (alg % 8));
			}
		}
	}
	return true;
}

/* Verify every RRset of an answer's answer section and the SOA, NSEC, NSEC3
 * and DS sets of its authority section. */
void chk_verify_answer(check_ctx *c, const check_answer *a)
{
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->type == DNS_T_RRSIG || rr->rclass != DNS_CLASS_IN)
			continue;
		if (rr->section == 2 && rr->type != DNS_T_SOA && rr->type != DNS_T_NSEC &&
		    rr->type != DNS_T_NSEC3 && rr->type != DNS_T_DS)
			continue;
		/* A CNAME synthesized from a DNAME in the answer is unsigned
		 * by design (RFC 6672 §5.3.1): the DNAME's RRSIG covers it. */
		bool seen = false;
		for (size_t j = 0; j < a->count && !seen && rr->type == DNS_T_CNAME; j++)
			seen = a->rrs[j].section == 1 && a->rrs[j].type == DNS_T_DNAME &&
			       !dns_name_equal(&a->rrs[j].owner, &rr->owner) &&
			       dns_name_is_at_or_below(&rr->owner, &a->rrs[j].owner);
		for (size_t j = 0; j < i && !seen; j++)
			seen = a->rrs[j].section == rr->section && a->rrs[j].type == rr->type &&
			       dns_name_equal(&a->rrs[j].owner, &rr->owner);
		if (!seen)
			(void)chk_verify_set(c, a, rr->section, &rr->owner, rr->type, &c->dnskey,
					     &c->o->zone, NULL, NULL, NULL);
	}
}

/* Ask the zone's server; a failure is a finding and returns false. */
bool chk_ask(check_ctx *c, const dns_name *qname, uint16_t qtype, check_answer *a)
{
	char err[256], qn[DNS_NAME_STR_MAX], tn[16];
	signet_err ret = check_query(&c->o->server, qname, qtype, a, err, sizeof(err));
	if (ret == SIGNET_OK)
		return true;
	chk_name_text(qname, qn, sizeof(qn));
	chk_type_text(qtype, tn, sizeof(tn));
	if (ret == SIGNET_ENOMEM)
		c->nomem = true;
	else
		check_report_add(c->r, ret == SIGNET_EIO ? CHECK_UNKNOWN : CHECK_CRITICAL, "server",
				 "%s %s: %s", qn, tn, err);
	return false;
}

/* Warn when an answer does not fit the EDNS buffer a validator announces. */
void chk_judge_size(check_ctx *c, const check_answer *a, const char *what)
{
	if (a->udp_tc)
		check_report_add(c->r, CHECK_WARNING, "size",
				 "%s: answer of %zu octets does not fit the %d-octet EDNS "
				 "buffer: truncated (TC) over UDP, needs TCP",
				 what, a->size, CHECK_EDNS_SIZE);
	else if (a->udp_size > CHECK_EDNS_SIZE)
		check_report_add(c->r, CHECK_WARNING, "size",
				 "%s: %zu-octet answer over UDP exceeds the %d-octet EDNS "
				 "buffer (fragments get dropped)",
				 what, a->udp_size, CHECK_EDNS_SIZE);
	else
		check_report_add(c->r, CHECK_OK, "size", "%s: %zu octets over UDP", what,
				 a->udp_size);
}
