/* ceremony_fixture.c -- operators, policy, token and files of a ceremony, for tests. */
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

#include "tests/lib/ceremony_fixture.h"

#define LABEL "signet-ksk"

char cfx_errmsg[CER_ERRMSG_MAX];

static signet_err setup_fail(cer_fixture *c, signet_err err, const char *what)
{
	fprintf(stderr, "ceremony fixture: %s: %s (%s)\n", what, signet_errname(err),
		cfx_errmsg);
	cfx_destroy(c);
	return err;
}

signet_err cfx_create(cer_fixture *c, const cfx_opts *o)
{
	if (c == NULL || o == NULL || o->nops == 0 || o->nops > CFX_OPS_MAX ||
	    o->names == NULL || o->pws == NULL)
		return SIGNET_EINVAL;
	memset(c, 0, sizeof(*c));
	signet_err err = softhsm_fixture_create(false, &c->fx);
	if (err != SIGNET_OK)
		return err;
	snprintf(c->dir, sizeof(c->dir), "%s/files", c->fx->dir);
	snprintf(c->cdir, sizeof(c->cdir), "%s/ceremony", c->fx->dir);
	snprintf(c->shares, sizeof(c->shares), "%s/shares", c->dir);
	if (mkdir(c->dir, 0700) != 0 || mkdir(c->cdir, 0700) != 0 ||
	    (o->shares_dir && mkdir(c->shares, 0700) != 0))
		return setup_fail(c, SIGNET_EIO, "mkdir");
	snprintf(c->conf, sizeof(c->conf), "%s/ceremony.conf", c->fx->dir);
	sg_buf conf = SG_BUF_INIT;
	err = sg_buf_printf(&conf, "signet-ceremony-config 1\nmodule %s\n", c->fx->module);
	/* softokn (SIGNET_TEST_PKCS11=softokn) finds its database only through
	 * its library parameters. */
	if (err == SIGNET_OK && c->fx->init_args[0])
		err = sg_buf_printf(&conf, "module-args %s\n", c->fx->init_args);
	if (err == SIGNET_OK)
		err = sg_file_write_atomic(c->conf, conf.data, conf.len, 0600);
	sg_buf_free(&conf);
	if (err != SIGNET_OK || setenv(CER_CONFIG_ENV, c->conf, 1) != 0)
		return setup_fail(c, SIGNET_EIO, "ceremony.conf");
	c->nops = o->nops;
	for (size_t i = 0; i < o->nops; i++) {
		size_t len = strlen(o->pws[i]);
		c->names[i] = o->names[i];
		err = sg_secret_new(len + 1, &c->pass[i]);
		if (err != SIGNET_OK)
			return setup_fail(c, err, "passphrase");
		memcpy(c->pass[i]->data, o->pws[i], len);
		c->pass[i]->len = len;
		c->passes[i].operator = o->names[i];
		c->passes[i].pass = c->pass[i];
		snprintf(c->keyfile[i], CFX_PATH, "%s/%s.key", c->dir, o->names[i]);
		snprintf(c->pubfile[i], CFX_PATH, "%s/%s.pub", c->dir, o->names[i]);
		snprintf(c->sharefile[i], CFX_PATH, "%s/%s.share", c->shares, o->names[i]);
		snprintf(c->sosharefile[i], CFX_PATH, "%s/%s.so-share", c->shares, o->names[i]);
		if (o->enroll) {
			err = cer_enroll(o->names[i], c->pass[i], c->keyfile[i], c->pubfile[i], CFX_ERR);
			if (err != SIGNET_OK)
				return setup_fail(c, err, "enroll");
		}
	}
	return SIGNET_OK;
}

signet_err cfx_create_ready(cer_fixture *c, const cfx_opts *o, const uint8_t *algs,
			    size_t nalgs)
{
	if (o == NULL || !o->enroll || !o->shares_dir || o->nops < 3)
		return SIGNET_EINVAL;
	signet_err err = cfx_create(c, o);
	if (err != SIGNET_OK)
		return err;
	static const int ab[] = {0, 1};
	char pol[CFX_PATH];
	cfx_fresh(c, pol, sizeof(pol), "policy");
	cfx_adopt_policy(c, pol, 1, 3, 2, algs, nalgs, ab, 2);
	cfx_init_token(c, 3, c->shares);
	return SIGNET_OK;
}

void cfx_destroy(cer_fixture *c)
{
	if (c == NULL)
		return;
	for (size_t i = 0; i < CFX_OPS_MAX; i++) {
		sg_secret_free(c->pass[i]);
		c->pass[i] = NULL;
	}
	softhsm_fixture_destroy(c->fx);
	c->fx = NULL;
}

void cfx_path(const cer_fixture *c, char *out, size_t len, const char *name)
{
	snprintf(out, len, "%s/%s", c->dir, name);
}

void cfx_fresh(cer_fixture *c, char *out, size_t len, const char *stem)
{
	snprintf(out, len, "%s/%s-%d", c->dir, stem, ++c->seq);
}

void cfx_expect(signet_err got, signet_err want, const char *needle)
{
	if (got != want || (needle != NULL && strstr(cfx_errmsg, needle) == NULL))
		fail_msg("got %s (%s), wanted %s with \"%s\"", signet_errname(got),
			 cfx_errmsg, signet_errname(want), needle ? needle : "");
}

sg_secret *cfx_secret(const char *s)
{
	sg_secret *x = NULL;
	assert_int_equal(sg_secret_new(strlen(s) + 1, &x), SIGNET_OK);
	memcpy(x->data, s, strlen(s));
	x->len = strlen(s);
	x->data[x->len] = 0;
	return x;
}

void cfx_write_policy(const cer_fixture *c, const char *out, uint64_t serial, size_t count,
		      unsigned m, const uint8_t *algs, size_t nalgs)
{
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_true(nalgs <= sizeof(p->algs) / sizeof(p->algs[0]));
	p->serial = serial;
	p->threshold = m;
	for (size_t i = 0; i < count; i++)
		assert_int_equal(cer_operator_read(c->pubfile[i], &p->ops[p->count++], CFX_ERR), SIGNET_OK);
	assert_true(strlen(c->fx->module) < sizeof(p->module));
	memcpy(p->module, c->fx->module, strlen(c->fx->module) + 1);
	assert_int_equal(cer_module_sha256(p->module, p->module_sha256, CFX_ERR), SIGNET_OK);
	p->has_module_sha256 = true;
	snprintf(p->label, sizeof(p->label), LABEL);
	for (size_t i = 0; i < nalgs; i++)
		p->algs[i] = algs[i];
	p->nalgs = nalgs;
	p->max_period = 30 * 86400;
	p->max_span = 400 * 86400;
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(cer_policy_write(p, &b, CFX_ERR), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(out, b.data, b.len, 0644), SIGNET_OK);
	sg_buf_free(&b);
	free(p);
}

void cfx_sign_policy(const cer_fixture *c, const char *file, const int *signers, size_t n)
{
	for (size_t i = 0; i < n; i++)
		cfx_expect(cer_policy_sign_file(file, c->keyfile[signers[i]], c->pass[signers[i]], CFX_ERR),
			   SIGNET_OK, NULL);
}

void cfx_adopt_policy(const cer_fixture *c, const char *file, uint64_t serial, size_t count,
		      unsigned m, const uint8_t *algs, size_t nalgs, const int *signers,
		      size_t nsigners)
{
	cfx_write_policy(c, file, serial, count, m, algs, nalgs);
	cfx_sign_policy(c, file, signers, nsigners);
	cfx_expect(cer_policy_adopt(c->cdir, file, CFX_ERR), SIGNET_OK, NULL);
}

void cfx_request(cer_fixture *c, const char *op, const char *zone, const char *const *params,
		 size_t n, const char *keyset, int64_t nb, int64_t na, char *out, size_t outlen)
{
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(c->cdir, p, CFX_ERR), SIGNET_OK);
	cfx_fresh(c, out, outlen, "request");
	cer_request_params rp = {op, zone, params, n, keyset, nb, na};
	signet_err err = cer_request_create(&rp, p, out, NULL, CFX_ERR);
	free(p);
	cfx_expect(err, SIGNET_OK, NULL);
}

void cfx_approve(cer_fixture *c, const char *req, int who, char *out, size_t outlen)
{
	cfx_fresh(c, out, outlen, "approval");
	cfx_expect(cer_approve(req, c->keyfile[who], c->pass[who], out, CFX_ERR), SIGNET_OK, NULL);
}

/* The share files of the operators in sh, from share_dir, into in (paths
 * kept in sp). */
static void share_list(const cer_fixture *c, const char *share_dir, const int *sh, size_t nsh,
		       char (*sp)[CFX_PATH], cer_share_in *in)
{
	for (size_t i = 0; i < nsh; i++) {
		snprintf(sp[i], CFX_PATH, "%s/%s.share", share_dir ? share_dir : c->shares,
			 c->names[sh[i]]);
		in[i].operator = c->names[sh[i]];
		in[i].path = sp[i];
	}
}

signet_err cfx_run(cer_fixture *c, const char *req, const int *who, size_t nwho, const int *sh,
		   size_t nsh, const char *share_dir, const char *keyset, const char *shares_out,
		   const char *out)
{
	enum { MAX = 8 };
	assert_true(nwho <= MAX && nsh <= MAX);
	char appr[MAX][CFX_PATH], sp[MAX][CFX_PATH];
	const char *ap[MAX];
	for (size_t i = 0; i < nwho; i++) {
		cfx_approve(c, req, who[i], appr[i], sizeof(appr[i]));
		ap[i] = appr[i];
	}
	cer_share_in in[MAX], so[MAX];
	share_list(c, share_dir, sh, nsh, sp, in);
	/* the same operators' SO shares, for the operations that take them */
	char sop[MAX][CFX_PATH];
	size_t nso = 0;
	for (size_t i = 0; i < nsh; i++) {
		snprintf(sop[nso], CFX_PATH, "%s/%s.so-share", share_dir ? share_dir : c->shares,
			 c->names[sh[i]]);
		if (access(sop[nso], F_OK) != 0)
			continue;
		so[nso].operator = c->names[sh[i]];
		so[nso].path = sop[nso];
		nso++;
	}
	cer_exec x = {.dir = c->cdir, .request = req, .approvals = ap, .napprovals = nwho,
		      .shares = in, .nshares = nsh, .passes = c->passes, .npasses = c->nops,
		      .hsm = c->fx->ctx, .keyset = keyset, .shares_out = shares_out, .out = out,
		      .backup_dir = c->backup_dir, .domain_shares = c->domain_shares,
		      .ndomain_shares = c->ndomain_shares, .adopt_so_pin = c->so_pin,
		      .so_shares = so, .nso_shares = nso};
	return cer_execute(&x, CFX_ERR);
}

void cfx_init_token(cer_fixture *c, size_t npasses, const char *shares_out)
{
	assert_true(npasses <= c->nops);
	char req[CFX_PATH], a[2][CFX_PATH];
	cfx_request(c, CER_OP_INIT_TOKEN, NULL, NULL, 0, NULL, time(NULL) - 10,
		    time(NULL) + 3600, req, sizeof(req));
	for (int i = 0; i < 2; i++)
		cfx_approve(c, req, i, a[i], sizeof(a[i]));
	const char *ap[2] = {a[0], a[1]};
	cer_exec x = {.dir = c->cdir, .request = req, .approvals = ap, .napprovals = 2,
		      .passes = c->passes, .npasses = npasses, .hsm = c->fx->ctx,
		      .shares_out = shares_out};
	cfx_expect(cer_execute(&x, CFX_ERR), SIGNET_OK, NULL);
}

signet_err cfx_token_keys(cer_fixture *c, const char *share_dir, const int *sh, size_t nsh,
			  bool any_threshold, size_t *keys)
{
	assert_true(nsh <= CFX_OPS_MAX);
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(c->cdir, p, CFX_ERR), SIGNET_OK);
	char sp[CFX_OPS_MAX][CFX_PATH];
	cer_share_in in[CFX_OPS_MAX];
	share_list(c, share_dir, sh, nsh, sp, in);
	/* the split's own quorum, whatever the policy now says */
	if (any_threshold)
		p->threshold = 1;
	sg_secret *pin = NULL;
	char serial[17];
	assert_int_equal(cer_shares_combine(p, in, nsh, c->passes, c->nops, &pin, NULL, serial, CFX_ERR),
			 SIGNET_OK);
	free(p);
	hsm_token *t = NULL;
	signet_err err = hsm_token_open(c->fx->ctx, NULL, serial, pin, &t, HSM_ERR);
	sg_secret_free(pin);
	if (err != SIGNET_OK)
		return err;
	hsm_key_info *k = NULL;
	assert_int_equal(hsm_key_list(t, &k, keys, HSM_ERR), SIGNET_OK);
	free(k);
	hsm_token_close(t);
	return SIGNET_OK;
}

signet_err cfx_token_state(cer_fixture *c, const char *share_dir, const int *sh, size_t nsh,
			   size_t *objects, sg_buf *anchor)
{
	assert_true(nsh <= CFX_OPS_MAX);
	cer_policy *p = calloc(1, sizeof(*p));
	assert_non_null(p);
	assert_int_equal(cer_policy_load(c->cdir, p, CFX_ERR), SIGNET_OK);
	char sp[CFX_OPS_MAX][CFX_PATH];
	cer_share_in in[CFX_OPS_MAX];
	share_list(c, share_dir, sh, nsh, sp, in);
	p->threshold = 1;  /* the split's own quorum */
	sg_secret *pin = NULL;
	char serial[17], label[33];
	assert_int_equal(cer_shares_combine(p, in, nsh, c->passes, c->nops, &pin, label, serial, CFX_ERR),
			 SIGNET_OK);
	free(p);
	if (anchor != NULL) {
		sg_buf_reset(anchor);
		signet_err aerr = hsm_data_read_public(c->fx->ctx, label, "signet-ceremony-anchor",
						       1 << 20, anchor, NULL, HSM_ERR);
		if (aerr != SIGNET_OK)
			fail_msg("the token has no public anchor: %s", shf_errmsg);
	}
	hsm_token *t = NULL;
	signet_err err = hsm_token_open(c->fx->ctx, NULL, serial, pin, &t, HSM_ERR);
	sg_secret_free(pin);
	if (err != SIGNET_OK)
		return err;
	assert_int_equal(hsm_object_count(t, objects, HSM_ERR), SIGNET_OK);
	hsm_token_close(t);
	return SIGNET_OK;
}

void cfx_key_id(const char *file, char *id)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 1 << 16, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	const char *p = strstr((const char *)b.data, "; key-id ");
	assert_non_null(p);
	assert_int_equal(sscanf(p, "; key-id %128s", id), 1);
	sg_buf_free(&b);
}

void cfx_dnskey(const char *file, const char *zone, sg_buf *rdata)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(file, 1 << 16, &b), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&b, 0), SIGNET_OK);
	char *line = (char *)b.data;
	while (line != NULL && strncmp(line, zone, strlen(zone)) != 0) {
		line = strchr(line, '\n');
		if (line != NULL)
			line++;
	}
	if (line == NULL)
		fail_msg("no record of %s in %s", zone, file);
	char *nl = strchr(line, '\n');
	if (nl != NULL)
		*nl = 0;
	dns_name owner;
	uint16_t type, cls;
	uint32_t ttl;
	assert_int_equal(dns_rr_from_text(line, NULL, &owner, &type, &cls, &ttl, rdata),
			 SIGNET_OK);
	assert_int_equal(type, DNS_T_DNSKEY);
	sg_buf_free(&b);
}

void cfx_ed25519_dnskey(EVP_PKEY *k, uint16_t flags, sg_buf *out)
{
	sg_buf pub = SG_BUF_INIT;
	assert_int_equal(dns_dnskey_pubkey_from_evp(15, k, &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(flags, 15, pub.data, pub.len, out), SIGNET_OK);
	sg_buf_free(&pub);
}

void cfx_period_init(dns_keyset_period *p, const dns_name *zone, uint32_t inception,
		     uint32_t len)
{
	p->inception = inception;
	p->expiration = inception + len;
	dns_rrset_init(&p->dnskey, zone, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
	dns_rrset_init(&p->cds, zone, DNS_T_CDS, DNS_CLASS_IN, 3600);
	dns_rrset_init(&p->cdnskey, zone, DNS_T_CDNSKEY, DNS_CLASS_IN, 3600);
	dns_rrset_init(&p->sigs, zone, DNS_T_RRSIG, DNS_CLASS_IN, 3600);
}

void cfx_period_add_cds(dns_keyset_period *p, const dns_name *zone, const sg_buf *ksk)
{
	sg_buf ds = SG_BUF_INIT;
	assert_int_equal(dns_ds_rdata(zone, ksk->data, ksk->len, 2, &ds), SIGNET_OK);
	assert_int_equal(dns_rrset_add(&p->cds, ds.data, ds.len), SIGNET_OK);
	assert_int_equal(dns_rrset_add(&p->cdnskey, ksk->data, ksk->len), SIGNET_OK);
	sg_buf_free(&ds);
}

void cfx_period_prove(dns_keyset_period *p, const dns_name *zone, EVP_PKEY *zk, uint16_t ztag,
		      bool corrupt)
{
	dns_rrsig sig;
	sg_buf data = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_prepare(&sig, &p->dnskey, 15, ztag, zone, p->inception,
					   p->expiration), SIGNET_OK);
	assert_int_equal(dns_rrsig_signed_data(&sig, &p->dnskey, &data), SIGNET_OK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	assert_non_null(md);
	size_t sl = sizeof(sig.sig);
	assert_int_equal(EVP_DigestSignInit(md, NULL, NULL, NULL, zk), 1);
	assert_int_equal(EVP_DigestSign(md, sig.sig, &sl, data.data, data.len), 1);
	EVP_MD_CTX_free(md);
	sig.sig_len = (uint16_t)sl;
	if (corrupt)
		sig.sig[5] ^= 1;
	assert_int_equal(dns_rrsig_to_rdata(&sig, &rd), SIGNET_OK);
	assert_int_equal(dns_rrset_add(&p->sigs, rd.data, rd.len), SIGNET_OK);
	sg_buf_free(&data);
	sg_buf_free(&rd);
}

void cfx_keyset_write(dns_keyset *ks, const char *out)
{
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(dns_keyset_write(ks, &text), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(out, text.data, text.len, 0644), SIGNET_OK);
	sg_buf_free(&text);
	dns_keyset_free(ks);
}

void cfx_read_bundle(const char *path, size_t count, dns_keyset *bundle)
{
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &b), SIGNET_OK);
	assert_int_equal(dns_keyset_parse((const char *)b.data, b.len, bundle, NULL), SIGNET_OK);
	sg_buf_free(&b);
	assert_int_equal(bundle->kind, DNS_KEYSET_BUNDLE);
	assert_int_equal(bundle->count, count);
}

dns_rrset *cfx_covered_set(dns_keyset_period *p, uint16_t type)
{
	return type == DNS_T_DNSKEY ? &p->dnskey : type == DNS_T_CDS ? &p->cds : &p->cdnskey;
}

void cfx_check_ds_export(const char *out, const char *zone, sg_buf *ksk)
{
	sg_buf text = SG_BUF_INIT, ds = SG_BUF_INIT, line = SG_BUF_INIT;
	assert_int_equal(sg_file_read(out, 1 << 16, &text), SIGNET_OK);
	assert_int_equal(sg_buf_put_u8(&text, 0), SIGNET_OK);
	cfx_dnskey(out, zone, ksk);
	dns_name z;
	assert_int_equal(dns_name_from_str(&z, zone), SIGNET_OK);
	for (uint8_t d = 2; d <= 4; d += 2) {
		sg_buf_reset(&ds);
		sg_buf_reset(&line);
		assert_int_equal(dns_ds_rdata(&z, ksk->data, ksk->len, d, &ds), SIGNET_OK);
		assert_int_equal(dns_rr_to_text(&z, DNS_T_DS, DNS_CLASS_IN, 3600, ds.data, ds.len,
						&line), SIGNET_OK);
		assert_non_null(strstr((const char *)text.data, (const char *)line.data));
	}
	/* the approvals travel with the DS */
	assert_non_null(strstr((const char *)text.data, ";; operator alice"));
	assert_non_null(strstr((const char *)text.data, ";; operator bob"));
	sg_buf_free(&text);
	sg_buf_free(&ds);
	sg_buf_free(&line);
}

/* A key-signing request as signetd writes one: two periods, a ZSK (made
 * here with OpenSSL) whose RRSIG proves possession, the KSK, CDS and
 * CDNSKEY in the first period. */
void cfx_build_ksr(const sg_buf *ksk, const char *zone_name, const char *out)
{
	EVP_PKEY *zk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	assert_non_null(zk);
	sg_buf zsk = SG_BUF_INIT;
	cfx_ed25519_dnskey(zk, DNS_DNSKEY_FLAG_ZONE, &zsk);
	uint16_t ztag;
	assert_int_equal(dns_key_tag(zsk.data, zsk.len, &ztag), SIGNET_OK);
	dns_name zone;
	assert_int_equal(dns_name_from_str(&zone, zone_name), SIGNET_OK);
	dns_keyset ks = {.kind = DNS_KEYSET_REQUEST, .zone = zone, .serial = 1, .count = 2};
	ks.periods = calloc(2, sizeof(*ks.periods));
	assert_non_null(ks.periods);
	uint32_t start = (uint32_t)time(NULL) - 3600, len = 10 * 86400;
	for (size_t i = 0; i < 2; i++) {
		dns_keyset_period *p = &ks.periods[i];
		cfx_period_init(p, &zone, start + (uint32_t)i * len, len);
		assert_int_equal(dns_rrset_add(&p->dnskey, zsk.data, zsk.len), SIGNET_OK);
		assert_int_equal(dns_rrset_add(&p->dnskey, ksk->data, ksk->len), SIGNET_OK);
		if (i == 0)
			cfx_period_add_cds(p, &zone, ksk);
		assert_int_equal(dns_rrset_canonicalize(&p->dnskey), SIGNET_OK);
		cfx_period_prove(p, &zone, zk, ztag, false);
	}
	cfx_keyset_write(&ks, out);
	EVP_PKEY_free(zk);
	sg_buf_free(&zsk);
}

void cfx_tool_argv(const char *tool, const char *const *args, const char **argv, size_t max)
{
	size_t n = 0;
	argv[n++] = tool;
	while (args[n - 1] != NULL && n < max - 1) {
		argv[n] = args[n - 1];
		n++;
	}
	argv[n] = NULL;
}
