/* test_rollover.c -- sign-keyset for KSK, algorithm and multi-signer rollovers on a real SoftHSM2 token. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/evp.h>

#include "ceremony/ceremony.h"
#include "tests/lib/ceremony_fixture.h"

#define ZONE "example.com."
#define PERIODS 3
#define PERIOD_LEN (10 * 86400)

static const char *const names[3] = {"alice", "bob", "carol"};
static const char *const pws[3] = {"alice passphrase 1", "bob passphrase 22",
				   "carol passphrase 333"};
static cer_fixture cf;

/* The KSKs the ceremony makes: two of algorithm 13 (old and new of a
 * double-KSK rollover), one of 15 (an algorithm rollover's new KSK), one
 * of 13 that gets retired. */
enum { KSK_OLD, KSK_NEW, KSK_ED, KSK_GONE, NKSK };
static char ksk_id[NKSK][2 * HSM_ID_MAX + 1];
static sg_buf ksk[NKSK];

/* The ZSK signetd holds (its proof is made here with OpenSSL) and a foreign
 * provider's ZSK (no proof). */
static EVP_PKEY *zsk_key;
static sg_buf zsk, foreign, foreign_sep, other;

static void fresh(char *out, size_t len, const char *stem)
{
	cfx_fresh(&cf, out, len, stem);
}

/* A request of example.com. valid from now for an hour. */
static void make_request(const char *op, const char *const *params, size_t n,
			 const char *keyset, char *out, size_t outlen)
{
	cfx_request(&cf, op, ZONE, params, n, keyset, time(NULL) - 10, time(NULL) + 3600, out,
		    outlen);
}

/* Approvals by alice and carol, shares of the same two. */
static signet_err run(const char *req, const char *keyset, const char *out)
{
	static const int who[2] = {0, 2};
	return cfx_run(&cf, req, who, 2, who, 2, NULL, keyset, NULL, out);
}

/* Operators, policy, token, and the four KSKs, through the ceremony itself. */
static int setup(void **state)
{
	(void)state;
	cfx_opts o = {.nops = 3, .names = names, .pws = pws, .shares_dir = true, .enroll = true};
	static const uint8_t pol_algs[] = {13, 15};
	if (cfx_create_ready(&cf, &o, pol_algs, 2) != SIGNET_OK)
		return -1;

	char req[700];
	static const char *const algs[NKSK] = {"algorithm=13", "algorithm=13", "algorithm=15",
					       "algorithm=13"};
	for (int k = 0; k < NKSK; k++) {
		char out[700];
		const char *params[] = {algs[k]};
		make_request(CER_OP_CREATE_KSK, params, 1, NULL, req, sizeof(req));
		fresh(out, sizeof(out), "ksk");
		if (run(req, NULL, out) != SIGNET_OK) {
			fprintf(stderr, "create-ksk: %s\n", cfx_errmsg);
			return -1;
		}
		cfx_key_id(out, ksk_id[k]);
		cfx_dnskey(out, ZONE, &ksk[k]);
	}

	zsk_key = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *fk = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	EVP_PKEY *ok = EVP_PKEY_Q_keygen(NULL, NULL, "ED25519");
	if (zsk_key == NULL || fk == NULL || ok == NULL)
		return -1;
	cfx_ed25519_dnskey(zsk_key, DNS_DNSKEY_FLAG_ZONE, &zsk);
	cfx_ed25519_dnskey(fk, DNS_DNSKEY_FLAG_ZONE, &foreign);
	cfx_ed25519_dnskey(fk, DNS_DNSKEY_FLAG_ZONE | DNS_DNSKEY_FLAG_SEP, &foreign_sep);
	cfx_ed25519_dnskey(ok, DNS_DNSKEY_FLAG_ZONE, &other);
	EVP_PKEY_free(fk);
	EVP_PKEY_free(ok);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (int k = 0; k < NKSK; k++)
		sg_buf_free(&ksk[k]);
	sg_buf_free(&zsk);
	sg_buf_free(&foreign);
	sg_buf_free(&foreign_sep);
	sg_buf_free(&other);
	EVP_PKEY_free(zsk_key);
	cfx_destroy(&cf);
	return 0;
}

/* What one period of a request holds besides our ZSK: a set of KSKs (bits of
 * 1 << KSK_*), and maybe one extra ZSK without a proof. */
typedef struct period_spec {
	unsigned ksks;
	const sg_buf *extra;
} period_spec;

/* A key-signing request as signetd writes it: PERIODS periods of PERIOD_LEN
 * from an hour ago, our ZSK with its proof in each, the KSKs of the spec,
 * CDS and CDNSKEY of the first KSK of the first period. */
static void build_keyset(const period_spec *spec, const char *out)
{
	dns_name zone;
	assert_int_equal(dns_name_from_str(&zone, ZONE), SIGNET_OK);
	uint16_t ztag;
	assert_int_equal(dns_key_tag(zsk.data, zsk.len, &ztag), SIGNET_OK);
	dns_keyset ks = {.kind = DNS_KEYSET_REQUEST, .zone = zone, .serial = 9};
	ks.periods = calloc(PERIODS, sizeof(*ks.periods));
	assert_non_null(ks.periods);
	ks.count = PERIODS;
	uint32_t start = (uint32_t)time(NULL) - 3600;
	for (size_t i = 0; i < PERIODS; i++) {
		dns_keyset_period *p = &ks.periods[i];
		cfx_period_init(p, &zone, start + (uint32_t)i * PERIOD_LEN, PERIOD_LEN);
		assert_int_equal(dns_rrset_add(&p->dnskey, zsk.data, zsk.len), SIGNET_OK);
		int first = -1;
		for (int k = 0; k < NKSK; k++) {
			if (!(spec[i].ksks & (1u << k)))
				continue;
			assert_int_equal(dns_rrset_add(&p->dnskey, ksk[k].data, ksk[k].len),
					 SIGNET_OK);
			if (first < 0)
				first = k;
		}
		if (spec[i].extra != NULL)
			assert_int_equal(dns_rrset_add(&p->dnskey, spec[i].extra->data,
						       spec[i].extra->len), SIGNET_OK);
		if (i == 0 && first >= 0)
			cfx_period_add_cds(p, &zone, &ksk[first]);
		assert_int_equal(dns_rrset_canonicalize(&p->dnskey), SIGNET_OK);
		/* the proof of possession of our ZSK */
		cfx_period_prove(p, &zone, zsk_key, ztag, false);
	}
	cfx_keyset_write(&ks, out);
}

/* "key-id=ID" for KSK k, into buf. */
static const char *key_param(int k, char *buf, size_t len)
{
	snprintf(buf, len, "key-id=%s", ksk_id[k]);
	return buf;
}

/* "foreign-zsk=TAG/ALG/SHA256" for the DNSKEY RDATA key, into buf. */
static const char *foreign_param(const sg_buf *key, char *buf, size_t len)
{
	uint16_t tag;
	uint8_t h[32];
	unsigned hl = 0;
	assert_int_equal(dns_key_tag(key->data, key->len, &tag), SIGNET_OK);
	assert_int_equal(EVP_Digest(key->data, key->len, h, &hl, EVP_sha256(), NULL), 1);
	sg_buf hex = SG_BUF_INIT;
	assert_int_equal(sg_hex_encode(h, hl, &hex), SIGNET_OK);
	snprintf(buf, len, "foreign-zsk=%u/%u/%s", tag, key->data[3], (const char *)hex.data);
	sg_buf_free(&hex);
	return buf;
}

/* Build a request from spec, make a ceremony request with params and run it;
 * out gets the bundle's path. */
static signet_err sign(const period_spec *spec, const char *const *params, size_t n,
		       char *out, size_t outlen)
{
	char ks[700], req[700];
	fresh(ks, sizeof(ks), "ksr");
	build_keyset(spec, ks);
	make_request(CER_OP_SIGN_KEYSET, params, n, ks, req, sizeof(req));
	fresh(out, outlen, "bundle");
	return run(req, ks, out);
}

/* Check the bundle at path against spec: every period's DNSKEY, CDS and
 * CDNSKEY RRsets carry exactly one RRSIG by each KSK in that period's DNSKEY
 * set, with the period's window, and each verifies; nothing else is there. */
static void check_bundle(const char *path, const period_spec *spec)
{
	dns_keyset bundle;
	cfx_read_bundle(path, PERIODS, &bundle);
	for (size_t i = 0; i < PERIODS; i++) {
		dns_keyset_period *p = &bundle.periods[i];
		dns_rrset *sets[3] = {&p->dnskey, &p->cds, &p->cdnskey};
		size_t nsets = 0, nksks = 0;
		for (int s = 0; s < 3; s++)
			nsets += sets[s]->count > 0;
		for (int k = 0; k < NKSK; k++) {
			if (!(spec[i].ksks & (1u << k)))
				continue;
			nksks++;
			uint16_t tag;
			assert_int_equal(dns_key_tag(ksk[k].data, ksk[k].len, &tag), SIGNET_OK);
			for (int s = 0; s < 3; s++) {
				if (sets[s]->count == 0)
					continue;
				size_t found = 0;
				for (size_t j = 0; j < p->sigs.count; j++) {
					dns_rrsig sig;
					assert_int_equal(dns_rrsig_from_rdata(&sig, p->sigs.rr[j].data,
									      p->sigs.rr[j].len),
							 SIGNET_OK);
					if (sig.type_covered != sets[s]->type || sig.key_tag != tag ||
					    sig.algorithm != ksk[k].data[3])
						continue;
					found++;
					assert_int_equal(sig.inception, p->inception);
					assert_int_equal(sig.expiration, p->expiration);
					signet_err v = dns_rrsig_verify(&sig, sets[s], ksk[k].data,
									ksk[k].len, &bundle.zone,
									p->inception + 60);
					cfx_expect(v, SIGNET_OK, NULL);
				}
				assert_int_equal(found, 1);
			}
		}
		assert_true(nksks > 0);
		assert_int_equal(p->sigs.count, nsets * nksks);
		/* the extra key is in the DNSKEY set that was signed */
		if (spec[i].extra != NULL) {
			bool in = false;
			for (size_t j = 0; j < p->dnskey.count; j++)
				in |= p->dnskey.rr[j].len == spec[i].extra->len &&
				      memcmp(p->dnskey.rr[j].data, spec[i].extra->data,
					     spec[i].extra->len) == 0;
			assert_true(in);
		}
	}
	dns_keyset_free(&bundle);
}

#define OLD (1u << KSK_OLD)
#define NEW (1u << KSK_NEW)
#define ED (1u << KSK_ED)
#define GONE (1u << KSK_GONE)

/* Double-KSK: the new KSK joins in the second period; both sign from there. */
static void test_double_ksk(void **state)
{
	(void)state;
	const period_spec spec[PERIODS] = {{OLD, NULL}, {OLD | NEW, NULL}, {OLD | NEW, NULL}};
	char p1[200], p2[200], out[700];
	/* repeated, in the "wrong" order: the request lists them sorted */
	const char *params[] = {key_param(KSK_NEW, p1, sizeof(p1)),
				key_param(KSK_OLD, p2, sizeof(p2))};
	cfx_expect(sign(spec, params, 2, out, sizeof(out)), SIGNET_OK, NULL);
	check_bundle(out, spec);

	/* the same KSKs comma-separated in either order give the same request text */
	char one[600], two[600], r1[700], r2[700];
	bool old_first = strcmp(ksk_id[KSK_OLD], ksk_id[KSK_NEW]) < 0;
	snprintf(one, sizeof(one), "key-id=%s,%s", ksk_id[KSK_OLD], ksk_id[KSK_NEW]);
	snprintf(two, sizeof(two), "key-id=%s,%s", ksk_id[KSK_NEW], ksk_id[KSK_OLD]);
	const char *a[] = {one}, *b[] = {two};
	make_request(CER_OP_SIGN_KEYSET, a, 1, NULL, r1, sizeof(r1));
	make_request(CER_OP_SIGN_KEYSET, b, 1, NULL, r2, sizeof(r2));
	cer_request q1, q2;
	assert_int_equal(cer_request_read(r1, &q1, CFX_ERR), SIGNET_OK);
	assert_int_equal(cer_request_read(r2, &q2, CFX_ERR), SIGNET_OK);
	assert_string_equal(cer_request_param(&q1, "key-id"), cer_request_param(&q2, "key-id"));
	assert_string_equal(cer_request_param(&q1, "key-id"), (old_first ? one : two) + 7);

	/* one KSK alone leaves the other's sets without its RRSIG */
	const char *only_new[] = {p1};
	cfx_expect(sign(spec, only_new, 1, out, sizeof(out)), SIGNET_ESTATE, "does not name it");
	assert_int_not_equal(access(out, F_OK), 0);
	const char *only_old[] = {p2};
	cfx_expect(sign(spec, only_old, 1, out, sizeof(out)), SIGNET_ESTATE, "does not name it");
	assert_int_not_equal(access(out, F_OK), 0);
	/* a period with no KSK at all would go unsigned */
	const period_spec gap[PERIODS] = {{0, NULL}, {OLD | NEW, NULL}, {OLD | NEW, NULL}};
	cfx_expect(sign(gap, params, 2, out, sizeof(out)), SIGNET_ESTATE, "none of the KSKs");
	assert_int_not_equal(access(out, F_OK), 0);
}

/* A named KSK in no period signs nothing: the request is not what the
 * operators think it is. */
static void test_named_ksk_absent(void **state)
{
	(void)state;
	const period_spec spec[PERIODS] = {{OLD, NULL}, {OLD, NULL}, {OLD, NULL}};
	char p1[200], p2[200], out[700];
	const char *params[] = {key_param(KSK_OLD, p1, sizeof(p1)),
				key_param(KSK_NEW, p2, sizeof(p2))};
	cfx_expect(sign(spec, params, 2, out, sizeof(out)), SIGNET_ESTATE, "in no period");
	assert_int_not_equal(access(out, F_OK), 0);
}

/* One of two KSKs retired: refused, nothing signed. */
static void test_retired_ksk(void **state)
{
	(void)state;
	char p1[200], p2[200], req[700], out[700];
	const char *retire[] = {key_param(KSK_GONE, p2, sizeof(p2))};
	make_request(CER_OP_RETIRE_KSK, retire, 1, NULL, req, sizeof(req));
	cfx_expect(run(req, NULL, NULL), SIGNET_OK, NULL);
	const period_spec spec[PERIODS] = {{OLD | GONE, NULL}, {OLD | GONE, NULL},
					   {OLD, NULL}};
	const char *params[] = {key_param(KSK_OLD, p1, sizeof(p1)), p2};
	cfx_expect(sign(spec, params, 2, out, sizeof(out)), SIGNET_ESTATE, "retired");
	assert_int_not_equal(access(out, F_OK), 0);
}

/* Algorithm rollover 13 -> 15: the Ed25519 KSK from the second period on. */
static void test_algorithm_rollover(void **state)
{
	(void)state;
	const period_spec spec[PERIODS] = {{OLD, NULL}, {OLD | ED, NULL}, {OLD | ED, NULL}};
	char p1[200], p2[200], out[700];
	const char *params[] = {key_param(KSK_OLD, p1, sizeof(p1)),
				key_param(KSK_ED, p2, sizeof(p2))};
	cfx_expect(sign(spec, params, 2, out, sizeof(out)), SIGNET_OK, NULL);
	check_bundle(out, spec);
	/* and the end of it: the old KSK gone from the last period */
	const period_spec end[PERIODS] = {{OLD | ED, NULL}, {OLD | ED, NULL}, {ED, NULL}};
	cfx_expect(sign(end, params, 2, out, sizeof(out)), SIGNET_OK, NULL);
	check_bundle(out, end);
}

/* Multi-signer: another provider's ZSK in every DNSKEY set. */
static void test_foreign_zsk(void **state)
{
	(void)state;
	const period_spec spec[PERIODS] = {{OLD, &foreign}, {OLD, &foreign}, {OLD, &foreign}};
	char p1[200], f[300], out[700];
	const char *kp = key_param(KSK_OLD, p1, sizeof(p1));
	const char *without[] = {kp};
	cfx_expect(sign(spec, without, 1, out, sizeof(out)), SIGNET_EVERIFY, "no foreign-zsk");
	assert_int_not_equal(access(out, F_OK), 0);

	const char *with[] = {kp, foreign_param(&foreign, f, sizeof(f))};
	cfx_expect(sign(spec, with, 2, out, sizeof(out)), SIGNET_OK, NULL);
	check_bundle(out, spec);

	/* the parameter names another key: the foreign one is unproven, unnamed */
	char g[300];
	const char *wrong[] = {kp, foreign_param(&other, g, sizeof(g))};
	cfx_expect(sign(spec, wrong, 2, out, sizeof(out)), SIGNET_EVERIFY, "no foreign-zsk");
	assert_int_not_equal(access(out, F_OK), 0);
	/* both named, one absent: refused too */
	const char *extra[] = {kp, f, g};
	cfx_expect(sign(spec, extra, 3, out, sizeof(out)), SIGNET_EDENIED, "in no DNSKEY set");

	/* the foreign key with the SEP flag, named as it is */
	const period_spec sep[PERIODS] = {{OLD, &foreign_sep}, {OLD, &foreign_sep},
					  {OLD, &foreign_sep}};
	char h[300];
	const char *named_sep[] = {kp, foreign_param(&foreign_sep, h, sizeof(h))};
	cfx_expect(sign(sep, named_sep, 2, out, sizeof(out)), SIGNET_EDENIED, "SEP");
	assert_int_not_equal(access(out, F_OK), 0);

	/* the right hash under a wrong key tag: the operators read something else */
	char t[300];
	const char *slash = strchr(f, '/');
	uint16_t tag;
	assert_int_equal(dns_key_tag(foreign.data, foreign.len, &tag), SIGNET_OK);
	snprintf(t, sizeof(t), "foreign-zsk=%u%s", (unsigned)(tag ^ 1), slash);
	const char *bad_tag[] = {kp, t};
	cfx_expect(sign(spec, bad_tag, 2, out, sizeof(out)), SIGNET_EINVAL, "key tag");
	assert_int_not_equal(access(out, F_OK), 0);

	/* malformed entries are refused before any share is opened */
	const char *bad[] = {"foreign-zsk=1/15/00", "foreign-zsk=x/15/ab",
			     "foreign-zsk=70000/15/0000000000000000000000000000000000000000000"
			     "000000000000000000000"};
	for (size_t i = 0; i < 3; i++) {
		const char *ps[] = {kp, bad[i]};
		cfx_expect(sign(spec, ps, 2, out, sizeof(out)), SIGNET_EINVAL, "foreign-zsk item");
	}
}

/* The list parameters' own rules: too many KSKs, a malformed or repeated ID,
 * and a request file whose list is not in canonical order. */
static void test_list_params(void **state)
{
	(void)state;
	const period_spec spec[PERIODS] = {{OLD, NULL}, {OLD, NULL}, {OLD, NULL}};
	char out[700], p1[200];
	const char *five[] = {"key-id=01,02,03,04,05"};
	cfx_expect(sign(spec, five, 1, out, sizeof(out)), SIGNET_ERANGE, "more than");
	const char *odd[] = {"key-id=abc"};
	cfx_expect(sign(spec, odd, 1, out, sizeof(out)), SIGNET_EINVAL, "key-id item");
	const char *twice[] = {key_param(KSK_OLD, p1, sizeof(p1)), p1};
	cfx_expect(sign(spec, twice, 2, out, sizeof(out)), SIGNET_OK, NULL);  /* merged */
	const char *empty[] = {"key-id=01,,02"};
	cer_policy *p = calloc(1, sizeof(*p));
	assert_int_equal(cer_policy_load(cf.cdir, p, CFX_ERR), SIGNET_OK);
	char req[700];
	fresh(req, sizeof(req), "request");
	cfx_expect(cer_request_create(&(cer_request_params){CER_OP_SIGN_KEYSET, ZONE, empty, 1,
							    NULL, time(NULL), time(NULL) + 60},
				      p, req, NULL, CFX_ERR),
		   SIGNET_EINVAL, "empty item");
	free(p);

	/* a hand-edited request with its items out of order does not parse */
	char ok[700];
	const char *two[] = {"key-id=0a,0b"};
	make_request(CER_OP_SIGN_KEYSET, two, 1, NULL, ok, sizeof(ok));
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(ok, 1 << 16, &b), SIGNET_OK);
	cer_request r;
	cfx_expect(cer_request_parse((const char *)b.data, b.len, &r, CFX_ERR), SIGNET_OK, NULL);
	char *at = memmem(b.data, b.len, "key-id 0a,0b", 12);
	assert_non_null(at);
	memcpy(at, "key-id 0b,0a", 12);
	cfx_expect(cer_request_parse((const char *)b.data, b.len, &r, CFX_ERR), SIGNET_EPARSE, "not sorted");
	memcpy(at, "key-id 0a,0a", 12);
	cfx_expect(cer_request_parse((const char *)b.data, b.len, &r, CFX_ERR), SIGNET_EPARSE, "not sorted");
	sg_buf_free(&b);
}

/* show (and so approve --interactive) puts the foreign keys and the KSKs
 * before the approver's eyes. */
static void test_show(void **state)
{
	(void)state;
	char ks[700], req[700], p1[200], p2[200], f[300], cmd[1600];
	const period_spec spec[PERIODS] = {{OLD, &foreign}, {OLD | NEW, &foreign},
					   {OLD | NEW, &foreign}};
	fresh(ks, sizeof(ks), "ksr");
	build_keyset(spec, ks);
	const char *params[] = {key_param(KSK_OLD, p1, sizeof(p1)),
				key_param(KSK_NEW, p2, sizeof(p2)),
				foreign_param(&foreign, f, sizeof(f))};
	make_request(CER_OP_SIGN_KEYSET, params, 3, ks, req, sizeof(req));
	snprintf(cmd, sizeof(cmd), "%s show --request %s", SIGNET_CEREMONY, req);
	FILE *pipe = popen(cmd, "r");
	assert_non_null(pipe);
	sg_buf got = SG_BUF_INIT;
	char line[1024];
	while (fgets(line, sizeof(line), pipe) != NULL)
		assert_int_equal(sg_buf_append(&got, line, strlen(line)), SIGNET_OK);
	assert_int_equal(pclose(pipe), 0);
	assert_int_equal(sg_buf_put_u8(&got, 0), SIGNET_OK);
	const char *text = (const char *)got.data;
	uint16_t tag;
	assert_int_equal(dns_key_tag(foreign.data, foreign.len, &tag), SIGNET_OK);
	char want[200];
	snprintf(want, sizeof(want), "!!! foreign ZSK: key tag %u, algorithm 15, SHA-256 ", tag);
	assert_non_null(strstr(text, "FOREIGN ZSKS"));
	assert_non_null(strstr(text, want));
	assert_non_null(strstr(text, strrchr(f, '/') + 1));
	assert_non_null(strstr(text, "signs with 2 KSKs"));
	snprintf(want, sizeof(want), "KSK key-id %s\n", ksk_id[KSK_NEW]);
	assert_non_null(strstr(text, want));
	/* and they come before the words the operators read aloud */
	assert_true(strstr(text, "FOREIGN ZSKS") < strstr(text, "read aloud"));
	sg_buf_free(&got);

	/* the request signs as shown */
	char out[700];
	fresh(out, sizeof(out), "bundle");
	cfx_expect(run(req, ks, out), SIGNET_OK, NULL);
	check_bundle(out, spec);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_double_ksk),
		cmocka_unit_test(test_named_ksk_absent),
		cmocka_unit_test(test_algorithm_rollover),
		cmocka_unit_test(test_foreign_zsk),
		cmocka_unit_test(test_list_params),
		cmocka_unit_test(test_show),
		cmocka_unit_test(test_retired_ksk),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
