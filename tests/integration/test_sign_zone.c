/* test_sign_zone.c -- sign a whole zone file with KSK and ZSK inside a real
 * SoftHSM2 token through dnssec/ and hsm/ only (no service), then let
 * dnssec-verify and ldns-verify-zone judge the result, with NSEC, NSEC3 and
 * NSEC3 opt-out, for every algorithm; and show that the validators do reject a
 * zone with one flipped signature bit or one missing NSEC. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

#include "dnssec/dnssec.h"
#include "hsm/hsm.h"
#include "tests/lib/softhsm_fixture.h"

enum denial { DENIAL_NSEC, DENIAL_NSEC3, DENIAL_NSEC3_OPTOUT };

/* The keys of one signing run. */
struct zone_keys {
	hsm_key_info ksk, zsk;
	sg_buf ksk_rdata, zsk_rdata;   /* DNSKEY RDATA */
	uint16_t ksk_tag, zsk_tag;
	uint8_t alg;
};

/* What one run produced. */
struct signed_zone {
	dns_zone zone;                 /* input plus DNSKEY (and NSEC3PARAM) */
	dns_set_role *roles;
	dns_chain chain;
	dns_rrset *sigs;               /* one RRSIG set per signed set, same order */
	size_t nsigs;
	size_t capsigs;
};

static const char *data_dir(void)
{
	const char *d = getenv("SIGNET_TEST_DATA");
	return d ? d : "tests/data";
}

static void make_key(softhsm_fixture *f, uint8_t alg, const char *role, uint16_t flags,
		     hsm_key_info *info, sg_buf *rdata, uint16_t *tag)
{
	char label[HSM_LABEL_MAX + 1];
	assert_int_equal(hsm_key_label(role, "example.test.", (hsm_alg)alg, time(NULL),
				       label, sizeof(label), HSM_ERR), SIGNET_OK);
	assert_int_equal(hsm_key_generate(f->tok, (hsm_alg)alg, 0, label, info, HSM_ERR), SIGNET_OK);
	EVP_PKEY *pk = NULL;
	assert_int_equal(hsm_key_public(f->tok, info->id, info->id_len, &pk, HSM_ERR), SIGNET_OK);
	sg_buf pub = SG_BUF_INIT;
	assert_int_equal(dns_dnskey_pubkey_from_evp(alg, pk, &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(flags, alg, pub.data, pub.len, rdata), SIGNET_OK);
	assert_int_equal(dns_key_tag(rdata->data, rdata->len, tag), SIGNET_OK);
	sg_buf_free(&pub);
	EVP_PKEY_free(pk);
}

static dns_rrset *zone_add_set(dns_zone *z, const dns_name *owner, uint16_t type,
			       uint32_t ttl)
{
	if (z->count == z->cap) {
		size_t cap = z->cap ? 2 * z->cap : 16;
		dns_rrset *s = realloc(z->sets, cap * sizeof(*s));
		assert_non_null(s);
		z->sets = s;
		z->cap = cap;
	}
	dns_rrset *s = &z->sets[z->count++];
	dns_rrset_init(s, owner, type, DNS_CLASS_IN, ttl);
	return s;
}

static const dns_rrset *find_set(const dns_zone *z, const dns_name *owner, uint16_t type)
{
	for (size_t i = 0; i < z->count; i++)
		if (z->sets[i].type == type && dns_name_equal(&z->sets[i].owner, owner))
			return &z->sets[i];
	return NULL;
}

/* Sign one set with key into a new RRSIG set appended to sz->sigs, and check
 * it with our own verifier first. */
static void sign_set(struct signed_zone *sz, hsm_session *session,
		     const hsm_key_info *key, const sg_buf *dnskey, uint16_t tag,
		     uint8_t alg, const dns_rrset *set, const dns_name *apex,
		     uint32_t inception, uint32_t expiration)
{
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_prepare(&sig, set, alg, tag, apex, inception,
					   expiration), SIGNET_OK);
	sg_buf data = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_signed_data(&sig, set, &data), SIGNET_OK);
	size_t siglen = 0;
	assert_int_equal(hsm_sign(session, key->id, key->id_len, data.data, data.len,
				  sig.sig, sizeof(sig.sig), &siglen, HSM_ERR), SIGNET_OK);
	sig.sig_len = (uint16_t)siglen;
	assert_int_equal(dns_rrsig_verify(&sig, set, dnskey->data, dnskey->len, apex,
					  (uint32_t)time(NULL)), SIGNET_OK);
	sg_buf rdata = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_to_rdata(&sig, &rdata), SIGNET_OK);
	if (sz->nsigs == sz->capsigs) {
		sz->capsigs = sz->capsigs ? 2 * sz->capsigs : 64;
		sz->sigs = realloc(sz->sigs, sz->capsigs * sizeof(*sz->sigs));
		assert_non_null(sz->sigs);
	}
	dns_rrset *out = &sz->sigs[sz->nsigs++];
	dns_rrset_init(out, &set->owner, DNS_T_RRSIG, DNS_CLASS_IN, set->ttl);
	assert_int_equal(dns_rrset_add(out, rdata.data, rdata.len), SIGNET_OK);
	sg_buf_free(&data);
	sg_buf_free(&rdata);
}

static void sign_zone(softhsm_fixture *f, struct zone_keys *k, enum denial denial,
		      struct signed_zone *sz)
{
	char path[512];
	snprintf(path, sizeof(path), "%s/zones/integration.zone", data_dir());
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(sg_file_read(path, 1 << 20, &text), SIGNET_OK);
	dns_name origin;
	assert_int_equal(dns_name_from_str(&origin, "example.test."), SIGNET_OK);
	unsigned errline = 0;
	assert_int_equal(dns_zone_parse((const char *)text.data, text.len, &origin, 3600,
					10000, &sz->zone, &errline), SIGNET_OK);
	sg_buf_free(&text);
	dns_zone *z = &sz->zone;

	dns_rrset *dnskey = zone_add_set(z, &z->apex, DNS_T_DNSKEY, 3600);
	assert_int_equal(dns_rrset_add(dnskey, k->ksk_rdata.data, k->ksk_rdata.len), SIGNET_OK);
	assert_int_equal(dns_rrset_add(dnskey, k->zsk_rdata.data, k->zsk_rdata.len), SIGNET_OK);

	dns_nsec3_params p = {.algorithm = 1, .flags = 0, .iterations = 0, .salt_len = 0};
	if (denial == DENIAL_NSEC3_OPTOUT) {
		/* A salt too, so a non-empty salt is exercised somewhere. */
		p.flags = DNS_NSEC3_FLAG_OPTOUT;
		p.salt_len = 4;
		memcpy(p.salt, "\xaa\xbb\xcc\xdd", 4);
	}
	if (denial != DENIAL_NSEC) {
		dns_nsec3_params param = p;
		param.flags = 0;
		sg_buf rd = SG_BUF_INIT;
		assert_int_equal(dns_nsec3param_rdata(&param, &rd), SIGNET_OK);
		dns_rrset *s = zone_add_set(z, &z->apex, DNS_T_NSEC3PARAM, 0);
		assert_int_equal(dns_rrset_add(s, rd.data, rd.len), SIGNET_OK);
		sg_buf_free(&rd);
	}

	sz->roles = calloc(z->count, sizeof(*sz->roles));
	assert_non_null(sz->roles);
	assert_int_equal(dns_zone_roles(z, sz->roles), SIGNET_OK);
	dns_owner *owners = NULL;
	size_t nowners = 0;
	assert_int_equal(dns_zone_owners(z, sz->roles, &owners, &nowners), SIGNET_OK);

	/* RFC 9077: the negative TTL is min(SOA MINIMUM, SOA TTL). */
	const dns_rrset *soa = find_set(z, &z->apex, DNS_T_SOA);
	assert_non_null(soa);
	assert_int_equal(soa->count, 1);
	uint32_t minimum = sg_get_u32(soa->rr[0].data + soa->rr[0].len - 4);
	uint32_t neg_ttl = minimum < soa->ttl ? minimum : soa->ttl;
	if (denial == DENIAL_NSEC)
		assert_int_equal(dns_nsec_chain(&z->apex, owners, nowners, neg_ttl, &sz->chain),
				 SIGNET_OK);
	else
		assert_int_equal(dns_nsec3_chain(&z->apex, owners, nowners, neg_ttl, &p,
						 &sz->chain), SIGNET_OK);
	dns_owners_free(owners, nowners);
	assert_true(sz->chain.count > 0);

	uint32_t now = (uint32_t)time(NULL);
	uint32_t inception = now - 3600, expiration = now + 14 * 86400;
	hsm_session *session = NULL;
	assert_int_equal(hsm_session_open(f->tok, &session, HSM_ERR), SIGNET_OK);
	for (size_t i = 0; i < z->count; i++) {
		if (sz->roles[i] != DNS_SET_SIGN)
			continue;
		const dns_rrset *s = &z->sets[i];
		if (s->type == DNS_T_DNSKEY)
			sign_set(sz, session, &k->ksk, &k->ksk_rdata, k->ksk_tag, k->alg, s,
				 &z->apex, inception, expiration);
		else
			sign_set(sz, session, &k->zsk, &k->zsk_rdata, k->zsk_tag, k->alg, s,
				 &z->apex, inception, expiration);
	}
	for (size_t i = 0; i < sz->chain.count; i++)
		sign_set(sz, session, &k->zsk, &k->zsk_rdata, k->zsk_tag, k->alg,
			 &sz->chain.sets[i], &z->apex, inception, expiration);
	hsm_session_close(session);
}

static void write_zone(const struct signed_zone *sz, const char *path, bool flip_one_sig,
		       bool drop_one_chain)
{
	sg_buf out = SG_BUF_INIT;
	for (size_t i = 0; i < sz->zone.count; i++)
		if (sz->roles[i] != DNS_SET_OUTSIDE)
			assert_int_equal(dns_rrset_to_text(&sz->zone.sets[i], &out), SIGNET_OK);
	for (size_t i = 0; i < sz->chain.count; i++) {
		/* Drop a chain record in the middle of the chain. */
		if (drop_one_chain && i == sz->chain.count / 2)
			continue;
		assert_int_equal(dns_rrset_to_text(&sz->chain.sets[i], &out), SIGNET_OK);
	}
	for (size_t i = 0; i < sz->nsigs; i++) {
		const dns_rrset *s = &sz->sigs[i];
		if (flip_one_sig && i == sz->nsigs / 3) {
			dns_rrset bad;
			assert_int_equal(dns_rrset_copy(&bad, s), SIGNET_OK);
			bad.rr[0].data[bad.rr[0].len - 5] ^= 0x10;
			assert_int_equal(dns_rrset_to_text(&bad, &out), SIGNET_OK);
			dns_rrset_clear(&bad);
			continue;
		}
		assert_int_equal(dns_rrset_to_text(s, &out), SIGNET_OK);
	}
	assert_int_equal(sg_file_write_atomic(path, out.data, out.len, 0600), SIGNET_OK);
	sg_buf_free(&out);
}

static void free_signed_zone(struct signed_zone *sz)
{
	for (size_t i = 0; i < sz->nsigs; i++)
		dns_rrset_clear(&sz->sigs[i]);
	free(sz->sigs);
	dns_chain_free(&sz->chain);
	free(sz->roles);
	dns_zone_free(&sz->zone);
}

/* Run a validator, its output into log; returns its exit status. */
static int run_tool(const char *cmd, const char *log)
{
	char full[2048];
	snprintf(full, sizeof(full), "%s > '%s' 2>&1", cmd, log);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

static void dump(const char *log)
{
	sg_buf b = SG_BUF_INIT;
	if (sg_file_read(log, 1 << 20, &b) == SIGNET_OK && b.len)
		fprintf(stderr, "---- %s\n%s----\n", log, (char *)b.data);
	sg_buf_free(&b);
}

static int validate(const char *zonefile, const char *log, enum denial denial,
		    bool expect_ok)
{
	char cmd[1024];
	snprintf(cmd, sizeof(cmd), "%s -o example.test. '%s'", DNSSEC_VERIFY, zonefile);
	int bind = run_tool(cmd, log);
	if ((bind == 0) != expect_ok)
		dump(log);
	int ldns = expect_ok ? 0 : 1;
	/* ldns-verify-zone does not accept opted-out delegations (its help
	 * says so), so opt-out is judged by dnssec-verify alone. */
	if (denial != DENIAL_NSEC3_OPTOUT) {
		snprintf(cmd, sizeof(cmd), "%s '%s'", LDNS_VERIFY_ZONE, zonefile);
		ldns = run_tool(cmd, log);
		if ((ldns == 0) != expect_ok)
			dump(log);
	}
	if (expect_ok)
		return bind == 0 && ldns == 0 ? 0 : -1;
	return bind != 0 && ldns != 0 ? 0 : -1;
}

static void run_case(void **state, uint8_t alg, enum denial denial)
{
	softhsm_fixture *f = *state;
	struct zone_keys k = {.alg = alg};
	make_key(f, alg, "ksk", DNS_DNSKEY_FLAG_ZONE | DNS_DNSKEY_FLAG_SEP, &k.ksk,
		 &k.ksk_rdata, &k.ksk_tag);
	make_key(f, alg, "zsk", DNS_DNSKEY_FLAG_ZONE, &k.zsk, &k.zsk_rdata, &k.zsk_tag);

	struct signed_zone sz = {0};
	sign_zone(f, &k, denial, &sz);

	char good[512], bad[512], gap[512], log[512];
	snprintf(good, sizeof(good), "%s/signed.zone", f->dir);
	snprintf(bad, sizeof(bad), "%s/flipped.zone", f->dir);
	snprintf(gap, sizeof(gap), "%s/gap.zone", f->dir);
	snprintf(log, sizeof(log), "%s/validator.log", f->dir);
	write_zone(&sz, good, false, false);
	write_zone(&sz, bad, true, false);
	write_zone(&sz, gap, false, true);

	assert_int_equal(validate(good, log, denial, true), 0);
	assert_int_equal(validate(bad, log, denial, false), 0);
	assert_int_equal(validate(gap, log, denial, false), 0);

	free_signed_zone(&sz);
	sg_buf_free(&k.ksk_rdata);
	sg_buf_free(&k.zsk_rdata);
}

static void test_ecdsap256_nsec(void **state) { run_case(state, 13, DENIAL_NSEC); }
static void test_ecdsap256_nsec3(void **state) { run_case(state, 13, DENIAL_NSEC3); }
static void test_ecdsap256_optout(void **state) { run_case(state, 13, DENIAL_NSEC3_OPTOUT); }
static void test_ecdsap384_nsec3(void **state) { run_case(state, 14, DENIAL_NSEC3); }
static void test_ed25519_nsec(void **state) { run_case(state, 15, DENIAL_NSEC); }
static void test_ed25519_nsec3(void **state) { run_case(state, 15, DENIAL_NSEC3); }
static void test_rsasha256_nsec(void **state) { run_case(state, 8, DENIAL_NSEC); }
static void test_rsasha256_nsec3(void **state) { run_case(state, 8, DENIAL_NSEC3); }

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_ecdsap256_nsec, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_ecdsap256_nsec3, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_ecdsap256_optout, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_ecdsap384_nsec3, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_ed25519_nsec, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_ed25519_nsec3, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_rsasha256_nsec, softhsm_setup, softhsm_teardown),
		cmocka_unit_test_setup_teardown(test_rsasha256_nsec3, softhsm_setup, softhsm_teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
