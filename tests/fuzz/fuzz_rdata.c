/* fuzz_rdata.c -- fuzz target for wire names, the RDATA check and the
 * canonical form of RDATA and RRsets (dnssec/name.c, rdata.c, rrset.c).
 *
 * Input: two octets of RR type, then the RDATA. The RDATA is also read as a
 * wire-form name. Properties checked besides "no crash": a name survives
 * presentation form and back; canonical RDATA passes the check again, keeps
 * its length and is its own canonical form; accepted RDATA prints as text
 * that parses back to the same canonical RDATA. */
#include <stdbool.h>
#include <string.h>

#include "dnssec/dnssec.h"
#include "tests/fuzz/fuzz.h"

/* Equal byte strings; memcmp must not see the NULL of an empty buffer. */
static int same(const uint8_t *a, size_t alen, const uint8_t *b, size_t blen)
{
	return alen == blen && (alen == 0 || memcmp(a, b, alen) == 0);
}

static void fuzz_name(const uint8_t *p, size_t n)
{
	dns_name name;
	size_t used = 0;
	if (dns_name_from_wire(&name, p, n, &used) != SIGNET_OK)
		return;
	FUZZ_CHECK(used <= n && used == name.len);
	char text[DNS_NAME_STR_MAX];
	FUZZ_CHECK(dns_name_to_str(&name, text, sizeof(text)) == SIGNET_OK);
	dns_name back;
	FUZZ_CHECK(dns_name_from_str(&back, text) == SIGNET_OK);
	FUZZ_CHECK(back.len == name.len && memcmp(back.wire, name.wire, name.len) == 0);
	dns_name lower = name;
	dns_name_lower(&lower);
	FUZZ_CHECK(dns_name_equal(&lower, &name));
	FUZZ_CHECK(dns_name_compare(&lower, &name) == 0);
	FUZZ_CHECK(dns_name_rrsig_labels(&name) <= dns_name_labels(&name));
	dns_name parent;
	if (dns_name_parent(&name, &parent) == SIGNET_OK)
		FUZZ_CHECK(dns_name_is_at_or_below(&name, &parent));
}

/* Print the RR and read it back: the same canonical RDATA must come out, for
 * every type (dns_rr_to_text falls back to the RFC 3597 form where ldns's
 * text would not read back). */
static void fuzz_text(uint16_t type, const uint8_t *rdata, size_t len, const sg_buf *canon)
{
	dns_name owner;
	FUZZ_CHECK(dns_name_from_str(&owner, "fuzz.example.") == SIGNET_OK);
	sg_buf text = SG_BUF_INIT, back = SG_BUF_INIT, canon2 = SG_BUF_INIT;
	if (dns_rr_to_text(&owner, type, DNS_CLASS_IN, 3600, rdata, len, &text) == SIGNET_OK) {
		dns_name o2;
		uint16_t t2 = 0, c2 = 0;
		uint32_t ttl2 = 0;
		if (dns_rr_from_text((const char *)text.data, NULL, &o2, &t2, &c2, &ttl2,
				     &back) == SIGNET_OK) {
			FUZZ_CHECK(t2 == type && c2 == DNS_CLASS_IN && ttl2 == 3600);
			signet_err err = dns_rdata_canonical(type, back.data, back.len, &canon2);
			if (err != SIGNET_OK ||
			    !same(canon2.data, canon2.len, canon->data, canon->len))
				fprintf(stderr, "text round trip: %s: %s\n", signet_errname(err),
					(const char *)text.data);
			FUZZ_CHECK(err == SIGNET_OK);
			FUZZ_CHECK(same(canon2.data, canon2.len, canon->data, canon->len));
		}
	}
	sg_buf_free(&text);
	sg_buf_free(&back);
	sg_buf_free(&canon2);
}

static void fuzz_rrset(uint16_t type, const uint8_t *rdata, size_t len)
{
	dns_name owner;
	FUZZ_CHECK(dns_name_from_str(&owner, "*.Fuzz.Example.") == SIGNET_OK);
	dns_rrset set;
	dns_rrset_init(&set, &owner, type, DNS_CLASS_IN, 300);
	/* Twice, so sorting and duplicate removal have work to do. */
	FUZZ_CHECK(dns_rrset_add(&set, rdata, len) == SIGNET_OK);
	FUZZ_CHECK(dns_rrset_add(&set, rdata, len) == SIGNET_OK);
	if (dns_rrset_canonicalize(&set) == SIGNET_OK) {
		FUZZ_CHECK(set.count == 1);
		sg_buf wire = SG_BUF_INIT, signed_data = SG_BUF_INIT;
		FUZZ_CHECK(dns_rrset_to_wire(&set, 300, &wire) == SIGNET_OK);
		dns_name apex;
		FUZZ_CHECK(dns_name_from_str(&apex, "example.") == SIGNET_OK);
		dns_rrsig sig;
		if (dns_rrsig_prepare(&sig, &set, DNS_ALG_ECDSAP256SHA256, 1, &apex, 1000,
				      2000) == SIGNET_OK)
			FUZZ_CHECK(dns_rrsig_signed_data(&sig, &set, &signed_data) == SIGNET_OK);
		sg_buf_free(&wire);
		sg_buf_free(&signed_data);
	}
	dns_rrset_clear(&set);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 2)
		return 0;
	uint16_t type = sg_get_u16(data);
	const uint8_t *rdata = data + 2;
	size_t len = size - 2;
	fuzz_name(rdata, len);
	if (dns_rdata_check(type, rdata, len) != SIGNET_OK)
		return 0;
	sg_buf canon = SG_BUF_INIT, again = SG_BUF_INIT;
	FUZZ_CHECK(dns_rdata_canonical(type, rdata, len, &canon) == SIGNET_OK);
	FUZZ_CHECK(canon.len == len);
	FUZZ_CHECK(dns_rdata_check(type, canon.data, canon.len) == SIGNET_OK);
	FUZZ_CHECK(dns_rdata_canonical(type, canon.data, canon.len, &again) == SIGNET_OK);
	FUZZ_CHECK(same(again.data, again.len, canon.data, canon.len));
	fuzz_text(type, rdata, len, &canon);
	fuzz_rrset(type, rdata, len);
	sg_buf_free(&canon);
	sg_buf_free(&again);
	return 0;
}
