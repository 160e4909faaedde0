/* bench_replicas.c -- what PostgreSQL state costs a signetd, and what
 * more replicas give: SignRRsets calls (fresh owners, no cache hits) from
 * THREADS client threads for SECONDS each, of single RRsets against one
 * signetd on SQLite and one on PostgreSQL (TLS), and of batches of 100
 * RRsets against one, two and three replicas on PostgreSQL through a
 * client list. Prints RRSIGs/s and signetd CPU microseconds per RRSIG
 * (user + system of every signetd, from /proc) and the machine's load
 * average at the end of each row. Uses the test fixtures (a real SoftHSM2 token,
 * PostgreSQL started here, the software KSK), so it runs as a cmocka
 * program; not part of ctest.
 *
 * usage: bench_replicas [SECONDS [THREADS]]   (SIGNET_BUILD_DIR and
 * SIGNET_SOFTHSM_MODULE set as for the tests)
 */
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

#include "tests/lib/signetd_fixture.h"
#include "tests/lib/signetd_pg.h"

#define THREADS_MAX 32

static double seconds = 5;
static int threads = 8;
static signetd_env d;
static pg_cluster pg;

/* utime + stime of pid in microseconds. */
static double cpu_us(pid_t pid)
{
	char path[64], buf[1024];
	snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
	FILE *f = fopen(path, "r");
	assert_non_null(f);
	size_t n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	buf[n] = '\0';
	char *p = strrchr(buf, ')');
	assert_non_null(p);
	unsigned long ut = 0, st = 0;
	/* fields after the name: state ppid pgrp session tty tpgid flags minflt
	 * cminflt majflt cmajflt utime stime */
	assert_int_equal(
		sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st), 2);
	return (double)(ut + st) * 1e6 / (double)sysconf(_SC_CLK_TCK);
}

typedef struct worker {
	const char *target, *zone;
	unsigned base, batch;
	long until_ms;
	unsigned long calls, failed;
} worker;

static void *run(void *arg)
{
	worker *w = arg;
	char ca[300], cert[300], key[300];
	snprintf(ca, sizeof(ca), "%s/ca.pem", d.dir);
	snprintf(cert, sizeof(cert), "%s/ns1.pem", d.dir);
	snprintf(key, sizeof(key), "%s/ns1.key", d.dir);
	rpc_conn *c = NULL;
	if (rpc_open(w->target, ca, cert, key, &c) != SIGNET_OK)
		return NULL;
	while (signetd_now_ms() < w->until_ms) {
		grpc_status_code st;
		Signet__V1__SignResponse *r = signetd_sign_a(
			c, w->zone, w->base + (unsigned)w->calls * w->batch, w->batch, &st);
		if (r)
			signet__v1__sign_response__free_unpacked(r, NULL);
		else
			w->failed++;
		w->calls++;
	}
	rpc_close(c);
	return NULL;
}

/* The 1-minute load average, as /proc/loadavg says. */
static double load1(void)
{
	double l = -1;
	FILE *f = fopen("/proc/loadavg", "r");
	if (f) {
		if (fscanf(f, "%lf", &l) != 1)
			l = -1;
		fclose(f);
	}
	return l;
}

static void measure(const char *what, const char *target, const char *zone, const pid_t *pids,
		    size_t npids, unsigned batch)
{
	static unsigned base = 1000000;
	worker w[THREADS_MAX];
	pthread_t t[THREADS_MAX];
	double cpu0 = 0, cpu1 = 0;
	for (size_t i = 0; i < npids; i++)
		cpu0 += cpu_us(pids[i]);
	long t0 = signetd_now_ms();
	for (int i = 0; i < threads; i++) {
		w[i] = (worker){target, zone, base, batch, t0 + (long)(seconds * 1000), 0, 0};
		base += 10000000;
		assert_int_equal(pthread_create(&t[i], NULL, run, &w[i]), 0);
	}
	unsigned long calls = 0, failed = 0;
	for (int i = 0; i < threads; i++) {
		pthread_join(t[i], NULL);
		calls += w[i].calls;
		failed += w[i].failed;
	}
	double el = (double)(signetd_now_ms() - t0) / 1000.0;
	for (size_t i = 0; i < npids; i++)
		cpu1 += cpu_us(pids[i]);
	double sigs = (double)(calls - failed) * batch;
	printf("| %s | %u | %.0f | %.1f | %lu | %.1f |\n", what, batch, sigs / el,
	       sigs > 0 ? (cpu1 - cpu0) / sigs : 0, failed, load1());
	fflush(stdout);
}

/* Another signetd on d's token and PKI with the config lines extra, its
 * state-dir under d->dir; its pid and port. */
static pid_t spawn(const char *name, const char *extra, int *port)
{
	char dir[300], conf[400], log[400];
	snprintf(dir, sizeof(dir), "%s/%s", d.dir, name);
	signetd_sh(
		"mkdir -m 700 '%s' && mkdir -m 700 '%s/state' && chown -R nobody: '%s' &&"
		" chmod o+x '%s'",
		dir, dir, dir, dir);
	signetd_env e = d;
	snprintf(e.dir, sizeof(e.dir), "%s", d.dir);
	signetd_opts o = {.extra = extra};
	*port = signetd_free_port();
	snprintf(conf, sizeof(conf), "%s/signetd.conf", dir);
	snprintf(log, sizeof(log), "%s/signetd.log", dir);
	signetd_write_config(&e, conf, *port, 0, &o);
	/* its own state-dir: the audit log is per replica */
	signetd_sh("sed -i 's|^state-dir = .*|state-dir = \"%s/state\";|' '%s'", dir, conf);
	pid_t pid = signetd_spawn(conf, log);
	assert_true(signetd_wait_port(*port, pid, 60000, NULL));
	long until = signetd_now_ms() + 60000;
	while (!signetd_log_has(log, "running as")) {
		assert_true(signetd_now_ms() < until);
		signetd_sleep_ms(20);
	}
	return pid;
}

static void bench(void **state)
{
	(void)state;
	printf("%d client threads, %.0f s per row, SignRRsets of RRsets per call, P-256 ZSK "
	       "in SoftHSM2; load: 1-minute average at the row's end\n\n"
	       "| state | RRsets per call | RRSIGs/s | signetd CPU µs per RRSIG | failed calls |"
	       " load |\n| --- | --- | --- | --- | --- | --- |\n",
	       threads, seconds);
	signetd_zone z;
	signetd_add_zone(&d, "sqlite.example.", 13, &z);
	measure("SQLite, one signetd", d.target, "sqlite.example.", &d.pid, 1, 1);
	signetd_stop_ok(&d);

	char conninfo[300], extra[600];
	snprintf(conninfo, sizeof(conninfo), "%s/bench.conninfo", pg.dir);
	pg_cluster_conninfo(&pg, "signet", conninfo, NULL);
	snprintf(extra, sizeof(extra),
		 "state = { backend = \"postgresql\"; conninfo-file ="
		 " \"%s\"; };\n",
		 conninfo);
	int p1 = 0, p2 = 0, p3 = 0;
	pid_t a = spawn("pg1", extra, &p1);
	rpc_close(d.admin);
	snprintf(d.target, sizeof(d.target), "127.0.0.1:%d", p1);
	d.port = p1;
	d.admin = signetd_connect(&d, "admin");
	signetd_add_zone(&d, "pg.example.", 13, &z);
	measure("PostgreSQL, one signetd", d.target, "pg.example.", &a, 1, 1);
	measure("PostgreSQL, one replica", d.target, "pg.example.", &a, 1, 100);
	pid_t b = spawn("pg2", extra, &p2);
	char list[128];
	snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d", p1, p2);
	pid_t all[3] = {a, b, 0};
	measure("PostgreSQL, two replicas, client list", list, "pg.example.", all, 2, 1);
	measure("PostgreSQL, two replicas, client list", list, "pg.example.", all, 2, 100);
	all[2] = spawn("pg3", extra, &p3);
	snprintf(list, sizeof(list), "127.0.0.1:%d,127.0.0.1:%d,127.0.0.1:%d", p1, p2, p3);
	measure("PostgreSQL, three replicas, client list", list, "pg.example.", all, 3, 100);
	for (int i = 0; i < 3; i++) {
		kill(all[i], SIGTERM);
		waitpid(all[i], NULL, 0);
	}
}

static int setup(void **state)
{
	(void)state;
	if (pg_cluster_start(&pg) != 0 ||
	    !pg_cluster_sql(&pg, "postgres", "CREATE DATABASE signet;", NULL, 0))
		return -1;
	return signetd_start(&d, NULL);
}

static int teardown(void **state)
{
	(void)state;
	signetd_teardown(&d);
	pg_cluster_destroy(&pg);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc > 1)
		seconds = strtod(argv[1], NULL);
	if (argc > 2)
		threads = atoi(argv[2]);
	if (seconds <= 0 || threads < 1 || threads > THREADS_MAX) {
		fprintf(stderr, "usage: bench_replicas [SECONDS [THREADS (1..%d)]]\n", THREADS_MAX);
		return 2;
	}
	const struct CMUnitTest tests[] = {cmocka_unit_test(bench)};
	return cmocka_run_group_tests(tests, setup, teardown);
}
