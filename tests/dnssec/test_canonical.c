/* test_canonical.c -- RDATA checks, canonical RR form and RRset order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "dnssec/dnssec.h"

/* Bytes from a hex string; spaces allowed. The caller frees b. */
static void hex(const char *s, sg_buf *b)
{
	sg_buf_reset(b);
	assert_int_equal(sg_hex_decode(s, strlen(s), b), SIGNET_OK);
}

static void assert_canonical(uint16_t type, const char *in, const char *want)
{
	sg_buf r = SG_BUF_INIT, w = SG_BUF_INIT, out = SG_BUF_INIT;
	hex(in, &r);
	hex(want, &w);
	assert_int_equal(dns_rdata_check(type, r.data, r.len), SIGNET_OK);
	assert_int_equal(dns_rdata_canonical(type, r.data, r.len, &out), SIGNET_OK);
	assert_int_equal(out.len, w.len);
	assert_memory_equal(out.data, w.data, w.len);
	sg_buf_free(&r);
	sg_buf_free(&w);
	sg_buf_free(&out);
}

/* "A.Ex" as wire and its lower-case form. */
#define UP "01 41 02 45 78 00"
#define LO "01 61 02 65 78 00"

static void test_lowered_types(void **state)
{
	(void)state;
	assert_canonical(DNS_T_NS, UP, LO);
	assert_canonical(DNS_T_CNAME, UP, LO);
	assert_canonical(DNS_T_PTR, UP, LO);
	assert_canonical(DNS_T_DNAME, UP, LO);
	assert_canonical(DNS_T_MX, "00 0a " UP, "00 0a " LO);
	assert_canonical(DNS_T_AFSDB, "00 01 " UP, "00 01 " LO);
	assert_canonical(DNS_T_KX, "00 01 " UP, "00 01 " LO);
	assert_canonical(DNS_T_RP, UP UP, LO LO);
	assert_canonical(DNS_T_MINFO, UP UP, LO LO);
	assert_canonical(DNS_T_PX, "00 01 " UP UP, "00 01 " LO LO);
	/* SOA: both names lowered, the five numbers kept (an 'A' among them
	 * must stay 0x41). */
	assert_canonical(DNS_T_SOA,
			 UP UP "41414141 00000e10 00000384 00093a80 00000041",
			 LO LO "41414141 00000e10 00000384 00093a80 00000041");
	assert_canonical(DNS_T_SRV, "0001 0002 0035 " UP, "0001 0002 0035 " LO);
	/* NAPTR: the strings stay, the replacement name is lowered. */
	assert_canonical(DNS_T_NAPTR, "0064 000a 0155 0745322B5349503A 00 " UP,
			 "0064 000a 0155 0745322B5349503A 00 " LO);
	/* RRSIG: the signer is lowered, the signature octets are not. */
	assert_canonical(DNS_T_RRSIG,
			 "0001 0d 02 00000e10 4c88b137 4c63c737 d960 " UP " 4141",
			 "0001 0d 02 00000e10 4c88b137 4c63c737 d960 " LO " 4141");
	/* A6 with a prefix name. */
	assert_canonical(DNS_T_A6, "40 0000000000000001 " UP, "40 0000000000000001 " LO);
}

static void test_kept_types(void **state)
{
	(void)state;
	/* RFC 6840 §5.1: the NSEC next name keeps its case. */
	assert_canonical(DNS_T_NSEC, UP "00 06 40 01 00 00 00 03", UP "00 06 40 01 00 00 00 03");
	/* HINFO holds no names: its text stays. */
	assert_canonical(DNS_T_HINFO, "03 414243 02 5858", "03 414243 02 5858");
	assert_canonical(DNS_T_TXT, "03 414243", "03 414243");
	/* Types outside the list keep embedded names (SVCB, unknown). */
	assert_canonical(DNS_T_SVCB, "0001 " UP, "0001 " UP);
	assert_canonical(65280, "41 42 43", "41 42 43");
	assert_canonical(65280, "", "");
}

static void assert_check(uint16_t type, const char *in, signet_err want)
{
	sg_buf r = SG_BUF_INIT, out = SG_BUF_INIT;
	hex(in, &r);
	signet_err got = dns_rdata_check(type, r.data, r.len);
	if (got != want)
		fail_msg("type %u \"%s\": %s, want %s", type, in, signet_errname(got),
			 signet_errname(want));
	/* Canonical form agrees, and leaves nothing behind on failure. */
	assert_int_equal(sg_buf_put_u8(&out, 0x99), SIGNET_OK);
	assert_int_equal(dns_rdata_canonical(type, r.data, r.len, &out), want);
	if (want != SIGNET_OK)
		assert_int_equal(out.len, 1);
	sg_buf_free(&r);
	sg_buf_free(&out);
}

static void test_checks(void **state)
{
	(void)state;
	assert_check(DNS_T_A, "c0000201", SIGNET_OK);
	assert_check(DNS_T_A, "c00002", SIGNET_EPARSE);
	assert_check(DNS_T_A, "c000020101", SIGNET_EPARSE);
	assert_check(DNS_T_AAAA, "20010db8000000000000000000000001", SIGNET_OK);
	assert_check(DNS_T_AAAA, "20010db80000000000000000000000", SIGNET_EPARSE);
	/* Names: compression pointer, overrun, trailing octets, missing. */
	assert_check(DNS_T_NS, "01 61 c0 0c", SIGNET_EPARSE);
	assert_check(DNS_T_NS, "05 61 00", SIGNET_EPARSE);
	assert_check(DNS_T_NS, LO "00", SIGNET_EPARSE);
	assert_check(DNS_T_NS, "", SIGNET_EPARSE);
	assert_check(DNS_T_MX, "000a", SIGNET_EPARSE);
	assert_check(DNS_T_MX, "00", SIGNET_EPARSE);
	assert_check(DNS_T_SOA, LO LO "00000001 00000002 00000003 00000004", SIGNET_EPARSE);
	assert_check(DNS_T_SOA, LO LO "00000001 00000002 00000003 00000004 0000000500",
		     SIGNET_EPARSE);
	assert_check(DNS_T_SRV, "0001 0002 00", SIGNET_EPARSE);
	assert_check(DNS_T_SRV, "0001 0002 0035", SIGNET_EPARSE);
	assert_check(DNS_T_NAPTR, "0064 000a 0155 07", SIGNET_EPARSE);
	assert_check(DNS_T_NAPTR, "0064 000a 0155 00 00", SIGNET_EPARSE);
	assert_check(DNS_T_TXT, "", SIGNET_EPARSE);
	assert_check(DNS_T_TXT, "03 4141", SIGNET_EPARSE);
	assert_check(DNS_T_TXT, "00 01 41", SIGNET_OK);
	assert_check(DNS_T_HINFO, "01 41", SIGNET_EPARSE);
	/* DNSKEY: protocol 3, key present, algorithm sizes. */
	assert_check(DNS_T_DNSKEY, "0101 02 0f " "00112233445566778899aabbccddeeff"
		     "00112233445566778899aabbccddeeff", SIGNET_EPARSE);
	assert_check(DNS_T_DNSKEY, "0101 03 0f", SIGNET_EPARSE);
	assert_check(DNS_T_DNSKEY, "0101 03 0f 0011", SIGNET_EPARSE);
	assert_check(DNS_T_DNSKEY, "0101 03 0d 0011", SIGNET_EPARSE);
	assert_check(DNS_T_DNSKEY, "0101 03 08 03 010001", SIGNET_EPARSE); /* no modulus */
	assert_check(DNS_T_DNSKEY, "0101 03 08 00 0003 010001 c1", SIGNET_OK);
	assert_check(DNS_T_DNSKEY, "0101 03 08 00 00", SIGNET_EPARSE);
	assert_check(DNS_T_DNSKEY, "0101 03 fe 00", SIGNET_OK);   /* opaque algorithm */
	/* DS: digest lengths of the known digest types. */
	assert_check(DNS_T_DS, "ec45 05 02 "
		     "d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383f6a1e4469da50a",
		     SIGNET_OK);
	assert_check(DNS_T_DS, "ec45 05 02 "
		     "d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383f6a1e4469da5",
		     SIGNET_EPARSE);
	assert_check(DNS_T_DS, "ec45 05 04 00", SIGNET_EPARSE);
	assert_check(DNS_T_DS, "ec45 05 01 00", SIGNET_EPARSE);
	assert_check(DNS_T_CDS, "0000 00 00 00", SIGNET_OK);
	assert_check(DNS_T_DS, "ec45 05 02", SIGNET_EPARSE);
	/* RRSIG: fixed part, signer, a signature. */
	assert_check(DNS_T_RRSIG, "0001 0d 02 00000e10 4c88b137 4c63c737 d960 " LO,
		     SIGNET_EPARSE);
	assert_check(DNS_T_RRSIG, "0001 0d 02 00000e10 4c88b137 4c63c737 d9", SIGNET_EPARSE);
	/* NSEC bitmaps: windows ascending, 1..32 octets, no trailing zero. */
	assert_check(DNS_T_NSEC, LO, SIGNET_OK);
	assert_check(DNS_T_NSEC, LO "00 01 40", SIGNET_OK);
	assert_check(DNS_T_NSEC, LO "00 02 40 00", SIGNET_EPARSE);
	assert_check(DNS_T_NSEC, LO "00 00", SIGNET_EPARSE);
	assert_check(DNS_T_NSEC, LO "00 01 40 00 01 40", SIGNET_EPARSE);
	assert_check(DNS_T_NSEC, LO "01 01 40 00 01 40", SIGNET_EPARSE);
	assert_check(DNS_T_NSEC, LO "00 21 " "0101010101010101010101010101010101010101010101010101010101010101 01",
		     SIGNET_EPARSE);
	assert_check(DNS_T_NSEC, LO "00 03 40", SIGNET_EPARSE);
	/* NSEC3: salt, a non-empty hash, bitmap. */
	assert_check(DNS_T_NSEC3, "01 00 0000 00 14 "
		     "00112233445566778899aabbccddeeff00112233 00 01 40", SIGNET_OK);
	assert_check(DNS_T_NSEC3, "01 00 0000 02 aabb 00", SIGNET_EPARSE);
	assert_check(DNS_T_NSEC3, "01 00 0000 05 aabb", SIGNET_EPARSE);
	assert_check(DNS_T_NSEC3PARAM, "01 00 0000 00", SIGNET_OK);
	assert_check(DNS_T_NSEC3PARAM, "01 00 0000 00 00", SIGNET_EPARSE);
	/* Meta and query types are never data. */
	assert_check(DNS_T_OPT, "", SIGNET_EUNSUPPORTED);
	assert_check(DNS_T_ANY, "", SIGNET_EUNSUPPORTED);
	assert_check(DNS_T_TSIG, "00", SIGNET_EUNSUPPORTED);
	assert_check(0, "", SIGNET_EUNSUPPORTED);
	/* A6 prefix over 128 and a missing suffix. */
	assert_check(DNS_T_A6, "81", SIGNET_EPARSE);
	assert_check(DNS_T_A6, "00 00112233445566778899aabbccddeeff", SIGNET_OK);
	assert_check(DNS_T_A6, "00 00112233445566778899aabbccdd", SIGNET_EPARSE);

	uint8_t big[1];
	assert_int_equal(dns_rdata_check(DNS_T_NULL, big, DNS_RDATA_MAX + 1), SIGNET_ERANGE);
	assert_int_equal(dns_rdata_check(DNS_T_A, NULL, 4), SIGNET_EINVAL);
	assert_int_equal(dns_rdata_canonical(DNS_T_A, big, 0, NULL), SIGNET_EINVAL);
}

static dns_name name(const char *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, s), SIGNET_OK);
	return n;
}

static void add_hex(dns_rrset *s, const char *h)
{
	sg_buf b = SG_BUF_INIT;
	hex(h, &b);
	assert_int_equal(dns_rrset_add(s, b.data, b.len), SIGNET_OK);
	sg_buf_free(&b);
}

static void test_rrset_canonical(void **state)
{
	(void)state;
	dns_rrset s;
	dns_name owner = name("WWW.Example.");
	dns_rrset_init(&s, &owner, DNS_T_MX, DNS_CLASS_IN, 300);
	add_hex(&s, "0014 01 42 00");       /* 20 B. */
	add_hex(&s, "000a 01 61 00");       /* 10 a. */
	add_hex(&s, "000a 01 41 00");       /* 10 A.: a duplicate once lowered */
	add_hex(&s, "000a 01 61 00");       /* an exact duplicate */
	add_hex(&s, "000a 02 61 61 00");    /* 10 aa. */
	assert_int_equal(s.count, 5);
	assert_int_equal(dns_rrset_canonicalize(&s), SIGNET_OK);
	assert_int_equal(s.count, 3);

	sg_buf w = SG_BUF_INIT, want = SG_BUF_INIT;
	assert_int_equal(dns_rrset_to_wire(&s, 3600, &w), SIGNET_OK);
	hex("03777777 076578616d706c65 00 000f 0001 00000e10 0005 000a 01 61 00"
	    "03777777 076578616d706c65 00 000f 0001 00000e10 0006 000a 02 61 61 00"
	    "03777777 076578616d706c65 00 000f 0001 00000e10 0005 0014 01 62 00", &want);
	assert_int_equal(w.len, want.len);
	assert_memory_equal(w.data, want.data, want.len);

	/* A proper prefix sorts first (RFC 4034 §6.3: left-justified). */
	dns_rrset t;
	dns_rrset_init(&t, &owner, DNS_T_TXT, DNS_CLASS_IN, 300);
	add_hex(&t, "02 41 42");
	add_hex(&t, "01 41");
	add_hex(&t, "02 41 41");
	add_hex(&t, "01 41 01 41");
	assert_int_equal(dns_rrset_canonicalize(&t), SIGNET_OK);
	assert_int_equal(t.count, 4);
	sg_buf_reset(&w);
	for (size_t i = 0; i < t.count; i++)
		assert_int_equal(sg_buf_append(&w, t.rr[i].data, t.rr[i].len), SIGNET_OK);
	hex("01 41  01 41 01 41  02 41 41  02 41 42", &want);
	assert_int_equal(w.len, want.len);
	assert_memory_equal(w.data, want.data, want.len);

	/* A copy is deep, and clearing it leaves the source intact. */
	dns_rrset c;
	assert_int_equal(dns_rrset_copy(&c, &t), SIGNET_OK);
	assert_int_equal(c.count, t.count);
	assert_ptr_not_equal(c.rr[0].data, t.rr[0].data);
	dns_rrset_clear(&c);
	assert_int_equal(c.count, 0);
	assert_int_equal(t.rr[0].len, 2);

	dns_rrset_clear(&s);
	dns_rrset_clear(&t);
	sg_buf_free(&w);
	sg_buf_free(&want);
}

static void test_rrset_malformed(void **state)
{
	(void)state;
	dns_rrset s;
	dns_name owner = name("A.example.");
	dns_rrset_init(&s, &owner, DNS_T_NS, DNS_CLASS_IN, 300);
	add_hex(&s, "01 42 00");
	add_hex(&s, "01 41 c0 0c");   /* compressed: refused */
	assert_int_equal(dns_rrset_canonicalize(&s), SIGNET_EPARSE);
	/* Nothing changed: owner and RDATA keep their case and order. */
	assert_int_equal(s.owner.wire[1], 'A');
	assert_int_equal(s.count, 2);
	assert_int_equal(s.rr[0].data[1], 'B');
	dns_rrset_clear(&s);

	uint8_t one = 0;
	assert_int_equal(dns_rrset_add(&s, &one, DNS_RDATA_MAX + 1), SIGNET_ERANGE);
	assert_int_equal(dns_rrset_add(&s, NULL, 1), SIGNET_EINVAL);
	assert_int_equal(dns_rrset_add(NULL, &one, 1), SIGNET_EINVAL);
	assert_int_equal(dns_rrset_copy(&s, &s), SIGNET_EINVAL);
	assert_int_equal(dns_rrset_canonicalize(NULL), SIGNET_EINVAL);
	sg_buf w = SG_BUF_INIT;
	assert_int_equal(dns_rrset_to_wire(&s, 1, NULL), SIGNET_EINVAL);
	/* An empty set has no wire form, and that is not an error. */
	assert_int_equal(dns_rrset_to_wire(&s, 1, &w), SIGNET_OK);
	assert_int_equal(w.len, 0);
	sg_buf_free(&w);
}

/* The same RRs canonicalised by ldns (ldns_rr2canonical, ldns_rr_list_sort,
 * ldns_rr_list2buffer_wire): an implementation that is not ours. */
static void cross_check_ldns(const char *const *lines, size_t n)
{
	ldns_rr_list *list = ldns_rr_list_new();
	dns_rrset s;
	bool first = true;

	for (size_t i = 0; i < n; i++) {
		ldns_rr *rr = NULL;
		assert_int_equal(ldns_rr_new_frm_str(&rr, lines[i], 0, NULL, NULL),
				 LDNS_STATUS_OK);
		if (first) {
			dns_name owner;
			ldns_rdf *o = ldns_rr_owner(rr);
			assert_int_equal(dns_name_from_wire(&owner, ldns_rdf_data(o),
							    ldns_rdf_size(o), NULL), SIGNET_OK);
			dns_rrset_init(&s, &owner, ldns_rr_get_type(rr),
				       ldns_rr_get_class(rr), ldns_rr_ttl(rr));
			first = false;
		}
		ldns_buffer *rd = ldns_buffer_new(512);
		assert_int_equal(ldns_rr_rdata2buffer_wire(rd, rr), LDNS_STATUS_OK);
		assert_int_equal(dns_rrset_add(&s, ldns_buffer_begin(rd),
					       ldns_buffer_position(rd)), SIGNET_OK);
		ldns_buffer_free(rd);
		ldns_rr2canonical(rr);
		ldns_rr_list_push_rr(list, rr);
	}
	ldns_rr_list_sort(list);
	ldns_buffer *lb = ldns_buffer_new(4096);
	assert_int_equal(ldns_rr_list2buffer_wire(lb, list), LDNS_STATUS_OK);

	sg_buf ours = SG_BUF_INIT;
	assert_int_equal(dns_rrset_canonicalize(&s), SIGNET_OK);
	assert_int_equal(dns_rrset_to_wire(&s, s.ttl, &ours), SIGNET_OK);
	assert_int_equal(ours.len, ldns_buffer_position(lb));
	assert_memory_equal(ours.data, ldns_buffer_begin(lb), ours.len);

	sg_buf_free(&ours);
	ldns_buffer_free(lb);
	ldns_rr_list_deep_free(list);
	dns_rrset_clear(&s);
}

static void test_against_ldns(void **state)
{
	(void)state;
	static const char *const mx[] = {
		"Mail.EXAMPLE.org. 3600 IN MX 20 MX2.Example.ORG.",
		"Mail.EXAMPLE.org. 3600 IN MX 10 mx1.example.org.",
		"Mail.EXAMPLE.org. 3600 IN MX 10 a.example.org.",
	};
	cross_check_ldns(mx, 3);
	static const char *const soa[] = {
		"EXAMPLE.org. 86400 IN SOA NS1.Example.org. HostMaster.EXAMPLE.org. "
		"2024010101 7200 3600 1209600 300",
	};
	cross_check_ldns(soa, 1);
	static const char *const srv[] = {
		"_sip._TCP.example.org. 300 IN SRV 10 60 5060 SIP2.example.org.",
		"_sip._TCP.example.org. 300 IN SRV 10 60 5060 sip1.EXAMPLE.org.",
		"_sip._TCP.example.org. 300 IN SRV 0 5 5061 Sip3.example.org.",
	};
	cross_check_ldns(srv, 3);
	static const char *const a[] = {
		"WWW.example.org. 60 IN A 192.0.2.10",
		"WWW.example.org. 60 IN A 192.0.2.2",
		"WWW.example.org. 60 IN A 10.0.0.1",
		"WWW.example.org. 60 IN A 192.0.2.100",
	};
	cross_check_ldns(a, 4);
	static const char *const txt[] = {
		"t.example.org. 60 IN TXT \"Hello\" \"World\"",
		"t.example.org. 60 IN TXT \"Hello\"",
		"t.example.org. 60 IN TXT \"hello\"",
	};
	cross_check_ldns(txt, 3);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lowered_types),
		cmocka_unit_test(test_kept_types),
		cmocka_unit_test(test_checks),
		cmocka_unit_test(test_rrset_canonical),
		cmocka_unit_test(test_rrset_malformed),
		cmocka_unit_test(test_against_ldns),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
