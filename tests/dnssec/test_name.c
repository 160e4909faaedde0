/* test_name.c -- domain names: parsing, printing, limits, case, order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "dnssec/dnssec.h"

static dns_name name(const char *s)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, s), SIGNET_OK);
	return n;
}

static void assert_str_of(const dns_name *n, const char *want)
{
	char buf[DNS_NAME_STR_MAX];
	assert_int_equal(dns_name_to_str(n, buf, sizeof(buf)), SIGNET_OK);
	assert_string_equal(buf, want);
}

static void test_wire_of_text(void **state)
{
	(void)state;
	static const uint8_t want[] = {3, 'w', 'w', 'w', 7, 'E', 'x', 'a', 'm', 'p',
				       'l', 'e', 3, 'C', 'O', 'M', 0};
	dns_name n = name("www.Example.COM.");
	assert_int_equal(n.len, sizeof(want));
	assert_memory_equal(n.wire, want, sizeof(want));
	assert_str_of(&n, "www.Example.COM.");

	/* A missing final dot still gives the absolute name. */
	dns_name m = name("www.Example.COM");
	assert_int_equal(m.len, n.len);
	assert_memory_equal(m.wire, n.wire, n.len);

	dns_name root = name(".");
	assert_int_equal(root.len, 1);
	assert_int_equal(root.wire[0], 0);
	assert_str_of(&root, ".");
}

static void test_escapes(void **state)
{
	(void)state;
	dns_name n = name("a\\.b.c.");
	static const uint8_t w1[] = {3, 'a', '.', 'b', 1, 'c', 0};
	assert_int_equal(n.len, sizeof(w1));
	assert_memory_equal(n.wire, w1, sizeof(w1));
	assert_int_equal(dns_name_labels(&n), 2);
	assert_str_of(&n, "a\\.b.c.");

	n = name("\\000\\255\\\\x\\065.y.");
	static const uint8_t w2[] = {5, 0, 255, '\\', 'x', 'A', 1, 'y', 0};
	assert_int_equal(n.len, sizeof(w2));
	assert_memory_equal(n.wire, w2, sizeof(w2));
	assert_str_of(&n, "\\000\\255\\\\xA.y.");

	/* Printing then parsing gives back the same octets, over a wide spread
	 * of octet values. */
	/* 249 octets of label data, 7 apart modulo 256, in four labels. */
	uint8_t all[DNS_NAME_MAX];
	dns_name big;
	size_t o = 0;
	unsigned v = 0;
	for (int l = 0; l < 4; l++) {
		unsigned len = l < 3 ? 63 : 60;
		all[o++] = (uint8_t)len;
		for (unsigned i = 0; i < len; i++)
			all[o++] = (uint8_t)(v++ * 7 % 256);
	}
	all[o++] = 0;
	assert_int_equal(dns_name_from_wire(&big, all, o, NULL), SIGNET_OK);
	char buf[DNS_NAME_STR_MAX];
	assert_int_equal(dns_name_to_str(&big, buf, sizeof(buf)), SIGNET_OK);
	dns_name back = name(buf);
	assert_int_equal(back.len, big.len);
	assert_memory_equal(back.wire, big.wire, big.len);
	/* Too small a buffer is refused, not truncated. */
	assert_int_equal(dns_name_to_str(&big, buf, 20), SIGNET_ERANGE);
	dns_name www = name("www.example.");
	assert_int_equal(dns_name_to_str(&www, buf, 13), SIGNET_OK);
	assert_int_equal(dns_name_to_str(&www, buf, 12), SIGNET_ERANGE);
}

static void test_bad_text(void **state)
{
	(void)state;
	static const char *bad[] = {
		"", "..", "a..b", ".a", "a.b..", "\\", "a\\", "\\25", "\\2x5",
		"\\256", "a b", "a\tb", "x\x7f",
	};
	dns_name n;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (dns_name_from_str(&n, bad[i]) != SIGNET_EPARSE)
			fail_msg("accepted \"%s\"", bad[i]);
	}
	assert_int_equal(dns_name_from_str(NULL, "a."), SIGNET_EINVAL);
	assert_int_equal(dns_name_from_str(&n, NULL), SIGNET_EINVAL);
}

/* A text name of nlabels labels of len octets each. */
static void make_text(char *out, int nlabels, int len)
{
	size_t o = 0;
	for (int l = 0; l < nlabels; l++) {
		for (int i = 0; i < len; i++)
			out[o++] = 'a';
		out[o++] = '.';
	}
	out[o] = '\0';
}

/* Append a label of len octets c and a dot. */
static void add_label(char *out, int len, const char *c)
{
	for (int i = 0; i < len; i++)
		strcat(out, c);
	strcat(out, ".");
}

static void test_limits(void **state)
{
	(void)state;
	char text[2048];
	dns_name n;

	make_text(text, 1, 63);
	assert_int_equal(dns_name_from_str(&n, text), SIGNET_OK);
	make_text(text, 1, 64);
	assert_int_equal(dns_name_from_str(&n, text), SIGNET_EPARSE);

	/* 3 labels of 63 (192 octets) + one of 61 (62) + root = 255. */
	make_text(text, 3, 63);
	add_label(text, 61, "b");
	assert_int_equal(dns_name_from_str(&n, text), SIGNET_OK);
	assert_int_equal(n.len, 255);
	assert_int_equal(dns_name_labels(&n), 4);
	/* One octet more is 256. */
	make_text(text, 3, 63);
	add_label(text, 62, "b");
	assert_int_equal(dns_name_from_str(&n, text), SIGNET_EPARSE);
	/* Escapes count as the octet they stand for. */
	make_text(text, 3, 63);
	add_label(text, 61, "\\098");
	assert_int_equal(dns_name_from_str(&n, text), SIGNET_OK);
	assert_int_equal(n.len, 255);
	assert_int_equal(n.wire[193], 'b');
	make_text(text, 3, 63);
	add_label(text, 62, "\\098");
	assert_int_equal(dns_name_from_str(&n, text), SIGNET_EPARSE);
	/* 127 one-octet labels are 255 octets; 128 are too many. */
	text[0] = '\0';
	for (int i = 0; i < 127; i++)
		strcat(text, "x.");
	assert_int_equal(dns_name_from_str(&n, text), SIGNET_OK);
	assert_int_equal(dns_name_labels(&n), 127);
	strcat(text, "x.");
	assert_int_equal(dns_name_from_str(&n, text), SIGNET_EPARSE);

	/* The same limits on the wire. */
	uint8_t wire[300];
	size_t o = 0;
	for (int l = 0; l < 4; l++) {
		wire[o++] = 63;
		memset(wire + o, 'a', 63);
		o += 63;
	}
	wire[o++] = 0;   /* 4 * 64 + 1 = 257 */
	assert_int_equal(dns_name_from_wire(&n, wire, o, NULL), SIGNET_EPARSE);
	wire[3 * 64] = 61;   /* shorten the fourth label: 192 + 62 + 1 = 255 */
	wire[3 * 64 + 62] = 0;
	size_t used = 0;
	assert_int_equal(dns_name_from_wire(&n, wire, sizeof(wire), &used), SIGNET_OK);
	assert_int_equal(used, 255);
	wire[3 * 64] = 62;   /* 256 */
	wire[3 * 64 + 63] = 0;
	assert_int_equal(dns_name_from_wire(&n, wire, sizeof(wire), NULL), SIGNET_EPARSE);
}

static void test_bad_wire(void **state)
{
	(void)state;
	dns_name n;
	size_t used = 99;
	static const uint8_t good[] = {1, 'a', 0, 0xff};
	assert_int_equal(dns_name_from_wire(&n, good, sizeof(good), &used), SIGNET_OK);
	assert_int_equal(used, 3);
	static const uint8_t ptr[] = {1, 'a', 0xC0, 0x0C};
	assert_int_equal(dns_name_from_wire(&n, ptr, sizeof(ptr), NULL), SIGNET_EPARSE);
	static const uint8_t ext[] = {0x41, 'a', 0};
	assert_int_equal(dns_name_from_wire(&n, ext, sizeof(ext), NULL), SIGNET_EPARSE);
	static const uint8_t over[] = {5, 'a', 'b', 0};
	assert_int_equal(dns_name_from_wire(&n, over, sizeof(over), NULL), SIGNET_EPARSE);
	static const uint8_t noroot[] = {1, 'a', 1, 'b'};
	assert_int_equal(dns_name_from_wire(&n, noroot, sizeof(noroot), NULL), SIGNET_EPARSE);
	assert_int_equal(dns_name_from_wire(&n, good, 0, NULL), SIGNET_EPARSE);
	assert_int_equal(dns_name_from_wire(&n, NULL, 4, NULL), SIGNET_EINVAL);
}

static void test_case_and_labels(void **state)
{
	(void)state;
	dns_name n = name("WwW.ExAmPlE.\\195\\128Z.");
	dns_name_lower(&n);
	/* ASCII letters only: the octets 195 and 128 stay as they are. */
	assert_str_of(&n, "www.example.\\195\\128z.");

	dns_name root = name(".");
	assert_int_equal(dns_name_labels(&root), 0);
	assert_int_equal(dns_name_rrsig_labels(&root), 0);
	dns_name abc = name("a.b.c.");
	assert_int_equal(dns_name_labels(&abc), 3);
	assert_int_equal(dns_name_rrsig_labels(&abc), 3);
	assert_false(dns_name_is_wildcard(&abc));
	dns_name wild = name("*.b.c.");
	assert_true(dns_name_is_wildcard(&wild));
	assert_int_equal(dns_name_labels(&wild), 3);
	assert_int_equal(dns_name_rrsig_labels(&wild), 2);
	/* Only a leftmost label of exactly "*" counts. */
	dns_name mid = name("a.*.c.");
	assert_false(dns_name_is_wildcard(&mid));
	assert_int_equal(dns_name_rrsig_labels(&mid), 3);
	dns_name star2 = name("*a.c.");
	assert_false(dns_name_is_wildcard(&star2));
	dns_name star = name("*.");
	assert_int_equal(dns_name_rrsig_labels(&star), 0);
}

/* RFC 4034 §6.1: the example names in canonical order. */
static const char *rfc_order[] = {
	"example.", "a.example.", "yljkjljk.a.example.", "Z.a.example.",
	"zABC.a.EXAMPLE.", "z.example.", "\\001.z.example.", "*.z.example.",
	"\\200.z.example.",
};
#define RFC_N (sizeof(rfc_order) / sizeof(rfc_order[0]))

static int cmp_names(const void *a, const void *b)
{
	return dns_name_compare(a, b);
}

static void test_canonical_order(void **state)
{
	(void)state;
	dns_name v[RFC_N];
	/* A fixed shuffle, then sort. */
	static const int perm[RFC_N] = {8, 3, 0, 6, 1, 7, 4, 2, 5};
	for (size_t i = 0; i < RFC_N; i++)
		v[i] = name(rfc_order[perm[i]]);
	qsort(v, RFC_N, sizeof(v[0]), cmp_names);
	for (size_t i = 0; i < RFC_N; i++) {
		dns_name want = name(rfc_order[i]);
		assert_int_equal(v[i].len, want.len);
		assert_memory_equal(v[i].wire, want.wire, want.len);
	}
	for (size_t i = 0; i < RFC_N; i++) {
		for (size_t j = 0; j < RFC_N; j++) {
			dns_name a = name(rfc_order[i]), b = name(rfc_order[j]);
			int r = dns_name_compare(&a, &b);
			if ((i < j && r >= 0) || (i > j && r <= 0) || (i == j && r != 0))
				fail_msg("%s vs %s gave %d", rfc_order[i], rfc_order[j], r);
		}
	}
	dns_name a = name("Z.A.example."), b = name("z.a.EXAMPLE.");
	assert_int_equal(dns_name_compare(&a, &b), 0);
	assert_true(dns_name_equal(&a, &b));
	dns_name c = name("z.b.example.");
	assert_false(dns_name_equal(&a, &c));
	dns_name root = name(".");
	assert_true(dns_name_compare(&root, &a) < 0);
}

static void test_ancestry(void **state)
{
	(void)state;
	dns_name apex = name("Example.");
	dns_name below = name("a.b.EXAMPLE.");
	dns_name same = name("example.");
	dns_name other = name("bexample.");
	dns_name root = name(".");
	dns_name top = name("com.");

	assert_true(dns_name_is_at_or_below(&below, &apex));
	assert_true(dns_name_is_at_or_below(&same, &apex));
	assert_false(dns_name_is_at_or_below(&other, &apex));
	assert_false(dns_name_is_at_or_below(&apex, &below));
	assert_true(dns_name_is_at_or_below(&apex, &root));
	assert_true(dns_name_is_at_or_below(&root, &root));
	assert_false(dns_name_is_at_or_below(&top, &apex));

	dns_name p;
	assert_int_equal(dns_name_parent(&below, &p), SIGNET_OK);
	assert_str_of(&p, "b.EXAMPLE.");
	assert_int_equal(dns_name_parent(&p, &p), SIGNET_OK);   /* in place */
	assert_str_of(&p, "EXAMPLE.");
	assert_int_equal(dns_name_parent(&p, &p), SIGNET_OK);
	assert_str_of(&p, ".");
	assert_int_equal(dns_name_parent(&p, &p), SIGNET_EINVAL);

	dns_name s;
	assert_int_equal(dns_name_suffix(&below, 3, &s), SIGNET_OK);
	assert_str_of(&s, "a.b.EXAMPLE.");
	assert_int_equal(dns_name_suffix(&below, 1, &s), SIGNET_OK);
	assert_str_of(&s, "EXAMPLE.");
	assert_int_equal(dns_name_suffix(&below, 0, &s), SIGNET_OK);
	assert_str_of(&s, ".");
	assert_int_equal(dns_name_suffix(&below, 4, &s), SIGNET_EINVAL);
}

static void test_malformed_struct(void **state)
{
	(void)state;
	/* A hand-filled struct whose label runs past len is refused by every
	 * function instead of being read past its end. */
	dns_name bad;
	memset(&bad, 0, sizeof(bad));
	bad.len = 3;
	bad.wire[0] = 60;
	char buf[DNS_NAME_STR_MAX];
	assert_int_equal(dns_name_to_str(&bad, buf, sizeof(buf)), SIGNET_EINVAL);
	assert_int_equal(dns_name_labels(&bad), 0);
	dns_name out;
	assert_int_equal(dns_name_parent(&bad, &out), SIGNET_EINVAL);
	dns_name good = name("a.");
	assert_true(dns_name_compare(&bad, &good) < 0);
	assert_false(dns_name_is_at_or_below(&bad, &good));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_wire_of_text),
		cmocka_unit_test(test_escapes),
		cmocka_unit_test(test_bad_text),
		cmocka_unit_test(test_limits),
		cmocka_unit_test(test_bad_wire),
		cmocka_unit_test(test_case_and_labels),
		cmocka_unit_test(test_canonical_order),
		cmocka_unit_test(test_ancestry),
		cmocka_unit_test(test_malformed_struct),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
