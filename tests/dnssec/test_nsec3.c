/* test_nsec3.c -- NSEC3 hashing (RFC 5155 App. A), base32hex (RFC 4648), NSEC3 RDATA and chains, checked against ldns. */
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

static dns_nsec3_params mkparams(uint8_t flags, uint16_t iter, const char *salt_hex)
{
	dns_nsec3_params p;
	memset(&p, 0, sizeof(p));
	p.algorithm = 1;
	p.flags = flags;
	p.iterations = iter;
	sg_buf s = SG_BUF_INIT;
	assert_int_equal(sg_hex_decode(salt_hex, strlen(salt_hex), &s), SIGNET_OK);
	assert_true(s.len <= sizeof(p.salt));
	p.salt_len = (uint8_t)s.len;
	if (s.len > 0)
		memcpy(p.salt, s.data, s.len);
	sg_buf_free(&s);
	return p;
}

static void hash_str(const char *name, const dns_nsec3_params *p, char *out, size_t outlen)
{
	dns_name n = dt_name(name);
	uint8_t h[DNS_NSEC3_HASH_MAX];
	size_t hl = 0;
	assert_int_equal(dns_nsec3_hash(&n, p, h, &hl), SIGNET_OK);
	assert_int_equal(hl, 20);
	assert_int_equal(dns_base32hex_encode(h, hl, out, outlen), SIGNET_OK);
}

/* ---- hashing ------------------------------------------------------------ */

/* RFC 5155 Appendix A: SHA-1, 12 extra iterations, salt aabbccdd. */
static void test_hash_rfc5155_appendix_a(void **state)
{
	(void)state;
	static const char *vec[][2] = {
		{"example.", "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom"},
		{"a.example.", "35mthgpgcu1qg68fab165klnsnk3dpvl"},
		{"ai.example.", "gjeqe526plbf1g8mklp59enfd789njgi"},
		{"ns1.example.", "2t7b4g4vsa5smi47k61mv5bv1a22bojr"},
		{"ns2.example.", "q04jkcevqvmu85r014c7dkba38o0ji5r"},
		{"w.example.", "k8udemvp1j2f7eg6jebps17vp3n8i58h"},
		{"*.w.example.", "r53bq7cc2uvmubfu5ocmm6pers9tk9en"},
		{"x.w.example.", "b4um86eghhds6nea196smvmlo4ors995"},
		{"y.w.example.", "ji6neoaepv8b5o6k4ev33abha8ht9fgc"},
		{"x.y.w.example.", "2vptu5timamqttgl4luu9kg21e0aor3s"},
		{"xx.example.", "t644ebqk9bibcna874givr6joj62mlhv"},
		{"2t7b4g4vsa5smi47k61mv5bv1a22bojr.example.", "kohar7mbb8dc2ce8a9qvl8hon4k53uhi"},
	};
	dns_nsec3_params p = mkparams(0, 12, "aabbccdd");
	char out[64];
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		hash_str(vec[i][0], &p, out, sizeof(out));
		assert_string_equal(out, vec[i][1]);
	}
	/* The name is lower-cased before hashing (RFC 5155 §5). */
	hash_str("X.Y.W.EXAMPLE.", &p, out, sizeof(out));
	assert_string_equal(out, "2vptu5timamqttgl4luu9kg21e0aor3s");
	/* The opt-out flag does not enter the hash. */
	p.flags = DNS_NSEC3_FLAG_OPTOUT;
	hash_str("example.", &p, out, sizeof(out));
	assert_string_equal(out, "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom");
}

/* RFC 9276 defaults (no salt, no extra iteration), against ldns. */
static void test_hash_rfc9276_vs_ldns(void **state)
{
	(void)state;
	const char *names[] = {"com.", "example.com.", "*.wild.example.com.",
			       "esc\\.aped.example.com.", "UPPER.example.com.", "."};
	dns_nsec3_params p = mkparams(0, 0, "");
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		char ours[64];
		hash_str(names[i], &p, ours, sizeof(ours));
		ldns_rdf *n = ldns_dname_new_frm_str(names[i]);
		assert_non_null(n);
		ldns_rdf *h = ldns_nsec3_hash_name(n, 1, 0, 0, NULL);
		assert_non_null(h);
		char *theirs = ldns_rdf2str(h);
		/* ldns gives the hash as a one-label relative name, "xxxx." */
		assert_int_equal(strncasecmp(theirs, ours, strlen(ours)), 0);
		free(theirs);
		ldns_rdf_deep_free(h);
		ldns_rdf_deep_free(n);
	}
}

static void test_hash_errors(void **state)
{
	(void)state;
	dns_name n = dt_name("example.");
	dns_nsec3_params p = mkparams(0, 0, "");
	uint8_t h[DNS_NSEC3_HASH_MAX];
	size_t hl = 0;
	p.algorithm = 2;
	assert_int_equal(dns_nsec3_hash(&n, &p, h, &hl), SIGNET_EUNSUPPORTED);
	p.algorithm = 1;
	assert_int_equal(dns_nsec3_hash(NULL, &p, h, &hl), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3_hash(&n, NULL, h, &hl), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3_hash(&n, &p, NULL, &hl), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3_hash(&n, &p, h, NULL), SIGNET_EINVAL);
}

/* ---- base32hex ---------------------------------------------------------- */

/* RFC 4648 §10, base32hex vectors, written without padding and lower-cased. */
static void test_base32hex_rfc4648(void **state)
{
	(void)state;
	static const char *vec[][2] = {
		{"", ""}, {"f", "co"}, {"fo", "cpng"}, {"foo", "cpnmu"},
		{"foob", "cpnmuog"}, {"fooba", "cpnmuoj1"}, {"foobar", "cpnmuoj1e8"},
	};
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char out[32];
		const char *in = vec[i][0];
		assert_int_equal(dns_base32hex_encode((const uint8_t *)in, strlen(in), out,
						      sizeof(out)), SIGNET_OK);
		assert_string_equal(out, vec[i][1]);

		uint8_t back[16];
		size_t bl = 99;
		assert_int_equal(dns_base32hex_decode(out, strlen(out), back, sizeof(back), &bl),
				 SIGNET_OK);
		assert_int_equal(bl, strlen(in));
		assert_memory_equal(back, in, bl);
	}
	/* Upper case is read too. */
	uint8_t back[16];
	size_t bl = 0;
	assert_int_equal(dns_base32hex_decode("CPNMUOJ1E8", 10, back, sizeof(back), &bl), SIGNET_OK);
	assert_int_equal(bl, 6);
	assert_memory_equal(back, "foobar", 6);
}

static void test_base32hex_errors(void **state)
{
	(void)state;
	char out[8];
	uint8_t b[16];
	size_t bl = 0;
	/* "foo" needs five characters and the NUL. */
	assert_int_equal(dns_base32hex_encode((const uint8_t *)"foo", 3, out, 5), SIGNET_ERANGE);
	assert_int_equal(dns_base32hex_encode((const uint8_t *)"foo", 3, out, 6), SIGNET_OK);
	assert_int_equal(dns_base32hex_encode(NULL, 3, out, 6), SIGNET_EINVAL);
	assert_int_equal(dns_base32hex_encode((const uint8_t *)"f", 1, NULL, 6), SIGNET_EINVAL);

	assert_int_equal(dns_base32hex_decode("cw", 2, b, sizeof(b), &bl), SIGNET_EPARSE); /* w */
	assert_int_equal(dns_base32hex_decode("c=", 2, b, sizeof(b), &bl), SIGNET_EPARSE); /* padding */
	assert_int_equal(dns_base32hex_decode("c", 1, b, sizeof(b), &bl), SIGNET_EPARSE);  /* length */
	assert_int_equal(dns_base32hex_decode("cpn", 3, b, sizeof(b), &bl), SIGNET_EPARSE);
	assert_int_equal(dns_base32hex_decode("cpnmuo", 6, b, sizeof(b), &bl), SIGNET_EPARSE);
	/* "cp" leaves two bits that must be zero: "co" is "f", "cp" is not canonical. */
	assert_int_equal(dns_base32hex_decode("cp", 2, b, sizeof(b), &bl), SIGNET_EPARSE);
	assert_int_equal(dns_base32hex_decode("cpnmuoj1", 8, b, 4, &bl), SIGNET_ERANGE);
	assert_int_equal(dns_base32hex_decode(NULL, 2, b, sizeof(b), &bl), SIGNET_EINVAL);
	assert_int_equal(dns_base32hex_decode("co", 2, NULL, sizeof(b), &bl), SIGNET_EINVAL);
	assert_int_equal(dns_base32hex_decode("co", 2, b, sizeof(b), NULL), SIGNET_EINVAL);
}

/* ---- RDATA -------------------------------------------------------------- */

static void test_nsec3_rdata_layout(void **state)
{
	(void)state;
	dns_nsec3_params p = mkparams(DNS_NSEC3_FLAG_OPTOUT, 12, "aabbccdd");
	uint8_t next[20];
	for (int i = 0; i < 20; i++)
		next[i] = (uint8_t)(i * 13);
	uint16_t types[] = {DNS_T_MX, DNS_T_A};
	sg_buf r = SG_BUF_INIT;
	assert_int_equal(dns_nsec3_rdata(&p, next, 20, types, 2, &r), SIGNET_OK);
	static const uint8_t head[] = {1, 1, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd, 20};
	assert_int_equal(r.len, sizeof(head) + 20 + 4);
	assert_memory_equal(r.data, head, sizeof(head));
	assert_memory_equal(r.data + sizeof(head), next, 20);
	static const uint8_t bm[] = {0, 2, 0x40, 0x01};
	assert_memory_equal(r.data + sizeof(head) + 20, bm, 4);

	/* The same RDATA as ldns reads from the presentation form. */
	char b32[40];
	assert_int_equal(dns_base32hex_encode(next, 20, b32, sizeof(b32)), SIGNET_OK);
	char line[256];
	snprintf(line, sizeof(line), "x.example. 300 IN NSEC3 1 1 12 aabbccdd %s A MX", b32);
	ldns_rr *rr = NULL;
	assert_int_equal(ldns_rr_new_frm_str(&rr, line, 0, NULL, NULL), LDNS_STATUS_OK);
	ldns_buffer *b = ldns_buffer_new(256);
	assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
	assert_int_equal(ldns_buffer_position(b), r.len);
	assert_memory_equal(ldns_buffer_begin(b), r.data, r.len);
	ldns_buffer_free(b);
	ldns_rr_free(rr);

	/* NSEC3PARAM never carries the opt-out flag (RFC 5155 §4.1.2). */
	sg_buf_reset(&r);
	assert_int_equal(dns_nsec3param_rdata(&p, &r), SIGNET_OK);
	static const uint8_t param[] = {1, 0, 0, 12, 4, 0xaa, 0xbb, 0xcc, 0xdd};
	assert_int_equal(r.len, sizeof(param));
	assert_memory_equal(r.data, param, sizeof(param));

	/* RFC 9276: no salt is a zero length, not a missing field. */
	dns_nsec3_params q = mkparams(0, 0, "");
	sg_buf_reset(&r);
	assert_int_equal(dns_nsec3param_rdata(&q, &r), SIGNET_OK);
	static const uint8_t param0[] = {1, 0, 0, 0, 0};
	assert_int_equal(r.len, sizeof(param0));
	assert_memory_equal(r.data, param0, sizeof(param0));

	p.algorithm = 7;
	assert_int_equal(dns_nsec3_rdata(&p, next, 20, types, 2, &r), SIGNET_EUNSUPPORTED);
	assert_int_equal(dns_nsec3param_rdata(&p, &r), SIGNET_EUNSUPPORTED);
	p.algorithm = 1;
	assert_int_equal(dns_nsec3_rdata(&p, next, 0, types, 2, &r), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3_rdata(&p, NULL, 20, types, 2, &r), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3_rdata(&p, next, 20, NULL, 2, &r), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3param_rdata(&p, NULL), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3param_rdata(NULL, &r), SIGNET_EINVAL);
	sg_buf_free(&r);
}

/* ---- chains ------------------------------------------------------------- */

/* The NSEC3 chain of the example zone, ours against ldns's, for one set of
 * parameters: same owners, same RDATA, same order. */
static void chain_vs_ldns(uint16_t iter, const char *salt_hex)
{
	sg_buf text = SG_BUF_INIT;
	dt_load_file("zones/example.com.zone", &text);
	dns_name origin = dt_name("example.com.");
	dns_zone z;
	unsigned line = 0;
	assert_int_equal(dns_zone_parse((const char *)text.data, text.len, &origin, 3600,
					10000, &z, &line), SIGNET_OK);
	dns_owner *o = NULL;
	size_t n = 0;
	dt_zone_owners(&z, &o, &n);
	dns_nsec3_params p = mkparams(0, iter, salt_hex);
	dns_chain c = {NULL, 0, 0};
	assert_int_equal(dns_nsec3_chain(&z.apex, o, n, 300, &p, &c), SIGNET_OK);
	/* The each form gives the same sets, and stops at its callback's error. */
	dt_each e = {&c, 0, 0};
	assert_int_equal(dns_nsec3_chain_each(&z.apex, o, n, 300, &p, dt_each_fn, &e), SIGNET_OK);
	assert_int_equal(e.seen, c.count);
	e = (dt_each){&c, 0, 2};
	assert_int_equal(dns_nsec3_chain_each(&z.apex, o, n, 300, &p, dt_each_fn, &e), SIGNET_EIO);
	assert_int_equal(e.seen, 2);
	assert_int_equal(dns_nsec3_chain_each(&z.apex, o, n, 300, &p, NULL, &e), SIGNET_EINVAL);

	FILE *fp = fmemopen(text.data, text.len, "r");
	assert_non_null(fp);
	ldns_dnssec_zone *lz = NULL;
	ldns_rdf *lorigin = ldns_dname_new_frm_str("example.com.");
	assert_int_equal(ldns_dnssec_zone_new_frm_fp(&lz, fp, lorigin, 3600,
						     LDNS_RR_CLASS_IN), LDNS_STATUS_OK);
	fclose(fp);
	assert_int_equal(ldns_dnssec_zone_mark_glue(lz), LDNS_STATUS_OK);
	assert_int_equal(ldns_dnssec_zone_add_empty_nonterminals(lz), LDNS_STATUS_OK);
	ldns_rr_list *l = ldns_rr_list_new();
	assert_int_equal(ldns_dnssec_zone_create_nsec3s(lz, l, 1, 0, p.iterations,
							p.salt_len, p.salt), LDNS_STATUS_OK);
	/* ldns lists them in name order; ours are in hash order. */
	ldns_rr_list_sort_nsec3(l);
	assert_int_equal(c.count, ldns_rr_list_rr_count(l));
	for (size_t i = 0; i < c.count; i++) {
		ldns_rr *rr = ldns_rr_list_rr(l, i);
		ldns_rdf *own = ldns_rr_owner(rr);
		dns_name ln;
		assert_int_equal(dns_name_from_wire(&ln, ldns_rdf_data(own), ldns_rdf_size(own),
						    NULL), SIGNET_OK);
		assert_true(dns_name_equal(&ln, &c.sets[i].owner));
		ldns_buffer *b = ldns_buffer_new(512);
		assert_int_equal(ldns_rr_rdata2buffer_wire(b, rr), LDNS_STATUS_OK);
		assert_int_equal(c.sets[i].rr[0].len, ldns_buffer_position(b));
		assert_memory_equal(c.sets[i].rr[0].data, ldns_buffer_begin(b), c.sets[i].rr[0].len);
		ldns_buffer_free(b);
		assert_int_equal(c.sets[i].type, DNS_T_NSEC3);
		assert_int_equal(c.sets[i].ttl, 300);
	}
	ldns_rr_list_free(l);
	ldns_dnssec_zone_deep_free(lz);
	ldns_rdf_deep_free(lorigin);
	dns_chain_free(&c);
	dt_free_owners(o, n);
	dns_zone_free(&z);
	sg_buf_free(&text);
}

static void test_chain_vs_ldns_rfc9276(void **state)
{
	(void)state;
	chain_vs_ldns(0, "");
}

static void test_chain_vs_ldns_salted(void **state)
{
	(void)state;
	chain_vs_ldns(12, "aabbccdd");
}

/* Find the NSEC3 whose owner is the hash of name, or NULL. */
static const dns_rrset *find_hashed(const dns_chain *c, const char *name,
				    const dns_nsec3_params *p)
{
	char b32[64];
	hash_str(name, p, b32, sizeof(b32));
	for (size_t i = 0; i < c->count; i++) {
		const dns_rrset *s = &c->sets[i];
		if (s->owner.wire[0] == strlen(b32) &&
		    strncasecmp((const char *)s->owner.wire + 1, b32, strlen(b32)) == 0)
			return s;
	}
	return NULL;
}

/* The bitmap at the end of NSEC3 RDATA made with p. */
static void check_types(const dns_rrset *s, const dns_nsec3_params *p,
			const uint16_t *types, size_t n)
{
	sg_buf want = SG_BUF_INIT;
	assert_int_equal(dns_type_bitmap(types, n, &want), SIGNET_OK);
	size_t off = 5 + p->salt_len + 1 + 20;
	assert_int_equal(s->rr[0].len, off + want.len);
	if (want.len > 0)
		assert_memory_equal(s->rr[0].data + off, want.data, want.len);
	sg_buf_free(&want);
}

static void test_chain_rules_and_optout(void **state)
{
	(void)state;
	uint16_t apex_t[] = {DNS_T_SOA, DNS_T_NS, DNS_T_DNSKEY, DNS_T_NSEC3PARAM};
	uint16_t a_t[] = {DNS_T_A};
	uint16_t ins_t[] = {DNS_T_NS, DNS_T_A};
	uint16_t sec_t[] = {DNS_T_NS, DNS_T_DS};
	dns_owner o[] = {
		{dt_namep("example."), apex_t, 4},
		{dt_namep("www.example."), a_t, 1},
		{dt_namep("a.b.c.example."), a_t, 1},          /* b.c and c are ENTs */
		{dt_namep("ins.x.example."), ins_t, 2},        /* x: ENT of an insecure cut */
		{dt_namep("ns.ins.x.example."), a_t, 1},       /* glue */
		{dt_namep("sec.example."), sec_t, 2},
	};
	dns_name apex = dt_name("example.");

	/* Without opt-out every name is there, ENTs included. */
	dns_nsec3_params p = mkparams(0, 0, "");
	dns_chain c = {NULL, 0, 0};
	assert_int_equal(dns_nsec3_chain(&apex, o, 6, 60, &p, &c), SIGNET_OK);
	assert_int_equal(c.count, 8);
	assert_null(find_hashed(&c, "ns.ins.x.example.", &p));
	uint16_t apex_w[] = {DNS_T_SOA, DNS_T_NS, DNS_T_DNSKEY, DNS_T_NSEC3PARAM, DNS_T_RRSIG};
	check_types(find_hashed(&c, "example.", &p), &p, apex_w, 5);
	check_types(find_hashed(&c, "c.example.", &p), &p, NULL, 0);
	check_types(find_hashed(&c, "b.c.example.", &p), &p, NULL, 0);
	check_types(find_hashed(&c, "x.example.", &p), &p, NULL, 0);
	uint16_t ins_w[] = {DNS_T_NS};                  /* nothing signed there */
	check_types(find_hashed(&c, "ins.x.example.", &p), &p, ins_w, 1);
	uint16_t sec_w[] = {DNS_T_NS, DNS_T_DS, DNS_T_RRSIG};
	check_types(find_hashed(&c, "sec.example.", &p), &p, sec_w, 3);
	uint16_t www_w[] = {DNS_T_A, DNS_T_RRSIG};
	check_types(find_hashed(&c, "www.example.", &p), &p, www_w, 2);

	/* Sorted by hash, each pointing at the next and the last at the first. */
	for (size_t i = 0; i < c.count; i++) {
		const dns_rrset *s = &c.sets[i];
		const dns_rrset *nx = &c.sets[(i + 1) % c.count];
		uint8_t h[20];
		size_t hl = 0;
		assert_int_equal(dns_base32hex_decode((const char *)nx->owner.wire + 1,
						      nx->owner.wire[0], h, sizeof(h), &hl), SIGNET_OK);
		assert_int_equal(hl, 20);
		assert_int_equal(s->rr[0].data[5 + p.salt_len], 20);
		assert_memory_equal(s->rr[0].data + 6 + p.salt_len, h, 20);
		assert_int_equal(s->rr[0].data[1], 0);        /* no opt-out flag */
		if (i > 0)
			assert_true(dns_name_compare(&c.sets[i - 1].owner, &s->owner) < 0);
	}
	dns_chain_free(&c);

	/* Opt-out: the insecure delegation and the ENT only it implied go. */
	dns_nsec3_params q = mkparams(DNS_NSEC3_FLAG_OPTOUT, 0, "");
	assert_int_equal(dns_nsec3_chain(&apex, o, 6, 60, &q, &c), SIGNET_OK);
	assert_int_equal(c.count, 6);
	assert_null(find_hashed(&c, "ins.x.example.", &q));
	assert_null(find_hashed(&c, "x.example.", &q));
	assert_non_null(find_hashed(&c, "sec.example.", &q));
	assert_non_null(find_hashed(&c, "b.c.example.", &q));
	for (size_t i = 0; i < c.count; i++)
		assert_int_equal(c.sets[i].rr[0].data[1], DNS_NSEC3_FLAG_OPTOUT);
	dns_chain_free(&c);
}

static void test_chain_errors(void **state)
{
	(void)state;
	uint16_t a_t[] = {DNS_T_A};
	dns_name apex = dt_name("example.");
	dns_owner no_apex[] = {{dt_namep("www.example."), a_t, 1}};
	dns_owner ok[] = {{&apex, a_t, 1}};
	dns_nsec3_params p = mkparams(0, 0, "");
	dns_chain c = {NULL, 0, 0};
	assert_int_equal(dns_nsec3_chain(&apex, no_apex, 1, 60, &p, &c), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3_chain(&apex, ok, 1, 60, NULL, &c), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3_chain(NULL, ok, 1, 60, &p, &c), SIGNET_EINVAL);
	assert_int_equal(dns_nsec3_chain(&apex, ok, 1, 60, &p, NULL), SIGNET_EINVAL);
	p.algorithm = 2;
	assert_int_equal(dns_nsec3_chain(&apex, ok, 1, 60, &p, &c), SIGNET_EUNSUPPORTED);
	p.algorithm = 1;

	/* A 32-octet label in front of an apex of 230 octets exceeds 255. */
	char longname[300] = "";
	for (int i = 0; i < 3; i++)
		strcat(longname, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(longname, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.");
	dns_name big = dt_name(longname);
	assert_true(big.len > 255 - 33);
	dns_owner bo[] = {{&big, a_t, 1}};
	assert_int_equal(dns_nsec3_chain(&big, bo, 1, 60, &p, &c), SIGNET_ERANGE);
	assert_null(c.sets);

	/* The apex alone is a chain of one that points at itself. */
	assert_int_equal(dns_nsec3_chain(&apex, ok, 1, 60, &p, &c), SIGNET_OK);
	assert_int_equal(c.count, 1);
	uint8_t h[20];
	size_t hl = 0;
	assert_int_equal(dns_base32hex_decode((const char *)c.sets[0].owner.wire + 1, 32, h,
					      sizeof(h), &hl), SIGNET_OK);
	assert_memory_equal(c.sets[0].rr[0].data + 6, h, 20);
	dns_chain_free(&c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_hash_rfc5155_appendix_a),
		cmocka_unit_test(test_hash_rfc9276_vs_ldns),
		cmocka_unit_test(test_hash_errors),
		cmocka_unit_test(test_base32hex_rfc4648),
		cmocka_unit_test(test_base32hex_errors),
		cmocka_unit_test(test_nsec3_rdata_layout),
		cmocka_unit_test(test_chain_vs_ldns_rfc9276),
		cmocka_unit_test(test_chain_vs_ldns_salted),
		cmocka_unit_test(test_chain_rules_and_optout),
		cmocka_unit_test(test_chain_errors),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
