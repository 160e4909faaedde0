/* check_zone.c -- one run of `signet check`: the SOA, then the checks of
 * check_keys.c, check_denial.c and check_rrsig.c in order, and the summing
 * up of repeated findings and of the signatures' lifetimes. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <ldns/ldns.h>

#include "client/check_internal.h"

signet_err check_zone(const check_options *o, check_report *r)
{
	if (!o || !r || o->nnames > CHECK_NAMES_MAX || o->walk_limit == 0)
		return SIGNET_EINVAL;
	check_ctx *c = calloc(1, sizeof(*c));
	if (!c)
		return SIGNET_ENOMEM;
	c->o = o;
	c->r = r;
	c->min_left = -1;
	dns_rrset_init(&c->dnskey, &o->zone, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
	chk_name_text(&o->zone, c->zone, sizeof(c->zone));

	/* The SOA first: if the server cannot answer it, nothing else will. */
	check_answer soa;
	if (!chk_ask(c, &o->zone, DNS_T_SOA, &soa))
		goto out;
	dns_rrset s;
	bool have_soa = chk_collect(&soa, 1, &o->zone, DNS_T_SOA, &s) == SIGNET_OK && s.count == 1;
	dns_rrset_clear(&s);
	if (soa.rcode != LDNS_RCODE_NOERROR || !have_soa) {
		check_report_add(r, CHECK_CRITICAL, "server",
				 "%s SOA: rcode %d, %s: the server does not serve the zone",
				 c->zone, soa.rcode, have_soa ? "SOA present" : "no SOA");
		check_answer_free(&soa);
		goto out;
	}
	if (!soa.aa)
		check_report_add(r, CHECK_WARNING, "server",
				 "%s SOA: answer is not authoritative (AA clear)", c->zone);
	if (!chk_dnskey(c)) {
		check_answer_free(&soa);
		goto out;
	}
	chk_verify_answer(c, &soa);
	check_answer_free(&soa);

	check_answer ns;
	if (chk_ask(c, &o->zone, DNS_T_NS, &ns)) {
		chk_verify_answer(c, &ns);
		check_answer_free(&ns);
	}
	chk_cds(c);
	chk_ds(c);

	chk_denial(c);

	static const char *const kind_names[CHK_COUNT] = {"RRsets without a valid RRSIG",
							  "RRSIGs that do not verify",
							  "expired RRSIGs",
							  "RRSIGs not yet valid",
							  "RRSIGs within the refresh time",
							  "RRsets missing an algorithm",
							  "RRSIGs with another Original TTL"};
	for (int k = 0; k < CHK_COUNT; k++)
		if (c->repeats[k] > CHK_REPEAT_MAX)
			check_report_add(r,
					 k == CHK_EXPIRING || k == CHK_ALGS || k == CHK_TTL
						 ? CHECK_WARNING
						 : CHECK_CRITICAL,
					 "rrsig", "%zu more %s not listed",
					 c->repeats[k] - CHK_REPEAT_MAX, kind_names[k]);
	if (c->min_left >= 0) {
		char span[40];
		client_span_text(c->min_left, span, sizeof(span));
		check_report_add(r, CHECK_OK, "rrsig",
				 "%zu RRSIGs verify over %zu RRsets; the first to expire is "
				 "on %s in %s",
				 c->sigs_ok, c->sets_ok, c->min_what, span);
	}
out:;
	signet_err ret = c->nomem ? SIGNET_ENOMEM : SIGNET_OK;
	dns_rrset_clear(&c->dnskey);
	free(c);
	return ret;
}
