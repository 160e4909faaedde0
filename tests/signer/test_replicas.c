/* test_replicas.c -- two signetd replicas, each with its own SoftHSM2
 * token, sharing their state in one real PostgreSQL (TLS, verify-full)
 * started here: a zone added on one is seen by the other; the same change
 * made on both at once is made once; a replica killed with SIGKILL in the
 * middle of changes loses none it acknowledged; with the database down a
 * replica keeps signing with the keys it has, refuses changes with
 * UNAVAILABLE, says so in Health, and recovers when it is back. */
#include <pthread.h>
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

#include "client/client.h"
#include "tests/lib/signetd_fixture.h"
#include "tests/lib/signetd_pg.h"

static pg_cluster pg;
static signetd_env r1;            /* replica 1: the fixture's daemon and token */
static signetd_env r2;            /* replica 2: its own token, state-dir, port */
static softhsm_fixture tok2;      /* r2's token as a fixture shape (label, module) */
static char conninfo[300];
static char softhsm2[400];        /* SOFTHSM2_CONF=... for r2 */
static char extra[600];
static signetd_opts opts;
static signetd_env r3;            /* replica 3: replica 1's token (a shared HSM) */

static void r2_spawn(void)
{
	const char *env[] = {softhsm2, NULL};
	r2.pid = signetd_spawn_env(r2.conf, r2.log, env);
	if (!signetd_wait_port(r2.port, r2.pid, 60000, NULL)) {
		signetd_sh("cat '%s' >&2", r2.log);
		fail_msg("replica 2 did not start");
	}
	/* it answers once it dropped privileges and logs so */
	long until = signetd_now_ms() + 60000;
	while (!signetd_log_has(r2.log, "running as")) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
}

static void r3_start(void)
{
	r3 = r1;
	r3.pid = 0;
	r3.admin = r3.signer = NULL;
	snprintf(r3.dir, sizeof(r3.dir), "/tmp/signet-replica3-XXXXXX");
	assert_non_null(mkdtemp(r3.dir));
	snprintf(r3.conf, sizeof(r3.conf), "%s/signetd.conf", r3.dir);
	snprintf(r3.log, sizeof(r3.log), "%s/signetd.log", r3.dir);
	signetd_sh("cd '%s' && cp '%s'/*.pem '%s'/*.key . && mkdir -m 700 state &&"
		   " chown nobody: state && chmod o+x .", r3.dir, r1.dir, r1.dir);
	r3.port = signetd_free_port();
	snprintf(r3.target, sizeof(r3.target), "127.0.0.1:%d", r3.port);
	signetd_write_config(&r3, r3.conf, r3.port, 0, &opts);
	/* Two processes logging in to one SoftHSM2 token at once is racy
	 * (docs/HSM.md): r1 is long up. */
	r3.pid = signetd_spawn(r3.conf, r3.log);
	assert_true(signetd_wait_port(r3.port, r3.pid, 60000, NULL));
	long until = signetd_now_ms() + 60000;
	while (!signetd_log_has(r3.log, "running as")) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
}

static int group_setup(void **state)
{
	(void)state;
	if (pg_cluster_start(&pg) != 0)
		return -1;
	if (!pg_cluster_sql(&pg, "postgres", "CREATE DATABASE signet;", NULL, 0))
		return -1;
	snprintf(conninfo, sizeof(conninfo), "%s/signetd.conninfo", pg.dir);
	pg_cluster_conninfo(&pg, "signet", conninfo, NULL);
	snprintf(extra, sizeof(extra),
		 "state = { backend = \"postgresql\"; conninfo-file = \"%s\"; cache-ms = 100;"
		 " lock-timeout-ms = 20000; };\n", conninfo);
	opts.extra = extra;
	if (signetd_start(&r1, &opts) != 0)
		return -1;
	/* Replica 2: the same PKI, a token of its own in a SoftHSM2
	 * configuration of its own, made by `signet hsm init` (PINs in files). */
	r2 = r1;
	r2.pid = 0;
	r2.admin = r2.signer = NULL;
	snprintf(r2.dir, sizeof(r2.dir), "/tmp/signet-replica2-XXXXXX");
	if (!mkdtemp(r2.dir))
		return -1;
	tok2 = *r1.f;
	snprintf(tok2.label, sizeof(tok2.label), "signet-replica2");
	snprintf(tok2.dir, sizeof(tok2.dir), "%s/hsm", r2.dir);
	r2.f = &tok2;
	snprintf(r2.conf, sizeof(r2.conf), "%s/signetd.conf", r2.dir);
	snprintf(r2.log, sizeof(r2.log), "%s/signetd.log", r2.dir);
	snprintf(r2.pin_path, sizeof(r2.pin_path), "%s/pin", r2.dir);
	snprintf(softhsm2, sizeof(softhsm2), "SOFTHSM2_CONF=%s/softhsm2.conf", tok2.dir);
	static char cmd[16384];
	snprintf(cmd, sizeof(cmd),
		 "set -e; cd '%s'; cp '%s'/*.pem '%s'/*.key .; mkdir -m 700 state hsm hsm/tokens;"
		 " printf 'directories.tokendir = %s/tokens\\nobjectstore.backend = file\\n"
		 "log.level = ERROR\\n' > hsm/softhsm2.conf;"
		 " umask 077; od -An -N16 -tx1 /dev/urandom | tr -d ' \\n' > so-pin;"
		 " od -An -N16 -tx1 /dev/urandom | tr -d ' \\n' > pin;"
		 " %s '%s/client/signet' hsm init --module '%s' --token signet-replica2"
		 " --so-pin file:so-pin --pin file:pin >/dev/null;"
		 " chown -R nobody: state hsm; chmod o+x .",
		 r2.dir, r1.dir, r1.dir, tok2.dir, softhsm2, getenv("SIGNET_BUILD_DIR"),
		 r1.f->module);
	if (system(cmd) != 0)
		return -1;
	r2.port = signetd_free_port();
	snprintf(r2.target, sizeof(r2.target), "127.0.0.1:%d", r2.port);
	signetd_write_config(&r2, r2.conf, r2.port, 0, &opts);
	r2_spawn();
	r2.admin = signetd_connect(&r2, "admin");
	r2.signer = signetd_connect(&r2, "ns1");
	/* Replica 3 shares replica 1's token: the keys one makes the other
	 * has, as with a network HSM (docs/REPLICAS.md). */
	r3_start();
	r3.admin = signetd_connect(&r3, "admin");
	return r2.admin && r2.signer && r3.admin ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	if (r3.pid > 0) {
		kill(r3.pid, SIGKILL);
		waitpid(r3.pid, NULL, 0);
	}
	if (r2.pid > 0) {
		kill(r2.pid, SIGKILL);
		waitpid(r2.pid, NULL, 0);
	}
	rpc_close(r2.admin);
	rpc_close(r2.signer);
	rpc_close(r3.admin);
	if (r3.dir[0] && !getenv("SIGNET_TEST_KEEP"))
		signetd_sh("rm -rf '%s'", r3.dir);
	if (r2.dir[0] && !getenv("SIGNET_TEST_KEEP"))
		signetd_sh("rm -rf '%s'", r2.dir);
	/* The failover channel's round-robin subchannels to a killed replica
	 * may still be in reconnect backoff: grpc_shutdown would leave their
	 * clean-up to a thread the exit can outrun (LeakSanitizer). Hold a
	 * reference over the teardown and end with the blocking shutdown. */
	client_grpc_init();
	signetd_teardown(&r1);
	grpc_shutdown_blocking();
	pg_cluster_destroy(&pg);
	return 0;
}

static ProtobufCBinaryData wire(dns_name *n)
{
	ProtobufCBinaryData b = {n->len, n->wire};
	return b;
}

static grpc_status_code add_zone(rpc_conn *c, const char *zone, char *det, size_t dlen)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__AddZoneRequest az = SIGNET__V1__ADD_ZONE_REQUEST__INIT;
	Signet__V1__Policy pol = SIGNET__V1__POLICY__INIT;
	pol.algorithm = 13;
	az.zone = wire(&apex);
	az.policy = &pol;
	ProtobufCBinaryData kd = {r1.ksk.dnskey_len, r1.ksk.dnskey};
	az.n_ksk_dnskey = 1;
	az.ksk_dnskey = &kd;
	return rpc_call_msg(c, "AddZone", &az.base, det, dlen, NULL);
}

/* ListKeys of zone on c: the status, and the number of keys and of active
 * ZSKs. */
static grpc_status_code list_keys(rpc_conn *c, const char *zone, size_t *n, size_t *active)
{
	dns_name apex;
	assert_int_equal(dns_name_from_str(&apex, zone), SIGNET_OK);
	Signet__V1__ListKeysRequest lk = SIGNET__V1__LIST_KEYS_REQUEST__INIT;
	lk.zone = wire(&apex);
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	grpc_status_code st = rpc_call_msg(c, "ListKeys", &lk.base, det, sizeof(det), &resp);
	*n = *active = 0;
	if (st == GRPC_STATUS_OK) {
		Signet__V1__ListKeysResponse *r =
			signet__v1__list_keys_response__unpack(NULL, resp.len, resp.data);
		assert_non_null(r);
		*n = r->n_keys;
		for (size_t i = 0; i < r->n_keys; i++)
			if (r->keys[i]->state == SIGNET__V1__KEY_STATE__KEY_ACTIVE)
				(*active)++;
		signet__v1__list_keys_response__free_unpacked(r, NULL);
	}
	sg_buf_free(&resp);
	return st;
}

static void test_zone_seen_by_other(void **state)
{
	(void)state;
	signetd_zone z;
	signetd_add_zone(&r1, "one.example.", 13, &z);
	/* replica 2 sees the zone, its KSK and the active ZSK */
	size_t n = 0, active = 0;
	long until = signetd_now_ms() + 20000;
	while (list_keys(r2.admin, "one.example.", &n, &active) != GRPC_STATUS_OK ||
	       active != 1) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
	assert_int_equal(n, 2);
	char det[256];
	assert_int_equal(add_zone(r2.admin, "one.example.", det, sizeof(det)),
			 GRPC_STATUS_ALREADY_EXISTS);
	/* and replica 1 signs with the key in its token */
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(r1.signer, "one.example.", 1, 3, &st);
	assert_int_equal(st, GRPC_STATUS_OK);
	for (unsigned i = 0; i < 3; i++)
		signetd_check_rrsig(&z, 1 + i, r->results[i]->rrsig[0].data,
				    r->results[i]->rrsig[0].len);
	signet__v1__sign_response__free_unpacked(r, NULL);
}

typedef struct racer {
	rpc_conn *c;
	const char *zone;
	pthread_barrier_t *go;
	grpc_status_code st;
	char det[256];
} racer;

static void *race(void *arg)
{
	racer *r = arg;
	pthread_barrier_wait(r->go);
	r->st = add_zone(r->c, r->zone, r->det, sizeof(r->det));
	return NULL;
}

/* AddZone of the same zone on both replicas at the same moment: made
 * once, the other told ALREADY_EXISTS. */
static void test_same_change_on_both(void **state)
{
	(void)state;
	const char *zones[] = {"race1.example.", "race2.example.", "race3.example."};
	for (size_t i = 0; i < 3; i++) {
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, 2);
		racer a = {r1.admin, zones[i], &go, GRPC_STATUS_UNKNOWN, ""};
		racer b = {r2.admin, zones[i], &go, GRPC_STATUS_UNKNOWN, ""};
		pthread_t ta, tb;
		assert_int_equal(pthread_create(&ta, NULL, race, &a), 0);
		assert_int_equal(pthread_create(&tb, NULL, race, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&go);
		bool one = (a.st == GRPC_STATUS_OK && b.st == GRPC_STATUS_ALREADY_EXISTS) ||
			   (b.st == GRPC_STATUS_OK && a.st == GRPC_STATUS_ALREADY_EXISTS);
		if (!one)
			fail_msg("%s: replica 1 %d (%s), replica 2 %d (%s)", zones[i], a.st, a.det,
				 b.st, b.det);
	}
}

typedef struct exporter {
	rpc_conn *c;
	pthread_barrier_t *go;
	grpc_status_code st;
	uint64_t serial;
	sg_buf request;
	char det[256];
} exporter;

static void *export_ksr(void *arg)
{
	exporter *e = arg;
	dns_name apex;
	dns_name_from_str(&apex, "one.example.");
	Signet__V1__ExportKeySigningRequestRequest er =
		SIGNET__V1__EXPORT_KEY_SIGNING_REQUEST_REQUEST__INIT;
	er.zone = wire(&apex);
	er.days = 14;
	sg_buf resp = SG_BUF_INIT;
	pthread_barrier_wait(e->go);
	e->st = rpc_call_msg(e->c, "ExportKeySigningRequest", &er.base, e->det, sizeof(e->det),
			     &resp);
	if (e->st == GRPC_STATUS_OK) {
		Signet__V1__ExportKeySigningRequestResponse *x =
			signet__v1__export_key_signing_request_response__unpack(NULL, resp.len,
										 resp.data);
		if (x) {
			e->serial = x->serial;
			sg_buf_append(&e->request, x->request.data, x->request.len);
			signet__v1__export_key_signing_request_response__free_unpacked(x, NULL);
		}
	}
	sg_buf_free(&resp);
	return NULL;
}

/* Replicas 1 and 3 (one token: exporting needs the ZSKs) export a request
 * for one zone at once: one administrative change at a time, so both are
 * made, one after the other (serials n and n+1), and the bundle of the last
 * one imports on either replica. */
static void test_exports_one_at_a_time(void **state)
{
	(void)state;
	for (int round = 0; round < 3; round++) {
		pthread_barrier_t go;
		pthread_barrier_init(&go, NULL, 2);
		exporter a = {r1.admin, &go, GRPC_STATUS_UNKNOWN, 0, SG_BUF_INIT, ""};
		exporter b = {r3.admin, &go, GRPC_STATUS_UNKNOWN, 0, SG_BUF_INIT, ""};
		pthread_t ta, tb;
		assert_int_equal(pthread_create(&ta, NULL, export_ksr, &a), 0);
		assert_int_equal(pthread_create(&tb, NULL, export_ksr, &b), 0);
		pthread_join(ta, NULL);
		pthread_join(tb, NULL);
		pthread_barrier_destroy(&go);
		if (a.st != GRPC_STATUS_OK || b.st != GRPC_STATUS_OK)
			fail_msg("round %d: replica 1 %d (%s), replica 2 %d (%s)", round, a.st, a.det,
				 b.st, b.det);
		assert_true(a.serial != b.serial && (a.serial == b.serial + 1 ||
						     b.serial == a.serial + 1));
		exporter *last = a.serial > b.serial ? &a : &b;
		sg_buf bundle = SG_BUF_INIT;
		test_ksk_make_bundle(&r1.ksk, last->request.data, last->request.len, &bundle);
		dns_name apex;
		assert_int_equal(dns_name_from_str(&apex, "one.example."), SIGNET_OK);
		Signet__V1__ImportKeyBundleRequest ib = SIGNET__V1__IMPORT_KEY_BUNDLE_REQUEST__INIT;
		ib.zone = wire(&apex);
		ib.bundle.data = bundle.data;
		ib.bundle.len = bundle.len;
		char det[256];
		grpc_status_code st = rpc_call_msg(round % 2 ? r1.admin : r3.admin,
						   "ImportKeyBundle", &ib.base, det, sizeof(det),
						   NULL);
		if (st != GRPC_STATUS_OK)
			fail_msg("round %d: import of serial %llu: %d %s", round,
				 (unsigned long long)last->serial, st, det);
		sg_buf_free(&bundle);
		sg_buf_free(&a.request);
		sg_buf_free(&b.request);
	}
}

typedef struct adder {
	int acked;               /* zones acknowledged so far (atomic) */
	bool stop;               /* (atomic) */
} adder;

static void *add_many(void *arg)
{
	adder *a = arg;
	char det[256];
	for (int i = 0; i < 500 && !__atomic_load_n(&a->stop, __ATOMIC_SEQ_CST); i++) {
		char zone[64];
		snprintf(zone, sizeof(zone), "k%03d.example.", i);
		if (add_zone(r2.admin, zone, det, sizeof(det)) != GRPC_STATUS_OK)
			break;
		__atomic_store_n(&a->acked, i + 1, __ATOMIC_SEQ_CST);
	}
	return NULL;
}

/* Replica 2 killed with SIGKILL while it adds zones: every zone it
 * acknowledged is in the shared state, and it starts again on it. */
static void test_kill9_loses_nothing_acknowledged(void **state)
{
	(void)state;
	adder a = {0, false};
	pthread_t t;
	assert_int_equal(pthread_create(&t, NULL, add_many, &a), 0);
	long until = signetd_now_ms() + 60000;
	while (__atomic_load_n(&a.acked, __ATOMIC_SEQ_CST) < 5) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(5);
	}
	kill(r2.pid, SIGKILL);
	waitpid(r2.pid, NULL, 0);
	r2.pid = 0;
	__atomic_store_n(&a.stop, true, __ATOMIC_SEQ_CST);
	pthread_join(t, NULL);
	int acked = __atomic_load_n(&a.acked, __ATOMIC_SEQ_CST);
	assert_true(acked >= 5);
	for (int i = 0; i < acked; i++) {
		char zone[64];
		snprintf(zone, sizeof(zone), "k%03d.example.", i);
		size_t n = 0, active = 0;
		long end = signetd_now_ms() + 20000;
		while (list_keys(r1.admin, zone, &n, &active) != GRPC_STATUS_OK || n != 1) {
			assert_true(signetd_now_ms() < end);
			signetd_sleep_ms(20);
		}
	}
	fprintf(stderr, "replica 2 acknowledged %d zones before SIGKILL; all are there\n", acked);
	/* it starts again on the same state */
	rpc_close(r2.admin);
	rpc_close(r2.signer);
	r2_spawn();
	r2.admin = signetd_connect(&r2, "admin");
	r2.signer = signetd_connect(&r2, "ns1");
	assert_non_null(r2.admin);
	size_t n = 0, active = 0;
	long end = signetd_now_ms() + 20000;
	while (list_keys(r2.admin, "k000.example.", &n, &active) != GRPC_STATUS_OK || n != 1) {
		assert_true(signetd_now_ms() < end);
		signetd_sleep_ms(20);
	}
}

/* Health of replica 1 names its state backend and whether it answers;
 * `signet health` says so and exits non-zero when it does not. */
static bool health_says(bool unavailable)
{
	Signet__V1__HealthRequest hr = SIGNET__V1__HEALTH_REQUEST__INIT;
	char det[256];
	sg_buf resp = SG_BUF_INIT;
	assert_int_equal(rpc_call_msg(r1.signer, "Health", &hr.base, det, sizeof(det), &resp),
			 GRPC_STATUS_OK);
	Signet__V1__HealthResponse *h =
		signet__v1__health_response__unpack(NULL, resp.len, resp.data);
	assert_non_null(h);
	bool ok = h->state_unavailable == unavailable &&
		  strcmp(h->state_backend, "postgresql") == 0;
	signet__v1__health_response__free_unpacked(h, NULL);
	sg_buf_free(&resp);
	char cmd[2048];
	snprintf(cmd, sizeof(cmd), "'%s/client/signet' health --server '%s' --server-name localhost"
		 " --ca '%s/ca.pem' --cert '%s/ns1.pem' --key '%s/ns1.key' | grep -q"
		 " '^state: postgresql, %s'", getenv("SIGNET_BUILD_DIR"), r1.target, r1.dir,
		 r1.dir, r1.dir, unavailable ? "UNAVAILABLE" : "available");
	return ok && system(cmd) == 0;
}

/* PostgreSQL down: signing goes on with the keys replica 1 has, changes are
 * refused with UNAVAILABLE and a clear reason, Health says the state is
 * unavailable; once it is back, changes work again. */
static void test_database_down(void **state)
{
	(void)state;
	signetd_zone z;
	signetd_add_zone(&r1, "down.example.", 13, &z);
	pg_cluster_stop(&pg);
	grpc_status_code st;
	Signet__V1__SignResponse *r = signetd_sign_a(r1.signer, "down.example.", 10, 2, &st);
	assert_int_equal(st, GRPC_STATUS_OK);
	signetd_check_rrsig(&z, 10, r->results[0]->rrsig[0].data, r->results[0]->rrsig[0].len);
	signet__v1__sign_response__free_unpacked(r, NULL);
	char det[256] = "";
	st = add_zone(r1.admin, "during.example.", det, sizeof(det));
	assert_int_equal(st, GRPC_STATUS_UNAVAILABLE);
	assert_non_null(strstr(det, "state"));
	assert_true(health_says(true));
	pg_cluster_restart(&pg);
	long until = signetd_now_ms() + 30000;
	while ((st = add_zone(r1.admin, "during.example.", det, sizeof(det))) != GRPC_STATUS_OK) {
		assert_int_equal(st, GRPC_STATUS_UNAVAILABLE);
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(50);
	}
	r = signetd_sign_a(r1.signer, "down.example.", 20, 1, &st);
	assert_int_equal(st, GRPC_STATUS_OK);
	signet__v1__sign_response__free_unpacked(r, NULL);
	assert_true(health_says(false));
}

/* A client given replicas 1 and 3 (one token: both hold the zone's ZSK)
 * keeps signing while replica 3 is killed with SIGKILL: every batch is
 * answered, every RRSIG verifies. Then the CLI with a list does too. */
static void test_client_fails_over(void **state)
{
	(void)state;
	signetd_zone z;
	signetd_add_zone(&r1, "fo.example.", 13, &z);
	char list[128], ca[300], cert[300], key[300];
	/* replica 3 first: a client that only took the first address (gRPC's
	 * pick_first, no retries) loses batches when it dies */
	snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", r3.port, r1.port);
	snprintf(ca, sizeof(ca), "%s/ca.pem", r1.dir);
	snprintf(cert, sizeof(cert), "%s/ns1.pem", r1.dir);
	snprintf(key, sizeof(key), "%s/ns1.key", r1.dir);
	rpc_conn *c = NULL;
	assert_int_equal(rpc_open(list, ca, cert, key, &c), SIGNET_OK);
	/* replica 3 sees the zone before the run starts */
	rpc_conn *c3 = signetd_connect(&r3, "ns1");
	assert_non_null(c3);
	long until = signetd_now_ms() + 20000;
	for (;;) {
		grpc_status_code st;
		Signet__V1__SignResponse *r = signetd_sign_a(c3, "fo.example.", 0, 1, &st);
		if (r) {
			signet__v1__sign_response__free_unpacked(r, NULL);
			break;
		}
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
	rpc_close(c3);
	unsigned batches = 60, per = 20;
	for (unsigned b = 0; b < batches; b++) {
		if (b == batches / 3) {
			kill(r3.pid, SIGKILL);
			waitpid(r3.pid, NULL, 0);
			r3.pid = 0;
		}
		grpc_status_code st;
		Signet__V1__SignResponse *r = signetd_sign_a(c, "fo.example.", b * per, per, &st);
		if (!r)
			fail_msg("batch %u: status %d", b, st);
		for (unsigned i = 0; i < per; i++)
			signetd_check_rrsig(&z, b * per + i, r->results[i]->rrsig[0].data,
					    r->results[i]->rrsig[0].len);
		signet__v1__sign_response__free_unpacked(r, NULL);
	}
	rpc_close(c);
	/* the CLI: replica 3 is dead, the list still answers */
	signetd_sh("'%s/client/signet' keys fo.example. --server '%s' --server-name localhost"
		   " --ca '%s' --cert '%s/admin.pem' --key '%s/admin.key' >/dev/null",
		   getenv("SIGNET_BUILD_DIR"), list, ca, r1.dir, r1.dir);
	/* a list that is not numeric addresses of one family is refused */
	char bad[2048];
	snprintf(bad, sizeof(bad), "'%s/client/signet' keys fo.example. --server"
		 " '127.0.0.1:%d,localhost:%d' --ca '%s' --cert '%s/admin.pem' --key"
		 " '%s/admin.key' 2>/dev/null", getenv("SIGNET_BUILD_DIR"), r1.port, r3.port,
		 ca, r1.dir, r1.dir);
	assert_int_not_equal(system(bad), 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zone_seen_by_other),
		cmocka_unit_test(test_same_change_on_both),
		cmocka_unit_test(test_exports_one_at_a_time),
		cmocka_unit_test(test_kill9_loses_nothing_acknowledged),
		cmocka_unit_test(test_database_down),
		cmocka_unit_test(test_client_fails_over),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
