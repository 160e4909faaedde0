/* test_state_pg.c -- the PostgreSQL state as replicas use it, on a real
 * cluster started here: two handles (two replicas) see each other's
 * changes; racing changes of one zone, exactly one wins; the zone change
 * lock is exclusive and bounded; a database that goes away leaves reads
 * (signing) working from the last snapshot and refuses changes, and both
 * recover when it is back; a schema newer than the build is refused; the
 * connection only with TLS that verifies, a password from an owner-only
 * file, and never in a log. */
#include <fcntl.h>
#include <signal.h>
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "signer/signer.h"
#include "tests/lib/signetd_fixture.h"
#include "tests/lib/signetd_pg.h"

static pg_cluster pg;
static char dir[64];
static char db[32];
static signer_state_options opts;

static int group_setup(void **state)
{
	(void)state;
	snprintf(dir, sizeof(dir), "/tmp/signet-statepg-XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	return pg_cluster_start(&pg);
}

static int group_teardown(void **state)
{
	(void)state;
	pg_cluster_destroy(&pg);
	char cmd[128];
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
	return system(cmd) == 0 ? 0 : -1;
}

/* Each case on a database of its own. */
static int setup(void **state)
{
	(void)state;
	static int n;
	snprintf(db, sizeof(db), "case%d", n++);
	pg_cluster_createdb(&pg, db);
	memset(&opts, 0, sizeof(opts));
	opts.backend = SIGNER_STATE_POSTGRESQL;
	opts.cache_ms = 50;
	/* waits for another's change are generous on a loaded machine; the
	 * cases about the bound set a short one */
	opts.lock_timeout_ms = 20000;
	snprintf(opts.conninfo_file, sizeof(opts.conninfo_file), "%s/%s.conninfo", dir, db);
	pg_cluster_conninfo(&pg, db, opts.conninfo_file, NULL);
	return 0;
}

static signer_state *open_pg(void)
{
	signer_state *st = NULL;
	assert_int_equal(signer_state_open_options(NULL, &opts, &st), SIGNET_OK);
	assert_string_equal(signer_state_backend_name(st), "postgresql");
	return st;
}

static signer_key zsk(const char *zone, uint8_t seed)
{
	signer_key k;
	memset(&k, 0, sizeof(k));
	assert_int_equal(dns_name_from_str(&k.zone, zone), SIGNET_OK);
	memcpy(k.role, "zsk", 4);
	memset(k.id, seed, 16);
	k.id_len = 16;
	k.alg = 13;
	k.key_tag = (uint16_t)(2000 + seed);
	k.state = SIGNER_KEY_GENERATED;
	k.dnskey[0] = 1;
	k.dnskey[2] = 3;
	k.dnskey[3] = 13;
	memset(k.dnskey + 4, seed, 64);
	k.dnskey_len = 68;
	k.created = 1000 + seed;
	return k;
}

static void add_zone(signer_state *st, const char *zone)
{
	dns_name z;
	signer_policy p;
	assert_int_equal(dns_name_from_str(&z, zone), SIGNET_OK);
	signer_policy_defaults(&p);
	assert_int_equal(signer_state_add_zone(st, &z, &p, NULL, 0), SIGNET_OK);
}

static size_t nkeys(signer_state *st, const char *zone)
{
	dns_name z;
	assert_int_equal(dns_name_from_str(&z, zone), SIGNET_OK);
	signer_key *k = NULL;
	size_t n = 0;
	assert_int_equal(signer_state_list_keys(st, &z, 0, &k, &n), SIGNET_OK);
	free(k);
	return n;
}

/* A change on one replica: the writer reads it back at once, the other
 * within its cache bound. */
static void test_replicas_see_changes(void **state)
{
	(void)state;
	signer_state *a = open_pg(), *b = open_pg();
	dns_name z;
	signer_policy p;
	assert_int_equal(dns_name_from_str(&z, "Shared.Example."), SIGNET_OK);
	assert_int_equal(signer_state_zone_policy(b, &z, &p), SIGNET_ENOTFOUND);
	add_zone(a, "shared.example.");
	assert_int_equal(signer_state_zone_policy(a, &z, &p), SIGNET_OK);
	signer_key k = zsk("shared.example.", 1);
	assert_int_equal(signer_state_add_key(a, &k), SIGNET_OK);
	assert_int_equal(nkeys(a, "shared.example."), 1);
	long until = signetd_now_ms() + 10000;
	while (signer_state_zone_policy(b, &z, &p) != SIGNET_OK || nkeys(b, "shared.example.") != 1) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(10);
	}
	/* and back: b's change reaches a */
	assert_int_equal(signer_state_set_zone_insecure(b, &z, true), SIGNET_OK);
	bool on = false;
	until = signetd_now_ms() + 10000;
	while (signer_state_zone_insecure(a, &z, &on) != SIGNET_OK || !on) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(10);
	}
	signer_state_close(a);
	signer_state_close(b);
}

/* ---- races --------------------------------------------------------------- */

#define RACERS 6

typedef struct racer {
	signer_state *st;
	pthread_barrier_t *go;
	int what;              /* 0 add zone, 1 save bundle serial 7, 2 save request */
	signet_err ret;
} racer;

static void *race(void *arg)
{
	racer *r = arg;
	dns_name z;
	dns_name_from_str(&z, "race.example.");
	signer_policy p;
	signer_policy_defaults(&p);
	dns_rrset pub;
	dns_rrset_init(&pub, &z, DNS_T_DNSKEY, DNS_CLASS_IN, 3600);
	pthread_barrier_wait(r->go);
	if (r->what == 0) {
		r->ret = signer_state_add_zone(r->st, &z, &p, NULL, 0);
	} else if (r->what == 1) {
		r->ret = signer_state_save_bundle(r->st, &z, 7, (const uint8_t *)"bundle", 6, &pub);
	} else {
		uint64_t serial = 0;
		r->ret = signer_state_next_serial(r->st, &z, &serial);
		if (r->ret == SIGNET_OK)
			r->ret = signer_state_save_request(r->st, &z, serial,
							   (const uint8_t *)"request", 7);
	}
	dns_rrset_clear(&pub);
	return NULL;
}

/* RACERS replicas (a handle each) make the same change at once. */
static void run_race(int what, size_t *ok, size_t *exist)
{
	pthread_barrier_t go;
	pthread_barrier_init(&go, NULL, RACERS);
	racer r[RACERS];
	pthread_t t[RACERS];
	signer_state *st[RACERS];
	for (int i = 0; i < RACERS; i++)
		st[i] = open_pg();
	for (int i = 0; i < RACERS; i++) {
		r[i] = (racer){st[i], &go, what, SIGNET_EIO};
		assert_int_equal(pthread_create(&t[i], NULL, race, &r[i]), 0);
	}
	*ok = *exist = 0;
	for (int i = 0; i < RACERS; i++) {
		pthread_join(t[i], NULL);
		if (r[i].ret == SIGNET_OK)
			(*ok)++;
		else if (r[i].ret == SIGNET_EEXIST)
			(*exist)++;
		else
			fail_msg("racer %d: %s", i, signet_strerror(r[i].ret));
		signer_state_close(st[i]);
	}
	pthread_barrier_destroy(&go);
}

static void test_races_one_wins(void **state)
{
	(void)state;
	size_t ok = 0, exist = 0;
	run_race(0, &ok, &exist);
	assert_int_equal(ok, 1);
	assert_int_equal(exist, RACERS - 1);
	run_race(1, &ok, &exist);
	assert_int_equal(ok, 1);
	assert_int_equal(exist, RACERS - 1);
	/* Requests: the racers that read the same last serial cannot all
	 * store it; whoever stores a serial stores it once. */
	run_race(2, &ok, &exist);
	assert_true(ok >= 1);
	assert_int_equal(ok + exist, RACERS);
	char out[64];
	assert_true(pg_cluster_sql(&pg, db, "SELECT count(*) FROM bundles", out, sizeof(out)));
	assert_string_equal(out, "1");
	assert_true(pg_cluster_sql(&pg, db, "SELECT count(*) = count(DISTINCT serial) FROM requests",
				   out, sizeof(out)));
	assert_string_equal(out, "t");
	snprintf(out, sizeof(out), "%zu", ok);
	char n[64];
	assert_true(pg_cluster_sql(&pg, db, "SELECT count(*) FROM requests", n, sizeof(n)));
	assert_string_equal(n, out);
}

/* The zone change lock: one holder among replicas, others wait (bounded),
 * another zone is not held up. */
static void test_zone_lock(void **state)
{
	(void)state;
	opts.lock_timeout_ms = 300;
	signer_state *a = open_pg(), *b = open_pg();
	dns_name z, y;
	assert_int_equal(dns_name_from_str(&z, "lock.example."), SIGNET_OK);
	assert_int_equal(dns_name_from_str(&y, "other.example."), SIGNET_OK);
	assert_int_equal(signer_state_zone_lock(a, &z), SIGNET_OK);
	long t0 = signetd_now_ms();
	assert_int_equal(signer_state_zone_lock(b, &z), SIGNET_ELIMIT);
	assert_true(signetd_now_ms() - t0 >= 250);
	assert_int_equal(signer_state_zone_lock(b, &y), SIGNET_OK);
	signer_state_zone_unlock(b, &y);
	/* a's reads and writes go on while it holds the lock */
	add_zone(a, "lock.example.");
	signer_state_zone_unlock(a, &z);
	assert_int_equal(signer_state_zone_lock(b, &z), SIGNET_OK);
	signer_state_zone_unlock(b, &z);
	/* a lock dies with its holder's connection */
	assert_int_equal(signer_state_zone_lock(a, &z), SIGNET_OK);
	signer_state_close(a);
	assert_int_equal(signer_state_zone_lock(b, &z), SIGNET_OK);
	signer_state_zone_unlock(b, &z);
	signer_state_close(b);
}

/* A row another session holds: the change waits lock-timeout, then says
 * so (SIGNET_ELIMIT), and changes nothing. */
static void test_row_lock_bounded(void **state)
{
	(void)state;
	opts.lock_timeout_ms = 300;
	signer_state *a = open_pg();
	add_zone(a, "row.example.");
	char cmd[1024];
	snprintf(cmd, sizeof(cmd),
		 "/usr/lib/postgresql/15/bin/psql -X -q -h '%s' -p %d -U signet -d %s -c"
		 " \"BEGIN; SELECT 1 FROM zones FOR UPDATE; SELECT pg_sleep(2); COMMIT;\""
		 " >/dev/null 2>&1 &", pg.sock, pg.port, db);
	assert_int_equal(system(cmd), 0);
	char out[64] = "";
	long until = signetd_now_ms() + 20000;
	while (strcmp(out, "1") != 0) {
		assert_true(signetd_now_ms() < until);
		assert_true(pg_cluster_sql(&pg, db, "SELECT count(*) FROM pg_stat_activity WHERE"
					   " query LIKE '%pg_sleep%' AND state = 'active' AND"
					   " pid <> pg_backend_pid()", out, sizeof(out)));
	}
	dns_name z;
	assert_int_equal(dns_name_from_str(&z, "row.example."), SIGNET_OK);
	assert_int_equal(signer_state_set_zone_insecure(a, &z, true), SIGNET_ELIMIT);
	/* once the other is done, the change goes through */
	until = signetd_now_ms() + 20000;
	signet_err ret;
	while ((ret = signer_state_set_zone_insecure(a, &z, true)) == SIGNET_ELIMIT)
		assert_true(signetd_now_ms() < until);
	assert_int_equal(ret, SIGNET_OK);
	signer_state_close(a);
}

/* The database goes away: the last snapshot answers reads (signing keeps
 * its keys), changes are refused with SIGNET_EIO, ping says so; all is
 * well again once it is back, and nothing acknowledged was lost. */
static void test_database_down(void **state)
{
	(void)state;
	signer_state *a = open_pg();
	add_zone(a, "down.example.");
	signer_key k1 = zsk("down.example.", 1), k2 = zsk("down.example.", 2);
	assert_int_equal(signer_state_add_key(a, &k1), SIGNET_OK);
	assert_int_equal(signer_state_ping(a), SIGNET_OK);
	pg_cluster_stop(&pg);
	assert_int_equal(signer_state_ping(a), SIGNET_EIO);
	dns_name z;
	signer_policy p;
	assert_int_equal(dns_name_from_str(&z, "down.example."), SIGNET_OK);
	signetd_sleep_ms(120); /* past cache-ms: the snapshot is old, the reads go on */
	assert_int_equal(signer_state_zone_policy(a, &z, &p), SIGNET_OK);
	assert_int_equal(nkeys(a, "down.example."), 1);
	assert_int_equal(signer_state_add_key(a, &k2), SIGNET_EIO);
	assert_int_equal(signer_state_set_zone_insecure(a, &z, true), SIGNET_EIO);
	/* a replica cannot start without its state */
	signer_state *b = NULL;
	assert_int_equal(signer_state_open_options(NULL, &opts, &b), SIGNET_EIO);
	pg_cluster_restart(&pg);
	assert_int_equal(signer_state_ping(a), SIGNET_OK);
	assert_int_equal(signer_state_add_key(a, &k2), SIGNET_OK);
	assert_int_equal(nkeys(a, "down.example."), 2);
	b = open_pg();
	assert_int_equal(nkeys(b, "down.example."), 2);
	signer_state_close(b);
	signer_state_close(a);
}

/* Every process of the cluster (the postmaster and its children) gets
 * sig: SIGSTOP makes a server that accepts and never answers. */
static void signal_cluster(int sig)
{
	char path[300], cmd[400];
	snprintf(path, sizeof(path), "%s/data/postmaster.pid", pg.dir);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	long pm = 0;
	assert_int_equal(fscanf(f, "%ld", &pm), 1);
	fclose(f);
	snprintf(cmd, sizeof(cmd), "ps -o pid= --ppid %ld", pm);
	FILE *ps = popen(cmd, "r");
	assert_non_null(ps);
	long child;
	while (fscanf(ps, "%ld", &child) == 1)
		kill((pid_t)child, sig);
	pclose(ps);
	kill((pid_t)pm, sig);
}

/* A database that stops answering without closing anything: reads (what
 * signing does) never wait for it; the snapshot is refreshed on a thread
 * of its own. */
static void test_stalled_database(void **state)
{
	(void)state;
	signer_state *a = open_pg();
	add_zone(a, "stall.example.");
	signer_key k = zsk("stall.example.", 3);
	assert_int_equal(signer_state_add_key(a, &k), SIGNET_OK);
	dns_name z;
	signer_policy p;
	assert_int_equal(dns_name_from_str(&z, "stall.example."), SIGNET_OK);
	signal_cluster(SIGSTOP);
	/* no assertion until the cluster runs again: a failed one would leave
	 * it stopped */
	long worst = 0, end = signetd_now_ms() + 600; /* 12 refresh intervals */
	bool all_ok = true;
	while (signetd_now_ms() < end) {
		long t0 = signetd_now_ms();
		signer_key *keys = NULL;
		size_t n = 0;
		all_ok = all_ok && signer_state_zone_policy(a, &z, &p) == SIGNET_OK &&
			 signer_state_list_keys(a, &z, 0, &keys, &n) == SIGNET_OK && n == 1;
		free(keys);
		long took = signetd_now_ms() - t0;
		worst = took > worst ? took : worst;
		signetd_sleep_ms(5);
	}
	signal_cluster(SIGCONT);
	assert_true(all_ok);
	/* generous for a loaded machine; a read that waited for the database
	 * would have waited the whole stall */
	assert_true(worst < 400);
	assert_int_equal(signer_state_ping(a), SIGNET_OK);
	signer_state_close(a);
}

/* A schema newer than this build is refused, not used. */
static void test_schema_newer(void **state)
{
	(void)state;
	signer_state *a = open_pg();
	signer_state_close(a);
	assert_true(pg_cluster_sql(&pg, db, "UPDATE meta SET value = 99 WHERE name ="
				   " 'schema_version'", NULL, 0));
	assert_int_equal(signer_state_open_options(NULL, &opts, &a), SIGNET_ESTATE);
	assert_true(pg_cluster_sql(&pg, db, "UPDATE meta SET value = 1 WHERE name ="
				   " 'schema_version'", NULL, 0));
	a = open_pg();
	signer_state_close(a);
}

/* Open with the conninfo written by pg_cluster_conninfo(extra); stderr
 * (the log) goes to log meanwhile. */
static signet_err open_with(const char *extra, const char *log)
{
	pg_cluster_conninfo(&pg, db, opts.conninfo_file, extra);
	fflush(stderr);
	int saved = dup(2);
	int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(saved >= 0 && fd >= 0);
	dup2(fd, 2);
	close(fd);
	signer_state *st = NULL;
	signet_err ret = signer_state_open_options(NULL, &opts, &st);
	fflush(stderr);
	dup2(saved, 2);
	close(saved);
	signer_state_close(st);
	return ret;
}

static void test_connection_checks(void **state)
{
	(void)state;
	char log[128], ca2[300], extra[400];
	snprintf(log, sizeof(log), "%s/open.log", dir);
	/* a server certificate from another CA: refused (verify-full) */
	snprintf(ca2, sizeof(ca2), "%s/ca2.pem", pg.pki);
	snprintf(extra, sizeof(extra), "sslrootcert=%s", ca2);
	assert_int_equal(open_with(extra, log), SIGNET_EIO);
	assert_true(signetd_log_has(log, "certificate verify failed"));
	/* the right CA but another name than the certificate's */
	assert_int_equal(open_with("host=127.0.0.2", log), SIGNET_EIO);
	/* without TLS: the server has no rule for it */
	assert_int_equal(open_with("sslmode=disable", log), SIGNET_EIO);
	/* a wrong password: refused, and no password in the log */
	assert_int_equal(open_with("password=wrong-secret-pw", log), SIGNET_EIO);
	assert_true(signetd_log_has(log, "password authentication failed"));
	assert_false(signetd_log_has(log, "wrong-secret-pw"));
	assert_false(signetd_log_has(log, pg.password));
	/* a conninfo file others may read is refused before it is used */
	assert_int_equal(open_with(NULL, log), SIGNET_OK);
	assert_false(signetd_log_has(log, pg.password));
	assert_int_equal(chmod(opts.conninfo_file, 0644), 0);
	signer_state *st = NULL;
	assert_int_equal(signer_state_open_options(NULL, &opts, &st), SIGNET_EPERM);
	unlink(opts.conninfo_file);
	assert_int_equal(signer_state_open_options(NULL, &opts, &st), SIGNET_ENOTFOUND);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup(test_replicas_see_changes, setup),
		cmocka_unit_test_setup(test_races_one_wins, setup),
		cmocka_unit_test_setup(test_zone_lock, setup),
		cmocka_unit_test_setup(test_row_lock_bounded, setup),
		cmocka_unit_test_setup(test_database_down, setup),
		cmocka_unit_test_setup(test_stalled_database, setup),
		cmocka_unit_test_setup(test_schema_newer, setup),
		cmocka_unit_test_setup(test_connection_checks, setup),
	};
	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
