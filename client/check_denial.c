/* check_denial.c -- denial of existence in `signet check`: NXDOMAIN probes
 * judged by the NSEC or NSEC3 proof they carry, and the NSEC walk from the
 * apex round to the apex across zone cuts (the NSEC of a delegation comes in
 * a referral's authority section, or, for a secure one, as the proof of a
 * name just after it), and every answer judged as a validator judges it:
 * name errors, no data, referrals with their DS or proof of no DS, and
 * wildcard expansions. The proofs themselves are dnssec/'s (denial.c). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#include <ldns/ldns.h>

#include "client/check_internal.h"

#define SAMPLE_MAX 16      /* names from the NSEC walk whose data is asked */
#define CUT_FINDINGS_MAX 8 /* failed delegations listed before they are counted */
#define PROOF_MAX 64       /* NSEC or NSEC3 records of one answer judged */

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
			 dns_nsec3_read(&rr->owner, rr->rdata, rr->len, &out->nsec3[out->nnsec3]) ==
				 SIGNET_OK)
			out->nnsec3++;
	}
}

/* A name error (RFC 4035 §5.4, RFC 5155 §8.4). */
static void judge_name_error(check_ctx *c, const proof_set *ps, const dns_name *qname,
			     const char *qn)
{
	dns_denial d;
	char cn[DNS_NAME_STR_MAX], wn[DNS_NAME_STR_MAX];
	if (ps->nnsec) {
		if (dns_nsec_deny_name(&c->o->zone, ps->nsec, ps->nnsec, qname, 0, &d) != SIGNET_OK)
			return;
		chk_name_text(&d.wildcard, wn, sizeof(wn));
		if (d.result == DNS_PROOF_OK)
			check_report_add(c->r, CHECK_OK, "nsec",
					 "NXDOMAIN for %s proven: NSEC covers the name and %s", qn,
					 wn);
		else if (d.result == DNS_PROOF_WILDCARD)
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "NXDOMAIN for %s: no NSEC denies the wildcard %s", qn, wn);
		else if (d.result == DNS_PROOF_CUT)
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "NXDOMAIN for %s: only the NSEC of a zone cut or DNAME "
					 "above it covers the name: validators reject the proof",
					 qn);
		else
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "NXDOMAIN for %s: no NSEC covers the name (broken "
					 "chain?): validators reject the proof",
					 qn);
		return;
	}
	if (ps->nnsec3 == 0) {
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "NXDOMAIN for %s without NSEC or NSEC3: validators cannot "
				 "accept it",
				 qn);
		return;
	}
	if (ps->nsec3[0].p.iterations > 0)
		check_report_add(c->r, CHECK_WARNING, "nsec3",
				 "NSEC3 with %u extra iterations: RFC 9276 asks for 0, and "
				 "resolvers treat high counts as insecure or SERVFAIL",
				 ps->nsec3[0].p.iterations);
	if (dns_nsec3_deny_name(&c->o->zone, ps->nsec3, ps->nnsec3, qname, 0, &d) != SIGNET_OK)
		return;
	chk_name_text(&d.closest_encloser, cn, sizeof(cn));
	if (d.result == DNS_PROOF_OK)
		check_report_add(c->r, CHECK_OK, "nsec3",
				 "NXDOMAIN for %s proven: closest encloser %s, next closer and "
				 "wildcard covered",
				 qn, cn);
	else if (d.result == DNS_PROOF_ENCLOSER || d.result == DNS_PROOF_PARAMS)
		check_report_add(c->r, CHECK_CRITICAL, "nsec3", "NXDOMAIN for %s: %s", qn,
				 dns_proof_text(d.result));
	else
		check_report_add(c->r, CHECK_CRITICAL, "nsec3",
				 "NXDOMAIN for %s: no NSEC3 covers %s (closest encloser %s): "
				 "validators reject the proof",
				 qn,
				 d.result == DNS_PROOF_WILDCARD
					 ? "the wildcard at the closest encloser"
					 : "the next closer name",
				 cn);
}

/* The proof that qname has no qtype (NSEC, or NSEC3 with opt-out for DS):
 * DNS_PROOF_OK or why not; *optout when an opt-out span is the proof. */
static dns_proof deny_type(const check_ctx *c, const proof_set *ps, const dns_name *qname,
			   uint16_t qtype, bool *optout, const char **how)
{
	dns_denial d;
	*optout = false;
	*how = "NSEC";
	if (ps->nnsec) {
		if (dns_nsec_deny_type(&c->o->zone, ps->nsec, ps->nnsec, qname, qtype, &d) !=
		    SIGNET_OK)
			return DNS_PROOF_NONE;
		return d.result;
	}
	*how = "NSEC3";
	if (ps->nnsec3 == 0 || !dns_name_is_at_or_below(qname, &c->o->zone) ||
	    dns_nsec3_deny_type(&c->o->zone, ps->nsec3, ps->nnsec3, qname, qtype, &d) != SIGNET_OK)
		return DNS_PROOF_NONE;
	*optout = d.opt_out;
	return d.result;
}

/* No data (RFC 4035 §5.4, RFC 5155 §8.5). */
static void judge_nodata(check_ctx *c, const proof_set *ps, const dns_name *qname, uint16_t qtype,
			 const char *what)
{
	bool optout;
	const char *how;
	dns_proof p = deny_type(c, ps, qname, qtype, &optout, &how);
	if (p == DNS_PROOF_OK)
		check_report_add(c->r, CHECK_OK, "nsec", "%s: no data, proven by %s", what, how);
	else
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "%s: empty answer whose denial does not hold (%s: %s): "
				 "validators answer SERVFAIL",
				 what, how, dns_proof_text(p));
}

/* The delegations met, for one line at the end. */
typedef struct cut_tally {
	unsigned secure, insecure, optout, failed;
} cut_tally;

/* A referral at the cut (RFC 4035 §3.1.4): the DS RRset with its RRSIG
 * (chk_verify_answer has judged them), or the proof that there is none. */
static void judge_cut(check_ctx *c, const check_answer *a, const proof_set *ps, const dns_name *cut,
		      cut_tally *t)
{
	char cn[DNS_NAME_STR_MAX];
	chk_name_text(cut, cn, sizeof(cn));
	for (size_t i = 0; i < a->count; i++)
		if (a->rrs[i].section == 2 && a->rrs[i].type == DNS_T_DS &&
		    dns_name_equal(&a->rrs[i].owner, cut)) {
			t->secure++;
			return;
		}
	bool optout;
	const char *how;
	dns_proof p = deny_type(c, ps, cut, DNS_T_DS, &optout, &how);
	if (p == DNS_PROOF_OK) {
		t->insecure++;
		t->optout += optout;
		return;
	}
	if (t->failed++ < CUT_FINDINGS_MAX)
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "referral to %s without DS and without a proof that there is "
				 "none (%s: %s): validators reject the delegation",
				 cn, how,
				 p == DNS_PROOF_NONE ? "nothing in the authority section"
						     : dns_proof_text(p));
}

/* What an answer to (qname, qtype) is. */
enum shape { S_ANSWER, S_REFERRAL, S_NODATA, S_NXDOMAIN, S_OTHER };

/* The shape of a; for a referral, *cut gets the delegation's owner. */
static enum shape shape_of(const check_ctx *c, const check_answer *a, const dns_name *qname,
			   uint16_t qtype, dns_name *cut)
{
	if (a->rcode == LDNS_RCODE_NXDOMAIN)
		return S_NXDOMAIN;
	if (a->rcode != LDNS_RCODE_NOERROR)
		return S_OTHER;
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->section == 1 &&
		    (rr->type == qtype || rr->type == DNS_T_CNAME || rr->type == DNS_T_DNAME))
			return S_ANSWER;
	}
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		if (rr->section == 2 && rr->type == DNS_T_NS &&
		    !dns_name_equal(&rr->owner, &c->o->zone) &&
		    dns_name_is_at_or_below(qname, &rr->owner) &&
		    dns_name_is_at_or_below(&rr->owner, &c->o->zone)) {
			*cut = rr->owner;
			return S_REFERRAL;
		}
	}
	return S_NODATA;
}

/* The Labels of a verifying-or-not RRSIG over the answer at qname when
 * fewer than qname's: the answer was expanded from a wildcard. 0 if not. */
static unsigned expansion(const check_answer *a, const dns_name *qname, uint16_t qtype)
{
	unsigned ql = dns_name_rrsig_labels(qname);
	for (size_t i = 0; i < a->count; i++) {
		const check_rr *rr = &a->rrs[i];
		dns_rrsig sig;
		if (rr->section != 1 || rr->type != DNS_T_RRSIG ||
		    !dns_name_equal(&rr->owner, qname) ||
		    dns_rrsig_from_rdata(&sig, rr->rdata, rr->len) != SIGNET_OK ||
		    (sig.type_covered != qtype && sig.type_covered != DNS_T_CNAME))
			continue;
		if (sig.labels < ql)
			return sig.labels;
	}
	return 0;
}

/* A wildcard expansion needs the proof that qname itself does not exist
 * (RFC 4035 §5.3.4, RFC 5155 §8.8). */
static void judge_expansion(check_ctx *c, const proof_set *ps, const dns_name *qname,
			    unsigned labels, const char *what)
{
	dns_denial d;
	d.result = DNS_PROOF_NONE;
	const char *how = ps->nnsec ? "NSEC" : "NSEC3";
	if (labels < dns_name_labels(&c->o->zone) || !dns_name_is_at_or_below(qname, &c->o->zone))
		d.result = DNS_PROOF_NAME;
	else if (ps->nnsec)
		(void)dns_nsec_deny_name(&c->o->zone, ps->nsec, ps->nnsec, qname, labels, &d);
	else if (ps->nnsec3)
		(void)dns_nsec3_deny_name(&c->o->zone, ps->nsec3, ps->nnsec3, qname, labels, &d);
	if (d.result == DNS_PROOF_OK)
		check_report_add(c->r, CHECK_OK, "nsec",
				 "%s: wildcard expansion (RRSIG Labels %u), the name's "
				 "absence proven by %s",
				 what, labels, how);
	else
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "%s: RRSIG Labels %u make it a wildcard expansion, but %s: "
				 "validators answer SERVFAIL",
				 what, labels,
				 d.result == DNS_PROOF_NONE
					 ? "no NSEC or NSEC3 proves the name does not exist"
					 : "the proof that the name does not exist fails");
}

/* The name an answer's CNAME chain from qname ends at (qname itself without
 * one); at most 8 links are followed. */
static dns_name chain_end(const check_answer *a, const dns_name *qname)
{
	dns_name cur = *qname;
	for (unsigned hop = 0; hop < 8; hop++) {
		bool moved = false;
		for (size_t i = 0; i < a->count && !moved; i++) {
			const check_rr *rr = &a->rrs[i];
			dns_name target;
			if (rr->section == 1 && rr->type == DNS_T_CNAME &&
			    dns_name_equal(&rr->owner, &cur) &&
			    dns_name_from_wire(&target, rr->rdata, rr->len, NULL) == SIGNET_OK) {
				cur = target;
				moved = true;
			}
		}
		if (!moved)
			break;
	}
	return cur;
}

/* Judge an answer to (qname, qtype) as a validator would: the RRSIGs of
 * every set, then the proof its shape needs. */
static void judge_answer(check_ctx *c, const check_answer *a, const dns_name *qname, uint16_t qtype,
			 cut_tally *t)
{
	char qn[DNS_NAME_STR_MAX], tn[16], what[DNS_NAME_STR_MAX + 24];
	chk_name_text(qname, qn, sizeof(qn));
	chk_type_text(qtype, tn, sizeof(tn));
	snprintf(what, sizeof(what), "%s %s", qn, tn);
	size_t before = c->sets_ok;
	chk_verify_answer(c, a);
	proof_set *ps = malloc(sizeof(*ps));
	if (!ps) {
		c->nomem = true;
		return;
	}
	proof_read(a, ps);
	dns_name cut;
	unsigned labels;
	switch (shape_of(c, a, qname, qtype, &cut)) {
	case S_NXDOMAIN: {
		/* After a CNAME the name error is the target's (RFC 6604). */
		dns_name end = chain_end(a, qname);
		char en[DNS_NAME_STR_MAX];
		chk_name_text(&end, en, sizeof(en));
		if (dns_name_is_at_or_below(&end, &c->o->zone))
			judge_name_error(c, ps, &end, en);
		else
			check_report_add(c->r, CHECK_OK, "nsec",
					 "%s: the CNAME chain leaves the zone at %s", what, en);
		break;
	}
	case S_ANSWER:
		labels = expansion(a, qname, qtype);
		if (labels)
			judge_expansion(c, ps, qname, labels, what);
		else if (c->sets_ok > before)
			check_report_add(c->r, CHECK_OK, "rrsig", "%s: signed answer", what);
		break;
	case S_REFERRAL:
		judge_cut(c, a, ps, &cut, t);
		break;
	case S_NODATA:
		judge_nodata(c, ps, qname, qtype, what);
		break;
	case S_OTHER:
		check_report_add(c->r, CHECK_CRITICAL, "server", "%s: rcode %d", what, a->rcode);
		break;
	}
	free(ps);
}

/* Ask for a name that cannot exist and judge the denial. Returns the kind of
 * chain seen: DNS_T_NSEC, DNS_T_NSEC3 or 0. */
static uint16_t probe(check_ctx *c, unsigned i, cut_tally *t)
{
	uint8_t rnd[8];
	if (getrandom(rnd, sizeof(rnd), 0) != (ssize_t)sizeof(rnd))
		memset(rnd, (int)i, sizeof(rnd));
	char label[40];
	snprintf(label, sizeof(label), "signet-check-%02x%02x%02x%02x%02x%02x%02x%02x", rnd[0],
		 rnd[1], rnd[2], rnd[3], rnd[4], rnd[5], rnd[6], rnd[7]);
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
	char what[DNS_NAME_STR_MAX + 16];
	snprintf(what, sizeof(what), "NXDOMAIN %s", qn);
	chk_judge_size(c, &a, what);
	for (size_t j = 0; j < a.count && !kind; j++)
		if (a.rrs[j].section == 2 &&
		    (a.rrs[j].type == DNS_T_NSEC || a.rrs[j].type == DNS_T_NSEC3))
			kind = a.rrs[j].type;
	if (a.rcode != LDNS_RCODE_NOERROR && a.rcode != LDNS_RCODE_NXDOMAIN)
		check_report_add(c->r, CHECK_CRITICAL, "server",
				 "%s A: rcode %d instead of NXDOMAIN", qn, a.rcode);
	else
		judge_answer(c, &a, &q, DNS_T_A, t);
	check_answer_free(&a);
	return kind;
}

/* The first type of an NSEC bitmap worth asking for (not NSEC/RRSIG), 0 if
 * none. */
static uint16_t bitmap_pick(const dns_nsec_rec *n)
{
	for (unsigned t = 1; t < 65536; t++)
		if (t != DNS_T_NSEC && t != DNS_T_RRSIG &&
		    dns_bitmap_has(n->bitmap, n->bitmap_len, (uint16_t)t))
			return (uint16_t)t;
	return 0;
}

/* Ask for (name, type) and judge the answer. */
static void sample(check_ctx *c, const dns_name *name, uint16_t type, cut_tally *t)
{
	check_answer a;
	if (!chk_ask(c, name, type, &a))
		return;
	judge_answer(c, &a, name, type, t);
	check_answer_free(&a);
}

/* The NSEC owned by name in one section of a, or NULL. */
static const check_rr *nsec_in(const check_answer *a, uint8_t section, const dns_name *name)
{
	for (size_t i = 0; i < a->count; i++)
		if (a->rrs[i].section == section && a->rrs[i].type == DNS_T_NSEC &&
		    dns_name_equal(&a->rrs[i].owner, name))
			return &a->rrs[i];
	return NULL;
}

/* The NSEC at a secure delegation: no query for the name returns it (the
 * referral carries the DS instead), so ask for the name just after it,
 * whose name error the NSEC at cut proves. *out holds that answer; the
 * record or NULL (then a finding says why). */
static const check_rr *nsec_after_cut(check_ctx *c, const dns_name *cut, const char *cn,
				      check_answer *out)
{
	dns_name after;
	if (dns_name_sibling_after(cut, &after) != SIGNET_OK) {
		check_report_add(c->r, CHECK_WARNING, "nsec",
				 "NSEC chain: no name after %s can be asked for to fetch its "
				 "NSEC; the walk stops there",
				 cn);
		return NULL;
	}
	if (!chk_ask(c, &after, DNS_T_A, out))
		return NULL;
	const check_rr *rr = nsec_in(out, 2, cut);
	if (!rr) {
		check_answer_free(out);
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "broken NSEC chain: no NSEC at the secure delegation %s (asked "
				 "for through the name just after it)",
				 cn);
	}
	return rr;
}

/* Follow the NSEC chain from the apex round to the apex; at every zone cut
 * take the NSEC from the referral (insecure) or from the proof of the name
 * after it (secure), and judge the cut's DS or proof of none. */
static void walk_nsec(check_ctx *c, cut_tally *t)
{
	dns_name cur = c->o->zone, prev = c->o->zone;
	dns_name samples[SAMPLE_MAX];
	uint16_t sample_types[SAMPLE_MAX];
	size_t nsamples = 0;
	unsigned steps = 0;
	char cn[DNS_NAME_STR_MAX], pn[DNS_NAME_STR_MAX], nn[DNS_NAME_STR_MAX];
	for (;;) {
		check_answer a, b;
		bool have_b = false;
		if (!chk_ask(c, &cur, DNS_T_NSEC, &a))
			return;
		chk_name_text(&cur, cn, sizeof(cn));
		chk_name_text(&prev, pn, sizeof(pn));
		const check_rr *rr = nsec_in(&a, 1, &cur);
		const check_answer *from = &a;
		uint8_t section = 1;
		dns_name cut;
		bool at_cut = false, secure = false;
		if (!rr && shape_of(c, &a, &cur, DNS_T_NSEC, &cut) == S_REFERRAL) {
			if (!dns_name_equal(&cut, &cur)) {
				char xn[DNS_NAME_STR_MAX];
				chk_name_text(&cut, xn, sizeof(xn));
				check_report_add(c->r, CHECK_WARNING, "nsec",
						 "the NSEC at %s points to %s, below the zone cut "
						 "at %s: glue and occluded names have no NSEC; the "
						 "walk stops there",
						 pn, cn, xn);
				check_answer_free(&a);
				break;
			}
			at_cut = true;
			secure = false;
			for (size_t i = 0; i < a.count && !secure; i++)
				secure = a.rrs[i].section == 2 && a.rrs[i].type == DNS_T_DS &&
					 dns_name_equal(&a.rrs[i].owner, &cur);
			/* The DS (and its RRSIG) or the NSEC of an insecure
			 * cut are in the referral: judge them there. */
			judge_answer(c, &a, &cur, DNS_T_NSEC, t);
			rr = nsec_in(&a, 2, &cur);
			section = 2;
			if (!rr && secure) {
				rr = nsec_after_cut(c, &cur, cn, &b);
				if (!rr) {
					check_answer_free(&a);
					break;
				}
				have_b = true;
				from = &b;
			}
		}
		if (!rr) {
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "broken NSEC chain: no NSEC at %s (the next name of the "
					 "NSEC at %s): denials around it fail to validate",
					 cn, pn);
			check_answer_free(&a);
			break;
		}
		if (from == &b || section == 1)
			(void)chk_verify_set(c, from, section, &cur, DNS_T_NSEC, &c->dnskey,
					     &c->o->zone, NULL, NULL, NULL);
		dns_nsec_rec nsec;
		if (dns_nsec_read(&rr->owner, rr->rdata, rr->len, &nsec) != SIGNET_OK) {
			if (have_b)
				check_answer_free(&b);
			check_answer_free(&a);
			break;
		}
		dns_name next = nsec.next;
		bool ns = dns_bitmap_has(nsec.bitmap, nsec.bitmap_len, DNS_T_NS);
		bool ds = dns_bitmap_has(nsec.bitmap, nsec.bitmap_len, DNS_T_DS);
		if (at_cut && (!ns || ds != secure))
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "the NSEC at the delegation %s %s: validators reject "
					 "the delegation's proofs",
					 cn,
					 !ns      ? "lacks the NS bit"
					 : secure ? "lacks the DS bit although DS is served"
						  : "has the DS bit although no DS is served");
		else if (!at_cut && ns && !dns_name_equal(&cur, &c->o->zone))
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "the NSEC at %s has the NS bit, but the server answers "
					 "there with authority, not a referral",
					 cn);
		uint16_t pick = bitmap_pick(&nsec);
		if (!dns_name_equal(&cur, &c->o->zone) && !at_cut && pick &&
		    nsamples < SAMPLE_MAX) {
			samples[nsamples] = cur;
			sample_types[nsamples++] = pick;
		}
		if (have_b)
			check_answer_free(&b);
		check_answer_free(&a);
		steps++;
		chk_name_text(&next, nn, sizeof(nn));
		if (dns_name_equal(&next, &c->o->zone)) {
			check_report_add(c->r, CHECK_OK, "nsec",
					 "NSEC chain complete: %u names from the apex round to "
					 "the apex",
					 steps);
			break;
		}
		if (!dns_name_is_at_or_below(&next, &c->o->zone) ||
		    dns_name_compare(&next, &cur) <= 0) {
			check_report_add(c->r, CHECK_CRITICAL, "nsec",
					 "broken NSEC chain: the NSEC at %s points to %s, which is "
					 "%s",
					 cn, nn,
					 dns_name_is_at_or_below(&next, &c->o->zone)
						 ? "not after it in canonical order"
						 : "outside the zone");
			break;
		}
		if (steps >= c->o->walk_limit) {
			check_report_add(c->r, CHECK_OK, "nsec",
					 "NSEC chain followed for %u names (--walk-limit), all "
					 "linked",
					 steps);
			break;
		}
		prev = cur;
		cur = next;
	}
	for (size_t i = 0; i < nsamples; i++)
		sample(c, &samples[i], sample_types[i], t);
}

void chk_denial(check_ctx *c)
{
	cut_tally t = {0};
	uint16_t kind = 0;
	unsigned probes = c->o->probes ? c->o->probes : 1;
	for (unsigned i = 0; i < probes; i++) {
		uint16_t k = probe(c, i, &t);
		kind = kind ? kind : k;
	}
	if (kind == DNS_T_NSEC)
		walk_nsec(c, &t);
	for (size_t i = 0; i < c->o->nnames; i++)
		sample(c, &c->o->names[i], DNS_T_A, &t);
	if (t.failed > CUT_FINDINGS_MAX)
		check_report_add(c->r, CHECK_CRITICAL, "nsec",
				 "%u more delegations without a valid proof of no DS",
				 t.failed - CUT_FINDINGS_MAX);
	if (t.secure + t.insecure)
		check_report_add(c->r, CHECK_OK, "nsec",
				 "%u referrals judged: %u secure (DS signed), %u insecure (no DS "
				 "proven%s)",
				 t.secure + t.insecure, t.secure, t.insecure,
				 t.optout ? ", some by opt-out" : "");
}
