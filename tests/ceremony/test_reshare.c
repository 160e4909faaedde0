/* test_reshare.c -- re-splitting the KSK token PIN when the operators change: 3 operators with M 2 become 4 with M 3. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ceremony/ceremony.h"
#include "tests/lib/ceremony_fixture.h"
#include "tests/lib/p11fault_ctl.h"

#define ZONE "example.com."
#define OPS 4

static const char *const names[OPS] = {"alice", "bob", "carol", "dave"};
static const char *const pws[OPS] = {"alice's long passphrase", "bob's long passphrase",
				     "carol's long passphrase", "dave's long passphrase"};
static cer_fixture cf;
static char old_shares[600], new_shares[600], third_shares[600], fourth_shares[600];

static void fresh(char *out, size_t len, const char *stem)
{
	cfx_fresh(&cf, out, len, stem);
}

static void share_path(const char *d, int who, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.share", d, names[who]);
}

/* A policy of the first count operators, threshold m, signed by signers,
 * adopted. */
static void policy(const char *out, uint64_t serial, size_t count, unsigned m,
		   const int *signers, size_t nsigners)
{
	static const uint8_t algs[] = {13};
	cfx_adopt_policy(&cf, out, serial, count, m, algs, 1, signers, nsigners);
}

static void request(const char *op, const char *zone, const char *param, char *out,
		    size_t len)
{
	const char *params[1] = {param};
	cfx_request(&cf, op, zone, params, param ? 1 : 0, NULL, time(NULL) - 10, time(NULL) + 3600,
		    out, len);
}

/* Execute req with approvals of who and shares of sh from share_dir. */
static signet_err run(const char *req, const int *who, size_t nwho, const int *sh, size_t nsh,
		      const char *share_dir, const char *shares_out, const char *out)
{
	return cfx_run(&cf, req, who, nwho, sh, nsh, share_dir, NULL, shares_out, out);
}

/* Log in with the PIN the shares give and count the keys: the PIN works. */
static signet_err login_with(const char *share_dir, const int *sh, size_t nsh, size_t *keys)
{
	return cfx_token_keys(&cf, share_dir, sh, nsh, true, keys);
}

/* Three operators, M 2: enrolled, policy adopted, token initialised, one
 * KSK in it. Dave enrolls too but is not in the policy yet. */
static int setup(void **state)
{
	(void)state;
	cfx_opts o = {.nops = OPS, .names = names, .pws = pws, .shares_dir = false, .enroll = true};
	if (cfx_create(&cf, &o) != SIGNET_OK)
		return -1;
	snprintf(old_shares, sizeof(old_shares), "%s/old", cf.dir);
	snprintf(new_shares, sizeof(new_shares), "%s/new", cf.dir);
	snprintf(third_shares, sizeof(third_shares), "%s/third", cf.dir);
	snprintf(fourth_shares, sizeof(fourth_shares), "%s/fourth", cf.dir);
	return mkdir(old_shares, 0700) == 0 && mkdir(new_shares, 0700) == 0 &&
			       mkdir(third_shares, 0700) == 0 && mkdir(fourth_shares, 0700) == 0
		       ? 0
		       : -1;
}

static int teardown(void **state)
{
	(void)state;
	cfx_destroy(&cf);
	return 0;
}

static void test_first_split(void **state)
{
	(void)state;
	char pol[700], req[700];
	fresh(pol, sizeof(pol), "policy");
	int ab[] = {0, 1};
	policy(pol, 1, 3, 2, ab, 2);
	cfx_init_token(&cf, 3, old_shares);

	char out[700];
	fresh(out, sizeof(out), "ksk");
	request(CER_OP_CREATE_KSK, ZONE, "algorithm=13", req, sizeof(req));
	cfx_expect(run(req, ab, 2, ab, 2, old_shares, NULL, out), SIGNET_OK, NULL);
	size_t keys = 0;
	int bc[] = {1, 2};
	assert_int_equal(login_with(old_shares, bc, 2, &keys), SIGNET_OK);
	assert_int_equal(keys, 1);
}

/* The policy in force: its serial, threshold and operator count. */
static void expect_policy(uint64_t serial, unsigned m, size_t n)
{
	cer_policy p;
	assert_int_equal(cer_policy_load(cf.cdir, &p, CFX_ERR), SIGNET_OK);
	assert_int_equal(p.serial, serial);
	assert_int_equal(p.threshold, m);
	assert_int_equal(p.count, n);
}

/* Changing the operators takes the old quorum: a new policy signed by the
 * newcomer alone, or by one old operator, or by a quorum of its own
 * operators that is not the old quorum, is refused and changes nothing;
 * signed by the old quorum it is adopted; the old policy cannot come back;
 * and from then on the new threshold counts, before any reshare. */
static void test_change_operators(void **state)
{
	(void)state;
	static const uint8_t algs[] = {13};
	char pol[700], weak[700], old[700];
	expect_policy(1, 2, 3);
	/* 4 operators, M 3, signed by dave (not yet an operator), then by alice
	 * alone: not the old quorum */
	int d[] = {3}, a[] = {0};
	fresh(weak, sizeof(weak), "policy-weak");
	cfx_write_policy(&cf, weak, 2, 4, 3, algs, 1);
	cfx_sign_policy(&cf, weak, d, 1);
	assert_int_not_equal(cer_policy_adopt(cf.cdir, weak, CFX_ERR), SIGNET_OK);
	expect_policy(1, 2, 3);
	fresh(weak, sizeof(weak), "policy-weak");
	cfx_write_policy(&cf, weak, 2, 4, 3, algs, 1);
	cfx_sign_policy(&cf, weak, a, 1);
	assert_int_not_equal(cer_policy_adopt(cf.cdir, weak, CFX_ERR), SIGNET_OK);
	expect_policy(1, 2, 3);
	/* a quorum of its own (carol and dave, M 2 of 4) that is not the
	 * current one (carol alone of alice, bob and carol) */
	int cd[] = {2, 3};
	fresh(weak, sizeof(weak), "policy-weak");
	cfx_write_policy(&cf, weak, 2, 4, 2, algs, 1);
	cfx_sign_policy(&cf, weak, cd, 2);
	cfx_expect(cer_policy_adopt(cf.cdir, weak, CFX_ERR), SIGNET_EQUORUM, "current quorum");
	expect_policy(1, 2, 3);

	/* alice and bob are the old quorum, alice, bob and dave the new one */
	fresh(pol, sizeof(pol), "policy");
	int abd[] = {0, 1, 3};
	policy(pol, 2, 4, 3, abd, 3);
	expect_policy(2, 3, 4);

	/* the old policy, even signed by the quorum now in force, is a
	 * rollback */
	int ab[] = {0, 1};
	fresh(old, sizeof(old), "policy-old");
	cfx_write_policy(&cf, old, 1, 3, 2, algs, 1);
	cfx_sign_policy(&cf, old, abd, 3);
	assert_int_not_equal(cer_policy_adopt(cf.cdir, old, CFX_ERR), SIGNET_OK);
	expect_policy(2, 3, 4);

	/* two approvals were enough before; now they are not, and nothing is
	 * made */
	char req[700], out[700];
	fresh(out, sizeof(out), "ksk");
	request(CER_OP_CREATE_KSK, ZONE, "algorithm=13", req, sizeof(req));
	cfx_expect(run(req, ab, 2, ab, 2, old_shares, NULL, out), SIGNET_EQUORUM, "3 needed");
	assert_int_not_equal(access(out, F_OK), 0);
	size_t keys = 0;
	assert_int_equal(login_with(old_shares, ab, 2, &keys), SIGNET_OK);
	assert_int_equal(keys, 1);
}

static void test_reshare_refusals(void **state)
{
	(void)state;
	char req[700];
	request(CER_OP_RESHARE, NULL, NULL, req, sizeof(req));
	int abd[] = {0, 1, 3}, ab[] = {0, 1}, a[] = {0}, aa[] = {0, 0};
	/* fewer shares than the old split needs: one, or one twice */
	cfx_expect(run(req, abd, 3, a, 1, old_shares, new_shares, NULL), SIGNET_EQUORUM,
	       "1 valid share");
	cfx_expect(run(req, abd, 3, aa, 2, old_shares, new_shares, NULL), SIGNET_EQUORUM,
	       "1 valid share");
	/* the old quorum's approvals are not the new quorum */
	cfx_expect(run(req, ab, 2, ab, 2, old_shares, new_shares, NULL), SIGNET_EQUORUM,
	       "2 distinct valid approvals, 3 needed");
	/* the new shares cannot land on the old ones */
	cfx_expect(run(req, abd, 3, ab, 2, old_shares, old_shares, NULL), SIGNET_EEXIST,
	       "cannot create");
	/* none of that changed the PIN or wrote a share */
	char f[700];
	for (int i = 0; i < OPS; i++) {
		share_path(new_shares, i, f, sizeof(f));
		assert_int_not_equal(access(f, F_OK), 0);
	}
	size_t keys = 0;
	int ac[] = {0, 2};
	assert_int_equal(login_with(old_shares, ac, 2, &keys), SIGNET_OK);
	assert_int_equal(keys, 1);
}

static void test_reshare(void **state)
{
	(void)state;
	char req[700];
	request(CER_OP_RESHARE, NULL, NULL, req, sizeof(req));
	int abd[] = {0, 1, 3}, bc[] = {1, 2};
	/* the old split's quorum (any 2 of alice, bob, carol) opens the token;
	 * everyone of the new policy seals her new share */
	cfx_expect(run(req, abd, 3, bc, 2, old_shares, new_shares, NULL), SIGNET_OK, NULL);
	for (int i = 0; i < OPS; i++) {
		char f[700];
		share_path(new_shares, i, f, sizeof(f));
		sg_buf b = SG_BUF_INIT;
		assert_int_equal(sg_file_read(f, CER_FILE_MAX, &b), SIGNET_OK);
		assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
		assert_non_null(strstr((const char *)b.data, "\nthreshold 3\ncount 4\n"));
		sg_buf_free(&b);
	}
	/* the old shares still combine to the old PIN, which the token no
	 * longer takes */
	size_t keys = 0;
	int ab[] = {0, 1}, bcd[] = {1, 2, 3}, acd[] = {0, 2, 3};
	assert_int_equal(login_with(old_shares, ab, 2, &keys), SIGNET_EHSM_PIN);
	/* the new M shares do; the KSK is still there */
	assert_int_equal(login_with(new_shares, bcd, 3, &keys), SIGNET_OK);
	assert_int_equal(keys, 1);

	/* through execute: old shares fail at the token, two new shares are
	 * not a quorum, three are */
	char out[700];
	fresh(out, sizeof(out), "ksk");
	request(CER_OP_CREATE_KSK, ZONE, "algorithm=13", req, sizeof(req));
	signet_err err = run(req, abd, 3, ab, 2, old_shares, NULL, out);
	cfx_expect(err, SIGNET_EQUORUM, "2 valid shares from distinct operators, 3 needed");
	int ab_old[] = {0, 1, 2};
	cfx_expect(run(req, abd, 3, ab_old, 3, old_shares, NULL, out), SIGNET_EHSM_PIN, NULL);
	cfx_expect(run(req, abd, 3, ab, 2, new_shares, NULL, out), SIGNET_EQUORUM, "3 needed");
	assert_int_not_equal(access(out, F_OK), 0);
	cfx_expect(run(req, abd, 3, acd, 3, new_shares, NULL, out), SIGNET_OK, NULL);
	assert_int_equal(login_with(new_shares, bcd, 3, &keys), SIGNET_OK);
	assert_int_equal(keys, 2);

	char log[700];
	snprintf(log, sizeof(log), "%s/transcript.log", cf.cdir);
	size_t n = 0, bad = 0;
	cfx_expect(cer_log_verify(log, &n, &bad, CFX_ERR), SIGNET_OK, NULL);
	sg_buf t = SG_BUF_INIT;
	assert_int_equal(sg_file_read(log, CER_LOG_MAX, &t), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	assert_non_null(strstr((const char *)t.data, " reshare - "));
	assert_non_null(strstr((const char *)t.data, " alice,bob,dave ok "));
	sg_buf_free(&t);
}

/* Whether every operator of the policy has a share of the user PIN (so:
 * of the SO PIN) in d: all true or all false, else the test fails. */
static bool shares_there(const char *d, bool so)
{
	size_t n = 0;
	for (int i = 0; i < OPS; i++) {
		char f[700];
		snprintf(f, sizeof(f), "%s/%s.%s", d, names[i], so ? "so-share" : "share");
		n += access(f, F_OK) == 0;
	}
	assert_true(n == 0 || n == OPS);
	return n == OPS;
}

/* A reshare whose SO PIN change fails at the token (C_SetPIN) has set the
 * user PIN already: the new user shares are the only way to it and stay,
 * the new SO shares go and the old SO split still opens the token. One
 * whose user PIN change (C_InitPIN) fails changed nothing: both new splits
 * go. The ceremony knows which from hsm_so_init_pin's result, not from
 * the wording of the token's error. */
static void test_reshare_pin_fails(void **state)
{
	(void)state;
	char req[700];
	int abd[] = {0, 1, 3}, bcd[] = {1, 2, 3};
	size_t keys = 0;
	request(CER_OP_RESHARE, NULL, NULL, req, sizeof(req));
	p11fault_set("on=setpin error=device count=1");
	cfx_expect(run(req, abd, 3, bcd, 3, new_shares, third_shares, NULL), SIGNET_EHSM_DOWN,
		   "the new user shares hold, the old SO shares still hold");
	assert_int_equal(p11fault_count(".hits"), 1);
	assert_true(shares_there(third_shares, false));
	assert_false(shares_there(third_shares, true));
	assert_int_equal(login_with(third_shares, bcd, 3, &keys), SIGNET_OK);
	assert_int_equal(login_with(new_shares, bcd, 3, &keys), SIGNET_EHSM_PIN);

	/* the old SO split (new_shares) beside the user split that holds */
	for (int i = 0; i < OPS; i++) {
		char from[700], to[700];
		snprintf(from, sizeof(from), "%s/%s.so-share", new_shares, names[i]);
		snprintf(to, sizeof(to), "%s/%s.so-share", third_shares, names[i]);
		sg_buf b = SG_BUF_INIT;
		assert_int_equal(sg_file_read(from, CER_FILE_MAX, &b), SIGNET_OK);
		assert_int_equal(sg_file_write_atomic(to, b.data, b.len, 0600), SIGNET_OK);
		sg_buf_free(&b);
	}
	request(CER_OP_RESHARE, NULL, NULL, req, sizeof(req));
	p11fault_set("on=initpin error=device count=1");
	cfx_expect(run(req, abd, 3, bcd, 3, third_shares, fourth_shares, NULL), SIGNET_EHSM_DOWN,
		   "the old shares still hold");
	assert_int_equal(p11fault_count(".hits"), 1);
	assert_false(shares_there(fourth_shares, false));
	assert_false(shares_there(fourth_shares, true));
	assert_int_equal(login_with(third_shares, bcd, 3, &keys), SIGNET_OK);

	/* and with no fault both splits of third_shares do their work */
	p11fault_set("");
	request(CER_OP_RESHARE, NULL, NULL, req, sizeof(req));
	cfx_expect(run(req, abd, 3, bcd, 3, third_shares, fourth_shares, NULL), SIGNET_OK, NULL);
	assert_true(shares_there(fourth_shares, false));
	assert_true(shares_there(fourth_shares, true));
	assert_int_equal(login_with(fourth_shares, bcd, 3, &keys), SIGNET_OK);
	assert_int_equal(keys, 2);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_split),
		cmocka_unit_test(test_change_operators),
		cmocka_unit_test(test_reshare_refusals),
		cmocka_unit_test(test_reshare),
		cmocka_unit_test(test_reshare_pin_fails),
	};
	/* The token is behind tests/p11fault, to fail a PIN change at will. */
	if (p11fault_setup("reshare") != 0)
		return 1;
	int rc = cmocka_run_group_tests(tests, setup, teardown);
	p11fault_cleanup();
	return rc;
}
