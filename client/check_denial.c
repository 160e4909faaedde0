/* check_denial.c -- denial of existence in `signet check`: NXDOMAIN probes
 * judged by the NSEC or NSEC3 proof they carry, and the NSEC walk from the
 * apex round to the apex with a sample of the names it finds. The proofs
 * themselves are dnssec/'s (dns_nsec_deny_name, dns_nsec3_deny_name). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <ldns/ldns.h>

#include "client/check_internal.h"

#define SAMPLE_MAX 5        /* names from the NSEC walk whose data is asked */
#define PROOF_MAX 64        /* NSEC or NSEC3 records of one answer judged */

/* The NSEC and NSEC3 records of an answer's authority section, read back;
 * records that do not read are skipped (dns_rdata_check passed them, so
 * only an NSEC3 owner that is no hash is). */
typedef struct proof_set {
	dns_nsec_rec nsec[PROOF_MAX];
	size_t nnsec;
	dns_nsec3_rec nsec3[PROOF_MAX];
	size_t nnsec3;
} proof_set;

static void proof_read(const check_answer *a, proof_set *out)
{
	out->nnsec = out->nnsec3 = 0;
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->section != 2)
			continue;
		if (rr->type == DNS_T_NSEC && out->nnsec < PROOF_MAX &&
		    dns_nsec_read(&rr->owner, rr->rdata, rr->len, &out->nsec[out->nnsec]) ==
			    SIGNET_OK)
			out->nnsec++;
		else if (rr->type == DNS_T_NSEC3 && out->nnsec3 < PROOF_MAX &&
			 dns_nsec3_read(&rr->owner, rr->rdata, rr->len,
					&out->nsec3[out->nnsec3]) == SIGNET_OK)
			out->nnsec3++;
	}
}

/* RFC 4035 §5.4: an NSEC covers qname and one covers the wildcard at the
 * closest encloser. */
static void judge_nsec_proof(check_ctx *c, const proof_set *ps, const dns_name *qname,
			     const char *qn)
{
	dns_denial d;
	if (dns_nsec_deny_name(&c->o->zone, ps->nsec, ps->nnsec, qname, 0, &d) != SIGNET_OK)
		return;
	char wn[DNS_NAME_STR_MAX];
	chk_name_text(&d.wildcard, wn, sizeof(wn));
	if (d.result == DNS_PROOF_OK)
		check_report_add(c->r, CHECK_OK, "nsec",
				 "NXDOMAIN for %s proven: NSEC covers the name and %s", qn, wn);
	else if (d.result == DNS_PROOF_WILDCARD)
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "NXDOMAIN for %s: no NSEC denies the wildcard %s", qn, wn);
	else
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "NXDOMAIN for %s: no NSEC covers the name (broken chain?): "
				 "validators reject the proof", qn);
}

/* RFC 5155 §8.4: closest encloser matched, next closer and wildcard covered. */
static void judge_nsec3_proof(check_ctx *c, const proof_set *ps, const dns_name *qname,
			      const char *qn)
{
	if (ps->nnsec3 == 0) {
		check_report_add(c->r, CHECK_CRITICAL, "nsec3",
				 "NXDOMAIN for %s without a usable NSEC3", qn);
		return;
	}
	if (ps->nsec3[0].p.iterations > 0)
		check_report_add(c->r, CHECK_WARNING, "nsec3",
				 "NSEC3 with %u extra iterations: RFC 9276 asks for 0, and "
				 "resolvers treat high counts as insecure or SERVFAIL",
				 ps->nsec3[0].p.iterations);
	dns_denial d;
	if (dns_nsec3_deny_name(&c->o->zone, ps->nsec3, ps->nnsec3, qname, 0, &d) != SIGNET_OK)
		return;
	char cn[DNS_NAME_STR_MAX];
	chk_name_text(&d.closest_encloser, cn, sizeof(cn));
	if (d.result == DNS_PROOF_OK)
		check_report_add(c->r, CHECK_OK, "nsec3",
				 "NXDOMAIN for %s proven: closest encloser %s, next closer and "
				 "wildcard covered", qn, cn);
	else if (d.result == DNS_PROOF_ENCLOSER)
		check_report_add(c->r, CHECK_CRITICAL, "nsec3",
				 "NXDOMAIN for %s: no NSEC3 matches a closest encloser", qn);
	else
		check_report_add(c->r, CHECK_CRITICAL, "nsec3",
				 "NXDOMAIN for %s: no NSEC3 covers %s (closest encloser %s): "
				 "validators reject the proof", qn,
				 d.result == DNS_PROOF_WILDCARD ? "the wildcard at the closest encloser"
								: "the next closer name", cn);
}

/* Ask for a name that cannot exist and judge the denial. Returns the kind of
 * chain seen: DNS_T_NSEC, DNS_T_NSEC3 or 0. */
static uint16_t probe(check_ctx *c, unsigned i)
{
	uint8_t rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, (int)i, sizeof(rnd));
	char label[40];
	snprintf(label, sizeof(label), "signet-check-%02x%02x%02x%02x%02x%02x%02x%02x",
		 rnd[0], rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
	dns_name q;
	size_t ll = strlen(label);
	if (c->o->zone.len + ll + 1 > DNS_NAME_MAX)
		return 0;
	q.wire[0] = (uint8_t)ll;
	memcpy(q.wire + 1, label, ll);
	memcpy(q.wire + 1 + ll, c->o->zone.wire, c->o->zone.len);
	q.len = (uint8_t)(c->o->zone.len + ll + 1);
	char qn[DNS_NAME_STR_MAX];
	chk_name_text(&q, qn, sizeof(qn));
	check_answer a;
	if (!chk_ask(c, &q, DNS_T_A, &a))
		return 0;
	uint16_t kind = 0;
	proof_set *ps = malloc(sizeof(*ps));
	if (!ps) {
		c->nomem = true;
		check_answer_free(&a);
		return 0;
	}
	proof_read(&a, ps);
	char what[DNS_NAME_STR_MAX + 16];
	snprintf(what, sizeof(what), "NXDOMAIN %s", qn);
	chk_judge_size(c, &a, what);
	chk_verify_answer(c, &a);
	for (size_t j = 0; j < a.count && !kind; j++)
		if (a.rrs[j].section == 2 &&
		    (a.rrs[j].type == DNS_T_NSEC || a.rrs[j].type == DNS_T_NSEC3))
			kind = a.rrs[j].type;
	if (a.rcode == LDNS_RCODE_NOERROR) {
		check_report_add(c->r, CHECK_OK, "nsec",
				 "%s exists (a wildcard?): no NXDOMAIN proof to check", qn);
	} else if (a.rcode != LDNS_RCODE_NXDOMAIN) {
		check_report_add(c->r, CHECK_CRITICAL, "server",
				 "%s A: rcode %d instead of NXDOMAIN", qn, a.rcode);
	} else if (kind == DNS_T_NSEC) {
		judge_nsec_proof(c, ps, &q, qn);
	} else if (kind == DNS_T_NSEC3) {
		judge_nsec3_proof(c, ps, &q, qn);
	} else {
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "NXDOMAIN for %s without NSEC or NSEC3: validators cannot "
				 "accept it", qn);
	}
	free(ps);
	check_answer_free(&a);
	return kind;
}

/* The first type of an NSEC bitmap worth asking for (not NSEC/RRSIG), 0 if
 * none; *delegation when the NSEC is a zone cut's (NS without SOA). */
static uint16_t bitmap_pick(const dns_nsec_rec *n, bool *delegation)
{
	*delegation = dns_bitmap_has(n->bitmap, n->bitmap_len, DNS_T_NS) &&
		      !dns_bitmap_has(n->bitmap, n->bitmap_len, DNS_T_SOA);
	for (unsigned t = 1; t < 65536; t++)
		if (t != DNS_T_NSEC && t != DNS_T_RRSIG &&
		    dns_bitmap_has(n->bitmap, n->bitmap_len, (uint16_t)t))
			return (uint16_t)t;
	return 0;
}

/* Ask for data at name and check it is signed (answer or denial). */
static void sample(check_ctx *c, const dns_name *name, uint16_t type)
{
	check_answer a;
	if (!chk_ask(c, name, type, &a))
		return;
	size_t before = c->sets_ok;
	chk_verify_answer(c, &a);
	char qn[DNS_NAME_STR_MAX], tn[16];
	chk_name_text(name, qn, sizeof(qn));
	chk_type_text(type, tn, sizeof(tn));
	if (a.rcode != LDNS_RCODE_NOERROR && a.rcode != LDNS_RCODE_NXDOMAIN)
		check_report_add(c->r, CHECK_CRITICAL, "server", "%s %s: rcode %d", qn, tn,
				 a.rcode);
	else if (c->sets_ok > before)
		check_report_add(c->r, CHECK_OK, "rrsig", "%s %s: signed answer", qn, tn);
	else if (a.count == 0)
		check_report_add(c->r, CHECK_CRITICAL, "rrsig",
				 "%s %s: empty answer with no signed denial", qn, tn);
	check_answer_free(&a);
}

/* Follow the NSEC chain from the apex round to the apex. */
static void walk_nsec(check_ctx *c)
{
	dns_name cur = c->o->zone, prev = c->o->zone;
	dns_name samples[SAMPLE_MAX];
	uint16_t sample_types[SAMPLE_MAX];
	size_t nsamples = 0;
	unsigned steps = 0;
	char cn[DNS_NAME_STR_MAX], pn[DNS_NAME_STR_MAX], nn[DNS_NAME_STR_MAX];
	for (;;) {
		check_answer a;
		if (!chk_ask(c, &cur, DNS_T_NSEC, &a))
			return;
		const check_rr *rr = NULL;
		for (size_t i = 0; i < a.count && !rr; i++)
			if (a.rrs[i].section == 1 && a.rrs[i].type == DNS_T_NSEC &&
			    dns_name_equal(&a.rrs[i].owner, &cur))
				rr = &a.rrs[i];
		chk_name_text(&cur, cn, sizeof(cn));
		chk_name_text(&prev, pn, sizeof(pn));
		if (!rr) {
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "broken NSEC chain: no NSEC at %s (the next name of the "
					 "NSEC at %s): denials around it fail to validate", cn, pn);
			check_answer_free(&a);
			break;
		}
		(void)chk_verify_set(c, &a, 1, &cur, DNS_T_NSEC, &c->dnskey, &c->o->zone, NULL,
				 NULL, NULL);
		dns_nsec_rec nsec;
		if (dns_nsec_read(&rr->owner, rr->rdata, rr->len, &nsec) != SIGNET_OK) {
			check_answer_free(&a);
			break;
		}
		dns_name next = nsec.next;
		bool delegation = false;
		uint16_t pick = bitmap_pick(&nsec, &delegation);
		if (!dns_name_equal(&cur, &c->o->zone) && !delegation && pick &&
		    nsamples < SAMPLE_MAX) {
			samples[nsamples] = cur;
			sample_types[nsamples++] = pick;
		}
		check_answer_free(&a);
		steps++;
		chk_name_text(&next, nn, sizeof(nn));
		if (dns_name_equal(&next, &c->o->zone)) {
			check_report_add(c->r, CHECK_OK, "nsec",
					 "NSEC chain complete: %u names from the apex round to "
					 "the apex", steps);
			break;
		}
		if (!dns_name_is_at_or_below(&next, &c->o->zone) ||
		    dns_name_compare(&next, &cur) <= 0) {
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "broken NSEC chain: the NSEC at %s points to %s, which is "
					 "%s", cn, nn,
					 dns_name_is_at_or_below(&next, &c->o->zone)
						 ? "not after it in canonical order"
						 : "outside the zone");
			break;
		}
		if (steps >= c->o->walk_limit) {
			check_report_add(c->r, CHECK_OK, "nsec",
					 "NSEC chain followed for %u names (--walk-limit), all "
					 "linked", steps);
			break;
		}
		prev = cur;
		cur = next;
	}
	for (size_t i = 0; i < nsamples; i++)
		sample(c, &samples[i], sample_types[i]);
}

void chk_denial(check_ctx *c)
{
	uint16_t kind = 0;
	unsigned probes = c->o->probes ? c->o->probes : 1;
	for (unsigned i = 0; i < probes; i++) {
		uint16_t k = probe(c, i);
		kind = kind ? kind : k;
	}
	if (kind == DNS_T_NSEC)
		walk_nsec(c);
	for (size_t i = 0; i < c->o->nnames; i++)
		sample(c, &c->o->names[i], DNS_T_A);
}
