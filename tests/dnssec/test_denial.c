/* test_denial.c -- NSEC and NSEC3 read back and what they prove
 * (dnssec/denial.c): chains built by dns_nsec_chain and dns_nsec3_chain over
 * a zone with secure and insecure delegations, glue, a wildcard and an empty
 * non-terminal, judged name by name, and the same chains with a record
 * taken out judged as a validator would reject them. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/common.h"
#include "dnssec/dnssec.h"
#include "tests/lib/dnssec_testutil.h"

static const char zone_text[] =
	"$ORIGIN example.\n$TTL 300\n"
	"@ SOA ns1 host 1 3600 900 604800 300\n"
	"@ NS ns1\nns1 A 192.0.2.1\n"
	"www A 192.0.2.2\n"
	"*.wild A 192.0.2.3\n"
	"a.b.ent TXT \"below an empty non-terminal\"\n"
	"insecure NS ns.insecure\nns.insecure A 192.0.2.4\n"
	"secure NS ns.elsewhere.test.\nsecure DS 12345 13 2 "
	"0000000000000000000000000000000000000000000000000000000000000000\n"
	"occluded.secure A 192.0.2.5\n";

/* The zone's chain, its RDATA kept alive for the records that point in. */
struct chain {
	dns_chain c;
	dns_nsec_rec nsec[64];
	dns_nsec3_rec nsec3[64];
	size_t n;
};

static void build(struct chain *ch, int kind, uint8_t flags)
{
	memset(ch, 0, sizeof(*ch));
	dns_name apex = dt_name("example.");
	dns_zone z;
	assert_int_equal(dns_zone_parse(zone_text, strlen(zone_text), &apex, 300, 100, &z, NULL),
			 SIGNET_OK);
	dns_set_role *roles = calloc(z.count, sizeof(*roles));
	assert_non_null(roles);
	assert_int_equal(dns_zone_roles(&z, roles), SIGNET_OK);
	dns_owner *owners;
	size_t n;
	assert_int_equal(dns_zone_owners(&z, roles, &owners, &n), SIGNET_OK);
	if (kind == DNS_T_NSEC) {
		assert_int_equal(dns_nsec_chain(&apex, owners, n, 300, &ch->c), SIGNET_OK);
	} else {
		dns_nsec3_params p = {.algorithm = 1, .flags = flags};
		assert_int_equal(dns_nsec3_chain(&apex, owners, n, 300, &p, &ch->c), SIGNET_OK);
	}
	assert_true(ch->c.count <= 64);
	for (size_t i = 0; i < ch->c.count; i++) {
		const dns_rrset *s = &ch->c.sets[i];
		assert_int_equal(s->count, 1);
		if (kind == DNS_T_NSEC)
			assert_int_equal(dns_nsec_read(&s->owner, s->rr[0].data, s->rr[0].len,
						       &ch->nsec[i]), SIGNET_OK);
		else
			assert_int_equal(dns_nsec3_read(&s->owner, s->rr[0].data, s->rr[0].len,
							&ch->nsec3[i]), SIGNET_OK);
	}
	ch->n = ch->c.count;
	dns_owners_free(owners, n);
	free(roles);
	dns_zone_free(&z);
}

/* Take record i out of the chain (the others keep their order). */
static void drop(struct chain *ch, size_t i)
{
	assert_true(i < ch->n);
	memmove(&ch->nsec[i], &ch->nsec[i + 1], (ch->n - i - 1) * sizeof(ch->nsec[0]));
	memmove(&ch->nsec3[i], &ch->nsec3[i + 1], (ch->n - i - 1) * sizeof(ch->nsec3[0]));
	ch->n--;
}

/* The index of the NSEC that covers name, or of the NSEC3 that covers its
 * hash. */
static size_t covering(const struct chain *ch, int kind, const char *name)
{
	dns_name q = dt_name(name);
	uint8_t h[DNS_NSEC3_HASH_MAX];
	size_t hl = 0;
	if (kind == DNS_T_NSEC3)
		assert_int_equal(dns_nsec3_hash(&q, &ch->nsec3[0].p, h, &hl), SIGNET_OK);
	for (size_t i = 0; i < ch->n; i++)
		if (kind == DNS_T_NSEC ? dns_nsec_covers(&ch->nsec[i], &q)
				       : dns_nsec3_covers(&ch->nsec3[i], h, hl))
			return i;
	fail_msg("nothing covers %s", name);
	return 0;
}

static size_t matching(const struct chain *ch, const char *name)
{
	dns_name q = dt_name(name);
	uint8_t h[DNS_NSEC3_HASH_MAX];
	size_t hl = 0;
	assert_int_equal(dns_nsec3_hash(&q, &ch->nsec3[0].p, h, &hl), SIGNET_OK);
	for (size_t i = 0; i < ch->n; i++)
		if (dns_nsec3_matches(&ch->nsec3[i], h, hl))
			return i;
	fail_msg("no NSEC3 matches %s", name);
	return 0;
}

static dns_proof nsec_name(const struct chain *ch, const char *q, unsigned expanded)
{
	dns_name apex = dt_name("example."), n = dt_name(q);
	dns_denial d;
	assert_int_equal(dns_nsec_deny_name(&apex, ch->nsec, ch->n, &n, expanded, &d),
			 SIGNET_OK);
	return d.result;
}

static dns_proof nsec_type(const struct chain *ch, const char *q, uint16_t t)
{
	dns_name apex = dt_name("example."), n = dt_name(q);
	dns_denial d;
	assert_int_equal(dns_nsec_deny_type(&apex, ch->nsec, ch->n, &n, t, &d), SIGNET_OK);
	return d.result;
}

static dns_proof nsec3_name(const struct chain *ch, const char *q, unsigned expanded,
			    dns_denial *d)
{
	dns_name apex = dt_name("example."), n = dt_name(q);
	assert_int_equal(dns_nsec3_deny_name(&apex, ch->nsec3, ch->n, &n, expanded, d),
			 SIGNET_OK);
	return d->result;
}

static dns_proof nsec3_type(const struct chain *ch, const char *q, uint16_t t, dns_denial *d)
{
	dns_name apex = dt_name("example."), n = dt_name(q);
	assert_int_equal(dns_nsec3_deny_type(&apex, ch->nsec3, ch->n, &n, t, d), SIGNET_OK);
	return d->result;
}

static void test_nsec_proofs(void **state)
{
	(void)state;
	struct chain ch;
	build(&ch, DNS_T_NSEC, 0);
	assert_int_equal(nsec_name(&ch, "nothere.example.", 0), DNS_PROOF_OK);
	assert_int_equal(nsec_name(&ch, "zzz.example.", 0), DNS_PROOF_OK);   /* the last NSEC */
	assert_int_equal(nsec_name(&ch, "x.www.example.", 0), DNS_PROOF_OK);
	/* Below the empty non-terminal b.ent, which exists as a.b.ent's
	 * ancestor: the encloser. */
	assert_int_equal(nsec_name(&ch, "c.b.ent.example.", 0), DNS_PROOF_OK);
	/* Existing names are not denied. */
	assert_int_equal(nsec_name(&ch, "www.example.", 0), DNS_PROOF_NAME);
	/* Below a cut the parent's NSEC cannot deny anything. */
	assert_int_equal(nsec_name(&ch, "x.insecure.example.", 0), DNS_PROOF_CUT);
	/* A wildcard answer: only the name itself must be denied. */
	assert_int_equal(nsec_name(&ch, "q.wild.example.", 2), DNS_PROOF_OK);
	/* Without the NSEC that covers the wildcard: no proof of no wildcard. */
	dns_name apex = dt_name("example.");
	dns_denial d;
	dns_name q = dt_name("nothere.example.");
	assert_int_equal(dns_nsec_deny_name(&apex, ch.nsec, ch.n, &q, 0, &d), SIGNET_OK);
	char w[DNS_NAME_STR_MAX];
	assert_int_equal(dns_name_to_str(&d.wildcard, w, sizeof(w)), SIGNET_OK);
	assert_string_equal(w, "*.example.");
	struct chain cut = ch;
	drop(&cut, covering(&cut, DNS_T_NSEC, "*.example."));
	assert_int_equal(nsec_name(&cut, "nothere.example.", 0), DNS_PROOF_WILDCARD);
	cut = ch;
	drop(&cut, covering(&cut, DNS_T_NSEC, "nothere.example."));
	assert_int_equal(nsec_name(&cut, "nothere.example.", 0), DNS_PROOF_NAME);

	/* No data, and no DS at the cuts. */
	assert_int_equal(nsec_type(&ch, "www.example.", DNS_T_AAAA), DNS_PROOF_OK);
	assert_int_equal(nsec_type(&ch, "www.example.", DNS_T_A), DNS_PROOF_TYPE);
	assert_int_equal(nsec_type(&ch, "insecure.example.", DNS_T_DS), DNS_PROOF_OK);
	assert_int_equal(nsec_type(&ch, "secure.example.", DNS_T_DS), DNS_PROOF_TYPE);
	assert_int_equal(nsec_type(&ch, "example.", DNS_T_DS), DNS_PROOF_CUT);
	assert_int_equal(nsec_type(&ch, "www.example.", DNS_T_DS), DNS_PROOF_CUT);
	assert_int_equal(nsec_type(&ch, "insecure.example.", DNS_T_TXT), DNS_PROOF_CUT);
	assert_int_equal(nsec_type(&ch, "nothere.example.", DNS_T_A), DNS_PROOF_NAME);
	dns_name x = dt_name("x.");
	assert_int_equal(dns_nsec_deny_type(&apex, NULL, 0, &x, DNS_T_A, &d), SIGNET_OK);
	assert_int_equal(d.result, DNS_PROOF_NONE);
	/* Empty non-terminals: the NSEC before leads below them. */
	assert_int_equal(nsec_type(&ch, "b.ent.example.", DNS_T_A), DNS_PROOF_OK);
	assert_int_equal(nsec_type(&ch, "ent.example.", DNS_T_TXT), DNS_PROOF_OK);
	/* Wildcard no data: the name denied, the wildcard without the type. */
	assert_int_equal(nsec_type(&ch, "q.wild.example.", DNS_T_TXT), DNS_PROOF_OK);
	assert_int_equal(nsec_type(&ch, "q.wild.example.", DNS_T_A), DNS_PROOF_TYPE);
	assert_int_equal(nsec_type(&ch, "q.wild.example.", DNS_T_DS), DNS_PROOF_NAME);
	/* Glue and occluded names are in no NSEC. */
	assert_int_equal(nsec_type(&ch, "ns.insecure.example.", DNS_T_AAAA), DNS_PROOF_NAME);
	assert_int_equal(nsec_type(&ch, "occluded.secure.example.", DNS_T_AAAA),
			 DNS_PROOF_NAME);
	dns_chain_free(&ch.c);
}

static void test_nsec3_proofs(void **state)
{
	(void)state;
	struct chain ch;
	dns_denial d;
	build(&ch, DNS_T_NSEC3, 0);
	assert_int_equal(nsec3_name(&ch, "nothere.example.", 0, &d), DNS_PROOF_OK);
	assert_false(d.opt_out);
	char ce[DNS_NAME_STR_MAX];
	assert_int_equal(nsec3_name(&ch, "x.y.b.ent.example.", 0, &d), DNS_PROOF_OK);
	assert_int_equal(dns_name_to_str(&d.closest_encloser, ce, sizeof(ce)), SIGNET_OK);
	assert_string_equal(ce, "b.ent.example.");
	assert_int_equal(dns_name_to_str(&d.next_closer, ce, sizeof(ce)), SIGNET_OK);
	assert_string_equal(ce, "y.b.ent.example.");
	assert_int_equal(nsec3_name(&ch, "www.example.", 0, &d), DNS_PROOF_NAME);
	assert_int_equal(nsec3_name(&ch, "q.wild.example.", 2, &d), DNS_PROOF_OK);

	struct chain cut = ch;
	drop(&cut, matching(&cut, "example."));
	assert_int_equal(nsec3_name(&cut, "nothere.example.", 0, &d), DNS_PROOF_ENCLOSER);
	cut = ch;
	drop(&cut, covering(&cut, DNS_T_NSEC3, "nothere.example."));
	assert_int_equal(nsec3_name(&cut, "nothere.example.", 0, &d), DNS_PROOF_NAME);
	cut = ch;
	drop(&cut, covering(&cut, DNS_T_NSEC3, "*.example."));
	/* Unless the same NSEC3 covered both. */
	if (covering(&ch, DNS_T_NSEC3, "*.example.") !=
	    covering(&ch, DNS_T_NSEC3, "nothere.example."))
		assert_int_equal(nsec3_name(&cut, "nothere.example.", 0, &d), DNS_PROOF_WILDCARD);

	/* No data: at a name, at the empty non-terminal, and no DS. */
	assert_int_equal(nsec3_type(&ch, "www.example.", DNS_T_TXT, &d), DNS_PROOF_OK);
	assert_int_equal(nsec3_type(&ch, "www.example.", DNS_T_A, &d), DNS_PROOF_TYPE);
	assert_int_equal(nsec3_type(&ch, "b.ent.example.", DNS_T_A, &d), DNS_PROOF_OK);
	assert_int_equal(nsec3_type(&ch, "insecure.example.", DNS_T_DS, &d), DNS_PROOF_OK);
	assert_false(d.opt_out);
	assert_int_equal(nsec3_type(&ch, "secure.example.", DNS_T_DS, &d), DNS_PROOF_TYPE);
	assert_int_equal(nsec3_type(&ch, "example.", DNS_T_DS, &d), DNS_PROOF_CUT);
	assert_int_equal(nsec3_type(&ch, "insecure.example.", DNS_T_A, &d), DNS_PROOF_CUT);
	assert_int_equal(nsec3_type(&ch, "nothere.example.", DNS_T_DS, &d), DNS_PROOF_NAME);
	/* Wildcard no data (§8.7) and a name that simply does not exist. */
	assert_int_equal(nsec3_type(&ch, "q.wild.example.", DNS_T_TXT, &d), DNS_PROOF_OK);
	assert_int_equal(dns_name_to_str(&d.wildcard, ce, sizeof(ce)), SIGNET_OK);
	assert_string_equal(ce, "*.wild.example.");
	assert_int_equal(nsec3_type(&ch, "q.wild.example.", DNS_T_A, &d), DNS_PROOF_TYPE);
	assert_int_equal(nsec3_type(&ch, "nothere.example.", DNS_T_A, &d), DNS_PROOF_NAME);
	dns_chain_free(&ch.c);
}

static void test_nsec3_optout(void **state)
{
	(void)state;
	struct chain ch;
	dns_denial d;
	build(&ch, DNS_T_NSEC3, DNS_NSEC3_FLAG_OPTOUT);
	/* The insecure delegation has no NSEC3 of its own: its absence of DS
	 * is an opt-out span over it. */
	assert_int_equal(nsec3_type(&ch, "insecure.example.", DNS_T_DS, &d), DNS_PROOF_OK);
	assert_true(d.opt_out);
	char nc[DNS_NAME_STR_MAX];
	assert_int_equal(dns_name_to_str(&d.next_closer, nc, sizeof(nc)), SIGNET_OK);
	assert_string_equal(nc, "insecure.example.");
	/* The secure one keeps its NSEC3, with DS. */
	assert_int_equal(nsec3_type(&ch, "secure.example.", DNS_T_DS, &d), DNS_PROOF_TYPE);
	assert_int_equal(nsec3_name(&ch, "nothere.example.", 0, &d), DNS_PROOF_OK);
	assert_true(d.opt_out);
	/* No data below the apex in an opt-out span: insecure, not bogus. */
	assert_int_equal(nsec3_type(&ch, "nothere.example.", DNS_T_A, &d), DNS_PROOF_OK);
	assert_true(d.opt_out);
	/* Too many iterations: not judged (and not hashed). */
	struct chain many = ch;
	for (size_t j = 0; j < many.n; j++)
		many.nsec3[j].p.iterations = DNS_NSEC3_ITERATIONS_JUDGED + 1;
	assert_int_equal(nsec3_name(&many, "nothere.example.", 0, &d), DNS_PROOF_PARAMS);
	assert_int_equal(nsec3_type(&many, "insecure.example.", DNS_T_DS, &d), DNS_PROOF_PARAMS);
	/* The same span without the flag proves nothing for DS. */
	size_t i = covering(&ch, DNS_T_NSEC3, "insecure.example.");
	ch.nsec3[i].p.flags = 0;
	assert_int_equal(nsec3_type(&ch, "insecure.example.", DNS_T_DS, &d), DNS_PROOF_NAME);
	dns_chain_free(&ch.c);
}

static void test_reading(void **state)
{
	(void)state;
	/* NSEC3 owner labels that are no hash of the right length. */
	dns_nsec3_params p = {.algorithm = 1};
	uint8_t next[20] = {1};
	uint16_t types[] = {DNS_T_A, 1000};
	sg_buf rd = SG_BUF_INIT;
	assert_int_equal(dns_nsec3_rdata(&p, next, sizeof(next), types, 2, &rd), SIGNET_OK);
	dns_nsec3_rec r;
	dns_name bad = dt_name("not-base32.example."), shorter = dt_name("0p9m.example.");
	dns_name good = dt_name("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
	assert_int_equal(dns_nsec3_read(&bad, rd.data, rd.len, &r), SIGNET_EPARSE);
	assert_int_equal(dns_nsec3_read(&shorter, rd.data, rd.len, &r), SIGNET_EPARSE);
	assert_int_equal(dns_nsec3_read(&good, rd.data, rd.len, &r), SIGNET_OK);
	assert_true(dns_bitmap_has(r.bitmap, r.bitmap_len, DNS_T_A));
	assert_true(dns_bitmap_has(r.bitmap, r.bitmap_len, 1000));
	assert_false(dns_bitmap_has(r.bitmap, r.bitmap_len, DNS_T_NS));
	assert_false(dns_bitmap_has(r.bitmap, r.bitmap_len, 999));
	assert_int_equal(dns_nsec3_read(&good, rd.data, rd.len - 1, &r), SIGNET_EPARSE);
	assert_int_equal(dns_nsec3_read(&good, rd.data, 3, &r), SIGNET_EPARSE);
	sg_buf_free(&rd);
	dns_nsec_rec nr;
	static const uint8_t short_nsec[] = {3, 'a', 'b'};
	assert_int_equal(dns_nsec_read(&good, short_nsec, sizeof(short_nsec), &nr),
			 SIGNET_EPARSE);

	/* Names: common labels, and "*." where it fits. */
	dns_name a = dt_name("x.Y.example."), b = dt_name("z.y.EXAMPLE.");
	assert_int_equal(dns_name_common_labels(&a, &b), 2);
	dns_name w;
	assert_int_equal(dns_name_wildcard(&a, &w), SIGNET_OK);
	assert_true(dns_name_is_wildcard(&w));
	assert_int_equal(dns_name_labels(&w), 4);
	/* A name of 254 octets takes no "*.". */
	char longest[300] = "";
	for (int i = 0; i < 3; i++)
		strcat(longest, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.");
	strcat(longest, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.");
	dns_name big = dt_name(longest);
	assert_int_equal(big.len, 255);
	assert_int_equal(dns_name_wildcard(&big, &w), SIGNET_ERANGE);

	/* The sibling after a name sorts after its whole subtree and before
	 * the next name; with no room, the last octet moves up. */
	dns_name s;
	assert_int_equal(dns_name_sibling_after(&b, &s), SIGNET_OK);
	assert_int_equal(s.len, b.len + 1);
	assert_true(dns_name_compare(&b, &s) < 0);
	dns_name below = dt_name("zzz.z.y.example."), after = dt_name("z-.y.example.");
	assert_true(dns_name_compare(&below, &s) < 0);
	assert_true(dns_name_compare(&s, &after) < 0);
	assert_int_equal(dns_name_sibling_after(&big, &s), SIGNET_OK);
	assert_int_equal(s.len, 255);
	assert_true(dns_name_compare(&big, &s) < 0);
	dns_name at = dt_name("a@.example."), atu;
	at.len = 0;
	assert_int_equal(dns_name_sibling_after(&at, &s), SIGNET_EINVAL);
	char l63[80];
	memset(l63, 'Q', 62);
	l63[62] = '@';
	strcpy(l63 + 63, ".example.");
	at = dt_name(l63);
	assert_int_equal(dns_name_sibling_after(&at, &atu), SIGNET_OK);
	assert_int_equal(atu.wire[63], '[');
	assert_true(dns_name_compare(&at, &atu) < 0);
	dns_name root = dt_name(".");
	assert_int_equal(dns_name_sibling_after(&root, &s), SIGNET_EINVAL);
}

static void test_ds_match(void **state)
{
	(void)state;
	static const char key_text[] =
		"example. 300 IN DNSKEY 257 3 13 "
		"mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ==";
	dns_name owner;
	uint16_t type, rclass;
	uint32_t ttl;
	sg_buf key = SG_BUF_INIT, ds = SG_BUF_INIT;
	assert_int_equal(dns_rr_from_text(key_text, NULL, &owner, &type, &rclass, &ttl, &key),
			 SIGNET_OK);
	for (uint8_t dt = 2; dt <= 4; dt += 2) {
		sg_buf_reset(&ds);
		assert_int_equal(dns_ds_rdata(&owner, key.data, key.len, dt, &ds), SIGNET_OK);
		assert_int_equal(dns_ds_match(&owner, ds.data, ds.len, key.data, key.len),
				 SIGNET_OK);
		ds.data[ds.len - 1] ^= 1;
		assert_int_equal(dns_ds_match(&owner, ds.data, ds.len, key.data, key.len),
				 SIGNET_EVERIFY);
	}
	/* The SHA-1 DS of this key, as BIND's dnssec-dsfromkey -1 gives it. */
	sg_buf sha1 = SG_BUF_INIT;
	assert_int_equal(dns_rr_from_text("example. 300 IN DS 2371 13 1 "
					  "64DF643724B65612C4FEBFAA1D752E0FB9CCC95B",
					  NULL, &owner, &type, &rclass, &ttl, &sha1), SIGNET_OK);
	assert_int_equal(dns_ds_match(&owner, sha1.data, sha1.len, key.data, key.len),
			 SIGNET_OK);
	static const uint8_t odd[] = {0, 1, 13, 3, 0};
	assert_int_equal(dns_ds_match(&owner, odd, sizeof(odd), key.data, key.len),
			 SIGNET_EUNSUPPORTED);
	assert_int_equal(dns_ds_match(&owner, odd, 4, key.data, key.len), SIGNET_EPARSE);
	dns_name other = dt_name("example.net.");
	sg_buf_reset(&ds);
	assert_int_equal(dns_ds_rdata(&owner, key.data, key.len, 2, &ds), SIGNET_OK);
	assert_int_equal(dns_ds_match(&other, ds.data, ds.len, key.data, key.len),
			 SIGNET_EVERIFY);
	sg_buf_free(&sha1);
	sg_buf_free(&key);
	sg_buf_free(&ds);
}

/* Records from the network are hostile: random RDATA and owners either read
 * or fail, and whatever reads is judged without reading out of bounds (the
 * sanitizer build watches). A fixed seed keeps failures reproducible. */
static void test_hostile_records(void **state)
{
	(void)state;
	uint32_t x = 12345;
	dns_nsec_rec nsec[8];
	dns_nsec3_rec nsec3[8];
	size_t nn = 0, n3 = 0, read_ok = 0;
	uint8_t buf[8][80];
	dns_name apex = dt_name("example."), q = dt_name("a.b.example.");
	dns_name owner3 = dt_name("0p9mhaveqvm6t7vbl5lop2u3t2rp3tom.example.");
	for (int round = 0; round < 20000; round++) {
		size_t slot = (size_t)round % 8, len = 0;
		x = x * 1103515245u + 12345u;
		len = (x >> 16) % sizeof(buf[0]);
		for (size_t i = 0; i < len; i++) {
			x = x * 1103515245u + 12345u;
			buf[slot][i] = (uint8_t)(x >> 16);
		}
		if (round % 3 == 0 && len > 6) {
			/* Often a plausible head, so parsing goes deeper. */
			buf[slot][0] = 1;
			buf[slot][4] = 0;
			buf[slot][5] = 20;
		}
		if (dns_nsec_read(&apex, buf[slot], len, &nsec[nn % 8]) == SIGNET_OK) {
			nn++;
			read_ok++;
		}
		if (dns_nsec3_read(&owner3, buf[slot], len, &nsec3[n3 % 8]) == SIGNET_OK) {
			n3++;
			read_ok++;
		}
		dns_denial d;
		size_t kn = nn < 8 ? nn : 8, k3 = n3 < 8 ? n3 : 8;
		assert_int_equal(dns_nsec_deny_name(&apex, nsec, kn, &q, 0, &d), SIGNET_OK);
		assert_int_equal(dns_nsec_deny_type(&apex, nsec, kn, &q, DNS_T_A, &d), SIGNET_OK);
		assert_int_equal(dns_nsec3_deny_name(&apex, nsec3, k3, &q, 0, &d), SIGNET_OK);
		assert_int_equal(dns_nsec3_deny_type(&apex, nsec3, k3, &q, DNS_T_DS, &d), SIGNET_OK);
		(void)dns_bitmap_has(buf[slot], len, (uint16_t)x);
	}
	assert_true(read_ok > 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_nsec_proofs),
		cmocka_unit_test(test_nsec3_proofs),
		cmocka_unit_test(test_nsec3_optout),
		cmocka_unit_test(test_reading),
		cmocka_unit_test(test_ds_match),
		cmocka_unit_test(test_hostile_records),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
