/* test_nsec.c -- type bitmaps, NSEC RDATA and the NSEC chain, checked against RFC 4034 and ldns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "common/common.h"
#include "dnssec/dnssec.h"
#include "tests/lib/dnssec_testutil.h"

/* ---- helpers ------------------------------------------------------------ */

static void load_example(dns_zone *z)
{
	sg_buf text = SG_BUF_INIT;
	dt_load_file("zones/example.com.zone", &text);
	dns_name origin = dt_name("example.com.");
	unsigned line = 0;
	assert_int_equal(dns_zone_parse((const char *)text.data, text.len, &origin, 3600,
					10000, z, &line), SIGNET_OK);
	sg_buf_free(&text);
}

/* Find the chain's set owned by name, or NULL. */
static const dns_rrset *chain_find(const dns_chain *c, const char *name)
{
	dns_name n = dt_name(name);
	for (size_t i = 0; i < c->count; i++)
		if (dns_name_equal(&c->sets[i].owner, &n))
			return &c->sets[i];
	return NULL;
}

/* ---- type bitmap -------------------------------------------------------- */

/* RFC 4034 §4.3: alfa.example.com. NSEC host.example.com. (A MX RRSIG NSEC
 * TYPE1234); the RDATA after the next name is given there octet by octet. */
static void test_bitmap_rfc4034_example(void **state)
{
	(void)state;
	static const uint8_t want[] = {
		0x00, 0x06, 0x40, 0x01, 0x00, 0x00, 0x00, 0x03,
		0x04, 0x1b, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00, 0x20
	};
	uint16_t types[] = {DNS_T_A, DNS_T_MX, DNS_T_RRSIG, DNS_T_NSEC, 1234};
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(dns_type_bitmap(types, 5, &b), SIGNET_OK);
	assert_int_equal(b.len, sizeof(want));
	assert_memory_equal(b.data, want, sizeof(want));

	/* Any order and repeats give the same bytes. */
	uint16_t shuffled[] = {1234, DNS_T_NSEC, DNS_T_A, DNS_T_MX, DNS_T_A, DNS_T_RRSIG, 1234};
	sg_buf c = SG_BUF_INIT;
	assert_int_equal(dns_type_bitmap(shuffled, 7, &c), SIGNET_OK);
	assert_int_equal(c.len, b.len);
	assert_memory_equal(c.data, b.data, b.len);

	/* And the whole NSEC RDATA is the next name followed by it. */
	dns_name next = dt_name("host.example.com.");
	sg_buf r = SG_BUF_INIT;
	assert_int_equal(dns_nsec_rdata(&next, types, 5, &r), SIGNET_OK);
	assert_int_equal(r.len, next.len + sizeof(want));
	assert_memory_equal(r.data, next.wire, next.len);
	assert_memory_equal(r.data + next.len, want, sizeof(want));
	sg_buf_free(&b);
	sg_buf_free(&c);
	sg_buf_free(&r);
}

static void test_bitmap_edges(void **state)
{
	(void)state;
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(dns_type_bitmap(NULL, 0, &b), SIGNET_OK);
	assert_int_equal(b.len, 0);

	/* Type 65535 is the last bit of the last window: full 32 octets. */
	uint16_t last[] = {65535, 0};
	assert_int_equal(dns_type_bitmap(last, 2, &b), SIGNET_OK);
	assert_int_equal(b.len, 3 + 2 + 32);
	assert_int_equal(b.data[0], 0);
	assert_int_equal(b.data[1], 1);
	assert_int_equal(b.data[2], 0x80);
	assert_int_equal(b.data[3], 255);
	assert_int_equal(b.data[4], 32);
	assert_int_equal(b.data[5 + 31], 0x01);

	/* Every type below 256, out of order and repeated: the one-window path
	 * gives window 0 up to type 255, the last bit of its 32nd octet. */
	uint16_t low[] = {255, 1, 1, 0};
	sg_buf l = SG_BUF_INIT;
	assert_int_equal(dns_type_bitmap(low, 4, &l), SIGNET_OK);
	assert_int_equal(l.len, 2 + 32);
	assert_int_equal(l.data[0], 0);
	assert_int_equal(l.data[1], 32);
	assert_int_equal(l.data[2], 0xc0);
	assert_int_equal(l.data[2 + 31], 0x01);
	for (size_t i = 3; i < 2 + 31; i++)
		assert_int_equal(l.data[i], 0);
	sg_buf_free(&l);

	assert_int_equal(dns_type_bitmap(NULL, 1, &b), SIGNET_EINVAL);
	assert_int_equal(dns_type_bitmap(last, 1, NULL), SIGNET_EINVAL);
	sg_buf_free(&b);
}

/* Random type sets against ldns's own bitmap builder. */
static void test_bitmap_vs_ldns(void **state)
{
	(void)state;
	srand(4034);
	for (int round = 0; round < 300; round++) {
		size_t n = (size_t)(rand() % 40);
		uint16_t types[40];
		ldns_rr_type lt[40];
		for (size_t i = 0; i < n; i++) {
			int pick = rand() % 4;
			uint16_t t;
			if (pick == 0)
				t = (uint16_t)(rand() % 65536);     /* anywhere */
			else if (pick == 1)
				t = (uint16_t)(256 + rand() % 512); /* windows 1 and 2 */
			else
				t = (uint16_t)(1 + rand() % 70);    /* the usual ones */
			types[i] = t;
			lt[i] = (ldns_rr_type)t;
		}
		/* ldns expects no repeats; ours must cope with them. */
		size_t un = 0;
		for (size_t i = 0; i < n; i++) {
			bool seen = false;
			for (size_t j = 0; j < un; j++)
				seen = seen || lt[j] == lt[i];
			if (!seen)
				lt[un++] = lt[i];
		}
		sg_buf b = SG_BUF_INIT;
		assert_int_equal(dns_type_bitmap(types, n, &b), SIGNET_OK);
		ldns_rdf *r = ldns_dnssec_create_nsec_bitmap(lt, un, LDNS_RR_TYPE_NSEC3);
		assert_non_null(r);
		assert_int_equal(b.len, ldns_rdf_size(r));
		if (b.len > 0)
			assert_memory_equal(b.data, ldns_rdf_data(r), b.len);
		ldns_rdf_deep_free(r);
		sg_buf_free(&b);
	}
}

/* ---- NSEC RDATA --------------------------------------------------------- */

static void test_nsec_rdata_keeps_case(void **state)
{
	(void)state;
	dns_name next = dt_name("Host.EXAMPLE.com.");
	uint16_t types[] = {DNS_T_A};
	sg_buf r = SG_BUF_INIT;
	assert_int_equal(dns_nsec_rdata(&next, types, 1, &r), SIGNET_OK);
	/* RFC 6840 §5.1: the next name is not lower-cased. */
	assert_memory_equal(r.data, "\004Host\007EXAMPLE\003com\000", 19);
	assert_int_equal(dns_nsec_rdata(NULL, types, 1, &r), SIGNET_EINVAL);
	assert_int_equal(dns_nsec_rdata(&next, NULL, 1, &r), SIGNET_EINVAL);
	assert_int_equal(dns_nsec_rdata(&next, types, 1, NULL), SIGNET_EINVAL);
	sg_buf_free(&r);
}

/* ---- NSEC chain --------------------------------------------------------- */

static void bitmap_of(const uint16_t *t, size_t n, sg_buf *out)
{
	sg_buf_reset(out);
	assert_int_equal(dns_type_bitmap(t, n, out), SIGNET_OK);
}

/* A hand-made zone: every rule of the chain, one at a time. */
static void test_nsec_chain_rules(void **state)
{
	(void)state;
	uint16_t apex_t[] = {DNS_T_SOA, DNS_T_NS, DNS_T_DNSKEY};
	uint16_t a_t[] = {DNS_T_A};
	uint16_t a_dup_t[] = {DNS_T_TXT, DNS_T_A};
	uint16_t deleg_t[] = {DNS_T_NS, DNS_T_DS, DNS_T_A};   /* A here is occluded */
	uint16_t none_t[] = {0};
	dns_owner o[] = {
		{dt_namep("b.Example."), a_t, 1},
		{dt_namep("sub.example."), deleg_t, 3},
		{dt_namep("ns.sub.example."), a_t, 1},            /* glue */
		{dt_namep("deep.ns.sub.example."), a_t, 1},       /* occluded */
		{dt_namep("example."), apex_t, 3},
		{dt_namep("B.example."), a_dup_t, 2},             /* merged into b */
		{dt_namep("other.test."), a_t, 1},                /* outside */
		{dt_namep("empty.example."), none_t, 0},          /* no data */
		{dt_namep("z.example."), a_t, 1},
	};
	dns_name apex = dt_name("example.");
	dns_chain c = {NULL, 0, 0};
	assert_int_equal(dns_nsec_chain(&apex, o, 9, 300, &c), SIGNET_OK);
	assert_int_equal(c.count, 4);

	const char *order[] = {"example.", "b.example.", "sub.example.", "z.example."};
	for (size_t i = 0; i < 4; i++) {
		dns_name want = dt_name(order[i]);
		assert_true(dns_name_equal(&c.sets[i].owner, &want));
		assert_int_equal(c.sets[i].type, DNS_T_NSEC);
		assert_int_equal(c.sets[i].rclass, DNS_CLASS_IN);
		assert_int_equal(c.sets[i].ttl, 300);
		assert_int_equal(c.sets[i].count, 1);
		/* The next name is the next set's owner, the last wraps to the apex. */
		const dns_name *next = &c.sets[(i + 1) % 4].owner;
		assert_true(c.sets[i].rr[0].len > next->len);
		assert_memory_equal(c.sets[i].rr[0].data, next->wire, next->len);
	}
	/* The first spelling given is the one kept, in owner and next name. */
	assert_memory_equal(c.sets[1].owner.wire, "\001b\007Example\000", 10);
	assert_memory_equal(c.sets[0].rr[0].data, "\001b\007Example\000", 10);

	sg_buf want = SG_BUF_INIT;
	uint16_t apex_w[] = {DNS_T_SOA, DNS_T_NS, DNS_T_DNSKEY, DNS_T_NSEC, DNS_T_RRSIG};
	bitmap_of(apex_w, 5, &want);
	assert_int_equal(c.sets[0].rr[0].len, c.sets[1].owner.len + want.len);
	assert_memory_equal(c.sets[0].rr[0].data + c.sets[1].owner.len, want.data, want.len);

	uint16_t b_w[] = {DNS_T_A, DNS_T_TXT, DNS_T_NSEC, DNS_T_RRSIG};
	bitmap_of(b_w, 4, &want);
	size_t off = c.sets[2].owner.len;
	assert_int_equal(c.sets[1].rr[0].len, off + want.len);
	assert_memory_equal(c.sets[1].rr[0].data + off, want.data, want.len);

	/* A delegation lists NS and DS, never the occluded A. */
	uint16_t d_w[] = {DNS_T_NS, DNS_T_DS, DNS_T_NSEC, DNS_T_RRSIG};
	bitmap_of(d_w, 4, &want);
	off = c.sets[3].owner.len;
	assert_int_equal(c.sets[2].rr[0].len, off + want.len);
	assert_memory_equal(c.sets[2].rr[0].data + off, want.data, want.len);

	sg_buf_free(&want);
	dns_chain_free(&c);
	assert_null(c.sets);
	assert_int_equal(c.count, 0);
}

static void test_nsec_chain_errors(void **state)
{
	(void)state;
	uint16_t a_t[] = {DNS_T_A};
	dns_owner o[] = {{dt_namep("www.example."), a_t, 1}};
	dns_owner broken[] = {{dt_namep("example."), NULL, 2}};
	dns_name apex = dt_name("example.");
	dns_chain c = {NULL, 0, 0};
	/* Without the apex there is no chain to close. */
	assert_int_equal(dns_nsec_chain(&apex, o, 1, 300, &c), SIGNET_EINVAL);
	assert_int_equal(dns_nsec_chain(&apex, o, 0, 300, &c), SIGNET_EINVAL);
	assert_int_equal(dns_nsec_chain(&apex, broken, 1, 300, &c), SIGNET_EINVAL);
	assert_int_equal(dns_nsec_chain(NULL, o, 1, 300, &c), SIGNET_EINVAL);
	assert_int_equal(dns_nsec_chain(&apex, NULL, 1, 300, &c), SIGNET_EINVAL);
	assert_int_equal(dns_nsec_chain(&apex, o, 1, 300, NULL), SIGNET_EINVAL);
	assert_null(c.sets);

	/* The apex alone points at itself. */
	uint16_t soa_t[] = {DNS_T_SOA};
	dns_owner only[] = {{&apex, soa_t, 1}};
	assert_int_equal(dns_nsec_chain(&apex, only, 1, 60, &c), SIGNET_OK);
	assert_int_equal(c.count, 1);
	assert_memory_equal(c.sets[0].rr[0].data, apex.wire, apex.len);
	dns_chain_free(&c);
	dns_chain_free(NULL);
}

/* The chain of the example zone equals the one ldns builds for it. */
static void test_nsec_chain_vs_ldns(void **state)
{
	(void)state;
	dns_zone z;
	load_example(&z);
	dns_owner *o = NULL;
	size_t n = 0;
	dt_zone_owners(&z, &o, &n);
	dns_chain c = {NULL, 0, 0};
	assert_int_equal(dns_nsec_chain(&z.apex, o, n, 300, &c), SIGNET_OK);
	/* The each form gives the same sets, and stops at its callback's error. */
	dt_each e = {&c, 0, 0};
	assert_int_equal(dns_nsec_chain_each(&z.apex, o, n, 300, dt_each_fn, &e), SIGNET_OK);
	assert_int_equal(e.seen, c.count);
	e = (dt_each){&c, 0, 3};
	assert_int_equal(dns_nsec_chain_each(&z.apex, o, n, 300, dt_each_fn, &e), SIGNET_EIO);
	assert_int_equal(e.seen, 3);
	assert_int_equal(dns_nsec_chain_each(&z.apex, o, n, 300, NULL, &e), SIGNET_EINVAL);

	sg_buf text = SG_BUF_INIT;
	dt_load_file("zones/example.com.zone", &text);
	FILE *fp = fmemopen(text.data, text.len, "r");
	assert_non_null(fp);
	ldns_dnssec_zone *lz = NULL;
	ldns_rdf *origin = ldns_dname_new_frm_str("example.com.");
	assert_int_equal(ldns_dnssec_zone_new_frm_fp(&lz, fp, origin, 3600,
						     LDNS_RR_CLASS_IN), LDNS_STATUS_OK);
	fclose(fp);
	assert_int_equal(ldns_dnssec_zone_mark_glue(lz), LDNS_STATUS_OK);
	ldns_rr_list *nsecs = ldns_rr_list_new();
	assert_int_equal(ldns_dnssec_zone_create_nsecs(lz, nsecs), LDNS_STATUS_OK);

	/* Glue (ns1.secure, ns.insecure) and occluded data (hidden.insecure)
	 * are outside both chains; the count below would differ otherwise. */
	assert_int_equal(c.count, ldns_rr_list_rr_count(nsecs));
	assert_null(chain_find(&c, "ns1.secure.example.com."));
	assert_null(chain_find(&c, "hidden.insecure.example.com."));
	assert_non_null(chain_find(&c, "insecure.example.com."));
	for (size_t i = 0; i < ldns_rr_list_rr_count(nsecs); i++) {
		ldns_rr *rr = ldns_rr_list_rr(nsecs, i);
		ldns_rdf *own = ldns_rr_owner(rr);
		dns_name lname;
		assert_int_equal(dns_name_from_wire(&lname, ldns_rdf_data(own),
						    ldns_rdf_size(own), NULL), SIGNET_OK);
		const dns_rrset *s = NULL;
		for (size_t j = 0; j < c.count && s == NULL; j++)
			if (dns_name_equal(&c.sets[j].owner, &lname))
				s = &c.sets[j];
		assert_non_null(s);
		ldns_buffer *b = ldns_buffer_new(512);
		assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
		assert_int_equal(s->rr[0].len, ldns_buffer_position(b));
		assert_memory_equal(s->rr[0].data, ldns_buffer_begin(b), s->rr[0].len);
		ldns_buffer_free(b);
	}
	/* Canonical order, wrapping to the apex. */
	for (size_t i = 1; i < c.count; i++)
		assert_true(dns_name_compare(&c.sets[i - 1].owner, &c.sets[i].owner) < 0);
	const dns_rrset *last = &c.sets[c.count - 1];
	assert_memory_equal(last->rr[0].data, z.apex.wire, z.apex.len);

	/* The NSECs belong to the zone now; the list only points at them. */
	ldns_rr_list_free(nsecs);
	ldns_dnssec_zone_deep_free(lz);
	ldns_rdf_deep_free(origin);
	sg_buf_free(&text);
	dns_chain_free(&c);
	dt_free_owners(o, n);
	dns_zone_free(&z);
}

/* The authoritative owner list the chains are built from. */
static void test_owners_authoritative(void **state)
{
	(void)state;
	uint16_t ns_t[] = {DNS_T_NS, DNS_T_NS};
	uint16_t a_t[] = {DNS_T_AAAA, DNS_T_A, DNS_T_A};
	dns_owner o[] = {
		{dt_namep("x.example."), a_t, 3},
		{dt_namep("example."), ns_t, 2},      /* NS at the apex is no cut */
		{dt_namep("X.example."), ns_t, 1},    /* x becomes a cut */
		{dt_namep("a.x.example."), a_t, 1},
	};
	dns_name apex = dt_name("example.");
	dns_owner *out = NULL;
	size_t n = 0;
	assert_int_equal(dns_owners_authoritative(&apex, o, 4, &out, &n), SIGNET_OK);
	assert_int_equal(n, 2);
	assert_true(dns_name_equal(out[0].name, &apex));
	assert_int_equal(out[0].ntypes, 1);
	assert_int_equal(out[1].ntypes, 3);
	assert_int_equal(out[1].types[0], DNS_T_A);
	assert_int_equal(out[1].types[1], DNS_T_NS);
	assert_int_equal(out[1].types[2], DNS_T_AAAA);
	assert_true(dns_owner_has_type(&out[1], DNS_T_NS));
	assert_false(dns_owner_has_type(&out[0], DNS_T_A));
	dns_owners_free(out, n);

	assert_int_equal(dns_owners_authoritative(&apex, o, 0, &out, &n), SIGNET_OK);
	assert_int_equal(n, 0);
	assert_int_equal(dns_owners_authoritative(&apex, NULL, 1, &out, &n), SIGNET_EINVAL);
	assert_int_equal(dns_owners_authoritative(NULL, o, 1, &out, &n), SIGNET_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bitmap_rfc4034_example),
		cmocka_unit_test(test_bitmap_edges),
		cmocka_unit_test(test_bitmap_vs_ldns),
		cmocka_unit_test(test_nsec_rdata_keeps_case),
		cmocka_unit_test(test_nsec_chain_rules),
		cmocka_unit_test(test_nsec_chain_errors),
		cmocka_unit_test(test_nsec_chain_vs_ldns),
		cmocka_unit_test(test_owners_authoritative),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
