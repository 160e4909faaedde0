/* test_replica_keys.c -- keys on every replica (docs/REPLICAS.md): four
 * signetd replicas sharing their state in one real PostgreSQL, each with a
 * SoftHSM2 token of its own; three tokens hold the same backup domain, the
 * fourth none. A ZSK made on one replica is restored by the others from its
 * backup in the state, audited, and signs there; it can be exported in a
 * key-signing request from any of them. The replica without the domain
 * cannot restore it: it refuses the zone's signing with UNAVAILABLE and the
 * reason, says so in Health and the metrics, and a client given it first
 * signs everything through the others. RestoreZskBackups: admin only, the
 * refusals, and restores from the state. Audit lines name their replica. */
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "tests/lib/signetd_replicas.h"

#define NREP 4 /* r[0] is the fixture's daemon; r[3]'s token has no domain */

static replica_set S;
static signetd_env *const r = S.r;

static int group_setup(void **state)
{
	(void)state;
	return replicas_setup(&S, NULL);
}

static int group_teardown(void **state)
{
	(void)state;
	replicas_teardown(&S);
	return 0;
}

/* The backup domain in three tokens, a fourth without; every replica up. */
static void test_replicas_start(void **state)
{
	(void)state;
	replicas_start_all(&S, NREP, NREP - 1);
}

static ProtobufCBinaryData wire(dns_name *n)
{
	ProtobufCBinaryData b = {n->len, n->wire};
	return b;
}

/* SignRRsets of one A RRset (owner number i) on c until it answers OK or
 * the bound passes: the replica restores the key within its cache-ms and
 * a round. */
static Signet__V1__SignResponse *sign_when_ready(rpc_conn *c, const char *zone, unsigned i,
						 grpc_status_code *st)
{
	long until = signetd_now_ms() + 30000;
	for (;;) {
		Signet__V1__SignResponse *resp = signetd_sign_a(c, zone, i, 1, st);
		if (resp && resp->results[0]->status == SIGNET__V1__ITEM_STATUS__ITEM_SIGNED)
			return resp;
		if (resp)
			signet__v1__sign_response__free_unpacked(resp, NULL);
		if (signetd_now_ms() > until)
			return NULL;
		signetd_sleep_ms(50);
	}
}

static grpc_status_code export_request(rpc_conn *c, const char *zone, char *det, size_t dlen)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = wire(&apex);
	er.days = 14;
	return rpc_call_msg(c, "ExportKeySigningRequest", &er.base, det, dlen, NULL);
}

static signetd_zone zone_a;

/* ZSKs of zone that c's ListKeys shows. */
static size_t zsks_seen(rpc_conn *c, const char *zone)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__ListKeysRequest lk = SIGNET__V1__LIST_KEYS_REQUEST__INIT;
	lk.zone = wire(&apex);
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	size_t n = 0;
	if (rpc_call_msg(c, "ListKeys", &lk.base, det, sizeof(det), &resp) == GRPC_STATUS_OK) {
		Signet__V1__ListKeysResponse *x =
			signet__v1__list_keys_response__unpack(NULL, resp.len, resp.data);
		assert_non_null(x);
		for (size_t i = 0; i < x->n_keys; i++)
			n += strcmp(x->keys[i]->role, "zsk") == 0;
		signet__v1__list_keys_response__free_unpacked(x, NULL);
	}
	sg_buf_free(&resp);
	return n;
}

/* A ZSK made and activated on replica 0 signs on replicas 1 and 2, which
 * restored it from the state (audited, naming the replica); each can
 * export a key-signing request, which needs the key's signature; a ZSK
 * made on replica 1 is in a request exported at once on replica 2. */
static void test_key_reaches_every_replica(void **state)
{
	(void)state;
	signetd_add_zone(&r[0], "rk.example.", 13, &zone_a);
	for (int i = 1; i <= 2; i++) {
		grpc_status_code st;
		Signet__V1__SignResponse *resp = sign_when_ready(r[i].signer, "rk.example.", 100 + i,
								 &st);
		if (!resp) {
			signetd_sh("tail -5 '%s' >&2", r[i].log);
			fail_msg("replica %d never signed rk.example. (last status %d)", i, st);
		}
		signetd_check_rrsig(&zone_a, 100 + i, resp->results[0]->rrsig[0].data,
				    resp->results[0]->rrsig[0].len);
		signet__v1__sign_response__free_unpacked(resp, NULL);
		char audit[400], needle[200];
		snprintf(audit, sizeof(audit), "%s/state/audit.log", r[i].dir);
		snprintf(needle, sizeof(needle),
			 "\"replica\":\"r%d\",\"client\":\"replica:r%d\",\"action\":\"restore-zsk\","
			 "\"zone\":\"rk.example.\",\"detail\":\"zsk=13/%u", i, i, zone_a.key_tag);
		if (!signetd_log_has(audit, needle))
			fail_msg("replica %d's audit log has no %s", i, needle);
		size_t lines = 0, bad = 0;
		assert_int_equal(signer_audit_verify(audit, &lines, &bad), SIGNET_OK);
		assert_true(lines >= 2);
		/* the operator's check: chain and one replica per log */
		char want[64];
		snprintf(want, sizeof(want), "chain intact, replica r%d", i);
		signetd_sh("'%s/signer/signetd' --verify-audit '%s' | grep -q '%s'",
			   getenv("SIGNET_BUILD_DIR"), audit, want);
		if (i == 2) {
			/* replica 1's line copied into replica 2's log, chain
			 * continued: the chain holds, the replica check does not */
			char mixed[400];
			snprintf(mixed, sizeof(mixed), "%s/mixed.log", r[2].dir);
			signetd_sh("cp '%s' '%s'", audit, mixed);
			signer_audit *a = NULL;
			assert_int_equal(signer_audit_open(mixed, &a), SIGNET_OK);
			signer_audit_set_replica(a, "r1");
			assert_int_equal(signer_audit_append(a, "x", "y", NULL, NULL, "ok"), SIGNET_OK);
			signer_audit_close(a);
			char cmd[1200], out[420];
			snprintf(out, sizeof(out), "%s.out", mixed);
			snprintf(cmd, sizeof(cmd), "'%s/signer/signetd' --verify-audit '%s' >'%s'",
				 getenv("SIGNET_BUILD_DIR"), mixed, out);
			assert_int_not_equal(system(cmd), 0);
			assert_true(signetd_log_has(out, "names another replica than 'r2'"));
		}
		char det[300];
		grpc_status_code es = export_request(r[i].admin, "rk.example.", det, sizeof(det));
		if (es != GRPC_STATUS_OK)
			fail_msg("export on replica %d: %d %s", i, es, det);
	}
	/* a new ZSK on replica 1, exported at once from replica 2 */
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, "rk.example."), SIGNET_OK);
	Signet__V1__GenerateZskRequest gz = SIGNET__V1__GENERATE_ZSK_REQUEST__INIT;
	gz.zone = wire(&apex);
	char det[300];
	assert_int_equal(rpc_call_msg(r[1].admin, "GenerateZsk", &gz.base, det, sizeof(det), NULL),
			 GRPC_STATUS_OK);
	/* replica 2 reads the shared state within its cache-ms */
	long until = signetd_now_ms() + 30000;
	while (zsks_seen(r[2].admin, "rk.example.") < 2) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
	grpc_status_code es = export_request(r[2].admin, "rk.example.", det, sizeof(det));
	if (es != GRPC_STATUS_OK)
		fail_msg("export on replica 2 after a ZSK made on replica 1: %d %s", es, det);
}

/* Health of zone on c: its missing_zsks, missing_active_zsk, and whether a
 * warning names the replica. */
static void zone_health(rpc_conn *c, const char *zone, const char *replica, uint32_t *missing,
			bool *active, bool *warned)
{
	Signet__V1__HealthRequest hr = SIGNET__V1__HEALTH_REQUEST__INIT;
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(c, "Health", &hr.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__HealthResponse *h =
		signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(h);
	assert_string_equal(h->replica, replica);
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	*missing = 0;
	*active = *warned = false;
	for (size_t i = 0; i < h->n_zones; i++) {
		Signet__V1__ZoneHealth *z = h->zones[i];
		if (z->zone.len != apex.len || memcmp(z->zone.data, apex.wire, apex.len) != 0)
			continue;
		*missing = z->missing_zsks;
		*active = z->missing_active_zsk;
		for (size_t k = 0; k < z->n_warnings; k++)
			if (strstr(z->warnings[k], "lacks") && strstr(z->warnings[k], replica))
				*warned = true;
	}
	signet__v1__health_response__free_unpacked(h, NULL);
	sg_buf_free(&resp);
}

/* Replica 3's token has no backup domain: it cannot restore the zone's
 * ZSK. Its signing calls for the zone are refused UNAVAILABLE with the
 * reason, Health and the metrics say so, and the CLI's health exits 1; a
 * client given replica 3 first signs every batch through the others. */
static void test_lacking_replica_refuses(void **state)
{
	(void)state;
	signetd_env *e = &r[3];
	grpc_status_code st = GRPC_STATUS_OK;
	char det[512] = "";
	long until = signetd_now_ms() + 30000;
	for (;;) {
		Signet__V1__SignResponse *resp = signetd_sign_a(e->signer, "rk.example.", 1, 1, &st);
		/* never signed: the key is not in this token */
		if (resp)
			assert_int_not_equal(resp->results[0]->status,
					     SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
		if (resp)
			signet__v1__sign_response__free_unpacked(resp, NULL);
		if (st == GRPC_STATUS_UNAVAILABLE)
			break;
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(50);
	}
	/* the reason, by the raw call */
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, "rk.example."), SIGNET_OK);
	Signet__V1__RRset rs = SIGNET__V1__RRSET__INIT;
	uint8_t a[4] = {192, 0, 2, 1};
	ProtobufCBinaryData rd = {4, a};
	dns_name own;
	assert_int_equal(dns_name_from_str(&own, "x.rk.example."), SIGNET_OK);
	rs.owner = wire(&own);
	rs.type = 1;
	rs.ttl = 300;
	rs.n_rdata = 1;
	rs.rdata = &rd;
	Signet__V1__RRset *rsp = &rs;
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	sr.zone = wire(&apex);
	sr.n_rrsets = 1;
	sr.rrsets = &rsp;
	st = rpc_call_msg(e->signer, "SignRRsets", &sr.base, det, sizeof(det), NULL);
	assert_int_equal(st, GRPC_STATUS_UNAVAILABLE);
	if (!strstr(det, "replica r3 cannot sign zone rk.example.") ||
	    !strstr(det, "no backup domain"))
		fail_msg("refusal: %s", det);
	uint32_t missing = 0;
	bool active = false, warned = false;
	zone_health(e->signer, "rk.example.", "r3", &missing, &active, &warned);
	assert_true(missing >= 1);
	assert_true(active);
	assert_true(warned);
	zone_health(r[1].signer, "rk.example.", "r1", &missing, &active, &warned);
	assert_int_equal(missing, 0);
	assert_false(active);
	char buf[65536];
	const char *body = signetd_scrape(e, buf, sizeof(buf));
	assert_true(signetd_metric(body, "signet_replica_lacking_key_refusals_total") >= 2);
	assert_true(signetd_metric(body, "signet_replica_zsk_lacking{zone=\"rk.example.\"}") >= 1);
	body = signetd_scrape(&r[1], buf, sizeof(buf));
	assert_true(signetd_metric(body, "signet_replica_zsk_restored_total{result=\"ok\"}") >= 1);
	assert_int_equal(signetd_metric(body, "signet_replica_zsk_lacking{zone=\"rk.example.\"}"),
			 0);
	/* failover: replica 3 first in the list */
	char list[128], ca[300], cert[300], key[300];
	snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", e->port, r[1].port,
		 r[2].port);
	snprintf(ca, sizeof(ca), "%s/ca.pem", r[0].dir);
	snprintf(cert, sizeof(cert), "%s/ns1.pem", r[0].dir);
	snprintf(key, sizeof(key), "%s/ns1.key", r[0].dir);
	rpc_conn *c = NULL;
	assert_int_equal(rpc_open(list, ca, cert, key, &c), SIGNET_OK);
	/* until the channel has a connection to more than replica 3 (round
	 * robin retries only over the connections it has) */
	long ready = signetd_now_ms() + 30000;
	for (;;) {
		Signet__V1__SignResponse *resp = signetd_sign_a(c, "rk.example.", 900, 1, &st);
		if (resp) {
			signet__v1__sign_response__free_unpacked(resp, NULL);
			break;
		}
		assert_true(signetd_now_ms() < ready);
		signetd_sleep_ms(50);
	}
	for (unsigned b = 0; b < 12; b++) {
		Signet__V1__SignResponse *resp = signetd_sign_a(c, "rk.example.", 1000 + b * 10, 10,
								&st);
		if (!resp)
			fail_msg("batch %u through the list: status %d", b, st);
		for (unsigned i = 0; i < 10; i++) {
			assert_int_equal(resp->results[i]->status,
					 SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
			signetd_check_rrsig(&zone_a, 1000 + b * 10 + i,
					    resp->results[i]->rrsig[0].data,
					    resp->results[i]->rrsig[0].len);
		}
		signet__v1__sign_response__free_unpacked(resp, NULL);
	}
	rpc_close(c);
	/* the CLI says the replica is unhealthy for the zone */
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s/client/signet' health --server '%s' --server-name localhost"
		 " --ca '%s' --cert '%s' --key '%s' >'%s/health.out' 2>&1",
		 getenv("SIGNET_BUILD_DIR"), e->target, ca, cert, key, e->dir);
	int rc = system(cmd);
	char out[400];
	snprintf(out, sizeof(out), "%s/health.out", e->dir);
	if (rc == 0 || !signetd_log_has(out, "lacks"))
		signetd_sh("cat '%s' >&2; false", out);
}

/* RestoreZskBackups: admins only; from the state on the replica without a
 * domain it restores nothing and says why; a file of a key the token has
 * is refused ALREADY_EXISTS, a flipped bit FAILED_PRECONDITION, nothing
 * changed; the files as --export-backups writes them. */
static void test_restore_rpc(void **state)
{
	(void)state;
	Signet__V1__RestoreZskBackupsRequest rq = SIGNET__V1__RESTORE_ZSK_BACKUPS_REQUEST__INIT;
	char det[512];
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(r[1].signer, "RestoreZskBackups", &rq.base, det, sizeof(det),
				      NULL),
			 GRPC_STATUS_PERMISSION_DENIED);
	assert_int_equal(rpc_call_msg(r[3].admin, "RestoreZskBackups", &rq.base, det, sizeof(det),
				      &resp),
			 GRPC_STATUS_OK);
	Signet__V1__RestoreZskBackupsResponse *x =
		signet__v1__restore_zsk_backups_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(x);
	assert_int_equal(x->restored, 0);
	assert_true(x->missing >= 1);
	assert_true(x->n_messages >= 1);
	assert_non_null(strstr(x->messages[0], "no backup domain"));
	signet__v1__restore_zsk_backups_response__free_unpacked(x, NULL);
	sg_buf_free(&resp);
	/* the files of the state (the CLI of --export-backups reads the
	 * configured store: PostgreSQL here) */
	signetd_sh("mkdir -p '%s/exp' && '%s/signer/signetd' -c '%s' --export-backups '%s/exp'"
		   " >/dev/null", r[1].dir, getenv("SIGNET_BUILD_DIR"), r[1].conf, r[1].dir);
	char name[400];
	snprintf(name, sizeof(name), "%s/exp", r[1].dir);
	signer_backup_file *files = NULL;
	size_t n = 0;
	char msg[300];
	assert_int_equal(signer_backup_files_read(name, &files, &n, msg, sizeof(msg)), SIGNET_OK);
	assert_true(n >= 2);
	Signet__V1__BackupFile bf = SIGNET__V1__BACKUP_FILE__INIT;
	Signet__V1__BackupFile *bfp = &bf;
	bf.name = files[0].name;
	bf.text.data = files[0].text.data;
	bf.text.len = files[0].text.len;
	rq.n_backups = 1;
	rq.backups = &bfp;
	grpc_status_code st = rpc_call_msg(r[1].admin, "RestoreZskBackups", &rq.base, det,
					   sizeof(det), NULL);
	if (st != GRPC_STATUS_ALREADY_EXISTS || !strstr(det, files[0].name))
		fail_msg("restore over a present key: %d %s", st, det);
	/* one bit of the wrapped key flipped, the digest then wrong */
	uint8_t *p = (uint8_t *)memmem(files[0].text.data, files[0].text.len, "wrapped", 7);
	assert_non_null(p);
	p[20] ^= 1;
	bf.text.data = files[0].text.data;
	st = rpc_call_msg(r[3].admin, "RestoreZskBackups", &rq.base, det, sizeof(det), NULL);
	assert_int_equal(st, GRPC_STATUS_FAILED_PRECONDITION);
	signer_backup_files_free(files, n);
	/* both audited on the replicas, under the admin's name */
	char audit[400];
	snprintf(audit, sizeof(audit), "%s/state/audit.log", r[1].dir);
	assert_true(signetd_log_has(audit, "\"replica\":\"r1\",\"client\":\"admin.test\","
					   "\"action\":\"RestoreZskBackups\""));
}

#define HOUR 3600
#define DAY 86400
#define PUB_MAX 8

static void set_clock_all(int64_t t)
{
	for (int i = 0; i < 3; i++) {
		Signet__V1__RolloverRequest rq = SIGNET__V1__ROLLOVER_REQUEST__INIT;
		rq.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__SET_CLOCK;
		rq.time = t;
		char det[256];
		if (rpc_call_msg(r[i].admin, "Rollover", &rq.base, det, sizeof(det), NULL) !=
		    GRPC_STATUS_OK)
			fail_msg("SET_CLOCK on replica %d: %s", i, det);
	}
}

/* The ZSKs of the DNSKEY RRset c publishes now (GetKeySet). */
static size_t published(rpc_conn *c, const char *zone, signetd_zone *keys)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__GetKeySetRequest gk = SIGNET__V1__GET_KEY_SET_REQUEST__INIT;
	gk.zone = wire(&apex);
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	/* a replica reads the bundle imported elsewhere within its cache-ms */
	long until = signetd_now_ms() + 30000;
	while (rpc_call_msg(c, "GetKeySet", &gk.base, det, sizeof(det), &resp) != GRPC_STATUS_OK) {
		if (signetd_now_ms() > until)
			fail_msg("GetKeySet: %s", det);
		sg_buf_reset(&resp);
		signetd_sleep_ms(20);
	}
	Signet__V1__GetKeySetResponse *x =
		signet__v1__get_key_set_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(x);
	assert_non_null(x->dnskey);
	size_t n = 0;
	for (size_t i = 0; i < x->dnskey->n_rdata && n < PUB_MAX; i++) {
		const ProtobufCBinaryData *d = &x->dnskey->rdata[i];
		assert_true(d->len > 4 && d->len <= SIGNER_DNSKEY_MAX);
		if (d->data[1] & 1)
			continue; /* SEP: the KSK */
		signetd_zone *k = &keys[n++];
		k->apex = apex;
		k->alg = d->data[3];
		memcpy(k->dnskey, d->data, d->len);
		k->dnskey_len = d->len;
		assert_int_equal(dns_key_tag(d->data, d->len, &k->key_tag), SIGNET_OK);
	}
	signet__v1__get_key_set_response__free_unpacked(x, NULL);
	sg_buf_free(&resp);
	return n;
}

/* The RRSIG sig over signetd_sign_a's A RRset number i of zone verifies
 * with key at the simulated time t. */
static void check_at(const signetd_zone *key, const char *zone, unsigned i,
		     const ProtobufCBinaryData *sig, int64_t t)
{
	char owner[DNS_NAME_STR_MAX + 16];
	snprintf(owner, sizeof(owner), "h%u.%s", i, zone);
	dns_name own;
	assert_int_equal(dns_name_from_str(&own, owner), SIGNET_OK);
	dns_rrset set;
	dns_rrset_init(&set, &own, DNS_T_A, DNS_CLASS_IN, 300);
	uint8_t a[4] = {192, 0, (uint8_t)(i >> 8), (uint8_t)i};
	assert_int_equal(dns_rrset_add(&set, a, 4), SIGNET_OK);
	dns_rrsig rs;
	assert_int_equal(dns_rrsig_from_rdata(&rs, sig->data, sig->len), SIGNET_OK);
	signet_err ret = dns_rrsig_verify(&rs, &set, key->dnskey, key->dnskey_len, &key->apex,
					  (uint32_t)t);
	dns_rrset_clear(&set);
	if (ret != SIGNET_OK)
		fail_msg("RRSIG by %u at t=%lld: %s", key->key_tag, (long long)t,
			 signet_strerror(ret));
}

/* Export a request for days on replica 0, the KSK's bundle, import. */
static void ceremony(const char *zone, uint32_t days)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = wire(&apex);
	er.days = days;
	char det[512];
	sg_buf resp = SG_BUF_INIT;
	if (rpc_call_msg(r[0].admin, "ExportKeySigningRequest", &er.base, det, sizeof(det),
			 &resp) != GRPC_STATUS_OK)
		fail_msg("export: %s", det);
	Signet__V1__ExportKeySigningRequestResponse *x =
		signet__v1__export_key_signing_request_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(x);
	sg_buf bundle = SG_BUF_INIT;
	test_ksk_make_bundle(&r[0].ksk, x->request.data, x->request.len, &bundle);
	signet__v1__export_key_signing_request_response__free_unpacked(x, NULL);
	Signet__V1__ImportKeyBundleRequest ib = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
	ib.zone = wire(&apex);
	ib.bundle.data = bundle.data;
	ib.bundle.len = bundle.len;
	if (rpc_call_msg(r[0].admin, "ImportKeyBundle", &ib.base, det, sizeof(det), NULL) !=
	    GRPC_STATUS_OK)
		fail_msg("import: %s", det);
	sg_buf_free(&bundle);
	sg_buf_free(&resp);
}

/* Every start and end of a key's schedule after t (Rollover SHOW), sorted
 * into times (at most cap). */
static size_t schedule_times(const char *zone, int64_t t, int64_t *times, size_t cap)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__RolloverRequest rq = SIGNET__V1__ROLLOVER_REQUEST__INIT;
	rq.zone = wire(&apex);
	rq.action = SIGNET__V1__ROLLOVER_REQUEST__ACTION__SHOW;
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(r[0].admin, "Rollover", &rq.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__RolloverResponse *x =
		signet__v1__rollover_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(x);
	size_t n = 0;
	for (size_t i = 0; i < x->n_keys; i++) {
		int64_t ts[4] = {x->keys[i]->publish, x->keys[i]->active, x->keys[i]->retire,
				 x->keys[i]->remove};
		for (int j = 0; j < 4 && n + 2 <= cap; j++)
			if (ts[j] > t) {
				times[n++] = ts[j] - 1;
				times[n++] = ts[j];
			}
	}
	signet__v1__rollover_response__free_unpacked(x, NULL);
	sg_buf_free(&resp);
	for (size_t i = 1; i < n; i++)
		for (size_t j = i; j > 0 && times[j - 1] > times[j]; j--) {
			int64_t v = times[j];
			times[j] = times[j - 1];
			times[j - 1] = v;
		}
	return n;
}

/* A ZSK rollover driven by the test clock across replicas 0..2, each with
 * its own token: replica 0 makes the successors (in the request's plan),
 * replicas 1 and 2 have them only by restoring them. At every key state
 * change (a second before and at it) and every 12 hours, each replica
 * signs: every RRSIG is by a ZSK of the DNSKEY RRset published at that
 * time and verifies, and all three sign with the same keys. Two rollovers
 * pass. */
static void test_rollover_across_replicas(void **state)
{
	(void)state;
	const char *zone = "roll.example.";
	int64_t t0 = (int64_t)time(NULL);
	set_clock_all(t0);
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.algorithm = 13;
	pol.validity = 4 * DAY;
	pol.keyset_period = DAY;
	pol.dnskey_ttl = HOUR;
	pol.max_zone_ttl = HOUR;
	pol.ds_ttl = HOUR;
	pol.propagation = 600;
	pol.publish_margin = 600;
	pol.retire_margin = 600;
	pol.zsk_lifetime = 5 * DAY;
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	az.zone = wire(&apex);
	az.policy = &pol;
	ProtobufCBinaryData kd = {r[0].ksk.dnskey_len, r[0].ksk.dnskey};
	az.n_ksk_dnskey = 1;
	az.ksk_dnskey = &kd;
	char det[512];
	if (rpc_call_msg(r[0].admin, "AddZone", &az.base, det, sizeof(det), NULL) != GRPC_STATUS_OK)
		fail_msg("AddZone: %s", det);
	ceremony(zone, 14);
	int64_t times[64];
	size_t nt = schedule_times(zone, t0, times, 64);
	int64_t until = t0 + 12 * DAY;
	uint16_t seen[16];
	size_t nseen = 0;
	unsigned owner = 0, steps = 0;
	size_t next = 0;
	for (int64_t t = t0; t < until;) {
		set_clock_all(t);
		uint16_t tags0[4];
		size_t ntags0 = 0;
		for (int i = 0; i < 3; i++) {
			signetd_zone pub[PUB_MAX];
			size_t np = published(r[i].signer, zone, pub);
			grpc_status_code st;
			Signet__V1__SignResponse *resp = sign_when_ready(r[i].signer, zone, ++owner,
									 &st);
			if (!resp)
				fail_msg("replica %d at t0+%llds: no signature (status %d)", i,
					 (long long)(t - t0), st);
			const Signet__V1__SignResult *res = resp->results[0];
			assert_true(res->n_rrsig >= 1 && res->n_rrsig <= 4);
			uint16_t tags[4];
			for (size_t k = 0; k < res->n_rrsig; k++) {
				const ProtobufCBinaryData *sig = &res->rrsig[k];
				assert_true(sig->len > 18);
				tags[k] = (uint16_t)(sig->data[16] << 8 | sig->data[17]);
				const signetd_zone *key = NULL;
				for (size_t p = 0; p < np && !key; p++)
					if (pub[p].key_tag == tags[k])
						key = &pub[p];
				if (!key)
					fail_msg("replica %d at t0+%llds signed with ZSK %u, not in the "
						 "published DNSKEY RRset", i, (long long)(t - t0),
						 tags[k]);
				check_at(key, zone, owner, sig, t);
				bool known = false;
				for (size_t q = 0; q < nseen; q++)
					known = known || seen[q] == tags[k];
				if (!known && nseen < 16)
					seen[nseen++] = tags[k];
			}
			if (i == 0) {
				memcpy(tags0, tags, res->n_rrsig * sizeof(tags[0]));
				ntags0 = res->n_rrsig;
			} else if (ntags0 != res->n_rrsig ||
				   memcmp(tags0, tags, ntags0 * sizeof(tags[0])) != 0) {
				fail_msg("at t0+%llds replica %d signs with other keys than replica 0",
					 (long long)(t - t0), i);
			}
			signet__v1__sign_response__free_unpacked(resp, NULL);
		}
		steps++;
		int64_t nx = t + 12 * HOUR;
		while (next < nt && times[next] <= t)
			next++;
		if (next < nt && times[next] < nx)
			nx = times[next];
		t = nx;
	}
	/* the first ZSK and two successors signed in turn */
	if (nseen < 3)
		fail_msg("%zu signing keys in %u steps: no rollover happened", nseen, steps);
	set_clock_all(0); /* the system clock again, for the tests after */
}

/* SignRRsets of one A RRset at x.ZONE on c: its status, the details in det. */
static grpc_status_code sign_detail(rpc_conn *c, const char *zone, char *det, size_t dlen)
{
	dns_name apex, own;
	char owner[DNS_NAME_STR_MAX + 8];
	snprintf(owner, sizeof(owner), "x.%s", zone);
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&own, owner), SIGNET_OK);
	Signet__V1__RRset rs = SIGNET__V1__RRSET__INIT;
	uint8_t a[4] = {192, 0, 2, 1};
	ProtobufCBinaryData rd = {4, a};
	rs.owner = wire(&own);
	rs.type = 1;
	rs.ttl = 300;
	rs.n_rdata = 1;
	rs.rdata = &rd;
	Signet__V1__RRset *rsp = &rs;
	Signet__V1__SignRequest sr = SIGNET__V1__SIGN_REQUEST__INIT;
	sr.zone = wire(&apex);
	sr.n_rrsets = 1;
	sr.rrsets = &rsp;
	return rpc_call_msg(c, "SignRRsets", &sr.base, det, dlen, NULL);
}

/* A backup damaged in the state while replica 2 is down: at its start the
 * restore is refused (audited), the zone is refused UNAVAILABLE naming the
 * failed restore, the failure is counted and not tried again while the
 * state stays as it is; once the backup is whole again, RestoreZskBackups
 * from the state restores the key and the zone signs there. */
static void test_damaged_backup(void **state)
{
	(void)state;
	signetd_stop_ok(&r[2]);
	signetd_zone zb;
	signetd_add_zone(&r[0], "bad.example.", 13, &zb);
	char hex[2 * DNS_NAME_MAX + 1], sql[2048];
	for (size_t i = 0; i < zb.apex.len; i++)
		snprintf(hex + 2 * i, 3, "%02x", zb.apex.wire[i]);
	snprintf(sql, sizeof(sql),
		 "CREATE TABLE kb_save AS SELECT * FROM key_backups WHERE zone = '\\x%s';"
		 " UPDATE key_backups SET text = set_byte(text, 200, get_byte(text, 200) # 1)"
		 " WHERE zone = '\\x%s';", hex, hex);
	assert_true(pg_cluster_sql(&S.pg, "signet", sql, NULL, 0));
	replica_respawn(&S, 2);
	char det[600] = "";
	grpc_status_code st = sign_detail(r[2].signer, "bad.example.", det, sizeof(det));
	if (st != GRPC_STATUS_UNAVAILABLE || !strstr(det, "its restore failed"))
		fail_msg("a damaged backup: %d %s", st, det);
	char audit[400];
	snprintf(audit, sizeof(audit), "%s/state/audit.log", r[2].dir);
	assert_true(signetd_log_has(audit, "\"client\":\"replica:r2\",\"action\":\"restore-zsk\","
					   "\"zone\":\"\",\"detail\":\"files=1 refused:"));
	uint32_t missing = 0;
	bool active = false, warned = false;
	zone_health(r[2].signer, "bad.example.", "r2", &missing, &active, &warned);
	assert_true(missing == 1 && active && warned);
	char buf[65536];
	const char *body = signetd_scrape(&r[2], buf, sizeof(buf));
	assert_true(signetd_metric(body, "signet_replica_zsk_restored_total{result=\"failed\"}") >=
		    1);
	/* refused calls ask for another round; the same backup is not tried
	 * again (one audit line) */
	for (int i = 0; i < 5; i++) {
		assert_int_equal(sign_detail(r[2].signer, "bad.example.", det, sizeof(det)),
				 GRPC_STATUS_UNAVAILABLE);
		signetd_sleep_ms(120);
	}
	sg_buf b = SG_BUF_INIT;
	assert_int_equal(sg_file_read(audit, 1 << 24, &b), SIGNET_OK);
	size_t tries = 0;
	for (const uint8_t *p = b.data; (p = memmem(p, b.len - (size_t)(p - b.data),
						   "files=1 refused:", 16)); p++)
		tries++;
	sg_buf_free(&b);
	assert_int_equal(tries, 1);
	assert_true(pg_cluster_sql(&S.pg, "signet",
				   "UPDATE key_backups k SET text = s.text FROM kb_save s"
				   " WHERE k.id = s.id; DROP TABLE kb_save;", NULL, 0));
	Signet__V1__RestoreZskBackupsRequest rq = SIGNET__V1__RESTORE_ZSK_BACKUPS_REQUEST__INIT;
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(r[2].admin, "RestoreZskBackups", &rq.base, det, sizeof(det),
				      &resp),
			 GRPC_STATUS_OK);
	Signet__V1__RestoreZskBackupsResponse *x =
		signet__v1__restore_zsk_backups_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(x);
	assert_int_equal(x->restored, 1);
	assert_int_equal(x->missing, 0);
	signet__v1__restore_zsk_backups_response__free_unpacked(x, NULL);
	sg_buf_free(&resp);
	Signet__V1__SignResponse *sr = signetd_sign_a(r[2].signer, "bad.example.", 7, 1, &st);
	assert_non_null(sr);
	assert_int_equal(sr->results[0]->status, SIGNET__V1__ITEM_STATUS__ITEM_SIGNED);
	signetd_check_rrsig(&zb, 7, sr->results[0]->rrsig[0].data, sr->results[0]->rrsig[0].len);
	signet__v1__sign_response__free_unpacked(sr, NULL);
}

/* Replica 1, which restored keys, served restores and signed, stops
 * cleanly (exit 0; under AddressSanitizer also no leak). */
static void test_replica_stops_clean(void **state)
{
	(void)state;
	signetd_stop_ok(&r[1]);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replicas_start),
		cmocka_unit_test(test_key_reaches_every_replica),
		cmocka_unit_test(test_lacking_replica_refuses),
		cmocka_unit_test(test_restore_rpc),
		cmocka_unit_test(test_rollover_across_replicas),
		cmocka_unit_test(test_damaged_backup),
		cmocka_unit_test(test_replica_stops_clean),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
