/* test_insider.c -- issue 11: an insider with one operator's key and
 * passphrase and write access to the ceremony directory. Every attack is
 * refused with a message naming the mismatch, the token unchanged, and an
 * honest ceremony afterwards still works. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "ceremony/ceremony.h"
#include "ceremony/internal.h" /* the anchor's nonce list, filled as execute fills it */
#include "tests/lib/ceremony_fixture.h"

#define ZONE "example.com."

static const char *const names[3] = {"alice", "bob", "carol"};
static const char *const pws[3] = {"alice passphrase 1", "bob passphrase 22",
				   "carol passphrase 333"};
static const uint8_t algs[] = {13, 15};
static cer_fixture cf;
static char ksk_id[2 * HSM_ID_MAX + 1];  /* example.com's KSK, made at setup */
static char sdir[CFX_PATH];              /* the current user-PIN shares */
static sg_buf policy1;                   /* the text of the first adopted policy */
static uint64_t serial = 1;              /* of the policy adopted last */
static const int ab[] = {0, 1}, bc[] = {1, 2}, ac[] = {0, 2};

static void fresh(char *out, size_t len, const char *stem)
{
	cfx_fresh(&cf, out, len, stem);
}

static void cdir_path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", cf.cdir, name);
}

static void request(const char *op, const char *zone, const char *const *params, size_t n,
		    const char *keyset, char *out, size_t len)
{
	cfx_request(&cf, op, zone, params, n, keyset, time(NULL) - 10, time(NULL) + 3600, out,
		    len);
}

static signet_err run(const char *req, const int *who, const int *sh, size_t nsh,
		      const char *keyset, const char *shares_out, const char *out)
{
	return cfx_run(&cf, req, who, 2, sh, nsh, sdir, keyset, shares_out, out);
}

/* What a refused execution must leave as it was: every object the user
 * sees, and the anchor. */
typedef struct tstate {
	size_t objects;
	sg_buf anchor;
} tstate;

/* The PIN of the shares in sdir, combined once per directory: every test
 * here snapshots the token several times, and each combination costs two
 * scrypt runs. */
static sg_secret *cached_pin;
static char cached_dir[CFX_PATH], cached_serial[17], cached_label[33];

static void snap(tstate *s)
{
	s->anchor = (sg_buf)SG_BUF_INIT;
	if (cached_pin == NULL || strcmp(cached_dir, sdir) != 0) {
		sg_secret_free(cached_pin);
		cached_pin = NULL;
		cer_policy *p = calloc(1, sizeof(*p));
		assert_non_null(p);
		assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
		p->threshold = 1;  /* the split's own quorum */
		char sp[2][2 * CFX_PATH];
		snprintf(sp[0], sizeof(sp[0]), "%s/alice.share", sdir);
		snprintf(sp[1], sizeof(sp[1]), "%s/bob.share", sdir);
		cer_share_in in[2] = {{"alice", sp[0]}, {"bob", sp[1]}};
		assert_int_equal(cer_shares_combine(p, in, 2, cf.passes, 3, &cached_pin,
						    cached_label, cached_serial, CFX_ERR), SIGNET_OK);
		free(p);
		snprintf(cached_dir, sizeof(cached_dir), "%s", sdir);
	}
	if (hsm_data_read_public(cf.fx->ctx, cached_label, "signet-ceremony-anchor", 1 << 20,
				 &s->anchor, NULL, HSM_ERR) != SIGNET_OK)
		fail_msg("no public anchor: %s", shf_errmsg);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, cached_serial, cached_pin, &t, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_object_count(t, &s->objects, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
}

static void unchanged(tstate *before)
{
	tstate now;
	snap(&now);
	assert_int_equal(now.objects, before->objects);
	assert_int_equal(now.anchor.len, before->anchor.len);
	assert_memory_equal(now.anchor.data, before->anchor.data, now.anchor.len);
	sg_buf_free(&now.anchor);
	sg_buf_free(&before->anchor);
}

static void read_file(const char *path, sg_buf *out)
{
	sg_buf_reset(out);
	assert_int_equal(sg_file_read(path, CER_LOG_MAX, out), SIGNET_OK);
}

static void write_file(const char *path, const sg_buf *b)
{
	assert_int_equal(sg_file_write_atomic(path, b->data, b->len, 0644), SIGNET_OK);
}

/* An honest operation: an export-ds of the KSK by alice and bob. */
static void honest(void)
{
	char req[CFX_PATH], out[CFX_PATH], param[200];
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *params[] = {param};
	request(CER_OP_EXPORT_DS, ZONE, params, 1, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "ds");
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, out), SIGNET_OK, NULL);
}

/* An honest execution attempt that must be refused with want and needle. */
static void honest_refused(signet_err want, const char *needle)
{
	char req[CFX_PATH], out[CFX_PATH], param[200];
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *params[] = {param};
	request(CER_OP_EXPORT_DS, ZONE, params, 1, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "ds");
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, out), want, needle);
	assert_int_not_equal(access(out, F_OK), 0);
}

static void create_ksk(char *id)
{
	const char *params[] = {"algorithm=13"};
	char req[CFX_PATH], out[CFX_PATH];
	request(CER_OP_CREATE_KSK, ZONE, params, 1, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "ksk");
	cfx_expect(run(req, ac, ac, 2, NULL, NULL, out), SIGNET_OK, NULL);
	cfx_key_id(out, id);
}

static int setup(void **state)
{
	(void)state;
	cfx_opts o = {.nops = 3, .names = names, .pws = pws, .shares_dir = true, .enroll = true};
	if (cfx_create_ready(&cf, &o, algs, 2) != SIGNET_OK)
		return -1;
	snprintf(sdir, sizeof(sdir), "%s", cf.shares);
	char p[CFX_PATH];
	cdir_path(p, sizeof(p), "policy");
	read_file(p, &policy1);
	create_ksk(ksk_id);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sg_buf_free(&policy1);
	sg_secret_free(cached_pin);
	cfx_destroy(&cf);
	return 0;
}

/* A policy like the fixture's, with serial, threshold m and module. */
static void write_policy(const char *out, uint64_t ser, unsigned m, const char *module)
{
	cfx_write_policy(&cf, out, ser, 3, m, algs, 2);
	if (module == NULL)
		return;
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_read(out, p, CFX_ERR), SIGNET_OK);
	snprintf(p->module, sizeof(p->module), "%s", module);
	p->has_module_sha256 = cer_module_sha256(module, p->module_sha256, CFX_ERR) == SIGNET_OK;
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(cer_policy_write(p, &b, CFX_ERR), SIGNET_OK);
	write_file(out, &b);
	sg_buf_free(&b);
	free(p);
}

/* Copy file over the ceremony directory's policy, as the insider may. */
static void copy_in(const char *file)
{
	sg_buf b = SG_BUF_INIT;
	char p[CFX_PATH];
	read_file(file, &b);
	cdir_path(p, sizeof(p), "policy");
	write_file(p, &b);
	sg_buf_free(&b);
}

static void test_copied_policy_lower_threshold(void **st)
{
	(void)st;
	tstate before;
	snap(&before);
	char pol[CFX_PATH], saved[CFX_PATH];
	cdir_path(saved, sizeof(saved), "policy");
	sg_buf keep = SG_BUF_INIT;
	read_file(saved, &keep);
	/* carol signs a threshold-1 policy for herself; policy-adopt refuses it */
	fresh(pol, sizeof(pol), "policy-evil");
	write_policy(pol, serial + 1, 1, NULL);
	static const int c[] = {2};
	cfx_sign_policy(&cf, pol, c, 1);
	cfx_expect(cer_policy_adopt(cf.cdir, pol, CFX_ERR), SIGNET_EQUORUM, "current quorum");
	/* a plain copy: the next honest 2-of-3 ceremony refuses it */
	copy_in(pol);
	honest_refused(SIGNET_EQUORUM, "policy mismatch");
	/* and carol alone, approving and presenting her share under it */
	char req[CFX_PATH], out[CFX_PATH];
	const char *params[] = {"algorithm=13"};
	request(CER_OP_CREATE_KSK, ZONE, params, 1, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "ksk");
	cfx_expect(cfx_run(&cf, req, c, 1, c, 1, sdir, NULL, NULL, out), SIGNET_EQUORUM,
		   "anchored policy's operators");
	write_file(saved, &keep);
	sg_buf_free(&keep);
	unchanged(&before);
	honest();
}

static void test_copied_policy_older_serial(void **st)
{
	(void)st;
	/* a stricter policy 2 is adopted and anchored by an execution */
	char pol[CFX_PATH], p[CFX_PATH];
	fresh(pol, sizeof(pol), "policy");
	cfx_adopt_policy(&cf, pol, ++serial, 3, 2, algs, 2, ab, 2);
	honest();
	tstate before;
	snap(&before);
	cdir_path(p, sizeof(p), "policy");
	sg_buf keep = SG_BUF_INIT;
	read_file(p, &keep);
	/* policy 1, with its own valid quorum, copied back */
	write_file(p, &policy1);
	honest_refused(SIGNET_ESTATE, "not higher");
	honest_refused(SIGNET_ESTATE, "older or copied-in");
	write_file(p, &keep);
	sg_buf_free(&keep);
	unchanged(&before);
	honest();
}

static void test_copied_policy_other_module(void **st)
{
	(void)st;
	tstate before;
	snap(&before);
	char p[CFX_PATH], pol[CFX_PATH], evil[CFX_PATH];
	cdir_path(p, sizeof(p), "policy");
	sg_buf keep = SG_BUF_INIT;
	read_file(p, &keep);
	/* the insider's module, named by a policy with even the full quorum's
	 * signatures: the machine's configuration decides, not the policy */
	snprintf(evil, sizeof(evil), "%s/evil-pkcs11.so", cf.fx->dir);
	sg_buf m = SG_BUF_INIT;
	read_file(cf.fx->module, &m);
	write_file(evil, &m);
	fresh(pol, sizeof(pol), "policy-module");
	write_policy(pol, serial + 1, 2, evil);
	static const int all[] = {0, 1, 2};
	cfx_sign_policy(&cf, pol, all, 3);
	copy_in(pol);
	honest_refused(SIGNET_EDENIED, "module mismatch");
	write_file(p, &keep);
	unchanged(&before);

	/* the configured module replaced by another file: its digest in the
	 * policy notices */
	char conf_saved[CFX_PATH];
	snprintf(conf_saved, sizeof(conf_saved), "%s", cf.conf);
	sg_buf conf = SG_BUF_INIT, newconf = SG_BUF_INIT;
	read_file(cf.conf, &conf);
	assert_int_equal(sg_buf_printf(&newconf, "signet-ceremony-config 1\nmodule %s\n", evil),
			 SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(cf.conf, newconf.data, newconf.len, 0600),
			 SIGNET_OK);
	fresh(pol, sizeof(pol), "policy-module");
	write_policy(pol, ++serial, 2, evil);
	cfx_sign_policy(&cf, pol, ab, 2);
	cfx_expect(cer_policy_adopt(cf.cdir, pol, CFX_ERR), SIGNET_OK, NULL);
	honest();  /* the module the machine names, with the digest the policy records */
	snap(&before);
	assert_int_equal(sg_buf_append(&m, "x", 1), SIGNET_OK);
	write_file(evil, &m);
	honest_refused(SIGNET_EDENIED, "SHA-256");
	m.len--;
	write_file(evil, &m);
	unchanged(&before);
	honest();
	/* back to the real module, by an adopted policy */
	assert_int_equal(sg_file_write_atomic(cf.conf, conf.data, conf.len, 0600), SIGNET_OK);
	fresh(pol, sizeof(pol), "policy");
	cfx_adopt_policy(&cf, pol, ++serial, 3, 2, algs, 2, ab, 2);
	honest();

	/* the configuration itself: others may not write it, nor may it be missing */
	cer_config c;
	assert_int_equal(chmod(cf.conf, 0666), 0);
	cfx_expect(cer_config_load(NULL, &c, CFX_ERR), SIGNET_EPERM, "not be writable by group");
	honest_refused(SIGNET_EPERM, "configuration");
	assert_int_equal(chmod(cf.conf, 0600), 0);
	char link[CFX_PATH];
	snprintf(link, sizeof(link), "%s/conf-link", cf.fx->dir);
	assert_int_equal(symlink(cf.conf, link), 0);
	assert_int_not_equal(cer_config_load(link, &c, CFX_ERR), SIGNET_OK);
	cfx_expect(cer_config_load("/nonexistent/ceremony.conf", &c, CFX_ERR), SIGNET_ENOTFOUND,
		   "cannot open");
	cfx_expect(cer_config_load(NULL, &c, CFX_ERR), SIGNET_OK, NULL);
	assert_string_equal(c.module, cf.fx->module);
	sg_buf_free(&keep);
	sg_buf_free(&m);
	sg_buf_free(&conf);
	sg_buf_free(&newconf);
}

/* The sealed piece of a share file, opened with its operator's passphrase:
 * what one insider holds. */
static sg_secret *raw_piece(const char *file, int who)
{
	sg_buf t = SG_BUF_INIT, salt = SG_BUF_INIT, nonce = SG_BUF_INIT, ct = SG_BUF_INIT;
	read_file(file, &t);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	char *text = (char *)t.data, *kdf = strstr(text, "\nkdf scrypt ") + 1;
	cer_kdf k;
	char sa[64], no[64], se[200];
	assert_int_equal(sscanf(kdf, "kdf scrypt %lu %u %u\nsalt %63s\nnonce %63s\nsealed %199s",
				&k.n, &k.r, &k.p, sa, no, se), 6);
	assert_int_equal(sg_hex_decode(sa, strlen(sa), &salt), SIGNET_OK);
	assert_int_equal(sg_hex_decode(no, strlen(no), &nonce), SIGNET_OK);
	assert_int_equal(sg_base64_decode(se, strlen(se), &ct), SIGNET_OK);
	sg_secret *piece = NULL;
	assert_int_equal(cer_open(cf.pass[who], &k, salt.data, nonce.data, t.data,
				  (size_t)(kdf - text), ct.data, ct.len, &piece, CFX_ERR), SIGNET_OK);
	sg_buf_free(&t);
	sg_buf_free(&salt);
	sg_buf_free(&nonce);
	sg_buf_free(&ct);
	return piece;
}

static void test_so_pin_not_one_operators(void **st)
{
	(void)st;
	tstate before;
	snap(&before);
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	sg_secret *pin = NULL;
	char serial_no[17];
	/* alice's SO share alone, even under a policy claiming threshold 1 */
	cer_share_in a[1] = {{"alice", cf.sosharefile[0]}};
	cfx_expect(cer_so_shares_combine(p, a, 1, cf.passes, 3, &pin, NULL, serial_no, CFX_ERR),
		   SIGNET_EQUORUM, "1 valid share");
	p->threshold = 1;
	cfx_expect(cer_so_shares_combine(p, a, 1, cf.passes, 3, &pin, NULL, serial_no, CFX_ERR),
		   SIGNET_EQUORUM, "2 needed");
	/* her user shares do not pass for SO shares, nor mix with them */
	p->threshold = 2;
	cer_share_in user[2] = {{"alice", cf.sharefile[0]}, {"bob", cf.sharefile[1]}};
	cfx_expect(cer_so_shares_combine(p, user, 2, cf.passes, 3, &pin, NULL, serial_no, CFX_ERR),
		   SIGNET_EVERIFY, "other PIN");
	cer_share_in mixed[2] = {{"alice", cf.sharefile[0]}, {"bob", cf.sosharefile[1]}};
	cfx_expect(cer_so_shares_combine(p, mixed, 2, cf.passes, 3, &pin, NULL, serial_no, CFX_ERR),
		   SIGNET_EVERIFY, "another split");
	/* the raw piece she can unseal is no SO PIN */
	cer_share_in two[2] = {{"alice", cf.sosharefile[0]}, {"bob", cf.sosharefile[1]}};
	sg_secret *so = NULL;
	assert_int_equal(cer_so_shares_combine(p, two, 2, cf.passes, 3, &so, NULL, serial_no, CFX_ERR),
			 SIGNET_OK);
	sg_secret *piece = raw_piece(cf.sosharefile[0], 0);
	sg_secret *newpin = cfx_secret("0123456789abcdef0123456789abcdef");
	assert_int_equal(hsm_so_init_pin(cf.fx->ctx, serial_no, piece, NULL, newpin, NULL, HSM_ERR), SIGNET_EHSM_PIN);
	sg_secret_free(piece);
	/* no file anywhere holds the SO PIN the two shares give */
	const char *dirs[] = {cf.dir, cf.cdir, sdir};
	for (size_t d = 0; d < 3; d++) {
		char cmd[2 * CFX_PATH];
		snprintf(cmd, sizeof(cmd), "grep -rqF -- '%.*s' '%s'", (int)so->len,
			 (const char *)so->data, dirs[d]);
		assert_int_not_equal(system(cmd), 0);
	}
	/* a reset-user-pin request with one operator's SO share: refused */
	char req[CFX_PATH], out[CFX_PATH];
	request(CER_OP_RESET_PIN, NULL, NULL, 0, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "shares-reset");
	assert_int_equal(mkdir(out, 0700), 0);
	char ap[2][CFX_PATH];
	cfx_approve(&cf, req, 0, ap[0], sizeof(ap[0]));
	cfx_approve(&cf, req, 1, ap[1], sizeof(ap[1]));
	const char *apv[2] = {ap[0], ap[1]};
	cer_exec x = {.dir = cf.cdir, .request = req, .approvals = apv, .napprovals = 2,
		      .passes = cf.passes, .npasses = 3, .hsm = cf.fx->ctx, .shares_out = out,
		      .so_shares = a, .nso_shares = 1};
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EQUORUM, "1 valid share");
	sg_secret_free(so);
	sg_secret_free(newpin);
	free(p);
	unchanged(&before);
	honest();
}

/* Execute req, then again with fresh approvals: refused as a replay,
 * before any share (none given, then all), the token unchanged. */
static void replayed(const char *req, const int *sh, const char *keyset,
		     const char *shares_out, const char *out)
{
	tstate before;
	snap(&before);
	cer_exec pre = {.dir = cf.cdir, .request = req, .hsm = cf.fx->ctx};
	cfx_expect(cer_execute_precheck(&pre, CFX_ERR), SIGNET_ESTATE, "replay");
	cfx_expect(run(req, ab, sh, 0, keyset, shares_out, out), SIGNET_ESTATE, "replay");
	cfx_expect(run(req, bc, sh, 2, keyset, shares_out, out), SIGNET_ESTATE, "replay");
	unchanged(&before);
}

/* The anchor's list of executed nonces when full (CER_EXECUTED_MAX), without
 * that many ceremonies: the list is filled in the real token, with the
 * quorum's PIN, through cer_anchor_add_executed (what execute records a
 * nonce with), and then real executions meet it. */
static void fill_executed(int64_t until)
{
	tstate s;
	snap(&s);  /* the PIN of the current shares */
	sg_buf_free(&s.anchor);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, cached_serial, cached_pin, &t, HSM_ERR),
			 SIGNET_OK);
	cer_anchor *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	assert_int_equal(cer_anchor_load(t, a, CFX_ERR), SIGNET_OK);
	int64_t now = time(NULL);
	/* after the real requests' nonces, as later executions would add them */
	for (uint32_t i = 0; a->nexecuted < CER_EXECUTED_MAX; i++) {
		uint8_t nonce[16] = {0xfe, 0xed};
		memcpy(nonce + 12, &i, sizeof(i));
		assert_int_equal(cer_anchor_add_executed(a, nonce, until, now, CFX_ERR), SIGNET_OK);
	}
	assert_int_equal(cer_anchor_store(t, a, CFX_ERR), SIGNET_OK);
	free(a);
	hsm_token_close(t);
}

static void anchor_now(cer_anchor *a)
{
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, cached_serial, cached_pin, &t, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(cer_anchor_load(t, a, CFX_ERR), SIGNET_OK);
	hsm_token_close(t);
}

static void test_executed_list_full(void **st)
{
	(void)st;
	/* a request executed before the list fills */
	char req0[CFX_PATH], req1[CFX_PATH], out[CFX_PATH], param[200];
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *params[] = {param};
	request(CER_OP_EXPORT_DS, ZONE, params, 1, NULL, req0, sizeof(req0));
	fresh(out, sizeof(out), "ds");
	cfx_expect(run(req0, ab, ab, 2, NULL, NULL, out), SIGNET_OK, NULL);

	/* Full, none expired: execute is refused, saying so, and the token
	 * (objects, anchor) is as it was. */
	int64_t now = time(NULL);
	fill_executed(now + 3600);
	tstate before;
	snap(&before);
	honest_refused(SIGNET_ERANGE, "512 requests executed and not yet expired");
	unchanged(&before);

	/* Full, the oldest three expired: they go, the new nonce is taken,
	 * every request not expired stays recorded. */
	cer_anchor *a = calloc(1, sizeof(*a));
	assert_non_null(a);
	anchor_now(a);
	assert_int_equal(a->nexecuted, CER_EXECUTED_MAX);
	/* make the three oldest synthetic entries expired, in the token */
	size_t first = 0;
	while (a->executed[first][0] != 0xfe || a->executed[first][1] != 0xed)
		first++;
	for (size_t i = first; i < first + 3; i++)
		a->executed_until[i] = now - 60;
	uint8_t gone[3][16], kept[16];
	for (size_t i = 0; i < 3; i++)
		memcpy(gone[i], a->executed[first + i], 16);
	memcpy(kept, a->executed[first + 3], 16);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, cached_serial, cached_pin, &t, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(cer_anchor_store(t, a, CFX_ERR), SIGNET_OK);
	hsm_token_close(t);
	request(CER_OP_EXPORT_DS, ZONE, params, 1, NULL, req1, sizeof(req1));
	fresh(out, sizeof(out), "ds");
	cfx_expect(run(req1, ab, ab, 2, NULL, NULL, out), SIGNET_OK, NULL);
	anchor_now(a);
	assert_int_equal(a->nexecuted, CER_EXECUTED_MAX - 3 + 1);
	for (size_t i = 0; i < 3; i++)
		assert_false(cer_anchor_executed(a, gone[i]));
	assert_true(cer_anchor_executed(a, kept));
	free(a);

	/* After the pruning, both real requests are still refused as replays
	 * (the one executed before the list filled and the one that pruned it),
	 * before any share, the token unchanged. */
	fresh(out, sizeof(out), "ds");
	replayed(req0, ab, NULL, NULL, out);
	replayed(req1, ab, NULL, NULL, out);
	assert_int_not_equal(access(out, F_OK), 0);

	/* The synthetic nonces go again, for the tests after this one. */
	a = calloc(1, sizeof(*a));
	assert_non_null(a);
	anchor_now(a);
	size_t k = 0;
	for (size_t i = 0; i < a->nexecuted; i++) {
		if (a->executed[i][0] == 0xfe && a->executed[i][1] == 0xed)
			continue;
		memmove(a->executed[k], a->executed[i], 16);
		a->executed_until[k++] = a->executed_until[i];
	}
	a->nexecuted = k;
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, cached_serial, cached_pin, &t, HSM_ERR),
			 SIGNET_OK);
	assert_int_equal(cer_anchor_store(t, a, CFX_ERR), SIGNET_OK);
	hsm_token_close(t);
	free(a);
	honest();
}

static void test_replay_every_operation(void **st)
{
	(void)st;
	char req[CFX_PATH], out[CFX_PATH], again[CFX_PATH], param[200];
	/* create-ksk: a second KSK would be made by the same approvals */
	const char *cparams[] = {"algorithm=13"};
	request(CER_OP_CREATE_KSK, ZONE, cparams, 1, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "ksk");
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, out), SIGNET_OK, NULL);
	char id2[2 * HSM_ID_MAX + 1];
	cfx_key_id(out, id2);
	fresh(again, sizeof(again), "ksk");
	replayed(req, ac, NULL, NULL, again);
	assert_int_not_equal(access(again, F_OK), 0);

	/* sign-keyset */
	char kf[CFX_PATH], ksr[CFX_PATH];
	snprintf(kf, sizeof(kf), "%s", out);
	sg_buf ksk = SG_BUF_INIT;
	cfx_dnskey(kf, ZONE, &ksk);
	fresh(ksr, sizeof(ksr), "ksr");
	cfx_build_ksr(&ksk, ZONE, ksr);
	sg_buf_free(&ksk);
	snprintf(param, sizeof(param), "key-id=%s", id2);
	const char *kparams[] = {param};
	request(CER_OP_SIGN_KEYSET, ZONE, kparams, 1, ksr, req, sizeof(req));
	fresh(out, sizeof(out), "bundle");
	cfx_expect(run(req, ab, ab, 2, ksr, NULL, out), SIGNET_OK, NULL);
	fresh(again, sizeof(again), "bundle");
	replayed(req, ab, ksr, NULL, again);

	/* export-ds */
	const char *dparams[] = {param};
	request(CER_OP_EXPORT_DS, ZONE, dparams, 1, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "ds");
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, out), SIGNET_OK, NULL);
	fresh(again, sizeof(again), "ds");
	replayed(req, ab, NULL, NULL, again);

	/* retire-ksk and delete-ksk */
	request(CER_OP_RETIRE_KSK, ZONE, kparams, 1, NULL, req, sizeof(req));
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, NULL), SIGNET_OK, NULL);
	replayed(req, ab, NULL, NULL, NULL);
	request(CER_OP_DELETE_KSK, ZONE, kparams, 1, NULL, req, sizeof(req));
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, NULL), SIGNET_OK, NULL);
	replayed(req, ab, NULL, NULL, NULL);

	/* reshare: a replay would replace the PIN again */
	char s2[CFX_PATH], s3[CFX_PATH];
	fresh(s2, sizeof(s2), "shares-reshare");
	fresh(s3, sizeof(s3), "shares-reshare");
	assert_int_equal(mkdir(s2, 0700), 0);
	assert_int_equal(mkdir(s3, 0700), 0);
	request(CER_OP_RESHARE, NULL, NULL, 0, NULL, req, sizeof(req));
	cfx_expect(run(req, ab, ab, 2, NULL, s2, NULL), SIGNET_OK, NULL);
	snprintf(sdir, sizeof(sdir), "%s", s2);
	replayed(req, ab, NULL, s3, NULL);
	char sf[2 * CFX_PATH];
	snprintf(sf, sizeof(sf), "%s/alice.share", s3);
	assert_int_not_equal(access(sf, F_OK), 0);
	/* the reshare replaced the SO PIN too: the old SO shares still combine,
	 * to a PIN the token refuses */
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	cer_share_in old_so[2] = {{"alice", cf.sosharefile[0]}, {"bob", cf.sosharefile[1]}};
	sg_secret *so = NULL, *dummy = cfx_secret("0123456789abcdef0123456789abcdef");
	char serial_no[17];
	assert_int_equal(cer_so_shares_combine(p, old_so, 2, cf.passes, 3, &so, NULL, serial_no, CFX_ERR),
			 SIGNET_OK);
	assert_int_equal(hsm_so_init_pin(cf.fx->ctx, serial_no, so, NULL, dummy, NULL, HSM_ERR), SIGNET_EHSM_PIN);
	sg_secret_free(so);
	sg_secret_free(dummy);
	free(p);
	honest();
}

static void test_transcript_attacks(void **st)
{
	(void)st;
	honest();  /* the last entry is anchored */
	char log[CFX_PATH], forged[CFX_PATH];
	cdir_path(log, sizeof(log), "transcript.log");
	sg_buf keep = SG_BUF_INIT, t = SG_BUF_INIT, after = SG_BUF_INIT;
	read_file(log, &keep);
	tstate before;
	snap(&before);
	size_t entries = 0;
	cfx_expect(cer_log_verify_token(cf.cdir, NULL, cf.fx->ctx, &entries, CFX_ERR), SIGNET_OK, NULL);

	/* the last entry deleted: the chain alone is intact */
	size_t cut = keep.len - 1;
	while (cut > 0 && keep.data[cut - 1] != '\n')
		cut--;
	assert_int_equal(sg_buf_append(&t, keep.data, cut), SIGNET_OK);
	write_file(log, &t);
	size_t n = 0, bad = 0;
	cfx_expect(cer_log_verify(log, &n, &bad, CFX_ERR), SIGNET_OK, NULL);
	honest_refused(SIGNET_EVERIFY, "entries were cut");
	cfx_expect(cer_log_verify_token(cf.cdir, NULL, cf.fx->ctx, &n, CFX_ERR), SIGNET_EVERIFY, "cut");
	read_file(log, &after);  /* refused: not even a refusal entry appended */
	assert_int_equal(after.len, t.len);

	/* truncated at a line boundary, halfway */
	size_t half = keep.len / 2;
	while (half > 0 && keep.data[half - 1] != '\n')
		half--;
	sg_buf_reset(&t);
	assert_int_equal(sg_buf_append(&t, keep.data, half), SIGNET_OK);
	write_file(log, &t);
	honest_refused(SIGNET_EVERIFY, "entries were cut");

	/* extended with a correctly chained forged entry */
	write_file(log, &keep);
	cer_log_entry e = {.time = time(NULL), .op = "create-ksk", .zone = ZONE,
			   .approvers = "alice,bob", .result = "ok"};
	cfx_expect(cer_log_append(log, &e, CFX_ERR), SIGNET_OK, NULL);
	cfx_expect(cer_log_verify(log, &n, &bad, CFX_ERR), SIGNET_OK, NULL);
	honest_refused(SIGNET_EVERIFY, "never anchored");
	cfx_expect(cer_log_verify_token(cf.cdir, NULL, cf.fx->ctx, &n, CFX_ERR), SIGNET_EVERIFY, "never anchored");

	/* a whole new chain of the same length */
	fresh(forged, sizeof(forged), "log-forged");
	for (size_t i = 0; i < entries; i++) {
		cer_log_entry f = {.time = 1, .op = "adopt-policy", .zone = "-", .approvers = "-",
				   .result = "ok"};
		cfx_expect(cer_log_append(forged, &f, CFX_ERR), SIGNET_OK, NULL);
	}
	read_file(forged, &t);
	write_file(log, &t);
	honest_refused(SIGNET_EVERIFY, "was replaced");

	/* emptied, and removed */
	sg_buf_reset(&t);
	write_file(log, &t);
	honest_refused(SIGNET_EVERIFY, "is empty");
	assert_int_equal(unlink(log), 0);
	honest_refused(SIGNET_EVERIFY, "is missing");
	assert_int_not_equal(access(log, F_OK), 0);

	/* a link to a file elsewhere on the ceremony machine: never appended to */
	char elsewhere[CFX_PATH];
	snprintf(elsewhere, sizeof(elsewhere), "%s/elsewhere.log", cf.fx->dir);
	write_file(elsewhere, &keep);
	assert_int_equal(symlink(elsewhere, log), 0);
	char req[CFX_PATH], out[CFX_PATH], param[200];
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *params[] = {param};
	request(CER_OP_EXPORT_DS, ZONE, params, 1, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "ds");
	signet_err err = run(req, ab, ab, 2, NULL, NULL, out);
	assert_int_not_equal(err, SIGNET_OK);
	assert_non_null(strstr(cfx_errmsg, "cannot open"));
	assert_int_not_equal(access(out, F_OK), 0);
	read_file(elsewhere, &after);
	assert_int_equal(after.len, keep.len);
	assert_int_equal(unlink(log), 0);

	write_file(log, &keep);
	unchanged(&before);
	honest();
	sg_buf_free(&keep);
	sg_buf_free(&t);
	sg_buf_free(&after);
}

static void test_retired_is_the_anchors(void **st)
{
	(void)st;
	char id2[2 * HSM_ID_MAX + 1], req[CFX_PATH], param[200], rf[CFX_PATH], out[CFX_PATH];
	create_ksk(id2);
	snprintf(param, sizeof(param), "key-id=%s", id2);
	const char *params[] = {param};
	cdir_path(rf, sizeof(rf), "retired");
	/* written by hand: delete-ksk still wants a retire on record */
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&b, "signet-ceremony-retired 1\nkey %s\n", id2), SIGNET_OK);
	write_file(rf, &b);
	tstate before;
	snap(&before);
	request(CER_OP_DELETE_KSK, ZONE, params, 1, NULL, req, sizeof(req));
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, NULL), SIGNET_ESTATE, "retired first");
	unchanged(&before);
	assert_int_equal(unlink(rf), 0);
	/* retired with quorum, then the file removed (or emptied): still retired */
	request(CER_OP_RETIRE_KSK, ZONE, params, 1, NULL, req, sizeof(req));
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, NULL), SIGNET_OK, NULL);
	assert_int_not_equal(access(rf, F_OK), 0);
	sg_buf_reset(&b);
	write_file(rf, &b);
	request(CER_OP_EXPORT_DS, ZONE, params, 1, NULL, req, sizeof(req));
	fresh(out, sizeof(out), "ds");
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, out), SIGNET_ESTATE, "retired");
	assert_int_equal(unlink(rf), 0);
	request(CER_OP_EXPORT_DS, ZONE, params, 1, NULL, req, sizeof(req));
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, out), SIGNET_ESTATE, "retired");
	assert_int_not_equal(access(out, F_OK), 0);
	/* and deleted with quorum */
	snap(&before);
	request(CER_OP_DELETE_KSK, ZONE, params, 1, NULL, req, sizeof(req));
	cfx_expect(run(req, ab, ab, 2, NULL, NULL, NULL), SIGNET_OK, NULL);
	tstate now;
	snap(&now);
	assert_int_equal(now.objects, before.objects - 2);
	sg_buf_free(&now.anchor);
	sg_buf_free(&before.anchor);
	sg_buf_free(&b);
}

/* The length of the intent entry create-ksk by alice and carol will append
 * as entry seq. */
static size_t intent_len(size_t seq)
{
	char line[512];
	char h[65];
	memset(h, '0', 64);
	h[64] = 0;
	return (size_t)snprintf(line, sizeof(line), "%zu %lld create-ksk " ZONE
				" %s alice,carol started %s %s %s\n", seq, (long long)time(NULL),
				h, h, h, h);
}

/* create-ksk with the process unable to grow any file past limit octets. */
static signet_err create_limited(rlim_t limit, const char *out)
{
	const char *params[] = {"algorithm=13"};
	char req[CFX_PATH], ap[2][CFX_PATH], sp[2][2 * CFX_PATH];
	request(CER_OP_CREATE_KSK, ZONE, params, 1, NULL, req, sizeof(req));
	cfx_approve(&cf, req, 0, ap[0], sizeof(ap[0]));
	cfx_approve(&cf, req, 2, ap[1], sizeof(ap[1]));
	const char *apv[2] = {ap[0], ap[1]};
	snprintf(sp[0], sizeof(sp[0]), "%s/alice.share", sdir);
	snprintf(sp[1], sizeof(sp[1]), "%s/carol.share", sdir);
	cer_share_in in[2] = {{"alice", sp[0]}, {"carol", sp[1]}};
	cer_exec x = {.dir = cf.cdir, .request = req, .approvals = apv, .napprovals = 2,
		      .shares = in, .nshares = 2, .passes = cf.passes, .npasses = 3,
		      .hsm = cf.fx->ctx, .out = out};
	struct rlimit old, lim;
	assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
	lim = old;
	lim.rlim_cur = limit;
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &lim), 0);
	signet_err err = cer_execute(&x, CFX_ERR);
	assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
	return err;
}

static void test_transcript_unwritable(void **st)
{
	(void)st;
	signal(SIGXFSZ, SIG_IGN);
	honest();
	char log[CFX_PATH], out[CFX_PATH];
	cdir_path(log, sizeof(log), "transcript.log");
	sg_buf t = SG_BUF_INIT;
	read_file(log, &t);
	size_t n = 0, bad = 0;
	cfx_expect(cer_log_verify(log, &n, &bad, CFX_ERR), SIGNET_OK, NULL);
	tstate before;
	snap(&before);
	/* the intent cannot be recorded: nothing is done */
	fresh(out, sizeof(out), "ksk");
	cfx_expect(create_limited(t.len + 10, out), SIGNET_EIO, "nothing done");
	assert_int_not_equal(access(out, F_OK), 0);
	unchanged(&before);
	/* the intent is recorded, the outcome cannot be: the output is withheld
	 * and the transcript's last entry says the operation started */
	snap(&before);
	read_file(log, &t);
	cfx_expect(cer_log_verify(log, &n, &bad, CFX_ERR), SIGNET_OK, NULL);
	cfx_expect(create_limited(t.len + intent_len(n + 1), out), SIGNET_EIO,
		   "output withheld");
	assert_int_not_equal(access(out, F_OK), 0);
	read_file(log, &t);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	char *last = strrchr((char *)t.data, '\n');
	*last = 0;
	last = strrchr((char *)t.data, '\n');
	assert_non_null(strstr(last, " create-ksk " ZONE " "));
	assert_non_null(strstr(last, " started "));
	tstate now;
	snap(&now);
	assert_int_equal(now.objects, before.objects + 2);  /* the KSK, on record as started */
	/* verify-log says so */
	char cmd[2 * CFX_PATH], said[4096] = "";
	snprintf(cmd, sizeof(cmd), "%s verify-log --dir '%s' 2>&1", SIGNET_CEREMONY, cf.cdir);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	size_t got = fread(said, 1, sizeof(said) - 1, f);
	said[got] = 0;
	assert_int_equal(pclose(f), 0);
	assert_non_null(strstr(said, "create-ksk started, no outcome recorded (interrupted)"));
	sg_buf_free(&now.anchor);
	sg_buf_free(&before.anchor);
	sg_buf_free(&t);
	honest();
}

/* A token initialised elsewhere, whose SO PIN someone knows (the fixture's
 * own token): init-token takes it over, and that SO PIN, like the old user
 * PIN, opens nothing afterwards. */
static void test_take_over_token(void **st)
{
	(void)st;
	char cdir2[CFX_PATH], shares2[CFX_PATH], pol[CFX_PATH], req[CFX_PATH], ap[2][CFX_PATH];
	snprintf(cdir2, sizeof(cdir2), "%s/ceremony-2", cf.fx->dir);
	fresh(shares2, sizeof(shares2), "shares-takeover");
	assert_int_equal(mkdir(cdir2, 0700), 0);
	assert_int_equal(mkdir(shares2, 0700), 0);
	fresh(pol, sizeof(pol), "policy-takeover");
	cfx_write_policy(&cf, pol, 1, 3, 2, algs, 2);
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_read(pol, p, CFX_ERR), SIGNET_OK);
	snprintf(p->label, sizeof(p->label), "%s", cf.fx->label);
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(cer_policy_write(p, &b, CFX_ERR), SIGNET_OK);
	write_file(pol, &b);
	sg_buf_free(&b);
	cfx_sign_policy(&cf, pol, ab, 2);
	cfx_expect(cer_policy_adopt(cdir2, pol, CFX_ERR), SIGNET_OK, NULL);
	assert_int_equal(cer_policy_load(cdir2, p, CFX_ERR), SIGNET_OK);
	fresh(req, sizeof(req), "request");
	cfx_expect(cer_request_create(&(cer_request_params){CER_OP_INIT_TOKEN, NULL, NULL, 0, NULL,
							    time(NULL) - 10, time(NULL) + 3600},
				      p, req, NULL, CFX_ERR),
		   SIGNET_OK, NULL);
	cfx_approve(&cf, req, 0, ap[0], sizeof(ap[0]));
	cfx_approve(&cf, req, 1, ap[1], sizeof(ap[1]));
	const char *apv[2] = {ap[0], ap[1]};
	sg_secret *wrong = cfx_secret("not the SO PIN of it");
	cer_exec x = {.dir = cdir2, .request = req, .approvals = apv, .napprovals = 2,
		      .passes = cf.passes, .npasses = 3, .hsm = cf.fx->ctx, .shares_out = shares2,
		      .adopt_so_pin = wrong};
	/* without the SO PIN it is not fresh; with a wrong one nothing changes */
	x.adopt_so_pin = NULL;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EEXIST, "exists already");
	x.adopt_so_pin = wrong;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EHSM_PIN, "taking over");
	char sf[2 * CFX_PATH];
	snprintf(sf, sizeof(sf), "%s/alice.share", shares2);
	assert_int_not_equal(access(sf, F_OK), 0);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, cf.fx->serial, cf.fx->user_pin, &t, HSM_ERR),
			 SIGNET_OK);
	hsm_token_close(t);
	/* with the right one: taken over */
	x.adopt_so_pin = cf.fx->so_pin;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_OK, NULL);
	sg_secret *dummy = cfx_secret("0123456789abcdef0123456789abcdef");
	assert_int_equal(hsm_so_init_pin(cf.fx->ctx, cf.fx->serial, cf.fx->so_pin, NULL, dummy, NULL, HSM_ERR),
			 SIGNET_EHSM_PIN);
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, cf.fx->serial, cf.fx->user_pin, &t, HSM_ERR),
			 SIGNET_EHSM_PIN);
	char sp[2][2 * CFX_PATH];
	snprintf(sp[0], sizeof(sp[0]), "%s/alice.share", shares2);
	snprintf(sp[1], sizeof(sp[1]), "%s/bob.share", shares2);
	cer_share_in in[2] = {{"alice", sp[0]}, {"bob", sp[1]}};
	sg_secret *pin = NULL;
	assert_int_equal(cer_shares_combine(p, in, 2, cf.passes, 3, &pin, NULL, NULL, CFX_ERR), SIGNET_OK);
	assert_int_equal(hsm_token_open(cf.fx->ctx, NULL, cf.fx->serial, pin, &t, HSM_ERR), SIGNET_OK);
	size_t objects = 0;
	assert_int_equal(hsm_object_count(t, &objects, HSM_ERR), SIGNET_OK);
	assert_int_equal(objects, 2);  /* the anchor and its public copy */
	hsm_token_close(t);
	/* and only once */
	fresh(req, sizeof(req), "request");
	cfx_expect(cer_request_create(&(cer_request_params){CER_OP_INIT_TOKEN, NULL, NULL, 0, NULL,
							    time(NULL) - 10, time(NULL) + 3600},
				      p, req, NULL, CFX_ERR),
		   SIGNET_OK, NULL);
	cfx_approve(&cf, req, 0, ap[0], sizeof(ap[0]));
	cfx_approve(&cf, req, 1, ap[1], sizeof(ap[1]));
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EEXIST, "anchor already");
	sg_secret_free(pin);
	sg_secret_free(dummy);
	sg_secret_free(wrong);
	free(p);
}

/* Last: the SO resets the user PIN with quorum, for a lost user split. */
static void test_reset_user_pin(void **st)
{
	(void)st;
	char req[CFX_PATH], s2[CFX_PATH], s3[CFX_PATH];
	fresh(s2, sizeof(s2), "shares-reset");
	fresh(s3, sizeof(s3), "shares-reset");
	assert_int_equal(mkdir(s2, 0700), 0);
	assert_int_equal(mkdir(s3, 0700), 0);
	request(CER_OP_RESET_PIN, NULL, NULL, 0, NULL, req, sizeof(req));
	char ap[2][CFX_PATH];
	cfx_approve(&cf, req, 0, ap[0], sizeof(ap[0]));
	cfx_approve(&cf, req, 1, ap[1], sizeof(ap[1]));
	const char *apv[2] = {ap[0], ap[1]};
	char sop[2][2 * CFX_PATH];
	snprintf(sop[0], sizeof(sop[0]), "%s/bob.so-share", sdir);
	snprintf(sop[1], sizeof(sop[1]), "%s/carol.so-share", sdir);
	cer_share_in so[2] = {{"bob", sop[0]}, {"carol", sop[1]}};
	cer_exec x = {.dir = cf.cdir, .request = req, .approvals = apv, .napprovals = 2,
		      .passes = cf.passes, .npasses = 3, .hsm = cf.fx->ctx, .shares_out = s2,
		      .so_shares = so, .nso_shares = 2};
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_OK, NULL);
	/* the old user shares open nothing any more; the new ones do */
	size_t objects = 0;
	assert_int_equal(cfx_token_state(&cf, sdir, ab, 2, &objects, NULL), SIGNET_EHSM_PIN);
	snprintf(sdir, sizeof(sdir), "%s", s2);
	honest();
	/* and the reset runs once */
	tstate before;
	snap(&before);
	x.shares_out = s3;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_ESTATE, "replay");
	unchanged(&before);
	size_t entries = 0;
	cfx_expect(cer_log_verify_token(cf.cdir, NULL, cf.fx->ctx, &entries, CFX_ERR), SIGNET_OK, NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_copied_policy_lower_threshold),
		cmocka_unit_test(test_copied_policy_older_serial),
		cmocka_unit_test(test_copied_policy_other_module),
		cmocka_unit_test(test_so_pin_not_one_operators),
		cmocka_unit_test(test_replay_every_operation),
		cmocka_unit_test(test_executed_list_full),
		cmocka_unit_test(test_transcript_attacks),
		cmocka_unit_test(test_retired_is_the_anchors),
		cmocka_unit_test(test_transcript_unwritable),
		cmocka_unit_test(test_take_over_token),
		cmocka_unit_test(test_reset_user_pin),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
