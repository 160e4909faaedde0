/* test_rollover_plan.c -- the rollover parts without a daemon: policy
 * timing checks, the test clock, states from schedules, what a period
 * publishes, the planner's successors, and the refusals of the admin
 * actions (add-ksk, ds-seen, foreign ZSKs). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "signer/signer.h"
#include "tests/lib/software_ksk.h"
#include "tests/lib/tmpdir.h"

#define DAY 86400

static char dir[64];

static int setup(void **state)
{
	(void)state;
	return test_tmpdir_make("signet-roll", dir, sizeof(dir));
}

static int teardown(void **state)
{
	(void)state;
	return test_tmpdir_remove(dir);
}

#define BAD(stmt, field)                                                         \
	do {                                                                     \
		signer_policy p;                                                 \
		signer_policy_defaults(&p);                                      \
		stmt;                                                            \
		char msg[256] = "";                                              \
		assert_int_equal(signer_policy_check(&p, msg, sizeof(msg)), SIGNET_EINVAL); \
		assert_non_null(strstr(msg, field));                             \
	} while (0)

static void test_policy_timing(void **state)
{
	(void)state;
	signer_policy d;
	signer_policy_defaults(&d);
	assert_int_equal(signer_policy_check(&d, NULL, 0), SIGNET_OK);
	assert_int_equal(signer_policy_ipub(&d), 3 * 3600);
	assert_int_equal(signer_policy_iret(&d), 14 * DAY + DAY + 2 * 3600);
	assert_int_equal(signer_policy_ids(&d), DAY + 2 * 3600);
	assert_int_equal(signer_policy_isig(&d), DAY + 2 * 3600);
	BAD(p.zsk_lifetime = 15 * DAY, "zsk_lifetime");
	BAD(p.keyset_period = 20 * DAY, "keyset_period");
	BAD(p.max_zone_ttl = 7 * DAY; p.validity = 7 * DAY; p.jitter = 0, "max_zone_ttl");
	BAD(p.refresh = 10 * DAY, "refresh");
	BAD(p.refresh = 0, "refresh");
	BAD(p.ds_ttl = 0, "ds_ttl");
	BAD(p.max_zone_ttl = 8 * DAY, "max_zone_ttl");
	BAD(p.propagation = 8 * DAY, "propagation");
	BAD(p.retire_margin = 31 * DAY, "retire_margin");
	BAD(p.publish_margin = 31 * DAY, "publish_margin");
	BAD(p.ksk_lifetime = 4000 * DAY, "ksk_lifetime");
	BAD(p.ksk_roll = 0, "ksk_rollover");
	BAD(p.dnskey_ttl = 7 * DAY, "dnskey_ttl");
}

static void test_clock(void **state)
{
	(void)state;
	/* not enabled: the system clock, and it cannot be set */
	assert_false(signer_clock_settable());
	assert_int_equal(signer_clock_set(1000), SIGNET_EPERM);
	int64_t now = signer_clock_now();
	assert_true(now > 1700000000);
	assert_int_equal(signer_clock_enable_test(), SIGNET_OK); /* needs SIGNET_TEST_CLOCK=ON */
	assert_int_equal(signer_clock_set(-1), SIGNET_EINVAL);
	assert_int_equal(signer_clock_set(2000000000), SIGNET_OK);
	assert_int_equal(signer_clock_now(), 2000000000);
	assert_int_equal(signer_clock_set(0), SIGNET_OK);
	assert_true(signer_clock_now() >= now);
}

static signer_key key(const dns_name *zone, const char *role, uint8_t seed, bool sep)
{
	signer_key k;
	memset(&k, 0, sizeof(k));
	k.zone = *zone;
	snprintf(k.role, sizeof(k.role), "%s", role);
	k.id[0] = seed;
	k.id_len = strcmp(role, "zsk") == 0 ? 1 : 0;
	k.alg = DNS_ALG_ED25519;
	sg_buf rd = SG_BUF_INIT;
	uint8_t pub[32];
	memset(pub, seed, sizeof(pub));
	assert_int_equal(dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE | (sep ? DNS_DNSKEY_FLAG_SEP : 0),
					  DNS_ALG_ED25519, pub, sizeof(pub), &rd), SIGNET_OK);
	memcpy(k.dnskey, rd.data, rd.len);
	k.dnskey_len = rd.len;
	assert_int_equal(dns_key_tag(rd.data, rd.len, &k.key_tag), SIGNET_OK);
	sg_buf_free(&rd);
	return k;
}

static void test_state_at(void **state)
{
	(void)state;
	dns_name z;
	assert_int_equal(dns_name_from_str(&z, "example.test."), SIGNET_OK);
	signer_key k = key(&z, "zsk", 1, false);
	k.state = SIGNER_KEY_GENERATED;
	k.t_publish = 100;
	k.t_active = 200;
	k.t_retire = 300;
	k.t_remove = 400;
	/* a schedule not yet in force: the stored state */
	assert_int_equal(signer_key_state_at(&k, 250), SIGNER_KEY_GENERATED);
	k.committed = true;
	assert_int_equal(signer_key_state_at(&k, 50), SIGNER_KEY_GENERATED);
	assert_int_equal(signer_key_state_at(&k, 100), SIGNER_KEY_PUBLISHED);
	assert_int_equal(signer_key_state_at(&k, 200), SIGNER_KEY_ACTIVE);
	assert_int_equal(signer_key_state_at(&k, 300), SIGNER_KEY_RETIRED);
	assert_int_equal(signer_key_state_at(&k, 400), SIGNER_KEY_REMOVED);
	/* signatures first (algorithm rollover): active before published */
	k.t_active = 50;
	assert_int_equal(signer_key_state_at(&k, 60), SIGNER_KEY_ACTIVE);
	signer_key s = key(&z, "ksk", 2, true);
	s.committed = true;
	s.t_publish = 100;
	s.t_active = 150;
	s.t_retire = 300;
	s.t_remove = 400;
	assert_int_equal(signer_key_state_at(&s, 200), SIGNER_KEY_PUBLISHED);  /* never active */
	assert_int_equal(signer_key_state_at(&s, 350), SIGNER_KEY_RETIRED);
	assert_int_equal(signer_key_state_at(&s, 400), SIGNER_KEY_REMOVED);
}

static void test_period(void **state)
{
	(void)state;
	dns_name z;
	assert_int_equal(dns_name_from_str(&z, "example.test."), SIGNET_OK);
	signer_key k[4];
	k[0] = key(&z, "ksk", 1, true);
	k[0].p_publish = k[0].p_active = 1000;
	k[1] = key(&z, "zsk", 2, false);
	k[1].p_publish = k[1].p_active = 1000;
	k[1].p_remove = 5000;
	k[2] = key(&z, "zsk", 3, false);  /* successor, published mid-period */
	k[2].p_publish = 2500;
	k[2].p_active = 3000;
	dns_rrset dk, cds, cdk;
	dns_rrset_init(&dk, &z, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
	dns_rrset_init(&cds, &z, DNS_T_CDS, DNS_CLASS_IN, 3600);
	dns_rrset_init(&cdk, &z, DNS_T_CDNSKEY, DNS_CLASS_IN, 3600);
	assert_int_equal(signer_rollover_period(k, 3, 2000, 3000, false, &dk, &cds, &cdk),
			 SIGNET_OK);
	assert_int_equal(dk.count, 3);
	assert_int_equal(cds.count, 0);  /* one KSK ever: no CDS */
	dns_rrset_clear(&dk);
	dns_rrset_clear(&cds);
	dns_rrset_clear(&cdk);
	/* after removal the old ZSK is gone */
	dns_rrset_init(&dk, &z, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
	dns_rrset_init(&cds, &z, DNS_T_CDS, DNS_CLASS_IN, 3600);
	dns_rrset_init(&cdk, &z, DNS_T_CDNSKEY, DNS_CLASS_IN, 3600);
	assert_int_equal(signer_rollover_period(k, 3, 5000, 6000, false, &dk, &cds, &cdk),
			 SIGNET_OK);
	assert_int_equal(dk.count, 2);
	dns_rrset_clear(&dk);
	/* a KSK rollover: CDS from the new key's DS time; a new algorithm's
	 * key only from a period starting after its publication */
	k[3] = key(&z, "ksk", 4, true);
	k[3].alg = DNS_ALG_ED25519;
	k[3].p_publish = 2500;
	k[3].p_active = 4000;
	k[0].p_retire = 4000;
	dns_rrset_clear(&cds);
	dns_rrset_clear(&cdk);
	dns_rrset_init(&dk, &z, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
	dns_rrset_init(&cds, &z, DNS_T_CDS, DNS_CLASS_IN, 3600);
	dns_rrset_init(&cdk, &z, DNS_T_CDNSKEY, DNS_CLASS_IN, 3600);
	assert_int_equal(signer_rollover_period(k, 4, 4000, 5000, false, &dk, &cds, &cdk),
			 SIGNET_OK);
	assert_int_equal(cds.count, 1);
	assert_int_equal(cdk.count, 1);
	assert_memory_equal(cdk.rr[0].data, k[3].dnskey, k[3].dnskey_len);
	dns_rrset_clear(&dk);
	dns_rrset_clear(&cds);
	dns_rrset_clear(&cdk);
	/* the delete form */
	dns_rrset_init(&dk, &z, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
	dns_rrset_init(&cds, &z, DNS_T_CDS, DNS_CLASS_IN, 3600);
	dns_rrset_init(&cdk, &z, DNS_T_CDNSKEY, DNS_CLASS_IN, 3600);
	assert_int_equal(signer_rollover_period(k, 4, 4000, 5000, true, &dk, &cds, &cdk),
			 SIGNET_OK);
	assert_int_equal(cds.count, 1);
	assert_int_equal(cds.rr[0].len, 5);  /* 0 0 0 00 */
	dns_rrset_clear(&dk);
	dns_rrset_clear(&cds);
	dns_rrset_clear(&cdk);
	assert_int_equal(signer_rollover_period(k, 4, 5, 5, false, &dk, &cds, &cdk),
			 SIGNET_EINVAL);
}

/* A maker that stores fake ZSKs (no token), counting them. */
static signet_err fake_make(void *arg, const dns_name *zone, uint8_t alg, signer_key *out)
{
	signer_state *st = ((void **)arg)[0];
	unsigned *n = ((void **)arg)[1];
	*out = key(zone, "zsk", (uint8_t)(50 + (*n)++), false);
	out->alg = alg;
	out->state = SIGNER_KEY_GENERATED;
	out->created = signer_clock_now();
	return signer_state_add_key(st, out);
}

static void test_plan_and_actions(void **state)
{
	(void)state;
	assert_int_equal(signer_clock_enable_test(), SIGNET_OK); /* needs SIGNET_TEST_CLOCK=ON */
	int64_t t0 = 1800000000;
	assert_int_equal(signer_clock_set(t0), SIGNET_OK);
	signer_state *st = NULL;
	assert_int_equal(signer_state_open(dir, &st), SIGNET_OK);
	dns_name z;
	assert_int_equal(dns_name_from_str(&z, "plan.test."), SIGNET_OK);
	signer_policy p;
	signer_policy_defaults(&p);
	p.algorithm = DNS_ALG_ED25519;
	signer_key ksk = key(&z, "ksk", 1, true);
	ksk.state = SIGNER_KEY_PUBLISHED;
	ksk.created = t0;
	assert_int_equal(signer_state_add_zone(st, &z, &p, &ksk, 1), SIGNET_OK);
	/* no maker and no ZSK: nothing to plan with */
	assert_int_equal(signer_rollover_plan(st, &z, t0, t0 + 30 * DAY, NULL, NULL),
			 SIGNET_ESTATE);
	assert_int_equal(signer_rollover_plan(st, &z, t0, t0 - 1, NULL, NULL), SIGNET_EINVAL);
	unsigned made = 0;
	void *arg[2] = {st, &made};
	/* a year ahead: successors every zsk_lifetime (90 days) */
	assert_int_equal(signer_rollover_plan(st, &z, t0, t0 + 365 * DAY, fake_make, arg),
			 SIGNET_OK);
	assert_int_equal(made, 5);
	signer_key *keys = NULL;
	size_t n = 0;
	assert_int_equal(signer_state_list_keys(st, &z, 0, &keys, &n), SIGNET_OK);
	int64_t prev_act = 0;
	uint32_t ipub = signer_policy_ipub(&p), iret = signer_policy_iret(&p);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(keys[i].role, "zsk") != 0)
			continue;
		assert_false(keys[i].committed);
		if (prev_act) {
			assert_int_equal(keys[i].p_active - prev_act, p.zsk_lifetime);
			assert_int_equal(keys[i].p_active - keys[i].p_publish, ipub);
		}
		if (keys[i].p_retire)
			assert_int_equal(keys[i].p_remove - keys[i].p_retire, iret);
		prev_act = keys[i].p_active;
	}
	free(keys);
	/* the plan is not in force until a bundle: no ZSK signs yet */
	assert_int_equal(signer_state_list_keys(st, &z, SIGNER_KEY_ACTIVE, &keys, &n), SIGNET_OK);
	assert_int_equal(n, 0);
	free(keys);
	dns_rrset none;
	dns_rrset_init(&none, &z, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
	assert_int_equal(signer_state_save_bundle(st, &z, 1, (const uint8_t *)"x", 1, &none),
			 SIGNET_OK);
	assert_int_equal(signer_state_list_keys(st, &z, SIGNER_KEY_ACTIVE, &keys, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	free(keys);
	/* 91 days later the second ZSK signs */
	assert_int_equal(signer_clock_set(t0 + 91 * DAY), SIGNET_OK);
	assert_int_equal(signer_state_list_keys(st, &z, SIGNER_KEY_ACTIVE, &keys, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	assert_int_equal(keys[0].id[0], 51);
	free(keys);
	assert_int_equal(signer_state_list_keys(st, &z, SIGNER_KEY_RETIRED, &keys, &n), SIGNET_OK);
	assert_int_equal(n, 1);
	free(keys);

	/* add-ksk refusals */
	int64_t now = t0 + 91 * DAY;
	signer_key zk = key(&z, "zsk", 9, false);
	assert_int_equal(signer_rollover_add_ksk(st, &z, zk.dnskey, zk.dnskey_len, now),
			 SIGNET_EINVAL);  /* no SEP flag */
	assert_int_equal(signer_rollover_add_ksk(st, &z, ksk.dnskey, 3, now), SIGNET_EINVAL);
	assert_int_equal(signer_rollover_add_ksk(st, &z, ksk.dnskey, ksk.dnskey_len, now),
			 SIGNET_EEXIST);
	/* ds-seen with no rollover running */
	assert_int_equal(signer_rollover_ds_seen(st, &z, ksk.dnskey, ksk.dnskey_len, now),
			 SIGNET_ESTATE);
	assert_int_equal(signer_rollover_ds_seen(st, &z, zk.dnskey, zk.dnskey_len, now),
			 SIGNET_ENOTFOUND);
	signer_key k2 = key(&z, "ksk", 2, true), k3 = key(&z, "ksk", 3, true);
	assert_int_equal(signer_rollover_add_ksk(st, &z, k2.dnskey, k2.dnskey_len, now),
			 SIGNET_OK);
	assert_int_equal(signer_rollover_add_ksk(st, &z, k3.dnskey, k3.dnskey_len, now),
			 SIGNET_ESTATE);  /* one at a time */
	/* the new KSK is not in force yet: its DS cannot have been seen */
	assert_int_equal(signer_rollover_ds_seen(st, &z, k2.dnskey, k2.dnskey_len, now),
			 SIGNET_ESTATE);
	/* foreign ZSKs */
	assert_int_equal(signer_rollover_foreign_zsk(st, &z, ksk.dnskey, ksk.dnskey_len, false,
						     now), SIGNET_EINVAL);  /* a KSK */
	assert_int_equal(signer_rollover_foreign_zsk(st, &z, zk.dnskey, zk.dnskey_len, true,
						     now), SIGNET_ENOTFOUND);
	assert_int_equal(signer_rollover_foreign_zsk(st, &z, zk.dnskey, zk.dnskey_len, false,
						     now), SIGNET_OK);
	assert_int_equal(signer_rollover_foreign_zsk(st, &z, zk.dnskey, zk.dnskey_len, false,
						     now), SIGNET_EEXIST);
	assert_int_equal(signer_rollover_foreign_zsk(st, &z, zk.dnskey, zk.dnskey_len, true,
						     now), SIGNET_OK);
	dns_name other;
	assert_int_equal(dns_name_from_str(&other, "other.test."), SIGNET_OK);
	assert_int_equal(signer_rollover_foreign_zsk(st, &other, zk.dnskey, zk.dnskey_len, false,
						     now), SIGNET_ENOTFOUND);
	assert_int_equal(signer_state_set_zone_insecure(st, &other, true), SIGNET_ENOTFOUND);
	bool on = false;
	assert_int_equal(signer_state_set_zone_insecure(st, &z, true), SIGNET_OK);
	assert_int_equal(signer_state_zone_insecure(st, &z, &on), SIGNET_OK);
	assert_true(on);
	signer_state_close(st);
	assert_int_equal(signer_clock_set(0), SIGNET_OK);
}

/* What a rollover waits for at the parent: the KSK ds-seen accepts, and
 * the older KSKs whose DS must be gone (retired ones only). */
static void test_ds_wait(void **state)
{
	(void)state;
	signer_key k[3];
	memset(k, 0, sizeof(k));
	for (int i = 0; i < 3; i++) {
		memcpy(k[i].role, i == 2 ? "zsk" : "ksk", 4);
		k[i].committed = true;
		k[i].key_tag = (uint16_t)(100 + i);
	}
	k[0].t_publish = k[0].t_active = 1000;          /* the old KSK */
	k[1].t_publish = 5000;                          /* double-KSK: new */
	k[1].t_active = 9000;
	k[0].t_retire = 9000;                           /* its DS no longer wanted */
	k[2].t_publish = k[2].t_active = 1000;          /* a ZSK never counts */
	size_t w = 99;
	int64_t since = 0;
	bool gone[3] = {true, true, true};
	/* before the new KSK is in every cache: nothing */
	assert_int_equal(signer_rollover_ds_wait(k, 3, 8999, &w, &since, gone), SIGNET_ENOTFOUND);
	assert_false(gone[0] || gone[1] || gone[2]);
	assert_int_equal(signer_rollover_ds_wait(k, 3, 9000, &w, &since, gone), SIGNET_OK);
	assert_int_equal(w, 1);
	assert_int_equal(since, 9000);
	assert_true(gone[0]);
	assert_false(gone[1] || gone[2]);
	/* double-DS: the old DS stays wanted until after ds-seen */
	k[0].t_retire = 0;
	assert_int_equal(signer_rollover_ds_wait(k, 3, 9000, &w, &since, gone), SIGNET_OK);
	assert_false(gone[0]);
	/* not committed (its bundle not imported), or already seen: nothing */
	k[1].committed = false;
	assert_int_equal(signer_rollover_ds_wait(k, 3, 9000, &w, &since, NULL), SIGNET_ENOTFOUND);
	k[1].committed = true;
	k[1].ds_seen = 9500;
	assert_int_equal(signer_rollover_ds_wait(k, 3, 9600, &w, &since, NULL), SIGNET_ENOTFOUND);
	k[1].ds_seen = 0;
	/* no older KSK left (the old one removed): nothing */
	k[0].t_remove = 9100;
	assert_int_equal(signer_rollover_ds_wait(k, 3, 9200, &w, &since, NULL), SIGNET_ENOTFOUND);
	/* a zone's only KSK never waits */
	assert_int_equal(signer_rollover_ds_wait(k, 1, 9200, &w, &since, NULL), SIGNET_ENOTFOUND);
	assert_int_equal(signer_rollover_ds_wait(NULL, 1, 9200, &w, &since, NULL), SIGNET_EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_policy_timing),
		cmocka_unit_test(test_clock),
		cmocka_unit_test(test_state_at),
		cmocka_unit_test(test_period),
		cmocka_unit_test(test_plan_and_actions),
		cmocka_unit_test(test_ds_wait),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
