/* test_zone_roles.c -- dns_zone_roles and dns_zone_owners agree, on many random zones in any order and any case, with a plain reference written from the rules (RFC 4035 §2.2). */
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

static uint32_t rnd_state = 4242;
static uint32_t rnd(void)
{
	rnd_state = rnd_state * 1103515245u + 12345u;
	return rnd_state >> 8;
}

/* A name of 0..3 labels from a small alphabet (so names repeat, nest and
 * differ only in case) under base. */
static void random_name(dns_name *out, const char *base)
{
	static const char *const labels[] = {"a", "A", "b", "ns", "NS", "x-1", "*", "c"};
	char text[256] = "";
	unsigned n = rnd() % 4;
	for (unsigned i = 0; i < n; i++) {
		strcat(text, labels[rnd() % 8]);
		strcat(text, ".");
	}
	strcat(text, base);
	assert_int_equal(dns_name_from_str(out, text), SIGNET_OK);
}

/* The rules, one set at a time: strict ancestors (below the apex) and the
 * name itself looked up among the NS owners by walking parents. */
static bool is_cut(const dns_zone *z, const dns_name *n)
{
	if (dns_name_equal(n, &z->apex) || !dns_name_is_at_or_below(n, &z->apex))
		return false;
	for (size_t i = 0; i < z->count; i++)
		if (z->sets[i].type == DNS_T_NS && dns_name_equal(&z->sets[i].owner, n))
			return true;
	return false;
}

static dns_set_role reference_role(const dns_zone *z, const dns_rrset *s)
{
	if (!dns_name_is_at_or_below(&s->owner, &z->apex))
		return DNS_SET_OUTSIDE;
	dns_name cur = s->owner;
	while (!dns_name_equal(&cur, &z->apex)) {
		dns_name up;
		assert_int_equal(dns_name_parent(&cur, &up), SIGNET_OK);
		cur = up;
		if (is_cut(z, &cur))
			return DNS_SET_GLUE;
	}
	if (dns_name_equal(&s->owner, &z->apex) || s->type == DNS_T_DS)
		return DNS_SET_SIGN;
	if (is_cut(z, &s->owner))
		return s->type == DNS_T_NS ? DNS_SET_DELEGATION : DNS_SET_GLUE;
	return DNS_SET_SIGN;
}

static const dns_zone *sort_zone;
static int cmp_index(const void *pa, const void *pb)
{
	size_t a = *(const size_t *)pa, b = *(const size_t *)pb;
	int c = dns_name_compare(&sort_zone->sets[a].owner, &sort_zone->sets[b].owner);
	return c != 0 ? c : (a > b) - (a < b);
}

/* A random zone: sets in any order, or sorted with a few appended at the
 * end as sign-zone makes them. */
static void random_zone(dns_zone *z, size_t n)
{
	static const uint16_t types[] = {DNS_T_A, DNS_T_NS, DNS_T_DS, DNS_T_MX, DNS_T_TXT,
					 DNS_T_NS, DNS_T_AAAA};
	memset(z, 0, sizeof(*z));
	assert_int_equal(dns_name_from_str(&z->apex, "Ex.test."), SIGNET_OK);
	z->sets = calloc(n + 1, sizeof(*z->sets));
	assert_non_null(z->sets);
	z->cap = n + 1;
	dns_rrset_init(&z->sets[z->count++], &z->apex, DNS_T_SOA, DNS_CLASS_IN, 60);
	for (size_t i = 1; i <= n; i++) {
		dns_name o;
		if (rnd() % 10 == 0)
			random_name(&o, rnd() % 2 ? "test." : "other.");
		else
			random_name(&o, rnd() % 2 ? "ex.test." : "EX.TEST.");
		dns_rrset_init(&z->sets[z->count++], &o, types[rnd() % 7], DNS_CLASS_IN, 60);
	}
	if (rnd() % 2) {
		size_t *idx = malloc(z->count * sizeof(*idx));
		dns_rrset *sorted = malloc(z->count * sizeof(*sorted));
		assert_non_null(idx);
		assert_non_null(sorted);
		for (size_t i = 0; i < z->count; i++)
			idx[i] = i;
		sort_zone = z;
		size_t tail = rnd() % 4;   /* a tail left unsorted */
		size_t keep = tail < z->count ? z->count - tail : z->count;
		qsort(idx, keep, sizeof(*idx), cmp_index);
		for (size_t i = 0; i < z->count; i++)
			sorted[i] = z->sets[idx[i]];
		memcpy(z->sets, sorted, z->count * sizeof(*sorted));
		free(idx);
		free(sorted);
	}
}

static void test_roles_match_reference(void **state)
{
	(void)state;
	size_t seen[5] = {0};
	for (int round = 0; round < 300; round++) {
		dns_zone z;
		random_zone(&z, 1 + rnd() % 60);
		dns_set_role *roles = calloc(z.count, sizeof(*roles));
		assert_non_null(roles);
		assert_int_equal(dns_zone_roles(&z, roles), SIGNET_OK);
		for (size_t i = 0; i < z.count; i++) {
			dns_set_role want = reference_role(&z, &z.sets[i]);
			if (roles[i] != want) {
				char name[DNS_NAME_STR_MAX];
				assert_int_equal(dns_name_to_str(&z.sets[i].owner, name, sizeof(name)),
						 SIGNET_OK);
				fail_msg("%s type %u: role %d, want %d", name, z.sets[i].type, roles[i],
					 want);
			}
			seen[want]++;
		}
		free(roles);
		dns_zone_free(&z);
	}
	/* Every role came up, so every rule was compared. */
	for (int r = DNS_SET_SIGN; r <= DNS_SET_OUTSIDE; r++)
		assert_true(seen[r] > 10);
}

/* Owners: the signed and delegation sets' owners in canonical order, one
 * per name (first spelling), types in the order the sets come, compared
 * with a stable sort by dns_name_compare. */
static void test_owners_match_reference(void **state)
{
	(void)state;
	for (int round = 0; round < 300; round++) {
		dns_zone z;
		random_zone(&z, 1 + rnd() % 60);
		dns_set_role *roles = calloc(z.count, sizeof(*roles));
		size_t *idx = malloc(z.count * sizeof(*idx));
		assert_non_null(roles);
		assert_non_null(idx);
		assert_int_equal(dns_zone_roles(&z, roles), SIGNET_OK);
		size_t m = 0;
		for (size_t i = 0; i < z.count; i++)
			if (roles[i] == DNS_SET_SIGN || roles[i] == DNS_SET_DELEGATION)
				idx[m++] = i;
		sort_zone = &z;
		qsort(idx, m, sizeof(*idx), cmp_index);

		dns_owner *owners = NULL;
		size_t n = 0;
		assert_int_equal(dns_zone_owners(&z, roles, &owners, &n), SIGNET_OK);
		size_t o = 0, t = 0;
		for (size_t k = 0; k < m; k++) {
			const dns_rrset *s = &z.sets[idx[k]];
			if (k > 0 && !dns_name_equal(&z.sets[idx[k - 1]].owner, &s->owner)) {
				assert_int_equal(t, owners[o].ntypes);
				o++;
				t = 0;
			}
			assert_true(o < n);
			if (t == 0) {
				/* the first spelling, octet for octet */
				assert_int_equal(owners[o].name->len, s->owner.len);
				assert_memory_equal(owners[o].name->wire, s->owner.wire, s->owner.len);
			}
			assert_true(t < owners[o].ntypes);
			assert_int_equal(owners[o].types[t], s->type);
			t++;
		}
		assert_int_equal(m ? o + 1 : 0, n);
		dns_owners_free(owners, n);
		free(idx);
		free(roles);
		dns_zone_free(&z);
	}
}

static void test_bad_arguments(void **state)
{
	(void)state;
	dns_zone z;
	random_zone(&z, 3);
	dns_set_role roles[8];
	dns_owner *owners = NULL;
	size_t n = 0;
	assert_int_equal(dns_zone_roles(NULL, roles), SIGNET_EINVAL);
	assert_int_equal(dns_zone_roles(&z, NULL), SIGNET_EINVAL);
	assert_int_equal(dns_zone_roles(&z, roles), SIGNET_OK);
	assert_int_equal(dns_zone_owners(NULL, roles, &owners, &n), SIGNET_EINVAL);
	assert_int_equal(dns_zone_owners(&z, NULL, &owners, &n), SIGNET_EINVAL);
	assert_int_equal(dns_zone_owners(&z, roles, NULL, &n), SIGNET_EINVAL);
	assert_int_equal(dns_zone_owners(&z, roles, &owners, NULL), SIGNET_EINVAL);
	/* An empty zone has no owners. */
	dns_zone empty = {.apex = z.apex};
	assert_int_equal(dns_zone_roles(&empty, NULL), SIGNET_OK);
	assert_int_equal(dns_zone_owners(&empty, NULL, &owners, &n), SIGNET_OK);
	assert_int_equal(n, 0);
	dns_owners_free(owners, n);
	dns_zone_free(&z);
}

/* The sort key orders names as dns_name_compare does, for random names
 * with odd octets (0, 1, 255, upper case). */
static void test_canonical_key_order(void **state)
{
	(void)state;
	static const uint8_t octets[] = {0, 1, 2, 'a', 'A', 'b', 'z', 'Z', '-', 255};
	for (int i = 0; i < 20000; i++) {
		dns_name n[2];
		for (int k = 0; k < 2; k++) {
			size_t off = 0;
			unsigned labels = rnd() % 4;
			for (unsigned l = 0; l < labels; l++) {
				unsigned len = 1 + rnd() % 3;
				n[k].wire[off++] = (uint8_t)len;
				for (unsigned j = 0; j < len; j++)
					n[k].wire[off++] = octets[rnd() % sizeof(octets)];
			}
			n[k].wire[off++] = 0;
			n[k].len = (uint8_t)off;
		}
		uint8_t ka[DNS_NAME_KEY_MAX], kb[DNS_NAME_KEY_MAX];
		size_t la = dns_name_canonical_key(&n[0], ka), lb = dns_name_canonical_key(&n[1], kb);
		size_t m = la < lb ? la : lb;
		int c = m ? memcmp(ka, kb, m) : 0;
		if (c == 0)
			c = (la > lb) - (la < lb);
		int want = dns_name_compare(&n[0], &n[1]);
		assert_int_equal(c < 0 ? -1 : c > 0, want < 0 ? -1 : want > 0);
	}
	/* A malformed name has no key. */
	dns_name bad = {.len = 3, .wire = {5, 'a', 0}};
	uint8_t k[DNS_NAME_KEY_MAX];
	assert_int_equal(dns_name_canonical_key(&bad, k), 0);
	assert_int_equal(dns_name_canonical_key(NULL, k), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roles_match_reference),
		cmocka_unit_test(test_owners_match_reference),
		cmocka_unit_test(test_bad_arguments),
		cmocka_unit_test(test_canonical_key_order),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
