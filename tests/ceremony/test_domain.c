/* test_domain.c -- create-domain: the backup-domain key made under quorum, installed trusted
 * in the KSK token by the SO, its M-of-N recovery shares, and a second token given the same
 * domain from 2 of 3 shares. */
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

#define OPS 3
#define PATHLEN 1600

static const char *const names[OPS] = {"alice", "bob", "carol"};
static const char *const pws[OPS] = {"alice's long passphrase", "bob's long passphrase",
				     "carol's long passphrase"};
static cer_fixture cf;
static char recovery_dir[CFX_PATH];   /* the recovery shares of the domain */

static int setup(void **state)
{
	(void)state;
	static const uint8_t algs[] = {13};
	cfx_opts o = {.nops = OPS, .names = names, .pws = pws, .shares_dir = true, .enroll = true};
	return cfx_create_ready(&cf, &o, algs, 1) == SIGNET_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cfx_destroy(&cf);
	return 0;
}

static void request(char *out, size_t len)
{
	cfx_request(&cf, CER_OP_CREATE_DOMAIN, NULL, NULL, 0, NULL, time(NULL) - 10,
		    time(NULL) + 3600, out, len);
}

static void domain_shares(const char *dir, const int *who, size_t n, cer_share_in *out,
			  char paths[][PATHLEN])
{
	for (size_t i = 0; i < n; i++) {
		snprintf(paths[i], PATHLEN, "%s/%s.domain-share", dir, names[who[i]]);
		out[i].operator = names[who[i]];
		out[i].path = paths[i];
	}
}

/* The domain ID the output file names. */
static void output_id(const char *file, uint8_t id[HSM_ID_LEN])
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 4096, &b), SIGNET_OK);
	assert_int_equal(sg_buf_append(&b, "", 1), SIGNET_OK);
	const char *p = strstr((const char *)b.data, "domain-id ");
	assert_non_null(p);
	sg_buf raw = SG_BUF_INIT;
	assert_int_equal(sg_hex_decode(p + 10, 2 * HSM_ID_LEN, &raw), SIGNET_OK);
	assert_int_equal(raw.len, HSM_ID_LEN);
	memcpy(id, raw.data, HSM_ID_LEN);
	sg_buf_free(&raw);
	sg_buf_free(&b);
}

/* The KSK token, opened with the user PIN two shares give. */
static hsm_token *ksk_token(void)
{
	cer_share_in in[2];
	char paths[2][PATHLEN];
	for (int i = 0; i < 2; i++) {
		snprintf(paths[i], PATHLEN, "%s/%s.share", cf.shares, names[i]);
		in[i].operator = names[i];
		in[i].path = paths[i];
	}
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	sg_secret *pin = NULL;
	char label[33], serial[17];
	assert_int_equal(cer_shares_combine(p, in, 2, cf.passes, OPS, &pin, label, serial, CFX_ERR),
			 SIGNET_OK);
	free(p);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, serial, pin, &t, HSM_ERR), SIGNET_OK);
	sg_secret_free(pin);
	return t;
}

/* The domain in the KSK token. */
static signet_err token_domain(uint8_t id[HSM_ID_LEN])
{
	hsm_token *t = ksk_token();
	signet_err err = hsm_domain_find(t, id, HSM_ERR);
	hsm_token_close(t);
	return err;
}

static size_t ksk_token_keys(void)
{
	hsm_token *t = ksk_token();
	hsm_key_info *keys = NULL;
	size_t n = 0;
	assert_int_equal(hsm_key_list(t, &keys, &n, HSM_ERR), SIGNET_OK);
	free(keys);
	hsm_token_close(t);
	return n;
}

static void test_create_domain(void **state)
{
	(void)state;
	uint8_t none[HSM_ID_LEN];
	assert_int_equal(token_domain(none), SIGNET_ENOTFOUND);
	char req[CFX_PATH], out[CFX_PATH], dir[CFX_PATH];
	request(req, sizeof(req));
	cfx_fresh(&cf, out, sizeof(out), "domain.out");
	cfx_fresh(&cf, dir, sizeof(dir), "recovery");
	assert_int_equal(mkdir(dir, 0700), 0);
	memcpy(recovery_dir, dir, sizeof(recovery_dir));
	const int two[] = {0, 1};
	/* one approval: refused before any share opens */
	cfx_expect(cfx_run(&cf, req, two, 1, two, 2, NULL, NULL, dir, out), SIGNET_EQUORUM, NULL);
	assert_int_equal(token_domain(none), SIGNET_ENOTFOUND);
	cfx_expect(cfx_run(&cf, req, two, 2, two, 2, NULL, NULL, dir, out), SIGNET_OK, NULL);
	uint8_t id[HSM_ID_LEN], tid[HSM_ID_LEN];
	output_id(out, id);
	assert_int_equal(token_domain(tid), SIGNET_OK);
	assert_memory_equal(id, tid, HSM_ID_LEN);

	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	cer_share_in in[3];
	char paths[3][PATHLEN];
	/* any two of three rebuild the key; its ID is the token's */
	const int pairs[3][2] = {{0, 1}, {1, 2}, {0, 2}};
	for (int k = 0; k < 3; k++) {
		domain_shares(dir, pairs[k], 2, in, paths);
		sg_secret *key = NULL;
		uint8_t kid[HSM_ID_LEN];
		assert_int_equal(cer_domain_shares_combine(p, in, 2, cf.passes, OPS, &key, kid, CFX_ERR),
				 SIGNET_OK);
		assert_int_equal(key->len, HSM_DOMAIN_KEY_LEN);
		assert_memory_equal(kid, id, HSM_ID_LEN);
		sg_secret_free(key);
	}
	/* one share is not enough */
	domain_shares(dir, two, 1, in, paths);
	sg_secret *key = NULL;
	uint8_t kid[HSM_ID_LEN];
	cfx_expect(cer_domain_shares_combine(p, in, 1, cf.passes, OPS, &key, kid, CFX_ERR), SIGNET_EQUORUM,
		   NULL);
	assert_null(key);
	/* shares of the user PIN are no domain shares, nor the other way round */
	for (int i = 0; i < 2; i++) {
		snprintf(paths[i], PATHLEN, "%s/%s.share", cf.shares, names[i]);
		in[i].operator = names[i];
		in[i].path = paths[i];
	}
	assert_int_not_equal(cer_domain_shares_combine(p, in, 2, cf.passes, OPS, &key, kid, CFX_ERR),
			     SIGNET_OK);
	assert_null(key);
	domain_shares(dir, two, 2, in, paths);
	sg_secret *pin = NULL;
	assert_int_not_equal(cer_shares_combine(p, in, 2, cf.passes, OPS, &pin, NULL, NULL, CFX_ERR),
			     SIGNET_OK);
	assert_null(pin);
	/* a wrong passphrase */
	cer_pass wrong[OPS];
	memcpy(wrong, cf.passes, sizeof(wrong));
	sg_secret *bad = cfx_secret("not alice's passphrase");
	wrong[0].pass = bad;
	cfx_expect(cer_domain_shares_combine(p, in, 2, wrong, OPS, &key, kid, CFX_ERR), SIGNET_EVERIFY,
		   NULL);
	sg_secret_free(bad);

	/* A second token (a signetd's ZSK token) gets the same domain from two
	 * recovery shares, installed by its own SO. */
	assert_int_equal(cer_domain_shares_combine(p, in, 2, cf.passes, OPS, &key, kid, CFX_ERR),
			 SIGNET_OK);
	sg_secret *so = cfx_secret("zsk-token-so-pin"), *user = cfx_secret("zsk-token-pin");
	assert_int_equal(hsm_token_initialize(cf.fx->ctx, "zsk-token", so, user, HSM_ERR), SIGNET_OK);
	hsm_token_desc *d = NULL;
	size_t n = 0;
	char serial[17] = "";
	assert_int_equal(hsm_list_tokens(cf.fx->ctx, &d, &n, HSM_ERR), SIGNET_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].label, "zsk-token") == 0)
			memcpy(serial, d[i].serial, sizeof(serial));
	free(d);
	assert_int_equal(hsm_domain_install(cf.fx->ctx, serial, so, key, HSM_ERR), SIGNET_OK);
	sg_secret_free(key);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, serial, user, &t, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_domain_find(t, kid, HSM_ERR), SIGNET_OK);
	assert_memory_equal(kid, id, HSM_ID_LEN);
	hsm_token_close(t);
	sg_secret_free(so);
	sg_secret_free(user);

	/* a second create-domain is refused, the token unchanged */
	char req2[CFX_PATH], out2[CFX_PATH], dir2[CFX_PATH];
	request(req2, sizeof(req2));
	cfx_fresh(&cf, out2, sizeof(out2), "domain.out");
	cfx_fresh(&cf, dir2, sizeof(dir2), "recovery");
	assert_int_equal(mkdir(dir2, 0700), 0);
	cfx_expect(cfx_run(&cf, req2, two, 2, two, 2, NULL, NULL, dir2, out2), SIGNET_EEXIST,
		   "holds a backup domain");
	assert_int_equal(token_domain(tid), SIGNET_OK);
	assert_memory_equal(id, tid, HSM_ID_LEN);
	assert_int_not_equal(access(out2, F_OK), 0);
	free(p);
}

/* With the domain in the KSK token, create-ksk backs the key up and proves
 * the backup before it reports the key; without a backup directory it makes
 * nothing. The backup restores into another token of the domain. */
static void test_ksk_backup(void **state)
{
	(void)state;
	static const char *const params[] = {"algorithm=13"};
	const int two[] = {0, 1};
	char req[CFX_PATH], out[CFX_PATH], dir[CFX_PATH];
	size_t before = ksk_token_keys();
	cfx_request(&cf, CER_OP_CREATE_KSK, "example.com.", params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	cfx_fresh(&cf, out, sizeof(out), "ksk.out");
	cf.backup_dir = NULL;
	cfx_expect(cfx_run(&cf, req, two, 2, two, 2, NULL, NULL, NULL, out), SIGNET_EINVAL,
		   "--backup-dir");
	assert_int_equal(ksk_token_keys(), before);
	assert_int_not_equal(access(out, F_OK), 0);

	cfx_request(&cf, CER_OP_CREATE_KSK, "example.com.", params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	cfx_fresh(&cf, out, sizeof(out), "ksk.out");
	cfx_fresh(&cf, dir, sizeof(dir), "backups");
	assert_int_equal(mkdir(dir, 0700), 0);
	cf.backup_dir = dir;
	cfx_expect(cfx_run(&cf, req, two, 2, two, 2, NULL, NULL, NULL, out), SIGNET_OK, NULL);
	cf.backup_dir = NULL;
	assert_int_equal(ksk_token_keys(), before + 1);
	char idhex[2 * HSM_ID_MAX + 1];
	cfx_key_id(out, idhex);
	char file[PATHLEN];
	snprintf(file, sizeof(file), "%s/ksk-%s.backup", dir, idhex);
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 65536, &text), SIGNET_OK);
	hsm_backup b;
	assert_int_equal(hsm_backup_decode(text.data, text.len, &b, HSM_ERR), SIGNET_OK);
	assert_int_equal(b.alg, HSM_ALG_ECDSAP256);
	assert_non_null(strstr(b.label, "signet:ksk:example.com.:13:"));
	hsm_token *t = ksk_token();
	hsm_key_info k;
	assert_int_equal(hsm_key_find(t, b.id, b.id_len, &k, HSM_ERR), SIGNET_OK);
	assert_true(k.extractable && k.wrap_with_trusted && k.sensitive && hsm_key_is_safe(&k));
	assert_int_equal(hsm_key_value_hidden(t, b.id, b.id_len, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_backup_prove(t, &b, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);

	/* export-ds only with the key's backup proven */
	char kparam[2 * HSM_ID_MAX + 16];
	snprintf(kparam, sizeof(kparam), "key-id=%s", idhex);
	const char *dparams[] = {"digests=2", kparam};
	char ds[CFX_PATH], empty[CFX_PATH], bad[CFX_PATH];
	cfx_fresh(&cf, empty, sizeof(empty), "nobackups");
	assert_int_equal(mkdir(empty, 0700), 0);
	cfx_fresh(&cf, bad, sizeof(bad), "badbackups");
	assert_int_equal(mkdir(bad, 0700), 0);
	char badfile[PATHLEN];
	snprintf(badfile, sizeof(badfile), "%s/ksk-%s.backup", bad, idhex);
	/* one bit of the wrapped key flipped, the digest recomputed: still refused */
	b.wrapped.data[b.wrapped.len / 2] ^= 1;
	sg_buf forged = SG_BUF_INIT;
	assert_int_equal(hsm_backup_encode(&b, &forged, HSM_ERR), SIGNET_OK);
	b.wrapped.data[b.wrapped.len / 2] ^= 1;
	assert_int_equal(sg_file_write_atomic(badfile, forged.data, forged.len, 0600), SIGNET_OK);
	sg_buf_free(&forged);
	const char *dirs[] = {NULL, empty, bad, dir};
	const signet_err want[] = {SIGNET_EINVAL, SIGNET_EIO, SIGNET_EVERIFY, SIGNET_OK};
	for (int i = 0; i < 4; i++) {
		char dreq[CFX_PATH];
		cfx_request(&cf, CER_OP_EXPORT_DS, "example.com.", dparams, 2, NULL,
			    time(NULL) - 10, time(NULL) + 3600, dreq, sizeof(dreq));
		cfx_fresh(&cf, ds, sizeof(ds), "ds.out");
		cf.backup_dir = dirs[i];
		signet_err got = cfx_run(&cf, dreq, two, 2, two, 2, NULL, NULL, NULL, ds);
		cf.backup_dir = NULL;
		if (want[i] == SIGNET_OK)
			cfx_expect(got, SIGNET_OK, NULL);
		else
			assert_int_not_equal(got, SIGNET_OK);
		assert_int_equal(access(ds, F_OK) == 0, want[i] == SIGNET_OK);
	}

	/* The key is lost (retired, deleted) and restored from its backup with
	 * quorum: same ID, same key tag; the refusals change nothing. */
	const char *kp[] = {kparam};
	char r1[CFX_PATH], o1[CFX_PATH];
	cfx_request(&cf, CER_OP_RESTORE_KSK, "example.com.", kp, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, r1, sizeof(r1));
	cfx_fresh(&cf, o1, sizeof(o1), "restore.out");
	cf.backup_dir = dir;
	cfx_expect(cfx_run(&cf, r1, two, 2, two, 2, NULL, NULL, NULL, o1), SIGNET_EEXIST,
		   "holds a key of this ID");
	cf.backup_dir = NULL;
	const char *ops[] = {CER_OP_RETIRE_KSK, CER_OP_DELETE_KSK};
	for (int i = 0; i < 2; i++) {
		cfx_request(&cf, ops[i], "example.com.", kp, 1, NULL, time(NULL) - 10,
			    time(NULL) + 3600, r1, sizeof(r1));
		cfx_expect(cfx_run(&cf, r1, two, 2, two, 2, NULL, NULL, NULL, NULL), SIGNET_OK,
			   NULL);
	}
	size_t lost = ksk_token_keys();
	struct {
		const char *zone, *bdir;
		int approvals;
		signet_err want;
	} cases[] = {
		{"example.com.", dir, 1, SIGNET_EQUORUM},   /* one approval */
		{"example.net.", dir, 2, SIGNET_EVERIFY},   /* another zone's key */
		{"example.com.", bad, 2, SIGNET_EVERIFY},   /* tampered */
		{"example.com.", empty, 2, SIGNET_EIO},     /* no backup */
		{"example.com.", dir, 2, SIGNET_OK},
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		cfx_request(&cf, CER_OP_RESTORE_KSK, cases[i].zone, kp, 1, NULL, time(NULL) - 10,
			    time(NULL) + 3600, r1, sizeof(r1));
		cfx_fresh(&cf, o1, sizeof(o1), "restore.out");
		cf.backup_dir = cases[i].bdir;
		signet_err got = cfx_run(&cf, r1, two, (size_t)cases[i].approvals, two, 2, NULL,
					 NULL, NULL, o1);
		cf.backup_dir = NULL;
		if (cases[i].want == SIGNET_OK)
			cfx_expect(got, SIGNET_OK, NULL);
		else
			assert_int_not_equal(got, SIGNET_OK);
		assert_int_equal(ksk_token_keys(), lost + (cases[i].want == SIGNET_OK));
	}
	char rid[2 * HSM_ID_MAX + 1];
	cfx_key_id(o1, rid);
	assert_string_equal(rid, idhex);
	sg_buf rtext = SG_BUF_INIT;
	assert_int_equal(sg_file_read(o1, 65536, &rtext), SIGNET_OK);
	assert_int_equal(sg_buf_append(&rtext, "", 1), SIGNET_OK);
	char tagline[64];
	snprintf(tagline, sizeof(tagline), "; key-tag %u ", (unsigned)b.key_tag);
	assert_non_null(strstr((const char *)rtext.data, tagline));
	sg_buf_free(&rtext);
	/* the restored KSK is used: its DS exports (its backup still proves) */
	char dreq[CFX_PATH];
	cfx_request(&cf, CER_OP_EXPORT_DS, "example.com.", dparams, 2, NULL, time(NULL) - 10,
		    time(NULL) + 3600, dreq, sizeof(dreq));
	cfx_fresh(&cf, ds, sizeof(ds), "ds.out");
	cf.backup_dir = dir;
	cfx_expect(cfx_run(&cf, dreq, two, 2, two, 2, NULL, NULL, NULL, ds), SIGNET_OK, NULL);
	cf.backup_dir = NULL;

	/* a token of the same domain, rebuilt from two recovery shares */
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	cer_share_in in[2];
	char paths[2][PATHLEN];
	const int pair[] = {1, 2};
	domain_shares(recovery_dir, pair, 2, in, paths);
	sg_secret *key = NULL;
	uint8_t kid[HSM_ID_LEN];
	assert_int_equal(cer_domain_shares_combine(p, in, 2, cf.passes, OPS, &key, kid, CFX_ERR),
			 SIGNET_OK);
	assert_memory_equal(kid, b.domain_id, HSM_ID_LEN);
	sg_secret *so = cfx_secret("clone-so-pin"), *user = cfx_secret("clone-user-pin");
	assert_int_equal(hsm_token_initialize(cf.fx->ctx, "clone", so, user, HSM_ERR), SIGNET_OK);
	hsm_token_desc *d = NULL;
	size_t n = 0;
	char serial[17] = "";
	assert_int_equal(hsm_list_tokens(cf.fx->ctx, &d, &n, HSM_ERR), SIGNET_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].label, "clone") == 0)
			memcpy(serial, d[i].serial, sizeof(serial));
	free(d);
	assert_int_equal(hsm_domain_install(cf.fx->ctx, serial, so, key, HSM_ERR), SIGNET_OK);
	sg_secret_free(key);
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, serial, user, &t, HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_backup_prove(t, &b, HSM_ERR), SIGNET_OK);
	hsm_unwrap_spec spec = {b.alg, b.id, b.id_len, b.label};
	hsm_key_info r;
	assert_int_equal(hsm_key_unwrap(t, b.domain_id, b.wrapped.data, b.wrapped.len, &spec, &r, HSM_ERR),
			 SIGNET_OK);
	assert_memory_equal(r.id, b.id, b.id_len);
	assert_int_equal(hsm_key_value_hidden(t, r.id, r.id_len, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	sg_secret_free(so);
	sg_secret_free(user);
	hsm_backup_free(&b);
	sg_buf_free(&text);
	free(p);
}

/* install-domain: the domain from two recovery shares into another token,
 * by its SO, with quorum. */
static void test_install_domain(void **state)
{
	(void)state;
	uint8_t id[HSM_ID_LEN], got[HSM_ID_LEN];
	assert_int_equal(token_domain(id), SIGNET_OK);
	sg_secret *so = cfx_secret("standby-so-pin"), *user = cfx_secret("standby-user-pin");
	sg_secret *wrong = cfx_secret("not-the-so-pin");
	assert_int_equal(hsm_token_initialize(cf.fx->ctx, "standby", so, user, HSM_ERR), SIGNET_OK);
	static const char *const params[] = {"token-label=standby"};
	const int two[] = {0, 1}, pair[] = {1, 2};
	cer_share_in in[2];
	char paths[2][PATHLEN];
	domain_shares(recovery_dir, pair, 2, in, paths);
	struct {
		size_t nshares;
		const sg_secret *pin;
		signet_err want;
	} cases[] = {
		{1, so, SIGNET_EQUORUM},    /* one recovery share */
		{2, NULL, SIGNET_EINVAL},   /* no SO PIN of the receiving token */
		{2, wrong, SIGNET_EHSM_PIN},
		{2, so, SIGNET_OK},
		{2, so, SIGNET_EEXIST},     /* installed already */
	};
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char req[CFX_PATH], out[CFX_PATH];
		cfx_request(&cf, CER_OP_INSTALL_DOMAIN, NULL, params, 1, NULL, time(NULL) - 10,
			    time(NULL) + 3600, req, sizeof(req));
		cfx_fresh(&cf, out, sizeof(out), "install.out");
		cf.domain_shares = in;
		cf.ndomain_shares = cases[i].nshares;
		cf.so_pin = cases[i].pin;
		signet_err err = cfx_run(&cf, req, two, 2, two, 2, NULL, NULL, NULL, out);
		cf.domain_shares = NULL;
		cf.ndomain_shares = 0;
		cf.so_pin = NULL;
		if (cases[i].want == SIGNET_OK)
			cfx_expect(err, SIGNET_OK, NULL);
		else
			assert_int_equal(err, cases[i].want);
		hsm_token *t = NULL;
		char serial[17] = "";
		hsm_token_desc *d = NULL;
		size_t n = 0;
		assert_int_equal(hsm_list_tokens(cf.fx->ctx, &d, &n, HSM_ERR), SIGNET_OK);
		for (size_t k = 0; k < n; k++)
			if (strcmp(d[k].label, "standby") == 0)
				memcpy(serial, d[k].serial, sizeof(serial));
		free(d);
		assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, serial, user, &t, HSM_ERR), SIGNET_OK);
		signet_err f = hsm_domain_find(t, got, HSM_ERR);
		hsm_token_close(t);
		if (i < 3) {
			assert_int_equal(f, SIGNET_ENOTFOUND);
		} else {
			assert_int_equal(f, SIGNET_OK);
			assert_memory_equal(got, id, HSM_ID_LEN);
		}
	}
	sg_secret_free(so);
	sg_secret_free(user);
	sg_secret_free(wrong);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_create_domain),
		cmocka_unit_test(test_ksk_backup),
		cmocka_unit_test(test_install_domain),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
