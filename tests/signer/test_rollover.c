/* test_rollover.c -- keys over time in a real signetd with a test clock:
 * a zone through two ZSK rollovers and a double-KSK rollover (Ed25519), and
 * another through an algorithm rollover (13 -> 15), each step signed with
 * `signet sign-zone`, validated by ldns-verify-zone from the parent's DS at
 * the simulated time (dnssec-verify where the simulated time is now), by a
 * real validating Unbound (the parent's DS as trust anchor, its clock set to
 * the simulated time) asked for SOA, DNSKEY, an A record and a name that
 * does not exist, and every combination a resolver's cache could hold (DS,
 * DNSKEY, RRSIGs of the step before) checked with dns_rrsig_verify. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <openssl/ec.h>
#include <openssl/evp.h>

#include "tests/lib/signetd_fixture.h"

#define HOUR 3600
#define DAY 86400
#define MAXK 4
#define HIST 256

static signetd_env D;
static unsigned resolver_runs;
static double resolver_secs;

extern char **environ;

/* A KSK held by the test, standing in for the ceremony's token. */
typedef struct tksk {
	EVP_PKEY *key;
	uint8_t alg;
	uint8_t dnskey[SIGNER_DNSKEY_MAX];
	size_t dnskey_len;
	uint16_t tag;
} tksk;

static void tksk_new(tksk *k, uint8_t alg)
{
	memset(k, 0, sizeof(*k));
	k->alg = alg;
	EVP_PKEY_CTX *pc = EVP_PKEY_CTX_new_id(alg == DNS_ALG_ED25519 ? EVP_PKEY_ED25519
					       : EVP_PKEY_EC, NULL);
	assert_non_null(pc);
	assert_int_equal(EVP_PKEY_keygen_init(pc), 1);
	if (alg == DNS_ALG_ECDSAP256SHA256)
		assert_int_equal(EVP_PKEY_CTX_set_ec_paramgen_curve_nid(pc, NID_X9_62_prime256v1),
				 1);
	assert_int_equal(EVP_PKEY_keygen(pc, &k->key), 1);
	EVP_PKEY_CTX_free(pc);
	sg_buf pub = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_dnskey_pubkey_from_evp(alg, k->key, &pub), SIGNET_OK);
	assert_int_equal(dns_dnskey_rdata(DNS_DNSKEY_FLAG_ZONE | DNS_DNSKEY_FLAG_SEP, alg,
					  pub.data, pub.len, &rd), SIGNET_OK);
	memcpy(k->dnskey, rd.data, rd.len);
	k->dnskey_len = rd.len;
	assert_int_equal(dns_key_tag(rd.data, rd.len, &k->tag), SIGNET_OK);
	sg_buf_free(&pub);
	sg_buf_free(&rd);
}

static void tksk_sign(const tksk *k, const dns_name *zone, const dns_rrset *set,
		      uint32_t inc, uint32_t exp, dns_rrset *sigs)
{
	dns_rrsig sig;
	assert_int_equal(dns_rrsig_prepare(&sig, set, k->alg, k->tag, zone, inc, exp), SIGNET_OK);
	sg_buf data = SG_BUF_INIT, rd = SG_BUF_INIT;
	assert_int_equal(dns_rrsig_signed_data(&sig, set, &data), SIGNET_OK);
	EVP_MD_CTX *md = EVP_MD_CTX_new();
	uint8_t der[256];
	size_t len = sizeof(der);
	assert_int_equal(EVP_DigestSignInit(md, NULL, k->alg == DNS_ALG_ED25519 ? NULL
					    : EVP_sha256(), NULL, k->key), 1);
	assert_int_equal(EVP_DigestSign(md, der, &len, data.data, data.len), 1);
	EVP_MD_CTX_free(md);
	if (k->alg == DNS_ALG_ED25519) {
		memcpy(sig.sig, der, len);
		sig.sig_len = (uint16_t)len;
	} else {
		/* DNSSEC wants r || s, 32 octets each (RFC 6605). */
		const uint8_t *p = der;
		ECDSA_SIG *es = d2i_ECDSA_SIG(NULL, &p, (long)len);
		assert_non_null(es);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_r(es), sig.sig, 32), 32);
		assert_int_equal(BN_bn2binpad(ECDSA_SIG_get0_s(es), sig.sig + 32, 32), 32);
		ECDSA_SIG_free(es);
		sig.sig_len = 64;
	}
	assert_int_equal(dns_rrsig_to_rdata(&sig, &rd), SIGNET_OK);
	assert_int_equal(dns_rrset_add(sigs, rd.data, rd.len), SIGNET_OK);
	sg_buf_free(&data);
	sg_buf_free(&rd);
}

static bool in_set(const dns_rrset *s, const uint8_t *rd, size_t len)
{
	for (size_t i = 0; i < s->count; i++)
		if (s->rr[i].len == len && memcmp(s->rr[i].data, rd, len) == 0)
			return true;
	return false;
}

/* One zone under test and what a resolver's cache has seen of it. */
typedef struct sample {
	int64_t t;
	dns_rrset dnskey, dnskey_sigs, a, a_sigs;
} sample;

typedef struct zone_run {
	const char *name;
	dns_name apex;
	tksk ksk[MAXK];
	size_t nksk;
	/* the parent: the DS set it serves, and the one before (cached for
	 * ds_ttl after the change) */
	uint8_t ds[MAXK][SIGNER_DNSKEY_MAX];  /* DNSKEY RDATA the DS points at */
	size_t ds_len[MAXK], nds;
	uint8_t old_ds[MAXK][SIGNER_DNSKEY_MAX];
	size_t old_ds_len[MAXK], nold_ds;
	int64_t ds_changed;
	uint32_t ds_ttl, dnskey_ttl, max_ttl, prop;
	sample hist[HIST];
	size_t nhist;
	char in[300], out[300], conf[300];
	int64_t bundle_end;
	unsigned zsk_seen, steps, combos;
} zone_run;

static ProtobufCBinaryData bin(const void *p, size_t len)
{
	ProtobufCBinaryData b = {len, (uint8_t *)p};
	return b;
}

static Signet__V1__RolloverResponse *rollover(zone_run *z, int action, const uint8_t *dk,
					      size_t dkl, int64_t t, grpc_status_code want)
{
	Signet__V1__RolloverRequest r = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	if (z)
		r.zone = bin(z->apex.wire, z->apex.len);
	r.action = action;
	r.dnskey = bin(dk, dkl);
	r.time = t;
	char det[512] = "";
	sg_buf resp = SG_BUF_INIT;
	grpc_status_code st = rpc_call_msg(D.admin, "Rollover", &r.base, det, sizeof(det), &resp);
	if (st != want)
		fail_msg("Rollover %d: status %d (%s), wanted %d", action, st, det, want);
	Signet__V1__RolloverResponse *out = NULL;
	if (st == GRPC_STATUS_OK) {
		out = signet__v1__rollover_response__unpack(NULL, resp.len, resp.data);
		assert_non_null(out);
	}
	sg_buf_free(&resp);
	return out;
}

static void set_clock(int64_t t)
{
	Signet__V1__RolloverResponse *r =
		rollover(NULL, SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK, NULL, 0, t,
			 GRPC_STATUS_OK);
	assert_int_equal(r->now, t);
	signet__v1__rollover_response__free_unpacked(r, NULL);
}

/* The ceremony: export a request for days, sign every RRset of every
 * period with each of our KSKs in that period's DNSKEY RRset, import. */
static void ceremony(zone_run *z, uint32_t days)
{
	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = bin(z->apex.wire, z->apex.len);
	er.days = days;
	char det[512] = "";
	sg_buf resp = SG_BUF_INIT;
	if (rpc_call_msg(D.admin, "ExportKeySigningRequest", &er.base, det, sizeof(det), &resp) !=
	    GRPC_STATUS_OK)
		fail_msg("export: %s", det);
	Signet__V1__ExportKeySigningRequestResponse *ex =
		signet__v1__export_key_signing_request_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(ex);
	dns_keyset ks;
	assert_int_equal(dns_keyset_parse((const char *)ex->request.data, ex->request.len, &ks,
					  NULL), SIGNET_OK);
	signet__v1__export_key_signing_request_response__free_unpacked(ex, NULL);
	ks.kind = DNS_KEYSET_BUNDLE;
	for (size_t i = 0; i < ks.count; i++) {
		dns_keyset_period *p = &ks.periods[i];
		dns_rrset_clear(&p->sigs);
		dns_rrset_init(&p->sigs, &ks.zone, DNS_T_RRSIG, DNS_CLASS_IN, p->dnskey.ttl);
		const dns_rrset *sets[3] = {&p->dnskey, &p->cds, &p->cdnskey};
		for (size_t k = 0; k < z->nksk; k++) {
			if (!in_set(&p->dnskey, z->ksk[k].dnskey, z->ksk[k].dnskey_len))
				continue;
			for (int t = 0; t < 3; t++)
				if (sets[t]->count)
					tksk_sign(&z->ksk[k], &ks.zone, sets[t], p->inception,
						  p->expiration, &p->sigs);
		}
	}
	z->bundle_end = ks.count ? ks.periods[ks.count - 1].expiration : 0;
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(dns_keyset_write(&ks, &text), SIGNET_OK);
	dns_keyset_free(&ks);
	Signet__V1__ImportKeyBundleRequest ib = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	ib.zone = bin(z->apex.wire, z->apex.len);
	ib.bundle = bin(text.data, text.len);
	if (rpc_call_msg(D.admin, "ImportKeyBundle", &ib.base, det, sizeof(det), NULL) !=
	    GRPC_STATUS_OK)
		fail_msg("import: %s", det);
	sg_buf_free(&text);
	sg_buf_free(&resp);
}

static void write_file(const char *path, const char *text)
{
	assert_int_equal(sg_file_write_atomic(path, text, strlen(text), 0600), SIGNET_OK);
}

static void start_zone(zone_run *z, const char *name, uint8_t zsk_alg, uint8_t ksk_alg)
{
	memset(z, 0, sizeof(*z));
	z->name = name;
	assert_int_equal(dns_name_from_str(&z->apex, name), SIGNET_OK);
	z->ds_ttl = HOUR;
	z->dnskey_ttl = HOUR;
	z->max_ttl = HOUR;
	z->prop = 600;
	tksk_new(&z->ksk[0], ksk_alg);
	z->nksk = 1;
	memcpy(z->ds[0], z->ksk[0].dnskey, z->ksk[0].dnskey_len);
	z->ds_len[0] = z->ksk[0].dnskey_len;
	z->nds = 1;
	/* Short times so that weeks of rollovers are a few dozen steps. */
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.algorithm = zsk_alg;
	pol.validity = 4 * DAY;
	pol.keyset_period = DAY;
	pol.dnskey_ttl = z->dnskey_ttl;
	pol.max_zone_ttl = z->max_ttl;
	pol.ds_ttl = z->ds_ttl;
	pol.propagation = z->prop;
	pol.publish_margin = 600;
	pol.retire_margin = 600;
	pol.zsk_lifetime = 5 * DAY;
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	az.zone = bin(z->apex.wire, z->apex.len);
	az.policy = &pol;
	ProtobufCBinaryData kd = bin(z->ksk[0].dnskey, z->ksk[0].dnskey_len);
	az.n_ksk_dnskey = 1;
	az.ksk_dnskey = &kd;
	char det[512] = "";
	if (rpc_call_msg(D.admin, "AddZone", &az.base, det, sizeof(det), NULL) != GRPC_STATUS_OK)
		fail_msg("AddZone: %s", det);
	snprintf(z->in, sizeof(z->in), "%s/%sin", D.dir, name);
	snprintf(z->out, sizeof(z->out), "%s/%sout", D.dir, name);
	snprintf(z->conf, sizeof(z->conf), "%s/ns1.conf", D.dir);
	char text[1024];
	snprintf(text, sizeof(text),
		 "$ORIGIN %s\n$TTL 3600\n@ SOA ns1 host 1 3600 600 86400 300\n@ NS ns1\n"
		 "ns1 A 192.0.2.1\nwww A 192.0.2.2\nwww TXT \"rolling\"\n", name);
	write_file(z->in, text);
	snprintf(text, sizeof(text),
		 "server 127.0.0.1:%d\nserver-name localhost\nca %s/ca.pem\ncert %s/ns1.pem\n"
		 "key %s/ns1.key\ntimeout 20\n", D.port, D.dir, D.dir, D.dir);
	write_file(z->conf, text);
}

/* Under ASan every program takes a malloc's stack with the slow unwinder
 * (common/sanitizer.c: the leak suppressions must see through SoftHSM2 and
 * libcrypto), which makes one `signet sign-zone` here ten times slower
 * (0.3 s against 0.03 s; 64 of them ran this test near its time limit on a
 * loaded machine). The CLI's own leaks are checked by the client tests; here
 * it runs with the fast unwinder and no leak check. Other builds ignore
 * the variable. */
static int run(const char *cmd)
{
	char full[4096];
	snprintf(full, sizeof(full),
		 "ASAN_OPTIONS=\"${ASAN_OPTIONS:-}:fast_unwind_on_malloc=1:detect_leaks=0\" "
		 "%s > '%s/tool.log' 2>&1", cmd, D.dir);
	int st = system(full);
	return WIFEXITED(st) ? WEXITSTATUS(st) : 255;
}

/* The DS file of a set of KSK DNSKEYs, for ldns-verify-zone -k. */
static void ds_file(const zone_run *z, uint8_t (*keys)[SIGNER_DNSKEY_MAX], const size_t *lens,
		    size_t n, const char *path)
{
	sg_buf text = SG_BUF_INIT, rd = SG_BUF_INIT;
	for (size_t i = 0; i < n; i++) {
		sg_buf_reset(&rd);
		assert_int_equal(dns_ds_rdata(&z->apex, keys[i], lens[i], 2, &rd), SIGNET_OK);
		assert_int_equal(dns_rr_to_text(&z->apex, DNS_T_DS, DNS_CLASS_IN, z->ds_ttl,
						rd.data, rd.len, &text), SIGNET_OK);
		text.len = strlen((char *)text.data);
		assert_int_equal(sg_buf_append(&text, "\n", 1), SIGNET_OK);
	}
	assert_int_equal(sg_file_write_atomic(path, text.data, text.len, 0600), SIGNET_OK);
	sg_buf_free(&text);
	sg_buf_free(&rd);
}

static void fmt_time(int64_t t, char *out, size_t len)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(out, len, "%Y%m%d%H%M%S", &tm);
}

static double mono(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Stop a child: SIGTERM, then SIGKILL after 5 s. */
static void stop_child(pid_t pid)
{
	kill(pid, SIGTERM);
	for (int i = 0; i < 500; i++) {
		if (waitpid(pid, NULL, WNOHANG) == pid)
			return;
		usleep(10000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, NULL, 0);
}

/* Ask the resolver on port for name/type with the DO bit (drill, bounded by
 * timeout(1)); the rcode and whether AD is set. False when no answer came. */
static bool ask(int port, const char *name, const char *type, char rcode[16], bool *ad,
		sg_buf *text)
{
	char cmd[512];
	snprintf(cmd, sizeof(cmd), "timeout 20 drill -p %d @127.0.0.1 -D %s %s 2>&1", port, name,
		 type);
	FILE *p = popen(cmd, "r");
	assert_non_null(p);
	char line[4096];
	bool got = false;
	*ad = false;
	sg_buf_reset(text);
	while (fgets(line, sizeof(line), p)) {
		assert_int_equal(sg_buf_append(text, line, strlen(line)), SIGNET_OK);
		const char *r = strstr(line, "rcode: ");
		if (r && sscanf(r, "rcode: %15[A-Z]", rcode) == 1)
			got = true;
		if (strncmp(line, ";; flags:", 9) == 0)
			*ad = strstr(line, " ad ") != NULL || strstr(line, " ad;") != NULL;
	}
	pclose(p);
	assert_int_equal(sg_buf_put_u8(text, 0), SIGNET_OK);
	return got;
}

/* A validating resolver at the simulated time t: Unbound with the zone as
 * auth-zone for the iterator only (answers of an auth-zone for-downstream
 * come with AA and are never validated), the DS file as trust anchor. With
 * want_secure, SOA, DNSKEY and www A must come back NOERROR with AD, a
 * non-existent name NXDOMAIN with AD; otherwise www A must fail (SERVFAIL:
 * the anchor does not match). */
static void resolve(const zone_run *z, int64_t t, const char *dsf, bool want_secure)
{
	double t0 = mono();
	char conf[300], log[300], ts[32], text[2048];
	snprintf(conf, sizeof(conf), "%s/unbound.conf", D.dir);
	snprintf(log, sizeof(log), "%s/unbound.log", D.dir);
	fmt_time(t, ts, sizeof(ts));
	int port = signetd_free_port();
	assert_true(port > 0);
	snprintf(text, sizeof(text),
		 "server:\n  interface: 127.0.0.1\n  port: %d\n  do-ip6: no\n"
		 "  username: \"\"\n  chroot: \"\"\n  directory: \"%s\"\n  pidfile: \"\"\n"
		 "  do-daemonize: no\n  use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n"
		 "  module-config: \"validator iterator\"\n  val-override-date: \"%s\"\n"
		 /* test. is one of Unbound's default local zones (RFC 6761) */
		 "  local-zone: \"test.\" nodefault\n  trust-anchor-file: \"%s\"\n"
		 "  trust-anchor-signaling: no\n  num-threads: 1\n"
		 "auth-zone:\n  name: \"%s\"\n  zonefile: \"%s\"\n  for-downstream: no\n"
		 "  for-upstream: yes\n  fallback-enabled: no\n",
		 port, D.dir, ts, dsf, z->name, z->out);
	write_file(conf, text);
	posix_spawn_file_actions_t fa;
	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	posix_spawn_file_actions_adddup2(&fa, 1, 2);
	const char *argv[] = {"/usr/sbin/unbound", "-d", "-c", conf, NULL};
	pid_t pid;
	assert_int_equal(posix_spawn(&pid, argv[0], &fa, NULL, (char *const *)argv, environ), 0);
	posix_spawn_file_actions_destroy(&fa);
	bool up = false;
	for (long end = signetd_now_ms() + 30000; !up; usleep(10000)) {
		up = signetd_log_has(log, "start of service");
		if (!up && waitpid(pid, NULL, WNOHANG) == pid) {
			signetd_sh("cat '%s' >&2", log);
			fail_msg("unbound exited at start");
		}
		if (!up && signetd_now_ms() > end) {
			stop_child(pid);
			signetd_sh("cat '%s' >&2", log);
			fail_msg("unbound did not start within 30 s");
		}
	}
	char www[300], nx[300], rcode[16] = "";
	snprintf(www, sizeof(www), "www.%s", z->name);
	snprintf(nx, sizeof(nx), "no-such-name.%s", z->name);
	const struct {
		const char *name, *type, *rcode;
	} q[4] = {
		{z->name, "SOA", "NOERROR"},
		{z->name, "DNSKEY", "NOERROR"},
		{www, "A", "NOERROR"},
		{nx, "A", "NXDOMAIN"},
	};
	sg_buf ans = SG_BUF_INIT;
	const char *bad = NULL;
	for (int i = want_secure ? 0 : 2; i < (want_secure ? 4 : 3) && !bad; i++) {
		bool ad = false;
		if (!ask(port, q[i].name, q[i].type, rcode, &ad, &ans))
			bad = "no answer";
		else if (want_secure && (strcmp(rcode, q[i].rcode) != 0 || !ad))
			bad = "not validated (wrong rcode or no AD)";
		else if (!want_secure && (strcmp(rcode, "SERVFAIL") != 0 || ad))
			bad = "validated with a DS matching no key";
		if (bad) {
			stop_child(pid);
			signetd_sh("cat '%s' '%s' >&2", log, dsf);
			fail_msg("unbound at %s, %s %s: %s:\n%s", ts, q[i].name, q[i].type, bad,
				 (const char *)ans.data);
		}
	}
	sg_buf_free(&ans);
	stop_child(pid);
	resolver_runs++;
	resolver_secs += mono() - t0;
}

/* Read the signed zone's apex DNSKEY and www A RRsets with their RRSIGs. */
static void read_sample(zone_run *z, sample *s)
{
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(sg_file_read(z->out, 1 << 22, &text), SIGNET_OK);
	dns_zone zone;
	assert_int_equal(dns_zone_parse((const char *)text.data, text.len, &z->apex, 3600, 100000, &zone, NULL),
			 SIGNET_OK);
	dns_name www;
	char wn[300];
	snprintf(wn, sizeof(wn), "www.%s", z->name);
	assert_int_equal(dns_name_from_str(&www, wn), SIGNET_OK);
	dns_rrset_init(&s->dnskey, &z->apex, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
	dns_rrset_init(&s->dnskey_sigs, &z->apex, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	dns_rrset_init(&s->a, &www, DNS_T_A, DNS_CLASS_IN, 0);
	dns_rrset_init(&s->a_sigs, &www, DNS_T_RRSIG, DNS_CLASS_IN, 0);
	for (size_t i = 0; i < zone.count; i++) {
		const dns_rrset *r = &zone.sets[i];
		bool apex = dns_name_equal(&r->owner, &z->apex);
		bool w = dns_name_equal(&r->owner, &www);
		for (size_t j = 0; j < r->count; j++) {
			const dns_rdata *d = &r->rr[j];
			if (apex && r->type == DNS_T_DNSKEY) {
				dns_rrset_add(&s->dnskey, d->data, d->len);
				s->dnskey.ttl = r->ttl;
			} else if (w && r->type == DNS_T_A) {
				dns_rrset_add(&s->a, d->data, d->len);
				s->a.ttl = r->ttl;
			} else if (r->type == DNS_T_RRSIG && d->len > 2) {
				uint16_t cov = sg_get_u16(d->data);
				if (apex && cov == DNS_T_DNSKEY)
					dns_rrset_add(&s->dnskey_sigs, d->data, d->len);
				if (w && cov == DNS_T_A)
					dns_rrset_add(&s->a_sigs, d->data, d->len);
			}
		}
	}
	dns_zone_free(&zone);
	sg_buf_free(&text);
	assert_true(s->dnskey.count >= 2);
	assert_true(s->a.count == 1 && s->a_sigs.count >= 1);
}

/* Does some RRSIG of sigs over set verify at now with a key of keys? */
static bool validates(const dns_rrset *set, const dns_rrset *sigs, const dns_rrset *keys,
		      const dns_name *zone, uint32_t now, bool sep_only)
{
	for (size_t i = 0; i < sigs->count; i++) {
		dns_rrsig sig;
		if (dns_rrsig_from_rdata(&sig, sigs->rr[i].data, sigs->rr[i].len) != SIGNET_OK)
			continue;
		for (size_t k = 0; k < keys->count; k++) {
			const dns_rdata *d = &keys->rr[k];
			if (sep_only && !(sg_get_u16(d->data) & DNS_DNSKEY_FLAG_SEP))
				continue;
			if (dns_rrsig_verify(&sig, set, d->data, d->len, zone, now) == SIGNET_OK)
				return true;
		}
	}
	return false;
}

/* Is the DNSKEY RRset of s trusted through a DS pointing at one of ds? */
static bool chain_ok(const sample *s, uint8_t (*ds)[SIGNER_DNSKEY_MAX], const size_t *len,
		     size_t n, const dns_name *zone, uint32_t now)
{
	for (size_t i = 0; i < n; i++) {
		if (!in_set(&s->dnskey, ds[i], len[i]))
			continue;
		dns_rrset one;
		dns_rrset_init(&one, zone, DNS_T_DNSKEY, DNS_CLASS_IN, 0);
		assert_int_equal(dns_rrset_add(&one, ds[i], len[i]), SIGNET_OK);
		bool ok = validates(&s->dnskey, &s->dnskey_sigs, &one, zone, now, true);
		dns_rrset_clear(&one);
		if (ok)
			return true;
	}
	return false;
}

/* One step at t: sign the zone through signetd, validate it as served,
 * and against everything a resolver may still hold from earlier steps. */
static void step(zone_run *z, int64_t t)
{
	set_clock(t);
	char cmd[2048], ts[32], dsf[300], olddsf[300];
	snprintf(cmd, sizeof(cmd), "'%s/client/signet' sign-zone --zone %s --in '%s' --out '%s'"
		 " --config '%s'", getenv("SIGNET_BUILD_DIR"), z->name, z->in, z->out, z->conf);
	if (run(cmd) != 0) {
		signetd_sh("cat '%s/tool.log' >&2", D.dir);
		fail_msg("sign-zone at %lld failed", (long long)t);
	}
	fmt_time(t, ts, sizeof(ts));
	snprintf(dsf, sizeof(dsf), "%s/ds", D.dir);
	ds_file(z, z->ds, z->ds_len, z->nds, dsf);
	snprintf(cmd, sizeof(cmd), "ldns-verify-zone -t %s -k '%s' '%s'", ts, dsf, z->out);
	if (run(cmd) != 0) {
		signetd_sh("cat '%s/tool.log' >&2", D.dir);
		fail_msg("ldns-verify-zone at %lld (%s) with the parent's DS failed", (long long)t, ts);
	}
	resolve(z, t, dsf, true);
	if (z->steps == 0) {
		/* the resolver does validate: a DS of a key the zone lacks fails */
		uint8_t other[SIGNER_DNSKEY_MAX];
		size_t olen = z->ksk[0].dnskey_len;
		memcpy(other, z->ksk[0].dnskey, olen);
		other[olen - 1] ^= 0x5a;
		snprintf(olddsf, sizeof(olddsf), "%s/wrongds", D.dir);
		ds_file(z, &other, &olen, 1, olddsf);
		resolve(z, t, olddsf, false);
	}
	bool old_ds = z->nold_ds && t - z->ds_changed <= (int64_t)(z->ds_ttl + z->prop);
	if (old_ds) {
		/* A resolver may still hold the DS set from before the change. */
		snprintf(olddsf, sizeof(olddsf), "%s/oldds", D.dir);
		ds_file(z, z->old_ds, z->old_ds_len, z->nold_ds, olddsf);
		snprintf(cmd, sizeof(cmd), "ldns-verify-zone -t %s -k '%s' '%s'", ts, olddsf, z->out);
		if (run(cmd) != 0) {
			signetd_sh("cat '%s/tool.log' >&2", D.dir);
			fail_msg("ldns-verify-zone at %s with the cached old DS failed", ts);
		}
	}
	if (z->steps == 0 && llabs(t - (int64_t)time(NULL)) < 600) {  /* real time only */
		snprintf(cmd, sizeof(cmd), "dnssec-verify -q -o %s '%s'", z->name, z->out);
		if (run(cmd) != 0) {
			signetd_sh("cat '%s/tool.log' >&2", D.dir);
			fail_msg("dnssec-verify failed");
		}
	}
	assert_true(z->nhist < HIST);
	sample *s = &z->hist[z->nhist++];
	s->t = t;
	read_sample(z, s);
	uint32_t now = (uint32_t)t;
	/* The cache view: each earlier step whose DNSKEY RRset may still be
	 * cached (its TTL, propagation, and its RRSIG still valid) must
	 * validate today's signatures, and be trusted through a cached DS;
	 * each earlier step's A RRset and RRSIGs that may still be cached
	 * must validate with today's DNSKEY RRset. */
	for (size_t i = 0; i + 1 < z->nhist; i++) {
		const sample *o = &z->hist[i];
		if (t - o->t <= (int64_t)(z->dnskey_ttl + z->prop) &&
		    validates(&o->dnskey, &o->dnskey_sigs, &o->dnskey, &z->apex, now, true)) {
			if (!validates(&s->a, &s->a_sigs, &o->dnskey, &z->apex, now, false))
				fail_msg("%s: RRSIGs at %lld do not validate with the DNSKEY RRset"
					 " cached at %lld", z->name, (long long)t, (long long)o->t);
			if (!chain_ok(o, z->ds, z->ds_len, z->nds, &z->apex, now) &&
			    !(old_ds && chain_ok(o, z->old_ds, z->old_ds_len, z->nold_ds, &z->apex,
						 now)))
				fail_msg("%s: DNSKEY RRset cached at %lld not trusted by a DS at %lld",
					 z->name, (long long)o->t, (long long)t);
			z->combos++;
		}
		if (t - o->t <= (int64_t)(z->max_ttl + z->prop)) {
			bool live = false;
			for (size_t k = 0; k < o->a_sigs.count; k++) {
				dns_rrsig sig;
				if (dns_rrsig_from_rdata(&sig, o->a_sigs.rr[k].data,
							 o->a_sigs.rr[k].len) == SIGNET_OK &&
				    dns_serial_compare(sig.expiration, now) == 1)
					live = true;
			}
			if (live && !validates(&o->a, &o->a_sigs, &s->dnskey, &z->apex, now, false))
				fail_msg("%s: RRSIGs cached at %lld do not validate with the DNSKEY"
					 " RRset at %lld", z->name, (long long)o->t, (long long)t);
			z->combos++;
		}
		if (old_ds)
			z->combos++;
	}
	z->steps++;
}

static void free_hist(zone_run *z)
{
	for (size_t i = 0; i < z->nhist; i++) {
		dns_rrset_clear(&z->hist[i].dnskey);
		dns_rrset_clear(&z->hist[i].dnskey_sigs);
		dns_rrset_clear(&z->hist[i].a);
		dns_rrset_clear(&z->hist[i].a_sigs);
	}
	for (size_t i = 0; i < z->nksk; i++)
		EVP_PKEY_free(z->ksk[i].key);
}

/* The zone's keys and the next change in force after t (0: none). */
static int64_t next_change(zone_run *z, int64_t t, Signet__V1__RolloverResponse **keys)
{
	Signet__V1__RolloverResponse *r =
		rollover(z, SIGNET__V1__ROLLOVER_REQUEST__ACTION__SHOW, NULL, 0, 0, GRPC_STATUS_OK);
	int64_t next = 0;
	for (size_t i = 0; i < r->n_keys; i++) {
		const Signet__V1__KeyInfo *k = r->keys[i];
		int64_t ts[4] = {k->publish, k->active, k->retire, k->remove};
		for (int j = 0; j < 4; j++)
			if (ts[j] > t && (!next || ts[j] < next))
				next = ts[j];
	}
	if (keys)
		*keys = r;
	else
		signet__v1__rollover_response__free_unpacked(r, NULL);
	return next;
}

/* Walk from *t to until: at every state change (a second before and at
 * it) and at least every 12 hours; a ceremony whenever the bundle has less
 * than 3 days left, covering 8 days. */
static void walk(zone_run *z, int64_t *t, int64_t until)
{
	while (*t < until) {
		if (z->bundle_end - *t < 3 * DAY) {
			set_clock(*t);
			ceremony(z, 8);
		}
		step(z, *t);
		int64_t nc = next_change(z, *t, NULL);
		int64_t nt = *t + 12 * HOUR;
		if (nc && nc - 1 > *t && nc - 1 < nt)
			nt = nc - 1;
		else if (nc && nc < nt)
			nt = nc;
		*t = nt;
	}
}

static uint32_t zsk_tags(zone_run *z, uint16_t *tags, size_t cap)
{
	Signet__V1__RolloverResponse *r = NULL;
	next_change(z, 0, &r);
	uint32_t n = 0;
	for (size_t i = 0; i < r->n_keys; i++)
		if (strcmp(r->keys[i]->role, "zsk") == 0 && n < cap)
			tags[n++] = (uint16_t)r->keys[i]->key_tag;
	signet__v1__rollover_response__free_unpacked(r, NULL);
	return n;
}

static void test_zsk_and_ksk_rollover(void **state)
{
	(void)state;
	zone_run *z = calloc(1, sizeof(*z));
	assert_non_null(z);
	int64_t t = (int64_t)time(NULL);  /* the first step is now: dnssec-verify too */
	set_clock(t);
	start_zone(z, "roll.test.", DNS_ALG_ED25519, DNS_ALG_ED25519);
	/* nothing to export before a ZSK exists: the planner makes the first */
	ceremony(z, 8);
	walk(z, &t, t + 4 * DAY);

	/* KSK rollover, double-KSK: the ceremony's new KSK */
	tksk_new(&z->ksk[1], DNS_ALG_ED25519);
	z->nksk = 2;
	Signet__V1__RolloverResponse *r =
		rollover(z, SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK, z->ksk[1].dnskey,
			 z->ksk[1].dnskey_len, 0, GRPC_STATUS_OK);
	signet__v1__rollover_response__free_unpacked(r, NULL);
	/* a second one while this one runs is refused; DS not yet wanted */
	tksk extra;
	tksk_new(&extra, DNS_ALG_ED25519);
	rollover(z, SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK, extra.dnskey, extra.dnskey_len,
		 0, GRPC_STATUS_FAILED_PRECONDITION);
	rollover(z, SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN, z->ksk[1].dnskey,
		 z->ksk[1].dnskey_len, 0, GRPC_STATUS_FAILED_PRECONDITION);
	EVP_PKEY_free(extra.key);
	set_clock(t);
	ceremony(z, 8);
	/* walk until the CDS names the new KSK only: then the parent acts */
	int64_t until = t + 2 * DAY;
	bool parent_done = false;
	while (t < until) {
		walk(z, &t, t + HOUR);
		if (parent_done)
			continue;
		Signet__V1__GetKeySetRequest kr = SIGNET__V1__GET_KEY_SET_REQUEST__INIT;
		kr.zone = bin(z->apex.wire, z->apex.len);
		sg_buf resp = SG_BUF_INIT;
		char det[256];
		set_clock(t);
		assert_int_equal(rpc_call_msg(D.signer, "GetKeySet", &kr.base, det, sizeof(det),
					      &resp), GRPC_STATUS_OK);
		Signet__V1__GetKeySetResponse *ks =
			signet__v1__get_key_set_response__unpack(NULL, resp.len, resp.data);
		sg_buf_free(&resp);
		assert_non_null(ks);
		bool only_new = ks->cdnskey && ks->cdnskey->n_rdata == 1 &&
			ks->cdnskey->rdata[0].len == z->ksk[1].dnskey_len &&
			memcmp(ks->cdnskey->rdata[0].data, z->ksk[1].dnskey,
			       z->ksk[1].dnskey_len) == 0;
		signet__v1__get_key_set_response__free_unpacked(ks, NULL);
		if (!only_new)
			continue;
		/* the parent swaps the DS; resolvers keep the old one a DS TTL */
		memcpy(z->old_ds, z->ds, sizeof(z->ds));
		memcpy(z->old_ds_len, z->ds_len, sizeof(z->ds_len));
		z->nold_ds = z->nds;
		memcpy(z->ds[0], z->ksk[1].dnskey, z->ksk[1].dnskey_len);
		z->ds_len[0] = z->ksk[1].dnskey_len;
		z->nds = 1;
		z->ds_changed = t;
		r = rollover(z, SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN, z->ksk[1].dnskey,
			     z->ksk[1].dnskey_len, 0, GRPC_STATUS_OK);
		signet__v1__rollover_response__free_unpacked(r, NULL);
		ceremony(z, 8);  /* the old KSK's departure needs the KSK's signature */
		parent_done = true;
	}
	assert_true(parent_done);
	walk(z, &t, t + 9 * DAY);

	/* The old KSK is gone from the DNSKEY RRset; at least three ZSKs
	 * served (two rollovers); the last step's DNSKEY set has one KSK. */
	sample *last = &z->hist[z->nhist - 1];
	assert_false(in_set(&last->dnskey, z->ksk[0].dnskey, z->ksk[0].dnskey_len));
	assert_true(in_set(&last->dnskey, z->ksk[1].dnskey, z->ksk[1].dnskey_len));
	uint16_t tags[16];
	uint32_t nz = zsk_tags(z, tags, 16);
	assert_true(nz >= 3);
	fprintf(stderr, "roll.test.: %u steps, %u cache combinations, %u ZSKs\n", z->steps,
		z->combos, nz);
	free_hist(z);
	free(z);
}

static void test_algorithm_rollover(void **state)
{
	(void)state;
	zone_run *z = calloc(1, sizeof(*z));
	assert_non_null(z);
	/* after the other test's simulated weeks */
	int64_t t = (int64_t)time(NULL) / HOUR * HOUR + 60 * DAY;
	set_clock(t);
	start_zone(z, "alg.test.", DNS_ALG_ECDSAP256SHA256, DNS_ALG_ECDSAP256SHA256);
	ceremony(z, 8);
	walk(z, &t, t + DAY);
	/* 13 -> 15: a KSK of the new algorithm starts it */
	tksk_new(&z->ksk[1], DNS_ALG_ED25519);
	z->nksk = 2;
	Signet__V1__RolloverResponse *r =
		rollover(z, SIGNET__V1__ROLLOVER_REQUEST__ACTION__ADD_KSK, z->ksk[1].dnskey,
			 z->ksk[1].dnskey_len, 0, GRPC_STATUS_OK);
	signet__v1__rollover_response__free_unpacked(r, NULL);
	set_clock(t);
	ceremony(z, 8);
	/* signatures first: the new ZSK signs before its DNSKEY is published */
	walk(z, &t, t + HOUR);
	sample *s = &z->hist[z->nhist - 1];
	bool new_sig = false, new_key = false;
	for (size_t i = 0; i < s->a_sigs.count; i++)
		if (s->a_sigs.rr[i].data[2] == DNS_ALG_ED25519)
			new_sig = true;
	for (size_t i = 0; i < s->dnskey.count; i++)
		if (s->dnskey.rr[i].data[3] == DNS_ALG_ED25519)
			new_key = true;
	assert_true(new_sig);
	assert_false(new_key);
	bool parent_done = false;
	int64_t until = t + 3 * DAY;
	while (t < until && !parent_done) {
		walk(z, &t, t + HOUR);
		Signet__V1__RolloverResponse *k = NULL;
		next_change(z, t, &k);
		for (size_t i = 0; i < k->n_keys; i++)
			if (k->keys[i]->key_tag == z->ksk[1].tag && k->keys[i]->active &&
			    k->keys[i]->active <= t)
				parent_done = true;
		signet__v1__rollover_response__free_unpacked(k, NULL);
		if (!parent_done)
			continue;
		memcpy(z->old_ds, z->ds, sizeof(z->ds));
		memcpy(z->old_ds_len, z->ds_len, sizeof(z->ds_len));
		z->nold_ds = z->nds;
		memcpy(z->ds[0], z->ksk[1].dnskey, z->ksk[1].dnskey_len);
		z->ds_len[0] = z->ksk[1].dnskey_len;
		z->ds_changed = t;
		set_clock(t);
		r = rollover(z, SIGNET__V1__ROLLOVER_REQUEST__ACTION__DS_SEEN, z->ksk[1].dnskey,
			     z->ksk[1].dnskey_len, 0, GRPC_STATUS_OK);
		signet__v1__rollover_response__free_unpacked(r, NULL);
		ceremony(z, 8);
	}
	assert_true(parent_done);
	walk(z, &t, t + 3 * DAY);
	/* in the end only algorithm 15 signs and is published */
	s = &z->hist[z->nhist - 1];
	for (size_t i = 0; i < s->a_sigs.count; i++)
		assert_int_equal(s->a_sigs.rr[i].data[2], DNS_ALG_ED25519);
	for (size_t i = 0; i < s->dnskey.count; i++)
		assert_int_equal(s->dnskey.rr[i].data[3], DNS_ALG_ED25519);
	fprintf(stderr, "alg.test.: %u steps, %u cache combinations\n", z->steps, z->combos);
	fprintf(stderr, "unbound: %u runs, %.2f s in all\n", resolver_runs, resolver_secs);
	free_hist(z);
	free(z);
}

static int setup(void **state)
{
	(void)state;
	setenv("SIGNETD_TEST_CLOCK", "1", 1);
	/* every step is a new `signet sign-zone` process, a new connection;
	 * the admission limits count them until signetd sees them close */
	signetd_opts o = {.extra = "max-connections = 100000;\n"
				   "max-connections-per-client = 100000;\n"};
	return signetd_start(&D, &o);
}

static int teardown(void **state)
{
	(void)state;
	signetd_stop_ok(&D);  /* exit 0: under ASan also no leak */
	return signetd_teardown(&D);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zsk_and_ksk_rollover),
		cmocka_unit_test(test_algorithm_rollover),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
