/* test_zoneprint.c -- dns_rr_to_text and dns_rrset_to_text print every type a signed zone mostly holds exactly as ldns does, for many random RRs, well formed or not. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>
#include <ldns/ldns.h>

#include "common/common.h"
#include "dnssec/dnssec.h"
#include "tests/lib/dnssec_testutil.h"

/* A small deterministic generator, so a failure repeats. */
static uint32_t rnd_state = 12345;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* One label octet: mostly what the fast printer takes (mixed case, digits,
 * '-', '_', '*'); now and then one it must leave to the general path. */
static uint8_t label_octet(bool odd)
{
	static const char plain[] = "abcxyzABCXYZ019-_*";
	static const uint8_t special[] = {'.', '\\', ' ', 0, 200};
	if (odd && rnd() % 12 == 0)
		return special[rnd() % sizeof(special)];
	return (uint8_t)plain[rnd() % (sizeof(plain) - 1)];
}

/* A random name in wire form appended to b (the root now and then). */
static void put_name(sg_buf *b, bool odd)
{
	unsigned labels = rnd() % 8 == 0 ? 0 : 1 + rnd() % 4;
	for (unsigned i = 0; i < labels; i++) {
		unsigned l = 1 + rnd() % (rnd() % 16 == 0 ? 63 : 8);
		assert_int_equal(sg_buf_put_u8(b, (uint8_t)l), SIGNET_OK);
		for (unsigned k = 0; k < l; k++)
			assert_int_equal(sg_buf_put_u8(b, label_octet(odd)), SIGNET_OK);
	}
	assert_int_equal(sg_buf_put_u8(b, 0), SIGNET_OK);
}

static void put_bytes(sg_buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		assert_int_equal(sg_buf_put_u8(b, (uint8_t)rnd()), SIGNET_OK);
}

/* A type bitmap (RFC 4034 §4.1.2) of a few windows and types. */
static void put_bitmap(sg_buf *b)
{
	unsigned win = 0, nwin = 1 + rnd() % 3;
	for (unsigned w = 0; w < nwin; w++, win += 1 + rnd() % 3) {
		uint8_t bits[32] = {0};
		unsigned n = 1 + rnd() % 6;
		for (unsigned i = 0; i < 3; i++) {
			unsigned bit = rnd() % (n * 8);
			bits[bit / 8] |= (uint8_t)(0x80 >> (bit % 8));
		}
		if (bits[n - 1] == 0)
			bits[n - 1] = 1;
		assert_int_equal(sg_buf_put_u8(b, (uint8_t)win), SIGNET_OK);
		assert_int_equal(sg_buf_put_u8(b, (uint8_t)n), SIGNET_OK);
		assert_int_equal(sg_buf_append(b, bits, n), SIGNET_OK);
	}
}

/* Random RDATA of type into r: mostly well formed, with odd names and,
 * now and then, octets cut off or added. */
static void make_rdata(uint16_t type, sg_buf *r)
{
	sg_buf_reset(r);
	uint32_t now = (uint32_t)time(NULL);
	switch (type) {
	case DNS_T_A: put_bytes(r, 4); break;
	case DNS_T_AAAA:
		put_bytes(r, 16);
		/* runs of zero words, which inet_ntop folds to "::" */
		for (size_t i = 0; i < 16; i++)
			if (rnd() % 2)
				r->data[i] = 0;
		break;
	case DNS_T_NS: case DNS_T_CNAME: case DNS_T_PTR: case DNS_T_DNAME:
		put_name(r, true);
		break;
	case DNS_T_MX:
		assert_int_equal(sg_buf_put_u16(r, (uint16_t)rnd()), SIGNET_OK);
		put_name(r, true);
		break;
	case DNS_T_SRV:
		for (int i = 0; i < 3; i++)
			assert_int_equal(sg_buf_put_u16(r, (uint16_t)rnd()), SIGNET_OK);
		put_name(r, true);
		break;
	case DNS_T_SOA:
		put_name(r, true);
		put_name(r, true);
		for (int i = 0; i < 5; i++)
			assert_int_equal(sg_buf_put_u32(r, rnd() % 3 ? rnd() % 100000 : rnd() << 8),
					 SIGNET_OK);
		break;
	case DNS_T_TXT: {
		unsigned n = 1 + rnd() % 4;
		for (unsigned i = 0; i < n; i++) {
			unsigned l = rnd() % (rnd() % 8 == 0 ? 256 : 20);
			assert_int_equal(sg_buf_put_u8(r, (uint8_t)l), SIGNET_OK);
			for (unsigned k = 0; k < l; k++) {
				uint8_t c = rnd() % 4 ? (uint8_t)(' ' + rnd() % 95) : (uint8_t)rnd();
				assert_int_equal(sg_buf_put_u8(r, c), SIGNET_OK);
			}
		}
		break;
	}
	case DNS_T_DS: case DNS_T_CDS:
		assert_int_equal(sg_buf_put_u16(r, (uint16_t)rnd()), SIGNET_OK);
		put_bytes(r, 2);
		put_bytes(r, rnd() % 4 ? 32 : rnd() % 70);
		break;
	case DNS_T_DNSKEY: case DNS_T_CDNSKEY:
		assert_int_equal(sg_buf_put_u16(r, rnd() % 2 ? 256 : 257), SIGNET_OK);
		assert_int_equal(sg_buf_put_u8(r, 3), SIGNET_OK);
		assert_int_equal(sg_buf_put_u8(r, (uint8_t)rnd()), SIGNET_OK);
		put_bytes(r, rnd() % 4 ? 64 : rnd() % 300);
		break;
	case DNS_T_RRSIG: {
		static const uint16_t covered[] = {1, 2, 6, 28, 47, 50, 48, 65000, 999};
		assert_int_equal(sg_buf_put_u16(r, covered[rnd() % 9]), SIGNET_OK);
		put_bytes(r, 2);
		assert_int_equal(sg_buf_put_u32(r, rnd()), SIGNET_OK);
		/* Times within 68 years of now: ldns reads what it prints. */
		for (int i = 0; i < 2; i++)
			assert_int_equal(sg_buf_put_u32(r, now + (uint32_t)(int32_t)(
								   (int32_t)(rnd() << 7) / 2)),
					 SIGNET_OK);
		assert_int_equal(sg_buf_put_u16(r, (uint16_t)rnd()), SIGNET_OK);
		put_name(r, true);
		put_bytes(r, rnd() % 8 ? 64 : rnd() % 5);
		break;
	}
	case DNS_T_NSEC:
		put_name(r, true);
		put_bitmap(r);
		break;
	case DNS_T_NSEC3: {
		assert_int_equal(sg_buf_put_u8(r, 1), SIGNET_OK);
		assert_int_equal(sg_buf_put_u8(r, (uint8_t)(rnd() % 2)), SIGNET_OK);
		assert_int_equal(sg_buf_put_u16(r, (uint16_t)(rnd() % 20)), SIGNET_OK);
		unsigned salt = rnd() % 2 ? 0 : rnd() % 12;
		assert_int_equal(sg_buf_put_u8(r, (uint8_t)salt), SIGNET_OK);
		put_bytes(r, salt);
		assert_int_equal(sg_buf_put_u8(r, 20), SIGNET_OK);
		put_bytes(r, 20);
		put_bitmap(r);
		break;
	}
	default:
		fail();
	}
	/* Now and then a form no printer may take as it is. */
	unsigned odd = rnd() % 16;
	if (odd == 0 && r->len > 0)
		r->len--;
	else if (odd == 1)
		put_bytes(r, 1 + rnd() % 3);
}

static const uint16_t fast_types[] = {
	DNS_T_A, DNS_T_AAAA, DNS_T_NS, DNS_T_CNAME, DNS_T_PTR, DNS_T_DNAME, DNS_T_MX,
	DNS_T_SRV, DNS_T_SOA, DNS_T_TXT, DNS_T_DS, DNS_T_CDS, DNS_T_DNSKEY, DNS_T_CDNSKEY,
	DNS_T_RRSIG, DNS_T_NSEC, DNS_T_NSEC3,
};

static void random_owner(dns_name *owner)
{
	sg_buf b = SG_BUF_INIT;
	put_name(&b, true);
	assert_int_equal(dns_name_from_wire(owner, b.data, b.len, NULL), SIGNET_OK);
	sg_buf_free(&b);
}

/* One RR at a time: the same text as ldns's, or, where ldns does not take
 * the RDATA, an error and nothing appended. */
static void test_rr_matches_ldns(void **state)
{
	(void)state;
	sg_buf rd = SG_BUF_INIT, out = SG_BUF_INIT;
	size_t fast = 0, refused = 0;
	for (size_t t = 0; t < sizeof(fast_types) / sizeof(fast_types[0]); t++)
		for (int i = 0; i < 600; i++) {
			dns_name owner;
			random_owner(&owner);
			uint32_t ttl = rnd() % 4 ? rnd() % 86400 : rnd();
			make_rdata(fast_types[t], &rd);
			sg_buf_reset(&out);
			assert_int_equal(sg_buf_printf(&out, "x"), SIGNET_OK);
			char *want = dt_ldns_line(&owner, fast_types[t], DNS_CLASS_IN, ttl, rd.data,
						  rd.len);
			signet_err err = dns_rr_to_text(&owner, fast_types[t], DNS_CLASS_IN, ttl,
							rd.data, rd.len, &out);
			if (want == NULL) {
				assert_int_not_equal(err, SIGNET_OK);
				assert_int_equal(out.len, 1);
				refused++;
				continue;
			}
			assert_int_equal(err, SIGNET_OK);
			if (strcmp((const char *)out.data + 1, want) != 0)
				fail_msg("type %u:\n got  [%s]\n want [%s]", fast_types[t],
					 (const char *)out.data + 1, want);
			assert_int_equal(out.len, 1 + strlen(want));
			free(want);
			fast++;
		}
	/* Both kinds were seen, so both paths were compared. */
	assert_true(fast > 5000);
	assert_true(refused > 50);
	sg_buf_free(&rd);
	sg_buf_free(&out);
}

/* Whole RRsets: one line per RR, each ldns's, the owner text shared. */
static void test_rrset_matches_ldns(void **state)
{
	(void)state;
	sg_buf rd = SG_BUF_INIT, out = SG_BUF_INIT, want = SG_BUF_INIT;
	for (size_t t = 0; t < sizeof(fast_types) / sizeof(fast_types[0]); t++)
		for (int i = 0; i < 60; i++) {
			dns_name owner;
			random_owner(&owner);
			dns_rrset s;
			dns_rrset_init(&s, &owner, fast_types[t], DNS_CLASS_IN, rnd() % 7200);
			sg_buf_reset(&want);
			bool ok = true;
			unsigned n = 1 + rnd() % 5;
			for (unsigned k = 0; k < n; k++) {
				make_rdata(fast_types[t], &rd);
				assert_int_equal(dns_rrset_add(&s, rd.data, rd.len), SIGNET_OK);
				char *line = dt_ldns_line(&owner, s.type, DNS_CLASS_IN, s.ttl, rd.data,
							  rd.len);
				ok = ok && line != NULL;
				if (line != NULL)
					assert_int_equal(sg_buf_printf(&want, "%s\n", line), SIGNET_OK);
				free(line);
			}
			sg_buf_reset(&out);
			signet_err err = dns_rrset_to_text(&s, &out);
			if (ok) {
				assert_int_equal(err, SIGNET_OK);
				assert_int_equal(out.len, want.len);
				assert_memory_equal(out.data, want.data, want.len);
				assert_int_equal(out.data[out.len], '\0');
			} else {
				assert_int_not_equal(err, SIGNET_OK);
			}
			dns_rrset_clear(&s);
		}
	sg_buf_free(&rd);
	sg_buf_free(&out);
	sg_buf_free(&want);
}

/* Fixed lines a signed zone holds, spelled out: the comparison with ldns
 * above could not catch a change both made. */
static void test_known_lines(void **state)
{
	(void)state;
	static const struct {
		uint16_t type;
		const char *text;
	} cases[] = {
		{DNS_T_SOA, "ns1.b.example. hostmaster.b.example. 2026112701 7200 3600 1209600 300"},
		{DNS_T_MX, "10 mail.b.example."},
		{DNS_T_SRV, "0 5 5060 sip.b.example."},
		{DNS_T_TXT, "\"v=spf1 mx -all\" \"a\\\"b\\\\c\\255\""},
		{DNS_T_DS, "60485 13 2 d4b7d520e7bb5f0f67674a0cceb1e3e0614b93c4f9e99b8383f6a1e4469da50a"},
		{DNS_T_DNSKEY, "256 3 13 "
			       "mdsswUyr3DPW132mOi8V9xESWE8jTo0dxCjjnopKl+GqJxpVXckHAeF+KkxLbxILfDLUT0rAK9iUzy1L53eKGQ=="},
		{DNS_T_CNAME, "h1.b.example."},
	};
	dns_name owner, origin, back;
	assert_int_equal(dns_name_from_str(&owner, "Www.b.example."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&origin, "b.example."), SIGNET_OK);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *mnem = ldns_rr_type2str((ldns_rr_type)cases[i].type);
		char line[512];
		snprintf(line, sizeof(line), "Www.b.example.\t300\tIN\t%s\t%s", mnem,
			 cases[i].text);
		free(mnem);
		sg_buf rd = SG_BUF_INIT, out = SG_BUF_INIT;
		uint16_t type, rclass;
		uint32_t ttl;
		if (dns_rr_from_text(line, &origin, &back, &type, &rclass, &ttl, &rd) != SIGNET_OK)
			fail_msg("does not read: %s", line);
		assert_int_equal(dns_rr_to_text(&owner, type, rclass, ttl, rd.data, rd.len, &out),
				 SIGNET_OK);
		assert_string_equal((const char *)out.data, line);
		sg_buf_free(&rd);
		sg_buf_free(&out);
	}
}

static void test_bad_arguments(void **state)
{
	(void)state;
	dns_name owner;
	assert_int_equal(dns_name_from_str(&owner, "a.example."), SIGNET_OK);
	sg_buf out = SG_BUF_INIT;
	dns_rrset s;
	dns_rrset_init(&s, &owner, DNS_T_A, DNS_CLASS_IN, 60);
	assert_int_equal(dns_rrset_add(&s, (const uint8_t *)"\1\2\3\4", 4), SIGNET_OK);
	/* An RDATA slot claiming octets it does not have. */
	uint8_t *keep = s.rr[0].data;
	s.rr[0].data = NULL;
	assert_int_equal(dns_rrset_to_text(&s, &out), SIGNET_EINVAL);
	s.rr[0].data = keep;
	/* An owner of no octets. */
	s.owner.len = 0;
	assert_int_equal(dns_rrset_to_text(&s, &out), SIGNET_EINVAL);
	assert_int_equal(out.len, 0);
	s.owner = owner;
	assert_int_equal(dns_rrset_to_text(&s, &out), SIGNET_OK);
	assert_string_equal((const char *)out.data, "a.example.\t60\tIN\tA\t1.2.3.4\n");
	dns_rrset_clear(&s);
	sg_buf_free(&out);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rr_matches_ldns),
		cmocka_unit_test(test_rrset_matches_ldns),
		cmocka_unit_test(test_known_lines),
		cmocka_unit_test(test_bad_arguments),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
