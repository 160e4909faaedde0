/* test_ceremony.c -- a full 2-of-3 ceremony from files on a real SoftHSM2 token, and every refusal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>
#include <dirent.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ceremony/ceremony.h"
#include "tests/lib/softhsm_fixture.h"

#define ZONE "example.com."
#define LABEL "signet-ksk"

static softhsm_fixture *fx;
static char dir[512];                 /* files of the ceremony */
static char cdir[600];                /* the ceremony directory */
static const char *names[3] = {"alice", "bob", "carol"};
static sg_secret *pass[3];
static cer_pass passes[3];
static char keyfile[3][700], pubfile[3][700], sharefile[3][700];
static char ksk_id[2 * HSM_ID_MAX + 1];     /* the example.com KSK */
static char foreign_id[2 * HSM_ID_MAX + 1]; /* a KSK of example.net */
static int seq;

static void path(char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", dir, name);
}

/* A fresh file name for each use, since ceremony files are never overwritten. */
static void fresh(char *out, size_t len, const char *stem)
{
	snprintf(out, len, "%s/%s-%d", dir, stem, ++seq);
}

static sg_secret *secret(const char *s)
{
	sg_secret *x = NULL;
	assert_int_equal(sg_secret_new(strlen(s) + 1, &x), SIGNET_OK);
	memcpy(x->data, s, strlen(s));
	x->len = strlen(s);
	x->data[x->len] = 0;
	return x;
}

static void expect(signet_err got, signet_err want, const char *needle)
{
	if (got != want || (needle != NULL && strstr(cer_last_error(), needle) == NULL))
		fail_msg("got %s (%s), wanted %s with \"%s\"", signet_errname(got),
			 cer_last_error(), signet_errname(want), needle ? needle : "");
}

static void make_request(const char *op, const char *zone, const char *const *params,
			 size_t n, const char *keyset, int64_t nb, int64_t na, char *out,
			 size_t outlen)
{
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(cdir, p), SIGNET_OK);
	fresh(out, outlen, "request");
	signet_err err = cer_request_create(op, zone, params, n, keyset, nb, na, p, out, NULL);
	free(p);
	expect(err, SIGNET_OK, NULL);
}

static void approve(const char *req, int who, char *out, size_t outlen)
{
	fresh(out, outlen, "approval");
	expect(cer_approve(req, keyfile[who], pass[who], out), SIGNET_OK, NULL);
}

/* Key objects in the token: counted with the PIN the shares give, which only
 * a test may do. */
static size_t token_keys(void)
{
	cer_policy *p = calloc(1, sizeof(*p));
	assert_int_equal(cer_policy_load(cdir, p), SIGNET_OK);
	cer_share_in in[2] = {{"alice", sharefile[0]}, {"bob", sharefile[1]}};
	sg_secret *pin = NULL;
	char serial[17];
	assert_int_equal(cer_shares_combine(p, in, 2, passes, 3, &pin, NULL, serial), SIGNET_OK);
	free(p);
	hsm_token *t = NULL;
	assert_int_equal(hsm_token_open(fx->ctx, NULL, serial, pin, &t), SIGNET_OK);
	sg_secret_free(pin);
	hsm_key_info *keys = NULL;
	size_t n = 0;
	assert_int_equal(hsm_key_list(t, &keys, &n), SIGNET_OK);
	free(keys);
	hsm_token_close(t);
	return n;
}

/* Run op with approvals by the operators in who and shares of those in sh. */
static signet_err run(const char *req, const int *who, size_t nwho, const int *sh,
		      size_t nsh, const char *keyset, const char *out)
{
	char appr[8][700];
	const char *ap[8];
	for (size_t i = 0; i < nwho; i++) {
		approve(req, who[i], appr[i], sizeof(appr[i]));
		ap[i] = appr[i];
	}
	cer_share_in in[8];
	for (size_t i = 0; i < nsh; i++) {
		in[i].operator = names[sh[i]];
		in[i].path = sharefile[sh[i]];
	}
	cer_exec x = {.dir = cdir, .request = req, .approvals = ap, .napprovals = nwho,
		      .shares = in, .nshares = nsh, .passes = passes, .npasses = 3,
		      .hsm = fx->ctx, .keyset = keyset, .out = out};
	return cer_execute(&x);
}

static int setup(void **state)
{
	(void)state;
	if (softhsm_fixture_create(false, &fx) != SIGNET_OK)
		return -1;
	snprintf(dir, sizeof(dir), "%s/files", fx->dir);
	snprintf(cdir, sizeof(cdir), "%s/ceremony", fx->dir);
	if (mkdir(dir, 0700) != 0 || mkdir(cdir, 0700) != 0)
		return -1;
	static const char *const pw[3] = {"alice passphrase 1", "bob passphrase 22",
					  "carol passphrase 333"};
	for (int i = 0; i < 3; i++) {
		sg_secret_new(64, &pass[i]);
		memcpy(pass[i]->data, pw[i], strlen(pw[i]));
		pass[i]->len = strlen(pw[i]);
		passes[i].operator = names[i];
		passes[i].pass = pass[i];
		snprintf(keyfile[i], sizeof(keyfile[i]), "%s/%s.key", dir, names[i]);
		snprintf(pubfile[i], sizeof(pubfile[i]), "%s/%s.pub", dir, names[i]);
		snprintf(sharefile[i], sizeof(sharefile[i]), "%s/shares/%s.share", dir, names[i]);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		sg_secret_free(pass[i]);
	softhsm_fixture_destroy(fx);
	return 0;
}

static void write_policy(const char *out, uint64_t serial, int count, unsigned threshold)
{
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	p->serial = serial;
	p->threshold = threshold;
	for (int i = 0; i < count; i++)
		assert_int_equal(cer_operator_read(pubfile[i], &p->ops[p->count++]), SIGNET_OK);
	assert_true(strlen(fx->module) < sizeof(p->module));
	memcpy(p->module, fx->module, strlen(fx->module) + 1);
	snprintf(p->label, sizeof(p->label), LABEL);
	p->algs[0] = 13;
	p->algs[1] = 15;
	p->nalgs = 2;
	p->max_period = 30 * 86400;
	p->max_span = 400 * 86400;
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(cer_policy_write(p, &b), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(out, b.data, b.len, 0644), SIGNET_OK);
	sg_buf_free(&b);
	free(p);
}

static void test_enroll_and_policy(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		expect(cer_enroll(names[i], pass[i], keyfile[i], pubfile[i]), SIGNET_OK, NULL);
	/* never overwritten, bad names and short passphrases refused */
	expect(cer_enroll("alice", pass[0], keyfile[0], pubfile[0]), SIGNET_EEXIST, NULL);
	char k[700], pb[700];
	path(k, sizeof(k), "x.key");
	path(pb, sizeof(pb), "x.pub");
	expect(cer_enroll("Bad Name", pass[0], k, pb), SIGNET_EINVAL, "name");
	sg_secret *shortpw = secret("short");
	expect(cer_enroll("dave", shortpw, k, pb), SIGNET_EINVAL, "passphrase");
	sg_secret_free(shortpw);

	char pol[700];
	path(pol, sizeof(pol), "policy-1");
	write_policy(pol, 1, 3, 2);
	/* one signature is not a quorum */
	expect(cer_policy_sign_file(pol, keyfile[0], pass[0]), SIGNET_OK, NULL);
	expect(cer_policy_adopt(cdir, pol), SIGNET_EQUORUM, "1 valid signatures");
	/* a wrong passphrase cannot sign */
	sg_secret *wrong = secret("not bob's passphrase");
	expect(cer_policy_sign_file(pol, keyfile[1], wrong), SIGNET_EVERIFY, "wrong passphrase");
	sg_secret_free(wrong);
	expect(cer_policy_sign_file(pol, keyfile[1], pass[1]), SIGNET_OK, NULL);
	expect(cer_policy_adopt(cdir, pol), SIGNET_OK, NULL);

	/* a change needs the current quorum: carol alone re-signing a policy
	 * with threshold 1 for herself is refused */
	char pol2[700];
	path(pol2, sizeof(pol2), "policy-evil");
	write_policy(pol2, 2, 3, 1);
	expect(cer_policy_sign_file(pol2, keyfile[2], pass[2]), SIGNET_OK, NULL);
	expect(cer_policy_adopt(cdir, pol2), SIGNET_EQUORUM, "current quorum");
	/* not a higher serial */
	char pol3[700];
	path(pol3, sizeof(pol3), "policy-same-serial");
	write_policy(pol3, 1, 3, 2);
	expect(cer_policy_sign_file(pol3, keyfile[0], pass[0]), SIGNET_OK, NULL);
	expect(cer_policy_sign_file(pol3, keyfile[1], pass[1]), SIGNET_OK, NULL);
	expect(cer_policy_adopt(cdir, pol3), SIGNET_ESTATE, "serial");
}

static void test_init_token(void **state)
{
	(void)state;
	char shares[700], req[700];
	path(shares, sizeof(shares), "shares");
	assert_int_equal(mkdir(shares, 0700), 0);
	make_request(CER_OP_INIT_TOKEN, NULL, NULL, 0, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	char a0[700], a1[700];
	approve(req, 0, a0, sizeof(a0));
	approve(req, 1, a1, sizeof(a1));
	const char *ap[2] = {a0, a1};
	sg_secret *so = secret("so-pin-for-the-ksk-token");
	/* carol is absent: nobody may seal her share for her */
	cer_exec x = {.dir = cdir, .request = req, .approvals = ap, .napprovals = 2,
		      .passes = passes, .npasses = 2, .hsm = fx->ctx, .shares_out = shares,
		      .so_pin = so};
	expect(cer_execute(&x), SIGNET_EQUORUM, "carol");
	x.npasses = 3;
	expect(cer_execute(&x), SIGNET_OK, NULL);
	sg_secret_free(so);
	for (int i = 0; i < 3; i++)
		assert_int_equal(access(sharefile[i], R_OK), 0);
	assert_int_equal(token_keys(), 0);
}

static void key_id_from(const char *file, char *out)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 1 << 16, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	const char *p = strstr((const char *)b.data, "; key-id ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "; key-id %128s", out), 1);
	sg_buf_free(&b);
}

static void test_create_ksk(void **state)
{
	(void)state;
	const char *params[] = {"algorithm=13"};
	char req[700], out[700];
	make_request(CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	path(out, sizeof(out), "ksk.txt");
	int who[] = {0, 2}, sh[] = {0, 2};
	expect(run(req, who, 2, sh, 2, NULL, out), SIGNET_OK, NULL);
	assert_int_equal(token_keys(), 1);
	key_id_from(out, ksk_id);

	/* a KSK of another zone, for the foreign-key refusal */
	char req2[700], out2[700];
	make_request(CER_OP_CREATE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req2, sizeof(req2));
	path(out2, sizeof(out2), "ksk-net.txt");
	int who2[] = {1, 2}, sh2[] = {1, 0};
	expect(run(req2, who2, 2, sh2, 2, NULL, out2), SIGNET_OK, NULL);
	assert_int_equal(token_keys(), 2);
	key_id_from(out2, foreign_id);

	/* an algorithm outside the policy */
	const char *bad[] = {"algorithm=8"};
	char req3[700];
	make_request(CER_OP_CREATE_KSK, ZONE, bad, 1, NULL, time(NULL) - 10, time(NULL) + 3600,
		     req3, sizeof(req3));
	expect(run(req3, who, 2, sh, 2, NULL, out), SIGNET_EDENIED, "not allowed");
	assert_int_equal(token_keys(), 2);
}

static void test_create_refusals(void **state)
{
	(void)state;
	const char *params[] = {"algorithm=13"};
	char req[700], other[700], out[700];
	make_request(CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	make_request(CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, other, sizeof(other));
	path(out, sizeof(out), "never.txt");
	size_t before = token_keys();
	int a[] = {0}, ab[] = {0, 1}, aa[] = {0, 0}, b[] = {1};

	/* one approval, one share */
	expect(run(req, a, 1, ab, 2, NULL, out), SIGNET_EQUORUM, "1 distinct valid approval");
	expect(run(req, ab, 2, a, 1, NULL, out), SIGNET_EQUORUM, "1 valid share");
	/* the same operator twice counts once, for approvals and for shares */
	expect(run(req, aa, 2, ab, 2, NULL, out), SIGNET_EQUORUM, "1 distinct");
	expect(run(req, ab, 2, aa, 2, NULL, out), SIGNET_EQUORUM, "1 valid share");

	/* an approval of another request */
	char ao[700], a0[700];
	approve(other, 1, ao, sizeof(ao));
	approve(req, 0, a0, sizeof(a0));
	const char *ap[2] = {a0, ao};
	cer_share_in in[2] = {{"alice", sharefile[0]}, {"bob", sharefile[1]}};
	cer_exec x = {.dir = cdir, .request = req, .approvals = ap, .napprovals = 2,
		      .shares = in, .nshares = 2, .passes = passes, .npasses = 3,
		      .hsm = fx->ctx, .out = out};
	expect(cer_execute(&x), SIGNET_EVERIFY, "another request");

	/* an unenrolled operator */
	char dk[700], dp[700], ad[700];
	path(dk, sizeof(dk), "dave.key");
	path(dp, sizeof(dp), "dave.pub");
	sg_secret *dpw = secret("dave passphrase 4444");
	expect(cer_enroll("dave", dpw, dk, dp), SIGNET_OK, NULL);
	fresh(ad, sizeof(ad), "approval");
	expect(cer_approve(req, dk, dpw, ad), SIGNET_OK, NULL);
	sg_secret_free(dpw);
	ap[1] = ad;
	expect(cer_execute(&x), SIGNET_EDENIED, "not an operator");
	/* an approval that names bob but was signed by dave */
	sg_buf t = SG_BUF_INIT;
	assert_int_equal(sg_file_read(ad, 1 << 16, &t), SIGNET_OK);
	char forged[700];
	fresh(forged, sizeof(forged), "approval");
	char *s = strstr((char *)t.data, "operator dave");
	assert_non_null(s);
	memcpy(s, "operator bob\n", 13);
	memmove(s + 13, s + 14, t.len - (size_t)(s + 14 - (char *)t.data));
	t.len--;
	assert_int_equal(sg_file_write_atomic(forged, t.data, t.len, 0644), SIGNET_OK);
	sg_buf_free(&t);
	ap[1] = forged;
	expect(cer_execute(&x), SIGNET_EVERIFY, "does not verify");

	/* an expired request and one not yet valid */
	char old[700], later[700];
	make_request(CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 7200,
		     time(NULL) - 3600, old, sizeof(old));
	expect(run(old, ab, 2, ab, 2, NULL, out), SIGNET_ETIME, "expired");
	make_request(CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) + 3600,
		     time(NULL) + 7200, later, sizeof(later));
	expect(run(later, ab, 2, ab, 2, NULL, out), SIGNET_ETIME, "not yet valid");

	/* a wrong passphrase for a share */
	char a1[700];
	approve(req, 1, a1, sizeof(a1));
	ap[1] = a1;
	sg_secret *wrong = secret("wrong passphrase!!");
	cer_pass bad[3] = {{"alice", pass[0]}, {"bob", wrong}, {"carol", pass[2]}};
	x.passes = bad;
	expect(cer_execute(&x), SIGNET_EVERIFY, "wrong passphrase");
	x.passes = passes;
	sg_secret_free(wrong);

	/* alice's share presented as bob's */
	cer_share_in swapped[2] = {{"alice", sharefile[2]}, {"bob", sharefile[0]}};
	x.shares = swapped;
	expect(cer_execute(&x), SIGNET_EVERIFY, "belongs to");
	/* ... and with its header edited to name bob */
	assert_int_equal(sg_file_read(sharefile[0], 1 << 16, &t), SIGNET_OK);
	s = strstr((char *)t.data, "operator alice\nnumber 1");
	assert_non_null(s);
	memcpy(s, "operator bob\nnumber 2\n", 22);
	memmove(s + 22, s + 24, t.len - (size_t)(s + 24 - (char *)t.data));
	t.len -= 2;
	char moved[700];
	fresh(moved, sizeof(moved), "share");
	assert_int_equal(sg_file_write_atomic(moved, t.data, t.len, 0600), SIGNET_OK);
	sg_buf_free(&t);
	cer_share_in moved_in[2] = {{"alice", sharefile[0]}, {"bob", moved}};
	x.shares = moved_in;
	expect(cer_execute(&x), SIGNET_EVERIFY, "altered or moved");

	/* one byte of a sealed share changed */
	assert_int_equal(sg_file_read(sharefile[1], 1 << 16, &t), SIGNET_OK);
	s = strstr((char *)t.data, "sealed ");
	assert_non_null(s);
	s[10] = s[10] == 'A' ? 'B' : 'A';
	char tampered[700];
	fresh(tampered, sizeof(tampered), "share");
	assert_int_equal(sg_file_write_atomic(tampered, t.data, t.len, 0600), SIGNET_OK);
	sg_buf_free(&t);
	cer_share_in tin[2] = {{"alice", sharefile[0]}, {"bob", tampered}};
	x.shares = tin;
	expect(cer_execute(&x), SIGNET_EVERIFY, "altered");

	/* after all of that, the token holds the same keys and no output exists */
	assert_int_equal(token_keys(), before);
	assert_int_not_equal(access(out, F_OK), 0);
	(void)b;
}

/* The KSK's DNSKEY RDATA from the create-ksk output. */
static void ksk_dnskey(const char *file, sg_buf *rdata)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 1 << 16, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	char *line = strstr((char *)b.data, "\n" ZONE);
	if (line == NULL)
		line = strstr((char *)b.data, "\nexample.net.");
	assert_non_null(line);
	line++;
	*strchr(line, '\n') = 0;
	dns_name owner;
	uint16_t type, cls;
	uint32_t ttl;
	assert_int_equal(dns_rr_from_text(line, NULL, &owner, &type, &cls, &ttl, rdata),
			 SIGNET_OK);
	assert_int_equal(type, DNS_T_DNSKEY);
	sg_buf_free(&b);
}

enum ks_flaw { KS_GOOD, KS_FOREIGN, KS_BAD_PROOF, KS_NO_PROOF, KS_LONG_PERIOD };

/* A key-signing request as signetd would write it: two periods, a ZSK made
 * with OpenSSL (Ed25519) and the KSK, a CDS/CDNSKEY in the first period. */
static void build_keyset(enum ks_flaw flaw, const char *out)
{
	char f1[700], f2[700];
	path(f1, sizeof(f1), "ksk.txt");
	path(f2, sizeof(f2), "ksk-net.txt");
	sg_buf ksk = SG_BUF_INIT, net = SG_BUF_INIT, pub = SG_BUF_INIT, zsk = SG_BUF_INIT;
	ksk_dnskey(f1, &ksk);
	ksk_dnskey(f2, &net);
	EVP_PKEY *zk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(zk);
	assert_int_equal(dns_dnskey_pubkey_from_evp(15, zk, &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE, 15, pub.data, pub.len, &zsk),
			 SIGNET_OK);
	uint16_t ztag;
	assert_int_equal(dns_key_tag(zsk.data, zsk.len, &ztag), SIGNET_OK);
	dns_name zone;
	assert_int_equal(dns_name_from_str(&zone, ZONE), SIGNET_OK);
	dns_keyset ks = {.kind = DNS_KEYSET_REQUEST, .zone = zone, .serial = 7};
	ks.count = 2;
	ks.periods = calloc(2, sizeof(*ks.periods));
	uint32_t now = (uint32_t)time(NULL), start = now - 3600;
	uint32_t len = flaw == KS_LONG_PERIOD ? 40 * 86400 : 10 * 86400;
	for (size_t i = 0; i < 2; i++) {
		dns_keyset_period *p = &ks.periods[i];
		p->inception = start + (uint32_t)i * len;
		p->expiration = p->inception + len;
		dns_rrset_init(&p->dnskey, &zone, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
		dns_rrset_init(&p->cds, &zone, DNS_T_CDS, DNS_CLASS_IN, 3600);
		dns_rrset_init(&p->cdnskey, &zone, DNS_T_CDNSKEY, DNS_CLASS_IN, 3600);
		dns_rrset_init(&p->sigs, &zone, DNS_T_RRSIG, DNS_CLASS_IN, 3600);
		assert_int_equal(dns_rrset_add(&p->dnskey, zsk.data, zsk.len), SIGNET_OK);
		assert_int_equal(dns_rrset_add(&p->dnskey, ksk.data, ksk.len), SIGNET_OK);
		if (flaw == KS_FOREIGN && i == 1)
			assert_int_equal(dns_rrset_add(&p->dnskey, net.data, net.len), SIGNET_OK);
		if (i == 0) {
			sg_buf ds = SG_BUF_INIT;
			assert_int_equal(dns_ds_rdata(&zone, ksk.data, ksk.len, 2, &ds), SIGNET_OK);
			assert_int_equal(dns_rrset_add(&p->cds, ds.data, ds.len), SIGNET_OK);
			assert_int_equal(dns_rrset_add(&p->cdnskey, ksk.data, ksk.len), SIGNET_OK);
			sg_buf_free(&ds);
		}
		assert_int_equal(dns_rrset_canonicalize(&p->dnskey), SIGNET_OK);
		if (flaw == KS_NO_PROOF && i == 1)
			continue;
		dns_rrsig sig;
		sg_buf data = SG_BUF_INIT, rd = SG_BUF_INIT;
		assert_int_equal(dns_rrsig_prepare(&sig, &p->dnskey, 15, ztag, &zone, p->inception,
						   p->expiration), SIGNET_OK);
		assert_int_equal(dns_rrsig_signed_data(&sig, &p->dnskey, &data), SIGNET_OK);
		EVP_MD_CTX *md = EVP_MD_CTX_new();
		size_t sl = sizeof(sig.sig);
		assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, zk), 1);
		assert_int_equal(EVP_DigestSign(md, sig.sig, &sl, data.data, data.len), 1);
		EVP_MD_CTX_free(md);
		sig.sig_len = (uint16_t)sl;
		if (flaw == KS_BAD_PROOF && i == 1)
			sig.sig[5] ^= 1;
		assert_int_equal(dns_rrsig_to_rdata(&sig, &rd), SIGNET_OK);
		assert_int_equal(dns_rrset_add(&p->sigs, rd.data, rd.len), SIGNET_OK);
		sg_buf_free(&data);
		sg_buf_free(&rd);
	}
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(dns_keyset_write(&ks, &text), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(out, text.data, text.len, 0644), SIGNET_OK);
	sg_buf_free(&text);
	dns_keyset_free(&ks);
	EVP_PKEY_free(zk);
	sg_buf_free(&ksk);
	sg_buf_free(&net);
	sg_buf_free(&pub);
	sg_buf_free(&zsk);
}

static void sign_keyset_expect(enum ks_flaw flaw, signet_err want, const char *needle,
			       char *out, size_t outlen)
{
	char ks[700], req[700], param[200];
	fresh(ks, sizeof(ks), "ksr");
	build_keyset(flaw, ks);
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *params[] = {param};
	make_request(CER_OP_SIGN_KEYSET, ZONE, params, 1, ks, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	fresh(out, outlen, "bundle");
	int who[] = {1, 2}, sh[] = {2, 1};
	expect(run(req, who, 2, sh, 2, ks, out), want, needle);
}

static void test_sign_keyset(void **state)
{
	(void)state;
	char out[700];
	size_t before = token_keys();
	sign_keyset_expect(KS_GOOD, SIGNET_OK, NULL, out, sizeof(out));

	/* every KSK RRSIG of the bundle verifies, and every non-empty set has one */
	sg_buf b = SG_BUF_INIT, ksk = SG_BUF_INIT;
	char kf[700];
	path(kf, sizeof(kf), "ksk.txt");
	ksk_dnskey(kf, &ksk);
	assert_int_equal(sg_file_read(out, 1 << 20, &b), SIGNET_OK);
	dns_keyset bundle;
	assert_int_equal(dns_keyset_parse((const char *)b.data, b.len, &bundle, NULL), SIGNET_OK);
	assert_int_equal(bundle.kind, DNS_KEYSET_BUNDLE);
	assert_int_equal(bundle.count, 2);
	size_t verified = 0;
	for (size_t i = 0; i < bundle.count; i++) {
		dns_keyset_period *p = &bundle.periods[i];
		size_t want = 1 + (p->cds.count ? 1 : 0) + (p->cdnskey.count ? 1 : 0);
		assert_int_equal(p->sigs.count, want);
		for (size_t j = 0; j < p->sigs.count; j++) {
			dns_rrsig sig;
			assert_int_equal(dns_rrsig_from_rdata(&sig, p->sigs.rr[j].data,
							      p->sigs.rr[j].len), SIGNET_OK);
			dns_rrset *set = sig.type_covered == DNS_T_DNSKEY ? &p->dnskey
					 : sig.type_covered == DNS_T_CDS ? &p->cds : &p->cdnskey;
			assert_int_equal(dns_rrsig_verify(&sig, set, ksk.data, ksk.len,
							  &bundle.zone, (uint32_t)time(NULL) +
							  (i ? 10 * 86400 : 0)), SIGNET_OK);
			assert_int_equal(sig.inception, p->inception);
			assert_int_equal(sig.expiration, p->expiration);
			verified++;
		}
	}
	assert_int_equal(verified, 4);
	dns_keyset_free(&bundle);
	sg_buf_free(&b);
	sg_buf_free(&ksk);

	sign_keyset_expect(KS_FOREIGN, SIGNET_EDENIED, "foreign zone", out, sizeof(out));
	assert_int_not_equal(access(out, F_OK), 0);
	sign_keyset_expect(KS_BAD_PROOF, SIGNET_EVERIFY, "does not verify", out, sizeof(out));
	sign_keyset_expect(KS_NO_PROOF, SIGNET_EVERIFY, "no valid proof", out, sizeof(out));
	sign_keyset_expect(KS_LONG_PERIOD, SIGNET_EDENIED, "policy allows", out, sizeof(out));

	/* the keyset approved is not the one presented */
	char ks1[700], ks2[700], req[700], param[200];
	fresh(ks1, sizeof(ks1), "ksr");
	fresh(ks2, sizeof(ks2), "ksr");
	build_keyset(KS_GOOD, ks1);
	build_keyset(KS_GOOD, ks2);  /* a fresh ZSK: different content */
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *params[] = {param};
	make_request(CER_OP_SIGN_KEYSET, ZONE, params, 1, ks1, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	int who[] = {0, 1};
	expect(run(req, who, 2, who, 2, ks2, out), SIGNET_EVERIFY, "not the one");
	assert_int_equal(token_keys(), before);
}

static void test_export_ds(void **state)
{
	(void)state;
	char req[700], out[700], param[200];
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *params[] = {"digests=2,4", param};
	make_request(CER_OP_EXPORT_DS, ZONE, params, 2, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	path(out, sizeof(out), "ds.txt");
	int who[] = {0, 1};
	expect(run(req, who, 2, who, 2, NULL, out), SIGNET_OK, NULL);

	sg_buf text = SG_BUF_INIT, ksk = SG_BUF_INIT, ds = SG_BUF_INIT, line = SG_BUF_INIT;
	assert_int_equal(sg_file_read(out, 1 << 16, &text), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&text, 0), SIGNET_OK);
	ksk_dnskey(out, &ksk);
	dns_name zone;
	assert_int_equal(dns_name_from_str(&zone, ZONE), SIGNET_OK);
	for (uint8_t d = 2; d <= 4; d += 2) {
		sg_buf_reset(&ds);
		sg_buf_reset(&line);
		assert_int_equal(dns_ds_rdata(&zone, ksk.data, ksk.len, d, &ds), SIGNET_OK);
		assert_int_equal(dns_rr_to_text(&zone, DNS_T_DS, DNS_CLASS_IN, 3600, ds.data,
						ds.len, &line), SIGNET_OK);
		assert_non_null(strstr((const char *)text.data, (const char *)line.data));
	}
	/* the approvals travel with the DS */
	assert_non_null(strstr((const char *)text.data, ";; operator alice"));
	assert_non_null(strstr((const char *)text.data, ";; operator bob"));

	/* BIND's dnssec-dsfromkey computes the same DS from the DNSKEY */
	char keyf[700], cmd[1600];
	path(keyf, sizeof(keyf), "ksk-dnskey.txt");
	sg_buf_reset(&line);
	assert_int_equal(dns_rr_to_text(&zone, DNS_T_DNSKEY, DNS_CLASS_IN, 3600, ksk.data,
					ksk.len, &line), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&line, '\n'), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(keyf, line.data, line.len, 0644), SIGNET_OK);
	snprintf(cmd, sizeof(cmd), "dnssec-dsfromkey -2 -f %s " ZONE " 2>/dev/null", keyf);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char got[1024] = "";
	char *ok = fgets(got, sizeof(got), f);
	int st = pclose(f);
	if (ok == NULL || st != 0) {
		print_message("dnssec-dsfromkey not usable here; skipping that check\n");
	} else {
		unsigned tag, alg, dt;
		char hex[200];
		assert_int_equal(sscanf(got, "%*s IN DS %u %u %u %199s", &tag, &alg, &dt, hex), 4);
		sg_buf_reset(&ds);
		assert_int_equal(dns_ds_rdata(&zone, ksk.data, ksk.len, 2, &ds), SIGNET_OK);
		assert_int_equal(tag, sg_get_u16(ds.data));
		assert_int_equal(alg, ds.data[2]);
		assert_int_equal(dt, 2);
		sg_buf h = SG_BUF_INIT;
		assert_int_equal(sg_hex_encode(ds.data + 4, ds.len - 4, &h), SIGNET_OK);
		assert_int_equal(strcasecmp(hex, (const char *)h.data), 0);
		sg_buf_free(&h);
	}
	sg_buf_free(&text);
	sg_buf_free(&ksk);
	sg_buf_free(&ds);
	sg_buf_free(&line);
}

static void test_retire_delete(void **state)
{
	(void)state;
	char req[700], param[200];
	snprintf(param, sizeof(param), "key-id=%s", foreign_id);
	const char *params[] = {param};
	int who[] = {0, 2};
	size_t before = token_keys();
	/* delete before retire is refused */
	make_request(CER_OP_DELETE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	expect(run(req, who, 2, who, 2, NULL, NULL), SIGNET_ESTATE, "retired first");
	make_request(CER_OP_RETIRE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	expect(run(req, who, 2, who, 2, NULL, NULL), SIGNET_OK, NULL);
	/* a retired KSK exports no DS */
	const char *p2[] = {param};
	char out[700];
	make_request(CER_OP_EXPORT_DS, "example.net.", p2, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	path(out, sizeof(out), "net-ds.txt");
	expect(run(req, who, 2, who, 2, NULL, out), SIGNET_ESTATE, "retired");
	make_request(CER_OP_DELETE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	expect(run(req, who, 2, who, 2, NULL, NULL), SIGNET_OK, NULL);
	assert_int_equal(token_keys(), before - 1);
	/* the KSK of one zone is not the KSK of another */
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	make_request(CER_OP_RETIRE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		     time(NULL) + 3600, req, sizeof(req));
	expect(run(req, who, 2, who, 2, NULL, NULL), SIGNET_EDENIED, "not a KSK of");
}

static void test_transcript(void **state)
{
	(void)state;
	char log[700], copy[700];
	snprintf(log, sizeof(log), "%s/transcript.log", cdir);
	size_t n = 0, bad = 0;
	expect(cer_log_verify(log, &n, &bad), SIGNET_OK, NULL);
	assert_true(n > 10);  /* adoption, operations and every refusal */
	sg_buf t = SG_BUF_INIT;
	assert_int_equal(sg_file_read(log, CER_LOG_MAX, &t), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	assert_non_null(strstr((const char *)t.data, " create-ksk example.com. "));
	assert_non_null(strstr((const char *)t.data, " SIGNET_EQUORUM "));
	/* change the result of entry 3: entry 3 is reported */
	char *line = (char *)t.data;
	for (int i = 0; i < 2; i++)
		line = strchr(line, '\n') + 1;
	char *res = strstr(line, " ok ");
	if (res == NULL || res > strchr(line, '\n'))
		res = strstr(line, " SIGNET_");
	assert_non_null(res);
	res[2] = res[2] == 'X' ? 'Y' : 'X';
	fresh(copy, sizeof(copy), "log");
	assert_int_equal(sg_file_write_atomic(copy, t.data, t.len - 1, 0644), SIGNET_OK);
	expect(cer_log_verify(copy, &n, &bad), SIGNET_EVERIFY, "entry 3");
	assert_int_equal(bad, 3);
	assert_int_equal(n, 2);
	/* appending to a broken log is refused */
	cer_log_entry e = {.time = 1, .op = "x", .zone = "-", .approvers = "-", .result = "ok"};
	expect(cer_log_append(copy, &e), SIGNET_EVERIFY, "broken");
	/* a deleted entry breaks the chain where it was */
	res[2] = res[2] == 'X' ? 'Y' : 'X';
	char *next = strchr(line, '\n') + 1;
	memmove(line, next, strlen(next) + 1);
	fresh(copy, sizeof(copy), "log");
	assert_int_equal(sg_file_write_atomic(copy, t.data, strlen((char *)t.data), 0644),
			 SIGNET_OK);
	expect(cer_log_verify(copy, &n, &bad), SIGNET_EVERIFY, "entry 3");
	/* a truncated last line */
	fresh(copy, sizeof(copy), "log");
	assert_int_equal(sg_file_write_atomic(copy, t.data, strlen((char *)t.data) - 5, 0644),
			 SIGNET_OK);
	assert_int_equal(cer_log_verify(copy, &n, &bad), SIGNET_EVERIFY);
	sg_buf_free(&t);
}

/* Hostile or broken input files give clear errors, never a crash. */
static void test_garbage(void **state)
{
	(void)state;
	static const char *const bodies[] = {
		"",
		"\n",
		"signet-ceremony-request 1\n",
		"signet-ceremony-request 1\noperation create-ksk\n",
		"signet-ceremony-request 2\noperation create-ksk\n",
		"signet-ceremony-request 1\noperation rm-rf\nzone -\n",
		"signet-ceremony-request 1\noperation create-ksk\nzone example.com.\n"
		"not-before 5\nnot-after 99999999999\nnonce 00\npolicy 00\n",
		"signet-ceremony-request 1\x01\n",
		"signet-ceremony-request 1\noperation  create-ksk\n",
		"signet-ceremony-request 1\noperation create-ksk\nzone example.com.\n"
		"param b 1\nparam a 2\nnot-before 5\nnot-after 6\n"
		"nonce 00000000000000000000000000000000\npolicy "
		"0000000000000000000000000000000000000000000000000000000000000000\n",
	};
	char f[700];
	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++) {
		fresh(f, sizeof(f), "garbage");
		assert_int_equal(sg_file_write_atomic(f, bodies[i], strlen(bodies[i]), 0644),
				 SIGNET_OK);
		cer_request r;
		signet_err err = cer_request_read(f, &r);
		if (err == SIGNET_OK)
			fail_msg("garbage %zu accepted", i);
		assert_true(strlen(cer_last_error()) > 5);
		cer_approval a;
		assert_int_not_equal(cer_approval_read(f, &a), SIGNET_OK);
		cer_policy *p = calloc(1, sizeof(*p));
		assert_int_not_equal(cer_policy_read(f, p), SIGNET_OK);
		free(p);
		cer_operator o;
		assert_int_not_equal(cer_operator_read(f, &o), SIGNET_OK);
		size_t n, bad;
		if (i > 1)
			assert_int_equal(cer_log_verify(f, &n, &bad), SIGNET_EVERIFY);
	}
	/* an overlong file */
	sg_buf big = SG_BUF_INIT;
	assert_int_equal(sg_buf_printf(&big, "signet-ceremony-request 1\n"), SIGNET_OK);
	while (big.len <= CER_FILE_MAX)
		assert_int_equal(sg_buf_printf(&big, "param a %0100d\n", 1), SIGNET_OK);
	fresh(f, sizeof(f), "big");
	assert_int_equal(sg_file_write_atomic(f, big.data, big.len, 0644), SIGNET_OK);
	sg_buf_free(&big);
	cer_request r;
	expect(cer_request_read(f, &r), SIGNET_ERANGE, "larger than");
	/* a missing file */
	expect(cer_request_read("/nonexistent/request", &r), SIGNET_ENOTFOUND, "cannot read");
	/* a share with an absurd scrypt cost is refused before any work */
	sg_buf t = SG_BUF_INIT;
	assert_int_equal(sg_file_read(sharefile[0], 1 << 16, &t), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	char *k = strstr((char *)t.data, "kdf scrypt 32768");
	assert_non_null(k);
	memcpy(k, "kdf scrypt 99999", 16);
	fresh(f, sizeof(f), "share");
	assert_int_equal(sg_file_write_atomic(f, t.data, t.len - 1, 0600), SIGNET_OK);
	sg_buf_free(&t);
	cer_policy *p = calloc(1, sizeof(*p));
	assert_int_equal(cer_policy_load(cdir, p), SIGNET_OK);
	cer_share_in in[2] = {{"alice", f}, {"bob", sharefile[1]}};
	sg_secret *pin = NULL;
	expect(cer_shares_combine(p, in, 2, passes, 3, &pin, NULL, NULL), SIGNET_ERANGE, "scrypt");
	free(p);
}

static bool file_has(const char *file, const sg_secret *pin)
{
	sg_buf b = SG_BUF_INIT;
	bool found = false;
	if (sg_file_read(file, CER_LOG_MAX, &b) == SIGNET_OK && b.len >= pin->len)
		for (size_t i = 0; i + pin->len <= b.len && !found; i++)
			found = memcmp(b.data + i, pin->data, pin->len) == 0;
	sg_buf_free(&b);
	return found;
}

static size_t scan_dir(const char *d, const sg_secret *pin)
{
	DIR *dh = opendir(d);
	assert_non_null(dh);
	size_t files = 0;
	struct dirent *e;
	while ((e = readdir(dh)) != NULL) {
		if (e->d_name[0] == '.')
			continue;
		char f[1200];
		snprintf(f, sizeof(f), "%s/%s", d, e->d_name);
		struct stat st;
		if (stat(f, &st) != 0)
			continue;
		if (S_ISDIR(st.st_mode)) {
			files += scan_dir(f, pin);
			continue;
		}
		if (file_has(f, pin))
			fail_msg("the PIN appears in %s", f);
		files++;
	}
	closedir(dh);
	return files;
}

/* The PIN is in no file the ceremony wrote, nor in any error message. */
static void test_pin_nowhere(void **state)
{
	(void)state;
	cer_policy *p = calloc(1, sizeof(*p));
	assert_int_equal(cer_policy_load(cdir, p), SIGNET_OK);
	cer_share_in in[2] = {{"bob", sharefile[1]}, {"carol", sharefile[2]}};
	sg_secret *pin = NULL;
	assert_int_equal(cer_shares_combine(p, in, 2, passes, 3, &pin, NULL, NULL), SIGNET_OK);
	free(p);
	assert_int_equal(pin->len, 2 * CER_PIN_OCTETS);
	assert_true(scan_dir(fx->dir, pin) > 20);
	assert_null(strstr(cer_last_error(), (const char *)pin->data));
	sg_secret_free(pin);
}

static void test_words(void **state)
{
	(void)state;
	uint8_t h[CER_HASH_LEN];
	for (size_t i = 0; i < sizeof(h); i++)
		h[i] = (uint8_t)(i * 8);
	sg_buf w = SG_BUF_INIT;
	assert_int_equal(cer_words(h, &w), SIGNET_OK);
	assert_int_equal(strncmp((const char *)w.data, "acorn ", 6), 0);
	for (unsigned i = 0; i < 256; i++)
		for (unsigned j = 0; j < i; j++)
			assert_string_not_equal(cer_word((uint8_t)i), cer_word((uint8_t)j));
	sg_buf_free(&w);
}

/* dns_keyset_digest: RR order does not matter, content, kind and serial do. */
static void test_keyset_digest(void **state)
{
	(void)state;
	dns_name zone;
	assert_int_equal(dns_name_from_str(&zone, ZONE), SIGNET_OK);
	dns_keyset_period per[1];
	memset(per, 0, sizeof(per));
	dns_keyset ks = {.kind = DNS_KEYSET_REQUEST, .zone = zone, .serial = 3, .periods = per,
			 .count = 1};
	per[0].inception = 1000;
	per[0].expiration = 2000;
	dns_rrset_init(&per[0].dnskey, &zone, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
	dns_rrset_init(&per[0].cds, &zone, DNS_T_CDS, DNS_CLASS_IN, 3600);
	dns_rrset_init(&per[0].cdnskey, &zone, DNS_T_CDNSKEY, DNS_CLASS_IN, 3600);
	dns_rrset_init(&per[0].sigs, &zone, DNS_T_RRSIG, DNS_CLASS_IN, 3600);
	uint8_t k1[36] = {1, 0, 3, 15}, k2[36] = {1, 1, 3, 15};
	k1[10] = 7;
	k2[10] = 9;
	assert_int_equal(dns_rrset_add(&per[0].dnskey, k1, sizeof(k1)), SIGNET_OK);
	assert_int_equal(dns_rrset_add(&per[0].dnskey, k2, sizeof(k2)), SIGNET_OK);
	uint8_t a[32], b[32];
	assert_int_equal(dns_keyset_digest(&ks, a), SIGNET_OK);
	dns_rdata t = per[0].dnskey.rr[0];
	per[0].dnskey.rr[0] = per[0].dnskey.rr[1];
	per[0].dnskey.rr[1] = t;
	assert_int_equal(dns_keyset_digest(&ks, b), SIGNET_OK);
	assert_memory_equal(a, b, 32);
	per[0].dnskey.rr[0].data[20] ^= 1;
	assert_int_equal(dns_keyset_digest(&ks, b), SIGNET_OK);
	assert_memory_not_equal(a, b, 32);
	per[0].dnskey.rr[0].data[20] ^= 1;
	ks.serial = 4;
	assert_int_equal(dns_keyset_digest(&ks, b), SIGNET_OK);
	assert_memory_not_equal(a, b, 32);
	ks.serial = 3;
	ks.kind = DNS_KEYSET_BUNDLE;
	assert_int_equal(dns_keyset_digest(&ks, b), SIGNET_OK);
	assert_memory_not_equal(a, b, 32);
	ks.kind = 9;
	assert_int_equal(dns_keyset_digest(&ks, b), SIGNET_EINVAL);
	assert_int_equal(dns_keyset_digest(NULL, b), SIGNET_EINVAL);
	dns_rrset_clear(&per[0].dnskey);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_words),
		cmocka_unit_test(test_keyset_digest),
		cmocka_unit_test(test_enroll_and_policy),
		cmocka_unit_test(test_init_token),
		cmocka_unit_test(test_create_ksk),
		cmocka_unit_test(test_create_refusals),
		cmocka_unit_test(test_sign_keyset),
		cmocka_unit_test(test_export_ds),
		cmocka_unit_test(test_retire_delete),
		cmocka_unit_test(test_transcript),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_pin_nowhere),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
