/* fuzz_sign_request.c -- fuzz target for what signetd does with a SignRRsets
 * message before any HSM call: protobuf-c unpack, the zone (srv_zone), the
 * request-level bounds and window check, and per RRset the content check
 * (signer_item_check), the digest and window of the policy and the RRSIG
 * signed data, as rpc_sign.c does them.
 *
 * Input: a serialized signet.v1.SignRequest. Properties: an accepted RRset
 * is at or below the zone, has RDATA that passes the dnssec check and a
 * window that ends after it starts; a refusal names a field. */
#include <string.h>

#include "signer/convert.h"
#include "signer/internal.h"
#include "tests/fuzz/fuzz.h"

/* The server's defaults (signer.h), so the fuzzer meets the real bounds. */
static const signer_limits fuzz_limits = {
	.max_rrsets = 1000, .max_rrs = 512, .max_rrset_octets = 65535,
};

static void fuzz_item(const dns_name *apex, const signer_policy *pol, size_t i,
		      const Signet__V1__RRset *in)
{
	if (in == NULL)
		return;
	signer_item item = {
		.owner = in->owner.data, .owner_len = in->owner.len, .type = in->type,
		.rclass = in->rclass, .ttl = in->ttl, .nrdata = in->n_rdata,
	};
	/* As rpc_sign.c: no arrays are built past the bound. */
	const uint8_t **ptrs = NULL;
	size_t *lens = NULL;
	if (in->n_rdata <= fuzz_limits.max_rrs && in->n_rdata > 0) {
		ptrs = calloc(in->n_rdata, sizeof(*ptrs));
		lens = calloc(in->n_rdata, sizeof(*lens));
		FUZZ_CHECK(ptrs != NULL && lens != NULL);
		for (size_t k = 0; k < in->n_rdata; k++) {
			ptrs[k] = in->rdata[k].data;
			lens[k] = in->rdata[k].len;
		}
	}
	item.rdata = ptrs;
	item.rdata_len = lens;
	signer_item_result chk;
	FUZZ_CHECK(signer_item_check(apex, &fuzz_limits, i, &item, &chk) == SIGNET_OK);
	dns_rrset *set = &chk.set;
	free(ptrs);
	free(lens);
	if (chk.verdict == SIGNER_VERDICT_REFUSE)
		FUZZ_CHECK(strncmp(chk.field, "rrsets[", 7) == 0 && chk.errmsg[0] != '\0');
	if (chk.verdict != SIGNER_VERDICT_SIGN) {
		dns_rrset_clear(set);
		return;
	}
	FUZZ_CHECK(dns_name_is_at_or_below(&set->owner, apex));
	FUZZ_CHECK(set->count == in->n_rdata && set->count > 0);
	for (size_t k = 0; k < set->count; k++)
		FUZZ_CHECK(dns_rdata_check(set->type, set->rr[k].data, set->rr[k].len) == SIGNET_OK);
	uint8_t digest[32];
	uint32_t inc = 0, exp = 0;
	FUZZ_CHECK(signer_rrset_digest(set, digest) == SIGNET_OK);
	signer_policy_window(pol, digest, 1700000000, &inc, &exp);
	FUZZ_CHECK(dns_serial_compare(exp, inc) == 1);
	dns_rrsig sig;
	sg_buf signed_data = SG_BUF_INIT;
	FUZZ_CHECK(dns_rrsig_prepare(&sig, set, pol->algorithm, 4711, apex, inc, exp) ==
		   SIGNET_OK);
	FUZZ_CHECK(dns_rrsig_signed_data(&sig, set, &signed_data) == SIGNET_OK);
	sg_buf_free(&signed_data);
	dns_rrset_clear(set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	Signet__V1__SignRequest *req = signet__v1__sign_request__unpack(NULL, size, data);
	if (req == NULL)
		return 0;
	dns_name apex;
	signer_policy pol;
	signer_policy_defaults(&pol);
	if (srv_zone(&req->zone, &apex) && req->n_rrsets > 0 &&
	    req->n_rrsets <= fuzz_limits.max_rrsets) {
		bool window_ok = true;
		if (req->window) {
			char msg[200];
			window_ok = signer_policy_check_window(&pol, 1700000000,
							       req->window->inception,
							       req->window->expiration, msg,
							       sizeof(msg)) == SIGNET_OK;
		}
		for (size_t i = 0; window_ok && i < req->n_rrsets; i++)
			fuzz_item(&apex, &pol, i, req->rrsets[i]);
	}
	signet__v1__sign_request__free_unpacked(req, NULL);
	return 0;
}
