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
#include "tests/lib/softhsm_fixture.h"

#define ZONE "example.com."
#define LABEL "signet-ksk"
#define OPS 4

static softhsm_fixture *fx;
static char dir[512], cdir[600], old_shares[600], new_shares[600];
static const char *const names[OPS] = {"alice", "bob", "carol", "dave"};
static sg_secret *pass[OPS];
static cer_pass passes[OPS];
static char keyfile[OPS][700], pubfile[OPS][700];
static int seq;

static void fresh(char *out, size_t len, const char *stem)
{
	snprintf(out, len, "%s/%s-%d", dir, stem, ++seq);
}

static void expect(signet_err got, signet_err want, const char *needle)
{
	if (got != want || (needle != NULL && strstr(cer_last_error(), needle) == NULL))
		fail_msg("got %s (%s), wanted %s with \"%s\"", signet_errname(got),
			 cer_last_error(), signet_errname(want), needle ? needle : "");
}

static void share_path(const char *d, int who, char *out, size_t len)
{
	snprintf(out, len, "%s/%s.share", d, names[who]);
}

/* A policy of the first count operators, threshold m, signed by signers. */
static void policy(const char *out, uint64_t serial, int count, unsigned m, const int *signers,
		   size_t nsigners)
{
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->serial = serial;
	p->threshold = m;
	for (int i = 0; i < count; i++)
		assert_int_equal(cer_operator_read(pubfile[i], &p->ops[p->count++]), SIGNET_OK);
	assert_true(strlen(fx->module) < sizeof(p->module));
	memcpy(p->module, fx->module, strlen(fx->module) + 1);
	snprintf(p->label, sizeof(p->label), LABEL);
	p->algs[0] = 13;
	p->nalgs = 1;
	p->max_period = 30 * 86400;
	p->max_span = 400 * 86400;
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(cer_policy_write(p, &b), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(out, b.data, b.len, 0644), SIGNET_OK);
	sg_buf_free(&b);
	free(p);
	for (size_t i = 0; i < nsigners; i++)
		expect(cer_policy_sign_file(out, keyfile[signers[i]], pass[signers[i]]), SIGNET_OK,
		       NULL);
}

static void request(const char *op, const char *zone, const char *param, char *out,
		    size_t len)
{
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cdir, p), SIGNET_OK);
	fresh(out, len, "request");
	const char *params[1] = {param};
	expect(cer_request_create(op, zone, params, param ? 1 : 0, NULL, time(NULL) - 10,
				  time(NULL) + 3600, p, out, NULL), SIGNET_OK, NULL);
	free(p);
}

/* Execute req with approvals of who and shares of sh from share_dir. */
static signet_err run(const char *req, const int *who, size_t nwho, const int *sh, size_t nsh,
		      const char *share_dir, const char *shares_out, const char *out)
{
	char appr[OPS][700], sp[OPS][700];
	const char *ap[OPS];
	for (size_t i = 0; i < nwho; i++) {
		fresh(appr[i], sizeof(appr[i]), "approval");
		expect(cer_approve(req, keyfile[who[i]], pass[who[i]], appr[i]), SIGNET_OK, NULL);
		ap[i] = appr[i];
	}
	cer_share_in in[OPS];
	for (size_t i = 0; i < nsh; i++) {
		share_path(share_dir, sh[i], sp[i], sizeof(sp[i]));
		in[i].operator = names[sh[i]];
		in[i].path = sp[i];
	}
	cer_exec x = {.dir = cdir, .request = req, .approvals = ap, .napprovals = nwho,
		      .shares = in, .nshares = nsh, .passes = passes, .npasses = OPS,
		      .hsm = fx->ctx, .shares_out = shares_out, .out = out};
	return cer_execute(&x);
}

/* Log in with the PIN the shares give and count the keys: the PIN works. */
static signet_err login_with(const char *share_dir, const int *sh, size_t nsh, size_t *keys)
{
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cdir, p), SIGNET_OK);
	char sp[OPS][700];
	cer_share_in in[OPS];
	for (size_t i = 0; i < nsh; i++) {
		share_path(share_dir, sh[i], sp[i], sizeof(sp[i]));
		in[i].operator = names[sh[i]];
		in[i].path = sp[i];
	}
	/* the split's own quorum, whatever the policy now says */
	p->threshold = 1;
	sg_secret *pin = NULL;
	char serial[17];
	assert_int_equal(cer_shares_combine(p, in, nsh, passes, OPS, &pin, NULL, serial),
			 SIGNET_OK);
	free(p);
	hsm_token *t = NULL;
	signet_err err = hsm_token_open(fx->ctx, NULL, serial, pin, &t);
	sg_secret_free(pin);
	if (err != SIGNET_OK)
		return err;
	hsm_key_info *k = NULL;
	assert_int_equal(hsm_key_list(t, &k, keys), SIGNET_OK);
	free(k);
	hsm_token_close(t);
	return SIGNET_OK;
}

/* Three operators, M 2: enrolled, policy adopted, token initialised, one
 * KSK in it. Dave enrolls too but is not in the policy yet. */
static int setup(void **state)
{
	(void)state;
	if (softhsm_fixture_create(false, &fx) != SIGNET_OK)
		return -1;
	snprintf(dir, sizeof(dir), "%s/files", fx->dir);
	snprintf(cdir, sizeof(cdir), "%s/ceremony", fx->dir);
	snprintf(old_shares, sizeof(old_shares), "%s/old", dir);
	snprintf(new_shares, sizeof(new_shares), "%s/new", dir);
	if (mkdir(dir, 0700) != 0 || mkdir(cdir, 0700) != 0 || mkdir(old_shares, 0700) != 0 ||
	    mkdir(new_shares, 0700) != 0)
		return -1;
	for (int i = 0; i < OPS; i++) {
		char pw[64];
		snprintf(pw, sizeof(pw), "%s's long passphrase", names[i]);
		if (sg_secret_new(64, &pass[i]) != SIGNET_OK)
			return -1;
		memcpy(pass[i]->data, pw, strlen(pw));
		pass[i]->len = strlen(pw);
		passes[i].operator = names[i];
		passes[i].pass = pass[i];
		snprintf(keyfile[i], sizeof(keyfile[i]), "%s/%s.key", dir, names[i]);
		snprintf(pubfile[i], sizeof(pubfile[i]), "%s/%s.pub", dir, names[i]);
		if (cer_enroll(names[i], pass[i], keyfile[i], pubfile[i]) != SIGNET_OK)
			return -1;
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < OPS; i++)
		sg_secret_free(pass[i]);
	softhsm_fixture_destroy(fx);
	return 0;
}

static void test_first_split(void **state)
{
	(void)state;
	char pol[700], req[700], so_req[700];
	fresh(pol, sizeof(pol), "policy");
	int ab[] = {0, 1};
	policy(pol, 1, 3, 2, ab, 2);
	expect(cer_policy_adopt(cdir, pol), SIGNET_OK, NULL);
	request(CER_OP_INIT_TOKEN, NULL, NULL, so_req, sizeof(so_req));
	sg_secret *so = NULL;
	assert_int_equal(sg_secret_new(32, &so), SIGNET_OK);
	memcpy(so->data, "so-pin-of-the-ksk", 17);
	so->len = 17;
	char a0[700], a1[700];
	fresh(a0, sizeof(a0), "approval");
	fresh(a1, sizeof(a1), "approval");
	expect(cer_approve(so_req, keyfile[0], pass[0], a0), SIGNET_OK, NULL);
	expect(cer_approve(so_req, keyfile[1], pass[1], a1), SIGNET_OK, NULL);
	const char *ap[] = {a0, a1};
	cer_exec x = {.dir = cdir, .request = so_req, .approvals = ap, .napprovals = 2,
		      .passes = passes, .npasses = 3, .hsm = fx->ctx, .shares_out = old_shares,
		      .so_pin = so};
	expect(cer_execute(&x), SIGNET_OK, NULL);
	sg_secret_free(so);

	char out[700];
	fresh(out, sizeof(out), "ksk");
	request(CER_OP_CREATE_KSK, ZONE, "algorithm=13", req, sizeof(req));
	expect(run(req, ab, 2, ab, 2, old_shares, NULL, out), SIGNET_OK, NULL);
	size_t keys = 0;
	int bc[] = {1, 2};
	assert_int_equal(login_with(old_shares, bc, 2, &keys), SIGNET_OK);
	assert_int_equal(keys, 1);
}

static void test_change_operators(void **state)
{
	(void)state;
	char pol[700];
	fresh(pol, sizeof(pol), "policy");
	/* 4 operators, M 3: alice and bob are the old quorum, alice, bob and
	 * dave the new one */
	int abd[] = {0, 1, 3};
	policy(pol, 2, 4, 3, abd, 3);
	expect(cer_policy_adopt(cdir, pol), SIGNET_OK, NULL);
}

static void test_reshare_refusals(void **state)
{
	(void)state;
	char req[700];
	request(CER_OP_RESHARE, NULL, NULL, req, sizeof(req));
	int abd[] = {0, 1, 3}, ab[] = {0, 1}, a[] = {0}, aa[] = {0, 0};
	/* fewer shares than the old split needs: one, or one twice */
	expect(run(req, abd, 3, a, 1, old_shares, new_shares, NULL), SIGNET_EQUORUM,
	       "1 valid share");
	expect(run(req, abd, 3, aa, 2, old_shares, new_shares, NULL), SIGNET_EQUORUM,
	       "1 valid share");
	/* the old quorum's approvals are not the new quorum */
	expect(run(req, ab, 2, ab, 2, old_shares, new_shares, NULL), SIGNET_EQUORUM,
	       "2 distinct valid approvals, 3 needed");
	/* the new shares cannot land on the old ones */
	expect(run(req, abd, 3, ab, 2, old_shares, old_shares, NULL), SIGNET_EEXIST,
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
	expect(run(req, abd, 3, bc, 2, old_shares, new_shares, NULL), SIGNET_OK, NULL);
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
	expect(err, SIGNET_EQUORUM, "2 valid shares from distinct operators, 3 needed");
	int ab_old[] = {0, 1, 2};
	expect(run(req, abd, 3, ab_old, 3, old_shares, NULL, out), SIGNET_EHSM_PIN, NULL);
	expect(run(req, abd, 3, ab, 2, new_shares, NULL, out), SIGNET_EQUORUM, "3 needed");
	assert_int_not_equal(access(out, F_OK), 0);
	expect(run(req, abd, 3, acd, 3, new_shares, NULL, out), SIGNET_OK, NULL);
	assert_int_equal(login_with(new_shares, bcd, 3, &keys), SIGNET_OK);
	assert_int_equal(keys, 2);

	char log[700];
	snprintf(log, sizeof(log), "%s/transcript.log", cdir);
	size_t n = 0, bad = 0;
	expect(cer_log_verify(log, &n, &bad), SIGNET_OK, NULL);
	sg_buf t = SG_BUF_INIT;
	assert_int_equal(sg_file_read(log, CER_LOG_MAX, &t), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	assert_non_null(strstr((const char *)t.data, " reshare - "));
	assert_non_null(strstr((const char *)t.data, " alice,bob,dave ok "));
	sg_buf_free(&t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_first_split),
		cmocka_unit_test(test_change_operators),
		cmocka_unit_test(test_reshare_refusals),
		cmocka_unit_test(test_reshare),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
