/* test_sig_count.c -- signet_signatures_total counts the signatures signetd
 * returns: an RRset signed by two ZSKs (an algorithm rollover, RFC 6781
 * §4.1.4: both algorithms sign every RRset) whose second signature fails in
 * the HSM returns none and counts none. The token is behind tests/p11fault,
 * which fails the chosen C_Sign; the count is read from the metrics
 * endpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tests/lib/p11fault_ctl.h"
#include "tests/lib/signetd_fixture.h"

#define ZONE "alg.test."

static signetd_env D;
static signetd_zone Z;
static test_ksk K2; /* the KSK of the new algorithm */

static ProtobufCBinaryData bin(const void *p, size_t n)
{
	ProtobufCBinaryData b = {n, (uint8_t *)p};
	return b;
}

static bool in_set(const dns_rrset *s, const uint8_t *rd, size_t len)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->rr[i].len == len && memcmp(s->rr[i].data, rd, len) == 0)
			return true;
	return false;
}

/* What the ceremony does with both KSKs: the request's DNSKEY, CDS and
 * CDNSKEY RRsets signed by each KSK in the period's DNSKEY RRset. */
static void ceremony(uint32_t days)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, ZONE), SIGNET_OK);
	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = bin(apex.wire, apex.len);
	er.days = days;
	char det[512] = "";
	sg_buf resp = SG_BUF_INIT;
	if (rpc_call_msg(D.admin, "ExportKeySigningRequest", &er.base, det, sizeof(det), &resp) !=
	    GRPC_STATUS_OK)
		fail_msg("export: %s", det);
	Signet__V1__ExportKeySigningRequestResponse *ex =
		signet__v1__export_key_signing_request_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ex);
	dns_keyset ks;
	assert_int_equal(dns_keyset_parse((const char *)ex->request.data, ex->request.len, &ks,
					  NULL),
			 SIGNET_OK);
	signet__v1__export_key_signing_request_response__free_unpacked(ex, NULL);
	ks.kind = DNS_KEYSET_BUNDLE;
	const test_ksk *ksks[2] = {&D.ksk, &K2};
	for (size_t i = 0; i < ks.count; i++) {
		dns_keyset_period *p = &ks.periods[i];
		dns_rrset_clear(&p->sigs);
		dns_rrset_init(&p->sigs, &ks.zone, DNS_T_RRSIG, DNS_CLASS_IN, p->dnskey.ttl);
		const dns_rrset *sets[3] = {&p->dnskey, &p->cds, &p->cdnskey};
		for (size_t k = 0; k < 2; k++) {
			if (!in_set(&p->dnskey, ksks[k]->dnskey, ksks[k]->dnskey_len))
				continue;
			for (int t = 0; t < 3; t++)
				if (sets[t]->count)
					test_ksk_sign(ksks[k], &ks.zone, sets[t], p->inception,
						      p->expiration, &p->sigs);
		}
	}
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(dns_keyset_write(&ks, &text), SIGNET_OK);
	dns_keyset_free(&ks);
	Signet__V1__ImportKeyBundleRequest ib = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	ib.zone = bin(apex.wire, apex.len);
	ib.bundle = bin(text.data, text.len);
	if (rpc_call_msg(D.admin, "ImportKeyBundle", &ib.base, det, sizeof(det), NULL) !=
	    GRPC_STATUS_OK)
		fail_msg("import: %s", det);
	sg_buf_free(&text);
	sg_buf_free(&resp);
}

/* A zone of algorithm 13 that starts a rollover to 14 (a KSK of the new
 * algorithm, then a ceremony): from then on two ZSKs sign every RRset. */
static int setup(void **state)
{
	(void)state;
	signetd_opts o = {.metrics = true};
	if (signetd_start(&D, &o) != 0)
		return -1;
	signetd_add_zone(&D, ZONE, 13, &Z);
	test_ksk_new_alg(&K2, 14);
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, ZONE), SIGNET_OK);
	Signet__V1__RolloverRequest r = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	r.zone = bin(apex.wire, apex.len);
	r.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK;
	r.dnskey = bin(K2.dnskey, K2.dnskey_len);
	char det[512] = "";
	if (rpc_call_msg(D.admin, "Rollover", &r.base, det, sizeof(det), NULL) != GRPC_STATUS_OK) {
		fprintf(stderr, "Rollover ADD_KSK: %s\n", det);
		return -1;
	}
	ceremony(8);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	p11fault_set("");
	test_ksk_free(&K2);
	return signetd_teardown(&D);
}

/* signet_signatures_total over every zone, key and source. */
static double total_sigs(void)
{
	static char buf[1 << 18];
	const char *body = signetd_scrape(&D, buf, sizeof(buf));
	double sum = 0;
	for (const char *p = body; (p = strstr(p, "\nsignet_signatures_total{")); p++) {
		const char *sp = strchr(p + 1, ' ');
		assert_non_null(sp);
		sum += strtod(sp + 1, NULL);
	}
	return sum;
}

static void test_count_whole_rrsets(void **state)
{
	(void)state;
	grpc_status_code st;
	/* both ZSKs sign: two RRSIGs, two counted */
	double before = total_sigs();
	Signet__V1__SignResponse *r = signetd_sign_a(D.signer, ZONE, 1, 1, &st);
	assert_non_null(r);
	assert_int_equal(r->results[0]->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
	assert_int_equal(r->results[0]->n_rrsig, 2);
	signet__v1__sign_response__free_unpacked(r, NULL);
	assert_true(total_sigs() == before + 2);

	/* the first ZSK signs, the second's C_Sign fails and so does hsm_sign's
	 * one retry: the RRset fails whole, and nothing is counted */
	before = total_sigs();
	p11fault_set("error=device skip=1 count=2");
	r = signetd_sign_a(D.signer, ZONE, 2, 1, &st);
	assert_non_null(r);
	assert_int_equal(r->results[0]->status, SIGNET__V1__ITEM_STATUS__ITEM_FAILED);
	assert_int_equal(r->results[0]->n_rrsig, 0);
	signet__v1__sign_response__free_unpacked(r, NULL);
	assert_int_equal(p11fault_count(".hits"), 2);
	p11fault_set("");
	double after = total_sigs();
	if (after != before)
		fail_msg("signet_signatures_total went from %.0f to %.0f for an RRset that failed",
			 before, after);
	/* and the same RRset afterwards: both again */
	r = signetd_sign_a(D.signer, ZONE, 2, 1, &st);
	assert_non_null(r);
	assert_int_equal(r->results[0]->n_rrsig, 2);
	signet__v1__sign_response__free_unpacked(r, NULL);
	assert_true(total_sigs() == before + 2);
}

int main(void)
{
	/* signetd loads p11fault, which forwards to the real SoftHSM2. */
	if (p11fault_setup("signet-sigcount") != 0)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_count_whole_rrsets),
	};
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	p11fault_cleanup();
	return rc;
}
