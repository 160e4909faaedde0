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
#include "tests/lib/ceremony_fixture.h"

#define ZONE "example.com."

static const char *const names[3] = {"alice", "bob", "carol"};
static const char *const pws[3] = {"alice passphrase 1", "bob passphrase 22",
				   "carol passphrase 333"};
static cer_fixture cf;
static char ksk_id[2 * HSM_ID_MAX + 1];     /* the example.com KSK */
static char foreign_id[2 * HSM_ID_MAX + 1]; /* a KSK of example.net */

static void path(char *out, size_t len, const char *name)
{
	cfx_path(&cf, out, len, name);
}

static void fresh(char *out, size_t len, const char *stem)
{
	cfx_fresh(&cf, out, len, stem);
}

/* Key objects in the token: counted with the PIN the shares of alice and
 * bob give, which only a test may do. */
static size_t token_keys(void)
{
	static const int ab[] = {0, 1};
	size_t n = 0;
	assert_int_equal(cfx_token_keys(&cf, NULL, ab, 2, false, &n), SIGNET_OK);
	return n;
}

/* Run op with approvals by the operators in who and shares of those in sh. */
static signet_err run(const char *req, const int *who, size_t nwho, const int *sh,
		      size_t nsh, const char *keyset, const char *out)
{
	return cfx_run(&cf, req, who, nwho, sh, nsh, NULL, keyset, NULL, out);
}

static int setup(void **state)
{
	(void)state;
	cfx_opts o = {.nops = 3, .names = names, .pws = pws};
	return cfx_create(&cf, &o) == SIGNET_OK ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	cfx_destroy(&cf);
	return 0;
}

static void write_policy(const char *out, uint64_t serial, size_t count, unsigned threshold)
{
	static const uint8_t algs[] = {13, 15};
	cfx_write_policy(&cf, out, serial, count, threshold, algs, 2);
}

static void test_enroll_and_policy(void **state)
{
	(void)state;
	for (int i = 0; i < 3; i++)
		cfx_expect(cer_enroll(names[i], cf.pass[i], cf.keyfile[i], cf.pubfile[i], CFX_ERR),
			   SIGNET_OK, NULL);
	/* never overwritten, bad names and short passphrases refused */
	cfx_expect(cer_enroll("alice", cf.pass[0], cf.keyfile[0], cf.pubfile[0], CFX_ERR), SIGNET_EEXIST,
		   NULL);
	char k[700], pb[700];
	path(k, sizeof(k), "x.key");
	path(pb, sizeof(pb), "x.pub");
	cfx_expect(cer_enroll("Bad Name", cf.pass[0], k, pb, CFX_ERR), SIGNET_EINVAL, "name");
	sg_secret *shortpw = cfx_secret("short");
	cfx_expect(cer_enroll("dave", shortpw, k, pb, CFX_ERR), SIGNET_EINVAL, "passphrase");
	sg_secret_free(shortpw);

	char pol[700];
	path(pol, sizeof(pol), "policy-1");
	write_policy(pol, 1, 3, 2);
	/* one signature is not a quorum */
	cfx_expect(cer_policy_sign_file(pol, cf.keyfile[0], cf.pass[0], CFX_ERR), SIGNET_OK, NULL);
	cfx_expect(cer_policy_adopt(cf.cdir, pol, CFX_ERR), SIGNET_EQUORUM, "1 valid signatures");
	/* a wrong passphrase cannot sign */
	sg_secret *wrong = cfx_secret("not bob's passphrase");
	cfx_expect(cer_policy_sign_file(pol, cf.keyfile[1], wrong, CFX_ERR), SIGNET_EVERIFY,
		   "wrong passphrase");
	sg_secret_free(wrong);
	cfx_expect(cer_policy_sign_file(pol, cf.keyfile[1], cf.pass[1], CFX_ERR), SIGNET_OK, NULL);
	cfx_expect(cer_policy_adopt(cf.cdir, pol, CFX_ERR), SIGNET_OK, NULL);

	/* a change needs the current quorum: carol alone re-signing a policy
	 * with threshold 1 for herself is refused */
	char pol2[700];
	path(pol2, sizeof(pol2), "policy-evil");
	write_policy(pol2, 2, 3, 1);
	cfx_expect(cer_policy_sign_file(pol2, cf.keyfile[2], cf.pass[2], CFX_ERR), SIGNET_OK, NULL);
	cfx_expect(cer_policy_adopt(cf.cdir, pol2, CFX_ERR), SIGNET_EQUORUM, "current quorum");
	/* not a higher serial */
	char pol3[700];
	path(pol3, sizeof(pol3), "policy-same-serial");
	write_policy(pol3, 1, 3, 2);
	cfx_expect(cer_policy_sign_file(pol3, cf.keyfile[0], cf.pass[0], CFX_ERR), SIGNET_OK, NULL);
	cfx_expect(cer_policy_sign_file(pol3, cf.keyfile[1], cf.pass[1], CFX_ERR), SIGNET_OK, NULL);
	cfx_expect(cer_policy_adopt(cf.cdir, pol3, CFX_ERR), SIGNET_ESTATE, "serial");
}

static void test_init_token(void **state)
{
	(void)state;
	char shares[700], req[700];
	path(shares, sizeof(shares), "shares");
	assert_int_equal(mkdir(shares, 0700), 0);
	cfx_request(&cf, CER_OP_INIT_TOKEN, NULL, NULL, 0, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	char a0[700], a1[700];
	cfx_approve(&cf, req, 0, a0, sizeof(a0));
	cfx_approve(&cf, req, 1, a1, sizeof(a1));
	const char *ap[2] = {a0, a1};
	/* carol is absent: nobody may seal her share for her */
	cer_exec x = {.dir = cf.cdir, .request = req, .approvals = ap, .napprovals = 2,
		      .passes = cf.passes, .npasses = 2, .hsm = cf.fx->ctx, .shares_out = shares};
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EQUORUM, "carol");
	x.npasses = 3;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_OK, NULL);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(access(cf.sharefile[i], R_OK), 0);
		assert_int_equal(access(cf.sosharefile[i], R_OK), 0);
	}
	/* a second init-token, even with the same approved request, is refused */
	char other[700];
	path(other, sizeof(other), "shares-again");
	assert_int_equal(mkdir(other, 0700), 0);
	x.shares_out = other;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EEXIST, "exists already");
	assert_int_equal(token_keys(), 0);
}

static void test_create_ksk(void **state)
{
	(void)state;
	const char *params[] = {"algorithm=13"};
	char req[700], out[700];
	cfx_request(&cf, CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	path(out, sizeof(out), "ksk.txt");
	int who[] = {0, 2}, sh[] = {0, 2};
	cfx_expect(run(req, who, 2, sh, 2, NULL, out), SIGNET_OK, NULL);
	assert_int_equal(token_keys(), 1);
	cfx_key_id(out, ksk_id);

	/* a KSK of another zone, for the foreign-key refusal */
	char req2[700], out2[700];
	cfx_request(&cf, CER_OP_CREATE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req2, sizeof(req2));
	path(out2, sizeof(out2), "ksk-net.txt");
	int who2[] = {1, 2}, sh2[] = {1, 0};
	cfx_expect(run(req2, who2, 2, sh2, 2, NULL, out2), SIGNET_OK, NULL);
	assert_int_equal(token_keys(), 2);
	cfx_key_id(out2, foreign_id);

	/* an algorithm outside the policy */
	const char *bad[] = {"algorithm=8"};
	char req3[700];
	cfx_request(&cf, CER_OP_CREATE_KSK, ZONE, bad, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req3, sizeof(req3));
	cfx_expect(run(req3, who, 2, sh, 2, NULL, out), SIGNET_EDENIED, "not allowed");
	assert_int_equal(token_keys(), 2);
}

static void test_create_refusals(void **state)
{
	(void)state;
	const char *params[] = {"algorithm=13"};
	char req[700], other[700], out[700];
	cfx_request(&cf, CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	cfx_request(&cf, CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, other, sizeof(other));
	path(out, sizeof(out), "never.txt");
	size_t before = token_keys();
	int a[] = {0}, ab[] = {0, 1}, aa[] = {0, 0}, b[] = {1};

	/* one approval, one share */
	cfx_expect(run(req, a, 1, ab, 2, NULL, out), SIGNET_EQUORUM, "1 distinct valid approval");
	cfx_expect(run(req, ab, 2, a, 1, NULL, out), SIGNET_EQUORUM, "1 valid share");
	/* the same operator twice counts once, for approvals and for shares */
	cfx_expect(run(req, aa, 2, ab, 2, NULL, out), SIGNET_EQUORUM, "1 distinct");
	cfx_expect(run(req, ab, 2, aa, 2, NULL, out), SIGNET_EQUORUM, "1 valid share");

	/* an approval of another request */
	char ao[700], a0[700];
	cfx_approve(&cf, other, 1, ao, sizeof(ao));
	cfx_approve(&cf, req, 0, a0, sizeof(a0));
	const char *ap[2] = {a0, ao};
	cer_share_in in[2] = {{"alice", cf.sharefile[0]}, {"bob", cf.sharefile[1]}};
	cer_exec x = {.dir = cf.cdir, .request = req, .approvals = ap, .napprovals = 2,
		      .shares = in, .nshares = 2, .passes = cf.passes, .npasses = 3,
		      .hsm = cf.fx->ctx, .out = out};
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EVERIFY, "another request");

	/* an unenrolled operator */
	char dk[700], dp[700], ad[700];
	path(dk, sizeof(dk), "dave.key");
	path(dp, sizeof(dp), "dave.pub");
	sg_secret *dpw = cfx_secret("dave passphrase 4444");
	cfx_expect(cer_enroll("dave", dpw, dk, dp, CFX_ERR), SIGNET_OK, NULL);
	fresh(ad, sizeof(ad), "approval");
	cfx_expect(cer_approve(req, dk, dpw, ad, CFX_ERR), SIGNET_OK, NULL);
	sg_secret_free(dpw);
	ap[1] = ad;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EDENIED, "not an operator");
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
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EVERIFY, "does not verify");

	/* an expired request and one not yet valid */
	char old[700], later[700];
	cfx_request(&cf, CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) - 7200,
		    time(NULL) - 3600, old, sizeof(old));
	cfx_expect(run(old, ab, 2, ab, 2, NULL, out), SIGNET_ETIME, "expired");
	cfx_request(&cf, CER_OP_CREATE_KSK, ZONE, params, 1, NULL, time(NULL) + 3600,
		    time(NULL) + 7200, later, sizeof(later));
	cfx_expect(run(later, ab, 2, ab, 2, NULL, out), SIGNET_ETIME, "not yet valid");

	/* a wrong passphrase for a share */
	char a1[700];
	cfx_approve(&cf, req, 1, a1, sizeof(a1));
	ap[1] = a1;
	sg_secret *wrong = cfx_secret("wrong passphrase!!");
	cer_pass bad[3] = {{"alice", cf.pass[0]}, {"bob", wrong}, {"carol", cf.pass[2]}};
	x.passes = bad;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EVERIFY, "wrong passphrase");
	x.passes = cf.passes;
	sg_secret_free(wrong);

	/* alice's share presented as bob's */
	cer_share_in swapped[2] = {{"alice", cf.sharefile[2]}, {"bob", cf.sharefile[0]}};
	x.shares = swapped;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EVERIFY, "belongs to");
	/* ... and with its header edited to name bob */
	assert_int_equal(sg_file_read(cf.sharefile[0], 1 << 16, &t), SIGNET_OK);
	s = strstr((char *)t.data, "operator alice\nnumber 1");
	assert_non_null(s);
	memcpy(s, "operator bob\nnumber 2\n", 22);
	memmove(s + 22, s + 24, t.len - (size_t)(s + 24 - (char *)t.data));
	t.len -= 2;
	char moved[700];
	fresh(moved, sizeof(moved), "share");
	assert_int_equal(sg_file_write_atomic(moved, t.data, t.len, 0600), SIGNET_OK);
	sg_buf_free(&t);
	cer_share_in moved_in[2] = {{"alice", cf.sharefile[0]}, {"bob", moved}};
	x.shares = moved_in;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EVERIFY, "altered or moved");

	/* one byte of a sealed share changed */
	assert_int_equal(sg_file_read(cf.sharefile[1], 1 << 16, &t), SIGNET_OK);
	s = strstr((char *)t.data, "sealed ");
	assert_non_null(s);
	s[10] = s[10] == 'A' ? 'B' : 'A';
	char tampered[700];
	fresh(tampered, sizeof(tampered), "share");
	assert_int_equal(sg_file_write_atomic(tampered, t.data, t.len, 0600), SIGNET_OK);
	sg_buf_free(&t);
	cer_share_in tin[2] = {{"alice", cf.sharefile[0]}, {"bob", tampered}};
	x.shares = tin;
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_EVERIFY, "altered");

	/* after all of that, the token holds the same keys and no output exists */
	assert_int_equal(token_keys(), before);
	assert_int_not_equal(access(out, F_OK), 0);
	(void)b;
}

enum ks_flaw { KS_GOOD, KS_FOREIGN, KS_BAD_PROOF, KS_NO_PROOF, KS_LONG_PERIOD };

/* A key-signing request as signetd would write it: two periods, a ZSK made
 * with OpenSSL (Ed25519) and the KSK, a CDS/CDNSKEY in the first period. */
static void build_keyset(enum ks_flaw flaw, const char *out)
{
	char f1[700], f2[700];
	path(f1, sizeof(f1), "ksk.txt");
	path(f2, sizeof(f2), "ksk-net.txt");
	sg_buf ksk = SG_BUF_INIT, net = SG_BUF_INIT, zsk = SG_BUF_INIT;
	cfx_dnskey(f1, ZONE, &ksk);
	cfx_dnskey(f2, "example.net.", &net);
	EVP_PKEY *zk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(zk);
	cfx_ed25519_dnskey(zk, DNS_DNSKEY_FLAG_ZONE, &zsk);
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
		cfx_period_init(p, &zone, start + (uint32_t)i * len, len);
		assert_int_equal(dns_rrset_add(&p->dnskey, zsk.data, zsk.len), SIGNET_OK);
		assert_int_equal(dns_rrset_add(&p->dnskey, ksk.data, ksk.len), SIGNET_OK);
		if (flaw == KS_FOREIGN && i == 1)
			assert_int_equal(dns_rrset_add(&p->dnskey, net.data, net.len), SIGNET_OK);
		if (i == 0)
			cfx_period_add_cds(p, &zone, &ksk);
		assert_int_equal(dns_rrset_canonicalize(&p->dnskey), SIGNET_OK);
		if (flaw == KS_NO_PROOF && i == 1)
			continue;
		cfx_period_prove(p, &zone, zk, ztag, flaw == KS_BAD_PROOF && i == 1);
	}
	cfx_keyset_write(&ks, out);
	EVP_PKEY_free(zk);
	sg_buf_free(&ksk);
	sg_buf_free(&net);
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
	cfx_request(&cf, CER_OP_SIGN_KEYSET, ZONE, params, 1, ks, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	fresh(out, outlen, "bundle");
	int who[] = {1, 2}, sh[] = {2, 1};
	cfx_expect(run(req, who, 2, sh, 2, ks, out), want, needle);
}

static void test_sign_keyset(void **state)
{
	(void)state;
	char out[700];
	size_t before = token_keys();
	sign_keyset_expect(KS_GOOD, SIGNET_OK, NULL, out, sizeof(out));

	/* every KSK RRSIG of the bundle verifies, and every non-empty set has one */
	sg_buf ksk = SG_BUF_INIT;
	char kf[700];
	path(kf, sizeof(kf), "ksk.txt");
	cfx_dnskey(kf, ZONE, &ksk);
	dns_keyset bundle;
	cfx_read_bundle(out, 2, &bundle);
	size_t verified = 0;
	for (size_t i = 0; i < bundle.count; i++) {
		dns_keyset_period *p = &bundle.periods[i];
		size_t want = 1 + (p->cds.count ? 1 : 0) + (p->cdnskey.count ? 1 : 0);
		assert_int_equal(p->sigs.count, want);
		for (size_t j = 0; j < p->sigs.count; j++) {
			dns_rrsig sig;
			assert_int_equal(dns_rrsig_from_rdata(&sig, p->sigs.rr[j].data,
							      p->sigs.rr[j].len), SIGNET_OK);
			dns_rrset *set = cfx_covered_set(p, sig.type_covered);
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
	cfx_request(&cf, CER_OP_SIGN_KEYSET, ZONE, params, 1, ks1, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	int who[] = {0, 1};
	cfx_expect(run(req, who, 2, who, 2, ks2, out), SIGNET_EVERIFY, "not the one");
	assert_int_equal(token_keys(), before);
}

static void test_export_ds(void **state)
{
	(void)state;
	char req[700], out[700], param[200];
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	const char *params[] = {"digests=2,4", param};
	cfx_request(&cf, CER_OP_EXPORT_DS, ZONE, params, 2, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	path(out, sizeof(out), "ds.txt");
	int who[] = {0, 1};
	cfx_expect(run(req, who, 2, who, 2, NULL, out), SIGNET_OK, NULL);

	/* the DS records and the approvals */
	sg_buf ksk = SG_BUF_INIT, ds = SG_BUF_INIT, line = SG_BUF_INIT;
	cfx_check_ds_export(out, ZONE, &ksk);
	dns_name zone;
	assert_int_equal(dns_name_from_str(&zone, ZONE), SIGNET_OK);

	/* BIND's dnssec-dsfromkey computes the same DS from the DNSKEY */
	char keyf[700], cmd[1600];
	path(keyf, sizeof(keyf), "ksk-dnskey.txt");
	sg_buf_reset(&line);
	assert_int_equal(dns_rr_to_text(&zone, DNS_T_DNSKEY, DNS_CLASS_IN, 3600, ksk.data,
					ksk.len, &line), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&line, '\n'), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(keyf, line.data, line.len, 0644), SIGNET_OK);
	/* bind9-utils (scripts/deps) provides it: missing is a failure */
	snprintf(cmd, sizeof(cmd), "dnssec-dsfromkey -2 -f %s " ZONE " 2>&1", keyf);
	FILE *f = popen(cmd, "r");
	assert_non_null(f);
	char got[1024] = "";
	char *ok = fgets(got, sizeof(got), f);
	int st = pclose(f);
	if (ok == NULL || st != 0)
		fail_msg("dnssec-dsfromkey (bind9-utils, installed by scripts/deps) failed with "
			 "status %d: %s", st, ok != NULL ? got : "no output");
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
	cfx_request(&cf, CER_OP_DELETE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	cfx_expect(run(req, who, 2, who, 2, NULL, NULL), SIGNET_ESTATE, "retired first");
	cfx_request(&cf, CER_OP_RETIRE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	cfx_expect(run(req, who, 2, who, 2, NULL, NULL), SIGNET_OK, NULL);
	/* a retired KSK exports no DS */
	const char *p2[] = {param};
	char out[700];
	cfx_request(&cf, CER_OP_EXPORT_DS, "example.net.", p2, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	path(out, sizeof(out), "net-ds.txt");
	cfx_expect(run(req, who, 2, who, 2, NULL, out), SIGNET_ESTATE, "retired");
	cfx_request(&cf, CER_OP_DELETE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	cfx_expect(run(req, who, 2, who, 2, NULL, NULL), SIGNET_OK, NULL);
	assert_int_equal(token_keys(), before - 1);
	/* the KSK of one zone is not the KSK of another */
	snprintf(param, sizeof(param), "key-id=%s", ksk_id);
	cfx_request(&cf, CER_OP_RETIRE_KSK, "example.net.", params, 1, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	cfx_expect(run(req, who, 2, who, 2, NULL, NULL), SIGNET_EDENIED, "not a KSK of");
}

static void test_transcript(void **state)
{
	(void)state;
	char log[700], copy[700];
	snprintf(log, sizeof(log), "%s/transcript.log", cf.cdir);
	size_t n = 0, bad = 0;
	cfx_expect(cer_log_verify(log, &n, &bad, CFX_ERR), SIGNET_OK, NULL);
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
		res = strstr(line, " started ");
	if (res == NULL || res > strchr(line, '\n'))
		res = strstr(line, " SIGNET_");
	assert_non_null(res);
	res[2] = res[2] == 'X' ? 'Y' : 'X';
	fresh(copy, sizeof(copy), "log");
	assert_int_equal(sg_file_write_atomic(copy, t.data, t.len - 1, 0644), SIGNET_OK);
	cfx_expect(cer_log_verify(copy, &n, &bad, CFX_ERR), SIGNET_EVERIFY, "entry 3");
	assert_int_equal(bad, 3);
	assert_int_equal(n, 2);
	/* appending to a broken log is refused */
	cer_log_entry e = {.time = 1, .op = "x", .zone = "-", .approvers = "-", .result = "ok"};
	cfx_expect(cer_log_append(copy, &e, CFX_ERR), SIGNET_EVERIFY, "broken");
	/* a deleted entry breaks the chain where it was */
	res[2] = res[2] == 'X' ? 'Y' : 'X';
	char *next = strchr(line, '\n') + 1;
	memmove(line, next, strlen(next) + 1);
	fresh(copy, sizeof(copy), "log");
	assert_int_equal(sg_file_write_atomic(copy, t.data, strlen((char *)t.data), 0644),
			 SIGNET_OK);
	cfx_expect(cer_log_verify(copy, &n, &bad, CFX_ERR), SIGNET_EVERIFY, "entry 3");
	/* a truncated last line */
	fresh(copy, sizeof(copy), "log");
	assert_int_equal(sg_file_write_atomic(copy, t.data, strlen((char *)t.data) - 5, 0644),
			 SIGNET_OK);
	assert_int_equal(cer_log_verify(copy, &n, &bad, CFX_ERR), SIGNET_EVERIFY);
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
		signet_err err = cer_request_read(f, &r, CFX_ERR);
		if (err == SIGNET_OK)
			fail_msg("garbage %zu accepted", i);
		assert_true(strlen(cfx_errmsg) > 5);
		cer_approval a;
		assert_int_not_equal(cer_approval_read(f, &a, CFX_ERR), SIGNET_OK);
		cer_policy *p = calloc(1, sizeof(*p));
		assert_int_not_equal(cer_policy_read(f, p, CFX_ERR), SIGNET_OK);
		free(p);
		cer_operator o;
		assert_int_not_equal(cer_operator_read(f, &o, CFX_ERR), SIGNET_OK);
		size_t n, bad;
		if (i > 1)
			assert_int_equal(cer_log_verify(f, &n, &bad, CFX_ERR), SIGNET_EVERIFY);
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
	cfx_expect(cer_request_read(f, &r, CFX_ERR), SIGNET_ERANGE, "larger than");
	/* a missing file */
	cfx_expect(cer_request_read("/nonexistent/request", &r, CFX_ERR), SIGNET_ENOTFOUND, "cannot read");
	/* a share with an absurd scrypt cost is refused before any work */
	sg_buf t = SG_BUF_INIT;
	assert_int_equal(sg_file_read(cf.sharefile[0], 1 << 16, &t), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&t, 0), SIGNET_OK);
	char *k = strstr((char *)t.data, "kdf scrypt 32768");
	assert_non_null(k);
	memcpy(k, "kdf scrypt 99999", 16);
	fresh(f, sizeof(f), "share");
	assert_int_equal(sg_file_write_atomic(f, t.data, t.len - 1, 0600), SIGNET_OK);
	sg_buf_free(&t);
	cer_policy *p = calloc(1, sizeof(*p));
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	cer_share_in in[2] = {{"alice", f}, {"bob", cf.sharefile[1]}};
	sg_secret *pin = NULL;
	cfx_expect(cer_shares_combine(p, in, 2, cf.passes, 3, &pin, NULL, NULL, CFX_ERR), SIGNET_ERANGE,
		   "scrypt");
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
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	cer_share_in in[2] = {{"bob", cf.sharefile[1]}, {"carol", cf.sharefile[2]}};
	sg_secret *pin = NULL;
	assert_int_equal(cer_shares_combine(p, in, 2, cf.passes, 3, &pin, NULL, NULL, CFX_ERR), SIGNET_OK);
	free(p);
	assert_int_equal(pin->len, 2 * CER_PIN_OCTETS);
	assert_true(scan_dir(cf.fx->dir, pin) > 20);
	assert_null(strstr(cfx_errmsg, (const char *)pin->data));
	sg_secret_free(pin);
}

static void test_words(void **state)
{
	(void)state;
	uint8_t h[CER_HASH_LEN];
	for (size_t i = 0; i < sizeof(h); i++)
		h[i] = (uint8_t)(i * 8);
	sg_buf w = SG_BUF_INIT;
	assert_int_equal(cer_words(h, &w, CFX_ERR), SIGNET_OK);
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
