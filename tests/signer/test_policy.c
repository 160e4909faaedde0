/* test_policy.c -- the signing policy: defaults and bounds, the window and
 * its jitter (deterministic per RRset, spread across RRsets), explicit
 * windows, and the canonical digest behind the jitter. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "signer/signer.h"

#define DAY 86400u
#define NOW ((int64_t)1767225600 + 12345)   /* 2026-01-01 plus a bit */

static void test_defaults_and_bounds(void **state)
{
	(void)state;
	signer_policy p;
	signer_policy_defaults(&p);
	char msg[128];
	assert_int_equal(signer_policy_check(&p, msg, sizeof(msg)), SIGNET_OK);
	assert_int_equal(p.validity, 14 * DAY);
	assert_int_equal(p.backdate, 3600);
	assert_int_equal(p.algorithm, 13);
	assert_false(signer_policy_verifies(&p));
	p.algorithm = 8;
	assert_true(signer_policy_verifies(&p));
	p.verify = SIGNER_VERIFY_OFF;
	assert_false(signer_policy_verifies(&p));
	p.algorithm = 15;
	p.verify = SIGNER_VERIFY_ON;
	assert_true(signer_policy_verifies(&p));

#define BAD(stmt, field) do { \
		signer_policy_defaults(&p); \
		stmt; \
		assert_int_equal(signer_policy_check(&p, msg, sizeof(msg)), SIGNET_EINVAL); \
		assert_non_null(strstr(msg, field)); \
	} while (0)
	BAD(p.algorithm = 5, "algorithm");
	BAD((p.algorithm = 8, p.rsa_bits = 1024), "rsa_bits");
	BAD(p.validity = 60, "validity");
	BAD(p.validity = 400 * DAY, "validity");
	BAD(p.backdate = 2 * DAY, "backdate");
	BAD(p.jitter = 8 * DAY, "jitter");
	BAD(p.min_validity = 100 * DAY, "min_validity");
	BAD(p.min_validity = 10, "min_validity");
	BAD((p.max_validity = 400 * DAY), "max_validity");
	BAD(p.denial = 7, "denial");
	BAD(p.nsec3_iterations = 101, "iterations");
	BAD(p.dnskey_ttl = 0, "dnskey_ttl");
	BAD(p.keyset_period = 3600, "keyset_period");
	BAD(p.verify = 9, "verify");
#undef BAD
}

static void make_set(dns_rrset *s, const char *owner, uint8_t last)
{
	dns_name n;
	assert_int_equal(dns_name_from_str(&n, owner), SIGNET_OK);
	dns_rrset_init(s, &n, DNS_T_A, DNS_CLASS_IN, 300);
	uint8_t a[4] = {192, 0, 2, last};
	assert_int_equal(dns_rrset_add(s, a, 4), SIGNET_OK);
}

static void test_digest_is_canonical(void **state)
{
	(void)state;
	dns_rrset x, y;
	make_set(&x, "WWW.example.com.", 1);
	uint8_t a2[4] = {192, 0, 2, 9};
	assert_int_equal(dns_rrset_add(&x, a2, 4), SIGNET_OK);
	/* same data, other case and order */
	make_set(&y, "www.EXAMPLE.com.", 9);
	uint8_t a1[4] = {192, 0, 2, 1};
	assert_int_equal(dns_rrset_add(&y, a1, 4), SIGNET_OK);
	uint8_t dx[32], dy[32];
	assert_int_equal(signer_rrset_digest(&x, dx), SIGNET_OK);
	assert_int_equal(signer_rrset_digest(&y, dy), SIGNET_OK);
	assert_memory_equal(dx, dy, 32);
	/* the original set is not reordered or lower-cased */
	assert_int_equal(x.owner.wire[1], 'W');
	dns_rrset_clear(&y);
	make_set(&y, "www.example.com.", 2);
	assert_int_equal(signer_rrset_digest(&y, dy), SIGNET_OK);
	assert_memory_not_equal(dx, dy, 32);
	dns_rrset_clear(&x);
	dns_rrset_clear(&y);
}

static void test_window(void **state)
{
	(void)state;
	signer_policy p;
	signer_policy_defaults(&p);
	uint32_t bucket = signer_policy_bucket(&p);
	assert_int_equal(bucket, (14 * DAY / 4) / 3600 * 3600);

	dns_rrset s;
	make_set(&s, "www.example.com.", 1);
	uint8_t d[32];
	assert_int_equal(signer_rrset_digest(&s, d), SIGNET_OK);
	dns_rrset_clear(&s);

	uint32_t inc, exp, inc2, exp2;
	signer_policy_window(&p, d, NOW, &inc, &exp);
	/* inception back-dated by an hour from the bucket start, not later
	 * than now minus the backdate */
	assert_true((int64_t)inc <= NOW - 3600);
	assert_true((int64_t)inc > NOW - 3600 - bucket);
	assert_int_equal((inc + 3600) % bucket, 0);
	/* expiration: validity minus a jitter below p.jitter */
	uint32_t nominal = inc + 3600 + p.validity;
	assert_true(exp <= nominal && exp > nominal - p.jitter);

	/* deterministic: same data, any time within the bucket, same window */
	int64_t later = (int64_t)inc + 3600 + bucket - 1;
	signer_policy_window(&p, d, later, &inc2, &exp2);
	assert_int_equal(inc, inc2);
	assert_int_equal(exp, exp2);
	/* next bucket: a new window */
	signer_policy_window(&p, d, later + 1, &inc2, &exp2);
	assert_int_equal(inc2, inc + bucket);

	/* jitter spreads expirations over different RRsets */
	uint32_t lo = UINT32_MAX, hi = 0;
	for (int i = 0; i < 64; i++) {
		make_set(&s, "www.example.com.", (uint8_t)i);
		assert_int_equal(signer_rrset_digest(&s, d), SIGNET_OK);
		dns_rrset_clear(&s);
		signer_policy_window(&p, d, NOW, &inc2, &exp2);
		assert_int_equal(inc2, inc);
		if (exp2 < lo)
			lo = exp2;
		if (exp2 > hi)
			hi = exp2;
	}
	assert_true(hi - lo > p.jitter / 4);
	assert_true(hi - lo < p.jitter);

	/* without jitter every RRset expires together */
	p.jitter = 0;
	signer_policy_window(&p, d, NOW, &inc2, &exp2);
	assert_int_equal(exp2, nominal);
}

static void test_explicit_window(void **state)
{
	(void)state;
	signer_policy p;
	signer_policy_defaults(&p);
	char msg[128];
	uint32_t now = (uint32_t)NOW;
	assert_int_equal(signer_policy_check_window(&p, NOW, now - 3600, now + 7 * DAY, msg,
						    sizeof(msg)), SIGNET_OK);
	/* pre-signing for the future within max_validity is fine */
	assert_int_equal(signer_policy_check_window(&p, NOW, now + DAY, now + 30 * DAY, msg,
						    sizeof(msg)), SIGNET_OK);
	struct {
		uint32_t inc, exp;
		const char *needle;
	} bad[] = {
		{now + 10, now, "after inception"},
		{now - 10 * DAY, now - 3600, "in the past"},
		{now - 3600, now + 3600, "min_validity"},
		{now - 3600, now + 91 * DAY, "max_validity"},
		{now + 80 * DAY, now + 95 * DAY, "further ahead"},
		{now - 100 * DAY, now + 1 * DAY, "max_validity"},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		msg[0] = '\0';
		assert_int_equal(signer_policy_check_window(&p, NOW, bad[i].inc, bad[i].exp, msg,
							    sizeof(msg)), SIGNET_ERANGE);
		if (!strstr(msg, bad[i].needle) || strncmp(msg, "window:", 7) != 0)
			fail_msg("case %zu: '%s'", i, msg);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_defaults_and_bounds),
		cmocka_unit_test(test_digest_is_canonical),
		cmocka_unit_test(test_window),
		cmocka_unit_test(test_explicit_window),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
