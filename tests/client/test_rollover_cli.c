/* test_rollover_cli.c -- `signet rollover` as a child process against a real
 * signetd with the test clock: show, add-ksk, ds-seen (with and without the
 * DNSKEY file), add/remove-foreign-zsk, go-insecure/stay-secure, each one's
 * success and refusals with the exit codes of docs/CLIENT.md, and the
 * effect of each on signetd's schedule and its next key-signing request. */
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <cmocka.h>

#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "client/client.h"
#include "tests/lib/cli_run.h"
#include "tests/lib/signetd_fixture.h"

#define HOUR 3600
#define DAY 86400

extern char **environ;

static signetd_env D;
static char admin_conf[300], ns1_conf[300];
static sg_buf out;  /* the last run's stdout and stderr */

/* Run `signet ARGS... --config CONF`; its exit status, its output in out. */
static int cli(const char *conf, const char *const *args)
{
	const char *argv[24];
	size_t n = 0;
	for (size_t i = 0; args[i] && n < 20; i++)
		argv[n++] = args[i];
	if (conf) {
		argv[n++] = "--config";
		argv[n++] = conf;
	}
	argv[n] = NULL;
	cli_run_io io = {.dir = D.dir, .out = &out, .err = &out};
	return cli_run(&io, SIGNET_CLI, argv);
}

/* cli() and insist on status want and (when not NULL) needle in the output. */
static void expect(int want, const char *needle, const char *conf, const char *const *args)
{
	int rc = cli(conf, args);
	if (rc != want || (needle && !strstr((const char *)out.data, needle)))
		fail_msg("signet %s %s %s: exit %d (wanted %d, output with '%s'):\n%s", args[0],
			 args[1] ? args[1] : "", args[1] && args[2] ? args[2] : "", rc, want,
			 needle ? needle : "", (const char *)out.data);
}

static ProtobufCBinaryData bin(const void *p, size_t len)
{
	ProtobufCBinaryData b = {len, (uint8_t *)p};
	return b;
}

static Signet__V1__RolloverResponse *rollover_rpc(const dns_name *zone, int action, int64_t t)
{
	Signet__V1__RolloverRequest r = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	if (zone)
		r.zone = bin(zone->wire, zone->len);
	r.action = action;
	r.time = t;
	char det[512] = "";
	sg_buf resp = SG_BUF_INIT;
	if (rpc_call_msg(D.admin, "Rollover", &r.base, det, sizeof(det), &resp) != GRPC_STATUS_OK)
		fail_msg("Rollover %d: %s", action, det);
	Signet__V1__RolloverResponse *a =
		signet__v1__rollover_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(a);
	sg_buf_free(&resp);
	return a;
}

static void set_clock(int64_t t)
{
	signet__v1__rollover_response__free_unpacked(
		rollover_rpc(NULL, SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK, t), NULL);
}

/* The key of zone with this DNSKEY RDATA in signetd's schedule (copied into
 * *k), false when there is none. */
static bool find_key(const dns_name *zone, const uint8_t *dk, size_t len,
		     Signet__V1__KeyInfo *k)
{
	Signet__V1__RolloverResponse *r =
		rollover_rpc(zone, SIGNET__V1__ROLLOVER_REQUEST__ACTION__SHOW, 0);
	bool found = false;
	for (size_t i = 0; i < r->n_keys; i++)
		if (r->keys[i]->dnskey.len == len && memcmp(r->keys[i]->dnskey.data, dk, len) == 0) {
			*k = *r->keys[i];
			k->role = NULL;
			k->dnskey.data = NULL;
			k->id.data = NULL;
			k->zone.data = NULL;
			found = true;
		}
	signet__v1__rollover_response__free_unpacked(r, NULL);
	return found;
}

/* Write one DNSKEY RR of zone to path. */
static void dnskey_file(const char *path, const dns_name *zone, const uint8_t *dk, size_t len)
{
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(sg_buf_append(&text, "; signet-ceremony create-ksk\n", 29), SIGNET_OK);
	size_t at = text.len;
	assert_int_equal(dns_rr_to_text(zone, DNS_T_DNSKEY, DNS_CLASS_IN, 3600, dk, len, &text),
			 SIGNET_OK);
	text.len = at + strlen((const char *)text.data + at);
	assert_int_equal(sg_buf_append(&text, "\n", 1), SIGNET_OK);
	assert_int_equal(sg_file_write_atomic(path, text.data, text.len, 0600), SIGNET_OK);
	sg_buf_free(&text);
}

/* The ceremony with every KSK in ksks: export the request for days via the
 * CLI, sign each period's key-set RRsets with each of them whose DNSKEY is
 * in it, import the bundle via the CLI. The request text stays in req. */
static void ceremony(const dns_name *zone, const char *zs, test_ksk *const *ksks, size_t n,
		     sg_buf *req)
{
	char rpath[400], bpath[400];
	snprintf(rpath, sizeof(rpath), "%s/req", D.dir);
	snprintf(bpath, sizeof(bpath), "%s/bundle", D.dir);
	expect(0, "written", admin_conf,
	       (const char *[]){"export-ksr", zs, rpath, "--days", "8", NULL});
	sg_buf_reset(req);
	assert_int_equal(sg_file_read(rpath, 1 << 24, req), SIGNET_OK);
	dns_keyset ks;
	assert_int_equal(dns_keyset_parse((const char *)req->data, req->len, &ks, NULL), SIGNET_OK);
	ks.kind = DNS_KEYSET_BUNDLE;
	for (size_t i = 0; i < ks.count; i++) {
		dns_keyset_period *p = &ks.periods[i];
		dns_rrset_clear(&p->sigs);
		dns_rrset_init(&p->sigs, zone, DNS_T_RRSIG, DNS_CLASS_IN, p->dnskey.ttl);
		const dns_rrset *sets[3] = {&p->dnskey, &p->cds, &p->cdnskey};
		for (size_t k = 0; k < n; k++) {
			bool in = false;
			for (size_t j = 0; j < p->dnskey.count; j++)
				if (p->dnskey.rr[j].len == ksks[k]->dnskey_len &&
				    memcmp(p->dnskey.rr[j].data, ksks[k]->dnskey,
					   ksks[k]->dnskey_len) == 0)
					in = true;
			for (int t = 0; in && t < 3; t++)
				if (sets[t]->count)
					test_ksk_sign(ksks[k], zone, sets[t], p->inception,
						      p->expiration, &p->sigs);
		}
	}
	sg_buf text = SG_BUF_INIT;
	assert_int_equal(dns_keyset_write(&ks, &text), SIGNET_OK);
	dns_keyset_free(&ks);
	assert_int_equal(sg_file_write_atomic(bpath, text.data, text.len, 0600), SIGNET_OK);
	sg_buf_free(&text);
	expect(0, "imported", admin_conf, (const char *[]){"import-bundle", zs, bpath, NULL});
}

static void test_usage_and_show(void **state)
{
	(void)state;
	const char *zs = "show.test.";
	signetd_zone z;
	set_clock((int64_t)time(NULL));
	signetd_add_zone(&D, zs, DNS_ALG_ED25519, &z);
	char tag[16];
	snprintf(tag, sizeof(tag), "%u", z.key_tag);

	/* show: the keys, their states and the next change, exit 0 */
	expect(0, "next change", admin_conf, (const char *[]){"rollover", zs, "show", NULL});
	const char *o = (const char *)out.data;
	assert_non_null(strstr(o, "zone show.test. at "));
	assert_non_null(strstr(o, tag));
	assert_non_null(strstr(o, "active"));
	assert_non_null(strstr(o, "ksk"));

	/* bad command lines: 2, nothing sent */
	expect(2, "usage", admin_conf, (const char *[]){"rollover", zs, NULL});
	expect(2, "unknown action 'frob'", admin_conf,
	       (const char *[]){"rollover", zs, "frob", NULL});
	expect(2, "usage", admin_conf, (const char *[]){"rollover", zs, "show", "extra", NULL});
	expect(2, "usage", admin_conf, (const char *[]){"rollover", zs, "add-ksk", NULL});
	expect(2, "usage", admin_conf,
	       (const char *[]){"rollover", zs, "add-foreign-zsk", NULL});
	expect(2, "usage", admin_conf,
	       (const char *[]){"rollover", zs, "remove-foreign-zsk", NULL});
	expect(2, "usage", admin_conf,
	       (const char *[]){"rollover", zs, "go-insecure", "x", NULL});
	expect(2, "not a domain name", admin_conf,
	       (const char *[]){"rollover", "a..b", "show", NULL});
	expect(2, "0..65535", admin_conf,
	       (const char *[]){"rollover", zs, "remove-foreign-zsk", "70000", NULL});
	expect(0, "usage", NULL, (const char *[]){"rollover", "--help", NULL});
	/* refused by signetd: 5 */
	expect(5, "PERMISSION_DENIED", ns1_conf, (const char *[]){"rollover", zs, "show", NULL});
	expect(5, "NOT_FOUND", admin_conf,
	       (const char *[]){"rollover", "nosuch.test.", "show", NULL});
	expect(5, "PERMISSION_DENIED", ns1_conf,
	       (const char *[]){"rollover", zs, "go-insecure", NULL});
	/* unreachable: 4 */
	int port = signetd_free_port();
	assert_true(port > 0);
	char server[32];
	snprintf(server, sizeof(server), "127.0.0.1:%d", port);
	expect(4, "UNAVAILABLE", admin_conf,
	       (const char *[]){"rollover", zs, "show", "--server", server, "--timeout", "3",
				NULL});
}

static void test_ksk_rollover(void **state)
{
	(void)state;
	const char *zs = "ksk.test.";
	signetd_zone z;
	int64_t t = (int64_t)time(NULL);
	set_clock(t);
	signetd_add_zone(&D, zs, DNS_ALG_ED25519, &z);
	char newf[400], oldf[400], zskf[400], junkf[400], missing[400];
	snprintf(newf, sizeof(newf), "%s/ksk-new.txt", D.dir);
	snprintf(oldf, sizeof(oldf), "%s/ksk-old.txt", D.dir);
	snprintf(zskf, sizeof(zskf), "%s/zsk.txt", D.dir);
	snprintf(junkf, sizeof(junkf), "%s/junk.txt", D.dir);
	snprintf(missing, sizeof(missing), "%s/missing.txt", D.dir);
	test_ksk nk, other;
	test_ksk_new(&nk);
	test_ksk_new(&other);
	dnskey_file(newf, &z.apex, nk.dnskey, nk.dnskey_len);
	dnskey_file(oldf, &z.apex, D.ksk.dnskey, D.ksk.dnskey_len);
	dnskey_file(zskf, &z.apex, z.dnskey, z.dnskey_len);
	assert_int_equal(sg_file_write_atomic(junkf, "www IN A 192.0.2.1\n", 19, 0600), SIGNET_OK);

	/* nothing waits for a DS yet: refused here, before asking signetd */
	expect(5, "no KSK rollover", admin_conf, (const char *[]){"rollover", zs, "ds-seen", NULL});
	/* bad files: unreadable 2, not a DNSKEY 6, a ZSK as KSK: signetd says 6 */
	expect(2, "missing.txt", admin_conf,
	       (const char *[]){"rollover", zs, "add-ksk", missing, NULL});
	expect(6, "not a DNSKEY RR", admin_conf,
	       (const char *[]){"rollover", zs, "add-ksk", junkf, NULL});
	expect(6, "INVALID_ARGUMENT", admin_conf,
	       (const char *[]){"rollover", zs, "add-ksk", zskf, NULL});
	/* the old KSK again: it exists */
	expect(5, "ALREADY_EXISTS", admin_conf,
	       (const char *[]){"rollover", zs, "add-ksk", oldf, NULL});

	expect(0, "KSK added", admin_conf, (const char *[]){"rollover", zs, "add-ksk", newf, NULL});
	Signet__V1__KeyInfo k;
	assert_true(find_key(&z.apex, nk.dnskey, nk.dnskey_len, &k));
	assert_int_equal(k.state, SIGNET__V1__KEY_STATE__KEY_GENERATED);
	char tag[16];
	snprintf(tag, sizeof(tag), "%u", nk.tag);
	expect(0, "is not in force yet", admin_conf, (const char *[]){"rollover", zs, "show", NULL});
	assert_non_null(strstr((const char *)out.data, tag));
	/* one rollover at a time */
	char otherf[400];
	snprintf(otherf, sizeof(otherf), "%s/ksk-other.txt", D.dir);
	dnskey_file(otherf, &z.apex, other.dnskey, other.dnskey_len);
	expect(5, "FAILED_PRECONDITION", admin_conf,
	       (const char *[]){"rollover", zs, "add-ksk", otherf, NULL});
	/* the new KSK is not in force: signetd refuses the DS */
	expect(5, "FAILED_PRECONDITION", admin_conf,
	       (const char *[]){"rollover", zs, "ds-seen", NULL});

	/* the ceremony signs with both; the plan comes into force */
	sg_buf req = SG_BUF_INIT;
	test_ksk *both[2] = {&D.ksk, &nk};
	ceremony(&z.apex, zs, both, 2, &req);
	assert_true(find_key(&z.apex, nk.dnskey, nk.dnskey_len, &k));
	assert_true(k.active > t);
	assert_int_equal(k.ds_seen, 0);
	/* before its DNSKEY is in every cache: still refused */
	expect(5, "FAILED_PRECONDITION", admin_conf,
	       (const char *[]){"rollover", zs, "ds-seen", newf, NULL});
	t = k.active + HOUR;
	set_clock(t);
	expect(0, "waits for its DS", admin_conf, (const char *[]){"rollover", zs, "show", NULL});
	/* the old KSK's DS is not what a rollover waits for */
	expect(5, "FAILED_PRECONDITION", admin_conf,
	       (const char *[]){"rollover", zs, "ds-seen", oldf, NULL});
	expect(0, "DS confirmed", admin_conf, (const char *[]){"rollover", zs, "ds-seen", NULL});
	assert_true(find_key(&z.apex, nk.dnskey, nk.dnskey_len, &k));
	assert_int_equal(k.ds_seen, t);
	/* audited as the operator's word (parent-watch's is "by agent") */
	char audit[400], line[64];
	snprintf(audit, sizeof(audit), "%s/state/audit.log", D.dir);
	snprintf(line, sizeof(line), "ds-seen by hand %u/%u", nk.dnskey[3], nk.tag);
	assert_true(signetd_log_has(audit, line));
	expect(0, "DS seen at the parent", admin_conf,
	       (const char *[]){"rollover", zs, "show", NULL});
	expect(5, "FAILED_PRECONDITION", admin_conf,
	       (const char *[]){"rollover", zs, "ds-seen", NULL});
	/* the next request plans the old KSK's removal */
	ceremony(&z.apex, zs, both, 2, &req);
	assert_true(find_key(&z.apex, D.ksk.dnskey, D.ksk.dnskey_len, &k));
	assert_true(k.remove > t);
	sg_buf_free(&req);
	test_ksk_free(&nk);
	test_ksk_free(&other);
}

static void test_foreign_and_insecure(void **state)
{
	(void)state;
	const char *zs = "multi.test.";
	signetd_zone z;
	set_clock((int64_t)time(NULL));
	signetd_add_zone(&D, zs, DNS_ALG_ED25519, &z);
	/* the other provider's ZSKs: flags 256 */
	test_ksk f1, f2;
	test_ksk_new(&f1);
	test_ksk_new(&f2);
	f1.dnskey[1] = 0;
	f2.dnskey[1] = 0;
	uint16_t tag1 = 0;
	assert_int_equal(dns_key_tag(f1.dnskey, f1.dnskey_len, &tag1), SIGNET_OK);
	char f1f[400], f2f[400], kskf[400], t1[16], t2[16];
	snprintf(f1f, sizeof(f1f), "%s/foreign1.txt", D.dir);
	snprintf(f2f, sizeof(f2f), "%s/foreign2.txt", D.dir);
	snprintf(kskf, sizeof(kskf), "%s/foreign-ksk.txt", D.dir);
	dnskey_file(f1f, &z.apex, f1.dnskey, f1.dnskey_len);
	dnskey_file(f2f, &z.apex, f2.dnskey, f2.dnskey_len);
	dnskey_file(kskf, &z.apex, D.ksk.dnskey, D.ksk.dnskey_len);
	snprintf(t1, sizeof(t1), "%u", tag1);
	snprintf(t2, sizeof(t2), "%u", (tag1 + 1) % 65536);

	/* a KSK is not a foreign ZSK */
	expect(6, "INVALID_ARGUMENT", admin_conf,
	       (const char *[]){"rollover", zs, "add-foreign-zsk", kskf, NULL});
	expect(5, "no foreign ZSK", admin_conf,
	       (const char *[]){"rollover", zs, "remove-foreign-zsk", t1, NULL});
	expect(0, "foreign ZSK added", admin_conf,
	       (const char *[]){"rollover", zs, "add-foreign-zsk", f1f, NULL});
	expect(0, "foreign ZSK added", admin_conf,
	       (const char *[]){"rollover", zs, "add-foreign-zsk", f2f, NULL});
	expect(5, "ALREADY_EXISTS", admin_conf,
	       (const char *[]){"rollover", zs, "add-foreign-zsk", f1f, NULL});
	expect(0, "another signer's ZSK", admin_conf,
	       (const char *[]){"rollover", zs, "show", NULL});
	Signet__V1__KeyInfo k;
	assert_true(find_key(&z.apex, f1.dnskey, f1.dnskey_len, &k));
	assert_true(k.foreign);
	assert_int_equal(k.planned_remove, 0);
	/* the next request publishes both */
	sg_buf req = SG_BUF_INIT;
	test_ksk *ksk[1] = {&D.ksk};
	ceremony(&z.apex, zs, ksk, 1, &req);
	sg_buf b64 = SG_BUF_INIT;
	assert_int_equal(sg_base64_encode(f1.dnskey + 4, f1.dnskey_len - 4, &b64), SIGNET_OK);
	assert_non_null(strstr((const char *)req.data, (const char *)b64.data));

	/* by tag: a tag no foreign key has, then the right one, then again */
	if (strcmp(t2, "0") != 0)
		expect(5, "no foreign ZSK", admin_conf,
		       (const char *[]){"rollover", zs, "remove-foreign-zsk", t2, NULL});
	expect(0, "foreign ZSK removed", admin_conf,
	       (const char *[]){"rollover", zs, "remove-foreign-zsk", t1, NULL});
	assert_true(find_key(&z.apex, f1.dnskey, f1.dnskey_len, &k));
	assert_true(k.planned_remove > 0);
	expect(5, "no foreign ZSK", admin_conf,
	       (const char *[]){"rollover", zs, "remove-foreign-zsk", t1, NULL});
	/* by file; signetd refuses a second removal itself */
	expect(0, "foreign ZSK removed", admin_conf,
	       (const char *[]){"rollover", zs, "remove-foreign-zsk", f2f, NULL});
	expect(5, "NOT_FOUND", admin_conf,
	       (const char *[]){"rollover", zs, "remove-foreign-zsk", f2f, NULL});

	/* RFC 8078 delete form in the next request, withdrawn again */
	expect(0, "delete CDS/CDNSKEY", admin_conf,
	       (const char *[]){"rollover", zs, "go-insecure", NULL});
	ceremony(&z.apex, zs, ksk, 1, &req);
	assert_non_null(strstr((const char *)req.data, "CDS\t0 0 0 00"));
	/* The removed foreign ZSK stays in the period that holds the removal
	 * (resolvers may have its RRSIGs) and is gone from every later one. */
	const char *p1 = strstr((const char *)req.data, "$PERIOD");
	assert_non_null(p1);
	const char *p2 = strstr(p1 + 1, "$PERIOD");
	assert_non_null(p2);
	assert_non_null(strstr(p1, (const char *)b64.data));
	assert_null(strstr(p2, (const char *)b64.data));
	expect(0, "withdrawn", admin_conf, (const char *[]){"rollover", zs, "stay-secure", NULL});
	ceremony(&z.apex, zs, ksk, 1, &req);
	assert_null(strstr((const char *)req.data, "CDS\t0 0 0 00"));
	sg_buf_free(&b64);
	sg_buf_free(&req);
	test_ksk_free(&f1);
	test_ksk_free(&f2);
}

static void client_conf(const char *path, const char *who)
{
	char text[2048];
	snprintf(text, sizeof(text),
		 "server 127.0.0.1:%d\nserver-name localhost\nca %s/ca.pem\ncert %s/%s.pem\n"
		 "key %s/%s.key\ntimeout 20\n", D.port, D.dir, D.dir, who, D.dir, who);
	assert_int_equal(sg_file_write_atomic(path, text, strlen(text), 0600), SIGNET_OK);
}

static int setup(void **state)
{
	(void)state;
	setenv("SIGNETD_TEST_CLOCK", "1", 1);
	/* each CLI run is a new connection; signetd counts it until it sees
	 * it close */
	static const signetd_opts o = {.extra = "max-connections = 10000;\n"
						"max-connections-per-client = 10000;\n"};
	if (signetd_start(&D, &o) != 0)
		return -1;
	snprintf(admin_conf, sizeof(admin_conf), "%s/admin.conf", D.dir);
	snprintf(ns1_conf, sizeof(ns1_conf), "%s/ns1.conf", D.dir);
	client_conf(admin_conf, "admin");
	client_conf(ns1_conf, "ns1");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	sg_buf_free(&out);
	signetd_stop_ok(&D);
	return signetd_teardown(&D);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_usage_and_show),
		cmocka_unit_test(test_ksk_rollover),
		cmocka_unit_test(test_foreign_and_insecure),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
