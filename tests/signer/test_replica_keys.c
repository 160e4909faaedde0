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
#include <unistd.h>

#include <cmocka.h>
#include <openssl/rand.h>

#include "tests/lib/signetd_fixture.h"
#include "tests/lib/signetd_pg.h"

#define NREP 4 /* r[0] is the fixture's daemon; r[3]'s token has no domain */

static pg_cluster pg;
static signetd_env r[NREP];
static softhsm_fixture tok[NREP]; /* r[1..]'s tokens as fixture shapes (label) */
static char extra[NREP][700];
static signetd_opts opts[NREP];

/* A token of the fixture's module labelled label: its serial. */
static void new_token(softhsm_fixture *f, const char *label, char serial[17])
{
	assert_int_equal(hsm_token_initialize(f->ctx, label, f->so_pin, f->user_pin), SIGNET_OK);
	hsm_token_desc *d = NULL;
	size_t n = 0;
	serial[0] = '\0';
	assert_int_equal(hsm_list_tokens(f->ctx, &d, &n), SIGNET_OK);
	for (size_t i = 0; i < n; i++)
		if (strcmp(d[i].label, label) == 0)
			memcpy(serial, d[i].serial, 17);
	free(d);
	assert_true(serial[0] != '\0');
}

static void wait_running(signetd_env *e)
{
	if (!signetd_wait_port(e->port, e->pid, 60000, NULL)) {
		signetd_sh("cat '%s' >&2", e->log);
		fail_msg("replica on port %d did not start", e->port);
	}
	long until = signetd_now_ms() + 60000;
	while (!signetd_log_has(e->log, "running as")) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
}

/* Replica i on r[0]'s PKI and PIN, its own token, state-dir and ports. */
static void replica_start(int i)
{
	signetd_env *e = &r[i];
	*e = r[0];
	e->pid = 0;
	e->admin = e->signer = NULL;
	e->grpc_up = false;
	memset(&e->ksk, 0, sizeof(e->ksk));
	e->ksk = r[0].ksk;
	snprintf(e->dir, sizeof(e->dir), "/tmp/signet-rkeys%d-XXXXXX", i);
	assert_non_null(mkdtemp(e->dir));
	tok[i] = *r[0].f;
	snprintf(tok[i].label, sizeof(tok[i].label), "signet-rk%d", i);
	e->f = &tok[i];
	snprintf(e->conf, sizeof(e->conf), "%s/signetd.conf", e->dir);
	snprintf(e->log, sizeof(e->log), "%s/signetd.log", e->dir);
	signetd_sh("cd '%s' && cp '%s'/*.pem '%s'/*.key . && mkdir -m 700 state &&"
		   " chown nobody: state && chmod o+x .", e->dir, r[0].dir, r[0].dir);
	e->port = signetd_free_port();
	e->metrics_port = signetd_free_port();
	snprintf(e->target, sizeof(e->target), "127.0.0.1:%d", e->port);
	signetd_write_config(e, e->conf, e->port, e->metrics_port, &opts[i]);
	e->pid = signetd_spawn(e->conf, e->log);
	wait_running(e);
	e->admin = signetd_connect(e, "admin");
	e->signer = signetd_connect(e, "ns1");
	assert_non_null(e->admin);
	assert_non_null(e->signer);
}

static int group_setup(void **state)
{
	(void)state;
	if (pg_cluster_start(&pg) != 0)
		return -1;
	if (!pg_cluster_sql(&pg, "postgres", "CREATE DATABASE signet;", NULL, 0))
		return -1;
	char conninfo[300];
	snprintf(conninfo, sizeof(conninfo), "%s/signetd.conninfo", pg.dir);
	pg_cluster_conninfo(&pg, "signet", conninfo, NULL);
	for (int i = 0; i < NREP; i++) {
		snprintf(extra[i], sizeof(extra[i]),
			 "state = { backend = \"postgresql\"; conninfo-file = \"%s\"; cache-ms = 100;"
			 " lock-timeout-ms = 20000; };\nreplica-name = \"r%d\";\n", conninfo, i);
		opts[i].extra = extra[i];
	}
	if (signetd_start(&r[0], &opts[0]) != 0)
		return -1;
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	for (int i = 1; i < NREP; i++) {
		if (r[i].pid > 0) {
			kill(r[i].pid, SIGKILL);
			waitpid(r[i].pid, NULL, 0);
		}
		rpc_close(r[i].admin);
		rpc_close(r[i].signer);
		if (r[i].dir[0] && !getenv("SIGNET_TEST_KEEP"))
			signetd_sh("rm -rf '%s'", r[i].dir);
	}
	grpc_init();
	signetd_teardown(&r[0]);
	grpc_shutdown_blocking();
	pg_cluster_destroy(&pg);
	return 0;
}

/* The backup domain in r[0]'s token and two new ones; a fourth token
 * without it; r[0] restarted to see its domain; replicas 1..3 started. */
static void test_replicas_start(void **state)
{
	(void)state;
	softhsm_fixture *f = r[0].f;
	sg_secret *key = NULL;
	assert_int_equal(sg_secret_new(HSM_DOMAIN_KEY_LEN, &key), SIGNET_OK);
	assert_int_equal(RAND_priv_bytes(key->data, HSM_DOMAIN_KEY_LEN), 1);
	key->len = HSM_DOMAIN_KEY_LEN;
	char serial[NREP][17];
	memcpy(serial[0], f->serial, 17);
	for (int i = 1; i < NREP; i++) {
		char label[33];
		snprintf(label, sizeof(label), "signet-rk%d", i);
		new_token(f, label, serial[i]);
	}
	for (int i = 0; i < NREP - 1; i++)
		assert_int_equal(hsm_domain_install(f->ctx, serial[i], f->so_pin, key), SIGNET_OK);
	sg_secret_free(key);
	signetd_sh("chown -R nobody: '%s'", f->tokendir);
	signetd_stop_ok(&r[0]);
	r[0].pid = signetd_spawn(r[0].conf, r[0].log);
	signetd_wait_restarted(&r[0]);
	for (int i = 1; i < NREP; i++)
		replica_start(i);
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_replicas_start),
		cmocka_unit_test(test_key_reaches_every_replica),
		cmocka_unit_test(test_lacking_replica_refuses),
		cmocka_unit_test(test_restore_rpc),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
