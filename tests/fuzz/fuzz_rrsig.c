/* fuzz_rrsig.c -- fuzz target for RRSIG RDATA parsing (dnssec/rrsig.c).
 *
 * Input: RRSIG RDATA. Properties: what parses passes the RDATA check, writes
 * back to its canonical form (the signer lower-cased), prints as text, and its header rebuilds the
 * signed data over a small RRset without trouble. */
#include <string.h>

#include "dnssec/dnssec.h"
#include "tests/fuzz/fuzz.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	dns_rrsig sig;
	if (dns_rrsig_from_rdata(&sig, data, size) != SIGNET_OK)
		return 0;
	FUZZ_CHECK(dns_rdata_check(DNS_T_RRSIG, data, size) == SIGNET_OK);
	FUZZ_CHECK(sig.sig_len <= DNS_SIG_MAX);
	sg_buf out = SG_BUF_INIT, canon = SG_BUF_INIT, text = SG_BUF_INIT,
	       signed_data = SG_BUF_INIT;
	if (sig.sig_len > 0) {
		FUZZ_CHECK(dns_rrsig_to_rdata(&sig, &out) == SIGNET_OK);
		FUZZ_CHECK(dns_rdata_canonical(DNS_T_RRSIG, data, size, &canon) == SIGNET_OK);
		FUZZ_CHECK(out.len == size && canon.len == size &&
			   memcmp(out.data, canon.data, size) == 0);
	}
	dns_name owner;
	FUZZ_CHECK(dns_name_from_str(&owner, "www.example.") == SIGNET_OK);
	FUZZ_CHECK(dns_rr_to_text(&owner, DNS_T_RRSIG, DNS_CLASS_IN, 60, data, size, &text) ==
		   SIGNET_OK);

	/* The signed data for whatever type and labels the RRSIG claims, over an
	 * RRset of that type with opaque RDATA where the type allows it. */
	dns_rrset set;
	dns_rrset_init(&set, &owner, sig.type_covered, DNS_CLASS_IN, sig.original_ttl);
	static const uint8_t a[4] = {192, 0, 2, 1};
	FUZZ_CHECK(dns_rrset_add(&set, a, sizeof(a)) == SIGNET_OK);
	(void)dns_rrsig_signed_data(&sig, &set, &signed_data);
	dns_rrset_clear(&set);
	sg_buf_free(&out);
	sg_buf_free(&canon);
	sg_buf_free(&text);
	sg_buf_free(&signed_data);
	return 0;
}
